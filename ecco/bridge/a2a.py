"""A2A over HTTP with aiohttp: the JSON-RPC client ecco uses to call an A2A agent (OpenClaw's `/a2a/v1`, or any
agent behind `--responder a2a:<url>`), and the server of `ecco up --a2a-listen` (agent card + JSON-RPC endpoint).

The protocol itself (what a message means, task states) is in ecco.services.bridge.a2a; this module only moves
JSON. ecco's HTTP stack is aiohttp, so the server is not a2a-sdk's (Starlette); the tests check both directions
against a2a-sdk's client and server.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from collections.abc import Mapping
from typing import Any

import aiohttp
from aiohttp import web

from ecco.bridge.http import ERROR_TEXT_LIMIT, retry_after
from ecco.services.bridge import A2A_CARD_PATH, A2A_PROTOCOL_VERSION, A2A_RPC_PATH, PARSE_ERROR, A2AAgent, RpcResult

log = logging.getLogger("ecco.a2a")
MAX_BODY_BYTES = 1 << 20  # OpenClaw's own limit per A2A request
CALL_TIMEOUT_S = 330.0  # a blocking SendMessage lasts as long as the agent's run


class AiohttpJsonRpc:
    """JSON-RPC 2.0 calls to one endpoint, with `Authorization: Bearer <token>` when a token is given."""

    def __init__(self, url: str, token: str = "", timeout_s: float = CALL_TIMEOUT_S) -> None:
        self._url = url
        self._headers = {"content-type": "application/json", "A2A-Version": A2A_PROTOCOL_VERSION}
        if token:
            self._headers["authorization"] = f"Bearer {token}"
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._session: aiohttp.ClientSession | None = None
        self._ids = 0

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def call(self, method: str, params: Mapping[str, Any]) -> RpcResult:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        self._ids += 1
        body = {"jsonrpc": "2.0", "id": self._ids, "method": method, "params": dict(params)}
        try:
            async with self._session.post(self._url, json=body, headers=self._headers, allow_redirects=False) as reply:
                if not 200 <= reply.status < 300:
                    text = (await reply.content.read(ERROR_TEXT_LIMIT)).decode("utf-8", "replace").strip()
                    return RpcResult(reply.status, None, text, retry_after(reply.headers.get("Retry-After")))
                try:
                    document = json.loads(await reply.read())
                except ValueError:
                    return RpcResult(reply.status, None, "the answer is not JSON")
                if not isinstance(document, dict):
                    return RpcResult(reply.status, None, "the answer is not a JSON-RPC object")
                return RpcResult(reply.status, document)
        except TimeoutError:
            return RpcResult(0, error="timed out")
        except aiohttp.ClientConnectorError as error:
            return RpcResult(0, error=f"connection failed ({error.os_error.strerror or 'refused'})")
        except (aiohttp.ClientError, OSError, asyncio.IncompleteReadError) as error:
            return RpcResult(0, error=type(error).__name__)


def _rpc_error(code: int, message: str, status: int = 200) -> web.Response:
    body = {"jsonrpc": "2.0", "id": None, "error": {"code": code, "message": message}}
    return web.json_response(body, status=status)


class A2AServer:
    """`--a2a-listen HOST:PORT`: the agent card at /.well-known/agent-card.json (public, as A2A clients expect) and
    JSON-RPC at /a2a/v1, which needs `Authorization: Bearer <token>` when a token is configured."""

    def __init__(self, agent: A2AAgent, token: str = "") -> None:
        self._agent = agent
        self._token = token
        self._runner: web.AppRunner | None = None
        self.address = ""

    async def start(self, listen: str) -> str:
        host, _, port = listen.rpartition(":")
        app = web.Application(client_max_size=MAX_BODY_BYTES)
        app.router.add_get(A2A_CARD_PATH, self._card)
        app.router.add_post(A2A_RPC_PATH, self._rpc)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host.strip("[]"), int(port))
        await site.start()
        bound = self._runner.addresses[0]
        self.address = f"[{bound[0]}]:{bound[1]}" if ":" in bound[0] else f"{bound[0]}:{bound[1]}"
        return self.address

    async def stop(self) -> None:
        await self._agent.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def _url(self, request: web.Request) -> str:
        return f"http://{request.host}{A2A_RPC_PATH}"

    async def _card(self, request: web.Request) -> web.Response:
        return web.json_response(self._agent.card(self._url(request), bool(self._token)))

    async def _rpc(self, request: web.Request) -> web.Response:
        if self._token:
            given = request.headers.get("authorization", "")
            if not hmac.compare_digest(given.encode(), f"Bearer {self._token}".encode()):
                return web.json_response({"error": "Unauthorized: a Bearer token is required"}, status=401)
        try:
            document = json.loads(await request.read())
        except web.HTTPRequestEntityTooLarge:
            return _rpc_error(PARSE_ERROR, f"the request is larger than {MAX_BODY_BYTES} bytes", 413)
        except ValueError:
            return _rpc_error(PARSE_ERROR, "the body is not JSON")
        return web.json_response(await self._agent.handle(document))
