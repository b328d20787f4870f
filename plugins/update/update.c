/* update: dynamic updates (RFC 2136) of the zones in the zone registry, with access decided by
 * an ordered list of rules on the client's address, its TSIG key (RFC 3007, verified by the
 * tsig plugin), the names and the types being changed.
 *
 * Flow: on the worker, the request is parsed, its prerequisites checked and its updates turned
 * into one changeset against the current version of the zone (nothing is written). A change
 * is then handed to the control loop, which commits it through the registry (journal append
 * and fdatasync, publication); the worker answers once the commit returned. If another change
 * was committed in between, the request is evaluated again on the control loop against the
 * version it will really apply to, so prerequisites hold at commit time (RFC 2136 §3.7). */
#include <arpa/inet.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <ev.h>

#include <clouddns/clouddns.h>

#define RULES_MAX   256
#define ZONES_MAX   10000
#define ARENA_CHUNK 65536

/* --- Access rules. --- */

enum { TYPES_DEFAULT = 0, TYPES_ALL = 1, TYPES_LIST = 2 };

struct name_pat {
	uint8_t name[CDNS_NAME_MAXLEN]; /* lower-cased, absolute */
	bool below;                     /* "*.suffix": names strictly below suffix */
};

struct rule {
	bool grant;
	cdns_acl_who_t who;
	struct name_pat *names; /* NULL: every name of the zone */
	unsigned n_names;
	int types_mode; /* TYPES_DEFAULT: every type but SOA; TYPES_ALL; TYPES_LIST */
	uint16_t *types;
	unsigned n_types;
	unsigned line; /* position in the configuration, for logs */
};

struct update_state {
	struct rule rules[RULES_MAX];
	unsigned n_rules;
	uint8_t (*zones)[CDNS_NAME_MAXLEN]; /* accepted zones; NULL: every zone in the registry */
	unsigned n_zones;
};

/* Who asks: what the rules look at. */
struct client {
	cdns_sockaddr_t addr;
	bool has_key;
	uint8_t key[CDNS_NAME_MAXLEN];
	char text[INET6_ADDRSTRLEN + CDNS_NAME_MAXTEXT + 8]; /* "192.0.2.1 key k." for logs */
};

struct rule_conf {
	const char *address;
	const char *key;
	const cdns_conf_t *names;
	const cdns_conf_t *types;
	int action;
};

static const char *const actions[] = {"grant", "deny", NULL};

static const cdns_opt_def_t rule_opts[] = {
    {"address", CDNS_OPT_STRING, offsetof(struct rule_conf, address), NULL, 0, -1, false, NULL},
    {"key", CDNS_OPT_STRING, offsetof(struct rule_conf, key), NULL, 0, -1, false, NULL},
    {"names", CDNS_OPT_STRLIST, offsetof(struct rule_conf, names), NULL, 0, -1, false, NULL},
    {"types", CDNS_OPT_STRLIST, offsetof(struct rule_conf, types), NULL, 0, -1, false, NULL},
    {"action", CDNS_OPT_ENUM, offsetof(struct rule_conf, action), "grant", 0, -1, false, actions},
    CDNS_OPT_END,
};

struct update_conf {
	const cdns_conf_t *acl;
	const cdns_conf_t *zones;
};

static const cdns_opt_def_t update_opts[] = {
    {"acl", CDNS_OPT_NODE, offsetof(struct update_conf, acl), NULL, 0, -1, true, NULL},
    {"zones", CDNS_OPT_STRLIST, offsetof(struct update_conf, zones), NULL, 0, -1, false, NULL},
    CDNS_OPT_END,
};


static bool client_match(const struct rule *r, const struct client *c)
{
	return cdns_acl_who_match(&r->who, &c->addr, c->has_key ? c->key : NULL);
}

/* owner is lower-cased. */
static bool name_match(const struct rule *r, const uint8_t *owner)
{
	if (r->names == NULL)
		return true;
	for (unsigned i = 0; i < r->n_names; i++) {
		const struct name_pat *p = &r->names[i];
		bool equal = cdns_name_equal(owner, p->name);
		if (p->below ? (!equal && cdns_name_in(owner, p->name)) : equal)
			return true;
	}
	return false;
}

static bool type_match(const struct rule *r, uint16_t type)
{
	switch (r->types_mode) {
	case TYPES_ALL: return true;
	case TYPES_DEFAULT: return type != CDNS_T_SOA;
	default:
		for (unsigned i = 0; i < r->n_types; i++)
			if (r->types[i] == type)
				return true;
		return false;
	}
}

/* The rule that decides whether c may change the RRset (owner, type): the first one that
 * matches, or NULL. With any_type, the type is not looked at (a name-wide deletion of a name
 * that holds nothing). */
static const struct rule *policy_find(const struct update_state *st, const struct client *c,
                                      const uint8_t *owner, uint16_t type, bool any_type)
{
	for (unsigned i = 0; i < st->n_rules; i++) {
		const struct rule *r = &st->rules[i];
		if (client_match(r, c) && name_match(r, owner) && (any_type || type_match(r, type)))
			return r;
	}
	return NULL;
}

/* Could any rule grant this client anything? If not, the request is refused before its
 * prerequisites are looked at (they would tell an outsider about the zone). */
static bool policy_client_may(const struct update_state *st, const struct client *c)
{
	for (unsigned i = 0; i < st->n_rules; i++)
		if (st->rules[i].grant && client_match(&st->rules[i], c))
			return true;
	return false;
}

static void rules_free(struct update_state *st)
{
	for (unsigned i = 0; i < st->n_rules; i++) {
		free(st->rules[i].names);
		free(st->rules[i].types);
	}
	free(st->zones);
	free(st);
}

/* A STRLIST node: the scalars it holds (a lone scalar is a list of one). */
static const cdns_conf_t *list_first(const cdns_conf_t *n)
{
	return n->kind == CDNS_CONF_SCALAR ? n : n->child;
}
static const cdns_conf_t *list_next(const cdns_conf_t *list, const cdns_conf_t *item)
{
	return list->kind == CDNS_CONF_SCALAR ? NULL : item->next;
}
static size_t list_count(const cdns_conf_t *n)
{
	return n->kind == CDNS_CONF_SCALAR ? 1 : n->n_children;
}

