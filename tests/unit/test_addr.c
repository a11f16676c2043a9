/*
 * test_addr.c: addresses, ranges and endpoints as the configuration
 * writes them.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include "addr.h"

/* ------------------------------------------------------------------ */
/* CIDR parsing and formatting                                        */
/* ------------------------------------------------------------------ */

/*
 * Criterion runs each parameter in a process of its own where pointers
 * into the parent's data are not valid: the cases carry their strings.
 */
struct cidr_case {
	char		 in[48];
	int		 ok;		/* 0 or -1 */
	char		 out[48];	/* formatted back, when ok */
};

static const struct cidr_case cidr_cases[] = {
	{ "192.0.2.0/24", 0, "192.0.2.0/24" },
	{ "10.0.0.0/8", 0, "10.0.0.0/8" },
	{ "0.0.0.0/0", 0, "0.0.0.0/0" },
	{ "192.0.2.1", 0, "192.0.2.1/32" },
	{ "192.0.2.1/32", 0, "192.0.2.1/32" },
	{ "2001:db8::/32", 0, "2001:db8::/32" },
	{ "2001:DB8::/32", 0, "2001:db8::/32" },
	{ "::/0", 0, "::/0" },
	{ "::1", 0, "::1/128" },
	{ "fe80::/10", 0, "fe80::/10" },
	{ "::ffff:0:0/96", 0, "::ffff:0.0.0.0/96" },
	{ "10.1.0.0/8", -1, "" },		/* host bits set */
	{ "2001:db8::1/64", -1, "" },
	{ "192.0.2.0/33", -1, "" },
	{ "2001:db8::/129", -1, "" },
	{ "192.0.2.0/", -1, "" },
	{ "192.0.2.0/-1", -1, "" },
	{ "192.0.2.0/+8", -1, "" },
	{ "192.0.2.0/24x", -1, "" },
	{ "192.0.2.0/ 24", -1, "" },
	{ "/24", -1, "" },
	{ "", -1, "" },
	{ "192.0.2", -1, "" },
	{ "192.0.2.256", -1, "" },
	{ "localhost", -1, "" },
	{ "fe80::1%eth0", -1, "" },
	{ "192.0.2.0/0024", -1, "" },
	{ "1:2:3:4:5:6:7:8:9/128", -1, "" },
};

ParameterizedTestParameters(addr, parse_cidr)
{
	return cr_make_param_array(struct cidr_case, cidr_cases,
	    sizeof(cidr_cases) / sizeof(cidr_cases[0]));
}

ParameterizedTest(const struct cidr_case *tc, addr, parse_cidr)
{
	struct cidr	 c;
	char		 buf[64];

	cr_assert_eq(addr_parse_cidr(tc->in, &c), tc->ok, "input '%s'",
	    tc->in);
	if (tc->ok == 0) {
		addr_format_cidr(&c, buf, sizeof(buf));
		cr_assert_str_eq(buf, tc->out, "input '%s'", tc->in);
		/* and back again */
		struct cidr c2;
		cr_assert_eq(addr_parse_cidr(buf, &c2), 0);
		cr_assert_eq(c2.family, c.family);
		cr_assert_eq(c2.len, c.len);
		cr_assert_eq(memcmp(&c2.a, &c.a, sizeof(c.a)), 0);
	}
}

Test(addr, parse_cidr_leaves_out_untouched_on_error)
{
	struct cidr	 c;

	memset(&c, 0xa5, sizeof(c));
	cr_assert_eq(addr_parse_cidr("10.1.0.0/8", &c), -1);
	cr_assert_eq(c.family, (int)0xa5a5a5a5);
}

Test(addr, format_cidr_truncates)
{
	struct cidr	 c;
	char		 buf[6];

	cr_assert_eq(addr_parse_cidr("192.0.2.0/24", &c), 0);
	addr_format_cidr(&c, buf, sizeof(buf));
	cr_assert_str_eq(buf, "192.0");
}

/* ------------------------------------------------------------------ */
/* Endpoints                                                          */
/* ------------------------------------------------------------------ */

struct ep_case {
	char		 in[48];
	uint16_t	 defport;
	int		 ok;
	char		 out[48];
};

