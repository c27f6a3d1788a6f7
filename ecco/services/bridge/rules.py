"""The webhook bridge's rules, free of I/O: its settings, which events it forwards, to which hook path, and what it
does when a delivery fails (upstream-ecco §12.2, counterparts §1.5/§1.9). The body is in bridge_payload."""

from __future__ import annotations

import ipaddress
import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

from ecco.errors import InvalidArgument, Reason
from ecco.services.events import MESSAGE_TYPES, validate_types
from ecco.services.ports import Direction, EventRecord

CONSUMER = "webhook-bridge"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_HOOK_PATH = "/hooks/ecco"
DEFAULT_PROVIDER_HOOK_PATH = "/hooks/ecco-provider"
PROVIDER_TYPE = "agent-request"
# Protocol housekeeping between nodes, handled by the node itself: forwarded only when a filter names it.
PROTOCOL_TYPES: frozenset[str] = frozenset(
    {
        "version-handshake",
        "version-handshake-response",
        "version-incompatible-notice",
        "constitution-mismatch-notice",
        "ping",
        "pong",
        "capability-query",
        "capability-response",
        "gossip",
    }
)
# Without a filter the bridge forwards every inbound message an agent may act on.
DEFAULT_TYPES: frozenset[str] = MESSAGE_TYPES - PROTOCOL_TYPES
# The bridge's own failure notice is never forwarded: it would fail the same way, and loop.
OWN_EVENT = "bridge-delivery-failed"
# Bridge modes: `hook` POSTs every event to OpenClaw's hooks (fire and forget); `a2a` puts each inbound
# agent-request to OpenClaw's A2A channel and sends the agent's reply text back to the requester.
HOOK_MODE = "hook"
A2A_MODE = "a2a"
DEFAULT_A2A_PATH = "/a2a/v1"
# 408 and 429 say "not now", not "never": they are retried like 5xx.
RETRYABLE_4XX = frozenset({408, 429})


def _config_error(flag: str, problem: str) -> InvalidArgument:
    return InvalidArgument(f"{flag}: {problem}", Reason.BRIDGE_CONFIG_INVALID, field=flag)


def validate_hook_path(path: str, flag: str) -> str:
    """A hook path: absolute, no query (OpenClaw refuses `?token=` and we never need a query), no fragment."""
    path = path.strip()
    if not path.startswith("/") or path == "/":
        raise _config_error(flag, f"a hook path starts with '/' and names a hook, e.g. /hooks/ecco; got {path!r}")
    if any(c in path for c in "?# ") or any(ord(c) < 0x21 for c in path):
        raise _config_error(flag, f"a hook path has no query, fragment or spaces; got {path!r}")
    return path


def validate_host(host: str, flag: str = "--openclaw-host") -> str:
    host = host.strip()
    if not host or any(c in host for c in "/?#@ "):
        raise _config_error(flag, f"expected a host name or IP address, got {host!r}")
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return host
    return f"[{address}]" if address.version == 6 else str(address)


def validate_port(port: int, flag: str = "--openclaw-port") -> int:
    if not 1 <= port <= 65535:
        raise _config_error(flag, f"expected a TCP port between 1 and 65535, got {port}")
    return port


def validate_token(token: str | None, flag: str = "--token") -> str:
    """The hooks token (OpenClaw `hooks.token`); never echoed back in errors."""
    token = (token or "").strip()
    if not token:
        raise _config_error(
            flag, f"a hook token is required: set ECCO_WEBHOOK_TOKEN, or pass {flag}-file <path> (or {flag} <token>)"
        )
    if any(ord(c) < 0x21 or ord(c) > 0x7E for c in token):
        raise _config_error(flag, "the hook token must be printable ASCII without spaces")
    return token


def validate_filter(types: Iterable[str], flag: str = "--filter") -> frozenset[str]:
    wanted = validate_types(types, flag)
    if OWN_EVENT in wanted:
        raise _config_error(flag, f"{OWN_EVENT} cannot be forwarded: it reports the bridge's own failures")
    return wanted


