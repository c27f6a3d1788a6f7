"""The bridge's link to the node it runs inside (`ecco up --webhook-bridge`): the event log and the bridge monitor,
called directly instead of over gRPC."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

from ecco.services.bridge.ports import Attachment, BridgeConfig, DeliveryReport
from ecco.services.bridge.status import BridgeMonitor
from ecco.services.events import EventLog, Heartbeat
from ecco.services.ports import EventRecord


class LocalLink:
    def __init__(
        self, events: EventLog, monitor: BridgeMonitor, send: Callable[..., Awaitable[object]] | None = None
    ) -> None:
        """`send` is the messenger's (Messenger.send), for A2A mode's replies."""
        self._events = events
        self._monitor = monitor
        self._send = send

    @contextlib.asynccontextmanager
    async def attach(self, config: BridgeConfig) -> AsyncIterator[Attachment]:
        attachment = await self._monitor.attach(config)
        try:
            yield attachment
        finally:
            self._monitor.detach(attachment.session_id)

    async def events(self, cursor: int, types: frozenset[str]) -> AsyncIterator[Sequence[EventRecord]]:
        async for item in self._events.subscribe(cursor, types, follow=True):
            if not isinstance(item, Heartbeat):
                yield item

    async def report(self, session_id: str, report: DeliveryReport) -> int:
        return await self._monitor.report(session_id, report)

    async def send(self, peer_id: str, type: str, payload: dict[str, Any], message_id: str) -> None:
        assert self._send is not None, "an A2A-mode bridge needs the messenger's send"
        await self._send(peer_id, type, payload, message_id=message_id)
