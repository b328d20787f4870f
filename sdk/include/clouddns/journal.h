/* The journal of a zone: every changeset applied to the zone, in order, in one file, so that
 * IXFR can be served (RFC 1995) and acknowledged updates survive a crash (kill -9, power loss):
 * cdns_journal_append() returns only once the record is on stable storage.
 *
 * File format (version 1; every integer big-endian):
 *
 *   header   "CDNSJRNL"            8  magic
 *            version               2  1
 *            class                 2  the zone's class
 *            name length           1  wire length of the apex (1..255)
 *            apex                  n  lower-cased wire form
 *            header CRC            4  CRC32C of everything above
 *
 *   record   payload length L      4
 *   (repeated) serial before       4  the SOA serials of the changeset, so that the index of
 *            serial after          4  the journal is built without decoding payloads
 *            record header CRC     4  CRC32C of the 12 bytes above
 *            payload               L  the changeset (below)
 *            payload CRC           4  CRC32C of the payload
 *
 *   payload  SOA before            TTL (4), RDLENGTH (2), RDATA
 *            SOA after             TTL (4), RDLENGTH (2), RDATA
 *            removed count         4
 *            added count           4
 *            RRs                   removed then added, each: owner (uncompressed wire form,
 *                                  case kept), TYPE (2), CLASS (2), TTL (4), RDLENGTH (2),
 *                                  RDATA (uncompressed)
 *
 * Checksum: CRC32C (Castagnoli, RFC 3720 §12.1; hardware instruction on x86-64 with SSE4.2)
 * detects every burst error up to 32 bits and torn writes; it is not a defence against an
 * attacker who can write the file. The record header has its own CRC so that a damaged length
 * is never trusted: without it a flipped bit in a length could make a record in the middle
 * look like a torn tail, and recovery would cut off acknowledged changesets.
 *
 * Records form a chain: each one's serial before is the previous one's serial after.
 *
 * Recovery (at open): a record that is incomplete at the end of the file (a short write cut
 * by a crash), or whose checksum fails while it is the last thing in the file, is a torn
 * tail: it was never acknowledged (append had not returned), so the file is truncated back to
 * the last whole record and the repair is reported. A record that fails its checks with more
 * data after it is corruption (a bad disk, an edit): that is an error, nothing is cut.
 *
 * Compaction: when an append would take the file beyond max_size, the oldest changesets are
 * dropped first, down to 3/4 of max_size (so a rewrite happens at most once per max_size/4
 * bytes appended), by writing the kept records to "<path>.tmp", fsync, rename over the
 * journal, fsync of the directory: a crash leaves either the old or the new file. The newest
 * changesets are always kept; one changeset larger than max_size alone is kept too. A caller
 * whose journal is the only durable copy of the changes (no snapshot written yet) opens with
 * CDNS_JOURNAL_MANUAL instead: appends never drop anything, and after writing a snapshot of
 * the zone at serial S it calls cdns_journal_compact(j, S).
 *
 * A journal handle is used by one thread at a time (the control loop). A journal opened for
 * writing holds an exclusive flock(2) on the file, so a second writer (another process) is
 * refused; read-only opens take no lock. */
#ifndef CLOUDDNS_JOURNAL_H
#define CLOUDDNS_JOURNAL_H

#include <stddef.h>
#include <stdint.h>

#include <clouddns/changeset.h>

#define CDNS_JOURNAL_VERSION 1

typedef struct cdns_journal cdns_journal_t;

/* Flags for cdns_journal_open. */
enum {
	/* Never write: no creation, no repair, no append, no compaction (inspection tools,
	 * and salvaging the changesets before a damaged record). */
	CDNS_JOURNAL_READONLY = 1 << 0,
	/* Never drop changesets on append; the caller compacts (cdns_journal_compact). */
	CDNS_JOURNAL_MANUAL = 1 << 1,
};

/* What cdns_journal_open found. text is "" when the file was whole; otherwise it says, with
 * the path and offsets, what was repaired (torn) or what is wrong (errors, corrupt). */
typedef struct cdns_journal_report {
	char text[512];
	int torn;           /* 1: a torn last record was found (cut off unless READONLY) */
	uint64_t cut_bytes; /* bytes after the last whole record (cut off unless READONLY) */
	int corrupt;        /* READONLY open only: a damaged record before the end; only the
	                     * changesets before it are in the handle */
	size_t changesets;  /* whole changesets in the journal (before the damage, if any) */
} cdns_journal_report_t;

