"""Make `.bin/go` a Go toolchain (`make setup`), so the Go client builds on a machine without a recent Go.

A `go` of 1.21 or later already on PATH is linked as is: from 1.21 on, go fetches the toolchain a go.mod asks for
by itself. Otherwise an older go (the system's, else Debian's golang package unpacked into .toolchain/, not
installed) downloads the pinned toolchain as the Go module golang.org/toolchain (the module a recent go would
fetch, checked against the Go checksum database) into .toolchain/mod, and that one is linked.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TOOLCHAIN = ROOT / ".toolchain"
VERSION = "1.26.8"
MIN_SELF_SWITCHING = (1, 21)


def _version(go: str) -> tuple[int, int] | None:
    done = subprocess.run([go, "env", "GOVERSION"], capture_output=True, text=True)
    match = re.match(r"go(\d+)\.(\d+)", done.stdout.strip())
    return (int(match[1]), int(match[2])) if done.returncode == 0 and match else None


def _debian_go() -> str:
    """Debian's go (whatever version bookworm has), unpacked into .toolchain/debian, only to bootstrap."""
    unpacked = TOOLCHAIN / "debian"
    found = sorted(unpacked.glob("usr/lib/go-*/bin/go"))
    if found:
        return str(found[-1])
    depends = subprocess.run(["apt-cache", "depends", "golang-go"], capture_output=True, text=True).stdout
    if "golang-" not in depends:
        subprocess.run(["apt-get", "update", "-qq"], check=True)
        depends = subprocess.run(["apt-cache", "depends", "golang-go"], capture_output=True, text=True).stdout
    package = re.search(r"Depends: (golang-[\d.]+-go)\b", depends)
    if not package:
        raise SystemExit("no Go on PATH and no Debian golang-go package to bootstrap from")
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["apt-get", "download", package[1]], cwd=tmp, check=True)
        (deb,) = Path(tmp).glob("*.deb")
        unpacked.mkdir(parents=True, exist_ok=True)
        subprocess.run(["dpkg", "-x", str(deb), str(unpacked)], check=True)
    return str(sorted(unpacked.glob("usr/lib/go-*/bin/go"))[-1])


def _download(bootstrap: str) -> str:
    """The pinned toolchain, fetched by `bootstrap` as a module; its executables made executable again."""
    module = f"golang.org/toolchain@v0.0.1-go{VERSION}.linux-amd64"
    env = {**os.environ, "GOMODCACHE": str(TOOLCHAIN / "mod"), "GOFLAGS": "-modcacherw", "GOTOOLCHAIN": "local"}
    with tempfile.TemporaryDirectory() as tmp:
        done = subprocess.run(
            [bootstrap, "mod", "download", "-json", module], cwd=tmp, env=env, capture_output=True, text=True
        )
    if done.returncode != 0:
        raise SystemExit(f"cannot download {module}: {done.stdout}{done.stderr}")
    home = Path(json.loads(done.stdout)["Dir"])
    for executable in [*home.glob("bin/*"), *home.glob("pkg/tool/*/*")]:
        executable.chmod(0o755)
    return str(home / "bin" / "go")


def main() -> int:
    system = shutil.which("go")
    version = _version(system) if system else None
    if system and version and version >= MIN_SELF_SWITCHING:
        go = str(Path(system).resolve())
    else:
        go = _download(system if version else _debian_go())
    link = ROOT / ".bin" / "go"
    link.parent.mkdir(exist_ok=True)
    link.unlink(missing_ok=True)
    link.symlink_to(go)
    print(f".bin/go -> {go}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
