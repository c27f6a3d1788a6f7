"""Options shared by many commands."""

from __future__ import annotations

import click

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
