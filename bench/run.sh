#!/bin/bash
# bench/run.sh: dns64proxy side by side with the direct upstream and with
# other DNS64 implementations, under dnsperf.  Run by `make bench`:
#
#   bench/run.sh PATH/TO/dns64proxy
#
# Everything runs on loopback (127.0.0.1, ports BENCH_PORT and up) and is
# stopped when the script exits.  Debian packages only: dnsperf, knot
# (the upstream), unbound, knot-resolver, pdns-recursor, bind9, dnsdist;
# a peer that is not installed is skipped and the report says so.
#   apt-get install dnsperf knot unbound knot-resolver pdns-recursor \
#       bind9 dnsdist python3          (and valgrind strace for profile.sh)
# The packages' own services need not run: every program is started here
# with a configuration of its own.
#
# Variables (environment or make command line):
#   BENCH_SECONDS       length of each saturation run (default 4)
#   BENCH_ROUNDS        saturation rounds per kind (default 3): every
#                       target runs once per round, in an order that
#                       turns each round, on names of its own; the report
#                       gives the median of the rounds, so a burst of
#                       noise on the machine spoils one round of one
#                       target, not its figure
#   BENCH_LAT_SECONDS   length of each fixed-rate latency run (default 5)
#   BENCH_SOAK_SECONDS  length of the soak at 80% of saturation (default 60)
#   BENCH_SOAK_TRIES    soaks run when dnsperf gives no figures (default 2)
#   BENCH_RATE          offered rate of the latency runs (default: half the
#                       lowest saturation rate among the targets, per kind)
#   BENCH_QUERIES       unique names per kind and round for the
#                       saturation runs (default 150000 per second of
#                       BENCH_SECONDS)
#   BENCH_KINDS         default "synth pass a ptr mix cached"
#   BENCH_TARGETS       default: all (direct dns64proxy dns64proxy_par
#                       unbound kresd pdns_recursor named dnsdist
#                       dnsdist_pool: dnsdist with 1024 backend sockets,
#                       the proxy's port spread, not in the cached kind)
#   BENCH_STEPS         default "perf cached inflight soak"
#   BENCH_CLIENTS, BENCH_OUTSTANDING   dnsperf -c and -q for saturation
#                       (default 2 and 200)
#   BENCH_PORT          first port (default 25300)
#   BENCH_LOAD_CPU, BENCH_TARGET_CPU   CPUs for load+upstream and target
#                       (default 0 and 1 when there are two or more CPUs)
#   BENCH_OUT           where the report is also written
#                       (default bench-results.txt in the current directory)

set -u

PROXY=${1:-}
if [ -z "$PROXY" ] || [ ! -x "$PROXY" ]; then
	echo "usage: $0 PATH/TO/dns64proxy" >&2
	exit 2
fi
PROXY=$(cd "$(dirname "$PROXY")" && pwd)/$(basename "$PROXY")

BENCH_SECONDS=${BENCH_SECONDS:-4}
BENCH_ROUNDS=${BENCH_ROUNDS:-3}
BENCH_LAT_SECONDS=${BENCH_LAT_SECONDS:-5}
BENCH_SOAK_SECONDS=${BENCH_SOAK_SECONDS:-60}
BENCH_RATE=${BENCH_RATE:-}
BENCH_QUERIES=${BENCH_QUERIES:-$((BENCH_SECONDS * 150000))}
BENCH_KINDS=${BENCH_KINDS:-synth pass a ptr mix cached}
BENCH_TARGETS=${BENCH_TARGETS:-direct dns64proxy dns64proxy_par unbound kresd pdns_recursor named dnsdist dnsdist_pool}
BENCH_STEPS=${BENCH_STEPS:-perf cached inflight soak}
BENCH_CLIENTS=${BENCH_CLIENTS:-2}
BENCH_OUTSTANDING=${BENCH_OUTSTANDING:-200}
BENCH_PORT=${BENCH_PORT:-25300}
BENCH_OUT=${BENCH_OUT:-bench-results.txt}

BENCH_TMP=$(mktemp -d /tmp/dns64proxy-bench.XXXXXX)
. "$(dirname "$0")/common.sh"
. "$BENCH_DIR/targets.sh"

bench_prepare bench

UPSTREAM_PORT=$BENCH_PORT
SUPPRESS="-O suppress=timeouts,congestion,sendfailed,sockready,unexpected"

declare -A LABEL PORT BIN TPIDS NOTE
declare -A SAT_QPS SAT_CPU SAT_SYS SAT_UP SAT_LOST SAT_RC SAT_QPS_R SAT_CPU_R SAT_SYS_R SAT_UP_R LAT_RATE LAT_AVG LAT_P99 LAT_LOST LAT_CPU LAT_DROPS
LABEL=([direct]="upstream direct (knotd)" [dns64proxy]="dns64proxy"
    [dns64proxy_par]="dns64proxy parallel=yes"
    [unbound]="unbound dns64" [kresd]="kresd dns64"
    [pdns_recursor]="pdns-recursor dns64" [named]="named dns64"
    [dnsdist]="dnsdist (forwarder, no DNS64)"
    [dnsdist_pool]="dnsdist, 1024 backend sockets")
