/*
 * config.c: the configuration of dns64proxy, read from an INI file with
 * inih and validated as a whole.
 *
 * Pure code: it reads the configuration file and resolv.conf, nothing
 * more; no sockets, no logging, no exit.  Every problem becomes one
 * "FILE:LINE: message" in a struct config_errors, and parsing goes on
 * after an error so that one run shows them all.  The text is parsed into
 * a fresh struct config; the caller's is written only when all is right.
 *
 * inih and its build options
 * --------------------------
 * inih's behaviour depends on how it was built, and Debian's build cuts
 * lines at 200 bytes, silently dropping the rest of a long list (it
 * reports nothing).  It also knows only ';' as an inline comment, turns
 * any indented line into a continuation of the previous key (even an
 * indented "key = value"), and never tells the handler about a section
 * that has no keys.  So the text goes to inih through our own reader
 * (ini_parse_stream), which reads the physical lines itself and hands
 * inih only short canonical lines:
 *
 *	"[server]"	a section header, already checked
 *	"key=\001"	a key; its value, however long, waits in the parser
 *	""		a blank, comment or already reported line
 *
 * The handler then finds the value, the line number and the section in
 * the parser, not in what inih passes.  The language this gives:
 *
 *	- '#' and ';' start a comment at the start of a line or after a blank;
 *	- "key = value", split at the first '='; keys and the section kinds
 *	  are case-insensitive, names of [dns64 NAME] sections are not;
 *	- an indented line without '=' continues the list of the key above
 *	  (blank and comment lines may come between);
 *	- lists are separated by blanks and commas, as many as you like;
 *	- lines of any length.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <ini.h>

#include "addr.h"
#include "config.h"
#include "dns64.h"

#define DEFAULT_RESOLV_CONF	"/etc/resolv.conf"
#define CONFIG_MAX_FILE		(1024 * 1024)	/* bytes */
#define KEY_MAX			63		/* characters in a key */
#define ITEM_MAX		128		/* characters in a list item */
#define VALUE_TOKEN		"\001"		/* what inih sees as the value */

/* ------------------------------------------------------------------ */
/* The parser's state                                                 */
/* ------------------------------------------------------------------ */

enum sect_kind {
	SECT_NONE,	/* before the first header */
	SECT_SKIP,	/* an unknown or repeated section: already reported */
	SECT_SERVER,
	SECT_DNS64,
	SECT_LOG,
	SECT_CACHE,
	SECT_STATS
};

struct parse;
typedef void	 key_setter(struct parse *, const char *value, int line);

struct key {
	enum sect_kind	 sect;
	const char	*name;
	key_setter	*set;
};

#define MAX_KEYS	32

struct parse {
	struct config	 c;		/* being built */
	struct config_errors *errs;
	struct config_errors scratch;	/* when the caller gave none */
	size_t		 nerr;		/* problems found, dropped included */
	const char	*name;		/* the file, for messages */
	const char	*resolv_conf;

	/* The reader's position in the text. */
	const char	*text;
	size_t		 len, pos;
	int		 lineno;	/* physical lines consumed */

	/* The key line last handed to inih. */
	char		*value;		/* continuation lines joined by '\n' */
	size_t		 valcap;
	int		 key_line;

	/* The current section. */
	enum sect_kind	 sect;
	struct dns64_section *dsec;
	int		 seen_line[MAX_KEYS];	/* per key of the section */
	bool		 had_server, had_log, had_cache, had_stats;

	/* What the file set, for the checks of the whole. */
	bool		 upstream_set;
	int		 upstream_line[CONFIG_MAX_UPSTREAM];
	int		 stats_line;
};

/* ------------------------------------------------------------------ */
/* Errors                                                             */
/* ------------------------------------------------------------------ */

/*
 * Record one problem as "NAME:LINE: message" (line > 0) or "NAME:
 * message".  Beyond CONFIG_MAX_ERRORS only the count grows.
 */
static void __attribute__((format(printf, 3, 4)))
errf(struct parse *p, int line, const char *fmt, ...)
{
	struct config_errors *e = p->errs;
	char		*out;
	int		 n;
	va_list		 ap;

	p->nerr++;
	if (e->n >= CONFIG_MAX_ERRORS) {
		e->dropped++;
		return;
	}
	out = e->msg[e->n++];
	if (line > 0)
		n = snprintf(out, CONFIG_ERR_LEN, "%s:%d: ", p->name, line);
	else
		n = snprintf(out, CONFIG_ERR_LEN, "%s: ", p->name);
	if (n < 0 || n >= CONFIG_ERR_LEN)
		return;
	va_start(ap, fmt);
	vsnprintf(out + n, (size_t)(CONFIG_ERR_LEN - n), fmt, ap);
	va_end(ap);
}

/* ------------------------------------------------------------------ */
/* Values                                                             */
/* ------------------------------------------------------------------ */

/* Items of a list value: separated by blanks, commas and the '\n' that
 * joins a continuation line (which also counts the line). */
struct items {
	const char	*s;
	int		 line;
};

static bool
is_sep(char ch)
{
	return ch == ' ' || ch == '\t' || ch == ',' || ch == '\n';
}

/*
 * The next item into buf (cap bytes), its line into *line.  An item that
 * does not fit is cut and *toolong set.  false when none is left.
 */
static bool
item_next(struct items *it, char *buf, size_t cap, int *line,
    bool *toolong)
{
	const char	*start;
	size_t		 n;

	while (*it->s != '\0' && is_sep(*it->s)) {
		if (*it->s == '\n')
			it->line++;
		it->s++;
	}
	if (*it->s == '\0')
		return false;
	start = it->s;
	while (*it->s != '\0' && !is_sep(*it->s))
		it->s++;
	n = (size_t)(it->s - start);
	*toolong = n >= cap;
	if (n >= cap)
		n = cap - 1;
	memcpy(buf, start, n);
	buf[n] = '\0';
	*line = it->line;
	return true;
}

/*
 * A key that takes one value: no continuation lines, not empty.  false
 * (reported) otherwise.
 */
static bool
scalar_ok(struct parse *p, const char *key, const char *v, int line)
{
	if (strchr(v, '\n') != NULL) {
		errf(p, line, "%s takes a single value, not continuation "
		    "lines", key);
		return false;
	}
	if (*v == '\0') {
		errf(p, line, "%s: missing value", key);
		return false;
	}
	return true;
}

/* A list value must hold at least one item. */
static bool
list_ok(struct parse *p, const char *key, const char *v, int line)
{
	const char	*s;

	for (s = v; *s != '\0'; s++)
		if (!is_sep(*s))
			return true;
	errf(p, line, "%s: missing value", key);
	return false;
}

