/* file: serves zones from master files. Zones are read at setup (so "clouddns -t" checks them
 * too), answered with the library's RFC 1034 algorithm, and re-read when their files change:
 * on SIGHUP (the new pipeline reuses every zone whose files did not change) and, optionally,
 * every `reload` interval. A file that fails to load is reported and the zone keeps its last
 * good version. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ev.h>

#include <clouddns/clouddns.h>

#define FILE_MAX_ZONES 100000

struct zone_conf {
	const char *name;
	const char *path;
};

static const cdns_opt_def_t zone_opts[] = {
	{ "name", CDNS_OPT_STRING, offsetof(struct zone_conf, name), NULL, 0, -1, true, NULL },
	{ "path", CDNS_OPT_STRING, offsetof(struct zone_conf, path), NULL, 0, -1, true, NULL },
	CDNS_OPT_END,
};

struct file_conf {
	const cdns_conf_t *zones;
	int64_t reload_ms;
	const char *journal;
	int serial_policy;
	int64_t journal_max;
};

static const char *const serial_policies[] = { "increment", "unixtime", "dateserial", NULL };

static const cdns_opt_def_t file_opts[] = {
	{ "zones", CDNS_OPT_NODE, offsetof(struct file_conf, zones), NULL, 0, -1, true, NULL },
	{ "reload", CDNS_OPT_DURATION, offsetof(struct file_conf, reload_ms), "0", 0, 86400000,
	  false, NULL },
	{ "journal", CDNS_OPT_STRING, offsetof(struct file_conf, journal), NULL, 0, -1, false,
	  NULL },
	{ "journal_max_size", CDNS_OPT_SIZE, offsetof(struct file_conf, journal_max), "16M", 4096,
	  (int64_t)1 << 40, false, NULL },
	{ "serial_policy", CDNS_OPT_ENUM, offsetof(struct file_conf, serial_policy), "increment", 0,
	  -1, false, serial_policies },
	CDNS_OPT_END,
};

/* --- Files read for a zone, to notice changes. --- */

struct stamp {
	char *path;
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
};

static int stamp_take(struct stamp *s, const char *path)
{
	struct stat st;
	if (stat(path, &st) != 0)
		return -1;
	s->dev = st.st_dev;
	s->ino = st.st_ino;
	s->size = st.st_size;
	s->mtime = st.st_mtim;
	return 0;
}

static bool stamp_changed(const struct stamp *s)
{
	struct stamp now;
	if (stamp_take(&now, s->path) != 0)
		return true;
	return now.dev != s->dev || now.ino != s->ino || now.size != s->size ||
	       now.mtime.tv_sec != s->mtime.tv_sec || now.mtime.tv_nsec != s->mtime.tv_nsec;
}

/* A loaded zone and the files it came from. Kept across reloads (the plugin's .so stays
 * loaded while the old and the new pipeline both exist), touched only on the control thread. */
struct loaded {
	struct loaded *next;
	uint8_t apex[CDNS_NAME_MAXLEN];
	char *path;
	cdns_zone_t *zone; /* one reference held by the cache */
	cdns_journal_t *journal; /* when the instance has a journal directory */
	struct stamp *files;
	unsigned n_files;
	uint64_t journal_warned; /* journal size / journal_max_size last warned about */
	uint64_t digest;         /* of the bytes of files[] when read (journal only) */
	bool has_digest;
	bool used; /* by the instance being set up */
};

static struct loaded *cache;
static unsigned instances;

static void loaded_free(struct loaded *l)
{
	if (l->journal != NULL) {
		cdns_registry_set_journal(NULL, l->apex, NULL, CDNS_SERIAL_INCREMENT);
		cdns_journal_close(l->journal);
	}
	for (unsigned i = 0; i < l->n_files; i++)
		free(l->files[i].path);
	free(l->files);
	free(l->path);
	if (l->zone != NULL)
		cdns_zone_unref(l->zone);
	free(l);
}

static struct loaded *cache_find(const uint8_t *apex, const char *path)
{
	for (struct loaded *l = cache; l != NULL; l = l->next)
		if (cdns_name_equal(l->apex, apex) && strcmp(l->path, path) == 0)
			return l;
	return NULL;
}

