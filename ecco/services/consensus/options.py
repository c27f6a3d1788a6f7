"""Consensus parameters (upstream-ecco §8.1): strategy names, defaults and validation, checked once here so the CLI,
the API and the flow agree on names, defaults and errors. Pure logic: no I/O.

Errors name the CLI flag as `field` (as discovery does), because that is what a person typed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Final

from ecco.errors import InvalidArgument, Reason
from ecco.parsing import (
    QUERY_DEADLINE_MS,
    Aggregation,
    DiscoveryMode,
    DiscoveryOptions,
    Selection,
    Similarity,
)
from ecco.services.discovery import CapabilityQuery

MAX_FANOUT: Final = 33
DEFAULT_AGENT_COUNT: Final = 3
DEFAULT_MIN_AGENTS: Final = 1
DEFAULT_TIMEOUT_MS: Final = QUERY_DEADLINE_MS
MAX_TIMEOUT_MS: Final = 3_600_000
DEFAULT_CONSENSUS_THRESHOLD: Final = 0.6
DEFAULT_SIMILARITY: Final = Similarity.CONTENT
"""The best measured on the labelled set in tests/data/similarity_eval.json (README, "Which answers agree")."""
DEFAULT_SIMILARITY_THRESHOLD: Final = 0.9
"""For content similarity (the best measured); text overlap and peer embeddings keep upstream's 0.75."""
UPSTREAM_SIMILARITY_THRESHOLD: Final = 0.75
SELF_SYNTHESIZER: Final = "self"
MAX_PROMPT_CHARS: Final = 1_000_000


def _count(value: int | None, flag: str, default: int, maximum: int) -> int:
    if value is None or value == 0:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= maximum:
        raise InvalidArgument(
            f"{flag}: must be an integer from 1 to {maximum}, got {value!r}", Reason.INVALID_ARGUMENT, field=flag
        )
    return value


def _fraction(value: float | None, flag: str, default: float) -> float:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or not 0 <= value <= 1:
        raise InvalidArgument(
            f"{flag}: must be a number from 0 to 1, got {value!r}", Reason.INVALID_ARGUMENT, field=flag
        )
    return float(value)


@dataclass(frozen=True)
class ConsensusOptions:
    """Validated consensus parameters with upstream's `query` defaults (build them with `create`)."""

    mode: DiscoveryMode = DiscoveryMode.PHASED
    query: CapabilityQuery = field(default_factory=CapabilityQuery)
    discovery: DiscoveryOptions = field(default_factory=DiscoveryOptions)
    selection: Selection = Selection.ALL
    aggregation: Aggregation = Aggregation.CONSENSUS_THRESHOLD
    agent_count: int = DEFAULT_AGENT_COUNT
    min_agents: int = DEFAULT_MIN_AGENTS
    timeout_ms: int = DEFAULT_TIMEOUT_MS
    consensus_threshold: float = DEFAULT_CONSENSUS_THRESHOLD
    allow_partial: bool = True
    decide_early: bool = True
    """Stop waiting as soon as the outcome is decided (aggregation.decided); False waits for every agent."""
    system_prompt: str = ""
    include_self: bool = False
    synthesizer: str = SELF_SYNTHESIZER
    aggregator_cmd: str = ""
    similarity: Similarity = DEFAULT_SIMILARITY
    similarity_threshold: float = DEFAULT_SIMILARITY_THRESHOLD

    @classmethod
    def create(
        cls,
        *,
        mode: DiscoveryMode = DiscoveryMode.PHASED,
        query: CapabilityQuery | None = None,
        discovery: DiscoveryOptions | None = None,
        discovery_given: bool = False,
        selection: Selection = Selection.ALL,
        aggregation: Aggregation = Aggregation.CONSENSUS_THRESHOLD,
        agent_count: int | None = None,
        min_agents: int | None = None,
        timeout_ms: int | None = None,
        consensus_threshold: float | None = None,
        allow_partial: bool | None = None,
        decide_early: bool | None = None,
        system_prompt: str = "",
        include_self: bool | None = None,
        synthesizer: str = "",
        aggregator_cmd: str = "",
        similarity: Similarity = DEFAULT_SIMILARITY,
        similarity_threshold: float | None = None,
    ) -> ConsensusOptions:
        """None and 0 take the defaults. Raises InvalidArgument naming the flag at fault."""
        if mode == DiscoveryMode.FIND and discovery_given:
            raise InvalidArgument(
                "consensus request uses a plain find: the discovery options (--phases, --phase-timeout, "
                "--min-peers, --prefer-proximity) only apply to consensus query",
                Reason.INVALID_ARGUMENT,
                field="--phases",
            )
        if aggregation == Aggregation.CUSTOM and not aggregator_cmd.strip():
            raise InvalidArgument(
                "--aggregation custom needs --aggregator-cmd 'CMD'", Reason.INVALID_ARGUMENT, field="--aggregator-cmd"
            )
        if aggregation != Aggregation.CUSTOM and aggregator_cmd:
            raise InvalidArgument(
                "--aggregator-cmd only applies with --aggregation custom",
                Reason.INVALID_ARGUMENT,
                field="--aggregator-cmd",
            )
        return cls(
            mode=mode,
            query=query or CapabilityQuery(),
            discovery=discovery or DiscoveryOptions(),
            selection=selection,
            aggregation=aggregation,
            agent_count=_count(agent_count, "--agent-count", DEFAULT_AGENT_COUNT, MAX_FANOUT),
            min_agents=_count(min_agents, "--min-agents", DEFAULT_MIN_AGENTS, MAX_FANOUT + 1),
            timeout_ms=_count(timeout_ms, "--timeout", DEFAULT_TIMEOUT_MS, MAX_TIMEOUT_MS),
            consensus_threshold=_fraction(consensus_threshold, "--consensus-threshold", DEFAULT_CONSENSUS_THRESHOLD),
            allow_partial=True if allow_partial is None else allow_partial,
            decide_early=True if decide_early is None else decide_early,
            system_prompt=system_prompt,
            include_self=bool(include_self),
            synthesizer=synthesizer.strip() or SELF_SYNTHESIZER,
            aggregator_cmd=aggregator_cmd.strip(),
            similarity=similarity,
            similarity_threshold=_fraction(
                similarity_threshold,
                "--similarity-threshold",
                DEFAULT_SIMILARITY_THRESHOLD if similarity == Similarity.CONTENT else UPSTREAM_SIMILARITY_THRESHOLD,
            ),
        )

    def parameters(self) -> dict[str, Any]:
        """The effective parameters, defaults filled in, as the receipt records them (camelCase JSON)."""
        doc: dict[str, Any] = {
            "discovery": str(self.mode),
            "selection": str(self.selection),
            "aggregation": str(self.aggregation),
            "agentCount": MAX_FANOUT if self.selection == Selection.ALL else self.agent_count,
            "minAgents": self.min_agents,
            "timeoutMs": self.timeout_ms,
            "consensusThreshold": self.consensus_threshold,
            "allowPartial": self.allow_partial,
            "decideEarly": self.decide_early,
            "includeSelf": self.include_self,
            "similarity": str(self.similarity),
            "similarityThreshold": self.similarity_threshold,
        }
        if self.system_prompt:
            doc["systemPrompt"] = self.system_prompt
        if self.aggregation == Aggregation.SYNTHESIZED_CONSENSUS:
            doc["synthesizer"] = self.synthesizer
        if self.aggregation == Aggregation.CUSTOM:
            doc["aggregatorCmd"] = self.aggregator_cmd
        return doc
