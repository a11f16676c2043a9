/*
 * test_config.c: the configuration file, its defaults and its checks.
 *
 * Every test writes its own resolv.conf (the suite's init), so nothing
 * depends on the machine's /etc/resolv.conf.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include "addr.h"
#include "config.h"
#include "dns64.h"

/* ------------------------------------------------------------------ */
/* Fixtures and helpers                                               */
/* ------------------------------------------------------------------ */

static char	 resolv_path[64];	/* nameserver 192.0.2.53 */
static char	 tmp_paths[4][64];
static int	 ntmp;

/* A temporary file holding text; removed by the suite's fini. */
static const char *
tmpfile_with(const char *text)
{
	char	*path;
	int	 fd;
	size_t	 n = strlen(text);

	cr_assert_lt(ntmp, 4);
	path = tmp_paths[ntmp++];
	snprintf(path, sizeof(tmp_paths[0]), "/tmp/dns64proxy-test-XXXXXX");
	fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, text, n), (ssize_t)n);
	close(fd);
	return path;
}

static void
setup(void)
{
	const char *p = tmpfile_with("# test\nnameserver 192.0.2.53\n");

	snprintf(resolv_path, sizeof(resolv_path), "%s", p);
}

static void
teardown(void)
{
	int	 i;

	for (i = 0; i < ntmp; i++)
		unlink(tmp_paths[i]);
	ntmp = 0;
}

TestSuite(config, .init = setup, .fini = teardown);

/* Load text as "t.conf" with the suite's resolv.conf. */
static int
load(const char *text, struct config *c, struct config_errors *e)
{
	return config_load_string(c, text, "t.conf", resolv_path, e);
}

/* Load text, which must be right. */
static void
load_ok(const char *text, struct config *c)
{
	struct config_errors e;
	size_t		 i;

	if (load(text, c, &e) != 0) {
		for (i = 0; i < e.n; i++)
			cr_log_error("%s", e.msg[i]);
		cr_assert_fail("config rejected:\n%s", text);
	}
	cr_assert_eq(e.n, 0);
}

/* Load text, which must give exactly one error beginning with want. */
static void
load_fails_with(const char *text, const char *want)
{
	struct config	*c = malloc(sizeof(*c));
	struct config_errors e;
	size_t		 i;

	cr_assert_not_null(c);
	cr_assert_eq(load(text, c, &e), -1, "accepted:\n%s", text);
	for (i = 0; i < e.n; i++)
		cr_log_info("%s", e.msg[i]);
	cr_assert_eq(e.n, 1, "%zu errors for:\n%s", e.n, text);
	cr_assert_eq(strncmp(e.msg[0], want, strlen(want)), 0,
	    "got '%s', want '%s...'", e.msg[0], want);
	free(c);
}

static struct sockaddr_storage
ep(const char *s)
{
	struct sockaddr_storage ss;

	cr_assert_eq(addr_parse_endpoint(s, 53, &ss), 0, "'%s'", s);
	return ss;
}

#define SA(x)	((struct sockaddr *)&(x))

static void
assert_ep(const struct sockaddr_storage *ss, const char *want)
{
	char	 buf[64];

	addr_format((const struct sockaddr *)ss, buf, sizeof(buf));
	cr_assert_str_eq(buf, want);
}

static void
assert_cidr(const struct cidr *c, const char *want)
{
	char	 buf[64];

	addr_format_cidr(c, buf, sizeof(buf));
	cr_assert_str_eq(buf, want);
}

static void
assert_prefix(const struct dns64_prefix *p, const char *want)
{
	struct dns64_prefix w;

	cr_assert_eq(dns64_prefix_parse(want, &w), 0);
	cr_assert_eq(p->len, w.len, "%s", want);
	cr_assert_eq(memcmp(&p->addr, &w.addr, 16), 0, "%s", want);
}

/* ------------------------------------------------------------------ */
/* Defaults                                                           */
/* ------------------------------------------------------------------ */

static void
assert_defaults_but_upstream(const struct config *c)
{
	static const char *const allow[] = { "127.0.0.0/8", "::1/128",
	    "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16",
	    "100.64.0.0/10", "fc00::/7", "fe80::/10" };
	const struct dns64_section *s;
	size_t	 i;

	cr_assert_eq(c->nlisten, 2);
	assert_ep(&c->listen[0], "127.0.0.1:53");
	assert_ep(&c->listen[1], "[::1]:53");
	cr_assert_eq(c->timeout_ms, 1500);
	cr_assert_eq(c->attempts, 3);
	cr_assert_eq(c->nallow, 8);
	for (i = 0; i < 8; i++)
		assert_cidr(&c->allow[i], allow[i]);
	cr_assert_str_eq(c->user, "");
	cr_assert_str_eq(c->group, "");
	cr_assert_str_eq(c->pidfile, "");
	cr_assert_eq(c->workers, 1);
	cr_assert_eq(c->nsections, 1);
	s = &c->sections[0];
	cr_assert_str_eq(s->name, "");
	cr_assert_eq(s->nprefixes, 1);
	assert_prefix(&s->prefixes[0], "64:ff9b::/96");
	cr_assert_eq(s->nexclude, 1);
	assert_cidr(&s->exclude[0], "::ffff:0.0.0.0/96");
	cr_assert_not(s->mapped_set);
	cr_assert_eq(s->nmapped, 0);
	cr_assert_eq(s->nclients, 2);
	assert_cidr(&s->clients[0], "0.0.0.0/0");
	assert_cidr(&s->clients[1], "::/0");
	cr_assert_not(s->synthall);
	cr_assert(s->on_error);
	cr_assert_not(s->parallel);
	cr_assert_eq(s->reverse, DNS64_REVERSE_CNAME);
	cr_assert_eq(c->log_level, LOGLEVEL_INFO);
	cr_assert_not(c->log_queries);
	cr_assert_eq(c->cache_entries, 0);
	cr_assert_not(c->stats_set);
}

Test(config, defaults_without_file)
{
	struct config	 c;
	struct config_errors e;

	cr_assert_eq(config_defaults(&c, resolv_path, &e), 0);
	cr_assert_eq(e.n, 0);
	assert_defaults_but_upstream(&c);
	cr_assert_eq(c.nupstream, 1);
	assert_ep(&c.upstream[0], "192.0.2.53:53");
}

Test(config, empty_file_is_the_defaults)
{
	struct config	 c;

	load_ok("", &c);
	assert_defaults_but_upstream(&c);
	cr_assert_eq(c.nupstream, 1);
	assert_ep(&c.upstream[0], "192.0.2.53:53");
	load_ok("; nothing but comments\n# here\n\n   \n", &c);
	assert_defaults_but_upstream(&c);
}

