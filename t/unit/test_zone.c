/* Unit tests of the zone builder, the frozen zone, the master-file writer and zone sets
 * (sdk/lib/zone.c). Zones are built from text with a tiny helper of our own (owner, TTL,
 * type, RDATA text), not with the master-file reader. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <time.h>

#include <cmocka.h>
#include <malloc.h>

#include <clouddns/clouddns.h>
#include <clouddns/zone.h>

/* ---------------------------------------------------------------------------------------- */
/* Helpers                                                                                    */

#define MAX_MSGS 64

typedef struct msgs {
	unsigned n, errors, warnings;
	int severity[MAX_MSGS];
	char text[MAX_MSGS][512];
	char file[MAX_MSGS][64];
	unsigned line[MAX_MSGS];
} msgs_t;

static void collect(void *ctx, int severity, const char *file, unsigned line, const char *text)
{
	msgs_t *m = ctx;
	if (severity == CDNS_ZONE_ERROR)
		m->errors++;
	else
		m->warnings++;
	if (m->n >= MAX_MSGS)
		return;
	m->severity[m->n] = severity;
	snprintf(m->text[m->n], sizeof(m->text[0]), "%s", text);
	snprintf(m->file[m->n], sizeof(m->file[0]), "%s", file ? file : "");
	m->line[m->n] = line;
	m->n++;
}

/* Index of the first message containing all of the given substrings, or -1. */
static int find_msg(const msgs_t *m, int severity, const char *a, const char *b)
{
	for (unsigned i = 0; i < m->n; i++)
		if (m->severity[i] == severity && strstr(m->text[i], a) != NULL &&
		    (b == NULL || strstr(m->text[i], b) != NULL))
			return (int)i;
	return -1;
}

static void name(const char *text, uint8_t *out)
{
	assert_true(cdns_name_from_text(text, strlen(text), NULL, out) > 0);
}

/* Add "owner ttl TYPE rdata..." (absolute names). Returns what the builder returned. */
static int add_line(cdns_zone_builder_t *b, const char *line, unsigned lineno)
{
	char owner[300], type[32];
	unsigned ttl;
	int n = 0;
	assert_int_equal(sscanf(line, "%299s %u %31s %n", owner, &ttl, type, &n), 3);
	uint8_t o[CDNS_NAME_MAXLEN];
	name(owner, o);
	uint16_t t;
	assert_int_equal(cdns_rrtype_from_text(type, strlen(type), &t), 0);
	uint8_t rd[CDNS_RDATA_MAXLEN];
	cdns_text_err_t err;
	const char *rt = line + n;
	int rl = cdns_rdata_from_text(t, rt, strlen(rt), NULL, rd, sizeof(rd), &err);
	if (rl < 0)
		fail_msg("bad rdata in '%s': %s", line, err.msg);
	return cdns_zone_builder_add(b, o, t, CDNS_C_IN, ttl, rd, (uint16_t)rl, "test.zone",
	                             lineno);
}

static int build(const char *apex, const char *const *lines, msgs_t *m, cdns_zone_t **z)
{
	uint8_t a[CDNS_NAME_MAXLEN];
	name(apex, a);
	cdns_zone_builder_t *b = cdns_zone_builder_new(a, CDNS_C_IN);
	assert_non_null(b);
	for (unsigned i = 0; lines[i] != NULL; i++)
		assert_int_equal(add_line(b, lines[i], i + 1), 0);
	memset(m, 0, sizeof(*m));
	return cdns_zone_builder_finish(b, collect, m, z);
}

static const cdns_znode_t *find(const cdns_zone_t *z, const char *text)
{
	uint8_t n[CDNS_NAME_MAXLEN];
	name(text, n);
	cdns_name_lower(n);
	return cdns_zone_find(z, n, cdns_name_hash(n));
}

static void node_text(const cdns_znode_t *n, char *out, int cased)
{
	assert_true(cdns_name_to_text(cased ? n->owner_case : n->owner, out, CDNS_NAME_MAXTEXT) >
	            0);
}

#define SOA_NS                                                                                     \
	"example. 3600 SOA ns1.example. admin.example. 2024010101 7200 3600 1209600 300",          \
	    "example. 3600 NS ns1.example.", "ns1.example. 3600 A 192.0.2.1"

/* ---------------------------------------------------------------------------------------- */
/* Builder                                                                                    */

static void test_minimal_zone(void **state)
{
	static const char *const lines[] = {SOA_NS, NULL};
	msgs_t m;
	cdns_zone_t *z;
	assert_int_equal(build("example.", lines, &m, &z), 0);
	assert_int_equal(m.n, 0);
	assert_int_equal(cdns_zone_node_count(z), 2);
	assert_int_equal(cdns_zone_rr_count(z), 3);
	assert_int_equal(cdns_zone_serial(z), 2024010101u);
	assert_int_equal(cdns_zone_class(z), CDNS_C_IN);
	assert_memory_equal(cdns_zone_apex(z), "\007example\000", 9);
	const cdns_znode_t *apex = cdns_zone_node(z, 0);
	assert_true(apex->flags & CDNS_ZNODE_APEX);
	assert_int_equal(apex->n_rrsets, 2);
	assert_int_equal(apex->rrsets[0].type, CDNS_T_NS); /* RRsets sorted by type */
	assert_int_equal(apex->rrsets[1].type, CDNS_T_SOA);
	assert_null(cdns_zone_node(z, 2));
	assert_int_equal(cdns_zone_parent(z, 0), SIZE_MAX);
	assert_int_equal(cdns_zone_parent(z, 1), 0);
	cdns_zone_unref(z);
}

