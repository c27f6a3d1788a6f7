"""Signed capability events on pubsub (upstream-ecco §4.4): announcements, requests and responses.

These events fill the peer cache the matcher reads, so an unsigned or forged one could make any peer claim any
capability, or speak for another peer. Each is signed exactly as upstream signs it, so TypeScript nodes accept
ours and we accept theirs: Ed25519 over the canonical JSON of a fixed field list (absent optional fields left
out), never of whatever else the event carries:

    capability-announcement   type, peerId, libp2pPeerId?, capabilities, timestamp
    capability-request        type, requestId, from, requiredCapabilities, preferredPeers?, timestamp
    capability-response       type, requestId, peerId, libp2pPeerId?, capabilities, timestamp

`signature`/`publicKey` are base64 (as in ecco.services.envelope). A receiver requires the signing key's peer id to
be `libp2pPeerId ?? peerId` (`from` for a request) and the timestamp to lie within the pubsub window
[now - 1 h, now + 5 min]. Fields outside the list are neither signed nor checked by upstream (its schema strips
them), which is where our one extension lives: `addresses`, where the peer listens, so a node that only heard of
it through gossip can dial it. They are appended after signing with their own signature, `addressesSignature`,
by the same key over `canonical({type: "ecco-addresses", event: <the event's signature>, addresses})`, which binds
them to this very event; a receiver uses them only when that signature verifies, and otherwise still accepts the
event (upstream never sends addresses). Events whose main signature covers `addresses` (Python nodes before this
rule) fail verification here exactly as they do upstream.

The wire key order is upstream's (its schema rebuilds events in that order), so our bytes equal upstream's for the
same key, clock and ids (tests/conformance).

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
from ecco.services.envelope import SIGNATURE_BYTES, canonical_json, check_freshness, js_json

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
MAX_ADDRESS_CHARS: Final = 512
SIGNED_FIELDS: Final[Mapping[str, tuple[str, ...]]] = {
    ANNOUNCEMENT: ("type", "peerId", "libp2pPeerId", "capabilities", "timestamp"),
    REQUEST: ("type", "requestId", "from", "requiredCapabilities", "preferredPeers", "timestamp"),
    RESPONSE: ("type", "requestId", "peerId", "libp2pPeerId", "capabilities", "timestamp"),
}
"""Upstream's signed fields per event, in upstream's wire order (its zod schema's)."""
ADDRESSES_TAG: Final = "ecco-addresses"
_CAPABILITY_ORDER = ("type", "name", "version", "metadata")


@dataclass(frozen=True)
class CapabilityAnnouncement:
    peer_id: str
    capabilities: tuple[dict[str, Any], ...]
    timestamp: int | float
    """Epoch milliseconds."""
    libp2p_peer_id: str | None = None
    addresses: tuple[str, ...] = ()
    """Our extension: where the peer listens, so a node that only heard it through gossip can dial it. Outside the
    upstream signature, under its own (`addressesSignature`); upstream receivers ignore both."""

    @property
    def signer_id(self) -> str:
        """The peer whose key must sign the event, and the peer-cache key the capabilities belong to."""
        return self.libp2p_peer_id or self.peer_id

    def to_dict(self) -> dict[str, Any]:
        """The signed fields, in upstream's wire order."""
        doc: dict[str, Any] = {"type": ANNOUNCEMENT, "peerId": self.peer_id}
        if self.libp2p_peer_id is not None:
            doc["libp2pPeerId"] = self.libp2p_peer_id
        doc["capabilities"] = [wire_capability(c) for c in self.capabilities]
        doc["timestamp"] = self.timestamp
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

    @property
    def addresses(self) -> tuple[str, ...]:
        return ()

    def to_dict(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"type": REQUEST, "requestId": self.request_id, "from": self.from_}
        query = self.query.to_dict()
        doc["requiredCapabilities"] = [wire_capability(r) for r in query["requiredCapabilities"]]
        if "preferredPeers" in query:
            doc["preferredPeers"] = query["preferredPeers"]
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
        doc: dict[str, Any] = {"type": RESPONSE, "requestId": self.request_id, "peerId": self.peer_id}
        if self.libp2p_peer_id is not None:
            doc["libp2pPeerId"] = self.libp2p_peer_id
        doc["capabilities"] = [wire_capability(c) for c in self.capabilities]
        doc["timestamp"] = self.timestamp
        return doc


CapabilityEvent = CapabilityAnnouncement | CapabilityRequest | CapabilityResponse


def wire_capability(capability: Mapping[str, Any]) -> dict[str, Any]:
    """A capability (or a query's partial one) with upstream's key order: type, name, version, metadata, then the
    rest. Only the order changes (the signature covers sorted keys anyway); this makes our wire bytes upstream's."""
    ordered = {key: capability[key] for key in _CAPABILITY_ORDER if key in capability}
    return {**ordered, **capability}


# ---------------------------------------------------------------------------------------------------------------------
# Building (our own events)
# ---------------------------------------------------------------------------------------------------------------------


def _normalised(raw: Any, source: str) -> dict[str, Any]:
    """validate_capability's normal form, keeping extra keys (provider, model, ...) that upstream capabilities carry."""
    checked = validate_capability(raw, source)  # first: it refuses non-objects
    return {**raw, **checked}


def _own_capability(raw: Any, source: str) -> dict[str, Any]:
    """One of our capabilities as we announce it: validated and normalised, except that an empty `metadata` the
    capability never had is not added (upstream announces `{type, name, version}` as is)."""
    capability = _normalised(raw, source)
    if not capability["metadata"] and "metadata" not in raw:
        del capability["metadata"]
    return capability


def _own_capabilities(capabilities: Iterable[Mapping[str, Any]]) -> tuple[dict[str, Any], ...]:
    checked = tuple(_own_capability(capability, f"capabilities[{i}]") for i, capability in enumerate(capabilities))
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
    """The bytes an event's signature covers (upstream's rule): canonical JSON of the event's fixed field list,
    fields absent from `doc` left out; anything else in `doc` is not covered."""
    fields = SIGNED_FIELDS.get(doc.get("type"))  # type: ignore[call-overload]
    if fields is None:
        raise InvalidArgument(f"{doc.get('type')!r} is not a capability event", Reason.INVALID_MESSAGE_TYPE)
    try:
        return canonical_json({k: doc[k] for k in fields if k in doc}).encode("utf-8")
    except (TypeError, ValueError, RecursionError) as exc:
        raise _invalid(f"the event is not valid JSON: {exc}") from None


def addresses_signing_input(event_signature: str, addresses: Sequence[str]) -> bytes:
    """The bytes `addressesSignature` covers: the addresses bound to the event's own signature (so they cannot be
    replayed onto another event), tagged so the signature cannot pass for any other signed object."""
    return canonical_json({"type": ADDRESSES_TAG, "event": event_signature, "addresses": list(addresses)}).encode()


def sign_event(event: CapabilityEvent, signer: Signer) -> dict[str, Any]:
    """The wire form of `event`: its signed fields, `signature` and `publicKey`, then (when it has addresses)
    `addresses` and `addressesSignature`, in that order, as the upstream control vector places extra fields.
    The signer must be the event's peer."""
    if event.signer_id != signer.peer_id:
        raise InvalidArgument("a capability event can only be signed by its own peer", Reason.SIGNATURE_INVALID)
    doc = event.to_dict()
    signature = _b64(signer.sign(signing_input(doc)))
    doc["signature"] = signature
    doc["publicKey"] = _b64(signer.public_key)
    if event.addresses:
        doc["addresses"] = list(event.addresses)
        doc["addressesSignature"] = _b64(signer.sign(addresses_signing_input(signature, event.addresses)))
    return doc


def wire_json(doc: Mapping[str, Any]) -> bytes:
    """The gossip payload for a signed event: JSON.stringify of `doc` in its (upstream) key order."""
    return js_json(dict(doc)).encode("utf-8")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


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


def _decode_b64(value: Any) -> bytes | None:
    if not isinstance(value, str):
        return None
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return None


def verify_signature(doc: Mapping[str, Any], signer_id: str, verifier: Verifier) -> bytes:
    """Check that `doc` is signed by the key of `signer_id` (upstream's rule, see `signing_input`); returns that
    raw public key. Raises Unauthenticated(SIGNATURE_INVALID)."""
    signature_b64, public_key_b64 = doc.get("signature"), doc.get("publicKey")
    if not signature_b64 or not public_key_b64:
        raise _bad_signature("the event is unsigned")
    if not isinstance(signature_b64, str) or not isinstance(public_key_b64, str):
        raise _bad_signature("signature and publicKey must be base64 strings")
    signature, public_key = _decode_b64(signature_b64), _decode_b64(public_key_b64)
    if signature is None or public_key is None:
        raise _bad_signature("signature or public key is not base64")
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
    return public_key


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
    wire form, which `doc` still holds), and with the addresses only if their own signature verifies.

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
    public_key = verify_signature(doc, libp2p_peer_id or peer_id, verifier)
    capabilities = _received_capabilities(doc)
    addresses = signed_addresses(doc, public_key, verifier)
    if kind == ANNOUNCEMENT:
        return CapabilityAnnouncement(peer_id, capabilities, timestamp, libp2p_peer_id, addresses)
    return CapabilityResponse(request_id, peer_id, capabilities, timestamp, libp2p_peer_id, addresses)


def signed_addresses(doc: Mapping[str, Any], public_key: bytes, verifier: Verifier) -> tuple[str, ...]:
    """The `addresses` extension of an event whose main signature `public_key` verified: used only when
    `addressesSignature` by that key verifies over them; otherwise (absent, malformed, forged) none, not an error,
    since the event itself is authentic. At most MAX_ADDRESSES are kept."""
    raw, signature = doc.get("addresses"), _decode_b64(doc.get("addressesSignature"))
    if not isinstance(raw, list) or signature is None or not isinstance(doc.get("signature"), str):
        return ()
    if not all(isinstance(a, str) and 0 < len(a) <= MAX_ADDRESS_CHARS for a in raw):
        return ()
    if not verifier.verify(public_key, addresses_signing_input(doc["signature"], raw), signature):
        return ()
    return tuple(raw[:MAX_ADDRESSES])


def _request_id(doc: Mapping[str, Any]) -> str:
    request_id = _string(doc, "requestId")
    if len(request_id) > MAX_REQUEST_ID_CHARS:
        raise _invalid(f"'requestId' is longer than {MAX_REQUEST_ID_CHARS} characters")
    return request_id
