"""The upstream envelope: canonical JSON, Ed25519 signatures, frames and the inbound checks (no network).

The expected strings and the signature below were produced by Node.js (JSON.stringify on key-sorted data, as
upstream's canonicalJsonStringify does, and crypto.sign with Ed25519), so they pin JavaScript's behaviour."""

from __future__ import annotations

import base64
import json
import math
from dataclasses import replace

import pytest
from libp2p.crypto.ed25519 import Ed25519PrivateKey as Libp2pEd25519PrivateKey
from libp2p.peer.id import ID

from ecco.errors import AlreadyExists, FailedPrecondition, InvalidArgument, Reason, ResourceExhausted, Unauthenticated
from ecco.services import envelope
from ecco.services import transport_port as port
from ecco.services.envelope import (
    ABSENT,
    DuplicateFilter,
    InboundGuard,
    Message,
    RateLimiter,
    canonical_json,
    check_freshness,
    decode_frame,
    encode_frame,
    js_number,
    new_message,
    sign_message,
    verify_message,
)
from ecco.transport.keys import Ed25519Signer, Ed25519Verifier, peer_id_from_ed25519_public_key

SEED = bytes(range(32))
SEED_PEER = "12D3KooWA4Xop1JaT3MHxwYMkCepYsv4iPVopMXwCz5iHYdBfeSB"
SEED_PUBLIC_B64 = "A6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg="
OTHER_PEER = "12D3KooWRawPbxPtP1eZaJpumGnyWX2DcUyd3RQnydr3eAto4Az7"  # seed bytes([7] * 32)
NOW = 1_767_225_600_000

# A message as a TypeScript node signs it (Node.js 'crypto.sign' over upstream's canonical JSON).
JS_PAYLOAD = {
    "prompt": "Gr\u00fc\u00dfe, \u4e16\u754c \U0001f600",
    "temperature": 0.1,
    "big": 1e21,
    "tiny": 1e-7,
    "neg": -0.0,
    "n": 42,
    "list": [True, None, "a\u2028b"],
    "nested": {"z": 1, "a": {"y": 2, "b": 3}},
}
JS_SIGNING_INPUT = (
    '{"from":"12D3KooWA4Xop1JaT3MHxwYMkCepYsv4iPVopMXwCz5iHYdBfeSB","id":"3b241101-e2bb-4255-8caf-4136c566a962",'
    '"payload":{"big":1e+21,"list":[true,null,"a\u2028b"],"n":42,"neg":0,"nested":{"a":{"b":3,"y":2},"z":1},'
    '"prompt":"Gr\u00fc\u00dfe, \u4e16\u754c \U0001f600","temperature":0.1,"tiny":1e-7},"timestamp":1767225600000,'
    '"to":"12D3KooWRawPbxPtP1eZaJpumGnyWX2DcUyd3RQnydr3eAto4Az7","type":"agent-request"}'
)
JS_SIGNATURE = "WlDxYT32hZDqU2HN/5vutqgSw2QI77rM3yCgf9ioKphcwj97qofrrb7gfBZOm0ChZyBzax5GtA+S5n03nCyyBg=="


def js_message() -> Message:
    return Message(
        id="3b241101-e2bb-4255-8caf-4136c566a962",
        from_=SEED_PEER,
        to=OTHER_PEER,
        type="agent-request",
        payload=JS_PAYLOAD,
        timestamp=NOW,
    )


def js_frame() -> bytes:
    """The TransportMessage bytes a TypeScript node writes: JSON.stringify of the signed message (insertion order)
    carried as an array of byte values."""
    signed = {
        **{k: v for k, v in js_message().to_dict().items()},
        "signature": JS_SIGNATURE,
        "publicKey": SEED_PUBLIC_B64,
    }
    data = json.dumps(signed, ensure_ascii=False, separators=(",", ":")).encode()
    outer = {"id": signed["id"], "from": SEED_PEER, "to": OTHER_PEER, "data": list(data), "timestamp": NOW}
    return json.dumps(outer, separators=(",", ":")).encode()


@pytest.fixture
def signer() -> Ed25519Signer:
    return Ed25519Signer(SEED)


