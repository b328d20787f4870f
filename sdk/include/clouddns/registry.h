/* The zone registry: which version of which zone is current, per view, for every plugin that
 * needs zones it does not own (transfer, update, the REST API). Backends (file, postgres,
 * secondary) publish each new version here; readers take a reference for as long as they need
 * it (an AXFR stream, a changeset being applied). The query path of a backend does not go
 * through the registry (each backend answers from its own lock-free zone set). */
#ifndef CLOUDDNS_REGISTRY_H
#define CLOUDDNS_REGISTRY_H

#include <stdint.h>

#include <clouddns/zone.h>

/* Make zone the current version of its apex in view (NULL means "default"), published by
 * owner (any pointer identifying the publisher, e.g. a plugin instance's state). The registry
 * takes its own reference; the previous version's reference is dropped. Returns 0 or
 * CDNS_ENOMEM. Any thread. */
int cdns_registry_publish(const char *view, cdns_zone_t *zone, const void *owner);

/* Remove the zone at apex from view, but only if owner published its current version (NULL:
 * whoever did), so an instance being retired does not withdraw what its successor published. */
void cdns_registry_withdraw(const char *view, const uint8_t *apex, const void *owner);

/* A new reference to the current version of the zone with exactly this apex (lower-cased) in
 * view, or NULL. The caller drops it with cdns_zone_unref(). Any thread; takes a lock: not
 * for the per-query path. */
cdns_zone_t *cdns_registry_get(const char *view, const uint8_t *apex);

/* Drop everything (at exit). */
void cdns_registry_clear(void);

#endif
