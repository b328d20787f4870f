/* transfer: serves zones to secondaries. AXFR (RFC 5936) over TCP in as many messages as the
 * zone needs, streamed one message at a time; IXFR (RFC 1995) answered with the whole zone
 * (the journal-backed incremental form comes with the journal), or with the SOA alone when the
 * client is up to date; IXFR over UDP gets the SOA when up to date and TC otherwise. Access is
 * by address range and/or verified TSIG key; anything else is REFUSED. Zones come from the
 * zone registry, where backends (file, ...) publish their current versions. */
#include <arpa/inet.h>
#include <errno.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <ev.h>
#include <stdlib.h>
#include <string.h>

#include <clouddns/clouddns.h>

#define ACL_MAX 256


#define NOTIFY_MAX 64
#define NOTIFY_TRIES 5

struct notify_job;

struct transfer_state {
	cdns_acl_who_t rules[ACL_MAX];
	unsigned n_rules;
	cdns_sockaddr_t notify[NOTIFY_MAX];
	socklen_t notify_len[NOTIFY_MAX];
	cdns_tsig_key_t *notify_key[NOTIFY_MAX]; /* sign the NOTIFY to this target (or NULL) */
	unsigned n_notify;
	bool notifier_held, subscribed, subscribed_loaded;
};

/* One NOTIFY to one secondary, retried with backoff until answered (RFC 1996 §3.6). */
struct notify_job {
	struct notify_job *next;
	cdns_sockaddr_t to;
	socklen_t to_len;
	unsigned target; /* its place in the notify list, for the log */
	bool signed_;    /* with key; each send signs anew, and the answer must verify */
	cdns_tsig_key_t key;
	cdns_tsig_ctx_t tsig;
	uint16_t id;
	unsigned tries;
	uint8_t apex[CDNS_NAME_MAXLEN];
	uint32_t serial;
	uint32_t soa_ttl;
	uint16_t soa_len;
	uint8_t soa[CDNS_NAME_MAXLEN * 2 + 20];
	ev_timer timer;
};

struct rule_conf {
	const char *address;
	const char *key;
};

static const cdns_opt_def_t rule_opts[] = {
	{ "address", CDNS_OPT_STRING, offsetof(struct rule_conf, address), NULL, 0, -1, false, NULL },
	{ "key", CDNS_OPT_STRING, offsetof(struct rule_conf, key), NULL, 0, -1, false, NULL },
	CDNS_OPT_END,
};

struct transfer_conf {
	const cdns_conf_t *acl;
	const cdns_conf_t *notify;
};

static const cdns_opt_def_t transfer_opts[] = {
	{ "acl", CDNS_OPT_NODE, offsetof(struct transfer_conf, acl), NULL, 0, -1, true, NULL },
	{ "notify", CDNS_OPT_NODE, offsetof(struct transfer_conf, notify), NULL, 0, -1, false,
	  NULL },
	CDNS_OPT_END,
};

static bool allowed(const struct transfer_state *st, const cdns_query_t *q)
{
	for (unsigned i = 0; i < st->n_rules; i++)
		if (cdns_acl_who_match(&st->rules[i], &q->client, q->tsig_key))
			return true;
	return false;
}

struct target_conf {
	const char *address;
	const cdns_conf_t *key;
};

static const cdns_opt_def_t target_opts[] = {
	{ "address", CDNS_OPT_STRING, offsetof(struct target_conf, address), NULL, 0, -1, true,
	  NULL },
	{ "key", CDNS_OPT_NODE, offsetof(struct target_conf, key), NULL, 0, -1, false, NULL },
	CDNS_OPT_END,
};

/* One entry of 'notify': "ADDRESS[:PORT]", or {address: ..., key: {name, algorithm, secret}}
 * for a secondary that wants its NOTIFYs signed. */
