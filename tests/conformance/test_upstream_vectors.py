"""Conformance with the TypeScript upstream, over every golden vector in tests/conformance/vectors (a byte-identical
copy of /work/shared/reference/vectors, produced by upstream's own code with fixed keys, clock and ids).

For each vector our code builds the same object from the same key, clock and ids and must produce the same bytes
(canonical JSON, signature, gossip payload or direct-stream frame), and our verifiers must accept it. The negative
vector (`addresses` under the signature) must be rejected and its control accepted. Finally the upstream rule itself
(strip to the field list, canonical JSON, Ed25519), written out here independently of ecco.services.discovery, is
applied to a Python node's own capability events, addresses included."""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from libp2p.crypto.ed25519 import Ed25519PublicKey as Libp2pEd25519PublicKey
from libp2p.peer.id import ID

from ecco.errors import Unauthenticated
from ecco.identity import load_or_create
from ecco.parsing import Tier
from ecco.services import envelope
from ecco.services.discovery import announcements, bloom
from ecco.services.discovery.announcements import (
    CapabilityAnnouncement,
    CapabilityRequest,
    CapabilityResponse,
    accept_event,
)
from ecco.services.discovery.matching import CapabilityQuery
from ecco.services.envelope import (
    InboundGuard,
    Message,
    canonical_json,
    decode_frame,
    encode_frame,
    js_json,
    new_message,
    sign_message,
    verify_message,
)
from ecco.services.events.log import EventLog
from ecco.services.messaging import handshake, messenger, reply_content
from ecco.services.messaging.messenger import Messenger
from ecco.services.transport_port import ConnectedPeer
from ecco.transport.framing import framed
from ecco.transport.keys import Ed25519Signer, Ed25519Verifier
from tests.unit.conftest import FakeEventStore

VECTORS_FILE = Path(__file__).parent / "vectors" / "upstream-vectors.json"
DOC = json.loads(VECTORS_FILE.read_text(encoding="utf-8"))
VECTORS = {v["name"]: v for v in DOC["vectors"]}
KEYS = DOC["keys"]
A = Ed25519Signer(bytes.fromhex(KEYS["A"]["seedHex"]))
B = Ed25519Signer(bytes.fromhex(KEYS["B"]["seedHex"]))
SIGNERS = {A.peer_id: A, B.peer_id: B}
verifier = Ed25519Verifier()

GOSSIP = ("capability-announcement", "capability-request", "capability-response")
DIRECT = (
    "version-handshake",
    "version-handshake-response",
    "agent-request",
    "agent-response",
    "stream-chunk-1",
    "stream-chunk-2",
    "stream-complete",
    "agent-response-after-stream",
)
NEGATIVE = "negative/capability-announcement-addresses-signed"
CONTROL = "negative-control/capability-announcement-addresses-added-after-signing"
REPUTATION = "reputation-filter"
UPSTREAM_SIGNED_FIELDS = {
    "capability-announcement": ("type", "peerId", "libp2pPeerId", "capabilities", "timestamp"),
    "capability-request": ("type", "requestId", "from", "requiredCapabilities", "preferredPeers", "timestamp"),
    "capability-response": ("type", "requestId", "peerId", "libp2pPeerId", "capabilities", "timestamp"),
}


def test_every_vector_is_covered_here() -> None:
    """A vector added upstream must get a test, not be skipped silently."""
    assert set(VECTORS) == {*GOSSIP, *DIRECT, NEGATIVE, CONTROL, REPUTATION}


def test_the_fixed_keys_give_upstreams_peer_ids_and_key_file(tmp_path: Path) -> None:
    for name, signer in (("A", A), ("B", B)):
        key = KEYS[name]
        assert signer.peer_id == key["peerId"]
        assert base64.b64encode(signer.public_key).decode() == key["publicKeyRawBase64"]
        path = tmp_path / f"{name}.json"
        path.write_text(key["keyFileJson"], encoding="utf-8")
        assert load_or_create(path).peer_id == key["peerId"]  # upstream's key file is ours


# ---------------------------------------------------------------------------------------------------------------------
# Canonical JSON
# ---------------------------------------------------------------------------------------------------------------------

