/* Configuration support shared by the server and plugins: the diagnostics collector, option
 * tables (cdns_conf_apply) and the value parsers behind them. Nothing here reads files; the
 * server builds the cdns_conf_t tree (server/config.c). */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <clouddns/conf.h>
#include <clouddns/error.h>

/* libclouddns is compiled with -fvisibility=hidden: what follows is public API. */
#pragma GCC visibility push(default)

/* --- Diagnostics --- */

struct cdns_diag {
	char **msgs;
	unsigned n, cap;
	unsigned lost; /* reports dropped because memory ran out */
};

cdns_diag_t *cdns_diag_new(void)
{
	return calloc(1, sizeof(cdns_diag_t));
}

void cdns_diag_clear(cdns_diag_t *d)
{
	if (d == NULL)
		return;
	for (unsigned i = 0; i < d->n; i++)
		free(d->msgs[i]);
	d->n = 0;
	d->lost = 0;
}

void cdns_diag_free(cdns_diag_t *d)
{
	if (d == NULL)
		return;
	cdns_diag_clear(d);
	free(d->msgs);
	free(d);
}

unsigned cdns_diag_count(const cdns_diag_t *d)
{
	return d == NULL ? 0 : d->n + d->lost;
}

const char *cdns_diag_message(const cdns_diag_t *d, unsigned i)
{
	if (d == NULL || i >= d->n + d->lost)
		return NULL;
	/* Lost reports are counted after the stored ones: their text is gone. */
	if (i >= d->n)
		return "(message lost: out of memory)";
	return d->msgs[i];
}

void cdns_diag_print(const cdns_diag_t *d, FILE *f)
{
	if (d == NULL)
		return;
	for (unsigned i = 0; i < d->n; i++)
		fprintf(f, "%s\n", d->msgs[i]);
	if (d->lost > 0)
		fprintf(f, "%u more error(s) not shown: out of memory\n", d->lost);
}

static void cdns__diag_store(cdns_diag_t *d, const char *line)
{
	if (d->n == d->cap) {
		unsigned cap = d->cap == 0 ? 16 : d->cap * 2;
		char **msgs = cap > d->cap ? realloc(d->msgs, cap * sizeof(*msgs)) : NULL;
		if (msgs == NULL) {
			d->lost++;
			return;
		}
		d->msgs = msgs;
		d->cap = cap;
	}
	char *copy = strdup(line);
	if (copy == NULL) {
		d->lost++;
		return;
	}
	d->msgs[d->n++] = copy;
}

