"""`ecco webhook-bridge`: forward the node's events to an OpenClaw gateway's hooks (a separate process, a gRPC client
of the node), and `ecco webhook-bridge status` / `dead-letters` to see how that goes (for the embedded bridge too)."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import click

from ecco.cli.events import split_types
from ecco.cli.options import PORT, count, json_option, node_option, paging_options
from ecco.cli.output import print_fields, print_json, print_table
from ecco.config import (
    A2A_MODE,
    DEFAULT_A2A_PATH,
    DEFAULT_BRIDGE_MAX_ATTEMPTS,
    DEFAULT_HOOK_PATH,
    DEFAULT_PROVIDER_HOOK_PATH,
    HOOK_MODE,
)
from ecco.errors import InvalidArgument, Reason

TOKEN_ENV = "ECCO_WEBHOOK_TOKEN"
A2A_TOKEN_ENV = "ECCO_A2A_TOKEN"


def read_token(token: str | None, token_file: Path | None, flag: str = "--token", env: str = TOKEN_ENV) -> str | None:
    """A token from the flag, else the file, else the environment variable `env`; None when none is given."""
    if token:
        return token
    if token_file is not None:
        try:
            return token_file.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError):
            raise InvalidArgument(
                f"{flag}-file: cannot read {token_file}", Reason.BRIDGE_CONFIG_INVALID, field=f"{flag}-file"
            ) from None
    return os.environ.get(env) or None


@click.group("webhook-bridge", invoke_without_command=True)
@node_option
@click.option("--openclaw-port", type=PORT, help="The OpenClaw gateway's port (required to run the bridge).")
@click.option("--openclaw-host", default="127.0.0.1", show_default=True, help="The OpenClaw gateway's host.")
@click.option("--token", help=f"OpenClaw's hooks.token; prefer {TOKEN_ENV} or --token-file (shell history).")
@click.option("--token-file", type=click.Path(path_type=Path), help="A file holding the hook token.")
@click.option("--hook-path", default=DEFAULT_HOOK_PATH, show_default=True, help="Where every other event goes.")
@click.option(
    "--provider-hook-path",
    default=DEFAULT_PROVIDER_HOOK_PATH,
    show_default=True,
    help="Where inbound agent-requests (work for this node) go.",
)
@click.option("--filter", "filter_types", help="Only these event types, comma-separated [inbound agent messages].")
@click.option(
    "--mode",
    type=click.Choice([HOOK_MODE, A2A_MODE]),
    default=HOOK_MODE,
    show_default=True,
    help="hook: POST events to OpenClaw's hooks. a2a: send inbound agent-requests to OpenClaw's A2A channel and "
    "the agent's reply back to the requester (the token is channels.a2a.peers.<peer>.token).",
)
@click.option("--a2a-path", default=DEFAULT_A2A_PATH, show_default=True, help="OpenClaw's A2A endpoint (a2a mode).")
@click.option(
    "--max-attempts",
    type=count(),
    default=DEFAULT_BRIDGE_MAX_ATTEMPTS,
    show_default=True,
    help="Give up on an event after this many 5xx/408/429 answers (0: never); 4xx gives up at once.",
)
@click.option("--verbose", is_flag=True, help="Print every delivery with its HTTP status, not only failures.")
@json_option
@click.pass_context
def webhook_bridge(
    ctx: click.Context,
    node_name: str | None,
    openclaw_port: int | None,
    openclaw_host: str,
    token: str | None,
    token_file: Path | None,
    hook_path: str,
    provider_hook_path: str,
    filter_types: str | None,
    mode: str,
    a2a_path: str,
    max_attempts: int,
    verbose: bool,
    json_output: bool,
) -> None:
    """Deliver the node's events to OpenClaw hooks, at least once, until interrupted.

    Inbound agent-requests go to --provider-hook-path, everything else to --hook-path, each as a JSON POST with
    `Authorization: Bearer <token>` and `Idempotency-Key: <event id>`. With --mode a2a, inbound agent-requests
    go to OpenClaw's A2A endpoint instead and the agent's reply text goes back to the requester. The position is
    kept in the node, so a restarted bridge resumes where it stopped.
    """
    if ctx.invoked_subcommand is not None:
        return
    from ecco.config import BridgeSettings
    from ecco.home import select_node

    settings = BridgeSettings.create(
        port=openclaw_port or 0,
        token=read_token(token, token_file),
        host=openclaw_host,
        hook_path=hook_path,
        provider_hook_path=provider_hook_path,
        filter=split_types(filter_types),
        mode=mode,
        a2a_path=a2a_path,
    )
    paths = select_node(node_name)
    asyncio.run(_serve(settings, f"unix:{paths.socket}", max_attempts, verbose, json_output))


async def _serve(settings: Any, target: str, max_attempts: int, verbose: bool, as_json: bool) -> None:
    from ecco.daemon import run_standalone_bridge

    def attached(attachment: Any) -> None:
        document = {
            "event": "attached",
            "node": attachment.node_name,
            "peerId": attachment.peer_id,
            "openclawUrl": settings.base_url,
            "resumeAfterCursor": attachment.consumer_cursor,
        }
        if as_json:
            print_json(document)
        else:
            click.echo(
                f"webhook bridge attached to node {attachment.node_name}: delivering to {settings.base_url} "
                f"(resuming after cursor {attachment.consumer_cursor})"
            )

    def attempted(fields: dict[str, Any]) -> None:
        if as_json:
            print_json({"event": "delivery", **fields})
        else:
            status = fields["httpStatus"] or "no answer"
            line = f"#{fields['cursor']} {fields['type']} -> {fields['path']}: {status} {fields['outcome']}"
            click.echo(line + (f" ({fields['error']})" if fields["error"] else ""))

    await run_standalone_bridge(
        settings,
        target,
        max_attempts=max_attempts,
        verbose=verbose,
        on_attempt=attempted,
        on_attached=attached,
        stop=asyncio.Event(),
    )


@webhook_bridge.command("status")
@node_option
@json_option
def status(node_name: str | None, json_output: bool) -> None:
    """Show whether a bridge is attached, and its delivered, pending and failed counts and last error."""
    from ecco.cli.render import to_dict
    from ecco.client import NodeClient
    from ecco.v1 import bridge_service_pb2

    with NodeClient.for_node(node_name) as client:
        stub = client.stub("BridgeService")
        reply = client.call(stub.GetBridgeStatus, bridge_service_pb2.GetBridgeStatusRequest())
    doc = to_dict(reply)
    if json_output:
        print_json(doc)
        return
    print_fields(
        "webhook bridge",
        {
            "running": doc["running"],
            "openclaw": doc.get("openclawUrl"),
            "hook path": doc.get("hookPath"),
            "provider hook path": doc.get("providerHookPath"),
            "filter": doc.get("filter") or "every inbound agent message",
            "delivered": doc["deliveredCount"],
            "pending": doc["pendingCount"],
            "failed attempts": doc["failedCount"],
            "failed events (given up)": doc["failedEventCount"],
            "dead letters": doc["deadLetterCount"],
            "last error": doc.get("lastError"),
            "last error time": doc.get("lastErrorTime"),
            "consumer cursor": doc["consumerCursor"],
            "started": doc.get("startTime"),
        },
    )


@webhook_bridge.command("dead-letters")
@node_option
@paging_options
@json_option
def dead_letters(node_name: str | None, page_size: int, page_token: str, json_output: bool) -> None:
    """List the events the bridge gave up delivering, newest first."""
    from ecco.cli.render import event_dict, to_dict
    from ecco.client import NodeClient
    from ecco.v1 import bridge_service_pb2

    with NodeClient.for_node(node_name) as client:
        stub = client.stub("BridgeService")
        reply = client.call(
            stub.ListDeadLetters, bridge_service_pb2.ListDeadLettersRequest(page_size=page_size, page_token=page_token)
        )
    letters = []
    for letter in reply.dead_letters:
        doc = to_dict(letter)
        doc["event"] = event_dict(letter.event)
        letters.append(doc)
    if json_output:
        print_json({"deadLetters": letters, "nextPageToken": reply.next_page_token, "totalSize": reply.total_size})
        return
    rows = [
        [
            d["event"]["cursor"],
            d["event"]["type"],
            d["hookPath"],
            d["attempts"],
            d["lastHttpStatus"] or "-",
            d["lastError"],
            d["createTime"],
        ]
        for d in letters
    ]
    columns = ["cursor", "type", "hook path", "attempts", "http", "error", "given up"]
    print_table(f"dead letters ({reply.total_size})", columns, rows)
