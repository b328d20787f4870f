/* The authoritative answer algorithm (RFC 1034 §4.3.2) over an immutable zone, with negative
 * answers (RFC 2308), wildcards (RFC 4592), DNAME (RFC 6672), ANY (RFC 8482) and the rcode of
 * alias chains (RFC 6604).
 *
 * The answer path allocates nothing, takes no lock, and does bounded work: at most
 * CDNS__CHAIN_MAX alias steps, each one hash lookup per label at most; at most
 * CDNS__TARGETS_MAX names looked up for the additional section.
 *
 * Decisions, where the RFCs leave a choice. Knot DNS 3.2 answers the same way (checked with
 * kdig against knotd serving the zones of t/unit/test_answer.c), except that it stops alias
 * chains after 5 steps:
 *   - Minimal responses: a positive answer carries no NS RRset in the authority section.
 *   - ANY (RFC 8482 §4.1): one RRset of the name, the first in type order. A CNAME at the name
 *     is not followed for ANY, CNAME, RRSIG or NSEC.
 *   - Alias chains are followed inside this zone only; a target outside it ends the chain
 *     with NOERROR. The rcode is the one of the last name looked up (RFC 6604 §2.1): a chain
 *     ending at a name that does not exist is NXDOMAIN. AA is set unless the first name led
 *     to a referral (RFC 6604 §2.2: AA describes the first owner). A loop stops the chain with
 *     what was found (a wildcard met again still adds its CNAME for the new name first); so
 *     does the CDNS__CHAIN_MAX-th step.
 *   - Truncation (RFC 2181 §9): RRsets are never split. When an RRset of the answer or
 *     authority section (or the mandatory glue of a referral, RFC 9471 §3) does not fit, it
 *     is removed, TC is set and nothing more is added; earlier whole RRsets stay. Additional
 *     records that do not fit are left out without TC.
 *   - A DNAME whose synthesized name would exceed 255 octets gives YXDOMAIN with the DNAME in
 *     the answer (RFC 6672 §2.2).
 *   - NS at a wildcard name (RFC 4592 §4.2) is a zone cut like any other: the names the
 *     wildcard would match get a referral to it (but DS is answered from this zone).
 *   - The class is the caller's business: it picks a zone of the query's class.
 *   - DNSSEC records are added only when asked for by type; signing responses and denial
 *     proofs are the business of a DNSSEC layer. */
#include <stdbool.h>
#include <string.h>

#include <clouddns/error.h>
#include <clouddns/name.h>
#include <clouddns/query.h>
#include <clouddns/rrtype.h>
#include <clouddns/wire.h>
#include <clouddns/zone.h>

#include "zone_impl.h"

/* CNAME/DNAME steps followed in one answer: bounds the work and the answer's size. (Knot DNS
 * 3.2 stops after 5; the resolver follows whatever we leave out.) */
#define CDNS__CHAIN_MAX   8
#define CDNS__ADDL_MAX    16 /* RRsets whose targets get addresses in the additional section */
#define CDNS__TARGETS_MAX 64 /* target names looked up for the additional section */

enum {
	CDNS__ST_HIT,      /* answered (or a chain ended outside the zone or in a loop) */
	CDNS__ST_NODATA,   /* the name exists, the type does not (RFC 2308 §2.2) */
	CDNS__ST_NXDOMAIN, /* the name does not exist (RFC 2308 §2.1) */
	CDNS__ST_DELEG,    /* a referral (RFC 1034 §4.3.2 step 3b) */
	CDNS__ST_FOLLOW,   /* an alias led to another name of this zone */
	CDNS__ST_TRUNC,    /* a required RRset did not fit */
	CDNS__ST_YXDOMAIN, /* DNAME substitution overflowed (RFC 6672 §2.2) */
};

enum { CDNS__LOC_EXACT, CDNS__LOC_NXNAME, CDNS__LOC_DELEG, CDNS__LOC_DNAME };

