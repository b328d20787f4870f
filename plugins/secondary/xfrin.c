/* The transfer client: SOA queries, IXFR and AXFR from a primary, one exchange per socket,
 * driven by libev watchers on the control loop. Nothing here blocks: connect, send and
 * receive are non-blocking and every wait is bounded by a timer reset on progress.
 *
 * What is checked (a primary is trusted only as far as it must be):
 *   - every message: parses (cdns_msg_parse), has our random ID, QR set, opcode QUERY, the
 *     question (when present) is ours; over UDP, the socket is connected to the primary, so
 *     the kernel drops datagrams from other addresses and ports, and messages that do not
 *     match are ignored rather than believed;
 *   - AXFR (RFC 5936 §2.2): the first and last records are the zone's SOA with one serial,
 *     nothing follows the last one, and the zone builds (one SOA, apex NS, no CNAME beside
 *     other data...);
 *   - IXFR (RFC 1995 §4): after the first SOA (the primary's version) either the SOA alone (up
 *     to date), or any other record (AXFR-style: a whole zone), or our SOA and then difference
 *     sequences SOA(old) removals SOA(new) additions whose serials chain from ours to the
 *     primary's, ending with the primary's SOA.
 * Applying the result is the caller's business; a transfer that fails leaves nothing behind. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include <ev.h>

#include "xfrin.h"

/* Receive buffer: one whole TCP message with its length prefix. */
#define XFRIN_BUF (2 + 65535)
/* The longest SOA RDATA: two names and five 32-bit fields. */
#define SOA_RDATA_MAX (2 * CDNS_NAME_MAXLEN + 20)

enum parse_state {
	ST_FIRST,  /* waiting for the first SOA */
	ST_SECOND, /* IXFR: after the first SOA */
	ST_AXFR,   /* the zone's records, until the SOA again */
	ST_DEL,    /* IXFR: removals of a difference sequence */
	ST_ADD,    /* IXFR: additions of a difference sequence */
	ST_DONE,   /* the final SOA was read */
};

struct xfrin {
	struct ev_loop *loop;
	int kind;
	bool tcp, connected;
	int fd;
	ev_io io;
	ev_timer timer;
	double timeout;
	cdns_sockaddr_t peer;
	socklen_t peer_len;
	char peer_text[INET6_ADDRSTRLEN + 16];
	uint8_t apex[CDNS_NAME_MAXLEN];
	char zone_text[CDNS_NAME_MAXTEXT];
	bool have_ours;
	uint32_t our_serial;
	uint16_t id, qtype;
	unsigned udp_sends; /* the SOA query is sent up to 3 times, timeout/3 apart */
	uint64_t max_bytes;
	/* The query with its TCP length prefix (UDP sends from query + 2). */
	uint8_t query[2 + 1536];
	const cdns_tsig_key_t *key;
	cdns_tsig_ctx_t tsig;
	size_t query_len, sent;
	/* Bytes of the TCP stream not consumed yet. */
	uint8_t *buf;
	size_t len;
	/* The transfer being read. */
	int state;
	uint8_t soa1[SOA_RDATA_MAX];
	uint16_t soa1_len;
	uint32_t soa1_ttl;
	uint32_t new_serial;
	size_t first_msg_rrs;
	cdns_zone_builder_t *b;
	cdns_changeset_t *cur;
	size_t cs_cap;
	xfrin_result_t res;
	xfrin_done_cb cb;
	void *arg;
	uint8_t rd[CDNS_RDATA_MAXLEN];
};

void xfrin_addr_text(const cdns_sockaddr_t *a, char *out, size_t len)
{
	char host[INET6_ADDRSTRLEN];
	if (a->sa.sa_family == AF_INET6) {
		inet_ntop(AF_INET6, &a->sin6.sin6_addr, host, sizeof(host));
		snprintf(out, len, "[%s]@%u", host, ntohs(a->sin6.sin6_port));
	} else {
		inet_ntop(AF_INET, &a->sin.sin_addr, host, sizeof(host));
		snprintf(out, len, "%s@%u", host, ntohs(a->sin.sin_port));
	}
}