/* An unsigned decimal in [min, max] into *out, or reported. */
static bool
parse_uint(struct parse *p, const char *key, const char *v, int line,
    unsigned long min, unsigned long max, const char *unit, unsigned *out)
{
	unsigned long	 n = 0;
	const char	*s;

	if (!scalar_ok(p, key, v, line))
		return false;
	for (s = v; *s != '\0'; s++) {
		if (!isdigit((unsigned char)*s) || s - v >= 10) {
			errf(p, line, "%s: '%.40s' is not a number", key, v);
			return false;
		}
		n = n * 10 + (unsigned long)(*s - '0');
	}
	if (n < min || n > max) {
		errf(p, line, "%s: %s is out of range (%lu to %lu%s)", key, v,
		    min, max, unit);
		return false;
	}
	*out = (unsigned)n;
	return true;
}

/* yes/no, true/false, on/off, 1/0 (any case) into *out, or reported. */
static bool
parse_bool(struct parse *p, const char *key, const char *v, int line,
    bool *out)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };
	size_t		 i;

	if (!scalar_ok(p, key, v, line))
		return false;
	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcasecmp(v, yes[i]) == 0) {
			*out = true;
			return true;
		}
		if (strcasecmp(v, no[i]) == 0) {
			*out = false;
			return true;
		}
	}
	errf(p, line, "%s: '%.40s' is not yes or no", key, v);
	return false;
}

/*
 * An IPv4-mapped address (::ffff:a.b.c.d) written in the file is taken
 * as the IPv4 address it holds: the proxy's IPv6 sockets are IPv6-only,
 * so it could neither be bound nor reached as written.
 */
static void
fold_mapped(struct sockaddr_storage *ss)
{
	struct sockaddr_in	 v4;

	if (ss->ss_family == AF_INET6 &&
	    addr_unmap_v4((struct sockaddr *)ss, &v4)) {
		memset(ss, 0, sizeof(*ss));
		memcpy(ss, &v4, sizeof(v4));
	}
}

/*
 * A list of ranges into arr (at most max), replacing what was there.
 * family AF_INET or AF_INET6 restricts them; AF_UNSPEC takes both.
 */
static void
parse_cidr_list(struct parse *p, const char *key, const char *v, int line,
    int family, struct cidr *arr, size_t *n, size_t max)
{
	struct items	 it = { v, line };
	char		 item[ITEM_MAX];
	int		 l;
	bool		 toolong;
	struct cidr	 c;

	*n = 0;
	if (!list_ok(p, key, v, line))
		return;
	while (item_next(&it, item, sizeof(item), &l, &toolong)) {
		if (toolong || addr_parse_cidr(item, &c) == -1) {
			errf(p, l, "%s: '%.60s' is not an address range "
			    "(ADDRESS/LENGTH, no bits set past the length)",
			    key, item);
			continue;
		}
		/* Mapped ranges are matched as IPv4 (fold_mapped()); but
		 * in exclude, about AAAA contents, ::ffff:0:0/96 is that. */
		if (family != AF_INET6)
			addr_cidr_unmap_v4(&c);
		if (family != AF_UNSPEC && c.family != family) {
			errf(p, l, "%s: '%s' is not an %s range", key, item,
			    family == AF_INET ? "IPv4" : "IPv6");
			continue;
		}
		if (*n >= max) {
			errf(p, l, "%s: too many ranges (at most %zu)", key,
			    max);
			return;
		}
		arr[(*n)++] = c;
	}
}

/*
 * A list of endpoints (default port 53) into arr (at most max), lines
 * into lines if not NULL.  Duplicates are an error; so are wildcard
 * addresses when no_wildcard.
 */
static void
parse_endpoint_list(struct parse *p, const char *key, const char *v,
    int line, struct sockaddr_storage *arr, size_t *n, size_t max,
    int *lines, bool no_wildcard)
{
	struct items	 it = { v, line };
	char		 item[ITEM_MAX], buf[64];
	int		 l;
	size_t		 i;
	bool		 toolong, dup;
	struct sockaddr_storage ss;
	struct sockaddr_in	v4;
	static const struct in6_addr any6 = IN6ADDR_ANY_INIT;

	*n = 0;
	if (!list_ok(p, key, v, line))
		return;
	while (item_next(&it, item, sizeof(item), &l, &toolong)) {
		if (toolong || addr_parse_endpoint(item, 53, &ss) == -1) {
			errf(p, l, "%s: '%.60s' is not an address (IP, "
			    "IPv4:port or [IPv6]:port)", key, item);
			continue;
		}
		fold_mapped(&ss);
		if (no_wildcard &&
		    ((addr_unmap_v4((struct sockaddr *)&ss, &v4) &&
		    v4.sin_addr.s_addr == htonl(INADDR_ANY)) ||
		    (ss.ss_family == AF_INET6 && memcmp(&((struct sockaddr_in6 *)
		    &ss)->sin6_addr, &any6, sizeof(any6)) == 0))) {
			errf(p, l, "%s: '%s' is a wildcard address", key,
			    item);
			continue;
		}
		dup = false;
		for (i = 0; i < *n; i++)
			if (addr_equal((struct sockaddr *)&arr[i],
			    (struct sockaddr *)&ss))
				dup = true;
		if (dup) {
			addr_format((struct sockaddr *)&ss, buf, sizeof(buf));
			errf(p, l, "%s: %s is listed twice", key, buf);
			continue;
		}
		if (*n >= max) {
			errf(p, l, "%s: too many addresses (at most %zu)", key,
			    max);
			return;
		}
		if (lines != NULL)
			lines[*n] = l;
		arr[(*n)++] = ss;
	}
}

/*
 * A name such as a user or a group: one word, shorter than cap.
 */
static void
parse_word(struct parse *p, const char *key, const char *v, int line,
    char *out, size_t cap)
{
	const char	*s;

	if (!scalar_ok(p, key, v, line))
		return;
	for (s = v; *s != '\0'; s++)
		if (isspace((unsigned char)*s)) {
			errf(p, line, "%s: '%.40s' is not one word", key, v);
			return;
		}
	if (strlen(v) >= cap) {
		errf(p, line, "%s: '%.40s...' is too long (at most %zu "
		    "characters)", key, v, cap - 1);
		return;
	}
	memcpy(out, v, strlen(v) + 1);
}

/* ------------------------------------------------------------------ */
/* [server]                                                           */
/* ------------------------------------------------------------------ */

static void
set_listen(struct parse *p, const char *v, int line)
{
	parse_endpoint_list(p, "listen", v, line, p->c.listen, &p->c.nlisten,
	    CONFIG_MAX_LISTEN, NULL, false);
}