static bool notify_target(cdns_diag_t *d, const char *prefix, const cdns_conf_t *it,
			  struct transfer_state *st)
{
	struct target_conf tc = { .address = it->value };
	const cdns_conf_t *at = it;
	if (it->kind == CDNS_CONF_MAP) {
		if (cdns_conf_apply(d, prefix, it, target_opts, &tc) != 0)
			return false;
		at = cdns_conf_get(it, "address");
	}
	unsigned i = st->n_notify;
	if (tc.address == NULL ||
	    cdns_sockaddr_parse(tc.address, 53, &st->notify[i], &st->notify_len[i]) != 0) {
		cdns_diag_error(d, at,
				"%soption 'notify': must be an address with an optional port such as "
				"\"192.0.2.1\" or \"[2001:db8::1]:5300\", or {address: ..., key: ...}, "
				"got \"%s\"",
				prefix, tc.address ? tc.address : "");
		return false;
	}
	if (tc.key != NULL) {
		st->notify_key[i] = calloc(1, sizeof(cdns_tsig_key_t));
		if (st->notify_key[i] == NULL ||
		    cdns_tsig_key_conf(d, prefix, "notify: ", tc.key, st->notify_key[i]) != 0) {
			free(st->notify_key[i]);
			st->notify_key[i] = NULL;
			return false;
		}
	}
	st->n_notify++;
	return true;
}

static void state_free(struct transfer_state *st)
{
	for (unsigned i = 0; i < NOTIFY_MAX; i++) {
		if (st->notify_key[i] != NULL) {
			/* A secret does not outlive its use in memory. */
			explicit_bzero(st->notify_key[i], sizeof(cdns_tsig_key_t));
			free(st->notify_key[i]);
		}
	}
	free(st);
}

static int transfer_setup(cdns_setup_t *s, const cdns_conf_t *opts, void **state)
{
	cdns_diag_t *d = cdns_setup_diag(s);
	const char *prefix = cdns_setup_prefix(s);
	struct transfer_conf cfg = { 0 };
	if (cdns_conf_apply(d, prefix, opts, transfer_opts, &cfg) != 0)
		return CDNS_ECONFIG;
	if (cfg.acl->kind != CDNS_CONF_SEQ) {
		cdns_diag_error(d, cfg.acl,
				"%soption 'acl': must be a list of {address: ..., key: ...} rules",
				prefix);
		return CDNS_ECONFIG;
	}
	struct transfer_state *st = calloc(1, sizeof(*st));
	if (st == NULL)
		return CDNS_ENOMEM;
	bool bad = false;
	for (const cdns_conf_t *rn = cfg.acl->child; rn != NULL; rn = rn->next) {
		struct rule_conf rc = { 0 };
		if (cdns_conf_apply(d, prefix, rn, rule_opts, &rc) != 0) {
			bad = true;
			continue;
		}
		if (st->n_rules == ACL_MAX) {
			cdns_diag_error(d, rn, "%sat most %d acl rules", prefix, ACL_MAX);
			bad = true;
			break;
		}
		if (rc.address == NULL && rc.key == NULL) {
			cdns_diag_error(d, rn, "%sacl rule: give 'address', 'key' or both", prefix);
			bad = true;
			continue;
		}
		if (!cdns_acl_who_conf(d, prefix, rn, rc.address, rc.key, &st->rules[st->n_rules])) {
			bad = true;
			continue;
		}
		st->n_rules++;
	}
	if (cfg.notify != NULL) {
		const cdns_conf_t *it = cfg.notify->kind == CDNS_CONF_SEQ ? cfg.notify->child : cfg.notify;
		for (; it != NULL; it = cfg.notify->kind == CDNS_CONF_SEQ ? it->next : NULL) {
			if (st->n_notify == NOTIFY_MAX) {
				cdns_diag_error(d, it, "%snotify: at most %d targets", prefix, NOTIFY_MAX);
				bad = true;
				break;
			}
			if (!notify_target(d, prefix, it, st))
				bad = true;
		}
	}
	if (bad) {
		state_free(st);
		return CDNS_ECONFIG;
	}
	*state = st;
	return 0;
}

/* --- NOTIFY (RFC 1996) on every committed change and every newly loaded serial. --- */

/* The sockets and the NOTIFYs in flight, shared by every instance and held by each one that
 * has targets: during a reload the new instance takes it before the old one lets go, so a
 * NOTIFY the old instance started is still repeated until answered. Control thread only. */
static struct notifier {
	unsigned refs;
	int fd4, fd6;
	ev_io io4, io6;
	struct notify_job *jobs; /* waiting for their answer */
} nf = { .fd4 = -1, .fd6 = -1 };

static void job_free(struct notify_job *job)
{
	for (struct notify_job **pp = &nf.jobs; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == job) {
			*pp = job->next;
			break;
		}
	}
	ev_timer_stop(cdns_control_loop(), &job->timer);
	explicit_bzero(&job->key, sizeof(job->key)); /* the secret (a store the compiler keeps) */
	free(job);
}

