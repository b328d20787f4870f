/* Unit tests of the message reader (sdk/lib/wire.c), the builder (sdk/lib/pkt.c) and EDNS
 * (sdk/lib/edns.c). Test names and addresses follow RFC 2606 / RFC 5737. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include <clouddns/edns.h>
#include <clouddns/error.h>
#include <clouddns/name.h>
#include <clouddns/pkt.h>
#include <clouddns/rrtype.h>
#include <clouddns/wire.h>

/* Message building blocks. */
#define M(...)            (const uint8_t[]){__VA_ARGS__}, sizeof((const uint8_t[]){__VA_ARGS__})
#define H(qd, an, ns, ar) 0x12, 0x34, 0x81, 0x00, 0, qd, 0, an, 0, ns, 0, ar
#define QA                0, 1, 0, 1
/* TYPE (< 256), CLASS IN, TTL 3600, RDLENGTH */
#define RR(type, rdlen)       0, type, 0, 1, 0, 0, 0x0e, 0x10, (rdlen) >> 8, (rdlen)&0xff
#define RRC(type, cls, rdlen) 0, type, 0, cls, 0, 0, 0x0e, 0x10, (rdlen) >> 8, (rdlen)&0xff
#define EX                    7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 4, 't', 'e', 's', 't', 0
#define Z20                   0, 0, 0, 1, 0, 0, 0x0e, 0x10, 0, 0, 0x03, 0x84, 0, 0x09, 0x3a, 0x80, 0, 0, 0x01, 0x2c

/* ---- Malformed messages: every one with the exact error it must give. ---- */

static const struct bad_msg {
	const char *what;
	const uint8_t *msg;
	size_t len;
	int err;
} bad_msgs[] = {
    {"short header", M(0x12, 0x34, 0, 0, 0, 0, 0, 0, 0, 0, 0), CDNS_ETRUNC},
    {"question truncated", M(H(1, 0, 0, 0), 1, 'a', 0, 0, 1, 0), CDNS_ETRUNC},
    {"question missing", M(H(1, 0, 0, 0)), CDNS_ETRUNC},
    {"name running past end", M(H(1, 0, 0, 0), 3, 'a', 'b'), CDNS_ETRUNC},
    {"name without root label", M(H(1, 0, 0, 0), 1, 'a'), CDNS_ETRUNC},
    {"self pointer", M(H(1, 0, 0, 0), 0xc0, 12, QA), CDNS_EPTR},
    {"pointer to its own label", M(H(1, 0, 0, 0), 1, 'a', 0xc0, 12, QA), CDNS_EPTR},
    {"two-pointer loop", M(H(1, 0, 0, 0), 0xc0, 14, 0xc0, 12, QA), CDNS_EPTR},
    {"forward pointer", M(H(2, 0, 0, 0), 0xc0, 18, QA, 1, 'a', 0, QA), CDNS_EPTR},
    {"pointer out of bounds", M(H(1, 0, 0, 0), 0xff, 0xff, QA), CDNS_EPTR},
    {"pointer into the header", M(H(1, 0, 0, 0), 0xc0, 2, QA), CDNS_EPTR},
    {"pointer cut in half", M(H(1, 0, 0, 0), 1, 'a', 0xc0), CDNS_ETRUNC},
    /* Question 2 at 19 points to 17 (QCLASS of question 1), read as a label of 2 octets
     * that runs over the pointer itself: not "a prior occurrence". */
    {"pointer target overlapping the pointer",
     M(H(2, 0, 0, 0), 1, 'a', 0, 0, 1, 2, 'x', 0xc0, 17, QA), CDNS_EPTR},
    {"label type 0x40", M(H(1, 0, 0, 0), 0x41, 'a', 0, QA), CDNS_EFORMAT},
    {"label type 0x80", M(H(1, 0, 0, 0), 0x81, 'a', 0, QA), CDNS_EFORMAT},
    {"RR header truncated", M(H(0, 1, 0, 0), 0, 0, 1, 0, 1, 0, 0), CDNS_ETRUNC},
    {"RDLENGTH overrun", M(H(0, 1, 0, 0), 0, RR(1, 5), 192, 0, 2, 1), CDNS_ETRUNC},
    {"CNAME name overrunning RDLENGTH", M(H(0, 1, 0, 0), 0, RR(5, 3), 1, 'a', 1, 'b', 0),
     CDNS_EFORMAT},
    {"CNAME shorter than RDLENGTH", M(H(0, 1, 0, 0), 0, RR(5, 4), 1, 'a', 0, 0), CDNS_EFORMAT},
    {"CNAME self pointer in RDATA", M(H(0, 1, 0, 0), 0, RR(5, 2), 0xc0, 23), CDNS_EPTR},
    {"CNAME forward pointer in RDATA", M(H(0, 1, 0, 0), 0, RR(5, 2), 0xc0, 25, 0), CDNS_EPTR},
    {"CNAME label type 0x40 in RDATA", M(H(0, 1, 0, 0), 0, RR(5, 3), 0x41, 'a', 0), CDNS_EFORMAT},
    {"NS with empty RDATA in class IN", M(H(0, 1, 0, 0), 0, RR(2, 0)), CDNS_EFORMAT},
    {"SOA RDATA one octet short",
     M(H(0, 1, 0, 0), 0, RR(6, 21), 0, 0, 0, 0, 0, 1, 0, 0, 0x0e, 0x10, 0, 0, 0x03, 0x84, 0, 0x09,
       0x3a, 0x80, 0, 0, 0x01),
     CDNS_EFORMAT},
    {"SOA RDATA one octet long", M(H(0, 1, 0, 0), 0, RR(6, 23), 0, 0, Z20, 0), CDNS_EFORMAT},
    {"MX without exchange", M(H(0, 1, 0, 0), 0, RR(15, 2), 0, 10), CDNS_EFORMAT},
    {"MX with one octet", M(H(0, 1, 0, 0), 0, RR(15, 1), 0), CDNS_EFORMAT},
    {"NAPTR string overrunning RDATA", M(H(0, 1, 0, 0), 0, RR(35, 6), 0, 1, 0, 1, 5, 'a'),
     CDNS_EFORMAT},
    {"RRSIG signer name overrunning RDATA",
     M(H(0, 1, 0, 0), 0, RR(46, 19), 0, 1, 8, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3),
     CDNS_EFORMAT},
    {"SRV without target", M(H(0, 1, 0, 0), 0, RR(33, 6), 0, 0, 0, 0, 0, 53), CDNS_EFORMAT},
    {"trailing byte", M(H(1, 0, 0, 0), 0, QA, 0), CDNS_ETRAIL},
    {"trailing bytes after records", M(H(0, 1, 0, 0), 0, RR(1, 4), 192, 0, 2, 1, 0xde, 0xad),
     CDNS_ETRAIL},
    {"header only, with garbage", M(H(0, 0, 0, 0), 0), CDNS_ETRAIL},
    {"more questions than data", M(H(2, 0, 0, 0), 0, QA), CDNS_ETRUNC},
    {"more answers than data", M(H(1, 2, 0, 0), 0, QA, 0, RR(1, 4), 192, 0, 2, 1), CDNS_ETRUNC},
    {"more additional records than data", M(H(0, 0, 0, 1)), CDNS_ETRUNC},
    {"authority record cut at its first octet", M(H(0, 0, 1, 0), 0xc0), CDNS_ETRUNC},
};

