"""What the node knows about itself, for status reports and shutdown."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from ecco.services.bridge import BridgeMonitor
from ecco.services.consensus import Consensus
from ecco.services.crypto_ports import Verifier
from ecco.services.discovery import Discovery, ReputationBook
from ecco.services.events import EventLog
from ecco.services.messaging import Messenger
from ecco.services.payments import Agreements, Payments, Registry


async def _no_peers() -> int:
    return 0


@dataclass
class NodeRuntime:
    """Facts the daemon fills in at start-up; servicers read them, `request_stop` ends the daemon."""

    name: str
    peer_id: str
    network: str
    pid: int
    version: str
    state_dir: str
    api_socket: str
    start_time_ms: int
    capabilities: list[dict[str, Any]]
    events: EventLog
    config_json: str
    config_sources: dict[str, str]
    request_stop: Callable[[], None]
    api_tcp_address: str = ""
    listen_addresses: Callable[[], list[str]] = field(default=lambda: [])
    connected_peers: Callable[[], Awaitable[int]] = field(default=_no_peers)
    # Set once the node speaks to other nodes; without it MessagingService answers UNIMPLEMENTED.
    messenger: Messenger | None = None
    # Set once capability discovery runs; without it DiscoveryService answers UNIMPLEMENTED.
    discovery: Discovery | None = None
    # The local reputation book; without it GetReputation/ListReputation answer UNIMPLEMENTED.
    reputation: ReputationBook | None = None
    # Set once consensus runs (it needs messaging and discovery); without it ConsensusService answers UNIMPLEMENTED.
    consensus: Consensus | None = None
    # Checks Ed25519 signatures (consensus receipts); set together with consensus.
    verifier: Verifier | None = None
    # Set once payments are wired (they need the messenger); without them PaymentService answers UNIMPLEMENTED.
    payments: Payments | None = None
    agreements: Agreements | None = None
    # The ERC-8004 registration; without it RegistryService answers UNIMPLEMENTED.
    registry: Registry | None = None
    # The webhook bridge's records; without it BridgeService answers UNIMPLEMENTED.
    bridge: BridgeMonitor | None = None
