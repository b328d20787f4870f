/* secondary: serves zones transferred from primary servers (RFC 1034 §4.3.5 refresh, RFC 1995
 * IXFR, RFC 5936 AXFR, RFC 1996 NOTIFY).
 *
 * Threads: everything that changes a zone runs on the control loop (timers, the transfer
 * client in xfrin.c, NOTIFYs handed over with cdns_control_post, registry events). Workers
 * only read: the configuration (immutable after setup) and a snapshot (zone set plus which
 * configured zones cannot be served) published with a release store and retired with
 * cdns_rcu_defer, as plugins/file does.
 *
 * Per zone: a refresh timer (SOA REFRESH after a successful check, RETRY after a failed one,
 * never below refresh_min / retry_min) and an expire timer (SOA EXPIRE after the last
 * successful check). A check asks each primary in turn for its SOA (UDP, TCP after TC); when
 * the primary's serial is newer (RFC 1982) it transfers: IXFR when we have a version (our SOA
 * in the authority section), AXFR when we have none, and AXFR again when an IXFR is refused or
 * turns out unusable. Difference sequences are merged into one changeset and committed
 * through the zone registry (so the commit event fires and the transfer plugin NOTIFYs our
 * own secondaries); a whole zone is published and announced with the same event. Nothing of
 * a failed transfer is ever installed.
 *
 * The on-disk copy (option `file`) is written after each transfer (temporary file, fsync,
 * rename, fsync of the directory) and its modification time is moved to the time of each
 * successful check, so that after a restart the zone is served at once, and its expiry is
 * still counted from the last time the primary confirmed it. With the option `journal`, the
 * changes received are also kept in the zone's journal (attached in the registry, so commits
 * append to it and the transfer plugin answers IXFR from it); a whole transfer starts it over.
 *
 * Reload (SIGHUP): the new instance takes over each zone's current version and timers from
 * the running one when it activates; the old one stops refreshing ("retired") but keeps
 * answering from its snapshot until the server drops it. */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ev.h>

#include <clouddns/clouddns.h>

#include "xfrin.h"

#define SEC_MAX_ZONES 100000
#define SEC_MAX_PRIMARIES 16
/* Checks (SOA queries and transfers) in progress at once per instance; more wait their turn,
 * so that thousands of zones starting together do not open thousands of sockets. */
#define SEC_MAX_RUNNING 32
/* SOA REFRESH and RETRY are honoured up to a day (RFC 1912 §2.2 suggests hours). */
#define SEC_INTERVAL_MAX 86400.0
/* Retry backoff while a zone has never been loaded (no SOA to take RETRY from). */
#define SEC_BOOT_RETRY_MAX 300.0

/* --- Configuration. --- */

struct zone_conf {
	const char *name;
	const cdns_conf_t *primaries;
	const char *file;
	const cdns_conf_t *key;
	bool notify_signed;
};

static const cdns_opt_def_t zone_opts[] = {
	{ "name", CDNS_OPT_STRING, offsetof(struct zone_conf, name), NULL, 0, -1, true, NULL },
	{ "primaries", CDNS_OPT_STRLIST, offsetof(struct zone_conf, primaries), NULL, 0, -1, true,
	  NULL },
	{ "file", CDNS_OPT_STRING, offsetof(struct zone_conf, file), NULL, 0, -1, false, NULL },
	{ "key", CDNS_OPT_NODE, offsetof(struct zone_conf, key), NULL, 0, -1, false, NULL },
	{ "notify_signed", CDNS_OPT_BOOL, offsetof(struct zone_conf, notify_signed), "false", 0, -1,
	  false, NULL },
	CDNS_OPT_END,
};

struct sec_conf {
	const cdns_conf_t *zones;
	int64_t refresh_min_ms, retry_min_ms, timeout_ms, max_size;
	const char *journal;
	int64_t journal_max;
};

static const cdns_opt_def_t sec_opts[] = {
	{ "zones", CDNS_OPT_NODE, offsetof(struct sec_conf, zones), NULL, 0, -1, true, NULL },
	{ "refresh_min", CDNS_OPT_DURATION, offsetof(struct sec_conf, refresh_min_ms), "2s", 1000,
	  86400000, false, NULL },
	{ "retry_min", CDNS_OPT_DURATION, offsetof(struct sec_conf, retry_min_ms), "2s", 1000,
	  86400000, false, NULL },
	{ "timeout", CDNS_OPT_DURATION, offsetof(struct sec_conf, timeout_ms), "10s", 100, 300000,
	  false, NULL },
	{ "max_transfer_size", CDNS_OPT_SIZE, offsetof(struct sec_conf, max_size), "1G", 65536,
	  (int64_t)1 << 40, false, NULL },
	{ "journal", CDNS_OPT_STRING, offsetof(struct sec_conf, journal), NULL, 0, -1, false,
	  NULL },
	{ "journal_max_size", CDNS_OPT_SIZE, offsetof(struct sec_conf, journal_max), "16M", 4096,
	  (int64_t)1 << 40, false, NULL },
	CDNS_OPT_END,
};

/* --- State. --- */

enum { PH_IDLE, PH_SOA, PH_IXFR, PH_AXFR };

/* Why a configured zone cannot be answered from (snapshot flags). */
enum { DOWN_NONE = 0, DOWN_NOT_LOADED = 1, DOWN_EXPIRED = 2 };

struct sec_state;

struct szone {
	/* Set at setup, then only read (also by workers). */
	struct sec_state *st;
	unsigned idx;
	uint8_t apex[CDNS_NAME_MAXLEN];
	char name[CDNS_NAME_MAXTEXT];
	cdns_sockaddr_t prim[SEC_MAX_PRIMARIES];
	socklen_t prim_len[SEC_MAX_PRIMARIES];
	char prim_text[SEC_MAX_PRIMARIES][INET6_ADDRSTRLEN + 16];
	unsigned n_prim;
	const char *path; /* the on-disk copy, or NULL */
	bool has_key;     /* TSIG for every request to the primaries (RFC 8945) */
	bool notify_signed; /* NOTIFY only when signed with key (verified by the tsig plugin) */
	cdns_tsig_key_t key;

	/* Control thread only. */
	cdns_zone_t *zone;  /* current version (one reference), NULL until loaded */
	cdns_journal_t *journal; /* changes received by IXFR (option journal), or NULL */
	bool expired;
	bool retired;       /* a newer instance took the zone over (reload) */
	double last_ok;     /* wall-clock time of the last successful check, 0: never */
	unsigned failures;  /* consecutive failed checks */
	ev_timer refresh, expire;
	xfrin_t *job;
	int phase;
	unsigned first, tried, cur; /* primaries: where this check started, how many tried, now */
	bool queued, again;
	unsigned again_from;
	struct szone *next_wait;
};

/* What workers read: published with a release store, retired with cdns_rcu_defer. */
struct snap {
	cdns_zoneset_t *set; /* loaded zones that are not expired */
	unsigned n_down;
	uint8_t down[];      /* per configured zone: DOWN_* */
};

struct sec_state {
	struct sec_state *next_live;
	uint64_t gen;
	struct szone *zones;
	unsigned n_zones;
	uint32_t *itab; /* apex hash table: configured zone index + 1, 0 when free */
	uint32_t imask;
	double refresh_min, retry_min, timeout;
	uint64_t max_size;
	const char *journal_dir;
	uint64_t journal_max;
	bool check_only, active, subscribed, live;
	_Atomic(struct snap *) snap;
	unsigned running;
	struct szone *wait_head, *wait_tail;
	ev_timer kick;
};

