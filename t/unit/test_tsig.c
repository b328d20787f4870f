/* Unit tests of the tsig plugin (plugins/tsig/tsig.c, compiled in): the key file parser and
 * its positions, verification and signing of one query as the core would run it, the key
 * name left for later plugins, and the chaining of the MACs of a response of several messages
 * (RFC 8945 §5.3.1), which the core cannot send yet. MACs are recomputed here from their
 * definition (RFC 8945 §4.3) with gnutls_hmac_fast, not with the plugin's helpers. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../plugins/tsig/tsig.c"

#include "runtime.h"

/* --- Fixture: a setup context, a key file, the plugin's state. --- */

/* The configuration tree keeps strings for setup (cdns_setup_path): here, until the test
 * ends. */
static char *kept[16];
static unsigned n_kept;

static const char *keep(void *owner, const char *s)
{
	(void)owner;
	assert_true(n_kept < sizeof(kept) / sizeof(kept[0]));
	kept[n_kept] = strdup(s);
	assert_non_null(kept[n_kept]);
	return kept[n_kept++];
}

struct fx {
	char dir[64], path[96];
	cdns_setup_t setup;
	struct cdns_worker worker;
	void *state;
	/* The query, as the core fills it. */
	cdns_query_t q;
	uint8_t req[512];
	size_t req_len;
	uint8_t tx[4096];
	uint8_t arena[4096];
};

/* secret "k1": 32 octets 0x01..0x20; "k2": "secret" */
#define K1_B64 "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA="
static uint8_t k1_secret[32];

static const char key_file_text[] =
    "# test keys\n"
    "key \"k1\" {\n"
    "\talgorithm hmac-sha256; // inline comment\n"
    "\tsecret \"" K1_B64 "\";\n"
    "};\n"
    "/* second key */ key K2.Example. { algorithm HMAC-MD5.SIG-ALG.REG.INT; secret \"c2Vj\n"
    "  cmV0\"; };\n";

static int fx_new(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	strcpy(f->dir, "/tmp/test_tsig.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/keys", f->dir);
	f->setup.diag = cdns_diag_new();
	assert_non_null(f->setup.diag);
	snprintf(f->setup.prefix, sizeof(f->setup.prefix), "plugin 'tsig': ");
	f->setup.config_dir = f->dir;
	f->setup.workers = 1;
	f->setup.keep = keep;
	for (int i = 0; i < 32; i++)
		k1_secret[i] = (uint8_t)(i + 1);
	*state = f;
	return 0;
}

static int fx_free(void **state)
{
	struct fx *f = *state;
	if (f->state != NULL) {
		tsig_thread_fini(f->state, &f->worker);
		tsig_teardown(f->state);
	}
	cdns_diag_free(f->setup.diag);
	while (n_kept > 0)
		free(kept[--n_kept]);
	unlink(f->path);
	rmdir(f->dir);
	free(f);
	return 0;
}

static void write_file(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");
	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
}

/* Set the plugin up with `key_file: keys` (plus extra options); returns setup's result. */
static int setup_with(struct fx *f, const char *file_text, cdns_conf_t *extra)
{
	write_file(f->path, file_text);
	static cdns_conf_t file_node, map;
	memset(&file_node, 0, sizeof(file_node));
	memset(&map, 0, sizeof(map));
	file_node.kind = CDNS_CONF_SCALAR;
	file_node.file = "c.yaml";
	file_node.line = 3;
	file_node.col = 17;
	file_node.key = "key_file";
	file_node.value = "keys";
	file_node.next = extra;
	map.kind = CDNS_CONF_MAP;
	map.file = "c.yaml";
	map.line = 2;
	map.col = 9;
	map.child = &file_node;
	map.n_children = extra != NULL ? 2 : 1;
	int ret = tsig_setup(&f->setup, &map, &f->state);
	if (ret == 0)
		assert_int_equal(tsig_thread_init(f->state, &f->worker), 0);
	return ret;
}

/* --- Building and checking messages. --- */

static void put48(uint8_t *p, uint64_t v)
{
	p[0] = (uint8_t)(v >> 40);
	p[1] = (uint8_t)(v >> 32);
	p[2] = (uint8_t)(v >> 24);
	p[3] = (uint8_t)(v >> 16);
	p[4] = (uint8_t)(v >> 8);
	p[5] = (uint8_t)v;
}

static const uint8_t k1_name[] = "\002k1";
static const uint8_t sha256_name[] = "\013hmac-sha256";

