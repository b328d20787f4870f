/* Unit tests of the zone journal (sdk/lib/journal.c): append, reopen and replay, IXFR reads,
 * recovery from a torn last record, corruption in the middle, compaction, locking, and a
 * crash test that SIGKILLs a writer at random moments and checks that every changeset it saw
 * acknowledged is in the file. Every test works in its own temporary directory. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <clouddns/changeset.h>
#include <clouddns/clouddns.h>
#include <clouddns/journal.h>

/* ---------------------------------------------------------------------------------------- */
/* Helpers                                                                                    */

typedef struct tdir {
	char dir[256];
	char path[300];
} tdir_t;

static int setup_dir(void **state)
{
	tdir_t *t = calloc(1, sizeof(*t));
	const char *base = getenv("TMPDIR");
	snprintf(t->dir, sizeof(t->dir), "%s/cdns-journal-XXXXXX", base && *base ? base : "/tmp");
	if (mkdtemp(t->dir) == NULL)
		return -1;
	snprintf(t->path, sizeof(t->path), "%s/example.test.journal", t->dir);
	*state = t;
	return 0;
}

static int teardown_dir(void **state)
{
	tdir_t *t = *state;
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", t->dir);
	int rc = system(cmd);
	free(t);
	return rc == 0 ? 0 : -1;
}

static const uint8_t *apex(void)
{
	static uint8_t a[CDNS_NAME_MAXLEN];
	if (a[0] == 0)
		cdns_name_from_text("example.test.", 13, NULL, a);
	return a;
}

static void soa_rdata(uint32_t serial, uint8_t *out, uint16_t *len)
{
	const char *text = "ns1.example.test. admin.example.test. 0 7200 900 1209600 300";
	cdns_text_err_t err;
	int n = cdns_rdata_from_text(CDNS_T_SOA, text, strlen(text), NULL, out, 512, &err);
	assert_true(n > 20);
	cdns_put32(out + n - 20, serial);
	*len = (uint16_t)n;
}

/* Changeset number i: serial i -> i + 1, k RRs removed and k + 1 added, contents derived
 * from i so that a read-back can be checked. */
static cdns_changeset_t *make_cs(uint32_t i, unsigned k)
{
	cdns_changeset_t *cs = cdns_changeset_new(apex(), CDNS_C_IN);
	assert_non_null(cs);
	uint8_t rd[512];
	uint16_t len;
	soa_rdata(i, rd, &len);
	assert_int_equal(cdns_changeset_set_soa(cs, CDNS_CS_BEFORE, 3600, rd, len), 0);
	soa_rdata(i + 1, rd, &len);
	assert_int_equal(cdns_changeset_set_soa(cs, CDNS_CS_AFTER, 3600, rd, len), 0);
	for (unsigned r = 0; r < 2 * k + 1; r++) {
		char owner[64];
		uint8_t o[CDNS_NAME_MAXLEN];
		snprintf(owner, sizeof(owner), "H%u-%u.example.test.", i, r);
		assert_true(cdns_name_from_text(owner, strlen(owner), NULL, o) > 0);
		uint8_t a[4] = {10, (uint8_t)(i >> 8), (uint8_t)i, (uint8_t)r};
		int section = r < k ? CDNS_CS_REMOVED : CDNS_CS_ADDED;
		int ret = section == CDNS_CS_REMOVED
		              ? cdns_changeset_remove(cs, o, CDNS_T_A, CDNS_C_IN, 60 + r, a, 4)
		              : cdns_changeset_add(cs, o, CDNS_T_A, CDNS_C_IN, 60 + r, a, 4);
		assert_int_equal(ret, 0);
	}
	return cs;
}

static void assert_cs_equal(const cdns_changeset_t *x, const cdns_changeset_t *y)
{
	for (int w = 0; w < 2; w++) {
		cdns_changeset_rr_t a, b;
		assert_int_equal(cdns_changeset_soa(x, w, &a), 0);
		assert_int_equal(cdns_changeset_soa(y, w, &b), 0);
		assert_int_equal(a.ttl, b.ttl);
		assert_int_equal(a.rdlen, b.rdlen);
		assert_memory_equal(a.rdata, b.rdata, a.rdlen);
	}
	for (int s = 0; s < 2; s++) {
		size_t n = cdns_changeset_count(x, s);
		assert_int_equal(n, cdns_changeset_count(y, s));
		for (size_t i = 0; i < n; i++) {
			const cdns_changeset_rr_t *a = cdns_changeset_rr(x, s, i);
			const cdns_changeset_rr_t *b = cdns_changeset_rr(y, s, i);
			size_t ol = cdns_name_len(a->owner);
			assert_int_equal(ol, cdns_name_len(b->owner));
			assert_memory_equal(a->owner, b->owner, ol); /* case kept */
			assert_int_equal(a->type, b->type);
			assert_int_equal(a->rclass, b->rclass);
			assert_int_equal(a->ttl, b->ttl);
			assert_int_equal(a->rdlen, b->rdlen);
			assert_memory_equal(a->rdata, b->rdata, a->rdlen);
		}
	}
}

