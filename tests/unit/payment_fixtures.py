"""Shared fixtures for the payment unit tests: an in-process EVM (eth-tester), a funded local wallet, a real
migrated store per node (a SQLite file, or a PostgreSQL database: the `network` fixture runs each test on both),
and two Payments services wired so messages between them are signed and delivered in-process."""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import AsyncWeb3
from web3.providers.eth_tester import AsyncEthereumTesterProvider

from ecco.chain.evm import EvmChain
from ecco.services.envelope import new_message, sign_message
from ecco.services.events.log import EventLog, now_ms
from ecco.services.payments.service import Payments, PaymentSettings
from ecco.store.db import create_engine, migrate, sqlite_url
from ecco.store.payments import SqlPaymentStore
from ecco.transport.keys import Ed25519Signer, Ed25519Verifier
from tests.postgres import PgServer
from tests.unit.conftest import FakeEventStore

ARTIFACTS = json.loads((Path(__file__).parents[2] / "contracts" / "artifacts.json").read_text())
FUNDING_WEI = 10 * 10**18


class Chains:
    """Chains with one eth-tester chain, and a hook to make it unreachable."""

    def __init__(self, chain: EvmChain) -> None:
        self.chain = chain

    def get(self, chain_id: int) -> EvmChain:
        from ecco.errors import FailedPrecondition, Reason

        if chain_id != self.chain.chain_id:
            raise FailedPrecondition(f"chain {chain_id} is not configured", Reason.CHAIN_NOT_CONFIGURED)
        return self.chain


@dataclass
class Node:
    payments: Payments
    store: SqlPaymentStore
    events: EventLog
    signer: Ed25519Signer
    account: LocalAccount
    chain: EvmChain
    outbox: list[tuple[str, str, Any]] = field(default_factory=list)

    @property
    def peer_id(self) -> str:
        return self.signer.peer_id

    async def event_types(self) -> list[str]:
        page = await self.events.list_page(0, [], 1000, "")
        return [record.type for record in page.events]


@dataclass
class Network:
    w3: AsyncWeb3
    chain_id: int
    nodes: dict[str, Node] = field(default_factory=dict)
    engines: list[Any] = field(default_factory=list)
    unreachable: set[str] = field(default_factory=set)
    pg: PgServer | None = None
    """Where each node's database lives when the test runs on PostgreSQL (None: SQLite files)."""
    databases: list[str] = field(default_factory=list)

    def database(self, tmp: Path, name: str) -> str:
        """A fresh database for one node."""
        if self.pg is None:
            return sqlite_url(tmp / f"{name}.db")
        url = self.pg.new_database()
        self.databases.append(url)
        return url

    async def deliver(self, sender: Node, peer_id: str, type: str, payload: Any) -> None:
        if peer_id in self.unreachable:
            from ecco.errors import Reason, Unavailable

            raise Unavailable(f"peer {peer_id} is unreachable", Reason.PEER_UNREACHABLE)
        sender.outbox.append((peer_id, type, payload))
        target = self.nodes[peer_id]
        message = sign_message(new_message(sender.peer_id, peer_id, type, payload), sender.signer)
        if type == "invoice":
            await target.payments.on_invoice(message)
        elif type == "submit-payment-proof":
            await target.payments.on_proof(message)


async def fund(w3: AsyncWeb3, address: str, wei: int = FUNDING_WEI) -> None:
    accounts = await w3.eth.accounts
    tx = await w3.eth.send_transaction({"from": accounts[0], "to": address, "value": wei})
    await w3.eth.wait_for_transaction_receipt(tx)


async def deploy(w3: AsyncWeb3, name: str, *args: Any) -> str:
    accounts = await w3.eth.accounts
    artifact = ARTIFACTS[name]
    contract = w3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"])
    tx = await contract.constructor(*args).transact({"from": accounts[0]})
    receipt = await w3.eth.wait_for_transaction_receipt(tx)
    return str(receipt["contractAddress"])


async def make_node(
    network: Network, tmp: Path, name: str, settings: PaymentSettings | None = None, funded: bool = True
) -> Node:
    engine = create_engine(network.database(tmp, name))
    network.engines.append(engine)
    await migrate(engine)
    store = SqlPaymentStore(engine)
    account = Account.create()
    if funded:
        await fund(network.w3, account.address)
    chain = EvmChain(network.chain_id, network.w3, account)
    signer = Ed25519Signer(os.urandom(32))
    events = EventLog(FakeEventStore())
    node_ref: list[Node] = []

    async def send(peer_id: str, type: str, payload: Any) -> None:
        await network.deliver(node_ref[0], peer_id, type, payload)

    payments = Payments(
        store,
        Chains(chain),
        account.address,
        signer,
        Ed25519Verifier(),
        events,
        send,
        settings or PaymentSettings(receipt_timeout_s=10),
        now_ms,
    )
    node = Node(payments, store, events, signer, account, chain)
    node_ref.append(node)
    network.nodes[signer.peer_id] = node
    return node


@pytest.fixture(name="network")
async def network_fixture(backend: str, request: pytest.FixtureRequest) -> AsyncIterator[Network]:
    w3 = AsyncWeb3(AsyncEthereumTesterProvider())
    pg = request.getfixturevalue("pg") if backend == "postgresql" else None
    net = Network(w3, await w3.eth.chain_id, pg=pg)
    try:
        yield net
    finally:
        for engine in net.engines:
            await engine.dispose()
        for url in net.databases:
            pg.drop_database(url)
