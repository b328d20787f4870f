/* DNS over TCP (RFC 7766): two-byte length framing, pipelined queries answered in any order,
 * idle timeouts, and limits on connections (in total and per client address) and on what one
 * connection may hold (queries in progress, response bytes queued). */
#include <errno.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "server.h"

#define RBUF_INITIAL 4096
#define RBUF_MAX (2 + CDNS_TCP_MSG_MAX)

typedef struct cdns__tcp_conn {
	cdns__worker_t *w;
	int fd;
	ev_io rio, wio;
	ev_timer idle;
	ev_tstamp last_active;
	cdns_sockaddr_t client, local;
	socklen_t client_len;
	uint8_t *rbuf;
	size_t rlen, rcap;
	unsigned inflight;            /* queries read and not yet answered */
	cdns__qctx_t *wq_head, *wq_tail; /* answers waiting to be written */
	size_t wq_bytes;
	bool reading, eof, dead;
	bool in_read_more; /* conn_read_more() is on the stack */
	struct cdns__tcp_conn *prev, *next;
} cdns__tcp_conn_t;

/* --- Connections per client address, shared by all workers (accept and close only). --- */

#define CLIENT_BUCKETS 4096

typedef struct client_count {
	struct client_count *next;
	uint8_t addr[16];
	uint8_t family;
	unsigned n;
} client_count_t;

static client_count_t *client_table[CLIENT_BUCKETS];

static void addr_key(const cdns_sockaddr_t *a, uint8_t key[16], uint8_t *family)
{
	memset(key, 0, 16);
	*family = (uint8_t)a->sa.sa_family;
	if (a->sa.sa_family == AF_INET)
		memcpy(key, &a->sin.sin_addr, 4);
	else
		memcpy(key, &a->sin6.sin6_addr, 16);
}

static unsigned addr_bucket(const uint8_t key[16])
{
	uint32_t h = 2166136261u;
	for (int i = 0; i < 16; i++)
		h = (h ^ key[i]) * 16777619u;
	return h % CLIENT_BUCKETS;
}

/* Count a new connection; false if a limit says no. */
static bool client_acquire(const cdns__settings_t *st, const cdns_sockaddr_t *a)
{
	uint8_t key[16], fam;
	addr_key(a, key, &fam);
	unsigned b = addr_bucket(key);
	bool ok = false;
	pthread_mutex_lock(&cdns__srv.tcp_lock);
	if (cdns__srv.tcp_total >= (unsigned)st->tcp_max_clients)
		goto out;
	client_count_t *e = client_table[b];
	while (e != NULL && (e->family != fam || memcmp(e->addr, key, 16) != 0))
		e = e->next;
	if (e == NULL) {
		e = calloc(1, sizeof(*e));
		if (e == NULL)
			goto out;
		memcpy(e->addr, key, 16);
		e->family = fam;
		e->next = client_table[b];
		client_table[b] = e;
	}
	if (e->n >= (unsigned)st->tcp_max_per_client)
		goto out;
	e->n++;
	cdns__srv.tcp_total++;
	ok = true;
out:
	pthread_mutex_unlock(&cdns__srv.tcp_lock);
	return ok;
}

static void client_release(const cdns_sockaddr_t *a)
{
	uint8_t key[16], fam;
	addr_key(a, key, &fam);
	unsigned b = addr_bucket(key);
	pthread_mutex_lock(&cdns__srv.tcp_lock);
	client_count_t **pp = &client_table[b];
	while (*pp != NULL && ((*pp)->family != fam || memcmp((*pp)->addr, key, 16) != 0))
		pp = &(*pp)->next;
	if (*pp != NULL && --(*pp)->n == 0) {
		client_count_t *e = *pp;
		*pp = e->next;
		free(e);
	}
	cdns__srv.tcp_total--;
	pthread_mutex_unlock(&cdns__srv.tcp_lock);
}

/* --- Connection lifetime. --- */

