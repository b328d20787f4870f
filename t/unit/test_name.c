/* Unit tests of domain names (sdk/lib/name.c): presentation form, validation, comparison. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <clouddns/error.h>
#include <clouddns/name.h>

/* Parse an absolute name (no origin); returns the length or the error. */
static int txt(const char *s, uint8_t *out)
{
	return cdns_name_from_text(s, strlen(s), NULL, out);
}

static void test_from_text_basic(void **state)
{
	uint8_t w[CDNS_NAME_MAXLEN];
	static const uint8_t want[] = {3,   'w', 'w', 'w', 7,   'E', 'x', 'a', 'm',
	                               'p', 'l', 'e', 4,   't', 'e', 's', 't', 0};

	assert_int_equal(txt("www.Example.test.", w), sizeof(want));
	assert_memory_equal(w, want, sizeof(want)); /* case kept */
	assert_int_equal(txt(".", w), 1);
	assert_int_equal(w[0], 0);
	assert_int_equal(cdns_name_len(want), sizeof(want));
	assert_int_equal(cdns_name_labels(want), 3);
	assert_int_equal(cdns_name_labels(w), 0);
}

static void test_from_text_escapes(void **state)
{
	uint8_t w[CDNS_NAME_MAXLEN];
	char t[CDNS_NAME_MAXTEXT];
	static const uint8_t want[] = {5, 'a', '.', 'b', '\\', ' ', 4, 't', 'e', 's', 't', 0};

	assert_int_equal(txt("a\\.b\\\\\\032.test.", w), sizeof(want));
	assert_memory_equal(w, want, sizeof(want));
	/* Back to text: '.', '\\' and space come out as "\c". */
	assert_int_equal(cdns_name_to_text(w, t, sizeof(t)), (int)strlen("a\\.b\\\\\\ .test."));
	assert_string_equal(t, "a\\.b\\\\\\ .test.");

	/* An escaped final dot does not make the name absolute. */
	static const uint8_t org[] = {4, 't', 'e', 's', 't', 0};
	assert_int_equal(cdns_name_from_text("x\\.", 3, org, w), 3 + 6);
	assert_memory_equal(w, "\002x.\004test", 9);

	/* \DDD for non-printables, letters as they are. */
	static const uint8_t odd[] = {4, 0, 0x7f, 0xff, 'Q', 0};
	assert_int_equal(cdns_name_to_text(odd, t, sizeof(t)), 14);
	assert_string_equal(t, "\\000\\127\\255Q.");
	assert_int_equal(txt(t, w), sizeof(odd));
	assert_memory_equal(w, odd, sizeof(odd));

	/* Every special character of the presentation form round-trips. */
	static const uint8_t special[] = {9, '.', '\\', '"', '(', ')', ';', '@', '$', ' ', 0};
	assert_int_equal(cdns_name_to_text(special, t, sizeof(t)), 19);
	assert_string_equal(t, "\\.\\\\\\\"\\(\\)\\;\\@\\$\\ .");
	assert_int_equal(txt(t, w), sizeof(special));
	assert_memory_equal(w, special, sizeof(special));
}

static void test_from_text_relative(void **state)
{
	uint8_t w[CDNS_NAME_MAXLEN];
	uint8_t org[CDNS_NAME_MAXLEN];
	char t[CDNS_NAME_MAXTEXT];

	assert_int_equal(txt("example.test.", org), 14);
	assert_int_equal(cdns_name_from_text("www", 3, org, w), 18);
	assert_int_equal(cdns_name_to_text(w, t, sizeof(t)), 17);
	assert_string_equal(t, "www.example.test.");
	assert_int_equal(cdns_name_from_text("a.b", 3, org, w), 18);
	assert_int_equal(cdns_name_to_text(w, t, sizeof(t)), 17);
	assert_string_equal(t, "a.b.example.test.");
	/* Relative to the root. */
	static const uint8_t root[] = {0};
	assert_int_equal(cdns_name_from_text("www", 3, root, w), 5);
	/* Relative without an origin. */
	assert_int_equal(cdns_name_from_text("www", 3, NULL, w), CDNS_EINVAL);
	/* The length argument is honoured: "www.example.test." cut after "www". */
	assert_int_equal(cdns_name_from_text("www.example.test.", 3, org, w), 18);
}

