#!/bin/bash
# bench/profile.sh: instructions per query of dns64proxy, under
# valgrind --tool=callgrind.  Run by `make bench-profile`:
#
#   bench/profile.sh PATH/TO/dns64proxy
#
# For each kind, two runs of the proxy (workers = 1, no cache unless the
# kind says so) in front of a local knotd: one with PROFILE_WARMUP
# queries, one with PROFILE_WARMUP + PROFILE_QUERIES, sent one at a time.
# The difference of the instructions counted, divided by PROFILE_QUERIES,
# is the cost of one query in steady state, start-up and shut-down
# excluded.  Instruction counts do not move with machine noise: compare
# them before and after a change to catch a regression.
#
#   pass    AAAA, upstream has AAAA: passes through
#   synth   AAAA, A only upstream: synthesized (two upstream queries)
#   ptr     PTR inside 64:ff9b::/96: answered from in-addr.arpa
#   a       A: passes through
#   cached  AAAA/A over 100 names, [cache] entries = 10000, all hits
#           (the warm-up fills the cache)
#
# Under strace -f -c (when installed), the same pair of runs gives the
# system calls per query.
#
# Variables: PROFILE_QUERIES (default 2000), PROFILE_WARMUP (default 100),
# PROFILE_KINDS (default "pass synth ptr a cached"), BENCH_PORT (25300;
# this script uses BENCH_PORT+40 and +41).

set -u

PROXY=${1:-}
if [ -z "$PROXY" ] || [ ! -x "$PROXY" ]; then
	echo "usage: $0 PATH/TO/dns64proxy" >&2
	exit 2
fi
PROXY=$(cd "$(dirname "$PROXY")" && pwd)/$(basename "$PROXY")
N=${PROFILE_QUERIES:-2000}
W=${PROFILE_WARMUP:-100}
KINDS=${PROFILE_KINDS:-pass synth ptr a cached}
BENCH_PORT=${BENCH_PORT:-25300}
UP_PORT=$((BENCH_PORT + 40))
PX_PORT=$((BENCH_PORT + 41))

BENCH_TMP=$(mktemp -d /tmp/dns64proxy-profile.XXXXXX)
. "$(dirname "$0")/common.sh"

cleanup() {
	cleanup_started
	rm -rf "$BENCH_TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

for tool in valgrind knotd ss pgrep "$PY"; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "profile: $tool is missing (apt-get install valgrind knot iproute2 python3)" >&2
		exit 1
	fi
done

start_knotd "$BENCH_TMP/knot" "$UP_PORT" "0-$(($(nproc) - 1))" || exit 1

# run_proxy TOOL KIND FILE COUNT OUT: one proxy run under TOOL
# (callgrind or strace) that answers COUNT queries from FILE; the tool's
# output goes to OUT
run_proxy() {
	local tool=$1 kind=$2 file=$3 count=$4 out=$5 entries=0 pid ppid i res
	[ "$kind" = cached ] && entries=10000
	cat > "$BENCH_TMP/proxy.conf" <<PEOF
[server]
listen = 127.0.0.1:$PX_PORT
upstream = 127.0.0.1:$UP_PORT
allow = 127.0.0.0/8
workers = 1

[dns64]
prefix = 64:ff9b::/96

[log]
level = error

[cache]
entries = $entries
PEOF
	case $tool in
	callgrind)
		valgrind --tool=callgrind --callgrind-out-file="$out" -q \
		    "$PROXY" -f -c "$BENCH_TMP/proxy.conf" >"$BENCH_TMP/tool.log" 2>&1 &
		;;
	strace)
		strace -f -qq -c -o "$out" \
		    "$PROXY" -f -c "$BENCH_TMP/proxy.conf" >"$BENCH_TMP/tool.log" 2>&1 &
		;;
	esac
	pid=$!
	STARTED_PIDS+=("$pid")
	# ready when the socket is bound: no query is sent to find out
	for i in $(seq 1 300); do
		ss -Hlun "sport = :$PX_PORT" 2>/dev/null | grep -q . && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if ! ss -Hlun "sport = :$PX_PORT" 2>/dev/null | grep -q .; then
		log "profile: the proxy did not start under $tool:"
		cat "$BENCH_TMP/tool.log" >&2
		return 1
	fi
	if [ "$count" -gt 0 ]; then
		if ! res=$("$PY" "$BENCH_DIR/pclient.py" "$PX_PORT" "$file" "$count"); then
			log "profile: $kind: $res"
			kill "$pid"
			wait "$pid"
			return 1
		fi
		log "  $tool $kind, $count queries: $res"
	fi
	if [ "$tool" = strace ]; then
		# stop the proxy, not strace: strace then writes its summary
		ppid=$(pgrep -P "$pid" | head -n 1)
		kill -TERM "${ppid:-$pid}"
	else
		kill -TERM "$pid"
	fi
	wait "$pid"
}

