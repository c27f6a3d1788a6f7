"""Streaming ticks, escrow milestones (including concurrent releases), swarm splits and ERC-8004 registration,
on eth-tester with real SQLite stores."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from ecco.errors import EccoError, Reason
from ecco.services.payments.agreements import Agreements, check_transition, split
from ecco.services.payments.amounts import from_wei
from ecco.services.payments.pricing import parse_pricing
from ecco.services.payments.registry import Registry
from tests.unit.payment_fixtures import ARTIFACTS, Network, Node, deploy, make_node, network_fixture

network = network_fixture


async def provider_and_payer(network: Network, tmp_path: Path, pricing: dict) -> tuple[Agreements, Node, Node]:
    payer = await make_node(network, tmp_path, "payer")
    provider = await make_node(network, tmp_path, "provider")
    return Agreements(provider.payments, parse_pricing({**pricing, "chainId": network.chain_id})), provider, payer


async def test_every_streaming_tick_invoice_is_accepted_and_totals_are_exact(network: Network, tmp_path: Path) -> None:
    agreements, provider, payer = await provider_and_payer(
        network, tmp_path, {"type": "streaming", "ratePerToken": "0.0001"}
    )
    await payer.payments.expect_invoice(provider.peer_id, "chan-1")
    first = await agreements.tick(payer.peer_id, "chan-1", 250, True, "")
    second = await agreements.tick(payer.peer_id, "chan-1", 3, True, "")
    third = await agreements.tick(payer.peer_id, "chan-1", 7, False, "")
    assert from_wei(first.amount_owed_wei) == "0.025" and first.invoice is not None
    assert from_wei(second.total_wei) == "0.0253" and second.total_tokens == 253
    assert third.invoice is None and from_wei(third.total_wei) == "0.026"
    rest = await agreements.streaming_invoice(payer.peer_id, "chan-1")
    assert rest.amount == "0.0007"
    assert len(await payer.store.list_queue(0, 10)) == 3, "every tick invoice is queued (upstream drops all but one)"
    [settled] = await payer.payments.settle()
    assert settled.success and settled.total_amount == "0.026"
    closed = await agreements.close_channel("chan-1")
    assert closed["status"] == "closed"
    with pytest.raises(EccoError) as caught:
        await agreements.tick(payer.peer_id, "chan-1", 1, True, "")
    assert caught.value.reason == Reason.CHANNEL_CLOSED
    with pytest.raises(EccoError) as caught:
        await agreements.tick(payer.peer_id, "chan-2", -1, True, "")
    assert caught.value.reason == Reason.INVALID_ARGUMENT


ESCROW = {
    "type": "escrow",
    "amount": "0.003",
    "milestones": [{"id": "m1", "amount": "0.001"}, {"id": "m2", "amount": "0.002"}],
}


async def test_escrow_milestone_released_once_under_concurrency(network: Network, tmp_path: Path) -> None:
    agreements, provider, payer = await provider_and_payer(network, tmp_path, ESCROW)
    await payer.payments.expect_invoice(provider.peer_id, "job-e")
    await agreements.on_request(payer.peer_id, "job-e")

    outcomes = await asyncio.gather(
        *(agreements.release("job-e", "m1", payer.peer_id, True) for _ in range(6)), return_exceptions=True
    )
    released = [o for o in outcomes if not isinstance(o, BaseException)]
    refused = [o for o in outcomes if isinstance(o, EccoError)]
    assert len(released) == 1 and len(refused) == 5
    assert {e.reason for e in refused} == {Reason.MILESTONE_ALREADY_RELEASED}
    assert released[0].status == "partially-released"
    assert await payer.store.queue_size() == 1

    with pytest.raises(EccoError) as caught:
        await agreements.release("job-e", "m2", provider.peer_id, False)
    assert caught.value.reason == Reason.APPROVER_MISMATCH
    last = await agreements.release("job-e", "m2", payer.peer_id, False)
    assert last.status == "fully-released" and from_wei(last.released_wei) == "0.003"
    invoice, covered = await agreements.escrow_invoice("job-e", payer.peer_id)
    assert covered == ["m2"] and invoice.amount == "0.002"
    with pytest.raises(EccoError) as caught:
        await agreements.escrow_invoice("job-e", payer.peer_id)
    assert caught.value.reason == Reason.NOTHING_TO_INVOICE
    with pytest.raises(EccoError) as caught:
        await agreements.release("job-e", "nope", payer.peer_id, False)
    assert caught.value.reason == Reason.MILESTONE_NOT_FOUND


def test_escrow_milestones_must_sum_to_amount() -> None:
    with pytest.raises(EccoError) as caught:
        parse_pricing({**ESCROW, "chainId": 1, "amount": "0.004"})
    assert caught.value.reason == Reason.INVALID_AMOUNT


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ("{not json", "pricing"),
        ([], "pricing"),
        ({"type": "auction", "chainId": 1}, "pricing.type"),
        ({"type": "standard", "chainId": 0, "amount": "1"}, "pricing.chainId"),
        ({"type": "standard", "chainId": 1, "amount": "1", "tokenAddress": "0x12"}, "pricing.tokenAddress"),
        ({"type": "streaming", "chainId": 1}, "pricing.ratePerToken"),
        ({**ESCROW, "chainId": 1, "milestones": []}, "pricing.milestones"),
        ({**ESCROW, "chainId": 1, "milestones": [{"amount": "1"}]}, "pricing.milestones[0]"),
        (
            {**ESCROW, "chainId": 1, "milestones": [{"id": "m", "amount": "0.001"}, {"id": "m", "amount": "0.002"}]},
            "pricing.milestones[1]",
        ),
        ({**ESCROW, "chainId": 1, "requiresApproval": "yes"}, "pricing.requiresApproval"),
        ({**ESCROW, "chainId": 1, "approver": 7}, "pricing.approver"),
    ],
)
def test_bad_pricing_is_refused_naming_the_field(raw: object, field: str) -> None:
    with pytest.raises(EccoError) as caught:
        parse_pricing(raw)
    assert caught.value.field == field


def test_escrow_state_machine_refuses_going_back() -> None:
    check_transition("locked", "locked")
    check_transition("locked", "partially-released")
    for before, after in (("fully-released", "locked"), ("no-such-state", "locked")):
        with pytest.raises(EccoError) as caught:
            check_transition(before, after)
        assert caught.value.reason == Reason.ESCROW_STATE_INVALID


async def test_unknown_escrow_and_channel_are_not_found(network: Network, tmp_path: Path) -> None:
    agreements, _, payer = await provider_and_payer(network, tmp_path, ESCROW)
    for call in (
        agreements.release("no-job", "m1", payer.peer_id, False),
        agreements.escrow_invoice("no-job", payer.peer_id),
    ):
        with pytest.raises(EccoError) as caught:
            await call
        assert caught.value.reason == Reason.ESCROW_NOT_FOUND
    for call in (agreements.streaming_invoice(payer.peer_id, "no-chan"), agreements.close_channel("no-chan")):
        with pytest.raises(EccoError) as caught:
            await call
        assert caught.value.reason == Reason.CHANNEL_NOT_FOUND


def test_swarm_split_floors_and_reports_dust() -> None:
    assert split(10, [1, 1, 1]) == ([3, 3, 3], 1)
    amounts, dust = split(3 * 10**15, [40, 35, 25])
    assert [from_wei(a) for a in amounts] == ["0.0012", "0.00105", "0.00075"] and dust == 0


async def test_swarm_distribute_queues_one_invoice_per_share(network: Network, tmp_path: Path) -> None:
    payer = await make_node(network, tmp_path, "payer")
    workers = [await make_node(network, tmp_path, f"w{i}", funded=False) for i in range(3)]
    agreements = Agreements(payer.payments, {})
    participants = [
        {"peerId": w.peer_id, "walletAddress": w.account.address, "contribution": c}
        for w, c in zip(workers, ["1", "1", "1"], strict=True)
    ]
    result = await agreements.distribute("swarm-1", "0.000000000000000010", network.chain_id, "ETH", participants)
    assert [s.amount_wei for s in result.shares] == [3, 3, 3] and result.dust_wei == 1
    assert result.invoices_queued == 3
    results = await payer.payments.settle()
    assert len(results) == 3 and all(r.success and r.proofs_sent == 0 for r in results)
    for worker in workers:
        assert await network.w3.eth.get_balance(worker.account.address) == 3
    with pytest.raises(EccoError) as caught:
        await agreements.distribute("swarm-2", "1", network.chain_id, "ETH", [{**participants[0], "contribution": "0"}])
    assert caught.value.reason == Reason.INVALID_PARTICIPANTS


async def test_register_returns_the_same_agent_id_twice(network: Network, tmp_path: Path) -> None:
    node = await make_node(network, tmp_path, "agent")
    registry_address = await deploy(network.w3, "IdentityRegistry")
    registry = Registry(
        node.payments.chains, node.store, node.peer_id, network.chain_id, {network.chain_id: registry_address}, int
    )
    first = await registry.register("https://example.com/agent.json", None)
    again = await registry.register("https://example.com/agent.json", None)
    assert first.agent_id == again.agent_id == 1 and again.already_registered and not first.already_registered
    assert again.tx_hash == first.tx_hash
    artifact = ARTIFACTS["IdentityRegistry"]
    contract = network.w3.eth.contract(address=registry_address, abi=artifact["abi"])
    assert await contract.functions.getMetadata(1, "peerId").call() == node.peer_id.encode()
    assert await contract.functions.ownerOf(1).call() == node.account.address
    with pytest.raises(EccoError) as caught:
        await registry.register("https://example.com/agent.json", 143)
    assert caught.value.reason == Reason.REGISTRY_UNAVAILABLE


async def test_erc8004_feedback_feeds_the_discovery_score(network: Network, tmp_path: Path) -> None:
    from ecco.services.discovery.reputation_book import ReputationBook
    from ecco.services.payments.feedback import FeedbackSync
    from ecco.store.reputation import SqlReputationStore

    agent = await make_node(network, tmp_path, "agent")
    observer = await make_node(network, tmp_path, "observer")
    identity = await deploy(network.w3, "IdentityRegistry")
    reputation = await deploy(network.w3, "ReputationRegistry", identity)
    registry = Registry(
        agent.payments.chains, agent.store, agent.peer_id, network.chain_id, {network.chain_id: identity}, int
    )
    registered = await registry.register("https://example.com/agent.json", None)

    accounts = await network.w3.eth.accounts
    artifact = ARTIFACTS["ReputationRegistry"]
    contract = network.w3.eth.contract(address=reputation, abi=artifact["abi"])
    for value in (90, 94):
        tx = await contract.functions.giveFeedback(registered.agent_id, value, 0, "", "", "", "", b"\0" * 32).transact(
            {"from": accounts[0]}
        )
        await network.w3.eth.wait_for_transaction_receipt(tx)

    book = ReputationBook(SqlReputationStore(network.engines[-1]), int)
    await book.load()
    await book.record(agent.peer_id, True)
    assert book.rank_score(agent.peer_id) == 67

    async def peers() -> list[str]:
        return [agent.peer_id, observer.peer_id]

    sync = FeedbackSync(observer.payments.chains, network.chain_id, identity, reputation, 0, peers, book.set_feedback)
    found = await sync.sync_once()
    assert found == {agent.peer_id: (2, 92.0)}
    # feedback 92 and 1 of 1 job: (0.96 x 0.5 + 2/3 x 0.25) / 0.75 (upstream's local +1 gave 81)
    assert book.rank_score(agent.peer_id) == 86
    assert book.rank_score(observer.peer_id) == 50  # no data: neutral
    stored = await book.get(agent.peer_id)
    assert stored is not None and stored.score == 86


async def test_interrupted_registration_is_completed_not_repeated(network: Network, tmp_path: Path) -> None:
    node = await make_node(network, tmp_path, "agent")
    registry_address = await deploy(network.w3, "IdentityRegistry")
    registry = Registry(
        node.payments.chains, node.store, node.peer_id, network.chain_id, {network.chain_id: registry_address}, int
    )
    real = node.chain.broadcast

    async def crash_after_send(raw: str) -> None:
        await real(raw)
        raise EccoError("rpc went away", Reason.CHAIN_UNAVAILABLE)

    node.chain.broadcast = crash_after_send  # type: ignore[method-assign]
    with pytest.raises(EccoError):
        await registry.register("https://example.com/agent.json", None)
    node.chain.broadcast = real  # type: ignore[method-assign]
    done = await registry.register("https://example.com/agent.json", None)
    assert done.agent_id == 1 and not done.already_registered
    contract = network.w3.eth.contract(address=registry_address, abi=ARTIFACTS["IdentityRegistry"]["abi"])
    assert await contract.functions.balanceOf(node.account.address).call() == 1, "registered once"


async def test_keyed_lock_serialises_per_key_and_forgets_idle_keys() -> None:
    from ecco.services.payments.locks import KeyedLock

    locks = KeyedLock()
    order: list[str] = []

    async def hold(key: str, name: str, gate: asyncio.Event | None = None) -> None:
        async with locks.hold(key):
            order.append(f"{name}+")
            if gate is not None:
                await gate.wait()
            order.append(f"{name}-")

    gate = asyncio.Event()
    first = asyncio.ensure_future(hold("a", "1", gate))
    second = asyncio.ensure_future(hold("a", "2"))
    other = asyncio.ensure_future(hold("b", "3"))
    await other
    assert order == ["1+", "3+", "3-"] and len(locks) == 1
    gate.set()
    await asyncio.gather(first, second)
    assert order[3:] == ["1-", "2+", "2-"] and len(locks) == 0


def test_every_agreement_kind_fits_its_column() -> None:
    from ecco.services.payments import registry as payments_registry
    from ecco.store.tables import payment_agreements

    kinds = ["streaming", "escrow", "swarm", "proof", payments_registry.DONE, payments_registry.PENDING]
    assert all(len(kind) <= payment_agreements.c.kind.type.length for kind in kinds)


async def test_a_released_milestone_is_recorded_and_billed_to_the_payer(network: Network, tmp_path: Path) -> None:
    """What a release leaves behind: the milestone marked released with its time, an escrow invoice for exactly that
    milestone recorded in the provider's ledger against the payer (also when the caller is left empty), and the
    amounts and ids the caller is told."""
    agreements, provider, payer = await provider_and_payer(network, tmp_path, ESCROW)
    await payer.payments.expect_invoice(provider.peer_id, "job-e")
    await agreements.on_request(payer.peer_id, "job-e")

    before = provider.payments.clock()
    result = await agreements.release("job-e", "m2", "", True)
    assert (result.job_id, result.milestone_id, result.status) == ("job-e", "m2", "partially-released")
    assert (from_wei(result.amount_wei), from_wei(result.released_wei)) == ("0.002", "0.002")
    assert result.invoice is not None and result.invoice.amount == "0.002"
    entry = await provider.store.ledger_by_invoice(result.invoice.id, "in")
    assert entry is not None
    assert (entry.type, entry.payer, entry.metadata) == ("escrow", payer.peer_id, {"milestoneIds": ["m2"]})

    stored = await provider.store.get_agreement("escrow", "job-e")
    assert stored is not None
    m1, m2 = stored[0]["milestones"]
    assert (m2["status"], m2["released"]) == ("released", True)
    assert before <= m2["releasedMs"] <= provider.payments.clock()
    assert (m1["status"], m1["released"]) == ("pending", False)

    with pytest.raises(EccoError) as caught:
        await agreements.release("job-e", "m2", payer.peer_id, False)
    assert (caught.value.reason, caught.value.field) == (Reason.MILESTONE_ALREADY_RELEASED, "milestone_id")
    with pytest.raises(EccoError) as caught:
        await agreements.release("job-e", "m9", payer.peer_id, False)
    assert (caught.value.reason, caught.value.field) == (Reason.MILESTONE_NOT_FOUND, "milestone_id")
    with pytest.raises(EccoError) as caught:
        await agreements.release("job-e", "m1", provider.peer_id, False)
    assert (caught.value.reason, caught.value.field) == (Reason.APPROVER_MISMATCH, "peer")
    with pytest.raises(EccoError) as caught:
        await agreements.release("job-x", "m1", payer.peer_id, False)
    assert (caught.value.reason, caught.value.field) == (Reason.ESCROW_NOT_FOUND, "job_id")
    unbilled = await agreements.release("job-e", "m1", payer.peer_id, False)
    assert unbilled.invoice is None and unbilled.status == "fully-released"