static bool loaded_changed(const struct loaded *l)
{
	for (unsigned i = 0; i < l->n_files; i++)
		if (stamp_changed(&l->files[i]))
			return true;
	return false;
}

/* --- Reading one zone. --- */

struct load_ctx {
	cdns_zone_builder_t *b;
	struct stamp *files;
	unsigned n_files;
	const char *last_file;
	int err;
	char zone_text[CDNS_NAME_MAXTEXT];
	const char *path; /* the zone's file, for findings about the whole zone */
	/* Where findings go: the diagnostics at setup, the log later. */
	cdns_diag_t *diag;
	unsigned errors;
};

static void note_file(struct load_ctx *lc, const char *file)
{
	if (file == lc->last_file)
		return;
	lc->last_file = file;
	for (unsigned i = 0; i < lc->n_files; i++)
		if (strcmp(lc->files[i].path, file) == 0)
			return;
	struct stamp *n = realloc(lc->files, sizeof(*n) * (lc->n_files + 1));
	if (n == NULL)
		return;
	lc->files = n;
	memset(&n[lc->n_files], 0, sizeof(*n));
	n[lc->n_files].path = strdup(file);
	if (n[lc->n_files].path != NULL && stamp_take(&n[lc->n_files], file) == 0)
		lc->n_files++;
	else
		free(n[lc->n_files].path);
}

static int load_rr_cb(void *ctx, const cdns_zf_rr_t *rr)
{
	struct load_ctx *lc = ctx;
	note_file(lc, rr->file);
	int rc = cdns_zone_builder_add(lc->b, rr->owner, rr->type, rr->rclass, rr->ttl, rr->rdata,
				       rr->rdlen, rr->file, rr->line);
	if (rc == CDNS_ENOMEM)
		return rc;
	if (rc != 0) {
		char owner[CDNS_NAME_MAXTEXT];
		cdns_name_to_text(rr->owner, owner, sizeof(owner));
		if (lc->diag != NULL)
			cdns_diag_error_at(lc->diag, rr->file, rr->line, 1,
					   "zone %s: record %s cannot be in a zone: %s", lc->zone_text,
					   owner, cdns_strerror(rc));
		else
			cdns_err("%s:%u: zone %s: record %s cannot be in a zone: %s", rr->file,
				 rr->line, lc->zone_text, owner, cdns_strerror(rc));
		lc->errors++;
	}
	return 0;
}

static void load_warn_cb(void *ctx, const cdns_zf_msg_t *m)
{
	struct load_ctx *lc = ctx;
	cdns_warn("%s:%u:%u: zone %s: %s", m->file, m->line, m->col, lc->zone_text, m->text);
}

static void build_msg_cb(void *ctx, int severity, const char *file, unsigned line, const char *text)
{
	struct load_ctx *lc = ctx;
	if (severity == CDNS_ZONE_ERROR) {
		lc->errors++;
		if (lc->diag != NULL) {
			if (file != NULL)
				cdns_diag_error_at(lc->diag, file, line, 1, "zone %s: %s", lc->zone_text,
						   text);
			else
				cdns_diag_error_at(lc->diag, lc->path, 0, 0, "zone %s: %s",
						   lc->zone_text, text);
			return;
		}
		if (file != NULL)
			cdns_err("%s:%u: zone %s: %s", file, line, lc->zone_text, text);
		else
			cdns_err("%s: zone %s: %s", lc->path, lc->zone_text, text);
		return;
	}
	if (file != NULL)
		cdns_warn("%s:%u: zone %s: %s", file, line, lc->zone_text, text);
	else
		cdns_warn("%s: zone %s: %s", lc->path, lc->zone_text, text);
}

/* Read path as the zone apex. On success *out holds a new loaded entry. Errors go to diag when
 * given, else to the log. */
