"""libp2p failures turned into `ecco.errors`, on the trio side (shared by dialing, direct messages and gossip).

Every libp2p failure becomes an `ecco.errors` exception before it leaves the trio thread, without exposing its
text; best-effort closes and resets are bounded and never raise.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import trio
from libp2p.exceptions import BaseLibp2pError

from ecco.errors import DeadlineExceeded, EccoError, Reason, Unavailable

log = logging.getLogger(__name__)

CLOSE_TIMEOUT = 2.0


class StaleStream(Exception):
    """Writing on a reused long-lived direct stream failed; the frame may be sent again on a new stream."""


NETWORK_ERRORS: tuple[type[BaseException], ...] = (
    StaleStream,
    BaseLibp2pError,
    OSError,
    EOFError,
    trio.BrokenResourceError,
    trio.ClosedResourceError,
)


def unreachable(action: str, peer: str) -> Unavailable:
    return Unavailable(f"{action} peer {peer} failed: the peer is unreachable", Reason.PEER_UNREACHABLE)


def is_network_error(exc: BaseException) -> bool:
    if isinstance(exc, BaseExceptionGroup):
        return all(is_network_error(e) for e in exc.exceptions)
    return isinstance(exc, NETWORK_ERRORS)


@contextlib.contextmanager
def mapped(action: str, peer: object, *, subject: str = "peer") -> Iterator[None]:
    """Turn libp2p/network failures and our trio deadlines into ecco errors (never exposing exception text).
    `subject` names what `peer` is in messages: a peer, or a pubsub topic."""
    try:
        yield
    except EccoError:
        raise
    except trio.TooSlowError:
        raise DeadlineExceeded(f"{action} {subject} {peer} timed out", Reason.REQUEST_TIMEOUT) from None
    except Exception as exc:
        if not is_network_error(exc):
            raise
        log.debug("%s %s %s failed: %r", action, subject, peer, exc)
        if subject == "peer":
            raise unreachable(action, str(peer)) from None
        raise Unavailable(f"{action} {subject} {peer} failed", Reason.PEER_UNREACHABLE) from None


async def quietly(what: str, coro_fn: Callable[..., Awaitable[Any]], *args: Any) -> None:
    """Best-effort close/reset: bounded, shielded from cancellation, never raises."""
    with trio.CancelScope(shield=True), trio.move_on_after(CLOSE_TIMEOUT):
        try:
            await coro_fn(*args)
        except Exception as exc:
            log.debug("%s failed: %r", what, exc)