static void test_malformed_table(void **state)
{
	cdns_msg_t m;

	for (size_t i = 0; i < sizeof(bad_msgs) / sizeof(bad_msgs[0]); i++) {
		int r = cdns_msg_parse(&m, bad_msgs[i].msg, bad_msgs[i].len);
		if (r != bad_msgs[i].err)
			fail_msg("%s: got %d, want %d", bad_msgs[i].what, r, bad_msgs[i].err);
	}
	assert_int_equal(cdns_msg_parse(&m, (const uint8_t *)"", 0), CDNS_ETRUNC);
}

/* Messages too long to write out by hand. */
static size_t put_label(uint8_t *w, size_t o, unsigned len, uint8_t c)
{
	w[o++] = (uint8_t)len;
	memset(w + o, c, len);
	return o + len;
}

static size_t put_hdr(uint8_t *w, unsigned qd, unsigned an)
{
	memset(w, 0, CDNS_HDR_LEN);
	cdns_put16(w + 4, (uint16_t)qd);
	cdns_put16(w + 6, (uint16_t)an);
	return CDNS_HDR_LEN;
}

static void test_malformed_long(void **state)
{
	uint8_t w[2048];
	cdns_msg_t m;
	size_t o;

	/* A label of 64 octets: its length byte 0x40 reads as the extended label type 01. */
	o = put_hdr(w, 1, 0);
	o = put_label(w, o, 64, 'a');
	w[o++] = 0;
	memcpy(w + o, "\0\1\0\1", 4);
	assert_int_equal(cdns_msg_parse(&m, w, o + 4), CDNS_EFORMAT);

	/* 63 + 63 + 63 + 62: 256 octets without any pointer. */
	o = put_hdr(w, 1, 0);
	o = put_label(w, o, 63, 'a');
	o = put_label(w, o, 63, 'b');
	o = put_label(w, o, 63, 'c');
	o = put_label(w, o, 62, 'd');
	w[o++] = 0;
	memcpy(w + o, "\0\1\0\1", 4);
	assert_int_equal(cdns_msg_parse(&m, w, o + 4), CDNS_ENAMELEN);

	/* The longest name, 255 octets, then "a" + pointer to it: 257 octets. */
	o = put_hdr(w, 2, 0);
	o = put_label(w, o, 63, 'a');
	o = put_label(w, o, 63, 'b');
	o = put_label(w, o, 63, 'c');
	o = put_label(w, o, 61, 'd');
	w[o++] = 0;
	assert_int_equal(o - CDNS_HDR_LEN, 255);
	memcpy(w + o, "\0\1\0\1", 4);
	o += 4;
	size_t q2 = o;
	memcpy(w + o, "\300\014\0\1\0\1", 6);
	assert_int_equal(cdns_msg_parse(&m, w, o + 6), 0); /* a pointer alone: 255, fine */
	memcpy(w + o, "\001a\300\014\0\1\0\1", 8);
	assert_int_equal(cdns_msg_parse(&m, w, o + 8), CDNS_ENAMELEN);

	/* 254 octets + "a": exactly 256 through a pointer. */
	w[12 + 3 * 64] = 60;
	w[12 + 3 * 64 + 61] = 0;
	o = 12 + 254;
	memcpy(w + o, "\0\1\0\1\001a\300\014\0\1\0\1", 12);
	assert_int_equal(cdns_msg_parse(&m, w, o + 12), CDNS_ENAMELEN);
	/* ... and one octet less is the longest name again. */
	w[12 + 3 * 64] = 59;
	w[12 + 3 * 64 + 60] = 0;
	o = 12 + 253;
	memcpy(w + o, "\0\1\0\1\001a\300\014\0\1\0\1", 12);
	assert_int_equal(cdns_msg_parse(&m, w, o + 12), 0);
	(void)q2;

	/* A chain of questions, each a pointer to the previous one: 128 hops are still
	 * accepted, 130 are not (RFC 9267 §2: bounded work per name). */
	for (unsigned n = 129; n <= 131; n += 2) {
		o = put_hdr(w, n, 0);
		memcpy(w + o, "\001a\0\0\1\0\1", 7);
		o += 7;
		size_t prev = CDNS_HDR_LEN;
		for (unsigned i = 1; i < n; i++) {
			w[o] = (uint8_t)(0xc0 | (prev >> 8));
			w[o + 1] = (uint8_t)prev;
			memcpy(w + o + 2, "\0\1\0\1", 4);
			prev = o;
			o += 6;
		}
		assert_int_equal(cdns_msg_parse(&m, w, o), n == 129 ? 0 : CDNS_EPTR);
	}
}

/* ---- Valid messages. ---- */

/* A compressed response: www.example.test CNAME web, web A, NS + SOA for example.test, glue
 * and an OPT record. Offsets are noted where pointers target them. */
/* clang-format off */
static const uint8_t resp[] = {
	H(1, 2, 2, 2),
	/* 12: www.example.test (example at 16, test at 24) A IN */
	3, 'w', 'w', 'w', EX, QA,
	/* 34: CNAME; RDATA at 46: web + -> 16 */
	0xc0, 12, RR(5, 6), 3, 'w', 'e', 'b', 0xc0, 16,
	/* 52: web.example.test A 192.0.2.1 */
	0xc0, 46, RR(1, 4), 192, 0, 2, 1,
	/* 68: example.test NS; RDATA at 80: ns1 + -> 16 */
	0xc0, 16, RR(2, 6), 3, 'n', 's', '1', 0xc0, 16,
	/* 86: example.test SOA ns1.example.test admin.example.test + 20 octets */
	0xc0, 16, RR(6, 30), 0xc0, 80, 5, 'a', 'd', 'm', 'i', 'n', 0xc0, 16, Z20,
	/* 128: ns1.example.test A 192.0.2.53 */
	0xc0, 80, RR(1, 4), 192, 0, 2, 53,
	/* 144: OPT, 1232 octets, DO */
	0, 0, 41, 0x04, 0xd0, 0, 0, 0x80, 0, 0, 0,
};
/* clang-format on */

