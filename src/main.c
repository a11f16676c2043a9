/*
 * main.c: dns64proxy, a transparent DNS64 forwarding proxy (RFC 6147).
 *
 * main() is a checklist: parse the command line; read and check the whole
 * configuration before anything else; bind every socket; become a daemon;
 * write the pidfile; drop privileges; start the workers; turn signals into
 * loop events; run; drain; clean up.  Nothing exits once the loop runs.
 */
#include "acconfig.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <ev.h>

#include "config.h"
#include "listener.h"
#include "log.h"
#include "query.h"
#include "stats.h"
#include "stats_http.h"
#include "worker.h"

#define DEFAULT_CONFIG	SYSCONFDIR "/dns64proxy.conf"
#define MAX_INFLIGHT	16384	/* per worker */
#define UPSTREAM_POOL	1024	/* UDP sockets per worker and family */
#define MAX_TCP		256	/* per worker */

enum exit_code {
	EXIT_OK = 0,
	EXIT_CONFIG = 1,
	EXIT_USAGE = 2,
	EXIT_STARTUP = 3
};

/* What the main thread keeps: the running configuration and the workers. */
struct daemon {
	const char	*config_path;
	bool		 named_config;	/* -c given */
	int		 verbose;
	struct config	*running;
	struct worker	*workers;
	unsigned	 nworkers;
	struct stats_http *http;
	int		 ready_fd;	/* daemon mode: tells the parent */
	int		 pid_fd;	/* the pidfile, open from before the
					 * privilege drop; -1 without */
	/*
	 * Listen addresses dropped by a reload, and until when their UDP
	 * sockets may linger for the answers to the queries asked on them:
	 * a reload that adds one back meanwhile is tried again later.
	 */
	struct sockaddr_storage gone[CONFIG_MAX_LISTEN];
	ev_tstamp	 gone_until[CONFIG_MAX_LISTEN];
	size_t		 ngone;
	ev_timer	 retry;		/* such a reload, once a second */
};

static struct daemon	d;

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
 * failure every problem is printed (or logged, once running) and -1
 * returned; *c is then untouched.
 */
static int
load_config(struct config *c, bool to_log)
{
	struct config_errors *errs;
	int		 rc;
	size_t		 i;

	if ((errs = calloc(1, sizeof(*errs))) == NULL)
		return -1;
	if (d.named_config || access(d.config_path, F_OK) == 0)
		rc = config_load_file(c, d.config_path, NULL, errs);
	else
		rc = config_defaults(c, NULL, errs);
	for (i = 0; rc != 0 && i < errs->n; i++) {
		if (to_log)
			log_error("%s", errs->msg[i]);
		else
			fprintf(stderr, "%s\n", errs->msg[i]);
	}
	if (rc != 0 && errs->dropped > 0) {
		if (to_log)
			log_error("(%zu more errors)", errs->dropped);
		else
			fprintf(stderr, "(%zu more errors)\n", errs->dropped);
	}
	free(errs);
	return rc == 0 ? 0 : -1;
}

/* Log level from the configuration, raised a step by each -v. */
static enum log_level
effective_level(const struct config *c)
{
	int	 lv = (int)c->log_level + d.verbose;

	return lv > LOGLEVEL_DEBUG ? LOGLEVEL_DEBUG : (enum log_level)lv;
}

/*
 * Raise the open-file limit for the upstream socket pools and the TCP
 * connections of n workers; returns how many UDP sockets each worker's
 * pool may hold per address family (UPSTREAM_POOL at most, 16 at least).
 */
static size_t
raise_fd_limit(unsigned n)
{
	struct rlimit	 rl;
	rlim_t		 per_worker = 2 * UPSTREAM_POOL + 2 * MAX_TCP + 64;
	rlim_t		 want = (rlim_t)n * per_worker + 64, per;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return 16;
	if (rl.rlim_cur < want) {
		rl.rlim_cur = rl.rlim_max < want ? rl.rlim_max : want;
		setrlimit(RLIMIT_NOFILE, &rl);
		getrlimit(RLIMIT_NOFILE, &rl);
	}
	per = rl.rlim_cur > 64 ? (rl.rlim_cur - 64) / n : 0;
	per = per > 2 * MAX_TCP + 64 ? (per - 2 * MAX_TCP - 64) / 2 : 0;
	if (per < 16)
		per = 16;
	if (per < UPSTREAM_POOL)
		log_warnx("open-file limit %llu: %llu upstream sockets per "
		    "worker and address family", (unsigned long long)
		    rl.rlim_cur, (unsigned long long)per);
	return per > UPSTREAM_POOL ? UPSTREAM_POOL : (size_t)per;
}