static void
set_upstream(struct parse *p, const char *v, int line)
{
	p->upstream_set = true;
	parse_endpoint_list(p, "upstream", v, line, p->c.upstream,
	    &p->c.nupstream, CONFIG_MAX_UPSTREAM, p->upstream_line, true);
}

static void
set_timeout(struct parse *p, const char *v, int line)
{
	parse_uint(p, "timeout", v, line, 10, 60000, " ms", &p->c.timeout_ms);
}

static void
set_attempts(struct parse *p, const char *v, int line)
{
	parse_uint(p, "attempts", v, line, 1, 20, "", &p->c.attempts);
}

static void
set_allow(struct parse *p, const char *v, int line)
{
	parse_cidr_list(p, "allow", v, line, AF_UNSPEC, p->c.allow,
	    &p->c.nallow, CONFIG_MAX_ALLOW);
}

static void
set_user(struct parse *p, const char *v, int line)
{
	parse_word(p, "user", v, line, p->c.user, sizeof(p->c.user));
	p->c.user_line = line;
}

static void
set_group(struct parse *p, const char *v, int line)
{
	parse_word(p, "group", v, line, p->c.group, sizeof(p->c.group));
	p->c.group_line = line;
}

static void
set_pidfile(struct parse *p, const char *v, int line)
{
	if (!scalar_ok(p, "pidfile", v, line))
		return;
	if (v[0] != '/') {
		errf(p, line, "pidfile: '%.60s' is not an absolute path", v);
		return;
	}
	if (strlen(v) >= sizeof(p->c.pidfile)) {
		errf(p, line, "pidfile: path too long (at most %zu "
		    "characters)", sizeof(p->c.pidfile) - 1);
		return;
	}
	memcpy(p->c.pidfile, v, strlen(v) + 1);
}

static void
set_workers(struct parse *p, const char *v, int line)
{
	parse_uint(p, "workers", v, line, 1, 64, "", &p->c.workers);
}

/* ------------------------------------------------------------------ */
/* [dns64] and [dns64 NAME]                                           */
/* ------------------------------------------------------------------ */

static void
set_prefix(struct parse *p, const char *v, int line)
{
	struct dns64_section *s = p->dsec;
	struct items	 it = { v, line };
	char		 item[ITEM_MAX], why[CONFIG_ERR_LEN];
	int		 l;
	size_t		 i;
	bool		 toolong, dup;
	struct dns64_prefix pf;

	s->nprefixes = 0;
	if (!list_ok(p, "prefix", v, line))
		return;
	while (item_next(&it, item, sizeof(item), &l, &toolong)) {
		if (toolong || dns64_prefix_parse(item, &pf) == -1) {
			errf(p, l, "prefix: '%.60s' is not an IPv6 prefix "
			    "(ADDRESS/LENGTH, no bits set past the length)",
			    item);
			continue;
		}
		if (dns64_prefix_check(&pf, why, sizeof(why)) == -1) {
			errf(p, l, "prefix %s: %s", item, why);
			continue;
		}
		dup = false;
		for (i = 0; i < s->nprefixes; i++)
			if (s->prefixes[i].len == pf.len &&
			    memcmp(&s->prefixes[i].addr, &pf.addr, 16) == 0)
				dup = true;
		if (dup) {
			errf(p, l, "prefix %s is listed twice", item);
			continue;
		}
		if (s->nprefixes >= DNS64_MAX_PREFIXES) {
			errf(p, l, "prefix: too many prefixes (at most %d)",
			    DNS64_MAX_PREFIXES);
			return;
		}
		s->prefixes[s->nprefixes++] = pf;
	}
}

static void
set_exclude(struct parse *p, const char *v, int line)
{
	parse_cidr_list(p, "exclude", v, line, AF_INET6, p->dsec->exclude,
	    &p->dsec->nexclude, DNS64_MAX_CIDRS);
}

static void
set_mapped(struct parse *p, const char *v, int line)
{
	p->dsec->mapped_set = true;
	parse_cidr_list(p, "mapped", v, line, AF_INET, p->dsec->mapped,
	    &p->dsec->nmapped, DNS64_MAX_CIDRS);
}

static void
set_clients(struct parse *p, const char *v, int line)
{
	parse_cidr_list(p, "clients", v, line, AF_UNSPEC, p->dsec->clients,
	    &p->dsec->nclients, DNS64_MAX_CIDRS);
}

static void
set_synthall(struct parse *p, const char *v, int line)
{
	parse_bool(p, "synthall", v, line, &p->dsec->synthall);
}

static void
set_on_error(struct parse *p, const char *v, int line)
{
	parse_bool(p, "on_error", v, line, &p->dsec->on_error);
}

static void
set_parallel(struct parse *p, const char *v, int line)
{
	parse_bool(p, "parallel", v, line, &p->dsec->parallel);
}

static const struct {
	const char		*name;
	enum dns64_reverse	 mode;
} reverse_modes[] = {
	{ "cname", DNS64_REVERSE_CNAME },
	{ "rewrite", DNS64_REVERSE_REWRITE },
	{ "no", DNS64_REVERSE_NO },
};

static void
set_reverse(struct parse *p, const char *v, int line)
{
	size_t	 i;

	if (!scalar_ok(p, "reverse", v, line))
		return;
	for (i = 0; i < sizeof(reverse_modes) / sizeof(reverse_modes[0]); i++)
		if (strcasecmp(v, reverse_modes[i].name) == 0) {
			p->dsec->reverse = reverse_modes[i].mode;
			return;
		}
	errf(p, line, "reverse: '%.40s' is not cname, rewrite or no", v);
}

/* ------------------------------------------------------------------ */
/* [log], [cache], [stats]                                            */
/* ------------------------------------------------------------------ */

static const char *const level_names[] = {
	[LOGLEVEL_ERROR] = "error",
	[LOGLEVEL_WARNING] = "warning",
	[LOGLEVEL_INFO] = "info",
	[LOGLEVEL_DEBUG] = "debug",
};

static void
set_level(struct parse *p, const char *v, int line)
{
	size_t	 i;

	if (!scalar_ok(p, "level", v, line))
		return;
	for (i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++)
		if (strcasecmp(v, level_names[i]) == 0) {
			p->c.log_level = (enum log_level)i;
			return;
		}
	errf(p, line, "level: '%.40s' is not error, warning, info or debug",
	    v);
}

static void
set_queries(struct parse *p, const char *v, int line)
{
	parse_bool(p, "queries", v, line, &p->c.log_queries);
}

static void
set_entries(struct parse *p, const char *v, int line)
{
	parse_uint(p, "entries", v, line, 0, 10000000, "",
	    &p->c.cache_entries);
}

