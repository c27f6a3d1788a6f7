"""The event log service: append, replay-then-live subscriptions, pages, consumer cursors.

Every event is committed to the store before `append` returns, and only then published to live subscribers, in
cursor order (concurrent appends reach the store together, so a group-committing store can batch them);
a subscriber registers for live events *before* its final replay read and drops anything at or below the
cursor it already delivered, so the hand-over from replay to live can neither lose nor repeat an event.
Batches and pages are capped by payload bytes as well as by count (ecco.limits.REPLY_MAX_BYTES), so a few large
events from a peer can never make a reply too big for a client to read.
"""

from __future__ import annotations

import asyncio
import base64
import collections
import contextlib
import json
import re
import time
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from ecco.errors import InvalidArgument, Reason, Unavailable
from ecco.limits import MAX_FRAME_BYTES, REPLY_MAX_BYTES
from ecco.services.events.types import validate_types
from ecco.services.ports import ConsumerCursor, Direction, EventRecord, EventStore, NewEvent

REPLAY_BATCH = 500
LIVE_BATCH = 500
LIVE_QUEUE_LIMIT = 10_000
DEFAULT_HEARTBEAT_MS = 15_000
MIN_HEARTBEAT_MS = 50
DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000
CONSUMER_PATTERN = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
RECENT_SCAN_EVENTS = 50_000  # how far back `recent_inbound` looks at most (bounds the work at start-up)
EVENT_OVERHEAD_BYTES = 512  # an event's fields besides its payload (ids, type, peer id, time), generously


def now_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass(frozen=True)
class Heartbeat:
    head_cursor: int
    time_ms: int


@dataclass(frozen=True)
class Page:
    events: list[EventRecord]
    next_page_token: str
    head_cursor: int


def validate_cursor(cursor: int, field: str = "cursor") -> int:
    if cursor < 0:
        raise InvalidArgument(
            f"{field} must be 0 or a positive event cursor, got {cursor}", Reason.INVALID_CURSOR, field=field
        )
    return cursor


def validate_consumer(consumer: str) -> str:
    if not CONSUMER_PATTERN.match(consumer):
        raise InvalidArgument(
            f"consumer name {consumer!r} must be 1-64 characters of letters, digits, '.', '_' or '-'",
            Reason.INVALID_CONSUMER,
            field="consumer",
        )
    return consumer


class _LiveSubscriber:
    """A bounded queue of live events for one subscription; overflow makes it fall back to replay."""

    def __init__(self, types: frozenset[str]) -> None:
        self.types = types
        # None is the shutdown sentinel.
        self.queue: asyncio.Queue[EventRecord | None] = asyncio.Queue(LIVE_QUEUE_LIMIT)
        self.overflowed = False
        self.closed = False

    def offer(self, record: EventRecord) -> None:
        if self.types and record.type not in self.types:
            return
        try:
            self.queue.put_nowait(record)
        except asyncio.QueueFull:
            self.overflowed = True

    def close(self) -> None:
        self.closed = True
        with contextlib.suppress(asyncio.QueueFull):
            self.queue.put_nowait(None)


# An append on its way: the store call (a task, so that it completes even if its caller is cancelled), and the
# future its caller waits on, resolved once the events are published.
_InFlight = tuple[asyncio.Task[list[EventRecord]], asyncio.Future[list[EventRecord]]]


