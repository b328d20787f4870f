/* The pipeline executor: parse once, run query hooks in order and response hooks in reverse,
 * finish the response (rcode, OPT), hand it to the transport. Also the per-worker switch to a
 * newly published pipeline. */
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include "server.h"

#define RUN_SEND CDNS__RUN_SEND
#define RUN_DROP CDNS__RUN_DROP
#define RUN_PENDING CDNS__RUN_PENDING

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* --- Pipelines on a worker. --- */

static void release_pipeline(cdns__worker_t *w, cdns__pipeline_t *p)
{
	cdns__inflight_t *in = &p->inflight[w->base.index];
	if (in->inited) {
		for (unsigned i = p->n; i-- > 0;) {
			const cdns_plugin_t *d = p->inst[i].desc;
			if (d->thread_fini != NULL)
				d->thread_fini(p->inst[i].state, &w->base);
		}
		in->inited = false;
	}
	in->released = true;
	atomic_fetch_add_explicit(&p->workers_released, 1, memory_order_acq_rel);
	ev_async_send(cdns__srv.control, &cdns__srv.released);
}

void cdns__worker_use_pipeline(cdns__worker_t *w)
{
	cdns__pipeline_t *cur = atomic_load_explicit(&cdns__srv.current, memory_order_acquire);
	if (cur == w->pipe || cur == NULL)
		return;
	cdns__inflight_t *in = &cur->inflight[w->base.index];
	for (unsigned i = 0; i < cur->n; i++) {
		const cdns_plugin_t *d = cur->inst[i].desc;
		if (d->thread_init != NULL) {
			int rc = d->thread_init(cur->inst[i].state, &w->base);
			if (rc != 0)
				cdns_err("worker %u: plugin '%s': thread init failed: %s",
					 w->base.index, d->name, cdns_strerror(rc));
		}
	}
	in->inited = true;
	cdns__pipeline_t *old = w->pipe;
	w->pipe = cur;
	if (old == NULL)
		return;
	if (old->inflight[w->base.index].n == 0) {
		release_pipeline(w, old);
	} else if (w->n_retired < sizeof(w->retired) / sizeof(w->retired[0])) {
		w->retired[w->n_retired++] = old;
	} else {
		/* Too many reloads while queries hang on old pipelines: those pipelines are
		 * released when their last query finishes (see cdns__ctx_done). */
		cdns_warn("worker %u: many retired pipelines still busy", w->base.index);
	}
}

void cdns__ctx_done(cdns__qctx_t *c)
{
	cdns__worker_t *w = c->w;
	cdns__pipeline_t *p = c->pipe;
	/* Plugins release what they held for the query, in reverse order of registration. */
	while (c->q.n_done > 0) {
		c->q.n_done--;
		c->q.done_cb[c->q.n_done](c->q.done_arg[c->q.n_done]);
	}
	if (p != NULL) {
		c->pipe = NULL;
		if (--p->inflight[w->base.index].n == 0 && p != w->pipe &&
		    !p->inflight[w->base.index].released) {
			for (unsigned i = 0; i < w->n_retired; i++) {
				if (w->retired[i] == p) {
					w->retired[i] = w->retired[--w->n_retired];
					break;
				}
			}
			release_pipeline(w, p);
		}
	}
	cdns__ctx_put(c);
}

/* --- Request parsing. --- */

/* A response the core writes itself (FORMERR, NOTIMP, BADVERS). */
static void core_answer(cdns_query_t *q, uint16_t rcode)
{
	cdns_resp_reset(q);
	q->rcode = rcode;
}

