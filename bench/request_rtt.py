"""Round trip of a request between two real daemons, next to a raw py-libp2p round trip and a plain asyncio TCP one.

The figure: sequential `MessagingService.Prompt` calls from a gRPC client (`ecco.client.NodeClient`, the CLI's client)
over node A's unix socket; A signs an agent-request and sends it over libp2p (TCP/Noise/Yamux, 127.0.0.1) to node B,
started with `--responder echo`, which answers with an agent-response; A matches it and the call returns. Both
daemons are started with `ecco up` (A bootstrapped to B), with the per-peer rate limit raised (the default bucket of
100 messages refilling 10/s would throttle the benchmark after the first 100 requests).

Baselines measured in the same run, with the same payload size (PAYLOAD_BYTES):
  * raw py-libp2p: two plain hosts (Noise only, Yamux, ConnectionConfig(max_connections_per_peer=1), as in
    libp2p-notes §4) in two processes of their own, each running natively under trio; an echo protocol with
    uvarint-length framing; request/response over ONE long-lived stream (the baseline of the goal), and with a new
    stream per request (open, write, read the echo, close);
  * plain asyncio TCP: an echo server in a subprocess, the client in this process, same framing;
  * grpc.aio unary Health/Check against node A (the gRPC floor inside the ecco figure).
After warm-ups, the five sequential measurements are interleaved in ROUNDS blocks so that they share the machine's
noise. Then the throughput: CONCURRENCY grpc.aio Prompt calls in flight through A to B's echo responder for
THROUGHPUT_S (bounded in count too), next to the raw libp2p client doing the same with CONCURRENCY streams.
The breakdown adds the CPU time each process spent per request (Linux schedstat of every thread of the daemons and
helpers; process CPU time of this client), which shows where the time goes when the machine is the limit.

Unlike the other benchmarks this one binds TCP ports, on 127.0.0.1 only: the daemons' libp2p listeners and the two
baselines' servers (all on port 0).

Prints one JSON line. Run: .venv/bin/python bench/request_rtt.py
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
import time
from collections import Counter
from pathlib import Path
from typing import Any

from _common import bench_home, clean_env, ecco_cli, provenance, read_json_line, run, stop_daemon, summary_ms

PAYLOAD_BYTES = 100
WARMUP = 50
SAMPLES = 500  # per measurement, in ROUNDS interleaved blocks
ROUNDS = 5
CONCURRENCY = 32
THROUGHPUT_S = 5.0
THROUGHPUT_MAX_REQUESTS = 25_000  # bounds the throughput loop in count (2,000/s for 5 s is 10,000)
BASELINE_THROUGHPUT_S = 2.0
PROMPT_TIMEOUT_MS = 10_000
# Issue 16's goals, as ratios to the baselines measured in the same run (the machine's speed cancels out).
GOAL_RATIO = 5.0  # request p50 <= 5x raw libp2p p50 (one long-lived stream)
GOAL_RPS_RATIO = 0.30  # requests/s at CONCURRENCY in flight >= 0.30x raw libp2p round trips/s on CONCURRENCY streams
BUDGET_S = 85.0
HELPER_LIFETIME_S = 120.0  # a helper process exits on its own after this, whatever happens to the parent
PROTOCOL = "/ecco-bench/echo/1.0.0"
RATE_LIMIT = "1000000"
NODE_A, NODE_B = "rtt-a", "rtt-b"
PAYLOAD = ("ecco-bench-" + "x" * PAYLOAD_BYTES)[:PAYLOAD_BYTES]


def uvarint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def framed(body: bytes) -> bytes:
    return uvarint(len(body)) + body


def split_frame(buffer: bytearray) -> bytes | None:
    """Take one `uvarint(len) || body` frame off the front of `buffer`, or None if it is not complete yet."""
    length, header = 0, 0
    while True:
        if header >= len(buffer):
            return None
        byte = buffer[header]
        length |= (byte & 0x7F) << (7 * header)
        header += 1
        if not byte & 0x80:
            break
        if header >= 10:
            raise ValueError("not a uvarint")
    end = header + length
    if len(buffer) < end:
        return None
    frame = bytes(buffer[header:end])
    del buffer[:end]
    return frame


def cpu_ns(pid: int | None) -> int | None:
    """CPU time used so far by every live thread of process `pid` (Linux schedstat, ns resolution); None elsewhere.

    `pid` None means this process. Threads that ended are not counted, which only matters across long gaps."""
    if pid is None:
        return time.process_time_ns()
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
        total = 0
        for tid in tasks:
            with contextlib.suppress(FileNotFoundError), open(f"/proc/{pid}/task/{tid}/schedstat") as fh:
                total += int(fh.read().split()[0])
        return total
    except (OSError, ValueError):
        return None


class CpuMeter:
    """CPU time per operation of named processes, accumulated over several measured blocks."""

    def __init__(self) -> None:
        self.used: dict[str, dict[str, int]] = {}
        self.ops: Counter[str] = Counter()

    @contextlib.contextmanager
    def block(self, what: str, ops: int, pids: dict[str, int | None]) -> Any:
        before = {name: cpu_ns(pid) for name, pid in pids.items()}
        yield
        after = {name: cpu_ns(pid) for name, pid in pids.items()}
        used = self.used.setdefault(what, {})
        for name in pids:
            if before[name] is not None and after[name] is not None:
                used[name] = used.get(name, 0) + after[name] - before[name]
        self.ops[what] += ops

    def set_ops(self, what: str, ops: int) -> None:
        self.ops[what] = ops

    def per_op_ms(self) -> dict[str, dict[str, float]]:
        return {
            what: {name: round(ns / 1e6 / max(1, self.ops[what]), 3) for name, ns in used.items()}
            for what, used in self.used.items()
        }


def emit(doc: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(doc) + "\n")
    sys.stdout.flush()


# ------------------------------------------------------------------------------------ raw py-libp2p (helper processes)


def _libp2p_host() -> Any:
    """A plain py-libp2p host, the libp2p-notes §4 safe recipe: Noise only, Yamux, max_connections_per_peer=1."""
    import logging

    import multiaddr
    from libp2p import (
        NOISE_PROTOCOL_ID,
        YAMUX_PROTOCOL_ID,
        NoiseTransport,
        Yamux,
        create_new_x25519_key_pair,
        new_host,
    )
    from libp2p.crypto.ed25519 import create_new_key_pair
    from libp2p.custom_types import TProtocol
    from libp2p.network.config import ConnectionConfig

    for name in ("libp2p", "multiaddr", "aioquic", "zeroconf", "async_service"):
        logging.getLogger(name).setLevel(logging.ERROR)
    key_pair = create_new_key_pair()
    return new_host(
        key_pair=key_pair,
        sec_opt={NOISE_PROTOCOL_ID: NoiseTransport(key_pair, noise_privkey=create_new_x25519_key_pair().private_key)},
        muxer_opt={TProtocol(YAMUX_PROTOCOL_ID): Yamux},
        connection_config=ConnectionConfig(max_connections_per_peer=1),
        listen_addrs=[multiaddr.Multiaddr("/ip4/127.0.0.1/tcp/0")],
    )


class _StreamFrames:
    """Buffered frame reads on a libp2p stream (no per-byte reads, like ecco's own reader)."""

    def __init__(self, stream: Any) -> None:
        self.stream = stream
        self.buffer = bytearray()

    async def next(self) -> bytes | None:
        while True:
            frame = split_frame(self.buffer)
            if frame is not None:
                return frame
            try:
                chunk = await self.stream.read(256 * 1024)
            except EOFError:  # StreamEOF
                chunk = b""
            if not chunk:
                return None
            self.buffer += chunk


async def _until_stdin_closes(lifetime_s: float) -> None:
    import trio

    with trio.move_on_after(lifetime_s):
        async with trio.lowlevel.FdStream(os.dup(sys.stdin.fileno())) as stdin:
            while await stdin.receive_some(4096):
                pass


async def libp2p_server() -> None:
    """Echo every frame back on the stream it came on; serve until stdin closes."""
    import multiaddr
    import trio
    from libp2p.custom_types import TProtocol

    host = _libp2p_host()

    async def echo(stream: Any) -> None:
        frames = _StreamFrames(stream)
        try:
            while (frame := await frames.next()) is not None:
                await stream.write(framed(frame))
        except Exception:
            with contextlib.suppress(Exception):
                await stream.reset()
            return
        with contextlib.suppress(Exception):
            await stream.close()

    async with host.run(listen_addrs=[multiaddr.Multiaddr("/ip4/127.0.0.1/tcp/0")]):
        host.set_stream_handler(TProtocol(PROTOCOL), echo)
        addr = f"{host.get_addrs()[0]}"
        if "/p2p/" not in addr:
            addr += f"/p2p/{host.get_id().to_base58()}"
        emit({"addr": addr})
        await _until_stdin_closes(HELPER_LIFETIME_S)
        with trio.move_on_after(2):
            await host.close()


async def libp2p_client(addr: str) -> None:
    """Connect to the echo server, then run the commands read from stdin (one JSON object a line), answering each
    with one JSON line: {"op": "long"|"new", "n"} -> round-trip times in ns; {"op": "conc", "c", "seconds", "max"} ->
    round trips completed by c concurrent long-lived streams; {"op": "quit"}."""
    import multiaddr
    import trio
    from libp2p.custom_types import TProtocol
    from libp2p.peer.peerinfo import info_from_p2p_addr

    proto = TProtocol(PROTOCOL)
    host = _libp2p_host()
    payload = PAYLOAD.encode()
    request = framed(payload)

    async def round_trip(stream: Any, frames: _StreamFrames) -> None:
        await stream.write(request)
        if await frames.next() != payload:
            raise RuntimeError("the libp2p echo did not match")

    async with host.run(listen_addrs=[multiaddr.Multiaddr("/ip4/127.0.0.1/tcp/0")]):
        info = info_from_p2p_addr(multiaddr.Multiaddr(addr))
        peer = info.peer_id
        with trio.fail_after(20):
            started = time.perf_counter_ns()
            await host.connect(info)
            connected = time.perf_counter_ns()
            stream = await host.new_stream(peer, [proto])
            frames = _StreamFrames(stream)
            await round_trip(stream, frames)
            first = time.perf_counter_ns()
            for _ in range(WARMUP):
                await round_trip(stream, frames)
            for _ in range(WARMUP // 2):
                fresh = await host.new_stream(peer, [proto])
                await round_trip(fresh, _StreamFrames(fresh))
                await fresh.close()
        emit({"ready": True, "connect_ms": (connected - started) / 1e6, "first_round_trip_ms": (first - started) / 1e6})

        with trio.move_on_after(HELPER_LIFETIME_S):
            async with trio.lowlevel.FdStream(os.dup(sys.stdin.fileno())) as stdin:
                pending = bytearray()
                while True:
                    while b"\n" not in pending:
                        chunk = await stdin.receive_some(4096)
                        if not chunk:
                            return
                        pending += chunk
                    line, _, rest = bytes(pending).partition(b"\n")
                    pending = bytearray(rest)
                    command = json.loads(line)
                    op = command["op"]
                    if op == "quit":
                        return
                    with trio.fail_after(60):
                        if op == "long":
                            out = []
                            for _ in range(command["n"]):
                                t0 = time.perf_counter_ns()
                                await round_trip(stream, frames)
                                out.append(time.perf_counter_ns() - t0)
                            emit({"ns": out})
                        elif op == "new":
                            out = []
                            for _ in range(command["n"]):
                                t0 = time.perf_counter_ns()
                                fresh = await host.new_stream(peer, [proto])
                                await round_trip(fresh, _StreamFrames(fresh))
                                await fresh.close()
                                out.append(time.perf_counter_ns() - t0)
                            emit({"ns": out})
                        elif op == "conc":
                            emit(await _libp2p_concurrent(host, peer, proto, round_trip, command))
                        else:
                            raise ValueError(f"unknown op {op!r}")


async def _libp2p_concurrent(host: Any, peer: Any, proto: Any, round_trip: Any, command: dict[str, Any]) -> dict:
    import trio

    streams = [await host.new_stream(peer, [proto]) for _ in range(command["c"])]
    done = 0
    stop_at = time.perf_counter() + command["seconds"]

    async def worker(stream: Any) -> None:
        nonlocal done
        frames = _StreamFrames(stream)
        while done < command["max"] and time.perf_counter() < stop_at:
            await round_trip(stream, frames)
            done += 1

    started = time.perf_counter()
    async with trio.open_nursery() as nursery:
        for stream in streams:
            nursery.start_soon(worker, stream)
    elapsed = time.perf_counter() - started
    for stream in streams:
        with contextlib.suppress(Exception):
            await stream.close()
    return {"round_trips": done, "seconds": elapsed}


# ------------------------------------------------------------------------------------ plain asyncio TCP


async def tcp_server() -> None:
    """Echo every frame; serve until stdin closes."""

    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        buffer = bytearray()
        try:
            while chunk := await reader.read(256 * 1024):
                buffer += chunk
                while (frame := split_frame(buffer)) is not None:
                    writer.write(framed(frame))
                await writer.drain()
        finally:
            writer.close()

    server = await asyncio.start_server(echo, "127.0.0.1", 0)
    loop = asyncio.get_running_loop()
    stdin = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(stdin), sys.stdin)
    async with server:
        emit({"port": server.sockets[0].getsockname()[1]})
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stdin.read(), HELPER_LIFETIME_S)


