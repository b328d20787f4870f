/* Unit tests of the answer algorithm (sdk/lib/answer.c): queries are filled in as the core
 * does, answered from zones built with our own tiny helper, and the wire response is parsed
 * back and compared section by section. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cmocka.h>

#include <clouddns/clouddns.h>
#include <clouddns/zone.h>

/* ---------------------------------------------------------------------------------------- */
/* Zones                                                                                      */

static void name(const char *text, uint8_t *out)
{
	assert_true(cdns_name_from_text(text, strlen(text), NULL, out) > 0);
}

static int add_line(cdns_zone_builder_t *b, const char *line)
{
	char owner[300], type[32];
	unsigned ttl;
	int n = 0;
	assert_int_equal(sscanf(line, "%299s %u %31s %n", owner, &ttl, type, &n), 3);
	uint8_t o[CDNS_NAME_MAXLEN];
	name(owner, o);
	uint16_t t;
	assert_int_equal(cdns_rrtype_from_text(type, strlen(type), &t), 0);
	static uint8_t rd[CDNS_RDATA_MAXLEN];
	cdns_text_err_t err;
	const char *rt = line + n;
	int rl = cdns_rdata_from_text(t, rt, strlen(rt), NULL, rd, sizeof(rd), &err);
	if (rl < 0)
		fail_msg("bad rdata in '%s': %s", line, err.msg);
	return cdns_zone_builder_add(b, o, t, CDNS_C_IN, ttl, rd, (uint16_t)rl, NULL, 0);
}

static void ignore(void *ctx, int severity, const char *file, unsigned line, const char *text)
{
	if (severity == CDNS_ZONE_ERROR)
		print_message("zone error: %s\n", text);
}

static cdns_zone_t *build(const char *apex, const char *const *lines, const char *const *more)
{
	uint8_t a[CDNS_NAME_MAXLEN];
	name(apex, a);
	cdns_zone_builder_t *b = cdns_zone_builder_new(a, CDNS_C_IN);
	assert_non_null(b);
	for (unsigned i = 0; lines[i] != NULL; i++)
		assert_int_equal(add_line(b, lines[i]), 0);
	for (unsigned i = 0; more != NULL && more[i] != NULL; i++)
		assert_int_equal(add_line(b, more[i]), 0);
	cdns_zone_t *z = NULL;
	assert_int_equal(cdns_zone_builder_finish(b, ignore, NULL, &z), 0);
	return z;
}

#define LONG63 "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijk"
#define TXT200                                                                                     \
	"\"0123456789012345678901234567890123456789012345678901234567890123456789"                 \
	"0123456789012345678901234567890123456789012345678901234567890123456789"                   \
	"012345678901234567890123456789012345678901234567890123456789\""

static const char *const rich[] = {
    "example.com. 3600 SOA ns1.example.com. admin.example.com. 2024010101 7200 3600 1209600 "
    "300",
    "example.com. 3600 NS ns1.example.com.",
    "example.com. 3600 NS ns2.example.com.",
    "example.com. 3600 MX 10 mail.example.com.",
    "ns1.example.com. 3600 A 192.0.2.1",
    "ns2.example.com. 3600 A 192.0.2.2",
    "ns2.example.com. 3600 AAAA 2001:db8::2",
    "mail.example.com. 3600 A 192.0.2.3",
    "www.example.com. 3600 A 192.0.2.10",
    "alias.example.com. 300 CNAME www.example.com.",
    "chain1.example.com. 300 CNAME chain2.example.com.",
    "chain2.example.com. 300 CNAME www.example.com.",
    "loop1.example.com. 300 CNAME loop2.example.com.",
    "loop2.example.com. 300 CNAME loop1.example.com.",
    "dangling.example.com. 300 CNAME nothere.example.com.",
    "outside.example.com. 300 CNAME www.example.org.",
    "todeleg.example.com. 300 CNAME host.sub.example.com.",
    "a.b.c.example.com. 3600 TXT \"deep\"",
    "sub.example.com. 3600 NS ns.sub.example.com.",
    "sub.example.com. 3600 NS ns1.example.com.",
    "sub.example.com. 3600 NS ns.elsewhere.net.",
    "sub.example.com. 3600 DS 12345 8 2 "
    "0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF",
    "ns.sub.example.com. 3600 A 192.0.2.53",
    "deeper.ns.sub.example.com. 3600 A 192.0.2.54",
    "nog.example.com. 3600 NS ns.nog.example.com.",
    "dn.example.com. 3600 DNAME target.example.com.",
    "x.target.example.com. 3600 A 192.0.2.77",
    "dnout.example.com. 1800 DNAME example.net.",
    "dlong.example.com. 3600 DNAME " LONG63 "." LONG63 "." LONG63 ".example.net.",
    "_sip._tcp.example.com. 3600 SRV 0 5 5060 sip.example.com.",
    "sip.example.com. 3600 A 192.0.2.80",
    "big.example.com. 3600 TXT " TXT200,
    "big.example.com. 3600 TXT \"1\" " TXT200,
    "big.example.com. 3600 TXT \"2\" " TXT200,
    "tobig.example.com. 300 CNAME big.example.com.",
    "*.wild.example.com. 3600 A 192.0.2.99",
    "*.wild.example.com. 3600 TXT \"wild\"",
    "*.cw.example.com. 300 CNAME www.example.com.",
    "*.wloop.example.com. 300 CNAME x.wloop.example.com.",
    "mxw.example.com. 3600 MX 10 host.wild.example.com.",
    "*.wdeleg.example.com. 3600 NS ns1.example.com.",
    "mxglue.example.com. 3600 MX 10 ns.sub.example.com.",
    "alias2.example.com. 300 CNAME foo.wild.example.com.",
    NULL,
};

