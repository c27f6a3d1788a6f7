"""Capability provider records on the network-scoped Kademlia DHT, between real libp2p hosts on 127.0.0.1."""

from __future__ import annotations

import asyncio
import itertools

import pytest

from ecco.errors import Unavailable
from ecco.services.discovery.capability_keys import CapabilityKey, provided_keys
from ecco.transport.dht import kad_protocol, scope_protocol
from tests.transport.conftest import WAIT, Factory

NETWORK = "ecco-testnet"
TRANSLATE = CapabilityKey("agent", "translate")


async def _line(make_transport: Factory, count: int):
    """`count` DHT nodes in a line: each connected only to the previous one."""
    nodes = [await make_transport(network_id=NETWORK) for _ in range(count)]
    for left, right in itertools.pairwise(nodes):
        await right.connect(left.listen_addrs()[0])
    return nodes


async def test_a_provider_is_found_through_a_peer_that_stores_its_record(make_transport: Factory) -> None:
    provider, _middle, seeker = await _line(make_transport, 3)
    keys = [k.multihash for k in provided_keys([{"type": "agent", "name": "translate"}])]
    assert await provider.provide(keys, timeout=WAIT) == len(keys)  # both keys reached the middle node

    found = await seeker.find_providers(TRANSLATE.multihash, limit=10, timeout=WAIT)

    assert [r.peer_id for r in found] == [provider.peer_id]
    assert any(addr.startswith("/ip4/127.0.0.1/tcp/") for addr in found[0].addrs)
    by_type = await seeker.find_providers(CapabilityKey("agent", "*").multihash, limit=10, timeout=WAIT)
    assert [r.peer_id for r in by_type] == [provider.peer_id]
    await seeker.send(provider.peer_id, b"{}", timeout=WAIT)  # the record's addresses make the provider dialable


async def test_an_unprovided_key_finds_nobody_and_returns_within_the_timeout(make_transport: Factory) -> None:
    _, seeker = await _line(make_transport, 2)
    found = await asyncio.wait_for(
        seeker.find_providers(CapabilityKey("agent", "nobody").multihash, limit=5, timeout=2), WAIT
    )
    assert found == []


async def test_the_dht_speaks_the_network_scoped_protocol(make_transport: Factory) -> None:
    node = await make_transport(network_id=NETWORK)
    other = await make_transport(network_id=NETWORK)
    await other.connect(node.listen_addrs()[0])
    assert kad_protocol(NETWORK) == "/ecco/kad/1.0.0/ecco-testnet"
    with pytest.raises(RuntimeError, match="one network per process"):
        scope_protocol("ecco-mainnet")
    assert await other.find_providers(TRANSLATE.multihash, limit=1, timeout=2) == []


async def test_without_a_network_id_there_is_no_dht(make_transport: Factory) -> None:
    node = await make_transport()
    assert not node.has_dht
    with pytest.raises(Unavailable):
        await node.find_providers(TRANSLATE.multihash, limit=1, timeout=1)
