"""Write the JSON Schemas of the CLI's --json output into schemas/cli/ (`make schemas`), or check they are current
(`--check`, run by tests/unit/test_cli_schemas.py).

The contract (README "Output and exit codes") is what `ecco.cli.render.to_dict` makes of a protobuf message:
camelCase keys, every field present, int64 as a JSON number, enums as short lowercase words, and null for an
unset message, optional field or UNSPECIFIED enum. `messages.json` derives one definition per ecco.v1 message
from the descriptors (so a proto change shows up here); each command's file says which document the command
prints, as listed in COMMANDS below. Streaming commands print one such document per line.
"""

from __future__ import annotations

import argparse
import importlib
import json
import pkgutil
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from google.protobuf.descriptor import Descriptor, FieldDescriptor  # noqa: E402

from ecco.cli.render import CONTRACT_VERSION, enum_word  # noqa: E402

OUT = ROOT / "schemas" / "cli"
DIALECT = "https://json-schema.org/draft/2020-12/schema"
BASE = "https://ecco.invalid/schemas/cli/"

STR: dict[str, Any] = {"type": "string"}
INT: dict[str, Any] = {"type": "integer"}
NUM: dict[str, Any] = {"type": "number"}
BOOL: dict[str, Any] = {"type": "boolean"}
ANY: dict[str, Any] = {}
_SCALARS = {
    FieldDescriptor.TYPE_STRING: STR,
    FieldDescriptor.TYPE_BYTES: STR,
    FieldDescriptor.TYPE_BOOL: BOOL,
    FieldDescriptor.TYPE_FLOAT: NUM,
    FieldDescriptor.TYPE_DOUBLE: NUM,
}
_WELL_KNOWN = {
    "google.protobuf.Timestamp": {"type": "string", "format": "date-time"},
    "google.protobuf.Duration": STR,
    "google.protobuf.Struct": {"type": "object"},
    "google.protobuf.Value": ANY,
}


def ref(message: str) -> dict[str, Any]:
    return {"$ref": f"messages.json#/$defs/{message}"}


def nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {"anyOf": [schema, {"type": "null"}]}


def arr(items: dict[str, Any]) -> dict[str, Any]:
    return {"type": "array", "items": items}


def obj(**properties: dict[str, Any]) -> dict[str, Any]:
    """A closed object whose every property is always present."""
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }


def _field_schema(field: FieldDescriptor) -> dict[str, Any]:
    if field.message_type is not None and field.message_type.GetOptions().map_entry:
        return {"type": "object", "additionalProperties": _base(field.message_type.fields_by_name["value"])}
    if field.is_repeated:
        return arr(_base(field))
    base = _base(field)
    return nullable(base) if field.has_presence and field.enum_type is None else base


def _base(field: FieldDescriptor) -> dict[str, Any]:
    if field.message_type is not None:
        return _WELL_KNOWN.get(field.message_type.full_name) or ref(field.message_type.name)
    if field.enum_type is not None:
        words = [enum_word(field.enum_type, value.number) for value in field.enum_type.values]
        return {"enum": [word for word in words if word is not None] + [None]}
    return _SCALARS.get(field.type, INT)


def message_schema(descriptor: Descriptor) -> dict[str, Any]:
    return obj(**{field.json_name: _field_schema(field) for field in descriptor.fields})


def messages() -> dict[str, Any]:
    import ecco.v1

    defs: dict[str, Any] = {}
    for module_info in sorted(pkgutil.iter_modules(ecco.v1.__path__), key=lambda m: m.name):
        if not module_info.name.endswith("_pb2"):
            continue
        module = importlib.import_module(f"ecco.v1.{module_info.name}")
        for name, descriptor in module.DESCRIPTOR.message_types_by_name.items():
            defs[name] = message_schema(descriptor)
    # An event as the CLI prints it: its payload as JSON, not as escaped text (ecco.cli.render.event_dict).
    event = json.loads(json.dumps(defs["Event"]))
    del event["properties"]["payloadJson"]
    event["properties"]["payload"] = ANY
    event["required"] = list(event["properties"])
    defs["CliEvent"] = event
    letter = json.loads(json.dumps(defs["DeadLetter"]))
    letter["properties"]["event"] = nullable(ref("CliEvent"))
    defs["CliDeadLetter"] = letter
    return {"$schema": DIALECT, "$id": BASE + "messages.json", "$defs": dict(sorted(defs.items()))}


EVENT = ref("CliEvent")
PEER_SUMMARY = {
    "peerId": STR,
    "connected": BOOL,
    "addresses": arr(STR),
}
CONSENSUS = {
    "type": "object",
    "required": ["consensusId", "text", "achieved", "confidence", "strategy", "responses", "metrics", "receipt"],
    "properties": {
        "consensusId": STR,
        "text": STR,
        "achieved": BOOL,
        "confidence": NUM,
        "agreement": NUM,
        "strategy": {"type": ["string", "null"]},
        "responses": arr({"type": "object", "properties": {"peerId": STR, "latencyMs": INT, "status": {}}}),
        "rankings": arr({"type": "object"}),
        "metrics": {"type": "object"},
        "receipt": {"type": "object"},
    },
}
"""Loose on purpose: `consensus` output is being reworked (issue 13); its fields still follow the conventions."""

