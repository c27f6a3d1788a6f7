"""The bridge delivering to an aiohttp test server that plays OpenClaw's hooks: the real runner, aiohttp client,
bridge monitor and SQLite stores (event log and bridge records); the link to the node is in process here, and over
real gRPC in the last tests."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from ecco.bridge.http import AiohttpHookClient
from ecco.errors import AlreadyExists, Reason
from ecco.services.bridge.local import LocalLink
from ecco.services.bridge.ports import BridgeConfig, Outcome
from ecco.services.bridge.rules import BridgeSettings, RetryPolicy
from ecco.services.bridge.runner import Attempt, BridgeRunner
from ecco.services.bridge.status import BridgeMonitor
from ecco.services.events.log import EventLog
from ecco.services.ports import Direction, EventRecord, NewEvent
from ecco.store.bridge import SqlBridgeStore
from ecco.store.db import create_engine, migrate, open_event_store

TOKEN = "hook-token-0123456789abcdef"
PEER = "12D3KooWRemoteRemoteRemoteRemoteRemoteRemote1"
ME = "12D3KooWLocalLocalLocalLocalLocalLocalLocal11"
WAIT_S = 15.0
FAST = RetryPolicy(base_s=0.001, cap_s=0.01, max_attempts=8)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Seen:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


@dataclass
class Hooks:
    """OpenClaw's hook endpoint, faked: checks the bearer token (401), answers the scripted statuses in order
    (then 200), and can hold requests until released."""

    port: int = field(default_factory=free_port)
    script: deque[tuple[int, dict[str, str]]] = field(default_factory=deque)
    seen: list[Seen] = field(default_factory=list)
    arrived: asyncio.Queue[Seen] = field(default_factory=asyncio.Queue)
    hold: asyncio.Event | None = None
    runner: web.AppRunner | None = None

    def answer(self, *statuses: int, **headers: str) -> None:
        self.script.extend((status, headers) for status in statuses)

    async def handle(self, request: web.Request) -> web.Response:
        seen = Seen(request.path, dict(request.headers), await request.json())
        self.seen.append(seen)
        self.arrived.put_nowait(seen)
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return web.Response(status=401, text="Unauthorized")
        if self.hold is not None:
            await self.hold.wait()
        status, headers = self.script.popleft() if self.script else (200, {})
        return web.json_response({"ok": status < 300, "runId": "run-1"}, status=status, headers=headers)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/hooks/{name}", self.handle)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        if self.hold is not None:
            self.hold.set()
        if self.runner is not None:
            await self.runner.cleanup()

    async def next(self) -> Seen:
        return await asyncio.wait_for(self.arrived.get(), WAIT_S)


@dataclass
class Node:
    events: EventLog
    monitor: BridgeMonitor

    async def inbound(self, type_: str = "agent-request", payload: Any = None, **kw: Any) -> EventRecord:
        message_id = kw.pop("message_id", f"m-{self.events.head_cursor + 1}")
        request_id = kw.pop("request_id", message_id if type_ == "agent-request" else "")
        payload_json = json.dumps({"prompt": "hi"} if payload is None else payload)
        direction = kw.pop("direction", Direction.INBOUND)
        return await self.events.append(NewEvent(type_, direction, PEER, message_id, request_id, payload_json))

    async def cursor(self) -> int:
        return (await self.events.get_consumer_cursor("webhook-bridge")).cursor


@pytest.fixture
async def node(db_url: str) -> AsyncIterator[Node]:
    """A node's event log and bridge monitor on a migrated database (SQLite file, then PostgreSQL)."""
    engine = create_engine(db_url)
    await migrate(engine)
    store = await open_event_store(engine)
    events = EventLog(store)
    await events.start()
    try:
        yield Node(events, BridgeMonitor(SqlBridgeStore(engine), events, ME, "alice"))
    finally:
        events.close()
        await store.close()
        await engine.dispose()


