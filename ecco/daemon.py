"""The node daemon: wires identity, storage, the event log and the gRPC API, and runs until stopped.

This is the only module that knows every piece. Start-up order matters: the lock first (so a second daemon
for the same node never touches its state), then identity and database, then the API; shutdown runs in reverse
and ends live event streams before the servers stop, so clients learn to resume rather than hang.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import secrets
import signal
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import tomli_w

from ecco import __version__
from ecco.config import NodeConfig
from ecco.errors import AlreadyExists, Reason
from ecco.home import NodePaths
from ecco.identity import PASSWORD_ENV, Identity, load_or_create
from ecco.services.bridge import A2A_MODE, BridgeMonitor
from ecco.services.consensus import Consensus, PeerEmbeddings
from ecco.services.crypto_ports import Signer, Verifier
from ecco.services.discovery import Discovery, ReputationBook
from ecco.services.envelope import InboundGuard
from ecco.services.events import EventLog, now_ms
from ecco.services.messaging import NETWORK_IDS, Messenger, Responder, parse_responder
from ecco.services.node import NodeRuntime
from ecco.services.payments import Agreements, FeedbackSync, Payments, PaymentSettings, Registry, parse_pricing
from ecco.store.bridge import SqlBridgeStore
from ecco.store.db import MigrationResult, WriterLock, create_engine, migrate, open_event_store, sqlite_url
from ecco.store.payments import SqlPaymentStore
from ecco.store.reputation import SqlReputationStore

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

    from ecco.services.bridge import A2ACaller, Attachment, BridgeSettings
    from ecco.transport.libp2p import Libp2pTransport

log = logging.getLogger("ecco.daemon")
SHUTDOWN_GRACE_S = 2.0
BOOTSTRAP_TIMEOUT_S = 10.0


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)


def _api_token(paths: NodePaths) -> str:
    """The bearer token for the TCP listener: created once, 0600, reused so clients keep working."""
    if paths.token_file.exists():
        token = paths.token_file.read_text().strip()
        if token:
            os.chmod(paths.token_file, 0o600)
            return token
    token = secrets.token_urlsafe(32)
    _write_private(paths.token_file, token + "\n")
    return token


class NodeLock:
    """The exclusive flock that makes a node's state single-writer; the kernel drops it if we die."""

    def __init__(self, paths: NodePaths) -> None:
        self._paths = paths
        self._fd: int | None = None

    def acquire(self) -> bool:
        """Take the lock; returns True when a previous daemon died without cleaning up (stale pid file)."""
        fd = os.open(self._paths.lock_file, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            pid = self._paths.read_pid()
            raise AlreadyExists(
                f"node {self._paths.name!r} is already running"
                + (f" (pid {pid})" if pid else "")
                + "; stop it with `ecco node stop --node "
                + self._paths.name
                + "`",
                Reason.NODE_ALREADY_RUNNING,
            ) from None
        self._fd = fd
        stale = self._paths.pid_file.exists()
        if stale:
            log.warning("previous daemon ended without a clean shutdown", extra={"pid": self._paths.read_pid()})
            for leftover in (self._paths.pid_file, self._paths.socket, self._paths.tcp_address_file):
                leftover.unlink(missing_ok=True)
        _write_private(self._paths.pid_file, f"{os.getpid()}\n")
        return stale

    def release(self) -> None:
        for leftover in (self._paths.socket, self._paths.tcp_address_file, self._paths.pid_file):
            leftover.unlink(missing_ok=True)
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def database_url(config: NodeConfig, paths: NodePaths) -> str:
    return config.db_url or sqlite_url(paths.database)


async def push_schema(url: str) -> MigrationResult:
    """`ecco db push`: apply pending migrations without starting a node."""
    engine = create_engine(url)
    try:
        return await migrate(engine)
    finally:
        await engine.dispose()


async def run_daemon(
    config: NodeConfig,
    paths: NodePaths,
    on_ready: Callable[[], Awaitable[None]] | None = None,
    stop: asyncio.Event | None = None,
) -> None:
    """Run the node until `stop` is set, SIGTERM/SIGINT arrives, or StopNode is called."""
    paths.ensure_dir()
    paths.check_socket_path()
    stop = stop or asyncio.Event()
    lock = NodeLock(paths)
    recovered = lock.acquire()
    async with contextlib.AsyncExitStack() as cleanup:
        cleanup.callback(lock.release)
        identity = load_or_create(paths.identity_key, os.environ.get(PASSWORD_ENV))
        engine = create_engine(database_url(config, paths))
        cleanup.push_async_callback(engine.dispose)
        if WriterLock.needed(engine):  # a server database: refuse a second node on it, for as long as we run
            writer_lock = WriterLock(engine)
            await writer_lock.acquire()
            cleanup.push_async_callback(writer_lock.release)
            _background(writer_lock.watch(stop.set), "database writer lock", cleanup)
        await migrate(engine)
        store = await open_event_store(engine)  # SQLite file: stdlib sqlite3 writer thread with group commit
        cleanup.push_async_callback(store.close)  # after the network stops, before the engine is disposed
        events = EventLog(store)
        await events.start()
        cleanup.callback(events.close)

        reputation = ReputationBook(SqlReputationStore(engine), now_ms)
        await reputation.load()
        from ecco.transport.keys import Ed25519Signer, Ed25519Verifier

        # One signer, verifier and responder (all stateless) for messaging, discovery, consensus and payments.
        signer, verifier = Ed25519Signer.from_identity(identity), Ed25519Verifier()
        responder = parse_responder(config.responder, a2a=_a2a_responder(config, cleanup))
        messenger, discovery, transport = await _start_network(
            config, identity, signer, verifier, responder, events, reputation, cleanup
        )
        consensus = _start_consensus(messenger, discovery, signer, responder, events, cleanup)
        payments, agreements, registry = _start_payments(
            config, identity, engine, events, messenger, reputation, signer, verifier, cleanup
        )
        bridge = BridgeMonitor(SqlBridgeStore(engine), events, identity.peer_id, config.name)

        from ecco.api.server import start_servers  # grpc is only needed once the node is ready to serve

        runtime = NodeRuntime(
            name=config.name,
            peer_id=identity.peer_id,
            network=config.network,
            pid=os.getpid(),
            version=__version__,
            state_dir=str(paths.dir),
            api_socket=str(paths.socket),
            start_time_ms=now_ms(),
            capabilities=config.capabilities,
            events=events,
            config_json=config.to_json(),
            config_sources=dict(config.sources),
            request_stop=stop.set,
            listen_addresses=transport.listen_addrs,
            connected_peers=lambda: _count_peers(transport),
            messenger=messenger,
            discovery=discovery,
            reputation=reputation,
            consensus=consensus,
            verifier=verifier,
            payments=payments,
            agreements=agreements,
            registry=registry,
            bridge=bridge,
        )
        token = _api_token(paths) if config.api_listen else None
        servers = await start_servers(runtime, paths.socket, config.api_listen, token)
        cleanup.push_async_callback(servers.stop, SHUTDOWN_GRACE_S)
        if servers.tcp_address:
            runtime.api_tcp_address = servers.tcp_address
            paths.tcp_address_file.write_text(servers.tcp_address + "\n")
        paths.config_file.write_text(tomli_w.dumps(config.masked()))

        if recovered:
            await events.record("node-recovered", {"peerId": identity.peer_id})
        await events.record("node-started", {"peerId": identity.peer_id, "pid": os.getpid(), "version": __version__})
        await servers.set_serving(True)
        log.info(
            "node started",
            extra={
                "node": config.name,
                "peer_id": identity.peer_id,
                "socket": str(paths.socket),
                "tcp": servers.tcp_address,
            },
        )
        if config.a2a_listen:
            await _start_a2a_server(config, messenger, discovery, cleanup)
        stop_bridge = _start_embedded_bridge(config, events, bridge, messenger)
        cleanup.push_async_callback(stop_bridge)
        if on_ready is not None:
            await on_ready()

        with _signals_set(stop):
            await stop.wait()
        log.info("node stopping", extra={"node": config.name})
        await servers.set_serving(False)
        await stop_bridge()
        events.close()
        await events.record("node-stopped", {"peerId": identity.peer_id})
    log.info("node stopped", extra={"node": config.name})


def _background(coro: Coroutine[Any, Any, None], name: str, cleanup: contextlib.AsyncExitStack) -> None:
    """Run `coro` for the daemon's life; cancelled at shutdown (before what was pushed earlier is cleaned up)."""
    task = asyncio.create_task(coro, name=name)

    async def cancel() -> None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    cleanup.push_async_callback(cancel)


async def _start_network(
    config: NodeConfig,
    identity: Identity,
    signer: Signer,
    verifier: Verifier,
    responder: Responder | None,
    events: EventLog,
    reputation: ReputationBook,
    cleanup: contextlib.AsyncExitStack,
) -> tuple[Messenger, Discovery, Libp2pTransport]:
    """Start libp2p and the messenger, then dial the bootstrap peers (each bounded; failures are logged)."""
    from ecco.transport.libp2p import Libp2pTransport

    transport = Libp2pTransport(
        identity,
        config.listen,
        network_id=NETWORK_IDS[config.network] if config.dht else None,
        mdns=config.mdns,
    )
    messages, refill = config.rate_limit
    budget, budget_refill = config.byte_rate_limit
    guard = InboundGuard(
        verifier,
        rate_tokens=messages,
        rate_refill_per_second=refill,
        byte_budget=budget,
        byte_refill_per_second=budget_refill,
    )
    # Ids received just before a restart are still within the freshness window: remember them, or a replay (or a
    # client's retry with the same request id) would be accepted twice.
    guard.remember(await events.recent_inbound(guard.replay_window_ms))
    messenger = Messenger(
        transport,
        signer,
        verifier,
        events,
        network=config.network,
        responder=responder,
        guard=guard,
        on_outcome=reputation.record,
    )
    # The messenger's handlers go in first: peers (mDNS-found, or dialling us) may connect while the host starts.
    messenger.start()
    await transport.start()
    cleanup.push_async_callback(transport.stop)
    cleanup.push_async_callback(messenger.stop)
    discovery = Discovery(
        transport,
        signer,
        verifier,
        messenger,
        config.capabilities,
        reputation.rank_score,
        reputation.scores,
        routing=transport if config.dht else None,
        events=events,
    )
    discovery.start()
    cleanup.push_async_callback(discovery.stop)
    results = await asyncio.gather(
        *(messenger.connect(addr, BOOTSTRAP_TIMEOUT_S) for addr in config.bootstrap), return_exceptions=True
    )
    for addr, result in zip(config.bootstrap, results, strict=True):
        if isinstance(result, BaseException):
            log.warning("bootstrap peer unreachable", extra={"addr": addr, "error": str(result)})
    return messenger, discovery, transport


def _start_consensus(
    messenger: Messenger,
    discovery: Discovery,
    signer: Signer,
    responder: Responder | None,
    events: EventLog,
    cleanup: contextlib.AsyncExitStack,
) -> Consensus:
    """Consensus over messaging and discovery; the node's own responder answers for include_self and synthesis.
    Stopped before the messenger, so running queries end before their requests are cut off."""
    consensus = Consensus(
        messenger, discovery, signer, events, responder, embeddings=PeerEmbeddings(messenger, discovery)
    )
    cleanup.push_async_callback(consensus.stop)
    return consensus


def _start_payments(
    config: NodeConfig,
    identity: Identity,
    engine: AsyncEngine,
    events: EventLog,
    messenger: Messenger,
    reputation: ReputationBook,
    signer: Signer,
    verifier: Verifier,
    cleanup: contextlib.AsyncExitStack,
) -> tuple[Payments, Agreements, Registry]:
    """Payments ride on the messenger: invoices and proofs in, expected invoices for every agent-request out.
    Settlements a crash left open are reconciled in the background (an RPC that is down must not stop the node)."""
    from ecco.chain.chains import EvmChains, load_account
    from ecco.services.payments import wire_payments

    key = config.wallet_key()
    chains = EvmChains(config.chains, load_account(key) if key else None)
    settings = PaymentSettings(frozenset(config.payment_tokens))
    pricing = parse_pricing(config.pricing) if config.pricing else {}
    store = SqlPaymentStore(engine)
    payments = Payments(
        store, chains, chains.wallet_address, signer, verifier, events, messenger.send, settings, now_ms
    )
    agreements = Agreements(payments, pricing)
    registry = Registry(chains, store, identity.peer_id, config.payment_chain_id, config.registries, now_ms)
    cleanup.push_async_callback(wire_payments(messenger, payments, agreements))
    chain_id = config.payment_chain_id
    identity_registry = config.registries.get(chain_id)
    reputation_registry = config.reputation_registries.get(chain_id)
    if config.configured_chain(chain_id) and identity_registry and reputation_registry:

        async def known_peers() -> list[str]:
            return [*reputation.scores(), *(known.peer_id for known, _ in await messenger.peers())]

        start_block, interval = config.feedback_sync
        feedback = FeedbackSync(
            chains,
            chain_id,
            identity_registry,
            reputation_registry,
            start_block,
            known_peers,
            reputation.set_feedback,
            interval,
        )
        feedback.start()
        cleanup.push_async_callback(feedback.stop)
    return payments, agreements, registry


def _a2a_responder(config: NodeConfig, cleanup: contextlib.AsyncExitStack) -> Callable[[str], Responder]:
    """`--responder a2a:<url>`: the A2A caller over aiohttp, closed with the node."""

    def build(url: str) -> Responder:
        from ecco.bridge.a2a import AiohttpJsonRpc
        from ecco.services.bridge import A2ACaller, A2AResponder

        rpc = AiohttpJsonRpc(url, config.a2a_responder_token)
        cleanup.push_async_callback(rpc.close)
        return A2AResponder(A2ACaller(rpc))

    return build


async def _start_a2a_server(
    config: NodeConfig, messenger: Messenger, discovery: Discovery, cleanup: contextlib.AsyncExitStack
) -> None:
    """`--a2a-listen`: the node as an A2A agent (requests by peer id, asks by capability)."""
    from ecco.bridge.a2a import A2AServer, AiohttpJsonRpc
    from ecco.services.bridge import A2AAgent, network_runner, reply_pusher

    push = None
    reply_url, reply_token = config.a2a_reply
    if reply_url:
        rpc = AiohttpJsonRpc(reply_url, reply_token)
        cleanup.push_async_callback(rpc.close)
        push = reply_pusher(rpc)
    agent = A2AAgent(config.name, config.capabilities, network_runner(messenger, discovery), push=push)
    server = A2AServer(agent, config.a2a_token)
    address = await server.start(config.a2a_listen)
    cleanup.push_async_callback(server.stop)
    log.info("A2A endpoint listening", extra={"address": address, "auth": bool(config.a2a_token)})


def _bridge_agent(settings: BridgeSettings, cleanup: contextlib.AsyncExitStack) -> A2ACaller | None:
    """An A2A-mode bridge's caller of OpenClaw's A2A endpoint (None in hook mode), closed with `cleanup`."""
    if settings.mode != A2A_MODE:
        return None
    from ecco.bridge.a2a import AiohttpJsonRpc
    from ecco.services.bridge import A2ACaller

    rpc = AiohttpJsonRpc(settings.base_url + settings.a2a_path, settings.token)
    cleanup.push_async_callback(rpc.close)
    return A2ACaller(rpc)


def _start_embedded_bridge(
    config: NodeConfig, events: EventLog, monitor: BridgeMonitor, messenger: Messenger
) -> Callable[[], Awaitable[None]]:
    """`ecco up --webhook-bridge`: the bridge's delivery loop as a task of this daemon, on the in-process link.
    Returns its stop function (idempotent; also ends open AttachBridge calls of a standalone bridge)."""
    task: asyncio.Task[None] | None = None
    clients = contextlib.AsyncExitStack()
    settings = config.webhook
    if settings is not None:
        from ecco.bridge.http import AiohttpHookClient
        from ecco.services.bridge import BridgeRunner, LocalLink, log_attempt

        client = AiohttpHookClient(settings.base_url)
        clients.push_async_callback(client.close)
        verbose = config.webhook_verbose
        runner = BridgeRunner(
            settings,
            LocalLink(events, monitor, messenger.send),
            client,
            agent=_bridge_agent(settings, clients),
            on_attempt=lambda attempt: log_attempt(attempt, verbose),
        )
        task = asyncio.create_task(runner.serve(), name="webhook-bridge")

    async def stop() -> None:
        monitor.close()
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await clients.aclose()

    return stop


async def run_standalone_bridge(
    settings: BridgeSettings,
    target: str,
    *,
    max_attempts: int,
    verbose: bool,
    on_attempt: Callable[[dict[str, object]], None],
    on_attached: Callable[[Attachment], None],
    stop: asyncio.Event,
) -> None:
    """`ecco webhook-bridge`: the bridge as a gRPC client of the node at `target`, until `stop` is set. Every
    attempt is logged; `on_attempt` gets the fields of each failed one (of every one when `verbose`)."""
    from ecco.bridge.grpc_link import GrpcLink
    from ecco.bridge.http import AiohttpHookClient
    from ecco.services.bridge import Attempt, BridgeRunner, Outcome, RetryPolicy, attempt_fields, log_attempt

    def attempted(attempt: Attempt) -> None:
        log_attempt(attempt, verbose)
        if verbose or attempt.outcome is not Outcome.DELIVERED:
            on_attempt(attempt_fields(attempt))

    link = GrpcLink(target)
    async with AiohttpHookClient(settings.base_url) as client, contextlib.AsyncExitStack() as clients:
        runner = BridgeRunner(
            settings,
            link,
            client,
            agent=_bridge_agent(settings, clients),
            policy=RetryPolicy(max_attempts=max_attempts),
            on_attempt=attempted,
            on_attached=on_attached,
        )
        serving = asyncio.create_task(runner.serve())
        stopping = asyncio.create_task(stop.wait())
        try:
            with _signals_set(stop):
                await asyncio.wait({serving, stopping}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (serving, stopping):
                task.cancel()
            await asyncio.gather(serving, stopping, return_exceptions=True)
            await link.close()
        if serving.done() and not serving.cancelled() and serving.exception() is not None:
            raise serving.exception()  # type: ignore[misc]


async def _count_peers(transport: Libp2pTransport) -> int:
    return len(await transport.peers())


@contextlib.contextmanager
def _signals_set(stop: asyncio.Event) -> Iterator[None]:
    """SIGTERM and SIGINT set `stop` (only possible from the main thread; tests run daemons elsewhere too)."""
    loop = asyncio.get_running_loop()
    installed = []
    for signum in (signal.SIGTERM, signal.SIGINT):
        try:
            loop.add_signal_handler(signum, stop.set)
            installed.append(signum)
        except (RuntimeError, ValueError):
            pass
    try:
        yield
    finally:
        for signum in installed:
            loop.remove_signal_handler(signum)
