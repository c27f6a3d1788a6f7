"""Consensus over real daemons and real libp2p, driven through the CLI, with scripted responders: agents that agree
(Paris), one that disagrees (London), one that is slow when asked about "slow", one that always fails, and an echo
"scribe" that also serves as a synthesizer peer.

The cluster starts once for the module (nine daemons); each test picks its agents with --name/--preferred.
"""

from __future__ import annotations

import json
import shlex
import shutil
import sys
import tempfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.integration.conftest import Ecco, Result, error_of, list_events, up, wait_for_event

pytestmark = pytest.mark.integration

PARIS = "exec:echo Paris"
RESPONDERS = {
    "p2": PARIS,
    "p3": PARIS,
    "lon": "exec:echo London",
    # `exec` so that stopping the node kills the sleep itself, not just its shell
    "slow": 'exec:read -r p; case "$p" in *slow*) exec sleep 30;; esac; echo Paris',
    "broken": "exec:echo failing on purpose >&2; exit 3",
}
QUESTION = "What is the capital of France?"


class Cluster:
    def __init__(self, ecco: Ecco, ids: dict[str, str]) -> None:
        self.ecco = ecco
        self.ids = ids

    def run(self, *args: str, node: str = "user") -> Result:
        return self.ecco(*args, "--node", node)

    def json(self, *args: str, node: str = "user") -> dict[str, Any]:
        result = self.run(*args, "--json", node=node)
        assert result.code == 0, f"exit {result.code}: {result.stdout}{result.stderr}"
        return result.json()

    def error(self, *args: str, node: str = "user") -> tuple[int, dict[str, Any]]:
        result = self.run(*args, "--json", node=node)
        return result.code, error_of(result)

    def only(self, *names: str) -> list[str]:
        """--preferred flags restricting the candidates to these nodes."""
        return [arg for name in names for arg in ("--preferred", self.ids[name])]

    def name_of(self, peer_id: str) -> str:
        return next(name for name, pid in self.ids.items() if pid == peer_id)


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    home = Path(tempfile.mkdtemp(prefix="ecco-cons-", dir="/tmp"))
    ecco = Ecco(home)
    try:
        hub = up(ecco, "p1", "--capability", "capital", "--responder", PARIS)
        with ThreadPoolExecutor(max_workers=6) as pool:
            futures = {
                name: pool.submit(
                    up, ecco, name, "--capability", "capital", "--responder", spec, "--bootstrap", hub["addr"]
                )
                for name, spec in RESPONDERS.items()
            }
            futures["scribe"] = pool.submit(
                up, ecco, "scribe", "--capability", "scribe", "--responder", "echo", "--bootstrap", hub["addr"]
            )
            embedder_caps = home / "embedder.json"
            embedder_caps.write_text(json.dumps([{"type": "embedding", "name": "bow", "version": "1.0.0"}]))
            # no responder: the test is its harness and answers embedding-requests with `ecco send`
            futures["emb"] = pool.submit(
                up, ecco, "emb", "--capabilities-file", str(embedder_caps), "--bootstrap", hub["addr"]
            )
            nodes = {"p1": hub, **{name: future.result() for name, future in futures.items()}}
        bootstrap = [arg for node in nodes.values() for arg in ("--bootstrap", node["addr"])]
        nodes["user"] = up(ecco, "user", "--responder", "exec:tr a-z A-Z", *bootstrap)
        nodes["bare"] = up(ecco, "bare", "--bootstrap", hub["addr"])
        # wait (inside the daemons, on gossip) until the querying nodes know the providers' capabilities
        discover = ("peer", "discover", "--phases", "local", "--phase-timeout", "30000", "--json")
        for node, name, count in (
            ("user", "capital", 6),
            ("user", "scribe", 1),
            ("user", "bow", 1),
            ("bare", "capital", 1),
        ):
            found = ecco.ok(*discover, "--name", name, "--min-peers", str(count), "--node", node).json()["peers"]
            assert len(found) >= count, found
        yield Cluster(ecco, {name: node["peerId"] for name, node in nodes.items()})
    finally:
        with ThreadPoolExecutor(max_workers=6) as pool:
            names = [pid_file.parent.name for pid_file in home.glob("nodes/*/daemon.pid")]
            list(pool.map(lambda name: ecco("node", "stop", "--node", name), names))
        ecco.kill_all()
        shutil.rmtree(home, ignore_errors=True)


