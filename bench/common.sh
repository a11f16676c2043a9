# bench/common.sh: helpers shared by bench/run.sh, bench/tcp.sh and
# bench/profile.sh.
# Sourced, not run.  Needs: BENCH_TMP (a scratch directory).

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PY=${PYTHON:-/usr/bin/python3}

# PIDs of everything this script started; killed by cleanup.
STARTED_PIDS=()

log() { printf '%s\n' "$*" >&2; }

cleanup_started() {
	local p
	for p in "${STARTED_PIDS[@]}"; do
		kill "$p" 2>/dev/null
	done
	sleep 0.3
	for p in "${STARTED_PIDS[@]}"; do
		kill -0 "$p" 2>/dev/null && kill -9 "$p" 2>/dev/null
	done
	STARTED_PIDS=()
}

# wait_udp PORT [SECONDS]: until something answers a DNS query on
# 127.0.0.1:PORT (any answer, any RCODE).
wait_udp() {
	"$PY" - "$1" "${2:-15}" <<'PYEOF'
import socket, struct, sys, time
port, limit = int(sys.argv[1]), float(sys.argv[2])
q = struct.pack(">HHHHHH", 0x4242, 0x0100, 1, 0, 0, 0) + \
    b"\x05bench\x04test\x00" + struct.pack(">HH", 6, 1)
end = time.time() + limit
while time.time() < end:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(0.3)
    try:
        s.sendto(q, ("127.0.0.1", port))
        d, _ = s.recvfrom(4096)
        if d[:2] == q[:2]:
            sys.exit(0)
    except OSError:
        time.sleep(0.2)
    finally:
        s.close()
sys.exit(1)
PYEOF
}

# The upstream's zones.  Global IPv4 addresses only: with the Well-Known
# Prefix, non-global A records are not synthesized (RFC 6052 3.1).
#   *.a.bench.test   A only          -> AAAA is synthesized
#   *.d.bench.test   A and AAAA      -> AAAA passes through
#   *.x.bench.test   AAAA only
#   *.93.in-addr.arpa PTR            -> PTR for 64:ff9b::5dxx:xxxx
write_zones() {
	local dir=$1
	cat > "$dir/bench.test.zone" <<'ZEOF'
$ORIGIN bench.test.
$TTL 3600
@	SOA	ns.bench.test. hostmaster.bench.test. 1 3600 600 86400 300
@	NS	ns.bench.test.
ns	A	93.184.215.1
host	A	93.184.215.14
*.a	A	93.184.215.14
*.d	A	93.184.215.15
*.d	AAAA	2001:db8:d::15
*.x	AAAA	2001:db8:e::16
ZEOF
	cat > "$dir/93.in-addr.arpa.zone" <<'ZEOF'
$ORIGIN 93.in-addr.arpa.
$TTL 3600
@	SOA	ns.bench.test. hostmaster.bench.test. 1 3600 600 86400 300
@	NS	ns.bench.test.
*	PTR	host.bench.test.
ZEOF
}

# start_knotd DIR PORT CPU: knotd with the bench zones on 127.0.0.1:PORT.
# Sets KNOTD_PID.
start_knotd() {
	local dir=$1 port=$2 cpu=$3
	mkdir -p "$dir/db"
	write_zones "$dir"
	cat > "$dir/knot.conf" <<KEOF
server:
    rundir: "$dir"
    listen: 127.0.0.1@$port
    udp-workers: 1
    tcp-workers: 1
    background-workers: 1
database:
    storage: "$dir/db"
log:
  - target: stderr
    any: error
template:
  - id: default
    storage: "$dir"
    zonefile-sync: -1
    journal-content: none
zone:
  - domain: bench.test
    file: "$dir/bench.test.zone"
  - domain: 93.in-addr.arpa
    file: "$dir/93.in-addr.arpa.zone"
KEOF
	taskset -c "$cpu" knotd -c "$dir/knot.conf" -s "$dir/knot.sock" \
	    >"$dir/knotd.log" 2>&1 &
	KNOTD_PID=$!
	STARTED_PIDS+=("$KNOTD_PID")
	wait_udp "$port" 15 || { log "knotd did not start:"; cat "$dir/knotd.log" >&2; return 1; }
}

