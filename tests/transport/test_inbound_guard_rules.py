"""The inbound rules a frame from another peer must pass, as a peer (or an attacker) would probe them.

Each test states one rule of the wire contract that mutation testing (`make mutation`) found unchecked: a change to
the rule passed every other test."""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import replace

import pytest

from ecco.errors import FailedPrecondition, InvalidArgument, Reason, ResourceExhausted, Unauthenticated
from ecco.services.envelope import (
    DuplicateFilter,
    InboundGuard,
    Message,
    RateLimiter,
    canonical_json,
    decode_frame,
    encode_frame,
    js_json,
    new_message,
    now_ms,
    sign_message,
    verify_message,
)
from ecco.transport.keys import Ed25519Signer, Ed25519Verifier

NOW = 1_767_225_600_000
ALICE = Ed25519Signer(bytes(range(32)))
BOB = Ed25519Signer(bytes([7] * 32))


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def frame_from(signer: Ed25519Signer, *, timestamp_ms: int = NOW, payload: object = None) -> bytes:
    message = new_message(signer.peer_id, BOB.peer_id, "agent-request", payload or {"n": 1}, timestamp_ms=timestamp_ms)
    return encode_frame(sign_message(message, signer))


def signed(signer: Ed25519Signer = ALICE) -> Message:
    return sign_message(new_message(signer.peer_id, BOB.peer_id, "ping", {"n": 1}, timestamp_ms=NOW), signer)


# ---- the guard ----


def test_one_noisy_peer_does_not_throttle_the_others() -> None:
    guard = InboundGuard(Ed25519Verifier(), wall_clock_ms=lambda: NOW, monotonic=Clock(), rate_tokens=2)
    guard.check(ALICE.peer_id, frame_from(ALICE))
    guard.check(ALICE.peer_id, frame_from(ALICE))
    with pytest.raises(ResourceExhausted):
        guard.check(ALICE.peer_id, frame_from(ALICE))
    assert guard.check(BOB.peer_id, frame_from(BOB)).message.from_ == BOB.peer_id


@pytest.mark.parametrize("limit", [{"rate_tokens": 2}, {"byte_budget": 100_000}])
def test_a_peer_charged_for_oversized_streams_runs_out_alone(limit: dict[str, float]) -> None:
    """charge() spends the offending peer's own message and byte budgets, no one else's."""
    guard = InboundGuard(Ed25519Verifier(), wall_clock_ms=lambda: NOW, monotonic=Clock(), **limit)
    guard.charge(ALICE.peer_id, 50_000)
    guard.charge(ALICE.peer_id, 50_000)
    with pytest.raises(ResourceExhausted):
        guard.check(ALICE.peer_id, frame_from(ALICE))
    assert guard.check(BOB.peer_id, frame_from(BOB)).message.from_ == BOB.peer_id


def test_the_configured_byte_refill_rate_is_the_one_applied() -> None:
    clock = Clock()
    frame = frame_from(ALICE)
    budget = len(frame) + 20  # room for a later frame a few bytes longer
    guard = InboundGuard(
        Ed25519Verifier(),
        wall_clock_ms=lambda: NOW,
        monotonic=clock,
        byte_budget=budget,
        byte_refill_per_second=budget / 4,
    )
    guard.check(ALICE.peer_id, frame)
    clock.now += 1  # a quarter of the budget back: still limited (the default rate would have refilled it all)
    with pytest.raises(ResourceExhausted):
        guard.check(ALICE.peer_id, frame_from(ALICE))
    clock.now += 4
    guard.check(ALICE.peer_id, frame_from(ALICE))


def test_the_configured_refill_rate_is_the_one_applied() -> None:
    clock = Clock()
    guard = InboundGuard(
        Ed25519Verifier(), wall_clock_ms=lambda: NOW, monotonic=clock, rate_tokens=1, rate_refill_per_second=0.5
    )
    guard.check(ALICE.peer_id, frame_from(ALICE))
    clock.now += 1  # half a token back: still limited (the default rate would have refilled it)
    with pytest.raises(ResourceExhausted):
        guard.check(ALICE.peer_id, frame_from(ALICE))
    clock.now += 1
    guard.check(ALICE.peer_id, frame_from(ALICE))


def test_the_guard_accepts_messages_up_to_a_minute_old_by_default() -> None:
    guard = InboundGuard(Ed25519Verifier(), wall_clock_ms=lambda: NOW + 59_000)
    guard.check(ALICE.peer_id, frame_from(ALICE))


def test_the_guard_applies_its_configured_freshness_window() -> None:
    guard = InboundGuard(Ed25519Verifier(), wall_clock_ms=lambda: NOW, max_age_ms=1_000, max_skew_ms=0)
    guard.check(ALICE.peer_id, frame_from(ALICE, timestamp_ms=NOW - 1_000))
    for timestamp in (NOW - 1_001, NOW + 1):
        with pytest.raises(FailedPrecondition) as info:
            guard.check(ALICE.peer_id, frame_from(ALICE, timestamp_ms=timestamp))
        assert info.value.reason == Reason.MESSAGE_STALE


def test_distinct_messages_from_one_peer_are_not_duplicates() -> None:
    guard = InboundGuard(Ed25519Verifier(), wall_clock_ms=lambda: NOW)
    guard.check(ALICE.peer_id, frame_from(ALICE))
    guard.check(ALICE.peer_id, frame_from(ALICE))
    guard.check(BOB.peer_id, frame_from(BOB))


# ---- signatures ----


