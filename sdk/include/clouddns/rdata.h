/* RDATA in presentation (text) form and in uncompressed wire form, for every type we know,
 * and RFC 3597 generic form ("\# <len> <hex>") for every type. */
#ifndef CLOUDDNS_RDATA_H
#define CLOUDDNS_RDATA_H

#include <stddef.h>
#include <stdint.h>

#define CDNS_RDATA_MAXLEN 65535

/* Where and why text did not parse. */
typedef struct cdns_text_err {
	size_t offset; /* byte offset in the input text of the offending token */
	char msg[160]; /* e.g. "invalid IPv4 address 'x'" */
} cdns_text_err_t;

/* Parse the RDATA part of a master-file record (everything after the type, on one logical
 * line: the caller has already removed parentheses, newlines and comments) into uncompressed
 * wire form. Relative names are completed with origin (may be NULL: then they are an error).
 * Tokens are separated by blanks; "..." quoting and \X / \DDD escapes are honoured where RFC
 * 1035 §5.1 allows them. "\# len hex" generic form is accepted for every type (RFC 3597 §5).
 * Writes at most cap bytes to out. Returns the wire length or CDNS_ESYNTAX (err filled, may
 * be NULL), CDNS_ESPACE. */
int cdns_rdata_from_text(uint16_t type, const char *text, size_t len, const uint8_t *origin,
			 uint8_t *out, size_t cap, cdns_text_err_t *err);

/* Write trusted uncompressed RDATA in presentation form (absolute names). Types without a
 * text form of their own, and RDATA that does not decode, are written as "\# len hex".
 * Returns the text length (without NUL) or CDNS_ESPACE. */
int cdns_rdata_to_text(uint16_t type, const uint8_t *rdata, size_t rdlen, char *out,
		       size_t outlen);

/* Check that RDATA is well-formed for its type (field lengths, names valid, nothing left over).
 * Returns 0 or CDNS_EFORMAT. Unknown types are always well-formed. */
int cdns_rdata_check(uint16_t type, const uint8_t *rdata, size_t rdlen);

/* Canonical form for DNSSEC (RFC 4034 §6.2, as corrected by RFC 6840 §5.1): lower-case the
 * names inside RDATA of NS, MD, MF, CNAME, SOA, MB, MG, MR, PTR, MINFO, MX, RP, AFSDB, RT, SIG,
 * PX, NXT, NAPTR, KX, SRV, DNAME, A6, RRSIG. In place. */
void cdns_rdata_canonicalize(uint16_t type, uint8_t *rdata, size_t rdlen);

/* Base64 (RFC 4648 §4), base32hex without padding (RFC 4648 §7, as NSEC3 uses it) and hex.
 * Decoders skip nothing: blanks must be removed by the caller. Return the output length or
 * CDNS_ESYNTAX / CDNS_ESPACE. */
int cdns_base64_encode(const uint8_t *in, size_t len, char *out, size_t outlen);
int cdns_base64_decode(const char *in, size_t len, uint8_t *out, size_t outlen);
int cdns_base32hex_encode(const uint8_t *in, size_t len, char *out, size_t outlen);
int cdns_base32hex_decode(const char *in, size_t len, uint8_t *out, size_t outlen);
int cdns_hex_encode(const uint8_t *in, size_t len, char *out, size_t outlen);
int cdns_hex_decode(const char *in, size_t len, uint8_t *out, size_t outlen);

#endif
