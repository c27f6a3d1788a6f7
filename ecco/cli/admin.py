"""Configuration and database administration: `ecco config show`, `ecco db push`."""

from __future__ import annotations

import json
import os
from pathlib import Path

import click

from ecco.cli.options import json_option, node_option
from ecco.cli.output import print_fields, print_json
from ecco.errors import NotFound, Reason, cut


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
@node_option
@click.option("--name", "legacy_name", hidden=True, help="Old spelling of --node.")
@click.option(
    "--create", is_flag=True, help="Prepare the database of a node that was never started (else NODE_NOT_FOUND)."
)
@click.option("--config", "config_path", type=click.Path(path_type=Path), help="A TOML config file.")
@click.option("--db-url", help="A SQLAlchemy URL [the node's SQLite file].")
@json_option
def push(
    node_name: str | None,
    legacy_name: str | None,
    create: bool,
    config_path: Path | None,
    db_url: str | None,
    json_output: bool,
) -> None:
    """Apply every pending schema migration; safe to run again (and while the node runs).

    The node is chosen like for every command (--node, ECCO_NODE, else the only running node); it need not be
    running, but it must exist, so a mistyped name never creates a new node directory and database.
    """
    import asyncio

    from ecco.cli.node import resolve_config
    from ecco.daemon import database_url, push_schema
    from ecco.home import NodePaths, select_node

    name = node_name or legacy_name or os.environ.get("ECCO_NODE") or select_node(None).name
    paths = NodePaths.for_name(name)
    if not paths.dir.is_dir() and not create:
        raise NotFound(
            f"node {cut(name)!r} does not exist; start it once with `ecco up --name {cut(name)}`, "
            "or pass --create to prepare its database first",
            Reason.NODE_NOT_FOUND,
            field="--node",
        )
    resolved = resolve_config(config_path, {"name": name, "db_url": db_url})
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
