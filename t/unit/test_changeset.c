/* Unit tests of serial arithmetic (RFC 1982), changesets, cdns_changeset_merge and
 * cdns_zone_apply (sdk/lib/changeset.c). Zones and records are written as text
 * ("owner ttl TYPE rdata", absolute names) and converted with the library's RDATA parser. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include <clouddns/changeset.h>
#include <clouddns/clouddns.h>

/* ---------------------------------------------------------------------------------------- */
/* Helpers                                                                                    */

#define MAX_MSGS 32

typedef struct msgs {
	unsigned n, errors, warnings;
	char text[MAX_MSGS][512];
} msgs_t;

static void collect(void *ctx, int severity, const char *file, unsigned line, const char *text)
{
	msgs_t *m = ctx;
	if (severity == CDNS_ZONE_ERROR)
		m->errors++;
	else
		m->warnings++;
	if (m->n < MAX_MSGS)
		snprintf(m->text[m->n++], sizeof(m->text[0]), "%s", text);
}

static bool has_msg(const msgs_t *m, const char *a, const char *b)
{
	for (unsigned i = 0; i < m->n; i++)
		if (strstr(m->text[i], a) != NULL && (b == NULL || strstr(m->text[i], b) != NULL))
			return true;
	return false;
}

static void name(const char *text, uint8_t *out)
{
	assert_true(cdns_name_from_text(text, strlen(text), NULL, out) > 0);
}

typedef struct rr {
	uint8_t owner[CDNS_NAME_MAXLEN];
	uint16_t type;
	uint32_t ttl;
	uint8_t rdata[1024];
	uint16_t rdlen;
} rr_t;

/* "owner ttl TYPE rdata..." with absolute names. */
static void parse_rr(const char *line, rr_t *rr)
{
	char owner[300], type[32];
	int n = 0;
	assert_int_equal(sscanf(line, "%299s %u %31s %n", owner, &rr->ttl, type, &n), 3);
	name(owner, rr->owner);
	assert_int_equal(cdns_rrtype_from_text(type, strlen(type), &rr->type), 0);
	cdns_text_err_t err;
	const char *rt = line + n;
	int len = cdns_rdata_from_text(rr->type, rt, strlen(rt), NULL, rr->rdata, sizeof(rr->rdata),
	                               &err);
	if (len < 0)
		fail_msg("bad rdata in '%s': %s", line, err.msg);
	rr->rdlen = (uint16_t)len;
}

static cdns_zone_t *zone_from(const char *apex_text, const char *const *lines, msgs_t *m)
{
	uint8_t apex[CDNS_NAME_MAXLEN];
	name(apex_text, apex);
	cdns_zone_builder_t *b = cdns_zone_builder_new(apex, CDNS_C_IN);
	assert_non_null(b);
	for (size_t i = 0; lines[i] != NULL; i++) {
		rr_t rr;
		parse_rr(lines[i], &rr);
		assert_int_equal(cdns_zone_builder_add(b, rr.owner, rr.type, CDNS_C_IN, rr.ttl,
		                                       rr.rdata, rr.rdlen, NULL, 0),
		                 0);
	}
	cdns_zone_t *z = NULL;
	assert_int_equal(cdns_zone_builder_finish(b, collect, m, &z), 0);
	return z;
}

static void cs_soa(cdns_changeset_t *cs, int which, const char *line)
{
	rr_t rr;
	parse_rr(line, &rr);
	assert_int_equal(rr.type, CDNS_T_SOA);
	assert_int_equal(cdns_changeset_set_soa(cs, which, rr.ttl, rr.rdata, rr.rdlen), 0);
}

static int cs_rr(cdns_changeset_t *cs, int section, const char *line)
{
	rr_t rr;
	parse_rr(line, &rr);
	if (section == CDNS_CS_REMOVED)
		return cdns_changeset_remove(cs, rr.owner, rr.type, CDNS_C_IN, rr.ttl, rr.rdata,
		                             rr.rdlen);
	return cdns_changeset_add(cs, rr.owner, rr.type, CDNS_C_IN, rr.ttl, rr.rdata, rr.rdlen);
}

static cdns_changeset_t *new_cs(const char *apex_text)
{
	uint8_t apex[CDNS_NAME_MAXLEN];
	name(apex_text, apex);
	cdns_changeset_t *cs = cdns_changeset_new(apex, CDNS_C_IN);
	assert_non_null(cs);
	return cs;
}

/* Does the zone hold exactly this RR (TTL included: the RRset's TTL)? */
static bool zone_has(const cdns_zone_t *z, const char *line)
{
	rr_t rr;
	parse_rr(line, &rr);
	uint8_t l[CDNS_NAME_MAXLEN];
	cdns_name_copy_lower(l, rr.owner);
	const cdns_znode_t *n = cdns_zone_find(z, l, cdns_name_hash(l));
	if (n == NULL)
		return false;
	const cdns_rrset_t *s = cdns_znode_rrset(n, rr.type);
	if (s == NULL || s->ttl != rr.ttl)
		return false;
	size_t pos = 0;
	const uint8_t *rd;
	uint16_t len;
	while (cdns_rrset_next(s, &pos, &rd, &len))
		if (len == rr.rdlen && memcmp(rd, rr.rdata, len) == 0)
			return true;
	return false;
}

static size_t rrset_count(const cdns_zone_t *z, const char *owner, uint16_t type)
{
	uint8_t o[CDNS_NAME_MAXLEN];
	name(owner, o);
	cdns_name_lower(o);
	const cdns_znode_t *n = cdns_zone_find(z, o, cdns_name_hash(o));
	if (n == NULL)
		return 0;
	const cdns_rrset_t *s = cdns_znode_rrset(n, type);
	return s == NULL ? 0 : s->count;
}

/* The zone as canonical master-file text (caller frees). */
static char *zone_text(const cdns_zone_t *z)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	assert_non_null(f);
	assert_int_equal(cdns_zone_write(z, f), 0);
	fclose(f);
	return buf;
}

