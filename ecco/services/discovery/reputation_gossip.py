"""Reputation filter gossip (upstream-ecco §7.5): build, sign and publish this node's reputation bloom filters on
`ecco:reputation-filters`, and verify and merge the filters other nodes publish.

Local filters cover the types of our own capabilities and are built from the reputation book's discovery scores.
They are published once shortly after start (when there is anything to say) and then every interval (5 min by
default). Received filters go through `FilterBook.receive`, which verifies them; invalid ones are dropped with a
log line. The filter logic itself lives in ecco.services.discovery.bloom.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from ecco.errors import EccoError
from ecco.parsing import Tier
from ecco.services.crypto_ports import Signer, Verifier
from ecco.services.discovery.bloom import (
    EVENT_TYPE,
    GOSSIP_INTERVAL_MS,
    FilterBook,
    ReputationFilter,
    build_local_filters,
    sign_filter,
)
from ecco.services.envelope import js_json, now_ms
from ecco.services.transport_port import TOPIC_REPUTATION_FILTERS, Transport

log = logging.getLogger("ecco.reputation_filters")

FILTER_INTERVAL_S = GOSSIP_INTERVAL_MS / 1000
FIRST_PUBLISH_DELAY_S = 2.0
"""The first publication waits a moment after start, so bootstrap connections and the gossip mesh can form."""

ScoresFn = Callable[[], Mapping[str, float]]


class ReputationFilterGossip:
    def __init__(
        self,
        transport: Transport,
        signer: Signer,
        verifier: Verifier,
        capability_types: Iterable[str],
        scores: ScoresFn | None = None,
        interval_s: float = FILTER_INTERVAL_S,
        first_delay_s: float = FIRST_PUBLISH_DELAY_S,
    ) -> None:
        """`scores()` maps peer ids to their 0-100 discovery score (the reputation book)."""
        self._transport = transport
        self._signer = signer
        self._verifier = verifier
        self._types = list(dict.fromkeys(capability_types))
        self._scores = scores or dict
        self._interval_s = interval_s
        self._first_delay_s = first_delay_s
        self.book = FilterBook()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._transport.subscribe(TOPIC_REPUTATION_FILTERS, self.on_gossip)
        self._task = asyncio.ensure_future(self._publish_periodically())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def refresh_local(self) -> dict[str, ReputationFilter]:
        """Rebuild our (unsigned) filters from the current scores; returns them."""
        self.book.local = build_local_filters(self._types, dict(self._scores()), self._signer.peer_id, now_ms())
        return self.book.local

    async def publish(self) -> int:
        """Sign and publish every non-empty local filter; returns how many were published."""
        published = 0
        for bloom in list(self.refresh_local().values()):
            signed = sign_filter(bloom, self._signer)
            doc = {"type": EVENT_TYPE, "payload": signed.to_json(), "timestamp": now_ms()}
            try:
                await self._transport.publish(TOPIC_REPUTATION_FILTERS, js_json(doc).encode("utf-8"))
                published += 1
            except EccoError as error:
                log.warning("reputation filter publish failed", extra={"key": bloom.key, "reason": str(error.reason)})
        return published

    async def _publish_periodically(self) -> None:
        await asyncio.sleep(self._first_delay_s)  # a schedule, not a wait for a condition
        while True:
            await self.publish()
            await asyncio.sleep(self._interval_s)

    async def on_gossip(self, sender: str, data: bytes) -> None:
        try:
            doc: Any = json.loads(data)
            if not isinstance(doc, dict) or doc.get("type") != EVENT_TYPE or not isinstance(doc.get("payload"), str):
                raise ValueError("not a reputation-filter event")
            bloom = ReputationFilter.from_json(doc["payload"])
            if bloom.created_by == self._signer.peer_id:
                return  # our own filter echoed back: our local filters already hold it
            self.book.receive(bloom, self._verifier)
        except (EccoError, ValueError, RecursionError) as rejection:
            log.info("dropped reputation filter", extra={"sender": sender, "detail": str(rejection)})

    def tiers(self, capability: str, peer_ids: Sequence[str], preferred: Tier | None = None) -> dict[str, Tier]:
        """Each peer's best tier (only `preferred` when given) in the local or merged filters of `capability`."""
        return dict(self.book.find_candidates(capability, list(peer_ids), preferred))