/* RFC 8945 §4.3.3 variables for key k1 / hmac-sha256. */
static size_t variables(uint8_t *out, uint64_t t, uint16_t fudge, uint16_t error,
                        const uint8_t *other, uint16_t other_len)
{
	size_t n = 0;
	memcpy(out + n, k1_name, sizeof(k1_name));
	n += sizeof(k1_name);
	static const uint8_t any_ttl0[] = {0, 255, 0, 0, 0, 0};
	memcpy(out + n, any_ttl0, 6);
	n += 6;
	memcpy(out + n, sha256_name, sizeof(sha256_name));
	n += sizeof(sha256_name);
	put48(out + n, t);
	n += 6;
	out[n++] = (uint8_t)(fudge >> 8);
	out[n++] = (uint8_t)fudge;
	out[n++] = (uint8_t)(error >> 8);
	out[n++] = (uint8_t)error;
	out[n++] = (uint8_t)(other_len >> 8);
	out[n++] = (uint8_t)other_len;
	if (other_len > 0)
		memcpy(out + n, other, other_len);
	return n + other_len;
}

static void hmac256(const uint8_t *data, size_t len, uint8_t *mac)
{
	assert_int_equal(
	    gnutls_hmac_fast(GNUTLS_MAC_SHA256, k1_secret, sizeof(k1_secret), data, len, mac), 0);
}

/* A query for www.example. A, id 0x1234, signed with k1 at time t; corrupt flips a MAC bit. */
static void make_signed_query(struct fx *f, uint64_t t, bool corrupt)
{
	cdns_pkt_t p;
	cdns_pkt_init(&p, f->req, sizeof(f->req));
	cdns_pkt_set_id(&p, 0x1234);
	cdns_pkt_set_flags(&p, CDNS_FLAG_RD);
	assert_int_equal(
	    cdns_pkt_put_question(&p, (const uint8_t *)"\003www\007example", CDNS_T_A, CDNS_C_IN),
	    0);
	size_t len = p.len;

	uint8_t data[1024];
	memcpy(data, f->req, len); /* ID equals the Original ID; ARCOUNT 0 */
	size_t n = len + variables(data + len, t, 300, 0, NULL, 0);
	uint8_t mac[32];
	hmac256(data, n, mac);
	if (corrupt)
		mac[5] ^= 0x10;

	uint8_t rd[128];
	size_t w = 0;
	memcpy(rd, sha256_name, sizeof(sha256_name));
	w += sizeof(sha256_name);
	put48(rd + w, t);
	w += 6;
	cdns_put16(rd + w, 300);
	cdns_put16(rd + w + 2, 32);
	w += 4;
	memcpy(rd + w, mac, 32);
	w += 32;
	cdns_put16(rd + w, 0x1234);
	cdns_put16(rd + w + 2, 0);
	cdns_put16(rd + w + 4, 0);
	w += 6;
	assert_int_equal(cdns_pkt_put_rr(&p, CDNS_SEC_ADDITIONAL, k1_name, CDNS_T_TSIG, CDNS_C_ANY,
	                                 0, rd, (uint16_t)w),
	                 0);
	f->req_len = p.len;

	/* As the core fills a query. */
	cdns_query_t *q = &f->q;
	memset(q, 0, sizeof(*q));
	assert_int_equal(cdns_msg_parse(&q->msg, f->req, f->req_len), 0);
	size_t pos = CDNS_HDR_LEN;
	int qn = cdns_msg_question(&q->msg, &pos, q->qname, &q->qtype, &q->qclass);
	assert_true(qn > 0);
	q->qname_len = (uint8_t)qn;
	q->qname_off = CDNS_HDR_LEN;
	q->tsig_off = pos;
	q->id = 0x1234;
	q->flags = CDNS_FLAG_RD;
	q->view = "default";
	q->resp.wire = f->tx;
	q->resp.cap = sizeof(f->tx);
	q->resp_max = 512;
	q->arena = f->arena;
	q->arena_cap = sizeof(f->arena);
	q->worker = &f->worker;
	q->ede = -1;
	cdns_resp_reset(q);
}

/* The TSIG record ending the response: fields and where it starts. */
struct resp_tsig {
	size_t start;
	uint64_t time;
	uint16_t fudge, mac_len, orig_id, error, other_len;
	const uint8_t *mac, *other;
};

