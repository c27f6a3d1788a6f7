"""Sampling profiles of running daemons with py-spy, grouped into the costs the request path is made of.

Not a benchmark (run_all.sh skips files starting with "_"). `request_rtt.py` uses it when BENCH_PROFILE_DIR is set:
it records both daemons during the sequential phase and during the 32-in-flight phase, and adds the grouped
percentages to its JSON line. `python bench/_profile.py FILE.txt...` prints the groups of saved profiles, and
`python bench/_profile.py idle N SECONDS` starts N nodes, lets them idle, and profiles one of them.

py-spy samples every thread that is running Python (idle threads — waiting in epoll, on a lock — are left out), with
`--nonblocking`, so the daemons are not paused while sampled. Each sample is charged to one group: the innermost frame
whose file matches a rule of GROUPS (frames of other stdlib modules, e.g. `dataclasses` or `uuid`, are charged to the
caller that matches). The order of GROUPS matters: the first rule that matches a frame wins.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

SAMPLE_RATE_HZ = 250

# Leaves where a thread waits, not computes. py-spy leaves a thread out while it sleeps in the kernel, but on a
# loaded machine a thread just woken and waiting for a CPU still counts as running; these samples are reported as
# "waiting" and left out of the percentages. Line numbers are those of the pinned versions (aiosqlite 0.22, Python
# 3.11, trio) and of ecco/store/sqlite_events.py; the COMMIT line is the fsync of a durable append.
WAITING = (
    "selectors.py:468)",  # asyncio's epoll_wait
    "_io_epoll.py:243)",  # trio's epoll_wait
    "aiosqlite/core.py:59)",  # aiosqlite's worker waiting for a job
    "_StoreThread.run (ecco/store/sqlite_events.py:161)",  # the event store's writer waiting for a job
    "_StoreThread._commit (ecco/store/sqlite_events.py:213)",  # COMMIT: fsync (synchronous=FULL)
    "_worker (concurrent/futures/thread.py:81)",  # the default executor waiting for a job
    "Thread.run (threading.py:982)",  # a thread running a C target (grpc's poller, a queue wait)
)

# (group, substrings of a frame's "function (file:line)" text); the innermost matching frame decides.
GROUPS: list[tuple[str, tuple[str, ...]]] = [
    ("SQLAlchemy + aiosqlite (reputation, payments)", ("sqlalchemy/", "aiosqlite/", "ecco/store/reputation.py")),
    ("logging", ("logging/__init__.py", "ecco/logs.py", "ecco/transport/logs.py")),
    ("JSON / canonical JSON", ("json/", "canonical_json", "encode_frame", "decode_frame", "_payload_json")),
    (
        "signing / verification",
        ("cryptography/", "nacl/", "ecco/identity.py", "ecco/transport/keys.py", "sign_message"),
    ),
    ("SQLite event append", ("sqlite3", "ecco/store/")),
    ("event log (publish, subscribers)", ("ecco/services/events/",)),
    (
        "trio thread crossing",
        (
            "_wakeup_socketpair",
            "_write_to_self",
            "run_sync_soon",
            "call_soon_threadsafe",
            "run_coroutine_threadsafe",
            "ecco/transport/trio_bridge.py",
        ),
    ),
    (
        "libp2p stream open/close",
        ("new_stream", "multiselect", "_watch_outbound", "stream.close", "stream.reset", "negotiate"),
    ),
    ("libp2p read/write (Yamux, Noise)", ("libp2p/", "multiaddr/", "ecco/transport/")),
    ("trio scheduler / epoll", ("trio/",)),
    ("gRPC / asyncio", ("grpc/", "grpc_", "asyncio/", "ecco/api/", "google/protobuf")),
    ("ecco services (messaging, guard, envelope)", ("ecco/services/",)),
    ("ecco other", ("ecco/",)),
]
OTHER = "other (interpreter, GC, unattributed)"


def py_spy() -> str | None:
    """The py-spy next to this interpreter (a dev dependency), else on PATH."""
    exe = Path(sys.executable).with_name("py-spy")
    return str(exe) if exe.exists() else shutil.which("py-spy")


def start(pid: int, out: Path) -> subprocess.Popen[bytes]:
    """Record `pid` (all its threads) into `out` (collapsed stacks) until `stop()`."""
    exe = py_spy()
    if exe is None:
        raise RuntimeError("py-spy is not installed (pip install -e '.[dev]')")
    cmd = [exe, "record", "--pid", str(pid), "--nonblocking", "--rate", str(SAMPLE_RATE_HZ), "--format", "raw"]
    return subprocess.Popen([*cmd, "--output", str(out)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGINT makes py-spy write its file and exit; SIGKILL after 15 s if it does not."""
    with contextlib.suppress(ProcessLookupError):
        proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)


def group_of(stack: str) -> str:
    frames = stack.split(";")
    for frame in reversed(frames):
        for group, needles in GROUPS:
            if any(needle in frame for needle in needles):
                return group
    return OTHER