# udp_drops: the kernel's UDP receive-buffer drops (RcvbufErrors), for
# the whole network namespace
udp_drops() {
	awk '$1 == "Udp:" { if (!h) { for (i = 2; i <= NF; i++) if ($i == "RcvbufErrors") c = i; h = 1 } else { print $c; exit } }' /proc/net/snmp
}

# sock_drops PORT: drops counted on the UDP sockets bound to local PORT
# (the proxy's listen socket, the upstream's), from /proc/net/udp
sock_drops() {
	awk -v p="$(printf '%04X' "$1")" 'NR > 1 { split($2, a, ":"); if (a[2] == p) s += $NF } END { print s + 0 }' /proc/net/udp
}

# CPUs: the load generator and the upstream on LOAD_CPU, the target on
# TARGET_CPU (when there are two or more).
NCPU=$(nproc)
if [ "$NCPU" -ge 2 ]; then
	LOAD_CPU=${BENCH_LOAD_CPU:-0}
	TARGET_CPU=${BENCH_TARGET_CPU:-1}
else
	LOAD_CPU=${BENCH_LOAD_CPU:-}
	TARGET_CPU=${BENCH_TARGET_CPU:-}
fi
CLK_TCK=$(getconf CLK_TCK)

load() {
	# load CMD...: on LOAD_CPU (dnsperf, the upstream), killed 30 s
	# after its own -l limit (120 s without one): dnsperf 2.10 can spin
	# forever once its run is over (seen once in many runs), and a hung
	# bench measures nothing.  A killed run has no figures, so it is
	# left out of the medians.
	local rc=0 limit=120 prev="" a
	for a in "$@"; do
		[ "$prev" = -l ] && limit=$(( ${a%.*} + 30 ))
		prev=$a
	done
	if [ -n "$LOAD_CPU" ]; then
		timeout -k 5 "$limit" taskset -c "$LOAD_CPU" "$@" || rc=$?
	else
		timeout -k 5 "$limit" "$@" || rc=$?
	fi
	if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
		log "  ($1 did not stop within $limit s and was killed: this run is left out)"
	elif [ "$rc" != 0 ]; then
		log "  ($1 exited with status $rc)"
	fi
	return "$rc"
}

sys_ticks() {
	# sys_ticks PID...: stime of the processes (all their threads)
	local p s=0 v
	for p in "$@"; do
		v=$(awk '{ print $15 }' "/proc/$p/stat" 2>/dev/null)
		s=$((s + ${v:-0}))
	done
	echo "$s"
}

cpu_ticks() {
	# cpu_ticks PID...: utime+stime of the processes (all their threads)
	local p s=0 v
	for p in "$@"; do
		v=$(awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$p/stat" 2>/dev/null) || v=0
		s=$((s + ${v:-0}))
	done
	echo "$s"
}

# us_per_query TICKS COUNT
us_per_query() {
	awk -v t="$1" -v n="$2" -v hz="$CLK_TCK" \
	    'BEGIN { if (n > 0) printf "%.2f", t * 1e6 / hz / n; else print "-" }'
}

# median V...: the middle value (the mean of the middle two for an even
# count), "-" for none
median() {
	printf '%s\n' "$@" | grep -v '^-$' | sort -g | awk '{ v[NR] = $1 }
	    END { if (NR == 0) print "-"; else if (NR % 2) print v[(NR + 1) / 2];
	    else printf "%.2f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# bench_prepare NAME: on exit, stop what was started and remove BENCH_TMP;
# and check for the tools every benchmark needs.
bench_prepare() {
	local tool
	trap 'cleanup_started; rm -rf "$BENCH_TMP"' EXIT
	trap 'exit 130' INT TERM
	for tool in dnsperf knotd taskset "$PY"; do
		if ! command -v "$tool" >/dev/null 2>&1; then
			echo "$1: $tool is missing (apt-get install dnsperf knot util-linux python3)" >&2
			exit 1
		fi
	done
}
