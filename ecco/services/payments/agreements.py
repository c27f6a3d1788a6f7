"""Off-chain payment agreements (upstream-ecco §9.6-§9.8): per-token streaming channels, escrow milestones and
swarm splits. Each agreement is one stored JSON document with a version; every change is a compare-and-set on
that version, so two concurrent calls can never both apply (a milestone is released once, whatever the timing).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from typing import Any, TypeVar

from ecco.errors import Aborted, FailedPrecondition, InvalidArgument, NotFound, PermissionDenied, Reason
from ecco.services.messaging import validate_peer_id
from ecco.services.payments.amounts import check_address, check_chain_id, contribution_units, to_wei
from ecco.services.payments.invoices import NATIVE_TOKENS, Invoice, new_invoice
from ecco.services.payments.locks import KeyedLock
from ecco.services.payments.pricing import parse_pricing
from ecco.services.payments.service import Payments

T = TypeVar("T")
CAS_ATTEMPTS = 8
ESCROW_TRANSITIONS = {
    "pending": {"locked", "cancelled"},
    "locked": {"partially-released", "fully-released", "cancelled"},
    "partially-released": {"fully-released", "cancelled"},
    "fully-released": set(),
    "cancelled": set(),
}


@dataclass(frozen=True)
class TickResult:
    channel_id: str
    tokens: int
    total_tokens: int
    amount_owed_wei: int
    total_wei: int
    invoice: Invoice | None


@dataclass(frozen=True)
class ReleaseResult:
    job_id: str
    milestone_id: str
    amount_wei: int
    status: str
    released_wei: int
    invoice: Invoice | None


@dataclass(frozen=True)
class Share:
    peer_id: str
    wallet_address: str
    contribution: str
    amount_wei: int
    invoice_id: str


@dataclass(frozen=True)
class SplitResult:
    split_id: str
    shares: list[Share]
    total_wei: int
    dust_wei: int
    invoices_queued: int


def split(total_wei: int, units: list[int]) -> tuple[list[int], int]:
    """amount_i = floor(T x c_i / C); the dust T - sum stays with the payer (never redistributed)."""
    whole = sum(units)
    amounts = [total_wei * u // whole for u in units]
    return amounts, total_wei - sum(amounts)


def check_transition(before: str, after: str) -> None:
    if after != before and after not in ESCROW_TRANSITIONS.get(before, set()):
        raise FailedPrecondition(f"escrow cannot go from {before} to {after}", Reason.ESCROW_STATE_INVALID)


class Agreements:
    def __init__(self, payments: Payments, default_pricing: dict[str, Any]) -> None:
        self._payments = payments
        self._store = payments.store
        self._pricing = default_pricing
        self._locks = KeyedLock()

    async def _update(
        self, kind: str, key: str, change: Callable[[dict[str, Any] | None], Awaitable[tuple[dict[str, Any], T]]]
    ) -> T:
        """Read, change, compare-and-set; retried (bounded) when another writer got there first."""
        async with self._locks.hold((kind, key)):
            for _ in range(CAS_ATTEMPTS):
                found = await self._store.get_agreement(kind, key)
                doc, version = (None, 0) if found is None else found
                new_doc, result = await change(doc)
                if await self._store.put_agreement(kind, key, new_doc, version):
                    return result
        raise Aborted(f"{kind} {key} is changing too often; try again", Reason.INTERNAL)

    # ------------------------------------------------------------------------------------------ on requests

    async def on_request(self, peer_id: str, request_id: str) -> Invoice | None:
        """An incoming agent-request under the node's pricing: a standard invoice, or a new escrow agreement."""
        pricing = self._pricing
        if not pricing:
            return None
        if pricing["type"] == "standard":
            return await self._payments.issue(peer_id, request_id, pricing["amountWei"], pricing, "standard")
        if pricing["type"] == "escrow":
            await self.open_escrow(peer_id, request_id, pricing)
        return None

    # ------------------------------------------------------------------------------------------ streaming

    async def tick(
        self, peer_id: str, channel_id: str, tokens: int, auto_invoice: bool, pricing_json: str
    ) -> TickResult:
        validate_peer_id(peer_id)
        _check_key(channel_id, "channel_id")
        if tokens < 0:
            raise InvalidArgument(f"tokens must not be negative, got {tokens}", Reason.INVALID_ARGUMENT, field="tokens")

        async def change(doc: dict[str, Any] | None) -> tuple[dict[str, Any], tuple[int, dict[str, Any]]]:
            if doc is None:
                pricing = self._streaming_pricing(pricing_json)
                doc = {
                    "channelId": channel_id,
                    "payer": peer_id,
                    "recipient": self._payments.wallet,
                    "pricing": pricing,
                    "rateWei": pricing["rateWei"],
                    "accumulatedWei": 0,
                    "invoicedWei": 0,
                    "totalTokens": 0,
                    "status": "active",
                    "createdMs": self._payments.clock(),
                    "closedMs": None,
                }
            _check_channel(doc, peer_id)
            increment = tokens * doc["rateWei"]
            doc = {
                **doc,
                "accumulatedWei": doc["accumulatedWei"] + increment,
                "totalTokens": doc["totalTokens"] + tokens,
            }
            if auto_invoice and increment:
                doc["invoicedWei"] += increment
            return doc, (increment, doc)

        increment, doc = await self._update("streaming", channel_id, change)
        invoice = None
        if auto_invoice and increment:
            invoice = await self._payments.issue(
                peer_id, channel_id, increment, doc["pricing"], "streaming", {"channelId": channel_id}
            )
        return TickResult(channel_id, tokens, doc["totalTokens"], increment, doc["accumulatedWei"], invoice)

    def _streaming_pricing(self, pricing_json: str) -> dict[str, Any]:
        """The pricing of a new channel: the call's, else the node's configured streaming pricing."""
        pricing = parse_pricing(pricing_json, "pricing") if pricing_json else self._pricing
        if not pricing or pricing["type"] != "streaming":
            raise InvalidArgument(
                'no streaming pricing: pass --pricing \'{"type":"streaming","chainId":...,"ratePerToken":"..."}\' '
                "or configure payment.pricing",
                Reason.INVALID_ARGUMENT,
                field="pricing",
            )
        return pricing

    async def streaming_invoice(self, peer_id: str, channel_id: str) -> Invoice:
        validate_peer_id(peer_id)

        async def change(doc: dict[str, Any] | None) -> tuple[dict[str, Any], tuple[int, dict[str, Any]]]:
            doc = _channel(doc, channel_id)
            _check_channel(doc, peer_id, allow_closed=True)
            owed = doc["accumulatedWei"] - doc["invoicedWei"]
            if owed <= 0:
                raise FailedPrecondition(
                    f"channel {channel_id} has nothing left to invoice", Reason.NOTHING_TO_INVOICE, field="channel_id"
                )
            return {**doc, "invoicedWei": doc["accumulatedWei"]}, (owed, doc)

        owed, doc = await self._update("streaming", channel_id, change)
        return await self._payments.issue(
            peer_id, channel_id, owed, doc["pricing"], "streaming", {"channelId": channel_id}
        )

    async def close_channel(self, channel_id: str) -> dict[str, Any]:
        async def change(doc: dict[str, Any] | None) -> tuple[dict[str, Any], dict[str, Any]]:
            doc = _channel(doc, channel_id)
            if doc["status"] == "closed":
                return doc, doc
            closed = {**doc, "status": "closed", "closedMs": self._payments.clock()}
            return closed, closed

        return await self._update("streaming", channel_id, change)

    # ------------------------------------------------------------------------------------------ escrow

    async def open_escrow(self, payer: str, job_id: str, pricing: dict[str, Any]) -> dict[str, Any]:
        async def change(doc: dict[str, Any] | None) -> tuple[dict[str, Any], dict[str, Any]]:
            if doc is not None:
                return doc, doc
            created = {
                "jobId": job_id,
                "payer": payer,
                "recipient": self._payments.wallet,
                "pricing": pricing,
                "totalWei": pricing["totalWei"],
                "milestones": [
                    {**m, "released": False, "invoiced": False, "status": "pending", "releasedMs": None}
                    for m in pricing["milestones"]
                ],
                "status": "pending",
                "requiresApproval": pricing["requiresApproval"],
                "approver": pricing["approver"] or payer,
                "createdMs": self._payments.clock(),
            }
            check_transition("pending", "locked")
            created["status"] = "locked"
            return created, created

        return await self._update("escrow", job_id, change)

    async def release(self, job_id: str, milestone_id: str, caller: str, send_invoice: bool) -> ReleaseResult:
        async def change(doc: dict[str, Any] | None) -> tuple[dict[str, Any], tuple[dict[str, Any], int]]:
            if doc is None:
                raise NotFound(f"no escrow agreement for job {job_id}", Reason.ESCROW_NOT_FOUND, field="job_id")
            who = caller or doc["payer"]
            if doc["requiresApproval"] and who != doc["approver"]:
                raise PermissionDenied(
                    f"only the approver {doc['approver']} may release milestones",
                    Reason.APPROVER_MISMATCH,
                    field="peer",
                )
            index = next((i for i, m in enumerate(doc["milestones"]) if m["id"] == milestone_id), None)
            if index is None:
                raise NotFound(
                    f"job {job_id} has no milestone {milestone_id!r}", Reason.MILESTONE_NOT_FOUND, field="milestone_id"
                )
            milestone = doc["milestones"][index]
            if milestone["released"] or milestone["status"] != "pending":
                raise FailedPrecondition(
                    f"milestone {milestone_id} is already {milestone['status']}",
                    Reason.MILESTONE_ALREADY_RELEASED,
                    field="milestone_id",
                )
            milestones = list(doc["milestones"])
            milestones[index] = {
                **milestone,
                "released": True,
                "invoiced": send_invoice,
                "status": "released",
                "releasedMs": self._payments.clock(),
            }
            status = "fully-released" if all(m["released"] for m in milestones) else "partially-released"
            check_transition(doc["status"], status)
            new = {**doc, "milestones": milestones, "status": status}
            return new, (new, index)

        doc, index = await self._update("escrow", job_id, change)
        milestone = doc["milestones"][index]
        released = sum(m["amountWei"] for m in doc["milestones"] if m["released"])
        invoice = None
        if send_invoice:
            invoice = await self._payments.issue(
                caller or doc["payer"],
                job_id,
                milestone["amountWei"],
                doc["pricing"],
                "escrow",
                {"milestoneIds": [milestone_id]},
            )
        return ReleaseResult(job_id, milestone_id, milestone["amountWei"], doc["status"], released, invoice)

    async def escrow_invoice(self, job_id: str, peer_id: str) -> tuple[Invoice, list[str]]:
        """One invoice for the released milestones not invoiced yet (each milestone is billed once)."""
        validate_peer_id(peer_id)

        async def change(doc: dict[str, Any] | None) -> tuple[dict[str, Any], tuple[dict[str, Any], list[str]]]:
            if doc is None:
                raise NotFound(f"no escrow agreement for job {job_id}", Reason.ESCROW_NOT_FOUND, field="job_id")
            due = [m["id"] for m in doc["milestones"] if m["released"] and not m["invoiced"]]
            if not due:
                raise FailedPrecondition(
                    f"job {job_id} has no released milestone left to invoice", Reason.NOTHING_TO_INVOICE, field="job_id"
                )
            milestones = [{**m, "invoiced": True} if m["id"] in due else m for m in doc["milestones"]]
            return {**doc, "milestones": milestones}, (doc, due)

        doc, due = await self._update("escrow", job_id, change)
        amount = sum(m["amountWei"] for m in doc["milestones"] if m["id"] in due)
        invoice = await self._payments.issue(peer_id, job_id, amount, doc["pricing"], "escrow", {"milestoneIds": due})
        return invoice, due

    # ------------------------------------------------------------------------------------------ swarm

    async def distribute(
        self, job_id: str, total_amount: str, chain_id: int, token: str, participants: list[dict[str, Any]]
    ) -> SplitResult:
        _check_key(job_id, "job_id")
        total = to_wei(total_amount, "total_amount")
        self._payments.chains.get(check_chain_id(chain_id))
        token_address = ""
        if token.startswith("0x"):
            token_address = check_address(token, "token")
        elif token.upper() not in NATIVE_TOKENS:
            raise InvalidArgument(
                f"token {token!r}: give an ERC-20 address (0x...) or ETH", Reason.INVALID_ARGUMENT, field="token"
            )
        if not participants:
            raise InvalidArgument(
                "at least one participant is needed", Reason.INVALID_PARTICIPANTS, field="participants"
            )
        units = []
        for i, p in enumerate(participants):
            validate_peer_id(str(p.get("peerId", "")), f"participants[{i}].peerId")
            check_address(p.get("walletAddress"), f"participants[{i}].walletAddress")
            units.append(contribution_units(p.get("contribution"), f"participants[{i}].contribution"))
        if sum(units) == 0:
            raise InvalidArgument(
                "the contributions must not all be 0", Reason.INVALID_PARTICIPANTS, field="participants"
            )
        amounts, dust = split(total, units)
        split_id = str(uuid.uuid4())
        shares = []
        for p, amount in zip(participants, amounts, strict=True):
            invoice_id = ""
            if amount:
                invoice = new_invoice(
                    job_id,
                    chain_id,
                    amount,
                    p["walletAddress"].lower(),
                    self._payments.clock(),
                    token=token if not token_address else "ERC20",
                    token_address=token_address,
                )
                await self._payments.queue_own(invoice, "swarm", {"swarmSplitId": split_id})
                invoice_id = invoice.id
            shares.append(Share(p["peerId"], p["walletAddress"].lower(), str(p["contribution"]), amount, invoice_id))
        doc = {
            "id": split_id,
            "jobId": job_id,
            "payer": self._payments.wallet,
            "totalWei": total,
            "dustWei": dust,
            "chainId": chain_id,
            "token": token,
            "participants": [asdict(s) for s in shares],
            "status": "distributed",
            "createdMs": self._payments.clock(),
        }
        await self._store.put_agreement("swarm", split_id, doc, 0)
        return SplitResult(split_id, shares, total, dust, sum(1 for s in shares if s.invoice_id))


def _check_key(value: str, field: str) -> None:
    if not value or len(value) > 200:
        raise InvalidArgument(f"{field} must be 1-200 characters", Reason.INVALID_ARGUMENT, field=field)


def _channel(doc: dict[str, Any] | None, channel_id: str) -> dict[str, Any]:
    if doc is None:
        raise NotFound(f"no streaming channel {channel_id}", Reason.CHANNEL_NOT_FOUND, field="channel_id")
    return doc


def _check_channel(doc: dict[str, Any], peer_id: str, allow_closed: bool = False) -> None:
    if doc["status"] == "closed" and not allow_closed:
        raise FailedPrecondition(f"channel {doc['channelId']} is closed", Reason.CHANNEL_CLOSED, field="channel_id")
    if doc["payer"] != peer_id:
        raise PermissionDenied(
            f"channel {doc['channelId']} belongs to peer {doc['payer']}", Reason.INVALID_PEER_ID, field="peer"
        )
