"""Peer-to-peer transport adapters (DESIGN §1, §5).

`ecco.services.transport_port` defines the asyncio-facing `Transport` port; `ecco.transport.libp2p_host.Libp2pTransport`
implements it with py-libp2p in a dedicated trio thread (`ecco.transport.libp2p_bridge`); `ecco.transport.keys`
implements the envelope signing ports with Ed25519. Importing this package does not import libp2p.
"""

from ecco.services.transport_port import (
    DIRECT_PROTOCOL_V10,
    DIRECT_PROTOCOL_V11,
    MAX_FRAME_BYTES,
    ConnectedPeer,
    ConnectionHandler,
    FrameHandler,
    Transport,
)

__all__ = [
    "DIRECT_PROTOCOL_V10",
    "DIRECT_PROTOCOL_V11",
    "MAX_FRAME_BYTES",
    "ConnectedPeer",
    "ConnectionHandler",
    "FrameHandler",
    "Transport",
]