typedef struct cdns__addl {
	const cdns_rrset_t *set;
	const cdns_znode_t *cut; /* a referral's cut: glue at or below it is mandatory */
} cdns__addl_t;

typedef struct cdns__actx {
	const cdns_zone_t *z;
	cdns_query_t *q;
	const uint8_t *sname;            /* the name being answered, spelled for output */
	uint8_t sbuf[CDNS_NAME_MAXLEN];  /* where sname lives once an alias was followed */
	uint8_t lname[CDNS_NAME_MAXLEN]; /* the same, lower-cased, for lookups */
	size_t len;
	unsigned labels;
	uint32_t hash;
	const cdns_znode_t *cut;
	const cdns_znode_t *visited[CDNS__CHAIN_MAX + 1];
	unsigned n_visited;
	cdns__addl_t addl[CDNS__ADDL_MAX];
	unsigned n_addl;
} cdns__actx_t;

static void cdns__set_name(cdns__actx_t *a, const uint8_t *name)
{
	size_t len = cdns_name_len(name);

	memmove(a->sbuf, name, len);
	a->sname = a->sbuf;
	cdns_name_copy_lower(a->lname, name);
	a->len = len;
	a->labels = cdns_name_labels(a->lname);
	a->hash = cdns_name_hash(a->lname);
}

/* Is name (lower-cased, len bytes) at or below parent (lower-cased, plen bytes)? */
static bool cdns__below(const uint8_t *name, size_t len, const uint8_t *parent, size_t plen)
{
	size_t off = 0;

	if (len < plen)
		return false;
	while (off < len - plen)
		off += (size_t)name[off] + 1;
	return off == len - plen && memcmp(name + off, parent, plen) == 0;
}

/* Find where the current name leads (RFC 1034 §4.3.2 step 3). The closest encloser is
 * searched bottom-up: the common case, an exact match, costs one lookup, and the OCCLUDED
 * flag tells at once whether a cut or a DNAME lies between the apex and the node found. */
static int cdns__locate(const cdns__actx_t *a, const cdns_znode_t **node)
{
	const cdns_zone_t *z = a->z;
	const uint8_t *p = a->lname;
	size_t len = a->len;
	unsigned skip = 0;
	const cdns_znode_t *e;

	/* No node has more labels than max_labels: skip those at once. */
	while (a->labels - skip > z->max_labels) {
		len -= (size_t)p[0] + 1;
		p += p[0] + 1;
		skip++;
	}
	uint32_t h = skip == 0 ? a->hash : cdns_name_hash(p);
	while ((e = cdns__zone_lookup(z, p, len, h)) == NULL) {
		if (len <= z->apex_len)
			return CDNS_EINVAL; /* not in this zone: the apex always exists */
		len -= (size_t)p[0] + 1;
		p += p[0] + 1;
		skip++;
		h = cdns_name_hash(p);
	}
	bool exact = skip == 0;

	if (e->flags & CDNS_ZNODE_OCCLUDED) {
		/* The topmost cut or DNAME above decides (RFC 1034 §4.3.2 step 3b, RFC 6672 §3.2):
		 * it is the first one met going up that is not itself occluded. */
		uint32_t i = (uint32_t)(e - z->nodes);
		do {
			i = z->parent[i];
		} while (i != CDNS__NONE &&
		         (!(z->nodes[i].flags & (CDNS_ZNODE_DELEG | CDNS_ZNODE_DNAME)) ||
		          (z->nodes[i].flags & CDNS_ZNODE_OCCLUDED)));
		if (i == CDNS__NONE)
			return CDNS_EINVAL;
		*node = &z->nodes[i];
		return (z->nodes[i].flags & CDNS_ZNODE_DELEG) ? CDNS__LOC_DELEG : CDNS__LOC_DNAME;
	}
	*node = e;
	/* A DS query for the cut itself is answered by the parent side: this zone (RFC 4035
	 * §3.1.4.1). Everything else at or below a cut is referred. */
	if ((e->flags & CDNS_ZNODE_DELEG) && !(exact && a->q->qtype == CDNS_T_DS))
		return CDNS__LOC_DELEG;
	/* RFC 6672 §2.3: the DNAME owner itself is not redirected, only names below it. */
	if ((e->flags & CDNS_ZNODE_DNAME) && !exact)
		return CDNS__LOC_DNAME;
	return exact ? CDNS__LOC_EXACT : CDNS__LOC_NXNAME;
}

