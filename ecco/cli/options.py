"""Options shared by many commands."""

from __future__ import annotations

import click

json_option = click.option(
    "--json", "json_output", is_flag=True, help="Print one JSON document (JSON lines when streaming)."
)
node_option = click.option("--node", "node_name", help="The node to talk to [ECCO_NODE, else the only running node].")