static int load_zone(const uint8_t *apex, const char *path, cdns_diag_t *diag,
		     struct loaded **out)
{
	struct load_ctx lc = { .diag = diag, .path = path };
	cdns_name_to_text(apex, lc.zone_text, sizeof(lc.zone_text));
	lc.b = cdns_zone_builder_new(apex, CDNS_C_IN);
	if (lc.b == NULL)
		return CDNS_ENOMEM;
	/* The top file is watched even if it holds no record. */
	note_file(&lc, path);
	cdns_zf_opts_t zo = {
		.origin = apex,
		.rclass = CDNS_C_IN,
		.max_include_depth = 8,
		.warn = load_warn_cb,
	};
	cdns_zf_msg_t err;
	memset(&err, 0, sizeof(err));
	int rc = cdns_zonefile_read(path, &zo, load_rr_cb, &lc, &err);
	cdns_zone_t *zone = NULL;
	if (rc != 0 || lc.errors > 0) {
		if (rc == CDNS_ESYNTAX || rc == CDNS_EIO) {
			const char *f = err.file ? err.file : path;
			if (diag != NULL) {
				if (err.line > 0)
					cdns_diag_error_at(diag, f, err.line, err.col, "zone %s: %s",
							   lc.zone_text, err.text);
				else
					cdns_diag_error_at(diag, NULL, 0, 0, "%s: zone %s: %s", f,
							   lc.zone_text, err.text);
			} else if (err.line > 0) {
				cdns_err("%s:%u:%u: zone %s: %s", f, err.line, err.col, lc.zone_text,
					 err.text);
			} else {
				cdns_err("%s: zone %s: %s", f, lc.zone_text, err.text);
			}
		} else if (rc != 0) {
			if (diag != NULL)
				cdns_diag_error_at(diag, NULL, 0, 0, "%s: zone %s: %s", path,
						   lc.zone_text, cdns_strerror(rc));
			else
				cdns_err("%s: zone %s: %s", path, lc.zone_text, cdns_strerror(rc));
		}
		cdns_zone_builder_free(lc.b);
		rc = rc != 0 ? rc : CDNS_EINVAL;
		goto fail;
	}
	rc = cdns_zone_builder_finish(lc.b, build_msg_cb, &lc, &zone);
	if (rc != 0)
		goto fail;
	struct loaded *l = calloc(1, sizeof(*l));
	if (l == NULL || (l->path = strdup(path)) == NULL) {
		free(l);
		cdns_zone_unref(zone);
		rc = CDNS_ENOMEM;
		goto fail;
	}
	memcpy(l->apex, apex, cdns_name_len(apex));
	l->zone = zone;
	l->files = lc.files;
	l->n_files = lc.n_files;
	*out = l;
	cdns_info("zone %s loaded from %s: serial %u, %zu records", lc.zone_text, path,
		  cdns_zone_serial(zone), cdns_zone_rr_count(zone));
	return 0;
fail:
	for (unsigned i = 0; i < lc.n_files; i++)
		free(lc.files[i].path);
	free(lc.files);
	return rc;
}

/* --- The instance. --- */

struct zdef {
	uint8_t apex[CDNS_NAME_MAXLEN];
	const char *path;
};

struct file_state {
	struct zdef *zones;
	unsigned n_zones;
	int64_t reload_ms;
	bool check_only;
	const char *journal_dir;
	int64_t journal_max;
	int serial_policy;
	bool subscribed;
	_Atomic(cdns_zoneset_t *) set;
	ev_timer timer;
	bool timer_on;
};

/* A zone set from the cache entries of this instance's zones. */
static cdns_zoneset_t *build_set(struct file_state *st)
{
	cdns_zoneset_t *set = cdns_zoneset_new();
	if (set == NULL)
		return NULL;
	for (unsigned i = 0; i < st->n_zones; i++) {
		struct loaded *l = cache_find(st->zones[i].apex, st->zones[i].path);
		if (l == NULL || l->zone == NULL)
			continue;
		if (cdns_zoneset_add(set, cdns_zone_ref(l->zone)) != 0) {
			cdns_zone_unref(l->zone);
			cdns_zoneset_free(set);
			return NULL;
		}
	}
	return set;
}

static void set_free_cb(void *arg)
{
	cdns_zoneset_free(arg);
}

