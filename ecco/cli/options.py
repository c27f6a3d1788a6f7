"""Options shared by many commands."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

import click

from ecco.errors import cut

json_option = click.option(
    "--json", "json_output", is_flag=True, help="Print one JSON document (JSON lines when streaming)."
)
node_option = click.option("--node", "node_name", help="The node to talk to [ECCO_NODE, else the only running node].")

INT32_MAX = 2**31 - 1
INT64_MAX = 2**63 - 1

# Checked number types: a value the API field cannot hold is a usage error naming the flag (exit 2), never a
# protobuf "Value out of range" traceback.
PORT = click.IntRange(1, 65535)
CHAIN_ID = click.IntRange(1, INT64_MAX)
FRACTION = click.FloatRange(0.0, 1.0)


def milliseconds(minimum: int = 1) -> click.IntRange:
    """A duration in milliseconds, the unit of every duration flag but the daemon's own start/stop waits."""
    return click.IntRange(minimum, INT32_MAX)


def count(minimum: int = 0, maximum: int = INT32_MAX) -> click.IntRange:
    return click.IntRange(minimum, maximum)


class TrueFalse(click.ParamType):
    """The one boolean style for settings: `--x true|false` (also yes/no, on/off, 1/0). Bare flags (`--json`,
    `--once`) are only for switches that are off unless given."""

    name = "true|false"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> bool:
        from ecco.errors import EccoError
        from ecco.parsing import parse_bool

        try:
            return parse_bool(value, param.opts[0] if param is not None and param.opts else "value")
        except EccoError:
            self.fail(f"expected true or false, got {cut(str(value))!r}", param, ctx)

    def shell_complete(self, ctx: click.Context, param: click.Parameter, incomplete: str) -> list[Any]:
        from click.shell_completion import CompletionItem

        return [CompletionItem(word) for word in ("true", "false") if word.startswith(incomplete)]


TRUE_FALSE = TrueFalse()


def choice_of(kind: type[StrEnum]) -> click.Choice:  # type: ignore[type-arg]
    """A checked choice among a fixed set (ecco.parsing's enums), so a typo is a usage error listing the words."""
    return click.Choice([member.value for member in kind], case_sensitive=False)


def paging_options(command: Any) -> Any:
    """The one paging style of list commands: `--page-size N --page-token T`; the output's `nextPageToken`
    (empty on the last page) is the next call's --page-token."""
    command = click.option(
        "--page-token", default="", help="The nextPageToken a previous call printed [the first page]."
    )(command)
    return click.option(
        "--page-size", type=count(0, 1000), default=0, help="At most this many per page, up to 1000 [100]."
    )(command)
