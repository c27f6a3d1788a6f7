"""Finding agents: the capabilities a node announces, the signed capability events on gossip, the matcher,
phased discovery, DHT provider keys, and reputation (local book, tiers, ranking, bloom-filter gossip).

Owns `service` (Discovery), `announcements`, `capabilities`, `capability_keys`, `matching`,
`reputation`, `reputation_book`, `reputation_gossip` and `bloom`. Uses the Transport and ProviderRouting ports
(`ecco.services.transport_port`), the signing ports, the ReputationPort (`ecco.services.ports`), messaging and the
event log.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ecco.services.exports import lazy_exports

if TYPE_CHECKING:
    from ecco.services.discovery.capabilities import capability_from_name as capability_from_name
    from ecco.services.discovery.capabilities import load_capabilities_file as load_capabilities_file
    from ecco.services.discovery.capabilities import merge_capabilities as merge_capabilities
    from ecco.services.discovery.capabilities import validate_capability as validate_capability
    from ecco.services.discovery.matching import CapabilityMatch as CapabilityMatch
    from ecco.services.discovery.matching import CapabilityQuery as CapabilityQuery
    from ecco.services.discovery.reputation import LocalReputation as LocalReputation
    from ecco.services.discovery.reputation_book import ReputationBook as ReputationBook
    from ecco.services.discovery.reputation_book import ScoredReputation as ScoredReputation
    from ecco.services.discovery.service import CONNECT_TIMEOUT_S as CONNECT_TIMEOUT_S
    from ecco.services.discovery.service import DiscoveredPeer as DiscoveredPeer
    from ecco.services.discovery.service import Discovery as Discovery
    from ecco.services.discovery.service import DiscoveryResult as DiscoveryResult
    from ecco.services.discovery.service import PhaseProgress as PhaseProgress
    from ecco.services.discovery.service import PhaseState as PhaseState

__getattr__, __all__ = lazy_exports(
    __name__,
    {
        "capabilities": ["capability_from_name", "load_capabilities_file", "merge_capabilities", "validate_capability"],
        "matching": ["CapabilityMatch", "CapabilityQuery"],
        "reputation": ["LocalReputation"],
        "reputation_book": ["ReputationBook", "ScoredReputation"],
        "service": [
            "CONNECT_TIMEOUT_S",
            "DiscoveredPeer",
            "Discovery",
            "DiscoveryResult",
            "PhaseProgress",
            "PhaseState",
        ],
    },
)
