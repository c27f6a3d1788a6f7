"""The event log: every message in or out, and the node's own notices, committed before anyone acts on them;
replay-then-live subscriptions, pages and consumer cursors.

Owns `log` (EventLog) and `types` (every event type a filter may name). Uses the EventStore port
(`ecco.services.ports`), implemented by `ecco.store`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ecco.services.exports import lazy_exports

if TYPE_CHECKING:
    from ecco.services.events.log import DEFAULT_PAGE_SIZE as DEFAULT_PAGE_SIZE
    from ecco.services.events.log import MAX_PAGE_SIZE as MAX_PAGE_SIZE
    from ecco.services.events.log import EventLog as EventLog
    from ecco.services.events.log import Heartbeat as Heartbeat
    from ecco.services.events.log import now_ms as now_ms
    from ecco.services.events.types import MESSAGE_TYPES as MESSAGE_TYPES
    from ecco.services.events.types import validate_types as validate_types

__getattr__, __all__ = lazy_exports(
    __name__,
    {
        "log": ["DEFAULT_PAGE_SIZE", "MAX_PAGE_SIZE", "EventLog", "Heartbeat", "now_ms"],
        "types": ["MESSAGE_TYPES", "validate_types"],
    },
)
