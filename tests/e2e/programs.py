"""Helpers of the end-to-end tests of the clients (Go, TypeScript, grpcurl): the tools `make setup` installed
(Go and the Go tools in `.bin/`; Node 24, tsc and the TS client's packages in `clients/ts/node_modules/`), and a
pair of running nodes whose agent node a client program serves.

The daemons are the integration tests' (`tests/integration/conftest.py`): real `python -m ecco` processes in a
throw-away ECCO_HOME, on 127.0.0.1.
"""

from __future__ import annotations

import os
import queue
import re
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.integration.conftest import Ecco, LineReader, up

ROOT = Path(__file__).resolve().parents[2]
TOOL_BINS = (ROOT / ".bin", ROOT / "clients" / "ts" / "node_modules" / ".bin")
BUILD_TIMEOUT_S = 300  # compiling on a shared 2-core machine; never reached when things work


def tool_env(**extra: str) -> dict[str, str]:
    """The environment for the project's tools: `.bin` and the TS client's `.bin` first on PATH."""
    path = os.pathsep.join([*map(str, TOOL_BINS), os.environ.get("PATH", "")])
    return {**os.environ, "PATH": path, **extra}


def tool(name: str) -> str:
    """The path of a tool `make setup` installed; fails (never skips) when setup did not run."""
    found = shutil.which(name, path=os.pathsep.join(map(str, TOOL_BINS)))
    assert found, f"{name} is missing: run `make setup`"
    return found


def run_tool(*args: str, cwd: Path = ROOT, timeout: float = BUILD_TIMEOUT_S, **env: str) -> str:
    """Run a tool to completion; its stdout, or an assertion naming its output when it fails."""
    done = subprocess.run(
        args, cwd=cwd, env=tool_env(**env), capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL
    )
    assert done.returncode == 0, f"{' '.join(args)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


@dataclass
class Pair:
    """Two running nodes that know each other: `agent` (unix socket + loopback TCP with a token), whose requests a
    client program answers, and `client`, which sends them."""

    ecco: Ecco
    agent: dict[str, Any]
    client: dict[str, Any]
    programs: list[LineReader] = field(default_factory=list)

    @property
    def env(self) -> dict[str, str]:
        """What a client program needs to find the agent node by name."""
        return tool_env(ECCO_HOME=str(self.ecco.home), ECCO_NODE="agent")

    def start_program(self, *args: str, cwd: Path = ROOT) -> LineReader:
        """A long-running client program whose stdout JSON lines the test reads; stopped with the pair."""
        process = subprocess.Popen(
            args,
            cwd=cwd,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            stdin=subprocess.DEVNULL,
        )
        reader = LineReader(process)
        self.programs.append(reader)
        return reader

    def request(self, prompt: str) -> dict[str, Any]:
        """`ecco request` from the client node to the agent node, as its --json document."""
        return self.ecco.ok(
            "request", self.agent["peerId"], "--prompt", prompt, "--timeout", "30000", "--node", "client", "--json"
        ).json()

    def restart_agent(self) -> None:
        """Stop the agent node and start it again (on a new port), and reconnect the client node to it."""
        self.ecco.ok("node", "stop", "--node", "agent")
        self.agent = up(self.ecco, "agent", "--api-listen", "127.0.0.1:0")
        self.ecco.ok("connect", self.agent["addr"], "--node", "client")


def next_line(program: LineReader, match: Any, timeout: float = 30) -> dict[str, Any]:
    """The program's next stdout JSON line for which `match(line)` is true; earlier lines are skipped."""
    deadline = time.monotonic() + timeout
    seen: list[Any] = []
    while (remaining := deadline - time.monotonic()) > 0:
        try:
            line = program.next_json(timeout=remaining)
        except queue.Empty:
            break
        if match(line):
            return line
        seen.append(line)
    raise AssertionError(f"no matching line within {timeout}s; saw {seen}")


def readme_snippet(language: str) -> str:
    """The README's code block in this language (the agent example of "Clients in Go and TypeScript")."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    (snippet,) = re.findall(rf"```{language}\n(.*?)```", text, re.S)
    return snippet
