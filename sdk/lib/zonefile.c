/* Master files (RFC 1035 §5): a streaming reader that hands every record to a callback.
 *
 * The input is read in large blocks and cut into logical entries: tokens separated by blanks,
 * with parentheses joining lines and ';' starting a comment (RFC 1035 §5.1). Each entry is
 * kept as one string, its tokens joined by single spaces (quoted strings and escapes exactly as
 * written), so that the RDATA part can be handed to cdns_rdata_from_text() as is. Nothing is
 * allocated per record: one context per read holds the entry, its token table and the RDATA.
 *
 * Supported: $ORIGIN, $TTL (RFC 2308 §4), $INCLUDE, BIND's $GENERATE, omitted owner / TTL /
 * class, TTL units, TYPEnnn / CLASSnnn and "\#" generic RDATA (RFC 3597 §5). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <clouddns/error.h>
#include <clouddns/name.h>
#include <clouddns/rdata.h>
#include <clouddns/rrtype.h>
#include <clouddns/wire.h>
#include <clouddns/zonefile.h>

/* libclouddns is compiled with -fvisibility=hidden: what follows is public API. */
#pragma GCC visibility push(default)

/* Longest logical entry (tokens joined by single spaces): enough for a 65535-octet RDATA in
 * any presentation form (hex is twice the size, escaped text four times); anything longer is
 * a broken file (typically a missing ')'), reported instead of buffered. */
#define CDNS__ZF_MAXENTRY CDNS_ZF_MAX_ENTRY
/* Read size for files. */
#define CDNS__ZF_BUFSZ (256u * 1024u)
/* RFC 2181 §8: a TTL is an unsigned number between 0 and 2^31 - 1. */
#define CDNS__ZF_TTL_MAX 2147483647u
/* Widest $GENERATE field, and longest text a $GENERATE owner may expand to. */
#define CDNS__ZF_GEN_MAXWIDTH 255u
#define CDNS__ZF_GEN_MAXOWNER (CDNS_NAME_MAXTEXT + 64)

/* Character classes of the tokenizer. */
enum {
	CDNS__C_TOK = 0, /* part of a token */
	CDNS__C_BLANK,
	CDNS__C_NL,
	CDNS__C_SEMI,
	CDNS__C_LP,
	CDNS__C_RP,
	CDNS__C_QUOTE,
	CDNS__C_BSL,
};

static const uint8_t cdns__zf_cls[256] = {
    [' '] = CDNS__C_BLANK,  ['\t'] = CDNS__C_BLANK, ['\r'] = CDNS__C_BLANK, ['\f'] = CDNS__C_BLANK,
    ['\v'] = CDNS__C_BLANK, ['\n'] = CDNS__C_NL,    [';'] = CDNS__C_SEMI,   ['('] = CDNS__C_LP,
    [')'] = CDNS__C_RP,     ['"'] = CDNS__C_QUOTE,  ['\\'] = CDNS__C_BSL,
};

/* Where the bytes come from: a caller's buffer (fd < 0) or a file read in blocks. */
typedef struct cdns__zf_src {
	const char *p, *end; /* unread part of the window */
	const char *start;   /* first byte of the window */
	char *buf;           /* read buffer of a file */
	int fd;
	int ioerr;       /* errno of a failed read, 0 if none */
	uint64_t base;   /* offset in the input of *start */
	uint64_t lstart; /* offset in the input of the current line's first byte */
	unsigned line;   /* 1-based line of *p */
} cdns__zf_src_t;

/* A token of the current entry: text->[off, off + len). */
typedef struct cdns__zf_tok {
	uint32_t off, len;
	uint32_t line, col;
	bool quoted; /* starts with '"' */
} cdns__zf_tok_t;

/* One file being read: the top-level input or an $INCLUDEd file. Origin and owner are per
 * file: RFC 1035 §5.1 restores the origin after an $INCLUDE and, as BIND does, so is the
 * current owner. */
typedef struct cdns__zf_frame {
	cdns__zf_src_t src;
	const char *path;     /* for messages, and to resolve relative $INCLUDEs */
	bool relative_to_cwd; /* a buffer: relative $INCLUDEs resolve against "." */
	unsigned depth;
	bool have_owner;
	uint8_t origin[CDNS_NAME_MAXLEN];
	uint8_t owner[CDNS_NAME_MAXLEN];
} cdns__zf_frame_t;

/* A remembered class or type mnemonic: nearly every record repeats one of a handful. */
typedef struct cdns__zf_mnem {
	char text[11];
	uint8_t len; /* 0: empty slot */
	bool is_class;
	uint16_t value;
} cdns__zf_mnem_t;

#define CDNS__ZF_MNEM_SLOTS 32

/* TTL, class and type of a record, as parsed from the tokens after the owner. */
typedef struct cdns__zf_head {
	bool have_ttl;
	uint32_t ttl;
	uint16_t type;
	unsigned ttok; /* token of the type */
	unsigned rd;   /* first RDATA token (may be ntok) */
} cdns__zf_head_t;

typedef struct cdns__zf {
	const cdns_zf_opts_t *opts;
	cdns_zf_rr_cb cb;
	void *ctx;
	cdns_zf_msg_t *err;
	uint16_t rclass;

	/* TTL state, for the whole read (it is not scoped to $INCLUDE files). */
	bool have_default; /* $TTL seen, or the SOA MINIMUM adopted as such */
	uint32_t default_ttl;
	bool have_last; /* an explicit TTL seen (RFC 1035 §5.1 semantics without $TTL) */
	uint32_t last_ttl;
	bool warned_1035;

	/* The current entry. */
	char *text;
	size_t len, cap; /* cap grows up to CDNS__ZF_MAXENTRY + 1 (for the NUL) */
	cdns__zf_tok_t *tok;
	unsigned ntok, tokcap;
	bool blank_owner;     /* the entry's first line starts with a blank */
	unsigned depth;       /* open parentheses */
	unsigned pline, pcol; /* outermost open parenthesis */

	cdns__zf_mnem_t mnem[CDNS__ZF_MNEM_SLOTS];
	char *gen; /* $GENERATE expansion of the RDATA, grown on demand */
	size_t gencap;
	uint8_t *rdata; /* CDNS_RDATA_MAXLEN octets */
} cdns__zf_t;

/* ---------------------------------------------------------------------------------------- */
/* Messages                                                                                   */

/* Errors inside an $INCLUDEd file name that file; its frame is gone when the caller reads the
 * message, so the path is copied here (see zonefile.h). */
static __thread char cdns__zf_errpath[PATH_MAX];

typedef struct cdns__zf_shown {
	char s[48];
} cdns__zf_shown_t;

