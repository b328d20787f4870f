/* TSIG (RFC 8945), client side: sign a request, verify the answer's messages. */
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include <clouddns/conf.h>
#include <clouddns/error.h>
#include <clouddns/rdata.h>
#include <clouddns/rrtype.h>
#include <clouddns/tsig.h>
#include <clouddns/wire.h>

/* libclouddns is compiled with -fvisibility=hidden: what follows is public API. */
#pragma GCC visibility push(default)

/* --- Algorithms (RFC 8945 §6). --- */

/* The literal's NUL is the root label. */
#define WIRE(lit) (const uint8_t *)(lit), (uint8_t)sizeof(lit)
static const cdns_tsig_alg_t algs[] = {
	{ "hmac-sha256", WIRE("\013hmac-sha256"), GNUTLS_MAC_SHA256, 32 },
	{ "hmac-sha384", WIRE("\013hmac-sha384"), GNUTLS_MAC_SHA384, 48 },
	{ "hmac-sha512", WIRE("\013hmac-sha512"), GNUTLS_MAC_SHA512, 64 },
	{ "hmac-sha224", WIRE("\013hmac-sha224"), GNUTLS_MAC_SHA224, 28 },
	{ "hmac-sha1", WIRE("\011hmac-sha1"), GNUTLS_MAC_SHA1, 20 },
	{ "hmac-md5", WIRE("\010hmac-md5\007sig-alg\003reg\003int"), GNUTLS_MAC_MD5, 16 },
};
#define N_ALGS (sizeof(algs) / sizeof(algs[0]))

const cdns_tsig_alg_t *cdns_tsig_alg_at(size_t i)
{
	return i < N_ALGS ? &algs[i] : NULL;
}

const cdns_tsig_alg_t *cdns_tsig_alg_by_wire(const uint8_t *name)
{
	for (size_t i = 0; i < N_ALGS; i++)
		if (cdns_name_equal(name, algs[i].wire))
			return &algs[i];
	return NULL;
}

const cdns_tsig_alg_t *cdns_tsig_alg_by_text(const char *text, size_t len)
{
	for (size_t i = 0; i < N_ALGS; i++)
		if (strlen(algs[i].text) == len && strncasecmp(text, algs[i].text, len) == 0)
			return &algs[i];
	uint8_t wire[CDNS_NAME_MAXLEN];
	if (cdns_name_from_text(text, len, (const uint8_t *)"", wire) > 0)
		return cdns_tsig_alg_by_wire(wire);
	return NULL;
}

int cdns_tsig_key_init(cdns_tsig_key_t *k, const char *name, const char *algorithm,
		       const char *secret_b64, const char **what)
{
	const char *dummy;
	if (what == NULL)
		what = &dummy;
	memset(k, 0, sizeof(*k));
	*what = "name";
	int n = name ? cdns_name_from_text(name, strlen(name), (const uint8_t *)"", k->name) : -1;
	if (n <= 0)
		return CDNS_EINVAL;
	cdns_name_lower(k->name);
	k->name_len = (uint8_t)n;
	*what = "algorithm";
	const cdns_tsig_alg_t *a = algorithm == NULL
					   ? &algs[0]
					   : cdns_tsig_alg_by_text(algorithm, strlen(algorithm));
	if (a == NULL)
		return CDNS_EINVAL;
	memcpy(k->alg, a->wire, a->wire_len);
	k->alg_len = a->wire_len;
	k->mac = a->mac;
	k->mac_size = a->size;
	*what = "secret";
	n = secret_b64 ? cdns_base64_decode(secret_b64, strlen(secret_b64), k->secret,
					    sizeof(k->secret))
		       : -1;
	if (n <= 0)
		return CDNS_EINVAL;
	k->secret_len = (uint16_t)n;
	return 0;
}

struct key_conf {
	const char *name, *algorithm, *secret;
};

