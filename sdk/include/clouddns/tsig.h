/* TSIG (RFC 8945): the algorithms, the TSIG record, the MAC input of §4.3 — what both sides
 * use — and the client side of an exchange: sign a request, verify the response message(s),
 * used by plugins that ask other servers (the secondary's SOA checks and transfers). The
 * server side (verifying requests, signing answers) is the tsig plugin, built on the same
 * pieces. */
#ifndef CLOUDDNS_TSIG_H
#define CLOUDDNS_TSIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <clouddns/name.h>
#include <clouddns/wire.h>

#define CDNS_TSIG_MAC_MAX 64
#define CDNS_TSIG_SECRET_MAX 1024

/* An HMAC algorithm of RFC 8945 §6. */
typedef struct cdns_tsig_alg {
	const char *text;     /* "hmac-sha256", ...: option values and BIND key files */
	const uint8_t *wire;  /* its name on the wire, lower case */
	uint8_t wire_len;
	int mac;              /* GnuTLS MAC algorithm */
	uint8_t size;         /* HMAC output octets */
} cdns_tsig_alg_t;

/* The i-th algorithm (hmac-sha256, -sha384, -sha512, -sha224, -sha1, hmac-md5), NULL past
 * the end. */
const cdns_tsig_alg_t *cdns_tsig_alg_at(size_t i);
/* By its wire name (any case); NULL when unknown. */
const cdns_tsig_alg_t *cdns_tsig_alg_by_wire(const uint8_t *name);
/* By text: one of the names above in any case, or its full domain name
 * ("hmac-md5.sig-alg.reg.int"); NULL when unknown. */
const cdns_tsig_alg_t *cdns_tsig_alg_by_text(const char *text, size_t len);

/* A TSIG record read from a message (RFC 8945 §4.2). Names lower-cased; mac and other point
 * into the message. */
typedef struct cdns_tsig_rr {
	uint8_t owner[CDNS_NAME_MAXLEN];
	uint8_t alg[CDNS_NAME_MAXLEN];
	uint8_t owner_len, alg_len;
	uint64_t time;
	uint16_t fudge, mac_size, orig_id, error, other_len;
	const uint8_t *mac, *other;
} cdns_tsig_rr_t;

/* Interpret rr as a TSIG record. Returns 0 or CDNS_EFORMAT (§5.2: FORMERR): not TSIG, class
 * not ANY or TTL not 0, a compressed or bad algorithm name, fields that do not add up to
 * RDLENGTH. */
int cdns_tsig_rr_parse(const cdns_rr_t *rr, cdns_tsig_rr_t *t);

/* The MAC input (RFC 8945 §4.3), built in a buffer the caller provides; what does not fit
 * marks it overflowed, and cdns_tsig_hmac() then fails. */
typedef struct cdns_tsig_input {
	uint8_t *buf;
	size_t len, cap;
	bool overflow;
} cdns_tsig_input_t;

void cdns_tsig_in_init(cdns_tsig_input_t *in, uint8_t *buf, size_t cap);
/* A prior MAC, length first (§4.3.1 for a response, §5.3.1 for later messages). */
void cdns_tsig_in_mac(cdns_tsig_input_t *in, const uint8_t *mac, uint16_t len);
/* A message as digested (§4.3.3): len bytes up to (not including) its TSIG record, with
 * orig_id as its ID and arcount as its ARCOUNT. */
void cdns_tsig_in_message(cdns_tsig_input_t *in, const uint8_t *msg, size_t len,
			  uint16_t orig_id, uint16_t arcount);
/* The TSIG variables (§4.3.3): key and algorithm names (lower case, uncompressed), class
 * ANY, TTL 0, Time Signed, Fudge, Error, Other Len, Other Data. */
void cdns_tsig_in_variables(cdns_tsig_input_t *in, const uint8_t *key_name, size_t key_len,
			    const uint8_t *alg, size_t alg_len, uint64_t signed_at, uint16_t fudge,
			    uint16_t error, const uint8_t *other, uint16_t other_len);
