"""The upstream message envelope, its canonical-JSON signature and the inbound checks (upstream-ecco §4.2, §4.3, §4.5).

Wire format (one frame = the JSON of one `TransportMessage`):

    {"id", "from", "to", "data": [byte, ...], "timestamp"}

where `data` is the UTF-8 JSON of a signed `Message` (direct delivery) or of `{"topic", "message": Message}`
(a topic broadcast, `to` = "broadcast"). A `Message` is

    {"id", "from", "to", "type", "payload", "timestamp" (epoch ms), "signature" (base64), "publicKey" (base64)}

signed with Ed25519 over `canonical_json({id, from, to, type, payload, timestamp})`: the bytes JavaScript's
`JSON.stringify` produces for the same data with object keys sorted (UTF-16 code-unit order), so that signatures
verify across the Python and TypeScript implementations.

Pure logic: no I/O, no clocks except the injectable ones, no crypto library (see ecco.services.crypto_ports).
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, replace
from typing import Any, Final

from ecco.errors import (
    AlreadyExists,
    FailedPrecondition,
    InvalidArgument,
    Reason,
    ResourceExhausted,
    Unauthenticated,
)
from ecco.limits import MAX_FRAME_BYTES
from ecco.services.crypto_ports import Signer, Verifier

FRESHNESS_PAST_MS: Final = 60_000
FRESHNESS_FUTURE_MS: Final = 5_000
DEDUP_CAPACITY: Final = 10_000
RATE_LIMIT_TOKENS: Final = 100
RATE_LIMIT_REFILL_PER_SECOND: Final = 10.0
RATE_LIMIT_MAX_PEERS: Final = 10_000
BYTE_BUDGET: Final = 2 * MAX_FRAME_BYTES
"""A peer's inbound byte budget, in frame bytes: two maximal frames at once, ..."""
BYTE_REFILL_PER_SECOND: Final = 2 * 1024 * 1024
"""... refilled at 2 MiB/s. Beyond it frames are dropped (RATE_LIMITED) before they are parsed."""
BROADCAST: Final = "broadcast"
SIGNATURE_BYTES: Final = 64

_MAX_SAFE_INTEGER = 2**53 - 1


class _Absent:
    """A `payload` that was not present on the wire (JavaScript `undefined`): left out of the JSON and the signature."""

    _instance: _Absent | None = None

    def __new__(cls) -> _Absent:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "ABSENT"

    def __bool__(self) -> bool:
        return False


ABSENT: Final = _Absent()


def now_ms() -> int:
    return time.time_ns() // 1_000_000


# ---------------------------------------------------------------------------------------------------------------------
# Canonical JSON (JavaScript JSON.stringify on key-sorted data)
# ---------------------------------------------------------------------------------------------------------------------


def js_number(value: int | float) -> str:
    """Format a number exactly as JavaScript's Number::toString / JSON.stringify does.

    Integers within +/-(2^53 - 1) print as themselves; larger integers print as the double JavaScript would parse
    them to. NaN and +/-Infinity are refused (JSON.stringify would silently turn them into null)."""
    if isinstance(value, bool):
        raise TypeError("a boolean is not a number")
    if isinstance(value, int):
        if -_MAX_SAFE_INTEGER <= value <= _MAX_SAFE_INTEGER:
            return str(value)
        try:
            value = float(value)
        except OverflowError:
            raise ValueError("the integer is too large for a JSON number") from None
    if not math.isfinite(value):
        raise ValueError("NaN and Infinity are not valid JSON numbers")
    if value == 0:
        return "0"  # also -0
    sign = "-" if value < 0 else ""
    digits, n = _shortest_digits(abs(value))
    k = len(digits)
    if k <= n <= 21:
        return sign + digits + "0" * (n - k)
    if 0 < n <= 21:
        return sign + digits[:n] + "." + digits[n:]
    if -6 < n <= 0:
        return sign + "0." + "0" * (-n) + digits
    exponent = n - 1
    suffix = "e" + ("+" if exponent >= 0 else "-") + str(abs(exponent))
    if k == 1:
        return sign + digits + suffix
    return sign + digits[0] + "." + digits[1:] + suffix


