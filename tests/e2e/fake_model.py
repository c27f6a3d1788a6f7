"""A fake OpenAI-compatible model server for OpenClaw's agent runs in the e2e tests (stdlib only, loopback only).

OpenClaw asks `GET /v1/models`, then `POST /v1/chat/completions` with `stream: true`; this answers every chat with
one short text reply as SSE chunks ending in `data: [DONE]`, so hook-triggered agent runs finish with status ok
(or, for `SEND_TO_ECCO <text>`, with a scripted `message` tool call to the A2A peer `ecco`). Every chat request is
printed to stdout as one JSON line {"path", "user", "tools"} (its user messages' text and its tool results), which
is how the tests see what reached the agent. The first stdout line is {"port": N} once listening; the process exits
by itself after `lifetime` seconds, so a crashed test cannot leave it behind.

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
# A user line `SEND_TO_ECCO <text>` gets a scripted tool call instead of a text reply: OpenClaw's `message` tool
# sending <text> to the A2A peer `ecco` (the ecco node). The run's next chat request carries the tool's result.
MARKER = "SEND_TO_ECCO "
# A user text containing SLOW_REPLY is answered after SLOW_S seconds: long enough to stop a gateway mid-run.
SLOW_MARKER = "SLOW_REPLY"
SLOW_S = 8.0


def scripted_call(text: str, messages: list[dict[str, Any]]) -> dict[str, Any] | None:
    if any(m.get("role") == "tool" for m in messages):
        return None
    line = next((line for line in text.splitlines() if MARKER in line), None)
    if line is None:
        return None
    message = line.split(MARKER, 1)[1].strip()
    args = {"id": "message", "args": {"action": "send", "channel": "a2a", "target": "ecco", "message": message}}
    function = {"name": "tool_call", "arguments": json.dumps(args)}
    return {"id": "call_" + uuid.uuid4().hex[:8], "type": "function", "function": function}


def tool_results(messages: list[dict[str, Any]]) -> list[str]:
    results = []
    for message in messages:
        if message.get("role") == "tool":
            content = message.get("content") or ""
            results.append(content if isinstance(content, str) else json.dumps(content))
    return results


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
        messages = request.get("messages", [])
        text = user_text(messages)
        emit({"path": self.path, "user": text, "tools": tool_results(messages)})
        call = scripted_call(text, messages)
        if SLOW_MARKER in text:
            time.sleep(SLOW_S)
        reply = "FAKE-REPLY: " + text[-120:].replace("\n", " ")
        finish = "tool_calls" if call else "stop"
        base = {"id": "chatcmpl-" + uuid.uuid4().hex[:10], "created": int(time.time()), "model": request.get("model")}
        if not request.get("stream"):
            message: dict[str, Any] = {"role": "assistant", "content": None if call else reply}
            if call:
                message["tool_calls"] = [call]
            choice = {"index": 0, "message": message, "finish_reason": finish}
            self.reply_json(200, {**base, "object": "chat.completion", "usage": USAGE, "choices": [choice]})
            return
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("connection", "close")
        self.end_headers()
        middle = {"tool_calls": [{"index": 0, **call}]} if call else {"content": reply}
        for delta, fin in (({"role": "assistant", "content": ""}, None), (middle, None), ({}, finish)):
            chunk: dict[str, Any] = {
                **base,
                "object": "chat.completion.chunk",
                "choices": [{"index": 0, "delta": delta, "finish_reason": fin}],
            }
            if fin:
                chunk["usage"] = USAGE
            try:
                self.wfile.write(b"data: " + json.dumps(chunk).encode() + b"\n\n")
            except (BrokenPipeError, ConnectionResetError):  # the gateway went away mid-answer (a test killed it)
                self.close_connection = True
                return
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