/* Every instance set up for serving and not torn down yet (control thread only). */
static struct sec_state *live;
static uint64_t generations;

/* --- Configured zones by apex (read by workers: built at setup, never changed). --- */

static int index_build(struct sec_state *st)
{
	uint32_t size = 16;
	while (size < st->n_zones * 2u)
		size *= 2;
	st->itab = calloc(size, sizeof(*st->itab));
	if (st->itab == NULL)
		return CDNS_ENOMEM;
	st->imask = size - 1;
	for (unsigned i = 0; i < st->n_zones; i++) {
		uint32_t h = cdns_name_hash(st->zones[i].apex) & st->imask;
		while (st->itab[h] != 0)
			h = (h + 1) & st->imask;
		st->itab[h] = i + 1;
	}
	return 0;
}

/* The configured zone whose apex is name (lower-cased), or NULL. */
static struct szone *index_find(const struct sec_state *st, const uint8_t *name)
{
	if (st->itab == NULL)
		return NULL;
	uint32_t h = cdns_name_hash(name) & st->imask;
	for (uint32_t i = st->itab[h]; i != 0; h = (h + 1) & st->imask, i = st->itab[h])
		if (cdns_name_equal(st->zones[i - 1].apex, name))
			return &st->zones[i - 1];
	return NULL;
}

/* --- SOA timers (RFC 1034 §4.3.5). --- */

static double dmin(double a, double b)
{
	return a < b ? a : b;
}

static double dmax(double a, double b)
{
	return a > b ? a : b;
}

struct soa_times {
	double refresh, retry, expire;
};

static struct soa_times soa_times(const struct szone *z)
{
	struct soa_times t = { z->st->refresh_min, z->st->retry_min, 0 };
	if (z->zone == NULL)
		return t;
	const cdns_rrset_t *soa = cdns_znode_rrset(cdns_zone_node(z->zone, 0), CDNS_T_SOA);
	size_t pos = 0;
	const uint8_t *rd;
	uint16_t len;
	if (soa == NULL || !cdns_rrset_next(soa, &pos, &rd, &len) || len < 22)
		return t;
	const uint8_t *f = rd + len - 20; /* SERIAL REFRESH RETRY EXPIRE MINIMUM */
	t.refresh = dmin(dmax((double)cdns_get32(f + 4), z->st->refresh_min), SEC_INTERVAL_MAX);
	t.retry = dmin(dmax((double)cdns_get32(f + 8), z->st->retry_min), SEC_INTERVAL_MAX);
	t.expire = (double)(cdns_get32(f + 12) & 0x7fffffffu);
	return t;
}

/* --- The snapshot workers answer from. --- */

static void snap_free(struct snap *s)
{
	if (s == NULL)
		return;
	cdns_zoneset_free(s->set);
	free(s);
}

static void snap_free_cb(void *arg)
{
	snap_free(arg);
}

static struct snap *snap_build(const struct sec_state *st)
{
	struct snap *s = calloc(1, sizeof(*s) + st->n_zones);
	if (s == NULL || (s->set = cdns_zoneset_new()) == NULL) {
		free(s);
		return NULL;
	}
	for (unsigned i = 0; i < st->n_zones; i++) {
		const struct szone *z = &st->zones[i];
		if (z->zone == NULL || z->expired) {
			s->down[i] = z->zone == NULL ? DOWN_NOT_LOADED : DOWN_EXPIRED;
			s->n_down++;
			continue;
		}
		if (cdns_zoneset_add(s->set, cdns_zone_ref(z->zone)) != 0) {
			cdns_zone_unref(z->zone);
			snap_free(s);
			return NULL;
		}
	}
	return s;
}

static void snap_update(struct sec_state *st)
{
	struct snap *s = snap_build(st);
	if (s == NULL) {
		cdns_err("secondary: out of memory building the zone set; answers lag behind");
		return;
	}
	struct snap *old = atomic_exchange_explicit(&st->snap, s, memory_order_acq_rel);
	if (old != NULL && cdns_rcu_defer(snap_free_cb, old) != 0)
		cdns_err("secondary: out of memory: an old zone set stays in memory");
}

/* --- The registry and the on-disk copy. --- */

static void publish(struct szone *z)
{
	if (z->zone == NULL || z->expired || z->retired || !z->st->active)
		return;
	if (cdns_registry_publish(NULL, z->zone, z->st) != 0) {
		cdns_err("secondary: zone %s: out of memory publishing it", z->name);
		return;
	}
	/* Changed only by transfers: RFC 2136 updates are refused for it. */
	cdns_registry_set_secondary(NULL, z->apex, true);
	/* Commits append our IXFR changes to it; the transfer plugin answers IXFR from it. */
	if (z->journal != NULL)
		cdns_registry_set_journal(NULL, z->apex, z->journal, CDNS_SERIAL_INCREMENT);
}

/* --- The journal of the changes received (option journal). --- */

static int journal_open(struct szone *z)
{
	char path[PATH_MAX];
	if ((size_t)snprintf(path, sizeof(path), "%s/%sjournal", z->st->journal_dir, z->name) >=
	    sizeof(path))
		return CDNS_EINVAL;
	cdns_journal_report_t rep;
	int rc = cdns_journal_open(path, z->apex, CDNS_C_IN, z->st->journal_max, 0, &z->journal,
				   &rep);
	if (rep.text[0] != '\0')
		cdns_log(rc == 0 ? CDNS_LOG_WARNING : CDNS_LOG_ERR, "secondary: zone %s: %s",
			 z->name, rep.text);
	if (rc != 0) {
		z->journal = NULL;
		cdns_err("secondary: zone %s: cannot open the journal %s: %s", z->name, path,
			 cdns_strerror(rc));
	}
	return rc;
}

/* Start the journal over (after a whole transfer its history no longer leads to the
 * current version). */
static void journal_reset(struct szone *z)
{
	if (z->journal == NULL)
		return;
	uint32_t last;
	if (cdns_journal_last_serial(z->journal, &last) != 0)
		return; /* empty already */
	cdns_registry_set_journal(NULL, z->apex, NULL, CDNS_SERIAL_INCREMENT);
	cdns_journal_close(z->journal);
	z->journal = NULL;
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/%sjournal", z->st->journal_dir, z->name);
	if (unlink(path) != 0 && errno != ENOENT)
		cdns_err("secondary: zone %s: cannot remove %s: %s", z->name, path,
			 strerror(errno));
	else
		journal_open(z);
}

static int replay_cb(void *ctx, const cdns_changeset_t *cs)
{
	struct szone *z = ctx;
	cdns_zone_t *next = NULL;
	int rc = cdns_zone_apply(z->zone, cs, NULL, NULL, &next);
	if (rc != 0)
		return rc;
	cdns_zone_unref(z->zone);
	z->zone = next;
	return 0;
}

/* On a reload that adds the journal: open it; it must end at the current version. */
static void journal_adopt(struct szone *z)
{
	if (journal_open(z) != 0 || z->zone == NULL)
		return;
	uint32_t last;
	if (cdns_journal_last_serial(z->journal, &last) == 0 && last != cdns_zone_serial(z->zone))
		journal_reset(z);
}