@pytest.fixture
def verifier() -> Ed25519Verifier:
    return Ed25519Verifier()


# ---- canonical JSON ----


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0.1, "0.1"),
        (1e21, "1e+21"),
        (1e20, "100000000000000000000"),
        (-0.0, "0"),
        (0, "0"),
        (5.0, "5"),
        (1.5, "1.5"),
        (-2.5e-7, "-2.5e-7"),
        (1e-7, "1e-7"),
        (0.000001, "0.000001"),
        (5e-324, "5e-324"),
        (1.7976931348623157e308, "1.7976931348623157e+308"),
        (0.30000000000000004, "0.30000000000000004"),
        (123456789012345680000.0, "123456789012345680000"),
        (2**53 - 1, "9007199254740991"),
        (2**53 + 1, "9007199254740992"),  # what JavaScript parses the integer to
        (-(2**53), "-9007199254740992"),
        (10**30, "1e+30"),
    ],
)
def test_numbers_are_formatted_like_javascript(value: float, expected: str) -> None:
    assert js_number(value) == expected
    assert canonical_json(value) == expected


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, 10**400])
def test_numbers_javascript_cannot_carry_are_refused(value: float) -> None:
    with pytest.raises(ValueError):
        canonical_json({"x": value})


def test_objects_are_sorted_recursively_without_whitespace() -> None:
    value = {"b": {"d": [1, {"y": None, "x": True}], "c": "x"}, "a": False, "10": 1, "9": 2, "": 3}
    assert canonical_json(value) == '{"":3,"10":1,"9":2,"a":false,"b":{"c":"x","d":[1,{"x":true,"y":null}]}}'


def test_keys_sort_by_utf16_code_units_like_javascript() -> None:
    # U+1F600 is the surrogate pair D83D DE00, which sorts before U+E000 in UTF-16 (not in code-point order).
    value = {"\ue000": 1, "\U0001f600": 2, "z": 3}
    assert canonical_json(value) == '{"z":3,"\U0001f600":2,"\ue000":1}'


def test_strings_are_escaped_like_javascript() -> None:
    text = '\u00e9\u4e2d\U0001f600\u2028\x7f\x00\x1f\b\f\n\r\t"\\/'
    assert canonical_json(text) == '"\u00e9\u4e2d\U0001f600\u2028\x7f\\u0000\\u001f\\b\\f\\n\\r\\t\\"\\\\/"'
    # Lone surrogates are escaped (well-formed JSON.stringify); a pair of halves is one character.
    assert canonical_json("a\ud800b\udc00") == '"a\\ud800b\\udc00"'
    assert canonical_json("\ud83d\ude00") == '"\U0001f600"'


def test_absent_values_are_dropped_from_objects_and_null_in_arrays() -> None:
    assert canonical_json({"a": ABSENT, "b": [ABSENT]}) == '{"b":[null]}'


@pytest.mark.parametrize("value", [{1: "x"}, {"x": object()}, {"x": b"bytes"}])
def test_non_json_values_are_refused(value: object) -> None:
    with pytest.raises(TypeError):
        canonical_json(value)


def test_signing_input_matches_javascript() -> None:
    assert js_message().signing_input() == JS_SIGNING_INPUT.encode()


# ---- keys and signatures ----


def test_peer_id_from_public_key_matches_libp2p(signer: Ed25519Signer) -> None:
    libp2p_key = Libp2pEd25519PrivateKey.from_bytes(SEED).get_public_key()
    assert signer.public_key == libp2p_key.to_bytes()
    assert peer_id_from_ed25519_public_key(signer.public_key) == ID.from_pubkey(libp2p_key).to_base58() == SEED_PEER
    with pytest.raises(ValueError):
        peer_id_from_ed25519_public_key(b"\x01" * 31)


def test_our_signature_is_byte_identical_to_javascript(signer: Ed25519Signer, verifier: Ed25519Verifier) -> None:
    signed = sign_message(js_message(), signer)
    assert signed.signature == JS_SIGNATURE
    assert signed.public_key == SEED_PUBLIC_B64
    verify_message(signed, verifier)


