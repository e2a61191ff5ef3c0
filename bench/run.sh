#!/usr/bin/env bash
# Connection-storm benchmark: tcptrace-bpf side by side with libbpf-tools tcpstates and bpftrace.
#
#   sudo bench/run.sh [--connections N] [--rounds R] [--quick] [--only LIST] [--keep] [--no-stats]
#                     [--port P] [--ring-buffer-size LIST] [--no-perf-check]
#
# Each round runs every configuration once, in a rotating order, against the same storm
# (bench/storm.c: N loopback connections, 10 TCP transitions each). Per run it measures the
# storm's connections/s, the events the tracer wrote, its user+sys CPU after start-up, its BPF
# program's run time and recursion misses (kernel.bpf_stats_enabled=1, bpftool) and its peak RSS.
# Configurations (--only): none tcptrace-json tcptrace-stacks tcptrace-noskips tcptrace-text tcptrace-conns tcpstates
# bpftrace-printf bpftrace-count. --ring-buffer-size 4M,8M,16M runs each tcptrace configuration
# once per size (tcptrace-json@4M, ...). Prints a markdown table of medians (min-max), then how
# many rounds lost anything, and writes raw results under bench/out/. Each run (the untraced one
# too, so that all pay the same) is watched by perf's per-CPU counting events on the tracepoint,
# opened before the tracer attaches and closed after it exits, filtered on the port: the
# transitions the storm made, to check received + counted losses = made (--no-perf-check: off).
# All traffic is on 127.0.0.0/8; every wait is bounded.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
CONNECTIONS=100000
ROUNDS=3
PORT=47000
ONLY="none,tcptrace-json,tcptrace-text,tcpstates,bpftrace-printf,bpftrace-count"
KEEP=0
STATS=1
RING_SIZES=
PERF_CHECK=1
BIN=${TCPTRACE_BIN:-$ROOT/.build/release/tcptrace-bpf}

usage() { sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 64; }
while [ $# -gt 0 ]; do
	case "$1" in
	--connections) CONNECTIONS=$2; shift 2 ;;
	--rounds) ROUNDS=$2; shift 2 ;;
	--quick) CONNECTIONS=10000; ROUNDS=1; shift ;;
	--only) ONLY=$2; shift 2 ;;
	--port) PORT=$2; shift 2 ;;
	--keep) KEEP=1; shift ;;
	--no-stats) STATS=0; shift ;;
	--ring-buffer-size) RING_SIZES=$2; shift 2 ;;
	--no-perf-check) PERF_CHECK=0; shift ;;
	-h | --help) usage ;;
	*) echo "run.sh: unknown argument $1" >&2; usage ;;
	esac
done
[ "$(id -u)" = 0 ] || { echo "run.sh: run as root (loads BPF programs)" >&2; exit 77; }