static bool parse_names(cdns_diag_t *d, const char *prefix, const cdns_conf_t *list, struct rule *r)
{
	size_t n = list_count(list);
	if (n == 0) {
		cdns_diag_error(d, list,
		                "%sacl rule: 'names' must not be empty (leave it out for "
		                "the whole zone)",
		                prefix);
		return false;
	}
	r->names = calloc(n, sizeof(*r->names));
	if (r->names == NULL)
		return false;
	bool ok = true;
	for (const cdns_conf_t *it = list_first(list); it != NULL; it = list_next(list, it)) {
		const char *text = it->value;
		struct name_pat *p = &r->names[r->n_names];
		size_t len = strlen(text);
		if (len >= 2 && text[0] == '*' && text[1] == '.') {
			p->below = true;
			text += 2;
			len -= 2;
		}
		if (len == 0 || cdns_name_from_text(text, len, (const uint8_t *)"", p->name) <= 0) {
			cdns_diag_error(d, it,
			                "%sacl rule: 'names' entries must be a domain name or "
			                "\"*.name\" (every name below it), got \"%s\"",
			                prefix, it->value);
			ok = false;
			continue;
		}
		cdns_name_lower(p->name);
		r->n_names++;
	}
	return ok;
}

static bool parse_types(cdns_diag_t *d, const char *prefix, const cdns_conf_t *list, struct rule *r)
{
	size_t n = list_count(list);
	if (n == 0) {
		cdns_diag_error(d, list, "%sacl rule: 'types' must not be empty", prefix);
		return false;
	}
	r->types = calloc(n, sizeof(*r->types));
	if (r->types == NULL)
		return false;
	r->types_mode = TYPES_LIST;
	bool ok = true;
	for (const cdns_conf_t *it = list_first(list); it != NULL; it = list_next(list, it)) {
		uint16_t t;
		if (cdns_rrtype_from_text(it->value, strlen(it->value), &t) != 0 ||
		    (t != CDNS_T_ANY && cdns_rrtype_is_meta(t))) {
			cdns_diag_error(
			    d, it,
			    "%sacl rule: 'types' entries must be RR type mnemonics such "
			    "as A, TXT or TYPE65280, or ANY, got \"%s\"",
			    prefix, it->value);
			ok = false;
			continue;
		}
		if (t == CDNS_T_ANY)
			r->types_mode = TYPES_ALL;
		r->types[r->n_types++] = t;
	}
	return ok;
}

static bool parse_rule(cdns_diag_t *d, const char *prefix, const cdns_conf_t *rn, struct rule *r)
{
	struct rule_conf rc;
	memset(&rc, 0, sizeof(rc));
	if (cdns_conf_apply(d, prefix, rn, rule_opts, &rc) != 0)
		return false;
	r->grant = rc.action == 0;
	r->line = rn->line;
	bool ok = cdns_acl_who_conf(d, prefix, rn, rc.address, rc.key, &r->who);
	/* A grant for anyone at all would open the zone to the Internet (RFC 2136 §8.1): say
	 * who. A deny rule may match everyone (a final "deny the rest"). */
	if (ok && r->grant && !r->who.has_net && !r->who.has_key) {
		cdns_diag_error(d, rn, "%sacl rule: a grant rule needs 'address', 'key' or both",
		                prefix);
		ok = false;
	}
	if (rc.names != NULL && !parse_names(d, prefix, rc.names, r))
		ok = false;
	if (rc.types != NULL && !parse_types(d, prefix, rc.types, r))
		ok = false;
	return ok;
}

static void update_teardown(void *state)
{
	rules_free(state);
}

static int update_setup(cdns_setup_t *s, const cdns_conf_t *opts, void **state)
{
	cdns_diag_t *d = cdns_setup_diag(s);
	const char *prefix = cdns_setup_prefix(s);
	struct update_conf cfg;
	memset(&cfg, 0, sizeof(cfg));
	if (cdns_conf_apply(d, prefix, opts, update_opts, &cfg) != 0)
		return CDNS_ECONFIG;
	if (cfg.acl->kind != CDNS_CONF_SEQ || cfg.acl->n_children == 0) {
		cdns_diag_error(
		    d, cfg.acl,
		    "%soption 'acl': must be a list of rules such as {address: "
		    "192.0.2.0/24, key: NAME, names: [...], types: [...], action: grant}",
		    prefix);
		return CDNS_ECONFIG;
	}
	if (cfg.acl->n_children > RULES_MAX) {
		cdns_diag_error(d, cfg.acl, "%soption 'acl': at most %d rules", prefix, RULES_MAX);
		return CDNS_ECONFIG;
	}
	struct update_state *st = calloc(1, sizeof(*st));
	if (st == NULL)
		return CDNS_ENOMEM;
	bool bad = false;
	for (const cdns_conf_t *rn = cfg.acl->child; rn != NULL; rn = rn->next) {
		if (!parse_rule(d, prefix, rn, &st->rules[st->n_rules]))
			bad = true;
		st->n_rules++;
	}
	if (cfg.zones != NULL) {
		size_t n = list_count(cfg.zones);
		if (n == 0 || n > ZONES_MAX) {
			cdns_diag_error(
			    d, cfg.zones,
			    "%soption 'zones': must list 1 to %d zone names (leave it out "
			    "for every zone)",
			    prefix, ZONES_MAX);
			bad = true;
		} else if ((st->zones = calloc(n, sizeof(*st->zones))) == NULL) {
			rules_free(st);
			return CDNS_ENOMEM;
		}
		for (const cdns_conf_t *it = list_first(cfg.zones); st->zones != NULL && it != NULL;
		     it = list_next(cfg.zones, it)) {
			uint8_t *z = st->zones[st->n_zones];
			if (cdns_name_from_text(it->value, strlen(it->value), (const uint8_t *)"",
			                        z) <= 0) {
				cdns_diag_error(d, it,
				                "%soption 'zones': not a domain name, got \"%s\"",
				                prefix, it->value);
				bad = true;
				continue;
			}
			cdns_name_lower(z);
			st->n_zones++;
		}
	}
	if (bad) {
		rules_free(st);
		return CDNS_ECONFIG;
	}
	*state = st;
	return 0;
}

/* --- Memory for one request: a chain of blocks freed together. --- */

struct blk {
	struct blk *next;
	size_t used, cap;
	_Alignas(16) uint8_t data[];
};

static void *arena_alloc(struct blk **a, size_t n)
{
	n = (n + 15) & ~(size_t)15;
	struct blk *b = *a;
	if (b == NULL || b->cap - b->used < n) {
		size_t cap = n > ARENA_CHUNK ? n : ARENA_CHUNK;
		struct blk *nb = malloc(sizeof(*nb) + cap);
		if (nb == NULL)
			return NULL;
		nb->next = b;
		nb->used = 0;
		nb->cap = cap;
		*a = nb;
		b = nb;
	}
	void *p = b->data + b->used;
	b->used += n;
	return p;
}