/* Format "file:line:col: message" into one line of at most CDNS_DIAG_MAX bytes. */
static void cdns__diag_vreport(cdns_diag_t *d, const char *file, unsigned line, unsigned col,
                               const char *fmt, va_list ap)
{
	char buf[CDNS_DIAG_MAX];
	int n;

	if (d == NULL)
		return;
	if (file != NULL && line > 0)
		n = snprintf(buf, sizeof(buf), "%s:%u:%u: ", file, line, col);
	else if (file != NULL)
		n = snprintf(buf, sizeof(buf), "%s: ", file);
	else if (line > 0)
		n = snprintf(buf, sizeof(buf), "%u:%u: ", line, col);
	else
		n = 0;
	if (n < 0)
		n = 0;
	size_t used = (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1;
	bool cut = (size_t)n >= sizeof(buf);
	if (!cut) {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
		int m = vsnprintf(buf + used, sizeof(buf) - used, fmt, ap);
#pragma GCC diagnostic pop
		if (m < 0)
			buf[used] = '\0';
		else if ((size_t)m >= sizeof(buf) - used)
			cut = true;
	}
	if (cut)
		memcpy(buf + sizeof(buf) - 4, "...", 4);
	/* One line per message: text from the file must not be able to forge extra lines. */
	for (char *p = buf; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
	cdns__diag_store(d, buf);
}

void cdns_diag_verror(cdns_diag_t *d, const cdns_conf_t *at, const char *fmt, va_list ap)
{
	if (at == NULL)
		cdns__diag_vreport(d, NULL, 0, 0, fmt, ap);
	else
		cdns__diag_vreport(d, at->file, at->line, at->col, fmt, ap);
}

void cdns_diag_error(cdns_diag_t *d, const cdns_conf_t *at, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	cdns_diag_verror(d, at, fmt, ap);
	va_end(ap);
}

void cdns_diag_key_error(cdns_diag_t *d, const cdns_conf_t *at, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	if (at == NULL)
		cdns__diag_vreport(d, NULL, 0, 0, fmt, ap);
	else if (at->key_line == 0) /* not a map value: its own position is the best we have */
		cdns__diag_vreport(d, at->file, at->line, at->col, fmt, ap);
	else
		cdns__diag_vreport(d, at->file, at->key_line, at->key_col, fmt, ap);
	va_end(ap);
}

void cdns_diag_error_at(cdns_diag_t *d, const char *file, unsigned line, unsigned col,
                        const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	cdns__diag_vreport(d, file, line, col, fmt, ap);
	va_end(ap);
}

/* --- Tree access --- */

const cdns_conf_t *cdns_conf_get(const cdns_conf_t *map, const char *key)
{
	if (map == NULL || map->kind != CDNS_CONF_MAP || key == NULL)
		return NULL;
	for (const cdns_conf_t *c = map->child; c != NULL; c = c->next)
		if (c->key != NULL && strcmp(c->key, key) == 0)
			return c;
	return NULL;
}

/* --- Value parsers --- */

int cdns_parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = {"true", "yes", "on"};
	static const char *const no[] = {"false", "no", "off"};

	if (s == NULL)
		return CDNS_EINVAL;
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return CDNS_EINVAL;
}

/* Digits at *p into an unsigned value; advances *p. Returns CDNS_EINVAL when there is no digit,
 * CDNS_ERANGE (after consuming all digits) when the value exceeds limit. */
static int cdns__parse_digits(const char **p, uint64_t limit, uint64_t *out)
{
	const char *s = *p;
	uint64_t v = 0;
	bool over = false;

	if (*s < '0' || *s > '9')
		return CDNS_EINVAL;
	for (; *s >= '0' && *s <= '9'; s++) {
		unsigned digit = (unsigned)(*s - '0');
		if (over || v > (limit - digit) / 10)
			over = true;
		else
			v = v * 10 + digit;
	}
	*p = s;
	*out = v;
	return over ? CDNS_ERANGE : 0;
}

int cdns_parse_int(const char *s, int64_t *out)
{
	bool neg = false;
	uint64_t v;

	if (s == NULL)
		return CDNS_EINVAL;
	if (*s == '+' || *s == '-')
		neg = *s++ == '-';
	uint64_t limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	int rc = cdns__parse_digits(&s, limit, &v);
	if (rc == CDNS_EINVAL || *s != '\0')
		return CDNS_EINVAL;
	if (rc < 0)
		return rc;
	if (neg)
		*out = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;
	else
		*out = (int64_t)v;
	return 0;
}

/* Units of a duration, largest first; a text names each at most once, in this order. */
static const struct {
	const char *name;
	int64_t ms;
} cdns__dur_units[] = {
    {"w", 7 * 86400000LL}, {"d", 86400000LL}, {"h", 3600000LL},
    {"m", 60000LL},        {"s", 1000LL},     {"ms", 1LL},
};
#define CDNS__N_DUR_UNITS (sizeof(cdns__dur_units) / sizeof(cdns__dur_units[0]))

int cdns_parse_duration_ms(const char *s, int64_t *out)
{
	uint64_t total = 0;
	bool over = false;
	size_t next_unit = 0; /* units before this index were used or skipped */
	uint64_t v;
	int rc;

	if (s == NULL)
		return CDNS_EINVAL;
	/* A bare number is seconds. */
	const char *p = s;
	rc = cdns__parse_digits(&p, UINT64_MAX, &v);
	if (rc == CDNS_EINVAL)
		return CDNS_EINVAL;
	if (*p == '\0') {
		if (rc < 0 || v > (uint64_t)INT64_MAX / 1000)
			return CDNS_ERANGE;
		*out = (int64_t)v * 1000;
		return 0;
	}

	p = s;
	while (*p != '\0') {
		rc = cdns__parse_digits(&p, UINT64_MAX, &v);
		if (rc == CDNS_EINVAL)
			return CDNS_EINVAL;
		if (rc < 0)
			over = true;
		size_t u;
		for (u = next_unit; u < CDNS__N_DUR_UNITS; u++) {
			size_t len = strlen(cdns__dur_units[u].name);
			/* "ms" must not be read as "m" followed by garbage "s" */
			if (strncmp(p, cdns__dur_units[u].name, len) == 0 &&
			    !(len == 1 && p[0] == 'm' && p[1] == 's'))
				break;
		}
		if (u == CDNS__N_DUR_UNITS)
			return CDNS_EINVAL; /* no unit, an unknown one, or out of order */
		p += strlen(cdns__dur_units[u].name);
		next_unit = u + 1;
		uint64_t mult = (uint64_t)cdns__dur_units[u].ms;
		if (over || v > (uint64_t)INT64_MAX / mult ||
		    total > (uint64_t)INT64_MAX - v * mult)
			over = true;
		else
			total += v * mult;
	}
	if (over)
		return CDNS_ERANGE;
	*out = (int64_t)total;
	return 0;
}

int cdns_parse_size(const char *s, int64_t *out)
{
	uint64_t v, mult = 1;

	if (s == NULL)
		return CDNS_EINVAL;
	const char *p = s;
	int rc = cdns__parse_digits(&p, UINT64_MAX, &v);
	if (rc == CDNS_EINVAL)
		return CDNS_EINVAL;
	switch (*p) {
	case 'k':
	case 'K':
		mult = 1024;
		p++;
		break;
	case 'm':
	case 'M':
		mult = 1024 * 1024;
		p++;
		break;
	case 'g':
	case 'G':
		mult = 1024 * 1024 * 1024;
		p++;
		break;
	default: break;
	}
	if (*p == 'B')
		p++;
	if (*p != '\0')
		return CDNS_EINVAL;
	if (rc < 0 || v > (uint64_t)INT64_MAX / mult)
		return CDNS_ERANGE;
	*out = (int64_t)(v * mult);
	return 0;
}

/* --- Option tables --- */

/* Room for one formatted piece of a message (a quoted value, a range, an enum list). */
#define CDNS__PIECE 256

typedef union {
	bool b;
	int64_t i;
	int e;
	const char *s;
	const cdns_conf_t *node;
} cdns__optval_t;

/* The user's text as a quoted, escaped, shortened literal: "big", "a\"b", "aaaa...". */
static void cdns__quote(const char *s, char *buf, size_t size)
{
	static const size_t max_shown = 64;
	size_t o = 0, shown = 0;

	assert(size >= 16);
	buf[o++] = '"';
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;
		char esc[8];
		if (shown >= max_shown && (c & 0xc0) != 0x80)
			break; /* cut only between UTF-8 characters */
		if (c == '"' || c == '\\')
			snprintf(esc, sizeof(esc), "\\%c", c);
		else if (c == '\n')
			snprintf(esc, sizeof(esc), "\\n");
		else if (c == '\t')
			snprintf(esc, sizeof(esc), "\\t");
		else if (c < 0x20 || c == 0x7f)
			snprintf(esc, sizeof(esc), "\\x%02x", c);
		else
			snprintf(esc, sizeof(esc), "%c", c);
		size_t len = strlen(esc);
		if (o + len + 5 > size) /* keep room for ..." and NUL */
			break;
		memcpy(buf + o, esc, len);
		o += len;
		shown++;
	}
	if (*s != '\0') {
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o++] = '"';
	buf[o] = '\0';
}

