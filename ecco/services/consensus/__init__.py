"""Multi-agent consensus: choose agents, ask them all, cluster their answers by similarity, aggregate, and
sign a receipt that anyone can verify offline.

Owns `service` (Consensus), `options`, `selection`, `similarity`, `embeddings`, `aggregation` and `receipt`.
Uses discovery (candidates), messaging (requests and responders), the event log and the signing ports.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ecco.services.exports import lazy_exports

if TYPE_CHECKING:
    from ecco.services.consensus.aggregation import AgentAnswer as AgentAnswer
    from ecco.services.consensus.aggregation import AgentStatus as AgentStatus
    from ecco.services.consensus.embeddings import PeerEmbeddings as PeerEmbeddings
    from ecco.services.consensus.options import ConsensusOptions as ConsensusOptions
    from ecco.services.consensus.receipt import Verification as Verification
    from ecco.services.consensus.receipt import verify_receipt as verify_receipt
    from ecco.services.consensus.service import Consensus as Consensus
    from ecco.services.consensus.service import ConsensusEvent as ConsensusEvent
    from ecco.services.consensus.service import ConsensusOutcome as ConsensusOutcome
    from ecco.services.consensus.service import Selected as Selected

__getattr__, __all__ = lazy_exports(
    __name__,
    {
        "aggregation": ["AgentAnswer", "AgentStatus"],
        "embeddings": ["PeerEmbeddings"],
        "options": ["ConsensusOptions"],
        "receipt": ["Verification", "verify_receipt"],
        "service": ["Consensus", "ConsensusEvent", "ConsensusOutcome", "Selected"],
    },
)