#define SOA1 "example.test. 3600 SOA ns1.example.test. admin.example.test. 1 7200 900 1209600 300"
#define SOA2 "example.test. 3600 SOA ns1.example.test. admin.example.test. 2 7200 900 1209600 300"
#define SOA3 "example.test. 3600 SOA ns1.example.test. admin.example.test. 3 7200 900 1209600 300"

static const char *const base_zone[] = {
    SOA1,
    "example.test. 3600 NS ns1.example.test.",
    "example.test. 3600 NS ns2.example.test.",
    "ns1.example.test. 3600 A 192.0.2.53",
    "ns2.example.test. 3600 A 192.0.2.54",
    "www.example.test. 300 A 192.0.2.1",
    "www.example.test. 300 A 192.0.2.2",
    "example.test. 3600 MX 10 Mail.Example.test.",
    "mail.example.test. 3600 A 192.0.2.25",
    "a.b.c.example.test. 60 TXT \"deep\"",
    NULL,
};

/* ---------------------------------------------------------------------------------------- */
/* Serial arithmetic                                                                          */

static void test_serial_cmp(void **state)
{
	(void)state;
	assert_int_equal(cdns_serial_cmp(5, 5), 0);
	assert_int_equal(cdns_serial_cmp(0, 1), -1);
	assert_int_equal(cdns_serial_cmp(1, 0), 1);
	/* RFC 1982 §3.2: the largest step that is still "greater". */
	assert_int_equal(cdns_serial_cmp(0, 0x7fffffff), -1);
	assert_int_equal(cdns_serial_cmp(0x7fffffff, 0), 1);
	/* Wrap: 0 follows 0xffffffff. */
	assert_int_equal(cdns_serial_cmp(0xffffffff, 0), -1);
	assert_int_equal(cdns_serial_cmp(0, 0xffffffff), 1);
	assert_int_equal(cdns_serial_cmp(0xfffffff0, 0x10), -1);
	assert_int_equal(cdns_serial_cmp(0x80000000, 0x7fffffff), 1);
	/* More than 2^31 ahead is behind. */
	assert_int_equal(cdns_serial_cmp(0, 0x80000001), 1);
	assert_int_equal(cdns_serial_cmp(0x80000001, 0), -1);
	/* Exactly 2^31 apart: undefined, in both directions. */
	assert_int_equal(cdns_serial_cmp(0, 0x80000000), CDNS_SERIAL_UNDEFINED);
	assert_int_equal(cdns_serial_cmp(0x80000000, 0), CDNS_SERIAL_UNDEFINED);
	assert_int_equal(cdns_serial_cmp(1, 0x80000001), CDNS_SERIAL_UNDEFINED);
	assert_int_equal(cdns_serial_cmp(0xffffffff, 0x7fffffff), CDNS_SERIAL_UNDEFINED);
	/* RFC 1982 §5.2's examples scaled up: with 2-bit serials 0<1, 1<2, 2<3, 3<0, and 0 vs 2
	 * is undefined; the same in the top bits of 32. */
	uint32_t q = 0x40000000;
	assert_int_equal(cdns_serial_cmp(0, q), -1);
	assert_int_equal(cdns_serial_cmp(q, 2 * q), -1);
	assert_int_equal(cdns_serial_cmp(2 * q, 3 * q), -1);
	assert_int_equal(cdns_serial_cmp(3 * q, 0), -1);
	assert_int_equal(cdns_serial_cmp(0, 2 * q), CDNS_SERIAL_UNDEFINED);
	assert_int_equal(cdns_serial_cmp(q, 3 * q), CDNS_SERIAL_UNDEFINED);
}

/* 2024-03-05 12:00:00 UTC */
#define T_20240305 ((time_t)1709640000)

static void test_serial_next(void **state)
{
	(void)state;
	/* Increment, with wrap. */
	assert_int_equal(cdns_serial_next(5, CDNS_SERIAL_INCREMENT, 0), 6);
	assert_int_equal(cdns_serial_next(0xffffffff, CDNS_SERIAL_INCREMENT, 0), 0);
	assert_int_equal(
	    cdns_serial_cmp(cdns_serial_next(0xffffffff, CDNS_SERIAL_INCREMENT, 0), 0xffffffff), 1);

	/* Unix time: now if ahead, else +1. */
	assert_int_equal(cdns_serial_next(100, CDNS_SERIAL_UNIXTIME, T_20240305),
	                 (uint32_t)T_20240305);
	assert_int_equal(cdns_serial_next((uint32_t)T_20240305, CDNS_SERIAL_UNIXTIME, T_20240305),
	                 (uint32_t)T_20240305 + 1);
	assert_int_equal(cdns_serial_next(1800000000u, CDNS_SERIAL_UNIXTIME, T_20240305),
	                 1800000001u);
	/* now is exactly 2^31 ahead: not "greater" (undefined), so +1. */
	assert_int_equal(
	    cdns_serial_next((uint32_t)T_20240305 - 0x80000000u, CDNS_SERIAL_UNIXTIME, T_20240305),
	    (uint32_t)T_20240305 - 0x80000000u + 1);
	/* More than 2^31 ahead is behind in RFC 1982 terms: +1. */
	assert_int_equal(cdns_serial_next(5, CDNS_SERIAL_UNIXTIME, (time_t)0x80000010), 6);

	/* Date serial. */
	assert_int_equal(cdns_serial_next(1, CDNS_SERIAL_DATESERIAL, T_20240305), 2024030500u);
	assert_int_equal(cdns_serial_next(2024030407u, CDNS_SERIAL_DATESERIAL, T_20240305),
	                 2024030500u);
	assert_int_equal(cdns_serial_next(2024030500u, CDNS_SERIAL_DATESERIAL, T_20240305),
	                 2024030501u);
	/* The 100th change of a day borrows tomorrow's date. */
	assert_int_equal(cdns_serial_next(2024030599u, CDNS_SERIAL_DATESERIAL, T_20240305),
	                 2024030600u);
	/* Date part ahead of today (a clock set back, or a serial set by hand): increment. */
	assert_int_equal(cdns_serial_next(2025010100u, CDNS_SERIAL_DATESERIAL, T_20240305),
	                 2025010101u);
	/* A unixtime-style serial below the date: the date wins. */
	assert_int_equal(cdns_serial_next(1709640000u, CDNS_SERIAL_DATESERIAL, T_20240305),
	                 2024030500u);
	/* Wrap: 0xffffffff is behind 2024030500 in RFC 1982 terms. */
	assert_int_equal(cdns_serial_next(0xffffffffu, CDNS_SERIAL_DATESERIAL, T_20240305),
	                 2024030500u);
	/* Every result is greater than its input. */
	const uint32_t cur[] = {0,           1,          2024030500u, 2024030599u, 0x7fffffff,
	                        0x80000000u, 0xfffffffe, 0xffffffff,  4000000000u};
	const cdns_serial_policy_t pol[] = {CDNS_SERIAL_INCREMENT, CDNS_SERIAL_UNIXTIME,
	                                    CDNS_SERIAL_DATESERIAL};
	for (size_t i = 0; i < sizeof(cur) / sizeof(cur[0]); i++)
		for (size_t k = 0; k < 3; k++)
			assert_int_equal(
			    cdns_serial_cmp(cdns_serial_next(cur[i], pol[k], T_20240305), cur[i]),
			    1);
}

