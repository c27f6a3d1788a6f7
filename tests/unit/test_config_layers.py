"""Configuration: defaults < TOML file < ECCO_* environment < flags, with every problem named precisely."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ecco.config import MASK, load_config
from ecco.errors import InvalidArgument, Reason


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_when_nothing_is_given() -> None:
    config = load_config()
    assert config.network == "testnet"
    assert config.api_listen == ""
    assert config.log_level == "info"
    assert config.capabilities == []
    assert set(config.sources.values()) == {"default"}


def test_each_layer_overrides_the_one_below_and_records_its_source(short_tmp: Path) -> None:
    toml = write(
        short_tmp / "c.toml",
        'name = "from-file"\nnetwork = "mainnet"\nlog_level = "debug"\napi_listen = "127.0.0.1:7000"\n',
    )
    env = {"ECCO_NETWORK": "testnet", "ECCO_API_LISTEN": "127.0.0.1:7001", "ECCO_LOG_LEVEL": "warning"}
    flags = {"log_level": "error", "api_listen": None}  # None means "flag not given"
    config = load_config(toml, env, flags)

    assert config.name == "from-file"
    assert config.sources["name"] == "file"
    assert config.network == "testnet"
    assert config.sources["network"] == "env"
    assert config.api_listen == "127.0.0.1:7001"
    assert config.sources["api_listen"] == "env"
    assert config.log_level == "error"
    assert config.sources["log_level"] == "flag"
    assert config.sources["db_url"] == "default"


def test_file_overrides_defaults(short_tmp: Path) -> None:
    config = load_config(write(short_tmp / "c.toml", 'network = "mainnet"\n'))
    assert config.network == "mainnet"
    assert config.sources["network"] == "file"
    assert config.sources["log_level"] == "default"


def test_empty_environment_variables_are_ignored() -> None:
    config = load_config(env={"ECCO_NETWORK": ""})
    assert config.network == "testnet"
    assert config.sources["network"] == "default"


def test_capabilities_from_environment_are_comma_separated_names() -> None:
    config = load_config(env={"ECCO_CAPABILITIES": "code-review, search"})
    assert [c["name"] for c in config.capabilities] == ["code-review", "search"]
    assert all(c["type"] == "agent" and c["version"] == "1.0.0" for c in config.capabilities)
    assert config.sources["capabilities"] == "env"


def test_capabilities_from_toml_tables(short_tmp: Path) -> None:
    toml = write(
        short_tmp / "c.toml",
        '[[capabilities]]\nname = "review"\nversion = "2.1.0"\n[capabilities.metadata]\nfeatures = ["py"]\n',
    )
    config = load_config(toml)
    assert config.capabilities == [
        {"type": "agent", "name": "review", "version": "2.1.0", "metadata": {"features": ["py"]}}
    ]


@pytest.mark.parametrize(
    ("content", "expected"), [('network = "mainnet\n', "TOML"), (None, "not found")], ids=["malformed", "missing"]
)
def test_unreadable_config_file_names_the_file(short_tmp: Path, content: str | None, expected: str) -> None:
    path = short_tmp / "broken.toml"
    if content is not None:
        write(path, content)
    with pytest.raises(InvalidArgument) as info:
        load_config(path)
    assert info.value.reason == Reason.CONFIG_INVALID
    assert str(path) in info.value.message
    assert expected in info.value.message


def test_unknown_key_names_file_and_key(short_tmp: Path) -> None:
    path = write(short_tmp / "c.toml", 'network = "testnet"\nlisten_port = 4\n')
    with pytest.raises(InvalidArgument) as info:
        load_config(path)
    assert info.value.reason == Reason.CONFIG_INVALID
    assert str(path) in info.value.message
    assert "listen_port" in info.value.message
    assert info.value.field == "listen_port"


def test_unknown_nested_key_is_reported_dotted(short_tmp: Path) -> None:
    path = write(short_tmp / "c.toml", '[db]\nurl = "sqlite://"\n')
    with pytest.raises(InvalidArgument) as info:
        load_config(path)
    assert "db.url" in info.value.message
    assert str(path) in info.value.message


@pytest.mark.parametrize(
    ("env", "flags", "where"),
    [
        ({"ECCO_NETWORK": "moonnet"}, None, "ECCO_NETWORK"),
        (None, {"network": "moonnet"}, "command line"),
    ],
)
def test_bad_network_names_the_key_and_source(env: dict | None, flags: dict | None, where: str) -> None:
    with pytest.raises(InvalidArgument) as info:
        load_config(env=env, flags=flags)
    assert info.value.reason == Reason.CONFIG_INVALID
    assert info.value.field == "network"
    assert "'network'" in info.value.message
    assert where in info.value.message
    assert "moonnet" in info.value.message


def test_bad_network_in_file_names_file_and_key(short_tmp: Path) -> None:
    path = write(short_tmp / "c.toml", "network = 3\n")
    with pytest.raises(InvalidArgument) as info:
        load_config(path)
    assert str(path) in info.value.message
    assert info.value.field == "network"


@pytest.mark.parametrize("address", ["0.0.0.0:7440", "192.168.1.5:7440", "example.com:7440", "[::]:7440"])
def test_api_listen_rejects_non_loopback(address: str) -> None:
    with pytest.raises(InvalidArgument) as info:
        load_config(env={"ECCO_API_LISTEN": address})
    assert info.value.reason == Reason.CONFIG_INVALID
    assert info.value.field == "api_listen"
    assert "loopback" in info.value.message


@pytest.mark.parametrize("address", ["127.0.0.1", "127.0.0.1:99999", "127.0.0.1:port"])
def test_api_listen_requires_host_and_port(address: str) -> None:
    with pytest.raises(InvalidArgument) as info:
        load_config(flags={"api_listen": address})
    assert info.value.field == "api_listen"


@pytest.mark.parametrize(
    ("address", "normalised"),
    [
        ("127.0.0.1:7440", "127.0.0.1:7440"),
        ("localhost:0", "localhost:0"),
        ("[::1]:7440", "[::1]:7440"),
        ("127.0.0.2:1", "127.0.0.2:1"),
    ],
)
def test_api_listen_accepts_loopback(address: str, normalised: str) -> None:
    assert load_config(flags={"api_listen": address}).api_listen == normalised


def test_db_url_is_masked_in_masked_and_json() -> None:
    secret = "postgresql+asyncpg://ecco:hunter2@db/ecco"
    config = load_config(flags={"db_url": secret, "network": "mainnet"})
    assert config.db_url == secret  # the daemon still gets the real value
    assert config.masked()["db_url"] == MASK
    assert config.masked()["network"] == "mainnet"
    shown = json.loads(config.to_json())
    assert shown["db_url"] == MASK
    assert "hunter2" not in config.to_json()


def test_empty_secret_is_not_masked() -> None:
    # Showing "***" for an unset secret would suggest one is configured.
    assert load_config().masked()["db_url"] == ""


def test_bad_capability_in_file_is_a_config_error_naming_the_key(short_tmp: Path) -> None:
    path = short_tmp / "caps.toml"
    path.write_text('[[capabilities]]\nname = "review"\nversion = "one"\n')
    with pytest.raises(InvalidArgument) as info:
        load_config(path)
    assert info.value.reason == Reason.CONFIG_INVALID
    assert info.value.field == "capabilities"
    assert str(path) in info.value.message and "capabilities[0]" in info.value.message


def test_unknown_flag_key_is_a_config_error() -> None:
    with pytest.raises(InvalidArgument) as info:
        load_config(flags={"colour": "blue"})
    assert info.value.reason == Reason.CONFIG_INVALID and info.value.field == "colour"
