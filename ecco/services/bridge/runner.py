"""The webhook bridge's delivery loop, the same for `ecco webhook-bridge` and `ecco up --webhook-bridge`.

At least once, in order: events are read from the node's log after the bridge consumer's committed cursor and
delivered one at a time; each outcome is recorded in the node (which then commits the cursor) before the next
event is touched. A bridge killed at any point therefore resumes at the first event whose outcome was not recorded,
and resends it with the same Idempotency-Key (its event id), which OpenClaw turns into the same run.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from ecco.errors import AlreadyExists, EccoError, FailedPrecondition, Reason, Unavailable
from ecco.services.bridge.a2a import A2ACaller
from ecco.services.bridge.payload import hook_body, hook_headers, prompt_text
from ecco.services.bridge.ports import Attachment, BridgeConfig, BridgeLink, DeliveryReport, HookClient, Outcome
from ecco.services.bridge.rules import (
    A2A_MODE,
    AttemptResult,
    BridgeSettings,
    RetryPolicy,
    Verdict,
    classify,
    describe,
    forwards,
    route,
    subscription_types,
)
from ecco.services.events import now_ms
from ecco.services.ports import EventRecord

log = logging.getLogger("ecco.bridge")

# How often an attach refused because "a bridge is already attached" is retried (with backoff) before giving up.
ATTACH_RETRIES = 4
REFUSED_RETRY_S = 0.25
"""A refused attach is retried ATTACH_RETRIES times this far apart: long enough for the node to see a killed
bridge's connection close (a unix socket closes at once), short enough that a second bridge is refused within
about a second."""
OUTCOMES = {Verdict.DELIVERED: Outcome.DELIVERED, Verdict.RETRY: Outcome.RETRYING, Verdict.DEAD: Outcome.DEAD_LETTER}


@dataclass(frozen=True)
class Attempt:
    """One delivery attempt, for --verbose / --json output."""

    event: EventRecord
    path: str
    result: AttemptResult
    outcome: Outcome
    attempts: int
    error: str


Sleep = Callable[[float], Awaitable[None]]


def settings_config(settings: BridgeSettings) -> BridgeConfig:
    """What the node shows in `webhook-bridge status`; an A2A-mode bridge's provider path is its A2A endpoint."""
    provider = settings.a2a_path if settings.mode == A2A_MODE else settings.provider_hook_path
    return BridgeConfig(settings.base_url, settings.hook_path, provider, tuple(sorted(settings.filter)))


