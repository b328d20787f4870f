/* RDATA: presentation form <-> uncompressed wire form, well-formedness checks and the DNSSEC
 * canonical form.
 *
 * Every type with a text form of its own is described once, in cdns__layouts[], as the list of
 * its fields; each field has a kind (name, u16, character-string, base64 to the end, type
 * bitmap, SvcParams, ...). The kind table cdns__kinds[] gives, for each kind, how to parse it
 * from text, how long it is on the wire (which validates it), and how to print it. The four
 * public operations walk a type's fields and call the kind's functions:
 *
 *   from_text     parse each field in order; then nothing may be left;
 *   check         measure each field in order; the lengths must add up to RDLENGTH;
 *   to_text       check, then print each field; falls back to "\# len hex" (RFC 3597 §5)
 *                 for RDATA that does not check or that a field cannot show (an empty key);
 *   canonicalize  check, then lower-case the names of the types RFC 4034 §6.2 lists.
 *
 * Presentation choices that no RFC fixes:
 *   - numbers are decimal; DNSSEC algorithms (RFC 4034 A.1), CERT types (RFC 4398 §2.1) and
 *     TSIG/TKEY errors are also accepted as mnemonics; the errors are printed as mnemonics.
 *   - RRSIG/SIG/TKEY times print as YYYYMMDDHHmmSS (RFC 4034 §3.2) for 1970..2106; both that
 *     and plain seconds are accepted.
 *   - TSIG (RFC 8945 §4.2): "algorithm. time-signed fudge mac-size [mac-base64] original-id
 *     error other-len [other-base64]", time-signed in seconds since the epoch, the base64
 *     parts absent when their length is 0, e.g.
 *     "hmac-sha256. 1700000000 300 4 AQIDBA== 4660 NOERROR 0". TKEY (RFC 2930) likewise:
 *     "algorithm. inception expiration mode error key-len [key] other-len [other]".
 *   - base64 and hex fields that run to the end of the RDATA may be split by blanks; a wire
 *     field of that kind that is empty has no text form and makes the record print as generic.
 *   - "@" alone in a name field is the origin (RFC 1035 §5.1).
 *   - hex and base32hex are printed in upper and lower case respectively (NSEC3 hashes are
 *     owner-name labels), and accepted in either.
 *   - LOC (RFC 1876 §3) version 0 only; sizes and precisions in metres are truncated to the
 *     one significant digit the wire keeps.
 *   - SvcParams (RFC 9460 Appendix A): values are printed quoted when they are strings
 *     (alpn, dohpath, keyNNNNN), bare otherwise; a known key may also be written keyNNNNN.
 *
 * What is refused, on the wire (check) and in text alike: RDATA that does not fill its fields
 * exactly (so empty RDATA for any type with a layout: RFC 2136 deletions must not be checked),
 * TXT without a string, type bitmaps with windows out of order or trailing zero octets (RFC
 * 4034 §4.1.2), SvcParams out of order or repeated, "mandatory" listing itself or an absent
 * key, key65535 (RFC 9460 §2.2, §8), values that do not fit their key, NSEC3 hashes of 0
 * octets. The generic form is accepted for every type but must hold valid RDATA for a type
 * with a layout.
 *
 * Nothing here allocates or logs; errors go to the caller's cdns_text_err_t. */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <clouddns/error.h>
#include <clouddns/name.h>
#include <clouddns/rdata.h>
#include <clouddns/rrtype.h>
#include <clouddns/wire.h>

/* ---------------------------------------------------------------------------------------- */
/* Field kinds and type layouts                                                               */

enum {
	CDNS__K_END = 0,
	CDNS__K_NAME, /* uncompressed domain name */
	CDNS__K_U8,   /* decimal */
	CDNS__K_U16,
	CDNS__K_U32,
	CDNS__K_TTL,      /* u32 seconds; text may use units as BIND reads SOA timers: 1w2d3h4m5s */
	CDNS__K_ALG,      /* u8, DNSSEC algorithm number or mnemonic */
	CDNS__K_CERTTYPE, /* u16, CERT type number or mnemonic */
	CDNS__K_RCODE,    /* u16, TSIG/TKEY error, printed as mnemonic when known */
	CDNS__K_TYPE,     /* u16 RR type mnemonic or TYPEnnn */
	CDNS__K_TIME,     /* u32 seconds, YYYYMMDDHHmmSS */
	CDNS__K_TIME48,   /* 48-bit seconds (TSIG) */
	CDNS__K_A,        /* IPv4 address */
	CDNS__K_AAAA,     /* IPv6 address */
	CDNS__K_EUI48,    /* xx-xx-xx-xx-xx-xx (RFC 7043 §3.2) */
	CDNS__K_EUI64,
	CDNS__K_STR,       /* <character-string> */
	CDNS__K_STRS,      /* one or more <character-string>s to the end */
	CDNS__K_RAWSTR,    /* the rest of the RDATA as one string, no length octet */
	CDNS__K_CAATAG,    /* length octet + alphanumeric tag (RFC 8659 §4.1) */
	CDNS__K_B64,       /* base64 to the end, at least one token */
	CDNS__K_B64_OPT,   /* base64 to the end, may be absent */
	CDNS__K_HEX,       /* hex to the end, at least one token */
	CDNS__K_SALT,      /* length octet + hex, "-" when empty (RFC 5155 §3.3) */
	CDNS__K_B32,       /* length octet + base32hex (RFC 5155 §3.3) */
	CDNS__K_B64_U16,   /* 16-bit length + base64 (TSIG MAC, other data) */
	CDNS__K_BITMAP,    /* NSEC type bitmap to the end (RFC 4034 §4.1.2) */
	CDNS__K_NXTBITMAP, /* NXT bitmap (RFC 2535 §5.2) */
	CDNS__K_SVCPARAMS, /* SvcParams to the end (RFC 9460 §2.2) */
	CDNS__K_LOC,       /* the whole LOC RDATA (RFC 1876) */
	CDNS__K_GATEWAY,   /* IPSECKEY gateway, shaped by the gateway type (RFC 4025 §2.5) */
	CDNS__K_A6SUFFIX,  /* A6 address suffix, shaped by the prefix length (RFC 2874 §3.1) */
	CDNS__K_A6PREFIX,  /* A6 prefix name, present when the prefix length is not 0 */
	CDNS__K_OPTIONS,   /* EDNS options (RFC 6891 §6.1.2): wire only */
	CDNS__K_COUNT
};

typedef struct cdns__field {
	uint8_t kind;
	const char *name; /* for error messages */
} cdns__field_t;

#define CDNS__CANON     1 /* names are lower-cased in canonical form (RFC 4034 §6.2, RFC 6840 §5.1) */
#define CDNS__MAXFIELDS 10

typedef struct cdns__layout {
	uint16_t type;
	uint8_t flags;
	cdns__field_t f[CDNS__MAXFIELDS];
} cdns__layout_t;

#define F(k, n)                                                                                    \
	{                                                                                          \
		CDNS__K_##k, n                                                                     \
	}

static const cdns__layout_t cdns__layouts[] = {
    {CDNS_T_A, 0, {F(A, "address")}},
    {CDNS_T_NS, CDNS__CANON, {F(NAME, "nsdname")}},
    {CDNS_T_MD, CDNS__CANON, {F(NAME, "madname")}},
    {CDNS_T_MF, CDNS__CANON, {F(NAME, "madname")}},
    {CDNS_T_CNAME, CDNS__CANON, {F(NAME, "cname")}},
    {CDNS_T_SOA,
     CDNS__CANON,
     {F(NAME, "mname"), F(NAME, "rname"), F(U32, "serial"), F(TTL, "refresh"), F(TTL, "retry"),
      F(TTL, "expire"), F(TTL, "minimum")}},
    {CDNS_T_MB, CDNS__CANON, {F(NAME, "madname")}},
    {CDNS_T_MG, CDNS__CANON, {F(NAME, "mgmname")}},
    {CDNS_T_MR, CDNS__CANON, {F(NAME, "newname")}},
    {CDNS_T_PTR, CDNS__CANON, {F(NAME, "ptrdname")}},
    {CDNS_T_HINFO, 0, {F(STR, "cpu"), F(STR, "os")}},
    {CDNS_T_MINFO, CDNS__CANON, {F(NAME, "rmailbx"), F(NAME, "emailbx")}},
    {CDNS_T_MX, CDNS__CANON, {F(U16, "preference"), F(NAME, "exchange")}},
    {CDNS_T_TXT, 0, {F(STRS, "text")}},
    {CDNS_T_RP, CDNS__CANON, {F(NAME, "mbox"), F(NAME, "txtdname")}},
    {CDNS_T_AFSDB, CDNS__CANON, {F(U16, "subtype"), F(NAME, "hostname")}},
    {CDNS_T_RT, CDNS__CANON, {F(U16, "preference"), F(NAME, "intermediate")}},
    {CDNS_T_SIG,
     CDNS__CANON,
     {F(TYPE, "type covered"), F(ALG, "algorithm"), F(U8, "labels"), F(U32, "original ttl"),
      F(TIME, "expiration"), F(TIME, "inception"), F(U16, "key tag"), F(NAME, "signer"),
      F(B64, "signature")}},
    {CDNS_T_KEY,
     0,
     {F(U16, "flags"), F(U8, "protocol"), F(ALG, "algorithm"), F(B64, "public key")}},
    {CDNS_T_PX, CDNS__CANON, {F(U16, "preference"), F(NAME, "map822"), F(NAME, "mapx400")}},
    {CDNS_T_AAAA, 0, {F(AAAA, "address")}},
    {CDNS_T_LOC, 0, {F(LOC, "location")}},
    {CDNS_T_NXT, CDNS__CANON, {F(NAME, "next"), F(NXTBITMAP, "types")}},
    {CDNS_T_SRV,
     CDNS__CANON,
     {F(U16, "priority"), F(U16, "weight"), F(U16, "port"), F(NAME, "target")}},
    {CDNS_T_NAPTR,
     CDNS__CANON,
     {F(U16, "order"), F(U16, "preference"), F(STR, "flags"), F(STR, "services"), F(STR, "regexp"),
      F(NAME, "replacement")}},
    {CDNS_T_KX, CDNS__CANON, {F(U16, "preference"), F(NAME, "exchanger")}},
    {CDNS_T_CERT,
     0,
     {F(CERTTYPE, "type"), F(U16, "key tag"), F(ALG, "algorithm"), F(B64, "certificate")}},
    {38 /* A6 */,
     CDNS__CANON,
     {F(U8, "prefix length"), F(A6SUFFIX, "address suffix"), F(A6PREFIX, "prefix name")}},
    {CDNS_T_DNAME, CDNS__CANON, {F(NAME, "target")}},
    {CDNS_T_OPT, 0, {F(OPTIONS, "options")}},
    {CDNS_T_DS,
     0,
     {F(U16, "key tag"), F(ALG, "algorithm"), F(U8, "digest type"), F(HEX, "digest")}},
    {CDNS_T_SSHFP, 0, {F(U8, "algorithm"), F(U8, "fingerprint type"), F(HEX, "fingerprint")}},
    {CDNS_T_IPSECKEY,
     0,
     {F(U8, "precedence"), F(U8, "gateway type"), F(U8, "algorithm"), F(GATEWAY, "gateway"),
      F(B64_OPT, "public key")}},
    {CDNS_T_RRSIG,
     CDNS__CANON,
     {F(TYPE, "type covered"), F(ALG, "algorithm"), F(U8, "labels"), F(U32, "original ttl"),
      F(TIME, "expiration"), F(TIME, "inception"), F(U16, "key tag"), F(NAME, "signer"),
      F(B64, "signature")}},
    {CDNS_T_NSEC, 0, {F(NAME, "next"), F(BITMAP, "types")}},
    {CDNS_T_DNSKEY,
     0,
     {F(U16, "flags"), F(U8, "protocol"), F(ALG, "algorithm"), F(B64, "public key")}},
    {CDNS_T_DHCID, 0, {F(B64, "digest")}},
    {CDNS_T_NSEC3,
     0,
     {F(U8, "hash algorithm"), F(U8, "flags"), F(U16, "iterations"), F(SALT, "salt"),
      F(B32, "next hashed owner"), F(BITMAP, "types")}},
    {CDNS_T_NSEC3PARAM,
     0,
     {F(U8, "hash algorithm"), F(U8, "flags"), F(U16, "iterations"), F(SALT, "salt")}},
    {CDNS_T_TLSA, 0, {F(U8, "usage"), F(U8, "selector"), F(U8, "matching type"), F(HEX, "data")}},
    {CDNS_T_SMIMEA, 0, {F(U8, "usage"), F(U8, "selector"), F(U8, "matching type"), F(HEX, "data")}},
    {CDNS_T_CDS,
     0,
     {F(U16, "key tag"), F(ALG, "algorithm"), F(U8, "digest type"), F(HEX, "digest")}},
    {CDNS_T_CDNSKEY,
     0,
     {F(U16, "flags"), F(U8, "protocol"), F(ALG, "algorithm"), F(B64, "public key")}},
    {CDNS_T_OPENPGPKEY, 0, {F(B64, "public key")}},
    {CDNS_T_CSYNC, 0, {F(U32, "serial"), F(U16, "flags"), F(BITMAP, "types")}},
    {CDNS_T_ZONEMD,
     0,
     {F(U32, "serial"), F(U8, "scheme"), F(U8, "hash algorithm"), F(HEX, "digest")}},
    {CDNS_T_SVCB, 0, {F(U16, "priority"), F(NAME, "target"), F(SVCPARAMS, "params")}},
    {CDNS_T_HTTPS, 0, {F(U16, "priority"), F(NAME, "target"), F(SVCPARAMS, "params")}},
    {CDNS_T_SPF, 0, {F(STRS, "text")}},
    {CDNS_T_EUI48, 0, {F(EUI48, "address")}},
    {CDNS_T_EUI64, 0, {F(EUI64, "address")}},
    {CDNS_T_TKEY,
     0,
     {F(NAME, "algorithm"), F(TIME, "inception"), F(TIME, "expiration"), F(U16, "mode"),
      F(RCODE, "error"), F(B64_U16, "key"), F(B64_U16, "other")}},
    {CDNS_T_TSIG,
     0,
     {F(NAME, "algorithm"), F(TIME48, "time signed"), F(U16, "fudge"), F(B64_U16, "mac"),
      F(U16, "original id"), F(RCODE, "error"), F(B64_U16, "other")}},
    {CDNS_T_URI, 0, {F(U16, "priority"), F(U16, "weight"), F(RAWSTR, "target")}},
    {CDNS_T_CAA, 0, {F(U8, "flags"), F(CAATAG, "tag"), F(RAWSTR, "value")}},
};

