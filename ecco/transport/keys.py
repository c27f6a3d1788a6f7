"""Ed25519 signing, verification and peer-id derivation: the adapters behind ecco.services.crypto_ports.

A libp2p Ed25519 peer id is the base58btc encoding of the identity multihash of the protobuf-encoded public key:
`base58(0x00 0x24 || 0x08 0x01 0x12 0x20 || raw32)`, which always starts with "12D3KooW".
"""

from __future__ import annotations

import functools

import base58
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ecco.identity import Identity

ED25519_PUBLIC_KEY_BYTES = 32
ED25519_SIGNATURE_BYTES = 64
_PROTOBUF_ED25519_PUBLIC_PREFIX = bytes([0x08, 0x01, 0x12, ED25519_PUBLIC_KEY_BYTES])  # KeyType=Ed25519, Data len 32
_IDENTITY_MULTIHASH_PREFIX = bytes([0x00, len(_PROTOBUF_ED25519_PUBLIC_PREFIX) + ED25519_PUBLIC_KEY_BYTES])


def peer_id_from_ed25519_public_key(raw: bytes) -> str:
    """The libp2p peer id of a raw 32-byte Ed25519 public key. Raises ValueError for any other length."""
    if len(raw) != ED25519_PUBLIC_KEY_BYTES:
        raise ValueError(f"an Ed25519 public key has {ED25519_PUBLIC_KEY_BYTES} bytes, got {len(raw)}")
    return base58.b58encode(_IDENTITY_MULTIHASH_PREFIX + _PROTOBUF_ED25519_PUBLIC_PREFIX + raw).decode("ascii")


class Ed25519Signer:
    """Signs with the node key; implements ecco.services.crypto_ports.Signer."""

    def __init__(self, seed: bytes) -> None:
        if len(seed) != 32:
            raise ValueError("an Ed25519 seed has 32 bytes")
        self._key = Ed25519PrivateKey.from_private_bytes(seed)
        self._public = self._key.public_key().public_bytes_raw()
        self._peer_id = peer_id_from_ed25519_public_key(self._public)

    @classmethod
    def from_identity(cls, identity: Identity) -> Ed25519Signer:
        signer = cls(identity.key_pair.private_key.to_bytes()[:32])
        if signer.peer_id != identity.peer_id:
            raise ValueError("the identity's peer id does not match its key")
        return signer

    @property
    def peer_id(self) -> str:
        return self._peer_id

    @property
    def public_key(self) -> bytes:
        return self._public

    def sign(self, data: bytes) -> bytes:
        return self._key.sign(data)


@functools.lru_cache(maxsize=4096)
def _public_key(raw: bytes) -> Ed25519PublicKey:
    return Ed25519PublicKey.from_public_bytes(raw)


class Ed25519Verifier:
    """Verifies upstream message signatures; implements ecco.services.crypto_ports.Verifier."""

    def peer_id_of(self, public_key: bytes) -> str:
        return peer_id_from_ed25519_public_key(public_key)

    def verify(self, public_key: bytes, data: bytes, signature: bytes) -> bool:
        if len(public_key) != ED25519_PUBLIC_KEY_BYTES or len(signature) != ED25519_SIGNATURE_BYTES:
            return False
        try:
            _public_key(bytes(public_key)).verify(signature, data)
        except (InvalidSignature, ValueError):
            return False
        return True
