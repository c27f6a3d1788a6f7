"""A2A (the agent-to-agent protocol, JSON-RPC binding, protocol 1.0) without I/O: how an ecco node answers A2A
clients, and how ecco calls an A2A agent (OpenClaw's `/a2a/v1`, or any agent for `--responder a2a:<url>`).

Serving (`ecco up --a2a-listen`): `A2AAgent.handle` takes a parsed JSON-RPC request and returns the JSON-RPC reply.
A message names where it goes, in a data part `{"peerId": ...}` / `{"capability": ...}` (optionally with
`"prompt"`), or in its text as `peer:<peer id> <prompt>` / `capability:<name> <prompt>`; the node runs the
request (or the capability `ask`) and the task's artifact is the reply text. The agent card lists the node's
capabilities as skills.

Calling (`A2ACaller`): SendMessage, then GetTask until the task ends (a server may answer before it is done); every
outcome, failures included, comes back as an AttemptResult so the bridge's retry rules apply to it unchanged.

JSON shapes are the protocol's (proto JSON names: `messageId`, `TASK_STATE_COMPLETED`, `ROLE_USER`); the v0.3
method names (`message/send`, `tasks/get`) and part form (`{"kind": "text"}`) are accepted too.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
import uuid
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol

from ecco.errors import EccoError, Reason
from ecco.services.bridge.rules import AttemptResult, describe
from ecco.services.messaging import ResponderFailed

if TYPE_CHECKING:
    from ecco.services.discovery import Discovery
    from ecco.services.messaging import Messenger

log = logging.getLogger("ecco.a2a")
A2A_PROTOCOL_VERSION = "1.0"
A2A_RPC_PATH = "/a2a/v1"
A2A_CARD_PATH = "/.well-known/agent-card.json"
DEFAULT_TIMEOUT_S = 300.0
POLL_INTERVAL_S = 0.5
# Finished tasks kept for GetTask (and for a client re-sending the same messageId); the oldest go first.
MAX_TASKS = 1000

# JSON-RPC and A2A error codes.
PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
TASK_NOT_FOUND = -32001
TASK_NOT_CANCELABLE = -32002

SEND_METHODS = frozenset({"SendMessage", "message/send"})
GET_METHODS = frozenset({"GetTask", "tasks/get"})
CANCEL_METHODS = frozenset({"CancelTask", "tasks/cancel"})
TEXT_TARGET = re.compile(r"^\s*(peer|capability):(\S+)[ \t]*\n?(.*)$", re.S)


class TaskState(StrEnum):
    SUBMITTED = "TASK_STATE_SUBMITTED"
    WORKING = "TASK_STATE_WORKING"
    COMPLETED = "TASK_STATE_COMPLETED"
    FAILED = "TASK_STATE_FAILED"
    CANCELED = "TASK_STATE_CANCELED"
    INPUT_REQUIRED = "TASK_STATE_INPUT_REQUIRED"
    REJECTED = "TASK_STATE_REJECTED"
    AUTH_REQUIRED = "TASK_STATE_AUTH_REQUIRED"


# v0.3 wrote states in lower case ("completed", "input-required").
_STATES = {**{s.value: s for s in TaskState}, **{s.name.lower().replace("_", "-"): s for s in TaskState}}
TERMINAL = frozenset({TaskState.COMPLETED, TaskState.FAILED, TaskState.CANCELED, TaskState.REJECTED})
# States in which the agent stopped without an answer ecco could pass on.
UNANSWERED = frozenset({TaskState.FAILED, TaskState.CANCELED, TaskState.REJECTED, TaskState.INPUT_REQUIRED,
                        TaskState.AUTH_REQUIRED})  # fmt: skip


class RpcError(Exception):
    """A JSON-RPC error answer (code, message), raised inside `handle` and turned into the error object."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


# ------------------------------------------------------------------------------------------------ message parts


