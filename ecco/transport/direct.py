"""The /ecco/direct protocols: one peer's frames to another, in both directions (trio side).

/ecco/direct/1.0.0 carries one `varint(len) || frame` per stream, exactly as upstream (the sender writes and closes;
the receiver reads frames until EOF). /ecco/direct/1.1.0 carries the same frames, many per long-lived stream:
outbound streams propose 1.1.0 first and fall back to 1.0.0 when the peer does not offer it. Frames above the limit
(10 MiB by default) are refused on read before their body is read, and the stream is reset. So are streams beyond
the per-peer and global caps on concurrent inbound streams, and frames beyond the bytes peers may make this node
buffer (InboundLimits); each such reset is reported to `overload_handler`, which charges the peer's rate.

`DirectProtocol` is owned by the host runtime (`ecco.transport.host`), which gives it the host and dialing through
the small `PeerLinks` interface and registers `handle_inbound` for the protocols it offers.
"""

from __future__ import annotations

import contextlib
import logging
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Protocol

import trio
from libp2p.abc import IHost, INetStream
from libp2p.custom_types import TProtocol
from libp2p.peer.id import ID

from ecco.errors import EccoError, InvalidArgument, Reason
from ecco.services.transport_port import DIRECT_PROTOCOL_V10, DIRECT_PROTOCOL_V11, FrameHandler, OverloadHandler
from ecco.transport.addresses import parse_peer_id
from ecco.transport.failures import StaleStream, is_network_error, mapped, quietly
from ecco.transport.framing import (
    READ_CHUNK,
    FrameBudget,
    FrameReader,
    FrameTooLarge,
    InboundLimits,
    OverBudget,
    TruncatedFrame,
    framed,
)
from ecco.transport.trio_bridge import Libp2pThread

log = logging.getLogger(__name__)

V10 = TProtocol(DIRECT_PROTOCOL_V10)
V11 = TProtocol(DIRECT_PROTOCOL_V11)


class PeerLinks(Protocol):
    """What the direct protocols need from the host runtime."""

    @property
    def host(self) -> IHost: ...

    async def ensure_connected(self, peer: ID) -> None:
        """Dial `peer` at a known address unless a live connection exists."""
        ...

    def is_connected(self, peer: ID) -> bool:
        """Whether `peer` has a live connection."""
        ...

    def spawn(self, fn: Any, *args: Any) -> None:
        """Start `fn(*args)` in the host's nursery (dropped once the host is stopping)."""
        ...


@dataclass
class _Channel:
    """Outbound state for one peer: the long-lived 1.1.0 stream, or the knowledge that the peer only speaks 1.0.0."""

    lock: trio.Lock = field(default_factory=trio.Lock)
    stream: INetStream | None = None
    protocol: str | None = None