static void test_soa_serial(void **state)
{
	(void)state;
	rr_t rr;
	parse_rr(SOA2, &rr);
	uint32_t s = 0;
	assert_int_equal(cdns_soa_serial(rr.rdata, rr.rdlen, &s), 0);
	assert_int_equal(s, 2);
	assert_int_equal(cdns_soa_serial(rr.rdata, 21, &s), CDNS_EFORMAT);
}

/* ---------------------------------------------------------------------------------------- */
/* Building changesets                                                                        */

static void test_changeset_build(void **state)
{
	(void)state;
	cdns_changeset_t *cs = new_cs("Example.TEST.");
	uint8_t apex[CDNS_NAME_MAXLEN];
	name("Example.TEST.", apex);
	assert_memory_equal(cdns_changeset_apex(cs), apex, cdns_name_len(apex));
	assert_int_equal(cdns_changeset_class(cs), CDNS_C_IN);

	cdns_changeset_rr_t rr;
	assert_int_equal(cdns_changeset_soa(cs, CDNS_CS_BEFORE, &rr), CDNS_ENOENT);
	assert_int_equal(cdns_changeset_serial(cs, CDNS_CS_BEFORE), 0);
	cs_soa(cs, CDNS_CS_BEFORE, SOA1);
	cs_soa(cs, CDNS_CS_AFTER, SOA3);
	cs_soa(cs, CDNS_CS_AFTER, SOA2); /* replaces */
	assert_int_equal(cdns_changeset_serial(cs, CDNS_CS_BEFORE), 1);
	assert_int_equal(cdns_changeset_serial(cs, CDNS_CS_AFTER), 2);
	assert_int_equal(cdns_changeset_soa(cs, CDNS_CS_AFTER, &rr), 0);
	assert_int_equal(rr.type, CDNS_T_SOA);
	assert_int_equal(rr.ttl, 3600);
	assert_true(cdns_name_equal(rr.owner, apex));
	assert_int_equal(cdns_changeset_soa(cs, 7, &rr), CDNS_EINVAL);

	assert_int_equal(cs_rr(cs, CDNS_CS_REMOVED, "www.example.test. 300 A 192.0.2.1"), 0);
	assert_int_equal(cs_rr(cs, CDNS_CS_ADDED, "WWW.example.test. 300 A 192.0.2.9"), 0);
	assert_int_equal(cs_rr(cs, CDNS_CS_ADDED, "new.example.test. 60 TXT \"hello\""), 0);
	/* Not allowed: SOA through add, records outside the zone, meta types. */
	assert_int_equal(cs_rr(cs, CDNS_CS_ADDED, SOA3), CDNS_EINVAL);
	assert_int_equal(cs_rr(cs, CDNS_CS_ADDED, "www.other.test. 300 A 192.0.2.1"), CDNS_EINVAL);
	assert_int_equal(cs_rr(cs, CDNS_CS_ADDED, "example. 300 A 192.0.2.1"), CDNS_EINVAL);
	uint8_t o[CDNS_NAME_MAXLEN], rd[4] = {192, 0, 2, 1};
	name("x.example.test.", o);
	assert_int_equal(cdns_changeset_add(cs, o, CDNS_T_ANY, CDNS_C_IN, 0, NULL, 0), CDNS_EINVAL);
	assert_int_equal(cdns_changeset_add(cs, o, CDNS_T_A, CDNS_C_CH, 0, rd, 4), CDNS_EINVAL);
	assert_int_equal(cdns_changeset_add(cs, o, CDNS_T_A, CDNS_C_IN, 0, rd, 3), CDNS_EINVAL);
	assert_int_equal(cdns_changeset_set_soa(cs, CDNS_CS_AFTER, 0, rd, 4), CDNS_EINVAL);

	assert_int_equal(cdns_changeset_count(cs, CDNS_CS_REMOVED), 1);
	assert_int_equal(cdns_changeset_count(cs, CDNS_CS_ADDED), 2);
	assert_int_equal(cdns_changeset_count(cs, 5), 0);
	assert_null(cdns_changeset_rr(cs, CDNS_CS_ADDED, 2));
	const cdns_changeset_rr_t *r = cdns_changeset_rr(cs, CDNS_CS_ADDED, 0);
	assert_non_null(r);
	uint8_t www[CDNS_NAME_MAXLEN];
	name("WWW.example.test.", www);
	assert_memory_equal(r->owner, www, cdns_name_len(www)); /* case kept */
	assert_int_equal(r->type, CDNS_T_A);
	assert_int_equal(r->rdlen, 4);
	assert_int_equal(r->rdata[3], 9);
	assert_int_equal(r->ttl, 300);
	r = cdns_changeset_rr(cs, CDNS_CS_ADDED, 1);
	assert_int_equal(r->type, CDNS_T_TXT);

	/* Size: owners + 10 + RDATA per RR, both SOAs. */
	size_t apex_len = cdns_name_len(apex), soa_len;
	assert_int_equal(cdns_changeset_soa(cs, CDNS_CS_BEFORE, &rr), 0);
	soa_len = rr.rdlen;
	size_t want = 2 * (apex_len + 10 + soa_len) + (18 + 10 + 4) + (18 + 10 + 4) + (18 + 10 + 6);
	assert_int_equal(cdns_changeset_size(cs), want);

	/* Many RRs: the arena grows in blocks, pointers stay valid. */
	for (unsigned i = 0; i < 5000; i++) {
		char line[320];
		snprintf(line, sizeof(line), "h%u.example.test. 60 TXT \"%0200u\"", i, i);
		assert_int_equal(cs_rr(cs, CDNS_CS_ADDED, line), 0);
	}
	r = cdns_changeset_rr(cs, CDNS_CS_ADDED, 2);
	assert_int_equal(r->rdlen, 201);
	assert_memory_equal(r->rdata + 1, "00000", 5);
	r = cdns_changeset_rr(cs, CDNS_CS_ADDED, 5001);
	assert_memory_equal(r->rdata + 1 + 196, "4999", 4);

	cdns_changeset_clear(cs);
	assert_int_equal(cdns_changeset_count(cs, CDNS_CS_ADDED), 0);
	assert_int_equal(cdns_changeset_soa(cs, CDNS_CS_BEFORE, NULL), CDNS_ENOENT);
	assert_int_equal(cdns_changeset_size(cs), 0);
	assert_int_equal(cs_rr(cs, CDNS_CS_ADDED, "www.example.test. 300 A 192.0.2.1"), 0);
	assert_int_equal(cdns_changeset_count(cs, CDNS_CS_ADDED), 1);
	cdns_changeset_free(cs);
	cdns_changeset_free(NULL);

	uint8_t bad[80] = {64}; /* a label of 64 octets */
	assert_null(cdns_changeset_new(bad, CDNS_C_IN));
}