/*
 * Bind one listener per worker on ss (SO_REUSEPORT when there are
 * several).  Fills out[0..nworkers); 0, or -1 with nothing left open.
 */
static int
bind_address(const struct sockaddr_storage *ss, unsigned nworkers,
    struct listener **out)
{
	unsigned	 i;

	/*
	 * SO_REUSEPORT would let the workers' sockets join those another
	 * process (a second instance of the same user) has on ss, and share
	 * its queries: see first that nobody holds it.
	 */
	if (nworkers > 1 && listener_probe(ss) < 0)
		return -1;
	for (i = 0; i < nworkers; i++) {
		if ((out[i] = calloc(1, sizeof(*out[i]))) == NULL ||
		    listener_bind(out[i], ss, nworkers > 1) < 0) {
			free(out[i]);
			while (i-- > 0) {
				listener_close(out[i]);
				free(out[i]);
			}
			return -1;
		}
	}
	return 0;
}

/*
 * Become a daemon: fork, setsid, fork again; the first parent waits until
 * the daemon says it is ready (exit 0) or dies (exit 3), so an init
 * script sees start-up failures.  stdio goes to /dev/null.
 */
static void
daemonize(void)
{
	int	 p[2], fd;
	pid_t	 pid;
	char	 c = 0, *abs;

	/* SIGHUP reads the file again, after the chdir below. */
	if (d.config_path[0] != '/' &&
	    (abs = realpath(d.config_path, NULL)) != NULL)
		d.config_path = abs;
	if (pipe(p) < 0)
		fatal("pipe");
	if ((pid = fork()) < 0)
		fatal("fork");
	if (pid > 0) {
		close(p[1]);
		/* EOF, c still 0: it died before it was ready */
		while (read(p[0], &c, 1) < 0 && errno == EINTR)
			;
		_exit(c == 'R' ? EXIT_OK : EXIT_STARTUP);
	}
	close(p[0]);
	if (setsid() < 0)
		fatal("setsid");
	if ((pid = fork()) < 0)
		fatal("fork");
	if (pid > 0)
		_exit(EXIT_OK);
	d.ready_fd = p[1];
	if (chdir("/") < 0)
		fatal("chdir /");
	umask(022);
	if ((fd = open("/dev/null", O_RDWR)) >= 0) {
		dup2(fd, STDIN_FILENO);
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		if (fd > STDERR_FILENO)
			close(fd);
	}
}

/* Daemon mode: let the waiting parent exit 0. */
static void
report_ready(void)
{
	if (d.ready_fd > 0) {
		(void)write(d.ready_fd, "R", 1);
		close(d.ready_fd);
		d.ready_fd = -1;
	}
}

/* Written while still root; the descriptor stays open for the exit. */
static void
write_pidfile(const char *path)
{
	char	 buf[32];
	int	 n;

	d.pid_fd = -1;
	if (path[0] == '\0')
		return;
	if ((d.pid_fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0644)) < 0)
		fatal("cannot write pidfile %s", path);
	n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (write(d.pid_fd, buf, (size_t)n) != n)
		fatal("cannot write pidfile %s", path);
}

/*
 * Remove the pidfile.  Having dropped root, the process may no longer
 * remove files from its directory (/run): it empties the file through
 * the descriptor opened as root instead, so no stale PID is left.
 */
static void
remove_pidfile(const char *path)
{
	if (d.pid_fd < 0)
		return;
	if (unlink(path) < 0 && errno != ENOENT) {
		if ((errno == EACCES || errno == EPERM) &&
		    ftruncate(d.pid_fd, 0) == 0)
			log_info("pidfile %s emptied: its directory does not "
			    "let this user remove it", path);
		else
			log_warn("cannot remove pidfile %s", path);
	}
	close(d.pid_fd);
	d.pid_fd = -1;
}

