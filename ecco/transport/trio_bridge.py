"""The one place where asyncio and trio meet (libp2p-notes §3).

py-libp2p is trio-only, the daemon is asyncio. `Libp2pThread` runs a trio loop in a dedicated thread and offers:

- `submit(fn, *args)` (asyncio -> trio): runs `await fn(*args)` as a task in the trio loop and returns an asyncio future
  for its result. Cancelling the future cancels the trio task; a trio task cancelled by shutdown fails the future
  with `Unavailable(SHUTTING_DOWN)`.
- `to_asyncio(fn, *args)` (trio -> asyncio, called from trio code): runs `await fn(*args)` on the asyncio loop without
  blocking the trio thread. Cancelling the trio side cancels the asyncio task.

Rules kept here (§3.2): libp2p objects never cross (the bridge only moves results and exceptions of plain Python
types); no thread ever blocks waiting for the other loop; an exception that is not an `EccoError` is logged and
replaced by `Internal` before it reaches asyncio code, so libp2p exception types never leak.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager, suppress
from typing import Any, TypeVar

import trio

from ecco.errors import DeadlineExceeded, EccoError, Internal, Reason, Unavailable

log = logging.getLogger(__name__)

T = TypeVar("T")

# The trio-side lifetime of whatever the thread serves (the libp2p host): entered once the loop runs, exited on stop.
Lifetime = Callable[[], AbstractAsyncContextManager[Any]]


def _ecco_error(exc: BaseException) -> EccoError | None:
    """The EccoError behind `exc`, also when trio nurseries wrapped it in exception groups."""
    if isinstance(exc, EccoError):
        return exc
    if isinstance(exc, BaseExceptionGroup):
        for inner in exc.exceptions:
            found = _ecco_error(inner)
            if found is not None:
                return found
    return None


def _stopped() -> Unavailable:
    return Unavailable("the peer-to-peer transport is not running", Reason.SHUTTING_DOWN)


class _Call:
    """Cancellation state shared by the two threads for one submitted task."""

    __slots__ = ("cancelled", "lock", "scope")

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.scope: trio.CancelScope | None = None
        self.cancelled = False


class Libp2pThread:
    """A private trio loop in its own thread, serving one `Lifetime` until `stop()`."""

    def __init__(self, name: str = "libp2p") -> None:
        self._name = name
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._token: trio.lowlevel.TrioToken | None = None
        self._nursery: trio.Nursery | None = None
        self._quit: trio.Event | None = None
        self._accepting = False
        self._finished: asyncio.Future[None] | None = None

    @property
    def running(self) -> bool:
        return self._accepting

    # ---- lifecycle (asyncio side) ----

    async def start(self, lifetime: Lifetime, timeout: float = 10.0) -> None:
        """Start the thread and enter `lifetime()` inside trio; return once it is entered.

        A failure while entering is re-raised here (after the thread has ended)."""
        if self._thread is not None:
            raise RuntimeError("Libp2pThread.start() called twice")
        loop = asyncio.get_running_loop()
        self._loop = loop
        up: asyncio.Future[None] = loop.create_future()
        self._finished = loop.create_future()
        self._thread = threading.Thread(target=self._thread_main, args=(lifetime, up), name=self._name, daemon=True)
        self._thread.start()
        try:
            await asyncio.wait_for(asyncio.shield(up), timeout)
        except TimeoutError:
            await self.stop(timeout)
            raise Unavailable("the peer-to-peer transport did not start in time", Reason.NODE_START_FAILED) from None
        except BaseException:
            await self._wait_finished(timeout)
            raise
        self._accepting = True

    async def stop(self, timeout: float = 10.0) -> None:
        """Leave the lifetime (cancelling every task still running in trio) and join the thread."""
        self._accepting = False
        if self._thread is None:
            return
        token, quit_ = self._token, self._quit
        if token is not None and quit_ is not None:
            with suppress(trio.RunFinishedError):
                token.run_sync_soon(quit_.set)
        await self._wait_finished(timeout)

    async def _wait_finished(self, timeout: float) -> None:
        assert self._finished is not None and self._thread is not None
        try:
            await asyncio.wait_for(asyncio.shield(self._finished), timeout)
        except TimeoutError:
            log.error("the %s thread did not stop within %.1f s", self._name, timeout)
            return
        self._thread.join(1.0)

    # ---- the trio thread ----

    def _thread_main(self, lifetime: Lifetime, up: asyncio.Future[None]) -> None:
        try:
            trio.run(self._serve, lifetime, up)
        except BaseException as exc:
            failure = _ecco_error(exc) or self._internal(exc, "the libp2p thread failed")
            self._post(self._settle, up, None, failure)
        finally:
            self._token = None
            self._accepting = False
            assert self._finished is not None
            self._post(self._settle, self._finished, None, None)

    async def _serve(self, lifetime: Lifetime, up: asyncio.Future[None]) -> None:
        self._token = trio.lowlevel.current_trio_token()
        self._quit = trio.Event()
        async with lifetime(), trio.open_nursery() as nursery:
            self._nursery = nursery
            self._post(self._settle, up, None, None)
            await self._quit.wait()
            # Cancel submitted tasks before the lifetime (the host) closes underneath them.
            nursery.cancel_scope.cancel()
        self._nursery = None

    # ---- asyncio -> trio ----

    def submit(self, fn: Callable[..., Awaitable[T]], *args: Any) -> asyncio.Future[T]:
        """Run `await fn(*args)` in the trio loop. Await the returned future; cancelling it cancels the trio task."""
        loop = self._loop
        if loop is None or not self._accepting or self._token is None:
            raise _stopped()
        future: asyncio.Future[T] = loop.create_future()
        call = _Call()
        future.add_done_callback(lambda f: self._cancel_from_asyncio(call) if f.cancelled() else None)
        try:
            self._token.run_sync_soon(self._spawn, call, future, fn, args)
        except trio.RunFinishedError:
            future.cancel()
            raise _stopped() from None
        return future

    async def call(self, fn: Callable[..., Awaitable[T]], *args: Any, timeout: float | None = None) -> T:
        """`await submit(fn, *args)`, with an asyncio-side deadline as a safety net for a wedged trio loop."""
        future = self.submit(fn, *args)
        if timeout is None:
            return await future
        try:
            return await asyncio.wait_for(future, timeout)
        except TimeoutError:
            raise DeadlineExceeded(
                "the peer-to-peer transport did not answer in time", Reason.REQUEST_TIMEOUT
            ) from None

    def _cancel_from_asyncio(self, call: _Call) -> None:
        with call.lock:
            call.cancelled = True
            scope = call.scope
        if scope is not None and self._token is not None:
            with suppress(trio.RunFinishedError):
                self._token.run_sync_soon(scope.cancel)

    def _spawn(self, call: _Call, future: asyncio.Future[Any], fn: Callable[..., Awaitable[Any]], args: tuple) -> None:
        # Runs inside trio via run_sync_soon: it must never raise.
        nursery = self._nursery
        if nursery is None or (self._quit is not None and self._quit.is_set()):
            self._post(self._settle, future, None, _stopped())
            return
        try:
            nursery.start_soon(self._run_call, call, future, fn, args)
        except RuntimeError:  # the nursery is closing
            self._post(self._settle, future, None, _stopped())

    async def _run_call(
        self, call: _Call, future: asyncio.Future[Any], fn: Callable[..., Awaitable[Any]], args: tuple
    ) -> None:
        with trio.CancelScope() as scope:
            with call.lock:
                call.scope = scope
                if call.cancelled:
                    scope.cancel()
            try:
                result = await fn(*args)
            except trio.Cancelled:
                # Either asyncio cancelled (the future is already done) or the thread is stopping.
                self._post(self._settle, future, None, _stopped())
                raise
            except Exception as exc:
                failure = _ecco_error(exc) or self._internal(exc, "peer-to-peer transport failure")
                self._post(self._settle, future, None, failure)
                return
            self._post(self._settle, future, result, None)
            return
        # The scope swallowed a cancellation requested by asyncio: the future is cancelled already.
        self._post(self._settle, future, None, asyncio.CancelledError())

    # ---- trio -> asyncio ----

    async def to_asyncio(self, fn: Callable[..., Awaitable[T]], *args: Any) -> T:
        """From trio code: run `await fn(*args)` on the asyncio loop and wait for it without blocking the thread."""
        loop, token = self._loop, self._token
        if loop is None or token is None:
            raise _stopped()
        coro = self._as_coroutine(fn, args)
        try:
            cf = asyncio.run_coroutine_threadsafe(coro, loop)
        except RuntimeError:  # the asyncio loop is closed
            coro.close()
            raise _stopped() from None
        done = trio.Event()

        def wake(_: concurrent.futures.Future[T]) -> None:
            with suppress(trio.RunFinishedError):
                token.run_sync_soon(done.set)

        cf.add_done_callback(wake)
        try:
            await done.wait()
        except trio.Cancelled:
            cf.cancel()
            raise
        try:
            return cf.result()
        except concurrent.futures.CancelledError:
            raise _stopped() from None

    @staticmethod
    async def _as_coroutine(fn: Callable[..., Awaitable[T]], args: tuple) -> T:
        return await fn(*args)

    # ---- helpers ----

    def _post(self, callback: Callable[..., None], *args: Any) -> None:
        loop = self._loop
        if loop is None:
            return
        with suppress(RuntimeError):  # the asyncio loop is closed; nobody is waiting any more
            loop.call_soon_threadsafe(callback, *args)

    @staticmethod
    def _settle(future: asyncio.Future[Any], result: Any, exc: BaseException | None) -> None:
        if future.done():
            return
        if isinstance(exc, asyncio.CancelledError):
            future.cancel()
        elif exc is not None:
            future.set_exception(exc)
        else:
            future.set_result(result)

    @staticmethod
    def _internal(exc: BaseException, message: str) -> Internal:
        log.error("%s: %r", message, exc, exc_info=exc)
        return Internal(message)
