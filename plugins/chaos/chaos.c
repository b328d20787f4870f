/* chaos: answers the CHAOS-class TXT queries operators use to ask a server who it is
 * (id.server., hostname.bind.) and what it runs (version.bind., version.server.), and puts the
 * server identity into the EDNS NSID option (RFC 5001) of any response whose query asked. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <clouddns/clouddns.h>

/* Longest identity or version text we accept: its TXT record (text plus one length octet per
 * 255-byte character-string) must fit a 64 KiB TCP message with room to spare. */
#define CHAOS_TEXT_MAX 16384

struct chaos_cfg {
	const char *identity;
	const char *version;
	bool hide_version;
	bool nsid;
};

/* The records served, encoded once at setup. */
struct chaos_txt {
	uint8_t *rdata;
	uint16_t rdlen;
};

struct chaos_state {
	struct chaos_cfg cfg;
	char *identity; /* owned copy: NSID payload and TXT text */
	size_t identity_len;
	struct chaos_txt identity_txt, version_txt;
};

enum chaos_kind { CHAOS_NONE, CHAOS_IDENTITY, CHAOS_VERSION };

/* The names, lower case, in wire form: the literal's terminating NUL is the root label. */
#define CHAOS_NAME(lit, kind)                                                                      \
	{                                                                                          \
		(const uint8_t *)(lit), sizeof(lit), (kind)                                        \
	}
static const struct {
	const uint8_t *name;
	size_t len;
	enum chaos_kind kind;
} chaos_names[] = {
    /* Octal escapes: a hex escape would swallow the "b" of "bind". */
    CHAOS_NAME("\002id\006server", CHAOS_IDENTITY),
    CHAOS_NAME("\010hostname\004bind", CHAOS_IDENTITY),
    CHAOS_NAME("\007version\004bind", CHAOS_VERSION),
    CHAOS_NAME("\007version\006server", CHAOS_VERSION),
};

static enum chaos_kind chaos__lookup(const cdns_query_t *q)
{
	for (size_t i = 0; i < sizeof(chaos_names) / sizeof(chaos_names[0]); i++) {
		if (q->qname_len == chaos_names[i].len &&
		    memcmp(q->qname, chaos_names[i].name, chaos_names[i].len) == 0)
			return chaos_names[i].kind;
	}
	return CHAOS_NONE;
}

/* TXT RDATA for text of any length: RFC 1035 §3.3.14 limits one character-string to 255
 * octets, so longer text becomes several strings in one record, which clients concatenate.
 * Empty text is one empty string. */
static int chaos__encode_txt(const char *text, struct chaos_txt *out)
{
	size_t len = strlen(text);
	size_t nstr = len == 0 ? 1 : (len + 254) / 255;
	size_t rdlen = len + nstr;
	if (rdlen > UINT16_MAX)
		return CDNS_ERANGE;
	uint8_t *rd = malloc(rdlen);
	if (rd == NULL)
		return CDNS_ENOMEM;
	size_t w = 0, r = 0;
	do {
		size_t chunk = len - r > 255 ? 255 : len - r;
		rd[w++] = (uint8_t)chunk;
		memcpy(rd + w, text + r, chunk);
		w += chunk;
		r += chunk;
	} while (r < len);
	out->rdata = rd;
	out->rdlen = (uint16_t)rdlen;
	return 0;
}

static void chaos_teardown(void *state)
{
	struct chaos_state *st = state;
	if (st == NULL)
		return;
	free(st->identity);
	free(st->identity_txt.rdata);
	free(st->version_txt.rdata);
	free(st);
}

static const cdns_opt_def_t chaos_opts[] = {
    {"identity", CDNS_OPT_STRING, offsetof(struct chaos_cfg, identity), NULL, 0, -1, false, NULL},
    {"version", CDNS_OPT_STRING, offsetof(struct chaos_cfg, version), NULL, 0, -1, false, NULL},
    {"hide_version", CDNS_OPT_BOOL, offsetof(struct chaos_cfg, hide_version), "false", 0, -1, false,
     NULL},
    {"nsid", CDNS_OPT_BOOL, offsetof(struct chaos_cfg, nsid), "true", 0, -1, false, NULL},
    CDNS_OPT_END,
};

/* Report a text option that is too long, at its own position if it was given. */
static bool chaos__check_len(cdns_setup_t *s, const cdns_conf_t *opts, const char *key,
                             const char *value)
{
	size_t len = strlen(value);
	if (len <= CHAOS_TEXT_MAX)
		return true;
	const cdns_conf_t *at =
	    opts != NULL && opts->kind == CDNS_CONF_MAP ? cdns_conf_get(opts, key) : NULL;
	cdns_diag_error(cdns_setup_diag(s), at != NULL ? at : opts,
	                "%soption '%s': at most %d characters, got %zu", cdns_setup_prefix(s), key,
	                CHAOS_TEXT_MAX, len);
	return false;
}

