"""Discovery at scale: 30 daemons on one machine, one provider of a rare capability; time until every node finds it.

Starts NODES daemons with `ecco up` (subprocesses, libp2p on 127.0.0.1 port 0, one temporary ECCO_HOME), one after
another; node i bootstraps to node i-1 and node floor(i/2) (one address when they coincide), so the overlay is
connected with 1-2 dials per node but is not a full mesh: most nodes are several hops from any other. Every node
announces capability "common" except the LAST one started, the only provider of "rare-capability". The total start
time is reported separately (starting is CPU-bound on a small machine).

The figure: from the moment the provider's `ecco up` returned, every other node runs
`ecco peer discover --name rare-capability --min-peers 1 --json --phase-timeout PHASE_TIMEOUT_MS` (a bounded thread
pool of QUERY_WORKERS runs the 29 CLIs concurrently); a node whose result does not contain the provider is asked
again, in a loop bounded by MAX_ATTEMPTS and by a DEADLINE_S deadline. There is no sleep: the discover call itself
waits (event-driven, up to the phase timeout) for gossip to bring an answer. A node's time-to-discover is from the
provider being up until the end of the discover call that found it (so it includes the CLI's start-up and the wait
for a free worker); the total is the largest of them. p50/max per node, the phase that found it and the number of
calls are reported.

Memory: VmRSS (/proc/<pid>/status) of every daemon once discovery has finished and the nodes are idle; median, max.

Baselines measured in the same run (before the 30 nodes start, on their own):
  * a 2-node pair (a provider bootstrapped to a plain node): the wall time of one `ecco peer find --name
    rare-capability --json` on the plain node (the first call, then the median of a few more), i.e. finding a
    directly connected provider; plus one `ecco peer discover` with the same flags as the figure;
  * the RSS of an idle `python -c "import libp2p, grpc, ..."` with the same interpreter: the interpreter +
    libraries floor of any daemon.

Binds TCP ports on 127.0.0.1 only (the daemons' libp2p listeners, port 0). Takes ~75 s on 2 vCPUs; bounded by
START_BUDGET_S for the start phase and DEADLINE_S for discovery. Prints one JSON line.
Run: .venv/bin/python bench/discovery.py
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import json
import os
import select
import shutil
import signal
import statistics
import subprocess
import sys
import time
from typing import Any

from _common import (
    bench_home,
    clean_env,
    cpu_s,
    dial_addr,
    ecco_cli,
    pct,
    provenance,
    read_json_line,
    run,
    stop_daemon,
    up_node,
)

NODES = 30
RARE, COMMON = "rare-capability", "common"
PHASE_TIMEOUT_MS = 5_000
DEADLINE_S = 30.0  # for every node to have found the provider, from the provider being up
MAX_ATTEMPTS = 20  # discover calls per node (bounds the loop in count as well as in time)
# concurrent `ecco peer discover` CLIs (2 vCPUs: each CLI start-up is ~0.1 s of CPU); overridable for experiments
QUERY_WORKERS = int(os.environ.get("BENCH_QUERY_WORKERS", "10"))
STOP_WORKERS = 4
EXIT_WAIT_S = 10.0
FIND_REPEATS = 5
START_BUDGET_S = 120.0  # for starting the NODES daemons
GOAL_S = 10.0
GOAL_RSS_MB = 100.0
PREFIX = "disc-"
BASE_PLAIN, BASE_PROVIDER = "base-plain", "base-provider"
FLOOR_SCRIPT = "import sys, libp2p, grpc, trio, sqlite3, google.protobuf; print('{}', flush=True); sys.stdin.read()"


def bootstrap_of(i: int) -> list[int]:
    """The earlier nodes node i dials on start: i-1 and floor(i/2) (deduplicated; none for node 0)."""
    return sorted({i - 1, i // 2} - {i}) if i > 0 else []


def rss_kb(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def discover_cmd(name: str) -> list[str]:
    return [
        *ecco_cli(),
        "peer",
        "discover",
        "--name",
        RARE,
        "--min-peers",
        "1",
        "--phase-timeout",
        str(PHASE_TIMEOUT_MS),
        "--json",
        "--node",
        name,
    ]


def discover_once(env: dict[str, str], name: str, provider_id: str) -> dict[str, Any]:
    """One `peer discover` call: found (the provider is in the result), phase, the CLI's wall time, the node-side
    totalTimeMs, and a note on failure. Exit 3 (NO_PROVIDER_FOUND) = no match at all."""
    timeout = 4 * PHASE_TIMEOUT_MS / 1000 + 15
    started = time.monotonic()
    try:
        proc = subprocess.run(
            discover_cmd(name), env=env, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL
        )
    except subprocess.TimeoutExpired:
        return {"found": False, "call_s": time.monotonic() - started, "note": "CLI timed out"}
    call = {"found": False, "call_s": time.monotonic() - started}
    if proc.returncode != 0:
        return call | {"note": f"exit {proc.returncode}: {proc.stderr.strip()[-200:]}"}
    doc = json.loads(proc.stdout.strip().splitlines()[-1])
    call["node_ms"] = doc["totalTimeMs"]
    for peer in doc["peers"]:
        if peer["peerId"] == provider_id:
            return call | {"found": True, "phase": peer["phase"]}
    return call | {"note": f"{len(doc['peers'])} other peers"}


def discover_until_found(
    env: dict[str, str], name: str, provider_id: str, t0: float, deadline: float
) -> dict[str, Any]:
    """Re-run discover on node `name` until it finds the provider, MAX_ATTEMPTS calls or the deadline."""
    queued_s = time.monotonic() - t0
    calls: list[dict[str, Any]] = []
    for _ in range(MAX_ATTEMPTS):
        if time.monotonic() >= deadline:
            break
        calls.append(discover_once(env, name, provider_id))
        if calls[-1]["found"]:
            return {"node": name, "found_s": time.monotonic() - t0, "queued_s": queued_s, "calls": calls}
    return {"node": name, "found_s": None, "queued_s": queued_s, "calls": calls}


def floor_rss_kb(env: dict[str, str]) -> int | None:
    """RSS of an idle interpreter that imported what every daemon imports (libp2p, grpc, trio, ...)."""
    proc = subprocess.Popen(
        [sys.executable, "-c", FLOOR_SCRIPT], env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    try:
        read_json_line(proc, time.monotonic() + 30, "the floor process")
        return rss_kb(proc.pid)
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


def two_node_baseline(env: dict[str, str], home: str) -> dict[str, Any]:
    """`ecco peer find` (and one `peer discover`) on a node directly connected to the provider."""
    plain = up_node(env, BASE_PLAIN, COMMON, [])
    provider = up_node(env, BASE_PROVIDER, RARE, [dial_addr(plain)])
    find_cmd = [*ecco_cli(), "peer", "find", "--name", RARE, "--json", "--node", BASE_PLAIN]
    times: list[float] = []
    for _ in range(FIND_REPEATS):
        ran = run(find_cmd, env)
        if not any(m["peer"]["peerId"] == provider["peerId"] for m in ran.json()["matches"]):
            raise RuntimeError(f"2-node baseline: peer find did not return the provider: {ran.stdout}")
        times.append(ran.seconds)
    call = discover_once(env, BASE_PLAIN, provider["peerId"])
    rss = [rss_kb(plain["pid"]), rss_kb(provider["pid"])]
    return {
        "find_first_s": round(times[0], 3),
        "find_median_s": round(statistics.median(times[1:]), 3),
        "discover_s": round(call["call_s"], 3),
        "discover_found": call["found"],
        "discover_phase": call.get("phase") or call.get("note"),
        "idle_rss_mb": [round(r / 1024, 1) for r in rss if r is not None],
    }


def stop_all(home: str, names: list[str], pids: dict[str, int]) -> list[str]:
    """Stop every node (a few at a time); SIGKILL any pid still alive afterwards. Returns the names not stopped."""

    def stop(name: str) -> None:
        stop_daemon(home, name)

    with concurrent.futures.ThreadPoolExecutor(STOP_WORKERS) as pool:
        list(pool.map(lambda n: _quiet(stop, n), names))
    survivors = []
    for name, pid in pids.items():
        if not exited(pid, EXIT_WAIT_S):
            survivors.append(name)
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    return survivors


def _quiet(fn: Any, arg: Any) -> None:
    try:
        fn(arg)
    except Exception as error:  # stopping must go on for the other nodes
        sys.stderr.write(f"bench: stopping {arg}: {error}\n")


def exited(pid: int, timeout: float) -> bool:
    """Wait (event-driven, a pidfd, at most `timeout` s) for process `pid` to exit. `ecco node stop` returns once the
    daemon released its lock, which is shortly before the interpreter has finished exiting."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    try:
        readable, _, _ = select.select([fd], [], [], timeout)
        return bool(readable)
    finally:
        os.close(fd)