Test(config, resolv_conf_skips_own_listen_addresses)
{
	struct config	 c;
	struct config_errors e;
	const char	*r = tmpfile_with(
	    "search example.org\n"
	    "nameserver 127.0.0.1\n"
	    "nameserver ::1\n"
	    "nameserver fe80::1%eth0\n"
	    "nameserver 0.0.0.0\n"
	    "# nameserver 192.0.2.1\n"
	    "nameserver\t192.0.2.54   # the real one\n"
	    "nameserver 192.0.2.55\n");

	cr_assert_eq(config_defaults(&c, r, &e), 0);
	cr_assert_eq(c.nupstream, 1);
	assert_ep(&c.upstream[0], "192.0.2.54:53");

	/* Listening elsewhere, 127.0.0.1 is a fine upstream. */
	cr_assert_eq(config_load_string(&c,
	    "[server]\nlisten = 127.0.0.2\n", "t.conf", r, &e), 0);
	assert_ep(&c.upstream[0], "127.0.0.1:53");

	/* A wildcard listen address covers the loopback. */
	cr_assert_eq(config_load_string(&c,
	    "[server]\nlisten = 0.0.0.0 [::]\n", "t.conf", r, &e), 0);
	assert_ep(&c.upstream[0], "192.0.2.54:53");

	/* Listening on another port, port 53 upstream is not us. */
	cr_assert_eq(config_load_string(&c,
	    "[server]\nlisten = 127.0.0.1:5353\n", "t.conf", r, &e), 0);
	assert_ep(&c.upstream[0], "127.0.0.1:53");
}

Test(config, resolv_conf_with_nothing_usable)
{
	struct config	 c;
	struct config_errors e;
	const char	*r = tmpfile_with("nameserver 127.0.0.1\n"
	    "nameserver ::1\n");
	char		 want[128];

	cr_assert_eq(config_defaults(&c, r, &e), -1);
	cr_assert_eq(e.n, 1);
	snprintf(want, sizeof(want), "%s: no upstream", r);
	cr_assert_eq(strncmp(e.msg[0], want, strlen(want)), 0, "%s",
	    e.msg[0]);

	/* From a file: the file is named, no line. */
	cr_assert_eq(config_load_string(&c, "[log]\nlevel = debug\n",
	    "t.conf", r, &e), -1);
	cr_assert_eq(e.n, 1);
	cr_assert(strncmp(e.msg[0], "t.conf: no upstream: set [server] "
	    "upstream", 36) == 0, "%s", e.msg[0]);

	/* But an upstream in the file needs no resolv.conf. */
	cr_assert_eq(config_load_string(&c,
	    "[server]\nupstream = 192.0.2.1\n", "t.conf", r, &e), 0);
	cr_assert_eq(c.nupstream, 1);
	assert_ep(&c.upstream[0], "192.0.2.1:53");
}

Test(config, resolv_conf_missing_or_empty)
{
	struct config	 c;
	struct config_errors e;
	const char	*r = tmpfile_with("search example.org\n");

	cr_assert_eq(config_defaults(&c, "/nonexistent/resolv.conf", &e), -1);
	cr_assert_eq(e.n, 1);
	cr_assert(strstr(e.msg[0], "cannot open") != NULL, "%s", e.msg[0]);
	cr_assert_eq(config_defaults(&c, r, &e), -1);
	cr_assert_eq(e.n, 1);
	cr_assert(strstr(e.msg[0], "no nameserver line") != NULL, "%s",
	    e.msg[0]);
}

/* ------------------------------------------------------------------ */
/* Every key                                                          */
/* ------------------------------------------------------------------ */

Test(config, every_key)
{
	struct config	 c;
	const struct dns64_section *s;

	load_ok(
	    "[server]\n"
	    "listen = 127.0.0.1:5300 [::1]:5300, 192.0.2.1\n"
	    "upstream = 192.0.2.53 [2001:db8::53]:5353\n"
	    "timeout = 2500\n"
	    "attempts = 5\n"
	    "allow = 192.0.2.0/24, 2001:db8::/32\n"
	    "user = nobody\n"
	    "group = nogroup\n"
	    "pidfile = /run/dns64proxy.pid\n"
	    "workers = 4\n"
	    "\n"
	    "[dns64]\n"
	    "prefix = 64:ff9b::/96 64:ff9b:1::/48\n"
	    "exclude = ::ffff:0:0/96 2001:db8:bad::/48\n"
	    "mapped = 192.0.2.0/24 198.51.100.0/24\n"
	    "synthall = yes\n"
	    "on_error = no\n"
	    "reverse = rewrite\n"
	    "parallel = on\n"
	    "clients = 10.0.0.0/8 2001:db8::/32\n"
	    "\n"
	    "[dns64 branch-office]\n"
	    "prefix = 2001:db8:64::/96\n"
	    "clients = 2001:db8:1::/48\n"
	    "reverse = no\n"
	    "\n"
	    "[log]\n"
	    "level = debug\n"
	    "queries = yes\n"
	    "\n"
	    "[cache]\n"
	    "entries = 10000\n"
	    "\n"
	    "[stats]\n"
	    "listen = 127.0.0.1:9153\n", &c);

	cr_assert_eq(c.nlisten, 3);
	assert_ep(&c.listen[0], "127.0.0.1:5300");
	assert_ep(&c.listen[1], "[::1]:5300");
	assert_ep(&c.listen[2], "192.0.2.1:53");
	cr_assert_eq(c.nupstream, 2);
	assert_ep(&c.upstream[0], "192.0.2.53:53");
	assert_ep(&c.upstream[1], "[2001:db8::53]:5353");
	cr_assert_eq(c.timeout_ms, 2500);
	cr_assert_eq(c.attempts, 5);
	cr_assert_eq(c.nallow, 2);
	assert_cidr(&c.allow[0], "192.0.2.0/24");
	assert_cidr(&c.allow[1], "2001:db8::/32");
	cr_assert_str_eq(c.user, "nobody");
	cr_assert_str_eq(c.group, "nogroup");
	cr_assert_str_eq(c.pidfile, "/run/dns64proxy.pid");
	cr_assert_eq(c.workers, 4);

	cr_assert_eq(c.nsections, 2);
	s = &c.sections[0];
	cr_assert_str_eq(s->name, "");
	cr_assert_eq(s->nprefixes, 2);
	assert_prefix(&s->prefixes[0], "64:ff9b::/96");
	assert_prefix(&s->prefixes[1], "64:ff9b:1::/48");
	cr_assert_eq(s->nexclude, 2);
	assert_cidr(&s->exclude[1], "2001:db8:bad::/48");
	cr_assert(s->mapped_set);
	cr_assert_eq(s->nmapped, 2);
	assert_cidr(&s->mapped[1], "198.51.100.0/24");
	cr_assert(s->synthall);
	cr_assert_not(s->on_error);
	cr_assert_eq(s->reverse, DNS64_REVERSE_REWRITE);
	cr_assert(s->parallel);
	cr_assert_eq(s->nclients, 2);
	assert_cidr(&s->clients[0], "10.0.0.0/8");

	s = &c.sections[1];
	cr_assert_str_eq(s->name, "branch-office");
	cr_assert_eq(s->nprefixes, 1);
	assert_prefix(&s->prefixes[0], "2001:db8:64::/96");
	cr_assert_eq(s->nclients, 1);
	assert_cidr(&s->clients[0], "2001:db8:1::/48");
	cr_assert_eq(s->reverse, DNS64_REVERSE_NO);
	/* the rest of a named section has the defaults */
	cr_assert(s->on_error);
	cr_assert_not(s->mapped_set);
	cr_assert_eq(s->nexclude, 1);

	cr_assert_eq(c.log_level, LOGLEVEL_DEBUG);
	cr_assert(c.log_queries);
	cr_assert_eq(c.cache_entries, 10000);
	cr_assert(c.stats_set);
	assert_ep(&c.stats_listen, "127.0.0.1:9153");
}

