/* Master-file reader (clouddns/zonefile.h): every feature with exact owners, TTLs, types and
 * RDATA octets, a table of errors with exact positions and texts, $INCLUDE over temporary
 * files, $GENERATE, and a larger file read in blocks. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <clouddns/error.h>
#include <clouddns/name.h>
#include <clouddns/rrtype.h>
#include <clouddns/zonefile.h>

typedef struct rec {
	char owner[CDNS_NAME_MAXTEXT];
	uint16_t type, rclass;
	uint32_t ttl;
	char rdhex[2 * 512 + 1];
	unsigned line;
	char file[PATH_MAX];
} rec_t;

typedef struct coll {
	rec_t *r;
	size_t n, cap;
	char warn[8][320];
	unsigned nwarn;
	size_t stop_after; /* 0: never */
	int stop_value;
} coll_t;

static int collect(void *ctx, const cdns_zf_rr_t *rr)
{
	coll_t *c = ctx;
	rec_t *r;

	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 16;
		c->r = realloc(c->r, c->cap * sizeof(*c->r));
		assert_non_null(c->r);
	}
	r = &c->r[c->n++];
	assert_true(cdns_name_to_text(rr->owner, r->owner, sizeof(r->owner)) > 0);
	r->type = rr->type;
	r->rclass = rr->rclass;
	r->ttl = rr->ttl;
	r->line = rr->line;
	snprintf(r->file, sizeof(r->file), "%s", rr->file);
	r->rdhex[0] = '\0';
	if (rr->rdlen <= 512)
		for (size_t i = 0; i < rr->rdlen; i++)
			snprintf(r->rdhex + 2 * i, 3, "%02x", rr->rdata[i]);
	else
		snprintf(r->rdhex, sizeof(r->rdhex), "(%u octets)", rr->rdlen);
	if (c->stop_after != 0 && c->n == c->stop_after)
		return c->stop_value;
	return 0;
}

static void on_warn(void *ctx, const cdns_zf_msg_t *m)
{
	coll_t *c = ctx;

	if (c->nwarn < 8)
		snprintf(c->warn[c->nwarn], sizeof(c->warn[0]), "%s:%u:%u: %s", m->file, m->line,
		         m->col, m->text);
	c->nwarn++;
}

static uint8_t origin_com[CDNS_NAME_MAXLEN];

static void opts_init(cdns_zf_opts_t *o)
{
	memset(o, 0, sizeof(*o));
	assert_true(cdns_name_from_text("example.com.", 12, NULL, origin_com) > 0);
	o->origin = origin_com;
	o->warn = on_warn;
}

static int load_opts(coll_t *c, const char *text, const cdns_zf_opts_t *o, cdns_zf_msg_t *err)
{
	memset(c, 0, sizeof(*c));
	return cdns_zonefile_read_buf(text, strlen(text), "t.zone", o, collect, c, err);
}

static int load(coll_t *c, const char *text, cdns_zf_msg_t *err)
{
	cdns_zf_opts_t o;

	opts_init(&o);
	return load_opts(c, text, &o, err);
}

/* Load text that must be good. */
static void load_ok(coll_t *c, const char *text)
{
	cdns_zf_msg_t err;
	int r = load(c, text, &err);

	if (r != 0)
		print_error("unexpected error %d %s:%u:%u: [%s] %s\n", r, err.file, err.line,
		            err.col, err.token, err.text);
	assert_int_equal(r, 0);
}

static void coll_free(coll_t *c)
{
	free(c->r);
	c->r = NULL;
	c->n = 0;
}

static void check_rr(const coll_t *c, size_t i, const char *owner, uint32_t ttl, uint16_t type,
                     const char *rdhex)
{
	assert_true(i < c->n);
	assert_string_equal(c->r[i].owner, owner);
	assert_int_equal(c->r[i].ttl, ttl);
	assert_int_equal(c->r[i].type, type);
	assert_int_equal(c->r[i].rclass, CDNS_C_IN);
	assert_string_equal(c->r[i].rdhex, rdhex);
}

/* Wire forms used below (RFC 1035 §3.3). */
#define W_EXAMPLE_COM "076578616d706c6503636f6d00"
#define W_NS1         "036e7331" W_EXAMPLE_COM
#define W_SOA_BIND                                                                                 \
	W_NS1 "0a686f73746d6173746572" W_EXAMPLE_COM "78a3f17500002a300000038400093a8000000e10"

/* ---------------------------------------------------------------------------------------- */

static void test_bind_style_zone(void **state)
{
	static const char zone[] =
	    "; BIND-style zone\n"
	    "$TTL 1D\n"
	    "@\tIN\tSOA\tns1.example.com. hostmaster.example.com. (\n"
	    "\t\t\t\t2024010101\t; serial\n"
	    "\t\t\t\t10800\t\t; refresh (3 hours)\n"
	    "\t\t\t\t900\t\t; retry (15 minutes)\n"
	    "\t\t\t\t604800\t\t; expire (1 week)\n"
	    "\t\t\t\t3600 )\t\t; minimum (1 hour)\n"
	    "\t\tIN\tNS\tns1\n"
	    "\t\tIN\tNS\tns2.example.net.\n"
	    "\tIN\tMX\t10 mail\n"
	    "ns1\tIN\tA\t192.0.2.1\n"
	    "mail\t3600\tIN\tA\t192.0.2.25\n"
	    "www\tIN\tCNAME\t@\n"
	    "a\\.b\tIN\tA\t192.0.2.3\n"
	    "\\032x\tIN\tA\t192.0.2.4\n"
	    "ftp\t1h30m\tA\t192.0.2.5\n"
	    "txt\tTXT\t\"hello world\" \"a\\\"b\" \"foo;bar\"  ; three strings\n"
	    "v6\tIN 2W\tAAAA\t2001:db8::1\n";
	coll_t c;

	(void)state;
	load_ok(&c, zone);
	assert_int_equal(c.n, 12);
	check_rr(&c, 0, "example.com.", 86400, CDNS_T_SOA, W_SOA_BIND);
	assert_int_equal(c.r[0].line, 3);
	check_rr(&c, 1, "example.com.", 86400, CDNS_T_NS, W_NS1);
	assert_int_equal(c.r[1].line, 9);
	check_rr(&c, 2, "example.com.", 86400, CDNS_T_NS, "036e7332076578616d706c65036e657400");
	check_rr(&c, 3, "example.com.", 86400, CDNS_T_MX, "000a046d61696c" W_EXAMPLE_COM);
	check_rr(&c, 4, "ns1.example.com.", 86400, CDNS_T_A, "c0000201");
	check_rr(&c, 5, "mail.example.com.", 3600, CDNS_T_A, "c0000219");
	check_rr(&c, 6, "www.example.com.", 86400, CDNS_T_CNAME, W_EXAMPLE_COM);
	check_rr(&c, 7, "a\\.b.example.com.", 86400, CDNS_T_A, "c0000203");
	check_rr(&c, 8, "\\ x.example.com.", 86400, CDNS_T_A, "c0000204");
	check_rr(&c, 9, "ftp.example.com.", 5400, CDNS_T_A, "c0000205");
	check_rr(&c, 10, "txt.example.com.", 86400, CDNS_T_TXT,
	         "0b68656c6c6f20776f726c640361226207666f6f3b626172");
	check_rr(&c, 11, "v6.example.com.", 1209600, CDNS_T_AAAA,
	         "20010db8000000000000000000000001");
	assert_int_equal(c.r[11].line, 19);
	assert_string_equal(c.r[11].file, "t.zone");
	assert_int_equal(c.nwarn, 0);
	coll_free(&c);
}

