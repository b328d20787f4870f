/* TSIG (RFC 8945) for the client side of an exchange: sign a request, verify the response
 * message(s). Used by plugins that ask other servers (the secondary's SOA checks and
 * transfers). The server side (verifying requests, signing answers) is the tsig plugin. */
#ifndef CLOUDDNS_TSIG_H
#define CLOUDDNS_TSIG_H

#include <stddef.h>
#include <stdint.h>

#include <clouddns/name.h>

#define CDNS_TSIG_MAC_MAX 64
#define CDNS_TSIG_SECRET_MAX 1024

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