/* Up to cap - 1 bytes of s for a message: non-printables as '?', "..." when cut. */
static void cdns__zf_show_into(char *out, size_t cap, const char *s, size_t n)
{
	size_t k = n;
	bool cut = false;

	if (k > cap - 1) {
		k = cap - 4;
		cut = true;
	}
	for (size_t i = 0; i < k; i++) {
		unsigned char c = (unsigned char)s[i];
		out[i] = (c >= ' ' && c < 0x7f) ? (char)c : '?';
	}
	if (cut) {
		memcpy(out + k, "...", 3);
		k += 3;
	}
	out[k] = '\0';
}

static cdns__zf_shown_t cdns__zf_show(const char *s, size_t n)
{
	cdns__zf_shown_t r;

	cdns__zf_show_into(r.s, 44, s, n);
	return r;
}

#define CDNS__ZF_SHOW(str, n) (cdns__zf_show((str), (n)).s)
#define CDNS__ZF_TOK(z, tk)   CDNS__ZF_SHOW((z)->text + (tk)->off, (tk)->len)

__attribute__((format(printf, 8, 0))) static int
cdns__zf_vfail(cdns__zf_t *zf, const cdns__zf_frame_t *fr, int code, unsigned line, unsigned col,
               const char *tok, size_t toklen, const char *fmt, va_list ap)
{
	cdns_zf_msg_t *m = zf->err;

	if (m == NULL)
		return code;
	if (fr->depth == 0) {
		m->file = fr->path;
	} else {
		snprintf(cdns__zf_errpath, sizeof(cdns__zf_errpath), "%s", fr->path);
		m->file = cdns__zf_errpath;
	}
	m->line = line;
	m->col = col;
	cdns__zf_show_into(m->token, sizeof(m->token), tok, toklen);
	vsnprintf(m->text, sizeof(m->text), fmt, ap);
	return code;
}

__attribute__((format(printf, 8, 9))) static int
cdns__zf_fail_at(cdns__zf_t *zf, const cdns__zf_frame_t *fr, int code, unsigned line, unsigned col,
                 const char *tok, size_t toklen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	code = cdns__zf_vfail(zf, fr, code, line, col, tok, toklen, fmt, ap);
	va_end(ap);
	return code;
}

/* A syntax error about token t of the current entry. */
__attribute__((format(printf, 4, 5))) static int cdns__zf_fail(cdns__zf_t *zf,
                                                               const cdns__zf_frame_t *fr,
                                                               const cdns__zf_tok_t *t,
                                                               const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = cdns__zf_vfail(zf, fr, CDNS_ESYNTAX, t->line, t->col, zf->text + t->off, t->len, fmt,
	                   ap);
	va_end(ap);
	return r;
}

/* A syntax error just after the last token of the entry (something is missing). */
__attribute__((format(printf, 3, 4))) static int
cdns__zf_fail_end(cdns__zf_t *zf, const cdns__zf_frame_t *fr, const char *fmt, ...)
{
	const cdns__zf_tok_t *t = &zf->tok[zf->ntok - 1];
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = cdns__zf_vfail(zf, fr, CDNS_ESYNTAX, t->line, t->col + t->len, "", 0, fmt, ap);
	va_end(ap);
	return r;
}

__attribute__((format(printf, 4, 5))) static void cdns__zf_warn(cdns__zf_t *zf,
                                                                const cdns__zf_frame_t *fr,
                                                                const cdns__zf_tok_t *t,
                                                                const char *fmt, ...)
{
	cdns_zf_msg_t m;
	va_list ap;

	if (zf->opts->warn == NULL)
		return;
	m.file = fr->path;
	m.line = t->line;
	m.col = t->col;
	cdns__zf_show_into(m.token, sizeof(m.token), zf->text + t->off, t->len);
	va_start(ap, fmt);
	vsnprintf(m.text, sizeof(m.text), fmt, ap);
	va_end(ap);
	zf->opts->warn(zf->ctx, &m);
}

/* ---------------------------------------------------------------------------------------- */
/* Input                                                                                      */

static inline uint64_t cdns__zf_pos(const cdns__zf_src_t *s)
{
	return s->base + (uint64_t)(s->p - s->start);
}

static inline unsigned cdns__zf_col(const cdns__zf_src_t *s)
{
	return (unsigned)(cdns__zf_pos(s) - s->lstart + 1);
}

/* Next block of a file; false at the end of the input or on a read error (s->ioerr). */
static bool cdns__zf_refill(cdns__zf_src_t *s)
{
	ssize_t n;

	if (s->fd < 0 || s->ioerr != 0)
		return false;
	s->base += (uint64_t)(s->end - s->start);
	s->start = s->p = s->end = s->buf;
	do {
		n = read(s->fd, s->buf, CDNS__ZF_BUFSZ);
	} while (n < 0 && errno == EINTR);
	if (n < 0) {
		s->ioerr = errno != 0 ? errno : EIO;
		return false;
	}
	s->end = s->buf + n;
	return n > 0;
}

/* The next byte without consuming it, or -1. */
static inline int cdns__zf_peek(cdns__zf_src_t *s)
{
	if (s->p < s->end || cdns__zf_refill(s))
		return (unsigned char)*s->p;
	return -1;
}

/* Consume the '\n' at s->p. */
static inline void cdns__zf_newline(cdns__zf_src_t *s)
{
	s->p++;
	s->line++;
	s->lstart = cdns__zf_pos(s);
}

/* ---------------------------------------------------------------------------------------- */
/* Tokenizer                                                                                  */

static int cdns__zf_toolong(cdns__zf_t *zf, const cdns__zf_frame_t *fr)
{
	if (zf->depth > 0)
		return cdns__zf_fail_at(zf, fr, CDNS_ESYNTAX, zf->pline, zf->pcol, "(", 1,
		                        "missing ')': entry longer than %u octets",
		                        CDNS__ZF_MAXENTRY);
	const cdns__zf_tok_t *t = &zf->tok[0];
	return cdns__zf_fail_at(zf, fr, CDNS_ESYNTAX, t->line, t->col, zf->text + t->off,
	                        zf->len - t->off, "entry longer than %u octets", CDNS__ZF_MAXENTRY);
}

/* Room for n more octets of entry text, and the final NUL. */
static int cdns__zf_reserve(cdns__zf_t *zf, const cdns__zf_frame_t *fr, size_t n)
{
	if (n <= zf->cap - 1 - zf->len)
		return 0;
	if (n > CDNS__ZF_MAXENTRY - zf->len)
		return cdns__zf_toolong(zf, fr);
	size_t cap = zf->cap * 2;
	if (cap < zf->len + n + 1)
		cap = zf->len + n + 1;
	if (cap > CDNS__ZF_MAXENTRY + 1)
		cap = CDNS__ZF_MAXENTRY + 1;
	char *t = realloc(zf->text, cap);
	if (t == NULL)
		return CDNS_ENOMEM;
	zf->text = t;
	zf->cap = cap;
	return 0;
}

static int cdns__zf_push(cdns__zf_t *zf, const cdns__zf_frame_t *fr, char c)
{
	int r = cdns__zf_reserve(zf, fr, 1);

	if (r == 0)
		zf->text[zf->len++] = c;
	return r;
}

