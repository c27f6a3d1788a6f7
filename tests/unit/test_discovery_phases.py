"""Phased-discovery options (upstream-ecco §7.3): phase names, defaults and flag validation."""

from __future__ import annotations

from typing import Any

import pytest

from ecco.errors import InvalidArgument, Reason
from ecco.parsing import (
    DEFAULT_PHASES,
    DiscoveryOptions,
    DiscoveryPhase,
    parse_bool,
    parse_phases,
)

P = DiscoveryPhase


def test_default_order() -> None:
    assert DEFAULT_PHASES == (P.PROXIMITY, P.LOCAL, P.INTERNET, P.FALLBACK)
    assert [str(p) for p in DEFAULT_PHASES] == ["proximity", "local", "internet", "fallback"]


@pytest.mark.parametrize("given", [None, "", "  ", " , ", []])
def test_nothing_given_means_the_default_order(given: Any) -> None:
    assert parse_phases(given) == DEFAULT_PHASES


@pytest.mark.parametrize(
    ("given", "phases"),
    [
        ("local,internet", (P.LOCAL, P.INTERNET)),
        ("fallback", (P.FALLBACK,)),
        (" Internet , LOCAL ", (P.INTERNET, P.LOCAL)),
        ("local,internet,local", (P.LOCAL, P.INTERNET)),  # a repeat runs once, where it first appears
        (["local", "fallback,proximity"], (P.LOCAL, P.FALLBACK, P.PROXIMITY)),
    ],
)
def test_parse_phases_keeps_the_given_order(given: Any, phases: tuple[DiscoveryPhase, ...]) -> None:
    assert parse_phases(given) == phases


@pytest.mark.parametrize(("given", "shown"), [("bluetooth", "'bluetooth'"), ("local,,internet", "an empty name")])
def test_unknown_phase_is_refused(given: str, shown: str) -> None:
    with pytest.raises(InvalidArgument) as info:
        parse_phases(given)
    assert info.value.reason == Reason.UNKNOWN_DISCOVERY_PHASE
    assert info.value.field == "--phases"
    assert info.value.code == "INVALID_ARGUMENT"
    assert shown in info.value.message
    assert "proximity, local, internet, fallback" in info.value.message


def test_defaults() -> None:
    options = DiscoveryOptions.from_flags()
    assert options == DiscoveryOptions()
    assert (options.phases, options.phase_timeout_ms, options.min_peers, options.prefer_proximity) == (
        DEFAULT_PHASES,
        5000,
        1,
        True,
    )


def test_flags() -> None:
    options = DiscoveryOptions.from_flags("internet", phase_timeout_ms=250, min_peers=3, prefer_proximity="false")
    assert options == DiscoveryOptions((P.INTERNET,), 250, 3, False)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"phase_timeout_ms": 0}, "--phase-timeout"),
        ({"phase_timeout_ms": -5}, "--phase-timeout"),
        ({"phase_timeout_ms": 1.5}, "--phase-timeout"),
        ({"min_peers": 0}, "--min-peers"),
        ({"min_peers": -1}, "--min-peers"),
        ({"min_peers": True}, "--min-peers"),
        ({"prefer_proximity": "maybe"}, "--prefer-proximity"),
    ],
)
def test_bad_options_name_the_flag(kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidArgument) as info:
        DiscoveryOptions.from_flags(**kwargs)
    assert info.value.reason == Reason.INVALID_ARGUMENT
    assert info.value.field == field
    assert info.value.message.startswith(f"{field}: ")


@pytest.mark.parametrize(
    ("text", "value"), [("true", True), ("FALSE", False), (" yes ", True), ("0", False), (True, True), (False, False)]
)
def test_parse_bool(text: Any, value: bool) -> None:
    assert parse_bool(text, "--x") is value


def test_discovery_stops_once_min_peers_match() -> None:
    options = DiscoveryOptions(min_peers=2)
    assert not options.enough(0)
    assert not options.enough(1)
    assert options.enough(2)
    assert options.enough(3)