def _shortest_digits(x: float) -> tuple[str, int]:
    """(s, n) with x = 0.s * 10^n and s the shortest round-tripping digit string (what repr() and JS both pick)."""
    text = repr(x)
    mantissa, _, exp = text.partition("e")
    whole, _, fraction = mantissa.partition(".")
    digits = whole + fraction
    point = len(whole) + (int(exp) if exp else 0)
    stripped = digits.lstrip("0")
    point -= len(digits) - len(stripped)
    return stripped.rstrip("0"), point


_SURROGATE = re.compile("[\ud800-\udfff]")


def _js_string(value: str) -> str:
    encoded = json.dumps(value, ensure_ascii=False)
    if _SURROGATE.search(encoded) is None:
        return encoded
    # JavaScript strings are UTF-16: adjacent surrogate halves form one character; a lone one is escaped as \udXXX.
    joined = encoded.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")
    return _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", joined)


def _utf16_order(key: str) -> bytes:
    return key.encode("utf-16-be", "surrogatepass")


def canonical_json(value: Any) -> str:
    """Compact JSON with object keys sorted recursively, byte-for-byte what upstream's canonicalJsonStringify gives.
    This is what signatures cover.

    Raises TypeError/ValueError for values JSON cannot carry (NaN, Infinity, non-string keys, other types)."""
    parts: list[str] = []
    _encode(value, parts, sort_keys=True)
    return "".join(parts)


def js_json(value: Any) -> str:
    """Compact JSON with object keys in insertion order: byte-for-byte JavaScript's `JSON.stringify`, which upstream
    uses for everything it puts on the wire (frames, gossip events). Building objects in upstream's key order thus
    gives upstream's exact bytes. Same errors as canonical_json."""
    parts: list[str] = []
    _encode(value, parts, sort_keys=False)
    return "".join(parts)


def _encode(value: Any, out: list[str], *, sort_keys: bool) -> None:
    if value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, str):
        out.append(_js_string(value))
    elif isinstance(value, int | float):
        out.append(js_number(value))
    elif isinstance(value, dict):
        items = [(k, v) for k, v in value.items() if v is not ABSENT]
        for key, _ in items:
            if not isinstance(key, str):
                raise TypeError(f"object keys must be strings, got {type(key).__name__}")
        if sort_keys:
            items.sort(key=lambda kv: _utf16_order(kv[0]))
        out.append("{")
        for i, (key, item) in enumerate(items):
            if i:
                out.append(",")
            out.append(_js_string(key))
            out.append(":")
            _encode(item, out, sort_keys=sort_keys)
        out.append("}")
    elif isinstance(value, list | tuple):
        out.append("[")
        for i, item in enumerate(value):
            if i:
                out.append(",")
            _encode(None if item is ABSENT else item, out, sort_keys=sort_keys)
        out.append("]")
    else:
        raise TypeError(f"{type(value).__name__} is not a JSON value")


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def parse_json(data: bytes | str) -> Any:
    """Strict JSON parsing: NaN/Infinity literals are refused."""
    return json.loads(data, parse_constant=_reject_constant)


# ---------------------------------------------------------------------------------------------------------------------
# The envelope
# ---------------------------------------------------------------------------------------------------------------------


def _invalid(message: str) -> InvalidArgument:
    return InvalidArgument(message, Reason.INVALID_PAYLOAD)