static uint64_t unix_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec < 0 ? 0 : (uint64_t)ts.tv_sec;
}

static void notify_send(struct notify_job *job)
{
	uint8_t buf[512];
	cdns_pkt_t p;
	/* Room for the TSIG record when signed (the SOA hint is left out if it does not fit). */
	size_t room = job->signed_ ? (size_t)job->key.name_len + job->key.alg_len + 26 +
					      job->key.mac_size
				   : 0;
	cdns_pkt_init(&p, buf, (uint16_t)(sizeof(buf) - room));
	cdns_pkt_set_id(&p, job->id);
	/* RFC 1996 §3.7: opcode NOTIFY, AA set, the zone's SOA in the answer section. */
	cdns_pkt_set_flags(&p, (uint16_t)((CDNS_OPCODE_NOTIFY << 11) | CDNS_FLAG_AA));
	(void)cdns_pkt_put_question(&p, job->apex, CDNS_T_SOA, CDNS_C_IN);
	/* RFC 1996 §3.7: the new SOA may ride along, as a hint of the serial. */
	if (job->soa_len > 0)
		(void)cdns_pkt_put_rr(&p, CDNS_SEC_ANSWER, job->apex, CDNS_T_SOA, CDNS_C_IN,
				      job->soa_ttl, job->soa, job->soa_len);
	size_t len = p.len;
	/* Signed anew at every try (a fresh time); the answer must verify against this
	 * request's MAC (RFC 8945 §5.3). */
	if (job->signed_ && cdns_tsig_sign_request(&job->tsig, &job->key, buf, &len, sizeof(buf),
						   unix_now(), 300) != 0) {
		cdns_warn("transfer: cannot sign a NOTIFY");
		job->tries++;
		return;
	}
	int fd = job->to.sa.sa_family == AF_INET ? nf.fd4 : nf.fd6;
	if (fd >= 0 && sendto(fd, buf, len, 0, &job->to.sa, job->to_len) < 0)
		cdns_debug("transfer: NOTIFY send failed: %s", strerror(errno));
	job->tries++;
}

static void notify_timer_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct notify_job *job = t->data;
	if (job->tries >= NOTIFY_TRIES) {
		char name[CDNS_NAME_MAXTEXT];
		cdns_name_to_text(job->apex, name, sizeof(name));
		cdns_warn("transfer: NOTIFY for %s (serial %u) to target %u not acknowledged after "
			  "%u tries; giving up",
			  name, job->serial, job->target + 1, job->tries);
		job_free(job);
		return;
	}
	notify_send(job);
	/* Backoff: 1 s, 2 s, 4 s, 8 s. */
	t->repeat = (double)(1u << (job->tries - 1));
	ev_timer_again(loop, t);
}

static void notify_read_cb(struct ev_loop *loop, ev_io *io, int revents)
{
	uint8_t buf[4096];
	cdns_sockaddr_t from;
	socklen_t flen = sizeof(from);
	ssize_t n = recvfrom(io->fd, buf, sizeof(buf), MSG_DONTWAIT, &from.sa, &flen);
	if (n < CDNS_HDR_LEN)
		return;
	uint16_t id = cdns_get16(buf), flags = cdns_get16(buf + 2);
	if (!(flags & CDNS_FLAG_QR) || CDNS_FLAGS_OPCODE(flags) != CDNS_OPCODE_NOTIFY)
		return;
	for (struct notify_job *job = nf.jobs; job != NULL; job = job->next) {
		const cdns_sockaddr_t *to = &job->to;
		if (job->id != id || to->sa.sa_family != from.sa.sa_family)
			continue;
		/* The answer must come from where we sent it (RFC 5452 spirit). */
		bool same = from.sa.sa_family == AF_INET
				    ? from.sin.sin_port == to->sin.sin_port &&
					      from.sin.sin_addr.s_addr == to->sin.sin_addr.s_addr
				    : from.sin6.sin6_port == to->sin6.sin6_port &&
					      memcmp(&from.sin6.sin6_addr, &to->sin6.sin6_addr, 16) == 0;
		if (!same)
			continue;
		/* An answer to a signed NOTIFY must be signed by the same key: anything else
		 * (unsigned, an error such as BADSIG, a late answer to an earlier try) is not
		 * an acknowledgement, and the NOTIFY is repeated. */
		if (job->signed_ &&
		    cdns_tsig_verify_response(&job->tsig, buf, (size_t)n, unix_now()) != 0) {
			cdns_debug("transfer: NOTIFY answer without a valid signature: ignored");
			return;
		}
		job_free(job);
		return;
	}
}

