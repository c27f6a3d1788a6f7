"""The node's configuration: defaults < TOML file (--config) < ECCO_* environment < command-line flags.

Each setting is declared once below with its parser, default and environment variable; a parser turns a raw
value from any source into the typed value or raises CONFIG_INVALID naming the source and the key.
"""

from __future__ import annotations

import ipaddress
import json
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ecco.errors import InvalidArgument, Reason
from ecco.services.bridge import (
    A2A_MODE,
    DEFAULT_A2A_PATH,
    DEFAULT_HOOK_PATH,
    DEFAULT_PROVIDER_HOOK_PATH,
    HOOK_MODE,
    BridgeSettings,
    RetryPolicy,
)
from ecco.services.discovery import (
    capability_from_name,
    load_capabilities_file,
    merge_capabilities,
    validate_capability,
)

Parser = Callable[[Any, str], Any]
MASK = "***"


def config_error(source: str, key: str, problem: str) -> InvalidArgument:
    return InvalidArgument(f"{source}: key {key!r}: {problem}", Reason.CONFIG_INVALID, field=key)


def _choice(*choices: str) -> Parser:
    def parse(raw: Any, where: str) -> str:
        if not isinstance(raw, str) or raw.lower() not in choices:
            raise ValueError(f"expected one of {', '.join(choices)}, got {raw!r}")
        return raw.lower()

    return parse


BOOLEAN_WORDS = {
    **dict.fromkeys(("true", "yes", "on", "1"), True),
    **dict.fromkeys(("false", "no", "off", "0"), False),
}


def _boolean(raw: Any, where: str) -> bool:
    """A TOML boolean, or (from the environment) true/false, yes/no, on/off, 1/0."""
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, str) and raw.strip().lower() in BOOLEAN_WORDS:
        return BOOLEAN_WORDS[raw.strip().lower()]
    raise ValueError(f"expected true or false, got {raw!r}")


def _string(raw: Any, where: str) -> str:
    if not isinstance(raw, str):
        raise ValueError(f"expected a string, got {type(raw).__name__}")
    return raw


def _loopback_address(raw: Any, where: str) -> str:
    """An API TCP address: loopback only, because the API is for local clients."""
    text = _string(raw, where).strip()
    if not text:
        return ""
    host, sep, port = text.rpartition(":")
    host = host.strip("[]")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"expected HOST:PORT such as 127.0.0.1:7440, got {text!r}")
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise ValueError(f"ecco's local endpoints listen on loopback addresses only (127.0.0.1, [::1]), got {host!r}")
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _http_url(raw: Any, where: str) -> str:
    text = _string(raw, where).strip()
    if text and not re.fullmatch(r"https?://[^\s/?#]+(/[^\s?#]*)?", text):
        raise ValueError(f"expected an http(s) URL, got {text!r}")
    return text


def _capabilities(raw: Any, where: str) -> list[dict[str, Any]]:
    """A TOML list of capability tables, or (from the environment) comma-separated names."""
    if isinstance(raw, str):
        return [capability_from_name(name) for name in raw.split(",") if name.strip()]
    if not isinstance(raw, list):
        raise ValueError("expected a list of capabilities")
    try:
        return [validate_capability(item, f"capabilities[{i}]") for i, item in enumerate(raw)]
    except InvalidArgument as error:
        raise ValueError(error.message) from None


def _string_list(raw: Any, where: str) -> list[str]:
    """A TOML list of strings, or (from the environment or a repeated flag) comma-separated text."""
    if isinstance(raw, str):
        return [item.strip() for item in raw.split(",") if item.strip()]
    if isinstance(raw, list | tuple) and all(isinstance(item, str) for item in raw):
        return [item.strip() for item in raw if item.strip()]
    raise ValueError("expected a list of strings")


PEER_MULTIADDR = re.compile(r"^/(ip4|ip6|dns|dns4|dns6)/[^/]+/tcp/\d{1,5}(/ws)?/p2p/[1-9A-HJ-NP-Za-km-z]{32,128}$")


def _peer_multiaddrs(raw: Any, where: str) -> list[str]:
    """Bootstrap peers: full dialable multiaddrs ending in /p2p/<peerId>; refused before any daemon starts."""
    addresses = _string_list(raw, where)
    for address in addresses:
        if not PEER_MULTIADDR.match(address):
            raise InvalidArgument(
                f"{where}: {address!r} is not a peer multiaddr like /ip4/127.0.0.1/tcp/4001/p2p/12D3KooW...",
                Reason.INVALID_MULTIADDR,
                field="bootstrap",
            )
    return addresses


EVM_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")