/* What the user gave, for "got ...": the quoted text of a scalar, or the kind of node. */
static void cdns__describe_got(const cdns_conf_t *node, char *buf, size_t size)
{
	switch (node->kind) {
	case CDNS_CONF_SCALAR:
		cdns__quote(node->value != NULL ? node->value : "", buf, size);
		break;
	case CDNS_CONF_MAP: snprintf(buf, size, "a map"); break;
	case CDNS_CONF_SEQ: snprintf(buf, size, "a list"); break;
	default: snprintf(buf, size, "null"); break;
	}
}

/* Milliseconds as the shortest text cdns_parse_duration_ms() reads back: "1h30m", "250ms". */
static void cdns__format_duration(int64_t ms, char *buf, size_t size)
{
	size_t o = 0;
	uint64_t v;

	if (ms < 0) {
		buf[o++] = '-';
		v = (uint64_t)(-(ms + 1)) + 1;
	} else {
		v = (uint64_t)ms;
	}
	if (v == 0) {
		snprintf(buf + o, size - o, "0s");
		return;
	}
	buf[o] = '\0';
	for (size_t u = 0; u < CDNS__N_DUR_UNITS && v > 0; u++) {
		uint64_t mult = (uint64_t)cdns__dur_units[u].ms;
		if (v < mult)
			continue;
		int n = snprintf(buf + o, size - o, "%llu%s", (unsigned long long)(v / mult),
		                 cdns__dur_units[u].name);
		if (n < 0 || (size_t)n >= size - o)
			return;
		o += (size_t)n;
		v %= mult;
	}
}

