/* The zone journal (format and rules: clouddns/journal.h).
 *
 * In memory a journal is an open file descriptor, the zone's name and class, and an index of
 * its records (offset, payload length, serials): 24 bytes per changeset, so finding where an
 * IXFR starts never reads the file. Payloads are decoded only when read (IXFR, replay), into
 * one changeset that is cleared and reused for every record.
 *
 * Durability: an append is one pwrite of the whole record at the end of the file followed by
 * fdatasync, which also persists the new file size (POSIX: the metadata needed to read the
 * data back). If writing fails the file is cut back to its previous size. If fdatasync fails,
 * the state of the written pages is unknown (Linux may have dropped them and marked them
 * clean), so the handle refuses further appends: the caller reopens the journal, which checks
 * the file again. The journal's creation is made durable by an fsync of the directory, and so
 * is every rename of a compaction. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <clouddns/changeset.h>
#include <clouddns/error.h>
#include <clouddns/journal.h>
#include <clouddns/name.h>
#include <clouddns/rrtype.h>
#include <clouddns/wire.h>

#define CDNS__J_MAGIC      "CDNSJRNL"
#define CDNS__J_MAGIC_LEN  8
#define CDNS__J_FIXED      13 /* magic, version, class, name length */
#define CDNS__J_RHDR       16 /* length, serial before, serial after, header CRC */
#define CDNS__J_OVERHEAD   20 /* record header and payload CRC */
#define CDNS__J_COPY_CHUNK (256u * 1024)

/* ---------------------------------------------------------------------------------------- */
/* CRC32C                                                                                     */

/* Reflected CRC-32C table (polynomial 0x1EDC6F41, reversed 0x82F63B78), generated once by a
 * throwaway script that divides each byte value by the polynomial bit by bit. */
static const uint32_t cdns__crc32c_tab[256] = {
    0x00000000, 0xf26b8303, 0xe13b70f7, 0x1350f3f4, 0xc79a971f, 0x35f1141c, 0x26a1e7e8, 0xd4ca64eb,
    0x8ad958cf, 0x78b2dbcc, 0x6be22838, 0x9989ab3b, 0x4d43cfd0, 0xbf284cd3, 0xac78bf27, 0x5e133c24,
    0x105ec76f, 0xe235446c, 0xf165b798, 0x030e349b, 0xd7c45070, 0x25afd373, 0x36ff2087, 0xc494a384,
    0x9a879fa0, 0x68ec1ca3, 0x7bbcef57, 0x89d76c54, 0x5d1d08bf, 0xaf768bbc, 0xbc267848, 0x4e4dfb4b,
    0x20bd8ede, 0xd2d60ddd, 0xc186fe29, 0x33ed7d2a, 0xe72719c1, 0x154c9ac2, 0x061c6936, 0xf477ea35,
    0xaa64d611, 0x580f5512, 0x4b5fa6e6, 0xb93425e5, 0x6dfe410e, 0x9f95c20d, 0x8cc531f9, 0x7eaeb2fa,
    0x30e349b1, 0xc288cab2, 0xd1d83946, 0x23b3ba45, 0xf779deae, 0x05125dad, 0x1642ae59, 0xe4292d5a,
    0xba3a117e, 0x4851927d, 0x5b016189, 0xa96ae28a, 0x7da08661, 0x8fcb0562, 0x9c9bf696, 0x6ef07595,
    0x417b1dbc, 0xb3109ebf, 0xa0406d4b, 0x522bee48, 0x86e18aa3, 0x748a09a0, 0x67dafa54, 0x95b17957,
    0xcba24573, 0x39c9c670, 0x2a993584, 0xd8f2b687, 0x0c38d26c, 0xfe53516f, 0xed03a29b, 0x1f682198,
    0x5125dad3, 0xa34e59d0, 0xb01eaa24, 0x42752927, 0x96bf4dcc, 0x64d4cecf, 0x77843d3b, 0x85efbe38,
    0xdbfc821c, 0x2997011f, 0x3ac7f2eb, 0xc8ac71e8, 0x1c661503, 0xee0d9600, 0xfd5d65f4, 0x0f36e6f7,
    0x61c69362, 0x93ad1061, 0x80fde395, 0x72966096, 0xa65c047d, 0x5437877e, 0x4767748a, 0xb50cf789,
    0xeb1fcbad, 0x197448ae, 0x0a24bb5a, 0xf84f3859, 0x2c855cb2, 0xdeeedfb1, 0xcdbe2c45, 0x3fd5af46,
    0x7198540d, 0x83f3d70e, 0x90a324fa, 0x62c8a7f9, 0xb602c312, 0x44694011, 0x5739b3e5, 0xa55230e6,
    0xfb410cc2, 0x092a8fc1, 0x1a7a7c35, 0xe811ff36, 0x3cdb9bdd, 0xceb018de, 0xdde0eb2a, 0x2f8b6829,
    0x82f63b78, 0x709db87b, 0x63cd4b8f, 0x91a6c88c, 0x456cac67, 0xb7072f64, 0xa457dc90, 0x563c5f93,
    0x082f63b7, 0xfa44e0b4, 0xe9141340, 0x1b7f9043, 0xcfb5f4a8, 0x3dde77ab, 0x2e8e845f, 0xdce5075c,
    0x92a8fc17, 0x60c37f14, 0x73938ce0, 0x81f80fe3, 0x55326b08, 0xa759e80b, 0xb4091bff, 0x466298fc,
    0x1871a4d8, 0xea1a27db, 0xf94ad42f, 0x0b21572c, 0xdfeb33c7, 0x2d80b0c4, 0x3ed04330, 0xccbbc033,
    0xa24bb5a6, 0x502036a5, 0x4370c551, 0xb11b4652, 0x65d122b9, 0x97baa1ba, 0x84ea524e, 0x7681d14d,
    0x2892ed69, 0xdaf96e6a, 0xc9a99d9e, 0x3bc21e9d, 0xef087a76, 0x1d63f975, 0x0e330a81, 0xfc588982,
    0xb21572c9, 0x407ef1ca, 0x532e023e, 0xa145813d, 0x758fe5d6, 0x87e466d5, 0x94b49521, 0x66df1622,
    0x38cc2a06, 0xcaa7a905, 0xd9f75af1, 0x2b9cd9f2, 0xff56bd19, 0x0d3d3e1a, 0x1e6dcdee, 0xec064eed,
    0xc38d26c4, 0x31e6a5c7, 0x22b65633, 0xd0ddd530, 0x0417b1db, 0xf67c32d8, 0xe52cc12c, 0x1747422f,
    0x49547e0b, 0xbb3ffd08, 0xa86f0efc, 0x5a048dff, 0x8ecee914, 0x7ca56a17, 0x6ff599e3, 0x9d9e1ae0,
    0xd3d3e1ab, 0x21b862a8, 0x32e8915c, 0xc083125f, 0x144976b4, 0xe622f5b7, 0xf5720643, 0x07198540,
    0x590ab964, 0xab613a67, 0xb831c993, 0x4a5a4a90, 0x9e902e7b, 0x6cfbad78, 0x7fab5e8c, 0x8dc0dd8f,
    0xe330a81a, 0x115b2b19, 0x020bd8ed, 0xf0605bee, 0x24aa3f05, 0xd6c1bc06, 0xc5914ff2, 0x37faccf1,
    0x69e9f0d5, 0x9b8273d6, 0x88d28022, 0x7ab90321, 0xae7367ca, 0x5c18e4c9, 0x4f48173d, 0xbd23943e,
    0xf36e6f75, 0x0105ec76, 0x12551f82, 0xe03e9c81, 0x34f4f86a, 0xc69f7b69, 0xd5cf889d, 0x27a40b9e,
    0x79b737ba, 0x8bdcb4b9, 0x988c474d, 0x6ae7c44e, 0xbe2da0a5, 0x4c4623a6, 0x5f16d052, 0xad7d5351,
};

