#!/usr/bin/env bash
# Where the kernel program's time goes: the program built with parts switched off, side by side.
#
#   sudo bench/ablate.sh [--rounds R] [--connections N] [--port P] [--no-build] [--only LIST]
#
# Builds the committed HEAD once per variant in a temporary git worktree, with
# bench/ablation.patch applied (compile-time switches, ABLATE_*, off in every real build), into
# bench/.output/ablate/VARIANT (--no-build reuses them). Then, per round and in a rotating
# order, runs the storm (bench/storm.c) untraced and under each variant, and reads each
# program's run time from bpf_stats (on during the runs, restored after). Variants, each
# cumulative on the one above it (JSON mode, `--format json --output FILE --port P`):
#   empty         handle_set_state returns after its exactly-once bookkeeping (cookie, the
#                 per-CPU identity, the TCP check, one counter); handle_nested and
#                 handle_destroy as shipped: the floor of this design's three programs
#   no-fill       + socket storage, owner, filters, gap and state bookkeeping; no event
#   no-ring       + the event filled, into a per-CPU scratch map instead of the ring
#   no-ring-no-clock  no-ring without bpf_ktime_get_ns() (the clock read's share)
#   small-record  no-ring + a 64-byte record reserved and discarded in the ring (the ring's cost
#                 apart from the event's size)
#   full          the program as shipped: the event reserved and submitted in the ring
# and in connections-only mode (`--events connections,lingerers`): empty@conns, full@conns.
# Prints a markdown table of medians (min-max); raw results under bench/out/ablate-TIME/.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
ROUNDS=5
CONNECTIONS=100000
PORT=46100
BUILD=1
ONLY="none,empty,no-fill,no-ring,no-ring-no-clock,small-record,full,empty@conns,full@conns"
usage() { sed -n '2,25p' "$0" | sed 's/^# \{0,1\}//'; exit 64; }
while [ $# -gt 0 ]; do
	case "$1" in
	--rounds) ROUNDS=$2; shift 2 ;;
	--connections) CONNECTIONS=$2; shift 2 ;;
	--port) PORT=$2; shift 2 ;;
	--no-build) BUILD=0; shift ;;
	--only) ONLY=$2; shift 2 ;;
	-h | --help) usage ;;
	*) echo "ablate.sh: unknown argument $1" >&2; usage ;;
	esac
done
[ "$(id -u)" = 0 ] || { echo "ablate.sh: run as root (loads BPF programs)" >&2; exit 77; }
command -v bpftool >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y bpftool >&2

declare -A FLAGS=(
	[empty]="-DABLATE_EMPTY"
	[no-fill]="-DABLATE_NO_RING -DABLATE_NO_FILL"
	[no-ring]="-DABLATE_NO_RING"
	[no-ring-no-clock]="-DABLATE_NO_RING -DABLATE_NO_CLOCK"
	[small-record]="-DABLATE_NO_RING -DABLATE_SMALL_RECORD"
	[full]=""
)
BINS=$HERE/.output/ablate
make -s -C "$HERE" >&2
STORM=$HERE/.output/storm

if [ "$BUILD" = 1 ]; then
	WT=$(mktemp -d /tmp/tcptrace-ablate.XXXXXX)
	trap 'git -C "$ROOT" worktree remove --force "$WT" 2>/dev/null || rm -rf "$WT"' EXIT
	git -C "$ROOT" worktree add --detach "$WT" HEAD >&2
	git -C "$WT" apply "$HERE/ablation.patch" || { echo "ablate.sh: bench/ablation.patch does not apply to HEAD: update it" >&2; exit 1; }
	mkdir -p "$BINS"
	for v in "${!FLAGS[@]}"; do
		echo "building $v (${FLAGS[$v]:-no switch})" >&2
		rm -f "$WT/bpf/.output/tcptrace.bpf.o"
		make -s -C "$WT" build BPF_ABLATE="${FLAGS[$v]}" >&2
		cp "$WT/.build/release/tcptrace-bpf" "$BINS/$v"
	done
fi

OUT=$HERE/out/ablate-$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$OUT"
RESULTS=$OUT/results.tsv
printf 'round\tconfig\tconn_per_s\tmain_ns\tmain_runs\tall_ns\thits\tcpu_s\n' >"$RESULTS"
STATS_WAS=$(sysctl -n kernel.bpf_stats_enabled)
sysctl -qw kernel.bpf_stats_enabled=1
cleanup_stats() { sysctl -qw kernel.bpf_stats_enabled="$STATS_WAS"; }
trap 'cleanup_stats; [ -n "${WT:-}" ] && { git -C "$ROOT" worktree remove --force "$WT" 2>/dev/null || rm -rf "$WT"; }' EXIT
ticks=$(getconf CLK_TCK)
HITS=$((CONNECTIONS * 10 + 2))