class TcpClient:
    """The client side of the TCP baseline, on its own event loop in this process (asyncio sets TCP_NODELAY)."""

    def __init__(self, port: int) -> None:
        self.loop = asyncio.new_event_loop()
        self.reader, self.writer = self.loop.run_until_complete(asyncio.open_connection("127.0.0.1", port))
        self.payload = PAYLOAD.encode()
        self.request = framed(self.payload)
        self.buffer = bytearray()

    async def _round_trips(self, n: int) -> list[int]:
        out = []
        for _ in range(n):
            t0 = time.perf_counter_ns()
            self.writer.write(self.request)
            while (frame := split_frame(self.buffer)) is None:
                chunk = await self.reader.read(256 * 1024)
                if not chunk:
                    raise RuntimeError("the TCP echo server closed the connection")
                self.buffer += chunk
            out.append(time.perf_counter_ns() - t0)
            if frame != self.payload:
                raise RuntimeError("the TCP echo did not match")
        return out

    def round_trips(self, n: int) -> list[int]:
        return self.loop.run_until_complete(asyncio.wait_for(self._round_trips(n), 60))

    def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(Exception):
            self.loop.run_until_complete(asyncio.wait_for(self.writer.wait_closed(), 5))
        self.loop.close()


# ------------------------------------------------------------------------------------ the ecco side


