/* Domain names: wire form validation and decompression (RFC 1035 §3.1, §4.1.4, RFC 9267),
 * case-insensitive comparison (RFC 4343), canonical order (RFC 4034 §6.1) and the
 * presentation form (RFC 1035 §5.1). Nothing here allocates. */
#include <string.h>

#include <clouddns/error.h>
#include <clouddns/name.h>
#include <clouddns/wire.h>

/* libclouddns is compiled with -fvisibility=hidden: what follows is public API. */
#pragma GCC visibility push(default)

/* Most pointers a name may follow. A useful pointer leads to at least one label or to the
 * root, so a valid name never needs more than one per label plus one; longer chains of
 * pointers to pointers only cost the parser time (RFC 9267 §2). */
#define CDNS__MAX_HOPS (CDNS_NAME_MAXLABELS + 1)

static inline uint8_t cdns__lower(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') ? (uint8_t)(c + ('a' - 'A')) : c;
}

int cdns_name_unpack(const uint8_t *msg, size_t msglen, size_t *pos, uint8_t *out)
{
	size_t p = *pos;
	/* RFC 9267 §2 and RFC 1035 §4.1.4 ("a prior occurrence"): a pointer must point strictly
	 * before the start of the run of labels that holds it, and the labels it leads to must
	 * end before that run began. Targets then strictly decrease, so no loop is possible. */
	size_t seg_start = p;
	size_t bound = msglen; /* bytes of the current run must lie below this */
	size_t after = 0;      /* where the name ends as stored at *pos, once a pointer was taken */
	size_t olen = 0;
	unsigned hops = 0;

	for (;;) {
		if (p >= bound)
			return hops == 0 ? CDNS_ETRUNC : CDNS_EPTR;
		uint8_t l = msg[p];
		if (l == 0) {
			if (out != NULL)
				out[olen] = 0;
			olen++;
			p++;
			break;
		}
		switch (l & 0xc0) {
		case 0x00: break;
		case 0xc0: {
			if (p + 1 >= bound)
				return hops == 0 ? CDNS_ETRUNC : CDNS_EPTR;
			size_t target = ((size_t)(l & 0x3f) << 8) | msg[p + 1];
			/* Forward, self and loop pointers all fail this test; the header is no
			 * place for a name either. */
			if (target >= seg_start || target < CDNS_HDR_LEN || ++hops > CDNS__MAX_HOPS)
				return CDNS_EPTR;
			if (after == 0)
				after = p + 2;
			bound = seg_start;
			seg_start = target;
			p = target;
			continue;
		}
		default:
			/* 01 (RFC 6891 §5: extended labels are deprecated) and 10 (reserved). */
			return CDNS_EFORMAT;
		}
		/* RFC 1035 §2.3.4: the label plus the root label that must still follow. */
		if (olen + 1 + l + 1 > CDNS_NAME_MAXLEN)
			return CDNS_ENAMELEN;
		if (p + 1 + l > bound)
			return hops == 0 ? CDNS_ETRUNC : CDNS_EPTR;
		if (out != NULL)
			memcpy(out + olen, msg + p, (size_t)l + 1);
		olen += (size_t)l + 1;
		p += (size_t)l + 1;
	}
	*pos = after != 0 ? after : p;
	return (int)olen;
}

int cdns_name_check(const uint8_t *name, size_t buflen)
{
	size_t p = 0;

	for (;;) {
		if (p >= buflen)
			return CDNS_ETRUNC;
		uint8_t l = name[p];
		if (l == 0)
			break;
		/* Uncompressed: no pointers, no extended label types. */
		if (l > CDNS_LABEL_MAXLEN)
			return CDNS_EFORMAT;
		if (p + 1 + l + 1 > CDNS_NAME_MAXLEN)
			return CDNS_ENAMELEN;
		p += (size_t)l + 1;
	}
	return (int)(p + 1);
}