COMMANDS: dict[str, dict[str, Any]] = {
    "up": ref("GetStatusResponse"),
    "node start": ref("GetStatusResponse"),
    "node status": ref("GetStatusResponse"),
    "node stop": obj(name=STR, pid=INT, stopped=BOOL),
    "config show": obj(config={"type": "object"}, sources={"type": "object", "additionalProperties": STR}),
    "db push": obj(node=STR, database=STR, applied=arr(STR), revision=nullable(STR)),
    "listen": {"oneOf": [obj(events=arr(EVENT), cursor=nullable(INT)), EVENT]},
    "stream": EVENT,
    "msg": obj(messageId=STR, **{"from": STR}, to=STR, type=STR, timestamp=INT),
    "send": obj(messageId=STR, **{"from": STR}, to=STR, type=STR, timestamp=INT),
    "request": obj(peerId=STR, requestId=STR, text=STR, finishReason=STR, latencyMs=NUM, chunks=arr(STR)),
    "peers": obj(peers=arr(ref("PeerInfo"))),
    "connect": obj(peerId=STR, alreadyConnected=BOOL),
    "peer find": obj(matches=arr(ref("CapabilityMatch"))),
    "peer discover": obj(
        peers=arr(
            obj(
                peerId=STR,
                phase={"enum": ["proximity", "local", "internet", "fallback"]},
                proximity=BOOL,
                matchScore=NUM,
                combinedScore=NUM,
                bloomTier={"enum": ["elite", "good", "acceptable", None]},
                latencyMs=NUM,
                connected=BOOL,
                addresses=arr(STR),
                matchedCapabilities=arr(ref("Capability")),
                reasons=arr(STR),
            )
        ),
        phasesRun=arr(STR),
        phasesSkipped=arr(obj(phase=STR, detail=STR)),
        minPeersReached=BOOL,
        totalTimeMs=INT,
    ),
    "peer reputation": {"oneOf": [ref("PeerReputation"), obj(reputations=arr(ref("PeerReputation")), totalSize=INT)]},
    "ask": obj(
        peerId=STR,
        text=STR,
        finishReason=STR,
        error=STR,
        latencyMs=NUM,
        matchCount=INT,
        candidates=arr(ref("AskCandidate")),
    ),
    "consensus query": CONSENSUS,
    "consensus request": CONSENSUS,
    "consensus verify": obj(verified=BOOL, consensusId=STR, signerPeerId=STR, responsesVerified=INT),
    "webhook-bridge": {
        "type": "object",
        "required": ["event"],
        "properties": {"event": {"enum": ["attached", "delivery"]}},
    },
    "webhook-bridge status": ref("GetBridgeStatusResponse"),
    "webhook-bridge dead-letters": obj(deadLetters=arr(ref("CliDeadLetter")), nextPageToken=STR, totalSize=INT),
    "payment invoices": ref("ListInvoicesResponse"),
    "payment queue": ref("QueueInvoiceResponse"),
    "payment settle": ref("SettleResponse"),
    "payment ledger": ref("ListLedgerResponse"),
    "payment swarm distribute": ref("SwarmDistributeResponse"),
    "payment escrow release": ref("EscrowReleaseResponse"),
    "payment escrow invoice": ref("EscrowInvoiceResponse"),
    "payment streaming tick": ref("StreamingTickResponse"),
    "payment streaming invoice": ref("StreamingInvoiceResponse"),
    "payment streaming close": ref("StreamingCloseResponse"),
    "register": ref("RegisterResponse"),
}

ERROR = obj(
    error={
        "type": "object",
        "properties": {
            "code": {
                "enum": [
                    "INTERNAL",
                    "UNKNOWN",
                    "DATA_LOSS",
                    "INVALID_ARGUMENT",
                    "OUT_OF_RANGE",
                    "NOT_FOUND",
                    "ALREADY_EXISTS",
                    "FAILED_PRECONDITION",
                    "ABORTED",
                    "UNAUTHENTICATED",
                    "PERMISSION_DENIED",
                    "UNAVAILABLE",
                    "DEADLINE_EXCEEDED",
                    "RESOURCE_EXHAUSTED",
                    "UNIMPLEMENTED",
                    "CANCELLED",
                ]
            },
            "reason": {"type": "string", "pattern": "^[A-Z][A-Z0-9_]*$"},
            "message": {"type": "string", "maxLength": 1000},
            "field": {"type": "string", "maxLength": 100},
        },
        "required": ["code", "reason", "message"],
        "additionalProperties": False,
    }
)


def file_name(command: str) -> str:
    return command.replace(" ", "-") + ".json"


def documents() -> dict[str, dict[str, Any]]:
    """Every schema file by name."""
    files = {"messages.json": messages()}
    files["error.json"] = {"$schema": DIALECT, "$id": BASE + "error.json", "title": "error", **ERROR}
    for command, schema in COMMANDS.items():
        name = file_name(command)
        files[name] = {
            "$schema": DIALECT,
            "$id": BASE + name,
            "title": f"ecco {command} --json",
            "x-contract-version": CONTRACT_VERSION,
            **schema,
        }
    return files


def render(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, sort_keys=False) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail if a committed schema differs")
    args = parser.parse_args()
    wanted = {name: render(doc) for name, doc in documents().items()}
    if args.check:
        present = {p.name: p.read_text() for p in OUT.glob("*.json")} if OUT.exists() else {}
        stale = sorted(n for n in wanted.keys() | present.keys() if wanted.get(n) != present.get(n))
        if stale:
            print(f"stale schemas (run `python tools/cli_schemas.py`): {', '.join(stale)}", file=sys.stderr)
            return 1
        return 0
    OUT.mkdir(parents=True, exist_ok=True)
    for stale in OUT.glob("*.json"):
        if stale.name not in wanted:
            stale.unlink()
    for name, text in wanted.items():
        (OUT / name).write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