static void read_tsig(const cdns_query_t *q, struct resp_tsig *t)
{
	cdns_msg_t m;
	assert_int_equal(cdns_msg_parse(&m, q->resp.wire, q->resp.len), 0);
	size_t pos = m.sec_off[CDNS_SEC_ADDITIONAL];
	cdns_rr_t rr;
	for (unsigned i = 0; i < m.hdr.count[CDNS_SEC_ADDITIONAL]; i++)
		assert_int_equal(cdns_msg_rr(&m, &pos, &rr), 0);
	assert_int_equal(rr.type, CDNS_T_TSIG);
	assert_int_equal(rr.rclass, CDNS_C_ANY);
	assert_int_equal(rr.ttl, 0);
	assert_memory_equal(rr.owner, k1_name, sizeof(k1_name));
	const uint8_t *p = rr.rdata;
	assert_memory_equal(p, sha256_name, sizeof(sha256_name));
	p += sizeof(sha256_name);
	t->start = rr.start;
	t->time = cdns_get48(p);
	t->fudge = cdns_get16(p + 6);
	t->mac_len = cdns_get16(p + 8);
	t->mac = p + 10;
	p += 10 + t->mac_len;
	t->orig_id = cdns_get16(p);
	t->error = cdns_get16(p + 2);
	t->other_len = cdns_get16(p + 4);
	t->other = p + 6;
	assert_int_equal(p + 6 + t->other_len - rr.rdata, rr.rdlen);
}

/* The response without its TSIG record, ARCOUNT one less, ID replaced by the Original ID. */
static size_t unsigned_response(const cdns_query_t *q, const struct resp_tsig *t, uint8_t *out)
{
	memcpy(out, q->resp.wire, t->start);
	cdns_put16(out, t->orig_id);
	cdns_put16(out + 10, (uint16_t)(cdns_get16(out + 10) - 1));
	return t->start;
}

/* --- Tests. --- */

static void test_algorithm_names(void **state)
{
	(void)state;
	assert_ptr_equal(cdns_tsig_alg_by_text("hmac-sha1", 9), cdns_tsig_alg_at(4));
	assert_ptr_equal(cdns_tsig_alg_by_text("HMAC-SHA512", 11), cdns_tsig_alg_at(2));
	assert_ptr_equal(cdns_tsig_alg_by_text("hmac-md5.sig-alg.reg.int.", 25), cdns_tsig_alg_at(5));
	assert_ptr_equal(cdns_tsig_alg_by_text("hmac-md5", 8), cdns_tsig_alg_at(5));
	assert_null(cdns_tsig_alg_by_text("hmac-sha256-128", 15));
	assert_ptr_equal(cdns_tsig_alg_by_wire((const uint8_t *)"\013HMAC-SHA224"),
	                 cdns_tsig_alg_at(3));
	size_t n = 0;
	for (const cdns_tsig_alg_t *a; (a = cdns_tsig_alg_at(n)) != NULL; n++) {
		/* The option's enum and the library's table agree, index for index. */
		assert_string_equal(tsig_alg_names[n], a->text);
		assert_int_equal(gnutls_hmac_get_len((gnutls_mac_algorithm_t)a->mac), a->size);
		assert_int_equal(cdns_name_check(a->wire, a->wire_len), a->wire_len);
	}
	assert_int_equal(n, 6);
	assert_null(tsig_alg_names[n]);
}

static void test_key_file_parsed(void **state)
{
	struct fx *f = *state;
	assert_int_equal(setup_with(f, key_file_text, NULL), 0);
	struct tsig_state *st = f->state;
	assert_int_equal(st->n_keys, 2);
	const struct tsig_key *k1 = tsig_find_key(st, k1_name);
	assert_non_null(k1);
	assert_ptr_equal(k1->alg, cdns_tsig_alg_at(0));
	assert_int_equal(k1->secret_len, 32);
	assert_memory_equal(k1->secret, k1_secret, 32);
	const struct tsig_key *k2 = tsig_find_key(st, (const uint8_t *)"\002k2\007example");
	assert_non_null(k2);
	assert_ptr_equal(k2->alg, cdns_tsig_alg_at(5));
	assert_int_equal(k2->secret_len, 6);
	assert_memory_equal(k2->secret, "secret", 6);
	assert_null(tsig_find_key(st, (const uint8_t *)"\002k3"));
	assert_int_equal(st->fudge, 300);
	assert_false(st->require);
}

