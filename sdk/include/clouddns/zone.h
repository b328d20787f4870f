/* Zones in memory: an immutable version built once from records (a master file, a database,
 * a transfer), looked up without locks, and answered with the RFC 1034 §4.3.2 algorithm. */
#ifndef CLOUDDNS_ZONE_H
#define CLOUDDNS_ZONE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <clouddns/name.h>
#include <clouddns/query.h>

/* An RRset: every RR of one owner and type. RDATA is stored back to back, each entry a 16-bit
 * big-endian length followed by the uncompressed RDATA, in canonical order (RFC 4034 §6.3),
 * without duplicates. */
typedef struct cdns_rrset {
	uint16_t type;
	uint16_t count;
	uint32_t ttl;
	const uint8_t *rdata;
} cdns_rrset_t;

/* Node flags. */
enum {
	CDNS_ZNODE_APEX = 1 << 0,
	CDNS_ZNODE_DELEG = 1 << 1,    /* NS below the apex: a zone cut (RFC 1034 §4.2.1) */
	CDNS_ZNODE_DNAME = 1 << 2,    /* has a DNAME (RFC 6672) */
	CDNS_ZNODE_CNAME = 1 << 3,    /* has a CNAME */
	CDNS_ZNODE_ENT = 1 << 4,      /* empty non-terminal: exists only because of descendants */
	CDNS_ZNODE_WILDCARD = 1 << 5, /* "*.<this name>" exists in the zone */
	CDNS_ZNODE_OCCLUDED = 1 << 6, /* below a zone cut or a DNAME: glue / not authoritative */
};

/* One owner name and its RRsets (sorted by type). */
typedef struct cdns_znode {
	const uint8_t *owner;  /* lower-cased wire form */
	const uint8_t *owner_case; /* as written in the source (for answers and export) */
	uint32_t hash;         /* cdns_name_hash(owner) */
	uint16_t flags;
	uint16_t n_rrsets;
	const cdns_rrset_t *rrsets;
} cdns_znode_t;

/* An immutable zone version. */
typedef struct cdns_zone cdns_zone_t;

/* Severity of builder findings. */
enum { CDNS_ZONE_WARNING = 1, CDNS_ZONE_ERROR = 2 };

/* Findings while building: owner/type may be NULL/0 when not about one record; file/line say
 * where the record came from when known (else NULL/0). */
typedef void (*cdns_zone_msg_cb)(void *ctx, int severity, const char *file, unsigned line,
				 const char *text);

typedef struct cdns_zone_builder cdns_zone_builder_t;

/* Start building a zone for apex (absolute, any case). Returns NULL on allocation failure. */
cdns_zone_builder_t *cdns_zone_builder_new(const uint8_t *apex, uint16_t rclass);

/* Add one record (copied). file/line are remembered for messages (may be NULL/0). Records
 * outside the apex are ignored with a warning (reported at finish). Returns 0, CDNS_ENOMEM, or
 * CDNS_EINVAL for records that can never be in a zone (meta types, wrong class). */
int cdns_zone_builder_add(cdns_zone_builder_t *b, const uint8_t *owner, uint16_t type,
			  uint16_t rclass, uint32_t ttl, const uint8_t *rdata, uint16_t rdlen,
			  const char *file, unsigned line);

/* Check and freeze: merge duplicate RRs, sort canonically, add empty non-terminals, set node
 * flags, and run the checks Knot and BIND run on load: exactly one SOA at the apex (error),
 * NS at the apex (error), CNAME beside other data (RFC 2181 §10.1, error; RRSIG/NSEC allowed),
 * more than one CNAME or DNAME at a name (error), out-of-zone records (warning, ignored),
 * missing glue for in-zone NS targets below a cut (warning), differing TTLs in one RRset
 * (warning; RFC 2181 §5.2: the lowest is used). Frees the builder in every case.
 * Returns 0 and *out, or CDNS_EINVAL after reporting errors, or CDNS_ENOMEM. */
int cdns_zone_builder_finish(cdns_zone_builder_t *b, cdns_zone_msg_cb cb, void *ctx,
			     cdns_zone_t **out);

/* Abandon a builder. */
void cdns_zone_builder_free(cdns_zone_builder_t *b);

/* Zones are reference-counted (atomically): a new zone has one reference. A zone shared by
 * two zone sets (e.g. unchanged across a reload) holds one reference per set. */
cdns_zone_t *cdns_zone_ref(cdns_zone_t *z);
void cdns_zone_unref(cdns_zone_t *z);

