"""BridgeService: the webhook bridge's status and dead letters, and the two RPCs a standalone bridge uses to
attach to the node and record its deliveries."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc

from ecco.api.convert import event_to_pb, page_offset, timestamp_ms
from ecco.errors import InvalidArgument, Reason
from ecco.services.bridge import BridgeConfig, BridgeMonitor, DeadLetterRecord, DeliveryReport, Outcome
from ecco.v1 import bridge_service_pb2 as pb
from ecco.v1 import bridge_service_pb2_grpc


def _dead_letter_to_pb(letter: DeadLetterRecord) -> pb.DeadLetter:
    return pb.DeadLetter(
        id=letter.id,
        event=event_to_pb(letter.event),
        hook_path=letter.hook_path,
        attempts=letter.attempts,
        last_http_status=letter.last_http_status,
        last_error=letter.last_error,
        first_attempt_time=timestamp_ms(letter.first_attempt_ms),
        create_time=timestamp_ms(letter.created_at_ms),
    )


class BridgeServicer(bridge_service_pb2_grpc.BridgeServiceServicer):
    def __init__(self, monitor: BridgeMonitor) -> None:
        self._monitor = monitor

    async def GetBridgeStatus(
        self, request: pb.GetBridgeStatusRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetBridgeStatusResponse:
        status = await self._monitor.status()
        counters = status.counters
        response = pb.GetBridgeStatusResponse(
            running=status.running,
            pending_count=status.pending,
            dead_letter_count=status.dead_letters,
            consumer_cursor=status.consumer_cursor,
            last_delivered_cursor=counters.last_delivered_cursor,
        )
        if status.config is not None:
            response.openclaw_url = status.config.openclaw_url
            response.hook_path = status.config.hook_path
            response.provider_hook_path = status.config.provider_hook_path
            response.filter.extend(status.config.filter)
            response.delivered_count = counters.delivered
            response.failed_count = counters.failed
            response.failed_event_count = counters.failed_events
            response.last_error = counters.last_error
            if counters.last_error_ms is not None:
                response.last_error_time.CopyFrom(timestamp_ms(counters.last_error_ms))
            if counters.started_at_ms is not None:
                response.start_time.CopyFrom(timestamp_ms(counters.started_at_ms))
        return response

    async def ListDeadLetters(
        self, request: pb.ListDeadLettersRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListDeadLettersResponse:
        page = await self._monitor.dead_letters(request.page_size, page_offset(request.page_token))
        return pb.ListDeadLettersResponse(
            dead_letters=[_dead_letter_to_pb(letter) for letter in page.dead_letters],
            next_page_token="" if page.next_offset is None else str(page.next_offset),
            total_size=page.total,
        )

    async def AttachBridge(
        self, request: pb.AttachBridgeRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[pb.AttachBridgeResponse]:
        config = BridgeConfig(
            request.openclaw_url, request.hook_path, request.provider_hook_path, tuple(sorted(set(request.filter)))
        )
        attachment = await self._monitor.attach(config)
        try:
            yield pb.AttachBridgeResponse(
                session_id=attachment.session_id,
                consumer=attachment.consumer,
                consumer_cursor=attachment.consumer_cursor,
                peer_id=attachment.peer_id,
                node_name=attachment.node_name,
            )
            # Held open while the bridge runs: a killed bridge closes its connection, grpc cancels this call,
            # and the finally below detaches it.
            await self._monitor.wait_closed()
        finally:
            self._monitor.detach(attachment.session_id)

    async def ReportDelivery(
        self, request: pb.ReportDeliveryRequest, context: grpc.aio.ServicerContext
    ) -> pb.ReportDeliveryResponse:
        if request.outcome not in {int(outcome) for outcome in Outcome}:
            raise InvalidArgument(
                "outcome must be DELIVERED, RETRYING or DEAD_LETTER", Reason.INVALID_ARGUMENT, field="outcome"
            )
        report = DeliveryReport(
            event_cursor=request.event_cursor,
            outcome=Outcome(request.outcome),
            hook_path=request.hook_path,
            http_status=request.http_status,
            error=request.error,
            attempts=request.attempts,
            first_attempt_ms=request.first_attempt_time.ToMilliseconds()
            if request.HasField("first_attempt_time")
            else 0,
        )
        cursor = await self._monitor.report(request.session_id, report)
        return pb.ReportDeliveryResponse(consumer_cursor=cursor)