static void fail(xfrin_t *x, bool bad_data, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void fail(xfrin_t *x, bool bad_data, const char *fmt, ...)
{
	if (x->res.outcome != XFRIN_FAILED || x->res.err[0] != '\0')
		return; /* the first reason is the one that counts */
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(x->res.err, sizeof(x->res.err), fmt, ap);
	va_end(ap);
	x->res.bad_data = bad_data;
}

static void release(xfrin_t *x)
{
	if (x->fd >= 0) {
		ev_io_stop(x->loop, &x->io);
		close(x->fd);
		x->fd = -1;
	}
	ev_timer_stop(x->loop, &x->timer);
	if (x->b != NULL)
		cdns_zone_builder_free(x->b);
	cdns_changeset_free(x->cur);
	for (size_t i = 0; i < x->res.n_cs; i++)
		cdns_changeset_free(x->res.cs[i]);
	free(x->res.cs);
	if (x->res.zone != NULL)
		cdns_zone_unref(x->res.zone);
	free(x->buf);
	free(x);
}

void xfrin_cancel(xfrin_t *x)
{
	if (x != NULL)
		release(x);
}

/* The exchange is over, one way or the other: tell the owner, then free. */
static void finish(xfrin_t *x)
{
	if (x->fd >= 0) {
		ev_io_stop(x->loop, &x->io);
		close(x->fd);
		x->fd = -1;
	}
	ev_timer_stop(x->loop, &x->timer);
	if (x->res.outcome == XFRIN_FAILED && x->res.err[0] == '\0')
		snprintf(x->res.err, sizeof(x->res.err), "failed");
	x->cb(x, &x->res, x->arg);
	release(x);
}

/* --- Reading the records of a transfer. --- */

static int push_changeset(xfrin_t *x)
{
	if (x->res.n_cs == x->cs_cap) {
		size_t cap = x->cs_cap ? x->cs_cap * 2 : 8;
		cdns_changeset_t **n = realloc(x->res.cs, cap * sizeof(*n));
		if (n == NULL)
			return CDNS_ENOMEM;
		x->res.cs = n;
		x->cs_cap = cap;
	}
	x->res.cs[x->res.n_cs++] = x->cur;
	x->cur = NULL;
	return 0;
}

static int start_changeset(xfrin_t *x, uint32_t ttl, const uint8_t *rd, uint16_t len)
{
	x->cur = cdns_changeset_new(x->apex, CDNS_C_IN);
	if (x->cur == NULL)
		return CDNS_ENOMEM;
	return cdns_changeset_set_soa(x->cur, CDNS_CS_BEFORE, ttl, rd, len);
}

static int builder_start(xfrin_t *x)
{
	x->b = cdns_zone_builder_new(x->apex, CDNS_C_IN);
	if (x->b == NULL)
		return CDNS_ENOMEM;
	return cdns_zone_builder_add(x->b, x->apex, CDNS_T_SOA, CDNS_C_IN, x->soa1_ttl, x->soa1,
				     x->soa1_len, NULL, 0);
}

/* One record of the answer stream. Returns 0 to go on, or -1 after fail(). */
static int take_rr(xfrin_t *x, const cdns_msg_t *m, const cdns_rr_t *rr)
{
	char owner[CDNS_NAME_MAXTEXT];
	int len = cdns_rdata_unpack(m->wire, m->len, rr->type, rr->rdata_off, rr->rdlen, x->rd,
				    sizeof(x->rd));
	if (len < 0) {
		fail(x, true, "record %zu: bad RDATA: %s", x->res.n_rrs + 1, cdns_strerror(len));
		return -1;
	}
	uint16_t rdlen = (uint16_t)len;
	if (rr->rclass != CDNS_C_IN) {
		fail(x, true, "record %zu: class %u, not IN", x->res.n_rrs + 1, rr->rclass);
		return -1;
	}
	x->res.n_rrs++;
	bool is_soa = rr->type == CDNS_T_SOA && cdns_name_equal(rr->owner, x->apex);
	uint32_t serial = 0;
	if (is_soa && cdns_soa_serial(x->rd, rdlen, &serial) != 0) {
		fail(x, true, "malformed SOA");
		return -1;
	}
	int rc = 0;
	switch (x->state) {
	case ST_FIRST:
		if (!is_soa) {
			fail(x, true, "the first record is not the zone's SOA");
			return -1;
		}
		memcpy(x->soa1, x->rd, rdlen);
		x->soa1_len = rdlen;
		x->soa1_ttl = rr->ttl;
		x->new_serial = serial;
		x->res.serial = serial;
		if (x->kind == XFRIN_AXFR) {
			rc = builder_start(x);
			x->state = ST_AXFR;
		} else {
			x->state = ST_SECOND;
		}
		break;
	case ST_SECOND:
		if (is_soa) {
			/* RFC 1995 §4: an incremental answer starts with the primary's SOA, then
			 * the client's. */
			if (!x->have_ours || serial != x->our_serial) {
				fail(x, true, "IXFR: the second SOA has serial %u, ours is %u",
				     serial, x->our_serial);
				return -1;
			}
			rc = start_changeset(x, rr->ttl, x->rd, rdlen);
			x->state = ST_DEL;
			break;
		}
		/* Anything else: the whole zone, as for AXFR. */
		x->res.axfr_style = true;
		if ((rc = builder_start(x)) != 0)
			break;
		x->state = ST_AXFR;
		/* fall through */
	case ST_AXFR:
		if (is_soa) {
			/* RFC 5936 §2.2: the last record is the SOA again. The serial is what
			 * counts (name compression may have changed the case of its names). */
			if (serial != x->new_serial) {
				fail(x, true, "the last SOA has serial %u, the first %u", serial,
				     x->new_serial);
				return -1;
			}
			x->state = ST_DONE;
			break;
		}
		rc = cdns_zone_builder_add(x->b, rr->owner, rr->type, rr->rclass, rr->ttl, x->rd,
					   rdlen, NULL, 0);
		if (rc == CDNS_EINVAL) {
			cdns_name_to_text(rr->owner, owner, sizeof(owner));
			fail(x, true, "record %s type %u cannot be in a zone", owner, rr->type);
			return -1;
		}
		break;
	case ST_DEL:
		if (is_soa) {
			rc = cdns_changeset_set_soa(x->cur, CDNS_CS_AFTER, rr->ttl, x->rd, rdlen);
			x->state = ST_ADD;
			break;
		}
		rc = cdns_changeset_remove(x->cur, rr->owner, rr->type, rr->rclass, rr->ttl, x->rd,
					   rdlen);
		break;
	case ST_ADD:
		if (is_soa) {
			uint32_t after = cdns_changeset_serial(x->cur, CDNS_CS_AFTER);
			if (after == x->new_serial && serial == x->new_serial) {
				rc = push_changeset(x);
				x->state = ST_DONE;
			} else if (after != x->new_serial && serial == after) {
				/* The next difference sequence starts where this one ended. */
				if ((rc = push_changeset(x)) == 0)
					rc = start_changeset(x, rr->ttl, x->rd, rdlen);
				x->state = ST_DEL;
			} else {
				fail(x, true,
				     "IXFR: broken SOA chain: serial %u after a sequence ending "
				     "at %u (the primary is at %u)",
				     serial, after, x->new_serial);
				return -1;
			}
			break;
		}
		rc = cdns_changeset_add(x->cur, rr->owner, rr->type, rr->rclass, rr->ttl, x->rd,
					rdlen);
		break;
	case ST_DONE:
	default:
		fail(x, true, "records after the final SOA");
		return -1;
	}
	if (rc == CDNS_EINVAL) {
		cdns_name_to_text(rr->owner, owner, sizeof(owner));
		fail(x, true, "IXFR: record %s type %u cannot be in a changeset", owner, rr->type);
		return -1;
	}
	if (rc != 0) {
		fail(x, false, "%s", cdns_strerror(rc));
		return -1;
	}
	return 0;
}

static void build_msg_cb(void *ctx, int severity, const char *file, unsigned line, const char *text)
{
	xfrin_t *x = ctx;
	if (severity == CDNS_ZONE_ERROR)
		fail(x, true, "the zone does not build: %s", text);
	else
		cdns_warn("secondary: zone %s from %s: %s", x->zone_text, x->peer_text, text);
}

/* The final SOA was read: turn what was collected into the result. Returns 0 or -1. */
static int complete(xfrin_t *x)
{
	if (x->b != NULL) {
		cdns_zone_t *z = NULL;
		cdns_zone_builder_t *b = x->b;
		x->b = NULL;
		int rc = cdns_zone_builder_finish(b, build_msg_cb, x, &z);
		if (rc != 0) {
			fail(x, rc != CDNS_ENOMEM, "the zone does not build: %s",
			     cdns_strerror(rc));
			return -1;
		}
		x->res.zone = z;
		x->res.outcome = XFRIN_FULL;
		return 0;
	}
	x->res.outcome = XFRIN_INCR;
	return 0;
}

/* Header and question checks shared by UDP and TCP. Returns 1 if the message is an answer to
 * our query, 0 if it is not (ignored over UDP), -1 if it cannot be parsed. */
static int matches(xfrin_t *x, const cdns_msg_t *m)
{
	if (m->hdr.id != x->id || !(m->hdr.flags & CDNS_FLAG_QR) ||
	    CDNS_FLAGS_OPCODE(m->hdr.flags) != CDNS_OPCODE_QUERY)
		return 0;
	if (m->hdr.count[CDNS_SEC_QUESTION] > 1)
		return 0;
	if (m->hdr.count[CDNS_SEC_QUESTION] == 1) {
		uint8_t qname[CDNS_NAME_MAXLEN];
		uint16_t qtype, qclass;
		size_t pos = m->sec_off[CDNS_SEC_QUESTION];
		if (cdns_msg_question(m, &pos, qname, &qtype, &qclass) < 0)
			return -1;
		if (!cdns_name_equal(qname, x->apex) || qtype != x->qtype || qclass != CDNS_C_IN)
			return 0;
	} else if (!x->tcp || x->res.n_msgs == 0) {
		/* RFC 5936 §2.2.1: the first message carries the question. */
		return 0;
	}
	return 1;
}

static int switch_to_tcp(xfrin_t *x);

/* Handle one message. Returns 0 to go on reading, 1 when the exchange is over (result set). */
static int take_msg(xfrin_t *x, const uint8_t *wire, size_t len)
{
	cdns_msg_t m;
	int rc = cdns_msg_parse(&m, wire, len);
	if (rc != 0) {
		if (!x->tcp)
			return 0; /* not believed; the right answer may still come */
		fail(x, true, "malformed message: %s", cdns_strerror(rc));
		return 1;
	}
	int ok = matches(x, &m);
	if (ok <= 0) {
		if (!x->tcp)
			return 0;
		fail(x, true, "message %zu does not answer our query (ID, flags or question)",
		     x->res.n_msgs + 1);
		return 1;
	}
	uint16_t rcode = CDNS_FLAGS_RCODE(m.hdr.flags);
	if (x->key != NULL) {
		rc = cdns_tsig_verify_response(&x->tsig, wire, len, (uint64_t)time(NULL));
		if (rc != 0) {
			if (!x->tcp)
				return 0; /* not believed; the right answer may still come */
			if (rcode != CDNS_RCODE_NOERROR && x->res.n_msgs == 0) {
				/* BADKEY/BADSIG answers come unsigned (RFC 8945 §5.3.2). */
				x->res.outcome = XFRIN_REFUSED;
				x->res.rcode = rcode;
				snprintf(x->res.err, sizeof(x->res.err),
					 "answered with rcode %u (TSIG not accepted)", rcode);
				return 1;
			}
			fail(x, true, "TSIG: message %zu does not verify (%s)", x->res.n_msgs + 1,
			     rc == CDNS_ENOENT	 ? "unsigned"
			     : rc == CDNS_ERANGE ? "time outside the fudge"
						 : "wrong key or MAC");
			return 1;
		}
	}
	x->res.bytes += len;
	if (rcode != CDNS_RCODE_NOERROR) {
		if (x->res.n_msgs == 0) {
			x->res.outcome = XFRIN_REFUSED;
			x->res.rcode = rcode;
			snprintf(x->res.err, sizeof(x->res.err), "answered with rcode %u", rcode);
		} else {
			fail(x, true, "rcode %u in message %zu", rcode, x->res.n_msgs + 1);
		}
		return 1;
	}
	if (m.hdr.flags & CDNS_FLAG_TC) {
		if (!x->tcp && x->kind == XFRIN_SOA) {
			/* RFC 1035 §4.2.1 / RFC 7766: truncated over UDP, ask again over TCP. */
			if (switch_to_tcp(x) != 0) {
				fail(x, false, "TCP retry after TC: %s", strerror(errno));
				return 1;
			}
			return 0;
		}
		fail(x, true, "truncated message over TCP");
		return 1;
	}
	x->res.n_msgs++;
	size_t pos = m.sec_off[CDNS_SEC_ANSWER];
	uint16_t an = m.hdr.count[CDNS_SEC_ANSWER];
	if (x->kind == XFRIN_SOA) {
		if (!(m.hdr.flags & CDNS_FLAG_AA)) {
			fail(x, true, "the SOA answer is not authoritative (AA not set)");
			return 1;
		}
		for (uint16_t i = 0; i < an; i++) {
			cdns_rr_t rr;
			if (cdns_msg_rr(&m, &pos, &rr) != 0)
				break;
			if (rr.type != CDNS_T_SOA || rr.rclass != CDNS_C_IN ||
			    !cdns_name_equal(rr.owner, x->apex))
				continue;
			uint8_t soa[SOA_RDATA_MAX];
			int l = cdns_rdata_unpack(m.wire, m.len, CDNS_T_SOA, rr.rdata_off, rr.rdlen,
						  soa, sizeof(soa));
			if (l > 0 && cdns_soa_serial(soa, (uint16_t)l, &x->res.serial) == 0) {
				x->res.outcome = XFRIN_SERIAL;
				return 1;
			}
		}
		fail(x, true, "no SOA for the zone in the answer");
		return 1;
	}
	if (an == 0 && x->state == ST_FIRST) {
		fail(x, true, "empty answer");
		return 1;
	}
	for (uint16_t i = 0; i < an; i++) {
		cdns_rr_t rr;
		if ((rc = cdns_msg_rr(&m, &pos, &rr)) != 0) {
			fail(x, true, "malformed record: %s", cdns_strerror(rc));
			return 1;
		}
		if (take_rr(x, &m, &rr) != 0)
			return 1;
	}
	if (x->state == ST_DONE) {
		complete(x);
		return 1;
	}
	if (x->state == ST_SECOND && x->res.n_msgs == 1 && an == 1) {
		/* RFC 1995 §2, §4: an answer holding only the SOA: nothing newer to send (or, if
		 * the serial is newer, no incremental history: the caller falls back to AXFR). */
		x->res.outcome = XFRIN_UPTODATE;
		return 1;
	}
	return 0;
}

/* --- Sockets. --- */

static void timeout_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	xfrin_t *x = t->data;
	if (!x->tcp && x->udp_sends < 3) {
		/* A datagram may be lost: ask again (same ID, same socket). */
		if (send(x->fd, x->query + 2, x->query_len - 2, MSG_DONTWAIT) >= 0)
			x->udp_sends++;
		else
			x->udp_sends = 3;
		ev_timer_again(loop, t);
		return;
	}
	fail(x, false, "%s: no answer within %.1f s", x->tcp ? "TCP" : "UDP", x->timeout);
	finish(x);
}