/* Bytes with the largest suffix that divides them exactly: "64k", "16M", "1000". */
static void cdns__format_size(int64_t b, char *buf, size_t size)
{
	static const struct {
		int64_t mult;
		const char *suffix;
	} units[] = {{1LL << 30, "G"}, {1LL << 20, "M"}, {1LL << 10, "k"}};

	for (size_t u = 0; u < sizeof(units) / sizeof(units[0]); u++) {
		if (b != 0 && b % units[u].mult == 0) {
			snprintf(buf, size, "%lld%s", (long long)(b / units[u].mult),
			         units[u].suffix);
			return;
		}
	}
	snprintf(buf, size, "%lld", (long long)b);
}

static void cdns__format_bound(const cdns_opt_def_t *def, int64_t v, char *buf, size_t size)
{
	if (def->type == CDNS_OPT_DURATION)
		cdns__format_duration(v, buf, size);
	else if (def->type == CDNS_OPT_SIZE)
		cdns__format_size(v, buf, size);
	else
		snprintf(buf, size, "%lld", (long long)v);
}

static bool cdns__has_range(const cdns_opt_def_t *def)
{
	return (def->type == CDNS_OPT_INT || def->type == CDNS_OPT_DURATION ||
	        def->type == CDNS_OPT_SIZE) &&
	       def->min <= def->max;
}

/* "between 1 and 10", "at least 5", "at most 1h" (range of a numeric option). */
static void cdns__describe_range(const cdns_opt_def_t *def, char *buf, size_t size)
{
	char lo[64], hi[64];

	cdns__format_bound(def, def->min, lo, sizeof(lo));
	cdns__format_bound(def, def->max, hi, sizeof(hi));
	if (def->max == INT64_MAX && def->min != INT64_MIN)
		snprintf(buf, size, "at least %s", lo);
	else if (def->min == INT64_MIN && def->max != INT64_MAX)
		snprintf(buf, size, "at most %s", hi);
	else
		snprintf(buf, size, "between %s and %s", lo, hi);
}

/* What a value of this option must be, for "must be ..." after a value that does not parse. */
static void cdns__describe_type(const cdns_opt_def_t *def, char *buf, size_t size)
{
	char range[CDNS__PIECE / 2];

	switch (def->type) {
	case CDNS_OPT_BOOL: snprintf(buf, size, "a boolean (true or false)"); break;
	case CDNS_OPT_INT:
		if (def->min > def->max)
			snprintf(buf, size, "an integer");
		else if (def->min == 1 && def->max == INT64_MAX)
			snprintf(buf, size, "a positive integer");
		else if (def->min == 0 && def->max == INT64_MAX)
			snprintf(buf, size, "a non-negative integer");
		else {
			cdns__describe_range(def, range, sizeof(range));
			/* "an integer between 1 and 10", "an integer of at least 5" */
			snprintf(buf, size, "an integer %s%s", range[0] == 'a' ? "of " : "", range);
		}
		break;
	case CDNS_OPT_DURATION:
		snprintf(buf, size, "a duration (e.g. 250ms, 30s, 5m, 1h30m)");
		break;
	case CDNS_OPT_SIZE: snprintf(buf, size, "a size (e.g. 4096, 64k, 16M, 2G)"); break;
	case CDNS_OPT_ENUM: {
		size_t o = (size_t)snprintf(buf, size, "one of");
		for (size_t i = 0;
		     def->enum_values != NULL && def->enum_values[i] != NULL && o < size; i++) {
			int n = snprintf(buf + o, size - o, "%s '%s'", i == 0 ? "" : ",",
			                 def->enum_values[i]);
			if (n < 0)
				break;
			o += (size_t)n;
		}
		break;
	}
	case CDNS_OPT_STRING: snprintf(buf, size, "a string"); break;
	case CDNS_OPT_STRLIST: snprintf(buf, size, "a string or a list of strings"); break;
	default: snprintf(buf, size, "a value"); break;
	}
}

/* For a number that parses but is out of range: the same words as for a bad one when the
 * range is "positive" or "non-negative", else the range itself. Without a range in the table,
 * the value did not fit in 64 bits: the limit is then the type's own. */
static void cdns__describe_out_of_range(const cdns_opt_def_t *def, char *buf, size_t size)
{
	if (!cdns__has_range(def)) {
		char hi[64];
		cdns__format_bound(def, INT64_MAX, hi, sizeof(hi));
		if (def->type == CDNS_OPT_INT)
			snprintf(buf, size, "an integer between %lld and %s", (long long)INT64_MIN,
			         hi);
		else
			snprintf(buf, size, "at most %s", hi);
		return;
	}
	if (def->type == CDNS_OPT_INT && def->max == INT64_MAX && (def->min == 0 || def->min == 1))
		cdns__describe_type(def, buf, size);
	else
		cdns__describe_range(def, buf, size);
}