/* "*.<name of e>", or NULL. */
static const cdns_znode_t *cdns__wildcard_child(const cdns_zone_t *z, const cdns_znode_t *e)
{
	uint8_t w[CDNS_NAME_MAXLEN];
	size_t elen = cdns_name_len(e->owner);

	if (!(e->flags & CDNS_ZNODE_WILDCARD) || elen + 2 > CDNS_NAME_MAXLEN)
		return NULL;
	w[0] = 1;
	w[1] = '*';
	memcpy(w + 2, e->owner, elen);
	return cdns__zone_lookup(z, w, elen + 2, cdns_name_hash(w));
}

/* Add a whole RRset or nothing. */
static int cdns__put(cdns__actx_t *a, int section, const uint8_t *owner, const cdns_rrset_t *s,
                     uint32_t ttl)
{
	cdns_query_t *q = a->q;
	cdns_pkt_mark_t mark = cdns_pkt_mark(&q->resp);
	size_t pos = 0;
	const uint8_t *rd;
	uint16_t len;

	while (cdns__rrset_next(s, &pos, &rd, &len)) {
		int r = cdns_resp_add(q, section, owner, s->type, a->z->rclass, ttl, rd, len);
		if (r < 0) {
			cdns_pkt_rollback(&q->resp, &mark);
			return r;
		}
	}
	return 0;
}

static void cdns__want_additional(cdns__actx_t *a, const cdns_rrset_t *s, const cdns_znode_t *cut)
{
	if (s->type != CDNS_T_NS && s->type != CDNS_T_MX && s->type != CDNS_T_SRV)
		return;
	if (a->n_addl < CDNS__ADDL_MAX)
		a->addl[a->n_addl++] = (cdns__addl_t){s, cut};
}

/* Remember a node an alias came from; false if it was seen before (a loop). */
static bool cdns__visit(cdns__actx_t *a, const cdns_znode_t *n)
{
	for (unsigned i = 0; i < a->n_visited; i++)
		if (a->visited[i] == n)
			return false;
	if (a->n_visited < CDNS__CHAIN_MAX + 1)
		a->visited[a->n_visited++] = n;
	return true;
}

static int cdns__follow(cdns__actx_t *a, const uint8_t *target)
{
	cdns__set_name(a, target);
	/* Only this zone's data is ours to give (RFC 1034 §4.3.2 step 3a): stop at its edge. */
	return cdns__zone_contains(a->z, a->lname, a->len) ? CDNS__ST_FOLLOW : CDNS__ST_HIT;
}

/* The name is n's, or synthesized from the wildcard n (RFC 4592 §3.3.1: the owner of what
 * is synthesized is the name sought, a->sname either way). */