/* ---------------------------------------------------------------------------------------- */
/* Apply                                                                                      */

static void test_apply_good(void **state)
{
	(void)state;
	msgs_t m = {0};
	cdns_zone_t *z = zone_from("example.test.", base_zone, &m);
	assert_int_equal(cdns_zone_serial(z), 1);

	cdns_changeset_t *cs = new_cs("example.test.");
	cs_soa(cs, CDNS_CS_BEFORE, SOA1);
	cs_soa(cs, CDNS_CS_AFTER, SOA2);
	assert_int_equal(cs_rr(cs, CDNS_CS_REMOVED, "www.example.test. 300 A 192.0.2.1"), 0);
	assert_int_equal(cs_rr(cs, CDNS_CS_ADDED, "www.example.test. 300 A 192.0.2.3"), 0);
	assert_int_equal(cs_rr(cs, CDNS_CS_ADDED, "New.example.test. 60 AAAA 2001:db8::1"), 0);
	/* The whole subtree of a.b.c goes: the empty non-terminals b.c and c go with it. */
	assert_int_equal(cs_rr(cs, CDNS_CS_REMOVED, "a.b.c.example.test. 60 TXT \"deep\""), 0);

	cdns_zone_t *z2 = NULL;
	memset(&m, 0, sizeof(m));
	assert_int_equal(cdns_zone_apply(z, cs, collect, &m, &z2), 0);
	assert_non_null(z2);
	assert_int_equal(m.errors, 0);
	assert_int_equal(cdns_zone_serial(z2), 2);
	assert_true(zone_has(z2, SOA2));
	assert_false(zone_has(z2, "www.example.test. 300 A 192.0.2.1"));
	assert_true(zone_has(z2, "www.example.test. 300 A 192.0.2.2"));
	assert_true(zone_has(z2, "www.example.test. 300 A 192.0.2.3"));
	assert_int_equal(rrset_count(z2, "www.example.test.", CDNS_T_A), 2);
	assert_true(zone_has(z2, "new.example.test. 60 AAAA 2001:db8::1"));
	/* Unchanged records keep their RDATA as written. */
	assert_true(zone_has(z2, "example.test. 3600 MX 10 Mail.Example.test."));
	assert_int_equal(rrset_count(z2, "example.test.", CDNS_T_SOA), 1);
	assert_int_equal(rrset_count(z2, "example.test.", CDNS_T_NS), 2);
	assert_int_equal(rrset_count(z2, "a.b.c.example.test.", CDNS_T_TXT), 0);
	uint8_t c[CDNS_NAME_MAXLEN];
	name("c.example.test.", c);
	assert_null(cdns_zone_find(z2, c, cdns_name_hash(c)));
	assert_int_equal(cdns_zone_rr_count(z2), cdns_zone_rr_count(z) + 2 - 2);
	/* The owner's spelling as added is kept. */
	name("new.example.test.", c);
	const cdns_znode_t *n = cdns_zone_find(z2, c, cdns_name_hash(c));
	assert_non_null(n);
	assert_int_equal(n->owner_case[1], 'N');

	/* The old version is untouched. */
	assert_int_equal(cdns_zone_serial(z), 1);
	assert_true(zone_has(z, "www.example.test. 300 A 192.0.2.1"));
	assert_true(zone_has(z, "a.b.c.example.test. 60 TXT \"deep\""));
	assert_false(zone_has(z, "new.example.test. 60 AAAA 2001:db8::1"));

	cdns_changeset_free(cs);
	cdns_zone_unref(z2);
	cdns_zone_unref(z);
}