static const struct ep_case ep_cases[] = {
	{ "127.0.0.1", 53, 0, "127.0.0.1:53" },
	{ "127.0.0.1:5353", 53, 0, "127.0.0.1:5353" },
	{ "192.0.2.1:1", 53, 0, "192.0.2.1:1" },
	{ "192.0.2.1:65535", 53, 0, "192.0.2.1:65535" },
	{ "[::1]:53", 53, 0, "[::1]:53" },
	{ "[::1]:5353", 53, 0, "[::1]:5353" },
	{ "[::1]", 53, 0, "[::1]:53" },
	{ "::1", 53, 0, "[::1]:53" },
	{ "2001:db8::53", 53, 0, "[2001:db8::53]:53" },
	{ "[2001:DB8::53]:853", 53, 0, "[2001:db8::53]:853" },
	{ "::", 53, 0, "[::]:53" },
	{ "0.0.0.0", 53, 0, "0.0.0.0:53" },
	{ "::ffff:192.0.2.1", 53, 0, "[::ffff:192.0.2.1]:53" },
	{ "127.0.0.1:9153", 0, 0, "127.0.0.1:9153" },
	{ "[::1]:9153", 0, 0, "[::1]:9153" },
	/* port required */
	{ "127.0.0.1", 0, -1, "" },
	{ "[::1]", 0, -1, "" },
	{ "::1", 0, -1, "" },
	/* junk */
	{ "127.0.0.1:0", 53, -1, "" },
	{ "127.0.0.1:65536", 53, -1, "" },
	{ "127.0.0.1:99999", 53, -1, "" },
	{ "127.0.0.1:000053", 53, -1, "" },
	{ "127.0.0.1:", 53, -1, "" },
	{ "127.0.0.1:53x", 53, -1, "" },
	{ "127.0.0.1:-53", 53, -1, "" },
	{ "127.0.0.1:+53", 53, -1, "" },
	{ "127.0.0.1: 53", 53, -1, "" },
	{ "127.0.0.1 ", 53, -1, "" },
	{ "[::1]:", 53, -1, "" },
	{ "[::1]53", 53, -1, "" },
	{ "[::1]:53x", 53, -1, "" },
	{ "[::1", 53, -1, "" },
	{ "::1]:53", 53, -1, "" },
	{ "[127.0.0.1]:53", 53, -1, "" },
	{ "[]:53", 53, -1, "" },
	{ "[fe80::1%eth0]:53", 53, -1, "" },
	{ "fe80::1%eth0", 53, -1, "" },
	{ "localhost", 53, -1, "" },
	{ "localhost:53", 53, -1, "" },
	{ "", 53, -1, "" },
	{ ":53", 53, -1, "" },
	{ "1.2.3", 53, -1, "" },
	{ "1.2.3.4.5", 53, -1, "" },
	{ "192.0.2.0/24", 53, -1, "" },
};

ParameterizedTestParameters(addr, parse_endpoint)
{
	return cr_make_param_array(struct ep_case, ep_cases,
	    sizeof(ep_cases) / sizeof(ep_cases[0]));
}

ParameterizedTest(const struct ep_case *tc, addr, parse_endpoint)
{
	struct sockaddr_storage ss, ss2;
	char		 buf[64];

	cr_assert_eq(addr_parse_endpoint(tc->in, tc->defport, &ss), tc->ok,
	    "input '%s'", tc->in);
	if (tc->ok == 0) {
		addr_format((struct sockaddr *)&ss, buf, sizeof(buf));
		cr_assert_str_eq(buf, tc->out, "input '%s'", tc->in);
		/* formatting gives a form that parses to the same address */
		cr_assert_eq(addr_parse_endpoint(buf, 0, &ss2), 0);
		cr_assert(addr_equal((struct sockaddr *)&ss,
		    (struct sockaddr *)&ss2));
	}
}

Test(addr, endpoint_fields)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	struct in6_addr	 one = IN6ADDR_LOOPBACK_INIT;

	cr_assert_eq(addr_parse_endpoint("192.0.2.1:5353", 53, &ss), 0);
	cr_assert_eq(sin->sin_family, AF_INET);
	cr_assert_eq(ntohs(sin->sin_port), 5353);
	cr_assert_eq(ntohl(sin->sin_addr.s_addr), 0xc0000201u);
	cr_assert_eq(addr_len((struct sockaddr *)&ss),
	    sizeof(struct sockaddr_in));

	cr_assert_eq(addr_parse_endpoint("::1", 53, &ss), 0);
	cr_assert_eq(sin6->sin6_family, AF_INET6);
	cr_assert_eq(ntohs(sin6->sin6_port), 53);
	cr_assert_eq(memcmp(&sin6->sin6_addr, &one, 16), 0);
	cr_assert_eq(sin6->sin6_scope_id, 0);
	cr_assert_eq(addr_len((struct sockaddr *)&ss),
	    sizeof(struct sockaddr_in6));
}

Test(addr, format_unknown_family)
{
	struct sockaddr_storage ss;
	char		 buf[16];

	memset(&ss, 0, sizeof(ss));
	ss.ss_family = AF_UNIX;
	addr_format((struct sockaddr *)&ss, buf, sizeof(buf));
	cr_assert_str_eq(buf, "?");
	cr_assert_eq(addr_len((struct sockaddr *)&ss), 0);
}

