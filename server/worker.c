/* Worker threads: each owns a libev loop, one UDP and one TCP socket per listen address
 * (SO_REUSEPORT lets the kernel spread load), a pool of query contexts, and reads and writes
 * UDP in batches with recvmmsg/sendmmsg. */
#include <errno.h>
#include <fcntl.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "server.h"

/* Contexts a worker keeps at most (each UDP one holds ~8 KiB, each TCP one ~130 KiB). */
#define CTX_MAX_UDP 4096
#define CTX_MAX_TCP 4096

static cdns__qctx_t *ctx_new(cdns__worker_t *w, bool tcp)
{
	size_t rx = tcp ? CDNS_TCP_MSG_MAX : CDNS_UDP_BUF;
	size_t tx = tcp ? CDNS_TCP_MSG_MAX : CDNS_UDP_BUF;
	cdns__qctx_t *c = calloc(1, sizeof(*c) + rx + 2 + tx);
	if (c == NULL)
		return NULL;
	c->w = w;
	c->rx = (uint8_t *)(c + 1);
	c->rx_cap = (uint16_t)rx;
	c->tx = c->rx + rx;
	c->tx_cap = (uint16_t)tx;
	return c;
}

/* Two free lists: UDP-sized and TCP-sized contexts. */
static __thread cdns__qctx_t *free_tcp;
static __thread unsigned n_tcp_ctx;

cdns__qctx_t *cdns__ctx_get(cdns__worker_t *w, bool tcp)
{
	cdns__qctx_t *c;
	if (tcp) {
		c = free_tcp;
		if (c != NULL) {
			free_tcp = c->next;
		} else {
			if (n_tcp_ctx >= CTX_MAX_TCP)
				return NULL;
			c = ctx_new(w, true);
			if (c == NULL)
				return NULL;
			n_tcp_ctx++;
		}
	} else {
		c = w->free_ctx;
		if (c != NULL) {
			w->free_ctx = c->next;
		} else {
			if (w->n_ctx >= CTX_MAX_UDP)
				return NULL;
			c = ctx_new(w, false);
			if (c == NULL)
				return NULL;
			w->n_ctx++;
		}
	}
	c->next = NULL;
	c->conn = NULL;
	c->udp = NULL;
	c->tx_sent = 0;
	w->n_ctx_busy++;
	return c;
}

void cdns__ctx_put(cdns__qctx_t *c)
{
	cdns__worker_t *w = c->w;
	w->n_ctx_busy--;
	if (c->rx_cap == CDNS_TCP_MSG_MAX) {
		c->next = free_tcp;
		free_tcp = c;
	} else {
		c->next = w->free_ctx;
		w->free_ctx = c;
	}
}

static void ctx_free_all(cdns__worker_t *w)
{
	while (w->free_ctx != NULL) {
		cdns__qctx_t *c = w->free_ctx;
		w->free_ctx = c->next;
		free(c);
	}
	while (free_tcp != NULL) {
		cdns__qctx_t *c = free_tcp;
		free_tcp = c->next;
		free(c);
	}
}

unsigned cdns__busy_queries(cdns__server_t *s)
{
	unsigned n = 0;
	for (unsigned i = 0; i < s->n_workers; i++)
		n += s->workers[i]->n_ctx_busy;
	return n;
}

/* --- Sockets. --- */

static bool is_wildcard(const cdns_sockaddr_t *a)
{
	if (a->sa.sa_family == AF_INET)
		return a->sin.sin_addr.s_addr == htonl(INADDR_ANY);
	return IN6_IS_ADDR_UNSPECIFIED(&a->sin6.sin6_addr);
}

