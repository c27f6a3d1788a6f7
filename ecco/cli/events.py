"""Reading the node's event log: `ecco listen` (consume and acknowledge) and `ecco stream` (follow from a cursor)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import click

from ecco.cli.options import json_option, node_option
from ecco.cli.output import print_json, write_out
from ecco.errors import EccoError, cut

DEFAULT_WAIT_MS = 30_000
MAX_WAIT_MS = 3_600_000
MAX_LISTEN_BATCH = 1000
"""The most events one `listen` call prints (the API's page limit); the next call continues after them."""
MAX_CURSOR = 2**63 - 1


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
        write_out(event_line(event) + "\n")


@click.command("stream")
@node_option
@click.option(
    "--cursor",
    type=click.IntRange(-MAX_CURSOR - 1, MAX_CURSOR),  # a negative one is the daemon's INVALID_CURSOR
    help="Replay events after this cursor, then follow [only new events].",
)
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


class StartPoint(click.ParamType):
    """`--from now|start|<cursor>`: where a consumer that never acknowledged anything starts."""

    name = "now|start|CURSOR"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str | int:
        if isinstance(value, int) or value in ("now", "start"):
            return value
        text = str(value).strip().lower()
        if text in ("now", "start"):
            return text
        if text.isdigit() and int(text) <= MAX_CURSOR:
            return int(text)
        self.fail(f"expected now, start or a cursor 0..{MAX_CURSOR}, got {cut(str(value))!r}", param, ctx)


@click.command("listen")
@node_option
@click.option(
    "--wait",
    "wait_ms",
    type=click.IntRange(min=0, max=MAX_WAIT_MS),
    default=DEFAULT_WAIT_MS,
    show_default=True,
    help="How long to wait for an event, in milliseconds; 0 returns what is waiting now without waiting.",
)
@click.option("--once", is_flag=True, help="Take only the next event.")
@click.option("--stream", "follow", is_flag=True, help="Keep listening and print events as they come.")
@click.option(
    "--filter", "filter_types", help="Only these event types, comma-separated (others are skipped and acknowledged)."
)
@click.option(
    "--consumer",
    default="listen",
    show_default=True,
    help="The name under which the node remembers how far you have read (1-64 of [A-Za-z0-9._-]).",
)
@click.option(
    "--from",
    "start",
    type=StartPoint(),
    default="start",
    show_default=True,
    help="Where a new consumer starts: start (the whole log), now (only events from now on) or after a cursor. "
    "A consumer that has acknowledged before always continues from its cursor.",
)
@json_option
def listen(
    node_name: str | None,
    wait_ms: int,
    once: bool,
    follow: bool,
    filter_types: str | None,
    consumer: str,
    start: str | int,
    json_output: bool,
) -> None:
    """Print the events not yet acknowledged by this consumer, waiting up to --wait for one; then acknowledge them.

    Each call continues where the previous one stopped, so a harness that calls `ecco listen` in a loop sees
    every event. The cursor is committed only after the events were written and flushed to stdout: if the
    write fails (full disk, closed pipe) or the command is killed before, the next call prints them again
    (at least once).
    """
    from ecco.client import NodeClient
    from ecco.v1 import event_service_pb2

    types = split_types(filter_types)
    with NodeClient.for_node(node_name) as client:
        stub = client.stub("EventService")

        def acknowledge(cursor: int) -> None:
            client.call(stub.CommitCursor, event_service_pb2.CommitCursorRequest(consumer=consumer, cursor=cursor))

        cursor = _consumer_start(client, consumer, start, acknowledge)
        if follow:
            request = event_service_pb2.SubscribeRequest(cursor=cursor, types=types, follow=True)
            for batch in _event_batches(client, request, timeout=None):
                for event in batch:
                    _print_event(event, json_output)
                acknowledge(batch[-1]["cursor"])
            return
        events = _waiting_events(client, cursor, types, 1 if once else MAX_LISTEN_BATCH, wait_ms)
        if once:
            events = events[:1]
        if json_output:
            print_json({"events": events, "cursor": events[-1]["cursor"] if events else None})
        else:
            for event in events:
                _print_event(event, False)
        if events:
            acknowledge(events[-1]["cursor"])


def _consumer_start(client: Any, consumer: str, start: str | int, acknowledge: Any) -> int:
    """The cursor after which this consumer reads: its committed one, or for a new consumer the --from point.

    `--from now` is committed at once, so that a new consumer's next call still starts there."""
    from ecco.v1 import event_service_pb2

    stub = client.stub("EventService")
    stored = client.call(stub.GetCursor, event_service_pb2.GetCursorRequest(consumer=consumer))
    if stored.HasField("update_time"):
        return int(stored.cursor)
    if start == "start":
        return 0
    if start == "now":
        head = int(client.call(stub.ListEvents, event_service_pb2.ListEventsRequest(page_size=1)).head_cursor)
        acknowledge(head)
        return head
    return int(start)


def _waiting_events(client: Any, cursor: int, types: list[str], limit: int, wait_ms: int) -> list[dict[str, Any]]:
    """The events after `cursor` that are in the log now; if there are none, the first batch within the wait."""
    from ecco.cli.render import event_dict
    from ecco.v1 import event_service_pb2

    stub = client.stub("EventService")
    page = client.call(
        stub.ListEvents, event_service_pb2.ListEventsRequest(cursor=cursor, types=types, page_size=limit)
    )
    if page.events or wait_ms == 0:
        return [event_dict(event) for event in page.events]
    request = event_service_pb2.SubscribeRequest(cursor=cursor, types=types, follow=True)
    try:
        for batch in _event_batches(client, request, timeout=wait_ms / 1000):
            return batch
    except EccoError as error:
        if error.code != "DEADLINE_EXCEEDED":
            raise
    return []
