"""Finding agents by capability: `ecco peer find`, `ecco peer discover`, `ecco ask`."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any

import click

from ecco.cli.messaging import CALL_MARGIN_S
from ecco.cli.options import TRUE_FALSE, choice_of, count, json_option, milliseconds, node_option
from ecco.cli.output import print_json
from ecco.errors import EccoError, Reason
from ecco.parsing import QUERY_DEADLINE_MS, Tier

FIND_CALL_TIMEOUT_S = 15.0

_QUERY_OPTIONS = (
    click.option("--name", help="The capability name (matched exactly or fuzzily)."),
    click.option("--type", "cap_type", help="The capability type, e.g. agent."),
    click.option("--version", "cap_version", help="The wanted version, e.g. 1.0.0."),
    click.option("--features", help="Wanted features, comma-separated."),
    click.option("--preferred", multiple=True, help="Only consider these peer ids (and rank them up); repeatable."),
    click.option("--raw", help="An upstream CapabilityQuery as JSON, instead of the options above."),
)


def capability_query_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Adds --name/--type/--version/--features/--preferred/--raw and hands the command one `query` argument, a
    CapabilityQuery message (the node validates it, so every command reports bad queries alike)."""

    @functools.wraps(command)
    def with_query(
        *args: Any,
        name: str | None,
        cap_type: str | None,
        cap_version: str | None,
        features: str | None,
        preferred: tuple[str, ...],
        raw: str | None,
        **kwargs: Any,
    ) -> Any:
        from ecco.v1 import common_pb2

        query = common_pb2.CapabilityQuery(
            name=name or "",
            type=cap_type or "",
            version=cap_version or "",
            features=[f for f in (features or "").split(",") if f],
            preferred_peer_ids=list(preferred),
            raw_json=raw or "",
        )
        return command(*args, query=query, **kwargs)

    for option in reversed(_QUERY_OPTIONS):
        with_query = option(with_query)
    return with_query


@click.group("peer")
def peer() -> None:
    """Find peers by the capabilities they announce."""


@peer.command("find")
@capability_query_options
@node_option
@json_option
def find(query: Any, node_name: str | None, json_output: bool) -> None:
    """List peers matching a capability, best first, with their score and the reasons."""
    from ecco.cli.render import to_dict
    from ecco.client import NodeClient
    from ecco.v1 import discovery_service_pb2 as pb

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


def _phase_name(number: int) -> str | None:
    from ecco.cli.render import enum_word
    from ecco.v1 import common_pb2

    return enum_word(common_pb2.DiscoveryPhase.DESCRIPTOR, number)


def _progress_line(progress: Any) -> str:
    """One line for a phase that completed, was skipped or failed."""
    from ecco.cli.render import enum_word
    from ecco.v1 import common_pb2

    phase = _phase_name(progress.phase)
    state = enum_word(common_pb2.DiscoveryPhaseState.DESCRIPTOR, progress.state)
    if progress.state == common_pb2.DISCOVERY_PHASE_STATE_COMPLETED:
        line = (
            f"{phase}: completed, {progress.new_matches} new, {progress.total_matches} in total "
            f"({progress.elapsed_ms} ms)"
        )
    else:
        line = f"{phase}: {state}"
    return f"{line}: {progress.detail}" if progress.detail else line


class PhaseDisplay:
    """Progress per phase: a spinner while a phase runs and a line when it ends on a terminal, else one plain line
    per phase; nothing with --json."""

    def __init__(self, json_output: bool) -> None:
        self._quiet = json_output
        self._console: Any = None
        self._status: Any = None
        if not json_output and sys.stdout.isatty():
            from rich.console import Console

            self._console = Console()

    def show(self, progress: Any) -> None:
        from ecco.v1 import common_pb2

        if self._quiet:
            return
        if progress.state == common_pb2.DISCOVERY_PHASE_STATE_STARTED:
            if self._console is not None:
                self._status = self._console.status(f"{_phase_name(progress.phase)}: searching…")
                self._status.start()
            return
        self.close()
        if self._console is None:
            click.echo(_progress_line(progress))
            return
        mark = {
            common_pb2.DISCOVERY_PHASE_STATE_COMPLETED: "[green]✓[/]",
            common_pb2.DISCOVERY_PHASE_STATE_SKIPPED: "[dim]-[/]",
        }.get(progress.state, "[red]✗[/]")
        self._console.print(f"{mark} {_progress_line(progress)}", markup=True, highlight=False)

    def close(self) -> None:
        if self._status is not None:
            self._status.stop()
            self._status = None


