"""`ecco payment ...`: the invoice queue, settlement, swarm splits, escrow milestones and streaming channels
(upstream CLI synopsis). Amounts are decimal strings of whole coins, exactly as typed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from ecco.cli.options import CHAIN_ID, INT64_MAX, TRUE_FALSE, count, json_option, node_option, paging_options
from ecco.cli.output import print_fields, print_json, print_table
from ecco.errors import Aborted, InvalidArgument, Reason, cut

request_id_option = click.option(
    "--request-id", default="", help="An idempotency key: a repeat returns the first result and moves no money."
)


def _json_input(text: str | None, path: Path | None, flag: str) -> str:
    """Exactly one of --X '<json>' and --X-file <path>, returned as text."""
    if (text is None) == (path is None):
        raise InvalidArgument(f"give exactly one of --{flag} and --{flag}-file", Reason.INVALID_ARGUMENT, field=flag)
    if path is None:
        return str(text)
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        raise InvalidArgument(
            f"cannot read --{flag}-file {path}", Reason.INVALID_ARGUMENT, field=f"{flag}-file"
        ) from None


def _call(node_name: str | None, method: str, request: Any) -> Any:
    from ecco.client import NodeClient

    with NodeClient.for_node(node_name) as client:
        stub = client.stub("PaymentService")
        # Settling waits for receipts: give the node time to answer with its own error first.
        return client.call(getattr(stub, method), request, timeout=120.0)


def _show(response: Any, json_output: bool, title: str) -> None:
    from ecco.cli.render import to_dict

    doc = to_dict(response)
    if json_output:
        print_json(doc)
    else:
        print_fields(title, {k: v for k, v in doc.items() if not isinstance(v, list | dict)})


@click.group("payment")
def payment() -> None:
    """Invoices, settlement and payment agreements."""


@payment.command("invoices")
@paging_options
@node_option
@json_option
def invoices(page_size: int, page_token: str, node_name: str | None, json_output: bool) -> None:
    """List the invoices waiting to be paid."""
    from ecco.cli.render import to_dict
    from ecco.v1 import payment_service_pb2 as pb

    reply = _call(node_name, "ListInvoices", pb.ListInvoicesRequest(page_size=page_size, page_token=page_token))
    if json_output:
        print_json(to_dict(reply))
        return
    rows = [
        [q.invoice.id, q.invoice.job_id, q.invoice.amount, q.invoice.token, q.invoice.chain_id, q.invoice.recipient]
        for q in reply.invoices
    ]
    print_table(f"{reply.total_size} queued", ["invoice", "job", "amount", "token", "chain", "recipient"], rows)


def _printed_invoice(text: str) -> Any:
    """The invoice as the Invoice message when `text` is the CLI's own printed form; None for wire JSON."""
    from google.protobuf import json_format

    from ecco.v1 import payment_service_pb2 as pb

    try:
        doc = json.loads(text)
    except ValueError:
        return None  # the node reports unparsable JSON, naming the field
    if not isinstance(doc, dict) or "validUntilMs" not in doc:
        return None
    try:
        return json_format.ParseDict(doc, pb.Invoice(), ignore_unknown_fields=True)
    except json_format.ParseError as error:
        raise InvalidArgument(f"invoice: {cut(str(error), 200)}", Reason.INVALID_INVOICE, field="invoice") from None


@payment.command("queue")
@click.option("--invoice", "invoice_json", help="The invoice as upstream JSON.")
@click.option("--invoice-file", type=click.Path(path_type=Path), help="A file holding the invoice JSON.")
@request_id_option
@node_option
@json_option
def queue(
    invoice_json: str | None, invoice_file: Path | None, request_id: str, node_name: str | None, json_output: bool
) -> None:
    """Add an invoice to the queue by hand (its signature and expiry are checked).

    Takes the upstream wire JSON (`validUntil`) or an invoice exactly as `payment invoices --json` prints it
    (`validUntilMs`, `amountWei`), so an invoice round-trips between two nodes' CLIs."""
    from ecco.v1 import payment_service_pb2 as pb

    text = _json_input(invoice_json, invoice_file, "invoice")
    request = pb.QueueInvoiceRequest(request_id=request_id, invoice_json=text)
    printed = _printed_invoice(text)
    if printed is not None:
        request = pb.QueueInvoiceRequest(request_id=request_id, invoice=printed)
    reply = _call(node_name, "QueueInvoice", request)
    if json_output:
        from ecco.cli.render import to_dict

        print_json(to_dict(reply))
    else:
        click.echo(f"queued invoice {reply.invoice.invoice.id} ({reply.queue_size} in the queue)")


