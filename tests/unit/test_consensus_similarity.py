"""Text-overlap similarity and single-linkage clustering (upstream-ecco §8.4)."""

from __future__ import annotations

import pytest

from ecco.parsing import Similarity
from ecco.services.consensus.similarity import cluster, largest, normalise, text_overlap


def test_equal_after_normalising_is_one() -> None:
    assert normalise("  Paris \n is\tNICE ") == "paris is nice"
    assert text_overlap("Paris is nice", "paris   is NICE\n") == 1.0


def test_overlap_is_jaccard_and_cosine_weighted() -> None:
    # words {the, capital, is, paris} vs {paris}: jaccard 1/4, cosine 1/2
    assert text_overlap("The capital is Paris.", "Paris") == pytest.approx(0.4 * 0.25 + 0.6 * 0.5)
    assert text_overlap("Paris", "London") == 0.0
    assert text_overlap("", "Paris") == 0.0


def test_single_linkage_joins_chains_at_the_threshold() -> None:
    texts = ["a b c d", "a b c e", "a b f e", "x y z"]
    # neighbours overlap 0.4*3/5 + 0.6*3/4 = 0.69; the ends of the chain only 0.4*2/6 + 0.6*2/4 = 0.43
    assert cluster(texts, Similarity.TEXT_OVERLAP, 0.65) == [[0, 1, 2], [3]]
    assert cluster(texts, Similarity.TEXT_OVERLAP, 0.75) == [[0], [1], [2], [3]]
    assert cluster(["Paris", "Paris", "paris"], Similarity.EXACT, 0.0) == [[0, 1], [2]]


def test_largest_breaks_ties_at_random() -> None:
    assert largest([[1], [2, 3], [4]]) == [2, 3]
    seen = {tuple(largest([[1], [2]])) for _ in range(200)}
    assert seen == {(1,), (2,)}