static void test_apply_case_and_ttl(void **state)
{
	(void)state;
	msgs_t m = {0};
	cdns_zone_t *z = zone_from("example.test.", base_zone, &m);

	/* Removal matches owner and names in RDATA without case, and ignores the TTL. */
	cdns_changeset_t *cs = new_cs("EXAMPLE.test.");
	cs_soa(cs, CDNS_CS_BEFORE, SOA1);
	cs_soa(cs, CDNS_CS_AFTER, SOA2);
	assert_int_equal(cs_rr(cs, CDNS_CS_REMOVED, "EXAMPLE.TEST. 0 MX 10 mail.example.TEST."), 0);
	assert_int_equal(cs_rr(cs, CDNS_CS_REMOVED, "WWW.example.test. 0 A 192.0.2.1"), 0);
	assert_int_equal(cs_rr(cs, CDNS_CS_REMOVED, "www.example.test. 0 A 192.0.2.2"), 0);
	/* A TTL change: remove and re-add with the new TTL. */
	assert_int_equal(cs_rr(cs, CDNS_CS_ADDED, "www.example.test. 900 A 192.0.2.1"), 0);
	assert_int_equal(cs_rr(cs, CDNS_CS_ADDED, "www.example.test. 900 A 192.0.2.2"), 0);
	cdns_zone_t *z2 = NULL;
	memset(&m, 0, sizeof(m));
	assert_int_equal(cdns_zone_apply(z, cs, collect, &m, &z2), 0);
	assert_int_equal(rrset_count(z2, "example.test.", CDNS_T_MX), 0);
	assert_true(zone_has(z2, "www.example.test. 900 A 192.0.2.1"));
	assert_true(zone_has(z2, "www.example.test. 900 A 192.0.2.2"));
	assert_int_equal(m.warnings, 0);
	cdns_changeset_free(cs);
	cdns_zone_unref(z2);
	cdns_zone_unref(z);
}

static void test_apply_missing_removed(void **state)
{
	(void)state;
	msgs_t m = {0};
	cdns_zone_t *z = zone_from("example.test.", base_zone, &m);
	cdns_changeset_t *cs = new_cs("example.test.");
	cs_soa(cs, CDNS_CS_BEFORE, SOA1);
	cs_soa(cs, CDNS_CS_AFTER, SOA2);
	assert_int_equal(cs_rr(cs, CDNS_CS_REMOVED, "www.example.test. 300 A 192.0.2.99"), 0);
	assert_int_equal(cs_rr(cs, CDNS_CS_REMOVED, "nothere.example.test. 300 A 192.0.2.1"), 0);
	assert_int_equal(cs_rr(cs, CDNS_CS_REMOVED, "www.example.test. 300 AAAA ::1"), 0);
	cdns_zone_t *z2 = (cdns_zone_t *)1;
	memset(&m, 0, sizeof(m));
	assert_int_equal(cdns_zone_apply(z, cs, collect, &m, &z2), CDNS_ENOENT);
	assert_null(z2);
	assert_int_equal(m.errors, 3);
	assert_true(has_msg(&m, "www.example.test. A 192.0.2.99", "not in the zone"));
	assert_true(has_msg(&m, "nothere.example.test. A 192.0.2.1", "not in the zone"));
	assert_true(has_msg(&m, "www.example.test. AAAA ::1", "not in the zone"));
	cdns_changeset_free(cs);

	/* The same RR removed twice. */
	cs = new_cs("example.test.");
	cs_soa(cs, CDNS_CS_BEFORE, SOA1);
	cs_soa(cs, CDNS_CS_AFTER, SOA2);
	assert_int_equal(cs_rr(cs, CDNS_CS_REMOVED, "www.example.test. 300 A 192.0.2.1"), 0);
	assert_int_equal(cs_rr(cs, CDNS_CS_REMOVED, "WWW.example.test. 1 A 192.0.2.1"), 0);
	memset(&m, 0, sizeof(m));
	assert_int_equal(cdns_zone_apply(z, cs, collect, &m, &z2), CDNS_ENOENT);
	assert_true(has_msg(&m, "A 192.0.2.1", "removed twice"));
	cdns_changeset_free(cs);
	cdns_zone_unref(z);
}

static void test_apply_soa_mismatch(void **state)
{
	(void)state;
	msgs_t m = {0};
	cdns_zone_t *z = zone_from("example.test.", base_zone, &m);
	cdns_changeset_t *cs = new_cs("example.test.");
	cs_soa(cs, CDNS_CS_BEFORE, SOA2); /* the zone is at 1 */
	cs_soa(cs, CDNS_CS_AFTER, SOA3);
	cdns_zone_t *z2 = NULL;
	assert_int_equal(cdns_zone_apply(z, cs, collect, &m, &z2), CDNS_EINVAL);
	assert_null(z2);
	assert_true(has_msg(&m, "SOA before (serial 2)", "serial 1"));
	cdns_changeset_free(cs);

	/* Same serial, other RDATA. */
	cs = new_cs("example.test.");
	cs_soa(cs, CDNS_CS_BEFORE,
	       "example.test. 3600 SOA ns1.example.test. other.example.test. 1 7200 900 "
	       "1209600 300");
	cs_soa(cs, CDNS_CS_AFTER, SOA2);
	memset(&m, 0, sizeof(m));
	assert_int_equal(cdns_zone_apply(z, cs, collect, &m, &z2), CDNS_EINVAL);
	cdns_changeset_free(cs);

	/* A missing SOA, another zone. */
	cs = new_cs("example.test.");
	cs_soa(cs, CDNS_CS_BEFORE, SOA1);
	memset(&m, 0, sizeof(m));
	assert_int_equal(cdns_zone_apply(z, cs, collect, &m, &z2), CDNS_EINVAL);
	assert_true(has_msg(&m, "lacks its SOA after", NULL));
	cdns_changeset_free(cs);
	cs = new_cs("other.test.");
	memset(&m, 0, sizeof(m));
	assert_int_equal(cdns_zone_apply(z, cs, collect, &m, &z2), CDNS_EINVAL);
	assert_true(has_msg(&m, "another zone", NULL));
	assert_int_equal(cdns_zone_apply(z, cs, NULL, NULL, &z2), CDNS_EINVAL);
	assert_int_equal(cdns_zone_apply(NULL, cs, NULL, NULL, &z2), CDNS_EINVAL);
	cdns_changeset_free(cs);
	cdns_zone_unref(z);
}

