"""When two responses give the same answer (upstream-ecco §8.4, extended): exact equality, text overlap, the
answers' content, or peer embeddings; single-linkage clustering at a threshold; the cluster's representative is
its medoid. Pure logic: no I/O.

Text overlap (upstream) is 1.0 for equal normalised texts (lowercased, whitespace collapsed), else
0.4 x Jaccard(word sets) + 0.6 x cosine(word counts). It merges a question echoed back with its answers ("What is
the capital of France?" shares most words with "The capital of France is Paris") and different answers phrased
alike ("The Sun is bigger than the Earth" / "The Earth is bigger than the Sun").

Content (the default) compares what an answer adds to the prompt, not its wording:
- words of the prompt and function words are dropped, so an echoed prompt has no content and agrees with nothing
  but an identical text, and "The capital of France is Paris" reduces to {paris};
- numbers are values ("1,000", "1000", "one thousand" and "1 k" are equal; "8 billion" is 8e9) with the unit that
  follows them (km/kilometres, °C/degrees Celsius, ...): answers whose numbers (or units) differ never agree;
- a yes/no question's answers carry a polarity (a leading yes/no, or a negation), and opposite polarities never
  agree; elsewhere a word after "not"/"never" is negated ("Lyon, not Paris" does not contain "paris");
- word order is ignored, so lists in another order agree; otherwise the score is the share of the shorter
  answer's content found in the longer one (a short "Mars" agrees with a long explanation about Mars), lowered by
  half the Dice disagreement so that two answers sharing one of several words do not agree.

Ties between equally large clusters are broken with a CSPRNG, as upstream does, so nobody can predict (and game)
which of two equal camps wins.
"""

from __future__ import annotations

import math
import re
import secrets
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
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


# ---------------------------------------------------------------------------------------------------------------------
# content similarity
# ---------------------------------------------------------------------------------------------------------------------

_TOKEN = re.compile(r"\d+(?:[.,]\d+)*|°\s?[cf]\b|%|\$|[^\W\d_]+(?:'[^\W\d_]+)?", re.UNICODE)
_STOP = frozenset(
    """a an the is are was were be been being am of in on at to for from by with and or but as it its it's this
    that these those there here which who whom whose what when where why how do does did done doing has have had
    having i you he she we they me him her us them my your his our their so than then also just only about
    around roughly approximately nearly almost some any each known s because since very much many more most
    answer per think would could should can will may might must shall into over under called if while both
    either""".split()  # noqa: SIM905
)
_EXCLUSIVE = frozenset({"only", "solely", "just"})
_YES = frozenset({"yes", "yeah", "yep", "correct", "true", "indeed", "absolutely", "certainly", "sure"})
_NO = frozenset({"no", "nope", "false", "incorrect"})
_NEGATIONS = frozenset({"not", "never", "cannot", "isn't", "aren't", "doesn't", "don't", "can't", "won't", "wasn't"})
_YES_NO_OPENERS = frozenset(
    "is are was were do does did can could will would should shall has have had may might must am".split()  # noqa: SIM905
)
_NUMBER_WORDS = {
    w: i
    for i, w in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "  # noqa: SIM905
        "seventeen eighteen nineteen twenty".split()
    )
}
_SCALES = {"hundred": 1e2, "thousand": 1e3, "k": 1e3, "million": 1e6, "billion": 1e9, "trillion": 1e12}
_UNITS = {
    **dict.fromkeys(["km", "kilometer", "kilometers", "kilometre", "kilometres"], "km"),
    **dict.fromkeys(["m", "meter", "meters", "metre", "metres"], "m"),
    **dict.fromkeys(["cm", "centimeter", "centimeters", "centimetre", "centimetres"], "cm"),
    **dict.fromkeys(["mi", "mile", "miles"], "mi"),
    **dict.fromkeys(["kg", "kilogram", "kilograms", "kilo", "kilos"], "kg"),
    **dict.fromkeys(["g", "gram", "grams"], "g"),
    **dict.fromkeys(["lb", "lbs", "pound", "pounds"], "lb"),
    **dict.fromkeys(["°c", "° c", "celsius", "c"], "°c"),
    **dict.fromkeys(["°f", "° f", "fahrenheit", "f"], "°f"),
    **dict.fromkeys(["%", "percent", "per cent"], "%"),
    **dict.fromkeys(["$", "usd", "dollar", "dollars"], "usd"),
    **dict.fromkeys(["s", "sec", "second", "seconds"], "s"),
    **dict.fromkeys(["min", "minute", "minutes"], "min"),
    **dict.fromkeys(["h", "hr", "hrs", "hour", "hours"], "h"),
    **dict.fromkeys(["byte", "bytes"], "byte"),
}
_UNIT_FILLERS = frozenset({"degrees", "degree", "per", "a", "in"})