static void progress(xfrin_t *x)
{
	ev_timer_again(x->loop, &x->timer);
}

static void udp_cb(struct ev_loop *loop, ev_io *io, int revents)
{
	xfrin_t *x = io->data;
	uint8_t buf[4096];
	for (int i = 0; i < 16; i++) {
		ssize_t n = recv(x->fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
				return;
			fail(x, false, "UDP: %s", strerror(errno));
			finish(x);
			return;
		}
		if (n < CDNS_HDR_LEN)
			continue;
		if (take_msg(x, buf, (size_t)n)) {
			finish(x);
			return;
		}
		if (x->tcp)
			return; /* switched to TCP after TC */
	}
}

/* Consume whole messages from the stream buffer. Returns 1 when the exchange is over. */
static int tcp_consume(xfrin_t *x)
{
	size_t off = 0;
	int over = 0;
	while (x->len - off >= 2) {
		size_t mlen = cdns_get16(x->buf + off);
		if (x->len - off < 2 + mlen)
			break;
		if (mlen < CDNS_HDR_LEN) {
			fail(x, true, "a message of %zu bytes", mlen);
			over = 1;
			break;
		}
		if (take_msg(x, x->buf + off + 2, mlen)) {
			over = 1;
			break;
		}
		off += 2 + mlen;
	}
	if (!over && off > 0) {
		memmove(x->buf, x->buf + off, x->len - off);
		x->len -= off;
	}
	return over;
}

