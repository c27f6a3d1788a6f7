"""How a peer meeting several requirements is scored and ranked, and what a query's `metadata.features` may hold:
rules mutation testing (`make mutation`) found no test held."""

from __future__ import annotations

from typing import Any

import pytest

from ecco.errors import InvalidArgument, Reason
from ecco.services.discovery.matching import CandidatePeer, CapabilityQuery, match_peer, match_peers


def cap(name: str, **extra: Any) -> dict[str, Any]:
    return {"type": "agent", "name": name, "version": "1.0.0", **extra}


def test_a_peer_meeting_two_requirements_scores_their_mean() -> None:
    peer = CandidatePeer("p", [cap("review"), cap("translate")])
    both = match_peer(peer, CapabilityQuery(({"name": "review"}, {"name": "translate"})))
    assert both is not None and both.match_score == pytest.approx(1.0)
    assert both.matched_capabilities == (cap("review"), cap("translate"))
    uneven = match_peer(peer, CapabilityQuery(({"name": "review"}, {"name": "translates"})))
    assert uneven is not None and uneven.match_score == pytest.approx((1.0 + 0.91) / 2)


def test_the_peer_meeting_more_requirements_ranks_first() -> None:
    query = CapabilityQuery(({"name": "review"}, {"name": "translate"}))
    peers = [CandidatePeer("one", [cap("review")]), CandidatePeer("two", [cap("review"), cap("translate")])]
    assert [m.peer_id for m in match_peers(peers, query)] == ["two", "one"]


def test_missing_reputation_ranks_between_positive_and_negative_reputation() -> None:
    peers = [
        CandidatePeer("negative", [cap("r")], reputation=-0.5),
        CandidatePeer("missing", [cap("r")]),
        CandidatePeer("positive", [cap("r")], reputation=0.5),
    ]
    assert [m.peer_id for m in match_peers(peers, CapabilityQuery(({"name": "r"},)))] == [
        "positive",
        "missing",
        "negative",
    ]


@pytest.mark.parametrize(
    "metadata",
    [{"features": "python"}, {"features": ["python", ""]}, {"features": [1]}],
)
def test_features_inside_metadata_must_be_a_list_of_names(metadata: dict[str, Any]) -> None:
    with pytest.raises(InvalidArgument) as info:
        CapabilityQuery.from_raw({"requiredCapabilities": [{"name": "r", "metadata": metadata}]})
    assert (info.value.reason, info.value.field) == (Reason.INVALID_CAPABILITY, "--raw")


def test_a_top_level_features_list_moves_into_metadata() -> None:
    query = CapabilityQuery.from_raw({"requiredCapabilities": [{"name": "r", "features": ["py"], "metadata": {}}]})
    assert query.required_capabilities == ({"name": "r", "metadata": {"features": ["py"]}},)
