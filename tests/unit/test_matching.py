"""The capability matcher (upstream-ecco §6) and capability-query parsing.

Expected scores are hand-computed from the weights: type 0.3, name 0.3 (fuzzy 0.21), version 0.1 x v,
features/metadata 0.3 x fraction."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ecco.errors import InvalidArgument, Reason
from ecco.services.discovery.matching import (
    CandidatePeer,
    CapabilityQuery,
    capability_features,
    fuzzy_match,
    levenshtein,
    match_peer,
    match_peers,
    score_capability,
    similarity,
    version_factor,
)


def cap(name: str, type: str = "agent", version: str = "1.0.0", **extra: Any) -> dict[str, Any]:
    return {"type": type, "name": name, "version": version, **extra}


def q(*required: dict[str, Any], preferred: tuple[str, ...] = ()) -> CapabilityQuery:
    return CapabilityQuery(tuple(required), preferred)


# ---------------------------------------------------------------------------------------------------------------------
# String similarity
# ---------------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b", "distance"),
    [("kitten", "sitting", 3), ("", "abc", 3), ("abc", "", 3), ("abc", "abc", 0), ("flaw", "lawn", 2)],
)
def test_levenshtein(a: str, b: str, distance: int) -> None:
    assert levenshtein(a, b) == distance


def test_similarity_threshold_is_inclusive_at_085() -> None:
    # 3 substitutions in 20 characters: 1 - 3/20 = 0.85 exactly, which is fuzzy; 4 substitutions (0.80) is not.
    assert similarity("abcdefghijklmnopqrst", "abcdefghijklmnopqxyz") == 0.85
    assert fuzzy_match("abcdefghijklmnopqrst", "abcdefghijklmnopqxyz")
    assert not fuzzy_match("abcdefghijklmnopqrst", "abcdefghijklmnopwxyz")


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("code-review", "CodeReview", True),  # same alphanumerics
        ("review", "code_review", True),  # containment
        ("summarise", "summarize", True),  # 1 - 1/9 = 0.889
        ("translate", "translation", False),  # 1 - 3/11 = 0.727 (upstream's old 0.7 threshold accepted it)
        ("search", "review", False),
        ("---", "review", False),  # empty alphanumerics never match (upstream: "" is in every string)
    ],
)
def test_fuzzy_match(a: str, b: str, expected: bool) -> None:
    assert fuzzy_match(a, b) is expected
    assert fuzzy_match(b, a) is expected


# ---------------------------------------------------------------------------------------------------------------------
# One capability against one requirement
# ---------------------------------------------------------------------------------------------------------------------


def test_type_mismatch_is_a_hard_fail() -> None:
    assert score_capability(cap("review", type="model"), {"type": "agent", "name": "review"}).score == 0


def test_name_mismatch_is_a_hard_fail() -> None:
    assert score_capability(cap("search"), {"name": "review"}).score == 0


def test_exact_everything_scores_one() -> None:
    scored = score_capability(cap("review"), {"type": "agent", "name": "review", "version": "1.0.0"})
    assert scored.score == pytest.approx(1.0)  # 0.3 + 0.3 + 0.1 + 0.3
    assert scored.reasons == (
        "type 'agent' equal (+0.3)",
        "name exact 'review' (+0.3)",
        "version 1.0.0 exact (+0.1)",
        "metadata not required (+0.3)",
    )


def test_nothing_required_scores_one() -> None:
    assert score_capability(cap("anything"), {}).score == pytest.approx(1.0)


def test_fuzzy_name_scores_021_and_says_so() -> None:
    scored = score_capability(cap("codereview"), {"name": "code-review"})
    assert scored.score == pytest.approx(0.91)  # 0.3 + 0.21 + 0.1 + 0.3
    assert "name fuzzy match 'code-review'~'codereview' (+0.21)" in scored.reasons


@pytest.mark.parametrize(
    ("have", "want", "factor"),
    [
        ("1.2.3", "1.2.3", 1.0),
        ("1.2.3+build.7", "1.2.3", 1.0),  # build metadata ignored
        ("1.2.3", "1.2.3-beta.1", 0.95),  # we have the release of a wanted prerelease
        ("1.2.3-beta.1", "1.2.3", 0.9),
        ("1.2.3-beta.2", "1.2.3-beta.1", 0.9),
        ("1.2.9", "1.2.3", 0.9),  # same major.minor
        ("1.2.0", "1.2.3", 0.9),
        ("1.5.0", "1.2.3", 0.7),  # newer minor
        ("1.1.9", "1.2.3", 0.5),  # older minor
        ("latest", "1.2.3", 0.5),  # unparsable
        (None, "1.2.3", 0.5),
        ("2.2.3", "1.2.3", 0.2),  # major mismatch
        ("0.2.3", "1.2.3", 0.2),
    ],
)
def test_version_factor(have: Any, want: str, factor: float) -> None:
    assert version_factor(have, want)[0] == factor


@pytest.mark.parametrize(
    ("have", "want", "score"),
    [
        ("1.2.3", "1.2.3", 1.0),  # 0.7 + 0.1
        ("1.2.9", "1.2.3", 0.99),  # 0.7 + 0.09
        ("1.2.3", "1.2.3-rc.1", 0.995),  # 0.7 + 0.095
        ("1.5.0", "1.2.3", 0.97),  # 0.7 + 0.07
        ("1.1.0", "1.2.3", 0.95),  # 0.7 + 0.05
        ("3.0.0", "1.2.3", 0.92),  # 0.7 + 0.02
    ],
)
def test_version_term(have: str, want: str, score: float) -> None:
    assert score_capability(cap("x", version=have), {"name": "x", "version": want}).score == pytest.approx(score)


def test_features_fraction_from_metadata() -> None:
    have = cap("review", metadata={"features": ["py", "go"]})
    scored = score_capability(have, {"name": "review", "metadata": {"features": ["py", "rust"]}})
    assert scored.score == pytest.approx(0.85)  # 0.7 + 0.3 x 1/2
    assert "features 1/2 present (+0.15)" in scored.reasons


def test_features_fall_back_to_top_level_features() -> None:
    """§13 #9: upstream read only metadata.features, but AgentCapability declares a top-level `features`."""
    have = cap("review", features=["py", "rust"])
    assert score_capability(have, {"name": "review", "metadata": {"features": ["py", "rust"]}}).score == 1.0


