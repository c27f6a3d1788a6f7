"""Payments between two real daemons on a real EVM chain: anvil (npm @foundry-rs/anvil, started once for this
module on 127.0.0.1 with a random port and killed by its PID), with the test ERC-20 and the ERC-8004 registry
stand-in deployed from the committed artifacts. Every step is driven through the `ecco` CLI."""

from __future__ import annotations

import json
import queue
import re
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from web3 import HTTPProvider, Web3

from tests.integration.conftest import Ecco, error_of, list_events, wait_for_event, wait_for_exit

pytestmark = pytest.mark.integration

ROOT = Path(__file__).parents[2]
ANVIL = ROOT / "node_modules" / "@foundry-rs" / "anvil-linux-amd64" / "bin" / "anvil"
ARTIFACTS = json.loads((ROOT / "contracts" / "artifacts.json").read_text())
CHAIN_ID = 31337
DEAD_CHAIN_ID = 31338  # configured with an RPC URL nobody listens on
ETH = 10**18
START_TIMEOUT_S = 20.0


@dataclass
class Chain:
    url: str
    w3: Web3
    token: str
    registry: str
    reputation: str

    def fund(self) -> Any:
        """A fresh wallet with 10 ETH and 1000 test tokens."""
        account = Account.create()
        funder = self.w3.eth.accounts[0]
        self.w3.eth.wait_for_transaction_receipt(
            self.w3.eth.send_transaction({"from": funder, "to": account.address, "value": 10 * ETH})
        )
        token = self.w3.eth.contract(address=self.token, abi=ARTIFACTS["TestToken"]["abi"])
        self.w3.eth.wait_for_transaction_receipt(
            token.functions.transfer(account.address, 1000 * ETH).transact({"from": funder})
        )
        return account

    def token_balance(self, address: str) -> int:
        token = self.w3.eth.contract(address=self.token, abi=ARTIFACTS["TestToken"]["abi"])
        return int(token.functions.balanceOf(Web3.to_checksum_address(address)).call())


def _deploy(w3: Web3, name: str, *args: Any) -> str:
    artifact = ARTIFACTS[name]
    contract = w3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"])
    tx = contract.constructor(*args).transact({"from": w3.eth.accounts[0]})
    return str(w3.eth.wait_for_transaction_receipt(tx)["contractAddress"])


def _listening_port(process: subprocess.Popen[str]) -> int:
    """Read anvil's stdout until `Listening on 127.0.0.1:<port>` (a reader thread, so the wait has a timeout)."""
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    deadline = time.monotonic() + START_TIMEOUT_S
    while (remaining := deadline - time.monotonic()) > 0:
        line = lines.get(timeout=remaining)
        assert line is not None, "anvil exited before listening"
        if found := re.search(r"Listening on 127\.0\.0\.1:(\d+)", line):
            return int(found.group(1))
    raise AssertionError("anvil did not start listening")