/* The serial each zone was last announced with, for the life of the process (the plugin
 * stays loaded across reloads): a reload announces only the zones whose serial changed, and
 * the old and the new instance, side by side during a reload, do not both announce one.
 * Control thread only. */
struct announced {
	struct announced *next;
	char *view;
	uint8_t apex[CDNS_NAME_MAXLEN];
	uint32_t serial;
};
static struct announced *announced;

/* Was this serial of the zone announced already? If not, remember it now. */
static bool announced_before(const char *view, const uint8_t *apex, uint32_t serial)
{
	if (view == NULL)
		view = "default";
	for (struct announced *a = announced; a != NULL; a = a->next) {
		if (strcmp(a->view, view) != 0 || !cdns_name_equal(a->apex, apex))
			continue;
		if (a->serial == serial)
			return true;
		a->serial = serial;
		return false;
	}
	struct announced *a = calloc(1, sizeof(*a));
	if (a == NULL || (a->view = strdup(view)) == NULL) {
		free(a);
		return false; /* announce anyway */
	}
	cdns_name_copy_lower(a->apex, apex);
	a->serial = serial;
	a->next = announced;
	announced = a;
	return false;
}

/* NOTIFY every target about this version of a zone (once per serial). */
static void announce(struct transfer_state *st, const char *view, const cdns_zone_t *zone)
{
	const uint8_t *apex = cdns_zone_apex(zone);
	if (st->n_notify == 0 || announced_before(view, apex, cdns_zone_serial(zone)))
		return;
	for (unsigned i = 0; i < st->n_notify; i++) {
		struct notify_job *job = calloc(1, sizeof(*job));
		if (job == NULL)
			return;
		job->to = st->notify[i];
		job->to_len = st->notify_len[i];
		job->target = i;
		if (st->notify_key[i] != NULL) {
			job->key = *st->notify_key[i];
			job->signed_ = true;
		}
		job->serial = cdns_zone_serial(zone);
		const cdns_rrset_t *soa = cdns_znode_rrset(cdns_zone_node(zone, 0), CDNS_T_SOA);
		size_t pos = 0;
		const uint8_t *rd;
		uint16_t len;
		if (soa != NULL && cdns_rrset_next(soa, &pos, &rd, &len) && len <= sizeof(job->soa)) {
			memcpy(job->soa, rd, len);
			job->soa_len = len;
			job->soa_ttl = soa->ttl;
		}
		cdns_name_copy_lower(job->apex, apex);
		uint8_t rnd[2];
		if (getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd))
			rnd[0] = rnd[1] = (uint8_t)i;
		job->id = cdns_get16(rnd);
		job->next = nf.jobs;
		nf.jobs = job;
		ev_init(&job->timer, notify_timer_cb);
		job->timer.data = job;
		job->timer.repeat = 0.001; /* send at once, from the timer */
		ev_timer_again(cdns_control_loop(), &job->timer);
	}
}

/* A change was committed (an update, an IXFR received...), or a whole version was loaded
 * (start, reload, AXFR received). */
static void zone_event_cb(const cdns_event_t *ev, void *arg)
{
	announce(arg, ev->view, ev->zone);
}

static int open_notify_socket(int family, ev_io *io)
{
	int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	ev_io_init(io, notify_read_cb, fd, EV_READ);
	ev_io_start(cdns_control_loop(), io);
	return fd;
}

static void notifier_hold(void)
{
	if (nf.refs++ > 0)
		return;
	nf.fd4 = open_notify_socket(AF_INET, &nf.io4);
	nf.fd6 = open_notify_socket(AF_INET6, &nf.io6);
}

static void notifier_release(void)
{
	if (nf.refs == 0 || --nf.refs > 0)
		return;
	while (nf.jobs != NULL)
		job_free(nf.jobs);
	if (nf.fd4 >= 0) {
		ev_io_stop(cdns_control_loop(), &nf.io4);
		close(nf.fd4);
	}
	if (nf.fd6 >= 0) {
		ev_io_stop(cdns_control_loop(), &nf.io6);
		close(nf.fd6);
	}
	nf.fd4 = nf.fd6 = -1;
}

