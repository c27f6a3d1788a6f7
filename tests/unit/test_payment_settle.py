"""Invoice -> queue -> settle -> proof on an in-process EVM (eth-tester), with real SQLite stores."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from ecco.chain.abi import ERC20
from ecco.errors import EccoError, Reason
from ecco.services.envelope import new_message, sign_message
from ecco.services.payments.invoices import sign_invoice
from ecco.services.payments.service import Payments, PaymentSettings
from ecco.services.ports import Direction
from tests.unit.payment_fixtures import Network, Node, deploy, make_node, network_fixture

network = network_fixture


async def pair(network: Network, tmp_path: Path, settings: PaymentSettings | None = None) -> tuple[Node, Node]:
    payer = await make_node(network, tmp_path, "payer", settings)
    payee = await make_node(network, tmp_path, "payee", settings)
    return payer, payee


async def invoice_job(network: Network, payer: Node, payee: Node, job: str, wei: int, **pricing: str) -> str:
    await payer.payments.expect_invoice(payee.peer_id, job)
    invoice = await payee.payments.issue(payer.peer_id, job, wei, {"chainId": network.chain_id, **pricing}, "standard")
    return invoice.id


async def test_request_invoice_settle_proof_verified(network: Network, tmp_path: Path) -> None:
    payer, payee = await pair(network, tmp_path)
    before = await network.w3.eth.get_balance(payee.account.address)
    first = await invoice_job(network, payer, payee, "job-1", 5 * 10**14)
    second = await invoice_job(network, payer, payee, "job-2", 10**14)
    assert [q.invoice.id for q in await payer.store.list_queue(0, 10)] == [first, second]

    results = await payer.payments.settle()

    assert len(results) == 1, "both invoices share recipient, chain and token: one transfer"
    result = results[0]
    assert result.success and result.total_amount == "0.0006" and result.proofs_sent == 2
    assert await network.w3.eth.get_balance(payee.account.address) - before == 6 * 10**14
    assert ("submit-payment-proof") in [t for _, t, _ in payer.outbox]
    assert [t for _, t, _ in payee.outbox].count("payment-verified") == 2
    for invoice_id in (first, second):
        entry = await payee.store.ledger_by_invoice(invoice_id, "in")
        assert entry is not None and entry.status == "settled" and entry.tx_hash == result.tx_hash
        mine = await payer.store.ledger_by_invoice(invoice_id, "out")
        assert mine is not None and mine.status == "settled"
    assert await payer.store.queue_size() == 0
    assert await payer.payments.settle() == [], "a second settle pays nothing"
    assert (result.recipient, result.chain_id, result.token, result.job_ids) == (
        payee.account.address.lower(),
        network.chain_id,
        "ETH",
        ["job-1", "job-2"],
    )
    page = await payee.events.list_page(0, [], 1000, "")
    settled = [r for r in page.events if r.type == "payment-settled"]
    assert {(r.peer_id, r.direction) for r in settled} == {(payer.peer_id, Direction.INBOUND)}
    assert sorted(json.loads(r.payload_json)["invoiceId"] for r in settled) == sorted([first, second])
    assert {(p["txHash"], p["chainId"], p["amount"]) for p in (json.loads(r.payload_json) for r in settled)} == {
        (result.tx_hash.lower(), network.chain_id, "0.0005"),
        (result.tx_hash.lower(), network.chain_id, "0.0001"),
    }


async def test_proof_cannot_be_replayed_or_stretched(network: Network, tmp_path: Path) -> None:
    payer, payee = await pair(network, tmp_path)
    invoice_id = await invoice_job(network, payer, payee, "job-r", 10**15)
    [result] = await payer.payments.settle()
    proof = {"invoiceId": invoice_id, "txHash": result.tx_hash, "chainId": network.chain_id}

    await network.deliver(payer, payee.peer_id, "submit-payment-proof", proof)
    assert payee.outbox[-1][1] == "payment-failed"
    assert payee.outbox[-1][2]["reason"] == "PAYMENT_PROOF_REPLAYED"

    # The same transaction cannot also pay a second invoice it does not cover.
    other = await invoice_job(network, payer, payee, "job-s", 10**15)
    await network.deliver(payer, payee.peer_id, "submit-payment-proof", {**proof, "invoiceId": other})
    assert payee.outbox[-1][2]["reason"] == "PAYMENT_PROOF_INVALID"
    entry = await payee.store.ledger_by_invoice(other, "in")
    assert entry is not None and entry.status == "pending"


async def test_a_proof_that_proves_nothing_is_refused_not_a_crash(network: Network, tmp_path: Path) -> None:
    """Each refused proof is answered payment-failed with PAYMENT_PROOF_INVALID and leaves the invoice unpaid."""
    payer, payee = await pair(network, tmp_path)
    stranger = await make_node(network, tmp_path, "stranger", funded=False)
    invoice_id = await invoice_job(network, payer, payee, "job-n", 10**15)
    [result] = await payer.payments.settle()
    other = await invoice_job(network, payer, payee, "job-o", 10**15)
    good = {"invoiceId": other, "txHash": result.tx_hash, "chainId": network.chain_id}
    for sender, proof in (
        (payer, {**good, "txHash": 12345}),
        (payer, {**good, "txHash": result.tx_hash[2:] + "00"}),  # right length, no 0x
        (payer, {**good, "invoiceId": "no-such-invoice"}),
        (payer, {**good, "txHash": "0x" + "11" * 32}),  # no such transaction
        (stranger, {**good, "invoiceId": invoice_id}),  # someone else's invoice
    ):
        await network.deliver(sender, payee.peer_id, "submit-payment-proof", proof)
        assert payee.outbox[-1][1] == "payment-failed", proof
        assert payee.outbox[-1][2]["reason"] == "PAYMENT_PROOF_INVALID", proof
    entry = await payee.store.ledger_by_invoice(other, "in")
    assert entry is not None and entry.status == "pending"


async def test_unexpected_forged_and_unsigned_invoices_are_not_queued(network: Network, tmp_path: Path) -> None:
    payer, payee = await pair(network, tmp_path)
    await payee.payments.issue(payer.peer_id, "never-asked", 10**15, {"chainId": network.chain_id}, "standard")
    assert await payer.store.queue_size() == 0

    await payer.payments.expect_invoice(payee.peer_id, "job-f")
    invoice_id = await payee.payments.issue(payer.peer_id, "job-f", 10**15, {"chainId": network.chain_id}, "standard")
    queued = (await payer.store.list_queue(0, 10))[0].invoice
    assert queued.id == invoice_id.id
    forged = dataclasses.replace(queued, id="forged", amount="1")
    unsigned = dataclasses.replace(queued, id="unsigned", signature="", public_key="")
    for bad in (forged, unsigned):
        message = sign_message(
            new_message(payee.peer_id, payer.peer_id, "invoice", {"invoice": bad.to_upstream()}), payee.signer
        )
        await payer.payments.on_invoice(message)
    assert await payer.store.queue_size() == 1
    assert (await payer.event_types()).count("payment-failed-local") == 3


async def test_expired_invoice_refused_by_hand(network: Network, tmp_path: Path) -> None:
    payer, payee = await pair(network, tmp_path)
    await payer.payments.expect_invoice(payee.peer_id, "job-e")
    issued = await payee.payments.issue(payer.peer_id, "job-e", 10**15, {"chainId": network.chain_id}, "standard")
    expired = sign_invoice(dataclasses.replace(issued, id="old", valid_until_ms=1), payee.signer)
    with pytest.raises(EccoError) as caught:
        await payer.payments.queue_by_hand(expired.to_json())
    assert caught.value.reason == Reason.INVOICE_EXPIRED


async def test_full_queue_refuses_new_invoices_but_not_repeats(
    network: Network, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("ecco.services.payments.service.QUEUE_LIMIT", 1)
    payer, payee = await pair(network, tmp_path)
    # not expected by the payer, so only queue_by_hand queues them
    pricing = {"chainId": network.chain_id}
    invoices = [await payee.payments.issue(payer.peer_id, job, 10**15, pricing, "standard") for job in ("q1", "q2")]
    assert await payer.store.queue_size() == 0
    _, size = await payer.payments.queue_by_hand(invoices[0].to_json())
    assert size == 1
    _, size = await payer.payments.queue_by_hand(invoices[0].to_json())
    assert size == 1, "an invoice already queued is not queued again, and is no error"
    with pytest.raises(EccoError) as caught:
        await payer.payments.queue_by_hand(invoices[1].to_json())
    assert caught.value.reason == Reason.INVOICE_QUEUE_FULL
    entries, total = await payer.store.list_ledger("", "", "", 0, 10)
    assert total == 1 and entries[0].invoice_id == invoices[0].id


async def test_insufficient_funds_leaves_queue_and_ledger(network: Network, tmp_path: Path) -> None:
    payer, payee = await pair(network, tmp_path)
    await invoice_job(network, payer, payee, "job-big", 50 * 10**18)
    [result] = await payer.payments.settle()
    assert not result.success and "insufficient funds" in result.error
    assert await payer.store.queue_size() == 1
    entries, _ = await payer.store.list_ledger("", "", "", 0, 10)
    assert [e.status for e in entries] == ["pending"]
    page = await payer.events.list_page(0, [], 1000, "")
    [failed] = [json.loads(r.payload_json) for r in page.events if r.type == "payment-failed-local"]
    assert failed["reason"] == str(Reason.INSUFFICIENT_FUNDS)


async def test_a_nonce_the_chain_has_not_caught_up_with_is_not_reused(
    network: Network, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After a crash or a lagging node the chain may report a nonce this node already signed with: the next
    transfer takes the one after the highest it stored, or the chain would refuse it."""
    payer, payee = await pair(network, tmp_path)
    await invoice_job(network, payer, payee, "job-1", 10**15)
    [first] = await payer.payments.settle()

    async def stale() -> int:
        return 0

    monkeypatch.setattr(payer.chain, "next_nonce", stale)
    await invoice_job(network, payer, payee, "job-2", 10**15)
    [second] = await payer.payments.settle()
    assert first.success and second.success and second.tx_hash != first.tx_hash