static void test_apply_serial_not_increasing(void **state)
{
	(void)state;
	msgs_t m = {0};
	const char *const lines[] = {
	    "example.test. 3600 SOA ns1.example.test. admin.example.test. 4294967295 7200 900 "
	    "1209600 300",
	    "example.test. 3600 NS ns1.example.test.",
	    "ns1.example.test. 3600 A 192.0.2.53",
	    NULL,
	};
	cdns_zone_t *z = zone_from("example.test.", lines, &m);
#define SOA_FMT                                                                                    \
	"example.test. 3600 SOA ns1.example.test. admin.example.test. %u 7200 900 1209600 300"
	struct {
		uint32_t after;
		int ret;
		const char *msg;
	} cases[] = {
	    {4294967295u, CDNS_ERANGE, "equal to"},
	    {4294967294u, CDNS_ERANGE, "lower than"},
	    {2147483647u, CDNS_ERANGE, "2^31 away"},
	    {0, 0, NULL}, /* wraps: 0 follows 4294967295 (RFC 1982) */
	    {2147483646u, 0, NULL},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char after[256];
		snprintf(after, sizeof(after), SOA_FMT, cases[i].after);
		cdns_changeset_t *cs = new_cs("example.test.");
		cs_soa(cs, CDNS_CS_BEFORE, lines[0]);
		cs_soa(cs, CDNS_CS_AFTER, after);
		cdns_zone_t *z2 = NULL;
		memset(&m, 0, sizeof(m));
		assert_int_equal(cdns_zone_apply(z, cs, collect, &m, &z2), cases[i].ret);
		if (cases[i].ret == 0) {
			assert_int_equal(cdns_zone_serial(z2), cases[i].after);
			cdns_zone_unref(z2);
		} else {
			assert_null(z2);
			assert_true(has_msg(&m, cases[i].msg, "RFC 1982"));
		}
		cdns_changeset_free(cs);
	}
	cdns_zone_unref(z);
}

static void test_apply_add_existing(void **state)
{
	(void)state;
	msgs_t m = {0};
	cdns_zone_t *z = zone_from("example.test.", base_zone, &m);
	cdns_changeset_t *cs = new_cs("example.test.");
	cs_soa(cs, CDNS_CS_BEFORE, SOA1);
	cs_soa(cs, CDNS_CS_AFTER, SOA2);
	/* Exists (other TTL, other case: still the same RR). */
	assert_int_equal(cs_rr(cs, CDNS_CS_ADDED, "WWW.example.test. 60 A 192.0.2.1"), 0);
	assert_int_equal(cs_rr(cs, CDNS_CS_ADDED, "example.test. 3600 NS NS2.example.test."), 0);
	cdns_zone_t *z2 = NULL;
	assert_int_equal(cdns_zone_apply(z, cs, collect, &m, &z2), CDNS_EEXIST);
	assert_null(z2);
	assert_int_equal(m.errors, 2);
	assert_true(has_msg(&m, "A 192.0.2.1", "already in the zone"));
	assert_true(has_msg(&m, "NS NS2.example.test.", "already in the zone"));
	cdns_changeset_free(cs);

	/* The same new RR added twice. */
	cs = new_cs("example.test.");
	cs_soa(cs, CDNS_CS_BEFORE, SOA1);
	cs_soa(cs, CDNS_CS_AFTER, SOA2);
	assert_int_equal(cs_rr(cs, CDNS_CS_ADDED, "x.example.test. 60 CNAME www.example.test."), 0);
	assert_int_equal(cs_rr(cs, CDNS_CS_ADDED, "X.example.test. 60 CNAME WWW.example.test."), 0);
	memset(&m, 0, sizeof(m));
	assert_int_equal(cdns_zone_apply(z, cs, collect, &m, &z2), CDNS_EEXIST);
	assert_true(has_msg(&m, "CNAME", "added twice"));
	cdns_changeset_free(cs);

	/* Several errors: each reported, the first one's code returned. */
	cs = new_cs("example.test.");
	cs_soa(cs, CDNS_CS_BEFORE, SOA1);
	cs_soa(cs, CDNS_CS_AFTER, SOA1);
	assert_int_equal(cs_rr(cs, CDNS_CS_REMOVED, "gone.example.test. 60 A 192.0.2.1"), 0);
	assert_int_equal(cs_rr(cs, CDNS_CS_ADDED, "www.example.test. 60 A 192.0.2.1"), 0);
	memset(&m, 0, sizeof(m));
	assert_int_equal(cdns_zone_apply(z, cs, collect, &m, &z2), CDNS_ERANGE);
	assert_int_equal(m.errors, 3);
	cdns_changeset_free(cs);
	cdns_zone_unref(z);
}

static void test_apply_builder_checks(void **state)
{
	(void)state;
	msgs_t m = {0};
	cdns_zone_t *z = zone_from("example.test.", base_zone, &m);
	/* A CNAME beside other data: the builder's check (RFC 2181 §10.1). */
	cdns_changeset_t *cs = new_cs("example.test.");
	cs_soa(cs, CDNS_CS_BEFORE, SOA1);
	cs_soa(cs, CDNS_CS_AFTER, SOA2);
	assert_int_equal(cs_rr(cs, CDNS_CS_ADDED, "www.example.test. 60 CNAME mail.example.test."),
	                 0);
	cdns_zone_t *z2 = NULL;
	assert_int_equal(cdns_zone_apply(z, cs, collect, &m, &z2), CDNS_EINVAL);
	assert_null(z2);
	assert_true(m.errors >= 1);
	assert_true(has_msg(&m, "CNAME", NULL));
	cdns_changeset_free(cs);

	/* Removing every apex NS. */
	cs = new_cs("example.test.");
	cs_soa(cs, CDNS_CS_BEFORE, SOA1);
	cs_soa(cs, CDNS_CS_AFTER, SOA2);
	assert_int_equal(cs_rr(cs, CDNS_CS_REMOVED, "example.test. 3600 NS ns1.example.test."), 0);
	assert_int_equal(cs_rr(cs, CDNS_CS_REMOVED, "example.test. 3600 NS ns2.example.test."), 0);
	memset(&m, 0, sizeof(m));
	assert_int_equal(cdns_zone_apply(z, cs, collect, &m, &z2), CDNS_EINVAL);
	assert_true(has_msg(&m, "NS", NULL));
	cdns_changeset_free(cs);

	/* An added RR whose TTL differs from its RRset: the lowest wins, with a warning. */
	cs = new_cs("example.test.");
	cs_soa(cs, CDNS_CS_BEFORE, SOA1);
	cs_soa(cs, CDNS_CS_AFTER, SOA2);
	assert_int_equal(cs_rr(cs, CDNS_CS_ADDED, "www.example.test. 30 A 192.0.2.7"), 0);
	memset(&m, 0, sizeof(m));
	assert_int_equal(cdns_zone_apply(z, cs, collect, &m, &z2), 0);
	assert_int_equal(m.warnings, 1);
	assert_true(zone_has(z2, "www.example.test. 30 A 192.0.2.1"));
	cdns_zone_unref(z2);
	cdns_changeset_free(cs);
	cdns_zone_unref(z);
}

