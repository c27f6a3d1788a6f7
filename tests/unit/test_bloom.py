"""Reputation bloom filters (upstream-ecco §7.5).

The cyrb53 values, the filter bytes and the signature were produced by Node.js running upstream's hash and bit
layout (and crypto.sign with the same Ed25519 seed over JSON.stringify of the key-sorted filter), so these
filters interoperate with TypeScript nodes."""

from __future__ import annotations

import base64
import json
from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ecco.errors import InvalidArgument, Reason, Unauthenticated
from ecco.parsing import Tier
from ecco.services.discovery.bloom import (
    DEFAULT_FILTER_BYTES,
    FilterBook,
    ReputationFilter,
    add_peer,
    bit_indices,
    build_local_filters,
    cyrb53,
    estimate_false_positive_rate,
    merge_filters,
    might_contain,
    new_filter,
    sign_filter,
    verify_filter,
)
from ecco.transport.keys import Ed25519Signer, Ed25519Verifier

SEED_PEER = "12D3KooWA4Xop1JaT3MHxwYMkCepYsv4iPVopMXwCz5iHYdBfeSB"
NOW = 1_700_000_000_000
PEER = "12D3KooWGzBxHq9cV8kLJ1vbQbnEDBs2pQY7qV3H7cXq2w8nA1bZ"
NODE_SIGNATURE_HEX = (
    "1f5643c43f853d9bcdc59ec367a4fff748877fd648ee70e334026c4db890434f"
    "432d22bd65e80eb1cb0bedc4d964f15d0c9548a1b622aa85ec67eb78aad2e705"
)

signer = Ed25519Signer(bytes(range(32)))
other = Ed25519Signer(bytes([7] * 32))
verifier = Ed25519Verifier()


# ---------------------------------------------------------------------------------------------------------------------
# cyrb53 and bits
# ---------------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seed", "expected"),
    [
        ("", 0, 3338908027751811),
        ("a", 0, 7929297801672961),
        ("hello", 0, 4625896200565286),
        ("hello", 1, 6922249475667011),
        (PEER, 0, 2533025739724339),
        (PEER, 6, 5640976793004124),
        ("héllo ☃ 😀", 3, 3998969415858727),  # non-ASCII and a UTF-16 surrogate pair
    ],
)
def test_cyrb53_matches_javascript(text: str, seed: int, expected: int) -> None:
    assert cyrb53(text, seed) == expected


def test_bit_indices_match_javascript() -> None:
    assert bit_indices(PEER, 1024) == [5683, 3463, 3743, 860, 7579, 3953, 2140]


def test_added_peer_sets_upstreams_bits() -> None:
    bloom = add_peer(new_filter("review", Tier.ELITE, SEED_PEER, NOW, size_bytes=4), "peer-a")
    assert list(bloom.filter) == [104, 0, 224, 0]
    assert bloom.peer_count == 1