static int transfer_activate(void *state)
{
	struct transfer_state *st = state;
	if (st->n_notify == 0)
		return 0;
	notifier_hold();
	st->notifier_held = true;
	if (cdns_event_subscribe(CDNS_EV_ZONE_COMMITTED, zone_event_cb, st) != 0)
		return CDNS_ENOMEM;
	st->subscribed = true;
	if (cdns_event_subscribe(CDNS_EV_ZONE_LOADED, zone_event_cb, st) != 0)
		return CDNS_ENOMEM;
	st->subscribed_loaded = true;
	/* Zones published before this instance listened: at start, or by backends earlier in
	 * the pipeline. Each is announced unless its serial was already (RFC 1996 §3.1: a
	 * primary tells its secondaries when a zone is loaded, too). */
	cdns_zone_t *zones[256];
	size_t n = cdns_registry_list(NULL, zones, 256);
	if (n > 256) {
		cdns_warn("transfer: %zu zones loaded before NOTIFY was ready; announcing the "
			  "first 256 now, the others on their next change", n);
		n = 256;
	}
	for (size_t i = 0; i < n; i++) {
		announce(st, NULL, zones[i]);
		cdns_zone_unref(zones[i]);
	}
	return 0;
}

/* --- Streaming a zone. --- */

struct xfr {
	cdns_zone_t *zone;
	size_t node;      /* next node to send */
	uint16_t rrset;   /* next RRset of that node */
	size_t rr_pos;    /* position inside that RRset (cdns_rrset_next) */
	unsigned rr_done; /* RRs of that RRset already sent */
	bool soa_sent, final_sent;
	const cdns_znode_t *apex;
	const cdns_rrset_t *soa;
	/* IXFR from the journal: one condensed difference sequence (RFC 1995 §4). */
	cdns_changeset_t *cs;
	int phase;  /* 0 SOA new, 1 SOA old, 2 removed, 3 SOA new, 4 added, 5 final SOA */
	size_t idx; /* next RR of the removed/added list */
	/* While the control loop reads the journal. */
	cdns_query_t *q;
	cdns_worker_t *worker;
	uint32_t client_serial;
	int since_rc;
	char view[64];
};

static void xfr_done(void *arg)
{
	struct xfr *x = arg;
	cdns_zone_unref(x->zone);
	cdns_changeset_free(x->cs);
}

/* Add the SOA. Returns 0 or CDNS_ESPACE. */
static int put_soa(cdns_query_t *q, const struct xfr *x)
{
	size_t pos = 0;
	const uint8_t *rd;
	uint16_t len;
	if (!cdns_rrset_next(x->soa, &pos, &rd, &len))
		return CDNS_EINVAL;
	return cdns_resp_add(q, CDNS_SEC_ANSWER, x->apex->owner_case, CDNS_T_SOA,
			     cdns_zone_class(x->zone), x->soa->ttl, rd, len);
}

/* Fill one message: as many RRs as fit. Returns CDNS_DONE when the final SOA is in,
 * CDNS_NEXT when more messages are needed, CDNS_DROP on an RR too large for any message. */
static int xfr_fill(void *state, cdns_query_t *q)
{
	struct xfr *x = state;
	unsigned added = 0;
	/* RFC 5936 §2.2.1: AA is set in every message of a successful transfer. */
	cdns_resp_set_flags(q, CDNS_FLAG_AA, 0);
	if (!x->soa_sent) {
		if (put_soa(q, x) != 0)
			return CDNS_DROP;
		x->soa_sent = true;
		added++;
	}
	size_t n_nodes = cdns_zone_node_count(x->zone);
	while (x->node < n_nodes) {
		const cdns_znode_t *n = cdns_zone_node(x->zone, x->node);
		while (x->rrset < n->n_rrsets) {
			const cdns_rrset_t *s = &n->rrsets[x->rrset];
			if (s->type == CDNS_T_SOA && x->node == 0) {
				x->rrset++;
				continue;
			}
			const uint8_t *rd;
			uint16_t len;
			size_t pos = x->rr_pos;
			while (cdns_rrset_next(s, &pos, &rd, &len)) {
				int rc = cdns_resp_add(q, CDNS_SEC_ANSWER, n->owner_case, s->type,
						       cdns_zone_class(x->zone), s->ttl, rd, len);
				if (rc == CDNS_ESPACE) {
					/* An RR that fits no message can't be transferred. */
					return added == 0 ? CDNS_DROP : CDNS_NEXT;
				}
				if (rc != 0)
					return CDNS_DROP;
				x->rr_pos = pos;
				added++;
			}
			x->rrset++;
			x->rr_pos = 0;
		}
		x->node++;
		x->rrset = 0;
	}
	if (put_soa(q, x) == CDNS_ESPACE)
		return added == 0 ? CDNS_DROP : CDNS_NEXT;
	x->final_sent = true;
	return CDNS_DONE;
}

