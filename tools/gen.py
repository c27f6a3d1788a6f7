"""Regenerate the committed API stubs from proto/ (`make gen`), or check they are current (`make check-gen`).

buf runs every plugin of each template (buf.gen.yaml: Python and TypeScript; buf.gen.go.yaml: Go) into
.buf-gen/; this script then mirrors each language's output into its committed home, so a deleted or renamed
proto file also removes its stale stubs.
"""

from __future__ import annotations

import argparse
import filecmp
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# generated tree (relative to buf's output dir) -> committed home (relative to the repo), and the files
# in the home that are ours, not generated.
TARGETS: dict[str, tuple[str, frozenset[str]]] = {
    "python/ecco/v1": ("ecco/v1", frozenset({"__init__.py"})),
    "go/ecco/v1": ("clients/go/ecco/v1", frozenset()),
    "ts/ecco/v1": ("clients/ts/gen/ecco/v1", frozenset()),
}
TEMPLATES = ("buf.gen.yaml", "buf.gen.go.yaml")


def _tool_path() -> str:
    """The pinned plugins first: Python's from the venv, Go's from .bin (`make setup`), protoc-gen-es and the
    Node 24 it needs from clients/ts, buf from the root npm tools."""
    bins = [
        Path(sys.executable).parent,
        ROOT / ".bin",
        ROOT / "clients" / "ts" / "node_modules" / ".bin",
        ROOT / "node_modules" / ".bin",
    ]
    return os.pathsep.join([*map(str, bins), os.environ.get("PATH", "")])


def generate(out_dir: Path) -> None:
    """Run buf generate for every template with every plugin writing below out_dir."""
    env = {**os.environ, "PATH": _tool_path()}
    for name in TEMPLATES:
        template = (ROOT / name).read_text().replace(".buf-gen/", f"{out_dir}/")
        subprocess.run(["buf", "generate", "--template", template], cwd=ROOT, env=env, check=True)


def _generated_files(home: Path, ours: frozenset[str]) -> dict[str, Path]:
    if not home.exists():
        return {}
    return {
        str(p.relative_to(home)): p
        for p in home.rglob("*")
        if p.is_file() and p.name not in ours and "__pycache__" not in p.parts
    }


def diff(out_dir: Path) -> list[str]:
    """Name every committed file that differs from, is missing from, or is absent in fresh output."""
    problems = []
    for generated, (home, ours) in TARGETS.items():
        fresh = _generated_files(out_dir / generated, ours)
        committed = _generated_files(ROOT / home, ours)
        for name in sorted(fresh.keys() | committed.keys()):
            if name not in committed:
                problems.append(f"missing: {home}/{name}")
            elif name not in fresh:
                problems.append(f"stale: {home}/{name}")
            elif not filecmp.cmp(fresh[name], committed[name], shallow=False):
                problems.append(f"differs: {home}/{name}")
    return problems


def install(out_dir: Path) -> None:
    """Replace each committed home's generated files with the fresh output."""
    for generated, (home, ours) in TARGETS.items():
        for stale in _generated_files(ROOT / home, ours).values():
            stale.unlink()
        for name, path in _generated_files(out_dir / generated, ours).items():
            target = ROOT / home / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail if the committed stubs are not current")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ecco-gen-") as tmp:
        out_dir = Path(tmp)
        generate(out_dir)
        if args.check:
            problems = diff(out_dir)
            for line in problems:
                print(f"check-gen: {line}", file=sys.stderr)
            if problems:
                print("check-gen: generated code is out of date; run `make gen` and commit", file=sys.stderr)
                return 1
            print("check-gen: generated code is current")
            return 0
        install(out_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
