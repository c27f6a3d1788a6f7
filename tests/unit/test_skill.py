"""The harness skill (skills/ecco) is complete and matches the CLI: every command and flag is in the command
reference and nothing else is; the reference is generated from the CLI and current."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import click

from ecco.cli.examples import EXAMPLES
from ecco.cli.main import cli

SKILL = Path(__file__).resolve().parents[2] / "skills" / "ecco"


def _cli_flags(group: click.Group, path: tuple[str, ...] = ()) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for name, command in group.commands.items():
        key = " ".join((*path, name))
        if isinstance(command, click.Group):
            found |= _cli_flags(command, (*path, name))
            if not command.invoke_without_command:
                continue
        found[key] = {
            p.opts[0] if isinstance(p, click.Option) else p.human_readable_name
            for p in command.params
            if not getattr(p, "hidden", False)
        }
    return found


def _reference_flags() -> dict[str, set[str]]:
    text = (SKILL / "references" / "command-reference.md").read_text()
    found: dict[str, set[str]] = {}
    for section in re.split(r"^## ecco ", text, flags=re.M)[1:]:
        command, _, body = section.partition("\n")
        found[command.strip()] = set(re.findall(r"^- `([^` ]+)", body, flags=re.M))
    return found


def test_skill_front_matter_and_files() -> None:
    text = (SKILL / "SKILL.md").read_text()
    front = re.match(r"^---\n(.*?)\n---\n", text, re.S)
    assert front, "SKILL.md starts with YAML front matter"
    keys = dict(line.split(":", 1) for line in front.group(1).splitlines())
    assert keys["name"].strip() == "ecco"
    assert len(keys["description"].strip()) > 100 and "Bash(ecco:*)" in keys["allowed-tools"]
    for section in ("## Core workflow", "## Essential commands", "## Common patterns"):
        assert section in text
    for reference in ("command-reference.md", "config-and-env.md", "openclaw-webhook-bridge.md"):
        assert (SKILL / "references" / reference).is_file() and f"references/{reference}" in text


def test_every_command_and_flag_is_in_the_reference_and_nothing_else() -> None:
    assert _reference_flags() == _cli_flags(cli)


def test_the_reference_is_generated_from_the_cli() -> None:
    done = subprocess.run(
        [sys.executable, "tools/skill_reference.py", "--check"],
        cwd=SKILL.parents[1],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr


def test_every_reference_example_parses_as_the_cli_would() -> None:
    import shlex

    for name, line in EXAMPLES.items():
        words = shlex.split(line.split("ecco ", 1)[1])
        command: click.Command = cli
        ctx = click.Context(cli)
        while isinstance(command, click.Group) and words and words[0] in command.commands:
            command = command.commands[words.pop(0)]
        ctx = command.make_context(name, words, resilient_parsing=False)
        assert ctx.command is command, name
