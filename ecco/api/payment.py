"""PaymentService: proto <-> the payment services. Every mutating call honours `request_id`: its response is
stored under the id, so a repeat (a retry after a lost answer) returns it without moving money again."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import grpc
from google.protobuf.message import Message as ProtoMessage

from ecco.api.convert import enum_from_pb, page_offset, page_size, timestamp_ms
from ecco.errors import InvalidArgument, Reason, cut
from ecco.services.messaging import validate_request_id
from ecco.services.payments import (
    Agreements,
    Invoice,
    KeyedLock,
    LedgerEntry,
    Payments,
    QueuedInvoice,
    SettlementResult,
    check_shape,
    from_wei,
)
from ecco.v1 import payment_service_pb2 as pb
from ecco.v1 import payment_service_pb2_grpc

R = TypeVar("R", bound=ProtoMessage)
ESCROW_STATUS = {
    "pending": pb.ESCROW_STATUS_PENDING,
    "locked": pb.ESCROW_STATUS_LOCKED,
    "partially-released": pb.ESCROW_STATUS_PARTIALLY_RELEASED,
    "fully-released": pb.ESCROW_STATUS_FULLY_RELEASED,
    "cancelled": pb.ESCROW_STATUS_CANCELLED,
}
LEDGER_TYPES = {
    "standard": pb.LEDGER_ENTRY_TYPE_STANDARD,
    "streaming": pb.LEDGER_ENTRY_TYPE_STREAMING,
    "escrow": pb.LEDGER_ENTRY_TYPE_ESCROW,
    "swarm": pb.LEDGER_ENTRY_TYPE_SWARM,
}
LEDGER_STATUSES = {
    "pending": pb.LEDGER_ENTRY_STATUS_PENDING,
    "streaming": pb.LEDGER_ENTRY_STATUS_STREAMING,
    "settled": pb.LEDGER_ENTRY_STATUS_SETTLED,
    "failed": pb.LEDGER_ENTRY_STATUS_FAILED,
    "cancelled": pb.LEDGER_ENTRY_STATUS_CANCELLED,
}

# ListLedger filters: unspecified lists every type / status.
LEDGER_TYPE_FILTERS = {pb.LEDGER_ENTRY_TYPE_UNSPECIFIED: "", **{v: k for k, v in LEDGER_TYPES.items()}}
LEDGER_STATUS_FILTERS = {pb.LEDGER_ENTRY_STATUS_UNSPECIFIED: "", **{v: k for k, v in LEDGER_STATUSES.items()}}


def invoice_to_pb(invoice: Invoice) -> pb.Invoice:
    return pb.Invoice(
        id=invoice.id,
        job_id=invoice.job_id,
        chain_id=invoice.chain_id,
        amount=invoice.amount,
        token=invoice.token,
        token_address=invoice.token_address,
        recipient=invoice.recipient,
        valid_until_ms=invoice.valid_until_ms,
        signature=invoice.signature,
        public_key=invoice.public_key,
        amount_wei=str(invoice.amount_wei),
    )


def invoice_from_pb(invoice: pb.Invoice) -> Invoice:
    return check_shape(
        Invoice(
            id=invoice.id,
            job_id=invoice.job_id,
            chain_id=invoice.chain_id,
            amount=invoice.amount,
            token=invoice.token or "ETH",
            recipient=invoice.recipient,
            valid_until_ms=invoice.valid_until_ms,
            token_address=invoice.token_address,
            signature=invoice.signature,
            public_key=invoice.public_key,
        )
    )


def queued_to_pb(item: QueuedInvoice) -> pb.QueuedInvoice:
    return pb.QueuedInvoice(
        invoice=invoice_to_pb(item.invoice), issuer_peer_id=item.issuer, queue_time=timestamp_ms(item.queued_ms)
    )


def settlement_to_pb(result: SettlementResult) -> pb.SettlementResult:
    return pb.SettlementResult(
        recipient=result.recipient,
        chain_id=result.chain_id,
        token=result.token,
        total_amount=result.total_amount,
        total_amount_wei=str(result.total_wei),
        invoice_ids=result.invoice_ids,
        job_ids=result.job_ids,
        tx_hash=result.tx_hash,
        success=result.success,
        error=result.error,
        proofs_sent=result.proofs_sent,
    )


def ledger_to_pb(entry: LedgerEntry) -> pb.LedgerEntry:
    out = pb.LedgerEntry(
        id=entry.id,
        type=LEDGER_TYPES.get(entry.type, pb.LEDGER_ENTRY_TYPE_UNSPECIFIED),
        status=LEDGER_STATUSES.get(entry.status, pb.LEDGER_ENTRY_STATUS_UNSPECIFIED),
        amount=from_wei(entry.amount_wei),
        amount_wei=str(entry.amount_wei),
        token=entry.token,
        chain_id=entry.chain_id,
        recipient=entry.recipient,
        payer=entry.payer,
        job_id=entry.job_id,
        tx_hash=entry.tx_hash,
        create_time=timestamp_ms(entry.created_ms),
        metadata_json=json.dumps(entry.metadata, sort_keys=True),
    )
    if entry.settled_ms is not None:
        out.settle_time.CopyFrom(timestamp_ms(entry.settled_ms))
    return out


class PaymentServicer(payment_service_pb2_grpc.PaymentServiceServicer):
    def __init__(self, payments: Payments, agreements: Agreements) -> None:
        self._payments = payments
        self._agreements = agreements
        self._locks = KeyedLock()

    async def _once(self, method: str, request: Any, response_type: type[R], run: Callable[[], Awaitable[R]]) -> R:
        """Run a mutating call at most once per request_id; a repeat with other fields is IDEMPOTENCY_CONFLICT."""
        request_id = validate_request_id(request.request_id)
        if not request_id:
            return await run()
        return await self._stored(f"{method}:{request_id}", request, response_type, run, "request_id", request_id)

    async def _stored(
        self, key: str, request: Any, response_type: type[R], run: Callable[[], Awaitable[R]], field: str, value: str
    ) -> R:
        """The response stored under `key`, or run and store it; the same key with other fields is a conflict."""
        fingerprint = hashlib.sha256(request.SerializeToString(deterministic=True)).hexdigest()
        store = self._payments.store
        async with self._locks.hold(key):
            stored = await store.stored_result(key)
            if stored is not None:
                if stored[0] != fingerprint:
                    raise InvalidArgument(
                        f"{field} {cut(value)} was used with different fields",
                        Reason.IDEMPOTENCY_CONFLICT,
                        field=field,
                    )
                return response_type.FromString(base64.b64decode(stored[1]))
            response = await run()
            await store.store_result(key, fingerprint, base64.b64encode(response.SerializeToString()).decode())
            return response

    async def ListInvoices(
        self, request: pb.ListInvoicesRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListInvoicesResponse:
        offset, size = page_offset(request.page_token), page_size(request.page_size)
        items = await self._payments.store.list_queue(offset, size + 1)
        total = await self._payments.store.queue_size()
        more = len(items) > size
        return pb.ListInvoicesResponse(
            invoices=[queued_to_pb(i) for i in items[:size]],
            next_page_token=str(offset + size) if more else "",
            total_size=total,
        )

    async def QueueInvoice(
        self, request: pb.QueueInvoiceRequest, context: grpc.aio.ServicerContext
    ) -> pb.QueueInvoiceResponse:
        async def run() -> pb.QueueInvoiceResponse:
            source = request.WhichOneof("source")
            if source is None:
                raise InvalidArgument("give invoice_json or invoice", Reason.INVALID_INVOICE, field="invoice")
            given = request.invoice_json if source == "invoice_json" else invoice_from_pb(request.invoice)
            item, size = await self._payments.queue_by_hand(given)
            return pb.QueueInvoiceResponse(invoice=queued_to_pb(item), queue_size=size)

        return await self._once("QueueInvoice", request, pb.QueueInvoiceResponse, run)

    async def Settle(self, request: pb.SettleRequest, context: grpc.aio.ServicerContext) -> pb.SettleResponse:
        async def run() -> pb.SettleResponse:
            return pb.SettleResponse(results=[settlement_to_pb(r) for r in await self._payments.settle()])

        return await self._once("Settle", request, pb.SettleResponse, run)

    async def SwarmDistribute(
        self, request: pb.SwarmDistributeRequest, context: grpc.aio.ServicerContext
    ) -> pb.SwarmDistributeResponse:
        async def run() -> pb.SwarmDistributeResponse:
            participants = [
                {"peerId": p.peer_id, "walletAddress": p.wallet_address, "contribution": p.contribution}
                for p in request.participants
            ]
            result = await self._agreements.distribute(
                request.job_id, request.total_amount, request.chain_id, request.token or "ETH", participants
            )
            return pb.SwarmDistributeResponse(
                split_id=result.split_id,
                shares=[
                    pb.SwarmShare(
                        peer_id=s.peer_id,
                        wallet_address=s.wallet_address,
                        contribution=s.contribution,
                        amount=from_wei(s.amount_wei),
                        amount_wei=str(s.amount_wei),
                        invoice_id=s.invoice_id,
                    )
                    for s in result.shares
                ],
                total_amount=from_wei(result.total_wei),
                total_amount_wei=str(result.total_wei),
                dust=from_wei(result.dust_wei),
                dust_wei=str(result.dust_wei),
                invoices_queued=result.invoices_queued,
            )

        if not request.job_id:
            return await self._once("SwarmDistribute", request, pb.SwarmDistributeResponse, run)
        # One split per job: a repeat (with or without a request_id) returns the first split, never pays twice.
        fields = pb.SwarmDistributeRequest()
        fields.CopyFrom(request)
        fields.request_id = ""
        key = f"SwarmDistribute-job:{request.job_id}"
        return await self._stored(key, fields, pb.SwarmDistributeResponse, run, "job_id", request.job_id)

    async def EscrowRelease(
        self, request: pb.EscrowReleaseRequest, context: grpc.aio.ServicerContext
    ) -> pb.EscrowReleaseResponse:
        async def run() -> pb.EscrowReleaseResponse:
            send = request.send_invoice if request.HasField("send_invoice") else True
            result = await self._agreements.release(request.job_id, request.milestone_id, request.peer_id, send)
            response = pb.EscrowReleaseResponse(
                job_id=result.job_id,
                milestone_id=result.milestone_id,
                amount=from_wei(result.amount_wei),
                amount_wei=str(result.amount_wei),
                status=ESCROW_STATUS[result.status],
                released_amount=from_wei(result.released_wei),
                released_amount_wei=str(result.released_wei),
            )
            if result.invoice is not None:
                response.invoice.CopyFrom(invoice_to_pb(result.invoice))
            return response

        return await self._once("EscrowRelease", request, pb.EscrowReleaseResponse, run)

    async def EscrowInvoice(
        self, request: pb.EscrowInvoiceRequest, context: grpc.aio.ServicerContext
    ) -> pb.EscrowInvoiceResponse:
        async def run() -> pb.EscrowInvoiceResponse:
            invoice, milestones = await self._agreements.escrow_invoice(request.job_id, request.peer_id)
            return pb.EscrowInvoiceResponse(invoice=invoice_to_pb(invoice), milestone_ids=milestones)

        return await self._once("EscrowInvoice", request, pb.EscrowInvoiceResponse, run)

    async def StreamingTick(
        self, request: pb.StreamingTickRequest, context: grpc.aio.ServicerContext
    ) -> pb.StreamingTickResponse:
        async def run() -> pb.StreamingTickResponse:
            auto = request.auto_invoice if request.HasField("auto_invoice") else False
            result = await self._agreements.tick(
                request.peer_id, request.channel_id, request.tokens, auto, request.pricing_json
            )
            response = pb.StreamingTickResponse(
                channel_id=result.channel_id,
                tokens=result.tokens,
                total_tokens=result.total_tokens,
                amount_owed=from_wei(result.amount_owed_wei),
                amount_owed_wei=str(result.amount_owed_wei),
                total_amount=from_wei(result.total_wei),
                total_amount_wei=str(result.total_wei),
            )
            if result.invoice is not None:
                response.invoice.CopyFrom(invoice_to_pb(result.invoice))
            return response

        return await self._once("StreamingTick", request, pb.StreamingTickResponse, run)

    async def StreamingInvoice(
        self, request: pb.StreamingInvoiceRequest, context: grpc.aio.ServicerContext
    ) -> pb.StreamingInvoiceResponse:
        async def run() -> pb.StreamingInvoiceResponse:
            invoice = await self._agreements.streaming_invoice(request.peer_id, request.channel_id)
            return pb.StreamingInvoiceResponse(invoice=invoice_to_pb(invoice))

        return await self._once("StreamingInvoice", request, pb.StreamingInvoiceResponse, run)

    async def StreamingClose(
        self, request: pb.StreamingCloseRequest, context: grpc.aio.ServicerContext
    ) -> pb.StreamingCloseResponse:
        async def run() -> pb.StreamingCloseResponse:
            doc = await self._agreements.close_channel(request.channel_id)
            return pb.StreamingCloseResponse(
                channel_id=doc["channelId"],
                status=pb.STREAMING_CHANNEL_STATUS_CLOSED,
                total_tokens=doc["totalTokens"],
                total_amount=from_wei(doc["accumulatedWei"]),
                total_amount_wei=str(doc["accumulatedWei"]),
                close_time=timestamp_ms(doc["closedMs"]),
            )

        return await self._once("StreamingClose", request, pb.StreamingCloseResponse, run)

    async def ListLedger(
        self, request: pb.ListLedgerRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListLedgerResponse:
        offset, size = page_offset(request.page_token), page_size(request.page_size)
        type_name = enum_from_pb(LEDGER_TYPE_FILTERS, request.type, "type", "ledger entry type")
        status_name = enum_from_pb(LEDGER_STATUS_FILTERS, request.status, "status", "ledger entry status")
        entries, total = await self._payments.store.list_ledger(type_name, status_name, request.job_id, offset, size)
        return pb.ListLedgerResponse(
            entries=[ledger_to_pb(e) for e in entries],
            next_page_token=str(offset + size) if offset + size < total else "",
            total_size=total,
        )
