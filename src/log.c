/*
 * log.c: see log.h.
 */

#include "acconfig.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "log.h"

static int		log_foreground = 1;
static enum log_level	log_level_cur = LOGLEVEL_INFO;

void
log_init(int foreground, enum log_level level)
{
	log_foreground = foreground;
	log_level_cur = level;
	if (!foreground)
		log_to_syslog();
}

/* Switch to syslog, daemon facility (after daemonizing). */
void
log_to_syslog(void)
{
	log_foreground = 0;
	openlog("dns64proxy", LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void
log_setlevel(enum log_level level)
{
	/* atomic: workers read it while a reload on the main thread sets it */
	__atomic_store_n(&log_level_cur, level, __ATOMIC_RELAXED);
}

enum log_level
log_getlevel(void)
{
	return __atomic_load_n(&log_level_cur, __ATOMIC_RELAXED);
}

/*
 * Write one message at level lv (ours) / prio (syslog's), with ": strerror"
 * appended when errnum is not 0.
 */
static void
log_vwrite(enum log_level lv, int prio, int errnum, const char *fmt,
    va_list ap)
{
	char	 msg[1024];
	int	 n;

	if (lv > __atomic_load_n(&log_level_cur, __ATOMIC_RELAXED))
		return;
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	if (n < 0)
		return;
	if (errnum != 0 && (size_t)n < sizeof(msg))
		snprintf(msg + n, sizeof(msg) - (size_t)n, ": %s",
		    strerror(errnum));
	if (log_foreground) {
		fprintf(stderr, "dns64proxy: %s\n", msg);
		fflush(stderr);
	} else
		syslog(prio, "%s", msg);
}

#define LOG_BODY(lv, prio, errnum) do {			\
	va_list ap;					\
	va_start(ap, fmt);				\
	log_vwrite((lv), (prio), (errnum), fmt, ap);	\
	va_end(ap);					\
} while (0)

void
log_warn(const char *fmt, ...)
{
	int saved = errno;

	LOG_BODY(LOGLEVEL_WARNING, LOG_WARNING, saved);
	errno = saved;
}

void
log_warnx(const char *fmt, ...)
{
	LOG_BODY(LOGLEVEL_WARNING, LOG_WARNING, 0);
}

void
log_error(const char *fmt, ...)
{
	LOG_BODY(LOGLEVEL_ERROR, LOG_ERR, 0);
}

void
log_info(const char *fmt, ...)
{
	LOG_BODY(LOGLEVEL_INFO, LOG_INFO, 0);
}

void
log_debug(const char *fmt, ...)
{
	LOG_BODY(LOGLEVEL_DEBUG, LOG_DEBUG, 0);
}

void
fatal(const char *fmt, ...)
{
	int saved = errno;

	LOG_BODY(LOGLEVEL_ERROR, LOG_CRIT, saved);
	exit(3);
}

void
fatalx(const char *fmt, ...)
{
	LOG_BODY(LOGLEVEL_ERROR, LOG_CRIT, 0);
	exit(3);
}