static void test_key_file_errors(void **state)
{
	struct fx *f = *state;
	assert_int_equal(setup_with(f,
	                            "key \"a\" {\n"
	                            "  algorithm hmac-sha256;\n"
	                            "  secret \"AAAA\";\n"
	                            "};\n"
	                            "key \"b\" { algorithm nope; secret \"AAAA\"; };\n"
	                            "key \"A.\" { algorithm hmac-sha1; secret \"AAAA\"; };\n"
	                            "key \"c\" { algorithm hmac-sha1 secret \"AAAA\"; };\n"
	                            "key \"d\" { algorithm hmac-sha1; secret \"AAAA\"; };\n",
	                            NULL),
	                 CDNS_ECONFIG);
	assert_null(f->state);
	char want[256];
	assert_int_equal(cdns_diag_count(f->setup.diag), 3);
	snprintf(
	    want, sizeof(want),
	    "%s:5:21: plugin 'tsig': key \"b\": unknown algorithm \"nope\" (one of hmac-sha256, "
	    "hmac-sha384, hmac-sha512, hmac-sha224, hmac-sha1, hmac-md5)",
	    f->path);
	assert_string_equal(cdns_diag_message(f->setup.diag, 0), want);
	/* A syntax error ends the file: key "d" is not read. */
	snprintf(want, sizeof(want), "%s:7:31: plugin 'tsig': expected ';', got 'secret'", f->path);
	assert_string_equal(cdns_diag_message(f->setup.diag, 1), want);
	snprintf(want, sizeof(want),
	         "%s:6:5: plugin 'tsig': key 'a.' is defined twice (first at %s:1:5)", f->path,
	         f->path);
	assert_string_equal(cdns_diag_message(f->setup.diag, 2), want);
}

static void test_options_checked(void **state)
{
	struct fx *f = *state;
	cdns_conf_t fudge = {0};
	fudge.kind = CDNS_CONF_SCALAR;
	fudge.file = "c.yaml";
	fudge.line = 4;
	fudge.col = 14;
	fudge.key = "fudge";
	fudge.value = "2500ms";
	assert_int_equal(setup_with(f, key_file_text, &fudge), CDNS_ECONFIG);
	assert_int_equal(cdns_diag_count(f->setup.diag), 1);
	assert_string_equal(cdns_diag_message(f->setup.diag, 0),
	                    "c.yaml:4:14: plugin 'tsig': option 'fudge': must be whole seconds");
}

static void test_verified_query_and_signed_response(void **state)
{
	struct fx *f = *state;
	assert_int_equal(setup_with(f, key_file_text, NULL), 0);
	uint64_t now = tsig_now();
	make_signed_query(f, now, false);
	cdns_query_t *q = &f->q;

	assert_int_equal(tsig_query(f->state, q), CDNS_NEXT);
	/* Later plugins see the key (lower case wire form, owned by the plugin's state). */
	assert_non_null(q->tsig_key);
	assert_memory_equal(q->tsig_key, k1_name, sizeof(k1_name));
	assert_ptr_equal(q->tsig_key, tsig_find_key(f->state, k1_name)->name);
	/* Room is kept for the TSIG record: owner 4, fixed 10, algorithm 13, 16, MAC 32. */
	assert_int_equal(q->resp_reserve, 4 + 10 + 13 + 16 + 32);
	assert_int_equal(q->resp.limit, 512 - q->resp_reserve);

	/* A later plugin answers; the core finishes; the response hook signs. */
	const uint8_t a[4] = {192, 0, 2, 1};
	assert_int_equal(cdns_resp_add(q, CDNS_SEC_ANSWER, q->qname, CDNS_T_A, CDNS_C_IN, 60, a, 4),
	                 0);
	uint16_t before = q->resp.len;
	tsig_response(f->state, q);
	assert_int_equal(q->resp.len, before + q->resp_reserve);
	assert_int_equal(cdns_pkt_count(&q->resp, CDNS_SEC_ADDITIONAL), 1);

	struct resp_tsig t;
	read_tsig(q, &t);
	assert_int_equal(t.error, 0);
	assert_int_equal(t.orig_id, 0x1234);
	assert_int_equal(t.fudge, 300);
	assert_true(t.time >= now && t.time <= now + 2);
	assert_int_equal(t.mac_len, 32);
	assert_int_equal(t.other_len, 0);

	/* MAC = HMAC(request MAC with its length, response as signed, variables). */
	const uint8_t *req_mac = f->req + f->req_len - 6 - 32;
	uint8_t data[2048], mac[32];
	size_t n = 0;
	data[n++] = 0;
	data[n++] = 32;
	memcpy(data + n, req_mac, 32);
	n += 32;
	n += unsigned_response(q, &t, data + n);
	n += variables(data + n, t.time, t.fudge, 0, NULL, 0);
	hmac256(data, n, mac);
	assert_memory_equal(mac, t.mac, 32);
}