@pytest.fixture(scope="module")
def chain() -> Iterator[Chain]:
    assert ANVIL.exists(), "run `make setup` (npm @foundry-rs/anvil)"
    process = subprocess.Popen(
        [str(ANVIL), "--host", "127.0.0.1", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    try:
        url = f"http://127.0.0.1:{_listening_port(process)}"
        w3 = Web3(HTTPProvider(url))
        assert w3.eth.chain_id == CHAIN_ID
        token = _deploy(w3, "TestToken", "Test", "TST", 10**9 * ETH)
        registry = _deploy(w3, "IdentityRegistry")
        yield Chain(url, w3, token, registry, _deploy(w3, "ReputationRegistry", registry))
    finally:
        process.kill()
        process.wait(timeout=10)


def _config(tmp_path: Path, chain: Chain, name: str, pricing: dict[str, Any] | None, key_file: Path | None) -> Path:
    lines = [
        "[chains]",
        f'{CHAIN_ID} = "{chain.url}"',
        f'{DEAD_CHAIN_ID} = "http://127.0.0.1:9"',
        "[registries]",
        f'{CHAIN_ID} = "{chain.registry}"',
        "[reputation_registries]",
        f'{CHAIN_ID} = "{chain.reputation}"',
        "[reputation]",
        "feedback_interval_s = 0.5",
        "[payment]",
        f"chain_id = {CHAIN_ID}",
        f'tokens = ["{chain.token}"]',
    ]
    if pricing is not None:
        lines.append(f"pricing = '{json.dumps(pricing)}'")
    if key_file is not None:
        lines += ["[wallet]", f'key_file = "{key_file}"']
    path = tmp_path / f"{name}.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def start(
    ecco: Ecco,
    tmp_path: Path,
    chain: Chain,
    name: str,
    pricing: dict[str, Any] | None = None,
    *args: str,
    via_file: bool = False,
) -> tuple[dict[str, Any], Any, dict[str, str]]:
    """A node with a funded wallet: from wallet.key_file (`via_file`) or from ECCO_WALLET_KEY."""
    account = chain.fund()
    key = account.key.hex()
    env: dict[str, str] = {}
    key_file = None
    if via_file:
        key_file = tmp_path / f"{name}.key"
        key_file.write_text(key + "\n")
        key_file.chmod(0o600)
    else:
        env["ECCO_WALLET_KEY"] = key
    config = _config(tmp_path, chain, name, pricing, key_file)
    status = ecco.ok("up", "--name", name, "--config", str(config), *args, "--json", env=env).json()
    (addr,) = status["listenAddresses"]
    return {**status, "addr": addr, "config": str(config)}, account, env


def pay(ecco: Ecco, node: str, *args: str) -> Any:
    return ecco.ok("payment", *args, "--node", node, "--json").json()


def balance(chain: Chain, account: Any) -> int:
    return chain.w3.eth.get_balance(account.address)


def test_paid_request_settled_and_proof_verified_between_two_daemons(
    ecco: Ecco, tmp_path: Path, chain: Chain, node_db: Any
) -> None:
    """Also with both nodes on one PostgreSQL server, each on its own database."""
    pricing = {"type": "standard", "chainId": CHAIN_ID, "amount": "0.001"}
    provider, provider_wallet, _ = start(
        ecco, tmp_path, chain, "provider", pricing, "--responder", "echo", *node_db("provider"), via_file=True
    )
    requester, requester_wallet, _ = start(
        ecco, tmp_path, chain, "requester", None, "--bootstrap", provider["addr"], *node_db("requester")
    )

    reply = ecco.ok(
        "request", provider["peerId"], "--prompt", "hi", "--request-id", "job-1", "--node", "requester", "--json"
    ).json()
    assert reply["text"] == "hi"
    wait_for_event(ecco, "requester", lambda e: e["payload"].get("jobId") == "job-1", "payment-queued")
    [queued] = pay(ecco, "requester", "invoices")["invoices"]
    assert queued["invoice"]["amount"] == "0.001" and queued["invoice"]["jobId"] == "job-1"
    assert queued["issuerPeerId"] == provider["peerId"]
    assert queued["invoice"]["recipient"] == provider_wallet.address.lower()
    # exactly as printed, the invoice goes back in (numbers are numbers); its id is queued already: a no-op
    pay(ecco, "requester", "queue", "--invoice", json.dumps(queued["invoice"]))
    assert [q["invoice"]["id"] for q in pay(ecco, "requester", "invoices")["invoices"]] == [queued["invoice"]["id"]]

    before = balance(chain, provider_wallet)
    settled = pay(ecco, "requester", "settle", "--request-id", "settle-1")
    assert pay(ecco, "requester", "settle", "--request-id", "settle-1") == settled, "a repeat returns the stored result"
    [result] = settled["results"]
    assert result["success"] and result["totalAmount"] == "0.001" and result["proofsSent"] == 1
    assert balance(chain, provider_wallet) - before == ETH // 1000
    verified = wait_for_event(
        ecco, "provider", lambda e: e["payload"].get("txHash") == result["txHash"], "payment-settled"
    )
    assert verified["payload"]["invoiceId"] == queued["invoice"]["id"]
    wait_for_event(ecco, "requester", lambda e: e["payload"].get("txHash") == result["txHash"], "payment-verified")
    [entry] = pay(ecco, "provider", "ledger")["entries"]
    assert (entry["status"], entry["txHash"], entry["jobId"]) == (
        "settled",
        result["txHash"],
        "job-1",
    )

    # Settling again pays nothing; a replayed proof is refused and answered with payment-failed.
    assert pay(ecco, "requester", "settle") == {"results": []}
    replay = {"invoiceId": queued["invoice"]["id"], "txHash": result["txHash"], "chainId": CHAIN_ID}
    ecco.ok(
        "send",
        provider["peerId"],
        "--type",
        "submit-payment-proof",
        "--payload",
        json.dumps(replay),
        "--node",
        "requester",
    )
    failed = wait_for_event(ecco, "requester", lambda e: True, "payment-failed")
    assert failed["payload"]["reason"] == "PAYMENT_PROOF_REPLAYED"
    assert balance(chain, provider_wallet) - before == ETH // 1000

    # An invoice for a job the requester never asked the provider about is recorded and dropped.
    stray = {"invoice": {**queued["invoice"], "id": "stray", "jobId": "never-asked"}}
    ecco.ok("send", requester["peerId"], "--type", "invoice", "--payload", json.dumps(stray), "--node", "provider")
    dropped = wait_for_event(
        ecco, "requester", lambda e: e["payload"].get("stage") == "invoice", "payment-failed-local"
    )
    assert dropped["payload"]["reason"] == "INVALID_INVOICE", "its signature no longer matches (forged)"
    assert pay(ecco, "requester", "invoices")["invoices"] == []

    # The wallet key never shows: not in `config show`, not in the effective config file.
    shown = ecco.ok("config", "show", "--node", "requester", "--json").stdout
    key_hex = requester_wallet.key.hex()
    assert key_hex not in shown and key_hex.removeprefix("0x") not in shown
    assert key_hex.removeprefix("0x") not in (ecco.node_dir("requester") / "config.toml").read_text()

    # ERC-8004 registration: the agent id and tx hash, and the same id on a second call.
    first = ecco.ok("register", "--uri", "https://example.com/provider.json", "--node", "provider", "--json").json()
    again = ecco.ok("register", "--uri", "https://example.com/provider.json", "--node", "provider", "--json").json()
    assert first["agentId"] == again["agentId"] and again["alreadyRegistered"] and first["txHash"].startswith("0x")
    assert first["agentRegistry"] == f"eip155:{CHAIN_ID}:{chain.registry.lower()}"
    registry = chain.w3.eth.contract(address=chain.registry, abi=ARTIFACTS["IdentityRegistry"]["abi"])
    agent_id = int(first["agentId"])
    assert registry.functions.getMetadata(agent_id, "peerId").call() == provider["peerId"].encode()
    assert registry.functions.getMetadata(agent_id, "peerIdHash").call() == Web3.keccak(text=provider["peerId"])
    # a new URI for the registered agent is set on chain (setAgentURI), never silently kept at the old one
    moved = ecco.ok("register", "--uri", "https://example.com/moved.json", "--node", "provider", "--json").json()
    assert (moved["agentId"], moved["agentUri"], moved["alreadyRegistered"]) == (
        first["agentId"],
        "https://example.com/moved.json",
        True,
    )
    assert moved["txHash"] != first["txHash"]
    assert registry.functions.tokenURI(agent_id).call() == "https://example.com/moved.json"

    # ERC-8004 feedback for the provider reaches the requester's discovery score: feedback 92 (weight 0.5) with one
    # successful job (local Laplace share 2/3, weight 0.25) -> round(100 * (0.96 * 0.5 + 2/3 * 0.25) / 0.75) = 86.
    feedback = chain.w3.eth.contract(address=chain.reputation, abi=ARTIFACTS["ReputationRegistry"]["abi"])
    chain.w3.eth.wait_for_transaction_receipt(
        feedback.functions.giveFeedback(agent_id, 92, 0, "", "", "", "", b"\0" * 32).transact(
            {"from": chain.w3.eth.accounts[0]}
        )
    )
    deadline = time.monotonic() + 30
    score = None
    for _ in range(100):  # bounded: the node re-syncs feedback every 0.5 s
        doc = ecco.ok("peer", "reputation", provider["peerId"], "--node", "requester", "--json").json()
        score = doc["discoveryScore"]
        if score == 86 or time.monotonic() > deadline:
            break
    assert score == 86


def test_streaming_escrow_and_swarm_flows(ecco: Ecco, tmp_path: Path, chain: Chain) -> None:
    escrow = {
        "type": "escrow",
        "chainId": CHAIN_ID,
        "amount": "0.003",
        "milestones": [{"id": "m1", "amount": "0.001"}, {"id": "m2", "amount": "0.002"}],
    }
    provider, provider_wallet, _ = start(ecco, tmp_path, chain, "provider", escrow, "--responder", "echo")
    requester, _, _ = start(ecco, tmp_path, chain, "requester", None, "--bootstrap", provider["addr"])
    ecco.ok("request", provider["peerId"], "--prompt", "job", "--request-id", "job-e", "--node", "requester")
    before = balance(chain, provider_wallet)

    # Escrow: released once; the approver is the payer; one invoice per release, then the rest together.
    released = pay(
        ecco,
        "provider",
        "escrow",
        "release",
        "--job-id",
        "job-e",
        "--milestone-id",
        "m1",
        "--peer",
        requester["peerId"],
    )
    assert (released["status"], released["amount"]) == ("partially-released", "0.001")
    again = ecco(
        "payment",
        "escrow",
        "release",
        "--job-id",
        "job-e",
        "--milestone-id",
        "m1",
        "--peer",
        requester["peerId"],
        "--node",
        "provider",
        "--json",
    )
    assert error_of(again)["reason"] == "MILESTONE_ALREADY_RELEASED"
    wrong = ecco(
        "payment",
        "escrow",
        "release",
        "--job-id",
        "job-e",
        "--milestone-id",
        "m2",
        "--peer",
        provider["peerId"],
        "--node",
        "provider",
        "--json",
    )
    assert error_of(wrong)["reason"] == "APPROVER_MISMATCH"
    pay(
        ecco,
        "provider",
        "escrow",
        "release",
        "--job-id",
        "job-e",
        "--milestone-id",
        "m2",
        "--peer",
        requester["peerId"],
        "--send-invoice",
        "false",
    )
    rest = pay(ecco, "provider", "escrow", "invoice", "--job-id", "job-e", "--peer", requester["peerId"])
    assert rest["invoice"]["amount"] == "0.002" and rest["milestoneIds"] == ["m2"]
    nothing = ecco(
        "payment",
        "escrow",
        "invoice",
        "--job-id",
        "job-e",
        "--peer",
        requester["peerId"],
        "--node",
        "provider",
        "--json",
    )
    assert error_of(nothing)["reason"] == "NOTHING_TO_INVOICE"

    # Streaming on the same job: every tick invoice reaches the payer's queue (upstream kept only the first).
    streaming = json.dumps({"type": "streaming", "chainId": CHAIN_ID, "ratePerToken": "0.0001"})
    for tokens in ("250", "30"):
        tick = pay(
            ecco,
            "provider",
            "streaming",
            "tick",
            "--peer",
            requester["peerId"],
            "--channel-id",
            "job-e",
            "--tokens",
            tokens,
            "--auto-invoice",
            "true",
            "--pricing",
            streaming,
        )
    assert (tick["totalAmount"], tick["amountOwed"]) == ("0.028", "0.003")
    # The payer may push a streaming-tick itself; the provider records it and invoices the increment.
    pushed = json.dumps({"channelId": "job-e", "tokensGenerated": 10})
    ecco.ok("send", provider["peerId"], "--type", "streaming-tick", "--payload", pushed, "--node", "requester")
    queued_events: list[dict[str, Any]] = []
    wait_for_event(
        ecco, "requester", lambda e: queued_events.append(e) is None and len(queued_events) == 4, "payment-queued"
    )
    # both ledgers file each invoice under the same type (the requester's said "standard" for all before)
    sides = [
        sorted((e["type"], e["amount"]) for e in pay(ecco, node, "ledger", "--job-id", "job-e")["entries"])
        for node in ("provider", "requester")
    ]
    assert sides[0] == sides[1] and {"escrow", "streaming"} <= {kind for kind, _ in sides[0]}
    closed = pay(ecco, "provider", "streaming", "close", "--channel-id", "job-e")
    assert closed["status"] == "closed" and closed["totalTokens"] == 290
    assert closed["totalAmount"] == "0.029"
    late = ecco(
        "payment",
        "streaming",
        "tick",
        "--peer",
        requester["peerId"],
        "--channel-id",
        "job-e",
        "--tokens",
        "1",
        "--node",
        "provider",
        "--json",
    )
    assert error_of(late)["reason"] == "CHANNEL_CLOSED"

    # A signed invoice for a channel the requester never asked about is dropped as unexpected.
    pay(
        ecco,
        "provider",
        "streaming",
        "tick",
        "--peer",
        requester["peerId"],
        "--channel-id",
        "unasked",
        "--tokens",
        "5",
        "--auto-invoice",
        "true",
        "--pricing",
        streaming,
    )
    unexpected = wait_for_event(
        ecco, "requester", lambda e: e["payload"].get("stage") == "invoice", "payment-failed-local"
    )
    assert unexpected["payload"]["reason"] == "INVOICE_UNEXPECTED"

    # The approver's escrow-approval message releases a milestone (its payload.jobId, not the message id).
    ecco.ok("request", provider["peerId"], "--prompt", "job", "--request-id", "job-f", "--node", "requester")
    approval = json.dumps({"jobId": "job-f", "milestoneId": "m1"})
    ecco.ok("send", provider["peerId"], "--type", "escrow-approval", "--payload", approval, "--node", "requester")

    queued_events.clear()
    wait_for_event(
        ecco, "requester", lambda e: queued_events.append(e) is None and len(queued_events) == 6, "payment-queued"
    )
    assert len(pay(ecco, "requester", "invoices")["invoices"]) == 6
    [result] = pay(ecco, "requester", "settle")["results"]
    assert result["success"] and result["totalAmount"] == "0.033" and result["proofsSent"] == 6
    assert balance(chain, provider_wallet) - before == 33 * ETH // 1000

    # Swarm: a pro-rata integer split with its dust reported, paid in ERC-20 by one settle.
    workers = [Account.create() for _ in range(3)]
    participants = [{"peerId": provider["peerId"], "walletAddress": w.address, "contribution": "1"} for w in workers]
    distribute_args = (
        "--job-id",
        "swarm-1",
        "--total-amount",
        "0.00000000000000001",
        "--chain-id",
        str(CHAIN_ID),
        "--token",
        chain.token,
        "--participants",
        json.dumps(participants),
    )
    split = pay(ecco, "requester", "swarm", "distribute", *distribute_args)
    assert [s["amountWei"] for s in split["shares"]] == ["3", "3", "3"] and split["dustWei"] == "1"
    again = pay(ecco, "requester", "swarm", "distribute", *distribute_args)  # the same job: the first split
    assert again == split
    results = pay(ecco, "requester", "settle")["results"]
    assert len(results) == 3 and all(r["success"] for r in results)
    assert [chain.token_balance(w.address) for w in workers] == [3, 3, 3]  # each paid once


def test_bad_input_and_unreachable_chain_leave_the_ledger_unchanged(ecco: Ecco, tmp_path: Path, chain: Chain) -> None:
    node, wallet, _ = start(ecco, tmp_path, chain, "payer")

    def error(*args: str) -> dict[str, Any]:
        return error_of(ecco("payment", *args, "--node", "payer", "--json"))

    participants = json.dumps([{"peerId": node["peerId"], "walletAddress": wallet.address, "contribution": "1"}])
    for amount, reason in (
        ("-1", "INVALID_AMOUNT"),
        ("0", "INVALID_AMOUNT"),
        ("1.0000000000000000001", "INVALID_AMOUNT"),
        ("lots", "INVALID_AMOUNT"),
    ):
        found = error(
            "swarm",
            "distribute",
            "--job-id",
            "j",
            "--total-amount",
            amount,
            "--chain-id",
            str(CHAIN_ID),
            "--participants",
            participants,
        )
        assert (found["reason"], found["field"]) == (reason, "total_amount")
    bad_wallet = json.dumps([{"peerId": node["peerId"], "walletAddress": "0x12", "contribution": "1"}])
    assert (
        error(
            "swarm",
            "distribute",
            "--job-id",
            "j",
            "--total-amount",
            "1",
            "--chain-id",
            str(CHAIN_ID),
            "--participants",
            bad_wallet,
        )["field"]
        == "participants[0].walletAddress"
    )

    invoice = {
        "id": "inv-1",
        "jobId": "j",
        "chainId": CHAIN_ID,
        "amount": "0.001",
        "token": "ETH",
        "recipient": wallet.address,
        "validUntil": int(time.time() * 1000) + 60_000,
    }
    assert error("queue", "--invoice", json.dumps({**invoice, "validUntil": 1}))["reason"] == "INVOICE_EXPIRED"
    forged = {**invoice, "signature": "A" * 88, "publicKey": "B" * 44}
    assert error("queue", "--invoice", json.dumps(forged))["reason"] == "INVALID_INVOICE"
    assert error("queue", "--invoice", json.dumps({**invoice, "recipient": "nope"}))["field"] == "invoice.recipient"
    other_token = {**invoice, "token": "X", "tokenAddress": "0x" + "11" * 20}
    assert error("queue", "--invoice", json.dumps(other_token))["reason"] == "TOKEN_NOT_ALLOWED"

    # A chain that is not configured is refused up front; an RPC that is down fails the settlement clearly.
    unknown = error("queue", "--invoice", json.dumps({**invoice, "id": "unknown", "chainId": 4242}))
    assert (unknown["reason"], unknown["field"]) == ("CHAIN_NOT_CONFIGURED", "chain_id")
    pay(ecco, "payer", "queue", "--invoice", json.dumps({**invoice, "id": "dead", "chainId": DEAD_CHAIN_ID}))
    dead = error_of(ecco("payment", "settle", "--node", "payer", "--json"))  # not paid: exit 4, never 0
    assert dead["reason"] == "TRANSACTION_FAILED" and "cannot be reached" in dead["message"]
    assert len(pay(ecco, "payer", "invoices")["invoices"]) == 1
    statuses = {e["status"] for e in pay(ecco, "payer", "ledger")["entries"]}
    assert statuses == {"pending"}
    assert not list_events(ecco, "payer", "payment-settled")


def test_crash_between_broadcast_and_receipt_never_pays_twice(
    ecco: Ecco, tmp_path: Path, chain: Chain, node_db: Any
) -> None:
    node, _, env = start(ecco, tmp_path, chain, "crasher", None, *node_db("crasher"))
    payee = Account.create()
    invoice = {
        "id": "inv-crash",
        "jobId": "j",
        "chainId": CHAIN_ID,
        "amount": "0.5",
        "token": "ETH",
        "recipient": payee.address,
        "validUntil": int(time.time() * 1000) + 600_000,
    }
    pay(ecco, "crasher", "queue", "--invoice", json.dumps(invoice))

    chain.w3.provider.make_request("evm_setAutomine", [False])
    try:
        settling = ecco.follow("payment", "settle", "--node", "crasher", "--json")
        deadline = time.monotonic() + 20
        pending: list[Any] = []
        while not pending and time.monotonic() < deadline:  # bounded: until the transfer is in the mempool
            pending = chain.w3.eth.get_block("pending", full_transactions=True)["transactions"]
        assert pending, "the settlement was never broadcast"
        pid = ecco.pid("crasher")
        import os
        import signal

        os.kill(pid, signal.SIGKILL)  # crash after broadcast, before the receipt is recorded
        wait_for_exit(pid)
        settling.stop()
    finally:
        chain.w3.provider.make_request("evm_setAutomine", [True])
    chain.w3.provider.make_request("evm_mine", [])
    assert balance(chain, payee) == ETH // 2

    ecco.ok("up", "--name", "crasher", "--config", node["config"], *node_db("crasher"), "--json", env=env)
    results = pay(ecco, "crasher", "settle")["results"]
    assert all(r["success"] for r in results)
    assert pay(ecco, "crasher", "settle") == {"results": []}
    assert balance(chain, payee) == ETH // 2, "the reconciled settlement is not paid again"
    [entry] = pay(ecco, "crasher", "ledger")["entries"]
    assert entry["status"] == "settled"
