"""Frames on a libp2p stream: `uvarint(len) || body`, as both /ecco/direct protocols carry them.

Reading goes through a buffer (no per-byte reads) and refuses a frame above the limit from its length prefix alone,
before its body is read.
"""

from __future__ import annotations

import math

import trio
from libp2p.abc import INetStream
from libp2p.utils.varint import encode_uvarint

FRAME_READ_TIMEOUT = 30.0
"""Once a frame has started, its remaining bytes must arrive within this time; also the idle limit on 1.0.0 streams."""
READ_CHUNK = 256 * 1024


class FrameTooLarge(Exception):
    def __init__(self, size: int) -> None:
        super().__init__(size)
        self.size = size


class TruncatedFrame(Exception):
    pass


class FrameReader:
    """Reads `uvarint(len) || body` frames from a stream through a buffer (no per-byte reads)."""

    def __init__(self, stream: INetStream, max_bytes: int) -> None:
        self._stream = stream
        self._max = max_bytes
        self._buffer = bytearray()

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
        """The next frame, or None at a clean end of stream (EOF between frames)."""
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