static void
set_stats_listen(struct parse *p, const char *v, int line)
{
	if (!scalar_ok(p, "listen", v, line))
		return;
	if (addr_parse_endpoint(v, 0, &p->c.stats_listen) == -1) {
		errf(p, line, "listen: '%.60s' is not an address with a port "
		    "(IPv4:port or [IPv6]:port)", v);
		return;
	}
	fold_mapped(&p->c.stats_listen);
	p->c.stats_set = true;
	p->stats_line = line;
}

/* Every key, by section.  The index is the key's bit in seen_line. */
static const struct key keys[] = {
	{ SECT_SERVER, "listen", set_listen },
	{ SECT_SERVER, "upstream", set_upstream },
	{ SECT_SERVER, "timeout", set_timeout },
	{ SECT_SERVER, "attempts", set_attempts },
	{ SECT_SERVER, "allow", set_allow },
	{ SECT_SERVER, "user", set_user },
	{ SECT_SERVER, "group", set_group },
	{ SECT_SERVER, "pidfile", set_pidfile },
	{ SECT_SERVER, "workers", set_workers },
	{ SECT_DNS64, "prefix", set_prefix },
	{ SECT_DNS64, "exclude", set_exclude },
	{ SECT_DNS64, "mapped", set_mapped },
	{ SECT_DNS64, "synthall", set_synthall },
	{ SECT_DNS64, "on_error", set_on_error },
	{ SECT_DNS64, "reverse", set_reverse },
	{ SECT_DNS64, "parallel", set_parallel },
	{ SECT_DNS64, "clients", set_clients },
	{ SECT_LOG, "level", set_level },
	{ SECT_LOG, "queries", set_queries },
	{ SECT_CACHE, "entries", set_entries },
	{ SECT_STATS, "listen", set_stats_listen },
};

static const char *
sect_title(const struct parse *p)
{
	switch (p->sect) {
	case SECT_SERVER:	return "[server]";
	case SECT_DNS64:	return "[dns64]";
	case SECT_LOG:		return "[log]";
	case SECT_CACHE:	return "[cache]";
	case SECT_STATS:	return "[stats]";
	default:		return "this section";
	}
}

/* ------------------------------------------------------------------ */
/* Sections                                                           */
/* ------------------------------------------------------------------ */

/* Characters a [dns64 NAME] may use. */
static bool
name_ok(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++)
		if (!isalnum((unsigned char)*s) && *s != '-' && *s != '_' &&
		    *s != '.')
			return false;
	return true;
}

/*
 * A section header: s is the text between '[' and ']'.  Sets the current
 * section (SECT_SKIP after an error) and writes the canonical header for
 * inih into out.
 */
static void
begin_section(struct parse *p, char *s, int line, char *out, size_t cap)
{
	char		*kind, *name, *extra, *save = NULL;
	bool		*had = NULL;
	size_t		 i;
	struct dns64_section *d;

	for (i = 0; i < MAX_KEYS; i++)
		p->seen_line[i] = 0;
	p->sect = SECT_SKIP;
	p->dsec = NULL;
	snprintf(out, cap, "[?]\n");

	kind = strtok_r(s, " \t", &save);
	name = kind != NULL ? strtok_r(NULL, " \t", &save) : NULL;
	extra = name != NULL ? strtok_r(NULL, " \t", &save) : NULL;
	if (kind == NULL) {
		errf(p, line, "empty section name");
		return;
	}
	if (strcasecmp(kind, "dns64") == 0) {
		if (extra != NULL || (name != NULL && !name_ok(name))) {
			errf(p, line, "bad section name: write [dns64] or "
			    "[dns64 NAME], NAME of letters, digits, '-', '_' "
			    "and '.'");
			return;
		}
		if (name != NULL && strlen(name) >= DNS64_NAME_MAX) {
			errf(p, line, "section name too long (at most %d "
			    "characters)", DNS64_NAME_MAX - 1);
			return;
		}
		for (i = 0; i < p->c.nsections; i++)
			if (strcmp(p->c.sections[i].name,
			    name != NULL ? name : "") == 0) {
				errf(p, line, "section [dns64%s%s] appears "
				    "twice", name != NULL ? " " : "",
				    name != NULL ? name : "");
				return;
			}
		if (p->c.nsections >= CONFIG_MAX_SECTIONS) {
			errf(p, line, "too many [dns64] sections (at most %d)",
			    CONFIG_MAX_SECTIONS);
			return;
		}
		d = &p->c.sections[p->c.nsections++];
		dns64_section_defaults(d);
		if (name != NULL)
			memcpy(d->name, name, strlen(name) + 1);
		p->sect = SECT_DNS64;
		p->dsec = d;
		snprintf(out, cap, "[dns64%s%s]\n", name != NULL ? " " : "",
		    name != NULL ? name : "");
		return;
	}

	if (name != NULL) {
		errf(p, line, "unknown section [%.40s %.40s]", kind, name);
		return;
	}
	if (strcasecmp(kind, "server") == 0) {
		p->sect = SECT_SERVER;
		had = &p->had_server;
	} else if (strcasecmp(kind, "log") == 0) {
		p->sect = SECT_LOG;
		had = &p->had_log;
	} else if (strcasecmp(kind, "cache") == 0) {
		p->sect = SECT_CACHE;
		had = &p->had_cache;
	} else if (strcasecmp(kind, "stats") == 0) {
		p->sect = SECT_STATS;
		had = &p->had_stats;
	} else {
		errf(p, line, "unknown section [%.60s]", kind);
		return;
	}
	if (*had) {
		errf(p, line, "section %s appears twice", sect_title(p));
		p->sect = SECT_SKIP;
		return;
	}
	*had = true;
	snprintf(out, cap, "%s\n", sect_title(p));
}

/* ------------------------------------------------------------------ */
/* The reader: physical lines in, canonical lines out                 */
/* ------------------------------------------------------------------ */

struct pline {
	char		*s;		/* comment cut, blanks trimmed */
	bool		 indented;
	bool		 bad;		/* a control character */
};

/*
 * Take the next physical line of the text into buf (cap bytes; a longer
 * line is cut, but then it is long enough to be bad anyway: see below),
 * cut its comment and trailing blanks.  false at the end of the text.
 * Does not move the reader: *next gets the offset past the line.
 */
static bool
peek_line(const struct parse *p, size_t at, char **buf, size_t *bufcap,
    struct pline *out, size_t *next)
{
	const char	*start, *nl;
	size_t		 n, i;
	char		*s, *b;