static void test_knot_style_zone(void **state)
{
	static const char zone[] =
	    "$ORIGIN example.org.\n"
	    "$TTL 3600\n"
	    "example.org.      3600 IN  SOA ns.example.org. admin.example.org. (\n"
	    "                      1      ; serial\n"
	    "                      3600   ; refresh\n"
	    "                      600    ; retry\n"
	    "                      86400  ; expire\n"
	    "                      300 )  ; minimum\n"
	    "example.org.      IN  NS   ns\n"
	    "ns                IN  A    192.0.2.53\n"
	    "ns            600 IN  AAAA 2001:db8::53\n"
	    "www           IN 600 A    192.0.2.80\n"
	    "_sip._udp         SRV  0 5 5060 sip.example.com.\n"
	    "text              TXT  \"v=spf1 -all\"\n"
	    "lower             in txt \"x\"\n";
	coll_t c;

	(void)state;
	load_ok(&c, zone);
	assert_int_equal(c.n, 8);
	check_rr(&c, 0, "example.org.", 3600, CDNS_T_SOA,
	         "026e73076578616d706c65036f7267000561646d696e076578616d706c65036f7267000000000100"
	         "000e1000000258000151800000012c");
	check_rr(&c, 1, "example.org.", 3600, CDNS_T_NS, "026e73076578616d706c65036f726700");
	check_rr(&c, 2, "ns.example.org.", 3600, CDNS_T_A, "c0000235");
	check_rr(&c, 3, "ns.example.org.", 600, CDNS_T_AAAA, "20010db8000000000000000000000053");
	check_rr(&c, 4, "www.example.org.", 600, CDNS_T_A, "c0000250");
	check_rr(&c, 5, "_sip._udp.example.org.", 3600, CDNS_T_SRV,
	         "0000000513c403736970" W_EXAMPLE_COM);
	check_rr(&c, 6, "text.example.org.", 3600, CDNS_T_TXT, "0b763d73706631202d616c6c");
	check_rr(&c, 7, "lower.example.org.", 3600, CDNS_T_TXT, "0178");
	coll_free(&c);
}

static void test_origin(void **state)
{
	static const char zone[] = "$TTL 1\n"
	                           "a A 192.0.2.1\n"
	                           "$ORIGIN sub\n" /* relative to example.com. */
	                           "b A 192.0.2.2\n"
	                           "@ A 192.0.2.3\n"
	                           "$ORIGIN deeper.sub.example.com.\n"
	                           "c.d A 192.0.2.4\n"
	                           "abs.example. A 192.0.2.5\n"
	                           "$origin other.test.\n" /* directives are case-insensitive */
	                           "x CNAME y\n"
	                           ". A 192.0.2.6\n";
	coll_t c;

	(void)state;
	load_ok(&c, zone);
	assert_int_equal(c.n, 7);
	check_rr(&c, 0, "a.example.com.", 1, CDNS_T_A, "c0000201");
	check_rr(&c, 1, "b.sub.example.com.", 1, CDNS_T_A, "c0000202");
	check_rr(&c, 2, "sub.example.com.", 1, CDNS_T_A, "c0000203");
	check_rr(&c, 3, "c.d.deeper.sub.example.com.", 1, CDNS_T_A, "c0000204");
	check_rr(&c, 4, "abs.example.", 1, CDNS_T_A, "c0000205");
	check_rr(&c, 5, "x.other.test.", 1, CDNS_T_CNAME, "0179056f74686572047465737400");
	check_rr(&c, 6, ".", 1, CDNS_T_A, "c0000206");
	coll_free(&c);
}

static void test_ttl_units(void **state)
{
	static const char zone[] = "a 0 A 192.0.2.1\n"
	                           "a 1h30m A 192.0.2.1\n"
	                           "a 2w A 192.0.2.1\n"
	                           "a 1D A 192.0.2.1\n"
	                           "a 1d2h3m4s A 192.0.2.1\n"
	                           "a 1H1M A 192.0.2.1\n"
	                           "a 90s A 192.0.2.1\n"
	                           "a 2147483647 A 192.0.2.1\n"
	                           "a 1h30 A 192.0.2.1\n"
	                           "$TTL 3w\n"
	                           "a A 192.0.2.1\n";
	static const uint32_t want[] = {0,    5400, 1209600,    86400, 93784,
	                                3660, 90,   2147483647, 3630,  1814400};
	coll_t c;

	(void)state;
	load_ok(&c, zone);
	assert_int_equal(c.n, 10);
	for (size_t i = 0; i < c.n; i++)
		assert_int_equal(c.r[i].ttl, want[i]);
	coll_free(&c);
}

static void test_ttl_defaults(void **state)
{
	cdns_zf_opts_t o;
	cdns_zf_msg_t err;
	coll_t c;

	(void)state;
	/* RFC 2308 §4: $TTL applies to every later record without a TTL, even after an explicit
	 * one. */
	load_ok(&c, "$TTL 1h\na A 192.0.2.1\nb 60 A 192.0.2.2\nc A 192.0.2.3\n$TTL 120\nd A "
	            "192.0.2.4\n");
	assert_int_equal(c.n, 4);
	assert_int_equal(c.r[0].ttl, 3600);
	assert_int_equal(c.r[1].ttl, 60);
	assert_int_equal(c.r[2].ttl, 3600);
	assert_int_equal(c.r[3].ttl, 120);
	assert_int_equal(c.nwarn, 0);
	coll_free(&c);

	/* Without $TTL: the last explicit TTL (RFC 1035 §5.1), with one warning. */
	load_ok(&c, "a 60 A 192.0.2.1\nb A 192.0.2.2\nc A 192.0.2.3\nd 30 A 192.0.2.4\ne A "
	            "192.0.2.5\n");
	assert_int_equal(c.n, 5);
	assert_int_equal(c.r[1].ttl, 60);
	assert_int_equal(c.r[2].ttl, 60);
	assert_int_equal(c.r[4].ttl, 30);
	assert_int_equal(c.nwarn, 1);
	assert_string_equal(
	    c.warn[0], "t.zone:2:3: no $TTL: using the last explicit TTL 60 (RFC 1035 semantics)");
	coll_free(&c);

	/* opts->default_ttl when nothing else is known. */
	opts_init(&o);
	o.default_ttl = 7200;
	assert_int_equal(
	    load_opts(&c, "a A 192.0.2.1\nb 60 A 192.0.2.2\nc A 192.0.2.3\n", &o, &err), 0);
	assert_int_equal(c.n, 3);
	assert_int_equal(c.r[0].ttl, 7200);
	assert_int_equal(c.r[1].ttl, 60);
	assert_int_equal(c.r[2].ttl, 60);
	coll_free(&c);

	/* Nothing at all: the SOA MINIMUM, as BIND does, with one warning. */
	load_ok(&c, "@ SOA ns1 hostmaster 1 2 3 4 900\na A 192.0.2.1\nb 60 A 192.0.2.2\nc A "
	            "192.0.2.3\n");
	assert_int_equal(c.n, 4);
	assert_int_equal(c.r[0].ttl, 900);
	assert_int_equal(c.r[1].ttl, 900);
	assert_int_equal(c.r[2].ttl, 60);
	assert_int_equal(c.r[3].ttl, 900);
	assert_int_equal(c.nwarn, 1);
	assert_string_equal(c.warn[0],
	                    "t.zone:1:3: no $TTL: using the SOA MINIMUM 900 as default TTL");
	coll_free(&c);

	/* An explicit SOA TTL is just an explicit TTL. */
	load_ok(&c, "@ 300 SOA ns1 hostmaster 1 2 3 4 900\na A 192.0.2.1\n");
	assert_int_equal(c.r[1].ttl, 300);
	coll_free(&c);
}