/*
 * Drop root for the configured user and group, after every socket is
 * bound.  Not root: nothing to drop (a warning when another user was
 * named).  Refuses to go on as root when a user was named and the drop
 * did not take.
 */
static void
drop_privileges(const struct config *c)
{
	struct passwd	*pw = NULL;
	struct group	*gr;
	uid_t		 uid = geteuid();
	gid_t		 gid = getegid();

	if (c->user[0] == '\0' && c->group[0] == '\0')
		return;
	if (c->user[0] != '\0') {
		if ((pw = getpwnam(c->user)) == NULL)
			fatalx("unknown user %s", c->user);
		uid = pw->pw_uid;
		gid = pw->pw_gid;
	}
	if (c->group[0] != '\0') {
		if ((gr = getgrnam(c->group)) == NULL)
			fatalx("unknown group %s", c->group);
		gid = gr->gr_gid;
	}
	if (geteuid() != 0) {
		if (uid != geteuid() || gid != getegid())
			log_warnx("not started as root: staying uid %ld gid "
			    "%ld", (long)geteuid(), (long)getegid());
		return;
	}
	if (setgroups(1, &gid) < 0 || setresgid(gid, gid, gid) < 0)
		fatal("cannot switch to group %ld", (long)gid);
	if (setresuid(uid, uid, uid) < 0)
		fatal("cannot switch to user %ld", (long)uid);
	if (uid != 0 && (geteuid() == 0 || setuid(0) == 0))
		fatalx("still root after dropping privileges: refusing to run");
	log_info("running as uid %ld gid %ld", (long)uid, (long)gid);
}

/* The counters of every worker, summed (for /metrics and SIGUSR1). */
static void
collect_stats(void *arg, struct stats *sum)
{
	struct stats	 s[64];
	unsigned	 i, n = d.nworkers < 64 ? d.nworkers : 64;

	(void)arg;
	for (i = 0; i < n; i++)
		stats_snapshot(&s[i], &d.workers[i].px.stats);
	stats_sum(sum, s, n);
}

/* Open the /metrics listener configured in c, if any.  -1 on failure. */
static int
stats_open(const struct config *c, struct ev_loop *loop)
{
	int	 fd;
	char	 name[64];

	if (!c->stats_set)
		return 0;
	addr_format((const struct sockaddr *)&c->stats_listen, name,
	    sizeof(name));
	if ((fd = stats_http_bind(&c->stats_listen)) < 0) {
		log_warn("cannot listen on %s for /metrics", name);
		return -1;
	}
	if (loop == NULL)
		return fd;
	if ((d.http = stats_http_start(loop, fd, collect_stats, NULL)) ==
	    NULL) {
		close(fd);
		return -1;
	}
	return 0;
}

/* The port of ss (network order: only compared). */
static uint16_t
ss_port(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET6)
		return ((const struct sockaddr_in6 *)(const void *)ss)->sin6_port;
	return ((const struct sockaddr_in *)(const void *)ss)->sin_port;
}

/* Is ss among the listen addresses of c? */
static bool
config_listens_on(const struct config *c, const struct sockaddr_storage *ss)
{
	size_t	 i;

	for (i = 0; i < c->nlisten; i++)
		if (addr_equal((const struct sockaddr *)&c->listen[i],
		    (const struct sockaddr *)ss))
			return true;
	return false;
}

/*
 * `user` and `group` must name an account of this system: a check that
 * -t makes too, with the line, before a daemon has lost its stderr.
 * 0 / -1 (said on stderr).
 */
static int
check_accounts(const struct config *c)
{
	int	 rc = 0;

	if (c->user[0] != '\0' && getpwnam(c->user) == NULL) {
		fprintf(stderr, "%s:%d: user: no such user: %s\n",
		    d.config_path, c->user_line, c->user);
		rc = -1;
	}
	if (c->group[0] != '\0' && getgrnam(c->group) == NULL) {
		fprintf(stderr, "%s:%d: group: no such group: %s\n",
		    d.config_path, c->group_line, c->group);
		rc = -1;
	}
	return rc;
}

