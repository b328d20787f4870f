/* The configuration file reader: libyaml's event stream into a cdns_conf_t tree. Nodes and
 * strings live in one arena owned by the cdns__config_t, so the whole tree goes in one free. */
#include <errno.h>
#include <stdalign.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <yaml.h>

#include <clouddns/conf.h>
#include <clouddns/error.h>

#include "config.h"

/* --- Arena --- */

#define CDNS__ARENA_BLOCK 16384

struct cdns__arena_block {
	struct cdns__arena_block *next;
	size_t used, size;
	alignas(max_align_t) unsigned char data[];
};

struct cdns__config {
	struct cdns__arena_block *blocks;
	const char *path;
	const char *dir;
	cdns_conf_t *root;
};

static void *cdns__config_alloc(cdns__config_t *c, size_t size)
{
	const size_t align = alignof(max_align_t);
	struct cdns__arena_block *b = c->blocks;

	size = (size + align - 1) & ~(align - 1);
	if (size == 0)
		size = align;
	if (b == NULL || b->size - b->used < size) {
		size_t block = size > CDNS__ARENA_BLOCK ? size : CDNS__ARENA_BLOCK;
		b = malloc(sizeof(*b) + block);
		if (b == NULL)
			return NULL;
		b->used = 0;
		b->size = block;
		/* A large object gets a block of its own behind the current one, so the free
		 * space left in the current block is not wasted. */
		if (c->blocks != NULL && block > CDNS__ARENA_BLOCK) {
			b->next = c->blocks->next;
			c->blocks->next = b;
		} else {
			b->next = c->blocks;
			c->blocks = b;
		}
	}
	void *p = b->data + b->used;
	b->used += size;
	return p;
}

