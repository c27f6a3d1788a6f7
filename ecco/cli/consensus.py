"""Asking many agents at once: `ecco consensus "prompt"`, `ecco consensus query`, `ecco consensus request` and
`ecco consensus verify` (offline: no node needed)."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from ecco.cli.discovery import (
    PhaseDisplay,
    capability_query_options,
    discovery_options_to_pb,
    phase_options,
)
from ecco.cli.messaging import CALL_MARGIN_S
from ecco.cli.options import FRACTION, TRUE_FALSE, choice_of, count, json_option, milliseconds, node_option
from ecco.cli.output import print_json
from ecco.errors import EccoError, InvalidArgument, Reason
from ecco.parsing import Aggregation, Selection, Similarity

AGGREGATOR_MARGIN_S = 65.0  # the node gives a custom aggregator 60 s


class _QueryByDefault(click.Group):
    """`ecco consensus "prompt" [flags]` is `ecco consensus query "prompt" [flags]`."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("-h", "--help"):
            args = ["query", *args]
        return super().parse_args(ctx, args)


@click.group("consensus", cls=_QueryByDefault)
def consensus() -> None:
    """Ask several agents the same prompt and aggregate their answers into one signed result.

    `ecco consensus "PROMPT"` runs `consensus query` with every default: phased discovery, all matching agents,
    consensus-threshold aggregation at 0.6."""


def _positive(value: int | None, flag: str) -> int:
    if value is not None and value < 1:
        raise InvalidArgument(f"{flag}: must be at least 1, got {value}", Reason.INVALID_ARGUMENT, field=flag)
    return value or 0


_CONSENSUS_OPTIONS = (
    click.option(
        "--selection",
        type=choice_of(Selection),
        default="all",
        show_default=True,
        help="Which of the matching agents to ask.",
    ),
    click.option(
        "--aggregation",
        type=choice_of(Aggregation),
        default="consensus-threshold",
        show_default=True,
        help="How the answers become one result.",
    ),
    click.option("--agent-count", type=count(1), help="How many agents to ask (not with --selection all) [3]."),
    click.option("--min-agents", type=count(1), help="The fewest agents found, and agreeing, for consensus [1]."),
    click.option(
        "--timeout",
        "timeout_ms",
        type=milliseconds(),
        help="The query's overall deadline in milliseconds: discovery and every answer [30000].",
    ),
    click.option("--consensus-threshold", type=FRACTION, help="The confidence consensus-threshold needs, 0..1 [0.6]."),
    click.option(
        "--allow-partial",
        type=TRUE_FALSE,
        help="Aggregate the successes when some agents fail; false fails the query instead [true].",
    ),
    click.option(
        "--decide-early",
        type=click.Choice(["true", "false"], case_sensitive=False),
        help="Stop waiting once the outcome cannot change, withdrawing the rest; false waits for all [true].",
    ),
    click.option("--system-prompt", default="", help="An instruction sent with the prompt (payload.system)."),
    click.option(
        "--include-self",
        type=TRUE_FALSE,
        help="This node's own responder answers too [false].",
    ),
    click.option(
        "--synthesizer", default="", help="Who writes synthesized-consensus: self (this node's responder) or a peer id."
    ),
    click.option("--aggregator-cmd", default="", help="custom: a command reading responses JSON, printing the result."),
    click.option(
        "--similarity",
        type=choice_of(Similarity),
        default="content",
        show_default=True,
        help="When answers agree: content (what they say beyond the prompt: words, numbers with units, yes/no), "
        "exact, text-overlap (word overlap) or peer-embedding (cosine of embeddings from a peer with an `embedding` "
        "capability); single-linkage clusters, the medoid speaks for each.",
    ),
    click.option(
        "--similarity-threshold",
        type=FRACTION,
        help="The similarity at which answers agree, 0..1 [0.9 for content, else 0.75].",
    ),
)
_request_id_option = click.option("--request-id", default="", help="An idempotency key: a repeat asks nobody again.")
_receipt_out_option = click.option(
    "--receipt-out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the signed receipt and the responders' signed messages here (for `consensus verify`).",
)


