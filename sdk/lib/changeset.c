/* Serial number arithmetic (RFC 1982), changesets, and cdns_zone_apply().
 *
 * A changeset keeps its RRs in one array per section (grown by doubling) and every owner name
 * and RDATA in a chain of arena blocks: building a changeset of n RRs costs O(log n) mallocs,
 * not n. RRs are compared the way the zone builder merges duplicates: owner names
 * case-insensitively (RFC 4343), RDATA in the canonical form of RFC 4034 §6.2 (names inside
 * the RDATA of the RFC 1035 types and a few others lower-cased), TTLs ignored. */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <clouddns/changeset.h>
#include <clouddns/error.h>
#include <clouddns/name.h>
#include <clouddns/rdata.h>
#include <clouddns/rrtype.h>
#include <clouddns/wire.h>
#include <clouddns/zone.h>

#include "zone_impl.h"

#define CDNS__CS_BLK_MIN    2048u      /* first arena block: a small update fits */
#define CDNS__CS_BLK_MAX    (1u << 20) /* blocks double up to this size */
#define CDNS__APPLY_REPORTS 100        /* problems reported one by one, then counted */
#define CDNS__FAST_MAX_RRS  65536      /* larger changesets rebuild the zone */

struct cdns__csblk {
	struct cdns__csblk *next;
	size_t used, cap;
	uint8_t data[];
};

struct cdns_changeset {
	uint8_t apex[CDNS_NAME_MAXLEN]; /* as given */
	uint16_t rclass;
	bool has_soa[2];
	cdns_changeset_rr_t soa[2];
	cdns_changeset_rr_t *rrs[2];
	size_t n[2], cap[2];
	size_t bytes; /* see cdns_changeset_size */
	struct cdns__csblk *arena;
};

/* ---------------------------------------------------------------------------------------- */
/* Serial numbers                                                                             */

#pragma GCC visibility push(default)

int cdns_serial_cmp(uint32_t a, uint32_t b)
{
	/* RFC 1982 §3.2: a < b iff (a < b and b - a < 2^31) or (a > b and a - b > 2^31); the
	 * distance b - a modulo 2^32 says which case holds. */
	uint32_t d = b - a;

	if (d == 0)
		return 0;
	if (d == UINT32_C(0x80000000))
		return CDNS_SERIAL_UNDEFINED;
	return d < UINT32_C(0x80000000) ? -1 : 1;
}

uint32_t cdns_serial_next(uint32_t current, cdns_serial_policy_t policy, time_t now)
{
	/* RFC 1982 §3.1: addition wraps modulo 2^32. */
	uint32_t next = current + 1, cand;

	switch (policy) {
	case CDNS_SERIAL_UNIXTIME:
		if (now < 0 || (unsigned long long)now > UINT32_MAX)
			return next;
		cand = (uint32_t)now;
		break;
	case CDNS_SERIAL_DATESERIAL: {
		struct tm tm;
		if (gmtime_r(&now, &tm) == NULL)
			return next;
		long long date = (tm.tm_year + 1900LL) * 10000 + (tm.tm_mon + 1) * 100 + tm.tm_mday;
		/* YYYYMMDD00 fits in 32 bits until the year 4294. */
		if (date <= 0 || date * 100 > UINT32_MAX)
			return next;
		cand = (uint32_t)(date * 100);
		break;
	}
	case CDNS_SERIAL_INCREMENT:
	default: return next;
	}
	return cdns_serial_cmp(cand, current) == 1 ? cand : next;
}

int cdns_soa_serial(const uint8_t *rdata, uint16_t rdlen, uint32_t *serial)
{
	/* Two names of at least one byte each, then five 32-bit fields. */
	if (rdata == NULL || rdlen < 22)
		return CDNS_EFORMAT;
	*serial = cdns_get32(rdata + rdlen - 20);
	return 0;
}

#pragma GCC visibility pop

/* ---------------------------------------------------------------------------------------- */
/* Changesets                                                                                 */

static uint8_t *cdns__cs_alloc(cdns_changeset_t *cs, size_t n)
{
	struct cdns__csblk *b = cs->arena;

	if (b != NULL && b->cap - b->used >= n) {
		uint8_t *p = b->data + b->used;
		b->used += n;
		return p;
	}
	size_t cap = b == NULL ? CDNS__CS_BLK_MIN : b->cap * 2;
	if (cap > CDNS__CS_BLK_MAX)
		cap = CDNS__CS_BLK_MAX;
	if (cap < n)
		cap = n;
	b = malloc(sizeof(*b) + cap);
	if (b == NULL)
		return NULL;
	b->cap = cap;
	b->used = n;
	b->next = cs->arena;
	cs->arena = b;
	return b->data;
}

