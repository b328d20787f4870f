/* Zones in memory: the builder that checks and freezes records into an immutable zone, the
 * read-only accessors, the canonical master-file writer and zone sets.
 *
 * Building (see zone_impl.h for the frozen layout):
 *   add     the owner is lower-cased, hashed and interned once (a hash table of owner ids),
 *           its RDATA validated and appended to an arena; a record costs 32 bytes plus its
 *           RDATA until finish.
 *   finish  1. every owner gets its parent; missing ancestors become empty non-terminals
 *              (their names are suffixes of a child's name: nothing is copied);
 *           2. canonical order (RFC 4034 §6.1) as a pre-order walk of the name tree whose
 *              children are sorted by label: each comparison looks at one label only;
 *           3. records are bucketed by owner (counting sort), sorted by type and canonical
 *              RDATA (RFC 4034 §6.3), duplicates dropped (RFC 2181 §5), the lowest TTL kept
 *              (RFC 2181 §5.2);
 *           4. nodes, RRsets, RDATA and names are laid out in exactly sized arrays, flags
 *              set, the checks run, and the hash index built.
 * Nothing here logs: findings go to the caller's callback. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* qsort_r (glibc, musl ≥ 1.2.3) */
#endif
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <clouddns/error.h>
#include <clouddns/name.h>
#include <clouddns/rdata.h>
#include <clouddns/rrtype.h>
#include <clouddns/wire.h>
#include <clouddns/zone.h>

#include "zone_impl.h"

#define CDNS__BLK_SIZE       (1u << 20) /* builder arena block */
#define CDNS__NOFILE         0xffff
#define CDNS__MAX_FILES      0xfffe
#define CDNS__OOZ_REPORT_MAX 100 /* out-of-zone records named one by one */

/* ---------------------------------------------------------------------------------------- */
/* Builder                                                                                    */

struct cdns__blk {
	struct cdns__blk *next;
	size_t used, cap;
	uint8_t data[];
};

typedef struct cdns__bowner {
	const uint8_t *lname; /* lower-cased */
	const uint8_t *cname; /* as written; == lname when it has no upper-case letter */
	uint32_t hash;
	uint32_t parent; /* owner id, CDNS__NONE for the apex */
	uint8_t len;     /* wire length (a name is at most 255 bytes) */
	uint8_t labels;
} cdns__bowner_t;

typedef struct cdns__brec {
	const uint8_t *rdata;
	uint32_t owner;
	uint32_t ttl;
	uint32_t line;
	uint16_t type;
	uint16_t rdlen;
	uint16_t file;
	uint8_t mixed; /* RDATA of a type with names that has upper-case letters */
	uint8_t dup;   /* a duplicate of an earlier record of its RRset */
} cdns__brec_t;

typedef struct cdns__ooz {
	const uint8_t *owner;
	uint32_t line;
	uint16_t type;
	uint16_t file;
} cdns__ooz_t;

struct cdns_zone_builder {
	uint8_t apex[CDNS_NAME_MAXLEN]; /* lower-cased */
	uint8_t apex_len;
	uint16_t rclass;
	struct cdns__blk *names, *rdata;
	cdns__bowner_t *owners;
	size_t n_owners, cap_owners;
	uint64_t *otab; /* hash << 32 | owner id; all ones when free */
	unsigned otab_bits;
	cdns__brec_t *recs;
	size_t n_recs, cap_recs;
	char **files;
	size_t n_files;
	uint16_t last_file;
	uint32_t last_owner; /* zone files group records by owner: try the previous one first */
	cdns__ooz_t *ooz;
	size_t n_ooz, cap_ooz, n_ooz_total;
	/* Scratch for canonical RDATA comparisons during finish. */
	uint8_t *canon_a, *canon_b;
	/* finish: messages */
	cdns_zone_msg_cb cb;
	void *cb_ctx;
	unsigned errors;
};

static uint8_t *cdns__arena_alloc(struct cdns__blk **head, size_t n)
{
	struct cdns__blk *b = *head;

	if (b != NULL && b->cap - b->used >= n) {
		uint8_t *p = b->data + b->used;
		b->used += n;
		return p;
	}
	if (n > CDNS__BLK_SIZE / 4 && b != NULL) {
		/* A large item gets a block of its own behind the current one, which stays in use.
		 */
		struct cdns__blk *big = malloc(sizeof(*big) + n);
		if (big == NULL)
			return NULL;
		big->used = big->cap = n;
		big->next = b->next;
		b->next = big;
		return big->data;
	}
	size_t cap = n > CDNS__BLK_SIZE ? n : CDNS__BLK_SIZE;
	b = malloc(sizeof(*b) + cap);
	if (b == NULL)
		return NULL;
	b->cap = cap;
	b->used = n;
	b->next = *head;
	*head = b;
	return b->data;
}

static void cdns__arena_free(struct cdns__blk *b)
{
	while (b != NULL) {
		struct cdns__blk *next = b->next;
		free(b);
		b = next;
	}
}

static bool cdns__has_upper(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] >= 'A' && p[i] <= 'Z')
			return true;
	return false;
}

/* Types whose canonical RDATA has its names lower-cased (RFC 4034 §6.2 item 3 as amended by
 * RFC 6840 §5.1; the list cdns_rdata_canonicalize applies). */
static bool cdns__canon_type(uint16_t type)
{
	switch (type) {
	case CDNS_T_NS:
	case CDNS_T_MD:
	case CDNS_T_MF:
	case CDNS_T_CNAME:
	case CDNS_T_SOA:
	case CDNS_T_MB:
	case CDNS_T_MG:
	case CDNS_T_MR:
	case CDNS_T_PTR:
	case CDNS_T_MINFO:
	case CDNS_T_MX:
	case CDNS_T_RP:
	case CDNS_T_AFSDB:
	case CDNS_T_RT:
	case CDNS_T_SIG:
	case CDNS_T_PX:
	case CDNS_T_NXT:
	case CDNS_T_NAPTR:
	case CDNS_T_KX:
	case CDNS_T_SRV:
	case CDNS_T_DNAME:
	case 38: /* A6 */
	case CDNS_T_RRSIG: return true;
	default: return false;
	}
}

#define CDNS__OTAB_FREE UINT64_MAX

static int cdns__otab_grow(cdns_zone_builder_t *b)
{
	unsigned bits = b->otab_bits + 1;
	size_t n = (size_t)1 << bits;
	uint64_t *t = malloc(n * sizeof(*t));

	if (t == NULL)
		return CDNS_ENOMEM;
	memset(t, 0xff, n * sizeof(*t));
	for (size_t id = 0; id < b->n_owners; id++) {
		uint32_t h = b->owners[id].hash;
		uint32_t i = cdns__slot(h, bits);
		while (t[i] != CDNS__OTAB_FREE)
			i = (i + 1) & (uint32_t)(n - 1);
		t[i] = (uint64_t)h << 32 | id;
	}
	free(b->otab);
	b->otab = t;
	b->otab_bits = bits;
	return 0;
}

/* Find the owner id of a lower-cased name; CDNS__NONE if absent. *slot receives where it
 * would go. The table keeps each hash beside its id, so a probe that is not a match costs no
 * visit to the owner. */
