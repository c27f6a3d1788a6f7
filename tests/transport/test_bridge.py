"""The asyncio <-> trio bridge alone (a trivial lifetime, no libp2p): results, errors, cancellation both ways."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
import trio

from ecco.errors import DeadlineExceeded, Internal, NotFound, Reason, Unavailable
from ecco.transport.trio_bridge import Libp2pThread

WAIT = 5.0


@asynccontextmanager
async def nothing() -> AsyncIterator[None]:
    yield


@pytest.fixture
async def bridge() -> AsyncIterator[Libp2pThread]:
    thread = Libp2pThread(name="test-bridge")
    await thread.start(nothing)
    yield thread
    await thread.stop()


async def test_results_and_errors_cross(bridge: Libp2pThread) -> None:
    async def add(a: int, b: int) -> tuple[int, str]:
        await trio.sleep(0)
        return a + b, threading.current_thread().name

    assert await bridge.call(add, 2, 3) == (5, "test-bridge")

    async def not_found() -> None:
        raise NotFound("gone", Reason.PEER_NOT_FOUND)

    with pytest.raises(NotFound):
        await bridge.call(not_found)

    async def foreign() -> None:
        raise KeyError("libp2p internals")

    async def grouped() -> None:  # e.g. raised inside a nursery
        raise ExceptionGroup("nursery", [NotFound("wrapped", Reason.PEER_NOT_FOUND)])

    with pytest.raises(NotFound, match="wrapped"):
        await bridge.call(grouped)

    with pytest.raises(Internal) as info:  # foreign exceptions never reach asyncio code
        await bridge.call(foreign)
    assert "libp2p internals" not in str(info.value)


async def test_cancelling_the_asyncio_side_cancels_the_trio_task(bridge: Libp2pThread) -> None:
    entered, cancelled = threading.Event(), threading.Event()

    async def forever() -> None:
        entered.set()
        try:
            await trio.sleep_forever()
        except trio.Cancelled:
            cancelled.set()
            raise

    with pytest.raises(TimeoutError):
        await asyncio.wait_for(bridge.submit(forever), 0.2)
    assert entered.is_set()
    assert await asyncio.to_thread(cancelled.wait, WAIT)


async def test_the_asyncio_deadline_is_a_safety_net(bridge: Libp2pThread) -> None:
    async def forever() -> None:
        await trio.sleep_forever()

    with pytest.raises(DeadlineExceeded):
        await bridge.call(forever, timeout=0.1)


async def test_trio_can_await_asyncio_and_cancel_it(bridge: Libp2pThread) -> None:
    loop_thread = threading.current_thread().name

    async def on_asyncio(x: int) -> tuple[int, str]:
        await asyncio.sleep(0)
        return x * 2, threading.current_thread().name

    async def from_trio() -> tuple[int, str]:
        return await bridge.to_asyncio(on_asyncio, 21)

    assert await bridge.call(from_trio) == (42, loop_thread)

    cancelled = asyncio.Event()

    async def slow() -> None:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    async def gives_up() -> str:
        with trio.move_on_after(0.1):
            await bridge.to_asyncio(slow)
        return "gave up"

    assert await bridge.call(gives_up) == "gave up"
    await asyncio.wait_for(cancelled.wait(), WAIT)


async def test_stop_fails_pending_calls_and_refuses_new_ones() -> None:
    bridge = Libp2pThread(name="test-bridge-stop")
    await bridge.start(nothing)
    started = threading.Event()

    async def forever() -> None:
        started.set()
        await trio.sleep_forever()

    pending = bridge.submit(forever)
    await asyncio.wait_for(asyncio.to_thread(started.wait, WAIT), WAIT)
    await bridge.stop()
    with pytest.raises(Unavailable) as info:
        await asyncio.wait_for(pending, WAIT)
    assert info.value.reason == Reason.SHUTTING_DOWN
    with pytest.raises(Unavailable):
        bridge.submit(forever)
    assert not bridge.running


async def test_a_failing_lifetime_fails_start() -> None:
    @asynccontextmanager
    async def broken() -> AsyncIterator[None]:
        raise Unavailable("cannot listen", Reason.NODE_START_FAILED)
        yield  # pragma: no cover

    bridge = Libp2pThread(name="test-bridge-broken")
    with pytest.raises(Unavailable, match="cannot listen"):
        await bridge.start(broken)
    assert not bridge.running
