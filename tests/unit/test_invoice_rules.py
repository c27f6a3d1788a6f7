"""The rules an invoice and a swarm split obey before money moves: the expiry grace, what counts as signed, the
reason a refused invoice carries, and exact fractional contributions. Each one is a change that no other test
noticed under mutation testing (`make mutation`)."""

from __future__ import annotations

import os
from dataclasses import replace

import pytest

from ecco.errors import FailedPrecondition, InvalidArgument, PermissionDenied, Reason, Unauthenticated
from ecco.services.payments.amounts import (
    MAX_CONTRIBUTION_UNITS,
    check_address,
    check_chain_id,
    contribution_units,
    from_wei,
    to_wei,
)
from ecco.services.payments.invoices import (
    EXPIRY_GRACE_MS,
    check_usable,
    issuer_of,
    new_invoice,
    parse_invoice,
    sign_invoice,
)
from ecco.transport.keys import Ed25519Signer, Ed25519Verifier

WALLET = "0x" + "ab" * 20
TOKEN = "0x" + "cd" * 20
ISSUED_MS = 1_767_225_600_000


def invoice(**changes: object):
    return replace(new_invoice("job", 31337, 10**15, WALLET, ISSUED_MS), **changes)


# ---- expiry ----


def test_an_invoice_is_usable_until_a_minute_after_it_expires() -> None:
    due = invoice().valid_until_ms
    for now in (due - 1, due, due + EXPIRY_GRACE_MS // 2, due + EXPIRY_GRACE_MS):
        check_usable(invoice(), now, set())
    with pytest.raises(FailedPrecondition) as info:
        check_usable(invoice(), due + EXPIRY_GRACE_MS + 1, set())
    assert (info.value.reason, info.value.field) == (Reason.INVOICE_EXPIRED, "invoice.validUntil")


# ---- the ERC-20 allow-list ----


def test_a_token_outside_the_allow_list_is_refused_with_its_reason() -> None:
    erc20 = invoice(token="USDC", token_address=TOKEN)
    with pytest.raises(PermissionDenied) as info:
        check_usable(erc20, ISSUED_MS, {"0x" + "ef" * 20})
    assert (info.value.reason, info.value.field) == (Reason.TOKEN_NOT_ALLOWED, "invoice.tokenAddress")


def test_the_allow_list_matches_addresses_whatever_their_case() -> None:
    check_usable(invoice(token="USDC", token_address=TOKEN.upper().replace("0X", "0x")), ISSUED_MS, {TOKEN})


# ---- signatures ----


def test_an_unsigned_invoice_has_no_issuer() -> None:
    assert issuer_of(invoice(), Ed25519Verifier()) == ""


@pytest.mark.parametrize("drop", ["signature", "public_key"])
def test_a_half_signed_invoice_is_refused_not_treated_as_unsigned(drop: str) -> None:
    signed = sign_invoice(invoice(), Ed25519Signer(os.urandom(32)))
    with pytest.raises(Unauthenticated) as info:
        issuer_of(replace(signed, **{drop: ""}), Ed25519Verifier())
    assert info.value.reason == Reason.INVALID_INVOICE


@pytest.mark.parametrize("part", ["signature", "public_key"])
def test_a_signature_or_key_with_stray_characters_is_refused(part: str) -> None:
    signed = sign_invoice(invoice(), Ed25519Signer(os.urandom(32)))
    with pytest.raises(Unauthenticated) as info:
        issuer_of(replace(signed, **{part: "!" + getattr(signed, part)}), Ed25519Verifier())
    assert info.value.reason == Reason.INVALID_INVOICE


# ---- malformed invoices ----


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ("{not json", "invoice"),
        ("[1, 2]", "invoice"),
        ({**invoice().to_upstream(), "id": ""}, "invoice.id"),
        ({**invoice().to_upstream(), "jobId": 7}, "invoice.jobId"),
        ({**invoice().to_upstream(), "validUntil": 1.5}, "invoice.validUntil"),
        ({**invoice().to_upstream(), "validUntil": True}, "invoice.validUntil"),
        ({**invoice().to_upstream(), "id": "x" * 201}, "invoice.id"),
        ({k: v for k, v in invoice().to_upstream().items() if k != "amount"}, "invoice.amount"),
        ({k: v for k, v in invoice().to_upstream().items() if k != "recipient"}, "invoice.recipient"),
        ({**invoice().to_upstream(), "recipient": ""}, "invoice.recipient"),
        # a reply that names a request but carries no invoice is refused, not a crash
        ({"requestId": "r-1", "error": "busy"}, "invoice.id"),
    ],
)
def test_a_malformed_invoice_is_an_invalid_invoice_naming_its_field(payload: object, field: str) -> None:
    with pytest.raises(InvalidArgument) as info:
        parse_invoice(payload)
    assert (info.value.reason, info.value.field) == (Reason.INVALID_INVOICE, field)