/*
 * IPv4-mapped addresses and ranges written in the file are the IPv4
 * ones they hold (the IPv6 sockets are IPv6-only); in `exclude`, which
 * is about AAAA contents, ::ffff:0:0/96 stays what it is.
 */
Test(config, mapped_forms_are_ipv4)
{
	struct config	 c;
	const struct dns64_section *s;

	load_ok(
	    "[server]\n"
	    "listen = [::ffff:127.0.0.1]:5300 [::1]:5300\n"
	    "upstream = [::ffff:192.0.2.53]:5353 ::ffff:192.0.2.54\n"
	    "allow = ::ffff:10.0.0.0/104 ::ffff:0:0/96 ::fffe:0:0/95\n"
	    "[dns64]\n"
	    "exclude = ::ffff:0:0/96\n"
	    "mapped = ::ffff:192.0.2.0/120\n"
	    "clients = ::ffff:127.0.0.2/128 2001:db8::/32\n"
	    "[stats]\n"
	    "listen = [::ffff:127.0.0.1]:9153\n", &c);
	assert_ep(&c.listen[0], "127.0.0.1:5300");
	assert_ep(&c.listen[1], "[::1]:5300");
	assert_ep(&c.upstream[0], "192.0.2.53:5353");
	assert_ep(&c.upstream[1], "192.0.2.54:53");
	cr_assert_eq(c.nallow, 3);
	assert_cidr(&c.allow[0], "10.0.0.0/8");
	assert_cidr(&c.allow[1], "0.0.0.0/0");
	/* wider than the mapped space: an IPv6 range as written */
	assert_cidr(&c.allow[2], "::fffe:0:0/95");
	s = &c.sections[0];
	cr_assert_eq(s->nexclude, 1);
	assert_cidr(&s->exclude[0], "::ffff:0.0.0.0/96");
	cr_assert_eq(s->nmapped, 1);
	assert_cidr(&s->mapped[0], "192.0.2.0/24");
	assert_cidr(&s->clients[0], "127.0.0.2/32");
	assert_cidr(&s->clients[1], "2001:db8::/32");
	assert_ep(&c.stats_listen, "127.0.0.1:9153");
	/* the mapped form of a listen address is that address */
	load_fails_with("[server]\nlisten = 127.0.0.1:5300 [::ffff:127.0.0.1]:5300\n",
	    "t.conf:2: listen: 127.0.0.1:5300 is listed twice");
}

struct bool_case {
	char		 v[8];
	bool		 want;
};

static const struct bool_case bool_cases[] = {
	{ "yes", true }, { "no", false }, { "true", true }, { "false", false },
	{ "on", true }, { "off", false }, { "1", true }, { "0", false },
	{ "YES", true }, { "Off", false },
};

ParameterizedTestParameters(config, booleans)
{
	return cr_make_param_array(struct bool_case, bool_cases,
	    sizeof(bool_cases) / sizeof(bool_cases[0]));
}

ParameterizedTest(const struct bool_case *tc, config, booleans,
    .init = setup, .fini = teardown)
{
	struct config	 c;
	char		 text[256];

	snprintf(text, sizeof(text), "[dns64]\nsynthall = %s\non_error = %s\n"
	    "parallel = %s\n[log]\nqueries = %s\n", tc->v, tc->v, tc->v, tc->v);
	load_ok(text, &c);
	cr_assert_eq(c.sections[0].synthall, tc->want);
	cr_assert_eq(c.sections[0].on_error, tc->want);
	cr_assert_eq(c.sections[0].parallel, tc->want);
	cr_assert_eq(c.log_queries, tc->want);
}

Test(config, ranges_at_their_limits)
{
	struct config	 c;

	load_ok("[server]\ntimeout = 10\nattempts = 1\nworkers = 1\n"
	    "[cache]\nentries = 0\n", &c);
	cr_assert_eq(c.timeout_ms, 10);
	cr_assert_eq(c.attempts, 1);
	cr_assert_eq(c.cache_entries, 0);
	load_ok("[server]\ntimeout = 60000\nattempts = 20\nworkers = 64\n"
	    "[cache]\nentries = 10000000\n", &c);
	cr_assert_eq(c.timeout_ms, 60000);
	cr_assert_eq(c.attempts, 20);
	cr_assert_eq(c.workers, 64);
	cr_assert_eq(c.cache_entries, 10000000);
}

Test(config, log_levels_and_reverse_modes)
{
	static const char *const levels[] = { "error", "warning", "info",
	    "debug" };
	static const char *const modes[] = { "no", "cname", "rewrite" };
	struct config	 c;
	char		 text[128];
	int		 i;

	for (i = 0; i < 4; i++) {
		snprintf(text, sizeof(text), "[log]\nlevel = %s\n", levels[i]);
		load_ok(text, &c);
		cr_assert_eq((int)c.log_level, i);
	}
	for (i = 0; i < 3; i++) {
		snprintf(text, sizeof(text), "[dns64]\nreverse = %s\n",
		    modes[i]);
		load_ok(text, &c);
		cr_assert_eq((int)c.sections[0].reverse, i);
	}
}

Test(config, keys_and_sections_ignore_case)
{
	struct config	 c;

	load_ok("[SERVER]\nTimeout = 99\n[DNS64 Office]\nPrefix = "
	    "2001:db8::/32\n", &c);
	cr_assert_eq(c.timeout_ms, 99);
	cr_assert_str_eq(c.sections[0].name, "Office");
}

/* ------------------------------------------------------------------ */
/* Bad values: the error names the right line                         */
/* ------------------------------------------------------------------ */

struct bad_case {
	char		 text[320];
	char		 want[80];	/* the error begins with this */
};