static void *arena_dup(struct blk **a, const void *src, size_t n)
{
	void *p = arena_alloc(a, n ? n : 1);
	if (p != NULL && n > 0)
		memcpy(p, src, n);
	return p;
}

static void arena_free(struct blk *a)
{
	while (a != NULL) {
		struct blk *next = a->next;
		free(a);
		a = next;
	}
}

/* --- The request, parsed once (kept for a second evaluation on the control loop). --- */

struct urr {
	const uint8_t *owner; /* as sent */
	const uint8_t *lc;    /* lower-cased */
	uint32_t hash;
	uint32_t ttl;
	uint16_t type, rclass, rdlen;
	bool bad_rdata;       /* not well-formed for its type */
	const uint8_t *rdata; /* uncompressed */
	const uint8_t *canon; /* canonical form (RFC 4034 §6.2), for comparisons */
};

struct req {
	struct blk *mem;
	uint8_t apex[CDNS_NAME_MAXLEN]; /* lower-cased */
	uint16_t zclass;
	struct urr *pre, *upd;
	unsigned n_pre, n_upd;
	struct client client;
};

static void req_free(struct req *r)
{
	if (r != NULL) {
		arena_free(r->mem);
		free(r);
	}
}

static void client_describe(struct client *c)
{
	char addr[INET6_ADDRSTRLEN] = "?";
	if (c->addr.sa.sa_family == AF_INET)
		inet_ntop(AF_INET, &c->addr.sin.sin_addr, addr, sizeof(addr));
	else if (c->addr.sa.sa_family == AF_INET6)
		inet_ntop(AF_INET6, &c->addr.sin6.sin6_addr, addr, sizeof(addr));
	if (c->has_key) {
		char key[CDNS_NAME_MAXTEXT];
		cdns_name_to_text(c->key, key, sizeof(key));
		snprintf(c->text, sizeof(c->text), "%s key %s", addr, key);
	} else {
		snprintf(c->text, sizeof(c->text), "%s", addr);
	}
}

/* Read count records from pos into out. Returns 0 or CDNS_EFORMAT / CDNS_ENOMEM. */
static int parse_section(const cdns_msg_t *m, struct req *r, int sec, struct urr **out,
                         unsigned *n_out, uint8_t *buf)
{
	unsigned count = m->hdr.count[sec];
	*n_out = 0;
	*out = NULL;
	if (count == 0)
		return 0;
	struct urr *v = arena_alloc(&r->mem, sizeof(*v) * count);
	if (v == NULL)
		return CDNS_ENOMEM;
	size_t pos = m->sec_off[sec];
	for (unsigned i = 0; i < count; i++) {
		cdns_rr_t rr;
		if (cdns_msg_rr(m, &pos, &rr) != 0)
			return CDNS_EFORMAT;
		struct urr *u = &v[i];
		memset(u, 0, sizeof(*u));
		int len = cdns_rdata_unpack(m->wire, m->len, rr.type, rr.rdata_off, rr.rdlen, buf,
		                            CDNS_RDATA_MAXLEN);
		if (len < 0)
			return CDNS_EFORMAT;
		u->owner = arena_dup(&r->mem, rr.owner, rr.owner_len);
		uint8_t *lc = arena_alloc(&r->mem, rr.owner_len);
		uint8_t *rd = arena_dup(&r->mem, buf, (size_t)len);
		uint8_t *canon = arena_dup(&r->mem, buf, (size_t)len);
		if (u->owner == NULL || lc == NULL || rd == NULL || canon == NULL)
			return CDNS_ENOMEM;
		cdns_name_copy_lower(lc, u->owner);
		cdns_rdata_canonicalize(rr.type, canon, (size_t)len);
		u->lc = lc;
		u->hash = cdns_name_hash(lc);
		u->ttl = rr.ttl;
		u->type = rr.type;
		u->rclass = rr.rclass;
		u->rdlen = (uint16_t)len;
		u->rdata = rd;
		u->canon = canon;
		/* Class ANY carries no RDATA (checked where it matters); an RR to add, to
		 * delete (class NONE) or to compare must be well-formed. */
		u->bad_rdata =
		    rr.rclass != CDNS_C_ANY && cdns_rdata_check(rr.type, rd, (size_t)len) != 0;
	}
	*out = v;
	*n_out = count;
	return 0;
}

/* Parse the prerequisite and update sections of q. Returns 0 and *out, or CDNS_EFORMAT,
 * CDNS_ENOMEM. */
static int req_parse(const cdns_query_t *q, struct req **out)
{
	struct req *r = calloc(1, sizeof(*r));
	uint8_t *buf = malloc(CDNS_RDATA_MAXLEN);
	int rc = CDNS_ENOMEM;
	if (r == NULL || buf == NULL)
		goto fail;
	memcpy(r->apex, q->qname, q->qname_len);
	r->zclass = q->qclass;
	r->client.addr = q->client;
	if (q->tsig_key != NULL) {
		r->client.has_key = true;
		cdns_name_copy_lower(r->client.key, q->tsig_key);
	}
	client_describe(&r->client);
	if ((rc = parse_section(&q->msg, r, CDNS_SEC_ANSWER, &r->pre, &r->n_pre, buf)) != 0 ||
	    (rc = parse_section(&q->msg, r, CDNS_SEC_AUTHORITY, &r->upd, &r->n_upd, buf)) != 0)
		goto fail;
	free(buf);
	*out = r;
	return 0;
fail:
	free(buf);
	req_free(r);
	return rc;
}

/* --- The zone as the update sees it while it runs: the RRsets of every name it touched,
 * before (orig) and after (cur). Untouched names are read from the zone version. --- */

struct wrd {
	const uint8_t *rdata; /* as stored or as sent */
	const uint8_t *canon; /* canonical form */
	uint16_t len;
};

struct wset {
	uint16_t type;
	uint32_t orig_ttl, ttl;
	struct wrd *orig, *cur;
	unsigned orig_n, n, cap;
};

struct wname {
	struct wname *next_hash, *next_list;
	const uint8_t *lc;
	uint32_t hash;
	const uint8_t *owner;     /* spelling for additions at a new name */
	const cdns_znode_t *node; /* in the zone version, or NULL */
	struct wset *sets;
	unsigned n_sets, cap_sets;
};

/* Why a request was refused, or how a commit failed: for the log and the EDE text. */
#define WHY_MAX 1280

struct eval {
	const struct update_state *st;
	const struct req *req;
	const cdns_zone_t *zone;
	struct blk *mem;
	struct wname **tab;
	size_t tab_mask;
	struct wname *list, **list_tail;
	/* The SOA as the update leaves it (changed only by an SOA addition with a newer
	 * serial). */
	const uint8_t *soa;
	uint16_t soa_len;
	uint32_t soa_ttl;
	bool soa_changed;
	/* Results. */
	unsigned n_removed, n_added;
	char why[WHY_MAX];
};

