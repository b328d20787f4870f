/* whoami: tells a client the address and port its query came from, for debugging NAT, anycast
 * routing and resolvers. The address is the answer (A or AAAA, whatever the question asked);
 * the port and transport ride in an SRV record in the additional section. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <clouddns/clouddns.h>

struct whoami_cfg {
	const char *zone;
};

struct whoami_state {
	bool all;                       /* no zone configured: every name */
	uint8_t zone[CDNS_NAME_MAXLEN]; /* lower case */
};

static const cdns_opt_def_t whoami_opts[] = {
    {"zone", CDNS_OPT_STRING, offsetof(struct whoami_cfg, zone), NULL, 0, -1, false, NULL},
    CDNS_OPT_END,
};

static int whoami_setup(cdns_setup_t *s, const cdns_conf_t *opts, void **state)
{
	struct whoami_cfg cfg = {0};
	int ret =
	    cdns_conf_apply(cdns_setup_diag(s), cdns_setup_prefix(s), opts, whoami_opts, &cfg);
	if (ret != 0)
		return ret;

	struct whoami_state *st = calloc(1, sizeof(*st));
	if (st == NULL)
		return CDNS_ENOMEM;
	st->all = cfg.zone == NULL;
	if (!st->all) {
		/* A zone is always absolute: "example.com" means "example.com.". */
		int len =
		    cdns_name_from_text(cfg.zone, strlen(cfg.zone), (const uint8_t *)"", st->zone);
		if (len < 0) {
			cdns_diag_error(cdns_setup_diag(s), cdns_conf_get(opts, "zone"),
			                "%soption 'zone': invalid domain name \"%s\": %s",
			                cdns_setup_prefix(s), cfg.zone, cdns_strerror(len));
			free(st);
			return CDNS_ECONFIG;
		}
		cdns_name_lower(st->zone);
	}
	*state = st;
	return 0;
}

static void whoami_teardown(void *state)
{
	free(state);
}

static cdns_verdict_t whoami_query(void *state, cdns_query_t *q)
{
	const struct whoami_state *st = state;

	if (q->opcode != CDNS_OPCODE_QUERY || q->qname_len == 0)
		return CDNS_NEXT;
	/* A and AAAA with an Internet address exist only in class IN (CHAOS A, for one, holds a
	 * name and a CHAOSnet address): other classes are not ours. Class ANY gets IN data. */
	if (q->qclass != CDNS_C_IN && q->qclass != CDNS_C_ANY)
		return CDNS_NEXT;
	const uint16_t rclass = CDNS_C_IN;
	if (!st->all && !cdns_name_in(q->qname, st->zone))
		return CDNS_NEXT;

	/* Echo the name as the client wrote it; the question already holds it. */
	uint8_t owner[CDNS_NAME_MAXLEN];
	size_t pos = q->qname_off;
	if (cdns_name_unpack(q->msg.wire, q->msg.len, &pos, owner) < 0)
		memcpy(owner, q->qname, q->qname_len);

	/* A v4-mapped address on a dual-stack socket is an IPv4 client. */
	const uint8_t *addr;
	uint16_t type, alen, port;
	if (q->client.sa.sa_family == AF_INET6) {
		const uint8_t *a6 = q->client.sin6.sin6_addr.s6_addr;
		static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
		if (memcmp(a6, mapped, sizeof(mapped)) == 0) {
			addr = a6 + 12, type = CDNS_T_A, alen = 4;
		} else {
			addr = a6, type = CDNS_T_AAAA, alen = 16;
		}
		port = ntohs(q->client.sin6.sin6_port);
	} else if (q->client.sa.sa_family == AF_INET) {
		addr = (const uint8_t *)&q->client.sin.sin_addr.s_addr;
		type = CDNS_T_A, alen = 4;
		port = ntohs(q->client.sin.sin_port);
	} else {
		return CDNS_NEXT; /* no address to tell (e.g. a local socket) */
	}

	cdns_resp_set_flags(q, CDNS_FLAG_AA, 0);
	int ret = cdns_resp_add(q, CDNS_SEC_ANSWER, owner, type, rclass, 0, addr, alen);
	if (ret == CDNS_ESPACE) {
		cdns_resp_set_flags(q, CDNS_FLAG_TC, 0);
		return CDNS_DONE;
	} else if (ret != 0) {
		cdns_resp_set_rcode(q, CDNS_RCODE_SERVFAIL);
		return CDNS_DONE;
	}

	/* _udp.<qname> or _tcp.<qname>, unless that would exceed 255 octets. */
	uint8_t srv_owner[CDNS_NAME_MAXLEN];
	size_t olen = cdns_name_len(owner);
	if (olen + 5 > CDNS_NAME_MAXLEN)
		return CDNS_DONE;
	memcpy(srv_owner, q->transport == CDNS_TRANSPORT_UDP ? "\x04_udp" : "\x04_tcp", 5);
	memcpy(srv_owner + 5, owner, olen);

	/* SRV RDATA (RFC 2782): priority 0, weight 0, the client's port, target ".". */
	uint8_t srv[7] = {0, 0, 0, 0, 0, 0, 0};
	cdns_put16(srv + 4, port);
	/* Additional data is optional (RFC 2181 §9): if it does not fit, leave it out. */
	(void)cdns_resp_add(q, CDNS_SEC_ADDITIONAL, srv_owner, CDNS_T_SRV, rclass, 0, srv,
	                    sizeof(srv));
	return CDNS_DONE;
}

CDNS_PLUGIN(.name = "whoami", .version = CDNS_VERSION,
            .description = "answers with the client's address, port and transport",
            .setup = whoami_setup, .query = whoami_query, .teardown = whoami_teardown);