/* Apex name (lower-cased), its class, and the SOA serial. */
const uint8_t *cdns_zone_apex(const cdns_zone_t *z);
uint16_t cdns_zone_class(const cdns_zone_t *z);
uint32_t cdns_zone_serial(const cdns_zone_t *z);
size_t cdns_zone_node_count(const cdns_zone_t *z);
size_t cdns_zone_rr_count(const cdns_zone_t *z);

/* Nodes in canonical order (RFC 4034 §6.1), index 0 is the apex. */
const cdns_znode_t *cdns_zone_node(const cdns_zone_t *z, size_t i);

/* Exact lookup of a lower-cased name (hash given to save recomputing; pass
 * cdns_name_hash(name)). NULL if absent. */
const cdns_znode_t *cdns_zone_find(const cdns_zone_t *z, const uint8_t *name, uint32_t hash);

/* Added: index of node i's parent (the name with its first label removed; every ancestor of
 * a name in the zone is a node, ENTs included), or SIZE_MAX for the apex and out-of-range i.
 * Parents precede their descendants (canonical order is a pre-order walk). */
size_t cdns_zone_parent(const cdns_zone_t *z, size_t i);

/* The RRset of a type at a node, or NULL. */
const cdns_rrset_t *cdns_znode_rrset(const cdns_znode_t *n, uint16_t type);

/* Iterate the RDATA of an RRset: *pos starts at 0; returns 1 with rdata/len set, 0 at the end. */
int cdns_rrset_next(const cdns_rrset_t *s, size_t *pos, const uint8_t **rdata, uint16_t *len);

/* Answer q from z (q's qname is at or below the apex) per RFC 1034 §4.3.2 with RFC 2308
 * (negative answers), RFC 4592 (wildcards), RFC 6672 (DNAME), RFC 8482 (ANY): fills the
 * response's sections, rcode, AA and TC. Returns 0, or a negative error (then the caller
 * answers SERVFAIL). */
int cdns_zone_answer(const cdns_zone_t *z, cdns_query_t *q);

/* What a backend does with a query whose name is in z (shared by file, secondary, ...):
 * returns false when the class is not the zone's (the caller passes the query on); otherwise
 * answers and returns true: AXFR/IXFR that no transfer plugin took are refused as Knot DNS
 * does (AXFR over UDP NOTIMP, RFC 5936 §4.2; else NOTAUTH), everything else is answered with
 * cdns_zone_answer(), SERVFAIL if that fails. */
bool cdns_zone_serve(const cdns_zone_t *z, cdns_query_t *q);

/* Write the zone as a canonical master file ($ORIGIN, then every RR in canonical order, one
 * per line, absolute names). Returns 0 or CDNS_EIO. */
int cdns_zone_write(const cdns_zone_t *z, FILE *f);

/* A set of zones for longest-match lookup: the deepest zone containing a name. Build it, then
 * only read it (readers never lock; a new set replaces an old one as a whole). */
typedef struct cdns_zoneset cdns_zoneset_t;
cdns_zoneset_t *cdns_zoneset_new(void);
/* Add a zone: the set takes over the caller's reference. CDNS_EEXIST (reference not taken)
 * if the apex is already in the set. */
int cdns_zoneset_add(cdns_zoneset_t *s, cdns_zone_t *z);
/* The deepest zone whose apex is name or an ancestor of it (name lower-cased), or NULL. */
const cdns_zone_t *cdns_zoneset_find(const cdns_zoneset_t *s, const uint8_t *name);
/* Added: the zone that answers a query of qtype for name: cdns_zoneset_find(), except that a
 * DS query for the apex of a zone goes to the parent zone when the set holds one (RFC 4035
 * §3.1.4.1: the DS RRset lives on the parent side of a zone cut). */
const cdns_zone_t *cdns_zoneset_find_qtype(const cdns_zoneset_t *s, const uint8_t *name,
					   uint16_t qtype);
size_t cdns_zoneset_count(const cdns_zoneset_t *s);
const cdns_zone_t *cdns_zoneset_get(const cdns_zoneset_t *s, size_t i);
/* The zone with exactly this apex (lower-cased), or NULL. */
cdns_zone_t *cdns_zoneset_get_apex(const cdns_zoneset_t *s, const uint8_t *apex);
/* Drop the set's references and free it. */
void cdns_zoneset_free(cdns_zoneset_t *s);

#endif