static void test_parse_response(void **state)
{
	cdns_msg_t m;
	cdns_rr_t rr;
	uint8_t qname[CDNS_NAME_MAXLEN], buf[512];
	uint16_t qtype, qclass;
	char text[CDNS_NAME_MAXTEXT];

	assert_int_equal(cdns_msg_parse(&m, resp, sizeof(resp)), 0);
	assert_int_equal(m.hdr.id, 0x1234);
	assert_int_equal(m.hdr.flags, 0x8100);
	assert_int_equal(m.hdr.count[CDNS_SEC_QUESTION], 1);
	assert_int_equal(m.hdr.count[CDNS_SEC_ANSWER], 2);
	assert_int_equal(m.hdr.count[CDNS_SEC_AUTHORITY], 2);
	assert_int_equal(m.hdr.count[CDNS_SEC_ADDITIONAL], 2);
	assert_int_equal(m.sec_off[0], 12);
	assert_int_equal(m.sec_off[1], 34);
	assert_int_equal(m.sec_off[2], 68);
	assert_int_equal(m.sec_off[3], 128);
	assert_int_equal(m.end, sizeof(resp));

	size_t pos = m.sec_off[0];
	assert_int_equal(cdns_msg_question(&m, &pos, qname, &qtype, &qclass), 18);
	assert_int_equal(pos, 34);
	assert_memory_equal(qname, "\003www\007example\004test", 18);
	assert_int_equal(qtype, CDNS_T_A);
	assert_int_equal(qclass, CDNS_C_IN);

	static const struct {
		const char *owner;
		uint16_t type;
		size_t start, rdata_off, rdlen;
	} want[] = {
	    {"www.example.test.", CDNS_T_CNAME, 34, 46, 6},
	    {"web.example.test.", CDNS_T_A, 52, 64, 4},
	    {"example.test.", CDNS_T_NS, 68, 80, 6},
	    {"example.test.", CDNS_T_SOA, 86, 98, 30},
	    {"ns1.example.test.", CDNS_T_A, 128, 140, 4},
	    {".", CDNS_T_OPT, 144, 155, 0},
	};
	for (size_t i = 0; i < 6; i++) {
		size_t start = pos;
		assert_int_equal(cdns_msg_rr(&m, &pos, &rr), 0);
		assert_int_equal(rr.start, start);
		assert_int_equal(rr.start, want[i].start);
		assert_int_equal(rr.rdata_off, want[i].rdata_off);
		assert_int_equal(rr.rdlen, want[i].rdlen);
		assert_int_equal(rr.type, want[i].type);
		assert_int_equal(rr.end, pos);
		assert_ptr_equal(rr.rdata, resp + rr.rdata_off);
		assert_int_equal(rr.owner_len, cdns_name_len(rr.owner));
		assert_true(cdns_name_to_text(rr.owner, text, sizeof(text)) > 0);
		assert_string_equal(text, want[i].owner);
	}
	assert_int_equal(pos, sizeof(resp));
	assert_int_equal(rr.rclass, 1232);
	assert_int_equal(rr.ttl, 0x8000);

	/* CNAME RDATA expanded. */
	assert_int_equal(
	    cdns_rdata_unpack(resp, sizeof(resp), CDNS_T_CNAME, 46, 6, buf, sizeof(buf)), 18);
	assert_memory_equal(buf, "\003web\007example\004test", 18);
	/* SOA: two names expanded, the 20 octets copied. */
	static const uint8_t soa[] = {3, 'n', 's', '1', EX, 5, 'a', 'd', 'm', 'i', 'n', EX, Z20};
	assert_int_equal(
	    cdns_rdata_unpack(resp, sizeof(resp), CDNS_T_SOA, 98, 30, buf, sizeof(buf)),
	    sizeof(soa));
	assert_memory_equal(buf, soa, sizeof(soa));
	/* Too small a buffer, at every size. */
	for (size_t cap = 0; cap < sizeof(soa); cap++)
		assert_int_equal(
		    cdns_rdata_unpack(resp, sizeof(resp), CDNS_T_SOA, 98, 30, buf, cap),
		    CDNS_ESPACE);
	/* Opaque RDATA is copied as it is. */
	assert_int_equal(cdns_rdata_unpack(resp, sizeof(resp), CDNS_T_A, 64, 4, buf, 4), 4);
	assert_memory_equal(buf, "\300\000\002\001", 4);
	assert_int_equal(cdns_rdata_unpack(resp, sizeof(resp), CDNS_T_A, 64, 4, buf, 3),
	                 CDNS_ESPACE);
	assert_int_equal(
	    cdns_rdata_unpack(resp, sizeof(resp), CDNS_T_A, sizeof(resp) - 2, 4, buf, sizeof(buf)),
	    CDNS_ETRUNC);
}

static void test_unpack_mx(void **state)
{
	/* clang-format off */
	static const uint8_t msg[] = {
		H(1, 1, 0, 0), EX, 0, 15, 0, 1,
		/* 30: example.test MX 10 mail.example.test */
		0xc0, 12, RR(15, 9), 0, 10, 4, 'm', 'a', 'i', 'l', 0xc0, 12,
	};
	/* clang-format on */
	static const uint8_t want[] = {0, 10, 4, 'm', 'a', 'i', 'l', EX};
	cdns_msg_t m;
	cdns_rr_t rr;
	uint8_t buf[64];
	size_t pos;

	assert_int_equal(cdns_msg_parse(&m, msg, sizeof(msg)), 0);
	pos = m.sec_off[CDNS_SEC_ANSWER];
	assert_int_equal(cdns_msg_rr(&m, &pos, &rr), 0);
	assert_int_equal(rr.type, CDNS_T_MX);
	assert_int_equal(
	    cdns_rdata_unpack(msg, sizeof(msg), rr.type, rr.rdata_off, rr.rdlen, buf, sizeof(buf)),
	    sizeof(want));
	assert_memory_equal(buf, want, sizeof(want));
	/* The same RDATA read as an opaque type stays compressed. */
	assert_int_equal(
	    cdns_rdata_unpack(msg, sizeof(msg), 65280, rr.rdata_off, rr.rdlen, buf, sizeof(buf)),
	    9);
}