static cdns_journal_t *jopen(const char *path, uint64_t max, unsigned flags,
                             cdns_journal_report_t *rep)
{
	cdns_journal_t *j = NULL;
	cdns_journal_report_t local;
	if (rep == NULL)
		rep = &local;
	int ret = cdns_journal_open(path, apex(), CDNS_C_IN, max, flags, &j, rep);
	if (ret != 0)
		fail_msg("open %s: %s: %s", path, cdns_strerror(ret), rep->text);
	return j;
}

static void append_range(cdns_journal_t *j, uint32_t from, uint32_t to, unsigned k)
{
	for (uint32_t i = from; i < to; i++) {
		cdns_changeset_t *cs = make_cs(i, k);
		int ret = cdns_journal_append(j, cs);
		if (ret != 0)
			fail_msg("append %u: %s: %s", i, cdns_strerror(ret), cdns_journal_error(j));
		cdns_changeset_free(cs);
	}
}

/* Replay collector: checks each changeset against make_cs and counts. */
typedef struct seen {
	uint32_t first, next; /* serial expected next */
	unsigned k;
	size_t n;
	int stop_at; /* stop (return 42) when n reaches it; 0 = never */
} seen_t;

static int check_cb(void *ctx, const cdns_changeset_t *cs)
{
	seen_t *s = ctx;
	uint32_t before = cdns_changeset_serial(cs, CDNS_CS_BEFORE);
	if (s->n == 0)
		s->first = before;
	else
		assert_int_equal(before, s->next);
	assert_int_equal(cdns_changeset_serial(cs, CDNS_CS_AFTER), before + 1);
	cdns_changeset_t *want = make_cs(before, s->k);
	assert_cs_equal(cs, want);
	cdns_changeset_free(want);
	s->next = before + 1;
	s->n++;
	return s->stop_at != 0 && (int)s->n == s->stop_at ? 42 : 0;
}

static off_t file_size(const char *path)
{
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	return st.st_size;
}

static void flip_byte(const char *path, off_t off)
{
	int fd = open(path, O_RDWR);
	assert_true(fd >= 0);
	uint8_t c;
	assert_int_equal(pread(fd, &c, 1, off), 1);
	c ^= 0x10;
	assert_int_equal(pwrite(fd, &c, 1, off), 1);
	close(fd);
}

/* Size of the record of make_cs(i, k) in the file. */
static size_t record_size(uint32_t serial, unsigned k)
{
	/* 16 header + payload + 4 CRC; payload: two SOAs (6 + rdlen each), 8 counts, RRs. */
	uint8_t rd[512];
	uint16_t len;
	soa_rdata(1, rd, &len);
	size_t payload = 2 * (6 + (size_t)len) + 8;
	cdns_changeset_t *cs = make_cs(serial, k);
	for (int s = 0; s < 2; s++)
		for (size_t i = 0; i < cdns_changeset_count(cs, s); i++) {
			const cdns_changeset_rr_t *rr = cdns_changeset_rr(cs, s, i);
			payload += cdns_name_len(rr->owner) + 10 + rr->rdlen;
		}
	cdns_changeset_free(cs);
	return 20 + payload;
}

#define HDR_LEN ((off_t)(13 + 14 + 4)) /* fixed part, "example.test." in wire form, CRC */

/* ---------------------------------------------------------------------------------------- */
/* Tests                                                                                      */

static void test_crc32c(void **state)
{
	(void)state;
	/* The check value of CRC-32C (RFC 3720 §B.4 lists more). */
	assert_int_equal(cdns_crc32c(0, "123456789", 9), 0xe3069283);
	assert_int_equal(cdns_crc32c(0, "", 0), 0);
	uint8_t zeros[32] = {0};
	assert_int_equal(cdns_crc32c(0, zeros, 32), 0x8a9136aa); /* RFC 3720 §B.4 */
	uint8_t ones[32];
	memset(ones, 0xff, sizeof(ones));
	assert_int_equal(cdns_crc32c(0, ones, 32), 0x62a8ab43);
	/* Continuing equals one pass, at any split and alignment. */
	uint8_t buf[1000];
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 7 + 3);
	uint32_t whole = cdns_crc32c(0, buf, sizeof(buf));
	for (size_t cut = 0; cut < 40; cut++)
		assert_int_equal(
		    cdns_crc32c(cdns_crc32c(0, buf, cut), buf + cut, sizeof(buf) - cut), whole);
	assert_int_equal(cdns_crc32c(0, buf + 3, 97),
	                 cdns_crc32c(cdns_crc32c(0, buf + 3, 50), buf + 53, 47));
}