/* Read one token starting at s->p (a byte that is neither a blank nor a delimiter). A token
 * that starts with '"' ends at the closing quote; any other token ends at a blank, a newline,
 * ';', '(' or ')' outside quotes (so that key="a b" stays one token, as the RDATA parser
 * expects). "\X" never ends a token. Quoted strings do not span lines. */
static int cdns__zf_token(cdns__zf_t *zf, cdns__zf_frame_t *fr)
{
	cdns__zf_src_t *s = &fr->src;
	unsigned line = s->line, col = cdns__zf_col(s);
	unsigned qline = line, qcol = col;
	bool quoted = *s->p == '"', inq = false;
	cdns__zf_tok_t *t;
	int r;

	if (zf->ntok > 0 && (r = cdns__zf_push(zf, fr, ' ')) != 0)
		return r;
	if (zf->ntok == zf->tokcap) {
		unsigned cap = zf->tokcap * 2;
		cdns__zf_tok_t *nt = realloc(zf->tok, cap * sizeof(*nt));
		if (nt == NULL)
			return CDNS_ENOMEM;
		zf->tok = nt;
		zf->tokcap = cap;
	}
	t = &zf->tok[zf->ntok++];
	t->off = (uint32_t)zf->len;
	t->len = 0;
	t->line = line;
	t->col = col;
	t->quoted = quoted;

	for (;;) {
		/* Copy the run of ordinary bytes in the window at once. */
		const char *q = s->p;
		if (inq) {
			while (q < s->end) {
				uint8_t k = cdns__zf_cls[(unsigned char)*q];
				if (k == CDNS__C_NL || k == CDNS__C_QUOTE || k == CDNS__C_BSL)
					break;
				q++;
			}
		} else {
			while (q < s->end && cdns__zf_cls[(unsigned char)*q] == CDNS__C_TOK)
				q++;
		}
		if (q > s->p) {
			size_t n = (size_t)(q - s->p);
			if ((r = cdns__zf_reserve(zf, fr, n)) != 0)
				return r;
			memcpy(zf->text + zf->len, s->p, n);
			zf->len += n;
			s->p = q;
		}

		int c = cdns__zf_peek(s);
		if (c < 0)
			break;
		uint8_t k = cdns__zf_cls[c];
		if (k == CDNS__C_TOK ||
		    (inq && k != CDNS__C_NL && k != CDNS__C_QUOTE && k != CDNS__C_BSL))
			continue; /* the window was refilled */
		if (k == CDNS__C_QUOTE) {
			if (!inq) {
				qline = s->line;
				qcol = cdns__zf_col(s);
			}
			if ((r = cdns__zf_push(zf, fr, '"')) != 0)
				return r;
			s->p++;
			inq = !inq;
			if (!inq && quoted)
				break;
			continue;
		}
		if (k == CDNS__C_BSL) {
			unsigned bline = s->line, bcol = cdns__zf_col(s);
			if ((r = cdns__zf_push(zf, fr, '\\')) != 0)
				return r;
			s->p++;
			c = cdns__zf_peek(s);
			if (c < 0 || c == '\n' ||
			    (c == '\r' && s->p + 1 < s->end && s->p[1] == '\n'))
				return cdns__zf_fail_at(zf, fr, CDNS_ESYNTAX, bline, bcol, "\\", 1,
				                        "backslash at the end of a line");
			if ((r = cdns__zf_push(zf, fr, (char)c)) != 0)
				return r;
			s->p++;
			continue;
		}
		break; /* a delimiter, or a newline inside quotes */
	}
	t->len = (uint32_t)(zf->len - t->off);
	if (inq)
		return cdns__zf_fail_at(zf, fr, CDNS_ESYNTAX, qline, qcol, zf->text + t->off,
		                        t->len, "unterminated quoted string");
	return 0;
}

/* Read the next logical entry into zf->text / zf->tok. Returns 1, 0 at the end of the input,
 * or an error. */
static int cdns__zf_entry(cdns__zf_t *zf, cdns__zf_frame_t *fr)
{
	cdns__zf_src_t *s = &fr->src;
	int r;

	zf->len = 0;
	zf->ntok = 0;
	zf->blank_owner = false;
	zf->depth = 0;
	for (;;) {
		int c = cdns__zf_peek(s);
		if (c < 0) {
			if (s->ioerr != 0)
				return cdns__zf_fail_at(zf, fr, CDNS_EIO, s->line, cdns__zf_col(s),
				                        "", 0, "read error: %s",
				                        strerror(s->ioerr));
			if (zf->depth > 0)
				return cdns__zf_fail_at(zf, fr, CDNS_ESYNTAX, zf->pline, zf->pcol,
				                        "(", 1, "missing ')'");
			break;
		}
		switch (cdns__zf_cls[c]) {
		case CDNS__C_NL:
			cdns__zf_newline(s);
			if (zf->depth > 0)
				continue;
			if (zf->ntok > 0)
				goto done;
			zf->blank_owner = false;
			continue;
		case CDNS__C_BLANK:
			/* RFC 1035 §5.1: a line that starts with a blank reuses the last owner. */
			if (zf->ntok == 0 && zf->depth == 0 && cdns__zf_pos(s) == s->lstart)
				zf->blank_owner = true;
			s->p++;
			continue;
		case CDNS__C_SEMI:
			/* A comment runs to the end of the line; the newline is kept. */
			for (;;) {
				const char *nl = memchr(s->p, '\n', (size_t)(s->end - s->p));
				if (nl != NULL) {
					s->p = nl;
					break;
				}
				s->p = s->end;
				if (cdns__zf_peek(s) < 0)
					break;
			}
			continue;
		case CDNS__C_LP:
			if (zf->depth == 0) {
				zf->pline = s->line;
				zf->pcol = cdns__zf_col(s);
			}
			zf->depth++;
			s->p++;
			continue;
		case CDNS__C_RP:
			if (zf->depth == 0)
				return cdns__zf_fail_at(zf, fr, CDNS_ESYNTAX, s->line,
				                        cdns__zf_col(s), ")", 1, "')' without '('");
			zf->depth--;
			s->p++;
			continue;
		default:
			if ((r = cdns__zf_token(zf, fr)) != 0)
				return r;
			continue;
		}
	}
done:
	zf->text[zf->len] = '\0';
	return zf->ntok > 0;
}

/* ---------------------------------------------------------------------------------------- */
/* Fields                                                                                     */

static inline bool cdns__zf_isdigit(char c)
{
	return c >= '0' && c <= '9';
}

static bool cdns__zf_ieq(const char *s, size_t n, const char *lit)
{
	size_t i = 0;

	for (; i < n && lit[i] != '\0'; i++) {
		char c = s[i];
		if (c >= 'a' && c <= 'z')
			c = (char)(c - 'a' + 'A');
		if (c != lit[i])
			return false;
	}
	return i == n && lit[i] == '\0';
}

