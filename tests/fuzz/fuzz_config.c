/*
 * fuzz_config.c: libFuzzer entry point for the configuration parser.
 *
 * The input, NUL-terminated, is a configuration text for
 * config_load_string(), with a resolv.conf (a temporary file made once,
 * whose first usable nameserver depends on the listen addresses) or
 * NULL (/etc/resolv.conf, whatever it holds), chosen by the input's
 * length.  A text that loads is
 * dumped (to /dev/null), must load again from its dump to the same
 * sections, and picks sections for a few client addresses; a text that
 * does not load leaves errors that are NUL-terminated "NAME..." lines.
 *
 *   clang -g -fsanitize=fuzzer,address,undefined -Isrc \
 *	tests/fuzz/fuzz_config.c src/wire.c src/msg.c src/addr.c \
 *	src/dns64.c src/config.c src/stats.c -linih -o fuzz_config
 *   ./fuzz_config tests/fuzz/corpus/config
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "addr.h"
#include "config.h"
#include "dns64.h"

int	LLVMFuzzerInitialize(int *argc, char ***argv);
int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)	do { if (!(c)) abort(); } while (0)
#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

static char	 resolv_path[64];
static FILE	*devnull;
static struct sockaddr_storage clients[8];
static size_t	 nclients;

/* Remove the temporary resolv.conf when the fuzzer exits. */
static void
cleanup(void)
{
	if (resolv_path[0] != '\0')
		(void)unlink(resolv_path);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const char *const addrs[] = { "127.0.0.1", "10.1.2.3",
	    "192.0.2.1", "[::1]", "[2001:db8:1::5]", "[::ffff:10.1.2.3]",
	    "[fe80::1]", "0.0.0.0" };
	/* skipped (scoped, wildcard), then 127.0.0.1, which the default
	 * listen address rules out, then one that serves */
	static const char ns[] = "# made by fuzz_config\n"
	    "nameserver fe80::1%eth0\n"
	    "nameserver 0.0.0.0\n"
	    "nameserver 127.0.0.1\n"
	    "nameserver 192.0.2.53\n";
	const char	*tmp;
	size_t		 i;
	int		 fd;

	(void)argc;
	(void)argv;
	tmp = getenv("TMPDIR");
	if (tmp == NULL || tmp[0] == '\0' || strlen(tmp) > 32)
		tmp = "/tmp";
	snprintf(resolv_path, sizeof(resolv_path), "%s/fuzzresolvXXXXXX",
	    tmp);
	CHECK((fd = mkstemp(resolv_path)) != -1);
	CHECK(write(fd, ns, sizeof(ns) - 1) == (ssize_t)(sizeof(ns) - 1));
	CHECK(close(fd) == 0);
	atexit(cleanup);
	CHECK((devnull = fopen("/dev/null", "w")) != NULL);
	for (i = 0; i < NELEM(addrs); i++)
		CHECK(addr_parse_endpoint(addrs[i], 53,
		    &clients[nclients++]) == 0);
	return 0;
}

/* What a loaded configuration must satisfy. */
static void
check_config(const struct config *c)
{
	const struct dns64_section *s;
	char		 err[CONFIG_ERR_LEN];
	size_t		 i, j;

	CHECK(c->nlisten >= 1 && c->nlisten <= CONFIG_MAX_LISTEN);
	CHECK(c->nupstream >= 1 && c->nupstream <= CONFIG_MAX_UPSTREAM);
	CHECK(c->nallow <= CONFIG_MAX_ALLOW);
	CHECK(c->nsections >= 1 && c->nsections <= CONFIG_MAX_SECTIONS);
	CHECK(c->timeout_ms >= 10 && c->timeout_ms <= 60000);
	CHECK(c->attempts >= 1 && c->attempts <= 20);
	CHECK(c->workers >= 1 && c->workers <= 64);
	CHECK(memchr(c->user, '\0', sizeof(c->user)) != NULL);
	CHECK(memchr(c->group, '\0', sizeof(c->group)) != NULL);
	CHECK(memchr(c->pidfile, '\0', sizeof(c->pidfile)) != NULL);
	for (i = 0; i < c->nsections; i++) {
		s = &c->sections[i];
		CHECK(memchr(s->name, '\0', sizeof(s->name)) != NULL);
		CHECK(s->nprefixes >= 1 && s->nprefixes <= DNS64_MAX_PREFIXES);
		CHECK(s->nexclude <= DNS64_MAX_CIDRS);
		CHECK(s->nmapped <= DNS64_MAX_CIDRS);
		CHECK(s->nclients <= DNS64_MAX_CIDRS);
		/* the start-up checks hold for every prefix taken */
		for (j = 0; j < s->nprefixes; j++)
			CHECK(dns64_prefix_check(&s->prefixes[j], err,
			    sizeof(err)) == 0);
	}
	for (i = 0; i < nclients; i++) {
		s = config_section_for(c, (struct sockaddr *)&clients[i]);
		CHECK(s == NULL || (s >= c->sections &&
		    s < c->sections + c->nsections));
		(void)config_client_allowed(c, (struct sockaddr *)&clients[i]);
	}
}

/* The dump in a malloc'd string (the caller frees it). */
static char *
dump_string(const struct config *c)
{
	FILE	*fp;
	char	*buf = NULL;
	size_t	 n = 0;

	CHECK((fp = open_memstream(&buf, &n)) != NULL);
	config_dump(c, fp);
	CHECK(fclose(fp) == 0);
	return buf;
}

/* The dump loads back to a configuration that dumps the same. */
static void
roundtrip(const struct config *c)
{
	static struct config	 c2;
	static struct config_errors errs;
	char			*d1, *d2;

	d1 = dump_string(c);
	CHECK(config_load_string(&c2, d1, "dump", resolv_path, &errs) == 0);
	d2 = dump_string(&c2);
	CHECK(strcmp(d1, d2) == 0);
	free(d1);
	free(d2);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct config	 c;
	static struct config_errors errs;
	const char		*resolv;
	char			*text;
	size_t			 i;

	if (size > 64 * 1024)
		return 0;
	CHECK((text = malloc(size + 1)) != NULL);
	if (size > 0)
		memcpy(text, data, size);
	text[size] = '\0';
	/* mostly the temporary file; now and then the system's */
	resolv = size % 8 == 7 ? NULL : resolv_path;

	if (config_load_string(&c, text, "fuzz.conf", resolv, &errs) == 0) {
		check_config(&c);
		config_dump(&c, devnull);
		roundtrip(&c);
	} else {
		CHECK(errs.n >= 1 && errs.n <= CONFIG_MAX_ERRORS);
		for (i = 0; i < errs.n; i++)
			CHECK(memchr(errs.msg[i], '\0', CONFIG_ERR_LEN) !=
			    NULL);
	}
	free(text);
	return 0;
}