static void test_append_reopen_replay(void **state)
{
	tdir_t *t = *state;
	cdns_journal_report_t rep;
	cdns_journal_t *j = jopen(t->path, 0, 0, &rep);
	assert_string_equal(rep.text, "");
	assert_int_equal(cdns_journal_count(j), 0);
	uint32_t s;
	assert_int_equal(cdns_journal_first_serial(j, &s), CDNS_ENOENT);
	assert_int_equal(cdns_journal_last_serial(j, &s), CDNS_ENOENT);
	assert_int_equal(cdns_journal_size(j), (uint64_t)HDR_LEN);
	assert_int_equal(file_size(t->path), HDR_LEN);

	append_range(j, 100, 110, 3);
	assert_int_equal(cdns_journal_count(j), 10);
	assert_int_equal(cdns_journal_first_serial(j, &s), 0);
	assert_int_equal(s, 100);
	assert_int_equal(cdns_journal_last_serial(j, &s), 0);
	assert_int_equal(s, 110);
	assert_int_equal(cdns_journal_size(j), (uint64_t)file_size(t->path));
	assert_int_equal(file_size(t->path), HDR_LEN + 10 * (off_t)record_size(100, 3));

	seen_t seen = {.k = 3};
	assert_int_equal(cdns_journal_replay(j, check_cb, &seen), 0);
	assert_int_equal(seen.n, 10);
	assert_int_equal(seen.first, 100);

	/* A changeset that does not follow the last one, one for another zone, one without an
	 * SOA after. */
	cdns_changeset_t *cs = make_cs(200, 1);
	assert_int_equal(cdns_journal_append(j, cs), CDNS_EINVAL);
	assert_non_null(strstr(cdns_journal_error(j), "starts at serial 200"));
	cdns_changeset_free(cs);
	uint8_t other[CDNS_NAME_MAXLEN];
	cdns_name_from_text("other.test.", 11, NULL, other);
	cs = cdns_changeset_new(other, CDNS_C_IN);
	assert_int_equal(cdns_journal_append(j, cs), CDNS_EINVAL);
	cdns_changeset_free(cs);
	cs = cdns_changeset_new(apex(), CDNS_C_IN);
	assert_int_equal(cdns_journal_append(j, cs), CDNS_EINVAL);
	cdns_changeset_free(cs);
	cdns_journal_close(j);

	/* Reopen: the same changesets, nothing repaired; appends continue. */
	j = jopen(t->path, 0, 0, &rep);
	assert_string_equal(rep.text, "");
	assert_int_equal(rep.torn, 0);
	assert_int_equal(rep.changesets, 10);
	append_range(j, 110, 115, 3);
	cdns_journal_close(j);
	j = jopen(t->path, 0, 0, NULL);
	seen = (seen_t){.k = 3};
	assert_int_equal(cdns_journal_replay(j, check_cb, &seen), 0);
	assert_int_equal(seen.n, 15);
	/* A callback stops the walk with its value. */
	seen = (seen_t){.k = 3, .stop_at = 4};
	assert_int_equal(cdns_journal_replay(j, check_cb, &seen), 42);
	assert_int_equal(seen.n, 4);
	cdns_journal_close(j);

	/* An empty changeset (SOA only) and a big one. */
	j = jopen(t->path, 0, 0, NULL);
	cs = make_cs(115, 0);
	assert_int_equal(cdns_journal_append(j, cs), 0);
	cdns_changeset_free(cs);
	cs = make_cs(116, 3000);
	assert_int_equal(cdns_journal_append(j, cs), 0);
	cdns_journal_close(j);
	j = jopen(t->path, 0, CDNS_JOURNAL_READONLY, NULL);
	seen = (seen_t){.k = 3000};
	assert_int_equal(cdns_journal_read_from(j, 116, check_cb, &seen), 0);
	assert_int_equal(seen.n, 1);
	cdns_changeset_free(cs);
	cdns_journal_close(j);
}

static void test_read_from(void **state)
{
	tdir_t *t = *state;
	cdns_journal_t *j = jopen(t->path, 0, 0, NULL);
	append_range(j, 1, 21, 2);

	/* From the middle: changesets 10 -> 11 ... 20 -> 21. */
	seen_t seen = {.k = 2};
	assert_int_equal(cdns_journal_read_from(j, 10, check_cb, &seen), 0);
	assert_int_equal(seen.n, 11);
	assert_int_equal(seen.first, 10);
	assert_int_equal(seen.next, 21);
	/* From the first. */
	seen = (seen_t){.k = 2};
	assert_int_equal(cdns_journal_read_from(j, 1, check_cb, &seen), 0);
	assert_int_equal(seen.n, 20);
	/* The last changeset only. */
	seen = (seen_t){.k = 2};
	assert_int_equal(cdns_journal_read_from(j, 20, check_cb, &seen), 0);
	assert_int_equal(seen.n, 1);
	/* The client is current: nothing to send. */
	seen = (seen_t){.k = 2};
	assert_int_equal(cdns_journal_read_from(j, 21, check_cb, &seen), 0);
	assert_int_equal(seen.n, 0);
	/* Unknown serials: before the journal, after it, never seen. */
	assert_int_equal(cdns_journal_read_from(j, 0, check_cb, &seen), CDNS_ENOENT);
	assert_int_equal(cdns_journal_read_from(j, 22, check_cb, &seen), CDNS_ENOENT);
	assert_int_equal(cdns_journal_read_from(j, 0xdeadbeef, check_cb, &seen), CDNS_ENOENT);
	assert_non_null(strstr(cdns_journal_error(j), "not in the journal"));
	assert_int_equal(seen.n, 0);
	cdns_journal_close(j);

	/* An empty journal knows no serial. */
	unlink(t->path);
	j = jopen(t->path, 0, 0, NULL);
	assert_int_equal(cdns_journal_read_from(j, 1, check_cb, &seen), CDNS_ENOENT);
	cdns_journal_close(j);
}