static void tcp_cb(struct ev_loop *loop, ev_io *io, int revents)
{
	xfrin_t *x = io->data;
	if (!x->connected) {
		int err = 0;
		socklen_t elen = sizeof(err);
		if (getsockopt(x->fd, SOL_SOCKET, SO_ERROR, &err, &elen) != 0)
			err = errno;
		if (err != 0) {
			fail(x, false, "TCP connect: %s", strerror(err));
			finish(x);
			return;
		}
		x->connected = true;
	}
	if (x->sent < x->query_len) {
		ssize_t n = send(x->fd, x->query + x->sent, x->query_len - x->sent,
				 MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
				return;
			fail(x, false, "TCP send: %s", strerror(errno));
			finish(x);
			return;
		}
		x->sent += (size_t)n;
		progress(x);
		if (x->sent < x->query_len)
			return;
		ev_io_stop(loop, io);
		ev_io_set(io, x->fd, EV_READ);
		ev_io_start(loop, io);
		return;
	}
	for (int i = 0; i < 64; i++) {
		ssize_t n = recv(x->fd, x->buf + x->len, XFRIN_BUF - x->len, MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
				return;
			fail(x, false, "TCP receive: %s", strerror(errno));
			finish(x);
			return;
		}
		if (n == 0) {
			fail(x, false, "the primary closed the connection %s",
			     x->res.n_msgs ? "before the end of the transfer"
					   : "without answering");
			finish(x);
			return;
		}
		progress(x);
		x->len += (size_t)n;
		if (x->max_bytes > 0 && x->res.bytes + x->len > x->max_bytes) {
			fail(x, true, "the transfer exceeds max_transfer_size (%llu bytes)",
			     (unsigned long long)x->max_bytes);
			finish(x);
			return;
		}
		if (tcp_consume(x)) {
			finish(x);
			return;
		}
	}
}

