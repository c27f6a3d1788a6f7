"""A PostgreSQL server for the tests: a throw-away cluster the suite starts itself, or the user's own.

`ECCO_TEST_PG_URL=postgresql+asyncpg://user:pass@host:port/postgres` points the suite at an existing server (the
user must be allowed to CREATE DATABASE); otherwise the first test that needs PostgreSQL starts a cluster from
Debian's `postgresql` package (`make setup` installs it): initdb into a fresh directory under /tmp owned by
`nobody` when the tests run as root (PostgreSQL refuses to run as root; otherwise the cluster is the current
user's), listening only on a unix socket in that directory. The postmaster runs in its own session (pg_ctl calls
setsid) and is stopped by its PID when the session ends, at interpreter exit, or on SIGTERM/SIGHUP, whatever
happens to the tests.

Each test gets its own database (CREATE DATABASE from template0 takes a few milliseconds), so tests never see
each other's rows. The cluster runs with fsync=off: it only protects against an operating-system crash, which no
test simulates; commits stay synchronous, so a server killed with `-m immediate` keeps every acknowledged row.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import glob
import itertools
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import threading
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

PG_URL_ENV = "ECCO_TEST_PG_URL"
USER = "nobody"
START_TIMEOUT_S = 60


def _run_sync(coro: Coroutine[Any, Any, Any]) -> Any:
    """Run a coroutine to completion from any thread, also from inside a running event loop (pytest-asyncio)."""
    result: list[Any] = []
    errors: list[BaseException] = []

    def target() -> None:
        try:
            result.append(asyncio.run(coro))
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=target, name="pg-admin")
    thread.start()
    thread.join(60)
    if errors:
        raise errors[0]
    assert result, "PostgreSQL admin statement did not finish within 60 s"
    return result[0]


def bin_dir() -> Path:
    """The newest installed PostgreSQL's binaries; a missing server is an error (make setup installs it)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(Path(p).parts[4]))
    if not found:
        raise RuntimeError(
            "PostgreSQL is not installed: run `make setup` (apt-get install postgresql), "
            f"or set {PG_URL_ENV} to a server of your own"
        )
    return Path(found[-1]).parent


