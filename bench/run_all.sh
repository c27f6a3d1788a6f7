#!/usr/bin/env bash
# Run every benchmark; each prints one JSON line on stdout. Each run is bounded by `timeout` (a benchmark takes
# under a minute, discovery.py ~70 s; 120 s leaves room for a slow machine). Exits non-zero if any benchmark
# failed or timed out.
set -u
cd "$(dirname "$0")/.."
PER_BENCH_TIMEOUT_S="${PER_BENCH_TIMEOUT_S:-120}"
status=0
for f in bench/*.py; do
  case "$(basename "$f")" in _*) continue ;; esac  # _common.py etc.: helpers, not benchmarks
  timeout --kill-after=10 "$PER_BENCH_TIMEOUT_S" .venv/bin/python "$f" || { echo "bench: $f failed (exit $?)" >&2; status=1; }
done
exit $status