static const cdns_opt_def_t key_opts[] = {
	{ "name", CDNS_OPT_STRING, offsetof(struct key_conf, name), NULL, 0, -1, true, NULL },
	{ "algorithm", CDNS_OPT_STRING, offsetof(struct key_conf, algorithm), "hmac-sha256", 0, -1,
	  false, NULL },
	{ "secret", CDNS_OPT_STRING, offsetof(struct key_conf, secret), NULL, 0, -1, true, NULL },
	CDNS_OPT_END,
};

int cdns_tsig_key_conf(cdns_diag_t *d, const char *prefix, const char *subject,
		       const cdns_conf_t *node, cdns_tsig_key_t *k)
{
	struct key_conf kc = { 0 };
	const char *what = NULL;
	if (node == NULL || node->kind != CDNS_CONF_MAP) {
		cdns_diag_error(d, node, "%s%s'key' must be {name: ..., algorithm: ..., secret: ...}",
				prefix, subject);
		return CDNS_ECONFIG;
	}
	if (cdns_conf_apply(d, prefix, node, key_opts, &kc) != 0)
		return CDNS_ECONFIG;
	if (cdns_tsig_key_init(k, kc.name, kc.algorithm, kc.secret, &what) != 0) {
		const cdns_conf_t *at = cdns_conf_get(node, what);
		cdns_diag_error(d, at ? at : node, "%s%skey: bad %s%s", prefix, subject, what,
				strcmp(what, "algorithm") == 0
					? " (hmac-sha256, hmac-sha384, hmac-sha512, hmac-sha224, "
					  "hmac-sha1 or hmac-md5)"
					: "");
		return CDNS_ECONFIG;
	}
	return 0;
}

/* --- The TSIG record. --- */

int cdns_tsig_rr_parse(const cdns_rr_t *rr, cdns_tsig_rr_t *t)
{
	if (rr->type != CDNS_T_TSIG || rr->rclass != CDNS_C_ANY || rr->ttl != 0)
		return CDNS_EFORMAT;
	t->owner_len = (uint8_t)cdns_name_copy_lower(t->owner, rr->owner);
	const uint8_t *p = rr->rdata, *end = rr->rdata + rr->rdlen;
	int n = cdns_name_check(p, rr->rdlen); /* uncompressed (RFC 3597 §4) */
	if (n <= 0)
		return CDNS_EFORMAT;
	t->alg_len = (uint8_t)cdns_name_copy_lower(t->alg, p);
	p += n;
	if (end - p < 10)
		return CDNS_EFORMAT;
	t->time = cdns_get48(p);
	t->fudge = cdns_get16(p + 6);
	t->mac_size = cdns_get16(p + 8);
	p += 10;
	if (end - p < (ptrdiff_t)t->mac_size + 6)
		return CDNS_EFORMAT;
	t->mac = p;
	p += t->mac_size;
	t->orig_id = cdns_get16(p);
	t->error = cdns_get16(p + 2);
	t->other_len = cdns_get16(p + 4);
	p += 6;
	if (end - p != (ptrdiff_t)t->other_len)
		return CDNS_EFORMAT;
	t->other = p;
	return 0;
}

/* --- The MAC input (RFC 8945 §4.3). --- */

void cdns_tsig_in_init(cdns_tsig_input_t *in, uint8_t *buf, size_t cap)
{
	in->buf = buf;
	in->len = 0;
	in->cap = buf != NULL ? cap : 0;
	in->overflow = false;
}

static void add(cdns_tsig_input_t *in, const void *p, size_t n)
{
	if (n == 0)
		return; /* p may be NULL then (no Other Data) */
	if (in->overflow || n > in->cap - in->len) {
		in->overflow = true;
		return;
	}
	memcpy(in->buf + in->len, p, n);
	in->len += n;
}

void cdns_tsig_in_mac(cdns_tsig_input_t *in, const uint8_t *mac, uint16_t len)
{
	uint8_t b[2];
	cdns_put16(b, len);
	add(in, b, 2);
	add(in, mac, len);
}

