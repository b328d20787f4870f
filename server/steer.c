/* UDP steering: which worker's socket a datagram goes to. Every worker has its own UDP socket
 * per listen address in one SO_REUSEPORT group; a classic BPF program attached to the group
 * picks the socket. Modes (server option udp_steering):
 *   adaptive  at random among the first `active` workers, and `active` follows the load: few
 *             workers at low load (fewer sleeps and wake-ups per query), all of them when busy;
 *   random    at random among all workers (an even spread whatever the clients' addresses);
 *   hash      no program: the kernel's hash of addresses and ports.
 * The control loop measures and decides; workers do nothing extra. See doc/architecture.md,
 * "UDP steering". */
#include <errno.h>
#include <linux/filter.h>
#include <linux/sock_diag.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "server.h"
#include "steer_policy.h"

static struct {
	unsigned active;
	cdns__steer_state_t policy;
	clockid_t cpu_clock[CDNS_MAX_WORKERS];
	uint64_t last_cpu[CDNS_MAX_WORKERS];
	double busy[CDNS_MAX_WORKERS]; /* smoothed */
	uint64_t last_ns;
	ev_timer timer;
} steer;

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;
	if (clock_gettime(id, &ts) != 0)
		return 0;
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Datagrams to the first k sockets of each group, at random (k = 1: all to the first). */
static int attach(cdns__server_t *s, unsigned k)
{
	struct sock_filter first[] = {
		BPF_STMT(BPF_RET | BPF_K, 0),
	};
	struct sock_filter some[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, (uint32_t)(SKF_AD_OFF + SKF_AD_RANDOM)),
		BPF_STMT(BPF_ALU | BPF_MOD | BPF_K, k),
		BPF_STMT(BPF_RET | BPF_A, 0),
	};
	struct sock_fprog prog = { .len = 1, .filter = first };
	if (k > 1) {
		prog.len = 3;
		prog.filter = some;
	}
	/* The program belongs to the group; any member can attach it. Sockets joined the group
	 * in worker order (cdns__open_listeners), so index i is worker i's socket. */
	const cdns__worker_t *w = s->workers[0];
	for (unsigned a = 0; a < w->n_udp; a++) {
		if (setsockopt(w->udp[a].fd, SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, &prog,
			       sizeof(prog)) != 0)
			return -errno;
	}
	return 0;
}

/* A receiving worker's socket holds more than a quarter of its buffer: it is behind (busy,
 * or waiting for a CPU others use), whatever its CPU time says. */
static bool backlogged(const cdns__server_t *s, unsigned active)
{
	for (unsigned i = 0; i < active; i++) {
		const cdns__worker_t *w = s->workers[i];
		for (unsigned a = 0; a < w->n_udp; a++) {
			uint32_t mem[SK_MEMINFO_VARS];
			socklen_t len = sizeof(mem);
			if (getsockopt(w->udp[a].fd, SOL_SOCKET, SO_MEMINFO, mem, &len) == 0 &&
			    len >= sizeof(uint32_t) * (SK_MEMINFO_RCVBUF + 1) &&
			    mem[SK_MEMINFO_RMEM_ALLOC] > mem[SK_MEMINFO_RCVBUF] / 4)
				return true;
		}
	}
	return false;
}

static void evaluate(cdns__server_t *s)
{
	if (atomic_load(&s->stopping)) {
		/* Workers close their sockets now: stop touching them. */
		ev_timer_stop(s->control, &steer.timer);
		return;
	}
	uint64_t now = clock_ns(CLOCK_MONOTONIC);
	uint64_t dt = now - steer.last_ns;
	if (dt == 0)
		return;
	steer.last_ns = now;
	/* Busy: each worker thread's CPU time (not the time it was awake, which would count the
	 * time others ran on its CPU), smoothed over a few periods. */
	for (unsigned i = 0; i < s->n_workers; i++) {
		uint64_t b = clock_ns(steer.cpu_clock[i]);
		double f = b >= steer.last_cpu[i] ? (double)(b - steer.last_cpu[i]) / (double)dt : 0;
		steer.last_cpu[i] = b;
		steer.busy[i] += CDNS_STEER_SMOOTH * (f - steer.busy[i]);
	}
	bool behind = backlogged(s, steer.active);
	unsigned k = cdns__steer_decide(&steer.policy, steer.active, s->n_workers, steer.busy,
					behind);
	if (k == steer.active)
		return;
	int rc = attach(s, k);
	if (rc != 0) {
		/* Keep the previous program. */
		cdns_warn("udp_steering: cannot attach the steering program: %s", strerror(-rc));
		return;
	}
	double total = 0;
	for (unsigned i = 0; i < s->n_workers; i++)
		total += steer.busy[i];
	cdns_debug("udp_steering: %u of %u workers receive (busy %.2f in all%s)", k,
		   s->n_workers, total, behind ? ", a socket backlogged" : "");
	steer.active = k;
}

static void timer_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	evaluate(&cdns__srv);
}

/* After the listeners are open and the workers started. */
int cdns__steer_start(cdns__server_t *s, int mode)
{
	if (s->n_workers <= 1 || mode == CDNS__STEER_HASH)
		return 0;
	if (mode == CDNS__STEER_ADAPTIVE) {
		for (unsigned i = 0; i < s->n_workers; i++) {
			if (pthread_getcpuclockid(s->workers[i]->thread, &steer.cpu_clock[i]) != 0) {
				cdns_warn("udp_steering: cannot read the workers' CPU time: "
					  "spreading over all workers");
				mode = CDNS__STEER_RANDOM;
				break;
			}
			steer.last_cpu[i] = clock_ns(steer.cpu_clock[i]);
		}
	}
	steer.active = mode == CDNS__STEER_ADAPTIVE ? 1 : s->n_workers;
	int rc = attach(s, steer.active);
	if (rc != 0) {
		cdns_warn("udp_steering: cannot attach the steering program (%s): the kernel's "
			  "hash spreads datagrams",
			  strerror(-rc));
		return rc;
	}
	if (mode == CDNS__STEER_ADAPTIVE) {
		steer.last_ns = clock_ns(CLOCK_MONOTONIC);
		ev_timer_init(&steer.timer, timer_cb, CDNS_STEER_PERIOD, CDNS_STEER_PERIOD);
		ev_timer_start(s->control, &steer.timer);
	}
	return 0;
}