static bool cdns__soa_which_ok(int which)
{
	return which == CDNS_CS_BEFORE || which == CDNS_CS_AFTER;
}

static bool cdns__section_ok(int section)
{
	return section == CDNS_CS_REMOVED || section == CDNS_CS_ADDED;
}

static int cdns__cs_push(cdns_changeset_t *cs, int section, const uint8_t *owner, uint16_t type,
                         uint16_t rclass, uint32_t ttl, const uint8_t *rdata, uint16_t rdlen)
{
	if (cs == NULL || owner == NULL || (rdata == NULL && rdlen > 0))
		return CDNS_EINVAL;
	if (rclass != cs->rclass || type == 0 || type == CDNS_T_SOA || cdns_rrtype_is_meta(type))
		return CDNS_EINVAL;
	int len = cdns_name_check(owner, CDNS_NAME_MAXLEN);
	if (len < 0 || !cdns_name_in(owner, cs->apex))
		return CDNS_EINVAL;
	if (cdns_rdata_check(type, rdata, rdlen) < 0)
		return CDNS_EINVAL;

	if (cs->n[section] == cs->cap[section]) {
		size_t cap = cs->cap[section] ? cs->cap[section] * 2 : 16;
		cdns_changeset_rr_t *v = realloc(cs->rrs[section], cap * sizeof(*v));
		if (v == NULL)
			return CDNS_ENOMEM;
		cs->rrs[section] = v;
		cs->cap[section] = cap;
	}
	uint8_t *p = cdns__cs_alloc(cs, (size_t)len + rdlen);
	if (p == NULL)
		return CDNS_ENOMEM;
	memcpy(p, owner, (size_t)len);
	if (rdlen > 0)
		memcpy(p + len, rdata, rdlen);
	cdns_changeset_rr_t *rr = &cs->rrs[section][cs->n[section]++];
	rr->owner = p;
	rr->rdata = p + len;
	rr->ttl = ttl;
	rr->type = type;
	rr->rclass = rclass;
	rr->rdlen = rdlen;
	cs->bytes += (size_t)len + 10 + rdlen;
	return 0;
}

#pragma GCC visibility push(default)

cdns_changeset_t *cdns_changeset_new(const uint8_t *apex, uint16_t rclass)
{
	if (apex == NULL)
		return NULL;
	int len = cdns_name_check(apex, CDNS_NAME_MAXLEN);
	if (len < 0)
		return NULL;
	cdns_changeset_t *cs = calloc(1, sizeof(*cs));
	if (cs == NULL)
		return NULL;
	memcpy(cs->apex, apex, (size_t)len);
	cs->rclass = rclass;
	return cs;
}

void cdns_changeset_free(cdns_changeset_t *cs)
{
	if (cs == NULL)
		return;
	struct cdns__csblk *b = cs->arena;
	while (b != NULL) {
		struct cdns__csblk *next = b->next;
		free(b);
		b = next;
	}
	free(cs->rrs[0]);
	free(cs->rrs[1]);
	free(cs);
}

void cdns_changeset_clear(cdns_changeset_t *cs)
{
	if (cs == NULL)
		return;
	/* Keep the largest block: a changeset reused for similar data (journal reads) then
	 * allocates nothing. */
	struct cdns__csblk *keep = NULL, *b = cs->arena;
	while (b != NULL) {
		struct cdns__csblk *next = b->next;
		if (keep == NULL || b->cap > keep->cap) {
			free(keep);
			keep = b;
		} else {
			free(b);
		}
		b = next;
	}
	if (keep != NULL) {
		keep->used = 0;
		keep->next = NULL;
	}
	cs->arena = keep;
	cs->n[0] = cs->n[1] = 0;
	cs->has_soa[0] = cs->has_soa[1] = false;
	cs->bytes = 0;
}

const uint8_t *cdns_changeset_apex(const cdns_changeset_t *cs)
{
	return cs->apex;
}

uint16_t cdns_changeset_class(const cdns_changeset_t *cs)
{
	return cs->rclass;
}

int cdns_changeset_set_soa(cdns_changeset_t *cs, int which, uint32_t ttl, const uint8_t *rdata,
                           uint16_t rdlen)
{
	if (cs == NULL || !cdns__soa_which_ok(which) || rdata == NULL ||
	    cdns_rdata_check(CDNS_T_SOA, rdata, rdlen) < 0 || rdlen < 22)
		return CDNS_EINVAL;
	uint8_t *p = cdns__cs_alloc(cs, rdlen);
	if (p == NULL)
		return CDNS_ENOMEM;
	memcpy(p, rdata, rdlen);
	size_t apex_len = cdns_name_len(cs->apex);
	if (cs->has_soa[which])
		cs->bytes -= apex_len + 10 + cs->soa[which].rdlen;
	cs->soa[which] = (cdns_changeset_rr_t){
	    .owner = cs->apex,
	    .rdata = p,
	    .ttl = ttl,
	    .type = CDNS_T_SOA,
	    .rclass = cs->rclass,
	    .rdlen = rdlen,
	};
	cs->has_soa[which] = true;
	cs->bytes += apex_len + 10 + rdlen;
	return 0;
}

