"""Configuration and database administration: `ecco config show`, `ecco db push`."""

from __future__ import annotations

import json
import os
from pathlib import Path

import click

from ecco.cli.options import json_option, node_option
from ecco.cli.output import print_fields, print_json


@click.group("config")
def config() -> None:
    """Inspect configuration."""


@config.command("show")
@node_option
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path),
    help="Resolve this TOML file (with ECCO_* variables) locally instead of asking a running node.",
)
@json_option
def show(node_name: str | None, config_path: Path | None, json_output: bool) -> None:
    """Show the effective configuration (secrets masked) and where each value came from."""
    if config_path is not None:
        from ecco.config import load_config

        resolved = load_config(config_path, os.environ)
        document = {"config": resolved.masked(), "sources": dict(resolved.sources)}
    else:
        from ecco.client import NodeClient
        from ecco.v1 import node_service_pb2

        with NodeClient.for_node(node_name) as client:
            stub = client.stub("NodeService")
            reply = client.call(stub.GetConfig, node_service_pb2.GetConfigRequest())
        document = {"config": json.loads(reply.config_json), "sources": dict(reply.sources)}
    if json_output:
        print_json(document)
    else:
        print_fields(
            "effective configuration",
            {f"{key} ({document['sources'].get(key, '?')})": value for key, value in document["config"].items()},
        )


@click.group("db")
def db() -> None:
    """Manage the node's database."""


@db.command("push")
@click.option("--name", help="The node whose database to migrate [ECCO_NODE].")
@click.option("--config", "config_path", type=click.Path(path_type=Path), help="A TOML config file.")
@click.option("--db-url", help="A SQLAlchemy URL [the node's SQLite file].")
@json_option
def push(name: str | None, config_path: Path | None, db_url: str | None, json_output: bool) -> None:
    """Apply every pending schema migration; safe to run again (and while the node runs)."""
    import asyncio

    from ecco.cli.node import resolve_config
    from ecco.daemon import database_url, push_schema
    from ecco.home import NodePaths

    resolved = resolve_config(config_path, {"name": name, "db_url": db_url})
    paths = NodePaths.for_name(resolved.name)
    paths.ensure_dir()
    result = asyncio.run(push_schema(database_url(resolved, paths)))
    document = {
        "node": resolved.name,
        "database": resolved.masked()["db_url"] or str(paths.database),
        "applied": result.applied,
        "revision": result.after,
    }
    if json_output:
        print_json(document)
    else:
        applied = ", ".join(document["applied"]) or "nothing (already up to date)"  # type: ignore[arg-type]
        click.echo(f"database {document['database']}: applied {applied}; at revision {document['revision']}")