def _by_peer(doc: dict[str, Any], cluster: Cluster) -> dict[str, dict[str, Any]]:
    return {cluster.name_of(r["peerId"]): r for r in doc["responses"]}


# ---------------------------------------------------------------------------------------------------------------------
# The defaults, find mode, failures
# ---------------------------------------------------------------------------------------------------------------------


def test_the_bare_command_runs_phased_discovery_and_consensus_threshold(cluster: Cluster) -> None:
    # `bare` is connected to p1 only, and phased discovery stops after the first phase that found a match (the
    # upstream default --min-peers 1), so p1 is the one agent, whichever of proximity or local found it
    doc = cluster.json("consensus", QUESTION, node="bare")
    assert (doc["strategy"], doc["text"], doc["achieved"], doc["confidence"]) == (
        "consensus-threshold",
        "Paris\n",
        True,
        1,
    )
    assert [cluster.name_of(r["peerId"]) for r in doc["responses"]] == ["p1"]
    assert doc["receipt"]["parameters"] == {
        "discovery": "phased",
        "selection": "all",
        "aggregation": "consensus-threshold",
        "agentCount": 33,
        "minAgents": 1,
        "timeoutMs": 30000,
        "consensusThreshold": 0.6,
        "allowPartial": True,
        "decideEarly": True,
        "includeSelf": False,
        "similarity": "content",
        "similarityThreshold": 0.9,
    }
    plain = cluster.run("consensus", QUESTION, node="bare")
    assert plain.code == 0 and plain.stdout.splitlines()[-1] == "Paris"


def test_query_asks_every_agent_discovery_found(cluster: Cluster) -> None:
    agents = '{"requiredCapabilities": [{"type": "agent"}]}'  # every agent; not the embedding provider
    # --decide-early false: every answer is awaited, so the counts below are known
    doc = cluster.json("consensus", "query", QUESTION, "--raw", agents, "--min-peers", "7", "--decide-early", "false")
    assert doc["strategy"] == "consensus-threshold"
    responses = _by_peer(doc, cluster)
    # every agent: the six `capital` agents and the scribe (which echoes the question)
    assert set(responses) == {"p1", "p2", "p3", "lon", "slow", "broken", "scribe"}
    assert responses["broken"]["status"] == "failed" and "exited with status 3" in responses["broken"]["error"]
    assert responses["scribe"]["text"] == QUESTION
    assert (doc["text"], doc["agreement"], doc["achieved"]) == ("Paris\n", 4, True)
    assert doc["confidence"] == pytest.approx(4 / 6)
    assert doc["metrics"] | {"averageLatencyMs": 0, "totalTimeMs": 0} == {
        "totalAgents": 7,
        "successfulAgents": 6,
        "failedAgents": 1,
        "averageLatencyMs": 0,
        "totalTimeMs": 0,
    }
    assert [v["weight"] for v in doc["votes"]] == [4, 1, 1]
    ranked = doc["rankings"]
    assert len(ranked) == 6 and ranked[0]["contribution"] == 1.0
    assert all(0 < r["contribution"] <= 1 for r in ranked)


def test_request_uses_find_and_majority_vote_with_exact_matching(cluster: Cluster) -> None:
    doc = cluster.json(
        "consensus",
        "request",
        "Capital of France?",
        "--name",
        "capital",
        "--aggregation",
        "majority-vote",
        "--similarity",
        "exact",
        "--decide-early",
        "false",
    )
    assert (doc["strategy"], doc["text"], doc["agreement"], doc["confidence"]) == ("majority-vote", "Paris\n", 4, 0.8)
    assert [(v["text"], sorted(cluster.name_of(p) for p in v["peerIds"])) for v in doc["votes"]] == [
        ("Paris\n", ["p1", "p2", "p3", "slow"]),
        ("London\n", ["lon"]),
    ]
    assert _by_peer(doc, cluster)["broken"]["status"] == "failed"
    for response in doc["responses"]:
        assert response["requestMessageId"].endswith("-" + response["peerId"])