size_t cdns_name_len(const uint8_t *name)
{
	const uint8_t *p = name;

	while (*p != 0)
		p += *p + 1;
	return (size_t)(p - name) + 1;
}

unsigned cdns_name_labels(const uint8_t *name)
{
	unsigned n = 0;

	while (*name != 0) {
		name += *name + 1;
		n++;
	}
	return n;
}

size_t cdns_name_copy_lower(uint8_t *out, const uint8_t *name)
{
	size_t i = 0;

	for (;;) {
		uint8_t l = name[i];
		out[i++] = l;
		if (l == 0)
			return i;
		for (size_t end = i + l; i < end; i++)
			out[i] = cdns__lower(name[i]);
	}
}

void cdns_name_lower(uint8_t *name)
{
	cdns_name_copy_lower(name, name);
}

bool cdns_name_equal(const uint8_t *a, const uint8_t *b)
{
	size_t i = 0;

	for (;;) {
		uint8_t l = a[i];
		if (l != b[i])
			return false;
		i++;
		if (l == 0)
			return true;
		/* Length bytes are never letters, so lower-casing them is harmless. */
		for (size_t end = i + l; i < end; i++)
			if (cdns__lower(a[i]) != cdns__lower(b[i]))
				return false;
	}
}

/* Offsets of each label of a trusted name; returns the label count. */
static unsigned cdns__label_offsets(const uint8_t *name, uint8_t *off)
{
	unsigned n = 0;
	size_t p = 0;

	while (name[p] != 0 && n < CDNS_NAME_MAXLABELS) {
		off[n++] = (uint8_t)p;
		p += (size_t)name[p] + 1;
	}
	return n;
}

int cdns_name_cmp(const uint8_t *a, const uint8_t *b)
{
	uint8_t ao[CDNS_NAME_MAXLABELS], bo[CDNS_NAME_MAXLABELS];
	unsigned an = cdns__label_offsets(a, ao);
	unsigned bn = cdns__label_offsets(b, bo);

	/* RFC 4034 §6.1: compare label by label from the most significant (rightmost) one; each
	 * label as a lower-cased octet string, where a shorter prefix sorts first; a name that
	 * runs out of labels first sorts first. */
	while (an > 0 && bn > 0) {
		const uint8_t *la = a + ao[--an];
		const uint8_t *lb = b + bo[--bn];
		unsigned n = la[0] < lb[0] ? la[0] : lb[0];
		for (unsigned i = 1; i <= n; i++) {
			uint8_t ca = cdns__lower(la[i]), cb = cdns__lower(lb[i]);
			if (ca != cb)
				return ca < cb ? -1 : 1;
		}
		if (la[0] != lb[0])
			return la[0] < lb[0] ? -1 : 1;
	}
	if (an == bn)
		return 0;
	return an < bn ? -1 : 1;
}

bool cdns_name_in(const uint8_t *name, const uint8_t *parent)
{
	unsigned nl = cdns_name_labels(name);
	unsigned pl = cdns_name_labels(parent);

	if (nl < pl)
		return false;
	return cdns_name_equal(cdns_name_skip(name, nl - pl), parent);
}

const uint8_t *cdns_name_skip(const uint8_t *name, unsigned n)
{
	while (n-- > 0 && *name != 0)
		name += *name + 1;
	return name;
}

uint32_t cdns_name_hash(const uint8_t *name)
{
	/* FNV-1a, 32 bits, over every wire byte including the root label. */
	uint32_t h = 2166136261u;
	size_t len = cdns_name_len(name);

	for (size_t i = 0; i < len; i++) {
		h ^= name[i];
		h *= 16777619u;
	}
	return h;
}

static inline bool cdns__isdigit(char c)
{
	return c >= '0' && c <= '9';
}