/* At start-up: open the journal and bring the copy up to date with it (changes received
 * after the copy was last written). A journal that does not continue from the copy starts
 * over. */
static void journal_load(struct szone *z)
{
	if (z->st->journal_dir == NULL || journal_open(z) != 0 || z->zone == NULL)
		return;
	uint32_t first, last, serial = cdns_zone_serial(z->zone);
	if (cdns_journal_first_serial(z->journal, &first) != 0)
		return;
	cdns_journal_last_serial(z->journal, &last);
	int rc = cdns_journal_read_from(z->journal, serial, replay_cb, z);
	if (rc == 0) {
		if (cdns_zone_serial(z->zone) != serial)
			cdns_notice("secondary: zone %s: journal applied to the copy: serial %u -> "
				    "%u",
				    z->name, serial, cdns_zone_serial(z->zone));
		return;
	}
	cdns_warn("secondary: zone %s: the journal (%u..%u) does not continue the copy (serial "
		  "%u): %s; it starts over",
		  z->name, first, last, serial,
		  rc == CDNS_ENOENT ? "not in it" : cdns_journal_error(z->journal));
	journal_reset(z);
}

static void fsync_dir_of(const char *path)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	if (slash == NULL) {
		strcpy(dir, ".");
	} else if (slash == path) {
		strcpy(dir, "/");
	} else {
		size_t n = (size_t)(slash - path);
		if (n >= sizeof(dir))
			return;
		memcpy(dir, path, n);
		dir[n] = '\0';
	}
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		(void)fsync(fd);
		close(fd);
	}
}

/* Write the current version to PATH.tmp, fsync, rename over PATH: a crash leaves the old
 * copy or the new one, never half of one. */
static void copy_write(struct szone *z)
{
	if (z->path == NULL || z->zone == NULL || z->retired)
		return;
	char tmp[PATH_MAX];
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", z->path) >= sizeof(tmp)) {
		cdns_err("secondary: zone %s: path too long: %s", z->name, z->path);
		return;
	}
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (f == NULL) {
		cdns_err("secondary: zone %s: cannot write %s: %s", z->name, tmp, strerror(errno));
		if (fd >= 0)
			close(fd);
		return;
	}
	int rc = cdns_zone_write(z->zone, f);
	int err = rc != 0 ? errno : 0;
	if (rc == 0 && fsync(fileno(f)) != 0) {
		rc = CDNS_EIO;
		err = errno;
	}
	if (fclose(f) != 0 && rc == 0) {
		rc = CDNS_EIO;
		err = errno;
	}
	if (rc == 0 && rename(tmp, z->path) != 0) {
		rc = CDNS_EIO;
		err = errno;
	}
	if (rc != 0) {
		cdns_err("secondary: zone %s: cannot write %s: %s", z->name, z->path,
			 err ? strerror(err) : cdns_strerror(rc));
		unlink(tmp);
		return;
	}
	fsync_dir_of(z->path);
}

/* The copy's modification time records the last successful check (for expiry after a
 * restart). */
static void copy_touch(struct szone *z)
{
	if (z->path != NULL && z->zone != NULL && !z->retired &&
	    utimensat(AT_FDCWD, z->path, NULL, 0) != 0 && errno != ENOENT)
		cdns_warn("secondary: zone %s: cannot touch %s: %s", z->name, z->path,
			  strerror(errno));
}

struct copy_load {
	cdns_zone_builder_t *b;
	int err;
};

static int copy_rr_cb(void *ctx, const cdns_zf_rr_t *rr)
{
	struct copy_load *cl = ctx;
	int rc = cdns_zone_builder_add(cl->b, rr->owner, rr->type, rr->rclass, rr->ttl, rr->rdata,
				       rr->rdlen, rr->file, rr->line);
	if (rc != 0 && cl->err == 0)
		cl->err = rc;
	return rc == CDNS_ENOMEM ? rc : 0;
}

static void copy_msg_cb(void *ctx, int severity, const char *file, unsigned line, const char *text)
{
	const struct szone *z = ctx;
	if (severity == CDNS_ZONE_ERROR)
		cdns_warn("secondary: zone %s: copy %s:%u: %s", z->name, z->path, line, text);
}

/* Read the on-disk copy, if there is one (setup, before serving). A copy that does not load
 * is only reported: the zone is transferred afresh. */
static void copy_load(struct szone *z)
{
	struct stat sb;
	if (z->path == NULL || stat(z->path, &sb) != 0)
		return;
	struct copy_load cl = { .b = cdns_zone_builder_new(z->apex, CDNS_C_IN) };
	if (cl.b == NULL)
		return;
	cdns_zf_opts_t zo = { .origin = z->apex, .rclass = CDNS_C_IN };
	cdns_zf_msg_t err;
	memset(&err, 0, sizeof(err));
	int rc = cdns_zonefile_read(z->path, &zo, copy_rr_cb, &cl, &err);
	if (rc != 0 || cl.err != 0) {
		cdns_warn("secondary: zone %s: the copy %s:%u does not load (%s): ignored", z->name,
			  z->path, err.line, rc != 0 ? err.text : cdns_strerror(cl.err));
		cdns_zone_builder_free(cl.b);
		return;
	}
	cdns_zone_t *zone = NULL;
	if (cdns_zone_builder_finish(cl.b, copy_msg_cb, z, &zone) != 0) {
		cdns_warn("secondary: zone %s: the copy %s is not a valid zone: ignored", z->name,
			  z->path);
		return;
	}
	z->zone = zone;
	z->last_ok = (double)sb.st_mtim.tv_sec + (double)sb.st_mtim.tv_nsec / 1e9;
	struct soa_times t = soa_times(z);
	double age = ev_time() - z->last_ok;
	z->expired = age >= t.expire;
	cdns_info("secondary: zone %s: serial %u from the copy %s (last confirmed %.0f s ago)%s",
		  z->name, cdns_zone_serial(zone), z->path, age > 0 ? age : 0,
		  z->expired ? "; expired: SERVFAIL until the primary answers" : "");
}

/* --- Checks: SOA query, then a transfer when the primary is ahead. --- */

static void attempt(struct szone *z);
static void check_begin(struct szone *z, unsigned first);

static void kick_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct sec_state *st = t->data;
	while (st->running < SEC_MAX_RUNNING && st->wait_head != NULL) {
		struct szone *z = st->wait_head;
		st->wait_head = z->next_wait;
		if (st->wait_head == NULL)
			st->wait_tail = NULL;
		z->next_wait = NULL;
		z->queued = false;
		if (z->retired)
			continue;
		st->running++;
		attempt(z);
	}
}

static void wait_remove(struct szone *z)
{
	struct sec_state *st = z->st;
	struct szone *prev = NULL;
	for (struct szone *w = st->wait_head; w != NULL; prev = w, w = w->next_wait) {
		if (w != z)
			continue;
		if (prev != NULL)
			prev->next_wait = w->next_wait;
		else
			st->wait_head = w->next_wait;
		if (st->wait_tail == w)
			st->wait_tail = prev;
		break;
	}
	z->next_wait = NULL;
	z->queued = false;
}