class EventLog:
    def __init__(self, store: EventStore) -> None:
        self._store = store
        self._live: set[_LiveSubscriber] = set()
        self._head = 0
        # Appends handed to the store and not yet published, in call order (= cursor order, see append_many).
        self._in_flight: collections.deque[_InFlight] = collections.deque()
        self._closed = False

    async def start(self) -> None:
        self._head = await self._store.head()

    def close(self) -> None:
        """End every live subscription with SHUTTING_DOWN; clients resume from their cursor elsewhere/later."""
        self._closed = True
        for subscriber in self._live:
            subscriber.close()

    @property
    def head_cursor(self) -> int:
        return self._head

    async def append(self, event: NewEvent) -> EventRecord:
        """Durably record one event, then hand it to live subscribers."""
        return (await self.append_many([event]))[0]

    async def append_many(self, new: Sequence[NewEvent]) -> list[EventRecord]:
        """Durably record the events (one transaction), then hand them to live subscribers; returns after both.

        Appends are not serialised here: each goes to the store at once, so a store with group commit can put
        appends made while it is committing into its next transaction. The store keeps cursors in call order
        (EventStore.append), and publishing follows the same order whatever order the commits are reported in:
        an append is published only after every earlier one, so live subscribers see cursors strictly increase.
        Publishing does not depend on the caller: a cancelled caller's events, once committed, are still published.
        """
        for event in new:
            _check_payload_size(event.payload_json)
        # The task's first step queues the write in the store, and tasks take their first step in creation order.
        stored = asyncio.ensure_future(self._store.append(new, now_ms()))
        published: asyncio.Future[list[EventRecord]] = asyncio.get_running_loop().create_future()
        self._in_flight.append((stored, published))
        stored.add_done_callback(self._publish_ready)
        return await published

    def _publish_ready(self, _done: object) -> None:
        """Publish, in call order, every append at the front of the queue whose commit has finished."""
        in_flight = self._in_flight
        while in_flight and in_flight[0][0].done():
            stored, published = in_flight.popleft()
            error = asyncio.CancelledError() if stored.cancelled() else stored.exception()
            if error is not None:
                if not published.done():
                    published.set_exception(error)
                continue
            records = stored.result()
            for record in records:
                self._head = record.cursor
                for subscriber in self._live:
                    subscriber.offer(record)
            if not published.done():
                published.set_result(records)

    async def recent_inbound(self, window_ms: int) -> list[tuple[str, str]]:
        """(peer_id, message_id) of the inbound messages stored in the last `window_ms`, oldest first: a restarted
        node seeds its duplicate filter with them, so a message replayed across the restart is still dropped."""
        return await self._store.recent_inbound(now_ms() - window_ms, RECENT_SCAN_EVENTS)

    async def record(
        self,
        type: str,
        payload: dict[str, Any] | None = None,
        *,
        direction: Direction = Direction.LOCAL,
        peer_id: str = "",
        message_id: str = "",
        request_id: str = "",
    ) -> EventRecord:
        """Convenience for components that log a node event with a JSON payload."""
        payload_json = json.dumps(payload or {}, separators=(",", ":"), sort_keys=True)
        return await self.append(NewEvent(type, direction, peer_id, message_id, request_id, payload_json))

    async def _start_cursor(self, cursor: int, consumer: str, from_tail: bool) -> int:
        validate_cursor(cursor)
        if from_tail:
            cursor = max(cursor, self._head)
        if consumer:
            cursor = max(cursor, (await self._store.get_consumer_cursor(validate_consumer(consumer))).cursor)
        return cursor

    async def _replay(self, cursor: int, types: frozenset[str]) -> AsyncIterator[list[EventRecord]]:
        while True:
            batch = await self._store.read_after(cursor, types, REPLAY_BATCH)
            if batch:
                yield batch
                cursor = batch[-1].cursor
            if len(batch) < REPLAY_BATCH:
                return

    async def subscribe(
        self,
        cursor: int = 0,
        types: Iterable[str] = (),
        *,
        follow: bool = False,
        consumer: str = "",
        from_tail: bool = False,
        heartbeat_ms: int = 0,
    ) -> AsyncIterator[list[EventRecord] | Heartbeat]:
        """Yield batches of events after the cursor, then (with follow) live batches and heartbeats; no batch
        holds more than REPLY_MAX_BYTES of events unless it is a single event."""
        stream = self._subscribe(
            cursor, types, follow=follow, consumer=consumer, from_tail=from_tail, heartbeat_ms=heartbeat_ms
        )
        async with contextlib.aclosing(stream):
            async for item in stream:
                if isinstance(item, Heartbeat):
                    yield item
                    continue
                for part in byte_capped(item):
                    yield part

    async def _subscribe(
        self,
        cursor: int,
        types: Iterable[str],
        *,
        follow: bool,
        consumer: str,
        from_tail: bool,
        heartbeat_ms: int,
    ) -> AsyncIterator[list[EventRecord] | Heartbeat]:
        wanted = validate_types(types)
        if heartbeat_ms and heartbeat_ms < MIN_HEARTBEAT_MS:
            raise InvalidArgument(
                f"heartbeat interval must be at least {MIN_HEARTBEAT_MS} ms, got {heartbeat_ms}",
                Reason.INVALID_ARGUMENT,
                field="heartbeat_interval_ms",
            )
        interval = (heartbeat_ms or DEFAULT_HEARTBEAT_MS) / 1000
        cursor = await self._start_cursor(cursor, consumer, from_tail)
        live = _LiveSubscriber(wanted)
        if follow:
            if self._closed:
                raise _shutting_down()
            self._live.add(live)
        try:
            async for batch in self._replay(cursor, wanted):
                yield batch
                cursor = batch[-1].cursor
            while follow:
                batch = await self._next_live(live, interval)
                if live.closed:
                    raise _shutting_down()
                if batch is None:
                    yield Heartbeat(self._head, now_ms())
                    continue
                if live.overflowed:
                    live.overflowed = False
                    async for replayed in self._replay(cursor, wanted):
                        yield replayed
                        cursor = replayed[-1].cursor
                    continue
                fresh = [record for record in batch if record.cursor > cursor]
                if fresh:
                    yield fresh
                    cursor = fresh[-1].cursor
        finally:
            self._live.discard(live)

    async def _next_live(self, live: _LiveSubscriber, interval: float) -> list[EventRecord] | None:
        """The queued live events, waiting up to `interval`; None on timeout (time for a heartbeat)."""
        if live.queue.empty() and not live.overflowed:
            try:
                first = await asyncio.wait_for(live.queue.get(), interval)
            except TimeoutError:
                return None
            batch: list[EventRecord | None] = [first]
        else:
            batch = []
        while len(batch) < LIVE_BATCH and not live.queue.empty():
            batch.append(live.queue.get_nowait())
        if live.overflowed:
            while not live.queue.empty():
                live.queue.get_nowait()
        return [record for record in batch if record is not None]

    async def list_page(self, cursor: int, types: Iterable[str], page_size: int, page_token: str) -> Page:
        wanted = validate_types(types)
        validate_cursor(cursor)
        if page_size < 0:
            raise InvalidArgument(
                f"page_size must not be negative, got {page_size}", Reason.INVALID_ARGUMENT, field="page_size"
            )
        size = min(page_size or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
        if page_token:
            cursor = _decode_page_token(page_token, cursor, wanted)
        events = await self._store.read_after(cursor, wanted, size + 1)
        capped = next(byte_capped(events[:size]), [])
        more = len(events) > len(capped)
        events = capped
        token = _encode_page_token(events[-1].cursor, wanted) if more else ""
        return Page(events, token, self._head)

    async def get_consumer_cursor(self, consumer: str) -> ConsumerCursor:
        return await self._store.get_consumer_cursor(validate_consumer(consumer))

    async def commit_consumer_cursor(self, consumer: str, cursor: int) -> ConsumerCursor:
        validate_cursor(cursor)
        if cursor > self._head:
            raise InvalidArgument(
                f"cursor {cursor} is beyond the newest event ({self._head})",
                Reason.INVALID_CURSOR,
                field="cursor",
            )
        return await self._store.commit_consumer_cursor(validate_consumer(consumer), cursor, now_ms())


def _check_payload_size(payload_json: str) -> None:
    """No event is larger than a frame (what peers can send), so every client can read every event (ecco.limits);
    this refuses the only other source, a local client's message to its own node."""
    if len(payload_json) * 4 > MAX_FRAME_BYTES and len(payload_json.encode("utf-8")) > MAX_FRAME_BYTES:
        raise InvalidArgument(
            f"the payload exceeds the {MAX_FRAME_BYTES}-byte limit of a message", Reason.MESSAGE_TOO_LARGE
        )


def event_bytes(record: EventRecord) -> int:
    """What an event weighs in a reply: its payload's UTF-8 bytes plus a generous allowance for its other fields."""
    return len(record.payload_json.encode("utf-8")) + EVENT_OVERHEAD_BYTES


def byte_capped(batch: Sequence[EventRecord], limit: int = REPLY_MAX_BYTES) -> Iterator[list[EventRecord]]:
    """Split a batch, in order, into runs of at most `limit` bytes (see event_bytes); a larger event runs alone."""
    run: list[EventRecord] = []
    size = 0
    for record in batch:
        weight = event_bytes(record)
        if run and size + weight > limit:
            yield run
            run, size = [], 0
        run.append(record)
        size += weight
    if run:
        yield run


def _shutting_down() -> Unavailable:
    return Unavailable("the node is shutting down; resume from your last cursor once it is back", Reason.SHUTTING_DOWN)


def _encode_page_token(cursor: int, types: frozenset[str]) -> str:
    raw = json.dumps({"c": cursor, "t": sorted(types)}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_page_token(token: str, cursor: int, types: frozenset[str]) -> int:
    try:
        raw = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except ValueError:
        raw = None
    after = raw.get("c") if isinstance(raw, dict) else None
    listed = raw.get("t") if isinstance(raw, dict) else None
    if type(after) is not int or not 0 <= after < 2**63 or not isinstance(listed, list):
        raise InvalidArgument("page_token is malformed", Reason.INVALID_PAGE_TOKEN, field="page_token")
    if listed != sorted(types) or after < cursor:
        raise InvalidArgument("page_token belongs to a different query", Reason.INVALID_PAGE_TOKEN, field="page_token")
    return after
