"""One example command line per command, shown at the end of its --help (`Example:`).

Placeholders are shell variables a harness has at hand: $PEER (a peer id, from `ecco peers --json`), $ADDR (a
multiaddr ending in /p2p/<id>, from `ecco node status --json` of the other node), $JOB, $CHANNEL. The skill's
command reference (skills/ecco/references/command-reference.md) lists the same lines.
"""

from __future__ import annotations

import click

EXAMPLES: dict[str, str] = {
    "up": "ecco up --name alice --listen /ip4/127.0.0.1/tcp/4001 --responder echo --json",
    "node start": "ecco node start --name alice --capability translate --json",
    "node status": "ecco node status --node alice --json",
    "node stop": "ecco node stop --node alice --json",
    "config show": "ecco config show --node alice --json",
    "db push": "ecco db push --node alice --json",
    "listen": "ecco listen --node alice --consumer harness --from now --wait 0 --json",
    "stream": "ecco stream --node alice --cursor 0 --filter agent-request --json",
    "msg": 'ecco msg $PEER "hello" --node alice --json',
    "request": 'ecco request $PEER --prompt "hello" --timeout 10000 --node alice --json',
    "send": 'ecco send $PEER --type agent-response --payload \'{"text": "hi"}\' --node alice --json',
    "peers": "ecco peers --connected --node alice --json",
    "connect": "ecco connect $ADDR --timeout 5000 --node alice --json",
    "peer find": "ecco peer find --name translate --node alice --json",
    "peer discover": "ecco peer discover --name translate --phases local,fallback --min-peers 1 --node alice --json",
    "peer reputation": "ecco peer reputation --min-tier acceptable --node alice --json",
    "ask": 'ecco ask --capability translate "hello world" --timeout 10000 --node alice --json',
    "consensus query": 'ecco consensus query "2+2?" --name translate --agent-count 3 --node alice --json',
    "consensus request": 'ecco consensus request "2+2?" --name translate --aggregation majority-vote --json',
    "consensus verify": "ecco consensus verify receipt.json --json",
    "webhook-bridge": "ECCO_WEBHOOK_TOKEN=... ecco webhook-bridge --openclaw-port 18789 --node alice --json",
    "webhook-bridge status": "ecco webhook-bridge status --node alice --json",
    "webhook-bridge dead-letters": "ecco webhook-bridge dead-letters --page-size 20 --node alice --json",
    "payment invoices": "ecco payment invoices --page-size 50 --node alice --json",
    "payment queue": "ecco payment queue --invoice-file invoice.json --node alice --json",
    "payment settle": "ecco payment settle --node alice --json",
    "payment ledger": "ecco payment ledger --job-id $JOB --node alice --json",
    "payment swarm distribute": (
        "ecco payment swarm distribute --job-id $JOB --total-amount 1.5 --chain-id 84532 --token 0x... "
        "--participants-file participants.json --node alice --json"
    ),
    "payment escrow release": "ecco payment escrow release --job-id $JOB --milestone-id m1 --node alice --json",
    "payment escrow invoice": "ecco payment escrow invoice --job-id $JOB --peer $PEER --node alice --json",
    "payment streaming tick": (
        "ecco payment streaming tick --peer $PEER --channel-id $CHANNEL --tokens 120 --auto-invoice true --json"
    ),
    "payment streaming invoice": "ecco payment streaming invoice --peer $PEER --channel-id $CHANNEL --json",
    "payment streaming close": "ecco payment streaming close --channel-id $CHANNEL --node alice --json",
    "register": "ecco register --uri https://alice.example/agent.json --node alice --json",
}

DURATION_RULE = "Every duration flag (--timeout, --wait, --phase-timeout, ...) is in milliseconds."


def attach(group: click.Group, path: tuple[str, ...] = (), seen: dict[int, list[str]] | None = None) -> None:
    """Append each command's example (and the duration rule) to its help, once, at import of the CLI."""
    seen = {} if seen is None else seen
    for name, command in group.commands.items():
        key = " ".join((*path, name))
        if key in EXAMPLES:
            # `up` and `node start` are one command under two names: its help shows both lines.
            lines = [EXAMPLES[other] for other in EXAMPLES if other in seen.get(id(command), ())] + [EXAMPLES[key]]
            seen.setdefault(id(command), []).append(key)
            shown = "\n".join(f"Example:\n  {line}" for line in lines)
            command.epilog = f"\b\n{shown}\n\n{DURATION_RULE}"
        if isinstance(command, click.Group):
            attach(command, (*path, name), seen)