/* Make this instance's zones the current ones in the registry (for transfers, updates). */
static void publish_all(struct file_state *st)
{
	const cdns_zoneset_t *set = atomic_load(&st->set);
	for (size_t i = 0; i < cdns_zoneset_count(set); i++)
		if (cdns_registry_publish(NULL, (cdns_zone_t *)cdns_zoneset_get(set, i), st) != 0)
			cdns_err("file: out of memory publishing a zone");
	for (unsigned i = 0; i < st->n_zones; i++) {
		struct loaded *l = cache_find(st->zones[i].apex, st->zones[i].path);
		if (l != NULL && l->journal != NULL)
			cdns_registry_set_journal(NULL, l->apex, l->journal, st->serial_policy);
	}
}

/* --- Snapshots: the zone as of a serial, beside its journal, so the journal can shrink. ---
 *
 * The zone file is not rewritten, so the journal is the only durable copy of the changes
 * since the file's serial. Past journal_max_size, the current version is written to
 * DIR/<zone>snapshot (temporary file, fsync, rename, fsync of the directory), headed by the
 * serial and a digest of the zone file(s) it grew from; only then is the journal trimmed to
 * half the limit (the changes up to the snapshot may go; the newest are kept for IXFR). At
 * start-up and on reload, a snapshot whose digest matches the zone file as read now is
 * loaded instead of the file and the journal replayed on top of it; when the file changed
 * (another digest), the snapshot is stale and the journal logic of the file applies. */

static void snapshot_path(const struct file_state *st, const char *zone_text, char *out,
			  size_t len)
{
	snprintf(out, len, "%s/%ssnapshot", st->journal_dir, zone_text);
}

/* FNV-1a (64 bits) over the bytes of every file the zone was read from. */
static int files_digest(const struct loaded *l, uint64_t *out)
{
	uint64_t h = 1469598103934665603ull;
	uint8_t buf[65536];
	for (unsigned i = 0; i < l->n_files; i++) {
		int fd = open(l->files[i].path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return -1;
		ssize_t n;
		while ((n = read(fd, buf, sizeof(buf))) > 0)
			for (ssize_t k = 0; k < n; k++)
				h = (h ^ buf[k]) * 1099511628211ull;
		close(fd);
		if (n < 0)
			return -1;
		h = (h ^ 0x100) * 1099511628211ull; /* between files */
	}
	*out = h;
	return 0;
}

static int sync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int rc = fsync(fd);
	close(fd);
	return rc;
}

static int write_snapshot(const struct file_state *st, const struct loaded *l,
			  const char *zone_text)
{
	char path[4096], tmp[4200];
	snapshot_path(st, zone_text, path, sizeof(path));
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (f == NULL) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	fprintf(f, "; clouddns snapshot of %s serial %u, zone file digest %016llx\n", zone_text,
		cdns_zone_serial(l->zone), (unsigned long long)l->digest);
	int rc = cdns_zone_write(l->zone, f);
	if (fflush(f) != 0 || fsync(fileno(f)) != 0)
		rc = -1;
	if (fclose(f) != 0)
		rc = -1;
	if (rc != 0 || rename(tmp, path) != 0 || sync_dir(st->journal_dir) != 0) {
		unlink(tmp);
		return -1;
	}
	return 0;
}

/* The serial and digest in a snapshot's first line; -1 when there is none (or unreadable). */
static int read_snapshot_header(const char *path, const char *zone_text, uint32_t *serial,
				uint64_t *digest)
{
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return -1;
	char line[CDNS_NAME_MAXTEXT + 128], name[CDNS_NAME_MAXTEXT + 1];
	unsigned long long d = 0;
	int ok = fgets(line, sizeof(line), f) != NULL &&
		 sscanf(line, "; clouddns snapshot of %1021s serial %u, zone file digest %llx",
			name, serial, &d) == 3 &&
		 strcmp(name, zone_text) == 0;
	fclose(f);
	*digest = d;
	return ok ? 0 : -1;
}