static int query_prepare(cdns__qctx_t *c, size_t len)
{
	cdns_query_t *q = &c->q;
	cdns__pipeline_t *p = c->w->pipe;
	const uint8_t *wire = c->rx;

	if (len < CDNS_HDR_LEN)
		return RUN_DROP; /* not even a header to answer */
	q->id = cdns_get16(wire);
	q->flags = cdns_get16(wire + 2);
	if (q->flags & CDNS_FLAG_QR)
		return RUN_DROP; /* a response: never answer one (RFC 1035 §7.3, no loops) */
	q->opcode = CDNS_FLAGS_OPCODE(q->flags);
	q->qname_len = 0;
	q->qname_labels = 0;
	q->qtype = q->qclass = 0;
	q->tsig_off = 0;
	memset(&q->edns, 0, sizeof(q->edns));
	q->edns_reply = false;
	q->view = "default";
	q->tsig_key = NULL;
	q->resp_nsid = NULL;
	q->resp_nsid_len = 0;
	q->resp_reserve = 0;
	q->stream_cb = NULL;
	q->stream_state = NULL;
	q->stream_index = 0;
	q->n_done = 0;
	q->arena = c->arena;
	q->arena_used = 0;
	q->arena_cap = sizeof(c->arena);
	q->start_ns = now_ns();
	q->worker = &c->w->base;
	q->resp.wire = c->tx + 2;
	q->resp.cap = c->tx_cap;
	q->resp_max = c->conn != NULL ? CDNS_TCP_MSG_MAX : 512;
	if (q->resp_max > c->tx_cap)
		q->resp_max = c->tx_cap;
	c->ran = 0;
	c->async = false;
	c->pipe = p;
	p->inflight[c->w->base.index].n++;
	memset(q->slot, 0, sizeof(q->slot[0]) * p->n);
	q->msg.wire = wire;
	q->msg.len = len;

	if (cdns_msg_parse(&q->msg, wire, len) != 0) {
		/* RFC 9267: malformed input gets FORMERR when the header is readable. */
		c->w->stats.malformed++;
		q->msg.hdr.count[0] = 0;
		core_answer(q, CDNS_RCODE_FORMERR);
		return RUN_SEND;
	}

	size_t pos = CDNS_HDR_LEN;
	if (q->msg.hdr.count[CDNS_SEC_QUESTION] == 1) {
		int n = cdns_msg_question(&q->msg, &pos, q->qname, &q->qtype, &q->qclass);
		if (n <= 0) {
			core_answer(q, CDNS_RCODE_FORMERR);
			return RUN_SEND;
		}
		q->qname_off = CDNS_HDR_LEN;
		q->qname_len = (uint8_t)n;
		cdns_name_lower(q->qname);
		q->qname_labels = (uint8_t)cdns_name_labels(q->qname);
		q->qname_hash = cdns_name_hash(q->qname);
	}

	/* OPT and TSIG live in the additional section. */
	if (q->msg.hdr.count[CDNS_SEC_ADDITIONAL] > 0) {
		pos = q->msg.sec_off[CDNS_SEC_ADDITIONAL];
		unsigned n_ar = q->msg.hdr.count[CDNS_SEC_ADDITIONAL];
		cdns_rr_t rr;
		for (unsigned i = 0; i < n_ar; i++) {
			if (cdns_msg_rr(&q->msg, &pos, &rr) != 0) {
				core_answer(q, CDNS_RCODE_FORMERR);
				return RUN_SEND;
			}
			if (rr.type == CDNS_T_OPT) {
				/* RFC 6891 §6.1.1: more than one OPT is FORMERR. */
				if (q->edns.present || cdns_edns_parse(&q->edns, &rr) != 0) {
					memset(&q->edns, 0, sizeof(q->edns));
					core_answer(q, CDNS_RCODE_FORMERR);
					return RUN_SEND;
				}
			} else if (rr.type == CDNS_T_TSIG) {
				/* RFC 8945 §5.1: TSIG anywhere but last is FORMERR. */
				if (i != n_ar - 1) {
					core_answer(q, CDNS_RCODE_FORMERR);
					return RUN_SEND;
				}
				q->tsig_off = rr.start;
			}
		}
	}
	if (q->edns.present) {
		q->edns_reply = true;
		if (c->conn == NULL) {
			/* RFC 6891 §6.2.3/§6.2.5: honour the requestor's size, at least 512, capped by
			 * ours. */
			uint16_t sz = q->edns.udp_size < 512 ? 512 : q->edns.udp_size;
			uint16_t max = (uint16_t)p->settings.max_udp_size;
			q->resp_max = sz < max ? sz : max;
		}
	}

	if (q->msg.hdr.count[CDNS_SEC_QUESTION] != 1) {
		q->qname_len = 0;
		core_answer(q, CDNS_RCODE_FORMERR);
		return RUN_SEND;
	}
	if (q->edns.present && q->edns.version > 0) {
		core_answer(q, CDNS_RCODE_BADVERS); /* RFC 6891 §6.1.3 */
		return RUN_SEND;
	}
	if (q->opcode != CDNS_OPCODE_QUERY && q->opcode != CDNS_OPCODE_NOTIFY &&
	    q->opcode != CDNS_OPCODE_UPDATE) {
		core_answer(q, CDNS_RCODE_NOTIMP);
		return RUN_SEND;
	}
	cdns_resp_reset(q);
	return RUN_PENDING;
}