class PgServer:
    """Where the tests' databases live: `admin_url` reaches a database we may CREATE/DROP DATABASE from."""

    def __init__(self, admin_url: str, *, owned: bool) -> None:
        self.admin_url = make_url(admin_url)
        self.owned = owned  # True when the suite started the server (and so may restart it)
        self._names = itertools.count(1)

    def url(self, database: str) -> str:
        return self.admin_url.set(database=database).render_as_string(hide_password=False)

    @staticmethod
    async def _connect(url: str) -> Any:
        import asyncpg

        target = make_url(url)
        return await asyncpg.connect(
            user=target.username,
            password=target.password,
            host=target.query.get("host") or target.host,
            port=target.port,
            database=target.database,
        )

    async def _admin(self, *statements: str) -> None:
        """Each statement on its own (CREATE DATABASE may not share a transaction)."""
        conn = await self._connect(self.admin_url.render_as_string(hide_password=False))
        try:
            for statement in statements:
                await conn.execute(statement)
        finally:
            await conn.close()

    async def _fetch(self, url: str, query: str) -> list[tuple[Any, ...]]:
        conn = await self._connect(url)
        try:
            return [tuple(row) for row in await conn.fetch(query)]
        finally:
            await conn.close()

    def fetch(self, url: str, query: str) -> list[tuple[Any, ...]]:
        """Rows of `query` on the database at `url` (a test looking into a node's database directly)."""
        return _run_sync(self._fetch(url, query))

    def new_database(self, prefix: str = "t") -> str:
        """A fresh, empty database; its SQLAlchemy URL."""
        name = f"ecco_{prefix}_{os.getpid()}_{next(self._names)}"
        _run_sync(self._admin(f'DROP DATABASE IF EXISTS "{name}"', f'CREATE DATABASE "{name}" TEMPLATE template0'))
        return self.url(name)

    def drop_database(self, url: str) -> None:
        name = make_url(url).database
        _run_sync(self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    def terminate_connections(self, url: str) -> None:
        """Cut every connection to this database, as a network failure or an administrator would."""
        name = make_url(url).database
        _run_sync(
            self._admin(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                f" WHERE datname = '{name}' AND pid <> pg_backend_pid()"
            )
        )

    def crash(self) -> None:
        raise NotImplementedError("only a server the suite started can be stopped and started")

    start = restart = crash

    def stop(self) -> None:
        """Nothing to stop on a server the suite did not start."""


class PgCluster(PgServer):
    """A throw-away cluster: initdb, pg_ctl start (unix socket only), stop by PID, directory removed."""

    def __init__(self, *, fsync: bool = False) -> None:
        """`fsync=True` for benchmarks: commits then cost what they cost on a production server."""
        self.fsync = fsync
        self.bin = bin_dir()
        self.root = Path(tempfile.mkdtemp(prefix="ecco-pg-", dir="/tmp"))
        self.data = self.root / "data"
        self.log = self.root / "postgres.log"
        self.pid: int | None = None
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root: the cluster belongs to USER
            user = pwd.getpwnam(USER)
            os.chown(self.root, user.pw_uid, user.pw_gid)
        os.chmod(self.root, 0o755)
        super().__init__(f"postgresql+asyncpg://postgres@/postgres?host={self.root}", owned=True)
        self._stopped = False
        try:
            self._as_user("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
            self._start()
        except BaseException:
            self.stop()
            raise

    def _as_user(self, tool: str, *args: str, timeout: float = START_TIMEOUT_S) -> None:
        """Run a PostgreSQL tool as USER when we are root (setpriv execs it: no session, no PAM), else as ourselves."""
        command = [str(self.bin / tool), *args]
        if os.geteuid() == 0:
            user = pwd.getpwnam(USER)
            command = ["setpriv", f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}", "--clear-groups", *command]
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=timeout, cwd=self.root, stdin=subprocess.DEVNULL
        )
        if done.returncode != 0:
            log = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            raise RuntimeError(f"{tool} failed ({done.returncode}): {done.stderr[-2000:]}{log}")

    def _start(self) -> None:
        options = " ".join(
            [
                f"-k {self.root}",
                "-c listen_addresses=''",
                f"-c fsync={'on' if self.fsync else 'off'}",
                f"-c full_page_writes={'on' if self.fsync else 'off'}",
                "-c max_connections=200",
                "-c shared_buffers=32MB",
            ]
        )
        # pg_ctl -w returns once the server accepts connections; it starts the postmaster in its own session.
        self._as_user("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "start")
        self.pid = int((self.data / "postmaster.pid").read_text().split()[0])

    def crash(self) -> None:
        """Stop the server as a crash would: no checkpoint, every connection cut (pg_ctl -m immediate)."""
        self._as_user("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        self.pid = None

    def start(self) -> None:
        self._start()

    def restart(self) -> None:
        self.crash()
        self._start()

    def stop(self) -> None:
        """Stop the postmaster by its PID (fast shutdown, then SIGKILL to its process group), remove the files."""
        if self._stopped:
            return
        self._stopped = True
        if self.pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGINT)  # fast shutdown: roll back, disconnect, exit
                if not _wait_gone(self.pid, 20):
                    os.killpg(self.pid, signal.SIGKILL)
                    _wait_gone(self.pid, 10)
        shutil.rmtree(self.root, ignore_errors=True)


def _wait_gone(pid: int, timeout: float) -> bool:
    """Wait for a process that is not our child to exit (pidfd: no polling)."""
    import select

    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    try:
        ready, _, _ = select.select([fd], [], [], timeout)
        return bool(ready)
    finally:
        os.close(fd)


_server: PgServer | None = None


def server() -> PgServer:
    """The session's server, started on first use; stopped by `shutdown()` (also registered with atexit and for
    SIGTERM/SIGHUP, so an interrupted run leaves no postmaster behind)."""
    global _server
    if _server is None:
        external = os.environ.get(PG_URL_ENV)
        _server = PgServer(external, owned=False) if external else PgCluster()
        atexit.register(shutdown)
        for signum in (signal.SIGTERM, signal.SIGHUP):
            if signal.getsignal(signum) in (signal.SIG_DFL, None):
                signal.signal(signum, _on_signal)
    return _server


def shutdown() -> None:
    global _server
    if _server is not None:
        _server.stop()
        _server = None


def _on_signal(signum: int, _frame: Any) -> None:
    shutdown()
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)
