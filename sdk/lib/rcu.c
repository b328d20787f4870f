/* Quiescent-state-based reclamation (the idea of Linux's QSBR RCU, written for our loops):
 * a global grace-period counter; each reader (worker) publishes the counter value it last saw
 * at a quiescent point, or 0 while it sleeps in its event loop. An object deferred at counter
 * value g may be freed once every reader is asleep or has seen a value > g. Readers only do
 * plain stores to their own cache line; no read-modify-write on the query path. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>

#include <clouddns/error.h>
#include <clouddns/rcu.h>

#include "runtime.h"

#define MAX_READERS 512

struct cdns__rcu_reader {
	_Alignas(64) _Atomic uint64_t seen; /* 0 = offline */
};

typedef struct deferred {
	struct deferred *next;
	uint64_t epoch;
	cdns_rcu_cb fn;
	void *arg;
} deferred_t;

static _Atomic uint64_t gp_epoch = 1;
void (*cdns__rcu_kick)(void);
static cdns__rcu_reader_t *readers[MAX_READERS];
static unsigned n_readers;
static pthread_mutex_t queue_lock = PTHREAD_MUTEX_INITIALIZER;
static deferred_t *queue_head, **queue_tail = &queue_head;

cdns__rcu_reader_t *cdns__rcu_register(void)
{
	if (n_readers == MAX_READERS)
		return NULL;
	cdns__rcu_reader_t *r = aligned_alloc(64, sizeof(*r));
	if (r == NULL)
		return NULL;
	atomic_init(&r->seen, 0);
	readers[n_readers++] = r;
	return r;
}

void cdns__rcu_quiescent(cdns__rcu_reader_t *r)
{
	atomic_store(&r->seen, atomic_load(&gp_epoch));
}

void cdns__rcu_offline(cdns__rcu_reader_t *r)
{
	atomic_store(&r->seen, 0);
}

void cdns__rcu_online(cdns__rcu_reader_t *r)
{
	/* seq_cst store: later loads of shared pointers cannot move before it. */
	atomic_store(&r->seen, atomic_load(&gp_epoch));
}

int cdns_rcu_defer(cdns_rcu_cb fn, void *arg)
{
	deferred_t *d = malloc(sizeof(*d));
	if (d == NULL)
		return CDNS_ENOMEM;
	d->fn = fn;
	d->arg = arg;
	d->next = NULL;
	/* The writer's release store of the new pointer happened before this increment. */
	d->epoch = atomic_fetch_add(&gp_epoch, 1);
	pthread_mutex_lock(&queue_lock);
	*queue_tail = d;
	queue_tail = &d->next;
	pthread_mutex_unlock(&queue_lock);
	if (cdns__rcu_kick != NULL)
		cdns__rcu_kick();
	return 0;
}

static bool grace_period_over(uint64_t epoch)
{
	for (unsigned i = 0; i < n_readers; i++) {
		uint64_t s = atomic_load(&readers[i]->seen);
		if (s != 0 && s <= epoch)
			return false;
	}
	return true;
}

unsigned cdns__rcu_poll(void)
{
	unsigned pending = 0;
	for (;;) {
		pthread_mutex_lock(&queue_lock);
		deferred_t *d = queue_head;
		if (d != NULL && grace_period_over(d->epoch)) {
			queue_head = d->next;
			if (queue_head == NULL)
				queue_tail = &queue_head;
		} else {
			for (deferred_t *p = d; p != NULL; p = p->next)
				pending++;
			d = NULL;
		}
		pthread_mutex_unlock(&queue_lock);
		if (d == NULL)
			return pending;
		d->fn(d->arg);
		free(d);
	}
}

void cdns__rcu_shutdown(void)
{
	/* Workers are gone: everything may go now. */
	for (unsigned i = 0; i < n_readers; i++)
		atomic_store(&readers[i]->seen, 0);
	(void)cdns__rcu_poll();
	for (unsigned i = 0; i < n_readers; i++)
		free(readers[i]);
	n_readers = 0;
}
