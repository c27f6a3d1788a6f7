"""Capabilities an agent announces (upstream `Capability`), and their validation at the edge."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from ecco.errors import InvalidArgument, Reason

SEMVER = re.compile(r"^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$")
DEFAULT_TYPE = "agent"
DEFAULT_VERSION = "1.0.0"


def _invalid(message: str, source: str) -> InvalidArgument:
    return InvalidArgument(f"{source}: {message}", Reason.INVALID_CAPABILITY, field=source)


def validate_capability(raw: Any, source: str) -> dict[str, Any]:
    """Check one capability object and return it normalised to {type, name, version, metadata}."""
    if not isinstance(raw, dict):
        raise _invalid("a capability must be a JSON object with type, name and version", source)
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        raise _invalid("capability name must be a non-empty string", source)
    cap_type = raw.get("type", DEFAULT_TYPE)
    if not isinstance(cap_type, str) or not cap_type.strip():
        raise _invalid(f"capability {name!r}: type must be a non-empty string", source)
    version = raw.get("version", DEFAULT_VERSION)
    if not isinstance(version, str) or not SEMVER.match(version):
        raise _invalid(f"capability {name!r}: version {version!r} is not a semantic version like 1.0.0", source)
    metadata = raw.get("metadata", {})
    if not isinstance(metadata, dict):
        raise _invalid(f"capability {name!r}: metadata must be a JSON object", source)
    features = metadata.get("features", raw.get("features"))
    if features is not None:
        if not isinstance(features, list) or not all(isinstance(f, str) for f in features):
            raise _invalid(f"capability {name!r}: features must be a list of strings", source)
        metadata = {**metadata, "features": features}
    return {"type": cap_type.strip(), "name": name.strip(), "version": version, "metadata": metadata}


def capability_from_name(name: str) -> dict[str, Any]:
    """`--capability <name>`: an agent capability at version 1.0.0."""
    return validate_capability({"name": name}, "--capability")


def load_capabilities_file(path: Path) -> list[dict[str, Any]]:
    """`--capabilities-file <path>`: a JSON list of capability objects."""
    source = f"--capabilities-file {path}"
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise _invalid("file not found", source) from None
    except (OSError, UnicodeDecodeError):
        raise _invalid("file cannot be read", source) from None
    except json.JSONDecodeError as exc:
        raise _invalid(f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}", source) from None
    if not isinstance(raw, list):
        raise _invalid("expected a JSON list of capabilities", source)
    return [validate_capability(item, f"{source} [{i}]") for i, item in enumerate(raw)]


def merge_capabilities(*groups: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Concatenate capability lists, later duplicates (same type and name) replacing earlier ones."""
    merged: dict[tuple[str, str], dict[str, Any]] = {}
    for group in groups:
        for cap in group:
            merged[(cap["type"], cap["name"])] = cap
    return list(merged.values())
