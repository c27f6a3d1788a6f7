"""DHT keys for capability provider records, as upstream derives them (upstream §4.1).

A capability key is the CIDv1 (JSON codec) of the sha2-256 of the UTF-8 string `/ecco/capability/<type>/<name>`;
Kademlia indexes provider records by the CID's multihash, so the multihash bytes are what we provide and look up.
A provider announces each capability under two keys, `<type>/<name>` and `<type>/*`, so a query that names only
the type finds every provider of that type. A query without a type looks up `*/<name>`, which no upstream provider
announces; we fill in the default type `agent` instead (our capabilities always carry a type).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ecco.services.discovery.capabilities import DEFAULT_TYPE

_SHA2_256 = 0x12
_CID_V1_JSON_PREFIX = bytes([0x01, 0x80, 0x04])
"""varint(1) (CID version 1), then varint(0x0200) (the multicodec of JSON)."""
WILDCARD = "*"


@dataclass(frozen=True)
class CapabilityKey:
    capability_type: str
    name: str

    @property
    def path(self) -> str:
        return f"/ecco/capability/{self.capability_type}/{self.name}"

    @property
    def multihash(self) -> bytes:
        """The DHT key: sha2-256 multihash of the path."""
        digest = hashlib.sha256(self.path.encode("utf-8")).digest()
        return bytes([_SHA2_256, len(digest)]) + digest

    @property
    def cid(self) -> bytes:
        """The binary CIDv1 (JSON codec) upstream passes to `provide`/`findProviders`."""
        return _CID_V1_JSON_PREFIX + self.multihash


def provided_keys(capabilities: Iterable[Mapping[str, Any]]) -> list[CapabilityKey]:
    """The keys a node with these capabilities provides: `<type>/<name>` and `<type>/*` for each, deduplicated."""
    keys: dict[CapabilityKey, None] = {}
    for capability in capabilities:
        kind = str(capability.get("type") or DEFAULT_TYPE)
        name = capability.get("name")
        if isinstance(name, str) and name:
            keys[CapabilityKey(kind, name)] = None
        keys[CapabilityKey(kind, WILDCARD)] = None
    return list(keys)


def lookup_key(capability: Mapping[str, Any]) -> CapabilityKey:
    """The key that finds providers of one required capability of a query."""
    kind = str(capability.get("type") or DEFAULT_TYPE)
    name = capability.get("name")
    return CapabilityKey(kind, name if isinstance(name, str) and name else WILDCARD)
