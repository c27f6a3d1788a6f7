"""Invoices in, transfers out, proofs back: the standard payment flow on both sides (upstream-ecco §9.3-§9.5).

Requester side: an agent-request this node sends makes an *expected invoice* row; an invoice message is queued
only when it is signed by the peer that was asked, for a job this node is expecting, and not expired. `settle`
pays the queue with one transfer per (recipient, chain, token), and sends each invoice's issuer a proof.

Crash safety: a transfer is signed, and written to the store with its hash and nonce, *before* it is broadcast.
A settlement found open later (a crash, an RPC that went away) is reconciled by its hash: mined -> finished,
unknown -> the same signed bytes are broadcast again. So no invoice is ever paid by two transactions.

Payee side: a proof is checked on chain (success, recipient, amount, chain) and recorded per (tx, invoice); one
transaction can prove several invoices only while its value covers all of them, so proofs cannot be replayed.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Any

from ecco.errors import EccoError, FailedPrecondition, InvalidArgument, PermissionDenied, Reason
from ecco.services.crypto_ports import Signer, Verifier
from ecco.services.envelope import Message
from ecco.services.events import EventLog
from ecco.services.payments.amounts import from_wei
from ecco.services.payments.invoices import Invoice, check_usable, issuer_of, new_invoice, parse_invoice, sign_invoice
from ecco.services.payments.ports import Chains, LedgerEntry, PaymentStore, QueuedInvoice, Settlement
from ecco.services.ports import Direction

log = logging.getLogger("ecco.payments")

QUEUE_LIMIT = 1000
# Upstream keeps an expected-invoice row 5 minutes and deletes it on the first invoice (§13 #5). We keep it an
# hour and accept every distinct invoice of the job while it lasts, so streaming ticks are all paid.
EXPECTED_INVOICE_TTL_MS = 3_600_000
RECEIPT_TIMEOUT_S = 30.0
TX_HASH_LENGTH = 66

SendMessage = Callable[[str, str, Any], Awaitable[object]]


@dataclass(frozen=True)
class SettlementResult:
    recipient: str
    chain_id: int
    token: str
    total_wei: int
    invoice_ids: list[str]
    job_ids: list[str]
    tx_hash: str = ""
    success: bool = False
    error: str = ""
    proofs_sent: int = 0

    @property
    def total_amount(self) -> str:
        return from_wei(self.total_wei)


@dataclass(frozen=True)
class PaymentSettings:
    """The node's payment configuration, already validated."""

    allowed_tokens: frozenset[str] = frozenset()
    pricing: dict[str, Any] = field(default_factory=dict)
    receipt_timeout_s: float = RECEIPT_TIMEOUT_S


def _bad_proof(problem: str) -> InvalidArgument:
    return InvalidArgument(f"payment proof rejected: {problem}", Reason.PAYMENT_PROOF_INVALID)


