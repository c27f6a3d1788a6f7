"""Reputation bloom filters (upstream-ecco §7.5): who this node and its peers consider elite/good/acceptable.

Each node summarises, per capability and tier, the peers whose reputation reaches the tier threshold in a bloom
filter, signs it and gossips it on `ecco:reputation-filters`. Receivers merge filters by bitwise OR, so a node
learns candidate reputations without any central registry. The bit layout and the hash (cyrb53 seeded with the
hash index, mod the bit count; bit i is bit i % 8, least significant first, of byte i // 8) are upstream's, so
filters interoperate with TypeScript nodes.

Pure logic: no I/O; signatures go through the ports in ecco.services.crypto_ports.
"""

from __future__ import annotations

import base64
import binascii
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Final

from ecco.errors import InvalidArgument, Reason, Unauthenticated
from ecco.parsing import TIERS, Tier
from ecco.services.crypto_ports import Signer, Verifier
from ecco.services.discovery.reputation import TIER_THRESHOLDS
from ecco.services.envelope import SIGNATURE_BYTES, canonical_json, js_json, parse_json

DEFAULT_FILTER_BYTES: Final = 1024
MAX_FILTER_BYTES: Final = 8192
DEFAULT_HASH_COUNT: Final = 7
GOSSIP_INTERVAL_MS: Final = 300_000
TOPIC: Final = "ecco:reputation-filters"
EVENT_TYPE: Final = "reputation-filter"

_U32 = 0xFFFFFFFF


# ---------------------------------------------------------------------------------------------------------------------
# cyrb53 and the bit operations
# ---------------------------------------------------------------------------------------------------------------------


def _imul(a: int, b: int) -> int:
    """JavaScript Math.imul on values already reduced to 32 bits: the low 32 bits of the product (as unsigned)."""
    return (a * b) & _U32


def cyrb53(text: str, seed: int = 0) -> int:
    """The well-known cyrb53 53-bit string hash, bit for bit as JavaScript computes it.

    JavaScript iterates UTF-16 code units (`charCodeAt`), so characters outside the BMP count as two. Intermediate
    values are kept as unsigned 32-bit integers: XOR and Math.imul only depend on the low 32 bits, and `>>>` is a
    logical shift of the unsigned value."""
    h1 = (0xDEADBEEF ^ seed) & _U32
    h2 = (0x41C6CE57 ^ seed) & _U32
    units = text.encode("utf-16-le", "surrogatepass")
    for i in range(0, len(units), 2):
        ch = units[i] | (units[i + 1] << 8)
        h1 = _imul(h1 ^ ch, 2654435761)
        h2 = _imul(h2 ^ ch, 1597334677)
    h1 = _imul(h1 ^ (h1 >> 16), 2246822507)
    h1 ^= _imul(h2 ^ (h2 >> 13), 3266489909)
    h2 = _imul(h2 ^ (h2 >> 16), 2246822507)
    h2 ^= _imul(h1 ^ (h1 >> 13), 3266489909)
    return 4294967296 * (2097151 & h2) + h1


def bit_indices(item: str, size_bytes: int, hash_count: int = DEFAULT_HASH_COUNT) -> list[int]:
    """The bits an item sets: cyrb53(item, seed=i) mod the bit count, for i in 0..hash_count-1."""
    bits = size_bytes * 8
    return [cyrb53(item, i) % bits for i in range(hash_count)]


def estimate_false_positive_rate(size_bytes: int, hash_count: int, item_count: float) -> float:
    """(1 - e^(-k n / m))^k for m = 8 x size_bytes bits, k hashes and n items."""
    bits = size_bytes * 8
    return float((1 - math.exp(-hash_count * item_count / bits)) ** hash_count)


# ---------------------------------------------------------------------------------------------------------------------
# The signed filter
# ---------------------------------------------------------------------------------------------------------------------


def _invalid(message: str) -> InvalidArgument:
    return InvalidArgument(f"reputation filter rejected: {message}", Reason.INVALID_PAYLOAD)


def _bad_signature(message: str) -> Unauthenticated:
    return Unauthenticated(f"reputation filter rejected: {message}", Reason.SIGNATURE_INVALID)


def filter_key(capability: str, tier: Tier) -> str:
    return f"{capability}:{tier}"


