/*
 * main.c: dns64proxy, a transparent DNS64 forwarding proxy (RFC 6147).
 *
 * main() is a checklist: parse the command line, read and check the
 * configuration before anything else, bind the listening sockets, become a
 * daemon, set up signals as loop events, run, drain, clean up.
 */
#include "acconfig.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <ev.h>

#include "config.h"
#include "listener.h"
#include "log.h"
#include "query.h"

#define DEFAULT_CONFIG	SYSCONFDIR "/dns64proxy.conf"
#define MAX_INFLIGHT	4096
#define MAX_TCP		256

enum exit_code {
	EXIT_OK = 0,
	EXIT_CONFIG = 1,
	EXIT_USAGE = 2,
	EXIT_STARTUP = 3
};

static const char *config_path;		/* NULL: built-in defaults */

static void
usage(FILE *fp)
{
	fprintf(fp, "usage: dns64proxy [-c file] [-f] [-t] [-v]... [-V] "
	    "[-h]\n"
	    "  -c file  configuration file (default %s)\n"
	    "  -f       stay in the foreground, log to stderr\n"
	    "  -t       check the configuration and exit\n"
	    "  -v       more logging (repeatable); with -t, print the "
	    "configuration\n"
	    "  -V       print the version and exit\n"
	    "  -h       print this help and exit\n", DEFAULT_CONFIG);
}

/*
 * Load the configuration: the file named with -c (which must be readable),
 * else the default file if it exists, else the built-in defaults.  On
 * failure every problem is printed or logged and -1 returned.
 */
static int
load_config(struct config *c, bool named, bool to_log)
{
	struct config_errors errs;
	int		 rc;
	size_t		 i;

	memset(&errs, 0, sizeof(errs));
	if (named || access(config_path, F_OK) == 0)
		rc = config_load_file(c, config_path, NULL, &errs);
	else
		rc = config_defaults(c, NULL, &errs);
	if (rc == 0)
		return 0;
	for (i = 0; i < errs.n; i++) {
		if (to_log)
			log_error("%s", errs.msg[i]);
		else
			fprintf(stderr, "%s\n", errs.msg[i]);
	}
	if (errs.dropped > 0) {
		if (to_log)
			log_error("(%zu more errors)", errs.dropped);
		else
			fprintf(stderr, "(%zu more errors)\n", errs.dropped);
	}
	return -1;
}

/* Log level from the configuration, raised by each -v. */
static enum log_level
effective_level(const struct config *c, int verbose)
{
	int	 lv = (int)c->log_level + verbose;

	return lv > LOGLEVEL_DEBUG ? LOGLEVEL_DEBUG : (enum log_level)lv;
}

static int	 verbose;
static bool	 named_config;

/* Make room for a socket per query in flight. */
static unsigned
raise_fd_limit(void)
{
	struct rlimit	 rl;
	unsigned	 want = MAX_INFLIGHT + MAX_TCP + 64;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return 64;
	if (rl.rlim_cur < want) {
		rl.rlim_cur = rl.rlim_max < want ? rl.rlim_max : want;
		setrlimit(RLIMIT_NOFILE, &rl);
		getrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur < MAX_TCP + 64 + 64)
		return 64;
	return (unsigned)(rl.rlim_cur - MAX_TCP - 64) < MAX_INFLIGHT ?
	    (unsigned)(rl.rlim_cur - MAX_TCP - 64) : MAX_INFLIGHT;
}

static void
write_pidfile(const char *path)
{
	FILE	*fp;

	if (path[0] == '\0')
		return;
	if ((fp = fopen(path, "w")) == NULL) {
		log_warn("cannot write pidfile %s", path);
		return;
	}
	fprintf(fp, "%ld\n", (long)getpid());
	fclose(fp);
}

/* SIGHUP: parse a whole new file; keep the old configuration on error. */
static void
sighup_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct proxy	*px = w->data;
	struct config	*c;
	struct cfgref	*r;
	size_t		 i;

	(void)loop;
	(void)revents;
	if ((c = malloc(sizeof(*c))) == NULL) {
		log_warnx("reload: out of memory; keeping the configuration");
		return;
	}
	if (load_config(c, named_config, true) < 0) {
		log_warnx("reload failed; keeping the running configuration");
		free(c);
		return;
	}
	if (c->nlisten != px->cfg->c.nlisten)
		log_warnx("reload: listen addresses change only on restart");
	else
		for (i = 0; i < c->nlisten; i++)
			if (!addr_equal((struct sockaddr *)&c->listen[i],
			    (struct sockaddr *)&px->cfg->c.listen[i]))
				log_warnx("reload: listen addresses change "
				    "only on restart");
	if ((r = cfgref_new(c)) == NULL) {
		free(c);
		return;
	}
	/* Listening sockets stay as they are. */
	r->c.nlisten = px->cfg->c.nlisten;
	memcpy(r->c.listen, px->cfg->c.listen, sizeof(r->c.listen));
	free(c);
	cfgref_put(px->cfg);
	px->cfg = r;
	log_setlevel(effective_level(&r->c, verbose));
	log_info("configuration reloaded");
}

static void
stop_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)w;
	(void)revents;
	log_warnx("queries still in flight at the drain deadline");
	ev_break(loop, EVBREAK_ALL);
}

/* SIGTERM/SIGINT: stop taking queries, answer those in flight, exit. */
static void
sigterm_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct proxy	*px = w->data;
	const struct config *c = &px->cfg->c;
	size_t		 i;

	(void)revents;
	if (px->stopping)
		return;
	log_info("stopping: %u queries in flight", px->ninflight);
	px->stopping = true;
	for (i = 0; i < px->nlisteners; i++)
		listener_stop(&px->listeners[i]);
	if (px->ninflight == 0) {
		ev_break(loop, EVBREAK_ALL);
		return;
	}
	/* Two full query lifetimes (AAAA then A), and a second of slack. */
	ev_timer_init(&px->stop_timer, stop_timer_cb,
	    2.0 * c->attempts * c->timeout_ms / 1000.0 + 1.0, 0.);
	ev_timer_start(loop, &px->stop_timer);
}