static void test_parse_update(void **state)
{
	/* RFC 2136 §2.5.2: delete an RRset, class ANY, empty RDATA; §2.4.3 NONE likewise. */
	/* clang-format off */
	static const uint8_t upd[] = {
		0x12, 0x34, 0x28, 0x00, 0, 1, 0, 1, 0, 1, 0, 0,
		EX, 0, 6, 0, 1,
		0xc0, 12, RRC(2, 254, 0),
		0xc0, 12, RRC(2, 255, 0),
	};
	/* clang-format on */
	cdns_msg_t m;

	assert_int_equal(cdns_msg_parse(&m, upd, sizeof(upd)), 0);
	assert_int_equal(CDNS_FLAGS_OPCODE(m.hdr.flags), CDNS_OPCODE_UPDATE);
}

/* ---- Builder. ---- */

static int name(const char *text, uint8_t *out)
{
	int r = cdns_name_from_text(text, strlen(text), NULL, out);
	assert_true(r > 0);
	return r;
}

/* www.example.test A; CNAME web; web A 192.0.2.1; NS ns1; ns1 A 192.0.2.53. */
static void build_small(cdns_pkt_t *p, uint8_t *wire, uint16_t cap)
{
	uint8_t www[CDNS_NAME_MAXLEN], web[CDNS_NAME_MAXLEN], ex[CDNS_NAME_MAXLEN],
	    ns1[CDNS_NAME_MAXLEN];
	int weblen = name("web.example.test.", web);
	int ns1len = name("ns1.example.test.", ns1);

	name("www.example.test.", www);
	name("example.test.", ex);
	cdns_pkt_init(p, wire, cap);
	cdns_pkt_set_id(p, 0x1234);
	cdns_pkt_set_flags(p, CDNS_FLAG_QR | CDNS_FLAG_RD);
	assert_int_equal(cdns_pkt_put_question(p, www, CDNS_T_A, CDNS_C_IN), 0);
	assert_int_equal(cdns_pkt_put_rr(p, CDNS_SEC_ANSWER, www, CDNS_T_CNAME, CDNS_C_IN, 3600,
	                                 web, (uint16_t)weblen),
	                 0);
	assert_int_equal(cdns_pkt_put_rr(p, CDNS_SEC_ANSWER, web, CDNS_T_A, CDNS_C_IN, 3600,
	                                 (const uint8_t *)"\300\000\002\001", 4),
	                 0);
	assert_int_equal(cdns_pkt_put_rr(p, CDNS_SEC_AUTHORITY, ex, CDNS_T_NS, CDNS_C_IN, 3600, ns1,
	                                 (uint16_t)ns1len),
	                 0);
	assert_int_equal(cdns_pkt_put_rr(p, CDNS_SEC_ADDITIONAL, ns1, CDNS_T_A, CDNS_C_IN, 3600,
	                                 (const uint8_t *)"\300\000\002\065", 4),
	                 0);
}

/* clang-format off */
static const uint8_t small_want[] = {
	H(1, 2, 1, 1), 3, 'w', 'w', 'w', EX, QA,
	0xc0, 12, RR(5, 6), 3, 'w', 'e', 'b', 0xc0, 16,
	0xc0, 46, RR(1, 4), 192, 0, 2, 1,
	0xc0, 16, RR(2, 6), 3, 'n', 's', '1', 0xc0, 16,
	0xc0, 80, RR(1, 4), 192, 0, 2, 53,
};
/* clang-format on */

static void test_build_compression(void **state)
{
	uint8_t wire[512];
	cdns_pkt_t p;

	build_small(&p, wire, sizeof(wire));
	assert_int_equal(p.len, sizeof(small_want));
	assert_memory_equal(wire, small_want, sizeof(small_want));
	assert_int_equal(cdns_pkt_flags(&p), CDNS_FLAG_QR | CDNS_FLAG_RD);
	assert_int_equal(cdns_pkt_count(&p, CDNS_SEC_QUESTION), 1);
	assert_int_equal(cdns_pkt_count(&p, CDNS_SEC_ANSWER), 2);
	assert_int_equal(cdns_pkt_count(&p, CDNS_SEC_AUTHORITY), 1);
	assert_int_equal(cdns_pkt_count(&p, CDNS_SEC_ADDITIONAL), 1);
	assert_int_equal(cdns_pkt_count(&p, 4), 0);

	cdns_msg_t m;
	assert_int_equal(cdns_msg_parse(&m, wire, p.len), 0);
}

static void test_build_case_and_types(void **state)
{
	uint8_t wire[512], n[CDNS_NAME_MAXLEN], rd[64];
	cdns_pkt_t p;

	cdns_pkt_init(&p, wire, sizeof(wire));
	name("www.example.test.", n);
	assert_int_equal(cdns_pkt_put_question(&p, n, CDNS_T_ANY, CDNS_C_IN), 0);
	/* Compression ignores case (see pkt.h): the owner becomes a pointer to the question. */
	name("WWW.Example.test.", n);
	assert_int_equal(cdns_pkt_put_rr(&p, CDNS_SEC_ANSWER, n, CDNS_T_A, CDNS_C_IN, 60, rd, 0),
	                 0);
	assert_memory_equal(wire + 34, "\300\014", 2);
	size_t o = 34 + 2 + 10;
	assert_int_equal(cdns_pkt_put_rr(&p, CDNS_SEC_ANSWER, n, CDNS_T_A, CDNS_C_IN, 60, rd, 0),
	                 0);
	assert_memory_equal(wire + o, "\300\014", 2);
	o += 12;
	/* MX: RFC 1035 type, the exchange is compressed. */
	name("www.example.test.", n);
	memcpy(rd, "\000\012\004mail", 7);
	int l = name("mail.example.test.", rd + 2) + 2;
	assert_int_equal(
	    cdns_pkt_put_rr(&p, CDNS_SEC_ANSWER, n, CDNS_T_MX, CDNS_C_IN, 3600, rd, (uint16_t)l),
	    0);
	static const uint8_t mx[] = {0xc0, 12, RR(15, 9), 0, 10, 4, 'm', 'a', 'i', 'l', 0xc0, 16};
	assert_memory_equal(wire + o, mx, sizeof(mx));
	o += sizeof(mx);
	/* SRV: RFC 3597 §4, the target goes out verbatim. */
	memcpy(rd, "\0\0\0\0\0\120", 6);
	l = name("example.test.", rd + 6) + 6;
	assert_int_equal(
	    cdns_pkt_put_rr(&p, CDNS_SEC_ANSWER, n, CDNS_T_SRV, CDNS_C_IN, 3600, rd, (uint16_t)l),
	    0);
	static const uint8_t srv[] = {0xc0, 12, RR(33, 20), 0, 0, 0, 0, 0, 80, EX};
	assert_memory_equal(wire + o, srv, sizeof(srv));
	o += sizeof(srv);
	assert_int_equal(p.len, o);

	cdns_msg_t m;
	assert_int_equal(cdns_msg_parse(&m, wire, p.len), 0);

	/* RDATA of a compressed type that does not match its layout. */
	assert_int_equal(cdns_pkt_put_rr(&p, CDNS_SEC_ANSWER, n, CDNS_T_MX, CDNS_C_IN, 60, rd, 1),
	                 CDNS_EINVAL);
	assert_int_equal(cdns_pkt_put_rr(&p, CDNS_SEC_ANSWER, n, CDNS_T_NS, CDNS_C_IN, 60,
	                                 (const uint8_t *)"\001a\000x", 4),
	                 CDNS_EINVAL);
	assert_int_equal(cdns_pkt_put_rr(&p, CDNS_SEC_ANSWER, n, CDNS_T_NS, CDNS_C_IN, 60,
	                                 (const uint8_t *)"\003a", 2),
	                 CDNS_EINVAL);
	assert_int_equal(p.len, o);
}