/* A TTL: seconds, or numbers with units w/d/h/m/s in any case ("1h30m", "2W"; BIND syntax;
 * a final number without unit counts seconds). Returns 0, -1 if malformed, -2 if above
 * 2^31 - 1 (RFC 2181 §8). */
static int cdns__zf_parse_ttl(const char *s, size_t n, uint32_t *out)
{
	uint64_t total = 0, cur = 0;
	bool digits = false;

	if (n == 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		uint64_t mult;

		if (cdns__zf_isdigit(c)) {
			cur = cur * 10 + (uint64_t)(c - '0');
			if (cur > CDNS__ZF_TTL_MAX)
				return -2;
			digits = true;
			continue;
		}
		switch (c) {
		case 'w':
		case 'W': mult = 604800; break;
		case 'd':
		case 'D': mult = 86400; break;
		case 'h':
		case 'H': mult = 3600; break;
		case 'm':
		case 'M': mult = 60; break;
		case 's':
		case 'S': mult = 1; break;
		default: return -1;
		}
		if (!digits)
			return -1;
		total += cur * mult;
		if (total > CDNS__ZF_TTL_MAX)
			return -2;
		cur = 0;
		digits = false;
	}
	total += cur;
	if (total > CDNS__ZF_TTL_MAX)
		return -2;
	*out = (uint32_t)total;
	return 0;
}

static int cdns__zf_ttl(cdns__zf_t *zf, const cdns__zf_frame_t *fr, const cdns__zf_tok_t *t,
                        uint32_t *ttl)
{
	int r = cdns__zf_parse_ttl(zf->text + t->off, t->len, ttl);

	if (r == -2)
		return cdns__zf_fail(zf, fr, t, "bad TTL '%s': larger than %u (RFC 2181 §8)",
		                     CDNS__ZF_TOK(zf, t), CDNS__ZF_TTL_MAX);
	if (r < 0)
		return cdns__zf_fail(zf, fr, t, "bad TTL '%s'", CDNS__ZF_TOK(zf, t));
	return 0;
}

/* A domain name (s, n) relative to the frame's origin, "@" being the origin (RFC 1035 §5.1).
 * Errors are reported at token t. */
static int cdns__zf_name(cdns__zf_t *zf, const cdns__zf_frame_t *fr, const cdns__zf_tok_t *t,
                         const char *s, size_t n, uint8_t *out)
{
	int r;

	if (n == 1 && s[0] == '@') {
		memcpy(out, fr->origin, cdns_name_len(fr->origin));
		return 0;
	}
	if (n > 0 && s[0] == '"')
		return cdns__zf_fail(zf, fr, t, "name: a quoted string is not a name: '%s'",
		                     CDNS__ZF_SHOW(s, n));
	r = cdns_name_from_text(s, n, fr->origin, out);
	if (r >= 0)
		return 0;
	switch (r) {
	case CDNS_ELABEL: return cdns__zf_fail(zf, fr, t, "name: label longer than 63 octets");
	case CDNS_ENAMELEN: return cdns__zf_fail(zf, fr, t, "name: longer than 255 octets");
	default: break;
	}
	/* Say which of the syntax errors it is: an empty label, or a bad escape / character. */
	bool empty = s[0] == '.' && n > 1;
	for (size_t i = 0; i + 1 < n && !empty; i++) {
		if (s[i] == '\\')
			i++;
		else if (s[i] == '.' && s[i + 1] == '.')
			empty = true;
	}
	if (empty)
		return cdns__zf_fail(zf, fr, t, "name: empty label in '%s'", CDNS__ZF_SHOW(s, n));
	return cdns__zf_fail(zf, fr, t, "name: bad escape or character in '%s'",
	                     CDNS__ZF_SHOW(s, n));
}

/* Is (s, n) a class (1) or a type (0) mnemonic, or neither (-1)? Answers come from the
 * library's tables and are remembered, by exact spelling, in a small direct-mapped cache. */
static int cdns__zf_mnemonic(cdns__zf_t *zf, const char *s, size_t n, uint16_t *value)
{
	cdns__zf_mnem_t *m = NULL;
	int r;

	if (n < sizeof(m->text)) {
		unsigned h =
		    ((unsigned char)s[0] * 31u + (unsigned char)s[n - 1] * 7u + (unsigned)n) %
		    CDNS__ZF_MNEM_SLOTS;
		m = &zf->mnem[h];
		if (m->len == n && memcmp(m->text, s, n) == 0) {
			*value = m->value;
			return m->is_class;
		}
	}
	if (cdns_rrclass_from_text(s, n, value) == 0)
		r = 1;
	else if (cdns_rrtype_from_text(s, n, value) == 0)
		r = 0;
	else
		return -1;
	if (m != NULL) {
		memcpy(m->text, s, n);
		m->len = (uint8_t)n;
		m->is_class = r == 1;
		m->value = *value;
	}
	return r;
}

/* [TTL] [class] type, in either order (RFC 1035 §5.1), from token i on. */
static int cdns__zf_head(cdns__zf_t *zf, const cdns__zf_frame_t *fr, unsigned i, cdns__zf_head_t *h)
{
	bool have_class = false;
	char a[16], b[16];
	int r;

	h->have_ttl = false;
	for (;; i++) {
		if (i >= zf->ntok)
			return cdns__zf_fail_end(zf, fr, "missing RR type");
		const cdns__zf_tok_t *t = &zf->tok[i];
		const char *s = zf->text + t->off;
		uint16_t v;

		/* No type or class mnemonic starts with a digit: this is a TTL. */
		if (cdns__zf_isdigit(s[0])) {
			if (h->have_ttl)
				return cdns__zf_fail(zf, fr, t, "TTL given twice: '%s'",
				                     CDNS__ZF_TOK(zf, t));
			if ((r = cdns__zf_ttl(zf, fr, t, &h->ttl)) != 0)
				return r;
			h->have_ttl = true;
			continue;
		}
		int kind = cdns__zf_mnemonic(zf, s, t->len, &v);
		if (kind == 1) {
			if (have_class)
				return cdns__zf_fail(zf, fr, t, "class given twice: '%s'",
				                     CDNS__ZF_TOK(zf, t));
			if (v != zf->rclass) {
				cdns_rrclass_to_text(v, a, sizeof(a));
				cdns_rrclass_to_text(zf->rclass, b, sizeof(b));
				return cdns__zf_fail(
				    zf, fr, t, "class %s does not match the zone class %s", a, b);
			}
			have_class = true;
			continue;
		}
		if (kind < 0)
			return cdns__zf_fail(zf, fr, t, "unknown RR type '%s'",
			                     CDNS__ZF_TOK(zf, t));
		if (cdns_rrtype_is_meta(v))
			return cdns__zf_fail(zf, fr, t, "RR type '%s' cannot appear in a zone file",
			                     CDNS__ZF_TOK(zf, t));
		h->type = v;
		h->ttok = i;
		h->rd = i + 1;
		return 0;
	}
}

