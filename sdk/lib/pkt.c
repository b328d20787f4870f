/* Building DNS messages with name compression (RFC 1035 §4.1.4). Runs on the query path:
 * no allocation, and the work per name is bounded by its label count times the size of the
 * compression table. */
#include <string.h>

#include <clouddns/error.h>
#include <clouddns/pkt.h>

#include "rdlayout.h"

/* Pointers carry 14 bits of offset. */
#define CDNS__PTR_MAX 0x3fff

static inline uint16_t cdns__hdr_count(const cdns_pkt_t *p, int section)
{
	return cdns_get16(p->wire + 4 + 2 * section);
}

static inline void cdns__hdr_set_count(cdns_pkt_t *p, int section, uint16_t v)
{
	cdns_put16(p->wire + 4 + 2 * section, v);
}

/* ASCII lower case (RFC 4343 §3: only A-Z fold). */
static inline uint8_t cdns__lc(uint8_t c)
{
	return (uint8_t)((unsigned)c - (unsigned)'A' < 26u ? c + 32 : c);
}

/* Label offsets of a trusted name; returns the label count. */
static unsigned cdns__labels(const uint8_t *name, uint8_t *off)
{
	unsigned n = 0;
	size_t pos = 0;

	while (name[pos] != 0 && n < CDNS_NAME_MAXLABELS) {
		off[n++] = (uint8_t)pos;
		pos += (size_t)name[pos] + 1;
	}
	return n;
}

/* "The rest is the root label" for cdns__find(). */
#define CDNS__REST_ROOT ((size_t)-1)

/* Find a remembered name made of label l (ASCII case ignored) followed by the name written
 * at offset rest (or by the root label). Remembered offsets are always literal labels this
 * builder wrote, and what follows such a label is the next label, a pointer to a remembered
 * name, or the root; so comparing one label and one offset is enough, however long the
 * name. Returns the offset or -1. */
static int cdns__find(const cdns_pkt_t *p, const uint8_t *l, size_t rest)
{
	const uint8_t *w = p->wire;
	const unsigned len = l[0];

	for (unsigned i = 0; i < p->n_comp; i++) {
		size_t e = p->comp[i];
		if (w[e] != len)
			continue;
		size_t r = e + 1 + len;
		if (rest == CDNS__REST_ROOT) {
			if (w[r] != 0)
				continue;
		} else {
			size_t t = w[r] >= 0xc0 ? ((size_t)(w[r] & 0x3f) << 8) | w[r + 1] : r;
			if (t != rest)
				continue;
		}
		unsigned k = 1;
		while (k <= len && (w[e + k] == l[k] || cdns__lc(w[e + k]) == cdns__lc(l[k])))
			k++;
		if (k > len)
			return (int)e;
	}
	return -1;
}

/* Write a trusted uncompressed name at *pos, below end. With compress, the longest suffix
 * already in the message (ignoring case: see pkt.h) becomes a pointer, and the suffixes
 * written out are remembered. Returns 0 or CDNS_ESPACE (the caller restores n_comp). */
static int cdns__put_name(cdns_pkt_t *p, size_t *pos, size_t end, const uint8_t *name,
                          bool compress)
{
	uint8_t off[CDNS_NAME_MAXLABELS];
	size_t at = *pos;

	if (!compress) {
		size_t len = cdns_name_len(name);
		if (len > end - at)
			return CDNS_ESPACE;
		memcpy(p->wire + at, name, len);
		*pos = at + len;
		return 0;
	}

	unsigned n = cdns__labels(name, off);
	/* Shortest suffix first, each one found as a label followed by the suffix found just
	 * before; stop at the first miss. */
	unsigned match = n;
	size_t rest = CDNS__REST_ROOT;
	for (unsigned i = n; i-- > 0;) {
		int o = cdns__find(p, name + off[i], rest);
		if (o < 0)
			break;
		match = i;
		rest = (size_t)o;
	}

	size_t literal = match < n ? off[match] : cdns_name_len(name) - 1;
	size_t need = literal + (match < n ? 2 : 1);
	if (need > end - at)
		return CDNS_ESPACE;
	memcpy(p->wire + at, name, literal);
	/* Shortest first, so that a full table keeps the suffixes most likely to be shared. */
	for (unsigned i = match; i-- > 0 && p->n_comp < CDNS_PKT_COMP_MAX;) {
		size_t o = at + off[i];
		if (o > CDNS__PTR_MAX)
			continue;
		p->comp[p->n_comp++] = (uint16_t)o;
	}
	at += literal;
	if (match < n) {
		cdns_put16(p->wire + at, (uint16_t)(0xc000 | rest));
		at += 2;
	} else {
		p->wire[at++] = 0;
	}
	*pos = at;
	return 0;
}