static int open_socket(const cdns_sockaddr_t *addr, socklen_t len, int type)
{
	int fd = socket(addr->sa.sa_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	int on = 1;
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on)) != 0)
		goto fail;
	if (addr->sa.sa_family == AF_INET6)
		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
	if (type == SOCK_DGRAM) {
		int buf = 4 << 20;
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
		(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
		if (is_wildcard(addr)) {
			/* Answer from the address the query was sent to. */
			if (addr->sa.sa_family == AF_INET)
				(void)setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &on, sizeof(on));
			else
				(void)setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &on, sizeof(on));
		}
		if (addr->sa.sa_family == AF_INET) {
			/* Let the kernel fragment large answers instead of dropping them
			 * (path MTU discovery on DNS/UDP invites spoofed ICMP). */
			int pmtu = IP_PMTUDISC_OMIT;
			(void)setsockopt(fd, IPPROTO_IP, IP_MTU_DISCOVER, &pmtu, sizeof(pmtu));
		}
	} else {
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
	}
	if (bind(fd, &addr->sa, len) != 0)
		goto fail;
	if (type == SOCK_STREAM && listen(fd, 1024) != 0)
		goto fail;
	return fd;
fail:;
	int e = errno;
	close(fd);
	return -e;
}

static char *addr_text(const cdns_sockaddr_t *a, char *buf, size_t len)
{
	char host[INET6_ADDRSTRLEN];
	if (a->sa.sa_family == AF_INET) {
		inet_ntop(AF_INET, &a->sin.sin_addr, host, sizeof(host));
		snprintf(buf, len, "%s:%u", host, ntohs(a->sin.sin_port));
	} else {
		inet_ntop(AF_INET6, &a->sin6.sin6_addr, host, sizeof(host));
		snprintf(buf, len, "[%s]:%u", host, ntohs(a->sin6.sin6_port));
	}
	return buf;
}

/* --- UDP. --- */

#define CMSG_SPACE_PKTINFO \
	(CMSG_SPACE(sizeof(struct in6_pktinfo)) > CMSG_SPACE(sizeof(struct in_pktinfo)) ? \
		 CMSG_SPACE(sizeof(struct in6_pktinfo)) : CMSG_SPACE(sizeof(struct in_pktinfo)))

static __thread uint8_t rx_cmsg[CDNS_UDP_BATCH][CMSG_SPACE_PKTINFO];
static __thread uint8_t tx_cmsg[CDNS_UDP_BATCH][CMSG_SPACE_PKTINFO];

/* Remember the destination address of a datagram (wildcard sockets) in q->local. */
static void read_pktinfo(cdns__qctx_t *c, struct msghdr *mh)
{
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(mh); cm != NULL; cm = CMSG_NXTHDR(mh, cm)) {
		if (cm->cmsg_level == IPPROTO_IP && cm->cmsg_type == IP_PKTINFO) {
			struct in_pktinfo pi;
			memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
			c->q.local.sin.sin_addr = pi.ipi_addr;
		} else if (cm->cmsg_level == IPPROTO_IPV6 && cm->cmsg_type == IPV6_PKTINFO) {
			struct in6_pktinfo pi;
			memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
			c->q.local.sin6.sin6_addr = pi.ipi6_addr;
		}
	}
}

/* Source address control message for a reply from a wildcard socket. */
static size_t write_pktinfo(const cdns__qctx_t *c, uint8_t *buf)
{
	struct msghdr mh = { .msg_control = buf, .msg_controllen = CMSG_SPACE_PKTINFO };
	memset(buf, 0, CMSG_SPACE_PKTINFO);
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
	if (c->q.local.sa.sa_family == AF_INET) {
		struct in_pktinfo pi = { .ipi_spec_dst = c->q.local.sin.sin_addr };
		cm->cmsg_level = IPPROTO_IP;
		cm->cmsg_type = IP_PKTINFO;
		cm->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(cm), &pi, sizeof(pi));
		return CMSG_SPACE(sizeof(pi));
	}
	struct in6_pktinfo pi = { .ipi6_addr = c->q.local.sin6.sin6_addr };
	cm->cmsg_level = IPPROTO_IPV6;
	cm->cmsg_type = IPV6_PKTINFO;
	cm->cmsg_len = CMSG_LEN(sizeof(pi));
	memcpy(CMSG_DATA(cm), &pi, sizeof(pi));
	return CMSG_SPACE(sizeof(pi));
}

