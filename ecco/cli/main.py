"""The `ecco` entry point. `main(args)` runs in-process and returns the exit code (tests call it directly)."""

from __future__ import annotations

import os
import sys

import click

from ecco import __version__
from ecco.cli.admin import config, db
from ecco.cli.bridge import webhook_bridge
from ecco.cli.consensus import consensus
from ecco.cli.discovery import ask, peer
from ecco.cli.events import listen, stream
from ecco.cli.examples import attach
from ecco.cli.messaging import connect, msg, peers, request, send
from ecco.cli.node import node, up
from ecco.cli.output import EXIT_INTERRUPTED, exit_code, print_error, usage_error
from ecco.cli.payment import payment
from ecco.cli.register import register
from ecco.errors import EccoError, Internal


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="ecco")
def cli() -> None:
    """ecco: a P2P communication layer for AI agents. Each agent runs one node; this CLI drives it."""


for command in (
    up,
    node,
    config,
    db,
    listen,
    stream,
    msg,
    request,
    send,
    peers,
    connect,
    peer,
    ask,
    consensus,
    webhook_bridge,
    payment,
    register,
):
    cli.add_command(command)
attach(cli)


def main(args: list[str] | None = None) -> int:
    """Run one command; every failure ends as one error document (--json, on stdout) or one stderr line."""
    argv = sys.argv[1:] if args is None else args
    as_json = "--json" in argv
    try:
        # With standalone_mode=False click returns (not raises) the code of a `click.exceptions.Exit`.
        code = cli.main(args=argv, prog_name="ecco", standalone_mode=False)
    except (click.exceptions.Abort, KeyboardInterrupt):
        return EXIT_INTERRUPTED
    except click.ClickException as error:
        return _fail(usage_error(error), as_json)
    except EccoError as error:
        return _fail(error, as_json)
    except Exception as exc:  # the contract: no traceback for any input, unless asked for with ECCO_DEBUG
        if os.environ.get("ECCO_DEBUG"):
            raise
        message = f"unexpected failure in the ecco CLI ({type(exc).__name__}; set ECCO_DEBUG=1 for the traceback)"
        return _fail(Internal(message), as_json)
    return code if isinstance(code, int) else 0


def _fail(error: EccoError, as_json: bool) -> int:
    try:
        print_error(error, as_json)
    except EccoError:  # stdout is gone too: say it on stderr
        print_error(error, False)
    return exit_code(error)


if __name__ == "__main__":
    sys.exit(main())