/*
 * SIGHUP: read and check a whole new file.  A bad file, or a new listen
 * address that cannot be bound, leaves everything as it was.  Otherwise
 * new addresses are opened, dropped ones closed, and every worker takes
 * the new configuration for the queries it admits from now on; queries
 * in flight finish under the one they started with.
 */
/*
 * SIGHUP empties the caches even when the new file is refused: an
 * operator sends it to flush them too.
 */
static void
flush_caches(void)
{
	unsigned	 w;

	for (w = 0; w < d.nworkers; w++)
		worker_flush_cache(&d.workers[w]);
}

/* Forget the dropped addresses whose sockets are gone by now. */
static void
gone_expire(ev_tstamp now)
{
	size_t	 i, n = 0;

	for (i = 0; i < d.ngone; i++) {
		if (d.gone_until[i] <= now)
			continue;
		d.gone[n] = d.gone[i];
		d.gone_until[n++] = d.gone_until[i];
	}
	d.ngone = n;
}

/*
 * Was ss dropped by a reload so recently that a socket of its own may
 * still hold it?
 */
static bool
recently_dropped(const struct sockaddr_storage *ss, ev_tstamp now)
{
	size_t	 i;

	gone_expire(now);
	for (i = 0; i < d.ngone; i++)
		if (addr_equal((const struct sockaddr *)ss,
		    (const struct sockaddr *)&d.gone[i]))
			return true;
	return false;
}

/*
 * The longest a query can live under any configuration run so far:
 * queries asked on a dropped address may have started under an older one
 * than the running.
 */
static ev_tstamp
longest_drain(const struct config *c)
{
	static ev_tstamp longest;
	ev_tstamp t = query_life(c);

	if (t > longest)
		longest = t;
	return longest;
}

/* Note the addresses a reload dropped, for as long as they may linger. */
static void
note_dropped(const struct sockaddr_storage *del, size_t ndel,
    const struct config *old, ev_tstamp now)
{
	ev_tstamp until = now + longest_drain(old);
	size_t	 i, j;

	gone_expire(now);
	for (i = 0; i < ndel; i++) {
		for (j = 0; j < d.ngone; j++)
			if (addr_equal((const struct sockaddr *)&del[i],
			    (const struct sockaddr *)&d.gone[j]))
				break;
		if (j == d.ngone) {
			if (d.ngone == CONFIG_MAX_LISTEN)
				continue;
			d.gone[d.ngone++] = del[i];
		}
		d.gone_until[j] = until;
	}
}

static void	reload(bool retry);

static void
retry_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)loop;
	(void)t;
	(void)revents;
	reload(true);
}

