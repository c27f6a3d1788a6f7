"""Replay throughput of EventService.Subscribe, measured through a real daemon.

Starts a real daemon with `ecco up`, stops it, fills its event log with N events while it is stopped (the daemon
is the single writer of its database, so nothing else may write while it runs), starts it again, and replays the
whole log (cursor 0, follow=false) to ONE client over the node's unix socket; the client decodes every event.

Baselines measured in the same run:
  * transport ceiling: the same rows as pre-built Event protobufs, in batches of the same size, streamed by a
    trivial grpc.aio server-streaming servicer over a unix socket (own process, like the daemon) to the same client;
  * raw store: `SELECT` of the same rows with the stdlib sqlite3 module (with --db-url postgresql+asyncpg://...:
    with a plain asyncpg connection).

The whole log is filled through the store the daemon opens (ecco.store.db.open_event_store: SqliteEventStore on a
SQLite file, SqlEventStore on PostgreSQL), batches of FILL_BATCH NewEvents per append, one transaction each.

`--db-url` runs the daemon on that database instead of its SQLite file (it must be empty: a fresh database).

Prints one JSON line. Run: .venv/bin/python bench/events_replay.py [--events N] [--db-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from _common import (
    bench_home,
    clean_env,
    ecco_cli,
    is_postgres,
    pg_connect,
    provenance,
    read_json_line,
    run,
    stop_daemon,
)

N_EVENTS = 50_000
GOAL_EVENTS_PER_S = 20_000
REPEATS = 5
BATCH = 500  # ecco.services.events.log.REPLAY_BATCH: the baseline sends batches of the same size
FILL_BATCH = 5_000  # NewEvents per EventStore.append call while filling the log
BUDGET_S = 55.0
NODE = "replay"
COLUMNS = "cursor, id, type, direction, peer_id, message_id, request_id, payload, created_at_ms"
TYPES = ("agent-request", "agent-response", "stream-chunk", "peer-connected", "gossip")


# ---------------------------------------------------------------- filling the log


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


async def fill(url: str, n: int) -> dict[str, Any]:
    """Append `n` events through the daemon's store (open_event_store), FILL_BATCH per call: its own write path."""
    from ecco.services.events.log import now_ms
    from ecco.store.db import create_engine, open_event_store

    new = make_events(n)
    engine = create_engine(url)
    try:
        store = await open_event_store(engine)
        try:
            started = time.perf_counter()
            for i in range(0, n, FILL_BATCH):
                await store.append(new[i : i + FILL_BATCH], now_ms())
            store_s = time.perf_counter() - started
        finally:
            await store.close()
    finally:
        await engine.dispose()
    return {
        "store": type(store).__name__,
        "via_store_append": n,
        "batch": FILL_BATCH,
        "store_append_events_per_s": round(n / store_s) if n else None,
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


SELECT_ALL = f"SELECT {COLUMNS} FROM events WHERE cursor > 0 ORDER BY cursor"


async def raw_select(url: str, repeats: int) -> tuple[list[float], list[tuple[Any, ...]]]:
    """The store's floor: every row with the plain driver (stdlib sqlite3, or asyncpg); rows/s per run, and rows."""
    rates: list[float] = []
    rows: list[tuple[Any, ...]] = []
    if is_postgres(url):
        conn = await pg_connect(url)
        try:
            for _ in range(repeats):
                started = time.perf_counter()
                rows = [tuple(row) for row in await conn.fetch(SELECT_ALL)]
                rates.append(len(rows) / (time.perf_counter() - started))
        finally:
            await conn.close()
        return rates, rows
    from sqlalchemy.engine import make_url

    conn = sqlite3.connect(f"file:{make_url(url).database}?mode=ro", uri=True)
    try:
        for _ in range(repeats):
            started = time.perf_counter()
            rows = conn.execute(SELECT_ALL).fetchall()
            rates.append(len(rows) / (time.perf_counter() - started))
    finally:
        conn.close()
    return rates, rows


async def in_process_breakdown(url: str) -> dict[str, int]:
    """Server-side cost without gRPC: EventLog replay alone, and with event_to_pb + serialisation."""
    from ecco.api.convert import event_to_pb
    from ecco.services.events.log import EventLog
    from ecco.store.db import create_engine, open_event_store
    from ecco.v1 import event_service_pb2 as pb

    engine = create_engine(url)
    store = None
    try:
        store = await open_event_store(engine)
        log = EventLog(store)
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
        if store is not None:
            await store.close()
        await engine.dispose()


# ---------------------------------------------------------------- the baseline server (its own process)


async def serve_baseline(socket_path: str, url: str) -> None:
    import grpc

    from ecco.v1 import common_pb2, event_service_pb2, event_service_pb2_grpc

    _, rows = await raw_select(url, 1)
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


# ---------------------------------------------------------------- the benchmark


def bench(n_events: int, db_url: str | None) -> dict[str, Any]:
    from ecco.store.db import sqlite_url

    deadline = time.monotonic() + BUDGET_S
    home = bench_home("ebr")
    url = db_url or sqlite_url(Path(home) / "nodes" / NODE / "ecco.db")
    socket_path = Path(home) / "nodes" / NODE / "api.sock"
    baseline_socket = Path(home) / "base.sock"
    baseline: subprocess.Popen[bytes] | None = None
    started = time.monotonic()
    try:
        up = [*ecco_cli(), "up", "--name", NODE, *(("--db-url", db_url) if db_url else ()), "--json"]
        run(up, clean_env(home), timeout=40)  # creates identity, database and schema
        stop_daemon(home, NODE)
        fill_info = asyncio.run(fill(url, n_events))
        status = run(up, clean_env(home), timeout=40).json()
        head = int(status["headCursor"])
        timeout = max(5.0, deadline - time.monotonic())
        ecco_runs = replay(f"unix:{socket_path}", REPEATS, head, timeout)
        stop_daemon(home, NODE)

        baseline = subprocess.Popen(
            [sys.executable, __file__, "--serve-baseline", str(baseline_socket), url],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        ready = read_json_line(baseline, max(deadline, time.monotonic() + 5.0), "the baseline server")
        timeout = max(5.0, deadline - time.monotonic())
        base_runs = replay(f"unix:{baseline_socket}", REPEATS, ready["events"], timeout)
        sql_rates, _ = asyncio.run(raw_select(url, REPEATS))
        breakdown = asyncio.run(in_process_breakdown(url))
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
        "database": "postgresql" if is_postgres(url) else "sqlite",
        "baseline": {
            "grpc_trivial_server_events_per_s": round(base_rate),
            f"{'asyncpg' if is_postgres(url) else 'sqlite'}_select_rows_per_s": round(sql_rate),
        },
        "ratio": {
            "vs_grpc_trivial_server": round(ecco_rate / base_rate, 3),
            "vs_raw_select": round(ecco_rate / sql_rate, 4),
        },
        "runs": {
            "ecco": [r["events_per_s"] for r in ecco_runs],
            "grpc_trivial": [r["events_per_s"] for r in base_runs],
        },
        "breakdown_in_process": breakdown,
        "fill": fill_info,
        **provenance(started),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=N_EVENTS)
    parser.add_argument("--db-url", help="run the daemon on this (empty) database, e.g. postgresql+asyncpg://...")
    parser.add_argument("--serve-baseline", nargs=2, metavar=("SOCKET", "DB_URL"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_baseline:
        asyncio.run(serve_baseline(*args.serve_baseline))
        return 0
    result = bench(args.events, args.db_url)
    sys.stdout.write(json.dumps(result) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