/* A delegation whose in-bailiwick glue cannot fit 512 bytes, one whose sibling glue cannot,
 * and a chain of 20 CNAMEs. */
static const char *const extra[] = {
    "fat.example.com. 3600 NS ns01.fat.example.com.",
    "fat.example.com. 3600 NS ns02.fat.example.com.",
    "fat.example.com. 3600 NS ns03.fat.example.com.",
    "fat.example.com. 3600 NS ns04.fat.example.com.",
    "fat.example.com. 3600 NS ns05.fat.example.com.",
    "fat.example.com. 3600 NS ns06.fat.example.com.",
    "fat.example.com. 3600 NS ns07.fat.example.com.",
    "fat.example.com. 3600 NS ns08.fat.example.com.",
    "fat.example.com. 3600 NS ns09.fat.example.com.",
    "fat.example.com. 3600 NS ns10.fat.example.com.",
    "fat.example.com. 3600 NS ns11.fat.example.com.",
    "fat.example.com. 3600 NS ns12.fat.example.com.",
    "ns01.fat.example.com. 3600 AAAA 2001:db8::1:1",
    "ns02.fat.example.com. 3600 AAAA 2001:db8::1:2",
    "ns03.fat.example.com. 3600 AAAA 2001:db8::1:3",
    "ns04.fat.example.com. 3600 AAAA 2001:db8::1:4",
    "ns05.fat.example.com. 3600 AAAA 2001:db8::1:5",
    "ns06.fat.example.com. 3600 AAAA 2001:db8::1:6",
    "ns07.fat.example.com. 3600 AAAA 2001:db8::1:7",
    "ns08.fat.example.com. 3600 AAAA 2001:db8::1:8",
    "ns09.fat.example.com. 3600 AAAA 2001:db8::1:9",
    "ns10.fat.example.com. 3600 AAAA 2001:db8::1:10",
    "ns11.fat.example.com. 3600 AAAA 2001:db8::1:11",
    "ns12.fat.example.com. 3600 AAAA 2001:db8::1:12",
    "sib.example.com. 3600 NS s01.example.com.",
    "sib.example.com. 3600 NS s02.example.com.",
    "sib.example.com. 3600 NS s03.example.com.",
    "sib.example.com. 3600 NS s04.example.com.",
    "sib.example.com. 3600 NS s05.example.com.",
    "sib.example.com. 3600 NS s06.example.com.",
    "sib.example.com. 3600 NS s07.example.com.",
    "sib.example.com. 3600 NS s08.example.com.",
    "sib.example.com. 3600 NS s09.example.com.",
    "sib.example.com. 3600 NS s10.example.com.",
    "sib.example.com. 3600 NS s11.example.com.",
    "sib.example.com. 3600 NS s12.example.com.",
    "s01.example.com. 3600 AAAA 2001:db8::2:1",
    "s02.example.com. 3600 AAAA 2001:db8::2:2",
    "s03.example.com. 3600 AAAA 2001:db8::2:3",
    "s04.example.com. 3600 AAAA 2001:db8::2:4",
    "s05.example.com. 3600 AAAA 2001:db8::2:5",
    "s06.example.com. 3600 AAAA 2001:db8::2:6",
    "s07.example.com. 3600 AAAA 2001:db8::2:7",
    "s08.example.com. 3600 AAAA 2001:db8::2:8",
    "s09.example.com. 3600 AAAA 2001:db8::2:9",
    "s10.example.com. 3600 AAAA 2001:db8::2:10",
    "s11.example.com. 3600 AAAA 2001:db8::2:11",
    "s12.example.com. 3600 AAAA 2001:db8::2:12",
    "c00.example.com. 60 CNAME c01.example.com.",
    "c01.example.com. 60 CNAME c02.example.com.",
    "c02.example.com. 60 CNAME c03.example.com.",
    "c03.example.com. 60 CNAME c04.example.com.",
    "c04.example.com. 60 CNAME c05.example.com.",
    "c05.example.com. 60 CNAME c06.example.com.",
    "c06.example.com. 60 CNAME c07.example.com.",
    "c07.example.com. 60 CNAME c08.example.com.",
    "c08.example.com. 60 CNAME c09.example.com.",
    "c09.example.com. 60 CNAME c10.example.com.",
    "c10.example.com. 60 CNAME c11.example.com.",
    "c11.example.com. 60 CNAME c12.example.com.",
    "c12.example.com. 60 CNAME c13.example.com.",
    "c13.example.com. 60 CNAME c14.example.com.",
    "c14.example.com. 60 CNAME c15.example.com.",
    "c15.example.com. 60 CNAME c16.example.com.",
    "c16.example.com. 60 CNAME c17.example.com.",
    "c17.example.com. 60 CNAME c18.example.com.",
    "c18.example.com. 60 CNAME c19.example.com.",
    "c19.example.com. 60 CNAME c20.example.com.",
    "c20.example.com. 60 A 192.0.2.20",
    NULL,
};

/* RFC 4592 §2.2.1, with SOA and SRV RDATA filled in. */
static const char *const rfc4592[] = {
    "example. 3600 SOA ns.example.com. hostmaster.example.com. 1 3600 600 86400 300",
    "example. 3600 NS ns.example.com.",
    "example. 3600 NS ns.example.net.",
    "*.example. 3600 TXT \"this is a wildcard\"",
    "*.example. 3600 MX 10 host1.example.",
    "sub.*.example. 3600 TXT \"this is not a wildcard\"",
    "host1.example. 3600 A 192.0.2.1",
    "_ssh._tcp.host1.example. 3600 SRV 0 0 22 host1.example.",
    "_ssh._tcp.host2.example. 3600 SRV 0 0 22 host2.example.",
    "subdel.example. 3600 NS ns.example.com.",
    "subdel.example. 3600 NS ns.example.net.",
    NULL,
};

static cdns_zone_t *zone_rich, *zone_4592;