static void test_from_text_errors(void **state)
{
	uint8_t w[CDNS_NAME_MAXLEN];
	static const struct {
		const char *text;
		int err;
	} bad[] = {
	    {"", CDNS_ESYNTAX},        {"..", CDNS_ESYNTAX},      {"a..b.", CDNS_ESYNTAX},
	    {".a.", CDNS_ESYNTAX},     {"a\\", CDNS_ESYNTAX},     {"a\\25", CDNS_ESYNTAX},
	    {"a\\2x5.", CDNS_ESYNTAX}, {"a\\256.", CDNS_ESYNTAX}, {"a b.", CDNS_ESYNTAX},
	    {"a\tb.", CDNS_ESYNTAX},
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int r = txt(bad[i].text, w);
		if (r != bad[i].err)
			fail_msg("\"%s\": got %d, want %d", bad[i].text, r, bad[i].err);
	}
}

static void test_lengths(void **state)
{
	uint8_t w[CDNS_NAME_MAXLEN];
	char t[600];
	char l63[64], l61[62], l62[63], l64[65];
	static const uint8_t org[] = {0};

	memset(l63, 'a', 63), l63[63] = 0;
	memset(l61, 'b', 61), l61[61] = 0;
	memset(l62, 'b', 62), l62[62] = 0;
	memset(l64, 'c', 64), l64[64] = 0;

	snprintf(t, sizeof(t), "%s.", l63);
	assert_int_equal(txt(t, w), 65);
	snprintf(t, sizeof(t), "%s.", l64);
	assert_int_equal(txt(t, w), CDNS_ELABEL);
	/* 63 octets written as \DDD still count as 63. */
	t[0] = 0;
	for (int i = 0; i < 63; i++)
		strcat(t, "\\065");
	strcat(t, ".");
	assert_int_equal(txt(t, w), 65);
	strcat(t, "x\\065\\065");
	assert_int_equal(txt(t, w), CDNS_EINVAL);

	/* 3 * 64 + 62 + 1 = 255: the longest name. */
	snprintf(t, sizeof(t), "%s.%s.%s.%s.", l63, l63, l63, l61);
	assert_int_equal(txt(t, w), 255);
	assert_int_equal(cdns_name_check(w, 255), 255);
	assert_int_equal(cdns_name_to_text(w, t, sizeof(t)), 254);
	/* One octet more. */
	snprintf(t, sizeof(t), "%s.%s.%s.%s.", l63, l63, l63, l62);
	assert_int_equal(txt(t, w), CDNS_ENAMELEN);
	snprintf(t, sizeof(t), "%s.%s.%s.%s.", l63, l63, l63, l63);
	assert_int_equal(txt(t, w), CDNS_ENAMELEN);
	/* Relative name fits, the origin makes it too long. */
	uint8_t org2[CDNS_NAME_MAXLEN];
	snprintf(t, sizeof(t), "%s.", l63);
	assert_int_equal(txt(t, org2), 65);
	snprintf(t, sizeof(t), "%s.%s.%s", l63, l63, l63);
	assert_int_equal(cdns_name_from_text(t, strlen(t), org2, w), CDNS_ENAMELEN);
	assert_int_equal(cdns_name_from_text(t, strlen(t), org, w), 193);
	/* 127 one-octet labels: 254 octets plus the root. */
	t[0] = 0;
	for (int i = 0; i < 127; i++)
		strcat(t, "x.");
	assert_int_equal(txt(t, w), 255);
	assert_int_equal(cdns_name_labels(w), 127);
	strcat(t, "y.");
	assert_int_equal(txt(t, w), CDNS_ENAMELEN);
}

static void test_to_text_space(void **state)
{
	uint8_t w[CDNS_NAME_MAXLEN];
	char t[CDNS_NAME_MAXTEXT];

	assert_int_equal(txt("ab.test.", w), 9);
	/* "ab.test." is 8 characters plus the NUL. */
	assert_int_equal(cdns_name_to_text(w, t, 9), 8);
	assert_string_equal(t, "ab.test.");
	assert_int_equal(cdns_name_to_text(w, t, 8), CDNS_ESPACE);
	assert_int_equal(cdns_name_to_text(w, t, 0), CDNS_ESPACE);
	static const uint8_t root[] = {0};
	assert_int_equal(cdns_name_to_text(root, t, 2), 1);
	assert_string_equal(t, ".");
	assert_int_equal(cdns_name_to_text(root, t, 1), CDNS_ESPACE);
	static const uint8_t bin[] = {1, 0, 0};
	assert_int_equal(cdns_name_to_text(bin, t, 5), CDNS_ESPACE);
	assert_int_equal(cdns_name_to_text(bin, t, 6), 5);
	assert_string_equal(t, "\\000.");

	/* The worst case fits CDNS_NAME_MAXTEXT. */
	uint8_t big[CDNS_NAME_MAXLEN];
	size_t o = 0;
	for (int i = 0; i < 3; i++) {
		big[o++] = 63;
		memset(big + o, 0xff, 63);
		o += 63;
	}
	big[o++] = 61;
	memset(big + o, 0xff, 61);
	o += 61;
	big[o++] = 0;
	assert_int_equal(o, 255);
	assert_int_equal(cdns_name_to_text(big, t, sizeof(t)), 250 * 4 + 4);
	assert_int_equal(txt(t, w), 255);
	assert_memory_equal(w, big, 255);
}