/* The check of z is over: its slot goes to the next zone waiting. */
static void job_end(struct szone *z)
{
	struct sec_state *st = z->st;
	z->phase = PH_IDLE;
	if (st->running > 0)
		st->running--;
	if (st->wait_head != NULL && st->active)
		ev_timer_start(cdns_control_loop(), &st->kick);
}

static void schedule(struct szone *z, double delay)
{
	struct ev_loop *loop = cdns_control_loop();
	ev_timer_stop(loop, &z->refresh);
	ev_timer_set(&z->refresh, delay > 0 ? delay : 0.0, 0.0);
	ev_timer_start(loop, &z->refresh);
}

static void expire_arm(struct szone *z)
{
	struct ev_loop *loop = cdns_control_loop();
	ev_timer_stop(loop, &z->expire);
	if (z->zone == NULL || z->expired)
		return;
	double left = z->last_ok + soa_times(z).expire - ev_now(loop);
	ev_timer_set(&z->expire, left > 0 ? left : 0.0, 0.0);
	ev_timer_start(loop, &z->expire);
}

static void check_ok(struct szone *z)
{
	job_end(z);
	z->failures = 0;
	z->last_ok = ev_now(cdns_control_loop());
	if (z->expired) {
		z->expired = false;
		cdns_notice("secondary: zone %s: the primary answered again: serving serial %u",
			    z->name, cdns_zone_serial(z->zone));
		snap_update(z->st);
	}
	/* Every success publishes again: repairs the registry after a failed reload. */
	publish(z);
	copy_touch(z);
	expire_arm(z);
	struct soa_times t = soa_times(z);
	if (z->again) {
		z->again = false;
		check_begin(z, z->again_from);
		return;
	}
	/* Check before the zone would expire, even if REFRESH says later. */
	schedule(z, dmax(dmin(t.refresh, t.expire), z->st->refresh_min));
}

static void check_failed(struct szone *z)
{
	job_end(z);
	z->failures++;
	double delay;
	if (z->zone != NULL) {
		delay = soa_times(z).retry;
	} else {
		/* Never loaded: back off from retry_min up to 5 minutes. */
		unsigned n = z->failures > 16 ? 16 : z->failures;
		delay = dmin(z->st->retry_min * (double)(1u << (n - 1)), SEC_BOOT_RETRY_MAX);
		delay = dmax(delay, z->st->retry_min);
	}
	cdns_warn("secondary: zone %s: no primary could be checked; next try in %.0f s%s", z->name,
		  delay, z->zone == NULL ? " (the zone has no data yet: SERVFAIL)" : "");
	if (z->again) {
		z->again = false;
		check_begin(z, z->again_from);
		return;
	}
	schedule(z, delay);
}

static void next_primary(struct szone *z)
{
	z->tried++;
	if (z->tried < z->n_prim)
		attempt(z);
	else
		check_failed(z);
}

static void soa_done(xfrin_t *x, xfrin_result_t *res, void *arg);
static void xfer_done(xfrin_t *x, xfrin_result_t *res, void *arg);

static void transfer(struct szone *z, int kind)
{
	z->phase = kind == XFRIN_IXFR ? PH_IXFR : PH_AXFR;
	xfrin_params_t prm = {
		.kind = kind,
		.apex = z->apex,
		.zone_text = z->name,
		.peer = &z->prim[z->cur],
		.peer_len = z->prim_len[z->cur],
		.current = kind == XFRIN_IXFR ? z->zone : NULL,
		.timeout = z->st->timeout,
		.max_bytes = z->st->max_size,
		.key = z->has_key ? &z->key : NULL,
	};
	int rc = xfrin_start(&prm, xfer_done, z, &z->job);
	if (rc != 0) {
		z->job = NULL;
		cdns_warn("secondary: zone %s: cannot start a transfer from %s: %s", z->name,
			  z->prim_text[z->cur],
			  rc == CDNS_EIO ? strerror(errno) : cdns_strerror(rc));
		next_primary(z);
	}
}

static void attempt(struct szone *z)
{
	z->cur = (z->first + z->tried) % z->n_prim;
	z->phase = PH_SOA;
	xfrin_params_t prm = {
		.kind = XFRIN_SOA,
		.apex = z->apex,
		.zone_text = z->name,
		.peer = &z->prim[z->cur],
		.peer_len = z->prim_len[z->cur],
		.timeout = z->st->timeout,
		.key = z->has_key ? &z->key : NULL,
	};
	int rc = xfrin_start(&prm, soa_done, z, &z->job);
	if (rc != 0) {
		z->job = NULL;
		cdns_warn("secondary: zone %s: cannot query %s: %s", z->name, z->prim_text[z->cur],
			  rc == CDNS_EIO ? strerror(errno) : cdns_strerror(rc));
		next_primary(z);
	}
}

/* Start a check now (or as soon as a slot is free), beginning with primary `first`. */
static void check_begin(struct szone *z, unsigned first)
{
	struct sec_state *st = z->st;
	if (z->retired)
		return;
	if (z->job != NULL || z->queued) {
		z->again = true;
		z->again_from = first;
		return;
	}
	ev_timer_stop(cdns_control_loop(), &z->refresh);
	z->first = first % z->n_prim;
	z->tried = 0;
	if (st->running >= SEC_MAX_RUNNING) {
		z->queued = true;
		if (st->wait_tail != NULL)
			st->wait_tail->next_wait = z;
		else
			st->wait_head = z;
		st->wait_tail = z;
		return;
	}
	st->running++;
	attempt(z);
}

static void refresh_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	check_begin(t->data, 0);
}

static void expire_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct szone *z = t->data;
	if (z->retired || z->zone == NULL || z->expired)
		return;
	z->expired = true;
	/* Not served here any more, so not transferred onward either. */
	cdns_registry_withdraw(NULL, z->apex, z->st);
	snap_update(z->st);
	cdns_warn("secondary: zone %s: expired (no successful check for %.0f s): SERVFAIL until "
		  "a primary answers",
		  z->name, soa_times(z).expire);
}

/* Install a new version: serve it, publish it, announce it, write it down. Takes over the
 * reference to fresh. cs is the change (NULL for a whole zone). */
static void install(struct szone *z, cdns_zone_t *fresh, const cdns_changeset_t *cs)
{
	cdns_zone_t *old = z->zone;
	if (z->journal != NULL) {
		/* A change applied here (not through the registry) goes to the journal here; a
		 * whole zone breaks its history. */
		if (cs == NULL || cdns_journal_append(z->journal, cs) != 0)
			journal_reset(z);
	}
	z->zone = fresh;
	z->expired = false;
	snap_update(z->st);
	publish(z);
	cdns_event_t ev = {
		.type = CDNS_EV_ZONE_COMMITTED,
		.view = "default",
		.apex = cdns_zone_apex(fresh),
		.zone = fresh,
		.old = old,
		.changeset = cs,
	};
	cdns_event_emit(&ev);
	copy_write(z);
	if (old != NULL)
		cdns_zone_unref(old);
}

struct apply_err {
	char text[256];
};

static void apply_msg_cb(void *ctx, int severity, const char *file, unsigned line, const char *text)
{
	struct apply_err *e = ctx;
	if (severity == CDNS_ZONE_ERROR && e->text[0] == '\0')
		snprintf(e->text, sizeof(e->text), "%s", text);
}

