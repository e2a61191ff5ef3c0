#!/usr/bin/env bash
# Long storm: the tracer (`--format json --output FILE`) over back-to-back storms of 1,000,000
# loopback connections each (default 3: ~70 s at ~45k connections/s), for the losses that 100k
# rounds do not show (a consumer falling behind over minutes, write-back stalls).
#
#   sudo bench/long-storm.sh [--storms N] [--port P] [--dir DIR]
#
# Prints the wall time and the summary's `lost` counters and event count; the output file
# (~5 GB per million connections) is written under DIR (default /tmp) and removed.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
STORMS=3 PORT=47500 DIR=/tmp
while [ $# -gt 0 ]; do
	case "$1" in
	--storms) STORMS=$2; shift 2 ;;
	--port) PORT=$2; shift 2 ;;
	--dir) DIR=$2; shift 2 ;;
	*) echo "long-storm.sh: unknown argument $1" >&2; exit 64 ;;
	esac
done
BIN=${TCPTRACE_BIN:-$ROOT/.build/release/tcptrace-bpf}
STORM=$HERE/.output/storm
[ -x "$STORM" ] || make -s -C "$HERE" >&2
OUT=$(mktemp "$DIR/tcptrace-long-storm.XXXXXX")
trap 'rm -f "$OUT"' EXIT
"$BIN" --format json --output "$OUT" --port "$PORT" 2>/dev/null &
tracer=$!
sleep 2
start=$(date +%s.%N)
for ((i = 0; i < STORMS; i++)); do
	"$STORM" -q -n 1000000 -p "$PORT" -o $((i * 1000000)) -t 300 >/dev/null
done
end=$(date +%s.%N)
sleep 2
kill -INT "$tracer"
wait "$tracer" || true
last=$(tail -1 "$OUT")
echo "$STORMS x 1,000,000 connections in $(echo "$end - $start" | bc) s;" \
	"$(grep -o '"events":[0-9]*' <<<"$last"); $(grep -o '"lost":{[^}]*}' <<<"$last")"