def _positive_number(raw: Any, where: str) -> float:
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise ValueError(f"expected a positive number, got {raw!r}") from None
    if isinstance(raw, bool) or not value > 0:
        raise ValueError(f"expected a positive number, got {raw!r}")
    return value


def _chain_table(raw: Any, where: str, what: str, check: Callable[[str], bool]) -> dict[str, str]:
    """A table chain id -> text: TOML `[chains] 31337 = "http://..."`, or (environment) JSON / `id=value,...`."""
    if isinstance(raw, str):
        text = raw.strip()
        if text.startswith("{"):
            try:
                raw = json.loads(text)
            except ValueError:
                raise ValueError("expected a JSON object of chain id -> " + what) from None
        else:
            pairs = [item.partition("=") for item in text.split(",") if item.strip()]
            raw = {key.strip(): value.strip() for key, _, value in pairs}
    if not isinstance(raw, dict):
        raise ValueError(f"expected a table of chain id -> {what}")
    table = {}
    for key, value in raw.items():
        if not str(key).isdigit() or int(key) <= 0:
            raise ValueError(f"{key!r} is not a chain id (a positive integer)")
        if not isinstance(value, str) or not check(value):
            raise ValueError(f"chain {key}: {value!r} is not {what}")
        table[str(int(key))] = value
    return table


def _rpc_urls(raw: Any, where: str) -> dict[str, str]:
    return _chain_table(raw, where, "an http(s) RPC URL", lambda v: v.startswith(("http://", "https://")))


def _registries(raw: Any, where: str) -> dict[str, str]:
    return _chain_table(raw, where, "a contract address", lambda v: EVM_ADDRESS.fullmatch(v) is not None)


def _addresses(raw: Any, where: str) -> list[str]:
    addresses = _string_list(raw, where)
    for address in addresses:
        if not EVM_ADDRESS.fullmatch(address):
            raise ValueError(f"{address!r} is not a token address (0x + 40 hex digits)")
    return [a.lower() for a in addresses]


def _wallet_key(raw: Any, where: str) -> str:
    """The wallet's private key: from ECCO_WALLET_KEY only, so it never sits in a config file or a flag."""
    if not where.startswith("environment"):
        raise ValueError("the wallet key may only come from ECCO_WALLET_KEY (or use wallet.key_file)")
    return _string(raw, where).strip()


def _pricing(raw: Any, where: str) -> dict[str, Any]:
    """Provider pricing, checked here so a bad table stops the node before it starts; stored as given."""
    from ecco.services.payments import parse_pricing

    if isinstance(raw, str):
        raw = json.loads(raw) if raw.strip() else {}
    if raw:
        try:
            parse_pricing(raw, "payment.pricing")
        except InvalidArgument as error:
            raise ValueError(error.message) from None
    return dict(raw)


def _chain_id(raw: Any, where: str) -> int:
    try:
        value = int(raw)
    except (TypeError, ValueError):
        raise ValueError(f"expected a chain id, got {raw!r}") from None
    if isinstance(raw, bool) or value < 0:
        raise ValueError(f"expected a chain id, got {raw!r}")
    return value


def _port(raw: Any, where: str) -> int:
    """A TCP port; 0 means unset."""
    try:
        value = int(raw)
    except (TypeError, ValueError):
        raise ValueError(f"expected a TCP port number, got {raw!r}") from None
    if isinstance(raw, bool) or not 0 <= value <= 65535 or (isinstance(raw, float) and raw != value):
        raise ValueError(f"expected a TCP port between 1 and 65535, got {raw!r}")
    return value


@dataclass(frozen=True)
class Setting:
    key: str
    parse: Parser
    default: Any
    env: str | None
    secret: bool = False