class Payments:
    def __init__(
        self,
        store: PaymentStore,
        chains: Chains,
        wallet_address: str,
        signer: Signer,
        verifier: Verifier,
        events: EventLog,
        send: SendMessage,
        settings: PaymentSettings,
        clock: Callable[[], int],
    ) -> None:
        self.store = store
        self.chains = chains
        self.settings = settings
        self.clock = clock
        self.events = events
        self._wallet = wallet_address.lower()
        self._signer = signer
        self._verifier = verifier
        self._send = send
        self._settle_lock = asyncio.Lock()
        self._proof_lock = asyncio.Lock()

    @property
    def peer_id(self) -> str:
        return self._signer.peer_id

    @property
    def wallet(self) -> str:
        if not self._wallet:
            raise FailedPrecondition(
                "this node has no wallet: set ECCO_WALLET_KEY or wallet.key_file", Reason.WALLET_NOT_CONFIGURED
            )
        return self._wallet

    # ------------------------------------------------------------------------------------------ requester side

    async def expect_invoice(self, peer_id: str, job_id: str) -> None:
        """Called for every agent-request this node sends: the peer asked may invoice the job."""
        now = self.clock()
        await self.store.expect_invoice(job_id, peer_id, now + EXPECTED_INVOICE_TTL_MS, now)

    async def on_invoice(self, message: Message) -> None:
        """An invoice from a peer: queued if signed by that peer for a job we expect from it; else recorded."""
        try:
            invoice = parse_invoice(message.payload)
            if issuer_of(invoice, self._verifier) != message.from_:
                raise PermissionDenied("invoice is not signed by the sending peer", Reason.INVALID_INVOICE)
            expected = await self.store.expected_invoice(invoice.job_id)
            if expected is None or expected[0] != message.from_ or expected[1] < self.clock():
                raise PermissionDenied(
                    f"no invoice expected from {message.from_} for job {invoice.job_id}", Reason.INVOICE_UNEXPECTED
                )
            await self._queue(invoice, message.from_, _invoice_kind(message.payload))
        except EccoError as rejection:
            await self.events.record(
                "payment-failed-local",
                {"stage": "invoice", "reason": str(rejection.reason), "detail": rejection.message},
                peer_id=message.from_,
                message_id=message.id,
            )

    async def queue_by_hand(self, invoice: Invoice | str) -> tuple[QueuedInvoice, int]:
        """`ecco payment queue`: a signed invoice must verify; no expected row is needed."""
        parsed = parse_invoice(invoice) if isinstance(invoice, str) else invoice
        issuer = issuer_of(parsed, self._verifier)
        return await self._queue(parsed, issuer)

    async def _queue(
        self, invoice: Invoice, issuer: str, type: str = "standard", metadata: dict[str, Any] | None = None
    ) -> tuple[QueuedInvoice, int]:
        check_usable(invoice, self.clock(), self.settings.allowed_tokens)
        self.chains.get(invoice.chain_id)  # an invoice for a chain this node cannot pay on is refused now
        item = QueuedInvoice(invoice, issuer, self.clock())
        entry = LedgerEntry(
            id=str(uuid.uuid4()),
            type=type,
            status="pending",
            amount_wei=invoice.amount_wei,
            token=invoice.token,
            chain_id=invoice.chain_id,
            recipient=invoice.recipient.lower(),
            payer=self._wallet or self.peer_id,
            job_id=invoice.job_id,
            created_ms=self.clock(),
            token_address=invoice.token_address.lower(),
            invoice_id=invoice.id,
            peer_id=issuer,
            direction="out",
            metadata=metadata or {},
        )
        if await self.store.queue_invoice(item, entry, QUEUE_LIMIT):
            await self.events.record(
                "payment-queued",
                {
                    "invoiceId": invoice.id,
                    "jobId": invoice.job_id,
                    "amount": invoice.amount,
                    "chainId": invoice.chain_id,
                },
                peer_id=issuer,
            )
        return item, await self.store.queue_size()

    async def settle(self) -> list[SettlementResult]:
        """Pay every queued invoice: reconcile open settlements first, then one transfer per group."""
        async with self._settle_lock:
            results = await self._reconcile_open()
            groups: dict[tuple[str, int, str, str], list[QueuedInvoice]] = {}
            for item in await self.store.unsettled_invoices():
                inv = item.invoice
                key = (inv.recipient.lower(), inv.chain_id, inv.token.upper(), inv.token_address.lower())
                groups.setdefault(key, []).append(item)
            for key, items in groups.items():
                results.append(await self._settle_group(key, items))
            return results

    async def reconcile(self) -> list[SettlementResult]:
        """Finish settlements a crash or an outage left open (their invoices are paid at most once) and resend
        undelivered proofs; pays nothing new. Run on start and periodically."""
        async with self._settle_lock:
            results = await self._reconcile_open()
        await self._retry_proofs()
        return results

    async def _reconcile_open(self) -> list[SettlementResult]:
        """Finish or re-broadcast every open settlement, then resend undelivered proofs (under the settle lock)."""
        results = [await self._reconcile(open_) for open_ in await self.store.open_settlements()]
        await self._resend_proofs()
        return results

    async def _settle_group(self, key: tuple[str, int, str, str], items: list[QueuedInvoice]) -> SettlementResult:
        recipient, chain_id, token, token_address = key
        total = sum(item.invoice.amount_wei for item in items)
        result = SettlementResult(
            recipient, chain_id, token, total, [i.invoice.id for i in items], [i.invoice.job_id for i in items]
        )
        try:
            chain = self.chains.get(chain_id)
            balance = await chain.balance(token_address)
            if balance < total:
                raise FailedPrecondition(
                    f"insufficient funds: {from_wei(balance)} {token} available, {from_wei(total)} needed",
                    Reason.INSUFFICIENT_FUNDS,
                )
            stored = await self.store.highest_nonce(chain_id, chain.address)
            nonce = max(await chain.next_nonce(), -1 if stored is None else stored + 1)
            signed = await chain.sign_transfer(recipient, total, token_address, nonce)
        except EccoError as error:
            return await self._failed(result, error)
        settlement = Settlement(
            id=str(uuid.uuid4()),
            chain_id=chain_id,
            recipient=recipient,
            token=token,
            token_address=token_address,
            total_wei=total,
            invoice_ids=result.invoice_ids,
            nonce=signed.nonce,
            tx_hash=signed.tx_hash,
            raw=signed.raw,
            status="signed",
            created_ms=self.clock(),
            sender=chain.address,
        )
        await self.store.begin_settlement(settlement)
        queued = {item.invoice.id: item for item in items}
        return await self._complete(settlement, replace(result, tx_hash=signed.tx_hash), queued)

    async def _reconcile(self, settlement: Settlement) -> SettlementResult:
        queued = {q.invoice.id: q for q in await self.store.list_queue(0, QUEUE_LIMIT)}
        jobs = [queued[i].invoice.job_id if i in queued else "" for i in settlement.invoice_ids]
        result = SettlementResult(
            settlement.recipient,
            settlement.chain_id,
            settlement.token,
            settlement.total_wei,
            settlement.invoice_ids,
            jobs,
            tx_hash=settlement.tx_hash,
        )
        try:
            chain = self.chains.get(settlement.chain_id)
            mined = await chain.receipt(settlement.tx_hash, 0)
        except EccoError as error:
            return await self._failed(result, error)
        if mined is not None:
            return await self._finish(settlement, result, mined, queued)
        return await self._complete(settlement, result, queued)

    async def _complete(
        self, settlement: Settlement, result: SettlementResult, queued: dict[str, QueuedInvoice]
    ) -> SettlementResult:
        """Broadcast the signed transfer (again: the chain ignores one it knows) and wait for its receipt."""
        try:
            chain = self.chains.get(settlement.chain_id)
            await chain.broadcast(settlement.raw)
            mined = await chain.receipt(settlement.tx_hash, self.settings.receipt_timeout_s)
        except EccoError as error:
            if error.reason == Reason.TRANSACTION_FAILED:  # refused by the chain: it will never be mined
                await self.store.finish_settlement(settlement.id, False, error.message, self.clock())
            return await self._failed(result, error)
        if mined is None:
            error = FailedPrecondition("the transaction is not mined yet; settle again later", Reason.CHAIN_UNAVAILABLE)
            return await self._failed(result, error)
        return await self._finish(settlement, result, mined, queued)

    async def _finish(
        self, settlement: Settlement, result: SettlementResult, success: bool, queued: dict[str, QueuedInvoice]
    ) -> SettlementResult:
        """Record the outcome; on success send each issuer its proof (`queued`: the settlement's invoices)."""
        error = "" if success else "the transaction reverted"
        await self.store.finish_settlement(settlement.id, success, error, self.clock())
        payload = {
            "txHash": settlement.tx_hash,
            "chainId": settlement.chain_id,
            "recipient": settlement.recipient,
            "totalAmount": from_wei(settlement.total_wei),
            "invoiceIds": settlement.invoice_ids,
        }
        await self.events.record("payment-settled" if success else "payment-failed-local", payload)
        sent = 0
        if success:
            for invoice_id in settlement.invoice_ids:
                item = queued.get(invoice_id)
                if item is not None and item.issuer and item.issuer != self.peer_id:
                    sent += await self._send_proof(item, settlement.tx_hash, settlement.chain_id)
        return replace(result, success=success, error=error, proofs_sent=sent)

    async def _send_proof(self, item: QueuedInvoice, tx_hash: str, chain_id: int) -> int:
        """Send one proof; it is marked sent only once delivered, so a later settle retries it."""
        proof = {"invoiceId": item.invoice.id, "txHash": tx_hash, "chainId": chain_id}
        try:
            await self._send(item.issuer, "submit-payment-proof", proof)
        except EccoError as error:
            log.warning("could not send payment proof", extra={"peer": item.issuer, "reason": str(error.reason)})
            return 0
        await self.store.mark_proof_sent(item.invoice.id)
        return 1

    async def _resend_proofs(self) -> None:
        for item, tx_hash, chain_id in await self.store.unsent_proofs(self.peer_id):
            await self._send_proof(item, tx_hash, chain_id)

    async def _failed(self, result: SettlementResult, error: EccoError) -> SettlementResult:
        await self.events.record(
            "payment-failed-local",
            {"reason": str(error.reason), "detail": error.message, "invoiceIds": result.invoice_ids},
        )
        return replace(result, success=False, error=error.message)

    # ------------------------------------------------------------------------------------------ payee side

    async def queue_own(self, invoice: Invoice, type: str, metadata: dict[str, Any]) -> None:
        """Queue an invoice this node signed for itself to pay (swarm shares); no proof goes anywhere."""
        await self._queue(sign_invoice(invoice, self._signer), self.peer_id, type, metadata)

    async def issue(
        self,
        peer_id: str,
        job_id: str,
        amount_wei: int,
        pricing: dict[str, Any],
        type: str,
        metadata: dict[str, Any] | None = None,
    ) -> Invoice:
        """Sign an invoice to `peer_id`, record it in the ledger, then send it. The chain must be configured here
        too: the proof that comes back is checked on it."""
        self.chains.get(int(pricing["chainId"]))
        invoice = sign_invoice(
            new_invoice(
                job_id,
                int(pricing["chainId"]),
                amount_wei,
                self.wallet,
                self.clock(),
                token=str(pricing.get("token") or "ETH"),
                token_address=str(pricing.get("tokenAddress") or ""),
            ),
            self._signer,
        )
        await self.store.add_ledger(
            LedgerEntry(
                id=str(uuid.uuid4()),
                type=type,
                status="pending",
                amount_wei=amount_wei,
                token=invoice.token,
                chain_id=invoice.chain_id,
                recipient=self.wallet,
                payer=peer_id,
                job_id=job_id,
                created_ms=self.clock(),
                token_address=invoice.token_address.lower(),
                invoice_id=invoice.id,
                peer_id=peer_id,
                direction="in",
                metadata=metadata or {},
            )
        )
        # `type` rides beside the signed invoice, so both ledgers file the entry under the same type.
        await self._send(peer_id, "invoice", {"invoice": invoice.to_upstream(), "type": type})
        return invoice

    async def on_proof(self, message: Message) -> None:
        """A submit-payment-proof: verified on chain, then acknowledged with payment-verified or payment-failed.
        While the chain cannot be reached the proof is kept and checked again by `reconcile`."""
        payload = message.payload if isinstance(message.payload, dict) else {}
        await self._handle_proof(message.from_, payload, message.id)

    async def _handle_proof(self, peer_id: str, payload: dict[str, Any], message_id: str) -> bool:
        """Verify and answer one proof; False when it must be retried (the chain is unreachable)."""
        invoice_id = payload.get("invoiceId") if isinstance(payload.get("invoiceId"), str) else ""
        try:
            tx_hash = await self._verify_proof(peer_id, payload, invoice_id)
        except EccoError as rejection:
            retry = rejection.reason == Reason.CHAIN_UNAVAILABLE and bool(invoice_id)
            await self.events.record(
                "payment-failed-local",
                {
                    "stage": "proof",
                    "invoiceId": invoice_id,
                    "reason": str(rejection.reason),
                    "detail": rejection.message + ("; the proof is kept and checked again" if retry else ""),
                },
                peer_id=peer_id,
                message_id=message_id,
            )
            if retry:
                await self.store.put_agreement("proof", invoice_id, {"peerId": peer_id, "payload": payload}, 0)
                return False
            reply = {"invoiceId": invoice_id, "reason": str(rejection.reason), "error": rejection.message}
            await self._reply_quietly(peer_id, "payment-failed", reply)
            return True
        await self._reply_quietly(peer_id, "payment-verified", {"invoiceId": invoice_id, "txHash": tx_hash})
        return True

    async def _retry_proofs(self) -> None:
        for invoice_id, doc in await self.store.list_agreements("proof"):
            if await self._handle_proof(doc["peerId"], doc["payload"], ""):
                await self.store.delete_agreement("proof", invoice_id)

    async def _verify_proof(self, peer_id: str, payload: dict[str, Any], invoice_id: str) -> str:
        tx_hash = payload.get("txHash")
        chain_id = payload.get("chainId")
        if not isinstance(tx_hash, str) or len(tx_hash) != TX_HASH_LENGTH or not tx_hash.startswith("0x"):
            raise _bad_proof("txHash must be a 0x-prefixed 32-byte hash")
        tx_hash = tx_hash.lower()
        async with self._proof_lock:
            entry = await self.store.ledger_by_invoice(invoice_id, "in")
            if entry is None or entry.peer_id != peer_id:
                raise _bad_proof(f"no invoice {invoice_id!r} was issued to this peer")
            if chain_id != entry.chain_id:
                raise _bad_proof(f"chain {chain_id!r} is not the invoice's chain")
            earlier = await self.store.proofs_of(tx_hash)
            if invoice_id in earlier or entry.status == "settled":
                raise FailedPrecondition("proof: this payment was already accepted", Reason.PAYMENT_PROOF_REPLAYED)
            paid = await self.chains.get(entry.chain_id).paid(tx_hash, entry.recipient, entry.token_address)
            if paid is None or not paid.success:
                raise _bad_proof("the transaction is not a successful payment")
            covered = entry.amount_wei
            for other in earlier:
                prior = await self.store.ledger_by_invoice(other, "in")
                covered += prior.amount_wei if prior is not None else 0
            if paid.amount_wei < covered:
                raise _bad_proof(f"the transaction paid {from_wei(paid.amount_wei)}, less than the invoices it proves")
            if not await self.store.accept_proof(tx_hash, entry.chain_id, entry, self.clock()):
                raise FailedPrecondition("proof: this payment was already accepted", Reason.PAYMENT_PROOF_REPLAYED)
        await self.events.record(
            "payment-settled",
            {
                "invoiceId": invoice_id,
                "txHash": tx_hash,
                "chainId": entry.chain_id,
                "amount": from_wei(entry.amount_wei),
            },
            direction=Direction.INBOUND,
            peer_id=peer_id,
        )
        return tx_hash

    async def _reply_quietly(self, peer_id: str, type: str, payload: dict[str, Any]) -> None:
        try:
            await self._send(peer_id, type, payload)
        except EccoError as error:
            log.warning("could not reply to a payment proof", extra={"peer": peer_id, "reason": str(error.reason)})


LEDGER_KINDS = ("standard", "streaming", "escrow", "swarm")


def _invoice_kind(payload: Any) -> str:
    """The ledger type an issuer sent beside its invoice; "standard" when absent (upstream) or unknown."""
    kind = payload.get("type") if isinstance(payload, dict) else None
    return kind if kind in LEDGER_KINDS else "standard"