@dataclass(frozen=True)
class Message:
    id: str
    from_: str
    to: str
    type: str
    payload: Any
    timestamp: int | float
    """Epoch milliseconds."""
    signature: str | None = None
    """base64 of the 64-byte Ed25519 signature."""
    public_key: str | None = None
    """base64 of the raw 32-byte Ed25519 public key."""

    def signing_fields(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "from": self.from_,
            "to": self.to,
            "type": self.type,
            "payload": self.payload,
            "timestamp": self.timestamp,
        }

    def signing_input(self) -> bytes:
        """The bytes the signature covers. Raises InvalidArgument(INVALID_PAYLOAD) if the payload is not JSON."""
        try:
            return canonical_json(self.signing_fields()).encode("utf-8")
        except (TypeError, ValueError, RecursionError) as exc:
            raise _invalid(f"the message is not valid JSON: {exc}") from None

    def to_dict(self) -> dict[str, Any]:
        doc = self.signing_fields()
        if self.payload is ABSENT:
            del doc["payload"]
        if self.signature is not None:
            doc["signature"] = self.signature
        if self.public_key is not None:
            doc["publicKey"] = self.public_key
        return doc

    @classmethod
    def from_dict(cls, doc: Any) -> Message:
        if not isinstance(doc, dict):
            raise _invalid("a message must be a JSON object")
        for key in ("id", "from", "to", "type"):
            if not isinstance(doc.get(key), str):
                raise _invalid(f"message field {key!r} must be a string")
        timestamp = doc.get("timestamp")
        if isinstance(timestamp, bool) or not isinstance(timestamp, int | float) or not math.isfinite(timestamp):
            raise _invalid("message field 'timestamp' must be a number")
        optional: dict[str, str | None] = {}
        for key in ("signature", "publicKey"):
            value = doc.get(key)
            if value is not None and not isinstance(value, str):
                raise _invalid(f"message field {key!r} must be a string")
            optional[key] = value
        return cls(
            id=doc["id"],
            from_=doc["from"],
            to=doc["to"],
            type=doc["type"],
            payload=doc.get("payload", ABSENT),
            timestamp=timestamp,
            signature=optional["signature"],
            public_key=optional["publicKey"],
        )


def new_message(
    sender: str, to: str, type: str, payload: Any, *, timestamp_ms: int | None = None, id: str | None = None
) -> Message:
    return Message(
        id=id or str(uuid.uuid4()),
        from_=sender,
        to=to,
        type=type,
        payload=payload,
        timestamp=now_ms() if timestamp_ms is None else timestamp_ms,
    )


def sign_message(message: Message, signer: Signer) -> Message:
    """Return `message` signed by `signer`, whose peer id must be `message.from_`."""
    if message.from_ != signer.peer_id:
        raise InvalidArgument("a message can only be signed by its sender", Reason.SIGNATURE_INVALID)
    signature = signer.sign(message.signing_input())
    return replace(
        message,
        signature=base64.b64encode(signature).decode("ascii"),
        public_key=base64.b64encode(signer.public_key).decode("ascii"),
    )


def _bad_signature(problem: str) -> Unauthenticated:
    return Unauthenticated(f"message signature rejected: {problem}", Reason.SIGNATURE_INVALID)


def _b64(text: str) -> bytes:
    return base64.b64decode(text, validate=True)


def verify_message(message: Message, verifier: Verifier) -> None:
    """Check that the message is signed by the key of the peer in `from`. Raises Unauthenticated(SIGNATURE_INVALID)."""
    if not message.signature or not message.public_key:
        raise _bad_signature("the message is unsigned")
    try:
        public_key = _b64(message.public_key)
        signature = _b64(message.signature)
    except (binascii.Error, ValueError):
        raise _bad_signature("signature or public key is not base64") from None
    try:
        signer = verifier.peer_id_of(public_key)
    except ValueError:
        raise _bad_signature("the public key is not an Ed25519 key") from None
    if signer != message.from_:
        raise _bad_signature("the signing key does not belong to the sender")
    if len(signature) != SIGNATURE_BYTES:
        raise _bad_signature("the signature does not have 64 bytes")
    try:
        data = message.signing_input()
    except InvalidArgument:
        raise _bad_signature("the signed fields are not valid JSON") from None
    if not verifier.verify(public_key, data, signature):
        raise _bad_signature("the signature does not verify")


# ---------------------------------------------------------------------------------------------------------------------
# Frames (TransportMessage)
# ---------------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Envelope:
    """A decoded frame: the signed message, and the topic for a broadcast."""

    message: Message
    topic: str | None = None


