/* tsig: transaction signatures with shared secret keys (RFC 8945). The query hook verifies the
 * TSIG record of a signed request and answers the errors of RFC 8945 §5.2 itself; the response
 * hook signs what goes back to a verified request (§5.3) and appends the (unsigned) TSIG of the
 * key and MAC errors (§5.3.2). Requests without TSIG pass through, or are refused with
 * `require: true`.
 *
 * The algorithms, the parsing of the TSIG record and the MAC input are libclouddns's
 * (clouddns/tsig.h), shared with the client side the secondary plugin uses.
 *
 * Threads: keys are read-only after setup. Each worker has a scratch buffer of its own
 * (thread_init) in which the MAC input is laid out, so one HMAC call computes a MAC without
 * allocating, locking or sharing anything. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include <clouddns/clouddns.h>

#define TSIG_MAC_MAX    64   /* HMAC-SHA-512, the longest MAC we compute */
#define TSIG_SECRET_MAX 1024 /* decoded octets */
#define TSIG_KEYS_MAX   65536
#define TSIG_FILE_MAX   (1 << 20) /* key files are read whole */
#define TSIG_OTHER_LEN  6         /* Other Data of a BADTIME answer: the server's time */
/* Fixed RDATA octets besides the algorithm name, MAC and Other Data: time signed (6), fudge,
 * MAC size, original ID, error, other len (2 each). */
#define TSIG_RDATA_FIXED 16
/* Longest TSIG record we append: owner, type/class/TTL/RDLENGTH, RDATA. */
#define TSIG_RR_MAX                                                                                \
	(CDNS_NAME_MAXLEN + 10 + CDNS_NAME_MAXLEN + TSIG_RDATA_FIXED + TSIG_MAC_MAX +              \
	 TSIG_OTHER_LEN)
/* Per-worker buffer for the MAC input: a length-prefixed prior MAC, a whole message (at most
 * 64 KiB), and the TSIG variables (two names, 16 octets, Other Data shorter than the
 * message it came in). */
#define TSIG_SCRATCH (2 + TSIG_MAC_MAX + 65535 + 2 * CDNS_NAME_MAXLEN + 64)

/* --- Algorithms (RFC 8945 §6): the library's (clouddns/tsig.h). --- */

/* The option's enum, in the order of cdns_tsig_alg_at(). */
static const char *const tsig_alg_names[] = {
    "hmac-sha256", "hmac-sha384", "hmac-sha512", "hmac-sha224", "hmac-sha1", "hmac-md5", NULL};

/* --- State. --- */

struct tsig_key {
	uint8_t name[CDNS_NAME_MAXLEN]; /* wire form, lower case; q->tsig_key points here */
	uint8_t name_len;
	const cdns_tsig_alg_t *alg;
	uint8_t *secret;
	size_t secret_len;
	/* Where it was defined, in which order (setup only: duplicate reports). */
	const char *file;
	unsigned line, col;
	size_t seq;
};

/* One per worker, each on a cache line of its own. */
struct tsig_worker {
	_Alignas(64) uint8_t *scratch; /* TSIG_SCRATCH octets, from thread_init to thread_fini */
	int64_t log_sec;               /* rate limit of failure logs: the second, and the count */
	unsigned log_count;            /* in it */
};

struct tsig_state {
	struct tsig_key *keys; /* sorted by name (canonical order) */
	size_t n_keys, cap_keys;
	uint16_t fudge;  /* seconds: our responses' Fudge, and the most skew we accept */
	bool require;    /* refuse unsigned requests */
	uint8_t min_mac; /* shortest truncated MAC accepted (0: what RFC 8945 allows) */
	unsigned n_workers;
	struct tsig_worker *workers;
};

/* What the query hook leaves for the response hook (in the query's arena). The MAC kept is
 * the request's, then that of the last message signed: a response of several messages (a
 * zone transfer over TCP) chains each MAC to the previous one (RFC 8945 §5.3.1). */
struct tsig_qstate {
	const struct tsig_key *key; /* signs the response; NULL: unsigned error (BADKEY, BADSIG) */
	uint64_t req_time;          /* the request's Time Signed and Fudge */
	uint16_t req_fudge;
	uint16_t orig_id; /* the request's Original ID */
	uint16_t error;   /* TSIG error of the response */
	uint16_t mac_len;
	uint32_t n_signed; /* messages of the response signed so far */
	uint8_t owner_len, alg_len;
	uint8_t mac[TSIG_MAC_MAX];
	uint8_t owner[CDNS_NAME_MAXLEN]; /* key and algorithm names as the request gave them, */
	uint8_t alg[CDNS_NAME_MAXLEN];   /* lower-cased */
};

/* Result of verifying a request: 0, or the response's rcode (FORMERR), or a TSIG error. */
enum { TSIG_VERIFIED = 0 };

static uint64_t tsig_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec < 0 ? 0 : (uint64_t)ts.tv_sec;
}

/* By name, then in the order defined (so the first of duplicates comes first). */
static int tsig_key_cmp(const void *a, const void *b)
{
	const struct tsig_key *ka = a, *kb = b;
	int c = cdns_name_cmp(ka->name, kb->name);
	if (c != 0)
		return c;
	return ka->seq < kb->seq ? -1 : ka->seq > kb->seq;
}