static int setup(void **state)
{
	zone_rich = build("example.com.", rich, extra);
	zone_4592 = build("example.", rfc4592, NULL);
	return 0;
}

static int teardown(void **state)
{
	cdns_zone_unref(zone_rich);
	cdns_zone_unref(zone_4592);
	return 0;
}

/* ---------------------------------------------------------------------------------------- */
/* Queries and responses                                                                      */

static uint8_t req[600];
static uint8_t tx[65535];
static uint8_t arena[1024];
static cdns_query_t Q;

/* Fill Q as the core does for "qname qtype IN" (the name keeps its case on the wire);
 * edns_size 0 means no OPT record (then 512 bytes is the limit). */
static void make_query(const char *qname, uint16_t qtype, uint16_t edns_size)
{
	cdns_query_t *q = &Q;
	memset(q, 0, sizeof(*q));
	size_t len = 0;
	cdns_put16(req, 0xbeef);
	cdns_put16(req + 2, 0);
	cdns_put16(req + 4, 1);
	cdns_put16(req + 6, 0);
	cdns_put16(req + 8, 0);
	cdns_put16(req + 10, edns_size ? 1 : 0);
	len = CDNS_HDR_LEN;
	int nl = cdns_name_from_text(qname, strlen(qname), NULL, req + len);
	assert_true(nl > 0);
	len += (size_t)nl;
	cdns_put16(req + len, qtype);
	cdns_put16(req + len + 2, CDNS_C_IN);
	len += 4;
	if (edns_size) {
		static const uint8_t opt[] = {0, 0, 41, 0, 0, 0, 0, 0, 0, 0, 0};
		memcpy(req + len, opt, sizeof(opt));
		cdns_put16(req + len + 3, edns_size);
		len += sizeof(opt);
	}
	assert_int_equal(cdns_msg_parse(&q->msg, req, len), 0);
	size_t pos = CDNS_HDR_LEN;
	int n = cdns_msg_question(&q->msg, &pos, q->qname, &q->qtype, &q->qclass);
	assert_true(n > 0);
	q->qname_len = (uint8_t)n;
	q->qname_off = CDNS_HDR_LEN;
	cdns_name_lower(q->qname);
	q->qname_labels = (uint8_t)cdns_name_labels(q->qname);
	q->qname_hash = cdns_name_hash(q->qname);
	q->id = 0xbeef;
	q->flags = 0;
	q->edns.present = edns_size != 0;
	q->edns.udp_size = edns_size;
	q->edns_reply = edns_size != 0;
	q->resp.wire = tx;
	q->resp.cap = sizeof(tx);
	q->resp_max = edns_size ? edns_size : 512;
	q->arena = arena;
	q->arena_cap = sizeof(arena);
	q->view = "default";
	cdns_resp_reset(q);
}

#define MAXRR 48

typedef struct res {
	int ret;
	uint16_t flags, rcode;
	unsigned n[4];
	char rr[4][MAXRR][2048];
} res_t;

static res_t R;

static void parse_response(void)
{
	cdns_msg_t m;
	assert_int_equal(cdns_msg_parse(&m, Q.resp.wire, Q.resp.len), 0);
	R.flags = m.hdr.flags;
	R.rcode = Q.rcode;
	size_t pos = CDNS_HDR_LEN;
	uint8_t qn[CDNS_NAME_MAXLEN];
	uint16_t qt, qc;
	assert_true(cdns_msg_question(&m, &pos, qn, &qt, &qc) > 0);
	for (int sec = 1; sec <= 3; sec++) {
		R.n[sec] = m.hdr.count[sec];
		assert_true(R.n[sec] <= MAXRR);
		for (unsigned i = 0; i < R.n[sec]; i++) {
			cdns_rr_t rr;
			assert_int_equal(cdns_msg_rr(&m, &pos, &rr), 0);
			char owner[CDNS_NAME_MAXTEXT], type[32], rdata[600];
			uint8_t rd[CDNS_RDATA_MAXLEN];
			assert_true(cdns_name_to_text(rr.owner, owner, sizeof(owner)) > 0);
			assert_true(cdns_rrtype_to_text(rr.type, type, sizeof(type)) > 0);
			int rl = cdns_rdata_unpack(m.wire, m.len, rr.type, rr.rdata_off, rr.rdlen,
			                           rd, sizeof(rd));
			assert_true(rl >= 0);
			assert_true(
			    cdns_rdata_to_text(rr.type, rd, (size_t)rl, rdata, sizeof(rdata)) >= 0);
			assert_int_equal(rr.rclass, CDNS_C_IN);
			snprintf(R.rr[sec][i], sizeof(R.rr[sec][i]), "%s %u %s %s", owner, rr.ttl,
			         type, rdata);
		}
	}
}

static void ask(const cdns_zone_t *z, const char *qname, const char *qtype, uint16_t edns)
{
	uint16_t t;
	assert_int_equal(cdns_rrtype_from_text(qtype, strlen(qtype), &t), 0);
	make_query(qname, t, edns);
	R.ret = cdns_zone_answer(z, &Q);
	assert_int_equal(R.ret, 0);
	parse_response();
}

static void dump(void)
{
	static const char *sn[] = {"", "ANSWER", "AUTHORITY", "ADDITIONAL"};
	print_message("flags %04x rcode %u\n", R.flags, R.rcode);
	for (int s = 1; s <= 3; s++)
		for (unsigned i = 0; i < R.n[s]; i++)
			print_message("  %s %s\n", sn[s], R.rr[s][i]);
}