	if (at >= p->len)
		return false;
	start = p->text + at;
	nl = memchr(start, '\n', p->len - at);
	n = nl != NULL ? (size_t)(nl - start) : p->len - at;
	*next = at + n + (nl != NULL);
	if (at == 0 && n >= 3 && memcmp(start, "\xef\xbb\xbf", 3) == 0) {
		start += 3;	/* a UTF-8 byte order mark */
		n -= 3;
	}
	if (n + 1 > *bufcap) {
		if ((b = realloc(*buf, n + 1)) == NULL)
			return false;
		*buf = b;
		*bufcap = n + 1;
	}
	s = *buf;
	memcpy(s, start, n);
	s[n] = '\0';
	if (n > 0 && s[n - 1] == '\r')
		s[--n] = '\0';

	out->bad = false;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 && s[i] != '\t')
			out->bad = true;
	/* '#' or ';' at the start or after a blank starts a comment. */
	for (i = 0; i < n; i++)
		if ((s[i] == '#' || s[i] == ';') &&
		    (i == 0 || s[i - 1] == ' ' || s[i - 1] == '\t')) {
			s[i] = '\0';
			n = i;
			break;
		}
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		s[--n] = '\0';
	out->indented = s[0] == ' ' || s[0] == '\t';
	while (*s == ' ' || *s == '\t')
		s++;
	out->s = s;
	return true;
}

/* Keep value (the current key's) growing; false when out of memory. */
static bool
value_append(struct parse *p, const char *s, size_t n)
{
	size_t	 have = p->value != NULL ? strlen(p->value) : 0;
	char	*v;

	if (have + n + 1 > p->valcap) {
		size_t cap = (have + n + 1) * 2;

		if ((v = realloc(p->value, cap)) == NULL)
			return false;
		if (p->value == NULL)
			v[0] = '\0';
		p->value = v;
		p->valcap = cap;
	}
	memcpy(p->value + have, s, n);
	p->value[have + n] = '\0';
	return true;
}

/* A key name: letters, digits, '_', '-', '.'; 1 to KEY_MAX of them. */
static bool
key_ok(const char *s)
{
	size_t	 n = 0;

	for (; *s != '\0'; s++, n++)
		if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-' &&
		    *s != '.')
			return false;
	return n > 0 && n <= KEY_MAX;
}

/*
 * "[name]" but not "[2001:db8::1]:53" (an item of a list): section
 * names have no ':'.
 */
static bool
looks_like_header(const char *s)
{
	const char	*end;

	if (s[0] != '[' || (end = strchr(s, ']')) == NULL)
		return s[0] == '[' && strchr(s, ':') == NULL;
	return memchr(s, ':', (size_t)(end - s)) == NULL;
}

/*
 * The line after the key line, while it continues the key: indented,
 * no '=', not a header.  Blank and comment lines in between are taken
 * along (they only count lines).  Adds each to value after a '\n'.
 */
static bool
take_continuations(struct parse *p, char **buf, size_t *bufcap)
{
	size_t		 at = p->pos, next;
	int		 lines = 0;	/* peeked past p->pos */
	struct pline	 pl;

	while (peek_line(p, at, buf, bufcap, &pl, &next)) {
		if (pl.bad)
			break;
		lines++;
		at = next;
		if (pl.s[0] == '\0')
			continue;
		if (!pl.indented || strchr(pl.s, '=') != NULL ||
		    looks_like_header(pl.s))
			break;
		/* One '\n' per line, so items know their line. */
		for (; lines > 0; lines--, p->lineno++)
			if (!value_append(p, "\n", 1))
				return false;
		if (!value_append(p, pl.s, strlen(pl.s)))
			return false;
		p->pos = at;
	}
	return true;
}

/*
 * inih's reader (fgets-like): write the next canonical line into str
 * (num bytes), NULL at the end.  See the comment at the top.
 */
static char *
reader(char *str, int num, void *stream)
{
	struct parse	*p = stream;
	char		*lbuf = NULL, *eq, *key, *val, *end;
	size_t		 lcap = 0, next, n;
	int		 keyline;
	struct pline	 pl;
	char		 out[128], keybuf[KEY_MAX + 1];

	if (num < (int)sizeof(out)) {
		/* An inih built with lines shorter than ours: give up
		 * loudly rather than skip the rest of the file. */
		if (p->pos < p->len)
			errf(p, 0, "inih line buffer too small (%d)", num);
		p->pos = p->len;
		return NULL;
	}
	if (!peek_line(p, p->pos, &lbuf, &lcap, &pl, &next)) {
		free(lbuf);
		return NULL;
	}
	p->pos = next;
	p->lineno++;
	snprintf(out, sizeof(out), "\n");

	if (pl.bad) {
		errf(p, p->lineno, "control character in line");
		goto done;
	}
	if (pl.s[0] == '\0')
		goto done;

	if (pl.s[0] == '[') {
		if ((end = strchr(pl.s, ']')) == NULL || end[1] != '\0') {
			errf(p, p->lineno, "bad section header: write "
			    "[NAME] alone on its line");
			p->sect = SECT_SKIP;
			goto done;
		}
		*end = '\0';
		begin_section(p, pl.s + 1, p->lineno, out, sizeof(out));
		goto done;
	}

	if ((eq = strchr(pl.s, '=')) == NULL) {
		if (pl.indented)
			errf(p, p->lineno, "continuation line without a key "
			    "above it");
		else
			errf(p, p->lineno, "expected 'key = value', "
			    "'[section]' or a comment");
		goto done;
	}
	*eq = '\0';
	key = pl.s;
	for (n = strlen(key); n > 0 && (key[n - 1] == ' ' ||
	    key[n - 1] == '\t'); n--)
		key[n - 1] = '\0';
	val = eq + 1;
	while (*val == ' ' || *val == '\t')
		val++;
	if (!key_ok(key)) {
		errf(p, p->lineno, "bad key '%.40s'", key);
		goto done;
	}
	/* key lives in lbuf, which take_continuations() reuses */
	memcpy(keybuf, key, strlen(key) + 1);
	p->key_line = p->lineno;
	if (p->value != NULL)
		p->value[0] = '\0';
	if (!value_append(p, val, strlen(val))) {
		errf(p, p->lineno, "out of memory");
		goto done;
	}
	/* take_continuations() moves pos and lineno past what it takes. */
	keyline = p->lineno;
	if (!take_continuations(p, &lbuf, &lcap)) {
		errf(p, keyline, "out of memory");
		goto done;
	}
	snprintf(out, sizeof(out), "%s=" VALUE_TOKEN "\n", keybuf);
done:
	free(lbuf);
	memcpy(str, out, strlen(out) + 1);
	return str;
}

/*
 * inih's handler: called right after the reader returned a key line, so
 * the parser holds its value, line and section.  Always "success": the
 * problems are collected in the parser, not left to inih.
 */