/* Fill one message of an incremental answer: SOA(new), SOA(old), deletions, SOA(new),
 * additions, SOA(new). */
static int ixfr_fill(void *state, cdns_query_t *q)
{
	struct xfr *x = state;
	unsigned added = 0;
	cdns_resp_set_flags(q, CDNS_FLAG_AA, 0);
	const uint8_t *apex = x->apex->owner_case;
	uint16_t rclass = cdns_zone_class(x->zone);
	while (x->phase <= 5) {
		cdns_changeset_rr_t soa;
		int rc = 0;
		if (x->phase == 0 || x->phase == 1 || x->phase == 3 || x->phase == 5) {
			int which = x->phase == 1 ? CDNS_CS_BEFORE : CDNS_CS_AFTER;
			if (cdns_changeset_soa(x->cs, which, &soa) != 0)
				return CDNS_DROP;
			rc = cdns_resp_add(q, CDNS_SEC_ANSWER, apex, CDNS_T_SOA, rclass, soa.ttl,
					   soa.rdata, soa.rdlen);
			if (rc == 0) {
				x->phase++;
				added++;
				continue;
			}
		} else {
			int sec = x->phase == 2 ? CDNS_CS_REMOVED : CDNS_CS_ADDED;
			if (x->idx >= cdns_changeset_count(x->cs, sec)) {
				x->phase++;
				x->idx = 0;
				continue;
			}
			const cdns_changeset_rr_t *rr = cdns_changeset_rr(x->cs, sec, x->idx);
			rc = cdns_resp_add(q, CDNS_SEC_ANSWER, rr->owner, rr->type, rr->rclass, rr->ttl,
					   rr->rdata, rr->rdlen);
			if (rc == 0) {
				x->idx++;
				added++;
				continue;
			}
		}
		if (rc == CDNS_ESPACE)
			return added == 0 ? CDNS_DROP : CDNS_NEXT;
		return CDNS_DROP;
	}
	return CDNS_DONE;
}

/* Back on the query's worker with what the control loop found in the journal. */
static void ixfr_resume(void *arg)
{
	struct xfr *x = arg;
	cdns_query_t *q = x->q;
	int v;
	if (x->since_rc == 0) {
		v = ixfr_fill(x, q);
		if (v == CDNS_NEXT && cdns_query_stream(q, ixfr_fill, x) != 0)
			v = CDNS_DROP;
	} else {
		/* Not in the journal: the whole zone, AXFR-style (RFC 1995 §4). */
		v = xfr_fill(x, q);
		if (v == CDNS_NEXT && cdns_query_stream(q, xfr_fill, x) != 0)
			v = CDNS_DROP;
	}
	cdns_query_resume(q, v == CDNS_DROP ? CDNS_DROP : CDNS_DONE);
}

/* On the control loop: the journal is written there, so it is read there too. */
static void ixfr_read_journal(void *arg)
{
	struct xfr *x = arg;
	x->since_rc = cdns_registry_changes_since(x->view, cdns_zone_apex(x->zone),
						  x->client_serial, &x->cs);
	if (cdns_worker_post(x->worker, ixfr_resume, x) != 0)
		cdns_err("transfer: cannot hand an IXFR back to its worker (out of memory)");
}

/* The client's serial from the IXFR request's authority section (RFC 1995 §3). */
static int ixfr_client_serial(const cdns_query_t *q, uint32_t *serial)
{
	if (q->msg.hdr.count[CDNS_SEC_AUTHORITY] != 1)
		return CDNS_EFORMAT;
	size_t pos = q->msg.sec_off[CDNS_SEC_AUTHORITY];
	cdns_rr_t rr;
	if (cdns_msg_rr(&q->msg, &pos, &rr) != 0 || rr.type != CDNS_T_SOA)
		return CDNS_EFORMAT;
	uint8_t rd[CDNS_NAME_MAXLEN * 2 + 20];
	int len = cdns_rdata_unpack(q->msg.wire, q->msg.len, CDNS_T_SOA, rr.rdata_off, rr.rdlen, rd,
				    sizeof(rd));
	if (len < 20)
		return CDNS_EFORMAT;
	*serial = cdns_get32(rd + len - 20);
	return 0;
}