# The Python value of each case's `inputJs` (JavaScript `undefined` is envelope.ABSENT), keyed by that expression.
CANONICAL_INPUTS: dict[str, Any] = {
    '{b: 1, a: {d: [3, {z: 1, y: 2}], c: "x"}}': {"b": 1, "a": {"d": [3, {"z": 1, "y": 2}], "c": "x"}},
    "{a: undefined, b: null, c: [undefined, null]}": {
        "a": envelope.ABSENT,
        "b": None,
        "c": [envelope.ABSENT, None],
    },
    "{n: [0, -0, 1.5, 0.1, 1e21, 1e-7, 123456789012345680000, 2**53+2]}": {
        "n": [0, -0.0, 1.5, 0.1, 1e21, 1e-7, 123456789012345680000, 2**53 + 2]
    },
    '{s: "é ü 日本 😀 \\u0000 \\u001f \\u007f \\u2028 \\"q\\" \\\\ /"}': {
        "s": 'é ü 日本 😀 \u0000 \u001f \u007f \u2028 "q" \\ /'
    },
    '{"B": 1, "a": 2, "_": 3, "10": 4, "9": 5, "é": 6}': {"B": 1, "a": 2, "_": 3, "10": 4, "9": 5, "é": 6},
    "{t: true, f: false, e: {}, l: []}": {"t": True, "f": False, "e": {}, "l": []},
}


@pytest.mark.parametrize("case", DOC["canonicalJsonCases"], ids=lambda case: case["inputJs"][:40])
def test_canonical_json_matches_every_upstream_case(case: dict[str, str]) -> None:
    text = canonical_json(CANONICAL_INPUTS[case["inputJs"]])
    assert text == case["canonical"]
    assert text.encode("utf-8").hex() == case["utf8Hex"]


def test_keys_sort_by_utf16_code_units_not_code_points() -> None:
    """U+10000 is the surrogate pair D800 DC00 in UTF-16, so JavaScript sorts it before U+FFFF (Python would not)."""
    assert canonical_json({"\uffff": 1, "\U00010000": 2}) == '{"\U00010000":2,"\uffff":1}'


@pytest.mark.parametrize(
    ("value", "text"),
    [(1e-7, "1e-7"), (1e21, "1e+21"), (-0.0, "0"), (1e20, "100000000000000000000"), (5e-324, "5e-324")],
)
def test_numbers_take_javascripts_shortest_form(value: float, text: str) -> None:
    assert canonical_json(value) == text == js_json(value)
    assert float(text) == value or (value == 0 and math.copysign(1, value) < 0)


# ---------------------------------------------------------------------------------------------------------------------
# Capability events on gossip
# ---------------------------------------------------------------------------------------------------------------------


def upstream_verify(doc: dict[str, Any]) -> bool:
    """Upstream's verifyCapabilityEvent, written out: keep only the event's fixed fields (its schema strips the
    rest), canonical JSON, Ed25519 by the key whose peer id is `libp2pPeerId ?? peerId` (`from` for a request)."""
    fields = UPSTREAM_SIGNED_FIELDS[doc["type"]]
    signed = {k: doc[k] for k in fields if k in doc}
    public_key = base64.b64decode(doc["publicKey"])
    claimed = doc["from"] if doc["type"] == "capability-request" else doc.get("libp2pPeerId") or doc["peerId"]
    if ID.from_pubkey(Libp2pEd25519PublicKey.from_bytes(public_key)).to_base58().lower() != claimed.lower():
        return False
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(
            base64.b64decode(doc["signature"]), canonical_json(signed).encode("utf-8")
        )
    except InvalidSignature:
        return False
    return True


def build_gossip(name: str) -> dict[str, Any]:
    """Our code's event for vector `name`, from the vector's inputs (key, clock, ids, capabilities)."""
    wire = VECTORS[name]["wire"]
    if name == "capability-announcement":
        return announcements.announcement(A, wire["capabilities"], wire["timestamp"])
    if name == "capability-request":
        query = CapabilityQuery.from_raw({"requiredCapabilities": wire["requiredCapabilities"]})
        return announcements.request(B, query, wire["requestId"], wire["timestamp"])
    return announcements.response(A, wire["requestId"], wire["capabilities"], wire["timestamp"])