/* Parse text for a scalar option type. Returns 0, CDNS_EINVAL (does not parse) or CDNS_ERANGE
 * (parses, but outside the type or the option's range). */
static int cdns__parse_text(const cdns_opt_def_t *def, const char *text, cdns__optval_t *v)
{
	int rc;

	switch (def->type) {
	case CDNS_OPT_BOOL: return cdns_parse_bool(text, &v->b);
	case CDNS_OPT_INT: rc = cdns_parse_int(text, &v->i); break;
	case CDNS_OPT_DURATION: rc = cdns_parse_duration_ms(text, &v->i); break;
	case CDNS_OPT_SIZE: rc = cdns_parse_size(text, &v->i); break;
	case CDNS_OPT_ENUM:
		assert(def->enum_values != NULL);
		for (int i = 0; def->enum_values[i] != NULL; i++) {
			if (strcmp(text, def->enum_values[i]) == 0) {
				v->e = i;
				return 0;
			}
		}
		return CDNS_EINVAL;
	case CDNS_OPT_STRING: v->s = text; return 0;
	default: return CDNS_EINVAL;
	}
	if (rc == 0 && cdns__has_range(def) && (v->i < def->min || v->i > def->max))
		rc = CDNS_ERANGE;
	return rc;
}

static void cdns__store(const cdns_opt_def_t *def, void *out, const cdns__optval_t *v)
{
	char *field = (char *)out + def->offset;

	switch (def->type) {
	case CDNS_OPT_BOOL: memcpy(field, &v->b, sizeof(bool)); break;
	case CDNS_OPT_INT:
	case CDNS_OPT_DURATION:
	case CDNS_OPT_SIZE: memcpy(field, &v->i, sizeof(int64_t)); break;
	case CDNS_OPT_ENUM: memcpy(field, &v->e, sizeof(int)); break;
	case CDNS_OPT_STRING: memcpy(field, &v->s, sizeof(const char *)); break;
	case CDNS_OPT_STRLIST:
	case CDNS_OPT_NODE: memcpy(field, &v->node, sizeof(const cdns_conf_t *)); break;
	}
}

/* Report "option 'KEY': must be WHAT, got GOT" at node. */
static void cdns__bad_value(cdns_diag_t *d, const char *prefix, const cdns_opt_def_t *def,
                            const cdns_conf_t *node, bool out_of_range)
{
	char what[CDNS__PIECE], got[CDNS__PIECE / 2];

	if (out_of_range)
		cdns__describe_out_of_range(def, what, sizeof(what));
	else
		cdns__describe_type(def, what, sizeof(what));
	cdns__describe_got(node, got, sizeof(got));
	cdns_diag_error(d, node, "%soption '%s': must be %s, got %s", prefix, def->key, what, got);
}

/* Check one given value and store it; false when an error was reported. */
static bool cdns__apply_value(cdns_diag_t *d, const char *prefix, const cdns_opt_def_t *def,
                              const cdns_conf_t *node, void *out)
{
	cdns__optval_t v;

	switch (def->type) {
	case CDNS_OPT_NODE: v.node = node; break;
	case CDNS_OPT_STRLIST:
		if (node->kind == CDNS_CONF_SEQ) {
			bool ok = true;
			for (const cdns_conf_t *c = node->child; c != NULL; c = c->next) {
				if (c->kind != CDNS_CONF_SCALAR) {
					cdns__bad_value(d, prefix, def, c, false);
					ok = false;
				}
			}
			if (!ok)
				return false;
		} else if (node->kind != CDNS_CONF_SCALAR) {
			cdns__bad_value(d, prefix, def, node, false);
			return false;
		}
		v.node = node;
		break;
	default:
		if (node->kind != CDNS_CONF_SCALAR || node->value == NULL) {
			cdns__bad_value(d, prefix, def, node, false);
			return false;
		}
		int rc = cdns__parse_text(def, node->value, &v);
		if (rc < 0) {
			cdns__bad_value(d, prefix, def, node, rc == CDNS_ERANGE);
			return false;
		}
		break;
	}
	cdns__store(def, out, &v);
	return true;
}

