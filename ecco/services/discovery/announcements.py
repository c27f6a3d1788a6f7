"""Signed capability events on pubsub (upstream-ecco §4.4): announcements, requests and responses.

These events fill the peer cache the matcher reads, so an unsigned or forged one could make any peer claim any
capability, or speak for another peer. Each is signed with Ed25519 over the canonical JSON of all its fields
except `signature`/`publicKey` (both base64, as in ecco.services.envelope), and a receiver requires the signing
key's peer id to be `libp2pPeerId ?? peerId` (`from` for a request) and the timestamp to lie within the pubsub
window [now - 1 h, now + 5 min].

    {type:'capability-announcement', peerId, libp2pPeerId?, capabilities, timestamp, signature, publicKey}
    {type:'capability-request', requestId, from, requiredCapabilities, preferredPeers?, timestamp, signature, publicKey}
    {type:'capability-response', requestId, peerId, libp2pPeerId?, capabilities, timestamp, signature, publicKey}

Pure logic: no I/O; signatures go through the ports in ecco.services.crypto_ports.
"""

from __future__ import annotations

import base64
import binascii
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from ecco.errors import InvalidArgument, Reason, Unauthenticated
from ecco.services.crypto_ports import Signer, Verifier
from ecco.services.discovery.capabilities import validate_capability
from ecco.services.discovery.matching import CapabilityQuery
from ecco.services.envelope import SIGNATURE_BYTES, canonical_json, check_freshness

ANNOUNCEMENT: Final = "capability-announcement"
REQUEST: Final = "capability-request"
RESPONSE: Final = "capability-response"
TOPICS: Final[Mapping[str, str]] = {
    ANNOUNCEMENT: "ecco:capabilities",
    REQUEST: "ecco:capability-request",
    RESPONSE: "ecco:capability-response",
}
MAX_CAPABILITIES: Final = 50
MAX_ADDRESSES: Final = 16
"""Per peer. We refuse to announce more; of a received list only the first 50 are kept."""
PUBSUB_MAX_AGE_MS: Final = 3_600_000
PUBSUB_MAX_SKEW_MS: Final = 300_000
MAX_REQUEST_ID_CHARS: Final = 256
_UNSIGNED_FIELDS = ("signature", "publicKey")


@dataclass(frozen=True)
class CapabilityAnnouncement:
    peer_id: str
    capabilities: tuple[dict[str, Any], ...]
    timestamp: int | float
    """Epoch milliseconds."""
    libp2p_peer_id: str | None = None
    addresses: tuple[str, ...] = ()
    """Our extension: where the peer listens, so a node that only heard it through gossip can dial it. Covered
    by the signature like every field; upstream receivers ignore it."""

    @property
    def signer_id(self) -> str:
        """The peer whose key must sign the event, and the peer-cache key the capabilities belong to."""
        return self.libp2p_peer_id or self.peer_id

    def to_dict(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "type": ANNOUNCEMENT,
            "peerId": self.peer_id,
            "capabilities": [dict(c) for c in self.capabilities],
            "timestamp": self.timestamp,
        }
        if self.libp2p_peer_id is not None:
            doc["libp2pPeerId"] = self.libp2p_peer_id
        if self.addresses:
            doc["addresses"] = list(self.addresses)
        return doc


@dataclass(frozen=True)
class CapabilityRequest:
    request_id: str
    from_: str
    query: CapabilityQuery
    timestamp: int | float

    @property
    def signer_id(self) -> str:
        return self.from_

    def to_dict(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"type": REQUEST, "requestId": self.request_id, "from": self.from_}
        doc.update(self.query.to_dict())
        doc["timestamp"] = self.timestamp
        return doc


@dataclass(frozen=True)
class CapabilityResponse:
    request_id: str
    peer_id: str
    capabilities: tuple[dict[str, Any], ...]
    timestamp: int | float
    libp2p_peer_id: str | None = None
    addresses: tuple[str, ...] = ()
    """The same extension as in announcements: a querier that hears the answer through gossip can dial us."""

    @property
    def signer_id(self) -> str:
        return self.libp2p_peer_id or self.peer_id

    def to_dict(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "type": RESPONSE,
            "requestId": self.request_id,
            "peerId": self.peer_id,
            "capabilities": [dict(c) for c in self.capabilities],
            "timestamp": self.timestamp,
        }
        if self.libp2p_peer_id is not None:
            doc["libp2pPeerId"] = self.libp2p_peer_id
        if self.addresses:
            doc["addresses"] = list(self.addresses)
        return doc