@dataclass(frozen=True)
class ReputationFilter:
    """Upstream `ReputationBloomFilter`. `filter` holds the bits; timestamps are epoch milliseconds."""

    capability: str
    tier: Tier
    min_reputation: int
    filter: bytes
    peer_count: int
    created_at: int | float
    created_by: str
    signature: bytes | None = field(default=None, repr=False)
    public_key: bytes | None = field(default=None, repr=False)

    @property
    def key(self) -> str:
        return filter_key(self.capability, self.tier)

    def signing_input(self) -> bytes:
        """Canonical JSON of every field but signature/publicKey, with `filter` as an array of byte values."""
        return canonical_json(self._signed_fields()).encode("utf-8")

    def _signed_fields(self) -> dict[str, Any]:
        return {
            "capability": self.capability,
            "tier": str(self.tier),
            "minReputation": self.min_reputation,
            "filter": list(self.filter),
            "peerCount": self.peer_count,
            "createdAt": self.created_at,
            "createdBy": self.created_by,
        }

    def to_json(self) -> str:
        """The `payload` string of a `reputation-filter` event, byte-for-byte upstream's serializeFilter: byte fields
        are JSON arrays of byte values, keys in upstream's order (capability ... createdBy, signature, publicKey)."""
        doc = self._signed_fields()
        if self.signature is not None:
            doc["signature"] = list(self.signature)
        if self.public_key is not None:
            doc["publicKey"] = list(self.public_key)
        return js_json(doc)

    @classmethod
    def from_json(cls, payload: str) -> ReputationFilter:
        """Decode a received payload. Checks shapes only; `verify_filter` checks the content and signature.
        Raises InvalidArgument(INVALID_PAYLOAD)."""
        try:
            doc = parse_json(payload)
        except (ValueError, RecursionError):
            raise _invalid("payload is not JSON") from None
        if not isinstance(doc, dict):
            raise _invalid("payload must be a JSON object")
        for key in ("capability", "tier", "createdBy"):
            if not isinstance(doc.get(key), str):
                raise _invalid(f"{key} must be a string")
        for key in ("minReputation", "peerCount", "createdAt"):
            value = doc.get(key)
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
                raise _invalid(f"{key} must be a number")
        try:
            tier = Tier(doc["tier"])
        except ValueError:
            raise _invalid(f"unknown tier {doc['tier']!r}") from None
        return cls(
            capability=doc["capability"],
            tier=tier,
            min_reputation=doc["minReputation"],
            filter=_bytes_field(doc.get("filter"), "filter"),
            peer_count=doc["peerCount"],
            created_at=doc["createdAt"],
            created_by=doc["createdBy"],
            signature=_optional_bytes(doc.get("signature"), "signature"),
            public_key=_optional_bytes(doc.get("publicKey"), "publicKey"),
        )


def _bytes_field(value: Any, name: str) -> bytes:
    """A byte array sent as a JSON array of 0..255 (upstream) or, leniently, as base64."""
    if isinstance(value, str):
        try:
            return base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise _invalid(f"{name} is not base64") from None
    if isinstance(value, list) and all(isinstance(b, int) and not isinstance(b, bool) and 0 <= b <= 255 for b in value):
        return bytes(value)
    raise _invalid(f"{name} must be an array of byte values")


def _optional_bytes(value: Any, name: str) -> bytes | None:
    return None if value is None else _bytes_field(value, name)


def new_filter(
    capability: str, tier: Tier, created_by: str, created_at: int, size_bytes: int = DEFAULT_FILTER_BYTES
) -> ReputationFilter:
    """An empty filter; its threshold is the tier's."""
    if not 0 < size_bytes <= MAX_FILTER_BYTES:
        raise InvalidArgument(f"a filter has 1 to {MAX_FILTER_BYTES} bytes, not {size_bytes}", Reason.INVALID_ARGUMENT)
    return ReputationFilter(capability, tier, TIER_THRESHOLDS[tier], bytes(size_bytes), 0, created_at, created_by)


