#!/usr/bin/env bash
# The README's main job: three local nodes bootstrapped to each other on 127.0.0.1 (one with the echo responder),
# a request and its reply, and the event log that recorded them. State goes to a fresh ECCO_HOME, and every node
# is stopped at the end, so the demo never touches your own nodes.
set -euo pipefail
cd "$(dirname "$0")/.."
export ECCO_HOME="${ECCO_DEMO_HOME:-$(mktemp -d /tmp/ecco-demo.XXXXXX)}"
export ECCO_LISTEN=/ip4/127.0.0.1/tcp/0 ECCO_MDNS=false  # loopback only; no multicast on your LAN
ecco=".venv/bin/ecco"
anvil_pid=""
stop_all() {
  for n in alpha beta gamma seller buyer; do "$ecco" node stop --node "$n" >/dev/null 2>&1 || true; done
  if [[ -n "$anvil_pid" ]]; then kill "$anvil_pid" 2>/dev/null || true; fi
}
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
echo "== a paid request on a local EVM chain: anvil (npm @foundry-rs/anvil) on 127.0.0.1, a random port"
exec 3< <(exec node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil --host 127.0.0.1 --port 0)
anvil_pid=$!
rpc=""
while read -t 20 -r line <&3; do
  if [[ $line =~ Listening\ on\ (127\.0\.0\.1:[0-9]+) ]]; then rpc="http://${BASH_REMATCH[1]}"; break; fi
done
[[ -n "$rpc" ]] || { echo "anvil did not start" >&2; exit 1; }
exec 3<&-
# anvil's public development accounts 1 and 2 (10,000 test ETH each); never use these keys anywhere else.
seller_key=59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d
buyer_key=5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a
printf '[chains]\n31337 = "%s"\n[payment]\nchain_id = 31337\npricing = \x27{"type":"standard","chainId":31337,"amount":"0.001"}\x27\n' \
  "$rpc" >"$ECCO_HOME/seller.toml"
printf '[chains]\n31337 = "%s"\n[payment]\nchain_id = 31337\n' "$rpc" >"$ECCO_HOME/buyer.toml"
echo "== ecco up --name seller --responder echo   (prices every request at 0.001 ETH; wallet from ECCO_WALLET_KEY)"
seller=$(ECCO_WALLET_KEY=$seller_key "$ecco" up --name seller --config "$ECCO_HOME/seller.toml" --responder echo --json)
seller_id=$(field 'doc["peerId"]' <<<"$seller")
ECCO_WALLET_KEY=$buyer_key "$ecco" up --name buyer --config "$ECCO_HOME/buyer.toml" \
  --bootstrap "$(field 'doc["listenAddresses"][0]' <<<"$seller")" --json >/dev/null
echo "== ecco request <seller> --prompt 'a paid question' --node buyer"
"$ecco" request "$seller_id" --prompt "a paid question" --node buyer
echo "== ecco listen --node buyer --filter payment-queued --once   (the seller's signed invoice arrives)"
"$ecco" listen --node buyer --filter payment-queued --once --wait 20000
echo "== ecco payment invoices --node buyer"
"$ecco" payment invoices --node buyer
echo "== ecco payment settle --node buyer   (one transfer on chain; the proof goes back to the seller)"
"$ecco" payment settle --node buyer
echo "== ecco listen --node seller --filter payment-settled --once   (the seller verified the proof on chain)"
"$ecco" listen --node seller --filter payment-settled --once --wait 20000
echo
echo "== ecco node stop (all nodes), anvil stopped"
stop_all
trap - EXIT