static int chaos_setup(cdns_setup_t *s, const cdns_conf_t *opts, void **state)
{
	struct chaos_cfg cfg = {0};
	int ret = cdns_conf_apply(cdns_setup_diag(s), cdns_setup_prefix(s), opts, chaos_opts, &cfg);
	if (ret != 0)
		return ret;
	if (cfg.identity == NULL)
		cfg.identity = cdns_setup_identity(s);
	if (cfg.identity == NULL)
		cfg.identity = "";
	if (cfg.version == NULL)
		cfg.version = "cloudDNS " CDNS_VERSION;
	bool ok = chaos__check_len(s, opts, "identity", cfg.identity);
	ok = chaos__check_len(s, opts, "version", cfg.version) && ok;
	if (!ok)
		return CDNS_ECONFIG;

	struct chaos_state *st = calloc(1, sizeof(*st));
	if (st == NULL)
		return CDNS_ENOMEM;
	st->cfg = cfg;
	st->identity_len = strlen(cfg.identity);
	st->identity = strdup(cfg.identity);
	if (st->identity == NULL) {
		ret = CDNS_ENOMEM;
		goto fail;
	}
	ret = chaos__encode_txt(cfg.identity, &st->identity_txt);
	if (ret != 0)
		goto fail;
	ret = chaos__encode_txt(cfg.version, &st->version_txt);
	if (ret != 0)
		goto fail;
	*state = st;
	return 0;
fail:
	chaos_teardown(st);
	return ret;
}

/* The SOA BIND puts at each of these names (each is a tiny zone of its own there): owner and
 * MNAME the name itself, RNAME hostmaster.<name>, every timer 0 so nothing is cached. */
static int chaos__add_soa(cdns_query_t *q, int section)
{
	uint8_t rd[CDNS_NAME_MAXLEN * 2 + 20];
	size_t nlen = q->qname_len;
	size_t w = 0;
	memcpy(rd + w, q->qname, nlen);
	w += nlen;
	static const uint8_t hostmaster[] = "\012hostmaster";
	memcpy(rd + w, hostmaster, sizeof(hostmaster) - 1);
	w += sizeof(hostmaster) - 1;
	memcpy(rd + w, q->qname, nlen);
	w += nlen;
	memset(rd + w, 0, 20); /* serial, refresh, retry, expire, minimum */
	w += 20;
	return cdns_resp_add(q, section, q->qname, CDNS_T_SOA, CDNS_C_CH, 0, rd, (uint16_t)w);
}

static cdns_verdict_t chaos_query(void *state, cdns_query_t *q)
{
	struct chaos_state *st = state;

	/* RFC 5001 §2.3: the NSID goes into any response to a query that asked for it. */
	if (st->cfg.nsid && q->edns.present && q->edns.nsid) {
		q->resp_nsid = (const uint8_t *)st->identity;
		q->resp_nsid_len = (uint16_t)st->identity_len;
	}

	if (q->opcode != CDNS_OPCODE_QUERY || q->qname_len == 0 || q->qclass != CDNS_C_CH)
		return CDNS_NEXT;
	enum chaos_kind kind = chaos__lookup(q);
	if (kind == CHAOS_NONE)
		return CDNS_NEXT;

	if (kind == CHAOS_VERSION && st->cfg.hide_version) {
		/* As Knot does with its version disabled: no data, and no hint that it exists. */
		cdns_resp_set_rcode(q, CDNS_RCODE_REFUSED);
		return CDNS_DONE;
	}
	cdns_resp_set_flags(q, CDNS_FLAG_AA, 0);

	const struct chaos_txt *txt = kind == CHAOS_IDENTITY ? &st->identity_txt : &st->version_txt;
	int ret = 0;
	switch (q->qtype) {
	case CDNS_T_TXT:
	case CDNS_T_ANY:
		ret = cdns_resp_add(q, CDNS_SEC_ANSWER, q->qname, CDNS_T_TXT, CDNS_C_CH, 0,
		                    txt->rdata, txt->rdlen);
		break;
	case CDNS_T_SOA: ret = chaos__add_soa(q, CDNS_SEC_ANSWER); break;
	default:
		/* The name exists, the type does not: NODATA, with the SOA that RFC 2308 §2.2
		 * asks for (as BIND answers; Knot refuses instead). */
		ret = chaos__add_soa(q, CDNS_SEC_AUTHORITY);
		break;
	}
	if (ret == CDNS_ESPACE)
		cdns_resp_set_flags(q, CDNS_FLAG_TC, 0); /* the client retries over TCP */
	else if (ret != 0)
		cdns_resp_set_rcode(q, CDNS_RCODE_SERVFAIL);
	return CDNS_DONE;
}

CDNS_PLUGIN(.name = "chaos", .version = CDNS_VERSION,
            .description = "server identity and version over CHAOS TXT, and EDNS NSID",
            .setup = chaos_setup, .query = chaos_query, .teardown = chaos_teardown);
