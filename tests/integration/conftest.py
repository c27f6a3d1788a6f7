"""Real daemons as subprocesses, driven through the `ecco` CLI, each test in its own ECCO_HOME."""

from __future__ import annotations

import contextlib
import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

CLI_TIMEOUT_S = 60


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


class Ecco:
    """Runs `python -m ecco ...` with this test's ECCO_HOME."""

    def __init__(self, home: Path) -> None:
        self.home = home
        # Loopback only: a daemon's default libp2p listen address is every interface.
        self.env = {**os.environ, "ECCO_HOME": str(home), "ECCO_LISTEN": "/ip4/127.0.0.1/tcp/0"}
        self.env.pop("ECCO_NODE", None)

    def __call__(self, *args: str, env: dict[str, str] | None = None) -> Result:
        done = subprocess.run(
            [sys.executable, "-m", "ecco", *args],
            capture_output=True,
            text=True,
            timeout=CLI_TIMEOUT_S,
            env={**self.env, **(env or {})},
            stdin=subprocess.DEVNULL,
        )
        return Result(done.returncode, done.stdout, done.stderr)

    def ok(self, *args: str, env: dict[str, str] | None = None) -> Result:
        result = self(*args, env=env)
        assert result.code == 0, f"ecco {' '.join(args)} exited {result.code}: {result.stderr}{result.stdout}"
        return result

    def node_dir(self, name: str) -> Path:
        return self.home / "nodes" / name

    def pid(self, name: str) -> int:
        return int((self.node_dir(name) / "daemon.pid").read_text())

    def follow(self, *args: str) -> LineReader:
        process = subprocess.Popen(
            [sys.executable, "-m", "ecco", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=self.env,
            stdin=subprocess.DEVNULL,
        )
        return LineReader(process)

    def kill_all(self) -> None:
        for pid_file in self.home.glob("nodes/*/daemon.pid"):
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(pid_file.read_text()), signal.SIGKILL)


class LineReader:
    """Reads a long-running command's stdout lines through a queue, so tests wait with a timeout."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process = process
        self.lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def next_json(self, timeout: float = 20) -> Any:
        line = self.lines.get(timeout=timeout)
        assert line is not None, f"stream ended: {self.stop()}"
        return json.loads(line)

    def stop(self) -> str:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        return self.process.stderr.read() if self.process.stderr else ""


def wait_for_exit(pid: int, timeout: float = 20) -> None:
    """Wait for a process that is not our child to exit, via pidfd (no polling)."""
    import select

    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return
    try:
        ready, _, _ = select.select([fd], [], [], timeout)
        assert ready, f"process {pid} still running after {timeout}s"
    finally:
        os.close(fd)


@pytest.fixture
def ecco() -> Iterator[Ecco]:
    home = Path(tempfile.mkdtemp(prefix="ecco-it-", dir="/tmp"))
    runner = Ecco(home)
    try:
        yield runner
    finally:
        runner.kill_all()
        shutil.rmtree(home, ignore_errors=True)
