"""One EVM chain through AsyncWeb3, with transactions signed locally by eth_account (nodes hold no unlocked
accounts in production). Every web3 failure becomes an EccoError: CHAIN_UNAVAILABLE when the RPC cannot be
reached, TRANSACTION_FAILED when the chain refuses a transaction."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import aiohttp
from eth_abi import decode as abi_decode
from eth_account.signers.local import LocalAccount
from eth_utils import keccak, to_checksum_address
from web3 import AsyncHTTPProvider, AsyncWeb3
from web3.exceptions import ProviderConnectionError, TimeExhausted, TransactionNotFound, Web3RPCError

from ecco.chain.abi import (
    ERC20,
    IDENTITY_REGISTRY,
    METADATA_SET_SIGNATURE,
    REGISTERED_TOPIC_SIGNATURE,
    REPUTATION_REGISTRY,
    TRANSFER_TOPIC,
)
from ecco.errors import EccoError, FailedPrecondition, Reason, Unavailable
from ecco.services.payments import Paid, SignedTransfer

log = logging.getLogger("ecco.chain")
T = TypeVar("T")
RPC_TIMEOUT_S = 10.0
POLL_INTERVAL_S = 0.05
GAS_MARGIN = 1.2
PRIORITY_FEE_WEI = 10**9
CONNECTION_ERRORS = (aiohttp.ClientError, ProviderConnectionError, OSError, asyncio.TimeoutError)
ALREADY_KNOWN = ("already known", "already imported", "known transaction")


def _unreachable(chain_id: int) -> Unavailable:
    return Unavailable(f"the RPC of chain {chain_id} cannot be reached", Reason.CHAIN_UNAVAILABLE)


class EvmChain:
    def __init__(self, chain_id: int, w3: AsyncWeb3, account: LocalAccount | None) -> None:
        self._chain_id = chain_id
        self._w3 = w3
        self._account = account
        self._checked = False
        # ERC-8004 peer resolution: peerIdHash -> the first agent id that claimed it, and the next block to scan
        self._agents: dict[bytes, int] = {}
        self._scanned: dict[str, int] = {}

    @property
    def chain_id(self) -> int:
        return self._chain_id

    @property
    def address(self) -> str:
        return self._wallet().address.lower()

    def _wallet(self) -> LocalAccount:
        if self._account is None:
            raise FailedPrecondition(
                "this node has no wallet: set ECCO_WALLET_KEY or wallet.key_file", Reason.WALLET_NOT_CONFIGURED
            )
        return self._account

    async def _call(self, work: Callable[[], Awaitable[T]]) -> T:
        """Run one RPC step with the connection checked, mapping transport failures to CHAIN_UNAVAILABLE."""
        try:
            if not self._checked:
                reported = await asyncio.wait_for(self._w3.eth.chain_id, RPC_TIMEOUT_S)
                if reported != self._chain_id:
                    raise Unavailable(
                        f"the RPC configured for chain {self._chain_id} serves chain {reported}",
                        Reason.CHAIN_UNAVAILABLE,
                    )
                self._checked = True
            return await work()
        except EccoError:
            raise
        except CONNECTION_ERRORS:
            raise _unreachable(self._chain_id) from None

    async def balance(self, token_address: str) -> int:
        address = self._wallet().address
        if not token_address:
            return await self._call(lambda: self._w3.eth.get_balance(address))
        token = self._w3.eth.contract(address=to_checksum_address(token_address), abi=ERC20)
        return int(await self._call(lambda: token.functions.balanceOf(address).call()))

    async def next_nonce(self) -> int:
        address = self._wallet().address
        return await self._call(lambda: self._w3.eth.get_transaction_count(address, "pending"))

    async def _fees(self) -> dict[str, int]:
        block = await self._w3.eth.get_block("latest")
        base = block.get("baseFeePerGas")
        if base is None:
            return {"gasPrice": await self._w3.eth.gas_price}
        return {"maxPriorityFeePerGas": PRIORITY_FEE_WEI, "maxFeePerGas": int(base) * 2 + PRIORITY_FEE_WEI}

    async def _sign(self, tx: dict[str, Any]) -> SignedTransfer:
        account = self._wallet()

        async def build() -> dict[str, Any]:
            full = {**tx, "chainId": self._chain_id, **(await self._fees())}
            try:
                gas = await self._w3.eth.estimate_gas({**full, "from": account.address})
            except (Web3RPCError, ValueError) as exc:
                log.warning("transaction would fail", extra={"chain": self._chain_id, "error": str(exc)})
                raise FailedPrecondition(
                    "the chain refuses the transaction (insufficient funds or a reverting call)",
                    Reason.TRANSACTION_FAILED,
                ) from None
            return {**full, "gas": int(gas * GAS_MARGIN)}

        signed = account.sign_transaction(await self._call(build))
        return SignedTransfer("0x" + signed.hash.hex().removeprefix("0x"), signed.raw_transaction.hex(), tx["nonce"])

    async def sign_transfer(self, to: str, amount_wei: int, token_address: str, nonce: int) -> SignedTransfer:
        if not token_address:
            return await self._sign({"to": to_checksum_address(to), "value": amount_wei, "nonce": nonce})
        token = self._w3.eth.contract(address=to_checksum_address(token_address), abi=ERC20)
        data = token.encode_abi("transfer", [to_checksum_address(to), amount_wei])
        return await self._sign({"to": to_checksum_address(token_address), "value": 0, "data": data, "nonce": nonce})

    async def broadcast(self, raw: str) -> None:
        payload = bytes.fromhex(raw.removeprefix("0x"))

        async def send() -> None:
            try:
                await self._w3.eth.send_raw_transaction(payload)
            except CONNECTION_ERRORS:
                raise
            except Exception as exc:
                if any(marker in str(exc).lower() for marker in ALREADY_KNOWN):
                    return
                log.warning("transaction refused", extra={"chain": self._chain_id, "error": str(exc)})
                raise FailedPrecondition("the chain refused the transaction", Reason.TRANSACTION_FAILED) from None

        await self._call(send)

    async def _mined(self, tx_hash: str, timeout_s: float) -> Any:
        """The transaction's receipt, looked up once (timeout_s <= 0) or awaited; None when not mined."""
        try:
            if timeout_s <= 0:
                return await self._w3.eth.get_transaction_receipt(tx_hash)  # type: ignore[arg-type]
            return await self._w3.eth.wait_for_transaction_receipt(
                tx_hash,  # type: ignore[arg-type]
                timeout=timeout_s,
                poll_latency=POLL_INTERVAL_S,
            )
        except (TransactionNotFound, TimeExhausted):
            return None

    async def receipt(self, tx_hash: str, timeout_s: float) -> bool | None:
        async def lookup() -> bool | None:
            found = await self._mined(tx_hash, timeout_s)
            return None if found is None else bool(found["status"])

        return await self._call(lookup)

    async def paid(self, tx_hash: str, recipient: str, token_address: str) -> Paid | None:
        async def lookup() -> Paid | None:
            try:
                receipt = await self._w3.eth.get_transaction_receipt(tx_hash)  # type: ignore[arg-type]
                tx = await self._w3.eth.get_transaction(tx_hash)  # type: ignore[arg-type]
            except TransactionNotFound:
                return None
            chain_id = int(tx.get("chainId", self._chain_id))
            if not token_address:
                to = (tx.get("to") or "").lower()
                amount = int(tx["value"]) if to == recipient.lower() else 0
                return Paid(bool(receipt["status"]), to, amount, chain_id)
            amount = sum(
                int.from_bytes(bytes(entry["data"]), "big")
                for entry in receipt["logs"]
                if entry["address"].lower() == token_address.lower()
                and len(entry["topics"]) == 3
                and "0x" + bytes(entry["topics"][0]).hex().removeprefix("0x") == TRANSFER_TOPIC
                and bytes(entry["topics"][2])[-20:].hex() == recipient.lower().removeprefix("0x")
            )
            return Paid(bool(receipt["status"]), recipient.lower(), amount, chain_id)

        return await self._call(lookup)

    async def sign_registration(self, registry: str, agent_uri: str, peer_id: str) -> SignedTransfer:
        contract = self._w3.eth.contract(address=to_checksum_address(registry), abi=IDENTITY_REGISTRY)
        metadata = [("peerId", peer_id.encode("utf-8")), ("peerIdHash", keccak(text=peer_id))]
        data = contract.encode_abi("register", [agent_uri, metadata])
        nonce = await self.next_nonce()
        return await self._sign({"to": contract.address, "value": 0, "data": data, "nonce": nonce})

    async def sign_set_agent_uri(self, registry: str, agent_id: int, agent_uri: str) -> SignedTransfer:
        contract = self._w3.eth.contract(address=to_checksum_address(registry), abi=IDENTITY_REGISTRY)
        data = contract.encode_abi("setAgentURI", [agent_id, agent_uri])
        nonce = await self.next_nonce()
        return await self._sign({"to": contract.address, "value": 0, "data": data, "nonce": nonce})

    async def registered_agent(self, tx_hash: str, registry: str, timeout_s: float) -> int | None:
        async def agent_id() -> int | None:
            receipt = await self._mined(tx_hash, timeout_s)
            if receipt is None:
                return None
            topic = keccak(text=REGISTERED_TOPIC_SIGNATURE)
            for entry in receipt["logs"]:
                if bytes(entry["topics"][0]) == topic and entry["address"].lower() == registry.lower():
                    return int.from_bytes(bytes(entry["topics"][1]), "big")
            raise FailedPrecondition("the registration reverted (no Registered event)", Reason.TRANSACTION_FAILED)

        return await self._call(agent_id)

    async def _scan_agents(self, identity_registry: str, start_block: int) -> None:
        """Read MetadataSet(peerIdHash) logs from where the last scan stopped (never from block 0 unless the
        configured start block is 0, upstream §13 #13). The first agent to claim a hash keeps it."""
        registry = to_checksum_address(identity_registry)
        latest = await self._w3.eth.block_number
        first = max(self._scanned.get(registry, start_block), start_block)
        if first > latest:
            return
        logs = await self._w3.eth.get_logs(
            {
                "address": registry,
                "fromBlock": first,
                "toBlock": latest,
                "topics": [
                    "0x" + keccak(text=METADATA_SET_SIGNATURE).hex(),
                    None,
                    "0x" + keccak(text="peerIdHash").hex(),
                ],
            }
        )
        for entry in logs:
            _, value = abi_decode(["string", "bytes"], bytes(entry["data"]))
            self._agents.setdefault(bytes(value), int.from_bytes(bytes(entry["topics"][1]), "big"))
        self._scanned[registry] = latest + 1

    async def feedback(
        self, identity_registry: str, reputation_registry: str, peer_ids: list[str], start_block: int
    ) -> dict[str, tuple[int, float]]:
        """ERC-8004 feedback per peer that has an agent id: (feedback count, average value)."""

        async def read() -> dict[str, tuple[int, float]]:
            await self._scan_agents(identity_registry, start_block)
            contract = self._w3.eth.contract(address=to_checksum_address(reputation_registry), abi=REPUTATION_REGISTRY)
            found: dict[str, tuple[int, float]] = {}
            for peer_id in peer_ids:
                agent_id = self._agents.get(keccak(text=peer_id))
                if agent_id is None:
                    continue
                clients = await contract.functions.getClients(agent_id).call()
                if not clients:
                    continue
                count, value, decimals = await contract.functions.getSummary(agent_id, clients, "", "").call()
                if count:
                    found[peer_id] = (int(count), int(value) / 10 ** int(decimals))
            return found

        return await self._call(read)


def open_chain(chain_id: int, rpc_url: str, account: LocalAccount | None) -> EvmChain:
    provider = AsyncHTTPProvider(rpc_url, request_kwargs={"timeout": aiohttp.ClientTimeout(total=RPC_TIMEOUT_S)})
    return EvmChain(chain_id, AsyncWeb3(provider), account)
