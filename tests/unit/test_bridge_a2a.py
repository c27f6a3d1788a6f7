"""The A2A protocol logic without I/O: message targets, answers, the caller's polling, the node's A2A agent, and the
bridge's A2A mode (replies, error replies, what counts toward max attempts)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import deque
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

import pytest

from ecco.errors import EccoError, Reason
from ecco.services.bridge.a2a import (
    INVALID_PARAMS,
    METHOD_NOT_FOUND,
    TASK_NOT_CANCELABLE,
    A2AAgent,
    A2ACaller,
    A2ATask,
    RpcError,
    RpcResult,
    Target,
    TaskState,
    answer_of,
    target_of,
)
from ecco.services.bridge.ports import Attachment, BridgeConfig, DeliveryReport, Outcome
from ecco.services.bridge.rules import A2A_MODE, BridgeSettings, RetryPolicy
from ecco.services.bridge.runner import BridgeRunner, reply_id
from ecco.services.ports import Direction, EventRecord

PEER = "12D3KooWRemoteRemoteRemoteRemoteRemoteRemote1"


def message(*parts: dict[str, Any], message_id: str = "m1") -> dict[str, Any]:
    return {"messageId": message_id, "role": "ROLE_USER", "parts": list(parts)}


def test_a_target_comes_from_a_data_part_or_the_text_form() -> None:
    assert target_of(message({"text": "hi"}, {"data": {"peerId": PEER}})) == Target(peer_id=PEER, prompt="hi")
    with_prompt = message({"data": {"capability": "translate", "prompt": "bonjour"}})
    assert target_of(with_prompt) == Target(capability="translate", prompt="bonjour")
    assert target_of(message({"text": "capability:translate bonjour\nle monde"})) == Target(
        capability="translate", prompt="bonjour\nle monde"
    )
    assert target_of(message({"kind": "text", "text": f"peer:{PEER} hello"})) == Target(peer_id=PEER, prompt="hello")
    with pytest.raises(RpcError) as refused:
        target_of(message({"text": "no target here"}))
    assert refused.value.code == INVALID_PARAMS


def test_an_answer_is_the_artifacts_text_or_the_status_message() -> None:
    completed = {"task": {"id": "t", "status": {"state": "TASK_STATE_COMPLETED"}, "artifacts": [
        {"parts": [{"text": "a"}, {"text": "b"}]}]}}  # fmt: skip
    assert answer_of(completed) == answer_of(completed["task"])
    assert (answer_of(completed).state, answer_of(completed).text) == (TaskState.COMPLETED, "a\nb")
    failed = {"task": {"id": "t", "status": {"state": "failed", "message": {"parts": [{"text": "no"}]}}}}
    assert (answer_of(failed).state, answer_of(failed).text) == (TaskState.FAILED, "no")
    direct = {"message": {"messageId": "x", "parts": [{"text": "hello"}]}}
    assert (answer_of(direct).state, answer_of(direct).text) == (TaskState.COMPLETED, "hello")
    assert answer_of([]).state == TaskState.FAILED


class ScriptedRpc:
    def __init__(self, *results: RpcResult) -> None:
        self.results = deque(results)
        self.calls: list[tuple[str, Mapping[str, Any]]] = []

    async def call(self, method: str, params: Mapping[str, Any]) -> RpcResult:
        self.calls.append((method, params))
        return self.results.popleft()


def rpc_result(result: Any) -> RpcResult:
    return RpcResult(200, {"jsonrpc": "2.0", "id": 1, "result": result})


def task(state: str, text: str = "") -> dict[str, Any]:
    document: dict[str, Any] = {"task": {"id": "t1", "status": {"state": state}}}
    if text:
        document["task"]["artifacts"] = [{"parts": [{"text": text}]}]
    return document


async def no_sleep(_: float) -> None:
    return None


async def test_the_caller_polls_a_task_that_is_not_done_and_reports_failures_as_results() -> None:
    rpc = ScriptedRpc(rpc_result(task("TASK_STATE_WORKING")), rpc_result(task("TASK_STATE_COMPLETED", "done")))
    result = await A2ACaller(rpc, sleep=no_sleep).ask("q", "m1", "ctx")
    assert (result.status, result.text, result.run_id, result.agent_error) == (200, "done", "t1", "")
    assert [method for method, _ in rpc.calls] == ["SendMessage", "GetTask"]
    assert rpc.calls[0][1]["message"] == {
        "messageId": "m1",
        "role": "ROLE_USER",
        "parts": [{"text": "q"}],
        "contextId": "ctx",
    }

    error = RpcResult(200, {"jsonrpc": "2.0", "id": 1, "error": {"code": -32602, "message": "bad"}})
    assert (await A2ACaller(ScriptedRpc(error)).ask("q", "m")).agent_error == "A2A error -32602: bad"
    refused = await A2ACaller(ScriptedRpc(rpc_result(task("TASK_STATE_REJECTED")))).ask("q", "m")
    assert refused.agent_error == "the agent's task ended rejected"
    down = await A2ACaller(ScriptedRpc(RpcResult(503, None, "starting", 2.0))).ask("q", "m")
    assert (down.status, down.error, down.retry_after_s, down.agent_error) == (503, "starting", 2.0, "")


def request(method: str, params: dict[str, Any]) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": 7, "method": method, "params": params}


async def test_the_agent_runs_a_message_once_and_answers_with_the_task() -> None:
    runs: list[Target] = []

    async def run(target: Target, timeout_s: float) -> str:
        runs.append(target)
        if target.capability == "astrology":
            raise EccoError("no peer offers it", Reason.NO_PROVIDER_FOUND)
        return target.prompt.upper()

    agent = A2AAgent("dave", [{"name": "summarize", "type": "agent", "version": "1.0.0"}], run)
    card = agent.card("http://127.0.0.1:1/a2a/v1", bearer=True)
    assert [skill["id"] for skill in card["skills"]] == ["summarize"] and "bearer" in card["securitySchemes"]

    sent = request("SendMessage", {"message": message({"text": "capability:translate hi"})})
    answer = await agent.handle(sent)
    assert answer["id"] == 7 and answer["result"]["task"]["status"]["state"] == "TASK_STATE_COMPLETED"
    assert answer["result"]["task"]["artifacts"][0]["parts"] == [{"text": "HI"}]
    again = await agent.handle(sent)  # a client retry: the same task, not a second request
    assert again["result"]["task"]["id"] == answer["result"]["task"]["id"] and len(runs) == 1

    failed = await agent.handle(request("message/send", {"message": message({"text": "capability:astrology x"},
                                                                             message_id="m2")}))  # fmt: skip
    status = failed["result"]["task"]["status"]
    assert status["state"] == "TASK_STATE_FAILED" and status["message"]["parts"][0]["text"].startswith(
        "NO_PROVIDER_FOUND: "
    )
    fetched = await agent.handle(request("GetTask", {"id": answer["result"]["task"]["id"]}))
    assert fetched["result"]["status"]["state"] == "TASK_STATE_COMPLETED"
    codes = [
        (await agent.handle(request("CancelTask", {"id": "x"})))["error"]["code"],
        (await agent.handle(request("Nope", {})))["error"]["code"],
        (await agent.handle(request("SendMessage", {"message": message({"text": "plain"}, message_id="m3")})))["error"][
            "code"
        ],
    ]
    assert codes == [TASK_NOT_CANCELABLE, METHOD_NOT_FOUND, INVALID_PARAMS]
    assert (await agent.handle(request("GetTask", {"id": "gone"})))["error"]["code"] == -32001
    await agent.close()


async def test_a_client_that_does_not_wait_gets_the_task_at_once_and_the_reply_pushed() -> None:
    release = asyncio.Event()
    pushed: asyncio.Queue[A2ATask] = asyncio.Queue()

    async def run(target: Target, timeout_s: float) -> str:
        await release.wait()
        return "answer"

    agent = A2AAgent("dave", [], run, push=pushed.put)
    params = {"message": {**message({"text": f"peer:{PEER} q"}), "contextId": "ctx-oc-ecco"},
              "configuration": {"returnImmediately": True}}  # fmt: skip
    started = await agent.handle(request("SendMessage", params))
    assert started["result"]["task"]["status"]["state"] == "TASK_STATE_WORKING"
    release.set()
    done = await asyncio.wait_for(pushed.get(), 5)
    assert (done.state, done.text, done.context_id) == (TaskState.COMPLETED, "answer", "ctx-oc-ecco")
    await agent.close()


class FakeLink:
    """The node, faked: one batch of events, and every report and sent message recorded."""

    def __init__(self, events: Sequence[EventRecord]) -> None:
        self.events_to_send = list(events)
        self.reports: list[DeliveryReport] = []
        self.sent: list[tuple[str, str, dict[str, Any], str]] = []

    @contextlib.asynccontextmanager
    async def attach(self, config: BridgeConfig) -> AsyncIterator[Attachment]:
        yield Attachment("s1", "webhook-bridge", 0, "me", "alice")

    async def events(self, cursor: int, types: frozenset[str]) -> AsyncIterator[Sequence[EventRecord]]:
        yield self.events_to_send

    async def report(self, session_id: str, report: DeliveryReport) -> int:
        self.reports.append(report)
        return report.event_cursor

    async def send(self, peer_id: str, type: str, payload: dict[str, Any], message_id: str) -> None:
        self.sent.append((peer_id, type, payload, message_id))


def agent_request(cursor: int, prompt: str) -> EventRecord:
    payload = json.dumps({"prompt": prompt})
    return EventRecord(cursor, f"e{cursor}", "agent-request", Direction.INBOUND, PEER, f"r{cursor}", f"r{cursor}",
                       payload, 0)  # fmt: skip


async def run_bridge(link: FakeLink, rpc: ScriptedRpc, max_attempts: int = 3) -> None:
    settings = BridgeSettings.create(port=18789, token="t", mode=A2A_MODE)
    policy = RetryPolicy(base_s=0.0, cap_s=0.0, max_attempts=max_attempts)
    runner = BridgeRunner(settings, link, hooks=None, agent=A2ACaller(rpc), policy=policy, sleep=no_sleep)  # type: ignore[arg-type]
    await runner.run()


async def test_a2a_mode_replies_with_the_agents_text_and_survives_a_restarting_gateway() -> None:
    link = FakeLink([agent_request(1, "question")])
    refused = RpcResult(0, error="connection failed (refused)")
    starting = RpcResult(503, None, "Plugin runtime is starting")
    # Four refused connections and two 503s, with max_attempts 3: only answered failures count.
    rpc = ScriptedRpc(refused, refused, refused, refused, starting, starting, rpc_result(task("completed", "42")))
    await run_bridge(link, rpc)
    assert link.sent == [
        (PEER, "agent-response", {"requestId": "r1", "response": {"text": "42", "finishReason": "stop"}},
         reply_id(agent_request(1, "question")))]  # fmt: skip
    assert [r.outcome for r in link.reports] == [Outcome.RETRYING] * 6 + [Outcome.DELIVERED]
    assert {params["message"]["messageId"] for _, params in rpc.calls} == {"e1"}  # the same A2A message each time


async def test_a2a_mode_always_answers_the_requester_even_when_it_gives_up() -> None:
    link = FakeLink([agent_request(1, "a"), agent_request(2, "b")])
    unauthorized = RpcResult(401, None, "Unauthorized")
    failed = rpc_result({"task": {"id": "t", "status": {"state": "TASK_STATE_FAILED"}}})
    await run_bridge(link, ScriptedRpc(unauthorized, failed))
    errors = [payload["response"]["error"] for _, _, payload, _ in link.sent]
    assert errors == ["HTTP 401 from /a2a/v1: Unauthorized", "the agent's task ended failed"]
    assert [r.outcome for r in link.reports] == [Outcome.DEAD_LETTER, Outcome.DELIVERED]
