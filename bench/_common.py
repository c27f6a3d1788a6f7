"""Helpers shared by the benchmark scripts in bench/ (not a benchmark: run_all.sh skips files starting with "_").

The scripts are run as `.venv/bin/python bench/<name>.py`, so bench/ is sys.path[0] and `import _common` finds this
module. It imports only the standard library at module level: the scripts re-run themselves as helper processes
(the replay baseline server, the live follower), and those should not pay for ecco's imports they do not use.

A benchmark never leaves a daemon behind, whatever ends it: its homes come from `bench_home`, which makes SIGTERM
and SIGHUP (what `timeout` and a closed terminal send) raise SystemExit like Ctrl-C raises KeyboardInterrupt, so
`finally` blocks run, and at exit kills whatever still runs with its ECCO_HOME in one of them. A SIGKILL cannot be
caught: run_all.sh sweeps its BENCH_ROOT after each benchmark (`python bench/_common.py sweep ROOT`).
"""

from __future__ import annotations

import atexit
import contextlib
import json
import math
import os
import platform
import select
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SWEEP_GRACE_S = 5.0
_HOMES: list[str] = []


def log(message: str) -> None:
    """Progress on stderr (stdout carries only the result line)."""
    print(f"bench: {message}", file=sys.stderr, flush=True)


def _raise_exit(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


def bench_home(prefix: str) -> str:
    """A fresh ECCO_HOME under $BENCH_ROOT (else /tmp); every daemon started in it is ended when this process
    exits, also by SIGTERM, SIGHUP or Ctrl-C. Keep `prefix` short: the node's socket path must fit in 108 bytes."""
    home = tempfile.mkdtemp(prefix=prefix, dir=os.environ.get("BENCH_ROOT") or "/tmp")
    if not _HOMES:
        for signum in (signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, _raise_exit)
        atexit.register(lambda: [sweep(path) for path in _HOMES])
    _HOMES.append(home)
    return home


def processes_under(root: str) -> list[int]:
    """Every process (but this one) whose ECCO_HOME is `root` or inside it: what a benchmark started there, found
    through /proc, so also after its home was removed."""
    prefix = root.rstrip("/")
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = Path(entry.path, "environ").read_bytes()
        except OSError:
            continue
        for variable in environ.split(b"\0"):
            if variable.startswith(b"ECCO_HOME="):
                home = variable[len(b"ECCO_HOME=") :].decode(errors="replace")
                if home == prefix or home.startswith(prefix + "/"):
                    found.append(int(entry.name))
                break
    return found


def sweep(root: str, grace_s: float = SWEEP_GRACE_S) -> list[int]:
    """SIGTERM every process under `root`, SIGKILL those still running after `grace_s`; returns their pids."""
    pids = processes_under(root)
    waiting: dict[int, int] = {}
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            waiting[os.pidfd_open(pid)] = pid
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    while waiting and (remaining := deadline - time.monotonic()) > 0:
        exited, _, _ = select.select(list(waiting), [], [], remaining)
        for fd in exited:
            os.close(fd)
            del waiting[fd]
    for fd, pid in waiting.items():
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        os.close(fd)
    return pids


def ecco_cli() -> list[str]:
    """The CLI as users run it: the venv's `ecco` console script, so its start-up cost is what gets measured.

    Falls back to `python -m ecco` when the script is missing (a venv where ecco is importable but not installed).
    """
    exe = Path(sys.executable).with_name("ecco")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "ecco"]


