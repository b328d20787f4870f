/* The zone registry: a small hash map (view, apex) → current version, under one mutex. Only
 * publishing, withdrawing and taking references go through it, never the answer path. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include <clouddns/error.h>
#include <clouddns/event.h>
#include <clouddns/registry.h>
#include <clouddns/rrtype.h>
#include <clouddns/wire.h>

#define BUCKETS 1024

typedef struct entry {
	struct entry *next;
	char *view;
	uint8_t apex[CDNS_NAME_MAXLEN];
	cdns_zone_t *zone;
	const void *owner;
	cdns_journal_t *journal; /* the backend's; used by commits (control thread) */
	cdns_serial_policy_t policy;
	bool secondary;
} entry_t;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static entry_t *buckets[BUCKETS];

static unsigned bucket(const char *view, const uint8_t *apex)
{
	uint32_t h = cdns_name_hash(apex);
	for (const char *p = view; *p != '\0'; p++)
		h = (h ^ (uint8_t)*p) * 16777619u;
	return h % BUCKETS;
}

static entry_t **find(const char *view, const uint8_t *apex)
{
	entry_t **pp = &buckets[bucket(view, apex)];
	while (*pp != NULL && (strcmp((*pp)->view, view) != 0 || !cdns_name_equal((*pp)->apex, apex)))
		pp = &(*pp)->next;
	return pp;
}

int cdns_registry_publish(const char *view, cdns_zone_t *zone, const void *owner)
{
	if (view == NULL)
		view = "default";
	const uint8_t *apex = cdns_zone_apex(zone);
	cdns_zone_t *old = NULL;
	int rc = 0;
	pthread_mutex_lock(&lock);
	entry_t **pp = find(view, apex);
	if (*pp != NULL) {
		old = (*pp)->zone;
		(*pp)->zone = cdns_zone_ref(zone);
		if ((*pp)->owner != owner)
			(*pp)->secondary = false; /* another publisher: its own kind of zone */
		(*pp)->owner = owner;
	} else {
		entry_t *e = calloc(1, sizeof(*e));
		if (e == NULL || (e->view = strdup(view)) == NULL) {
			free(e);
			rc = CDNS_ENOMEM;
		} else {
			cdns_name_copy_lower(e->apex, apex);
			e->zone = cdns_zone_ref(zone);
			e->owner = owner;
			*pp = e;
		}
	}
	pthread_mutex_unlock(&lock);
	if (rc == 0 && (old == NULL || cdns_zone_serial(old) != cdns_zone_serial(zone))) {
		cdns_event_t ev = {
			.type = CDNS_EV_ZONE_LOADED,
			.view = view,
			.apex = apex,
			.zone = zone,
			.old = old,
		};
		cdns_event_emit(&ev);
	}
	if (old != NULL)
		cdns_zone_unref(old);
	return rc;
}

void cdns_registry_withdraw(const char *view, const uint8_t *apex, const void *owner)
{
	if (view == NULL)
		view = "default";
	entry_t *gone = NULL;
	pthread_mutex_lock(&lock);
	entry_t **pp = find(view, apex);
	if (*pp != NULL && (owner == NULL || (*pp)->owner == owner)) {
		gone = *pp;
		*pp = gone->next;
	}
	pthread_mutex_unlock(&lock);
	if (gone != NULL) {
		cdns_zone_unref(gone->zone);
		free(gone->view);
		free(gone);
	}
}

size_t cdns_registry_list(const char *view, cdns_zone_t **zones, size_t max)
{
	if (view == NULL)
		view = "default";
	size_t n = 0;
	pthread_mutex_lock(&lock);
	for (unsigned b = 0; b < BUCKETS; b++) {
		for (const entry_t *e = buckets[b]; e != NULL; e = e->next) {
			if (strcmp(e->view, view) != 0)
				continue;
			if (n < max)
				zones[n] = cdns_zone_ref(e->zone);
			n++;
		}
	}
	pthread_mutex_unlock(&lock);
	return n;
}

cdns_zone_t *cdns_registry_get(const char *view, const uint8_t *apex)
{
	if (view == NULL)
		view = "default";
	cdns_zone_t *z = NULL;
	pthread_mutex_lock(&lock);
	entry_t **pp = find(view, apex);
	if (*pp != NULL)
		z = cdns_zone_ref((*pp)->zone);
	pthread_mutex_unlock(&lock);
	return z;
}