static void test_owner_omitted(void **state)
{
	static const char zone[] = "$TTL 5\n"
	                           "a A 192.0.2.1\n"
	                           "\tA 192.0.2.2\n"
	                           "  AAAA ::1\n"
	                           "\n"
	                           "; a comment line does not reset the owner\n"
	                           "   ; nor does an indented one\n"
	                           "\t60 TXT x\n"
	                           "b A 192.0.2.3\n"
	                           " IN A 192.0.2.4\n";
	coll_t c;

	(void)state;
	load_ok(&c, zone);
	assert_int_equal(c.n, 6);
	check_rr(&c, 0, "a.example.com.", 5, CDNS_T_A, "c0000201");
	check_rr(&c, 1, "a.example.com.", 5, CDNS_T_A, "c0000202");
	check_rr(&c, 2, "a.example.com.", 5, CDNS_T_AAAA, "00000000000000000000000000000001");
	check_rr(&c, 3, "a.example.com.", 60, CDNS_T_TXT, "0178");
	assert_int_equal(c.r[3].line, 8);
	check_rr(&c, 4, "b.example.com.", 5, CDNS_T_A, "c0000203");
	check_rr(&c, 5, "b.example.com.", 5, CDNS_T_A, "c0000204");
	coll_free(&c);
}

static void test_class(void **state)
{
	cdns_zf_opts_t o;
	cdns_zf_msg_t err;
	coll_t c;

	(void)state;
	load_ok(&c, "a 1 IN A 192.0.2.1\nb IN 1 A 192.0.2.2\nc 1 CLASS1 A 192.0.2.3\nd 1 A "
	            "192.0.2.4\n");
	assert_int_equal(c.n, 4);
	for (size_t i = 0; i < 4; i++)
		assert_int_equal(c.r[i].rclass, CDNS_C_IN);
	coll_free(&c);

	/* The zone class comes from the options, and is the only one accepted. */
	opts_init(&o);
	o.rclass = CDNS_C_CH;
	assert_int_equal(load_opts(&c, "a 1 CH TXT x\nb 1 TXT y\nc 1 IN TXT z\n", &o, &err),
	                 CDNS_ESYNTAX);
	assert_int_equal(c.n, 2);
	assert_int_equal(c.r[0].rclass, CDNS_C_CH);
	assert_int_equal(c.r[1].rclass, CDNS_C_CH);
	assert_int_equal(err.line, 3);
	assert_int_equal(err.col, 5);
	assert_string_equal(err.token, "IN");
	assert_string_equal(err.text, "class IN does not match the zone class CH");
	coll_free(&c);
}

static void test_types_and_generic(void **state)
{
	static const char zone[] = "$TTL 1\n"
	                           "a TYPE1 192.0.2.1\n"
	                           "b a 192.0.2.2\n"
	                           "c A \\# 4 c0000203\n"
	                           "d TYPE65280 \\# 3 abcdef\n"
	                           "e TYPE65280 \\# 3 ( ab\n cd ef )\n"
	                           "f CLASS1 TYPE16 \\# 2 0178\n"
	                           "g MX ( 20\n mx.example.net. )\n";
	coll_t c;

	(void)state;
	load_ok(&c, zone);
	assert_int_equal(c.n, 7);
	check_rr(&c, 0, "a.example.com.", 1, CDNS_T_A, "c0000201");
	check_rr(&c, 1, "b.example.com.", 1, CDNS_T_A, "c0000202");
	check_rr(&c, 2, "c.example.com.", 1, CDNS_T_A, "c0000203");
	check_rr(&c, 3, "d.example.com.", 1, 65280, "abcdef");
	check_rr(&c, 4, "e.example.com.", 1, 65280, "abcdef");
	check_rr(&c, 5, "f.example.com.", 1, CDNS_T_TXT, "0178");
	check_rr(&c, 6, "g.example.com.", 1, CDNS_T_MX, "0014026d78076578616d706c65036e657400");
	coll_free(&c);
}

static void test_quotes_comments_escapes(void **state)
{
	static const char zone[] =
	    "$TTL 1\n"
	    "a TXT \"semi;colon\" \"(paren)\" \"tab\\009\" \"\\\\\" ; comment \"with quotes\"\n"
	    "b TXT \"\\065\\066C\" x\\ y\n"
	    "WwW A 192.0.2.1 ; owner case is kept\n"
	    "sp\\ ace A 192.0.2.2\n"
	    "\\@ A 192.0.2.3\n"
	    "\\$d A 192.0.2.4\n"
	    "x\\(y A 192.0.2.5\n";
	coll_t c;

	(void)state;
	load_ok(&c, zone);
	assert_int_equal(c.n, 7);
	check_rr(&c, 0, "a.example.com.", 1, CDNS_T_TXT,
	         "0a73656d693b636f6c6f6e0728706172656e290474616209015c");
	check_rr(&c, 1, "b.example.com.", 1, CDNS_T_TXT, "0341424303782079");
	check_rr(&c, 2, "WwW.example.com.", 1, CDNS_T_A, "c0000201");
	check_rr(&c, 3, "sp\\ ace.example.com.", 1, CDNS_T_A, "c0000202");
	check_rr(&c, 4, "\\@.example.com.", 1, CDNS_T_A, "c0000203");
	check_rr(&c, 5, "\\$d.example.com.", 1, CDNS_T_A, "c0000204");
	check_rr(&c, 6, "x\\(y.example.com.", 1, CDNS_T_A, "c0000205");
	coll_free(&c);
}

static void test_parentheses(void **state)
{
	static const char zone[] = "$TTL 1\n"
	                           "a TXT ( \"x\" ; one\n"
	                           "        \"y\" ) ; two\n"
	                           "b TXT ((\"p\") \"q\")\n"
	                           "c ( 60\n IN\n A\n 192.0.2.1 )\n"
	                           "d A 192.0.2.2\n";
	coll_t c;

	(void)state;
	load_ok(&c, zone);
	assert_int_equal(c.n, 4);
	check_rr(&c, 0, "a.example.com.", 1, CDNS_T_TXT, "01780179");
	assert_int_equal(c.r[0].line, 2);
	check_rr(&c, 1, "b.example.com.", 1, CDNS_T_TXT, "01700171");
	check_rr(&c, 2, "c.example.com.", 60, CDNS_T_A, "c0000201");
	check_rr(&c, 3, "d.example.com.", 1, CDNS_T_A, "c0000202");
	assert_int_equal(c.r[3].line, 9);
	coll_free(&c);
}

