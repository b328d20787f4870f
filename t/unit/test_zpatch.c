/* cdns_zone_apply's fast path (sdk/lib/zpatch.c) against the definition: thousands of random
 * changesets, chained, on random zones with empty non-terminals, wildcards, CNAMEs, zone cuts
 * with glue and DNAMEs. After each, the applied zone must equal a zone built from scratch
 * with the same records: same export, same nodes with the same flags and parents, same
 * counts, every name found; a changeset the builder rejects must be rejected too. */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <clouddns/changeset.h>
#include <clouddns/clouddns.h>

#define MAX_RRS 4096

typedef struct rr {
	uint8_t owner[CDNS_NAME_MAXLEN];
	uint16_t type;
	uint32_t ttl;
	uint8_t rdata[64];
	uint16_t rdlen;
} rr_t;

static uint64_t rng = 88172645463325252ull;

static unsigned rnd(unsigned n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (unsigned)(rng % n);
}

static void quiet(void *ctx, int severity, const char *file, unsigned line, const char *text)
{
	(void)ctx, (void)severity, (void)file, (void)line, (void)text;
}

static const uint8_t apex[] = "\004test\000";

/* A random name below the apex: 1 to 3 labels from a small set, so that names share
 * ancestors, wildcards appear, and names under a cut or DNAME come up. */
static void random_name(uint8_t *out, bool mixed)
{
	static const char *const labels[] = { "a", "b", "c", "*", "ns", "sub", "dn", "x" };
	unsigned depth = 1 + rnd(3);
	size_t pos = 0;
	for (unsigned i = 0; i < depth; i++) {
		const char *l = labels[rnd(8)];
		/* Mixed case now and then: owners compare without it. */
		out[pos++] = (uint8_t)strlen(l);
		for (size_t k = 0; l[k]; k++)
			out[pos++] = (uint8_t)(mixed && rnd(5) == 0 && l[k] >= 'a' && l[k] <= 'z' ? l[k] - 32 : l[k]);
	}
	memcpy(out + pos, apex, sizeof(apex));
}

static void random_rr(rr_t *r)
{
	random_name(r->owner, true);
	r->ttl = 300;
	switch (rnd(10)) {
	case 0:
	case 1:
	case 2:
		r->type = CDNS_T_A;
		r->rdlen = 4;
		r->rdata[0] = 192;
		r->rdata[1] = 0;
		r->rdata[2] = 2;
		r->rdata[3] = (uint8_t)(1 + rnd(4));
		break;
	case 3:
		r->type = CDNS_T_TXT;
		r->rdlen = 2;
		r->rdata[0] = 1;
		r->rdata[1] = (uint8_t)('a' + rnd(3));
		break;
	case 4:
	case 5: {
		r->type = CDNS_T_CNAME;
		uint8_t t[CDNS_NAME_MAXLEN];
		random_name(t, false); /* RDATA names compare without case: keep them apart */
		r->rdlen = (uint16_t)cdns_name_len(t);
		memcpy(r->rdata, t, r->rdlen);
		break;
	}
	case 6:
	case 7: {
		/* A zone cut (glue may follow from other records below it). */
		r->type = CDNS_T_NS;
		static const uint8_t ns[] = "\002ns\003sub\004test\000";
		r->rdlen = sizeof(ns) - 1; /* without the literal's own NUL */
		memcpy(r->rdata, ns, r->rdlen);
		break;
	}
	case 8: {
		r->type = CDNS_T_DNAME;
		static const uint8_t t[] = "\007example\000";
		r->rdlen = sizeof(t) - 1;
		memcpy(r->rdata, t, r->rdlen);
		break;
	}
	default:
		r->type = CDNS_T_AAAA;
		r->rdlen = 16;
		memset(r->rdata, 0, 16);
		r->rdata[0] = 0x20;
		r->rdata[1] = 0x01;
		r->rdata[15] = (uint8_t)rnd(3);
		break;
	}
}

static uint16_t soa_rdata(uint32_t serial, uint8_t *out)
{
	static const uint8_t mname[] = "\002ns\004test\000", rname[] = "\004host\004test\000";
	size_t pos = 0;
	memcpy(out, mname, sizeof(mname) - 1);
	pos += sizeof(mname) - 1;
	memcpy(out + pos, rname, sizeof(rname) - 1);
	pos += sizeof(rname) - 1;
	uint32_t v[5] = { serial, 3600, 600, 86400, 60 };
	for (int i = 0; i < 5; i++) {
		cdns_put32(out + pos, v[i]);
		pos += 4;
	}
	return (uint16_t)pos;
}