static void conn_free(cdns__tcp_conn_t *conn)
{
	cdns__worker_t *w = conn->w;
	if (conn->prev != NULL)
		conn->prev->next = conn->next;
	else
		w->conns = conn->next;
	if (conn->next != NULL)
		conn->next->prev = conn->prev;
	w->n_conns--;
	free(conn->rbuf);
	free(conn);
}

/* Close the socket now; the memory goes when the last query in progress has come back. */
static void conn_close(cdns__tcp_conn_t *conn)
{
	cdns__worker_t *w = conn->w;
	if (!conn->dead) {
		conn->dead = true;
		ev_io_stop(w->base.loop, &conn->rio);
		ev_io_stop(w->base.loop, &conn->wio);
		ev_timer_stop(w->base.loop, &conn->idle);
		close(conn->fd);
		client_release(&conn->client);
		while (conn->wq_head != NULL) {
			cdns__qctx_t *c = conn->wq_head;
			conn->wq_head = c->next;
			cdns__ctx_done(c);
		}
		conn->wq_tail = NULL;
		conn->wq_bytes = 0;
	}
	if (conn->inflight == 0)
		conn_free(conn);
}

/* Close once everything read has been answered and written. */
static bool conn_finished(cdns__tcp_conn_t *conn)
{
	return conn->inflight == 0 && conn->wq_head == NULL;
}

static void conn_read_more(cdns__tcp_conn_t *conn);

static void start_reading(cdns__tcp_conn_t *conn)
{
	if (!conn->reading && !conn->eof && !conn->dead && !conn->w->stopping) {
		conn->reading = true;
		ev_io_start(conn->w->base.loop, &conn->rio);
	}
}

static void stop_reading(cdns__tcp_conn_t *conn)
{
	if (conn->reading) {
		conn->reading = false;
		ev_io_stop(conn->w->base.loop, &conn->rio);
	}
}

/* Write queued answers; returns false if the connection was closed. */
static bool conn_flush(cdns__tcp_conn_t *conn)
{
	while (conn->wq_head != NULL) {
		struct iovec iov[16];
		int n = 0;
		for (cdns__qctx_t *c = conn->wq_head; c != NULL && n < 16; c = c->next, n++) {
			iov[n].iov_base = c->tx + c->tx_sent;
			iov[n].iov_len = (size_t)c->q.resp.len + 2 - c->tx_sent;
		}
		ssize_t wr = writev(conn->fd, iov, n);
		if (wr < 0) {
			if (errno == EAGAIN || errno == EINTR)
				break;
			conn_close(conn);
			return false;
		}
		size_t left = (size_t)wr;
		while (left > 0 && conn->wq_head != NULL) {
			cdns__qctx_t *c = conn->wq_head;
			size_t rest = (size_t)c->q.resp.len + 2 - c->tx_sent;
			if (left < rest) {
				c->tx_sent += left;
				break;
			}
			left -= rest;
			conn->wq_bytes -= (size_t)c->q.resp.len + 2;
			conn->wq_head = c->next;
			if (conn->wq_head == NULL)
				conn->wq_tail = NULL;
			if (c->q.stream_cb != NULL && !conn->w->stopping) {
				/* A streamed answer: build its next message now that this one is out,
				 * and queue it behind what is waiting. */
				bool last;
				if (cdns__stream_next(c, &last) != CDNS__RUN_SEND) {
					cdns__ctx_done(c);
					conn_close(conn);
					return false;
				}
				cdns_put16(c->tx, c->q.resp.len);
				c->tx_sent = 0;
				c->next = NULL;
				if (conn->wq_tail != NULL)
					conn->wq_tail->next = c;
				else
					conn->wq_head = c;
				conn->wq_tail = c;
				conn->wq_bytes += (size_t)c->q.resp.len + 2;
				if (left == 0)
					break;
				continue;
			}
			cdns__ctx_done(c);
		}
		conn->last_active = ev_now(conn->w->base.loop);
	}
	if (conn->wq_head == NULL)
		ev_io_stop(conn->w->base.loop, &conn->wio);
	else
		ev_io_start(conn->w->base.loop, &conn->wio);
	return true;
}