int cdns_changeset_soa(const cdns_changeset_t *cs, int which, cdns_changeset_rr_t *rr)
{
	if (cs == NULL || !cdns__soa_which_ok(which))
		return CDNS_EINVAL;
	if (!cs->has_soa[which])
		return CDNS_ENOENT;
	if (rr != NULL)
		*rr = cs->soa[which];
	return 0;
}

uint32_t cdns_changeset_serial(const cdns_changeset_t *cs, int which)
{
	uint32_t serial = 0;

	if (cs != NULL && cdns__soa_which_ok(which) && cs->has_soa[which])
		cdns_soa_serial(cs->soa[which].rdata, cs->soa[which].rdlen, &serial);
	return serial;
}

int cdns_changeset_remove(cdns_changeset_t *cs, const uint8_t *owner, uint16_t type,
                          uint16_t rclass, uint32_t ttl, const uint8_t *rdata, uint16_t rdlen)
{
	return cdns__cs_push(cs, CDNS_CS_REMOVED, owner, type, rclass, ttl, rdata, rdlen);
}

int cdns_changeset_add(cdns_changeset_t *cs, const uint8_t *owner, uint16_t type, uint16_t rclass,
                       uint32_t ttl, const uint8_t *rdata, uint16_t rdlen)
{
	return cdns__cs_push(cs, CDNS_CS_ADDED, owner, type, rclass, ttl, rdata, rdlen);
}

size_t cdns_changeset_count(const cdns_changeset_t *cs, int section)
{
	if (cs == NULL || !cdns__section_ok(section))
		return 0;
	return cs->n[section];
}

const cdns_changeset_rr_t *cdns_changeset_rr(const cdns_changeset_t *cs, int section, size_t i)
{
	if (cs == NULL || !cdns__section_ok(section) || i >= cs->n[section])
		return NULL;
	return &cs->rrs[section][i];
}

size_t cdns_changeset_size(const cdns_changeset_t *cs)
{
	return cs == NULL ? 0 : cs->bytes;
}

#pragma GCC visibility pop

/* ---------------------------------------------------------------------------------------- */
/* Comparing RRs                                                                              */

static uint8_t cdns__lower(uint8_t c)
{
	return c >= 'A' && c <= 'Z' ? (uint8_t)(c + 32) : c;
}

static bool cdns__eq_nocase(const uint8_t *a, const uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (a[i] != b[i] && cdns__lower(a[i]) != cdns__lower(b[i]))
			return false;
	return true;
}

/* Equal in canonical form (RFC 4034 §6.2)? scratch holds 2 * CDNS_RDATA_MAXLEN bytes. Only
 * ASCII case inside names can differ between equal RDATA, so a case-blind comparison rejects
 * almost every unequal pair before anything is copied. */
static bool cdns__rdata_equal(uint16_t type, const uint8_t *x, uint16_t xl, const uint8_t *y,
                              uint16_t yl, uint8_t *scratch)
{
	if (xl != yl)
		return false;
	if (xl == 0 || memcmp(x, y, xl) == 0)
		return true;
	if (!cdns__eq_nocase(x, y, xl))
		return false;
	uint8_t *a = scratch, *b = scratch + CDNS_RDATA_MAXLEN;
	memcpy(a, x, xl);
	memcpy(b, y, yl);
	cdns_rdata_canonicalize(type, a, xl);
	cdns_rdata_canonicalize(type, b, yl);
	return memcmp(a, b, xl) == 0;
}

static bool cdns__rr_equal(const cdns_changeset_rr_t *x, const cdns_changeset_rr_t *y,
                           uint8_t *scratch)
{
	return x->type == y->type && x->rclass == y->rclass &&
	       cdns_name_equal(x->owner, y->owner) &&
	       cdns__rdata_equal(x->type, x->rdata, x->rdlen, y->rdata, y->rdlen, scratch);
}

/* FNV-1a over the case-folded owner, type and RDATA: equal RRs (in the sense above) always
 * hash alike, since canonical forms differ from the bytes only in ASCII case. */
static uint64_t cdns__rr_hash(const cdns_changeset_rr_t *rr)
{
	uint64_t h = UINT64_C(0xcbf29ce484222325);
	const uint64_t prime = UINT64_C(0x100000001b3);
	size_t len = cdns_name_len(rr->owner);

	for (size_t i = 0; i < len; i++)
		h = (h ^ cdns__lower(rr->owner[i])) * prime;
	h = (h ^ (rr->type >> 8)) * prime;
	h = (h ^ (rr->type & 0xff)) * prime;
	for (size_t i = 0; i < rr->rdlen; i++)
		h = (h ^ cdns__lower(rr->rdata[i])) * prime;
	return h;
}