BIN=([direct]=knotd [dns64proxy]="$PROXY" [dns64proxy_par]="$PROXY"
    [unbound]=unbound [kresd]=kresd [pdns_recursor]=pdns_recursor
    [named]=named [dnsdist]=dnsdist [dnsdist_pool]=dnsdist)
DNS64_PEERS="unbound kresd pdns_recursor named"
i=1
for t in direct dns64proxy dns64proxy_par unbound kresd pdns_recursor named dnsdist \
    dnsdist_pool; do
	PORT[$t]=$((BENCH_PORT + i))
	i=$((i + 1))
done
PORT[direct]=$UPSTREAM_PORT
SILENT_PORT=$((BENCH_PORT + 20))
MEM_PORT=$((BENCH_PORT + 21))
STATS_PORT=$((BENCH_PORT + 22))

TARGETS=""
for t in $BENCH_TARGETS; do
	if [ -z "${BIN[$t]+x}" ]; then
		echo "bench: unknown target $t" >&2
		exit 2
	fi
	if command -v "${BIN[$t]}" >/dev/null 2>&1; then
		TARGETS="$TARGETS $t"
	else
		NOTE[$t]="not installed (${BIN[$t]}): skipped"
		log "bench: ${BIN[$t]} is not installed: ${LABEL[$t]} skipped"
	fi
done