static void assert_same_pkt(const cdns_pkt_t *a, const cdns_pkt_t *b, const uint8_t *wire_b)
{
	assert_int_equal(a->len, b->len);
	assert_int_equal(a->n_comp, b->n_comp);
	assert_int_equal(a->section, b->section);
	assert_memory_equal(a->wire, wire_b, a->len);
}

static void test_build_espace(void **state)
{
	uint8_t wire[512], copy[512], soa[128], n[CDNS_NAME_MAXLEN];
	cdns_pkt_t p, before;

	build_small(&p, wire, sizeof(wire));
	before = p;
	memcpy(copy, wire, p.len);
	name("mail.example.test.", n);

	/* A record of 21 octets ("mail" + pointer, 10, 4) into every smaller room. */
	for (uint16_t room = 0; room < 21; room++) {
		cdns_pkt_set_limit(&p, (uint16_t)(p.len + room));
		assert_int_equal(cdns_pkt_put_rr(&p, CDNS_SEC_ADDITIONAL, n, CDNS_T_A, CDNS_C_IN,
		                                 60, (const uint8_t *)"\300\0\2\2", 4),
		                 CDNS_ESPACE);
		assert_same_pkt(&p, &before, copy);
	}
	/* A SOA whose owner and first name fit but not the rest: the names it remembered are
	 * forgotten again. */
	int l1 = name("ns2.other.test.", soa);
	int l2 = name("hostmaster.other.test.", soa + l1);
	memset(soa + l1 + l2, 0, 20);
	uint16_t rdlen = (uint16_t)(l1 + l2 + 20);
	name("other.test.", n);
	/* "other" + pointer (8), 10, "ns2" + pointer (6), "hostmaster" + pointer (13), 20. */
	const uint16_t need = 8 + 10 + 6 + 13 + 20;
	for (uint16_t room = 0; room < need; room++) {
		cdns_pkt_set_limit(&p, (uint16_t)(p.len + room));
		assert_int_equal(cdns_pkt_put_rr(&p, CDNS_SEC_ADDITIONAL, n, CDNS_T_SOA, CDNS_C_IN,
		                                 60, soa, rdlen),
		                 CDNS_ESPACE);
		assert_same_pkt(&p, &before, copy);
	}
	cdns_pkt_set_limit(&p, (uint16_t)(p.len + need));
	assert_int_equal(
	    cdns_pkt_put_rr(&p, CDNS_SEC_ADDITIONAL, n, CDNS_T_SOA, CDNS_C_IN, 60, soa, rdlen), 0);
	assert_int_equal(p.len, before.len + need);
	cdns_msg_t m;
	assert_int_equal(cdns_msg_parse(&m, wire, p.len), 0);

	/* The limit is clamped to the capacity; a question obeys it too. */
	cdns_pkt_set_limit(&p, 60000);
	assert_int_equal(p.limit, sizeof(wire));
	cdns_pkt_init(&p, wire, 20);
	name("example.test.", n);
	assert_int_equal(cdns_pkt_put_question(&p, n, CDNS_T_A, CDNS_C_IN), CDNS_ESPACE);
	assert_int_equal(p.len, CDNS_HDR_LEN);
	assert_int_equal(p.n_comp, 0);
	assert_int_equal(cdns_pkt_count(&p, CDNS_SEC_QUESTION), 0);
	/* Too small to hold a header: every append refuses. */
	cdns_pkt_init(&p, wire, 11);
	assert_int_equal(cdns_pkt_put_question(&p, n, CDNS_T_A, CDNS_C_IN), CDNS_ESPACE);
	assert_int_equal(cdns_pkt_put_raw_rr(&p, CDNS_SEC_ADDITIONAL, n, 1), CDNS_ESPACE);
}

static void test_build_rollback(void **state)
{
	uint8_t wire[512], copy[512], n[CDNS_NAME_MAXLEN];
	cdns_pkt_t p, before;

	build_small(&p, wire, sizeof(wire));
	/* Roll back to just after the question. */
	cdns_pkt_init(&p, wire, sizeof(wire));
	name("www.example.test.", n);
	assert_int_equal(cdns_pkt_put_question(&p, n, CDNS_T_A, CDNS_C_IN), 0);
	cdns_pkt_mark_t mk = cdns_pkt_mark(&p);
	before = p;
	memcpy(copy, wire, p.len);

	name("new.name.example.test.", n);
	assert_int_equal(cdns_pkt_put_rr(&p, CDNS_SEC_ANSWER, n, CDNS_T_A, CDNS_C_IN, 1,
	                                 (const uint8_t *)"\300\0\2\3", 4),
	                 0);
	assert_int_equal(cdns_pkt_put_rr(&p, CDNS_SEC_AUTHORITY, n, CDNS_T_A, CDNS_C_IN, 1,
	                                 (const uint8_t *)"\300\0\2\3", 4),
	                 0);
	assert_int_not_equal(p.n_comp, before.n_comp);
	cdns_pkt_rollback(&p, &mk);
	assert_same_pkt(&p, &before, copy);
	assert_int_equal(cdns_pkt_count(&p, CDNS_SEC_ANSWER), 0);
	assert_int_equal(cdns_pkt_count(&p, CDNS_SEC_AUTHORITY), 0);

	/* The rolled-back names are no longer pointer targets: "name.example.test" is
	 * written out again. */
	name("name.example.test.", n);
	assert_int_equal(cdns_pkt_put_rr(&p, CDNS_SEC_ANSWER, n, CDNS_T_A, CDNS_C_IN, 1,
	                                 (const uint8_t *)"\300\0\2\3", 4),
	                 0);
	assert_memory_equal(wire + before.len, "\004name\300\020", 7);
	cdns_msg_t m;
	assert_int_equal(cdns_msg_parse(&m, wire, p.len), 0);

	/* A mark from the future is ignored. */
	cdns_pkt_mark_t later = cdns_pkt_mark(&p);
	cdns_pkt_rollback(&p, &mk);
	cdns_pkt_rollback(&p, &later);
	assert_int_equal(p.len, before.len);
}