@dataclass(frozen=True)
class Content:
    """What an answer says beyond its prompt."""

    words: frozenset[str]
    numbers: frozenset[tuple[float, str]]
    """(value, unit) pairs; the unit is "" when none follows the number."""
    polarity: str
    """"yes", "no" or "" (not a yes/no question, or no polarity found)."""
    exclusive: bool = False
    """It says "only": another answer must say the same, not more."""


def _stem(word: str) -> str:
    word = word.removesuffix("'s")
    for suffix, keep in (("ies", "y"), ("es", ""), ("s", "")):
        if len(word) > 4 and word.endswith(suffix) and not word.endswith("ss"):
            return word[: -len(suffix)] + keep
    return word


def _number(token: str) -> float | None:
    if token in _NUMBER_WORDS:
        return float(_NUMBER_WORDS[token])
    if not token[0].isdigit():
        return None
    if re.fullmatch(r"\d{1,3}(,\d{3})+(\.\d+)?", token):
        token = token.replace(",", "")
    try:
        return float(token.replace(",", "."))
    except ValueError:
        return None


def _unit_after(tokens: Sequence[str], index: int) -> tuple[str, int]:
    """The unit that follows tokens[index] (skipping "degrees", "per" ...), and the index after it."""
    j = index + 1
    while j < len(tokens) and tokens[j] in _UNIT_FILLERS and tokens[j] not in _UNITS:
        j += 1
    if j < len(tokens) and tokens[j] in _UNITS:
        return _UNITS[tokens[j]], j + 1
    return "", index + 1


def content(text: str, prompt: str = "") -> Content:
    tokens = [t.replace(" ", "") for t in _TOKEN.findall(text.lower())]
    prompt_tokens = {_stem(t) for t in _TOKEN.findall(prompt.lower())}
    prompt_numbers = {_number(t) for t in prompt_tokens} - {None}
    yes_no = bool(prompt_tokens) and (_TOKEN.findall(prompt.lower()) or [""])[0] in _YES_NO_OPENERS
    words: set[str] = set()
    numbers: set[tuple[float, str]] = set()
    polarity = ""
    negate = 0
    exclusive = False
    i = 0
    while i < len(tokens):
        token = tokens[i]
        value = _number(token)
        if value is not None and (token != "one" or i + 1 == len(tokens) or tokens[i + 1] in _UNITS | _SCALES):
            if i + 1 < len(tokens) and tokens[i + 1] in _SCALES:
                value *= _SCALES[tokens[i + 1]]
                i += 1
            unit, i = _unit_after(tokens, i)
            if value not in prompt_numbers:
                numbers.add((round(value, 6), unit))
            continue
        if token in _EXCLUSIVE:
            exclusive = True
        elif token in _YES or token in _NO:
            polarity = polarity or ("yes" if token in _YES else "no")
        elif token in _NEGATIONS or token.endswith("n't"):
            negate = 2
            polarity = polarity or "no"
        elif token not in _STOP and _stem(token) not in prompt_tokens and token not in _UNITS:
            words.add(("not " if negate else "") + _stem(token))
        negate = max(0, negate - 1)
        i += 1
    if yes_no and not polarity and (words or numbers or tokens):
        polarity = "yes"  # restating the question's claim without a negation affirms it
    if not yes_no:
        polarity = ""
    return Content(frozenset(words), frozenset(numbers), polarity, exclusive)


def content_similarity(a: Content, b: Content) -> float:
    if a.polarity and b.polarity and a.polarity != b.polarity:
        return 0.0
    if a.numbers and b.numbers and not _same_numbers(a.numbers, b.numbers):
        return 0.0
    if a.polarity and a.polarity == b.polarity and (not a.words or not b.words):
        return 1.0  # "Yes." and "Yes, whales are mammals."
    if not a.words or not b.words:
        # only numbers (or nothing) beyond the prompt: agree when the numbers agree
        return 1.0 if a.numbers and b.numbers else 0.0
    shared = len(a.words & b.words)
    containment = shared / min(len(a.words), len(b.words))
    dice = 2 * shared / (len(a.words) + len(b.words))
    if a.exclusive or b.exclusive:
        return dice
    return containment - (1 - dice) * 0.5 * (1 - containment) if containment < 1 else containment