#undef F

static const cdns__layout_t *cdns__layout(uint16_t type)
{
	for (size_t i = 0; i < sizeof(cdns__layouts) / sizeof(cdns__layouts[0]); i++)
		if (cdns__layouts[i].type == type)
			return &cdns__layouts[i];
	return NULL;
}

/* Mnemonics accepted for some numeric fields. */
typedef struct cdns__mnem {
	uint16_t value;
	const char *name;
} cdns__mnem_t;

/* RFC 4034 Appendix A.1 and the IANA "DNS Security Algorithm Numbers" registry. */
static const cdns__mnem_t cdns__algs[] = {
    {1, "RSAMD5"},
    {2, "DH"},
    {3, "DSA"},
    {5, "RSASHA1"},
    {6, "DSA-NSEC3-SHA1"},
    {7, "RSASHA1-NSEC3-SHA1"},
    {8, "RSASHA256"},
    {10, "RSASHA512"},
    {12, "ECC-GOST"},
    {13, "ECDSAP256SHA256"},
    {14, "ECDSAP384SHA384"},
    {15, "ED25519"},
    {16, "ED448"},
    {252, "INDIRECT"},
    {253, "PRIVATEDNS"},
    {254, "PRIVATEOID"},
    {0, NULL},
};

/* RFC 4398 §2.1. */
static const cdns__mnem_t cdns__certtypes[] = {
    {1, "PKIX"},   {2, "SPKI"},    {3, "PGP"},   {4, "IPKIX"}, {5, "ISPKI"}, {6, "IPGP"},
    {7, "ACPKIX"}, {8, "IACPKIX"}, {253, "URI"}, {254, "OID"}, {0, NULL},
};

/* RCODEs as TSIG and TKEY use them (RFC 8945 §5.3, RFC 2930 §2.6). */
static const cdns__mnem_t cdns__rcodes[] = {
    {0, "NOERROR"},  {1, "FORMERR"},  {2, "SERVFAIL"},  {3, "NXDOMAIN"},   {4, "NOTIMP"},
    {5, "REFUSED"},  {6, "YXDOMAIN"}, {7, "YXRRSET"},   {8, "NXRRSET"},    {9, "NOTAUTH"},
    {10, "NOTZONE"}, {16, "BADSIG"},  {17, "BADKEY"},   {18, "BADTIME"},   {19, "BADMODE"},
    {20, "BADNAME"}, {21, "BADALG"},  {22, "BADTRUNC"}, {23, "BADCOOKIE"}, {0, NULL},
};

/* SvcParamKeys (RFC 9460 §14.3.2, RFC 9461 §5, RFC 9540 §4). */
static const cdns__mnem_t cdns__svckeys[] = {
    {0, "mandatory"}, {1, "alpn"},     {2, "no-default-alpn"}, {3, "port"},  {4, "ipv4hint"},
    {5, "ech"},       {6, "ipv6hint"}, {7, "dohpath"},         {8, "ohttp"}, {0, NULL},
};

enum {
	CDNS__SVC_MANDATORY = 0,
	CDNS__SVC_ALPN = 1,
	CDNS__SVC_NODEFAULTALPN = 2,
	CDNS__SVC_PORT = 3,
	CDNS__SVC_IPV4HINT = 4,
	CDNS__SVC_ECH = 5,
	CDNS__SVC_IPV6HINT = 6,
	CDNS__SVC_DOHPATH = 7,
	CDNS__SVC_OHTTP = 8,
	CDNS__SVC_INVALID = 65535, /* RFC 9460 §14.3.2: reserved ("Invalid key") */
};

static const char *cdns__mnem_name(const cdns__mnem_t *tab, unsigned v)
{
	for (; tab->name != NULL; tab++)
		if (tab->value == v)
			return tab->name;
	return NULL;
}

static bool cdns__ieq(const char *a, size_t alen, const char *b)
{
	if (alen != strlen(b))
		return false;
	for (size_t i = 0; i < alen; i++) {
		char x = a[i], y = b[i];
		if (x >= 'a' && x <= 'z')
			x = (char)(x - 'a' + 'A');
		if (y >= 'a' && y <= 'z')
			y = (char)(y - 'a' + 'A');
		if (x != y)
			return false;
	}
	return true;
}

static int cdns__mnem_value(const cdns__mnem_t *tab, const char *s, size_t n)
{
	for (; tab->name != NULL; tab++)
		if (cdns__ieq(s, n, tab->name))
			return tab->value;
	return -1;
}

/* ---------------------------------------------------------------------------------------- */
/* Small helpers                                                                              */

static bool cdns__isdigit(int c)
{
	return c >= '0' && c <= '9';
}