def test_slow_agents_time_out_and_allow_partial_decides(cluster: Cluster) -> None:
    args = ("consensus", "request", "slow: capital of France?", "--name", "capital", "--timeout", "3000")
    args += ("--decide-early", "false")
    doc = cluster.json(*args)
    responses = _by_peer(doc, cluster)
    # --timeout is the whole query's deadline: the slow agent is cut off when it passes, find included
    assert responses["slow"]["status"] == "timed-out" and responses["slow"]["latencyMs"] >= 2000
    assert 3000 <= doc["metrics"]["totalTimeMs"] <= 3000 * 1.1 and doc["stopReason"] == "deadline"
    assert responses["broken"]["status"] == "failed"
    assert (doc["text"], doc["metrics"]["failedAgents"], doc["achieved"]) == ("Paris\n", 2, True)

    code, error = cluster.error(*args, "--allow-partial", "false")
    assert (code, error["reason"]) == (4, "PARTIAL_RESULTS_NOT_ALLOWED")
    assert cluster.ids["slow"] in error["message"] and cluster.ids["broken"] in error["message"]

    code, error = cluster.error("consensus", "request", "slow?", *cluster.only("slow", "broken"), "--timeout", "2000")
    assert (code, error["reason"]) == (4, "ALL_AGENTS_FAILED")


# ---------------------------------------------------------------------------------------------------------------------
# Selection strategies
# ---------------------------------------------------------------------------------------------------------------------

FOUR = ("p1", "p2", "p3", "lon")


def _asked(cluster: Cluster, *args: str) -> list[str]:
    doc = cluster.json("consensus", "request", "Capital?", *cluster.only(*FOUR), "--aggregation", "ensemble", *args)
    return [cluster.name_of(r["peerId"]) for r in doc["responses"]]


def test_top_n_random_and_weighted_ask_agent_count_distinct_agents(cluster: Cluster) -> None:
    for selection in ("top-n", "random", "weighted"):
        asked = _asked(cluster, "--selection", selection, "--agent-count", "2")
        assert len(set(asked)) == 2 and set(asked) <= set(FOUR), selection
    assert len(_asked(cluster, "--selection", "all")) == 4


def test_round_robin_asks_the_least_recently_asked_first(cluster: Cluster) -> None:
    first = _asked(cluster, "--selection", "round-robin", "--agent-count", "2")
    second = _asked(cluster, "--selection", "round-robin", "--agent-count", "2")
    assert len(set(first)) == len(set(second)) == 2
    assert set(first) | set(second) == set(FOUR)


# ---------------------------------------------------------------------------------------------------------------------
# Aggregation strategies
# ---------------------------------------------------------------------------------------------------------------------


def test_vote_strategies(cluster: Cluster) -> None:
    split = cluster.only("p1", "p2", "lon")
    weighted = cluster.json(
        "consensus",
        "request",
        "Capital?",
        *split,
        "--aggregation",
        "weighted-vote",
        "--similarity",
        "exact",
        "--decide-early",
        "false",
    )
    assert (weighted["text"], weighted["agreement"]) == ("Paris\n", 2)
    assert weighted["confidence"] == pytest.approx(2 / 3, abs=0.01)  # equal match scores, near-equal performance

    missed = cluster.json("consensus", "request", "Capital?", *cluster.only("p1", "lon"))
    assert (missed["strategy"], missed["achieved"], missed["confidence"]) == ("consensus-threshold", False, 0.5)
    assert sorted(v["text"] for v in missed["votes"]) == ["London\n", "Paris\n"]
    plain = cluster.run("consensus", "request", "Capital?", *cluster.only("p1", "lon"))
    assert plain.code == 0 and "NO consensus" in plain.stdout

    lowered = cluster.json(
        "consensus", "request", "Capital?", *cluster.only("p1", "lon"), "--consensus-threshold", "0.5"
    )
    assert lowered["achieved"] is True


def test_single_answer_strategies(cluster: Cluster) -> None:
    long_prompt = "Explain at length why Paris is the capital of France."
    two = cluster.only("p1", "scribe")
    longest = cluster.json("consensus", "request", long_prompt, *two, "--aggregation", "longest")
    assert (longest["text"], longest["confidence"], longest["agreement"]) == (long_prompt, 1.0, 1)

    first = cluster.json("consensus", "request", long_prompt, *two, "--aggregation", "first-response")
    assert first["text"] == first["responses"][0]["text"]

    best = cluster.json("consensus", "request", long_prompt, *two, "--aggregation", "best-score")
    top = max(r["matchScore"] for r in best["responses"])
    assert best["text"] in {r["text"] for r in best["responses"] if r["matchScore"] == top}

    ensemble = cluster.json("consensus", "request", "Capital?", *cluster.only("p1", "lon"), "--aggregation", "ensemble")
    assert ensemble["text"] == "Combined output from 2 agents"
    assert ensemble["result"]["ensemble"] is True
    assert sorted(r["output"] for r in ensemble["result"]["responses"]) == ["London\n", "Paris\n"]


