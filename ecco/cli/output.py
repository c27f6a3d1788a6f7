"""How the CLI prints: exactly one JSON document with --json (JSON lines when streaming), tables otherwise, and
errors as `error: <message> (<REASON>)` with an exit code per gRPC status.

Exit codes (also in the README):
  0 success                      5 UNAUTHENTICATED, PERMISSION_DENIED
  1 INTERNAL, UNKNOWN            6 UNAVAILABLE (node not running or unreachable)
  2 usage error, INVALID_ARGUMENT 7 DEADLINE_EXCEEDED
  3 NOT_FOUND                    8 RESOURCE_EXHAUSTED
  4 ALREADY_EXISTS, FAILED_PRECONDITION, ABORTED
  9 UNIMPLEMENTED               10 CANCELLED              130 interrupted (Ctrl-C)
"""

from __future__ import annotations

import json
import sys
from typing import Any

from ecco.errors import EccoError

EXIT_CODES: dict[str, int] = {
    "INTERNAL": 1,
    "UNKNOWN": 1,
    "DATA_LOSS": 1,
    "INVALID_ARGUMENT": 2,
    "OUT_OF_RANGE": 2,
    "NOT_FOUND": 3,
    "ALREADY_EXISTS": 4,
    "FAILED_PRECONDITION": 4,
    "ABORTED": 4,
    "UNAUTHENTICATED": 5,
    "PERMISSION_DENIED": 5,
    "UNAVAILABLE": 6,
    "DEADLINE_EXCEEDED": 7,
    "RESOURCE_EXHAUSTED": 8,
    "UNIMPLEMENTED": 9,
    "CANCELLED": 10,
}
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


def exit_code(error: EccoError) -> int:
    return EXIT_CODES.get(error.code, 1)


def print_json(document: Any) -> None:
    sys.stdout.write(json.dumps(document, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def error_document(error: EccoError) -> dict[str, Any]:
    body: dict[str, Any] = {"code": error.code, "reason": str(error.reason), "message": error.message}
    if error.field:
        body["field"] = error.field
    return {"error": body}


def print_error(error: EccoError, as_json: bool) -> None:
    if as_json:
        print_json(error_document(error))
    else:
        sys.stderr.write(f"error: {error.message} ({error.reason})\n")


def print_table(title: str | None, columns: list[str], rows: list[list[Any]]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, show_header=True, header_style="bold")
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*("" if cell is None else str(cell) for cell in row))
    Console().print(table)


def print_fields(title: str, fields: dict[str, Any]) -> None:
    """A two-column key/value table for one object."""
    print_table(title, ["field", "value"], [[key, _cell(value)] for key, value in fields.items()])


def _cell(value: Any) -> str:
    if isinstance(value, list):
        return "\n".join(_cell(v) for v in value) if value else "-"
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    return "-" if value in ("", None) else str(value)