static int
handler(void *user, const char *section, const char *name,
    const char *value)
{
	struct parse	*p = user;
	size_t		 i;

	(void)section;
	if (strcmp(value, VALUE_TOKEN) != 0 || p->value == NULL) {
		errf(p, p->key_line, "internal error: unexpected value");
		return 1;
	}
	if (p->sect == SECT_SKIP)
		return 1;	/* its header was reported */
	if (p->sect == SECT_NONE) {
		errf(p, p->key_line, "%.40s: key outside any section", name);
		return 1;
	}
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if (keys[i].sect != p->sect || strcasecmp(keys[i].name, name))
			continue;
		if (p->seen_line[i] != 0) {
			errf(p, p->key_line, "duplicate key %s (first on line "
			    "%d)", keys[i].name, p->seen_line[i]);
			return 1;
		}
		p->seen_line[i] = p->key_line;
		keys[i].set(p, p->value, p->key_line);
		return 1;
	}
	errf(p, p->key_line, "unknown key %.40s in %s", name, sect_title(p));
	return 1;
}

/* ------------------------------------------------------------------ */
/* Checks of the whole                                                */
/* ------------------------------------------------------------------ */

static bool
is_wildcard(const struct sockaddr *sa)
{
	static const struct in6_addr any6 = IN6ADDR_ANY_INIT;

	if (sa->sa_family == AF_INET)
		return ((const struct sockaddr_in *)sa)->sin_addr.s_addr ==
		    htonl(INADDR_ANY);
	if (sa->sa_family == AF_INET6)
		return memcmp(&((const struct sockaddr_in6 *)sa)->sin6_addr,
		    &any6, sizeof(any6)) == 0;
	return false;
}

static bool
is_loopback(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr)
		    >> 24) == 127;
	if (sa->sa_family == AF_INET6)
		return IN6_IS_ADDR_LOOPBACK(
		    &((const struct sockaddr_in6 *)sa)->sin6_addr);
	return false;
}

/* The IPv4 form of an IPv4-mapped address, else a copy of sa. */
static void
fold(const struct sockaddr *sa, struct sockaddr_storage *out)
{
	struct sockaddr_in	 v4;

	memset(out, 0, sizeof(*out));
	if (addr_unmap_v4(sa, &v4))
		memcpy(out, &v4, sizeof(v4));
	else
		memcpy(out, sa, addr_len(sa));
}

static uint16_t
port_of(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return ((const struct sockaddr_in *)sa)->sin_port;
	if (sa->sa_family == AF_INET6)
		return ((const struct sockaddr_in6 *)sa)->sin6_port;
	return 0;
}

/*
 * Would sending to u reach the proxy's own listen address l?  Same port
 * and family (IPv4-mapped folded), and the same address, or l a wildcard
 * of the family and u a loopback address of that family.
 */
static bool
is_self(const struct sockaddr *l, const struct sockaddr *u)
{
	struct sockaddr_storage	 a, b;

	fold(l, &a);
	fold(u, &b);
	if (a.ss_family != b.ss_family)
		return false;
	if (addr_equal((struct sockaddr *)&a, (struct sockaddr *)&b))
		return true;
	if (port_of((struct sockaddr *)&a) != port_of((struct sockaddr *)&b))
		return false;
	return is_wildcard((struct sockaddr *)&a) &&
	    is_loopback((struct sockaddr *)&b);
}

/*
 * Would binding both a and b (TCP) clash?  Same family and port, and the
 * same address or one of them a wildcard.
 */
static bool
binds_clash(const struct sockaddr *a, const struct sockaddr *b)
{
	struct sockaddr_storage	 x, y;

	fold(a, &x);
	fold(b, &y);
	if (x.ss_family != y.ss_family ||
	    port_of((struct sockaddr *)&x) != port_of((struct sockaddr *)&y))
		return false;
	return addr_equal((struct sockaddr *)&x, (struct sockaddr *)&y) ||
	    is_wildcard((struct sockaddr *)&x) ||
	    is_wildcard((struct sockaddr *)&y);
}

static bool
is_any_listen(const struct config *c, const struct sockaddr *u)
{
	size_t	 i;

	for (i = 0; i < c->nlisten; i++)
		if (is_self((const struct sockaddr *)&c->listen[i], u))
			return true;
	return false;
}

/*
 * The first "nameserver" of resolv_conf that is not one of c's listen
 * addresses, port 53.  A scoped IPv6 address ("fe80::1%eth0") is skipped,
 * so is 0.0.0.0.  0, or -1 and why (cap bytes).
 */
static int
upstream_from_resolv(const struct config *c, const char *path,
    struct sockaddr_storage *out, char *why, size_t cap)
{
	FILE		*fp;
	char		 line[512], *s, *tok, *save = NULL;
	int		 seen = 0;
	struct sockaddr_storage ss;

	if ((fp = fopen(path, "r")) == NULL) {
		snprintf(why, cap, "%s: cannot open: %s", path,
		    strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), fp) != NULL) {
		s = line;
		while (*s == ' ' || *s == '\t')
			s++;
		if (strncmp(s, "nameserver", 10) != 0 ||
		    (s[10] != ' ' && s[10] != '\t'))
			continue;
		tok = strtok_r(s + 10, " \t\r\n#;", &save);
		if (tok == NULL)
			continue;
		memset(&ss, 0, sizeof(ss));
		if (strchr(tok, '%') != NULL)
			continue;	/* a link-local address with a scope */
		if (inet_pton(AF_INET, tok,
		    &((struct sockaddr_in *)&ss)->sin_addr) == 1) {
			ss.ss_family = AF_INET;
			((struct sockaddr_in *)&ss)->sin_port = htons(53);
		} else if (inet_pton(AF_INET6, tok,
		    &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1) {
			ss.ss_family = AF_INET6;
			((struct sockaddr_in6 *)&ss)->sin6_port = htons(53);
		} else
			continue;
		seen++;
		if (is_wildcard((struct sockaddr *)&ss))
			continue;
		if (is_any_listen(c, (struct sockaddr *)&ss))
			continue;
		fclose(fp);
		*out = ss;
		return 0;
	}
	fclose(fp);
	if (seen == 0)
		snprintf(why, cap, "%s has no nameserver line", path);
	else
		snprintf(why, cap, "no nameserver in %s that is not this "
		    "proxy itself", path);
	return -1;
}

/*
 * The checks that need the whole file: a [dns64] section when the file
 * has none, the upstream (from resolv.conf if the file sets none) and
 * that it is not the proxy itself, a stats address apart from the DNS
 * ones.  from_file: the text came from a configuration (else: the
 * built-in defaults).
 */