static void
sigusr1_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct proxy	*px = w->data;
	const struct stats *s = &px->stats;

	(void)loop;
	(void)revents;
	log_info("counters: queries udp=%llu tcp=%llu; answers noerror=%llu "
	    "servfail=%llu nxdomain=%llu refused=%llu formerr=%llu; "
	    "synthesized aaaa=%llu ptr=%llu local=%llu; upstream "
	    "timeouts=%llu failovers=%llu dropped=%llu; client dropped=%llu "
	    "refused=%llu overload=%llu; in flight %u",
	    (unsigned long long)s->queries_udp,
	    (unsigned long long)s->queries_tcp,
	    (unsigned long long)s->answers_rcode[0],
	    (unsigned long long)s->answers_rcode[2],
	    (unsigned long long)s->answers_rcode[3],
	    (unsigned long long)s->answers_rcode[5],
	    (unsigned long long)s->answers_rcode[1],
	    (unsigned long long)s->synth_aaaa,
	    (unsigned long long)s->synth_ptr,
	    (unsigned long long)s->local_answers,
	    (unsigned long long)s->upstream_timeouts,
	    (unsigned long long)s->failovers,
	    (unsigned long long)s->dropped_upstream,
	    (unsigned long long)s->dropped_client,
	    (unsigned long long)s->refused,
	    (unsigned long long)s->overload, px->ninflight);
}

int
main(int argc, char *argv[])
{
	struct config	*cfg;
	struct proxy	 px;
	ev_signal	 sig_hup, sig_term, sig_int, sig_usr1;
	bool		 check_only = false, foreground = false;
	size_t		 i;
	int		 ch;

	config_path = DEFAULT_CONFIG;
	while ((ch = getopt(argc, argv, "c:ftvVh")) != -1) {
		switch (ch) {
		case 'c':
			config_path = optarg;
			named_config = true;
			break;
		case 'f':
			foreground = true;
			break;
		case 't':
			check_only = true;
			break;
		case 'v':
			verbose++;
			break;
		case 'V':
			printf("dns64proxy %s\n", PACKAGE_VERSION);
			return EXIT_OK;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "dns64proxy: unexpected argument: %s\n",
		    argv[optind]);
		usage(stderr);
		return EXIT_USAGE;
	}

	/* The configuration is read and checked before anything else. */
	if ((cfg = malloc(sizeof(*cfg))) == NULL) {
		fprintf(stderr, "dns64proxy: out of memory\n");
		return EXIT_STARTUP;
	}
	if (load_config(cfg, named_config, false) < 0)
		return EXIT_CONFIG;
	if (check_only) {
		if (verbose > 0)
			config_dump(cfg, stdout);
		printf("%s: configuration OK\n",
		    named_config || access(config_path, F_OK) == 0 ?
		    config_path : "built-in defaults");
		return EXIT_OK;
	}
	log_init(1, effective_level(cfg, verbose));
	signal(SIGPIPE, SIG_IGN);

	memset(&px, 0, sizeof(px));
	px.max_inflight = raise_fd_limit();
	px.max_tcp = MAX_TCP;
	if ((px.cfg = cfgref_new(cfg)) == NULL)
		fatalx("out of memory");
	free(cfg);
	cfg = &px.cfg->c;
	px.nlisteners = cfg->nlisten;
	if ((px.listeners = calloc(px.nlisteners,
	    sizeof(*px.listeners))) == NULL)
		fatalx("out of memory");
	for (i = 0; i < cfg->nlisten; i++)
		if (listener_bind(&px.listeners[i], &cfg->listen[i]) < 0)
			exit(EXIT_STARTUP);

	if (!foreground) {
		if (daemon(0, 0) < 0)
			fatal("daemon");
		log_to_syslog();
	}
	write_pidfile(cfg->pidfile);

	px.loop = ev_default_loop(EVFLAG_AUTO);
	if (px.loop == NULL)
		fatalx("cannot start the event loop");
	for (i = 0; i < px.nlisteners; i++) {
		listen_udp_start(&px.listeners[i], &px);
		listen_tcp_start(&px.listeners[i], &px);
	}
	ev_signal_init(&sig_hup, sighup_cb, SIGHUP);
	ev_signal_init(&sig_term, sigterm_cb, SIGTERM);
	ev_signal_init(&sig_int, sigterm_cb, SIGINT);
	ev_signal_init(&sig_usr1, sigusr1_cb, SIGUSR1);
	sig_hup.data = sig_term.data = sig_int.data = sig_usr1.data = &px;
	ev_signal_start(px.loop, &sig_hup);
	ev_signal_start(px.loop, &sig_term);
	ev_signal_start(px.loop, &sig_int);
	ev_signal_start(px.loop, &sig_usr1);

	log_info("dns64proxy %s started: %zu listen addresses, %zu "
	    "upstreams, %zu dns64 sections", PACKAGE_VERSION, cfg->nlisten,
	    cfg->nupstream, cfg->nsections);
	ev_run(px.loop, 0);

	log_info("stopped");
	for (i = 0; i < px.nlisteners; i++)
		listener_close(&px.listeners[i]);
	free(px.listeners);
	if (px.cfg->c.pidfile[0] != '\0')
		unlink(px.cfg->c.pidfile);
	cfgref_put(px.cfg);
	ev_loop_destroy(px.loop);
	return EXIT_OK;
}
