"""`ecco register --uri`: this node as an ERC-8004 agent (upstream-ecco §10). The registration is stored per chain,
so a second call returns the same agent id without a transaction."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, replace

from ecco.errors import EccoError, FailedPrecondition, InvalidArgument, Reason, Unavailable
from ecco.services.payments.amounts import check_chain_id
from ecco.services.payments.ports import Chains, PaymentStore

REGISTER_TIMEOUT_S = 60.0
MAX_URI_LENGTH = 2048
# Agreement kinds; the kind column holds 16 characters, so "registration-pending" would not fit on PostgreSQL.
DONE, PENDING = "registration", "registering"


@dataclass(frozen=True)
class Registration:
    agent_id: int
    agent_uri: str
    tx_hash: str
    chain_id: int
    registry: str
    owner: str
    register_ms: int
    already_registered: bool = False

    @property
    def agent_registry(self) -> str:
        return f"eip155:{self.chain_id}:{self.registry.lower()}"


class Registry:
    def __init__(
        self,
        chains: Chains,
        store: PaymentStore,
        peer_id: str,
        default_chain_id: int,
        registries: Mapping[int, str],
        clock: Callable[[], int],
    ) -> None:
        self._chains = chains
        self._store = store
        self._peer_id = peer_id
        self._default_chain = default_chain_id
        self._registries = dict(registries)
        self._clock = clock
        self._lock = asyncio.Lock()

    def _chain_id(self, chain_id: int | None) -> int:
        return self._default_chain if chain_id is None else check_chain_id(chain_id)

    async def get(self, chain_id: int | None) -> Registration | None:
        found = await self._store.get_agreement(DONE, str(self._chain_id(chain_id)))
        return None if found is None else Registration(**found[0])

    def registry_of(self, chain_id: int) -> str:
        registry = self._registries.get(chain_id, "")
        if not registry or int(registry, 16) == 0:
            raise FailedPrecondition(
                f"chain {chain_id} has no ERC-8004 IdentityRegistry; set registries.{chain_id} in the config",
                Reason.REGISTRY_UNAVAILABLE,
                field="chain_id",
            )
        return registry

    async def register(self, agent_uri: str, chain_id: int | None) -> Registration:
        if not agent_uri.strip() or len(agent_uri) > MAX_URI_LENGTH:
            raise InvalidArgument(
                f"--uri must be 1-{MAX_URI_LENGTH} characters", Reason.INVALID_ARGUMENT, field="agent_uri"
            )
        chain_id = self._chain_id(chain_id)
        registry = self.registry_of(chain_id)
        async with self._lock:
            existing = await self.get(chain_id)
            if existing is not None and existing.agent_uri != agent_uri:
                existing = await self._update_uri(existing, agent_uri)
            if existing is not None:
                return replace(existing, already_registered=True)
            chain = self._chains.get(chain_id)
            key = str(chain_id)
            # The signed transaction is stored before it is broadcast: after a crash the same one is found again
            # (by hash) or re-sent, so a node never registers twice.
            pending = await self._store.get_agreement(PENDING, key)
            if pending is None:
                signed = await chain.sign_registration(registry, agent_uri, self._peer_id)
                doc = {"txHash": signed.tx_hash, "raw": signed.raw, "agentUri": agent_uri}
                await self._store.put_agreement(PENDING, key, doc, 0)
            else:
                doc = pending[0]
            try:
                agent_id = await chain.registered_agent(doc["txHash"], registry, 0)
                if agent_id is None:
                    await chain.broadcast(doc["raw"])
                    agent_id = await chain.registered_agent(doc["txHash"], registry, REGISTER_TIMEOUT_S)
            except EccoError as error:
                if error.reason == Reason.TRANSACTION_FAILED:
                    await self._store.delete_agreement(PENDING, key)
                raise
            if agent_id is None:
                raise Unavailable("the registration is not mined yet; run register again", Reason.CHAIN_UNAVAILABLE)
            done = Registration(
                agent_id, doc["agentUri"], doc["txHash"], chain_id, registry, chain.address, self._clock()
            )
            await self._store.put_agreement(DONE, key, asdict(done), 0)
            await self._store.delete_agreement(PENDING, key)
            return done

    async def _update_uri(self, existing: Registration, agent_uri: str) -> Registration:
        """Point the registered agent at a new URI (ERC-8004 setAgentURI), so `register --uri B` never silently
        keeps A. Repeating it after a crash only sets the same URI again."""
        chain = self._chains.get(existing.chain_id)
        signed = await chain.sign_set_agent_uri(existing.registry, existing.agent_id, agent_uri)
        await chain.broadcast(signed.raw)
        mined = await chain.receipt(signed.tx_hash, REGISTER_TIMEOUT_S)
        if mined is None:
            raise Unavailable("the URI update is not mined yet; run register again", Reason.CHAIN_UNAVAILABLE)
        if not mined:
            raise FailedPrecondition(
                f"setAgentURI for agent {existing.agent_id} reverted (is this wallet still its owner?)",
                Reason.TRANSACTION_FAILED,
            )
        updated = replace(existing, agent_uri=agent_uri, tx_hash=signed.tx_hash, register_ms=self._clock())
        await self._store.put_agreement(DONE, str(existing.chain_id), asdict(updated), 0)
        return updated
