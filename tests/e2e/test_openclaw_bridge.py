"""The webhook bridge against the real OpenClaw gateway (hooks on, a mapping per bridge path, the fake model):
a request from another ecco node reaches OpenClaw's agent, the agent's reply recipe works, OpenClaw itself refuses a
wrong token, and the bridge embedded in `ecco up` reports its counts through BridgeService."""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import WAIT_S, Ecco, FakeModel, Gateway, LineReader, up, wait_for_event

pytestmark = pytest.mark.integration


def token_file(tmp_path: Path, token: str) -> str:
    path = tmp_path / "hook.token"
    path.write_text(token + "\n")
    path.chmod(0o600)
    return str(path)


def two_nodes(ecco: Ecco, provider: str, requester: str, *provider_args: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """A provider node and a requester node that dialled it."""
    first = up(ecco, provider, *provider_args)
    second = up(ecco, requester, "--bootstrap", first["addr"])
    return first, second


def send_request(ecco: Ecco, sender: str, to: dict[str, Any], prompt: str) -> str:
    """An agent-request from `sender`; returns its message id (the requestId)."""
    payload = json.dumps({"prompt": prompt})
    sent = ecco.ok("send", to["peerId"], "--type", "agent-request", "--payload", payload, "--node", sender, "--json")
    return str(sent.json()["messageId"])


def bridge_process(ecco: Ecco, node: str, gateway: Gateway, token_path: str) -> LineReader:
    bridge = ecco.follow(
        "webhook-bridge",
        "--node",
        node,
        "--openclaw-port",
        str(gateway.port),
        "--token-file",
        token_path,
        "--json",
        "--verbose",
    )
    attached = bridge.next_json(timeout=WAIT_S)
    assert attached["event"] == "attached" and attached["node"] == node
    return bridge


def test_a_request_from_another_node_reaches_openclaw_and_the_reply_recipe_answers_it(
    ecco: Ecco, openclaw: Gateway, fake_model: FakeModel, tmp_path: Path
) -> None:
    alice, _ = two_nodes(ecco, "alice", "bob")
    bridge = bridge_process(ecco, "alice", openclaw, token_file(tmp_path, openclaw.hook_token))
    try:
        request_id = send_request(ecco, "bob", alice, "Review this function for off-by-one errors")
        delivery = bridge.next_json(timeout=WAIT_S)
        # What OpenClaw's agent was given, as its model saw it: the request and the exact reply command.
        seen = fake_model.wait_for_prompt(request_id)
    finally:
        bridge.stop()
    assert delivery["event"] == "delivery" and delivery["type"] == "agent-request"
    assert (delivery["path"], delivery["httpStatus"], delivery["outcome"]) == ("/hooks/ecco-provider", 200, "delivered")
    completed = f"hook agent run completed runId={delivery['runId']} "
    assert "status=ok" in openclaw.lines.wait_for(lambda line: completed in line, WAIT_S)
    assert "Review this function for off-by-one errors" in seen
    command = next(line.strip() for line in seen.splitlines() if line.strip().startswith("ecco send"))

    # The agent answers the way the message tells it to; the requester gets the response.
    argv = shlex.split(command)
    payload = json.loads(argv[-1])
    assert payload["requestId"] == request_id
    payload["response"]["text"] = "no off-by-one found"
    ecco.ok(*argv[1:-1], json.dumps(payload))
    response = wait_for_event(
        ecco, "bob", lambda e: e["direction"] == "inbound" and e["requestId"] == request_id, "agent-response"
    )
    assert response["payload"]["response"]["text"] == "no off-by-one found"
    status = ecco.ok("webhook-bridge", "status", "--node", "alice", "--json").json()
    assert not status["running"] and status["consumerCursor"] == status["lastDeliveredCursor"] > 0


def test_openclaw_refuses_a_wrong_token_and_the_bridge_keeps_it_as_a_dead_letter(
    ecco: Ecco, openclaw: Gateway, tmp_path: Path
) -> None:
    carol, _ = two_nodes(ecco, "carol", "dave")
    bridge = bridge_process(ecco, "carol", openclaw, token_file(tmp_path, "not-the-hook-token"))
    try:
        send_request(ecco, "dave", carol, "anything")
        delivery = bridge.next_json(timeout=WAIT_S)
        status = ecco.ok("webhook-bridge", "status", "--node", "carol", "--json").json()
    finally:
        bridge.stop()
    assert (delivery["httpStatus"], delivery["outcome"], delivery["attempts"]) == (401, "dead-letter", 1)
    assert status["running"] and status["failedCount"] == 1 and status["deadLetterCount"] == 1
    assert status["lastError"] == "HTTP 401 from /hooks/ecco-provider: Unauthorized"
    letters = ecco.ok("webhook-bridge", "dead-letters", "--node", "carol", "--json").json()
    assert [d["event"]["type"] for d in letters["deadLetters"]] == ["agent-request"]
    assert letters["deadLetters"][0]["lastHttpStatus"] == 401


def test_embedded_bridge_delivers_and_reports_through_bridge_service(
    ecco: Ecco, openclaw: Gateway, fake_model: FakeModel, tmp_path: Path
) -> None:
    erin, _ = two_nodes(
        ecco,
        "erin",
        "frank",
        "--webhook-bridge",
        "--webhook-openclaw-port",
        str(openclaw.port),
        "--webhook-token-file",
        token_file(tmp_path, openclaw.hook_token),
        "--webhook-hook-path",
        "/hooks/not-mapped",
    )
    request_id = send_request(ecco, "frank", erin, "Embedded bridge, please translate 'hello'")
    chunk = json.dumps({"requestId": "r-unmapped", "chunk": "partial"})
    ecco.ok("send", erin["peerId"], "--type", "stream-chunk", "--payload", chunk, "--node", "frank")
    # Deliveries are in order, so once the chunk (sent to an unmapped path: 404) is a dead letter, the request
    # before it has been delivered and recorded.
    failed = wait_for_event(ecco, "erin", lambda e: True, "bridge-delivery-failed")
    assert failed["payload"]["httpStatus"] == 404 and failed["payload"]["hookPath"] == "/hooks/not-mapped"
    assert "translate 'hello'" in fake_model.wait_for_prompt(request_id)
    status = ecco.ok("webhook-bridge", "status", "--node", "erin", "--json").json()
    assert status["running"] and status["openclawUrl"] == f"http://127.0.0.1:{openclaw.port}"
    assert (status["deliveredCount"], status["failedCount"], status["deadLetterCount"]) == (1, 1, 1)
    assert status["pendingCount"] == 0 and status["lastError"].startswith("HTTP 404 from /hooks/not-mapped")
    shown = ecco.ok("config", "show", "--node", "erin", "--json").stdout
    assert openclaw.hook_token not in shown
