#!/usr/bin/env bash
# The README's main job: three local nodes bootstrapped to each other on 127.0.0.1 (one with the echo responder),
# a request and its reply, and the event log that recorded them. State goes to a fresh ECCO_HOME, and every node
# is stopped at the end, so the demo never touches your own nodes.
set -euo pipefail
cd "$(dirname "$0")/.."
export ECCO_HOME="${ECCO_DEMO_HOME:-$(mktemp -d /tmp/ecco-demo.XXXXXX)}"
export ECCO_LISTEN=/ip4/127.0.0.1/tcp/0 ECCO_MDNS=false  # loopback only; no multicast on your LAN
ecco=".venv/bin/ecco"
stop_all() { for n in alpha beta gamma; do "$ecco" node stop --node "$n" >/dev/null 2>&1 || true; done; }
trap stop_all EXIT
field() { python3 -c "import json, sys; doc = json.load(sys.stdin); print($1)"; }

echo "== ecco up --name alpha --capability echo --responder echo        (ECCO_HOME=$ECCO_HOME)"
alpha=$("$ecco" up --name alpha --capability echo --responder echo --json)
alpha_id=$(field 'doc["peerId"]' <<<"$alpha")
alpha_addr=$(field 'doc["listenAddresses"][0]' <<<"$alpha")
echo "alpha  $alpha_id  $alpha_addr"

echo "== ecco up --name beta --bootstrap <alpha>"
beta=$("$ecco" up --name beta --bootstrap "$alpha_addr" --json)
beta_addr=$(field 'doc["listenAddresses"][0]' <<<"$beta")
echo "beta   $(field 'doc["peerId"]' <<<"$beta")  connected peers: $(field 'doc["connectedPeers"]' <<<"$beta")"

echo "== ecco up --name gamma --bootstrap <alpha> --bootstrap <beta>"
gamma=$("$ecco" up --name gamma --bootstrap "$alpha_addr" --bootstrap "$beta_addr" --json)
echo "gamma  $(field 'doc["peerId"]' <<<"$gamma")  connected peers: $(field 'doc["connectedPeers"]' <<<"$gamma")"
echo
echo "== ecco peers --node gamma"
"$ecco" peers --node gamma
echo
echo "== ecco request $alpha_id --prompt 'hello from gamma' --node gamma --json"
"$ecco" request "$alpha_id" --prompt "hello from gamma" --node gamma --json
echo
echo "== ecco stream --node alpha --cursor 0 --filter agent-request,agent-response   (alpha's event log; 2 s)"
timeout --signal=INT 2 "$ecco" stream --node alpha --cursor 0 --filter agent-request,agent-response || true
echo
echo "== ecco node stop (all three)"
stop_all
trap - EXIT
