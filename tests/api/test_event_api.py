"""EventService through the real client: subscribe (replay, live, filters, heartbeats), pages, cursors."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from ecco.client import NodeClient
from ecco.errors import EccoError, InvalidArgument, Reason, Unavailable
from ecco.v1 import common_pb2
from ecco.v1 import event_service_pb2 as pb

STREAM_DEADLINE = 10.0  # a stream that stops delivering fails the test with DEADLINE_EXCEEDED, never hangs


def subscribe(client: NodeClient, **fields) -> Iterator[pb.SubscribeResponse]:
    return client.stream(client.stub("EventService").Subscribe, pb.SubscribeRequest(**fields), timeout=STREAM_DEADLINE)


def next_events(stream: Iterator[pb.SubscribeResponse]) -> list:
    """The next batch of events, skipping heartbeats (bounded)."""
    for _ in range(100):
        message = next(stream)
        if message.events:
            return list(message.events)
    raise AssertionError("no events in 100 messages")


def test_subscribe_replays_then_delivers_live_events(node, client: NodeClient) -> None:
    written = [node.append("agent-request", {"n": i}, peer_id="peerA", request_id=f"r{i}") for i in range(3)]
    stream = subscribe(client, cursor=0, follow=True, heartbeat_interval_ms=1000)
    try:
        replayed = next_events(stream)
        assert [e.cursor for e in replayed] == [r.cursor for r in written]
        first = replayed[0]
        assert first.type == "agent-request"
        assert first.id == written[0].id
        assert first.peer_id == "peerA"
        assert first.request_id == "r0"
        assert json.loads(first.payload_json) == {"n": 0}
        assert first.direction == common_pb2.EVENT_DIRECTION_LOCAL
        assert first.create_time.seconds > 0

        live = [node.append("ping"), node.append("pong")]
        received = []
        for _ in range(10):
            received += [e.cursor for e in next_events(stream)]
            if len(received) >= 2:
                break
        assert received == [r.cursor for r in live]
    finally:
        stream.close()


def test_subscribe_without_follow_ends_after_replay(node, client: NodeClient) -> None:
    for _ in range(3):
        node.append("ping")
    cursors = [e.cursor for message in subscribe(client, cursor=1) for e in message.events]
    assert cursors == [2, 3]


def test_subscribe_resumes_after_a_cursor(node, client: NodeClient) -> None:
    records = [node.append("ping") for _ in range(5)]
    stream = subscribe(client, cursor=records[2].cursor, follow=True)
    try:
        assert [e.cursor for e in next_events(stream)] == [records[3].cursor, records[4].cursor]
    finally:
        stream.close()


def test_subscribe_filters_by_type(node, client: NodeClient) -> None:
    for type_ in ("agent-request", "ping", "agent-response", "agent-request"):
        node.append(type_)
    replayed = [e for m in subscribe(client, types=["agent-request", "agent-response"]) for e in m.events]
    assert [(e.cursor, e.type) for e in replayed] == [(1, "agent-request"), (3, "agent-response"), (4, "agent-request")]

    # The first heartbeat proves the stream is live; then events are appended.
    stream = subscribe(client, types=["agent-request"], from_tail=True, follow=True, heartbeat_interval_ms=50)
    try:
        assert next(stream).HasField("heartbeat")
        node.append("ping")
        node.append("agent-request")
        assert [(e.cursor, e.type) for e in next_events(stream)] == [(6, "agent-request")]
    finally:
        stream.close()


def test_subscribe_sends_heartbeats_when_idle(node, client: NodeClient) -> None:
    node.append("ping")
    stream = subscribe(client, from_tail=True, follow=True, heartbeat_interval_ms=50)
    try:
        for _ in range(2):
            message = next(stream)
            assert message.HasField("heartbeat")
            assert not message.events
            assert message.heartbeat.head_cursor == 1
            assert message.heartbeat.time.seconds > 0
    finally:
        stream.close()


def test_subscribe_consumer_starts_after_its_committed_cursor(node, client: NodeClient) -> None:
    for _ in range(4):
        node.append("ping")
    client.call(client.stub("EventService").CommitCursor, pb.CommitCursorRequest(consumer="harness", cursor=3))
    cursors = [e.cursor for m in subscribe(client, consumer="harness") for e in m.events]
    assert cursors == [4]


def test_shutdown_ends_a_followed_stream_with_shutting_down(node, client: NodeClient) -> None:
    node.append("ping")
    stream = subscribe(client, follow=True, heartbeat_interval_ms=50)
    try:
        assert next_events(stream)[0].cursor == 1
        node.loop.call_soon_threadsafe(node.log.close)
        with pytest.raises(Unavailable) as info:
            for _ in range(1000):
                next(stream)
        assert info.value.reason == Reason.SHUTTING_DOWN
    finally:
        stream.close()


@pytest.mark.parametrize(
    ("request_fields", "reason", "field"),
    [
        ({"cursor": -1}, Reason.INVALID_CURSOR, "cursor"),
        ({"cursor": -1, "follow": True}, Reason.INVALID_CURSOR, "cursor"),
        ({"types": ["agent-request", "no-such-type"]}, Reason.UNKNOWN_EVENT_TYPE, "types"),
        ({"follow": True, "heartbeat_interval_ms": 5}, Reason.INVALID_ARGUMENT, "heartbeat_interval_ms"),
        ({"consumer": "bad name"}, Reason.INVALID_CONSUMER, "consumer"),
    ],
)
def test_subscribe_errors(client: NodeClient, request_fields: dict, reason: Reason, field: str) -> None:
    with pytest.raises(EccoError) as info:
        list(subscribe(client, **request_fields))
    assert isinstance(info.value, InvalidArgument)
    assert info.value.code == "INVALID_ARGUMENT"
    assert info.value.reason == reason
    assert info.value.field == field


def test_unknown_type_error_names_the_type(client: NodeClient) -> None:
    with pytest.raises(InvalidArgument) as info:
        list(subscribe(client, types=["agent-requets"]))
    assert "agent-requets" in info.value.message


def test_list_events_pages_through_the_log(node, client: NodeClient) -> None:
    for i in range(7):
        node.append("agent-request" if i % 2 else "ping")
    stub = client.stub("EventService")
    cursors, token, sizes = [], "", []
    for _ in range(10):
        page = client.call(stub.ListEvents, pb.ListEventsRequest(page_size=3, page_token=token))
        assert page.head_cursor == 7
        sizes.append(len(page.events))
        cursors += [e.cursor for e in page.events]
        token = page.next_page_token
        if not token:
            break
    assert sizes == [3, 3, 1]
    assert cursors == list(range(1, 8))

    filtered = client.call(stub.ListEvents, pb.ListEventsRequest(cursor=2, types=["agent-request"]))
    assert [e.cursor for e in filtered.events] == [4, 6]
    assert filtered.next_page_token == ""


@pytest.mark.parametrize(
    ("request_fields", "reason", "field"),
    [
        ({"cursor": -3}, Reason.INVALID_CURSOR, "cursor"),
        ({"types": ["nope"]}, Reason.UNKNOWN_EVENT_TYPE, "types"),
        ({"page_token": "garbage!"}, Reason.INVALID_PAGE_TOKEN, "page_token"),
        ({"page_size": -1}, Reason.INVALID_ARGUMENT, "page_size"),
    ],
)
def test_list_events_errors(client: NodeClient, request_fields: dict, reason: Reason, field: str) -> None:
    with pytest.raises(InvalidArgument) as info:
        client.call(client.stub("EventService").ListEvents, pb.ListEventsRequest(**request_fields))
    assert info.value.reason == reason
    assert info.value.field == field


def test_list_events_token_from_another_query_is_refused(node, client: NodeClient) -> None:
    for _ in range(4):
        node.append("ping")
    stub = client.stub("EventService")
    token = client.call(stub.ListEvents, pb.ListEventsRequest(page_size=1)).next_page_token
    assert token
    with pytest.raises(InvalidArgument) as info:
        client.call(stub.ListEvents, pb.ListEventsRequest(page_size=1, page_token=token, types=["ping"]))
    assert info.value.reason == Reason.INVALID_PAGE_TOKEN


def test_commit_and_get_cursor(node, client: NodeClient) -> None:
    stub = client.stub("EventService")
    for _ in range(5):
        node.append("ping")
    fresh = client.call(stub.GetCursor, pb.GetCursorRequest(consumer="listen"))
    assert fresh.cursor == 0
    assert not fresh.HasField("update_time")
    assert client.call(stub.CommitCursor, pb.CommitCursorRequest(consumer="listen", cursor=4)).cursor == 4
    assert client.call(stub.CommitCursor, pb.CommitCursorRequest(consumer="listen", cursor=2)).cursor == 4
    stored = client.call(stub.GetCursor, pb.GetCursorRequest(consumer="listen"))
    assert stored.cursor == 4
    assert stored.HasField("update_time")
    assert client.call(stub.GetCursor, pb.GetCursorRequest(consumer="other")).cursor == 0


@pytest.mark.parametrize(
    ("consumer", "cursor", "reason"),
    [
        ("listen", 99, Reason.INVALID_CURSOR),
        ("listen", -1, Reason.INVALID_CURSOR),
        ("", 1, Reason.INVALID_CONSUMER),
        ("no/slashes", 1, Reason.INVALID_CONSUMER),
    ],
)
def test_commit_cursor_errors(node, client: NodeClient, consumer: str, cursor: int, reason: Reason) -> None:
    node.append("ping")
    with pytest.raises(InvalidArgument) as info:
        client.call(client.stub("EventService").CommitCursor, pb.CommitCursorRequest(consumer=consumer, cursor=cursor))
    assert info.value.code == "INVALID_ARGUMENT"
    assert info.value.reason == reason
    assert client.call(client.stub("EventService").GetCursor, pb.GetCursorRequest(consumer="listen")).cursor == 0
