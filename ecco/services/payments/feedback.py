"""On-chain reputation: ERC-8004 feedback for the peers this node knows, fed into the discovery score
(upstream-ecco §7.6: local 0.25, feedback 0.50). Synced once at start and then every interval; a chain that is
down only delays the next sync."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable

from ecco.errors import EccoError
from ecco.services.payments.ports import Chains

log = logging.getLogger("ecco.payments")
DEFAULT_SYNC_INTERVAL_S = 300.0


class FeedbackSync:
    def __init__(
        self,
        chains: Chains,
        chain_id: int,
        identity_registry: str,
        reputation_registry: str,
        start_block: int,
        peers: Callable[[], Awaitable[Iterable[str]]],
        apply: Callable[[str, float | None], None],
        interval_s: float = DEFAULT_SYNC_INTERVAL_S,
    ) -> None:
        self._chains = chains
        self._chain_id = chain_id
        self._identity = identity_registry
        self._reputation = reputation_registry
        self._start_block = start_block
        self._peers = peers
        self._apply = apply
        self._interval = interval_s
        self._task: asyncio.Task[None] | None = None

    async def sync_once(self) -> dict[str, tuple[int, float]]:
        """Fetch feedback for every known peer and apply it; peers without feedback keep their local score."""
        peers = sorted(set(await self._peers()))
        chain = self._chains.get(self._chain_id)
        found = await chain.feedback(self._identity, self._reputation, peers, self._start_block)
        for peer_id in peers:
            self._apply(peer_id, found[peer_id][1] if peer_id in found else None)
        return found

    def start(self) -> None:
        self._task = asyncio.ensure_future(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self) -> None:
        while True:
            try:
                await self.sync_once()
            except EccoError as error:
                log.warning("could not sync ERC-8004 feedback", extra={"reason": str(error.reason)})
            await asyncio.sleep(self._interval)