def _enum_value(enum: Any, prefix: str, name: str) -> int:
    return int(enum.Value(f"{prefix}_{name.upper().replace('-', '_')}"))


def _consensus_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """The flags `consensus query` and `consensus request` share, checked here (errors name the flag) and handed
    to the command as one `options` argument, a ConsensusOptions message without its discovery part."""

    @functools.wraps(command)
    def with_options(
        *args: Any,
        query: Any,
        selection: str,
        aggregation: str,
        agent_count: int | None,
        min_agents: int | None,
        timeout_ms: int | None,
        consensus_threshold: float | None,
        allow_partial: str | None,
        decide_early: str | None,
        system_prompt: str,
        include_self: str | None,
        synthesizer: str,
        aggregator_cmd: str,
        similarity: str,
        similarity_threshold: float | None,
        **kwargs: Any,
    ) -> Any:
        from ecco.parsing import Aggregation, Selection, Similarity, parse_bool, parse_choice
        from ecco.v1 import consensus_service_pb2 as pb

        options = pb.ConsensusOptions(
            query=query,
            selection=_enum_value(
                pb.SelectionStrategy, "SELECTION_STRATEGY", parse_choice(Selection, selection, "--selection")
            ),
            aggregation=_enum_value(
                pb.AggregationStrategy, "AGGREGATION_STRATEGY", parse_choice(Aggregation, aggregation, "--aggregation")
            ),
            agent_count=_positive(agent_count, "--agent-count"),
            min_agents=_positive(min_agents, "--min-agents"),
            timeout_ms=_positive(timeout_ms, "--timeout"),
            system_prompt=system_prompt,
            synthesizer=synthesizer,
            aggregator_cmd=aggregator_cmd,
            similarity=_enum_value(
                pb.SimilarityMethod, "SIMILARITY_METHOD", parse_choice(Similarity, similarity, "--similarity")
            ),
        )
        if consensus_threshold is not None:
            options.consensus_threshold = consensus_threshold
        if similarity_threshold is not None:
            options.similarity_threshold = similarity_threshold
        if allow_partial is not None:
            options.allow_partial = parse_bool(allow_partial, "--allow-partial")
        if include_self is not None:
            options.include_self = parse_bool(include_self, "--include-self")
        if decide_early is not None:
            options.decide_early = parse_bool(decide_early, "--decide-early")
        return command(*args, options=options, **kwargs)

    for option in reversed(_CONSENSUS_OPTIONS):
        with_options = option(with_options)
    return capability_query_options(with_options)


def _agents(count: int) -> str:
    return f"{count} agent{'' if count == 1 else 's'}"


def _enum_name(enum: Any, prefix: str, number: int) -> str | None:
    """The upstream name of a proto enum value: the inverse of `_enum_value` (the contract's `enum_word`)."""
    from ecco.cli.render import enum_word

    return enum_word(enum.DESCRIPTOR, number)


def _status_name(status: int) -> str:
    from ecco.v1 import consensus_service_pb2 as pb

    return _enum_name(pb.ConsensusAgentStatus, "CONSENSUS_AGENT_STATUS", status)


class _AgentDisplay:
    """Live progress: discovery phases, then one line per agent as its answer arrives (a spinner counting the
    agents still out on a terminal); nothing with --json."""

    def __init__(self, json_output: bool) -> None:
        self._quiet = json_output
        self.phases = PhaseDisplay(json_output)
        self._console: Any = None
        self._status: Any = None
        self._waiting = 0
        if not json_output and sys.stdout.isatty():
            from rich.console import Console

            self._console = Console()

    def selected(self, selection: Any) -> None:
        self.phases.close()
        self._waiting = len(selection.peer_ids)
        if self._quiet:
            return
        click.echo(f"asking {self._waiting} of {selection.candidate_count} candidate agents")
        self._spin()

    def _spin(self) -> None:
        if self._console is not None and self._waiting:
            self._status = self._console.status(f"waiting for {_agents(self._waiting)}…")
            self._status.start()

    def answered(self, answer: Any) -> None:
        from ecco.v1 import consensus_service_pb2 as pb

        self._waiting -= 1
        if self._quiet:
            return
        self.close()
        ok = answer.status == pb.CONSENSUS_AGENT_STATUS_SUCCEEDED
        detail = answer.text.strip().replace("\n", " ")[:80] if ok else f"{_status_name(answer.status)}: {answer.error}"
        from ecco.cli.render import short_peer

        who = short_peer(answer.peer_id) + (" (self)" if answer.self_answer else "")
        line = f"{who}  {answer.latency_ms} ms  {detail}"
        if self._console is None:
            click.echo(("ok    " if ok else "FAIL  ") + line)
        else:
            from rich.markup import escape

            mark = "[green]✓[/]" if ok else "[red]✗[/]"
            self._console.print(f"{mark} {escape(line)}", markup=True, highlight=False)
        self._spin()

    def close(self) -> None:
        self.phases.close()
        if self._status is not None:
            self._status.stop()
            self._status = None


