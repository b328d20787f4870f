/* The zone registry: a small hash map (view, apex) → current version, under one mutex. Only
 * publishing, withdrawing and taking references go through it, never the answer path. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <clouddns/error.h>
#include <clouddns/registry.h>

#define BUCKETS 1024

typedef struct entry {
	struct entry *next;
	char *view;
	uint8_t apex[CDNS_NAME_MAXLEN];
	cdns_zone_t *zone;
	const void *owner;
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