def test_bit_layout_is_least_significant_bit_first() -> None:
    bloom = add_peer(new_filter("c", Tier.GOOD, "me", NOW), PEER)
    for index in (5683, 3463, 3743, 860, 7579, 3953, 2140):
        assert bloom.filter[index // 8] & (1 << (index % 8))
    assert sum(bin(b).count("1") for b in bloom.filter) == 7
    assert might_contain(bloom, PEER)
    assert not might_contain(bloom, "someone-else")


def test_false_positive_rate_estimate() -> None:
    assert estimate_false_positive_rate(1024, 7, 0) == 0
    assert estimate_false_positive_rate(1024, 7, 100) == pytest.approx(2.4717017657607992e-08)
    assert estimate_false_positive_rate(1024, 7, 1000) == pytest.approx(0.0206554381274852)


# ---------------------------------------------------------------------------------------------------------------------
# Filters
# ---------------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("tier", "threshold"), [(Tier.ELITE, 90), (Tier.GOOD, 70), (Tier.ACCEPTABLE, 50)])
def test_new_filter(tier: Tier, threshold: int) -> None:
    bloom = new_filter("review", tier, "me", NOW)
    assert (bloom.min_reputation, len(bloom.filter), bloom.peer_count, bloom.key) == (
        threshold,
        DEFAULT_FILTER_BYTES,
        0,
        f"review:{tier}",
    )
    assert len(new_filter("review", tier, "me", NOW, size_bytes=8192).filter) == 8192


@pytest.mark.parametrize("size", [0, 8193])
def test_filter_size_is_bounded(size: int) -> None:
    with pytest.raises(InvalidArgument):
        new_filter("review", Tier.GOOD, "me", NOW, size_bytes=size)


def test_merge_ors_bits_sums_counts_and_keeps_the_latest_time() -> None:
    a = add_peer(new_filter("r", Tier.GOOD, "a", 100, size_bytes=64), "x")
    b = add_peer(add_peer(new_filter("r", Tier.GOOD, "b", 200, size_bytes=64), "y"), "z")
    merged = merge_filters(a, b)
    assert merged.filter == bytes(p | q for p, q in zip(a.filter, b.filter, strict=True))
    assert (merged.peer_count, merged.created_at, merged.created_by) == (3, 200, "a")
    assert all(might_contain(merged, p) for p in ("x", "y", "z"))


@pytest.mark.parametrize(
    "other_filter",
    [
        new_filter("other", Tier.GOOD, "b", 1, size_bytes=64),
        new_filter("r", Tier.ELITE, "b", 1, size_bytes=64),
        new_filter("r", Tier.GOOD, "b", 1, size_bytes=32),
    ],
)
def test_merge_refuses_different_filters(other_filter: ReputationFilter) -> None:
    with pytest.raises(InvalidArgument):
        merge_filters(new_filter("r", Tier.GOOD, "a", 1, size_bytes=64), other_filter)


def test_signature_matches_javascript_and_round_trips() -> None:
    bloom = add_peer(new_filter("review", Tier.ELITE, SEED_PEER, NOW, size_bytes=4), "peer-a")
    assert bloom.signing_input().decode() == (
        f'{{"capability":"review","createdAt":1700000000000,"createdBy":"{SEED_PEER}","filter":[104,0,224,0],'
        '"minReputation":90,"peerCount":1,"tier":"elite"}'
    )
    signed = sign_filter(bloom, signer)
    assert signed.signature is not None and signed.signature.hex() == NODE_SIGNATURE_HEX
    assert signed.public_key == signer.public_key
    verify_filter(signed, verifier, expected_size=4)
    payload = signed.to_json()
    assert '"filter":[104,0,224,0]' in payload  # byte arrays as JSON numbers, as upstream serializes them
    assert ReputationFilter.from_json(payload) == signed


def test_from_json_accepts_base64_byte_fields() -> None:
    signed = sign_filter(new_filter("r", Tier.GOOD, SEED_PEER, NOW, size_bytes=4), signer)
    doc = json.loads(signed.to_json())
    doc["signature"] = base64.b64encode(signed.signature or b"").decode()
    doc["publicKey"] = base64.b64encode(signed.public_key or b"").decode()
    assert ReputationFilter.from_json(json.dumps(doc)) == signed


def signed_filter(**changes: object) -> ReputationFilter:
    bloom = add_peer(new_filter("review", Tier.GOOD, SEED_PEER, NOW), PEER)
    return replace(sign_filter(bloom, signer), **changes)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"filter": bytes(512)}, "size 512 bytes"),
        ({"min_reputation": 90}, "not the good threshold"),
        ({"peer_count": -1}, "peerCount"),
        ({"peer_count": 1.5}, "peerCount"),
        ({"created_at": 0}, "createdAt"),
        ({"created_by": ""}, "createdBy"),
    ],
)
def test_verify_refuses_bad_content(changes: dict[str, object], problem: str) -> None:
    with pytest.raises(InvalidArgument) as info:
        verify_filter(signed_filter(**changes), verifier)
    assert info.value.reason == Reason.INVALID_PAYLOAD
    assert problem in info.value.message


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"signature": None}, "unsigned"),
        ({"public_key": None}, "unsigned"),
        ({"signature": bytes(63)}, "63 bytes"),
        ({"public_key": bytes(31)}, "not an Ed25519 key"),
        ({"public_key": other.public_key}, "does not belong to createdBy"),
        ({"peer_count": 2}, "does not verify"),
        ({"filter": bytes(DEFAULT_FILTER_BYTES)}, "does not verify"),
        ({"created_by": other.peer_id}, "does not belong to createdBy"),
    ],
)
def test_verify_refuses_bad_signatures(changes: dict[str, object], problem: str) -> None:
    with pytest.raises(Unauthenticated) as info:
        verify_filter(signed_filter(**changes), verifier)
    assert info.value.reason == Reason.SIGNATURE_INVALID
    assert problem in info.value.message


def test_only_the_author_signs() -> None:
    with pytest.raises(InvalidArgument) as info:
        sign_filter(new_filter("r", Tier.GOOD, "someone-else", NOW), signer)
    assert info.value.reason == Reason.SIGNATURE_INVALID


