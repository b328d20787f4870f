/* Private to libclouddns: the layout of an immutable zone, shared by the builder and the
 * accessors (zone.c) and the answer algorithm (answer.c).
 *
 * Memory layout (one allocation per array, nothing per record):
 *   nodes   every owner name and empty non-terminal, in canonical order (RFC 4034 §6.1);
 *           index 0 is the apex. Pre-order: a parent always precedes its descendants.
 *   parent  parent[i] is the index of node i's parent (the apex has CDNS__NONE).
 *   rrsets  the RRsets of node i are nodes[i].rrsets[0 .. n_rrsets), sorted by type.
 *   rdata   every RRset's RDATA back to back, each entry a 16-bit length and the bytes.
 *   names   every owner, lower-cased, followed by its spelling as written when that differs.
 *   index   open addressing (linear probing), keyed by cdns_name_hash: each slot holds the
 *           node's hash (high 32 bits) and index (low 32 bits), so a probe that does not
 *           match never touches the node (one cache miss fewer per collision). */
#ifndef CDNS_ZONE_IMPL_H
#define CDNS_ZONE_IMPL_H

#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#include <clouddns/zone.h>

#define CDNS__NONE UINT32_MAX

/* Bytes of zeros after the names blob so that comparing a name of length n against a stored
 * owner never reads past the blob, whatever the stored owner's length. */
#define CDNS__NAMES_PAD CDNS_NAME_MAXLEN

/* RRsets, RDATA and names that zone versions point into. A version made by patching its
 * predecessor (cdns__zone_patch) shares the predecessor's segments and adds one of its own. */
typedef struct cdns__zseg {
	atomic_uint refs;
	cdns_rrset_t *rrsets;
	size_t n_rrsets;
	uint8_t *rdata;
	size_t rdata_len;
	uint8_t *names;
	size_t names_len;
} cdns__zseg_t;

/* A version shares at most this many segments; past it, a change rebuilds the zone (one
 * segment again, and the memory of replaced records is given back). */
#define CDNS__ZONE_SEGS_MAX 32

struct cdns_zone {
	atomic_uint refs;
	uint16_t rclass;
	uint8_t apex_len; /* wire length of the apex */
	uint8_t apex_labels;
	uint8_t max_labels; /* most labels any node has */
	uint32_t serial;
	uint32_t neg_ttl; /* RFC 2308 §5: min(SOA TTL, SOA MINIMUM) */
	size_t n_nodes, n_rrsets, n_rrs;
	size_t nodes_cap; /* nodes allocated, when more than n_nodes (0: n_nodes) */
	cdns_znode_t *nodes;
	uint32_t *parent;
	cdns_rrset_t *rrsets;
	uint8_t *rdata;
	size_t rdata_len;
	uint8_t *names;
	size_t names_len;
	cdns__zseg_t **segs; /* the segments the nodes point into (rrsets/rdata/names: while
	                       * building, the builder's own, moved into segs[0] at the end) */
	unsigned n_segs;
	uint64_t *index;
	unsigned index_bits; /* the index has 1 << index_bits slots */
	const cdns_rrset_t *soa;
};

/* Slot of a hash in a table of 1 << bits slots (Fibonacci hashing: the high bits of the
 * product mix every bit of the FNV hash). */
static inline uint32_t cdns__slot(uint32_t hash, unsigned bits)
{
	return (uint32_t)(((uint64_t)(hash * 2654435769u)) >> (32 - bits));
}

/* Exact lookup of a lower-cased name of len bytes. Bounded: the table is at most half full. */
static inline const cdns_znode_t *cdns__zone_lookup(const cdns_zone_t *z, const uint8_t *name,
                                                    size_t len, uint32_t hash)
{
	uint32_t mask = (1u << z->index_bits) - 1;
	uint32_t i = cdns__slot(hash, z->index_bits);

	for (;;) {
		uint64_t e = z->index[i];
		uint32_t ni = (uint32_t)e;
		if (ni == CDNS__NONE)
			return NULL;
		if ((uint32_t)(e >> 32) == hash) {
			const cdns_znode_t *n = &z->nodes[ni];
			if (memcmp(n->owner, name, len) == 0)
				return n;
		}
		i = (i + 1) & mask;
	}
}

static inline const cdns_rrset_t *cdns__node_rrset(const cdns_znode_t *n, uint16_t type)
{
	for (unsigned i = 0; i < n->n_rrsets; i++) {
		if (n->rrsets[i].type == type)
			return &n->rrsets[i];
		if (n->rrsets[i].type > type)
			break;
	}
	return NULL;
}

/* The iteration state of cdns_rrset_next: the entry index in the low 16 bits, the byte
 * offset above them. */
static inline int cdns__rrset_next(const cdns_rrset_t *s, size_t *pos, const uint8_t **rdata,
                                   uint16_t *len)
{
	size_t idx = *pos & 0xffff, off = *pos >> 16;

	if (idx >= s->count)
		return 0;
	const uint8_t *p = s->rdata + off;
	*len = (uint16_t)((p[0] << 8) | p[1]);
	*rdata = p + 2;
	*pos = ((off + 2 + *len) << 16) | (idx + 1);
	return 1;
}

/* Is a lower-cased name (len bytes) at or below the zone's apex? */
static inline int cdns__zone_contains(const cdns_zone_t *z, const uint8_t *name, size_t len)
{
	const uint8_t *apex = z->nodes[0].owner;
	size_t off = 0;

	if (len < z->apex_len)
		return 0;
	/* Walk the labels to the one where the apex would start: it must be a label boundary. */
	while (off < len - z->apex_len)
		off += (size_t)name[off] + 1;
	return off == len - z->apex_len && memcmp(name + off, apex, z->apex_len) == 0;
}

/* zone.c, for zpatch.c. */
void *cdns__big_alloc(size_t size);
void cdns__big_free(void *p, size_t size);
int cdns__build_index(cdns_zone_t *z);
void cdns__zone_free(cdns_zone_t *z);
void cdns__zone_soa_fields(cdns_zone_t *z);

/* zpatch.c: the version that differs from old in the nodes named in affected (lower-cased
 * owners, the apex among them), whose content is that of the same names in mini (a zone
 * built from exactly those owners' records; names it lacks have no records left).
 * CDNS_ENOTSUP when it cannot (segments full): the caller rebuilds. */
int cdns__zone_patch(const cdns_zone_t *old, const cdns_zone_t *mini,
                     const uint8_t *const *affected, size_t n_affected, cdns_zone_t **out);
unsigned cdns__zone_segs(const cdns_zone_t *z);

#endif
