/* Configuration: the YAML reader (server/config.c), diagnostics, value parsers and option
 * tables (sdk/lib/conf.c). Every user-visible message is checked word for word. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <clouddns/conf.h>
#include <clouddns/error.h>

/* by relative path: "config.h" alone would find autoconf's header first */
#include "../../server/config.h"

/* --- Fixture: a temporary YAML file, its diagnostics and its tree --- */

struct fx {
	char path[64];
	cdns_diag_t *d;
	cdns__config_t *c;
	const cdns_conf_t *root;
};

static int fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	f->d = cdns_diag_new();
	assert_non_null(f->d);
	*state = f;
	return 0;
}

static int fx_teardown(void **state)
{
	struct fx *f = *state;
	if (f->path[0] != '\0')
		unlink(f->path);
	cdns__config_free(f->c);
	cdns_diag_free(f->d);
	free(f);
	return 0;
}

/* Write len bytes to a new temporary file (path in f->path). */
static void fx_write(struct fx *f, const char *data, size_t len)
{
	snprintf(f->path, sizeof(f->path), "/tmp/test_conf_XXXXXX");
	int fd = mkstemp(f->path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
}

/* Write yaml and load it; returns what cdns__config_load() returned. */
static int fx_load(struct fx *f, const char *yaml)
{
	fx_write(f, yaml, strlen(yaml));
	int rc = cdns__config_load(f->path, f->d, &f->c);
	if (rc == 0) {
		assert_non_null(f->c);
		f->root = cdns__config_root(f->c);
		assert_non_null(f->root);
	} else {
		assert_int_equal(rc, CDNS_ECONFIG);
		assert_null(f->c);
	}
	return rc;
}

/* Message i must be "<path>:<rest>" where rest is printf-formatted. */
static void expect_msg(const struct fx *f, unsigned i, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void expect_msg(const struct fx *f, unsigned i, const char *fmt, ...)
{
	char rest[2048], want[4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(rest, sizeof(rest), fmt, ap);
	va_end(ap);
	snprintf(want, sizeof(want), "%s:%s", f->path, rest);
	const char *got = cdns_diag_message(f->d, i);
	if (got == NULL)
		fail_msg("no message %u (want \"%s\")", i, want);
	assert_string_equal(got, want);
}

static void expect_count(const struct fx *f, unsigned n)
{
	if (cdns_diag_count(f->d) != n) {
		for (unsigned i = 0; i < cdns_diag_count(f->d); i++)
			print_message("  [%u] %s\n", i, cdns_diag_message(f->d, i));
		fail_msg("%u messages, want %u", cdns_diag_count(f->d), n);
	}
}

/* Load yaml that must be valid. */
static const cdns_conf_t *fx_ok(struct fx *f, const char *yaml)
{
	int rc = fx_load(f, yaml);
	expect_count(f, 0);
	assert_int_equal(rc, 0);
	return f->root;
}

static const cdns_conf_t *nth(const cdns_conf_t *n, unsigned i)
{
	assert_non_null(n);
	const cdns_conf_t *c = n->child;
	while (c != NULL && i-- > 0)
		c = c->next;
	assert_non_null(c);
	return c;
}

static void expect_pos(const cdns_conf_t *n, unsigned line, unsigned col)
{
	assert_non_null(n);
	assert_int_equal(n->line, line);
	assert_int_equal(n->col, col);
}

static void expect_scalar(const cdns_conf_t *n, const char *value)
{
	assert_non_null(n);
	assert_int_equal(n->kind, CDNS_CONF_SCALAR);
	assert_string_equal(n->value, value);
}

/* ===================== The reader ===================== */

static void t_load_tree_positions(void **state)
{
	struct fx *f = *state;
	const cdns_conf_t *root = fx_ok(f, "server:\n"
	                                   "  listen: [\"127.0.0.1:53\", '::1']\n"
	                                   "  identity: ns1.example.net\n"
	                                   "pipeline:\n"
	                                   "  - chaos: {}\n"
	                                   "  - file:\n"
	                                   "      zones:\n"
	                                   "        - { name: example.com, path: z.zone }\n");

	assert_int_equal(root->kind, CDNS_CONF_MAP);
	expect_pos(root, 1, 1);
	assert_null(root->key);
	assert_int_equal(root->n_children, 2);
	assert_string_equal(root->file, f->path);

	const cdns_conf_t *server = cdns_conf_get(root, "server");
	assert_int_equal(server->kind, CDNS_CONF_MAP);
	assert_string_equal(server->key, "server");
	assert_int_equal(server->key_line, 1);
	assert_int_equal(server->key_col, 1);
	expect_pos(server, 2, 3);

	const cdns_conf_t *listen = cdns_conf_get(server, "listen");
	assert_int_equal(listen->kind, CDNS_CONF_SEQ);
	assert_int_equal(listen->key_line, 2);
	assert_int_equal(listen->key_col, 3);
	expect_pos(listen, 2, 11);
	assert_int_equal(listen->n_children, 2);
	expect_scalar(nth(listen, 0), "127.0.0.1:53");
	expect_pos(nth(listen, 0), 2, 12);
	assert_true(nth(listen, 0)->quoted);
	assert_null(nth(listen, 0)->key);
	expect_scalar(nth(listen, 1), "::1");
	expect_pos(nth(listen, 1), 2, 28);
	assert_true(nth(listen, 1)->quoted);

	const cdns_conf_t *id = cdns_conf_get(server, "identity");
	expect_scalar(id, "ns1.example.net");
	assert_false(id->quoted);
	expect_pos(id, 3, 13);

	const cdns_conf_t *pipeline = cdns_conf_get(root, "pipeline");
	assert_int_equal(pipeline->kind, CDNS_CONF_SEQ);
	expect_pos(pipeline, 5, 3);
	const cdns_conf_t *chaos = cdns_conf_get(nth(pipeline, 0), "chaos");
	assert_int_equal(chaos->kind, CDNS_CONF_MAP);
	assert_int_equal(chaos->n_children, 0);
	assert_null(chaos->child);
	expect_pos(chaos, 5, 12);

	const cdns_conf_t *zones = cdns_conf_get(cdns_conf_get(nth(pipeline, 1), "file"), "zones");
	expect_pos(zones, 8, 9);
	const cdns_conf_t *zone = nth(zones, 0);
	expect_pos(zone, 8, 11);
	const cdns_conf_t *path = cdns_conf_get(zone, "path");
	expect_scalar(path, "z.zone");
	assert_int_equal(path->key_line, 8);
	assert_int_equal(path->key_col, 32);
	expect_pos(path, 8, 38);

	/* cdns_conf_get on things that are not maps, and missing keys */
	assert_null(cdns_conf_get(root, "nope"));
	assert_null(cdns_conf_get(listen, "0"));
	assert_null(cdns_conf_get(NULL, "server"));
	assert_null(cdns_conf_get(id, "x"));

	assert_string_equal(cdns__config_path(f->c), f->path);
	assert_string_equal(cdns__config_dir(f->c), "/tmp");
}

static void t_load_null_scalars(void **state)
{
	struct fx *f = *state;
	const cdns_conf_t *root = fx_ok(f, "a: ~\n"
	                                   "b: null\n"
	                                   "c: Null\n"
	                                   "d: NULL\n"
	                                   "e:\n"
	                                   "f: ''\n"
	                                   "g: \"null\"\n"
	                                   "h: nULL\n"
	                                   "i: '~'\n"
	                                   "j:\n"
	                                   "  - ~\n"
	                                   "  -\n"
	                                   "  - x\n");

	const char *nulls[] = {"a", "b", "c", "d", "e"};
	for (size_t i = 0; i < sizeof(nulls) / sizeof(nulls[0]); i++) {
		const cdns_conf_t *n = cdns_conf_get(root, nulls[i]);
		assert_non_null(n);
		assert_int_equal(n->kind, CDNS_CONF_NULL);
		assert_null(n->value);
		assert_string_equal(n->key, nulls[i]);
	}
	expect_pos(cdns_conf_get(root, "a"), 1, 4);
	expect_scalar(cdns_conf_get(root, "f"), "");
	assert_true(cdns_conf_get(root, "f")->quoted);
	expect_scalar(cdns_conf_get(root, "g"), "null");
	expect_scalar(cdns_conf_get(root, "h"), "nULL");
	expect_scalar(cdns_conf_get(root, "i"), "~");
	const cdns_conf_t *j = cdns_conf_get(root, "j");
	assert_int_equal(j->n_children, 3);
	assert_int_equal(nth(j, 0)->kind, CDNS_CONF_NULL);
	assert_int_equal(nth(j, 1)->kind, CDNS_CONF_NULL);
	expect_scalar(nth(j, 2), "x");
}

static void t_load_block_scalars_and_tags(void **state)
{
	struct fx *f = *state;
	const cdns_conf_t *root = fx_ok(f, "a: |\n"
	                                   "  x\n"
	                                   "  y\n"
	                                   "b: !!str 5\n"
	                                   "c: !custom {x: 1}\n"
	                                   "d: !!null ''\n");

	expect_scalar(cdns_conf_get(root, "a"), "x\ny\n");
	assert_false(cdns_conf_get(root, "a")->quoted);
	expect_scalar(cdns_conf_get(root, "b"), "5");
	expect_pos(cdns_conf_get(root, "b"), 4, 4);
	const cdns_conf_t *c = cdns_conf_get(root, "c");
	assert_int_equal(c->kind, CDNS_CONF_MAP);
	expect_scalar(cdns_conf_get(c, "x"), "1");
	/* tags are ignored: a quoted empty string stays a string */
	expect_scalar(cdns_conf_get(root, "d"), "");
}

static void t_load_scalar_and_seq_roots(void **state)
{
	struct fx *f = *state;
	const cdns_conf_t *root = fx_ok(f, "--- \n- a\n- b\n...\n");
	assert_int_equal(root->kind, CDNS_CONF_SEQ);
	expect_pos(root, 2, 1);
	assert_int_equal(root->n_children, 2);
}

static void t_load_empty_file(void **state)
{
	struct fx *f = *state;
	const cdns_conf_t *root = fx_ok(f, "");
	assert_int_equal(root->kind, CDNS_CONF_NULL);
	expect_pos(root, 1, 1);
	assert_string_equal(root->file, f->path);
}

static void t_load_comments_only(void **state)
{
	struct fx *f = *state;
	const cdns_conf_t *root = fx_ok(f, "# nothing\n\n# here\n");
	assert_int_equal(root->kind, CDNS_CONF_NULL);
}

static void t_load_syntax_error(void **state)
{
	struct fx *f = *state;
	assert_int_equal(fx_load(f, "a: 1\nb:\n  c: d: e\n"), CDNS_ECONFIG);
	expect_count(f, 1);
	expect_msg(f, 0, "3:7: syntax error: mapping values are not allowed in this context");
}

static void t_load_syntax_error_context(void **state)
{
	struct fx *f = *state;
	assert_int_equal(fx_load(f, "a: [1, 2\nb: 3\n"), CDNS_ECONFIG);
	expect_count(f, 1);
	expect_msg(f, 0,
	           "2:2: syntax error: did not find expected ',' or ']' (while parsing a flow "
	           "sequence at 1:4)");
}

static void t_load_syntax_error_after_other_errors(void **state)
{
	struct fx *f = *state;
	/* errors found before the syntax error are kept, in order */
	assert_int_equal(fx_load(f, "a: 1\na: 2\nb: \"open\n"), CDNS_ECONFIG);
	expect_count(f, 2);
	expect_msg(f, 0, "2:1: duplicate key 'a' (first at 1:1)");
	expect_msg(f, 1,
	           "4:1: syntax error: found unexpected end of stream (while scanning a quoted "
	           "scalar at 3:4)");
}

static void t_load_control_character(void **state)
{
	struct fx *f = *state;
	assert_int_equal(fx_load(f, "a: 1\nb: x\x01y\n"), CDNS_ECONFIG);
	expect_count(f, 1);
	expect_msg(f, 0, "2:5: syntax error: control characters are not allowed (0x01)");
}

static void t_load_binary_garbage(void **state)
{
	struct fx *f = *state;
	unsigned char junk[4096];
	uint32_t x = 2463534242u;

	/* deterministic garbage (xorshift), NULs and invalid UTF-8 included */
	for (size_t i = 0; i < sizeof(junk); i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		junk[i] = (unsigned char)x;
	}
	junk[0] = 0xff;
	junk[1] = 0x00;
	fx_write(f, (const char *)junk, sizeof(junk));
	assert_int_equal(cdns__config_load(f->path, f->d, &f->c), CDNS_ECONFIG);
	assert_null(f->c);
	assert_true(cdns_diag_count(f->d) >= 1);
	char want[128];
	snprintf(want, sizeof(want), "%s:", f->path);
	assert_memory_equal(cdns_diag_message(f->d, 0), want, strlen(want));
	assert_non_null(strstr(cdns_diag_message(f->d, 0), ": syntax error: "));
}

static void t_load_garbage_variants(void **state)
{
	/* inputs that once upset YAML readers: none may crash or leak */
	static const char *const inputs[] = {
	    "\xef\xbb\xbf", "\xff\xfe",   "{",         "}",          "[",
	    "]]]",          ":",          "? ",        "- - - - -",  "&a",
	    "*a",           "!x",         "%YAML 1.1", "%FOO\n---",  "a: 'x",
	    "{a: [}",       "- |\n\tx",   "\"\\u00\"", "a:\n- b\nc", "@x",
	    "? - a\n: b",   "{? {a: 1}}", "---\n---",  "...\n...",   "'",
	};
	struct fx *f = *state;

	for (size_t i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
		cdns__config_t *c = NULL;
		fx_write(f, inputs[i], strlen(inputs[i]));
		int rc = cdns__config_load(f->path, f->d, &c);
		assert_true(rc == 0 || rc == CDNS_ECONFIG);
		if (rc == 0)
			assert_non_null(cdns__config_root(c));
		else
			assert_null(c);
		cdns__config_free(c);
		unlink(f->path);
	}
	f->path[0] = '\0';
}

static void t_load_missing_file(void **state)
{
	struct fx *f = *state;
	cdns__config_t *c = (cdns__config_t *)&c; /* must be reset to NULL */

	assert_int_equal(cdns__config_load("/nonexistent/dir/clouddns.yaml", f->d, &c),
	                 CDNS_ECONFIG);
	assert_null(c);
	expect_count(f, 1);
	assert_string_equal(
	    cdns_diag_message(f->d, 0),
	    "/nonexistent/dir/clouddns.yaml: cannot open: No such file or directory");
}

static void t_load_directory(void **state)
{
	struct fx *f = *state;
	cdns__config_t *c = NULL;

	assert_int_equal(cdns__config_load("/tmp", f->d, &c), CDNS_ECONFIG);
	assert_null(c);
	expect_count(f, 1);
	assert_string_equal(cdns_diag_message(f->d, 0), "/tmp: cannot read: Is a directory");
}

static void t_load_null_diag(void **state)
{
	cdns__config_t *c = NULL;

	(void)state;
	assert_int_equal(cdns__config_load("/nonexistent.yaml", NULL, &c), CDNS_ECONFIG);
	assert_null(c);
}

static void t_load_duplicate_keys(void **state)
{
	struct fx *f = *state;
	assert_int_equal(fx_load(f, "server:\n"
	                            "  listen: a\n"
	                            "  workers: 2\n"
	                            "  listen: b\n"
	                            "  listen: c\n"
	                            "pipeline: []\n"
	                            "server: {}\n"
	                            "x: {a: 1, a: 2}\n"),
	                 CDNS_ECONFIG);
	expect_count(f, 4);
	expect_msg(f, 0, "4:3: duplicate key 'listen' (first at 2:3)");
	expect_msg(f, 1, "5:3: duplicate key 'listen' (first at 2:3)");
	expect_msg(f, 2, "7:1: duplicate key 'server' (first at 1:1)");
	expect_msg(f, 3, "8:11: duplicate key 'a' (first at 8:5)");
}

static void t_load_duplicate_keys_large_map(void **state)
{
	struct fx *f = *state;
	char *yaml = malloc(200000);
	size_t o = 0;

	assert_non_null(yaml);
	/* enough keys to use the hash index, and a duplicate of an early and of a late one */
	for (unsigned i = 0; i < 5000; i++)
		o += (size_t)sprintf(yaml + o, "key%u: %u\n", i, i);
	o += (size_t)sprintf(yaml + o, "key7: again\nkey4999: again\n");
	yaml[o] = '\0';
	assert_int_equal(fx_load(f, yaml), CDNS_ECONFIG);
	free(yaml);
	expect_count(f, 2);
	expect_msg(f, 0, "5001:1: duplicate key 'key7' (first at 8:1)");
	expect_msg(f, 1, "5002:1: duplicate key 'key4999' (first at 5000:1)");
}

static void t_load_large_map_ok(void **state)
{
	struct fx *f = *state;
	char *yaml = malloc(100000);
	size_t o = 0;

	assert_non_null(yaml);
	for (unsigned i = 0; i < 3000; i++)
		o += (size_t)sprintf(yaml + o, "k%u: %u\n", i, i);
	yaml[o] = '\0';
	const cdns_conf_t *root = fx_ok(f, yaml);
	free(yaml);
	assert_int_equal(root->n_children, 3000);
	expect_scalar(cdns_conf_get(root, "k2999"), "2999");
	assert_int_equal(cdns_conf_get(root, "k2999")->key_line, 3000);
}

static void t_load_anchors_aliases(void **state)
{
	struct fx *f = *state;
	assert_int_equal(fx_load(f, "base: &b\n"
	                            "  size: 1\n"
	                            "copy: *b\n"
	                            "s: &x text\n"
	                            "l: &y [1]\n"
	                            "m: { <<: *b }\n"),
	                 CDNS_ECONFIG);
	expect_count(f, 5);
	expect_msg(f, 0, "1:7: anchors and aliases are not supported");
	expect_msg(f, 1, "3:7: anchors and aliases are not supported");
	expect_msg(f, 2, "4:4: anchors and aliases are not supported");
	expect_msg(f, 3, "5:4: anchors and aliases are not supported");
	expect_msg(f, 4, "6:10: anchors and aliases are not supported");
}

static void t_load_alias_as_key(void **state)
{
	struct fx *f = *state;
	assert_int_equal(fx_load(f, "a: &k x\n*k : 1\nb: 2\nb: 3\n"), CDNS_ECONFIG);
	expect_count(f, 3);
	expect_msg(f, 0, "1:4: anchors and aliases are not supported");
	expect_msg(f, 1, "2:1: anchors and aliases are not supported");
	expect_msg(f, 2, "4:1: duplicate key 'b' (first at 3:1)");
}

static void t_load_non_scalar_keys(void **state)
{
	struct fx *f = *state;
	assert_int_equal(fx_load(f, "? [a, b]\n"
	                            ": 1\n"
	                            "? {x: 1}\n"
	                            ": {y: 2}\n"
	                            "ok: 3\n"
	                            "{z: 1}: 4\n"),
	                 CDNS_ECONFIG);
	expect_count(f, 3);
	expect_msg(f, 0, "1:3: map keys must be scalars");
	expect_msg(f, 1, "3:3: map keys must be scalars");
	expect_msg(f, 2, "6:1: map keys must be scalars");
}

static void t_load_second_document(void **state)
{
	struct fx *f = *state;
	assert_int_equal(fx_load(f, "a: 1\n---\nb: 2\n"), CDNS_ECONFIG);
	expect_count(f, 1);
	expect_msg(f, 0, "2:1: only one YAML document is allowed per file");
}

static void t_load_second_document_after_end(void **state)
{
	struct fx *f = *state;
	assert_int_equal(fx_load(f, "---\na: 1\n...\n---\nb: 2\n"), CDNS_ECONFIG);
	expect_count(f, 1);
	expect_msg(f, 0, "4:1: only one YAML document is allowed per file");
}

/* Nesting of depth n: n flow sequences around one scalar. */
static char *nested(unsigned n)
{
	char *s = malloc(2 * n + 2);
	assert_non_null(s);
	memset(s, '[', n);
	s[n] = '1';
	memset(s + n + 1, ']', n);
	s[2 * n + 1] = '\0';
	return s;
}

static void t_load_nesting_limit(void **state)
{
	struct fx *f = *state;
	char *ok = nested(CDNS__CONFIG_MAX_DEPTH);
	const cdns_conf_t *n = fx_ok(f, ok);
	free(ok);
	for (unsigned i = 1; i < CDNS__CONFIG_MAX_DEPTH; i++)
		n = nth(n, 0);
	assert_int_equal(n->kind, CDNS_CONF_SEQ);
	expect_scalar(nth(n, 0), "1");
}

static void t_load_nesting_too_deep(void **state)
{
	struct fx *f = *state;
	char *deep = nested(CDNS__CONFIG_MAX_DEPTH + 1);
	int rc = fx_load(f, deep);
	free(deep);
	assert_int_equal(rc, CDNS_ECONFIG);
	expect_count(f, 1);
	expect_msg(f, 0, "1:65: nesting is deeper than 64 levels");
}

static void t_load_nesting_very_deep_block(void **state)
{
	struct fx *f = *state;
	enum { BLOCK = 49, FLOW = 10000 };
	char *yaml = malloc(BLOCK * (BLOCK + 3) + FLOW + 1);
	size_t o = 0;

	assert_non_null(yaml);
	/* 49 nested block maps ("a:" indented one more space per line), then 10000 unclosed
	 * flow maps: reading must stop at the limit, not recurse or exhaust anything */
	for (unsigned i = 0; i < BLOCK; i++) {
		memset(yaml + o, ' ', i);
		o += i;
		memcpy(yaml + o, "a:\n", 3);
		o += 3;
	}
	memset(yaml + o, ' ', BLOCK);
	o += BLOCK;
	memset(yaml + o, '{', FLOW);
	o += FLOW;
	yaml[o] = '\0';
	int rc = fx_load(f, yaml);
	free(yaml);
	assert_int_equal(rc, CDNS_ECONFIG);
	expect_count(f, 1);
	/* the flow maps start at column 50 as level 50: level 65 is at column 65 */
	expect_msg(f, 0, "50:65: nesting is deeper than 64 levels");
}

static void t_load_nul_in_scalars(void **state)
{
	struct fx *f = *state;
	assert_int_equal(fx_load(f, "a: \"x\\0y\"\n\"k\\0\": 1\nb: ok\n"), CDNS_ECONFIG);
	expect_count(f, 2);
	expect_msg(f, 0, "1:4: value contains a NUL character");
	expect_msg(f, 1, "2:1: key contains a NUL character");
}

static void t_load_relative_path_dir(void **state)
{
	struct fx *f = *state;
	char cwd[PATH_MAX];
	const char *rel;

	fx_write(f, "a: 1\n", 5);
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(chdir("/tmp"), 0);
	rel = f->path + strlen("/tmp/");

	assert_int_equal(cdns__config_load(rel, f->d, &f->c), 0);
	assert_string_equal(cdns__config_path(f->c), rel);
	assert_string_equal(cdns__config_dir(f->c), "/tmp");
	assert_string_equal(cdns__config_root(f->c)->file, rel);
	cdns__config_free(f->c);
	f->c = NULL;

	char dotted[128];
	snprintf(dotted, sizeof(dotted), "./%s", rel);
	assert_int_equal(cdns__config_load(dotted, f->d, &f->c), 0);
	assert_string_equal(cdns__config_dir(f->c), "/tmp");
	cdns__config_free(f->c);
	f->c = NULL;

	assert_int_equal(chdir("/"), 0);
	snprintf(dotted, sizeof(dotted), "./tmp//%s", rel);
	assert_int_equal(cdns__config_load(dotted, f->d, &f->c), 0);
	assert_string_equal(cdns__config_dir(f->c), "/tmp");
	expect_count(f, 0);
	assert_int_equal(chdir(cwd), 0);
}

static void t_load_strdup(void **state)
{
	struct fx *f = *state;
	fx_ok(f, "a: 1\n");
	char big[40000];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';

	const char *s = cdns__config_strdup(f->c, "/tmp/zones/example.com.zone");
	assert_string_equal(s, "/tmp/zones/example.com.zone");
	const char *b = cdns__config_strdup(f->c, big);
	assert_string_equal(b, big);
	const char *t = cdns__config_strdup(f->c, "after");
	assert_string_equal(t, "after");
	assert_string_equal(s, "/tmp/zones/example.com.zone");
	assert_null(cdns__config_strdup(f->c, NULL));
}

/* --- ${VAR} expansion --- */

static void t_env_expand(void **state)
{
	struct fx *f = *state;
	setenv("CDNS_T_HOST", "db.example", 1);
	setenv("CDNS_T_EMPTY", "", 1);
	unsetenv("CDNS_T_UNSET");
	const cdns_conf_t *root = fx_ok(f, "a: ${CDNS_T_HOST}\n"
	                                   "b: \"${CDNS_T_HOST}:5432\"\n"
	                                   "c: ${CDNS_T_UNSET:-fallback}\n"
	                                   "d: ${CDNS_T_EMPTY:-was empty}\n"
	                                   "e: x${CDNS_T_EMPTY}y\n"
	                                   "f: $$HOME and $${X}\n"
	                                   "g: cost $5, $ alone, $\n"
	                                   "h: ${CDNS_T_UNSET:-}\n"
	                                   "i: [\"${CDNS_T_HOST}\", '${CDNS_T_UNSET:-d}']\n"
	                                   "${CDNS_T_HOST}: key not expanded\n"
	                                   "j: ${CDNS_T_UNSET:-a:-b $$}\n");

	expect_scalar(cdns_conf_get(root, "a"), "db.example");
	assert_false(cdns_conf_get(root, "a")->quoted);
	expect_scalar(cdns_conf_get(root, "b"), "db.example:5432");
	assert_true(cdns_conf_get(root, "b")->quoted);
	expect_scalar(cdns_conf_get(root, "c"), "fallback");
	expect_scalar(cdns_conf_get(root, "d"), "was empty");
	expect_scalar(cdns_conf_get(root, "e"), "xy");
	expect_scalar(cdns_conf_get(root, "f"), "$HOME and ${X}");
	expect_scalar(cdns_conf_get(root, "g"), "cost $5, $ alone, $");
	/* an empty expansion is an empty string, not null */
	expect_scalar(cdns_conf_get(root, "h"), "");
	const cdns_conf_t *i = cdns_conf_get(root, "i");
	expect_scalar(nth(i, 0), "db.example");
	expect_scalar(nth(i, 1), "d");
	expect_scalar(cdns_conf_get(root, "${CDNS_T_HOST}"), "key not expanded");
	/* the default is literal text */
	expect_scalar(cdns_conf_get(root, "j"), "a:-b $$");
	unsetenv("CDNS_T_HOST");
	unsetenv("CDNS_T_EMPTY");
}

static void t_env_unset(void **state)
{
	struct fx *f = *state;
	unsetenv("DB_PASS");
	unsetenv("CDNS_T_OTHER");
	assert_int_equal(fx_load(f, "db:\n"
	                            "  user: admin\n"
	                            "  pass: ${DB_PASS}\n"
	                            "  url: \"${CDNS_T_OTHER}/${DB_PASS}\"\n"),
	                 CDNS_ECONFIG);
	expect_count(f, 3);
	expect_msg(f, 0, "3:9: environment variable 'DB_PASS' is not set");
	expect_msg(f, 1, "4:8: environment variable 'CDNS_T_OTHER' is not set");
	expect_msg(f, 2, "4:8: environment variable 'DB_PASS' is not set");
}

static void t_env_unterminated(void **state)
{
	struct fx *f = *state;
	assert_int_equal(fx_load(f, "a: ok\nb: ${HOME\nc: '${X:-y'\n"), CDNS_ECONFIG);
	expect_count(f, 2);
	expect_msg(f, 0, "2:4: unterminated '${' (missing '}')");
	expect_msg(f, 1, "3:4: unterminated '${' (missing '}')");
}

static void t_env_invalid_reference(void **state)
{
	struct fx *f = *state;
	assert_int_equal(fx_load(f, "a: ${}\nb: ${1X}\nc: ${A-B}\nd: ${A:x}\n"), CDNS_ECONFIG);
	expect_count(f, 4);
	expect_msg(f, 0, "1:4: invalid environment variable reference '${}'");
	expect_msg(f, 1, "2:4: invalid environment variable reference '${1X}'");
	expect_msg(f, 2, "3:4: invalid environment variable reference '${A-B}'");
	expect_msg(f, 3, "4:4: invalid environment variable reference '${A:x}'");
}

/* ===================== Diagnostics ===================== */

static void t_diag_positions(void **state)
{
	cdns_diag_t *d = cdns_diag_new();
	cdns_conf_t n = {.kind = CDNS_CONF_SCALAR,
	                 .file = "c.yaml",
	                 .line = 12,
	                 .col = 7,
	                 .key = "size",
	                 .key_line = 12,
	                 .key_col = 1,
	                 .value = "big"};
	cdns_conf_t nokey = {.kind = CDNS_CONF_SCALAR, .file = "c.yaml", .line = 3, .col = 5};
	cdns_conf_t nofile = {.kind = CDNS_CONF_SCALAR, .line = 3, .col = 5};

	(void)state;
	assert_non_null(d);
	assert_int_equal(cdns_diag_count(d), 0);
	assert_null(cdns_diag_message(d, 0));
	cdns_diag_error(d, &n, "plugin '%s': option 'size': bad", "cache");
	cdns_diag_key_error(d, &n, "key %d", 1);
	cdns_diag_key_error(d, &nokey, "no key");
	cdns_diag_error(d, NULL, "nowhere");
	cdns_diag_error_at(d, "c.yaml", 0, 0, "cannot open: %s", "No such file or directory");
	cdns_diag_error_at(d, "c.yaml", 2, 9, "at %s", "2:9");
	cdns_diag_error_at(d, NULL, 0, 0, "plain");
	cdns_diag_error(d, &nofile, "no file");
	assert_int_equal(cdns_diag_count(d), 8);
	assert_string_equal(cdns_diag_message(d, 0),
	                    "c.yaml:12:7: plugin 'cache': option 'size': bad");
	assert_string_equal(cdns_diag_message(d, 1), "c.yaml:12:1: key 1");
	assert_string_equal(cdns_diag_message(d, 2), "c.yaml:3:5: no key");
	assert_string_equal(cdns_diag_message(d, 3), "nowhere");
	assert_string_equal(cdns_diag_message(d, 4),
	                    "c.yaml: cannot open: No such file or directory");
	assert_string_equal(cdns_diag_message(d, 5), "c.yaml:2:9: at 2:9");
	assert_string_equal(cdns_diag_message(d, 6), "plain");
	assert_string_equal(cdns_diag_message(d, 7), "3:5: no file");
	assert_null(cdns_diag_message(d, 8));

	cdns_diag_clear(d);
	assert_int_equal(cdns_diag_count(d), 0);
	cdns_diag_error(d, &n, "again");
	assert_string_equal(cdns_diag_message(d, 0), "c.yaml:12:7: again");
	cdns_diag_free(d);
}

static void verror_helper(cdns_diag_t *d, const cdns_conf_t *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void verror_helper(cdns_diag_t *d, const cdns_conf_t *at, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	cdns_diag_verror(d, at, fmt, ap);
	va_end(ap);
}

static void t_diag_verror_and_print(void **state)
{
	cdns_diag_t *d = cdns_diag_new();
	cdns_conf_t n = {.file = "f.yaml", .line = 1, .col = 2};
	char *buf = NULL;
	size_t len = 0;

	(void)state;
	verror_helper(d, &n, "first %d", 1);
	verror_helper(d, &n, "second %s", "two");
	cdns_diag_error_at(d, "f.yaml", 0, 0, "third");
	FILE *out = open_memstream(&buf, &len);
	assert_non_null(out);
	cdns_diag_print(d, out);
	fclose(out);
	assert_string_equal(buf, "f.yaml:1:2: first 1\nf.yaml:1:2: second two\nf.yaml: third\n");
	free(buf);
	cdns_diag_free(d);
}

static void t_diag_truncation_and_control_chars(void **state)
{
	cdns_diag_t *d = cdns_diag_new();
	cdns_conf_t n = {.file = "f.yaml", .line = 1, .col = 1};
	char big[5000];

	(void)state;
	memset(big, 'y', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	cdns_diag_error(d, &n, "value %s end", big);
	const char *m = cdns_diag_message(d, 0);
	assert_int_equal(strlen(m), CDNS_DIAG_MAX - 1);
	assert_memory_equal(m, "f.yaml:1:1: value yyy", 21);
	assert_string_equal(m + CDNS_DIAG_MAX - 4, "...");

	/* a file name alone longer than the limit */
	cdns_diag_error_at(d, big, 3, 4, "x");
	m = cdns_diag_message(d, 1);
	assert_int_equal(strlen(m), CDNS_DIAG_MAX - 1);
	assert_string_equal(m + CDNS_DIAG_MAX - 4, "...");

	cdns_diag_error(d, &n,
	                "a\nb\rc\td\x1b"
	                "e");
	assert_string_equal(cdns_diag_message(d, 2), "f.yaml:1:1: a b c d e");
	cdns_diag_free(d);
}

static void t_diag_null_collector(void **state)
{
	cdns_conf_t n = {.file = "f.yaml", .line = 1, .col = 1};
	(void)state;
	cdns_diag_error(NULL, &n, "dropped");
	cdns_diag_key_error(NULL, &n, "dropped");
	cdns_diag_error_at(NULL, "f", 1, 1, "dropped");
	assert_int_equal(cdns_diag_count(NULL), 0);
	assert_null(cdns_diag_message(NULL, 0));
	cdns_diag_print(NULL, stderr);
	cdns_diag_clear(NULL);
	cdns_diag_free(NULL);
}

static void t_diag_many(void **state)
{
	cdns_diag_t *d = cdns_diag_new();
	(void)state;
	for (unsigned i = 0; i < 1000; i++)
		cdns_diag_error_at(d, "f", i + 1, 1, "e%u", i);
	assert_int_equal(cdns_diag_count(d), 1000);
	assert_string_equal(cdns_diag_message(d, 0), "f:1:1: e0");
	assert_string_equal(cdns_diag_message(d, 999), "f:1000:1: e999");
	cdns_diag_free(d);
}

/* ===================== Value parsers ===================== */

static void t_parse_bool(void **state)
{
	static const char *const yes[] = {"true", "TRUE", "True", "yes", "YES", "on", "On"};
	static const char *const no[] = {"false", "FALSE", "no", "No", "off", "OFF"};
	static const char *const bad[] = {"", "1", "0", "y", "n", "truee", " true", "enable"};
	bool b;

	(void)state;
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		b = false;
		assert_int_equal(cdns_parse_bool(yes[i], &b), 0);
		assert_true(b);
	}
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
		b = true;
		assert_int_equal(cdns_parse_bool(no[i], &b), 0);
		assert_false(b);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		b = true;
		assert_int_equal(cdns_parse_bool(bad[i], &b), CDNS_EINVAL);
		assert_true(b); /* untouched */
	}
	assert_int_equal(cdns_parse_bool(NULL, &b), CDNS_EINVAL);
}

static void t_parse_int(void **state)
{
	int64_t v;

	(void)state;
	assert_int_equal(cdns_parse_int("0", &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(cdns_parse_int("42", &v), 0);
	assert_int_equal(v, 42);
	assert_int_equal(cdns_parse_int("+42", &v), 0);
	assert_int_equal(v, 42);
	assert_int_equal(cdns_parse_int("-42", &v), 0);
	assert_int_equal(v, -42);
	assert_int_equal(cdns_parse_int("007", &v), 0);
	assert_int_equal(v, 7);
	assert_int_equal(cdns_parse_int("9223372036854775807", &v), 0);
	assert_true(v == INT64_MAX);
	assert_int_equal(cdns_parse_int("-9223372036854775808", &v), 0);
	assert_true(v == INT64_MIN);

	v = 5;
	assert_int_equal(cdns_parse_int("9223372036854775808", &v), CDNS_ERANGE);
	assert_int_equal(cdns_parse_int("-9223372036854775809", &v), CDNS_ERANGE);
	assert_int_equal(cdns_parse_int("99999999999999999999999999", &v), CDNS_ERANGE);
	assert_int_equal(v, 5);

	static const char *const bad[] = {"",   "+",  "-",  "1.5", "1e3", "0x10",
	                                  " 1", "1 ", "1k", "--1", "+-1", "one"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(cdns_parse_int(bad[i], &v), CDNS_EINVAL);
	assert_int_equal(cdns_parse_int("99999999999999999999x", &v), CDNS_EINVAL);
	assert_int_equal(cdns_parse_int(NULL, &v), CDNS_EINVAL);
	assert_int_equal(v, 5);
}

static void t_parse_duration(void **state)
{
	static const struct {
		const char *text;
		int64_t ms;
	} good[] = {
	    {"0", 0},
	    {"30", 30000},
	    {"250ms", 250},
	    {"30s", 30000},
	    {"5m", 300000},
	    {"1h", 3600000},
	    {"2d", 172800000},
	    {"1w", 604800000},
	    {"1h30m", 5400000},
	    {"1m30s", 90000},
	    {"1s500ms", 1500},
	    {"1w2d3h4m5s6ms", 604800000LL + 2 * 86400000LL + 3 * 3600000LL + 4 * 60000 + 5006},
	    {"0ms", 0},
	    {"90m", 5400000},
	    {"9223372036854775807ms", INT64_MAX},
	    {"9223372036854775s", 9223372036854775000LL},
	};
	static const char *const bad[] = {"",    "ms",   "s",    "1x",    "1 s",  "-1s",
	                                  "+1s", "1.5s", "1h30", "30m1h", "1s1s", "1msm",
	                                  "1S",  "1H",   "h1",   "1hh",   "1ms5s"};
	int64_t v;

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		v = -1;
		if (cdns_parse_duration_ms(good[i].text, &v) != 0)
			fail_msg("'%s' did not parse", good[i].text);
		if (v != good[i].ms)
			fail_msg("'%s' gave %lld", good[i].text, (long long)v);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		v = -1;
		if (cdns_parse_duration_ms(bad[i], &v) != CDNS_EINVAL)
			fail_msg("'%s' was accepted", bad[i]);
		assert_int_equal(v, -1);
	}
	assert_int_equal(cdns_parse_duration_ms("9223372036854776", &v), CDNS_ERANGE);
	assert_int_equal(cdns_parse_duration_ms("9223372036854775808ms", &v), CDNS_ERANGE);
	assert_int_equal(cdns_parse_duration_ms("99999999999999999999999w", &v), CDNS_ERANGE);
	assert_int_equal(cdns_parse_duration_ms("15250284452w3d7h12m55s808ms", &v), CDNS_ERANGE);
	assert_int_equal(cdns_parse_duration_ms("15250284452w3d7h12m55s807ms", &v), 0);
	assert_true(v == INT64_MAX);
	/* syntax errors win over overflow */
	assert_int_equal(cdns_parse_duration_ms("99999999999999999999999w1x", &v), CDNS_EINVAL);
	assert_int_equal(cdns_parse_duration_ms(NULL, &v), CDNS_EINVAL);
}

static void t_parse_size(void **state)
{
	static const struct {
		const char *text;
		int64_t bytes;
	} good[] = {
	    {"0", 0},
	    {"4096", 4096},
	    {"64k", 65536},
	    {"64K", 65536},
	    {"64kB", 65536},
	    {"16M", 16777216},
	    {"16m", 16777216},
	    {"16MB", 16777216},
	    {"2G", 2147483648LL},
	    {"2g", 2147483648LL},
	    {"512B", 512},
	    {"8589934591G", 8589934591LL << 30},
	};
	static const char *const bad[] = {"",   "k",    "B",   "1kk", "1KiB", "1T", "-1",
	                                  "+1", "1.5M", "1 k", "1b",  "1Bk",  "x"};
	int64_t v;

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		v = -1;
		if (cdns_parse_size(good[i].text, &v) != 0)
			fail_msg("'%s' did not parse", good[i].text);
		if (v != good[i].bytes)
			fail_msg("'%s' gave %lld", good[i].text, (long long)v);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		v = -1;
		if (cdns_parse_size(bad[i], &v) != CDNS_EINVAL)
			fail_msg("'%s' was accepted", bad[i]);
		assert_int_equal(v, -1);
	}
	assert_int_equal(cdns_parse_size("8589934592G", &v), CDNS_ERANGE);
	assert_int_equal(cdns_parse_size("9223372036854775808", &v), CDNS_ERANGE);
	assert_int_equal(cdns_parse_size("99999999999999999999999k", &v), CDNS_ERANGE);
	assert_int_equal(cdns_parse_size(NULL, &v), CDNS_EINVAL);
}

/* ===================== Option tables ===================== */

struct opts {
	bool flag;
	int64_t count;
	int64_t size_entries; /* INT, positive */
	const char *name;
	int64_t timeout;
	int64_t buffer;
	int mode;
	const cdns_conf_t *listen;
	const cdns_conf_t *raw;
	int64_t untouched;
};

static const char *const modes[] = {"udp", "tcp", "both", NULL};

static const cdns_opt_def_t table[] = {
    {"flag", CDNS_OPT_BOOL, offsetof(struct opts, flag), "false", 0, -1, false, NULL},
    {"count", CDNS_OPT_INT, offsetof(struct opts, count), "3", 1, 10, false, NULL},
    {"size", CDNS_OPT_INT, offsetof(struct opts, size_entries), "1000", 1, INT64_MAX, false, NULL},
    {"name", CDNS_OPT_STRING, offsetof(struct opts, name), "default-name", 0, -1, false, NULL},
    {"timeout", CDNS_OPT_DURATION, offsetof(struct opts, timeout), "2s", 100, 3600000, false, NULL},
    {"buffer", CDNS_OPT_SIZE, offsetof(struct opts, buffer), "64k", 512, 1 << 20, false, NULL},
    {"mode", CDNS_OPT_ENUM, offsetof(struct opts, mode), "both", 0, -1, false, modes},
    {"listen", CDNS_OPT_STRLIST, offsetof(struct opts, listen), NULL, 0, -1, false, NULL},
    {"raw", CDNS_OPT_NODE, offsetof(struct opts, raw), NULL, 0, -1, false, NULL},
    {"untouched", CDNS_OPT_INT, offsetof(struct opts, untouched), NULL, 0, -1, false, NULL},
    CDNS_OPT_END,
};

static const cdns_opt_def_t required_table[] = {
    {"zones", CDNS_OPT_NODE, 0, NULL, 0, -1, true, NULL},
    {"name", CDNS_OPT_STRING, sizeof(void *), NULL, 0, -1, true, NULL},
    {"ttl", CDNS_OPT_DURATION, 2 * sizeof(void *), "1h", 0, -1, false, NULL},
    CDNS_OPT_END,
};

struct req_opts {
	const cdns_conf_t *zones;
	const char *name;
	int64_t ttl;
};

static const char *const P = "plugin 'test': ";

/* Apply table to the value of key "opts" in yaml (whole root when key is NULL). */
static int apply(struct fx *f, const char *yaml, const cdns_opt_def_t *tab, void *out)
{
	const cdns_conf_t *root = fx_ok(f, yaml);
	const cdns_conf_t *map = cdns_conf_get(root, "opts");
	assert_non_null(map);
	return cdns_conf_apply(f->d, P, map, tab, out);
}

static void expect_defaults(const struct opts *o)
{
	assert_false(o->flag);
	assert_int_equal(o->count, 3);
	assert_int_equal(o->size_entries, 1000);
	assert_string_equal(o->name, "default-name");
	assert_int_equal(o->timeout, 2000);
	assert_int_equal(o->buffer, 65536);
	assert_int_equal(o->mode, 2);
	assert_null(o->listen);
	assert_null(o->raw);
	assert_int_equal(o->untouched, 77);
}

static void t_apply_all_good(void **state)
{
	struct fx *f = *state;
	struct opts o = {.untouched = 77};

	assert_int_equal(apply(f,
	                       "opts:\n"
	                       "  flag: Yes\n"
	                       "  count: 10\n"
	                       "  size: 4096\n"
	                       "  name: 12345\n"
	                       "  timeout: 45m30s\n"
	                       "  buffer: 1M\n"
	                       "  mode: tcp\n"
	                       "  listen: [a, b]\n"
	                       "  raw: {any: [thing]}\n",
	                       table, &o),
	                 0);
	expect_count(f, 0);
	assert_true(o.flag);
	assert_int_equal(o.count, 10);
	assert_int_equal(o.size_entries, 4096);
	assert_string_equal(o.name, "12345");
	assert_int_equal(o.timeout, 2730000);
	assert_int_equal(o.buffer, 1048576);
	assert_int_equal(o.mode, 1);
	assert_int_equal(o.listen->kind, CDNS_CONF_SEQ);
	assert_int_equal(o.listen->n_children, 2);
	assert_int_equal(o.raw->kind, CDNS_CONF_MAP);
	assert_ptr_equal(o.raw, cdns_conf_get(cdns_conf_get(f->root, "opts"), "raw"));
	assert_int_equal(o.untouched, 77);
}

static void t_apply_quoted_numbers_and_bounds(void **state)
{
	struct fx *f = *state;
	struct opts o = {.untouched = 77};

	assert_int_equal(apply(f,
	                       "opts: {count: \"1\", timeout: 100ms, buffer: 512, size: '1',"
	                       " flag: off, mode: udp, untouched: -5}\n",
	                       table, &o),
	                 0);
	expect_count(f, 0);
	assert_int_equal(o.count, 1);
	assert_int_equal(o.timeout, 100);
	assert_int_equal(o.buffer, 512);
	assert_int_equal(o.size_entries, 1);
	assert_false(o.flag);
	assert_int_equal(o.mode, 0);
	assert_int_equal(o.untouched, -5);
}

static void t_apply_defaults_null_node(void **state)
{
	struct fx *f = *state;
	struct opts o = {.untouched = 77};
	assert_int_equal(apply(f, "opts:\n", table, &o), 0);
	expect_count(f, 0);
	expect_defaults(&o);
}

static void t_apply_defaults_empty_map(void **state)
{
	struct fx *f = *state;
	struct opts o = {.untouched = 77};
	assert_int_equal(apply(f, "opts: {}\n", table, &o), 0);
	expect_count(f, 0);
	expect_defaults(&o);
}

static void t_apply_defaults_no_node(void **state)
{
	struct fx *f = *state;
	struct opts o = {.untouched = 77};
	assert_int_equal(cdns_conf_apply(f->d, P, NULL, table, &o), 0);
	expect_count(f, 0);
	expect_defaults(&o);
	/* a NULL prefix is an empty one */
	assert_int_equal(cdns_conf_apply(NULL, NULL, NULL, table, &o), 0);
}

static void t_apply_partial_defaults(void **state)
{
	struct fx *f = *state;
	struct opts o = {.untouched = 77};
	assert_int_equal(apply(f, "opts: {count: 5, listen: one}\n", table, &o), 0);
	assert_int_equal(o.count, 5);
	assert_int_equal(o.size_entries, 1000);
	/* one scalar is a one-element list: the node is that scalar */
	expect_scalar(o.listen, "one");
}

static void t_apply_not_a_map(void **state)
{
	struct fx *f = *state;
	struct opts o = {.untouched = 77};
	struct req_opts r = {0};
	const cdns_conf_t *root = fx_ok(f, "a: 5\nb: [1]\n");

	assert_int_equal(cdns_conf_apply(f->d, P, cdns_conf_get(root, "a"), table, &o),
	                 CDNS_ECONFIG);
	assert_int_equal(cdns_conf_apply(f->d, P, cdns_conf_get(root, "b"), required_table, &r),
	                 CDNS_ECONFIG);
	expect_count(f, 2);
	expect_msg(f, 0, "1:4: plugin 'test': must be a map, got \"5\"");
	/* no "is required" noise after that */
	expect_msg(f, 1, "2:4: plugin 'test': must be a map, got a list");
	/* defaults still applied */
	expect_defaults(&o);
}

static void t_apply_unknown_option(void **state)
{
	struct fx *f = *state;
	struct opts o = {.untouched = 77};
	assert_int_equal(apply(f,
	                       "opts:\n"
	                       "  sise: 5\n"
	                       "  timeuot: 1s\n"
	                       "  completely: wrong\n"
	                       "  Mode: udp\n"
	                       "  listen_: x\n"
	                       "  fl: true\n",
	                       table, &o),
	                 CDNS_ECONFIG);
	expect_count(f, 6);
	expect_msg(f, 0, "2:3: plugin 'test': unknown option 'sise'; did you mean 'size'?");
	expect_msg(f, 1, "3:3: plugin 'test': unknown option 'timeuot'; did you mean 'timeout'?");
	expect_msg(f, 2, "4:3: plugin 'test': unknown option 'completely'");
	expect_msg(f, 3, "5:3: plugin 'test': unknown option 'Mode'; did you mean 'mode'?");
	expect_msg(f, 4, "6:3: plugin 'test': unknown option 'listen_'; did you mean 'listen'?");
	expect_msg(f, 5, "7:3: plugin 'test': unknown option 'fl'; did you mean 'flag'?");
	/* known options still got their defaults */
	assert_int_equal(o.size_entries, 1000);
}

static void t_apply_bad_bool(void **state)
{
	struct fx *f = *state;
	struct opts o = {.untouched = 77};
	assert_int_equal(apply(f, "opts:\n  flag: maybe\n", table, &o), CDNS_ECONFIG);
	expect_count(f, 1);
	expect_msg(f, 0,
	           "2:9: plugin 'test': option 'flag': must be a boolean (true or false), got "
	           "\"maybe\"");
}

static void t_apply_bad_int(void **state)
{
	struct fx *f = *state;
	struct opts o = {.untouched = 77};
	assert_int_equal(apply(f,
	                       "opts:\n"
	                       "  size: big\n"
	                       "  count: 1.5\n"
	                       "  untouched: x\n",
	                       table, &o),
	                 CDNS_ECONFIG);
	expect_count(f, 3);
	expect_msg(f, 0,
	           "2:9: plugin 'test': option 'size': must be a positive integer, got \"big\"");
	expect_msg(f, 1,
	           "3:10: plugin 'test': option 'count': must be an integer between 1 and 10, got "
	           "\"1.5\"");
	expect_msg(f, 2, "4:14: plugin 'test': option 'untouched': must be an integer, got \"x\"");
	assert_int_equal(o.untouched, 77);
}

static void t_apply_int_ranges(void **state)
{
	struct fx *f = *state;
	struct opts o = {.untouched = 77};
	assert_int_equal(apply(f,
	                       "opts:\n"
	                       "  count: 11\n"
	                       "  size: 0\n"
	                       "  untouched: 99999999999999999999\n",
	                       table, &o),
	                 CDNS_ECONFIG);
	expect_count(f, 3);
	expect_msg(f, 0,
	           "2:10: plugin 'test': option 'count': must be between 1 and 10, got \"11\"");
	expect_msg(f, 1,
	           "3:9: plugin 'test': option 'size': must be a positive integer, got \"0\"");
	expect_msg(f, 2,
	           "4:14: plugin 'test': option 'untouched': must be an integer between "
	           "-9223372036854775808 and 9223372036854775807, got \"99999999999999999999\"");
}

static void t_apply_int_range_words(void **state)
{
	struct fx *f = *state;
	int64_t v[4] = {0};
	const cdns_opt_def_t tab[] = {
	    {"nonneg", CDNS_OPT_INT, 0, NULL, 0, INT64_MAX, false, NULL},
	    {"least", CDNS_OPT_INT, sizeof(int64_t), NULL, 5, INT64_MAX, false, NULL},
	    {"most", CDNS_OPT_INT, 2 * sizeof(int64_t), NULL, INT64_MIN, 100, false, NULL},
	    {"neg", CDNS_OPT_INT, 3 * sizeof(int64_t), NULL, -10, -1, false, NULL},
	    CDNS_OPT_END,
	};
	assert_int_equal(apply(f, "opts: {nonneg: -1, least: 4, most: 101, neg: 0}\n", tab, v),
	                 CDNS_ECONFIG);
	expect_count(f, 4);
	expect_msg(f, 0,
	           "1:16: plugin 'test': option 'nonneg': must be a non-negative integer, got "
	           "\"-1\"");
	expect_msg(f, 1, "1:27: plugin 'test': option 'least': must be at least 5, got \"4\"");
	expect_msg(f, 2, "1:36: plugin 'test': option 'most': must be at most 100, got \"101\"");
	expect_msg(f, 3,
	           "1:46: plugin 'test': option 'neg': must be between -10 and -1, got \"0\"");

	cdns_diag_clear(f->d);
	cdns__config_free(f->c);
	f->c = NULL;
	unlink(f->path);
	assert_int_equal(apply(f, "opts: {nonneg: 0, least: x, most: -5, neg: -10}\n", tab, v),
	                 CDNS_ECONFIG);
	expect_count(f, 1);
	expect_msg(f, 0,
	           "1:26: plugin 'test': option 'least': must be an integer of at least 5, got "
	           "\"x\"");
	assert_int_equal(v[0], 0);
	assert_int_equal(v[2], -5);
	assert_int_equal(v[3], -10);
}

static void t_apply_bad_duration(void **state)
{
	struct fx *f = *state;
	struct opts o = {.untouched = 77};
	assert_int_equal(apply(f, "opts:\n  timeout: soon\n", table, &o), CDNS_ECONFIG);
	expect_count(f, 1);
	expect_msg(f, 0,
	           "2:12: plugin 'test': option 'timeout': must be a duration (e.g. 250ms, 30s, "
	           "5m, 1h30m), got \"soon\"");
}

static void t_apply_duration_range(void **state)
{
	struct fx *f = *state;
	struct opts o = {.untouched = 77};
	assert_int_equal(apply(f, "opts: {timeout: 2h}\n", table, &o), CDNS_ECONFIG);
	assert_int_equal(cdns_conf_apply(f->d, P, NULL, table, &o), 0);
	expect_count(f, 1);
	/* range in the table is 100 ms .. 1 hour: reported in units, value as the user wrote it */
	expect_msg(f, 0,
	           "1:17: plugin 'test': option 'timeout': must be between 100ms and 1h, got "
	           "\"2h\"");

	cdns_diag_clear(f->d);
	cdns__config_free(f->c);
	f->c = NULL;
	unlink(f->path);
	assert_int_equal(apply(f, "opts: {timeout: 99ms}\n", table, &o), CDNS_ECONFIG);
	expect_msg(f, 0,
	           "1:17: plugin 'test': option 'timeout': must be between 100ms and 1h, got "
	           "\"99ms\"");
}

static void t_apply_duration_range_compound(void **state)
{
	struct fx *f = *state;
	int64_t v = 0;
	const cdns_opt_def_t tab[] = {
	    {"t", CDNS_OPT_DURATION, 0, NULL, 1500, 5400000, false, NULL},
	    {"u", CDNS_OPT_DURATION, 0, NULL, 0, -1, false, NULL},
	    {"w", CDNS_OPT_DURATION, 0, NULL, 604800000, INT64_MAX, false, NULL},
	    CDNS_OPT_END,
	};
	assert_int_equal(apply(f, "opts: {t: 1s, u: 99999999999999999999, w: 6d}\n", tab, &v),
	                 CDNS_ECONFIG);
	expect_count(f, 3);
	expect_msg(f, 0,
	           "1:11: plugin 'test': option 't': must be between 1s500ms and 1h30m, got "
	           "\"1s\"");
	expect_msg(f, 1,
	           "1:18: plugin 'test': option 'u': must be at most 15250284452w3d7h12m55s807ms, "
	           "got \"99999999999999999999\"");
	expect_msg(f, 2, "1:43: plugin 'test': option 'w': must be at least 1w, got \"6d\"");
}

static void t_apply_size_errors(void **state)
{
	struct fx *f = *state;
	struct opts o = {.untouched = 77};
	int64_t big = 0;
	const cdns_opt_def_t tab[] = {
	    {"s", CDNS_OPT_SIZE, 0, NULL, 0, -1, false, NULL},
	    {"g", CDNS_OPT_SIZE, 0, NULL, 1 << 30, 4LL << 30, false, NULL},
	    CDNS_OPT_END,
	};
	assert_int_equal(apply(f, "opts:\n  buffer: lots\n  mode: x\n", table, &o), CDNS_ECONFIG);
	expect_count(f, 2);
	expect_msg(
	    f, 0,
	    "2:11: plugin 'test': option 'buffer': must be a size (e.g. 4096, 64k, 16M, 2G), "
	    "got \"lots\"");
	expect_msg(f, 1,
	           "3:9: plugin 'test': option 'mode': must be one of 'udp', 'tcp', 'both', got "
	           "\"x\"");

	cdns_diag_clear(f->d);
	assert_int_equal(cdns_conf_apply(f->d, P, NULL, table, &o), 0);
	cdns__config_free(f->c);
	f->c = NULL;
	unlink(f->path);
	assert_int_equal(apply(f, "opts: {buffer: 2M}\n", table, &o), CDNS_ECONFIG);
	expect_count(f, 1);
	expect_msg(f, 0,
	           "1:16: plugin 'test': option 'buffer': must be between 512 and 1M, got \"2M\"");

	cdns_diag_clear(f->d);
	cdns__config_free(f->c);
	f->c = NULL;
	unlink(f->path);
	assert_int_equal(apply(f, "opts: {s: 9999999999G, g: 100M}\n", tab, &big), CDNS_ECONFIG);
	expect_count(f, 2);
	expect_msg(f, 0,
	           "1:11: plugin 'test': option 's': must be at most 9223372036854775807, got "
	           "\"9999999999G\"");
	expect_msg(f, 1,
	           "1:27: plugin 'test': option 'g': must be between 1G and 4G, got \"100M\"");
}

static void t_apply_bad_enum(void **state)
{
	struct fx *f = *state;
	struct opts o = {.untouched = 77};
	/* enum values are case-sensitive */
	assert_int_equal(apply(f, "opts: {mode: UDP}\n", table, &o), CDNS_ECONFIG);
	expect_count(f, 1);
	expect_msg(f, 0,
	           "1:14: plugin 'test': option 'mode': must be one of 'udp', 'tcp', 'both', got "
	           "\"UDP\"");
	assert_int_equal(o.mode, 0); /* a bad value stores nothing, not even the default */
}

static void t_apply_bad_kinds(void **state)
{
	struct fx *f = *state;
	struct opts o = {.untouched = 77};
	assert_int_equal(apply(f,
	                       "opts:\n"
	                       "  name: [a]\n"
	                       "  count: {a: 1}\n"
	                       "  flag:\n"
	                       "  timeout: ~\n"
	                       "  listen: {a: b}\n"
	                       "  raw:\n",
	                       table, &o),
	                 CDNS_ECONFIG);
	expect_count(f, 5);
	expect_msg(f, 0, "2:9: plugin 'test': option 'name': must be a string, got a list");
	expect_msg(
	    f, 1,
	    "3:10: plugin 'test': option 'count': must be an integer between 1 and 10, got a "
	    "map");
	expect_msg(
	    f, 2, "4:8: plugin 'test': option 'flag': must be a boolean (true or false), got null");
	expect_msg(f, 3,
	           "5:12: plugin 'test': option 'timeout': must be a duration (e.g. 250ms, 30s, "
	           "5m, 1h30m), got null");
	expect_msg(f, 4,
	           "6:11: plugin 'test': option 'listen': must be a string or a list of strings, "
	           "got a map");
	/* NODE takes anything, null included */
	assert_non_null(o.raw);
	assert_int_equal(o.raw->kind, CDNS_CONF_NULL);
}

static void t_apply_strlist(void **state)
{
	struct fx *f = *state;
	struct opts o = {.untouched = 77};
	assert_int_equal(apply(f,
	                       "opts:\n"
	                       "  listen:\n"
	                       "    - 127.0.0.1\n"
	                       "    - [nested]\n"
	                       "    - ok\n"
	                       "    - {a: b}\n"
	                       "    -\n",
	                       table, &o),
	                 CDNS_ECONFIG);
	expect_count(f, 3);
	expect_msg(f, 0,
	           "4:7: plugin 'test': option 'listen': must be a string or a list of strings, "
	           "got a list");
	expect_msg(f, 1,
	           "6:7: plugin 'test': option 'listen': must be a string or a list of strings, "
	           "got a map");
	expect_msg(f, 2,
	           "7:6: plugin 'test': option 'listen': must be a string or a list of strings, "
	           "got null");
	assert_null(o.listen);

	cdns_diag_clear(f->d);
	cdns__config_free(f->c);
	f->c = NULL;
	unlink(f->path);
	assert_int_equal(apply(f, "opts: {listen: []}\n", table, &o), 0);
	assert_int_equal(o.listen->kind, CDNS_CONF_SEQ);
	assert_int_equal(o.listen->n_children, 0);
}

static void t_apply_got_text_escaped(void **state)
{
	struct fx *f = *state;
	struct opts o = {.untouched = 77};
	assert_int_equal(
	    apply(
	        f,
	        "opts:\n"
	        "  count: \"a\\\"b\\\\c\\nd\\te\\x01\"\n"
	        "  size: "
	        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n",
	        table, &o),
	    CDNS_ECONFIG);
	expect_count(f, 2);
	expect_msg(f, 0,
	           "2:10: plugin 'test': option 'count': must be an integer between 1 and 10, got "
	           "\"a\\\"b\\\\c\\nd\\te\\x01\"");
	expect_msg(f, 1,
	           "3:9: plugin 'test': option 'size': must be a positive integer, got "
	           "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...\"");
}

static void t_apply_required(void **state)
{
	struct fx *f = *state;
	struct req_opts r = {0};

	assert_int_equal(apply(f, "x: 1\nopts:\n  ttl: 5m\n", required_table, &r), CDNS_ECONFIG);
	expect_count(f, 2);
	expect_msg(f, 0, "3:3: plugin 'test': option 'zones' is required");
	expect_msg(f, 1, "3:3: plugin 'test': option 'name' is required");
	assert_int_equal(r.ttl, 300000);
}

static void t_apply_required_null_and_missing(void **state)
{
	struct fx *f = *state;
	struct req_opts r = {0};

	assert_int_equal(apply(f, "opts:\n", required_table, &r), CDNS_ECONFIG);
	expect_count(f, 2);
	expect_msg(f, 0, "1:6: plugin 'test': option 'zones' is required");
	expect_msg(f, 1, "1:6: plugin 'test': option 'name' is required");
	assert_int_equal(r.ttl, 3600000);

	/* no node at all: no position to give */
	cdns_diag_clear(f->d);
	assert_int_equal(cdns_conf_apply(f->d, P, NULL, required_table, &r), CDNS_ECONFIG);
	expect_count(f, 2);
	assert_string_equal(cdns_diag_message(f->d, 0),
	                    "plugin 'test': option 'zones' is required");
	assert_string_equal(cdns_diag_message(f->d, 1), "plugin 'test': option 'name' is required");
}

static void t_apply_required_present(void **state)
{
	struct fx *f = *state;
	struct req_opts r = {0};

	assert_int_equal(apply(f, "opts: {zones: [a], name: n}\n", required_table, &r), 0);
	expect_count(f, 0);
	assert_int_equal(r.zones->kind, CDNS_CONF_SEQ);
	assert_string_equal(r.name, "n");
	assert_int_equal(r.ttl, 3600000);
}

static void t_apply_errors_in_order(void **state)
{
	struct fx *f = *state;
	struct req_opts r = {0};
	const cdns_opt_def_t tab[] = {
	    {"zones", CDNS_OPT_NODE, 0, NULL, 0, -1, true, NULL},
	    {"name", CDNS_OPT_STRING, sizeof(void *), NULL, 0, -1, true, NULL},
	    {"ttl", CDNS_OPT_DURATION, 2 * sizeof(void *), "1h", 0, -1, false, NULL},
	    CDNS_OPT_END,
	};

	assert_int_equal(apply(f,
	                       "opts:\n"
	                       "  ttl: forever\n"
	                       "  nmae: x\n"
	                       "  extra: 1\n"
	                       "  ttl2: 5\n",
	                       tab, &r),
	                 CDNS_ECONFIG);
	expect_count(f, 6);
	expect_msg(f, 0,
	           "2:8: plugin 'test': option 'ttl': must be a duration (e.g. 250ms, 30s, 5m, "
	           "1h30m), got \"forever\"");
	expect_msg(f, 1, "3:3: plugin 'test': unknown option 'nmae'; did you mean 'name'?");
	expect_msg(f, 2, "4:3: plugin 'test': unknown option 'extra'");
	expect_msg(f, 3, "5:3: plugin 'test': unknown option 'ttl2'; did you mean 'ttl'?");
	expect_msg(f, 4, "2:3: plugin 'test': option 'zones' is required");
	expect_msg(f, 5, "2:3: plugin 'test': option 'name' is required");
}

static void t_apply_then_reader_and_prefixless(void **state)
{
	struct fx *f = *state;
	struct opts o = {.untouched = 77};
	const cdns_conf_t *root = fx_ok(f, "server:\n  workers: -2\n  bogus: 1\n");
	const cdns_opt_def_t tab[] = {
	    {"workers", CDNS_OPT_INT, offsetof(struct opts, count), NULL, 1, 1024, false, NULL},
	    CDNS_OPT_END,
	};

	assert_int_equal(cdns_conf_apply(f->d, "", cdns_conf_get(root, "server"), tab, &o),
	                 CDNS_ECONFIG);
	expect_count(f, 2);
	expect_msg(f, 0, "2:12: option 'workers': must be between 1 and 1024, got \"-2\"");
	expect_msg(f, 1, "3:3: unknown option 'bogus'");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)
	    /* reader */
	    T(t_load_tree_positions),
	    T(t_load_null_scalars),
	    T(t_load_block_scalars_and_tags),
	    T(t_load_scalar_and_seq_roots),
	    T(t_load_empty_file),
	    T(t_load_comments_only),
	    T(t_load_syntax_error),
	    T(t_load_syntax_error_context),
	    T(t_load_syntax_error_after_other_errors),
	    T(t_load_control_character),
	    T(t_load_binary_garbage),
	    T(t_load_garbage_variants),
	    T(t_load_missing_file),
	    T(t_load_directory),
	    T(t_load_null_diag),
	    T(t_load_duplicate_keys),
	    T(t_load_duplicate_keys_large_map),
	    T(t_load_large_map_ok),
	    T(t_load_anchors_aliases),
	    T(t_load_alias_as_key),
	    T(t_load_non_scalar_keys),
	    T(t_load_second_document),
	    T(t_load_second_document_after_end),
	    T(t_load_nesting_limit),
	    T(t_load_nesting_too_deep),
	    T(t_load_nesting_very_deep_block),
	    T(t_load_nul_in_scalars),
	    T(t_load_relative_path_dir),
	    T(t_load_strdup),
	    T(t_env_expand),
	    T(t_env_unset),
	    T(t_env_unterminated),
	    T(t_env_invalid_reference),
	    /* diagnostics */
	    T(t_diag_positions),
	    T(t_diag_verror_and_print),
	    T(t_diag_truncation_and_control_chars),
	    T(t_diag_null_collector),
	    T(t_diag_many),
	    /* parsers */
	    T(t_parse_bool),
	    T(t_parse_int),
	    T(t_parse_duration),
	    T(t_parse_size),
	    /* option tables */
	    T(t_apply_all_good),
	    T(t_apply_quoted_numbers_and_bounds),
	    T(t_apply_defaults_null_node),
	    T(t_apply_defaults_empty_map),
	    T(t_apply_defaults_no_node),
	    T(t_apply_partial_defaults),
	    T(t_apply_not_a_map),
	    T(t_apply_unknown_option),
	    T(t_apply_bad_bool),
	    T(t_apply_bad_int),
	    T(t_apply_int_ranges),
	    T(t_apply_int_range_words),
	    T(t_apply_bad_duration),
	    T(t_apply_duration_range),
	    T(t_apply_duration_range_compound),
	    T(t_apply_size_errors),
	    T(t_apply_bad_enum),
	    T(t_apply_bad_kinds),
	    T(t_apply_strlist),
	    T(t_apply_got_text_escaped),
	    T(t_apply_required),
	    T(t_apply_required_null_and_missing),
	    T(t_apply_required_present),
	    T(t_apply_errors_in_order),
	    T(t_apply_then_reader_and_prefixless),
#undef T
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