def add_peer(bloom: ReputationFilter, peer_id: str, hash_count: int = DEFAULT_HASH_COUNT) -> ReputationFilter:
    """The filter with `peer_id` added; peerCount goes up by one (as upstream, even for a peer already in it)."""
    bits = bytearray(bloom.filter)
    for index in bit_indices(peer_id, len(bits), hash_count):
        bits[index // 8] |= 1 << (index % 8)
    return replace(bloom, filter=bytes(bits), peer_count=bloom.peer_count + 1, signature=None, public_key=None)


def might_contain(bloom: ReputationFilter, peer_id: str, hash_count: int = DEFAULT_HASH_COUNT) -> bool:
    """False means certainly absent; True means present or a false positive."""
    bits = bloom.filter
    return all(bits[i // 8] & (1 << (i % 8)) for i in bit_indices(peer_id, len(bits), hash_count))


def merge_filters(a: ReputationFilter, b: ReputationFilter) -> ReputationFilter:
    """Bitwise OR; peerCount summed; createdAt the later. Keeps `a`'s author and signature (as upstream), so a
    merged filter is local knowledge, never re-gossiped."""
    if a.capability != b.capability or a.tier != b.tier:
        raise InvalidArgument("cannot merge filters of different capability or tier", Reason.INVALID_ARGUMENT)
    if len(a.filter) != len(b.filter):
        raise InvalidArgument("cannot merge filters of different sizes", Reason.INVALID_ARGUMENT)
    merged = bytes(x | y for x, y in zip(a.filter, b.filter, strict=True))
    return replace(a, filter=merged, peer_count=a.peer_count + b.peer_count, created_at=max(a.created_at, b.created_at))


def sign_filter(bloom: ReputationFilter, signer: Signer) -> ReputationFilter:
    """The filter signed by its author."""
    if bloom.created_by != signer.peer_id:
        raise InvalidArgument("a reputation filter can only be signed by its author", Reason.SIGNATURE_INVALID)
    return replace(bloom, signature=signer.sign(bloom.signing_input()), public_key=signer.public_key)


def verify_filter(bloom: ReputationFilter, verifier: Verifier, expected_size: int = DEFAULT_FILTER_BYTES) -> None:
    """Every check a received filter passes before it is merged: our size, a known tier with its own threshold,
    sane counts, a valid Ed25519 signature by the key of `createdBy`.

    Raises InvalidArgument(INVALID_PAYLOAD) for content and Unauthenticated(SIGNATURE_INVALID) for the signature."""
    if len(bloom.filter) != expected_size or len(bloom.filter) > MAX_FILTER_BYTES:
        raise _invalid(f"size {len(bloom.filter)} bytes, expected {expected_size}")
    if bloom.tier not in TIER_THRESHOLDS:
        raise _invalid(f"unknown tier {bloom.tier!r}")
    if bloom.min_reputation != TIER_THRESHOLDS[bloom.tier]:
        raise _invalid(f"minReputation {bloom.min_reputation} is not the {bloom.tier} threshold")
    if isinstance(bloom.peer_count, bool) or not isinstance(bloom.peer_count, int) or bloom.peer_count < 0:
        raise _invalid("peerCount must be a non-negative integer")
    if not bloom.created_at > 0:
        raise _invalid("createdAt must be positive")
    if not bloom.created_by or not bloom.capability:
        raise _invalid("createdBy and capability must not be empty")
    if bloom.signature is None or bloom.public_key is None:
        raise _bad_signature("the filter is unsigned")
    if len(bloom.signature) != SIGNATURE_BYTES:
        raise _bad_signature(f"the signature has {len(bloom.signature)} bytes, not {SIGNATURE_BYTES}")
    try:
        author = verifier.peer_id_of(bloom.public_key)
    except ValueError:
        raise _bad_signature("the public key is not an Ed25519 key") from None
    if author != bloom.created_by:
        raise _bad_signature("the signing key does not belong to createdBy")
    if not verifier.verify(bloom.public_key, bloom.signing_input(), bloom.signature):
        raise _bad_signature("the signature does not verify")


# ---------------------------------------------------------------------------------------------------------------------
# The filters a node holds
# ---------------------------------------------------------------------------------------------------------------------


def build_local_filters(
    capabilities: Iterable[str],
    peer_scores: Mapping[str, float],
    created_by: str,
    created_at: int,
    size_bytes: int = DEFAULT_FILTER_BYTES,
    hash_count: int = DEFAULT_HASH_COUNT,
) -> dict[str, ReputationFilter]:
    """For each capability and tier, a filter of the peers whose score reaches the tier threshold, keyed
    "<capability>:<tier>". Empty filters are left out."""
    filters: dict[str, ReputationFilter] = {}
    for capability in dict.fromkeys(capabilities):
        for tier in TIERS:
            bloom = new_filter(capability, tier, created_by, created_at, size_bytes)
            for peer_id, score in peer_scores.items():
                if score >= TIER_THRESHOLDS[tier]:
                    bloom = add_peer(bloom, peer_id, hash_count)
            if bloom.peer_count > 0:
                filters[bloom.key] = bloom
    return filters


@dataclass
class FilterBook:
    """The node's own filters and the merged filters received from peers."""

    size_bytes: int = DEFAULT_FILTER_BYTES
    hash_count: int = DEFAULT_HASH_COUNT
    local: dict[str, ReputationFilter] = field(default_factory=dict)
    merged: dict[str, ReputationFilter] = field(default_factory=dict)

    def receive(self, bloom: ReputationFilter, verifier: Verifier) -> ReputationFilter:
        """Verify a gossiped filter and merge it into the one under the same key; returns the merged filter."""
        verify_filter(bloom, verifier, self.size_bytes)
        existing = self.merged.get(bloom.key)
        merged = bloom if existing is None else merge_filters(existing, bloom)
        self.merged[bloom.key] = merged
        return merged

    def holds(self, capability: str, tier: Tier, peer_id: str) -> bool:
        key = filter_key(capability, tier)
        return any(
            bloom is not None and might_contain(bloom, peer_id, self.hash_count)
            for bloom in (self.local.get(key), self.merged.get(key))
        )

    def find_candidates(
        self, capability: str, peer_ids: Sequence[str], preferred_tier: Tier | None = None
    ) -> list[tuple[str, Tier]]:
        """(peer id, best tier whose local or merged filter holds it), elite first. With `preferred_tier` only that
        tier is tested (`--bloom-tier`). Peers in no filter are left out."""
        tiers = (preferred_tier,) if preferred_tier is not None else TIERS
        found: list[tuple[str, Tier]] = []
        for peer_id in peer_ids:
            for tier in tiers:
                if self.holds(capability, tier, peer_id):
                    found.append((peer_id, tier))
                    break
        found.sort(key=lambda pair: TIERS.index(pair[1]))
        return found