static void test_merge_duplicates(void **state)
{
	static const char *const lines[] = {
	    SOA_NS,
	    "www.example. 300 A 192.0.2.10",
	    "WWW.example. 300 A 192.0.2.10", /* same RR, other spelling of the owner */
	    "www.example. 300 A 192.0.2.11",
	    "example. 3600 NS ns1.example.", /* duplicate of the SOA_NS one */
	    "example. 3600 NS NS1.Example.", /* duplicate once names are lower-cased */
	    "example. 3600 NS ns2.example.",
	    "ns2.example. 3600 A 192.0.2.2",
	    NULL,
	};
	msgs_t m;
	cdns_zone_t *z;
	assert_int_equal(build("example.", lines, &m, &z), 0);
	assert_int_equal(m.errors, 0);
	assert_int_equal(m.warnings, 0);
	const cdns_znode_t *www = find(z, "www.example.");
	assert_non_null(www);
	const cdns_rrset_t *a = cdns_znode_rrset(www, CDNS_T_A);
	assert_non_null(a);
	assert_int_equal(a->count, 2);
	const cdns_rrset_t *ns = cdns_znode_rrset(cdns_zone_node(z, 0), CDNS_T_NS);
	assert_int_equal(ns->count, 2);
	/* The first spelling is the one kept. */
	size_t pos = 0;
	const uint8_t *rd;
	uint16_t len;
	assert_int_equal(cdns_rrset_next(ns, &pos, &rd, &len), 1);
	assert_memory_equal(rd, "\003ns1\007example\000", len);
	/* SOA + 2 NS + ns1 A + ns2 A + 2 www A */
	assert_int_equal(cdns_zone_rr_count(z), 7);
	cdns_zone_unref(z);
}

/* RFC 4034 §6.1: the example list of names in canonical order. */
static void test_canonical_order(void **state)
{
	static const char *const lines[] = {
	    SOA_NS,
	    "\\200.z.example. 60 A 192.0.2.9",
	    "z.example. 60 A 192.0.2.5",
	    "zABC.a.EXAMPLE. 60 A 192.0.2.4",
	    "*.z.example. 60 A 192.0.2.8",
	    "a.example. 60 A 192.0.2.1",
	    "yljkjljk.a.example. 60 A 192.0.2.2",
	    "\\001.z.example. 60 A 192.0.2.7",
	    "Z.a.example. 60 A 192.0.2.3",
	    NULL,
	};
	static const char *const expect[] = {
	    "example.",     "a.example.", "yljkjljk.a.example.", "Z.a.example.", "zABC.a.EXAMPLE.",
	    "ns1.example.", "z.example.", "\\001.z.example.",    "*.z.example.", "\\200.z.example.",
	};
	msgs_t m;
	cdns_zone_t *z;
	assert_int_equal(build("example.", lines, &m, &z), 0);
	assert_int_equal(cdns_zone_node_count(z), sizeof(expect) / sizeof(expect[0]));
	for (size_t i = 0; i < cdns_zone_node_count(z); i++) {
		char t[CDNS_NAME_MAXTEXT];
		node_text(cdns_zone_node(z, i), t, 1);
		assert_string_equal(t, expect[i]);
		if (i > 0)
			assert_true(cdns_name_cmp(cdns_zone_node(z, i - 1)->owner,
			                          cdns_zone_node(z, i)->owner) < 0);
		/* owner is the lower-cased form */
		char l[CDNS_NAME_MAXTEXT];
		node_text(cdns_zone_node(z, i), l, 0);
		assert_true(strcasecmp(l, t) == 0);
	}
	/* "*" makes its parent a wildcard parent. */
	assert_true(find(z, "z.example.")->flags & CDNS_ZNODE_WILDCARD);
	assert_false(find(z, "a.example.")->flags & CDNS_ZNODE_WILDCARD);
	cdns_zone_unref(z);
}

