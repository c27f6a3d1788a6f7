"""Finding agents by capability: `ecco peer find`, `ecco ask`."""

from __future__ import annotations

from typing import Any

import click

from ecco.cli.messaging import CALL_MARGIN_S, DEFAULT_TIMEOUT_MS
from ecco.cli.options import json_option, node_option
from ecco.cli.output import print_json
from ecco.errors import EccoError, Reason

FIND_CALL_TIMEOUT_S = 15.0


@click.group("peer")
def peer() -> None:
    """Find peers by the capabilities they announce."""


@peer.command("find")
@click.option("--name", help="The capability name (matched exactly or fuzzily).")
@click.option("--type", "cap_type", help="The capability type, e.g. agent.")
@click.option("--version", "cap_version", help="The wanted version, e.g. 1.0.0.")
@click.option("--features", help="Wanted features, comma-separated.")
@click.option("--preferred", multiple=True, help="Only consider these peer ids (and rank them up); repeatable.")
@click.option("--raw", help="An upstream CapabilityQuery as JSON, instead of the options above.")
@node_option
@json_option
def find(
    name: str | None,
    cap_type: str | None,
    cap_version: str | None,
    features: str | None,
    preferred: tuple[str, ...],
    raw: str | None,
    node_name: str | None,
    json_output: bool,
) -> None:
    """List peers matching a capability, best first, with their score and the reasons."""
    from ecco.cli.render import to_dict
    from ecco.client import NodeClient
    from ecco.v1 import common_pb2
    from ecco.v1 import discovery_service_pb2 as pb

    query = common_pb2.CapabilityQuery(
        name=name or "",
        type=cap_type or "",
        version=cap_version or "",
        features=[f for f in (features or "").split(",") if f],
        preferred_peer_ids=list(preferred),
        raw_json=raw or "",
    )
    with NodeClient.for_node(node_name) as client:
        stub = client.stub("DiscoveryService")
        reply = client.call(stub.FindPeers, pb.FindPeersRequest(query=query), timeout=FIND_CALL_TIMEOUT_S)
    matches = [to_dict(m) for m in reply.matches]
    if json_output:
        print_json({"matches": matches})
        return
    click.echo(f"{len(matches)} matching peers")
    for match in matches:
        caps = ", ".join(f"{c['type']}:{c['name']}@{c['version']}" for c in match["matchedCapabilities"])
        click.echo(f"{match['matchScore']:.2f}  {match['peer']['peerId']}  {caps}")
        for reason in match["reasons"]:
            click.echo(f"      {reason}")


@click.command("ask")
@click.option("--capability", required=True, help="The capability name to look for.")
@click.argument("text")
@click.option(
    "--timeout",
    "timeout_ms",
    type=click.IntRange(min=1),
    default=DEFAULT_TIMEOUT_MS,
    show_default=True,
    help="Milliseconds for the whole ask, trying candidates one after another.",
)
@node_option
@json_option
def ask(capability: str, text: str, timeout_ms: int, node_name: str | None, json_output: bool) -> None:
    """Send TEXT to the best peer offering CAPABILITY; if it fails, try the next one."""
    from ecco.cli.render import to_dict
    from ecco.client import NodeClient
    from ecco.v1 import common_pb2
    from ecco.v1 import messaging_service_pb2 as pb

    request = pb.AskRequest(query=common_pb2.CapabilityQuery(name=capability), prompt=text, timeout_ms=timeout_ms)
    with NodeClient.for_node(node_name) as client:
        stub = client.stub("MessagingService")
        reply = client.call(stub.Ask, request, timeout=timeout_ms / 1000 + CALL_MARGIN_S)
    answer = reply.reply
    document: dict[str, Any] = {
        "peerId": answer.peer_id,
        "text": answer.text,
        "finishReason": answer.finish_reason,
        "error": answer.error,
        "latencyMs": answer.latency_ms,
        "matchCount": reply.match_count,
        "candidates": [to_dict(c) for c in reply.candidates],
    }
    if answer.error:
        raise EccoError(f"the agent answered with an error: {answer.error}", Reason.AGENT_FAILED)
    if json_output:
        print_json(document)
    else:
        click.echo(answer.text)
