/* Lock-free publication of read-mostly data (zone sets, configurations) with deferred
 * reclamation based on quiescent states: worker threads never lock or write shared memory to
 * read; the runtime notes when each worker is between queries.
 *
 * Readers (query hooks on worker threads) load the shared pointer with
 * atomic_load_explicit(..., memory_order_acquire) and must not use it after their hook returns
 * (an ASYNC query must take its own reference for later). Writers publish the new pointer with
 * a release store and hand the old one to cdns_rcu_defer(). */
#ifndef CLOUDDNS_RCU_H
#define CLOUDDNS_RCU_H

typedef void (*cdns_rcu_cb)(void *arg);

/* Run fn(arg) on the control loop once every worker has passed a quiescent state (finished the
 * queries it was running) after this call. Safe from any thread. Returns 0 or CDNS_ENOMEM (then
 * nothing is queued: the caller must keep the data alive, e.g. leak it deliberately). */
int cdns_rcu_defer(cdns_rcu_cb fn, void *arg);

#endif
