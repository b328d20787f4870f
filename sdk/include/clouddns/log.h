/* Logging for the server and plugins. The domain parts of the library never log. */
#ifndef CLOUDDNS_LOG_H
#define CLOUDDNS_LOG_H

#include <stdarg.h>
#include <stdbool.h>

/* Levels follow syslog(3) priorities. */
enum {
	CDNS_LOG_ERR = 3,
	CDNS_LOG_WARNING = 4,
	CDNS_LOG_NOTICE = 5,
	CDNS_LOG_INFO = 6,
	CDNS_LOG_DEBUG = 7,
};

/* Where log lines go; set by the server. The message has no trailing newline. */
typedef void (*cdns_log_sink_cb)(int level, const char *msg, void *ctx);

/* Install a sink and the most verbose level that is emitted. Not thread-safe: call at start. */
void cdns_log_set_sink(cdns_log_sink_cb sink, void *ctx);
void cdns_log_set_level(int max_level);
int cdns_log_level(void);

/* True if a message at this level would be emitted (check before costly formatting). */
static inline bool cdns_log_enabled(int level)
{
	extern int cdns__log_max_level;
	return level <= cdns__log_max_level;
}

/* Format and emit one line. Safe from any thread. */
void cdns_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void cdns_vlog(int level, const char *fmt, va_list ap);

/* Parse "error", "warning", "notice", "info", "debug"; returns the level or CDNS_EINVAL. */
int cdns_log_level_from_text(const char *text);

#define cdns_err(...) cdns_log(CDNS_LOG_ERR, __VA_ARGS__)
#define cdns_warn(...) cdns_log(CDNS_LOG_WARNING, __VA_ARGS__)
#define cdns_notice(...) cdns_log(CDNS_LOG_NOTICE, __VA_ARGS__)
#define cdns_info(...) cdns_log(CDNS_LOG_INFO, __VA_ARGS__)
#define cdns_debug(...)                                   \
	do {                                              \
		if (cdns_log_enabled(CDNS_LOG_DEBUG))     \
			cdns_log(CDNS_LOG_DEBUG, __VA_ARGS__); \
	} while (0)

#endif