CapabilityEvent = CapabilityAnnouncement | CapabilityRequest | CapabilityResponse


# ---------------------------------------------------------------------------------------------------------------------
# Building (our own events)
# ---------------------------------------------------------------------------------------------------------------------


def _normalised(raw: Any, source: str) -> dict[str, Any]:
    """validate_capability's normal form, keeping extra keys (provider, model, ...) that upstream capabilities carry."""
    checked = validate_capability(raw, source)  # first: it refuses non-objects
    return {**raw, **checked}


def _own_capabilities(capabilities: Iterable[Mapping[str, Any]]) -> tuple[dict[str, Any], ...]:
    checked = tuple(_normalised(capability, f"capabilities[{i}]") for i, capability in enumerate(capabilities))
    if len(checked) > MAX_CAPABILITIES:
        raise InvalidArgument(
            f"a peer announces at most {MAX_CAPABILITIES} capabilities, not {len(checked)}",
            Reason.INVALID_CAPABILITY,
            field="capabilities",
        )
    return checked


def announcement(
    signer: Signer, capabilities: Iterable[Mapping[str, Any]], now_ms: int, addresses: Sequence[str] = ()
) -> dict[str, Any]:
    """Our signed `capability-announcement`, ready to publish on `ecco:capabilities`."""
    event = CapabilityAnnouncement(
        signer.peer_id, _own_capabilities(capabilities), now_ms, signer.peer_id, tuple(addresses[:MAX_ADDRESSES])
    )
    return sign_event(event, signer)


def request(signer: Signer, query: CapabilityQuery, request_id: str, now_ms: int) -> dict[str, Any]:
    """Our signed `capability-request` for `query`, ready to publish on `ecco:capability-request`."""
    return sign_event(CapabilityRequest(request_id, signer.peer_id, query, now_ms), signer)


def response(
    signer: Signer,
    request_id: str,
    capabilities: Iterable[Mapping[str, Any]],
    now_ms: int,
    addresses: Sequence[str] = (),
) -> dict[str, Any]:
    """Our signed `capability-response` to a request we match."""
    event = CapabilityResponse(
        request_id,
        signer.peer_id,
        _own_capabilities(capabilities),
        now_ms,
        signer.peer_id,
        tuple(addresses[:MAX_ADDRESSES]),
    )
    return sign_event(event, signer)


def signing_input(doc: Mapping[str, Any]) -> bytes:
    """The bytes an event's signature covers: canonical JSON of every field except signature and publicKey."""
    try:
        return canonical_json({k: v for k, v in doc.items() if k not in _UNSIGNED_FIELDS}).encode("utf-8")
    except (TypeError, ValueError, RecursionError) as exc:
        raise _invalid(f"the event is not valid JSON: {exc}") from None


def sign_event(event: CapabilityEvent, signer: Signer) -> dict[str, Any]:
    """The wire form of `event` with `signature` and `publicKey` added; the signer must be the event's peer."""
    if event.signer_id != signer.peer_id:
        raise InvalidArgument("a capability event can only be signed by its own peer", Reason.SIGNATURE_INVALID)
    doc = event.to_dict()
    doc["signature"] = base64.b64encode(signer.sign(signing_input(doc))).decode("ascii")
    doc["publicKey"] = base64.b64encode(signer.public_key).decode("ascii")
    return doc


# ---------------------------------------------------------------------------------------------------------------------
# Receiving
# ---------------------------------------------------------------------------------------------------------------------


def _invalid(message: str) -> InvalidArgument:
    return InvalidArgument(f"capability event rejected: {message}", Reason.INVALID_PAYLOAD)


def _bad_signature(message: str) -> Unauthenticated:
    return Unauthenticated(f"capability event rejected: {message}", Reason.SIGNATURE_INVALID)


def _string(doc: Mapping[str, Any], key: str) -> str:
    value = doc.get(key)
    if not isinstance(value, str) or not value:
        raise _invalid(f"{key!r} must be a non-empty string")
    return value


def _optional_string(doc: Mapping[str, Any], key: str) -> str | None:
    return None if doc.get(key) is None else _string(doc, key)


def _timestamp(doc: Mapping[str, Any]) -> int | float:
    value = doc.get("timestamp")
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _invalid("'timestamp' must be a number of epoch milliseconds")
    return value