def _parts(message: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    parts = message.get("parts")
    return [p for p in parts if isinstance(p, Mapping)] if isinstance(parts, list) else []


def part_texts(parts: Sequence[Mapping[str, Any]]) -> str:
    """The text of text parts, joined by newlines (1.0 `{"text"}` and v0.3 `{"kind": "text", "text"}` alike)."""
    return "\n".join(p["text"] for p in parts if isinstance(p.get("text"), str))


def part_data(parts: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    return [p["data"] for p in parts if isinstance(p.get("data"), Mapping)]


@dataclass(frozen=True)
class Target:
    """Where an A2A message goes in the ecco network: one peer, or the best provider of a capability."""

    peer_id: str = ""
    capability: str = ""
    prompt: str = ""


def target_of(message: Mapping[str, Any]) -> Target:
    """The target and prompt of a message: a data part's `peerId`/`capability` (with `prompt`, else the text), or
    the text form `peer:<id> <prompt>` / `capability:<name> <prompt>`."""
    parts = _parts(message)
    text = part_texts(parts).strip()
    for data in part_data(parts):
        peer, capability = data.get("peerId"), data.get("capability")
        prompt = data.get("prompt") if isinstance(data.get("prompt"), str) else text
        if isinstance(peer, str) and peer:
            return Target(peer_id=peer, prompt=prompt)
        if isinstance(capability, str) and capability:
            return Target(capability=capability, prompt=prompt)
    match = TEXT_TARGET.match(text)
    if match:
        kind, name, prompt = match.groups()
        return Target(**{"peer_id" if kind == "peer" else "capability": name}, prompt=prompt.strip())
    raise RpcError(
        INVALID_PARAMS,
        "the message names no ecco target: start the text with 'peer:<peer id> ' or 'capability:<name> ', "
        'or add a data part {"peerId": ...} or {"capability": ...}',
    )


# ------------------------------------------------------------------------------------------------ tasks


@dataclass
class A2ATask:
    id: str
    context_id: str
    message_id: str
    state: TaskState = TaskState.WORKING
    text: str = ""
    error: str = ""
    # The client did not wait for the answer (`returnImmediately`): the reply is pushed to it when configured.
    immediate: bool = False
    done: asyncio.Event = field(default_factory=asyncio.Event)

    def to_json(self) -> dict[str, Any]:
        status: dict[str, Any] = {"state": self.state.value}
        task: dict[str, Any] = {"id": self.id, "contextId": self.context_id, "status": status, "history": []}
        if self.error:
            status["message"] = agent_message(self.error, self.context_id, self.id)
        if self.state == TaskState.COMPLETED:
            task["artifacts"] = [{"artifactId": f"{self.id}-reply", "name": "reply", "parts": [{"text": self.text}]}]
        return task


def agent_message(text: str, context_id: str, task_id: str = "") -> dict[str, Any]:
    message = {"messageId": str(uuid.uuid4()), "role": "ROLE_AGENT", "contextId": context_id, "parts": [{"text": text}]}
    if task_id:
        message["taskId"] = task_id
    return message


class Runs(Protocol):
    async def __call__(self, target: Target, timeout_s: float) -> str: ...


def network_runner(messenger: Messenger, discovery: Discovery) -> Runs:
    """Run a target on the ecco network: a request to the peer, or `ask` by capability; an agent's error answer
    raises EccoError(AGENT_FAILED)."""
    from ecco.services.discovery import CapabilityQuery

    async def run(target: Target, timeout_s: float) -> str:
        if target.peer_id:
            reply = await messenger.prompt(target.peer_id, target.prompt, timeout_s)
        else:
            query = CapabilityQuery.from_flags(target.capability)
            reply = (await discovery.ask(query, target.prompt, timeout_s, 0)).reply
        if reply.error:
            raise EccoError(f"the agent answered with an error: {reply.error}", Reason.AGENT_FAILED)
        return reply.text

    return run


def skills_of(capabilities: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Each capability as an agent-card skill; its id is the capability name a client puts in `capability:`."""
    skills = []
    for capability in capabilities:
        name = str(capability.get("name", ""))
        kind, version = capability.get("type", "agent"), capability.get("version", "")
        features = [str(f) for f in capability.get("features", []) or []]
        skills.append(
            {
                "id": name,
                "name": name,
                "description": f"ecco {kind} capability {name} {version}: send 'capability:{name} <prompt>'".strip(),
                "tags": [str(kind), *features],
            }
        )
    return skills


class A2AAgent:
    """The node as an A2A agent. Tasks live in memory (at most MAX_TASKS): an A2A task is as long-lived as the
    request behind it, and a client that lost one asks again."""

    def __init__(
        self,
        name: str,
        capabilities: Sequence[Mapping[str, Any]],
        run: Runs,
        *,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        description: str = "",
        push: Callable[[A2ATask], Awaitable[None]] | None = None,
    ) -> None:
        """`push` sends a finished task's reply back to a client that did not wait for it (OpenClaw's `message`
        tool sends with returnImmediately and never polls: the reply reaches its agent as a new A2A message)."""
        self._push = push
        self._name = name
        self._capabilities = capabilities
        self._run = run
        self._timeout_s = timeout_s
        self._description = description or f"ecco node {name}: reaches ecco agents by peer id or capability"
        self._tasks: OrderedDict[str, A2ATask] = OrderedDict()
        self._by_message: dict[str, A2ATask] = {}
        self._running: set[asyncio.Task[None]] = set()

    def card(self, url: str, bearer: bool) -> dict[str, Any]:
        card: dict[str, Any] = {
            "name": self._name or "ecco",
            "description": self._description,
            "version": A2A_PROTOCOL_VERSION,
            "supportedInterfaces": [
                {"url": url, "protocolBinding": "JSONRPC", "protocolVersion": A2A_PROTOCOL_VERSION}
            ],
            "capabilities": {"streaming": False, "pushNotifications": False},
            "defaultInputModes": ["text/plain", "application/json"],
            "defaultOutputModes": ["text/plain"],
            "skills": skills_of(self._capabilities),
        }
        if bearer:
            card["securitySchemes"] = {"bearer": {"httpAuthSecurityScheme": {"scheme": "Bearer"}}}
            card["securityRequirements"] = [{"schemes": {"bearer": {"list": []}}}]
        return card

    async def close(self) -> None:
        for task in list(self._running):
            task.cancel()
        await asyncio.gather(*self._running, return_exceptions=True)

    async def handle(self, document: Any) -> dict[str, Any]:
        """One JSON-RPC request (already parsed) -> its JSON-RPC answer."""
        request_id = document.get("id") if isinstance(document, Mapping) else None
        try:
            if not isinstance(document, Mapping) or document.get("jsonrpc") != "2.0":
                raise RpcError(INVALID_REQUEST, "not a JSON-RPC 2.0 request")
            method, params = document.get("method"), document.get("params")
            if not isinstance(params, Mapping):
                raise RpcError(INVALID_PARAMS, "params must be an object")
            if method in SEND_METHODS:
                result: dict[str, Any] = {"task": (await self._send(params)).to_json()}
            elif method in GET_METHODS:
                result = self._get(params).to_json()
            elif method in CANCEL_METHODS:
                raise RpcError(TASK_NOT_CANCELABLE, "ecco requests cannot be cancelled")
            else:
                raise RpcError(METHOD_NOT_FOUND, f"unknown method {method!r}; this agent serves SendMessage, GetTask")
        except RpcError as error:
            return {"jsonrpc": "2.0", "id": request_id, "error": {"code": error.code, "message": error.message}}
        return {"jsonrpc": "2.0", "id": request_id, "result": result}

    def _get(self, params: Mapping[str, Any]) -> A2ATask:
        task = self._tasks.get(str(params.get("id", "")))
        if task is None:
            raise RpcError(TASK_NOT_FOUND, "no such task (tasks are kept in memory, and the node may have restarted)")
        return task

    async def _send(self, params: Mapping[str, Any]) -> A2ATask:
        message = params.get("message")
        if not isinstance(message, Mapping) or not isinstance(message.get("messageId"), str):
            raise RpcError(INVALID_PARAMS, "params.message with a messageId is required")
        # The same message sent again (a client retry) is the same task, not a second request.
        configuration = params.get("configuration")
        immediate = isinstance(configuration, Mapping) and configuration.get("returnImmediately") is True
        known = self._by_message.get(message["messageId"])
        if known is None:
            target = target_of(message)
            if not target.prompt:
                raise RpcError(INVALID_PARAMS, "the message has no prompt after its target")
            context = message.get("contextId") if isinstance(message.get("contextId"), str) else ""
            known = A2ATask(str(uuid.uuid4()), context or str(uuid.uuid4()), message["messageId"], immediate=immediate)
            self._remember(known)
            running = asyncio.create_task(self._execute(known, target))
            self._running.add(running)
            running.add_done_callback(self._running.discard)
        if not immediate:
            await known.done.wait()
        return known

    async def _execute(self, task: A2ATask, target: Target) -> None:
        try:
            task.text = await self._run(target, self._timeout_s)
            task.state = TaskState.COMPLETED
        except EccoError as error:
            task.state, task.error = TaskState.FAILED, f"{error.reason}: {error.message}"
        finally:
            task.done.set()
        if task.immediate and self._push is not None:
            await self._push(task)

    def _remember(self, task: A2ATask) -> None:
        self._tasks[task.id] = task
        self._by_message[task.message_id] = task
        while len(self._tasks) > MAX_TASKS:
            _, oldest = self._tasks.popitem(last=False)
            self._by_message.pop(oldest.message_id, None)


# ------------------------------------------------------------------------------------------------ calling an agent


@dataclass(frozen=True)
class RpcResult:
    """One JSON-RPC call's outcome: `status` 0 means no HTTP answer; `document` is the parsed JSON-RPC answer of a
    2xx reply (None otherwise), `error` a short description of a failure."""

    status: int
    document: Mapping[str, Any] | None = None
    error: str = ""
    retry_after_s: float | None = None


class JsonRpc(Protocol):
    async def call(self, method: str, params: Mapping[str, Any]) -> RpcResult: ...


@dataclass(frozen=True)
class Answer:
    state: TaskState
    text: str
    task_id: str


def answer_of(result: Any) -> Answer:
    """The state and text of a SendMessage/GetTask result: a task (the artifacts' text, else the status message's)
    or a direct message (completed)."""
    if not isinstance(result, Mapping):
        return Answer(TaskState.FAILED, "the agent's answer is not an object", "")
    task = result.get("task", result if "status" in result else None)
    if isinstance(task, Mapping):
        status = task.get("status") if isinstance(task.get("status"), Mapping) else {}
        state = _STATES.get(str(status.get("state", "")), TaskState.FAILED)
        artifacts = task.get("artifacts") if isinstance(task.get("artifacts"), list) else []
        text = "".join(part_texts(_parts(a)) for a in artifacts if isinstance(a, Mapping))
        if not text and isinstance(status.get("message"), Mapping):
            text = part_texts(_parts(status["message"]))
        return Answer(state, text, str(task.get("id", "")))
    message = result.get("message", result)
    if isinstance(message, Mapping) and "parts" in message:
        return Answer(TaskState.COMPLETED, part_texts(_parts(message)), "")
    return Answer(TaskState.FAILED, "the agent answered with neither a task nor a message", "")


def send_params(text: str, message_id: str, context_id: str = "", data: Mapping[str, Any] | None = None) -> dict:
    parts: list[dict[str, Any]] = [{"text": text}]
    if data:
        parts.append({"data": dict(data)})
    message: dict[str, Any] = {"messageId": message_id, "role": "ROLE_USER", "parts": parts}
    if context_id:
        message["contextId"] = context_id
    return {"message": message, "configuration": {"returnImmediately": False}}


Sleep = Callable[[float], Awaitable[None]]


class A2ACaller:
    """Put a message to an A2A agent and wait for its answer."""

    def __init__(
        self,
        rpc: JsonRpc,
        *,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        poll_s: float = POLL_INTERVAL_S,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._rpc = rpc
        self._timeout_s = timeout_s
        self._poll_s = poll_s
        self._sleep = sleep

    async def ask(self, text: str, message_id: str, context_id: str = "") -> AttemptResult:
        """The agent's answer as an AttemptResult: `text` is the reply; `agent_error` says why the agent (or the
        server, with a JSON-RPC error) gave none; a transport failure has `status`/`error` like a hook POST."""
        deadline = time.monotonic() + self._timeout_s
        result = await self._rpc.call("SendMessage", send_params(text, message_id, context_id))
        while True:
            if not 200 <= result.status < 300 or result.document is None:
                return AttemptResult(result.status, result.error, result.retry_after_s)
            error = result.document.get("error")
            if isinstance(error, Mapping):
                detail = f"A2A error {error.get('code')}: {error.get('message', '')}".strip()
                return AttemptResult(result.status, agent_error=detail)
            answer = answer_of(result.document.get("result"))
            if answer.state in TERMINAL or answer.state in UNANSWERED:
                if answer.state == TaskState.COMPLETED:
                    return AttemptResult(result.status, run_id=answer.task_id, text=answer.text)
                why = f"the agent's task ended {answer.state.name.lower()}"
                why += f": {answer.text}" if answer.text else ""
                return AttemptResult(result.status, run_id=answer.task_id, agent_error=why)
            if not answer.task_id or time.monotonic() >= deadline:
                return AttemptResult(0, f"the agent's task did not finish within {self._timeout_s:g}s")
            await self._sleep(self._poll_s)
            result = await self._rpc.call("GetTask", {"id": answer.task_id})


def reply_pusher(rpc: JsonRpc, attempts: int = 5, sleep: Sleep = asyncio.sleep) -> Callable[[A2ATask], Awaitable[None]]:
    """Push a finished task's reply to the client's own A2A endpoint, as a message in the same context (so it lands
    in the conversation that asked); retried with backoff while the endpoint does not answer 2xx."""

    async def push(task: A2ATask) -> None:
        body = task.text if task.state == TaskState.COMPLETED else f"ecco could not answer: {task.error}"
        text = f"ecco reply to message {task.message_id}:\n{body}"
        params = send_params(text, f"{task.id}-reply", task.context_id)
        params["configuration"] = {"returnImmediately": True}
        for attempt in range(attempts):
            result = await rpc.call("SendMessage", params)
            if 200 <= result.status < 300:
                return
            log.warning("could not push an A2A reply", extra={"task": task.id, "status": result.status})
            await sleep(min(30.0, 0.5 * 2**attempt))

    return push


class A2AResponder:
    """`--responder a2a:<url>`: each agent-request is put to an A2A agent, whose reply text is the answer."""

    streams = False

    def __init__(self, caller: A2ACaller) -> None:
        self._caller = caller

    async def respond(self, prompt: str) -> AsyncIterator[str]:

        result = await self._caller.ask(prompt, str(uuid.uuid4()))
        if result.agent_error:
            raise ResponderFailed(result.agent_error)
        if not 200 <= result.status < 300:
            raise ResponderFailed(describe(result, "the A2A agent"))
        yield result.text