static int eval_init(struct eval *e, const struct update_state *st, const struct req *r,
                     const cdns_zone_t *z)
{
	memset(e, 0, sizeof(*e));
	e->st = st;
	e->req = r;
	e->zone = z;
	size_t want = 2 * ((size_t)r->n_pre + r->n_upd) + 16, cap = 16;
	while (cap < want)
		cap <<= 1;
	e->tab = calloc(cap, sizeof(*e->tab));
	if (e->tab == NULL)
		return CDNS_ENOMEM;
	e->tab_mask = cap - 1;
	e->list_tail = &e->list;
	const cdns_rrset_t *soa = cdns_znode_rrset(cdns_zone_node(z, 0), CDNS_T_SOA);
	size_t pos = 0;
	if (soa == NULL || !cdns_rrset_next(soa, &pos, &e->soa, &e->soa_len) || e->soa_len < 22)
		return CDNS_EINVAL;
	e->soa_ttl = soa->ttl;
	return 0;
}

static void eval_fini(struct eval *e)
{
	free(e->tab);
	arena_free(e->mem);
	e->tab = NULL;
	e->mem = NULL;
}

static bool wrd_in(const struct wrd *v, unsigned n, const uint8_t *canon, uint16_t len)
{
	for (unsigned i = 0; i < n; i++)
		if (v[i].len == len && memcmp(v[i].canon, canon, len) == 0)
			return true;
	return false;
}

/* The working copy of a name, made on first use from the zone version (NULL only when out of
 * memory). */
static struct wname *wname_get(struct eval *e, const uint8_t *owner, const uint8_t *lc,
                               uint32_t hash)
{
	size_t slot = hash & e->tab_mask;
	for (struct wname *w = e->tab[slot]; w != NULL; w = w->next_hash)
		if (w->hash == hash && cdns_name_equal(w->lc, lc))
			return w;
	struct wname *w = arena_alloc(&e->mem, sizeof(*w));
	if (w == NULL)
		return NULL;
	memset(w, 0, sizeof(*w));
	w->lc = lc;
	w->hash = hash;
	w->owner = owner;
	w->node = cdns_zone_find(e->zone, lc, hash);
	if (w->node != NULL && w->node->n_rrsets > 0) {
		w->cap_sets = w->node->n_rrsets + 4;
		w->sets = arena_alloc(&e->mem, sizeof(*w->sets) * w->cap_sets);
		if (w->sets == NULL)
			return NULL;
		for (unsigned i = 0; i < w->node->n_rrsets; i++) {
			const cdns_rrset_t *s = &w->node->rrsets[i];
			struct wset *ws = &w->sets[w->n_sets];
			memset(ws, 0, sizeof(*ws));
			ws->type = s->type;
			ws->orig_ttl = ws->ttl = s->ttl;
			ws->cap = s->count + 4u;
			ws->orig = arena_alloc(&e->mem, sizeof(struct wrd) * s->count);
			ws->cur = arena_alloc(&e->mem, sizeof(struct wrd) * ws->cap);
			if ((s->count > 0 && ws->orig == NULL) || ws->cur == NULL)
				return NULL;
			size_t pos = 0;
			const uint8_t *rd;
			uint16_t len;
			while (ws->orig_n < s->count && cdns_rrset_next(s, &pos, &rd, &len)) {
				uint8_t *canon = arena_dup(&e->mem, rd, len);
				if (canon == NULL)
					return NULL;
				cdns_rdata_canonicalize(s->type, canon, len);
				ws->orig[ws->orig_n++] = (struct wrd){rd, canon, len};
			}
			memcpy(ws->cur, ws->orig, sizeof(struct wrd) * ws->orig_n);
			ws->n = ws->orig_n;
			w->n_sets++;
		}
	}
	w->next_hash = e->tab[slot];
	e->tab[slot] = w;
	*e->list_tail = w;
	e->list_tail = &w->next_list;
	return w;
}

static struct wset *wset_find(struct wname *w, uint16_t type)
{
	for (unsigned i = 0; i < w->n_sets; i++)
		if (w->sets[i].type == type)
			return &w->sets[i];
	return NULL;
}

static struct wset *wset_get(struct eval *e, struct wname *w, uint16_t type)
{
	struct wset *ws = wset_find(w, type);
	if (ws != NULL)
		return ws;
	if (w->n_sets == w->cap_sets) {
		unsigned cap = w->cap_sets ? w->cap_sets * 2 : 4;
		struct wset *n = arena_alloc(&e->mem, sizeof(*n) * cap);
		if (n == NULL)
			return NULL;
		if (w->n_sets > 0)
			memcpy(n, w->sets, sizeof(*n) * w->n_sets);
		w->sets = n;
		w->cap_sets = cap;
	}
	ws = &w->sets[w->n_sets++];
	memset(ws, 0, sizeof(*ws));
	ws->type = type;
	return ws;
}

static bool wset_push(struct eval *e, struct wset *ws, const struct urr *u)
{
	if (ws->n == ws->cap) {
		unsigned cap = ws->cap ? ws->cap * 2 : 4;
		struct wrd *n = arena_alloc(&e->mem, sizeof(*n) * cap);
		if (n == NULL)
			return false;
		if (ws->n > 0)
			memcpy(n, ws->cur, sizeof(*n) * ws->n);
		ws->cur = n;
		ws->cap = cap;
	}
	ws->cur[ws->n++] = (struct wrd){u->rdata, u->canon, u->rdlen};
	return true;
}

static unsigned wset_count(const struct wname *w, uint16_t type)
{
	for (unsigned i = 0; i < w->n_sets; i++)
		if (w->sets[i].type == type)
			return w->sets[i].n;
	return 0;
}

static bool wname_in_use(const struct wname *w)
{
	for (unsigned i = 0; i < w->n_sets; i++)
		if (w->sets[i].n > 0)
			return true;
	return false;
}

/* Data that cannot share a name with a CNAME (RFC 2181 §10.1; RRSIG and NSEC may, RFC 4035
 * §2.5). */
static bool cname_compatible(uint16_t type)
{
	return type == CDNS_T_CNAME || type == CDNS_T_RRSIG || type == CDNS_T_NSEC;
}

static bool wname_has_non_cname(const struct wname *w)
{
	for (unsigned i = 0; i < w->n_sets; i++)
		if (w->sets[i].n > 0 && !cname_compatible(w->sets[i].type))
			return true;
	return false;
}