# targets_for KIND: which targets run that kind
targets_for() {
	local t
	for t in $TARGETS; do
		[ -n "${TPIDS[$t]:-}" ] || continue
		case "$t/$1" in
		dns64proxy_par/synth) ;;
		dns64proxy_par/*) continue ;;
		esac
		echo "$t"
	done
}

start_targets() {
	# start_targets MODE: every selected target but the direct upstream
	local mode=$1 t dir
	for t in $TARGETS; do
		[ "$t" = direct ] && { TPIDS[direct]=$KNOTD_PID; continue; }
		# the cached kind needs neither: no upstream query to speak of
		[ "$mode" = cache ] && { [ "$t" = dns64proxy_par ] ||
		    [ "$t" = dnsdist_pool ]; } && continue
		dir=$BENCH_TMP/$t-$mode
		mkdir -p "$dir"
		TARGET_PIDS=""
		"start_$t" "$dir" "${PORT[$t]}" "$mode"
		TPIDS[$t]=$TARGET_PIDS
		if ! wait_udp "${PORT[$t]}" 20 || ! kill -0 "$TARGET_PIDS" 2>/dev/null; then
			NOTE[$t]="did not start ($mode): $(tail -n 3 "$dir"/*.log 2>/dev/null | tr '\n' ' ' | cut -c1-200)"
			log "bench: ${LABEL[$t]} did not start; log:"
			tail -n 20 "$dir"/*.log >&2
			kill "$TARGET_PIDS" 2>/dev/null
			TPIDS[$t]=""
		fi
	done
}

stop_targets() {
	local t
	for t in $TARGETS; do
		[ "$t" = direct ] && continue
		[ -n "${TPIDS[$t]:-}" ] || continue
		kill "${TPIDS[$t]}" 2>/dev/null
		wait "${TPIDS[$t]}" 2>/dev/null
		TPIDS[$t]=""
	done
}

# sat_run TARGET KIND FILE LOOP ROUND: one saturation round; LOOP=yes
# lets dnsperf go round the file (the cached kind).  Adds to the round
# lists; sat_sum makes the figures.
sat_run() {
	local t=$1 kind=$2 file=$3 loop=$4 round=$5 out c0 c1 s0 s1 u0 u1 nopt="-n 1" cpu sys up
	local sent completed lost qps avg_ms p99_ms noerror rcodes
	out=$BENCH_TMP/sat-$kind-$t.out
	[ "$loop" = yes ] && nopt=""
	c0=$(cpu_ticks ${TPIDS[$t]})
	s0=$(sys_ticks ${TPIDS[$t]})
	u0=$(cpu_ticks "$KNOTD_PID")
	load dnsperf $SUPPRESS -s 127.0.0.1 -p "${PORT[$t]}" -d "$file" $nopt \
	    -l "$BENCH_SECONDS" -c "$BENCH_CLIENTS" -q "$BENCH_OUTSTANDING" \
	    -t 2 >"$out" 2>&1
	c1=$(cpu_ticks ${TPIDS[$t]})
	s1=$(sys_ticks ${TPIDS[$t]})
	u1=$(cpu_ticks "$KNOTD_PID")
	eval "$("$PY" "$BENCH_DIR/dpstats.py" "$out")"
	cpu=$(us_per_query $((c1 - c0)) "$completed")
	sys=$(us_per_query $((s1 - s0)) "$completed")
	up=$(us_per_query $((u1 - u0)) "$completed")
	SAT_QPS_R[$kind,$t]="${SAT_QPS_R[$kind,$t]:-} $qps"
	SAT_CPU_R[$kind,$t]="${SAT_CPU_R[$kind,$t]:-} $cpu"
	SAT_SYS_R[$kind,$t]="${SAT_SYS_R[$kind,$t]:-} $sys"
	SAT_UP_R[$kind,$t]="${SAT_UP_R[$kind,$t]:-} $up"
	SAT_LOST[$kind,$t]=$(( ${SAT_LOST[$kind,$t]:-0} + lost ))
	SAT_RC[$kind,$t]=$rcodes
	log "  $kind ${LABEL[$t]} (round $round): saturation $qps q/s, $lost lost, $cpu us CPU/query ($sys in the kernel), upstream $up us/query [$rcodes]"
}

# sat_sum KIND TARGET: the medians of its rounds
sat_sum() {
	local kind=$1 t=$2
	# shellcheck disable=SC2086
	SAT_QPS[$kind,$t]=$(median ${SAT_QPS_R[$kind,$t]})
	# shellcheck disable=SC2086
	SAT_CPU[$kind,$t]=$(median ${SAT_CPU_R[$kind,$t]})
	# shellcheck disable=SC2086
	SAT_SYS[$kind,$t]=$(median ${SAT_SYS_R[$kind,$t]})
	# shellcheck disable=SC2086
	SAT_UP[$kind,$t]=$(median ${SAT_UP_R[$kind,$t]})
	SAT_QPS[$kind,$t]=${SAT_QPS[$kind,$t]%.*}
}

# lat_run TARGET KIND FILE RATE LOOP: fixed-rate run, per-query latencies
lat_run() {
	local t=$1 kind=$2 file=$3 rate=$4 loop=$5 out c0 c1 l0 l1 nopt="-n 1"
	local sent completed lost qps avg_ms p99_ms noerror rcodes
	out=$BENCH_TMP/lat-$kind-$t.out
	[ "$loop" = yes ] && nopt=""
	c0=$(cpu_ticks ${TPIDS[$t]})
	l0=$(sock_drops "${PORT[$t]}")
	load dnsperf $SUPPRESS -s 127.0.0.1 -p "${PORT[$t]}" -d "$file" $nopt \
	    -l "$BENCH_LAT_SECONDS" -Q "$rate" -c "$BENCH_CLIENTS" -q 2000 \
	    -t 2 -v >"$out" 2>&1
	c1=$(cpu_ticks ${TPIDS[$t]})
	l1=$(sock_drops "${PORT[$t]}")
	LAT_DROPS[$kind,$t]=$((l1 - l0))
	eval "$("$PY" "$BENCH_DIR/dpstats.py" "$out")"
	LAT_RATE[$kind,$t]=$rate
	LAT_AVG[$kind,$t]=$avg_ms
	LAT_P99[$kind,$t]=$p99_ms
	LAT_LOST[$kind,$t]=$lost
	LAT_CPU[$kind,$t]=$(us_per_query $((c1 - c0)) "$completed")
	log "  $kind ${LABEL[$t]}: at $rate q/s avg $avg_ms ms, p99 $p99_ms ms, $lost lost, $((l1 - l0)) dropped at its listen socket"
	rm -f "$out"
}

genq() {
	# genq KIND COUNT FILE
	"$PY" "$BENCH_DIR/genq.py" "$1" "$2" >"$3"
}

# run_kind KIND: saturation for every target, then latency at one rate
run_kind() {
	local kind=$1 t file latfile rate min="" loop=no n r tl i
	file=$BENCH_TMP/q-$kind.txt
	if [ "$kind" = cached ]; then
		genq cached 300 "$file"
		loop=yes
		for t in $(targets_for "$kind"); do	# fill the caches
			load dnsperf $SUPPRESS -s 127.0.0.1 -p "${PORT[$t]}" \
			    -d "$file" -n 2 -t 2 >/dev/null 2>&1
		done
	fi
	# shellcheck disable=SC2207
	tl=($(targets_for "$kind"))
	for r in $(seq 1 "$BENCH_ROUNDS"); do
		if [ "$kind" != cached ]; then
			log "bench: $kind round $r: writing $BENCH_QUERIES unique names"
			genq "$kind" "$BENCH_QUERIES" "$file"
		fi
		# each round starts one target further on
		for i in $(seq 0 $((${#tl[@]} - 1))); do
			t=${tl[$(( (i + r - 1) % ${#tl[@]} ))]}
			sat_run "$t" "$kind" "$file" "$loop" "$r"
		done
	done
	for t in "${tl[@]}"; do
		sat_sum "$kind" "$t"
		[ "$t" = direct ] && continue
		if [ -z "$min" ] || awk -v a="${SAT_QPS[$kind,$t]}" -v b="$min" 'BEGIN { exit !(a < b) }'; then
			min=${SAT_QPS[$kind,$t]}
		fi
	done
	if [ -n "$BENCH_RATE" ]; then
		rate=$BENCH_RATE
	else
		rate=$(awk -v m="${min:-2000}" 'BEGIN { r = int(m / 2 / 100) * 100; if (r < 100) r = 100; print r }')
	fi
	if [ "$kind" = cached ]; then
		latfile=$file
	else
		rm -f "$file"
		latfile=$BENCH_TMP/q-$kind-lat.txt
		n=$((rate * BENCH_LAT_SECONDS * 11 / 10 + 1000))
		genq "$kind" "$n" "$latfile"
	fi
	for t in $(targets_for "$kind"); do
		lat_run "$t" "$kind" "$latfile" "$rate" "$loop"
	done
	rm -f "$latfile"
}

# inflight_run WORKERS: a silent upstream, 10,000 queries, memory
declare -A MEM
inflight_run() {
	local w=$1 dir spid ppid res l0 l1
	dir=$BENCH_TMP/inflight-$w
	mkdir -p "$dir"
	if [ -n "$LOAD_CPU" ]; then
		taskset -c "$LOAD_CPU" "$PY" "$BENCH_DIR/silent.py" "$SILENT_PORT" 60 &
	else
		"$PY" "$BENCH_DIR/silent.py" "$SILENT_PORT" 60 &
	fi
	spid=$!
	STARTED_PIDS+=("$spid")
	cat > "$dir/proxy.conf" <<EOF
[server]
listen = 127.0.0.1:$MEM_PORT
upstream = 127.0.0.1:$SILENT_PORT
allow = 127.0.0.0/8
workers = $w
timeout = 20000
attempts = 1

[dns64]
prefix = 64:ff9b::/96

[log]
level = error

[stats]
listen = 127.0.0.1:$STATS_PORT
EOF
	TARGET_PIDS=""
	run_pinned "$dir/proxy.log" "$PROXY" -f -c "$dir/proxy.conf"
	ppid=$TARGET_PIDS
	sleep 0.5
	if ! kill -0 "$ppid" 2>/dev/null; then
		MEM[$w]="proxy did not start: $(tail -n 2 "$dir/proxy.log" | tr '\n' ' ')"
	else
		l0=$(sock_drops "$MEM_PORT")
		res=$(load "$PY" "$BENCH_DIR/inflight.py" "$ppid" "$MEM_PORT" \
		    "$STATS_PORT" 10000 20000 2>&1)
		l1=$(sock_drops "$MEM_PORT")
		MEM[$w]="$res listen_drops=$((l1 - l0))"
	fi
	log "  inflight workers=$w: ${MEM[$w]}"
	kill "$ppid" "$spid" 2>/dev/null
	wait "$ppid" "$spid" 2>/dev/null
}

# proxy_counters: the soak proxy's queries received (dns64proxy_queries_total),
# answers sent (dns64proxy_answers_total, all RCODEs) and NOERROR answers
proxy_counters() {
	"$PY" - "$STATS_PORT" <<'PYEOF'
import sys, urllib.request
try:
    text = urllib.request.urlopen("http://127.0.0.1:%s/metrics" % sys.argv[1],
                                  timeout=5).read().decode()
except OSError:
    print("0 0 0")
    sys.exit(0)
def total(prefix, label=""):
    return sum(int(float(l.split()[-1])) for l in text.splitlines()
               if l.startswith(prefix) and label in l)
print(total("dns64proxy_queries_total{"), total("dns64proxy_answers_total{"),
      total("dns64proxy_answers_total{", 'rcode="NOERROR"'))
PYEOF
}

# soak: dns64proxy, mix, 80% of its saturation, BENCH_SOAK_SECONDS
SOAK=""
soak_run() {
	local base rate file dir n t=dns64proxy
	dir=$BENCH_TMP/soak
	mkdir -p "$dir"
	TARGET_PIDS=""
	# its counters tell what it answered, whatever dnsperf received
	PROXY_EXTRA="[stats]
listen = 127.0.0.1:$STATS_PORT" start_dns64proxy "$dir" "${PORT[$t]}" nocache
	TPIDS[$t]=$TARGET_PIDS
	if ! wait_udp "${PORT[$t]}" 10; then
		SOAK="skipped: dns64proxy did not start"
		return
	fi
	base=${SAT_QPS[mix,dns64proxy]:-}
	if [ -z "$base" ]; then
		# no perf step before: measure the saturation here
		genq mix "$BENCH_QUERIES" "$BENCH_TMP/q-mix.txt"
		sat_run dns64proxy mix "$BENCH_TMP/q-mix.txt" no 1
		sat_sum mix dns64proxy
		rm -f "$BENCH_TMP/q-mix.txt"
		base=${SAT_QPS[mix,dns64proxy]}
	fi
	rate=$(awk -v b="$base" 'BEGIN { print int(b * 0.8) }')
	n=$((rate * BENCH_SOAK_SECONDS + 1000))
	log "bench: soak: writing $n unique names (mix)"
	file=$BENCH_TMP/q-soak.txt
	genq mix "$n" "$file"
	# dnsperf 2.10 now and then stalls (it stops sending at the offered
	# rate, or hangs after its run) and has to be killed: such a soak
	# has no figures from it, so it is run once more
	SOAK_FIRST=""
	if ! soak_once 1 && [ "${BENCH_SOAK_TRIES:-2}" -gt 1 ]; then
		SOAK_FIRST=$SOAK
		log "bench: soak: no usable figures from dnsperf: running it once more"
		soak_once 2 || true
		SOAK="a first soak had no usable figures from dnsperf:
$SOAK_FIRST
the second soak:
$SOAK"
	fi
	rm -f "$file"
	kill "${TPIDS[$t]}" 2>/dev/null
	wait "${TPIDS[$t]}" 2>/dev/null
	TPIDS[$t]=""
}

# soak_once TRY: one soak at $rate with $file (soak_run's locals); sets
# SOAK; 1 when dnsperf gave no usable figures (killed, silent, or far
# below the rate it was to offer)
soak_once() {
	local out d0 d1 l0 l1 u0 u1 spid rc=0
	local q0 a0 e0 qw aw ew q1 a1 e1 pc
	local sent completed lost qps avg_ms p99_ms noerror rcodes
	out=$dir/soak$1.out
	log "bench: soak: dns64proxy at $rate q/s for $BENCH_SOAK_SECONDS s"
	d0=$(udp_drops)
	l0=$(sock_drops "${PORT[$t]}")
	u0=$(sock_drops "$UPSTREAM_PORT")
	read -r q0 a0 e0 <<<"$(proxy_counters)"
	# the proxy's own counters at the end of the run's time, 2 s later
	# (whatever dnsperf does after: it has hung once in a while)
	(sleep $((BENCH_SOAK_SECONDS + 2)); proxy_counters >"$dir/window") &
	spid=$!
	# -b: 8 MiB socket buffers, so that dnsperf, which shares its CPU
	# with the upstream, does not drop answers itself
	load dnsperf $SUPPRESS -s 127.0.0.1 -p "${PORT[$t]}" -d "$file" -n 1 \
	    -l "$BENCH_SOAK_SECONDS" -Q "$rate" -c "$BENCH_CLIENTS" -q 5000 \
	    -b 8192 -t 5 >"$out" 2>&1 || rc=$?
	d1=$(udp_drops)
	l1=$(sock_drops "${PORT[$t]}")
	u1=$(sock_drops "$UPSTREAM_PORT")
	read -r q1 a1 e1 <<<"$(proxy_counters)"
	wait "$spid" 2>/dev/null
	read -r qw aw ew <"$dir/window" 2>/dev/null || { qw=$q0; aw=$a0; ew=$e0; }
	pc="the proxy's own counters (/metrics): in the first $BENCH_SOAK_SECONDS s (+2), $((qw - q0)) queries received
($(( (qw - q0) / BENCH_SOAK_SECONDS )) q/s), $((aw - a0)) answers sent ($((ew - e0)) NOERROR); by the end, $((q1 - q0)) received and
$((a1 - a0)) answered ($((e1 - e0)) NOERROR): $((q1 - q0 - (a1 - a0))) queries it received went unanswered"
	eval "$("$PY" "$BENCH_DIR/dpstats.py" "$out")"
	if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
		SOAK="offered $rate q/s (80% of $base) for $BENCH_SOAK_SECONDS s: dnsperf did not stop and was killed, so no figures from it
(it had printed: sent $sent, answered $completed);
$pc;
its listen socket dropped $((l1 - l0)) (/proc/net/udp)"
		return 1
	fi
	if [ "$sent" = 0 ]; then
		# dnsperf 2.10 once in a while prints no statistics after an
		# overloaded run: no figures then, and the report says why
		SOAK="offered $rate q/s (80% of $base) for $BENCH_SOAK_SECONDS s: dnsperf printed no statistics, so none from it;
$pc;
its listen socket dropped $((l1 - l0)) (/proc/net/udp); dnsperf's last lines:
$(tail -n 3 "$out")"
		return 1
	fi
	SOAK="offered $rate q/s (80% of $base) for $BENCH_SOAK_SECONDS s: sent $sent, answered $completed, lost $lost (no answer within 5 s); achieved $qps q/s; answers: $rcodes
$pc
kernel UDP receive-buffer drops during the soak: $((d1 - d0)) on the whole machine (/proc/net/snmp RcvbufErrors),
of which $((l1 - l0)) at the proxy's listen socket and $((u1 - u0)) at the upstream's (/proc/net/udp drops);
the rest at dnsperf's sockets or the proxy's upstream sockets (or other programs on the machine)"
	# a dnsperf that fell far behind its rate did not offer the load
	awk -v q="$qps" -v r="$rate" 'BEGIN { exit !(q >= 0.9 * r) }' || {
		SOAK="$SOAK
dnsperf achieved less than 90% of the offered rate: this soak does not show the load it was to offer"
		return 1
	}
}

# ---------------------------------------------------------------- run
T0=$(date +%s)
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
log "bench: scratch directory $BENCH_TMP"
start_knotd "$BENCH_TMP/knot" "$UPSTREAM_PORT" "${LOAD_CPU:-0-$((NCPU - 1))}" || exit 1

for step in $BENCH_STEPS; do
	case $step in
	perf)
		start_targets nocache
		for kind in $BENCH_KINDS; do
			[ "$kind" = cached ] && continue
			log "bench: kind $kind"
			run_kind "$kind"
		done
		stop_targets
		;;
	cached)
		case " $BENCH_KINDS " in *" cached "*) ;; *) continue ;; esac
		start_targets cache
		log "bench: kind cached (caches on)"
		run_kind cached
		stop_targets
		;;
	inflight)
		log "bench: 10,000 queries in flight, silent upstream"
		inflight_run 1
		inflight_run 3
		;;
	soak)
		soak_run
		;;
	esac
done
T1=$(date +%s)
LOAD1=$(cut -d' ' -f1-3 /proc/loadavg)

# ------------------------------------------------------------- report
declare -A KIND_TEXT
KIND_TEXT=([synth]="AAAA <unique>.a.bench.test: A only upstream, AAAA synthesized"
    [pass]="AAAA <unique>.d.bench.test: upstream has AAAA, passes through"
    [a]="A <unique>.a.bench.test"
    [ptr]="PTR <unique 64:ff9b::5dxx:xxxx>.ip6.arpa, inside the Pref64"
    [mix]="40% A, 35% AAAA synthesized, 15% AAAA pass-through, 10% PTR; all unique"
    [cached]="300 names repeated (150 AAAA synth, 75 AAAA pass, 75 A); caches on (dns64proxy [cache] entries = 10000)")

ratio() {
	# ratio A B: A/B with two decimals, or "-"
	awk -v a="${1:-}" -v b="${2:-}" 'BEGIN { if (a == "" || b == "" || a == "-" || b == "-" || b + 0 == 0) print "-"; else printf "%.2f", a / b }'
}

rounds() {
	# rounds KIND A B: A's CPU per query over B's, round by round (the
	# two ran in the same round, minutes apart at most), as
	# "[rounds: r1 r2 r3]"; nothing when a round is missing for one
	awk -v a="${SAT_CPU_R[$1,$2]:-}" -v b="${SAT_CPU_R[$1,$3]:-}" 'BEGIN {
		n = split(a, x, " "); m = split(b, y, " ")
		if (n == 0 || n != m) exit
		s = "  [rounds:"
		for (i = 1; i <= n; i++)
			s = s sprintf(" %s", (y[i] + 0 > 0 ? sprintf("%.2f", x[i] / y[i]) : "-"))
		print s "]" }'
}

best_peer() {
	# best_peer KIND: the DNS64 peer with the least CPU per query
	local kind=$1 t best="" bv=""
	for t in $DNS64_PEERS; do
		local v=${SAT_CPU[$kind,$t]:-}
		[ -n "$v" ] && [ "$v" != "-" ] || continue
		if [ -z "$bv" ] || awk -v a="$v" -v b="$bv" 'BEGIN { exit !(a < b) }'; then
			bv=$v
			best=$t
		fi
	done
	echo "$best"
}

report() {
	local t kind
	echo "dns64proxy benchmark ($(date -u '+%Y-%m-%d %H:%M UTC'), $((T1 - T0)) s)"
	echo "command:  $0 $PROXY  (BENCH_SECONDS=$BENCH_SECONDS BENCH_ROUNDS=$BENCH_ROUNDS BENCH_LAT_SECONDS=$BENCH_LAT_SECONDS BENCH_SOAK_SECONDS=$BENCH_SOAK_SECONDS BENCH_RATE=${BENCH_RATE:-auto} BENCH_QUERIES=$BENCH_QUERIES)"
	echo "proxy:    $("$PROXY" -V 2>&1 | head -n 1)"
	echo "machine:  $NCPU CPUs, $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo), $(uname -r)"
	echo "load avg: $LOAD0 at the start, $LOAD1 at the end (other programs on the machine add noise to"
	echo "          throughput and latency; CPU per query is the steadier figure)"
	echo "packages: $(dpkg-query -W -f '${Package} ${Version}, ' dnsperf knot unbound knot-resolver pdns-recursor bind9 dnsdist 2>/dev/null | sed 's/, $//')"
	if [ -n "$TARGET_CPU" ]; then
		echo "pinning:  target on CPU $TARGET_CPU (taskset); dnsperf and the upstream knotd on CPU $LOAD_CPU"
		echo "          (the 'upstream direct' row is knotd itself, sharing CPU $LOAD_CPU with dnsperf)"
	else
		echo "pinning:  none (one CPU)"
	fi
	echo "upstream: knotd, 1 UDP worker, wildcard zones bench.test and 93.in-addr.arpa on 127.0.0.1:$UPSTREAM_PORT"
	echo "targets:  one worker/thread each, forwarding to that upstream, DNSSEC validation off;"
	echo "          caches off or minimal for the unique-name kinds, on for 'cached'."
	echo "          dns64proxy: workers = 1, [cache] entries = 0 (10000 for 'cached')."
	echo "load:     dnsperf -c $BENCH_CLIENTS -q $BENCH_OUTSTANDING -t 2 -l $BENCH_SECONDS -n 1 (saturation, $BENCH_ROUNDS rounds per kind: every target"
	echo "          once a round, the order turning each round; q/s and CPU us/q are the medians of the rounds;"
	echo "          $BENCH_QUERIES fresh unique names per kind and round, none sent twice to a target; a fast target"
	echo "          may run out of names before the time is up);"
	echo "          dnsperf -Q RATE -l $BENCH_LAT_SECONDS -v (latency at a fixed rate, fresh unique names: avg and p99 over"
	echo "          dnsperf's per-query latencies; RATE is half the lowest saturation rate of the targets but"
	echo "          the direct upstream, unless BENCH_RATE is set); 'lost': no answer within 2 s;"
	echo "          'sockdr': of those, dropped by the kernel at the target's full listen socket (/proc/net/udp)."
	echo "          cached kind: dnsperf goes round its 300 names (caches filled first with two passes)."
	echo "CPU us/q: utime+stime of the target's process (/proc/PID/stat, all threads) over the run / answered queries;"
	echo "          left: at saturation, right: at the fixed rate (more wake-ups per query when not saturated)."
	echo "sys us/q: of that, stime alone: time in the kernel (sending and receiving the packets: on loopback the"
	echo "          sender's CPU also delivers the datagram to the receiving socket), the median of the rounds too."
	echo "upstr us/q: CPU of the upstream knotd over the same saturation runs / answered queries: what a target"
	echo "          costs the load CPU (knotd's sends deliver into the target's sockets), which bounds q/s@sat too;"
	echo "          per query the client asked (a synthesis asks the upstream twice)."
	for t in $BENCH_TARGETS; do
		[ -n "${NOTE[$t]:-}" ] && echo "note:     ${LABEL[$t]}: ${NOTE[$t]}"
	done
	for kind in $BENCH_KINDS; do
		echo
		echo "== $kind: ${KIND_TEXT[$kind]:-}"
		printf '%-31s %9s %8s %8s %10s %6s | %7s %8s %8s %6s %6s %8s\n' target "q/s@sat" "CPU us/q" "sys us/q" "upstr us/q" lost \
		    "rate" "avg ms" "p99 ms" lost sockdr "CPU us/q"
		for t in $BENCH_TARGETS; do
			[ -n "${SAT_QPS[$kind,$t]:-}" ] || continue
			printf '%-31s %9s %8s %8s %10s %6s | %7s %8s %8s %6s %6s %8s\n' "${LABEL[$t]}" \
			    "${SAT_QPS[$kind,$t]}" "${SAT_CPU[$kind,$t]}" "${SAT_SYS[$kind,$t]:--}" "${SAT_UP[$kind,$t]:--}" "${SAT_LOST[$kind,$t]}" \
			    "${LAT_RATE[$kind,$t]:--}" "${LAT_AVG[$kind,$t]:--}" \
			    "${LAT_P99[$kind,$t]:--}" "${LAT_LOST[$kind,$t]:--}" \
			    "${LAT_DROPS[$kind,$t]:--}" "${LAT_CPU[$kind,$t]:--}"
		done
		for t in $BENCH_TARGETS; do
			[ -n "${SAT_RC[$kind,$t]:-}" ] || continue
			[[ "${SAT_RC[$kind,$t]}" =~ ^NOERROR\ [0-9]+$ ]] && continue
			echo "   answers of ${LABEL[$t]}: ${SAT_RC[$kind,$t]}"
		done
		case $kind in
		ptr|mix) echo "   (REFUSED: the upstream has no ip6.arpa zone; the direct upstream and dnsdist do no DNS64)" ;;
		synth) echo "   (dnsdist does no DNS64: it relays the empty AAAA answer)" ;;
		esac
	done
	echo
	echo "== targets of the issue (CPU per query at saturation unless said; printed, not asserted)"
	echo "   (the ratio of the medians; [rounds: ...] gives the ratio within each round, which the machine's"
	echo "   drift between rounds does not move)"
	local dp b
	dp=${SAT_CPU[pass,dnsdist]:-}
	echo "pass-through AAAA: dns64proxy / dnsdist          = $(ratio "${SAT_CPU[pass,dns64proxy]:-}" "$dp")  (target <= 0.80)$(rounds pass dns64proxy dnsdist)"
	echo "pass-through A:    dns64proxy / dnsdist          = $(ratio "${SAT_CPU[a,dns64proxy]:-}" "${SAT_CPU[a,dnsdist]:-}")  (target <= 0.80)$(rounds a dns64proxy dnsdist)"
	echo "pass-through AAAA, queries per second at saturation: dns64proxy / dnsdist = $(ratio "${SAT_QPS[pass,dns64proxy]:-}" "${SAT_QPS[pass,dnsdist]:-}")  (target >= 1.00)"
	echo "pass-through A,    queries per second at saturation: dns64proxy / dnsdist = $(ratio "${SAT_QPS[a,dns64proxy]:-}" "${SAT_QPS[a,dnsdist]:-}")  (target >= 1.00)"
	if [ -n "${SAT_CPU[a,dnsdist_pool]:-}" ]; then
		echo "pass-through AAAA: dns64proxy / dnsdist, 1024 backend sockets = $(ratio "${SAT_CPU[pass,dns64proxy]:-}" "${SAT_CPU[pass,dnsdist_pool]:-}")  (for reference: answers spread over as many ports as the proxy's)"
		echo "pass-through A:    dns64proxy / dnsdist, 1024 backend sockets = $(ratio "${SAT_CPU[a,dns64proxy]:-}" "${SAT_CPU[a,dnsdist_pool]:-}")"
	fi
	for kind in synth ptr mix; do
		b=$(best_peer "$kind")
		[ -n "$b" ] || continue
		printf '%-18s dns64proxy / best DNS64 peer = %s  (best: %s; target <= 0.25)%s\n' \
		    "$kind:" "$(ratio "${SAT_CPU[$kind,dns64proxy]:-}" "${SAT_CPU[$kind,$b]}")" "${LABEL[$b]}" \
		    "$(rounds "$kind" dns64proxy "$b")"
	done
	echo "synthesis / own pass-through:  dns64proxy      = $(ratio "${SAT_CPU[synth,dns64proxy]:-}" "${SAT_CPU[pass,dns64proxy]:-}")  (target <= 2.00)"
	b=$(best_peer cached)
	if [ -n "$b" ]; then
		echo "cached:            dns64proxy / best caching DNS64 peer = $(ratio "${SAT_CPU[cached,dns64proxy]:-}" "${SAT_CPU[cached,$b]}")  (best: ${LABEL[$b]}; target <= 1.00)"
	fi
	if [ -n "${SAT_CPU[cached,dnsdist]:-}" ]; then
		echo "cached:            dns64proxy / dnsdist packet cache     = $(ratio "${SAT_CPU[cached,dns64proxy]:-}" "${SAT_CPU[cached,dnsdist]}")  (for reference)"
	fi
	if [ -n "${LAT_AVG[synth,dns64proxy_par]:-}" ]; then
		echo "synth latency at ${LAT_RATE[synth,dns64proxy]:-?} q/s: parallel = no: avg ${LAT_AVG[synth,dns64proxy]:-} ms, p99 ${LAT_P99[synth,dns64proxy]:-} ms;" \
		    "parallel = yes: avg ${LAT_AVG[synth,dns64proxy_par]} ms, p99 ${LAT_P99[synth,dns64proxy_par]} ms"
	fi
	if [ -n "${MEM[1]:-}${MEM[3]:-}" ]; then
		echo
		echo "== 10,000 queries in flight: silent upstream (reads and drops), timeout = 20000, attempts = 1;"
		echo "   10,000 unique AAAA queries from 64 sockets at about 20,000 q/s, memory read 2 s after the last one"
		echo "   (target <= 16 MiB resident; the proxy caps queries in flight per worker: MAX_INFLIGHT in src/main.c)"
		for w in 1 3; do
			[ -n "${MEM[$w]:-}" ] || continue
			echo "workers = $w: ${MEM[$w]}"
			awk -v s="${MEM[$w]}" 'BEGIN { n = split(s, f, " "); for (i = 1; i <= n; i++) { split(f[i], kv, "="); v[kv[1]] = kv[2] }
			    if (v["rss_kib"] != "") printf "             VmRSS %.1f MiB, VmHWM %.1f MiB (%.1f MiB before), in flight %s (%.2f KiB each), turned away (SERVFAIL) %s, no answer yet %d (of which dropped at the listen socket: %s)\n",
			    v["rss_kib"] / 1024, v["hwm_kib"] / 1024, v["rss_before_kib"] / 1024, v["inflight"],
			    (v["inflight"] > 0 ? (v["rss_kib"] - v["rss_before_kib"]) / v["inflight"] : 0),
			    v["servfail"], v["sent"] - v["answered"], v["listen_drops"] }'
		done
	fi
	if [ -n "$SOAK" ]; then
		echo
		echo "== soak: dns64proxy, mix kind, 80% of its saturation rate"
		echo "$SOAK"
	fi
}

report | tee "$BENCH_OUT"
echo "(report also written to $BENCH_OUT)" >&2