/* After progress: close if done, or read more if there is room again. */
static void conn_progress(cdns__tcp_conn_t *conn)
{
	if (conn->dead) {
		if (conn->inflight == 0)
			conn_free(conn);
		return;
	}
	if (conn_finished(conn) && (conn->eof || conn->w->stopping)) {
		conn_close(conn);
		return;
	}
	if (conn->inflight < CDNS_TCP_MAX_INFLIGHT && conn->wq_bytes < CDNS_TCP_MAX_QUEUED &&
	    !conn->reading && !conn->eof) {
		start_reading(conn);
		/* Frames may already be buffered. */
		conn_read_more(conn);
	}
}

void cdns__tcp_respond(cdns__qctx_t *c)
{
	cdns__tcp_conn_t *conn = c->conn;
	conn->inflight--;
	if (!conn->dead && c->q.resp.len == 0) {
		/* Dropped (not a query, or a plugin said so): the client would wait for an answer
		 * that never comes, so finish what is in progress and close. */
		conn->eof = true;
		stop_reading(conn);
	}
	if (conn->dead || c->q.resp.len == 0) {
		cdns__ctx_done(c);
		conn_progress(conn);
		return;
	}
	cdns_put16(c->tx, c->q.resp.len);
	c->tx_sent = 0;
	c->next = NULL;
	if (conn->wq_tail != NULL)
		conn->wq_tail->next = c;
	else
		conn->wq_head = c;
	conn->wq_tail = c;
	conn->wq_bytes += (size_t)c->q.resp.len + 2;
	if (conn->wq_head == c) {
		/* Nothing was waiting: try to write at once. */
		if (!conn_flush(conn))
			return;
	}
	conn_progress(conn);
}

/* Handle every complete frame in the buffer, as far as limits allow. */
static void conn_read_more(cdns__tcp_conn_t *conn)
{
	cdns__worker_t *w = conn->w;
	size_t off = 0;
	if (conn->in_read_more)
		return;
	/* Hold the connection while answers are written from inside the loop: a write error
	 * closes it, and its memory must stay until we are out. */
	conn->in_read_more = true;
	conn->inflight++;
	while (!conn->dead && conn->rlen - off >= 2) {
		size_t flen = cdns_get16(conn->rbuf + off);
		if (flen == 0) {
			/* A zero-length message is no DNS message: the stream can't be trusted. */
			w->stats.malformed++;
			conn_close(conn);
			break;
		}
		if (conn->rlen - off < 2 + flen) {
			if (conn->rcap < 2 + flen) {
				uint8_t *nb = realloc(conn->rbuf, RBUF_MAX);
				if (nb == NULL) {
					conn_close(conn);
					break;
				}
				conn->rbuf = nb;
				conn->rcap = RBUF_MAX;
			}
			break;
		}
		if (conn->inflight > CDNS_TCP_MAX_INFLIGHT || conn->wq_bytes >= CDNS_TCP_MAX_QUEUED) {
			stop_reading(conn);
			break;
		}
		cdns__qctx_t *c = cdns__ctx_get(w, true);
		if (c == NULL) {
			stop_reading(conn);
			break;
		}
		memcpy(c->rx, conn->rbuf + off + 2, flen);
		off += 2 + flen;
		c->conn = conn;
		c->q.transport = CDNS_TRANSPORT_TCP;
		c->q.client = conn->client;
		c->q.local = conn->local;
		c->client_len = conn->client_len;
		conn->inflight++;
		w->stats.queries_tcp++;
		int r = cdns__query_process(c, flen);
		if (r == CDNS__RUN_SEND) {
			cdns__tcp_respond(c);
		} else if (r == CDNS__RUN_DROP) {
			c->q.resp.len = 0;
			cdns__tcp_respond(c);
		}
	}
	conn->inflight--;
	conn->in_read_more = false;
	if (conn->dead) {
		if (conn->inflight == 0)
			conn_free(conn);
		return;
	}
	if (off > 0) {
		memmove(conn->rbuf, conn->rbuf + off, conn->rlen - off);
		conn->rlen -= off;
	}
}