def _same_numbers(a: frozenset[tuple[float, str]], b: frozenset[tuple[float, str]]) -> bool:
    """The same values, each with the same unit where both name one ("1 kg" and "one kilogram", not "1 lb")."""
    if {v for v, _ in a} != {v for v, _ in b}:
        return False
    return all(any(v == value and (not unit or not u or unit == u) for v, u in b) for value, unit in a)


def cosine(a: Sequence[float], b: Sequence[float]) -> float:
    norm = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return sum(x * y for x, y in zip(a, b, strict=True)) / norm if norm else 0.0


def similarity_function(
    texts: Sequence[str], method: Similarity, prompt: str = "", vectors: Sequence[Sequence[float]] | None = None
) -> Callable[[int, int], float]:
    """score(i, j) from 0 to 1 for two of `texts` under `method` (EXACT: 1 or 0)."""
    if method == Similarity.EXACT:
        return lambda i, j: 1.0 if texts[i] == texts[j] else 0.0
    normalised = [normalise(t) for t in texts]
    if method == Similarity.PEER_EMBEDDING:
        assert vectors is not None or len(texts) < 2, "peer-embedding similarity needs the embeddings"
        return lambda i, j: 1.0 if normalised[i] == normalised[j] else cosine(vectors[i], vectors[j])  # type: ignore[index]
    if method == Similarity.CONTENT:
        contents = [content(t, prompt) for t in texts]
        words = [_WORD.findall(t) for t in normalised]  # punctuation aside, the same words in the same order
        return lambda i, j: 1.0 if words[i] == words[j] else content_similarity(contents[i], contents[j])
    return lambda i, j: text_overlap(texts[i], texts[j])


def cluster(
    texts: Sequence[str],
    method: Similarity,
    threshold: float,
    vectors: Sequence[Sequence[float]] | None = None,
    prompt: str = "",
) -> list[list[int]]:
    """Groups of indexes whose texts agree (union-find over every pair: single linkage), each in input order,
    the groups ordered by their first member. PEER_EMBEDDING compares `vectors` (one per text) by cosine; CONTENT
    compares what each text says beyond `prompt`."""
    score = similarity_function(texts, method, prompt, vectors)
    parent = list(range(len(texts)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i in range(len(texts)):
        for j in range(i + 1, len(texts)):
            if root(i) != root(j) and score(i, j) >= (1.0 if method == Similarity.EXACT else threshold):
                parent[max(root(i), root(j))] = min(root(i), root(j))
    groups: dict[int, list[int]] = {}
    for i in range(len(texts)):
        groups.setdefault(root(i), []).append(i)
    return list(groups.values())


def medoid(
    texts: Sequence[str],
    group: Sequence[int],
    method: Similarity,
    vectors: Sequence[Sequence[float]] | None = None,
    prompt: str = "",
) -> int:
    """The group's most representative member: the one with the highest summed similarity to the others, so
    neither the first arrival nor an outlier chained in by single linkage speaks for the group. Ties go to the
    shortest text (it says nothing the others do not: content similarity scores a short answer found in a longer
    one as fully agreeing), then to the earliest."""
    if len(group) == 1:
        return group[0]
    score = similarity_function(texts, method, prompt, vectors)
    return max(group, key=lambda i: (round(sum(score(i, j) for j in group if j != i), 9), -len(texts[i]), -i))


def says_something(text: str, prompt: str) -> bool:
    """Whether a text says anything beyond the prompt (content similarity): an echoed prompt does not."""
    found = content(text, prompt)
    return bool(found.words or found.numbers or found.polarity)


def leaders(
    texts: Sequence[str], groups: Sequence[Sequence[int]], method: Similarity, prompt: str = ""
) -> list[Sequence[int]]:
    """The largest groups (several when tied). With content similarity a group whose first member only echoes
    the prompt never leads while another group says something."""
    pool = list(groups)
    if method == Similarity.CONTENT:
        pool = [g for g in groups if says_something(texts[g[0]], prompt)] or pool
    size = max(len(g) for g in pool)
    return [g for g in pool if len(g) == size]


def largest(groups: Sequence[Sequence[T]]) -> Sequence[T]:
    """The largest group; a tie between several is broken at random (CSPRNG)."""
    size = max(len(g) for g in groups)
    return secrets.choice([g for g in groups if len(g) == size])
