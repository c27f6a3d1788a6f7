"""Real daemons as subprocesses, driven through the `ecco` CLI, each test in its own ECCO_HOME."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

CLI_TIMEOUT_S = 60


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


class Ecco:
    """Runs `python -m ecco ...` with this test's ECCO_HOME."""

    def __init__(self, home: Path, prefix: tuple[str, ...] = ()) -> None:
        self.home = home
        self.prefix = list(prefix)
        """Runs every command under this one (e.g. `ip netns exec <ns>`)."""
        # Loopback only: a daemon's default libp2p listen address is every interface.
        # mDNS off: it multicasts on every interface (tests that need it run in a private network namespace).
        self.env = {**os.environ, "ECCO_HOME": str(home), "ECCO_LISTEN": "/ip4/127.0.0.1/tcp/0", "ECCO_MDNS": "false"}
        self.env.pop("ECCO_NODE", None)

    def __call__(self, *args: str, env: dict[str, str] | None = None) -> Result:
        done = subprocess.run(
            [*self.prefix, sys.executable, "-m", "ecco", *args],
            capture_output=True,
            text=True,
            timeout=CLI_TIMEOUT_S,
            env={**self.env, **(env or {})},
            stdin=subprocess.DEVNULL,
        )
        return Result(done.returncode, done.stdout, done.stderr)

    def ok(self, *args: str, env: dict[str, str] | None = None) -> Result:
        result = self(*args, env=env)
        assert result.code == 0, f"ecco {' '.join(args)} exited {result.code}: {result.stderr}{result.stdout}"
        return result

    def node_dir(self, name: str) -> Path:
        return self.home / "nodes" / name

    def pid(self, name: str) -> int:
        return int((self.node_dir(name) / "daemon.pid").read_text())

    def follow(self, *args: str) -> LineReader:
        process = subprocess.Popen(
            [*self.prefix, sys.executable, "-m", "ecco", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=self.env,
            stdin=subprocess.DEVNULL,
        )
        return LineReader(process)

    def kill_all(self) -> None:
        for pid_file in self.home.glob("nodes/*/daemon.pid"):
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(pid_file.read_text()), signal.SIGKILL)


class LineReader:
    """Reads a long-running command's stdout lines through a queue, so tests wait with a timeout."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process = process
        self.lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def next_json(self, timeout: float = 20) -> Any:
        line = self.lines.get(timeout=timeout)
        assert line is not None, f"stream ended: {self.stop()}"
        return json.loads(line)

    def stop(self) -> str:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        return self.process.stderr.read() if self.process.stderr else ""


def wait_for_exit(pid: int, timeout: float = 20) -> None:
    """Wait for a process that is not our child to exit, via pidfd (no polling)."""
    import select

    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return
    try:
        ready, _, _ = select.select([fd], [], [], timeout)
        assert ready, f"process {pid} still running after {timeout}s"
    finally:
        os.close(fd)


def up(ecco: Ecco, name: str, *args: str) -> dict[str, Any]:
    """Start a node; its status document, with `addr` = its one dialable /ip4/127.0.0.1/tcp/<port>/p2p/<id>."""
    status = ecco.ok("up", "--name", name, *args, "--json").json()
    (addr,) = status["listenAddresses"]
    assert addr.startswith("/ip4/127.0.0.1/tcp/") and addr.endswith(f"/p2p/{status['peerId']}")
    return {**status, "addr": addr}


def error_of(result: Result) -> dict[str, Any]:
    """The `--json` error document of a failed command, checked against the README's exit-code table."""
    from ecco.cli.output import EXIT_CODES

    error = result.json()["error"]
    assert result.code == EXIT_CODES[error["code"]], (result.code, error)
    return error


@pytest.fixture
def ecco() -> Iterator[Ecco]:
    home = Path(tempfile.mkdtemp(prefix="ecco-it-", dir="/tmp"))
    runner = Ecco(home)
    try:
        yield runner
    finally:
        runner.kill_all()
        shutil.rmtree(home, ignore_errors=True)


# ---------------------------------------------------------------------------------------------------------------------
# Peer-to-peer helpers: a daemon's events and log, and an in-test libp2p peer that speaks the ecco wire directly
# ---------------------------------------------------------------------------------------------------------------------

EVENT_WAIT_S = 15.0  # what any single expected event may take; never reached when things work


def _events_stub(ecco: Ecco, node: str) -> tuple[Any, Any]:
    import grpc

    from ecco.v1 import event_service_pb2_grpc

    channel = grpc.insecure_channel(f"unix:{ecco.node_dir(node) / 'api.sock'}")
    return channel, event_service_pb2_grpc.EventServiceStub(channel)


def list_events(ecco: Ecco, node: str, *types: str) -> list[dict[str, Any]]:
    """Every event of `node` (of these types), oldest first, as `ecco stream --json` prints them."""
    from ecco.cli.render import event_dict
    from ecco.v1 import event_service_pb2

    channel, stub = _events_stub(ecco, node)
    found: list[dict[str, Any]] = []
    with channel:
        token = ""
        for _ in range(1000):  # bounded: at most 1000 pages
            request = event_service_pb2.ListEventsRequest(types=list(types), page_size=1000, page_token=token)
            page = stub.ListEvents(request, timeout=10)
            found += [event_dict(event) for event in page.events]
            token = page.next_page_token
            if not token:
                break
    return found