def test_metadata_features_win_over_top_level_features() -> None:
    have = cap("review", features=["py", "rust"], metadata={"features": ["py"]})
    assert capability_features(have) == ["py"]
    assert score_capability(have, {"name": "review", "metadata": {"features": ["py", "rust"]}}).score == 0.85


def test_no_features_offered_scores_zero_for_that_key() -> None:
    assert score_capability(cap("review"), {"name": "review", "metadata": {"features": ["py"]}}).score == 0.7


@pytest.mark.parametrize(
    ("offered", "score"),
    [
        ("openai", 1.0),  # features 1 + provider 1 -> fraction 1
        ("OpenAI", 0.955),  # provider fuzzy 0.7 -> fraction 0.85 -> +0.255
        ("anthropic", 0.85),  # provider 0 -> fraction 0.5 -> +0.15
    ],
)
def test_other_metadata_keys_equal_or_fuzzy(offered: str, score: float) -> None:
    have = cap("review", metadata={"features": ["py"], "provider": offered})
    want = {"name": "review", "metadata": {"features": ["py"], "provider": "openai"}}
    assert score_capability(have, want).score == pytest.approx(score)


def test_metadata_equality_keeps_booleans_apart_from_numbers() -> None:
    assert score_capability(cap("x", metadata={"ctx": 8192}), {"name": "x", "metadata": {"ctx": 8192}}).score == 1.0
    assert score_capability(cap("x", metadata={"stream": 1}), {"name": "x", "metadata": {"stream": True}}).score == 0.7