static void test_bad_headers(void **state)
{
	tdir_t *t = *state;
	cdns_journal_t *j = jopen(t->path, 0, 0, NULL);
	append_range(j, 1, 3, 1);
	cdns_journal_close(j);

	cdns_journal_report_t rep;
	/* Another zone. */
	uint8_t other[CDNS_NAME_MAXLEN];
	cdns_name_from_text("other.test.", 11, NULL, other);
	assert_int_equal(cdns_journal_open(t->path, other, CDNS_C_IN, 0, 0, &j, &rep), CDNS_EINVAL);
	assert_null(j);
	assert_non_null(strstr(rep.text, "journal of zone example.test., not of other.test."));
	/* Another class. */
	assert_int_equal(cdns_journal_open(t->path, apex(), CDNS_C_CH, 0, 0, &j, &rep),
	                 CDNS_EINVAL);
	assert_non_null(strstr(rep.text, "class IN, not class CH"));
	/* The same zone in other case is the same zone. */
	uint8_t upper[CDNS_NAME_MAXLEN];
	cdns_name_from_text("EXAMPLE.Test.", 13, NULL, upper);
	assert_int_equal(cdns_journal_open(t->path, upper, CDNS_C_IN, 0, 0, &j, &rep), 0);
	assert_int_equal(cdns_journal_count(j), 2);
	/* Locked while open for writing; read-only opens are fine. */
	cdns_journal_t *j2 = NULL;
	assert_int_equal(cdns_journal_open(t->path, apex(), CDNS_C_IN, 0, 0, &j2, &rep),
	                 CDNS_EAGAIN);
	assert_non_null(strstr(rep.text, "another process"));
	assert_int_equal(
	    cdns_journal_open(t->path, apex(), CDNS_C_IN, 0, CDNS_JOURNAL_READONLY, &j2, &rep), 0);
	assert_int_equal(cdns_journal_count(j2), 2);
	cdns_changeset_t *cs = make_cs(3, 1);
	assert_int_equal(cdns_journal_append(j2, cs), CDNS_EINVAL);
	assert_non_null(strstr(cdns_journal_error(j2), "read-only"));
	assert_int_equal(cdns_journal_compact(j2, 2), CDNS_EINVAL);
	cdns_changeset_free(cs);
	cdns_journal_close(j2);
	cdns_journal_close(j);

	/* Header damage: version, checksum, magic. */
	flip_byte(t->path, 9); /* version 1 -> 0x11 */
	assert_int_equal(cdns_journal_open(t->path, apex(), CDNS_C_IN, 0, 0, &j, &rep),
	                 CDNS_ENOTSUP);
	assert_non_null(strstr(rep.text, "format version 17"));
	flip_byte(t->path, 9);
	flip_byte(t->path, 20); /* inside the name */
	assert_int_equal(cdns_journal_open(t->path, apex(), CDNS_C_IN, 0, 0, &j, &rep),
	                 CDNS_EFORMAT);
	assert_non_null(strstr(rep.text, "header damaged"));
	flip_byte(t->path, 20);
	flip_byte(t->path, 0);
	assert_int_equal(cdns_journal_open(t->path, apex(), CDNS_C_IN, 0, 0, &j, &rep),
	                 CDNS_EFORMAT);
	assert_non_null(strstr(rep.text, "not a cloudDNS journal"));
	flip_byte(t->path, 0);
	j = jopen(t->path, 0, 0, NULL);
	assert_int_equal(cdns_journal_count(j), 2);
	cdns_journal_close(j);

	/* Not a journal at all; a file too short to tell. */
	char p2[320];
	snprintf(p2, sizeof(p2), "%s/zone.txt", t->dir);
	FILE *f = fopen(p2, "w");
	fputs("example.test. 3600 IN SOA ns1 admin 1 2 3 4 5\n", f);
	fclose(f);
	assert_int_equal(cdns_journal_open(p2, apex(), CDNS_C_IN, 0, 0, &j, &rep), CDNS_EFORMAT);
	assert_non_null(strstr(rep.text, "not a cloudDNS journal"));
	assert_non_null(strstr(rep.text, p2));
	f = fopen(p2, "w");
	fputs("CDNSJ", f); /* the start of our magic: a creation cut short, finished now */
	fclose(f);
	j = jopen(p2, 0, 0, NULL);
	assert_int_equal(cdns_journal_count(j), 0);
	append_range(j, 5, 6, 1);
	cdns_journal_close(j);
	assert_int_equal(file_size(p2), HDR_LEN + (off_t)record_size(5, 1));

	/* Read-only and missing. */
	snprintf(p2, sizeof(p2), "%s/missing", t->dir);
	assert_int_equal(
	    cdns_journal_open(p2, apex(), CDNS_C_IN, 0, CDNS_JOURNAL_READONLY, &j, &rep),
	    CDNS_ENOENT);
	/* A directory that does not exist. */
	snprintf(p2, sizeof(p2), "%s/no/such/dir/j", t->dir);
	assert_int_equal(cdns_journal_open(p2, apex(), CDNS_C_IN, 0, 0, &j, &rep), CDNS_EIO);
	assert_int_equal(errno, ENOENT);
	assert_non_null(strstr(rep.text, "No such file"));
	assert_int_equal(cdns_journal_open(NULL, apex(), CDNS_C_IN, 0, 0, &j, &rep), CDNS_EINVAL);
}