def wait_for_event(ecco: Ecco, node: str, match: Any, *types: str, timeout: float = EVENT_WAIT_S) -> dict[str, Any]:
    """The first event of `node` (replayed from the start, then followed) for which `match(event)` is true."""
    import grpc

    from ecco.cli.render import event_dict
    from ecco.v1 import event_service_pb2

    channel, stub = _events_stub(ecco, node)
    seen: list[dict[str, Any]] = []
    with channel:
        request = event_service_pb2.SubscribeRequest(cursor=0, types=list(types), follow=True)
        try:
            for response in stub.Subscribe(request, timeout=timeout):
                for event in response.events:
                    doc = event_dict(event)
                    if match(doc):
                        return doc
                    seen.append(doc)
        except grpc.RpcError as error:
            if error.code() != grpc.StatusCode.DEADLINE_EXCEEDED:
                raise
    raise AssertionError(f"no matching event on node {node} within {timeout}s; saw {[e['type'] for e in seen]}")


def log_entries(ecco: Ecco, node: str) -> list[dict[str, Any]]:
    """The node's daemon.log, one dict per JSON line."""
    text = (ecco.node_dir(node) / "daemon.log").read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines() if line.strip()]


class RawPeer:
    """A libp2p peer run by the test itself (a Libp2pTransport on 127.0.0.1, in its own asyncio loop thread) that
    sends hand-made frames, well-formed or malicious, and collects every frame daemons send it."""

    def __init__(self, key_file: Path) -> None:
        from ecco.identity import load_or_create
        from ecco.transport.keys import Ed25519Signer
        from ecco.transport.libp2p import Libp2pTransport

        self.identity = load_or_create(key_file)
        self.peer_id = self.identity.peer_id
        self.signer = Ed25519Signer.from_identity(self.identity)
        self.frames: queue.Queue[tuple[str, bytes]] = queue.Queue()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="raw-peer", daemon=True)
        self._thread.start()
        self.transport = Libp2pTransport(self.identity, ["/ip4/127.0.0.1/tcp/0"])
        self.transport.set_handler(self._on_frame)
        try:
            self._run(self.transport.start())
        except BaseException:
            self.close()
            raise

    def _run(self, coro: Any, timeout: float = 30) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    async def _on_frame(self, peer_id: str, frame: bytes) -> None:
        self.frames.put((peer_id, frame))

    def connect(self, multiaddr: str) -> str:
        return self._run(self.transport.connect(multiaddr, 10.0))

    def message(self, to: str, type: str, payload: Any, *, timestamp_ms: int | None = None) -> Any:
        """A message from this peer, correctly signed."""
        from ecco.services.envelope import new_message, sign_message

        return sign_message(new_message(self.peer_id, to, type, payload, timestamp_ms=timestamp_ms), self.signer)

    def send_frame(self, to: str, frame: bytes) -> None:
        """One frame through the transport (the long-lived /ecco/direct/1.1.0 stream, so frames arrive in order)."""
        self._run(self.transport.send(to, frame, 10.0))

    def send(self, message: Any) -> None:
        from ecco.services.envelope import encode_frame

        self.send_frame(message.to, encode_frame(message))

    def next_message(self, match: Any, timeout: float = EVENT_WAIT_S) -> Any:
        """The next message received for which `match(message)` is true (others are skipped)."""
        from ecco.services.envelope import decode_frame

        deadline = time.monotonic() + timeout
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                _, frame = self.frames.get(timeout=remaining)
            except queue.Empty:
                break
            message = decode_frame(frame).message
            if match(message):
                return message
        raise AssertionError(f"no matching message within {timeout}s")

    def send_raw_v10(self, to: str, data: bytes, timeout: float = 20) -> str:
        """Write `data` as is on a new /ecco/direct/1.0.0 stream, half-close it, and wait until the peer ends the
        stream. Returns "eof" for a clean end, else the name of the exception that ended it (e.g. StreamReset)."""
        import trio
        from libp2p.custom_types import TProtocol
        from libp2p.peer.id import ID

        from ecco.services.transport_port import DIRECT_PROTOCOL_V10

        host = self.transport._runtime.host  # the transport's internals: the only way to write unframed bytes

        async def write() -> str:
            with trio.fail_after(timeout):
                stream = await host.new_stream(ID.from_base58(to), [TProtocol(DIRECT_PROTOCOL_V10)])
                try:
                    await stream.write(data)
                    await stream.close()
                    for _ in range(1000):  # bounded; the peer sends nothing on this protocol
                        if not await stream.read(65536):
                            return "eof"
                    return "data"
                except EOFError:  # libp2p's StreamEOF
                    return "eof"
                except Exception as exc:
                    return type(exc).__name__

        return self._run(self.transport._thread.call(write, timeout=timeout + 5), timeout + 10)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._run(self.transport.stop())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()


@pytest.fixture
def raw_peer(tmp_path: Path) -> Iterator[RawPeer]:
    peer = RawPeer(tmp_path / "raw-peer.key")
    try:
        yield peer
    finally:
        peer.close()


@pytest.fixture
def node_db(backend: str, request: pytest.FixtureRequest) -> Iterator[Any]:
    """`node_db(name)`: the `up` flags that put node `name` on this test's backend: nothing (its SQLite file in
    its state directory) or `--db-url` of a PostgreSQL database of its own on the suite's server (the same one
    each time the node is started). Tests taking this fixture run on both backends."""
    databases: dict[str, str] = {}
    pg = request.getfixturevalue("pg") if backend == "postgresql" else None

    def args(name: str) -> tuple[str, ...]:
        if pg is None:
            return ()
        if name not in databases:
            databases[name] = pg.new_database(name)
        return ("--db-url", databases[name])

    args.urls = databases  # type: ignore[attr-defined]
    try:
        yield args
    finally:
        for url in databases.values():
            with contextlib.suppress(Exception):  # a daemon of a failed test may still hold it: FORCE ends it
                pg.drop_database(url)