static void test_check(void **state)
{
	static const uint8_t ok[] = {1, 'a', 0};
	static const uint8_t ptr[] = {1, 'a', 0xc0, 0x0c};
	static const uint8_t ext[] = {0x41, 'a', 0};
	static const uint8_t l64[] = {64};

	assert_int_equal(cdns_name_check(ok, sizeof(ok)), 3);
	assert_int_equal(cdns_name_check(ok, 2), CDNS_ETRUNC);
	assert_int_equal(cdns_name_check(ok, 0), CDNS_ETRUNC);
	assert_int_equal(cdns_name_check(ptr, sizeof(ptr)), CDNS_EFORMAT);
	assert_int_equal(cdns_name_check(ext, sizeof(ext)), CDNS_EFORMAT);
	assert_int_equal(cdns_name_check(l64, sizeof(l64)), CDNS_EFORMAT);

	uint8_t big[300];
	memset(big, 0, sizeof(big));
	for (int i = 0; i < 4; i++)
		big[i * 64] = 63;
	assert_int_equal(cdns_name_check(big, sizeof(big)), CDNS_ENAMELEN);
}

static int cmp_cb(const void *a, const void *b)
{
	return cdns_name_cmp(*(const uint8_t *const *)a, *(const uint8_t *const *)b);
}

/* RFC 4034 §6.1: this list is in canonical order. */
static void test_canonical_order(void **state)
{
	static const char *const order[] = {
	    "example.",         "a.example.",      "yljkjljk.a.example.",
	    "Z.a.example.",     "zABC.a.EXAMPLE.", "z.example.",
	    "\\001.z.example.", "*.z.example.",    "\\200.z.example.",
	};
	enum { N = sizeof(order) / sizeof(order[0]) };
	uint8_t names[N][CDNS_NAME_MAXLEN];
	const uint8_t *sorted[N];

	for (int i = 0; i < N; i++)
		assert_true(txt(order[i], names[i]) > 0);
	for (int i = 0; i < N; i++) {
		assert_int_equal(cdns_name_cmp(names[i], names[i]), 0);
		for (int j = i + 1; j < N; j++) {
			if (cdns_name_cmp(names[i], names[j]) >= 0 ||
			    cdns_name_cmp(names[j], names[i]) <= 0)
				fail_msg("%s should sort before %s", order[i], order[j]);
		}
	}
	/* Sort a scrambled copy and get the RFC's order back. */
	static const int scramble[N] = {8, 3, 0, 6, 1, 7, 5, 2, 4};
	for (int i = 0; i < N; i++)
		sorted[i] = names[scramble[i]];
	qsort(sorted, N, sizeof(sorted[0]), cmp_cb);
	for (int i = 0; i < N; i++)
		assert_ptr_equal(sorted[i], names[i]);

	/* Case never matters; the root sorts first. */
	uint8_t a[CDNS_NAME_MAXLEN], b[CDNS_NAME_MAXLEN], root[1] = {0};
	txt("WWW.Example.TEST.", a);
	txt("www.example.test.", b);
	assert_int_equal(cdns_name_cmp(a, b), 0);
	assert_true(cdns_name_cmp(root, a) < 0);
	assert_true(cdns_name_cmp(a, root) > 0);
	assert_int_equal(cdns_name_cmp(root, root), 0);
}

