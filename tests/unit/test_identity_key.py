"""The node identity: created once (0600), stable, optionally encrypted, compatible with upstream key files."""

from __future__ import annotations

import base64
import json
import os
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat

from ecco.errors import FailedPrecondition, Reason
from ecco.identity import load_or_create

B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def base58(data: bytes) -> str:
    number = int.from_bytes(data, "big")
    out = ""
    while number:
        number, rem = divmod(number, 58)
        out = B58[rem] + out
    return "1" * (len(data) - len(data.lstrip(b"\0"))) + out


def expected_peer_id(public: bytes) -> str:
    """libp2p peer id of an Ed25519 key: base58(identity multihash of the protobuf PublicKey)."""
    public_pb = bytes([0x08, 0x01, 0x12, len(public)]) + public
    return base58(bytes([0x00, len(public_pb)]) + public_pb)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_created_with_mode_0600_and_stable_across_loads(short_tmp: Path) -> None:
    path = short_tmp / "identity.key"
    first = load_or_create(path)
    assert path.exists()
    assert mode(path) == 0o600
    assert first.peer_id.startswith("12D3KooW")
    again = load_or_create(path)
    assert again.peer_id == first.peer_id
    assert again.public_key_bytes == first.public_key_bytes
    assert not list(short_tmp.glob("*.tmp"))


def test_peer_id_matches_the_public_key(short_tmp: Path) -> None:
    identity = load_or_create(short_tmp / "identity.key")
    assert identity.peer_id == expected_peer_id(identity.public_key_bytes)


def test_two_nodes_get_different_identities(short_tmp: Path) -> None:
    assert load_or_create(short_tmp / "a.key").peer_id != load_or_create(short_tmp / "b.key").peer_id


def test_encrypted_key_round_trips(short_tmp: Path) -> None:
    path = short_tmp / "identity.key"
    created = load_or_create(path, "correct horse")
    doc = json.loads(path.read_text())
    assert doc["encrypted"] is True
    assert "libp2pPrivateKey" not in doc
    assert {"salt", "iv", "authTag", "data"} <= doc.keys()
    assert mode(path) == 0o600
    assert load_or_create(path, "correct horse").peer_id == created.peer_id


def test_wrong_password_is_identity_invalid(short_tmp: Path) -> None:
    path = short_tmp / "identity.key"
    load_or_create(path, "correct horse")
    with pytest.raises(FailedPrecondition) as info:
        load_or_create(path, "battery staple")
    assert info.value.reason == Reason.IDENTITY_INVALID
    assert str(path) in info.value.message
    assert "battery staple" not in info.value.message


def test_encrypted_key_without_password_is_identity_invalid(short_tmp: Path) -> None:
    path = short_tmp / "identity.key"
    load_or_create(path, "pw")
    with pytest.raises(FailedPrecondition) as info:
        load_or_create(path, None)
    assert info.value.reason == Reason.IDENTITY_INVALID
    assert "ECCO_KEY_PASSWORD" in info.value.message


def test_upstream_plain_key_file_with_64_byte_data_loads(short_tmp: Path) -> None:
    private = Ed25519PrivateKey.generate()
    seed = private.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    public = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    data = seed + public
    blob = bytes([0x08, 0x01, 0x12, len(data)]) + data  # libp2p PrivateKey{Type: Ed25519, Data: seed||pub}
    path = short_tmp / "identity.key"
    path.write_text(json.dumps({"libp2pPrivateKey": base64.b64encode(blob).decode()}))
    os.chmod(path, 0o644)

    identity = load_or_create(path)
    assert identity.public_key_bytes == public
    assert identity.peer_id == expected_peer_id(public)
    assert mode(path) == 0o600  # tightened on load


def test_plain_key_file_written_by_us_is_upstream_format(short_tmp: Path) -> None:
    path = short_tmp / "identity.key"
    identity = load_or_create(path)
    blob = base64.b64decode(json.loads(path.read_text())["libp2pPrivateKey"])
    assert blob[:4] == bytes([0x08, 0x01, 0x12, 64])
    assert blob[4 + 32 :] == identity.public_key_bytes


@pytest.mark.parametrize(
    "content",
    [
        "not json",
        "[1, 2]",
        '{"other": 1}',
        '{"libp2pPrivateKey": "%%%"}',
        json.dumps({"libp2pPrivateKey": base64.b64encode(bytes([0x08, 0x00, 0x12, 2, 1, 2])).decode()}),
        '{"encrypted": true, "salt": "AA=="}',
    ],
)
def test_malformed_key_files_are_identity_invalid(short_tmp: Path, content: str) -> None:
    path = short_tmp / "identity.key"
    path.write_text(content)
    with pytest.raises(FailedPrecondition) as info:
        load_or_create(path, "pw")
    assert info.value.reason == Reason.IDENTITY_INVALID
    assert str(path) in info.value.message