static bool cdns__isalnum(int c)
{
	return cdns__isdigit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool cdns__blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

/* Decimal without sign; 0 on success, -1 if not a number, -2 if above max. */
static int cdns__uint(const char *s, size_t n, uint64_t max, uint64_t *v)
{
	uint64_t x = 0;

	if (n == 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (!cdns__isdigit(s[i]))
			return -1;
	for (size_t i = 0; i < n; i++) {
		x = x * 10 + (uint64_t)(s[i] - '0');
		if (x > max)
			return -2;
	}
	*v = x;
	return 0;
}

/* Fixed-point decimal "digits[.digits]" with at most fdig fraction digits, scaled by
 * 10^fdig. 0 on success, -1 on bad syntax, -2 if above max (scaled). */
static int cdns__fixed(const char *s, size_t n, unsigned fdig, uint64_t max, uint64_t *v)
{
	size_t dot = n;
	uint64_t ip, fp = 0, scale = 1;

	for (size_t i = 0; i < n; i++)
		if (s[i] == '.') {
			dot = i;
			break;
		}
	for (unsigned i = 0; i < fdig; i++)
		scale *= 10;
	int r = cdns__uint(s, dot, max / scale + 1, &ip);
	if (r < 0)
		return r;
	if (dot < n) {
		size_t fl = n - dot - 1;
		if (fl == 0 || fl > fdig || cdns__uint(s + dot + 1, fl, ~(uint64_t)0, &fp) < 0)
			return -1;
		for (size_t i = fl; i < fdig; i++)
			fp *= 10;
	}
	if (ip > max / scale || ip * scale + fp > max)
		return -2;
	*v = ip * scale + fp;
	return 0;
}

/* ---------------------------------------------------------------------------------------- */
/* Text input                                                                                 */

typedef struct cdns__tok {
	const char *s;
	size_t n;
	size_t off;
} cdns__tok_t;

typedef struct cdns__pctx {
	const char *text;
	size_t len, pos;
	const uint8_t *origin;
	uint8_t *out;
	size_t cap, wlen;
	cdns_text_err_t *err;
	uint16_t type;
	const char *fname; /* field being parsed, for messages */
	size_t last;       /* offset of the last token read */
} cdns__pctx_t;

__attribute__((format(printf, 3, 4))) static int cdns__perr(cdns__pctx_t *pc, size_t off,
                                                            const char *fmt, ...)
{
	if (pc->err == NULL)
		return CDNS_ESYNTAX;
	char tname[16];
	int n;
	va_list ap;

	cdns_rrtype_to_text(pc->type, tname, sizeof(tname));
	pc->err->offset = off;
	if (pc->fname != NULL)
		n = snprintf(pc->err->msg, sizeof(pc->err->msg), "%s: %s: ", tname, pc->fname);
	else
		n = snprintf(pc->err->msg, sizeof(pc->err->msg), "%s: ", tname);
	if (n < 0 || (size_t)n >= sizeof(pc->err->msg))
		return CDNS_ESYNTAX;
	va_start(ap, fmt);
	vsnprintf(pc->err->msg + n, sizeof(pc->err->msg) - (size_t)n, fmt, ap);
	va_end(ap);
	return CDNS_ESYNTAX;
}

/* A token for a message: at most 40 bytes, non-printables as '?'. */
typedef struct cdns__shown {
	char s[48];
} cdns__shown_t;

static cdns__shown_t cdns__show(const char *s, size_t n)
{
	cdns__shown_t r;
	size_t k = n > 40 ? 40 : n;

	for (size_t i = 0; i < k; i++) {
		unsigned char c = (unsigned char)s[i];
		r.s[i] = (c >= ' ' && c < 0x7f && c != '\'') ? (char)c : '?';
	}
	if (k < n) {
		memcpy(r.s + k, "...", 3);
		k += 3;
	}
	r.s[k] = '\0';
	return r;
}

#define CDNS__SHOW(t) (cdns__show((t).s, (t).n).s)

/* The next blank-separated token. A token that starts with '"' ends at the closing quote; any
 * other token runs to the next blank outside quotes (so SvcParams such as alpn="a b" are one
 * token). "\X" never ends a token. Returns 1, 0 at the end of the text, or CDNS_ESYNTAX. */
static int cdns__next(cdns__pctx_t *pc, cdns__tok_t *t)
{
	const char *s = pc->text;
	size_t n = pc->len, i = pc->pos;

	while (i < n && cdns__blank(s[i]))
		i++;
	pc->pos = i;
	if (i == n)
		return 0;

	size_t start = i;
	bool quoted = s[i] == '"';
	bool whole = quoted;
	if (quoted)
		i++;
	while (i < n) {
		char c = s[i];
		if (c == '\\') {
			if (i + 1 == n)
				return cdns__perr(pc, i, "backslash at the end of the text");
			i += 2;
			continue;
		}
		if (c == '"') {
			quoted = !quoted;
			i++;
			if (!quoted && whole)
				break;
			continue;
		}
		if (!quoted && cdns__blank(c))
			break;
		i++;
	}
	if (quoted)
		return cdns__perr(pc, start, "unterminated quoted string");
	t->s = s + start;
	t->n = i - start;
	t->off = start;
	pc->pos = i;
	pc->last = start;
	return 1;
}

/* The next token, which must be there. */
static int cdns__need(cdns__pctx_t *pc, cdns__tok_t *t)
{
	int r = cdns__next(pc, t);

	if (r == 0)
		return cdns__perr(pc, pc->len, "missing");
	return r < 0 ? r : 0;
}

static bool cdns__more(cdns__pctx_t *pc)
{
	while (pc->pos < pc->len && cdns__blank(pc->text[pc->pos]))
		pc->pos++;
	return pc->pos < pc->len;
}

/* Room for n more octets of output at pc->out + pc->wlen. */
static int cdns__room(cdns__pctx_t *pc, size_t n, size_t off)
{
	if (n > CDNS_RDATA_MAXLEN - pc->wlen)
		return cdns__perr(pc, off, "RDATA longer than %u octets", CDNS_RDATA_MAXLEN);
	if (n > pc->cap - pc->wlen) {
		if (pc->err != NULL) {
			pc->err->offset = off;
			snprintf(pc->err->msg, sizeof(pc->err->msg), "output buffer too small");
		}
		return CDNS_ESPACE;
	}
	return 0;
}

static int cdns__emit(cdns__pctx_t *pc, const void *p, size_t n, size_t off)
{
	int r = cdns__room(pc, n, off);

	if (r < 0)
		return r;
	if (n > 0)
		memcpy(pc->out + pc->wlen, p, n);
	pc->wlen += n;
	return 0;
}

static int cdns__emit8(cdns__pctx_t *pc, uint8_t v, size_t off)
{
	return cdns__emit(pc, &v, 1, off);
}

static int cdns__emit16(cdns__pctx_t *pc, uint16_t v, size_t off)
{
	uint8_t b[2];

	cdns_put16(b, v);
	return cdns__emit(pc, b, 2, off);
}

/* Character-string decoding (RFC 1035 §5.1): quotes are dropped, "\DDD" is an octet, "\X" is
 * X. An iterator, so that values can be decoded straight into the output. */
typedef struct cdns__dec {
	const char *s;
	size_t n, i;
} cdns__dec_t;

/* The next octet (0..255), -1 at the end, -2 on a bad escape. */
static int cdns__dec_next(cdns__dec_t *d)
{
	while (d->i < d->n) {
		char c = d->s[d->i];
		if (c == '"') {
			d->i++;
			continue;
		}
		if (c != '\\') {
			d->i++;
			return (unsigned char)c;
		}
		if (d->i + 1 >= d->n)
			return -2;
		char e = d->s[d->i + 1];
		if (!cdns__isdigit(e)) {
			d->i += 2;
			return (unsigned char)e;
		}
		if (d->i + 3 >= d->n || !cdns__isdigit(d->s[d->i + 2]) ||
		    !cdns__isdigit(d->s[d->i + 3]))
			return -2;
		int v = (e - '0') * 100 + (d->s[d->i + 2] - '0') * 10 + (d->s[d->i + 3] - '0');
		if (v > 255)
			return -2;
		d->i += 4;
		return v;
	}
	return -1;
}

/* Decoded length of a token, or -2 on a bad escape. */
static long cdns__dec_len(const char *s, size_t n)
{
	cdns__dec_t d = {s, n, 0};
	long len = 0;
	int c;

	while ((c = cdns__dec_next(&d)) >= 0)
		len++;
	return c == -2 ? -2 : len;
}

/* Decode a token into the output, after checking its length against max. */
static int cdns__emit_decoded(cdns__pctx_t *pc, const cdns__tok_t *t, size_t max, bool lenbyte)
{
	long n = cdns__dec_len(t->s, t->n);

	if (n < 0)
		return cdns__perr(pc, t->off, "bad escape in '%s'", CDNS__SHOW(*t));
	if ((size_t)n > max)
		return cdns__perr(pc, t->off, "string longer than %zu octets", max);
	int r = cdns__room(pc, (size_t)n + lenbyte, t->off);
	if (r < 0)
		return r;
	if (lenbyte)
		pc->out[pc->wlen++] = (uint8_t)n;
	cdns__dec_t d = {t->s, t->n, 0};
	int c;
	while ((c = cdns__dec_next(&d)) >= 0)
		pc->out[pc->wlen++] = (uint8_t)c;
	return 0;
}

/* Streaming base64 / hex over several tokens: characters are gathered into quanta of 4 (or 2)
 * and each quantum is decoded on its own, so the tokens need not be aligned. */
typedef struct cdns__stream {
	bool b64;
	char q[4];
	unsigned qn;
	bool done; /* base64 padding seen: nothing may follow */
} cdns__stream_t;

static int cdns__stream_add(cdns__pctx_t *pc, cdns__stream_t *st, const cdns__tok_t *t)
{
	unsigned qsize = st->b64 ? 4 : 2;

	for (size_t i = 0; i < t->n; i++) {
		if (st->done)
			return cdns__perr(pc, t->off, "data after base64 padding in '%s'",
			                  CDNS__SHOW(*t));
		st->q[st->qn++] = t->s[i];
		if (st->qn < qsize)
			continue;
		uint8_t b[3];
		int n = st->b64 ? cdns_base64_decode(st->q, 4, b, sizeof(b))
		                : cdns_hex_decode(st->q, 2, b, sizeof(b));
		if (n < 0)
			return cdns__perr(pc, t->off, "invalid %s '%s'", st->b64 ? "base64" : "hex",
			                  CDNS__SHOW(*t));
		if (st->b64 && st->q[3] == '=')
			st->done = true;
		st->qn = 0;
		int r = cdns__emit(pc, b, (size_t)n, t->off);
		if (r < 0)
			return r;
	}
	return 0;
}

static int cdns__stream_end(cdns__pctx_t *pc, cdns__stream_t *st, size_t off)
{
	if (st->qn != 0)
		return cdns__perr(pc, off, "%s",
		                  st->b64 ? "base64 length is not a multiple of 4"
		                          : "odd number of hex digits");
	return 0;
}

/* Base64 or hex running over all remaining tokens; at least one when required. */
static int cdns__parse_stream(cdns__pctx_t *pc, bool b64, bool required)
{
	cdns__stream_t st = {.b64 = b64};
	cdns__tok_t t;
	size_t last = pc->pos;
	int r, count = 0;

	while ((r = cdns__next(pc, &t)) > 0) {
		r = cdns__stream_add(pc, &st, &t);
		if (r < 0)
			return r;
		last = t.off;
		count++;
	}
	if (r < 0)
		return r;
	if (count == 0 && required)
		return cdns__perr(pc, pc->len, "missing");
	return cdns__stream_end(pc, &st, last);
}

/* ---------------------------------------------------------------------------------------- */
/* Text output                                                                                */

typedef struct cdns__wctx {
	char *out;
	size_t cap, len;
	bool full;
	bool sep; /* a blank is due before the next output (fields that print nothing drop it) */
} cdns__wctx_t;

static void cdns__put(cdns__wctx_t *w, const char *s, size_t n)
{
	if (w->sep && n > 0) {
		w->sep = false;
		cdns__put(w, " ", 1);
	}
	if (w->full || n + 1 > w->cap - w->len) {
		w->full = true;
		return;
	}
	memcpy(w->out + w->len, s, n);
	w->len += n;
	w->out[w->len] = '\0';
}

static void cdns__putc(cdns__wctx_t *w, char c)
{
	cdns__put(w, &c, 1);
}

__attribute__((format(printf, 2, 3))) static void cdns__putf(cdns__wctx_t *w, const char *fmt, ...)
{
	char buf[64];
	va_list ap;

	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n > 0)
		cdns__put(w, buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
}

/* Encode straight into the output with one of the cdns_*_encode functions. */
static void cdns__put_enc(cdns__wctx_t *w, int (*enc)(const uint8_t *, size_t, char *, size_t),
                          const uint8_t *p, size_t n)
{
	if (n > 0 && w->sep) {
		w->sep = false;
		cdns__put(w, " ", 1);
	}
	if (w->full)
		return;
	int r = enc(p, n, w->out + w->len, w->cap - w->len);
	if (r < 0) {
		w->full = true;
		return;
	}
	w->len += (size_t)r;
}

/* One octet of a character-string's content, escaped for use inside quotes. */
static void cdns__put_strc(cdns__wctx_t *w, uint8_t c)
{
	if (c == '"' || c == '\\') {
		char e[2] = {'\\', (char)c};
		cdns__put(w, e, 2);
	} else if (c < ' ' || c >= 0x7f) {
		cdns__putf(w, "\\%03u", c);
	} else {
		cdns__putc(w, (char)c);
	}
}

static void cdns__put_str(cdns__wctx_t *w, const uint8_t *p, size_t n)
{
	cdns__putc(w, '"');
	for (size_t i = 0; i < n; i++)
		cdns__put_strc(w, p[i]);
	cdns__putc(w, '"');
}

static void cdns__put_name(cdns__wctx_t *w, const uint8_t *name)
{
	if (w->sep) {
		w->sep = false;
		cdns__put(w, " ", 1);
	}
	if (w->full)
		return;
	int r = cdns_name_to_text(name, w->out + w->len, w->cap - w->len);
	if (r < 0) {
		w->full = true;
		return;
	}
	w->len += (size_t)r;
}

/* ---------------------------------------------------------------------------------------- */
/* The kinds. parse: text -> wire at pc->out + pc->wlen. measure: length of the field at pos,
 * or CDNS_EFORMAT. print: text of a field already measured; 0, or 1 when the field has no
 * text form (the record is then printed in generic form). */

typedef struct cdns__kind {
	int (*parse)(cdns__pctx_t *pc);
	int (*measure)(const uint8_t *rd, size_t rdlen, size_t pos);
	int (*print)(cdns__wctx_t *w, const uint8_t *rd, size_t pos, size_t flen);
	uint8_t width;            /* integer kinds: 1, 2, 4 */
	const cdns__mnem_t *mnem; /* integer kinds: accepted mnemonics */
} cdns__kind_t;

static const cdns__kind_t cdns__kinds[CDNS__K_COUNT];

static int cdns__m_rest(const uint8_t *rd, size_t rdlen, size_t pos)
{
	(void)rd;
	return (int)(rdlen - pos);
}

/* --- names --- */

static int cdns__name_error(cdns__pctx_t *pc, const cdns__tok_t *t, int r)
{
	switch (r) {
	case CDNS_ELABEL:
		return cdns__perr(pc, t->off, "label longer than 63 octets in '%s'",
		                  CDNS__SHOW(*t));
	case CDNS_ENAMELEN: return cdns__perr(pc, t->off, "name longer than 255 octets");
	case CDNS_EINVAL:
		return cdns__perr(pc, t->off, "relative name '%s' and no origin", CDNS__SHOW(*t));
	default: return cdns__perr(pc, t->off, "invalid name '%s'", CDNS__SHOW(*t));
	}
}

static int cdns__parse_name_tok(cdns__pctx_t *pc, const cdns__tok_t *t)
{
	uint8_t name[CDNS_NAME_MAXLEN];
	int r;

	if (t->n == 1 && t->s[0] == '@') {
		/* RFC 1035 §5.1: a free-standing @ is the origin. */
		if (pc->origin == NULL)
			return cdns__perr(pc, t->off, "'@' and no origin");
		r = cdns_name_check(pc->origin, CDNS_NAME_MAXLEN);
		if (r < 0)
			return cdns__perr(pc, t->off, "invalid origin");
		memcpy(name, pc->origin, (size_t)r);
	} else {
		r = cdns_name_from_text(t->s, t->n, pc->origin, name);
		if (r < 0)
			return cdns__name_error(pc, t, r);
	}
	return cdns__emit(pc, name, (size_t)r, t->off);
}

static int cdns__p_name(cdns__pctx_t *pc)
{
	cdns__tok_t t;
	int r = cdns__need(pc, &t);

	return r < 0 ? r : cdns__parse_name_tok(pc, &t);
}

static int cdns__m_name(const uint8_t *rd, size_t rdlen, size_t pos)
{
	int r = cdns_name_check(rd + pos, rdlen - pos);

	return r < 0 ? CDNS_EFORMAT : r;
}

static int cdns__w_name(cdns__wctx_t *w, const uint8_t *rd, size_t pos, size_t flen)
{
	cdns__put_name(w, rd + pos);
	return 0;
}

/* --- integers, with optional mnemonics --- */

static int cdns__p_int_kind(cdns__pctx_t *pc, const cdns__kind_t *k)
{
	cdns__tok_t t;
	uint64_t max = k->width == 1 ? 0xff : k->width == 2 ? 0xffff : 0xffffffff, v;
	int r = cdns__need(pc, &t);

	if (r < 0)
		return r;
	r = cdns__uint(t.s, t.n, max, &v);
	if (r == -1 && k->mnem != NULL) {
		int m = cdns__mnem_value(k->mnem, t.s, t.n);
		if (m >= 0) {
			v = (uint64_t)m;
			r = 0;
		}
	}
	if (r == -1)
		return cdns__perr(pc, t.off, "'%s' is not a number", CDNS__SHOW(t));
	if (r == -2)
		return cdns__perr(pc, t.off, "'%s' out of range", CDNS__SHOW(t));
	uint8_t b[4];
	if (k->width == 1)
		b[0] = (uint8_t)v;
	else if (k->width == 2)
		cdns_put16(b, (uint16_t)v);
	else
		cdns_put32(b, (uint32_t)v);
	return cdns__emit(pc, b, k->width, t.off);
}

/* A time in seconds, plain or with units (case-insensitive w, d, h, m, s), as BIND and Knot
 * read SOA timers; e.g. "1h30m" is 5400. Printed as plain seconds. */
static int cdns__p_ttl(cdns__pctx_t *pc)
{
	cdns__tok_t t;
	int r = cdns__need(pc, &t);
	if (r < 0)
		return r;
	uint64_t total = 0, cur = 0;
	bool digits = false, any_unit = false;
	for (size_t i = 0; i < t.n; i++) {
		char c = t.s[i];
		if (c >= '0' && c <= '9') {
			cur = cur * 10 + (uint64_t)(c - '0');
			digits = true;
			if (cur > 0xffffffffu)
				return cdns__perr(pc, t.off, "'%s' out of range", CDNS__SHOW(t));
			continue;
		}
		uint64_t mul;
		switch (c | 0x20) {
		case 'w': mul = 604800; break;
		case 'd': mul = 86400; break;
		case 'h': mul = 3600; break;
		case 'm': mul = 60; break;
		case 's': mul = 1; break;
		default: return cdns__perr(pc, t.off, "'%s' is not a number", CDNS__SHOW(t));
		}
		if (!digits)
			return cdns__perr(pc, t.off, "'%s' is not a number", CDNS__SHOW(t));
		total += cur * mul;
		if (total > 0xffffffffu)
			return cdns__perr(pc, t.off, "'%s' out of range", CDNS__SHOW(t));
		cur = 0;
		digits = false;
		any_unit = true;
	}
	if (!digits && !any_unit)
		return cdns__perr(pc, t.off, "'%s' is not a number", CDNS__SHOW(t));
	total += cur;
	if (total > 0xffffffffu)
		return cdns__perr(pc, t.off, "'%s' out of range", CDNS__SHOW(t));
	uint8_t b[4];
	cdns_put32(b, (uint32_t)total);
	return cdns__emit(pc, b, 4, t.off);
}

#define CDNS__INT_KIND(K)                                                                          \
	static int cdns__p_##K(cdns__pctx_t *pc)                                                   \
	{                                                                                          \
		return cdns__p_int_kind(pc, &cdns__kinds[CDNS__K_##K]);                            \
	}
CDNS__INT_KIND(U8)
CDNS__INT_KIND(U16)
CDNS__INT_KIND(U32)
CDNS__INT_KIND(ALG)
CDNS__INT_KIND(CERTTYPE)
CDNS__INT_KIND(RCODE)
#undef CDNS__INT_KIND

static int cdns__m_1(const uint8_t *rd, size_t rdlen, size_t pos)
{
	return rdlen - pos >= 1 ? 1 : CDNS_EFORMAT;
}
static int cdns__m_2(const uint8_t *rd, size_t rdlen, size_t pos)
{
	return rdlen - pos >= 2 ? 2 : CDNS_EFORMAT;
}
static int cdns__m_4(const uint8_t *rd, size_t rdlen, size_t pos)
{
	return rdlen - pos >= 4 ? 4 : CDNS_EFORMAT;
}
static int cdns__m_6(const uint8_t *rd, size_t rdlen, size_t pos)
{
	return rdlen - pos >= 6 ? 6 : CDNS_EFORMAT;
}
static int cdns__m_8(const uint8_t *rd, size_t rdlen, size_t pos)
{
	return rdlen - pos >= 8 ? 8 : CDNS_EFORMAT;
}
static int cdns__m_16(const uint8_t *rd, size_t rdlen, size_t pos)
{
	return rdlen - pos >= 16 ? 16 : CDNS_EFORMAT;
}

static int cdns__w_u8(cdns__wctx_t *w, const uint8_t *rd, size_t pos, size_t flen)
{
	cdns__putf(w, "%u", rd[pos]);
	return 0;
}
static int cdns__w_u16(cdns__wctx_t *w, const uint8_t *rd, size_t pos, size_t flen)
{
	cdns__putf(w, "%u", cdns_get16(rd + pos));
	return 0;
}
static int cdns__w_u32(cdns__wctx_t *w, const uint8_t *rd, size_t pos, size_t flen)
{
	cdns__putf(w, "%lu", (unsigned long)cdns_get32(rd + pos));
	return 0;
}
static int cdns__w_rcode(cdns__wctx_t *w, const uint8_t *rd, size_t pos, size_t flen)
{
	const char *m = cdns__mnem_name(cdns__rcodes, cdns_get16(rd + pos));

	if (m != NULL)
		cdns__put(w, m, strlen(m));
	else
		cdns__putf(w, "%u", cdns_get16(rd + pos));
	return 0;
}

/* --- RR type --- */

static int cdns__p_type(cdns__pctx_t *pc)
{
	cdns__tok_t t;
	uint16_t type;
	int r = cdns__need(pc, &t);

	if (r < 0)
		return r;
	if (cdns_rrtype_from_text(t.s, t.n, &type) < 0)
		return cdns__perr(pc, t.off, "unknown type '%s'", CDNS__SHOW(t));
	return cdns__emit16(pc, type, t.off);
}

static void cdns__put_type(cdns__wctx_t *w, uint16_t type)
{
	char buf[16];
	int n = cdns_rrtype_to_text(type, buf, sizeof(buf));

	if (n > 0)
		cdns__put(w, buf, (size_t)n);
}

static int cdns__w_type(cdns__wctx_t *w, const uint8_t *rd, size_t pos, size_t flen)
{
	cdns__put_type(w, cdns_get16(rd + pos));
	return 0;
}

/* --- times (RFC 4034 §3.2) --- */

static bool cdns__leap(unsigned y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static unsigned cdns__mdays(unsigned y, unsigned m)
{
	static const uint8_t days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	return days[m] + (m == 1 && cdns__leap(y));
}

static int cdns__p_time(cdns__pctx_t *pc)
{
	cdns__tok_t t;
	uint64_t v;
	int r = cdns__need(pc, &t);

	if (r < 0)
		return r;
	if (t.n == 14) {
		uint64_t x;
		if (cdns__uint(t.s, 14, ~(uint64_t)0, &x) < 0)
			return cdns__perr(pc, t.off, "'%s' is not a time", CDNS__SHOW(t));
		unsigned y = (unsigned)(x / 10000000000ULL), mo = (unsigned)(x / 100000000 % 100),
		         d = (unsigned)(x / 1000000 % 100), h = (unsigned)(x / 10000 % 100),
		         mi = (unsigned)(x / 100 % 100), s = (unsigned)(x % 100);
		if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > cdns__mdays(y, mo - 1) ||
		    h > 23 || mi > 59 || s > 59)
			return cdns__perr(pc, t.off, "'%s' is not a valid time", CDNS__SHOW(t));
		uint64_t days = d - 1;
		for (unsigned i = 1970; i < y; i++)
			days += cdns__leap(i) ? 366 : 365;
		for (unsigned i = 0; i + 1 < mo; i++)
			days += cdns__mdays(y, i);
		v = days * 86400 + h * 3600 + mi * 60 + s;
		if (v > 0xffffffffULL)
			return cdns__perr(pc, t.off, "'%s' out of range", CDNS__SHOW(t));
	} else {
		r = cdns__uint(t.s, t.n, 0xffffffffULL, &v);
		if (r == -1)
			return cdns__perr(pc, t.off, "'%s' is not a time", CDNS__SHOW(t));
		if (r == -2)
			return cdns__perr(pc, t.off, "'%s' out of range", CDNS__SHOW(t));
	}
	uint8_t b[4];
	cdns_put32(b, (uint32_t)v);
	return cdns__emit(pc, b, 4, t.off);
}

static int cdns__w_time(cdns__wctx_t *w, const uint8_t *rd, size_t pos, size_t flen)
{
	uint32_t v = cdns_get32(rd + pos);
	uint32_t days = v / 86400, secs = v % 86400;
	unsigned y = 1970, m = 0;

	while (days >= (cdns__leap(y) ? 366u : 365u)) {
		days -= cdns__leap(y) ? 366 : 365;
		y++;
	}
	while (days >= cdns__mdays(y, m)) {
		days -= cdns__mdays(y, m);
		m++;
	}
	cdns__putf(w, "%04u%02u%02u%02u%02u%02u", y, m + 1, (unsigned)days + 1,
	           (unsigned)(secs / 3600), (unsigned)(secs / 60 % 60), (unsigned)(secs % 60));
	return 0;
}

static int cdns__p_time48(cdns__pctx_t *pc)
{
	cdns__tok_t t;
	uint64_t v;
	int r = cdns__need(pc, &t);

	if (r < 0)
		return r;
	r = cdns__uint(t.s, t.n, 0xffffffffffffULL, &v);
	if (r == -1)
		return cdns__perr(pc, t.off, "'%s' is not a number", CDNS__SHOW(t));
	if (r == -2)
		return cdns__perr(pc, t.off, "'%s' out of range", CDNS__SHOW(t));
	uint8_t b[6];
	cdns_put16(b, (uint16_t)(v >> 32));
	cdns_put32(b + 2, (uint32_t)v);
	return cdns__emit(pc, b, 6, t.off);
}

static int cdns__w_time48(cdns__wctx_t *w, const uint8_t *rd, size_t pos, size_t flen)
{
	uint64_t v = (uint64_t)cdns_get16(rd + pos) << 32 | cdns_get32(rd + pos + 2);

	cdns__putf(w, "%llu", (unsigned long long)v);
	return 0;
}

/* --- addresses --- */

/* Parse an address with inet_pton, which wants a NUL-terminated string. */
static bool cdns__ip(int af, const char *s, size_t n, uint8_t *out)
{
	char buf[64];

	if (n == 0 || n >= sizeof(buf) || memchr(s, '\0', n) != NULL)
		return false;
	memcpy(buf, s, n);
	buf[n] = '\0';
	return inet_pton(af, buf, out) == 1;
}

static int cdns__p_addr(cdns__pctx_t *pc, int af)
{
	cdns__tok_t t;
	uint8_t a[16];
	int r = cdns__need(pc, &t);

	if (r < 0)
		return r;
	if (!cdns__ip(af, t.s, t.n, a))
		return cdns__perr(pc, t.off, "invalid %s address '%s'",
		                  af == AF_INET ? "IPv4" : "IPv6", CDNS__SHOW(t));
	return cdns__emit(pc, a, af == AF_INET ? 4 : 16, t.off);
}

static int cdns__p_a(cdns__pctx_t *pc)
{
	return cdns__p_addr(pc, AF_INET);
}

static int cdns__p_aaaa(cdns__pctx_t *pc)
{
	return cdns__p_addr(pc, AF_INET6);
}

static void cdns__put_ip(cdns__wctx_t *w, int af, const uint8_t *a)
{
	char buf[INET6_ADDRSTRLEN];

	if (inet_ntop(af, a, buf, sizeof(buf)) != NULL)
		cdns__put(w, buf, strlen(buf));
	else
		w->full = true;
}

static int cdns__w_a(cdns__wctx_t *w, const uint8_t *rd, size_t pos, size_t flen)
{
	cdns__put_ip(w, AF_INET, rd + pos);
	return 0;
}

static int cdns__w_aaaa(cdns__wctx_t *w, const uint8_t *rd, size_t pos, size_t flen)
{
	cdns__put_ip(w, AF_INET6, rd + pos);
	return 0;
}

/* --- EUI-48 / EUI-64 (RFC 7043 §3.2, §4.2): hex pairs joined by '-' --- */

static int cdns__p_eui(cdns__pctx_t *pc, size_t octets)
{
	cdns__tok_t t;
	uint8_t a[8];
	int r = cdns__need(pc, &t);

	if (r < 0)
		return r;
	if (t.n != octets * 3 - 1)
		return cdns__perr(pc, t.off, "invalid EUI-%zu address '%s'", octets * 8,
		                  CDNS__SHOW(t));
	for (size_t i = 0; i < octets; i++) {
		if ((i > 0 && t.s[3 * i - 1] != '-') ||
		    cdns_hex_decode(t.s + 3 * i, 2, a + i, 1) != 1)
			return cdns__perr(pc, t.off, "invalid EUI-%zu address '%s'", octets * 8,
			                  CDNS__SHOW(t));
	}
	return cdns__emit(pc, a, octets, t.off);
}

static int cdns__p_eui48(cdns__pctx_t *pc)
{
	return cdns__p_eui(pc, 6);
}

static int cdns__p_eui64(cdns__pctx_t *pc)
{
	return cdns__p_eui(pc, 8);
}

static int cdns__w_eui(cdns__wctx_t *w, const uint8_t *rd, size_t pos, size_t flen)
{
	for (size_t i = 0; i < flen; i++)
		cdns__putf(w, i == 0 ? "%02x" : "-%02x", rd[pos + i]);
	return 0;
}

/* --- character-strings --- */

static int cdns__p_str(cdns__pctx_t *pc)
{
	cdns__tok_t t;
	int r = cdns__need(pc, &t);

	return r < 0 ? r : cdns__emit_decoded(pc, &t, 255, true);
}

static int cdns__m_str(const uint8_t *rd, size_t rdlen, size_t pos)
{
	if (pos >= rdlen || rd[pos] + 1u > rdlen - pos)
		return CDNS_EFORMAT;
	return rd[pos] + 1;
}

static int cdns__w_str(cdns__wctx_t *w, const uint8_t *rd, size_t pos, size_t flen)
{
	cdns__put_str(w, rd + pos + 1, rd[pos]);
	return 0;
}

/* RFC 1035 §3.3.14: TXT is one or more character-strings. */
static int cdns__p_strs(cdns__pctx_t *pc)
{
	cdns__tok_t t;
	int r = cdns__need(pc, &t);

	while (r >= 0) {
		r = cdns__emit_decoded(pc, &t, 255, true);
		if (r < 0)
			return r;
		r = cdns__next(pc, &t);
		if (r == 0)
			return 0;
	}
	return r;
}

static int cdns__m_strs(const uint8_t *rd, size_t rdlen, size_t pos)
{
	size_t p = pos;

	if (p >= rdlen)
		return CDNS_EFORMAT;
	while (p < rdlen) {
		int n = cdns__m_str(rd, rdlen, p);
		if (n < 0)
			return n;
		p += (size_t)n;
	}
	return (int)(p - pos);
}

static int cdns__w_strs(cdns__wctx_t *w, const uint8_t *rd, size_t pos, size_t flen)
{
	for (size_t p = pos; p < pos + flen; p += rd[p] + 1u) {
		if (p > pos)
			cdns__putc(w, ' ');
		cdns__put_str(w, rd + p + 1, rd[p]);
	}
	return 0;
}

/* The rest of the RDATA as one string (CAA value, RFC 8659 §4.1.1; URI target, RFC 7553). */
static int cdns__p_rawstr(cdns__pctx_t *pc)
{
	cdns__tok_t t;
	int r = cdns__need(pc, &t);

	return r < 0 ? r : cdns__emit_decoded(pc, &t, CDNS_RDATA_MAXLEN, false);
}

static int cdns__w_rawstr(cdns__wctx_t *w, const uint8_t *rd, size_t pos, size_t flen)
{
	cdns__put_str(w, rd + pos, flen);
	return 0;
}

/* CAA tag (RFC 8659 §4.1): at least one octet, letters and digits only. */
static int cdns__p_caatag(cdns__pctx_t *pc)
{
	cdns__tok_t t;
	int r = cdns__need(pc, &t);

	if (r < 0)
		return r;
	if (t.n == 0 || t.n > 255)
		return cdns__perr(pc, t.off, "invalid tag '%s'", CDNS__SHOW(t));
	for (size_t i = 0; i < t.n; i++)
		if (!cdns__isalnum(t.s[i]))
			return cdns__perr(pc, t.off, "invalid tag '%s': letters and digits only",
			                  CDNS__SHOW(t));
	r = cdns__emit8(pc, (uint8_t)t.n, t.off);
	return r < 0 ? r : cdns__emit(pc, t.s, t.n, t.off);
}

static int cdns__m_caatag(const uint8_t *rd, size_t rdlen, size_t pos)
{
	int n = cdns__m_str(rd, rdlen, pos);

	if (n < 2)
		return CDNS_EFORMAT;
	for (int i = 1; i < n; i++)
		if (!cdns__isalnum(rd[pos + (size_t)i]))
			return CDNS_EFORMAT;
	return n;
}

static int cdns__w_caatag(cdns__wctx_t *w, const uint8_t *rd, size_t pos, size_t flen)
{
	cdns__put(w, (const char *)rd + pos + 1, flen - 1);
	return 0;
}

/* --- base64, hex, base32hex --- */

static int cdns__p_b64(cdns__pctx_t *pc)
{
	return cdns__parse_stream(pc, true, true);
}

static int cdns__p_b64opt(cdns__pctx_t *pc)
{
	return cdns__parse_stream(pc, true, false);
}

static int cdns__p_hex(cdns__pctx_t *pc)
{
	return cdns__parse_stream(pc, false, true);
}

static int cdns__w_b64(cdns__wctx_t *w, const uint8_t *rd, size_t pos, size_t flen)
{
	if (flen == 0)
		return 1;
	cdns__put_enc(w, cdns_base64_encode, rd + pos, flen);
	return 0;
}

static int cdns__w_b64opt(cdns__wctx_t *w, const uint8_t *rd, size_t pos, size_t flen)
{
	if (flen > 0)
		cdns__put_enc(w, cdns_base64_encode, rd + pos, flen);
	return 0;
}

static int cdns__w_hex(cdns__wctx_t *w, const uint8_t *rd, size_t pos, size_t flen)
{
	if (flen == 0)
		return 1;
	cdns__put_enc(w, cdns_hex_encode, rd + pos, flen);
	return 0;
}

/* NSEC3 salt (RFC 5155 §3.3): "-" for none, else hex, at most 255 octets. */
static int cdns__p_salt(cdns__pctx_t *pc)
{
	cdns__tok_t t;
	uint8_t b[256];
	int r = cdns__need(pc, &t);

	if (r < 0)
		return r;
	if (t.n == 1 && t.s[0] == '-')
		return cdns__emit8(pc, 0, t.off);
	if (t.n > 2 * 255)
		return cdns__perr(pc, t.off, "salt longer than 255 octets");
	int n = cdns_hex_decode(t.s, t.n, b + 1, 255);
	if (n < 0)
		return cdns__perr(pc, t.off, "invalid hex '%s'", CDNS__SHOW(t));
	b[0] = (uint8_t)n;
	return cdns__emit(pc, b, (size_t)n + 1, t.off);
}

static int cdns__w_salt(cdns__wctx_t *w, const uint8_t *rd, size_t pos, size_t flen)
{
	if (rd[pos] == 0)
		cdns__putc(w, '-');
	else
		cdns__put_enc(w, cdns_hex_encode, rd + pos + 1, rd[pos]);
	return 0;
}

/* NSEC3 next hashed owner name (RFC 5155 §3.3): base32hex, 1 to 255 octets. */
static int cdns__p_b32(cdns__pctx_t *pc)
{
	cdns__tok_t t;
	uint8_t b[256];
	int r = cdns__need(pc, &t);

	if (r < 0)
		return r;
	if (t.n > 408) /* 255 octets take 408 characters */
		return cdns__perr(pc, t.off, "hash longer than 255 octets");
	int n = cdns_base32hex_decode(t.s, t.n, b + 1, 255);
	if (n <= 0)
		return cdns__perr(pc, t.off, "invalid base32hex '%s'", CDNS__SHOW(t));
	b[0] = (uint8_t)n;
	return cdns__emit(pc, b, (size_t)n + 1, t.off);
}

static int cdns__m_b32(const uint8_t *rd, size_t rdlen, size_t pos)
{
	int n = cdns__m_str(rd, rdlen, pos);

	return n < 2 ? CDNS_EFORMAT : n;
}

static int cdns__w_b32(cdns__wctx_t *w, const uint8_t *rd, size_t pos, size_t flen)
{
	cdns__put_enc(w, cdns_base32hex_encode, rd + pos + 1, rd[pos]);
	return 0;
}

/* 16-bit length and base64 data; the data token is absent when the length is 0. */
static int cdns__p_b64u16(cdns__pctx_t *pc)
{
	cdns__tok_t t;
	uint64_t len;
	int r = cdns__need(pc, &t);

	if (r < 0)
		return r;
	r = cdns__uint(t.s, t.n, 0xffff, &len);
	if (r == -1)
		return cdns__perr(pc, t.off, "length '%s' is not a number", CDNS__SHOW(t));
	if (r == -2)
		return cdns__perr(pc, t.off, "length '%s' out of range", CDNS__SHOW(t));
	r = cdns__emit16(pc, (uint16_t)len, t.off);
	if (r < 0 || len == 0)
		return r;
	size_t start = pc->wlen;
	r = cdns__need(pc, &t);
	if (r < 0)
		return r;
	cdns__stream_t st = {.b64 = true};
	r = cdns__stream_add(pc, &st, &t);
	if (r < 0)
		return r;
	r = cdns__stream_end(pc, &st, t.off);
	if (r < 0)
		return r;
	if (pc->wlen - start != len)
		return cdns__perr(pc, t.off, "%zu octets of base64, length says %u",
		                  pc->wlen - start, (unsigned)len);
	return 0;
}

static int cdns__m_b64u16(const uint8_t *rd, size_t rdlen, size_t pos)
{
	if (rdlen - pos < 2 || cdns_get16(rd + pos) > rdlen - pos - 2)
		return CDNS_EFORMAT;
	return 2 + cdns_get16(rd + pos);
}

static int cdns__w_b64u16(cdns__wctx_t *w, const uint8_t *rd, size_t pos, size_t flen)
{
	cdns__putf(w, "%u", cdns_get16(rd + pos));
	if (flen > 2) {
		cdns__putc(w, ' ');
		cdns__put_enc(w, cdns_base64_encode, rd + pos + 2, flen - 2);
	}
	return 0;
}

/* --- type bitmaps --- */

/* RFC 4034 §4.1.2: windows in increasing order, 1 to 32 octets each, no trailing zero octet
 * (so the wire form of a set of types is unique). */
static int cdns__p_bitmap(cdns__pctx_t *pc)
{
	uint8_t bm[8192];
	uint8_t used[256]; /* octets used in each window */
	cdns__tok_t t;
	int r;

	memset(used, 0, sizeof(used));
	while ((r = cdns__next(pc, &t)) > 0) {
		uint16_t type;
		if (cdns_rrtype_from_text(t.s, t.n, &type) < 0)
			return cdns__perr(pc, t.off, "unknown type '%s'", CDNS__SHOW(t));
		unsigned win = type >> 8, oct = (type & 0xff) >> 3;
		if (used[win] <= oct) {
			memset(bm + win * 32 + used[win], 0, oct + 1 - used[win]);
			used[win] = (uint8_t)(oct + 1);
		}
		bm[type >> 3] |= (uint8_t)(0x80 >> (type & 7));
	}
	if (r < 0)
		return r;
	for (unsigned win = 0; win < 256; win++) {
		if (used[win] == 0)
			continue;
		uint8_t hdr[2] = {(uint8_t)win, used[win]};
		r = cdns__emit(pc, hdr, 2, pc->len);
		if (r < 0)
			return r;
		r = cdns__emit(pc, bm + win * 32, used[win], pc->len);
		if (r < 0)
			return r;
	}
	return 0;
}

static int cdns__m_bitmap(const uint8_t *rd, size_t rdlen, size_t pos)
{
	size_t p = pos;
	int last = -1;

	while (p < rdlen) {
		if (rdlen - p < 2)
			return CDNS_EFORMAT;
		unsigned win = rd[p], n = rd[p + 1];
		if ((int)win <= last || n == 0 || n > 32 || n > rdlen - p - 2 || rd[p + 1 + n] == 0)
			return CDNS_EFORMAT;
		last = (int)win;
		p += 2 + n;
	}
	return (int)(p - pos);
}

static int cdns__w_bitmap(cdns__wctx_t *w, const uint8_t *rd, size_t pos, size_t flen)
{
	bool first = true;

	for (size_t p = pos; p < pos + flen; p += 2u + rd[p + 1]) {
		for (unsigned i = 0; i < rd[p + 1]; i++) {
			for (unsigned b = 0; b < 8; b++) {
				if (!(rd[p + 2 + i] & (0x80 >> b)))
					continue;
				if (!first)
					cdns__putc(w, ' ');
				first = false;
				cdns__put_type(w, (uint16_t)(rd[p] << 8 | (i * 8 + b)));
			}
		}
	}
	return 0;
}

/* NXT (RFC 2535 §5.2): one bit per type 1..127 from the first octet's high bit; bit 0 would
 * announce another format and is never set here; no trailing zero octets. */
static int cdns__p_nxtbitmap(cdns__pctx_t *pc)
{
	uint8_t bm[16];
	size_t used = 0;
	cdns__tok_t t;
	int r;

	memset(bm, 0, sizeof(bm));
	while ((r = cdns__next(pc, &t)) > 0) {
		uint16_t type;
		if (cdns_rrtype_from_text(t.s, t.n, &type) < 0)
			return cdns__perr(pc, t.off, "unknown type '%s'", CDNS__SHOW(t));
		if (type == 0 || type > 127)
			return cdns__perr(pc, t.off, "type '%s' out of range 1..127",
			                  CDNS__SHOW(t));
		bm[type >> 3] |= (uint8_t)(0x80 >> (type & 7));
		if (used <= (size_t)(type >> 3))
			used = (size_t)(type >> 3) + 1;
	}
	return r < 0 ? r : cdns__emit(pc, bm, used, pc->len);
}

static int cdns__m_nxtbitmap(const uint8_t *rd, size_t rdlen, size_t pos)
{
	size_t n = rdlen - pos;

	if (n > 16 || (n > 0 && ((rd[pos] & 0x80) || rd[rdlen - 1] == 0)))
		return CDNS_EFORMAT;
	return (int)n;
}

static int cdns__w_nxtbitmap(cdns__wctx_t *w, const uint8_t *rd, size_t pos, size_t flen)
{
	bool first = true;

	for (unsigned t = 1; t < flen * 8; t++) {
		if (!(rd[pos + t / 8] & (0x80 >> (t % 8))))
			continue;
		if (!first)
			cdns__putc(w, ' ');
		first = false;
		cdns__put_type(w, (uint16_t)t);
	}
	return 0;
}

/* --- SvcParams (RFC 9460 §2.1, §2.2, Appendix A) --- */

/* "mandatory", "alpn", ... or "keyNNNNN" (no leading zeros); -1 when unknown, -2 for the
 * reserved key65535. */
static long cdns__svckey(const char *s, size_t n)
{
	for (const cdns__mnem_t *m = cdns__svckeys; m->name != NULL; m++)
		if (strlen(m->name) == n && memcmp(m->name, s, n) == 0)
			return m->value;
	uint64_t v;
	if (n < 4 || memcmp(s, "key", 3) != 0 || (n > 4 && s[3] == '0') ||
	    cdns__uint(s + 3, n - 3, 0xffff, &v) < 0)
		return -1;
	return v == CDNS__SVC_INVALID ? -2 : (long)v;
}

static void cdns__put_svckey(cdns__wctx_t *w, uint16_t key)
{
	const char *m = cdns__mnem_name(cdns__svckeys, key);

	if (m != NULL)
		cdns__put(w, m, strlen(m));
	else
		cdns__putf(w, "key%u", key);
}

/* Semantic checks of SvcParams on the wire, shared by the text parser (for its messages) and
 * cdns_rdata_check. Returns 0, or CDNS_EFORMAT with *why set and *bad the offending key. */
static int cdns__svc_check(const uint8_t *p, size_t n, const char **why, unsigned *bad)
{
	long prev = -1;
	size_t mand = 0, mandlen = 0;
	bool have_mand = false;

	for (size_t i = 0; i < n;) {
		if (n - i < 4) {
			*why = "truncated SvcParam";
			return CDNS_EFORMAT;
		}
		unsigned key = cdns_get16(p + i), len = cdns_get16(p + i + 2);
		const uint8_t *v = p + i + 4;
		*bad = key;
		if (len > n - i - 4) {
			*why = "SvcParam value runs past the RDATA";
			return CDNS_EFORMAT;
		}
		/* §2.2: strictly increasing keys, so no key appears twice. */
		if ((long)key <= prev) {
			*why = (long)key == prev ? "duplicate key" : "keys out of order";
			return CDNS_EFORMAT;
		}
		prev = key;
		switch (key) {
		case CDNS__SVC_MANDATORY:
			/* §8: a non-empty, strictly increasing list, without "mandatory" itself. */
			if (len == 0 || len % 2 != 0) {
				*why = "mandatory needs a list of keys";
				return CDNS_EFORMAT;
			}
			for (unsigned j = 0; j < len; j += 2) {
				unsigned k = cdns_get16(v + j);
				if (k == CDNS__SVC_MANDATORY) {
					*why = "mandatory must not list itself";
					return CDNS_EFORMAT;
				}
				if (j > 0 && k <= cdns_get16(v + j - 2)) {
					*bad = k;
					*why = k == cdns_get16(v + j - 2)
					           ? "duplicate key in mandatory"
					           : "mandatory keys out of order";
					return CDNS_EFORMAT;
				}
			}
			have_mand = true;
			mand = i + 4;
			mandlen = len;
			break;
		case CDNS__SVC_ALPN: {
			/* §7.1.1: one or more non-empty alpn-ids. */
			unsigned j = 0;
			if (len == 0) {
				*why = "alpn needs a value";
				return CDNS_EFORMAT;
			}
			while (j < len) {
				if (v[j] == 0 || v[j] > len - j - 1) {
					*why = "bad alpn-id";
					return CDNS_EFORMAT;
				}
				j += v[j] + 1u;
			}
			break;
		}
		case CDNS__SVC_NODEFAULTALPN:
		case CDNS__SVC_OHTTP:
			if (len != 0) {
				*why = "value must be empty";
				return CDNS_EFORMAT;
			}
			break;
		case CDNS__SVC_PORT:
			if (len != 2) {
				*why = "port needs a 16-bit value";
				return CDNS_EFORMAT;
			}
			break;
		case CDNS__SVC_IPV4HINT:
			if (len == 0 || len % 4 != 0) {
				*why = "ipv4hint needs IPv4 addresses";
				return CDNS_EFORMAT;
			}
			break;
		case CDNS__SVC_IPV6HINT:
			if (len == 0 || len % 16 != 0) {
				*why = "ipv6hint needs IPv6 addresses";
				return CDNS_EFORMAT;
			}
			break;
		case CDNS__SVC_INVALID: *why = "key65535 is reserved"; return CDNS_EFORMAT;
		default: break;
		}
		i += 4 + len;
	}
	if (!have_mand)
		return 0;
	/* §8: every key that mandatory lists must be present. */
	for (size_t j = 0; j < mandlen; j += 2) {
		unsigned k = cdns_get16(p + mand + j);
		bool found = false;
		for (size_t i = 0; i < n && !found; i += 4u + cdns_get16(p + i + 2))
			found = cdns_get16(p + i) == k;
		if (!found) {
			*bad = k;
			*why = "mandatory key missing";
			return CDNS_EFORMAT;
		}
	}
	return 0;
}

/* Items of a comma-separated value (Appendix A.1), read from the character-string decoder.
 * With escapes, "\," and "\\" stand for a comma and a backslash inside an item (alpn). One
 * item goes to buf (at most cap octets); returns its length, -1 when there are no more, -2 on
 * a bad escape or an empty item, -3 when it is longer than cap. */
static long cdns__item(cdns__dec_t *d, bool escapes, bool *last, uint8_t *buf, size_t cap)
{
	size_t n = 0;
	int c;

	if (*last)
		return -1;
	for (;;) {
		c = cdns__dec_next(d);
		if (c == -2)
			return -2;
		if (c == -1 || c == ',')
			break;
		if (c == '\\' && escapes) {
			c = cdns__dec_next(d);
			if (c != ',' && c != '\\')
				return -2;
		}
		if (n == cap)
			return -3;
		buf[n++] = (uint8_t)c;
	}
	*last = c == -1;
	return n == 0 ? -2 : (long)n;
}

/* The value of one SvcParam from its text (already split from "key="), appended to the
 * output. */
static int cdns__p_svcvalue(cdns__pctx_t *pc, const cdns__tok_t *t, unsigned key, const char *v,
                            size_t vn, bool has_value)
{
	cdns__dec_t d = {v, vn, 0};
	bool last = false;
	uint8_t item[256];
	long n;
	int r;

	if (cdns__dec_len(v, vn) < 0)
		return cdns__perr(pc, t->off, "bad escape in '%s'", CDNS__SHOW(*t));
	/* "key=" and "key=\"\"" are the same as "key" (§2.1). */
	if (cdns__dec_len(v, vn) == 0)
		has_value = false;
	switch (key) {
	case CDNS__SVC_MANDATORY:
	case CDNS__SVC_ALPN:
	case CDNS__SVC_PORT:
	case CDNS__SVC_IPV4HINT:
	case CDNS__SVC_IPV6HINT:
		if (!has_value)
			return cdns__perr(pc, t->off, "'%s' needs a value", CDNS__SHOW(*t));
		break;
	case CDNS__SVC_NODEFAULTALPN:
	case CDNS__SVC_OHTTP:
		if (has_value)
			return cdns__perr(pc, t->off, "'%s' takes no value", CDNS__SHOW(*t));
		return 0;
	default: break;
	}

	switch (key) {
	case CDNS__SVC_MANDATORY: {
		size_t start = pc->wlen;
		while ((n = cdns__item(&d, false, &last, item, 32)) >= 0) {
			long k = cdns__svckey((const char *)item, (size_t)n);
			if (k < 0)
				return cdns__perr(pc, t->off, "unknown key '%s' in mandatory",
				                  cdns__show((const char *)item, (size_t)n).s);
			if (k == CDNS__SVC_MANDATORY)
				return cdns__perr(pc, t->off, "mandatory must not list itself");
			/* Insert in order (§8: sorted on the wire). */
			size_t at = start;
			while (at < pc->wlen && cdns_get16(pc->out + at) < k)
				at += 2;
			if (at < pc->wlen && cdns_get16(pc->out + at) == k)
				return cdns__perr(pc, t->off, "duplicate key '%s' in mandatory",
				                  cdns__show((const char *)item, (size_t)n).s);
			r = cdns__room(pc, 2, t->off);
			if (r < 0)
				return r;
			memmove(pc->out + at + 2, pc->out + at, pc->wlen - at);
			cdns_put16(pc->out + at, (uint16_t)k);
			pc->wlen += 2;
		}
		break;
	}
	case CDNS__SVC_ALPN:
		while ((n = cdns__item(&d, true, &last, item, 255)) >= 0) {
			r = cdns__emit8(pc, (uint8_t)n, t->off);
			if (r < 0 || (r = cdns__emit(pc, item, (size_t)n, t->off)) < 0)
				return r;
		}
		if (n == -3)
			return cdns__perr(pc, t->off, "alpn-id longer than 255 octets");
		break;
	case CDNS__SVC_PORT: {
		uint64_t port;
		n = cdns__item(&d, false, &last, item, 16);
		if (n < 0 || !last || cdns__uint((const char *)item, (size_t)n, 0xffff, &port) < 0)
			return cdns__perr(pc, t->off, "invalid port in '%s'", CDNS__SHOW(*t));
		return cdns__emit16(pc, (uint16_t)port, t->off);
	}
	case CDNS__SVC_IPV4HINT:
	case CDNS__SVC_IPV6HINT: {
		int af = key == CDNS__SVC_IPV4HINT ? AF_INET : AF_INET6;
		while ((n = cdns__item(&d, false, &last, item, 63)) >= 0) {
			uint8_t a[16];
			if (!cdns__ip(af, (const char *)item, (size_t)n, a))
				return cdns__perr(pc, t->off, "invalid %s address '%s'",
				                  af == AF_INET ? "IPv4" : "IPv6",
				                  cdns__show((const char *)item, (size_t)n).s);
			r = cdns__emit(pc, a, af == AF_INET ? 4 : 16, t->off);
			if (r < 0)
				return r;
		}
		break;
	}
	case CDNS__SVC_ECH: {
		/* RFC 9460 §7.3: base64 of an ECHConfigList. */
		cdns__stream_t st = {.b64 = true};
		int c;
		while ((c = cdns__dec_next(&d)) >= 0) {
			char ch = (char)c;
			cdns__tok_t one = {&ch, 1, t->off};
			r = cdns__stream_add(pc, &st, &one);
			if (r == CDNS_ESPACE)
				return r;
			if (r < 0)
				return cdns__perr(pc, t->off, "invalid base64 in '%s'",
				                  CDNS__SHOW(*t));
		}
		return cdns__stream_end(pc, &st, t->off);
	}
	default: {
		/* dohpath and keyNNNNN: the octets themselves. */
		cdns__tok_t val = {v, vn, t->off};
		return cdns__emit_decoded(pc, &val, CDNS_RDATA_MAXLEN, false);
	}
	}
	if (n == -2 || n == -3)
		return cdns__perr(pc, t->off, "bad value list in '%s'", CDNS__SHOW(*t));
	return 0;
}

static void cdns__reverse(uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n / 2; i++) {
		uint8_t x = p[i];
		p[i] = p[n - 1 - i];
		p[n - 1 - i] = x;
	}
}

static int cdns__p_svcparams(cdns__pctx_t *pc)
{
	size_t start = pc->wlen;
	size_t first = pc->len;
	cdns__tok_t t;
	int r;

	while ((r = cdns__next(pc, &t)) > 0) {
		size_t eq = 0;
		while (eq < t.n && t.s[eq] != '=')
			eq++;
		long key = cdns__svckey(t.s, eq);
		if (key == -2)
			return cdns__perr(pc, t.off, "key65535 is reserved");
		if (key < 0)
			return cdns__perr(pc, t.off, "unknown key '%s'", cdns__show(t.s, eq).s);
		if (first == pc->len)
			first = t.off;

		size_t ps = pc->wlen;
		r = cdns__emit16(pc, (uint16_t)key, t.off);
		if (r < 0 || (r = cdns__emit16(pc, 0, t.off)) < 0)
			return r;
		bool has_value = eq < t.n;
		r = cdns__p_svcvalue(pc, &t, (unsigned)key, t.s + eq + has_value,
		                     t.n - eq - has_value, has_value);
		if (r < 0)
			return r;
		size_t pe = pc->wlen;
		if (pe - ps - 4 > 0xffff)
			return cdns__perr(pc, t.off, "value longer than 65535 octets");
		cdns_put16(pc->out + ps + 2, (uint16_t)(pe - ps - 4));

		/* §2.2: sorted by key on the wire, whatever the text order. Find the place among
		 * the params already written and rotate the new one there. */
		size_t at = start;
		while (at < ps && cdns_get16(pc->out + at) < key)
			at += 4u + cdns_get16(pc->out + at + 2);
		if (at < ps && cdns_get16(pc->out + at) == key)
			return cdns__perr(pc, t.off, "duplicate key '%s'", cdns__show(t.s, eq).s);
		if (at < ps) {
			cdns__reverse(pc->out + at, ps - at);
			cdns__reverse(pc->out + ps, pe - ps);
			cdns__reverse(pc->out + at, pe - at);
		}
	}
	if (r < 0)
		return r;

	const char *why = "invalid SvcParams";
	unsigned bad = 0;
	if (cdns__svc_check(pc->out + start, pc->wlen - start, &why, &bad) < 0) {
		char k[16];
		cdns__wctx_t kw = {k, sizeof(k), 0, false, false};
		cdns__put_svckey(&kw, (uint16_t)bad);
		return cdns__perr(pc, first, "%s: '%s'", why, k);
	}
	return 0;
}

static int cdns__m_svcparams(const uint8_t *rd, size_t rdlen, size_t pos)
{
	const char *why;
	unsigned bad;

	if (cdns__svc_check(rd + pos, rdlen - pos, &why, &bad) < 0)
		return CDNS_EFORMAT;
	return (int)(rdlen - pos);
}

/* alpn-ids escaped twice: "," and "\" for the value list, then for the character-string. */
static void cdns__put_alpn(cdns__wctx_t *w, const uint8_t *v, size_t len)
{
	cdns__putc(w, '"');
	for (size_t j = 0; j < len; j += v[j] + 1u) {
		if (j > 0)
			cdns__putc(w, ',');
		for (size_t k = 0; k < v[j]; k++) {
			uint8_t c = v[j + 1 + k];
			if (c == ',')
				cdns__put(w, "\\\\,", 3);
			else if (c == '\\')
				cdns__put(w, "\\\\\\\\", 4);
			else
				cdns__put_strc(w, c);
		}
	}
	cdns__putc(w, '"');
}

static int cdns__w_svcparams(cdns__wctx_t *w, const uint8_t *rd, size_t pos, size_t flen)
{
	for (size_t i = pos; i < pos + flen;) {
		unsigned key = cdns_get16(rd + i), len = cdns_get16(rd + i + 2);
		const uint8_t *v = rd + i + 4;
		if (i > pos)
			cdns__putc(w, ' ');
		cdns__put_svckey(w, (uint16_t)key);
		i += 4 + len;
		if (len == 0)
			continue;
		cdns__putc(w, '=');
		switch (key) {
		case CDNS__SVC_MANDATORY:
			for (unsigned j = 0; j < len; j += 2) {
				if (j > 0)
					cdns__putc(w, ',');
				cdns__put_svckey(w, cdns_get16(v + j));
			}
			break;
		case CDNS__SVC_ALPN: cdns__put_alpn(w, v, len); break;
		case CDNS__SVC_PORT: cdns__putf(w, "%u", cdns_get16(v)); break;
		case CDNS__SVC_IPV4HINT:
		case CDNS__SVC_IPV6HINT: {
			unsigned sz = key == CDNS__SVC_IPV4HINT ? 4 : 16;
			for (unsigned j = 0; j < len; j += sz) {
				if (j > 0)
					cdns__putc(w, ',');
				cdns__put_ip(w, sz == 4 ? AF_INET : AF_INET6, v + j);
			}
			break;
		}
		case CDNS__SVC_ECH: cdns__put_enc(w, cdns_base64_encode, v, len); break;
		default: cdns__put_str(w, v, len); break;
		}
	}
	return 0;
}

/* --- LOC (RFC 1876 §2, §3) --- */

#define CDNS__LOC_EQUATOR 2147483648u /* 2^31: latitude 0, longitude 0 */
#define CDNS__LOC_ALT0    10000000u   /* altitude 0 is 100000 m above the base, in cm */

/* One of siz/hp/vp in centimetres as mantissa and power of ten: the largest exponent whose
 * mantissa is not 0 (the value is truncated to one significant digit). */
static uint8_t cdns__loc_prec(uint64_t cm)
{
	unsigned e = 0;

	while (cm >= 10 && e < 9) {
		cm /= 10;
		e++;
	}
	return (uint8_t)(cm << 4 | e);
}

static bool cdns__loc_prec_ok(uint8_t v)
{
	return (v >> 4) <= 9 && (v & 15) <= 9;
}

/* "d [m [s.sss]] H" for a latitude (max 90, hemispheres N/S) or longitude (180, E/W). */
static int cdns__p_loc_angle(cdns__pctx_t *pc, unsigned maxdeg, char pos, char neg, uint32_t *out)
{
	cdns__tok_t t;
	uint64_t part[3] = {0, 0, 0};
	int r;

	for (unsigned i = 0;; i++) {
		r = cdns__need(pc, &t);
		if (r < 0)
			return r;
		if (i > 0 && t.n == 1 &&
		    (t.s[0] == pos || t.s[0] == neg || t.s[0] == pos + 32 || t.s[0] == neg + 32))
			break;
		if (i == 3)
			return cdns__perr(pc, t.off, "expected %c or %c, got '%s'", pos, neg,
			                  CDNS__SHOW(t));
		if (i < 2)
			r = cdns__uint(t.s, t.n, i == 0 ? maxdeg : 59, &part[i]);
		else
			r = cdns__fixed(t.s, t.n, 3, 59999, &part[i]);
		if (r < 0)
			return cdns__perr(pc, t.off, "invalid %s '%s'",
			                  i == 0   ? "degrees"
			                  : i == 1 ? "minutes"
			                           : "seconds",
			                  CDNS__SHOW(t));
	}
	uint64_t ms = (part[0] * 3600 + part[1] * 60) * 1000 + part[2];
	if (ms > (uint64_t)maxdeg * 3600000)
		return cdns__perr(pc, t.off, "more than %u degrees", maxdeg);
	bool negative = t.s[0] == neg || t.s[0] == neg + 32;
	*out = negative ? CDNS__LOC_EQUATOR - (uint32_t)ms : CDNS__LOC_EQUATOR + (uint32_t)ms;
	return 0;
}

/* Metres with at most two decimals and an optional "m", into centimetres. */
static int cdns__p_loc_metres(cdns__pctx_t *pc, const cdns__tok_t *t, bool sign, uint64_t max,
                              int64_t *cm)
{
	const char *s = t->s;
	size_t n = t->n;
	bool minus = false;
	uint64_t v;

	if (n > 0 && (s[n - 1] == 'm' || s[n - 1] == 'M'))
		n--;
	if (sign && n > 0 && s[0] == '-') {
		minus = true;
		s++;
		n--;
	}
	int r = cdns__fixed(s, n, 2, max, &v);
	if (r == -1)
		return cdns__perr(pc, t->off, "invalid distance '%s'", CDNS__SHOW(*t));
	if (r == -2)
		return cdns__perr(pc, t->off, "'%s' out of range", CDNS__SHOW(*t));
	*cm = minus ? -(int64_t)v : (int64_t)v;
	return 0;
}

static int cdns__p_loc(cdns__pctx_t *pc)
{
	uint8_t b[16];
	uint32_t lat, lon;
	cdns__tok_t t;
	int64_t cm;
	int r;

	if ((r = cdns__p_loc_angle(pc, 90, 'N', 'S', &lat)) < 0 ||
	    (r = cdns__p_loc_angle(pc, 180, 'E', 'W', &lon)) < 0)
		return r;
	/* Altitude: -100000.00 m up to what 32 bits of centimetres above that can hold. */
	if ((r = cdns__need(pc, &t)) < 0)
		return r;
	if ((r = cdns__p_loc_metres(pc, &t, true, 0xffffffffULL, &cm)) < 0)
		return r;
	if (cm < -(int64_t)CDNS__LOC_ALT0 || cm + CDNS__LOC_ALT0 > 0xffffffffLL)
		return cdns__perr(pc, t.off, "altitude '%s' out of range", CDNS__SHOW(t));
	/* Defaults of §3: size 1 m, horizontal precision 10000 m, vertical 10 m. */
	uint8_t prec[3] = {0x12, 0x16, 0x13};
	for (unsigned i = 0; i < 3 && (r = cdns__next(pc, &t)) > 0; i++) {
		int64_t v;
		r = cdns__p_loc_metres(pc, &t, false, 9000000000ULL, &v);
		if (r < 0)
			return r;
		prec[i] = cdns__loc_prec((uint64_t)v);
	}
	if (r < 0)
		return r;
	b[0] = 0; /* version */
	memcpy(b + 1, prec, 3);
	cdns_put32(b + 4, lat);
	cdns_put32(b + 8, lon);
	cdns_put32(b + 12, (uint32_t)(cm + CDNS__LOC_ALT0));
	return cdns__emit(pc, b, 16, pc->pos);
}

/* Version 0 is exactly 16 octets with sane fields; other versions have no text form. */
static int cdns__m_loc(const uint8_t *rd, size_t rdlen, size_t pos)
{
	size_t n = rdlen - pos;

	if (n == 0)
		return CDNS_EFORMAT;
	if (rd[pos] != 0)
		return (int)n;
	if (n != 16 || !cdns__loc_prec_ok(rd[pos + 1]) || !cdns__loc_prec_ok(rd[pos + 2]) ||
	    !cdns__loc_prec_ok(rd[pos + 3]))
		return CDNS_EFORMAT;
	uint32_t lat = cdns_get32(rd + pos + 4), lon = cdns_get32(rd + pos + 8);
	uint32_t dlat = lat > CDNS__LOC_EQUATOR ? lat - CDNS__LOC_EQUATOR : CDNS__LOC_EQUATOR - lat;
	uint32_t dlon = lon > CDNS__LOC_EQUATOR ? lon - CDNS__LOC_EQUATOR : CDNS__LOC_EQUATOR - lon;
	if (dlat > 90u * 3600000 || dlon > 180u * 3600000)
		return CDNS_EFORMAT;
	return 16;
}

static void cdns__put_loc_angle(cdns__wctx_t *w, uint32_t v, char pos, char neg)
{
	uint32_t d = v >= CDNS__LOC_EQUATOR ? v - CDNS__LOC_EQUATOR : CDNS__LOC_EQUATOR - v;

	cdns__putf(w, "%u %u %u.%03u %c", (unsigned)(d / 3600000), (unsigned)(d / 60000 % 60),
	           (unsigned)(d / 1000 % 60), (unsigned)(d % 1000),
	           v >= CDNS__LOC_EQUATOR ? pos : neg);
}

static void cdns__put_loc_cm(cdns__wctx_t *w, uint64_t cm)
{
	if (cm % 100 == 0)
		cdns__putf(w, "%llum", (unsigned long long)(cm / 100));
	else
		cdns__putf(w, "%llu.%02llum", (unsigned long long)(cm / 100),
		           (unsigned long long)(cm % 100));
}

static int cdns__w_loc(cdns__wctx_t *w, const uint8_t *rd, size_t pos, size_t flen)
{
	const uint8_t *p = rd + pos;

	if (p[0] != 0)
		return 1;
	/* 0 x 10^e with e > 0 means 0 but would come back as 0x00: keep those octets. */
	for (unsigned i = 1; i <= 3; i++)
		if ((p[i] >> 4) == 0 && (p[i] & 15) != 0)
			return 1;
	cdns__put_loc_angle(w, cdns_get32(p + 4), 'N', 'S');
	cdns__putc(w, ' ');
	cdns__put_loc_angle(w, cdns_get32(p + 8), 'E', 'W');
	int64_t alt = (int64_t)cdns_get32(p + 12) - CDNS__LOC_ALT0;
	uint64_t a = (uint64_t)(alt < 0 ? -alt : alt);
	cdns__putf(w, " %s%llu.%02llum", alt < 0 ? "-" : "", (unsigned long long)(a / 100),
	           (unsigned long long)(a % 100));
	for (unsigned i = 1; i <= 3; i++) {
		uint64_t cm = p[i] >> 4;
		for (unsigned e = 0; e < (p[i] & 15u); e++)
			cm *= 10;
		cdns__putc(w, ' ');
		cdns__put_loc_cm(w, cm);
	}
	return 0;
}

/* --- IPSECKEY gateway (RFC 4025 §2.5, §3.1): the gateway type is the second octet --- */

static int cdns__p_gateway(cdns__pctx_t *pc)
{
	cdns__tok_t t;
	int r = cdns__need(pc, &t);

	if (r < 0)
		return r;
	switch (pc->out[1]) {
	case 0:
		if (t.n != 1 || t.s[0] != '.')
			return cdns__perr(pc, t.off, "gateway type 0 needs '.', got '%s'",
			                  CDNS__SHOW(t));
		return 0;
	case 1:
	case 2: {
		uint8_t a[16];
		int af = pc->out[1] == 1 ? AF_INET : AF_INET6;
		if (!cdns__ip(af, t.s, t.n, a))
			return cdns__perr(pc, t.off, "invalid %s address '%s'",
			                  af == AF_INET ? "IPv4" : "IPv6", CDNS__SHOW(t));
		return cdns__emit(pc, a, af == AF_INET ? 4 : 16, t.off);
	}
	case 3: return cdns__parse_name_tok(pc, &t);
	default: return cdns__perr(pc, t.off, "unknown gateway type %u", pc->out[1]);
	}
}

static int cdns__m_gateway(const uint8_t *rd, size_t rdlen, size_t pos)
{
	switch (rd[1]) {
	case 0: return 0;
	case 1: return cdns__m_4(rd, rdlen, pos);
	case 2: return cdns__m_16(rd, rdlen, pos);
	case 3: return cdns__m_name(rd, rdlen, pos);
	default: return CDNS_EFORMAT;
	}
}

static int cdns__w_gateway(cdns__wctx_t *w, const uint8_t *rd, size_t pos, size_t flen)
{
	switch (rd[1]) {
	case 0: cdns__putc(w, '.'); break;
	case 1: cdns__put_ip(w, AF_INET, rd + pos); break;
	case 2: cdns__put_ip(w, AF_INET6, rd + pos); break;
	default: cdns__put_name(w, rd + pos); break;
	}
	return 0;
}

/* --- A6 (RFC 2874 §3.1): prefix length, the address bits after it, then the prefix name --- */

static size_t cdns__a6_suffix_len(uint8_t plen)
{
	return (128u - plen + 7) / 8;
}

static int cdns__p_a6suffix(cdns__pctx_t *pc)
{
	uint8_t plen = pc->out[0];
	cdns__tok_t t;
	uint8_t a[16];
	int r;

	if (plen > 128)
		return cdns__perr(pc, pc->last, "prefix length %u above 128", plen);
	if (plen == 128)
		return 0;
	if ((r = cdns__need(pc, &t)) < 0)
		return r;
	if (!cdns__ip(AF_INET6, t.s, t.n, a))
		return cdns__perr(pc, t.off, "invalid IPv6 address '%s'", CDNS__SHOW(t));
	/* The bits that belong to the prefix must be zero. */
	for (unsigned b = 0; b < plen; b++)
		if (a[b / 8] & (0x80 >> (b % 8)))
			return cdns__perr(pc, t.off, "'%s' has bits set in the first %u",
			                  CDNS__SHOW(t), plen);
	size_t n = cdns__a6_suffix_len(plen);
	return cdns__emit(pc, a + 16 - n, n, t.off);
}

static int cdns__m_a6suffix(const uint8_t *rd, size_t rdlen, size_t pos)
{
	uint8_t plen = rd[0];

	if (plen > 128)
		return CDNS_EFORMAT;
	size_t n = cdns__a6_suffix_len(plen);
	if (n > rdlen - pos)
		return CDNS_EFORMAT;
	if (n > 0 && plen % 8 != 0 && (rd[pos] >> (8 - plen % 8)) != 0)
		return CDNS_EFORMAT; /* pad bits must be zero */
	return (int)n;
}

static int cdns__w_a6suffix(cdns__wctx_t *w, const uint8_t *rd, size_t pos, size_t flen)
{
	uint8_t a[16];

	if (flen == 0)
		return 0;
	memset(a, 0, sizeof(a));
	memcpy(a + 16 - flen, rd + pos, flen);
	cdns__put_ip(w, AF_INET6, a);
	return 0;
}

static int cdns__p_a6prefix(cdns__pctx_t *pc)
{
	return pc->out[0] == 0 ? 0 : cdns__p_name(pc);
}

static int cdns__m_a6prefix(const uint8_t *rd, size_t rdlen, size_t pos)
{
	return rd[0] == 0 ? 0 : cdns__m_name(rd, rdlen, pos);
}

static int cdns__w_a6prefix(cdns__wctx_t *w, const uint8_t *rd, size_t pos, size_t flen)
{
	if (flen > 0)
		cdns__put_name(w, rd + pos);
	return 0;
}

/* --- OPT: EDNS options are only checked (RFC 6891 §6.1.2); text is generic only --- */

static int cdns__p_options(cdns__pctx_t *pc)
{
	return cdns__perr(pc, pc->pos, "no text form: use the generic form '\\# len hex'");
}

static int cdns__m_options(const uint8_t *rd, size_t rdlen, size_t pos)
{
	size_t p = pos;

	while (p < rdlen) {
		if (rdlen - p < 4 || cdns_get16(rd + p + 2) > rdlen - p - 4)
			return CDNS_EFORMAT;
		p += 4u + cdns_get16(rd + p + 2);
	}
	return (int)(p - pos);
}

static int cdns__w_none(cdns__wctx_t *w, const uint8_t *rd, size_t pos, size_t flen)
{
	return 1;
}

/* ---------------------------------------------------------------------------------------- */

static const cdns__kind_t cdns__kinds[CDNS__K_COUNT] = {
    [CDNS__K_NAME] = {cdns__p_name, cdns__m_name, cdns__w_name, 0, NULL},
    [CDNS__K_U8] = {cdns__p_U8, cdns__m_1, cdns__w_u8, 1, NULL},
    [CDNS__K_U16] = {cdns__p_U16, cdns__m_2, cdns__w_u16, 2, NULL},
    [CDNS__K_U32] = {cdns__p_U32, cdns__m_4, cdns__w_u32, 4, NULL},
    [CDNS__K_TTL] = {cdns__p_ttl, cdns__m_4, cdns__w_u32, 4, NULL},
    [CDNS__K_ALG] = {cdns__p_ALG, cdns__m_1, cdns__w_u8, 1, cdns__algs},
    [CDNS__K_CERTTYPE] = {cdns__p_CERTTYPE, cdns__m_2, cdns__w_u16, 2, cdns__certtypes},
    [CDNS__K_RCODE] = {cdns__p_RCODE, cdns__m_2, cdns__w_rcode, 2, cdns__rcodes},
    [CDNS__K_TYPE] = {cdns__p_type, cdns__m_2, cdns__w_type, 0, NULL},
    [CDNS__K_TIME] = {cdns__p_time, cdns__m_4, cdns__w_time, 0, NULL},
    [CDNS__K_TIME48] = {cdns__p_time48, cdns__m_6, cdns__w_time48, 0, NULL},
    [CDNS__K_A] = {cdns__p_a, cdns__m_4, cdns__w_a, 0, NULL},
    [CDNS__K_AAAA] = {cdns__p_aaaa, cdns__m_16, cdns__w_aaaa, 0, NULL},
    [CDNS__K_EUI48] = {cdns__p_eui48, cdns__m_6, cdns__w_eui, 0, NULL},
    [CDNS__K_EUI64] = {cdns__p_eui64, cdns__m_8, cdns__w_eui, 0, NULL},
    [CDNS__K_STR] = {cdns__p_str, cdns__m_str, cdns__w_str, 0, NULL},
    [CDNS__K_STRS] = {cdns__p_strs, cdns__m_strs, cdns__w_strs, 0, NULL},
    [CDNS__K_RAWSTR] = {cdns__p_rawstr, cdns__m_rest, cdns__w_rawstr, 0, NULL},
    [CDNS__K_CAATAG] = {cdns__p_caatag, cdns__m_caatag, cdns__w_caatag, 0, NULL},
    [CDNS__K_B64] = {cdns__p_b64, cdns__m_rest, cdns__w_b64, 0, NULL},
    [CDNS__K_B64_OPT] = {cdns__p_b64opt, cdns__m_rest, cdns__w_b64opt, 0, NULL},
    [CDNS__K_HEX] = {cdns__p_hex, cdns__m_rest, cdns__w_hex, 0, NULL},
    [CDNS__K_SALT] = {cdns__p_salt, cdns__m_str, cdns__w_salt, 0, NULL},
    [CDNS__K_B32] = {cdns__p_b32, cdns__m_b32, cdns__w_b32, 0, NULL},
    [CDNS__K_B64_U16] = {cdns__p_b64u16, cdns__m_b64u16, cdns__w_b64u16, 0, NULL},
    [CDNS__K_BITMAP] = {cdns__p_bitmap, cdns__m_bitmap, cdns__w_bitmap, 0, NULL},
    [CDNS__K_NXTBITMAP] = {cdns__p_nxtbitmap, cdns__m_nxtbitmap, cdns__w_nxtbitmap, 0, NULL},
    [CDNS__K_SVCPARAMS] = {cdns__p_svcparams, cdns__m_svcparams, cdns__w_svcparams, 0, NULL},
    [CDNS__K_LOC] = {cdns__p_loc, cdns__m_loc, cdns__w_loc, 0, NULL},
    [CDNS__K_GATEWAY] = {cdns__p_gateway, cdns__m_gateway, cdns__w_gateway, 0, NULL},
    [CDNS__K_A6SUFFIX] = {cdns__p_a6suffix, cdns__m_a6suffix, cdns__w_a6suffix, 0, NULL},
    [CDNS__K_A6PREFIX] = {cdns__p_a6prefix, cdns__m_a6prefix, cdns__w_a6prefix, 0, NULL},
    [CDNS__K_OPTIONS] = {cdns__p_options, cdns__m_options, cdns__w_none, 0, NULL},
};

/* ---------------------------------------------------------------------------------------- */
/* The operations                                                                             */

/* Measure every field; 0 if they cover the RDATA exactly. */
static int cdns__check(const cdns__layout_t *l, const uint8_t *rd, size_t rdlen)
{
	size_t pos = 0;

	for (unsigned i = 0; i < CDNS__MAXFIELDS && l->f[i].kind != CDNS__K_END; i++) {
		int n = cdns__kinds[l->f[i].kind].measure(rd, rdlen, pos);
		if (n < 0)
			return CDNS_EFORMAT;
		pos += (size_t)n;
	}
	return pos == rdlen ? 0 : CDNS_EFORMAT;
}

/* RFC 3597 §5: "\# <length> <hex>...". */
static int cdns__parse_generic(cdns__pctx_t *pc, const cdns__layout_t *l)
{
	cdns__tok_t t;
	uint64_t len;
	int r;

	pc->fname = "generic RDATA";
	if ((r = cdns__need(pc, &t)) < 0)
		return r;
	r = cdns__uint(t.s, t.n, CDNS_RDATA_MAXLEN, &len);
	if (r == -1)
		return cdns__perr(pc, t.off, "length '%s' is not a number", CDNS__SHOW(t));
	if (r == -2)
		return cdns__perr(pc, t.off, "length '%s' out of range", CDNS__SHOW(t));
	size_t lenoff = t.off;
	if ((r = cdns__parse_stream(pc, false, false)) < 0)
		return r;
	if (pc->wlen != len)
		return cdns__perr(pc, lenoff, "length %u but %zu octets of hex", (unsigned)len,
		                  pc->wlen);
	/* Known types must still be well-formed. */
	if (l != NULL && cdns__check(l, pc->out, pc->wlen) < 0)
		return cdns__perr(pc, lenoff, "RDATA is not valid for the type");
	return (int)pc->wlen;
}

/* libclouddns is compiled with -fvisibility=hidden: what follows is public API. */
#pragma GCC visibility push(default)

int cdns_rdata_from_text(uint16_t type, const char *text, size_t len, const uint8_t *origin,
                         uint8_t *out, size_t cap, cdns_text_err_t *err)
{
	cdns__pctx_t pc = {
	    .text = text,
	    .len = text != NULL ? len : 0,
	    .origin = origin,
	    .out = out,
	    .cap = out != NULL ? cap : 0,
	    .err = err,
	    .type = type,
	};
	const cdns__layout_t *l = cdns__layout(type);
	cdns__tok_t t;
	int r;

	if (err != NULL) {
		err->offset = 0;
		err->msg[0] = '\0';
	}
	/* A generic form starts with the token "\#" (RFC 3597 §5). */
	if (l != NULL)
		pc.fname = l->f[0].name;
	size_t save = pc.pos;
	r = cdns__next(&pc, &t);
	if (r < 0)
		return r;
	if (r > 0 && t.n == 2 && t.s[0] == '\\' && t.s[1] == '#')
		return cdns__parse_generic(&pc, l);
	pc.pos = save;

	if (l == NULL)
		return cdns__perr(&pc, 0, "unknown type: use the generic form '\\# len hex'");
	for (unsigned i = 0; i < CDNS__MAXFIELDS && l->f[i].kind != CDNS__K_END; i++) {
		pc.fname = l->f[i].name;
		r = cdns__kinds[l->f[i].kind].parse(&pc);
		if (r < 0)
			return r;
	}
	pc.fname = NULL;
	if (cdns__more(&pc)) {
		r = cdns__next(&pc, &t);
		if (r < 0)
			return r;
		return cdns__perr(&pc, t.off, "unexpected '%s' after the last field",
		                  CDNS__SHOW(t));
	}
	return (int)pc.wlen;
}

static void cdns__put_generic(cdns__wctx_t *w, const uint8_t *rd, size_t rdlen)
{
	cdns__putf(w, "\\# %zu", rdlen);
	if (rdlen > 0) {
		cdns__putc(w, ' ');
		cdns__put_enc(w, cdns_hex_encode, rd, rdlen);
	}
}

int cdns_rdata_to_text(uint16_t type, const uint8_t *rdata, size_t rdlen, char *out, size_t outlen)
{
	cdns__wctx_t w = {out, outlen, 0, false, false};
	const cdns__layout_t *l = cdns__layout(type);

	if (outlen == 0)
		return CDNS_ESPACE;
	out[0] = '\0';
	if (l != NULL && rdlen <= CDNS_RDATA_MAXLEN && cdns__check(l, rdata, rdlen) == 0) {
		size_t pos = 0;
		bool generic = false;
		for (unsigned i = 0; i < CDNS__MAXFIELDS && l->f[i].kind != CDNS__K_END; i++) {
			const cdns__kind_t *k = &cdns__kinds[l->f[i].kind];
			size_t flen = (size_t)k->measure(rdata, rdlen, pos);
			/* A field that prints nothing (an absent optional part) takes no blank. */
			w.sep = i > 0;
			if (k->print(&w, rdata, pos, flen) != 0) {
				generic = true;
				break;
			}
			pos += flen;
		}
		if (!generic)
			return w.full ? CDNS_ESPACE : (int)w.len;
		w.len = 0;
		w.full = false;
		w.sep = false;
		out[0] = '\0';
	}
	cdns__put_generic(&w, rdata, rdlen);
	return w.full ? CDNS_ESPACE : (int)w.len;
}

int cdns_rdata_check(uint16_t type, const uint8_t *rdata, size_t rdlen)
{
	const cdns__layout_t *l = cdns__layout(type);

	if (rdlen > CDNS_RDATA_MAXLEN)
		return CDNS_EFORMAT;
	if (l == NULL)
		return 0;
	if (rdata == NULL && rdlen > 0)
		return CDNS_EFORMAT;
	return cdns__check(l, rdata, rdlen);
}

void cdns_rdata_canonicalize(uint16_t type, uint8_t *rdata, size_t rdlen)
{
	const cdns__layout_t *l = cdns__layout(type);
	size_t pos = 0;

	/* RFC 4034 §6.2 item 3, without NSEC (RFC 6840 §5.1). Malformed RDATA is left alone. */
	if (l == NULL || !(l->flags & CDNS__CANON) || rdlen > CDNS_RDATA_MAXLEN ||
	    cdns__check(l, rdata, rdlen) < 0)
		return;
	for (unsigned i = 0; i < CDNS__MAXFIELDS && l->f[i].kind != CDNS__K_END; i++) {
		uint8_t kind = l->f[i].kind;
		int n = cdns__kinds[kind].measure(rdata, rdlen, pos);
		if ((kind == CDNS__K_NAME || kind == CDNS__K_A6PREFIX) && n > 0)
			cdns_name_lower(rdata + pos);
		pos += (size_t)n;
	}
}

#pragma GCC visibility pop
