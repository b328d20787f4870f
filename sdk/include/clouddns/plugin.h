/* The plugin interface: the one thing a plugin exports, and what it may ask of the runtime. */
#ifndef CLOUDDNS_PLUGIN_H
#define CLOUDDNS_PLUGIN_H

#include <stdbool.h>
#include <stdint.h>

#include <clouddns/conf.h>
#include <clouddns/query.h>
#include <clouddns/version.h>

/* What a query hook decides. */
typedef enum {
	CDNS_NEXT = 0, /* go on with the next plugin */
	CDNS_DONE = 1, /* the response is complete: run response hooks back up, then send */
	CDNS_DROP = 2, /* send nothing */
	CDNS_ASYNC = 3, /* the plugin waits for I/O and calls cdns_query_resume() later */
} cdns_verdict_t;

/* Given to setup: the instance being configured. */
typedef struct cdns_setup cdns_setup_t;

struct ev_loop;

typedef struct cdns_plugin {
	uint32_t abi;  /* CDNS_PLUGIN_ABI the plugin was built for: checked first */
	uint32_t size; /* sizeof(cdns_plugin_t) at build time */
	const char *name;
	const char *version;
	const char *description;
	/* Parse and validate options (report errors through cdns_setup_diag(), all of them) and
	 * create state. Runs on the control thread, also under "clouddns -t" (then it must not
	 * open sockets or start anything: see cdns_setup_check_only()). Returns 0 or an error. */
	int (*setup)(cdns_setup_t *s, const cdns_conf_t *opts, void **state);
	/* The pipeline holding this instance goes live (control loop: start timers, watchers). */
	int (*activate)(void *state);
	/* On each worker thread, before its first query with this pipeline. */
	int (*thread_init)(void *state, cdns_worker_t *w);
	/* On each worker thread, when it stops using this pipeline. */
	void (*thread_fini)(void *state, cdns_worker_t *w);
	/* The query hook, in pipeline order. */
	cdns_verdict_t (*query)(void *state, cdns_query_t *q);
	/* The response hook, in reverse order, for the plugins whose query hook ran. */
	void (*response)(void *state, cdns_query_t *q);
	/* The pipeline is gone (no worker uses it any more): stop timers and free state. Also
	 * called after a failed or check-only setup of a pipeline if setup had succeeded. */
	void (*teardown)(void *state);
} cdns_plugin_t;

#if defined(__GNUC__)
#define CDNS_EXPORT __attribute__((visibility("default")))
#else
#define CDNS_EXPORT
#endif

/* The symbol the loader looks up. */
#define CDNS_PLUGIN_SYMBOL "cdns_plugin_entry"

/* Declare a plugin: CDNS_PLUGIN(.name = "x", .setup = x_setup, .query = x_query, ...); */
#define CDNS_PLUGIN(...)                                                        \
	CDNS_EXPORT extern const cdns_plugin_t cdns_plugin_entry;              \
	CDNS_EXPORT const cdns_plugin_t cdns_plugin_entry = {                   \
		.abi = CDNS_PLUGIN_ABI, .size = sizeof(cdns_plugin_t), __VA_ARGS__ \
	}

/* --- What setup may ask. --- */
cdns_diag_t *cdns_setup_diag(cdns_setup_t *s);
/* "plugin 'name': " — prefix for diagnostics. */
const char *cdns_setup_prefix(cdns_setup_t *s);
/* True under "clouddns -t": validate only. */
bool cdns_setup_check_only(cdns_setup_t *s);
/* server.identity (default: the host name). */
const char *cdns_setup_identity(cdns_setup_t *s);
/* Directory of the configuration file, for resolving relative paths. */
const char *cdns_setup_config_dir(cdns_setup_t *s);
/* Number of worker threads. */
unsigned cdns_setup_workers(cdns_setup_t *s);
/* Resolve a path relative to the configuration directory; returns a string owned by the
 * configuration tree (freed with it), or NULL on allocation failure. */
const char *cdns_setup_path(cdns_setup_t *s, const char *path);

/* --- The runtime. --- */
/* The control loop: timers and background work (never a worker's loop). */
struct ev_loop *cdns_control_loop(void);
/* A worker's loop (for watchers a plugin adds in thread_init, or while a query is ASYNC). */
struct ev_loop *cdns_worker_loop(cdns_worker_t *w);
/* 0-based worker index. */
unsigned cdns_worker_index(const cdns_worker_t *w);

/* Run fn(arg) on the control loop, or on a worker's loop, soon. Safe from any thread: how a
 * worker hands slow work (an fsync, a zone rebuild) to the control loop, and how the result
 * comes back to the worker to resume its query (cdns_query_resume must run on the query's
 * own worker). Returns 0 or CDNS_ENOMEM (nothing queued). */
int cdns_control_post(void (*fn)(void *arg), void *arg);
int cdns_worker_post(cdns_worker_t *w, void (*fn)(void *arg), void *arg);

#endif
