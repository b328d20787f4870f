/* Reading and validating DNS messages (RFC 1035 §4, RFC 9267), and the RDATA layouts of the
 * types whose RDATA may hold compressed names (RFC 3597 §4). */
#include <string.h>

#include <clouddns/error.h>
#include <clouddns/rrtype.h>
#include <clouddns/wire.h>

#include "rdlayout.h"

/* The layout table, shared with pkt.c through cdns__rdlayout(). A name field may be
 * compressed on the wire; the RDATA must end exactly where the layout ends, except after
 * REST. */
static const cdns__rdlayout_t cdns__layouts[] = {
#define N CDNS__RDF_NAME
#define S CDNS__RDF_CSTR
#define R CDNS__RDF_REST
    /* RFC 3597 §4: the RFC 1035 types, whose RDATA names a writer may compress. */
    {CDNS_T_NS, true, {N}},
    {CDNS_T_MD, true, {N}},
    {CDNS_T_MF, true, {N}},
    {CDNS_T_CNAME, true, {N}},
    {CDNS_T_SOA, true, {N, N, 20}}, /* MNAME, RNAME, SERIAL..MINIMUM */
    {CDNS_T_MB, true, {N}},
    {CDNS_T_MG, true, {N}},
    {CDNS_T_MR, true, {N}},
    {CDNS_T_PTR, true, {N}},
    {CDNS_T_MINFO, true, {N, N}},
    {CDNS_T_MX, true, {2, N}},
    /* RFC 3597 §4: later types that a reader must still decompress; never written
     * compressed. */
    {CDNS_T_RP, false, {N, N}},             /* RFC 1183 §2.2 */
    {CDNS_T_AFSDB, false, {2, N}},          /* RFC 1183 §1 */
    {CDNS_T_RT, false, {2, N}},             /* RFC 1183 §3.1 */
    {CDNS_T_SIG, false, {18, N, R}},        /* RFC 2535 §4.1 */
    {CDNS_T_PX, false, {2, N, N}},          /* RFC 2163 §4 */
    {CDNS_T_NXT, false, {N, R}},            /* RFC 2535 §5.2 */
    {CDNS_T_SRV, false, {6, N}},            /* RFC 2782: priority, weight, port, target */
    {CDNS_T_NAPTR, false, {4, S, S, S, N}}, /* RFC 3403 §4.1 */
    /* Not compressible by RFC 3597, but decompressed for robustness: RFC 2230 (KX),
     * RFC 6672 (DNAME), RFC 4034 §3.1, §4.1 (RRSIG, NSEC). */
    {CDNS_T_KX, false, {2, N}},
    {CDNS_T_DNAME, false, {N}},
    {CDNS_T_RRSIG, false, {18, N, R}},
    {CDNS_T_NSEC, false, {N, R}},
#undef N
#undef S
#undef R
};

/* Index + 1 into cdns__layouts by type; every listed type is below 48. */
static const uint8_t cdns__layout_idx[CDNS_T_NSEC + 1] = {
    [CDNS_T_NS] = 1,     [CDNS_T_MD] = 2,     [CDNS_T_MF] = 3,     [CDNS_T_CNAME] = 4,
    [CDNS_T_SOA] = 5,    [CDNS_T_MB] = 6,     [CDNS_T_MG] = 7,     [CDNS_T_MR] = 8,
    [CDNS_T_PTR] = 9,    [CDNS_T_MINFO] = 10, [CDNS_T_MX] = 11,    [CDNS_T_RP] = 12,
    [CDNS_T_AFSDB] = 13, [CDNS_T_RT] = 14,    [CDNS_T_SIG] = 15,   [CDNS_T_PX] = 16,
    [CDNS_T_NXT] = 17,   [CDNS_T_SRV] = 18,   [CDNS_T_NAPTR] = 19, [CDNS_T_KX] = 20,
    [CDNS_T_DNAME] = 21, [CDNS_T_RRSIG] = 22, [CDNS_T_NSEC] = 23,
};

const cdns__rdlayout_t *cdns__rdlayout(uint16_t type)
{
	if (type >= sizeof(cdns__layout_idx) || cdns__layout_idx[type] == 0)
		return NULL;
	return &cdns__layouts[cdns__layout_idx[type] - 1];
}

/* Walk RDATA at msg[rd..rd+rdlen) along a layout: names are validated (they may point
 * anywhere earlier in the message, but must be stored within the RDATA) and, when out is not
 * NULL, written uncompressed to out along with the other fields. Returns the expanded
 * length, CDNS_EFORMAT when the RDATA does not match the layout, a name error, or
 * CDNS_ESPACE. */
static int cdns__rdata_walk(const uint8_t *msg, size_t rd, size_t rdlen,
                            const cdns__rdlayout_t *lay, uint8_t *out, size_t cap)
{
	const size_t end = rd + rdlen;
	size_t p = rd, o = 0;

	for (unsigned i = 0; i < CDNS__RDLAYOUT_MAXFIELDS; i++) {
		uint8_t f = lay->field[i];
		size_t n;

		if (f == CDNS__RDF_END)
			break;
		if (f == CDNS__RDF_NAME) {
			uint8_t tmp[CDNS_NAME_MAXLEN];
			uint8_t *dst = NULL;
			if (out != NULL)
				dst = cap - o >= CDNS_NAME_MAXLEN ? out + o : tmp;
			/* Bounding the message at the end of RDATA keeps the name inside it;
			 * pointers only go backwards, so they still reach earlier names. */
			int r = cdns_name_unpack(msg, end, &p, dst);
			if (r == CDNS_ETRUNC)
				return CDNS_EFORMAT;
			if (r < 0)
				return r;
			if (dst == tmp) {
				if ((size_t)r > cap - o)
					return CDNS_ESPACE;
				memcpy(out + o, tmp, (size_t)r);
			}
			o += (size_t)r;
			continue;
		}
		if (f == CDNS__RDF_CSTR) {
			if (p >= end)
				return CDNS_EFORMAT;
			n = (size_t)msg[p] + 1;
		} else if (f == CDNS__RDF_REST) {
			n = end - p;
		} else {
			n = f;
		}
		if (n > end - p)
			return CDNS_EFORMAT;
		if (out != NULL) {
			if (n > cap - o)
				return CDNS_ESPACE;
			memcpy(out + o, msg + p, n);
		}
		o += n;
		p += n;
	}
	if (p != end)
		return CDNS_EFORMAT;
	return (int)o;
}