static uint32_t cdns__owner_find(const cdns_zone_builder_t *b, const uint8_t *lname, size_t len,
                                 uint32_t hash, uint32_t *slot)
{
	uint32_t mask = (1u << b->otab_bits) - 1;
	uint32_t i = cdns__slot(hash, b->otab_bits);

	for (;;) {
		uint64_t e = b->otab[i];
		if (e == CDNS__OTAB_FREE)
			break;
		if ((uint32_t)(e >> 32) == hash) {
			uint32_t id = (uint32_t)e;
			const cdns__bowner_t *o = &b->owners[id];
			if (o->len == len && memcmp(o->lname, lname, len) == 0)
				return id;
		}
		i = (i + 1) & mask;
	}
	*slot = i;
	return CDNS__NONE;
}

/* Append an owner whose names are already stored (lname, cname live in the names arena).
 * Returns its id or CDNS__NONE on allocation failure. */
static uint32_t cdns__owner_append(cdns_zone_builder_t *b, const uint8_t *lname,
                                   const uint8_t *cname, size_t len, uint32_t hash, uint32_t slot)
{
	if (b->n_owners >= UINT32_MAX - 1)
		return CDNS__NONE;
	if (b->n_owners == b->cap_owners) {
		size_t cap = b->cap_owners ? b->cap_owners * 2 : 1024;
		cdns__bowner_t *o = realloc(b->owners, cap * sizeof(*o));
		if (o == NULL)
			return CDNS__NONE;
		b->owners = o;
		b->cap_owners = cap;
	}
	uint32_t id = (uint32_t)b->n_owners++;
	cdns__bowner_t *o = &b->owners[id];
	o->lname = lname;
	o->cname = cname;
	o->hash = hash;
	o->parent = CDNS__NONE;
	o->len = (uint8_t)len;
	o->labels = (uint8_t)cdns_name_labels(lname);
	b->otab[slot] = (uint64_t)hash << 32 | id;
	/* Keep the table at most half full. */
	if (b->n_owners * 2 > ((size_t)1 << b->otab_bits) && cdns__otab_grow(b) < 0) {
		b->n_owners--;
		/* The old table still holds the id: undo that too. */
		b->otab[slot] = CDNS__OTAB_FREE;
		return CDNS__NONE;
	}
	return id;
}

/* Intern an owner given as written; copies it. */
static uint32_t cdns__owner_intern(cdns_zone_builder_t *b, const uint8_t *owner,
                                   const uint8_t *lname, size_t len)
{
	uint32_t hash = cdns_name_hash(lname), slot;
	uint32_t id = cdns__owner_find(b, lname, len, hash, &slot);

	if (id != CDNS__NONE)
		return id;
	bool same = memcmp(owner, lname, len) == 0;
	uint8_t *p = cdns__arena_alloc(&b->names, same ? len : 2 * len);
	if (p == NULL)
		return CDNS__NONE;
	memcpy(p, lname, len);
	if (!same)
		memcpy(p + len, owner, len);
	return cdns__owner_append(b, p, same ? p : p + len, len, hash, slot);
}

static int cdns__file_intern(cdns_zone_builder_t *b, const char *file, uint16_t *idx)
{
	if (file == NULL) {
		*idx = CDNS__NOFILE;
		return 0;
	}
	if (b->last_file < b->n_files && strcmp(b->files[b->last_file], file) == 0) {
		*idx = b->last_file;
		return 0;
	}
	for (size_t i = 0; i < b->n_files; i++) {
		if (strcmp(b->files[i], file) == 0) {
			*idx = b->last_file = (uint16_t)i;
			return 0;
		}
	}
	if (b->n_files >= CDNS__MAX_FILES) {
		*idx = CDNS__NOFILE;
		return 0;
	}
	char **f = realloc(b->files, (b->n_files + 1) * sizeof(*f));
	if (f == NULL)
		return CDNS_ENOMEM;
	b->files = f;
	size_t n = strlen(file) + 1;
	char *copy = malloc(n);
	if (copy == NULL)
		return CDNS_ENOMEM;
	memcpy(copy, file, n);
	f[b->n_files] = copy;
	*idx = b->last_file = (uint16_t)b->n_files++;
	return 0;
}

#pragma GCC visibility push(default)

cdns_zone_builder_t *cdns_zone_builder_new(const uint8_t *apex, uint16_t rclass)
{
	if (apex == NULL || cdns_name_check(apex, CDNS_NAME_MAXLEN) < 0)
		return NULL;
	cdns_zone_builder_t *b = calloc(1, sizeof(*b));
	if (b == NULL)
		return NULL;
	b->apex_len = (uint8_t)cdns_name_copy_lower(b->apex, apex);
	b->rclass = rclass;
	b->otab_bits = 10;
	b->otab = malloc(((size_t)1 << b->otab_bits) * sizeof(*b->otab));
	if (b->otab == NULL)
		goto fail;
	memset(b->otab, 0xff, ((size_t)1 << b->otab_bits) * sizeof(*b->otab));
	/* The apex is owner 0, whether or not records are added for it. */
	if (cdns__owner_intern(b, apex, b->apex, b->apex_len) != 0)
		goto fail;
	return b;
fail:
	cdns_zone_builder_free(b);
	return NULL;
}

void cdns_zone_builder_free(cdns_zone_builder_t *b)
{
	if (b == NULL)
		return;
	cdns__arena_free(b->names);
	cdns__arena_free(b->rdata);
	free(b->owners);
	free(b->otab);
	free(b->recs);
	for (size_t i = 0; i < b->n_files; i++)
		free(b->files[i]);
	free(b->files);
	free(b->ooz);
	free(b->canon_a);
	free(b->canon_b);
	free(b);
}