def main() -> int:
    began = time.monotonic()
    home = bench_home("ebd")
    env = clean_env(home)
    names = [f"{PREFIX}{i:02d}" for i in range(NODES)]
    pids: dict[str, int] = {}
    nodes: list[dict[str, Any]] = []
    results: list[dict[str, Any]] = []
    try:
        floor_kb = floor_rss_kb(env)
        try:
            baseline = two_node_baseline(env, home)
        finally:
            stop_all(home, [BASE_PLAIN, BASE_PROVIDER], {})

        start_began = time.monotonic()
        for i, name in enumerate(names):
            if time.monotonic() - start_began > START_BUDGET_S:
                raise RuntimeError(f"starting {NODES} nodes took over {START_BUDGET_S:g} s ({i} up)")
            node = up_node(
                env, name, RARE if i == NODES - 1 else COMMON, [dial_addr(nodes[j]) for j in bootstrap_of(i)]
            )
            pids[name] = node["pid"]
            nodes.append(node)
        t0 = time.monotonic()  # the provider's `ecco up` has returned
        start_s = t0 - start_began
        provider = nodes[-1]
        deadline = t0 + DEADLINE_S
        cpu_before = sum(cpu_s(pid) for pid in pids.values())
        with concurrent.futures.ThreadPoolExecutor(QUERY_WORKERS) as pool:
            futures = [
                pool.submit(discover_until_found, env, name, provider["peerId"], t0, deadline) for name in names[:-1]
            ]
            results = [f.result() for f in futures]
        discovery_s = time.monotonic() - t0
        daemons_cpu_s = sum(cpu_s(pid) for pid in pids.values()) - cpu_before
        rss = {name: rss_kb(pid) for name, pid in pids.items()}
    finally:
        survivors = stop_all(home, names, pids)
        shutil.rmtree(home, ignore_errors=True)

    found = [r["found_s"] for r in results if r["found_s"] is not None]
    missing = [r for r in results if r["found_s"] is None]
    all_found = not missing
    total_s = max(found) if all_found else None
    rss_mb = [v / 1024 for v in rss.values() if v is not None]
    rss_median, rss_max = statistics.median(rss_mb), max(rss_mb)
    floor_mb = floor_kb / 1024 if floor_kb else None
    phases: dict[str, int] = {}
    for r in results:
        if r["found_s"] is not None:
            phase = r["calls"][-1]["phase"]
            phases[phase] = phases.get(phase, 0) + 1
    calls = [c for r in results for c in r["calls"]]
    call_s = [c["call_s"] for c in calls]
    node_ms = [c["node_ms"] for c in calls if "node_ms" in c]
    up_times = [n["up_s"] for n in nodes]
    result = {
        "benchmark": "discovery",
        "figure": (
            f"time from the provider's `ecco up` returning until all {NODES - 1} other nodes' `ecco peer discover "
            f"--name {RARE} --min-peers 1` found it ({NODES} daemons, 127.0.0.1)"
        ),
        "value": round(total_s, 3) if total_s is not None else None,
        "unit": "s (all nodes)",
        "goal": f"< {GOAL_S:g} s; < {GOAL_RSS_MB:g} MB RSS per idle node",
        "goal_met": {
            "time": bool(all_found and total_s is not None and total_s < GOAL_S),
            "rss": rss_max < GOAL_RSS_MB,
        },
        "per_node_s": {
            "p50": round(pct(found, 50), 3) if found else None,
            "max": round(max(found), 3) if found else None,
            "found": len(found),
            "of": len(results),
        },
        "rss_mb": {"median": round(rss_median, 1), "max": round(rss_max, 1), "nodes": len(rss_mb)},
        "baseline": {
            "two_node_peer_find_s": baseline["find_first_s"],
            "two_node_peer_find_repeat_median_s": baseline["find_median_s"],
            "two_node_peer_discover_s": baseline["discover_s"],
            "floor_rss_mb_python_import_libp2p_grpc": round(floor_mb, 1) if floor_mb else None,
            "two_node_idle_rss_mb": baseline["idle_rss_mb"],
        },
        "ratio": {
            "total_vs_two_node_find": round(total_s / baseline["find_first_s"], 2) if total_s else None,
            "rss_median_vs_floor": round(rss_median / floor_mb, 2) if floor_mb else None,
        },
        "breakdown": {
            "start_all_s": round(start_s, 1),
            "up_s_per_node": {"median": round(statistics.median(up_times), 3), "max": round(max(up_times), 3)},
            "discovery_wall_s": round(discovery_s, 3),
            "daemons_cpu_s_during_discovery": round(daemons_cpu_s, 2),
            "found_in_phase": phases,
            "calls_per_node": {"max": max(len(r["calls"]) for r in results), "total": len(calls)},
            "discover_call_wall_s": {"p50": round(pct(call_s, 50), 3), "max": round(max(call_s), 3)},
            "discover_node_side_ms": {"p50": pct(node_ms, 50), "max": max(node_ms)} if node_ms else None,
            "queued_s_max": round(max(r["queued_s"] for r in results), 3),
            "provider_connected_peers": provider.get("connectedPeers"),
            "missing": [{"node": r["node"], "notes": [c.get("note") for c in r["calls"][-3:]]} for r in missing],
            "query_workers": QUERY_WORKERS,
            "phase_timeout_ms": PHASE_TIMEOUT_MS,
            "not_stopped_cleanly": survivors,
        },
        **provenance(began),
    }
    sys.stdout.write(json.dumps(result) + "\n")
    return 0 if all_found else 1


if __name__ == "__main__":
    sys.exit(main())