async def test_crash_after_broadcast_is_reconciled_without_paying_twice(network: Network, tmp_path: Path) -> None:
    payer, payee = await pair(network, tmp_path)
    await invoice_job(network, payer, payee, "job-c", 10**15)
    before = await network.w3.eth.get_balance(payee.account.address)

    class Crash(Exception):
        pass

    real_finish = payer.store.finish_settlement

    async def crash(*args: object) -> None:
        raise Crash

    payer.store.finish_settlement = crash  # type: ignore[method-assign]
    with pytest.raises(Crash):
        await payer.payments.settle()
    payer.store.finish_settlement = real_finish  # type: ignore[method-assign]

    # A restarted node: a new service on the same database reconciles the signed transfer by its hash.
    restarted = Payments(
        payer.store,
        payer.payments.chains,
        payer.account.address,
        payer.signer,
        payer.payments._verifier,
        payer.events,
        payer.payments._send,
        payer.payments.settings,
        payer.payments.clock,
    )
    [reconciled] = await restarted.reconcile()
    assert reconciled.success
    assert await restarted.settle() == []
    assert await network.w3.eth.get_balance(payee.account.address) - before == 10**15


async def test_crash_before_broadcast_sends_the_same_transaction(network: Network, tmp_path: Path) -> None:
    payer, payee = await pair(network, tmp_path)
    await invoice_job(network, payer, payee, "job-b", 10**15)
    before = await network.w3.eth.get_balance(payee.account.address)

    async def down(raw: str) -> None:
        raise EccoError("rpc down", Reason.CHAIN_UNAVAILABLE)

    real = payer.chain.broadcast
    payer.chain.broadcast = down  # type: ignore[method-assign]
    [failed] = await payer.payments.settle()
    assert not failed.success and failed.tx_hash
    payer.chain.broadcast = real  # type: ignore[method-assign]
    [done] = await payer.payments.settle()
    assert done.success and done.tx_hash == failed.tx_hash, "the signed transfer is re-sent, not a new one"
    assert await payer.payments.settle() == []
    assert await network.w3.eth.get_balance(payee.account.address) - before == 10**15


