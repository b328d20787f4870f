/* Unit tests of the query/response helpers (sdk/lib/query.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <clouddns/clouddns.h>

/* A query for "WwW.Example.TEST. A IN", id 0x1234, RD and CD set, as the core would fill it. */
static uint8_t req[] = {
	0x12, 0x34, 0x01, 0x10, 0, 1, 0, 0, 0, 0, 0, 0,
	3, 'W', 'w', 'W', 7, 'E', 'x', 'a', 'm', 'p', 'l', 'e', 4, 'T', 'E', 'S', 'T', 0,
	0, 1, 0, 1,
};

static uint8_t tx[1024];
static uint8_t arena[256];

static void make_query(cdns_query_t *q)
{
	memset(q, 0, sizeof(*q));
	assert_int_equal(cdns_msg_parse(&q->msg, req, sizeof(req)), 0);
	size_t pos = CDNS_HDR_LEN;
	int n = cdns_msg_question(&q->msg, &pos, q->qname, &q->qtype, &q->qclass);
	assert_true(n > 0);
	q->qname_len = (uint8_t)n;
	q->qname_off = CDNS_HDR_LEN;
	cdns_name_lower(q->qname);
	q->id = 0x1234;
	q->flags = 0x0110;
	q->resp.wire = tx;
	q->resp.cap = sizeof(tx);
	q->resp_max = 512;
	q->arena = arena;
	q->arena_cap = sizeof(arena);
	cdns_resp_reset(q);
}

static void test_reset_echoes_question_and_flags(void **state)
{
	cdns_query_t q;
	make_query(&q);
	assert_int_equal(cdns_get16(tx), 0x1234);
	/* QR set, RD and CD copied, opcode 0, rcode 0. */
	assert_int_equal(cdns_get16(tx + 2), CDNS_FLAG_QR | CDNS_FLAG_RD | CDNS_FLAG_CD);
	assert_int_equal(cdns_get16(tx + 4), 1);
	/* The client's case is echoed (RFC 4343 §4.1). */
	assert_memory_equal(tx + CDNS_HDR_LEN, req + CDNS_HDR_LEN, sizeof(req) - CDNS_HDR_LEN);
	assert_int_equal(q.resp.len, sizeof(req));
	assert_int_equal(q.ede, -1);
}

static void test_add_and_limit(void **state)
{
	cdns_query_t q;
	make_query(&q);
	uint8_t a[4] = { 192, 0, 2, 1 };
	assert_int_equal(cdns_resp_add(&q, CDNS_SEC_ANSWER, q.qname, CDNS_T_A, CDNS_C_IN, 300, a, 4),
			 0);
	assert_int_equal(cdns_get16(tx + 6), 1);
	/* Owner compressed to a pointer at the question: 2 + 10 + 4 bytes. */
	assert_int_equal(q.resp.len, sizeof(req) + 16);
	/* Fill up to the limit: a record that does not fit is refused and nothing changes. */
	uint8_t big[400];
	memset(big, 'x', sizeof(big));
	assert_int_equal(cdns_resp_add(&q, CDNS_SEC_ANSWER, q.qname, CDNS_T_NULL, CDNS_C_IN, 0, big,
				       sizeof(big)),
			 0);
	uint16_t len = q.resp.len;
	assert_int_equal(cdns_resp_add(&q, CDNS_SEC_ANSWER, q.qname, CDNS_T_NULL, CDNS_C_IN, 0, big,
				       sizeof(big)),
			 CDNS_ESPACE);
	assert_int_equal(q.resp.len, len);
	assert_int_equal(cdns_get16(tx + 6), 2);
}

static void test_flags_rcode_ede(void **state)
{
	cdns_query_t q;
	make_query(&q);
	cdns_resp_set_flags(&q, CDNS_FLAG_AA, CDNS_FLAG_CD);
	assert_int_equal(cdns_get16(tx + 2), CDNS_FLAG_QR | CDNS_FLAG_RD | CDNS_FLAG_AA);
	cdns_resp_set_rcode(&q, CDNS_RCODE_BADVERS);
	assert_int_equal(q.rcode, 16);
	cdns_resp_set_ede(&q, CDNS_EDE_PROHIBITED, "no");
	assert_int_equal(q.ede, CDNS_EDE_PROHIBITED);
	assert_string_equal(q.ede_text, "no");
}