def test_synthesis_by_this_node_or_a_peer(cluster: Cluster) -> None:
    split = cluster.only("p1", "lon")
    own = cluster.json("consensus", "request", "Capital?", *split, "--aggregation", "synthesized-consensus")
    # the user node's responder upper-cases what it gets: upstream's synthesis prompt
    assert own["text"].startswith('ORIGINAL QUESTION: "CAPITAL?"\n\nAGENT RESPONSES:\n')
    assert "]: PARIS\n" in own["text"] and "]: LONDON\n" in own["text"]
    assert own["result"]["synthesized"] is True and own["result"]["sourceCount"] == 2

    by_peer = cluster.json(
        "consensus",
        "request",
        "Capital?",
        *split,
        "--aggregation",
        "synthesized-consensus",
        "--synthesizer",
        cluster.ids["scribe"],
    )
    assert by_peer["text"].startswith('Original question: "Capital?"')
    assert f"[{cluster.ids['p1']}]: Paris\n" in by_peer["text"]

    code, error = cluster.error(
        "consensus", "request", "Capital?", *split, "--aggregation", "synthesized-consensus", node="bare"
    )
    assert (code, error["reason"], error["field"]) == (4, "NO_SYNTHESIZER", "--synthesizer")


def test_custom_aggregator_and_its_validation(cluster: Cluster) -> None:
    script = (
        "import json, sys; texts = sorted(r['text'].strip() for r in json.load(sys.stdin)); "
        "print(json.dumps({'result': '|'.join(texts), 'confidence': 0.25, 'agreement': 1}))"
    )
    split = cluster.only("p1", "lon")
    command = f"{shlex.quote(sys.executable)} -c {shlex.quote(script)}"
    doc = cluster.json(
        "consensus", "request", "Capital?", *split, "--aggregation", "custom", "--aggregator-cmd", command
    )
    assert (doc["text"], doc["confidence"], doc["agreement"], doc["achieved"]) == ("London|Paris", 0.25, 1, True)

    for cmd, problem in (("echo not-json", "invalid JSON"), ('echo \'{"result": 1, "confidence": 7}\'', "0..1")):
        code, error = cluster.error(
            "consensus", "request", "Capital?", *split, "--aggregation", "custom", "--aggregator-cmd", cmd
        )
        assert (code, error["reason"]) == (4, "AGGREGATOR_FAILED") and problem in error["message"]


def test_include_self_adds_this_nodes_own_answer(cluster: Cluster) -> None:
    doc = cluster.json(
        "consensus", "query", "Capital?", *cluster.only("p1"), "--include-self", "true", "--aggregation", "ensemble"
    )
    responses = _by_peer(doc, cluster)
    assert set(responses) == {"p1", "user"}
    assert responses["user"]["selfAnswer"] and responses["user"]["text"] == "CAPITAL?"
    assert responses["user"]["matchScore"] == 1.0
    assert len(doc["receipt"]["entries"]) == 2


def test_include_self_without_a_responder_asks_this_nodes_harness(cluster: Cluster) -> None:
    """`bare` has no responder: its harness (this test) sees an agent-request from bare's own peer id and answers it
    with `ecco send <own id> --type agent-response`, like any other request."""
    bare = cluster.ids["bare"]
    query = cluster.ecco.follow(
        "consensus",
        "request",
        "Capital?",
        *cluster.only("p1"),
        "--include-self",
        "true",
        "--aggregation",
        "ensemble",
        "--receipt-out",
        str(cluster.ecco.home / "self-receipt.json"),
        "--json",
        "--node",
        "bare",
    )
    try:
        request = wait_for_event(cluster.ecco, "bare", lambda e: e["peerId"] == bare, "agent-request")
        assert request["direction"] == "inbound" and request["payload"] == {"prompt": "Capital?"}
        reply = {
            "requestId": request["messageId"],
            "response": {"text": "Paris, says the harness", "finishReason": "stop"},
        }
        cluster.ecco.ok("send", bare, "--type", "agent-response", "--payload", json.dumps(reply), "--node", "bare")
        doc = query.next_json(timeout=30)
    finally:
        query.stop()
    responses = _by_peer(doc, cluster)
    assert responses["bare"]["selfAnswer"] and responses["bare"]["text"] == "Paris, says the harness"
    assert responses["p1"]["text"] == "Paris\n" and doc["agreement"] == 2
    verified = cluster.ecco.ok("consensus", "verify", str(cluster.ecco.home / "self-receipt.json"), "--json").json()
    assert verified["responsesVerified"] == 2
    # any other message to itself is still refused
    refused = cluster.ecco(
        "send", bare, "--type", "agent-response", "--payload", json.dumps(reply), "--node", "bare", "--json"
    )
    assert (refused.code, error_of(refused)["reason"]) == (2, "INVALID_PEER_ID")


