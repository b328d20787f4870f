/* TSIG (RFC 8945), client side: sign a request, verify the answer's messages. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include <clouddns/error.h>
#include <clouddns/rdata.h>
#include <clouddns/rrtype.h>
#include <clouddns/tsig.h>
#include <clouddns/wire.h>

static const struct {
	const char *text;
	const char *wire;
	uint8_t wire_len;
	gnutls_mac_algorithm_t mac;
	uint8_t size;
} algs[] = {
	{ "hmac-sha256", "\013hmac-sha256", 13, GNUTLS_MAC_SHA256, 32 },
	{ "hmac-sha384", "\013hmac-sha384", 13, GNUTLS_MAC_SHA384, 48 },
	{ "hmac-sha512", "\013hmac-sha512", 13, GNUTLS_MAC_SHA512, 64 },
	{ "hmac-sha224", "\013hmac-sha224", 13, GNUTLS_MAC_SHA224, 28 },
	{ "hmac-sha1", "\011hmac-sha1", 11, GNUTLS_MAC_SHA1, 20 },
	{ "hmac-md5", "\010hmac-md5\007sig-alg\003reg\003int", 26, GNUTLS_MAC_MD5, 16 },
};

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
	size_t i;
	for (i = 0; i < sizeof(algs) / sizeof(algs[0]); i++)
		if (algorithm == NULL || strcmp(algorithm, algs[i].text) == 0)
			break;
	if (i == sizeof(algs) / sizeof(algs[0]))
		return CDNS_EINVAL;
	memcpy(k->alg, algs[i].wire, algs[i].wire_len);
	k->alg_len = algs[i].wire_len;
	k->mac = algs[i].mac;
	k->mac_size = algs[i].size;
	*what = "secret";
	n = secret_b64 ? cdns_base64_decode(secret_b64, strlen(secret_b64), k->secret,
					    sizeof(k->secret))
		       : -1;
	if (n <= 0)
		return CDNS_EINVAL;
	k->secret_len = (uint16_t)n;
	return 0;
}

/* The digest input, built in a heap buffer (requests and transfer messages are at most
 * 64 KiB plus the variables). */
struct input {
	uint8_t *buf;
	size_t len, cap;
	bool overflow;
};

static void add(struct input *in, const void *p, size_t n)
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

static void put48(uint8_t *p, uint64_t v)
{
	cdns_put16(p, (uint16_t)(v >> 32));
	cdns_put32(p + 2, (uint32_t)v);
}

static uint64_t get48(const uint8_t *p)
{
	return ((uint64_t)cdns_get16(p) << 32) | cdns_get32(p + 2);
}

/* RFC 8945 §4.3.3: the message with the Original ID and ARCOUNT without the TSIG record. */
static void add_message(struct input *in, const uint8_t *msg, size_t len, uint16_t orig_id,
			uint16_t arcount)
{
	uint8_t hdr[CDNS_HDR_LEN];
	memcpy(hdr, msg, CDNS_HDR_LEN);
	cdns_put16(hdr, orig_id);
	cdns_put16(hdr + 10, arcount);
	add(in, hdr, sizeof(hdr));
	add(in, msg + CDNS_HDR_LEN, len - CDNS_HDR_LEN);
}

static void add_variables(struct input *in, const cdns_tsig_key_t *k, uint64_t t, uint16_t fudge,
			  uint16_t error, const uint8_t *other, uint16_t other_len)
{
	uint8_t b[10];
	add(in, k->name, k->name_len);
	cdns_put16(b, CDNS_C_ANY);
	cdns_put32(b + 2, 0);
	add(in, b, 6);
	add(in, k->alg, k->alg_len);
	put48(b, t);
	cdns_put16(b + 6, fudge);
	add(in, b, 8);
	cdns_put16(b, error);
	cdns_put16(b + 2, other_len);
	add(in, b, 4);
	add(in, other, other_len);
}

static void add_prior_mac(struct input *in, const cdns_tsig_ctx_t *ctx)
{
	uint8_t b[2];
	cdns_put16(b, ctx->mac_len);
	add(in, b, 2);
	add(in, ctx->mac, ctx->mac_len);
}