SETTINGS: tuple[Setting, ...] = (
    Setting("name", _string, "", "ECCO_NODE"),
    Setting("network", _choice("testnet", "mainnet"), "testnet", "ECCO_NETWORK"),
    Setting("capabilities", _capabilities, [], "ECCO_CAPABILITIES"),
    Setting("api_listen", _loopback_address, "", "ECCO_API_LISTEN"),
    Setting("db_url", _string, "", "ECCO_DB_URL", secret=True),
    Setting("log_level", _choice("debug", "info", "warning", "error"), "info", "ECCO_LOG_LEVEL"),
    Setting("listen", _string_list, ["/ip4/0.0.0.0/tcp/0"], "ECCO_LISTEN"),
    Setting("bootstrap", _peer_multiaddrs, [], "ECCO_BOOTSTRAP"),
    Setting("responder", _string, "", "ECCO_RESPONDER"),
    # A2A (ecco.services.bridge.a2a): the node's A2A endpoint, the bearer token its clients must present, and the
    # bearer token sent to the agent of `--responder a2a:<url>`.
    Setting("a2a.listen", _loopback_address, "", "ECCO_A2A_LISTEN"),
    Setting("a2a.token", _string, "", "ECCO_A2A_TOKEN", secret=True),
    Setting("a2a.responder_token", _string, "", "ECCO_A2A_RESPONDER_TOKEN", secret=True),
    # Where replies go for clients that do not wait (OpenClaw's A2A endpoint), and the token it expects there.
    Setting("a2a.reply_url", _http_url, "", "ECCO_A2A_REPLY_URL"),
    Setting("a2a.reply_token", _string, "", "ECCO_A2A_REPLY_TOKEN", secret=True),
    # mDNS multicasts on every interface: on for users (upstream default), off wherever that is not wanted.
    Setting("mdns", _boolean, True, "ECCO_MDNS"),
    # Capability provider records on the network-scoped Kademlia DHT (the `internet` discovery phase).
    Setting("dht", _boolean, True, "ECCO_DHT"),
    # Per-peer inbound token bucket (upstream: 100 messages, refilled at 10 per second).
    Setting("rate_limit.messages", _positive_number, 100.0, "ECCO_RATE_LIMIT_MESSAGES"),
    Setting("rate_limit.refill_per_second", _positive_number, 10.0, "ECCO_RATE_LIMIT_REFILL"),
    # ... and its byte budget: frame bytes, two maximal frames at once, then 2 MiB/s (ecco.services.envelope).
    Setting("rate_limit.bytes", _positive_number, 20.0 * 2**20, "ECCO_RATE_LIMIT_BYTES"),
    Setting("rate_limit.bytes_per_second", _positive_number, 2.0 * 2**20, "ECCO_RATE_LIMIT_BYTES_REFILL"),
    # Payments: extra or overriding RPC URLs per chain id (defaults: ecco.services.payments.chains).
    Setting("chains", _rpc_urls, {}, "ECCO_CHAINS"),
    Setting("registries", _registries, {}, "ECCO_REGISTRIES"),
    Setting("reputation_registries", _registries, {}, "ECCO_REPUTATION_REGISTRIES"),
    # ERC-8004 feedback: scanned from this block (0 = genesis), re-synced at this interval, only for a chain
    # configured explicitly under [chains].
    Setting("reputation.feedback_start_block", _chain_id, 0, "ECCO_FEEDBACK_START_BLOCK"),
    Setting("reputation.feedback_interval_s", _positive_number, 300.0, "ECCO_FEEDBACK_INTERVAL_S"),
    Setting("wallet.key", _wallet_key, "", "ECCO_WALLET_KEY", secret=True),
    Setting("wallet.key_file", _string, "", "ECCO_WALLET_KEY_FILE"),
    # 0: the network's default chain (11155111 on testnet, 143 on mainnet).
    Setting("payment.chain_id", _chain_id, 0, "ECCO_PAYMENT_CHAIN_ID"),
    Setting("payment.pricing", _pricing, {}, "ECCO_PAYMENT_PRICING"),
    Setting("payment.tokens", _addresses, [], "ECCO_PAYMENT_TOKENS"),
    # The webhook bridge embedded in the daemon (`ecco up --webhook-bridge`); see ecco.services.bridge.rules.
    Setting("webhook.enabled", _boolean, False, "ECCO_WEBHOOK_BRIDGE"),
    Setting("webhook.openclaw_host", _string, "127.0.0.1", "ECCO_WEBHOOK_OPENCLAW_HOST"),
    Setting("webhook.openclaw_port", _port, 0, "ECCO_WEBHOOK_OPENCLAW_PORT"),
    Setting("webhook.token", _string, "", "ECCO_WEBHOOK_TOKEN", secret=True),
    Setting("webhook.hook_path", _string, DEFAULT_HOOK_PATH, "ECCO_WEBHOOK_HOOK_PATH"),
    Setting("webhook.provider_hook_path", _string, DEFAULT_PROVIDER_HOOK_PATH, "ECCO_WEBHOOK_PROVIDER_HOOK_PATH"),
    Setting("webhook.filter", _string_list, [], "ECCO_WEBHOOK_FILTER"),
    Setting("webhook.verbose", _boolean, False, "ECCO_WEBHOOK_VERBOSE"),
    # hook: POST events to OpenClaw's hooks; a2a: agent-requests to its A2A channel, replies back to the requester.
    Setting("webhook.mode", _choice(HOOK_MODE, A2A_MODE), HOOK_MODE, "ECCO_WEBHOOK_MODE"),
    Setting("webhook.a2a_path", _string, DEFAULT_A2A_PATH, "ECCO_WEBHOOK_A2A_PATH"),
)
SETTINGS_BY_KEY = {s.key: s for s in SETTINGS}


