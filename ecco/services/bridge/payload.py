"""What the bridge POSTs for an event: the JSON body and headers, and the text that tells the agent what arrived
and exactly how to answer it (upstream-ecco §12.2 items 2 and 4).

The body fits both OpenClaw surfaces a user may point the bridge at: `/hooks/agent` reads `message`, `name` and
`deliver`; a mapped hook (`hooks.mappings`, e.g. `/hooks/ecco`) templates any field such as `{{message}}`.
"""

from __future__ import annotations

import json
import shlex
from datetime import UTC, datetime
from typing import Any

from ecco.services.bridge.rules import PROVIDER_TYPE
from ecco.services.messaging import prompt_of, reply_content
from ecco.services.ports import Direction, EventRecord

REPLY_TYPE = "agent-response"
# What the reply recipe shows for the answer text; the agent replaces it.
ANSWER_PLACEHOLDER = "<your answer>"


def _payload(event: EventRecord) -> Any:
    try:
        return json.loads(event.payload_json)
    except ValueError:
        return event.payload_json


def _compact(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _node_flag(node_name: str) -> str:
    """` --node <name>` for a named node, so pasted commands reach the node the event came from."""
    return f" --node {shlex.quote(node_name)}" if node_name else ""


def _prompt(payload: Any) -> str:
    """The request text for the agent: the prompt (plain or AI-SDK messages), else the payload as JSON."""
    prompt = prompt_of(payload)
    return prompt if prompt is not None else _compact(payload)


def prompt_text(event: EventRecord) -> str | None:
    """An agent-request's prompt (plain or AI-SDK messages), None when it has none."""
    return prompt_of(_payload(event))


def reply_command(peer_id: str, request_id: str, node_name: str = "", answer: str = ANSWER_PLACEHOLDER) -> str:
    """The shell command that answers a request (upstream-ecco §12.2 item 4), quoted so it can be pasted as is."""
    payload = _compact({"requestId": request_id, "response": {"text": answer, "finishReason": "stop"}})
    to = f"{_node_flag(node_name)} {shlex.quote(peer_id)}"
    return f"ecco send{to} --type agent-response --payload {shlex.quote(payload)}"


def message_text(event: EventRecord, payload: Any, node_name: str = "") -> str:
    """The text the agent reads: what arrived (`payload`, the event's parsed payload), from whom, and exactly how
    to answer."""
    request_id = event.request_id or event.message_id
    sender = event.peer_id or "this node"
    if event.type == PROVIDER_TYPE and event.direction == Direction.INBOUND:
        return (
            f"ecco agent-request {request_id} from peer {sender}.\n\n"
            f"Request:\n{_prompt(payload)}\n\n"
            f"Do the work, then reply by running exactly this command, with your answer as the text:\n"
            f"{reply_command(event.peer_id, request_id, node_name)}\n"
            "To stream partial output first, send `--type stream-chunk` messages with "
            f'{{"requestId":"{request_id}","chunk":"..."}}, then `--type stream-complete`.'
        )
    about = f" (request {request_id})" if request_id else ""
    text = f"ecco {event.type} from {sender}{about}:\n{_reply_text(payload) if _is_reply(event) else _compact(payload)}"
    if event.peer_id:
        text += (
            f"\n\nTo message this peer: ecco send{_node_flag(node_name)} {shlex.quote(event.peer_id)}"
            " --type <type> --payload '<json>'"
        )
    return text


def _is_reply(event: EventRecord) -> bool:
    return event.type == REPLY_TYPE


def _reply_text(payload: Any) -> str:
    """An agent-response as the agent should read it, whichever of the two reply shapes the peer used (upstream's
    built-in responder wraps its answer twice)."""
    content = reply_content(payload)
    if content.error:
        return f"error: {content.error}"
    return content.text + (f"\n(finishReason: {content.finish_reason})" if content.finish_reason else "")


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def hook_body(event: EventRecord, peer_id: str, node_name: str = "") -> dict[str, Any]:
    """The JSON body POSTed for an event. `message`/`name`/`deliver` are what OpenClaw's `/hooks/agent` reads; the
    rest is the ecco event, for mapping templates and transforms."""
    request_id = event.request_id or event.message_id
    payload = _payload(event)
    body: dict[str, Any] = {
        "message": message_text(event, payload, node_name),
        "name": f"ecco {event.type}",
        "deliver": False,
        "source": "ecco",
        "type": event.type,
        "kind": event.type,
        "eventId": event.id,
        "cursor": event.cursor,
        "messageId": event.message_id,
        "requestId": request_id,
        "from": event.peer_id,
        "to": peer_id if event.direction == Direction.INBOUND else "",
        "payload": payload,
        "timestamp": _iso(event.created_at_ms),
        "replyCommand": reply_command(event.peer_id, request_id, node_name) if event.peer_id and request_id else "",
    }
    if _is_reply(event):
        # The answer unwrapped from either reply shape, so mapping templates can use {{reply.text}}.
        content = reply_content(payload)
        body["reply"] = {"text": content.text, "finishReason": content.finish_reason, "error": content.error}
    return body


def hook_headers(event: EventRecord, token: str) -> dict[str, str]:
    """Bearer auth (never `?token=`, which OpenClaw refuses) and the event id as idempotency key: OpenClaw replays
    the same run for a repeated key, so a redelivery after a crash does not start a second agent run."""
    return {
        "Authorization": f"Bearer {token}",
        "Content-Type": "application/json",
        "Idempotency-Key": event.id,
    }
