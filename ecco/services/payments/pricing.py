"""Provider pricing (upstream-ecco §9.1): what an incoming agent-request costs, validated once.

{"type": "standard", "chainId": 31337, "amount": "0.001", "token"?: "ETH", "tokenAddress"?: "0x..."}
{"type": "streaming", "chainId": 31337, "ratePerToken": "0.0001"}
{"type": "escrow", "chainId": 31337, "amount"?: "0.003", "milestones": [{"id", "description"?, "amount"}],
 "requiresApproval"?: true, "approver"?: "<peer id>"}
"""

from __future__ import annotations

from typing import Any

from ecco.errors import InvalidArgument, Reason
from ecco.services.envelope import parse_json
from ecco.services.payments.amounts import check_address, check_chain_id, to_wei

PRICING_TYPES = ("standard", "streaming", "escrow")


def _bad(field: str, problem: str) -> InvalidArgument:
    return InvalidArgument(f"{field}: {problem}", Reason.INVALID_ARGUMENT, field=field)


def parse_pricing(raw: Any, field: str = "pricing") -> dict[str, Any]:
    """The pricing as a normalised dict with wei amounts added; raises naming the field at fault."""
    if isinstance(raw, str):
        try:
            raw = parse_json(raw)
        except (ValueError, InvalidArgument):
            raise _bad(field, "not valid JSON") from None
    if not isinstance(raw, dict):
        raise _bad(field, "expected a JSON object")
    kind = raw.get("type")
    if kind not in PRICING_TYPES:
        raise _bad(f"{field}.type", f"expected one of {', '.join(PRICING_TYPES)}, got {kind!r}")
    pricing: dict[str, Any] = {
        "type": kind,
        "chainId": check_chain_id(raw.get("chainId"), f"{field}.chainId"),
        "token": str(raw.get("token") or "ETH"),
        "tokenAddress": check_address(raw["tokenAddress"], f"{field}.tokenAddress") if raw.get("tokenAddress") else "",
    }
    if kind == "standard":
        pricing["amountWei"] = to_wei(raw.get("amount"), f"{field}.amount")
    elif kind == "streaming":
        pricing["rateWei"] = to_wei(raw.get("ratePerToken"), f"{field}.ratePerToken")
    else:
        pricing.update(_escrow(raw, field))
    return pricing


def _escrow(raw: dict[str, Any], field: str) -> dict[str, Any]:
    milestones = raw.get("milestones")
    if not isinstance(milestones, list) or not milestones:
        raise _bad(f"{field}.milestones", "expected a non-empty list of {id, description, amount}")
    parsed, seen = [], set()
    for i, item in enumerate(milestones):
        where = f"{field}.milestones[{i}]"
        if not isinstance(item, dict) or not isinstance(item.get("id"), str) or not item["id"]:
            raise _bad(where, "expected an object with a non-empty string id")
        if item["id"] in seen:
            raise _bad(where, f"duplicate milestone id {item['id']!r}")
        seen.add(item["id"])
        parsed.append(
            {
                "id": item["id"],
                "description": str(item.get("description") or ""),
                "amountWei": to_wei(item.get("amount"), f"{where}.amount"),
            }
        )
    total = sum(m["amountWei"] for m in parsed)
    if raw.get("amount") is not None and to_wei(raw["amount"], f"{field}.amount") != total:
        raise InvalidArgument(
            f"{field}.milestones: the milestone amounts must sum exactly to amount",
            Reason.INVALID_AMOUNT,
            field=f"{field}.milestones",
        )
    requires = raw.get("requiresApproval", True)
    if not isinstance(requires, bool):
        raise _bad(f"{field}.requiresApproval", "expected true or false")
    approver = raw.get("approver") or ""
    if not isinstance(approver, str):
        raise _bad(f"{field}.approver", "expected a peer id")
    return {"milestones": parsed, "totalWei": total, "requiresApproval": requires, "approver": approver}