static void test_crlf_tabs_last_line(void **state)
{
	static const char zone[] = "$TTL 1\r\n"
	                           "a\t1\tIN\tA\t192.0.2.1\r\n"
	                           "\tA\t192.0.2.2 ; comment\r\n"
	                           "\r\n"
	                           "b TXT ( \"x\"\r\n \"y\" )\r\n"
	                           "c A 192.0.2.3";
	coll_t c;

	(void)state;
	load_ok(&c, zone);
	assert_int_equal(c.n, 4);
	check_rr(&c, 0, "a.example.com.", 1, CDNS_T_A, "c0000201");
	check_rr(&c, 1, "a.example.com.", 1, CDNS_T_A, "c0000202");
	check_rr(&c, 2, "b.example.com.", 1, CDNS_T_TXT, "01780179");
	check_rr(&c, 3, "c.example.com.", 1, CDNS_T_A, "c0000203");
	assert_int_equal(c.r[3].line, 7);
	coll_free(&c);

	/* Empty input, blanks and comments only. */
	load_ok(&c, "");
	assert_int_equal(c.n, 0);
	load_ok(&c, "\n\n   \t\n; nothing\n  ; still nothing");
	assert_int_equal(c.n, 0);
}

static void test_generate(void **state)
{
	coll_t c;
	char want[64];

	(void)state;
	load_ok(&c, "$TTL 300\n$GENERATE 1-10 host$ A 192.0.2.$\n");
	assert_int_equal(c.n, 10);
	for (unsigned i = 0; i < 10; i++) {
		snprintf(want, sizeof(want), "host%u.example.com.", i + 1);
		char hex[9];
		snprintf(hex, sizeof(hex), "c00002%02x", i + 1);
		check_rr(&c, i, want, 300, CDNS_T_A, hex);
		assert_int_equal(c.r[i].line, 2);
	}
	coll_free(&c);

	load_ok(&c, "$TTL 300\n$GENERATE 0-3 ${0,3,x}.rev PTR host-${10,2,d}.example.\n");
	assert_int_equal(c.n, 4);
	check_rr(&c, 0, "000.rev.example.com.", 300, CDNS_T_PTR,
	         "07686f73742d3130076578616d706c6500");
	check_rr(&c, 3, "003.rev.example.com.", 300, CDNS_T_PTR,
	         "07686f73742d3133076578616d706c6500");
	coll_free(&c);

	/* Step. */
	load_ok(&c, "$TTL 300\n$GENERATE 0-10/2 h$ A 10.0.0.$\n");
	assert_int_equal(c.n, 6);
	check_rr(&c, 0, "h0.example.com.", 300, CDNS_T_A, "0a000000");
	check_rr(&c, 5, "h10.example.com.", 300, CDNS_T_A, "0a00000a");
	coll_free(&c);

	/* Every modifier: width, octal, upper hex, negative offset, "$$" and "\$". */
	load_ok(&c, "$TTL 300\n$GENERATE 10-11 ${0,4,X}-${-10}-$$-\\$ CNAME x${1,0,o}\n");
	assert_int_equal(c.n, 2);
	check_rr(&c, 0, "000A-0-\\$-\\$.example.com.", 300, CDNS_T_CNAME, "03783133" W_EXAMPLE_COM);
	check_rr(&c, 1, "000B-1-\\$-\\$.example.com.", 300, CDNS_T_CNAME, "03783134" W_EXAMPLE_COM);
	coll_free(&c);

	/* Nibbles: least significant first, the width counts the dots. */
	load_ok(&c, "$TTL 1\n$GENERATE 18-18 ${0,0,n} A 192.0.2.$\n"
	            "$GENERATE 255-255 ${0,7,N}.ip6 A 192.0.2.$\n"
	            "$GENERATE 1-1 x${0,4,n} A 192.0.2.$\n");
	assert_int_equal(c.n, 3);
	check_rr(&c, 0, "2.1.example.com.", 1, CDNS_T_A, "c0000212");
	check_rr(&c, 1, "F.F.0.0.ip6.example.com.", 1, CDNS_T_A, "c00002ff");
	/* An even width ends with a dot: the name becomes absolute (as in BIND). */
	check_rr(&c, 2, "x1.0.", 1, CDNS_T_A, "c0000201");
	coll_free(&c);

	/* TTL and class, and a quoted rhs with blanks, for any type. */
	load_ok(&c, "$TTL 1\n$GENERATE 1-2 m$ IN 60 MX \"1$ mx$.example.net.\"\n"
	            "$GENERATE 7-7 @ TXT \"v=$\" x\n");
	assert_int_equal(c.n, 3);
	check_rr(&c, 0, "m1.example.com.", 60, CDNS_T_MX, "000b036d7831076578616d706c65036e657400");
	check_rr(&c, 1, "m2.example.com.", 60, CDNS_T_MX, "000c036d7832076578616d706c65036e657400");
	check_rr(&c, 2, "example.com.", 1, CDNS_T_TXT, "03763d370178");
	coll_free(&c);

	/* A long expansion: 25 strings of 200 digits. */
	char z[400];
	size_t o = (size_t)snprintf(z, sizeof(z), "$TTL 1\n$GENERATE 1-2 t$ TXT");
	for (int i = 0; i < 25; i++)
		o += (size_t)snprintf(z + o, sizeof(z) - o, " ${0,200}");
	snprintf(z + o, sizeof(z) - o, "\n");
	load_ok(&c, z);
	assert_int_equal(c.n, 2);
	assert_string_equal(c.r[1].rdhex, "(5025 octets)");
	coll_free(&c);

	/* $GENERATE does not change the current owner. */
	load_ok(&c, "$TTL 1\nown A 192.0.2.1\n$GENERATE 1-1 g$ A 192.0.2.$\n\tA 192.0.2.9\n");
	assert_int_equal(c.n, 3);
	check_rr(&c, 2, "own.example.com.", 1, CDNS_T_A, "c0000209");
	coll_free(&c);
}

static void test_callback_stops(void **state)
{
	cdns_zf_opts_t o;
	cdns_zf_msg_t err;
	coll_t c;
	const char *z = "$TTL 1\na A 192.0.2.1\nb A 192.0.2.2\nc A 192.0.2.3\n";

	(void)state;
	opts_init(&o);
	memset(&c, 0, sizeof(c));
	c.stop_after = 2;
	c.stop_value = 42;
	assert_int_equal(cdns_zonefile_read_buf(z, strlen(z), "t.zone", &o, collect, &c, &err), 42);
	assert_int_equal(c.n, 2);
	coll_free(&c);

	/* Also from $GENERATE. */
	memset(&c, 0, sizeof(c));
	c.stop_after = 3;
	c.stop_value = -100;
	z = "$TTL 1\n$GENERATE 0-2147483647 h$ A 192.0.2.1\n";
	assert_int_equal(cdns_zonefile_read_buf(z, strlen(z), "t.zone", &o, collect, &c, &err),
	                 -100);
	assert_int_equal(c.n, 3);
	coll_free(&c);

	/* No callback: the file is only checked. */
	z = "$TTL 1\na A 192.0.2.1\n";
	assert_int_equal(cdns_zonefile_read_buf(z, strlen(z), NULL, &o, NULL, NULL, &err), 0);
	z = "$TTL 1\na A 192.0.2.1.1\n";
	assert_int_equal(cdns_zonefile_read_buf(z, strlen(z), NULL, &o, NULL, NULL, &err),
	                 CDNS_ESYNTAX);
	assert_string_equal(err.file, "(buffer)");
	assert_int_equal(err.line, 2);
}

