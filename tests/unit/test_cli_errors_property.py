"""Whatever argv a harness passes, the CLI ends with a documented exit code and, with --json, one error document on
stdout (usage errors included); without --json, one `error:` line on stderr. Never a traceback.

Runs `ecco.cli.main:main` in process against an empty ECCO_HOME, so every command that reaches for a node fails
fast (NODE_NOT_FOUND) and nothing is started: commands that start processes are left out.
"""

from __future__ import annotations

import contextlib
import io
import json

import click
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ecco.cli.main import cli, main
from ecco.cli.output import EXIT_CODES

STARTS_PROCESSES = {("up",), ("node", "start"), ("webhook-bridge",)}


def _commands(group: click.Group, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], click.Command]]:
    found = []
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            found += _commands(command, (*path, name))
        elif (*path, name) not in STARTS_PROCESSES:
            found.append(((*path, name), command))
    return found


COMMANDS = _commands(cli)
NASTY_VALUES = st.one_of(
    st.sampled_from(
        ["0", "-1", "99999999999", "99999999999999999999", "1e9", "maybe", "true", "", "x" * 20_000, "{", "[]"]
    ),
    st.integers().map(str),
    st.text(max_size=30),
)


@st.composite
def argv(draw: st.DrawFn) -> list[str]:
    path, command = draw(st.sampled_from(COMMANDS))
    args = list(path)
    options = [p for p in command.params if isinstance(p, click.Option) and p.name != "json_output"]
    for param in draw(st.lists(st.sampled_from(options), max_size=4)) if options else []:
        args.append(param.opts[0])
        if not param.is_flag:
            args.append(draw(NASTY_VALUES))
    arguments = [p for p in command.params if isinstance(p, click.Argument)]
    args += [draw(NASTY_VALUES) for _ in arguments[: draw(st.integers(0, len(arguments) + 1))]]
    if draw(st.booleans()):
        args.insert(draw(st.integers(0, len(args))), "--json")
    return args


def run(args: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(args)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(autouse=True)
def empty_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ECCO_HOME", str(tmp_path_factory.mktemp("home")))
    monkeypatch.delenv("ECCO_NODE", raising=False)
    monkeypatch.delenv("ECCO_DEBUG", raising=False)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(argv())
def test_any_argv_ends_in_a_documented_exit_code_and_a_parsable_error(args: list[str]) -> None:
    code, out, err = run(args)
    assert "Traceback" not in out + err
    assert code in {0, *EXIT_CODES.values()}
    if code == 0:
        return
    if "--json" in args:
        (line,) = out.splitlines()
        error = json.loads(line)["error"]
        assert set(error) <= {"code", "reason", "message", "field"}
        assert EXIT_CODES[error["code"]] == code
        assert len(error["message"]) <= 1000
    else:
        lines = err.splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), err
        assert len(lines[0]) <= 1100


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["request", "p", "--prompt", "x", "--timeout", "99999999999", "--json"], "--timeout"),
        (["connect", "/ip4/127.0.0.1/tcp/1", "--timeout", "99999999999", "--json"], "--timeout"),
        (["ask", "--capability", "x", "y", "--timeout", "99999999999", "--json"], "--timeout"),
        (["consensus", "query", "p", "--timeout", "99999999999", "--json"], "--timeout"),
        (["stream", "--cursor", "99999999999999999999", "--json"], "--cursor"),
        (["request", "p", "--prompt", "x", "--timeout", "0", "--json"], "--timeout"),
        (["peer", "discover", "--prefer-proximity", "maybe", "--json"], "--prefer-proximity"),
        (["consensus", "query", "--json"], "prompt"),
    ],
)
def test_usage_errors_with_json_are_the_error_document_naming_the_flag(args: list[str], field: str) -> None:
    code, out, err = run(args)
    assert (code, err) == (2, "")
    assert json.loads(out)["error"] == {
        "code": "INVALID_ARGUMENT",
        "reason": "INVALID_ARGUMENT",
        "message": json.loads(out)["error"]["message"],
        "field": field,
    }


def test_a_long_value_is_cut_in_the_message() -> None:
    code, out, _ = run(["listen", "--consumer", "c" * 20_000, "--from", "x" * 20_000, "--json"])
    assert code == 2
    assert len(json.loads(out)["error"]["message"]) < 300
