"""Configuration errors are reported before any daemon starts, naming the file and the key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.integration.conftest import Ecco

pytestmark = pytest.mark.integration


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ('name = "alice"\nnetwork = \n', "invalid TOML"),
        ('name = "alice"\ncolour = "blue"\n', "key 'colour': unknown key"),
        ('name = "alice"\nnetwork = "moon"\n', "key 'network': expected one of testnet, mainnet"),
        (
            'name = "alice"\napi_listen = "0.0.0.0:7000"\n',
            "key 'api_listen': the API may only listen on a loopback",
        ),
        ('name = "alice"\nmdns = "maybe"\n', "key 'mdns': expected true or false, got 'maybe'"),
        ('name = "alice"\n[webhook]\nenabled = 2\n', "key 'webhook.enabled': expected true or false, got 2"),
        ('name = "alice"\n[wallet]\nkey = "0xabc"\n', "key 'wallet.key': the wallet key may only come from"),
    ],
)
def test_malformed_config_names_file_and_key(ecco: Ecco, content: str, expected: str) -> None:
    config = ecco.home / "bad.toml"
    config.write_text(content)
    result = ecco("up", "--config", str(config), "--json")
    assert result.code == 2
    error = result.json()["error"]
    assert error["reason"] == "CONFIG_INVALID"
    assert str(config) in error["message"] and expected in error["message"]
    assert not ecco.node_dir("alice").joinpath("daemon.pid").exists()


def test_unreadable_wallet_key_file_stops_the_start(ecco: Ecco) -> None:
    config = ecco.home / "node.toml"
    missing = ecco.home / "no-such.key"
    config.write_text(f'name = "alice"\n[wallet]\nkey_file = "{missing}"\n')
    result = ecco("up", "--config", str(config), "--json")
    assert result.code == 2
    error = result.json()["error"]
    assert error["reason"] == "CONFIG_INVALID"
    assert "'wallet.key_file'" in error["message"] and f"cannot read {missing}" in error["message"]
    assert ecco("node", "status", "--node", "alice", "--json").code != 0  # no daemon was left running


def test_precedence_file_env_flag_and_secrets_masked(ecco: Ecco) -> None:
    config = ecco.home / "node.toml"
    db = ecco.home / "custom.db"
    config.write_text(
        f'name = "alice"\nnetwork = "mainnet"\nlog_level = "debug"\ndb_url = "sqlite+aiosqlite:///{db}"\n'
    )
    ecco.ok("up", "--config", str(config), "--log-level", "warning", env={"ECCO_NETWORK": "testnet"})
    shown = ecco.ok("config", "show", "--json").json()
    assert shown["config"]["network"] == "testnet" and shown["sources"]["network"] == "env"
    assert shown["config"]["log_level"] == "warning" and shown["sources"]["log_level"] == "flag"
    assert shown["config"]["name"] == "alice" and shown["sources"]["name"] == "file"
    assert shown["config"]["db_url"] == "***"
    assert db.exists()  # the node really uses the configured database
    assert str(db) not in ecco.node_dir("alice").joinpath("config.toml").read_text()


def test_bad_capability_is_refused_with_the_flag_named(ecco: Ecco) -> None:
    caps = ecco.home / "caps.json"
    caps.write_text('[{"type": "agent", "name": "review", "version": "one"}]')
    result = ecco("up", "--name", "alice", "--capabilities-file", str(caps), "--json")
    assert result.code == 2
    error = result.json()["error"]
    assert error["reason"] == "INVALID_CAPABILITY" and "--capabilities-file" in error["message"]


def test_db_push_is_idempotent(ecco: Ecco, tmp_path: Path, node_db: Any) -> None:
    mistyped = ecco("db", "push", "--node", "alcie", "--json")
    assert (mistyped.code, mistyped.json()["error"]["reason"]) == (3, "NODE_NOT_FOUND")
    assert not ecco.node_dir("alcie").exists()  # a typo creates nothing
    first = ecco.ok("db", "push", "--node", "alice", "--create", *node_db("alice"), "--json").json()
    assert first["applied"] == ["0001", "0002", "0003_bridge", "0004_payments"]
    assert first["revision"] == "0004_payments"
    second = ecco.ok("db", "push", "--node", "alice", *node_db("alice"), "--json").json()
    assert second["applied"] == [] and second["revision"] == "0004_payments"
    ecco.ok("up", "--name", "alice", *node_db("alice"))  # a node starts on a pushed database
    running = ecco.ok("db", "push", *node_db("alice"), "--json").json()  # as the specification writes it
    assert running["applied"] == [] and running["node"] == "alice"  # safe while it runs (no writer lock needed)