static void test_build_section_order(void **state)
{
	uint8_t wire[512], n[CDNS_NAME_MAXLEN];
	const uint8_t *a = (const uint8_t *)"\300\0\2\1";
	cdns_pkt_t p;

	name("example.test.", n);
	cdns_pkt_init(&p, wire, sizeof(wire));
	assert_int_equal(cdns_pkt_put_rr(&p, CDNS_SEC_QUESTION, n, 1, 1, 1, a, 4), CDNS_EINVAL);
	assert_int_equal(cdns_pkt_put_rr(&p, 4, n, 1, 1, 1, a, 4), CDNS_EINVAL);
	assert_int_equal(cdns_pkt_put_rr(&p, CDNS_SEC_AUTHORITY, n, 1, 1, 1, a, 4), 0);
	assert_int_equal(cdns_pkt_put_rr(&p, CDNS_SEC_AUTHORITY, n, 1, 1, 1, a, 4), 0);
	uint16_t len = p.len;
	assert_int_equal(cdns_pkt_put_rr(&p, CDNS_SEC_ANSWER, n, 1, 1, 1, a, 4), CDNS_EINVAL);
	assert_int_equal(cdns_pkt_put_question(&p, n, 1, 1), CDNS_EINVAL);
	assert_int_equal(p.len, len);
	assert_int_equal(cdns_pkt_put_raw_rr(&p, CDNS_SEC_ADDITIONAL,
	                                     (const uint8_t *)"\0\0\51\2\0\0\0\0\0\0\0", 11),
	                 0);
	assert_int_equal(cdns_pkt_put_rr(&p, CDNS_SEC_AUTHORITY, n, 1, 1, 1, a, 4), CDNS_EINVAL);
	assert_int_equal(cdns_pkt_put_raw_rr(&p, CDNS_SEC_ANSWER, a, 4), CDNS_EINVAL);
	assert_int_equal(cdns_pkt_put_rr(&p, CDNS_SEC_ADDITIONAL, n, 1, 1, 1, a, 4), 0);
	assert_int_equal(cdns_pkt_count(&p, CDNS_SEC_ANSWER), 0);
	assert_int_equal(cdns_pkt_count(&p, CDNS_SEC_AUTHORITY), 2);
	assert_int_equal(cdns_pkt_count(&p, CDNS_SEC_ADDITIONAL), 2);
	cdns_msg_t m;
	assert_int_equal(cdns_msg_parse(&m, wire, p.len), 0);
	/* The raw record ignores the limit, not the capacity. */
	cdns_pkt_set_limit(&p, p.len);
	assert_int_equal(cdns_pkt_put_raw_rr(&p, CDNS_SEC_ADDITIONAL, a, 4), 0);
	assert_int_equal(cdns_pkt_put_raw_rr(&p, CDNS_SEC_ADDITIONAL, wire, 500), CDNS_ESPACE);
}

/* Read a message, write it again with the builder, and compare. */
static uint16_t rebuild(const uint8_t *msg, size_t len, uint8_t *out, uint16_t cap)
{
	cdns_msg_t m;
	cdns_pkt_t p;
	cdns_rr_t rr;
	uint8_t qname[CDNS_NAME_MAXLEN], rd[1024];
	uint16_t qt, qc;

	assert_int_equal(cdns_msg_parse(&m, msg, len), 0);
	cdns_pkt_init(&p, out, cap);
	cdns_pkt_set_id(&p, m.hdr.id);
	cdns_pkt_set_flags(&p, m.hdr.flags);
	size_t pos = m.sec_off[0];
	for (unsigned i = 0; i < m.hdr.count[0]; i++) {
		assert_true(cdns_msg_question(&m, &pos, qname, &qt, &qc) > 0);
		assert_int_equal(cdns_pkt_put_question(&p, qname, qt, qc), 0);
	}
	for (int s = 1; s < 4; s++) {
		for (unsigned i = 0; i < m.hdr.count[s]; i++) {
			assert_int_equal(cdns_msg_rr(&m, &pos, &rr), 0);
			int n = cdns_rdata_unpack(msg, len, rr.type, rr.rdata_off, rr.rdlen, rd,
			                          sizeof(rd));
			assert_true(n >= 0);
			assert_int_equal(cdns_pkt_put_rr(&p, s, rr.owner, rr.type, rr.rclass,
			                                 rr.ttl, rd, (uint16_t)n),
			                 0);
		}
	}
	return p.len;
}

static void test_round_trip(void **state)
{
	uint8_t a[1024], b[1024];

	/* The hand-compressed response is exactly what the builder writes. */
	uint16_t la = rebuild(resp, sizeof(resp), a, sizeof(a));
	assert_int_equal(la, sizeof(resp));
	assert_memory_equal(a, resp, sizeof(resp));
	/* A message without compression comes back compressed, and stays stable. */
	/* clang-format off */
	static const uint8_t plain[] = {
		H(1, 2, 0, 0), EX, 0, 15, 0, 1,
		EX, RR(15, 19), 0, 10, 2, 'm', 'x', EX,
		EX, RR(15, 20), 0, 20, 3, 'm', 'x', '2', EX,
	};
	/* clang-format on */
	la = rebuild(plain, sizeof(plain), a, sizeof(a));
	/* Four copies of example.test became pointers. */
	assert_int_equal(la, sizeof(plain) - 4 * 12);
	uint16_t lb = rebuild(a, la, b, sizeof(b));
	assert_int_equal(lb, la);
	assert_memory_equal(a, b, la);
	lb = rebuild(a, la, b, sizeof(b));
	assert_memory_equal(a, b, la);
}