/* Past journal_max_size: snapshot, then trim the journal to half of it. */
static void journal_size_check(const struct file_state *st, struct loaded *l)
{
	if (l->journal == NULL || st->journal_max <= 0 || !l->has_digest)
		return;
	uint64_t size = cdns_journal_size(l->journal), max = (uint64_t)st->journal_max;
	if (size <= max)
		return;
	char zone[CDNS_NAME_MAXTEXT];
	cdns_name_to_text(l->apex, zone, sizeof(zone));
	uint32_t serial = cdns_zone_serial(l->zone);
	if (write_snapshot(st, l, zone) != 0) {
		if (size / max > l->journal_warned) {
			l->journal_warned = size / max;
			cdns_warn("zone %s: cannot write the snapshot (%s): the journal (%llu bytes) "
				  "keeps every change",
				  zone, strerror(errno), (unsigned long long)size);
		}
		return;
	}
	int rc = cdns_journal_trim(l->journal, serial, max / 2);
	if (rc != 0) {
		cdns_warn("zone %s: snapshot at serial %u written, but the journal was not trimmed: %s",
			  zone, serial, cdns_journal_error(l->journal));
		return;
	}
	cdns_info("zone %s: snapshot at serial %u written; journal trimmed from %llu to %llu bytes",
		  zone, serial, (unsigned long long)size,
		  (unsigned long long)cdns_journal_size(l->journal));
}

/* A change was committed (RFC 2136 update, API...): serve the new version. */
static void committed_cb(const cdns_event_t *ev, void *arg)
{
	struct file_state *st = arg;
	if (ev->view != NULL && strcmp(ev->view, "default") != 0)
		return;
	bool ours = false;
	for (unsigned i = 0; i < st->n_zones; i++) {
		if (!cdns_name_equal(st->zones[i].apex, ev->apex))
			continue;
		struct loaded *l = cache_find(st->zones[i].apex, st->zones[i].path);
		if (l == NULL)
			continue;
		ours = true;
		if (l->zone != ev->zone) {
			cdns_zone_unref(l->zone);
			l->zone = cdns_zone_ref((cdns_zone_t *)ev->zone);
		}
		journal_size_check(st, l);
	}
	if (!ours)
		return;
	cdns_zoneset_t *set = build_set(st);
	if (set == NULL) {
		cdns_err("file: out of memory building the zone set; a committed change is not "
			 "served yet");
		return;
	}
	cdns_zoneset_t *old = atomic_exchange_explicit(&st->set, set, memory_order_acq_rel);
	if (old != NULL && cdns_rcu_defer(set_free_cb, old) != 0)
		cdns_err("file: out of memory: an old zone set stays in memory");
}


/* --- Journals: changes made at run time, on top of the zone file. --- */

static int replay_cb(void *ctx, const cdns_changeset_t *cs)
{
	struct loaded *l = ctx;
	cdns_zone_t *next = NULL;
	int rc = cdns_zone_apply(l->zone, cs, NULL, NULL, &next);
	if (rc != 0)
		return rc;
	cdns_zone_unref(l->zone);
	l->zone = next;
	return 0;
}

static int journal_open(const char *path, const uint8_t *apex, int64_t max, cdns_journal_t **j)
{
	cdns_journal_report_t rep;
	/* MANUAL: the journal is the only durable copy of the run-time changes (the zone file is
	 * not rewritten), so no append may drop the oldest ones to stay within max; past max a
	 * snapshot is written first, then the journal trimmed (journal_size_check). */
	int rc = cdns_journal_open(path, apex, CDNS_C_IN, (uint64_t)max, CDNS_JOURNAL_MANUAL, j,
				   &rep);
	if (rep.text[0] != '\0')
		cdns_log(rc == 0 ? CDNS_LOG_WARNING : CDNS_LOG_ERR, "%s", rep.text);
	return rc;
}

/* Bring a zone just read from its file up to date with its journal (opening the journal if
 * the entry has none yet). The journal continues from the file's serial; when the file's
 * serial is not in it (the file was edited), the file wins and the journal starts over. */
/* Serve the snapshot at path instead of what the zone file gave. */
static int load_snapshot(struct loaded *l, const char *path)
{
	struct loaded *snap = NULL;
	int rc = load_zone(l->apex, path, NULL, &snap);
	if (rc != 0)
		return rc;
	cdns_zone_unref(l->zone);
	l->zone = cdns_zone_ref(snap->zone);
	loaded_free(snap);
	return 0;
}

