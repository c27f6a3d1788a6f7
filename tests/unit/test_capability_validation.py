"""Capability validation, capabilities files and merging."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ecco.errors import InvalidArgument, Reason
from ecco.services.discovery.capabilities import (
    capability_from_name,
    load_capabilities_file,
    merge_capabilities,
    validate_capability,
)


def test_valid_capability_is_normalised_with_defaults() -> None:
    cap = validate_capability({"name": " review ", "features": ["py", "go"]}, "test")
    assert cap == {"type": "agent", "name": "review", "version": "1.0.0", "metadata": {"features": ["py", "go"]}}


def test_full_capability_keeps_metadata() -> None:
    raw = {"type": "model", "name": "llama", "version": "3.1.0-rc.1+build.5", "metadata": {"ctx": 8192}}
    assert validate_capability(raw, "test") == raw


def test_capability_from_name() -> None:
    assert capability_from_name("search") == {"type": "agent", "name": "search", "version": "1.0.0", "metadata": {}}


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ("review", "JSON object"),
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({"name": 7}, "name"),
        ({"name": "x", "type": ""}, "type"),
        ({"name": "x", "version": "1.0"}, "version"),
        ({"name": "x", "version": "v1.0.0"}, "version"),
        ({"name": "x", "version": 1}, "version"),
        ({"name": "x", "metadata": ["a"]}, "metadata"),
        ({"name": "x", "metadata": "a"}, "metadata"),
        ({"name": "x", "features": "py"}, "features"),
        ({"name": "x", "features": ["py", 3]}, "features"),
        ({"name": "x", "metadata": {"features": [None]}}, "features"),
    ],
)
def test_invalid_capability_is_refused_naming_the_problem(raw: Any, problem: str) -> None:
    with pytest.raises(InvalidArgument) as info:
        validate_capability(raw, "--capability")
    assert info.value.reason == Reason.INVALID_CAPABILITY
    assert info.value.code == "INVALID_ARGUMENT"
    assert problem in info.value.message
    assert info.value.message.startswith("--capability: ")


def test_capabilities_file_loads_a_list(short_tmp: Path) -> None:
    path = short_tmp / "caps.json"
    path.write_text('[{"name": "a"}, {"name": "b", "type": "model", "version": "2.0.0"}]')
    caps = load_capabilities_file(path)
    assert [(c["type"], c["name"], c["version"]) for c in caps] == [("agent", "a", "1.0.0"), ("model", "b", "2.0.0")]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (None, "not found"),
        ('[\n  {"name": "a"},\n  {"name": }\n]\n', "line 3"),
        ('{"name": "a"}', "list"),
    ],
    ids=["missing", "bad-json", "not-a-list"],
)
def test_capabilities_file_problems_name_the_file(short_tmp: Path, content: str | None, expected: str) -> None:
    path = short_tmp / "caps.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(InvalidArgument) as info:
        load_capabilities_file(path)
    assert info.value.reason == Reason.INVALID_CAPABILITY
    assert str(path) in info.value.message
    assert expected in info.value.message


def test_capabilities_file_names_the_bad_entry(short_tmp: Path) -> None:
    path = short_tmp / "caps.json"
    path.write_text('[{"name": "a"}, {"name": "b", "version": "latest"}]')
    with pytest.raises(InvalidArgument) as info:
        load_capabilities_file(path)
    assert "[1]" in info.value.message
    assert "latest" in info.value.message


def test_merge_later_duplicates_replace_earlier_and_order_is_kept() -> None:
    a1 = capability_from_name("a")
    b = capability_from_name("b")
    a2 = validate_capability({"name": "a", "version": "2.0.0"}, "test")
    a_model = validate_capability({"name": "a", "type": "model"}, "test")
    merged = merge_capabilities([a1, b], [a2, a_model])
    assert merged == [a2, b, a_model]


def test_merge_of_nothing_is_empty() -> None:
    assert merge_capabilities() == []
    assert merge_capabilities([], []) == []