/* The section holds exactly these records, in this order (compared case-insensitively). */
static void expect_sec(int sec, const char *const *want)
{
	unsigned n = 0;
	while (want[n] != NULL)
		n++;
	for (unsigned i = 0; i < n && i < R.n[sec]; i++) {
		if (strcasecmp(R.rr[sec][i], want[i]) != 0) {
			dump();
			fail_msg("section %d record %u: got '%s', want '%s'", sec, i, R.rr[sec][i],
			         want[i]);
		}
	}
	if (R.n[sec] != n) {
		dump();
		fail_msg("section %d: %u records, want %u", sec, R.n[sec], n);
	}
}

#define NONE     ((const char *const[]){NULL})
#define RRS(...) ((const char *const[]){__VA_ARGS__, NULL})

static void expect_hdr(uint16_t rcode, int aa, int tc)
{
	if (R.rcode != rcode || !!(R.flags & CDNS_FLAG_AA) != aa ||
	    !!(R.flags & CDNS_FLAG_TC) != tc) {
		dump();
		fail_msg("rcode %u aa %d tc %d, want rcode %u aa %d tc %d", R.rcode,
		         !!(R.flags & CDNS_FLAG_AA), !!(R.flags & CDNS_FLAG_TC), rcode, aa, tc);
	}
	/* QR is always set, RCODE in the header is the core's business. */
	assert_true(R.flags & CDNS_FLAG_QR);
}

#define SOA_NEG                                                                                    \
	"example.com. 300 SOA ns1.example.com. admin.example.com. 2024010101 7200 3600 "           \
	"1209600 300"

/* ---------------------------------------------------------------------------------------- */
/* Positive and negative answers                                                              */

static void test_exact(void **state)
{
	ask(zone_rich, "www.example.com.", "A", 0);
	expect_hdr(CDNS_RCODE_NOERROR, 1, 0);
	expect_sec(1, RRS("www.example.com. 3600 A 192.0.2.10"));
	/* Minimal responses: no NS in authority (as Knot). */
	expect_sec(2, NONE);
	expect_sec(3, NONE);
}

static void test_client_case_and_compression(void **state)
{
	ask(zone_rich, "WwW.ExAmPlE.CoM.", "A", 0);
	expect_hdr(CDNS_RCODE_NOERROR, 1, 0);
	/* The answer's owner is a pointer to the question (offset 12), spelled as asked. */
	size_t at = CDNS_HDR_LEN + Q.qname_len + 4;
	assert_int_equal(tx[at], 0xc0);
	assert_int_equal(tx[at + 1], CDNS_HDR_LEN);
	assert_memory_equal(tx + CDNS_HDR_LEN, req + CDNS_HDR_LEN, Q.qname_len);
	expect_sec(1, RRS("WwW.ExAmPlE.CoM. 3600 A 192.0.2.10"));
}

static void test_nodata(void **state)
{
	/* RFC 2308 §5: the SOA's TTL is min(SOA TTL 3600, MINIMUM 300). */
	ask(zone_rich, "www.example.com.", "AAAA", 0);
	expect_hdr(CDNS_RCODE_NOERROR, 1, 0);
	expect_sec(1, NONE);
	expect_sec(2, RRS(SOA_NEG));
	expect_sec(3, NONE);
}

static void test_nxdomain(void **state)
{
	ask(zone_rich, "nx.example.com.", "A", 0);
	expect_hdr(CDNS_RCODE_NXDOMAIN, 1, 0);
	expect_sec(1, NONE);
	expect_sec(2, RRS(SOA_NEG));
	/* Below an existing leaf too. */
	ask(zone_rich, "deeper.www.example.com.", "A", 0);
	expect_hdr(CDNS_RCODE_NXDOMAIN, 1, 0);
	expect_sec(2, RRS(SOA_NEG));
}

static void test_ent(void **state)
{
	/* An empty non-terminal exists: NODATA, not NXDOMAIN (RFC 8020 §2). */
	ask(zone_rich, "b.c.example.com.", "A", 0);
	expect_hdr(CDNS_RCODE_NOERROR, 1, 0);
	expect_sec(1, NONE);
	expect_sec(2, RRS(SOA_NEG));
	ask(zone_rich, "c.example.com.", "TXT", 0);
	expect_hdr(CDNS_RCODE_NOERROR, 1, 0);
	ask(zone_rich, "a.b.c.example.com.", "TXT", 0);
	expect_sec(1, RRS("a.b.c.example.com. 3600 TXT \"deep\""));
}

static void test_apex(void **state)
{
	ask(zone_rich, "example.com.", "SOA", 0);
	expect_hdr(CDNS_RCODE_NOERROR, 1, 0);
	/* The SOA as stored: its own TTL in a positive answer. */
	expect_sec(1, RRS("example.com. 3600 SOA ns1.example.com. admin.example.com. 2024010101 "
	                  "7200 3600 1209600 300"));
	expect_sec(2, NONE);
	ask(zone_rich, "example.com.", "NS", 0);
	expect_sec(1, RRS("example.com. 3600 NS ns1.example.com.",
	                  "example.com. 3600 NS ns2.example.com."));
	expect_sec(3, RRS("ns1.example.com. 3600 A 192.0.2.1", "ns2.example.com. 3600 A 192.0.2.2",
	                  "ns2.example.com. 3600 AAAA 2001:db8::2"));
}

static void test_mx_srv_additional(void **state)
{
	ask(zone_rich, "example.com.", "MX", 0);
	expect_hdr(CDNS_RCODE_NOERROR, 1, 0);
	expect_sec(1, RRS("example.com. 3600 MX 10 mail.example.com."));
	expect_sec(3, RRS("mail.example.com. 3600 A 192.0.2.3"));
	ask(zone_rich, "_sip._tcp.example.com.", "SRV", 0);
	expect_sec(1, RRS("_sip._tcp.example.com. 3600 SRV 0 5 5060 sip.example.com."));
	expect_sec(3, RRS("sip.example.com. 3600 A 192.0.2.80"));
	/* A target synthesized by a wildcard. */
	ask(zone_rich, "mxw.example.com.", "MX", 0);
	expect_sec(3, RRS("host.wild.example.com. 3600 A 192.0.2.99"));
}

