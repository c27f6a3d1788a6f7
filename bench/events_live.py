"""Live-tail latency of EventService.Subscribe(follow=true).

The ecco gRPC server (ecco.api.server.start_servers with a NodeRuntime and an EventLog on the store the daemon
opens for a temporary SQLite file, ecco.store.db.open_event_store: SqliteEventStore, WAL + synchronous=FULL) runs on
an asyncio loop in a background thread of this process; the appender runs on that same loop, as the daemon's
components do. One follower runs in a separate process (grpc.aio client over the unix socket) subscribed with
follow=true.

Latency = CLOCK_MONOTONIC when EventLog.append is called -> CLOCK_MONOTONIC when the follower receives the
response carrying that event (both processes read the same system-wide clock). Events are appended one at a time,
paced at most one per PACE_MS; WARMUP events first, then EVENTS measured.

Baselines in the same run: grpc.aio unary round trips (grpc.health.v1.Health/Check) from the follower process to
the same server on the same socket; and, as the floor of a durable append, a one-row INSERT + COMMIT with the stdlib
sqlite3 module (WAL, synchronous=FULL) on the same disk (with --db-url postgresql+asyncpg://...: the same INSERT +
COMMIT with a plain asyncpg connection to that server).

`--db-url` puts the event log on that database (SqlEventStore, as a daemon with that db_url does; it must be empty).

Prints one JSON line. Run: .venv/bin/python bench/events_live.py [--db-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from _common import bench_home, is_postgres, pg_connect, provenance, read_json_line, summary_ms

EVENTS = 2_000
WARMUP = 100
UNARY_CALLS = 2_000
SQLITE_COMMITS = 500
PACE_MS = 1.0
GOAL_P50_MS = 2.0
BUDGET_S = 50.0


# ---------------------------------------------------------------- the follower (its own process)


async def follower(socket_path: str, last_cursor: int, unary_calls: int, timeout_s: float) -> None:
    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    from ecco.v1 import event_service_pb2, event_service_pb2_grpc

    out: dict[str, Any] = {}
    async with grpc.aio.insecure_channel(f"unix:{socket_path}") as channel:
        health = health_pb2_grpc.HealthStub(channel)
        request = health_pb2.HealthCheckRequest(service="")
        for _ in range(50):  # warm-up: connect, first-call paths
            await health.Check(request, timeout=5)
        unary = []
        for _ in range(unary_calls):
            started = time.monotonic_ns()
            await health.Check(request, timeout=5)
            unary.append(time.monotonic_ns() - started)
        out["unary_ns"] = unary

        stub = event_service_pb2_grpc.EventServiceStub(channel)
        call = stub.Subscribe(event_service_pb2.SubscribeRequest(cursor=0, follow=True), timeout=timeout_s)
        received: dict[int, int] = {}
        newest = 0
        ready = False
        try:
            async for response in call:
                now = time.monotonic_ns()
                for event in response.events:
                    received[event.cursor] = now
                    newest = max(newest, event.cursor)
                if not ready and response.events:
                    # The first replayed event proves the live subscription is registered.
                    sys.stdout.write(json.dumps({"ready": True}) + "\n")
                    sys.stdout.flush()
                    ready = True
                if newest >= last_cursor or len(received) > last_cursor:
                    break
        finally:
            call.cancel()
        out["received_ns"] = received
    sys.stdout.write(json.dumps(out) + "\n")
    sys.stdout.flush()


# ---------------------------------------------------------------- the server (background loop thread)


class Server:
    def __init__(self, tmp: Path, url: str) -> None:
        self.tmp = tmp
        self.url = url
        self.socket = tmp / "api.sock"
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="ecco-server", daemon=True)
        self.thread.start()
        self.engine: Any = None
        self.store: Any = None
        self.servers: Any = None
        self.log: Any = None

    def run(self, coro: Any, timeout: float) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    async def start(self) -> None:
        from ecco import __version__
        from ecco.api.server import start_servers
        from ecco.services.events.log import EventLog, now_ms
        from ecco.services.node import NodeRuntime
        from ecco.store.db import create_engine, migrate, open_event_store

        self.engine = create_engine(self.url)
        await migrate(self.engine)
        self.store = await open_event_store(self.engine)  # as ecco.daemon does
        self.log = EventLog(self.store)
        await self.log.start()
        runtime = NodeRuntime(
            name="live",
            peer_id="bench",
            network="testnet",
            pid=os.getpid(),
            version=__version__,
            state_dir=str(self.tmp),
            api_socket=str(self.socket),
            start_time_ms=now_ms(),
            capabilities=[],
            events=self.log,
            config_json="{}",
            config_sources={},
            request_stop=lambda: None,
        )
        self.servers = await start_servers(runtime, self.socket, "", None)
        await self.servers.set_serving(True)

    async def append_paced(self, count: int, pace_s: float) -> list[tuple[int, int, int]]:
        """Append `count` events one at a time, at most one per `pace_s`; (cursor, call start, call end) each."""
        from ecco.services.ports import Direction, NewEvent

        out = []
        next_start = time.monotonic()
        for i in range(count):
            delay = next_start - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)  # pacing between appends, not a readiness wait
            payload = json.dumps({"requestId": f"req-{i}", "prompt": "what is the head cursor?"})
            event = NewEvent("agent-request", Direction.INBOUND, "12D3KooWBench", f"msg-{i}", f"req-{i}", payload)
            started = time.monotonic_ns()
            record = await self.log.append(event)
            out.append((record.cursor, started, time.monotonic_ns()))
            next_start = max(next_start + pace_s, started / 1e9)
        return out

    async def stop(self) -> None:
        if self.log is not None:
            self.log.close()
        if self.servers is not None:
            await self.servers.stop(0.5)
        if self.store is not None:
            await self.store.close()
        if self.engine is not None:
            await self.engine.dispose()

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.run(self.stop(), 15)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


def sqlite_commit_floor(tmp: Path, count: int) -> list[int]:
    """One-row INSERT ... RETURNING + COMMIT with the stdlib sqlite3, WAL + synchronous=FULL, on the same disk."""
    import sqlite3

    conn = sqlite3.connect(tmp / "floor.db", isolation_level=None)
    try:
        for pragma in ("journal_mode=WAL", "synchronous=FULL"):
            conn.execute(f"PRAGMA {pragma}")
        conn.execute("CREATE TABLE e (cursor INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT UNIQUE, payload TEXT)")
        out = []
        for i in range(count):
            started = time.monotonic_ns()
            conn.execute("BEGIN")
            conn.execute("INSERT INTO e (id, payload) VALUES (?, ?) RETURNING cursor", (f"e{i}", "{}")).fetchone()
            conn.execute("COMMIT")
            out.append(time.monotonic_ns() - started)
        return out
    finally:
        conn.close()


async def pg_commit_floor(url: str, count: int) -> list[int]:
    """One-row INSERT ... RETURNING + COMMIT with a plain asyncpg connection to the same PostgreSQL database."""
    conn = await pg_connect(url)
    try:
        # A plain table: a TEMP table is not WAL-logged, so its COMMIT would not wait for the disk.
        await conn.execute("CREATE TABLE bench_floor (cursor BIGSERIAL PRIMARY KEY, id TEXT UNIQUE, payload TEXT)")
        out = []
        for i in range(count):
            started = time.monotonic_ns()
            async with conn.transaction():
                await conn.fetchval(
                    "INSERT INTO bench_floor (id, payload) VALUES ($1, $2) RETURNING cursor", f"e{i}", "{}"
                )
            out.append(time.monotonic_ns() - started)
        await conn.execute("DROP TABLE bench_floor")
        return out
    finally:
        await conn.close()


def run(db_url: str | None) -> dict[str, Any]:
    from ecco.store.db import sqlite_url

    began = time.monotonic()
    deadline = began + BUDGET_S
    tmp = Path(bench_home("ebl"))
    url = db_url or sqlite_url(tmp / "ecco.db")
    server = Server(tmp, url)
    follower_proc: subprocess.Popen[bytes] | None = None
    try:
        server.run(server.start(), 30)
        server.run(server.append_paced(1, 0), 10)  # cursor 1: lets the follower prove it is subscribed
        last_cursor = 1 + WARMUP + EVENTS
        follower_proc = subprocess.Popen(
            [
                sys.executable,
                __file__,
                "--follower",
                str(server.socket),
                str(last_cursor),
                str(UNARY_CALLS),
                str(max(5.0, deadline - time.monotonic())),
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
        )
        read_json_line(follower_proc, deadline, "the follower")  # {"ready": true}
        appended = server.run(
            server.append_paced(WARMUP + EVENTS, PACE_MS / 1000), max(5.0, deadline - time.monotonic())
        )
        result = read_json_line(follower_proc, deadline, "the follower")
        follower_proc.wait(timeout=10)
        if is_postgres(url):
            floor = asyncio.run(pg_commit_floor(url, SQLITE_COMMITS))
        else:
            floor = sqlite_commit_floor(tmp, SQLITE_COMMITS)
    finally:
        if follower_proc is not None and follower_proc.poll() is None:
            follower_proc.kill()
            follower_proc.wait(timeout=10)
        server.close()
        shutil.rmtree(tmp, ignore_errors=True)

    received = {int(k): v for k, v in result["received_ns"].items()}
    measured = appended[WARMUP:]
    missing = [c for c, _, _ in measured if c not in received]
    if missing:
        raise RuntimeError(f"{len(missing)} events never reached the follower (first {missing[0]})")
    latency = [received[c] - started for c, started, _ in measured]
    append_call = [ended - started for _, started, ended in measured]
    after_commit = [received[c] - ended for c, _, ended in measured]
    live = summary_ms(latency)
    unary = summary_ms(result["unary_ns"])
    return {
        "benchmark": "events_live",
        "figure": "append -> follower receipt latency, Subscribe(follow=true) over the unix socket",
        "value": live["p50_ms"],
        "unit": "ms (p50)",
        "p99_ms": live["p99_ms"],
        "goal": f"p50 < {GOAL_P50_MS} ms",
        "goal_met": live["p50_ms"] < GOAL_P50_MS,
        "latency": live,
        "database": "postgresql" if is_postgres(url) else "sqlite",
        "baseline": {
            "grpc_aio_unary_round_trip": unary,
            ("asyncpg_insert_commit" if is_postgres(url) else "sqlite3_insert_commit_synchronous_full"): summary_ms(
                floor
            ),
        },
        "ratio": {
            "p50_vs_unary_p50": round(live["p50_ms"] / unary["p50_ms"], 2),
            "p99_vs_unary_p99": round(live["p99_ms"] / unary["p99_ms"], 2),
        },
        "breakdown": {
            "eventlog_append_call": summary_ms(append_call),
            "append_return_to_follower_receipt": summary_ms(after_commit),
        },
        "events": EVENTS,
        "warmup": WARMUP,
        "pace_ms": PACE_MS,
        **provenance(began),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db-url", help="put the event log on this (empty) database, e.g. postgresql+asyncpg://...")
    parser.add_argument("--follower", nargs=4, metavar=("SOCKET", "LAST", "UNARY", "TIMEOUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.follower:
        socket_path, last, unary, timeout = args.follower
        asyncio.run(follower(socket_path, int(last), int(unary), float(timeout)))
        return 0
    sys.stdout.write(json.dumps(run(args.db_url)) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