/* RFC 4034 §6.3: RDATA in canonical order, names compared lower-cased, prefixes first. */
static void test_rdata_order(void **state)
{
	static const char *const lines[] = {
	    SOA_NS,
	    "x.example. 60 A 192.0.2.200",
	    "x.example. 60 A 10.0.0.1",
	    "x.example. 60 A 192.0.2.3",
	    "x.example. 60 MX 10 b.example.",
	    "x.example. 60 MX 10 A.example.", /* 'A' sorts as 'a': before b */
	    "x.example. 60 MX 5 z.example.",
	    "x.example. 60 TYPE65280 \\# 2 0100",
	    "x.example. 60 TYPE65280 \\# 1 01", /* a prefix sorts first */
	    "x.example. 60 TYPE65280 \\# 0",
	    NULL,
	};
	msgs_t m;
	cdns_zone_t *z;
	assert_int_equal(build("example.", lines, &m, &z), 0);
	const cdns_znode_t *x = find(z, "x.example.");
	assert_int_equal(x->n_rrsets, 3);
	const cdns_rrset_t *s = cdns_znode_rrset(x, CDNS_T_A);
	size_t pos = 0;
	const uint8_t *rd;
	uint16_t len;
	static const uint8_t a_order[3][4] = {{10, 0, 0, 1}, {192, 0, 2, 3}, {192, 0, 2, 200}};
	for (int i = 0; i < 3; i++) {
		assert_int_equal(cdns_rrset_next(s, &pos, &rd, &len), 1);
		assert_int_equal(len, 4);
		assert_memory_equal(rd, a_order[i], 4);
	}
	assert_int_equal(cdns_rrset_next(s, &pos, &rd, &len), 0);

	s = cdns_znode_rrset(x, CDNS_T_MX);
	pos = 0;
	assert_int_equal(cdns_rrset_next(s, &pos, &rd, &len), 1);
	assert_memory_equal(rd, "\000\005\001z\007example", 12);
	assert_int_equal(cdns_rrset_next(s, &pos, &rd, &len), 1);
	assert_memory_equal(rd, "\000\012\001A\007example", 12); /* original case kept */
	assert_int_equal(cdns_rrset_next(s, &pos, &rd, &len), 1);
	assert_memory_equal(rd, "\000\012\001b\007example", 12);

	s = cdns_znode_rrset(x, 65280);
	pos = 0;
	assert_int_equal(cdns_rrset_next(s, &pos, &rd, &len), 1);
	assert_int_equal(len, 0);
	assert_int_equal(cdns_rrset_next(s, &pos, &rd, &len), 1);
	assert_int_equal(len, 1);
	assert_int_equal(cdns_rrset_next(s, &pos, &rd, &len), 1);
	assert_int_equal(len, 2);
	assert_int_equal(cdns_rrset_next(s, &pos, &rd, &len), 0);
	cdns_zone_unref(z);
}

static void test_ents(void **state)
{
	static const char *const lines[] = {
	    SOA_NS,
	    "a.b.c.example. 60 TXT \"deep\"",
	    "x.c.example. 60 TXT \"side\"",
	    NULL,
	};
	msgs_t m;
	cdns_zone_t *z;
	assert_int_equal(build("example.", lines, &m, &z), 0);
	/* example, c, b.c, a.b.c, x.c, ns1 */
	assert_int_equal(cdns_zone_node_count(z), 6);
	const cdns_znode_t *c = find(z, "c.example.");
	const cdns_znode_t *bc = find(z, "b.c.example.");
	assert_non_null(c);
	assert_non_null(bc);
	assert_true(c->flags & CDNS_ZNODE_ENT);
	assert_true(bc->flags & CDNS_ZNODE_ENT);
	assert_int_equal(c->n_rrsets, 0);
	assert_false(find(z, "a.b.c.example.")->flags & CDNS_ZNODE_ENT);
	assert_false(cdns_zone_node(z, 0)->flags & CDNS_ZNODE_ENT);
	/* Parents link every node to its parent name. */
	for (size_t i = 1; i < cdns_zone_node_count(z); i++) {
		const cdns_znode_t *n = cdns_zone_node(z, i);
		size_t p = cdns_zone_parent(z, i);
		assert_true(p < i);
		assert_true(
		    cdns_name_equal(cdns_zone_node(z, p)->owner, n->owner + n->owner[0] + 1));
	}
	assert_int_equal(m.n, 0);
	cdns_zone_unref(z);
}

static void test_flags(void **state)
{
	static const char *const lines[] = {
	    SOA_NS,
	    "sub.example. 60 NS ns.sub.example.",
	    "ns.sub.example. 60 A 192.0.2.53",
	    "deep.ns.sub.example. 60 A 192.0.2.54",
	    "dn.example. 60 DNAME target.example.",
	    "below.dn.example. 60 A 192.0.2.60",
	    "alias.example. 60 CNAME www.example.",
	    "*.w.example. 60 A 192.0.2.70",
	    NULL,
	};
	msgs_t m;
	cdns_zone_t *z;
	assert_int_equal(build("example.", lines, &m, &z), 0);
	assert_int_equal(m.errors, 0);
	assert_int_equal(cdns_zone_node(z, 0)->flags, CDNS_ZNODE_APEX);
	assert_int_equal(find(z, "sub.example.")->flags, CDNS_ZNODE_DELEG);
	assert_int_equal(find(z, "ns.sub.example.")->flags, CDNS_ZNODE_OCCLUDED);
	assert_int_equal(find(z, "deep.ns.sub.example.")->flags, CDNS_ZNODE_OCCLUDED);
	assert_int_equal(find(z, "dn.example.")->flags, CDNS_ZNODE_DNAME);
	assert_int_equal(find(z, "below.dn.example.")->flags, CDNS_ZNODE_OCCLUDED);
	assert_int_equal(find(z, "alias.example.")->flags, CDNS_ZNODE_CNAME);
	assert_int_equal(find(z, "w.example.")->flags, CDNS_ZNODE_ENT | CDNS_ZNODE_WILDCARD);
	assert_int_equal(find(z, "*.w.example.")->flags, 0);
	/* Data below a DNAME is occluded: said once. */
	int i = find_msg(&m, CDNS_ZONE_WARNING, "below.dn.example.", "RFC 6672");
	assert_true(i >= 0);
	assert_int_equal(m.warnings, 1);
	cdns_zone_unref(z);
}

