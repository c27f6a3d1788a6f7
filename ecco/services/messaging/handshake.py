"""The version/constitution handshake two nodes exchange on connect (upstream-ecco §4.6).

Pure logic: the payloads each side sends and the verdict on the peer's. Acceptance needs the peer's protocol
version ≥ our minimum, the same constitution hash, and the same network id.
"""

from __future__ import annotations

import hashlib
import hmac
import unicodedata
from dataclasses import dataclass
from typing import Any

PROTOCOL_VERSION = {"major": 1, "minor": 0, "patch": 0}
MIN_PROTOCOL_VERSION = {"major": 1, "minor": 0, "patch": 0}
UPGRADE_URL = "https://github.com/dileet/ecco"
HANDSHAKE_TIMEOUT_S = 5.0
CONSTITUTION = (
    "Agents must provide honest and accurate responses to the best of their ability",
    "Agents must not intentionally disrupt network operations or corrupt shared data",
    "Agents must respect rate limits and not abuse network resources",
)
NETWORK_IDS = {"testnet": "ecco-testnet", "mainnet": "ecco-mainnet"}
# How a node treats a peer that fails or skips the handshake: testnet warns, mainnet disconnects.
ENFORCEMENT = {"testnet": "warn", "mainnet": "strict"}


def constitution_hash(rules: tuple[str, ...] = CONSTITUTION) -> str:
    return hashlib.sha256(unicodedata.normalize("NFC", "\n".join(rules)).encode("utf-8")).hexdigest()


def handshake_payload(network: str, now_ms: int) -> dict[str, Any]:
    return {
        "protocolVersion": dict(PROTOCOL_VERSION),
        "networkId": NETWORK_IDS[network],
        "timestamp": now_ms,
        "constitutionHash": {"hash": constitution_hash(), "rulesCount": len(CONSTITUTION)},
    }


def _version_tuple(value: Any) -> tuple[int, int, int] | None:
    if not isinstance(value, dict):
        return None
    parts = tuple(value.get(key) for key in ("major", "minor", "patch"))
    if not all(isinstance(p, int) and not isinstance(p, bool) for p in parts):
        return None
    return parts  # type: ignore[return-value]


@dataclass(frozen=True)
class Verdict:
    accepted: bool
    reason: str = ""
    constitution_mismatch: bool = False
    received_hash: str = ""
    peer_version: dict[str, int] | None = None
    """The peer's well-formed protocolVersion, echoed as `yourVersion` in a version-incompatible-notice."""

    def response_payload(self) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "accepted": self.accepted,
            "protocolVersion": dict(PROTOCOL_VERSION),
            "minProtocolVersion": dict(MIN_PROTOCOL_VERSION),
        }
        if not self.accepted:
            payload.update(reason=self.reason, upgradeUrl=UPGRADE_URL)
        payload["constitutionMismatch"] = self.constitution_mismatch  # always, false included, as upstream sends it
        return payload


def evaluate(payload: Any, network: str) -> Verdict:
    """Judge a peer's version-handshake payload."""
    if not isinstance(payload, dict):
        return Verdict(False, "malformed handshake")
    version = _version_tuple(payload.get("protocolVersion"))
    minimum = _version_tuple(MIN_PROTOCOL_VERSION)
    if version is None or minimum is None or version < minimum:
        peer_version = None if version is None else dict(zip(("major", "minor", "patch"), version, strict=True))
        return Verdict(
            False,
            f"protocol version {payload.get('protocolVersion')} is below the minimum 1.0.0",
            peer_version=peer_version,
        )
    received = payload.get("constitutionHash")
    received_hash = received.get("hash") if isinstance(received, dict) else None
    if not isinstance(received_hash, str) or not hmac.compare_digest(received_hash, constitution_hash()):
        return Verdict(False, "constitution mismatch", constitution_mismatch=True, received_hash=str(received_hash))
    if payload.get("networkId") != NETWORK_IDS[network]:
        return Verdict(False, f"network {payload.get('networkId')!r} is not {NETWORK_IDS[network]!r}")
    return Verdict(True)


def notice_for(verdict: Verdict) -> tuple[str, dict[str, Any]] | None:
    """The notice a node sends along with a rejection, as (message type, payload)."""
    if verdict.accepted:
        return None
    if verdict.constitution_mismatch:
        return "constitution-mismatch-notice", {
            "expectedHash": constitution_hash(),
            "receivedHash": verdict.received_hash,
            "message": "constitution mismatch: this network's agents follow a different constitution",
        }
    return "version-incompatible-notice", {
        "requiredMinVersion": dict(MIN_PROTOCOL_VERSION),
        "yourVersion": verdict.peer_version,
        "upgradeUrl": UPGRADE_URL,
        "message": verdict.reason,
    }