static const struct bad_case bad_cases[] = {
	/* [server] */
	{ "[server]\nlisten = 127.0.0.1:0\n", "t.conf:2: listen:" },
	{ "[server]\n\nlisten = 127.0.0.1 localhost\n", "t.conf:3: listen:" },
	{ "[server]\nlisten = 127.0.0.1 127.0.0.1:53\n",
	    "t.conf:2: listen: 127.0.0.1:53 is listed twice" },
	{ "[server]\nlisten =\n", "t.conf:2: listen: missing value" },
	{ "[server]\nlisten = , ,\n", "t.conf:2: listen: missing value" },
	{ "[server]\nlisten = 1.0.0.1 1.0.0.2 1.0.0.3 1.0.0.4 1.0.0.5 "
	    "1.0.0.6 1.0.0.7 1.0.0.8 1.0.0.9 1.0.0.10 1.0.0.11 1.0.0.12 "
	    "1.0.0.13 1.0.0.14 1.0.0.15 1.0.0.16 1.0.0.17\n",
	    "t.conf:2: listen: too many addresses (at most 16)" },
	{ "[server]\nupstream = 192.0.2.1:99999\n", "t.conf:2: upstream:" },
	{ "[server]\nupstream = 0.0.0.0\n",
	    "t.conf:2: upstream: '0.0.0.0' is a wildcard" },
	{ "[server]\nupstream = [::]:53\n",
	    "t.conf:2: upstream: '[::]:53' is a wildcard" },
	{ "[server]\nupstream = 1.0.0.1 1.0.0.2 1.0.0.3 1.0.0.4 1.0.0.5 "
	    "1.0.0.6 1.0.0.7 1.0.0.8 1.0.0.9\n",
	    "t.conf:2: upstream: too many addresses (at most 8)" },
	{ "[server]\nupstream = dns.google\n", "t.conf:2: upstream:" },
	{ "[server]\ntimeout = 9\n", "t.conf:2: timeout: 9 is out of range" },
	{ "[server]\ntimeout = 60001\n", "t.conf:2: timeout:" },
	{ "[server]\ntimeout = 1.5\n", "t.conf:2: timeout: '1.5' is not a" },
	{ "[server]\ntimeout = -1\n", "t.conf:2: timeout:" },
	{ "[server]\ntimeout = 1500ms\n", "t.conf:2: timeout:" },
	{ "[server]\ntimeout = 99999999999999999999\n", "t.conf:2: timeout:" },
	{ "[server]\ntimeout =\n", "t.conf:2: timeout: missing value" },
	{ "[server]\nattempts = 0\n", "t.conf:2: attempts:" },
	{ "[server]\nattempts = 21\n", "t.conf:2: attempts:" },
	{ "[server]\nallow = 10.1.0.0/8\n", "t.conf:2: allow: '10.1.0.0/8'" },
	{ "[server]\nallow = 10.0.0.0/8 2001:db8::/129\n", "t.conf:2: allow:" },
	{ "[server]\nallow =\n", "t.conf:2: allow: missing value" },
	{ "[server]\nuser = two words\n", "t.conf:2: user:" },
	{ "[server]\nuser =\n", "t.conf:2: user: missing value" },
	{ "[server]\ngroup =\n", "t.conf:2: group: missing value" },
	{ "[server]\nuser = a123456789012345678901234567890123456789012345"
	    "678901234567890123\n", "t.conf:2: user:" },
	{ "[server]\npidfile = run/x.pid\n",
	    "t.conf:2: pidfile: 'run/x.pid' is not an absolute path" },
	{ "[server]\npidfile =\n", "t.conf:2: pidfile: missing value" },
	{ "[server]\nworkers = 0\n", "t.conf:2: workers:" },
	{ "[server]\nworkers = 65\n", "t.conf:2: workers:" },
	/* [dns64] */
	{ "[dns64]\nexclude = 10.0.0.0/8\n",
	    "t.conf:2: exclude: '10.0.0.0/8' is not an IPv6 range" },
	{ "[dns64]\nexclude = ::ffff:0:0/95\n", "t.conf:2: exclude:" },
	{ "[dns64]\nmapped = 2001:db8::/32\n",
	    "t.conf:2: mapped: '2001:db8::/32' is not an IPv4 range" },
	{ "[dns64]\nmapped = 192.0.2.1/24\n", "t.conf:2: mapped:" },
	{ "[dns64]\nclients = 10.0.0.0/33\n", "t.conf:2: clients:" },
	{ "[dns64]\nclients =\n", "t.conf:2: clients: missing value" },
	{ "[dns64]\nsynthall = maybe\n",
	    "t.conf:2: synthall: 'maybe' is not yes or no" },
	{ "[dns64]\non_error = 2\n", "t.conf:2: on_error:" },
	{ "[dns64]\nparallel =\n", "t.conf:2: parallel: missing value" },
	{ "[dns64]\nreverse = yes\n",
	    "t.conf:2: reverse: 'yes' is not cname, rewrite or no" },
	/* [log], [cache], [stats] */
	{ "[log]\nlevel = verbose\n", "t.conf:2: level:" },
	{ "[log]\nlevel = info debug\n", "t.conf:2: level:" },
	{ "[log]\nqueries = sometimes\n", "t.conf:2: queries:" },
	{ "[cache]\nentries = 10000001\n", "t.conf:2: entries:" },
	{ "[cache]\nentries = -5\n", "t.conf:2: entries:" },
	{ "[stats]\nlisten = 127.0.0.1\n",
	    "t.conf:2: listen: '127.0.0.1' is not an address with a port" },
	{ "[stats]\nlisten = ::1\n", "t.conf:2: listen:" },
	{ "[stats]\nlisten = [::1]\n", "t.conf:2: listen:" },
	{ "[stats]\nlisten = 127.0.0.1:9153 127.0.0.1:9154\n",
	    "t.conf:2: listen:" },
	{ "[stats]\nlisten = 127.0.0.1:53\n",
	    "t.conf:2: listen 127.0.0.1:53 is also a DNS listen address" },
	{ "[server]\nlisten = 0.0.0.0:53\n[stats]\nlisten = 192.0.2.1:53\n",
	    "t.conf:4: listen 192.0.2.1:53 is also a DNS listen address" },
	/* structure */
	{ "[server]\ntimeout = 100\n[bogus]\nkey = 1\nother = 2\n",
	    "t.conf:3: unknown section [bogus]" },
	{ "[server]\n[server x]\n", "t.conf:2: unknown section [server x]" },
	{ "[server]\nfoo = 1\n", "t.conf:2: unknown key foo in [server]" },
	{ "[dns64]\nlisten = 127.0.0.1\n",
	    "t.conf:2: unknown key listen in [dns64]" },
	{ "[log]\n\n\nfile = /tmp/x\n", "t.conf:4: unknown key file in [log]" },
	{ "timeout = 100\n", "t.conf:1: timeout: key outside any section" },
	{ "[server]\ntimeout = 100\n# comment\ntimeout = 200\n",
	    "t.conf:4: duplicate key timeout (first on line 2)" },
	{ "[server]\nTIMEOUT = 100\ntimeout = 200\n",
	    "t.conf:3: duplicate key timeout" },
	{ "[dns64 a]\nprefix = 2001:db8::/32\nprefix = 2001:db9::/32\n",
	    "t.conf:3: duplicate key prefix" },
	{ "[server]\ntimeout = 100\n[log]\n[server]\nattempts = 2\n",
	    "t.conf:4: section [server] appears twice" },
	{ "[dns64]\n[dns64 x]\n[dns64]\nprefix = 2001:db8::/32\n",
	    "t.conf:3: section [dns64] appears twice" },
	{ "[dns64 x]\n[dns64 x]\n", "t.conf:2: section [dns64 x] appears "
	    "twice" },
	{ "[dns64 a b]\n", "t.conf:1: bad section name" },
	{ "[dns64 a/b]\n", "t.conf:1: bad section name" },
	{ "[dns64 a123456789012345678901234567890123456789012345678901234"
	    "567890123]\n", "t.conf:1: section name too long" },
	{ "[]\n", "t.conf:1: empty section name" },
	{ "[server\ntimeout = 1\n", "t.conf:1: bad section header" },
	{ "[server] junk\n", "t.conf:1: bad section header" },
	{ "[server]\njust words\n", "t.conf:2: expected 'key = value'" },
	{ "[server]\n  10.0.0.0/8\n",
	    "t.conf:2: continuation line without a key" },
	{ "[server]\n= 1\n", "t.conf:2: bad key ''" },
	{ "[server]\nti me = 1\n", "t.conf:2: bad key 'ti me'" },
	{ "[server]\ntimeout = 1\x01\n", "t.conf:2: control character" },
	{ "[server]\ntimeout = 100;comment\n", "t.conf:2: timeout:" },
	{ "[server]\ntimeout = 100#comment\n", "t.conf:2: timeout:" },
	{ "[server]\ntimeout = 100\n 200\n",
	    "t.conf:2: timeout takes a single value" },
	/* upstream is the proxy itself */
	{ "[server]\nlisten = 127.0.0.1\nupstream = 127.0.0.1\n",
	    "t.conf:3: upstream 127.0.0.1:53 is a listen address" },
	{ "[server]\nupstream = 192.0.2.1\n    [::1]:53\n",
	    "t.conf:3: upstream [::1]:53 is a listen address" },
	{ "[server]\nupstream = [::ffff:127.0.0.1]:53\n",
	    "t.conf:2: upstream 127.0.0.1:53 is a listen address" },
	{ "[server]\nlisten = 0.0.0.0:5353\nupstream = 127.0.0.2:5353\n",
	    "t.conf:3: upstream 127.0.0.2:5353 is a listen address" },
	{ "[server]\nlisten = [::]:53\nupstream = ::1\n",
	    "t.conf:3: upstream [::1]:53 is a listen address" },
	{ "[server]\nupstream = 127.0.0.1 # here\nlisten = 127.0.0.1\n",
	    "t.conf:2: upstream 127.0.0.1:53 is a listen address" },
};

