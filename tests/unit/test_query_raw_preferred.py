"""`--raw` and `--preferred` combine: the preferred peers join the raw query's own."""

from __future__ import annotations

import json

import pytest

from ecco.api.convert import query_from_pb
from ecco.errors import InvalidArgument
from ecco.v1 import common_pb2

RAW = json.dumps({"requiredCapabilities": [{"name": "translate"}], "preferredPeers": ["peer-a"]})


def test_raw_and_preferred_combine() -> None:
    query = query_from_pb(common_pb2.CapabilityQuery(raw_json=RAW, preferred_peer_ids=["peer-b", "peer-a"]))
    assert query.preferred_peers == ("peer-a", "peer-b")
    assert [r["name"] for r in query.required_capabilities] == ["translate"]


def test_raw_and_a_capability_field_do_not() -> None:
    with pytest.raises(InvalidArgument) as caught:
        query_from_pb(common_pb2.CapabilityQuery(raw_json=RAW, name="translate"))
    assert caught.value.field == "--raw"
