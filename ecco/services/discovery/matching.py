"""The capability matcher (upstream-ecco §6) and the capability query it answers.

Upstream peers rank each other with this exact arithmetic, so a Python node must reproduce it to agree on who
matches a query and in which order. Weights: type 0.3, name 0.3, version 0.1, features 0.2 + metadata 0.1 scored
together as one 0.3 term. The order of the float operations follows upstream so scores are bit-identical.

Deliberate differences from upstream, each marked `# upstream:` below:
- features are read from `metadata.features`, falling back to a top-level `features` (§13 #9);
- a name whose lowercased alphanumerics are empty never matches fuzzily (upstream's `"".includes` matches all);
- an empty `metadata` requirement (`{}`) counts as "not required" (upstream scores it 0 because `{}` is truthy,
  and every capability normalised by ecco.services.discovery.capabilities carries `metadata: {}`);
- an empty wanted `features` list counts as fully present (upstream divides by zero and gets NaN).

Pure logic: no I/O.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Protocol

from ecco.errors import InvalidArgument, Reason
from ecco.services.discovery.capabilities import SEMVER

TYPE_WEIGHT: Final = 0.3
NAME_WEIGHT: Final = 0.3
VERSION_WEIGHT: Final = 0.1
FEATURE_WEIGHT: Final = 0.2
METADATA_WEIGHT: Final = 0.1
FUZZY_NAME_FACTOR: Final = 0.7
FUZZY_VALUE_CREDIT: Final = 0.7
FUZZY_SIMILARITY: Final = 0.85
MATCH_THRESHOLD: Final = 0.5
"""A requirement counts only when its best capability scores strictly more than this."""
PREFERRED_BONUS: Final = 0.1
NO_REQUIREMENT_SCORE: Final = 0.5
TIE_EPSILON: Final = 0.01

_VERSION = re.compile(r"^(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?")
_NOT_ALNUM = re.compile(r"[^a-z0-9]")


# ---------------------------------------------------------------------------------------------------------------------
# String similarity
# ---------------------------------------------------------------------------------------------------------------------


def levenshtein(a: str, b: str) -> int:
    """Edit distance (insert, delete, substitute; each costs 1), two-row dynamic programming."""
    if len(a) < len(b):
        a, b = b, a
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def similarity(a: str, b: str) -> float:
    """1 - distance / longer length: 1.0 for equal strings, 0.0 for entirely different ones of equal length."""
    longest = max(len(a), len(b))
    return 1.0 if longest == 0 else 1 - levenshtein(a, b) / longest


def _alnum(text: str) -> str:
    return _NOT_ALNUM.sub("", text.lower())


def fuzzy_match(a: str, b: str) -> bool:
    """Upstream's loose name equality: the lowercased alphanumerics of one contain the other's, or they are at
    least 85 % similar by Levenshtein distance. So "code-review" ~ "CodeReview" and "summarise" ~ "summarize"."""
    s1, s2 = _alnum(a), _alnum(b)
    if not s1 or not s2:  # upstream: "" is contained in every string, so a punctuation-only name matched anything
        return False
    return s1 in s2 or s2 in s1 or similarity(s1, s2) >= FUZZY_SIMILARITY


# ---------------------------------------------------------------------------------------------------------------------
# Scoring one capability against one requirement
# ---------------------------------------------------------------------------------------------------------------------


def _fmt(value: float) -> str:
    return f"{value:.4g}"


def version_factor(have: Any, want: str) -> tuple[float, str]:
    """The version term's factor v (the term is 0.1 x v) and why.

    Prerelease rule (the reference names 0.95 and 0.9 without saying which is which; our choice): same
    major.minor.patch with different prerelease tags gives 0.95 when we have the release of a wanted prerelease
    (it is newer), otherwise 0.9. Build metadata (`+...`) is ignored, as upstream's prefix regex ignores it."""
    h = _VERSION.match(have) if isinstance(have, str) else None
    w = _VERSION.match(want)
    if h is None or w is None:
        return 0.5, f"version {have!r} vs wanted {want!r} unparsable"
    h_major, h_minor, h_patch = (int(x) for x in h.group(1, 2, 3))
    w_major, w_minor, w_patch = (int(x) for x in w.group(1, 2, 3))
    h_pre, w_pre = h.group(4), w.group(4)
    if h_major != w_major:
        return 0.2, f"version {have} vs wanted {want}: major mismatch"
    if h_minor == w_minor and h_patch == w_patch:
        if h_pre == w_pre:
            return 1.0, f"version {have} exact"
        if h_pre is None:
            return 0.95, f"version {have} is the release of wanted prerelease {want}"
        return 0.9, f"version {have} vs wanted {want}: prerelease differs"
    if h_minor == w_minor:
        return 0.9, f"version {have} vs wanted {want}: same major.minor"
    if h_minor > w_minor:
        return 0.7, f"version {have} vs wanted {want}: newer minor"
    return 0.5, f"version {have} vs wanted {want}: older minor"