async def test_erc20_invoice_settles_when_allow_listed(network: Network, tmp_path: Path) -> None:
    token = await deploy(network.w3, "TestToken", "Test", "TST", 10**24)
    settings = PaymentSettings(frozenset({token.lower()}), receipt_timeout_s=10)
    payer, payee = await pair(network, tmp_path, settings)
    accounts = await network.w3.eth.accounts
    contract = network.w3.eth.contract(address=token, abi=ERC20)
    await network.w3.eth.wait_for_transaction_receipt(
        await contract.functions.transfer(payer.account.address, 3 * 10**18).transact({"from": accounts[0]})
    )
    await invoice_job(network, payer, payee, "job-t", 3 * 10**18, token="TST", tokenAddress=token)
    [result] = await payer.payments.settle()
    assert result.success and result.proofs_sent == 1, "a token balance of exactly the amount due is enough"
    assert await contract.functions.balanceOf(payee.account.address).call() == 3 * 10**18
    assert [t for _, t, _ in payee.outbox].count("payment-verified") == 1

    # no tokens left, plenty of ETH: the token balance is what counts
    await invoice_job(network, payer, payee, "job-u", 1, token="TST", tokenAddress=token)
    [refused] = await payer.payments.settle()
    assert not refused.success and "insufficient funds" in refused.error
    assert await payer.store.queue_size() == 1