# ---------------------------------------------------------------------------------------------------------------------
# Bad input
# ---------------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "reason", "field"),
    [
        (("--consensus-threshold", "1.5"), "INVALID_ARGUMENT", "--consensus-threshold"),
        (("--agent-count", "0"), "INVALID_ARGUMENT", "--agent-count"),
        (("--min-agents", "20"), "INSUFFICIENT_AGENTS", "--min-agents"),
        (("--selection", "best"), "INVALID_ARGUMENT", "--selection"),
        (("--aggregation", "mode"), "INVALID_ARGUMENT", "--aggregation"),
        (("--aggregation", "custom"), "INVALID_ARGUMENT", "--aggregator-cmd"),
        (("--synthesizer", "nobody", "--aggregation", "synthesized-consensus"), "INVALID_PEER_ID", "--synthesizer"),
        (("--phases", "moon"), "UNKNOWN_DISCOVERY_PHASE", "--phases"),
    ],
)
def test_bad_input_is_invalid_argument_naming_the_flag(
    cluster: Cluster, args: tuple[str, ...], reason: str, field: str
) -> None:
    code, error = cluster.error("consensus", "query", "Capital?", "--name", "capital", "--phases", "fallback", *args)
    assert (code, error["code"], error["reason"], error["field"]) == (2, "INVALID_ARGUMENT", reason, field)


def test_nobody_matching_and_an_empty_prompt(cluster: Cluster) -> None:
    code, error = cluster.error("consensus", "request", "Capital?", "--name", "astrology")
    assert (code, error["reason"]) == (3, "NO_MATCHING_AGENTS")
    code, error = cluster.error("consensus", "request", " ")
    assert (code, error["reason"], error["field"]) == (2, "INVALID_ARGUMENT", "prompt")
    assert cluster.run("consensus", "request", "Capital?", "--phases", "local").code == 2  # query-only flag


# ---------------------------------------------------------------------------------------------------------------------
# Receipts, progress, events, repeats
# ---------------------------------------------------------------------------------------------------------------------


def test_receipt_verifies_offline_and_tampering_fails(cluster: Cluster, tmp_path: Path) -> None:
    receipt_file = tmp_path / "receipt.json"
    doc = cluster.json(
        "consensus", "request", "Capital?", "--name", "capital", "--receipt-out", str(receipt_file), "--timeout", "5000"
    )
    bundle = json.loads(receipt_file.read_text())
    receipt = bundle["receipt"]
    assert receipt == doc["receipt"] and receipt["signerPeerId"] == cluster.ids["user"]
    assert receipt["consensusId"] == doc["consensusId"] and receipt["result"] == doc["text"]
    successful = [r for r in doc["responses"] if r["status"] == "succeeded"]
    assert [e["messageId"] for e in receipt["entries"]] == [r["messageId"] for r in successful]
    assert receipt["parameters"]["aggregation"] == "consensus-threshold"

    offline = Ecco(tmp_path / "no-nodes-here")  # no daemon anywhere: verification needs none
    verified = offline.ok("consensus", "verify", str(receipt_file), "--json").json()
    assert verified == {
        "verified": True,
        "consensusId": doc["consensusId"],
        "signerPeerId": cluster.ids["user"],
        "responsesVerified": len(successful),
    }

    def tampered(change: Any) -> dict[str, Any]:
        copy = json.loads(receipt_file.read_text())
        change(copy)
        path = tmp_path / "tampered.json"
        path.write_text(json.dumps(copy))
        result = offline("consensus", "verify", str(path), "--json")
        assert result.code == 2
        return error_of(result)

    error = tampered(lambda b: b["receipt"].update(result="Lyon\n"))
    assert error["reason"] == "RECEIPT_INVALID" and "receipt signature does not verify" in error["message"]
    error = tampered(lambda b: b["responses"][0]["payload"]["response"].update(text="Lyon\n"))
    assert (
        "entry 0: message signature rejected" in error["message"]
        and "entry 0: response hash mismatch" in error["message"]
    )
    error = tampered(lambda b: b["responses"].pop())
    assert "was not given" in error["message"]


