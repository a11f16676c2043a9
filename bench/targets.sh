# bench/targets.sh: how each target of bench/run.sh is configured and
# started.  Sourced by run.sh after common.sh.
#
# start_TARGET DIR PORT MODE: MODE is "nocache" (caches off or as small
# as the program allows: the unique-name runs) or "cache" (caches on: the
# 'cached' kind).  Each sets TARGET_PIDS (the processes whose CPU time
# is counted) and appends to STARTED_PIDS.  Needs UPSTREAM_PORT and
# TARGET_CPU; PROXY for the dns64proxy targets.

run_pinned() {
	# run_pinned LOGFILE CMD...: in the background, on TARGET_CPU
	local logf=$1; shift
	if [ -n "${TARGET_CPU:-}" ]; then
		taskset -c "$TARGET_CPU" "$@" >"$logf" 2>&1 &
	else
		"$@" >"$logf" 2>&1 &
	fi
	TARGET_PIDS=$!
	STARTED_PIDS+=("$TARGET_PIDS")
}

write_proxy_conf() {
	# write_proxy_conf FILE PORT MODE PARALLEL [UPSTREAM_PORT [EXTRA]]
	local f=$1 port=$2 mode=$3 par=$4 up=${5:-$UPSTREAM_PORT}
	local entries=0
	[ "$mode" = cache ] && entries=10000
	cat > "$f" <<PEOF
[server]
listen = 127.0.0.1:$port
upstream = 127.0.0.1:$up
allow = 127.0.0.0/8
workers = 1
${PROXY_SERVER_EXTRA:-}

[dns64]
prefix = 64:ff9b::/96
parallel = $par

[log]
level = error

[cache]
entries = $entries
${PROXY_EXTRA:-}
PEOF
}

start_dns64proxy() {
	local dir=$1 port=$2 mode=$3
	write_proxy_conf "$dir/proxy.conf" "$port" "$mode" no
	run_pinned "$dir/proxy.log" "$PROXY" -f -c "$dir/proxy.conf"
}

start_dns64proxy_par() {
	local dir=$1 port=$2 mode=$3
	write_proxy_conf "$dir/proxy.conf" "$port" "$mode" yes
	run_pinned "$dir/proxy.log" "$PROXY" -f -c "$dir/proxy.conf"
}

start_unbound() {
	local dir=$1 port=$2 mode=$3 caches
	if [ "$mode" = nocache ]; then
		# as small as unbound allows; unique names miss anyway
		caches="    msg-cache-size: 0
    rrset-cache-size: 0
    key-cache-size: 0
    neg-cache-size: 0
    prefetch: no"
	else
		caches="    msg-cache-size: 64m
    rrset-cache-size: 128m"
	fi
	cat > "$dir/unbound.conf" <<UEOF
server:
    interface: 127.0.0.1
    port: $port
    do-daemonize: no
    use-syslog: no
    logfile: ""
    verbosity: 0
    chroot: ""
    username: ""
    directory: "$dir"
    pidfile: "$dir/unbound.pid"
    num-threads: 1
    do-ip6: no
    do-not-query-localhost: no
    access-control: 127.0.0.0/8 allow
    # test. is a special-use name that unbound answers itself by default
    local-zone: "test." nodefault
    # no validator module and no trust anchor: nothing is validated
    module-config: "dns64 iterator"
    dns64-prefix: 64:ff9b::/96
    qname-minimisation: no
    minimal-responses: yes
    num-queries-per-thread: 4096
    outgoing-range: 8192
$caches
forward-zone:
    name: "."
    forward-addr: 127.0.0.1@$UPSTREAM_PORT
remote-control:
    control-enable: no
UEOF
	run_pinned "$dir/unbound.log" unbound -d -c "$dir/unbound.conf"
}