@payment.command("settle")
@request_id_option
@node_option
@json_option
def settle(request_id: str, node_name: str | None, json_output: bool) -> None:
    """Pay every queued invoice: one transfer per recipient, chain and token; proofs go to the payees.

    Exits 0 only when everything queued was paid (or nothing was queued). If any group failed, exits 4
    (ABORTED, TRANSACTION_FAILED) naming each failed group; failed invoices stay queued for the next settle,
    and what was paid is in `ecco payment ledger`."""
    from ecco.cli.render import to_dict
    from ecco.v1 import payment_service_pb2 as pb

    reply = _call(node_name, "Settle", pb.SettleRequest(request_id=request_id))
    failed = [r for r in reply.results if not r.success]
    if failed:
        paid = len(reply.results) - len(failed)
        groups = "; ".join(
            f"{cut(r.total_amount, 30)} {cut(r.token, 12)} to {cut(r.recipient, 44)}: {cut(r.error, 120)}"
            for r in failed[:3]
        )
        more = f"; and {len(failed) - 3} more" if len(failed) > 3 else ""
        raise Aborted(
            f"{len(failed)} of {len(reply.results)} settlements not paid ({paid} paid): {groups}{more}; "
            "the unpaid invoices stay queued",
            Reason.TRANSACTION_FAILED,
        )
    if json_output:
        print_json(to_dict(reply))
        return
    rows = [
        [r.recipient, r.chain_id, r.total_amount, r.token, r.tx_hash, "ok" if r.success else r.error, r.proofs_sent]
        for r in reply.results
    ]
    print_table("settlements", ["recipient", "chain", "amount", "token", "tx", "result", "proofs"], rows)


@payment.command("ledger")
@click.option("--job-id", default="", help="Only entries of this job.")
@paging_options
@node_option
@json_option
def ledger(job_id: str, page_size: int, page_token: str, node_name: str | None, json_output: bool) -> None:
    """List the payment ledger, newest first."""
    from ecco.cli.render import to_dict
    from ecco.v1 import payment_service_pb2 as pb

    reply = _call(
        node_name, "ListLedger", pb.ListLedgerRequest(job_id=job_id, page_size=page_size, page_token=page_token)
    )
    if json_output:
        print_json(to_dict(reply))
        return
    rows = [
        [e.id, pb.LedgerEntryType.Name(e.type), pb.LedgerEntryStatus.Name(e.status), e.amount, e.job_id, e.tx_hash]
        for e in reply.entries
    ]
    print_table(f"{reply.total_size} entries", ["id", "type", "status", "amount", "job", "tx"], rows)


@payment.group("swarm")
def swarm() -> None:
    """Swarm splits."""


@swarm.command("distribute")
@click.option("--job-id", required=True, help="The job whose payout this is; a repeat returns the first split.")
@click.option("--total-amount", required=True, help='The amount to split, in whole coins, e.g. "0.003".')
@click.option("--chain-id", required=True, type=CHAIN_ID, help="The chain to pay on, e.g. 84532.")
@click.option("--token", default="ETH", show_default=True, help="ETH, or an allow-listed ERC-20 address.")
@click.option("--participants", "participants_json", help='JSON: [{"peerId","walletAddress","contribution"}].')
@click.option("--participants-file", type=click.Path(path_type=Path), help="A file holding --participants' JSON.")
@request_id_option
@node_option
@json_option
def distribute(
    job_id: str,
    total_amount: str,
    chain_id: int,
    token: str,
    participants_json: str | None,
    participants_file: Path | None,
    request_id: str,
    node_name: str | None,
    json_output: bool,
) -> None:
    """Split an amount by contribution and queue one invoice per participant (paid by `settle`)."""
    from ecco.v1 import payment_service_pb2 as pb

    text = _json_input(participants_json, participants_file, "participants")
    try:
        given = json.loads(text)
    except ValueError:
        raise InvalidArgument(
            "--participants is not valid JSON", Reason.INVALID_PARTICIPANTS, field="participants"
        ) from None
    if not isinstance(given, list) or not all(isinstance(p, dict) for p in given):
        raise InvalidArgument(
            "--participants must be a JSON list of objects", Reason.INVALID_PARTICIPANTS, field="participants"
        )
    participants = [
        pb.SwarmParticipant(
            peer_id=str(p.get("peerId", "")),
            wallet_address=str(p.get("walletAddress", "")),
            contribution=str(p.get("contribution", "")),
        )
        for p in given
    ]
    request = pb.SwarmDistributeRequest(
        request_id=request_id,
        job_id=job_id,
        total_amount=total_amount,
        chain_id=chain_id,
        token=token,
        participants=participants,
    )
    _show(_call(node_name, "SwarmDistribute", request), json_output, "swarm split")


@payment.group("escrow")
def escrow() -> None:
    """Escrow milestones."""


