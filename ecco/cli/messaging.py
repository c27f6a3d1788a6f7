"""Talking to other nodes: `ecco msg`, `ecco request`, `ecco send`, `ecco peers`, `ecco connect`."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from ecco.cli.options import json_option, milliseconds, node_option
from ecco.cli.output import print_json
from ecco.errors import EccoError, InvalidArgument, Reason

DEFAULT_TIMEOUT_MS = 60_000
# The gRPC deadline leaves the node time to report its own timeout before the call itself expires.
CALL_MARGIN_S = 5.0


def timeout_option(help_text: str) -> Any:
    return click.option(
        "--timeout",
        "timeout_ms",
        type=milliseconds(),
        default=DEFAULT_TIMEOUT_MS,
        show_default=True,
        help=help_text,
    )


request_id_option = click.option("--request-id", default="", help="An idempotency key; it becomes the message id.")


def _message_doc(message: Any) -> dict[str, Any]:
    return {
        "messageId": message.id,
        "from": message.from_peer_id,
        "to": message.to_peer_id,
        "type": message.type,
        "timestamp": message.timestamp_ms,
    }


@click.command("msg")
@click.argument("peer_id")
@click.argument("text")
@request_id_option
@node_option
@json_option
def msg(peer_id: str, text: str, request_id: str, node_name: str | None, json_output: bool) -> None:
    """Send TEXT to PEER_ID as an agent-request and return at once (the reply arrives as an event)."""
    from ecco.client import NodeClient
    from ecco.v1 import messaging_service_pb2 as pb

    with NodeClient.for_node(node_name) as client:
        stub = client.stub("MessagingService")
        reply = client.call(stub.SendPrompt, pb.SendPromptRequest(request_id=request_id, peer_id=peer_id, prompt=text))
    if json_output:
        print_json(_message_doc(reply.message))
    else:
        click.echo(f"sent agent-request {reply.message.id} to {peer_id}")


@click.command("request")
@click.argument("peer_id")
@click.option("--prompt", required=True, help="The prompt to send.")
@timeout_option("Milliseconds to wait for the agent-response.")
@request_id_option
@node_option
@json_option
def request(
    peer_id: str, prompt: str, timeout_ms: int, request_id: str, node_name: str | None, json_output: bool
) -> None:
    """Send an agent-request to PEER_ID, print stream-chunks as they arrive, then the agent-response."""
    from ecco.client import NodeClient
    from ecco.v1 import messaging_service_pb2 as pb

    chunks: list[str] = []
    request_message_id = ""
    with NodeClient.for_node(node_name) as client:
        stub = client.stub("MessagingService")
        call = pb.StreamPromptRequest(request_id=request_id, peer_id=peer_id, prompt=prompt, timeout_ms=timeout_ms)
        for item in client.stream(stub.StreamPrompt, call, timeout=timeout_ms / 1000 + CALL_MARGIN_S):
            kind = item.WhichOneof("event")
            if kind == "sent":
                request_message_id = item.sent.message.id
            elif kind == "chunk":
                chunks.append(item.chunk.text)
                if not json_output:
                    sys.stdout.write(item.chunk.text)
                    sys.stdout.flush()
            elif kind == "reply":
                reply = item.reply
    document = {
        "peerId": reply.peer_id,
        "requestId": request_message_id or reply.request_message_id,
        "text": reply.text,
        "finishReason": reply.finish_reason,
        "latencyMs": reply.latency_ms,
        "chunks": chunks,
    }
    if reply.error:
        raise EccoError(f"the agent answered with an error: {reply.error}", Reason.AGENT_FAILED)
    if json_output:
        print_json(document)
    elif not chunks:
        click.echo(reply.text)
    elif not reply.text.endswith("\n"):
        click.echo()


def _read_payload(payload: str | None, payload_file: Path | None) -> str:
    if (payload is None) == (payload_file is None):
        raise InvalidArgument(
            "give exactly one of --payload and --payload-file", Reason.INVALID_ARGUMENT, field="--payload"
        )
    source = "--payload"
    if payload_file is not None:
        source = f"--payload-file {payload_file}"
        try:
            payload = payload_file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            raise InvalidArgument(
                f"{source}: cannot read the file", Reason.INVALID_PAYLOAD, field="--payload-file"
            ) from None
    try:
        json.loads(payload or "")
    except ValueError as exc:
        raise InvalidArgument(
            f"{source}: invalid JSON: {exc}", Reason.INVALID_PAYLOAD, field=source.split()[0]
        ) from None
    return payload or ""


@click.command("send")
@click.argument("peer_id")
@click.option("--type", "message_type", required=True, help="The message type, e.g. agent-response or stream-chunk.")
@click.option("--payload", help="The payload as JSON text.")
@click.option("--payload-file", type=click.Path(path_type=Path), help="A file holding the JSON payload.")
@request_id_option
@node_option
@json_option
def send(
    peer_id: str,
    message_type: str,
    payload: str | None,
    payload_file: Path | None,
    request_id: str,
    node_name: str | None,
    json_output: bool,
) -> None:
    """Send one message of any type to PEER_ID (e.g. a harness's agent-response with its requestId)."""
    from ecco.client import NodeClient
    from ecco.v1 import messaging_service_pb2 as pb

    body = _read_payload(payload, payload_file)
    with NodeClient.for_node(node_name) as client:
        stub = client.stub("MessagingService")
        reply = client.call(
            stub.SendMessage,
            pb.SendMessageRequest(request_id=request_id, peer_id=peer_id, type=message_type, payload_json=body),
        )
    if json_output:
        print_json(_message_doc(reply.message))
    else:
        click.echo(f"sent {message_type} {reply.message.id} to {peer_id}")


@click.command("peers")
@click.option("--connected", is_flag=True, help="Only peers with an open connection.")
@node_option
@json_option
def peers(connected: bool, node_name: str | None, json_output: bool) -> None:
    """List connected and known peers: id, addresses, capabilities, last seen, latency."""
    from ecco.cli.render import to_dict
    from ecco.client import NodeClient
    from ecco.v1 import messaging_service_pb2 as pb

    found: list[dict[str, Any]] = []
    with NodeClient.for_node(node_name) as client:
        stub = client.stub("MessagingService")
        token = ""
        for _ in range(10_000):  # bounded: at most 10,000 pages
            page = client.call(stub.ListPeers, pb.ListPeersRequest(connected_only=connected, page_token=token))
            found += [to_dict(peer) for peer in page.peers]
            token = page.next_page_token
            if not token:
                break
    if json_output:
        print_json({"peers": found})
        return
    click.echo(f"{len(found)} peers ({sum(1 for p in found if p['connected'])} connected)")
    for peer in found:
        state = "connected" if peer["connected"] else "known"
        latency = f"{peer['latencyMs']:.1f} ms" if peer["latencyMs"] else "-"
        caps = ", ".join(c["name"] for c in peer["capabilities"]) or "-"
        click.echo(f"{peer['peerId']}  {state:<9}  {latency:>9}  last seen {peer.get('lastSeenTime', '-')}")
        click.echo(f"    capabilities: {caps}")
        for address in peer["addresses"]:
            click.echo(f"    {address}")


@click.command("connect")
@click.argument("multiaddr")
@click.option(
    "--timeout",
    "timeout_ms",
    type=milliseconds(),
    default=10_000,
    show_default=True,
    help="Milliseconds to wait for the dial.",
)
@node_option
@json_option
def connect(multiaddr: str, timeout_ms: int, node_name: str | None, json_output: bool) -> None:
    """Dial a peer by its full multiaddr (/ip4/.../tcp/.../p2p/<peerId>)."""
    from ecco.client import NodeClient
    from ecco.v1 import messaging_service_pb2 as pb

    with NodeClient.for_node(node_name) as client:
        stub = client.stub("MessagingService")
        reply = client.call(
            stub.ConnectPeer,
            pb.ConnectPeerRequest(multiaddr=multiaddr, timeout_ms=timeout_ms),
            timeout=timeout_ms / 1000 + CALL_MARGIN_S,
        )
    if json_output:
        print_json({"peerId": reply.peer.peer_id, "alreadyConnected": reply.already_connected})
    else:
        click.echo(f"connected to {reply.peer.peer_id}")
