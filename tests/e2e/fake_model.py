"""A fake OpenAI-compatible model server for OpenClaw's agent runs in the e2e tests (stdlib only, loopback only).

OpenClaw asks `GET /v1/models`, then `POST /v1/chat/completions` with `stream: true`; this answers every chat with
one short text reply as SSE chunks ending in `data: [DONE]`, so hook-triggered agent runs finish with status ok.
Every chat request is printed to stdout as one JSON line {"path", "user"} (its user messages' text), which is how the
tests see what reached the agent. The first stdout line is {"port": N} once listening; the process exits by itself
after `lifetime` seconds, so a crashed test cannot leave it behind.

Usage: python fake_model.py [lifetime_seconds]
"""

from __future__ import annotations

import json
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

USAGE = {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}


def user_text(messages: list[dict[str, Any]]) -> str:
    """Every user message's text, joined (OpenClaw puts the hook text and its own context in separate ones)."""
    texts = []
    for message in messages:
        if message.get("role") == "user":
            content = message.get("content") or ""
            if isinstance(content, str):
                texts.append(content)
            else:
                texts.extend(part.get("text", "") for part in content if isinstance(part, dict))
    return "\n".join(texts)


def emit(document: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(document) + "\n")
    sys.stdout.flush()


class FakeModel(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: Any) -> None:
        pass

    def reply_json(self, code: int, document: dict[str, Any]) -> None:
        body = json.dumps(document).encode()
        self.send_response(code)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        if self.path.rstrip("/").endswith("/models"):
            self.reply_json(200, {"object": "list", "data": [{"id": "fake-model", "object": "model"}]})
        else:
            self.reply_json(404, {"error": "not found"})

    def do_POST(self) -> None:
        request = json.loads(self.rfile.read(int(self.headers.get("content-length") or 0)) or b"{}")
        if not self.path.endswith("/chat/completions"):
            self.reply_json(404, {"error": "not found"})
            return
        text = user_text(request.get("messages", []))
        emit({"path": self.path, "user": text})
        reply = "FAKE-REPLY: " + text[-120:].replace("\n", " ")
        base = {"id": "chatcmpl-" + uuid.uuid4().hex[:10], "created": int(time.time()), "model": request.get("model")}
        if not request.get("stream"):
            message = {"role": "assistant", "content": reply}
            choice = {"index": 0, "message": message, "finish_reason": "stop"}
            self.reply_json(200, {**base, "object": "chat.completion", "usage": USAGE, "choices": [choice]})
            return
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("connection", "close")
        self.end_headers()
        for delta, finish in (({"role": "assistant", "content": ""}, None), ({"content": reply}, None), ({}, "stop")):
            chunk: dict[str, Any] = {
                **base,
                "object": "chat.completion.chunk",
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            }
            if finish:
                chunk["usage"] = USAGE
            self.wfile.write(b"data: " + json.dumps(chunk).encode() + b"\n\n")
        self.wfile.write(b"data: [DONE]\n\n")
        self.wfile.flush()
        self.close_connection = True


def main() -> None:
    lifetime = float(sys.argv[1]) if len(sys.argv) > 1 else 600.0
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeModel)
    timer = threading.Timer(lifetime, server.shutdown)
    timer.daemon = True
    timer.start()
    emit({"port": server.server_address[1]})
    server.serve_forever()


if __name__ == "__main__":
    main()