int cdns_registry_set_secondary(const char *view, const uint8_t *apex, bool secondary)
{
	if (view == NULL)
		view = "default";
	int rc = CDNS_ENOENT;
	pthread_mutex_lock(&lock);
	entry_t **pp = find(view, apex);
	if (*pp != NULL) {
		(*pp)->secondary = secondary;
		rc = 0;
	}
	pthread_mutex_unlock(&lock);
	return rc;
}

bool cdns_registry_is_secondary(const char *view, const uint8_t *apex)
{
	if (view == NULL)
		view = "default";
	pthread_mutex_lock(&lock);
	entry_t **pp = find(view, apex);
	bool secondary = *pp != NULL && (*pp)->secondary;
	pthread_mutex_unlock(&lock);
	return secondary;
}

int cdns_registry_set_journal(const char *view, const uint8_t *apex, cdns_journal_t *j,
			      cdns_serial_policy_t policy)
{
	if (view == NULL)
		view = "default";
	int rc = CDNS_ENOENT;
	pthread_mutex_lock(&lock);
	entry_t **pp = find(view, apex);
	if (*pp != NULL) {
		(*pp)->journal = j;
		(*pp)->policy = policy;
		rc = 0;
	}
	pthread_mutex_unlock(&lock);
	return rc;
}

struct commit_msgs {
	char *err;
	size_t errlen;
	bool have;
};

static void commit_err(struct commit_msgs *m, const char *fmt, ...)
{
	if (m->have || m->err == NULL || m->errlen == 0)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(m->err, m->errlen, fmt, ap);
	va_end(ap);
	m->have = true;
}

static void apply_msg_cb(void *ctx, int severity, const char *file, unsigned line, const char *text)
{
	if (severity == CDNS_ZONE_ERROR)
		commit_err(ctx, "%s", text);
}

int cdns_registry_commit(const char *view, const uint8_t *apex, cdns_changeset_t *cs, char *err,
			 size_t errlen, cdns_zone_t **out)
{
	struct commit_msgs m = { .err = err, .errlen = errlen };
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (view == NULL)
		view = "default";
	/* Commits run on the control thread only, so the entry's version cannot change under us
	 * between here and the publication below; the lock only guards the map. */
	pthread_mutex_lock(&lock);
	entry_t **pp = find(view, apex);
	cdns_zone_t *old = *pp != NULL ? cdns_zone_ref((*pp)->zone) : NULL;
	cdns_journal_t *journal = *pp != NULL ? (*pp)->journal : NULL;
	cdns_serial_policy_t policy = *pp != NULL ? (*pp)->policy : CDNS_SERIAL_INCREMENT;
	pthread_mutex_unlock(&lock);
	if (old == NULL) {
		commit_err(&m, "zone not served here");
		return CDNS_ENOENT;
	}
	int rc;
	cdns_changeset_rr_t after;
	if (cdns_changeset_soa(cs, CDNS_CS_AFTER, &after) == CDNS_ENOENT) {
		/* Serial bump: SOA before = the current one, SOA after = the same with the next
		 * serial (RFC 1982) under the zone's policy. */
		const cdns_znode_t *apex_node = cdns_zone_node(old, 0);
		const cdns_rrset_t *soa = cdns_znode_rrset(apex_node, CDNS_T_SOA);
		size_t pos = 0;
		const uint8_t *rd;
		uint16_t len;
		uint8_t next[CDNS_NAME_MAXLEN * 2 + 20];
		if (soa == NULL || !cdns_rrset_next(soa, &pos, &rd, &len) || len < 22 ||
		    len > sizeof(next)) {
			commit_err(&m, "the zone has no usable SOA");
			rc = CDNS_EINVAL;
			goto out;
		}
		memcpy(next, rd, len);
		uint32_t serial = cdns_get32(rd + len - 20);
		cdns_put32(next + len - 20, cdns_serial_next(serial, policy, time(NULL)));
		if ((rc = cdns_changeset_set_soa(cs, CDNS_CS_BEFORE, soa->ttl, rd, len)) != 0 ||
		    (rc = cdns_changeset_set_soa(cs, CDNS_CS_AFTER, soa->ttl, next, len)) != 0) {
			commit_err(&m, "cannot set the SOA: %s", cdns_strerror(rc));
			goto out;
		}
	}
	cdns_zone_t *fresh = NULL;
	rc = cdns_zone_apply(old, cs, apply_msg_cb, &m, &fresh);
	if (rc != 0) {
		commit_err(&m, "%s", cdns_strerror(rc));
		goto out;
	}
	if (journal != NULL && (rc = cdns_journal_append(journal, cs)) != 0) {
		/* Not durable, so not done: the current version stays. */
		commit_err(&m, "journal: %s", cdns_journal_error(journal));
		cdns_zone_unref(fresh);
		goto out;
	}
	pthread_mutex_lock(&lock);
	pp = find(view, apex);
	cdns_zone_t *replaced = NULL;
	if (*pp != NULL) {
		replaced = (*pp)->zone;
		(*pp)->zone = cdns_zone_ref(fresh);
	}
	pthread_mutex_unlock(&lock);
	if (replaced != NULL)
		cdns_zone_unref(replaced);
	cdns_event_t ev = {
		.type = CDNS_EV_ZONE_COMMITTED,
		.view = view,
		.apex = cdns_zone_apex(fresh),
		.zone = fresh,
		.old = old,
		.changeset = cs,
	};
	cdns_event_emit(&ev);
	if (out != NULL)
		*out = fresh;
	else
		cdns_zone_unref(fresh);
out:
	cdns_zone_unref(old);
	return rc;
}