static char *cdns__config_strndup(cdns__config_t *c, const char *s, size_t len)
{
	char *p = cdns__config_alloc(c, len + 1);
	if (p == NULL)
		return NULL;
	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

const char *cdns__config_strdup(cdns__config_t *c, const char *s)
{
	if (s == NULL)
		return NULL;
	return cdns__config_strndup(c, s, strlen(s));
}

void cdns__config_free(cdns__config_t *c)
{
	if (c == NULL)
		return;
	struct cdns__arena_block *b = c->blocks;
	while (b != NULL) {
		struct cdns__arena_block *next = b->next;
		free(b);
		b = next;
	}
	free(c);
}

const cdns_conf_t *cdns__config_root(const cdns__config_t *c)
{
	return c->root;
}

const char *cdns__config_path(const cdns__config_t *c)
{
	return c->path;
}

const char *cdns__config_dir(const cdns__config_t *c)
{
	return c->dir;
}

/* --- Loader state --- */

/* A map or sequence being filled. Maps with many keys get a hash index for duplicate checks,
 * so a generated file with a huge map does not cost quadratic time. */
struct cdns__frame {
	cdns_conf_t *node;
	cdns_conf_t *last;
	bool have_key; /* a map's key was read; its value comes next */
	bool key_bad;  /* ... and that key was rejected: drop the value */
	const char *key;
	unsigned key_line, key_col;
	cdns_conf_t **index;
	size_t index_cap, index_n;
	bool index_failed;
};

struct cdns__loader {
	cdns__config_t *c;
	cdns_diag_t *d;
	unsigned errors;
	bool stop; /* give up reading: out of memory, too deep, second document */
	struct cdns__frame stack[CDNS__CONFIG_MAX_DEPTH];
	unsigned depth;
};

#define CDNS__INDEX_FROM 16

static void cdns__load_error(struct cdns__loader *l, unsigned line, unsigned col, const char *fmt,
                             ...) __attribute__((format(printf, 4, 5)));

static void cdns__load_error(struct cdns__loader *l, unsigned line, unsigned col, const char *fmt,
                             ...)
{
	cdns_conf_t at = {.file = l->c->path, .line = line, .col = col};
	va_list ap;

	va_start(ap, fmt);
	cdns_diag_verror(l->d, &at, fmt, ap);
	va_end(ap);
	l->errors++;
}

static void cdns__load_oom(struct cdns__loader *l)
{
	if (!l->stop)
		cdns_diag_error_at(l->d, l->c->path, 0, 0, "out of memory");
	l->errors++;
	l->stop = true;
}

static cdns_conf_t *cdns__new_node(struct cdns__loader *l, cdns_conf_kind_t kind, yaml_mark_t mark)
{
	cdns_conf_t *n = cdns__config_alloc(l->c, sizeof(*n));
	if (n == NULL) {
		cdns__load_oom(l);
		return NULL;
	}
	memset(n, 0, sizeof(*n));
	n->kind = kind;
	n->file = l->c->path;
	n->line = (unsigned)mark.line + 1;
	n->col = (unsigned)mark.column + 1;
	return n;
}

/* FNV-1a */
static size_t cdns__hash_key(const char *s)
{
	uint64_t h = 14695981039346656037ULL;
	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return (size_t)h;
}

static void cdns__index_put(cdns_conf_t **index, size_t cap, cdns_conf_t *n)
{
	size_t i = cdns__hash_key(n->key) & (cap - 1);
	while (index[i] != NULL)
		i = (i + 1) & (cap - 1);
	index[i] = n;
}

/* Add the map's newest child to the index, building or growing it as needed. On allocation
 * failure the index is dropped: lookups fall back to a linear scan. */
static void cdns__index_add(struct cdns__frame *f, cdns_conf_t *n)
{
	if (f->index_failed || f->node->n_children < CDNS__INDEX_FROM)
		return;
	if (f->index == NULL || (f->index_n + 1) * 2 > f->index_cap) {
		size_t cap = f->index_cap == 0 ? 4 * CDNS__INDEX_FROM : f->index_cap * 2;
		cdns_conf_t **index = calloc(cap, sizeof(*index));
		if (index == NULL) {
			free(f->index);
			f->index = NULL;
			f->index_failed = true;
			return;
		}
		/* n is already linked in: rebuilding from the children includes it */
		for (cdns_conf_t *c = f->node->child; c != NULL; c = c->next)
			cdns__index_put(index, cap, c);
		free(f->index);
		f->index = index;
		f->index_cap = cap;
		f->index_n = f->node->n_children;
		return;
	}
	cdns__index_put(f->index, f->index_cap, n);
	f->index_n++;
}

static const cdns_conf_t *cdns__frame_find(const struct cdns__frame *f, const char *key)
{
	if (f->index == NULL)
		return cdns_conf_get(f->node, key);
	size_t i = cdns__hash_key(key) & (f->index_cap - 1);
	for (; f->index[i] != NULL; i = (i + 1) & (f->index_cap - 1))
		if (strcmp(f->index[i]->key, key) == 0)
			return f->index[i];
	return NULL;
}

static void cdns__frame_release(struct cdns__frame *f)
{
	free(f->index);
	f->index = NULL;
}

/* Hang a finished node on its parent (or make it the root). */
static void cdns__attach(struct cdns__loader *l, cdns_conf_t *n)
{
	if (l->depth == 0) {
		l->c->root = n;
		return;
	}
	struct cdns__frame *f = &l->stack[l->depth - 1];
	if (f->node->kind == CDNS_CONF_MAP) {
		if (!f->have_key) {
			/* a map or sequence in a key's place */
			cdns__load_error(l, n->line, n->col, "map keys must be scalars");
			f->have_key = true;
			f->key_bad = true;
			return;
		}
		f->have_key = false;
		if (f->key_bad) {
			f->key_bad = false;
			return;
		}
		n->key = f->key;
		n->key_line = f->key_line;
		n->key_col = f->key_col;
	}
	if (f->last == NULL)
		f->node->child = n;
	else
		f->last->next = n;
	f->last = n;
	f->node->n_children++;
	if (f->node->kind == CDNS_CONF_MAP)
		cdns__index_add(f, n);
}

/* --- Scalars --- */

/* A growing string for ${VAR} expansion. */
struct cdns__buf {
	char *p;
	size_t len, cap;
	bool oom;
};

static void cdns__buf_add(struct cdns__buf *b, const char *s, size_t len)
{
	if (b->oom)
		return;
	if (b->cap - b->len <= len) {
		size_t cap = b->cap == 0 ? 64 : b->cap;
		while (cap - b->len <= len)
			cap *= 2;
		char *p = realloc(b->p, cap);
		if (p == NULL) {
			b->oom = true;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, len);
	b->len += len;
	b->p[b->len] = '\0';
}

static bool cdns__is_name_start(char ch)
{
	return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || ch == '_';
}

static bool cdns__is_name_char(char ch)
{
	return cdns__is_name_start(ch) || (ch >= '0' && ch <= '9');
}

/* Expand ${VAR}, ${VAR:-default} and $$ in a value. Errors are reported at n; returns the new
 * text in the arena, or NULL after an error. */
static const char *cdns__expand(struct cdns__loader *l, const cdns_conf_t *n, const char *text)
{
	struct cdns__buf b = {0};
	bool failed = false;
	const char *p = text;

	if (strchr(text, '$') == NULL)
		goto copy;
	while (*p != '\0') {
		const char *dollar = strchr(p, '$');
		if (dollar == NULL) {
			cdns__buf_add(&b, p, strlen(p));
			break;
		}
		cdns__buf_add(&b, p, (size_t)(dollar - p));
		if (dollar[1] == '$') {
			cdns__buf_add(&b, "$", 1);
			p = dollar + 2;
			continue;
		}
		if (dollar[1] != '{') {
			cdns__buf_add(&b, "$", 1);
			p = dollar + 1;
			continue;
		}
		const char *name = dollar + 2;
		const char *end = strchr(name, '}');
		if (end == NULL) {
			cdns__load_error(l, n->line, n->col, "unterminated '${' (missing '}')");
			failed = true;
			break;
		}
		const char *name_end = name;
		if (cdns__is_name_start(*name_end))
			while (cdns__is_name_char(*name_end))
				name_end++;
		const char *def = NULL;
		if (name_end != name && name_end[0] == ':' && name_end[1] == '-')
			def = name_end + 2;
		else if (name_end == name || name_end != end) {
			cdns__load_error(l, n->line, n->col,
			                 "invalid environment variable reference '${%.*s}'",
			                 (int)(end - name > 128 ? 128 : end - name), name);
			failed = true;
			p = end + 1;
			continue;
		}
		char *var = strndup(name, (size_t)(name_end - name));
		if (var == NULL) {
			b.oom = true;
			break;
		}
		const char *val = getenv(var);
		if (val != NULL && (def == NULL || *val != '\0'))
			cdns__buf_add(&b, val, strlen(val));
		else if (def != NULL)
			cdns__buf_add(&b, def, (size_t)(end - def));
		else {
			cdns__load_error(l, n->line, n->col,
			                 "environment variable '%.128s' is not set", var);
			failed = true;
		}
		free(var);
		p = end + 1;
	}
	if (b.oom) {
		free(b.p);
		cdns__load_oom(l);
		return NULL;
	}
	if (failed) {
		free(b.p);
		return NULL;
	}
	text = b.p != NULL ? b.p : "";
copy:;
	const char *copy = cdns__config_strdup(l->c, text);
	free(b.p);
	if (copy == NULL)
		cdns__load_oom(l);
	return copy;
}

static bool cdns__is_null(const yaml_event_t *ev)
{
	static const char *const nulls[] = {"", "~", "null", "Null", "NULL"};
	const char *v = (const char *)ev->data.scalar.value;

	if (ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	for (size_t i = 0; i < sizeof(nulls) / sizeof(nulls[0]); i++)
		if (strcmp(v, nulls[i]) == 0)
			return true;
	return false;
}

/* A scalar in a key's place. */
static void cdns__on_key(struct cdns__loader *l, struct cdns__frame *f, const yaml_event_t *ev)
{
	const char *text = (const char *)ev->data.scalar.value;
	unsigned line = (unsigned)ev->start_mark.line + 1,
	         col = (unsigned)ev->start_mark.column + 1;

	f->have_key = true;
	f->key_bad = true;
	if (memchr(text, '\0', ev->data.scalar.length) != NULL) {
		cdns__load_error(l, line, col, "key contains a NUL character");
		return;
	}
	const cdns_conf_t *first = cdns__frame_find(f, text);
	if (first != NULL) {
		cdns__load_error(l, line, col, "duplicate key '%.128s' (first at %u:%u)", text,
		                 first->key_line, first->key_col);
		return;
	}
	f->key = cdns__config_strdup(l->c, text);
	if (f->key == NULL) {
		cdns__load_oom(l);
		return;
	}
	f->key_line = line;
	f->key_col = col;
	f->key_bad = false;
}

static void cdns__on_scalar(struct cdns__loader *l, const yaml_event_t *ev)
{
	const char *text = (const char *)ev->data.scalar.value;

	if (l->depth > 0) {
		struct cdns__frame *f = &l->stack[l->depth - 1];
		if (f->node->kind == CDNS_CONF_MAP && !f->have_key) {
			cdns__on_key(l, f, ev);
			return;
		}
	}
	cdns_conf_t *n = cdns__new_node(l, CDNS_CONF_SCALAR, ev->start_mark);
	if (n == NULL)
		return;
	if (cdns__is_null(ev)) {
		n->kind = CDNS_CONF_NULL;
	} else {
		n->quoted = ev->data.scalar.style == YAML_SINGLE_QUOTED_SCALAR_STYLE ||
		            ev->data.scalar.style == YAML_DOUBLE_QUOTED_SCALAR_STYLE;
		if (memchr(text, '\0', ev->data.scalar.length) != NULL) {
			cdns__load_error(l, n->line, n->col, "value contains a NUL character");
			n->value = "";
		} else {
			n->value = cdns__expand(l, n, text);
			if (n->value == NULL)
				n->value = "";
		}
	}
	cdns__attach(l, n);
}

/* --- Events --- */

static void cdns__on_start(struct cdns__loader *l, cdns_conf_kind_t kind, yaml_mark_t mark)
{
	if (l->depth == CDNS__CONFIG_MAX_DEPTH) {
		cdns__load_error(l, (unsigned)mark.line + 1, (unsigned)mark.column + 1,
		                 "nesting is deeper than %d levels", CDNS__CONFIG_MAX_DEPTH);
		l->stop = true;
		return;
	}
	cdns_conf_t *n = cdns__new_node(l, kind, mark);
	if (n == NULL)
		return;
	l->stack[l->depth++] = (struct cdns__frame){.node = n};
}

static void cdns__on_end(struct cdns__loader *l)
{
	struct cdns__frame *f = &l->stack[--l->depth];
	cdns_conf_t *n = f->node;
	cdns__frame_release(f);
	cdns__attach(l, n);
}

static void cdns__on_alias(struct cdns__loader *l, yaml_mark_t mark)
{
	cdns__load_error(l, (unsigned)mark.line + 1, (unsigned)mark.column + 1,
	                 "anchors and aliases are not supported");
	/* Keep the shape of the tree, so later keys are still checked. */
	if (l->depth > 0) {
		struct cdns__frame *f = &l->stack[l->depth - 1];
		if (f->node->kind == CDNS_CONF_MAP && !f->have_key) {
			f->have_key = true; /* an alias as a key: drop its value */
			f->key_bad = true;
			return;
		}
	}
	cdns_conf_t *n = cdns__new_node(l, CDNS_CONF_NULL, mark);
	if (n != NULL)
		cdns__attach(l, n);
}

static void cdns__check_anchor(struct cdns__loader *l, const yaml_char_t *anchor, yaml_mark_t mark)
{
	if (anchor != NULL)
		cdns__load_error(l, (unsigned)mark.line + 1, (unsigned)mark.column + 1,
		                 "anchors and aliases are not supported");
}

/* libyaml's reader errors carry a byte offset, not a mark: find the line and column. */
static void cdns__offset_position(const unsigned char *buf, size_t len, size_t offset,
                                  unsigned *line, unsigned *col)
{
	*line = 1;
	*col = 1;
	for (size_t i = 0; i < offset && i < len; i++) {
		if (buf[i] == '\n') {
			(*line)++;
			*col = 1;
		} else if ((buf[i] & 0xc0) != 0x80) {
			(*col)++;
		}
	}
}

static void cdns__syntax_error(struct cdns__loader *l, const yaml_parser_t *p,
                               const unsigned char *buf, size_t len)
{
	const char *problem = p->problem != NULL ? p->problem : "unknown error";
	unsigned line, col;

	switch (p->error) {
	case YAML_MEMORY_ERROR: cdns__load_oom(l); return;
	case YAML_READER_ERROR:
		cdns__offset_position(buf, len, p->problem_offset, &line, &col);
		if (p->problem_value >= 0)
			cdns__load_error(l, line, col, "syntax error: %s (0x%02X)", problem,
			                 (unsigned)p->problem_value);
		else
			cdns__load_error(l, line, col, "syntax error: %s", problem);
		return;
	default:
		line = (unsigned)p->problem_mark.line + 1;
		col = (unsigned)p->problem_mark.column + 1;
		if (p->context != NULL)
			cdns__load_error(l, line, col, "syntax error: %s (%s at %u:%u)", problem,
			                 p->context, (unsigned)p->context_mark.line + 1,
			                 (unsigned)p->context_mark.column + 1);
		else
			cdns__load_error(l, line, col, "syntax error: %s", problem);
		return;
	}
}

static void cdns__parse(struct cdns__loader *l, const unsigned char *buf, size_t len)
{
	yaml_parser_t parser;
	yaml_event_t ev;
	unsigned docs = 0;

	if (!yaml_parser_initialize(&parser)) {
		cdns__load_oom(l);
		return;
	}
	yaml_parser_set_input_string(&parser, buf, len);
	while (!l->stop) {
		if (!yaml_parser_parse(&parser, &ev)) {
			cdns__syntax_error(l, &parser, buf, len);
			break;
		}
		bool end = false;
		switch (ev.type) {
		case YAML_STREAM_END_EVENT: end = true; break;
		case YAML_DOCUMENT_START_EVENT:
			if (++docs > 1) {
				cdns__load_error(l, (unsigned)ev.start_mark.line + 1,
				                 (unsigned)ev.start_mark.column + 1,
				                 "only one YAML document is allowed per file");
				end = true;
			}
			break;
		case YAML_ALIAS_EVENT: cdns__on_alias(l, ev.start_mark); break;
		case YAML_SCALAR_EVENT:
			cdns__check_anchor(l, ev.data.scalar.anchor, ev.start_mark);
			cdns__on_scalar(l, &ev);
			break;
		case YAML_SEQUENCE_START_EVENT:
			cdns__check_anchor(l, ev.data.sequence_start.anchor, ev.start_mark);
			cdns__on_start(l, CDNS_CONF_SEQ, ev.start_mark);
			break;
		case YAML_MAPPING_START_EVENT:
			cdns__check_anchor(l, ev.data.mapping_start.anchor, ev.start_mark);
			cdns__on_start(l, CDNS_CONF_MAP, ev.start_mark);
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT: cdns__on_end(l); break;
		default: break; /* stream start, document end */
		}
		yaml_event_delete(&ev);
		if (end)
			break;
	}
	yaml_parser_delete(&parser);
	while (l->depth > 0)
		cdns__frame_release(&l->stack[--l->depth]);
}

/* --- Files --- */

static int cdns__read_file(struct cdns__loader *l, unsigned char **out, size_t *out_len)
{
	const char *path = l->c->path;
	unsigned char *buf = NULL;
	size_t len = 0, cap = 0;
	int rc = CDNS_ECONFIG;

	FILE *f = fopen(path, "rb");
	if (f == NULL) {
		cdns_diag_error_at(l->d, path, 0, 0, "cannot open: %s", strerror(errno));
		l->errors++;
		return CDNS_ECONFIG;
	}
	for (;;) {
		if (len == cap) {
			if (cap > CDNS__CONFIG_MAX_SIZE) {
				cdns_diag_error_at(l->d, path, 0, 0, "file is larger than %u MiB",
				                   CDNS__CONFIG_MAX_SIZE >> 20);
				l->errors++;
				goto cleanup;
			}
			/* up to one byte past the limit, to tell "too large" from "just fits" */
			cap = cap == 0 ? 4096 : cap * 2;
			if (cap > CDNS__CONFIG_MAX_SIZE)
				cap = CDNS__CONFIG_MAX_SIZE + 1;
			unsigned char *p = realloc(buf, cap);
			if (p == NULL) {
				cdns__load_oom(l);
				goto cleanup;
			}
			buf = p;
		}
		size_t n = fread(buf + len, 1, cap - len, f);
		len += n;
		if (n == 0) {
			if (ferror(f)) {
				cdns_diag_error_at(l->d, path, 0, 0, "cannot read: %s",
				                   strerror(errno));
				l->errors++;
				goto cleanup;
			}
			break;
		}
	}
	if (len > CDNS__CONFIG_MAX_SIZE) {
		cdns_diag_error_at(l->d, path, 0, 0, "file is larger than %u MiB",
		                   CDNS__CONFIG_MAX_SIZE >> 20);
		l->errors++;
		goto cleanup;
	}
	*out = buf;
	*out_len = len;
	buf = NULL;
	rc = 0;
cleanup:
	free(buf);
	fclose(f);
	return rc;
}

/* The file's directory as an absolute path, without resolving symbolic links (a directory of
 * links, as in a Kubernetes ConfigMap volume, must keep its own name). */
static int cdns__set_dir(struct cdns__loader *l)
{
	const char *path = l->c->path;
	const char *slash = strrchr(path, '/');
	size_t dlen = slash == NULL ? 0 : (size_t)(slash - path);
	char *cwd = NULL;
	int rc = CDNS_ECONFIG;

	while (dlen > 1 && path[dlen - 1] == '/')
		dlen--;
	if (path[0] == '/') {
		l->c->dir = cdns__config_strndup(l->c, path, dlen == 0 ? 1 : dlen);
	} else {
		/* "./conf/x.yaml" and "conf/x.yaml" name the same directory */
		while (dlen >= 2 && path[0] == '.' && path[1] == '/') {
			path += 2;
			dlen -= 2;
			while (dlen > 0 && path[0] == '/') {
				path++;
				dlen--;
			}
		}
		cwd = getcwd(NULL, 0);
		if (cwd == NULL) {
			cdns_diag_error_at(l->d, path, 0, 0,
			                   "cannot find the current directory: %s",
			                   strerror(errno));
			l->errors++;
			return CDNS_ECONFIG;
		}
		size_t clen = strlen(cwd);
		bool root = clen == 1;
		bool here = dlen == 0 || (dlen == 1 && path[0] == '.');
		char *dir = cdns__config_alloc(l->c, clen + dlen + 2);
		if (dir != NULL) {
			if (here)
				snprintf(dir, clen + 1, "%s", cwd);
			else
				snprintf(dir, clen + dlen + 2, "%s%s%.*s", cwd, root ? "" : "/",
				         (int)dlen, path);
		}
		l->c->dir = dir;
	}
	if (l->c->dir == NULL) {
		cdns__load_oom(l);
		goto cleanup;
	}
	rc = 0;
cleanup:
	free(cwd);
	return rc;
}

int cdns__config_load(const char *path, cdns_diag_t *d, cdns__config_t **out)
{
	struct cdns__loader l = {.d = d};
	unsigned char *buf = NULL;
	size_t len = 0;

	*out = NULL;
	l.c = calloc(1, sizeof(*l.c));
	if (l.c == NULL) {
		cdns_diag_error_at(d, path, 0, 0, "out of memory");
		return CDNS_ECONFIG;
	}
	l.c->path = cdns__config_strdup(l.c, path);
	if (l.c->path == NULL) {
		cdns_diag_error_at(d, path, 0, 0, "out of memory");
		goto cleanup;
	}
	if (cdns__set_dir(&l) != 0 || cdns__read_file(&l, &buf, &len) != 0)
		goto cleanup;
	cdns__parse(&l, buf, len);
	if (l.errors == 0 && l.c->root == NULL) {
		/* nothing but comments: the same as an empty document */
		yaml_mark_t start = {0, 0, 0};
		l.c->root = cdns__new_node(&l, CDNS_CONF_NULL, start);
	}
cleanup:
	free(buf);
	if (l.errors > 0 || l.c->root == NULL) {
		cdns__config_free(l.c);
		return CDNS_ECONFIG;
	}
	*out = l.c;
	return 0;
}
