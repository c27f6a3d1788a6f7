"""Replay throughput of EventService.Subscribe, measured through a real daemon.

Starts a real daemon with `ecco up`, stops it, fills its event log with N events while it is stopped (the daemon
is the single writer of its database, so nothing else may write while it runs), starts it again, and replays the
whole log (cursor 0, follow=false) to ONE client over the node's unix socket; the client decodes every event.

Baselines measured in the same run:
  * transport ceiling: the same rows as pre-built Event protobufs, in batches of the same size, streamed by a
    trivial grpc.aio server-streaming servicer over a unix socket (own process, like the daemon) to the same client;
  * raw SQLite: `SELECT` of the same rows with the stdlib sqlite3 module.

The fill goes through ecco.store.events.SqlEventStore.append (batches of 500 NewEvents), the daemon's own write
path, which takes ~20 s for 50,000 events; --quick-fill appends a sample that way and bulk-inserts the rest.

Prints one JSON line. Run: .venv/bin/python bench/events_replay.py [--events N] [--quick-fill]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import random
import select
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

N_EVENTS = 50_000
GOAL_EVENTS_PER_S = 20_000
REPEATS = 5
BATCH = 500  # ecco.services.events.REPLAY_BATCH: the baseline sends batches of the same size
QUICK_FILL_STORE_SAMPLE = 2_000  # with --quick-fill: events appended through SqlEventStore.append, the rest in bulk
BUDGET_S = 55.0
NODE = "replay"
COLUMNS = "cursor, id, type, direction, peer_id, message_id, request_id, payload, created_at_ms"
TYPES = ("agent-request", "agent-response", "stream-chunk", "peer-connected", "gossip")


# ---------------------------------------------------------------- helpers shared by both processes


def ecco_cli() -> list[str]:
    exe = Path(sys.executable).with_name("ecco")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "ecco"]


def clean_env(home: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ECCO_")}
    env["ECCO_HOME"] = home
    return env


def run_cli(home: str, *args: str, timeout: float = 40.0) -> dict[str, Any]:
    proc = subprocess.run(
        [*ecco_cli(), *args, "--json"],
        env=clean_env(home),
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"ecco {' '.join(args)} exited {proc.returncode}: {proc.stdout} {proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def stop_daemon(home: str, name: str) -> None:
    """`ecco node stop`; if that fails, SIGTERM then SIGKILL the pid in daemon.pid and wait on its lock."""
    from ecco.cli.launch import wait_until_stopped
    from ecco.home import NodePaths

    paths = NodePaths.for_name(name, Path(home))
    if not paths.is_running():
        return
    with contextlib.suppress(Exception):
        run_cli(home, "node", "stop", "--node", name, timeout=30)
        return
    pid = paths.read_pid()
    for sig in (signal.SIGTERM, signal.SIGKILL):
        if pid is None or not paths.is_running():
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)
        if wait_until_stopped(paths.lock_file, 10):
            return


def make_events(n: int) -> list[Any]:
    """Realistic events: message types with peer ids, uuids and a JSON payload of ~250 bytes."""
    from ecco.services.ports import Direction, NewEvent

    rng = random.Random(7)
    peers = [
        "12D3KooW"
        + "".join(rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz123456789") for _ in range(44))
        for _ in range(8)
    ]
    out = []
    for i in range(n):
        request_id = str(uuid.UUID(int=rng.getrandbits(128)))
        payload = {"requestId": request_id, "seq": i, "prompt": "summarise the design of the event log " * 5}
        out.append(
            NewEvent(
                type=TYPES[i % len(TYPES)],
                direction=Direction.INBOUND if i % 2 else Direction.OUTBOUND,
                peer_id=peers[i % len(peers)],
                message_id=str(uuid.UUID(int=rng.getrandbits(128))),
                request_id=request_id,
                payload_json=json.dumps(payload, separators=(",", ":"), sort_keys=True),
            )
        )
    return out


async def fill(db_path: Path, n: int, via_store: int) -> dict[str, Any]:
    """Append `via_store` events through SqlEventStore.append, the rest as the same rows in bulk."""
    from sqlalchemy import insert

    from ecco.services.events import now_ms
    from ecco.store.db import create_engine, sqlite_url
    from ecco.store.events import SqlEventStore
    from ecco.store.tables import events

    new = make_events(n)
    engine = create_engine(sqlite_url(db_path))
    try:
        store = SqlEventStore(engine)
        started = time.perf_counter()
        for i in range(0, via_store, BATCH):
            await store.append(new[i : min(i + BATCH, via_store)], now_ms())
        store_s = time.perf_counter() - started
        started = time.perf_counter()
        rest = new[via_store:]
        for i in range(0, len(rest), 5_000):
            stamp = now_ms()
            rows = [
                {
                    "id": str(uuid.uuid4()),
                    "type": e.type,
                    "direction": int(e.direction),
                    "peer_id": e.peer_id,
                    "message_id": e.message_id,
                    "request_id": e.request_id,
                    "payload": e.payload_json,
                    "created_at_ms": stamp,
                }
                for e in rest[i : i + 5_000]
            ]
            async with engine.begin() as conn:
                await conn.execute(insert(events), rows)
        bulk_s = time.perf_counter() - started
    finally:
        await engine.dispose()
    return {
        "via_store_append": via_store,
        "store_append_events_per_s": round(via_store / store_s) if via_store else None,
        "via_bulk_insert": n - via_store,
        "bulk_insert_events_per_s": round((n - via_store) / bulk_s) if n > via_store else None,
    }


def replay(target: str, repeats: int, max_events: int, timeout_s: float) -> list[dict[str, float]]:
    """Replay the whole log `repeats` times on one channel; every event is decoded and checked."""
    from ecco.client import NodeClient
    from ecco.v1 import event_service_pb2 as pb

    runs = []
    with NodeClient(target) as client:
        stub = client.stub("EventService")
        # Warm-up: open the connection and touch the code paths with a short replay.
        for _ in client.stream(
            stub.Subscribe, pb.SubscribeRequest(cursor=max(0, max_events - 1000)), timeout=timeout_s
        ):
            pass
        for _ in range(repeats):
            count, last, chars = 0, 0, 0
            started = time.perf_counter()
            for response in client.stream(
                stub.Subscribe, pb.SubscribeRequest(cursor=0, follow=False), timeout=timeout_s
            ):
                for event in response.events:
                    cursor = event.cursor
                    if cursor <= last:
                        raise RuntimeError(f"cursor went from {last} to {cursor}")
                    last = cursor
                    chars += (
                        len(event.id)
                        + len(event.type)
                        + len(event.peer_id)
                        + len(event.message_id)
                        + len(event.request_id)
                        + len(event.payload_json)
                    )
                    chars += event.direction + (event.create_time.seconds & 1)
                    count += 1
                if count > max_events:
                    raise RuntimeError(f"more events than expected ({count})")
            elapsed = time.perf_counter() - started
            runs.append({"events": count, "seconds": round(elapsed, 4), "events_per_s": round(count / elapsed)})
    return runs


def sqlite_select(db_path: Path, repeats: int) -> list[float]:
    rates = []
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        for _ in range(repeats):
            started = time.perf_counter()
            rows = conn.execute(f"SELECT {COLUMNS} FROM events WHERE cursor > 0 ORDER BY cursor").fetchall()
            rates.append(len(rows) / (time.perf_counter() - started))
    finally:
        conn.close()
    return rates


async def in_process_breakdown(db_path: Path) -> dict[str, int]:
    """Server-side cost without gRPC: EventLog replay alone, and with event_to_pb + serialisation."""
    from ecco.api.convert import event_to_pb
    from ecco.services.events import EventLog
    from ecco.store.db import create_engine, sqlite_url
    from ecco.store.events import SqlEventStore
    from ecco.v1 import event_service_pb2 as pb

    engine = create_engine(sqlite_url(db_path))
    try:
        log = EventLog(SqlEventStore(engine))
        await log.start()
        out = {}
        for label, convert in (("eventlog_replay_events_per_s", False), ("eventlog_replay_to_pb_events_per_s", True)):
            count = 0
            started = time.perf_counter()
            async for batch in log.subscribe(0):
                count += len(batch)
                if convert:
                    pb.SubscribeResponse(events=[event_to_pb(r) for r in batch]).SerializeToString()
            out[label] = round(count / (time.perf_counter() - started))
        log.close()
        return out
    finally:
        await engine.dispose()


# ---------------------------------------------------------------- the baseline server (its own process)


async def serve_baseline(socket_path: str, db_path: str) -> None:
    import grpc

    from ecco.v1 import common_pb2, event_service_pb2, event_service_pb2_grpc

    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    rows = conn.execute(f"SELECT {COLUMNS} FROM events ORDER BY cursor").fetchall()
    conn.close()
    events = []
    for cursor, id_, type_, direction, peer, message, request, payload, created in rows:
        event = common_pb2.Event(
            cursor=cursor,
            id=id_,
            type=type_,
            direction=direction,
            peer_id=peer,
            message_id=message,
            request_id=request,
            payload_json=payload,
        )
        event.create_time.seconds, event.create_time.nanos = created // 1000, (created % 1000) * 1_000_000
        events.append(event)
    responses = [
        event_service_pb2.SubscribeResponse(events=events[i : i + BATCH]) for i in range(0, len(events), BATCH)
    ]

    class Trivial(event_service_pb2_grpc.EventServiceServicer):
        async def Subscribe(self, request: Any, context: Any) -> Any:
            for response in responses:
                yield response

    server = grpc.aio.server()
    event_service_pb2_grpc.add_EventServiceServicer_to_server(Trivial(), server)
    server.add_insecure_port(f"unix:{socket_path}")
    await server.start()
    sys.stdout.write(json.dumps({"ready": True, "events": len(events)}) + "\n")
    sys.stdout.flush()
    # Serve until the parent closes our stdin.
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    await server.stop(0)


def read_ready_line(proc: subprocess.Popen[bytes], timeout_s: float) -> dict[str, Any]:
    assert proc.stdout is not None
    readable, _, _ = select.select([proc.stdout], [], [], timeout_s)
    if not readable:
        raise RuntimeError("baseline server did not report ready in time")
    line = proc.stdout.readline()
    if not line:
        raise RuntimeError(f"baseline server exited with {proc.wait(timeout=5)}")
    return json.loads(line)


# ---------------------------------------------------------------- the benchmark


def machine() -> dict[str, Any]:
    return {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()}


def run(n_events: int, via_store: int) -> dict[str, Any]:
    deadline = time.monotonic() + BUDGET_S
    home = tempfile.mkdtemp(dir="/tmp", prefix="ebr")
    db_path = Path(home) / "nodes" / NODE / "ecco.db"
    socket_path = Path(home) / "nodes" / NODE / "api.sock"
    baseline_socket = Path(home) / "base.sock"
    baseline: subprocess.Popen[bytes] | None = None
    started = time.monotonic()
    try:
        run_cli(home, "up", "--name", NODE)  # creates identity, database and schema
        stop_daemon(home, NODE)
        fill_info = asyncio.run(fill(db_path, n_events, min(via_store, n_events)))
        status = run_cli(home, "up", "--name", NODE)
        head = int(status["headCursor"])
        timeout = max(5.0, deadline - time.monotonic())
        ecco_runs = replay(f"unix:{socket_path}", REPEATS, head, timeout)
        stop_daemon(home, NODE)

        baseline = subprocess.Popen(
            [sys.executable, __file__, "--serve-baseline", str(baseline_socket), str(db_path)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        ready = read_ready_line(baseline, max(5.0, deadline - time.monotonic()))
        timeout = max(5.0, deadline - time.monotonic())
        base_runs = replay(f"unix:{baseline_socket}", REPEATS, ready["events"], timeout)
        sql_rates = sqlite_select(db_path, REPEATS)
        breakdown = asyncio.run(in_process_breakdown(db_path))
    finally:
        if baseline is not None:
            with contextlib.suppress(Exception):
                baseline.stdin.close()  # type: ignore[union-attr]
                baseline.wait(timeout=10)
            if baseline.poll() is None:
                baseline.kill()
                baseline.wait(timeout=10)
        stop_daemon(home, NODE)
        shutil.rmtree(home, ignore_errors=True)

    ecco_rate = statistics.median(r["events_per_s"] for r in ecco_runs)
    base_rate = statistics.median(r["events_per_s"] for r in base_runs)
    sql_rate = statistics.median(sql_rates)
    return {
        "benchmark": "events_replay",
        "figure": "Subscribe replay, cursor 0, follow=false, one client over the unix socket (median of runs)",
        "value": round(ecco_rate),
        "unit": "events/s",
        "goal": f">= {GOAL_EVENTS_PER_S} events/s",
        "goal_met": ecco_rate >= GOAL_EVENTS_PER_S,
        "events": ecco_runs[0]["events"],
        "baseline": {
            "grpc_trivial_server_events_per_s": round(base_rate),
            "sqlite_select_rows_per_s": round(sql_rate),
        },
        "ratio": {
            "vs_grpc_trivial_server": round(ecco_rate / base_rate, 3),
            "vs_sqlite_select": round(ecco_rate / sql_rate, 4),
        },
        "runs": {
            "ecco": [r["events_per_s"] for r in ecco_runs],
            "grpc_trivial": [r["events_per_s"] for r in base_runs],
        },
        "breakdown_in_process": breakdown,
        "fill": fill_info,
        "elapsed_s": round(time.monotonic() - started, 1),
        "date": time.strftime("%Y-%m-%d"),
        "machine": machine(),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=N_EVENTS)
    parser.add_argument(
        "--quick-fill",
        action="store_true",
        help=f"append only {QUICK_FILL_STORE_SAMPLE} events through SqlEventStore.append and "
        "insert the rest as the same rows in bulk (saves ~20 s; the replay is unaffected)",
    )
    parser.add_argument("--serve-baseline", nargs=2, metavar=("SOCKET", "DB"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_baseline:
        asyncio.run(serve_baseline(*args.serve_baseline))
        return 0
    result = run(args.events, QUICK_FILL_STORE_SAMPLE if args.quick_fill else args.events)
    sys.stdout.write(json.dumps(result) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