static void test_any(void **state)
{
	/* RFC 8482 §4.1: one RRset, the first in type order (as Knot). */
	ask(zone_rich, "example.com.", "ANY", 0);
	expect_hdr(CDNS_RCODE_NOERROR, 1, 0);
	expect_sec(1, RRS("example.com. 3600 NS ns1.example.com.",
	                  "example.com. 3600 NS ns2.example.com."));
	ask(zone_rich, "ns2.example.com.", "ANY", 0);
	expect_sec(1, RRS("ns2.example.com. 3600 A 192.0.2.2"));
	/* A CNAME is not followed for ANY. */
	ask(zone_rich, "alias.example.com.", "ANY", 0);
	expect_sec(1, RRS("alias.example.com. 300 CNAME www.example.com."));
	/* An ENT has nothing to show. */
	ask(zone_rich, "c.example.com.", "ANY", 0);
	expect_hdr(CDNS_RCODE_NOERROR, 1, 0);
	expect_sec(1, NONE);
	expect_sec(2, RRS(SOA_NEG));
}

/* ---------------------------------------------------------------------------------------- */
/* CNAME chains (RFC 1034 §4.3.2 step 3a, RFC 6604)                                           */

static void test_cname(void **state)
{
	ask(zone_rich, "alias.example.com.", "A", 0);
	expect_hdr(CDNS_RCODE_NOERROR, 1, 0);
	expect_sec(1, RRS("alias.example.com. 300 CNAME www.example.com.",
	                  "www.example.com. 3600 A 192.0.2.10"));
	expect_sec(2, NONE);
	/* Asking for the CNAME itself. */
	ask(zone_rich, "alias.example.com.", "CNAME", 0);
	expect_sec(1, RRS("alias.example.com. 300 CNAME www.example.com."));
	/* NODATA at the end of the chain. */
	ask(zone_rich, "alias.example.com.", "AAAA", 0);
	expect_hdr(CDNS_RCODE_NOERROR, 1, 0);
	expect_sec(1, RRS("alias.example.com. 300 CNAME www.example.com."));
	expect_sec(2, RRS(SOA_NEG));
}

static void test_cname_chain(void **state)
{
	ask(zone_rich, "chain1.example.com.", "A", 0);
	expect_hdr(CDNS_RCODE_NOERROR, 1, 0);
	expect_sec(1, RRS("chain1.example.com. 300 CNAME chain2.example.com.",
	                  "chain2.example.com. 300 CNAME www.example.com.",
	                  "www.example.com. 3600 A 192.0.2.10"));
}

static void test_cname_loop(void **state)
{
	/* A loop stops where it closes, with what was found. */
	ask(zone_rich, "loop1.example.com.", "A", 0);
	expect_hdr(CDNS_RCODE_NOERROR, 1, 0);
	expect_sec(1, RRS("loop1.example.com. 300 CNAME loop2.example.com.",
	                  "loop2.example.com. 300 CNAME loop1.example.com."));
	expect_sec(2, NONE);
	/* A wildcard CNAME pointing below itself loops through the same wildcard: its CNAME
	 * for the second name is given, then the chain stops (as Knot). */
	ask(zone_rich, "a.wloop.example.com.", "A", 0);
	expect_hdr(CDNS_RCODE_NOERROR, 1, 0);
	expect_sec(1, RRS("a.wloop.example.com. 300 CNAME x.wloop.example.com.",
	                  "x.wloop.example.com. 300 CNAME x.wloop.example.com."));
}

static void test_cname_chain_limit(void **state)
{
	ask(zone_rich, "c00.example.com.", "A", 0);
	expect_hdr(CDNS_RCODE_NOERROR, 1, 0);
	/* 8 steps are followed; the rest is the resolver's business. */
	assert_int_equal(R.n[1], 8);
	assert_true(strncasecmp(R.rr[1][7], "c07.example.com. 60 CNAME c08", 29) == 0);
	expect_sec(2, NONE);
}

static void test_cname_rfc6604(void **state)
{
	/* RFC 6604 §2.1: the rcode is the one of the last name of the chain. */
	ask(zone_rich, "dangling.example.com.", "A", 0);
	expect_hdr(CDNS_RCODE_NXDOMAIN, 1, 0);
	expect_sec(1, RRS("dangling.example.com. 300 CNAME nothere.example.com."));
	expect_sec(2, RRS(SOA_NEG));
	/* A target outside the zone ends the chain: NOERROR, nothing more. */
	ask(zone_rich, "outside.example.com.", "A", 0);
	expect_hdr(CDNS_RCODE_NOERROR, 1, 0);
	expect_sec(1, RRS("outside.example.com. 300 CNAME www.example.org."));
	expect_sec(2, NONE);
	expect_sec(3, NONE);
}

/* RDATA in canonical order: "\002ns\003sub..." < "\002ns\011elsewhere..." < "\003ns1...". */
#define SUB_NS                                                                                     \
	"sub.example.com. 3600 NS ns.sub.example.com.",                                            \
	    "sub.example.com. 3600 NS ns.elsewhere.net.",                                          \
	    "sub.example.com. 3600 NS ns1.example.com."

static void test_cname_to_delegation(void **state)
{
	/* The chain leads below a cut: a referral for the target; AA describes the first name. */
	ask(zone_rich, "todeleg.example.com.", "A", 0);
	expect_hdr(CDNS_RCODE_NOERROR, 1, 0);
	expect_sec(1, RRS("todeleg.example.com. 300 CNAME host.sub.example.com."));
	expect_sec(2, RRS(SUB_NS));
	expect_sec(
	    3, RRS("ns.sub.example.com. 3600 A 192.0.2.53", "ns1.example.com. 3600 A 192.0.2.1"));
}

