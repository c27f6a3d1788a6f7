"""Capability discovery over real gossip between daemons: `ecco peer find`, `ecco ask`, capabilities in `peers`."""

from __future__ import annotations

import pytest

from tests.integration.conftest import Ecco, error_of, up, wait_for_event

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
    assert [c["outcome"] for c in asked["candidates"]] == ["answered"]

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
        (broken["peerId"], "failed"),
        (working["peerId"], "answered"),
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


# ---------------------------------------------------------------------------------------------------------------------
# Phased discovery: `ecco peer discover`
# ---------------------------------------------------------------------------------------------------------------------


def test_discover_finds_a_connected_provider_first_and_stops_early(ecco: Ecco) -> None:
    hub = up(ecco, "hub", "--capability", "code-review", "--responder", "echo")
    shouter = up(ecco, "shouter", "--capability", "translate", "--bootstrap", hub["addr"])
    up(ecco, "user", "--bootstrap", hub["addr"], "--dht", "false")  # connected to the hub only; no internet phase

    doc = ecco.ok("peer", "discover", "--name", "code-review", "--min-peers", "1", "--node", "user", "--json").json()
    (found,) = doc["peers"]
    assert found["peerId"] == hub["peerId"] and found["connected"]
    # a loopback peer is in the local latency zone once its round trip is measured; until then `local` finds it
    assert found["phase"] in ("proximity", "local")
    assert found["proximity"] == (found["phase"] == "proximity")
    assert doc["phasesRun"][-1] == found["phase"] and doc["minPeersReached"]
    assert "fallback" not in doc["phasesRun"]  # stopped once one peer matched
    assert {"phase": "fallback", "detail": "min_peers (1) already reached"} in doc["phasesSkipped"]
    assert isinstance(doc["totalTimeMs"], int)

    # two hops away, not connected: the local phase's gossip query brings it in
    args = ("--name", "translate", "--phases", "local,fallback", "--node", "user", "--json")
    peers = ecco.ok("peer", "discover", *args).json()["peers"]
    assert [(p["peerId"], p["phase"], p["proximity"], p["connected"]) for p in peers] == [
        (shouter["peerId"], "local", False, False)
    ]
    assert peers[0]["addresses"] == [shouter["addr"]]

    # without --json and without a terminal: one line per phase, then the peers
    plain = ecco.ok("peer", "discover", "--name", "translate", "--phases", "internet,local", "--node", "user")
    lines = plain.stdout.splitlines()
    assert lines[0] == "internet: skipped: this node runs without the DHT"
    assert lines[1].startswith("local: completed, 1 new, 1 in total")
    assert lines[2].startswith("1 peer found in ") and "(min-peers reached)" in lines[2]
    assert shouter["peerId"] in lines[3] and "[local]" in lines[3]


def test_the_internet_phase_finds_a_provider_through_dht_records_alone(ecco: Ecco) -> None:
    hub = up(ecco, "hub")
    provider = up(ecco, "provider", "--capability", "translate", "--responder", "echo", "--bootstrap", hub["addr"])
    up(ecco, "user", "--bootstrap", hub["addr"])
    wait_for_event(ecco, "provider", lambda e: e["payload"]["keysReachingPeers"] == 2, "capabilities-provided")

    doc = ecco.ok("peer", "discover", "--name", "translate", "--phases", "internet", "--node", "user", "--json").json()
    # (the lookup itself may have dialled the provider: Kademlia asks the peers closest to the key)
    assert [(p["peerId"], p["phase"]) for p in doc["peers"]] == [(provider["peerId"], "internet")]
    assert doc["phasesRun"] == ["internet"] and doc["minPeersReached"]
    # the provider record carried a dialable address: the user can send it a request
    reply = ecco.ok("request", provider["peerId"], "--prompt", "via the DHT", "--node", "user", "--json").json()
    assert reply["text"] == "via the DHT"


def test_discover_without_a_provider_and_bad_options_are_clear_errors(ecco: Ecco) -> None:
    up(ecco, "lonely", "--capability", "code-review")

    missing = ecco("peer", "discover", "--name", "astrology", "--phase-timeout", "300", "--node", "lonely", "--json")
    error = error_of(missing)
    assert (missing.code, error["code"], error["reason"]) == (3, "NOT_FOUND", "NO_PROVIDER_FOUND")
    assert "phases tried: proximity, local, internet, fallback" in error["message"]

    plain = ecco("peer", "discover", "--name", "astrology", "--phases", "fallback", "--node", "lonely")
    assert plain.code == 3 and plain.stdout.startswith("fallback: completed, 0 new")
    assert "phases tried: fallback" in plain.stderr and "(NO_PROVIDER_FOUND)" in plain.stderr

    bad = [
        (("--phases", "moon"), "UNKNOWN_DISCOVERY_PHASE", "--phases"),
        (("--min-peers", "0"), "INVALID_ARGUMENT", "--min-peers"),
        (("--min-peers", "-3"), "INVALID_ARGUMENT", "--min-peers"),
        (("--phase-timeout", "0"), "INVALID_ARGUMENT", "--phase-timeout"),
        (("--bloom-tier", "platinum"), "INVALID_ARGUMENT", "--bloom-tier"),  # a checked choice
        (("--version", "one"), "INVALID_CAPABILITY", "--version"),
        (("--raw", "{not json"), "INVALID_ARGUMENT", "--raw"),
    ]
    for args, reason, field in bad:
        name = () if args[0] == "--raw" else ("--name", "code-review")
        result = ecco("peer", "discover", *name, *args, "--node", "lonely", "--json")
        error = error_of(result)
        assert (result.code, error["reason"], error["field"]) == (2, reason, field), args
    empty = error_of(ecco("peer", "discover", "--name", " ", "--node", "lonely", "--json"))
    assert (empty["reason"], empty["field"]) == ("INVALID_CAPABILITY", "--name")
    assert ecco("peer", "discover", "--name", "x", "--prefer-proximity", "maybe", "--node", "lonely").code == 2

    # no reputation yet: no filter holds anyone, so a bloom tier leaves nobody (not an UNIMPLEMENTED any more)
    tier = ecco(
        "peer",
        "discover",
        "--name",
        "code-review",
        "--phases",
        "fallback",
        "--bloom-tier",
        "elite",
        "--node",
        "lonely",
        "--json",
    )
    assert (tier.code, error_of(tier)["reason"]) == (3, "NO_PROVIDER_FOUND")


def test_peers_and_find_show_where_a_peer_listens_and_whether_it_is_connected(ecco: Ecco) -> None:
    hub = up(ecco, "hub", "--capability", "translate")
    client = up(ecco, "client", "--capability", "summarize", "--bootstrap", hub["addr"])  # inbound at the hub
    # the client's announcement reaches the hub: from then on the hub knows where it listens
    found = ecco.ok("peer", "find", "--name", "summarize", "--node", "hub", "--json").json()["matches"]
    assert [(m["peer"]["peerId"], m["peer"]["connected"]) for m in found] == [(client["peerId"], True)]
    assert found[0]["peer"]["addresses"] == [client["addr"]]
    peers = {p["peerId"]: p for p in ecco.ok("peers", "--node", "hub", "--json").json()["peers"]}
    assert peers[client["peerId"]]["connected"]
    assert peers[client["peerId"]]["addresses"] == [client["addr"]]  # not the temporary source port
