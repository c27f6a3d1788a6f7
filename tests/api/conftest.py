"""In-process API servers for the API tests.

The real client (ecco.client.NodeClient) blocks, so each node runs its grpc.aio servers on an asyncio loop in a
background thread; tests talk to it through the client and reach into the loop with `handle.run(...)`.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import threading
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import grpc
import pytest

from ecco.api.server import ApiServers, start_servers
from ecco.client import NodeClient
from ecco.config import NodeConfig, load_config
from ecco.services.events.log import EventLog, now_ms
from ecco.services.node import NodeRuntime
from ecco.services.ports import EventRecord
from ecco.store.db import create_engine, migrate, open_event_store, sqlite_url

T = TypeVar("T")
TOKEN = "test-token-7f3a9c"
PEER_ID = "12D3KooWApiTestPeer"
SECRET_DB_URL = f"sqlite+aiosqlite:////tmp/ecco-secret-{os.getpid()}.db"
CAPABILITY = {"type": "agent", "name": "code-review", "version": "1.2.3", "metadata": {"features": ["python"]}}


@dataclass
class NodeHandle:
    loop: asyncio.AbstractEventLoop
    state_dir: Path
    socket_path: Path
    runtime: NodeRuntime
    log: EventLog
    servers: ApiServers
    token: str | None
    stop_requested: threading.Event
    config: NodeConfig
    clients: list[NodeClient] = field(default_factory=list)
    channels: list[grpc.Channel] = field(default_factory=list)

    @property
    def unix_target(self) -> str:
        return f"unix:{self.socket_path}"

    @property
    def tcp_target(self) -> str:
        assert self.servers.tcp_address, "this node has no TCP listener"
        return self.servers.tcp_address

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 10.0) -> T:
        """Run a coroutine on the server's loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def append(self, type_: str = "ping", payload: dict[str, Any] | None = None, **kwargs: Any) -> EventRecord:
        return self.run(self.log.record(type_, payload, **kwargs))

    def client(self, *, tcp: bool = False, token: str | None = None) -> NodeClient:
        client = NodeClient(self.tcp_target if tcp else self.unix_target, token=token)
        self.clients.append(client)
        return client

    def channel(self, *, tcp: bool = False) -> grpc.Channel:
        channel = grpc.insecure_channel(self.tcp_target if tcp else self.unix_target)
        self.channels.append(channel)
        return channel


def _start(
    tcp: bool, token: str | None, configure: Callable[[NodeRuntime], None] | None = None
) -> tuple[NodeHandle, Callable[[], None]]:
    """`configure(runtime)` runs on the server loop before the servers start, e.g. to give the node a service."""
    state_dir = Path(tempfile.mkdtemp(prefix="ecco-a-", dir="/tmp"))
    os.chmod(state_dir, 0o700)
    socket_path = state_dir / "api.sock"
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="ecco-api-test-loop", daemon=True)
    thread.start()
    stop_requested = threading.Event()
    config = load_config(flags={"name": "api-node", "db_url": SECRET_DB_URL, "log_level": "debug"})

    async def setup() -> tuple[Any, Any, EventLog, NodeRuntime, ApiServers]:
        engine = create_engine(sqlite_url(state_dir / "ecco.db"))
        await migrate(engine)
        store = await open_event_store(engine)  # as the daemon does: SqliteEventStore on a SQLite file
        log = EventLog(store)
        await log.start()
        runtime = NodeRuntime(
            name="api-node",
            peer_id=PEER_ID,
            network="testnet",
            pid=os.getpid(),
            version="9.9.9-test",
            state_dir=str(state_dir),
            api_socket=str(socket_path),
            start_time_ms=now_ms(),
            capabilities=[CAPABILITY],
            events=log,
            config_json=config.to_json(),
            config_sources=dict(config.sources),
            request_stop=stop_requested.set,
            listen_addresses=lambda: [f"/ip4/127.0.0.1/tcp/4001/p2p/{PEER_ID}"],
            connected_peers=_two_peers,
        )
        if configure is not None:
            configure(runtime)
        servers = await start_servers(runtime, socket_path, "127.0.0.1:0" if tcp else "", token)
        runtime.api_tcp_address = servers.tcp_address
        await servers.set_serving(True)
        return engine, store, log, runtime, servers

    try:
        engine, store, log, runtime, servers = asyncio.run_coroutine_threadsafe(setup(), loop).result(30)
    except BaseException:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()
        shutil.rmtree(state_dir, ignore_errors=True)
        raise
    handle = NodeHandle(loop, state_dir, socket_path, runtime, log, servers, token, stop_requested, config)

    async def shutdown() -> None:
        log.close()
        await servers.stop(0)
        await store.close()
        await engine.dispose()

    def teardown() -> None:
        for client in handle.clients:
            client.close()
        for channel in handle.channels:
            channel.close()
        try:
            asyncio.run_coroutine_threadsafe(shutdown(), loop).result(30)
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(10)
            assert not thread.is_alive(), "the server loop did not stop"
            loop.close()
            shutil.rmtree(state_dir, ignore_errors=True)

    return handle, teardown


async def _two_peers() -> int:
    return 2


@pytest.fixture
def node() -> Iterator[NodeHandle]:
    """A node serving the API on its unix socket only."""
    handle, teardown = _start(tcp=False, token=None)
    try:
        yield handle
    finally:
        teardown()


@pytest.fixture
def tcp_node() -> Iterator[NodeHandle]:
    """A node serving the API on its unix socket and on 127.0.0.1:<free port> with a bearer token."""
    handle, teardown = _start(tcp=True, token=TOKEN)
    try:
        yield handle
    finally:
        teardown()


@pytest.fixture
def client(node: NodeHandle) -> NodeClient:
    return node.client()