def test_sign_verify_round_trip(signer: Ed25519Signer, verifier: Ed25519Verifier) -> None:
    message = new_message(SEED_PEER, OTHER_PEER, "agent-request", {"prompt": "hi"}, timestamp_ms=NOW)
    verify_message(sign_message(message, signer), verifier)


def test_only_the_sender_can_sign(signer: Ed25519Signer) -> None:
    with pytest.raises(InvalidArgument):
        sign_message(replace(js_message(), from_=OTHER_PEER), signer)


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda m: replace(m, payload={**m.payload, "prompt": "changed"}), id="payload"),
        pytest.param(lambda m: replace(m, timestamp=m.timestamp + 1), id="timestamp"),
        pytest.param(lambda m: replace(m, to=SEED_PEER), id="to"),
        pytest.param(lambda m: replace(m, type="agent-response"), id="type"),
        pytest.param(lambda m: replace(m, from_=OTHER_PEER), id="from-not-the-signer"),
        pytest.param(
            lambda m: replace(m, public_key=base64.b64encode(Ed25519Signer(bytes([7] * 32)).public_key).decode()),
            id="other-key",
        ),
        pytest.param(
            lambda m: replace(m, signature=base64.b64encode(bytes(64)).decode()),
            id="signature-zeroed",
        ),
        pytest.param(
            lambda m: replace(m, signature=base64.b64encode(base64.b64decode(m.signature)[:63]).decode()),
            id="signature-short",
        ),
        pytest.param(lambda m: replace(m, signature="not base64!"), id="signature-garbage"),
        pytest.param(lambda m: replace(m, public_key=base64.b64encode(b"x" * 33).decode()), id="key-length"),
        pytest.param(lambda m: replace(m, signature=None, public_key=None), id="unsigned"),
    ],
)
def test_tampered_messages_are_rejected(tamper, signer: Ed25519Signer, verifier: Ed25519Verifier) -> None:
    signed = sign_message(js_message(), signer)
    with pytest.raises(Unauthenticated) as info:
        verify_message(tamper(signed), verifier)
    assert info.value.reason == Reason.SIGNATURE_INVALID


def test_a_message_without_payload_signs_without_it(signer: Ed25519Signer, verifier: Ed25519Verifier) -> None:
    message = Message.from_dict({"id": "1", "from": SEED_PEER, "to": OTHER_PEER, "type": "ping", "timestamp": NOW})
    assert message.payload is ABSENT
    assert b"payload" not in message.signing_input()
    signed = sign_message(message, signer)
    assert "payload" not in signed.to_dict()
    verify_message(Message.from_dict(json.loads(json.dumps(signed.to_dict()))), verifier)


# ---- frames ----


def test_a_frame_written_by_javascript_is_accepted(verifier: Ed25519Verifier) -> None:
    guard = InboundGuard(verifier, wall_clock_ms=lambda: NOW + 1000)
    decoded = guard.check(SEED_PEER, js_frame())
    assert decoded.topic is None
    assert decoded.message.payload == JS_PAYLOAD
    assert decoded.message.signature == JS_SIGNATURE


def test_frame_round_trip_uses_the_upstream_transport_message(signer: Ed25519Signer) -> None:
    signed = sign_message(js_message(), signer)
    frame = encode_frame(signed)
    outer = json.loads(frame)
    assert list(outer) == ["id", "from", "to", "data", "timestamp"]
    assert (outer["id"], outer["from"], outer["to"], outer["timestamp"]) == (signed.id, SEED_PEER, OTHER_PEER, NOW)
    assert json.loads(bytes(outer["data"])) == signed.to_dict()
    assert decode_frame(frame) == envelope.Envelope(signed)


def test_broadcast_frames_carry_the_topic(signer: Ed25519Signer) -> None:
    signed = sign_message(js_message(), signer)
    frame = encode_frame(signed, topic="ecco:capabilities")
    assert json.loads(frame)["to"] == "broadcast"
    assert decode_frame(frame) == envelope.Envelope(signed, "ecco:capabilities")


