"""Invoices: the upstream shape, its Ed25519 signature, and the checks an invoice passes before it is queued
(upstream-ecco §9.2, §9.3, §13 #10).

The signature covers canonicalJson({id, jobId, chainId, amount, token, recipient, validUntil}) exactly as upstream,
so a TypeScript node verifies ours. tokenAddress is not covered, so it is trusted only when allow-listed.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Collection
from dataclasses import asdict, dataclass, replace
from typing import Any

from ecco.errors import FailedPrecondition, InvalidArgument, PermissionDenied, Reason, Unauthenticated
from ecco.services.crypto_ports import Signer, Verifier
from ecco.services.envelope import canonical_json, parse_json
from ecco.services.payments.amounts import check_address, check_chain_id, from_wei, to_wei

DEFAULT_VALIDITY_MS = 3_600_000
EXPIRY_GRACE_MS = 60_000
NATIVE_TOKENS = frozenset({"ETH", "ETHEREUM", "MON", "NATIVE"})


@dataclass(frozen=True)
class Invoice:
    id: str
    job_id: str
    chain_id: int
    amount: str
    token: str
    recipient: str
    valid_until_ms: int
    token_address: str = ""
    signature: str = ""
    public_key: str = ""

    @property
    def amount_wei(self) -> int:
        return to_wei(self.amount, "invoice.amount")

    def signed_fields(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "jobId": self.job_id,
            "chainId": self.chain_id,
            "amount": self.amount,
            "token": self.token,
            "recipient": self.recipient,
            "validUntil": self.valid_until_ms,
        }

    def to_upstream(self) -> dict[str, Any]:
        return {
            **self.signed_fields(),
            "tokenAddress": self.token_address or None,
            "signature": self.signature or None,
            "publicKey": self.public_key or None,
        }

    def to_json(self) -> str:
        return canonical_json(self.to_upstream())

    def to_record(self) -> dict[str, Any]:
        return asdict(self)


def _bad(problem: str, field: str = "invoice") -> InvalidArgument:
    return InvalidArgument(f"invalid invoice: {problem}", Reason.INVALID_INVOICE, field=field)


def unwrap(payload: Any) -> Any:
    """The Invoice from any of the three upstream payload forms (§5.1)."""
    if isinstance(payload, dict):
        if isinstance(payload.get("invoice"), dict):
            return payload["invoice"]
        if isinstance(payload.get("response"), dict) and "requestId" in payload:
            return payload["response"]
    return payload


def _string(doc: dict[str, Any], key: str, *, required: bool = True) -> str:
    value = doc.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value):
        raise _bad(f"{key!r} must be a non-empty string", f"invoice.{key}")
    return value


def _integer(doc: dict[str, Any], key: str) -> int:
    value = doc.get(key)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise _bad(f"{key!r} must be an integer", f"invoice.{key}")
    return value


def parse_invoice(payload: Any) -> Invoice:
    """Build an Invoice from upstream JSON (text or decoded), checking every field's shape and the amount."""
    if isinstance(payload, str | bytes):
        try:
            payload = parse_json(payload)
        except (ValueError, InvalidArgument):
            raise _bad("not valid JSON") from None
    doc = unwrap(payload)
    if not isinstance(doc, dict):
        raise _bad("expected a JSON object")
    invoice = Invoice(
        id=_string(doc, "id"),
        job_id=_string(doc, "jobId"),
        chain_id=_integer(doc, "chainId"),
        amount=_string(doc, "amount"),
        token=_string(doc, "token", required=False) or "ETH",
        recipient=_string(doc, "recipient"),
        valid_until_ms=_integer(doc, "validUntil"),
        token_address=_string(doc, "tokenAddress", required=False),
        signature=_string(doc, "signature", required=False),
        public_key=_string(doc, "publicKey", required=False),
    )
    return check_shape(invoice)


def check_shape(invoice: Invoice) -> Invoice:
    """Field checks every invoice passes, wherever it came from."""
    for name in ("id", "job_id", "token"):
        if not getattr(invoice, name) or len(getattr(invoice, name)) > 200:
            raise _bad(f"{name} must be 1-200 characters", f"invoice.{name}")
    check_chain_id(invoice.chain_id, "invoice.chainId")
    to_wei(invoice.amount, "invoice.amount")
    check_address(invoice.recipient, "invoice.recipient")
    if invoice.token_address:
        check_address(invoice.token_address, "invoice.tokenAddress")
    elif invoice.token.upper() not in NATIVE_TOKENS:
        raise _bad(f"token {invoice.token!r} needs a tokenAddress (native coins: ETH)", "invoice.tokenAddress")
    return invoice


def sign_invoice(invoice: Invoice, signer: Signer) -> Invoice:
    signature = signer.sign(canonical_json(invoice.signed_fields()).encode("utf-8"))
    return replace(
        invoice,
        signature=base64.b64encode(signature).decode("ascii"),
        public_key=base64.b64encode(signer.public_key).decode("ascii"),
    )


def issuer_of(invoice: Invoice, verifier: Verifier) -> str:
    """The peer id that signed the invoice; "" for an unsigned one. A bad signature is refused."""
    if not invoice.signature and not invoice.public_key:
        return ""
    try:
        public_key = base64.b64decode(invoice.public_key, validate=True)
        signature = base64.b64decode(invoice.signature, validate=True)
        peer_id = verifier.peer_id_of(public_key)
    except (binascii.Error, ValueError):
        raise Unauthenticated("invoice signature rejected: malformed key", Reason.INVALID_INVOICE) from None
    data = canonical_json(invoice.signed_fields()).encode("utf-8")
    if not verifier.verify(public_key, data, signature):
        raise Unauthenticated("invoice signature rejected: it does not verify", Reason.INVALID_INVOICE)
    return peer_id


def check_usable(invoice: Invoice, now_ms: int, allowed_tokens: Collection[str]) -> None:
    """Expiry (60 s grace) and the ERC-20 allow-list (§13 #10)."""
    if invoice.valid_until_ms + EXPIRY_GRACE_MS < now_ms:
        raise FailedPrecondition(f"invoice {invoice.id} expired", Reason.INVOICE_EXPIRED, field="invoice.validUntil")
    if invoice.token_address and invoice.token_address.lower() not in allowed_tokens:
        raise PermissionDenied(
            f"token address {invoice.token_address} is not in payment.tokens",
            Reason.TOKEN_NOT_ALLOWED,
            field="invoice.tokenAddress",
        )


def new_invoice(
    job_id: str,
    chain_id: int,
    amount_wei: int,
    recipient: str,
    now_ms: int,
    token: str = "ETH",
    token_address: str = "",
) -> Invoice:
    return check_shape(
        Invoice(
            id=str(uuid.uuid4()),
            job_id=job_id,
            chain_id=chain_id,
            amount=from_wei(amount_wei),
            token=token,
            recipient=recipient,
            valid_until_ms=now_ms + DEFAULT_VALIDITY_MS,
            token_address=token_address,
        )
    )