int cdns_zone_builder_add(cdns_zone_builder_t *b, const uint8_t *owner, uint16_t type,
                          uint16_t rclass, uint32_t ttl, const uint8_t *rdata, uint16_t rdlen,
                          const char *file, unsigned line)
{
	if (b == NULL || owner == NULL || (rdata == NULL && rdlen > 0))
		return CDNS_EINVAL;
	/* Meta types live only in messages (RFC 6895 §3.1); one zone holds one class. */
	if (rclass != b->rclass || type == 0 || cdns_rrtype_is_meta(type))
		return CDNS_EINVAL;
	int len = cdns_name_check(owner, CDNS_NAME_MAXLEN);
	if (len < 0)
		return CDNS_EINVAL;
	if (cdns_rdata_check(type, rdata, rdlen) < 0)
		return CDNS_EINVAL;

	uint8_t lname[CDNS_NAME_MAXLEN];
	cdns_name_copy_lower(lname, owner);
	uint16_t fidx;
	if (cdns__file_intern(b, file, &fidx) < 0)
		return CDNS_ENOMEM;

	/* Inside the apex? The apex must end the name at a label boundary. */
	size_t off = 0;
	bool inside = false;
	if ((size_t)len >= b->apex_len) {
		while (off < (size_t)len - b->apex_len)
			off += (size_t)lname[off] + 1;
		inside = off == (size_t)len - b->apex_len &&
		         memcmp(lname + off, b->apex, b->apex_len) == 0;
	}
	if (!inside) {
		/* Reported (and counted) at finish; only the first ones are remembered by name. */
		b->n_ooz_total++;
		if (b->n_ooz >= CDNS__OOZ_REPORT_MAX)
			return 0;
		if (b->n_ooz == b->cap_ooz) {
			size_t cap = b->cap_ooz ? b->cap_ooz * 2 : 8;
			cdns__ooz_t *o = realloc(b->ooz, cap * sizeof(*o));
			if (o == NULL)
				return CDNS_ENOMEM;
			b->ooz = o;
			b->cap_ooz = cap;
		}
		uint8_t *copy = cdns__arena_alloc(&b->names, (size_t)len);
		if (copy == NULL)
			return CDNS_ENOMEM;
		memcpy(copy, owner, (size_t)len);
		b->ooz[b->n_ooz++] = (cdns__ooz_t){copy, line, type, fidx};
		return 0;
	}

	if (b->n_recs == b->cap_recs) {
		size_t cap = b->cap_recs ? b->cap_recs * 2 : 4096;
		if (cap > UINT32_MAX)
			return CDNS_ENOMEM;
		cdns__brec_t *r = realloc(b->recs, cap * sizeof(*r));
		if (r == NULL)
			return CDNS_ENOMEM;
		b->recs = r;
		b->cap_recs = cap;
	}
	uint32_t id = b->last_owner;
	const cdns__bowner_t *lo = &b->owners[id];
	if (lo->len != (size_t)len || memcmp(lo->lname, lname, (size_t)len) != 0) {
		id = cdns__owner_intern(b, owner, lname, (size_t)len);
		if (id == CDNS__NONE)
			return CDNS_ENOMEM;
		b->last_owner = id;
	}
	uint8_t *copy = NULL;
	if (rdlen > 0) {
		copy = cdns__arena_alloc(&b->rdata, rdlen);
		if (copy == NULL)
			return CDNS_ENOMEM;
		memcpy(copy, rdata, rdlen);
	}
	cdns__brec_t *r = &b->recs[b->n_recs++];
	r->rdata = copy;
	r->owner = id;
	r->ttl = ttl;
	r->line = line;
	r->type = type;
	r->rdlen = rdlen;
	r->file = fidx;
	r->mixed = cdns__canon_type(type) && cdns__has_upper(rdata, rdlen);
	r->dup = 0;
	return 0;
}

#pragma GCC visibility pop

/* ---------------------------------------------------------------------------------------- */
/* Finish                                                                                     */

