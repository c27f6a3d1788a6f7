"""Write skills/ecco/references/command-reference.md from the CLI itself (`make gen`), or check it is current
(`--check`). Every command and flag comes from click, each example from ecco.cli.examples, each output shape
from schemas/cli/, so the reference cannot drift from the CLI (tests/unit/test_skill.py also checks it).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import click

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ecco.cli.examples import DURATION_RULE, EXAMPLES  # noqa: E402
from ecco.cli.main import cli  # noqa: E402
from ecco.cli.output import EXIT_CODES  # noqa: E402

OUT = ROOT / "skills" / "ecco" / "references" / "command-reference.md"

HEADER = f"""# ecco command reference

Generated from the CLI by `tools/skill_reference.py` (`make gen`); do not edit by hand.

Conventions (README "Output and exit codes"; JSON contract version 1):
- `--json` prints exactly one JSON document on stdout (JSON lines for `stream`, `listen --stream` and
  `webhook-bridge`); its JSON Schema is `schemas/cli/<command>.json` (named below).
- Every failure with `--json` prints `{{"error": {{"code", "reason", "message", "field"?}}}}` on stdout
  (`schemas/cli/error.json`); without `--json`, one line `error: <message> (<REASON>)` on stderr.
- {DURATION_RULE} Booleans that are settings take `true|false`; bare flags are switches.
- Lists page with `--page-size N --page-token T` (the output's `nextPageToken` is the next token).
- The node: `--node NAME`, else `ECCO_NODE`, else the only running node.

Exit codes: 0 success, 2 usage error or INVALID_ARGUMENT, 130 interrupted; otherwise by gRPC code:
{", ".join(f"{code} {n}" for code, n in sorted((v, k) for k, v in EXIT_CODES.items()))}.
"""


def commands(group: click.Group, path: tuple[str, ...] = ()) -> list[tuple[str, click.Command]]:
    found: list[tuple[str, click.Command]] = []
    for name, command in group.commands.items():
        key = " ".join((*path, name))
        if isinstance(command, click.Group):
            if command.invoke_without_command:
                found.append((key, command))
            found += commands(command, (*path, name))
        else:
            found.append((key, command))
    return found


def _param_line(param: click.Parameter) -> str:
    if isinstance(param, click.Argument):
        return f"- `{param.human_readable_name}` (argument{'' if param.required else ', optional'})"
    assert isinstance(param, click.Option)
    metavar = "" if param.is_flag else f" {param.make_metavar(click.Context(cli))}"
    required = ", required" if param.required else ""
    default = ""
    if param.show_default and param.default not in (None, "", False):
        default = f" [default: {param.default}]"
    return f"- `{param.opts[0]}{metavar}`{required}: {param.help or ''}{default}"


def render() -> str:
    parts = [HEADER]
    for key, command in commands(cli):
        summary = (command.help or "").strip().split("\n\n")[0].replace("\n", " ")
        parts.append(f"\n## ecco {key}\n\n{summary}\n\n")
        params = [p for p in command.params if not getattr(p, "hidden", False)]
        parts.append("\n".join(_param_line(p) for p in params) + "\n")
        parts.append(f"\nOutput: `schemas/cli/{key.replace(' ', '-')}.json`\n")
        parts.append(f"\nExample:\n\n```bash\n{EXAMPLES[key]}\n```\n")
    return "".join(parts)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail if the committed reference differs")
    args = parser.parse_args()
    text = render()
    if args.check:
        if not OUT.exists() or OUT.read_text() != text:
            print("stale skills/ecco/references/command-reference.md: run tools/skill_reference.py", file=sys.stderr)
            return 1
        return 0
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