static void fill_tx(struct mmsghdr *m, struct iovec *iov, uint8_t *cmsg, cdns__qctx_t *c)
{
	iov->iov_base = c->q.resp.wire;
	iov->iov_len = c->q.resp.len;
	memset(&m->msg_hdr, 0, sizeof(m->msg_hdr));
	m->msg_hdr.msg_name = &c->q.client;
	m->msg_hdr.msg_namelen = c->client_len;
	m->msg_hdr.msg_iov = iov;
	m->msg_hdr.msg_iovlen = 1;
	if (c->udp != NULL && c->udp->wildcard) {
		m->msg_hdr.msg_control = cmsg;
		m->msg_hdr.msg_controllen = write_pktinfo(c, cmsg);
	}
}

static void udp_flush(cdns__worker_t *w, int fd)
{
	unsigned done = 0;
	while (done < w->n_tx) {
		int n = sendmmsg(fd, w->tx_msgs + done, w->n_tx - done, MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			/* Socket buffer full or the peer unreachable: skip this one. */
			w->stats.dropped++;
			n = 1;
		}
		done += (unsigned)n;
	}
	for (unsigned i = 0; i < w->n_tx; i++)
		cdns__ctx_done(w->tx_ctx[i]);
	w->n_tx = 0;
}

void cdns__udp_send_one(cdns__qctx_t *c)
{
	struct mmsghdr m;
	struct iovec iov;
	uint8_t cmsg[CMSG_SPACE_PKTINFO];
	fill_tx(&m, &iov, cmsg, c);
	if (sendmsg(c->udp->fd, &m.msg_hdr, MSG_DONTWAIT) < 0)
		c->w->stats.dropped++;
	cdns__ctx_done(c);
}

static void udp_read_cb(struct ev_loop *loop, ev_io *io, int revents)
{
	cdns__listener_t *l = io->data;
	cdns__worker_t *w = l->w;
	cdns__worker_use_pipeline(w);
	bool wildcard = l->wildcard;

	/* A few batches per wakeup, then let other sockets have their turn. */
	for (int round = 0; round < 4; round++) {
		unsigned n = 0;
		for (; n < CDNS_UDP_BATCH; n++) {
			cdns__qctx_t *c = cdns__ctx_get(w, false);
			if (c == NULL)
				break;
			w->rx_ctx[n] = c;
			w->rx_iov[n].iov_base = c->rx;
			w->rx_iov[n].iov_len = c->rx_cap;
			struct msghdr *mh = &w->rx_msgs[n].msg_hdr;
			mh->msg_name = &c->q.client;
			mh->msg_namelen = sizeof(c->q.client);
			mh->msg_iov = &w->rx_iov[n];
			mh->msg_iovlen = 1;
			mh->msg_control = wildcard ? rx_cmsg[n] : NULL;
			mh->msg_controllen = wildcard ? sizeof(rx_cmsg[n]) : 0;
			mh->msg_flags = 0;
		}
		if (n == 0)
			return;
		int got = recvmmsg(l->fd, w->rx_msgs, n, MSG_DONTWAIT, NULL);
		if (got < 0)
			got = 0;
		for (unsigned i = (unsigned)got; i < n; i++)
			cdns__ctx_put(w->rx_ctx[i]);
		for (int i = 0; i < got; i++) {
			cdns__qctx_t *c = w->rx_ctx[i];
			struct msghdr *mh = &w->rx_msgs[i].msg_hdr;
			c->udp = l;
			c->client_len = mh->msg_namelen;
			c->q.transport = CDNS_TRANSPORT_UDP;
			c->q.local = l->addr;
			if (wildcard)
				read_pktinfo(c, mh);
			w->stats.queries_udp++;
			if (mh->msg_flags & MSG_TRUNC) {
				w->stats.malformed++;
				cdns__ctx_done(c);
				continue;
			}
			int r = cdns__query_process(c, w->rx_msgs[i].msg_len);
			if (r == CDNS__RUN_SEND) {
				fill_tx(&w->tx_msgs[w->n_tx], &w->tx_iov[w->n_tx], tx_cmsg[w->n_tx], c);
				w->tx_ctx[w->n_tx++] = c;
			} else if (r == CDNS__RUN_DROP) {
				cdns__ctx_done(c);
			}
		}
		if (w->n_tx > 0)
			udp_flush(w, l->fd);
		if ((unsigned)got < n)
			return;
	}
}

