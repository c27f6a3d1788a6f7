"""Soak: two real daemons under mixed traffic for SOAK_S seconds (default 600), with large payloads, reconnects and
one `kill -9` and restart of the serving node, sampling its RSS, open file descriptors and database size.

Node A (`--responder echo`) serves; node B (bootstrapped to A) is the client. In a loop, paced to OPS_PER_S: a
`Prompt` B -> A (request and echoed reply), a fire-and-forget `SendPrompt`, every LARGE_EVERY-th prompt a
LARGE_BYTES one, and a `ListEvents` page of A. Every RECONNECT_S seconds B is stopped and started again (A sees the
peer leave and come back); at half time A is killed with SIGKILL and restarted on the same port. Every SAMPLE_S
A's RSS, fds and `ecco.db*` size are sampled; the baseline is the same sample of the idle node before the traffic.
At the end A's event cursors are checked to be gap-free (nothing acknowledged was lost across the kill).

The figure: growth of RSS, fds and database size from the first to the last third of the run (what a leak would
show), next to the idle baseline; calls succeeded and failed (failures are expected only around the kill and the
reconnects). Prints one JSON line. Run: .venv/bin/python bench/soak.py  (SOAK_S=120 for a shorter run)
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import signal
import socket
import sys
import time
from pathlib import Path

from _common import bench_home, clean_env, dial_addr, ecco_cli, log, provenance, run, stop_daemon, up_node

SOAK_S = float(os.environ.get("SOAK_S", "600"))
OPS_PER_S = 10.0
LARGE_EVERY = 25
LARGE_BYTES = 1_000_000
RECONNECT_S = 60.0
SAMPLE_S = 5.0
CALL_TIMEOUT_S = 20.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def sample(home: str, pid: int) -> dict[str, float]:
    """RSS (MB), open fds and database size (MB, with its WAL) of node "a"."""
    rss_kb = 0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            rss_kb = int(line.split()[1])
    fds = len(os.listdir(f"/proc/{pid}/fd"))
    db = sum(p.stat().st_size for p in (Path(home) / "nodes" / "a").glob("ecco.db*"))
    return {"rss_mb": round(rss_kb / 1024, 1), "fds": fds, "db_mb": round(db / 2**20, 2)}


def growth(samples: list[dict[str, float]]) -> dict[str, float]:
    """Mean of the last third minus mean of the first third, per metric."""
    third = max(1, len(samples) // 3)

    def mean(part: list[dict[str, float]], key: str) -> float:
        return sum(s[key] for s in part) / len(part)

    return {key: round(mean(samples[-third:], key) - mean(samples[:third], key), 2) for key in samples[0]}


def main() -> int:
    from ecco.client import NodeClient
    from ecco.home import NodePaths
    from ecco.v1 import event_service_pb2, messaging_service_pb2

    began = time.monotonic()
    home = bench_home("esk")
    env = {**clean_env(home), "ECCO_RATE_LIMIT_MESSAGES": "100000", "ECCO_RATE_LIMIT_REFILL": "100000"}
    port = free_port()
    a_args = ("--responder", "echo", "--listen", f"/ip4/127.0.0.1/tcp/{port}")
    counts = {"ok": 0, "failed": 0, "large": 0, "reconnects": 0, "kills": 0}
    samples: list[dict[str, float]] = []
    try:
        a = up_node(env, "a", "echo", [], *a_args)
        up_node(env, "b", "client", [dial_addr(a)])
        a_pid = a["pid"]
        baseline = sample(home, a_pid)
        client = NodeClient.for_paths(NodePaths.for_name("b", Path(home)))
        a_events = NodeClient.for_paths(NodePaths.for_name("a", Path(home)))
        messaging, events = client.stub("MessagingService"), a_events.stub("EventService")
        deadline = time.monotonic() + SOAK_S
        killed = False
        next_reconnect = time.monotonic() + RECONNECT_S
        next_sample = time.monotonic()
        ops = 0
        while (now := time.monotonic()) < deadline:
            if now >= next_sample:
                samples.append(sample(home, a_pid))
                next_sample += SAMPLE_S
            if not killed and now >= deadline - SOAK_S / 2:
                os.kill(a_pid, signal.SIGKILL)
                log("killed node a with SIGKILL")
                a_pid = up_node(env, "a", "echo", [], *a_args)["pid"]
                run([*ecco_cli(), "connect", dial_addr(a), "--node", "b"], env, timeout=30)
                killed, counts["kills"] = True, 1
            if now >= next_reconnect:
                stop_daemon(home, "b")
                up_node(env, "b", "client", [dial_addr(a)])
                counts["reconnects"] += 1
                next_reconnect += RECONNECT_S
            ops += 1
            large = ops % LARGE_EVERY == 0
            prompt = ("x" * LARGE_BYTES) if large else f"soak {ops}"
            try:
                reply = client.call(
                    messaging.Prompt,
                    messaging_service_pb2.PromptRequest(peer_id=a["peerId"], prompt=prompt, timeout_ms=10_000),
                    timeout=CALL_TIMEOUT_S,
                )
                assert reply.reply.text == prompt
                client.call(
                    messaging.SendPrompt,
                    messaging_service_pb2.SendPromptRequest(peer_id=a["peerId"], prompt=f"fire {ops}"),
                    timeout=CALL_TIMEOUT_S,
                )
                a_events.call(events.ListEvents, event_service_pb2.ListEventsRequest(page_size=100), timeout=10)
                counts["ok"] += 1
                counts["large"] += large
            except Exception as error:  # the kill and the reconnects make some calls fail; they are counted
                counts["failed"] += 1
                if counts["failed"] % 20 == 1:
                    log(f"call failed: {error}")
            time.sleep(max(0.0, 1 / OPS_PER_S - (time.monotonic() - now)))
        samples.append(sample(home, a_pid))
        cursors: list[int] = []
        token = ""
        for _ in range(10_000):  # bounded: pages of A's whole log
            page = a_events.call(
                events.ListEvents, event_service_pb2.ListEventsRequest(page_size=1000, page_token=token), timeout=30
            )
            cursors += [event.cursor for event in page.events]
            token = page.next_page_token
            if not token:
                break
        gaps = sum(1 for x, y in itertools.pairwise(cursors) if y != x + 1)
        client.close()
        a_events.close()
    finally:
        for name in ("a", "b"):
            stop_daemon(home, name)
        shutil.rmtree(home, ignore_errors=True)
    peak = {key: max(s[key] for s in samples) for key in samples[0]}
    print(
        json.dumps(
            {
                "benchmark": "soak",
                "figure": {
                    "growth_last_vs_first_third": growth(samples),
                    "peak": peak,
                    "end": samples[-1],
                    "calls": counts,
                    "event_cursor_gaps": gaps,
                    "events": len(cursors),
                },
                "baseline": {"idle_node": baseline},
                "soak_s": SOAK_S,
                "samples": len(samples),
                **provenance(began),
            }
        ),
        flush=True,
    )
    return 0 if gaps == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
