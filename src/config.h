/*
 * config.h: the configuration of dns64proxy, read from an INI file with
 * inih and validated as a whole.  Pure code: no sockets, no logging, no
 * exit.  A struct config is self-contained (fixed arrays, no pointers), so
 * it can be copied, compared and swapped on reload.
 */
#ifndef DNS64PROXY_CONFIG_H
#define DNS64PROXY_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/socket.h>

#include "addr.h"
#include "dns64.h"

#define CONFIG_MAX_LISTEN	16
#define CONFIG_MAX_UPSTREAM	8
#define CONFIG_MAX_ALLOW	64
#define CONFIG_MAX_SECTIONS	16
#define CONFIG_MAX_ERRORS	32
#define CONFIG_ERR_LEN		256

enum log_level { LOGLEVEL_ERROR, LOGLEVEL_WARNING, LOGLEVEL_INFO,
	LOGLEVEL_DEBUG };

struct config {
	/* [server] */
	struct sockaddr_storage listen[CONFIG_MAX_LISTEN];
	size_t		nlisten;
	struct sockaddr_storage upstream[CONFIG_MAX_UPSTREAM];
	size_t		nupstream;
	unsigned	timeout_ms;		/* default 1500, 10..60000 */
	unsigned	attempts;		/* default 3, 1..20 */
	struct cidr	allow[CONFIG_MAX_ALLOW];
	size_t		nallow;
	char		user[64];		/* "" when not set */
	char		group[64];
	int		user_line, group_line;	/* where set, for -t */
	char		pidfile[256];
	unsigned	workers;		/* default 1, 1..64 */
	/* [dns64] and [dns64 NAME], in file order */
	struct dns64_section sections[CONFIG_MAX_SECTIONS];
	size_t		nsections;
	/* [log] */
	enum log_level	log_level;		/* default info */
	bool		log_queries;
	/* [cache] */
	unsigned	cache_entries;		/* default 0 */
	/* [stats] */
	bool		stats_set;
	struct sockaddr_storage stats_listen;
};

/* Problems found while loading: one "FILE:LINE: message" string each. */
struct config_errors {
	char		msg[CONFIG_MAX_ERRORS][CONFIG_ERR_LEN];
	size_t		n;
	size_t		dropped;	/* beyond CONFIG_MAX_ERRORS */
};

/*
 * The built-in defaults of SPEC.md: listen 127.0.0.1:53 and [::1]:53, one
 * [dns64] section with 64:ff9b::/96, allow loopback and private ranges,
 * upstream from resolv_conf (the first nameserver that is not a listen
 * address).  resolv_conf NULL: /etc/resolv.conf.  0, or -1 with an error.
 */
int	config_defaults(struct config *c, const char *resolv_conf,
	    struct config_errors *errs);

/*
 * Load a file / a string (name used in messages).  Keys not given keep
 * their defaults; `upstream` falls back to resolv_conf when not set.  The
 * whole text is checked; nothing is returned unless all of it is right:
 * 0 and *c filled, or -1 with every problem in errs.  A file that cannot
 * be opened is one error "FILE: cannot open: reason".  errs is emptied
 * first and may be NULL.  Errors of the whole file (no upstream) have
 * no line: "FILE: message".  The language (comments, continuation
 * lines, lines of any length) is described at the top of config.c.
 */
int	config_load_file(struct config *c, const char *path,
	    const char *resolv_conf, struct config_errors *errs);
int	config_load_string(struct config *c, const char *text,
	    const char *name, const char *resolv_conf,
	    struct config_errors *errs);

/* The section serving client sa: longest `clients` match, NULL if none.
 * A tie goes to the section first in the file; an IPv4-mapped IPv6
 * client (::ffff:a.b.c.d) is matched as the IPv4 client it is. */
const struct dns64_section *config_section_for(const struct config *c,
	    const struct sockaddr *sa);

/* May sa query at all (`allow`)?  IPv4-mapped folded as above. */
bool	config_client_allowed(const struct config *c,
	    const struct sockaddr *sa);

/* Print the effective configuration (for -t -v), with what each prefix
 * makes of 192.0.2.33. */
void	config_dump(const struct config *c, FILE *fp);

#endif /* DNS64PROXY_CONFIG_H */
