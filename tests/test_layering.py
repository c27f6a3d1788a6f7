"""Imports go one way (DESIGN §1): cli -> client -> ecco.v1; api -> services -> ports <- adapters; only
ecco.daemon wires everything. This test reads every import, including those inside functions."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "ecco"

IO_LIBRARIES = (
    "grpc",
    "google.protobuf",
    "google.rpc",
    "sqlalchemy",
    "alembic",
    "aiosqlite",
    "asyncpg",
    "web3",
    "eth_account",
    "trio",
    "libp2p",
    "multiaddr",
    "aiohttp",
)
ADAPTERS = ("ecco.store", "ecco.transport", "ecco.chain", "ecco.bridge")

# layer (module prefix) -> import prefixes it must not use
FORBIDDEN: dict[str, tuple[str, ...]] = {
    "ecco.services": (*IO_LIBRARIES, "ecco.v1", "ecco.api", *ADAPTERS, "ecco.cli", "ecco.client", "ecco.daemon"),
    "ecco.api": (
        "sqlalchemy",
        "alembic",
        "trio",
        "libp2p",
        "web3",
        "aiohttp",
        *ADAPTERS,
        "ecco.cli",
        "ecco.daemon",
        "ecco.client",
    ),
    "ecco.store": (
        "grpc",
        "ecco.v1",
        "ecco.api",
        "ecco.cli",
        "ecco.client",
        "ecco.daemon",
        "ecco.transport",
        "ecco.chain",
        "ecco.bridge",
    ),
    "ecco.cli": ("ecco.api", *ADAPTERS, "sqlalchemy", "alembic", "trio", "libp2p", "web3"),
    "ecco.client": ("ecco.api", "ecco.services", *ADAPTERS, "ecco.daemon", "ecco.cli"),
    "ecco.errors": ("ecco.", *IO_LIBRARIES),
}


# Narrow exceptions: (module, import) pairs allowed despite the table above.
ALLOWED: frozenset[tuple[str, str]] = frozenset(
    {
        # `ecco consensus verify` checks receipts offline, with no node to ask, so it uses the Ed25519 adapter itself
        ("ecco.cli.consensus", "ecco.transport.keys"),
        ("ecco.cli.consensus", "ecco.transport.keys.Ed25519Verifier"),
    }
)


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def _within(name: str, prefix: str) -> bool:
    return name == prefix.rstrip(".") or name.startswith(prefix if prefix.endswith(".") else f"{prefix}.")


SOURCES = sorted(p for p in PACKAGE.rglob("*.py") if "v1" not in p.relative_to(PACKAGE).parts[:1])


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_follow_the_layers(path: Path) -> None:
    module = _module_name(path)
    for layer, forbidden in FORBIDDEN.items():
        if not _within(module, layer):
            continue
        bad = sorted(
            name
            for name in _imports(path)
            for prefix in forbidden
            if _within(name, prefix) and (module, name) not in ALLOWED
        )
        assert not bad, f"{module} ({layer}) must not import {bad}"


def test_the_rules_see_the_code() -> None:
    """Guard against a rule table that silently matches nothing."""
    layers = {layer for layer in FORBIDDEN for path in SOURCES if _within(_module_name(path), layer)}
    assert layers == set(FORBIDDEN)
