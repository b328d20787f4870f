/* libFuzzer harness for the message reader (wire.c, name.c), the builder (pkt.c) and EDNS
 * (edns.c). Besides "never crash", it checks properties that must hold for every input:
 *  - a message that parses reads back record by record, names and RDATA expanded;
 *  - the builder writes it again, the result parses, and holds the same records (names equal
 *    ignoring case: the builder compresses case-insensitively, see pkt.h) and is a fixed point
 *    of parse + build;
 *  - every name read survives a trip through its presentation form;
 * and on any input, decompressing a name from any offset stays in bounds. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <clouddns/edns.h>
#include <clouddns/error.h>
#include <clouddns/name.h>
#include <clouddns/pkt.h>
#include <clouddns/rrtype.h>
#include <clouddns/wire.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond))                                                                       \
			abort();                                                                   \
	} while (0)

/* RDATA grows by at most two expanded names (SOA, RP, MINFO, PX). */
#define RDBUF (65535 + 2 * CDNS_NAME_MAXLEN)

static void check_name(const uint8_t *n, int len)
{
	char text[CDNS_NAME_MAXTEXT];
	uint8_t back[CDNS_NAME_MAXLEN], low[CDNS_NAME_MAXLEN];

	CHECK(len > 0 && len <= CDNS_NAME_MAXLEN);
	CHECK(cdns_name_check(n, (size_t)len) == len);
	CHECK(cdns_name_len(n) == (size_t)len);
	int t = cdns_name_to_text(n, text, sizeof(text));
	CHECK(t > 0 && (size_t)t == strlen(text));
	CHECK(cdns_name_from_text(text, (size_t)t, NULL, back) == len);
	CHECK(memcmp(back, n, (size_t)len) == 0);
	CHECK(cdns_name_copy_lower(low, n) == (size_t)len);
	CHECK(cdns_name_equal(low, n));
	CHECK(cdns_name_cmp(low, n) == 0);
	CHECK(cdns_name_in(n, cdns_name_skip(n, cdns_name_labels(n) / 2)));
}

/* Expanded RDATA a and b of the same type are the same, where names the builder may have
 * compressed (RFC 1035 types) compare ignoring case and everything else octet for octet. The
 * layouts are written out again here on purpose, independently of wire.c's table. */
static bool same_rdata(uint16_t type, const uint8_t *a, int alen, const uint8_t *b, int blen)
{
	const char *layout;

	switch (type) {
	case CDNS_T_NS:
	case CDNS_T_MD:
	case CDNS_T_MF:
	case CDNS_T_CNAME:
	case CDNS_T_MB:
	case CDNS_T_MG:
	case CDNS_T_MR:
	case CDNS_T_PTR: layout = "n"; break;
	case CDNS_T_SOA: layout = "nnf"; break;
	case CDNS_T_MINFO: layout = "nn"; break;
	case CDNS_T_MX: layout = "fn"; break;
	default: return alen == blen && memcmp(a, b, (size_t)alen) == 0;
	}
	if (alen == 0 || blen == 0)
		return alen == blen;
	int i = 0, j = 0;
	for (; *layout != '\0'; layout++) {
		if (*layout == 'f') {
			int n = type == CDNS_T_SOA ? 20 : 2;
			if (alen - i < n || blen - j < n || memcmp(a + i, b + j, (size_t)n) != 0)
				return false;
			i += n;
			j += n;
			continue;
		}
		int na = cdns_name_check(a + i, (size_t)(alen - i));
		int nb = cdns_name_check(b + j, (size_t)(blen - j));
		if (na < 0 || na != nb || !cdns_name_equal(a + i, b + j))
			return false;
		i += na;
		j += nb;
	}
	return i == alen && j == blen;
}

/* Parse msg and write it again into out. Returns the new length, or 0 when the builder ran
 * out of room (expanded names can make a message longer than it was). */
