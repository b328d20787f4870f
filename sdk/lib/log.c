/* Logging front end: plugins and the server format here; the server decides where lines go. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <clouddns/error.h>
#include <clouddns/log.h>

int cdns__log_max_level = CDNS_LOG_INFO;
static cdns_log_sink_cb log_sink;
static void *log_sink_ctx;

void cdns_log_set_sink(cdns_log_sink_cb sink, void *ctx)
{
	log_sink = sink;
	log_sink_ctx = ctx;
}

void cdns_log_set_level(int max_level)
{
	cdns__log_max_level = max_level;
}

int cdns_log_level(void)
{
	return cdns__log_max_level;
}

void cdns_vlog(int level, const char *fmt, va_list ap)
{
	if (level > cdns__log_max_level)
		return;
	char line[2048];
	int n = vsnprintf(line, sizeof(line), fmt, ap);
	if (n < 0)
		return;
	/* One line per message: a newline inside would let input forge log entries. */
	for (char *p = line; *p != '\0'; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	if (log_sink != NULL)
		log_sink(level, line, log_sink_ctx);
	else
		fprintf(stderr, "%s\n", line);
}

void cdns_log(int level, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	cdns_vlog(level, fmt, ap);
	va_end(ap);
}

int cdns_log_level_from_text(const char *text)
{
	static const struct {
		const char *name;
		int level;
	} levels[] = {
		{ "error", CDNS_LOG_ERR },   { "warning", CDNS_LOG_WARNING }, { "notice", CDNS_LOG_NOTICE },
		{ "info", CDNS_LOG_INFO },   { "debug", CDNS_LOG_DEBUG },
	};
	for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++)
		if (strcasecmp(text, levels[i].name) == 0)
			return levels[i].level;
	return CDNS_EINVAL;
}