/* Names beyond 16 KiB cannot be pointed to; the table may fill up. Both only cost size. */
static void test_build_large(void **state)
{
	static uint8_t wire[65535];
	uint8_t n[CDNS_NAME_MAXLEN], rd[200];
	char t[64];
	cdns_pkt_t p;
	cdns_msg_t m;

	memset(rd, 'x', sizeof(rd));
	rd[0] = 199;
	cdns_pkt_init(&p, wire, sizeof(wire));
	name("example.test.", n);
	assert_int_equal(cdns_pkt_put_question(&p, n, CDNS_T_TXT, CDNS_C_IN), 0);
	unsigned i = 0;
	while (p.len < 0x4000 + 1000) {
		snprintf(t, sizeof(t), "n%u.example.test.", i++);
		name(t, n);
		assert_int_equal(cdns_pkt_put_rr(&p, CDNS_SEC_ANSWER, n, CDNS_T_TXT, CDNS_C_IN, 1,
		                                 rd, sizeof(rd)),
		                 0);
	}
	/* The last name was written beyond 0x3fff: repeating it cannot use a pointer. */
	uint16_t len = p.len;
	assert_int_equal(
	    cdns_pkt_put_rr(&p, CDNS_SEC_ANSWER, n, CDNS_T_TXT, CDNS_C_IN, 1, rd, sizeof(rd)), 0);
	assert_int_equal(p.len - len, (int)cdns_name_len(n) - 14 + 2 + 10 + 200);
	/* Fill the compression table. */
	for (unsigned j = 0; j < 300; j++) {
		snprintf(t, sizeof(t), "m%u.example.test.", j);
		name(t, n);
		assert_int_equal(
		    cdns_pkt_put_rr(&p, CDNS_SEC_ANSWER, n, CDNS_T_A, CDNS_C_IN, 1, rd, 4), 0);
	}
	assert_true(p.n_comp <= CDNS_PKT_COMP_MAX);
	assert_int_equal(cdns_msg_parse(&m, wire, p.len), 0);
}

/* ---- EDNS. ---- */

static int opt_rr(const uint8_t *msg, size_t len, cdns_rr_t *rr, cdns_msg_t *m)
{
	int r = cdns_msg_parse(m, msg, len);
	if (r < 0)
		return r;
	size_t pos = m->sec_off[CDNS_SEC_ADDITIONAL];
	return cdns_msg_rr(m, &pos, rr);
}

static void test_edns_parse(void **state)
{
	/* clang-format off */
	static const uint8_t q[] = {
		H(1, 0, 0, 1), EX, QA,
		0, 0, 41, 0x10, 0x00, 0x01, 0x00, 0x80, 0x00, 0, 37,
		0, 3, 0, 0,                                     /* NSID */
		0, 10, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8,            /* COOKIE, client only */
		0xfd, 0xe9, 0, 2, 'h', 'i',                     /* unknown: ignored */
		0, 8, 0, 7, 0, 1, 24, 0, 192, 0, 2,             /* Client Subnet */
		0, 12, 0, 0,                                    /* PADDING, empty */
	};
	/* clang-format on */
	cdns_msg_t m;
	cdns_rr_t rr;
	cdns_edns_t e;

	assert_int_equal(opt_rr(q, sizeof(q), &rr, &m), 0);
	assert_int_equal(cdns_edns_parse(&e, &rr), 0);
	assert_true(e.present);
	assert_true(e.do_bit);
	assert_int_equal(e.udp_size, 4096);
	assert_int_equal(e.ext_rcode, 1);
	assert_int_equal(e.version, 0);
	assert_int_equal(e.flags, 0x8000);
	assert_true(e.nsid);
	assert_non_null(e.cookie);
	assert_int_equal(e.cookie_len, 8);
	assert_memory_equal(e.cookie, "\1\2\3\4\5\6\7\10", 8);
	assert_non_null(e.ecs);
	assert_int_equal(e.ecs_len, 7);
	assert_int_equal(e.ecs[2], 24);
	assert_ptr_equal(e.options, rr.rdata);
	assert_int_equal(e.options_len, 37);

	/* Walk the options. */
	uint16_t pos = 0, code, len, n = 0;
	const uint8_t *data;
	static const uint16_t codes[] = {3, 10, 0xfde9, 8, 12};
	int r;
	while ((r = cdns_edns_next_option(e.options, e.options_len, &pos, &code, &data, &len)) ==
	       1) {
		assert_true(n < 5);
		assert_int_equal(code, codes[n]);
		n++;
	}
	assert_int_equal(r, 0);
	assert_int_equal(n, 5);
	assert_int_equal(pos, 37);
	pos = 0;
	assert_int_equal(cdns_edns_next_option(e.options, 3, &pos, &code, &data, &len),
	                 CDNS_EFORMAT);
	pos = 4;
	assert_int_equal(cdns_edns_next_option(e.options, 15, &pos, &code, &data, &len),
	                 CDNS_EFORMAT);

	/* No options at all. */
	static const uint8_t q0[] = {H(0, 0, 0, 1), 0, 0, 41, 0x02, 0x00, 0, 0, 0, 0, 0, 0};
	assert_int_equal(opt_rr(q0, sizeof(q0), &rr, &m), 0);
	assert_int_equal(cdns_edns_parse(&e, &rr), 0);
	assert_true(e.present);
	assert_false(e.do_bit);
	assert_false(e.nsid);
	assert_null(e.cookie);
	assert_null(e.ecs);
	assert_int_equal(e.udp_size, 512);
}

static const struct bad_opt {
	const char *what;
	const uint8_t *msg;
	size_t len;
	int err;
} bad_opts[] = {
    {"option length past RDATA",
     M(H(0, 0, 0, 1), 0, 0, 41, 0x10, 0, 0, 0, 0, 0, 0, 6, 0, 3, 0, 4, 'a', 'b'), CDNS_EFORMAT},
    {"option header cut", M(H(0, 0, 0, 1), 0, 0, 41, 0x10, 0, 0, 0, 0, 0, 0, 3, 0, 3, 0),
     CDNS_EFORMAT},
    {"NSID with data in a request",
     M(H(0, 0, 0, 1), 0, 0, 41, 0x10, 0, 0, 0, 0, 0, 0, 5, 0, 3, 0, 1, 'x'), CDNS_EFORMAT},
    {"COOKIE of 7 octets",
     M(H(0, 0, 0, 1), 0, 0, 41, 0x10, 0, 0, 0, 0, 0, 0, 11, 0, 10, 0, 7, 1, 2, 3, 4, 5, 6, 7),
     CDNS_EFORMAT},
    {"COOKIE of 12 octets",
     M(H(0, 0, 0, 1), 0, 0, 41, 0x10, 0, 0, 0, 0, 0, 0, 16, 0, 10, 0, 12, 1, 2, 3, 4, 5, 6, 7, 8, 9,
       10, 11, 12),
     CDNS_EFORMAT},
    {"Client Subnet too short",
     M(H(0, 0, 0, 1), 0, 0, 41, 0x10, 0, 0, 0, 0, 0, 0, 6, 0, 8, 0, 2, 0, 1), CDNS_EFORMAT},
    {"OPT owner not the root", M(H(0, 0, 0, 1), 1, 'a', 0, 0, 41, 0x10, 0, 0, 0, 0, 0, 0, 0),
     CDNS_EFORMAT},
    {"not an OPT record", M(H(0, 0, 0, 1), 0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 4, 192, 0, 2, 1),
     CDNS_EFORMAT},
};