static void test_torn_last_record(void **state)
{
	tdir_t *t = *state;
	size_t rs = record_size(1, 4); /* serials 1..9: same size */
	/* Cut the last record at many places: 1 byte short ... only its first byte left. */
	const size_t cuts[] = {1, 3, 4, 5, 17, rs / 2, rs - 16, rs - 15, rs - 1};
	for (size_t c = 0; c < sizeof(cuts) / sizeof(cuts[0]); c++) {
		unlink(t->path);
		cdns_journal_t *j = jopen(t->path, 0, 0, NULL);
		append_range(j, 1, 4, 4);
		cdns_journal_close(j);
		off_t whole = file_size(t->path);
		assert_int_equal(truncate(t->path, whole - (off_t)cuts[c]), 0);

		cdns_journal_report_t rep;
		j = jopen(t->path, 0, 0, &rep);
		assert_int_equal(rep.torn, 1);
		assert_int_equal(rep.corrupt, 0);
		assert_int_equal(rep.cut_bytes, rs - cuts[c]);
		assert_int_equal(rep.changesets, 2);
		assert_non_null(strstr(rep.text, "torn last record"));
		assert_non_null(strstr(rep.text, "record 3"));
		assert_int_equal(cdns_journal_count(j), 2);
		uint32_t s;
		assert_int_equal(cdns_journal_last_serial(j, &s), 0);
		assert_int_equal(s, 3);
		assert_int_equal(file_size(t->path), whole - (off_t)rs);
		seen_t seen = {.k = 4};
		assert_int_equal(cdns_journal_replay(j, check_cb, &seen), 0);
		assert_int_equal(seen.n, 2);
		/* The lost changeset can be appended again. */
		append_range(j, 3, 5, 4);
		cdns_journal_close(j);
		j = jopen(t->path, 0, 0, &rep);
		assert_int_equal(rep.torn, 0);
		assert_int_equal(cdns_journal_count(j), 4);
		cdns_journal_close(j);
	}

	/* Zeros after the last record (a file grown by a crash before its data was written). */
	int fd = open(t->path, O_WRONLY | O_APPEND);
	uint8_t zeros[100] = {0};
	assert_int_equal(write(fd, zeros, sizeof(zeros)), (ssize_t)sizeof(zeros));
	close(fd);
	cdns_journal_report_t rep;
	cdns_journal_t *j = jopen(t->path, 0, CDNS_JOURNAL_READONLY, &rep);
	assert_int_equal(rep.torn, 1);
	assert_int_equal(rep.cut_bytes, 100);
	assert_non_null(strstr(rep.text, "ignored (read-only)"));
	cdns_journal_close(j);
	assert_int_equal(file_size(t->path), HDR_LEN + 4 * (off_t)rs + 100); /* untouched */
	j = jopen(t->path, 0, 0, &rep);
	assert_int_equal(rep.torn, 1);
	assert_int_equal(cdns_journal_count(j), 4);
	cdns_journal_close(j);
	assert_int_equal(file_size(t->path), HDR_LEN + 4 * (off_t)rs);

	/* A damaged byte in the last record (its payload): also a torn tail. */
	flip_byte(t->path, HDR_LEN + 3 * (off_t)rs + 40);
	j = jopen(t->path, 0, 0, &rep);
	assert_int_equal(rep.torn, 1);
	assert_int_equal(rep.cut_bytes, rs);
	assert_non_null(strstr(rep.text, "checksum mismatch"));
	assert_int_equal(cdns_journal_count(j), 3);
	cdns_journal_close(j);
}