def start_nodes(home: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """`ecco up` B (echo responder), then A bootstrapped to B; both listen on 127.0.0.1 only."""
    env = clean_env(home) | {"ECCO_RATE_LIMIT_MESSAGES": RATE_LIMIT, "ECCO_RATE_LIMIT_REFILL": RATE_LIMIT}
    listen = ["--listen", "/ip4/127.0.0.1/tcp/0"]
    b = run([*ecco_cli(), "up", "--name", NODE_B, *listen, "--responder", "echo", "--json"], env, timeout=40).json()
    b_addr = b["listenAddresses"][0]
    if "/p2p/" not in b_addr:
        b_addr += f"/p2p/{b['peerId']}"
    a = run([*ecco_cli(), "up", "--name", NODE_A, *listen, "--bootstrap", b_addr, "--json"], env, timeout=40).json()
    if a.get("connectedPeers", 0) < 1:
        raise RuntimeError(f"node A did not connect to node B at {b_addr}")
    return a, b


class EccoClient:
    """Sequential Prompt calls through node A with the blocking NodeClient, and Health/Check on the same channel."""

    def __init__(self, home: str, peer_id: str) -> None:
        from grpc_health.v1 import health_pb2, health_pb2_grpc

        from ecco.client import NodeClient
        from ecco.home import NodePaths
        from ecco.v1 import messaging_service_pb2

        self.client = NodeClient.for_paths(NodePaths.for_name(NODE_A, Path(home)))
        self.stub = self.client.stub("MessagingService")
        self.request = messaging_service_pb2.PromptRequest(
            peer_id=peer_id, prompt=PAYLOAD, timeout_ms=PROMPT_TIMEOUT_MS
        )
        self.health = health_pb2_grpc.HealthStub(self.client.channel)
        self.health_request = health_pb2.HealthCheckRequest(service="")

    def prompts(self, n: int) -> list[int]:
        out = []
        for _ in range(n):
            t0 = time.perf_counter_ns()
            reply = self.client.call(self.stub.Prompt, self.request, timeout=PROMPT_TIMEOUT_MS / 1000 + 5).reply
            out.append(time.perf_counter_ns() - t0)
            if reply.error or reply.text != PAYLOAD:
                raise RuntimeError(f"unexpected reply from the echo responder: {reply}")
        return out

    def health_checks(self, n: int) -> list[int]:
        out = []
        for _ in range(n):
            t0 = time.perf_counter_ns()
            self.health.Check(self.health_request, timeout=5)
            out.append(time.perf_counter_ns() - t0)
        return out

    def close(self) -> None:
        self.client.close()


async def ecco_throughput(socket_path: str, peer_id: str, concurrency: int, seconds: float) -> dict[str, Any]:
    """`concurrency` grpc.aio Prompt calls in flight for `seconds` (and at most THROUGHPUT_MAX_REQUESTS calls)."""
    import grpc

    from ecco.v1 import messaging_service_pb2, messaging_service_pb2_grpc

    request = messaging_service_pb2.PromptRequest(peer_id=peer_id, prompt=PAYLOAD, timeout_ms=PROMPT_TIMEOUT_MS)
    ok, issued = 0, 0
    errors: Counter[str] = Counter()
    latencies: list[int] = []
    async with grpc.aio.insecure_channel(f"unix:{socket_path}", options=[("grpc.enable_retries", 0)]) as channel:
        stub = messaging_service_pb2_grpc.MessagingServiceStub(channel)
        await stub.Prompt(request, timeout=PROMPT_TIMEOUT_MS / 1000 + 5)  # connect the channel
        stop_at = time.perf_counter() + seconds

        async def worker() -> None:
            nonlocal ok, issued
            while issued < THROUGHPUT_MAX_REQUESTS and time.perf_counter() < stop_at:
                issued += 1
                t0 = time.perf_counter_ns()
                try:
                    reply = (await stub.Prompt(request, timeout=PROMPT_TIMEOUT_MS / 1000 + 5)).reply
                except grpc.aio.AioRpcError as exc:
                    errors[exc.code().name] += 1
                    continue
                latencies.append(time.perf_counter_ns() - t0)
                if reply.error or reply.text != PAYLOAD:
                    errors["BAD_REPLY"] += 1
                else:
                    ok += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return {
        "requests_per_s": round(ok / elapsed, 1),
        "ok": ok,
        "errors": sum(errors.values()),
        "error_codes": dict(errors),
        "seconds": round(elapsed, 2),
        "latency_under_load": summary_ms(latencies) if latencies else None,
    }


def ecco_frame_sizes() -> dict[str, int]:
    """Bytes on the wire for this benchmark's request and reply (the upstream JSON envelope; crypto is faked with
    byte strings of the real sizes, which is all the size depends on)."""
    from ecco.services.envelope import encode_frame, new_message, sign_message

    class FakeSigner:
        def __init__(self, peer_id: str) -> None:
            self.peer_id = peer_id
            self.public_key = b"\x01" * 32

        def sign(self, data: bytes) -> bytes:
            return b"\x02" * 64

    a, b = "12D3KooW" + "A" * 44, "12D3KooW" + "B" * 44
    request = sign_message(new_message(a, b, "agent-request", {"prompt": PAYLOAD}), FakeSigner(a))
    payload = {"requestId": request.id, "response": {"text": PAYLOAD, "finishReason": "stop"}}
    reply = sign_message(new_message(b, a, "agent-response", payload), FakeSigner(b))
    return {"request_frame_bytes": len(encode_frame(request)), "reply_frame_bytes": len(encode_frame(reply))}


# ------------------------------------------------------------------------------------ the run


def helper(home: str, *args: str) -> subprocess.Popen[bytes]:
    """This script re-run as a baseline helper; it talks JSON lines on stdout and exits when its stdin closes."""
    return subprocess.Popen(
        [sys.executable, __file__, *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=clean_env(home)
    )


def stop_helper(proc: subprocess.Popen[bytes] | None) -> None:
    """Close its stdin (it then exits by itself); SIGTERM, then SIGKILL, if it does not."""
    if proc is None:
        return
    with contextlib.suppress(Exception):
        assert proc.stdin is not None
        proc.stdin.close()
    for action in (None, proc.terminate, proc.kill):
        if action is not None:
            with contextlib.suppress(ProcessLookupError):
                action()
        try:
            proc.wait(timeout=5)
            return
        except subprocess.TimeoutExpired:
            continue


def ask(proc: subprocess.Popen[bytes], command: dict[str, Any], deadline: float) -> dict[str, Any]:
    assert proc.stdin is not None
    proc.stdin.write((json.dumps(command) + "\n").encode())
    proc.stdin.flush()
    return read_json_line(proc, deadline, "the libp2p client")


def profiling(pids: dict[str, int], phase: str, into: dict[str, Any]) -> contextlib.AbstractContextManager[list[int]]:
    """py-spy records `pids` during the block when BENCH_PROFILE_DIR is set (bench/_profile.py), else nothing."""
    directory = os.environ.get("BENCH_PROFILE_DIR")
    if not directory:
        return contextlib.nullcontext([])
    import _profile

    return _profile.recording(pids, Path(directory), phase, into)


def bench() -> dict[str, Any]:
    began = time.monotonic()
    deadline = began + BUDGET_S
    home = bench_home("ertt")
    procs: dict[str, subprocess.Popen[bytes] | None] = {"libp2p_server": None, "libp2p_client": None, "tcp": None}
    ecco: EccoClient | None = None
    tcp: TcpClient | None = None
    profiles: dict[str, Any] = {}
    started_nodes = False
    try:
        # The helpers start (and pay for `import libp2p`) while the daemons come up.
        procs["libp2p_server"] = helper(home, "--libp2p-server")
        procs["tcp"] = helper(home, "--tcp-server")
        started_nodes = True
        node_a, node_b = start_nodes(home)
        server_addr = read_json_line(procs["libp2p_server"], deadline, "the libp2p server")["addr"]
        procs["libp2p_client"] = helper(home, "--libp2p-client", server_addr)
        tcp = TcpClient(read_json_line(procs["tcp"], deadline, "the TCP server")["port"])
        ecco = EccoClient(home, node_b["peerId"])
        ecco.prompts(WARMUP)
        ecco.health_checks(WARMUP)
        tcp.round_trips(WARMUP)
        libp2p_ready = read_json_line(procs["libp2p_client"], deadline, "the libp2p client")  # warmed up itself

        per_round = SAMPLES // ROUNDS
        samples: dict[str, list[int]] = {"ecco": [], "libp2p_long": [], "libp2p_new": [], "tcp": [], "health": []}
        nodes = {"node_a": node_a["pid"], "node_b": node_b["pid"], "client": None}
        libp2p = {"server": procs["libp2p_server"].pid, "client": procs["libp2p_client"].pid}
        cpu = CpuMeter()
        daemons = {"node_a": node_a["pid"], "node_b": node_b["pid"]}
        with profiling(daemons, "sequential", profiles) as profiled:
            for _ in range(ROUNDS):
                with cpu.block("ecco_sequential", per_round, nodes):
                    samples["ecco"] += ecco.prompts(per_round)
                profiled.append(per_round)
                with cpu.block("libp2p_long_lived_stream", per_round, libp2p):
                    long_lived = ask(procs["libp2p_client"], {"op": "long", "n": per_round}, deadline)
                    samples["libp2p_long"] += long_lived["ns"]
                with cpu.block("asyncio_tcp", per_round, {"server": procs["tcp"].pid, "client": None}):
                    samples["tcp"] += tcp.round_trips(per_round)
                samples["libp2p_new"] += ask(procs["libp2p_client"], {"op": "new", "n": per_round}, deadline)["ns"]
                with cpu.block("grpc_health_check", per_round, {"node_a": node_a["pid"], "client": None}):
                    samples["health"] += ecco.health_checks(per_round)
        ecco.close()
        ecco = None
        tcp.close()
        tcp = None

        command = {"op": "conc", "c": CONCURRENCY, "seconds": BASELINE_THROUGHPUT_S, "max": THROUGHPUT_MAX_REQUESTS}
        with cpu.block("libp2p_concurrent", 0, libp2p):
            libp2p_conc = ask(procs["libp2p_client"], command, deadline)
        cpu.set_ops("libp2p_concurrent", libp2p_conc["round_trips"])
        with profiling(daemons, "concurrent", profiles) as profiled, cpu.block("ecco_concurrent", 0, nodes):
            throughput = asyncio.run(
                asyncio.wait_for(
                    ecco_throughput(node_a["apiSocket"], node_b["peerId"], CONCURRENCY, THROUGHPUT_S),
                    THROUGHPUT_S + 30,
                )
            )
            profiled.append(throughput["ok"] + throughput["errors"] + 1)  # +1: the connecting call
        cpu.set_ops("ecco_concurrent", sum(profiled))
        frames = ecco_frame_sizes()
    finally:
        if ecco is not None:
            ecco.close()
        if tcp is not None:
            with contextlib.suppress(Exception):
                tcp.close()
        for proc in procs.values():
            stop_helper(proc)
        if started_nodes:
            for name in (NODE_A, NODE_B):
                with contextlib.suppress(Exception):
                    stop_daemon(home, name)
        shutil.rmtree(home, ignore_errors=True)

    latency = summary_ms(samples["ecco"])
    long = summary_ms(samples["libp2p_long"])
    new = summary_ms(samples["libp2p_new"])
    tcp_rt = summary_ms(samples["tcp"])
    health = summary_ms(samples["health"])
    libp2p_rps = libp2p_conc["round_trips"] / libp2p_conc["seconds"]
    ratio_p50 = round(latency["p50_ms"] / long["p50_ms"], 2)
    ratio_rps = round(throughput["requests_per_s"] / libp2p_rps, 3)
    return {
        "benchmark": "request_rtt",
        "figure": "Prompt round trip: gRPC client -> node A -> libp2p -> node B echo responder -> back (sequential)",
        "value": latency["p50_ms"],
        "unit": "ms (p50)",
        "p99_ms": latency["p99_ms"],
        "goal": f"p50 <= {GOAL_RATIO:g}x raw libp2p p50 (one long-lived stream); requests/s at concurrency "
        f"{CONCURRENCY} >= {GOAL_RPS_RATIO:g}x raw libp2p round trips/s on {CONCURRENCY} streams",
        "goal_met": {"latency": ratio_p50 <= GOAL_RATIO, "throughput": ratio_rps >= GOAL_RPS_RATIO},
        "latency": latency,
        "baseline": {
            "libp2p_long_lived_stream": long,
            "libp2p_new_stream_per_request": new,
            "asyncio_tcp": tcp_rt,
            "grpc_unary_health_check_node_a": health,
        },
        "ratio": {
            "p50_vs_libp2p_p50": ratio_p50,
            "p99_vs_libp2p_p99": round(latency["p99_ms"] / long["p99_ms"], 2),
            "p50_vs_tcp_p50": round(latency["p50_ms"] / tcp_rt["p50_ms"], 2),
            "p99_vs_tcp_p99": round(latency["p99_ms"] / tcp_rt["p99_ms"], 2),
            "p50_vs_libp2p_new_stream_p50": round(latency["p50_ms"] / new["p50_ms"], 2),
            "libp2p_p50_vs_tcp_p50": round(long["p50_ms"] / tcp_rt["p50_ms"], 2),
        },
        "throughput": {
            **throughput,
            "concurrency": CONCURRENCY,
            "goal_ratio_vs_libp2p": GOAL_RPS_RATIO,
            "baseline_libp2p_round_trips_per_s": round(libp2p_rps, 1),
            "baseline_libp2p_streams": CONCURRENCY,
            "ratio_vs_libp2p": ratio_rps,
        },
        "breakdown": {
            "ecco_p50_minus_grpc_unary_p50_ms": round(latency["p50_ms"] - health["p50_ms"], 3),
            "cpu_ms_per_request": cpu.per_op_ms(),
            "libp2p_connect_ms": round(libp2p_ready["connect_ms"], 2),
            **frames,
        },
        **({"profile": profiles} if profiles else {}),
        "payload_bytes": PAYLOAD_BYTES,
        "samples": SAMPLES,
        "warmup": WARMUP,
        "rounds": ROUNDS,
        **provenance(began),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--libp2p-server", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--libp2p-client", metavar="ADDR", help=argparse.SUPPRESS)
    parser.add_argument("--tcp-server", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.libp2p_server or args.libp2p_client:
        import trio

        if args.libp2p_server:
            trio.run(libp2p_server)
        else:
            trio.run(libp2p_client, args.libp2p_client)
        return 0
    if args.tcp_server:
        asyncio.run(tcp_server())
        return 0
    sys.stdout.write(json.dumps(bench()) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