static uint32_t cdns__crc32c_sw(uint32_t c, const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		c = cdns__crc32c_tab[(c ^ p[i]) & 0xff] ^ (c >> 8);
	return c;
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define CDNS__CRC32C_HW 1
/* The SSE4.2 CRC32 instruction computes exactly the reflected CRC-32C step of the table. */
__attribute__((target("sse4.2"))) static uint32_t cdns__crc32c_hw(uint32_t c, const uint8_t *p,
                                                                  size_t len)
{
	uint64_t c64 = c;

	while (len > 0 && ((uintptr_t)p & 7) != 0) {
		c64 = __builtin_ia32_crc32qi((uint32_t)c64, *p++);
		len--;
	}
	while (len >= 8) {
		uint64_t v;
		memcpy(&v, p, 8);
		c64 = __builtin_ia32_crc32di(c64, v);
		p += 8;
		len -= 8;
	}
	while (len-- > 0)
		c64 = __builtin_ia32_crc32qi((uint32_t)c64, *p++);
	return (uint32_t)c64;
}
#endif

#pragma GCC visibility push(default)

uint32_t cdns_crc32c(uint32_t crc, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	uint32_t c = ~crc;

#ifdef CDNS__CRC32C_HW
	if (__builtin_cpu_supports("sse4.2"))
		return ~cdns__crc32c_hw(c, p, len);
#endif
	return ~cdns__crc32c_sw(c, p, len);
}

#pragma GCC visibility pop

/* ---------------------------------------------------------------------------------------- */
/* The handle                                                                                 */

typedef struct cdns__jrec {
	uint64_t off;    /* of the record header */
	uint32_t len;    /* payload length */
	uint32_t before; /* serials */
	uint32_t after;
} cdns__jrec_t;

struct cdns_journal {
	int fd;
	unsigned flags;
	bool broken; /* appends refused: a failed fdatasync, or damage found read-only */
	char *path, *tmp_path, *dir_path;
	uint8_t apex[CDNS_NAME_MAXLEN]; /* lower-cased */
	uint8_t apex_len;
	uint16_t rclass;
	uint64_t max_size;
	uint64_t hdr_len;
	uint64_t size; /* end of the last whole record */
	cdns__jrec_t *recs;
	size_t n, cap;
	uint8_t *buf; /* one record: encoding, reading */
	size_t buf_cap;
	cdns_changeset_t *cs; /* decoded records, reused */
	char err[512];
};

__attribute__((format(printf, 2, 3))) static void cdns__jerr(cdns_journal_t *j, const char *fmt,
                                                             ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(j->err, sizeof(j->err), fmt, ap);
	va_end(ap);
	errno = saved;
}

/* Like snprintf; a text cut at the end of the buffer is fine here (reports, not data). */
__attribute__((format(printf, 3, 4))) static void cdns__textf(char *buf, size_t len,
                                                              const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, len, fmt, ap);
	va_end(ap);
}

static int cdns__jbuf(cdns_journal_t *j, size_t n)
{
	if (n <= j->buf_cap)
		return 0;
	size_t cap = j->buf_cap ? j->buf_cap : 4096;
	while (cap < n)
		cap *= 2;
	uint8_t *b = realloc(j->buf, cap);
	if (b == NULL)
		return CDNS_ENOMEM;
	j->buf = b;
	j->buf_cap = cap;
	return 0;
}

static int cdns__jpush(cdns_journal_t *j, cdns__jrec_t r)
{
	if (j->n == j->cap) {
		size_t cap = j->cap ? j->cap * 2 : 64;
		cdns__jrec_t *v = realloc(j->recs, cap * sizeof(*v));
		if (v == NULL)
			return CDNS_ENOMEM;
		j->recs = v;
		j->cap = cap;
	}
	j->recs[j->n++] = r;
	return 0;
}