/* err and opts->warn may be NULL. */
static void test_no_err_no_warn(void **state)
{
	cdns_zf_opts_t o;
	coll_t c;
	const char *z = "@ SOA ns h 1 2 3 4 5\nb 1 AAA x\n";

	(void)state;
	opts_init(&o);
	o.warn = NULL;
	memset(&c, 0, sizeof(c));
	assert_int_equal(cdns_zonefile_read_buf(z, strlen(z), "t", &o, collect, &c, NULL),
	                 CDNS_ESYNTAX);
	assert_int_equal(c.n, 1);
	assert_int_equal(c.r[0].ttl, 5);
	assert_int_equal(c.nwarn, 0);
	coll_free(&c);
}

static void test_bad_arguments(void **state)
{
	cdns_zf_opts_t o;
	cdns_zf_msg_t err;
	uint8_t bad[CDNS_NAME_MAXLEN] = {0};

	(void)state;
	opts_init(&o);
	assert_int_equal(cdns_zonefile_read_buf("", 0, "x", NULL, collect, NULL, &err),
	                 CDNS_EINVAL);
	o.origin = NULL;
	assert_int_equal(cdns_zonefile_read_buf("", 0, "x", &o, collect, NULL, &err), CDNS_EINVAL);
	bad[0] = 64; /* RFC 1035 §2.3.4: labels are 63 octets at most */
	o.origin = bad;
	assert_int_equal(cdns_zonefile_read_buf("", 0, "x", &o, collect, NULL, &err), CDNS_EINVAL);
	opts_init(&o);
	assert_int_equal(cdns_zonefile_read(NULL, &o, collect, NULL, &err), CDNS_EINVAL);
	assert_int_equal(cdns_zonefile_read("/nonexistent/dir/x.zone", &o, collect, NULL, &err),
	                 CDNS_EIO);
	assert_string_equal(err.file, "/nonexistent/dir/x.zone");
	assert_string_equal(err.text,
	                    "cannot open '/nonexistent/dir/x.zone': No such file or directory");
	assert_int_equal(cdns_zonefile_read("/", &o, collect, NULL, &err), CDNS_EIO);
	assert_string_equal(err.text, "cannot open '/': Is a directory");
}

/* ---------------------------------------------------------------------------------------- */
/* Errors                                                                                     */

typedef struct bad_case {
	const char *text;
	unsigned line, col;
	const char *token;
	const char *msg;  /* exact text */
	const char *rmsg; /* or: a message of the RDATA parser starting with this */
} bad_case_t;