static int journal_restart(struct file_state *st, struct loaded *l, const char *path)
{
	cdns_journal_close(l->journal);
	l->journal = NULL;
	if (unlink(path) != 0)
		return CDNS_EIO;
	return journal_open(path, l->apex, st->journal_max, &l->journal);
}

/* Bring a zone just read from its file up to date with its snapshot and journal (opening the
 * journal if the entry has none yet). The journal continues from the snapshot's serial when
 * the snapshot was made from this very file content, else from the file's serial; when that
 * serial is not in it (the file was edited), the file wins and the journal starts over. */
static int journal_sync(struct file_state *st, struct loaded *l, const char *zone_text)
{
	if (st->journal_dir == NULL)
		return 0;
	char path[4096], snap[4096];
	snprintf(path, sizeof(path), "%s/%sjournal", st->journal_dir, zone_text);
	snapshot_path(st, zone_text, snap, sizeof(snap));
	int rc;
	if (l->journal == NULL && (rc = journal_open(path, l->apex, st->journal_max, &l->journal)) != 0) {
		cdns_err("zone %s: cannot open journal %s: %s", zone_text, path, cdns_strerror(rc));
		return rc;
	}
	uint32_t snap_serial;
	uint64_t snap_digest;
	bool from_snapshot = false;
	if (read_snapshot_header(snap, zone_text, &snap_serial, &snap_digest) == 0) {
		if (l->has_digest && snap_digest == l->digest) {
			/* Fail closed: the snapshot holds acknowledged changes the file lacks. */
			if ((rc = load_snapshot(l, snap)) != 0) {
				cdns_err("zone %s: the snapshot %s does not load: %s", zone_text, snap,
					 cdns_strerror(rc));
				return rc;
			}
			from_snapshot = true;
		} else {
			cdns_warn("zone %s: the zone file changed since the snapshot at serial %u was "
				  "written: the snapshot is set aside",
				  zone_text, snap_serial);
			unlink(snap);
		}
	}
	uint32_t first, last, serial = cdns_zone_serial(l->zone);
	if (cdns_journal_first_serial(l->journal, &first) != 0)
		return 0; /* empty */
	cdns_journal_last_serial(l->journal, &last);
	rc = cdns_journal_read_from(l->journal, serial, replay_cb, l);
	if (rc == 0) {
		if (serial != last)
			cdns_notice("zone %s: journal applied: serial %u -> %u", zone_text, serial,
				    cdns_zone_serial(l->zone));
		return 0;
	}
	if (rc != CDNS_ENOENT) {
		cdns_err("zone %s: journal %s: %s", zone_text, path, cdns_journal_error(l->journal));
		return rc;
	}
	if (from_snapshot) {
		cdns_warn("zone %s: the snapshot's serial %u is not in the journal (%u..%u): serving "
			  "the snapshot; the journal starts over from it",
			  zone_text, serial, first, last);
		return journal_restart(st, l, path);
	}
	cdns_warn("zone %s: the zone file's serial %u is not in the journal (%u..%u): the file "
		  "was edited; the journal starts over from it",
		  zone_text, serial, first, last);
	return journal_restart(st, l, path);
}