static int open_socket(xfrin_t *x, int type)
{
	int fd = socket(x->peer.sa.sa_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, &x->peer.sa, x->peer_len) != 0 && errno != EINPROGRESS) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

static int start_tcp(xfrin_t *x)
{
	if (x->buf == NULL && (x->buf = malloc(XFRIN_BUF)) == NULL) {
		errno = ENOMEM;
		return -1;
	}
	int fd = open_socket(x, SOCK_STREAM);
	if (fd < 0)
		return -1;
	x->fd = fd;
	x->tcp = true;
	x->timer.repeat = x->timeout;
	x->connected = false;
	x->sent = 0;
	x->len = 0;
	ev_io_init(&x->io, tcp_cb, fd, EV_WRITE);
	x->io.data = x;
	ev_io_start(x->loop, &x->io);
	progress(x);
	return 0;
}

static int switch_to_tcp(xfrin_t *x)
{
	ev_io_stop(x->loop, &x->io);
	close(x->fd);
	x->fd = -1;
	x->res.via_tcp = true;
	return start_tcp(x);
}

static int start_udp(xfrin_t *x)
{
	int fd = open_socket(x, SOCK_DGRAM);
	if (fd < 0)
		return -1;
	if (send(fd, x->query + 2, x->query_len - 2, MSG_DONTWAIT) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	x->fd = fd;
	x->udp_sends = 1;
	x->timer.repeat = x->timeout / 3;
	ev_io_init(&x->io, udp_cb, fd, EV_READ);
	x->io.data = x;
	ev_io_start(x->loop, &x->io);
	progress(x);
	return 0;
}

/* --- The query. --- */

static int build_query(xfrin_t *x, const cdns_zone_t *current)
{
	cdns_pkt_t p;
	cdns_pkt_init(&p, x->query + 2, (uint16_t)(sizeof(x->query) - 2));
	cdns_pkt_set_id(&p, x->id);
	cdns_pkt_set_flags(&p, 0);
	int rc = cdns_pkt_put_question(&p, x->apex, x->qtype, CDNS_C_IN);
	if (rc != 0)
		return rc;
	if (x->kind == XFRIN_IXFR) {
		/* RFC 1995 §3: our SOA in the authority section. */
		const cdns_rrset_t *soa = cdns_znode_rrset(cdns_zone_node(current, 0), CDNS_T_SOA);
		size_t pos = 0;
		const uint8_t *rd;
		uint16_t len;
		if (soa == NULL || !cdns_rrset_next(soa, &pos, &rd, &len))
			return CDNS_EINVAL;
		rc = cdns_pkt_put_rr(&p, CDNS_SEC_AUTHORITY, x->apex, CDNS_T_SOA, CDNS_C_IN,
				     soa->ttl, rd, len);
		if (rc != 0)
			return rc;
	}
	size_t len = p.len;
	if (x->key != NULL) {
		/* RFC 8945: the primary checks the key; we check each answer message. */
		rc = cdns_tsig_sign_request(&x->tsig, x->key, x->query + 2, &len,
					    sizeof(x->query) - 2, (uint64_t)time(NULL), 300);
		if (rc != 0)
			return rc;
	}
	cdns_put16(x->query, (uint16_t)len);
	x->query_len = 2 + len;
	return 0;
}

int xfrin_start(const xfrin_params_t *prm, xfrin_done_cb cb, void *arg, xfrin_t **out)
{
	if (prm->kind == XFRIN_IXFR && prm->current == NULL)
		return CDNS_EINVAL;
	xfrin_t *x = calloc(1, sizeof(*x));
	if (x == NULL)
		return CDNS_ENOMEM;
	x->loop = cdns_control_loop();
	x->fd = -1;
	x->kind = prm->kind;
	x->key = prm->key;
	x->timeout = prm->timeout > 0 ? prm->timeout : 10.0;
	x->max_bytes = prm->max_bytes;
	memcpy(&x->peer, prm->peer, prm->peer_len);
	x->peer_len = prm->peer_len;
	xfrin_addr_text(&x->peer, x->peer_text, sizeof(x->peer_text));
	cdns_name_copy_lower(x->apex, prm->apex);
	snprintf(x->zone_text, sizeof(x->zone_text), "%s", prm->zone_text ? prm->zone_text : "");
	x->qtype = prm->kind == XFRIN_SOA ? CDNS_T_SOA
		   : prm->kind == XFRIN_IXFR ? CDNS_T_IXFR
					     : CDNS_T_AXFR;
	if (prm->current != NULL) {
		x->have_ours = true;
		x->our_serial = cdns_zone_serial(prm->current);
	}
	x->cb = cb;
	x->arg = arg;
	x->state = ST_FIRST;
	x->res.outcome = XFRIN_FAILED;
	/* RFC 5452 §9.2: an unpredictable ID (and, from the kernel, a random source port). */
	uint8_t rnd[2];
	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd)) {
		free(x);
		return CDNS_EIO;
	}
	x->id = cdns_get16(rnd);
	int rc = build_query(x, prm->current);
	if (rc != 0) {
		free(x);
		return rc;
	}
	ev_init(&x->timer, timeout_cb);
	x->timer.repeat = x->timeout;
	x->timer.data = x;
	if ((x->kind == XFRIN_SOA ? start_udp(x) : start_tcp(x)) != 0) {
		int e = errno;
		release(x);
		errno = e;
		return CDNS_EIO;
	}
	*out = x;
	return 0;
}