def _discovered_doc(peer: Any) -> dict[str, Any]:
    from ecco.cli.render import to_dict

    match = to_dict(peer.match)
    return {
        "peerId": match["peer"]["peerId"],
        "phase": _phase_name(peer.phase),
        "proximity": peer.proximity,
        "matchScore": match["matchScore"],
        "combinedScore": match["combinedScore"],
        "bloomTier": match["bloomTier"],
        "latencyMs": match["peer"]["latencyMs"],
        "connected": match["peer"]["connected"],
        "addresses": match["peer"]["addresses"],
        "matchedCapabilities": match["matchedCapabilities"],
        "reasons": match["reasons"],
    }


def phase_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Adds --phases/--phase-timeout/--min-peers/--prefer-proximity (phased discovery: `peer discover`,
    `consensus query`); the command gets them as `phases`, `phase_timeout_ms`, `min_peers`, `prefer_proximity`."""
    for option in reversed(_PHASE_OPTIONS):
        command = option(command)
    return command


_PHASE_OPTIONS = (
    click.option(
        "--phases",
        help="The phases to run, in order, comma-separated: proximity, local, internet, fallback [all four].",
    ),
    click.option(
        "--phase-timeout",
        "phase_timeout_ms",
        type=milliseconds(),
        help="Milliseconds a phase may wait for answers, 1 to 60000 [5000].",
    ),
    click.option(
        "--min-peers", type=count(1), help="Stop after the phase in which at least this many peers matched [1]."
    ),
    click.option(
        "--prefer-proximity",
        type=TRUE_FALSE,
        help="Run proximity first and rank proximity-found peers up [true].",
    ),
)


def discovery_options_to_pb(options: Any, min_peers_given: bool = True) -> Any:
    """A validated services DiscoveryOptions as the API message; with `min_peers_given` false, min_peers is left
    0 so the node picks it (consensus raises it to --min-agents)."""
    from ecco.v1 import common_pb2

    return common_pb2.DiscoveryOptions(
        phases=[common_pb2.DiscoveryPhase.Value(f"DISCOVERY_PHASE_{p.upper()}") for p in options.phases],
        phase_timeout_ms=options.phase_timeout_ms,
        min_peers=options.min_peers if min_peers_given else 0,
        prefer_proximity=options.prefer_proximity,
        bloom_tier=common_pb2.ReputationTier.Value(f"REPUTATION_TIER_{options.bloom_tier.upper()}")
        if options.bloom_tier
        else common_pb2.REPUTATION_TIER_UNSPECIFIED,
    )


@peer.command("discover")
@capability_query_options
@phase_options
@click.option(
    "--bloom-tier",
    type=choice_of(Tier),
    help="Keep only peers that our own or a gossiped reputation filter puts in this tier: elite, good or acceptable.",
)
@node_option
@json_option
def discover(
    query: Any,
    phases: str | None,
    phase_timeout_ms: int | None,
    min_peers: int | None,
    prefer_proximity: str | None,
    bloom_tier: str | None,
    node_name: str | None,
    json_output: bool,
) -> None:
    """Phased discovery: walk the phases in order and stop once --min-peers peers matched. Peers are ranked as
    upstream ranks them (§7.4): by reputation (discoveryScore), then proximity, then combinedScore.

    proximity = peers found on the local link (mDNS) or connected with a round trip under 50 ms (no
    Bluetooth); local = connected peers plus a gossip query; internet = DHT provider records (skipped on a node
    started with --dht false); fallback = every peer this node knows. Exits 3 (NO_PROVIDER_FOUND) when no phase
    found a match."""
    from ecco.client import NodeClient
    from ecco.parsing import DiscoveryOptions
    from ecco.v1 import common_pb2
    from ecco.v1 import discovery_service_pb2 as pb

    options = DiscoveryOptions.from_flags(phases, phase_timeout_ms, min_peers, prefer_proximity, bloom_tier)
    request = pb.DiscoverPeersRequest(query=query, options=discovery_options_to_pb(options))
    timeout_s = len(options.phases) * options.phase_timeout_ms / 1000 + CALL_MARGIN_S
    display = PhaseDisplay(json_output)
    skipped: list[dict[str, str]] = []
    result = None
    try:
        with NodeClient.for_node(node_name) as client:
            stub = client.stub("DiscoveryService")
            for item in client.stream(stub.DiscoverPeers, request, timeout=timeout_s):
                if item.WhichOneof("event") == "result":
                    result = item.result
                    continue
                display.show(item.progress)
                if item.progress.state == common_pb2.DISCOVERY_PHASE_STATE_SKIPPED:
                    skipped.append({"phase": _phase_name(item.progress.phase), "detail": item.progress.detail})
    finally:
        display.close()
    if result is None:
        raise EccoError("the node ended discovery without a result", Reason.INTERNAL)
    document = {
        "peers": [_discovered_doc(p) for p in result.peers],
        "phasesRun": [_phase_name(p) for p in result.phases_run],
        "phasesSkipped": skipped,
        "minPeersReached": result.min_peers_reached,
        "totalTimeMs": int(result.total_time_ms),
    }
    if json_output:
        print_json(document)
        return
    reached = "min-peers reached" if result.min_peers_reached else f"fewer than --min-peers {options.min_peers}"
    count = len(result.peers)
    click.echo(f"{count} peer{'' if count == 1 else 's'} found in {document['totalTimeMs']} ms ({reached})")
    for found in document["peers"]:
        caps = ", ".join(f"{c['type']}:{c['name']}@{c['version']}" for c in found["matchedCapabilities"])
        near = ", proximity" if found["proximity"] else ""
        tier = f", {found['bloomTier']}" if found["bloomTier"] else ""
        click.echo(f"{found['combinedScore']:.2f}  {found['peerId']}  [{found['phase']}{near}{tier}]  {caps}")


@click.command("ask")
@click.option("--capability", required=True, help="The capability name to look for.")
@click.argument("text")
@click.option(
    "--timeout",
    "timeout_ms",
    type=milliseconds(),
    default=QUERY_DEADLINE_MS,
    show_default=True,
    help="Milliseconds for the whole ask; each candidate gets an equal share of the time left.",
)
@click.option(
    "--max-candidates",
    type=click.IntRange(min=1, max=10),
    default=3,
    show_default=True,
    help="How many candidates to try, best first.",
)
@click.option(
    "--hedge",
    is_flag=True,
    help="Also ask the next candidate when one is slower than the p90 of recent asks; the first answer wins.",
)
@node_option
@json_option
def ask(
    capability: str,
    text: str,
    timeout_ms: int,
    max_candidates: int,
    hedge: bool,
    node_name: str | None,
    json_output: bool,
) -> None:
    """Send TEXT to the best peer offering CAPABILITY; if it fails or stays silent, try the next one."""
    from ecco.cli.render import to_dict
    from ecco.client import NodeClient
    from ecco.v1 import common_pb2
    from ecco.v1 import messaging_service_pb2 as pb

    request = pb.AskRequest(
        query=common_pb2.CapabilityQuery(name=capability),
        prompt=text,
        timeout_ms=timeout_ms,
        max_attempts=max_candidates,
        hedge=hedge,
    )
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


def _reputation_doc(record: Any) -> dict[str, Any]:
    from ecco.cli.render import to_dict

    return to_dict(record)


def _reputation_line(doc: dict[str, Any]) -> str:
    return (
        f"{doc['discoveryScore']:>3}  {doc['tier'] or '-':<10}  {doc['peerId']}  local {doc['localScore']:+d}, "
        f"{doc['successfulJobs']} ok / {doc['failedJobs']} failed of {doc['totalJobs']}"
    )


@peer.command("reputation")
@click.argument("peer_id", required=False)
@click.option(
    "--min-tier",
    type=choice_of(Tier),
    help="List only peers in this tier or a better one.",
)
@node_option
@json_option
def reputation(peer_id: str | None, min_tier: str | None, node_name: str | None, json_output: bool) -> None:
    """This node's reputation record of PEER_ID, or of every peer it ran jobs with (best score first).

    Each request this node sends counts: a reply without error is +1, an error reply, a timeout or an
    unreachable peer -1 (local score clamped to -1000..1000). The discovery score (0-100) ranks peers in
    discovery; tiers are elite >= 90, good >= 70, acceptable >= 50."""
    from ecco.client import NodeClient
    from ecco.v1 import common_pb2
    from ecco.v1 import discovery_service_pb2 as pb

    with NodeClient.for_node(node_name) as client:
        stub = client.stub("DiscoveryService")
        if peer_id is not None:
            reply = client.call(stub.GetReputation, pb.GetReputationRequest(peer_id=peer_id))
            doc = _reputation_doc(reply.reputation)
            if json_output:
                print_json(doc)
            else:
                click.echo(_reputation_line(doc))
            return
        tier = (
            common_pb2.ReputationTier.Value(f"REPUTATION_TIER_{min_tier.upper()}")
            if min_tier
            else common_pb2.REPUTATION_TIER_UNSPECIFIED
        )
        docs: list[dict[str, Any]] = []
        token = ""
        while True:
            page = client.call(
                stub.ListReputation, pb.ListReputationRequest(min_tier=tier, page_size=1000, page_token=token)
            )
            docs += [_reputation_doc(r) for r in page.reputations]
            token = page.next_page_token
            if not token:
                break
    if json_output:
        print_json({"reputations": docs, "totalSize": len(docs)})
        return
    click.echo(f"{len(docs)} peer{'' if len(docs) == 1 else 's'} with a reputation record")
    for doc in docs:
        click.echo(_reputation_line(doc))
