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

from ecco.errors import EccoError, InvalidArgument, Reason, Unavailable

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
EXIT_INTERRUPTED = 130


def exit_code(error: EccoError) -> int:
    return EXIT_CODES.get(error.code, 1)


def write_out(text: str) -> None:
    """Write and flush `text` to stdout, so that a caller may acknowledge what it printed only once it is out.

    A full disk or a closed pipe raises Unavailable(OUTPUT_FAILED) instead of a traceback."""
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except (OSError, ValueError) as exc:  # ValueError: stdout already closed
        _discard_stdout()
        detail = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
        raise Unavailable(f"cannot write to stdout ({detail})", Reason.OUTPUT_FAILED) from None


def _discard_stdout() -> None:
    """Point fd 1 at /dev/null so the interpreter's final flush of what is left cannot fail again at exit."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass


def print_json(document: Any) -> None:
    write_out(json.dumps(document, ensure_ascii=False) + "\n")


def error_document(error: EccoError) -> dict[str, Any]:
    body: dict[str, Any] = {"code": error.code, "reason": str(error.reason), "message": error.message}
    if error.field:
        body["field"] = error.field
    return {"error": body}


def usage_error(error: Any) -> EccoError:
    """A click usage error as INVALID_ARGUMENT naming the flag (exit 2), so --json callers can parse it too."""
    from click import BadParameter, ClickException, MissingParameter, NoSuchOption

    field = None
    if isinstance(error, BadParameter | MissingParameter) and error.param is not None:
        field = error.param.opts[0] if error.param.opts else error.param.name
    elif isinstance(error, NoSuchOption):
        field = error.option_name
    message = error.format_message() if isinstance(error, ClickException) else str(error)
    return InvalidArgument(message.replace("\n", " "), Reason.INVALID_ARGUMENT, field=field)


def print_error(error: EccoError, as_json: bool) -> None:
    """The error document on stdout with --json, else one line on stderr (always stderr when stdout failed)."""
    if as_json and error.reason != Reason.OUTPUT_FAILED:
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
