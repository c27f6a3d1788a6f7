"""Keeping libp2p's logging to what an operator needs.

libp2p logs routine network failures (a dead or restarted peer) as warnings or errors, some with tracebacks; the
transport reports them as its own `Unavailable` errors instead, so they are quieted here once, at start.
"""

from __future__ import annotations

import logging

_QUIET_LOGGERS = ("libp2p", "multiaddr", "aioquic", "zeroconf", "async_service")

# Expected dial failures that libp2p 0.8.1 logs at ERROR (the WebSocket one with a full traceback): a dead or
# restarted peer is routine for us and surfaces as our own Unavailable error instead.
_EXPECTED_ERRORS = {
    "libp2p.transport.tcp.tcp": ("Failed to open TCP stream", "Unexpected error opening TCP stream"),
    "libp2p.transport.websocket.transport": ("Failed to connect to ws", "Connection timeout after"),
}


class _DropExpected(logging.Filter):
    def __init__(self, prefixes: tuple[str, ...]) -> None:
        super().__init__()
        self._prefixes = prefixes

    def filter(self, record: logging.LogRecord) -> bool:
        return not (isinstance(record.msg, str) and record.msg.startswith(self._prefixes))


def quiet_libp2p_logs(level: int = logging.ERROR) -> None:
    """libp2p logs routine network failures as warnings or errors ("Failed to open TCP stream", "failed to upgrade
    security", "Error handling stream"). Raise its loggers to `level` unless the operator configured them, and drop
    the expected dial-failure errors."""
    for name in _QUIET_LOGGERS:
        logger = logging.getLogger(name)
        if logger.level in (logging.NOTSET, logging.WARNING):  # libp2p sets WARNING itself on import
            logger.setLevel(level)
    auto_connector = logging.getLogger("libp2p.network.auto_connector")
    if auto_connector.level == logging.INFO:  # set by libp2p itself on import
        auto_connector.setLevel(level)
    for name, prefixes in _EXPECTED_ERRORS.items():
        logger = logging.getLogger(name)
        if not any(isinstance(f, _DropExpected) for f in logger.filters):
            logger.addFilter(_DropExpected(prefixes))