static void test_edns_bad(void **state)
{
	cdns_msg_t m;
	cdns_rr_t rr;
	cdns_edns_t e;

	for (size_t i = 0; i < sizeof(bad_opts) / sizeof(bad_opts[0]); i++) {
		assert_int_equal(opt_rr(bad_opts[i].msg, bad_opts[i].len, &rr, &m), 0);
		int r = cdns_edns_parse(&e, &rr);
		if (r != bad_opts[i].err)
			fail_msg("%s: got %d, want %d", bad_opts[i].what, r, bad_opts[i].err);
	}

	/* RFC 7873 §5.2.2: 8 octets, or 16 to 40. */
	static const struct {
		unsigned len;
		int err;
	} cookies[] = {{0, CDNS_EFORMAT}, {8, 0},  {9, CDNS_EFORMAT}, {15, CDNS_EFORMAT},
	               {16, 0},           {40, 0}, {41, CDNS_EFORMAT}};
	uint8_t msg[128];
	for (size_t i = 0; i < sizeof(cookies) / sizeof(cookies[0]); i++) {
		unsigned clen = cookies[i].len;
		size_t o = put_hdr(msg, 0, 0);
		cdns_put16(msg + 10, 1);
		memcpy(msg + o, "\0\0\51\20\0\0\0\0\0", 9);
		o += 9;
		cdns_put16(msg + o, (uint16_t)(4 + clen));
		cdns_put16(msg + o + 2, CDNS_EDNS_COOKIE);
		cdns_put16(msg + o + 4, (uint16_t)clen);
		memset(msg + o + 6, 0xab, clen);
		o += 6 + clen;
		assert_int_equal(opt_rr(msg, o, &rr, &m), 0);
		int r = cdns_edns_parse(&e, &rr);
		if (r != cookies[i].err)
			fail_msg("cookie of %u octets: got %d", clen, r);
		if (r == 0)
			assert_int_equal(e.cookie_len, clen);
	}
}

static void test_edns_writer(void **state)
{
	uint8_t buf[64];
	cdns_opt_writer_t w;
	/* clang-format off */
	static const uint8_t want[] = {
		0, 0, 41, 0x04, 0xd0, 0x01, 0x00, 0x80, 0x00, 0, 14,
		0, 3, 0, 3, 'n', 's', '1',
		0, 15, 0, 3, 0, 15, 'x',
	};
	/* clang-format on */

	assert_int_equal(cdns_opt_begin(&w, buf, sizeof(buf), 1232, 1, 0, 0x8000), 0);
	assert_int_equal(w.len, CDNS_OPT_BASE_LEN);
	assert_int_equal(cdns_opt_add(&w, CDNS_EDNS_NSID, "ns1", 3), 0);
	assert_int_equal(cdns_opt_add_ede(&w, CDNS_EDE_BLOCKED, "x"), 0);
	assert_int_equal(cdns_opt_finish(&w), sizeof(want));
	assert_memory_equal(buf, want, sizeof(want));

	/* EDE without text. */
	assert_int_equal(cdns_opt_begin(&w, buf, sizeof(buf), 512, 0, 0, 0), 0);
	assert_int_equal(cdns_opt_add_ede(&w, CDNS_EDE_NOT_READY, NULL), 0);
	assert_int_equal(cdns_opt_finish(&w), 17);
	assert_memory_equal(buf + 9, "\0\6\0\17\0\2\0\16", 8);

	/* No room: nothing is written. */
	assert_int_equal(cdns_opt_begin(&w, buf, 10, 512, 0, 0, 0), CDNS_ESPACE);
	assert_int_equal(cdns_opt_begin(&w, buf, 17, 512, 0, 0, 0), 0);
	assert_int_equal(cdns_opt_add(&w, CDNS_EDNS_NSID, "abc", 3), CDNS_ESPACE);
	assert_int_equal(cdns_opt_add_ede(&w, 0, "a"), CDNS_ESPACE);
	assert_int_equal(w.len, 11);
	assert_int_equal(cdns_opt_add_ede(&w, 0, NULL), 0);
	assert_int_equal(cdns_opt_finish(&w), 17);

	/* The written OPT goes into a response and reads back. */
	uint8_t wire[512], n[CDNS_NAME_MAXLEN];
	cdns_pkt_t p;
	cdns_msg_t m;
	cdns_rr_t rr;
	cdns_edns_t e;
	assert_int_equal(cdns_opt_begin(&w, buf, sizeof(buf), 1232, 0, 0, 0x8000), 0);
	assert_int_equal(cdns_opt_add(&w, CDNS_EDNS_COOKIE, "12345678", 8), 0);
	uint16_t ol = cdns_opt_finish(&w);
	cdns_pkt_init(&p, wire, sizeof(wire));
	name("example.test.", n);
	assert_int_equal(cdns_pkt_put_question(&p, n, CDNS_T_A, CDNS_C_IN), 0);
	assert_int_equal(cdns_pkt_put_raw_rr(&p, CDNS_SEC_ADDITIONAL, buf, ol), 0);
	assert_int_equal(opt_rr(wire, p.len, &rr, &m), 0);
	assert_int_equal(cdns_edns_parse(&e, &rr), 0);
	assert_int_equal(e.udp_size, 1232);
	assert_true(e.do_bit);
	assert_int_equal(e.cookie_len, 8);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_malformed_table),      cmocka_unit_test(test_malformed_long),
	    cmocka_unit_test(test_parse_response),       cmocka_unit_test(test_unpack_mx),
	    cmocka_unit_test(test_parse_update),         cmocka_unit_test(test_build_compression),
	    cmocka_unit_test(test_build_case_and_types), cmocka_unit_test(test_build_espace),
	    cmocka_unit_test(test_build_rollback),       cmocka_unit_test(test_build_section_order),
	    cmocka_unit_test(test_round_trip),           cmocka_unit_test(test_build_large),
	    cmocka_unit_test(test_edns_parse),           cmocka_unit_test(test_edns_bad),
	    cmocka_unit_test(test_edns_writer),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