static int cdns__answer_node(cdns__actx_t *a, const cdns_znode_t *n, bool synthesized)
{
	uint16_t qtype = a->q->qtype;
	int r;

	if ((n->flags & CDNS_ZNODE_CNAME) && qtype != CDNS_T_CNAME && qtype != CDNS_T_ANY &&
	    qtype != CDNS_T_RRSIG && qtype != CDNS_T_NSEC) {
		/* RFC 1034 §4.3.2 step 3a, RFC 4592 §2.1.3 for a wildcard's CNAME. */
		const cdns_rrset_t *c = cdns__node_rrset(n, CDNS_T_CNAME);
		bool again = !cdns__visit(a, n);
		/* The same name again would repeat an RRset already in the answer: a loop. */
		if (again && !synthesized)
			return CDNS__ST_HIT;
		if ((r = cdns__put(a, CDNS_SEC_ANSWER, a->sname, c, c->ttl)) < 0)
			return r == CDNS_ESPACE ? CDNS__ST_TRUNC : r;
		/* A wildcard met again has given its CNAME for this new name: stop there. */
		if (again)
			return CDNS__ST_HIT;
		return cdns__follow(a, c->rdata + 2);
	}
	const cdns_rrset_t *s;
	if (qtype == CDNS_T_ANY)
		s = n->n_rrsets > 0 ? &n->rrsets[0] : NULL; /* RFC 8482 §4.1 */
	else
		s = cdns__node_rrset(n, qtype);
	if (s == NULL)
		return CDNS__ST_NODATA;
	if ((r = cdns__put(a, CDNS_SEC_ANSWER, a->sname, s, s->ttl)) < 0)
		return r == CDNS_ESPACE ? CDNS__ST_TRUNC : r;
	cdns__want_additional(a, s, NULL);
	return CDNS__ST_HIT;
}

/* RFC 6672 §3: the DNAME, then a CNAME synthesized from it, then on to the new name. */
static int cdns__dname(cdns__actx_t *a, const cdns_znode_t *d)
{
	const cdns_rrset_t *s = cdns__node_rrset(d, CDNS_T_DNAME);
	int r;

	if (s == NULL)
		return CDNS_EINVAL;
	if (!cdns__visit(a, d))
		return CDNS__ST_HIT;
	if ((r = cdns__put(a, CDNS_SEC_ANSWER, d->owner_case, s, s->ttl)) < 0)
		return r == CDNS_ESPACE ? CDNS__ST_TRUNC : r;
	const uint8_t *target = s->rdata + 2;
	size_t tlen = cdns_name_len(target);
	size_t prefix = a->len - cdns_name_len(d->owner);
	if (prefix + tlen > CDNS_NAME_MAXLEN)
		return CDNS__ST_YXDOMAIN;
	uint8_t syn[CDNS_NAME_MAXLEN];
	memcpy(syn, a->sname, prefix);
	memcpy(syn + prefix, target, tlen);
	/* RFC 6672 §3.1: the synthesized CNAME has the DNAME's TTL. */
	r = cdns_resp_add(a->q, CDNS_SEC_ANSWER, a->sname, CDNS_T_CNAME, a->z->rclass, s->ttl, syn,
	                  (uint16_t)(prefix + tlen));
	if (r < 0)
		return r == CDNS_ESPACE ? CDNS__ST_TRUNC : r;
	if (a->q->qtype == CDNS_T_CNAME)
		return CDNS__ST_HIT; /* the synthesized CNAME is the answer */
	return cdns__follow(a, syn);
}

/* The name does not exist: a wildcard may stand in (RFC 4592 §3.3.1), else NXDOMAIN. */
static int cdns__not_found(cdns__actx_t *a, const cdns_znode_t *encloser)
{
	const cdns_znode_t *w = cdns__wildcard_child(a->z, encloser);

	if (w == NULL)
		return CDNS__ST_NXDOMAIN;
	if ((w->flags & CDNS_ZNODE_DELEG) && a->q->qtype != CDNS_T_DS) {
		a->cut = w;
		return CDNS__ST_DELEG;
	}
	return cdns__answer_node(a, w, true);
}

/* An address target for the additional section: the node of name, or the wildcard that
 * synthesizes it. */
static const cdns_znode_t *cdns__target_node(const cdns_zone_t *z, const uint8_t *name, size_t len)
{
	const uint8_t *p = name;
	size_t plen = len;
	const cdns_znode_t *e;

	while ((e = cdns__zone_lookup(z, p, plen, cdns_name_hash(p))) == NULL) {
		if (plen <= z->apex_len)
			return NULL;
		plen -= (size_t)p[0] + 1;
		p += p[0] + 1;
	}
	if (p == name)
		return e;
	if (e->flags & (CDNS_ZNODE_OCCLUDED | CDNS_ZNODE_DELEG | CDNS_ZNODE_DNAME))
		return NULL;
	return cdns__wildcard_child(z, e);
}