static const bad_case_t bad_cases[] = {
    {"a AAA 1.2.3.4", 1, 3, "AAA", "unknown RR type 'AAA'", NULL},
    {"a 1x A 1.2.3.4", 1, 3, "1x", "bad TTL '1x'", NULL},
    {"a 1h2 2 A 1.2.3.4", 1, 7, "2", "TTL given twice: '2'", NULL},
    {"a h A 1.2.3.4", 1, 3, "h", "unknown RR type 'h'", NULL},
    {"a 2147483648 A 1.2.3.4", 1, 3, "2147483648",
     "bad TTL '2147483648': larger than 2147483647 (RFC 2181 §8)", NULL},
    {"a 99999999999999999999 A 1.2.3.4", 1, 3, "99999999999999999999",
     "bad TTL '99999999999999999999': larger than 2147483647 (RFC 2181 §8)", NULL},
    {"a 4000w A 1.2.3.4", 1, 3, "4000w", "bad TTL '4000w': larger than 2147483647 (RFC 2181 §8)",
     NULL},
    {"$TTL 1x", 1, 6, "1x", "bad TTL '1x'", NULL},
    {"$TTL", 1, 5, "", "missing a TTL after $TTL", NULL},
    {"$TTL 1 2", 1, 8, "2", "unexpected '2' after $TTL", NULL},
    {"$ORIGIN", 1, 8, "", "missing a domain name after $ORIGIN", NULL},
    {"$ORIGIN a..b.", 1, 9, "a..b.", "name: empty label in 'a..b.'", NULL},
    {"$FOO bar", 1, 1, "$FOO", "unknown directive '$FOO'", NULL},
    {" $TTL 5", 1, 2, "$TTL", "directive '$TTL' must start at the beginning of a line", NULL},
    {"a 1 A 1.2.3.4\nb 1 ( A\n 1.2.3.4\n", 2, 5, "(", "missing ')'", NULL},
    {"a 1 TXT ( \"x\"\n( \"y\" )\n", 1, 9, "(", "missing ')'", NULL},
    {"a 1 ) A 1.2.3.4", 1, 5, ")", "')' without '('", NULL},
    {"a 1 TXT \"abc\n\"", 1, 9, "\"abc", "unterminated quoted string", NULL},
    {"a 1 TXT x\"abc", 1, 10, "x\"abc", "unterminated quoted string", NULL},
    {"a 1 A 1.2.3.4 \\", 1, 15, "\\", "backslash at the end of a line", NULL},
    {"a\\\n 1 A 1.2.3.4", 1, 2, "\\", "backslash at the end of a line", NULL},
    {" A 1.2.3.4", 1, 2, "A",
     "no owner name: the line starts with a blank and no record came before", NULL},
    {"$INCLUDE x.zone", 1, 1, "$INCLUDE", "$INCLUDE not allowed here", NULL},
    {"a 1 CH A 1.2.3.4", 1, 5, "CH", "class CH does not match the zone class IN", NULL},
    {"a 1 CLASS3 A 1.2.3.4", 1, 5, "CLASS3", "class CH does not match the zone class IN", NULL},
    {"a 1 IN IN A 1.2.3.4", 1, 8, "IN", "class given twice: 'IN'", NULL},
    {"a 1 TYPE65536 x", 1, 5, "TYPE65536", "unknown RR type 'TYPE65536'", NULL},
    {"a 1 AXFR x", 1, 5, "AXFR", "RR type 'AXFR' cannot appear in a zone file", NULL},
    {"a 1\n", 1, 4, "", "missing RR type", NULL},
    {"a A 1.2.3.4", 1, 3, "A", "no TTL: give one, or a $TTL before this record", NULL},
    {"a..b 1 A 1.2.3.4", 1, 1, "a..b", "name: empty label in 'a..b'", NULL},
    {".a 1 A 1.2.3.4", 1, 1, ".a", "name: empty label in '.a'", NULL},
    {"a\\4 1 A 1.2.3.4", 1, 1, "a\\4", "name: bad escape or character in 'a\\4'", NULL},
    {"a\\999 1 A 1.2.3.4", 1, 1, "a\\999", "name: bad escape or character in 'a\\999'", NULL},
    {"\"q\" 1 A 1.2.3.4", 1, 1, "\"q\"", "name: a quoted string is not a name: '\"q\"'", NULL},
    {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa 1 A 1.2.3.4", 1, 1,
     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...",
     "name: label longer than 63 octets", NULL},
    {"\n\nfoo\t1\tBAD 1", 3, 7, "BAD", "unknown RR type 'BAD'", NULL},
    {"a 1 A 1.2.3.4\r\nb 1 AAA x\r\n", 2, 5, "AAA", "unknown RR type 'AAA'", NULL},
    {"$GENERATE 5-1 a A 1.2.3.4", 1, 11, "5-1", "$GENERATE: bad range '5-1'", NULL},
    {"$GENERATE 1 a A 1.2.3.4", 1, 11, "1", "$GENERATE: bad range '1'", NULL},
    {"$GENERATE 1-2/0 a A 1.2.3.4", 1, 11, "1-2/0", "$GENERATE: bad range '1-2/0'", NULL},
    {"$GENERATE 1-2 a${1,2,q} 1 A 1.2.3.4", 1, 15, "a${1,2,q}",
     "$GENERATE: bad modifier in 'a${1,2,q}'", NULL},
    {"$GENERATE 1-2 a${1 1 A 1.2.3.4", 1, 15, "a${1", "$GENERATE: bad modifier in 'a${1'", NULL},
    {"$GENERATE 0-1 ${-1,0,x} 1 A 1.2.3.4", 1, 15, "${-1,0,x}",
     "$GENERATE: '${-1,0,x}' is negative for 0; only base d shows negative numbers", NULL},
    {"$GENERATE 1-2", 1, 14, "", "$GENERATE needs: range lhs [ttl] [class] type rhs", NULL},
    {"$GENERATE 1-2 a 1 A", 1, 20, "", "$GENERATE: missing rhs", NULL},
    {"$GENERATE 1-2 a 1 AAA x", 1, 19, "AAA", "unknown RR type 'AAA'", NULL},
    {"$GENERATE", 1, 10, "", "missing range after $GENERATE", NULL},
    {"$GENERATE 1- a A 1.2.3.4", 1, 11, "1-", "$GENERATE: bad range '1-'", NULL},
    {"$GENERATE -1 a A 1.2.3.4", 1, 11, "-1", "$GENERATE: bad range '-1'", NULL},
    {"$GENERATE 1-2/ a A 1.2.3.4", 1, 11, "1-2/", "$GENERATE: bad range '1-2/'", NULL},
    {"$GENERATE 1-2-3 a A 1.2.3.4", 1, 11, "1-2-3", "$GENERATE: bad range '1-2-3'", NULL},
    {"$GENERATE 1-9999999999 a A 1.2.3.4", 1, 11, "1-9999999999",
     "$GENERATE: bad range '1-9999999999'", NULL},
    {"$GENERATE 1-2 a${} A 1.2.3.4", 1, 15, "a${}", "$GENERATE: bad modifier in 'a${}'", NULL},
    {"$GENERATE 1-2 a${1,} A 1.2.3.4", 1, 15, "a${1,}", "$GENERATE: bad modifier in 'a${1,}'",
     NULL},
    {"$GENERATE 1-2 a${1,2,} A 1.2.3.4", 1, 15, "a${1,2,}", "$GENERATE: bad modifier in 'a${1,2,}'",
     NULL},
    {"$GENERATE 1-2 a${0,256} A 1.2.3.4", 1, 15, "a${0,256}",
     "$GENERATE: bad modifier in 'a${0,256}'", NULL},
    {"$GENERATE 1-2 a${9999999999} A 1.2.3.4", 1, 15, "a${9999999999}",
     "$GENERATE: bad modifier in 'a${9999999999}'", NULL},
    {"$GENERATE 1-2 a${0,2,d A 1.2.3.4", 1, 15, "a${0,2,d", "$GENERATE: bad modifier in 'a${0,2,d'",
     NULL},
    {"$GENERATE 1-1 ${0,255}${0,255}${0,255}${0,255}${0,255} 1 A 1.2.3.4", 1, 15,
     "${0,255}${0,255}${0,255}${0,255}${0,255}",
     "$GENERATE: '${0,255}${0,255}${0,255}${0,255}${0,255}' expands to too long a text", NULL},
    {"$GENERATE 1-1 a 1 A ${0,3,n}", 1, 21, "${0,3,n}", NULL, "A: "},
    {"a 1hm A 1.2.3.4", 1, 3, "1hm", "bad TTL '1hm'", NULL},
    {"a 596523h848 A 1.2.3.4", 1, 3, "596523h848",
     "bad TTL '596523h848': larger than 2147483647 (RFC 2181 §8)", NULL},
    {"a\\\r\n 1 A 1.2.3.4", 1, 2, "\\", "backslash at the end of a line", NULL},
    {"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx."
     "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx."
     "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx."
     "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx 1 A 1.2.3.4",
     1, 1, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...",
     "name: longer than 255 octets", NULL},
    {"@ SOA ns h 1 2 3 4 2147483648", 1, 3, "SOA",
     "no TTL, and the SOA MINIMUM 2147483648 is larger than 2147483647", NULL},
    {"$INCLUDE", 1, 1, "$INCLUDE", "$INCLUDE not allowed here", NULL},
    /* Messages of the RDATA parser, at the offending RDATA token. */
    {"a 1 A 1.2.3", 1, 7, "1.2.3", NULL, "A: "},
    {"a 1 A 1.2.3.4 ; ok\nb 1 MX 10 mx\tx", 2, 14, "x", NULL, "MX: "},
    {"a 1 A", 1, 6, "", NULL, "A: "},
    {"a 1 TXT (\n\"x\"\n300\"\n", 3, 4, "300\"", "unterminated quoted string", NULL},
    {"$TTL 1\n$GENERATE 1-300 h$ A 192.0.2.$", 2, 22, "192.0.2.$", NULL, "A: "},
};

static void test_errors(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const bad_case_t *b = &bad_cases[i];
		cdns_zf_msg_t err;
		coll_t c;
		int r = load(&c, b->text, &err);

		print_message("case %zu: %s:%u:%u: [%s] %s\n", i, err.file, err.line, err.col,
		              err.token, err.text);
		assert_int_equal(r, CDNS_ESYNTAX);
		assert_string_equal(err.file, "t.zone");
		assert_int_equal(err.line, b->line);
		assert_int_equal(err.col, b->col);
		assert_string_equal(err.token, b->token);
		if (b->msg != NULL)
			assert_string_equal(err.text, b->msg);
		else if (b->rmsg != NULL)
			assert_memory_equal(err.text, b->rmsg, strlen(b->rmsg));
		else
			assert_true(err.text[0] != '\0');
		coll_free(&c);
	}
}

