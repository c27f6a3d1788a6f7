"""Local reputation between real daemons: every request this node sends counts for or against the peer, and
`ecco peer reputation` shows the record."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.conftest import Ecco, error_of, up

pytestmark = pytest.mark.integration


def test_request_outcomes_build_the_local_reputation(ecco: Ecco) -> None:
    alice = up(ecco, "alice", "--capability", "echoing", "--responder", "echo")
    failing = up(ecco, "failing", "--responder", "exec:echo broken >&2; exit 3")
    # a capability of type agent: a node builds reputation filters for the types it offers
    up(ecco, "asker", "--capability", "chat", "--bootstrap", alice["addr"], "--bootstrap", failing["addr"])

    unknown = ecco("peer", "reputation", alice["peerId"], "--node", "asker", "--json")
    assert error_of(unknown)["reason"] == "PEER_NOT_FOUND"
    invalid = ecco("peer", "reputation", "not-a-peer", "--node", "asker", "--json")
    assert error_of(invalid)["reason"] == "INVALID_PEER_ID"

    for prompt in ("one", "two"):
        ecco.ok("request", alice["peerId"], "--prompt", prompt, "--node", "asker")
    record = ecco.ok("peer", "reputation", alice["peerId"], "--node", "asker", "--json").json()
    assert (record["successfulJobs"], record["failedJobs"], record["totalJobs"]) == (2, 0, 2)
    assert (record["localScore"], record["discoveryScore"], record["tier"]) == (2, 75, "good")
    assert record["lastInteractionTime"]

    asked = ecco.ok("ask", "--capability", "echoing", "three", "--node", "asker", "--json").json()
    assert asked["peerId"] == alice["peerId"]
    record = ecco.ok("peer", "reputation", alice["peerId"], "--node", "asker", "--json").json()
    assert record["successfulJobs"] == 3  # an ask is one request: counted once

    # alice's score (3 of 3: 80, good) puts her in the asker's own filters: no gossip needed
    def discover(tier: str) -> Any:
        return ecco(
            "peer",
            "discover",
            "--name",
            "echoing",
            "--phases",
            "fallback",
            "--bloom-tier",
            tier,
            "--node",
            "asker",
            "--json",
        )

    found = discover("acceptable")
    assert found.code == 0, found.stderr + found.stdout
    assert [(p["peerId"], p["bloomTier"]) for p in found.json()["peers"]] == [(alice["peerId"], "good")]
    elite = discover("elite")
    assert (elite.code, error_of(elite)["reason"]) == (3, "NO_PROVIDER_FOUND")

    assert ecco("request", failing["peerId"], "--prompt", "x", "--node", "asker").code != 0
    bad = ecco.ok("peer", "reputation", failing["peerId"], "--node", "asker", "--json").json()
    assert (bad["successfulJobs"], bad["failedJobs"], bad["localScore"]) == (0, 1, -1)

    listed = ecco.ok("peer", "reputation", "--node", "asker", "--json").json()
    assert listed["totalSize"] == 2
    # 3 of 3 answered and 0 of 1 apart after so few jobs (upstream's formula rounded both to 50)
    assert [(r["peerId"], r["discoveryScore"]) for r in listed["reputations"]] == [
        (alice["peerId"], 80),
        (failing["peerId"], 33),
    ]
    good = ecco.ok("peer", "reputation", "--min-tier", "elite", "--node", "asker", "--json").json()
    assert good == {"reputations": [], "totalSize": 0}
    table = ecco.ok("peer", "reputation", "--node", "asker").stdout.splitlines()
    assert table[0] == "2 peers with a reputation record" and len(table) == 3