static int cdns__pwrite_all(int fd, const uint8_t *p, size_t n, uint64_t off)
{
	while (n > 0) {
		ssize_t w = pwrite(fd, p, n, (off_t)off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			if (w == 0)
				errno = EIO;
			return -1;
		}
		p += w;
		n -= (size_t)w;
		off += (uint64_t)w;
	}
	return 0;
}

/* 0: all n bytes read; 1: the file ends first; -1: error (errno). */
static int cdns__pread_all(int fd, uint8_t *p, size_t n, uint64_t off)
{
	while (n > 0) {
		ssize_t r = pread(fd, p, n, (off_t)off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			return 1;
		p += r;
		n -= (size_t)r;
		off += (uint64_t)r;
	}
	return 0;
}

static int cdns__fsync_dir(cdns_journal_t *j)
{
	int fd = open(j->dir_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		cdns__jerr(j, "%s: open: %s", j->dir_path, strerror(errno));
		return CDNS_EIO;
	}
	if (fsync(fd) < 0) {
		cdns__jerr(j, "%s: fsync: %s", j->dir_path, strerror(errno));
		int saved = errno;
		close(fd);
		errno = saved;
		return CDNS_EIO;
	}
	close(fd);
	return 0;
}

/* The header this journal has: into out (at least CDNS__J_FIXED + 255 + 4 bytes). */
static size_t cdns__jheader(const cdns_journal_t *j, uint8_t *out)
{
	memcpy(out, CDNS__J_MAGIC, CDNS__J_MAGIC_LEN);
	cdns_put16(out + 8, CDNS_JOURNAL_VERSION);
	cdns_put16(out + 10, j->rclass);
	out[12] = j->apex_len;
	memcpy(out + CDNS__J_FIXED, j->apex, j->apex_len);
	size_t n = CDNS__J_FIXED + (size_t)j->apex_len;
	cdns_put32(out + n, cdns_crc32c(0, out, n));
	return n + 4;
}

static void cdns__jfree(cdns_journal_t *j)
{
	if (j == NULL)
		return;
	if (j->fd >= 0)
		close(j->fd);
	free(j->path);
	free(j->tmp_path);
	free(j->dir_path);
	free(j->recs);
	free(j->buf);
	cdns_changeset_free(j->cs);
	free(j);
}

/* ---------------------------------------------------------------------------------------- */
/* Open: header and scan                                                                      */

static const char *cdns__name_txt(const uint8_t *name, char *buf)
{
	if (cdns_name_to_text(name, buf, CDNS_NAME_MAXTEXT) < 0)
		snprintf(buf, CDNS_NAME_MAXTEXT, "?");
	return buf;
}

/* Check the header of an open file of size bytes. */
static int cdns__jcheck_header(cdns_journal_t *j, uint64_t size)
{
	uint8_t want[CDNS__J_FIXED + CDNS_NAME_MAXLEN + 4], have[sizeof(want)];
	size_t want_len = cdns__jheader(j, want);
	size_t n = size < sizeof(have) ? (size_t)size : sizeof(have);
	char a[CDNS_NAME_MAXTEXT], b[CDNS_NAME_MAXTEXT];

	int r = cdns__pread_all(j->fd, have, n, 0);
	if (r < 0) {
		cdns__jerr(j, "%s: read: %s", j->path, strerror(errno));
		return CDNS_EIO;
	}
	if (n < CDNS__J_MAGIC_LEN || memcmp(have, CDNS__J_MAGIC, CDNS__J_MAGIC_LEN) != 0) {
		cdns__jerr(j, "%s: not a cloudDNS journal (no \"" CDNS__J_MAGIC "\" at the start)",
		           j->path);
		return CDNS_EFORMAT;
	}
	if (n < CDNS__J_FIXED) {
		cdns__jerr(j, "%s: journal header cut short (%zu bytes)", j->path, n);
		return CDNS_EFORMAT;
	}
	unsigned version = cdns_get16(have + 8);
	if (version != CDNS_JOURNAL_VERSION) {
		cdns__jerr(j, "%s: journal format version %u; this library reads version %u",
		           j->path, version, CDNS_JOURNAL_VERSION);
		return CDNS_ENOTSUP;
	}
	size_t name_len = have[12], hdr_len = CDNS__J_FIXED + name_len + 4;
	if (name_len == 0 || n < hdr_len) {
		cdns__jerr(j, "%s: journal header cut short or damaged", j->path);
		return CDNS_EFORMAT;
	}
	if (cdns_crc32c(0, have, hdr_len - 4) != cdns_get32(have + hdr_len - 4)) {
		cdns__jerr(j, "%s: journal header damaged (checksum mismatch)", j->path);
		return CDNS_EFORMAT;
	}
	const uint8_t *name = have + CDNS__J_FIXED;
	if (cdns_name_check(name, name_len) != (int)name_len) {
		cdns__jerr(j, "%s: journal header holds an invalid zone name", j->path);
		return CDNS_EFORMAT;
	}
	if (name_len != j->apex_len || memcmp(name, j->apex, name_len) != 0) {
		cdns__jerr(j, "%s: this is the journal of zone %s, not of %s", j->path,
		           cdns__name_txt(name, a), cdns__name_txt(j->apex, b));
		return CDNS_EINVAL;
	}
	if (cdns_get16(have + 10) != j->rclass) {
		char ca[16], cb[16];
		cdns_rrclass_to_text(cdns_get16(have + 10), ca, sizeof(ca));
		cdns_rrclass_to_text(j->rclass, cb, sizeof(cb));
		cdns__jerr(j, "%s: this is the journal of %s class %s, not class %s", j->path,
		           cdns__name_txt(name, a), ca, cb);
		return CDNS_EINVAL;
	}
	j->hdr_len = want_len;
	return 0;
}

/* Are bytes [off, size) all zero? (A crash after the size of a file grew but before its
 * blocks were written can leave zeros.) 1 yes, 0 no, -1 read error. */
static int cdns__all_zero(int fd, uint64_t off, uint64_t size)
{
	uint8_t buf[4096];

	while (off < size) {
		size_t n = size - off < sizeof(buf) ? (size_t)(size - off) : sizeof(buf);
		if (cdns__pread_all(fd, buf, n, off) != 0)
			return -1;
		for (size_t i = 0; i < n; i++)
			if (buf[i] != 0)
				return 0;
		off += n;
	}
	return 1;
}

/* CRC32C of len bytes of the file at off. 0, 1 (the file ends first), -1 (errno). */
static int cdns__crc_range(cdns_journal_t *j, uint64_t off, uint64_t len, uint32_t *crc)
{
	int ret = cdns__jbuf(j, CDNS__J_COPY_CHUNK);
	uint32_t c = 0;

	if (ret < 0) {
		errno = ENOMEM;
		return -1;
	}
	while (len > 0) {
		size_t n = len < CDNS__J_COPY_CHUNK ? (size_t)len : CDNS__J_COPY_CHUNK;
		int r = cdns__pread_all(j->fd, j->buf, n, off);
		if (r != 0)
			return r;
		c = cdns_crc32c(c, j->buf, n);
		off += n;
		len -= n;
	}
	*crc = c;
	return 0;
}

enum { CDNS__SCAN_OK, CDNS__SCAN_TORN, CDNS__SCAN_CORRUPT };

/* Walk the records from the header to size; fills the index. Returns CDNS__SCAN_* (what
 * stopped the walk; j->err says why for TORN and CORRUPT, and *stop is where) or a negative
 * error. */
static int cdns__jscan(cdns_journal_t *j, uint64_t size, uint64_t *stop)
{
	uint64_t off = j->hdr_len;
	uint8_t h[CDNS__J_RHDR];

	for (;;) {
		*stop = off;
		if (off >= size)
			return CDNS__SCAN_OK;
		uint64_t rem = size - off;
		size_t idx = j->n + 1;
		if (rem < CDNS__J_OVERHEAD) {
			cdns__jerr(j, "record %zu at offset %llu: cut short (%llu bytes)", idx,
			           (unsigned long long)off, (unsigned long long)rem);
			return CDNS__SCAN_TORN;
		}
		if (cdns__pread_all(j->fd, h, sizeof(h), off) != 0)
			goto io;
		if (cdns_crc32c(0, h, 12) != cdns_get32(h + 12)) {
			int z = cdns__all_zero(j->fd, off, size);
			if (z < 0)
				goto io;
			if (z == 1) {
				cdns__jerr(j, "record %zu at offset %llu: %llu zero bytes", idx,
				           (unsigned long long)off, (unsigned long long)rem);
				return CDNS__SCAN_TORN;
			}
			cdns__jerr(j,
			           "record %zu at offset %llu: record header damaged (checksum "
			           "mismatch)",
			           idx, (unsigned long long)off);
			return CDNS__SCAN_CORRUPT;
		}
		cdns__jrec_t r = {
		    .off = off,
		    .len = cdns_get32(h),
		    .before = cdns_get32(h + 4),
		    .after = cdns_get32(h + 8),
		};
		uint64_t end = off + CDNS__J_OVERHEAD + r.len;
		if (end > size) {
			cdns__jerr(j, "record %zu at offset %llu: cut short (%llu of %llu bytes)",
			           idx, (unsigned long long)off, (unsigned long long)rem,
			           (unsigned long long)(end - off));
			return CDNS__SCAN_TORN;
		}
		uint32_t crc;
		uint8_t t[4];
		if (cdns__crc_range(j, off + CDNS__J_RHDR, r.len, &crc) != 0 ||
		    cdns__pread_all(j->fd, t, 4, end - 4) != 0)
			goto io;
		if (crc != cdns_get32(t)) {
			cdns__jerr(j,
			           "record %zu at offset %llu: changeset damaged (checksum "
			           "mismatch)",
			           idx, (unsigned long long)off);
			return end == size ? CDNS__SCAN_TORN : CDNS__SCAN_CORRUPT;
		}
		if (j->n > 0 && r.before != j->recs[j->n - 1].after) {
			cdns__jerr(j,
			           "record %zu at offset %llu: starts at serial %u, but the "
			           "previous changeset ends at serial %u",
			           idx, (unsigned long long)off, r.before, j->recs[j->n - 1].after);
			return CDNS__SCAN_CORRUPT;
		}
		if (cdns__jpush(j, r) < 0)
			return CDNS_ENOMEM;
		off = end;
	}
io:
	if (errno == 0)
		errno = EIO;
	cdns__jerr(j, "%s: read: %s", j->path, strerror(errno));
	return CDNS_EIO;
}

static int cdns__jpaths(cdns_journal_t *j, const char *path)
{
	size_t n = strlen(path);
	const char *slash = strrchr(path, '/');

	j->path = strdup(path);
	j->tmp_path = malloc(n + 5);
	if (slash == NULL)
		j->dir_path = strdup(".");
	else if (slash == path)
		j->dir_path = strdup("/");
	else
		j->dir_path = strndup(path, (size_t)(slash - path));
	if (j->path == NULL || j->tmp_path == NULL || j->dir_path == NULL)
		return CDNS_ENOMEM;
	memcpy(j->tmp_path, path, n);
	memcpy(j->tmp_path + n, ".tmp", 5);
	return 0;
}

/* A file shorter than a header whose bytes are the start of ours: a creation cut short by a
 * crash (or a new empty file). Write the header. */
static int cdns__jinit(cdns_journal_t *j, uint64_t size, bool *done)
{
	uint8_t want[CDNS__J_FIXED + CDNS_NAME_MAXLEN + 4], have[sizeof(want)];
	size_t want_len = cdns__jheader(j, want);

	*done = false;
	if (size >= want_len)
		return 0;
	if (size > 0) {
		if (cdns__pread_all(j->fd, have, (size_t)size, 0) != 0)
			goto io;
		if (memcmp(have, want, (size_t)size) != 0)
			return 0; /* someone else's: the header check says what is wrong */
	}
	if (j->flags & CDNS_JOURNAL_READONLY) {
		j->hdr_len = want_len;
		j->size = size;
		*done = true;
		return 0;
	}
	if (cdns__pwrite_all(j->fd, want, want_len, 0) < 0 || fdatasync(j->fd) < 0)
		goto io;
	int ret = cdns__fsync_dir(j);
	if (ret < 0)
		return ret;
	j->hdr_len = j->size = want_len;
	*done = true;
	return 0;
io:
	cdns__jerr(j, "%s: %s", j->path, strerror(errno));
	return CDNS_EIO;
}

#pragma GCC visibility push(default)

int cdns_journal_open(const char *path, const uint8_t *apex, uint16_t rclass, uint64_t max_size,
                      unsigned flags, cdns_journal_t **out, cdns_journal_report_t *rep)
{
	cdns_journal_report_t local;
	cdns_journal_t *j = NULL;
	bool ro = (flags & CDNS_JOURNAL_READONLY) != 0;
	int ret;

	if (rep == NULL)
		rep = &local;
	memset(rep, 0, sizeof(*rep));
	if (out != NULL)
		*out = NULL;
	if (path == NULL || apex == NULL || out == NULL ||
	    cdns_name_check(apex, CDNS_NAME_MAXLEN) < 0) {
		snprintf(rep->text, sizeof(rep->text), "journal: invalid arguments");
		return CDNS_EINVAL;
	}
	j = calloc(1, sizeof(*j));
	if (j == NULL)
		return CDNS_ENOMEM;
	j->fd = -1;
	j->flags = flags;
	j->rclass = rclass;
	j->max_size = max_size;
	j->apex_len = (uint8_t)cdns_name_copy_lower(j->apex, apex);
	ret = CDNS_ENOMEM;
	if (cdns__jpaths(j, path) < 0 || (j->cs = cdns_changeset_new(j->apex, rclass)) == NULL)
		goto fail;

	j->fd =
	    ro ? open(path, O_RDONLY | O_CLOEXEC) : open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
	if (j->fd < 0) {
		ret = ro && errno == ENOENT ? CDNS_ENOENT : CDNS_EIO;
		cdns__jerr(j, "%s: open: %s", path, strerror(errno));
		goto fail;
	}
	if (!ro) {
		if (flock(j->fd, LOCK_EX | LOCK_NB) < 0) {
			ret = errno == EWOULDBLOCK ? CDNS_EAGAIN : CDNS_EIO;
			cdns__jerr(j, "%s: %s", path,
			           ret == CDNS_EAGAIN ? "the journal is open for writing in "
			                                "another process"
			                              : strerror(errno));
			goto fail;
		}
		/* Left by a compaction that crashed before its rename: the journal itself is
		 * whole (the old version). */
		if (unlink(j->tmp_path) < 0 && errno != ENOENT) {
			ret = CDNS_EIO;
			cdns__jerr(j, "%s: unlink: %s", j->tmp_path, strerror(errno));
			goto fail;
		}
	}
	struct stat st;
	if (fstat(j->fd, &st) < 0) {
		ret = CDNS_EIO;
		cdns__jerr(j, "%s: stat: %s", path, strerror(errno));
		goto fail;
	}
	uint64_t size = (uint64_t)st.st_size;
	bool fresh;
	if ((ret = cdns__jinit(j, size, &fresh)) < 0)
		goto fail;
	if (fresh) {
		*out = j;
		return 0;
	}
	if ((ret = cdns__jcheck_header(j, size)) < 0)
		goto fail;

	uint64_t stop;
	int scan = cdns__jscan(j, size, &stop);
	if (scan < 0) {
		ret = scan;
		goto fail;
	}
	j->size = stop;
	rep->changesets = j->n;
	if (scan == CDNS__SCAN_TORN) {
		rep->torn = 1;
		rep->cut_bytes = size - stop;
		if (!ro && (ftruncate(j->fd, (off_t)stop) < 0 || fdatasync(j->fd) < 0)) {
			ret = CDNS_EIO;
			cdns__jerr(j, "%s: cutting the torn last record: %s", path,
			           strerror(errno));
			goto fail;
		}
		cdns__textf(rep->text, sizeof(rep->text),
		            "%s: torn last record (%s); %llu bytes %s, %zu whole changesets kept",
		            path, j->err, (unsigned long long)rep->cut_bytes,
		            ro ? "ignored (read-only)" : "cut off", j->n);
		j->err[0] = '\0';
	} else if (scan == CDNS__SCAN_CORRUPT) {
		cdns__textf(rep->text, sizeof(rep->text),
		            "%s: %s, with %llu bytes after it; the %zu changesets before it are "
		            "intact%s",
		            path, j->err, (unsigned long long)(size - stop), j->n,
		            ro ? "" : " (open read-only to read them, then move the file aside)");
		if (!ro) {
			ret = CDNS_EFORMAT;
			goto fail_reported;
		}
		rep->corrupt = 1;
		j->broken = true;
	}
	*out = j;
	return 0;
fail:
	cdns__textf(rep->text, sizeof(rep->text), "%s", j->err);
fail_reported : {
	int saved = errno;
	cdns__jfree(j);
	errno = saved;
}
	return ret;
}

void cdns_journal_close(cdns_journal_t *j)
{
	cdns__jfree(j);
}

size_t cdns_journal_count(const cdns_journal_t *j)
{
	return j->n;
}

uint64_t cdns_journal_size(const cdns_journal_t *j)
{
	return j->size;
}

int cdns_journal_first_serial(const cdns_journal_t *j, uint32_t *serial)
{
	if (j->n == 0)
		return CDNS_ENOENT;
	*serial = j->recs[0].before;
	return 0;
}

int cdns_journal_last_serial(const cdns_journal_t *j, uint32_t *serial)
{
	if (j->n == 0)
		return CDNS_ENOENT;
	*serial = j->recs[j->n - 1].after;
	return 0;
}

const char *cdns_journal_error(const cdns_journal_t *j)
{
	return j->err;
}

#pragma GCC visibility pop

/* ---------------------------------------------------------------------------------------- */
/* Compaction                                                                                 */

/* Rewrite the journal keeping records k..n-1: temporary file, fdatasync, rename, fsync of the
 * directory. On failure before the rename the journal is unchanged. */
static int cdns__jrewrite(cdns_journal_t *j, size_t k)
{
	uint8_t hdr[CDNS__J_FIXED + CDNS_NAME_MAXLEN + 4];
	size_t hdr_len = cdns__jheader(j, hdr);
	uint64_t from = k < j->n ? j->recs[k].off : j->size;
	uint64_t len = j->size - from;
	struct stat st;
	int fd = -1, ret;
	const char *what = "open";

	fd = open(j->tmp_path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (fd < 0)
		goto io;
	what = "write";
	/* Same permissions as the journal it replaces. */
	if (fstat(j->fd, &st) == 0)
		(void)fchmod(fd, st.st_mode & 07777);
	if (cdns__pwrite_all(fd, hdr, hdr_len, 0) < 0)
		goto io;
	if ((ret = cdns__jbuf(j, CDNS__J_COPY_CHUNK)) < 0) {
		errno = ENOMEM;
		goto io;
	}
	for (uint64_t done = 0; done < len;) {
		size_t n =
		    len - done < CDNS__J_COPY_CHUNK ? (size_t)(len - done) : CDNS__J_COPY_CHUNK;
		if (cdns__pread_all(j->fd, j->buf, n, from + done) != 0) {
			what = "read";
			goto io;
		}
		if (cdns__pwrite_all(fd, j->buf, n, hdr_len + done) < 0)
			goto io;
		done += n;
	}
	what = "fdatasync";
	if (fdatasync(fd) < 0)
		goto io;
	/* Lock the new file before it becomes the journal, so no writer slips in. */
	what = "flock";
	if (flock(fd, LOCK_EX | LOCK_NB) < 0)
		goto io;
	what = "rename";
	if (rename(j->tmp_path, j->path) < 0)
		goto io;

	/* The new file is the journal now, whatever happens next. */
	close(j->fd);
	j->fd = fd;
	uint64_t delta = from - hdr_len;
	memmove(j->recs, j->recs + k, (j->n - k) * sizeof(*j->recs));
	j->n -= k;
	for (size_t i = 0; i < j->n; i++)
		j->recs[i].off -= delta;
	j->hdr_len = hdr_len;
	j->size = hdr_len + len;
	return cdns__fsync_dir(j);
io:
	ret = errno == ENOMEM ? CDNS_ENOMEM : CDNS_EIO;
	cdns__jerr(j, "%s: compaction: %s: %s", j->tmp_path, what, strerror(errno));
	if (fd >= 0) {
		int saved = errno;
		close(fd);
		unlink(j->tmp_path);
		errno = saved;
	}
	return ret;
}

/* ---------------------------------------------------------------------------------------- */
/* Encoding and decoding                                                                      */

static uint8_t *cdns__put_rr(uint8_t *p, const cdns_changeset_rr_t *rr, bool with_owner)
{
	if (with_owner) {
		size_t n = cdns_name_len(rr->owner);
		memcpy(p, rr->owner, n);
		p += n;
		cdns_put16(p, rr->type);
		cdns_put16(p + 2, rr->rclass);
		p += 4;
	}
	cdns_put32(p, rr->ttl);
	cdns_put16(p + 4, rr->rdlen);
	p += 6;
	if (rr->rdlen > 0)
		memcpy(p, rr->rdata, rr->rdlen);
	return p + rr->rdlen;
}

/* The whole record of cs into j->buf; its length into *len. */
static int cdns__jencode(cdns_journal_t *j, const cdns_changeset_t *cs, size_t *len)
{
	cdns_changeset_rr_t soa[2];
	uint64_t payload = 8;

	cdns_changeset_soa(cs, CDNS_CS_BEFORE, &soa[0]);
	cdns_changeset_soa(cs, CDNS_CS_AFTER, &soa[1]);
	payload += 12 + (uint64_t)soa[0].rdlen + soa[1].rdlen;
	for (int s = 0; s < 2; s++) {
		size_t n = cdns_changeset_count(cs, s);
		for (size_t i = 0; i < n; i++) {
			const cdns_changeset_rr_t *rr = cdns_changeset_rr(cs, s, i);
			payload += cdns_name_len(rr->owner) + 10 + rr->rdlen;
		}
	}
	if (payload > UINT32_MAX) {
		cdns__jerr(j, "changeset of %llu bytes: more than a record holds (4 GiB)",
		           (unsigned long long)payload);
		return CDNS_ERANGE;
	}
	size_t total = CDNS__J_OVERHEAD + (size_t)payload;
	if (cdns__jbuf(j, total) < 0)
		return CDNS_ENOMEM;
	uint8_t *b = j->buf, *p = b + CDNS__J_RHDR;
	cdns_put32(b, (uint32_t)payload);
	cdns_put32(b + 4, cdns_changeset_serial(cs, CDNS_CS_BEFORE));
	cdns_put32(b + 8, cdns_changeset_serial(cs, CDNS_CS_AFTER));
	cdns_put32(b + 12, cdns_crc32c(0, b, 12));
	p = cdns__put_rr(p, &soa[0], false);
	p = cdns__put_rr(p, &soa[1], false);
	cdns_put32(p, (uint32_t)cdns_changeset_count(cs, CDNS_CS_REMOVED));
	cdns_put32(p + 4, (uint32_t)cdns_changeset_count(cs, CDNS_CS_ADDED));
	p += 8;
	for (int s = 0; s < 2; s++) {
		size_t n = cdns_changeset_count(cs, s);
		for (size_t i = 0; i < n; i++)
			p = cdns__put_rr(p, cdns_changeset_rr(cs, s, i), true);
	}
	cdns_put32(p, cdns_crc32c(0, b + CDNS__J_RHDR, (size_t)payload));
	*len = total;
	return 0;
}

/* Decode a payload (already checksummed) into j->cs. Defensive all the same: every length is
 * checked against what is left and every RR goes through the changeset's own checks. */
static int cdns__jdecode(cdns_journal_t *j, const cdns__jrec_t *r, const uint8_t *p)
{
	cdns_changeset_t *cs = j->cs;
	size_t len = r->len, pos = 0;

	cdns_changeset_clear(cs);
	for (int which = 0; which < 2; which++) {
		if (len - pos < 6)
			return CDNS_EFORMAT;
		uint32_t ttl = cdns_get32(p + pos);
		uint16_t rdlen = cdns_get16(p + pos + 4);
		pos += 6;
		if (len - pos < rdlen || cdns_changeset_set_soa(cs, which, ttl, p + pos, rdlen) < 0)
			return CDNS_EFORMAT;
		pos += rdlen;
	}
	if (cdns_changeset_serial(cs, CDNS_CS_BEFORE) != r->before ||
	    cdns_changeset_serial(cs, CDNS_CS_AFTER) != r->after || len - pos < 8)
		return CDNS_EFORMAT;
	uint32_t count[2] = {cdns_get32(p + pos), cdns_get32(p + pos + 4)};
	pos += 8;
	/* An RR takes at least 11 bytes: no count can ask for more than the payload holds. */
	if ((uint64_t)count[0] + count[1] > (len - pos) / 11)
		return CDNS_EFORMAT;
	for (int s = 0; s < 2; s++) {
		for (uint32_t i = 0; i < count[s]; i++) {
			int n = cdns_name_check(p + pos, len - pos);
			if (n < 0 || len - pos - (size_t)n < 10)
				return CDNS_EFORMAT;
			const uint8_t *owner = p + pos, *f = p + pos + n;
			uint16_t type = cdns_get16(f), rclass = cdns_get16(f + 2);
			uint32_t ttl = cdns_get32(f + 4);
			uint16_t rdlen = cdns_get16(f + 8);
			pos += (size_t)n + 10;
			if (len - pos < rdlen)
				return CDNS_EFORMAT;
			int ret =
			    s == CDNS_CS_REMOVED
			        ? cdns_changeset_remove(cs, owner, type, rclass, ttl, p + pos,
			                                rdlen)
			        : cdns_changeset_add(cs, owner, type, rclass, ttl, p + pos, rdlen);
			if (ret == CDNS_ENOMEM)
				return ret;
			if (ret < 0)
				return CDNS_EFORMAT;
			pos += rdlen;
		}
	}
	return pos == len ? 0 : CDNS_EFORMAT;
}

/* Read record i back, check it again, decode it into j->cs. */
static int cdns__jread(cdns_journal_t *j, size_t i)
{
	const cdns__jrec_t *r = &j->recs[i];
	size_t total = CDNS__J_OVERHEAD + (size_t)r->len;

	if (cdns__jbuf(j, total) < 0)
		return CDNS_ENOMEM;
	int rd = cdns__pread_all(j->fd, j->buf, total, r->off);
	if (rd < 0) {
		cdns__jerr(j, "%s: read: %s", j->path, strerror(errno));
		return CDNS_EIO;
	}
	const uint8_t *b = j->buf;
	if (rd > 0 || cdns_crc32c(0, b, 12) != cdns_get32(b + 12) || cdns_get32(b) != r->len ||
	    cdns_get32(b + 4) != r->before || cdns_get32(b + 8) != r->after ||
	    cdns_crc32c(0, b + CDNS__J_RHDR, r->len) != cdns_get32(b + total - 4)) {
		cdns__jerr(j,
		           "%s: record at offset %llu (serial %u to %u) no longer reads back "
		           "whole: the file was changed since it was opened",
		           j->path, (unsigned long long)r->off, r->before, r->after);
		return CDNS_EFORMAT;
	}
	int ret = cdns__jdecode(j, r, b + CDNS__J_RHDR);
	if (ret == CDNS_EFORMAT)
		cdns__jerr(j,
		           "%s: record at offset %llu (serial %u to %u): its checksum is right "
		           "but it does not decode as a changeset of this zone",
		           j->path, (unsigned long long)r->off, r->before, r->after);
	return ret;
}

static int cdns__jwalk(cdns_journal_t *j, size_t from, cdns_journal_cb cb, void *ctx)
{
	for (size_t i = from; i < j->n; i++) {
		int ret = cdns__jread(j, i);
		if (ret < 0)
			return ret;
		if ((ret = cb(ctx, j->cs)) != 0)
			return ret;
	}
	return 0;
}

/* Index of the newest record whose serial before is serial, or SIZE_MAX. The newest: after
 * 2^32 changes a serial comes back, and a client is likelier to hold the recent version. */
static size_t cdns__jfind(const cdns_journal_t *j, uint32_t serial)
{
	for (size_t i = j->n; i > 0; i--)
		if (j->recs[i - 1].before == serial)
			return i - 1;
	return SIZE_MAX;
}

#pragma GCC visibility push(default)

int cdns_journal_append(cdns_journal_t *j, const cdns_changeset_t *cs)
{
	char a[CDNS_NAME_MAXTEXT];
	size_t len;
	int ret;

	if (j == NULL || cs == NULL)
		return CDNS_EINVAL;
	j->err[0] = '\0';
	if (j->flags & CDNS_JOURNAL_READONLY) {
		cdns__jerr(j, "%s: opened read-only", j->path);
		return CDNS_EINVAL;
	}
	if (j->broken) {
		cdns__jerr(j, "%s: an earlier fdatasync failed: reopen the journal", j->path);
		return CDNS_EINVAL;
	}
	if (cdns_changeset_class(cs) != j->rclass ||
	    !cdns_name_equal(cdns_changeset_apex(cs), j->apex)) {
		cdns__jerr(j, "%s: the changeset is for %s, not for this journal's zone", j->path,
		           cdns__name_txt(cdns_changeset_apex(cs), a));
		return CDNS_EINVAL;
	}
	if (cdns_changeset_soa(cs, CDNS_CS_BEFORE, NULL) < 0 ||
	    cdns_changeset_soa(cs, CDNS_CS_AFTER, NULL) < 0) {
		cdns__jerr(j, "%s: the changeset lacks an SOA", j->path);
		return CDNS_EINVAL;
	}
	uint32_t before = cdns_changeset_serial(cs, CDNS_CS_BEFORE);
	if (j->n > 0 && before != j->recs[j->n - 1].after) {
		cdns__jerr(j, "%s: the changeset starts at serial %u, the journal ends at %u",
		           j->path, before, j->recs[j->n - 1].after);
		return CDNS_EINVAL;
	}
	if ((ret = cdns__jencode(j, cs, &len)) < 0)
		return ret;

	if (!(j->flags & CDNS_JOURNAL_MANUAL) && j->max_size > 0 && j->n > 0 &&
	    j->size + len > j->max_size) {
		/* Drop the oldest down to 3/4 of the limit, the new record included. */
		uint64_t target = j->max_size - j->max_size / 4;
		size_t k = 0;
		while (k < j->n && j->hdr_len + (j->size - j->recs[k].off) + len > target)
			k++;
		/* The rewrite reuses j->buf: encode again afterwards. */
		if ((ret = cdns__jrewrite(j, k)) < 0 || (ret = cdns__jencode(j, cs, &len)) < 0)
			return ret;
	}

	uint64_t off = j->size;
	if (cdns__pwrite_all(j->fd, j->buf, len, off) < 0) {
		int saved = errno;
		cdns__jerr(j, "%s: write: %s", j->path, strerror(saved));
		/* Take back whatever part of the record reached the file. */
		if (ftruncate(j->fd, (off_t)off) < 0)
			j->broken = true;
		errno = saved;
		return CDNS_EIO;
	}
	if (fdatasync(j->fd) < 0) {
		int saved = errno;
		cdns__jerr(j, "%s: fdatasync: %s", j->path, strerror(saved));
		(void)ftruncate(j->fd, (off_t)off);
		j->broken = true;
		errno = saved;
		return CDNS_EIO;
	}
	const uint8_t *b = j->buf;
	ret = cdns__jpush(j, (cdns__jrec_t){
	                         .off = off,
	                         .len = cdns_get32(b),
	                         .before = cdns_get32(b + 4),
	                         .after = cdns_get32(b + 8),
	                     });
	if (ret < 0) {
		/* Durable but not indexed: a reopen finds it. */
		j->broken = true;
		cdns__jerr(j, "%s: out of memory indexing the record: reopen the journal", j->path);
		return ret;
	}
	j->size = off + len;
	return 0;
}

int cdns_journal_read_from(cdns_journal_t *j, uint32_t serial, cdns_journal_cb cb, void *ctx)
{
	if (j == NULL || cb == NULL)
		return CDNS_EINVAL;
	j->err[0] = '\0';
	if (j->n > 0 && serial == j->recs[j->n - 1].after)
		return 0;
	size_t i = cdns__jfind(j, serial);
	if (i == SIZE_MAX) {
		cdns__jerr(j, "%s: serial %u is not in the journal", j->path, serial);
		return CDNS_ENOENT;
	}
	return cdns__jwalk(j, i, cb, ctx);
}

int cdns_journal_replay(cdns_journal_t *j, cdns_journal_cb cb, void *ctx)
{
	if (j == NULL || cb == NULL)
		return CDNS_EINVAL;
	j->err[0] = '\0';
	return cdns__jwalk(j, 0, cb, ctx);
}

/* For compact and trim: the index of the changeset whose serial before is serial (the count
 * when serial is the last serial) into *k. Returns 0, CDNS_EINVAL, CDNS_ENOENT. */
static int cdns__jcut_at(cdns_journal_t *j, uint32_t serial, size_t *k)
{
	if (j == NULL)
		return CDNS_EINVAL;
	j->err[0] = '\0';
	if (j->flags & CDNS_JOURNAL_READONLY) {
		cdns__jerr(j, "%s: opened read-only", j->path);
		return CDNS_EINVAL;
	}
	if (j->n > 0 && serial == j->recs[j->n - 1].after)
		*k = j->n;
	else if ((*k = cdns__jfind(j, serial)) == SIZE_MAX) {
		cdns__jerr(j, "%s: serial %u is not in the journal", j->path, serial);
		return CDNS_ENOENT;
	}
	return 0;
}

int cdns_journal_compact(cdns_journal_t *j, uint32_t serial)
{
	size_t k;
	int rc = cdns__jcut_at(j, serial, &k);
	if (rc != 0 || k == 0)
		return rc;
	return cdns__jrewrite(j, k);
}

int cdns_journal_trim(cdns_journal_t *j, uint32_t keep, uint64_t target)
{
	/* The most that may go: everything before the changeset that starts at keep. */
	size_t limit;
	int rc = cdns__jcut_at(j, keep, &limit);
	if (rc != 0)
		return rc;
	/* The fewest oldest changesets whose removal brings the file within target. */
	size_t k = 0;
	while (k < limit && j->hdr_len + (j->size - j->recs[k].off) > target)
		k++;
	if (k == 0)
		return 0;
	return cdns__jrewrite(j, k);
}

#pragma GCC visibility pop