static void
check_whole(struct parse *p, bool from_file)
{
	struct config	*c = &p->c;
	char		 why[CONFIG_ERR_LEN], buf[64];
	size_t		 i, j;

	if (c->nsections == 0) {
		dns64_section_defaults(&c->sections[0]);
		c->nsections = 1;
	}

	if (!p->upstream_set) {
		if (upstream_from_resolv(c, p->resolv_conf, &c->upstream[0],
		    why, sizeof(why)) == 0) {
			c->nupstream = 1;
			p->upstream_line[0] = 0;
		} else if (from_file)
			errf(p, 0, "no upstream: set [server] upstream (%s)",
			    why);
		else
			errf(p, 0, "no upstream: %s; set [server] upstream in "
			    "a configuration file", why);
	}

	for (i = 0; i < c->nupstream; i++)
		for (j = 0; j < c->nlisten; j++)
			if (is_self((struct sockaddr *)&c->listen[j],
			    (struct sockaddr *)&c->upstream[i])) {
				addr_format((struct sockaddr *)&c->upstream[i],
				    buf, sizeof(buf));
				errf(p, p->upstream_line[i], "upstream %s is "
				    "a listen address of this proxy: it would "
				    "forward to itself", buf);
				break;
			}

	if (c->stats_set)
		for (j = 0; j < c->nlisten; j++) {
			const struct sockaddr *s =
			    (const struct sockaddr *)&c->stats_listen;

			if (binds_clash((struct sockaddr *)&c->listen[j], s)) {
				addr_format(s, buf, sizeof(buf));
				errf(p, p->stats_line, "listen %s is also a "
				    "DNS listen address", buf);
				break;
			}
		}
}

/* ------------------------------------------------------------------ */
/* Loading                                                            */
/* ------------------------------------------------------------------ */

/* The defaults of everything but the upstream and the [dns64] section,
 * which depend on the file (see check_whole()). */
static void
defaults_base(struct config *c)
{
	static const char *const allow[] = { "127.0.0.0/8", "::1/128",
	    "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16",
	    "100.64.0.0/10", "fc00::/7", "fe80::/10" };
	size_t	 i;

	memset(c, 0, sizeof(*c));
	(void)addr_parse_endpoint("127.0.0.1", 53, &c->listen[0]);
	(void)addr_parse_endpoint("::1", 53, &c->listen[1]);
	c->nlisten = 2;
	c->timeout_ms = 1500;
	c->attempts = 3;
	for (i = 0; i < sizeof(allow) / sizeof(allow[0]); i++)
		(void)addr_parse_cidr(allow[i], &c->allow[c->nallow++]);
	c->workers = 1;
	c->log_level = LOGLEVEL_INFO;
	c->log_queries = false;
	c->cache_entries = 0;
	c->stats_set = false;
}

static void
errors_reset(struct config_errors *e)
{
	e->n = 0;
	e->dropped = 0;
}

/*
 * Parse text (len bytes) named name into *c, with the upstream from
 * resolv_conf when the text sets none.  text NULL: the built-in
 * defaults.  0 and *c written, or -1 with the problems in errs.
 */
static int
load(struct config *c, const char *text, size_t len, const char *name,
    const char *resolv_conf, struct config_errors *errs)
{
	struct parse	*p;
	int		 rc;

	if ((p = calloc(1, sizeof(*p))) == NULL) {
		if (errs != NULL) {
			errors_reset(errs);
			snprintf(errs->msg[0], CONFIG_ERR_LEN, "%s: out of "
			    "memory", name);
			errs->n = 1;
		}
		return -1;
	}
	p->errs = errs != NULL ? errs : &p->scratch;
	errors_reset(p->errs);
	p->name = name;
	p->resolv_conf = resolv_conf != NULL ? resolv_conf :
	    DEFAULT_RESOLV_CONF;
	p->text = text != NULL ? text : "";
	p->len = text != NULL ? len : 0;
	defaults_base(&p->c);

	rc = ini_parse_stream(reader, p, handler, p);
	if (rc == -2)
		errf(p, 0, "out of memory");
	else if (rc != 0 && p->nerr == 0)
		errf(p, 0, "cannot parse (inih error at line %d)", rc);
	check_whole(p, text != NULL);

	rc = p->nerr == 0 ? 0 : -1;
	if (rc == 0)
		*c = p->c;
	free(p->value);
	free(p);
	return rc;
}

int
config_defaults(struct config *c, const char *resolv_conf,
    struct config_errors *errs)
{
	return load(c, NULL, 0, resolv_conf != NULL ? resolv_conf :
	    DEFAULT_RESOLV_CONF, resolv_conf, errs);
}

int
config_load_string(struct config *c, const char *text, const char *name,
    const char *resolv_conf, struct config_errors *errs)
{
	return load(c, text, strlen(text), name != NULL ? name : "(string)",
	    resolv_conf, errs);
}

/* One error, from outside a parse. */
static void
error1(struct config_errors *errs, const char *path, const char *what,
    const char *reason)
{
	if (errs == NULL)
		return;
	errors_reset(errs);
	snprintf(errs->msg[0], CONFIG_ERR_LEN, "%s: %s: %s", path, what,
	    reason);
	errs->n = 1;
}

int
config_load_file(struct config *c, const char *path, const char *resolv_conf,
    struct config_errors *errs)
{
	FILE		*fp;
	char		*text;
	size_t		 n;
	int		 rc, saved;