/* Parse RDATA text of h->type into zf->rdata. Errors from the RDATA parser point into the
 * entry at byte `base` + offset; they are reported at the token holding that byte, or at the
 * token `at` if the text is not the entry's (a $GENERATE expansion). */
static int cdns__zf_rdata(cdns__zf_t *zf, const cdns__zf_frame_t *fr, const cdns__zf_head_t *h,
                          const char *text, size_t len, const cdns__zf_tok_t *at, size_t base)
{
	cdns_text_err_t te;
	int r =
	    cdns_rdata_from_text(h->type, text, len, fr->origin, zf->rdata, CDNS_RDATA_MAXLEN, &te);
	const char *msg;

	if (r >= 0)
		return r;
	msg = te.msg[0] != '\0' ? te.msg : cdns_strerror(r);
	if (at != NULL)
		return cdns__zf_fail(zf, fr, at, "%s", msg);
	size_t o = base + te.offset;
	for (unsigned k = h->rd; k < zf->ntok; k++) {
		const cdns__zf_tok_t *t = &zf->tok[k];
		if (o < t->off || o >= t->off + t->len)
			continue;
		/* Tokens never span lines, so the column moves with the offset. */
		return cdns__zf_fail_at(zf, fr, CDNS_ESYNTAX, t->line,
		                        t->col + (unsigned)(o - t->off), zf->text + t->off, t->len,
		                        "%s", msg);
	}
	/* Past the last token: something is missing. */
	return cdns__zf_fail_end(zf, fr, "%s", msg);
}

/* Choose the TTL of a record and hand it to the callback. Without an explicit TTL: $TTL
 * (RFC 2308 §4), else the last explicit TTL (RFC 1035 §5.1), else opts->default_ttl, else the
 * SOA MINIMUM of this very record if it is the SOA (as BIND does, with a warning). */
static int cdns__zf_emit(cdns__zf_t *zf, const cdns__zf_frame_t *fr, const uint8_t *owner,
                         const cdns__zf_head_t *h, int rdlen, const cdns__zf_tok_t *at)
{
	uint32_t ttl;

	if (h->have_ttl) {
		ttl = h->ttl;
		zf->have_last = true;
		zf->last_ttl = ttl;
	} else if (zf->have_default) {
		ttl = zf->default_ttl;
	} else if (zf->have_last) {
		ttl = zf->last_ttl;
		if (!zf->warned_1035) {
			zf->warned_1035 = true;
			cdns__zf_warn(
			    zf, fr, at,
			    "no $TTL: using the last explicit TTL %u (RFC 1035 semantics)", ttl);
		}
	} else if (zf->opts->default_ttl != 0) {
		ttl = zf->opts->default_ttl;
	} else if (h->type == CDNS_T_SOA && rdlen >= 20) {
		/* RFC 1035 §3.3.13: MINIMUM is the last field of the SOA RDATA. */
		ttl = cdns_get32(zf->rdata + rdlen - 4);
		if (ttl > CDNS__ZF_TTL_MAX)
			return cdns__zf_fail(zf, fr, at,
			                     "no TTL, and the SOA MINIMUM %u is larger than %u",
			                     ttl, CDNS__ZF_TTL_MAX);
		zf->have_default = true;
		zf->default_ttl = ttl;
		cdns__zf_warn(zf, fr, at, "no $TTL: using the SOA MINIMUM %u as default TTL", ttl);
	} else {
		return cdns__zf_fail(zf, fr, at, "no TTL: give one, or a $TTL before this record");
	}

	if (zf->cb == NULL)
		return 0;
	cdns_zf_rr_t rr = {
	    .owner = owner,
	    .type = h->type,
	    .rclass = zf->rclass,
	    .ttl = ttl,
	    .rdata = zf->rdata,
	    .rdlen = (uint16_t)rdlen,
	    .file = fr->path,
	    .line = zf->tok[0].line,
	};
	return zf->cb(zf->ctx, &rr);
}

/* ---------------------------------------------------------------------------------------- */
/* Records and directives                                                                     */

static int cdns__zf_record(cdns__zf_t *zf, cdns__zf_frame_t *fr)
{
	cdns__zf_head_t h;
	unsigned i = 0;
	int r;

	if (!zf->blank_owner) {
		const cdns__zf_tok_t *t = &zf->tok[0];
		if ((r = cdns__zf_name(zf, fr, t, zf->text + t->off, t->len, fr->owner)) != 0)
			return r;
		fr->have_owner = true;
		i = 1;
	} else if (!fr->have_owner) {
		return cdns__zf_fail(zf, fr, &zf->tok[0],
		                     "no owner name: the line starts with a blank and no record "
		                     "came before");
	}
	if ((r = cdns__zf_head(zf, fr, i, &h)) != 0)
		return r;
	size_t off = h.rd < zf->ntok ? zf->tok[h.rd].off : zf->len;
	r = cdns__zf_rdata(zf, fr, &h, zf->text + off, zf->len - off, NULL, off);
	if (r < 0)
		return r;
	return cdns__zf_emit(zf, fr, fr->owner, &h, r, &zf->tok[h.ttok]);
}

static int cdns__zf_dir_args(cdns__zf_t *zf, const cdns__zf_frame_t *fr, unsigned min, unsigned max,
                             const char *what)
{
	const cdns__zf_tok_t *t0 = &zf->tok[0];

	if (zf->ntok < min + 1)
		return cdns__zf_fail_end(zf, fr, "missing %s after %s", what, CDNS__ZF_TOK(zf, t0));
	if (zf->ntok > max + 1)
		return cdns__zf_fail(zf, fr, &zf->tok[max + 1], "unexpected '%s' after %s",
		                     CDNS__ZF_TOK(zf, &zf->tok[max + 1]), CDNS__ZF_TOK(zf, t0));
	return 0;
}

/* $ORIGIN name (RFC 1035 §5.1); a relative name is relative to the current origin. */
static int cdns__zf_origin(cdns__zf_t *zf, cdns__zf_frame_t *fr)
{
	uint8_t name[CDNS_NAME_MAXLEN];
	const cdns__zf_tok_t *t = &zf->tok[1];
	int r;

	if ((r = cdns__zf_dir_args(zf, fr, 1, 1, "a domain name")) != 0)
		return r;
	if ((r = cdns__zf_name(zf, fr, t, zf->text + t->off, t->len, name)) != 0)
		return r;
	memcpy(fr->origin, name, cdns_name_len(name));
	return 0;
}

/* $TTL ttl (RFC 2308 §4): the TTL of every later record that has none. */
static int cdns__zf_dollar_ttl(cdns__zf_t *zf, cdns__zf_frame_t *fr)
{
	uint32_t ttl;
	int r;

	if ((r = cdns__zf_dir_args(zf, fr, 1, 1, "a TTL")) != 0)
		return r;
	if ((r = cdns__zf_ttl(zf, fr, &zf->tok[1], &ttl)) != 0)
		return r;
	zf->have_default = true;
	zf->default_ttl = ttl;
	return 0;
}

