"""mDNS on real daemons, inside a private network namespace whose only interface is loopback (mDNS multicasts on
every interface, so it never runs on the machine's shared ones)."""

from __future__ import annotations

import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.conftest import Ecco, up, wait_for_event

pytestmark = pytest.mark.integration


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=10)


@pytest.fixture
def ecco_in_netns() -> Iterator[Ecco]:
    """An `Ecco` whose commands (and so the daemons they start) run in a fresh network namespace with multicast on
    loopback; the gRPC API is a unix socket, reachable from outside the namespace."""
    namespace = f"ecco-mdns-{secrets.token_hex(4)}"
    _ip("netns", "add", namespace)
    home = Path(tempfile.mkdtemp(prefix="ecco-it-", dir="/tmp"))
    runner = Ecco(home, prefix=("ip", "netns", "exec", namespace))
    runner.env["ECCO_MDNS"] = "true"
    try:
        for command in (
            ("link", "set", "lo", "up"),
            ("link", "set", "lo", "multicast", "on"),
            ("route", "add", "224.0.0.0/4", "dev", "lo"),
        ):
            _ip("-n", namespace, *command)
        yield runner
    finally:
        runner.kill_all()
        _ip("netns", "del", namespace)
        shutil.rmtree(home, ignore_errors=True)


def test_nodes_on_one_link_find_each_other_without_bootstrap(ecco_in_netns: Ecco) -> None:
    ecco = ecco_in_netns
    provider = up(ecco, "provider", "--capability", "translate", "--responder", "echo")
    user = up(ecco, "user")
    wait_for_event(ecco, "user", lambda e: e["peerId"] == provider["peerId"], "peer-connected")
    wait_for_event(ecco, "provider", lambda e: e["peerId"] == user["peerId"], "peer-connected")

    ecco.ok("peer", "find", "--name", "translate", "--node", "user")  # waits for the announcement
    doc = ecco.ok("peer", "discover", "--name", "translate", "--phases", "proximity", "--node", "user", "--json").json()
    assert [(p["peerId"], p["phase"], p["proximity"]) for p in doc["peers"]] == [
        (provider["peerId"], "proximity", True)
    ]
    reply = ecco.ok("ask", "--capability", "translate", "found on the link", "--node", "user", "--json").json()
    assert reply["text"] == "found on the link"


def test_a_node_started_with_no_mdns_stays_off_the_link(ecco_in_netns: Ecco) -> None:
    ecco = ecco_in_netns
    quiet = up(ecco, "quiet", "--mdns", "false", "--capability", "translate")
    control = up(ecco, "control")
    user = up(ecco, "user")
    config = ecco.ok("config", "show", "--node", "quiet", "--json").json()
    assert (config["config"]["mdns"], config["sources"]["mdns"]) == (False, "flag")

    # The user finds the node that announced itself after the quiet one started, and never the quiet one.
    wait_for_event(ecco, "user", lambda e: e["peerId"] == control["peerId"], "peer-connected")
    peers = ecco.ok("peers", "--node", "user", "--json").json()["peers"]
    assert quiet["peerId"] not in [p["peerId"] for p in peers]
    assert user["peerId"] not in [p["peerId"] for p in peers]