/* retry: a reload tried again (see retry_cb), not a SIGHUP's */
static void
reload(bool retry)
{
	struct listener	*add[CONFIG_MAX_LISTEN][64];
	struct sockaddr_storage del[CONFIG_MAX_LISTEN];
	struct config	*c;
	size_t		 nadd = 0, ndel = 0, i;
	unsigned	 w;
	bool		 stats_change;
	int		 http_fd = -1;
	bool		 flush;
	struct ev_loop	*loop = d.workers[0].px.loop;
	ev_tstamp	 now = ev_now(loop);
	char		 name[64];

	ev_timer_stop(loop, &d.retry);	/* this reload takes its place */

	if ((c = malloc(sizeof(*c))) == NULL) {
		log_warnx("reload: out of memory; configuration unchanged");
		flush_caches();
		return;
	}
	if (load_config(c, true) < 0) {
		log_warnx("reload: %s has errors; configuration unchanged",
		    d.config_path);
		free(c);
		flush_caches();
		return;
	}
	if (c->workers != d.running->workers)
		log_warnx("reload: workers changes on restart only");
	if (strcmp(c->user, d.running->user) != 0 ||
	    strcmp(c->group, d.running->group) != 0 ||
	    strcmp(c->pidfile, d.running->pidfile) != 0)
		log_warnx("reload: user, group and pidfile change on restart "
		    "only");
	c->workers = d.running->workers;
	strcpy(c->user, d.running->user);
	strcpy(c->group, d.running->group);
	strcpy(c->pidfile, d.running->pidfile);

	for (i = 0; i < c->nlisten; i++) {
		if (config_listens_on(d.running, &c->listen[i]))
			continue;
		if (bind_address(&c->listen[i], d.nworkers, add[nadd]) < 0) {
			if (!recently_dropped(&c->listen[i], now))
				goto refuse;
			/*
			 * An earlier reload dropped it, and the sockets kept
			 * for the answers to the queries asked there still
			 * hold it: try the whole file again in a second.
			 */
			addr_format((struct sockaddr *)&c->listen[i], name,
			    sizeof(name));
			log_warnx("reload: %s still answers queries asked "
			    "before it was dropped; trying again in 1 s", name);
			ev_timer_set(&d.retry, 1.0, 0.);
			ev_timer_start(loop, &d.retry);
			flush = !retry;	/* the SIGHUP's own flush, once */
			goto drop;
		}
		nadd++;
	}
	/*
	 * A new statistics address is bound before anything changes, like
	 * a new listen address: when it cannot be, the whole file is
	 * refused and the running endpoint stays.  One on the running
	 * endpoint's port (0.0.0.0:P for 127.0.0.1:P, say) is only free once
	 * that is let go: then the running one is stopped first, and opened
	 * again if the new one still cannot be bound.
	 */
	stats_change = c->stats_set != d.running->stats_set ||
	    (c->stats_set && !addr_equal((struct sockaddr *)&c->stats_listen,
	    (struct sockaddr *)&d.running->stats_listen));
	if (stats_change && c->stats_set &&
	    (http_fd = stats_http_bind(&c->stats_listen)) < 0) {
		if (errno == EADDRINUSE && d.http != NULL &&
		    ss_port(&c->stats_listen) ==
		    ss_port(&d.running->stats_listen)) {
			stats_http_stop(d.http);
			d.http = NULL;
			if ((http_fd = stats_http_bind(&c->stats_listen)) < 0)
				(void)stats_open(d.running,
				    d.workers[0].px.loop);
		}
		if (http_fd < 0) {
			log_warn("reload: cannot listen for /metrics");
			goto refuse;
		}
	}
	for (i = 0; i < d.running->nlisten; i++)
		if (!config_listens_on(c, &d.running->listen[i]))
			del[ndel++] = d.running->listen[i];

	if (stats_change) {
		if (d.http != NULL)
			stats_http_stop(d.http);
		d.http = NULL;
		if (http_fd >= 0 && (d.http = stats_http_start(
		    d.workers[0].px.loop, http_fd, collect_stats, NULL)) == NULL) {
			log_warnx("reload: /metrics not served: out of memory");
			close(http_fd);
		}
	}

	for (w = 0; w < d.nworkers; w++) {
		struct listener	*mine[CONFIG_MAX_LISTEN];
		struct cfgref	*r = cfgref_new(c);

		for (i = 0; i < nadd; i++)
			mine[i] = add[i][w];
		worker_post(&d.workers[w], r, mine, nadd, del, ndel, false);
	}
	note_dropped(del, ndel, d.running, now);
	*d.running = *c;
	free(c);
	log_setlevel(effective_level(d.running));
	log_info("configuration reloaded: %zu listen addresses (%zu new, "
	    "%zu closed), %zu upstreams, %zu dns64 sections",
	    d.running->nlisten, nadd, ndel, d.running->nupstream,
	    d.running->nsections);
	return;

refuse:
	log_warnx("reload: configuration unchanged");
	flush = true;
drop:
	while (nadd-- > 0)
		for (w = 0; w < d.nworkers; w++) {
			listener_close(add[nadd][w]);
			free(add[nadd][w]);
		}
	free(c);
	if (flush)
		flush_caches();
}

static void
sighup_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
	(void)loop;
	(void)w;
	(void)revents;
	/* A reload now would open what SIGTERM closed (/metrics). */
	if (d.workers[0].px.stopping) {
		log_info("SIGHUP while stopping: configuration not read");
		return;
	}
	reload(false);
}