/* A hash (or a position key) and the index of the RR it belongs to. */
typedef struct cdns__hidx {
	uint64_t hash;
	size_t idx;
} cdns__hidx_t;

static int cdns__hidx_cmp(const void *pa, const void *pb)
{
	const cdns__hidx_t *a = pa, *b = pb;

	if (a->hash != b->hash)
		return a->hash < b->hash ? -1 : 1;
	return a->idx < b->idx ? -1 : (a->idx > b->idx);
}

/* The RRs of a section, hashed and sorted by hash (NULL on allocation failure; n == 0 gives
 * a valid one-element allocation). */
static cdns__hidx_t *cdns__hash_section(const cdns_changeset_t *cs, int section)
{
	size_t n = cs->n[section];
	cdns__hidx_t *v = malloc((n ? n : 1) * sizeof(*v));

	if (v == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		v[i].hash = cdns__rr_hash(&cs->rrs[section][i]);
		v[i].idx = i;
	}
	qsort(v, n, sizeof(*v), cdns__hidx_cmp);
	return v;
}

/* First position in v[0..n) whose hash is >= h. */
static size_t cdns__hidx_lower(const cdns__hidx_t *v, size_t n, uint64_t h)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (v[mid].hash < h)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* ---------------------------------------------------------------------------------------- */
/* Merge                                                                                      */

static int cdns__copy_rr(cdns_changeset_t *dst, int section, const cdns_changeset_rr_t *rr)
{
	return cdns__cs_push(dst, section, rr->owner, rr->type, rr->rclass, rr->ttl, rr->rdata,
	                     rr->rdlen);
}

#pragma GCC visibility push(default)

int cdns_changeset_merge(const cdns_changeset_t *a, const cdns_changeset_t *b,
                         cdns_changeset_t **out)
{
	cdns_changeset_t *m = NULL;
	cdns__hidx_t *added = NULL;
	bool *gone_a = NULL, *gone_b = NULL;
	uint8_t *scratch = NULL;
	int ret = CDNS_EINVAL;

	if (out != NULL)
		*out = NULL;
	if (a == NULL || b == NULL || out == NULL || a->rclass != b->rclass ||
	    !cdns_name_equal(a->apex, b->apex) || !a->has_soa[CDNS_CS_BEFORE] ||
	    !a->has_soa[CDNS_CS_AFTER] || !b->has_soa[CDNS_CS_BEFORE] || !b->has_soa[CDNS_CS_AFTER])
		return CDNS_EINVAL;

	ret = CDNS_ENOMEM;
	scratch = malloc(2 * (size_t)CDNS_RDATA_MAXLEN);
	if (scratch == NULL)
		goto cleanup;
	const cdns_changeset_rr_t *mid_a = &a->soa[CDNS_CS_AFTER], *mid_b = &b->soa[CDNS_CS_BEFORE];
	if (!cdns__rdata_equal(CDNS_T_SOA, mid_a->rdata, mid_a->rdlen, mid_b->rdata, mid_b->rdlen,
	                       scratch)) {
		ret = CDNS_EINVAL;
		goto cleanup;
	}

	m = cdns_changeset_new(a->apex, a->rclass);
	added = cdns__hash_section(a, CDNS_CS_ADDED);
	gone_a = calloc(a->n[CDNS_CS_ADDED] + 1, sizeof(*gone_a));
	gone_b = calloc(b->n[CDNS_CS_REMOVED] + 1, sizeof(*gone_b));
	if (m == NULL || added == NULL || gone_a == NULL || gone_b == NULL)
		goto cleanup;

	/* An RR that a adds and b removes cancels out. */
	size_t na = a->n[CDNS_CS_ADDED];
	for (size_t i = 0; i < b->n[CDNS_CS_REMOVED]; i++) {
		const cdns_changeset_rr_t *rr = &b->rrs[CDNS_CS_REMOVED][i];
		uint64_t h = cdns__rr_hash(rr);
		for (size_t k = cdns__hidx_lower(added, na, h); k < na && added[k].hash == h; k++) {
			size_t j = added[k].idx;
			if (!gone_a[j] && cdns__rr_equal(rr, &a->rrs[CDNS_CS_ADDED][j], scratch)) {
				gone_a[j] = true;
				gone_b[i] = true;
				break;
			}
		}
	}

	const cdns_changeset_rr_t *sb = &a->soa[CDNS_CS_BEFORE], *sa = &b->soa[CDNS_CS_AFTER];
	if ((ret = cdns_changeset_set_soa(m, CDNS_CS_BEFORE, sb->ttl, sb->rdata, sb->rdlen)) < 0 ||
	    (ret = cdns_changeset_set_soa(m, CDNS_CS_AFTER, sa->ttl, sa->rdata, sa->rdlen)) < 0)
		goto cleanup;
	for (size_t i = 0; i < a->n[CDNS_CS_REMOVED]; i++)
		if ((ret = cdns__copy_rr(m, CDNS_CS_REMOVED, &a->rrs[CDNS_CS_REMOVED][i])) < 0)
			goto cleanup;
	for (size_t i = 0; i < b->n[CDNS_CS_REMOVED]; i++)
		if (!gone_b[i] &&
		    (ret = cdns__copy_rr(m, CDNS_CS_REMOVED, &b->rrs[CDNS_CS_REMOVED][i])) < 0)
			goto cleanup;
	for (size_t i = 0; i < na; i++)
		if (!gone_a[i] &&
		    (ret = cdns__copy_rr(m, CDNS_CS_ADDED, &a->rrs[CDNS_CS_ADDED][i])) < 0)
			goto cleanup;
	for (size_t i = 0; i < b->n[CDNS_CS_ADDED]; i++)
		if ((ret = cdns__copy_rr(m, CDNS_CS_ADDED, &b->rrs[CDNS_CS_ADDED][i])) < 0)
			goto cleanup;
	*out = m;
	m = NULL;
	ret = 0;
cleanup:
	cdns_changeset_free(m);
	free(added);
	free(gone_a);
	free(gone_b);
	free(scratch);
	return ret;
}

