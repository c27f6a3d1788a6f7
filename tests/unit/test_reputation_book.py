"""Local reputation (upstream-ecco §7.6): the book, the SQL store on a migrated SQLite file and on PostgreSQL, and
the outcomes the Messenger reports for the requests it sends."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import insert

from ecco.errors import DeadlineExceeded, InvalidArgument
from ecco.parsing import Tier
from ecco.services.discovery.reputation_book import NEUTRAL_SCORE, ReputationBook
from ecco.services.messaging.responders import EchoResponder, ExecResponder
from ecco.services.ports import ReputationRecord
from ecco.store.db import create_engine, migrate
from ecco.store.reputation import SqlReputationStore
from ecco.store.tables import local_reputation
from tests.unit.test_messenger import TIMEOUT, FakeTransport, make_node

PEER = "12D3KooWPeerAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"


@pytest.fixture
async def sql(db_url: str) -> AsyncIterator[tuple[SqlReputationStore, object]]:
    engine = create_engine(db_url)
    await migrate(engine)
    try:
        yield SqlReputationStore(engine), engine
    finally:
        await engine.dispose()


async def test_outcomes_count_and_two_separate_good_from_failing_peers(sql) -> None:
    store, _ = sql
    book = ReputationBook(store, lambda: 1234)
    assert await book.get(PEER) is None and book.rank_score(PEER) == NEUTRAL_SCORE  # never asked: neutral
    entry = await book.record(PEER, True)
    assert entry.record == ReputationRecord(PEER, 1, 1, 1, 0, 1234)
    assert (entry.score, entry.tier) == (67, Tier.ACCEPTABLE) and book.rank_score(PEER) == 67
    entry = await book.record(PEER, False)
    assert entry.record == ReputationRecord(PEER, 0, 2, 1, 1, 1234)
    assert (entry.score, entry.tier) == (50, Tier.ACCEPTABLE)
    # two outcomes each: answered 2 of 2 is good, failed 2 of 2 is below every tier and below a peer never asked
    good, bad = "12D3KooWGood", "12D3KooWBad"
    for _ in range(2):
        await book.record(good, True)
        await book.record(bad, False)
    assert (book.rank_score(good), book.rank_score(bad)) == (75, 25)
    assert (await book.get(good)).tier == Tier.GOOD and (await book.get(bad)).tier is None  # type: ignore[union-attr]
    assert book.rank_score(bad) < NEUTRAL_SCORE < book.rank_score(good)


async def test_scores_survive_a_restart(sql) -> None:
    store, _ = sql
    await ReputationBook(store, lambda: 1).record(PEER, True)
    reopened = ReputationBook(store, lambda: 2)
    await reopened.load()
    assert reopened.rank_score(PEER) == 67


async def test_a_noted_outcome_counts_at_once_and_is_stored_by_the_next_read_or_close(sql) -> None:
    """The request path only notes outcomes (no transaction per request); reads and shutdown write them."""
    store, _ = sql
    book = ReputationBook(store, lambda: 5)
    await book.note(PEER, True)
    assert book.rank_score(PEER) == 67 and await store.get(PEER) is None  # counted, not written yet
    assert (await book.get(PEER)).record == ReputationRecord(PEER, 1, 1, 1, 0, 5)  # type: ignore[union-attr]
    await book.note(PEER, False)
    await book.close()
    assert await store.get(PEER) == ReputationRecord(PEER, 0, 2, 1, 1, 5)


@pytest.mark.parametrize(("start", "success", "end"), [(999, True, 1000), (-999, False, -1000)])
async def test_the_local_score_is_clamped(sql, start: int, success: bool, end: int) -> None:
    store, engine = sql
    async with engine.begin() as conn:
        await conn.execute(
            insert(local_reputation).values(
                peer_id=PEER, local_score=start, total_jobs=5000, successful_jobs=3000, failed_jobs=2000
            )
        )
    book = ReputationBook(store, lambda: 7)
    await book.record(PEER, success)
    entry = await book.record(PEER, success)
    assert entry.record.local_score == end and entry.record.total_jobs == 5002
    assert entry.score == 60  # the counts decide: 3002 or 3000 successes of 5002 jobs, 60 % either way


async def test_concurrent_records_are_all_counted(sql) -> None:
    store, _ = sql
    book = ReputationBook(store, lambda: 1)
    await asyncio.gather(*(book.record(PEER, i % 5 != 0) for i in range(50)))
    entry = await book.get(PEER)
    assert entry is not None
    assert (entry.record.total_jobs, entry.record.successful_jobs, entry.record.failed_jobs) == (50, 40, 10)
    assert entry.record.local_score == 30 and entry.score == 79  # (40 + 1) / (50 + 2)


async def test_outcomes_of_many_peers_at_once_are_each_recorded(sql) -> None:
    """Concurrent outcomes share transactions (group commit); each caller still gets its own peer's record."""
    store, _ = sql
    peers = [f"12D3KooWpeer{i:02d}" for i in range(30)]
    records = await asyncio.gather(*(store.record(peer, i % 3 != 0, 7) for i, peer in enumerate(peers)))
    assert [r.peer_id for r in records] == peers
    assert [r.local_score for r in records] == [-1 if i % 3 == 0 else 1 for i in range(30)]
    assert [r.peer_id for r in await store.list()] == sorted(peers)


