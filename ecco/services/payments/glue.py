"""Hooks payments into the messenger: which inbound message types go where, and the expected-invoice row written
before every agent-request leaves. Handler failures are logged and recorded, never raised into the transport."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from ecco.errors import EccoError
from ecco.services.envelope import Message
from ecco.services.messaging import Messenger
from ecco.services.payments.agreements import Agreements
from ecco.services.payments.service import Payments

log = logging.getLogger("ecco.payments")
# Open settlements (already signed, so already asked for) and undelivered proofs are retried this often.
RECONCILE_INTERVAL_S = 30.0


def _payload(message: Message) -> dict[str, Any]:
    return message.payload if isinstance(message.payload, dict) else {}


def wire_payments(messenger: Messenger, payments: Payments, agreements: Agreements) -> Callable[[], Awaitable[None]]:
    """Register the handlers and start the reconcile loop (on start, then every 30 s); returns the shutdown
    coroutine."""

    async def before_send(peer_id: str, type: str, message_id: str) -> None:
        if type == "agent-request":
            await payments.expect_invoice(peer_id, message_id)

    async def guarded(what: str, message: Message, work: Awaitable[object]) -> None:
        try:
            await work
        except EccoError as error:
            log.warning(what, extra={"peer": message.from_, "reason": str(error.reason), "detail": error.message})
            await payments.events.record(
                "payment-failed-local",
                {"stage": what, "reason": str(error.reason), "detail": error.message},
                peer_id=message.from_,
                message_id=message.id,
            )

    async def on_request(message: Message) -> None:
        await guarded("pricing", message, agreements.on_request(message.from_, message.id))

    async def on_approval(message: Message) -> None:
        # upstream used the approval message's own id as the job id (§13 #3): we use payload.jobId
        body = _payload(message)
        job, milestone = str(body.get("jobId", "")), str(body.get("milestoneId", ""))
        await guarded("escrow-approval", message, agreements.release(job, milestone, message.from_, True))

    async def on_tick(message: Message) -> None:
        body = _payload(message)
        tokens = body.get("tokensGenerated")
        channel = str(body.get("channelId") or message.id)
        if isinstance(tokens, int) and not isinstance(tokens, bool):
            await guarded("streaming-tick", message, agreements.tick(message.from_, channel, tokens, True, ""))

    messenger.add_send_hook(before_send)
    messenger.add_message_handler("invoice", payments.on_invoice)
    messenger.add_message_handler("submit-payment-proof", payments.on_proof)
    messenger.add_message_handler("agent-request", on_request)
    messenger.add_message_handler("escrow-approval", on_approval)
    messenger.add_message_handler("streaming-tick", on_tick)

    async def reconcile() -> None:
        while True:
            try:
                await payments.reconcile()
            except EccoError as error:
                log.warning("could not reconcile settlements", extra={"reason": str(error.reason)})
            await asyncio.sleep(RECONCILE_INTERVAL_S)

    task = asyncio.ensure_future(reconcile())

    async def stop() -> None:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await payments.close()

    return stop
