"""Reading the node's event log: `ecco listen` (consume and acknowledge) and `ecco stream` (follow from a cursor)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import click

from ecco.cli.options import json_option, node_option
from ecco.cli.output import print_json
from ecco.errors import EccoError

DEFAULT_WAIT_MS = 30_000


def split_types(value: str | None) -> list[str]:
    """Comma-separated event types from a --filter flag (blanks dropped)."""
    return [t.strip() for t in (value or "").split(",") if t.strip()]


def _event_batches(client: Any, request: Any, timeout: float | None) -> Iterator[list[dict[str, Any]]]:
    """The Subscribe stream as lists of event dicts; heartbeats are skipped."""
    from ecco.cli.render import event_dict

    stub = client.stub("EventService")
    for response in client.stream(stub.Subscribe, request, timeout=timeout):
        if response.events:
            yield [event_dict(event) for event in response.events]


def _print_event(event: dict[str, Any], as_json: bool) -> None:
    from ecco.cli.render import event_line

    if as_json:
        print_json(event)
    else:
        click.echo(event_line(event))


@click.command("stream")
@node_option
@click.option("--cursor", type=int, help="Replay events after this cursor, then follow [only new events].")
@click.option("--filter", "filter_types", help="Only these event types, comma-separated (e.g. agent-request).")
@json_option
def stream(node_name: str | None, cursor: int | None, filter_types: str | None, json_output: bool) -> None:
    """Follow the node's events (JSON lines with --json) until interrupted."""
    from ecco.client import NodeClient
    from ecco.v1 import event_service_pb2

    request = event_service_pb2.SubscribeRequest(
        cursor=cursor or 0, types=split_types(filter_types), follow=True, from_tail=cursor is None
    )
    with NodeClient.for_node(node_name) as client:
        for batch in _event_batches(client, request, timeout=None):
            for event in batch:
                _print_event(event, json_output)


@click.command("listen")
@node_option
@click.option(
    "--wait",
    "wait_ms",
    type=click.IntRange(min=0),
    default=DEFAULT_WAIT_MS,
    show_default=True,
    help="How long to wait for an event, in milliseconds.",
)
@click.option("--once", is_flag=True, help="Take only the next event.")
@click.option("--stream", "follow", is_flag=True, help="Keep listening and print events as they come.")
@click.option("--filter", "filter_types", help="Only these event types, comma-separated.")
@click.option(
    "--consumer",
    default="listen",
    show_default=True,
    help="The name under which the node remembers how far you have read.",
)
@json_option
def listen(
    node_name: str | None,
    wait_ms: int,
    once: bool,
    follow: bool,
    filter_types: str | None,
    consumer: str,
    json_output: bool,
) -> None:
    """Print the events not yet seen by this consumer, waiting up to --wait for one; acknowledges what it prints.

    Each call continues where the previous one stopped, so a harness that calls `ecco listen` in a loop sees
    every event once (at least once if it is killed between printing and acknowledging).
    """
    from ecco.client import NodeClient
    from ecco.v1 import event_service_pb2

    request = event_service_pb2.SubscribeRequest(types=split_types(filter_types), follow=True, consumer=consumer)
    with NodeClient.for_node(node_name) as client:
        stub = client.stub("EventService")

        def acknowledge(cursor: int) -> None:
            client.call(stub.CommitCursor, event_service_pb2.CommitCursorRequest(consumer=consumer, cursor=cursor))

        if follow:
            for batch in _event_batches(client, request, timeout=None):
                for event in batch:
                    _print_event(event, json_output)
                acknowledge(batch[-1]["cursor"])
            return
        events = _first_batch(client, request, wait_ms / 1000)
        if once:
            events = events[:1]
        if events:
            acknowledge(events[-1]["cursor"])
        if json_output:
            print_json({"events": events, "cursor": events[-1]["cursor"] if events else None})
        else:
            for event in events:
                _print_event(event, False)


def _first_batch(client: Any, request: Any, wait_s: float) -> list[dict[str, Any]]:
    """The first non-empty batch within the wait; empty if the wait passes first."""
    try:
        for batch in _event_batches(client, request, timeout=wait_s):
            return batch
    except EccoError as error:
        if error.code != "DEADLINE_EXCEEDED":
            raise
    return []