@pytest.mark.parametrize(
    "frame",
    [
        b"not json",
        b"[]",
        b'{"data": "abc"}',
        b'{"data": [256]}',
        b'{"data": [-1]}',
        b'{"data": [255, 254]}',  # not UTF-8
        json.dumps({"data": list(b'{"id": 1}')}).encode(),
        json.dumps({"data": list(b'{"id":"1","from":"a","to":"b","type":"t","timestamp":NaN}')}).encode(),
        json.dumps({"data": list(b'{"id":"1","from":"a","to":"b","type":"t","timestamp":"1"}')}).encode(),
    ],
)
def test_malformed_frames_are_invalid_payloads(frame: bytes) -> None:
    with pytest.raises(InvalidArgument) as info:
        decode_frame(frame)
    assert info.value.reason == Reason.INVALID_PAYLOAD


def test_the_frame_limit_is_ten_mebibytes() -> None:
    assert envelope.MAX_FRAME_BYTES == port.MAX_FRAME_BYTES == 10 * 1024 * 1024
    envelope.check_frame_size(envelope.MAX_FRAME_BYTES)
    with pytest.raises(InvalidArgument) as info:
        envelope.check_frame_size(envelope.MAX_FRAME_BYTES + 1)
    assert info.value.reason == Reason.MESSAGE_TOO_LARGE


# ---- inbound checks ----


@pytest.mark.parametrize(
    ("offset_ms", "fresh"),
    [(0, True), (-60_000, True), (-60_001, False), (5_000, True), (5_001, False), (-3_600_000, False)],
)
def test_freshness_window(offset_ms: int, fresh: bool) -> None:
    if fresh:
        check_freshness(NOW + offset_ms, NOW)
    else:
        with pytest.raises(FailedPrecondition) as info:
            check_freshness(NOW + offset_ms, NOW)
        assert info.value.reason == Reason.MESSAGE_STALE


def test_duplicate_filter_is_exact_and_bounded() -> None:
    seen = DuplicateFilter(capacity=3)
    assert all(seen.check_and_add(k) for k in "abc")
    assert not seen.check_and_add("a")
    assert seen.check_and_add("d")  # rotates: a, b, c become the previous generation
    assert not seen.check_and_add("b")
    assert all(seen.check_and_add(k) for k in "efg")  # rotates again: a, b, c are forgotten
    assert "a" not in seen
    assert "d" in seen and "g" in seen


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_rate_limiter_token_bucket() -> None:
    clock = FakeClock()
    limiter = RateLimiter(100, 10, clock=clock)
    assert all(limiter.allow("p") for _ in range(100))
    assert not limiter.allow("p")
    assert limiter.allow("q")  # buckets are per peer
    clock.now += 0.1  # one token back
    assert limiter.allow("p")
    assert not limiter.allow("p")
    clock.now += 60  # refills to the cap, not beyond
    assert limiter.tokens("p") == 100
    assert sum(limiter.allow("p") for _ in range(150)) == 100


def test_rate_limiter_forgets_least_recently_used_peers() -> None:
    clock = FakeClock()
    limiter = RateLimiter(1, 0, clock=clock, max_keys=2)
    assert limiter.allow("a") and limiter.allow("b")
    assert limiter.allow("c")  # evicts "a"
    assert limiter.allow("a")  # "a" starts full again
    assert not limiter.allow("c")


def test_guard_accepts_a_signed_fresh_message(signer: Ed25519Signer, verifier: Ed25519Verifier) -> None:
    guard = InboundGuard(verifier, wall_clock_ms=lambda: NOW)
    frame = encode_frame(sign_message(js_message(), signer))
    assert guard.check(SEED_PEER, frame).message.id == js_message().id


def test_guard_drops_duplicates_per_transport_peer(signer: Ed25519Signer, verifier: Ed25519Verifier) -> None:
    guard = InboundGuard(verifier, wall_clock_ms=lambda: NOW)
    frame = encode_frame(sign_message(js_message(), signer))
    guard.check(SEED_PEER, frame)
    with pytest.raises(AlreadyExists) as info:
        guard.check(SEED_PEER, frame)
    assert info.value.reason == Reason.MESSAGE_DUPLICATE