/* --- The worker thread. --- */

static void stop_listeners(cdns__worker_t *w)
{
	for (unsigned i = 0; i < w->n_udp; i++) {
		ev_io_stop(w->base.loop, &w->udp[i].io);
		close(w->udp[i].fd);
	}
	for (unsigned i = 0; i < w->n_tcp; i++) {
		ev_io_stop(w->base.loop, &w->tcp[i].io);
		close(w->tcp[i].fd);
	}
	w->n_udp = w->n_tcp = 0;
}

static void drain_check_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	cdns__worker_t *w = t->data;
	if (w->n_ctx_busy == 0 && w->n_conns == 0)
		ev_break(loop, EVBREAK_ALL);
}

static __thread ev_timer drain_timer;

static void wakeup_cb(struct ev_loop *loop, ev_async *a, int revents)
{
	cdns__worker_t *w = a->data;
	cdns__worker_use_pipeline(w);
	if (atomic_load(&cdns__srv.stopping) && !w->stopping) {
		w->stopping = true;
		stop_listeners(w);
		cdns__tcp_close_all(w); /* idle connections now; busy ones after their answers */
		ev_timer_init(&drain_timer, drain_check_cb, 0., 0.02);
		drain_timer.data = w;
		ev_timer_again(loop, &drain_timer);
	}
	if (atomic_load(&cdns__srv.force_exit))
		ev_break(loop, EVBREAK_ALL);
}

static void rcu_off_cb(struct ev_loop *loop, ev_prepare *p, int revents)
{
	cdns__rcu_offline(((cdns__worker_t *)p->data)->rcu);
}

static void rcu_on_cb(struct ev_loop *loop, ev_check *c, int revents)
{
	cdns__rcu_online(((cdns__worker_t *)c->data)->rcu);
}

static void *worker_main(void *arg)
{
	cdns__worker_t *w = arg;
	/* Between the check after a wakeup and the prepare before the next sleep the worker may
	 * read shared data; while it sleeps it holds none. */
	cdns__rcu_online(w->rcu);
	ev_prepare_init(&w->rcu_off, rcu_off_cb);
	w->rcu_off.data = w;
	ev_prepare_start(w->base.loop, &w->rcu_off);
	ev_check_init(&w->rcu_on, rcu_on_cb);
	w->rcu_on.data = w;
	ev_check_start(w->base.loop, &w->rcu_on);
	cdns__worker_use_pipeline(w);
	for (unsigned i = 0; i < w->n_udp; i++)
		ev_io_start(w->base.loop, &w->udp[i].io);
	for (unsigned i = 0; i < w->n_tcp; i++)
		ev_io_start(w->base.loop, &w->tcp[i].io);
	ev_async_start(w->base.loop, &w->wakeup);
	cdns__mailbox_start(&w->mailbox, w->base.loop);
	ev_run(w->base.loop, 0);
	/* Leaving: thread_fini for the pipeline in use; the control thread tears it down. */
	if (w->pipe != NULL) {
		cdns__pipeline_t *p = w->pipe;
		w->pipe = NULL;
		for (unsigned i = p->n; i-- > 0;) {
			const cdns_plugin_t *d = p->inst[i].desc;
			if (d->thread_fini != NULL && p->inflight[w->base.index].inited)
				d->thread_fini(p->inst[i].state, &w->base);
		}
		p->inflight[w->base.index].inited = false;
	}
	ctx_free_all(w);
	cdns__rcu_offline(w->rcu);
	cdns__worker_exited();
	return NULL;
}

