"""The event log service over an in-memory store: replay-then-live, filters, heartbeats, overflow, pages,
consumer cursors and shutdown."""

from __future__ import annotations

import asyncio
import base64
import contextlib
from collections.abc import AsyncIterator

import pytest

from ecco.errors import InvalidArgument, Reason, Unavailable
from ecco.services.events import log as events_module
from ecco.services.events.log import EventLog, Heartbeat
from ecco.services.ports import EventRecord, NewEvent

TIMEOUT = 5.0


async def new_log(store) -> EventLog:
    log = EventLog(store)
    await log.start()
    return log


async def append_n(log: EventLog, n: int, type_: str = "ping") -> list[EventRecord]:
    return await log.append_many([NewEvent(type_, payload_json=f'{{"i":{i}}}') for i in range(n)])


async def collect_until(
    stream: AsyncIterator[list[EventRecord] | Heartbeat], last_cursor: int, batches: list | None = None
) -> list[int]:
    """Cursors delivered by `stream` until one >= last_cursor arrives (heartbeats ignored), within TIMEOUT."""
    cursors: list[int] = []
    async with asyncio.timeout(TIMEOUT):
        async for item in stream:
            if isinstance(item, Heartbeat):
                continue
            if batches is not None:
                batches.append(item)
            cursors.extend(r.cursor for r in item)
            if cursors and cursors[-1] >= last_cursor:
                break
    return cursors


async def first_item(stream: AsyncIterator) -> object:
    async with asyncio.timeout(TIMEOUT):
        return await anext(stream)


async def test_append_assigns_increasing_cursors_and_moves_the_head(fake_store) -> None:
    log = await new_log(fake_store)
    assert log.head_cursor == 0
    records = await append_n(log, 3)
    assert [r.cursor for r in records] == [1, 2, 3]
    assert log.head_cursor == 3
    recorded = await log.record("peer-connected", {"b": 1, "a": 2}, peer_id="12D3KooWx")
    assert recorded.cursor == 4
    assert recorded.payload_json == '{"a":2,"b":1}'
    assert recorded.peer_id == "12D3KooWx"


async def test_start_picks_up_the_existing_head(fake_store) -> None:
    await append_n(await new_log(fake_store), 4)
    assert (await new_log(fake_store)).head_cursor == 4


async def test_replay_without_follow_ends_after_the_log(fake_store) -> None:
    log = await new_log(fake_store)
    await append_n(log, 5)
    cursors = []
    async with asyncio.timeout(TIMEOUT):
        async for batch in log.subscribe(2):
            cursors.extend(r.cursor for r in batch)
    assert cursors == [3, 4, 5]


async def test_replay_crosses_batch_boundaries(fake_store, monkeypatch) -> None:
    monkeypatch.setattr(events_module, "REPLAY_BATCH", 4)
    log = await new_log(fake_store)
    await append_n(log, 10)
    cursors = []
    async with asyncio.timeout(TIMEOUT):
        async for batch in log.subscribe(0):
            assert len(batch) <= 4
            cursors.extend(r.cursor for r in batch)
    assert cursors == list(range(1, 11))


async def test_replay_then_live_across_a_racing_hand_over(fake_store) -> None:
    """Events appended while the replay read runs (before and after its snapshot) arrive exactly once."""
    log = await new_log(fake_store)
    await append_n(log, 3)

    async def before(cursor: int) -> None:
        fake_store.before_read = None
        await append_n(log, 2)  # in the replay snapshot *and* in the live queue

    async def after(cursor: int) -> None:
        fake_store.after_read = None
        await append_n(log, 2)  # committed after the snapshot: only the live queue has them

    fake_store.before_read, fake_store.after_read = before, after
    stream = log.subscribe(0, follow=True)
    async with contextlib.aclosing(stream):
        replayed = await first_item(stream)
        assert [r.cursor for r in replayed] == [1, 2, 3, 4, 5]
        await append_n(log, 2)
        assert await collect_until(stream, 9) == [6, 7, 8, 9]