@pytest.mark.parametrize("name", GOSSIP)
def test_our_capability_events_are_upstreams_bytes(name: str) -> None:
    vector = VECTORS[name]
    doc = build_gossip(name)
    assert announcements.signing_input(doc).decode() == vector["canonicalSigned"]
    assert doc["signature"] == vector["signature"]
    assert doc["publicKey"] == vector["publicKey"]
    assert announcements.wire_json(doc).decode() == vector["wireJson"]
    assert announcements.wire_json(doc).hex() == vector["wireHex"]


@pytest.mark.parametrize("name", [*GOSSIP, CONTROL])
def test_we_accept_upstreams_capability_events(name: str) -> None:
    vector = VECTORS[name]
    wire = json.loads(vector["wireJson"])
    event = accept_event(wire, verifier, wire["timestamp"])
    assert upstream_verify(wire)
    if isinstance(event, CapabilityRequest):
        assert (event.request_id, event.from_) == (wire["requestId"], vector["peerId"])
        assert event.query.to_dict()["requiredCapabilities"] == wire["requiredCapabilities"]
        return
    assert isinstance(event, CapabilityAnnouncement | CapabilityResponse)
    assert event.signer_id == vector["peerId"]
    assert [c["name"] for c in event.capabilities] == ["echo", "llama-3.1-8b"]
    assert event.capabilities[1]["metadata"]["features"] == ["text-generation", "streaming"]
    assert event.addresses == ()  # the control's addresses carry no signature of their own: not used


def test_addresses_under_the_signature_are_rejected_like_upstream_does() -> None:
    vector = VECTORS[NEGATIVE]
    wire = json.loads(vector["wireJson"])
    assert vector["expectedValid"] is False
    assert (
        canonical_json({k: v for k, v in wire.items() if k not in ("signature", "publicKey")})
        == (vector["canonicalSigned"])
    )
    assert announcements.signing_input(wire).decode() == vector["canonicalUpstreamVerifiesAgainst"]
    with pytest.raises(Unauthenticated):
        accept_event(wire, verifier, wire["timestamp"])
    assert not upstream_verify(wire)


ADDRESS = f"/ip4/127.0.0.1/tcp/41000/p2p/{A.peer_id}"
NOW = 1_767_225_600_000


def python_events() -> Iterator[dict[str, Any]]:
    """A Python node's capability announcement, response and request, as its Discovery service builds them."""
    capabilities = [{"name": "echo"}, {"name": "review", "type": "agent", "features": ["py"], "provider": "self"}]
    yield announcements.announcement(A, capabilities, NOW, [ADDRESS])
    yield announcements.response(A, "req-1", capabilities, NOW, [ADDRESS])
    query = CapabilityQuery.from_flags("review", type="agent", features=["py"], preferred=[B.peer_id])
    yield announcements.request(A, query, "req-2", NOW)


@pytest.mark.parametrize("doc", list(python_events()), ids=lambda doc: doc["type"])
def test_a_python_nodes_capability_events_verify_under_the_upstream_rule(doc: dict[str, Any]) -> None:
    wire = json.loads(announcements.wire_json(doc))  # what the other node receives
    assert upstream_verify(wire)
    signed_keys = [k for k in UPSTREAM_SIGNED_FIELDS[wire["type"]] if k in wire]
    assert list(wire)[: len(signed_keys)] == signed_keys  # upstream's wire order
    if wire["type"] != "capability-request":
        assert list(wire)[-4:] == ["signature", "publicKey", "addresses", "addressesSignature"]  # as the control
        assert accept_event(wire, verifier, NOW).addresses == (ADDRESS,)


def test_addresses_are_used_only_when_their_own_signature_verifies() -> None:
    doc = announcements.announcement(A, [{"name": "echo"}], NOW, [ADDRESS])
    forged = {**doc, "addresses": ["/ip4/10.6.6.6/tcp/1"]}
    event = accept_event(forged, verifier, NOW)  # the event is authentic; only the addresses are dropped
    assert event.addresses == () and upstream_verify(forged)
    unsigned = {k: v for k, v in doc.items() if k != "addressesSignature"}
    assert accept_event(unsigned, verifier, NOW).addresses == ()
    other = announcements.announcement(A, [{"name": "echo"}], NOW + 1, [ADDRESS])
    replayed = {**doc, "addressesSignature": other["addressesSignature"]}  # bound to another event's signature
    assert accept_event(replayed, verifier, NOW).addresses == ()
    by_b = announcements.announcement(B, [{"name": "echo"}], NOW, [ADDRESS])
    stolen = {**doc, "addressesSignature": by_b["addressesSignature"]}
    assert accept_event(stolen, verifier, NOW).addresses == ()


