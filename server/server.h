/* The runtime: settings, pipelines, workers. Private to server/. */
#ifndef CDNS_SERVER_H
#define CDNS_SERVER_H

#include <ev.h>
#include <pthread.h>
#include <stdio.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <clouddns/clouddns.h>

#include "config.h"
#include "runtime.h"

#define CDNS_MAX_WORKERS 256
#define CDNS_MAX_LISTEN 32
#define CDNS_UDP_BUF 4096         /* largest UDP message we read or write */
#define CDNS_TCP_MSG_MAX 65535
#define CDNS_UDP_BATCH 32         /* datagrams per recvmmsg/sendmmsg */
#define CDNS_ARENA_SIZE 4096      /* per-query scratch memory */
#define CDNS_TCP_MAX_INFLIGHT 128 /* queries in progress per TCP connection */
#define CDNS_TCP_MAX_QUEUED (256 * 1024) /* response bytes waiting per connection */

/* The "server:" section. */
typedef struct cdns__settings {
	const cdns_conf_t *listen;
	const char *workers_text;
	unsigned workers;
	const char *identity;
	int64_t max_udp_size;
	int log_level;
	int log_target; /* 0 stderr, 1 syslog */
	int64_t tcp_idle_timeout_ms;
	int64_t tcp_max_clients;
	int64_t tcp_max_per_client;
	int64_t shutdown_timeout_ms;
	const cdns_conf_t *plugin_path;
	const char *user;
	const char *pid_file;
	int udp_steering; /* CDNS__STEER_* */
	const cdns_conf_t *cpu_affinity; /* "none", "auto" or a list of CPU numbers */
	unsigned n_cpus;                 /* 0: no pinning */
	uint16_t cpus[CDNS_MAX_WORKERS]; /* worker i runs on cpus[i % n_cpus] */
	unsigned n_listen;
	cdns_sockaddr_t listen_addr[CDNS_MAX_LISTEN];
	socklen_t listen_len[CDNS_MAX_LISTEN];
} cdns__settings_t;

/* One plugin in a pipeline. */
typedef struct cdns__instance {
	const cdns_plugin_t *desc;
	void *handle; /* dlopen handle */
	void *state;
	bool setup_done, activated;
	char path[512];
} cdns__instance_t;

/* Per-worker count of queries in progress with a pipeline, on its own cache line. */
typedef struct cdns__inflight {
	_Alignas(64) int n;
	bool inited;  /* thread_init ran on that worker */
	bool released;
} cdns__inflight_t;

/* A configuration: settings plus the plugin pipeline, immutable once published. */
typedef struct cdns__pipeline {
	cdns__config_t *config;
	cdns__settings_t settings;
	unsigned n;
	cdns__instance_t inst[CDNS_PIPELINE_MAX];
	unsigned generation;
	atomic_uint workers_released;
	cdns__inflight_t *inflight; /* [workers] */
	unsigned n_workers;
} cdns__pipeline_t;

/* Counters of one worker; each worker writes only its own. */
typedef struct cdns__stats {
	_Alignas(64) uint64_t queries_udp, queries_tcp;
	uint64_t responses, rcode[24];
	uint64_t dropped, malformed, truncated;
	uint64_t tcp_accepted, tcp_refused, tcp_closed_idle;
	uint64_t plugin_failures;
} cdns__stats_t;

struct cdns__qctx;
struct cdns__tcp_conn;

/* A queue of calls into one loop (mailbox.c). */
typedef struct cdns__mailbox {
	pthread_mutex_t lock;
	struct cdns__msg *head, **tail;
	ev_async async;
	struct ev_loop *loop;
} cdns__mailbox_t;
void cdns__mailbox_init(cdns__mailbox_t *mb);
void cdns__mailbox_start(cdns__mailbox_t *mb, struct ev_loop *loop);
int cdns__mailbox_post(cdns__mailbox_t *mb, void (*fn)(void *arg), void *arg);
void cdns__mailbox_drain(cdns__mailbox_t *mb);

typedef struct cdns__listener {
	int fd;
	ev_io io;
	struct cdns__worker *w;
	unsigned addr_index;
	cdns_sockaddr_t addr;
	bool wildcard; /* bound to 0.0.0.0 or ::: replies need the destination as source */
} cdns__listener_t;

typedef struct cdns__worker {
	struct cdns_worker base; /* first: plugins see this part */
	pthread_t thread;
	cdns__pipeline_t *pipe;     /* the pipeline new queries use */
	unsigned n_udp, n_tcp;
	cdns__listener_t udp[CDNS_MAX_LISTEN];
	cdns__listener_t tcp[CDNS_MAX_LISTEN];
	ev_async wakeup;            /* new pipeline or shutdown */
	cdns__mailbox_t mailbox;    /* cdns_worker_post() */
	ev_prepare rcu_off;         /* about to sleep: quiescent */
	ev_check rcu_on;            /* awake: reading shared data again */
	cdns__rcu_reader_t *rcu;
	bool stopping;
	/* Query contexts: a free list; each owns its buffers. */
	struct cdns__qctx *free_ctx;
	unsigned n_ctx, n_ctx_busy;
	/* UDP batch state. */
	struct mmsghdr rx_msgs[CDNS_UDP_BATCH];
	struct iovec rx_iov[CDNS_UDP_BATCH];
	struct cdns__qctx *rx_ctx[CDNS_UDP_BATCH];
	struct mmsghdr tx_msgs[CDNS_UDP_BATCH];
	struct iovec tx_iov[CDNS_UDP_BATCH];
	struct cdns__qctx *tx_ctx[CDNS_UDP_BATCH];
	unsigned n_tx;
	/* TCP connections of this worker. */
	struct cdns__tcp_conn *conns;
	unsigned n_conns;
	/* Pipelines retired while this worker still had queries on them. */
	cdns__pipeline_t *retired[8];
	unsigned n_retired;
	cdns__stats_t stats;
} cdns__worker_t;

