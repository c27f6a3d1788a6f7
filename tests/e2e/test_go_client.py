"""The Go client (clients/go) against live daemons: the example echo-agent answers another node's requests, over
loopback TCP with the token, and resumes after its node restarts; `go test` calls every service."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.programs import ROOT, Pair, next_line, readme_snippet, run_tool, tool

GO_MODULE = ROOT / "clients" / "go"
pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def echo_agent(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The echo-agent built from the committed stubs."""
    binary = tmp_path_factory.mktemp("go") / "echo-agent"
    run_tool(tool("go"), "build", "-o", str(binary), "./cmd/echo-agent", cwd=GO_MODULE)
    yield binary


def test_echo_agent_streams_chunks_then_the_response(pair: Pair, echo_agent: Path) -> None:
    agent = pair.start_program(str(echo_agent), "-node", "agent", "-tcp", "-consumer", "go-echo")
    next_line(agent, lambda line: line["state"] == "subscribed")

    reply = pair.request("hello from the go test")

    assert reply["text"] == "hello from the go test"
    assert reply["chunks"] == ["hello ", "from ", "the ", "go ", "test"]
    assert reply["finishReason"] == "stop"
    answered = next_line(agent, lambda line: line.get("requestId") == reply["requestId"])
    assert answered["state"] == "answered"


def test_echo_agent_resumes_from_its_cursor_after_the_node_restarts(pair: Pair, echo_agent: Path) -> None:
    agent = pair.start_program(str(echo_agent), "-node", "agent", "-consumer", "go-resume")
    next_line(agent, lambda line: line["state"] == "subscribed")
    first = pair.request("before the restart")
    # A new consumer first answers the requests of earlier tests again (the peer drops the repeated replies).
    answered = next_line(agent, lambda line: line.get("requestId") == first["requestId"])
    assert answered["state"] == "answered"

    pair.restart_agent()

    next_line(agent, lambda line: line["state"] == "disconnected")
    resumed = next_line(agent, lambda line: line["state"] == "subscribed")
    assert resumed["cursor"] == answered["cursor"]
    second = pair.request("after the restart")
    assert second["text"] == "after the restart"
    # The next answer is the new request: the one answered before the restart is not answered again.
    again = next_line(agent, lambda line: line["state"] in {"answered", "failed"})
    assert (again["state"], again["requestId"]) == ("answered", second["requestId"])


def test_a_restarted_echo_agent_resumes_from_its_committed_cursor(pair: Pair, echo_agent: Path) -> None:
    agent = pair.start_program(str(echo_agent), "-node", "agent", "-consumer", "go-restarted")
    first = pair.request("before the agent restarts")
    next_line(agent, lambda line: line.get("requestId") == first["requestId"])
    agent.stop()

    restarted = pair.start_program(str(echo_agent), "-node", "agent", "-consumer", "go-restarted")
    next_line(restarted, lambda line: line["state"] == "subscribed")
    second = pair.request("after the agent restarted")

    # The node kept the consumer's cursor: the restarted agent answers only the new request.
    answered = next_line(restarted, lambda line: line["state"] in {"answered", "failed"})
    assert (answered["state"], answered["requestId"]) == ("answered", second["requestId"])
    assert second["text"] == "after the agent restarted"


def test_go_test_calls_every_service(pair: Pair) -> None:
    output = run_tool(
        tool("go"), "test", "-count=1", "-v", "./...", cwd=GO_MODULE, ECCO_HOME=str(pair.ecco.home), ECCO_NODE="agent"
    )
    assert "--- SKIP" not in output, output
    assert "--- PASS: TestEveryServiceAnswers" in output, output


def test_the_readme_agent_builds(tmp_path: Path) -> None:
    """The README's Go agent compiles against the client, as a program of its own module would."""
    (tmp_path / "main.go").write_text(readme_snippet("go"))
    (tmp_path / "go.mod").write_text(
        f"module readme\n\ngo 1.24\n\nrequire ecco/clients/go v0.0.0\n\nreplace ecco/clients/go => {GO_MODULE}\n"
    )
    (tmp_path / "go.sum").write_bytes((GO_MODULE / "go.sum").read_bytes())
    run_tool(tool("go"), "vet", ".", cwd=tmp_path, GOFLAGS="-mod=mod")
