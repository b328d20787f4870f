/* example: a third-party cloudDNS plugin built against the installed SDK (pkg-config
 * clouddns). It answers one name with one TXT record and lets every other query go on. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <clouddns/clouddns.h>

struct example_cfg {
	const char *name;
	const char *text;
};

struct example_state {
	uint8_t name[CDNS_NAME_MAXLEN]; /* lower case, wire form */
	uint8_t rdata[256];             /* one TXT character-string */
	uint16_t rdlen;
};

static const cdns_opt_def_t example_opts[] = {
    {"name", CDNS_OPT_STRING, offsetof(struct example_cfg, name), "hello.example.", 0, -1, false,
     NULL},
    {"text", CDNS_OPT_STRING, offsetof(struct example_cfg, text), "hello from example", 0, -1,
     false, NULL},
    CDNS_OPT_END,
};

static int example_setup(cdns_setup_t *s, const cdns_conf_t *opts, void **state)
{
	struct example_cfg cfg = {0};
	cdns_diag_t *d = cdns_setup_diag(s);
	if (cdns_conf_apply(d, cdns_setup_prefix(s), opts, example_opts, &cfg) != 0)
		return CDNS_ECONFIG;

	struct example_state *st = calloc(1, sizeof(*st));
	if (st == NULL)
		return CDNS_ENOMEM;
	int len = cdns_name_from_text(cfg.name, strlen(cfg.name), (const uint8_t *)"", st->name);
	size_t tlen = strlen(cfg.text);
	if (len < 0 || tlen > 255) {
		const char *key = len < 0 ? "name" : "text";
		cdns_diag_error(d, cdns_conf_get(opts, key), "%soption '%s': %s",
		                cdns_setup_prefix(s), key,
		                len < 0 ? "not a valid domain name" : "at most 255 characters");
		free(st);
		return CDNS_ECONFIG;
	}
	cdns_name_lower(st->name);
	st->rdata[0] = (uint8_t)tlen;
	memcpy(st->rdata + 1, cfg.text, tlen);
	st->rdlen = (uint16_t)(tlen + 1);
	*state = st;
	return 0;
}

static cdns_verdict_t example_query(void *state, cdns_query_t *q)
{
	const struct example_state *st = state;
	if (q->qname_len == 0 || !cdns_name_equal(q->qname, st->name) || q->qclass != CDNS_C_IN)
		return CDNS_NEXT;
	cdns_resp_set_flags(q, CDNS_FLAG_AA, 0);
	if (q->qtype == CDNS_T_TXT || q->qtype == CDNS_T_ANY) {
		if (cdns_resp_add(q, CDNS_SEC_ANSWER, q->qname, CDNS_T_TXT, CDNS_C_IN, 60,
		                  st->rdata, st->rdlen) != 0)
			cdns_resp_set_flags(q, CDNS_FLAG_TC, 0);
	}
	return CDNS_DONE; /* other types: NODATA */
}

static void example_teardown(void *state)
{
	free(state);
}

CDNS_PLUGIN(.name = "example", .version = "1.0", .description = "says hello over TXT",
            .setup = example_setup, .query = example_query, .teardown = example_teardown);