static void conn_read_cb(struct ev_loop *loop, ev_io *io, int revents)
{
	cdns__tcp_conn_t *conn = io->data;
	cdns__worker_use_pipeline(conn->w);
	if (conn->rlen == conn->rcap) {
		stop_reading(conn); /* full of frames waiting for room: resumed by progress */
		return;
	}
	ssize_t n = recv(conn->fd, conn->rbuf + conn->rlen, conn->rcap - conn->rlen, 0);
	if (n < 0) {
		if (errno == EAGAIN || errno == EINTR)
			return;
		conn_close(conn);
		return;
	}
	if (n == 0) {
		/* The client is done sending; answer what it asked, then close. A partial
		 * frame left over is dropped. */
		conn->eof = true;
		stop_reading(conn);
		if (conn_finished(conn))
			conn_close(conn);
		return;
	}
	conn->rlen += (size_t)n;
	conn->last_active = ev_now(loop);
	conn_read_more(conn);
}

static void conn_write_cb(struct ev_loop *loop, ev_io *io, int revents)
{
	cdns__tcp_conn_t *conn = io->data;
	if (!conn_flush(conn))
		return;
	conn_progress(conn);
}

/* RFC 7766 §6.2.3: idle connections are closed by the server after a timeout. */
static void conn_idle_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	cdns__tcp_conn_t *conn = t->data;
	ev_tstamp timeout = (ev_tstamp)conn->w->pipe->settings.tcp_idle_timeout_ms / 1000.;
	ev_tstamp left = conn->last_active + timeout - ev_now(loop);
	if (left <= 0 && conn_finished(conn)) {
		conn->w->stats.tcp_closed_idle++;
		conn_close(conn);
		return;
	}
	t->repeat = left > 0.01 ? left : timeout;
	ev_timer_again(loop, t);
}

void cdns__tcp_accept_cb(struct ev_loop *loop, ev_io *io, int revents)
{
	cdns__listener_t *l = io->data;
	cdns__worker_t *w = l->w;
	cdns__worker_use_pipeline(w);
	const cdns__settings_t *st = &w->pipe->settings;
	for (int i = 0; i < 16; i++) {
		cdns_sockaddr_t client;
		socklen_t clen = sizeof(client);
		int fd = accept4(l->fd, &client.sa, &clen, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		if (!client_acquire(st, &client)) {
			w->stats.tcp_refused++;
			close(fd);
			continue;
		}
		cdns__tcp_conn_t *conn = calloc(1, sizeof(*conn));
		uint8_t *rbuf = malloc(RBUF_INITIAL);
		if (conn == NULL || rbuf == NULL) {
			free(conn);
			free(rbuf);
			client_release(&client);
			close(fd);
			continue;
		}
		w->stats.tcp_accepted++;
		conn->w = w;
		conn->fd = fd;
		conn->client = client;
		conn->client_len = clen;
		conn->local = l->addr;
		if (l->wildcard) {
			socklen_t llen = sizeof(conn->local);
			(void)getsockname(fd, &conn->local.sa, &llen);
		}
		conn->rbuf = rbuf;
		conn->rcap = RBUF_INITIAL;
		conn->next = w->conns;
		if (w->conns != NULL)
			w->conns->prev = conn;
		w->conns = conn;
		w->n_conns++;
		ev_io_init(&conn->rio, conn_read_cb, fd, EV_READ);
		conn->rio.data = conn;
		ev_io_init(&conn->wio, conn_write_cb, fd, EV_WRITE);
		conn->wio.data = conn;
		conn->last_active = ev_now(loop);
		ev_init(&conn->idle, conn_idle_cb);
		conn->idle.repeat = (ev_tstamp)st->tcp_idle_timeout_ms / 1000.;
		conn->idle.data = conn;
		ev_timer_again(loop, &conn->idle);
		start_reading(conn);
	}
}

void cdns__tcp_close_all(cdns__worker_t *w)
{
	cdns__tcp_conn_t *next;
	for (cdns__tcp_conn_t *conn = w->conns; conn != NULL; conn = next) {
		next = conn->next;
		stop_reading(conn);
		if (!conn->dead && conn_finished(conn))
			conn_close(conn);
	}
}