def _received_capabilities(doc: Mapping[str, Any]) -> tuple[dict[str, Any], ...]:
    raw = doc.get("capabilities")
    if not isinstance(raw, list):
        raise _invalid("'capabilities' must be a list")
    kind = doc.get("type")
    return tuple(_normalised(item, f"{kind}.capabilities[{i}]") for i, item in enumerate(raw[:MAX_CAPABILITIES]))


def verify_signature(doc: Mapping[str, Any], signer_id: str, verifier: Verifier) -> None:
    """Check that `doc` is signed by the key of `signer_id`. Raises Unauthenticated(SIGNATURE_INVALID)."""
    signature_b64, public_key_b64 = doc.get("signature"), doc.get("publicKey")
    if not signature_b64 or not public_key_b64:
        raise _bad_signature("the event is unsigned")
    if not isinstance(signature_b64, str) or not isinstance(public_key_b64, str):
        raise _bad_signature("signature and publicKey must be base64 strings")
    try:
        signature = base64.b64decode(signature_b64, validate=True)
        public_key = base64.b64decode(public_key_b64, validate=True)
    except (binascii.Error, ValueError):
        raise _bad_signature("signature or public key is not base64") from None
    if len(signature) != SIGNATURE_BYTES:
        raise _bad_signature(f"the signature has {len(signature)} bytes, not {SIGNATURE_BYTES}")
    try:
        owner = verifier.peer_id_of(public_key)
    except ValueError:
        raise _bad_signature("the public key is not an Ed25519 key") from None
    if owner != signer_id:
        raise _bad_signature(f"the signing key does not belong to {signer_id}")
    if not verifier.verify(public_key, signing_input(doc), signature):
        raise _bad_signature("the signature does not verify")


def accept_event(
    doc: Any,
    verifier: Verifier,
    now_ms: int,
    *,
    max_age_ms: int = PUBSUB_MAX_AGE_MS,
    max_skew_ms: int = PUBSUB_MAX_SKEW_MS,
) -> CapabilityEvent:
    """Decode and check a received capability event, cheapest check first: shape, freshness, signature,
    capability validity. Returns the typed event with capabilities normalised (the signature covered the
    wire form, which `doc` still holds).

    Raises InvalidArgument (INVALID_MESSAGE_TYPE, INVALID_PAYLOAD, INVALID_CAPABILITY), FailedPrecondition
    (MESSAGE_STALE) or Unauthenticated (SIGNATURE_INVALID)."""
    if not isinstance(doc, Mapping):
        raise _invalid("an event must be a JSON object")
    kind = doc.get("type")
    if kind not in TOPICS:
        raise InvalidArgument(f"{kind!r} is not a capability event", Reason.INVALID_MESSAGE_TYPE)
    timestamp = _timestamp(doc)
    if kind == REQUEST:
        request_id, sender = _request_id(doc), _string(doc, "from")
        check_freshness(timestamp, now_ms, max_age_ms, max_skew_ms)
        verify_signature(doc, sender, verifier)
        return CapabilityRequest(request_id, sender, CapabilityQuery.from_raw(doc, field=REQUEST), timestamp)
    peer_id, libp2p_peer_id = _string(doc, "peerId"), _optional_string(doc, "libp2pPeerId")
    request_id = _request_id(doc) if kind == RESPONSE else ""
    if not isinstance(doc.get("capabilities"), list):
        raise _invalid("'capabilities' must be a list")
    check_freshness(timestamp, now_ms, max_age_ms, max_skew_ms)
    verify_signature(doc, libp2p_peer_id or peer_id, verifier)
    capabilities = _received_capabilities(doc)
    if kind == ANNOUNCEMENT:
        return CapabilityAnnouncement(peer_id, capabilities, timestamp, libp2p_peer_id, _addresses(doc))
    return CapabilityResponse(request_id, peer_id, capabilities, timestamp, libp2p_peer_id, _addresses(doc))


def _addresses(doc: Mapping[str, Any]) -> tuple[str, ...]:
    """The optional `addresses` extension: at most MAX_ADDRESSES strings; anything else is ignored, not fatal."""
    raw = doc.get("addresses")
    if not isinstance(raw, list):
        return ()
    return tuple(a for a in raw[:MAX_ADDRESSES] if isinstance(a, str) and len(a) <= 512)


def _request_id(doc: Mapping[str, Any]) -> str:
    request_id = _string(doc, "requestId")
    if len(request_id) > MAX_REQUEST_ID_CHARS:
        raise _invalid(f"'requestId' is longer than {MAX_REQUEST_ID_CHARS} characters")
    return request_id
