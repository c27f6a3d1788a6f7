"""An independent A2A agent for the tests, built on the official a2a-sdk server (Starlette + uvicorn, loopback only).

It answers each message as a task whose artifact is `a2a-peer: <text>`; a message whose text contains "fail" ends
its task failed with "the peer refused". JSON-RPC needs `Authorization: Bearer <token>` when a token is given.
The first stdout line is {"port": N} once listening; every message's text is then printed as {"text": ...}. The
process exits by itself after `lifetime` seconds, so a crashed test cannot leave it behind.

Usage: python a2a_peer.py TOKEN [lifetime_seconds]
"""

from __future__ import annotations

import json
import socket
import sys
import threading

import uvicorn
from a2a.helpers.proto_helpers import new_task_from_user_message, new_text_message, new_text_part
from a2a.server.agent_execution import AgentExecutor, RequestContext
from a2a.server.events import EventQueue
from a2a.server.request_handlers import DefaultRequestHandler
from a2a.server.routes import create_agent_card_routes, create_jsonrpc_routes
from a2a.server.tasks import InMemoryTaskStore, TaskUpdater
from a2a.types.a2a_pb2 import AgentCapabilities, AgentCard, AgentInterface, AgentSkill
from starlette.applications import Starlette
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.responses import JSONResponse


class Peer(AgentExecutor):
    async def execute(self, context: RequestContext, event_queue: EventQueue) -> None:
        text = context.get_user_input()
        print(json.dumps({"text": text}), flush=True)
        task = context.current_task or new_task_from_user_message(context.message)
        await event_queue.enqueue_event(task)
        updater = TaskUpdater(event_queue, task.id, task.context_id)
        if "fail" in text:
            await updater.failed(new_text_message("the peer refused", context_id=task.context_id))
            return
        await updater.add_artifact([new_text_part(f"a2a-peer: {text}")], name="reply")
        await updater.complete()

    async def cancel(self, context: RequestContext, event_queue: EventQueue) -> None:
        raise NotImplementedError


def app(port: int, token: str) -> Starlette:
    url = f"http://127.0.0.1:{port}/a2a/v1"
    card = AgentCard(
        name="a2a-peer",
        description="test peer",
        version="1.0.0",
        supported_interfaces=[AgentInterface(url=url, protocol_binding="JSONRPC", protocol_version="1.0")],
        capabilities=AgentCapabilities(streaming=False),
        default_input_modes=["text/plain"],
        default_output_modes=["text/plain"],
        skills=[AgentSkill(id="echo", name="echo", description="echoes", tags=["test"])],
    )
    handler = DefaultRequestHandler(agent_executor=Peer(), task_store=InMemoryTaskStore(), agent_card=card)
    routes = [*create_agent_card_routes(card), *create_jsonrpc_routes(handler, "/a2a/v1")]
    application = Starlette(routes=routes)

    async def bearer(request, call_next):  # type: ignore[no-untyped-def]
        if request.method == "POST" and token and request.headers.get("authorization") != f"Bearer {token}":
            return JSONResponse({"error": "unauthorized"}, status_code=401)
        return await call_next(request)

    application.add_middleware(BaseHTTPMiddleware, dispatch=bearer)
    return application


def main() -> None:
    token = sys.argv[1]
    lifetime = float(sys.argv[2]) if len(sys.argv) > 2 else 300.0
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app(port, token), log_level="warning"))
    timer = threading.Timer(lifetime, lambda: setattr(server, "should_exit", True))
    timer.daemon = True
    timer.start()
    print(json.dumps({"port": port}), flush=True)
    server.run(sockets=[listener])


if __name__ == "__main__":
    main()