/* ---------------------------------------------------------------------------------------- */
/* Merge                                                                                      */

static void test_merge(void **state)
{
	(void)state;
	msgs_t m = {0};
	cdns_zone_t *z1 = zone_from("example.test.", base_zone, &m);

	cdns_changeset_t *a = new_cs("example.test.");
	cs_soa(a, CDNS_CS_BEFORE, SOA1);
	cs_soa(a, CDNS_CS_AFTER, SOA2);
	assert_int_equal(cs_rr(a, CDNS_CS_REMOVED, "www.example.test. 300 A 192.0.2.1"), 0);
	assert_int_equal(cs_rr(a, CDNS_CS_ADDED, "tmp.example.test. 60 TXT \"short-lived\""), 0);
	assert_int_equal(cs_rr(a, CDNS_CS_ADDED, "keep.example.test. 60 TXT \"kept\""), 0);
	assert_int_equal(cs_rr(a, CDNS_CS_REMOVED, "mail.example.test. 3600 A 192.0.2.25"), 0);
	assert_int_equal(cs_rr(a, CDNS_CS_ADDED, "mail.example.test. 3600 A 192.0.2.26"), 0);

	cdns_changeset_t *b = new_cs("example.test.");
	cs_soa(b, CDNS_CS_BEFORE, SOA2);
	cs_soa(b, CDNS_CS_AFTER, SOA3);
	assert_int_equal(cs_rr(b, CDNS_CS_REMOVED, "TMP.example.test. 60 TXT \"short-lived\""), 0);
	assert_int_equal(cs_rr(b, CDNS_CS_ADDED, "www.example.test. 300 A 192.0.2.1"), 0);
	assert_int_equal(cs_rr(b, CDNS_CS_REMOVED, "mail.example.test. 3600 A 192.0.2.26"), 0);
	assert_int_equal(cs_rr(b, CDNS_CS_ADDED, "mail.example.test. 3600 A 192.0.2.27"), 0);

	cdns_changeset_t *ab = NULL;
	assert_int_equal(cdns_changeset_merge(a, b, &ab), 0);
	assert_int_equal(cdns_changeset_serial(ab, CDNS_CS_BEFORE), 1);
	assert_int_equal(cdns_changeset_serial(ab, CDNS_CS_AFTER), 3);
	/* removed: www .1 (a), mail .25 (a); tmp cancelled; mail .26 cancelled. */
	assert_int_equal(cdns_changeset_count(ab, CDNS_CS_REMOVED), 2);
	/* added: keep (a), www .1 (b), mail .27 (b). */
	assert_int_equal(cdns_changeset_count(ab, CDNS_CS_ADDED), 3);

	/* Applying the merge gives the same zone as applying a then b. */
	cdns_zone_t *z2 = NULL, *z3 = NULL, *z3m = NULL;
	assert_int_equal(cdns_zone_apply(z1, a, collect, &m, &z2), 0);
	assert_int_equal(cdns_zone_apply(z2, b, collect, &m, &z3), 0);
	assert_int_equal(cdns_zone_apply(z1, ab, collect, &m, &z3m), 0);
	assert_int_equal(m.errors, 0);
	char *t3 = zone_text(z3), *t3m = zone_text(z3m);
	assert_string_equal(t3, t3m);
	assert_non_null(strstr(t3, "keep.example.test."));
	assert_null(strstr(t3, "tmp.example.test."));
	free(t3);
	free(t3m);

	/* Merges that do not follow. */
	cdns_changeset_t *bad = NULL;
	assert_int_equal(cdns_changeset_merge(b, a, &bad), CDNS_EINVAL);
	assert_null(bad);
	cdns_changeset_t *other = new_cs("other.test.");
	assert_int_equal(cdns_changeset_merge(a, other, &bad), CDNS_EINVAL);
	cdns_changeset_free(other);
	/* Merge of merges (journal compaction folds repeatedly). */
	cdns_changeset_t *c = new_cs("example.test.");
	cs_soa(c, CDNS_CS_BEFORE, SOA3);
	cs_soa(c, CDNS_CS_AFTER,
	       "example.test. 3600 SOA ns1.example.test. admin.example.test. 4 7200 900 1209600 "
	       "300");
	assert_int_equal(cs_rr(c, CDNS_CS_REMOVED, "keep.example.test. 60 TXT \"kept\""), 0);
	cdns_changeset_t *abc = NULL;
	assert_int_equal(cdns_changeset_merge(ab, c, &abc), 0);
	assert_int_equal(cdns_changeset_count(abc, CDNS_CS_ADDED), 2);
	cdns_zone_t *z4 = NULL;
	assert_int_equal(cdns_zone_apply(z1, abc, collect, &m, &z4), 0);
	assert_int_equal(cdns_zone_serial(z4), 4);
	assert_int_equal(rrset_count(z4, "keep.example.test.", CDNS_T_TXT), 0);

	cdns_changeset_free(a);
	cdns_changeset_free(b);
	cdns_changeset_free(c);
	cdns_changeset_free(ab);
	cdns_changeset_free(abc);
	cdns_zone_unref(z1);
	cdns_zone_unref(z2);
	cdns_zone_unref(z3);
	cdns_zone_unref(z3m);
	cdns_zone_unref(z4);
}