/* RDATA of a compressible type: copy it along its layout, compressing the names. Returns 0,
 * CDNS_ESPACE, or CDNS_EINVAL when rdata does not match the layout. */
static int cdns__put_rdata(cdns_pkt_t *p, size_t *pos, size_t end, const cdns__rdlayout_t *lay,
                           const uint8_t *rdata, size_t rdlen)
{
	size_t q = 0;

	for (unsigned i = 0; i < CDNS__RDLAYOUT_MAXFIELDS; i++) {
		uint8_t f = lay->field[i];
		size_t n;

		if (f == CDNS__RDF_END)
			break;
		if (f == CDNS__RDF_NAME) {
			int len = cdns_name_check(rdata + q, rdlen - q);
			if (len < 0)
				return CDNS_EINVAL;
			int r = cdns__put_name(p, pos, end, rdata + q, true);
			if (r < 0)
				return r;
			q += (size_t)len;
			continue;
		}
		if (f == CDNS__RDF_CSTR) {
			if (q >= rdlen)
				return CDNS_EINVAL;
			n = (size_t)rdata[q] + 1;
		} else if (f == CDNS__RDF_REST) {
			n = rdlen - q;
		} else {
			n = f;
		}
		if (n > rdlen - q)
			return CDNS_EINVAL;
		if (n > end - *pos)
			return CDNS_ESPACE;
		memcpy(p->wire + *pos, rdata + q, n);
		*pos += n;
		q += n;
	}
	return q == rdlen ? 0 : CDNS_EINVAL;
}

/* libclouddns is compiled with -fvisibility=hidden: what follows is public API. */
#pragma GCC visibility push(default)

void cdns_pkt_init(cdns_pkt_t *p, uint8_t *wire, uint16_t cap)
{
	p->wire = wire;
	p->section = CDNS_SEC_QUESTION;
	p->n_comp = 0;
	if (wire == NULL || cap < CDNS_HDR_LEN) {
		/* Unusable: every setter and append is then a no-op or CDNS_ESPACE. */
		p->len = p->limit = p->cap = 0;
		return;
	}
	memset(wire, 0, CDNS_HDR_LEN);
	p->len = CDNS_HDR_LEN;
	p->limit = p->cap = cap;
}

void cdns_pkt_set_limit(cdns_pkt_t *p, uint16_t limit)
{
	p->limit = limit < p->cap ? limit : p->cap;
}

void cdns_pkt_set_id(cdns_pkt_t *p, uint16_t id)
{
	if (p->cap >= CDNS_HDR_LEN)
		cdns_put16(p->wire, id);
}

void cdns_pkt_set_flags(cdns_pkt_t *p, uint16_t flags)
{
	if (p->cap >= CDNS_HDR_LEN)
		cdns_put16(p->wire + 2, flags);
}

uint16_t cdns_pkt_flags(const cdns_pkt_t *p)
{
	return p->cap >= CDNS_HDR_LEN ? cdns_get16(p->wire + 2) : 0;
}

uint16_t cdns_pkt_count(const cdns_pkt_t *p, int section)
{
	if (p->cap < CDNS_HDR_LEN || section < CDNS_SEC_QUESTION || section > CDNS_SEC_ADDITIONAL)
		return 0;
	return cdns__hdr_count(p, section);
}

int cdns_pkt_put_question(cdns_pkt_t *p, const uint8_t *name, uint16_t qtype, uint16_t qclass)
{
	if (p->cap < CDNS_HDR_LEN)
		return CDNS_ESPACE;
	if (name == NULL || cdns__hdr_count(p, CDNS_SEC_ANSWER) != 0 ||
	    cdns__hdr_count(p, CDNS_SEC_AUTHORITY) != 0 ||
	    cdns__hdr_count(p, CDNS_SEC_ADDITIONAL) != 0 || p->section != CDNS_SEC_QUESTION)
		return CDNS_EINVAL;

	const uint16_t n_comp = p->n_comp;
	size_t pos = p->len;
	size_t end = p->limit > p->len ? p->limit : p->len;
	int r = cdns__put_name(p, &pos, end, name, true);
	if (r < 0)
		goto fail;
	if (end - pos < 4) {
		r = CDNS_ESPACE;
		goto fail;
	}
	cdns_put16(p->wire + pos, qtype);
	cdns_put16(p->wire + pos + 2, qclass);
	p->len = (uint16_t)(pos + 4);
	cdns__hdr_set_count(p, CDNS_SEC_QUESTION,
	                    (uint16_t)(cdns__hdr_count(p, CDNS_SEC_QUESTION) + 1));
	return 0;
fail:
	p->n_comp = n_comp;
	return r;
}