static void test_multi_message_chain(void **state)
{
	struct fx *f = *state;
	assert_int_equal(setup_with(f, key_file_text, NULL), 0);
	make_signed_query(f, tsig_now(), false);
	cdns_query_t *q = &f->q;
	assert_int_equal(tsig_query(f->state, q), CDNS_NEXT);
	q->resp_max = 4096;

	uint8_t prev[32];
	for (int msg = 0; msg < 3; msg++) {
		/* Each message of the response, as a streaming core will hand them over. */
		cdns_resp_reset(q);
		const uint8_t a[4] = {192, 0, 2, (uint8_t)(msg + 1)};
		assert_int_equal(
		    cdns_resp_add(q, CDNS_SEC_ANSWER, q->qname, CDNS_T_A, CDNS_C_IN, 60, a, 4), 0);
		tsig_response(f->state, q);
		struct resp_tsig t;
		read_tsig(q, &t);
		assert_int_equal(t.mac_len, 32);
		uint8_t data[2048], mac[32];
		size_t n = 0;
		if (msg == 0) {
			data[n++] = 0;
			data[n++] = 32;
			memcpy(data + n, f->req + f->req_len - 6 - 32, 32);
			n += 32;
			n += unsigned_response(q, &t, data + n);
			n += variables(data + n, t.time, t.fudge, 0, NULL, 0);
		} else {
			/* RFC 8945 §5.3.1: prior MAC (with its length), message, timers only. */
			data[n++] = 0;
			data[n++] = 32;
			memcpy(data + n, prev, 32);
			n += 32;
			n += unsigned_response(q, &t, data + n);
			put48(data + n, t.time);
			data[n + 6] = (uint8_t)(t.fudge >> 8);
			data[n + 7] = (uint8_t)t.fudge;
			n += 8;
		}
		hmac256(data, n, mac);
		assert_memory_equal(mac, t.mac, 32);
		memcpy(prev, t.mac, 32);
	}
}

static void test_bad_mac_and_old_time(void **state)
{
	struct fx *f = *state;
	assert_int_equal(setup_with(f, key_file_text, NULL), 0);
	cdns_query_t *q = &f->q;

	/* BADSIG: answered here, NOTAUTH, an unsigned TSIG with the error. */
	make_signed_query(f, tsig_now(), true);
	assert_int_equal(tsig_query(f->state, q), CDNS_DONE);
	assert_int_equal(q->rcode, CDNS_RCODE_NOTAUTH);
	assert_null(q->tsig_key);
	tsig_response(f->state, q);
	struct resp_tsig t;
	read_tsig(q, &t);
	assert_int_equal(t.error, CDNS_RCODE_BADSIG);
	assert_int_equal(t.mac_len, 0);

	/* BADTIME: signed, the client's time, ours in Other Data. */
	uint64_t now = tsig_now(), old = now - 301;
	make_signed_query(f, old, false);
	assert_int_equal(tsig_query(f->state, q), CDNS_DONE);
	assert_int_equal(q->rcode, CDNS_RCODE_NOTAUTH);
	assert_null(q->tsig_key);
	tsig_response(f->state, q);
	read_tsig(q, &t);
	assert_int_equal(t.error, CDNS_RCODE_BADTIME);
	assert_int_equal(t.time, old);
	assert_int_equal(t.other_len, 6);
	uint64_t server = cdns_get48(t.other);
	assert_true(server >= now && server <= now + 2);
	uint8_t data[2048], mac[32];
	size_t n = 0;
	data[n++] = 0;
	data[n++] = 32;
	memcpy(data + n, f->req + f->req_len - 6 - 32, 32);
	n += 32;
	n += unsigned_response(q, &t, data + n);
	n += variables(data + n, t.time, t.fudge, CDNS_RCODE_BADTIME, t.other, 6);
	hmac256(data, n, mac);
	assert_memory_equal(mac, t.mac, 32);

	/* Within the fudge: fine. */
	make_signed_query(f, now - 299, false);
	assert_int_equal(tsig_query(f->state, q), CDNS_NEXT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_algorithm_names),
	    cmocka_unit_test_setup_teardown(test_key_file_parsed, fx_new, fx_free),
	    cmocka_unit_test_setup_teardown(test_key_file_errors, fx_new, fx_free),
	    cmocka_unit_test_setup_teardown(test_options_checked, fx_new, fx_free),
	    cmocka_unit_test_setup_teardown(test_verified_query_and_signed_response, fx_new,
	                                    fx_free),
	    cmocka_unit_test_setup_teardown(test_multi_message_chain, fx_new, fx_free),
	    cmocka_unit_test_setup_teardown(test_bad_mac_and_old_time, fx_new, fx_free),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