start_kresd() {
	local dir=$1 port=$2 mode=$3 cachecfg
	if [ "$mode" = nocache ]; then
		cachecfg="cache.size = 10 * MB
-- no cache look-ups at all (NO_CACHE), for every query
policy.add(policy.all(policy.FLAGS('NO_CACHE')))"
	else
		cachecfg="cache.size = 100 * MB"
	fi
	mkdir -p "$dir/cache"
	cat > "$dir/kresd.conf" <<KEOF
net.ipv6 = false
net.listen('127.0.0.1', $port, { kind = 'dns' })
-- the bench zones are unsigned: no DNSSEC validation at all
trust_anchors.remove('.')
modules.unload('ta_update')
modules.unload('ta_signal_query')
modules.unload('priming')
modules.unload('detect_time_skew')
modules.load('dns64')
dns64.config({ prefix = '64:ff9b::' })
cache.open(10 * MB, 'lmdb://$dir/cache')
$cachecfg
policy.add(policy.all(policy.FORWARD({'127.0.0.1@$UPSTREAM_PORT'})))
KEOF
	run_pinned "$dir/kresd.log" kresd -n -q -c "$dir/kresd.conf" "$dir"
}

start_pdns_recursor() {
	local dir=$1 port=$2 mode=$3 caches
	if [ "$mode" = nocache ]; then
		caches="disable-packetcache=yes
max-cache-entries=1000
max-negative-ttl=1"
	else
		caches="max-cache-entries=1000000
max-packetcache-entries=500000"
	fi
	cat > "$dir/recursor.conf" <<REOF
local-address=127.0.0.1
local-port=$port
allow-from=127.0.0.0/8
forward-zones-recurse=.=127.0.0.1:$UPSTREAM_PORT
dont-query=
dns64-prefix=64:ff9b::/96
dnssec=off
threads=1
pdns-distributes-queries=no
socket-dir=$dir
config-dir=$dir
daemon=no
write-pid=no
disable-syslog=yes
quiet=yes
loglevel=3
qname-minimization=no
$caches
REOF
	run_pinned "$dir/recursor.log" pdns_recursor --config-dir="$dir"
}

start_named() {
	local dir=$1 port=$2 mode=$3 caches
	if [ "$mode" = nocache ]; then
		caches="max-cache-size 2m;
	max-cache-ttl 1;
	max-ncache-ttl 1;"
	else
		caches="max-cache-size 256m;"
	fi
	cat > "$dir/named.conf" <<NEOF
options {
	directory "$dir";
	pid-file "$dir/named.pid";
	listen-on port $port { 127.0.0.1; };
	listen-on-v6 { none; };
	forwarders { 127.0.0.1 port $UPSTREAM_PORT; };
	forward only;
	recursion yes;
	allow-recursion { 127.0.0.0/8; };
	allow-query { 127.0.0.0/8; };
	dnssec-validation no;
	dns64 64:ff9b::/96 { clients { any; }; };
	$caches
	querylog no;
	notify no;
	recursive-clients 10000;
};
controls { };
logging {
	channel errs { file "$dir/named.run"; severity error; };
	category default { errs; };
	category lame-servers { null; };
};
NEOF
	run_pinned "$dir/named.log" named -f -n 1 -c "$dir/named.conf"
}

start_dnsdist() {
	# start_dnsdist DIR PORT MODE [SOCKETS]: SOCKETS UDP sockets to the
	# backend (dnsdist's default: 1)
	local dir=$1 port=$2 mode=$3 sockets=${4:-1} cachecfg=""
	if [ "$mode" = cache ]; then
		cachecfg="getPool(''):setCache(newPacketCache(100000))"
	fi
	cat > "$dir/dnsdist.conf" <<DEOF
setLocal('127.0.0.1:$port')
setACL({'127.0.0.0/8'})
newServer({address='127.0.0.1:$UPSTREAM_PORT', checkName='bench.test.', checkType='SOA', mustResolve=true, sockets=$sockets})
$cachecfg
DEOF
	run_pinned "$dir/dnsdist.log" dnsdist --supervised --disable-syslog -C "$dir/dnsdist.conf"
}

# dnsdist with as many backend sockets as dns64proxy's pool (1024 per
# worker): answers spread over 1024 ports as the proxy's do, each port
# fixed for dnsdist's life (dnsdist 1.7 has no per-query random socket)
start_dnsdist_pool() {
	start_dnsdist "$1" "$2" "$3" 1024
}