ParameterizedTestParameters(config, bad_values)
{
	return cr_make_param_array(struct bad_case, bad_cases,
	    sizeof(bad_cases) / sizeof(bad_cases[0]));
}

ParameterizedTest(const struct bad_case *tc, config, bad_values,
    .init = setup, .fini = teardown)
{
	load_fails_with(tc->text, tc->want);
}

/* ------------------------------------------------------------------ */
/* Prefixes (SPEC.md: refused at start-up)                            */
/* ------------------------------------------------------------------ */

struct prefix_case {
	char		 prefix[48];
	bool		 ok;
};

static const struct prefix_case prefix_cases[] = {
	{ "64:ff9b::/96", true },
	{ "64:ff9b:1::/48", true },
	{ "2001:db8::/32", true },
	{ "2001:db8:100::/40", true },
	{ "2001:db8:122::/48", true },
	{ "2001:db8:122:300::/56", true },
	{ "2001:db8:122:344::/64", true },
	{ "2001:db8:122:344::/96", true },
	{ "2001:db8::/33", false },		/* length not RFC 6052 */
	{ "2001:db8::/128", false },
	{ "2001:db8::/0", false },
	{ "2001:db8:0:0:ff00::/96", false },	/* bits 64-71 set */
	{ "2001:db8:0:0:100::/96", false },
	{ "2001:db8::1/64", false },		/* bits past the length */
	{ "fe80::/32", false },			/* link-local */
	{ "fe80::/64", false },
	{ "fe00::/32", true },			/* just outside fe80::/10 */
	{ "fec0::/32", true },
	{ "febf:ffff::/32", false },
	{ "ff00::/32", false },			/* multicast */
	{ "ff02::/96", false },
	{ "::/96", false },			/* unspecified, IPv4-compatible */
	{ "::/32", false },			/* holds ::/96 */
	{ "::ffff:0:0/96", false },		/* IPv4-mapped */
	{ "64:ff9b::", false },			/* no length */
	{ "64:ff9b::/", false },
	{ "192.0.2.0/24", false },
	{ "junk", false },
};

ParameterizedTestParameters(config, prefixes)
{
	return cr_make_param_array(struct prefix_case, prefix_cases,
	    sizeof(prefix_cases) / sizeof(prefix_cases[0]));
}

ParameterizedTest(const struct prefix_case *tc, config, prefixes,
    .init = setup, .fini = teardown)
{
	struct config	 c;
	char		 text[128];

	snprintf(text, sizeof(text), "# a prefix\n[dns64 t]\n\nprefix = %s\n",
	    tc->prefix);
	if (tc->ok) {
		load_ok(text, &c);
		cr_assert_eq(c.sections[0].nprefixes, 1);
		assert_prefix(&c.sections[0].prefixes[0], tc->prefix);
	} else
		load_fails_with(text, "t.conf:4: prefix");
}

Test(config, prefix_duplicates_and_limits)
{
	load_fails_with("[dns64]\nprefix = 64:ff9b::/96 2001:db8::/32 "
	    "64:ff9b::/96\n", "t.conf:2: prefix 64:ff9b::/96 is listed twice");
	load_fails_with("[dns64]\nprefix = 2001:db8:1::/48 2001:db8:2::/48 "
	    "2001:db8:3::/48 2001:db8:4::/48 2001:db8:5::/48 2001:db8:6::/48 "
	    "2001:db8:7::/48 2001:db8:8::/48 2001:db8:9::/48\n",
	    "t.conf:2: prefix: too many prefixes (at most 8)");
}

/* ------------------------------------------------------------------ */
/* Long lines, continuation lines, comments                           */
/* ------------------------------------------------------------------ */

Test(config, long_list_is_parsed_whole)
{
	struct config	 c;
	char		 text[4096], item[32];
	int		 i;

	/* 60 ranges on one line: about 900 bytes, far past inih's 200. */
	snprintf(text, sizeof(text), "[server]\nallow =");
	for (i = 0; i < 60; i++) {
		snprintf(item, sizeof(item), " 10.%d.0.0/16", i);
		strcat(text, item);
	}
	strcat(text, "\ntimeout = 777\n[dns64]\nprefix = 2001:db8::/32\n");
	cr_assert_gt(strlen(text), 800);
	load_ok(text, &c);
	cr_assert_eq(c.nallow, 60);
	assert_cidr(&c.allow[0], "10.0.0.0/16");
	assert_cidr(&c.allow[59], "10.59.0.0/16");
	cr_assert_eq(c.timeout_ms, 777, "the line after the long one");
	assert_prefix(&c.sections[0].prefixes[0], "2001:db8::/32");
}