callgrind_total() {
	awk '/^(summary|totals):/ { print $2; exit }' "$1"
}

# strace_calls FILE: "syscall calls" lines, and "total calls"
strace_calls() {
	awk '$NF != "syscall" && $1 ~ /^[0-9.]+$/ && NF >= 5 { print $NF, $4 }' "$1"
}

declare -A IPQ SPQ SDETAIL
for kind in $KINDS; do
	file=$BENCH_TMP/q-$kind.txt
	w=$W
	if [ "$kind" = cached ]; then
		w=100	# the 100 names once: the cache is full after the warm-up
		"$PY" "$BENCH_DIR/genq.py" cached 100 > "$file"
	else
		"$PY" "$BENCH_DIR/genq.py" "$kind" $((w + N)) > "$file"
	fi
	run_proxy callgrind "$kind" "$file" "$w" "$BENCH_TMP/cg.base" || exit 1
	run_proxy callgrind "$kind" "$file" $((w + N)) "$BENCH_TMP/cg.full" || exit 1
	base=$(callgrind_total "$BENCH_TMP/cg.base")
	full=$(callgrind_total "$BENCH_TMP/cg.full")
	IPQ[$kind]=$(( (full - base) / N ))
	log "profile: $kind: $base instructions with $w queries, $full with $((w + N))"
	if command -v strace >/dev/null 2>&1; then
		run_proxy strace "$kind" "$file" "$w" "$BENCH_TMP/st.base" || exit 1
		run_proxy strace "$kind" "$file" $((w + N)) "$BENCH_TMP/st.full" || exit 1
		strace_calls "$BENCH_TMP/st.base" > "$BENCH_TMP/st.base.c"
		strace_calls "$BENCH_TMP/st.full" > "$BENCH_TMP/st.full.c"
		SPQ[$kind]=$(awk -v n="$N" 'FNR == NR { b[$1] = $2; next }
		    $1 == "total" { printf "%.2f", ($2 - b[$1]) / n }' \
		    "$BENCH_TMP/st.base.c" "$BENCH_TMP/st.full.c")
		SDETAIL[$kind]=$(awk -v n="$N" 'FNR == NR { b[$1] = $2; next }
		    $1 != "total" { d = ($2 - b[$1]) / n; if (d >= 0.05) printf "%s %.2f, ", $1, d }' \
		    "$BENCH_TMP/st.base.c" "$BENCH_TMP/st.full.c" | sed 's/, $//')
	fi
done

echo "dns64proxy cost per query: user-space instructions (valgrind --tool=callgrind) and system calls (strace -f -c)"
echo "$N queries after $w of warm-up, one at a time; (run with warm-up + $N) - (run with warm-up only), / $N"
echo "proxy: $PROXY ($("$PROXY" -V 2>&1 | head -n 1)), $(valgrind --version), workers = 1, upstream knotd"
printf '%-7s %11s %9s  %s\n' kind "instr/query" "sysc/q" what
for kind in $KINDS; do
	case $kind in
	pass) what="AAAA, upstream has AAAA: passes through" ;;
	synth) what="AAAA, A-only name: synthesized (AAAA + A upstream)" ;;
	ptr) what="PTR inside 64:ff9b::/96 (CNAME + upstream PTR)" ;;
	a) what="A: passes through" ;;
	cached) what="AAAA/A over 100 names, [cache] entries = 10000: hits" ;;
	*) what="" ;;
	esac
	printf '%-7s %11s %9s  %s\n' "$kind" "${IPQ[$kind]}" "${SPQ[$kind]:--}" "$what"
done
if [ -n "${SDETAIL[*]:-}" ]; then
	echo "system calls per query:"
	for kind in $KINDS; do
		printf '  %-7s %s\n' "$kind" "${SDETAIL[$kind]:--}"
	done
fi
