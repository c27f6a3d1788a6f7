"""Payments: pricing, exact amounts, signed invoices, the settle queue, escrow, streaming and swarm agreements,
on-chain proofs, and the ERC-8004 registry and feedback.

Owns `service` (Payments), `amounts`, `invoices`, `pricing`, `agreements`, `locks`, `glue`, `chains`,
`registry` and `feedback`, and its own ports (`payments.ports`: Chain, Chains, PaymentStore), implemented by
`ecco.chain` and `ecco.store`. Uses messaging, the event log, the envelope and the signing ports.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ecco.services.exports import lazy_exports

if TYPE_CHECKING:
    from ecco.services.payments.agreements import Agreements as Agreements
    from ecco.services.payments.amounts import from_wei as from_wei
    from ecco.services.payments.chains import DEFAULT_CHAIN_BY_NETWORK as DEFAULT_CHAIN_BY_NETWORK
    from ecco.services.payments.chains import DEFAULT_RPC_URLS as DEFAULT_RPC_URLS
    from ecco.services.payments.chains import IDENTITY_REGISTRIES as IDENTITY_REGISTRIES
    from ecco.services.payments.chains import REPUTATION_REGISTRIES as REPUTATION_REGISTRIES
    from ecco.services.payments.feedback import FeedbackSync as FeedbackSync
    from ecco.services.payments.glue import wire_payments as wire_payments
    from ecco.services.payments.invoices import Invoice as Invoice
    from ecco.services.payments.invoices import check_shape as check_shape
    from ecco.services.payments.locks import KeyedLock as KeyedLock
    from ecco.services.payments.ports import LedgerEntry as LedgerEntry
    from ecco.services.payments.ports import Paid as Paid
    from ecco.services.payments.ports import QueuedInvoice as QueuedInvoice
    from ecco.services.payments.ports import Settlement as Settlement
    from ecco.services.payments.ports import SignedTransfer as SignedTransfer
    from ecco.services.payments.pricing import parse_pricing as parse_pricing
    from ecco.services.payments.registry import Registry as Registry
    from ecco.services.payments.service import Payments as Payments
    from ecco.services.payments.service import PaymentSettings as PaymentSettings
    from ecco.services.payments.service import SettlementResult as SettlementResult

__getattr__, __all__ = lazy_exports(
    __name__,
    {
        "agreements": ["Agreements"],
        "amounts": ["from_wei"],
        "chains": ["DEFAULT_CHAIN_BY_NETWORK", "DEFAULT_RPC_URLS", "IDENTITY_REGISTRIES", "REPUTATION_REGISTRIES"],
        "feedback": ["FeedbackSync"],
        "glue": ["wire_payments"],
        "invoices": ["Invoice", "check_shape"],
        "locks": ["KeyedLock"],
        "ports": ["LedgerEntry", "Paid", "QueuedInvoice", "Settlement", "SignedTransfer"],
        "pricing": ["parse_pricing"],
        "registry": ["Registry"],
        "service": ["Payments", "PaymentSettings", "SettlementResult"],
    },
)