/* RFC 1034 §4.3.2 step 6: addresses of the name servers, mail exchangers and services named
 * in the answer and authority sections, when this zone has them. For a referral, glue at or
 * below the cut comes first and must fit (RFC 9471 §3); the rest is added while it fits. */
static void cdns__additional(cdns__actx_t *a)
{
	static const uint16_t types[2] = {CDNS_T_A, CDNS_T_AAAA};
	const cdns_zone_t *z = a->z;
	struct {
		const cdns_rrset_t *set;
		uint32_t hash;
	} added[CDNS__TARGETS_MAX * 2];
	unsigned n_added = 0, looked = 0;

	for (unsigned i = 0; i < a->n_addl; i++) {
		const cdns__addl_t *e = &a->addl[i];
		size_t cut_len = e->cut != NULL ? cdns_name_len(e->cut->owner) : 0;
		for (int pass = e->cut != NULL ? 0 : 1; pass < 2; pass++) {
			size_t pos = 0;
			const uint8_t *rd;
			uint16_t rdlen;
			while (cdns__rrset_next(e->set, &pos, &rd, &rdlen)) {
				const uint8_t *target = rd;
				if (e->set->type == CDNS_T_MX)
					target = rd + 2; /* RFC 1035 §3.3.9 */
				else if (e->set->type == CDNS_T_SRV)
					target = rd + 6; /* RFC 2782 */
				uint8_t t[CDNS_NAME_MAXLEN];
				size_t tlen = cdns_name_copy_lower(t, target);
				bool mandatory =
				    e->cut != NULL && cdns__below(t, tlen, e->cut->owner, cut_len);
				if (mandatory != (pass == 0))
					continue;
				if (++looked > CDNS__TARGETS_MAX)
					return;
				if (!cdns__zone_contains(z, t, tlen))
					continue;
				const cdns_znode_t *n = cdns__target_node(z, t, tlen);
				if (n == NULL)
					continue;
				uint32_t th = cdns_name_hash(t);
				for (unsigned k = 0; k < 2; k++) {
					const cdns_rrset_t *s = cdns__node_rrset(n, types[k]);
					if (s == NULL)
						continue;
					bool dup = false;
					for (unsigned d = 0; d < n_added && !dup; d++)
						dup = added[d].set == s && added[d].hash == th;
					if (dup)
						continue;
					int r =
					    cdns__put(a, CDNS_SEC_ADDITIONAL, target, s, s->ttl);
					if (r == CDNS_ESPACE && mandatory) {
						cdns_resp_set_flags(a->q, CDNS_FLAG_TC, 0);
						return;
					}
					if (r < 0)
						continue;
					added[n_added].set = s;
					added[n_added++].hash = th;
				}
			}
		}
	}
}

#pragma GCC visibility push(default)