class DirectProtocol:
    """Sends frames to peers and hands inbound frames to `frame_handler`. Every method runs in the trio thread."""

    def __init__(
        self,
        bridge: Libp2pThread,
        links: PeerLinks,
        *,
        offer_v11: bool,
        max_frame_bytes: int,
        frame_timeout: float,
        limits: InboundLimits | None = None,
    ) -> None:
        self._bridge = bridge
        self._limits = limits or InboundLimits()
        self.budget = FrameBudget(self._limits.buffered_bytes_per_peer, self._limits.buffered_bytes)
        self.open_inbound: Counter[str] = Counter()
        self.overload_handler: OverloadHandler | None = None
        self._links = links
        self.inbound_protocols = [V10, V11] if offer_v11 else [V10]
        self._outbound_protocols = [V11, V10] if offer_v11 else [V10]
        self._max_frame_bytes = max_frame_bytes
        self._frame_timeout = frame_timeout
        self._channels: dict[ID, _Channel] = {}
        self.frame_handler: FrameHandler | None = None
        self.inbound_streams: Counter[str] = Counter()

    # ---- per-peer channels ----

    def protocol_for(self, peer: ID) -> str | None:
        """The direct protocol our outbound frames to `peer` use, once known."""
        channel = self._channels.get(peer)
        return channel.protocol if channel else None

    def drop_channel(self, peer: ID) -> None:
        """Forget what we know of `peer` (its connection closed or is being replaced): reset its long-lived stream."""
        channel = self._channels.pop(peer, None)
        if channel is not None and channel.stream is not None:
            self._links.spawn(quietly, "reset an outbound stream", channel.stream.reset)

    async def close(self) -> None:
        """Reset every long-lived outbound stream (the host is stopping)."""
        for channel in list(self._channels.values()):
            if channel.stream is not None:
                await quietly("reset an outbound stream", channel.stream.reset)
        self._channels.clear()

    # ---- sending ----

    async def send(self, peer_text: str, frame: bytes, timeout: float) -> None:
        peer = parse_peer_id(peer_text)
        if peer == self._links.host.get_id():
            raise InvalidArgument("a node cannot send to itself", Reason.INVALID_PEER_ID, field="peer_id")
        data = framed(frame)
        with mapped("sending to", peer), trio.fail_after(timeout):
            for attempt in (1, 2):
                await self._links.ensure_connected(peer)
                try:
                    await self._send_framed(peer, data)
                    return
                except Exception as exc:
                    # Nothing (or only a truncated frame, which the receiver drops) was delivered. Try once more if
                    # the long-lived stream was stale or the connection died under us; the receiver dedups anyway.
                    stale = isinstance(exc, StaleStream) or not self._links.is_connected(peer)
                    if attempt == 2 or not stale or not is_network_error(exc):
                        raise
                    log.debug("sending to %s failed on a stale stream or connection (%r); retrying once", peer, exc)

    async def _send_framed(self, peer: ID, data: bytes) -> None:
        channel = self._channels.setdefault(peer, _Channel())
        if channel.protocol == DIRECT_PROTOCOL_V10:
            await self._send_on_new_stream(peer, data, [V10])
            return
        async with channel.lock:
            if channel.stream is not None:
                stream = channel.stream
                try:
                    await stream.write(data)
                    return
                except BaseException as exc:
                    channel.stream = None  # dead, or holding a partial frame now
                    await quietly("reset an outbound stream", stream.reset)
                    if isinstance(exc, Exception) and is_network_error(exc):
                        raise StaleStream() from exc
                    raise
            stream = await self._links.host.new_stream(peer, self._outbound_protocols)
            protocol = str(stream.get_protocol())
            if protocol != DIRECT_PROTOCOL_V11:
                channel.protocol = DIRECT_PROTOCOL_V10
                await self._write_and_close(stream, data)
                return
            channel.protocol = DIRECT_PROTOCOL_V11
            try:
                await stream.write(data)
            except BaseException:
                await quietly("reset an outbound stream", stream.reset)
                raise
            if self._channels.get(peer) is channel:
                channel.stream = stream
                self._links.spawn(self._watch_outbound, peer, channel, stream)
            else:  # the peer disconnected meanwhile
                await quietly("reset an outbound stream", stream.reset)

    async def _send_on_new_stream(self, peer: ID, data: bytes, protocols: list[TProtocol]) -> None:
        stream = await self._links.host.new_stream(peer, protocols)
        await self._write_and_close(stream, data)

    @staticmethod
    async def _write_and_close(stream: INetStream, data: bytes) -> None:
        try:
            await stream.write(data)
            await stream.close()
        except BaseException:
            await quietly("reset a stream", stream.reset)
            raise

    async def _watch_outbound(self, peer: ID, channel: _Channel, stream: INetStream) -> None:
        """The peer never writes on our 1.1.0 stream: a read returns only when it closes or resets it."""
        try:
            while await stream.read(READ_CHUNK):
                pass
        except Exception:
            pass
        if channel.stream is stream:
            channel.stream = None
        await quietly("reset an outbound stream", stream.reset)

    # ---- receiving ----

    async def handle_inbound(self, stream: INetStream) -> None:
        """The stream handler for every direct protocol we offer: read frames until EOF, checking each one."""
        protocol = str(stream.get_protocol())
        peer = stream.muxed_conn.peer_id
        peer_text = peer.to_base58()
        self.inbound_streams[protocol] += 1
        open_inbound = self.open_inbound
        if open_inbound[peer_text] >= self._limits.streams_per_peer or open_inbound.total() >= self._limits.streams:
            log.info("reset an inbound stream from %s: too many open streams", peer_text)
            await quietly("reset an inbound stream", stream.reset)
            await self._overloaded(peer_text, 0)
            return
        open_inbound[peer_text] += 1
        try:
            await self._read_frames(stream, protocol, peer_text)
        finally:
            open_inbound[peer_text] -= 1
            if open_inbound[peer_text] <= 0:
                del open_inbound[peer_text]

    async def _read_frames(self, stream: INetStream, protocol: str, peer_text: str) -> None:
        reader = FrameReader(stream, self._max_frame_bytes, self.budget, peer_text)
        idle = None if protocol == DIRECT_PROTOCOL_V11 else self._frame_timeout
        try:
            while True:
                frame = await reader.next_frame(idle, self._frame_timeout)
                if frame is None:
                    break
                await self._deliver(peer_text, frame)
                del frame
                reader.release()
        except OverBudget as exc:
            log.info("reset an inbound stream from %s: a %d-byte frame exceeds the buffer budget", peer_text, exc.size)
            await quietly("reset an inbound stream", stream.reset)
            await self._overloaded(peer_text, exc.size)
            return
        except FrameTooLarge as exc:
            log.warning("refused a %d-byte frame from %s (limit %d)", exc.size, peer_text, self._max_frame_bytes)
            await quietly("reset an inbound stream", stream.reset)
            return
        except (TruncatedFrame, trio.TooSlowError) as exc:
            log.info("dropped a truncated or stalled frame from %s: %r", peer_text, exc)
            await quietly("reset an inbound stream", stream.reset)
            return
        except Exception as exc:
            if not is_network_error(exc):
                raise
            log.debug("inbound stream from %s ended: %r", peer_text, exc)
            await quietly("reset an inbound stream", stream.reset)
            return
        finally:
            reader.release()
        await quietly("close an inbound stream", stream.close)

    async def _overloaded(self, peer: str, size: int) -> None:
        handler = self.overload_handler
        if handler is not None:
            with contextlib.suppress(Exception):
                await self._bridge.to_asyncio(handler, peer, size)

    async def _deliver(self, peer: str, frame: bytes) -> None:
        handler = self.frame_handler
        if handler is None:
            log.debug("no frame handler: dropped a %d-byte frame from %s", len(frame), peer)
            return
        try:
            await self._bridge.to_asyncio(handler, peer, frame)
        except EccoError as exc:
            log.info("frame from %s rejected: %s (%s)", peer, exc.message, exc.reason)
        except Exception:
            log.exception("frame handler failed on a frame from %s", peer)