@pytest.fixture
async def hooks() -> AsyncIterator[Hooks]:
    server = Hooks()
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@dataclass
class Bridge:
    task: asyncio.Task[None]
    attempts: asyncio.Queue[Attempt]
    client: AiohttpHookClient

    async def next(self, outcome: Outcome | None = None) -> Attempt:
        """The next attempt (of this outcome, skipping others)."""
        async with asyncio.timeout(WAIT_S):
            while True:
                attempt = await self.attempts.get()
                if outcome is None or attempt.outcome == outcome:
                    return attempt

    async def kill(self) -> None:
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task
        await self.client.close()


@contextlib.asynccontextmanager
async def bridge(
    node: Node, port: int, *, token: str = TOKEN, policy: RetryPolicy = FAST, **kw: Any
) -> AsyncIterator[Bridge]:
    settings = BridgeSettings.create(port=port, token=token, **kw)
    attempts: asyncio.Queue[Attempt] = asyncio.Queue()
    client = AiohttpHookClient(settings.base_url, timeout_s=WAIT_S)
    runner = BridgeRunner(
        settings, LocalLink(node.events, node.monitor), client, policy=policy, on_attempt=attempts.put_nowait
    )
    running = Bridge(asyncio.create_task(runner.run()), attempts, client)
    try:
        yield running
    finally:
        await running.kill()


async def wait_for(predicate: Callable[[Attempt], bool], running: Bridge) -> Attempt:
    async with asyncio.timeout(WAIT_S):
        while not predicate(attempt := await running.attempts.get()):
            pass
    return attempt


# ---------------------------------------------------------------------------------------------------------------------


async def test_delivers_with_bearer_auth_and_idempotency_key_routing_requests_to_the_provider_path(
    node: Node, hooks: Hooks
) -> None:
    request = await node.inbound("agent-request", {"prompt": "Review this code"})
    await node.inbound("agent-request", direction=Direction.OUTBOUND)  # our own request: never forwarded
    await node.events.record("node-started", {})  # not a message: not forwarded without a filter
    response = await node.inbound("agent-response", {"requestId": "r-1", "response": {"text": "ok"}}, request_id="r-1")
    async with bridge(node, hooks.port) as running:
        first, second = await hooks.next(), await hooks.next()
        delivered = await wait_for(lambda a: a.event.cursor == response.cursor, running)
    assert first.path == "/hooks/ecco-provider" and second.path == "/hooks/ecco"
    assert first.headers["Authorization"] == f"Bearer {TOKEN}"
    assert first.headers["Idempotency-Key"] == request.id and second.headers["Idempotency-Key"] == response.id
    assert first.headers["Content-Type"] == "application/json"
    assert first.body["requestId"] == request.message_id and first.body["from"] == PEER and first.body["to"] == ME
    assert first.body["payload"] == {"prompt": "Review this code"}
    assert "ecco send --node alice" in first.body["message"] and request.message_id in first.body["message"]
    assert second.body["type"] == "agent-response" and second.body["requestId"] == "r-1"
    assert len(hooks.seen) == 2
    assert await node.cursor() == response.cursor
    assert delivered.result.run_id == "run-1"
    status = await node.monitor.status()
    assert (status.counters.delivered, status.counters.failed, status.pending) == (0, 0, 0)  # stopped: zeroed
    assert status.counters.last_delivered_cursor == response.cursor and not status.running


async def test_filter_and_custom_paths(node: Node, hooks: Hooks) -> None:
    await node.inbound("agent-request")
    chunk = await node.inbound("stream-chunk", {"requestId": "r", "chunk": "a"}, request_id="r")
    async with bridge(node, hooks.port, filter=["stream-chunk"], hook_path="/hooks/other") as running:
        await wait_for(lambda a: a.event.cursor == chunk.cursor, running)
    assert [(s.path, s.body["type"]) for s in hooks.seen] == [("/hooks/other", "stream-chunk")]