def _message_dict(message: Any) -> dict[str, Any]:
    """A signed message in the upstream wire form (what `consensus verify` reads)."""
    return {
        "id": message.id,
        "from": message.from_peer_id,
        "to": message.to_peer_id,
        "type": message.type,
        "payload": json.loads(message.payload_json or "null"),
        "timestamp": message.timestamp_ms,
        "signature": message.signature,
        "publicKey": message.public_key,
    }


def result_document(result: Any) -> dict[str, Any]:
    from ecco.cli.render import to_dict
    from ecco.v1 import consensus_service_pb2 as pb

    metrics = to_dict(result.metrics)
    metrics["totalTimeMs"] = int(metrics.get("totalTimeMs", 0))
    return {
        "consensusId": result.consensus_id,
        "text": result.text,
        "result": json.loads(result.result_json or "null"),
        "achieved": result.achieved,
        "confidence": result.confidence,
        "agreement": result.agreement,
        "strategy": _enum_name(pb.AggregationStrategy, "AGGREGATION_STRATEGY", result.strategy),
        "votes": [{"text": v.text, "peerIds": list(v.peer_ids), "weight": v.weight} for v in result.votes],
        "stopReason": result.stop_reason,
        "responses": [
            {
                "peerId": a.peer_id,
                "status": _status_name(a.status),
                "text": a.text,
                "error": a.error,
                "latencyMs": int(a.latency_ms),
                "matchScore": a.match_score,
                "messageId": a.message_id,
                "requestMessageId": a.request_message_id,
                "selfAnswer": a.self_answer,
            }
            for a in result.responses
        ],
        "rankings": [to_dict(r) for r in result.rankings],
        "metrics": metrics,
        "receipt": json.loads(result.receipt.receipt_json),
    }


def receipt_bundle(result: Any) -> dict[str, Any]:
    """The receipt with the signed messages it commits to: everything `consensus verify` needs, offline."""
    from ecco.v1 import consensus_service_pb2 as pb

    return {
        "receipt": json.loads(result.receipt.receipt_json),
        "responses": [
            _message_dict(a.message)
            for a in result.responses
            if a.status == pb.CONSENSUS_AGENT_STATUS_SUCCEEDED and a.HasField("message")
        ],
    }


