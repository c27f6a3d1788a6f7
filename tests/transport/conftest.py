"""Fixtures for the transport tests: identities, real libp2p transports on 127.0.0.1 (stopped after each test) and
an inbox that collects frames. mDNS is never enabled; nothing listens beyond loopback."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from libp2p.crypto.ed25519 import create_new_key_pair
from libp2p.peer.id import ID

from ecco.identity import Identity
from ecco.transport.libp2p import Libp2pTransport

LOOPBACK = ("/ip4/127.0.0.1/tcp/0",)
WAIT = 5.0  # seconds any single expected event may take; never reached when things work


def new_identity() -> Identity:
    pair = create_new_key_pair()
    return Identity(pair, ID.from_pubkey(pair.public_key).to_base58())


class Inbox:
    """A frame handler that queues (peer_id, frame) pairs."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[tuple[str, bytes]] = asyncio.Queue()

    async def __call__(self, peer_id: str, frame: bytes) -> None:
        await self.queue.put((peer_id, frame))

    async def get(self, timeout: float = WAIT) -> tuple[str, bytes]:
        return await asyncio.wait_for(self.queue.get(), timeout)

    def empty(self) -> bool:
        return self.queue.empty()


class ConnectionEvents:
    """A connection handler that queues (peer_id, connected) pairs."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[tuple[str, bool]] = asyncio.Queue()

    async def __call__(self, peer_id: str, connected: bool) -> None:
        await self.queue.put((peer_id, connected))

    async def wait_for(self, peer_id: str, connected: bool, timeout: float = WAIT) -> None:
        async def scan() -> None:
            while await self.queue.get() != (peer_id, connected):
                pass

        await asyncio.wait_for(scan(), timeout)


Factory = Callable[..., Awaitable[Libp2pTransport]]


@pytest.fixture
async def make_transport() -> AsyncIterator[Factory]:
    """Start a Libp2pTransport (listening on 127.0.0.1 by default); every one is stopped at teardown."""
    started: list[Libp2pTransport] = []

    async def make(identity: Identity | None = None, listen: tuple[str, ...] = LOOPBACK, **options) -> Libp2pTransport:
        transport = Libp2pTransport(identity or new_identity(), listen, **options)
        await transport.start()
        started.append(transport)
        return transport

    yield make
    await asyncio.gather(*(t.stop() for t in started), return_exceptions=True)
