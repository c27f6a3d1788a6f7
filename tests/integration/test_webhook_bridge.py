"""`ecco webhook-bridge` as a real process against a real daemon: killed with SIGKILL mid-delivery and restarted, it
delivers every event at least once, repeating only the one it had not recorded (same Idempotency-Key). The hooks
endpoint is a small HTTP server in the test that can hold a request; the real gateway is in tests/e2e."""

from __future__ import annotations

import json
import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.integration.conftest import Ecco, LineReader, up

pytestmark = pytest.mark.integration
TOKEN = "hook-token-for-the-restart-test"
WAIT_S = 30.0


@dataclass
class HoldingHooks:
    """Records every POST; the request numbered `hold_at` (1-based) is answered only once `release` is set."""

    hold_at: int
    release: threading.Event = field(default_factory=threading.Event)
    arrived: queue.Queue[dict[str, Any]] = field(default_factory=queue.Queue)
    count: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def handler(self) -> type[BaseHTTPRequestHandler]:
        hooks = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("content-length") or 0)))
                with hooks.lock:
                    hooks.count += 1
                    number = hooks.count
                hooks.arrived.put(
                    {"key": self.headers.get("Idempotency-Key"), "auth": self.headers["Authorization"], **body}
                )
                if number == hooks.hold_at:
                    hooks.release.wait(WAIT_S)
                answer = b'{"ok":true,"runId":"r"}'
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

        return Handler

    def next(self) -> dict[str, Any]:
        return self.arrived.get(timeout=WAIT_S)


@pytest.fixture
def hooks() -> Iterator[tuple[HoldingHooks, int]]:
    holding = HoldingHooks(hold_at=3)
    server = ThreadingHTTPServer(("127.0.0.1", 0), holding.handler())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield holding, server.server_address[1]
    finally:
        holding.release.set()
        server.shutdown()
        server.server_close()
        thread.join(10)


def start_bridge(ecco: Ecco, port: int, token_file: Path) -> tuple[LineReader, dict[str, Any]]:
    bridge = ecco.follow(
        "webhook-bridge",
        "--node",
        "alice",
        "--openclaw-port",
        str(port),
        "--token-file",
        str(token_file),
        "--json",
        "--verbose",
    )
    return bridge, bridge.next_json(timeout=WAIT_S)


def test_bridge_killed_mid_delivery_resumes_and_repeats_only_the_unrecorded_event(
    ecco: Ecco, hooks: tuple[HoldingHooks, int], tmp_path: Path
) -> None:
    holding, port = hooks
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN)
    alice = up(ecco, "alice")
    up(ecco, "bob", "--bootstrap", alice["addr"])
    sent = []
    for n in range(5):
        payload = json.dumps({"prompt": f"job {n}"})
        reply = ecco.ok(
            "send", alice["peerId"], "--type", "agent-request", "--payload", payload, "--node", "bob", "--json"
        )
        sent.append(reply.json()["messageId"])

    bridge, attached = start_bridge(ecco, port, token_file)
    assert attached["resumeAfterCursor"] == 0
    try:
        first = [bridge.next_json(timeout=WAIT_S) for _ in range(2)]
        held = [holding.next() for _ in range(3)][-1]  # the third request is at the "gateway", unanswered
    finally:
        bridge.process.kill()
        bridge.process.wait(timeout=WAIT_S)
    assert [d["outcome"] for d in first] == ["delivered", "delivered"]
    assert held["requestId"] == sent[2] and held["auth"] == f"Bearer {TOKEN}"
    holding.release.set()

    restarted, attached = start_bridge(ecco, port, token_file)
    try:
        assert attached["resumeAfterCursor"] == first[-1]["cursor"]
        after = [restarted.next_json(timeout=WAIT_S) for _ in range(3)]
        status = ecco.ok("webhook-bridge", "status", "--node", "alice", "--json").json()
    finally:
        restarted.stop()
    received = [held] + [holding.next() for _ in range(3)]
    assert [r["requestId"] for r in received] == sent[2:3] + sent[2:]
    assert received[0]["key"] == received[1]["key"] == held["eventId"]  # the repeat carries the same key
    assert [d["outcome"] for d in after] == ["delivered"] * 3
    assert status["running"] and status["deliveredCount"] == 3 and status["pendingCount"] == 0
    assert status["consumerCursor"] == after[-1]["cursor"]
    assert holding.arrived.empty()


def test_bridge_reattaches_after_its_node_restarts(ecco: Ecco, hooks: tuple[HoldingHooks, int], tmp_path: Path) -> None:
    holding, port = hooks
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN)
    up(ecco, "alice")
    bridge, _ = start_bridge(ecco, port, token_file)
    try:
        ecco.ok("node", "stop", "--node", "alice")
        alice = up(ecco, "alice")
        again = bridge.next_json(timeout=WAIT_S)
        assert again["event"] == "attached"
        up(ecco, "bob", "--bootstrap", alice["addr"])
        payload = json.dumps({"prompt": "after the restart"})
        ecco.ok("send", alice["peerId"], "--type", "agent-request", "--payload", payload, "--node", "bob")
        delivery = bridge.next_json(timeout=WAIT_S)
    finally:
        bridge.stop()
    assert (delivery["event"], delivery["outcome"]) == ("delivery", "delivered")
    assert holding.next()["payload"] == {"prompt": "after the restart"}