def clean_env(home: str) -> dict[str, str]:
    """This environment without any ECCO_* variable, and with ECCO_HOME set to the benchmark's temporary home.

    A developer's ECCO_* settings (another home, another network, log levels) must neither change the figures nor
    let a benchmark touch a real node.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("ECCO_")}
    env["ECCO_HOME"] = home
    env["ECCO_LISTEN"] = "/ip4/127.0.0.1/tcp/0"  # loopback only; the daemon default is every interface
    env["ECCO_MDNS"] = "false"  # mDNS multicasts on every interface
    env["ECCO_DHT"] = os.environ.get("BENCH_DHT", "true")
    return env


@dataclass(frozen=True)
class Ran:
    """A command that exited 0: its wall time and its output."""

    seconds: float
    stdout: str
    stderr: str

    def json(self) -> dict[str, Any]:
        """The last stdout line as JSON (`--json` commands print one object; anything before it is not the result)."""
        return json.loads(self.stdout.strip().splitlines()[-1])


def run(cmd: list[str], env: dict[str, str], timeout: float = 30.0) -> Ran:
    """Run `cmd` to completion with no stdin and captured output; raise if it exits non-zero.

    The wall time covers only the subprocess (start to exit), so callers can use it as a measurement. A failing
    command raises with its output, because a benchmark that carried on would report a figure for the wrong thing.
    """
    started = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {proc.returncode}: {proc.stdout} {proc.stderr}")
    return Ran(elapsed, proc.stdout, proc.stderr)


UP_TIMEOUT_S = 60.0


def dial_addr(node: dict[str, Any]) -> str:
    """The 127.0.0.1 multiaddr (with /p2p/<id>) of a node, from its `ecco up --json` document."""
    addr = next((a for a in node["listenAddresses"] if "/ip4/127.0.0.1/" in a), node["listenAddresses"][0])
    return addr if "/p2p/" in addr else f"{addr}/p2p/{node['peerId']}"


def up_node(env: dict[str, str], name: str, capability: str, bootstrap: list[str], *extra: str) -> dict[str, Any]:
    """`ecco up --name NAME --capability CAPABILITY [--bootstrap ADDR ...] EXTRA... --json`: its status document,
    with `up_s` = the wall time of the `up` call."""
    cmd = [*ecco_cli(), "up", "--name", name, "--capability", capability, *extra, "--json"]
    for addr in bootstrap:
        cmd += ["--bootstrap", addr]
    ran = run(cmd, env, timeout=UP_TIMEOUT_S)
    doc = ran.json()
    doc["up_s"] = ran.seconds
    log(f"node {name} up (pid {doc['pid']})")
    return doc


def stop_daemon(home: str, name: str) -> None:
    """Stop node `name` under `home`: `ecco node stop`; if that fails, SIGTERM then SIGKILL the pid in daemon.pid.

    Called from `finally` blocks, so it must not raise when the node is already gone, and must not leave a daemon
    running when the CLI cannot reach it. Each signal is followed by a wait on the node's lock, which the daemon
    holds until it has exited. ecco is imported here, not at module level (see the module docstring).
    """
    from ecco.cli.launch import wait_until_stopped
    from ecco.home import NodePaths

    paths = NodePaths.for_name(name, Path(home))
    if not paths.is_running():
        return
    with contextlib.suppress(Exception):
        run([*ecco_cli(), "node", "stop", "--node", name, "--json"], clean_env(home))
        return
    pid = paths.read_pid()
    for sig in (signal.SIGTERM, signal.SIGKILL):
        if pid is None or not paths.is_running():
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)
        if wait_until_stopped(paths.lock_file, 10):
            return


def read_json_line(proc: subprocess.Popen[bytes], deadline: float, who: str) -> dict[str, Any]:
    """Read one JSON line from a helper process's stdout, waiting at most until `deadline` (time.monotonic()).

    `select()` bounds the wait: a helper that hangs would otherwise block `readline()` past the benchmark's time
    budget. The helper writes whole lines and flushes, so once stdout is readable a full line follows. `who` names
    the helper in the error ("the follower", ...), since the two ways to fail (silence, exit) need different fixes.
    """
    assert proc.stdout is not None
    timeout = max(0.0, deadline - time.monotonic())
    readable, _, _ = select.select([proc.stdout], [], [], timeout)
    if not readable:
        raise RuntimeError(f"{who} did not answer within {timeout:.1f} s")
    line = proc.stdout.readline()
    if not line:
        raise RuntimeError(f"{who} exited with status {proc.wait(timeout=5)} before answering")
    return json.loads(line)


def cpu_s(pid: int) -> float:
    """utime + stime of process `pid` (all its threads) so far, in seconds (0 if it is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def machine() -> dict[str, Any]:
    """What the figures were measured on, recorded in every result so runs on different machines are not mixed."""
    return {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()}


def provenance(began: float) -> dict[str, Any]:
    """The last fields of every result line: elapsed_s since `began` (time.monotonic()), date and machine().

    They say when, where and how long a figure was measured; one place keeps the three scripts' lines alike.
    """
    return {"elapsed_s": round(time.monotonic() - began, 1), "date": time.strftime("%Y-%m-%d"), "machine": machine()}


def pct(values: list[float], p: float) -> float:
    """Nearest-rank percentile: the smallest value with at least p% of the values at or below it."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), math.ceil(round(p / 100 * len(ordered), 9))))
    return ordered[rank - 1]


def summary_ms(ns_values: list[int]) -> dict[str, float]:
    """p50/p90/p99/max in milliseconds of nanosecond samples."""
    ms = [v / 1e6 for v in ns_values]
    return {
        "p50_ms": round(pct(ms, 50), 3),
        "p90_ms": round(pct(ms, 90), 3),
        "p99_ms": round(pct(ms, 99), 3),
        "max_ms": round(max(ms), 3),
        "n": len(ms),
    }


def is_postgres(url: str | None) -> bool:
    return bool(url) and url.startswith("postgresql")


async def pg_connect(url: str) -> Any:
    """A plain asyncpg connection to the database of a SQLAlchemy `postgresql+asyncpg://` URL (for baselines)."""
    import asyncpg
    from sqlalchemy.engine import make_url

    target = make_url(url)
    return await asyncpg.connect(
        user=target.username,
        password=target.password,
        host=target.query.get("host") or target.host,
        port=target.port,
        database=target.database,
    )


if __name__ == "__main__" and sys.argv[1:2] == ["sweep"] and len(sys.argv) == 3:
    # run_all.sh: end what a benchmark killed by SIGKILL left under BENCH_ROOT
    for pid in sweep(sys.argv[2]):
        log(f"ended leftover process {pid}")
