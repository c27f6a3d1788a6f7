"""A standalone bridge's link to its node over the node's gRPC API (grpc.aio): attach (a call held open while the
bridge runs), Subscribe from the bridge consumer's cursor, ReportDelivery for each attempt, and (A2A mode)
SendMessage for the agent's replies."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Sequence
from typing import Any

import grpc

from ecco.client import error_from_rpc
from ecco.errors import Reason, Unavailable
from ecco.limits import GRPC_MESSAGE_OPTIONS
from ecco.services.bridge import Attachment, BridgeConfig, DeliveryReport
from ecco.services.ports import Direction, EventRecord
from ecco.v1 import (
    bridge_service_pb2,
    bridge_service_pb2_grpc,
    common_pb2,
    event_service_pb2,
    event_service_pb2_grpc,
    messaging_service_pb2,
    messaging_service_pb2_grpc,
)

REPORT_TIMEOUT_S = 30.0
HEARTBEAT_MS = 5_000
_DIRECTIONS = {int(direction): direction for direction in Direction}


def event_from_pb(event: common_pb2.Event) -> EventRecord:
    return EventRecord(
        cursor=event.cursor,
        id=event.id,
        type=event.type,
        direction=_DIRECTIONS.get(event.direction, Direction.LOCAL),
        peer_id=event.peer_id,
        message_id=event.message_id,
        request_id=event.request_id,
        payload_json=event.payload_json,
        created_at_ms=event.create_time.ToMilliseconds(),
    )


def _node_gone(target: str) -> Unavailable:
    return Unavailable(f"the node at {target} ended the bridge's stream", Reason.NODE_NOT_RUNNING)


class GrpcLink:
    def __init__(self, target: str, token: str | None = None) -> None:
        self._target = target
        self._metadata: tuple[tuple[str, str], ...] = (("authorization", f"Bearer {token}"),) if token else ()
        self._channel = grpc.aio.insecure_channel(target, options=[("grpc.enable_retries", 0), *GRPC_MESSAGE_OPTIONS])
        self._events = event_service_pb2_grpc.EventServiceStub(self._channel)
        self._bridge = bridge_service_pb2_grpc.BridgeServiceStub(self._channel)
        self._messaging = messaging_service_pb2_grpc.MessagingServiceStub(self._channel)

    async def close(self) -> None:
        await self._channel.close()

    @contextlib.asynccontextmanager
    async def attach(self, config: BridgeConfig) -> AsyncIterator[Attachment]:
        request = bridge_service_pb2.AttachBridgeRequest(
            openclaw_url=config.openclaw_url,
            hook_path=config.hook_path,
            provider_hook_path=config.provider_hook_path,
            filter=list(config.filter),
        )
        call = self._bridge.AttachBridge(request, metadata=self._metadata)
        try:
            try:
                first = await call.read()
            except grpc.RpcError as error:
                raise error_from_rpc(error, self._target) from None
            if first is grpc.aio.EOF:
                raise _node_gone(self._target)
            yield Attachment(first.session_id, first.consumer, first.consumer_cursor, first.peer_id, first.node_name)
        finally:
            call.cancel()

    async def events(self, cursor: int, types: frozenset[str]) -> AsyncIterator[Sequence[EventRecord]]:
        request = event_service_pb2.SubscribeRequest(
            cursor=cursor, types=sorted(types), follow=True, heartbeat_interval_ms=HEARTBEAT_MS
        )
        call = self._events.Subscribe(request, metadata=self._metadata)
        try:
            async for response in call:
                if response.events:
                    yield [event_from_pb(event) for event in response.events]
        except grpc.RpcError as error:
            raise error_from_rpc(error, self._target) from None
        finally:
            call.cancel()
        raise _node_gone(self._target)

    async def report(self, session_id: str, report: DeliveryReport) -> int:
        request = bridge_service_pb2.ReportDeliveryRequest(
            session_id=session_id,
            event_cursor=report.event_cursor,
            outcome=int(report.outcome),
            hook_path=report.hook_path,
            http_status=report.http_status,
            error=report.error,
            attempts=report.attempts,
        )
        if report.first_attempt_ms:
            request.first_attempt_time.FromMilliseconds(report.first_attempt_ms)
        try:
            response = await self._bridge.ReportDelivery(request, timeout=REPORT_TIMEOUT_S, metadata=self._metadata)
        except grpc.RpcError as error:
            raise error_from_rpc(error, self._target) from None
        return int(response.consumer_cursor)

    async def send(self, peer_id: str, type: str, payload: dict[str, Any], message_id: str) -> None:
        request = messaging_service_pb2.SendMessageRequest(
            peer_id=peer_id, type=type, payload_json=json.dumps(payload), request_id=message_id
        )
        try:
            await self._messaging.SendMessage(request, timeout=REPORT_TIMEOUT_S, metadata=self._metadata)
        except grpc.RpcError as error:
            raise error_from_rpc(error, self._target) from None