__attribute__((format(printf, 4, 5))) static void
cdns__report(cdns_zone_builder_t *b, int severity, const cdns__brec_t *r, const char *fmt, ...)
{
	if (severity == CDNS_ZONE_ERROR)
		b->errors++;
	if (b->cb == NULL)
		return;
	char text[CDNS_NAME_MAXTEXT * 2 + 256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	const char *file = NULL;
	unsigned line = 0;
	if (r != NULL) {
		file = r->file != CDNS__NOFILE ? b->files[r->file] : NULL;
		line = r->line;
	}
	b->cb(b->cb_ctx, severity, file, line, text);
}

static const char *cdns__name_str(const uint8_t *name, char *buf)
{
	if (cdns_name_to_text(name, buf, CDNS_NAME_MAXTEXT) < 0)
		strcpy(buf, "?");
	return buf;
}

static const char *cdns__type_str(uint16_t type, char *buf)
{
	if (cdns_rrtype_to_text(type, buf, 16) < 0)
		strcpy(buf, "?");
	return buf;
}

/* Label sort key: the first 8 octets of a lower-cased label, big-endian, zero-padded. Equal
 * keys fall back to the whole label. */
typedef struct cdns__lkey {
	uint64_t key;
	uint32_t id;
} cdns__lkey_t;

static uint64_t cdns__label_key(const uint8_t *label)
{
	uint64_t k = 0;
	unsigned n = label[0];

	for (unsigned i = 0; i < 8; i++)
		k = (k << 8) | (i < n ? label[1 + i] : 0);
	return k;
}

static int cdns__lkey_cmp(const void *pa, const void *pb, void *arg)
{
	const cdns__lkey_t *a = pa, *b = pb;
	const cdns__bowner_t *owners = arg;

	if (a->key != b->key)
		return a->key < b->key ? -1 : 1;
	/* RFC 4034 §6.1: labels compare as lower-cased octet strings, a prefix first. */
	const uint8_t *la = owners[a->id].lname, *lb = owners[b->id].lname;
	unsigned n = la[0] < lb[0] ? la[0] : lb[0];
	int c = memcmp(la + 1, lb + 1, n);
	if (c != 0)
		return c;
	return (int)la[0] - (int)lb[0];
}

/* Compare RDATA in canonical form (RFC 4034 §6.3): unsigned octet strings, a prefix first;
 * names in the RDATA of the types of RFC 4034 §6.2 compare lower-cased. */
static int cdns__rdata_cmp(cdns_zone_builder_t *b, const cdns__brec_t *x, const cdns__brec_t *y)
{
	const uint8_t *ra = x->rdata, *rb = y->rdata;

	if ((x->mixed || y->mixed) && b->canon_a != NULL) {
		memcpy(b->canon_a, x->rdata, x->rdlen);
		memcpy(b->canon_b, y->rdata, y->rdlen);
		cdns_rdata_canonicalize(x->type, b->canon_a, x->rdlen);
		cdns_rdata_canonicalize(y->type, b->canon_b, y->rdlen);
		ra = b->canon_a;
		rb = b->canon_b;
	}
	size_t n = x->rdlen < y->rdlen ? x->rdlen : y->rdlen;
	int c = n > 0 ? memcmp(ra, rb, n) : 0;
	if (c != 0)
		return c;
	return (int)x->rdlen - (int)y->rdlen;
}

static int cdns__rec_cmp(const void *pa, const void *pb, void *arg)
{
	cdns_zone_builder_t *b = arg;
	const cdns__brec_t *x = &b->recs[*(const uint32_t *)pa];
	const cdns__brec_t *y = &b->recs[*(const uint32_t *)pb];

	if (x->type != y->type)
		return x->type < y->type ? -1 : 1;
	int c = cdns__rdata_cmp(b, x, y);
	if (c != 0)
		return c;
	/* Equal records: keep the order they were added in, so the first spelling wins. */
	return *(const uint32_t *)pa < *(const uint32_t *)pb ? -1 : 1;
}

static void cdns__sort_recs(cdns_zone_builder_t *b, uint32_t *v, size_t n)
{
	if (n < 2)
		return;
	if (n <= 8) {
		for (size_t i = 1; i < n; i++) {
			uint32_t t = v[i];
			size_t j = i;
			while (j > 0 && cdns__rec_cmp(&v[j - 1], &t, b) > 0) {
				v[j] = v[j - 1];
				j--;
			}
			v[j] = t;
		}
		return;
	}
	qsort_r(v, n, sizeof(*v), cdns__rec_cmp, b);
}

/* Step 1: parents, and empty non-terminals for missing ancestors. */
static int cdns__link_parents(cdns_zone_builder_t *b)
{
	/* n_owners grows inside the loop: new ENTs get their own parents in turn. */
	for (size_t id = 0; id < b->n_owners; id++) {
		cdns__bowner_t *o = &b->owners[id];
		if (id == 0)
			continue; /* the apex */
		const uint8_t *pl = o->lname + o->lname[0] + 1;
		const uint8_t *pc = o->cname + o->cname[0] + 1;
		size_t plen = (size_t)o->len - o->lname[0] - 1;
		uint32_t hash = cdns_name_hash(pl), slot;
		uint32_t pid = cdns__owner_find(b, pl, plen, hash, &slot);
		if (pid == CDNS__NONE) {
			/* An empty non-terminal: its names are suffixes of this owner's. */
			pid = cdns__owner_append(b, pl, pc, plen, hash, slot);
			if (pid == CDNS__NONE)
				return CDNS_ENOMEM;
		}
		b->owners[id].parent = pid;
	}
	return 0;
}

/* Step 2: canonical order as a pre-order walk with children sorted by label. Fills order[]
 * (rank -> owner id) and rank[] (owner id -> rank). */
static int cdns__canonical_order(cdns_zone_builder_t *b, uint32_t *order, uint32_t *rank)
{
	size_t n = b->n_owners;
	uint32_t *start = calloc(n + 1, sizeof(*start));
	cdns__lkey_t *keys = malloc((n > 1 ? n - 1 : 1) * sizeof(*keys));
	int ret = CDNS_ENOMEM;

	if (start == NULL || keys == NULL)
		goto cleanup;
	/* Children grouped by parent (counting sort), then each group sorted by label. */
	for (size_t id = 1; id < n; id++)
		start[b->owners[id].parent + 1]++;
	for (size_t i = 0; i < n; i++)
		start[i + 1] += start[i];
	for (size_t id = 1; id < n; id++) {
		uint32_t p = b->owners[id].parent;
		/* start[p] is used as a cursor here and restored below. */
		keys[start[p]++] =
		    (cdns__lkey_t){cdns__label_key(b->owners[id].lname), (uint32_t)id};
	}
	for (size_t i = n; i > 0; i--)
		start[i] = start[i - 1];
	start[0] = 0;
	for (size_t p = 0; p < n; p++) {
		size_t cnt = start[p + 1] - start[p];
		if (cnt > 1)
			qsort_r(keys + start[p], cnt, sizeof(*keys), cdns__lkey_cmp, b->owners);
	}

	/* Pre-order walk: a name, then its children's subtrees in label order. The depth is
	 * bounded by the number of labels. */
	struct {
		uint32_t cur, end;
	} stack[CDNS_NAME_MAXLABELS + 2];
	int sp = 0;
	size_t k = 0;
	order[k] = 0;
	rank[0] = (uint32_t)k++;
	stack[0].cur = start[0];
	stack[0].end = start[1];
	while (sp >= 0) {
		if (stack[sp].cur == stack[sp].end) {
			sp--;
			continue;
		}
		uint32_t id = keys[stack[sp].cur++].id;
		order[k] = id;
		rank[id] = (uint32_t)k++;
		if (start[id + 1] > start[id] && sp + 1 < (int)(sizeof(stack) / sizeof(stack[0]))) {
			sp++;
			stack[sp].cur = start[id];
			stack[sp].end = start[id + 1];
		}
	}
	ret = k == n ? 0 : CDNS_EINVAL;
cleanup:
	free(start);
	free(keys);
	return ret;
}

/* The frozen arrays of a large zone live on their own mappings, backed by transparent huge
 * pages where the system allows (MADV_HUGEPAGE): a lookup touches three arrays at random
 * places, and with 4 KiB pages each of those is a TLB miss as well as a cache miss. */
#define CDNS__HUGE_PAGE (2u << 20)
#define CDNS__HUGE_MIN  (4u << 20)

static size_t cdns__map_len(size_t size)
{
	return (size + CDNS__HUGE_PAGE - 1) & ~(size_t)(CDNS__HUGE_PAGE - 1);
}

/* Zeroed memory for one frozen array. */
void *cdns__big_alloc(size_t size)
{
	if (size < CDNS__HUGE_MIN)
		return calloc(1, size ? size : 1);
	size_t len = cdns__map_len(size);
	/* Map one huge page more and trim, so that the array starts on a huge-page boundary. */
	uint8_t *p = mmap(NULL, len + CDNS__HUGE_PAGE, PROT_READ | PROT_WRITE,
	                  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	size_t head =
	    (CDNS__HUGE_PAGE - ((uintptr_t)p & (CDNS__HUGE_PAGE - 1))) & (CDNS__HUGE_PAGE - 1);
	if (head > 0)
		munmap(p, head);
	munmap(p + head + len, CDNS__HUGE_PAGE - head);
#ifdef MADV_HUGEPAGE
	(void)madvise(p + head, len, MADV_HUGEPAGE);
#endif
	return p + head;
}

void cdns__big_free(void *p, size_t size)
{
	if (p == NULL)
		return;
	if (size < CDNS__HUGE_MIN)
		free(p);
	else
		munmap(p, cdns__map_len(size));
}

static void cdns__seg_unref(cdns__zseg_t *g)
{
	if (g == NULL || atomic_fetch_sub_explicit(&g->refs, 1, memory_order_acq_rel) != 1)
		return;
	cdns__big_free(g->rrsets, g->n_rrsets * sizeof(*g->rrsets));
	cdns__big_free(g->rdata, g->rdata_len);
	cdns__big_free(g->names, g->names_len + CDNS__NAMES_PAD);
	free(g);
}

void cdns__zone_free(cdns_zone_t *z)
{
	if (z == NULL)
		return;
	cdns__big_free(z->nodes, (z->nodes_cap ? z->nodes_cap : z->n_nodes) * sizeof(*z->nodes));
	cdns__big_free(z->parent, z->n_nodes * sizeof(*z->parent));
	/* A zone still being built owns its arrays; a finished one holds segments. */
	cdns__big_free(z->rrsets, z->n_rrsets * sizeof(*z->rrsets));
	cdns__big_free(z->rdata, z->rdata_len);
	cdns__big_free(z->names, z->names_len + CDNS__NAMES_PAD);
	for (unsigned i = 0; i < z->n_segs; i++)
		cdns__seg_unref(z->segs[i]);
	free(z->segs);
	cdns__big_free(z->index,
	               z->index != NULL ? ((size_t)1 << z->index_bits) * sizeof(*z->index) : 0);
	free(z);
}

unsigned cdns__zone_segs(const cdns_zone_t *z)
{
	return z->n_segs;
}

/* The builder's arrays become the zone's one segment. */
static int cdns__zone_seal(cdns_zone_t *z)
{
	cdns__zseg_t *g = calloc(1, sizeof(*g));
	z->segs = malloc(sizeof(*z->segs));
	if (g == NULL || z->segs == NULL) {
		free(g);
		return CDNS_ENOMEM;
	}
	atomic_init(&g->refs, 1);
	g->rrsets = z->rrsets;
	g->n_rrsets = z->n_rrsets;
	g->rdata = z->rdata;
	g->rdata_len = z->rdata_len;
	g->names = z->names;
	g->names_len = z->names_len;
	z->rrsets = NULL;
	z->rdata = NULL;
	z->names = NULL;
	z->segs[0] = g;
	z->n_segs = 1;
	return 0;
}

/* SOA-derived fields, from the apex node. */
void cdns__zone_soa_fields(cdns_zone_t *z)
{
	z->soa = cdns__node_rrset(&z->nodes[0], CDNS_T_SOA);
	z->serial = 0;
	z->neg_ttl = 0;
	if (z->soa != NULL) {
		const uint8_t *rd = z->soa->rdata + 2;
		uint16_t len = cdns_get16(z->soa->rdata);
		/* SOA RDATA: MNAME, RNAME, then SERIAL REFRESH RETRY EXPIRE MINIMUM. */
		if (len >= 20) {
			z->serial = cdns_get32(rd + len - 20);
			uint32_t min = cdns_get32(rd + len - 4);
			z->neg_ttl = min < z->soa->ttl ? min : z->soa->ttl;
		}
	}
}

int cdns__build_index(cdns_zone_t *z)
{
	unsigned bits = 1;
	while (((size_t)1 << bits) < z->n_nodes * 2)
		bits++;
	size_t cap = (size_t)1 << bits;
	z->index = cdns__big_alloc(cap * sizeof(*z->index));
	if (z->index == NULL)
		return CDNS_ENOMEM;
	z->index_bits = bits;
	memset(z->index, 0xff, cap * sizeof(*z->index));
	for (size_t i = 0; i < z->n_nodes; i++) {
		uint32_t s = cdns__slot(z->nodes[i].hash, bits);
		while ((uint32_t)z->index[s] != CDNS__NONE)
			s = (s + 1) & (uint32_t)(cap - 1);
		z->index[s] = ((uint64_t)z->nodes[i].hash << 32) | (uint32_t)i;
	}
	return 0;
}

/* Step 3 (first pass): sort each owner's records, mark duplicates, and count what the
 * frozen zone needs. */
static void cdns__sort_and_count(cdns_zone_builder_t *b, const uint32_t *rstart, uint32_t *rorder,
                                 size_t *n_rrsets, size_t *n_rrs, size_t *rdata_bytes)
{
	for (size_t k = 0; k < b->n_owners; k++) {
		uint32_t *v = rorder + rstart[k];
		size_t cnt = rstart[k + 1] - rstart[k];
		cdns__sort_recs(b, v, cnt);
		for (size_t i = 0; i < cnt; i++) {
			cdns__brec_t *r = &b->recs[v[i]];
			if (i > 0) {
				const cdns__brec_t *p = &b->recs[v[i - 1]];
				/* RFC 2181 §5: an RRset holds no duplicates; the first spelling
				 * stays. */
				if (p->type == r->type && cdns__rdata_cmp(b, p, r) == 0) {
					r->dup = 1;
					continue;
				}
				if (p->type != r->type)
					(*n_rrsets)++;
			} else {
				(*n_rrsets)++;
			}
			(*n_rrs)++;
			*rdata_bytes += 2 + (size_t)r->rdlen;
		}
	}
}

/* Step 4 (flags and checks on the frozen nodes). rs_rec[i] is a record of RRset i (for the
 * file and line of messages). */
static void cdns__flags_and_checks(cdns_zone_builder_t *b, cdns_zone_t *z, const uint32_t *rs_rec)
{
	char nbuf[CDNS_NAME_MAXTEXT];

	for (size_t i = 0; i < z->n_nodes; i++) {
		cdns_znode_t *n = &z->nodes[i];
		uint16_t flags = 0;
		const cdns__brec_t *cname_rec = NULL;
		unsigned other = 0;
		const cdns__brec_t *first = NULL;

		for (unsigned j = 0; j < n->n_rrsets; j++) {
			const cdns_rrset_t *s = &n->rrsets[j];
			const cdns__brec_t *r = &b->recs[rs_rec[s - z->rrsets]];
			if (first == NULL)
				first = r;
			switch (s->type) {
			case CDNS_T_SOA:
				if (i != 0) {
					cdns__report(b, CDNS_ZONE_ERROR, r,
					             "%s SOA: SOA record outside the zone apex",
					             cdns__name_str(n->owner_case, nbuf));
				} else if (s->count > 1) {
					cdns__report(b, CDNS_ZONE_ERROR, r,
					             "%s SOA: %u SOA records at the apex, exactly "
					             "one is allowed (RFC 1035 §5.2)",
					             cdns__name_str(n->owner_case, nbuf), s->count);
				}
				other++;
				break;
			case CDNS_T_NS:
				if (i != 0)
					flags |= CDNS_ZNODE_DELEG;
				other++;
				break;
			case CDNS_T_CNAME:
				flags |= CDNS_ZNODE_CNAME;
				cname_rec = r;
				if (s->count > 1)
					cdns__report(
					    b, CDNS_ZONE_ERROR, r,
					    "%s CNAME: %u CNAME records at one name, at most "
					    "one is allowed (RFC 2181 §10.1)",
					    cdns__name_str(n->owner_case, nbuf), s->count);
				break;
			case CDNS_T_DNAME:
				flags |= CDNS_ZNODE_DNAME;
				if (s->count > 1)
					cdns__report(
					    b, CDNS_ZONE_ERROR, r,
					    "%s DNAME: %u DNAME records at one name, at most "
					    "one is allowed (RFC 6672 §2.4)",
					    cdns__name_str(n->owner_case, nbuf), s->count);
				other++;
				break;
			case CDNS_T_RRSIG:
			case CDNS_T_NSEC:
				/* Allowed beside a CNAME (RFC 4035 §2.5). */
				break;
			default: other++; break;
			}
		}
		if (cname_rec != NULL && other > 0)
			cdns__report(
			    b, CDNS_ZONE_ERROR, cname_rec,
			    "%s CNAME: CNAME and other data at the same name (RFC 2181 §10.1)",
			    cdns__name_str(n->owner_case, nbuf));
		if (i == 0) {
			flags |= CDNS_ZNODE_APEX;
			if (cdns__node_rrset(n, CDNS_T_SOA) == NULL)
				cdns__report(b, CDNS_ZONE_ERROR, first,
				             "%s: no SOA record at the zone apex (RFC 1035 §5.2)",
				             cdns__name_str(n->owner_case, nbuf));
			if (cdns__node_rrset(n, CDNS_T_NS) == NULL)
				cdns__report(b, CDNS_ZONE_ERROR, first,
				             "%s: no NS records at the zone apex (RFC 1034 §4.2.1)",
				             cdns__name_str(n->owner_case, nbuf));
		}
		if (n->n_rrsets == 0)
			flags |= CDNS_ZNODE_ENT;
		if (i != 0) {
			uint32_t p = z->parent[i];
			cdns_znode_t *pn = &z->nodes[p];
			if ((pn->flags &
			     (CDNS_ZNODE_OCCLUDED | CDNS_ZNODE_DELEG | CDNS_ZNODE_DNAME)))
				flags |= CDNS_ZNODE_OCCLUDED;
			/* RFC 6672 §2.3: names below a DNAME are never reached; say it once per
			 * DNAME, at its first descendant (which follows it in pre-order). */
			if ((pn->flags & CDNS_ZNODE_DNAME) && !(pn->flags & CDNS_ZNODE_OCCLUDED) &&
			    p == i - 1) {
				char dbuf[CDNS_NAME_MAXTEXT];
				cdns__report(
				    b, CDNS_ZONE_WARNING, first,
				    "%s: names below the DNAME at %s are occluded and never "
				    "answered (RFC 6672 §2.3)",
				    cdns__name_str(n->owner_case, nbuf),
				    cdns__name_str(pn->owner_case, dbuf));
			}
			/* RFC 4592 §2.1.1: "*" as the first label makes the parent a wildcard
			 * parent. */
			if (n->owner[0] == 1 && n->owner[1] == '*')
				pn->flags |= CDNS_ZNODE_WILDCARD;
		}
		n->flags |= flags;
	}
}

/* Warn about NS targets below a zone cut of this zone that have no address (glue). */
static void cdns__check_glue(cdns_zone_builder_t *b, cdns_zone_t *z, const uint32_t *rs_rec)
{
	char nbuf[CDNS_NAME_MAXTEXT], tbuf[CDNS_NAME_MAXTEXT];

	for (size_t i = 0; i < z->n_nodes; i++) {
		const cdns_znode_t *n = &z->nodes[i];
		if (i != 0 && (!(n->flags & CDNS_ZNODE_DELEG) || (n->flags & CDNS_ZNODE_OCCLUDED)))
			continue;
		const cdns_rrset_t *ns = cdns__node_rrset(n, CDNS_T_NS);
		if (ns == NULL)
			continue;
		size_t pos = 0;
		const uint8_t *rd;
		uint16_t rdlen;
		while (cdns__rrset_next(ns, &pos, &rd, &rdlen)) {
			uint8_t t[CDNS_NAME_MAXLEN];
			size_t tlen = cdns_name_copy_lower(t, rd);
			if (!cdns__zone_contains(z, t, tlen))
				continue;
			/* Closest existing name at or above the target. */
			const uint8_t *p = t;
			size_t plen = tlen;
			const cdns_znode_t *e = NULL;
			while ((e = cdns__zone_lookup(z, p, plen, cdns_name_hash(p))) == NULL) {
				plen -= (size_t)p[0] + 1;
				p += p[0] + 1;
			}
			bool below_cut = (e->flags & (CDNS_ZNODE_DELEG | CDNS_ZNODE_OCCLUDED)) != 0;
			if (!below_cut)
				continue;
			if (p == t && (cdns__node_rrset(e, CDNS_T_A) != NULL ||
			               cdns__node_rrset(e, CDNS_T_AAAA) != NULL))
				continue;
			cdns__report(
			    b, CDNS_ZONE_WARNING, &b->recs[rs_rec[ns - z->rrsets]],
			    "%s NS: no glue (A or AAAA) for the name server %s below a zone "
			    "cut",
			    cdns__name_str(n->owner_case, nbuf), cdns__name_str(rd, tbuf));
		}
	}
}

#pragma GCC visibility push(default)

int cdns_zone_builder_finish(cdns_zone_builder_t *b, cdns_zone_msg_cb cb, void *ctx,
                             cdns_zone_t **out)
{
	cdns_zone_t *z = NULL;
	uint32_t *order = NULL, *rank = NULL, *rstart = NULL, *rorder = NULL, *rs_rec = NULL;
	int ret = CDNS_ENOMEM;
	char nbuf[CDNS_NAME_MAXTEXT], tbuf[16];

	if (out != NULL)
		*out = NULL;
	if (b == NULL || out == NULL) {
		cdns_zone_builder_free(b);
		return CDNS_EINVAL;
	}
	b->cb = cb;
	b->cb_ctx = ctx;

	for (size_t i = 0; i < b->n_ooz; i++) {
		const cdns__ooz_t *o = &b->ooz[i];
		cdns__brec_t where = {.file = o->file, .line = o->line};
		char abuf[CDNS_NAME_MAXTEXT];
		cdns__report(b, CDNS_ZONE_WARNING, &where,
		             "%s %s: record outside the zone %s, ignored",
		             cdns__name_str(o->owner, nbuf), cdns__type_str(o->type, tbuf),
		             cdns__name_str(b->apex, abuf));
	}
	if (b->n_ooz_total > b->n_ooz)
		cdns__report(b, CDNS_ZONE_WARNING, NULL,
		             "%zu more records outside the zone, ignored",
		             b->n_ooz_total - b->n_ooz);

	b->canon_a = malloc(CDNS_RDATA_MAXLEN);
	b->canon_b = malloc(CDNS_RDATA_MAXLEN);
	if (b->canon_a == NULL || b->canon_b == NULL)
		goto cleanup;

	/* 1. Parents and empty non-terminals. */
	if ((ret = cdns__link_parents(b)) < 0)
		goto cleanup;
	/* Every name is known now: the owner table is no longer needed. */
	free(b->otab);
	b->otab = NULL;
	size_t n_nodes = b->n_owners;

	/* 2. Canonical order. */
	ret = CDNS_ENOMEM;
	order = malloc(n_nodes * sizeof(*order));
	rank = malloc(n_nodes * sizeof(*rank));
	if (order == NULL || rank == NULL)
		goto cleanup;
	if ((ret = cdns__canonical_order(b, order, rank)) < 0)
		goto cleanup;

	/* 3. Records bucketed by owner rank, then sorted within each owner. */
	ret = CDNS_ENOMEM;
	rstart = calloc(n_nodes + 1, sizeof(*rstart));
	rorder = malloc((b->n_recs ? b->n_recs : 1) * sizeof(*rorder));
	if (rstart == NULL || rorder == NULL)
		goto cleanup;
	for (size_t i = 0; i < b->n_recs; i++)
		rstart[rank[b->recs[i].owner] + 1]++;
	for (size_t k = 0; k < n_nodes; k++)
		rstart[k + 1] += rstart[k];
	for (size_t i = 0; i < b->n_recs; i++)
		rorder[rstart[rank[b->recs[i].owner]]++] = (uint32_t)i;
	for (size_t k = n_nodes; k > 0; k--)
		rstart[k] = rstart[k - 1];
	rstart[0] = 0;
	size_t n_rrsets = 0, n_rrs = 0, rdata_bytes = 0;
	cdns__sort_and_count(b, rstart, rorder, &n_rrsets, &n_rrs, &rdata_bytes);

	/* 4. The frozen zone, every array at its exact size. */
	size_t names_bytes = 0;
	for (size_t id = 0; id < n_nodes; id++) {
		const cdns__bowner_t *o = &b->owners[id];
		names_bytes += o->len;
		if (o->cname != o->lname && memcmp(o->cname, o->lname, o->len) != 0)
			names_bytes += o->len;
	}
	z = calloc(1, sizeof(*z));
	if (z == NULL)
		goto cleanup;
	atomic_init(&z->refs, 1);
	z->rclass = b->rclass;
	z->n_nodes = n_nodes;
	z->n_rrsets = n_rrsets;
	z->n_rrs = n_rrs;
	z->rdata_len = rdata_bytes;
	z->names_len = names_bytes;
	z->nodes = cdns__big_alloc(n_nodes * sizeof(*z->nodes));
	z->parent = cdns__big_alloc(n_nodes * sizeof(*z->parent));
	z->rrsets = cdns__big_alloc(n_rrsets * sizeof(*z->rrsets));
	z->rdata = cdns__big_alloc(rdata_bytes);
	z->names = cdns__big_alloc(names_bytes + CDNS__NAMES_PAD);
	rs_rec = malloc((n_rrsets ? n_rrsets : 1) * sizeof(*rs_rec));
	if (z->nodes == NULL || z->parent == NULL || z->rrsets == NULL || z->rdata == NULL ||
	    z->names == NULL || rs_rec == NULL)
		goto cleanup;

	size_t npos = 0, spos = 0, dpos = 0;
	for (size_t k = 0; k < n_nodes; k++) {
		uint32_t id = order[k];
		const cdns__bowner_t *o = &b->owners[id];
		cdns_znode_t *n = &z->nodes[k];
		uint8_t *owner = z->names + npos;
		memcpy(owner, o->lname, o->len);
		npos += o->len;
		n->owner = owner;
		n->owner_case = owner;
		if (o->cname != o->lname && memcmp(o->cname, o->lname, o->len) != 0) {
			memcpy(z->names + npos, o->cname, o->len);
			n->owner_case = z->names + npos;
			npos += o->len;
		}
		n->hash = o->hash;
		z->parent[k] = o->parent == CDNS__NONE ? CDNS__NONE : rank[o->parent];
		if (o->labels > z->max_labels)
			z->max_labels = o->labels;

		/* RRsets of this node. */
		n->rrsets = z->rrsets + spos;
		const uint32_t *v = rorder + rstart[k];
		size_t cnt = rstart[k + 1] - rstart[k];
		cdns_rrset_t *cur = NULL;
		uint32_t hi = 0;
		for (size_t i = 0; i <= cnt; i++) {
			const cdns__brec_t *r = i < cnt ? &b->recs[v[i]] : NULL;
			if (r != NULL && r->dup)
				continue;
			if (cur != NULL && (r == NULL || cur->type != r->type) && hi != cur->ttl) {
				/* RFC 2181 §5.2: differing TTLs in an RRset are an error of the
				 * data; the lowest is used. */
				cdns__report(b, CDNS_ZONE_WARNING,
				             &b->recs[rs_rec[cur - z->rrsets]],
				             "%s %s: records with different TTLs in one RRset; "
				             "using the lowest, %u (RFC 2181 §5.2)",
				             cdns__name_str(o->cname, nbuf),
				             cdns__type_str(cur->type, tbuf), cur->ttl);
			}
			if (r == NULL)
				break;
			if (cur == NULL || cur->type != r->type) {
				cur = &z->rrsets[spos];
				rs_rec[spos++] = v[i];
				cur->type = r->type;
				cur->count = 0;
				cur->ttl = hi = r->ttl;
				cur->rdata = z->rdata + dpos;
				n->n_rrsets++;
			}
			if (cur->count == UINT16_MAX) {
				cdns__report(b, CDNS_ZONE_ERROR, r,
				             "%s %s: more than 65535 records in one RRset",
				             cdns__name_str(o->cname, nbuf),
				             cdns__type_str(r->type, tbuf));
				continue;
			}
			cur->count++;
			if (r->ttl < cur->ttl)
				cur->ttl = r->ttl;
			if (r->ttl > hi)
				hi = r->ttl;
			cdns_put16(z->rdata + dpos, r->rdlen);
			if (r->rdlen > 0)
				memcpy(z->rdata + dpos + 2, r->rdata, r->rdlen);
			dpos += 2 + (size_t)r->rdlen;
		}
	}

	z->apex_len = (uint8_t)cdns_name_len(z->nodes[0].owner);
	z->apex_labels = (uint8_t)cdns_name_labels(z->nodes[0].owner);
	cdns__flags_and_checks(b, z, rs_rec);
	if ((ret = cdns__build_index(z)) < 0)
		goto cleanup;
	cdns__check_glue(b, z, rs_rec);

	cdns__zone_soa_fields(z);

	if (b->errors > 0) {
		ret = CDNS_EINVAL;
		goto cleanup;
	}
	if ((ret = cdns__zone_seal(z)) < 0)
		goto cleanup;
	*out = z;
	z = NULL;
	ret = 0;
cleanup:
	cdns__zone_free(z);
	free(order);
	free(rank);
	free(rstart);
	free(rorder);
	free(rs_rec);
	cdns_zone_builder_free(b);
	return ret;
}

/* ---------------------------------------------------------------------------------------- */
/* The frozen zone                                                                            */

cdns_zone_t *cdns_zone_ref(cdns_zone_t *z)
{
	if (z != NULL)
		atomic_fetch_add_explicit(&z->refs, 1, memory_order_relaxed);
	return z;
}

void cdns_zone_unref(cdns_zone_t *z)
{
	if (z == NULL)
		return;
	/* The last reference frees: the release/acquire pair orders every reader's last use
	 * before the free. */
	if (atomic_fetch_sub_explicit(&z->refs, 1, memory_order_acq_rel) == 1)
		cdns__zone_free(z);
}

const uint8_t *cdns_zone_apex(const cdns_zone_t *z)
{
	return z->nodes[0].owner;
}

uint16_t cdns_zone_class(const cdns_zone_t *z)
{
	return z->rclass;
}

uint32_t cdns_zone_serial(const cdns_zone_t *z)
{
	return z->serial;
}

size_t cdns_zone_node_count(const cdns_zone_t *z)
{
	return z->n_nodes;
}

size_t cdns_zone_rr_count(const cdns_zone_t *z)
{
	return z->n_rrs;
}

const cdns_znode_t *cdns_zone_node(const cdns_zone_t *z, size_t i)
{
	return i < z->n_nodes ? &z->nodes[i] : NULL;
}

const cdns_znode_t *cdns_zone_find(const cdns_zone_t *z, const uint8_t *name, uint32_t hash)
{
	if (z == NULL || name == NULL)
		return NULL;
	return cdns__zone_lookup(z, name, cdns_name_len(name), hash);
}

const cdns_rrset_t *cdns_znode_rrset(const cdns_znode_t *n, uint16_t type)
{
	return n != NULL ? cdns__node_rrset(n, type) : NULL;
}

int cdns_rrset_next(const cdns_rrset_t *s, size_t *pos, const uint8_t **rdata, uint16_t *len)
{
	return cdns__rrset_next(s, pos, rdata, len);
}

size_t cdns_zone_parent(const cdns_zone_t *z, size_t i)
{
	if (z == NULL || i >= z->n_nodes || z->parent[i] == CDNS__NONE)
		return SIZE_MAX;
	return z->parent[i];
}

/* ---------------------------------------------------------------------------------------- */
/* Master file output                                                                         */

static int cdns__write_rrset(FILE *f, const cdns_rrset_t *s, const char *owner, const char *cls,
                             char *text, size_t textcap)
{
	char type[32];
	size_t pos = 0;
	const uint8_t *rd;
	uint16_t len;

	if (cdns_rrtype_to_text(s->type, type, sizeof(type)) < 0)
		return CDNS_EIO;
	while (cdns__rrset_next(s, &pos, &rd, &len)) {
		int tl = cdns_rdata_to_text(s->type, rd, len, text, textcap);
		if (tl < 0)
			return CDNS_EIO;
		if (fprintf(f, "%s\t%u\t%s\t%s\t%s\n", owner, s->ttl, cls, type, text) < 0)
			return CDNS_EIO;
	}
	return 0;
}

int cdns_zone_write(const cdns_zone_t *z, FILE *f)
{
	char owner[CDNS_NAME_MAXTEXT], cls[32];
	/* The longest presentation of 65535 octets of RDATA: every octet as "\DDD". */
	size_t textcap = (size_t)CDNS_RDATA_MAXLEN * 4 + 64;
	char *text;
	int ret = 0;

	if (z == NULL || f == NULL)
		return CDNS_EINVAL;
	text = malloc(textcap);
	if (text == NULL)
		return CDNS_ENOMEM;
	if (cdns_rrclass_to_text(z->rclass, cls, sizeof(cls)) < 0 ||
	    cdns_name_to_text(z->nodes[0].owner, owner, sizeof(owner)) < 0 ||
	    fprintf(f, "$ORIGIN %s\n", owner) < 0) {
		ret = CDNS_EIO;
		goto cleanup;
	}
	for (size_t i = 0; i < z->n_nodes && ret == 0; i++) {
		const cdns_znode_t *n = &z->nodes[i];
		if (n->n_rrsets == 0)
			continue;
		if (cdns_name_to_text(n->owner_case, owner, sizeof(owner)) < 0) {
			ret = CDNS_EIO;
			break;
		}
		/* The SOA first, as readers expect of a master file (RFC 1035 §5.2). */
		const cdns_rrset_t *soa = i == 0 ? cdns__node_rrset(n, CDNS_T_SOA) : NULL;
		if (soa != NULL)
			ret = cdns__write_rrset(f, soa, owner, cls, text, textcap);
		for (unsigned j = 0; j < n->n_rrsets && ret == 0; j++)
			if (&n->rrsets[j] != soa)
				ret =
				    cdns__write_rrset(f, &n->rrsets[j], owner, cls, text, textcap);
	}
	if (ret == 0 && (fflush(f) != 0 || ferror(f)))
		ret = CDNS_EIO;
cleanup:
	free(text);
	return ret;
}

/* ---------------------------------------------------------------------------------------- */
/* Zone sets                                                                                  */

struct cdns_zoneset {
	cdns_zone_t **zones;
	size_t n, cap;
	uint32_t *tab; /* zone indexes by apex hash, CDNS__NONE when free */
	unsigned bits;
	uint8_t max_labels;
};

cdns_zoneset_t *cdns_zoneset_new(void)
{
	cdns_zoneset_t *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return NULL;
	s->bits = 4;
	s->tab = malloc(((size_t)1 << s->bits) * sizeof(*s->tab));
	if (s->tab == NULL) {
		free(s);
		return NULL;
	}
	memset(s->tab, 0xff, ((size_t)1 << s->bits) * sizeof(*s->tab));
	return s;
}

/* Index of the zone whose apex is name (lower-cased, len bytes), or CDNS__NONE; *slot (if
 * not NULL) receives the free slot where it would go. */
static uint32_t cdns__zoneset_lookup(const cdns_zoneset_t *s, const uint8_t *name, size_t len,
                                     uint32_t hash, uint32_t *slot)
{
	uint32_t mask = (1u << s->bits) - 1;
	uint32_t i = cdns__slot(hash, s->bits);

	for (;;) {
		uint32_t zi = s->tab[i];
		if (zi == CDNS__NONE)
			break;
		const cdns_zone_t *z = s->zones[zi];
		if (z->nodes[0].hash == hash && z->apex_len == len &&
		    memcmp(z->nodes[0].owner, name, len) == 0)
			return zi;
		i = (i + 1) & mask;
	}
	if (slot != NULL)
		*slot = i;
	return CDNS__NONE;
}

int cdns_zoneset_add(cdns_zoneset_t *s, cdns_zone_t *z)
{
	uint32_t slot;

	if (s == NULL || z == NULL)
		return CDNS_EINVAL;
	if (cdns__zoneset_lookup(s, z->nodes[0].owner, z->apex_len, z->nodes[0].hash, &slot) !=
	    CDNS__NONE)
		return CDNS_EEXIST;
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 8;
		cdns_zone_t **zs = realloc(s->zones, cap * sizeof(*zs));
		if (zs == NULL)
			return CDNS_ENOMEM;
		s->zones = zs;
		s->cap = cap;
	}
	if ((s->n + 1) * 2 > ((size_t)1 << s->bits)) {
		unsigned bits = s->bits + 1;
		size_t cap = (size_t)1 << bits;
		uint32_t *t = malloc(cap * sizeof(*t));
		if (t == NULL)
			return CDNS_ENOMEM;
		memset(t, 0xff, cap * sizeof(*t));
		for (size_t i = 0; i < s->n; i++) {
			uint32_t j = cdns__slot(s->zones[i]->nodes[0].hash, bits);
			while (t[j] != CDNS__NONE)
				j = (j + 1) & (uint32_t)(cap - 1);
			t[j] = (uint32_t)i;
		}
		free(s->tab);
		s->tab = t;
		s->bits = bits;
		(void)cdns__zoneset_lookup(s, z->nodes[0].owner, z->apex_len, z->nodes[0].hash,
		                           &slot);
	}
	s->tab[slot] = (uint32_t)s->n;
	s->zones[s->n++] = z;
	if (z->apex_labels > s->max_labels)
		s->max_labels = z->apex_labels;
	return 0;
}

const cdns_zone_t *cdns_zoneset_find(const cdns_zoneset_t *s, const uint8_t *name)
{
	if (s == NULL || name == NULL || s->n == 0)
		return NULL;
	unsigned labels = cdns_name_labels(name);
	size_t len = cdns_name_len(name);
	/* Deepest first; names deeper than every apex skip their extra labels at once. */
	unsigned skip = labels > s->max_labels ? labels - s->max_labels : 0;
	const uint8_t *p = name;
	for (unsigned i = 0; i < skip; i++) {
		len -= (size_t)p[0] + 1;
		p += p[0] + 1;
	}
	for (;;) {
		uint32_t zi = cdns__zoneset_lookup(s, p, len, cdns_name_hash(p), NULL);
		if (zi != CDNS__NONE)
			return s->zones[zi];
		if (p[0] == 0)
			return NULL;
		len -= (size_t)p[0] + 1;
		p += p[0] + 1;
	}
}

const cdns_zone_t *cdns_zoneset_find_qtype(const cdns_zoneset_t *s, const uint8_t *name,
                                           uint16_t qtype)
{
	const cdns_zone_t *z = cdns_zoneset_find(s, name);

	/* RFC 4035 §3.1.4.1 and RFC 1034 §4.2.1: the DS RRset of a zone cut lives on the parent
	 * side; a parent zone in the set answers it. */
	if (z != NULL && qtype == CDNS_T_DS && name[0] != 0 &&
	    cdns_name_equal(z->nodes[0].owner, name)) {
		const cdns_zone_t *parent = cdns_zoneset_find(s, name + name[0] + 1);
		if (parent != NULL)
			return parent;
	}
	return z;
}

size_t cdns_zoneset_count(const cdns_zoneset_t *s)
{
	return s != NULL ? s->n : 0;
}

const cdns_zone_t *cdns_zoneset_get(const cdns_zoneset_t *s, size_t i)
{
	return s != NULL && i < s->n ? s->zones[i] : NULL;
}

cdns_zone_t *cdns_zoneset_get_apex(const cdns_zoneset_t *s, const uint8_t *apex)
{
	if (s == NULL || apex == NULL)
		return NULL;
	uint32_t zi =
	    cdns__zoneset_lookup(s, apex, cdns_name_len(apex), cdns_name_hash(apex), NULL);
	return zi != CDNS__NONE ? s->zones[zi] : NULL;
}

void cdns_zoneset_free(cdns_zoneset_t *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->n; i++)
		cdns_zone_unref(s->zones[i]);
	free(s->zones);
	free(s->tab);
	free(s);
}

#pragma GCC visibility pop