/* --- Finishing a response. --- */

static void finalize(cdns__qctx_t *c)
{
	cdns_query_t *q = &c->q;
	cdns__stats_t *st = &c->w->stats;
	if (!q->resp_wire_set) {
		uint16_t f = cdns_pkt_flags(&q->resp);
		cdns_pkt_set_flags(&q->resp, (uint16_t)((f & ~0xfu) | (q->rcode & 0xf)));
		if (q->edns_reply) {
			/* Room for an NSID of up to 1 KiB and an EDE text of up to 1 KiB;
			 * what is larger, or does not fit the response, is left out. */
			uint8_t opt[CDNS_OPT_BASE_LEN + 4 + 1024 + 6 + 1024];
			/* The OPT may not take the room a response hook reserved (TSIG). */
			uint32_t used = (uint32_t)q->resp.len + q->resp_reserve;
			uint16_t room = q->resp_max > used ? (uint16_t)(q->resp_max - used) : 0;
			uint16_t max_udp = (uint16_t)c->pipe->settings.max_udp_size;
			uint16_t dflag = q->edns.do_bit ? 0x8000 : 0; /* RFC 3225 §3: DO is copied */
			for (int with_options = 1; with_options >= 0; with_options--) {
				cdns_opt_writer_t ow;
				if (cdns_opt_begin(&ow, opt, sizeof(opt), max_udp,
						   (uint8_t)(q->rcode >> 4), 0, dflag) != 0)
					break;
				if (with_options && q->edns.nsid && q->resp_nsid != NULL)
					(void)cdns_opt_add(&ow, CDNS_EDNS_NSID, q->resp_nsid,
							   q->resp_nsid_len);
				if (with_options && q->ede >= 0)
					(void)cdns_opt_add_ede(&ow, (uint16_t)q->ede, q->ede_text);
				uint16_t len = cdns_opt_finish(&ow);
				if (len <= room) {
					(void)cdns_pkt_put_raw_rr(&q->resp, CDNS_SEC_ADDITIONAL, opt, len);
					break;
				}
			}
		}
	}
	uint16_t rcode = q->resp_wire_set ? CDNS_FLAGS_RCODE(cdns_pkt_flags(&q->resp)) : q->rcode;
	st->responses++;
	st->rcode[rcode < 24 ? rcode : 23]++;
	if (cdns_pkt_flags(&q->resp) & CDNS_FLAG_TC)
		st->truncated++;
}

static void run_response_hooks(cdns__qctx_t *c)
{
	cdns__pipeline_t *p = c->pipe;
	for (unsigned i = c->ran; i-- > 0;) {
		const cdns_plugin_t *d = p->inst[i].desc;
		if (d->response != NULL) {
			c->q.pos = (uint16_t)i;
			d->response(p->inst[i].state, &c->q);
		}
	}
}

