"""Structured logging: one JSON object per line in the node's daemon.log, whoever writes.

Three ways around a root handler exist, and each is closed here: loggers that do not propagate and have no handler
of their own (py-libp2p turns propagation off for "libp2p") end at `logging.lastResort`, which is made the JSON
handler; `warnings` go through logging; and a detached daemon's file descriptor 2 (tracebacks, C libraries, stray
prints) is a pipe whose lines a thread logs as JSON records of the "stderr" logger.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import logging
import logging.handlers
import os
import sys
import threading
import time
from pathlib import Path

_STANDARD = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime"}
NOISY_LOGGERS = ("libp2p", "multiaddr", "aioquic", "zeroconf", "asyncio", "aiosqlite", "alembic")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        entry.update({k: v for k, v in record.__dict__.items() if k not in _STANDARD})
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def setup_logging(log_file: Path, level: str) -> None:
    handler = logging.handlers.RotatingFileHandler(log_file, maxBytes=10 * 2**20, backupCount=3, encoding="utf-8")
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    logging.lastResort = handler  # type: ignore[assignment]  # records of non-propagating loggers end here
    logging.captureWarnings(True)
    for name in NOISY_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


STDERR_READ_BYTES = 65536
STDERR_DRAIN_S = 2.0


def capture_stderr() -> None:
    """Send everything later written to file descriptor 2 to the log, a JSON record per read of whole lines (lines
    written together usually stay one record; a traceback, written line by line, may span several), until the
    process exits. For a detached daemon, whose stderr nobody reads."""
    read_fd, write_fd = os.pipe()
    os.dup2(write_fd, 2)
    os.close(write_fd)
    stderr_log = logging.getLogger("stderr")

    def pump() -> None:
        pending = b""
        with os.fdopen(read_fd, "rb", buffering=0) as pipe:
            while chunk := pipe.read(STDERR_READ_BYTES):
                complete, _, pending = (pending + chunk).rpartition(b"\n")
                if complete:
                    stderr_log.error(complete.decode("utf-8", errors="replace"))
        if pending:
            stderr_log.error(pending.decode("utf-8", errors="replace"))

    reader = threading.Thread(target=pump, name="stderr-to-log", daemon=True)
    reader.start()

    @atexit.register
    def drain() -> None:
        """Runs after an uncaught exception's traceback is printed: end the pipe and log what is still in it."""
        with contextlib.suppress(OSError, ValueError):
            sys.stderr.flush()
        with contextlib.suppress(OSError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 2)  # the pipe's last write end in this process: the reader sees EOF
            os.close(devnull)
        reader.join(STDERR_DRAIN_S)
