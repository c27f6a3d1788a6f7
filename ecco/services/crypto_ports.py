"""Signing and verification ports for message envelopes; ecco.transport.keys implements them with Ed25519."""

from __future__ import annotations

from typing import Protocol


class Signer(Protocol):
    """The node's own key."""

    @property
    def peer_id(self) -> str:
        """The base58 libp2p peer id of the key."""
        ...

    @property
    def public_key(self) -> bytes:
        """The raw 32-byte Ed25519 public key."""
        ...

    def sign(self, data: bytes) -> bytes:
        """A 64-byte Ed25519 signature over `data`."""
        ...


class Verifier(Protocol):
    def peer_id_of(self, public_key: bytes) -> str:
        """The libp2p peer id of a raw Ed25519 public key; raises ValueError if it is not one."""
        ...

    def verify(self, public_key: bytes, data: bytes, signature: bytes) -> bool:
        """True iff `signature` is a valid Ed25519 signature of `data` by `public_key`; never raises."""
        ...
