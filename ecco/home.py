"""Where a node keeps its state, and which nodes are running.

Every node lives in `$ECCO_HOME/nodes/<name>/` (default `~/.ecco`), so several nodes and test runs never
collide. A running daemon holds an exclusive flock on `daemon.lock` for its whole life; the kernel drops it when
the process dies, however it dies, so "is it running?" never trusts a possibly stale pid file.
"""

from __future__ import annotations

import fcntl
import os
import re
from dataclasses import dataclass
from pathlib import Path

from ecco.errors import FailedPrecondition, InvalidArgument, NotFound, Reason

NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
# sun_path is 108 bytes including the terminating NUL.
MAX_SOCKET_PATH = 107


def ecco_home() -> Path:
    """The root of all node state: $ECCO_HOME, else ~/.ecco."""
    return Path(os.environ.get("ECCO_HOME") or Path.home() / ".ecco").expanduser()


def validate_name(name: str) -> str:
    if not NAME_PATTERN.match(name):
        raise InvalidArgument(
            f"invalid node name {name!r}: use 1-64 characters of letters, digits, '.', '_' or '-', "
            "starting with a letter or digit",
            Reason.INVALID_ARGUMENT,
            field="--name",
        )
    return name


@dataclass(frozen=True)
class NodePaths:
    """The files of one node's state directory."""

    name: str
    home: Path

    @classmethod
    def for_name(cls, name: str, home: Path | None = None) -> NodePaths:
        return cls(validate_name(name), home or ecco_home())

    @property
    def dir(self) -> Path:
        return self.home / "nodes" / self.name

    @property
    def identity_key(self) -> Path:
        return self.dir / "identity.key"

    @property
    def database(self) -> Path:
        return self.dir / "ecco.db"

    @property
    def pid_file(self) -> Path:
        return self.dir / "daemon.pid"

    @property
    def lock_file(self) -> Path:
        return self.dir / "daemon.lock"

    @property
    def socket(self) -> Path:
        return self.dir / "api.sock"

    @property
    def token_file(self) -> Path:
        return self.dir / "api.token"

    @property
    def tcp_address_file(self) -> Path:
        """Holds "127.0.0.1:PORT" while the daemon serves the API on loopback TCP."""
        return self.dir / "api.tcp"

    @property
    def log_file(self) -> Path:
        return self.dir / "daemon.log"

    @property
    def config_file(self) -> Path:
        """The effective configuration the daemon runs with (secrets masked)."""
        return self.dir / "config.toml"

    def ensure_dir(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(self.dir, 0o700)

    def check_socket_path(self) -> None:
        if len(os.fsencode(self.socket)) > MAX_SOCKET_PATH:
            raise InvalidArgument(
                f"the API socket path {self.socket} is longer than {MAX_SOCKET_PATH} bytes; "
                "set ECCO_HOME to a shorter directory",
                Reason.CONFIG_INVALID,
                field="ECCO_HOME",
            )

    def is_running(self) -> bool:
        """True while a daemon holds this node's lock."""
        try:
            fd = os.open(self.lock_file, os.O_RDONLY)
        except FileNotFoundError:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        finally:
            os.close(fd)
        return False

    def read_pid(self) -> int | None:
        try:
            return int(self.pid_file.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None


def running_nodes(home: Path | None = None) -> list[NodePaths]:
    """Every node under the home whose daemon holds its lock, sorted by name."""
    root = (home or ecco_home()) / "nodes"
    if not root.is_dir():
        return []
    found = []
    for entry in sorted(root.iterdir()):
        if entry.is_dir() and NAME_PATTERN.match(entry.name):
            paths = NodePaths(entry.name, root.parent)
            if paths.is_running():
                found.append(paths)
    return found


def _describe(nodes: list[NodePaths]) -> str:
    if not nodes:
        return "no node is running; start one with `ecco up --name <name>`"
    return "running nodes: " + ", ".join(n.name for n in nodes)


def select_node(name: str | None, home: Path | None = None) -> NodePaths:
    """Pick the node a CLI command talks to: --node, then ECCO_NODE, then the only running node."""
    name = name or os.environ.get("ECCO_NODE") or None
    if name:
        paths = NodePaths.for_name(name, home)
        if not paths.is_running():
            raise NotFound(
                f"node {name!r} is not running; {_describe(running_nodes(home))}",
                Reason.NODE_NOT_FOUND,
                field="--node",
            )
        return paths
    running = running_nodes(home)
    if len(running) == 1:
        return running[0]
    if not running:
        raise NotFound(_describe(running), Reason.NODE_NOT_RUNNING)
    raise FailedPrecondition(
        f"several nodes are running; choose one with --node or ECCO_NODE ({_describe(running)})",
        Reason.NODE_AMBIGUOUS,
        field="--node",
    )
