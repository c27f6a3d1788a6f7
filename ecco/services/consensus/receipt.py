"""Signed consensus receipts: what a query asked, how, which signed responses produced the result, and the result.

The querying node signs the canonical JSON of the receipt without `signature` with its peer-id key (Ed25519), so
anyone holding the receipt can check it offline: the signature, that the key is the claimed peer id's, and, given
the responders' signed `agent-response` messages, that each one is signed by its sender and hashes to what the
receipt committed to. Hashes are lowercase hex SHA-256: of the UTF-8 prompt, of the UTF-8 result text, and of
the canonical JSON of each response message's payload.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ecco.errors import EccoError
from ecco.services.consensus.aggregation import AgentAnswer
from ecco.services.crypto_ports import Signer, Verifier
from ecco.services.envelope import Message, canonical_json, verify_message

RECEIPT_VERSION = 1


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def response_hash(message: Message) -> str:
    return sha256_hex(canonical_json(message.payload))


def entry_of(answer: AgentAnswer) -> dict[str, Any]:
    message = answer.message
    assert message is not None, "only answers with a signed message go into a receipt"
    return {
        "peerId": answer.peer_id,
        "messageId": message.id,
        "signature": message.signature or "",
        "publicKey": message.public_key or "",
        "responseHash": response_hash(message),
        "matchScore": answer.match_score,
    }


def sign_receipt(
    signer: Signer,
    *,
    consensus_id: str,
    prompt: str,
    parameters: Mapping[str, Any],
    answers: Sequence[AgentAnswer],
    result_text: str,
    confidence: float,
    achieved: bool,
    agreement: int,
    created_ms: int,
    stop_reason: str = "all-answered",
    outcomes: Sequence[tuple[str, str]] = (),
) -> dict[str, Any]:
    """The signed receipt document (camelCase keys). `answers` are the aggregated ones, in arrival order;
    `outcomes` is every asked agent's (peer id, status) in arrival order (cancelled ones last), and `stop_reason`
    why the query stopped waiting: together they say which answers were in when the result was decided."""
    receipt: dict[str, Any] = {
        "version": RECEIPT_VERSION,
        "consensusId": consensus_id,
        "promptHash": sha256_hex(prompt),
        "strategy": parameters["aggregation"],
        "selection": parameters["selection"],
        "parameters": dict(parameters),
        "entries": [entry_of(a) for a in answers if a.message is not None],
        "result": result_text,
        "resultHash": sha256_hex(result_text),
        "confidence": confidence,
        "achieved": achieved,
        "agreement": agreement,
        "stopReason": stop_reason,
        "agents": [{"peerId": peer, "status": status} for peer, status in outcomes],
        "signerPeerId": signer.peer_id,
        "signerPublicKey": base64.b64encode(signer.public_key).decode("ascii"),
        "createTime": created_ms,
    }
    receipt["signature"] = base64.b64encode(signer.sign(canonical_json(receipt).encode("utf-8"))).decode("ascii")
    return receipt


@dataclass
class Verification:
    verified: bool = False
    problems: list[str] = field(default_factory=list)
    signer_peer_id: str = ""
    consensus_id: str = ""
    responses_verified: int = 0


def _b64(text: Any) -> bytes:
    if not isinstance(text, str):
        raise ValueError("not a string")
    return base64.b64decode(text, validate=True)


def _check_signature(receipt: Mapping[str, Any], verifier: Verifier, problems: list[str]) -> None:
    try:
        public_key = _b64(receipt.get("signerPublicKey"))
        signature = _b64(receipt.get("signature"))
    except (binascii.Error, ValueError):
        problems.append("signature or signerPublicKey is missing or not base64")
        return
    try:
        if verifier.peer_id_of(public_key) != receipt.get("signerPeerId"):
            problems.append("signerPublicKey does not belong to signerPeerId")
    except ValueError:
        problems.append("signerPublicKey is not an Ed25519 public key")
        return
    unsigned = {k: v for k, v in receipt.items() if k != "signature"}
    if not verifier.verify(public_key, canonical_json(unsigned).encode("utf-8"), signature):
        problems.append("the receipt signature does not verify (the receipt was altered or signed by another key)")


def _check_entry(
    index: int, entry: Any, messages: Mapping[str, Message], verifier: Verifier, problems: list[str]
) -> bool:
    if not isinstance(entry, dict) or not all(
        isinstance(entry.get(k), str) for k in ("peerId", "messageId", "signature", "publicKey", "responseHash")
    ):
        problems.append(f"entry {index}: malformed")
        return False
    message = messages.get(entry["messageId"])
    if message is None:
        problems.append(f"entry {index}: the signed response message {entry['messageId']} was not given")
        return False
    before = len(problems)
    if message.from_ != entry["peerId"]:
        problems.append(f"entry {index}: the message was sent by {message.from_}, not {entry['peerId']}")
    if message.type != "agent-response":
        problems.append(f"entry {index}: the message is a {message.type}, not an agent-response")
    if (message.signature, message.public_key) != (entry["signature"], entry["publicKey"]):
        problems.append(f"entry {index}: the message signature differs from the receipt's")
    try:
        verify_message(message, verifier)
    except EccoError as error:
        problems.append(f"entry {index}: {error.message}")
    if response_hash(message) != entry["responseHash"]:
        problems.append(f"entry {index}: response hash mismatch")
    return len(problems) == before


def verify_receipt(receipt_json: str, messages: Sequence[Message], verifier: Verifier) -> Verification:
    """Check a receipt and the responder messages it commits to. Never raises: every failure is a problem."""
    report = Verification()
    try:
        receipt = json.loads(receipt_json)
    except (ValueError, RecursionError):
        report.problems.append("the receipt is not valid JSON")
        return report
    if not isinstance(receipt, dict):
        report.problems.append("the receipt must be a JSON object")
        return report
    report.signer_peer_id = receipt.get("signerPeerId") if isinstance(receipt.get("signerPeerId"), str) else ""
    report.consensus_id = receipt.get("consensusId") if isinstance(receipt.get("consensusId"), str) else ""
    if receipt.get("version") != RECEIPT_VERSION:
        report.problems.append(f"unknown receipt version {receipt.get('version')!r}")
    _check_signature(receipt, verifier, report.problems)
    result = receipt.get("result")
    if not isinstance(result, str) or sha256_hex(result) != receipt.get("resultHash"):
        report.problems.append("resultHash does not match the result")
    entries = receipt.get("entries")
    if not isinstance(entries, list):
        report.problems.append("entries must be a list")
        entries = []
    by_id = {m.id: m for m in messages}
    report.responses_verified = sum(
        _check_entry(i, entry, by_id, verifier, report.problems) for i, entry in enumerate(entries)
    )
    report.verified = not report.problems
    return report