@dataclass(frozen=True)
class NodeConfig:
    """The effective configuration, and where each value came from."""

    values: Mapping[str, Any]
    sources: Mapping[str, str]

    @property
    def name(self) -> str:
        return str(self.values["name"])

    @property
    def network(self) -> str:
        return str(self.values["network"])

    @property
    def capabilities(self) -> list[dict[str, Any]]:
        return list(self.values["capabilities"])

    @property
    def api_listen(self) -> str:
        return str(self.values["api_listen"])

    @property
    def db_url(self) -> str:
        return str(self.values["db_url"])

    @property
    def log_level(self) -> str:
        return str(self.values["log_level"])

    @property
    def listen(self) -> list[str]:
        return list(self.values["listen"])

    @property
    def bootstrap(self) -> list[str]:
        return list(self.values["bootstrap"])

    @property
    def mdns(self) -> bool:
        return bool(self.values["mdns"])

    @property
    def dht(self) -> bool:
        return bool(self.values["dht"])

    @property
    def responder(self) -> str:
        return str(self.values["responder"])

    @property
    def a2a_listen(self) -> str:
        return str(self.values["a2a.listen"])

    @property
    def a2a_token(self) -> str:
        return str(self.values["a2a.token"]).strip()

    @property
    def a2a_reply(self) -> tuple[str, str]:
        """(URL, bearer token) of the A2A endpoint that gets the replies of clients that do not wait."""
        return str(self.values["a2a.reply_url"]), str(self.values["a2a.reply_token"]).strip()

    @property
    def a2a_responder_token(self) -> str:
        return str(self.values["a2a.responder_token"]).strip()

    @property
    def rate_limit(self) -> tuple[float, float]:
        """(messages, refill per second) of the per-peer inbound token bucket."""
        return float(self.values["rate_limit.messages"]), float(self.values["rate_limit.refill_per_second"])

    @property
    def byte_rate_limit(self) -> tuple[float, float]:
        """(bytes, refill per second) of the per-peer inbound byte budget, counted in frame bytes."""
        return float(self.values["rate_limit.bytes"]), float(self.values["rate_limit.bytes_per_second"])

    @property
    def chains(self) -> dict[int, str]:
        from ecco.services.payments import DEFAULT_RPC_URLS

        return {**DEFAULT_RPC_URLS, **{int(k): v for k, v in self.values["chains"].items()}}

    @property
    def registries(self) -> dict[int, str]:
        from ecco.services.payments import IDENTITY_REGISTRIES

        return {**IDENTITY_REGISTRIES, **{int(k): v for k, v in self.values["registries"].items()}}

    @property
    def reputation_registries(self) -> dict[int, str]:
        from ecco.services.payments import REPUTATION_REGISTRIES

        return {**REPUTATION_REGISTRIES, **{int(k): v for k, v in self.values["reputation_registries"].items()}}

    def configured_chain(self, chain_id: int) -> bool:
        """Whether the chain's RPC URL was set explicitly (defaults are never contacted in the background)."""
        return str(chain_id) in self.values["chains"]

    @property
    def feedback_sync(self) -> tuple[int, float]:
        """(start block, interval in seconds) of the ERC-8004 feedback sync."""
        return int(self.values["reputation.feedback_start_block"]), float(self.values["reputation.feedback_interval_s"])

    @property
    def payment_chain_id(self) -> int:
        from ecco.services.payments import DEFAULT_CHAIN_BY_NETWORK

        return int(self.values["payment.chain_id"]) or DEFAULT_CHAIN_BY_NETWORK[self.network]

    @property
    def pricing(self) -> dict[str, Any]:
        return dict(self.values["payment.pricing"])

    @property
    def payment_tokens(self) -> list[str]:
        return list(self.values["payment.tokens"])

    def wallet_key(self) -> str:
        """The wallet's private key from ECCO_WALLET_KEY or wallet.key_file; "" when neither is set."""
        if self.values["wallet.key"]:
            return str(self.values["wallet.key"])
        path = str(self.values["wallet.key_file"])
        if not path:
            return ""
        try:
            return Path(path).expanduser().read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError):
            raise config_error("wallet.key_file", "wallet.key_file", f"cannot read {path}") from None

    @property
    def webhook(self) -> BridgeSettings | None:
        """The embedded bridge's validated settings, or None when it is off; errors name the `ecco up` flag."""
        if not self.values["webhook.enabled"]:
            return None
        if not self.values["webhook.openclaw_port"]:
            raise InvalidArgument(
                "--webhook-openclaw-port: the OpenClaw gateway port is required with --webhook-bridge",
                Reason.BRIDGE_CONFIG_INVALID,
                field="--webhook-openclaw-port",
            )
        return BridgeSettings.create(
            port=int(self.values["webhook.openclaw_port"]),
            token=str(self.values["webhook.token"]),
            host=str(self.values["webhook.openclaw_host"]),
            hook_path=str(self.values["webhook.hook_path"]),
            provider_hook_path=str(self.values["webhook.provider_hook_path"]),
            filter=list(self.values["webhook.filter"]),
            mode=str(self.values["webhook.mode"]),
            a2a_path=str(self.values["webhook.a2a_path"]),
            flag_prefix="--webhook-",
        )

    @property
    def webhook_verbose(self) -> bool:
        return bool(self.values["webhook.verbose"])

    def masked(self) -> dict[str, Any]:
        """The values with every secret replaced, for display and for the state directory."""
        return {key: (MASK if SETTINGS_BY_KEY[key].secret and value else value) for key, value in self.values.items()}

    def to_json(self) -> str:
        return json.dumps(self.masked(), sort_keys=True)