static void test_lookup(void **state)
{
	static const char *const lines[] = {SOA_NS, "Www.Example. 60 A 192.0.2.10", NULL};
	msgs_t m;
	cdns_zone_t *z;
	assert_int_equal(build("example.", lines, &m, &z), 0);
	const cdns_znode_t *n = find(z, "WWW.EXAMPLE.");
	assert_non_null(n);
	assert_memory_equal(n->owner, "\003www\007example\000", 13);
	assert_memory_equal(n->owner_case, "\003Www\007Example\000", 13);
	assert_int_equal(n->hash, cdns_name_hash(n->owner));
	assert_null(find(z, "nope.example."));
	assert_null(find(z, "ww.example."));
	assert_null(find(z, "example.org."));
	assert_null(cdns_znode_rrset(n, CDNS_T_AAAA));
	assert_null(cdns_znode_rrset(NULL, CDNS_T_A));
	const cdns_rrset_t *a = cdns_znode_rrset(n, CDNS_T_A);
	assert_non_null(a);
	assert_int_equal(a->ttl, 60);
	assert_int_equal(a->count, 1);
	/* Length-prefixed RDATA. */
	assert_memory_equal(a->rdata, "\000\004\300\000\002\012", 6);
	cdns_zone_unref(z);
}

static void test_ttl_lowest(void **state)
{
	static const char *const lines[] = {
	    SOA_NS,
	    "t.example. 600 A 192.0.2.1",
	    "t.example. 300 A 192.0.2.2",
	    "t.example. 900 A 192.0.2.3",
	    NULL,
	};
	msgs_t m;
	cdns_zone_t *z;
	assert_int_equal(build("example.", lines, &m, &z), 0);
	assert_int_equal(cdns_znode_rrset(find(z, "t.example."), CDNS_T_A)->ttl, 300);
	assert_int_equal(m.warnings, 1);
	int i = find_msg(&m, CDNS_ZONE_WARNING, "t.example. A", "lowest, 300");
	assert_true(i >= 0);
	assert_string_equal(m.file[i], "test.zone");
	assert_int_equal(m.line[i], 4);
	cdns_zone_unref(z);
}

static void expect_error(const char *const *lines, const char *a, const char *b)
{
	msgs_t m;
	cdns_zone_t *z = (cdns_zone_t *)1;
	assert_int_equal(build("example.", lines, &m, &z), CDNS_EINVAL);
	assert_null(z);
	if (find_msg(&m, CDNS_ZONE_ERROR, a, b) < 0) {
		for (unsigned i = 0; i < m.n; i++)
			print_message("%d %s\n", m.severity[i], m.text[i]);
		fail_msg("no error with '%s' '%s'", a, b ? b : "");
	}
}

static void test_errors(void **state)
{
	static const char *const no_soa[] = {"example. 60 NS ns1.example.", NULL};
	expect_error(no_soa, "example.", "no SOA record at the zone apex");
	static const char *const empty[] = {NULL};
	expect_error(empty, "no SOA record", NULL);
	static const char *const no_ns[] = {"example. 60 SOA ns1.example. admin.example. 1 2 3 4 5",
	                                    NULL};
	expect_error(no_ns, "no NS records at the zone apex", NULL);
	static const char *const two_soa[] = {
	    SOA_NS, "example. 60 SOA ns1.example. admin.example. 2 2 3 4 5", NULL};
	expect_error(two_soa, "2 SOA records at the apex", NULL);
	static const char *const soa_below[] = {
	    SOA_NS, "x.example. 60 SOA ns1.example. admin.example. 2 2 3 4 5", NULL};
	expect_error(soa_below, "x.example. SOA", "outside the zone apex");
	static const char *const cname_other[] = {SOA_NS, "c.example. 60 CNAME ns1.example.",
	                                          "c.example. 60 TXT \"x\"", NULL};
	expect_error(cname_other, "c.example. CNAME", "CNAME and other data");
	static const char *const two_cname[] = {SOA_NS, "c.example. 60 CNAME a.example.",
	                                        "c.example. 60 CNAME b.example.", NULL};
	expect_error(two_cname, "c.example. CNAME", "2 CNAME records");
	static const char *const two_dname[] = {SOA_NS, "d.example. 60 DNAME a.example.",
	                                        "d.example. 60 DNAME b.example.", NULL};
	expect_error(two_dname, "d.example. DNAME", "2 DNAME records");
	static const char *const apex_cname[] = {SOA_NS, "example. 60 CNAME a.example.", NULL};
	expect_error(apex_cname, "example. CNAME", "CNAME and other data");

	/* All errors are reported, not only the first. */
	static const char *const several[] = {"c.example. 60 CNAME a.example.",
	                                      "c.example. 60 A 192.0.2.1", NULL};
	msgs_t m;
	cdns_zone_t *z;
	assert_int_equal(build("example.", several, &m, &z), CDNS_EINVAL);
	assert_int_equal(m.errors, 3); /* CNAME+data, no SOA, no NS */

	/* CNAME beside RRSIG and NSEC is fine (RFC 4035 §2.5). */
	static const char *const cname_sig[] = {
	    SOA_NS,
	    "c.example. 60 CNAME a.example.",
	    "c.example. 60 NSEC d.example. CNAME RRSIG NSEC",
	    "c.example. 60 RRSIG CNAME 8 2 60 20300101000000 20200101000000 1 example. AAAA",
	    NULL,
	};
	assert_int_equal(build("example.", cname_sig, &m, &z), 0);
	cdns_zone_unref(z);
}

