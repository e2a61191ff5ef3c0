#!/usr/bin/env bash
# Loss check against a ground truth that does not depend on tcptrace-bpf: perf counts the
# tracepoint's hits (perf has its own per-context recursion protection, so hits in softirq
# nested in a task-context hit are counted too) while the tracer traces the same storm.
#
#   sudo bench/loss.sh [--connections N] [--port P] [--offset O] [--stats 0|1] [--keep DIR]
#
# Prints one line: perf's hits for the port and in all, the tracer's transitions written, its
# summary counters, and per program (main, fallback) the kernel's run_cnt, recursion_misses and
# run time (bpf_stats) over the storm.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
N=100000 PORT=47000 OFFSET=0 STATS=1 KEEP=""
while [ $# -gt 0 ]; do
	case "$1" in
	--connections) N=$2; shift 2 ;;
	--port) PORT=$2; shift 2 ;;
	--offset) OFFSET=$2; shift 2 ;;
	--stats) STATS=$2; shift 2 ;;
	--keep) KEEP=$2; shift 2 ;;
	*) echo "loss.sh: unknown argument $1" >&2; exit 64 ;;
	esac
done
BIN=${TCPTRACE_BIN:-$ROOT/.build/release/tcptrace-bpf}
STORM=$HERE/.output/storm
[ -x "$STORM" ] || make -s -C "$HERE" >&2
mountpoint -q /sys/kernel/tracing || mount -t tracefs tracefs /sys/kernel/tracing
DIR=$(mktemp -d /tmp/tcptrace-loss.XXXXXX)
STATS_WAS=$(sysctl -n kernel.bpf_stats_enabled)
sysctl -qw kernel.bpf_stats_enabled="$STATS"
tpid=""
cleanup() {
	if [ -n "$tpid" ]; then kill -INT "$tpid" 2>/dev/null || true; fi
	sysctl -qw kernel.bpf_stats_enabled="$STATS_WAS"
	if [ -n "$KEEP" ]; then mkdir -p "$KEEP" && cp -r "$DIR"/. "$KEEP"/; fi
	rm -rf "$DIR"
}
trap cleanup EXIT

"$BIN" --format json --output "$DIR/out" --port "$PORT" 2>"$DIR/stderr" &
tpid=$!
ids=""
for _ in $(seq 100); do
	ids=$(grep -h '^prog_id:' /proc/$tpid/fdinfo/* 2>/dev/null | awk '{print $2}' | sort -un | tr '\n' ' ' || true)
	[ "$(echo $ids | wc -w)" -ge 2 ] && break
	sleep 0.1
done
[ "$(echo $ids | wc -w)" -ge 2 ] || { echo "loss.sh: tracer did not start" >&2; cat "$DIR/stderr" >&2; exit 1; }
sleep 0.3
# name run_time_ns run_cnt recursion_misses, per program
stats() {
	for id in $ids; do
		bpftool prog show id "$id" | awk 'NR == 1 {
			name=""; ns=0; cnt=0; miss=0
			for (i = 1; i <= NF; i++) {
				if ($i == "name") name=$(i+1); if ($i == "run_time_ns") ns=$(i+1)
				if ($i == "run_cnt") cnt=$(i+1); if ($i == "recursion_misses") miss=$(i+1) }
			print name, ns, cnt, miss }'
	done | sort
}
stats >"$DIR/s0"
perf stat -x, -o "$DIR/perf" -a \
	-e sock:inet_sock_set_state --filter "sport == $PORT || dport == $PORT" \
	-e sock:inet_sock_set_state -- sh -c '"$1" -q -n "$2" -p "$3" -o "$4" -t 300; sleep 0.3' storm \
	"$STORM" "$N" "$PORT" "$OFFSET" >"$DIR/rate" # the sleep: the last ACKs after the storm exits
stats >"$DIR/s1"
sleep 0.3
kill -INT $tpid
wait $tpid || true
tpid=""
perf_port=$(grep inet_sock_set_state "$DIR/perf" | sed -n 1p | cut -d, -f1)
perf_all=$(grep inet_sock_set_state "$DIR/perf" | sed -n 2p | cut -d, -f1)
written=$(grep -c '^{"type":"transition"' "$DIR/out" || true)
summary=$(tail -1 "$DIR/out")
field() { echo "$summary" | grep -o "\"$1\":[0-9]*" | head -1 | cut -d: -f2; }
join -j1 "$DIR/s0" "$DIR/s1" | awk -v pp="$perf_port" -v pa="$perf_all" -v w="$written" \
	-v seen="$(field seen)" -v lost="$(field recursion_misses)" \
	-v rb="$(field ringbuf_full)" -v rate="$(cat "$DIR/rate")" '
	{ ns[$1] = $5 - $2; cnt[$1] = $6 - $3; miss[$1] = $7 - $4 }
	END {
		m = "handle_set_state"; f = "handle_nested"
		printf "conn/s %s perf port %d all %d | written %d (perf-written %d) seen %s lost.recursion %s ringbuf %s | main cnt %d miss %d | fallback cnt %d miss %d caught %d | ns/hit %.0f (main %.0f fallback %.0f)\n",
			rate, pp, pa, w, pp - w, seen, lost, rb, cnt[m], miss[m], cnt[f], miss[f], miss[m] - lost,
			pa ? (ns[m] + ns[f]) / pa : 0, cnt[m] ? ns[m] / cnt[m] : 0, cnt[f] ? ns[f] / cnt[f] : 0
	}'