def summarise(path: Path, top: int = 0) -> dict[str, object]:
    """{"samples": n, "groups": {group: percent}, "top_leaves": [...]} of a collapsed-stack file."""
    groups: Counter[str] = Counter()
    leaves: Counter[str] = Counter()
    total = waiting = 0
    if path.exists():
        for line in path.read_text(errors="replace").splitlines():
            stack, _, count = line.rpartition(" ")
            if not count.isdigit():
                continue
            n = int(count)
            if stack.endswith(WAITING):
                waiting += n
                continue
            total += n
            groups[group_of(stack)] += n
            leaves[stack.rsplit(";", 1)[-1]] += n
    out: dict[str, object] = {
        "samples": total,
        "waiting_samples_left_out": waiting,
        "groups_pct": {g: round(100 * n / total, 1) for g, n in groups.most_common()} if total else {},
    }
    if top:
        out["top_leaves_pct"] = {leaf: round(100 * n / total, 1) for leaf, n in leaves.most_common(top)}
    return out


def thread_cpu_ns(pid: int) -> dict[int, int]:
    """CPU time so far of each live thread of `pid` (Linux schedstat), by thread id."""
    out = {}
    with contextlib.suppress(OSError):
        for tid in os.listdir(f"/proc/{pid}/task"):
            with contextlib.suppress(OSError, ValueError), open(f"/proc/{pid}/task/{tid}/schedstat") as fh:
                out[int(tid)] = int(fh.read().split()[0])
    return out


def thread_names(pid: int) -> dict[int, str]:
    """Thread id -> name: Python's name from `py-spy dump` for Python threads, the OS name (comm) for the others
    (gRPC's C-core threads, which py-spy cannot sample)."""
    names = {}
    with contextlib.suppress(OSError):
        for tid in os.listdir(f"/proc/{pid}/task"):
            with contextlib.suppress(OSError):
                names[int(tid)] = "os:" + Path(f"/proc/{pid}/task/{tid}/comm").read_text().strip()
    exe = py_spy()
    if exe is not None:
        with contextlib.suppress(Exception):
            dump = subprocess.run([exe, "dump", "--pid", str(pid), "--nonblocking"], capture_output=True, text=True)
            for line in dump.stdout.splitlines():
                if line.startswith("Thread ") and '"' in line:
                    tid = int(line.split()[1], 0)
                    names[tid] = line.split('"')[1]
    return names


def cpu_by_thread(pid: int, before: dict[int, int], ops: int) -> dict[str, float]:
    """ms of CPU per operation of each thread (by name; threads of one name summed) since `before`."""
    after, names = thread_cpu_ns(pid), thread_names(pid)
    used: Counter[str] = Counter()
    for tid, ns in after.items():
        used[names.get(tid, f"tid {tid}")] += ns - before.get(tid, 0)
    return {name: round(ns / 1e6 / max(1, ops), 3) for name, ns in used.most_common() if ns > 0}


@contextlib.contextmanager
def recording(pids: dict[str, int], directory: Path, phase: str, into: dict[str, object]):
    """Record each of `pids` during the block into DIRECTORY/PHASE-NAME.txt; put the summaries in `into[phase]`,
    with each thread's CPU per operation (the block appends its operation counts to the list it is given)."""
    directory.mkdir(parents=True, exist_ok=True)
    files = {name: directory / f"{phase}-{name}.txt" for name in pids}
    procs = {name: start(pid, files[name]) for name, pid in pids.items()}
    time.sleep(0.3)  # py-spy attaches
    before = {name: thread_cpu_ns(pid) for name, pid in pids.items()}
    ops: list[int] = []
    try:
        yield ops
    finally:
        for proc in procs.values():
            stop(proc)
    into[phase] = {
        name: {
            **summarise(files[name], top=8),
            "cpu_ms_per_op_by_thread": cpu_by_thread(pid, before[name], sum(ops)),
        }
        for name, pid in pids.items()
    }


def idle(n_nodes: int, seconds: float) -> dict[str, object]:
    """N nodes (each bootstrapped to the first), idle for SECONDS; CPU of each, and the profile of the last one."""
    import json

    from _common import bench_home, clean_env, cpu_s, dial_addr, stop_daemon, up_node

    home = bench_home("eidl")
    env = clean_env(home)
    names = [f"idle-{i}" for i in range(n_nodes)]
    started: list[str] = []
    try:
        docs = []
        for name in names:
            bootstrap = [dial_addr(docs[0])] if docs else []
            docs.append(up_node(env, name, "idle", bootstrap))
            started.append(name)
        time.sleep(5)  # start-up work (handshakes, DHT bootstrap) settles
        pids = [d["pid"] for d in docs]
        before = [cpu_s(p) for p in pids]
        out = Path(os.environ.get("BENCH_PROFILE_DIR") or home) / f"idle-{n_nodes}.txt"
        out.parent.mkdir(parents=True, exist_ok=True)
        proc = start(pids[-1], out)
        t0 = time.monotonic()
        time.sleep(seconds)
        elapsed = time.monotonic() - t0
        stop(proc)
        used = [cpu_s(p) - b for p, b in zip(pids, before, strict=True)]
        return {
            "nodes": n_nodes,
            "seconds": round(elapsed, 1),
            "cpu_pct_of_a_core_per_node": [round(100 * u / elapsed, 2) for u in used],
            "profile_of_last_node": summarise(out, top=12),
            "note": json.dumps("py-spy attached to the last node (its own sampling adds a little CPU there)"),
        }
    finally:
        for name in started:
            with contextlib.suppress(Exception):
                stop_daemon(home, name)
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    import json

    if sys.argv[1:2] == ["idle"]:
        print(json.dumps(idle(int(sys.argv[2]), float(sys.argv[3]))))
    else:
        for arg in sys.argv[1:]:
            print(json.dumps({"file": arg, **summarise(Path(arg), top=15)}))
