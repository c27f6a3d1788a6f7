"""The webhook bridge's delivery loop, the same for `ecco webhook-bridge` and `ecco up --webhook-bridge`.

At least once, in order: events are read from the node's log after the bridge consumer's committed cursor and
delivered one at a time; each outcome is recorded in the node (which then commits the cursor) before the next
event is touched. A bridge killed at any point therefore resumes at the first event whose outcome was not recorded,
and resends it with the same Idempotency-Key (its event id), which OpenClaw turns into the same run.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from ecco.errors import AlreadyExists, FailedPrecondition, Reason, Unavailable
from ecco.services.bridge.payload import hook_body, hook_headers
from ecco.services.bridge.ports import Attachment, BridgeConfig, BridgeLink, DeliveryReport, HookClient, Outcome
from ecco.services.bridge.rules import (
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
    return BridgeConfig(
        settings.base_url, settings.hook_path, settings.provider_hook_path, tuple(sorted(settings.filter))
    )


class BridgeRunner:
    def __init__(
        self,
        settings: BridgeSettings,
        link: BridgeLink,
        hooks: HookClient,
        *,
        policy: RetryPolicy | None = None,
        on_attempt: Callable[[Attempt], None] | None = None,
        on_attached: Callable[[Attachment], None] | None = None,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._settings = settings
        self._link = link
        self._hooks = hooks
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
            report = DeliveryReport(event.cursor, outcome, path, result.status, error, attempts, first_attempt_ms)
            await self._link.report(attachment.session_id, report)
            if self._on_attempt is not None:
                self._on_attempt(Attempt(event, path, result, outcome, attempts, error))
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