static int cdns__zf_run(cdns__zf_t *zf, cdns__zf_frame_t *fr);

/* The file name of $INCLUDE, quotes removed and "\X" / "\DDD" decoded. */
static int cdns__zf_filename(const char *s, size_t n, char *out, size_t cap)
{
	size_t o = 0;

	if (n >= 2 && s[0] == '"' && s[n - 1] == '"') {
		s++;
		n -= 2;
	}
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c == '\\' && i + 1 < n) {
			if (i + 3 < n && cdns__zf_isdigit(s[i + 1]) && cdns__zf_isdigit(s[i + 2]) &&
			    cdns__zf_isdigit(s[i + 3])) {
				unsigned v = (unsigned)(s[i + 1] - '0') * 100 +
				             (unsigned)(s[i + 2] - '0') * 10 +
				             (unsigned)(s[i + 3] - '0');
				if (v > 255)
					return -1;
				c = (char)v;
				i += 3;
			} else {
				c = s[++i];
			}
		}
		if (c == '\0' || o + 1 >= cap)
			return -1;
		out[o++] = c;
	}
	out[o] = '\0';
	return o > 0 ? 0 : -1;
}

/* $INCLUDE file [origin] (RFC 1035 §5.1): the origin, if given, is for that file only. A
 * relative file name is relative to the directory of the including file. */
static int cdns__zf_include(cdns__zf_t *zf, cdns__zf_frame_t *fr)
{
	const cdns_zf_opts_t *o = zf->opts;
	const cdns__zf_tok_t *t0 = &zf->tok[0], *tf = &zf->tok[1];
	struct inc {
		cdns__zf_frame_t fr;
		char name[PATH_MAX];
		char path[PATH_MAX];
		char real[PATH_MAX];
	} *inc = NULL;
	struct stat st;
	int fd = -1, r;

	if (o->max_include_depth == 0)
		return cdns__zf_fail(zf, fr, t0, "$INCLUDE not allowed here");
	if ((r = cdns__zf_dir_args(zf, fr, 1, 2, "a file name")) != 0)
		return r;
	if (fr->depth >= o->max_include_depth)
		return cdns__zf_fail(zf, fr, t0, "$INCLUDE nested more than %u deep",
		                     o->max_include_depth);
	inc = calloc(1, sizeof(*inc));
	if (inc == NULL)
		return CDNS_ENOMEM;
	cdns__zf_frame_t *child = &inc->fr;

	if (cdns__zf_filename(zf->text + tf->off, tf->len, inc->name, sizeof(inc->name)) != 0) {
		r = cdns__zf_fail(zf, fr, tf, "bad file name '%s'", CDNS__ZF_TOK(zf, tf));
		goto cleanup;
	}
	if (zf->ntok == 3) {
		const cdns__zf_tok_t *t = &zf->tok[2];
		r = cdns__zf_name(zf, fr, t, zf->text + t->off, t->len, child->origin);
		if (r != 0)
			goto cleanup;
	} else {
		memcpy(child->origin, fr->origin, cdns_name_len(fr->origin));
	}

	/* Resolve against the including file's directory. */
	const char *slash = fr->relative_to_cwd ? NULL : strrchr(fr->path, '/');
	int n;
	if (inc->name[0] == '/' || slash == NULL)
		n = snprintf(inc->path, sizeof(inc->path), "%s", inc->name);
	else
		n = snprintf(inc->path, sizeof(inc->path), "%.*s/%s", (int)(slash - fr->path),
		             fr->path, inc->name);
	if (n < 0 || (size_t)n >= sizeof(inc->path)) {
		r = cdns__zf_fail(zf, fr, tf, "file name too long");
		goto cleanup;
	}
	if (o->include_root != NULL) {
		char root[PATH_MAX];
		if (realpath(o->include_root, root) == NULL) {
			r = cdns__zf_fail_at(zf, fr, CDNS_EIO, tf->line, tf->col,
			                     zf->text + tf->off, tf->len, "include root '%s': %s",
			                     o->include_root, strerror(errno));
			goto cleanup;
		}
		if (realpath(inc->path, inc->real) == NULL) {
			r = cdns__zf_fail_at(zf, fr, CDNS_EIO, tf->line, tf->col,
			                     zf->text + tf->off, tf->len, "cannot open '%s': %s",
			                     inc->name, strerror(errno));
			goto cleanup;
		}
		size_t rl = strlen(root);
		bool inside =
		    strncmp(inc->real, root, rl) == 0 &&
		    (inc->real[rl] == '/' || inc->real[rl] == '\0' || (rl == 1 && root[0] == '/'));
		if (!inside) {
			r = cdns__zf_fail(zf, fr, tf, "'%s' is outside the include root '%s'",
			                  inc->name, o->include_root);
			goto cleanup;
		}
		memcpy(inc->path, inc->real, sizeof(inc->path));
	}

	fd = open(inc->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) != 0 || S_ISDIR(st.st_mode)) {
		int e = fd < 0 ? errno : S_ISDIR(st.st_mode) ? EISDIR : errno;
		r = cdns__zf_fail_at(zf, fr, CDNS_EIO, tf->line, tf->col, zf->text + tf->off,
		                     tf->len, "cannot open '%s': %s", inc->name, strerror(e));
		goto cleanup;
	}
	child->src.buf = malloc(CDNS__ZF_BUFSZ);
	if (child->src.buf == NULL) {
		r = CDNS_ENOMEM;
		goto cleanup;
	}
	child->src.fd = fd;
	child->src.p = child->src.end = child->src.start = child->src.buf;
	child->src.line = 1;
	child->path = inc->path;
	child->depth = fr->depth + 1;
	r = cdns__zf_run(zf, child);
	free(child->src.buf);

cleanup:
	if (fd >= 0)
		close(fd);
	free(inc);
	return r;
}

/* ---- $GENERATE (BIND) ---- */

/* "start-stop[/step]" */
static int cdns__zf_range(const char *s, size_t n, int64_t *start, int64_t *stop, int64_t *step)
{
	int64_t v[3] = {0, 0, 1};
	unsigned k = 0;
	bool digits = false;

	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (cdns__zf_isdigit(c)) {
			v[k] = v[k] * 10 + (c - '0');
			if (v[k] > (int64_t)CDNS__ZF_TTL_MAX)
				return -1;
			digits = true;
		} else if ((c == '-' && k == 0) || (c == '/' && k == 1)) {
			if (!digits)
				return -1;
			k++;
			v[k] = 0;
			digits = false;
		} else {
			return -1;
		}
	}
	if (!digits || k == 0 || v[0] > v[1] || v[2] == 0)
		return -1;
	*start = v[0];
	*stop = v[1];
	*step = v[2];
	return 0;
}

