"""The vocabulary of options a user gives, as CLI flags or API fields, and its parsing: booleans, strategy and tier
names, and the phased-discovery options (upstream-ecco §7.3, §8.1).

The CLI and the services both parse with these functions, so a flag and the API field behind it accept the same
names and fail with the same reason; errors name the CLI flag as `field`, because that is what a person typed.
Pure logic: no I/O, no other ecco module but `ecco.errors`.

Phases run in the given order and accumulate unique matches; discovery stops as soon as matches >= minPeers:
    proximity  add BLE-discovered peers, then match locally
    local      add the peers libp2p found (mDNS, ...), then a gossip capability query (timeout = phaseTimeout)
    internet   DHT findProviders for each required capability, then match locally
    fallback   the full findPeers (§7.2)
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Final, TypeVar

from ecco.errors import InvalidArgument, Reason

E = TypeVar("E", bound=StrEnum)


class Selection(StrEnum):
    ALL = "all"
    TOP_N = "top-n"
    ROUND_ROBIN = "round-robin"
    RANDOM = "random"
    WEIGHTED = "weighted"


class Aggregation(StrEnum):
    MAJORITY_VOTE = "majority-vote"
    WEIGHTED_VOTE = "weighted-vote"
    BEST_SCORE = "best-score"
    ENSEMBLE = "ensemble"
    CONSENSUS_THRESHOLD = "consensus-threshold"
    FIRST_RESPONSE = "first-response"
    LONGEST = "longest"
    SYNTHESIZED_CONSENSUS = "synthesized-consensus"
    CUSTOM = "custom"


QUERY_DEADLINE_MS = 30_000
"""The default overall deadline of a consensus query and of `ask` (`--timeout`): discovery, every answer and
aggregation; a silent agent costs at most this."""


class Similarity(StrEnum):
    EXACT = "exact"
    TEXT_OVERLAP = "text-overlap"
    PEER_EMBEDDING = "peer-embedding"
    """Cosine similarity of embeddings from a peer with an `embedding` capability (upstream §7.7 exchange)."""
    CONTENT = "content"
    """What answers say beyond the prompt: content words, numbers with units, yes/no (the default)."""


class DiscoveryMode(StrEnum):
    PHASED = "phased"
    """Phased discovery first (`consensus query`)."""
    FIND = "find"
    """A plain find (`consensus request`)."""


class Tier(StrEnum):
    ELITE = "elite"
    GOOD = "good"
    ACCEPTABLE = "acceptable"


TIERS: Final = (Tier.ELITE, Tier.GOOD, Tier.ACCEPTABLE)
"""Best first; bloom lookups and candidate ordering follow this order."""


def parse_choice(kind: type[E], value: str, flag: str) -> E:
    """A strategy by its upstream name (case-insensitive); INVALID_ARGUMENT naming the flag and the choices."""
    try:
        return kind(value.strip().lower())
    except ValueError:
        choices = "|".join(member.value for member in kind)
        raise InvalidArgument(
            f"{flag}: unknown strategy {value!r} (expected {choices})", Reason.INVALID_ARGUMENT, field=flag
        ) from None


def parse_tier(text: str, field: str = "--bloom-tier") -> Tier:
    """`--bloom-tier elite|good|acceptable`. Raises InvalidArgument(UNKNOWN_REPUTATION_TIER)."""
    try:
        return Tier(text.strip().lower())
    except ValueError:
        names = ", ".join(TIERS)
        raise InvalidArgument(
            f"{field}: unknown reputation tier {text!r} (expected one of {names})",
            Reason.UNKNOWN_REPUTATION_TIER,
            field=field,
        ) from None


class DiscoveryPhase(StrEnum):
    PROXIMITY = "proximity"
    LOCAL = "local"
    INTERNET = "internet"
    FALLBACK = "fallback"


DEFAULT_PHASES: Final = (
    DiscoveryPhase.PROXIMITY,
    DiscoveryPhase.LOCAL,
    DiscoveryPhase.INTERNET,
    DiscoveryPhase.FALLBACK,
)
DEFAULT_PHASE_TIMEOUT_MS: Final = 5000
MAX_PHASE_TIMEOUT_MS: Final = 60_000
DEFAULT_MIN_PEERS: Final = 1
DEFAULT_PREFER_PROXIMITY: Final = True


def parse_phases(phases: str | Iterable[str] | None, field: str = "--phases") -> tuple[DiscoveryPhase, ...]:
    """A comma list (or a list of names, each possibly a comma list) of phases, in order.

    Nothing given, or only blanks, means the default order. Names are case-insensitive; a repeated phase runs
    once, where it first appears. Raises InvalidArgument(UNKNOWN_DISCOVERY_PHASE)."""
    if phases is None:
        return DEFAULT_PHASES
    items = [phases] if isinstance(phases, str) else list(phases)
    names = [piece.strip().lower() for item in items for piece in item.split(",")]
    if not any(names):
        return DEFAULT_PHASES
    parsed: list[DiscoveryPhase] = []
    for name in names:
        try:
            phase = DiscoveryPhase(name)
        except ValueError:
            known = ", ".join(DEFAULT_PHASES)
            shown = repr(name) if name else "an empty name"
            raise InvalidArgument(
                f"{field}: unknown discovery phase {shown} (expected a comma list of {known})",
                Reason.UNKNOWN_DISCOVERY_PHASE,
                field=field,
            ) from None
        if phase not in parsed:
            parsed.append(phase)
    return tuple(parsed)


def parse_bool(value: bool | str, field: str) -> bool:
    """`true|false` flags (also yes/no, 1/0, on/off, any case)."""
    if isinstance(value, bool):
        return value
    text = value.strip().lower()
    if text in ("true", "yes", "1", "on"):
        return True
    if text in ("false", "no", "0", "off"):
        return False
    raise InvalidArgument(f"{field}: expected true or false, got {value!r}", Reason.INVALID_ARGUMENT, field=field)


def _positive_int(value: int, field: str, what: str, maximum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidArgument(
            f"{field}: {what} must be a positive integer, got {value!r}", Reason.INVALID_ARGUMENT, field=field
        )
    if maximum is not None and value > maximum:
        raise InvalidArgument(
            f"{field}: {what} must be at most {maximum}, got {value!r}", Reason.INVALID_ARGUMENT, field=field
        )
    return value


@dataclass(frozen=True)
class DiscoveryOptions:
    """Validated phased-discovery options, with upstream's defaults."""

    phases: tuple[DiscoveryPhase, ...] = DEFAULT_PHASES
    phase_timeout_ms: int = DEFAULT_PHASE_TIMEOUT_MS
    min_peers: int = DEFAULT_MIN_PEERS
    prefer_proximity: bool = DEFAULT_PREFER_PROXIMITY
    bloom_tier: Tier | None = None
    """Keep only peers whose reputation bloom filter holds them in this tier; None means no restriction."""

    @classmethod
    def from_flags(
        cls,
        phases: str | Iterable[str] | None = None,
        phase_timeout_ms: int | None = None,
        min_peers: int | None = None,
        prefer_proximity: bool | str | None = None,
        bloom_tier: str | None = None,
    ) -> DiscoveryOptions:
        """Options from flags; None (or, for `phases`, blank) takes the default. Raises InvalidArgument with the
        flag as `field`: UNKNOWN_DISCOVERY_PHASE for --phases, UNKNOWN_REPUTATION_TIER for --bloom-tier,
        INVALID_ARGUMENT for the others."""
        return cls(
            phases=parse_phases(phases),
            phase_timeout_ms=DEFAULT_PHASE_TIMEOUT_MS
            if phase_timeout_ms is None
            else _positive_int(
                phase_timeout_ms, "--phase-timeout", "the phase timeout in milliseconds", MAX_PHASE_TIMEOUT_MS
            ),
            min_peers=DEFAULT_MIN_PEERS
            if min_peers is None
            else _positive_int(min_peers, "--min-peers", "the minimum number of peers"),
            prefer_proximity=DEFAULT_PREFER_PROXIMITY
            if prefer_proximity is None
            else parse_bool(prefer_proximity, "--prefer-proximity"),
            bloom_tier=None if bloom_tier is None else parse_tier(bloom_tier),
        )

    def run_order(self) -> tuple[DiscoveryPhase, ...]:
        """The phases in the order they run: as given, except that `prefer_proximity` moves proximity first (as
        upstream's hybrid discovery puts its proximity transport first)."""
        if self.prefer_proximity and DiscoveryPhase.PROXIMITY in self.phases:
            return (DiscoveryPhase.PROXIMITY, *(p for p in self.phases if p != DiscoveryPhase.PROXIMITY))
        return self.phases

    def enough(self, match_count: int) -> bool:
        """True once discovery may stop: it has at least `min_peers` unique matches."""
        return match_count >= self.min_peers
