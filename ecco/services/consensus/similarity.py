"""When two responses give the same answer (upstream-ecco §8.4): exact equality, or text overlap with single-linkage
clustering at a threshold. Pure logic: no I/O.

Text overlap is 1.0 for equal normalised texts (lowercased, whitespace collapsed), else
0.4 x Jaccard(word sets) + 0.6 x cosine(word counts). Words are runs of letters and digits, so "Paris." and
"paris" agree. Ties between equally large clusters are broken with a CSPRNG, as upstream does, so nobody can
predict (and game) which of two equal camps wins.
"""

from __future__ import annotations

import math
import re
import secrets
from collections import Counter
from collections.abc import Sequence
from typing import TypeVar

from ecco.parsing import Similarity

_WORD = re.compile(r"\w+", re.UNICODE)
T = TypeVar("T")


def normalise(text: str) -> str:
    return " ".join(text.lower().split())


def text_overlap(a: str, b: str) -> float:
    left, right = normalise(a), normalise(b)
    if left == right:
        return 1.0
    words_a, words_b = Counter(_WORD.findall(left)), Counter(_WORD.findall(right))
    if not words_a or not words_b:
        return 0.0
    union = words_a.keys() | words_b.keys()
    jaccard = len(words_a.keys() & words_b.keys()) / len(union)
    dot = sum(words_a[w] * words_b[w] for w in union)
    norm = math.sqrt(sum(c * c for c in words_a.values())) * math.sqrt(sum(c * c for c in words_b.values()))
    return 0.4 * jaccard + 0.6 * (dot / norm)


def cosine(a: Sequence[float], b: Sequence[float]) -> float:
    norm = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return sum(x * y for x, y in zip(a, b, strict=True)) / norm if norm else 0.0


def cluster(
    texts: Sequence[str],
    method: Similarity,
    threshold: float,
    vectors: Sequence[Sequence[float]] | None = None,
) -> list[list[int]]:
    """Groups of indexes whose texts agree (union-find over every pair: single linkage), each in input order,
    the groups ordered by their first member. PEER_EMBEDDING compares `vectors` (one per text) by cosine."""

    def similar(i: int, j: int) -> bool:
        if method == Similarity.EXACT:
            return texts[i] == texts[j]
        if method == Similarity.PEER_EMBEDDING:
            assert vectors is not None, "peer-embedding similarity needs the embeddings"
            return normalise(texts[i]) == normalise(texts[j]) or cosine(vectors[i], vectors[j]) >= threshold
        return text_overlap(texts[i], texts[j]) >= threshold

    parent = list(range(len(texts)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i in range(len(texts)):
        for j in range(i + 1, len(texts)):
            if root(i) != root(j) and similar(i, j):
                parent[max(root(i), root(j))] = min(root(i), root(j))
    groups: dict[int, list[int]] = {}
    for i in range(len(texts)):
        groups.setdefault(root(i), []).append(i)
    return list(groups.values())


def largest(groups: Sequence[Sequence[T]]) -> Sequence[T]:
    """The largest group; a tie between several is broken at random (CSPRNG)."""
    size = max(len(g) for g in groups)
    return secrets.choice([g for g in groups if len(g) == size])