async def test_replay_then_live_with_concurrent_appends(fake_store, monkeypatch) -> None:
    monkeypatch.setattr(events_module, "REPLAY_BATCH", 7)
    log = await new_log(fake_store)
    await append_n(log, 30)
    total = 30 + 200

    async def writer() -> None:
        for _ in range(100):
            await append_n(log, 2)

    stream = log.subscribe(0, follow=True, heartbeat_ms=1000)
    async with contextlib.aclosing(stream):
        task = asyncio.create_task(writer())
        try:
            cursors = await collect_until(stream, total)
        finally:
            await task
    assert cursors == list(range(1, total + 1))


async def test_type_filter_applies_to_replay_and_live(fake_store) -> None:
    log = await new_log(fake_store)
    await log.record("agent-request")
    await log.record("ping")
    await log.record("agent-request")
    stream = log.subscribe(0, ["agent-request", " "], follow=True)
    async with contextlib.aclosing(stream):
        replayed = await first_item(stream)
        assert [(r.cursor, r.type) for r in replayed] == [(1, "agent-request"), (3, "agent-request")]
        await log.record("ping")
        await log.record("pong")
        await log.record("agent-request")
        live = await first_item(stream)
        assert [(r.cursor, r.type) for r in live] == [(6, "agent-request")]


async def test_unknown_event_type_is_refused(fake_store) -> None:
    log = await new_log(fake_store)
    with pytest.raises(InvalidArgument) as info:
        await anext(log.subscribe(0, ["agent-request", "agent-requets"]))
    assert info.value.reason == Reason.UNKNOWN_EVENT_TYPE
    assert "agent-requets" in info.value.message
    assert info.value.field == "types"
    with pytest.raises(InvalidArgument) as info:
        await log.list_page(0, ["nope"], 10, "")
    assert info.value.reason == Reason.UNKNOWN_EVENT_TYPE


async def test_negative_cursor_is_refused(fake_store) -> None:
    log = await new_log(fake_store)
    with pytest.raises(InvalidArgument) as info:
        await anext(log.subscribe(-1, follow=True))
    assert info.value.reason == Reason.INVALID_CURSOR
    assert info.value.field == "cursor"
    with pytest.raises(InvalidArgument) as info:
        await log.list_page(-5, [], 10, "")
    assert info.value.reason == Reason.INVALID_CURSOR


async def test_too_short_heartbeat_is_refused(fake_store) -> None:
    log = await new_log(fake_store)
    with pytest.raises(InvalidArgument) as info:
        await anext(log.subscribe(0, follow=True, heartbeat_ms=10))
    assert info.value.field == "heartbeat_interval_ms"


async def test_from_tail_delivers_only_new_events(fake_store) -> None:
    log = await new_log(fake_store)
    await append_n(log, 3)
    stream = log.subscribe(0, follow=True, from_tail=True)
    async with contextlib.aclosing(stream):
        pending = asyncio.ensure_future(anext(stream))
        await log.record("pong")
        async with asyncio.timeout(TIMEOUT):
            batch = await pending
        assert [(r.cursor, r.type) for r in batch] == [(4, "pong")]


async def test_consumer_cursor_sets_the_start(fake_store) -> None:
    log = await new_log(fake_store)
    await append_n(log, 6)
    await log.commit_consumer_cursor("harness", 4)
    cursors = []
    async with asyncio.timeout(TIMEOUT):
        async for batch in log.subscribe(0, consumer="harness"):
            cursors.extend(r.cursor for r in batch)
    assert cursors == [5, 6]
    # A request cursor beyond the consumer's wins.
    cursors = []
    async with asyncio.timeout(TIMEOUT):
        async for batch in log.subscribe(5, consumer="harness"):
            cursors.extend(r.cursor for r in batch)
    assert cursors == [6]