def test_live_progress_events_and_the_system_prompt(cluster: Cluster) -> None:
    plain = cluster.run(
        "consensus",
        "query",
        "Capital?",
        *cluster.only("p1", "broken"),
        "--system-prompt",
        "Answer in one word",
        "--min-peers",
        "2",
    )
    assert plain.code == 0, plain.stderr
    lines = plain.stdout.splitlines()
    assert "asking 2 of 2 candidate agents" in lines
    progress = [line for line in lines if line.startswith(("ok    ", "FAIL  "))]
    assert len(progress) == 2
    assert any(
        line.startswith("FAIL  ") and "failed: the responder command exited with status 3" in line for line in progress
    )
    assert lines[-2].startswith("consensus achieved (consensus-threshold: confidence 1.00, 1 agree;")
    assert lines[-1] == "Paris"

    completed = list_events(cluster.ecco, "user", "consensus-completed")[-1]
    consensus_id = completed["payload"]["consensusId"]
    progress_events = [
        e
        for e in list_events(cluster.ecco, "user", "consensus-progress")
        if e["payload"]["consensusId"] == consensus_id
    ]
    assert sorted(e["payload"]["status"] for e in progress_events) == ["failed", "succeeded"]
    assert progress_events[-1]["cursor"] < completed["cursor"]

    asked = [e for e in list_events(cluster.ecco, "p1", "agent-request") if e["payload"].get("system")]
    assert asked and asked[-1]["payload"] == {"prompt": "Capital?", "system": "Answer in one word"}


def test_a_repeated_request_id_asks_nobody_again(cluster: Cluster) -> None:
    args = ("consensus", "request", "Capital?", *cluster.only("p1", "p2"), "--request-id", "cons-repeat-1")
    before = len(list_events(cluster.ecco, "p1", "agent-request"))
    first = cluster.json(*args)
    second = cluster.json(*args)
    assert first["consensusId"] == second["consensusId"] == "cons-repeat-1"
    assert [r["messageId"] for r in first["responses"]] == [r["messageId"] for r in second["responses"]]
    assert len(list_events(cluster.ecco, "p1", "agent-request")) == before + 1
    code, error = cluster.error("consensus", "request", "Other?", "--request-id", "cons-repeat-1")
    assert (code, error["reason"]) == (2, "IDEMPOTENCY_CONFLICT")


def test_peer_embedding_similarity_asks_an_embedding_provider(cluster: Cluster) -> None:
    """The embedding provider's harness (this test) answers the embedding-request: the first text's vector in two
    chunks, the others whole. "Paris" and "London" differ as words but are close as vectors here."""
    vectors = {"Paris\n": [1.0, 0.0, 0.3, 0.1], "London\n": [0.9, 0.1, 0.3, 0.2]}
    query = cluster.ecco.follow(
        "consensus",
        "request",
        "Capital?",
        *cluster.only("p1", "lon"),
        "--aggregation",
        "majority-vote",
        "--similarity",
        "peer-embedding",
        "--similarity-threshold",
        "0.95",
        "--json",
        "--node",
        "user",
    )
    try:
        request = wait_for_event(cluster.ecco, "emb", lambda e: True, "embedding-request")
        payload = request["payload"]
        assert request["peerId"] == cluster.ids["user"] and sorted(payload["texts"]) == ["London\n", "Paris\n"]
        total = len(payload["texts"])
        for index, text in enumerate(payload["texts"]):
            vector = vectors[text]
            pieces = [vector[:2], vector[2:]] if index == 0 else [vector]
            for chunk, piece in enumerate(pieces):
                reply = {
                    "type": "embedding-response",
                    "requestId": payload["requestId"],
                    "embeddings": [piece],
                    "model": "bow",
                    "dimensions": 4,
                    "index": index,
                    "total": total,
                    "chunkIndex": chunk,
                    "totalChunks": len(pieces),
                }
                cluster.ecco.ok(
                    "send",
                    cluster.ids["user"],
                    "--type",
                    "embedding-response",
                    "--payload",
                    json.dumps(reply),
                    "--node",
                    "emb",
                )
        doc = query.next_json(timeout=30)
    finally:
        query.stop()
    # cosine 0.99 >= 0.95: one cluster of two, where exact or text-overlap matching would see two camps
    assert (doc["agreement"], doc["confidence"], doc["achieved"]) == (2, 1.0, True)
    assert doc["receipt"]["parameters"]["similarity"] == "peer-embedding"
