"""Built-in responders for a node with no harness attached: they answer inbound agent-requests themselves.

`echo` answers with the prompt. `exec:CMD` runs CMD in a shell with the prompt on stdin; each stdout line (with its
newline) is streamed back as a stream-chunk, the whole output is the agent-response, and a non-zero exit is an
error reply. `a2a:<url>` puts the prompt to an A2A agent (ecco.services.bridge.A2AResponder, wired by the daemon).
The pieces a responder yields always concatenate to its full answer.

An exec responder runs each command in its own process group, so that ending it (on timeout, cancellation or
node stop) ends everything the command started, not just the shell: TERM first, KILL after STOP_GRACE_S.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
from collections.abc import AsyncIterator, Callable
from typing import Protocol

from ecco.errors import InvalidArgument, Reason

EXEC_TIMEOUT_S = 300.0
STDERR_TAIL_BYTES = 2000
STOP_GRACE_S = 2.0
"""How long a responder command has to exit after TERM before its process group is killed."""
SHUTTING_DOWN_ANSWER = "the provider node is shutting down"


class ResponderFailed(Exception):
    """The responder could not answer; the text goes back to the requester as the error."""


class Responder(Protocol):
    @property
    def streams(self) -> bool:
        """Whether each yielded piece is sent as a stream-chunk before the final response."""
        ...

    def respond(self, prompt: str) -> AsyncIterator[str]:
        """Yield the answer in pieces; raise ResponderFailed to answer with an error."""
        ...

    async def close(self) -> None:
        """End every answer in progress (each then fails with SHUTTING_DOWN_ANSWER); later calls fail at once."""
        ...


class EchoResponder:
    streams = False

    async def respond(self, prompt: str) -> AsyncIterator[str]:
        yield prompt

    async def close(self) -> None:
        """Nothing runs in the background."""


class ExecResponder:
    streams = True

    def __init__(self, command: str, timeout_s: float = EXEC_TIMEOUT_S, stop_grace_s: float = STOP_GRACE_S) -> None:
        self.command = command
        self.timeout_s = timeout_s
        self.stop_grace_s = stop_grace_s
        self._running: set[asyncio.subprocess.Process] = set()
        self._closed = False

    async def close(self) -> None:
        self._closed = True
        await asyncio.gather(*(self._end(process) for process in list(self._running)))

    async def _end(self, process: asyncio.subprocess.Process) -> None:
        """TERM the command's process group, KILL it if the command has not exited within the grace."""
        _signal_group(process, signal.SIGTERM)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(process.wait()), self.stop_grace_s)
        # KILL the group even when the shell has exited: what it started in the background may still run.
        _signal_group(process, signal.SIGKILL)
        await process.wait()

    async def respond(self, prompt: str) -> AsyncIterator[str]:
        if self._closed:
            raise ResponderFailed(SHUTTING_DOWN_ANSWER)
        process = await asyncio.create_subprocess_shell(
            self.command,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,  # its own process group, ended as a whole
        )
        assert process.stdin and process.stdout and process.stderr
        self._running.add(process)
        try:
            process.stdin.write(prompt.encode("utf-8"))
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                await process.stdin.drain()
            process.stdin.close()
            stderr_task = asyncio.ensure_future(process.stderr.read())
            async with asyncio.timeout(self.timeout_s):
                while line := await process.stdout.readline():
                    yield line.decode("utf-8", errors="replace")
                status = await process.wait()
            stderr = (await stderr_task)[-STDERR_TAIL_BYTES:].decode("utf-8", errors="replace").strip()
        except TimeoutError:
            raise ResponderFailed(f"the responder command took longer than {self.timeout_s:g}s") from None
        finally:
            self._running.discard(process)
            if process.returncode is None or self._closed:
                await self._end(process)
        if self._closed:
            raise ResponderFailed(SHUTTING_DOWN_ANSWER)
        if status != 0:
            detail = f": {stderr}" if stderr else ""
            raise ResponderFailed(f"the responder command exited with status {status}{detail}")


def _signal_group(process: asyncio.subprocess.Process, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signum)  # the group id is the shell's pid (start_new_session)


A2A_PREFIX = "a2a:"
A2A_URL = re.compile(r"https?://[^\s/?#]+(/[^\s?#]*)?")


def parse_responder(spec: str, a2a: Callable[[str], Responder] | None = None) -> Responder | None:
    """`--responder echo`, `exec:'CMD'` or `a2a:<url>`; empty means no responder (the harness answers). An A2A
    responder does HTTP, so the daemon passes its factory as `a2a`; without one the spec is only checked."""
    spec = spec.strip()
    if not spec:
        return None
    if spec == "echo":
        return EchoResponder()
    if spec.startswith("exec:") and spec[5:].strip():
        return ExecResponder(spec[5:].strip())
    if spec.startswith(A2A_PREFIX):
        url = spec[len(A2A_PREFIX) :].strip()
        if not A2A_URL.fullmatch(url):
            raise InvalidArgument(
                f"--responder a2a:<url> needs the http(s) URL of an A2A JSON-RPC endpoint, got {url!r}",
                Reason.INVALID_ARGUMENT,
                field="--responder",
            )
        return a2a(url) if a2a is not None else None
    raise InvalidArgument(
        f"unknown responder {spec!r}: use 'echo', 'exec:<command>' or 'a2a:<url>'",
        Reason.INVALID_ARGUMENT,
        field="--responder",
    )
