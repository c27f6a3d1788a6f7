"""Embeddings from a peer for --similarity peer-embedding: assembling responses (per text, chunked, all at once),
rejecting bad ones, trying the next provider, and cosine clustering."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from ecco.errors import EccoError, Reason
from ecco.parsing import Similarity
from ecco.services.consensus.embeddings import Collector, PeerEmbeddings
from ecco.services.consensus.similarity import cluster, cosine
from ecco.services.discovery.matching import CapabilityMatch
from ecco.services.envelope import new_message


def test_per_text_and_chunked_responses_are_assembled_in_order() -> None:
    collector = Collector("peer", 2)
    collector.add({"embeddings": [[3.0, 4.0]], "index": 1, "chunkIndex": 1, "totalChunks": 2})
    collector.add({"embeddings": [[1.0]], "index": 0, "total": 2})
    assert not collector.done.is_set()
    collector.add({"embeddings": [[1.0, 2.0]], "index": 1, "chunkIndex": 0, "totalChunks": 2})
    assert collector.vectors is None and collector.error == "the embeddings do not all have the same dimensions"
    whole = Collector("peer", 2)
    whole.add({"embeddings": [[1, 0], [0, 1]]})
    assert whole.vectors == [[1.0, 0.0], [0.0, 1.0]]


@pytest.mark.parametrize(
    ("payload", "error"),
    [
        ({"embeddings": [[1.0]]}, "expected 2 embeddings, got 1"),
        ({"embeddings": [[1.0]], "index": 5}, "index must be an integer from 0 to 1"),
        ({"embeddings": [["x"]], "index": 0}, "finite numbers only"),
        ({"embeddings": [[]], "index": 0}, "non-empty list"),
        ({"vectors": []}, "must carry an `embeddings` list"),
    ],
)
def test_bad_responses_end_the_request_with_the_reason(payload: dict[str, Any], error: str) -> None:
    collector = Collector("peer", 2)
    collector.add(payload)
    assert collector.done.is_set() and error in collector.error


def test_cosine_clusters() -> None:
    assert cosine([1, 0], [1, 0]) == 1.0 and cosine([1, 0], [0, 1]) == 0.0
    texts = ["Paris", "It is Paris", "London"]
    vectors = [[1.0, 0.1], [0.9, 0.2], [0.0, 1.0]]
    assert cluster(texts, Similarity.PEER_EMBEDDING, 0.9, vectors) == [[0, 1], [2]]


class _Messenger:
    """Answers each embedding-request through the listener, as the provider named in `answers` would."""

    def __init__(self, answers: dict[str, list[dict[str, Any]]]) -> None:
        self.answers = answers
        self.listener: Any = None

    def add_message_handler(self, type: str, listener: Any) -> None:
        self.listener = listener

    async def send(self, peer_id: str, type: str, payload: Any, *, message_id: str = "") -> None:
        for reply in self.answers.get(peer_id, []):
            message = new_message(peer_id, "me", "embedding-response", {**reply, "requestId": payload["requestId"]})
            asyncio.get_running_loop().call_soon(asyncio.ensure_future, self.listener(message))


class _Discovery:
    def __init__(self, providers: list[str]) -> None:
        self.providers = providers

    async def find(self, query: Any) -> list[CapabilityMatch]:
        return [CapabilityMatch(p, 1.0, (), (), None) for p in self.providers]  # type: ignore[arg-type]

    async def reach(self, peer_id: str, timeout_s: float) -> None:
        return None


async def test_the_next_provider_is_tried_and_failures_are_named() -> None:
    messenger = _Messenger({"good": [{"embeddings": [[1.0], [2.0]]}], "bad": [{"embeddings": [[1.0]]}]})
    embeddings = PeerEmbeddings(messenger, _Discovery(["bad", "silent", "good"]))  # type: ignore[arg-type]
    assert await embeddings.embed(["a", "b"], 0.6) == [[1.0], [2.0]]  # "silent" gets 0.3 s of the 0.6

    failing = PeerEmbeddings(messenger, _Discovery(["bad"]))  # type: ignore[arg-type]
    with pytest.raises(EccoError) as failure:
        await failing.embed(["a", "b"], 5)
    assert failure.value.reason == Reason.AGGREGATOR_FAILED and "bad: expected 2 embeddings" in failure.value.message

    nobody = PeerEmbeddings(messenger, _Discovery([]))  # type: ignore[arg-type]
    with pytest.raises(EccoError) as failure:
        await nobody.embed(["a"], 5)
    assert (failure.value.reason, failure.value.field) == (Reason.NO_PROVIDER_FOUND, "--similarity")