/* (Re)load the zones whose files changed; returns how many changed. */
static unsigned refresh(struct file_state *st, cdns_diag_t *diag, unsigned *failed)
{
	unsigned changed = 0;
	*failed = 0;
	for (unsigned i = 0; i < st->n_zones; i++) {
		struct zdef *z = &st->zones[i];
		struct loaded *old = cache_find(z->apex, z->path);
		if (old != NULL && !loaded_changed(old)) {
			old->used = true;
			continue;
		}
		struct loaded *fresh = NULL;
		/* With a good version to fall back on, a broken file is only logged. */
		int rc = load_zone(z->apex, z->path, old != NULL ? NULL : diag, &fresh);
		if (rc != 0) {
			(*failed)++;
			if (old != NULL) {
				char name[CDNS_NAME_MAXTEXT];
				cdns_name_to_text(z->apex, name, sizeof(name));
				cdns_err("zone %s: keeping serial %u (the last good version)", name,
					 cdns_zone_serial(old->zone));
				old->used = true;
			}
			continue;
		}
		fresh->used = true;
		if (!st->check_only && st->journal_dir != NULL)
			fresh->has_digest = files_digest(fresh, &fresh->digest) == 0;
		if (!st->check_only) {
			char name[CDNS_NAME_MAXTEXT];
			cdns_name_to_text(z->apex, name, sizeof(name));
			if (old != NULL) {
				fresh->journal = old->journal; /* one handle per journal file */
				old->journal = NULL;
			}
			if (journal_sync(st, fresh, name) != 0) {
				(*failed)++;
				if (old != NULL) {
					old->journal = fresh->journal;
					fresh->journal = NULL;
					old->used = true;
				} else if (diag != NULL) {
					cdns_diag_error_at(diag, NULL, 0, 0,
							   "zone %s: the journal cannot be used", name);
				}
				loaded_free(fresh);
				continue;
			}
		}
		if (old != NULL) {
			/* Same place in the list; the old zone lives on in sets that hold it. */
			fresh->next = old->next;
			struct loaded **pp = &cache;
			while (*pp != old)
				pp = &(*pp)->next;
			*pp = fresh;
			loaded_free(old);
		} else {
			fresh->next = cache;
			cache = fresh;
		}
		changed++;
	}
	return changed;
}

static void reload_timer_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct file_state *st = t->data;
	unsigned failed;
	if (refresh(st, NULL, &failed) == 0)
		return;
	cdns_zoneset_t *set = build_set(st);
	if (set == NULL) {
		cdns_err("file: out of memory building the zone set; keeping the previous one");
		return;
	}
	cdns_zoneset_t *old = atomic_exchange_explicit(&st->set, set, memory_order_acq_rel);
	publish_all(st);
	if (old != NULL && cdns_rcu_defer(set_free_cb, old) != 0)
		cdns_err("file: out of memory: an old zone set stays in memory");
}

static void file_teardown(void *state)
{
	struct file_state *st = state;
	if (st->timer_on)
		ev_timer_stop(cdns_control_loop(), &st->timer);
	if (st->subscribed)
		cdns_event_unsubscribe(CDNS_EV_ZONE_COMMITTED, committed_cb, st);
	/* No worker uses this instance any more: free at once. */
	for (unsigned i = 0; i < st->n_zones; i++)
		cdns_registry_withdraw(NULL, st->zones[i].apex, st);
	cdns_zoneset_t *set = atomic_load(&st->set);
	if (set != NULL)
		cdns_zoneset_free(set);
	free(st->zones);
	free(st);
	if (--instances == 0) {
		while (cache != NULL) {
			struct loaded *l = cache;
			cache = l->next;
			loaded_free(l);
		}
	}
}