static size_t rebuild(const cdns_msg_t *m, uint8_t *out, uint8_t *rd)
{
	cdns_pkt_t p;
	cdns_rr_t rr;
	uint8_t qname[CDNS_NAME_MAXLEN];
	uint16_t qt, qc;
	size_t pos = m->sec_off[CDNS_SEC_QUESTION];
	int r;

	cdns_pkt_init(&p, out, 65535);
	cdns_pkt_set_id(&p, m->hdr.id);
	cdns_pkt_set_flags(&p, m->hdr.flags);
	for (unsigned i = 0; i < m->hdr.count[CDNS_SEC_QUESTION]; i++) {
		r = cdns_msg_question(m, &pos, qname, &qt, &qc);
		CHECK(r > 0);
		r = cdns_pkt_put_question(&p, qname, qt, qc);
		if (r == CDNS_ESPACE)
			return 0;
		CHECK(r == 0);
	}
	for (int s = CDNS_SEC_ANSWER; s <= CDNS_SEC_ADDITIONAL; s++) {
		for (unsigned i = 0; i < m->hdr.count[s]; i++) {
			CHECK(cdns_msg_rr(m, &pos, &rr) == 0);
			int n = cdns_rdata_unpack(m->wire, m->len, rr.type, rr.rdata_off, rr.rdlen,
			                          rd, RDBUF);
			CHECK(n >= 0);
			if (n > 65535)
				return 0;
			r = cdns_pkt_put_rr(&p, s, rr.owner, rr.type, rr.rclass, rr.ttl, rd,
			                    (uint16_t)n);
			if (r == CDNS_ESPACE)
				return 0;
			CHECK(r == 0);
		}
	}
	CHECK(pos == m->len);
	return p.len;
}

/* Write the message again under a lower limit, rolling back some records on the way (chosen
 * by the bits of seed): a record that does not fit must leave the packet exactly as it was,
 * and what was written must always be a valid message. */
static void rebuild_limited(const cdns_msg_t *m, uint32_t seed, uint8_t *out, uint8_t *rd)
{
	cdns_pkt_t p;
	cdns_rr_t rr;
	uint8_t qname[CDNS_NAME_MAXLEN];
	uint16_t qt, qc;
	size_t pos = m->sec_off[CDNS_SEC_QUESTION];
	cdns_msg_t m2;

	cdns_pkt_init(&p, out, 65535);
	cdns_pkt_set_limit(&p, (uint16_t)(CDNS_HDR_LEN + (m->len * (seed & 0xff)) / 256));
	for (unsigned i = 0; i < m->hdr.count[CDNS_SEC_QUESTION]; i++) {
		CHECK(cdns_msg_question(m, &pos, qname, &qt, &qc) > 0);
		if (cdns_pkt_put_question(&p, qname, qt, qc) != 0)
			goto done;
	}
	for (int s = CDNS_SEC_ANSWER; s <= CDNS_SEC_ADDITIONAL; s++) {
		for (unsigned i = 0; i < m->hdr.count[s]; i++) {
			CHECK(cdns_msg_rr(m, &pos, &rr) == 0);
			int n = cdns_rdata_unpack(m->wire, m->len, rr.type, rr.rdata_off, rr.rdlen,
			                          rd, RDBUF);
			CHECK(n >= 0);
			if (n > 65535)
				goto done;
			cdns_pkt_mark_t mk = cdns_pkt_mark(&p);
			cdns_pkt_t before = p;
			int r = cdns_pkt_put_rr(&p, s, rr.owner, rr.type, rr.rclass, rr.ttl, rd,
			                        (uint16_t)n);
			if (r == CDNS_ESPACE) {
				CHECK(p.len == before.len && p.n_comp == before.n_comp &&
				      p.section == before.section);
				for (int k = 0; k < 4; k++)
					CHECK(cdns_pkt_count(&p, k) == mk.count[k]);
				goto done;
			}
			CHECK(r == 0);
			seed = seed >> 1 | seed << 31;
			if (seed & 0x100) {
				cdns_pkt_rollback(&p, &mk);
				CHECK(p.len == before.len && p.n_comp == before.n_comp);
			}
		}
	}
done:
	CHECK(cdns_msg_parse(&m2, out, p.len) == 0);
}