@dataclass(frozen=True)
class BridgeSettings:
    """A validated bridge configuration; `token` is a secret and is left out of every report."""

    port: int
    token: str = field(repr=False)
    host: str = DEFAULT_HOST
    hook_path: str = DEFAULT_HOOK_PATH
    provider_hook_path: str = DEFAULT_PROVIDER_HOOK_PATH
    filter: frozenset[str] = frozenset()
    mode: str = HOOK_MODE
    a2a_path: str = DEFAULT_A2A_PATH

    @classmethod
    def create(
        cls,
        *,
        port: int,
        token: str | None,
        host: str = DEFAULT_HOST,
        hook_path: str = DEFAULT_HOOK_PATH,
        provider_hook_path: str = DEFAULT_PROVIDER_HOOK_PATH,
        filter: Iterable[str] = (),
        mode: str = HOOK_MODE,
        a2a_path: str = DEFAULT_A2A_PATH,
        flag_prefix: str = "--",
    ) -> BridgeSettings:
        """Validate every field; errors name the flag as the user typed it (`flag_prefix` "--webhook-" for `up`).
        In A2A mode the token is OpenClaw's `channels.a2a.peers.<peer>.token`, and the bridge handles inbound
        agent-requests only (a filter is refused: other events are fire-and-forget, for a hook-mode bridge)."""
        if mode not in (HOOK_MODE, A2A_MODE):
            raise _config_error(f"{flag_prefix}mode", f"expected {HOOK_MODE} or {A2A_MODE}, got {mode!r}")
        if mode == A2A_MODE:
            if list(filter):
                raise _config_error(f"{flag_prefix}filter", "an A2A-mode bridge handles agent-requests only")
            filter = (PROVIDER_TYPE,)
        return cls(
            port=validate_port(port, f"{flag_prefix}openclaw-port"),
            token=validate_token(token, f"{flag_prefix}token"),
            host=validate_host(host, f"{flag_prefix}openclaw-host"),
            hook_path=validate_hook_path(hook_path, f"{flag_prefix}hook-path"),
            provider_hook_path=validate_hook_path(provider_hook_path, f"{flag_prefix}provider-hook-path"),
            filter=validate_filter(filter, f"{flag_prefix}filter"),
            mode=mode,
            a2a_path=validate_hook_path(a2a_path, f"{flag_prefix}a2a-path"),
        )

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"


def forwards(event: EventRecord, wanted: frozenset[str]) -> bool:
    """Whether the bridge delivers the event. Our own outbound messages never go back to the agent that sent them;
    without a filter, every inbound message an agent may act on does (DEFAULT_TYPES: not handshakes, pings,
    capability queries or gossip); with one, every non-outbound event of a listed type."""
    if event.direction == Direction.OUTBOUND:
        return False
    if wanted:
        return event.type in wanted
    return event.direction == Direction.INBOUND and event.type in DEFAULT_TYPES


def subscription_types(wanted: frozenset[str]) -> frozenset[str]:
    """The types to ask the event log for (the direction check happens in `forwards`)."""
    return wanted or DEFAULT_TYPES


def route(event: EventRecord, settings: BridgeSettings) -> str:
    """Inbound agent-requests (work for this node as a provider) go to the provider hook path, the rest to the
    hook path."""
    if event.type == PROVIDER_TYPE and event.direction == Direction.INBOUND:
        return settings.provider_hook_path
    return settings.hook_path


class Verdict(StrEnum):
    DELIVERED = "delivered"
    RETRY = "retry"
    DEAD = "dead"


@dataclass(frozen=True)
class AttemptResult:
    """One POST's outcome: `status` 0 means no HTTP answer (connection refused, reset, timeout); `run_id` is the
    agent run OpenClaw started (its `{"ok":true,"runId":…}` answer, or the A2A task id), for logs that tie a
    delivery to the run."""

    status: int
    error: str = ""
    retry_after_s: float | None = None
    run_id: str = ""
    # A2A mode: the agent's reply text, or why the agent (or its server) answered without one.
    text: str = ""
    agent_error: str = ""


def classify(result: AttemptResult, attempts: int, max_attempts: int) -> Verdict:
    """2xx delivered; 4xx other than 408/429 dead at once (retrying cannot fix auth, size or a bad path); 5xx,
    408, 429 and no answer retried, until `max_attempts` (0 = forever) is used up. A connection error is retried
    forever: the gateway being down says nothing about the event, and dead-lettering every event of an outage
    would lose the stream."""
    if 200 <= result.status < 300:
        return Verdict.DELIVERED
    if 400 <= result.status < 500 and result.status not in RETRYABLE_4XX:
        return Verdict.DEAD
    if result.status and max_attempts and attempts >= max_attempts:
        return Verdict.DEAD
    return Verdict.RETRY


def describe(result: AttemptResult, path: str) -> str:
    """The error line recorded for a failed attempt, e.g. "HTTP 401 from /hooks/ecco"."""
    if result.status:
        return f"HTTP {result.status} from {path}" + (f": {result.error}" if result.error else "")
    return f"no answer from {path}: {result.error or 'connection failed'}"


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with full jitter: attempt n waits a random time in [0, min(cap, base * 2^(n-1))]."""

    base_s: float = 0.5
    cap_s: float = 30.0
    max_attempts: int = 8

    def delay(self, attempts: int, retry_after_s: float | None = None, rng: random.Random | None = None) -> float:
        ceiling = min(self.cap_s, self.base_s * (2 ** max(attempts - 1, 0)))
        jittered = (rng or _RNG).uniform(0, ceiling)
        if retry_after_s is not None:
            return min(max(jittered, retry_after_s), max(self.cap_s, retry_after_s))
        return jittered


_RNG = random.SystemRandom()