/* Apply IXFR difference sequences as one change. Returns 0, or an error with why filled. */
static int apply_incr(struct szone *z, xfrin_result_t *res, char *why, size_t whylen)
{
	cdns_changeset_t *cs = res->cs[0];
	int rc = 0;
	for (size_t i = 1; i < res->n_cs && rc == 0; i++) {
		cdns_changeset_t *m = NULL;
		rc = cdns_changeset_merge(cs, res->cs[i], &m);
		if (cs != res->cs[0])
			cdns_changeset_free(cs);
		cs = rc == 0 ? m : NULL;
	}
	if (rc != 0) {
		snprintf(why, whylen, "the difference sequences do not follow each other: %s",
			 cdns_strerror(rc));
		return rc;
	}
	size_t removed = cdns_changeset_count(cs, CDNS_CS_REMOVED);
	size_t added = cdns_changeset_count(cs, CDNS_CS_ADDED);
	uint32_t from = cdns_zone_serial(z->zone);
	/* Through the registry when it holds our version (the commit checks, swaps and emits
	 * the event); otherwise (expired and withdrawn, or the registry is out of step) apply
	 * here and publish. */
	cdns_zone_t *reg = cdns_registry_get(NULL, z->apex);
	bool via_registry = reg != NULL && reg == z->zone && z->st->active && !z->retired;
	if (reg != NULL)
		cdns_zone_unref(reg);
	cdns_zone_t *fresh = NULL;
	if (via_registry) {
		rc = cdns_registry_commit(NULL, z->apex, cs, why, whylen, &fresh);
		if (rc == 0) {
			/* Our committed_cb adopted it already; make sure. */
			if (z->zone != fresh) {
				cdns_zone_t *old = z->zone;
				z->zone = cdns_zone_ref(fresh);
				snap_update(z->st);
				cdns_zone_unref(old);
			}
			cdns_zone_unref(fresh);
			copy_write(z);
		}
	} else {
		struct apply_err e = { { 0 } };
		rc = cdns_zone_apply(z->zone, cs, apply_msg_cb, &e, &fresh);
		if (rc == 0)
			install(z, fresh, cs);
		else
			snprintf(why, whylen, "%s", e.text[0] ? e.text : cdns_strerror(rc));
	}
	if (rc == 0)
		cdns_info("secondary: zone %s: IXFR from %s: serial %u -> %u (%zu difference "
			  "sequence%s: %zu removed, %zu added)",
			  z->name, z->prim_text[z->cur], from, cdns_zone_serial(z->zone), res->n_cs,
			  res->n_cs == 1 ? "" : "s", removed, added);
	if (cs != res->cs[0])
		cdns_changeset_free(cs);
	return rc;
}

static void soa_done(xfrin_t *x, xfrin_result_t *res, void *arg)
{
	struct szone *z = arg;
	z->job = NULL;
	const char *prim = z->prim_text[z->cur];
	if (res->outcome != XFRIN_SERIAL) {
		cdns_warn("secondary: zone %s: SOA query to %s: %s", z->name, prim, res->err);
		next_primary(z);
		return;
	}
	if (z->zone == NULL) {
		cdns_info("secondary: zone %s: %s has serial %u: AXFR", z->name, prim, res->serial);
		transfer(z, XFRIN_AXFR);
		return;
	}
	uint32_t ours = cdns_zone_serial(z->zone);
	int c = cdns_serial_cmp(res->serial, ours);
	if (c == 1) {
		cdns_info("secondary: zone %s: %s has serial %u, we have %u: IXFR", z->name, prim,
			  res->serial, ours);
		transfer(z, XFRIN_IXFR);
		return;
	}
	if (c == 0)
		cdns_debug("secondary: zone %s: up to date with %s (serial %u)", z->name, prim,
			   ours);
	else
		cdns_warn("secondary: zone %s: %s has serial %u, behind ours (%u): keeping ours",
			  z->name, prim, res->serial, ours);
	check_ok(z);
}

static void xfer_done(xfrin_t *x, xfrin_result_t *res, void *arg)
{
	struct szone *z = arg;
	z->job = NULL;
	const char *prim = z->prim_text[z->cur];
	const char *what = z->phase == PH_IXFR ? "IXFR" : "AXFR";
	char why[256];
	switch (res->outcome) {
	case XFRIN_FULL: {
		cdns_zone_t *fresh = res->zone;
		res->zone = NULL;
		uint32_t from = z->zone != NULL ? cdns_zone_serial(z->zone) : 0;
		bool had = z->zone != NULL;
		install(z, fresh, NULL);
		uint32_t to = cdns_zone_serial(fresh);
		size_t rrs = cdns_zone_rr_count(fresh);
		if (had)
			cdns_info("secondary: zone %s: %s%s from %s: serial %u -> %u, %zu records "
				  "in %zu messages",
				  z->name, what, res->axfr_style ? " (answered AXFR-style)" : "",
				  prim, from, to, rrs, res->n_msgs);
		else
			cdns_info("secondary: zone %s: %s from %s: serial %u, %zu records in %zu "
				  "messages",
				  z->name, what, prim, to, rrs, res->n_msgs);
		check_ok(z);
		return;
	}
	case XFRIN_INCR:
		if (apply_incr(z, res, why, sizeof(why)) == 0) {
			check_ok(z);
			return;
		}
		cdns_warn("secondary: zone %s: IXFR from %s cannot be applied (%s): trying AXFR",
			  z->name, prim, why);
		transfer(z, XFRIN_AXFR);
		return;
	case XFRIN_UPTODATE:
		if (z->zone != NULL &&
		    cdns_serial_cmp(res->serial, cdns_zone_serial(z->zone)) != 1) {
			check_ok(z);
			return;
		}
		cdns_info("secondary: zone %s: %s answered IXFR with its SOA alone (serial %u): "
			  "trying AXFR",
			  z->name, prim, res->serial);
		transfer(z, XFRIN_AXFR);
		return;
	case XFRIN_REFUSED:
		if (z->phase == PH_IXFR) {
			cdns_info("secondary: zone %s: %s refused IXFR (rcode %u): trying AXFR",
				  z->name, prim, res->rcode);
			transfer(z, XFRIN_AXFR);
			return;
		}
		break;
	default:
		if (z->phase == PH_IXFR && res->bad_data) {
			cdns_warn("secondary: zone %s: IXFR from %s failed (%s): trying AXFR",
				  z->name, prim, res->err);
			transfer(z, XFRIN_AXFR);
			return;
		}
		break;
	}
	cdns_warn("secondary: zone %s: %s from %s failed: %s; keeping serial %u", z->name, what,
		  prim, res->err, z->zone != NULL ? cdns_zone_serial(z->zone) : 0);
	next_primary(z);
}

/* --- NOTIFY (RFC 1996): accepted on a worker, acted on in the control loop. --- */

struct notify_msg {
	uint8_t apex[CDNS_NAME_MAXLEN];
	cdns_sockaddr_t from;
};

