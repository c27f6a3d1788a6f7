"""DHT keys for capability provider records: upstream's CIDv1 (JSON codec) over sha2-256 of the capability path."""

from __future__ import annotations

import hashlib

from libp2p.bitswap.cid import compute_cid_v1, parse_cid

from ecco.services.discovery.capability_keys import CapabilityKey, lookup_key, provided_keys


def test_the_cid_is_what_an_independent_cid_library_computes() -> None:
    key = CapabilityKey("agent", "translate")
    path = b"/ecco/capability/agent/translate"
    assert key.cid == compute_cid_v1(path, codec="json")
    assert key.multihash == bytes([0x12, 0x20]) + hashlib.sha256(path).digest()
    assert parse_cid(key.cid).multihash == key.multihash


def test_each_capability_is_provided_under_its_name_and_its_type_wildcard() -> None:
    keys = provided_keys(
        [
            {"type": "agent", "name": "translate"},
            {"type": "agent", "name": "summarize"},
            {"name": "untyped"},
        ]
    )
    assert [k.path for k in keys] == [
        "/ecco/capability/agent/translate",
        "/ecco/capability/agent/*",
        "/ecco/capability/agent/summarize",
        "/ecco/capability/agent/untyped",
    ]


def test_a_query_looks_up_its_name_or_the_wildcard_of_its_type() -> None:
    assert lookup_key({"type": "tool", "name": "grep"}).path == "/ecco/capability/tool/grep"
    assert lookup_key({"type": "tool"}).path == "/ecco/capability/tool/*"
    assert lookup_key({"name": "grep"}).path == "/ecco/capability/agent/grep"