static void test_set_wire_rewrites_id_and_case(void **state)
{
	cdns_query_t q;
	make_query(&q);
	/* An upstream answer with another id and the name in lower case. */
	uint8_t up[] = {
		0xab, 0xcd, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0,
		3, 'w', 'w', 'w', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 4, 't', 'e', 's', 't', 0,
		0, 1, 0, 1,
		0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 198, 51, 100, 7,
	};
	assert_int_equal(cdns_resp_set_wire(&q, up, sizeof(up)), 0);
	assert_int_equal(q.resp.len, sizeof(up));
	assert_int_equal(cdns_get16(tx), 0x1234);
	assert_memory_equal(tx + CDNS_HDR_LEN, req + CDNS_HDR_LEN, q.qname_len);
	assert_memory_equal(tx + sizeof(req), up + sizeof(req), sizeof(up) - sizeof(req));
	assert_int_equal(q.resp_wire_set, 1);

	/* Another question is refused. */
	make_query(&q);
	up[CDNS_HDR_LEN + 1] = 'x';
	assert_int_equal(cdns_resp_set_wire(&q, up, sizeof(up)), CDNS_EFORMAT);
	up[CDNS_HDR_LEN + 1] = 'w';
	up[CDNS_HDR_LEN + q.qname_len + 1] = 28; /* AAAA */
	assert_int_equal(cdns_resp_set_wire(&q, up, sizeof(up)), CDNS_EFORMAT);
	up[CDNS_HDR_LEN + q.qname_len + 1] = 1;
	/* Larger than the client's limit. */
	q.resp_max = 40;
	assert_int_equal(cdns_resp_set_wire(&q, up, sizeof(up)), CDNS_ESPACE);
	/* Too short to hold a header. */
	assert_int_equal(cdns_resp_set_wire(&q, up, 5), CDNS_EFORMAT);
}

static void test_arena(void **state)
{
	cdns_query_t q;
	make_query(&q);
	uint8_t *a = cdns_query_alloc(&q, 10);
	uint8_t *b = cdns_query_alloc(&q, 10);
	assert_non_null(a);
	assert_non_null(b);
	assert_int_equal(((uintptr_t)b - (uintptr_t)arena) % 16, 0);
	assert_true(b >= a + 10);
	assert_null(cdns_query_alloc(&q, sizeof(arena)));
	assert_null(cdns_query_alloc(&q, SIZE_MAX));
	assert_non_null(cdns_query_alloc(&q, sizeof(arena) - 32));
	assert_null(cdns_query_alloc(&q, 1));
}

static void test_addr_parse(void **state)
{
	cdns_sockaddr_t a;
	socklen_t len;
	char buf[64];
	assert_int_equal(cdns_sockaddr_parse("192.0.2.1", 53, &a, &len), 0);
	assert_string_equal(cdns_sockaddr_to_text(&a, buf, sizeof(buf)), "192.0.2.1:53");
	assert_int_equal(cdns_sockaddr_parse("192.0.2.1:5300", 53, &a, &len), 0);
	assert_string_equal(cdns_sockaddr_to_text(&a, buf, sizeof(buf)), "192.0.2.1:5300");
	assert_int_equal(cdns_sockaddr_parse("2001:db8::1", 53, &a, &len), 0);
	assert_string_equal(cdns_sockaddr_to_text(&a, buf, sizeof(buf)), "[2001:db8::1]:53");
	assert_int_equal(cdns_sockaddr_parse("[2001:db8::1]:8053", 0, &a, &len), 0);
	assert_string_equal(cdns_sockaddr_to_text(&a, buf, sizeof(buf)), "[2001:db8::1]:8053");
	static const char *const bad[] = { "192.0.2.1", "[::1]", "::1:53", "192.0.2.1:", "1.2.3.4:x",
					   "1.2.3.4:65536", "[::1]x", "host:53", "", "[::1:53" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(cdns_sockaddr_parse(bad[i], 0, &a, &len), CDNS_EINVAL);
}

static void test_netprefix(void **state)
{
	cdns_netprefix_t p;
	cdns_sockaddr_t a;
	socklen_t len;
	assert_int_equal(cdns_netprefix_parse("192.0.2.0/25", &p), 0);
	assert_int_equal(cdns_sockaddr_parse("192.0.2.127", 53, &a, &len), 0);
	assert_true(cdns_netprefix_match(&p, &a));
	assert_int_equal(cdns_sockaddr_parse("192.0.2.128", 53, &a, &len), 0);
	assert_false(cdns_netprefix_match(&p, &a));
	/* IPv4-mapped IPv6 clients match IPv4 prefixes. */
	assert_int_equal(cdns_sockaddr_parse("::ffff:192.0.2.5", 53, &a, &len), 0);
	assert_true(cdns_netprefix_match(&p, &a));
	assert_int_equal(cdns_netprefix_parse("2001:db8::/32", &p), 0);
	assert_int_equal(cdns_sockaddr_parse("2001:db8:ffff::1", 53, &a, &len), 0);
	assert_true(cdns_netprefix_match(&p, &a));
	assert_int_equal(cdns_sockaddr_parse("2001:db9::1", 53, &a, &len), 0);
	assert_false(cdns_netprefix_match(&p, &a));
	assert_int_equal(cdns_netprefix_parse("0.0.0.0/0", &p), 0);
	assert_int_equal(cdns_sockaddr_parse("203.0.113.9", 53, &a, &len), 0);
	assert_true(cdns_netprefix_match(&p, &a));
	static const char *const bad[] = { "192.0.2.0/33", "::/129", "192.0.2.0/", "192.0.2.0/-1",
					   "192.0.2.0/8x", "example", "" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(cdns_netprefix_parse(bad[i], &p), CDNS_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reset_echoes_question_and_flags),
		cmocka_unit_test(test_add_and_limit),
		cmocka_unit_test(test_flags_rcode_ede),
		cmocka_unit_test(test_set_wire_rewrites_id_and_case),
		cmocka_unit_test(test_arena),
		cmocka_unit_test(test_addr_parse),
		cmocka_unit_test(test_netprefix),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
