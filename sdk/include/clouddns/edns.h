/* EDNS(0) (RFC 6891): the OPT pseudo-record and its options. */
#ifndef CLOUDDNS_EDNS_H
#define CLOUDDNS_EDNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <clouddns/pkt.h>

/* Option codes (IANA "DNS EDNS0 Option Codes"). */
enum {
	CDNS_EDNS_NSID = 3,
	CDNS_EDNS_CLIENT_SUBNET = 8,
	CDNS_EDNS_COOKIE = 10,
	CDNS_EDNS_TCP_KEEPALIVE = 11,
	CDNS_EDNS_PADDING = 12,
	CDNS_EDNS_EDE = 15,
};

/* Extended DNS Error info codes (RFC 8914 §4). */
enum {
	CDNS_EDE_OTHER = 0,
	CDNS_EDE_UNSUPPORTED_DNSKEY_ALG = 1,
	CDNS_EDE_UNSUPPORTED_DS_DIGEST = 2,
	CDNS_EDE_STALE_ANSWER = 3,
	CDNS_EDE_FORGED_ANSWER = 4,
	CDNS_EDE_DNSSEC_INDETERMINATE = 5,
	CDNS_EDE_DNSSEC_BOGUS = 6,
	CDNS_EDE_SIGNATURE_EXPIRED = 7,
	CDNS_EDE_SIGNATURE_NOT_YET_VALID = 8,
	CDNS_EDE_DNSKEY_MISSING = 9,
	CDNS_EDE_RRSIGS_MISSING = 10,
	CDNS_EDE_NO_ZONE_KEY_BIT = 11,
	CDNS_EDE_NSEC_MISSING = 12,
	CDNS_EDE_CACHED_ERROR = 13,
	CDNS_EDE_NOT_READY = 14,
	CDNS_EDE_BLOCKED = 15,
	CDNS_EDE_CENSORED = 16,
	CDNS_EDE_FILTERED = 17,
	CDNS_EDE_PROHIBITED = 18,
	CDNS_EDE_STALE_NXDOMAIN = 19,
	CDNS_EDE_NOT_AUTHORITATIVE = 20,
	CDNS_EDE_NOT_SUPPORTED = 21,
	CDNS_EDE_NO_REACHABLE_AUTHORITY = 22,
	CDNS_EDE_NETWORK_ERROR = 23,
	CDNS_EDE_INVALID_DATA = 24,
};

/* What a request's OPT record said. */
typedef struct cdns_edns {
	bool present;
	bool do_bit;           /* DNSSEC OK (RFC 3225) */
	uint8_t version;
	uint8_t ext_rcode;     /* upper 8 bits of the 12-bit rcode */
	uint16_t udp_size;     /* requestor's payload size as sent (values < 512 mean 512) */
	uint16_t flags;        /* the 16 flag bits, DO included */
	bool nsid;             /* NSID requested (RFC 5001 §2.1) */
	const uint8_t *cookie; /* client (8) [+ server (8..32)] cookie, or NULL */
	uint8_t cookie_len;
	const uint8_t *ecs;    /* Client Subnet option data, or NULL */
	uint8_t ecs_len;
	const uint8_t *options; /* raw option bytes of the OPT RDATA */
	uint16_t options_len;
} cdns_edns_t;

/* Decode the OPT record rr (already read with cdns_msg_rr: owner must be root) into e.
 * Options are walked and checked to lie inside RDATA; unknown options are ignored
 * (RFC 6891 §6.1.2). Returns 0 or CDNS_EFORMAT, also for: a record that is not OPT, an NSID
 * option with data (RFC 5001 §2.1), a COOKIE that is not 8 or 16..40 octets (RFC 7873
 * §5.2.2), a Client Subnet option shorter than 4 or longer than 20 octets. When an option
 * repeats, the first one is kept. e->options points into rr's RDATA. */
struct cdns_rr;
int cdns_edns_parse(cdns_edns_t *e, const struct cdns_rr *rr);

/* Iterate options: *pos starts at 0. Returns 1 with code/data/len set, 0 at the end, or
 * CDNS_EFORMAT. */
int cdns_edns_next_option(const uint8_t *opts, uint16_t opts_len, uint16_t *pos, uint16_t *code,
			  const uint8_t **data, uint16_t *len);

/* Writer for an OPT record into a caller buffer: start, add options, finish. */
typedef struct cdns_opt_writer {
	uint8_t *buf;
	uint16_t cap, len;
} cdns_opt_writer_t;

/* Begin an OPT RR (root owner, TYPE 41, CLASS = udp_size, TTL = ext_rcode|version|flags).
 * Returns 0 or CDNS_ESPACE. */
int cdns_opt_begin(cdns_opt_writer_t *w, uint8_t *buf, uint16_t cap, uint16_t udp_size,
		   uint8_t ext_rcode, uint8_t version, uint16_t flags);
int cdns_opt_add(cdns_opt_writer_t *w, uint16_t code, const void *data, uint16_t len);
/* Add an Extended DNS Error: info code plus optional UTF-8 text (not NUL-terminated on the wire). */
int cdns_opt_add_ede(cdns_opt_writer_t *w, uint16_t info, const char *text);
/* Patch RDLENGTH; returns the total RR length. */
uint16_t cdns_opt_finish(cdns_opt_writer_t *w);

/* Bytes an OPT RR needs with no options. */
#define CDNS_OPT_BASE_LEN 11

#endif