static void test_corrupt_middle(void **state)
{
	tdir_t *t = *state;
	size_t rs = record_size(1, 2);
	cdns_journal_t *j = jopen(t->path, 0, 0, NULL);
	append_range(j, 1, 6, 2);
	cdns_journal_close(j);
	off_t size = file_size(t->path);

	/* A flipped byte in the payload of record 3 of 5. */
	off_t at = HDR_LEN + 2 * (off_t)rs + 50;
	flip_byte(t->path, at);
	cdns_journal_report_t rep;
	assert_int_equal(cdns_journal_open(t->path, apex(), CDNS_C_IN, 0, 0, &j, &rep),
	                 CDNS_EFORMAT);
	assert_null(j);
	char want[64];
	snprintf(want, sizeof(want), "record 3 at offset %lld", (long long)(HDR_LEN + 2 * rs));
	assert_non_null(strstr(rep.text, want));
	assert_non_null(strstr(rep.text, "checksum mismatch"));
	assert_non_null(strstr(rep.text, "the 2 changesets before it are intact"));
	assert_int_equal(file_size(t->path), size); /* nothing cut */

	/* Read-only: the changesets before the damage are readable, appends refused. */
	assert_int_equal(
	    cdns_journal_open(t->path, apex(), CDNS_C_IN, 0, CDNS_JOURNAL_READONLY, &j, &rep), 0);
	assert_int_equal(rep.corrupt, 1);
	assert_int_equal(rep.changesets, 2);
	assert_int_equal(cdns_journal_count(j), 2);
	seen_t seen = {.k = 2};
	assert_int_equal(cdns_journal_replay(j, check_cb, &seen), 0);
	assert_int_equal(seen.n, 2);
	cdns_journal_close(j);
	flip_byte(t->path, at);

	/* A flipped byte in the length of record 2: its header checksum catches it (a damaged
	 * length must not make the rest of the file look like a torn tail). */
	for (off_t o = 0; o < 16; o++) {
		flip_byte(t->path, HDR_LEN + (off_t)rs + o);
		assert_int_equal(cdns_journal_open(t->path, apex(), CDNS_C_IN, 0, 0, &j, &rep),
		                 CDNS_EFORMAT);
		assert_non_null(strstr(rep.text, "record 2"));
		assert_non_null(strstr(rep.text, "record header damaged"));
		flip_byte(t->path, HDR_LEN + (off_t)rs + o);
	}
	/* A flipped byte in the payload CRC of record 1. */
	flip_byte(t->path, HDR_LEN + (off_t)rs - 2);
	assert_int_equal(cdns_journal_open(t->path, apex(), CDNS_C_IN, 0, 0, &j, &rep),
	                 CDNS_EFORMAT);
	assert_non_null(strstr(rep.text, "record 1"));
	assert_non_null(strstr(rep.text, "the 0 changesets"));
	flip_byte(t->path, HDR_LEN + (off_t)rs - 2);

	j = jopen(t->path, 0, 0, &rep);
	assert_int_equal(cdns_journal_count(j), 5);
	/* Damage after open is caught when the record is read back. */
	flip_byte(t->path, HDR_LEN + 3 * (off_t)rs + 30);
	seen = (seen_t){.k = 2};
	assert_int_equal(cdns_journal_read_from(j, 2, check_cb, &seen), CDNS_EFORMAT);
	assert_int_equal(seen.n, 2);
	assert_non_null(strstr(cdns_journal_error(j), "no longer reads back whole"));
	cdns_journal_close(j);
}

static void test_compaction(void **state)
{
	tdir_t *t = *state;
	const uint64_t max = 4096;
	size_t rs = record_size(1, 2); /* the smallest */
	cdns_journal_t *j = jopen(t->path, max, 0, NULL);
	uint32_t first_prev = 1;
	for (uint32_t i = 1; i <= 200; i++) {
		append_range(j, i, i + 1, 2);
		uint64_t size = cdns_journal_size(j);
		assert_true(size <= max);
		assert_int_equal((off_t)size, file_size(t->path));
		uint32_t first, last;
		assert_int_equal(cdns_journal_first_serial(j, &first), 0);
		assert_int_equal(cdns_journal_last_serial(j, &last), 0);
		assert_int_equal(last, i + 1); /* the newest is always kept */
		assert_true(first >= first_prev);
		first_prev = first;
		assert_int_equal(cdns_journal_count(j), last - first);
	}
	/* Compaction keeps at least 1/2 of the limit's worth and at most the limit. */
	assert_true(cdns_journal_count(j) * rs + HDR_LEN > max / 2);
	uint32_t first;
	assert_int_equal(cdns_journal_first_serial(j, &first), 0);
	seen_t seen = {.k = 2};
	assert_int_equal(cdns_journal_read_from(j, first, check_cb, &seen), 0);
	assert_int_equal(seen.next, 201);
	assert_int_equal(cdns_journal_read_from(j, first - 1, check_cb, &seen), CDNS_ENOENT);
	size_t n = cdns_journal_count(j);
	cdns_journal_close(j);

	/* The file reopens whole, with no temporary file left behind. */
	cdns_journal_report_t rep;
	j = jopen(t->path, max, 0, &rep);
	assert_string_equal(rep.text, "");
	assert_int_equal(cdns_journal_count(j), n);
	seen = (seen_t){.k = 2};
	assert_int_equal(cdns_journal_replay(j, check_cb, &seen), 0);
	assert_int_equal(seen.n, n);
	char tmp[320];
	snprintf(tmp, sizeof(tmp), "%s.tmp", t->path);
	assert_int_equal(access(tmp, F_OK), -1);

	/* A changeset bigger than the limit replaces everything and stays alone. */
	cdns_changeset_t *big = make_cs(201, 200);
	assert_int_equal(cdns_journal_append(j, big), 0);
	cdns_changeset_free(big);
	assert_int_equal(cdns_journal_count(j), 1);
	assert_true(cdns_journal_size(j) > max);
	cdns_journal_close(j);
}

