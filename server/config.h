/* The configuration file reader: YAML (libyaml events) into a tree of cdns_conf_t nodes that
 * keep their source positions (clouddns/conf.h). */
#ifndef CLOUDDNS_SERVER_CONFIG_H
#define CLOUDDNS_SERVER_CONFIG_H

#include <clouddns/conf.h>

/* Deepest nesting of maps and sequences a file may use. */
#define CDNS__CONFIG_MAX_DEPTH 64
/* Largest file read. */
#define CDNS__CONFIG_MAX_SIZE (64u << 20)

/* A loaded file: owns the node tree and every string in it (one allocation arena). */
typedef struct cdns__config cdns__config_t;

/* Read path into a node tree. Every problem goes to d (which may be NULL) as
 * "FILE:LINE:COL: message" with FILE as given here; all of them are reported (up to the first
 * syntax error, which ends reading). Returns 0 and *out (free with cdns__config_free()), or
 * CDNS_ECONFIG and *out = NULL.
 *
 * What the reader accepts and does:
 *   - one YAML document (a second is an error), no anchors or aliases, no duplicate keys,
 *     only scalars as keys, at most CDNS__CONFIG_MAX_DEPTH nested maps/sequences; tags are
 *     ignored;
 *   - in values (never keys), ${VAR} and ${VAR:-default} are replaced from the environment
 *     (the default is used when VAR is unset or empty), $$ is a literal $, and a $ followed by
 *     anything else stays as it is; inside a flow collection ([...] or {...}) such a value
 *     must be quoted, because YAML reads { and } there as structure;
 *   - plain (unquoted) ~, null, Null, NULL and empty values become CDNS_CONF_NULL nodes;
 *     node->quoted is set for single- and double-quoted scalars;
 *   - an empty file (or one with only comments) gives a CDNS_CONF_NULL root at 1:1.
 * Messages:
 *   "FILE: cannot open: <strerror>", "FILE: cannot read: <strerror>",
 *   "FILE: file is larger than 64 MiB",
 *   "FILE:L:C: syntax error: <libyaml problem>[ (<libyaml context> at L:C)]",
 *   "FILE:L:C: only one YAML document is allowed per file",
 *   "FILE:L:C: anchors and aliases are not supported",
 *   "FILE:L:C: duplicate key 'KEY' (first at L:C)",
 *   "FILE:L:C: map keys must be scalars",
 *   "FILE:L:C: nesting is deeper than 64 levels",
 *   "FILE:L:C: key contains a NUL character", "FILE:L:C: value contains a NUL character",
 *   "FILE:L:C: environment variable 'NAME' is not set",
 *   "FILE:L:C: unterminated '${' (missing '}')",
 *   "FILE:L:C: invalid environment variable reference '${TEXT}'". */
int cdns__config_load(const char *path, cdns_diag_t *d, cdns__config_t **out);

/* Root node (never NULL): usually a map, but the caller checks. */
const cdns_conf_t *cdns__config_root(const cdns__config_t *c);

/* The path as given to cdns__config_load(). */
const char *cdns__config_path(const cdns__config_t *c);

/* Absolute directory of the file (symbolic links are not resolved), without a trailing
 * slash except for "/". */
const char *cdns__config_dir(const cdns__config_t *c);

/* A copy of s that lives as long as the tree (e.g. resolved paths); NULL when out of memory
 * or when s is NULL. */
const char *cdns__config_strdup(cdns__config_t *c, const char *s);

/* Free the tree and all its strings; NULL is fine. */
void cdns__config_free(cdns__config_t *c);

#endif