void cdns_tsig_in_message(cdns_tsig_input_t *in, const uint8_t *msg, size_t len,
			  uint16_t orig_id, uint16_t arcount)
{
	if (len < CDNS_HDR_LEN) {
		in->overflow = true;
		return;
	}
	uint8_t hdr[CDNS_HDR_LEN];
	memcpy(hdr, msg, CDNS_HDR_LEN);
	cdns_put16(hdr, orig_id);
	cdns_put16(hdr + 10, arcount);
	add(in, hdr, sizeof(hdr));
	add(in, msg + CDNS_HDR_LEN, len - CDNS_HDR_LEN);
}

void cdns_tsig_in_variables(cdns_tsig_input_t *in, const uint8_t *key_name, size_t key_len,
			    const uint8_t *alg, size_t alg_len, uint64_t signed_at, uint16_t fudge,
			    uint16_t error, const uint8_t *other, uint16_t other_len)
{
	uint8_t b[8];
	add(in, key_name, key_len);
	cdns_put16(b, CDNS_C_ANY);
	cdns_put32(b + 2, 0);
	add(in, b, 6);
	add(in, alg, alg_len);
	cdns_tsig_in_timers(in, signed_at, fudge);
	cdns_put16(b, error);
	cdns_put16(b + 2, other_len);
	add(in, b, 4);
	add(in, other, other_len);
}

void cdns_tsig_in_timers(cdns_tsig_input_t *in, uint64_t signed_at, uint16_t fudge)
{
	uint8_t b[8];
	cdns_put48(b, signed_at);
	cdns_put16(b + 6, fudge);
	add(in, b, 8);
}

int cdns_tsig_hmac(const cdns_tsig_alg_t *alg, const uint8_t *secret, size_t secret_len,
		   const cdns_tsig_input_t *in, uint8_t *out)
{
	if (in->overflow)
		return CDNS_ESPACE;
	if (gnutls_hmac_fast((gnutls_mac_algorithm_t)alg->mac, secret, secret_len, in->buf,
			     in->len, out) < 0)
		return CDNS_ENOTSUP;
	return 0;
}

bool cdns_tsig_mac_equal(const uint8_t *a, const uint8_t *b, size_t n)
{
	return gnutls_memcmp(a, b, n) == 0;
}

/* --- Client side. --- */

static const cdns_tsig_alg_t *key_alg(const cdns_tsig_key_t *k)
{
	return cdns_tsig_alg_by_wire(k->alg);
}

int cdns_tsig_sign_request(cdns_tsig_ctx_t *ctx, const cdns_tsig_key_t *k, uint8_t *msg,
			   size_t *len, size_t cap, uint64_t now, uint16_t fudge)
{
	if (*len < CDNS_HDR_LEN)
		return CDNS_EFORMAT;
	size_t rr_len = (size_t)k->name_len + 10 + k->alg_len + 16 + k->mac_size;
	if (rr_len > cap - *len)
		return CDNS_ESPACE;
	const cdns_tsig_alg_t *alg = key_alg(k);
	if (alg == NULL)
		return CDNS_EINVAL;
	cdns_tsig_input_t in;
	size_t in_cap = *len + 512;
	cdns_tsig_in_init(&in, malloc(in_cap), in_cap);
	if (in.buf == NULL)
		return CDNS_ENOMEM;
	uint16_t id = cdns_get16(msg);
	add(&in, msg, *len);
	cdns_tsig_in_variables(&in, k->name, k->name_len, k->alg, k->alg_len, now, fudge, 0, NULL,
			       0);
	uint8_t mac[CDNS_TSIG_MAC_MAX];
	int rc = cdns_tsig_hmac(alg, k->secret, k->secret_len, &in, mac);
	free(in.buf);
	if (rc != 0)
		return rc;
	uint8_t *p = msg + *len;
	memcpy(p, k->name, k->name_len);
	p += k->name_len;
	cdns_put16(p, CDNS_T_TSIG);
	cdns_put16(p + 2, CDNS_C_ANY);
	cdns_put32(p + 4, 0);
	cdns_put16(p + 8, (uint16_t)(k->alg_len + 16 + k->mac_size));
	p += 10;
	memcpy(p, k->alg, k->alg_len);
	p += k->alg_len;
	cdns_put48(p, now);
	cdns_put16(p + 6, fudge);
	cdns_put16(p + 8, k->mac_size);
	memcpy(p + 10, mac, k->mac_size);
	p += 10 + k->mac_size;
	cdns_put16(p, id);   /* Original ID */
	cdns_put16(p + 2, 0); /* error */
	cdns_put16(p + 4, 0); /* other len */
	*len += rr_len;
	cdns_put16(msg + 10, (uint16_t)(cdns_get16(msg + 10) + 1));
	ctx->key = k;
	ctx->orig_id = id;
	ctx->mac_len = k->mac_size;
	memcpy(ctx->mac, mac, k->mac_size);
	ctx->verified = 0;
	return 0;
}

