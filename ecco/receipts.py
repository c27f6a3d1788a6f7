"""Checking a consensus receipt offline, with no node to ask (`ecco consensus verify`).

Like `ecco.daemon`, this module composes services with an adapter: the consensus receipt rules with the Ed25519
verifier. The CLI calls it instead of importing either.
"""

from __future__ import annotations

import json
from pathlib import Path

from ecco.errors import EccoError, InvalidArgument, Reason
from ecco.services.consensus import Verification, verify_receipt
from ecco.services.envelope import Message
from ecco.transport.keys import Ed25519Verifier


def verify_receipt_file(path: Path) -> Verification:
    """The verified report of a `--receipt-out` file (or of a bare receipt). Raises InvalidArgument
    (RECEIPT_INVALID, field RECEIPT_FILE) listing every problem when anything does not check out."""
    receipt_json, messages = _load_receipt(path)
    report = verify_receipt(receipt_json, messages, Ed25519Verifier())
    if not report.verified:
        raise InvalidArgument(
            f"the receipt does not verify: {'; '.join(report.problems)}", Reason.RECEIPT_INVALID, field="RECEIPT_FILE"
        )
    return report


def _load_receipt(path: Path) -> tuple[str, list[Message]]:
    """The receipt JSON and the signed messages of a `--receipt-out` file (or of a bare receipt)."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InvalidArgument(
            f"cannot read {path}: {exc.strerror}", Reason.INVALID_ARGUMENT, field="RECEIPT_FILE"
        ) from None
    except ValueError:
        raise InvalidArgument(f"{path} is not JSON", Reason.RECEIPT_INVALID, field="RECEIPT_FILE") from None
    if isinstance(doc, dict) and isinstance(doc.get("receipt"), dict):
        responses = doc.get("responses") or []
        if not isinstance(responses, list):
            raise InvalidArgument(f"{path}: responses must be a list", Reason.RECEIPT_INVALID, field="RECEIPT_FILE")
        try:
            messages = [Message.from_dict(m) for m in responses]
        except EccoError as error:
            raise InvalidArgument(f"{path}: {error.message}", Reason.RECEIPT_INVALID, field="RECEIPT_FILE") from None
        return json.dumps(doc["receipt"]), messages
    return json.dumps(doc), []