async def test_4xx_becomes_a_dead_letter_at_once_and_the_stream_moves_on(node: Node, hooks: Hooks) -> None:
    hooks.answer(413, 400)
    too_big = await node.inbound("agent-request", {"prompt": "x" * 1000})
    bad = await node.inbound("agent-request")
    good = await node.inbound("agent-request")
    async with bridge(node, hooks.port) as running:
        await wait_for(lambda a: a.event.cursor == good.cursor, running)
        status = await node.monitor.status()
    assert len(hooks.seen) == 3  # no retries
    assert status.running and status.config is not None and status.config.openclaw_url.endswith(str(hooks.port))
    assert (status.counters.delivered, status.counters.failed, status.dead_letters) == (1, 2, 2)
    assert status.counters.last_error == 'HTTP 400 from /hooks/ecco-provider: {"ok": false, "runId": "run-1"}'
    assert status.consumer_cursor == good.cursor and status.pending == 0
    page = await node.monitor.dead_letters(0, 0)
    assert [(d.event.id, d.last_http_status, d.attempts) for d in page.dead_letters] == [
        (bad.id, 400, 1),
        (too_big.id, 413, 1),
    ]
    failed = (await node.events.list_page(0, ["bridge-delivery-failed"], 10, "")).events
    assert [json.loads(e.payload_json)["eventCursor"] for e in failed] == [too_big.cursor, bad.cursor]


async def test_wrong_token_is_a_dead_letter_not_a_retry_loop(node: Node, hooks: Hooks) -> None:
    event = await node.inbound("agent-request")
    async with bridge(node, hooks.port, token="wrong-token") as running:
        attempt = await running.next()
    assert (attempt.result.status, attempt.outcome) == (401, Outcome.DEAD_LETTER)
    assert attempt.error == "HTTP 401 from /hooks/ecco-provider: Unauthorized"
    assert len(hooks.seen) == 1 and await node.cursor() == event.cursor


async def test_5xx_408_and_429_are_retried_with_the_same_idempotency_key(node: Node, hooks: Hooks) -> None:
    hooks.answer(500, 408, 503)
    hooks.answer(429, **{"Retry-After": "0"})
    event = await node.inbound("agent-request")
    async with bridge(node, hooks.port) as running:
        delivered = await running.next(Outcome.DELIVERED)
        status = await node.monitor.status()
    assert delivered.attempts == 5
    assert [s.headers["Idempotency-Key"] for s in hooks.seen] == [event.id] * 5
    assert (status.counters.delivered, status.counters.failed, status.dead_letters) == (1, 4, 0)
    assert status.counters.failed_events == 0  # four failed attempts, no failed event
    assert status.counters.last_error.startswith("HTTP 429")


async def test_5xx_gives_up_after_max_attempts(node: Node, hooks: Hooks) -> None:
    hooks.answer(502, 502, 502)
    event = await node.inbound("agent-request")
    async with bridge(node, hooks.port, policy=RetryPolicy(0.001, 0.01, max_attempts=3)) as running:
        dead = await running.next(Outcome.DEAD_LETTER)
    assert (dead.attempts, dead.result.status) == (3, 502)
    letters = (await node.monitor.dead_letters(10, 0)).dead_letters
    assert [(d.event.id, d.attempts) for d in letters] == [(event.id, 3)]


async def test_connection_errors_are_retried_until_the_gateway_is_up(node: Node) -> None:
    down = Hooks()
    event = await node.inbound("agent-request")
    try:
        async with bridge(node, down.port) as running:
            refused = await running.next()
            assert (refused.result.status, refused.outcome) == (0, Outcome.RETRYING)
            assert refused.error.startswith("no answer from /hooks/ecco-provider")
            await down.start()
            delivered = await running.next(Outcome.DELIVERED)
    finally:
        await down.stop()
    assert delivered.event.id == event.id and delivered.attempts > 1
    assert [s.headers["Idempotency-Key"] for s in down.seen] == [event.id]


