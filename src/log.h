/*
 * log.h: logging to stderr (foreground) or syslog (daemon facility).
 *
 * The names say what they do: log_warn() appends strerror(errno),
 * log_warnx() does not.  fatal()/fatalx() log and exit(3); they are for
 * start-up only, never once the event loop runs.
 */
#ifndef DNS64PROXY_LOG_H
#define DNS64PROXY_LOG_H

#include <stdarg.h>

#include "config.h"

void	log_init(int foreground, enum log_level level);
void	log_setlevel(enum log_level level);
enum log_level log_getlevel(void);
void	log_to_syslog(void);

void	log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	fatal(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2), noreturn));
void	fatalx(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2), noreturn));

#endif /* DNS64PROXY_LOG_H */
