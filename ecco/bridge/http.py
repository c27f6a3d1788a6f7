"""OpenClaw hook delivery over aiohttp: one session (keep-alive connections) per bridge, every failure returned as
an AttemptResult instead of raised, so the retry policy sees HTTP and network failures alike."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp

from ecco.services.bridge import AttemptResult

DEFAULT_TIMEOUT_S = 30.0
# How much of an error answer is kept for the log and the dead letter (OpenClaw's are short JSON or text).
ERROR_TEXT_LIMIT = 300


def retry_after(value: str | None) -> float | None:
    """Retry-After in seconds (the HTTP-date form is not used by OpenClaw and is ignored)."""
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    return seconds if seconds >= 0 else None


def _run_id(body: bytes) -> str:
    """OpenClaw's `runId` from a 2xx answer; empty for any other body (a proxy, a mapping that answers 204)."""
    try:
        document = json.loads(body)
    except ValueError:
        return ""
    run_id = document.get("runId") if isinstance(document, dict) else None
    return run_id if isinstance(run_id, str) else ""


class AiohttpHookClient:
    def __init__(self, base_url: str, timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        self._base_url = base_url.rstrip("/")
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> AiohttpHookClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        return self._session

    async def post(self, path: str, headers: dict[str, str], body: dict[str, Any]) -> AttemptResult:
        data = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
        try:
            async with self._client().post(
                self._base_url + path, data=data, headers=headers, allow_redirects=False
            ) as response:
                if 200 <= response.status < 300:
                    return AttemptResult(response.status, run_id=_run_id(await response.read()))
                text = (await response.content.read(ERROR_TEXT_LIMIT)).decode("utf-8", "replace").strip()
                return AttemptResult(response.status, text, retry_after(response.headers.get("Retry-After")))
        except TimeoutError:
            return AttemptResult(0, "timed out")
        except aiohttp.ClientConnectorError as error:
            return AttemptResult(0, f"connection failed ({error.os_error.strerror or 'refused'})")
        except (aiohttp.ClientError, OSError, asyncio.IncompleteReadError) as error:
            return AttemptResult(0, type(error).__name__)
