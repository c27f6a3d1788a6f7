"""Two-way agents with the real OpenClaw gateway's A2A channel (the fake model; ecco is OpenClaw's A2A peer `ecco`,
configured as in conftest.a2a_channel and the README): a request to a node whose bridge runs in A2A mode is answered
with the OpenClaw agent's reply and no `ecco send` by anyone; the OpenClaw agent asks an ecco capability through the
node's A2A endpoint and gets the reply; and a gateway stopped and restarted mid-task still yields exactly one answer."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import (
    A2A_INBOUND_TOKEN,
    A2A_OUTBOUND_TOKEN,
    WAIT_S,
    Ecco,
    FakeModel,
    Gateway,
    a2a_channel,
    up,
)
from tests.integration.conftest import list_events

# One gateway start (20-90 s on a shared machine), agent turns of 15-40 s each, and one restart.
pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]
REQUEST_TIMEOUT_MS = "240000"
# A restart costs a gateway start (minutes under load) plus the bridge's backoff (up to 30 s) plus a cold turn.
RESTART_TIMEOUT_MS = "600000"
AGENT_WAIT_S = 180.0  # an OpenClaw agent turn takes 15-40 s on this shared machine, cold


def secret_file(tmp_path: Path, name: str, token: str) -> str:
    path = tmp_path / name
    path.write_text(token + "\n")
    path.chmod(0o600)
    return str(path)


def expected_reply(seen: str) -> str:
    """What the fake model answers to a chat whose user text is `seen`."""
    return "FAKE-REPLY: " + seen[-120:].replace("\n", " ")


def test_a_request_to_a_node_with_an_a2a_bridge_prints_the_openclaw_agents_answer(
    ecco: Ecco, openclaw: Gateway, fake_model: FakeModel, tmp_path: Path
) -> None:
    alice = up(ecco, "alice")
    up(ecco, "bob", "--bootstrap", alice["addr"])
    bridge = ecco.follow(
        "webhook-bridge",
        "--node",
        "alice",
        "--mode",
        "a2a",
        "--openclaw-port",
        str(openclaw.port),
        "--token-file",
        secret_file(tmp_path, "a2a.token", A2A_INBOUND_TOKEN),
        "--json",
        "--verbose",
    )
    try:
        assert bridge.next_json(timeout=WAIT_S)["event"] == "attached"
        prompt = "Name a prime number between 10 and 20"
        answered = ecco.ok(
            "request", alice["peerId"], "--prompt", prompt, "--timeout", REQUEST_TIMEOUT_MS, "--node", "bob"
        )
        delivery = bridge.next_json(timeout=WAIT_S)
    finally:
        bridge.stop()
    seen = fake_model.wait_for_prompt(prompt)
    assert answered.stdout == expected_reply(seen) + "\n"
    assert (delivery["path"], delivery["httpStatus"], delivery["outcome"]) == ("/a2a/v1", 200, "delivered")
    assert delivery["runId"]  # OpenClaw's A2A task id


def test_the_openclaw_agent_asks_an_ecco_capability_and_gets_the_reply(
    ecco: Ecco, openclaw: Gateway, fake_model: FakeModel, tmp_path: Path
) -> None:
    carol = up(ecco, "carol", "--capability", "translate", "--responder", "exec:tr a-z A-Z")
    # dave is OpenClaw's A2A peer `ecco`: OpenClaw's message tool does not wait for answers, so dave pushes each
    # reply back to OpenClaw's A2A endpoint, where it reaches the agent as a message from `ecco`.
    ecco.env["ECCO_A2A_REPLY_TOKEN"] = A2A_INBOUND_TOKEN
    up(
        ecco,
        "dave",
        "--bootstrap",
        carol["addr"],
        "--a2a-listen",
        f"127.0.0.1:{openclaw.ecco_a2a_port}",
        "--a2a-token-file",
        secret_file(tmp_path, "ecco-a2a.token", A2A_OUTBOUND_TOKEN),
        "--a2a-reply-url",
        f"http://127.0.0.1:{openclaw.port}/a2a/v1",
    )
    # Someone asks OpenClaw's agent (here over A2A too); the fake model makes the agent use its `message` tool.
    request = {
        "jsonrpc": "2.0",
        "id": "t1",
        "method": "SendMessage",
        "params": {
            "message": {
                "messageId": str(uuid.uuid4()),
                "role": "ROLE_USER",
                "parts": [{"text": "SEND_TO_ECCO capability:translate bonjour openclaw"}],
            }
        },
    }
    headers = {"authorization": f"Bearer {A2A_INBOUND_TOKEN}"}
    started = httpx.post(f"http://127.0.0.1:{openclaw.port}/a2a/v1", json=request, headers=headers, timeout=120)
    assert started.status_code == 200, started.text
    # The tool reports the message sent; the ecco agent's answer (carol's) then reaches OpenClaw's agent.
    sent = fake_model.lines.wait_for(lambda line: "deliveryStatus" in "".join(json.loads(line)["tools"]), AGENT_WAIT_S)
    assert '"channel": "a2a"' in json.loads(sent)["tools"][0]
    seen = fake_model.wait_for_prompt("BONJOUR OPENCLAW", AGENT_WAIT_S)
    assert "ecco reply to message" in seen


def test_a_gateway_stopped_mid_task_and_restarted_still_yields_exactly_one_answer(
    ecco: Ecco, openclaw: Gateway, fake_model: FakeModel, tmp_path: Path
) -> None:
    """Last in this module: it restarts the session's gateway. The embedded bridge in A2A mode retries the request
    when its call is cut off (OpenClaw keeps A2A tasks in memory only, so the old task is gone); a gateway stopped
    with SIGTERM may also finish the run in flight before it exits. Either way the requester gets one answer."""
    erin = up(
        ecco,
        "erin",
        "--webhook-bridge",
        "--webhook-mode",
        "a2a",
        "--webhook-openclaw-port",
        str(openclaw.port),
        "--webhook-token-file",
        secret_file(tmp_path, "a2a.token", A2A_INBOUND_TOKEN),
    )
    up(ecco, "frank", "--bootstrap", erin["addr"])
    prompt = "SLOW_REPLY: survive a gateway restart"
    request = ecco.follow(
        "request", erin["peerId"], "--prompt", prompt, "--timeout", RESTART_TIMEOUT_MS, "--node", "frank", "--json"
    )
    try:
        try:  # the agent's run is under way; the model answers in 8 s
            fake_model.wait_for_prompt(prompt, AGENT_WAIT_S)
        except AssertionError as error:
            raise AssertionError(f"{error}\nthe request: {request.stop()}") from None
        openclaw.stop()
        openclaw.start()
        reply = request.next_json(timeout=float(RESTART_TIMEOUT_MS) / 1000)
        assert request.process.wait(timeout=WAIT_S) == 0, reply
    finally:
        request.stop()
    assert reply["text"].startswith("FAKE-REPLY: ") and not reply.get("error")
    responses = [
        event
        for event in list_events(ecco, "frank", "agent-response")
        if event["requestId"] == reply["requestId"] and event["direction"] == "inbound"
    ]
    assert len(responses) == 1
    status = ecco.ok("webhook-bridge", "status", "--node", "erin", "--json").json()
    assert (status["deliveredCount"], status["deadLetterCount"], status["pendingCount"]) == (1, 0, 0)


def test_the_readme_shows_the_openclaw_configuration_these_tests_run() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    block = readme.split("<!-- openclaw-a2a-config -->\n```json\n", 1)[1].split("```", 1)[0]
    assert json.loads(block) == {"channels": {"a2a": a2a_channel(7450)}}