def test_guard_rejects_a_sender_that_is_not_the_transport_peer(
    signer: Ed25519Signer, verifier: Ed25519Verifier
) -> None:
    guard = InboundGuard(verifier, wall_clock_ms=lambda: NOW)
    frame = encode_frame(sign_message(js_message(), signer))  # validly signed by SEED_PEER, relayed by another peer
    with pytest.raises(Unauthenticated) as info:
        guard.check(OTHER_PEER, frame)
    assert info.value.reason == Reason.SIGNATURE_INVALID


def test_guard_rejects_stale_messages(signer: Ed25519Signer, verifier: Ed25519Verifier) -> None:
    guard = InboundGuard(verifier, wall_clock_ms=lambda: NOW + 60_001)
    with pytest.raises(FailedPrecondition):
        guard.check(SEED_PEER, encode_frame(sign_message(js_message(), signer)))


def test_guard_rejects_tampered_frames(signer: Ed25519Signer, verifier: Ed25519Verifier) -> None:
    guard = InboundGuard(verifier, wall_clock_ms=lambda: NOW)
    signed = sign_message(js_message(), signer)
    frame = encode_frame(replace(signed, payload={"prompt": "changed"}))
    with pytest.raises(Unauthenticated):
        guard.check(SEED_PEER, frame)


def test_guard_rate_limits_before_parsing_or_verifying(verifier: Ed25519Verifier) -> None:
    clock = FakeClock()
    guard = InboundGuard(verifier, wall_clock_ms=lambda: NOW, monotonic=clock, rate_tokens=3, rate_refill_per_second=1)
    for _ in range(3):
        with pytest.raises(InvalidArgument):
            guard.check(SEED_PEER, b"garbage")
    with pytest.raises(ResourceExhausted) as info:
        guard.check(SEED_PEER, b"garbage")
    assert info.value.reason == Reason.RATE_LIMITED
    clock.now += 1
    with pytest.raises(InvalidArgument):
        guard.check(SEED_PEER, b"garbage")


def test_guard_refuses_oversize_frames_first(verifier: Ed25519Verifier) -> None:
    guard = InboundGuard(verifier, max_frame_bytes=10)
    with pytest.raises(InvalidArgument) as info:
        guard.check(SEED_PEER, b"x" * 11)
    assert info.value.reason == Reason.MESSAGE_TOO_LARGE


def test_guard_charges_each_peer_its_frame_bytes(verifier: Ed25519Verifier) -> None:
    clock = FakeClock()
    guard = InboundGuard(verifier, monotonic=clock, byte_budget=100, byte_refill_per_second=10)
    for _ in range(2):
        with pytest.raises(InvalidArgument):
            guard.check(SEED_PEER, b"x" * 50)
    with pytest.raises(ResourceExhausted) as info:
        guard.check(SEED_PEER, b"x" * 50)
    assert info.value.reason == Reason.RATE_LIMITED and "byte rate" in info.value.message
    with pytest.raises(InvalidArgument):
        guard.check(OTHER_PEER, b"x" * 50)  # another peer has its own budget
    clock.now += 5
    with pytest.raises(InvalidArgument):
        guard.check(SEED_PEER, b"x" * 50)


def test_a_restarted_guard_remembers_the_ids_it_is_given(signer: Ed25519Signer, verifier: Ed25519Verifier) -> None:
    guard = InboundGuard(verifier, wall_clock_ms=lambda: NOW)
    assert guard.replay_window_ms == 65_000
    guard.remember([(SEED_PEER, js_message().id)])
    with pytest.raises(AlreadyExists):
        guard.check(SEED_PEER, encode_frame(sign_message(js_message(), signer)))


def test_a_stream_reset_for_overload_is_charged_to_the_peer(signer: Ed25519Signer, verifier: Ed25519Verifier) -> None:
    clock = FakeClock()
    guard = InboundGuard(verifier, wall_clock_ms=lambda: NOW, monotonic=clock, byte_budget=1000)
    guard.charge(SEED_PEER, 990)  # the transport reset a stream that claimed 990 bytes
    with pytest.raises(ResourceExhausted) as info:
        guard.check(SEED_PEER, encode_frame(sign_message(js_message(), signer)))
    assert info.value.reason == Reason.RATE_LIMITED