# "name run_time_ns run_cnt" per program the process holds (a program not run yet: 0 0).
prog_stats() {
	local id line
	for id in $(grep -h '^prog_id:' /proc/"$1"/fdinfo/* 2>/dev/null | awk '{print $2}' | sort -un); do
		line=$(bpftool prog show id "$id" 2>/dev/null | head -1)
		name=$(echo "$line" | grep -o 'name [a-z_]*' | cut -d' ' -f2)
		ns=$(echo "$line" | grep -o 'run_time_ns [0-9]*' | cut -d' ' -f2)
		cnt=$(echo "$line" | grep -o 'run_cnt [0-9]*' | cut -d' ' -f2)
		echo "$name ${ns:-0} ${cnt:-0}"
	done
}

offset=0
run_one() { # round config
	local round=$1 cfg=$2 variant=${2%@*} mode=json pid="" rate cpu0 cpu1 s0 s1
	[[ "$cfg" == *@conns ]] && mode=conns
	local f=$OUT/out.$$
	if [ "$cfg" = none ]; then
		rate=$("$STORM" -q -n "$CONNECTIONS" -p "$PORT" -o "$offset" -t 300)
		offset=$((offset + CONNECTIONS))
		printf '%s\tnone\t%s\t\t\t\t\t\n' "$round" "$rate" >>"$RESULTS"
		echo "round $round none $rate conn/s" >&2
		return
	fi
	local args=(--format json --output "$f" --port "$PORT")
	[ "$mode" = conns ] && args+=(--events connections,lingerers)
	"$BINS/$variant" "${args[@]}" 2>"$OUT/stderr" &
	pid=$!
	for _ in $(seq 100); do
		grep -qh '^prog_id:' /proc/"$pid"/fdinfo/* 2>/dev/null && break
		sleep 0.1
	done
	sleep 0.5
	s0=$(prog_stats "$pid")
	cpu0=$(awk '{print $14 + $15}' /proc/"$pid"/stat)
	rate=$("$STORM" -q -n "$CONNECTIONS" -p "$PORT" -o "$offset" -t 300)
	offset=$((offset + CONNECTIONS))
	sleep 0.5
	s1=$(prog_stats "$pid")
	cpu1=$(awk '{print $14 + $15}' /proc/"$pid"/stat)
	kill -INT "$pid"
	wait "$pid" || true
	rm -f "$f"
	# Per program: the run time and runs during the storm.
	read -r main_ns main_runs all_ns < <(join <(echo "$s0" | sort) <(echo "$s1" | sort) |
		awk '{ns = $4 - $2; c = $5 - $3; all += ns; if ($1 == "handle_set_state") {m = ns; mc = c}} END {print m + 0, mc + 0, all + 0}')
	local cpu
	cpu=$(awk -v a="$cpu0" -v b="$cpu1" -v t="$ticks" 'BEGIN {printf "%.3f", (b - a) / t}')
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$round" "$cfg" "$rate" "$main_ns" "$main_runs" "$all_ns" "$HITS" "$cpu" >>"$RESULTS"
	echo "round $round $cfg $rate conn/s, handle_set_state $((main_ns / (main_runs > 0 ? main_runs : 1))) ns/run, all $((all_ns / HITS)) ns/hit, cpu ${cpu}s" >&2
}

IFS=, read -r -a CONFIGS <<<"$ONLY"
for cfg in "${CONFIGS[@]}"; do
	v=${cfg%@*}
	[ "$v" = none ] || [ -x "$BINS/$v" ] || { echo "ablate.sh: no binary for $v (run without --no-build)" >&2; exit 1; }
done
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
echo "storm: $CONNECTIONS connections x $ROUNDS rounds; load before: $LOAD_BEFORE; results in $OUT" >&2
for round in $(seq "$ROUNDS"); do
	n=${#CONFIGS[@]}
	for i in $(seq 0 $((n - 1))); do
		run_one "$round" "${CONFIGS[$(((i + round - 1) % n))]}"
	done
done
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

python3 - "$RESULTS" "$LOAD_BEFORE" "$LOAD_AFTER" "$ONLY" <<'EOF' | tee "$OUT/table.md"
import csv, platform, statistics, sys
path, before, after, order = sys.argv[1:]
rows = list(csv.DictReader(open(path), delimiter="\t"))
base = {r["round"]: float(r["conn_per_s"]) for r in rows if r["config"] == "none"}
def fmt(vals, f):
    if not vals: return "–"
    m = statistics.median(vals)
    return f(m) if min(vals) == max(vals) else f"{f(m)} ({f(min(vals))}–{f(max(vals))})"
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
print(f"{cpu}, {len(base)} rounds, load before {before}, after {after}, Linux {platform.release()}\n")
print("| variant | conn/s | slowdown | handle_set_state ns/run | all programs ns/hit | tracer CPU µs/event |")
print("|---|---|---|---|---|---|")
for cfg in order.split(","):
    rs = [r for r in rows if r["config"] == cfg]
    rate = [float(r["conn_per_s"]) for r in rs]
    slow = [base[r["round"]] / float(r["conn_per_s"]) for r in rs if r["round"] in base and cfg != "none"]
    main = [int(r["main_ns"]) / max(1, int(r["main_runs"])) for r in rs if r["main_ns"]]
    allp = [int(r["all_ns"]) / int(r["hits"]) for r in rs if r["all_ns"]]
    cpu_ev = [1e6 * float(r["cpu_s"]) / int(r["hits"]) for r in rs if r["cpu_s"]]
    print(f"| {cfg} | {fmt(rate, lambda v: f'{v:,.0f}')} | {fmt(slow, lambda v: f'{v:.2f}×') if slow else '1.00'} | "
          f"{fmt(main, lambda v: f'{v:.0f}')} | {fmt(allp, lambda v: f'{v:.0f}')} | {fmt(cpu_ev, lambda v: f'{v:.2f}')} |")
EOF