/* ------------------------------------------------------------------ */
/* Equality and IPv4-mapped folding                                   */
/* ------------------------------------------------------------------ */

static struct sockaddr_storage
ep(const char *s)
{
	struct sockaddr_storage ss;

	cr_assert_eq(addr_parse_endpoint(s, 53, &ss), 0, "'%s'", s);
	return ss;
}

#define SA(x)	((struct sockaddr *)&(x))

Test(addr, equal)
{
	struct sockaddr_storage a = ep("192.0.2.1"), b = ep("192.0.2.1:53"),
	    c = ep("192.0.2.1:54"), d = ep("192.0.2.2"), e = ep("::1"),
	    f = ep("[::1]:53"), g = ep("[::1]:54"),
	    m = ep("::ffff:192.0.2.1");

	cr_assert(addr_equal(SA(a), SA(b)));
	cr_assert_not(addr_equal(SA(a), SA(c)));
	cr_assert_not(addr_equal(SA(a), SA(d)));
	cr_assert(addr_equal(SA(e), SA(f)));
	cr_assert_not(addr_equal(SA(e), SA(g)));
	cr_assert_not(addr_equal(SA(a), SA(e)));
	cr_assert_not(addr_equal(SA(a), SA(m)), "mapped is not folded");
}

Test(addr, unmap_v4)
{
	struct sockaddr_storage m = ep("[::ffff:192.0.2.1]:5353"),
	    v4 = ep("192.0.2.1:5353"), v6 = ep("[2001:db8::1]:53"),
	    compat = ep("::192.0.2.1");
	struct sockaddr_in out;

	cr_assert(addr_unmap_v4(SA(m), &out));
	cr_assert(addr_equal((struct sockaddr *)&out, SA(v4)));
	cr_assert(addr_unmap_v4(SA(v4), &out));
	cr_assert(addr_equal((struct sockaddr *)&out, SA(v4)));
	cr_assert_not(addr_unmap_v4(SA(v6), &out));
	cr_assert_not(addr_unmap_v4(SA(compat), &out));
}

/* ------------------------------------------------------------------ */
/* Contains and overlap                                               */
/* ------------------------------------------------------------------ */

struct contains_case {
	char		 cidr[48];
	char		 addr[48];
	bool		 in;
};

static const struct contains_case contains_cases[] = {
	{ "10.0.0.0/8", "10.0.0.0", true },
	{ "10.0.0.0/8", "10.255.255.255", true },
	{ "10.0.0.0/8", "11.0.0.0", false },
	{ "10.0.0.0/8", "9.255.255.255", false },
	{ "172.16.0.0/12", "172.31.1.1", true },
	{ "172.16.0.0/12", "172.32.0.1", false },
	{ "192.0.2.1", "192.0.2.1", true },
	{ "192.0.2.1", "192.0.2.2", false },
	{ "0.0.0.0/0", "203.0.113.9", true },
	{ "0.0.0.0/0", "::1", false },
	{ "::/0", "192.0.2.1", false },
	{ "::/0", "2001:db8::1", true },
	{ "2001:db8::/32", "2001:db8:ffff::1", true },
	{ "2001:db8::/32", "2001:db9::1", false },
	{ "fe80::/10", "febf::1", true },
	{ "fe80::/10", "fec0::1", false },
	{ "::1/128", "::1", true },
	{ "::1/128", "::2", false },
	{ "10.0.0.0/8", "::ffff:10.0.0.1", false },	/* not folded */
	{ "2001:db8::/33", "2001:db8:7fff::", true },
	{ "2001:db8::/33", "2001:db8:8000::", false },
};

ParameterizedTestParameters(addr, contains)
{
	return cr_make_param_array(struct contains_case, contains_cases,
	    sizeof(contains_cases) / sizeof(contains_cases[0]));
}

ParameterizedTest(const struct contains_case *tc, addr, contains)
{
	struct cidr	 c;
	struct sockaddr_storage ss = ep(tc->addr);

	cr_assert_eq(addr_parse_cidr(tc->cidr, &c), 0);
	cr_assert_eq(addr_cidr_contains(&c, SA(ss)), tc->in, "%s in %s",
	    tc->addr, tc->cidr);
	if (ss.ss_family == AF_INET)
		cr_assert_eq(addr_cidr_contains_v4(&c,
		    ((struct sockaddr_in *)&ss)->sin_addr), tc->in);
	else
		cr_assert_eq(addr_cidr_contains_v6(&c,
		    &((struct sockaddr_in6 *)&ss)->sin6_addr), tc->in);
}

struct overlap_case {
	char		 a[48], b[48];
	bool		 overlap;
};