@pytest.mark.parametrize(
    "payload",
    [
        "not json",
        "[]",
        '{"capability":"r","tier":"platinum","minReputation":1,"filter":[],"peerCount":0,"createdAt":1,"createdBy":"p"}',
        '{"capability":"r","tier":"good","minReputation":70,"filter":[256],"peerCount":0,"createdAt":1,"createdBy":"p"}',
        '{"capability":"r","tier":"good","minReputation":70,"filter":[0],"peerCount":"1","createdAt":1,"createdBy":"p"}',
        '{"capability":"r","tier":"good","minReputation":70,"filter":[0],"peerCount":0,"createdAt":NaN,"createdBy":"p"}',
        '{"tier":"good","minReputation":70,"filter":[0],"peerCount":0,"createdAt":1,"createdBy":"p"}',
    ],
)
def test_from_json_refuses_malformed_payloads(payload: str) -> None:
    with pytest.raises(InvalidArgument) as info:
        ReputationFilter.from_json(payload)
    assert info.value.reason == Reason.INVALID_PAYLOAD


# ---------------------------------------------------------------------------------------------------------------------
# The node's filters
# ---------------------------------------------------------------------------------------------------------------------


def test_build_local_filters_per_capability_and_tier() -> None:
    scores = {"elite-peer": 95, "good-peer": 75, "ok-peer": 50, "bad-peer": 49}
    filters = build_local_filters(["review", "search", "review"], scores, "me", NOW)
    assert sorted(filters) == [f"{c}:{t}" for c in ("review", "search") for t in ("acceptable", "elite", "good")]
    counts = {key: f.peer_count for key, f in filters.items() if key.startswith("review")}
    assert counts == {"review:elite": 1, "review:good": 2, "review:acceptable": 3}
    assert not might_contain(filters["review:acceptable"], "bad-peer")


def test_empty_filters_are_dropped() -> None:
    assert build_local_filters(["review"], {"p": 10}, "me", NOW) == {}
    assert list(build_local_filters(["review"], {"p": 70}, "me", NOW)) == ["review:good", "review:acceptable"]


def test_book_receives_merges_and_finds_candidates_elite_first() -> None:
    book = FilterBook(local=build_local_filters(["review"], {"local-elite": 92}, "me", NOW))
    received = sign_filter(add_peer(new_filter("review", Tier.GOOD, SEED_PEER, NOW), "remote-good"), signer)
    book.receive(received, verifier)
    again = sign_filter(add_peer(new_filter("review", Tier.GOOD, SEED_PEER, NOW + 5), "remote-good-2"), signer)
    merged = book.receive(again, verifier)
    assert (merged.peer_count, merged.created_at) == (2, NOW + 5)

    peers = ["remote-good", "unknown", "local-elite", "remote-good-2"]
    assert book.find_candidates("review", peers) == [
        ("local-elite", Tier.ELITE),
        ("remote-good", Tier.GOOD),
        ("remote-good-2", Tier.GOOD),
    ]
    # --bloom-tier good tests only the good filters; the local elite peer is in the local good filter too.
    assert book.find_candidates("review", peers, Tier.GOOD) == [
        ("remote-good", Tier.GOOD),
        ("local-elite", Tier.GOOD),
        ("remote-good-2", Tier.GOOD),
    ]
    assert book.find_candidates("review", peers, Tier.ELITE) == [("local-elite", Tier.ELITE)]
    assert book.find_candidates("search", peers) == []


def test_book_refuses_an_invalid_filter_and_keeps_its_state() -> None:
    book = FilterBook()
    forged = replace(sign_filter(new_filter("review", Tier.GOOD, SEED_PEER, NOW), signer), peer_count=5)
    with pytest.raises(Unauthenticated):
        book.receive(forged, verifier)
    small = sign_filter(new_filter("review", Tier.GOOD, SEED_PEER, NOW, size_bytes=512), signer)
    with pytest.raises(InvalidArgument):
        book.receive(small, verifier)
    assert book.merged == {}


# ---------------------------------------------------------------------------------------------------------------------
# Properties
# ---------------------------------------------------------------------------------------------------------------------

peer_ids = st.lists(st.text(min_size=1, max_size=20), max_size=30)


def filled(items: list[str], created_at: int = 1, author: str = "a") -> ReputationFilter:
    bloom = new_filter("r", Tier.GOOD, author, created_at, size_bytes=32)
    for item in items:
        bloom = add_peer(bloom, item)
    return bloom


@given(peer_ids)
def test_no_false_negatives(items: list[str]) -> None:
    bloom = filled(items)
    assert all(might_contain(bloom, item) for item in items)
    assert bloom.peer_count == len(items)


@given(peer_ids, peer_ids, st.integers(1, 10**13), st.integers(1, 10**13))
def test_merge_is_commutative_and_loses_nothing(a_items: list[str], b_items: list[str], t1: int, t2: int) -> None:
    a, b = filled(a_items, t1, "a"), filled(b_items, t2, "b")
    ab, ba = merge_filters(a, b), merge_filters(b, a)
    assert (ab.filter, ab.peer_count, ab.created_at) == (ba.filter, ba.peer_count, ba.created_at)
    assert all(might_contain(ab, item) for item in a_items + b_items)
    assert ab.created_at == max(t1, t2)