int cdns_zone_answer(const cdns_zone_t *z, cdns_query_t *q)
{
	cdns__actx_t a;
	int state, r;

	if (z == NULL || q == NULL || q->qname_len == 0)
		return CDNS_EINVAL;
	a.z = z;
	a.q = q;
	a.cut = NULL;
	a.n_visited = 0;
	a.n_addl = 0;
	/* Owners equal to the qname are spelled as the client did (RFC 4343 §4.1), so that they
	 * compress to a pointer at the question: the question's name is read in place (it
	 * cannot be compressed: nothing precedes it that it could point to). */
	a.sname = q->qname;
	if (q->msg.wire != NULL && q->qname_off + q->qname_len <= q->msg.len &&
	    cdns_name_check(q->msg.wire + q->qname_off, q->qname_len) == q->qname_len)
		a.sname = q->msg.wire + q->qname_off;
	memcpy(a.lname, q->qname, q->qname_len);
	a.len = q->qname_len;
	a.labels = q->qname_labels;
	a.hash = q->qname_hash;
	if (!cdns__zone_contains(z, a.lname, a.len))
		return CDNS_EINVAL;

	bool aa = true;
	for (unsigned step = 0;; step++) {
		const cdns_znode_t *n = NULL;
		switch (cdns__locate(&a, &n)) {
		case CDNS__LOC_EXACT: state = cdns__answer_node(&a, n, false); break;
		case CDNS__LOC_NXNAME: state = cdns__not_found(&a, n); break;
		case CDNS__LOC_DELEG:
			a.cut = n;
			state = CDNS__ST_DELEG;
			break;
		case CDNS__LOC_DNAME: state = cdns__dname(&a, n); break;
		default: return CDNS_EINVAL;
		}
		if (state < 0)
			return state;
		/* RFC 6604 §2.2 and RFC 1034 §4.3.2 step 3b: AA unless the qname itself was
		 * referred. */
		if (step == 0 && state == CDNS__ST_DELEG)
			aa = false;
		if (state != CDNS__ST_FOLLOW)
			break;
		if (step + 1 >= CDNS__CHAIN_MAX) {
			state = CDNS__ST_HIT;
			break;
		}
	}
	if (aa)
		cdns_resp_set_flags(q, CDNS_FLAG_AA, 0);

	switch (state) {
	case CDNS__ST_TRUNC: cdns_resp_set_flags(q, CDNS_FLAG_TC, 0); return 0;
	case CDNS__ST_YXDOMAIN: cdns_resp_set_rcode(q, CDNS_RCODE_YXDOMAIN); return 0;
	case CDNS__ST_NXDOMAIN:
		/* RFC 6604 §2.1: the rcode of the last name of a chain. */
		cdns_resp_set_rcode(q, CDNS_RCODE_NXDOMAIN);
		/* fall through */
	case CDNS__ST_NODATA:
		/* RFC 2308 §3 and §5: the SOA, with the TTL min(SOA TTL, MINIMUM). */
		if (z->soa != NULL) {
			r = cdns__put(&a, CDNS_SEC_AUTHORITY, z->nodes[0].owner_case, z->soa,
			              z->neg_ttl);
			if (r == CDNS_ESPACE) {
				cdns_resp_set_flags(q, CDNS_FLAG_TC, 0);
				return 0;
			}
			if (r < 0)
				return r;
		}
		break;
	case CDNS__ST_DELEG: {
		const cdns_rrset_t *ns = cdns__node_rrset(a.cut, CDNS_T_NS);
		if (ns == NULL)
			return CDNS_EINVAL;
		r = cdns__put(&a, CDNS_SEC_AUTHORITY, a.cut->owner_case, ns, ns->ttl);
		if (r == CDNS_ESPACE) {
			cdns_resp_set_flags(q, CDNS_FLAG_TC, 0);
			return 0;
		}
		if (r < 0)
			return r;
		cdns__want_additional(&a, ns, a.cut);
		break;
	}
	default: break;
	}
	cdns__additional(&a);
	return 0;
}

#pragma GCC visibility pop

bool cdns_zone_serve(const cdns_zone_t *z, cdns_query_t *q)
{
	if (q->qclass != cdns_zone_class(z) && q->qclass != CDNS_C_ANY)
		return false;
	if (q->qtype == CDNS_T_AXFR || q->qtype == CDNS_T_IXFR) {
		cdns_resp_set_rcode(q, q->qtype == CDNS_T_AXFR && !cdns_query_is_tcp(q)
					       ? CDNS_RCODE_NOTIMP
					       : CDNS_RCODE_NOTAUTH);
		return true;
	}
	if (cdns_zone_answer(z, q) != 0) {
		cdns_resp_reset(q);
		cdns_resp_set_rcode(q, CDNS_RCODE_SERVFAIL);
	}
	return true;
}
