"""Capability discovery over real gossip between daemons: `ecco peer find`, `ecco ask`, capabilities in `peers`."""

from __future__ import annotations

import pytest

from tests.integration.conftest import Ecco, error_of, up

pytestmark = pytest.mark.integration


def test_find_and_ask_reach_a_provider_two_hops_away(ecco: Ecco) -> None:
    hub = up(ecco, "hub", "--capability", "code-review", "--responder", "echo")
    shouter = up(
        ecco, "shouter", "--capability", "translate", "--responder", "exec:tr a-z A-Z", "--bootstrap", hub["addr"]
    )
    up(ecco, "user", "--bootstrap", hub["addr"])  # connected to the hub only

    found = ecco.ok("peer", "find", "--name", "translate", "--node", "user", "--json").json()["matches"]
    assert [m["peer"]["peerId"] for m in found] == [shouter["peerId"]]
    assert found[0]["matchScore"] == 1.0
    assert found[0]["peer"]["addresses"] == [shouter["addr"]]  # announced, so the user can dial it

    fuzzy = ecco.ok("peer", "find", "--name", "translat", "--node", "user", "--json").json()["matches"]
    assert [m["peer"]["peerId"] for m in fuzzy] == [shouter["peerId"]] and fuzzy[0]["matchScore"] < 1.0

    asked = ecco.ok("ask", "--capability", "translate", "hello world", "--node", "user", "--json").json()
    assert (asked["text"], asked["peerId"]) == ("HELLO WORLD", shouter["peerId"])
    assert [c["outcome"] for c in asked["candidates"]] == ["ASK_CANDIDATE_OUTCOME_ANSWERED"]

    peers = {p["peerId"]: p for p in ecco.ok("peers", "--node", "user", "--json").json()["peers"]}
    assert [c["name"] for c in peers[hub["peerId"]]["capabilities"]] == ["code-review"]
    assert peers[shouter["peerId"]]["connected"]  # ask dialled it


def test_ask_moves_on_to_the_next_candidate_when_one_fails(ecco: Ecco) -> None:
    broken = up(ecco, "broken", "--capability", "summarize", "--responder", "exec:exit 1")
    working = up(ecco, "working", "--capability", "summarizer", "--responder", "echo", "--bootstrap", broken["addr"])
    up(ecco, "user", "--bootstrap", broken["addr"], "--bootstrap", working["addr"])
    asked = ecco.ok("ask", "--capability", "summarize", "a long text", "--node", "user", "--json").json()
    assert (asked["text"], asked["peerId"]) == ("a long text", working["peerId"])
    outcomes = [(c["match"]["peer"]["peerId"], c["outcome"]) for c in asked["candidates"]]
    assert outcomes == [
        (broken["peerId"], "ASK_CANDIDATE_OUTCOME_FAILED"),
        (working["peerId"], "ASK_CANDIDATE_OUTCOME_ANSWERED"),
    ]


def test_no_provider_and_bad_queries_are_clear_errors(ecco: Ecco) -> None:
    up(ecco, "lonely", "--capability", "code-review")
    missing = ecco("ask", "--capability", "astrology", "what's next?", "--node", "lonely", "--json")
    assert error_of(missing)["reason"] == "NO_PROVIDER_FOUND"
    assert ecco.ok("peer", "find", "--name", "astrology", "--node", "lonely", "--json").json() == {"matches": []}

    for args, field in ((("--name", " "), "--name"), (("--name", "x", "--version", "one"), "--version")):
        bad = ecco("peer", "find", *args, "--node", "lonely", "--json")
        error = error_of(bad)
        assert (error["reason"], error["field"]) == ("INVALID_CAPABILITY", field)
    raw = error_of(ecco("peer", "find", "--raw", "{not json", "--node", "lonely", "--json"))
    assert (raw["reason"], raw["field"]) == ("INVALID_ARGUMENT", "--raw")