async def test_killed_bridge_resumes_after_the_last_recorded_event(node: Node, hooks: Hooks) -> None:
    """At least once: a bridge killed mid-delivery resends only the event it had not recorded, with the same key."""
    sent = [await node.inbound("agent-request") for _ in range(5)]
    hooks.hold = asyncio.Event()
    async with bridge(node, hooks.port) as running:
        for _ in range(2):
            await hooks.next()
            hooks.hold.set()
            await running.next(Outcome.DELIVERED)
            hooks.hold.clear()
        in_flight = await hooks.next()  # the third is at the gateway, unanswered, when the bridge dies
        await running.kill()
    assert in_flight.headers["Idempotency-Key"] == sent[2].id
    assert await node.cursor() == sent[1].cursor
    hooks.hold.set()
    hooks.hold = None
    async with bridge(node, hooks.port) as restarted:
        await wait_for(lambda a: a.event.cursor == sent[-1].cursor, restarted)
    keys = [s.headers["Idempotency-Key"] for s in hooks.seen]
    assert keys == [e.id for e in sent[:3]] + [e.id for e in sent[2:]]
    assert await node.cursor() == sent[-1].cursor


async def test_pending_counts_matching_events_not_yet_delivered(node: Node, hooks: Hooks) -> None:
    hooks.hold = asyncio.Event()
    await node.inbound("agent-request")
    await node.inbound("stream-chunk", {"requestId": "r"}, request_id="r")
    await node.inbound("agent-request", direction=Direction.OUTBOUND)
    await node.events.record("peer-connected", {}, peer_id=PEER)
    async with bridge(node, hooks.port) as running:
        await hooks.next()
        status = await node.monitor.status()
        hooks.hold.set()
        await running.next(Outcome.DELIVERED)
    assert status.running and status.pending == 2


async def test_only_one_bridge_may_attach(node: Node, hooks: Hooks) -> None:
    config = BridgeConfig("http://127.0.0.1:1", "/hooks/a", "/hooks/b")
    first = await node.monitor.attach(config)
    with pytest.raises(AlreadyExists) as info:
        await node.monitor.attach(config)
    assert info.value.reason == Reason.BRIDGE_ALREADY_RUNNING
    node.monitor.detach(first.session_id)
    second = await node.monitor.attach(config)
    assert second.session_id != first.session_id


# ---------------------------------------------------------------------------------------------------------------------
# The standalone bridge's link: the node's real gRPC API on a unix socket


@contextlib.asynccontextmanager
async def api(node: Node, tmp_path: Path) -> AsyncIterator[str]:
    from ecco.api.server import start_servers
    from ecco.services.events.log import now_ms
    from ecco.services.node import NodeRuntime

    socket_path = tmp_path / "api.sock"
    runtime = NodeRuntime(
        name="alice",
        peer_id=ME,
        network="testnet",
        pid=0,
        version="test",
        state_dir=str(tmp_path),
        api_socket=str(socket_path),
        start_time_ms=now_ms(),
        capabilities=[],
        events=node.events,
        config_json="{}",
        config_sources={},
        request_stop=lambda: None,
        bridge=node.monitor,
    )
    servers = await start_servers(runtime, socket_path, "", None)
    try:
        yield f"unix:{socket_path}"
    finally:
        node.monitor.close()
        await servers.stop(0)


