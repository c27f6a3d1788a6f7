"""Consensus options: upstream defaults, and bad input named by its flag."""

from __future__ import annotations

import pytest

from ecco.errors import InvalidArgument
from ecco.parsing import Aggregation, DiscoveryMode, Selection, Similarity, parse_choice
from ecco.services.consensus.options import ConsensusOptions


def test_defaults_follow_upstream_query_but_bound_the_whole_query() -> None:
    options = ConsensusOptions.create()
    assert (options.selection, options.aggregation) == (Selection.ALL, Aggregation.CONSENSUS_THRESHOLD)
    # upstream waits 60 s per agent; here 30 s is the deadline of the whole query
    assert (options.agent_count, options.min_agents, options.timeout_ms) == (3, 1, 30_000)
    assert (options.similarity, options.similarity_threshold) == (Similarity.CONTENT, 0.9)
    assert ConsensusOptions.create(similarity=Similarity.TEXT_OVERLAP).similarity_threshold == 0.75
    assert (options.consensus_threshold, options.allow_partial, options.include_self) == (0.6, True, False)
    assert options.parameters()["agentCount"] == 33  # `all` asks up to MAX_FANOUT
    assert parse_choice(Selection, " Top-N ", "--selection") == Selection.TOP_N


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"consensus_threshold": 1.5}, "--consensus-threshold"),
        ({"consensus_threshold": -0.1}, "--consensus-threshold"),
        ({"consensus_threshold": float("nan")}, "--consensus-threshold"),
        ({"agent_count": -1}, "--agent-count"),
        ({"agent_count": 34}, "--agent-count"),
        ({"min_agents": -2}, "--min-agents"),
        ({"timeout_ms": 3_600_001}, "--timeout"),
        ({"similarity_threshold": 2}, "--similarity-threshold"),
        ({"aggregation": Aggregation.CUSTOM}, "--aggregator-cmd"),
        ({"aggregator_cmd": "cat"}, "--aggregator-cmd"),
        ({"mode": DiscoveryMode.FIND, "discovery_given": True}, "--phases"),
    ],
)
def test_bad_values_name_their_flag(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidArgument) as failure:
        ConsensusOptions.create(**kwargs)  # type: ignore[arg-type]
    assert failure.value.field == field


def test_unknown_strategy_names_the_choices() -> None:
    with pytest.raises(InvalidArgument) as failure:
        parse_choice(Aggregation, "mode", "--aggregation")
    assert failure.value.field == "--aggregation" and "majority-vote|" in failure.value.message