/* Compare addresses only (a NOTIFY comes from any port), IPv4-mapped IPv6 as IPv4. */
static bool same_host(const cdns_sockaddr_t *a, const cdns_sockaddr_t *b)
{
	uint8_t x[16], y[16];
	size_t xl, yl;
	const cdns_sockaddr_t *in[2] = { a, b };
	uint8_t *out[2] = { x, y };
	size_t *len[2] = { &xl, &yl };
	for (int i = 0; i < 2; i++) {
		if (in[i]->sa.sa_family == AF_INET) {
			memcpy(out[i], &in[i]->sin.sin_addr, 4);
			*len[i] = 4;
		} else if (in[i]->sa.sa_family == AF_INET6) {
			const struct in6_addr *v6 = &in[i]->sin6.sin6_addr;
			if (IN6_IS_ADDR_V4MAPPED(v6)) {
				memcpy(out[i], (const uint8_t *)v6 + 12, 4);
				*len[i] = 4;
			} else {
				memcpy(out[i], v6, 16);
				*len[i] = 16;
			}
		} else {
			return false;
		}
	}
	return xl == yl && memcmp(x, y, xl) == 0;
}

static int primary_index(const struct szone *z, const cdns_sockaddr_t *from)
{
	for (unsigned i = 0; i < z->n_prim; i++)
		if (same_host(&z->prim[i], from))
			return (int)i;
	return -1;
}

/* The zone's current owner: the instance that is active and has not retired it. */
static struct szone *owner_of(const uint8_t *apex)
{
	for (struct sec_state *s = live; s != NULL; s = s->next_live) {
		if (!s->active)
			continue;
		struct szone *z = index_find(s, apex);
		if (z != NULL && !z->retired)
			return z;
	}
	return NULL;
}

static void notify_cb(void *arg)
{
	struct notify_msg *m = arg;
	struct szone *z = owner_of(m->apex);
	if (z != NULL) {
		int p = primary_index(z, &m->from);
		if (p >= 0) {
			cdns_info("secondary: zone %s: NOTIFY from %s: checking it", z->name,
				  z->prim_text[p]);
			/* RFC 1996 §3.11: ask the primary that sent the NOTIFY first. */
			check_begin(z, (unsigned)p);
		}
	}
	free(m);
}

static cdns_verdict_t on_notify(struct sec_state *st, cdns_query_t *q)
{
	const struct szone *z = index_find(st, q->qname);
	if (z == NULL)
		return CDNS_NEXT;
	if (primary_index(z, &q->client) < 0) {
		/* RFC 1996 §3.10: only from a known primary. */
		if (cdns_log_enabled(CDNS_LOG_INFO)) {
			char from[INET6_ADDRSTRLEN + 16];
			xfrin_addr_text(&q->client, from, sizeof(from));
			cdns_info("secondary: zone %s: NOTIFY from %s refused: not a primary",
				  z->name, from);
		}
		cdns_resp_set_rcode(q, CDNS_RCODE_REFUSED);
		return CDNS_DONE;
	}
	if (z->notify_signed &&
	    (q->tsig_key == NULL || !cdns_name_equal(q->tsig_key, z->key.name))) {
		/* Unsigned, or signed with another key. A signature that did not verify never
		 * gets here: the tsig plugin answered it (BADSIG, BADKEY, BADTIME). */
		if (cdns_log_enabled(CDNS_LOG_INFO)) {
			char from[INET6_ADDRSTRLEN + 16];
			xfrin_addr_text(&q->client, from, sizeof(from));
			cdns_info("secondary: zone %s: NOTIFY from %s refused: not signed with the "
				  "zone's key",
				  z->name, from);
		}
		cdns_resp_set_rcode(q, CDNS_RCODE_REFUSED);
		return CDNS_DONE;
	}
	if (q->qtype != CDNS_T_SOA) {
		/* RFC 1996 §3.2: only SOA is defined. */
		cdns_resp_set_rcode(q, CDNS_RCODE_NOTIMP);
		return CDNS_DONE;
	}
	/* RFC 1996 §4.7: the answer echoes the question, with QR and AA. */
	cdns_resp_set_flags(q, CDNS_FLAG_AA, 0);
	struct notify_msg *m = malloc(sizeof(*m));
	if (m != NULL) {
		memcpy(m->apex, z->apex, cdns_name_len(z->apex));
		m->from = q->client;
		if (cdns_control_post(notify_cb, m) != 0)
			free(m); /* the refresh timer will catch up */
	}
	return CDNS_DONE;
}

/* --- Answering. --- */

/* True when the deepest configured zone holding qname (deeper than the zone z answering
 * from our set, if any) cannot be served. *why gets DOWN_*. */
static bool down_covers(const struct sec_state *st, const struct snap *s, const cdns_query_t *q,
			const cdns_zone_t *z, int *why)
{
	unsigned zl = z != NULL ? cdns_name_labels(cdns_zone_apex(z)) : 0;
	unsigned skip = 0;
	/* DS at the apex of a zone we cannot serve belongs to a parent we do serve. */
	if (q->qtype == CDNS_T_DS && z != NULL)
		skip = 1;
	for (; skip <= q->qname_labels; skip++) {
		unsigned labels = q->qname_labels - skip;
		if (z != NULL && labels <= zl)
			break;
		const struct szone *d = index_find(st, cdns_name_skip(q->qname, skip));
		if (d != NULL && s->down[d->idx] != DOWN_NONE) {
			*why = s->down[d->idx];
			return true;
		}
	}
	return false;
}

static cdns_verdict_t sec_query(void *state, cdns_query_t *q)
{
	struct sec_state *st = state;
	if (q->qname_len == 0)
		return CDNS_NEXT;
	if (q->opcode == CDNS_OPCODE_NOTIFY)
		return on_notify(st, q);
	if (q->opcode != CDNS_OPCODE_QUERY)
		return CDNS_NEXT;
	const struct snap *s = atomic_load_explicit(&st->snap, memory_order_acquire);
	const cdns_zone_t *z = cdns_zoneset_find_qtype(s->set, q->qname, q->qtype);
	int why;
	if (s->n_down > 0 && down_covers(st, s, q, z, &why)) {
		if (q->qclass != CDNS_C_IN && q->qclass != CDNS_C_ANY)
			return CDNS_NEXT;
		cdns_resp_set_rcode(q, CDNS_RCODE_SERVFAIL);
		cdns_resp_set_ede(q, CDNS_EDE_NOT_READY,
				  why == DOWN_EXPIRED ? "zone expired" : "zone not loaded yet");
		return CDNS_DONE;
	}
	if (z == NULL)
		return CDNS_NEXT;
	/* Transfers no transfer plugin took are refused there, as Knot DNS does. */
	return cdns_zone_serve(z, q) ? CDNS_DONE : CDNS_NEXT;
}

/* --- Registry events: a version committed by anyone (our own IXFR commits included). --- */

static void committed_cb(const cdns_event_t *ev, void *arg)
{
	struct sec_state *st = arg;
	if (ev->view != NULL && strcmp(ev->view, "default") != 0)
		return;
	uint8_t apex[CDNS_NAME_MAXLEN];
	cdns_name_copy_lower(apex, ev->apex);
	struct szone *z = index_find(st, apex);
	if (z == NULL || ev->zone == NULL || z->zone == ev->zone)
		return;
	cdns_zone_t *old = z->zone;
	z->zone = cdns_zone_ref((cdns_zone_t *)ev->zone);
	snap_update(st);
	if (old != NULL)
		cdns_zone_unref(old);
}

/* --- Parsing options. --- */

static bool dir_exists_for(const char *path)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	if (slash == NULL)
		return true;
	size_t n = slash == path ? 1 : (size_t)(slash - path);
	if (n >= sizeof(dir))
		return false;
	memcpy(dir, path, n);
	dir[n] = '\0';
	struct stat sb;
	return stat(dir, &sb) == 0 && S_ISDIR(sb.st_mode);
}

