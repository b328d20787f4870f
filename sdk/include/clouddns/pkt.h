/* Building DNS messages with name compression (RFC 1035 §4.1.4). A builder writes into a
 * caller-owned buffer; nothing is allocated. */
#ifndef CLOUDDNS_PKT_H
#define CLOUDDNS_PKT_H

#include <stddef.h>
#include <stdint.h>

#include <clouddns/wire.h>

/* Names remembered for compression in one message; further names are written uncompressed
 * (still correct, only longer).
 *
 * A name is compressed against an earlier suffix that is equal ignoring ASCII case, as BIND,
 * Knot and NSD do: the answer's owner then shows the spelling the question used (which is
 * what DNS 0x20 clients check), responses are smaller, and no DNS comparison is affected
 * (RFC 4343 §3: names compare case-insensitively). The cost is that a later name takes the
 * case of the first spelling written (RFC 4343 §4.1 prefers preserving case, a "should").
 * Only names in the first 16 KiB can be pointed to (a pointer has 14 bits, RFC 1035 §4.1.4). */
#define CDNS_PKT_COMP_MAX 256

typedef struct cdns_pkt {
	uint8_t *wire;
	uint16_t len;   /* bytes written so far (header included) */
	uint16_t limit; /* records are not added past this size (≤ cap) */
	uint16_t cap;   /* size of wire */
	uint8_t section; /* section of the last record added (CDNS_SEC_*) */
	uint16_t n_comp;
	uint16_t comp[CDNS_PKT_COMP_MAX]; /* offsets of names (or name suffixes) in wire */
} cdns_pkt_t;

/* Start a message in wire (cap bytes, at least CDNS_HDR_LEN): a zeroed header, limit = cap. */
void cdns_pkt_init(cdns_pkt_t *p, uint8_t *wire, uint16_t cap);

/* Lower the size records may grow to (e.g. 512 for UDP without EDNS). Clamped to cap. */
void cdns_pkt_set_limit(cdns_pkt_t *p, uint16_t limit);

/* Header fields, written in place. */
void cdns_pkt_set_id(cdns_pkt_t *p, uint16_t id);
void cdns_pkt_set_flags(cdns_pkt_t *p, uint16_t flags);
uint16_t cdns_pkt_flags(const cdns_pkt_t *p);
uint16_t cdns_pkt_count(const cdns_pkt_t *p, int section);

/* Append a question; name is uncompressed and written as given (case kept). Must come before
 * any record (else CDNS_EINVAL). Returns 0, CDNS_ESPACE (nothing written), CDNS_EINVAL. */
int cdns_pkt_put_question(cdns_pkt_t *p, const uint8_t *name, uint16_t qtype, uint16_t qclass);

/* Append a record to a section. Sections must be filled in order: a record for a section
 * before the one of the last record added returns CDNS_EINVAL, as does RDATA of a compressed
 * type that does not match its layout. owner and the names in
 * rdata are uncompressed; the owner is compressed against earlier names, and names inside the
 * RDATA of NS, CNAME, SOA, PTR, MX, MB, MG, MR, MD, MF, MINFO (the RFC 1035 types; RFC 3597
 * §4 forbids compressing others) are compressed too. If the record does not fit below the
 * limit, nothing is written and CDNS_ESPACE is returned. */
int cdns_pkt_put_rr(cdns_pkt_t *p, int section, const uint8_t *owner, uint16_t type,
		    uint16_t rclass, uint32_t ttl, const uint8_t *rdata, uint16_t rdlen);

/* Append raw bytes of an already-encoded record (no compression) and bump the section count.
 * Ignores the limit but not the cap (used for OPT and TSIG, whose room is reserved). The
 * section order rule applies. Returns 0, CDNS_ESPACE, CDNS_EINVAL. */
int cdns_pkt_put_raw_rr(cdns_pkt_t *p, int section, const uint8_t *rr, uint16_t len);

/* Roll the message back to a previous length (e.g. drop a partly added RRset): the counts of
 * the sections and the compression table are restored. mark comes from cdns_pkt_mark(). */
typedef struct cdns_pkt_mark {
	uint16_t len, n_comp;
	uint16_t count[4];
	uint8_t section;
} cdns_pkt_mark_t;
cdns_pkt_mark_t cdns_pkt_mark(const cdns_pkt_t *p);
void cdns_pkt_rollback(cdns_pkt_t *p, const cdns_pkt_mark_t *mark);

#endif