# Peers and tools, from Debian, only when missing.
need=()
command -v tcpstates >/dev/null || need+=(libbpf-tools)
command -v bpftrace >/dev/null || need+=(bpftrace)
command -v bpftool >/dev/null || need+=(bpftool)
command -v perf >/dev/null || need+=(linux-perf)
[ -x /usr/bin/time ] || need+=(time)
command -v gcc >/dev/null || need+=(gcc)
if [ ${#need[@]} -gt 0 ]; then
	echo "installing ${need[*]}" >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y "${need[@]}" >&2
fi
mountpoint -q /sys/kernel/tracing || mount -t tracefs tracefs /sys/kernel/tracing

make -s -C "$HERE" >&2
STORM=$HERE/.output/storm
[ -x "$BIN" ] || make -s -C "$ROOT" build >&2

OUT=$HERE/out/$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$OUT"
RESULTS=$OUT/results.tsv
printf 'round\tconfig\tconn_per_s\treceived\texpected\tcpu_s\tkernel_ns\tkernel_runs\trecursion_misses\tpeak_rss_kb\tringbuf_full\tuser_s\tmade\tlost_total\tunseen\n' >"$RESULTS"
EXPECTED=$((CONNECTIONS * 10 + 2)) # + the listener's CLOSE->LISTEN and LISTEN->CLOSE

# bpf_stats on for every run (also the untraced one) so all pay the same; restored at exit.
# It costs each program two clock reads per hit, which production does not pay: --no-stats
# measures the slowdown without it (the kernel ns column is then empty).
STATS_WAS=$(sysctl -n kernel.bpf_stats_enabled)
sysctl -qw kernel.bpf_stats_enabled=$STATS
cleanup() { sysctl -qw kernel.bpf_stats_enabled="$STATS_WAS"; }
trap cleanup EXIT

ticks=$(getconf CLK_TCK)

# Program ids the process holds (prog fds, or links to programs), from /proc/PID/fdinfo.
prog_ids() {
	grep -h '^prog_id:' /proc/"$1"/fdinfo/* 2>/dev/null | awk '{print $2}' | sort -un
}
# Sum of run_time_ns and recursion_misses over the process's programs, and the largest
# run_cnt among them: tcptrace-bpf runs two programs per hit (the second handles only the
# hits the first was skipped for), so the cost per hit is the sum over the hits.
prog_stats() {
	local ns=0 cnt=0 miss=0 id line c
	for id in $(prog_ids "$1"); do
		line=$(bpftool prog show id "$id" 2>/dev/null | grep -o 'run_time_ns [0-9]* run_cnt [0-9]*' || true)
		[ -n "$line" ] && { ns=$((ns + $(echo "$line" | awk '{print $2}'))); c=$(echo "$line" | awk '{print $4}'); [ "$c" -gt "$cnt" ] && cnt=$c; }
		line=$(bpftool prog show id "$id" 2>/dev/null | grep -o 'recursion_misses [0-9]*' | awk '{print $2}' || true)
		[ -n "$line" ] && miss=$((miss + line))
	done
	echo "$ns $cnt $miss"
}
cpu_ticks() { awk '{print $14, $15}' /proc/"$1"/stat; } # user system

tracer_cmd() { # dir config[@ring size]: sets CMD
	local f=$1/out probe="tracepoint:sock:inet_sock_set_state"
	local pred="/args->protocol == 6 && (args->sport == $PORT || args->dport == $PORT)/"
	local ring=()
	[[ "$2" == *@* ]] && ring=(--ring-buffer-size "${2#*@}")
	case "${2%@*}" in
	tcptrace-json) CMD=("$BIN" --format json --output "$f" --port "$PORT" "${ring[@]}") ;;
	tcptrace-stacks) CMD=("$BIN" --format json --output "$f" --port "$PORT" --opener-stacks "${ring[@]}") ;;
	tcptrace-noskips) CMD=("$BIN" --format json --output "$f" --port "$PORT" --no-count-skips "${ring[@]}") ;;
	tcptrace-text) CMD=("$BIN" --output "$f" --port "$PORT" "${ring[@]}") ;;
	tcptrace-conns) CMD=("$BIN" --format json --output "$f" --port "$PORT" --events connections,lingerers "${ring[@]}") ;;
	tcpstates) CMD=(tcpstates) ;; # no filter keeps both sides; lines are counted by port
	bpftrace-printf) CMD=(bpftrace -e "$probe $pred { printf(\"%d %s %d %d %d -> %d\\n\", pid, comm, args->sport, args->dport, args->oldstate, args->newstate); }") ;;
	bpftrace-count) CMD=(bpftrace -e "$probe $pred { @n = count(); }") ;;
	esac
}

count_events() { # dir config
	local f=$1/out
	case "${2%@*}" in
	tcptrace-json | tcptrace-stacks | tcptrace-noskips) grep -c '^{"type":"transition"' "$f" || true ;;
	# No transition lines: the transitions it received, from its summary (connection records are
	# counted apart, in conn_records).
	tcptrace-conns) tail -1 "$f" | grep -o '"events":[0-9]*' | cut -d: -f2 || echo 0 ;;
	tcptrace-text) grep ":$PORT " "$f" | grep -vc ' CONN ' || true ;; # transitions, not connection records
	tcpstates) awk -v p="$PORT" '$5 == p || $7 == p' "$f" | wc -l ;;
	bpftrace-printf) grep -c ' -> ' "$f" || true ;;
	bpftrace-count) awk '/^@n:/ {print $2; found=1} END {if (!found) print 0}' "$f" ;;
	esac
}

offset=0
run_one() { # round config
	local round=$1 cfg=$2 dir=$OUT/r$1-$2 tpid="" pid="" cpu0="0 0" s0="0 0 0" s1="0 0 0" rate ppid="" made=""
	mkdir -p "$dir"
	if [ "$PERF_CHECK" = 1 ]; then # registered on the tracepoint before the tracer's programs
		perf stat -x, -o "$dir/perf" -a -e sock:inet_sock_set_state --filter "sport == $PORT || dport == $PORT" &
		ppid=$!
		sleep 0.3
	fi
	if [ "$cfg" != none ]; then
		# GNU time reports the tracer's whole-life user/sys CPU and peak RSS once it exits.
		tracer_cmd "$dir" "$cfg"
		/usr/bin/time -f '%U %S %M' -o "$dir/time" "${CMD[@]}" >"$dir/stdout" 2>"$dir/stderr" &
		tpid=$!
		for _ in $(seq 300); do # up to 30 s (bpftrace compiles with LLVM first)
			pid=$(pgrep -P "$tpid" | head -1 || true)
			[ -n "$pid" ] && [ -n "$(prog_ids "$pid")" ] && break
			sleep 0.1
		done
		[ -n "$pid" ] && [ -n "$(prog_ids "$pid")" ] || { echo "run.sh: $cfg did not start" >&2; cat "$dir/stderr" >&2; exit 1; }
		sleep 0.5 # attached after load
		[ -f "$dir/out" ] || ln -sf stdout "$dir/out"
		cpu0=$(cpu_ticks "$pid")
		s0=$(prog_stats "$pid")
	fi
	rate=$("$STORM" -q -n "$CONNECTIONS" -p "$PORT" -o "$offset" -t 300)
	offset=$((offset + CONNECTIONS))
	if [ -n "$pid" ]; then
		sleep 0.5 # let the tracer drain (it polls every 100 ms)
		s1=$(prog_stats "$pid")
		kill -INT "$pid"
		for _ in $(seq 300); do kill -0 "$tpid" 2>/dev/null || break; sleep 0.1; done
		kill -0 "$tpid" 2>/dev/null && { echo "run.sh: $cfg did not stop on SIGINT" >&2; kill -KILL "$pid"; }
		wait "$tpid" || true
	fi
	if [ -n "$ppid" ]; then
		sleep 0.2
		kill -INT "$ppid"
		wait "$ppid" || true
		made=$(grep inet_sock_set_state "$dir/perf" | head -1 | cut -d, -f1 || true)
	fi
	local received=0 cpu=0 user=0 rss=0 kns=0 kcnt=0 kmiss=0 rbfull="" ltotal="" unseen=""
	if [ "$cfg" != none ]; then
		received=$(count_events "$dir" "$cfg")
		read -r u s rss <"$dir/time"
		read -r u0 s0t <<<"$cpu0"
		cpu=$(awk -v u="$u" -v s="$s" -v u0="$u0" -v s0="$s0t" -v t="$ticks" 'BEGIN {printf "%.3f", u + s - (u0 + s0) / t}')
		user=$(awk -v u="$u" -v u0="$u0" -v t="$ticks" 'BEGIN {printf "%.3f", u - u0 / t}')
		read -r a0 b0 c0 <<<"$s0"
		read -r a1 b1 c1 <<<"$s1"
		kns=$((a1 - a0)) kcnt=$((b1 - b0)) kmiss=$((c1 - c0))
		if [ "${cfg%@*}" = tcptrace-json ] || [ "${cfg%@*}" = tcptrace-stacks ] || [ "${cfg%@*}" = tcptrace-noskips ] || [ "${cfg%@*}" = tcptrace-conns ]; then
			rbfull=$(tail -1 "$dir/out" | grep -o '"ringbuf_full":[0-9]*' | cut -d: -f2 || true)
			# Misses its fallback program did not catch: the events actually lost to recursion.
			kmiss=$(tail -1 "$dir/out" | grep -o '"recursion_misses":[0-9]*' | cut -d: -f2 || echo "$kmiss")
			ltotal=$(tail -1 "$dir/out" | grep -o '"total":[0-9]*' | head -1 | cut -d: -f2 || true)
			unseen=$(tail -1 "$dir/out" | grep -o '"unseen":[0-9]*' | cut -d: -f2 || true)
		elif [ "${cfg%@*}" = tcptrace-text ]; then
			kmiss=$(tail -20 "$dir/out" | grep -o 'recursion misses [0-9]*' | tail -1 | awk '{print $3}' || true)
			kmiss=${kmiss:-0}
			rbfull=$(tail -20 "$dir/out" | grep -o 'ring buffer full [0-9]*' | tail -1 | awk '{print $4}' || true)
			ltotal=$(tail -20 "$dir/out" | grep -o 'lost events: [0-9]*' | tail -1 | awk '{print $3}' || true)
			unseen=$(tail -20 "$dir/out" | grep -o 'unseen [0-9]*' | tail -1 | awk '{print $2}' || true)
		fi
		[ "$KEEP" = 1 ] || rm -f "$dir/out" "$dir/stdout"
	fi
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$round" "$cfg" "$rate" "$received" "$EXPECTED" \
		"$cpu" "$kns" "$kcnt" "$kmiss" "$rss" "${rbfull:-}" "$user" "${made:-}" "${ltotal:-}" "${unseen:-}" >>"$RESULTS"
	printf 'round %s %-20s %6s conn/s  events %s/%s (perf: %s made)  lost %s (unseen %s)  ring full %s  cpu %ss (user %ss)  kernel %s ns/%s runs  misses %s  rss %s KB\n' \
		"$round" "$cfg" "$rate" "$received" "$EXPECTED" "${made:--}" "${ltotal:--}" "${unseen:--}" "${rbfull:--}" "$cpu" "$user" "$kns" "$kcnt" "$kmiss" "$rss" >&2
}

IFS=, read -r -a ONLY_LIST <<<"$ONLY"
CONFIGS=()
for cfg in "${ONLY_LIST[@]}"; do # one tcptrace configuration per ring size
	if [ -n "$RING_SIZES" ] && [[ "$cfg" == tcptrace-* ]]; then
		IFS=, read -r -a sizes <<<"$RING_SIZES"
		for size in "${sizes[@]}"; do CONFIGS+=("$cfg@$size"); done
	else
		CONFIGS+=("$cfg")
	fi
done
ONLY=$(IFS=,; echo "${CONFIGS[*]}")
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
echo "storm: $CONNECTIONS connections x $ROUNDS rounds; load before: $LOAD_BEFORE; results in $OUT" >&2
for round in $(seq "$ROUNDS"); do
	n=${#CONFIGS[@]}
	for i in $(seq 0 $((n - 1))); do # rotate the order each round
		run_one "$round" "${CONFIGS[$(((i + round - 1) % n))]}"
	done
done
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

python3 - "$RESULTS" "$LOAD_BEFORE" "$LOAD_AFTER" "$CONNECTIONS" "$ROUNDS" "$ONLY" <<'EOF' | tee "$OUT/table.md"
import csv, os, platform, statistics, sys
path, load_before, load_after, conns, rounds, order = sys.argv[1:]
rows = list(csv.DictReader(open(path), delimiter="\t"))
base = {r["round"]: float(r["conn_per_s"]) for r in rows if r["config"] == "none"}
def fmt(vals, f):
    vals = [v for v in vals if v is not None]
    if not vals: return "–"
    m = statistics.median(vals)
    return f(m) if len(vals) == 1 or min(vals) == max(vals) else f"{f(m)} ({f(min(vals))}–{f(max(vals))})"
label = {
    "none": "no tracer",
    "tcptrace-json": "tcptrace-bpf `--format json --output FILE`",
    "tcptrace-stacks": "tcptrace-bpf `--format json --output FILE --opener-stacks`",
    "tcptrace-noskips": "tcptrace-bpf `--format json --output FILE --no-count-skips` (perf's skip counter off)",
    "tcptrace-text": "tcptrace-bpf text `--output FILE`",
    "tcptrace-conns": "tcptrace-bpf `--format json --events connections,lingerers --output FILE`",
    "tcpstates": "libbpf-tools `tcpstates > FILE`",
    "bpftrace-printf": "bpftrace `printf` > FILE",
    "bpftrace-count": "bpftrace `count()` in a map (no output per event)",
}
def name(cfg):
    kind, _, ring = cfg.partition("@")
    return label[kind] + (f" ring {ring}" if ring else "")
def ringfull(r):
    return int(r["ringbuf_full"]) if r.get("ringbuf_full") not in (None, "") else None
exp = int(rows[0]["expected"]) if rows else 0
# CPU per event: the tracer's CPU ÷ the transitions it received (connections-only writes no
# transition lines: its summary's count of transitions received).
def per_event(r, field="cpu_s"):
    return 1e6 * float(r[field]) / max(1, int(r["received"]))
tcpstates = {r["round"]: per_event(r) for r in rows if r["config"] == "tcpstates"}
print("| tracer | conn/s | slowdown | events received / expected | lost % | rounds with loss | ring-full drops | recursion misses | tracer CPU µs/event | user µs/event | CPU/event ÷ tcpstates' | kernel ns/event | peak RSS MB |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
losses = []
for cfg in order.split(","):
    rs = [r for r in rows if r["config"] == cfg]
    if not rs: continue
    rate = [float(r["conn_per_s"]) for r in rs]
    slow = [base[r["round"]] / float(r["conn_per_s"]) for r in rs if r["round"] in base]
    if cfg == "none":
        print(f"| {name(cfg)} | {fmt(rate, lambda v: f'{v:,.0f}')} | 1.00 |" + " – |" * 10)
        continue
    rec = [int(r["received"]) for r in rs]
    lost = [100.0 * (exp - int(r["received"])) / exp for r in rs]
    lossy = sum(1 for r in rs if int(r["received"]) < exp)
    full = [ringfull(r) for r in rs]
    cpu = [per_event(r) for r in rs]
    user = [per_event(r, "user_s") if r.get("user_s") else None for r in rs]
    ratio = [per_event(r) / tcpstates[r["round"]] if tcpstates.get(r["round"]) else None for r in rs]
    kns = [int(r["kernel_ns"]) / int(r["kernel_runs"]) if int(r["kernel_runs"]) else None for r in rs]
    miss = [int(r["recursion_misses"]) for r in rs]
    rss = [int(r["peak_rss_kb"]) / 1024 for r in rs]
    losses.append((cfg, name(cfg), lossy, len(rs), sum(1 for v in full if v), sum(1 for v in miss if v)))
    print(f"| {name(cfg)} | {fmt(rate, lambda v: f'{v:,.0f}')} | {fmt(slow, lambda v: f'{v:.2f}×')} "
          f"| {fmt(rec, lambda v: f'{v:,.0f}')} / {exp:,} | {fmt(lost, lambda v: f'{v:.2f}')} | {lossy}/{len(rs)} "
          f"| {fmt(full, lambda v: f'{v:,.0f}')} | {fmt(miss, lambda v: f'{v:,.0f}')} "
          f"| {fmt(cpu, lambda v: f'{v:.2f}')} | {fmt(user, lambda v: f'{v:.2f}')} | {fmt(ratio, lambda v: f'{v:.2f}')} "
          f"| {fmt(kns, lambda v: f'{v:,.0f}')} | {fmt(rss, lambda v: f'{v:.1f}')} |")
cpu_model = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
print()
print(f"Storm: {int(conns):,} connections per run ({int(conns) * 10:,} transitions + 2 for the listener), "
      f"{rounds} alternating round(s); medians (min–max).  ")
print(f"Machine: Linux {platform.release()}, {cpu_model}, nproc {os.cpu_count()}; "
      f"load average before {load_before}, after {load_after}.")
print()
print("Rounds that lost events (fewer transitions received than the storm made) / rounds:")
for cfg, n, lossy, total, full, miss in losses:
    cause = f" (ring full in {full}, recursion losses in {miss})" if cfg.startswith("tcptrace") else ""
    print(f"- {n}: {lossy}/{total}{cause}")
checked = [r for r in rows if r["config"].startswith("tcptrace") and r.get("made") and r.get("lost_total")]
if checked:
    print()
    print("Received + counted losses against the transitions perf counted on the port (tcptrace-bpf; "
          "`unseen` gaps count one per socket, a lower bound):")
    for r in checked:
        made, rec, lost = int(r["made"]), int(r["received"]), int(r["lost_total"])
        status = "holds" if rec + lost == made else ("losses over-counted" if rec + lost > made else "UNCOUNTED")
        print(f"- round {r['round']} {name(r['config'])}: made {made:,}, received {rec:,} + lost {lost:,} "
              f"(unseen {r.get('unseen') or 0}) = {rec + lost:,}: {status} ({made - rec - lost:+,})")
EOF
