"""Peer-to-peer transport adapters (DESIGN §1, §5): the libp2p adapter, one module per job.

`ecco.services.transport_port` defines the asyncio-facing `Transport` port; this package implements it with
py-libp2p 0.8.1 in a dedicated trio thread, and the envelope signing ports with Ed25519:

- `libp2p`: `Libp2pTransport`, the asyncio-facing facade (checks arguments, crosses into the trio thread);
- `trio_bridge`: `Libp2pThread`, the trio loop in its own thread and the only place asyncio and trio meet;
- `host`: `HostRuntime`, the trio side: host start-up and lifetime, dialing, connection events, ping and peers;
- `direct`: the /ecco/direct/1.0.0 and 1.1.0 protocols (sending, inbound streams and their checks, delivery);
- `framing`: `uvarint(len) || frame` reading and writing on a stream;
- `pubsub`: GossipSub, publish pacing, subscriptions and their dispatch to topic handlers;
- `dht`: capability provider records on the network-scoped Kademlia DHT;
- `mdns`: local-link discovery;
- `addresses`: peer ids and multiaddrs parsed from strings; `failures`: libp2p failures as `ecco.errors`;
- `logs`: quieting libp2p's logging; `keys`: Ed25519 signing and verification of envelopes.

Importing this package does not import libp2p.
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
