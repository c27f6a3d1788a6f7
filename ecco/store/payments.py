"""The payment store on SQLAlchemy: every payment step is a row, and each step that moves money changes its rows
in one transaction, so a crash leaves either the state before or the state after it."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from typing import Any

from sqlalchemy import and_, delete, func, insert, or_, select, update
from sqlalchemy.engine import Row
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ecco.errors import Reason, ResourceExhausted
from ecco.services.payments import Invoice, LedgerEntry, QueuedInvoice, Settlement
from ecco.store.tables import (
    expected_invoices,
    payment_agreements,
    payment_ledger,
    payment_queue,
    payment_results,
    payment_settlements,
    processed_payment_proofs,
)

QUEUED, SETTLING, PAID = "queued", "settling", "paid"


def _ledger_values(entry: LedgerEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "type": entry.type,
        "status": entry.status,
        "direction": entry.direction,
        "amount_wei": str(entry.amount_wei),
        "token": entry.token,
        "token_address": entry.token_address,
        "chain_id": entry.chain_id,
        "recipient": entry.recipient,
        "payer": entry.payer,
        "peer_id": entry.peer_id,
        "job_id": entry.job_id,
        "invoice_id": entry.invoice_id,
        "tx_hash": entry.tx_hash,
        "created_at_ms": entry.created_ms,
        "settled_at_ms": entry.settled_ms,
        "metadata": json.dumps(entry.metadata, sort_keys=True),
    }


def _ledger(row: Row[Any]) -> LedgerEntry:
    m = row._mapping
    return LedgerEntry(
        id=m["id"],
        type=m["type"],
        status=m["status"],
        amount_wei=int(m["amount_wei"]),
        token=m["token"],
        chain_id=m["chain_id"],
        recipient=m["recipient"],
        payer=m["payer"],
        job_id=m["job_id"],
        created_ms=m["created_at_ms"],
        token_address=m["token_address"],
        invoice_id=m["invoice_id"],
        peer_id=m["peer_id"],
        direction=m["direction"],
        tx_hash=m["tx_hash"],
        settled_ms=m["settled_at_ms"],
        metadata=json.loads(m["metadata"]),
    )


def _queued(row: Row[Any]) -> QueuedInvoice:
    m = row._mapping
    return QueuedInvoice(Invoice(**json.loads(m["invoice"])), m["issuer"], m["queued_at_ms"])


def _settlement(row: Row[Any]) -> Settlement:
    m = row._mapping
    return Settlement(
        id=m["id"],
        chain_id=m["chain_id"],
        recipient=m["recipient"],
        token=m["token"],
        token_address=m["token_address"],
        total_wei=int(m["total_wei"]),
        invoice_ids=json.loads(m["invoice_ids"]),
        nonce=m["nonce"],
        tx_hash=m["tx_hash"],
        raw=m["raw"],
        status=m["status"],
        created_ms=m["created_at_ms"],
        sender=m["sender"],
        error=m["error"],
    )


class SqlPaymentStore:
    """PaymentStore on one engine. Writes are serialised in-process (the node lock makes this the only writer),
    so read-check-write sequences such as the queue limit cannot interleave."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._write = asyncio.Lock()

    # expected invoices

    async def expect_invoices(self, expected: Mapping[str, tuple[str, int]], now_ms: int) -> None:
        if not expected:
            return
        rows = [{"job_id": job, "peer_id": peer, "expires_at_ms": until} for job, (peer, until) in expected.items()]
        async with self._write, self._engine.begin() as conn:
            await conn.execute(
                delete(expected_invoices).where(
                    or_(expected_invoices.c.job_id.in_(list(expected)), expected_invoices.c.expires_at_ms < now_ms)
                )
            )
            await conn.execute(insert(expected_invoices), rows)

    async def expected_invoice(self, job_id: str) -> tuple[str, int] | None:
        async with self._engine.connect() as conn:
            row = (
                await conn.execute(
                    select(expected_invoices.c.peer_id, expected_invoices.c.expires_at_ms).where(
                        expected_invoices.c.job_id == job_id
                    )
                )
            ).first()
        return None if row is None else (row[0], row[1])

    # queue

    async def queue_invoice(self, item: QueuedInvoice, entry: LedgerEntry, limit: int) -> bool:
        async with self._write, self._engine.begin() as conn:
            known = await conn.scalar(
                select(func.count()).where(payment_queue.c.invoice_id == item.invoice.id).select_from(payment_queue)
            )
            if known:
                return False
            if await self._count_queued(conn) >= limit:
                raise ResourceExhausted(f"the invoice queue is full ({limit}); settle first", Reason.INVOICE_QUEUE_FULL)
            await conn.execute(
                insert(payment_queue).values(
                    invoice_id=item.invoice.id,
                    invoice=json.dumps(item.invoice.to_record(), sort_keys=True),
                    issuer=item.issuer,
                    queued_at_ms=item.queued_ms,
                    state=QUEUED,
                )
            )
            await conn.execute(insert(payment_ledger).values(**_ledger_values(entry)))
        return True

    async def _count_queued(self, conn: AsyncConnection) -> int:
        query = select(func.count()).select_from(payment_queue).where(payment_queue.c.state != PAID)
        return int(await conn.scalar(query) or 0)

    async def queue_size(self) -> int:
        async with self._engine.connect() as conn:
            return await self._count_queued(conn)

    async def list_queue(self, offset: int, limit: int) -> list[QueuedInvoice]:
        query = (
            select(payment_queue)
            .where(payment_queue.c.state != PAID)
            .order_by(payment_queue.c.queued_at_ms, payment_queue.c.invoice_id)
            .offset(offset)
            .limit(limit)
        )
        async with self._engine.connect() as conn:
            return [_queued(row) for row in (await conn.execute(query)).all()]

    async def unsettled_invoices(self) -> list[QueuedInvoice]:
        query = select(payment_queue).where(payment_queue.c.state == QUEUED).order_by(payment_queue.c.queued_at_ms)
        async with self._engine.connect() as conn:
            return [_queued(row) for row in (await conn.execute(query)).all()]

    async def unsent_proofs(self, own_peer_id: str) -> list[tuple[QueuedInvoice, str, int]]:
        query = (
            select(payment_queue, payment_settlements.c.tx_hash, payment_settlements.c.chain_id)
            .join(payment_settlements, payment_settlements.c.id == payment_queue.c.settlement_id)
            .where(
                and_(
                    payment_queue.c.state == PAID,
                    payment_queue.c.proof_sent == 0,
                    payment_queue.c.issuer.not_in(["", own_peer_id]),
                )
            )
            .order_by(payment_queue.c.queued_at_ms)
        )
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [(_queued(row), row._mapping["tx_hash"], row._mapping["chain_id"]) for row in rows]

    async def mark_proof_sent(self, invoice_id: str) -> None:
        async with self._write, self._engine.begin() as conn:
            await conn.execute(
                update(payment_queue).where(payment_queue.c.invoice_id == invoice_id).values(proof_sent=1)
            )

    # settlements

    async def begin_settlement(self, settlement: Settlement) -> None:
        async with self._write, self._engine.begin() as conn:
            await conn.execute(
                insert(payment_settlements).values(
                    id=settlement.id,
                    chain_id=settlement.chain_id,
                    sender=settlement.sender,
                    recipient=settlement.recipient,
                    token=settlement.token,
                    token_address=settlement.token_address,
                    total_wei=str(settlement.total_wei),
                    invoice_ids=json.dumps(settlement.invoice_ids),
                    nonce=settlement.nonce,
                    tx_hash=settlement.tx_hash,
                    raw=settlement.raw,
                    status=settlement.status,
                    created_at_ms=settlement.created_ms,
                )
            )
            await conn.execute(
                update(payment_queue)
                .where(and_(payment_queue.c.invoice_id.in_(settlement.invoice_ids), payment_queue.c.state == QUEUED))
                .values(state=SETTLING, settlement_id=settlement.id)
            )

    async def finish_settlement(self, settlement_id: str, success: bool, error: str, now_ms: int) -> None:
        async with self._write, self._engine.begin() as conn:
            row = (
                await conn.execute(select(payment_settlements).where(payment_settlements.c.id == settlement_id))
            ).first()
            if row is None or row._mapping["status"] != "signed":
                return
            settlement = _settlement(row)
            await conn.execute(
                update(payment_settlements)
                .where(payment_settlements.c.id == settlement_id)
                .values(status="confirmed" if success else "failed", error=error, finished_at_ms=now_ms)
            )
            attached = payment_queue.c.settlement_id == settlement_id
            if not success:
                await conn.execute(update(payment_queue).where(attached).values(state=QUEUED, settlement_id=None))
                return
            await conn.execute(update(payment_queue).where(attached).values(state=PAID))
            await conn.execute(
                update(payment_ledger)
                .where(
                    and_(payment_ledger.c.invoice_id.in_(settlement.invoice_ids), payment_ledger.c.direction == "out")
                )
                .values(status="settled", tx_hash=settlement.tx_hash, settled_at_ms=now_ms)
            )

    async def open_settlements(self) -> list[Settlement]:
        query = select(payment_settlements).where(payment_settlements.c.status == "signed")
        async with self._engine.connect() as conn:
            return [_settlement(row) for row in (await conn.execute(query.order_by(payment_settlements.c.nonce))).all()]

    async def highest_nonce(self, chain_id: int, address: str) -> int | None:
        query = select(func.max(payment_settlements.c.nonce)).where(
            and_(
                payment_settlements.c.chain_id == chain_id,
                payment_settlements.c.sender == address,
                payment_settlements.c.status != "failed",
            )
        )
        async with self._engine.connect() as conn:
            value = await conn.scalar(query)
        return None if value is None else int(value)

    # ledger

    async def add_ledger(self, entry: LedgerEntry) -> None:
        async with self._write, self._engine.begin() as conn:
            await conn.execute(insert(payment_ledger).values(**_ledger_values(entry)))

    async def ledger_by_invoice(self, invoice_id: str, direction: str) -> LedgerEntry | None:
        query = select(payment_ledger).where(
            and_(payment_ledger.c.invoice_id == invoice_id, payment_ledger.c.direction == direction)
        )
        async with self._engine.connect() as conn:
            row = (await conn.execute(query)).first()
        return None if row is None else _ledger(row)

    async def list_ledger(
        self, type: str, status: str, job_id: str, offset: int, limit: int
    ) -> tuple[list[LedgerEntry], int]:
        conditions = []
        if type:
            conditions.append(payment_ledger.c.type == type)
        if status:
            conditions.append(payment_ledger.c.status == status)
        if job_id:
            conditions.append(payment_ledger.c.job_id == job_id)
        where = and_(True, *conditions)
        query = (
            select(payment_ledger)
            .where(where)
            .order_by(payment_ledger.c.created_at_ms.desc(), payment_ledger.c.id)
            .offset(offset)
            .limit(limit)
        )
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
            total = await conn.scalar(select(func.count()).select_from(payment_ledger).where(where))
        return [_ledger(row) for row in rows], int(total or 0)

    # proofs

    async def proofs_of(self, tx_hash: str) -> list[str]:
        query = select(processed_payment_proofs.c.invoice_id).where(processed_payment_proofs.c.tx_hash == tx_hash)
        async with self._engine.connect() as conn:
            return [row[0] for row in (await conn.execute(query)).all()]

    async def accept_proof(self, tx_hash: str, chain_id: int, entry: LedgerEntry, now_ms: int) -> bool:
        try:
            async with self._write, self._engine.begin() as conn:
                await conn.execute(
                    insert(processed_payment_proofs).values(
                        tx_hash=tx_hash, invoice_id=entry.invoice_id, chain_id=chain_id, processed_at_ms=now_ms
                    )
                )
                await conn.execute(
                    update(payment_ledger)
                    .where(payment_ledger.c.id == entry.id)
                    .values(status="settled", tx_hash=tx_hash, settled_at_ms=now_ms)
                )
        except IntegrityError:
            return False
        return True

    # agreements

    async def get_agreement(self, kind: str, key: str) -> tuple[dict[str, Any], int] | None:
        query = select(payment_agreements.c.doc, payment_agreements.c.version).where(
            and_(payment_agreements.c.kind == kind, payment_agreements.c.key == key)
        )
        async with self._engine.connect() as conn:
            row = (await conn.execute(query)).first()
        return None if row is None else (json.loads(row[0]), int(row[1]))

    async def put_agreement(self, kind: str, key: str, doc: dict[str, Any], version: int) -> bool:
        text = json.dumps(doc, sort_keys=True)
        async with self._write, self._engine.begin() as conn:
            if version == 0:
                try:
                    async with conn.begin_nested():
                        await conn.execute(insert(payment_agreements).values(kind=kind, key=key, doc=text, version=1))
                except IntegrityError:
                    return False
                return True
            done = await conn.execute(
                update(payment_agreements)
                .where(
                    and_(
                        payment_agreements.c.kind == kind,
                        payment_agreements.c.key == key,
                        payment_agreements.c.version == version,
                    )
                )
                .values(doc=text, version=version + 1)
            )
            return done.rowcount == 1

    async def list_agreements(self, kind: str) -> list[tuple[str, dict[str, Any]]]:
        query = select(payment_agreements.c.key, payment_agreements.c.doc).where(payment_agreements.c.kind == kind)
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query.order_by(payment_agreements.c.key))).all()
        return [(row[0], json.loads(row[1])) for row in rows]

    async def delete_agreement(self, kind: str, key: str) -> None:
        async with self._write, self._engine.begin() as conn:
            await conn.execute(
                delete(payment_agreements).where(
                    and_(payment_agreements.c.kind == kind, payment_agreements.c.key == key)
                )
            )

    # idempotent results

    async def stored_result(self, key: str) -> tuple[str, str] | None:
        query = select(payment_results.c.fingerprint, payment_results.c.result).where(payment_results.c.key == key)
        async with self._engine.connect() as conn:
            row = (await conn.execute(query)).first()
        return None if row is None else (row[0], row[1])

    async def store_result(self, key: str, fingerprint: str, result_json: str) -> None:
        async with self._write, self._engine.begin() as conn:
            await conn.execute(insert(payment_results).values(key=key, fingerprint=fingerprint, result=result_json))