def test_empty_metadata_requirement_counts_as_not_required() -> None:
    assert score_capability(cap("x"), {"name": "x", "metadata": {}}).score == 1.0


# ---------------------------------------------------------------------------------------------------------------------
# Peers
# ---------------------------------------------------------------------------------------------------------------------


def test_match_score_is_the_mean_over_required_capabilities() -> None:
    peer = CandidatePeer("p1", [cap("review")])
    match = match_peer(peer, q({"name": "review"}, {"name": "translate"}))
    assert match is not None
    assert match.match_score == pytest.approx(0.5)  # (1.0 + 0) / 2
    assert match.matched_capabilities == (cap("review"),)
    assert "requirement 'translate' not met (best 0 <= 0.5)" in match.reasons


def test_lowest_nonzero_capability_score_still_counts() -> None:
    """A capability that passes the type and name gates scores at least 0.3 + 0.21 + 0.02 + 0 = 0.53 > 0.5."""
    peer = CandidatePeer("p1", [cap("codereview", version="2.0.0")])
    match = match_peer(peer, q({"name": "code-review", "version": "1.0.0", "metadata": {"features": ["py"]}}))
    assert match is not None
    assert match.match_score == pytest.approx(0.53)


def test_best_capability_per_requirement_first_wins_on_equal_scores() -> None:
    first, second, exact = cap("review-a"), cap("review-b"), cap("review")
    match = match_peer(CandidatePeer("p", [first, second]), q({"name": "review"}))
    assert match is not None and match.matched_capabilities == (first,)
    match = match_peer(CandidatePeer("p", [first, exact]), q({"name": "review"}))
    assert match is not None and match.matched_capabilities == (exact,)


def test_peer_without_a_match_is_left_out() -> None:
    assert match_peer(CandidatePeer("p", [cap("search")]), q({"name": "review"})) is None
    assert match_peer(CandidatePeer("p", []), q({"name": "review"})) is None


def test_preferred_peer_gets_a_bonus_capped_at_one() -> None:
    half = match_peer(CandidatePeer("p", [cap("review")]), q({"name": "review"}, {"name": "x"}, preferred=("p",)))
    full = match_peer(CandidatePeer("p", [cap("review")]), q({"name": "review"}, preferred=("p",)))
    assert half is not None and half.match_score == pytest.approx(0.6)
    assert full is not None and full.match_score == 1.0


def test_preferred_peers_filter_the_candidates() -> None:
    peers = [CandidatePeer("a", [cap("review")]), CandidatePeer("b", [cap("review")])]
    assert [m.peer_id for m in match_peers(peers, q({"name": "review"}, preferred=("b",)))] == ["b"]


def test_no_requirements_match_every_peer_with_a_capability_at_half() -> None:
    peers = [CandidatePeer("a", [cap("x"), cap("y")]), CandidatePeer("b", [])]
    matches = match_peers(peers, q())
    assert [(m.peer_id, m.match_score) for m in matches] == [("a", 0.5)]
    assert matches[0].matched_capabilities == (cap("x"), cap("y"))


def test_sort_by_score_then_reputation_within_001() -> None:
    required = {"name": "review", "version": "1.2.3-rc.1"}
    peers = [
        CandidatePeer("older-minor", [cap("review", version="1.1.0")], reputation=99),  # 0.95
        CandidatePeer("exact", [cap("review", version="1.2.3-rc.1")], reputation=10),  # 1.0
        CandidatePeer("release", [cap("review", version="1.2.3")], reputation=50),  # 0.995
        CandidatePeer("fuzzy", [cap("reviews", version="1.2.3-rc.1")], reputation=100),  # 0.91
    ]
    order = [m.peer_id for m in match_peers(peers, q(required))]
    # 1.0 and 0.995 tie (difference <= 0.01), so reputation 50 beats 10; 0.95 and 0.91 are far enough apart.
    assert order == ["release", "exact", "older-minor", "fuzzy"]


