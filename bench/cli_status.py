"""Wall time of `ecco node status --json` against a running daemon, and where its start-up time goes.

Starts a real daemon with `ecco up`, then runs, interleaved, RUNS times each (as subprocesses, wall clock):
  * `ecco node status --node N --json` (the console script of this venv): the figure;
  * `python -c pass` with the same interpreter: the baseline (interpreter + site start-up);
  * `python -c "import ecco.cli.main"`: the CLI's import cost alone (to split imports from the RPC work);
  * `python -c "import grpc"`: the floor of any command that talks to the node (grpc also imports asyncio).
Then runs the status command IMPORTTIME_RUNS times under `python -X importtime` and reports the 10 modules with the
largest cumulative import time (median over runs), and the 10 largest non-ecco imports made directly by ecco
modules (the candidates for lazy imports).

Prints one JSON line. Run: .venv/bin/python bench/cli_status.py
"""

from __future__ import annotations

import json
import re
import shutil
import statistics
import sys
import time
from collections import defaultdict
from typing import Any

from _common import bench_home, clean_env, ecco_cli, log, pct, provenance, run, stop_daemon

RUNS = 30
IMPORTTIME_RUNS = 3
GOAL_MS = 150.0
BUDGET_S = 50.0
NODE = "status"
IMPORT_LINE = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \| ( *)(\S+)\s*$")


def parse_importtime(stderr: str) -> list[dict[str, Any]]:
    """Entries of -X importtime with their importer (the output lists children before their parent)."""
    entries = []
    for line in stderr.splitlines():
        match = IMPORT_LINE.match(line)
        if match:
            self_us, cumulative_us, indent, name = match.groups()
            entries.append(
                {
                    "module": name,
                    "self_us": int(self_us),
                    "cumulative_us": int(cumulative_us),
                    "level": len(indent) // 2,
                }
            )
    stack: list[tuple[int, str]] = []
    for entry in reversed(entries):
        while stack and stack[-1][0] >= entry["level"]:
            stack.pop()
        entry["imported_by"] = stack[-1][1] if stack else "(main)"
        stack.append((entry["level"], entry["module"]))
    return entries


def import_report(runs: list[list[dict[str, Any]]]) -> dict[str, Any]:
    cumulative: dict[str, list[int]] = defaultdict(list)
    self_time: dict[str, list[int]] = defaultdict(list)
    importer: dict[str, str] = {}
    for entries in runs:
        for entry in entries:
            cumulative[entry["module"]].append(entry["cumulative_us"])
            self_time[entry["module"]].append(entry["self_us"])
            importer[entry["module"]] = entry["imported_by"]

    def row(name: str) -> dict[str, Any]:
        return {
            "module": name,
            "cumulative_ms": round(statistics.median(cumulative[name]) / 1000, 1),
            "self_ms": round(statistics.median(self_time[name]) / 1000, 1),
            "imported_by": importer[name],
        }

    ranked = sorted(cumulative, key=lambda n: statistics.median(cumulative[n]), reverse=True)
    lazy = [n for n in ranked if not n.startswith("ecco") and importer[n].startswith("ecco")]
    total = sum(statistics.median(v) for n, v in cumulative.items() if importer[n] == "(main)")
    return {
        "all_imports_ms": round(total / 1000, 1),
        "top10_cumulative": [row(n) for n in ranked[:10]],
        "top10_imported_directly_by_ecco": [row(n) for n in lazy[:10]],
    }


def median_ms(values: list[float]) -> float:
    return round(statistics.median(values) * 1000, 1)


def main() -> int:
    began = time.monotonic()
    deadline = began + BUDGET_S
    home = bench_home("ebs")
    env = clean_env(home)
    status_cmd = [*ecco_cli(), "node", "status", "--node", NODE, "--json"]
    commands = {
        "status": status_cmd,
        "python_pass": [sys.executable, "-c", "pass"],
        "import_cli": [sys.executable, "-c", "import ecco.cli.main"],
        "import_grpc": [sys.executable, "-c", "import grpc"],
    }
    times: dict[str, list[float]] = {name: [] for name in commands}
    imports: list[list[dict[str, Any]]] = []
    try:
        pid = run([*ecco_cli(), "up", "--name", NODE, "--json"], env, timeout=40).json()["pid"]
        log(f"node {NODE} up (pid {pid})")
        for cmd in commands.values():  # warm the page cache once
            run(cmd, env)
        for _ in range(RUNS):
            if time.monotonic() > deadline:
                break
            for name, cmd in commands.items():
                ran = run(cmd, env)
                if name == "status" and json.loads(ran.stdout)["pid"] != pid:
                    raise RuntimeError(f"unexpected status output: {ran.stdout}")
                times[name].append(ran.seconds)
        for _ in range(IMPORTTIME_RUNS):
            if time.monotonic() > deadline:
                break
            ran = run([sys.executable, "-X", "importtime", *script_args(status_cmd)], env)
            imports.append(parse_importtime(ran.stderr))
    finally:
        stop_daemon(home, NODE)
        shutil.rmtree(home, ignore_errors=True)

    status_ms = median_ms(times["status"])
    pass_ms = median_ms(times["python_pass"])
    import_ms = median_ms(times["import_cli"])
    grpc_ms = median_ms(times["import_grpc"])
    result = {
        "benchmark": "cli_status",
        "figure": "wall time of `ecco node status --json` against a running daemon (median)",
        "value": status_ms,
        "unit": "ms (median)",
        "goal": f"< {GOAL_MS:g} ms",
        "goal_met": status_ms < GOAL_MS,
        "runs": len(times["status"]),
        "p90_ms": round(pct(times["status"], 90) * 1000, 1),
        "baseline": {"python_-c_pass_ms": pass_ms},
        "ratio": {"vs_python_pass": round(status_ms / pass_ms, 2)},
        "breakdown": {
            "python_-c_import_grpc_ms": grpc_ms,
            "python_-c_import_ecco.cli.main_ms": import_ms,
            "imports_beyond_bare_python_ms": round(import_ms - pass_ms, 1),
            "rest_(node lookup, channel, RPC, JSON)_ms": round(status_ms - import_ms, 1),
        },
        "importtime": import_report(imports) if imports else None,
        **provenance(began),
    }
    sys.stdout.write(json.dumps(result) + "\n")
    return 0


def script_args(status_cmd: list[str]) -> list[str]:
    """The status command as arguments to the interpreter (the console script path, or -m ecco)."""
    return status_cmd[1:] if status_cmd[0] == sys.executable else status_cmd


if __name__ == "__main__":
    sys.exit(main())
