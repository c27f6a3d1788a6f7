"""`ecco register --uri`: register this node in the ERC-8004 IdentityRegistry (a second call returns the same id)."""

from __future__ import annotations

import click

from ecco.cli.options import CHAIN_ID, json_option, node_option
from ecco.cli.output import print_json


@click.command("register")
@click.option("--uri", "agent_uri", required=True, help="The agent URI (its registration file).")
@click.option("--chain-id", type=CHAIN_ID, default=None, help="Default: the network's chain.")
@click.option("--request-id", default="", help="An idempotency key.")
@node_option
@json_option
def register(agent_uri: str, chain_id: int | None, request_id: str, node_name: str | None, json_output: bool) -> None:
    """Register this node as an ERC-8004 agent; prints the agent id and transaction hash."""
    from ecco.cli.render import to_dict
    from ecco.client import NodeClient
    from ecco.v1 import registry_service_pb2 as pb

    request = pb.RegisterRequest(request_id=request_id, agent_uri=agent_uri, chain_id=chain_id)
    with NodeClient.for_node(node_name) as client:
        stub = client.stub("RegistryService")
        reply = client.call(stub.Register, request, timeout=90.0)
    if json_output:
        print_json(to_dict(reply))
        return
    note = " (already registered)" if reply.already_registered else ""
    click.echo(f"agent {reply.agent_id} on {reply.agent_registry}{note}\ntx {reply.tx_hash}")