	if ((fp = fopen(path, "r")) == NULL) {
		error1(errs, path, "cannot open", strerror(errno));
		return -1;
	}
	if ((text = malloc(CONFIG_MAX_FILE + 1)) == NULL) {
		fclose(fp);
		error1(errs, path, "cannot read", "out of memory");
		return -1;
	}
	n = fread(text, 1, CONFIG_MAX_FILE + 1, fp);
	if (ferror(fp)) {
		saved = errno;
		fclose(fp);
		free(text);
		error1(errs, path, "cannot read", strerror(saved));
		return -1;
	}
	fclose(fp);
	if (n > CONFIG_MAX_FILE) {
		free(text);
		error1(errs, path, "cannot read", "larger than 1 MiB");
		return -1;
	}
	text[n] = '\0';
	rc = load(c, text, n, path, resolv_conf, errs);
	free(text);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Using it                                                           */
/* ------------------------------------------------------------------ */

/* The address to match clients by: IPv4-mapped IPv6 as IPv4. */
static const struct sockaddr *
client_key(const struct sockaddr *sa, struct sockaddr_in *tmp)
{
	if (sa->sa_family == AF_INET6 && addr_unmap_v4(sa, tmp))
		return (const struct sockaddr *)tmp;
	return sa;
}

/*
 * The section serving sa: the longest `clients` range that holds it; on
 * a tie the first section in the file.  An IPv4-mapped IPv6 client is
 * matched as the IPv4 client it is.  NULL: no section (plain forwarding).
 */
const struct dns64_section *
config_section_for(const struct config *c, const struct sockaddr *sa)
{
	const struct dns64_section *best = NULL;
	const struct sockaddr *k;
	struct sockaddr_in tmp;
	size_t		 i, j;
	int		 bestlen = -1;

	k = client_key(sa, &tmp);
	for (i = 0; i < c->nsections; i++)
		for (j = 0; j < c->sections[i].nclients; j++)
			if ((int)c->sections[i].clients[j].len > bestlen &&
			    addr_cidr_contains(&c->sections[i].clients[j], k)) {
				best = &c->sections[i];
				bestlen = (int)c->sections[i].clients[j].len;
			}
	return best;
}

/* May sa query at all?  `allow`, IPv4-mapped matched as IPv4. */
bool
config_client_allowed(const struct config *c, const struct sockaddr *sa)
{
	const struct sockaddr *k;
	struct sockaddr_in tmp;
	size_t		 i;

	k = client_key(sa, &tmp);
	for (i = 0; i < c->nallow; i++)
		if (addr_cidr_contains(&c->allow[i], k))
			return true;
	return false;
}

/* ------------------------------------------------------------------ */
/* Dump                                                               */
/* ------------------------------------------------------------------ */

static void
dump_cidrs(FILE *fp, const char *key, const struct cidr *arr, size_t n)
{
	char	 buf[64];
	size_t	 i;

	fprintf(fp, "%s =", key);
	for (i = 0; i < n; i++) {
		addr_format_cidr(&arr[i], buf, sizeof(buf));
		fprintf(fp, " %s", buf);
	}
	fprintf(fp, "\n");
}

static void
dump_endpoints(FILE *fp, const char *key, const struct sockaddr_storage *arr,
    size_t n)
{
	char	 buf[64];
	size_t	 i;

	fprintf(fp, "%s =", key);
	for (i = 0; i < n; i++) {
		addr_format((const struct sockaddr *)&arr[i], buf, sizeof(buf));
		fprintf(fp, " %s", buf);
	}
	fprintf(fp, "\n");
}

static void
dump_string(FILE *fp, const char *key, const char *v)
{
	if (v[0] != '\0')
		fprintf(fp, "%s = %s\n", key, v);
	else
		fprintf(fp, "; %s: not set\n", key);
}

static const char *
yesno(bool b)
{
	return b ? "yes" : "no";
}

/*
 * One prefix and, as a comment, what it makes of 192.0.2.33 (the example
 * of RFC 6052 2.4) and whether the section would synthesize it.
 */
static void
dump_prefix_example(FILE *fp, const struct dns64_section *s,
    const struct dns64_prefix *pf)
{
	char		 pbuf[INET6_ADDRSTRLEN], abuf[INET6_ADDRSTRLEN];
	struct in_addr	 v4;
	struct in6_addr	 a;

	inet_ntop(AF_INET6, &pf->addr, pbuf, sizeof(pbuf));
	inet_pton(AF_INET, "192.0.2.33", &v4);
	if (dns64_embed(pf, v4, &a) == -1) {
		fprintf(fp, "; %s/%u: cannot embed\n", pbuf, pf->len);
		return;
	}
	inet_ntop(AF_INET6, &a, abuf, sizeof(abuf));
	fprintf(fp, "; %s/%u: 192.0.2.33 -> %s%s\n", pbuf, pf->len, abuf,
	    dns64_maps(s, pf, v4) ? "" : s->mapped_set ?
	    " (not synthesized: outside mapped)" :
	    " (not synthesized: not global, RFC 6052 3.1)");
}

/*
 * The effective configuration as INI text that loads back to the same
 * configuration; defaults included, unset optional keys as comments.
 */
void
config_dump(const struct config *c, FILE *fp)
{
	char		 buf[64];
	size_t		 i, j;
	const struct dns64_section *s;

	fprintf(fp, "[server]\n");
	dump_endpoints(fp, "listen", c->listen, c->nlisten);
	dump_endpoints(fp, "upstream", c->upstream, c->nupstream);
	fprintf(fp, "timeout = %u\n", c->timeout_ms);
	fprintf(fp, "attempts = %u\n", c->attempts);
	dump_cidrs(fp, "allow", c->allow, c->nallow);
	dump_string(fp, "user", c->user);
	dump_string(fp, "group", c->group);
	dump_string(fp, "pidfile", c->pidfile);
	fprintf(fp, "workers = %u\n", c->workers);

	for (i = 0; i < c->nsections; i++) {
		s = &c->sections[i];
		fprintf(fp, "\n[dns64%s%s]\n", s->name[0] ? " " : "", s->name);
		fprintf(fp, "prefix =");
		for (j = 0; j < s->nprefixes; j++) {
			inet_ntop(AF_INET6, &s->prefixes[j].addr, buf,
			    sizeof(buf));
			fprintf(fp, " %s/%u", buf, s->prefixes[j].len);
		}
		fprintf(fp, "\n");
		for (j = 0; j < s->nprefixes; j++)
			dump_prefix_example(fp, s, &s->prefixes[j]);
		if (s->nexclude > 0)
			dump_cidrs(fp, "exclude", s->exclude, s->nexclude);
		else
			fprintf(fp, "; exclude: none\n");
		if (s->mapped_set)
			dump_cidrs(fp, "mapped", s->mapped, s->nmapped);
		else
			fprintf(fp, "; mapped: not set (every A record; "
			    "global ones only with 64:ff9b::/96)\n");
		fprintf(fp, "synthall = %s\n", yesno(s->synthall));
		fprintf(fp, "on_error = %s\n", yesno(s->on_error));
		for (j = 0; j < sizeof(reverse_modes) / sizeof(reverse_modes[0]);
		    j++)
			if (reverse_modes[j].mode == s->reverse)
				fprintf(fp, "reverse = %s\n",
				    reverse_modes[j].name);
		fprintf(fp, "parallel = %s\n", yesno(s->parallel));
		dump_cidrs(fp, "clients", s->clients, s->nclients);
	}

	fprintf(fp, "\n[log]\n");
	fprintf(fp, "level = %s\n", (unsigned)c->log_level <
	    sizeof(level_names) / sizeof(level_names[0]) ?
	    level_names[c->log_level] : "?");
	fprintf(fp, "queries = %s\n", yesno(c->log_queries));
	fprintf(fp, "\n[cache]\n");
	fprintf(fp, "entries = %u\n", c->cache_entries);
	fprintf(fp, "\n[stats]\n");
	if (c->stats_set) {
		addr_format((const struct sockaddr *)&c->stats_listen, buf,
		    sizeof(buf));
		fprintf(fp, "listen = %s\n", buf);
	} else
		fprintf(fp, "; listen: not set\n");
}