static const struct tsig_key *tsig_find_key(const struct tsig_state *st, const uint8_t *name)
{
	size_t lo = 0, hi = st->n_keys;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = cdns_name_cmp(name, st->keys[mid].name);
		if (c == 0)
			return &st->keys[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

/* --- Requests. --- */

/* Parse the TSIG record at off (CDNS_EFORMAT: RFC 8945 §5.2, FORMERR). */
static int tsig_parse(const cdns_msg_t *m, size_t off, cdns_tsig_rr_t *t)
{
	cdns_rr_t rr;
	size_t pos = off;
	if (cdns_msg_rr(m, &pos, &rr) != 0)
		return CDNS_EFORMAT;
	return cdns_tsig_rr_parse(&rr, t);
}

/* Verify a request's TSIG in the order of RFC 8945 §5.2: key (BADKEY), MAC size (FORMERR,
 * §5.2.2.1) and MAC (BADSIG), time (BADTIME), truncation policy (BADTRUNC, §5.2.4).
 * *keyp is set once the key is known (also for the errors after BADKEY). Returns
 * TSIG_VERIFIED, CDNS_RCODE_FORMERR, CDNS_RCODE_SERVFAIL (no scratch buffer, HMAC failure)
 * or the TSIG error. */
static int tsig_verify(const struct tsig_state *st, cdns_tsig_input_t *in, const cdns_msg_t *m,
                       size_t tsig_off, const cdns_tsig_rr_t *t, uint64_t now,
                       const struct tsig_key **keyp)
{
	*keyp = NULL;
	const struct tsig_key *k = tsig_find_key(st, t->owner);
	/* A key is its name and its algorithm: the same name with another algorithm is not it. */
	if (k == NULL || !cdns_name_equal(t->alg, k->alg->wire))
		return CDNS_RCODE_BADKEY;
	*keyp = k;

	/* §5.2.2.1: longer than the hash, or shorter than both 10 octets and half the hash,
	 * cannot be a MAC. */
	unsigned full = k->alg->size;
	unsigned least = full / 2 > 10 ? full / 2 : 10;
	if (t->mac_size > full || t->mac_size < least)
		return CDNS_RCODE_FORMERR;

	/* The request as it was signed: without its TSIG record, ARCOUNT one less. */
	in->len = 0;
	in->overflow = false;
	cdns_tsig_in_message(in, m->wire, tsig_off, t->orig_id,
	                     (uint16_t)(m->hdr.count[CDNS_SEC_ADDITIONAL] - 1));
	cdns_tsig_in_variables(in, t->owner, t->owner_len, t->alg, t->alg_len, t->time, t->fudge,
	                       t->error, t->other, t->other_len);
	uint8_t mac[TSIG_MAC_MAX];
	if (cdns_tsig_hmac(k->alg, k->secret, k->secret_len, in, mac) != 0)
		return CDNS_RCODE_SERVFAIL;
	/* A truncated MAC is compared with as many leading octets of ours (§5.2.2.1), in
	 * constant time. */
	if (!cdns_tsig_mac_equal(mac, t->mac, t->mac_size))
		return CDNS_RCODE_BADSIG;

	/* §5.2.3. The request's fudge, capped by ours: a client cannot widen the window. */
	uint64_t skew = now > t->time ? now - t->time : t->time - now;
	uint16_t fudge = t->fudge < st->fudge ? t->fudge : st->fudge;
	if (skew > fudge)
		return CDNS_RCODE_BADTIME;

	/* §5.2.4: allowed by the RFC but shorter than our policy. */
	unsigned want = st->min_mac < full ? st->min_mac : full;
	if (t->mac_size < want)
		return CDNS_RCODE_BADTRUNC;
	return TSIG_VERIFIED;
}

static const char *tsig_error_name(uint16_t error)
{
	switch (error) {
	case CDNS_RCODE_BADSIG: return "BADSIG";
	case CDNS_RCODE_BADKEY: return "BADKEY";
	case CDNS_RCODE_BADTIME: return "BADTIME";
	case CDNS_RCODE_BADTRUNC: return "BADTRUNC";
	case CDNS_RCODE_FORMERR: return "FORMERR";
	default: return "error";
	}
}

/* RFC 8945 §5.2: the server SHOULD log failures. At most 10 lines a second per worker, so
 * that a flood of forged requests does not become a flood of log lines. */
static void tsig_log_failure(struct tsig_state *st, const cdns_query_t *q, uint16_t error,
                             const uint8_t *key)
{
	if (!cdns_log_enabled(CDNS_LOG_INFO))
		return;
	if (q->worker != NULL) {
		unsigned w = cdns_worker_index(q->worker);
		if (w < st->n_workers) {
			struct tsig_worker *tw = &st->workers[w];
			struct timespec ts;
			clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
			if (tw->log_sec != ts.tv_sec) {
				tw->log_sec = ts.tv_sec;
				tw->log_count = 0;
			}
			if (tw->log_count++ >= 10)
				return;
		}
	}
	char addr[INET6_ADDRSTRLEN] = "?";
	if (q->client.sa.sa_family == AF_INET)
		inet_ntop(AF_INET, &q->client.sin.sin_addr, addr, sizeof(addr));
	else if (q->client.sa.sa_family == AF_INET6)
		inet_ntop(AF_INET6, &q->client.sin6.sin6_addr, addr, sizeof(addr));
	char name[CDNS_NAME_MAXTEXT] = "?";
	if (key != NULL)
		(void)cdns_name_to_text(key, name, sizeof(name));
	cdns_info("tsig: %s: request from %s with key %s", tsig_error_name(error), addr, name);
}

static cdns_tsig_input_t tsig_worker_input(struct tsig_state *st, const cdns_query_t *q)
{
	cdns_tsig_input_t in = {NULL, 0, 0, true};
	if (q->worker == NULL)
		return in;
	unsigned w = cdns_worker_index(q->worker);
	if (w >= st->n_workers || st->workers[w].scratch == NULL)
		return in;
	in.buf = st->workers[w].scratch;
	in.cap = TSIG_SCRATCH;
	in.overflow = false;
	return in;
}

/* Octets of the TSIG record we append for this query. */
static uint16_t tsig_rr_len(const struct tsig_qstate *qs)
{
	size_t mac = qs->key != NULL ? qs->key->alg->size : 0;
	size_t other = qs->error == CDNS_RCODE_BADTIME ? TSIG_OTHER_LEN : 0;
	return (uint16_t)(qs->owner_len + 10 + qs->alg_len + TSIG_RDATA_FIXED + mac + other);
}

static cdns_verdict_t tsig_answer(cdns_query_t *q, uint16_t rcode)
{
	cdns_resp_reset(q);
	cdns_resp_set_rcode(q, rcode);
	return CDNS_DONE;
}

static cdns_verdict_t tsig_query(void *state, cdns_query_t *q)
{
	struct tsig_state *st = state;
	if (q->tsig_off == 0)
		return st->require ? tsig_answer(q, CDNS_RCODE_REFUSED) : CDNS_NEXT;

	cdns_tsig_rr_t t;
	if (tsig_parse(&q->msg, q->tsig_off, &t) != 0) {
		/* RFC 8945 §5.2: a TSIG that cannot be interpreted makes the message corrupt. */
		tsig_log_failure(st, q, CDNS_RCODE_FORMERR, NULL);
		return tsig_answer(q, CDNS_RCODE_FORMERR);
	}
	cdns_tsig_input_t in = tsig_worker_input(st, q);
	if (in.buf == NULL) {
		cdns_warn("tsig: no buffer on this worker (thread init failed): SERVFAIL");
		return tsig_answer(q, CDNS_RCODE_SERVFAIL);
	}
	const struct tsig_key *k;
	int res = tsig_verify(st, &in, &q->msg, q->tsig_off, &t, tsig_now(), &k);
	if (res == CDNS_RCODE_FORMERR || res == CDNS_RCODE_SERVFAIL) {
		/* No TSIG in these answers: there is nothing we could sign with. */
		if (res == CDNS_RCODE_FORMERR)
			tsig_log_failure(st, q, CDNS_RCODE_FORMERR, t.owner);
		return tsig_answer(q, (uint16_t)res);
	}

	struct tsig_qstate *qs = cdns_query_alloc(q, sizeof(*qs));
	if (qs == NULL)
		return tsig_answer(q, CDNS_RCODE_SERVFAIL);
	memset(qs, 0, offsetof(struct tsig_qstate, mac));
	qs->req_time = t.time;
	qs->req_fudge = t.fudge;
	qs->orig_id = t.orig_id;
	qs->owner_len = t.owner_len;
	memcpy(qs->owner, t.owner, t.owner_len);
	qs->alg_len = t.alg_len;
	memcpy(qs->alg, t.alg, t.alg_len);
	/* §5.3.2: key and MAC errors are answered unsigned, time and truncation errors signed. */
	if (res != CDNS_RCODE_BADKEY && res != CDNS_RCODE_BADSIG) {
		qs->key = k;
		qs->mac_len = t.mac_size; /* the (possibly truncated) request MAC, §5.2.2.1 */
		memcpy(qs->mac, t.mac, t.mac_size);
	}
	qs->error = (uint16_t)res;
	*cdns_query_slot(q) = qs;

	if (res != TSIG_VERIFIED) {
		tsig_log_failure(st, q, (uint16_t)res, t.owner);
		tsig_answer(q, CDNS_RCODE_NOTAUTH);
	} else {
		q->tsig_key = k->name;
	}
	/* Keep room for the record the response hook appends. When even that does not fit
	 * (a huge key name in a 512-octet UDP answer), the response hook falls back to the
	 * truncated answer of §5.3. */
	(void)cdns_resp_reserve(q, tsig_rr_len(qs));
	return res == TSIG_VERIFIED ? CDNS_NEXT : CDNS_DONE;
}

/* --- Responses. --- */

/* Sign the response in q->resp (one message of it) and append the TSIG record; for the
 * unsigned errors, append the record with an empty MAC. Returns 0 or an error (nothing
 * appended). */
static int tsig_sign(struct tsig_state *st, cdns_query_t *q, struct tsig_qstate *qs, uint64_t now)
{
	uint64_t signed_at = now;
	uint16_t fudge = st->fudge;
	uint8_t other[TSIG_OTHER_LEN];
	uint16_t other_len = 0;
	if (qs->key == NULL) {
		/* Unsigned errors echo the request's times. */
		signed_at = qs->req_time;
		fudge = qs->req_fudge;
	} else if (qs->error == CDNS_RCODE_BADTIME) {
		/* §5.2.3: the client's time and fudge, ours in Other Data, so that the client
		 * can check the answer despite the skew. */
		signed_at = qs->req_time;
		fudge = qs->req_fudge;
		cdns_put48(other, now);
		other_len = TSIG_OTHER_LEN;
	}

	uint16_t rrlen = tsig_rr_len(qs);
	if ((size_t)q->resp.len + rrlen > q->resp_max) {
		/* §5.3: no room for the TSIG: only the question, TC set, NOERROR, signed. */
		cdns_resp_reset(q);
		cdns_resp_set_flags(q, CDNS_FLAG_TC, 0);
	}

	uint8_t mac[TSIG_MAC_MAX];
	uint16_t mac_len = 0;
	if (qs->key != NULL) {
		cdns_tsig_input_t in = tsig_worker_input(st, q);
		if (in.buf == NULL)
			return CDNS_ENOMEM;
		/* §4.3.2 and §5.3.1: the first message chains to the request MAC and is digested
		 * with the full variables; later ones chain to the previous message's MAC and
		 * carry only the timers. */
		cdns_tsig_in_mac(&in, qs->mac, qs->mac_len);
		cdns_tsig_in_message(&in, q->resp.wire, q->resp.len, qs->orig_id,
		                cdns_pkt_count(&q->resp, CDNS_SEC_ADDITIONAL));
		if (qs->n_signed == 0)
			cdns_tsig_in_variables(&in, qs->owner, qs->owner_len, qs->alg, qs->alg_len,
			                  signed_at, fudge, qs->error, other, other_len);
		else
			cdns_tsig_in_timers(&in, signed_at, fudge);
		int ret = cdns_tsig_hmac(qs->key->alg, qs->key->secret, qs->key->secret_len, &in, mac);
		if (ret != 0)
			return ret;
		mac_len = qs->key->alg->size;
	}

	uint8_t rr[TSIG_RR_MAX];
	size_t w = 0;
	memcpy(rr, qs->owner, qs->owner_len);
	w += qs->owner_len;
	cdns_put16(rr + w, CDNS_T_TSIG);
	cdns_put16(rr + w + 2, CDNS_C_ANY);
	cdns_put32(rr + w + 4, 0);
	cdns_put16(rr + w + 8, (uint16_t)(rrlen - qs->owner_len - 10));
	w += 10;
	memcpy(rr + w, qs->alg, qs->alg_len);
	w += qs->alg_len;
	cdns_put48(rr + w, signed_at);
	cdns_put16(rr + w + 6, fudge);
	cdns_put16(rr + w + 8, mac_len);
	w += 10;
	memcpy(rr + w, mac, mac_len);
	w += mac_len;
	cdns_put16(rr + w, qs->orig_id);
	cdns_put16(rr + w + 2, qs->error);
	cdns_put16(rr + w + 4, other_len);
	w += 6;
	memcpy(rr + w, other, other_len);
	w += other_len;

	int ret = cdns_pkt_put_raw_rr(&q->resp, CDNS_SEC_ADDITIONAL, rr, (uint16_t)w);
	if (ret != 0)
		return ret;
	if (mac_len > 0) {
		memcpy(qs->mac, mac, mac_len);
		qs->mac_len = mac_len;
		qs->n_signed++;
	}
	return 0;
}

static void tsig_response(void *state, cdns_query_t *q)
{
	struct tsig_qstate *qs = *cdns_query_slot(q);
	if (qs == NULL)
		return; /* unsigned request, or an answer without TSIG (FORMERR) */
	int ret = tsig_sign(state, q, qs, tsig_now());
	if (ret != 0)
		cdns_warn("tsig: cannot sign the response: %s", cdns_strerror(ret));
}

/* --- Setup. --- */

struct tsig_cfg {
	const cdns_conf_t *keys;
	const char *key_file;
	int64_t fudge_ms;
	bool require;
	int64_t min_mac_size;
};

static const cdns_opt_def_t tsig_opts[] = {
    {"keys", CDNS_OPT_NODE, offsetof(struct tsig_cfg, keys), NULL, 0, -1, false, NULL},
    {"key_file", CDNS_OPT_STRING, offsetof(struct tsig_cfg, key_file), NULL, 0, -1, false, NULL},
    {"fudge", CDNS_OPT_DURATION, offsetof(struct tsig_cfg, fudge_ms), "300s", 1000, 65535000, false,
     NULL},
    {"require", CDNS_OPT_BOOL, offsetof(struct tsig_cfg, require), "false", 0, -1, false, NULL},
    {"min_mac_size", CDNS_OPT_INT, offsetof(struct tsig_cfg, min_mac_size), "0", 0, TSIG_MAC_MAX,
     false, NULL},
    CDNS_OPT_END,
};

struct tsig_key_cfg {
	const char *name;
	int alg;
	const char *secret;
};

static const cdns_opt_def_t tsig_key_opts[] = {
    {"name", CDNS_OPT_STRING, offsetof(struct tsig_key_cfg, name), NULL, 0, -1, true, NULL},
    {"algorithm", CDNS_OPT_ENUM, offsetof(struct tsig_key_cfg, alg), "hmac-sha256", 0, -1, false,
     tsig_alg_names},
    {"secret", CDNS_OPT_STRING, offsetof(struct tsig_key_cfg, secret), NULL, 0, -1, true, NULL},
    CDNS_OPT_END,
};

/* A place in a configuration or key file, for messages. */
struct tsig_pos {
	const char *file;
	unsigned line, col;
};

static struct tsig_pos tsig_pos_of(const cdns_conf_t *node)
{
	struct tsig_pos p = {node->file, node->line, node->col};
	return p;
}

static void tsig_error(cdns_setup_t *s, struct tsig_pos at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void tsig_error(cdns_setup_t *s, struct tsig_pos at, const char *fmt, ...)
{
	char msg[CDNS_DIAG_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	cdns_diag_error_at(cdns_setup_diag(s), at.file, at.line, at.col, "%s%s",
	                   cdns_setup_prefix(s), msg);
}

static void tsig_free_keys(struct tsig_state *st)
{
	for (size_t i = 0; i < st->n_keys; i++) {
		if (st->keys[i].secret != NULL) {
			gnutls_memset(st->keys[i].secret, 0, st->keys[i].secret_len);
			free(st->keys[i].secret);
		}
	}
	free(st->keys);
	st->keys = NULL;
	st->n_keys = st->cap_keys = 0;
}

static void tsig_teardown(void *state)
{
	struct tsig_state *st = state;
	if (st == NULL)
		return;
	for (unsigned i = 0; st->workers != NULL && i < st->n_workers; i++)
		free(st->workers[i].scratch);
	free(st->workers);
	tsig_free_keys(st);
	free(st);
}

/* Add a key: name in presentation form, secret in base64 (blanks inside are skipped, as in
 * BIND key files). Reports problems at their positions; returns false after a report. */
static bool tsig_add_key(cdns_setup_t *s, struct tsig_state *st, const char *name, size_t name_len,
                         struct tsig_pos name_at, const cdns_tsig_alg_t *alg, const char *secret,
                         size_t secret_len, struct tsig_pos secret_at)
{
	uint8_t wire[CDNS_NAME_MAXLEN];
	if (cdns_name_from_text(name, name_len, (const uint8_t *)"", wire) <= 0) {
		tsig_error(s, name_at, "key name: not a domain name, got \"%.*s\"", (int)name_len,
		           name);
		return false;
	}
	cdns_name_lower(wire);
	if (st->n_keys >= TSIG_KEYS_MAX) {
		tsig_error(s, name_at, "at most %d keys", TSIG_KEYS_MAX);
		return false;
	}

	/* Base64 without the blanks a key file may wrap it with. */
	char *b64 = malloc(secret_len + 1);
	uint8_t *raw = malloc(secret_len / 4 * 3 + 3);
	if (b64 == NULL || raw == NULL) {
		free(b64);
		free(raw);
		tsig_error(s, secret_at, "out of memory");
		return false;
	}
	size_t n = 0;
	for (size_t i = 0; i < secret_len; i++)
		if (secret[i] != ' ' && secret[i] != '\t' && secret[i] != '\n' && secret[i] != '\r')
			b64[n++] = secret[i];
	int raw_len = cdns_base64_decode(b64, n, raw, secret_len / 4 * 3 + 3);
	gnutls_memset(b64, 0, secret_len + 1);
	free(b64);
	const char *bad = NULL;
	if (raw_len < 0)
		bad = "secret: not base64 (RFC 4648, with padding)";
	else if (raw_len == 0)
		bad = "secret: empty";
	else if (raw_len > TSIG_SECRET_MAX)
		bad = "secret: longer than 1024 octets";
	if (bad != NULL) {
		tsig_error(s, secret_at, "key '%.*s': %s", (int)name_len, name, bad);
		gnutls_memset(raw, 0, secret_len / 4 * 3 + 3);
		free(raw);
		return false;
	}
	/* GnuTLS refuses some algorithms in FIPS mode: say so now, not at the first query. */
	uint8_t probe[TSIG_MAC_MAX];
	if (gnutls_hmac_fast((gnutls_mac_algorithm_t)alg->mac, raw, (size_t)raw_len, "", 0,
			     probe) < 0) {
		tsig_error(s, name_at, "key '%.*s': algorithm %s is not available in this GnuTLS",
		           (int)name_len, name, alg->text);
		gnutls_memset(raw, 0, (size_t)raw_len);
		free(raw);
		return false;
	}

	if (st->n_keys == st->cap_keys) {
		size_t cap = st->cap_keys ? st->cap_keys * 2 : 8;
		struct tsig_key *keys = realloc(st->keys, cap * sizeof(*keys));
		if (keys == NULL) {
			gnutls_memset(raw, 0, (size_t)raw_len);
			free(raw);
			tsig_error(s, name_at, "out of memory");
			return false;
		}
		st->keys = keys;
		st->cap_keys = cap;
	}
	struct tsig_key *k = &st->keys[st->n_keys++];
	memset(k, 0, sizeof(*k));
	k->name_len = (uint8_t)cdns_name_len(wire);
	memcpy(k->name, wire, k->name_len);
	k->alg = alg;
	k->secret = raw;
	k->secret_len = (size_t)raw_len;
	k->file = name_at.file;
	k->line = name_at.line;
	k->col = name_at.col;
	k->seq = st->n_keys;
	return true;
}

/* Keys from the `keys` option: a list of {name, algorithm, secret}. */
static bool tsig_conf_keys(cdns_setup_t *s, struct tsig_state *st, const cdns_conf_t *keys)
{
	if (keys->kind != CDNS_CONF_SEQ) {
		tsig_error(
		    s, tsig_pos_of(keys),
		    "option 'keys': must be a list of {name: ..., algorithm: ..., secret: ...}");
		return false;
	}
	bool ok = true;
	for (const cdns_conf_t *kn = keys->child; kn != NULL; kn = kn->next) {
		struct tsig_key_cfg kc = {NULL, 0, NULL};
		if (kn->kind != CDNS_CONF_MAP) {
			tsig_error(
			    s, tsig_pos_of(kn),
			    "option 'keys': each key must be a map {name: ..., algorithm: ..., "
			    "secret: ...}");
			ok = false;
			continue;
		}
		if (cdns_conf_apply(cdns_setup_diag(s), cdns_setup_prefix(s), kn, tsig_key_opts,
		                    &kc) != 0) {
			ok = false;
			continue;
		}
		const cdns_conf_t *nn = cdns_conf_get(kn, "name");
		const cdns_conf_t *sn = cdns_conf_get(kn, "secret");
		if (!tsig_add_key(s, st, kc.name, strlen(kc.name), tsig_pos_of(nn),
		                  cdns_tsig_alg_at((size_t)kc.alg), kc.secret, strlen(kc.secret),
		                  tsig_pos_of(sn)))
			ok = false;
	}
	return ok;
}

/* --- Key files in BIND syntax:
 *   key "name" { algorithm hmac-sha256; secret "base64"; };
 * any number of them, with #, // and C-style comments. --- */

enum { KF_EOF, KF_WORD, KF_STRING, KF_LBRACE, KF_RBRACE, KF_SEMI, KF_ERROR };

struct kf_tok {
	int kind;
	const char *text; /* into the file's text; for strings, without the quotes */
	size_t len;
	struct tsig_pos at;
};

struct kf {
	const char *path;
	const char *p, *end;
	unsigned line, col;
	cdns_setup_t *s;
};

static void kf_step(struct kf *k)
{
	if (*k->p == '\n') {
		k->line++;
		k->col = 1;
	} else {
		k->col++;
	}
	k->p++;
}

static struct tsig_pos kf_here(const struct kf *k)
{
	struct tsig_pos at = {k->path, k->line, k->col};
	return at;
}

/* The next token; comments and blanks are skipped. Reports unterminated comments and strings
 * (KF_ERROR). */
static struct kf_tok kf_next(struct kf *k)
{
	struct kf_tok t = {KF_EOF, NULL, 0, {k->path, 0, 0}};
	for (;;) {
		while (k->p < k->end && (*k->p == ' ' || *k->p == '\t' || *k->p == '\n' ||
		                         *k->p == '\r' || *k->p == '\f' || *k->p == '\v'))
			kf_step(k);
		if (k->p >= k->end)
			break;
		if (*k->p == '#' || (*k->p == '/' && k->end - k->p > 1 && k->p[1] == '/')) {
			while (k->p < k->end && *k->p != '\n')
				kf_step(k);
			continue;
		}
		if (*k->p == '/' && k->end - k->p > 1 && k->p[1] == '*') {
			struct tsig_pos start = kf_here(k);
			kf_step(k);
			kf_step(k);
			while (k->p < k->end &&
			       !(*k->p == '*' && k->end - k->p > 1 && k->p[1] == '/'))
				kf_step(k);
			if (k->p >= k->end) {
				tsig_error(k->s, start, "comment not closed");
				t.kind = KF_ERROR;
				return t;
			}
			kf_step(k);
			kf_step(k);
			continue;
		}
		break;
	}
	t.at = kf_here(k);
	if (k->p >= k->end)
		return t;
	char c = *k->p;
	if (c == '{' || c == '}' || c == ';') {
		t.kind = c == '{' ? KF_LBRACE : c == '}' ? KF_RBRACE : KF_SEMI;
		t.text = k->p;
		t.len = 1;
		kf_step(k);
		return t;
	}
	if (c == '"') {
		kf_step(k);
		t.text = k->p;
		while (k->p < k->end && *k->p != '"')
			kf_step(k);
		if (k->p >= k->end) {
			tsig_error(k->s, t.at, "string not closed");
			t.kind = KF_ERROR;
			return t;
		}
		t.len = (size_t)(k->p - t.text);
		t.kind = KF_STRING;
		kf_step(k);
		return t;
	}
	t.kind = KF_WORD;
	t.text = k->p;
	while (k->p < k->end && *k->p != ' ' && *k->p != '\t' && *k->p != '\n' && *k->p != '\r' &&
	       *k->p != '{' && *k->p != '}' && *k->p != ';' && *k->p != '"' && *k->p != '#')
		kf_step(k);
	t.len = (size_t)(k->p - t.text);
	return t;
}

static bool kf_is(const struct kf_tok *t, const char *word)
{
	return t->kind == KF_WORD && strlen(word) == t->len &&
	       strncasecmp(t->text, word, t->len) == 0;
}

static const char *kf_what(const struct kf_tok *t, char *buf, size_t len)
{
	switch (t->kind) {
	case KF_EOF: return "the end of the file";
	case KF_STRING:
		snprintf(buf, len, "\"%.*s\"", (int)(t->len > 40 ? 40 : t->len), t->text);
		break;
	default: snprintf(buf, len, "'%.*s'", (int)(t->len > 40 ? 40 : t->len), t->text); break;
	}
	return buf;
}

/* Report "expected X, got Y" at t (nothing more for KF_ERROR: already reported). */
static void kf_expected(struct kf *k, const struct kf_tok *t, const char *what)
{
	if (t->kind == KF_ERROR)
		return;
	char buf[64];
	tsig_error(k->s, t->at, "expected %s, got %s", what, kf_what(t, buf, sizeof(buf)));
}

/* One key statement after the word "key". Returns false on a syntax error (parsing stops:
 * what follows cannot be trusted); *added tells whether the key was valid. */
static bool kf_key(struct kf *k, struct tsig_state *st, bool *added)
{
	*added = false;
	struct kf_tok name = kf_next(k);
	if (name.kind != KF_WORD && name.kind != KF_STRING) {
		kf_expected(k, &name, "a key name");
		return false;
	}
	struct kf_tok t = kf_next(k);
	if (t.kind != KF_LBRACE) {
		kf_expected(k, &t, "'{'");
		return false;
	}
	struct kf_tok alg = {KF_EOF, NULL, 0, {NULL, 0, 0}}, secret = alg;
	for (;;) {
		t = kf_next(k);
		if (t.kind == KF_RBRACE)
			break;
		struct kf_tok *slot = kf_is(&t, "algorithm") ? &alg
		                      : kf_is(&t, "secret")  ? &secret
		                                             : NULL;
		if (slot == NULL) {
			kf_expected(k, &t, "'algorithm', 'secret' or '}'");
			return false;
		}
		if (slot->kind != KF_EOF) {
			tsig_error(k->s, t.at, "key \"%.*s\": '%.*s' given twice", (int)name.len,
			           name.text, (int)t.len, t.text);
			return false;
		}
		*slot = kf_next(k);
		if (slot->kind != KF_WORD && slot->kind != KF_STRING) {
			kf_expected(k, slot, "a value");
			return false;
		}
		t = kf_next(k);
		if (t.kind != KF_SEMI) {
			kf_expected(k, &t, "';'");
			return false;
		}
	}
	t = kf_next(k);
	if (t.kind != KF_SEMI) {
		kf_expected(k, &t, "';' after '}'");
		return false;
	}
	if (alg.kind == KF_EOF || secret.kind == KF_EOF) {
		tsig_error(k->s, name.at, "key \"%.*s\": no %s", (int)name.len, name.text,
		           alg.kind == KF_EOF ? "algorithm" : "secret");
		return true;
	}
	const cdns_tsig_alg_t *a = cdns_tsig_alg_by_text(alg.text, alg.len);
	if (a == NULL) {
		tsig_error(k->s, alg.at,
		           "key \"%.*s\": unknown algorithm \"%.*s\" (one of hmac-sha256, "
		           "hmac-sha384, hmac-sha512, hmac-sha224, hmac-sha1, hmac-md5)",
		           (int)name.len, name.text, (int)alg.len, alg.text);
		return true;
	}
	*added = tsig_add_key(k->s, st, name.text, name.len, name.at, a, secret.text, secret.len,
	                      secret.at);
	return true;
}

/* Read and parse a key file; every problem is reported as path:line:col. */
static bool tsig_key_file(cdns_setup_t *s, struct tsig_state *st, const char *path,
                          const cdns_conf_t *at)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL) {
		tsig_error(s, tsig_pos_of(at), "option 'key_file': cannot open \"%s\": %s", path,
		           strerror(errno));
		return false;
	}
	char *text = malloc(TSIG_FILE_MAX + 1);
	size_t len = text != NULL ? fread(text, 1, TSIG_FILE_MAX + 1, f) : 0;
	bool read_error = ferror(f) != 0;
	fclose(f);
	if (text == NULL || read_error || len > TSIG_FILE_MAX) {
		tsig_error(s, tsig_pos_of(at), "option 'key_file': cannot read \"%s\": %s", path,
		           text == NULL ? "out of memory"
		           : read_error ? "I/O error"
		                        : "larger than 1 MiB");
		free(text);
		return false;
	}

	struct kf k = {path, text, text + len, 1, 1, s};
	bool ok = true;
	for (;;) {
		struct kf_tok t = kf_next(&k);
		if (t.kind == KF_EOF)
			break;
		if (!kf_is(&t, "key")) {
			kf_expected(&k, &t, "'key'");
			ok = false;
			break;
		}
		bool added;
		if (!kf_key(&k, st, &added)) {
			ok = false;
			break;
		}
		if (!added)
			ok = false;
	}
	/* The key names and secrets were copied: the text holds secrets, wipe it. */
	gnutls_memset(text, 0, len);
	free(text);
	return ok;
}

static int tsig_setup(cdns_setup_t *s, const cdns_conf_t *opts, void **state)
{
	/* Defaults for what fails to parse: the keys are still checked, so that one run reports
	 * every error. */
	struct tsig_cfg cfg = {NULL, NULL, 300000, false, 0};
	bool ok =
	    cdns_conf_apply(cdns_setup_diag(s), cdns_setup_prefix(s), opts, tsig_opts, &cfg) == 0;
	struct tsig_state *st = calloc(1, sizeof(*st));
	if (st == NULL)
		return CDNS_ENOMEM;
	if (cfg.fudge_ms % 1000 != 0) {
		tsig_error(s, tsig_pos_of(cdns_conf_get(opts, "fudge")),
		           "option 'fudge': must be whole seconds");
		ok = false;
	}
	st->fudge = (uint16_t)(cfg.fudge_ms / 1000);
	st->require = cfg.require;
	st->min_mac = (uint8_t)cfg.min_mac_size;
	if (cfg.keys != NULL && !tsig_conf_keys(s, st, cfg.keys))
		ok = false;
	if (cfg.key_file != NULL) {
		const cdns_conf_t *at = cdns_conf_get(opts, "key_file");
		const char *path = cdns_setup_path(s, cfg.key_file);
		if (path == NULL) {
			tsig_error(s, tsig_pos_of(at), "option 'key_file': path too long");
			ok = false;
		} else if (!tsig_key_file(s, st, path, at)) {
			ok = false;
		}
	}
	if (ok && st->n_keys == 0) {
		if (opts != NULL)
			tsig_error(s, tsig_pos_of(opts), "no keys: give 'keys' or 'key_file'");
		else
			cdns_diag_error_at(cdns_setup_diag(s), NULL, 0, 0,
			                   "%sno keys: give 'keys' or 'key_file'",
			                   cdns_setup_prefix(s));
		ok = false;
	}

	/* Sorted for lookups; duplicates are then neighbours, the first defined first. */
	if (st->n_keys > 1)
		qsort(st->keys, st->n_keys, sizeof(st->keys[0]), tsig_key_cmp);
	size_t first = 0;
	for (size_t i = 1; i < st->n_keys; i++) {
		if (!cdns_name_equal(st->keys[i].name, st->keys[first].name)) {
			first = i;
			continue;
		}
		const struct tsig_key *k = &st->keys[i], *o = &st->keys[first];
		char text[CDNS_NAME_MAXTEXT];
		(void)cdns_name_to_text(k->name, text, sizeof(text));
		struct tsig_pos at = {k->file, k->line, k->col};
		tsig_error(s, at, "key '%s' is defined twice (first at %s:%u:%u)", text,
		           o->file != NULL ? o->file : "?", o->line, o->col);
		ok = false;
	}
	if (!ok) {
		tsig_teardown(st);
		return CDNS_ECONFIG;
	}
	for (size_t i = 0; i < st->n_keys; i++)
		st->keys[i].file = NULL; /* the configuration tree may go before we do */

	st->n_workers = cdns_setup_workers(s);
	if (st->n_workers > 0 && !cdns_setup_check_only(s)) {
		st->workers = aligned_alloc(64, st->n_workers * sizeof(*st->workers));
		if (st->workers == NULL) {
			tsig_teardown(st);
			return CDNS_ENOMEM;
		}
		memset(st->workers, 0, st->n_workers * sizeof(*st->workers));
	} else {
		st->n_workers = 0;
	}
	*state = st;
	return 0;
}

static int tsig_thread_init(void *state, cdns_worker_t *w)
{
	struct tsig_state *st = state;
	unsigned i = cdns_worker_index(w);
	if (i >= st->n_workers)
		return CDNS_EINVAL;
	if (st->workers[i].scratch == NULL) {
		st->workers[i].scratch = malloc(TSIG_SCRATCH);
		if (st->workers[i].scratch == NULL)
			return CDNS_ENOMEM;
	}
	return 0;
}

static void tsig_thread_fini(void *state, cdns_worker_t *w)
{
	struct tsig_state *st = state;
	unsigned i = cdns_worker_index(w);
	if (i < st->n_workers) {
		free(st->workers[i].scratch);
		st->workers[i].scratch = NULL;
	}
}

CDNS_PLUGIN(.name = "tsig", .version = CDNS_VERSION,
            .description = "TSIG (RFC 8945): verifies signed requests and signs their responses",
            .setup = tsig_setup, .thread_init = tsig_thread_init, .thread_fini = tsig_thread_fini,
            .query = tsig_query, .response = tsig_response, .teardown = tsig_teardown);
