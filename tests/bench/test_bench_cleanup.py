"""A benchmark stops what it starts, whatever ends it: SIGTERM (what `timeout` sends), Ctrl-C, or a SIGKILL of
the benchmark followed by run_all.sh's sweep; and run_all.sh itself, interrupted mid-run, leaves nothing behind."""

from __future__ import annotations

import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "bench"))

from _common import processes_under, sweep  # noqa: E402

STARTED_S = 90.0  # a daemon is up well within this; never reached when things work


@pytest.fixture
def root() -> Iterator[str]:
    path = tempfile.mkdtemp(prefix="ebt", dir="/tmp")
    try:
        yield path
    finally:
        sweep(path, grace_s=1)  # nothing should be left; if something is, do not leak it past the test
        shutil.rmtree(path, ignore_errors=True)


def _start(root: str, *command: str) -> tuple[subprocess.Popen[str], queue.Queue[str | None]]:
    """Start a benchmark command in its own process group; its stderr lines arrive on the queue."""
    env = {**os.environ, "BENCH_ROOT": root, "PYTHON": sys.executable, "BENCHES": "bench/cli_status.py"}
    process = subprocess.Popen(
        command,
        cwd=REPO,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        assert process.stderr is not None
        for line in process.stderr:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    return process, lines


def _wait_for_a_daemon(root: str, lines: queue.Queue[str | None]) -> None:
    for _ in range(100):  # bounded: progress lines before the first node is up
        line = lines.get(timeout=STARTED_S)
        assert line is not None, "the benchmark ended before starting a node"
        if " up (pid " in line:
            assert processes_under(root)
            return
    raise AssertionError("no node started")


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signalled_benchmark_stops_its_daemons(root: str, signum: int) -> None:
    process, lines = _start(root, sys.executable, "bench/cli_status.py")
    try:
        _wait_for_a_daemon(root, lines)
        process.send_signal(signum)
        assert process.wait(timeout=60) != 0
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    assert processes_under(root) == []


def test_the_sweep_ends_what_a_killed_benchmark_left(root: str) -> None:
    process, lines = _start(root, sys.executable, "bench/cli_status.py")
    _wait_for_a_daemon(root, lines)
    os.killpg(process.pid, signal.SIGKILL)  # `timeout --kill-after`: no cleanup can run
    process.wait(timeout=10)
    left = processes_under(root)
    assert left  # the detached daemon outlived its benchmark ...
    done = subprocess.run(
        [sys.executable, "bench/_common.py", "sweep", root], cwd=REPO, capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 0 and processes_under(root) == []  # ... until run_all.sh's sweep


def test_an_interrupted_run_all_leaves_nothing_running(root: str) -> None:
    process, lines = _start(root, "bash", "bench/run_all.sh")
    try:
        _wait_for_a_daemon(root, lines)
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=60) == 130
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    assert processes_under(root) == []
