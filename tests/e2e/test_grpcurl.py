"""grpcurl (built by `make setup` from the version pinned in clients/go/tools/go.mod) against a live daemon, with
the README's commands: over the unix socket, and over loopback TCP with the bearer token. Reflection is on, so
grpcurl needs no proto files."""

from __future__ import annotations

import importlib
import json
import queue
import subprocess
import time
from typing import Any

import pytest

from tests.e2e.programs import ROOT, Pair, run_tool, tool, tool_env
from tests.integration.conftest import LineReader

pytestmark = pytest.mark.integration
TRANSPORTS = ("unix", "tcp")


def every_service() -> set[str]:
    """Every service the protos define, plus grpc health."""
    names = {"grpc.health.v1.Health"}
    for proto in (ROOT / "proto" / "ecco" / "v1").glob("*.proto"):
        module = importlib.import_module(f"ecco.v1.{proto.stem}_pb2")
        names |= {service.full_name for service in module.DESCRIPTOR.services_by_name.values()}
    return names


def target(pair: Pair, transport: str) -> list[str]:
    """grpcurl's connection arguments: `unix://<socket>`, or the TCP address with the token header."""
    node_dir = pair.ecco.node_dir("agent")
    if transport == "unix":
        return ["-plaintext", f"unix://{node_dir / 'api.sock'}"]
    token = (node_dir / "api.token").read_text().strip()
    address = (node_dir / "api.tcp").read_text().strip()
    return ["-plaintext", "-H", f"authorization: Bearer {token}", address]


def grpcurl(pair: Pair, transport: str, *args: str, data: str | None = None) -> str:
    """One grpcurl call: flags, then the target, then `args` (list, describe, or a method)."""
    *flags, address = target(pair, transport)
    request = ["-d", data] if data is not None else []
    return run_tool(tool("grpcurl"), *flags, *request, address, *args, timeout=60)


def next_document(reader: LineReader, timeout: float = 30) -> Any:
    """The next JSON document grpcurl printed (it pretty-prints each stream message over several lines)."""
    deadline, text = time.monotonic() + timeout, ""
    while (remaining := deadline - time.monotonic()) > 0:
        try:
            line = reader.lines.get(timeout=remaining)
        except queue.Empty:
            break
        assert line is not None, f"grpcurl ended: {reader.stop()}"
        text += line
        if line.rstrip() == "}":
            return json.loads(text)
    raise AssertionError(f"no complete JSON document within {timeout}s: {text!r}")


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_lists_every_service(pair: Pair, transport: str) -> None:
    listed = set(grpcurl(pair, transport, "list").split())

    assert listed >= every_service(), every_service() - listed


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_describes_a_method_and_makes_a_unary_call(pair: Pair, transport: str) -> None:
    described = grpcurl(pair, transport, "describe", "ecco.v1.MessagingService.StreamPrompt")
    status = json.loads(grpcurl(pair, transport, "ecco.v1.NodeService/GetStatus"))

    assert "returns ( stream .ecco.v1.StreamPromptResponse )" in described
    assert status["name"] == "agent"
    assert status["peerId"] == pair.agent["peerId"]


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_follows_the_event_stream(pair: Pair, transport: str) -> None:
    head = json.loads(grpcurl(pair, transport, "ecco.v1.NodeService/GetStatus")).get("headCursor", "0")
    *flags, address = target(pair, transport)
    request = json.dumps({"cursor": head, "follow": True, "types": ["agent-request"]})
    process = subprocess.Popen(
        [tool("grpcurl"), *flags, "-d", request, address, "ecco.v1.EventService/Subscribe"],
        env=tool_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    stream = LineReader(process)
    try:
        prompt = f"followed over {transport}"
        pair.ecco.ok("msg", pair.agent["peerId"], prompt, "--node", "client")

        (event,) = next_document(stream)["events"]
        assert event["type"] == "agent-request"
        assert int(event["cursor"]) > int(head)
        assert json.loads(event["payloadJson"])["prompt"] == prompt
    finally:
        stream.stop()


def test_tcp_without_the_token_is_refused(pair: Pair) -> None:
    address = (pair.ecco.node_dir("agent") / "api.tcp").read_text().strip()
    done = subprocess.run(
        [tool("grpcurl"), "-plaintext", address, "list"],
        env=tool_env(),
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )

    assert done.returncode != 0
    assert "Unauthenticated" in done.stderr