def reply_id(event: EventRecord) -> str:
    """The reply's message id, derived from the request's event: a reply sent again after a bridge crash is the
    same message, which the requester's node drops as a duplicate."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"ecco-bridge-reply:{event.id}"))


def reply_payload(request_id: str, text: str, error: str) -> dict[str, object]:
    """An agent-response as the built-in responders send it (messaging.Messenger._answer)."""
    response = {"error": error} if error else {"text": text, "finishReason": "stop"}
    return {"requestId": request_id, "response": response}


class BridgeRunner:
    def __init__(
        self,
        settings: BridgeSettings,
        link: BridgeLink,
        hooks: HookClient,
        *,
        agent: A2ACaller | None = None,
        policy: RetryPolicy | None = None,
        on_attempt: Callable[[Attempt], None] | None = None,
        on_attached: Callable[[Attachment], None] | None = None,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._settings = settings
        self._link = link
        self._hooks = hooks
        self._agent = agent
        self._policy = policy or RetryPolicy()
        self._on_attempt = on_attempt
        self._on_attached = on_attached
        self._sleep = sleep
        self._attached = False

    async def run(self) -> None:
        """Attach and deliver until the node goes away (raises Unavailable) or the task is cancelled."""
        async with self._link.attach(settings_config(self._settings)) as attachment:
            self._attached = True
            if self._on_attached is not None:
                self._on_attached(attachment)
            wanted = self._settings.filter
            stream = self._link.events(attachment.consumer_cursor, subscription_types(wanted))
            async for batch in stream:
                for event in batch:
                    if forwards(event, wanted):
                        await self._deliver(event, attachment)

    async def serve(self) -> None:
        """`run` until cancelled, re-attached with backoff whenever the node becomes unavailable (it restarted, or
        is not up yet) or forgot the session (it restarted). An attach refused because another bridge is attached is
        retried a few times, as it may be this bridge's previous, killed run; other errors end the bridge."""
        failures = refused = 0
        while True:
            self._attached = False
            try:
                await self.run()
            except AlreadyExists as error:
                # Right after a bridge is killed and restarted, the node may not have seen the old connection close.
                refused += 1
                if error.reason != Reason.BRIDGE_ALREADY_RUNNING or refused > ATTACH_RETRIES:
                    raise
                await self._sleep(REFUSED_RETRY_S)
                continue
            except (Unavailable, FailedPrecondition) as error:
                if isinstance(error, FailedPrecondition) and error.reason != Reason.BRIDGE_NOT_RUNNING:
                    raise
                log.warning("node unavailable; reconnecting", extra={"error": error.message})
            # The backoff starts again after every outage that followed a successful attach.
            failures = 1 if self._attached else failures + 1
            await self._sleep(self._policy.delay(failures))

    async def _deliver(self, event: EventRecord, attachment: Attachment) -> None:
        if self._settings.mode == A2A_MODE:
            await self._answer(event, attachment)
            return
        path = route(event, self._settings)
        body = hook_body(event, attachment.peer_id, attachment.node_name)
        headers = hook_headers(event, self._settings.token)
        first_attempt_ms = now_ms()
        attempts = 0
        while True:
            attempts += 1
            result = await self._hooks.post(path, headers, body)
            verdict = classify(result, attempts, self._policy.max_attempts)
            outcome = OUTCOMES[verdict]
            error = "" if verdict == Verdict.DELIVERED else describe(result, path)
            await self._record(attachment, Attempt(event, path, result, outcome, attempts, error), first_attempt_ms)
            if verdict != Verdict.RETRY:
                return
            await self._sleep(self._policy.delay(attempts, result.retry_after_s))

    async def _record(self, attachment: Attachment, attempt: Attempt, first_attempt_ms: int) -> None:
        """Report an attempt to the node (which commits the cursor once it is final), then tell the caller."""
        event = attempt.event
        report = DeliveryReport(
            event.cursor,
            attempt.outcome,
            attempt.path,
            attempt.result.status,
            attempt.error,
            attempt.attempts,
            first_attempt_ms,
        )
        await self._link.report(attachment.session_id, report)
        if self._on_attempt is not None:
            self._on_attempt(attempt)

    async def _answer(self, event: EventRecord, attachment: Attachment) -> None:
        """A2A mode: put the request to OpenClaw's agent (SendMessage, then GetTask until done) and send its reply
        text, or an error reply, to the requester; then record the outcome. A crash before the record repeats the
        request with the same A2A messageId and the same reply id, so the requester still gets one answer. Every
        ending sends the requester something: the answer, the agent's error, or why the bridge gave up."""
        assert self._agent is not None, "an A2A-mode bridge needs an A2A caller"
        path = self._settings.a2a_path
        request_id = event.request_id or event.message_id
        prompt = prompt_text(event)
        first_attempt_ms = now_ms()
        attempts = answered = 0
        while True:
            attempts += 1
            if prompt is None:
                result = AttemptResult(200, agent_error="missing prompt")
            else:
                result = await self._agent.ask(prompt, event.id, f"ecco-{event.peer_id}")
            # Only answered failures use up attempts: a gateway restarting refuses connections, then answers 503
            # while its plugins start, and the request must survive both.
            answered += 1 if result.status else 0
            verdict = classify(result, answered, self._policy.max_attempts)
            outcome = OUTCOMES[verdict]
            error = result.agent_error if verdict == Verdict.DELIVERED else describe(result, path)
            if verdict != Verdict.RETRY:
                payload = reply_payload(request_id, result.text, error)
                try:
                    await self._link.send(event.peer_id, "agent-response", payload, reply_id(event))
                except EccoError as failure:
                    outcome, error = Outcome.DEAD_LETTER, f"could not send the reply: {failure.message}"
            await self._record(attachment, Attempt(event, path, result, outcome, attempts, error), first_attempt_ms)
            if verdict != Verdict.RETRY:
                return
            await self._sleep(self._policy.delay(attempts, result.retry_after_s))


def attempt_fields(attempt: Attempt) -> dict[str, object]:
    """One attempt as a flat record, for logs and `ecco webhook-bridge --json` lines."""
    return {
        "cursor": attempt.event.cursor,
        "eventId": attempt.event.id,
        "type": attempt.event.type,
        "path": attempt.path,
        "httpStatus": attempt.result.status,
        "runId": attempt.result.run_id,
        "outcome": attempt.outcome.name.lower().replace("_", "-"),
        "attempts": attempt.attempts,
        "error": attempt.error,
    }


def log_attempt(attempt: Attempt, verbose: bool) -> None:
    """Failures always reach the log; with --verbose every delivery does, with its HTTP status."""
    if attempt.outcome == Outcome.DELIVERED:
        if verbose:
            log.info("bridge delivered", extra=attempt_fields(attempt))
        return
    log.warning("bridge delivery failed", extra=attempt_fields(attempt))
