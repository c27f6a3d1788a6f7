"""Reputation arithmetic, tiers, latency zones and ranking (upstream-ecco §7.4, §7.6, §7.7), with hand-computed
values."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ecco.errors import InvalidArgument, Reason
from ecco.parsing import Tier, parse_tier
from ecco.services.discovery.reputation import (
    LatencyZone,
    LocalReputation,
    RankInput,
    classify_latency,
    combined_score,
    discovery_score,
    effective_score,
    js_round,
    rank_peers,
    select_by_zone,
    tier_for_score,
    zone_weight,
)

# ---------------------------------------------------------------------------------------------------------------------
# Local reputation
# ---------------------------------------------------------------------------------------------------------------------


def test_success_and_failure_move_the_score_by_one() -> None:
    rep = LocalReputation().record(True, now_ms=5).record(True).record(False, now_ms=9)
    assert rep == LocalReputation(local_score=1, total_jobs=3, successful_jobs=2, failed_jobs=1, last_interaction_at=9)


def test_local_score_is_clamped() -> None:
    assert LocalReputation(local_score=1000).record(True).local_score == 1000
    assert LocalReputation(local_score=-1000).record(False).local_score == -1000
    assert LocalReputation(local_score=999).record(True).local_score == 1000


@given(st.lists(st.booleans(), max_size=60), st.integers(-1000, 1000))
def test_local_score_stays_in_range(outcomes: list[bool], start: int) -> None:
    rep = LocalReputation(local_score=start)
    for success in outcomes:
        rep = rep.record(success)
    assert -1000 <= rep.local_score <= 1000
    assert rep.total_jobs == len(outcomes) == rep.successful_jobs + rep.failed_jobs


# ---------------------------------------------------------------------------------------------------------------------
# Discovery score
# ---------------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("local", "feedback", "score"),
    [
        (1, None, 50),  # worked value: 1001/2000 = 0.5005 -> 50 (acceptable)
        (0, 92, 96),  # worked value: local 0 is not counted; 192/200 = 0.96
        (1, 92, 81),  # worked value: (0.5005 x 0.25 + 0.96 x 0.5) / 0.75 = 0.80683 -> 81
        (0, None, 0),  # no data
        (-1, None, 50),  # 999/2000 = 0.4995 -> 49.95 -> 50
        (1000, None, 100),
        (-1000, None, 0),
        (789, None, 89),  # 1789/2000 = 0.8945 -> 89
        (790, None, 90),  # 89.5 rounds up, as JavaScript's Math.round does: elite from local data alone
        (0, -100, 0),
        (0, 100, 100),
        (0, 150, 100),  # clamped to 100
        (0, -150, 0),  # clamped to 0
        (-1000, 100, 67),  # (0 x 0.25 + 1 x 0.5) / 0.75 = 0.6667
    ],
)
def test_discovery_score(local: int, feedback: float | None, score: int) -> None:
    assert discovery_score(local, feedback) == score


def test_js_round_rounds_halves_up() -> None:
    assert [js_round(x) for x in (0.5, 1.5, 2.5, -0.5, -1.5, 89.5, 89.49)] == [1, 2, 3, 0, -1, 90, 89]


@given(st.integers(-1000, 1000), st.none() | st.floats(-1000, 1000))
def test_discovery_score_is_between_0_and_100(local: int, feedback: float | None) -> None:
    assert 0 <= discovery_score(local, feedback) <= 100


def test_effective_score() -> None:
    assert effective_score(10, 50, 9) == 60  # 10 + 50 x min(1, log10(10))
    assert effective_score(10, 500, 99) == 110  # feedback clamped to 100
    assert effective_score(0, 100, 1) == pytest.approx(100 * math.log10(2))  # 30.103
    assert effective_score(10, 50, 0) == 10
    assert effective_score(10) == 10


# ---------------------------------------------------------------------------------------------------------------------
# Tiers
# ---------------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("score", "tier"),
    [(100, Tier.ELITE), (90, Tier.ELITE), (89.9, Tier.GOOD), (70, Tier.GOOD), (69, Tier.ACCEPTABLE),
     (50, Tier.ACCEPTABLE), (49.9, None), (0, None)],
)  # fmt: skip
def test_tier_for_score(score: float, tier: Tier | None) -> None:
    assert tier_for_score(score) == tier


def test_parse_tier() -> None:
    assert parse_tier("elite") is Tier.ELITE
    assert parse_tier(" Good ") is Tier.GOOD
    assert parse_tier("acceptable") is Tier.ACCEPTABLE


@pytest.mark.parametrize("text", ["platinum", "", "elite,good"])
def test_unknown_tier_is_refused(text: str) -> None:
    with pytest.raises(InvalidArgument) as info:
        parse_tier(text)
    assert info.value.reason == Reason.UNKNOWN_REPUTATION_TIER
    assert info.value.field == "--bloom-tier"
    assert info.value.code == "INVALID_ARGUMENT"
    assert "elite, good, acceptable" in info.value.message


# ---------------------------------------------------------------------------------------------------------------------
# Latency zones
# ---------------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rtt", "zone"),
    [(0, "local"), (49.9, "local"), (50, "regional"), (149, "regional"), (150, "continental"),
     (299.9, "continental"), (300, "global"), (5000, "global")],
)  # fmt: skip
def test_classify_latency(rtt: float, zone: str) -> None:
    assert classify_latency(rtt) == LatencyZone(zone)


def test_zone_weights() -> None:
    assert [zone_weight(z) for z in LatencyZone] == [1.0, 0.8, 0.6, 0.4]
    assert zone_weight(None) == 0.5


def test_select_by_zone_walks_outwards() -> None:
    peers = ["g", "a", "b", "u", "a2"]
    zones = {"a": LatencyZone.LOCAL, "a2": LatencyZone.LOCAL, "b": LatencyZone.REGIONAL, "g": LatencyZone.GLOBAL}
    assert select_by_zone(peers, zones, 2) == ["a", "a2"]
    assert select_by_zone(peers, zones, 3) == ["a", "a2", "b"]
    assert select_by_zone(peers, zones, 10) == ["a", "a2", "b", "g"]  # "u" has no zone
    assert select_by_zone(peers, zones, 10, preferred=LatencyZone.REGIONAL) == ["b", "g"]
    assert select_by_zone(peers, zones, 10, max_zone=LatencyZone.REGIONAL) == ["a", "a2", "b"]


# ---------------------------------------------------------------------------------------------------------------------
# Ranking
# ---------------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("peer", "score"),
    [
        # 0.4 x 0.8 + 0.3 + 0.3 x 0.96 + 0.2 x 1.0
        (RankInput("p", 0.8, 96, Tier.ELITE, LatencyZone.LOCAL), 1.108),
        # 0.4 x 1.0 + 0.15 + 0.3 x 0.7 + 0.2 x 0.8
        (RankInput("p", 1.0, 70, Tier.GOOD, LatencyZone.REGIONAL), 0.92),
        # 0.4 x 0.5 + 0.05 + 0.3 x 0.5 + 0.2 x 0.6
        (RankInput("p", 0.5, 50, Tier.ACCEPTABLE, LatencyZone.CONTINENTAL), 0.52),
        # 0.4 x 0.5 + 0 + 0 + 0.2 x 0.5 (unknown zone)
        (RankInput("p", 0.5), 0.3),
        # reputation clamped to 1; global zone 0.4
        (RankInput("p", 0.0, 250, None, LatencyZone.GLOBAL), 0.38),
    ],
)
def test_combined_score(peer: RankInput, score: float) -> None:
    assert combined_score(peer) == pytest.approx(score)


def test_rank_by_reputation_then_proximity_then_combined_score() -> None:
    peers = [
        RankInput("low-rep-perfect-match", 1.0, 40, Tier.ELITE, LatencyZone.LOCAL, proximity_bonus=1),
        RankInput("high-rep", 0.5, 90),
        RankInput("mid-rep-far", 1.0, 60, None, LatencyZone.GLOBAL),
        RankInput("mid-rep-near", 0.6, 60, None, LatencyZone.LOCAL),
        RankInput("mid-rep-ble", 0.5, 60, proximity_bonus=1),
    ]
    ranked = rank_peers(peers)
    assert [r.peer.peer_id for r in ranked] == [
        "high-rep",
        "mid-rep-ble",
        "mid-rep-far",  # 0.4 + 0.18 + 0.08 = 0.66
        "mid-rep-near",  # 0.24 + 0.18 + 0.2 = 0.62
        "low-rep-perfect-match",
    ]
    assert ranked[2].combined_score == pytest.approx(0.66)