async def test_heartbeat_when_idle(fake_store) -> None:
    log = await new_log(fake_store)
    await append_n(log, 2)
    stream = log.subscribe(0, follow=True, from_tail=True, heartbeat_ms=50)
    async with contextlib.aclosing(stream):
        beat = await first_item(stream)
        assert isinstance(beat, Heartbeat)
        assert beat.head_cursor == 2
        assert beat.time_ms > 0
        await log.record("ping")
        # The next non-heartbeat item is the new event.
        assert await collect_until(stream, 3) == [3]
        beat = await first_item(stream)
        assert isinstance(beat, Heartbeat)
        assert beat.head_cursor == 3


async def test_heartbeat_also_when_filter_matches_nothing_new(fake_store) -> None:
    log = await new_log(fake_store)
    stream = log.subscribe(0, ["agent-request"], follow=True, heartbeat_ms=50)
    async with contextlib.aclosing(stream):
        await log.record("ping")
        beat = await first_item(stream)
        assert isinstance(beat, Heartbeat)
        assert beat.head_cursor == 1


async def test_slow_subscriber_overflow_falls_back_to_replay(fake_store, monkeypatch) -> None:
    monkeypatch.setattr(events_module, "LIVE_QUEUE_LIMIT", 3)
    log = await new_log(fake_store)
    await append_n(log, 1)
    stream = log.subscribe(0, follow=True, heartbeat_ms=1000)
    async with contextlib.aclosing(stream):
        first = await first_item(stream)
        assert [r.cursor for r in first] == [1]
        batches: list[list[EventRecord]] = []
        expected = [1]
        # Several rounds: each time the subscriber is away long enough for its live queue to overflow.
        for _ in range(4):
            await append_n(log, 20)
            head = log.head_cursor
            got = await collect_until(stream, head, batches)
            expected_round = list(range(expected[-1] + 1, head + 1))
            assert got == expected_round
            expected.extend(got)
        assert expected == list(range(1, 82))
        # A live queue holds at most 3 events, so a bigger batch can only come from the replay fallback.
        assert max(len(b) for b in batches) > 3


async def test_overflow_while_waiting_live_is_recovered(fake_store, monkeypatch) -> None:
    """The subscriber is parked in the live wait when a burst larger than its queue arrives."""
    monkeypatch.setattr(events_module, "LIVE_QUEUE_LIMIT", 2)
    log = await new_log(fake_store)
    stream = log.subscribe(0, follow=True, heartbeat_ms=1000)
    async with contextlib.aclosing(stream):
        pending = asyncio.ensure_future(anext(stream))
        # Let the subscription register and start waiting for live events.
        async with asyncio.timeout(TIMEOUT):
            while not log._live:  # registered: the subscription has started
                await asyncio.sleep(0)
        await log.append_many([NewEvent("ping") for _ in range(10)])
        async with asyncio.timeout(TIMEOUT):
            batch = await pending
        cursors = [r.cursor for r in batch]
        if cursors[-1] < 10:
            cursors += await collect_until(stream, 10)
        assert cursors == list(range(1, 11))


async def test_close_ends_following_subscription_with_shutting_down(fake_store) -> None:
    log = await new_log(fake_store)
    await append_n(log, 1)
    stream = log.subscribe(0, follow=True, heartbeat_ms=50)
    async with contextlib.aclosing(stream):
        await first_item(stream)
        # A heartbeat proves the subscription reached the live phase; then let it park waiting for events.
        assert isinstance(await first_item(stream), Heartbeat)
        pending = asyncio.ensure_future(anext(stream))
        [live] = log._live
        async with asyncio.timeout(TIMEOUT):
            while not live.queue._getters:
                await asyncio.sleep(0)
        log.close()
        with pytest.raises(Unavailable) as info:
            async with asyncio.timeout(TIMEOUT):
                await pending
        assert info.value.reason == Reason.SHUTTING_DOWN
        assert info.value.code == "UNAVAILABLE"