async def test_standalone_bridge_attaches_reports_and_detaches_over_grpc(
    node: Node, hooks: Hooks, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ecco.bridge.grpc_link import GrpcLink
    from ecco.v1 import bridge_service_pb2, bridge_service_pb2_grpc

    detached = asyncio.Event()
    detach = node.monitor.detach
    monkeypatch.setattr(node.monitor, "detach", lambda session: (detach(session), detached.set()))
    hooks.answer(401)
    rejected = await node.inbound("agent-request")
    delivered = await node.inbound("agent-request")
    async with api(node, tmp_path) as target:
        link = GrpcLink(target)
        settings = BridgeSettings.create(port=hooks.port, token=TOKEN)
        attempts: asyncio.Queue[Attempt] = asyncio.Queue()
        async with AiohttpHookClient(settings.base_url) as client:
            runner = BridgeRunner(settings, link, client, policy=FAST, on_attempt=attempts.put_nowait)
            running = Bridge(asyncio.create_task(runner.run()), attempts, client)
            await wait_for(lambda a: a.event.cursor == delivered.cursor, running)

            stub = bridge_service_pb2_grpc.BridgeServiceStub(link._channel)
            status = await stub.GetBridgeStatus(bridge_service_pb2.GetBridgeStatusRequest())
            letters = await stub.ListDeadLetters(bridge_service_pb2.ListDeadLettersRequest(page_size=1))
            with pytest.raises(AlreadyExists) as second:
                async with GrpcLink(target).attach(BridgeConfig("http://x:1", "/a", "/b")):
                    pass
            await running.kill()
            await asyncio.wait_for(detached.wait(), WAIT_S)
            after = await stub.GetBridgeStatus(bridge_service_pb2.GetBridgeStatusRequest())
        await link.close()
    assert second.value.reason == Reason.BRIDGE_ALREADY_RUNNING
    assert status.running and status.openclaw_url == f"http://127.0.0.1:{hooks.port}"
    assert (status.delivered_count, status.failed_count, status.dead_letter_count) == (1, 1, 1)
    assert status.failed_event_count == 1
    assert status.last_error.startswith("HTTP 401 from /hooks/ecco-provider") and status.HasField("last_error_time")
    assert status.consumer_cursor == delivered.cursor == status.last_delivered_cursor
    assert [d.event.id for d in letters.dead_letters] == [rejected.id] and letters.total_size == 1
    assert letters.dead_letters[0].last_http_status == 401
    assert not after.running and after.delivered_count == 0 and after.dead_letter_count == 1
    assert after.consumer_cursor == delivered.cursor


async def test_report_from_an_unknown_session_is_refused(node: Node) -> None:
    from ecco.errors import FailedPrecondition
    from ecco.services.bridge.ports import DeliveryReport

    with pytest.raises(FailedPrecondition) as info:
        await node.monitor.report("nope", DeliveryReport(1, Outcome.DELIVERED, "/hooks/ecco"))
    assert info.value.reason == Reason.BRIDGE_NOT_RUNNING


async def test_serve_retries_an_attach_refused_while_a_killed_bridge_still_looks_attached(
    node: Node, hooks: Hooks
) -> None:
    from ecco.services.bridge.runner import ATTACH_RETRIES

    ghost = await node.monitor.attach(BridgeConfig("http://127.0.0.1:1", "/a", "/b"))
    settings = BridgeSettings.create(port=hooks.port, token=TOKEN)
    attached = asyncio.Event()
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        if len(waits) == 2:
            node.monitor.detach(ghost.session_id)

    async with AiohttpHookClient(settings.base_url) as client:
        link = LocalLink(node.events, node.monitor)
        runner = BridgeRunner(settings, link, client, policy=FAST, on_attached=lambda _: attached.set(), sleep=sleep)
        task = asyncio.create_task(runner.serve())
        await asyncio.wait_for(attached.wait(), WAIT_S)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        assert len(waits) == 2

        await node.monitor.attach(BridgeConfig("http://127.0.0.1:1", "/a", "/b"))  # a bridge that stays
        waits.clear()
        stubborn = BridgeRunner(settings, link, client, policy=FAST, sleep=lambda s: asyncio.sleep(0, waits.append(s)))
        with pytest.raises(AlreadyExists):
            await asyncio.wait_for(stubborn.serve(), WAIT_S)
    assert len(waits) == ATTACH_RETRIES


@pytest.mark.parametrize(
    ("method", "request_fields", "code", "reason", "field"),
    [
        (
            "ReportDelivery",
            {"session_id": "nope", "event_cursor": 1, "outcome": 1},
            "FAILED_PRECONDITION",
            "BRIDGE_NOT_RUNNING",
            "session_id",
        ),
        (
            "ReportDelivery",
            {"session_id": "nope", "event_cursor": 1},
            "INVALID_ARGUMENT",
            "INVALID_ARGUMENT",
            "outcome",
        ),
        ("ListDeadLetters", {"page_token": "x!"}, "INVALID_ARGUMENT", "INVALID_PAGE_TOKEN", "page_token"),
        ("ListDeadLetters", {"page_size": -1}, "INVALID_ARGUMENT", "INVALID_ARGUMENT", "page_size"),
    ],
)
async def test_bridge_service_errors_carry_code_reason_and_field(
    node: Node, tmp_path: Path, method: str, request_fields: dict[str, Any], code: str, reason: str, field: str
) -> None:
    from ecco.client import NodeClient
    from ecco.errors import EccoError
    from ecco.v1 import bridge_service_pb2

    request = getattr(bridge_service_pb2, f"{method}Request")(**request_fields)
    async with api(node, tmp_path) as target:
        with NodeClient(target) as client, pytest.raises(EccoError) as info:
            await asyncio.to_thread(client.call, getattr(client.stub("BridgeService"), method), request)
    assert (info.value.code, info.value.reason, info.value.field) == (code, reason, field)


async def test_report_checks_the_cursor_keeps_it_while_retrying_and_stores_one_dead_letter_per_event(
    node: Node,
) -> None:
    from ecco.errors import InvalidArgument
    from ecco.services.bridge.ports import DeliveryReport

    event = await node.inbound()
    attachment = await node.monitor.attach(BridgeConfig("http://127.0.0.1:1", "/hooks/ecco", "/hooks/p"))
    with pytest.raises(InvalidArgument) as info:
        await node.monitor.report(attachment.session_id, DeliveryReport(0, Outcome.DELIVERED, "/hooks/ecco"))
    assert (info.value.reason, info.value.field) == (Reason.INVALID_CURSOR, "event_cursor")

    retrying = DeliveryReport(event.cursor, Outcome.RETRYING, "/hooks/p", 503, "HTTP 503 from /hooks/p")
    assert await node.monitor.report(attachment.session_id, retrying) == 0
    dead = DeliveryReport(event.cursor, Outcome.DEAD_LETTER, "/hooks/p", 503, "HTTP 503 from /hooks/p", attempts=2)
    assert await node.monitor.report(attachment.session_id, dead) == event.cursor
    assert await node.monitor.report(attachment.session_id, dead) == event.cursor  # reported again after a restart
    page = await node.monitor.dead_letters(0, 0)
    assert (page.total, [letter.event.id for letter in page.dead_letters]) == (1, [event.id])
    status = await node.monitor.status()
    assert (status.counters.failed, status.counters.delivered, status.dead_letters) == (3, 0, 1)


async def test_a_failed_attach_leaves_the_node_free_for_the_next_bridge(node: Node) -> None:
    class FlakyStore:
        """Only what attach touches: the first start_session fails (the database went away), the next works."""

        calls = 0

        async def start_session(self, consumer: str, now_ms: int) -> None:
            self.calls += 1
            if self.calls == 1:
                raise RuntimeError("database gone")

    monitor = BridgeMonitor(FlakyStore(), node.events, ME, "alice")  # type: ignore[arg-type]
    with pytest.raises(RuntimeError):
        await monitor.attach(BridgeConfig("http://127.0.0.1:1", "/a", "/b"))
    attachment = await monitor.attach(BridgeConfig("http://127.0.0.1:1", "/a", "/b"))
    assert (attachment.consumer, attachment.consumer_cursor) == ("webhook-bridge", 0)
