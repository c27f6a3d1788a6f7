"""Exact decimal amounts and invoice parsing/signing: every bad input is refused with its reason and field."""

from __future__ import annotations

import os

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ecco.errors import EccoError, Reason
from ecco.services.payments.amounts import MAX_AMOUNT_WEI, from_wei, to_wei
from ecco.services.payments.invoices import issuer_of, new_invoice, parse_invoice, sign_invoice
from ecco.transport.keys import Ed25519Signer, Ed25519Verifier

WALLET = "0x" + "ab" * 20


def test_exact_conversion() -> None:
    assert to_wei("0.0005") == 5 * 10**14
    assert to_wei("1") == 10**18
    assert to_wei("0.000000000000000001") == 1
    assert to_wei("0.1") + to_wei("0.2") == to_wei("0.3")
    assert from_wei(25 * 10**15) == "0.025" and from_wei(10**18) == "1" and from_wei(0) == "0"


@given(st.integers(min_value=1, max_value=MAX_AMOUNT_WEI))
def test_round_trip(wei: int) -> None:
    assert to_wei(from_wei(wei)) == wei


@pytest.mark.parametrize("bad", ["-1", "0", "0.0", "1e3", "abc", "", "0.0000000000000000001", "1.", " ", "2e15"])
def test_bad_amounts(bad: str) -> None:
    with pytest.raises(EccoError) as caught:
        to_wei(bad, "--total-amount")
    assert caught.value.reason == Reason.INVALID_AMOUNT and caught.value.field == "--total-amount"


def test_huge_and_non_string_amounts() -> None:
    for bad in ("1000000000000001", 1, 0.5, None):
        with pytest.raises(EccoError) as caught:
            to_wei(bad, "payment.amount")
        assert (caught.value.reason, caught.value.field) == (Reason.INVALID_AMOUNT, "payment.amount")


def test_an_amount_refused_without_a_field_name_is_named_amount() -> None:
    with pytest.raises(EccoError) as caught:
        to_wei("abc")
    assert caught.value.field == "amount"


def test_invoice_round_trip_signature_and_all_three_forms() -> None:
    signer = Ed25519Signer(os.urandom(32))
    invoice = sign_invoice(new_invoice("job", 31337, 5 * 10**14, WALLET, 1000), signer)
    assert invoice.amount == "0.0005" and invoice.valid_until_ms == 1000 + 3_600_000
    assert invoice.to_upstream()["token"] == "ETH"  # upstream nodes read the native coin by this name
    for form in (
        invoice.to_upstream(),
        {"invoice": invoice.to_upstream()},
        {"requestId": "x", "response": invoice.to_upstream()},
    ):
        assert parse_invoice(form) == invoice
    assert issuer_of(parse_invoice(invoice.to_json()), Ed25519Verifier()) == signer.peer_id
    forged = parse_invoice({**invoice.to_upstream(), "amount": "5"})
    with pytest.raises(EccoError) as caught:
        issuer_of(forged, Ed25519Verifier())
    assert caught.value.reason == Reason.INVALID_INVOICE


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"recipient": "0x123"}, "invoice.recipient"),
        ({"amount": "-1"}, "invoice.amount"),
        ({"chainId": "1"}, "invoice.chainId"),
        ({"chainId": 0}, "invoice.chainId"),
        ({"token": "USDC"}, "invoice.tokenAddress"),
        ({"tokenAddress": "nope", "token": "USDC"}, "invoice.tokenAddress"),
    ],
)
def test_malformed_invoices(change: dict, field: str) -> None:
    base = new_invoice("job", 31337, 1, WALLET, 0).to_upstream()
    with pytest.raises(EccoError) as caught:
        parse_invoice({**base, **change})
    assert caught.value.field == field