static void test_warnings(void **state)
{
	static const char *const lines[] = {
	    SOA_NS,
	    "www.example.org. 60 A 192.0.2.1", /* out of zone */
	    "notexample. 60 A 192.0.2.1",      /* out of zone, shares a suffix of text */
	    "sub.example. 60 NS ns.sub.example.",
	    "sub.example. 60 NS ns.elsewhere.net.",
	    "sub.example. 60 NS ns1.example.",
	    "nog.example. 60 NS ns.nog.example.", /* no glue */
	    NULL,
	};
	msgs_t m;
	cdns_zone_t *z;
	assert_int_equal(build("example.", lines, &m, &z), 0);
	int i = find_msg(&m, CDNS_ZONE_WARNING, "www.example.org. A", "outside the zone example.");
	assert_true(i >= 0);
	assert_int_equal(m.line[i], 4);
	assert_true(find_msg(&m, CDNS_ZONE_WARNING, "notexample. A", "ignored") >= 0);
	i = find_msg(&m, CDNS_ZONE_WARNING, "nog.example. NS", "no glue");
	assert_true(i >= 0);
	assert_non_null(strstr(m.text[i], "ns.nog.example."));
	/* ns.sub has no address either */
	assert_true(find_msg(&m, CDNS_ZONE_WARNING, "ns.sub.example.", "no glue") >= 0);
	assert_int_equal(m.warnings, 4);
	assert_null(find(z, "www.example.org."));
	cdns_zone_unref(z);
}

static void test_add_invalid(void **state)
{
	uint8_t apex[CDNS_NAME_MAXLEN], owner[CDNS_NAME_MAXLEN];
	name("example.", apex);
	name("x.example.", owner);
	cdns_zone_builder_t *b = cdns_zone_builder_new(apex, CDNS_C_IN);
	assert_non_null(b);
	uint8_t a[4] = {192, 0, 2, 1};
	assert_int_equal(cdns_zone_builder_add(b, owner, CDNS_T_A, CDNS_C_CH, 60, a, 4, NULL, 0),
	                 CDNS_EINVAL);
	assert_int_equal(cdns_zone_builder_add(b, owner, CDNS_T_ANY, CDNS_C_IN, 60, a, 4, NULL, 0),
	                 CDNS_EINVAL);
	assert_int_equal(cdns_zone_builder_add(b, owner, CDNS_T_OPT, CDNS_C_IN, 60, a, 4, NULL, 0),
	                 CDNS_EINVAL);
	assert_int_equal(cdns_zone_builder_add(b, owner, CDNS_T_A, CDNS_C_IN, 60, a, 3, NULL, 0),
	                 CDNS_EINVAL); /* malformed RDATA */
	assert_int_equal(cdns_zone_builder_add(b, owner, CDNS_T_A, CDNS_C_IN, 60, NULL, 4, NULL, 0),
	                 CDNS_EINVAL);
	assert_int_equal(cdns_zone_builder_add(NULL, owner, CDNS_T_A, CDNS_C_IN, 60, a, 4, NULL, 0),
	                 CDNS_EINVAL);
	assert_int_equal(cdns_zone_builder_add(b, owner, CDNS_T_A, CDNS_C_IN, 60, a, 4, NULL, 0),
	                 0);
	cdns_zone_builder_free(b);
	assert_null(cdns_zone_builder_new((const uint8_t *)"\077", CDNS_C_IN));
	cdns_zone_t *z;
	assert_int_equal(cdns_zone_builder_finish(NULL, NULL, NULL, &z), CDNS_EINVAL);
}