@escrow.command("release")
@click.option("--job-id", required=True, help="The escrow agreement's job.")
@click.option("--milestone-id", required=True, help="The milestone to release.")
@click.option("--peer", "peer_id", default="", help="The approver, who also gets the invoice (default: the payer).")
@click.option(
    "--send-invoice",
    type=TRUE_FALSE,
    default=True,
    show_default=True,
    help="Send the approver an invoice for the released milestone.",
)
@request_id_option
@node_option
@json_option
def release(
    job_id: str,
    milestone_id: str,
    peer_id: str,
    send_invoice: bool,
    request_id: str,
    node_name: str | None,
    json_output: bool,
) -> None:
    """Release one milestone (once only) and by default invoice it."""
    from ecco.v1 import payment_service_pb2 as pb

    request = pb.EscrowReleaseRequest(
        request_id=request_id, job_id=job_id, milestone_id=milestone_id, peer_id=peer_id, send_invoice=send_invoice
    )
    _show(_call(node_name, "EscrowRelease", request), json_output, "milestone released")


@escrow.command("invoice")
@click.option("--job-id", required=True, help="The escrow agreement's job.")
@click.option("--peer", "peer_id", required=True, help="The payer to invoice.")
@request_id_option
@node_option
@json_option
def escrow_invoice(job_id: str, peer_id: str, request_id: str, node_name: str | None, json_output: bool) -> None:
    """Invoice the released milestones not invoiced yet."""
    from ecco.v1 import payment_service_pb2 as pb

    request = pb.EscrowInvoiceRequest(request_id=request_id, job_id=job_id, peer_id=peer_id)
    reply = _call(node_name, "EscrowInvoice", request)
    _show(reply.invoice if not json_output else reply, json_output, "escrow invoice")


@payment.group("streaming")
def streaming() -> None:
    """Per-token streaming channels."""


@streaming.command("tick")
@click.option("--peer", "peer_id", required=True, help="The payer of the channel.")
@click.option("--channel-id", required=True, help="The streaming channel (created by its first tick).")
@click.option(
    "--tokens", required=True, type=count(0, INT64_MAX), help="How many tokens were produced since the last tick."
)
@click.option(
    "--auto-invoice",
    type=TRUE_FALSE,
    default=False,
    show_default=True,
    help="Invoice the payer as soon as the channel reaches its invoice threshold.",
)
@click.option("--pricing", "pricing_json", help='JSON: {"type":"streaming","chainId":N,"ratePerToken":"0.0001"}.')
@click.option("--pricing-file", type=click.Path(path_type=Path), help="A file holding --pricing's JSON.")
@request_id_option
@node_option
@json_option
def tick(
    peer_id: str,
    channel_id: str,
    tokens: int,
    auto_invoice: bool,
    pricing_json: str | None,
    pricing_file: Path | None,
    request_id: str,
    node_name: str | None,
    json_output: bool,
) -> None:
    """Record tokens generated on a channel (created on first use)."""
    from ecco.v1 import payment_service_pb2 as pb

    pricing = (
        "" if pricing_json is None and pricing_file is None else _json_input(pricing_json, pricing_file, "pricing")
    )
    request = pb.StreamingTickRequest(
        request_id=request_id,
        peer_id=peer_id,
        channel_id=channel_id,
        tokens=tokens,
        auto_invoice=auto_invoice,
        pricing_json=pricing,
    )
    _show(_call(node_name, "StreamingTick", request), json_output, "streaming tick")


@streaming.command("invoice")
@click.option("--peer", "peer_id", required=True, help="The payer of the channel.")
@click.option("--channel-id", required=True, help="The streaming channel.")
@request_id_option
@node_option
@json_option
def streaming_invoice(peer_id: str, channel_id: str, request_id: str, node_name: str | None, json_output: bool) -> None:
    """Invoice what the channel accumulated and was not invoiced yet."""
    from ecco.v1 import payment_service_pb2 as pb

    request = pb.StreamingInvoiceRequest(request_id=request_id, peer_id=peer_id, channel_id=channel_id)
    reply = _call(node_name, "StreamingInvoice", request)
    _show(reply.invoice if not json_output else reply, json_output, "streaming invoice")


@streaming.command("close")
@click.option("--channel-id", required=True, help="The streaming channel to close.")
@request_id_option
@node_option
@json_option
def close(channel_id: str, request_id: str, node_name: str | None, json_output: bool) -> None:
    """Close a channel; later ticks are refused."""
    from ecco.v1 import payment_service_pb2 as pb

    request = pb.StreamingCloseRequest(request_id=request_id, channel_id=channel_id)
    _show(_call(node_name, "StreamingClose", request), json_output, "channel closed")