Test(config, long_list_error_names_its_line)
{
	char		 text[4096], item[32];
	int		 i;

	snprintf(text, sizeof(text), "[server]\n\nallow =");
	for (i = 0; i < 40; i++) {
		snprintf(item, sizeof(item), " 10.%d.0.0/16", i);
		strcat(text, item);
	}
	strcat(text, " 10.1.1.1/8\nattempts = 2\n");
	load_fails_with(text, "t.conf:3: allow: '10.1.1.1/8'");

	/* ... and the line after a long one keeps its number */
	snprintf(text, sizeof(text), "[server]\nallow =");
	for (i = 0; i < 40; i++) {
		snprintf(item, sizeof(item), " 10.%d.0.0/16", i);
		strcat(text, item);
	}
	strcat(text, "\nattempts = 0\n");
	load_fails_with(text, "t.conf:3: attempts:");
}

Test(config, too_many_ranges)
{
	char		 text[8192], item[32];
	int		 i;

	snprintf(text, sizeof(text), "[server]\nallow =");
	for (i = 0; i < CONFIG_MAX_ALLOW + 1; i++) {
		snprintf(item, sizeof(item), " 10.%d.0.0/16", i);
		strcat(text, item);
	}
	strcat(text, "\n");
	load_fails_with(text, "t.conf:2: allow: too many ranges (at most 64)");
}

Test(config, continuation_lines)
{
	struct config	 c;

	load_ok("[server]\n"
	    "allow = 10.0.0.0/8,\n"
	    "        192.168.0.0/16   ; the office\n"
	    "\n"
	    "        # the lab\n"
	    "        172.16.0.0/12 ::1\n"
	    "    timeout = 100\n"	/* indented, but a key of its own */
	    "attempts = 2\n", &c);
	cr_assert_eq(c.nallow, 4);
	assert_cidr(&c.allow[1], "192.168.0.0/16");
	assert_cidr(&c.allow[3], "::1/128");
	cr_assert_eq(c.timeout_ms, 100);
	cr_assert_eq(c.attempts, 2);

	/* An error in a continuation names its own line. */
	load_fails_with("[server]\nallow = 10.0.0.0/8\n\n  # x\n"
	    "  192.168.0.1/16\n", "t.conf:5: allow: '192.168.0.1/16'");
}

Test(config, comments)
{
	struct config	 c;

	load_ok("# start\n"
	    "; start\n"
	    "[server] # header\n"
	    "timeout = 100 ; inline\n"
	    "attempts = 2 # inline\n"
	    "allow = 10.0.0.0/8\t# tab before\n"
	    "  ; indented comment\n"
	    "pidfile = /run/a#b.pid\n"	/* not after a blank: kept */
	    "[dns64] ; x\n"
	    "prefix = 2001:db8::/32 # 64:ff9b::/96\n", &c);
	cr_assert_eq(c.timeout_ms, 100);
	cr_assert_eq(c.attempts, 2);
	cr_assert_eq(c.nallow, 1);
	cr_assert_str_eq(c.pidfile, "/run/a#b.pid");
	cr_assert_eq(c.sections[0].nprefixes, 1);
	assert_prefix(&c.sections[0].prefixes[0], "2001:db8::/32");
}

Test(config, crlf_and_bom)
{
	struct config	 c;

	load_ok("\xef\xbb\xbf[server]\r\ntimeout = 100\r\n\r\nattempts = 4\r\n",
	    &c);
	cr_assert_eq(c.timeout_ms, 100);
	cr_assert_eq(c.attempts, 4);
	load_fails_with("\xef\xbb\xbf[server]\r\n\r\nattempts = 40\r\n",
	    "t.conf:3: attempts:");
}

/* ------------------------------------------------------------------ */
/* Collecting errors, never applying half                             */
/* ------------------------------------------------------------------ */

Test(config, all_errors_in_order)
{
	struct config	 c;
	struct config_errors e;

	cr_assert_eq(load("[server]\n"
	    "timeout = 1\n"
	    "attempts = 100\n"
	    "bogus = 1\n"
	    "[dns64]\n"
	    "prefix = ff00::/96 2001:db8::/33\n"
	    "  fe80::/64\n"
	    "[cache]\n"
	    "entries = x\n", &c, &e), -1);
	cr_assert_eq(e.n, 7);
	cr_assert_eq(strncmp(e.msg[0], "t.conf:2: timeout", 17), 0);
	cr_assert_eq(strncmp(e.msg[1], "t.conf:3: attempts", 18), 0);
	cr_assert_eq(strncmp(e.msg[2], "t.conf:4: unknown key", 21), 0);
	cr_assert_eq(strncmp(e.msg[3], "t.conf:6: prefix ff00::/96", 26), 0);
	cr_assert_eq(strncmp(e.msg[4], "t.conf:6: prefix 2001:db8::/33", 30),
	    0);
	cr_assert_eq(strncmp(e.msg[5], "t.conf:7: prefix fe80::/64", 26), 0);
	cr_assert_eq(strncmp(e.msg[6], "t.conf:9: entries", 17), 0);
	cr_assert_eq(e.dropped, 0);
}

Test(config, too_many_errors_are_counted)
{
	struct config	 c;
	struct config_errors e;
	char		 text[2048];
	int		 i;

	snprintf(text, sizeof(text), "[server]\n");
	for (i = 0; i < 40; i++)
		strcat(text, "bogus = 1\n");
	cr_assert_eq(load(text, &c, &e), -1);
	cr_assert_eq(e.n, CONFIG_MAX_ERRORS);
	cr_assert_eq(e.dropped, 40 - CONFIG_MAX_ERRORS);
}

Test(config, failure_leaves_config_untouched)
{
	struct config	*c = malloc(sizeof(*c)), *copy = malloc(sizeof(*c));
	struct config_errors e;

	cr_assert_not_null(c);
	cr_assert_not_null(copy);
	load_ok("[server]\nupstream = 192.0.2.9\ntimeout = 321\n", c);
	memcpy(copy, c, sizeof(*c));
	/* Good keys first, one bad key last. */
	cr_assert_eq(load("[server]\nupstream = 192.0.2.10\ntimeout = 999\n"
	    "[dns64]\nprefix = 2001:db8::/32\n[log]\nlevel = loud\n", c, &e),
	    -1);
	cr_assert_eq(memcmp(c, copy, sizeof(*c)), 0);
	cr_assert_eq(config_defaults(c, "/nonexistent", &e), -1);
	cr_assert_eq(memcmp(c, copy, sizeof(*c)), 0);
	free(c);
	free(copy);
}

Test(config, null_errors_allowed)
{
	struct config	 c;

	cr_assert_eq(config_load_string(&c, "[server]\ntimeout = 1\n", "x",
	    resolv_path, NULL), -1);
	cr_assert_eq(config_load_string(&c, "[server]\ntimeout = 10\n", "x",
	    resolv_path, NULL), 0);
}

/* ------------------------------------------------------------------ */
/* Files                                                              */
/* ------------------------------------------------------------------ */