/* An entry longer than CDNS_ZF_MAX_ENTRY is an error, not a crash or an endless buffer. */
static void test_long_entry(void **state)
{
	size_t n = CDNS_ZF_MAX_ENTRY + 4096;
	char *z = malloc(n + 64);
	cdns_zf_msg_t err;
	coll_t c;
	size_t o;

	(void)state;
	assert_non_null(z);
	o = (size_t)sprintf(z, "a 1 TXT (\n");
	while (o < n)
		o += (size_t)sprintf(z + o, "\"0123456789\"\n");
	z[o] = '\0';
	assert_int_equal(load(&c, z, &err), CDNS_ESYNTAX);
	assert_int_equal(err.line, 1);
	assert_int_equal(err.col, 9);
	assert_string_equal(err.text, "missing ')': entry longer than 524288 octets");

	o = (size_t)sprintf(z, "\n a 1 TXT");
	while (o < n)
		o += (size_t)sprintf(z + o, " \"0123456789\"");
	z[o] = '\0';
	assert_int_equal(load(&c, z, &err), CDNS_ESYNTAX);
	assert_int_equal(err.line, 2);
	assert_int_equal(err.col, 2);
	assert_string_equal(err.text, "entry longer than 524288 octets");

	/* One token longer than the limit. */
	memset(z, 'x', n);
	z[n] = '\0';
	assert_int_equal(load(&c, z, &err), CDNS_ESYNTAX);
	assert_int_equal(err.line, 1);
	assert_int_equal(err.col, 1);
	free(z);
}

/* ---------------------------------------------------------------------------------------- */
/* Files and $INCLUDE                                                                         */

static char tmpdir[PATH_MAX];

static void put_file(const char *rel, const char *text)
{
	char path[PATH_MAX * 2];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, rel);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

static int setup_dir(void **state)
{
	char path[PATH_MAX * 2];

	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_zonefile.XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	snprintf(path, sizeof(path), "%s/inc", tmpdir);
	if (mkdir(path, 0700) != 0)
		return -1;
	return 0;
}

static int teardown_dir(void **state)
{
	static const char *files[] = {"main.zone", "sub.zone",  "inc/deeper.zone", "loop.zone",
	                              "bad.zone",  "big.zone",  "top.zone",        "cwd.zone",
	                              "skip.zone", "plain.zone"};
	char path[PATH_MAX * 2];

	(void)state;
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", tmpdir, files[i]);
		unlink(path);
	}
	snprintf(path, sizeof(path), "%s/inc", tmpdir);
	rmdir(path);
	rmdir(tmpdir);
	return 0;
}

static int read_path(coll_t *c, const char *rel, const cdns_zf_opts_t *o, cdns_zf_msg_t *err)
{
	/* Static: for errors in the top file, err->file is this very string, read after we
	 * return. */
	static char path[PATH_MAX * 2];

	snprintf(path, sizeof(path), "%s/%s", tmpdir, rel);
	memset(c, 0, sizeof(*c));
	return cdns_zonefile_read(path, o, collect, c, err);
}

static void test_include(void **state)
{
	char path[PATH_MAX * 2], want[PATH_MAX * 2];
	cdns_zf_opts_t o;
	cdns_zf_msg_t err;
	coll_t c;
	int r;

	(void)state;
	put_file("main.zone", "$TTL 300\n"
	                      "www A 192.0.2.1\n"
	                      "$INCLUDE sub.zone sub ; origin for that file only\n"
	                      "\tA 192.0.2.2\n" /* the owner is www again */
	                      "after A 192.0.2.3\n"
	                      "$INCLUDE \"inc/deeper.zone\"\n"
	                      "last A 192.0.2.4\n");
	put_file("sub.zone", "host A 192.0.2.10\n"
	                     "@ 60 A 192.0.2.11\n"
	                     "$ORIGIN changed.test.\n"
	                     "z A 192.0.2.12");
	put_file("inc/deeper.zone", "d A 192.0.2.20\n"
	                            "$INCLUDE ../sub.zone other.example.\n");
	opts_init(&o);
	o.max_include_depth = 8;
	r = read_path(&c, "main.zone", &o, &err);
	if (r != 0)
		print_error("%s:%u:%u: %s\n", err.file, err.line, err.col, err.text);
	assert_int_equal(r, 0);
	assert_int_equal(c.n, 11);
	check_rr(&c, 0, "www.example.com.", 300, CDNS_T_A, "c0000201");
	check_rr(&c, 1, "host.sub.example.com.", 300, CDNS_T_A, "c000020a");
	check_rr(&c, 2, "sub.example.com.", 60, CDNS_T_A, "c000020b");
	check_rr(&c, 3, "z.changed.test.", 300, CDNS_T_A, "c000020c");
	snprintf(want, sizeof(want), "%s/sub.zone", tmpdir);
	assert_string_equal(c.r[3].file, want);
	assert_int_equal(c.r[3].line, 4);
	check_rr(&c, 4, "www.example.com.", 300, CDNS_T_A, "c0000202");
	check_rr(&c, 5, "after.example.com.", 300, CDNS_T_A, "c0000203");
	check_rr(&c, 6, "d.example.com.", 300, CDNS_T_A, "c0000214");
	snprintf(want, sizeof(want), "%s/inc/deeper.zone", tmpdir);
	assert_string_equal(c.r[6].file, want);
	check_rr(&c, 7, "host.other.example.", 300, CDNS_T_A, "c000020a");
	snprintf(want, sizeof(want), "%s/inc/../sub.zone", tmpdir);
	assert_string_equal(c.r[7].file, want);
	check_rr(&c, 8, "other.example.", 60, CDNS_T_A, "c000020b");
	check_rr(&c, 9, "z.changed.test.", 300, CDNS_T_A, "c000020c");
	check_rr(&c, 10, "last.example.com.", 300, CDNS_T_A, "c0000204");
	snprintf(want, sizeof(want), "%s/main.zone", tmpdir);
	assert_string_equal(c.r[10].file, want);
	coll_free(&c);

	/* The same through a buffer: relative names resolve against the current directory. */
	char cwd[PATH_MAX];
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(chdir(tmpdir), 0);
	memset(&c, 0, sizeof(c));
	const char *z = "$TTL 1\n$INCLUDE sub.zone\n";
	r = cdns_zonefile_read_buf(z, strlen(z), "buf", &o, collect, &c, &err);
	assert_int_equal(chdir(cwd), 0);
	assert_int_equal(r, 0);
	assert_int_equal(c.n, 3);
	check_rr(&c, 0, "host.example.com.", 1, CDNS_T_A, "c000020a");
	assert_string_equal(c.r[0].file, "sub.zone");
	coll_free(&c);

	/* An included file starts without an owner. */
	put_file("skip.zone", "\tA 192.0.2.1\n");
	put_file("top.zone", "$TTL 1\nx A 192.0.2.1\n$INCLUDE skip.zone\n");
	assert_int_equal(read_path(&c, "top.zone", &o, &err), CDNS_ESYNTAX);
	snprintf(want, sizeof(want), "%s/skip.zone", tmpdir);
	assert_string_equal(err.file, want);
	assert_int_equal(err.line, 1);
	coll_free(&c);

	/* Errors inside an included file name it, and the name outlives the read. */
	put_file("bad.zone", "ok A 192.0.2.1\n\nx 1 AAA 1\n");
	put_file("top.zone", "$TTL 1\n$INCLUDE bad.zone\n");
	assert_int_equal(read_path(&c, "top.zone", &o, &err), CDNS_ESYNTAX);
	snprintf(want, sizeof(want), "%s/bad.zone", tmpdir);
	assert_string_equal(err.file, want);
	assert_int_equal(err.line, 3);
	assert_int_equal(err.col, 5);
	assert_string_equal(err.text, "unknown RR type 'AAA'");
	assert_int_equal(c.n, 1);
	coll_free(&c);

	/* A missing file. */
	put_file("top.zone", "$TTL 1\n$INCLUDE   missing.zone\n");
	assert_int_equal(read_path(&c, "top.zone", &o, &err), CDNS_EIO);
	snprintf(want, sizeof(want), "%s/top.zone", tmpdir);
	assert_string_equal(err.file, want);
	assert_int_equal(err.line, 2);
	assert_int_equal(err.col, 12);
	assert_string_equal(err.token, "missing.zone");
	assert_string_equal(err.text, "cannot open 'missing.zone': No such file or directory");
	coll_free(&c);

	/* Depth limit: a file that includes itself. */
	put_file("loop.zone", "$INCLUDE loop.zone\n");
	o.max_include_depth = 3;
	assert_int_equal(read_path(&c, "loop.zone", &o, &err), CDNS_ESYNTAX);
	snprintf(want, sizeof(want), "%s/loop.zone", tmpdir);
	assert_string_equal(err.file, want);
	assert_int_equal(err.line, 1);
	assert_int_equal(err.col, 1);
	assert_string_equal(err.text, "$INCLUDE nested more than 3 deep");
	coll_free(&c);

	/* Refused when includes are off. */
	o.max_include_depth = 0;
	assert_int_equal(read_path(&c, "main.zone", &o, &err), CDNS_ESYNTAX);
	assert_int_equal(err.line, 3);
	assert_int_equal(err.col, 1);
	assert_string_equal(err.text, "$INCLUDE not allowed here");
	coll_free(&c);

	/* include_root: inside is fine, outside is refused. */
	o.max_include_depth = 8;
	o.include_root = tmpdir;
	assert_int_equal(read_path(&c, "main.zone", &o, &err), 0);
	assert_int_equal(c.n, 11);
	coll_free(&c);
	snprintf(path, sizeof(path), "%s/inc", tmpdir);
	o.include_root = path;
	o.default_ttl = 10;
	assert_int_equal(read_path(&c, "inc/deeper.zone", &o, &err), CDNS_ESYNTAX);
	assert_int_equal(err.line, 2);
	assert_int_equal(err.col, 10);
	snprintf(want, sizeof(want), "'../sub.zone' is outside the include root '%s/inc'", tmpdir);
	assert_string_equal(err.text, want);
	coll_free(&c);

	/* include_root that does not exist, and a missing file under a root. */
	o.include_root = "/nonexistent/root";
	assert_int_equal(read_path(&c, "main.zone", &o, &err), CDNS_EIO);
	assert_string_equal(err.text,
	                    "include root '/nonexistent/root': No such file or directory");
	coll_free(&c);
	o.include_root = tmpdir;
	put_file("top.zone", "$INCLUDE nothere.zone\n");
	assert_int_equal(read_path(&c, "top.zone", &o, &err), CDNS_EIO);
	assert_string_equal(err.text, "cannot open 'nothere.zone': No such file or directory");
	coll_free(&c);

	/* File names: quotes and escapes are decoded; NUL is refused; a bad origin. */
	o.include_root = NULL;
	put_file("top.zone", "$TTL 1\n$INCLUDE \"s\\117b\\.zone\"\n");
	assert_int_equal(read_path(&c, "top.zone", &o, &err), 0);
	assert_int_equal(c.n, 3);
	coll_free(&c);
	put_file("top.zone", "$INCLUDE a\\000b\n");
	assert_int_equal(read_path(&c, "top.zone", &o, &err), CDNS_ESYNTAX);
	assert_string_equal(err.text, "bad file name 'a\\000b'");
	coll_free(&c);
	put_file("top.zone", "$INCLUDE sub.zone a..b\n");
	assert_int_equal(read_path(&c, "top.zone", &o, &err), CDNS_ESYNTAX);
	assert_string_equal(err.text, "name: empty label in 'a..b'");
	coll_free(&c);

	/* Extra arguments. */
	o.include_root = NULL;
	put_file("top.zone", "$INCLUDE sub.zone a. b.\n");
	assert_int_equal(read_path(&c, "top.zone", &o, &err), CDNS_ESYNTAX);
	assert_int_equal(err.col, 22);
	assert_string_equal(err.text, "unexpected 'b.' after $INCLUDE");
	coll_free(&c);
}

