/* Per-worker counters: each worker writes its own cache line; readers sum them (racy reads of
 * monotonically increasing 64-bit counters are fine for statistics). */
#include <string.h>

#include "server.h"

void cdns__stats_sum(const cdns__server_t *s, cdns__stats_t *out)
{
	memset(out, 0, sizeof(*out));
	for (unsigned i = 0; i < s->n_workers; i++) {
		const cdns__stats_t *w = &s->workers[i]->stats;
		out->queries_udp += w->queries_udp;
		out->queries_tcp += w->queries_tcp;
		out->responses += w->responses;
		for (unsigned r = 0; r < 24; r++)
			out->rcode[r] += w->rcode[r];
		out->dropped += w->dropped;
		out->malformed += w->malformed;
		out->truncated += w->truncated;
		out->tcp_accepted += w->tcp_accepted;
		out->tcp_refused += w->tcp_refused;
		out->tcp_closed_idle += w->tcp_closed_idle;
		out->plugin_failures += w->plugin_failures;
	}
}

void cdns__stats_log(const cdns__server_t *s)
{
	cdns__stats_t t;
	cdns__stats_sum(s, &t);
	cdns_notice("statistics: queries udp=%llu tcp=%llu, responses=%llu (noerror=%llu "
		    "servfail=%llu nxdomain=%llu refused=%llu formerr=%llu), dropped=%llu "
		    "malformed=%llu truncated=%llu, tcp accepted=%llu refused=%llu idle-closed=%llu, "
		    "plugin failures=%llu",
		    (unsigned long long)t.queries_udp, (unsigned long long)t.queries_tcp,
		    (unsigned long long)t.responses, (unsigned long long)t.rcode[0],
		    (unsigned long long)t.rcode[2], (unsigned long long)t.rcode[3],
		    (unsigned long long)t.rcode[5], (unsigned long long)t.rcode[1],
		    (unsigned long long)t.dropped, (unsigned long long)t.malformed,
		    (unsigned long long)t.truncated, (unsigned long long)t.tcp_accepted,
		    (unsigned long long)t.tcp_refused, (unsigned long long)t.tcp_closed_idle,
		    (unsigned long long)t.plugin_failures);
	if (s->n_workers > 1) {
		/* How UDP was spread (udp_steering). */
		char line[1024];
		size_t used = 0;
		line[0] = '\0';
		for (unsigned i = 0; i < s->n_workers && used < sizeof(line) - 24; i++)
			used += (size_t)snprintf(line + used, sizeof(line) - used, "%s%llu",
						 i ? " " : "",
						 (unsigned long long)s->workers[i]->stats.queries_udp);
		cdns_notice("statistics: udp queries per worker: %s%s", line,
			    used >= sizeof(line) - 24 ? " ..." : "");
	}
}