/* Levenshtein distance, or limit + 1 when it is larger than limit (or the words are long). */
static size_t cdns__edit_distance(const char *a, const char *b, size_t limit)
{
	enum { MAXLEN = 64 };
	size_t la = strlen(a), lb = strlen(b);
	size_t prev[MAXLEN + 1], cur[MAXLEN + 1];

	if (la > MAXLEN || lb > MAXLEN || (la > lb ? la - lb : lb - la) > limit)
		return limit + 1;
	for (size_t j = 0; j <= lb; j++)
		prev[j] = j;
	for (size_t i = 1; i <= la; i++) {
		cur[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
			size_t del = prev[j] + 1, ins = cur[j - 1] + 1;
			cur[j] = sub < del ? sub : del;
			if (ins < cur[j])
				cur[j] = ins;
		}
		memcpy(prev, cur, (lb + 1) * sizeof(size_t));
	}
	return prev[lb] <= limit ? prev[lb] : limit + 1;
}

static void cdns__unknown_option(cdns_diag_t *d, const char *prefix, const cdns_conf_t *node,
                                 const cdns_opt_def_t *table)
{
	const char *best = NULL;
	size_t best_dist = 3;

	for (const cdns_opt_def_t *def = table; def->key != NULL; def++) {
		size_t dist = cdns__edit_distance(node->key, def->key, 2);
		if (dist < best_dist) {
			best = def->key;
			best_dist = dist;
		}
	}
	if (best != NULL)
		cdns_diag_key_error(d, node, "%sunknown option '%.128s'; did you mean '%s'?",
		                    prefix, node->key, best);
	else
		cdns_diag_key_error(d, node, "%sunknown option '%.128s'", prefix, node->key);
}

/* The default of an absent option: a bad default is a bug in the table, not in the file. */
static void cdns__apply_default(const cdns_opt_def_t *def, void *out)
{
	cdns__optval_t v;

	assert(def->type != CDNS_OPT_STRLIST && def->type != CDNS_OPT_NODE);
	int rc = cdns__parse_text(def, def->def, &v);
	assert(rc == 0 && "bad default in an option table");
	if (rc == 0)
		cdns__store(def, out, &v);
}

int cdns_conf_check_list(cdns_diag_t *d, const char *prefix, const cdns_conf_t *node,
			 const char *option, const char *shape, size_t max, const char *what)
{
	if (node == NULL || node->kind != CDNS_CONF_SEQ || node->n_children == 0) {
		cdns_diag_error(d, node, "%soption '%s': must be a list of %s", prefix, option,
				shape);
		return CDNS_ECONFIG;
	}
	if (node->n_children > max) {
		cdns_diag_error(d, node, "%soption '%s': at most %zu %s", prefix, option, max,
				what);
		return CDNS_ECONFIG;
	}
	return 0;
}

int cdns_conf_apply(cdns_diag_t *d, const char *prefix, const cdns_conf_t *map,
                    const cdns_opt_def_t *table, void *out)
{
	unsigned errors = 0;
	bool not_a_map = false;

	if (prefix == NULL)
		prefix = "";
	if (map != NULL && map->kind != CDNS_CONF_NULL && map->kind != CDNS_CONF_MAP) {
		char got[CDNS__PIECE / 2];
		cdns__describe_got(map, got, sizeof(got));
		cdns_diag_error(d, map, "%smust be a map, got %s", prefix, got);
		errors++;
		not_a_map = true;
		map = NULL;
	}

	if (map != NULL && map->kind == CDNS_CONF_MAP) {
		for (const cdns_conf_t *c = map->child; c != NULL; c = c->next) {
			const cdns_opt_def_t *def = table;
			while (def->key != NULL &&
			       (c->key == NULL || strcmp(def->key, c->key) != 0))
				def++;
			if (def->key == NULL) {
				cdns__unknown_option(d, prefix, c, table);
				errors++;
			} else if (!cdns__apply_value(d, prefix, def, c, out)) {
				errors++;
			}
		}
	}

	for (const cdns_opt_def_t *def = table; def->key != NULL; def++) {
		if (cdns_conf_get(map, def->key) != NULL)
			continue;
		if (def->required) {
			/* after "must be a map", missing keys would only be noise */
			if (!not_a_map)
				cdns_diag_error(d, map, "%soption '%s' is required", prefix,
				                def->key);
			errors++;
		} else if (def->def != NULL) {
			cdns__apply_default(def, out);
		}
	}
	return errors == 0 ? 0 : CDNS_ECONFIG;
}

#pragma GCC visibility pop
