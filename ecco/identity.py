"""The node's identity: one Ed25519 libp2p key, created on first start and reused forever after.

The key file uses the upstream ecco format so keys move between implementations: JSON
`{"libp2pPrivateKey": base64(libp2p protobuf private key)}`, or, when ECCO_KEY_PASSWORD is set, the encrypted form
`{"encrypted": true, "salt", "iv", "authTag", "data"}` (AES-256-GCM, key from scrypt N=16384 r=8 p=1).
"""

from __future__ import annotations

import base64
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from ecco.errors import FailedPrecondition, Reason

if TYPE_CHECKING:
    from libp2p.crypto.keys import KeyPair

PASSWORD_ENV = "ECCO_KEY_PASSWORD"
_ED25519 = 1  # libp2p KeyType.Ed25519


@dataclass(frozen=True)
class Identity:
    key_pair: KeyPair
    peer_id: str

    @property
    def public_key_bytes(self) -> bytes:
        return self.key_pair.public_key.to_bytes()


def _invalid(path: Path, problem: str) -> FailedPrecondition:
    return FailedPrecondition(f"identity key {path}: {problem}", Reason.IDENTITY_INVALID)


def _scrypt(password: str, salt: bytes) -> bytes:
    return Scrypt(salt=salt, length=32, n=16384, r=8, p=1).derive(password.encode("utf-8"))


def _encode_private_key(seed: bytes, public: bytes) -> bytes:
    """libp2p PrivateKey protobuf with the 64-byte seed||public layout js-libp2p writes."""
    data = seed + public
    return bytes([0x08, _ED25519, 0x12, len(data)]) + data


def _decode_private_key(blob: bytes, path: Path) -> bytes:
    """Return the 32-byte Ed25519 seed from a libp2p PrivateKey protobuf (32- or 64-byte data)."""
    from libp2p.crypto.pb import crypto_pb2

    message = crypto_pb2.PrivateKey()
    try:
        message.ParseFromString(blob)
    except Exception:
        raise _invalid(path, "not a libp2p private key") from None
    if message.key_type != _ED25519 or len(message.data) not in (32, 64):
        raise _invalid(path, "only Ed25519 keys are supported")
    return bytes(message.data[:32])


def _seal(plain: bytes, password: str) -> dict[str, object]:
    salt, iv = os.urandom(32), os.urandom(12)
    sealed = AESGCM(_scrypt(password, salt)).encrypt(iv, plain, None)
    b64 = lambda b: base64.b64encode(b).decode()  # noqa: E731
    return {
        "encrypted": True,
        "salt": b64(salt),
        "iv": b64(iv),
        "authTag": b64(sealed[-16:]),
        "data": b64(sealed[:-16]),
    }


def _unseal(doc: dict[str, object], password: str | None, path: Path) -> bytes:
    if not password:
        raise _invalid(path, f"the key is encrypted; set {PASSWORD_ENV}")
    try:
        salt, iv, tag, data = (base64.b64decode(str(doc[k])) for k in ("salt", "iv", "authTag", "data"))
        return AESGCM(_scrypt(password, salt)).decrypt(iv, data + tag, None)
    except InvalidTag:
        raise _invalid(path, f"cannot decrypt the key: wrong {PASSWORD_ENV}") from None
    except (KeyError, ValueError):
        raise _invalid(path, "malformed encrypted key file") from None


def _from_seed(seed: bytes) -> Identity:
    from libp2p.crypto.ed25519 import Ed25519PrivateKey
    from libp2p.crypto.keys import KeyPair
    from libp2p.peer.id import ID

    private = Ed25519PrivateKey.from_bytes(seed)
    public = private.get_public_key()
    return Identity(KeyPair(private, public), ID.from_pubkey(public).to_base58())


def _write_private(path: Path, doc: dict[str, object]) -> None:
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(doc, fh)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def load_or_create(path: Path, password: str | None = None) -> Identity:
    """Load the node key from `path`, creating it (mode 0600) on first use."""
    if not path.exists():
        from libp2p.crypto.ed25519 import create_new_key_pair

        pair = create_new_key_pair()
        seed = pair.private_key.to_bytes()[:32]
        blob = _encode_private_key(seed, pair.public_key.to_bytes())
        doc = _seal(blob, password) if password else {"libp2pPrivateKey": base64.b64encode(blob).decode()}
        _write_private(path, doc)
        return _from_seed(seed)
    if path.stat().st_mode & 0o077:
        os.chmod(path, 0o600)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise _invalid(path, "not a JSON key file") from None
    if not isinstance(doc, dict):
        raise _invalid(path, "not a JSON key file")
    if doc.get("encrypted"):
        blob = _unseal(doc, password, path)
    else:
        try:
            blob = base64.b64decode(str(doc["libp2pPrivateKey"]), validate=True)
        except (KeyError, ValueError):
            raise _invalid(path, "missing or malformed libp2pPrivateKey") from None
    return _from_seed(_decode_private_key(blob, path))