/* A file larger than the read buffer: tokens and entries cross block boundaries, and line
 * numbers stay exact. */
static void test_big_file(void **state)
{
	const unsigned n = 30000;
	char path[PATH_MAX * 2], name[64];
	cdns_zf_opts_t o;
	cdns_zf_msg_t err;
	coll_t c;
	FILE *f;

	(void)state;
	snprintf(path, sizeof(path), "%s/big.zone", tmpdir);
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "$TTL 3600\n");
	for (unsigned i = 0; i < n; i++) {
		switch (i % 4) {
		case 0: fprintf(f, "host%u IN A 192.0.%u.%u\n", i, (i >> 8) & 255, i & 255); break;
		case 1: fprintf(f, "\tAAAA 2001:db8::%x ; same owner\n", i); break;
		case 2: fprintf(f, "alias%u 60 CNAME host%u\n", i, i - 2); break;
		default: fprintf(f, "txt%u TXT ( \"some text %u\"\n\t\"more\" )\n", i, i); break;
		}
	}
	fprintf(f, "bad%u 1 A 1.2.3.4.5\n", n);
	assert_int_equal(fclose(f), 0);

	opts_init(&o);
	memset(&c, 0, sizeof(c));
	assert_int_equal(cdns_zonefile_read(path, &o, collect, &c, &err), CDNS_ESYNTAX);
	assert_int_equal(c.n, n);
	/* 1 line for $TTL, 5 lines per 4 records. */
	assert_int_equal(err.line, 1 + n / 4 * 5 + 1);
	assert_int_equal(err.col, 14);
	assert_string_equal(err.token, "1.2.3.4.5");
	snprintf(name, sizeof(name), "host%u.example.com.", n - 4);
	assert_string_equal(c.r[n - 4].owner, name);
	assert_string_equal(c.r[n - 3].owner, name);
	assert_int_equal(c.r[n - 3].type, CDNS_T_AAAA);
	assert_int_equal(c.r[n - 2].ttl, 60);
	assert_int_equal(c.r[n - 1].line, 2 + (n - 1) / 4 * 5 + 3);
	coll_free(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_bind_style_zone),
	    cmocka_unit_test(test_knot_style_zone),
	    cmocka_unit_test(test_origin),
	    cmocka_unit_test(test_ttl_units),
	    cmocka_unit_test(test_ttl_defaults),
	    cmocka_unit_test(test_owner_omitted),
	    cmocka_unit_test(test_class),
	    cmocka_unit_test(test_types_and_generic),
	    cmocka_unit_test(test_quotes_comments_escapes),
	    cmocka_unit_test(test_parentheses),
	    cmocka_unit_test(test_crlf_tabs_last_line),
	    cmocka_unit_test(test_generate),
	    cmocka_unit_test(test_callback_stops),
	    cmocka_unit_test(test_no_err_no_warn),
	    cmocka_unit_test(test_bad_arguments),
	    cmocka_unit_test(test_errors),
	    cmocka_unit_test(test_long_entry),
	    cmocka_unit_test(test_include),
	    cmocka_unit_test(test_big_file),
	};

	return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