/* A query in progress and its buffers. */
typedef struct cdns__qctx {
	cdns_query_t q;
	cdns__worker_t *w;
	cdns__pipeline_t *pipe;
	unsigned ran;         /* plugins whose query hook ran */
	bool async;
	struct cdns__tcp_conn *conn; /* TCP: the connection, NULL for UDP */
	cdns__listener_t *udp;       /* UDP: the socket it came in on */
	socklen_t client_len;
	struct cdns__qctx *next;    /* free list / TCP queue link */
	uint16_t rx_cap, tx_cap;
	uint8_t *rx;                 /* request bytes */
	uint8_t *tx;                 /* 2 bytes of TCP length, then the response */
	uint8_t arena[CDNS_ARENA_SIZE];
	/* TCP only: out-of-band bytes written so far of tx. */
	size_t tx_sent;
} cdns__qctx_t;

/* The whole server. */
typedef struct cdns__server {
	const char *config_path;
	bool check_only;
	const char *plugin_dirs[16];
	unsigned n_plugin_dirs;
	struct ev_loop *control;
	ev_signal sig_hup, sig_term, sig_int;
	ev_async released; /* a worker released a retired pipeline */
	ev_async rcu_kick; /* something was deferred */
	cdns__mailbox_t mailbox; /* cdns_control_post() */
	ev_timer rcu_timer; /* polls deferred callbacks while some wait */
	ev_timer shutdown_timer;
	unsigned n_workers;
	cdns__worker_t *workers[CDNS_MAX_WORKERS];
	_Atomic(cdns__pipeline_t *) current;
	cdns__pipeline_t *retiring[16];
	unsigned n_retiring;
	unsigned generation;
	atomic_bool stopping;  /* stop accepting, finish what is in flight */
	atomic_bool force_exit; /* shutdown_timeout passed */
	/* TCP connection accounting across workers (taken at accept/close only). */
	pthread_mutex_t tcp_lock;
	unsigned tcp_total;
} cdns__server_t;

extern cdns__server_t cdns__srv;

/* steer.c: which worker's UDP socket receives a datagram. */
enum { CDNS__STEER_ADAPTIVE, CDNS__STEER_RANDOM, CDNS__STEER_HASH };
int cdns__steer_start(cdns__server_t *s, int mode);

/* loader.c: build a pipeline from a configuration file. Errors go to d. */
int cdns__pipeline_build(const char *path, bool check_only, cdns_diag_t *d,
			 cdns__pipeline_t **out);
int cdns__pipeline_activate(cdns__pipeline_t *p);
void cdns__pipeline_free(cdns__pipeline_t *p);
/* List the plugins found on the plugin path (for -V). */
void cdns__plugins_list(FILE *out);

/* pipeline.c: the executor. */
/* Returns CDNS__RUN_SEND (response in c->tx), CDNS__RUN_DROP or CDNS__RUN_PENDING. */
enum { CDNS__RUN_SEND, CDNS__RUN_DROP, CDNS__RUN_PENDING };
int cdns__query_process(cdns__qctx_t *c, size_t len);
/* The next message of a streamed answer (cdns_query_stream) into c's buffer: RUN_SEND with
 * *last telling whether it is the final one, or RUN_DROP to abort. */
int cdns__stream_next(cdns__qctx_t *c, bool *last);
void cdns__worker_use_pipeline(cdns__worker_t *w);
void cdns__ctx_done(cdns__qctx_t *c);
extern const struct cdns_worker_ops cdns__worker_ops;

/* worker.c */
int cdns__workers_start(cdns__server_t *s, cdns__pipeline_t *p);
void cdns__workers_wakeup(cdns__server_t *s);
void cdns__workers_join(cdns__server_t *s);
cdns__qctx_t *cdns__ctx_get(cdns__worker_t *w, bool tcp);
void cdns__ctx_put(cdns__qctx_t *c);
void cdns__udp_send_one(cdns__qctx_t *c);
int cdns__open_listeners(cdns__server_t *s, cdns__pipeline_t *p);
unsigned cdns__busy_queries(cdns__server_t *s);

/* tcp.c */
void cdns__tcp_accept_cb(struct ev_loop *loop, ev_io *io, int revents);
void cdns__tcp_respond(cdns__qctx_t *c);
void cdns__tcp_close_all(cdns__worker_t *w);

/* stats.c */
void cdns__stats_sum(const cdns__server_t *s, cdns__stats_t *out);
void cdns__stats_log(const cdns__server_t *s);

/* main.c */
void cdns__worker_exited(void);
int cdns__parse_listen(const char *text, cdns_sockaddr_t *addr, socklen_t *len);

#endif
