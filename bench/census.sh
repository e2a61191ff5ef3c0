#!/usr/bin/env bash
# Census speed: `tcptrace-bpf census` against `netstat -n | awk`, `ss -tan` and `ss -s` on
# N TIME_WAIT sockets, in a network namespace of its own (TIME_WAIT is capped per namespace by
# tcp_max_tw_buckets, and the host's own sockets stay out of the count).
#
#   sudo bench/census.sh [--sockets N] [--rounds R]
#
# Prints a markdown table of wall-clock medians (min-max) over R rounds, taken while the
# TIME_WAIT sockets live (60 s); N must stay below the namespace's tcp_max_tw_buckets.
set -euo pipefail
cd "$(dirname "$0")/.."
SOCKETS=100000
ROUNDS=7
while [ $# -gt 0 ]; do
	case "$1" in
	--sockets) SOCKETS=$2; shift 2 ;;
	--rounds) ROUNDS=$2; shift 2 ;;
	*) echo "usage: sudo bench/census.sh [--sockets N] [--rounds R]" >&2; exit 64 ;;
	esac
done
[ "$(id -u)" = 0 ] || { echo "census.sh: run as root (network namespace)" >&2; exit 77; }
BIN=${BIN:-.build/release/tcptrace-bpf}
[ -x "$BIN" ] || make build >/dev/null
make -C bench >/dev/null
command -v netstat >/dev/null || apt-get install -y -qq net-tools >/dev/null

NS=tcptrace-census-$$
ip netns add "$NS"
trap 'ip netns del "$NS"' EXIT
ip netns exec "$NS" ip link set lo up
in_ns() { ip netns exec "$NS" "$@"; }

# Clients close first, so each of the N connections leaves one TIME_WAIT socket.
in_ns bench/.output/storm -q -n "$SOCKETS" -p 9000 >/dev/null
timewait=$(in_ns ss -Htan state time-wait | wc -l)

ms() { # command...: wall milliseconds
	local t0 t1
	t0=$(date +%s%N)
	"$@" >/dev/null 2>&1
	t1=$(date +%s%N)
	echo $(((t1 - t0) / 1000000))
}
netstat_awk() { in_ns sh -c 'netstat -n | awk "/^tcp/ {n[\$6]++} END {for (s in n) print s, n[s]}"'; }
declare -A times
for _ in $(seq "$ROUNDS"); do
	times[census]+="$(ms in_ns "$BIN" census) "
	times[netstat]+="$(ms netstat_awk) "
	times[ss-tan]+="$(ms in_ns ss -tan) "
	times[ss-s]+="$(ms in_ns ss -s) "
done
stat() { tr ' ' '\n' | grep . | sort -n | awk '{a[NR]=$1} END {printf "%d ms (%d-%d)", a[int((NR+1)/2)], a[1], a[NR]}'; }
median() { tr ' ' '\n' | grep . | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
base=$(echo "${times[census]}" | median)

echo "Census speed on $timewait TIME_WAIT sockets, $ROUNDS rounds, $(nproc) CPUs, Linux $(uname -r), load $(cut -d' ' -f1 /proc/loadavg)"
echo
echo "| command | wall time, median (min-max) | vs census |"
echo "|---|---|---|"
for k in census netstat ss-tan ss-s; do
	label=$k
	case $k in netstat) label='`netstat -n \| awk`' ;; ss-tan) label='`ss -tan`' ;; ss-s) label='`ss -s` (totals only)' ;; census) label='`tcptrace-bpf census`' ;; esac
	m=$(echo "${times[$k]}" | median)
	echo "| $label | $(echo "${times[$k]}" | stat) | $(awk -v m="$m" -v b="$base" 'BEGIN {printf "%.1f×", (b > 0 ? m / b : 0)}') |"
done
