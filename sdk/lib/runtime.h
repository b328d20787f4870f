/* What the server fills in for the plugin-facing runtime accessors. Private to libclouddns
 * and server/: never installed, never included by plugins. */
#ifndef CDNS_LIB_RUNTIME_H
#define CDNS_LIB_RUNTIME_H

#include <stdbool.h>
#include <stdint.h>

#include <clouddns/plugin.h>

struct cdns_setup {
	cdns_diag_t *diag;
	char prefix[128];
	bool check_only;
	const char *identity;
	const char *config_dir;
	unsigned workers;
	/* Keeps a string alive as long as the configuration tree. */
	const char *(*keep)(void *owner, const char *s);
	void *keep_owner;
};

struct cdns_worker_ops {
	/* Continue a query after CDNS_ASYNC. */
	void (*resume)(cdns_query_t *q, int verdict);
};

/* The public part of a worker; the server embeds it as the first member of its own. */
struct cdns_worker {
	unsigned index;
	struct ev_loop *loop;
	const struct cdns_worker_ops *ops;
};

/* Quiescent-state reclamation (rcu.c): each worker registers once (before it starts), calls
 * quiescent between batches of queries, offline before it sleeps and online when it wakes.
 * The control loop calls poll (returns how many callbacks still wait) until it returns 0. */
typedef struct cdns__rcu_reader cdns__rcu_reader_t;
cdns__rcu_reader_t *cdns__rcu_register(void);
void cdns__rcu_quiescent(cdns__rcu_reader_t *r);
void cdns__rcu_offline(cdns__rcu_reader_t *r);
void cdns__rcu_online(cdns__rcu_reader_t *r);
unsigned cdns__rcu_poll(void);
void cdns__rcu_shutdown(void);
/* Called after each cdns_rcu_defer() so the control loop starts polling (set by the server). */
extern void (*cdns__rcu_kick)(void);

/* Set by the server at start. */
void cdns__runtime_set_control_loop(struct ev_loop *loop);
/* Cross-thread calls, implemented by the server. */
extern int (*cdns__control_post_fn)(void (*fn)(void *arg), void *arg);
extern int (*cdns__worker_post_fn)(cdns_worker_t *w, void (*fn)(void *arg), void *arg);

#endif
