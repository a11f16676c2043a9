#!/bin/bash
# bench/tcp.sh: queries over TCP through dns64proxy, beside the direct
# upstream and dnsdist, under dnsperf -m tcp.  Run by `make bench-tcp`:
#
#   bench/tcp.sh PATH/TO/dns64proxy [PATH/TO/another/dns64proxy]
#
# A query that comes over TCP goes to the upstream over TCP, so this is
# where the upstream connections' handling shows: a handshake and a
# TIME_WAIT entry per query, or connections kept open and reused.  The
# second binary, if given, runs as one more target ("dns64proxy B"), to
# compare two builds in one run.  dnsdist keeps its TCP connections to
# the backend open too; it is skipped if not installed.
#
# Everything runs on loopback (127.0.0.1, ports BENCH_PORT and up).  The
# target is pinned to one CPU, dnsperf and knotd (the upstream) to the
# other.  Each kind runs BENCH_ROUNDS rounds, every target once a round in
# an order that turns, on fresh unique names; the report gives medians.
# CPU per query is utime+stime of the target over the queries answered.
#
# Variables (environment or make command line):
#   BENCH_SECONDS       length of each run (default 5)
#   BENCH_ROUNDS        rounds per kind (default 3)
#   BENCH_KINDS         default "a synth" (see genq.py)
#   BENCH_CLIENTS, BENCH_OUTSTANDING   dnsperf -c (TCP connections) and
#                       -q (default 20 and 100)
#   BENCH_PORT          first port (default 25600)
#   BENCH_LOAD_CPU, BENCH_TARGET_CPU   as in bench/run.sh

set -u

PROXY=${1:-}
PROXY_B=${2:-}
if [ -z "$PROXY" ] || [ ! -x "$PROXY" ] ||
    { [ -n "$PROXY_B" ] && [ ! -x "$PROXY_B" ]; }; then
	echo "usage: $0 PATH/TO/dns64proxy [PATH/TO/another/dns64proxy]" >&2
	exit 2
fi

BENCH_SECONDS=${BENCH_SECONDS:-5}
BENCH_ROUNDS=${BENCH_ROUNDS:-3}
BENCH_KINDS=${BENCH_KINDS:-a synth}
BENCH_CLIENTS=${BENCH_CLIENTS:-20}
BENCH_OUTSTANDING=${BENCH_OUTSTANDING:-100}
BENCH_PORT=${BENCH_PORT:-25600}

BENCH_TMP=$(mktemp -d /tmp/dns64proxy-benchtcp.XXXXXX)
. "$(dirname "$0")/common.sh"
UPSTREAM_PORT=$BENCH_PORT
. "$BENCH_DIR/targets.sh"

bench_prepare bench-tcp

declare -A LABEL PORT TPIDS QPS_R CPU_R SYS_R LOST
TARGETS="direct dns64proxy"
LABEL=([direct]="upstream direct (knotd)" [dns64proxy]="dns64proxy"
    [dns64proxy_b]="dns64proxy B" [dnsdist]="dnsdist (forwarder)")
PORT=([dns64proxy]=$((BENCH_PORT + 1)) [dns64proxy_b]=$((BENCH_PORT + 2))
    [dnsdist]=$((BENCH_PORT + 3)) [direct]=$BENCH_PORT)
[ -n "$PROXY_B" ] && TARGETS="$TARGETS dns64proxy_b"
if command -v dnsdist >/dev/null 2>&1; then
	TARGETS="$TARGETS dnsdist"
else
	log "bench-tcp: dnsdist is not installed: skipped"
fi

start_dns64proxy_b() {
	local PROXY=$PROXY_B
	start_dns64proxy "$@"
}