/* SIGTERM/SIGINT: stop taking queries, answer those in flight, exit. */
static void
sigterm_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
	unsigned	 i;

	(void)w;
	(void)revents;
	if (d.workers[0].px.stopping)
		return;		/* SIGINT after SIGTERM, or the other way */
	ev_timer_stop(loop, &d.retry);
	log_info("stopping: %u queries in flight on worker 0",
	    d.workers[0].px.ninflight);
	if (d.http != NULL) {
		stats_http_stop(d.http);
		d.http = NULL;
	}
	/*
	 * The watcher stays: stopped, it would give the signal back its
	 * default action, and a second SIGTERM would kill the drain.
	 */
	for (i = 1; i < d.nworkers; i++)
		worker_post(&d.workers[i], NULL, NULL, 0, NULL, 0, true);
	worker_stop(&d.workers[0]);
}

/* SIGUSR1: the counters to the log. */
static void
sigusr1_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct stats	 s;

	(void)loop;
	(void)w;
	(void)revents;
	collect_stats(NULL, &s);
	log_info("counters: queries udp=%llu tcp=%llu; answers noerror=%llu "
	    "formerr=%llu servfail=%llu nxdomain=%llu notimp=%llu "
	    "refused=%llu; synthesized aaaa=%llu ptr=%llu; local=%llu; "
	    "upstream queries=%llu timeouts=%llu failovers=%llu "
	    "late=%llu tcp_wait_expired=%llu tcp_reused=%llu dropped=%llu; "
	    "client dropped=%llu refused=%llu "
	    "overload=%llu; "
	    "in flight=%llu",
	    (unsigned long long)s.queries_udp,
	    (unsigned long long)s.queries_tcp,
	    (unsigned long long)s.answers_rcode[0],
	    (unsigned long long)s.answers_rcode[1],
	    (unsigned long long)s.answers_rcode[2],
	    (unsigned long long)s.answers_rcode[3],
	    (unsigned long long)s.answers_rcode[4],
	    (unsigned long long)s.answers_rcode[5],
	    (unsigned long long)s.synth_aaaa,
	    (unsigned long long)s.synth_ptr,
	    (unsigned long long)s.local_answers,
	    (unsigned long long)s.upstream_queries,
	    (unsigned long long)s.upstream_timeouts,
	    (unsigned long long)s.failovers,
	    (unsigned long long)s.late_upstream,
	    (unsigned long long)s.tcp_wait_expired,
	    (unsigned long long)s.tcp_reused,
	    (unsigned long long)s.dropped_upstream,
	    (unsigned long long)s.dropped_client,
	    (unsigned long long)s.refused,
	    (unsigned long long)s.overload,
	    (unsigned long long)s.inflight);
}