/* Run query hooks from the current position. `verdict` is what the plugin at c->q.pos
 * answered (when resuming), or -1 to start with the plugin at c->q.pos. */
static int run(cdns__qctx_t *c, int verdict)
{
	cdns__pipeline_t *p = c->pipe;
	cdns_query_t *q = &c->q;
	unsigned i = q->pos;
	for (;;) {
		if (verdict < 0) {
			if (i >= p->n)
				break;
			const cdns_plugin_t *d = p->inst[i].desc;
			if (d->query == NULL) {
				i++;
				continue;
			}
			q->pos = (uint16_t)i;
			verdict = d->query(p->inst[i].state, q);
		}
		switch (verdict) {
		case CDNS_NEXT:
			i++;
			verdict = -1;
			continue;
		case CDNS_DONE:
			c->ran = i + 1;
			goto respond;
		case CDNS_DROP:
			c->w->stats.dropped++;
			return RUN_DROP;
		case CDNS_ASYNC:
			c->async = true;
			return RUN_PENDING;
		default:
			/* A failing plugin costs this query a SERVFAIL, not the server. */
			c->w->stats.plugin_failures++;
			cdns_warn("plugin '%s' returned invalid verdict %d: SERVFAIL",
				  p->inst[i].desc->name, verdict);
			cdns_resp_reset(q);
			q->rcode = CDNS_RCODE_SERVFAIL;
			c->ran = i + 1;
			goto respond;
		}
	}
	/* Nobody answered: not ours (RFC 1034 §4.3.2 leaves it to policy; REFUSED as
	 * authoritative servers do). */
	cdns_resp_reset(q);
	q->rcode = CDNS_RCODE_REFUSED;
	c->ran = p->n;
respond:
	/* Response hooks see the message as it leaves: rcode written, OPT appended. */
	finalize(c);
	run_response_hooks(c);
	return RUN_SEND;
}

int cdns__query_process(cdns__qctx_t *c, size_t len)
{
	int r = query_prepare(c, len);
	if (r == RUN_DROP) {
		c->w->stats.dropped++;
		return RUN_DROP;
	}
	if (r == RUN_SEND) {
		/* An answer the core wrote itself (FORMERR, NOTIMP, BADVERS): no query hook ran,
		 * but every response hook sees it (query logs, statistics). */
		finalize(c);
		c->ran = c->pipe->n;
		run_response_hooks(c);
		return RUN_SEND;
	}
	c->q.pos = 0;
	return run(c, -1);
}

int cdns__stream_next(cdns__qctx_t *c, bool *last)
{
	cdns_query_t *q = &c->q;
	cdns_resp_reset(q);
	q->stream_index++;
	q->pos = q->stream_pos; /* the plugin sees its own slot */
	int v = q->stream_cb(q->stream_state, q);
	if (v != CDNS_NEXT && v != CDNS_DONE)
		return RUN_DROP;
	*last = v == CDNS_DONE;
	if (*last)
		q->stream_cb = NULL;
	finalize(c);
	run_response_hooks(c);
	return RUN_SEND;
}

static void resume_cb(cdns_query_t *q, int verdict)
{
	cdns__qctx_t *c = (cdns__qctx_t *)q; /* q is the first member */
	if (verdict == CDNS_ASYNC)
		verdict = -2; /* not allowed on resume: treated as a failure */
	int r = run(c, verdict);
	if (r == RUN_PENDING)
		return;
	if (r == RUN_SEND) {
		if (c->conn != NULL)
			cdns__tcp_respond(c);
		else
			cdns__udp_send_one(c);
		return;
	}
	if (c->conn != NULL) {
		c->q.resp.len = 0; /* nothing to send: only releases the slot */
		cdns__tcp_respond(c);
	}
	else
		cdns__ctx_done(c);
}

const struct cdns_worker_ops cdns__worker_ops = {
	.resume = resume_cb,
};
