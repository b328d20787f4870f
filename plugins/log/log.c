/* log: one line per answered query, written from the response hook so it shows what actually
 * left: who asked, over what, the question, the rcode, the header flags, the size and how long
 * the pipeline took. Holds no mutable state: any number of workers may call it at once. */
#include <arpa/inet.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <clouddns/clouddns.h>

struct log_cfg {
	int level; /* index into log_level_names */
};

struct log_state {
	int level; /* CDNS_LOG_* */
};

static const char *const log_level_names[] = {"error", "warning", "notice", "info", "debug", NULL};
static const int log_levels[] = {CDNS_LOG_ERR, CDNS_LOG_WARNING, CDNS_LOG_NOTICE, CDNS_LOG_INFO,
                                 CDNS_LOG_DEBUG};

static const cdns_opt_def_t log_opts[] = {
    {"level", CDNS_OPT_ENUM, offsetof(struct log_cfg, level), "info", 0, -1, false,
     log_level_names},
    CDNS_OPT_END,
};

static int log_setup(cdns_setup_t *s, const cdns_conf_t *opts, void **state)
{
	struct log_cfg cfg = {0};
	int ret = cdns_conf_apply(cdns_setup_diag(s), cdns_setup_prefix(s), opts, log_opts, &cfg);
	if (ret != 0)
		return ret;
	if (cfg.level < 0 || (size_t)cfg.level >= sizeof(log_levels) / sizeof(log_levels[0]))
		return CDNS_EINVAL;
	struct log_state *st = malloc(sizeof(*st));
	if (st == NULL)
		return CDNS_ENOMEM;
	st->level = log_levels[cfg.level];
	*state = st;
	return 0;
}

static void log_teardown(void *state)
{
	free(state);
}

/* Without a query hook that ran, the response hook would not be called. */
static cdns_verdict_t log_query(void *state, cdns_query_t *q)
{
	return CDNS_NEXT;
}

/* Mnemonics from the IANA "DNS RCODEs" registry; the rest print as RCODEnnnn. */
static const char *log__rcode_name(unsigned rcode, char *buf, size_t len)
{
	static const char *const names[] = {
	    [0] = "NOERROR",  [1] = "FORMERR", [2] = "SERVFAIL",  [3] = "NXDOMAIN",
	    [4] = "NOTIMP",   [5] = "REFUSED", [6] = "YXDOMAIN",  [7] = "YXRRSET",
	    [8] = "NXRRSET",  [9] = "NOTAUTH", [10] = "NOTZONE",  [11] = "DSOTYPENI",
	    [16] = "BADVERS", [17] = "BADKEY", [18] = "BADTIME",  [19] = "BADMODE",
	    [20] = "BADNAME", [21] = "BADALG", [22] = "BADTRUNC", [23] = "BADCOOKIE",
	};
	if (rcode < sizeof(names) / sizeof(names[0]) && names[rcode] != NULL)
		return names[rcode];
	snprintf(buf, len, "RCODE%u", rcode);
	return buf;
}

static const char *log__transport_name(cdns_transport_t t)
{
	switch (t) {
	case CDNS_TRANSPORT_UDP: return "udp";
	case CDNS_TRANSPORT_TCP: return "tcp";
	case CDNS_TRANSPORT_TLS: return "tls";
	case CDNS_TRANSPORT_HTTPS: return "https";
	}
	return "?";
}

/* "addr#port", the way BIND and dig write an endpoint (no brackets needed for IPv6). */
static void log__client(const cdns_sockaddr_t *sa, char *out, size_t len)
{
	char addr[INET6_ADDRSTRLEN] = "?";
	unsigned port = 0;
	if (sa->sa.sa_family == AF_INET) {
		inet_ntop(AF_INET, &sa->sin.sin_addr, addr, sizeof(addr));
		port = ntohs(sa->sin.sin_port);
	} else if (sa->sa.sa_family == AF_INET6) {
		inet_ntop(AF_INET6, &sa->sin6.sin6_addr, addr, sizeof(addr));
		port = ntohs(sa->sin6.sin6_port);
	}
	snprintf(out, len, "%s#%u", addr, port);
}

/* The flags of the response header as "qr,aa,rd" ("-" for none). */
static void log__flags(uint16_t flags, char *out, size_t len)
{
	static const struct {
		uint16_t bit;
		const char *name;
	} bits[] = {
	    {CDNS_FLAG_QR, "qr"}, {CDNS_FLAG_AA, "aa"}, {CDNS_FLAG_TC, "tc"}, {CDNS_FLAG_RD, "rd"},
	    {CDNS_FLAG_RA, "ra"}, {CDNS_FLAG_AD, "ad"}, {CDNS_FLAG_CD, "cd"},
	};
	size_t w = 0;
	out[0] = '\0';
	for (size_t i = 0; i < sizeof(bits) / sizeof(bits[0]); i++) {
		if (!(flags & bits[i].bit))
			continue;
		int n = snprintf(out + w, len - w, "%s%s", w > 0 ? "," : "", bits[i].name);
		if (n < 0 || (size_t)n >= len - w)
			break;
		w += (size_t)n;
	}
	if (w == 0)
		snprintf(out, len, "-");
}

static void log_response(void *state, cdns_query_t *q)
{
	const struct log_state *st = state;
	if (!cdns_log_enabled(st->level))
		return;

	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	uint64_t now_ns = (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
	uint64_t us = now_ns > q->start_ns ? (now_ns - q->start_ns) / 1000 : 0;

	char client[INET6_ADDRSTRLEN + 8];
	log__client(&q->client, client, sizeof(client));

	char qname[CDNS_NAME_MAXTEXT] = "-";
	char qtype[16] = "-", qclass[16] = "-";
	if (q->qname_len > 0) {
		if (cdns_name_to_text(q->qname, qname, sizeof(qname)) < 0)
			snprintf(qname, sizeof(qname), "?");
		if (cdns_rrtype_to_text(q->qtype, qtype, sizeof(qtype)) < 0)
			snprintf(qtype, sizeof(qtype), "?");
		if (cdns_rrclass_to_text(q->qclass, qclass, sizeof(qclass)) < 0)
			snprintf(qclass, sizeof(qclass), "?");
	}

	/* A response handed over whole carries its rcode in the header (and OPT): q->rcode is
	 * what the pipeline set otherwise. */
	uint16_t len = cdns_resp_len(q);
	uint16_t hflags = len >= CDNS_HDR_LEN ? cdns_get16(cdns_resp_wire(q) + 2) : 0;
	unsigned rcode = q->resp_wire_set ? CDNS_FLAGS_RCODE(hflags) : q->rcode;
	char rcode_buf[16];
	char flags[32];
	log__flags(hflags, flags, sizeof(flags));

	cdns_log(st->level, "%s %s \"%s %s %s\" %s %s %uB %llu.%03llums", client,
	         log__transport_name(q->transport), qname, qtype, qclass,
	         log__rcode_name(rcode, rcode_buf, sizeof(rcode_buf)), flags, (unsigned)len,
	         (unsigned long long)(us / 1000), (unsigned long long)(us % 1000));
}

CDNS_PLUGIN(.name = "log", .version = CDNS_VERSION,
            .description = "logs one line per query: client, question, rcode, flags, size, time",
            .setup = log_setup, .query = log_query, .response = log_response,
            .teardown = log_teardown);