/* ---------------------------------------------------------------------------------------- */
/* Delegations                                                                                */

static void test_referral(void **state)
{
	ask(zone_rich, "host.sub.example.com.", "A", 0);
	expect_hdr(CDNS_RCODE_NOERROR, 0, 0);
	expect_sec(1, NONE);
	expect_sec(2, RRS(SUB_NS));
	/* Glue below the cut first (mandatory), then the sibling in this zone. */
	expect_sec(
	    3, RRS("ns.sub.example.com. 3600 A 192.0.2.53", "ns1.example.com. 3600 A 192.0.2.1"));
	/* At the cut itself, any type but DS, ANY included. */
	ask(zone_rich, "sub.example.com.", "NS", 0);
	expect_hdr(CDNS_RCODE_NOERROR, 0, 0);
	expect_sec(1, NONE);
	expect_sec(2, RRS(SUB_NS));
	ask(zone_rich, "SUB.example.com.", "ANY", 0);
	expect_hdr(CDNS_RCODE_NOERROR, 0, 0);
	expect_sec(2, RRS(SUB_NS));
	/* Glue itself is not answered authoritatively. */
	ask(zone_rich, "ns.sub.example.com.", "A", 0);
	expect_hdr(CDNS_RCODE_NOERROR, 0, 0);
	expect_sec(1, NONE);
	expect_sec(2, RRS(SUB_NS));
	ask(zone_rich, "deeper.ns.sub.example.com.", "A", 0);
	expect_hdr(CDNS_RCODE_NOERROR, 0, 0);
	expect_sec(2, RRS(SUB_NS));
	/* Without glue. */
	ask(zone_rich, "www.nog.example.com.", "A", 0);
	expect_hdr(CDNS_RCODE_NOERROR, 0, 0);
	expect_sec(2, RRS("nog.example.com. 3600 NS ns.nog.example.com."));
	expect_sec(3, NONE);
}

static void test_ds_at_cut(void **state)
{
	/* RFC 4035 §3.1.4.1: the parent side answers DS for the cut, authoritatively. */
	ask(zone_rich, "sub.example.com.", "DS", 0);
	expect_hdr(CDNS_RCODE_NOERROR, 1, 0);
	expect_sec(1, RRS("sub.example.com. 3600 DS 12345 8 2 "
	                  "0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF"));
	expect_sec(2, NONE);
	ask(zone_rich, "nog.example.com.", "DS", 0);
	expect_hdr(CDNS_RCODE_NOERROR, 1, 0);
	expect_sec(1, NONE);
	expect_sec(2, RRS(SOA_NEG));
	/* Below the cut, DS is the child's: a referral. */
	ask(zone_rich, "x.sub.example.com.", "DS", 0);
	expect_hdr(CDNS_RCODE_NOERROR, 0, 0);
	expect_sec(2, RRS(SUB_NS));
}

static void test_referral_glue_truncation(void **state)
{
	/* In-bailiwick glue that does not fit: TC (RFC 9471 §3). */
	ask(zone_rich, "www.fat.example.com.", "A", 0);
	expect_hdr(CDNS_RCODE_NOERROR, 0, 1);
	assert_int_equal(R.n[2], 12);
	assert_int_equal(R.n[3], 8); /* what fits, as Knot */
	/* With room, everything. */
	ask(zone_rich, "www.fat.example.com.", "A", 4096);
	expect_hdr(CDNS_RCODE_NOERROR, 0, 0);
	assert_int_equal(R.n[3], 12);
	/* Sibling glue that does not fit is left out without TC. */
	ask(zone_rich, "www.sib.example.com.", "A", 0);
	expect_hdr(CDNS_RCODE_NOERROR, 0, 0);
	assert_int_equal(R.n[2], 12);
	assert_int_equal(R.n[3], 9); /* what fits, as Knot */
	assert_true(Q.resp.len <= 512);
}

/* ---------------------------------------------------------------------------------------- */
/* DNAME (RFC 6672)                                                                           */

static void test_dname(void **state)
{
	ask(zone_rich, "x.dn.example.com.", "A", 0);
	expect_hdr(CDNS_RCODE_NOERROR, 1, 0);
	expect_sec(1, RRS("dn.example.com. 3600 DNAME target.example.com.",
	                  "x.dn.example.com. 3600 CNAME x.target.example.com.",
	                  "x.target.example.com. 3600 A 192.0.2.77"));
	/* The target does not exist: NXDOMAIN for it (RFC 6604). */
	ask(zone_rich, "y.dn.example.com.", "A", 0);
	expect_hdr(CDNS_RCODE_NXDOMAIN, 1, 0);
	expect_sec(1, RRS("dn.example.com. 3600 DNAME target.example.com.",
	                  "y.dn.example.com. 3600 CNAME y.target.example.com."));
	expect_sec(2, RRS(SOA_NEG));
	/* Asking for CNAME: the synthesized CNAME is the answer. */
	ask(zone_rich, "x.dn.example.com.", "CNAME", 0);
	expect_sec(1, RRS("dn.example.com. 3600 DNAME target.example.com.",
	                  "x.dn.example.com. 3600 CNAME x.target.example.com."));
	/* The DNAME owner itself is not redirected. */
	ask(zone_rich, "dn.example.com.", "A", 0);
	expect_hdr(CDNS_RCODE_NOERROR, 1, 0);
	expect_sec(1, NONE);
	expect_sec(2, RRS(SOA_NEG));
	ask(zone_rich, "dn.example.com.", "DNAME", 0);
	expect_sec(1, RRS("dn.example.com. 3600 DNAME target.example.com."));
	/* Out of the zone: the synthesized CNAME has the DNAME's TTL; the chain stops. */
	ask(zone_rich, "a.b.dnout.example.com.", "A", 0);
	expect_hdr(CDNS_RCODE_NOERROR, 1, 0);
	expect_sec(1, RRS("dnout.example.com. 1800 DNAME example.net.",
	                  "a.b.dnout.example.com. 1800 CNAME a.b.example.net."));
	expect_sec(2, NONE);
}

