"""Consensus fan-out: one query to 10 and to 30 echo responders (one per daemon), next to a single request round
trip measured in the same run. Goal: fan-out to 30 <= 3x a single round trip.

Starts 1 + AGENTS daemons with `ecco up` (libp2p on 127.0.0.1 port 0, one temporary ECCO_HOME): a querying node
"asker" without a responder, then AGENTS agents with `--capability echo-agent --responder echo`, each bootstrapped
to the asker (so every agent is one hop away, as consensus dials its candidates anyway). The asker then waits, with
one `ecco peer discover --phases local --min-peers AGENTS` (event-driven inside the daemon), until it knows them all.

Measured on the asker, each REPEATS times after one warm-up, medians reported:
  * baseline: `ecco request <agent> --prompt P --json` (one agent-request round trip): the CLI's wall time and the
    node-side latency (the reply's latencyMs);
  * figure: `ecco consensus request P --name echo-agent --selection top-n --agent-count 10` and `--selection all`
    (= all 30), aggregation majority-vote: the CLI's wall time and the node-side totalTimeMs.
  * breakdown: the CPU (utime + stime, all threads, /proc) the asker and the agents together used per command.
Both use find mode (no phased discovery), so the figure is the fan-out itself: 10 / 30 signed requests out, 10 / 30
signed replies in, each answer written to the event log, aggregation, the signed receipt.

Binds TCP on 127.0.0.1 only. Takes ~90 s on 2 vCPUs; START_BUDGET_S bounds the start phase. Prints one JSON line.
Run: .venv/bin/python bench/consensus.py
"""

from __future__ import annotations

import concurrent.futures
import json
import shutil
import statistics
import time
from typing import Any

from _common import bench_home, clean_env, cpu_s, dial_addr, ecco_cli, provenance, run, stop_daemon, up_node

AGENTS = 30
FANOUTS = (10, 30)
REPEATS = 5
START_WORKERS = 3
STOP_WORKERS = 4
START_BUDGET_S = 150.0
GOAL_RATIO = 3.0
ASKER = "asker"
CAPABILITY = "echo-agent"
PROMPT = "What is the capital of France? Answer in one word."


def _median(values: list[float]) -> float:
    return round(statistics.median(values), 3)


def start(env: dict[str, str]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    began = time.monotonic()
    asker = up_node(env, ASKER, "asker", [])
    with concurrent.futures.ThreadPoolExecutor(START_WORKERS) as pool:
        futures = [
            pool.submit(up_node, env, f"agent-{i}", CAPABILITY, [dial_addr(asker)], "--responder", "echo")
            for i in range(AGENTS)
        ]
        agents = [f.result(timeout=START_BUDGET_S) for f in futures]
    if time.monotonic() - began > START_BUDGET_S:
        raise RuntimeError(f"starting {AGENTS + 1} nodes took over {START_BUDGET_S:g} s")
    discover = [*ecco_cli(), "peer", "discover", "--name", CAPABILITY, "--phases", "local", "--json"]
    found = run(
        [*discover, "--min-peers", str(AGENTS), "--phase-timeout", "60000", "--node", ASKER], env, timeout=90
    ).json()["peers"]
    if len(found) < AGENTS:
        raise RuntimeError(f"the asker knows {len(found)} of {AGENTS} agents")
    return asker, agents


def _measure(env: dict[str, str], commands: list[list[str]], pids: list[int], check: Any) -> dict[str, Any]:
    """Run each command (the first is a warm-up): medians of the CLI wall time and of `check(doc)` (the node-side
    milliseconds), and the CPU the asker (pids[0]) and the agents (the rest) used per measured command."""
    cli_s: list[float] = []
    node_ms: list[float] = []
    run(commands[0], env, timeout=90)
    asker_before, agents_before = cpu_s(pids[0]), sum(cpu_s(p) for p in pids[1:])
    for command in commands[1:]:
        ran = run(command, env, timeout=90)
        cli_s.append(ran.seconds)
        node_ms.append(check(ran.json()))
    n = len(commands) - 1
    return {
        "cli_s": _median(cli_s),
        "node_ms": _median(node_ms),
        "asker_cpu_ms": round((cpu_s(pids[0]) - asker_before) * 1000 / n, 1),
        "agents_cpu_ms": round((sum(cpu_s(p) for p in pids[1:]) - agents_before) * 1000 / n, 1),
    }


def single_requests(env: dict[str, str], agents: list[dict[str, Any]], pids: list[int]) -> dict[str, Any]:
    """One agent-request round trip (`ecco request`), to a different agent each time."""
    commands = [
        [*ecco_cli(), "request", agents[i % len(agents)]["peerId"], "--prompt", PROMPT, "--json", "--node", ASKER]
        for i in range(REPEATS + 1)
    ]
    return _measure(env, commands, pids, lambda doc: doc["latencyMs"])


def fan_out(env: dict[str, str], count: int, pids: list[int]) -> dict[str, Any]:
    selection = ["--selection", "all"] if count >= AGENTS else ["--selection", "top-n", "--agent-count", str(count)]
    command = [
        *ecco_cli(),
        "consensus",
        "request",
        PROMPT,
        "--name",
        CAPABILITY,
        *selection,
        "--aggregation",
        "majority-vote",
        "--json",
        "--node",
        ASKER,
    ]

    def check(doc: dict[str, Any]) -> float:
        metrics = doc["metrics"]
        if metrics["successfulAgents"] != count or doc["text"] != PROMPT:
            raise RuntimeError(f"fan-out to {count}: {metrics} {doc['text']!r}")
        return metrics["totalTimeMs"]

    return _measure(env, [command] * (REPEATS + 1), pids, check)


def main() -> int:
    began = time.monotonic()
    home = bench_home("ebc")
    env = clean_env(home)
    names = [ASKER, *(f"agent-{i}" for i in range(AGENTS))]
    try:
        asker, agents = start(env)
        started_s = round(time.monotonic() - began, 1)
        pids = [asker["pid"], *(a["pid"] for a in agents)]
        single = single_requests(env, agents, pids)
        results = {str(n): fan_out(env, n, pids) for n in FANOUTS}
    finally:
        with concurrent.futures.ThreadPoolExecutor(STOP_WORKERS) as pool:
            list(pool.map(lambda name: stop_daemon(home, name), names))
        shutil.rmtree(home, ignore_errors=True)
    thirty = results[str(FANOUTS[-1])]
    ratio_cli = round(thirty["cli_s"] / single["cli_s"], 2)
    ratio_node = round(thirty["node_ms"] / max(single["node_ms"], 1), 2)
    print(
        json.dumps(
            {
                "benchmark": "consensus_fanout",
                "figure": {f"fanout_{n}": r for n, r in results.items()},
                "baseline": {"single_request": single},
                "ratio_30_vs_single": {"cli_wall": ratio_cli, "node_side": ratio_node},
                "goal": f"fan-out to 30 <= {GOAL_RATIO:g}x a single round trip",
                "goal_met": {"cli_wall": ratio_cli <= GOAL_RATIO, "node_side": ratio_node <= GOAL_RATIO},
                "start_s": started_s,
                **provenance(began),
            }
        ),
        flush=True,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
