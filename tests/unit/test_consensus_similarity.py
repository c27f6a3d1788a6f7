"""Text-overlap similarity and single-linkage clustering (upstream-ecco §8.4)."""

from __future__ import annotations

import pytest

from ecco.parsing import Similarity
from ecco.services.consensus.similarity import cluster, largest, medoid, normalise, says_something, text_overlap


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


PROMPT = "What is the capital of France?"
ISSUE_ANSWERS = [
    PROMPT,  # an agent echoing the question, first to arrive
    "The capital of France is Paris.",
    "Paris, of course.",
    "Lyon is often called the gastronomic capital of France, and many visitors mistake it for the capital.",
]


def test_content_keeps_an_echoed_prompt_apart_from_its_answers() -> None:
    groups = cluster(ISSUE_ANSWERS, Similarity.CONTENT, 0.9, prompt=PROMPT)
    assert groups == [[0], [1, 2], [3]]
    assert not says_something(PROMPT, PROMPT)
    # text overlap (upstream) puts the echo with the Paris answer
    assert cluster(ISSUE_ANSWERS, Similarity.TEXT_OVERLAP, 0.75)[0] == [0, 1]


def test_content_tells_numbers_units_and_yes_no_apart() -> None:
    same = lambda a, b, prompt="": cluster([a, b], Similarity.CONTENT, 0.9, prompt=prompt) == [[0, 1]]  # noqa: E731
    assert same("About 384,400 km.", "384400 kilometres on average.")
    assert not same("About 384,400 km.", "About 384,400 miles.")
    assert same("1 kg", "One kilogram.")
    assert not same("The Sun has 8 planets", "The Sun has 9 planets")
    assert same("Yes.", "Yes, whales are mammals.", "Are whales mammals?")
    assert not same("No, penguins cannot fly.", "Yes, penguins can fly.", "Can penguins fly?")
    assert same("Red, blue, yellow", "Yellow, red and blue.")


def test_the_medoid_speaks_for_a_cluster_not_the_first_arrival() -> None:
    texts = ["Paris, which some call Lutetia", "Paris", "It is Paris.", "paris!"]
    assert medoid(texts, [0, 1, 2, 3], Similarity.CONTENT, prompt=PROMPT) == 1
