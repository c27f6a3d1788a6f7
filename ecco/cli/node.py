"""Node lifecycle: `ecco up` / `ecco node start`, `ecco node status`, `ecco node stop`."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import click

from ecco.cli.bridge import A2A_TOKEN_ENV, TOKEN_ENV, read_token
from ecco.cli.options import PORT, TRUE_FALSE, count, json_option, milliseconds, node_option
from ecco.cli.output import print_fields, print_json
from ecco.errors import AlreadyExists, DeadlineExceeded, EccoError, InvalidArgument, Reason

START_TIMEOUT_MS = 30_000
STOP_TIMEOUT_MS = 30_000


def _fetch_status(client: Any) -> dict[str, Any]:
    from ecco.cli.render import to_dict
    from ecco.v1 import node_service_pb2

    stub = client.stub("NodeService")
    return to_dict(client.call(stub.GetStatus, node_service_pb2.GetStatusRequest()))


def _show_status(status: dict[str, Any], as_json: bool, title: str) -> None:
    if as_json:
        print_json(status)
        return
    fields = {
        "name": status.get("name"),
        "peer id": status.get("peerId"),
        "network": status.get("network"),
        "listen addresses": status.get("listenAddresses"),
        "api socket": status.get("apiSocket"),
        "api tcp": status.get("apiTcpAddress"),
        "pid": status.get("pid"),
        "started": status.get("startTime"),
        "events (head cursor)": status.get("headCursor"),
        "connected peers": status.get("connectedPeers"),
        "capabilities": [f"{c.get('type')}:{c.get('name')}@{c.get('version')}" for c in status.get("capabilities", [])],
        "state dir": status.get("stateDir"),
    }
    print_fields(title, fields)


def _forwarded_args(ctx: click.Context) -> list[str]:
    """The options given on this command line, to hand to the detached child unchanged."""
    # The hook and A2A tokens reach the child through ECCO_WEBHOOK_TOKEN / ECCO_A2A_TOKEN, never its command line
    # (visible in `ps`).
    skip = {
        "foreground",
        "json_output",
        "ready_fd",
        "start_timeout_ms",
        "webhook_token",
        "webhook_token_file",
        "a2a_token_file",
    }
    args: list[str] = []
    for param in ctx.command.params:
        if param.name in skip or not isinstance(param, click.Option):
            continue
        if ctx.get_parameter_source(param.name) != click.core.ParameterSource.COMMANDLINE:
            continue
        flag = param.opts[0]
        value = ctx.params[param.name]
        if param.is_flag:  # --x, or --x/--no-x
            if value or param.secondary_opts:
                args.append(flag if value else param.secondary_opts[0])
            continue
        for item in value if param.multiple else [value]:
            args += [flag, str(item)]
    return args


def resolve_config(config_path: Path | None, flags: dict[str, Any]) -> Any:
    from ecco.config import load_config

    config = load_config(config_path, os.environ, flags)
    if not config.name:
        raise InvalidArgument(
            "a node name is required: pass --name <name> (or set ECCO_NODE, or name in --config)",
            Reason.INVALID_ARGUMENT,
            field="--name",
        )
    return config


def _run_foreground(config: Any, paths: Any, ready_fd: int | None, as_json: bool) -> None:
    from ecco.cli.launch import notify_ready
    from ecco.client import NodeClient
    from ecco.daemon import run_daemon
    from ecco.logs import capture_stderr, setup_logging

    paths.ensure_dir()
    setup_logging(paths.log_file, config.log_level)
    if ready_fd is not None:  # detached: stderr is daemon.log itself, so stray writes must become JSON lines
        capture_stderr()

    async def on_ready() -> None:
        if ready_fd is not None:
            notify_ready(ready_fd)
            return
        with NodeClient.for_paths(paths) as client:
            status = await asyncio.to_thread(_fetch_status, client)
        _show_status(status, as_json, f"node {paths.name} (foreground; Ctrl-C stops it)")

    try:
        asyncio.run(run_daemon(config, paths, on_ready=on_ready))
    except EccoError as error:
        if ready_fd is not None:
            notify_ready(ready_fd, error)
        raise
    except Exception:
        import logging

        logging.getLogger("ecco.daemon").exception("daemon failed")
        if ready_fd is not None:
            notify_ready(ready_fd, EccoError(f"the daemon failed; see {paths.log_file}", Reason.NODE_START_FAILED))
        raise


@click.command("up")
@click.option("--name", help="The node's name; its state lives in $ECCO_HOME/nodes/<name>.")
@click.option("--network", type=click.Choice(["testnet", "mainnet"]), help="The network to join [testnet].")
@click.option("--capability", multiple=True, help="A capability to announce (an agent capability, version 1.0.0).")
@click.option(
    "--capabilities-file",
    type=click.Path(path_type=Path),
    help="A JSON list of capabilities ({type, name, version, metadata}).",
)
@click.option("--config", "config_path", type=click.Path(path_type=Path), help="A TOML config file.")
@click.option("--api-listen", help="Also serve the API on this loopback TCP address (bearer token in api.token).")
@click.option("--db-url", help="A SQLAlchemy database URL [SQLite file in the node's state directory].")
@click.option("--log-level", type=click.Choice(["debug", "info", "warning", "error"]), help="daemon.log level.")
@click.option("--listen", multiple=True, help="A libp2p listen multiaddr (repeatable) [/ip4/0.0.0.0/tcp/0].")
@click.option("--bootstrap", multiple=True, help="A peer to dial on start, /ip4/.../tcp/.../p2p/<peerId> (repeatable).")
@click.option(
    "--responder",
    help="Answer agent-requests without a harness: 'echo', 'exec:<command>' or 'a2a:<A2A JSON-RPC URL>' "
    "(bearer token from ECCO_A2A_RESPONDER_TOKEN).",
)
@click.option("--a2a-listen", help="Serve an A2A agent (card + JSON-RPC at /a2a/v1) on this loopback HOST:PORT.")
@click.option(
    "--a2a-reply-url",
    help="Push replies of A2A clients that do not wait (OpenClaw's message tool) to this A2A endpoint, e.g. "
    "http://127.0.0.1:18789/a2a/v1 (bearer token from ECCO_A2A_REPLY_TOKEN).",
)
@click.option(
    "--a2a-token-file",
    type=click.Path(path_type=Path),
    help="A file holding the bearer token A2A clients must present (or ECCO_A2A_TOKEN).",
)
@click.option("--mdns", type=TRUE_FALSE, help="Find and announce peers on the local link (multicast) [true].")
@click.option("--dht", type=TRUE_FALSE, help="Publish and look up capability provider records [true].")
@click.option("--webhook-bridge", is_flag=True, default=None, help="Run the OpenClaw webhook bridge in the daemon.")
@click.option("--webhook-openclaw-host", help="The OpenClaw gateway's host [127.0.0.1].")
@click.option(
    "--webhook-openclaw-port", type=PORT, help="The OpenClaw gateway's port (required with --webhook-bridge)."
)
@click.option("--webhook-token", help="OpenClaw's hooks.token; prefer ECCO_WEBHOOK_TOKEN or --webhook-token-file.")
@click.option("--webhook-token-file", type=click.Path(path_type=Path), help="A file holding the hook token.")
@click.option("--webhook-hook-path", help="Where the bridge sends every other event [/hooks/ecco].")
@click.option(
    "--webhook-provider-hook-path", help="Where the bridge sends inbound agent-requests [/hooks/ecco-provider]."
)
@click.option("--webhook-filter", help="Only these event types, comma-separated [inbound agent messages].")
@click.option("--webhook-verbose", is_flag=True, default=None, help="Log every delivery, not only failures.")
@click.option(
    "--webhook-mode",
    type=click.Choice(["hook", "a2a"]),
    help="hook: POST events to OpenClaw's hooks; a2a: agent-requests to its A2A channel, replies back [hook].",
)
@click.option("--webhook-a2a-path", help="OpenClaw's A2A endpoint in a2a mode [/a2a/v1].")
@click.option("--foreground", is_flag=True, help="Run the daemon in this process instead of detaching.")
@click.option(
    "--start-timeout",
    "start_timeout_ms",
    type=milliseconds(100),
    default=START_TIMEOUT_MS,
    show_default=True,
    help="Milliseconds to wait for a detached daemon to become healthy.",
)
@click.option("--ready-fd", type=count(), hidden=True)
@json_option
@click.pass_context
def up(
    ctx: click.Context,
    name: str | None,
    network: str | None,
    capability: tuple[str, ...],
    capabilities_file: Path | None,
    config_path: Path | None,
    api_listen: str | None,
    db_url: str | None,
    log_level: str | None,
    listen: tuple[str, ...],
    bootstrap: tuple[str, ...],
    responder: str | None,
    a2a_listen: str | None,
    a2a_reply_url: str | None,
    a2a_token_file: Path | None,
    mdns: bool | None,
    dht: bool | None,
    webhook_bridge: bool | None,
    webhook_openclaw_host: str | None,
    webhook_openclaw_port: int | None,
    webhook_token: str | None,
    webhook_token_file: Path | None,
    webhook_hook_path: str | None,
    webhook_provider_hook_path: str | None,
    webhook_filter: str | None,
    webhook_verbose: bool | None,
    webhook_mode: str | None,
    webhook_a2a_path: str | None,
    foreground: bool,
    start_timeout_ms: int,
    ready_fd: int | None,
    json_output: bool,
) -> None:
    """Start a node and return once it is healthy (--foreground keeps it attached)."""
    from ecco.config import capabilities_from_flags, check_responder
    from ecco.home import NodePaths

    flags = {
        "name": name,
        "network": network,
        "api_listen": api_listen,
        "db_url": db_url,
        "log_level": log_level,
        "capabilities": capabilities_from_flags(capability, capabilities_file),
        "listen": list(listen) or None,
        "bootstrap": list(bootstrap) or None,
        "responder": responder,
        "a2a.listen": a2a_listen,
        "a2a.reply_url": a2a_reply_url,
        "a2a.token": read_token(None, a2a_token_file, "--a2a-token") if a2a_token_file else None,
        "mdns": mdns,
        "dht": dht,
        "webhook.enabled": webhook_bridge,
        "webhook.openclaw_host": webhook_openclaw_host,
        "webhook.openclaw_port": webhook_openclaw_port,
        "webhook.token": read_token(webhook_token, webhook_token_file, "--webhook-token"),
        "webhook.hook_path": webhook_hook_path,
        "webhook.provider_hook_path": webhook_provider_hook_path,
        "webhook.filter": webhook_filter,
        "webhook.verbose": webhook_verbose,
        "webhook.mode": webhook_mode,
        "webhook.a2a_path": webhook_a2a_path,
    }
    config = resolve_config(config_path, flags)
    check_responder(config.responder)
    if config.webhook is not None:  # validates the bridge flags before anything starts
        os.environ[TOKEN_ENV] = config.webhook.token
    if config.a2a_token:
        os.environ[A2A_TOKEN_ENV] = config.a2a_token
    paths = NodePaths.for_name(config.name)
    paths.check_socket_path()
    if foreground:
        _run_foreground(config, paths, ready_fd, json_output)
        return
    if paths.is_running():
        pid = paths.read_pid()
        raise AlreadyExists(
            f"node {config.name!r} is already running (pid {pid}); no second daemon was started",
            Reason.NODE_ALREADY_RUNNING,
        )
    from ecco.cli.launch import spawn_daemon
    from ecco.client import NodeClient

    # The child inherits the environment and gets the same flags, so it resolves the same configuration.
    spawn_daemon(paths, _forwarded_args(ctx), start_timeout_ms / 1000)
    with NodeClient.for_paths(paths) as client:
        _show_status(_fetch_status(client), json_output, f"node {config.name} is up")


@click.group("node")
def node() -> None:
    """Start, inspect and stop nodes."""


node.add_command(up, "start")


@node.command("status")
@node_option
@json_option
def status(node_name: str | None, json_output: bool) -> None:
    """Show the node's identity, addresses and health."""
    from ecco.client import NodeClient

    with NodeClient.for_node(node_name) as client:
        _show_status(_fetch_status(client), json_output, "node status")


@node.command("stop")
@node_option
@click.option(
    "--timeout",
    "timeout_ms",
    type=milliseconds(100),
    default=STOP_TIMEOUT_MS,
    show_default=True,
    help="Milliseconds to wait for the daemon to exit.",
)
@json_option
def stop(node_name: str | None, timeout_ms: int, json_output: bool) -> None:
    """Stop the node gracefully and wait until it has exited."""
    from ecco.cli.launch import wait_until_stopped
    from ecco.client import NodeClient
    from ecco.v1 import node_service_pb2

    with NodeClient.for_node(node_name) as client:
        stub = client.stub("NodeService")
        reply = client.call(stub.StopNode, node_service_pb2.StopNodeRequest())
        paths = client.paths
    assert paths is not None
    if not wait_until_stopped(paths.lock_file, timeout_ms / 1000):
        raise DeadlineExceeded(
            f"node {paths.name!r} (pid {reply.pid}) did not exit within {timeout_ms} ms", Reason.REQUEST_TIMEOUT
        )
    result = {"name": paths.name, "pid": reply.pid, "stopped": True}
    if json_output:
        print_json(result)
    else:
        click.echo(f"node {paths.name} (pid {reply.pid}) stopped")
