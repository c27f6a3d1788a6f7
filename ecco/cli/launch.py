"""Starting a detached daemon and knowing when it is ready, without polling.

The parent hands the child the write end of a pipe (`--ready-fd`). The child writes one JSON line once its API
is healthy (or the error that stopped it) and closes the pipe; the parent waits on the read end. EOF without a
line means the child died during start-up.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from ecco.errors import ERROR_CLASSES, DeadlineExceeded, EccoError, Internal, Reason, Unavailable
from ecco.home import NodePaths


def notify_ready(fd: int, error: EccoError | None = None) -> None:
    """Child side: report readiness (or the start-up error) to the waiting parent, once."""
    if error is None:
        line = {"ok": True}
    else:
        line = {"ok": False, "code": error.code, "reason": str(error.reason), "message": error.message}
    try:
        os.write(fd, (json.dumps(line) + "\n").encode())
    finally:
        os.close(fd)


def _read_line(fd: int, deadline: float) -> bytes | None:
    """Read until newline or EOF; None if the deadline passes first."""
    data = b""
    while not data.endswith(b"\n"):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return None
        readable, _, _ = select.select([fd], [], [], remaining)
        if not readable:
            return None
        chunk = os.read(fd, 4096)
        if not chunk:
            break
        data += chunk
    return data


def spawn_daemon(paths: NodePaths, forwarded_args: list[str], timeout_s: float) -> int:
    """Start `ecco up --foreground` detached (new session); return its pid once it is healthy."""
    paths.ensure_dir()
    read_fd, write_fd = os.pipe()
    command = [
        sys.executable,
        "-m",
        "ecco",
        "up",
        *forwarded_args,
        "--foreground",
        "--ready-fd",
        str(write_fd),
    ]
    with open(os.devnull, "rb") as devnull, open(paths.log_file, "ab") as log:
        child = subprocess.Popen(
            command,
            stdin=devnull,
            stdout=devnull,
            stderr=log,
            pass_fds=(write_fd,),
            start_new_session=True,
            close_fds=True,
        )
    os.close(write_fd)
    try:
        line = _read_line(read_fd, time.monotonic() + timeout_s)
    finally:
        os.close(read_fd)
    if line is None:
        child.terminate()
        raise DeadlineExceeded(
            f"node {paths.name!r} did not become healthy within {timeout_s:g}s; see {paths.log_file}",
            Reason.NODE_START_FAILED,
        )
    if not line:
        status = child.wait(timeout=10)
        raise Unavailable(
            f"node {paths.name!r} exited with status {status} during start-up; see {paths.log_file}",
            Reason.NODE_START_FAILED,
        )
    report: dict[str, Any] = json.loads(line)
    if not report.get("ok"):
        cls = ERROR_CLASSES.get(report.get("code", ""), Internal)
        try:
            reason = Reason(report.get("reason", "NODE_START_FAILED"))
        except ValueError:
            reason = Reason.NODE_START_FAILED
        child.wait(timeout=10)
        raise cls(report.get("message", "the daemon failed to start"), reason)
    return child.pid


def wait_until_stopped(lock_file: Path, timeout_s: float) -> bool:
    """Block until no process holds the node's lock (the daemon has exited), or the timeout passes."""
    import fcntl

    try:
        fd = os.open(lock_file, os.O_RDONLY)
    except FileNotFoundError:
        return True
    released = threading.Event()

    def wait_for_lock() -> None:
        fcntl.flock(fd, fcntl.LOCK_SH)
        released.set()

    threading.Thread(target=wait_for_lock, daemon=True).start()
    stopped = released.wait(timeout_s)
    if stopped:
        os.close(fd)
    return stopped