def encode_frame(message: Message, topic: str | None = None) -> bytes:
    """The upstream TransportMessage JSON for `message` (signed already); with `topic`, a broadcast.

    Byte-for-byte upstream's frame: the message is JSON.stringify'd in its insertion order (`Message.to_dict`, then
    the payload as built), not sorted."""
    try:
        doc = message.to_dict()
        inner = js_json(doc if topic is None else {"topic": topic, "message": doc})
    except (TypeError, ValueError, RecursionError) as exc:
        raise _invalid(f"the message is not valid JSON: {exc}") from None
    data = inner.encode("utf-8")
    to = BROADCAST if topic is not None else message.to
    frame = "".join(
        (
            '{"id":',
            _js_string(message.id),
            ',"from":',
            _js_string(message.from_),
            ',"to":',
            _js_string(to),
            ',"data":[',
            ",".join(map(str, data)),
            '],"timestamp":',
            js_number(message.timestamp),
            "}",
        )
    )
    return frame.encode("utf-8")


def decode_frame(frame: bytes) -> Envelope:
    """Parse a TransportMessage frame. Raises InvalidArgument (INVALID_PAYLOAD, or MESSAGE_TOO_LARGE)."""
    check_frame_size(len(frame))
    try:
        outer = parse_json(frame)
    except (ValueError, RecursionError):
        raise _invalid("the frame is not JSON") from None
    if not isinstance(outer, dict) or not isinstance(outer.get("data"), list):
        raise _invalid("the frame is not a TransportMessage")
    try:
        data = bytes(outer["data"])
    except (TypeError, ValueError):
        raise _invalid("TransportMessage.data must be an array of bytes") from None
    try:
        inner = parse_json(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise _invalid("TransportMessage.data is not UTF-8 JSON") from None
    if isinstance(inner, dict) and isinstance(inner.get("topic"), str) and isinstance(inner.get("message"), dict):
        return Envelope(Message.from_dict(inner["message"]), inner["topic"])
    return Envelope(Message.from_dict(inner))


# ---------------------------------------------------------------------------------------------------------------------
# Inbound checks
# ---------------------------------------------------------------------------------------------------------------------


def check_frame_size(size: int, limit: int = MAX_FRAME_BYTES) -> None:
    if size > limit:
        raise InvalidArgument(f"frame of {size} bytes exceeds the {limit}-byte limit", Reason.MESSAGE_TOO_LARGE)


def check_freshness(
    timestamp_ms: int | float,
    now: int,
    max_age_ms: int = FRESHNESS_PAST_MS,
    max_skew_ms: int = FRESHNESS_FUTURE_MS,
) -> None:
    """Accept timestamps in [now - max_age, now + max_skew]. Raises FailedPrecondition(MESSAGE_STALE)."""
    age = now - timestamp_ms
    if age > max_age_ms:
        raise FailedPrecondition(f"message is {int(age)} ms old (limit {max_age_ms} ms)", Reason.MESSAGE_STALE)
    if age < -max_skew_ms:
        raise FailedPrecondition(
            f"message is {int(-age)} ms in the future (limit {max_skew_ms} ms)", Reason.MESSAGE_STALE
        )


class DuplicateFilter:
    """Remembers between `capacity` and 2 * `capacity` recent keys: two generations, the older dropped when the newer
    fills up. Exact (no false positives), bounded memory."""

    def __init__(self, capacity: int = DEDUP_CAPACITY) -> None:
        if capacity < 1:
            raise ValueError("capacity must be positive")
        self._capacity = capacity
        self._current: set[Hashable] = set()
        self._previous: set[Hashable] = set()

    def __contains__(self, key: Hashable) -> bool:
        return key in self._current or key in self._previous

    def check_and_add(self, key: Hashable) -> bool:
        """True if `key` is new (and remember it); False if it was seen recently."""
        if key in self:
            return False
        if len(self._current) >= self._capacity:
            self._previous, self._current = self._current, set()
        self._current.add(key)
        return True


class RateLimiter:
    """A token bucket per key: `capacity` tokens, refilled continuously at `refill_per_second`.

    At most `max_keys` buckets are kept; the least recently used is forgotten (a forgotten key starts full again)."""

    def __init__(
        self,
        capacity: float = RATE_LIMIT_TOKENS,
        refill_per_second: float = RATE_LIMIT_REFILL_PER_SECOND,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = RATE_LIMIT_MAX_PEERS,
    ) -> None:
        self._capacity = float(capacity)
        self._rate = float(refill_per_second)
        self._clock = clock
        self._max_keys = max_keys
        self._buckets: OrderedDict[Hashable, tuple[float, float]] = OrderedDict()

    def tokens(self, key: Hashable) -> float:
        tokens, last = self._buckets.get(key, (self._capacity, self._clock()))
        return min(self._capacity, tokens + (self._clock() - last) * self._rate)

    def allow(self, key: Hashable, cost: float = 1.0) -> bool:
        now = self._clock()
        tokens, last = self._buckets.pop(key, (self._capacity, now))
        tokens = min(self._capacity, tokens + max(0.0, now - last) * self._rate)
        allowed = tokens >= cost
        if allowed:
            tokens -= cost
        self._buckets[key] = (tokens, now)
        if len(self._buckets) > self._max_keys:
            self._buckets.popitem(last=False)
        return allowed


class InboundGuard:
    """Every check an inbound frame passes before the node acts on it, cheapest first:

    size (10 MiB) → per-peer rate limit (messages/s and bytes/s) → well-formed envelope → `from` is the transport
    peer → freshness window → signature by the key of `from` → not a duplicate (keyed on transport peer and
    message id).

    `check` returns the decoded envelope or raises the EccoError that says why the frame is dropped."""

    def __init__(
        self,
        verifier: Verifier,
        *,
        wall_clock_ms: Callable[[], int] = now_ms,
        monotonic: Callable[[], float] = time.monotonic,
        max_frame_bytes: int = MAX_FRAME_BYTES,
        max_age_ms: int = FRESHNESS_PAST_MS,
        max_skew_ms: int = FRESHNESS_FUTURE_MS,
        dedup_capacity: int = DEDUP_CAPACITY,
        rate_tokens: float = RATE_LIMIT_TOKENS,
        rate_refill_per_second: float = RATE_LIMIT_REFILL_PER_SECOND,
        byte_budget: float = BYTE_BUDGET,
        byte_refill_per_second: float = BYTE_REFILL_PER_SECOND,
    ) -> None:
        self._verifier = verifier
        self._wall_clock_ms = wall_clock_ms
        self._max_frame_bytes = max_frame_bytes
        self._max_age_ms = max_age_ms
        self._max_skew_ms = max_skew_ms
        self.duplicates = DuplicateFilter(dedup_capacity)
        self.rate_limiter = RateLimiter(rate_tokens, rate_refill_per_second, clock=monotonic)
        self.byte_limiter = RateLimiter(byte_budget, byte_refill_per_second, clock=monotonic)

    @property
    def replay_window_ms(self) -> int:
        """How long after its receipt a message could still pass the freshness check: the time its id must be
        remembered, also across a restart."""
        return self._max_age_ms + self._max_skew_ms

    def remember(self, keys: Iterable[tuple[str, str]]) -> None:
        """Seed the duplicate filter with (transport peer, message id) pairs received before a restart."""
        for key in keys:
            self.duplicates.check_and_add(key)

    def charge(self, transport_peer: str, size: int) -> None:
        """Count a stream the transport reset for exceeding its caps against the peer's rates: one message and the
        frame bytes it claimed (a peer that keeps trying runs out of budget for everything else too)."""
        self.rate_limiter.allow(transport_peer)
        self.byte_limiter.allow(transport_peer, size)

    def check(self, transport_peer: str, frame: bytes) -> Envelope:
        check_frame_size(len(frame), self._max_frame_bytes)
        if not self.rate_limiter.allow(transport_peer):
            raise ResourceExhausted(f"peer {transport_peer} exceeds its message rate", Reason.RATE_LIMITED)
        if not self.byte_limiter.allow(transport_peer, len(frame)):
            raise ResourceExhausted(f"peer {transport_peer} exceeds its byte rate", Reason.RATE_LIMITED)
        envelope = decode_frame(frame)
        message = envelope.message
        if message.from_ != transport_peer:
            raise _bad_signature("the sender is not the peer that delivered the message")
        check_freshness(message.timestamp, self._wall_clock_ms(), self._max_age_ms, self._max_skew_ms)
        verify_message(message, self._verifier)
        if not self.duplicates.check_and_add((transport_peer, message.id)):
            raise AlreadyExists(f"message {message.id} was already received", Reason.MESSAGE_DUPLICATE)
        return envelope