static void test_dname_yxdomain(void **state)
{
	/* 51 + 208 octets: too long (RFC 6672 §2.2). */
	ask(zone_rich, "abcdefghijabcdefghijabcdefghijabcdefghijabcdefghij.dlong.example.com.", "A",
	    0);
	expect_hdr(CDNS_RCODE_YXDOMAIN, 1, 0);
	assert_int_equal(R.n[1], 1);
	assert_true(strncasecmp(R.rr[1][0], "dlong.example.com. 3600 DNAME", 29) == 0);
	expect_sec(2, NONE);
	/* A short prefix fits. */
	ask(zone_rich, "x.dlong.example.com.", "A", 0);
	expect_hdr(CDNS_RCODE_NOERROR, 1, 0);
	assert_int_equal(R.n[1], 2);
}

/* ---------------------------------------------------------------------------------------- */
/* Wildcards (RFC 4592)                                                                       */

static void test_wildcard(void **state)
{
	ask(zone_rich, "foo.wild.example.com.", "A", 0);
	expect_hdr(CDNS_RCODE_NOERROR, 1, 0);
	expect_sec(1, RRS("foo.wild.example.com. 3600 A 192.0.2.99"));
	ask(zone_rich, "a.b.wild.example.com.", "TXT", 0);
	expect_sec(1, RRS("a.b.wild.example.com. 3600 TXT \"wild\""));
	ask(zone_rich, "foo.wild.example.com.", "AAAA", 0);
	expect_hdr(CDNS_RCODE_NOERROR, 1, 0);
	expect_sec(1, NONE);
	expect_sec(2, RRS(SOA_NEG));
	/* The wildcard's own name answers literally. */
	ask(zone_rich, "*.wild.example.com.", "A", 0);
	expect_sec(1, RRS("*.wild.example.com. 3600 A 192.0.2.99"));
	/* The wildcard's parent exists (an ENT): NODATA, no synthesis. */
	ask(zone_rich, "wild.example.com.", "A", 0);
	expect_hdr(CDNS_RCODE_NOERROR, 1, 0);
	expect_sec(1, NONE);
	/* A wildcard CNAME is followed, the owner rewritten (RFC 4592 §2.1.3). */
	ask(zone_rich, "foo.cw.example.com.", "A", 0);
	expect_hdr(CDNS_RCODE_NOERROR, 1, 0);
	expect_sec(1, RRS("foo.cw.example.com. 300 CNAME www.example.com.",
	                  "www.example.com. 3600 A 192.0.2.10"));
}

/* RFC 4592 §2.2.1: the example zone and its listed queries. */
#define SOA4592 "example. 300 SOA ns.example.com. hostmaster.example.com. 1 3600 600 86400 300"

static void test_rfc4592_synthesized(void **state)
{
	ask(zone_4592, "host3.example.", "MX", 0);
	expect_hdr(CDNS_RCODE_NOERROR, 1, 0);
	expect_sec(1, RRS("host3.example. 3600 MX 10 host1.example."));
	expect_sec(2, NONE);
	expect_sec(3, RRS("host1.example. 3600 A 192.0.2.1"));

	/* "no error, but no data": no A at *.example. */
	ask(zone_4592, "host3.example.", "A", 0);
	expect_hdr(CDNS_RCODE_NOERROR, 1, 0);
	expect_sec(1, NONE);
	expect_sec(2, RRS(SOA4592));

	/* bar.example. does not exist, the wildcard does. */
	ask(zone_4592, "foo.bar.example.", "TXT", 0);
	expect_hdr(CDNS_RCODE_NOERROR, 1, 0);
	expect_sec(1, RRS("foo.bar.example. 3600 TXT \"this is a wildcard\""));
}

static void test_rfc4592_not_synthesized(void **state)
{
	/* host1.example. exists. */
	ask(zone_4592, "host1.example.", "MX", 0);
	expect_hdr(CDNS_RCODE_NOERROR, 1, 0);
	expect_sec(1, NONE);
	expect_sec(2, RRS(SOA4592));

	/* sub.*.example. exists. */
	ask(zone_4592, "sub.*.example.", "MX", 0);
	expect_hdr(CDNS_RCODE_NOERROR, 1, 0);
	expect_sec(1, NONE);
	expect_sec(2, RRS(SOA4592));

	/* _tcp.host1.example. exists (without data): the closest encloser blocks *.example. */
	ask(zone_4592, "_telnet._tcp.host1.example.", "SRV", 0);
	expect_hdr(CDNS_RCODE_NXDOMAIN, 1, 0);
	expect_sec(1, NONE);
	expect_sec(2, RRS(SOA4592));

	/* subdel.example. exists and is a zone cut. */
	ask(zone_4592, "host.subdel.example.", "A", 0);
	expect_hdr(CDNS_RCODE_NOERROR, 0, 0);
	expect_sec(1, NONE);
	expect_sec(2, RRS("subdel.example. 3600 NS ns.example.com.",
	                  "subdel.example. 3600 NS ns.example.net."));
	expect_sec(3, NONE);

	/* *.example. exists: the source of synthesis would be *.*.example. */
	ask(zone_4592, "ghost.*.example.", "MX", 0);
	expect_hdr(CDNS_RCODE_NXDOMAIN, 1, 0);
	expect_sec(1, NONE);
	expect_sec(2, RRS(SOA4592));

	/* And the ENT _tcp.host1.example. itself: NODATA. */
	ask(zone_4592, "_tcp.host1.example.", "SRV", 0);
	expect_hdr(CDNS_RCODE_NOERROR, 1, 0);
	expect_sec(2, RRS(SOA4592));
}