static int file_setup(cdns_setup_t *s, const cdns_conf_t *opts, void **state)
{
	cdns_diag_t *d = cdns_setup_diag(s);
	const char *prefix = cdns_setup_prefix(s);
	struct file_conf cfg;
	memset(&cfg, 0, sizeof(cfg));
	if (cdns_conf_apply(d, prefix, opts, file_opts, &cfg) != 0)
		return CDNS_ECONFIG;
	if (cdns_conf_check_list(d, prefix, cfg.zones, "zones", "{name: ..., path: ...}",
				 FILE_MAX_ZONES, "zones") != 0)
		return CDNS_ECONFIG;
	struct file_state *st = calloc(1, sizeof(*st));
	if (st == NULL)
		return CDNS_ENOMEM;
	st->zones = calloc(cfg.zones->n_children, sizeof(*st->zones));
	if (st->zones == NULL) {
		free(st);
		return CDNS_ENOMEM;
	}
	st->reload_ms = cfg.reload_ms;
	st->check_only = cdns_setup_check_only(s);
	st->journal_max = cfg.journal_max;
	st->serial_policy = cfg.serial_policy;
	if (cfg.journal != NULL) {
		st->journal_dir = cdns_setup_path(s, cfg.journal);
		struct stat sb;
		if (st->journal_dir == NULL || stat(st->journal_dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
			cdns_diag_error(d, cdns_conf_get(opts, "journal"),
					"%soption 'journal': must be an existing directory, got \"%s\"",
					prefix, cfg.journal);
			free(st->zones);
			free(st);
			return CDNS_ECONFIG;
		}
	}
	instances++;
	bool bad = false;
	for (const cdns_conf_t *zn = cfg.zones->child; zn != NULL; zn = zn->next) {
		struct zone_conf zc;
		memset(&zc, 0, sizeof(zc));
		if (cdns_conf_apply(d, prefix, zn, zone_opts, &zc) != 0) {
			bad = true;
			continue;
		}
		struct zdef *z = &st->zones[st->n_zones];
		const cdns_conf_t *name_node = cdns_conf_get(zn, "name");
		size_t nlen = strlen(zc.name);
		if (cdns_name_from_text(zc.name, nlen, (const uint8_t *)"", z->apex) <= 0) {
			cdns_diag_error(d, name_node, "%szone name: not a domain name, got \"%s\"",
					prefix, zc.name);
			bad = true;
			continue;
		}
		cdns_name_lower(z->apex);
		bool dup = false;
		for (unsigned i = 0; i < st->n_zones; i++)
			if (cdns_name_equal(st->zones[i].apex, z->apex))
				dup = true;
		if (dup) {
			cdns_diag_error(d, name_node, "%szone '%s' is listed twice", prefix, zc.name);
			bad = true;
			continue;
		}
		z->path = cdns_setup_path(s, zc.path);
		if (z->path == NULL) {
			bad = true;
			continue;
		}
		st->n_zones++;
	}
	if (!bad) {
		for (struct loaded *l = cache; l != NULL; l = l->next)
			l->used = false;
		unsigned failed;
		refresh(st, d, &failed);
		if (failed > 0 && cdns_diag_count(d) > 0)
			bad = true;
	}
	if (bad) {
		file_teardown(st); /* a failed setup cleans up after itself */
		return CDNS_ECONFIG;
	}
	if (st->check_only) {
		*state = st; /* teardown frees it */
		return 0;
	}
	/* Forget zones no instance will use any more (the running instance holds its own
	 * references through its zone set). */
	for (struct loaded **pp = &cache; *pp != NULL;) {
		struct loaded *l = *pp;
		if (!l->used) {
			*pp = l->next;
			loaded_free(l);
		} else {
			pp = &l->next;
		}
	}
	cdns_zoneset_t *set = build_set(st);
	if (set == NULL) {
		file_teardown(st);
		return CDNS_ENOMEM;
	}
	atomic_init(&st->set, set);
	*state = st;
	return 0;
}

static int file_activate(void *state)
{
	struct file_state *st = state;
	publish_all(st);
	if (cdns_event_subscribe(CDNS_EV_ZONE_COMMITTED, committed_cb, st) == 0)
		st->subscribed = true;
	if (st->reload_ms > 0) {
		ev_timer_init(&st->timer, reload_timer_cb, (ev_tstamp)st->reload_ms / 1000.,
			      (ev_tstamp)st->reload_ms / 1000.);
		st->timer.data = st;
		ev_timer_start(cdns_control_loop(), &st->timer);
		st->timer_on = true;
	}
	return 0;
}

static cdns_verdict_t file_query(void *state, cdns_query_t *q)
{
	struct file_state *st = state;
	if (q->opcode != CDNS_OPCODE_QUERY)
		return CDNS_NEXT;
	const cdns_zoneset_t *set = atomic_load_explicit(&st->set, memory_order_acquire);
	/* DS at a child's apex is answered by the parent when we serve both (RFC 4035
	 * §3.1.4.1). */
	const cdns_zone_t *z = cdns_zoneset_find_qtype(set, q->qname, q->qtype);
	if (z == NULL)
		return CDNS_NEXT;
	/* Transfers no transfer plugin took are refused there, as Knot DNS does. */
	return cdns_zone_serve(z, q) ? CDNS_DONE : CDNS_NEXT;
}

CDNS_PLUGIN(.name = "file", .version = CDNS_VERSION,
	    .description = "authoritative zones from master files",
	    .setup = file_setup, .activate = file_activate, .query = file_query,
	    .teardown = file_teardown);