static void check_message(const cdns_msg_t *m)
{
	static uint8_t out[65535], out2[65535], rd[RDBUF], rd2[RDBUF];
	uint8_t qname[CDNS_NAME_MAXLEN], qname2[CDNS_NAME_MAXLEN];
	uint16_t qt, qc, qt2, qc2;
	cdns_rr_t rr, rr2;
	cdns_msg_t m2, m3;
	size_t pos, pos2;
	int r;

	/* Read every entry; names survive text; OPT records decode. */
	pos = m->sec_off[CDNS_SEC_QUESTION];
	for (unsigned i = 0; i < m->hdr.count[CDNS_SEC_QUESTION]; i++) {
		r = cdns_msg_question(m, &pos, qname, &qt, &qc);
		CHECK(r > 0);
		check_name(qname, r);
	}
	for (int s = CDNS_SEC_ANSWER; s <= CDNS_SEC_ADDITIONAL; s++) {
		CHECK(pos == m->sec_off[s]);
		for (unsigned i = 0; i < m->hdr.count[s]; i++) {
			CHECK(cdns_msg_rr(m, &pos, &rr) == 0);
			check_name(rr.owner, rr.owner_len);
			if (rr.type == CDNS_T_OPT) {
				cdns_edns_t e;
				if (cdns_edns_parse(&e, &rr) == 0) {
					uint16_t op = 0, code, len;
					const uint8_t *d;
					while ((r = cdns_edns_next_option(e.options, e.options_len,
					                                  &op, &code, &d, &len)) ==
					       1)
						CHECK(d + len <= rr.rdata + rr.rdlen);
					CHECK(r == 0);
				}
			}
		}
	}
	CHECK(pos == m->len);

	size_t len = rebuild(m, out, rd);
	if (len == 0)
		return;
	CHECK(cdns_msg_parse(&m2, out, len) == 0);
	for (int s = 0; s < 4; s++)
		CHECK(m2.hdr.count[s] == m->hdr.count[s]);
	CHECK(m2.hdr.id == m->hdr.id && m2.hdr.flags == m->hdr.flags);

	/* Same questions and records, octet for octet once expanded. */
	pos = m->sec_off[CDNS_SEC_QUESTION];
	pos2 = m2.sec_off[CDNS_SEC_QUESTION];
	for (unsigned i = 0; i < m->hdr.count[CDNS_SEC_QUESTION]; i++) {
		r = cdns_msg_question(m, &pos, qname, &qt, &qc);
		CHECK(cdns_msg_question(&m2, &pos2, qname2, &qt2, &qc2) == r);
		CHECK(cdns_name_equal(qname, qname2) && qt == qt2 && qc == qc2);
	}
	for (int s = CDNS_SEC_ANSWER; s <= CDNS_SEC_ADDITIONAL; s++) {
		for (unsigned i = 0; i < m->hdr.count[s]; i++) {
			CHECK(cdns_msg_rr(m, &pos, &rr) == 0);
			CHECK(cdns_msg_rr(&m2, &pos2, &rr2) == 0);
			CHECK(rr.owner_len == rr2.owner_len);
			CHECK(cdns_name_equal(rr.owner, rr2.owner));
			CHECK(rr.type == rr2.type && rr.rclass == rr2.rclass && rr.ttl == rr2.ttl);
			int n = cdns_rdata_unpack(m->wire, m->len, rr.type, rr.rdata_off, rr.rdlen,
			                          rd, RDBUF);
			int n2 = cdns_rdata_unpack(m2.wire, m2.len, rr2.type, rr2.rdata_off,
			                           rr2.rdlen, rd2, RDBUF);
			CHECK(n >= 0 && n == n2 && same_rdata(rr.type, rd, n, rd2, n2));
			/* Compressing never makes RDATA longer than its expanded form. */
			CHECK(rr2.rdlen <= n);
		}
	}

	rebuild_limited(m, (uint32_t)m->len * 2654435761u ^ m->hdr.id, out2, rd);

	/* Building what we built gives the same octets. */
	size_t len2 = rebuild(&m2, out2, rd);
	CHECK(len2 == len && memcmp(out, out2, len) == 0);
	CHECK(cdns_msg_parse(&m3, out2, len2) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cdns_msg_t m;
	uint8_t name[CDNS_NAME_MAXLEN];

	if (cdns_msg_parse(&m, data, size) == 0)
		check_message(&m);

	/* Decompression from any offset must stay inside the input. */
	for (size_t off = 0; off < size && off < 512; off++) {
		size_t pos = off;
		int r = cdns_name_unpack(data, size, &pos, name);
		if (r > 0) {
			CHECK(pos > off && pos <= size);
			check_name(name, r);
		}
	}

	/* The input as presentation text. */
	if (size <= CDNS_NAME_MAXTEXT) {
		static const uint8_t origin[] = {4, 't', 'e', 's', 't', 0};
		int r = cdns_name_from_text((const char *)data, size, origin, name);
		if (r > 0)
			check_name(name, r);
	}
	return 0;
}
