"""ARCHITECTURE.md stays true: every path it names exists, every domain and adapter folder is on its map, and the
functions the request walk-through names are where it says."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = (ROOT / "ARCHITECTURE.md").read_text(encoding="utf-8")
PATHS = sorted(
    {
        token.rstrip("/")
        for token in re.findall(r"`([^`\s]+)`", DOC)
        if "/" in token and not token.startswith("/") and "<" not in token and "*" not in token
    }
)


def test_the_map_names_paths() -> None:
    assert len(PATHS) > 20


def test_every_named_path_exists() -> None:
    missing = [path for path in PATHS if not (ROOT / path).exists()]
    assert not missing, f"ARCHITECTURE.md names paths that do not exist: {missing}"


def test_every_package_folder_is_on_the_map() -> None:
    folders = [
        str(init.parent.relative_to(ROOT))
        for init in sorted((ROOT / "ecco").glob("**/__init__.py"))
        if "v1" not in init.parts and "migrations" not in init.parts and init.parent != ROOT / "ecco"
    ]
    unmapped = [folder for folder in folders if f"`{folder}/`" not in DOC]
    assert not unmapped, f"folders missing from ARCHITECTURE.md's map: {unmapped}"


def test_the_walk_through_names_real_functions() -> None:
    """`module.py`, `Class.method` pairs in the request walk-through resolve."""
    walk = DOC[DOC.index("## One request") :]
    steps = re.findall(r"\(`(ecco/[\w/]+)\.py`, `(\w+)(?:\.(\w+))?`\)", walk)
    assert len(steps) >= 4
    for path, name, member in steps:
        module = importlib.import_module(path.replace("/", "."))
        target = getattr(module, name, None)
        assert target is not None, f"{path}.py has no {name}"
        if member:
            assert hasattr(target, member), f"{path}.py: {name} has no {member}"