int cdns_tsig_verify_response(cdns_tsig_ctx_t *ctx, const uint8_t *msg, size_t len, uint64_t now)
{
	const cdns_tsig_key_t *k = ctx->key;
	cdns_msg_t m;
	if (k == NULL || cdns_msg_parse(&m, msg, len) != 0)
		return CDNS_EFORMAT;
	const cdns_tsig_alg_t *alg = key_alg(k);
	if (alg == NULL)
		return CDNS_EINVAL;
	unsigned ar = m.hdr.count[CDNS_SEC_ADDITIONAL];
	if (ar == 0)
		return CDNS_ENOENT;
	size_t pos = m.sec_off[CDNS_SEC_ADDITIONAL];
	cdns_rr_t rr;
	for (unsigned i = 0; i < ar; i++)
		if (cdns_msg_rr(&m, &pos, &rr) != 0)
			return CDNS_EFORMAT;
	if (rr.type != CDNS_T_TSIG)
		return CDNS_ENOENT;
	cdns_tsig_rr_t t;
	if (cdns_tsig_rr_parse(&rr, &t) != 0)
		return CDNS_EFORMAT;
	if (t.owner_len != k->name_len || memcmp(t.owner, k->name, k->name_len) != 0 ||
	    t.alg_len != k->alg_len || memcmp(t.alg, k->alg, k->alg_len) != 0)
		return CDNS_EINVAL;
	if (t.error != 0 || t.mac_size != k->mac_size)
		return CDNS_EINVAL;
	cdns_tsig_input_t in;
	size_t cap = len + 512;
	cdns_tsig_in_init(&in, malloc(cap), cap);
	if (in.buf == NULL)
		return CDNS_ENOMEM;
	cdns_tsig_in_mac(&in, ctx->mac, ctx->mac_len);
	/* The message up to the TSIG record, as signed. */
	cdns_tsig_in_message(&in, msg, rr.start, t.orig_id, (uint16_t)(ar - 1));
	if (ctx->verified == 0)
		cdns_tsig_in_variables(&in, k->name, k->name_len, k->alg, k->alg_len, t.time,
				       t.fudge, t.error, t.other, t.other_len);
	else
		cdns_tsig_in_timers(&in, t.time, t.fudge);
	uint8_t want[CDNS_TSIG_MAC_MAX];
	int rc = cdns_tsig_hmac(alg, k->secret, k->secret_len, &in, want);
	free(in.buf);
	if (rc != 0)
		return rc;
	if (!cdns_tsig_mac_equal(want, t.mac, k->mac_size))
		return CDNS_EINVAL;
	/* RFC 8945 §5.2.3: the time is checked after the MAC. */
	uint64_t skew = now > t.time ? now - t.time : t.time - now;
	if (skew > t.fudge)
		return CDNS_ERANGE;
	memcpy(ctx->mac, t.mac, k->mac_size);
	ctx->mac_len = k->mac_size;
	ctx->verified++;
	return 0;
}

#pragma GCC visibility pop