int cdns__open_listeners(cdns__server_t *s, cdns__pipeline_t *p)
{
	const cdns__settings_t *st = &p->settings;
	s->n_workers = st->workers;
	for (unsigned i = 0; i < s->n_workers; i++) {
		cdns__worker_t *w = aligned_alloc(64, (sizeof(*w) + 63) & ~(size_t)63);
		if (w == NULL)
			return CDNS_ENOMEM;
		memset(w, 0, sizeof(*w));
		s->workers[i] = w;
		w->base.index = i;
		w->base.ops = &cdns__worker_ops;
		w->base.loop = ev_loop_new(EVFLAG_AUTO | EVFLAG_NOSIGMASK);
		if (w->base.loop == NULL)
			return CDNS_ENOMEM;
		for (unsigned a = 0; a < st->n_listen; a++) {
			char text[80];
			addr_text(&st->listen_addr[a], text, sizeof(text));
			int fd = open_socket(&st->listen_addr[a], st->listen_len[a], SOCK_DGRAM);
			if (fd < 0) {
				cdns_err("cannot listen on %s (UDP): %s", text, strerror(-fd));
				return CDNS_EIO;
			}
			cdns__listener_t *l = &w->udp[w->n_udp++];
			l->fd = fd;
			l->w = w;
			l->addr_index = a;
			l->addr = st->listen_addr[a];
			l->wildcard = is_wildcard(&l->addr);
			ev_io_init(&l->io, udp_read_cb, fd, EV_READ);
			l->io.data = l;
			fd = open_socket(&st->listen_addr[a], st->listen_len[a], SOCK_STREAM);
			if (fd < 0) {
				cdns_err("cannot listen on %s (TCP): %s", text, strerror(-fd));
				return CDNS_EIO;
			}
			l = &w->tcp[w->n_tcp++];
			l->fd = fd;
			l->w = w;
			l->addr_index = a;
			l->addr = st->listen_addr[a];
			l->wildcard = is_wildcard(&l->addr);
			ev_io_init(&l->io, cdns__tcp_accept_cb, fd, EV_READ);
			l->io.data = l;
		}
		ev_async_init(&w->wakeup, wakeup_cb);
		w->wakeup.data = w;
		cdns__mailbox_init(&w->mailbox);
		w->mailbox.loop = w->base.loop;
		w->rcu = cdns__rcu_register();
		if (w->rcu == NULL)
			return CDNS_ENOMEM;
	}
	return 0;
}

static int worker_post(cdns_worker_t *w, void (*fn)(void *arg), void *arg)
{
	return cdns__mailbox_post(&((cdns__worker_t *)w)->mailbox, fn, arg);
}

int cdns__workers_start(cdns__server_t *s, cdns__pipeline_t *p)
{
	cdns__worker_post_fn = worker_post;
	/* Workers never take signals: the control loop handles them all. */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	int rc = 0;
	for (unsigned i = 0; i < s->n_workers; i++) {
		if (pthread_create(&s->workers[i]->thread, NULL, worker_main, s->workers[i]) != 0) {
			rc = CDNS_ENOMEM;
			s->n_workers = i;
			break;
		}
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	for (unsigned i = 0; i < s->n_workers; i++) {
		char name[16]; /* what top -H and /proc/PID/task/TID/comm show */
		snprintf(name, sizeof(name), "cdns-worker-%u", i % 1000); /* i < CDNS_MAX_WORKERS */
		(void)pthread_setname_np(s->workers[i]->thread, name);
	}
	/* cpu_affinity: each worker on its CPU (the control thread stays free to move). */
	const cdns__settings_t *st = &p->settings;
	for (unsigned i = 0; rc == 0 && st->n_cpus > 0 && i < s->n_workers; i++) {
		cpu_set_t set;
		CPU_ZERO(&set);
		unsigned cpu = st->cpus[i % st->n_cpus];
		CPU_SET(cpu, &set);
		int e = pthread_setaffinity_np(s->workers[i]->thread, sizeof(set), &set);
		if (e != 0)
			cdns_warn("cpu_affinity: cannot run worker %u on CPU %u: %s", i, cpu,
				  strerror(e));
	}
	return rc;
}

void cdns__workers_wakeup(cdns__server_t *s)
{
	for (unsigned i = 0; i < s->n_workers; i++)
		ev_async_send(s->workers[i]->base.loop, &s->workers[i]->wakeup);
}

void cdns__workers_join(cdns__server_t *s)
{
	for (unsigned i = 0; i < s->n_workers; i++) {
		pthread_join(s->workers[i]->thread, NULL);
		cdns__mailbox_drain(&s->workers[i]->mailbox);
		ev_loop_destroy(s->workers[i]->base.loop);
	}
}