async def test_undelivered_proof_is_resent_by_the_next_settle(network: Network, tmp_path: Path) -> None:
    payer, payee = await pair(network, tmp_path)
    invoice_id = await invoice_job(network, payer, payee, "job-p", 10**15)
    network.unreachable.add(payee.peer_id)
    [result] = await payer.payments.settle()
    assert result.success and result.proofs_sent == 0
    network.unreachable.clear()
    assert await payer.payments.settle() == []
    entry = await payee.store.ledger_by_invoice(invoice_id, "in")
    assert entry is not None and entry.status == "settled" and entry.tx_hash == result.tx_hash
    assert await payer.store.unsent_proofs(payer.peer_id) == []


async def test_proof_checked_again_once_the_payees_chain_is_back(network: Network, tmp_path: Path) -> None:
    payer, payee = await pair(network, tmp_path)
    invoice_id = await invoice_job(network, payer, payee, "job-down", 10**15)
    real = payee.chain.paid

    async def down(*args: object) -> None:
        raise EccoError("rpc down", Reason.CHAIN_UNAVAILABLE)

    payee.chain.paid = down  # type: ignore[method-assign]
    [result] = await payer.payments.settle()
    assert result.success and result.proofs_sent == 1
    entry = await payee.store.ledger_by_invoice(invoice_id, "in")
    assert entry is not None and entry.status == "pending"
    assert [t for _, t, _ in payee.outbox] == ["invoice"], "no verdict while the chain is unreachable"

    payee.chain.paid = real  # type: ignore[method-assign]
    await payee.payments.reconcile()
    entry = await payee.store.ledger_by_invoice(invoice_id, "in")
    assert entry is not None and entry.status == "settled" and entry.tx_hash == result.tx_hash
    assert payee.outbox[-1][1] == "payment-verified"
    assert await payee.store.list_agreements("proof") == []


async def test_request_id_replays_the_stored_answer_and_refuses_other_fields(network: Network, tmp_path: Path) -> None:
    from ecco.api.payment import PaymentServicer
    from ecco.services.payments.agreements import Agreements
    from ecco.v1 import payment_service_pb2 as pb

    payer, payee = await pair(network, tmp_path)
    servicer = PaymentServicer(payer.payments, Agreements(payer.payments, {}))
    pricing = {"chainId": network.chain_id}
    first, second = [await payee.payments.issue(payer.peer_id, job, 10**15, pricing, "standard") for job in ("a", "b")]
    request = pb.QueueInvoiceRequest(request_id="queue-1", invoice_json=first.to_json())
    answer = await servicer.QueueInvoice(request, None)
    assert answer.queue_size == 1
    assert await servicer.QueueInvoice(request, None) == answer
    other = pb.QueueInvoiceRequest(request_id="queue-1", invoice_json=second.to_json())
    with pytest.raises(EccoError) as caught:
        await servicer.QueueInvoice(other, None)
    assert caught.value.reason == Reason.IDEMPOTENCY_CONFLICT
    assert await payer.store.queue_size() == 1


async def test_expired_expectations_are_dropped_not_kept_forever(network: Network, tmp_path: Path) -> None:
    payer, payee = await pair(network, tmp_path)
    await payer.store.expect_invoices({"old-job": (payee.peer_id, 1_000), "live-job": (payee.peer_id, 10_000)}, 0)
    await payer.store.expect_invoices({"new-job": (payee.peer_id, 20_000)}, 5_000)
    assert await payer.store.expected_invoice("old-job") is None
    assert await payer.store.expected_invoice("live-job") == (payee.peer_id, 10_000)
    assert await payer.store.expected_invoice("new-job") == (payee.peer_id, 20_000)


async def test_an_expected_invoice_is_written_in_groups_and_at_close(network: Network, tmp_path: Path) -> None:
    """A request notes its expected invoice without a transaction of its own; a shutdown writes what is pending."""
    payer, payee = await pair(network, tmp_path)
    await payer.payments.expect_invoice(payee.peer_id, "job-a")
    await payer.payments.expect_invoice(payee.peer_id, "job-b")
    assert await payer.store.expected_invoice("job-a") is None  # noted, not written yet
    await payer.payments.close()
    assert (await payer.store.expected_invoice("job-a"))[0] == payee.peer_id  # type: ignore[index]
    assert (await payer.store.expected_invoice("job-b"))[0] == payee.peer_id  # type: ignore[index]