static void test_compaction_manual(void **state)
{
	tdir_t *t = *state;
	const uint64_t max = 2048;
	cdns_journal_t *j = jopen(t->path, max, CDNS_JOURNAL_MANUAL, NULL);
	append_range(j, 1, 51, 2);
	/* Nothing was dropped: the caller has not written a snapshot. */
	assert_int_equal(cdns_journal_count(j), 50);
	assert_true(cdns_journal_size(j) > max);

	/* A snapshot at serial 40: drop what comes before. */
	assert_int_equal(cdns_journal_compact(j, 40), 0);
	assert_int_equal(cdns_journal_count(j), 11);
	uint32_t s;
	assert_int_equal(cdns_journal_first_serial(j, &s), 0);
	assert_int_equal(s, 40);
	assert_int_equal((off_t)cdns_journal_size(j), file_size(t->path));
	assert_int_equal(cdns_journal_compact(j, 40), 0); /* nothing before it: no-op */
	assert_int_equal(cdns_journal_compact(j, 39), CDNS_ENOENT);
	/* Appends go on after a compaction (on the new file). */
	append_range(j, 51, 53, 2);
	seen_t seen = {.k = 2};
	assert_int_equal(cdns_journal_read_from(j, 45, check_cb, &seen), 0);
	assert_int_equal(seen.n, 8);
	cdns_journal_close(j);

	j = jopen(t->path, max, CDNS_JOURNAL_MANUAL, NULL);
	assert_int_equal(cdns_journal_count(j), 13);
	/* A snapshot at the last serial empties the journal; appends start again from it. */
	assert_int_equal(cdns_journal_compact(j, 53), 0);
	assert_int_equal(cdns_journal_count(j), 0);
	assert_int_equal(file_size(t->path), HDR_LEN);
	append_range(j, 53, 55, 2);
	cdns_journal_close(j);
	j = jopen(t->path, max, 0, NULL);
	assert_int_equal(cdns_journal_count(j), 2);
	cdns_journal_close(j);

	/* A leftover temporary file (a compaction killed before its rename) is removed. */
	char tmp[320];
	snprintf(tmp, sizeof(tmp), "%s.tmp", t->path);
	FILE *f = fopen(tmp, "w");
	fputs("half a compaction", f);
	fclose(f);
	j = jopen(t->path, max, 0, NULL);
	assert_int_equal(access(tmp, F_OK), -1);
	assert_int_equal(cdns_journal_count(j), 2);
	cdns_journal_close(j);
}

static void test_trim(void **state)
{
	tdir_t *t = *state;
	cdns_journal_t *j = jopen(t->path, 0, CDNS_JOURNAL_MANUAL, NULL);
	append_range(j, 1, 51, 2);
	uint64_t full = cdns_journal_size(j);
	size_t last10 = 0; /* the newest 10 records */
	for (uint32_t i = 41; i <= 50; i++)
		last10 += record_size(i, 2);
	/* Within the target already: nothing goes. */
	assert_int_equal(cdns_journal_trim(j, 50, full), 0);
	assert_int_equal(cdns_journal_count(j), 50);
	/* Room for 10 records: the 40 oldest go. */
	assert_int_equal(cdns_journal_trim(j, 51, (uint64_t)HDR_LEN + last10), 0);
	assert_int_equal(cdns_journal_count(j), 10);
	uint32_t s;
	assert_int_equal(cdns_journal_first_serial(j, &s), 0);
	assert_int_equal(s, 41);
	assert_int_equal((off_t)cdns_journal_size(j), file_size(t->path));
	/* Never past keep, however small the target: the snapshot is at 45. */
	assert_int_equal(cdns_journal_trim(j, 45, HDR_LEN), 0);
	assert_int_equal(cdns_journal_first_serial(j, &s), 0);
	assert_int_equal(s, 45);
	seen_t seen = {.k = 2};
	assert_int_equal(cdns_journal_read_from(j, 45, check_cb, &seen), 0);
	assert_int_equal(seen.n, 6);
	assert_int_equal(cdns_journal_trim(j, 44, HDR_LEN), CDNS_ENOENT);
	/* keep == the last serial: all may go. */
	assert_int_equal(cdns_journal_trim(j, 51, HDR_LEN), 0);
	assert_int_equal(cdns_journal_count(j), 0);
	cdns_journal_close(j);
}