static void why_rr(struct eval *e, const char *what, const uint8_t *owner, uint16_t type)
{
	char name[CDNS_NAME_MAXTEXT], tname[16];
	cdns_name_to_text(owner, name, sizeof(name));
	cdns_rrtype_to_text(type, tname, sizeof(tname));
	snprintf(e->why, sizeof(e->why), "%s %s %s", what, name, tname);
}

/* RFC 2136 §3.2: the prerequisites, against the zone before any update. Returns an rcode. */
static int check_prereqs(struct eval *e)
{
	const struct req *r = e->req;
	for (unsigned i = 0; i < r->n_pre; i++) {
		const struct urr *u = &r->pre[i];
		if (u->ttl != 0)
			return CDNS_RCODE_FORMERR;
		if (!cdns_name_in(u->lc, r->apex))
			return CDNS_RCODE_NOTZONE;
		if (u->rclass == CDNS_C_ANY || u->rclass == CDNS_C_NONE) {
			if (u->rdlen != 0)
				return CDNS_RCODE_FORMERR;
			if (u->type != CDNS_T_ANY && cdns_rrtype_is_meta(u->type))
				return CDNS_RCODE_FORMERR;
			struct wname *w = wname_get(e, u->owner, u->lc, u->hash);
			if (w == NULL)
				return CDNS_RCODE_SERVFAIL;
			bool exists =
			    u->type == CDNS_T_ANY ? wname_in_use(w) : wset_count(w, u->type) > 0;
			if (u->rclass == CDNS_C_ANY && !exists) {
				why_rr(e, "prerequisite failed: no", u->lc, u->type);
				return u->type == CDNS_T_ANY ? CDNS_RCODE_NXDOMAIN
				                             : CDNS_RCODE_NXRRSET;
			}
			if (u->rclass == CDNS_C_NONE && exists) {
				why_rr(e, "prerequisite failed: existing", u->lc, u->type);
				return u->type == CDNS_T_ANY ? CDNS_RCODE_YXDOMAIN
				                             : CDNS_RCODE_YXRRSET;
			}
			continue;
		}
		if (u->rclass != r->zclass || u->bad_rdata || cdns_rrtype_is_meta(u->type))
			return CDNS_RCODE_FORMERR;
	}
	/* Value-dependent: each <name, type> of the section, as a set, must equal the zone's
	 * RRset exactly (§2.4.2; TTLs are not compared). */
	for (unsigned i = 0; i < r->n_pre; i++) {
		const struct urr *u = &r->pre[i];
		if (u->rclass != r->zclass)
			continue;
		bool first = true;
		for (unsigned j = 0; j < i && first; j++)
			if (r->pre[j].rclass == r->zclass && r->pre[j].type == u->type &&
			    cdns_name_equal(r->pre[j].lc, u->lc))
				first = false;
		if (!first)
			continue; /* this <name, type> was checked with its first RR */
		struct wname *w = wname_get(e, u->owner, u->lc, u->hash);
		if (w == NULL)
			return CDNS_RCODE_SERVFAIL;
		struct wset *ws = wset_find(w, u->type);
		unsigned zone_n = ws != NULL ? ws->n : 0, distinct = 0;
		bool match = true;
		for (unsigned j = i; j < r->n_pre && match; j++) {
			const struct urr *v = &r->pre[j];
			if (v->rclass != r->zclass || v->type != u->type ||
			    !cdns_name_equal(v->lc, u->lc))
				continue;
			bool dup = false;
			for (unsigned k = i; k < j && !dup; k++) {
				const struct urr *x = &r->pre[k];
				dup = x->rclass == r->zclass && x->type == v->type &&
				      cdns_name_equal(x->lc, v->lc) && x->rdlen == v->rdlen &&
				      memcmp(x->canon, v->canon, v->rdlen) == 0;
			}
			if (dup)
				continue;
			distinct++;
			if (zone_n == 0 || !wrd_in(ws->cur, ws->n, v->canon, v->rdlen))
				match = false;
		}
		if (!match || distinct != zone_n) {
			why_rr(e, "prerequisite failed: different", u->lc, u->type);
			return CDNS_RCODE_NXRRSET;
		}
	}
	return CDNS_RCODE_NOERROR;
}

/* RFC 2136 §3.4.1: the prescan. Returns an rcode. */
static int prescan(const struct req *r)
{
	for (unsigned i = 0; i < r->n_upd; i++) {
		const struct urr *u = &r->upd[i];
		if (!cdns_name_in(u->lc, r->apex))
			return CDNS_RCODE_NOTZONE;
		if (u->rclass == r->zclass) {
			if (cdns_rrtype_is_meta(u->type) || u->bad_rdata)
				return CDNS_RCODE_FORMERR;
		} else if (u->rclass == CDNS_C_ANY) {
			if (u->ttl != 0 || u->rdlen != 0 ||
			    (u->type != CDNS_T_ANY && cdns_rrtype_is_meta(u->type)))
				return CDNS_RCODE_FORMERR;
		} else if (u->rclass == CDNS_C_NONE) {
			if (u->ttl != 0 || cdns_rrtype_is_meta(u->type) || u->bad_rdata)
				return CDNS_RCODE_FORMERR;
		} else {
			return CDNS_RCODE_FORMERR;
		}
	}
	return CDNS_RCODE_NOERROR;
}

/* RFC 2136 §3.3 with RFC 3007: may the client change (owner, type)? */
static bool permitted(struct eval *e, const struct urr *u, uint16_t type, bool any_type)
{
	const struct rule *rule = policy_find(e->st, &e->req->client, u->lc, type, any_type);
	if (rule != NULL && rule->grant)
		return true;
	char name[CDNS_NAME_MAXTEXT], tname[16];
	cdns_name_to_text(u->lc, name, sizeof(name));
	if (any_type)
		snprintf(tname, sizeof(tname), "ANY");
	else
		cdns_rrtype_to_text(type, tname, sizeof(tname));
	if (rule != NULL)
		snprintf(e->why, sizeof(e->why), "%s %s denied by the rule at line %u", name, tname,
		         rule->line);
	else
		snprintf(e->why, sizeof(e->why), "%s %s not granted by any rule", name, tname);
	return false;
}

/* Types a replacement rather than an addition is for (RFC 2136 §1.1.5; DNAME by RFC 6672
 * §2.4, one per name). */
static bool singleton(uint16_t type)
{
	return type == CDNS_T_CNAME || type == CDNS_T_DNAME;
}

