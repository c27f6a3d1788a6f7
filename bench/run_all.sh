#!/usr/bin/env bash
# Run every benchmark; each prints one JSON line on stdout. Each run is bounded by `timeout` (a benchmark takes
# under a minute, discovery.py ~70 s; 120 s leaves room for a slow machine; soak.py runs SOAK_S = 600 s plus that).
# Exits non-zero if any benchmark failed or timed out.
#
# Nothing is left running, whatever ends a benchmark or this script: every benchmark keeps its ECCO_HOMEs under
# one BENCH_ROOT, ends its daemons itself on exit (SIGTERM, SIGHUP and Ctrl-C included; bench/_common.py), and
# this script sweeps BENCH_ROOT after each benchmark (for one that `timeout` had to SIGKILL) and when it ends.
set -u
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-.venv/bin/python}"
PER_BENCH_TIMEOUT_S="${PER_BENCH_TIMEOUT_S:-120}"
if [ -z "${BENCH_ROOT:-}" ]; then BENCH_ROOT="$(mktemp -d /tmp/ebXXXX)"; own_root=1; else own_root=""; fi
export BENCH_ROOT
child=""
sweep() { "$PYTHON" bench/_common.py sweep "$BENCH_ROOT"; }
# On a signal: pass it on to the running benchmark, end its daemons now (the sweep TERMs, then KILLs after 5 s),
# and wait for it. The benchmark runs in the background so that a signal is handled at once, not after it ends.
stop() {
  if [ -n "$child" ]; then kill -TERM "$child" 2>/dev/null; fi
  sweep
  if [ -n "$child" ]; then wait "$child" 2>/dev/null; fi
  exit "$1"
}
trap 'sweep; if [ -n "$own_root" ]; then rm -rf "$BENCH_ROOT"; fi' EXIT
trap 'stop 130' INT
trap 'stop 143' TERM HUP
status=0
for f in ${BENCHES:-bench/*.py}; do
  case "$(basename "$f")" in _*) continue ;; esac  # _common.py etc.: helpers, not benchmarks
  limit="$PER_BENCH_TIMEOUT_S"
  case "$(basename "$f")" in soak.py) limit=$(( ${SOAK_S:-600} + PER_BENCH_TIMEOUT_S )) ;; esac  # runs SOAK_S
  timeout --kill-after=10 "$limit" "$PYTHON" "$f" &
  child=$!
  wait "$child" || { echo "bench: $f failed (exit $?)" >&2; status=1; }
  child=""
  sweep
done
exit $status
