"""EventService: the durable event log over gRPC."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc

from ecco.api.convert import event_to_pb, timestamp_ms
from ecco.services.events import EventLog, Heartbeat
from ecco.v1 import event_service_pb2 as pb
from ecco.v1 import event_service_pb2_grpc


class EventServicer(event_service_pb2_grpc.EventServiceServicer):
    def __init__(self, events: EventLog) -> None:
        self._events = events

    async def Subscribe(
        self, request: pb.SubscribeRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[pb.SubscribeResponse]:
        stream = self._events.subscribe(
            request.cursor,
            request.types,
            follow=request.follow,
            consumer=request.consumer,
            from_tail=request.from_tail,
            heartbeat_ms=request.heartbeat_interval_ms,
        )
        async for item in stream:
            if isinstance(item, Heartbeat):
                beat = pb.Heartbeat(head_cursor=item.head_cursor, time=timestamp_ms(item.time_ms))
                yield pb.SubscribeResponse(heartbeat=beat)
            else:
                yield pb.SubscribeResponse(events=[event_to_pb(record) for record in item])

    async def ListEvents(
        self, request: pb.ListEventsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListEventsResponse:
        page = await self._events.list_page(request.cursor, request.types, request.page_size, request.page_token)
        return pb.ListEventsResponse(
            events=[event_to_pb(record) for record in page.events],
            next_page_token=page.next_page_token,
            head_cursor=page.head_cursor,
        )

    async def CommitCursor(
        self, request: pb.CommitCursorRequest, context: grpc.aio.ServicerContext
    ) -> pb.CommitCursorResponse:
        stored = await self._events.commit_consumer_cursor(request.consumer, request.cursor)
        return pb.CommitCursorResponse(cursor=stored.cursor)

    async def GetCursor(self, request: pb.GetCursorRequest, context: grpc.aio.ServicerContext) -> pb.GetCursorResponse:
        stored = await self._events.get_consumer_cursor(request.consumer)
        response = pb.GetCursorResponse(cursor=stored.cursor)
        if stored.updated_at_ms is not None:
            response.update_time.CopyFrom(timestamp_ms(stored.updated_at_ms))
        return response