#pragma GCC visibility pop

/* ---------------------------------------------------------------------------------------- */
/* Apply                                                                                      */

typedef struct cdns__apply {
	cdns_zone_msg_cb cb;
	void *ctx;
	int ret;           /* the first problem's code */
	unsigned problems; /* all of them, reported or not */
	uint8_t *scratch;  /* 2 * CDNS_RDATA_MAXLEN */
} cdns__apply_t;

__attribute__((format(printf, 3, 4))) static void cdns__apply_fail(cdns__apply_t *a, int code,
                                                                   const char *fmt, ...)
{
	if (a->ret == 0)
		a->ret = code;
	if (a->problems++ >= CDNS__APPLY_REPORTS || a->cb == NULL)
		return;
	char text[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	a->cb(a->ctx, CDNS_ZONE_ERROR, NULL, 0, text);
}

/* "owner TYPE rdata" for messages; long RDATA is cut. */
static const char *cdns__rr_text(const cdns_changeset_rr_t *rr, char *buf, size_t len)
{
	char owner[CDNS_NAME_MAXTEXT], type[32], rdata[256];

	if (cdns_name_to_text(rr->owner, owner, sizeof(owner)) < 0)
		snprintf(owner, sizeof(owner), "?");
	if (cdns_rrtype_to_text(rr->type, type, sizeof(type)) < 0)
		snprintf(type, sizeof(type), "TYPE%u", rr->type);
	if (cdns_rdata_to_text(rr->type, rr->rdata, rr->rdlen, rdata, sizeof(rdata)) < 0)
		snprintf(rdata, sizeof(rdata), "(%u bytes of RDATA)", rr->rdlen);
	snprintf(buf, len, "%s %s %s", owner, type, rdata);
	return buf;
}

/* Where an RR sits in z, as a key that grows in the order the zone is walked: node index,
 * RRset index within the node, RR index within the RRset. Returns false if z lacks it. */
static bool cdns__zone_locate(const cdns_zone_t *z, const cdns_changeset_rr_t *rr, uint8_t *scratch,
                              uint64_t *key)
{
	uint8_t lname[CDNS_NAME_MAXLEN];

	cdns_name_copy_lower(lname, rr->owner);
	const cdns_znode_t *n = cdns_zone_find(z, lname, cdns_name_hash(lname));
	if (n == NULL)
		return false;
	const cdns_rrset_t *s = cdns_znode_rrset(n, rr->type);
	if (s == NULL)
		return false;
	size_t pos = 0;
	const uint8_t *rd;
	uint16_t len;
	for (uint64_t k = 0; cdns_rrset_next(s, &pos, &rd, &len); k++) {
		if (cdns__rdata_equal(rr->type, rr->rdata, rr->rdlen, rd, len, scratch)) {
			/* Nodes are one array in canonical order, and a node's RRsets one array. */
			uint64_t node = (uint64_t)(n - cdns_zone_node(z, 0));
			*key = node << 32 | (uint64_t)(s - n->rrsets) << 16 | k;
			return true;
		}
	}
	return false;
}

/* Is key among the sorted skip keys? */
static bool cdns__skip_has(const cdns__hidx_t *skip, size_t n, uint64_t key)
{
	size_t k = cdns__hidx_lower(skip, n, key);
	return k < n && skip[k].hash == key;
}

static void cdns__apply_checks(cdns__apply_t *a, const cdns_zone_t *old, const cdns_changeset_t *cs,
                               cdns__hidx_t *skip, size_t *n_skip)
{
	char text[CDNS_NAME_MAXTEXT + 512];
	const cdns_rrset_t *soa = cdns_znode_rrset(cdns_zone_node(old, 0), CDNS_T_SOA);
	const cdns_changeset_rr_t *before = &cs->soa[CDNS_CS_BEFORE];
	uint32_t s_before = cdns_changeset_serial(cs, CDNS_CS_BEFORE);
	uint32_t s_after = cdns_changeset_serial(cs, CDNS_CS_AFTER);

	size_t pos = 0;
	const uint8_t *rd = NULL;
	uint16_t len = 0;
	if (soa == NULL || !cdns_rrset_next(soa, &pos, &rd, &len) ||
	    !cdns__rdata_equal(CDNS_T_SOA, before->rdata, before->rdlen, rd, len, a->scratch))
		cdns__apply_fail(a, CDNS_EINVAL,
		                 "the changeset's SOA before (serial %u) is not the zone's SOA "
		                 "(serial %u): it was made for another version",
		                 s_before, cdns_zone_serial(old));

	int c = cdns_serial_cmp(s_after, s_before);
	if (c != 1)
		cdns__apply_fail(a, CDNS_ERANGE,
		                 "the serial after, %u, is %s the serial before, %u (RFC 1982)",
		                 s_after,
		                 c == 0  ? "equal to"
		                 : c < 0 ? "lower than"
		                         : "2^31 away from (no order)",
		                 s_before);

	/* Removed RRs: present, and once each. */
	*n_skip = 0;
	for (size_t i = 0; i < cs->n[CDNS_CS_REMOVED]; i++) {
		const cdns_changeset_rr_t *rr = &cs->rrs[CDNS_CS_REMOVED][i];
		uint64_t key;
		if (cdns__zone_locate(old, rr, a->scratch, &key))
			skip[(*n_skip)++] = (cdns__hidx_t){key, i};
		else
			cdns__apply_fail(a, CDNS_ENOENT, "%s: removed, but not in the zone",
			                 cdns__rr_text(rr, text, sizeof(text)));
	}
	/* Sorted by key, then by position in the changeset: a repeat follows its first. */
	qsort(skip, *n_skip, sizeof(*skip), cdns__hidx_cmp);
	for (size_t i = 1; i < *n_skip; i++)
		if (skip[i].hash == skip[i - 1].hash)
			cdns__apply_fail(a, CDNS_ENOENT, "%s: removed twice",
			                 cdns__rr_text(&cs->rrs[CDNS_CS_REMOVED][skip[i].idx], text,
			                               sizeof(text)));

	/* Added RRs: absent (or removed by this changeset), and once each. */
	for (size_t i = 0; i < cs->n[CDNS_CS_ADDED]; i++) {
		const cdns_changeset_rr_t *rr = &cs->rrs[CDNS_CS_ADDED][i];
		uint64_t key;
		if (cdns__zone_locate(old, rr, a->scratch, &key) &&
		    !cdns__skip_has(skip, *n_skip, key))
			cdns__apply_fail(a, CDNS_EEXIST, "%s: added, but already in the zone",
			                 cdns__rr_text(rr, text, sizeof(text)));
	}
}

static void cdns__apply_dup_added(cdns__apply_t *a, const cdns_changeset_t *cs,
                                  const cdns__hidx_t *v)
{
	char text[CDNS_NAME_MAXTEXT + 512];
	size_t n = cs->n[CDNS_CS_ADDED];

	for (size_t i = 0; i < n; i++) {
		const cdns_changeset_rr_t *x = &cs->rrs[CDNS_CS_ADDED][v[i].idx];
		for (size_t k = i + 1; k < n && v[k].hash == v[i].hash; k++) {
			if (cdns__rr_equal(x, &cs->rrs[CDNS_CS_ADDED][v[k].idx], a->scratch)) {
				cdns__apply_fail(a, CDNS_EEXIST, "%s: added twice",
				                 cdns__rr_text(x, text, sizeof(text)));
				break;
			}
		}
	}
}

/* Add the records of old's node n that the changeset keeps (not removed; at the apex not the
 * SOA) to b. */
static int cdns__add_kept(cdns_zone_builder_t *b, const cdns_zone_t *old, size_t i,
                          const cdns__hidx_t *skip, size_t n_skip)
{
	const cdns_znode_t *n = cdns_zone_node(old, i);
	uint16_t rclass = cdns_zone_class(old);
	for (uint64_t j = 0; j < n->n_rrsets; j++) {
		const cdns_rrset_t *s = &n->rrsets[j];
		if (i == 0 && s->type == CDNS_T_SOA)
			continue;
		size_t pos = 0;
		const uint8_t *rd;
		uint16_t len;
		for (uint64_t k = 0; cdns_rrset_next(s, &pos, &rd, &len); k++) {
			uint64_t key = (uint64_t)i << 32 | j << 16 | k;
			if (cdns__skip_has(skip, n_skip, key))
				continue;
			int ret = cdns_zone_builder_add(b, n->owner_case, s->type, rclass, s->ttl, rd,
			                                len, NULL, 0);
			if (ret < 0)
				return ret;
		}
	}
	return 0;
}

/* Add the SOA after and the added records of cs to b. */
static int cdns__add_new(cdns_zone_builder_t *b, const cdns_zone_t *old, const cdns_changeset_t *cs)
{
	const cdns_changeset_rr_t *soa = &cs->soa[CDNS_CS_AFTER];
	int ret = cdns_zone_builder_add(b, cdns_zone_node(old, 0)->owner_case, CDNS_T_SOA,
	                                cdns_zone_class(old), soa->ttl, soa->rdata, soa->rdlen,
	                                NULL, 0);
	for (size_t i = 0; ret >= 0 && i < cs->n[CDNS_CS_ADDED]; i++) {
		const cdns_changeset_rr_t *rr = &cs->rrs[CDNS_CS_ADDED][i];
		ret = cdns_zone_builder_add(b, rr->owner, rr->type, rr->rclass, rr->ttl, rr->rdata,
		                            rr->rdlen, NULL, 0);
	}
	return ret < 0 ? ret : 0;
}

static int cdns__name_ptr_cmp(const void *a, const void *b)
{
	return cdns_name_cmp(*(const uint8_t *const *)a, *(const uint8_t *const *)b);
}

/* The fast path: a zone of only the owners the changeset touches (the apex among them),
 * spliced into a copy of old's node array (cdns__zone_patch). CDNS_ENOTSUP when the change
 * is not one it handles: zone cuts or DNAMEs added, removed or changed (they change the
 * occlusion of whole subtrees), or old already shares the most segments a version may. */
static int cdns__apply_fast(const cdns_zone_t *old, const cdns_changeset_t *cs,
                            const cdns__hidx_t *skip, size_t n_skip, cdns_zone_msg_cb cb,
                            void *ctx, cdns_zone_t **out)
{
	const uint8_t *apex = cdns_zone_apex(old);
	if (cdns__zone_segs(old) >= CDNS__ZONE_SEGS_MAX)
		return CDNS_ENOTSUP;
	size_t n_rr = cs->n[CDNS_CS_REMOVED] + cs->n[CDNS_CS_ADDED];
	/* A change that large is a new zone more than a patch (and its owner list would take
	 * n_rr * 255 bytes): rebuild. */
	if (n_rr > CDNS__FAST_MAX_RRS)
		return CDNS_ENOTSUP;
	for (int sec = 0; sec < 2; sec++) {
		for (size_t i = 0; i < cs->n[sec]; i++) {
			const cdns_changeset_rr_t *rr = &cs->rrs[sec][i];
			if (rr->type == CDNS_T_DNAME ||
			    (rr->type == CDNS_T_NS && !cdns_name_equal(rr->owner, apex)))
				return CDNS_ENOTSUP;
		}
	}

	int ret = CDNS_ENOMEM;
	uint8_t *names = malloc((n_rr + 1) * (size_t)CDNS_NAME_MAXLEN);
	const uint8_t **aff = malloc((n_rr + 1) * sizeof(*aff));
	cdns_zone_t *mini = NULL;
	cdns_zone_builder_t *b = NULL;
	if (names == NULL || aff == NULL)
		goto done;
	size_t n_aff = 0;
	memcpy(names, apex, cdns_name_len(apex));
	aff[n_aff++] = names;
	for (int sec = 0; sec < 2; sec++) {
		for (size_t i = 0; i < cs->n[sec]; i++) {
			uint8_t *l = names + n_aff * (size_t)CDNS_NAME_MAXLEN;
			cdns_name_copy_lower(l, cs->rrs[sec][i].owner);
			aff[n_aff++] = l;
		}
	}
	qsort(aff, n_aff, sizeof(*aff), cdns__name_ptr_cmp);
	size_t u = 0;
	for (size_t i = 0; i < n_aff; i++)
		if (u == 0 || !cdns_name_equal(aff[u - 1], aff[i]))
			aff[u++] = aff[i];
	n_aff = u;

	/* Owners that are zone cuts or DNAMEs now keep the slow path too. */
	ret = CDNS_ENOTSUP;
	for (size_t i = 0; i < n_aff; i++) {
		const cdns_znode_t *n = cdns_zone_find(old, aff[i], cdns_name_hash(aff[i]));
		if (n != NULL && (n->flags & (CDNS_ZNODE_DELEG | CDNS_ZNODE_DNAME)))
			goto done;
	}

	/* The affected owners' records after the change: what old keeps of them, the SOA
	 * after, the added records (in the order the full rebuild adds them). */
	ret = CDNS_ENOMEM;
	const cdns_znode_t *apex_node = cdns_zone_node(old, 0);
	b = cdns_zone_builder_new(apex_node->owner_case, cdns_zone_class(old));
	if (b == NULL)
		goto done;
	for (size_t i = 0; i < n_aff; i++) {
		const cdns_znode_t *n = cdns_zone_find(old, aff[i], cdns_name_hash(aff[i]));
		if (n != NULL && (ret = cdns__add_kept(b, old, (size_t)(n - apex_node), skip,
		                                       n_skip)) < 0)
			goto done;
	}
	if ((ret = cdns__add_new(b, old, cs)) < 0)
		goto done;
	/* The builder's checks of these owners are the checks of the change: what it finds
	 * wrong, the whole zone would have wrong. */
	ret = cdns_zone_builder_finish(b, cb, ctx, &mini);
	b = NULL;
	if (ret < 0)
		goto done;
	ret = cdns__zone_patch(old, mini, aff, n_aff, out);
done:
	cdns_zone_builder_free(b);
	cdns_zone_unref(mini);
	free(names);
	free(aff);
	return ret;
}

#pragma GCC visibility push(default)

int cdns_zone_apply(const cdns_zone_t *old, const cdns_changeset_t *cs, cdns_zone_msg_cb cb,
                    void *ctx, cdns_zone_t **out)
{
	cdns__apply_t a = {.cb = cb, .ctx = ctx};
	cdns__hidx_t *skip = NULL, *added = NULL;
	cdns_zone_builder_t *b = NULL;
	size_t n_skip = 0;
	int ret;

	if (out != NULL)
		*out = NULL;
	if (old == NULL || cs == NULL || out == NULL)
		return CDNS_EINVAL;
	if (cs->rclass != cdns_zone_class(old) || !cdns_name_equal(cs->apex, cdns_zone_apex(old))) {
		cdns__apply_fail(&a, CDNS_EINVAL, "the changeset is for another zone or class");
		return a.ret;
	}
	if (!cs->has_soa[CDNS_CS_BEFORE] || !cs->has_soa[CDNS_CS_AFTER]) {
		cdns__apply_fail(&a, CDNS_EINVAL, "the changeset lacks its SOA %s",
		                 cs->has_soa[CDNS_CS_BEFORE] ? "after" : "before");
		return a.ret;
	}

	ret = CDNS_ENOMEM;
	a.scratch = malloc(2 * (size_t)CDNS_RDATA_MAXLEN);
	skip = malloc((cs->n[CDNS_CS_REMOVED] + 1) * sizeof(*skip));
	added = cdns__hash_section(cs, CDNS_CS_ADDED);
	if (a.scratch == NULL || skip == NULL || added == NULL)
		goto cleanup;
	cdns__apply_checks(&a, old, cs, skip, &n_skip);
	cdns__apply_dup_added(&a, cs, added);
	if (a.problems > CDNS__APPLY_REPORTS && cb != NULL) {
		char text[96];
		snprintf(text, sizeof(text), "%u more problems in the changeset",
		         a.problems - CDNS__APPLY_REPORTS);
		cb(ctx, CDNS_ZONE_ERROR, NULL, 0, text);
	}
	if (a.ret < 0) {
		ret = a.ret;
		goto cleanup;
	}

	ret = cdns__apply_fast(old, cs, skip, n_skip, cb, ctx, out);
	if (ret != CDNS_ENOTSUP)
		goto cleanup;

	/* Old records minus the removed ones and old's SOA, in the zone's order (so the skip
	 * keys come up in sorted order), then the SOA after and the added records. */
	const cdns_znode_t *apex = cdns_zone_node(old, 0);
	uint16_t rclass = cdns_zone_class(old);
	b = cdns_zone_builder_new(apex->owner_case, rclass);
	if (b == NULL)
		goto cleanup;
	for (size_t i = 0, n_nodes = cdns_zone_node_count(old); i < n_nodes; i++)
		if ((ret = cdns__add_kept(b, old, i, skip, n_skip)) < 0)
			goto cleanup;
	if ((ret = cdns__add_new(b, old, cs)) < 0)
		goto cleanup;
	ret = cdns_zone_builder_finish(b, cb, ctx, out);
	b = NULL; /* finish frees it in every case */
cleanup:
	cdns_zone_builder_free(b);
	free(a.scratch);
	free(skip);
	free(added);
	return ret;
}

#pragma GCC visibility pop
