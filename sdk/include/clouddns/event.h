/* The event bus: plugins announce and hear about zone changes and reloads. Events are emitted
 * and delivered on the control loop only (subscribers run synchronously, in subscription
 * order, and must not block). */
#ifndef CLOUDDNS_EVENT_H
#define CLOUDDNS_EVENT_H

#include <clouddns/zone.h>

enum {
	CDNS_EV_ZONE_COMMITTED = 1, /* a new version of a zone is current (zone, old, changeset) */
	CDNS_EV_ZONE_REMOVED = 2,   /* a zone left the registry (view, apex) */
	CDNS_EV_CONFIG_RELOADED = 3, /* a new configuration is live */
	/* A backend published a whole version (zone, old or NULL): loaded from its source at
	 * start or on a reload, or received whole; only when the serial differs from the
	 * version it replaces, or the zone is new to the registry. */
	CDNS_EV_ZONE_LOADED = 4,
	CDNS_EV_MAX = 8,
};

struct cdns_changeset;

typedef struct cdns_event {
	int type;
	const char *view;
	const uint8_t *apex;
	const cdns_zone_t *zone;             /* the new version (ZONE_COMMITTED, ZONE_LOADED) */
	const cdns_zone_t *old;              /* the version it replaced, or NULL */
	const struct cdns_changeset *changeset; /* the change, or NULL for a whole new zone */
} cdns_event_t;

typedef void (*cdns_event_cb)(const cdns_event_t *ev, void *arg);

/* Subscribe cb(ev, arg) to events of a type. Returns 0, CDNS_EINVAL, CDNS_ENOMEM. Control
 * thread only (setup, activate, or a control-loop callback). */
int cdns_event_subscribe(int type, cdns_event_cb cb, void *arg);
/* Remove a subscription (the same cb and arg). */
void cdns_event_unsubscribe(int type, cdns_event_cb cb, void *arg);
/* Deliver an event to every subscriber of its type. Control thread only. */
void cdns_event_emit(const cdns_event_t *ev);

#endif