def test_missing_reputation_sorts_as_zero() -> None:
    peers = [CandidatePeer("none", [cap("r")]), CandidatePeer("some", [cap("r")], reputation=1)]
    assert [m.peer_id for m in match_peers(peers, q({"name": "r"}))] == ["some", "none"]


def test_match_to_dict() -> None:
    match = match_peer(CandidatePeer("p", [cap("r")]), q({"name": "r"}))
    assert match is not None
    doc = match.to_dict()
    assert doc["peerId"] == "p" and doc["matchScore"] == 1.0 and doc["matchedCapabilities"] == [cap("r")]
    assert doc["reasons"][0] == "requirement 'r' met by 'r' at 1"


# ---------------------------------------------------------------------------------------------------------------------
# Queries
# ---------------------------------------------------------------------------------------------------------------------


def test_query_from_raw_json() -> None:
    raw = (
        '{"requiredCapabilities":[{"type":"agent","name":"review","version":"1.0.0","features":["py"]},'
        '{"name":"search","metadata":{"provider":"x"}}],"preferredPeers":["a","b","a"]}'
    )
    query = CapabilityQuery.from_raw(raw)
    assert query.required_capabilities == (
        {"type": "agent", "name": "review", "version": "1.0.0", "metadata": {"features": ["py"]}},
        {"name": "search", "metadata": {"provider": "x"}},
    )
    assert query.preferred_peers == ("a", "b")
    assert CapabilityQuery.from_raw(query.to_dict()) == query


def test_query_from_raw_needs_no_fields() -> None:
    assert CapabilityQuery.from_raw("{}") == CapabilityQuery()
    assert CapabilityQuery.from_raw('{"requiredCapabilities":[{}]}').required_capabilities == ({},)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("{not json", Reason.INVALID_ARGUMENT),
        ("[]", Reason.INVALID_ARGUMENT),
        ('{"requiredCapabilities":{}}', Reason.INVALID_ARGUMENT),
        ('{"preferredPeers":"a"}', Reason.INVALID_ARGUMENT),
        ('{"preferredPeers":[""]}', Reason.INVALID_ARGUMENT),
        ('{"requiredCapabilities":["review"]}', Reason.INVALID_CAPABILITY),
        ('{"requiredCapabilities":[{"name":""}]}', Reason.INVALID_CAPABILITY),
        ('{"requiredCapabilities":[{"type":7}]}', Reason.INVALID_CAPABILITY),
        ('{"requiredCapabilities":[{"version":"1.0"}]}', Reason.INVALID_CAPABILITY),
        ('{"requiredCapabilities":[{"metadata":[]}]}', Reason.INVALID_CAPABILITY),
        ('{"requiredCapabilities":[{"features":"py"}]}', Reason.INVALID_CAPABILITY),
    ],
)
def test_bad_raw_query_names_the_raw_flag(raw: str, reason: Reason) -> None:
    with pytest.raises(InvalidArgument) as info:
        CapabilityQuery.from_raw(raw)
    assert info.value.reason == reason
    assert info.value.field == "--raw"
    assert info.value.code == "INVALID_ARGUMENT"


def test_query_from_flags() -> None:
    query = CapabilityQuery.from_flags(
        " review ", type="agent", version="1.2.0", features=["py,go", "rust", "py"], preferred=["b", "a", "b"]
    )
    assert query.required_capabilities == (
        {"name": "review", "type": "agent", "version": "1.2.0", "metadata": {"features": ["py", "go", "rust"]}},
    )
    assert query.preferred_peers == ("b", "a")
    assert query.to_dict() == {
        "requiredCapabilities": [
            {"name": "review", "type": "agent", "version": "1.2.0", "metadata": {"features": ["py", "go", "rust"]}}
        ],
        "preferredPeers": ["b", "a"],
    }


def test_query_from_flags_accepts_plain_strings() -> None:
    query = CapabilityQuery.from_flags("review", features="py,go", preferred="a")
    assert query == CapabilityQuery(({"name": "review", "metadata": {"features": ["py", "go"]}},), ("a",))


