"""Local-link discovery over mDNS (upstream §7.1: found peers are dialled), run safely beside the trio host.

py-libp2p's `MDNSDiscovery` is built on zeroconf, which runs its own threads and blocks while it registers or
unregisters a service (probing takes about a second), so those calls go to a worker thread. Discoveries arrive on a
zeroconf thread through py-libp2p's process-wide `peerDiscovery` hook; they are handed to the trio loop with its
token and dialled there. zeroconf binds every interface, which is why mDNS is a setting (on for users, off in tests
unless they run in a private network namespace).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Sequence

import multiaddr
import trio
from libp2p.abc import IHost
from libp2p.discovery.events.peerDiscovery import peerDiscovery
from libp2p.discovery.mdns.mdns import MDNSDiscovery
from libp2p.peer.peerinfo import PeerInfo

log = logging.getLogger(__name__)
DEFAULT_PORT = 4001
START_TIMEOUT = 10.0
"""zeroconf probes the link before it registers our service, which takes about a second."""
STOP_TIMEOUT = 5.0


def _tcp_port(addrs: Sequence[str]) -> int:
    for addr in addrs:
        with contextlib.suppress(Exception):
            port = multiaddr.Multiaddr(addr).value_for_protocol("tcp")
            if port:
                return int(port)
    return DEFAULT_PORT


class LocalLinkDiscovery:
    """Announces our dialable addresses on the local link and reports peers found there to `on_found` (in trio)."""

    def __init__(self, host: IHost, on_found: Callable[[PeerInfo], None]) -> None:
        self._host = host
        self._on_found = on_found
        self._mdns: MDNSDiscovery | None = None
        self._token: trio.lowlevel.TrioToken | None = None

    async def start(self, dialable_addrs: Sequence[str]) -> None:
        self._token = trio.lowlevel.current_trio_token()
        network = self._host.get_network()
        addrs = [a for a in dialable_addrs if "/ws" not in a]

        def build_and_register() -> MDNSDiscovery:
            mdns = MDNSDiscovery(network, port=_tcp_port(addrs), listen_addrs=addrs)
            mdns.broadcaster.register()
            return mdns

        peerDiscovery.register_peer_discovered_handler(self._from_zeroconf)
        self._mdns = await trio.to_thread.run_sync(build_and_register)

    async def stop(self) -> None:
        peerDiscovery.unregister_peer_discovered_handler(self._from_zeroconf)
        mdns, self._mdns = self._mdns, None
        if mdns is None:
            return
        with trio.move_on_after(STOP_TIMEOUT):  # unregistering announces our departure; never hold up shutdown
            try:
                await trio.to_thread.run_sync(mdns.stop, abandon_on_cancel=True)
            except Exception as exc:
                log.info("mDNS did not stop cleanly: %r", exc)

    def _from_zeroconf(self, info: PeerInfo) -> None:
        """Runs on a zeroconf thread (or, for a discovery by another host in this process, on any thread)."""
        token = self._token
        if token is None or info.peer_id == self._host.get_id():
            return
        with contextlib.suppress(trio.RunFinishedError):
            token.run_sync_soon(self._on_found, info)