async def test_list_filters_by_tier_best_first(sql) -> None:
    store, engine = sql
    async with engine.begin() as conn:
        for peer_id, score in (("b", 600), ("a", 600), ("c", 900), ("d", -10)):
            await conn.execute(insert(local_reputation).values(peer_id=peer_id, local_score=score))
    book = ReputationBook(store, lambda: 1)
    assert [(e.record.peer_id, e.score) for e in await book.list()] == [("c", 95), ("a", 80), ("b", 80), ("d", 50)]
    assert [e.record.peer_id for e in await book.list(Tier.GOOD)] == ["c", "a", "b"]
    assert [e.record.peer_id for e in await book.list(Tier.ELITE)] == ["c"]


# ---------------------------------------------------------------------------------------------------------------------
# The Messenger reports one outcome per request
# ---------------------------------------------------------------------------------------------------------------------


async def _asker_and(responder=None):
    network: dict[str, FakeTransport] = {}
    asker = await make_node(network)
    other = await make_node(network, responder=responder)
    outcomes: list[tuple[str, bool]] = []

    async def on_outcome(peer_id: str, success: bool) -> None:
        outcomes.append((peer_id, success))

    asker.messenger._on_outcome = on_outcome
    return asker, other, outcomes


async def test_a_reply_is_a_success_reported_once() -> None:
    asker, echo, outcomes = await _asker_and(EchoResponder())
    await asker.messenger.prompt(echo.signer.peer_id, "hi", TIMEOUT)  # stops iterating at the reply
    items = [i async for i in asker.messenger.request(echo.signer.peer_id, "again", TIMEOUT)]
    assert items[-1].text == "again"
    assert outcomes == [(echo.signer.peer_id, True)] * 2


async def test_an_error_reply_and_a_timeout_are_failures() -> None:
    asker, failing, outcomes = await _asker_and(ExecResponder("exit 3"))
    reply = await asker.messenger.prompt(failing.signer.peer_id, "x", TIMEOUT)
    assert reply.error
    silent_asker, silent, silent_outcomes = await _asker_and()
    with pytest.raises(DeadlineExceeded):
        await silent_asker.messenger.prompt(silent.signer.peer_id, "anyone?", 0.05)
    assert outcomes == [(failing.signer.peer_id, False)]
    assert silent_outcomes == [(silent.signer.peer_id, False)]


async def test_bad_input_is_not_an_outcome() -> None:
    asker, _, outcomes = await _asker_and()
    with pytest.raises(InvalidArgument):
        await asker.messenger.prompt(asker.signer.peer_id, "me?", TIMEOUT)
    assert outcomes == []