/* ---------------------------------------------------------------------------------------- */
/* A big zone: O(zone) per change, measured (printed, never asserted)                         */

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Apply cs to z a few times; print the times; the last result. */
static cdns_zone_t *apply_timed(const cdns_zone_t *z, const cdns_changeset_t *cs, const char *what)
{
	const int runs = 5;
	double best = 1e9, total = 0;
	cdns_zone_t *z2 = NULL;
	for (int r = 0; r < runs; r++) {
		cdns_zone_unref(z2);
		z2 = NULL;
		double t0 = now_s();
		assert_int_equal(cdns_zone_apply(z, cs, NULL, NULL, &z2), 0);
		double dt = now_s() - t0;
		total += dt;
		if (dt < best)
			best = dt;
	}
	print_message("apply %s to a zone of %zu records: best %.1f ms, mean %.1f ms (%d runs)\n",
	              what, cdns_zone_rr_count(z), best * 1e3, total / runs * 1e3, runs);
	return z2;
}

static void test_apply_big_zone(void **state)
{
	(void)state;
	const unsigned n = 100000;
	uint8_t apex[CDNS_NAME_MAXLEN];
	name("big.test.", apex);
	cdns_zone_builder_t *b = cdns_zone_builder_new(apex, CDNS_C_IN);
	rr_t rr;
	parse_rr("big.test. 3600 SOA ns.big.test. admin.big.test. 1 7200 900 1209600 300", &rr);
	assert_int_equal(cdns_zone_builder_add(b, apex, CDNS_T_SOA, CDNS_C_IN, 3600, rr.rdata,
	                                       rr.rdlen, NULL, 0),
	                 0);
	parse_rr("big.test. 3600 NS ns.big.test.", &rr);
	assert_int_equal(
	    cdns_zone_builder_add(b, apex, CDNS_T_NS, CDNS_C_IN, 3600, rr.rdata, rr.rdlen, NULL, 0),
	    0);
	/* n A records in all, ns.big.test. among them. */
	for (unsigned i = 0; i < n; i++) {
		char text[64];
		uint8_t owner[CDNS_NAME_MAXLEN];
		if (i == 0)
			snprintf(text, sizeof(text), "ns.big.test.");
		else
			snprintf(text, sizeof(text), "h%u.big.test.", i);
		name(text, owner);
		uint8_t a[4] = {10, (uint8_t)(i >> 16), (uint8_t)(i >> 8), (uint8_t)i};
		assert_int_equal(
		    cdns_zone_builder_add(b, owner, CDNS_T_A, CDNS_C_IN, 300, a, 4, NULL, 0), 0);
	}
	cdns_zone_t *z = NULL;
	assert_int_equal(cdns_zone_builder_finish(b, NULL, NULL, &z), 0);
	assert_int_equal(cdns_zone_rr_count(z), n + 2);

	cdns_changeset_t *cs = new_cs("big.test.");
	cs_soa(cs, CDNS_CS_BEFORE,
	       "big.test. 3600 SOA ns.big.test. admin.big.test. 1 7200 900 1209600 300");
	cs_soa(cs, CDNS_CS_AFTER,
	       "big.test. 3600 SOA ns.big.test. admin.big.test. 2 7200 900 1209600 300");
	assert_int_equal(cs_rr(cs, CDNS_CS_REMOVED, "h4242.big.test. 300 A 10.0.16.146"), 0);
	assert_int_equal(cs_rr(cs, CDNS_CS_ADDED, "h4242.big.test. 300 A 10.0.16.147"), 0);

	cdns_zone_t *z2 = apply_timed(z, cs, "1 changed record");
	assert_int_equal(cdns_zone_serial(z2), 2);
	assert_int_equal(cdns_zone_rr_count(z2), n + 2);
	assert_true(zone_has(z2, "h4242.big.test. 300 A 10.0.16.147"));
	assert_false(zone_has(z2, "h4242.big.test. 300 A 10.0.16.146"));
	assert_true(zone_has(z2, "h99999.big.test. 300 A 10.1.134.159"));
	cdns_zone_unref(z2);
	cdns_changeset_free(cs);

	/* A new name (the node array and the index change shape). */
	cs = new_cs("big.test.");
	cs_soa(cs, CDNS_CS_BEFORE,
	       "big.test. 3600 SOA ns.big.test. admin.big.test. 1 7200 900 1209600 300");
	cs_soa(cs, CDNS_CS_AFTER,
	       "big.test. 3600 SOA ns.big.test. admin.big.test. 2 7200 900 1209600 300");
	assert_int_equal(cs_rr(cs, CDNS_CS_ADDED, "_acme-challenge.www.big.test. 60 TXT token"), 0);
	z2 = apply_timed(z, cs, "1 new name");
	assert_int_equal(cdns_zone_rr_count(z2), n + 3);
	assert_int_equal(cdns_zone_node_count(z2), cdns_zone_node_count(z) + 2);
	assert_true(zone_has(z2, "_acme-challenge.www.big.test. 60 TXT token"));
	assert_true(zone_has(z2, "h99999.big.test. 300 A 10.1.134.159"));
	cdns_zone_unref(z2);
	cdns_changeset_free(cs);
	cdns_zone_unref(z);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_serial_cmp),
	    cmocka_unit_test(test_serial_next),
	    cmocka_unit_test(test_soa_serial),
	    cmocka_unit_test(test_changeset_build),
	    cmocka_unit_test(test_apply_good),
	    cmocka_unit_test(test_apply_case_and_ttl),
	    cmocka_unit_test(test_apply_missing_removed),
	    cmocka_unit_test(test_apply_soa_mismatch),
	    cmocka_unit_test(test_apply_serial_not_increasing),
	    cmocka_unit_test(test_apply_add_existing),
	    cmocka_unit_test(test_apply_builder_checks),
	    cmocka_unit_test(test_merge),
	    cmocka_unit_test(test_apply_big_zone),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