static int cdns__zf_gen_put(char *out, size_t cap, size_t *o, const char *s, size_t n)
{
	if (n == 0)
		return 0;
	if (n > cap - *o)
		return -1;
	memcpy(out + *o, s, n);
	*o += n;
	return 0;
}

/* The nibble form of BIND: hex digits, least significant first, each a label; the width
 * counts the characters including the dots. */
static int cdns__zf_nibbles(char *out, size_t cap, size_t *o, uint64_t v, unsigned width,
                            bool upper)
{
	const char *hex = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	unsigned count = 0;

	do {
		if (*o >= cap)
			return -1;
		out[(*o)++] = hex[v & 0xf];
		v >>= 4;
		count++;
		if (v != 0 || count < width) {
			if (*o >= cap)
				return -1;
			out[(*o)++] = '.';
			count++;
		}
	} while (v != 0 || count < width);
	return 0;
}

/* Expand a $GENERATE template for value v: "$" is the value, "${offset[,width[,base]]}" a
 * modified value (bases d, o, x, X, n, N), "$$" a literal '$' (old syntax) and "\X" is kept
 * as is (so "\$" stays an escaped dollar). Returns 0, -1 if the output does not fit, -2 for a
 * bad modifier, -3 for a value the base cannot show. */
static int cdns__zf_expand(const char *t, size_t n, int64_t v, char *out, size_t cap, size_t *olen)
{
	size_t o = 0;

	for (size_t i = 0; i < n;) {
		if (t[i] == '\\') {
			size_t k = i + 1 < n ? 2 : 1;
			if (cdns__zf_gen_put(out, cap, &o, t + i, k) != 0)
				return -1;
			i += k;
			continue;
		}
		if (t[i] != '$') {
			if (o >= cap)
				return -1;
			out[o++] = t[i++];
			continue;
		}
		i++;
		if (i < n && t[i] == '$') {
			if (o >= cap)
				return -1;
			out[o++] = '$';
			i++;
			continue;
		}
		int64_t off = 0;
		unsigned width = 0;
		char base = 'd';
		if (i < n && t[i] == '{') {
			bool neg = false, digits = false;
			i++;
			if (i < n && (t[i] == '-' || t[i] == '+'))
				neg = t[i++] == '-';
			for (; i < n && cdns__zf_isdigit(t[i]); i++) {
				off = off * 10 + (t[i] - '0');
				if (off > (int64_t)CDNS__ZF_TTL_MAX)
					return -2;
				digits = true;
			}
			if (!digits)
				return -2;
			if (neg)
				off = -off;
			if (i < n && t[i] == ',') {
				digits = false;
				for (i++; i < n && cdns__zf_isdigit(t[i]); i++) {
					width = width * 10 + (unsigned)(t[i] - '0');
					if (width > CDNS__ZF_GEN_MAXWIDTH)
						return -2;
					digits = true;
				}
				if (!digits)
					return -2;
				if (i < n && t[i] == ',') {
					i++;
					if (i >= n || strchr("doxXnN", t[i]) == NULL ||
					    t[i] == '\0')
						return -2;
					base = t[i++];
				}
			}
			if (i >= n || t[i] != '}')
				return -2;
			i++;
		}

		int64_t x = v + off;
		char num[CDNS__ZF_GEN_MAXWIDTH + 32];
		int k;
		if (x < 0 && base != 'd')
			return -3;
		switch (base) {
		case 'o':
			k = snprintf(num, sizeof(num), "%0*llo", (int)width, (unsigned long long)x);
			break;
		case 'x':
			k = snprintf(num, sizeof(num), "%0*llx", (int)width, (unsigned long long)x);
			break;
		case 'X':
			k = snprintf(num, sizeof(num), "%0*llX", (int)width, (unsigned long long)x);
			break;
		case 'n':
		case 'N':
			if (cdns__zf_nibbles(out, cap, &o, (uint64_t)x, width, base == 'N') != 0)
				return -1;
			continue;
		default: k = snprintf(num, sizeof(num), "%0*lld", (int)width, (long long)x); break;
		}
		if (k < 0 || cdns__zf_gen_put(out, cap, &o, num, (size_t)k) != 0)
			return -1;
	}
	*olen = o;
	return 0;
}

static int cdns__zf_expand_fail(cdns__zf_t *zf, const cdns__zf_frame_t *fr, const cdns__zf_tok_t *t,
                                int r, int64_t v)
{
	switch (r) {
	case -2:
		return cdns__zf_fail(zf, fr, t, "$GENERATE: bad modifier in '%s'",
		                     CDNS__ZF_TOK(zf, t));
	case -3:
		return cdns__zf_fail(zf, fr, t,
		                     "$GENERATE: '%s' is negative for %lld; only base d shows "
		                     "negative numbers",
		                     CDNS__ZF_TOK(zf, t), (long long)v);
	default:
		return cdns__zf_fail(zf, fr, t, "$GENERATE: '%s' expands to too long a text",
		                     CDNS__ZF_TOK(zf, t));
	}
}

/* $GENERATE range lhs [ttl] [class] type rhs: one record per value of the range (BIND's
 * extension; the rhs may be quoted, and then is used without its quotes, as BIND does). */
static int cdns__zf_generate(cdns__zf_t *zf, cdns__zf_frame_t *fr)
{
	const cdns__zf_tok_t *tr = &zf->tok[1], *tl = &zf->tok[2];
	char lhs[CDNS__ZF_GEN_MAXOWNER];
	uint8_t owner[CDNS_NAME_MAXLEN];
	int64_t start, stop, step;
	cdns__zf_head_t h;
	int r;

	if (zf->ntok < 5) {
		if (zf->ntok < 2)
			return cdns__zf_fail_end(zf, fr, "missing range after $GENERATE");
		return cdns__zf_fail_end(zf, fr,
		                         "$GENERATE needs: range lhs [ttl] [class] type rhs");
	}
	if (cdns__zf_range(zf->text + tr->off, tr->len, &start, &stop, &step) != 0)
		return cdns__zf_fail(zf, fr, tr, "$GENERATE: bad range '%s'", CDNS__ZF_TOK(zf, tr));
	if ((r = cdns__zf_head(zf, fr, 3, &h)) != 0)
		return r;
	if (h.rd >= zf->ntok)
		return cdns__zf_fail_end(zf, fr, "$GENERATE: missing rhs");
	const cdns__zf_tok_t *trd = &zf->tok[h.rd];
	const char *rhs = zf->text + trd->off;
	size_t rhslen = zf->len - trd->off;
	if (h.rd + 1 == zf->ntok && trd->quoted && trd->len >= 2 && rhs[trd->len - 1] == '"') {
		rhs++;
		rhslen -= 2;
	}

	for (int64_t v = start; v <= stop; v += step) {
		size_t n;
		r = cdns__zf_expand(zf->text + tl->off, tl->len, v, lhs, sizeof(lhs), &n);
		if (r != 0)
			return cdns__zf_expand_fail(zf, fr, tl, r, v);
		if ((r = cdns__zf_name(zf, fr, tl, lhs, n, owner)) != 0)
			return r;
		/* Most expansions are short: grow the buffer only when one does not fit. */
		for (;;) {
			r = cdns__zf_expand(rhs, rhslen, v, zf->gen, zf->gencap, &n);
			if (r != -1 || zf->gencap == CDNS__ZF_MAXENTRY)
				break;
			size_t cap = zf->gencap == 0 ? 4096 : CDNS__ZF_MAXENTRY;
			char *g = realloc(zf->gen, cap);
			if (g == NULL)
				return CDNS_ENOMEM;
			zf->gen = g;
			zf->gencap = cap;
		}
		if (r != 0)
			return cdns__zf_expand_fail(zf, fr, trd, r, v);
		r = cdns__zf_rdata(zf, fr, &h, zf->gen, n, trd, 0);
		if (r < 0)
			return r;
		if ((r = cdns__zf_emit(zf, fr, owner, &h, r, &zf->tok[h.ttok])) != 0)
			return r;
	}
	return 0;
}

