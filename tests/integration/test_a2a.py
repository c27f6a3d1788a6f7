"""Every node an A2A citizen, checked against the official a2a-sdk on the other side: `--responder a2a:<url>`
answers ecco requests through an a2a-sdk agent, and `--a2a-listen` serves an agent card and JSON-RPC endpoint that
a2a-sdk's client uses to reach ecco agents by capability or peer id."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from a2a.client import A2ACardResolver, A2AClientError, ClientConfig, ClientFactory
from a2a.helpers.proto_helpers import get_artifact_text, new_text_message
from a2a.types.a2a_pb2 import AgentCard, GetTaskRequest, Part, SendMessageRequest, TaskState
from a2a.utils.errors import InvalidParamsError
from google.protobuf import struct_pb2

from tests.e2e.conftest import Lines, free_port, stop_process
from tests.integration.conftest import Ecco, up

pytestmark = pytest.mark.integration

HERE = Path(__file__).resolve().parent
PEER_TOKEN = "a2a-peer-token-0123456789"
LISTEN_TOKEN = "a2a-listen-token-0123456789"


@pytest.fixture
def a2a_peer() -> Iterator[tuple[int, Lines]]:
    """The a2a-sdk agent (tests/integration/a2a_peer.py) on a random loopback port."""
    process = subprocess.Popen(
        [sys.executable, str(HERE / "a2a_peer.py"), PEER_TOKEN, "300"],
        stdout=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
    )
    try:
        lines = Lines(process.stdout)
        yield json.loads(lines.wait_for(lambda line: '"port"' in line, 30))["port"], lines
    finally:
        stop_process(process)


def test_a2a_responder_answers_requests_through_an_a2a_sdk_agent(ecco: Ecco, a2a_peer: tuple[int, Lines]) -> None:
    port, seen = a2a_peer
    responder = f"a2a:http://127.0.0.1:{port}/a2a/v1"
    with_token = {"ECCO_A2A_RESPONDER_TOKEN": PEER_TOKEN}
    alice = ecco.ok("up", "--name", "alice", "--responder", responder, "--json", env=with_token).json()
    alice_addr = alice["listenAddresses"][0]
    up(ecco, "bob", "--bootstrap", alice_addr)

    answered = ecco.ok("request", alice["peerId"], "--prompt", "what is A2A?", "--node", "bob")
    assert answered.stdout == "a2a-peer: what is A2A?\n"
    assert json.loads(seen.wait_for(lambda line: "what is A2A?" in line, 10)) == {"text": "what is A2A?"}

    # The agent's failed task is an error reply, with the agent's reason.
    refused = ecco("request", alice["peerId"], "--prompt", "please fail", "--node", "bob", "--json")
    assert refused.code != 0 and "the peer refused" in refused.stderr + refused.stdout


def test_a_bad_a2a_responder_url_is_refused_before_the_node_starts(ecco: Ecco) -> None:
    bad = ecco("up", "--name", "nope", "--responder", "a2a:ftp://example", "--json")
    error = bad.json()["error"]
    assert bad.code == 2 and (error["reason"], error["field"]) == ("INVALID_ARGUMENT", "--responder")
    assert "a2a:<url>" in error["message"]


async def _client(port: int, token: str) -> tuple[Any, AgentCard]:
    """a2a-sdk's client for the node's endpoint, built from the card it resolves (and parses) itself."""
    http = httpx.AsyncClient(headers={"authorization": f"Bearer {token}"}, timeout=60)
    card = await A2ACardResolver(http, f"http://127.0.0.1:{port}").get_agent_card()
    return ClientFactory(ClientConfig(streaming=False, httpx_client=http)).create(card), card


async def _send(client: Any, message: Any) -> Any:
    (response,) = [item async for item in client.send_message(SendMessageRequest(message=message))]
    return response


def _data_part(document: dict[str, Any]) -> Part:
    value = struct_pb2.Value()
    value.struct_value.update(document)
    return Part(data=value)


async def test_a2a_listen_serves_a_card_and_reaches_ecco_agents_from_an_a2a_sdk_client(
    ecco: Ecco, tmp_path: Path
) -> None:
    carol = up(ecco, "carol", "--capability", "translate", "--responder", "exec:tr a-z A-Z")
    port = free_port()
    token_file = tmp_path / "a2a.token"
    token_file.write_text(LISTEN_TOKEN + "\n")
    up(
        ecco,
        "dave",
        "--capability",
        "summarize",
        "--bootstrap",
        carol["addr"],
        "--a2a-listen",
        f"127.0.0.1:{port}",
        "--a2a-token-file",
        str(token_file),
    )
    client, card = await _client(port, LISTEN_TOKEN)
    try:
        assert [skill.id for skill in card.skills] == ["summarize"]
        assert card.supported_interfaces[0].url == f"http://127.0.0.1:{port}/a2a/v1"
        assert "bearer" in card.security_schemes

        # By capability, in the text form: the best provider (carol) answers; the reply is the task's artifact.
        response = await _send(client, new_text_message("capability:translate bonjour", role=1))
        assert response.task.status.state == TaskState.TASK_STATE_COMPLETED
        assert get_artifact_text(response.task.artifacts[0]) == "BONJOUR"

        # By peer id, in a data part.
        message = new_text_message("hello carol", role=1)
        message.parts.append(_data_part({"peerId": carol["peerId"]}))
        response = await _send(client, message)
        assert get_artifact_text(response.task.artifacts[0]) == "HELLO CAROL"

        # GetTask finds the finished task again.
        again = await client.get_task(GetTaskRequest(id=response.task.id))
        assert again.status.state == TaskState.TASK_STATE_COMPLETED

        # No provider of a capability: the task fails with the reason, the node keeps serving.
        response = await _send(client, new_text_message("capability:astrology next week?", role=1))
        assert response.task.status.state == TaskState.TASK_STATE_FAILED
        assert "NO_PROVIDER_FOUND" in response.task.status.message.parts[0].text

        # No target at all: a JSON-RPC error that says how to name one.
        with pytest.raises(InvalidParamsError, match="capability:<name>"):
            await _send(client, new_text_message("just text", role=1))
    finally:
        await client.close()

    # Without the token, the endpoint refuses.
    stranger, _ = await _client(port, "wrong-token")
    try:
        with pytest.raises(A2AClientError):
            await _send(stranger, new_text_message("capability:translate hi", role=1))
    finally:
        await stranger.close()


def test_a2a_mode_bridge_answers_requests_with_the_a2a_agents_reply(
    ecco: Ecco, a2a_peer: tuple[int, Lines], tmp_path: Path
) -> None:
    """The embedded bridge in A2A mode, against a2a-sdk's server standing in for OpenClaw's A2A channel: the
    requester gets the agent's reply (or its failure) with no `ecco send` by anyone."""
    port, _ = a2a_peer
    token_file = tmp_path / "a2a-peer.token"
    token_file.write_text(PEER_TOKEN + "\n")
    erin = up(
        ecco,
        "erin",
        "--webhook-bridge",
        "--webhook-mode",
        "a2a",
        "--webhook-openclaw-port",
        str(port),
        "--webhook-token-file",
        str(token_file),
    )
    up(ecco, "frank", "--bootstrap", erin["addr"])

    answered = ecco.ok("request", erin["peerId"], "--prompt", "hello bridge", "--node", "frank")
    assert answered.stdout == "a2a-peer: hello bridge\n"
    refused = ecco("request", erin["peerId"], "--prompt", "please fail", "--node", "frank", "--json")
    assert refused.code != 0 and "the peer refused" in refused.stderr + refused.stdout

    status = ecco.ok("webhook-bridge", "status", "--node", "erin", "--json").json()
    assert status["running"] and status["providerHookPath"] == "/a2a/v1"
    assert (status["deliveredCount"], status["deadLetterCount"], status["pendingCount"]) == (2, 0, 0)
