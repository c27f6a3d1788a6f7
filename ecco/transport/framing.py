"""Frames on a libp2p stream: `uvarint(len) || body`, as both /ecco/direct protocols carry them.

Reading goes through a buffer (no per-byte reads) and refuses a frame above the limit from its length prefix alone,
before its body is read. A frame's length is also claimed from a shared FrameBudget (per peer and in all) before
its body is read, and given back once the frame is handled: what peers can make a node buffer is bounded.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

import trio
from libp2p.abc import INetStream
from libp2p.utils.varint import encode_uvarint

from ecco import limits

FRAME_READ_TIMEOUT = 30.0
"""Once a frame has started, its remaining bytes must arrive within this time; also the idle limit on 1.0.0 streams."""
READ_CHUNK = 256 * 1024


class FrameTooLarge(Exception):
    def __init__(self, size: int) -> None:
        super().__init__(size)
        self.size = size


class TruncatedFrame(Exception):
    pass


class OverBudget(Exception):
    """The frame would take the peer, or all peers, above the bytes they may make this node buffer."""

    def __init__(self, size: int) -> None:
        super().__init__(size)
        self.size = size


@dataclass(frozen=True)
class InboundLimits:
    """Caps on what peers' inbound /ecco/direct streams may hold (defaults and reasons: ecco.limits)."""

    streams_per_peer: int = limits.INBOUND_STREAMS_PER_PEER
    streams: int = limits.INBOUND_STREAMS
    buffered_bytes_per_peer: int = limits.BUFFERED_FRAME_BYTES_PER_PEER
    buffered_bytes: int = limits.BUFFERED_FRAME_BYTES


class FrameBudget:
    """The frame bytes being read, per peer and in all, against InboundLimits (trio thread only)."""

    def __init__(self, per_peer: int, total: int) -> None:
        self._per_peer = per_peer
        self._total = total
        self._held: Counter[str] = Counter()
        self.held = 0

    def reserve(self, peer: str, size: int) -> bool:
        if self._held[peer] + size > self._per_peer or self.held + size > self._total:
            return False
        self._held[peer] += size
        self.held += size
        return True

    def release(self, peer: str, size: int) -> None:
        self._held[peer] -= size
        self.held -= size
        if self._held[peer] <= 0:
            del self._held[peer]


class FrameReader:
    """Reads `uvarint(len) || body` frames from a stream through a buffer (no per-byte reads)."""

    def __init__(self, stream: INetStream, max_bytes: int, budget: FrameBudget, peer: str) -> None:
        self._stream = stream
        self._max = max_bytes
        self._buffer = bytearray()
        self._budget = budget
        self._peer = peer
        self._claimed = 0

    def release(self) -> None:
        """Give back the claim of the last frame (once it is handled, or the stream ended). Idempotent."""
        if self._claimed:
            self._budget.release(self._peer, self._claimed)
            self._claimed = 0

    async def _fill(self) -> bool:
        try:
            chunk = await self._stream.read(READ_CHUNK)
        except EOFError:  # StreamEOF
            return False
        if not chunk:
            return False
        self._buffer += chunk
        return True

    async def next_frame(self, idle_timeout: float | None, frame_timeout: float) -> bytes | None:
        """The next frame, or None at a clean end of stream (EOF between frames). Its length stays claimed from
        the budget until `release` (raises OverBudget if the claim does not fit)."""
        self.release()
        if not self._buffer:
            with trio.fail_after(idle_timeout if idle_timeout is not None else math.inf):
                if not await self._fill():
                    return None
        with trio.fail_after(frame_timeout):
            length, header = 0, 0
            while True:
                if header >= len(self._buffer) and not await self._fill():
                    raise TruncatedFrame()
                byte = self._buffer[header]
                length |= (byte & 0x7F) << (7 * header)
                header += 1
                if not byte & 0x80:
                    break
                if header >= 10:
                    raise TruncatedFrame()  # not a uvarint
            if length > self._max:
                raise FrameTooLarge(length)
            if not self._budget.reserve(self._peer, length):
                raise OverBudget(length)
            self._claimed = length
            end = header + length
            while len(self._buffer) < end:
                if not await self._fill():
                    raise TruncatedFrame()
            frame = bytes(self._buffer[header:end])
            del self._buffer[:end]
            return frame


def framed(frame: bytes) -> bytes:
    return encode_uvarint(len(frame)) + frame


def framed_size(frame_len: int) -> int:
    return len(encode_uvarint(frame_len)) + frame_len
