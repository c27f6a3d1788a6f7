#!/usr/bin/env bash
# The README's main job: start a node, show its status and its event stream, then stop it.
# State goes to a fresh directory so the demo never touches your own nodes.
set -euo pipefail
cd "$(dirname "$0")/.."
export ECCO_HOME="${ECCO_DEMO_HOME:-$(mktemp -d /tmp/ecco-demo.XXXXXX)}"
ecco=".venv/bin/ecco"
stop() { "$ecco" node stop --node demo >/dev/null 2>&1 || true; }
trap stop EXIT

echo "== ecco up --name demo --capability assistant   (ECCO_HOME=$ECCO_HOME)"
"$ecco" up --name demo --capability assistant --listen /ip4/127.0.0.1/tcp/0
echo
echo "== ecco node status --json"
"$ecco" node status --json
echo
echo "== ecco stream --cursor 0   (the event log, replayed from the start; 2 s)"
timeout --signal=INT 2 "$ecco" stream --cursor 0 || true
echo
echo "== ecco node stop"
"$ecco" node stop
trap - EXIT