# ---------------------------------------------------------------------------------------------------------------------
# Direct messages: signatures and frames
# ---------------------------------------------------------------------------------------------------------------------


def frame_of(vector: dict[str, Any]) -> bytes:
    return bytes.fromhex(vector["frameHex"])


@pytest.mark.parametrize("name", DIRECT)
def test_we_verify_and_decode_upstreams_frames(name: str) -> None:
    vector = VECTORS[name]
    frame = frame_of(vector)
    prefix = bytes.fromhex(vector["frameLengthPrefixHex"])
    body = frame[len(prefix) :]
    assert framed(body) == frame and len(body) == vector["frameBodyLength"]
    assert body.decode() == vector["transportMessageJson"]
    message = decode_frame(body).message
    assert message == Message.from_dict(vector["message"])
    assert message.signing_input().decode() == vector["canonicalSigned"]
    verify_message(message, verifier)
    guard = InboundGuard(verifier, wall_clock_ms=lambda: int(vector["message"]["timestamp"]))
    assert guard.check(vector["message"]["from"], body).message == message


@pytest.mark.parametrize("name", DIRECT)
def test_signing_the_same_message_gives_upstreams_signature_and_frame(name: str) -> None:
    vector = VECTORS[name]
    fields = vector["message"]
    unsigned = new_message(
        fields["from"],
        fields["to"],
        fields["type"],
        fields["payload"],
        timestamp_ms=fields["timestamp"],
        id=fields["id"],
    )
    signed = sign_message(unsigned, SIGNERS[fields["from"]])
    assert signed.signature == vector["signature"] and signed.public_key == vector["publicKey"]
    assert js_json(signed.to_dict()) == vector["messageJson"]
    assert framed(encode_frame(signed)) == frame_of(vector)


def test_our_handshake_and_its_answer_are_upstreams_bytes() -> None:
    request, response = VECTORS["version-handshake"], VECTORS["version-handshake-response"]
    ts = request["message"]["timestamp"]
    sent = sign_message(
        new_message(
            A.peer_id,
            B.peer_id,
            "version-handshake",
            handshake.handshake_payload("testnet", ts),
            id=request["message"]["id"],
            timestamp_ms=ts,
        ),
        A,
    )
    assert encode_frame(sent).decode() == request["transportMessageJson"]
    verdict = handshake.evaluate(sent.payload, "testnet")
    assert verdict.accepted
    answer = sign_message(
        new_message(
            B.peer_id,
            A.peer_id,
            "version-handshake-response",
            verdict.response_payload(),
            id=sent.id,
            timestamp_ms=response["message"]["timestamp"],
        ),
        B,
    )
    assert encode_frame(answer).decode() == response["transportMessageJson"]


def test_a_version_rejection_notice_echoes_the_peers_version() -> None:
    """Upstream's version-incompatible-notice: {requiredMinVersion, yourVersion, upgradeUrl?, message}."""
    old = {**handshake.handshake_payload("testnet", NOW), "protocolVersion": {"major": 0, "minor": 9, "patch": 1}}
    verdict = handshake.evaluate(old, "testnet")
    notice = handshake.notice_for(verdict)
    assert notice is not None and notice[0] == "version-incompatible-notice"
    assert notice[1]["yourVersion"] == {"major": 0, "minor": 9, "patch": 1}
    assert verdict.response_payload()["constitutionMismatch"] is False


class CapturingTransport:
    """Records the frames a Messenger sends; nothing is delivered."""

    def __init__(self, peer_id: str) -> None:
        self.peer_id = peer_id
        self.sent: list[tuple[str, bytes]] = []

    def set_handler(self, handler: object) -> None: ...

    def set_connection_handler(self, handler: object) -> None: ...

    def listen_addrs(self) -> list[str]:
        return []

    async def send(self, peer_id: str, frame: bytes, timeout: float = 10.0) -> None:
        self.sent.append((peer_id, frame))

    async def peers(self) -> list[ConnectedPeer]:
        return []