/* §3.4.2.2: add an RR. Returns false when out of memory. */
static bool apply_add(struct eval *e, struct wname *w, const struct urr *u)
{
	if (u->type == CDNS_T_SOA) {
		/* Only at the apex, and only with a newer serial (RFC 1982); then it replaces the
		 * SOA. */
		if (!cdns_name_equal(u->lc, e->req->apex))
			return true;
		uint32_t cur, next;
		if (cdns_soa_serial(e->soa, e->soa_len, &cur) != 0 ||
		    cdns_soa_serial(u->rdata, u->rdlen, &next) != 0 ||
		    cdns_serial_cmp(next, cur) != 1)
			return true;
		e->soa = u->rdata;
		e->soa_len = u->rdlen;
		e->soa_ttl = u->ttl;
		e->soa_changed = true;
		return true;
	}
	/* CNAME exclusivity (RFC 2181 §10.1): a CNAME beside other data is ignored, and so is
	 * other data beside a CNAME. */
	if (u->type == CDNS_T_CNAME) {
		if (wname_has_non_cname(w))
			return true;
	} else if (!cname_compatible(u->type) && wset_count(w, CDNS_T_CNAME) > 0) {
		return true;
	}
	struct wset *ws = wset_get(e, w, u->type);
	if (ws == NULL)
		return false;
	if (ws->n > 0 && singleton(u->type)) {
		ws->n = 0; /* replaced */
	} else if (u->type == CDNS_T_WKS && u->rdlen >= 5) {
		/* RFC 2136 §1.1.5: one WKS per address and protocol. */
		for (unsigned i = 0; i < ws->n; i++) {
			if (ws->cur[i].len >= 5 && memcmp(ws->cur[i].rdata, u->rdata, 5) == 0) {
				ws->cur[i] = ws->cur[--ws->n];
				break;
			}
		}
	}
	/* A duplicate is not added again; its TTL, like that of any added RR, becomes the
	 * RRset's (RFC 2181 §5.2: one TTL per RRset; the latest one asked for wins). */
	ws->ttl = u->ttl;
	if (wrd_in(ws->cur, ws->n, u->canon, u->rdlen))
		return true;
	return wset_push(e, ws, u);
}

static void wset_clear(struct wset *ws)
{
	ws->n = 0;
}

/* §3.4.2.3-4 and the permission check of every update RR (§3.3), in order. Returns an rcode. */
static int apply_updates(struct eval *e)
{
	const struct req *r = e->req;
	const uint8_t *apex = r->apex;
	for (unsigned i = 0; i < r->n_upd; i++) {
		const struct urr *u = &r->upd[i];
		struct wname *w = wname_get(e, u->owner, u->lc, u->hash);
		if (w == NULL)
			return CDNS_RCODE_SERVFAIL;
		bool at_apex = cdns_name_equal(u->lc, apex);
		if (u->rclass == CDNS_C_ANY && u->type == CDNS_T_ANY) {
			/* Delete all RRsets of a name (at the apex: all but SOA and NS). Each type
			 * that goes must be granted. */
			bool any = false;
			for (unsigned k = 0; k < w->n_sets; k++) {
				struct wset *ws = &w->sets[k];
				if (ws->n == 0 ||
				    (at_apex && (ws->type == CDNS_T_SOA || ws->type == CDNS_T_NS)))
					continue;
				any = true;
				if (!permitted(e, u, ws->type, false))
					return CDNS_RCODE_REFUSED;
				wset_clear(ws);
			}
			if (!any && !permitted(e, u, 0, true))
				return CDNS_RCODE_REFUSED;
			continue;
		}
		if (!permitted(e, u, u->type, false))
			return CDNS_RCODE_REFUSED;
		if (u->rclass == r->zclass) {
			if (!apply_add(e, w, u))
				return CDNS_RCODE_SERVFAIL;
		} else if (u->rclass == CDNS_C_ANY) {
			/* Delete an RRset; never the SOA or the NS RRset of the apex. */
			if (at_apex && (u->type == CDNS_T_SOA || u->type == CDNS_T_NS))
				continue;
			struct wset *ws = wset_find(w, u->type);
			if (ws != NULL)
				wset_clear(ws);
		} else {
			/* Delete an RR; never the SOA, nor the last NS of the apex. */
			if (u->type == CDNS_T_SOA)
				continue;
			struct wset *ws = wset_find(w, u->type);
			if (ws == NULL)
				continue;
			for (unsigned k = 0; k < ws->n; k++) {
				if (ws->cur[k].len != u->rdlen ||
				    memcmp(ws->cur[k].canon, u->canon, u->rdlen) != 0)
					continue;
				if (at_apex && u->type == CDNS_T_NS && ws->n == 1)
					break;
				ws->cur[k] = ws->cur[--ws->n];
				break;
			}
		}
	}
	return CDNS_RCODE_NOERROR;
}

/* The difference between the zone and the working copy, as a changeset (NULL when nothing
 * changes). Returns 0 or a CDNS_E* code. */
static int build_changeset(struct eval *e, cdns_changeset_t **out)
{
	*out = NULL;
	const cdns_znode_t *apex_node = cdns_zone_node(e->zone, 0);
	cdns_changeset_t *cs = cdns_changeset_new(apex_node->owner_case, e->req->zclass);
	if (cs == NULL)
		return CDNS_ENOMEM;
	int rc = 0;
	uint16_t zc = e->req->zclass;
	for (struct wname *w = e->list; w != NULL && rc == 0; w = w->next_list) {
		const uint8_t *owner = w->node != NULL ? w->node->owner_case : w->owner;
		for (unsigned k = 0; k < w->n_sets && rc == 0; k++) {
			struct wset *ws = &w->sets[k];
			if (ws->type == CDNS_T_SOA)
				continue; /* the SOAs are set below */
			if (ws->orig_n == 0 && ws->n == 0)
				continue;
			/* A TTL change is the whole RRset removed and added again. */
			bool ttl_changed = ws->orig_n > 0 && ws->n > 0 && ws->orig_ttl != ws->ttl;
			for (unsigned j = 0; j < ws->orig_n && rc == 0; j++) {
				const struct wrd *d = &ws->orig[j];
				if (!ttl_changed && wrd_in(ws->cur, ws->n, d->canon, d->len))
					continue;
				rc = cdns_changeset_remove(cs, owner, ws->type, zc, ws->orig_ttl,
				                           d->rdata, d->len);
				e->n_removed++;
			}
			for (unsigned j = 0; j < ws->n && rc == 0; j++) {
				const struct wrd *d = &ws->cur[j];
				if (!ttl_changed && wrd_in(ws->orig, ws->orig_n, d->canon, d->len))
					continue;
				rc = cdns_changeset_add(cs, owner, ws->type, zc, ws->ttl, d->rdata,
				                        d->len);
				e->n_added++;
			}
		}
	}
	if (rc == 0 && e->soa_changed) {
		/* The client's serial is used as given (RFC 2136 §3.6). */
		const cdns_rrset_t *soa = cdns_znode_rrset(apex_node, CDNS_T_SOA);
		size_t pos = 0;
		const uint8_t *rd;
		uint16_t len;
		if (soa == NULL || !cdns_rrset_next(soa, &pos, &rd, &len))
			rc = CDNS_EINVAL;
		if (rc == 0)
			rc = cdns_changeset_set_soa(cs, CDNS_CS_BEFORE, soa->ttl, rd, len);
		if (rc == 0)
			rc = cdns_changeset_set_soa(cs, CDNS_CS_AFTER, e->soa_ttl, e->soa,
			                            e->soa_len);
	}
	if (rc != 0 || (e->n_removed == 0 && e->n_added == 0 && !e->soa_changed)) {
		cdns_changeset_free(cs);
		return rc;
	}
	*out = cs;
	return 0;
}