static void test_refcount(void **state)
{
	static const char *const lines[] = {SOA_NS, NULL};
	msgs_t m;
	cdns_zone_t *z;
	assert_int_equal(build("example.", lines, &m, &z), 0);
	assert_ptr_equal(cdns_zone_ref(z), z);
	cdns_zone_unref(z);
	/* Still alive: one reference left. */
	assert_int_equal(cdns_zone_node_count(z), 2);
	cdns_zone_unref(z);
	cdns_zone_unref(NULL);
	assert_null(cdns_zone_ref(NULL));
}

/* ---------------------------------------------------------------------------------------- */
/* Zone sets                                                                                  */

static cdns_zone_t *simple_zone(const char *apex)
{
	char l1[300], l2[300];
	snprintf(l1, sizeof(l1), "%s 60 SOA ns.%s admin.%s 1 2 3 4 5", apex, apex, apex);
	snprintf(l2, sizeof(l2), "%s 60 NS ns.%s", apex, apex);
	const char *const lines[] = {l1, l2, NULL};
	msgs_t m;
	cdns_zone_t *z;
	assert_int_equal(build(apex, lines, &m, &z), 0);
	return z;
}

static const char *set_find(const cdns_zoneset_t *s, const char *text, uint16_t qtype)
{
	static char out[CDNS_NAME_MAXTEXT];
	uint8_t n[CDNS_NAME_MAXLEN];
	name(text, n);
	cdns_name_lower(n);
	const cdns_zone_t *z =
	    qtype ? cdns_zoneset_find_qtype(s, n, qtype) : cdns_zoneset_find(s, n);
	if (z == NULL)
		return "-";
	assert_true(cdns_name_to_text(cdns_zone_apex(z), out, sizeof(out)) > 0);
	return out;
}

static void test_zoneset(void **state)
{
	cdns_zoneset_t *s = cdns_zoneset_new();
	assert_non_null(s);
	assert_string_equal(set_find(s, "example.", 0), "-");
	cdns_zone_t *ex = simple_zone("example.");
	cdns_zone_t *sub = simple_zone("sub.example.");
	cdns_zone_t *org = simple_zone("org.");
	assert_int_equal(cdns_zoneset_add(s, ex), 0);
	assert_int_equal(cdns_zoneset_add(s, sub), 0);
	assert_int_equal(cdns_zoneset_add(s, org), 0);
	/* A second zone with the same apex is refused and the reference not taken. */
	cdns_zone_t *dup = simple_zone("EXAMPLE.");
	assert_int_equal(cdns_zoneset_add(s, dup), CDNS_EEXIST);
	cdns_zone_unref(dup);
	assert_int_equal(cdns_zoneset_count(s), 3);
	assert_ptr_equal(cdns_zoneset_get(s, 1), sub);
	assert_null(cdns_zoneset_get(s, 3));

	assert_string_equal(set_find(s, "example.", 0), "example.");
	assert_string_equal(set_find(s, "www.example.", 0), "example.");
	assert_string_equal(set_find(s, "sub.example.", 0), "sub.example.");
	assert_string_equal(set_find(s, "a.b.c.sub.example.", 0), "sub.example.");
	assert_string_equal(set_find(s, "xsub.example.", 0), "example.");
	assert_string_equal(set_find(s, "www.example.org.", 0), "org.");
	assert_string_equal(set_find(s, "example.net.", 0), "-");
	assert_string_equal(set_find(s, ".", 0), "-");
	/* DS for a child apex goes to the parent zone; other types and names do not. */
	assert_string_equal(set_find(s, "sub.example.", CDNS_T_DS), "example.");
	assert_string_equal(set_find(s, "sub.example.", CDNS_T_A), "sub.example.");
	assert_string_equal(set_find(s, "x.sub.example.", CDNS_T_DS), "sub.example.");
	assert_string_equal(set_find(s, "example.", CDNS_T_DS), "example.");

	uint8_t n[CDNS_NAME_MAXLEN];
	name("sub.example.", n);
	assert_ptr_equal(cdns_zoneset_get_apex(s, n), sub);
	name("www.sub.example.", n);
	assert_null(cdns_zoneset_get_apex(s, n));

	/* Many zones: the table grows. */
	for (int i = 0; i < 100; i++) {
		char apex[64];
		snprintf(apex, sizeof(apex), "z%d.example.", i);
		assert_int_equal(cdns_zoneset_add(s, simple_zone(apex)), 0);
	}
	assert_string_equal(set_find(s, "www.z42.example.", 0), "z42.example.");
	assert_string_equal(set_find(s, "www.z420.example.", 0), "example.");

	/* A zone shared by two sets holds one reference per set. */
	cdns_zoneset_t *s2 = cdns_zoneset_new();
	assert_int_equal(cdns_zoneset_add(s2, cdns_zone_ref(ex)), 0);
	cdns_zoneset_free(s);
	assert_string_equal(set_find(s2, "www.example.", 0), "example.");
	cdns_zoneset_free(s2);
	cdns_zoneset_free(NULL);
}

/* ---------------------------------------------------------------------------------------- */
/* Write and read back                                                                        */