@pytest.fixture
def fixed_clock_and_ids(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[list[int], list[str]]]:
    """Upstream's harness stubs: Date.now() and crypto.randomUUID() return the values the test queues."""
    clock: list[int] = []
    ids: list[str] = []
    monkeypatch.setattr(envelope, "now_ms", lambda: clock.pop(0))
    monkeypatch.setattr(envelope, "uuid", SimpleNamespace(uuid4=lambda: ids.pop(0)))
    monkeypatch.setattr(messenger, "uuid", SimpleNamespace(uuid4=lambda: ids.pop(0)))
    yield clock, ids
    assert not clock and not ids  # every stubbed value was consumed, as upstream consumed them


async def make_messenger(signer: Ed25519Signer) -> tuple[Messenger, CapturingTransport]:
    transport = CapturingTransport(signer.peer_id)
    events = EventLog(FakeEventStore())
    await events.start()
    return Messenger(transport, signer, verifier, events, network="testnet"), transport  # type: ignore[arg-type]


async def test_our_agent_request_is_upstreams_frame(fixed_clock_and_ids) -> None:
    clock, ids = fixed_clock_and_ids
    vector = VECTORS["agent-request"]
    clock.append(vector["message"]["timestamp"])
    ids.append(vector["message"]["id"])
    node, transport = await make_messenger(B)
    requests = node.request(A.peer_id, vector["message"]["payload"]["prompt"], 1.0)
    await anext(requests)  # Sent
    await requests.aclose()
    [(to, frame)] = transport.sent
    assert to == A.peer_id
    assert framed(frame) == frame_of(vector)


class ParIs:
    """The streaming handler of upstream's vectors: "Par", then "is"."""

    streams = True

    async def respond(self, prompt: str):  # type: ignore[no-untyped-def]
        for piece in ("Par", "is"):
            yield piece


async def test_our_streamed_answer_is_upstreams_frames(fixed_clock_and_ids) -> None:
    """Our built-in responder path sends stream-chunk x2, stream-complete, agent-response exactly as upstream's
    streaming dispatcher does (single-wrapped)."""
    clock, ids = fixed_clock_and_ids
    names = ("stream-chunk-1", "stream-chunk-2", "stream-complete", "agent-response-after-stream")
    for name in names:
        clock.append(VECTORS[name]["message"]["timestamp"])
        ids.append(VECTORS[name]["message"]["id"])
    request_id = VECTORS["stream-complete"]["message"]["payload"]["requestId"]
    node, transport = await make_messenger(A)
    request = sign_message(
        new_message(B.peer_id, A.peer_id, "agent-request", {"prompt": "capital?"}, id=request_id, timestamp_ms=NOW),
        B,
    )
    await node._answer(request, ParIs())
    assert [framed(f) for _, f in transport.sent] == [frame_of(VECTORS[n]) for n in names]


# ---------------------------------------------------------------------------------------------------------------------
# Replies: both shapes
# ---------------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "text"),
    [("agent-response", "What is the capital of France?"), ("agent-response-after-stream", "Paris")],
)
def test_both_reply_shapes_read_the_same(name: str, text: str) -> None:
    payload = VECTORS[name]["message"]["payload"]
    content = reply_content(payload)
    assert (content.text, content.finish_reason, content.error) == (text, "stop", "")


def test_the_double_wrapped_vector_really_is_double_wrapped() -> None:
    vector = VECTORS["agent-response"]
    assert vector["shapeCheck"] == {"doubleWrapped": True}
    assert vector["message"]["payload"]["response"]["response"]["finishReason"] == "stop"


# ---------------------------------------------------------------------------------------------------------------------
# Reputation filters
# ---------------------------------------------------------------------------------------------------------------------


def test_our_reputation_filter_is_upstreams_bytes() -> None:
    vector = VECTORS[REPUTATION]
    wire = json.loads(vector["wireJson"])
    received = bloom.ReputationFilter.from_json(wire["payload"])
    bloom.verify_filter(received, verifier)
    assert received.signing_input().decode() == vector["canonicalSigned"]

    ours = bloom.add_peer(bloom.new_filter("echo", Tier.GOOD, A.peer_id, received.created_at), B.peer_id)
    signed = bloom.sign_filter(ours, A)
    assert signed.signature is not None and signed.signature.hex() == vector["signatureBytesHex"]
    assert signed.to_json() == wire["payload"]
    event = {"type": bloom.EVENT_TYPE, "payload": signed.to_json(), "timestamp": wire["timestamp"]}
    assert js_json(event) == vector["wireJson"]