int cdns_name_from_text(const char *text, size_t len, const uint8_t *origin, uint8_t *out)
{
	size_t o = 0;  /* next free byte of out */
	size_t lp = 0; /* length byte of the label being built */
	size_t i = 0;
	bool absolute = false;

	if (text == NULL || out == NULL)
		return CDNS_EINVAL;
	if (len == 0)
		return CDNS_ESYNTAX;
	if (len == 1 && text[0] == '.') {
		out[0] = 0;
		return 1;
	}

	out[o++] = 0;
	while (i < len) {
		uint8_t c = (uint8_t)text[i++];

		if (c == '.') {
			/* An empty label is only allowed as the root, handled above. */
			if (o == lp + 1)
				return CDNS_ESYNTAX;
			if (i == len) {
				absolute = true;
				break;
			}
			lp = o;
			/* Room for the next label's length and one octet, and the root after. */
			if (o + 1 + 1 + 1 > CDNS_NAME_MAXLEN)
				return CDNS_ENAMELEN;
			out[o++] = 0;
			continue;
		}
		if (c == '\\') {
			if (i == len)
				return CDNS_ESYNTAX;
			if (cdns__isdigit(text[i])) {
				/* RFC 1035 §5.1: \DDD is exactly three decimal digits. */
				if (i + 3 > len || !cdns__isdigit(text[i + 1]) ||
				    !cdns__isdigit(text[i + 2]))
					return CDNS_ESYNTAX;
				unsigned v = (unsigned)(text[i] - '0') * 100 +
				             (unsigned)(text[i + 1] - '0') * 10 +
				             (unsigned)(text[i + 2] - '0');
				if (v > 255)
					return CDNS_ESYNTAX;
				c = (uint8_t)v;
				i += 3;
			} else {
				c = (uint8_t)text[i++];
			}
		} else if (c <= ' ' || c == 0x7f) {
			/* Blanks and control characters must be escaped. */
			return CDNS_ESYNTAX;
		}
		if (o - lp > CDNS_LABEL_MAXLEN)
			return CDNS_ELABEL;
		/* This octet plus the root label still to come. */
		if (o + 1 + 1 > CDNS_NAME_MAXLEN)
			return CDNS_ENAMELEN;
		out[o++] = c;
		out[lp] = (uint8_t)(o - lp - 1);
	}

	if (absolute) {
		out[o++] = 0;
		return (int)o;
	}
	if (origin == NULL)
		return CDNS_EINVAL;
	size_t olen = cdns_name_len(origin);
	if (o + olen > CDNS_NAME_MAXLEN)
		return CDNS_ENAMELEN;
	memcpy(out + o, origin, olen);
	return (int)(o + olen);
}

/* RFC 1035 §5.1: characters with a meaning in master files are escaped as "\c". */
static inline bool cdns__special(uint8_t c)
{
	switch (c) {
	case '.':
	case '\\':
	case '"':
	case '(':
	case ')':
	case ';':
	case '@':
	case '$':
	case ' ': return true;
	default: return false;
	}
}

int cdns_name_to_text(const uint8_t *name, char *out, size_t outlen)
{
	size_t o = 0;
	size_t p = 0;

	if (name[0] == 0) {
		if (outlen < 2)
			return CDNS_ESPACE;
		out[0] = '.';
		out[1] = '\0';
		return 1;
	}
	while (name[p] != 0) {
		uint8_t l = name[p++];
		for (size_t end = p + l; p < end; p++) {
			uint8_t c = name[p];
			bool special = cdns__special(c);
			bool printable = c > ' ' && c < 0x7f;
			size_t need = special ? 2 : printable ? 1 : 4;
			/* Keep room for the dot that ends the label and for the NUL. */
			if (o + need + 2 > outlen)
				return CDNS_ESPACE;
			if (special) {
				out[o++] = '\\';
				out[o++] = (char)c;
			} else if (printable) {
				out[o++] = (char)c;
			} else {
				out[o++] = '\\';
				out[o++] = (char)('0' + c / 100);
				out[o++] = (char)('0' + c / 10 % 10);
				out[o++] = (char)('0' + c % 10);
			}
		}
		out[o++] = '.';
	}
	out[o] = '\0';
	return (int)o;
}

#pragma GCC visibility pop