static void test_write_reparse(void **state)
{
	static const char *const lines[] = {
	    SOA_NS,
	    "example. 3600 MX 10 Mail.Example.",
	    "Mail.example. 300 A 192.0.2.25",
	    "mail.example. 300 AAAA 2001:db8::25",
	    "txt.example. 60 TXT \"hello world\" \"with \\\"quotes\\\"\"",
	    "*.w.example. 60 A 192.0.2.7",
	    "a.b.c.example. 60 TXT \"deep\"",
	    "sub.example. 60 NS ns.sub.example.",
	    "ns.sub.example. 60 A 192.0.2.53",
	    "srv._tcp.example. 60 SRV 0 5 5060 mail.example.",
	    "weird\\.name.example. 60 TYPE65280 \\# 3 010203",
	    "dn.example. 60 DNAME other.example.",
	    NULL,
	};
	msgs_t m;
	cdns_zone_t *z;
	assert_int_equal(build("example.", lines, &m, &z), 0);

	char *text = NULL;
	size_t tlen = 0;
	FILE *f = open_memstream(&text, &tlen);
	assert_non_null(f);
	assert_int_equal(cdns_zone_write(z, f), 0);
	fclose(f);
	assert_true(strncmp(text, "$ORIGIN example.\n", 17) == 0);
	/* The SOA comes first. */
	assert_true(strncmp(text + 17, "example.\t3600\tIN\tSOA\t", 21) == 0);

	/* Read it back: one "owner ttl class type rdata" per line, all names absolute. */
	uint8_t apex[CDNS_NAME_MAXLEN];
	name("example.", apex);
	cdns_zone_builder_t *b = cdns_zone_builder_new(apex, CDNS_C_IN);
	unsigned n_lines = 0;
	for (char *line = strtok(text + 17, "\n"); line != NULL; line = strtok(NULL, "\n")) {
		char owner[300], cls[16], type[32];
		unsigned ttl;
		int off = 0;
		assert_int_equal(
		    sscanf(line, "%299s %u %15s %31s %n", owner, &ttl, cls, type, &off), 4);
		assert_string_equal(cls, "IN");
		uint8_t o[CDNS_NAME_MAXLEN], rd[CDNS_RDATA_MAXLEN];
		name(owner, o);
		uint16_t t;
		assert_int_equal(cdns_rrtype_from_text(type, strlen(type), &t), 0);
		int rl = cdns_rdata_from_text(t, line + off, strlen(line + off), NULL, rd,
		                              sizeof(rd), NULL);
		assert_true(rl >= 0);
		assert_int_equal(
		    cdns_zone_builder_add(b, o, t, CDNS_C_IN, ttl, rd, (uint16_t)rl, NULL, 0), 0);
		n_lines++;
	}
	assert_int_equal(n_lines, cdns_zone_rr_count(z));
	cdns_zone_t *z2;
	assert_int_equal(cdns_zone_builder_finish(b, NULL, NULL, &z2), 0);

	/* Identical: same nodes (spelling included), RRsets, TTLs and RDATA. */
	assert_int_equal(cdns_zone_node_count(z2), cdns_zone_node_count(z));
	assert_int_equal(cdns_zone_rr_count(z2), cdns_zone_rr_count(z));
	for (size_t i = 0; i < cdns_zone_node_count(z); i++) {
		const cdns_znode_t *x = cdns_zone_node(z, i), *y = cdns_zone_node(z2, i);
		size_t len = cdns_name_len(x->owner);
		assert_memory_equal(x->owner, y->owner, len);
		/* An ENT's spelling comes from a child; the rest must match exactly. */
		if (x->n_rrsets > 0)
			assert_memory_equal(x->owner_case, y->owner_case, len);
		assert_int_equal(x->flags, y->flags);
		assert_int_equal(x->n_rrsets, y->n_rrsets);
		for (unsigned j = 0; j < x->n_rrsets; j++) {
			const cdns_rrset_t *s = &x->rrsets[j], *t = &y->rrsets[j];
			assert_int_equal(s->type, t->type);
			assert_int_equal(s->ttl, t->ttl);
			assert_int_equal(s->count, t->count);
			size_t p1 = 0, p2 = 0;
			const uint8_t *r1, *r2;
			uint16_t l1, l2;
			while (cdns_rrset_next(s, &p1, &r1, &l1)) {
				assert_int_equal(cdns_rrset_next(t, &p2, &r2, &l2), 1);
				assert_int_equal(l1, l2);
				assert_memory_equal(r1, r2, l1);
			}
		}
	}
	/* Writing the copy gives the same text. */
	char *text2 = NULL;
	size_t tlen2 = 0;
	f = open_memstream(&text2, &tlen2);
	assert_int_equal(cdns_zone_write(z2, f), 0);
	fclose(f);
	free(text);
	text = NULL;
	f = open_memstream(&text, &tlen);
	assert_int_equal(cdns_zone_write(z, f), 0);
	fclose(f);
	assert_int_equal(tlen, tlen2);
	assert_string_equal(text, text2);
	free(text);
	free(text2);
	cdns_zone_unref(z);
	cdns_zone_unref(z2);
}

