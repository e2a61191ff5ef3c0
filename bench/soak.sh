#!/usr/bin/env bash
# Soak: the tracer under a light steady load for a long time, scraped every second, its RSS
# sampled every 10 s. Memory must be flat after warm-up.
#
#   sudo bench/soak.sh [--minutes M] [--port P] [--rate N] [--out DIR] [--unfiltered]
#
# Load: N loopback connections/s to a listener on port P (each: connect, 100 bytes each way,
# client closes first), every 7th one left in CLOSE_WAIT for 40 s (lingerers come and go).
# The tracer writes JSON lines to DIR/trace.jsonl, serves metrics on P+1 (scraped every
# second) and rewrites DIR/metrics.prom each second. It traces only ports P and P+1 unless
# --unfiltered. Writes DIR/rss.tsv (seconds, VmRSS kB, RssAnon kB, open fds) and prints the
# growth after warm-up (the first 3 minutes).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
MINUTES=30
PORT=21900
RATE=20
OUT=/tmp/tcptrace-soak
FILTER=1
BIN=${TCPTRACE_BIN:-$ROOT/.build/release/tcptrace-bpf}

usage() { sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 64; }
while [ $# -gt 0 ]; do
	case "$1" in
	--minutes) MINUTES=$2; shift 2 ;;
	--port) PORT=$2; shift 2 ;;
	--rate) RATE=$2; shift 2 ;;
	--out) OUT=$2; shift 2 ;;
	--unfiltered) FILTER=0; shift ;;
	-h | --help) usage ;;
	*) echo "soak.sh: unknown argument $1" >&2; usage ;;
	esac
done
[ "$(id -u)" = 0 ] || { echo "soak.sh: run as root (loads BPF programs)" >&2; exit 77; }
mkdir -p "$OUT"
METRICS=$((PORT + 1))
SECONDS_TOTAL=$((MINUTES * 60))

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

args=(--format json -o "$OUT/trace.jsonl" --metrics-address "127.0.0.1:$METRICS" --metrics-textfile "$OUT/metrics.prom"
	--close-wait-threshold 20s --duration "$((SECONDS_TOTAL + 30))s")
[ "$FILTER" = 1 ] && args+=(--port "$PORT,$METRICS")
"$BIN" "${args[@]}" 2>"$OUT/stderr.log" &
tracer=$!
pids+=("$tracer")
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$METRICS/metrics" >/dev/null && break; sleep 0.2; done

python3 - "$PORT" "$RATE" "$SECONDS_TOTAL" <<'EOF' &
import socket, sys, time, threading
port, rate, total = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
srv = socket.socket(); srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", port)); srv.listen(512)
held = []  # (deadline, socket): server sides left in CLOSE_WAIT
def serve():
    n = 0
    while True:
        c, _ = srv.accept(); n += 1
        c.recv(100); c.sendall(b"y" * 100)
        if n % 7 == 0: held.append((time.monotonic() + 40, c))
        else:
            c.recv(100); c.close()
threading.Thread(target=serve, daemon=True).start()
end = time.monotonic() + total
step = 1 / rate
nxt = time.monotonic()
while time.monotonic() < end:
    s = socket.create_connection(("127.0.0.1", port)); s.sendall(b"x" * 100); s.recv(100); s.close()
    now = time.monotonic()
    while held and held[0][0] <= now: held.pop(0)[1].close()
    nxt += step
    time.sleep(max(0, nxt - time.monotonic()))
EOF
pids+=($!)

( while kill -0 "$tracer" 2>/dev/null; do curl -s -o /dev/null "http://127.0.0.1:$METRICS/metrics"; sleep 1; done ) &
pids+=($!)

start=$(date +%s)
printf 'seconds\tvm_rss_kb\trss_anon_kb\tfds\n' >"$OUT/rss.tsv"
while [ $(($(date +%s) - start)) -lt "$SECONDS_TOTAL" ] && kill -0 "$tracer" 2>/dev/null; do
	rss=$(awk '/^VmRSS/ {print $2}' /proc/$tracer/status)
	anon=$(awk '/^RssAnon/ {print $2}' /proc/$tracer/status)
	fds=$(ls /proc/$tracer/fd | wc -l)
	printf '%d\t%s\t%s\t%s\n' $(($(date +%s) - start)) "$rss" "$anon" "$fds" >>"$OUT/rss.tsv"
	sleep 10
done
awk -F'\t' 'NR > 1 && $1 >= 180 && first == "" { first = $2; t0 = $1 } NR > 1 { last = $2; t1 = $1; if ($2 > max) max = $2 }
	END { printf "RSS after warm-up: %d kB at %d s, %d kB at %d s (%+d kB), peak %d kB\n", first, t0, last, t1, last - first, max }' "$OUT/rss.tsv"