static void test_equal_and_hash(void **state)
{
	uint8_t a[CDNS_NAME_MAXLEN], b[CDNS_NAME_MAXLEN], c[CDNS_NAME_MAXLEN];
	uint8_t la[CDNS_NAME_MAXLEN], lb[CDNS_NAME_MAXLEN];

	int n = txt("WWW.Example.TEST.", a);
	txt("www.example.test.", b);
	txt("www.example.tesu.", c);
	assert_true(cdns_name_equal(a, b));
	assert_true(cdns_name_equal(b, a));
	assert_false(cdns_name_equal(a, c));
	/* Same octets, different label boundaries. */
	uint8_t d[CDNS_NAME_MAXLEN], e[CDNS_NAME_MAXLEN];
	txt("ab.c.", d);
	txt("a.bc.", e);
	assert_false(cdns_name_equal(d, e));
	/* Only ASCII letters fold (RFC 4343 §3). */
	static const uint8_t x1[] = {1, 0xc4, 0}, x2[] = {1, 0xe4, 0};
	assert_false(cdns_name_equal(x1, x2));
	static const uint8_t at[] = {1, '@', 0}, bq[] = {1, '`', 0};
	assert_false(cdns_name_equal(at, bq));

	assert_int_equal(cdns_name_copy_lower(la, a), (size_t)n);
	assert_memory_equal(la, b, (size_t)n);
	memcpy(lb, a, (size_t)n);
	cdns_name_lower(lb);
	assert_memory_equal(lb, b, (size_t)n);
	assert_int_equal(cdns_name_hash(la), cdns_name_hash(b));
	assert_int_not_equal(cdns_name_hash(b), cdns_name_hash(c));
	/* FNV-1a of the single root octet. */
	static const uint8_t root[] = {0};
	assert_int_equal(cdns_name_hash(root), (2166136261u ^ 0) * 16777619u);
}

static void test_in_and_skip(void **state)
{
	uint8_t n[CDNS_NAME_MAXLEN], p[CDNS_NAME_MAXLEN], q[CDNS_NAME_MAXLEN];
	static const uint8_t root[] = {0};

	txt("a.B.example.test.", n);
	txt("example.TEST.", p);
	assert_true(cdns_name_in(n, p));
	assert_true(cdns_name_in(p, p));
	assert_true(cdns_name_in(n, root));
	assert_false(cdns_name_in(p, n));
	assert_false(cdns_name_in(root, p));
	txt("xexample.test.", q);
	assert_false(cdns_name_in(q, p));
	txt("b.example.test.", q);
	assert_true(cdns_name_in(n, q));

	assert_ptr_equal(cdns_name_skip(n, 0), n);
	assert_ptr_equal(cdns_name_skip(n, 1), n + 2);
	assert_ptr_equal(cdns_name_skip(n, 2), n + 4);
	assert_true(cdns_name_equal(cdns_name_skip(n, 2), p));
	assert_ptr_equal(cdns_name_skip(n, 4), n + cdns_name_len(n) - 1);
	assert_int_equal(*cdns_name_skip(n, 4), 0);
}

/* cdns_name_unpack on small hand-made messages (the full table is in test_wire.c). */
static void test_unpack(void **state)
{
	uint8_t out[CDNS_NAME_MAXLEN];
	uint8_t msg[64] = {0};
	size_t pos;

	/* Header, then "example.test." at 12, then "www" + pointer to 12 at 26. */
	memcpy(msg + 12, "\007example\004test", 14);
	msg[26] = 0;
	memcpy(msg + 27, "\003www\300\014", 6);
	pos = 27;
	assert_int_equal(cdns_name_unpack(msg, 33, &pos, out), 18);
	assert_int_equal(pos, 33);
	assert_memory_equal(out, "\003www\007example\004test", 18);
	/* Pointer to itself, and to its own first label. */
	msg[33] = 0xc0, msg[34] = 33;
	pos = 33;
	assert_int_equal(cdns_name_unpack(msg, 35, &pos, out), CDNS_EPTR);
	msg[33] = 1, msg[34] = 'a', msg[35] = 0xc0, msg[36] = 33;
	pos = 33;
	assert_int_equal(cdns_name_unpack(msg, 37, &pos, NULL), CDNS_EPTR);
	/* out may be NULL; *pos is untouched on error. */
	pos = 27;
	assert_int_equal(cdns_name_unpack(msg, 33, &pos, NULL), 18);
	pos = 27;
	assert_int_equal(cdns_name_unpack(msg, 32, &pos, NULL), CDNS_ETRUNC);
	assert_int_equal(pos, 27);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_from_text_basic),
	    cmocka_unit_test(test_from_text_escapes),
	    cmocka_unit_test(test_from_text_relative),
	    cmocka_unit_test(test_from_text_errors),
	    cmocka_unit_test(test_lengths),
	    cmocka_unit_test(test_to_text_space),
	    cmocka_unit_test(test_check),
	    cmocka_unit_test(test_canonical_order),
	    cmocka_unit_test(test_equal_and_hash),
	    cmocka_unit_test(test_in_and_skip),
	    cmocka_unit_test(test_unpack),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
