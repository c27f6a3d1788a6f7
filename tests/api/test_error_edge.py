"""The error edge: every failure carries google.rpc.ErrorInfo (domain ecco.v1), field errors a BadRequest, and
unexpected exceptions become INTERNAL "internal error" without leaking their text."""

from __future__ import annotations

import logging
from collections.abc import Callable

import grpc
import pytest
from google.rpc import error_details_pb2, status_pb2

from ecco.client import NodeClient
from ecco.errors import Internal, InvalidArgument, Reason
from ecco.v1 import event_service_pb2, event_service_pb2_grpc, messaging_service_pb2, messaging_service_pb2_grpc

DETAILS_KEY = "grpc-status-details-bin"
SECRET = "secret detail"


def rich_status(error: grpc.RpcError) -> status_pb2.Status:
    [details] = [value for key, value in error.trailing_metadata() if key == DETAILS_KEY]
    return status_pb2.Status.FromString(details)


def error_info(status: status_pb2.Status) -> error_details_pb2.ErrorInfo:
    infos = []
    for detail in status.details:
        info = error_details_pb2.ErrorInfo()
        if detail.Unpack(info):
            infos.append(info)
    assert len(infos) == 1, status
    return infos[0]


def bad_request(status: status_pb2.Status) -> error_details_pb2.BadRequest | None:
    for detail in status.details:
        bad = error_details_pb2.BadRequest()
        if detail.Unpack(bad):
            return bad
    return None


def _list_negative(channel: grpc.Channel) -> None:
    event_service_pb2_grpc.EventServiceStub(channel).ListEvents(
        event_service_pb2.ListEventsRequest(cursor=-1), timeout=10
    )


def _subscribe_unknown_type(channel: grpc.Channel) -> None:
    stream = event_service_pb2_grpc.EventServiceStub(channel).Subscribe(
        event_service_pb2.SubscribeRequest(types=["bogus"]), timeout=10
    )
    list(stream)


def _commit_bad_consumer(channel: grpc.Channel) -> None:
    event_service_pb2_grpc.EventServiceStub(channel).CommitCursor(
        event_service_pb2.CommitCursorRequest(consumer="", cursor=0), timeout=10
    )


def _unimplemented(channel: grpc.Channel) -> None:
    messaging_service_pb2_grpc.MessagingServiceStub(channel).ListPeers(
        messaging_service_pb2.ListPeersRequest(), timeout=10
    )


@pytest.mark.parametrize(
    ("call", "code", "reason", "field"),
    [
        (_list_negative, grpc.StatusCode.INVALID_ARGUMENT, "INVALID_CURSOR", "cursor"),
        (_subscribe_unknown_type, grpc.StatusCode.INVALID_ARGUMENT, "UNKNOWN_EVENT_TYPE", "types"),
        (_commit_bad_consumer, grpc.StatusCode.INVALID_ARGUMENT, "INVALID_CONSUMER", "consumer"),
        (_unimplemented, grpc.StatusCode.UNIMPLEMENTED, "FEATURE_NOT_IMPLEMENTED", None),
    ],
)
def test_errors_carry_error_info_and_bad_request_on_the_wire(
    node, call: Callable[[grpc.Channel], None], code: grpc.StatusCode, reason: str, field: str | None
) -> None:
    with pytest.raises(grpc.RpcError) as info:
        call(node.channel())
    error = info.value
    assert error.code() == code
    status = rich_status(error)
    assert status.code == code.value[0]
    assert status.message == error.details()
    detail = error_info(status)
    assert detail.domain == "ecco.v1"
    assert detail.reason == reason
    violations = bad_request(status)
    if field is None:
        assert violations is None
    else:
        assert violations is not None
        [violation] = violations.field_violations
        assert violation.field == field
        assert violation.description == error.details()


def test_client_maps_field_violation_back(client: NodeClient) -> None:
    with pytest.raises(InvalidArgument) as info:
        client.call(client.stub("EventService").ListEvents, event_service_pb2.ListEventsRequest(cursor=-9))
    assert info.value.field == "cursor"
    assert info.value.reason == Reason.INVALID_CURSOR
    assert "-9" in info.value.message


def test_unexpected_exception_in_unary_is_internal_without_its_text(node, client: NodeClient, caplog) -> None:
    async def boom(*args, **kwargs):
        raise RuntimeError(SECRET)

    node.log.list_page = boom  # the servicer holds this very EventLog
    with caplog.at_level(logging.ERROR, logger="ecco.api"):
        with pytest.raises(Internal) as info:
            client.call(client.stub("EventService").ListEvents, event_service_pb2.ListEventsRequest())
        assert info.value.code == "INTERNAL"
        assert info.value.reason == Reason.INTERNAL
        assert info.value.message == "internal error"
        assert SECRET not in str(info.value)

        with pytest.raises(grpc.RpcError) as raw:
            event_service_pb2_grpc.EventServiceStub(node.channel()).ListEvents(
                event_service_pb2.ListEventsRequest(), timeout=10
            )
    assert raw.value.code() == grpc.StatusCode.INTERNAL
    assert raw.value.details() == "internal error"
    assert all(
        SECRET.encode() not in (v if isinstance(v, bytes) else v.encode()) for _, v in raw.value.trailing_metadata()
    )
    status = rich_status(raw.value)
    assert error_info(status).domain == "ecco.v1"
    assert error_info(status).reason == "INTERNAL"
    # The operator still finds the cause in the log.
    assert any(r.exc_info and SECRET in str(r.exc_info[1]) for r in caplog.records)


def test_unexpected_exception_in_stream_is_internal_without_its_text(node, client: NodeClient) -> None:
    def broken_subscribe(*args, **kwargs):
        async def stream():
            raise RuntimeError(SECRET)
            yield  # pragma: no cover

        return stream()

    node.log.subscribe = broken_subscribe
    with pytest.raises(Internal) as info:
        list(client.stream(client.stub("EventService").Subscribe, event_service_pb2.SubscribeRequest(), timeout=10))
    assert info.value.message == "internal error"
    assert info.value.reason == Reason.INTERNAL
    assert SECRET not in info.value.message


def test_unexpected_exception_after_some_events_keeps_them_and_hides_the_text(node, client: NodeClient) -> None:
    node.append("ping")
    real_subscribe = node.log.subscribe

    def failing_later(*args, **kwargs):
        async def stream():
            async for item in real_subscribe(*args, **kwargs):
                yield item
            raise RuntimeError(SECRET)

        return stream()

    node.log.subscribe = failing_later
    received = []
    with pytest.raises(Internal) as info:
        for message in client.stream(
            client.stub("EventService").Subscribe, event_service_pb2.SubscribeRequest(), timeout=10
        ):
            received += [e.cursor for e in message.events]
    assert received == [1]
    assert info.value.message == "internal error"