static int parse_zone(cdns_setup_t *s, const cdns_conf_t *zn, struct sec_state *st)
{
	cdns_diag_t *d = cdns_setup_diag(s);
	const char *prefix = cdns_setup_prefix(s);
	struct zone_conf zc;
	memset(&zc, 0, sizeof(zc));
	if (cdns_conf_apply(d, prefix, zn, zone_opts, &zc) != 0)
		return CDNS_ECONFIG;
	struct szone *z = &st->zones[st->n_zones];
	const cdns_conf_t *name_node = cdns_conf_get(zn, "name");
	if (cdns_name_from_text(zc.name, strlen(zc.name), (const uint8_t *)"", z->apex) <= 0) {
		cdns_diag_error(d, name_node, "%szone name: not a domain name, got \"%s\"", prefix,
				zc.name);
		return CDNS_ECONFIG;
	}
	cdns_name_lower(z->apex);
	cdns_name_to_text(z->apex, z->name, sizeof(z->name));
	for (unsigned i = 0; i < st->n_zones; i++) {
		if (cdns_name_equal(st->zones[i].apex, z->apex)) {
			cdns_diag_error(d, name_node, "%szone '%s' is listed twice", prefix,
					zc.name);
			return CDNS_ECONFIG;
		}
	}
	/* Counted from here even if something below is wrong, so that a duplicate of it is
	 * still reported (a failed setup frees everything). */
	z->st = st;
	z->idx = st->n_zones;
	st->n_zones++;
	bool bad = false;
	const cdns_conf_t *pl = zc.primaries;
	const cdns_conf_t *it = pl->kind == CDNS_CONF_SEQ ? pl->child : pl;
	for (; it != NULL; it = pl->kind == CDNS_CONF_SEQ ? it->next : NULL) {
		if (z->n_prim == SEC_MAX_PRIMARIES) {
			cdns_diag_error(d, it, "%szone '%s': at most %d primaries", prefix, zc.name,
					SEC_MAX_PRIMARIES);
			bad = true;
			break;
		}
		if (it->value == NULL ||
		    cdns_sockaddr_parse(it->value, 53, &z->prim[z->n_prim],
					&z->prim_len[z->n_prim]) != 0) {
			cdns_diag_error(d, it,
					"%szone '%s': 'primaries' must hold addresses with an "
					"optional port such as \"192.0.2.1\", \"192.0.2.1:5300\" "
					"or \"[2001:db8::1]:5300\", got \"%s\"",
					prefix, zc.name, it->value ? it->value : "");
			bad = true;
			continue;
		}
		xfrin_addr_text(&z->prim[z->n_prim], z->prim_text[z->n_prim],
				sizeof(z->prim_text[z->n_prim]));
		z->n_prim++;
	}
	if (!bad && z->n_prim == 0) {
		cdns_diag_error(d, pl, "%szone '%s': 'primaries' is empty", prefix, zc.name);
		bad = true;
	}
	if (zc.key != NULL) {
		char subject[CDNS_NAME_MAXTEXT + 16];
		snprintf(subject, sizeof(subject), "zone '%s': ", zc.name);
		if (cdns_tsig_key_conf(d, prefix, subject, zc.key, &z->key) != 0)
			bad = true;
		else
			z->has_key = true;
	}
	if (zc.notify_signed && zc.key == NULL) {
		cdns_diag_error(d, cdns_conf_get(zn, "notify_signed"),
				"%szone '%s': 'notify_signed' needs the zone's 'key'", prefix, zc.name);
		bad = true;
	}
	z->notify_signed = zc.notify_signed;
	if (zc.file != NULL) {
		const cdns_conf_t *fnode = cdns_conf_get(zn, "file");
		z->path = cdns_setup_path(s, zc.file);
		if (z->path == NULL)
			return CDNS_ENOMEM;
		if (!dir_exists_for(z->path)) {
			cdns_diag_error(d, fnode,
					"%szone '%s': 'file': the directory of \"%s\" does not "
					"exist",
					prefix, zc.name, zc.file);
			bad = true;
		}
		for (unsigned i = 0; i < z->idx; i++) {
			if (st->zones[i].path != NULL && strcmp(st->zones[i].path, z->path) == 0) {
				cdns_diag_error(d, fnode,
						"%szone '%s': 'file' \"%s\" is already zone '%s''s",
						prefix, zc.name, zc.file, st->zones[i].name);
				bad = true;
			}
		}
	}
	return bad ? CDNS_ECONFIG : 0;
}

/* --- Life cycle. --- */

/* Callbacks into this module can outlive its last instance: snapshots retired with
 * cdns_rcu_defer run once every worker has moved on, and NOTIFYs posted to the control loop
 * run when it gets to them, both possibly after the server has torn the pipeline down and
 * dlclose()d us. So the module stays mapped for the life of the process (RTLD_NODELETE);
 * a later configuration that loads it again reuses the same copy. */
static void pin_module(void)
{
	static bool pinned;
	if (pinned)
		return;
	Dl_info info;
	if (dladdr((const void *)&live, &info) != 0 && info.dli_fname != NULL &&
	    dlopen(info.dli_fname, RTLD_NOW | RTLD_NOLOAD | RTLD_NODELETE) != NULL) {
		pinned = true; /* the handle's reference is kept on purpose */
	} else {
		const char *e = dlerror();
		cdns_warn("secondary: cannot pin the module in memory: %s",
			  e != NULL ? e : "dladdr failed");
	}
}

/* Stop working on a zone a newer instance has taken over. */
static void retire(struct szone *z)
{
	struct ev_loop *loop = cdns_control_loop();
	if (z->journal != NULL) /* not taken over: the successor has its own, or none */
		cdns_registry_set_journal(NULL, z->apex, NULL, CDNS_SERIAL_INCREMENT);
	z->retired = true;
	ev_timer_stop(loop, &z->refresh);
	ev_timer_stop(loop, &z->expire);
	if (z->queued)
		wait_remove(z);
	if (z->job != NULL) {
		xfrin_cancel(z->job);
		z->job = NULL;
		job_end(z);
	}
	z->again = false;
}

/* The instance that had taken z over is gone (its activation failed, or the server is
 * stopping): z's instance is in charge again. */
static void revive(struct szone *z)
{
	z->retired = false;
	publish(z);
	expire_arm(z);
	check_begin(z, 0);
}

