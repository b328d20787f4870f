/* Reading DNS messages (RFC 1035 §4). Nothing is copied: a parsed message points into the
 * caller's buffer, which must outlive it. */
#ifndef CLOUDDNS_WIRE_H
#define CLOUDDNS_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include <clouddns/name.h>

#define CDNS_HDR_LEN 12

/* Header flag bits in the 16-bit flags word (RFC 1035 §4.1.1, RFC 4035 §3.1.6). */
#define CDNS_FLAG_QR 0x8000
#define CDNS_FLAG_AA 0x0400
#define CDNS_FLAG_TC 0x0200
#define CDNS_FLAG_RD 0x0100
#define CDNS_FLAG_RA 0x0080
#define CDNS_FLAG_Z 0x0040
#define CDNS_FLAG_AD 0x0020
#define CDNS_FLAG_CD 0x0010
#define CDNS_FLAGS_OPCODE(f) (((f) >> 11) & 0xf)
#define CDNS_FLAGS_RCODE(f) ((f)&0xf)

enum { CDNS_SEC_QUESTION = 0, CDNS_SEC_ANSWER = 1, CDNS_SEC_AUTHORITY = 2, CDNS_SEC_ADDITIONAL = 3 };

/* Opcodes and rcodes (IANA registry). Rcodes above 15 need EDNS or TSIG. */
enum {
	CDNS_OPCODE_QUERY = 0,
	CDNS_OPCODE_IQUERY = 1,
	CDNS_OPCODE_STATUS = 2,
	CDNS_OPCODE_NOTIFY = 4,
	CDNS_OPCODE_UPDATE = 5,
};
enum {
	CDNS_RCODE_NOERROR = 0,
	CDNS_RCODE_FORMERR = 1,
	CDNS_RCODE_SERVFAIL = 2,
	CDNS_RCODE_NXDOMAIN = 3,
	CDNS_RCODE_NOTIMP = 4,
	CDNS_RCODE_REFUSED = 5,
	CDNS_RCODE_YXDOMAIN = 6,
	CDNS_RCODE_YXRRSET = 7,
	CDNS_RCODE_NXRRSET = 8,
	CDNS_RCODE_NOTAUTH = 9,
	CDNS_RCODE_NOTZONE = 10,
	CDNS_RCODE_BADVERS = 16, /* also BADSIG in TSIG */
	CDNS_RCODE_BADSIG = 16,
	CDNS_RCODE_BADKEY = 17,
	CDNS_RCODE_BADTIME = 18,
	CDNS_RCODE_BADMODE = 19,
	CDNS_RCODE_BADNAME = 20,
	CDNS_RCODE_BADALG = 21,
	CDNS_RCODE_BADTRUNC = 22,
	CDNS_RCODE_BADCOOKIE = 23,
};

static inline uint16_t cdns_get16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}
static inline uint32_t cdns_get32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}
static inline void cdns_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}
static inline void cdns_put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}
/* 48-bit fields (TSIG's Time Signed). */
static inline uint64_t cdns_get48(const uint8_t *p)
{
	return ((uint64_t)cdns_get16(p) << 32) | cdns_get32(p + 2);
}
static inline void cdns_put48(uint8_t *p, uint64_t v)
{
	cdns_put16(p, (uint16_t)(v >> 32));
	cdns_put32(p + 2, (uint32_t)v);
}

typedef struct cdns_hdr {
	uint16_t id, flags;
	uint16_t count[4]; /* QDCOUNT, ANCOUNT, NSCOUNT, ARCOUNT, indexed by CDNS_SEC_* */
} cdns_hdr_t;

/* A validated message: the header and where each section starts. */
typedef struct cdns_msg {
	const uint8_t *wire;
	size_t len;
	cdns_hdr_t hdr;
	size_t sec_off[4]; /* offset of the first entry of each section */
	size_t end;        /* offset just past the last record (== len when parsed strictly) */
} cdns_msg_t;

/* One resource record as read from a message. owner is uncompressed (case as on the wire);
 * rdata points into the message and may contain compression pointers: use
 * cdns_rdata_unpack() for an uncompressed copy. */
typedef struct cdns_rr {
	uint8_t owner[CDNS_NAME_MAXLEN];
	uint8_t owner_len;
	uint16_t type, rclass;
	uint32_t ttl;
	uint16_t rdlen;
	size_t rdata_off; /* offset of RDATA in the message */
	const uint8_t *rdata;
	size_t start, end; /* offsets of the record's first byte and one past its last */
} cdns_rr_t;

/* Parse and validate a whole message (RFC 1035, RFC 9267): header present, every question
 * and record complete, names valid, RDLENGTH inside the data, the names inside RDATA of the
 * types that may hold compressed names valid and within their RDATA, and no bytes left after
 * the last record (CDNS_ETRAIL). Returns 0 or an error; m is filled on success.
 * Errors: CDNS_ETRUNC when the message ends before what the header counts (header, question,
 * RR fixed part, RDLENGTH); the name errors of cdns_name_unpack(); CDNS_EFORMAT when the
 * RDATA of a type listed at cdns_rdata_unpack() does not match its layout (a name running
 * past RDLENGTH, SOA not exactly two names + 20 octets, MX not exactly 2 octets + a name...).
 * Empty RDATA is accepted for any type in class ANY or NONE (RFC 2136 §2.4, §2.5). */
int cdns_msg_parse(cdns_msg_t *m, const uint8_t *wire, size_t len);

/* Read the question at *pos (name uncompressed into qname, CDNS_NAME_MAXLEN bytes), advance
 * *pos. Returns the name length or an error. */
int cdns_msg_question(const cdns_msg_t *m, size_t *pos, uint8_t *qname, uint16_t *qtype,
		      uint16_t *qclass);

/* Read the record at *pos into rr and advance *pos. Returns 0 or an error. */
int cdns_msg_rr(const cdns_msg_t *m, size_t *pos, cdns_rr_t *rr);

/* Uncompressed, canonical-length copy of an RR's RDATA: names inside RDATA of the types that
 * RFC 3597 §4 allows to be compressed (NS, MD, MF, CNAME, SOA, MB, MG, MR, PTR, MINFO, MX, RP,
 * AFSDB, RT, PX, NAPTR, SRV, SIG, NXT, and for robustness DNAME, NSEC, RRSIG) are expanded.
 * Writes at most cap bytes to out; returns the new length or an error. */
int cdns_rdata_unpack(const uint8_t *msg, size_t msglen, uint16_t type, size_t rdata_off,
		      uint16_t rdlen, uint8_t *out, size_t cap);

#endif