int
main(int argc, char *argv[])
{
	struct listener	*bound[CONFIG_MAX_LISTEN][64];
	struct config	*cfg;
	struct ev_loop	*loop;
	ev_signal	 sig_hup, sig_term, sig_int, sig_usr1;
	bool		 check_only = false, foreground = false;
	unsigned	 w;
	size_t		 pool_sockets;
	int		 ch, stats_fd = -1;
	size_t		 i;

	d.config_path = DEFAULT_CONFIG;
	d.ready_fd = -1;
	while ((ch = getopt(argc, argv, "c:ftvVh")) != -1) {
		switch (ch) {
		case 'c':
			d.config_path = optarg;
			d.named_config = true;
			break;
		case 'f':
			foreground = true;
			break;
		case 't':
			check_only = true;
			break;
		case 'v':
			d.verbose++;
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

	/* 1. The whole configuration, checked before anything else. */
	if ((cfg = malloc(sizeof(*cfg))) == NULL) {
		fprintf(stderr, "dns64proxy: out of memory\n");
		return EXIT_STARTUP;
	}
	if (load_config(cfg, false) < 0) {
		free(cfg);
		return EXIT_CONFIG;
	}
	if (check_accounts(cfg) < 0) {
		free(cfg);
		return EXIT_CONFIG;
	}
	if (check_only) {
		/* with the dump, a comment: the output stays a valid file */
		if (d.verbose > 0)
			config_dump(cfg, stdout);
		printf("%s%s: configuration OK\n", d.verbose > 0 ? "; " : "",
		    d.named_config || access(d.config_path, F_OK) == 0 ?
		    d.config_path : "built-in defaults");
		free(cfg);
		return EXIT_OK;
	}
	d.running = cfg;
	d.nworkers = cfg->workers < 1 ? 1 : cfg->workers;
	if (d.nworkers > 64)
		d.nworkers = 64;
	log_init(1, effective_level(cfg));
	signal(SIGPIPE, SIG_IGN);

	/* 2. Every socket, while still privileged. */
	pool_sockets = raise_fd_limit(d.nworkers);
	for (i = 0; i < cfg->nlisten; i++)
		if (bind_address(&cfg->listen[i], d.nworkers, bound[i]) < 0)
			exit(EXIT_STARTUP);
	if (cfg->stats_set && (stats_fd = stats_open(cfg, NULL)) < 0)
		exit(EXIT_STARTUP);

	/* 3. Daemon, pidfile, then no more root. */
	if (!foreground) {
		daemonize();
		log_to_syslog();
	}
	write_pidfile(cfg->pidfile);
	drop_privileges(cfg);

	/* 4. Workers, each with its own loop and listeners. */
	if ((d.workers = calloc(d.nworkers, sizeof(*d.workers))) == NULL)
		fatalx("out of memory");
	for (w = 0; w < d.nworkers; w++) {
		struct listener	*mine[CONFIG_MAX_LISTEN];

		if (worker_init(&d.workers[w], w, cfg, MAX_INFLIGHT, MAX_TCP,
		    pool_sockets) < 0)
			fatalx("cannot set up worker %u", w);
		for (i = 0; i < cfg->nlisten; i++)
			mine[i] = bound[i][w];
		worker_add_listeners(&d.workers[w], mine, cfg->nlisten);
	}
	loop = d.workers[0].px.loop;

	/*
	 * 5. Signals as loop events, on the main loop, before any worker
	 * thread answers a query: a SIGHUP or SIGTERM sent as soon as the
	 * proxy answers must not meet the default action, which ends the
	 * process.  They are handled once the loop runs, below.
	 */
	ev_init(&d.retry, retry_cb);
	ev_signal_init(&sig_hup, sighup_cb, SIGHUP);
	ev_signal_init(&sig_term, sigterm_cb, SIGTERM);
	ev_signal_init(&sig_int, sigterm_cb, SIGINT);
	ev_signal_init(&sig_usr1, sigusr1_cb, SIGUSR1);
	ev_signal_start(loop, &sig_hup);
	ev_signal_start(loop, &sig_term);
	ev_signal_start(loop, &sig_int);
	ev_signal_start(loop, &sig_usr1);

	if (stats_fd >= 0 && (d.http = stats_http_start(loop, stats_fd,
	    collect_stats, NULL)) == NULL)
		fatalx("cannot start the /metrics listener");
	for (w = 1; w < d.nworkers; w++)
		if (worker_spawn(&d.workers[w]) < 0)
			fatalx("cannot start worker thread %u", w);

	log_info("dns64proxy %s started: %zu listen addresses, %zu "
	    "upstreams, %zu dns64 sections, %u workers", PACKAGE_VERSION,
	    cfg->nlisten, cfg->nupstream, cfg->nsections, d.nworkers);
	report_ready();
	ev_run(loop, 0);

	/* 6. Drained: the other workers end too, then clean up. */
	for (w = 1; w < d.nworkers; w++)
		worker_post(&d.workers[w], NULL, NULL, 0, NULL, 0, true);
	for (w = d.nworkers; w-- > 0;)
		worker_finish(&d.workers[w]);
	if (d.http != NULL)
		stats_http_stop(d.http);
	remove_pidfile(d.running->pidfile);
	log_info("stopped");
	ev_signal_stop(loop, &sig_hup);
	ev_signal_stop(loop, &sig_usr1);
	free(d.workers);
	free(d.running);
	return EXIT_OK;
}
