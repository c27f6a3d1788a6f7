"""Every --help page has an example and the duration rule; every option says what it does; durations are ms."""

from __future__ import annotations

import contextlib
import io

import click
import pytest

from ecco.cli.examples import DURATION_RULE, EXAMPLES
from ecco.cli.main import cli, main


def _commands(group: click.Group, path: tuple[str, ...] = ()) -> dict[str, click.Command]:
    found: dict[str, click.Command] = {}
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            found |= _commands(command, (*path, name))
            if not command.invoke_without_command:
                continue
        found[" ".join((*path, name))] = command
    return found


COMMANDS = _commands(cli)


def test_every_command_has_one_example_and_no_example_is_stale() -> None:
    assert set(EXAMPLES) == set(COMMANDS)
    for name, line in EXAMPLES.items():
        assert f"ecco {name} " in line, (name, line)


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_help_shows_the_example_the_duration_rule_and_help_for_every_option(name: str) -> None:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main([*name.split(), "--help"]) == 0
    text = " ".join(out.getvalue().split())
    assert f"Example: {' '.join(EXAMPLES[name].split())}" in text
    assert " ".join(DURATION_RULE.split()) in text
    for param in COMMANDS[name].params:
        if isinstance(param, click.Option) and not param.hidden:
            assert param.help, f"{name} {param.opts[0]} has no help"
            if "timeout" in param.opts[0] or param.opts[0] == "--wait":
                assert "illisecond" in param.help, f"{name} {param.opts[0]}: no unit in its help"