@pytest.mark.parametrize(
    "strip",
    [
        pytest.param({"public_key": None}, id="signature-without-public-key"),
        pytest.param({"signature": None}, id="public-key-without-signature"),
        pytest.param({"public_key": ""}, id="empty-public-key"),
    ],
)
def test_a_half_signed_message_is_rejected_cleanly(strip: dict[str, None]) -> None:
    with pytest.raises(Unauthenticated) as info:
        verify_message(replace(signed(), **strip), Ed25519Verifier())
    assert info.value.reason == Reason.SIGNATURE_INVALID


def test_a_half_signed_frame_is_dropped_by_the_guard() -> None:
    doc = signed().to_dict()
    doc["publicKey"] = None
    frame = json.dumps({"data": list(json.dumps(doc).encode())}).encode()
    with pytest.raises(Unauthenticated) as info:
        InboundGuard(Ed25519Verifier(), wall_clock_ms=lambda: NOW).check(ALICE.peer_id, frame)
    assert info.value.reason == Reason.SIGNATURE_INVALID


@pytest.mark.parametrize("field", ["signature", "public_key"])
def test_base64_with_stray_characters_is_not_a_valid_signature(field: str) -> None:
    """Lenient base64 would drop the stray characters and accept a string that is not what was signed."""
    message = signed()
    value = getattr(message, field)
    with pytest.raises(Unauthenticated) as info:
        verify_message(replace(message, **{field: "!" + value}), Ed25519Verifier())
    assert info.value.reason == Reason.SIGNATURE_INVALID


def test_signing_for_another_sender_is_a_signature_error() -> None:
    with pytest.raises(InvalidArgument) as info:
        sign_message(new_message(BOB.peer_id, ALICE.peer_id, "ping", {}), ALICE)
    assert info.value.reason == Reason.SIGNATURE_INVALID


# ---- building and parsing messages ----


def test_new_message_keeps_what_it_is_given() -> None:
    message = new_message(ALICE.peer_id, BOB.peer_id, "agent-request", {"q": 1}, timestamp_ms=NOW, id="m-1")
    assert (message.id, message.from_, message.to, message.type, message.payload, message.timestamp) == (
        "m-1",
        ALICE.peer_id,
        BOB.peer_id,
        "agent-request",
        {"q": 1},
        NOW,
    )


def test_new_message_has_a_fresh_uuid_and_the_current_time() -> None:
    before = now_ms()
    first = new_message(ALICE.peer_id, BOB.peer_id, "ping", {})
    second = new_message(ALICE.peer_id, BOB.peer_id, "ping", {})
    after = now_ms()
    assert first.id != second.id
    assert uuid.UUID(first.id).version == 4
    assert isinstance(first.timestamp, int) and before <= first.timestamp <= after
    assert abs(after - NOW) < 100 * 365 * 86_400_000  # milliseconds since the epoch, not seconds or nanoseconds


def test_a_payload_with_nan_is_an_invalid_frame() -> None:
    doc = signed().to_dict()
    text = json.dumps(doc).replace('{"n": 1}', '{"n": NaN}')
    assert "NaN" in text
    with pytest.raises(InvalidArgument) as info:
        decode_frame(json.dumps({"data": list(text.encode())}).encode())
    assert info.value.reason == Reason.INVALID_PAYLOAD


def test_a_direct_message_with_a_topic_field_but_no_inner_message_stays_direct() -> None:
    """Only {"topic": str, "message": object} is a broadcast; anything else is parsed as a direct message."""
    doc = {**signed().to_dict(), "topic": "news"}
    envelope = decode_frame(json.dumps({"data": list(json.dumps(doc).encode())}).encode())
    assert envelope.topic is None
    assert envelope.message.id == doc["id"]


def test_object_keys_with_lone_surrogates_are_canonicalised_like_javascript() -> None:
    """JavaScript strings may hold lone surrogates; keys still sort by UTF-16 code unit."""
    assert canonical_json({"\ud800": 1, "\uffff": 2, "a": 3}) == '{"a":3,"\\ud800":1,"\uffff":2}'


# ---- the filters ----


def test_a_duplicate_filter_of_one_remembers_the_last_key() -> None:
    seen = DuplicateFilter(capacity=1)
    assert seen.check_and_add("a")
    assert not seen.check_and_add("a")
    with pytest.raises(ValueError):
        DuplicateFilter(capacity=0)


def test_a_bucket_refills_with_elapsed_time() -> None:
    clock = Clock()
    limiter = RateLimiter(10, 4, clock=clock)
    assert limiter.tokens("unknown") == 10
    assert sum(limiter.allow("p") for _ in range(10)) == 10
    assert limiter.tokens("p") == 0
    assert limiter.tokens("q") == 10
    clock.now += 0.5
    assert limiter.tokens("p") == 2


def test_a_message_without_a_payload_reads_as_no_payload() -> None:
    """Upstream may leave `payload` out (undefined); readers treat that as no payload (the event log stores
    `payload or {}`), so the marker for it is falsy."""
    doc = {"id": str(uuid.uuid4()), "from": ALICE.peer_id, "to": BOB.peer_id, "type": "ping", "timestamp": NOW}
    message = Message.from_dict(doc)
    assert (message.payload or {}) == {}


def test_js_json_keeps_the_insertion_order_like_json_stringify() -> None:
    doc = {"type": "x", "b": [1, {"z": 1, "a": 2}], "a": None}
    assert js_json(doc) == '{"type":"x","b":[1,{"z":1,"a":2}],"a":null}'


def test_now_ms_is_the_wall_clock_in_milliseconds() -> None:
    before = time.time_ns() // 1_000_000
    assert before <= now_ms() <= time.time_ns() // 1_000_000