/* ---------------------------------------------------------------------------------------- */
/* Sizes                                                                                      */

/* Each of these was checked against Knot DNS 3.2 serving the same zone. */
static void test_edge_cases(void **state)
{
	/* RFC 4592 §4.2: NS at a wildcard is a cut for the names it synthesizes (as Knot). */
	ask(zone_rich, "a.wdeleg.example.com.", "A", 0);
	expect_hdr(CDNS_RCODE_NOERROR, 0, 0);
	expect_sec(1, NONE);
	expect_sec(2, RRS("*.wdeleg.example.com. 3600 NS ns1.example.com."));
	expect_sec(3, RRS("ns1.example.com. 3600 A 192.0.2.1"));
	ask(zone_rich, "a.wdeleg.example.com.", "DS", 0);
	expect_hdr(CDNS_RCODE_NOERROR, 1, 0);
	expect_sec(2, RRS(SOA_NEG));
	ask(zone_rich, "*.wdeleg.example.com.", "A", 0);
	expect_hdr(CDNS_RCODE_NOERROR, 0, 0);
	expect_sec(2, RRS("*.wdeleg.example.com. 3600 NS ns1.example.com."));
	/* Glue serves as additional data for an MX target below a cut. */
	ask(zone_rich, "mxglue.example.com.", "MX", 0);
	expect_hdr(CDNS_RCODE_NOERROR, 1, 0);
	expect_sec(3, RRS("ns.sub.example.com. 3600 A 192.0.2.53"));
	/* ANY at a synthesized name: one RRset, owner rewritten. */
	ask(zone_rich, "foo.wild.example.com.", "ANY", 0);
	expect_sec(1, RRS("foo.wild.example.com. 3600 A 192.0.2.99"));
	/* A CNAME into a wildcard. */
	ask(zone_rich, "alias2.example.com.", "A", 0);
	expect_hdr(CDNS_RCODE_NOERROR, 1, 0);
	expect_sec(1, RRS("alias2.example.com. 300 CNAME foo.wild.example.com.",
	                  "foo.wild.example.com. 3600 A 192.0.2.99"));
	ask(zone_rich, "alias2.example.com.", "ANY", 0);
	expect_sec(1, RRS("alias2.example.com. 300 CNAME foo.wild.example.com."));
	/* Types the name lacks, NS below the apex included: NODATA. */
	ask(zone_rich, "www.example.com.", "RRSIG", 0);
	expect_hdr(CDNS_RCODE_NOERROR, 1, 0);
	expect_sec(2, RRS(SOA_NEG));
	ask(zone_rich, "www.example.com.", "NS", 0);
	expect_hdr(CDNS_RCODE_NOERROR, 1, 0);
	expect_sec(2, RRS(SOA_NEG));
	ask(zone_rich, "nx.example.com.", "ANY", 0);
	expect_hdr(CDNS_RCODE_NXDOMAIN, 1, 0);
	expect_sec(2, RRS(SOA_NEG));
}

static void test_truncation(void **state)
{
	/* 3 TXT records of 200+ bytes: more than 512 without EDNS. RRsets are never split. */
	ask(zone_rich, "big.example.com.", "TXT", 0);
	expect_hdr(CDNS_RCODE_NOERROR, 1, 1);
	expect_sec(1, NONE);
	expect_sec(2, NONE);
	expect_sec(3, NONE);
	ask(zone_rich, "big.example.com.", "TXT", 1232);
	expect_hdr(CDNS_RCODE_NOERROR, 1, 0);
	assert_int_equal(R.n[1], 3);
	/* The CNAME fits, its target's RRset does not: whole RRsets that fit stay. */
	ask(zone_rich, "tobig.example.com.", "TXT", 0);
	expect_hdr(CDNS_RCODE_NOERROR, 1, 1);
	expect_sec(1, RRS("tobig.example.com. 300 CNAME big.example.com."));
	expect_sec(2, NONE);
}

static void test_not_in_zone(void **state)
{
	make_query("www.example.org.", CDNS_T_A, 0);
	assert_int_equal(cdns_zone_answer(zone_rich, &Q), CDNS_EINVAL);
	make_query("com.", CDNS_T_A, 0);
	assert_int_equal(cdns_zone_answer(zone_rich, &Q), CDNS_EINVAL);
	assert_int_equal(cdns_zone_answer(NULL, &Q), CDNS_EINVAL);
	assert_int_equal(cdns_zone_answer(zone_rich, NULL), CDNS_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_exact),
	    cmocka_unit_test(test_client_case_and_compression),
	    cmocka_unit_test(test_nodata),
	    cmocka_unit_test(test_nxdomain),
	    cmocka_unit_test(test_ent),
	    cmocka_unit_test(test_apex),
	    cmocka_unit_test(test_mx_srv_additional),
	    cmocka_unit_test(test_any),
	    cmocka_unit_test(test_cname),
	    cmocka_unit_test(test_cname_chain),
	    cmocka_unit_test(test_cname_loop),
	    cmocka_unit_test(test_cname_chain_limit),
	    cmocka_unit_test(test_cname_rfc6604),
	    cmocka_unit_test(test_cname_to_delegation),
	    cmocka_unit_test(test_referral),
	    cmocka_unit_test(test_ds_at_cut),
	    cmocka_unit_test(test_referral_glue_truncation),
	    cmocka_unit_test(test_dname),
	    cmocka_unit_test(test_dname_yxdomain),
	    cmocka_unit_test(test_wildcard),
	    cmocka_unit_test(test_rfc4592_synthesized),
	    cmocka_unit_test(test_rfc4592_not_synthesized),
	    cmocka_unit_test(test_edge_cases),
	    cmocka_unit_test(test_truncation),
	    cmocka_unit_test(test_not_in_zone),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