async def test_close_with_a_full_live_queue_still_ends_the_stream(fake_store, monkeypatch) -> None:
    monkeypatch.setattr(events_module, "LIVE_QUEUE_LIMIT", 2)
    log = await new_log(fake_store)
    await append_n(log, 1)
    stream = log.subscribe(0, follow=True, heartbeat_ms=1000)
    async with contextlib.aclosing(stream):
        await first_item(stream)
        await append_n(log, 5)  # fills the queue, so the shutdown sentinel cannot be queued
        log.close()
        delivered = []
        with pytest.raises(Unavailable) as info:
            async with asyncio.timeout(TIMEOUT):
                async for item in stream:
                    delivered.extend(r.cursor for r in item)
        assert info.value.reason == Reason.SHUTTING_DOWN
        assert delivered == sorted(set(delivered))
        assert set(delivered) <= {2, 3, 4, 5, 6}


async def test_follow_after_close_is_refused_but_replay_still_works(fake_store) -> None:
    log = await new_log(fake_store)
    await append_n(log, 2)
    log.close()
    with pytest.raises(Unavailable) as info:
        await anext(log.subscribe(0, follow=True))
    assert info.value.reason == Reason.SHUTTING_DOWN
    batches = [b async for b in log.subscribe(0)]
    assert [r.cursor for b in batches for r in b] == [1, 2]


async def test_ended_subscription_unregisters(fake_store) -> None:
    log = await new_log(fake_store)
    await append_n(log, 1)
    stream = log.subscribe(0, follow=True)
    await first_item(stream)
    assert len(log._live) == 1
    await stream.aclose()
    assert not log._live


async def test_list_page_paginates_with_tokens(fake_store) -> None:
    log = await new_log(fake_store)
    await append_n(log, 25)
    seen: list[int] = []
    token = ""
    pages = []
    for _ in range(10):
        page = await log.list_page(0, [], 10, token)
        pages.append(len(page.events))
        seen.extend(r.cursor for r in page.events)
        assert page.head_cursor == 25
        token = page.next_page_token
        if not token:
            break
    assert pages == [10, 10, 5]
    assert seen == list(range(1, 26))


async def test_list_page_exact_fit_has_no_next_token(fake_store) -> None:
    log = await new_log(fake_store)
    await append_n(log, 10)
    page = await log.list_page(0, [], 10, "")
    assert len(page.events) == 10
    assert page.next_page_token == ""


async def test_list_page_with_types_and_cursor(fake_store) -> None:
    log = await new_log(fake_store)
    for i in range(12):
        await log.record("agent-request" if i % 3 == 0 else "ping")
    # agent-request at cursors 1, 4, 7, 10
    first = await log.list_page(1, ["agent-request"], 2, "")
    assert [r.cursor for r in first.events] == [4, 7]
    second = await log.list_page(1, ["agent-request"], 2, first.next_page_token)
    assert [r.cursor for r in second.events] == [10]
    assert second.next_page_token == ""


async def test_list_page_size_defaults_and_limits(fake_store, monkeypatch) -> None:
    monkeypatch.setattr(events_module, "DEFAULT_PAGE_SIZE", 3)
    monkeypatch.setattr(events_module, "MAX_PAGE_SIZE", 5)
    log = await new_log(fake_store)
    await append_n(log, 8)
    assert len((await log.list_page(0, [], 0, "")).events) == 3
    assert len((await log.list_page(0, [], 1000, "")).events) == 5
    with pytest.raises(InvalidArgument) as info:
        await log.list_page(0, [], -1, "")
    assert info.value.field == "page_size"