/* The whole request against one zone version: prerequisites (§3.2), prescan (§3.4.1),
 * permissions (§3.3) and updates (§3.4.2). Returns an rcode, and with NOERROR *cs (NULL when
 * nothing changes). why says what failed. */
static int evaluate(const struct update_state *st, const struct req *r, const cdns_zone_t *z,
                    cdns_changeset_t **cs, char *why, size_t whylen, unsigned *removed,
                    unsigned *added)
{
	struct eval e;
	*cs = NULL;
	int rcode;
	int rc = eval_init(&e, st, r, z);
	if (rc != 0) {
		snprintf(e.why, sizeof(e.why), "%s",
		         rc == CDNS_ENOMEM ? "out of memory" : "the zone has no usable SOA");
		rcode = CDNS_RCODE_SERVFAIL;
		goto out;
	}
	if ((rcode = check_prereqs(&e)) != CDNS_RCODE_NOERROR)
		goto out;
	if ((rcode = prescan(r)) != CDNS_RCODE_NOERROR)
		goto out;
	if ((rcode = apply_updates(&e)) != CDNS_RCODE_NOERROR)
		goto out;
	if ((rc = build_changeset(&e, cs)) != 0) {
		snprintf(e.why, sizeof(e.why), "cannot build the change: %s", cdns_strerror(rc));
		rcode = CDNS_RCODE_SERVFAIL;
	}
out:
	if (rcode == CDNS_RCODE_SERVFAIL && e.why[0] == '\0')
		snprintf(e.why, sizeof(e.why), "out of memory");
	snprintf(why, whylen, "%s", e.why);
	*removed = e.n_removed;
	*added = e.n_added;
	eval_fini(&e);
	return rcode;
}

/* --- Logging (refusals are rate-limited: a client must not flood the log). --- */

static bool log_allowed(void)
{
	static _Thread_local time_t second;
	static _Thread_local unsigned lines;
	time_t now = time(NULL);
	if (now != second) {
		second = now;
		lines = 0;
	}
	return lines++ < 10;
}

static const char *rcode_name(int rcode)
{
	static const char *const names[] = {"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN",
	                                    "NOTIMP",  "REFUSED", "YXDOMAIN", "YXRRSET",
	                                    "NXRRSET", "NOTAUTH", "NOTZONE"};
	return rcode >= 0 && rcode <= 10 ? names[rcode] : "?";
}

static void log_outcome(const struct req *r, int rcode, const char *why)
{
	if (!cdns_log_enabled(CDNS_LOG_INFO) || !log_allowed())
		return;
	char zone[CDNS_NAME_MAXTEXT];
	cdns_name_to_text(r->apex, zone, sizeof(zone));
	cdns_info("update: zone %s: %s from %s%s%s", zone, rcode_name(rcode), r->client.text,
	          why[0] ? ": " : "", why);
}

/* --- Commit on the control loop, answer on the worker. --- */

struct job {
	const struct update_state *st;
	cdns_query_t *q;
	cdns_worker_t *worker;
	char *view;
	struct req *req;
	cdns_zone_t *zone; /* the version the changeset was built against */
	cdns_changeset_t *cs;
	int rcode;
	char err[WHY_MAX];
	ev_timer retry;
};

static cdns_verdict_t answer(cdns_query_t *q, int rcode, const char *why);

static void job_free(struct job *j)
{
	if (j->zone != NULL)
		cdns_zone_unref(j->zone);
	cdns_changeset_free(j->cs);
	req_free(j->req);
	free(j->view);
	free(j);
}

static void job_resume(void *arg)
{
	struct job *j = arg;
	cdns_query_t *q = j->q;
	cdns_resp_set_rcode(q, (uint16_t)j->rcode);
	int rcode = j->rcode;
	char err[sizeof(j->err)];
	memcpy(err, j->err, sizeof(err));
	job_free(j);
	(void)answer(q, rcode, err);
	cdns_query_resume(q, CDNS_DONE);
}

static void job_post_back(struct job *j);

static void retry_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)revents;
	struct job *j = t->data;
	ev_timer_stop(loop, t);
	job_post_back(j);
}

/* Hand the job back to its worker. The query cannot be answered anywhere else, so when the
 * mailbox has no memory, try again shortly. */
static void job_post_back(struct job *j)
{
	if (cdns_worker_post(j->worker, job_resume, j) == 0)
		return;
	ev_timer_init(&j->retry, retry_cb, 0.01, 0.);
	j->retry.data = j;
	ev_timer_start(cdns_control_loop(), &j->retry);
}

/* How often a commit is tried again when the zone changed under it (a backend publishing a
 * new version from another thread). */
#define COMMIT_ATTEMPTS 3