def capability_features(capability: Mapping[str, Any]) -> list[Any] | None:
    """The features a capability offers: `metadata.features` first, then the top-level `features` that upstream's
    AgentCapability declares (§13 #9). `metadata.features` is the canonical place; ecco.services.discovery.capabilities
    moves a top-level list there."""
    metadata = capability.get("metadata")
    if isinstance(metadata, Mapping) and isinstance(metadata.get("features"), list):
        return metadata["features"]
    top = capability.get("features")
    return top if isinstance(top, list) else None


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):  # JavaScript: true !== 1
        return a is b
    return bool(a == b)


def metadata_fraction(have: Mapping[str, Any], wanted: Mapping[str, Any]) -> tuple[float, list[str]]:
    """The fraction of wanted metadata keys that `have` satisfies, with one explanation per key.

    `features` (a list) scores the fraction of wanted features present; any other key scores 1 when equal and
    0.7 when both are strings that match fuzzily."""
    raw_metadata = have.get("metadata")
    metadata: Mapping[str, Any] = raw_metadata if isinstance(raw_metadata, Mapping) else {}
    total = 0.0
    notes: list[str] = []
    for key, value in wanted.items():
        if key == "features" and isinstance(value, list):
            offered = capability_features(have)
            if offered is not None:
                present = [f for f in value if f in offered]
                total += len(present) / len(value) if value else 1.0
                notes.append(f"features {len(present)}/{len(value)} present")
                continue
        current = metadata.get(key)
        if _same(current, value):
            total += 1
            notes.append(f"metadata {key} equal")
        elif isinstance(value, str) and isinstance(current, str) and fuzzy_match(current, value):
            total += FUZZY_VALUE_CREDIT
            notes.append(f"metadata {key} fuzzy {current!r}~{value!r}")
        else:
            notes.append(f"metadata {key} missing or different")
    return (total / len(wanted) if wanted else 0.0), notes


@dataclass(frozen=True)
class CapabilityScore:
    """The score of one offered capability against one requirement; 0 means a hard fail."""

    score: float
    reasons: tuple[str, ...]


def score_capability(have: Mapping[str, Any], required: Mapping[str, Any]) -> CapabilityScore:
    """Score `have` against the partial capability `required`, in [0, 1] (upstream `scoreCapability`)."""
    score = 0.0
    reasons: list[str] = []

    want_type = required.get("type")
    if want_type:
        if have.get("type") != want_type:
            return CapabilityScore(0.0, (f"type {have.get('type')!r} is not {want_type!r}",))
        score += TYPE_WEIGHT
        reasons.append(f"type {want_type!r} equal (+{_fmt(TYPE_WEIGHT)})")
    else:
        score += TYPE_WEIGHT
        reasons.append(f"type not required (+{_fmt(TYPE_WEIGHT)})")

    want_name = required.get("name")
    have_name = have.get("name")
    if want_name:
        if have_name == want_name:
            score += NAME_WEIGHT
            reasons.append(f"name exact {want_name!r} (+{_fmt(NAME_WEIGHT)})")
        elif isinstance(have_name, str) and fuzzy_match(have_name, want_name):
            score += NAME_WEIGHT * FUZZY_NAME_FACTOR
            reasons.append(f"name fuzzy match {want_name!r}~{have_name!r} (+{_fmt(NAME_WEIGHT * FUZZY_NAME_FACTOR)})")
        else:
            return CapabilityScore(0.0, (f"name {have_name!r} does not match {want_name!r}",))
    else:
        score += NAME_WEIGHT
        reasons.append(f"name not required (+{_fmt(NAME_WEIGHT)})")

    want_version = required.get("version")
    if want_version:
        factor, why = version_factor(have.get("version"), want_version)
        score += VERSION_WEIGHT * factor
        reasons.append(f"{why} (+{_fmt(VERSION_WEIGHT * factor)})")
    else:
        score += VERSION_WEIGHT
        reasons.append(f"version not required (+{_fmt(VERSION_WEIGHT)})")

    want_metadata = required.get("metadata")
    if isinstance(want_metadata, Mapping) and want_metadata:  # upstream: `{}` was "required" and scored 0
        fraction, notes = metadata_fraction(have, want_metadata)
        score += (FEATURE_WEIGHT + METADATA_WEIGHT) * fraction
        reasons.append(f"{', '.join(notes)} (+{_fmt((FEATURE_WEIGHT + METADATA_WEIGHT) * fraction)})")
    else:
        score += FEATURE_WEIGHT + METADATA_WEIGHT
        reasons.append(f"metadata not required (+{_fmt(FEATURE_WEIGHT + METADATA_WEIGHT)})")

    return CapabilityScore(min(1.0, score), tuple(reasons))