/* Every record of z except the SOA. */
static size_t zone_rrs(const cdns_zone_t *z, rr_t *out)
{
	size_t n = 0;
	for (size_t i = 0; i < cdns_zone_node_count(z); i++) {
		const cdns_znode_t *node = cdns_zone_node(z, i);
		for (unsigned j = 0; j < node->n_rrsets; j++) {
			const cdns_rrset_t *s = &node->rrsets[j];
			if (s->type == CDNS_T_SOA)
				continue;
			size_t pos = 0;
			const uint8_t *rd;
			uint16_t len;
			while (cdns_rrset_next(s, &pos, &rd, &len)) {
				assert_true(n < MAX_RRS);
				rr_t *r = &out[n++];
				memcpy(r->owner, node->owner_case, cdns_name_len(node->owner_case));
				r->type = s->type;
				r->ttl = s->ttl;
				assert_true(len <= sizeof(r->rdata));
				memcpy(r->rdata, rd, len);
				r->rdlen = len;
			}
		}
	}
	return n;
}

static bool same_rr(const rr_t *a, const rr_t *b)
{
	return a->type == b->type && cdns_name_equal(a->owner, b->owner) && a->rdlen == b->rdlen &&
	       memcmp(a->rdata, b->rdata, a->rdlen) == 0;
}

static char *export(const cdns_zone_t *z)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	assert_non_null(f);
	assert_int_equal(cdns_zone_write(z, f), 0);
	fclose(f);
	return buf;
}

static void assert_same_zone(const cdns_zone_t *got, const cdns_zone_t *want)
{
	char *a = export(got), *b = export(want);
	assert_string_equal(a, b);
	free(a);
	free(b);
	assert_int_equal(cdns_zone_node_count(got), cdns_zone_node_count(want));
	assert_int_equal(cdns_zone_rr_count(got), cdns_zone_rr_count(want));
	assert_int_equal(cdns_zone_serial(got), cdns_zone_serial(want));
	for (size_t i = 0; i < cdns_zone_node_count(want); i++) {
		const cdns_znode_t *g = cdns_zone_node(got, i), *w = cdns_zone_node(want, i);
		assert_true(cdns_name_equal(g->owner, w->owner));
		/* The spelling of an empty non-terminal is whatever descendant named it first: it
		 * is never seen (no record of it is answered or written out). */
		if (w->n_rrsets > 0 &&
		    memcmp(g->owner_case, w->owner_case, cdns_name_len(w->owner_case)) != 0) {
			char gt[CDNS_NAME_MAXTEXT], wt[CDNS_NAME_MAXTEXT];
			cdns_name_to_text(g->owner_case, gt, sizeof(gt));
			cdns_name_to_text(w->owner_case, wt, sizeof(wt));
			fail_msg("owner spelled %s, want %s", gt, wt);
		}
		if (g->flags != w->flags) {
			char text[CDNS_NAME_MAXTEXT];
			cdns_name_to_text(w->owner, text, sizeof(text));
			fail_msg("%s: flags %#x, want %#x", text, g->flags, w->flags);
		}
		assert_int_equal(g->n_rrsets, w->n_rrsets);
		assert_int_equal(cdns_zone_parent(got, i), cdns_zone_parent(want, i));
		assert_ptr_equal(cdns_zone_find(got, w->owner, cdns_name_hash(w->owner)), g);
	}
}

/* The zone of these records and this SOA serial, built from scratch; NULL if the builder
 * rejects it. */
static cdns_zone_t *build(const rr_t *rrs, size_t n, uint32_t serial)
{
	cdns_zone_builder_t *b = cdns_zone_builder_new(apex, CDNS_C_IN);
	assert_non_null(b);
	uint8_t soa[128];
	for (size_t i = 0; i < n; i++)
		assert_int_equal(cdns_zone_builder_add(b, rrs[i].owner, rrs[i].type, CDNS_C_IN,
		                                       rrs[i].ttl, rrs[i].rdata, rrs[i].rdlen, NULL, 0),
		                 0);
	uint16_t len = soa_rdata(serial, soa);
	assert_int_equal(cdns_zone_builder_add(b, apex, CDNS_T_SOA, CDNS_C_IN, 300, soa, len, NULL, 0),
	                 0);
	cdns_zone_t *z = NULL;
	int r = cdns_zone_builder_finish(b, quiet, NULL, &z);
	return r == 0 ? z : NULL;
}

static rr_t cur[MAX_RRS], next[MAX_RRS], removed[64], added[64];