def _run(
    prompt: str,
    options: Any,
    request_id: str,
    receipt_out: Path | None,
    node_name: str | None,
    json_output: bool,
    discovery_s: float,
) -> None:
    from ecco.client import NodeClient
    from ecco.parsing import QUERY_DEADLINE_MS
    from ecco.v1 import consensus_service_pb2 as pb

    # the node's deadline covers discovery and the answers; a synthesizer or custom aggregator may run after it
    timeout_s = discovery_s + (options.timeout_ms or QUERY_DEADLINE_MS) / 1000 + AGGREGATOR_MARGIN_S + CALL_MARGIN_S
    request = pb.StreamQueryRequest(request_id=request_id, prompt=prompt, options=options)
    display = _AgentDisplay(json_output)
    result = None
    try:
        with NodeClient.for_node(node_name) as client:
            stub = client.stub("ConsensusService")
            for item in client.stream(stub.StreamQuery, request, timeout=timeout_s):
                kind = item.WhichOneof("event")
                if kind == "discovery":
                    display.phases.show(item.discovery)
                elif kind == "selection":
                    display.selected(item.selection)
                elif kind == "agent_response":
                    display.answered(item.agent_response)
                else:
                    result = item.result
    finally:
        display.close()
    if result is None:
        raise EccoError("the node ended the consensus query without a result", Reason.INTERNAL)
    if receipt_out is not None:
        receipt_out.write_text(json.dumps(receipt_bundle(result), indent=2) + "\n", encoding="utf-8")
    if json_output:
        print_json(result_document(result))
        return
    verdict = "consensus achieved" if result.achieved else "NO consensus"
    doc = result_document(result)
    click.echo(
        f"{verdict} ({doc['strategy']}: confidence {result.confidence:.2f}, {result.agreement} agree; "
        f"{doc['metrics']['successfulAgents']} of {doc['metrics']['totalAgents']} agents answered; "
        f"stopped: {result.stop_reason})"
    )
    for vote in doc["votes"] if not result.achieved else []:
        click.echo(f"  {vote['weight']:.2f}  {_agents(len(vote['peerIds']))}: {vote['text'].strip()[:80]}")
    click.echo(result.text.rstrip("\n"))
    if receipt_out is not None:
        click.echo(f"receipt signed by {result.receipt.signer_peer_id}, written to {receipt_out}", err=True)


@consensus.command("query")
@click.argument("prompt")
@_consensus_options
@phase_options
@_request_id_option
@_receipt_out_option
@node_option
@json_option
def query(
    prompt: str,
    options: Any,
    phases: str | None,
    phase_timeout_ms: int | None,
    min_peers: int | None,
    prefer_proximity: str | None,
    request_id: str,
    receipt_out: Path | None,
    node_name: str | None,
    json_output: bool,
) -> None:
    """Phased discovery, then ask the selected agents PROMPT and aggregate their answers.

    On a terminal each agent's answer is shown as it arrives. Exit 0 with a result also when consensus was not
    reached (achieved=false, with the votes); errors: 2 bad flags, 3 no matching agents, 4 every agent failed
    (or one did with --allow-partial false), 9/1 other failures."""
    from ecco.parsing import DiscoveryOptions

    discovery = DiscoveryOptions.from_flags(phases, phase_timeout_ms, min_peers, prefer_proximity)
    options.discovery.CopyFrom(discovery_options_to_pb(discovery, min_peers_given=min_peers is not None))
    discovery_s = len(discovery.phases) * discovery.phase_timeout_ms / 1000
    _run(prompt, options, request_id, receipt_out, node_name, json_output, discovery_s)


@consensus.command("request")
@click.argument("prompt")
@_consensus_options
@_request_id_option
@_receipt_out_option
@node_option
@json_option
def request(
    prompt: str, options: Any, request_id: str, receipt_out: Path | None, node_name: str | None, json_output: bool
) -> None:
    """Like `consensus query`, but candidates come from a plain find (no phased discovery)."""
    from ecco.v1 import consensus_service_pb2 as pb

    options.discovery_mode = pb.DISCOVERY_MODE_FIND
    _run(prompt, options, request_id, receipt_out, node_name, json_output, discovery_s=2.0)


@consensus.command("verify")
@click.argument("receipt_file", type=click.Path(dir_okay=False, path_type=Path))
@json_option
def verify(receipt_file: Path, json_output: bool) -> None:
    """Check a consensus receipt offline, without a node: the signer's signature and peer id, the result hash, and
    each responder's signed agent-response (as written by --receipt-out). Exit 2 (RECEIPT_INVALID) listing every
    problem when anything does not check out."""
    from ecco.receipts import verify_receipt_file

    report = verify_receipt_file(receipt_file)
    document = {
        "verified": True,
        "consensusId": report.consensus_id,
        "signerPeerId": report.signer_peer_id,
        "responsesVerified": report.responses_verified,
    }
    if json_output:
        print_json(document)
    else:
        click.echo(
            f"receipt {report.consensus_id} verified: signed by {report.signer_peer_id}, "
            f"{report.responses_verified} responder signatures and hashes check out"
        )
