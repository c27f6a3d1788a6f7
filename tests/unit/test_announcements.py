"""Signed capability events (upstream-ecco §4.4): building, signing and every check on receipt.

The expected signature was produced by Node.js (crypto.sign with the same Ed25519 seed over JSON.stringify of the
key-sorted event), so a TypeScript peer computes the same bytes."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from ecco.errors import FailedPrecondition, InvalidArgument, Reason, Unauthenticated
from ecco.services.discovery import announcements
from ecco.services.discovery.announcements import (
    CapabilityAnnouncement,
    CapabilityRequest,
    CapabilityResponse,
    accept_event,
    sign_event,
    signing_input,
)
from ecco.services.discovery.matching import CapabilityQuery
from ecco.services.envelope import canonical_json
from ecco.transport.keys import Ed25519Signer, Ed25519Verifier

SEED = bytes(range(32))
SEED_PEER = "12D3KooWA4Xop1JaT3MHxwYMkCepYsv4iPVopMXwCz5iHYdBfeSB"
SEED_PUBLIC_B64 = "A6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg="
NOW = 1_700_000_000_000
HOUR = 3_600_000
FIVE_MINUTES = 300_000
NODE_SIGNATURE = "KVlduwEZwSYGWBzE7NvWnpDqCur8hk7P1mifg9N+gSfGO6bol0E0NsN/7vn85WWdZ9KM0i9Vh3lPm3lve31FBQ=="

signer = Ed25519Signer(SEED)
other = Ed25519Signer(bytes([7] * 32))
verifier = Ed25519Verifier()


def signed_announcement(**overrides: Any) -> dict[str, Any]:
    return {**announcements.announcement(signer, [{"name": "code-review", "features": ["py"]}], NOW), **overrides}


def reject(doc: Any, now: int = NOW) -> Exception:
    with pytest.raises((InvalidArgument, Unauthenticated, FailedPrecondition)) as info:
        accept_event(doc, verifier, now)
    return info.value


def test_announcement_is_signed_over_canonical_json_like_upstream() -> None:
    doc = signed_announcement()
    assert signing_input(doc).decode() == (
        '{"capabilities":[{"features":["py"],"metadata":{"features":["py"]},"name":"code-review","type":"agent",'
        f'"version":"1.0.0"}}],"libp2pPeerId":"{SEED_PEER}","peerId":"{SEED_PEER}","timestamp":1700000000000,'
        '"type":"capability-announcement"}'
    )
    assert doc["signature"] == NODE_SIGNATURE
    assert doc["publicKey"] == SEED_PUBLIC_B64


def test_announcement_round_trip() -> None:
    event = accept_event(signed_announcement(), verifier, NOW)
    assert isinstance(event, CapabilityAnnouncement)
    assert event.peer_id == event.libp2p_peer_id == event.signer_id == SEED_PEER
    assert event.timestamp == NOW
    assert event.capabilities == (
        {
            "name": "code-review",
            "features": ["py"],
            "type": "agent",
            "version": "1.0.0",
            "metadata": {"features": ["py"]},
        },
    )


def test_received_capabilities_are_normalised_and_keep_extra_keys() -> None:
    event = CapabilityAnnouncement(SEED_PEER, ({"name": "bge", "type": "embedding", "provider": "self"},), NOW)
    accepted = accept_event(sign_event(event, signer), verifier, NOW)
    assert isinstance(accepted, CapabilityAnnouncement)
    assert accepted.capabilities == (
        {"name": "bge", "type": "embedding", "version": "1.0.0", "provider": "self", "metadata": {}},
    )


def test_libp2p_peer_id_is_the_signer_when_present() -> None:
    """Upstream nodes may announce an application id in peerId and their libp2p id in libp2pPeerId."""
    event = CapabilityAnnouncement("agent-alice", ({"name": "r"},), NOW, libp2p_peer_id=SEED_PEER)
    accepted = accept_event(sign_event(event, signer), verifier, NOW)
    assert isinstance(accepted, CapabilityAnnouncement) and accepted.signer_id == SEED_PEER
    forged = CapabilityAnnouncement(SEED_PEER, ({"name": "r"},), NOW, libp2p_peer_id=other.peer_id)
    with pytest.raises(InvalidArgument) as info:
        sign_event(forged, signer)
    assert info.value.reason == Reason.SIGNATURE_INVALID


def test_request_round_trip() -> None:
    query = CapabilityQuery.from_flags("review", type="agent", features=["py"], preferred=["b"])
    doc = announcements.request(signer, query, "req-1", NOW)
    assert doc["from"] == SEED_PEER
    assert doc["requiredCapabilities"] == [{"name": "review", "type": "agent", "metadata": {"features": ["py"]}}]
    assert doc["preferredPeers"] == ["b"]
    event = accept_event(doc, verifier, NOW)
    assert event == CapabilityRequest("req-1", SEED_PEER, query, NOW)


def test_request_from_someone_else_is_rejected() -> None:
    doc = announcements.request(signer, CapabilityQuery.from_flags("review"), "req-1", NOW)
    doc["from"] = other.peer_id
    error = reject(doc)
    assert isinstance(error, Unauthenticated) and error.reason == Reason.SIGNATURE_INVALID


def test_request_with_a_bad_requirement_is_rejected() -> None:
    event = CapabilityRequest("r", SEED_PEER, CapabilityQuery(({"version": "one"},)), NOW)
    error = reject(sign_event(event, signer))
    assert error.reason == Reason.INVALID_CAPABILITY  # type: ignore[attr-defined]


def test_response_round_trip() -> None:
    doc = announcements.response(signer, "req-1", [{"name": "review"}], NOW)
    event = accept_event(doc, verifier, NOW)
    assert isinstance(event, CapabilityResponse)
    assert (event.request_id, event.peer_id, event.libp2p_peer_id) == ("req-1", SEED_PEER, SEED_PEER)
    assert event.capabilities[0]["name"] == "review"
    assert event.addresses == ()


def test_a_response_carries_signed_addresses_so_the_querier_can_dial_the_responder() -> None:
    addr = f"/ip4/127.0.0.1/tcp/4001/p2p/{SEED_PEER}"
    doc = announcements.response(signer, "req-2", [{"name": "review"}], NOW, [addr])
    event = accept_event(doc, verifier, NOW)
    assert isinstance(event, CapabilityResponse) and event.addresses == (addr,)
    # The addresses are outside upstream's signed fields, under their own signature: changed, they are dropped
    # while the (authentic) response is still accepted.
    assert accept_event({**doc, "addresses": ["/ip4/10.0.0.1/tcp/1"]}, verifier, NOW).addresses == ()


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"signature": None, "publicKey": None}, "unsigned"),
        ({"signature": None}, "unsigned"),
        ({"signature": "not base64!"}, "base64"),
        ({"signature": base64.b64encode(bytes(63)).decode()}, "63 bytes"),
        ({"publicKey": base64.b64encode(bytes(31)).decode()}, "not an Ed25519 key"),
        ({"publicKey": base64.b64encode(other.public_key).decode()}, "does not belong"),
        ({"timestamp": NOW + 1}, "does not verify"),
        ({"capabilities": [{"name": "other"}]}, "does not verify"),
        ({"libp2pPeerId": "12D3KooWRawPbxPtP1eZaJpumGnyWX2DcUyd3RQnydr3eAto4Az7"}, "does not belong"),
    ],
)
def test_tampered_or_unsigned_events_are_rejected(change: dict[str, Any], problem: str) -> None:
    doc = {k: v for k, v in {**signed_announcement(), **change}.items() if v is not None}
    error = reject(doc)
    assert isinstance(error, Unauthenticated)
    assert error.reason == Reason.SIGNATURE_INVALID
    assert problem in error.message


def test_unknown_top_level_fields_are_neither_signed_nor_fatal() -> None:
    """Upstream's rule: only the fixed field list is signed; anything else (a newer node's extension) is ignored."""
    doc = signed_announcement(future={"x": 1})
    assert b"future" not in signing_input(doc)
    assert isinstance(accept_event(doc, verifier, NOW), CapabilityAnnouncement)


def test_a_signature_over_every_field_fails_like_upstream() -> None:
    """Python nodes before the upstream rule signed every field, addresses included; such events fail here exactly
    as on an upstream node (the conformance vectors' negative case)."""
    doc = CapabilityAnnouncement(SEED_PEER, ({"name": "r"},), NOW, SEED_PEER).to_dict()
    doc["addresses"] = [f"/ip4/127.0.0.1/tcp/4001/p2p/{SEED_PEER}"]
    doc["signature"] = base64.b64encode(signer.sign(canonical_json(doc).encode())).decode()
    doc["publicKey"] = SEED_PUBLIC_B64
    assert isinstance(reject(doc), Unauthenticated)


@pytest.mark.parametrize(
    ("timestamp", "fresh"),
    [
        (NOW - HOUR, True),
        (NOW - HOUR - 1, False),
        (NOW + FIVE_MINUTES, True),
        (NOW + FIVE_MINUTES + 1, False),
    ],
)
def test_pubsub_freshness_window(timestamp: int, fresh: bool) -> None:
    doc = announcements.announcement(signer, [{"name": "r"}], timestamp)
    if fresh:
        accept_event(doc, verifier, NOW)
    else:
        error = reject(doc)
        assert isinstance(error, FailedPrecondition) and error.reason == Reason.MESSAGE_STALE


def test_freshness_is_checked_before_the_signature() -> None:
    doc = {**announcements.announcement(signer, [{"name": "r"}], NOW - 2 * HOUR), "signature": None}
    assert reject(doc).reason == Reason.MESSAGE_STALE  # type: ignore[attr-defined]


ANNOUNCE = {"type": "capability-announcement", "peerId": "p", "capabilities": [], "timestamp": NOW}


@pytest.mark.parametrize(
    ("doc", "reason"),
    [
        ("text", Reason.INVALID_PAYLOAD),
        ({"type": "peer-discovered"}, Reason.INVALID_MESSAGE_TYPE),
        ({**ANNOUNCE, "timestamp": None}, Reason.INVALID_PAYLOAD),
        ({**ANNOUNCE, "timestamp": True}, Reason.INVALID_PAYLOAD),
        ({**ANNOUNCE, "peerId": None}, Reason.INVALID_PAYLOAD),
        ({**ANNOUNCE, "peerId": ""}, Reason.INVALID_PAYLOAD),
        ({**ANNOUNCE, "libp2pPeerId": 7}, Reason.INVALID_PAYLOAD),
        ({**ANNOUNCE, "capabilities": {}}, Reason.INVALID_PAYLOAD),
        ({**ANNOUNCE, "type": "capability-response"}, Reason.INVALID_PAYLOAD),  # no requestId
        ({"type": "capability-request", "requestId": "r" * 257, "from": "p", "timestamp": NOW}, Reason.INVALID_PAYLOAD),
        ({"type": "capability-request", "requestId": "r", "timestamp": NOW}, Reason.INVALID_PAYLOAD),
    ],
)
def test_malformed_events_are_rejected(doc: Any, reason: Reason) -> None:
    error = reject(doc)
    assert isinstance(error, InvalidArgument) and error.reason == reason


@pytest.mark.parametrize("capability", [{"name": "r", "version": "1.0"}, "review", {"name": ""}])
def test_invalid_capability_in_a_signed_event_is_rejected(capability: Any) -> None:
    doc = CapabilityAnnouncement(SEED_PEER, ({"name": "ok"},), NOW).to_dict()
    doc["capabilities"].append(capability)
    doc["signature"] = base64.b64encode(signer.sign(signing_input(doc))).decode()
    doc["publicKey"] = SEED_PUBLIC_B64
    error = reject(doc)
    assert isinstance(error, InvalidArgument) and error.reason == Reason.INVALID_CAPABILITY
    assert "capability-announcement.capabilities[1]" in error.message


def test_at_most_50_capabilities() -> None:
    many = [{"name": f"cap-{i}"} for i in range(51)]
    with pytest.raises(InvalidArgument) as info:
        announcements.announcement(signer, many, NOW)
    assert info.value.reason == Reason.INVALID_CAPABILITY and info.value.field == "capabilities"
    assert len(announcements.announcement(signer, many[:50], NOW)["capabilities"]) == 50
    # A peer that sends more keeps its first 50 (the signature covers all of them).
    event = CapabilityAnnouncement(SEED_PEER, (*many, {"name": "x", "version": "bad"}), NOW)
    accepted = accept_event(sign_event(event, signer), verifier, NOW)
    assert isinstance(accepted, CapabilityAnnouncement)
    assert [c["name"] for c in accepted.capabilities] == [f"cap-{i}" for i in range(50)]


def test_our_invalid_capability_is_refused_when_building() -> None:
    with pytest.raises(InvalidArgument) as info:
        announcements.announcement(signer, [{"name": ""}], NOW)
    assert info.value.reason == Reason.INVALID_CAPABILITY


def test_topics() -> None:
    assert announcements.TOPICS == {
        "capability-announcement": "ecco:capabilities",
        "capability-request": "ecco:capability-request",
        "capability-response": "ecco:capability-response",
    }