struct since_ctx {
	cdns_changeset_t *acc;
	int rc;
};

static int since_cb(void *ctx, const cdns_changeset_t *cs)
{
	struct since_ctx *sc = ctx;
	cdns_changeset_t *merged = NULL;
	if (sc->acc == NULL) {
		/* The first one: copy it by merging with nothing in between. */
		merged = cdns_changeset_new(cdns_changeset_apex(cs), cdns_changeset_class(cs));
		if (merged == NULL)
			return CDNS_ENOMEM;
		cdns_changeset_rr_t soa;
		for (int which = CDNS_CS_BEFORE; which <= CDNS_CS_AFTER; which++) {
			if (cdns_changeset_soa(cs, which, &soa) != 0 ||
			    cdns_changeset_set_soa(merged, which, soa.ttl, soa.rdata, soa.rdlen) != 0) {
				cdns_changeset_free(merged);
				return CDNS_EINVAL;
			}
		}
		for (int sec = CDNS_CS_REMOVED; sec <= CDNS_CS_ADDED; sec++) {
			for (size_t i = 0; i < cdns_changeset_count(cs, sec); i++) {
				const cdns_changeset_rr_t *rr = cdns_changeset_rr(cs, sec, i);
				int rc = sec == CDNS_CS_REMOVED
						 ? cdns_changeset_remove(merged, rr->owner, rr->type,
									 rr->rclass, rr->ttl, rr->rdata,
									 rr->rdlen)
						 : cdns_changeset_add(merged, rr->owner, rr->type, rr->rclass,
								      rr->ttl, rr->rdata, rr->rdlen);
				if (rc != 0) {
					cdns_changeset_free(merged);
					return rc;
				}
			}
		}
		sc->acc = merged;
		return 0;
	}
	int rc = cdns_changeset_merge(sc->acc, cs, &merged);
	if (rc != 0)
		return rc;
	cdns_changeset_free(sc->acc);
	sc->acc = merged;
	return 0;
}

int cdns_registry_changes_since(const char *view, const uint8_t *apex, uint32_t serial,
				cdns_changeset_t **out)
{
	if (view == NULL)
		view = "default";
	pthread_mutex_lock(&lock);
	entry_t **pp = find(view, apex);
	cdns_journal_t *j = *pp != NULL ? (*pp)->journal : NULL;
	uint32_t current = *pp != NULL ? cdns_zone_serial((*pp)->zone) : 0;
	pthread_mutex_unlock(&lock);
	if (j == NULL)
		return CDNS_ENOENT;
	if (serial == current)
		return CDNS_EEXIST;
	struct since_ctx sc = { 0 };
	int rc = cdns_journal_read_from(j, serial, since_cb, &sc);
	if (rc != 0) {
		cdns_changeset_free(sc.acc);
		return rc;
	}
	if (sc.acc == NULL || cdns_changeset_serial(sc.acc, CDNS_CS_AFTER) != current) {
		/* The journal does not reach the current version (it was not kept for every
		 * change): a whole transfer is the only right answer. */
		cdns_changeset_free(sc.acc);
		return CDNS_ENOENT;
	}
	*out = sc.acc;
	return 0;
}

void cdns_registry_clear(void)
{
	pthread_mutex_lock(&lock);
	for (unsigned i = 0; i < BUCKETS; i++) {
		while (buckets[i] != NULL) {
			entry_t *e = buckets[i];
			buckets[i] = e->next;
			cdns_zone_unref(e->zone);
			free(e->view);
			free(e);
		}
	}
	pthread_mutex_unlock(&lock);
}
