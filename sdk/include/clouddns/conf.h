/* Configuration nodes handed to plugins, and the option tables plugins declare.
 * The server reads YAML into a tree of cdns_conf_t nodes that keep their source position, so
 * every error can name file:line:column. The tree lives as long as the pipeline built from it:
 * strings and nodes may be kept by a plugin until its teardown. */
#ifndef CLOUDDNS_CONF_H
#define CLOUDDNS_CONF_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef enum { CDNS_CONF_NULL, CDNS_CONF_SCALAR, CDNS_CONF_MAP, CDNS_CONF_SEQ } cdns_conf_kind_t;

typedef struct cdns_conf cdns_conf_t;
struct cdns_conf {
	cdns_conf_kind_t kind;
	const char *file;       /* source file name */
	unsigned line, col;     /* 1-based position of the value */
	const char *key;        /* key when this node is a value in a map, else NULL */
	unsigned key_line, key_col;
	const char *value;      /* scalar text after ${VAR} expansion (NULL for maps/sequences) */
	bool quoted;            /* scalar was quoted in the source */
	cdns_conf_t *child;     /* first child of a map or sequence */
	cdns_conf_t *next;      /* next sibling */
	size_t n_children;
};

/* Child of a map by key, or NULL. */
const cdns_conf_t *cdns_conf_get(const cdns_conf_t *map, const char *key);

/* Diagnostics: errors are collected (all of them) and printed by the server as
 * "file:line:col: <prefix>message". */
typedef struct cdns_diag cdns_diag_t;
void cdns_diag_error(cdns_diag_t *d, const cdns_conf_t *at, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void cdns_diag_verror(cdns_diag_t *d, const cdns_conf_t *at, const char *fmt, va_list ap);
/* Error at a map key's position instead of its value's. */
void cdns_diag_key_error(cdns_diag_t *d, const cdns_conf_t *at, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Error not tied to a node (file-level: "file: message" or just "message"). */
void cdns_diag_error_at(cdns_diag_t *d, const char *file, unsigned line, unsigned col,
			const char *fmt, ...) __attribute__((format(printf, 5, 6)));
unsigned cdns_diag_count(const cdns_diag_t *d);

/* A new, empty collector; NULL when out of memory. Free with cdns_diag_free(). Every
 * cdns_diag_* function accepts d == NULL (reports are then dropped, the count stays 0).
 * Each message is one line: control characters are replaced by spaces and a message longer
 * than CDNS_DIAG_MAX bytes is cut and ends in "...". */
#define CDNS_DIAG_MAX 1024
cdns_diag_t *cdns_diag_new(void);
void cdns_diag_free(cdns_diag_t *d);
/* Forget all messages (e.g. before a reload); the collector stays usable. */
void cdns_diag_clear(cdns_diag_t *d);
/* Write each message on its own line, in the order reported. */
void cdns_diag_print(const cdns_diag_t *d, FILE *f);
/* Message i (0-based, in the order reported), or NULL when i >= cdns_diag_count(d). The
 * string belongs to d and lives until cdns_diag_clear() or cdns_diag_free(). */
const char *cdns_diag_message(const cdns_diag_t *d, unsigned i);

/* Option tables: each plugin declares its options; cdns_conf_apply() checks the map against
 * the table (unknown keys, wrong types, ranges, required keys) and stores values at the given
 * offsets of the plugin's own struct. */
typedef enum {
	CDNS_OPT_BOOL,     /* bool */
	CDNS_OPT_INT,      /* int64_t, within [min, max] */
	CDNS_OPT_STRING,   /* const char * (points into the tree) */
	CDNS_OPT_DURATION, /* int64_t milliseconds; text "250ms", "30" (= s), "5m", "1h", "2d" */
	CDNS_OPT_SIZE,     /* int64_t bytes; text "4096", "64k", "16M", "2G" */
	CDNS_OPT_ENUM,     /* int, index into enum_values */
	CDNS_OPT_STRLIST,  /* const cdns_conf_t * of a sequence of scalars (a scalar is accepted
			    * as a one-element list: then the node is that scalar) */
	CDNS_OPT_NODE,     /* const cdns_conf_t *, any kind: the plugin checks it */
} cdns_opt_type_t;

typedef struct cdns_opt_def {
	const char *key;
	cdns_opt_type_t type;
	size_t offset;   /* offsetof() in the plugin's struct */
	const char *def; /* default as text (parsed like a value), or NULL: none */
	int64_t min, max; /* range for INT, DURATION (ms), SIZE; ignored when min > max */
	bool required;
	const char *const *enum_values; /* NULL-terminated, for CDNS_OPT_ENUM */
} cdns_opt_def_t;

/* Table terminator. */
#define CDNS_OPT_END { NULL, 0, 0, NULL, 0, 0, false, NULL }

/* Apply a table to a map (or to a null/empty node, meaning "all defaults"). Every problem is
 * reported to d with prefix (e.g. "plugin 'cache': "); returns 0 or CDNS_ECONFIG.
 *
 * map may be NULL (no options: positions are then unknown), a CDNS_CONF_NULL node or a map;
 * anything else is an error. Errors come in document order (unknown keys, bad values), then
 * missing required keys in table order:
 *   "<prefix>unknown option 'KEY'[; did you mean 'NAME'?]"      at the key
 *   "<prefix>option 'KEY': must be <what>, got \"TEXT\""         at the value
 *   "<prefix>option 'KEY': must be <what>, got a map|a list|null"
 *   "<prefix>option 'KEY' is required"                          at the map
 * An option given with a null value (`size:` or `size: ~`) is an error, except for NODE.
 * Absent options take their default (def, parsed like a value; STRING stores def itself);
 * absent options without a default leave their field untouched. STRLIST and NODE options
 * cannot have a default. Values that parsed are stored even when other options failed. */
int cdns_conf_apply(cdns_diag_t *d, const char *prefix, const cdns_conf_t *map,
		    const cdns_opt_def_t *table, void *out);

/* A required list option (node, named option): a non-empty sequence of at most max entries.
 * Errors: "<prefix>option '<option>': must be a list of <shape>" and "... at most <max>
 * <what>". Returns 0 or CDNS_ECONFIG. */
int cdns_conf_check_list(cdns_diag_t *d, const char *prefix, const cdns_conf_t *node,
			 const char *option, const char *shape, size_t max, const char *what);

/* Value parsers used by cdns_conf_apply, for plugins that parse nested structures themselves.
 * Each returns 0 or CDNS_EINVAL/CDNS_ERANGE; *out is only written on success.
 *   bool:     true/false, yes/no, on/off, any case
 *   int:      decimal with an optional sign; CDNS_ERANGE outside int64_t
 *   duration: "30" (seconds) or number+unit groups in decreasing unit order, each unit once:
 *             w, d, h, m, s, ms ("250ms", "30s", "1h30m", "1d12h"); no sign
 *   size:     bytes, optional k/K, m/M, g/G suffix (1024-based) and optional trailing B
 *             ("4096", "64k", "16MB", "2G", "512B") */
int cdns_parse_bool(const char *s, bool *out);
int cdns_parse_int(const char *s, int64_t *out);
int cdns_parse_duration_ms(const char *s, int64_t *out);
int cdns_parse_size(const char *s, int64_t *out);

#endif
