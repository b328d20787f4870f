/* Serial numbers (RFC 1982), changesets, and applying a changeset to an immutable zone.
 *
 * A changeset is one change to a zone (DESIGN.md, Zones): the SOA before, the SOA after, the
 * RRs removed and the RRs added. Every change (RFC 2136 update, REST call, IXFR received,
 * database notification, re-signing) is expressed as one, applied with cdns_zone_apply(),
 * and written to the zone's journal (clouddns/journal.h). It is also exactly one "difference
 * sequence" of an IXFR response (RFC 1995 §4): deleted RRs headed by the old SOA, added RRs
 * headed by the new SOA; a modified RR is a removal followed by an addition.
 *
 * Not thread-safe: a changeset is built by one thread, then only read (reading from several
 * threads at once is fine). */
#ifndef CLOUDDNS_CHANGESET_H
#define CLOUDDNS_CHANGESET_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <clouddns/zone.h>

/* ---------------------------------------------------------------------------------------- */
/* Serial number arithmetic (RFC 1982, SERIAL_BITS = 32)                                      */

/* Returned by cdns_serial_cmp when a and b are exactly 2^31 apart: RFC 1982 §3.2 leaves that
 * comparison undefined, and we never treat such a pair as ordered. */
#define CDNS_SERIAL_UNDEFINED 2

/* Compare two serials (RFC 1982 §3.2): -1 if a < b, 0 if equal, 1 if a > b,
 * CDNS_SERIAL_UNDEFINED if they are 2^31 apart. "a < b" holds when b is 1 .. 2^31-1 steps
 * after a modulo 2^32 (so 0xffffffff < 0). */
int cdns_serial_cmp(uint32_t a, uint32_t b);

/* How a new serial is chosen. */
typedef enum cdns_serial_policy {
	CDNS_SERIAL_INCREMENT = 0, /* current + 1 (modulo 2^32, RFC 1982 §3.1) */
	CDNS_SERIAL_UNIXTIME = 1, /* seconds since the epoch (now), or current + 1 if not greater */
	CDNS_SERIAL_DATESERIAL = 2, /* YYYYMMDDnn of now (UTC) with nn = 00, or current + 1 if the
	                             * date part is not ahead (so nn counts the changes of a day,
	                             * and the 100th change of a day borrows tomorrow's date) */
} cdns_serial_policy_t;

/* The serial that follows current under a policy, at time now. Always strictly greater than
 * current in RFC 1982 terms (cdns_serial_cmp(result, current) == 1): when the policy's
 * candidate is not greater (behind, equal, or 2^31 or more ahead), current + 1 is returned
 * instead. Unknown policies behave as CDNS_SERIAL_INCREMENT. */
uint32_t cdns_serial_next(uint32_t current, cdns_serial_policy_t policy, time_t now);

/* The SERIAL field of SOA RDATA (uncompressed wire form; the last 20 bytes are SERIAL,
 * REFRESH, RETRY, EXPIRE, MINIMUM). Returns 0 and *serial, or CDNS_EFORMAT if rdlen < 22. */
int cdns_soa_serial(const uint8_t *rdata, uint16_t rdlen, uint32_t *serial);

/* ---------------------------------------------------------------------------------------- */
/* Changesets                                                                                 */

typedef struct cdns_changeset cdns_changeset_t;

/* One RR of a changeset. Every pointer points into the changeset (its arena) and lives as
 * long as the changeset. owner is uncompressed wire form, spelled as given (case kept);
 * rdata is uncompressed wire form. */
typedef struct cdns_changeset_rr {
	const uint8_t *owner;
	const uint8_t *rdata;
	uint32_t ttl;
	uint16_t type;
	uint16_t rclass;
	uint16_t rdlen;
} cdns_changeset_rr_t;

/* Sections of a changeset (for cdns_changeset_count / cdns_changeset_rr). */
enum { CDNS_CS_REMOVED = 0, CDNS_CS_ADDED = 1 };
/* Which SOA (for cdns_changeset_set_soa / cdns_changeset_soa / cdns_changeset_serial). */
enum { CDNS_CS_BEFORE = 0, CDNS_CS_AFTER = 1 };

/* A new, empty changeset for the zone at apex (absolute, any case; copied) in class rclass.
 * All the changeset's data lives in one chain of arena blocks (plus one array per section),
 * freed together by cdns_changeset_free(). Returns NULL if apex is not a valid name or on
 * allocation failure. */
cdns_changeset_t *cdns_changeset_new(const uint8_t *apex, uint16_t rclass);

/* Free a changeset and everything it holds (NULL is fine). */
void cdns_changeset_free(cdns_changeset_t *cs);

/* The apex as given to cdns_changeset_new (case kept) and the class. */
const uint8_t *cdns_changeset_apex(const cdns_changeset_t *cs);
uint16_t cdns_changeset_class(const cdns_changeset_t *cs);

/* Set the SOA before or after the change (which = CDNS_CS_BEFORE / CDNS_CS_AFTER); its owner
 * is the apex. RDATA is copied (setting twice replaces, the old copy stays in the arena until
 * the changeset is freed). Returns 0, CDNS_EINVAL (bad which, or RDATA that is not a
 * well-formed SOA), CDNS_ENOMEM. */
int cdns_changeset_set_soa(cdns_changeset_t *cs, int which, uint32_t ttl, const uint8_t *rdata,
                           uint16_t rdlen);

/* The SOA before or after as an RR (owner = apex). Returns 0 and *rr, or CDNS_ENOENT if that
 * SOA was not set, CDNS_EINVAL for a bad which. */