static const struct overlap_case overlap_cases[] = {
	{ "10.0.0.0/8", "10.1.0.0/16", true },
	{ "10.1.0.0/16", "10.0.0.0/8", true },
	{ "10.0.0.0/8", "11.0.0.0/8", false },
	{ "10.0.0.0/8", "10.0.0.0/8", true },
	{ "0.0.0.0/0", "192.0.2.1", true },
	{ "192.0.2.0/25", "192.0.2.128/25", false },
	{ "::/0", "0.0.0.0/0", false },
	{ "2001:db8::/32", "2001:db8:1::/48", true },
	{ "2001:db8::/32", "2001:db9::/32", false },
	{ "fe80::/10", "fe80::1", true },
	{ "64:ff9b::/96", "64:ff9b:1::/48", false },
};

ParameterizedTestParameters(addr, overlap)
{
	return cr_make_param_array(struct overlap_case, overlap_cases,
	    sizeof(overlap_cases) / sizeof(overlap_cases[0]));
}

ParameterizedTest(const struct overlap_case *tc, addr, overlap)
{
	struct cidr	 a, b;

	cr_assert_eq(addr_parse_cidr(tc->a, &a), 0);
	cr_assert_eq(addr_parse_cidr(tc->b, &b), 0);
	cr_assert_eq(addr_cidr_overlap(&a, &b), tc->overlap, "%s / %s",
	    tc->a, tc->b);
	cr_assert_eq(addr_cidr_overlap(&b, &a), tc->overlap, "%s / %s",
	    tc->b, tc->a);
}

/* ------------------------------------------------------------------ */
/* Global IPv4 (RFC 6890 registry)                                    */
/* ------------------------------------------------------------------ */

struct global_case {
	char		 addr[16];
	bool		 global;
};

static const struct global_case global_cases[] = {
	{ "0.0.0.0", false },
	{ "0.255.255.255", false },
	{ "1.0.0.0", true },
	{ "8.8.8.8", true },
	{ "9.255.255.255", true },
	{ "10.0.0.1", false },
	{ "10.255.255.255", false },
	{ "11.0.0.0", true },
	{ "100.63.255.255", true },
	{ "100.64.0.0", false },
	{ "100.127.255.255", false },
	{ "100.128.0.0", true },
	{ "126.255.255.255", true },
	{ "127.0.0.1", false },
	{ "127.255.255.255", false },
	{ "128.0.0.0", true },
	{ "169.253.255.255", true },
	{ "169.254.1.1", false },
	{ "169.255.0.0", true },
	{ "172.15.255.255", true },
	{ "172.16.0.0", false },
	{ "172.31.255.255", false },
	{ "172.32.0.0", true },
	{ "191.255.255.255", true },
	{ "192.0.0.0", false },
	{ "192.0.0.8", false },
	{ "192.0.0.9", true },		/* RFC 7723 PCP anycast */
	{ "192.0.0.10", true },		/* RFC 8155 TURN anycast */
	{ "192.0.0.11", false },
	{ "192.0.0.170", false },	/* RFC 8880 ipv4only.arpa */
	{ "192.0.0.255", false },
	{ "192.0.1.0", true },
	{ "192.0.2.0", false },
	{ "192.0.2.33", false },
	{ "192.0.2.255", false },
	{ "192.0.3.0", true },
	{ "192.88.98.255", true },
	{ "192.88.99.1", false },
	{ "192.88.100.0", true },
	{ "192.167.255.255", true },
	{ "192.168.0.1", false },
	{ "192.168.255.255", false },
	{ "192.169.0.0", true },
	{ "198.17.255.255", true },
	{ "198.18.0.0", false },
	{ "198.19.255.255", false },
	{ "198.20.0.0", true },
	{ "198.51.99.255", true },
	{ "198.51.100.1", false },
	{ "198.51.101.0", true },
	{ "203.0.112.255", true },
	{ "203.0.113.1", false },
	{ "203.0.114.0", true },
	{ "223.255.255.255", true },
	{ "224.0.0.1", false },
	{ "239.255.255.255", false },
	{ "240.0.0.1", false },
	{ "255.255.255.254", false },
	{ "255.255.255.255", false },
};

ParameterizedTestParameters(addr, ipv4_is_global)
{
	return cr_make_param_array(struct global_case, global_cases,
	    sizeof(global_cases) / sizeof(global_cases[0]));
}

ParameterizedTest(const struct global_case *tc, addr, ipv4_is_global)
{
	struct in_addr	 a;

	cr_assert_eq(inet_pton(AF_INET, tc->addr, &a), 1);
	cr_assert_eq(addr_ipv4_is_global(a), tc->global, "%s", tc->addr);
}
