"""The webhook bridge: forward the node's events to an OpenClaw gateway's hooks, at least once and in order,
with retries and dead letters, and report every attempt to the node.

Owns `rules` (settings, routing, retry verdicts), `payload`, `runner` (the delivery loop), `status` (the node's
side: BridgeMonitor), `local` (the in-daemon link), and its own ports (`bridge.ports`: HookClient, BridgeLink,
BridgeStore), implemented by `ecco.bridge` and `ecco.store`. Uses the event log and messaging.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ecco.services.exports import lazy_exports

if TYPE_CHECKING:
    from ecco.services.bridge.local import LocalLink as LocalLink
    from ecco.services.bridge.ports import Attachment as Attachment
    from ecco.services.bridge.ports import BridgeConfig as BridgeConfig
    from ecco.services.bridge.ports import BridgeCounters as BridgeCounters
    from ecco.services.bridge.ports import DeadLetterRecord as DeadLetterRecord
    from ecco.services.bridge.ports import DeliveryReport as DeliveryReport
    from ecco.services.bridge.ports import Outcome as Outcome
    from ecco.services.bridge.rules import DEFAULT_HOOK_PATH as DEFAULT_HOOK_PATH
    from ecco.services.bridge.rules import DEFAULT_PROVIDER_HOOK_PATH as DEFAULT_PROVIDER_HOOK_PATH
    from ecco.services.bridge.rules import AttemptResult as AttemptResult
    from ecco.services.bridge.rules import BridgeSettings as BridgeSettings
    from ecco.services.bridge.rules import RetryPolicy as RetryPolicy
    from ecco.services.bridge.runner import Attempt as Attempt
    from ecco.services.bridge.runner import BridgeRunner as BridgeRunner
    from ecco.services.bridge.runner import attempt_fields as attempt_fields
    from ecco.services.bridge.runner import log_attempt as log_attempt
    from ecco.services.bridge.status import BridgeMonitor as BridgeMonitor

__getattr__, __all__ = lazy_exports(
    __name__,
    {
        "local": ["LocalLink"],
        "ports": ["Attachment", "BridgeConfig", "BridgeCounters", "DeadLetterRecord", "DeliveryReport", "Outcome"],
        "rules": ["DEFAULT_HOOK_PATH", "DEFAULT_PROVIDER_HOOK_PATH", "AttemptResult", "BridgeSettings", "RetryPolicy"],
        "runner": ["Attempt", "BridgeRunner", "attempt_fields", "log_attempt"],
        "status": ["BridgeMonitor"],
    },
)