static cdns_verdict_t transfer_query(void *state, cdns_query_t *q)
{
	struct transfer_state *st = state;
	if (q->opcode != CDNS_OPCODE_QUERY || (q->qtype != CDNS_T_AXFR && q->qtype != CDNS_T_IXFR))
		return CDNS_NEXT;
	if (q->qtype == CDNS_T_AXFR && !cdns_query_is_tcp(q))
		return CDNS_NEXT; /* RFC 5936 §4.2: TCP only (the zone's backend answers NOTIMP) */
	cdns_zone_t *z = cdns_registry_get(q->view, q->qname);
	if (z == NULL)
		return CDNS_NEXT;
	if (!allowed(st, q)) {
		cdns_zone_unref(z);
		cdns_resp_set_rcode(q, CDNS_RCODE_REFUSED);
		cdns_resp_set_ede(q, CDNS_EDE_PROHIBITED, NULL);
		return CDNS_DONE;
	}
	struct xfr *x = cdns_query_alloc(q, sizeof(*x));
	if (x == NULL) {
		cdns_zone_unref(z);
		return CDNS_DROP;
	}
	memset(x, 0, sizeof(*x));
	x->zone = z;
	x->apex = cdns_zone_node(z, 0);
	x->soa = cdns_znode_rrset(x->apex, CDNS_T_SOA);
	if (cdns_query_on_done(q, xfr_done, x) != 0) {
		cdns_zone_unref(z);
		return CDNS_DROP;
	}
	*cdns_query_slot(q) = x;
	if (q->qtype == CDNS_T_IXFR) {
		uint32_t client;
		if (ixfr_client_serial(q, &client) != 0) {
			cdns_resp_set_rcode(q, CDNS_RCODE_FORMERR);
			return CDNS_DONE;
		}
		int cmp = cdns_serial_cmp(client, cdns_zone_serial(z));
		if (cmp == 0 || cmp == 1) {
			/* RFC 1995 §2: up to date, the answer is our SOA alone. */
			cdns_resp_set_flags(q, CDNS_FLAG_AA, 0);
			if (put_soa(q, x) != 0)
				cdns_resp_set_flags(q, CDNS_FLAG_TC, 0);
			return CDNS_DONE;
		}
		if (!cdns_query_is_tcp(q)) {
			/* RFC 1995 §2: an IXFR that does not fit UDP is retried over TCP. */
			cdns_resp_set_flags(q, CDNS_FLAG_AA | CDNS_FLAG_TC, 0);
			return CDNS_DONE;
		}
		/* The differences come from the zone's journal, read on the control loop. */
		x->q = q;
		x->worker = q->worker;
		x->client_serial = client;
		snprintf(x->view, sizeof(x->view), "%s", q->view ? q->view : "default");
		if (cdns_control_post(ixfr_read_journal, x) == 0)
			return CDNS_ASYNC;
		/* Out of memory: the whole zone, at once. */
	}
	int v = xfr_fill(x, q);
	if (v == CDNS_NEXT && cdns_query_stream(q, xfr_fill, x) != 0)
		return CDNS_DROP;
	return v == CDNS_DROP ? CDNS_DROP : CDNS_DONE;
}

static void transfer_teardown(void *state)
{
	struct transfer_state *st = state;
	if (st->subscribed)
		cdns_event_unsubscribe(CDNS_EV_ZONE_COMMITTED, zone_event_cb, st);
	if (st->subscribed_loaded)
		cdns_event_unsubscribe(CDNS_EV_ZONE_LOADED, zone_event_cb, st);
	if (st->notifier_held)
		notifier_release();
	state_free(st);
}

CDNS_PLUGIN(.name = "transfer", .version = CDNS_VERSION,
	    .description = "zone transfers to secondaries (AXFR, IXFR)", .setup = transfer_setup,
	    .activate = transfer_activate, .query = transfer_query, .teardown = transfer_teardown);