/* Only the timers, in place of the variables, for the later messages of a response
 * (§5.3.1). */
void cdns_tsig_in_timers(cdns_tsig_input_t *in, uint64_t signed_at, uint16_t fudge);
/* The HMAC of the input into out (alg->size octets). Returns 0, CDNS_ESPACE (the input
 * overflowed) or CDNS_ENOTSUP (the crypto library refused). */
int cdns_tsig_hmac(const cdns_tsig_alg_t *alg, const uint8_t *secret, size_t secret_len,
		   const cdns_tsig_input_t *in, uint8_t *out);
/* Constant-time comparison of n octets (MACs): true when equal. */
bool cdns_tsig_mac_equal(const uint8_t *a, const uint8_t *b, size_t n);

typedef struct cdns_tsig_key {
	uint8_t name[CDNS_NAME_MAXLEN]; /* lower-cased wire form */
	uint8_t name_len;
	uint8_t alg[32]; /* algorithm name, wire form */
	uint8_t alg_len;
	int mac;         /* GnuTLS MAC algorithm */
	uint8_t mac_size;
	uint16_t secret_len;
	uint8_t secret[CDNS_TSIG_SECRET_MAX];
} cdns_tsig_key_t;

/* Set up a key from its name, algorithm ("hmac-sha256" (also for NULL), "hmac-sha384",
 * "hmac-sha512", "hmac-sha224", "hmac-sha1", "hmac-md5") and base64 secret. Returns 0 or
 * CDNS_EINVAL (then *what, if not NULL, names the bad part: "name", "algorithm", "secret"). */
int cdns_tsig_key_init(cdns_tsig_key_t *k, const char *name, const char *algorithm,
		       const char *secret_b64, const char **what);

struct cdns_conf;
struct cdns_diag;

/* A key written in a configuration as {name: ..., algorithm: ... (hmac-sha256 when left out),
 * secret: BASE64}. Errors go to d as file:line:col, each message starting with prefix and
 * subject (what the key belongs to, e.g. "zone 'example.com': "). Returns 0 or CDNS_ECONFIG. */
int cdns_tsig_key_conf(struct cdns_diag *d, const char *prefix, const char *subject,
		       const struct cdns_conf *node, cdns_tsig_key_t *k);

/* One exchange: the request MAC, then the MAC of each verified response message. */
typedef struct cdns_tsig_ctx {
	const cdns_tsig_key_t *key;
	uint16_t orig_id;
	uint16_t mac_len;
	uint8_t mac[CDNS_TSIG_MAC_MAX];
	unsigned verified; /* response messages verified so far */
} cdns_tsig_ctx_t;

/* Sign the request message msg (len bytes, room for cap) in place: a TSIG record is appended
 * as the last additional record and ARCOUNT incremented (RFC 8945 §4). now is the time in
 * seconds since the epoch, fudge the allowed skew (300 is usual). Returns 0 (and *len updated,
 * ctx ready for the response), CDNS_ESPACE, CDNS_EFORMAT (not a message). */
int cdns_tsig_sign_request(cdns_tsig_ctx_t *ctx, const cdns_tsig_key_t *k, uint8_t *msg,
			   size_t *len, size_t cap, uint64_t now, uint16_t fudge);

/* Verify one response message: the first of the exchange against the request MAC with all
 * TSIG variables, each later one (a multi-message transfer) against the previous MAC with the
 * timers only (RFC 8945 §5.3.1). Every message must be signed (BIND and Knot sign each; the
 * RFC's allowance for unsigned messages in between is not taken). Returns 0, CDNS_ENOENT
 * (unsigned), CDNS_EFORMAT (malformed TSIG), CDNS_EINVAL (another key or algorithm, a TSIG
 * error such as BADKEY, or a MAC that does not verify), CDNS_ERANGE (time outside the fudge). */
int cdns_tsig_verify_response(cdns_tsig_ctx_t *ctx, const uint8_t *msg, size_t len, uint64_t now);

#endif