static void sec_teardown(void *state)
{
	struct sec_state *st = state;
	struct ev_loop *loop = cdns_control_loop();
	if (st->subscribed)
		cdns_event_unsubscribe(CDNS_EV_ZONE_COMMITTED, committed_cb, st);
	if (st->live) {
		for (struct sec_state **pp = &live; *pp != NULL; pp = &(*pp)->next_live) {
			if (*pp == st) {
				*pp = st->next_live;
				break;
			}
		}
		ev_timer_stop(loop, &st->kick);
	}
	for (unsigned i = 0; i < st->n_zones; i++) {
		struct szone *z = &st->zones[i];
		bool was_owner = st->active && !z->retired;
		if (st->live) {
			ev_timer_stop(loop, &z->refresh);
			ev_timer_stop(loop, &z->expire);
			if (z->job != NULL)
				xfrin_cancel(z->job);
			z->job = NULL;
			cdns_registry_withdraw(NULL, z->apex, st);
		}
		struct szone *heir = NULL;
		if (was_owner) {
			/* The newest older instance still holding the zone takes it back. */
			for (struct sec_state *s = live; s != NULL; s = s->next_live) {
				struct szone *o = s->active ? index_find(s, z->apex) : NULL;
				if (o != NULL && (heir == NULL || s->gen > heir->st->gen))
					heir = o;
			}
		}
		if (z->journal != NULL) {
			/* One handle per file (it holds a lock): hand it back if it fits. */
			if (heir != NULL && heir->journal == NULL &&
			    heir->st->journal_dir != NULL &&
			    strcmp(heir->st->journal_dir, st->journal_dir) == 0) {
				heir->journal = z->journal;
			} else {
				if (was_owner)
					cdns_registry_set_journal(NULL, z->apex, NULL,
								  CDNS_SERIAL_INCREMENT);
				cdns_journal_close(z->journal);
			}
			z->journal = NULL;
		}
		if (heir != NULL)
			revive(heir);
		if (z->zone != NULL)
			cdns_zone_unref(z->zone);
	}
	/* No worker uses this instance any more. */
	snap_free(atomic_load(&st->snap));
	free(st->itab);
	free(st->zones);
	free(st);
}

static int sec_setup(cdns_setup_t *s, const cdns_conf_t *opts, void **state)
{
	cdns_diag_t *d = cdns_setup_diag(s);
	const char *prefix = cdns_setup_prefix(s);
	struct sec_conf cfg;
	memset(&cfg, 0, sizeof(cfg));
	/* Report the zones' errors too when another option is wrong (all errors at once). */
	bool bad = cdns_conf_apply(d, prefix, opts, sec_opts, &cfg) != 0;
	if (cfg.zones == NULL)
		return CDNS_ECONFIG;
	if (cdns_conf_check_list(d, prefix, cfg.zones, "zones", "{name: ..., primaries: [...]}",
				 SEC_MAX_ZONES, "zones") != 0)
		return CDNS_ECONFIG;
	struct sec_state *st = calloc(1, sizeof(*st));
	if (st == NULL)
		return CDNS_ENOMEM;
	st->zones = calloc(cfg.zones->n_children, sizeof(*st->zones));
	if (st->zones == NULL) {
		free(st);
		return CDNS_ENOMEM;
	}
	st->refresh_min = (double)cfg.refresh_min_ms / 1000.0;
	st->retry_min = (double)cfg.retry_min_ms / 1000.0;
	st->timeout = (double)cfg.timeout_ms / 1000.0;
	st->max_size = (uint64_t)cfg.max_size;
	st->journal_max = (uint64_t)cfg.journal_max;
	if (cfg.journal != NULL) {
		st->journal_dir = cdns_setup_path(s, cfg.journal);
		struct stat sb;
		if (st->journal_dir == NULL || stat(st->journal_dir, &sb) != 0 ||
		    !S_ISDIR(sb.st_mode)) {
			cdns_diag_error(d, cdns_conf_get(opts, "journal"),
					"%soption 'journal': must be an existing directory, got "
					"\"%s\"",
					prefix, cfg.journal);
			bad = true;
		}
	}
	st->check_only = cdns_setup_check_only(s);
	for (const cdns_conf_t *zn = cfg.zones->child; zn != NULL; zn = zn->next) {
		int rc = parse_zone(s, zn, st);
		if (rc == CDNS_ENOMEM) {
			sec_teardown(st);
			return rc;
		}
		if (rc != 0)
			bad = true;
	}
	if (bad) {
		sec_teardown(st);
		return CDNS_ECONFIG;
	}
	if (index_build(st) != 0) {
		sec_teardown(st);
		return CDNS_ENOMEM;
	}
	for (unsigned i = 0; i < st->n_zones; i++) {
		struct szone *z = &st->zones[i];
		ev_init(&z->refresh, refresh_cb);
		z->refresh.data = z;
		ev_init(&z->expire, expire_cb);
		z->expire.data = z;
	}
	ev_timer_init(&st->kick, kick_cb, 0.0, 0.0);
	st->kick.data = st;
	if (st->check_only) {
		*state = st;
		return 0;
	}
	pin_module();
	/* After a restart the copy on disk is served at once; on a reload the running instance
	 * hands its version over at activation instead. */
	for (unsigned i = 0; i < st->n_zones; i++) {
		struct szone *z = &st->zones[i];
		if (owner_of(z->apex) != NULL)
			continue;
		copy_load(z);
		uint32_t serial = z->zone != NULL ? cdns_zone_serial(z->zone) : 0;
		journal_load(z);
		if (z->zone != NULL && cdns_zone_serial(z->zone) != serial)
			copy_write(z);
	}
	struct snap *sn = snap_build(st);
	if (sn == NULL) {
		sec_teardown(st);
		return CDNS_ENOMEM;
	}
	atomic_init(&st->snap, sn);
	st->gen = ++generations;
	st->live = true;
	st->next_live = live;
	live = st;
	*state = st;
	return 0;
}

static int sec_activate(void *state)
{
	struct sec_state *st = state;
	struct ev_loop *loop = cdns_control_loop();
	double now = ev_now(loop);
	bool changed = false;
	for (unsigned i = 0; i < st->n_zones; i++) {
		struct szone *z = &st->zones[i];
		struct szone *o = owner_of(z->apex);
		double delay = 0.0; /* check at once, unless taken over mid-cycle */
		if (o != NULL) {
			/* Reload: take over the running instance's version and timers. */
			if (o->zone != z->zone) {
				if (z->zone != NULL)
					cdns_zone_unref(z->zone);
				z->zone = o->zone != NULL ? cdns_zone_ref(o->zone) : NULL;
				changed = true;
			}
			if (z->expired != o->expired)
				changed = true;
			z->expired = o->expired;
			z->last_ok = o->last_ok;
			z->failures = o->failures;
			if (z->journal == NULL && o->journal != NULL && st->journal_dir != NULL &&
			    strcmp(st->journal_dir, o->st->journal_dir) == 0) {
				z->journal = o->journal; /* one handle per file (it holds a lock) */
				o->journal = NULL;
			}
			if (o->job == NULL && !o->queued && ev_is_active(&o->refresh))
				delay = ev_timer_remaining(loop, &o->refresh);
			retire(o);
			if (z->journal == NULL && st->journal_dir != NULL)
				journal_adopt(z);
		}
		schedule(z, delay);
	}
	st->active = true;
	for (unsigned i = 0; i < st->n_zones; i++) {
		struct szone *z = &st->zones[i];
		if (z->zone != NULL && !z->expired && z->last_ok + soa_times(z).expire <= now) {
			z->expired = true;
			changed = true;
		}
		expire_arm(z);
		publish(z);
	}
	if (changed)
		snap_update(st);
	if (cdns_event_subscribe(CDNS_EV_ZONE_COMMITTED, committed_cb, st) != 0)
		return CDNS_ENOMEM;
	st->subscribed = true;
	return 0;
}

CDNS_PLUGIN(.name = "secondary", .version = CDNS_VERSION,
	    .description = "zones transferred from primaries (AXFR, IXFR, NOTIFY)",
	    .setup = sec_setup, .activate = sec_activate, .query = sec_query,
	    .teardown = sec_teardown);
