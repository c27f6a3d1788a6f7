"""Ports the payment services use: an EVM chain (ecco.chain implements it with web3) and the payment store
(ecco.store.payments implements it with SQLAlchemy). Amounts are integers of base units throughout."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from ecco.services.payments.invoices import Invoice


@dataclass(frozen=True)
class SignedTransfer:
    """A signed transaction not yet known to be on chain; its hash is fixed by the signature."""

    tx_hash: str
    raw: str
    nonce: int


@dataclass(frozen=True)
class Paid:
    """What one transaction paid to one recipient, read from the chain."""

    success: bool
    recipient: str
    amount_wei: int
    chain_id: int


class Chain(Protocol):
    """One EVM chain, with this node's wallet when one is configured."""

    @property
    def chain_id(self) -> int: ...

    @property
    def address(self) -> str:
        """The wallet address (lowercase); raises WALLET_NOT_CONFIGURED without a wallet."""
        ...

    async def balance(self, token_address: str) -> int:
        """The wallet's balance of the native coin ("") or of an ERC-20 token."""
        ...

    async def next_nonce(self) -> int:
        """The wallet's pending transaction count on chain."""
        ...

    async def sign_transfer(self, to: str, amount_wei: int, token_address: str, nonce: int) -> SignedTransfer: ...

    async def broadcast(self, raw: str) -> None:
        """Send a signed transaction; one the chain already knows is not an error."""
        ...

    async def receipt(self, tx_hash: str, timeout_s: float) -> bool | None:
        """The transaction's status (True = success) once mined within `timeout_s`; None when not mined."""
        ...

    async def paid(self, tx_hash: str, recipient: str, token_address: str) -> Paid | None:
        """What the mined transaction paid `recipient` (native value, or ERC-20 Transfer logs of that token);
        None when the transaction is unknown or not mined."""
        ...

    async def sign_registration(self, registry: str, agent_uri: str, peer_id: str) -> SignedTransfer:
        """A signed ERC-8004 register(agentURI, [("peerId", utf8(peer id)), ("peerIdHash", keccak256(utf8(peer
        id)))]) transaction, not yet broadcast."""
        ...

    async def sign_set_agent_uri(self, registry: str, agent_id: int, agent_uri: str) -> SignedTransfer:
        """A signed ERC-8004 setAgentURI(agentId, newURI) transaction, not yet broadcast."""
        ...

    async def registered_agent(self, tx_hash: str, registry: str, timeout_s: float) -> int | None:
        """The agent id from the mined registration's Registered event; None when not mined within `timeout_s`.
        Raises TRANSACTION_FAILED when it reverted."""
        ...

    async def feedback(
        self, identity_registry: str, reputation_registry: str, peer_ids: list[str], start_block: int
    ) -> dict[str, tuple[int, float]]:
        """ERC-8004 feedback per peer that has an agent id (found via MetadataSet peerIdHash logs, scanned
        incrementally from `start_block`): (feedback count, average value)."""
        ...


class Chains(Protocol):
    def get(self, chain_id: int) -> Chain:
        """The configured chain; raises CHAIN_NOT_CONFIGURED otherwise."""
        ...


@dataclass
class LedgerEntry:
    id: str
    type: str  # standard | streaming | escrow | swarm
    status: str  # pending | streaming | settled | failed | cancelled
    amount_wei: int
    token: str
    chain_id: int
    recipient: str
    payer: str
    job_id: str
    created_ms: int
    token_address: str = ""
    invoice_id: str = ""
    peer_id: str = ""  # the counterparty node
    direction: str = "in"  # in: owed to this node; out: this node pays
    tx_hash: str = ""
    settled_ms: int | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class QueuedInvoice:
    invoice: Invoice
    issuer: str
    queued_ms: int


@dataclass
class Settlement:
    """One transfer paying a group of queued invoices; written before it is broadcast (crash recovery)."""

    id: str
    chain_id: int
    recipient: str
    token: str
    token_address: str
    total_wei: int
    invoice_ids: list[str]
    nonce: int
    tx_hash: str
    raw: str
    status: str  # signed | confirmed | failed
    created_ms: int
    sender: str
    error: str = ""


class PaymentStore(Protocol):
    # expected invoices (requester side)
    async def expect_invoice(self, job_id: str, peer_id: str, expires_ms: int, now_ms: int) -> None:
        """Expect an invoice for the job from the peer until `expires_ms`; rows expired by `now_ms` are dropped."""
        ...

    async def expected_invoice(self, job_id: str) -> tuple[str, int] | None: ...

    # the payment queue (requester side)
    async def queue_invoice(self, item: QueuedInvoice, entry: LedgerEntry, limit: int) -> bool:
        """Queue the invoice with its ledger entry in one transaction; False when its id is queued or paid
        already. Raises INVOICE_QUEUE_FULL at `limit`."""
        ...

    async def queue_size(self) -> int: ...
    async def list_queue(self, offset: int, limit: int) -> list[QueuedInvoice]: ...
    async def unsettled_invoices(self) -> list[QueuedInvoice]:
        """Queued invoices not part of an open settlement."""
        ...

    async def unsent_proofs(self, own_peer_id: str) -> list[tuple[QueuedInvoice, str, int]]:
        """Paid invoices of other issuers whose proof has not reached them: (invoice, tx hash, chain id)."""
        ...

    async def mark_proof_sent(self, invoice_id: str) -> None: ...

    # settlements
    async def begin_settlement(self, settlement: Settlement) -> None:
        """Persist the signed transfer and attach its invoices, atomically, before it is broadcast."""
        ...

    async def finish_settlement(self, settlement_id: str, success: bool, error: str, now_ms: int) -> None:
        """Success: dequeue the invoices and settle their ledger entries. Failure: put them back in the queue."""
        ...

    async def open_settlements(self) -> list[Settlement]: ...
    async def highest_nonce(self, chain_id: int, address: str) -> int | None: ...

    # ledger
    async def add_ledger(self, entry: LedgerEntry) -> None: ...
    async def ledger_by_invoice(self, invoice_id: str, direction: str) -> LedgerEntry | None: ...
    async def list_ledger(
        self, type: str, status: str, job_id: str, offset: int, limit: int
    ) -> tuple[list[LedgerEntry], int]: ...

    # payment proofs (payee side)
    async def proofs_of(self, tx_hash: str) -> list[str]:
        """The invoice ids already paid by this transaction."""
        ...

    async def accept_proof(self, tx_hash: str, chain_id: int, entry: LedgerEntry, now_ms: int) -> bool:
        """Record the proof and settle the entry atomically; False if this (tx, invoice) was recorded before."""
        ...

    # agreements (escrow, streaming, swarm) as JSON documents with a version for optimistic updates
    async def get_agreement(self, kind: str, key: str) -> tuple[dict[str, Any], int] | None: ...
    async def put_agreement(self, kind: str, key: str, doc: dict[str, Any], version: int) -> bool:
        """Insert (version 0 = must not exist) or update when the stored version is still `version`."""
        ...

    async def list_agreements(self, kind: str) -> list[tuple[str, dict[str, Any]]]: ...
    async def delete_agreement(self, kind: str, key: str) -> None: ...

    # idempotent results of mutating calls
    async def stored_result(self, key: str) -> tuple[str, str] | None: ...
    async def store_result(self, key: str, fingerprint: str, result_json: str) -> None: ...
