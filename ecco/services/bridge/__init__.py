"""The webhook bridge: forward the node's events to an OpenClaw gateway's hooks, at least once and in order,
with retries and dead letters, and report every attempt to the node.

Owns `a2a` (the A2A protocol: the node as an A2A agent, and calls to A2A agents), `rules` (settings, routing,
retry verdicts), `payload`, `runner` (the delivery loop), `status` (the node's
side: BridgeMonitor), `local` (the in-daemon link), and its own ports (`bridge.ports`: HookClient, BridgeLink,
BridgeStore), implemented by `ecco.bridge` and `ecco.store`. Uses the event log and messaging.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ecco.services.exports import lazy_exports

if TYPE_CHECKING:
    from ecco.services.bridge.a2a import A2A_CARD_PATH as A2A_CARD_PATH
    from ecco.services.bridge.a2a import A2A_PROTOCOL_VERSION as A2A_PROTOCOL_VERSION
    from ecco.services.bridge.a2a import A2A_RPC_PATH as A2A_RPC_PATH
    from ecco.services.bridge.a2a import PARSE_ERROR as PARSE_ERROR
    from ecco.services.bridge.a2a import A2AAgent as A2AAgent
    from ecco.services.bridge.a2a import A2ACaller as A2ACaller
    from ecco.services.bridge.a2a import A2AResponder as A2AResponder
    from ecco.services.bridge.a2a import JsonRpc as JsonRpc
    from ecco.services.bridge.a2a import RpcResult as RpcResult
    from ecco.services.bridge.a2a import network_runner as network_runner
    from ecco.services.bridge.a2a import reply_pusher as reply_pusher
    from ecco.services.bridge.local import LocalLink as LocalLink
    from ecco.services.bridge.ports import Attachment as Attachment
    from ecco.services.bridge.ports import BridgeConfig as BridgeConfig
    from ecco.services.bridge.ports import BridgeCounters as BridgeCounters
    from ecco.services.bridge.ports import DeadLetterRecord as DeadLetterRecord
    from ecco.services.bridge.ports import DeliveryReport as DeliveryReport
    from ecco.services.bridge.ports import Outcome as Outcome
    from ecco.services.bridge.rules import A2A_MODE as A2A_MODE
    from ecco.services.bridge.rules import DEFAULT_A2A_PATH as DEFAULT_A2A_PATH
    from ecco.services.bridge.rules import DEFAULT_HOOK_PATH as DEFAULT_HOOK_PATH
    from ecco.services.bridge.rules import DEFAULT_PROVIDER_HOOK_PATH as DEFAULT_PROVIDER_HOOK_PATH
    from ecco.services.bridge.rules import HOOK_MODE as HOOK_MODE
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
        "a2a": [
            "A2A_CARD_PATH",
            "A2A_PROTOCOL_VERSION",
            "A2A_RPC_PATH",
            "PARSE_ERROR",
            "A2AAgent",
            "A2ACaller",
            "A2AResponder",
            "JsonRpc",
            "RpcResult",
            "network_runner",
            "reply_pusher",
        ],
        "local": ["LocalLink"],
        "ports": ["Attachment", "BridgeConfig", "BridgeCounters", "DeadLetterRecord", "DeliveryReport", "Outcome"],
        "rules": [
            "A2A_MODE",
            "DEFAULT_A2A_PATH",
            "HOOK_MODE",
            "DEFAULT_HOOK_PATH",
            "DEFAULT_PROVIDER_HOOK_PATH",
            "AttemptResult",
            "BridgeSettings",
            "RetryPolicy",
        ],
        "runner": ["Attempt", "BridgeRunner", "attempt_fields", "log_attempt"],
        "status": ["BridgeMonitor"],
    },
)