Test(config, load_file)
{
	struct config	 c;
	struct config_errors e;
	const char	*path = tmpfile_with("[server]\nupstream = 192.0.2.7\n"
	    "[dns64]\nprefix = 64:ff9b:1::/48\n");
	const char	*bad = tmpfile_with("[server]\n\nworkers = 100\n");
	char		 want[128];

	cr_assert_eq(config_load_file(&c, path, resolv_path, &e), 0);
	assert_ep(&c.upstream[0], "192.0.2.7:53");
	assert_prefix(&c.sections[0].prefixes[0], "64:ff9b:1::/48");

	cr_assert_eq(config_load_file(&c, bad, resolv_path, &e), -1);
	cr_assert_eq(e.n, 1);
	snprintf(want, sizeof(want), "%s:3: workers:", bad);
	cr_assert_eq(strncmp(e.msg[0], want, strlen(want)), 0, "%s", e.msg[0]);

	cr_assert_eq(config_load_file(&c, "/nonexistent/x.conf", resolv_path,
	    &e), -1);
	cr_assert_eq(e.n, 1);
	cr_assert_str_eq(e.msg[0], "/nonexistent/x.conf: cannot open: "
	    "No such file or directory");

	cr_assert_eq(config_load_file(&c, "/tmp", resolv_path, &e), -1);
	cr_assert_eq(e.n, 1);
	cr_assert(strncmp(e.msg[0], "/tmp: cannot ", 13) == 0, "%s",
	    e.msg[0]);
}

Test(config, nul_byte_in_file)
{
	struct config	 c;
	struct config_errors e;
	char		 path[64] = "/tmp/dns64proxy-test-XXXXXX";
	static const char text[] = "[server]\ntimeout = 1\0000\n";
	int		 fd;

	fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, text, sizeof(text) - 1),
	    (ssize_t)sizeof(text) - 1);
	close(fd);
	cr_assert_eq(config_load_file(&c, path, resolv_path, &e), -1);
	unlink(path);
	cr_assert_eq(e.n, 1);
	cr_assert(strstr(e.msg[0], ":2: control character") != NULL, "%s",
	    e.msg[0]);
}

/*
 * The shipped etc/dns64proxy.conf: found through $srcdir (set by make
 * check) or else next to this source file.
 */
Test(config, sample_file_is_the_defaults)
{
	struct config	*c = malloc(sizeof(*c)), *d = malloc(sizeof(*d));
	struct config_errors e;
	const char	*srcdir = getenv("srcdir");
	char		 path[1024], *slash;
	size_t		 i;

	cr_assert_not_null(c);
	cr_assert_not_null(d);
	if (srcdir != NULL)
		snprintf(path, sizeof(path), "%s/../etc/dns64proxy.conf",
		    srcdir);
	else {
		snprintf(path, sizeof(path), "%s", __FILE__);
		if ((slash = strrchr(path, '/')) != NULL)
			*slash = '\0';
		else
			snprintf(path, sizeof(path), ".");
		strncat(path, "/../../etc/dns64proxy.conf",
		    sizeof(path) - strlen(path) - 1);
	}
	if (access(path, R_OK) != 0)
		cr_skip_test("no %s", path);
	if (config_load_file(c, path, resolv_path, &e) != 0) {
		for (i = 0; i < e.n; i++)
			cr_log_error("%s", e.msg[i]);
		cr_assert_fail("%s rejected", path);
	}
	cr_assert_eq(config_defaults(d, resolv_path, &e), 0);
	cr_assert_eq(memcmp(c, d, sizeof(*c)), 0,
	    "the sample file is not the built-in defaults");
	free(c);
	free(d);
}

/* ------------------------------------------------------------------ */
/* Sections and clients                                               */
/* ------------------------------------------------------------------ */

Test(config, no_dns64_section_gives_the_default_one)
{
	struct config	 c;

	load_ok("[server]\ntimeout = 100\n", &c);
	cr_assert_eq(c.nsections, 1);
	cr_assert_str_eq(c.sections[0].name, "");
	assert_prefix(&c.sections[0].prefixes[0], "64:ff9b::/96");
}

Test(config, named_sections_only)
{
	struct config	 c;
	struct sockaddr_storage in = ep("10.1.2.3"), out = ep("192.0.2.1");

	load_ok("[dns64 a]\nprefix = 2001:db8:a::/96\nclients = 10.0.0.0/8\n"
	    "[dns64 b]\nprefix = 2001:db8:b::/96\nclients = 2001:db8::/32\n",
	    &c);
	cr_assert_eq(c.nsections, 2);
	cr_assert_str_eq(c.sections[0].name, "a");
	cr_assert_str_eq(c.sections[1].name, "b");
	cr_assert_eq(config_section_for(&c, SA(in)), &c.sections[0]);
	cr_assert_null(config_section_for(&c, SA(out)),
	    "no section holds it: plain forwarding");
}

Test(config, empty_sections_exist)
{
	struct config	 c;

	load_ok("[dns64]\n[dns64 x]\n[log]\n[cache]\n[stats]\n[server]\n", &c);
	cr_assert_eq(c.nsections, 2);
	cr_assert_str_eq(c.sections[1].name, "x");
}

Test(config, too_many_sections)
{
	char		 text[2048], line[64];
	int		 i;

	text[0] = '\0';
	for (i = 0; i <= CONFIG_MAX_SECTIONS; i++) {
		snprintf(line, sizeof(line), "[dns64 s%d]\n", i);
		strcat(text, line);
	}
	load_fails_with(text, "t.conf:17: too many [dns64] sections");
}

struct select_case {
	char		 client[48];
	int		 section;	/* -1: none */
};

static const struct select_case select_cases[] = {
	{ "10.1.2.3", 0 },		/* only the /8 */
	{ "10.2.2.3", 1 },		/* the /16 wins */
	{ "10.2.255.255", 1 },
	{ "10.3.0.1", 0 },
	{ "192.0.2.1", 2 },		/* 0.0.0.0/0 of the last */
	{ "::ffff:10.2.0.9", 1 },	/* IPv4-mapped: as IPv4 */
	{ "::ffff:10.9.0.9", 0 },
	{ "::ffff:192.0.2.1", 2 },
	{ "2001:db8:1::1", 3 },		/* /48 over /32 */
	{ "2001:db8:2::1", 0 },		/* the /32 of section 0 */
	{ "2001:db9::1", -1 },
	{ "::1", -1 },
};

ParameterizedTestParameters(config, section_for)
{
	return cr_make_param_array(struct select_case, select_cases,
	    sizeof(select_cases) / sizeof(select_cases[0]));
}

ParameterizedTest(const struct select_case *tc, config, section_for,
    .init = setup, .fini = teardown)
{
	struct config	 c;
	struct sockaddr_storage ss = ep(tc->client);
	const struct dns64_section *s;

	load_ok("[dns64 wide]\nclients = 10.0.0.0/8 2001:db8::/32\n"
	    "[dns64 narrow]\nclients = 10.2.0.0/16\n"
	    "[dns64 rest]\nclients = 0.0.0.0/0\n"
	    "[dns64 office]\nclients = 2001:db8:1::/48\n"
	    "[dns64 tie]\nclients = 2001:db8:1::/48\n", &c);
	s = config_section_for(&c, SA(ss));
	if (tc->section < 0)
		cr_assert_null(s, "%s", tc->client);
	else
		cr_assert_eq(s, &c.sections[tc->section], "%s: got %s",
		    tc->client, s != NULL ? s->name : "none");
}

