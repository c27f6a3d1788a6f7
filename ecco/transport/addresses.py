"""Peer ids and multiaddrs from their string forms, checked (pure; usable from either thread).

The port speaks in strings; these turn them into libp2p values, or into `InvalidArgument` errors with the reason a
client can act on, before anything reaches the libp2p thread.
"""

from __future__ import annotations

import multiaddr
from libp2p.peer.id import ID
from libp2p.peer.peerinfo import info_from_p2p_addr

from ecco.errors import InvalidArgument, Reason


def parse_peer_id(text: str) -> ID:
    """A libp2p peer id from its string form. Raises InvalidArgument(INVALID_PEER_ID)."""
    bad = InvalidArgument(f"not a valid libp2p peer id: {text!r}", Reason.INVALID_PEER_ID, field="peer_id")
    if not isinstance(text, str) or not text or len(text) > 128:
        raise bad
    try:
        peer = ID.from_string(text)
    except Exception:
        raise bad from None
    raw = peer.to_bytes()
    identity = len(raw) >= 2 and raw[0] == 0x00 and raw[1] == len(raw) - 2
    sha256 = len(raw) == 34 and raw[0] == 0x12 and raw[1] == 0x20
    if not (identity or sha256):
        raise bad
    return peer


def parse_multiaddr(text: str, *, require_peer: bool) -> multiaddr.Multiaddr:
    """Raises InvalidArgument(INVALID_MULTIADDR) for unparsable addresses, or (with `require_peer`) addresses that
    do not end in /p2p/<peer id>."""
    try:
        addr = multiaddr.Multiaddr(text)
        if require_peer:
            info = info_from_p2p_addr(addr)
            parse_peer_id(info.peer_id.to_base58())
    except Exception:
        suffix = " ending in /p2p/<peer id>" if require_peer else ""
        raise InvalidArgument(
            f"not a valid multiaddr{suffix}: {text!r}", Reason.INVALID_MULTIADDR, field="multiaddr"
        ) from None
    return addr
