/* Master files (RFC 1035 §5, with $TTL from RFC 2308 §4 and BIND's $GENERATE): a streaming
 * reader that hands every record to a callback. No zone semantics here (SOA/NS checks, merging)
 * — those belong to the zone builder (clouddns/zone.h). */
#ifndef CLOUDDNS_ZONEFILE_H
#define CLOUDDNS_ZONEFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <clouddns/name.h>

/* One record as read. Pointers are valid only during the callback. */
typedef struct cdns_zf_rr {
	const uint8_t *owner; /* absolute, case as written */
	uint16_t type, rclass;
	uint32_t ttl;
	const uint8_t *rdata; /* uncompressed wire form */
	uint16_t rdlen;
	const char *file;     /* file the record came from ($INCLUDE), for messages */
	unsigned line;        /* line where the record starts */
} cdns_zf_rr_t;

/* Where and why reading stopped (errors) or what to warn about. */
typedef struct cdns_zf_msg {
	const char *file;
	unsigned line, col; /* 1-based; col of the offending token */
	char token[64];     /* the offending token, shortened */
	char text[256];     /* e.g. "unknown RR type 'AAA'" */
} cdns_zf_msg_t;

/* Return 0 to go on, anything else to stop reading (that value is returned by the parser). */
typedef int (*cdns_zf_rr_cb)(void *ctx, const cdns_zf_rr_t *rr);
/* Non-fatal findings (e.g. "no $TTL: using the SOA MINIMUM 3600 as default TTL"). */
typedef void (*cdns_zf_warn_cb)(void *ctx, const cdns_zf_msg_t *msg);

typedef struct cdns_zf_opts {
	const uint8_t *origin;   /* initial $ORIGIN (absolute); required */
	uint32_t default_ttl;    /* TTL when neither $TTL nor an explicit/previous TTL is known;
				  * 0 means: use the SOA MINIMUM as BIND does, with a warning */
	uint16_t rclass;         /* class when none is written (and the only one accepted);
				  * 0 means IN */
	unsigned max_include_depth; /* 0: $INCLUDE is refused; typical 8 */
	const char *include_root;   /* relative $INCLUDE paths resolve against the directory of
				     * the including file; if include_root is set, paths outside
				     * it are refused */
	cdns_zf_warn_cb warn;       /* may be NULL */
} cdns_zf_opts_t;

/* Additions (documented behaviour of the two readers below):
 * - Entries: a logical entry (parentheses joined, comments removed) longer than
 *   CDNS_ZF_MAX_ENTRY octets is a syntax error; quoted strings do not span lines.
 * - Positions: msg->col counts octets from 1 (a tab is one column); for something missing at
 *   the end of an entry it is just after the last token, with an empty msg->token.
 * - TTL of a record written without one: $TTL (RFC 2308 §4), else the last explicit TTL
 *   (RFC 1035 §5.1, with a warning once), else opts->default_ttl, else, for the SOA, its
 *   MINIMUM (with a warning), which then serves as $TTL. $TTL and the last TTL are not scoped
 *   to $INCLUDEd files; $ORIGIN and the current owner are (restored after the $INCLUDE, as
 *   BIND does; an included file starts with no current owner).
 * - $GENERATE range lhs [ttl] [class] type rhs (BIND): "$" is the value, "${offset[,width
 *   [,base]]}" with base d, o, x, X, n or N (nibbles, width counting the dots), "$$" and
 *   "\$" a literal '$'. A rhs made of one quoted string is used without its quotes. Records
 *   are generated in order and do not change the current owner.
 * - Warnings and records get ctx, the same pointer as rr_cb.
 * - err->file is the path/name given by the caller or, for an error inside an $INCLUDEd file,
 *   a per-thread copy of that file's path, valid until the next read in the same thread.
 * - rr_cb may be NULL (the file is only checked). */
#define CDNS_ZF_MAX_ENTRY (512u * 1024u)

/* Read a file. For each record calls rr_cb(ctx, rr). On a syntax error fills err (may be NULL)
 * and returns CDNS_ESYNTAX; on I/O errors CDNS_EIO (err->text has strerror); if the callback
 * stops, returns its value. Returns 0 at the end of a good file. */
int cdns_zonefile_read(const char *path, const cdns_zf_opts_t *opts, cdns_zf_rr_cb rr_cb,
		       void *ctx, cdns_zf_msg_t *err);

/* The same over a buffer; name is used as the file name in messages and relative $INCLUDEs
 * resolve against the current directory. */
int cdns_zonefile_read_buf(const char *text, size_t len, const char *name,
			   const cdns_zf_opts_t *opts, cdns_zf_rr_cb rr_cb, void *ctx,
			   cdns_zf_msg_t *err);

#endif