/* libclouddns is compiled with -fvisibility=hidden: what follows is public API. */
#pragma GCC visibility push(default)

int cdns_msg_parse(cdns_msg_t *m, const uint8_t *wire, size_t len)
{
	cdns_msg_t t;
	size_t pos = CDNS_HDR_LEN;
	int r;

	if (wire == NULL || m == NULL)
		return CDNS_EINVAL;
	if (len < CDNS_HDR_LEN)
		return CDNS_ETRUNC;
	t.wire = wire;
	t.len = len;
	t.hdr.id = cdns_get16(wire);
	t.hdr.flags = cdns_get16(wire + 2);
	for (int s = 0; s < 4; s++)
		t.hdr.count[s] = cdns_get16(wire + 4 + 2 * s);

	t.sec_off[CDNS_SEC_QUESTION] = pos;
	for (unsigned i = 0; i < t.hdr.count[CDNS_SEC_QUESTION]; i++) {
		r = cdns_name_unpack(wire, len, &pos, NULL);
		if (r < 0)
			return r;
		if (len - pos < 4)
			return CDNS_ETRUNC;
		pos += 4;
	}

	for (int s = CDNS_SEC_ANSWER; s <= CDNS_SEC_ADDITIONAL; s++) {
		t.sec_off[s] = pos;
		for (unsigned i = 0; i < t.hdr.count[s]; i++) {
			r = cdns_name_unpack(wire, len, &pos, NULL);
			if (r < 0)
				return r;
			if (len - pos < 10)
				return CDNS_ETRUNC;
			uint16_t type = cdns_get16(wire + pos);
			uint16_t rclass = cdns_get16(wire + pos + 2);
			uint16_t rdlen = cdns_get16(wire + pos + 8);
			pos += 10;
			if (len - pos < rdlen)
				return CDNS_ETRUNC;
			const cdns__rdlayout_t *lay = cdns__rdlayout(type);
			/* RFC 2136 §2.4, §2.5.2: UPDATE prerequisites and deletions carry
			 * class ANY or NONE with empty RDATA whatever the type. */
			bool empty_ok =
			    rdlen == 0 && (rclass == CDNS_C_ANY || rclass == CDNS_C_NONE);
			if (lay != NULL && !empty_ok) {
				r = cdns__rdata_walk(wire, pos, rdlen, lay, NULL, 0);
				if (r < 0)
					return r;
			}
			pos += rdlen;
		}
	}

	/* The counts say how many entries the message holds (RFC 1035 §4.1.1); bytes after
	 * the last one are refused rather than ignored. */
	if (pos != len)
		return CDNS_ETRAIL;
	t.end = pos;
	*m = t;
	return 0;
}

int cdns_msg_question(const cdns_msg_t *m, size_t *pos, uint8_t *qname, uint16_t *qtype,
                      uint16_t *qclass)
{
	size_t p = *pos;
	int r = cdns_name_unpack(m->wire, m->len, &p, qname);

	if (r < 0)
		return r;
	if (m->len - p < 4)
		return CDNS_ETRUNC;
	if (qtype != NULL)
		*qtype = cdns_get16(m->wire + p);
	if (qclass != NULL)
		*qclass = cdns_get16(m->wire + p + 2);
	*pos = p + 4;
	return r;
}

int cdns_msg_rr(const cdns_msg_t *m, size_t *pos, cdns_rr_t *rr)
{
	size_t p = *pos;
	int r = cdns_name_unpack(m->wire, m->len, &p, rr->owner);

	if (r < 0)
		return r;
	if (m->len - p < 10)
		return CDNS_ETRUNC;
	const uint8_t *w = m->wire + p;
	uint16_t rdlen = cdns_get16(w + 8);
	if (m->len - p - 10 < rdlen)
		return CDNS_ETRUNC;
	rr->owner_len = (uint8_t)r;
	rr->type = cdns_get16(w);
	rr->rclass = cdns_get16(w + 2);
	rr->ttl = cdns_get32(w + 4);
	rr->rdlen = rdlen;
	rr->rdata_off = p + 10;
	rr->rdata = m->wire + rr->rdata_off;
	rr->start = *pos;
	rr->end = rr->rdata_off + rdlen;
	*pos = rr->end;
	return 0;
}

int cdns_rdata_unpack(const uint8_t *msg, size_t msglen, uint16_t type, size_t rdata_off,
                      uint16_t rdlen, uint8_t *out, size_t cap)
{
	if (rdata_off > msglen || msglen - rdata_off < rdlen)
		return CDNS_ETRUNC;
	const cdns__rdlayout_t *lay = cdns__rdlayout(type);
	/* Empty RDATA (RFC 2136 deletions) and opaque types are copied as they are. */
	if (lay == NULL || rdlen == 0) {
		if (rdlen > cap)
			return CDNS_ESPACE;
		if (rdlen > 0)
			memcpy(out, msg + rdata_off, rdlen);
		return rdlen;
	}
	return cdns__rdata_walk(msg, rdata_off, rdlen, lay, out, cap);
}

#pragma GCC visibility pop