/* ---------------------------------------------------------------------------------------- */
/* A large zone (not timed in asserts: the numbers are printed)                               */

static long rss_kib(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	long pages = 0, rss = 0;
	if (f == NULL)
		return 0;
	if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
		rss = 0;
	fclose(f);
	return rss * 4;
}

/* Peak resident set (VmHWM) in KiB. */
static long hwm_kib(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long v = 0;
	if (f == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "VmHWM: %ld", &v) == 1)
			break;
	fclose(f);
	return v;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void test_big_zone(void **state)
{
	const char *env = getenv("CDNS_BIG_ZONE");
	unsigned n = env != NULL ? (unsigned)strtoul(env, NULL, 10) : 1000000;
	uint8_t apex[CDNS_NAME_MAXLEN];
	name("example.", apex);
	long rss0 = rss_kib();
	double t0 = now();
	cdns_zone_builder_t *b = cdns_zone_builder_new(apex, CDNS_C_IN);
	assert_non_null(b);
	uint8_t soa[64], ns[32];
	int sl = cdns_rdata_from_text(CDNS_T_SOA, "ns.example. admin.example. 1 2 3 4 5", 36, NULL,
	                              soa, sizeof(soa), NULL);
	int nl = cdns_rdata_from_text(CDNS_T_NS, "ns.example.", 11, NULL, ns, sizeof(ns), NULL);
	assert_int_equal(
	    cdns_zone_builder_add(b, apex, CDNS_T_SOA, CDNS_C_IN, 3600, soa, (uint16_t)sl, NULL, 0),
	    0);
	assert_int_equal(
	    cdns_zone_builder_add(b, apex, CDNS_T_NS, CDNS_C_IN, 3600, ns, (uint16_t)nl, NULL, 0),
	    0);
	for (unsigned i = 0; i < n; i++) {
		uint8_t owner[32];
		int l = snprintf((char *)owner + 1, sizeof(owner) - 1, "h%u", i);
		owner[0] = (uint8_t)l;
		memcpy(owner + 1 + l, "\007example", 9);
		uint8_t a[4] = {10, (uint8_t)(i >> 16), (uint8_t)(i >> 8), (uint8_t)i};
		assert_int_equal(cdns_zone_builder_add(b, owner, CDNS_T_A, CDNS_C_IN, 3600, a, 4,
		                                       "big.zone", i + 3),
		                 0);
	}
	double t1 = now();
	long rss1 = rss_kib();
	cdns_zone_t *z;
	assert_int_equal(cdns_zone_builder_finish(b, NULL, NULL, &z), 0);
	double t2 = now();
	long rss2 = rss_kib();
	long hwm = hwm_kib();
	/* What the zone itself holds, once freed builder memory goes back to the system. */
	malloc_trim(0);
	long rss3 = rss_kib();
	assert_int_equal(cdns_zone_rr_count(z), n + 2);
	assert_int_equal(cdns_zone_node_count(z), n + 1);
	/* Spot checks. */
	assert_non_null(find(z, "h0.example."));
	if (n > 123456)
		assert_non_null(find(z, "H123456.example."));
	for (size_t i = 2; i < cdns_zone_node_count(z); i += 9973)
		assert_true(cdns_name_cmp(cdns_zone_node(z, i - 1)->owner,
		                          cdns_zone_node(z, i)->owner) < 0);
	/* Lookups: every name once. */
	double t3 = now();
	for (unsigned i = 0; i < n; i++) {
		uint8_t owner[32];
		int l = snprintf((char *)owner + 1, sizeof(owner) - 1, "h%u", i);
		owner[0] = (uint8_t)l;
		memcpy(owner + 1 + l, "\007example", 9);
		assert_non_null(cdns_zone_find(z, owner, cdns_name_hash(owner)));
	}
	double t4 = now();
	print_message("big zone: %u A records: add %.3f s, finish %.3f s, total %.3f s; "
	              "RSS after add +%ld KiB, after finish +%ld KiB, zone alone +%ld KiB "
	              "(%.1f bytes/record), peak RSS of the process %ld KiB; %u lookups %.3f s\n",
	              n, t1 - t0, t2 - t1, t2 - t0, rss1 - rss0, rss2 - rss0, rss3 - rss0,
	              n ? (rss3 - rss0) * 1024.0 / n : 0.0, hwm, n, t4 - t3);
	cdns_zone_unref(z);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_minimal_zone),
	    cmocka_unit_test(test_merge_duplicates),
	    cmocka_unit_test(test_canonical_order),
	    cmocka_unit_test(test_rdata_order),
	    cmocka_unit_test(test_ents),
	    cmocka_unit_test(test_flags),
	    cmocka_unit_test(test_lookup),
	    cmocka_unit_test(test_ttl_lowest),
	    cmocka_unit_test(test_errors),
	    cmocka_unit_test(test_warnings),
	    cmocka_unit_test(test_add_invalid),
	    cmocka_unit_test(test_refcount),
	    cmocka_unit_test(test_zoneset),
	    cmocka_unit_test(test_write_reparse),
	    cmocka_unit_test(test_big_zone),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
