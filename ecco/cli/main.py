"""The `ecco` entry point. `main(args)` runs in-process and returns the exit code (tests call it directly)."""

from __future__ import annotations

import sys

import click

from ecco import __version__
from ecco.cli.admin import config, db
from ecco.cli.bridge import webhook_bridge
from ecco.cli.consensus import consensus
from ecco.cli.discovery import ask, peer
from ecco.cli.events import listen, stream
from ecco.cli.messaging import connect, msg, peers, request, send
from ecco.cli.node import node, up
from ecco.cli.output import EXIT_INTERRUPTED, EXIT_USAGE, exit_code, print_error
from ecco.cli.payment import payment
from ecco.cli.register import register
from ecco.errors import EccoError


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


def main(args: list[str] | None = None) -> int:
    argv = sys.argv[1:] if args is None else args
    as_json = "--json" in argv
    try:
        # With standalone_mode=False click returns (not raises) the code of a `click.exceptions.Exit`.
        code = cli.main(args=argv, prog_name="ecco", standalone_mode=False)
    except EccoError as error:
        print_error(error, as_json)
        return exit_code(error)
    except click.exceptions.Abort:
        return EXIT_INTERRUPTED
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except click.ClickException as error:
        error.show()
        return EXIT_USAGE if isinstance(error, click.UsageError) else 1
    return code if isinstance(code, int) else 0


if __name__ == "__main__":
    sys.exit(main())