/* The crash test: a child appends changesets and, after each append returns, writes its
 * serial to a pipe; the parent SIGKILLs it at a random moment, then reopens the journal.
 * Every serial the child reported must be in the journal, and the file must be consistent
 * (at most a torn tail, which open cuts off). Several rounds on the same file. */
static void test_crash_kill9(void **state)
{
	tdir_t *t = *state;
	unsigned seed = (unsigned)time(NULL) ^ (unsigned)getpid();
	srand(seed);
	uint32_t next = 1;
	unsigned torn_seen = 0, rounds = 12;
	for (unsigned round = 0; round < rounds; round++) {
		int p[2];
		assert_int_equal(pipe(p), 0);
		pid_t pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			close(p[0]);
			cdns_journal_t *j = NULL;
			if (cdns_journal_open(t->path, apex(), CDNS_C_IN, 0, 0, &j, NULL) != 0)
				_exit(2);
			/* At most 400 per round (on tmpfs fdatasync costs nothing), then wait
			 * for the kill. */
			for (uint32_t i = next; i < next + 400; i++) {
				/* Big changesets (about 8 KiB) make a kill inside write likelier.
				 */
				cdns_changeset_t *cs = make_cs(i, 150);
				if (cdns_journal_append(j, cs) != 0)
					_exit(3);
				cdns_changeset_free(cs);
				if (write(p[1], &i, sizeof(i)) != sizeof(i))
					_exit(4);
			}
			for (;;)
				pause();
		}
		close(p[1]);
		/* Let it run 2..40 ms, then kill it wherever it is. */
		struct timespec ts = {0, (2 + rand() % 39) * 1000000L};
		nanosleep(&ts, NULL);
		kill(pid, SIGKILL);
		int status;
		assert_int_equal(waitpid(pid, &status, 0), pid);
		if (!WIFSIGNALED(status))
			fail_msg("round %u (seed %u): the writer exited with %d", round, seed,
			         WEXITSTATUS(status));
		uint32_t acked = next - 1, v;
		while (read(p[0], &v, sizeof(v)) == sizeof(v))
			acked = v;
		close(p[0]);

		cdns_journal_report_t rep;
		cdns_journal_t *j = jopen(t->path, 0, 0, &rep);
		torn_seen += rep.torn;
		uint32_t last = 0;
		if (acked >= 1) {
			assert_int_equal(cdns_journal_last_serial(j, &last), 0);
			/* Every acknowledged changeset is there (one more may be: durable, but
			 * killed before it could report). */
			if (!(last == acked + 1 || last == acked + 1 + 1))
				fail_msg("round %u (seed %u): acknowledged up to %u, journal ends "
				         "at serial %u (%s)",
				         round, seed, acked, last, rep.text);
		}
		seen_t seen = {.k = 150};
		assert_int_equal(cdns_journal_replay(j, check_cb, &seen), 0);
		assert_int_equal(seen.n, cdns_journal_count(j));
		if (seen.n > 0) {
			assert_int_equal(seen.first, 1);
			next = seen.next;
		}
		cdns_journal_close(j);
	}
	print_message("crash test: %u rounds, %u changesets survived, %u torn tails repaired "
	              "(seed %u)\n",
	              rounds, next - 1, torn_seen, seed);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_crc32c),
	    cmocka_unit_test_setup_teardown(test_append_reopen_replay, setup_dir, teardown_dir),
	    cmocka_unit_test_setup_teardown(test_read_from, setup_dir, teardown_dir),
	    cmocka_unit_test_setup_teardown(test_bad_headers, setup_dir, teardown_dir),
	    cmocka_unit_test_setup_teardown(test_torn_last_record, setup_dir, teardown_dir),
	    cmocka_unit_test_setup_teardown(test_corrupt_middle, setup_dir, teardown_dir),
	    cmocka_unit_test_setup_teardown(test_compaction, setup_dir, teardown_dir),
	    cmocka_unit_test_setup_teardown(test_compaction_manual, setup_dir, teardown_dir),
	    cmocka_unit_test_setup_teardown(test_trim, setup_dir, teardown_dir),
	    cmocka_unit_test_setup_teardown(test_crash_kill9, setup_dir, teardown_dir),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