/* Open the journal of the zone apex/rclass at path, creating it (with its header, then an
 * fsync of the file and of its directory) if it does not exist. The whole file is checked
 * (both CRCs of every record and the serial chain), a torn tail is cut off, and an index of
 * the records is kept in memory (24 bytes per changeset). max_size is the size compaction
 * keeps the file within (0: no limit). rep may be NULL; when given it is always filled.
 *
 * Returns 0 and *out, or (with rep->text saying what and where):
 *   CDNS_EFORMAT  not a journal (bad magic), a damaged header, or a damaged record before the
 *                 end of the file (open again with CDNS_JOURNAL_READONLY to read the
 *                 changesets before it, then move the file aside);
 *   CDNS_ENOTSUP  a format version this library does not read;
 *   CDNS_EINVAL   the journal of another zone or class, or bad arguments;
 *   CDNS_EAGAIN   another process has the journal open for writing;
 *   CDNS_ENOENT   READONLY and there is no such file;
 *   CDNS_EIO      a system call failed (errno is set), CDNS_ENOMEM.
 * With CDNS_JOURNAL_READONLY, a damaged record before the end is not an error: the handle
 * holds the changesets before it and rep->corrupt is set. */
int cdns_journal_open(const char *path, const uint8_t *apex, uint16_t rclass, uint64_t max_size,
                      unsigned flags, cdns_journal_t **out, cdns_journal_report_t *rep);

/* Close the file and free the handle (NULL is fine). Appended records are already durable. */
void cdns_journal_close(cdns_journal_t *j);

/* Append a changeset and make it durable: the record is written with one write (continued if
 * short) and fdatasync(2)ed before this returns 0. When the journal is empty any first serial
 * is accepted; afterwards the changeset's serial before must be the journal's last serial.
 * Compacts first if the record would take the file beyond max_size (see above).
 * Returns 0, CDNS_EINVAL (another zone or class, an SOA missing, a serial that does not
 * follow, a read-only or damaged journal), CDNS_ERANGE (payload beyond 4 GiB), CDNS_EIO
 * (errno set; the file is cut back to what it was, nothing was appended), CDNS_ENOMEM. */
int cdns_journal_append(cdns_journal_t *j, const cdns_changeset_t *cs);

/* Serial before the oldest changeset / after the newest one. Returns 0 and *serial, or
 * CDNS_ENOENT when the journal is empty. */
int cdns_journal_first_serial(const cdns_journal_t *j, uint32_t *serial);
int cdns_journal_last_serial(const cdns_journal_t *j, uint32_t *serial);

/* Number of changesets, and the size of the file in bytes. */
size_t cdns_journal_count(const cdns_journal_t *j);
uint64_t cdns_journal_size(const cdns_journal_t *j);

/* Called for each changeset read; cs belongs to the journal and is valid only during the
 * call. A non-zero return stops the walk and is returned by the function that called it. */
typedef int (*cdns_journal_cb)(void *ctx, const cdns_changeset_t *cs);

/* IXFR (RFC 1995 §4): call cb for every changeset from the one whose serial before is serial
 * to the newest, oldest first. When serial is the last serial (the client is current), cb is
 * not called and 0 is returned. Returns 0, CDNS_ENOENT (serial is not in the journal: answer
 * with a full transfer), cb's non-zero value, CDNS_EFORMAT (a record no longer reads back
 * whole: the file was changed behind our back), CDNS_EIO, CDNS_ENOMEM. */
int cdns_journal_read_from(cdns_journal_t *j, uint32_t serial, cdns_journal_cb cb, void *ctx);

/* At start-up: call cb for every changeset, oldest first (errors as above). */
int cdns_journal_replay(cdns_journal_t *j, cdns_journal_cb cb, void *ctx);

/* Drop every changeset before the one whose serial before is serial (atomically, as in
 * compaction): call it after writing a snapshot of the zone at serial. serial == the last
 * serial empties the journal. Returns 0, CDNS_ENOENT (serial not in the journal),
 * CDNS_EINVAL (read-only), CDNS_EIO (errno set; the journal is unchanged), CDNS_ENOMEM. */
int cdns_journal_compact(cdns_journal_t *j, uint32_t serial);

/* Drop the oldest changesets until the file is within target bytes, but none from the one
 * whose serial before is keep onwards (keep == the last serial: any may go): for a journal
 * whose changes up to keep are safe in a snapshot, keeping as much IXFR history as fits.
 * Returns 0 (also when nothing had to go), CDNS_ENOENT (keep not in the journal), CDNS_EINVAL
 * (read-only), CDNS_EIO (the journal is unchanged), CDNS_ENOMEM. */
int cdns_journal_trim(cdns_journal_t *j, uint32_t keep, uint64_t target);

/* Text of the last error a call on this handle returned ("" if none): which record, which
 * offset, which system call. */
const char *cdns_journal_error(const cdns_journal_t *j);

/* CRC32C (Castagnoli) of len bytes, continuing from crc (start with 0). Exposed for tools that
 * read journals and for tests; cdns_crc32c(0, "123456789", 9) == 0xe3069283. */
uint32_t cdns_crc32c(uint32_t crc, const void *buf, size_t len);

#endif
