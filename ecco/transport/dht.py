"""Capability provider records on a network-scoped Kademlia DHT (upstream §4.1, libp2p-notes §5.8).

Upstream nodes speak Kademlia as `/ecco/kad/1.0.0/<networkId>`, so testnet and mainnet DHTs never mix. py-libp2p
0.8.1's `KadDHT` hard-codes `/ipfs/kad/1.0.0`: each of its modules imported the constant by value, and its
`protocol_prefix` argument only changes validation rules. `scope_protocol` rebinds that constant in every module
that reads it. It is process-wide, which fits the daemon (one node, one network per process); asking for a second
network in the same process is refused rather than silently mixing the two.

Everything here runs in the transport's trio thread. The DHT's routing table is filled from our own connections
(py-libp2p does not do it by itself), and `find_providers` answers are deduplicated by peer id (0.8.1 returns the
same provider several times).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from types import ModuleType

from libp2p.abc import IHost
from libp2p.custom_types import TProtocol
from libp2p.kad_dht import common, kad_dht, peer_routing, provider_store, value_store
from libp2p.kad_dht.kad_dht import DHTMode, KadDHT
from libp2p.peer.id import ID

from ecco.services.transport_port import ProviderRecord

log = logging.getLogger(__name__)

_MODULES_READING_PROTOCOL_ID: tuple[ModuleType, ...] = (common, kad_dht, peer_routing, provider_store, value_store)
_UPSTREAM_DEFAULT = TProtocol("/ipfs/kad/1.0.0")
MAX_PROVIDERS = 100
"""Upstream's `findProviders` limit without a reputation scorer."""


def kad_protocol(network_id: str) -> str:
    return f"/ecco/kad/1.0.0/{network_id}"


def scope_protocol(network_id: str) -> TProtocol:
    """Make py-libp2p's Kademlia speak (and serve) the network's protocol id; idempotent for the same network."""
    wanted = TProtocol(kad_protocol(network_id))
    current = common.PROTOCOL_ID
    if current not in (_UPSTREAM_DEFAULT, wanted):
        raise RuntimeError(f"this process already runs the DHT as {current}; one network per process")
    for module in _MODULES_READING_PROTOCOL_ID:
        module.PROTOCOL_ID = wanted  # type: ignore[attr-defined]
    return wanted


class CapabilityDht:
    """A server-mode KadDHT whose routing table follows our connections."""

    def __init__(self, host: IHost, network_id: str) -> None:
        self.protocol = scope_protocol(network_id)
        self._dht = KadDHT(host, DHTMode.SERVER)
        self._host = host

    @property
    def service(self) -> KadDHT:
        """Run it with `background_trio_service`."""
        return self._dht

    async def peer_connected(self, peer: ID) -> None:
        """Every ecco node serves the DHT, so a connected peer joins the routing table at once (identify may not
        have told us its protocols yet, hence no server-mode check)."""
        await self._dht.add_peer(peer, skip_server_mode_check=True)

    def peer_disconnected(self, peer: ID) -> None:
        self._dht.routing_table.remove_peer(peer)

    async def provide(self, keys: Sequence[bytes]) -> int:
        """Announce ourselves as provider of each key to the closest peers; returns how many keys reached at least
        one peer (a key nobody else stored still sits in our own provider store and is answered from there)."""
        reached = 0
        for key in keys:
            if await self._dht.provider_store.provide(key):
                reached += 1
        return reached

    async def find_providers(self, key: bytes, limit: int) -> list[ProviderRecord]:
        own = self._host.get_id()
        found: dict[str, ProviderRecord] = {}
        for info in await self._dht.provider_store.find_providers(key, min(limit, MAX_PROVIDERS)):
            if info.peer_id == own:
                continue
            record = found.get(info.peer_id.to_base58())
            addrs = tuple(dict.fromkeys([*(record.addrs if record else ()), *(str(a) for a in info.addrs)]))
            found[info.peer_id.to_base58()] = ProviderRecord(info.peer_id.to_base58(), addrs)
            if info.addrs:  # so a later send can dial the provider
                self._host.get_peerstore().add_addrs(info.peer_id, info.addrs, common.DEFAULT_TTL)
        return list(found.values())[:limit]