int cdns_pkt_put_rr(cdns_pkt_t *p, int section, const uint8_t *owner, uint16_t type,
                    uint16_t rclass, uint32_t ttl, const uint8_t *rdata, uint16_t rdlen)
{
	if (p->cap < CDNS_HDR_LEN)
		return CDNS_ESPACE;
	if (section < CDNS_SEC_ANSWER || section > CDNS_SEC_ADDITIONAL || section < p->section ||
	    owner == NULL || (rdata == NULL && rdlen > 0))
		return CDNS_EINVAL;

	const uint16_t n_comp = p->n_comp;
	size_t pos = p->len;
	size_t end = p->limit > p->len ? p->limit : p->len;
	int r = cdns__put_name(p, &pos, end, owner, true);
	if (r < 0)
		goto fail;
	if (end - pos < 10) {
		r = CDNS_ESPACE;
		goto fail;
	}
	uint8_t *fixed = p->wire + pos;
	cdns_put16(fixed, type);
	cdns_put16(fixed + 2, rclass);
	cdns_put32(fixed + 4, ttl);
	pos += 10;
	const size_t rd = pos;

	const cdns__rdlayout_t *lay = cdns__rdlayout(type);
	if (lay != NULL && lay->compress && rdlen > 0) {
		r = cdns__put_rdata(p, &pos, end, lay, rdata, rdlen);
		if (r < 0)
			goto fail;
	} else {
		/* RFC 3597 §4: any other RDATA goes out exactly as given. */
		if (rdlen > end - pos) {
			r = CDNS_ESPACE;
			goto fail;
		}
		memcpy(p->wire + pos, rdata, rdlen);
		pos += rdlen;
	}
	cdns_put16(fixed + 8, (uint16_t)(pos - rd));

	p->len = (uint16_t)pos;
	p->section = (uint8_t)section;
	cdns__hdr_set_count(p, section, (uint16_t)(cdns__hdr_count(p, section) + 1));
	return 0;
fail:
	p->n_comp = n_comp;
	return r;
}

int cdns_pkt_put_raw_rr(cdns_pkt_t *p, int section, const uint8_t *rr, uint16_t len)
{
	if (p->cap < CDNS_HDR_LEN)
		return CDNS_ESPACE;
	if (section < CDNS_SEC_ANSWER || section > CDNS_SEC_ADDITIONAL || section < p->section ||
	    (rr == NULL && len > 0))
		return CDNS_EINVAL;
	if (len > p->cap - p->len)
		return CDNS_ESPACE;
	if (len > 0)
		memcpy(p->wire + p->len, rr, len);
	p->len = (uint16_t)(p->len + len);
	p->section = (uint8_t)section;
	cdns__hdr_set_count(p, section, (uint16_t)(cdns__hdr_count(p, section) + 1));
	return 0;
}

cdns_pkt_mark_t cdns_pkt_mark(const cdns_pkt_t *p)
{
	cdns_pkt_mark_t m;

	m.len = p->len;
	m.n_comp = p->n_comp;
	m.section = p->section;
	for (int s = 0; s < 4; s++)
		m.count[s] = cdns_pkt_count(p, s);
	return m;
}

void cdns_pkt_rollback(cdns_pkt_t *p, const cdns_pkt_mark_t *mark)
{
	/* A mark from a later state (or another packet) cannot be undone to: ignore it. */
	if (p->cap < CDNS_HDR_LEN || mark->len > p->len || mark->n_comp > p->n_comp)
		return;
	p->len = mark->len;
	p->n_comp = mark->n_comp;
	p->section = mark->section;
	for (int s = 0; s < 4; s++)
		cdns__hdr_set_count(p, s, mark->count[s]);
}

#pragma GCC visibility pop
