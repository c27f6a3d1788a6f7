"""Embeddings from a peer (upstream-ecco §7.7 service exchange), for `--similarity peer-embedding`.

The asking node finds a peer announcing a capability of type `embedding`, sends it one `embedding-request`
`{"type", "requestId", "texts"}` and collects its `embedding-response`s: one per text (`index`/`total`), each vector
possibly split into pieces (`chunkIndex`/`totalChunks`), or a single response holding every vector in order. Only
responses from the peer that was asked count. A provider is whoever answers such requests: a harness that sees the
`embedding-request` event and replies with `ecco send --type embedding-response`.
"""

from __future__ import annotations

import asyncio
import math
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ecco.errors import Aborted, EccoError, NotFound, Reason
from ecco.services.discovery import CONNECT_TIMEOUT_S, CapabilityQuery, Discovery
from ecco.services.envelope import Message
from ecco.services.messaging import Messenger

EMBEDDING_QUERY = CapabilityQuery.from_raw({"requiredCapabilities": [{"type": "embedding"}]})
MAX_PROVIDERS_TRIED = 3
MAX_DIMENSIONS = 65_536


class BadEmbeddings(ValueError):
    """An embedding-response that cannot be used; the text says why."""


def _vector(value: Any) -> list[float]:
    if not isinstance(value, list) or not value or len(value) > MAX_DIMENSIONS:
        raise BadEmbeddings("an embedding must be a non-empty list of numbers")
    if not all(isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x) for x in value):
        raise BadEmbeddings("an embedding must hold finite numbers only")
    return [float(x) for x in value]


def _count(payload: dict[str, Any], key: str, limit: int) -> int:
    value = payload.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < limit:
        raise BadEmbeddings(f"{key} must be an integer from 0 to {limit - 1}")
    return value


@dataclass
class Collector:
    """The vectors of one request, assembled from however many responses carry them."""

    peer_id: str
    count: int
    pieces: dict[int, dict[int, list[float]]] = field(default_factory=dict)
    chunks_expected: dict[int, int] = field(default_factory=dict)
    vectors: list[list[float]] | None = None
    error: str = ""
    done: asyncio.Event = field(default_factory=asyncio.Event)

    def add(self, payload: Any) -> None:
        try:
            self._add(payload)
        except BadEmbeddings as bad:
            self.error = str(bad)
            self.done.set()

    def _add(self, payload: Any) -> None:
        if not isinstance(payload, dict) or not isinstance(payload.get("embeddings"), list):
            raise BadEmbeddings("an embedding-response must carry an `embeddings` list")
        embeddings = payload["embeddings"]
        if "index" not in payload:
            if len(embeddings) != self.count:
                raise BadEmbeddings(f"expected {self.count} embeddings, got {len(embeddings)}")
            self._finish([_vector(v) for v in embeddings])
            return
        index = _count(payload, "index", self.count)
        if len(embeddings) != 1:
            raise BadEmbeddings("a per-text embedding-response must carry exactly one embedding")
        chunks = _count(payload, "totalChunks", 10_000) if "totalChunks" in payload else 1
        chunk = _count(payload, "chunkIndex", max(chunks, 1)) if "chunkIndex" in payload else 0
        if self.chunks_expected.setdefault(index, chunks) != chunks:
            raise BadEmbeddings(f"text {index}: totalChunks changed between responses")
        self.pieces.setdefault(index, {})[chunk] = _vector(embeddings[0])
        complete = {i: parts for i, parts in self.pieces.items() if len(parts) == self.chunks_expected[i]}
        if len(complete) == self.count:
            self._finish([[x for c in sorted(complete[i]) for x in complete[i][c]] for i in range(self.count)])

    def _finish(self, vectors: list[list[float]]) -> None:
        if len({len(v) for v in vectors}) != 1:
            raise BadEmbeddings("the embeddings do not all have the same dimensions")
        self.vectors = vectors
        self.done.set()


class PeerEmbeddings:
    def __init__(self, messenger: Messenger, discovery: Discovery) -> None:
        self._messenger = messenger
        self._discovery = discovery
        self._pending: dict[str, Collector] = {}
        messenger.add_message_handler("embedding-response", self._on_response)

    async def _on_response(self, message: Message) -> None:
        payload = message.payload if isinstance(message.payload, dict) else {}
        collector = self._pending.get(payload.get("requestId") if isinstance(payload.get("requestId"), str) else "")
        if collector is not None and collector.peer_id == message.from_ and not collector.done.is_set():
            collector.add(payload)

    async def embed(self, texts: Sequence[str], timeout_s: float) -> list[list[float]]:
        """One vector per text, from the best embedding provider that answers (up to 3 are tried, each with an
        equal share of what is left of `timeout_s`). NotFound(NO_PROVIDER_FOUND) without a provider;
        Aborted(AGGREGATOR_FAILED) naming each provider's failure when none answered usably."""
        deadline = time.monotonic() + timeout_s
        providers = await self._discovery.find(EMBEDDING_QUERY)
        if not providers:
            raise NotFound(
                "--similarity peer-embedding: no peer announces a capability of type `embedding`",
                Reason.NO_PROVIDER_FOUND,
                field="--similarity",
            )
        failures: list[str] = []
        tried = providers[:MAX_PROVIDERS_TRIED]
        for index, provider in enumerate(tried):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            try:
                # a silent provider gets its share of the time, not all of it
                return await self._ask(provider.peer_id, list(texts), remaining / (len(tried) - index))
            except (EccoError, BadEmbeddings) as failure:
                failures.append(f"{provider.peer_id}: {failure}")
        raise Aborted(
            "--similarity peer-embedding: no embedding provider answered usably: " + "; ".join(failures or ["no time"]),
            Reason.AGGREGATOR_FAILED,
            field="--similarity",
        )

    async def _ask(self, peer_id: str, texts: list[str], timeout_s: float) -> list[list[float]]:
        request_id = str(uuid.uuid4())
        collector = self._pending[request_id] = Collector(peer_id, len(texts))
        try:
            await self._discovery.reach(peer_id, min(CONNECT_TIMEOUT_S, timeout_s))
            await self._messenger.send(
                peer_id, "embedding-request", {"type": "embedding-request", "requestId": request_id, "texts": texts}
            )
            try:
                await asyncio.wait_for(collector.done.wait(), timeout_s)
            except TimeoutError:
                raise BadEmbeddings(f"no complete answer within {timeout_s:.3g}s") from None
        finally:
            del self._pending[request_id]
        if collector.vectors is None:
            raise BadEmbeddings(collector.error)
        return collector.vectors