static void run(unsigned rounds, unsigned start_rrs, unsigned max_change)
{
	static const uint8_t ns[] = "\002ns\004test\000";
	static const uint8_t ns_a[] = { 192, 0, 2, 53 };
	size_t n = 0;
	/* The apex NS and its address, then random records the builder accepts. */
	memcpy(cur[n].owner, apex, sizeof(apex));
	cur[n].type = CDNS_T_NS;
	cur[n].ttl = 300;
	memcpy(cur[n].rdata, ns, sizeof(ns) - 1);
	cur[n++].rdlen = sizeof(ns) - 1;
	memcpy(cur[n].owner, ns, sizeof(ns) - 1);
	cur[n].type = CDNS_T_A;
	cur[n].ttl = 300;
	memcpy(cur[n].rdata, ns_a, 4);
	cur[n++].rdlen = 4;
	uint32_t serial = 1;
	cdns_zone_t *z = build(cur, n, serial);
	assert_non_null(z);
	while (n < start_rrs) {
		random_rr(&cur[n]);
		bool dup = false;
		for (size_t i = 0; i < n && !dup; i++)
			dup = same_rr(&cur[i], &cur[n]);
		if (dup)
			continue;
		cdns_zone_t *t = build(cur, n + 1, serial);
		if (t == NULL)
			continue;
		cdns_zone_unref(z);
		z = t;
		n++;
	}

	unsigned applied = 0, rejected = 0;
	for (unsigned round = 0; round < rounds; round++) {
		/* Remove some records, add some new ones. */
		size_t nr = rnd(max_change + 1), na = rnd(max_change + 1), nn = 0;
		size_t n_rem = 0, n_add = 0;
		for (size_t i = 0; i < n; i++) {
			if (i >= 2 && n_rem < nr && rnd(n) < nr * 2)
				removed[n_rem++] = cur[i];
			else
				next[nn++] = cur[i];
		}
		for (size_t t = 0; t < na * 4 && n_add < na && nn < MAX_RRS; t++) {
			rr_t r;
			random_rr(&r);
			bool dup = false;
			for (size_t i = 0; i < nn && !dup; i++)
				dup = same_rr(&next[i], &r);
			for (size_t i = 0; i < n_add && !dup; i++)
				dup = same_rr(&added[i], &r);
			for (size_t i = 0; i < n_rem && !dup; i++)
				dup = same_rr(&removed[i], &r); /* removed and added back: not in one */
			if (dup)
				continue;
			added[n_add++] = r;
			next[nn++] = r;
		}

		cdns_changeset_t *cs = cdns_changeset_new(apex, CDNS_C_IN);
		assert_non_null(cs);
		uint8_t soa[128];
		uint16_t len = soa_rdata(serial, soa);
		assert_int_equal(cdns_changeset_set_soa(cs, CDNS_CS_BEFORE, 300, soa, len), 0);
		len = soa_rdata(serial + 1, soa);
		assert_int_equal(cdns_changeset_set_soa(cs, CDNS_CS_AFTER, 300, soa, len), 0);
		for (size_t i = 0; i < n_rem; i++)
			assert_int_equal(cdns_changeset_remove(cs, removed[i].owner, removed[i].type,
			                                       CDNS_C_IN, removed[i].ttl, removed[i].rdata,
			                                       removed[i].rdlen),
			                 0);
		for (size_t i = 0; i < n_add; i++)
			assert_int_equal(cdns_changeset_add(cs, added[i].owner, added[i].type, CDNS_C_IN,
			                                    added[i].ttl, added[i].rdata, added[i].rdlen),
			                 0);

		/* The definition: the records of the zone after, built from scratch, in the order
		 * cdns_zone_apply documents (what stays in zone order, then the added ones). */
		rr_t *kept = malloc(MAX_RRS * sizeof(rr_t));
		assert_non_null(kept);
		size_t nk = zone_rrs(z, kept);
		size_t w = 0;
		for (size_t i = 0; i < nk; i++) {
			bool gone = false;
			for (size_t r = 0; r < n_rem && !gone; r++)
				gone = same_rr(&kept[i], &removed[r]);
			if (!gone)
				kept[w++] = kept[i];
		}
		for (size_t i = 0; i < n_add; i++)
			kept[w++] = added[i];
		cdns_zone_t *want = build(kept, w, serial + 1);
		free(kept);

		cdns_zone_t *got = NULL;
		int r = cdns_zone_apply(z, cs, quiet, NULL, &got);
		cdns_changeset_free(cs);
		if (want == NULL) {
			assert_true(r < 0);
			assert_null(got);
			rejected++;
			continue;
		}
		if (r != 0)
			fail_msg("round %u: apply failed (%d) where the builder accepts", round, r);
		assert_same_zone(got, want);
		cdns_zone_unref(want);
		cdns_zone_unref(z);
		z = got;
		memcpy(cur, next, nn * sizeof(rr_t));
		n = nn;
		serial++;
		applied++;
	}
	/* Both outcomes came up often enough to mean something. */
	assert_true(applied > rounds / 4);
	assert_true(rejected > 0);
	cdns_zone_unref(z);
}

static void test_small_changes(void **state)
{
	run(3000, 60, 3);
}

static void test_larger_changes(void **state)
{
	run(800, 200, 12);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_small_changes),
		cmocka_unit_test(test_larger_changes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