def _token(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


CRAFTED_TOKENS = [
    _token(raw)
    for raw in (
        '{"c":1e400,"t":[]}',
        '{"c":1180591620717411303424,"t":[]}',
        '{"c":1.5,"t":[]}',
        '{"c":true,"t":[]}',
        '{"c":-1,"t":[]}',
        '{"c":1,"t":"x"}',
    )
]


@pytest.mark.parametrize("token", ["not-a-token!", "e30", "W10", "eyJjIjoieCIsInQiOltdfQ", "%%%", *CRAFTED_TOKENS])
async def test_bad_page_token_is_refused(fake_store, token: str) -> None:
    log = await new_log(fake_store)
    await append_n(log, 3)
    with pytest.raises(InvalidArgument) as info:
        await log.list_page(0, [], 1, token)
    assert info.value.reason == Reason.INVALID_PAGE_TOKEN
    assert info.value.field == "page_token"


async def test_page_token_reused_with_other_types_or_later_cursor_is_refused(fake_store) -> None:
    log = await new_log(fake_store)
    await append_n(log, 5)
    token = (await log.list_page(0, [], 2, "")).next_page_token
    assert token
    with pytest.raises(InvalidArgument) as info:
        await log.list_page(0, ["ping"], 2, token)
    assert info.value.reason == Reason.INVALID_PAGE_TOKEN
    with pytest.raises(InvalidArgument) as info:
        await log.list_page(4, [], 2, token)
    assert info.value.reason == Reason.INVALID_PAGE_TOKEN


async def test_commit_cursor(fake_store) -> None:
    log = await new_log(fake_store)
    await append_n(log, 5)
    assert (await log.get_consumer_cursor("harness")).cursor == 0
    assert (await log.get_consumer_cursor("harness")).updated_at_ms is None
    stored = await log.commit_consumer_cursor("harness", 4)
    assert stored.cursor == 4
    assert stored.updated_at_ms is not None
    assert (await log.commit_consumer_cursor("harness", 2)).cursor == 4
    assert (await log.get_consumer_cursor("harness")).cursor == 4
    assert (await log.commit_consumer_cursor("harness", 5)).cursor == 5


async def test_commit_cursor_beyond_head_or_negative_is_invalid_cursor(fake_store) -> None:
    log = await new_log(fake_store)
    await append_n(log, 3)
    for bad in (4, -1):
        with pytest.raises(InvalidArgument) as info:
            await log.commit_consumer_cursor("harness", bad)
        assert info.value.reason == Reason.INVALID_CURSOR
        assert info.value.field == "cursor"
    assert (await log.get_consumer_cursor("harness")).cursor == 0


@pytest.mark.parametrize("name", ["", "has space", "x" * 65, "slash/name", "ünïcode"])
async def test_bad_consumer_name_is_invalid_consumer(fake_store, name: str) -> None:
    log = await new_log(fake_store)
    await append_n(log, 1)
    with pytest.raises(InvalidArgument) as info:
        await log.commit_consumer_cursor(name, 1)
    assert info.value.reason == Reason.INVALID_CONSUMER
    with pytest.raises(InvalidArgument) as info:
        await log.get_consumer_cursor(name)
    assert info.value.reason == Reason.INVALID_CONSUMER
    if name:  # an empty consumer means "none" in subscribe
        with pytest.raises(InvalidArgument) as info:
            await anext(log.subscribe(0, consumer=name))
        assert info.value.reason == Reason.INVALID_CONSUMER


class HeldCommits:
    """A store that gives cursors in call order at once but reports each commit only when the test opens its gate,
    in any order the test likes: like a group-committing store whose callers are woken in an arbitrary order."""

    def __init__(self) -> None:
        self.next_cursor = 1
        self.gates: list[asyncio.Event] = []

    async def append(self, events: list[NewEvent], now_ms: int) -> list[EventRecord]:
        records = []
        for new in events:
            cursor, self.next_cursor = self.next_cursor, self.next_cursor + 1
            records.append(EventRecord(cursor, f"id-{cursor}", new.type, new.direction, "", "", "", "{}", now_ms))
        gate = asyncio.Event()
        self.gates.append(gate)
        await gate.wait()
        return records

    async def head(self) -> int:
        return 0

    async def reached(self, count: int) -> None:
        """Wait until `count` appends are inside the store."""
        async with asyncio.timeout(TIMEOUT):
            while len(self.gates) < count:
                await asyncio.sleep(0)


def live_subscriber(log: EventLog) -> events_module._LiveSubscriber:
    live = events_module._LiveSubscriber(frozenset())
    log._live.add(live)
    return live


async def test_concurrent_appends_publish_in_cursor_order_whatever_order_commits_finish() -> None:
    store = HeldCommits()
    log = await new_log(store)
    live = live_subscriber(log)
    calls = [asyncio.ensure_future(log.append(NewEvent("ping"))) for _ in range(6)]
    await store.reached(6)
    # Commits 2..6 are reported first: none of them may be published, or returned, before commit 1.
    for gate in store.gates[1:]:
        gate.set()
    async with asyncio.timeout(TIMEOUT):
        while not all(stored.done() for stored, _ in list(log._in_flight)[1:]):
            await asyncio.sleep(0)
    await asyncio.sleep(0)  # the publishing callbacks of those commits have run
    assert live.queue.empty() and log.head_cursor == 0
    assert not any(call.done() for call in calls)
    store.gates[0].set()
    async with asyncio.timeout(TIMEOUT):
        records = [await call for call in calls]
    assert [r.cursor for r in records] == [1, 2, 3, 4, 5, 6]
    assert [live.queue.get_nowait().cursor for _ in range(6)] == [1, 2, 3, 4, 5, 6]
    assert log.head_cursor == 6


async def test_a_cancelled_appender_still_gets_its_events_published_in_order() -> None:
    store = HeldCommits()
    log = await new_log(store)
    live = live_subscriber(log)
    first = asyncio.ensure_future(log.append(NewEvent("ping")))
    second = asyncio.ensure_future(log.append(NewEvent("pong")))
    await store.reached(2)
    first.cancel()
    for gate in store.gates:
        gate.set()
    async with asyncio.timeout(TIMEOUT):
        record = await second
    assert first.cancelled()
    assert record.cursor == 2
    # The cancelled caller's event was committed anyway: it is published, and before the later one.
    assert [live.queue.get_nowait().cursor for _ in range(2)] == [1, 2]
    assert log.head_cursor == 2


async def test_a_failed_append_does_not_hold_back_later_ones(fake_store) -> None:
    log = await new_log(fake_store)
    original = fake_store.append
    calls = 0

    async def flaky(events, now_ms):
        nonlocal calls
        calls += 1
        if calls == 2:
            raise Unavailable("disk gone", Reason.DATABASE_UNAVAILABLE)
        return await original(events, now_ms)

    fake_store.append = flaky
    results = await asyncio.gather(*(log.record("ping") for _ in range(3)), return_exceptions=True)
    assert isinstance(results[1], Unavailable)
    assert [r.cursor for r in (results[0], results[2])] == [1, 2]
    assert log.head_cursor == 2


async def test_replay_live_and_pages_are_capped_by_bytes_and_a_big_event_travels_alone(fake_store) -> None:
    from ecco.limits import REPLY_MAX_BYTES

    log = await new_log(fake_store)
    big = "x" * (REPLY_MAX_BYTES // 3)
    payloads = [f'"{big}"'] * 4 + ['"' + "y" * (REPLY_MAX_BYTES + 10) + '"', "1"]
    await log.append_many([NewEvent("ping", payload_json=p) for p in payloads])
    batches: list[list[EventRecord]] = []
    stream = log.subscribe(0, follow=True)
    assert await collect_until(stream, 6, batches) == [1, 2, 3, 4, 5, 6]
    await stream.aclose()
    assert [[r.cursor for r in batch] for batch in batches] == [[1, 2], [3, 4], [5], [6]]
    assert all(sum(events_module.event_bytes(r) for r in b) <= REPLY_MAX_BYTES for b in batches if len(b) > 1)

    pages, token = [], ""
    for _ in range(10):  # bounded
        page = await log.list_page(0, (), 100, token)
        pages.append([r.cursor for r in page.events])
        token = page.next_page_token
        if not token:
            break
    assert pages == [[1, 2], [3, 4], [5], [6]]


async def test_an_event_larger_than_a_frame_is_refused(fake_store) -> None:
    from ecco.limits import MAX_FRAME_BYTES

    log = await new_log(fake_store)
    with pytest.raises(InvalidArgument) as refused:
        await log.append(NewEvent("agent-request", payload_json='"' + "é" * (MAX_FRAME_BYTES // 2) + '"'))
    assert refused.value.reason == Reason.MESSAGE_TOO_LARGE and fake_store.records == []
    await log.append(NewEvent("agent-request", payload_json='"' + "x" * (MAX_FRAME_BYTES - 2) + '"'))