static int cdns__zf_dispatch(cdns__zf_t *zf, cdns__zf_frame_t *fr)
{
	const cdns__zf_tok_t *t = &zf->tok[0];
	const char *s = zf->text + t->off;

	if (s[0] != '$')
		return cdns__zf_record(zf, fr);
	if (zf->blank_owner)
		return cdns__zf_fail(zf, fr, t,
		                     "directive '%s' must start at the beginning of a line",
		                     CDNS__ZF_TOK(zf, t));
	if (cdns__zf_ieq(s, t->len, "$ORIGIN"))
		return cdns__zf_origin(zf, fr);
	if (cdns__zf_ieq(s, t->len, "$TTL"))
		return cdns__zf_dollar_ttl(zf, fr);
	if (cdns__zf_ieq(s, t->len, "$INCLUDE"))
		return cdns__zf_include(zf, fr);
	if (cdns__zf_ieq(s, t->len, "$GENERATE"))
		return cdns__zf_generate(zf, fr);
	return cdns__zf_fail(zf, fr, t, "unknown directive '%s'", CDNS__ZF_TOK(zf, t));
}

static int cdns__zf_run(cdns__zf_t *zf, cdns__zf_frame_t *fr)
{
	for (;;) {
		int r = cdns__zf_entry(zf, fr);
		if (r <= 0)
			return r;
		if ((r = cdns__zf_dispatch(zf, fr)) != 0)
			return r;
	}
}

/* ---------------------------------------------------------------------------------------- */
/* API                                                                                        */

static void cdns__zf_free(cdns__zf_t *zf)
{
	if (zf == NULL)
		return;
	free(zf->text);
	free(zf->tok);
	free(zf->gen);
	free(zf->rdata);
	free(zf);
}

static int cdns__zf_new(const cdns_zf_opts_t *opts, cdns_zf_rr_cb rr_cb, void *ctx,
                        cdns_zf_msg_t *err, cdns__zf_t **out)
{
	cdns__zf_t *zf;

	if (err != NULL)
		memset(err, 0, sizeof(*err));
	if (opts == NULL || opts->origin == NULL ||
	    cdns_name_check(opts->origin, CDNS_NAME_MAXLEN) < 0)
		return CDNS_EINVAL;
	zf = calloc(1, sizeof(*zf));
	if (zf == NULL)
		return CDNS_ENOMEM;
	zf->opts = opts;
	zf->cb = rr_cb;
	zf->ctx = ctx;
	zf->err = err;
	zf->rclass = opts->rclass != 0 ? opts->rclass : CDNS_C_IN;
	zf->tokcap = 64;
	zf->cap = 4096;
	zf->text = malloc(zf->cap);
	zf->tok = malloc(zf->tokcap * sizeof(*zf->tok));
	zf->rdata = malloc(CDNS_RDATA_MAXLEN);
	if (zf->text == NULL || zf->tok == NULL || zf->rdata == NULL) {
		cdns__zf_free(zf);
		return CDNS_ENOMEM;
	}
	*out = zf;
	return 0;
}

static void cdns__zf_frame_init(cdns__zf_frame_t *fr, const cdns_zf_opts_t *opts, const char *path)
{
	memset(fr, 0, sizeof(*fr));
	fr->path = path;
	fr->src.fd = -1;
	fr->src.line = 1;
	memcpy(fr->origin, opts->origin, cdns_name_len(opts->origin));
}

int cdns_zonefile_read(const char *path, const cdns_zf_opts_t *opts, cdns_zf_rr_cb rr_cb, void *ctx,
                       cdns_zf_msg_t *err)
{
	cdns__zf_frame_t fr;
	cdns__zf_t *zf = NULL;
	struct stat st;
	int fd, r;

	if (path == NULL)
		return CDNS_EINVAL;
	if ((r = cdns__zf_new(opts, rr_cb, ctx, err, &zf)) != 0)
		return r;
	cdns__zf_frame_init(&fr, opts, path);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) != 0 || S_ISDIR(st.st_mode)) {
		int e = fd < 0 ? errno : S_ISDIR(st.st_mode) ? EISDIR : errno;
		r = cdns__zf_fail_at(zf, &fr, CDNS_EIO, 0, 0, "", 0, "cannot open '%s': %s", path,
		                     strerror(e));
		goto cleanup;
	}
	fr.src.buf = malloc(CDNS__ZF_BUFSZ);
	if (fr.src.buf == NULL) {
		r = CDNS_ENOMEM;
		goto cleanup;
	}
	fr.src.fd = fd;
	fr.src.p = fr.src.end = fr.src.start = fr.src.buf;
	r = cdns__zf_run(zf, &fr);

cleanup:
	free(fr.src.buf);
	if (fd >= 0)
		close(fd);
	cdns__zf_free(zf);
	return r;
}

int cdns_zonefile_read_buf(const char *text, size_t len, const char *name,
                           const cdns_zf_opts_t *opts, cdns_zf_rr_cb rr_cb, void *ctx,
                           cdns_zf_msg_t *err)
{
	cdns__zf_frame_t fr;
	cdns__zf_t *zf = NULL;
	int r;

	if (text == NULL && len > 0)
		return CDNS_EINVAL;
	if ((r = cdns__zf_new(opts, rr_cb, ctx, err, &zf)) != 0)
		return r;
	cdns__zf_frame_init(&fr, opts, name != NULL ? name : "(buffer)");
	fr.relative_to_cwd = true;
	fr.src.p = fr.src.start = text != NULL ? text : "";
	fr.src.end = fr.src.p + len;
	r = cdns__zf_run(zf, &fr);
	cdns__zf_free(zf);
	return r;
}

#pragma GCC visibility pop