def _flatten(table: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in table.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, dict) and dotted not in SETTINGS_BY_KEY:
            flat.update(_flatten(value, f"{dotted}."))
        else:
            flat[dotted] = value
    return flat


def read_config_file(path: Path) -> dict[str, Any]:
    """Read a TOML config file; every problem names the file, and the key where there is one."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InvalidArgument(f"config file {path} not found", Reason.CONFIG_INVALID, field="--config") from None
    except (OSError, UnicodeDecodeError):
        raise InvalidArgument(f"config file {path} cannot be read", Reason.CONFIG_INVALID, field="--config") from None
    try:
        table = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InvalidArgument(
            f"config file {path}: invalid TOML: {exc}", Reason.CONFIG_INVALID, field="--config"
        ) from None
    flat = _flatten(table)
    for key in flat:
        if key not in SETTINGS_BY_KEY:
            known = ", ".join(sorted(SETTINGS_BY_KEY))
            raise config_error(f"config file {path}", key, f"unknown key (known keys: {known})")
    return flat


def load_config(
    config_path: Path | None = None,
    env: Mapping[str, str] | None = None,
    flags: Mapping[str, Any] | None = None,
) -> NodeConfig:
    """Resolve the effective configuration. Flags whose value is None were not given."""
    layers: list[tuple[str, str, Mapping[str, Any]]] = []
    if config_path is not None:
        layers.append(("file", f"config file {config_path}", read_config_file(config_path)))
    if env is not None:
        from_env = {s.key: env[s.env] for s in SETTINGS if s.env and env.get(s.env)}
        layers.append(("env", "environment", from_env))
    if flags:
        layers.append(("flag", "command line", {k: v for k, v in flags.items() if v is not None}))

    values = {s.key: s.default for s in SETTINGS}
    sources = {s.key: "default" for s in SETTINGS}
    for kind, label, layer in layers:
        for key, raw in layer.items():
            setting = SETTINGS_BY_KEY.get(key)
            if setting is None:
                raise config_error(label, key, "unknown key")
            where = f"{label} ({setting.env})" if kind == "env" else label
            try:
                values[key] = setting.parse(raw, where)
            except ValueError as exc:
                raise config_error(where, key, str(exc)) from None
            sources[key] = kind
    return NodeConfig(values, sources)


DEFAULT_BRIDGE_MAX_ATTEMPTS = RetryPolicy.max_attempts
"""`ecco webhook-bridge --max-attempts` default: the bridge's retry policy's."""


def capabilities_from_flags(names: tuple[str, ...], capabilities_file: Path | None) -> list[dict[str, Any]] | None:
    """`--capability NAME` (repeatable) and `--capabilities-file` merged into one capability list; None when neither
    is given, so the lower config layers apply."""
    if not names and capabilities_file is None:
        return None
    from_file = load_capabilities_file(capabilities_file) if capabilities_file else []
    return merge_capabilities(from_file, [capability_from_name(name) for name in names])


def check_responder(spec: str) -> None:
    """Refuse a bad `--responder` before anything starts (InvalidArgument naming the flag). Imported here: the
    responders bring asyncio, which every other command would pay for at start-up."""
    from ecco.services.messaging import parse_responder

    parse_responder(spec)
