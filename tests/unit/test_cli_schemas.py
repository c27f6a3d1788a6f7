"""The committed output schemas are current, cover every command, and match what `to_dict` makes of a message."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import click

from ecco.cli.main import cli
from ecco.cli.render import enum_word, event_dict, to_dict
from ecco.v1 import common_pb2, messaging_service_pb2

ROOT = Path(__file__).resolve().parents[2]


def test_committed_schemas_are_current() -> None:
    done = subprocess.run(
        [sys.executable, "tools/cli_schemas.py", "--check"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr


def _leaf_commands(group: click.Group, path: tuple[str, ...] = ()) -> set[str]:
    found: set[str] = set()
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            found |= _leaf_commands(command, (*path, name))
            if command.invoke_without_command:
                found.add(" ".join((*path, name)))
        else:
            found.add(" ".join((*path, name)))
    return found


def test_every_command_has_a_schema() -> None:
    names = {p.name for p in (ROOT / "schemas" / "cli").glob("*.json")}
    assert {c.replace(" ", "-") + ".json" for c in _leaf_commands(cli)} == names - {"messages.json", "error.json"}


def test_enums_are_short_words_and_unspecified_is_null() -> None:
    tier = common_pb2.ReputationTier.DESCRIPTOR
    assert enum_word(tier, common_pb2.REPUTATION_TIER_ACCEPTABLE) == "acceptable"
    assert enum_word(tier, common_pb2.REPUTATION_TIER_UNSPECIFIED) is None
    match = to_dict(common_pb2.CapabilityMatch(bloom_tier=common_pb2.REPUTATION_TIER_UNSPECIFIED))
    assert match["bloomTier"] is None and match["peer"] is None  # an unset message is null, not missing


def test_int64_is_a_json_number() -> None:
    candidate = to_dict(messaging_service_pb2.AskCandidate(elapsed_ms=512, outcome=2))
    assert candidate["elapsedMs"] == 512 and candidate["outcome"] == "failed"
    event = event_dict(common_pb2.Event(cursor=2**40, payload_json='{"a": 1}'))
    assert event["cursor"] == 2**40 and event["payload"] == {"a": 1}
    assert json.loads(json.dumps(event))["cursor"] == 2**40