struct allow_case {
	char		 client[48];
	bool		 allowed;
};

static const struct allow_case allow_cases[] = {
	{ "127.0.0.1", true },
	{ "127.8.9.10", true },
	{ "10.1.2.3", true },
	{ "172.31.0.1", true },
	{ "172.32.0.1", false },
	{ "192.168.1.1", true },
	{ "100.64.0.1", true },
	{ "100.128.0.1", false },
	{ "8.8.8.8", false },
	{ "192.0.2.1", false },
	{ "::1", true },
	{ "::2", false },
	{ "fd00::1", true },
	{ "fe80::1", true },
	{ "2001:db8::1", false },
	{ "::ffff:10.1.2.3", true },	/* mapped: as IPv4 */
	{ "::ffff:8.8.8.8", false },
	{ "::ffff:127.0.0.1", true },
};

ParameterizedTestParameters(config, default_allow)
{
	return cr_make_param_array(struct allow_case, allow_cases,
	    sizeof(allow_cases) / sizeof(allow_cases[0]));
}

ParameterizedTest(const struct allow_case *tc, config, default_allow,
    .init = setup, .fini = teardown)
{
	struct config	 c;
	struct config_errors e;
	struct sockaddr_storage ss = ep(tc->client);

	cr_assert_eq(config_defaults(&c, resolv_path, &e), 0);
	cr_assert_eq(config_client_allowed(&c, SA(ss)), tc->allowed, "%s",
	    tc->client);
}

Test(config, allow_set_in_file)
{
	struct config	 c;
	struct sockaddr_storage a = ep("192.0.2.77"), b = ep("10.0.0.1"),
	    m = ep("::ffff:192.0.2.77"), v6 = ep("2001:db8::5");

	load_ok("[server]\nallow = 192.0.2.0/24 2001:db8::/64\n", &c);
	cr_assert(config_client_allowed(&c, SA(a)));
	cr_assert_not(config_client_allowed(&c, SA(b)), "defaults replaced");
	cr_assert(config_client_allowed(&c, SA(m)));
	cr_assert(config_client_allowed(&c, SA(v6)));
}

/* ------------------------------------------------------------------ */
/* Dump                                                               */
/* ------------------------------------------------------------------ */

static char *
dump(const struct config *c)
{
	char	*buf = NULL;
	size_t	 len = 0;
	FILE	*fp = open_memstream(&buf, &len);

	cr_assert_not_null(fp);
	config_dump(c, fp);
	fclose(fp);
	return buf;
}

Test(config, dump_shows_prefix_examples)
{
	struct config	 c;
	char		*out;

	load_ok("[server]\nuser = nobody\n"
	    "[dns64]\nprefix = 64:ff9b::/96 2001:db8:122:344::/64\n"
	    "[dns64 m]\nprefix = 64:ff9b::/96\nmapped = 192.0.2.0/24\n"
	    "[stats]\nlisten = [::1]:9153\n", &c);
	out = dump(&c);
	cr_log_info("%s", out);
	cr_assert(strstr(out, "[server]\n") != NULL);
	cr_assert(strstr(out, "listen = 127.0.0.1:53 [::1]:53\n") != NULL);
	cr_assert(strstr(out, "upstream = 192.0.2.53:53\n") != NULL);
	cr_assert(strstr(out, "timeout = 1500\n") != NULL);
	cr_assert(strstr(out, "user = nobody\n") != NULL);
	cr_assert(strstr(out, "; group: not set\n") != NULL);
	cr_assert(strstr(out, "\n[dns64]\nprefix = 64:ff9b::/96 "
	    "2001:db8:122:344::/64\n") != NULL);
	/* RFC 6052 2.4 */
	cr_assert(strstr(out, "; 64:ff9b::/96: 192.0.2.33 -> "
	    "64:ff9b::c000:221 (not synthesized: not global") != NULL);
	cr_assert(strstr(out, "; 2001:db8:122:344::/64: 192.0.2.33 -> "
	    "2001:db8:122:344:c0:2:2100:0\n") != NULL);
	/* With mapped set, mapped decides alone. */
	cr_assert(strstr(out, "[dns64 m]\nprefix = 64:ff9b::/96\n"
	    "; 64:ff9b::/96: 192.0.2.33 -> 64:ff9b::c000:221\n") != NULL);
	cr_assert(strstr(out, "mapped = 192.0.2.0/24\n") != NULL);
	cr_assert(strstr(out, "reverse = cname\n") != NULL);
	cr_assert(strstr(out, "[log]\nlevel = info\nqueries = no\n") != NULL);
	cr_assert(strstr(out, "[cache]\nentries = 0\n") != NULL);
	cr_assert(strstr(out, "[stats]\nlisten = [::1]:9153\n") != NULL);
	free(out);
}

Test(config, dump_loads_back_the_same)
{
	struct config	*c = malloc(sizeof(*c)), *c2 = malloc(sizeof(*c));
	char		*out, *out2;

	cr_assert_not_null(c);
	cr_assert_not_null(c2);
	load_ok("[server]\nlisten = 192.0.2.1:5353 [2001:db8::1]\n"
	    "upstream = 192.0.2.53 [2001:db8::53]:5353\ntimeout = 250\n"
	    "attempts = 7\nallow = 0.0.0.0/0\nuser = u\ngroup = g\n"
	    "pidfile = /run/p.pid\nworkers = 3\n"
	    "[dns64 x]\nprefix = 2001:db8:64::/96 64:ff9b:1::/48\n"
	    "exclude = 2001:db8::/32\nmapped = 10.0.0.0/8\nsynthall = yes\n"
	    "on_error = no\nreverse = rewrite\nparallel = yes\n"
	    "clients = 192.0.2.0/24\n"
	    "[dns64]\n"
	    "[log]\nlevel = warning\nqueries = yes\n[cache]\nentries = 5\n"
	    "[stats]\nlisten = 127.0.0.1:9153\n", c);
	out = dump(c);
	load_ok(out, c2);
	cr_assert_eq(memcmp(c, c2, sizeof(*c)), 0, "%s", out);
	out2 = dump(c2);
	cr_assert_str_eq(out, out2);
	free(out);
	free(out2);
	free(c);
	free(c2);

	/* The built-in defaults, too. */
	c = malloc(sizeof(*c));
	c2 = malloc(sizeof(*c));
	cr_assert_eq(config_defaults(c, resolv_path, NULL), 0);
	out = dump(c);
	load_ok(out, c2);
	cr_assert_eq(memcmp(c, c2, sizeof(*c)), 0, "%s", out);
	free(out);
	free(c);
	free(c2);
}