def test_optional_invoice_fields_default_sensibly() -> None:
    doc = {k: v for k, v in invoice().to_upstream().items() if k not in ("token", "tokenAddress")}
    parsed = parse_invoice({**doc, "validUntil": float(doc["validUntil"])})
    assert (parsed.token, parsed.token_address, parsed.signature, parsed.valid_until_ms) == (
        "ETH",
        "",
        "",
        invoice().valid_until_ms,
    )


def test_an_invoice_id_of_200_characters_is_fine() -> None:
    assert parse_invoice({**invoice().to_upstream(), "id": "x" * 200}).id == "x" * 200


def test_native_token_names_need_no_token_address() -> None:
    for token in ("ETH", "eth", "MON", "native"):
        assert parse_invoice({**invoice().to_upstream(), "token": token}).token == token


# ---- amounts ----


@pytest.mark.parametrize(
    ("text", "units"),
    [
        ("0.5", 500_000_000),
        ("1.25", 1_250_000_000),
        ("0.000000001", 1),
        ("0.0000000019", 1),  # floor, not round
        ("3", 3_000_000_000),
        (3, 3_000_000_000),
        (" 2.5 ", 2_500_000_000),
    ],
)
def test_swarm_contributions_are_exact_fixed_point_with_nine_decimals(text: object, units: int) -> None:
    assert contribution_units(text, "participants[0].contribution") == units


@pytest.mark.parametrize("bad", ["-1", "1e3", "", True, 1.5, None])
def test_a_contribution_that_is_not_a_decimal_is_refused(bad: object) -> None:
    with pytest.raises(InvalidArgument) as info:
        contribution_units(bad, "participants[0].contribution")
    assert (info.value.reason, info.value.field) == (Reason.INVALID_PARTICIPANTS, "participants[0].contribution")


def test_contributions_stay_within_what_javascript_counts_exactly() -> None:
    largest = str(MAX_CONTRIBUTION_UNITS // 10**9)
    assert contribution_units(largest, "c") == MAX_CONTRIBUTION_UNITS
    assert MAX_CONTRIBUTION_UNITS <= 2**53 - 1
    with pytest.raises(InvalidArgument) as info:
        contribution_units(str(int(largest) + 1), "c")
    assert (info.value.reason, info.value.field) == (Reason.INVALID_PARTICIPANTS, "c")


def test_fractional_amounts_are_exact_wei() -> None:
    assert to_wei("0.1") == 10**17
    assert to_wei("1.000000000000000001") == 10**18 + 1
    assert to_wei(" 2 ") == 2 * 10**18
    assert to_wei("0", allow_zero=True) == 0
    assert from_wei(10**17) == "0.1" and from_wei(10**18 + 1) == "1.000000000000000001"
    with pytest.raises(InvalidArgument) as info:
        to_wei("0.0", "payment.amount")
    assert (info.value.reason, info.value.field) == (Reason.INVALID_AMOUNT, "payment.amount")


@pytest.mark.parametrize("bad", [0, -1, 2**63, True, "1"])
def test_a_chain_id_is_a_positive_64_bit_integer(bad: object) -> None:
    with pytest.raises(InvalidArgument) as info:
        check_chain_id(bad)
    assert (info.value.reason, info.value.field) == (Reason.INVALID_ARGUMENT, "chain_id")
    with pytest.raises(InvalidArgument) as info:
        check_chain_id(bad, "pricing.chainId")
    assert info.value.field == "pricing.chainId"
    assert check_chain_id(2**63 - 1) == 2**63 - 1 and check_chain_id(1) == 1


def test_an_address_is_the_same_whatever_its_checksum_case() -> None:
    checksummed = "0x" + "aB" * 20
    assert check_address(checksummed, "recipient") == check_address(checksummed.lower(), "recipient") == WALLET


@pytest.mark.parametrize("bad", ["0x123", "ab" * 21, None, "0x" + "zz" * 20])
def test_a_malformed_address_is_refused_naming_its_field(bad: object) -> None:
    with pytest.raises(InvalidArgument) as info:
        check_address(bad, "participants[0].walletAddress")
    assert (info.value.reason, info.value.field) == (Reason.INVALID_ARGUMENT, "participants[0].walletAddress")