int cdns_changeset_soa(const cdns_changeset_t *cs, int which, cdns_changeset_rr_t *rr);

/* The serial of the SOA before or after; 0 if it was not set. */
uint32_t cdns_changeset_serial(const cdns_changeset_t *cs, int which);

/* Record that an RR is removed from / added to the zone. Everything is copied into the
 * changeset's arena. The owner must be at or below the apex, the class the changeset's class,
 * the type neither a meta type (RFC 6895 §3.1) nor SOA (the SOAs are set with
 * cdns_changeset_set_soa), and the RDATA well-formed for its type (cdns_rdata_check).
 * The TTL of a removed RR is kept for IXFR but not used to find the RR in the zone.
 * Returns 0, CDNS_EINVAL (the record breaks one of those rules), CDNS_ENOMEM. */
int cdns_changeset_remove(cdns_changeset_t *cs, const uint8_t *owner, uint16_t type,
                          uint16_t rclass, uint32_t ttl, const uint8_t *rdata, uint16_t rdlen);
int cdns_changeset_add(cdns_changeset_t *cs, const uint8_t *owner, uint16_t type, uint16_t rclass,
                       uint32_t ttl, const uint8_t *rdata, uint16_t rdlen);

/* Number of RRs in a section (CDNS_CS_REMOVED / CDNS_CS_ADDED; 0 for another value), and the
 * i-th of them in the order they were recorded (NULL if i is out of range). Iterate with
 * for (i = 0; i < cdns_changeset_count(cs, s); i++) rr = cdns_changeset_rr(cs, s, i); */
size_t cdns_changeset_count(const cdns_changeset_t *cs, int section);
const cdns_changeset_rr_t *cdns_changeset_rr(const cdns_changeset_t *cs, int section, size_t i);

/* Empty a changeset for reuse (keeps the apex, the class and its largest arena block). */
void cdns_changeset_clear(cdns_changeset_t *cs);

/* Bytes of data the changeset holds (owners and RDATA of every RR and of both SOAs, plus 10
 * bytes of type/class/TTL/length per RR): about the size of its IXFR difference sequence
 * without name compression, and of its journal record. */
size_t cdns_changeset_size(const cdns_changeset_t *cs);

/* Merge a then b into one changeset with a's SOA before and b's SOA after, as if both were
 * applied in turn (journal compaction, condensed IXFR answers). Requires the same apex and
 * class, and a's SOA after equal to b's SOA before (same RDATA). An RR that a adds and b
 * removes disappears from both lists; an RR that a removes and b adds back stays in both
 * (the removal and the re-addition, possibly with another TTL). Returns 0 and *out (the
 * caller frees it), CDNS_EINVAL (the changesets do not follow each other), CDNS_ENOMEM. */
int cdns_changeset_merge(const cdns_changeset_t *a, const cdns_changeset_t *b,
                         cdns_changeset_t **out);

/* ---------------------------------------------------------------------------------------- */
/* Applying a changeset                                                                       */

/* Build the zone version that follows old under cs. Nothing of old changes (readers keep
 * using it); the result is a new immutable zone with one reference.
 *
 * Checks, every problem reported through cb (severity CDNS_ZONE_ERROR; file NULL, line 0;
 * cb may be NULL), and the first one's code returned:
 *   - cs is for old's apex and class, and both SOAs are set (else CDNS_EINVAL);
 *   - the SOA before has the RDATA of old's SOA (else CDNS_EINVAL: the changeset was made
 *     for another version);
 *   - the serial after is greater than the serial before in RFC 1982 terms (else
 *     CDNS_ERANGE);
 *   - every removed RR is in old (same owner, type and RDATA, compared as RFC 4034 §6.2
 *     canonical forms; the TTL is ignored) and is removed once (else CDNS_ENOENT);
 *   - no added RR is in old, unless the changeset also removes it, and none is added twice
 *     (else CDNS_EEXIST). Adding an RR that exists is an error here, not a no-op: the RFC 2136
 *     layer filters such requests before it builds a changeset.
 * The new version holds old's records minus the removed ones, with the SOA after in place of
 * old's SOA, plus the added ones; the zone builder's checks apply to the owners the change
 * touches (a CNAME beside other data, a missing apex NS...: CDNS_EINVAL, reported through
 * cb, as are its warnings). An added RR whose TTL differs from the rest of its RRset makes
 * the RRset take the lowest TTL (RFC 2181 §5.2, with the builder's warning); a TTL change is
 * expressed by removing and re-adding every RR of the RRset.
 *
 * Cost: the touched owners are built on their own and spliced into a copy of old's node
 * array; RRsets, RDATA and names of the rest are shared with old (which stays valid and
 * immutable). So a call costs the change plus a copy of the node array and its index
 * (t/unit/test_changeset.c, test_apply_big_zone, one core of an AMD EPYC build machine: one
 * changed record in a zone of 100,000 records 0.6-1.2 ms, one new name 1.4-2 ms). Changes
 * that add, remove or alter a zone cut (NS below the apex) or a DNAME, changes of more than
 * 65,536 records, and every 32nd version in a chain (which gives the memory of replaced
 * records back) rebuild the whole zone instead: O(zone), about 40-60 ms for 100,000 records.
 *
 * Returns 0 and *out, or CDNS_EINVAL, CDNS_ERANGE, CDNS_ENOENT, CDNS_EEXIST, CDNS_ENOMEM;
 * *out is NULL on error. */
int cdns_zone_apply(const cdns_zone_t *old, const cdns_changeset_t *cs, cdns_zone_msg_cb cb,
                    void *ctx, cdns_zone_t **out);

#endif