static void job_commit(void *arg)
{
	struct job *j = arg;
	struct req *r = j->req;
	char zone[CDNS_NAME_MAXTEXT];
	cdns_name_to_text(r->apex, zone, sizeof(zone));
	for (unsigned attempt = 1;; attempt++) {
		cdns_zone_t *cur = cdns_registry_get(j->view, r->apex);
		if (cur == NULL) {
			j->rcode = CDNS_RCODE_NOTAUTH;
			log_outcome(r, j->rcode, "the zone left the registry");
			break;
		}
		if (cur != j->zone) {
			/* Another change was committed since the worker looked: the prerequisites
			 * and the changes are worked out again against the version this one will
			 * follow (RFC 2136 §3.7). */
			cdns_changeset_free(j->cs);
			j->cs = NULL;
			cdns_zone_unref(j->zone);
			j->zone = cur;
			char why[WHY_MAX];
			unsigned removed, added;
			j->rcode =
			    evaluate(j->st, r, cur, &j->cs, why, sizeof(why), &removed, &added);
			if (j->rcode != CDNS_RCODE_NOERROR || j->cs == NULL) {
				snprintf(j->err, sizeof(j->err), "%s", why);
				log_outcome(r, j->rcode,
				            j->rcode == CDNS_RCODE_NOERROR ? "no change" : why);
				break;
			}
		} else {
			cdns_zone_unref(cur);
		}
		unsigned removed = (unsigned)cdns_changeset_count(j->cs, CDNS_CS_REMOVED);
		unsigned added = (unsigned)cdns_changeset_count(j->cs, CDNS_CS_ADDED);
		uint32_t before = cdns_zone_serial(j->zone);
		cdns_zone_t *fresh = NULL;
		char err[512];
		int rc = cdns_registry_commit(j->view, r->apex, j->cs, err, sizeof(err), &fresh);
		if (rc == 0) {
			j->rcode = CDNS_RCODE_NOERROR;
			cdns_info("update: zone %s: from %s: serial %u -> %u, %u removed, %u added",
			          zone, r->client.text, before, cdns_zone_serial(fresh), removed,
			          added);
			cdns_zone_unref(fresh);
			break;
		}
		if (attempt < COMMIT_ATTEMPTS && rc != CDNS_EIO && rc != CDNS_ENOMEM) {
			/* The changeset no longer fits the current version: start over from it. */
			cdns_zone_t *now = cdns_registry_get(j->view, r->apex);
			bool moved = now != j->zone;
			if (now != NULL)
				cdns_zone_unref(now);
			if (moved)
				continue;
		}
		j->rcode = CDNS_RCODE_SERVFAIL;
		snprintf(j->err, sizeof(j->err), "update not committed: %s",
		         err[0] ? err : cdns_strerror(rc));
		cdns_err("update: zone %s: from %s: %s", zone, r->client.text, j->err);
		break;
	}
	job_post_back(j);
}

/* --- The query hook. --- */

/* Set the rcode, with an Extended DNS Error (RFC 8914) saying why where it helps. */
static cdns_verdict_t answer(cdns_query_t *q, int rcode, const char *why)
{
	cdns_resp_set_rcode(q, (uint16_t)rcode);
	if (rcode == CDNS_RCODE_REFUSED) {
		char *text = NULL;
		if (why != NULL && why[0] != '\0') {
			size_t n = strlen(why) + 1;
			if ((text = cdns_query_alloc(q, n)) != NULL)
				memcpy(text, why, n);
		}
		cdns_resp_set_ede(q, CDNS_EDE_PROHIBITED, text);
	} else if (rcode == CDNS_RCODE_NOTAUTH) {
		cdns_resp_set_ede(q, CDNS_EDE_NOT_AUTHORITATIVE, NULL);
	} else if (rcode == CDNS_RCODE_SERVFAIL && why != NULL && why[0] != '\0') {
		size_t n = strlen(why) + 1;
		char *text = cdns_query_alloc(q, n);
		if (text != NULL)
			memcpy(text, why, n);
		cdns_resp_set_ede(q, CDNS_EDE_OTHER, text);
	}
	return CDNS_DONE;
}

static bool zone_accepted(const struct update_state *st, const uint8_t *apex)
{
	if (st->zones == NULL)
		return true;
	for (unsigned i = 0; i < st->n_zones; i++)
		if (cdns_name_equal(st->zones[i], apex))
			return true;
	return false;
}

static cdns_verdict_t update_query(void *state, cdns_query_t *q)
{
	const struct update_state *st = state;
	if (q->opcode != CDNS_OPCODE_UPDATE)
		return CDNS_NEXT;
	/* RFC 2136 §3.1.1: one zone (the core checked ZOCOUNT), of type SOA. */
	if (q->qname_len == 0 || q->qtype != CDNS_T_SOA)
		return answer(q, CDNS_RCODE_FORMERR, NULL);
	const char *view = q->view != NULL ? q->view : "default";
	if (!zone_accepted(st, q->qname))
		return answer(q, CDNS_RCODE_NOTAUTH, NULL);
	cdns_zone_t *z = cdns_registry_get(view, q->qname);
	if (z == NULL)
		return answer(q, CDNS_RCODE_NOTAUTH, NULL);
	/* A secondary zone changes only by transfers from its primary (we do not forward
	 * updates, RFC 2136 §6). */
	if (cdns_registry_is_secondary(view, q->qname)) {
		cdns_zone_unref(z);
		return answer(q, CDNS_RCODE_NOTAUTH, NULL);
	}
	if (cdns_zone_class(z) != q->qclass) {
		cdns_zone_unref(z);
		return answer(q, CDNS_RCODE_NOTAUTH, NULL);
	}
	struct req *r = NULL;
	int rc = req_parse(q, &r);
	if (rc != 0) {
		cdns_zone_unref(z);
		return answer(q, rc == CDNS_ENOMEM ? CDNS_RCODE_SERVFAIL : CDNS_RCODE_FORMERR,
		              NULL);
	}
	if (!policy_client_may(st, &r->client)) {
		log_outcome(r, CDNS_RCODE_REFUSED, "no rule grants this client anything");
		req_free(r);
		cdns_zone_unref(z);
		return answer(q, CDNS_RCODE_REFUSED, NULL);
	}
	char why[WHY_MAX];
	unsigned removed, added;
	cdns_changeset_t *cs = NULL;
	int rcode = evaluate(st, r, z, &cs, why, sizeof(why), &removed, &added);
	if (rcode != CDNS_RCODE_NOERROR || cs == NULL) {
		if (rcode != CDNS_RCODE_NOERROR)
			log_outcome(r, rcode, why);
		req_free(r);
		cdns_zone_unref(z);
		return answer(q, rcode, why);
	}
	struct job *j = calloc(1, sizeof(*j));
	if (j == NULL) {
		cdns_changeset_free(cs);
		req_free(r);
		cdns_zone_unref(z);
		return answer(q, CDNS_RCODE_SERVFAIL, "out of memory");
	}
	j->st = st;
	j->q = q;
	j->worker = q->worker;
	j->req = r;
	j->zone = z;
	j->cs = cs;
	if ((j->view = strdup(view)) == NULL || cdns_control_post(job_commit, j) != 0) {
		job_free(j);
		return answer(q, CDNS_RCODE_SERVFAIL, "out of memory");
	}
	return CDNS_ASYNC;
}

CDNS_PLUGIN(.name = "update", .version = CDNS_VERSION,
            .description = "dynamic updates (RFC 2136) with access rules (RFC 3007)",
            .setup = update_setup, .query = update_query, .teardown = update_teardown);