def test_query_from_flags_leaves_unset_fields_out() -> None:
    assert CapabilityQuery.from_flags("review").required_capabilities == ({"name": "review"},)
    assert "preferredPeers" not in CapabilityQuery.from_flags("review").to_dict()


@pytest.mark.parametrize(
    ("kwargs", "field", "reason"),
    [
        ({"name": ""}, "--name", Reason.INVALID_CAPABILITY),
        ({"name": "  "}, "--name", Reason.INVALID_CAPABILITY),
        ({"name": None}, "--name", Reason.INVALID_CAPABILITY),
        ({"name": "r", "version": "1.0"}, "--version", Reason.INVALID_CAPABILITY),
        ({"name": "r", "version": "v1.0.0"}, "--version", Reason.INVALID_CAPABILITY),
        ({"name": "r", "type": ""}, "--type", Reason.INVALID_CAPABILITY),
        ({"name": "r", "features": ["py,"]}, "--features", Reason.INVALID_CAPABILITY),
        ({"name": "r", "preferred": [" "]}, "--preferred", Reason.INVALID_PEER_ID),
    ],
)
def test_bad_flags_name_the_flag(kwargs: dict[str, Any], field: str, reason: Reason) -> None:
    kwargs = dict(kwargs)
    name = kwargs.pop("name")
    with pytest.raises(InvalidArgument) as info:
        CapabilityQuery.from_flags(name, **kwargs)
    assert info.value.field == field
    assert info.value.reason == reason
    assert info.value.message.startswith(f"{field}: ")


# ---------------------------------------------------------------------------------------------------------------------
# Properties
# ---------------------------------------------------------------------------------------------------------------------

names = st.sampled_from(["review", "code-review", "codereview", "Review", "search", "summarize", "summarise", "x"])
versions = st.sampled_from(["1.0.0", "1.2.0", "1.2.3-beta", "2.0.0", "0.9.1", "latest"])
features = st.lists(st.sampled_from(["py", "go", "rust"]), max_size=3)
capabilities = st.builds(
    lambda n, t, v, f, p: {"type": t, "name": n, "version": v, "metadata": {"features": f, "provider": p}},
    names,
    st.sampled_from(["agent", "model"]),
    versions,
    features,
    st.sampled_from(["openai", "OpenAI", "local"]),
)
requirements = st.fixed_dictionaries(
    {},
    optional={
        "type": st.sampled_from(["agent", "model"]),
        "name": names,
        "version": st.sampled_from(["1.0.0", "1.2.3", "2.0.0-rc.1"]),
        "metadata": st.fixed_dictionaries({}, optional={"features": features, "provider": st.just("openai")}),
    },
)


@given(capabilities, requirements)
def test_capability_score_is_within_zero_and_one(have: dict[str, Any], want: dict[str, Any]) -> None:
    assert 0.0 <= score_capability(have, want).score <= 1.0


@given(
    st.lists(st.lists(capabilities, max_size=4), max_size=6),
    st.lists(requirements, max_size=3),
    st.booleans(),
)
def test_match_scores_are_within_bounds(
    peer_caps: list[list[dict[str, Any]]], required: list[dict[str, Any]], prefer: bool
) -> None:
    peers = [CandidatePeer(f"p{i}", caps, reputation=i) for i, caps in enumerate(peer_caps)]
    query = q(*required, preferred=("p0", "p1", "p2", "p3", "p4", "p5") if prefer else ())
    for match in match_peers(peers, query):
        assert 0.0 < match.match_score <= 1.0
        assert all(any(c is m for c in match.peer.capabilities) for m in match.matched_capabilities)


@given(st.text(max_size=12), st.text(max_size=12))
def test_levenshtein_is_a_symmetric_bounded_distance(a: str, b: str) -> None:
    d = levenshtein(a, b)
    assert d == levenshtein(b, a)
    assert abs(len(a) - len(b)) <= d <= max(len(a), len(b))
    assert (d == 0) == (a == b)
