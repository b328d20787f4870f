/* The zone registry: which version of which zone is current, per view, for every plugin that
 * needs zones it does not own (transfer, update, the REST API). Backends (file, postgres,
 * secondary) publish each new version here; readers take a reference for as long as they need
 * it (an AXFR stream, a changeset being applied). The query path of a backend does not go
 * through the registry (each backend answers from its own lock-free zone set). */
#ifndef CLOUDDNS_REGISTRY_H
#define CLOUDDNS_REGISTRY_H

#include <stdbool.h>
#include <stdint.h>

#include <clouddns/changeset.h>
#include <clouddns/journal.h>
#include <clouddns/zone.h>

/* Make zone the current version of its apex in view (NULL means "default"), published by
 * owner (any pointer identifying the publisher, e.g. a plugin instance's state). The registry
 * takes its own reference; the previous version's reference is dropped. When the zone is new
 * to the registry or its serial differs from the previous version's, CDNS_EV_ZONE_LOADED is
 * emitted (the transfer plugin sends NOTIFY). Returns 0 or CDNS_ENOMEM. Control thread only
 * (events are delivered there). */
int cdns_registry_publish(const char *view, cdns_zone_t *zone, const void *owner);

/* New references to the current versions of the zones in view (NULL: "default"): at most max
 * of them into zones (the caller drops each with cdns_zone_unref()). Returns how many zones
 * the view has, which may be more than max. Any thread; takes a lock. */
size_t cdns_registry_list(const char *view, cdns_zone_t **zones, size_t max);

/* Remove the zone at apex from view, but only if owner published its current version (NULL:
 * whoever did), so an instance being retired does not withdraw what its successor published. */
void cdns_registry_withdraw(const char *view, const uint8_t *apex, const void *owner);

/* A new reference to the current version of the zone with exactly this apex (lower-cased) in
 * view, or NULL. The caller drops it with cdns_zone_unref(). Any thread; takes a lock: not
 * for the per-query path. */
cdns_zone_t *cdns_registry_get(const char *view, const uint8_t *apex);

/* Mark a published zone as a copy of another server's (a secondary zone): it changes only by
 * transfers from its primaries, so the update plugin refuses RFC 2136 updates for it. The
 * mark is kept while the same owner republishes the zone. Returns 0 or CDNS_ENOENT. */
int cdns_registry_set_secondary(const char *view, const uint8_t *apex, bool secondary);
bool cdns_registry_is_secondary(const char *view, const uint8_t *apex);

/* Attach the zone's journal (opened by its backend, which keeps ownership and detaches with
 * j = NULL before closing it) and the serial policy commits use. Returns 0 or CDNS_ENOENT
 * (no such zone in the registry). Control thread only. */
int cdns_registry_set_journal(const char *view, const uint8_t *apex, cdns_journal_t *j,
			      cdns_serial_policy_t policy);

/* Commit a change (control thread only: it may fsync). The one way a zone changes at run
 * time (RFC 2136 updates, the REST API, IXFR received, re-signing):
 *   1. cs must be for the current version: when cs has no SOA after, the registry sets the
 *      SOA before from the current version and the SOA after with the next serial under the
 *      zone's policy (RFC 1982); when it has both, they are used as given;
 *   2. cdns_zone_apply() builds the next version (every check of changeset.h);
 *   3. the journal, if attached, gets the changeset appended and fdatasync'ed — only then is
 *      the change acknowledged;
 *   4. the new version becomes current and CDNS_EV_ZONE_COMMITTED is emitted (backends swap
 *      it in for queries, the transfer plugin sends NOTIFY).
 * Returns 0 (and, if out is not NULL, a new reference to the new version), or a negative code
 * with a one-line reason in err: CDNS_ENOENT (no such zone), the codes of cdns_zone_apply,
 * CDNS_EIO (journal write failed: nothing changed), CDNS_ENOMEM. */
int cdns_registry_commit(const char *view, const uint8_t *apex, cdns_changeset_t *cs, char *err,
			 size_t errlen, cdns_zone_t **out);

/* The changes from serial to the current version, condensed into one changeset (SOA before =
 * serial, SOA after = the current serial), from the zone's journal — what an IXFR answer
 * needs (RFC 1995 §4 allows the condensed form). Control thread only (the journal is written
 * there). Returns 0 and *out (the caller frees it), CDNS_ENOENT (no journal, or serial not in
 * it: answer with the whole zone), CDNS_EEXIST (serial is current), or another error. */
int cdns_registry_changes_since(const char *view, const uint8_t *apex, uint32_t serial,
				cdns_changeset_t **out);

/* Drop everything (at exit). */
void cdns_registry_clear(void);

#endif