# ---------------------------------------------------------------------------------------------------------------------
# Matching peers
# ---------------------------------------------------------------------------------------------------------------------


class PeerLike(Protocol):
    """What the matcher needs to know about a peer; the peer cache's entries provide it."""

    @property
    def peer_id(self) -> str: ...

    @property
    def capabilities(self) -> Sequence[Mapping[str, Any]]: ...

    @property
    def reputation(self) -> float | None: ...


@dataclass(frozen=True)
class CandidatePeer:
    """A plain PeerLike."""

    peer_id: str
    capabilities: Sequence[Mapping[str, Any]] = ()
    reputation: float | None = None


@dataclass(frozen=True)
class CapabilityMatch:
    """A peer that matches a query (upstream `CapabilityMatch`), with the reasons a user can read."""

    peer_id: str
    match_score: float
    matched_capabilities: tuple[Mapping[str, Any], ...]
    reasons: tuple[str, ...]
    peer: PeerLike = field(compare=False, repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "peerId": self.peer_id,
            "matchScore": self.match_score,
            "matchedCapabilities": [dict(c) for c in self.matched_capabilities],
            "reasons": list(self.reasons),
        }


@dataclass(frozen=True)
class CapabilityQuery:
    """Upstream `CapabilityQuery`: partial capabilities a peer must offer, and optionally the only peers to consider.

    Build it with `from_raw` (the upstream JSON, `--raw`) or `from_flags` (`--name/--type/--version/--features/
    --preferred`); both validate. Errors about a capability use Reason.INVALID_CAPABILITY, like
    discovery.capabilities, so a client has one reason for "your capability spec is wrong"; errors that are
    not about a capability (unparsable JSON, the wrong top-level shape) use Reason.INVALID_ARGUMENT."""

    required_capabilities: tuple[Mapping[str, Any], ...] = ()
    preferred_peers: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The upstream wire shape (capability-request `requiredCapabilities` / `preferredPeers`)."""
        doc: dict[str, Any] = {"requiredCapabilities": [dict(r) for r in self.required_capabilities]}
        if self.preferred_peers:
            doc["preferredPeers"] = list(self.preferred_peers)
        return doc

    @classmethod
    def from_raw(cls, raw: str | Mapping[str, Any], field: str = "--raw") -> CapabilityQuery:
        """Parse `{"requiredCapabilities": [...], "preferredPeers": [...]}` (a JSON string or an already-parsed
        object)."""
        doc: Any = raw
        if isinstance(raw, str):
            try:
                doc = json.loads(raw)
            except json.JSONDecodeError as exc:
                raise InvalidArgument(
                    f"{field}: invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}",
                    Reason.INVALID_ARGUMENT,
                    field=field,
                ) from None
        if not isinstance(doc, Mapping):
            raise InvalidArgument(
                f"{field}: a capability query must be a JSON object with requiredCapabilities",
                Reason.INVALID_ARGUMENT,
                field=field,
            )
        required = doc.get("requiredCapabilities", [])
        if not isinstance(required, list):
            raise InvalidArgument(f"{field}: requiredCapabilities must be a list", Reason.INVALID_ARGUMENT, field=field)
        preferred = doc.get("preferredPeers")
        preferred = [] if preferred is None else preferred
        if not isinstance(preferred, list) or not all(isinstance(p, str) and p for p in preferred):
            raise InvalidArgument(
                f"{field}: preferredPeers must be a list of peer ids", Reason.INVALID_ARGUMENT, field=field
            )
        return cls(
            tuple(validate_requirement(r, field, f"requiredCapabilities[{i}]") for i, r in enumerate(required)),
            tuple(dict.fromkeys(preferred)),
        )

    @classmethod
    def from_flags(
        cls,
        name: str | None,
        *,
        type: str | None = None,
        version: str | None = None,
        features: Iterable[str] = (),
        preferred: Iterable[str] = (),
    ) -> CapabilityQuery:
        """One required capability from CLI-style flags. `features` (a string or a list) may hold comma lists."""
        if name is None or not name.strip():
            raise _bad_capability("--name", "capability name must be a non-empty string")
        requirement: dict[str, Any] = {"name": name.strip()}
        if type is not None:
            if not type.strip():
                raise _bad_capability("--type", "capability type must be a non-empty string")
            requirement["type"] = type.strip()
        if version is not None:
            if not SEMVER.match(version.strip()):
                raise _bad_capability("--version", f"{version!r} is not a semantic version like 1.0.0")
            requirement["version"] = version.strip()
        if isinstance(features, str):
            features = [features]
        if isinstance(preferred, str):
            preferred = [preferred]
        wanted = [piece.strip() for item in features for piece in item.split(",")]
        if any(not f for f in wanted):
            raise _bad_capability("--features", "features must be non-empty names separated by commas")
        if wanted:
            requirement["metadata"] = {"features": list(dict.fromkeys(wanted))}
        peers = [p.strip() for p in preferred]
        if any(not p for p in peers):
            raise InvalidArgument(
                "--preferred: a peer id must not be empty", Reason.INVALID_PEER_ID, field="--preferred"
            )
        return cls((requirement,), tuple(dict.fromkeys(peers)))


def _bad_capability(field: str, message: str) -> InvalidArgument:
    return InvalidArgument(f"{field}: {message}", Reason.INVALID_CAPABILITY, field=field)


def validate_requirement(raw: Any, field: str, where: str = "requirement") -> dict[str, Any]:
    """Check one partial capability of a query; every key is optional, but a present one must be well-formed.

    Unlike capabilities.validate_capability no defaults are filled in: a query without `type` must
    not start requiring type "agent". A top-level `features` list moves to `metadata.features`."""
    if not isinstance(raw, Mapping):
        raise _bad_capability(field, f"{where} must be a JSON object")
    requirement = dict(raw)
    for key in ("type", "name"):
        if key in requirement:
            value = requirement[key]
            if not isinstance(value, str) or not value.strip():
                raise _bad_capability(field, f"{where}.{key} must be a non-empty string")
            requirement[key] = value.strip()
    if "version" in requirement:
        version = requirement["version"]
        if not isinstance(version, str) or not SEMVER.match(version):
            raise _bad_capability(field, f"{where}.version {version!r} is not a semantic version like 1.0.0")
    metadata = requirement.get("metadata", {})
    if not isinstance(metadata, Mapping):
        raise _bad_capability(field, f"{where}.metadata must be a JSON object")
    features = metadata.get("features", requirement.pop("features", None))
    if features is not None:
        if not isinstance(features, list) or not all(isinstance(f, str) and f for f in features):
            raise _bad_capability(field, f"{where}: features must be a list of non-empty strings")
        metadata = {**metadata, "features": features}
    if metadata:
        requirement["metadata"] = dict(metadata)
    else:
        requirement.pop("metadata", None)
    return requirement


def match_peer(peer: PeerLike, query: CapabilityQuery) -> CapabilityMatch | None:
    """Score one peer (upstream `matchPeer`); None when no requirement is met above 0.5."""
    required = query.required_capabilities
    if not required:
        if not peer.capabilities:
            return None
        return CapabilityMatch(
            peer.peer_id,
            NO_REQUIREMENT_SCORE,
            tuple(peer.capabilities),
            (f"no capability required: any peer with a capability matches at {_fmt(NO_REQUIREMENT_SCORE)}",),
            peer,
        )
    matched: list[Mapping[str, Any]] = []
    reasons: list[str] = []
    total = 0.0
    for index, requirement in enumerate(required):
        label = requirement.get("name") or requirement.get("type") or f"#{index + 1}"
        best: Mapping[str, Any] | None = None
        best_score = CapabilityScore(0.0, ())
        for capability in peer.capabilities:
            scored = score_capability(capability, requirement)
            if scored.score > best_score.score:
                best, best_score = capability, scored
        if best is not None and best_score.score > MATCH_THRESHOLD:
            matched.append(best)
            total += best_score.score
            reasons.append(f"requirement {label!r} met by {best.get('name')!r} at {_fmt(best_score.score)}")
            reasons.extend(f"  {r}" for r in best_score.reasons)
        else:
            reasons.append(f"requirement {label!r} not met (best {_fmt(best_score.score)} <= {MATCH_THRESHOLD})")
    if not matched:
        return None
    score = total / len(required)
    if peer.peer_id in query.preferred_peers:
        score = min(1.0, score + PREFERRED_BONUS)
        reasons.append(f"preferred peer (+{_fmt(PREFERRED_BONUS)}, capped at 1)")
    return CapabilityMatch(peer.peer_id, score, tuple(matched), tuple(reasons), peer)


def _compare(a: CapabilityMatch, b: CapabilityMatch) -> float:
    """Upstream's comparator: score descending, scores within 0.01 tie and fall back to reputation descending."""
    if abs(a.match_score - b.match_score) > TIE_EPSILON:
        return b.match_score - a.match_score
    return (b.peer.reputation or 0) - (a.peer.reputation or 0)


def match_peers(peers: Iterable[PeerLike], query: CapabilityQuery) -> list[CapabilityMatch]:
    """Every matching peer, best first (upstream `matchPeers`). A non-empty `preferred_peers` is also a filter:
    only those peers are candidates."""
    preferred = set(query.preferred_peers)
    candidates = [p for p in peers if not preferred or p.peer_id in preferred]
    matches = [m for p in candidates if (m := match_peer(p, query)) is not None and m.match_score > 0]
    matches.sort(key=functools.cmp_to_key(_compare))
    return matches
