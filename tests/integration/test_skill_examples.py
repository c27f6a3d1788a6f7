"""Every command line in skills/ecco/SKILL.md's code blocks runs as written against live daemons, in order, with
$PEER/$ADDR (the other node) and <messageId> (a message this node received) filled in."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from tests.integration.conftest import Ecco, up, wait_for_event

pytestmark = pytest.mark.integration

SKILL = Path(__file__).resolve().parents[2] / "skills" / "ecco" / "SKILL.md"


def skill_command_lines() -> list[str]:
    blocks = re.findall(r"```bash\n(.*?)```", SKILL.read_text(), re.S)
    return [line.strip() for block in blocks for line in block.splitlines() if line.strip().startswith("ecco ")]


@pytest.mark.timeout(400)
def test_every_skill_example_runs_against_live_daemons(ecco: Ecco) -> None:
    lines = skill_command_lines()
    assert len(lines) >= 9 and lines[0].startswith("ecco up --name alice")
    bob = up(ecco, "bob", "--capability", "translate", "--responder", "echo")
    values = {"$PEER": bob["peerId"], "$ADDR": bob["addr"]}
    for line in lines:
        if "<messageId>" in line:  # answering a request: bob asks alice something first
            alice = ecco.ok("node", "status", "--node", "alice", "--json").json()["peerId"]
            message_id = ecco.ok("msg", alice, "hi", "--node", "bob", "--json").json()["messageId"]
            wait_for_event(ecco, "alice", lambda e, m=message_id: e["messageId"] == m, "agent-request")
            line = line.replace("<messageId>", message_id)
        for name, value in values.items():
            line = line.replace(name, value)
        result = ecco.ok(*shlex.split(line)[1:])
        assert result.json() is not None, line  # one JSON document, as every --json line promises