static int hmac(const cdns_tsig_key_t *k, const struct input *in, uint8_t *out)
{
	if (in->overflow)
		return CDNS_ESPACE;
	return gnutls_hmac_fast((gnutls_mac_algorithm_t)k->mac, k->secret, k->secret_len, in->buf,
				in->len, out) < 0
		       ? CDNS_ENOTSUP
		       : 0;
}

int cdns_tsig_sign_request(cdns_tsig_ctx_t *ctx, const cdns_tsig_key_t *k, uint8_t *msg,
			   size_t *len, size_t cap, uint64_t now, uint16_t fudge)
{
	if (*len < CDNS_HDR_LEN)
		return CDNS_EFORMAT;
	size_t rr_len = (size_t)k->name_len + 10 + k->alg_len + 16 + k->mac_size;
	if (rr_len > cap - *len)
		return CDNS_ESPACE;
	struct input in = { .cap = *len + 512 };
	in.buf = malloc(in.cap);
	if (in.buf == NULL)
		return CDNS_ENOMEM;
	uint16_t id = cdns_get16(msg);
	add(&in, msg, *len);
	add_variables(&in, k, now, fudge, 0, NULL, 0);
	uint8_t mac[CDNS_TSIG_MAC_MAX];
	int rc = hmac(k, &in, mac);
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
	put48(p, now);
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
	/* RDATA: algorithm name (uncompressed), time (48), fudge, MAC size, MAC, original ID,
	 * error, other len, other. */
	const uint8_t *rd = rr.rdata;
	int alen = cdns_name_check(rd, rr.rdlen);
	if (alen <= 0 || (size_t)alen + 16 > rr.rdlen)
		return CDNS_EFORMAT;
	uint8_t alg[CDNS_NAME_MAXLEN];
	cdns_name_copy_lower(alg, rd);
	const uint8_t *p = rd + alen;
	uint64_t t = get48(p);
	uint16_t fudge = cdns_get16(p + 6), mac_size = cdns_get16(p + 8);
	if ((size_t)alen + 10 + mac_size + 6 > rr.rdlen)
		return CDNS_EFORMAT;
	const uint8_t *mac = p + 10;
	p = mac + mac_size;
	uint16_t orig_id = cdns_get16(p), error = cdns_get16(p + 2), other_len = cdns_get16(p + 4);
	if ((size_t)alen + 16 + mac_size + other_len != rr.rdlen)
		return CDNS_EFORMAT;
	const uint8_t *other = p + 6;
	uint8_t owner[CDNS_NAME_MAXLEN];
	cdns_name_copy_lower(owner, rr.owner);
	if (rr.owner_len != k->name_len || memcmp(owner, k->name, k->name_len) != 0 ||
	    (size_t)alen != k->alg_len || memcmp(alg, k->alg, k->alg_len) != 0)
		return CDNS_EINVAL;
	if (error != 0 || mac_size != k->mac_size)
		return CDNS_EINVAL;
	struct input in = { .cap = len + 512 };
	in.buf = malloc(in.cap);
	if (in.buf == NULL)
		return CDNS_ENOMEM;
	add_prior_mac(&in, ctx);
	/* The message up to the TSIG record, as signed. */
	add_message(&in, msg, rr.start, orig_id, (uint16_t)(ar - 1));
	if (ctx->verified == 0)
		add_variables(&in, k, t, fudge, error, other, other_len);
	else {
		uint8_t b[8];
		put48(b, t);
		cdns_put16(b + 6, fudge);
		add(&in, b, 8);
	}
	uint8_t want[CDNS_TSIG_MAC_MAX];
	int rc = hmac(k, &in, want);
	free(in.buf);
	if (rc != 0)
		return rc;
	if (gnutls_memcmp(want, mac, k->mac_size) != 0)
		return CDNS_EINVAL;
	/* RFC 8945 §5.2.3: the time is checked after the MAC. */
	uint64_t skew = now > t ? now - t : t - now;
	if (skew > fudge)
		return CDNS_ERANGE;
	memcpy(ctx->mac, mac, k->mac_size);
	ctx->mac_len = k->mac_size;
	ctx->verified++;
	return 0;
}
