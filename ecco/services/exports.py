"""What a domain package exports, loaded on first use.

Other domains, the API layer and the adapters import a domain only through its package (`from
ecco.services.bridge import BridgeSettings`), and the layering test holds them to it. Loading every module of a
domain for that would make each `ecco` command pay for the whole node (the CLI reads bridge and capability
defaults through `ecco.config`), so a package maps each exported name to the module that defines it and imports
that module when the name is first read (PEP 562). Type checkers read the same names from the package's
`TYPE_CHECKING` imports.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from importlib import import_module
from typing import Any


def lazy_exports(package: str, modules: Mapping[str, Sequence[str]]) -> tuple[Callable[[str], Any], list[str]]:
    """The package's `__getattr__` and `__all__` for `modules`: {submodule: [names it exports]}."""
    home = {name: module for module, names in modules.items() for name in names}

    def __getattr__(name: str) -> Any:
        module = home.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(import_module(f"{package}.{module}"), name)

    return __getattr__, sorted(home)