start_knotd "$BENCH_TMP" "$UPSTREAM_PORT" "$LOAD_CPU" || exit 1
for t in $TARGETS; do
	[ "$t" = direct ] && { TPIDS[direct]=$KNOTD_PID; continue; }
	mkdir -p "$BENCH_TMP/$t"
	TARGET_PIDS=""
	"start_$t" "$BENCH_TMP/$t" "${PORT[$t]}" nocache
	TPIDS[$t]=$TARGET_PIDS
	if ! wait_udp "${PORT[$t]}" 20; then
		log "bench-tcp: ${LABEL[$t]} did not start:"
		tail -n 20 "$BENCH_TMP/$t"/*.log >&2
		exit 1
	fi
done

# one run: TARGET KIND FILE
tcp_run() {
	local t=$1 kind=$2 file=$3 out c0 c1 s0 s1
	local sent completed lost qps avg_ms p99_ms noerror rcodes
	out=$BENCH_TMP/run-$kind-$t.out
	c0=$(cpu_ticks ${TPIDS[$t]})
	s0=$(sys_ticks ${TPIDS[$t]})
	load dnsperf -m tcp -s 127.0.0.1 -p "${PORT[$t]}" -d "$file" -n 1 \
	    -l "$BENCH_SECONDS" -c "$BENCH_CLIENTS" -q "$BENCH_OUTSTANDING" \
	    -t 3 >"$out" 2>&1
	c1=$(cpu_ticks ${TPIDS[$t]})
	s1=$(sys_ticks ${TPIDS[$t]})
	eval "$("$PY" "$BENCH_DIR/dpstats.py" "$out")"
	QPS_R[$kind,$t]="${QPS_R[$kind,$t]:-} ${qps%.*}"
	CPU_R[$kind,$t]="${CPU_R[$kind,$t]:-} $(us_per_query $((c1 - c0)) "$completed")"
	SYS_R[$kind,$t]="${SYS_R[$kind,$t]:-} $(us_per_query $((s1 - s0)) "$completed")"
	LOST[$kind,$t]=$(( ${LOST[$kind,$t]:-0} + lost ))
	log "  $kind ${LABEL[$t]}: $qps q/s, $lost lost, $(us_per_query $((c1 - c0)) "$completed") us CPU/query [$rcodes]"
}

NQ=$((BENCH_SECONDS * 60000))
tl=($TARGETS)
for kind in $BENCH_KINDS; do
	log "== $kind over TCP"
	for ((r = 0; r < BENCH_ROUNDS; r++)); do
		for ((i = 0; i < ${#tl[@]}; i++)); do
			t=${tl[$(( (i + r) % ${#tl[@]} ))]}
			f=$BENCH_TMP/q-$kind-$r-$t.txt
			"$PY" "$BENCH_DIR/genq.py" "$kind" "$NQ" > "$f"
			tcp_run "$t" "$kind" "$f"
			rm -f "$f"
		done
	done
done

{
	echo "dns64proxy over TCP: $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs, $(uname -r)"
	echo "dnsperf -m tcp -c $BENCH_CLIENTS -q $BENCH_OUTSTANDING, $BENCH_SECONDS s a run, $BENCH_ROUNDS rounds (medians), unique names"
	echo "target on CPU ${TARGET_CPU:--}, dnsperf and knotd on CPU ${LOAD_CPU:--}"
	echo "dns64proxy: $PROXY"
	[ -n "$PROXY_B" ] && echo "dns64proxy B: $PROXY_B"
	printf '%-8s %-26s %10s %14s %14s %6s\n' kind target "q/s" "CPU us/query" "(kernel)" lost
	for kind in $BENCH_KINDS; do
		for t in $TARGETS; do
			printf '%-8s %-26s %10s %14s %14s %6s\n' "$kind" "${LABEL[$t]}" \
			    "$(median ${QPS_R[$kind,$t]:-})" \
			    "$(median ${CPU_R[$kind,$t]:-})" \
			    "($(median ${SYS_R[$kind,$t]:-}))" "${LOST[$kind,$t]:-0}"
		done
	done
}
