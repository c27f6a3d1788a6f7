"""Every command's --json output, and every error document, against its committed JSON Schema (schemas/cli/),
with real daemons. Payment and register commands run against a node without a wallet or chain, so what they
print is the error document; their success documents are validated in test_payments.py through `contract`."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import click
import pytest

from ecco.cli.main import cli
from tests.integration.conftest import Ecco, Result, up

pytestmark = pytest.mark.integration

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas" / "cli"
ENUM_LIKE = re.compile(r"^[A-Z][A-Z0-9]*(_[A-Z0-9]+)+$")
"""A protobuf enum name (REPUTATION_TIER_UNSPECIFIED) is never a value in the contract, only error codes are."""


def _validator(name: str) -> Any:
    from jsonschema import Draft202012Validator
    from referencing import Registry, Resource

    resources = [
        (f"https://ecco.invalid/schemas/cli/{p.name}", Resource.from_contents(json.loads(p.read_text())))
        for p in SCHEMAS.glob("*.json")
    ]
    registry = Registry().with_resources(resources)
    return Draft202012Validator(json.loads((SCHEMAS / name).read_text()), registry=registry)


def _conventions(value: Any, where: str = "$") -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            if key not in ("payload", "config", "result", "receipt", "sources"):  # user data, passed through
                _conventions(item, f"{where}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _conventions(item, f"{where}[{index}]")
    elif isinstance(value, str):
        assert not ENUM_LIKE.match(value), f"{where}: protobuf enum name {value!r} in the output"
        if where.endswith(("Ms", "Cursor", "Count", "cursor")):
            pytest.fail(f"{where}: a number printed as a string ({value!r})")


def contract(command: str, result: Result) -> Any:
    """The document `ecco <command> --json` printed, validated against its schema (or the error schema)."""
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert lines, f"ecco {command} printed nothing: {result.stderr}"
    for document in lines:
        name = "error.json" if result.code else command.replace(" ", "-") + ".json"
        errors = sorted(_validator(name).iter_errors(document), key=lambda e: list(e.path))
        assert not errors, f"ecco {command}: {errors[0].message} at {list(errors[0].path)}\n{document}"
        if not result.code:  # an error's code and reason are the documented upper-case names
            _conventions(document)
    return lines[0] if len(lines) == 1 else lines


def _commands(group: click.Group, path: tuple[str, ...] = ()) -> set[str]:
    found: set[str] = set()
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            found |= _commands(command, (*path, name))
            if command.invoke_without_command:
                found.add(" ".join((*path, name)))
        else:
            found.add(" ".join((*path, name)))
    return found


@pytest.mark.timeout(400)  # some 45 CLI runs, each a fresh Python process
def test_every_command_and_error_matches_its_schema(ecco: Ecco, tmp_path: Path) -> None:
    covered: set[str] = set()

    def run(command: str, *args: str, code: int = 0) -> Any:
        result = ecco(*command.split(), *args, "--json")
        assert result.code == code, f"ecco {command} {args}: exit {result.code}: {result.stderr}{result.stdout}"
        covered.add(command)
        return contract(command, result)

    alice = up(ecco, "alice", "--capability", "translate", "--responder", "echo")
    covered.add("up")
    bob = run("node start", "--name", "bob", "--bootstrap", alice["addr"])
    run("node status", "--node", "alice")
    run("config show", "--node", "alice")
    run("db push", "--node", "alice")
    run("listen", "--node", "alice", "--wait", "0")
    stream = ecco.follow("stream", "--node", "alice", "--cursor", "0", "--json")
    try:
        contract("stream", Result(0, json.dumps(stream.next_json()) + "\n", ""))
        covered.add("stream")
    finally:
        stream.stop()
    run("peers", "--node", "bob")
    run("connect", alice["addr"], "--node", "bob")
    run("msg", alice["peerId"], "hi", "--node", "bob")
    run("send", alice["peerId"], "--type", "agent-request", "--payload", '{"prompt": "hi"}', "--node", "bob")
    run("request", alice["peerId"], "--prompt", "hi", "--node", "bob")
    run("peer find", "--name", "translate", "--node", "bob")
    run("peer discover", "--name", "translate", "--phases", "local", "--node", "bob")
    run("ask", "--capability", "translate", "hello", "--node", "bob")
    run("peer reputation", "--node", "bob")
    run("peer reputation", alice["peerId"], "--node", "bob")
    receipt = tmp_path / "receipt.json"
    run("consensus query", "2+2?", "--name", "translate", "--receipt-out", str(receipt), "--node", "bob")
    run("consensus request", "2+2?", "--name", "translate", "--node", "bob")
    run("consensus verify", str(receipt))
    run("webhook-bridge status", "--node", "alice")
    run("webhook-bridge dead-letters", "--node", "alice")
    run("webhook-bridge", "--node", "alice", code=2)  # no --openclaw-port: the bridge refuses before starting
    run("payment invoices", "--node", "alice")
    run("payment ledger", "--node", "alice")
    run("payment queue", "--invoice", "{}", "--node", "alice", code=2)
    run("payment settle", "--node", "alice")  # nothing queued: nothing left unpaid
    run("payment swarm distribute", "--job-id", "j", "--total-amount", "1", "--chain-id", "1", "--token", "0x0",
        "--participants", "[]", "--node", "alice", code=2)  # fmt: skip
    run("payment escrow release", "--job-id", "j", "--milestone-id", "m", "--node", "alice", code=3)
    run("payment escrow invoice", "--job-id", "j", "--peer", bob["peerId"], "--node", "alice", code=3)
    run("payment streaming tick", "--peer", bob["peerId"], "--channel-id", "c", "--tokens", "1", "--node", "alice",
        code=2)  # fmt: skip
    run("payment streaming invoice", "--peer", bob["peerId"], "--channel-id", "c", "--node", "alice", code=3)
    run("payment streaming close", "--channel-id", "c", "--node", "alice", code=3)
    run("register", "--uri", "https://alice.example/agent.json", "--node", "alice", code=4)
    # a 20,000-character value is cut in the message, so the reply fits gRPC's metadata limit (it was INTERNAL)
    huge = "x" * 20_000
    for args in (("request", huge, "--prompt", "hi"), ("listen", "--consumer", huge), ("connect", huge)):
        error = run(args[0], *args[1:], "--node", "alice", code=2)["error"]
        assert len(error["message"]) <= 1000 and error["code"] == "INVALID_ARGUMENT"
    run("node stop", "--node", "bob")
    run("node status", "--node", "bob", code=3)
    assert covered == _commands(cli)
