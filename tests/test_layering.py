"""Imports go one way (DESIGN §1, ARCHITECTURE.md): cli -> client -> ecco.v1; api -> services -> ports <- adapters;
only the composition modules (ecco.daemon, ecco.config, ecco.receipts) wire services to adapters. Inside services,
each domain is a package, and everything outside a domain uses only what the package exports. This test reads every
import, including those inside functions."""

from __future__ import annotations

import ast
import importlib
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
    "httpx",
    "a2a",
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
    "ecco.cli": ("sqlalchemy", "alembic", "trio", "libp2p", "web3", "aiohttp"),
    "ecco.client": ("ecco.api", "ecco.services", *ADAPTERS, "ecco.daemon", "ecco.cli"),
    "ecco.errors": ("ecco.", *IO_LIBRARIES),
}


SERVICES = PACKAGE / "services"
DOMAINS = tuple(sorted(p.parent.name for p in SERVICES.glob("*/__init__.py")))

# The only ecco modules the CLI may import: the client and its protobuf messages, the shared option parsing, the
# node's files and config, and the composition modules for what runs in the CLI's own process (`up --foreground`
# and the standalone webhook bridge through ecco.daemon, `consensus verify` through ecco.receipts). Never a
# service, a servicer, a store or a transport.
CLI_MAY_IMPORT = (
    "ecco.cli",
    "ecco.client",
    "ecco.v1",
    "ecco.errors",
    "ecco.parsing",
    "ecco.home",
    "ecco.logs",
    "ecco.config",
    "ecco.daemon",
    "ecco.receipts",
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
        bad = sorted(name for name in _imports(path) for prefix in forbidden if _within(name, prefix))
        assert not bad, f"{module} ({layer}) must not import {bad}"


def test_the_rules_see_the_code() -> None:
    """Guard against a rule table that silently matches nothing."""
    layers = {layer for layer in FORBIDDEN for path in SOURCES if _within(_module_name(path), layer)}
    assert layers == set(FORBIDDEN)


def _imported_modules(path: Path) -> set[str]:
    """The modules an import names (`from M import x` names M, not M.x)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_a_domain_is_used_only_through_its_exports(path: Path) -> None:
    """Outside a domain package, `ecco.services.<domain>.<module>` is never imported: only the package itself."""
    module = _module_name(path)
    bad = sorted(
        name
        for name in _imported_modules(path)
        for domain in DOMAINS
        if _within(name, f"ecco.services.{domain}")
        and name != f"ecco.services.{domain}"
        and not _within(module, f"ecco.services.{domain}")
    )
    assert not bad, f"{module} must import {bad} through the domain package, not its modules"


@pytest.mark.parametrize("path", [p for p in SOURCES if _within(_module_name(p), "ecco.cli")], ids=lambda p: p.name)
def test_the_cli_imports_the_client_not_the_services(path: Path) -> None:
    bad = sorted(
        name
        for name in _imported_modules(path)
        if _within(name, "ecco") and name != "ecco" and not any(_within(name, ok) for ok in CLI_MAY_IMPORT)
    )
    assert not bad, f"{_module_name(path)} must not import {bad}"


@pytest.mark.parametrize("domain", DOMAINS)
def test_every_export_of_a_domain_resolves(domain: str) -> None:
    """The lazy export table names real objects, and says what the package owns in its docstring."""
    package = importlib.import_module(f"ecco.services.{domain}")
    assert package.__doc__ and "Owns" in package.__doc__ and "Uses" in package.__doc__
    for name in package.__all__:
        assert getattr(package, name) is not None, f"ecco.services.{domain}.{name}"
    with pytest.raises(AttributeError):
        package.NoSuchExport  # noqa: B018


def test_the_domains_are_the_documented_ones() -> None:
    assert set(DOMAINS) == {"bridge", "consensus", "discovery", "events", "messaging", "payments"}
    flat = sorted(p.stem for p in SERVICES.glob("*.py") if p.stem != "__init__")
    assert flat == ["crypto_ports", "envelope", "exports", "node", "ports", "transport_port"], (
        "only the shared ports, the envelope, the export helper and the node facts live at services/ level"
    )
