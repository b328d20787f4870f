/* Building a pipeline: read the configuration, load each plugin (dlopen, ABI check), run its
 * setup. Used at start, by "clouddns -t" and by every reload. */
#include <dirent.h>
#include <sched.h>
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "server.h"

static const char *const log_levels[] = { "error", "warning", "notice", "info", "debug", NULL };
static const char *const log_targets[] = { "stderr", "syslog", NULL };
static const char *const steering_modes[] = { "adaptive", "random", "hash", NULL }; /* CDNS__STEER_* */

#define SETTING(key, type, field, def, min, max)                                             \
	{                                                                                     \
		key, type, offsetof(cdns__settings_t, field), def, min, max, false, NULL      \
	}

static const cdns_opt_def_t server_opts[] = {
	SETTING("listen", CDNS_OPT_STRLIST, listen, NULL, 0, -1),
	SETTING("workers", CDNS_OPT_STRING, workers_text, "auto", 0, -1),
	SETTING("identity", CDNS_OPT_STRING, identity, NULL, 0, -1),
	SETTING("max_udp_size", CDNS_OPT_INT, max_udp_size, "1232", 512, CDNS_UDP_BUF),
	{ "log_level", CDNS_OPT_ENUM, offsetof(cdns__settings_t, log_level), "info", 0, -1, false,
	  log_levels },
	{ "log_target", CDNS_OPT_ENUM, offsetof(cdns__settings_t, log_target), "stderr", 0, -1,
	  false, log_targets },
	SETTING("tcp_idle_timeout", CDNS_OPT_DURATION, tcp_idle_timeout_ms, "10s", 100, 3600000),
	SETTING("tcp_max_clients", CDNS_OPT_INT, tcp_max_clients, "1024", 1, 1000000),
	SETTING("tcp_max_per_client", CDNS_OPT_INT, tcp_max_per_client, "64", 1, 1000000),
	SETTING("shutdown_timeout", CDNS_OPT_DURATION, shutdown_timeout_ms, "5s", 0, 600000),
	SETTING("plugin_path", CDNS_OPT_STRLIST, plugin_path, NULL, 0, -1),
	SETTING("user", CDNS_OPT_STRING, user, NULL, 0, -1),
	SETTING("pid_file", CDNS_OPT_STRING, pid_file, NULL, 0, -1),
	SETTING("cpu_affinity", CDNS_OPT_STRLIST, cpu_affinity, NULL, 0, -1),
	{ "udp_steering", CDNS_OPT_ENUM, offsetof(cdns__settings_t, udp_steering), "adaptive", 0,
	  -1, false, steering_modes },
	CDNS_OPT_END,
};

static const char *keep_string(void *owner, const char *s)
{
	return cdns__config_strdup(owner, s);
}

static unsigned cpu_count(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	if (n < 1)
		return 1;
	return n > CDNS_MAX_WORKERS ? CDNS_MAX_WORKERS : (unsigned)n;
}

/* cpu_affinity: "none" (the default), "auto" (worker i on the i-th CPU this process may use)
 * or a list of CPU numbers (worker i on the (i mod length)-th). */
static void parse_affinity(cdns__settings_t *st, cdns_diag_t *d)
{
	const cdns_conf_t *node = st->cpu_affinity;
	st->n_cpus = 0;
	if (node == NULL)
		return;
	if (node->kind == CDNS_CONF_SCALAR && strcmp(node->value, "none") == 0)
		return;
	if (node->kind == CDNS_CONF_SCALAR && strcmp(node->value, "auto") == 0) {
		cpu_set_t set;
		if (sched_getaffinity(0, sizeof(set), &set) != 0)
			return;
		for (unsigned c = 0; c < CPU_SETSIZE && st->n_cpus < CDNS_MAX_WORKERS; c++)
			if (CPU_ISSET(c, &set))
				st->cpus[st->n_cpus++] = (uint16_t)c;
		return;
	}
	const cdns_conf_t *item = node->kind == CDNS_CONF_SEQ ? node->child : node;
	for (; item != NULL; item = node->kind == CDNS_CONF_SEQ ? item->next : NULL) {
		int64_t n;
		if (item->value == NULL || cdns_parse_int(item->value, &n) != 0 || n < 0 ||
		    n >= CPU_SETSIZE) {
			cdns_diag_error(d, item,
					"server: option 'cpu_affinity': must be \"none\", \"auto\" or a "
					"list of CPU numbers (0..%d), got \"%s\"",
					CPU_SETSIZE - 1, item->value ? item->value : "");
			st->n_cpus = 0;
			return;
		}
		if (st->n_cpus == CDNS_MAX_WORKERS) {
			cdns_diag_error(d, item, "server: option 'cpu_affinity': at most %d CPUs",
					CDNS_MAX_WORKERS);
			st->n_cpus = 0;
			return;
		}
		st->cpus[st->n_cpus++] = (uint16_t)n;
	}
	if (st->n_cpus == 0)
		cdns_diag_error(d, node, "server: option 'cpu_affinity': no CPU given");
}

/* Fill the settings from the "server:" map; errors to d. */
static void parse_settings(cdns__pipeline_t *p, const cdns_conf_t *node, cdns_diag_t *d)
{
	cdns__settings_t *st = &p->settings;
	cdns_conf_apply(d, "server: ", node, server_opts, st);

	if (st->workers_text != NULL && strcmp(st->workers_text, "auto") == 0) {
		st->workers = cpu_count();
	} else if (st->workers_text != NULL) {
		int64_t n;
		st->workers = 1; /* until the value is known good */
		if (cdns_parse_int(st->workers_text, &n) != 0 || n < 1 || n > CDNS_MAX_WORKERS) {
			const cdns_conf_t *at = cdns_conf_get(node, "workers");
			cdns_diag_error(d, at,
					"server: option 'workers': must be \"auto\" or between 1 and %d, got \"%s\"",
					CDNS_MAX_WORKERS, st->workers_text);
		} else {
			st->workers = (unsigned)n;
		}
	}

	if (st->listen == NULL) {
		/* Default: the DNS port on the loopback addresses only; serving the world is a
		 * decision the operator writes down. */
		cdns__parse_listen("127.0.0.1:53", &st->listen_addr[0], &st->listen_len[0]);
		cdns__parse_listen("[::1]:53", &st->listen_addr[1], &st->listen_len[1]);
		st->n_listen = 2;
	} else {
		const cdns_conf_t *item = st->listen->kind == CDNS_CONF_SEQ ? st->listen->child
									      : st->listen;
		for (; item != NULL; item = st->listen->kind == CDNS_CONF_SEQ ? item->next : NULL) {
			if (st->n_listen == CDNS_MAX_LISTEN) {
				cdns_diag_error(d, item, "server: option 'listen': at most %d addresses",
						CDNS_MAX_LISTEN);
				break;
			}
			if (item->value == NULL ||
			    cdns__parse_listen(item->value, &st->listen_addr[st->n_listen],
					       &st->listen_len[st->n_listen]) != 0) {
				cdns_diag_error(d, item,
						"server: option 'listen': must be an address with a port such as "
						"\"127.0.0.1:53\" or \"[::1]:53\", got \"%s\"",
						item->value ? item->value : "");
				continue;
			}
			st->n_listen++;
		}
		if (st->n_listen == 0 && cdns_diag_count(d) == 0)
			cdns_diag_error(d, st->listen, "server: option 'listen': no address given");
	}

	parse_affinity(st, d);

	if (st->identity == NULL) {
		static char host[256];
		if (host[0] == '\0' && gethostname(host, sizeof(host) - 1) != 0)
			strcpy(host, "clouddns");
		st->identity = host;
	}
}

/* Find <name>.so on the plugin path. */
static int find_plugin(const cdns__pipeline_t *p, const char *name, char *path, size_t len,
		       char *searched, size_t slen)
{
	const char *dirs[64];
	unsigned n = 0;
	for (unsigned i = 0; i < cdns__srv.n_plugin_dirs && n < 60; i++)
		dirs[n++] = cdns__srv.plugin_dirs[i];
	const cdns_conf_t *pp = p->settings.plugin_path;
	if (pp != NULL) {
		const cdns_conf_t *it = pp->kind == CDNS_CONF_SEQ ? pp->child : pp;
		for (; it != NULL && n < 63; it = pp->kind == CDNS_CONF_SEQ ? it->next : NULL)
			if (it->value != NULL)
				dirs[n++] = it->value;
	}
	dirs[n++] = CDNS_PLUGINDIR;
	searched[0] = '\0';
	size_t used = 0;
	for (unsigned i = 0; i < n; i++) {
		snprintf(path, len, "%s/%s.so", dirs[i], name);
		if (access(path, R_OK) == 0)
			return 0;
		int w = snprintf(searched + used, slen - used, "%s%s", used ? ", " : "", dirs[i]);
		if (w > 0 && (size_t)w < slen - used)
			used += (size_t)w;
	}
	return CDNS_ENOENT;
}

/* dlopen and check the descriptor. One precise line on failure. */
static int open_plugin(cdns__instance_t *inst, const char *name, const cdns_conf_t *at,
		       cdns_diag_t *d)
{
	/* NODELETE: callbacks a plugin queued (deferred frees, posted messages) may run after
	 * its instance is torn down and the handle closed; the code must stay mapped. */
	void *h = dlopen(inst->path, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
	if (h == NULL) {
		cdns_diag_key_error(d, at, "plugin '%s' (%s): cannot load: %s", name, inst->path,
				    dlerror());
		return CDNS_EINVAL;
	}
	const cdns_plugin_t *desc = dlsym(h, CDNS_PLUGIN_SYMBOL);
	if (desc == NULL) {
		cdns_diag_key_error(d, at, "plugin '%s' (%s): no %s symbol: not a cloudDNS plugin",
				    name, inst->path, CDNS_PLUGIN_SYMBOL);
		dlclose(h);
		return CDNS_EINVAL;
	}
	/* The ABI number comes first in every version of the descriptor: read nothing else
	 * before it matches. */
	if (desc->abi != CDNS_PLUGIN_ABI) {
		cdns_diag_key_error(d, at,
				    "plugin '%s' (%s): built for plugin ABI %u, this server has ABI %u",
				    name, inst->path, (unsigned)desc->abi, (unsigned)CDNS_PLUGIN_ABI);
		dlclose(h);
		return CDNS_EABI;
	}
	if (desc->size < sizeof(cdns_plugin_t) || desc->name == NULL || strcmp(desc->name, name) != 0) {
		cdns_diag_key_error(d, at, "plugin '%s' (%s): descriptor is invalid or names '%s'", name,
				    inst->path, desc->name ? desc->name : "(null)");
		dlclose(h);
		return CDNS_EINVAL;
	}
	inst->handle = h;
	inst->desc = desc;
	return 0;
}

static void parse_pipeline(cdns__pipeline_t *p, const cdns_conf_t *seq, bool check_only,
			   cdns_diag_t *d)
{
	if (seq->kind != CDNS_CONF_SEQ) {
		cdns_diag_error(d, seq, "'pipeline' must be a list of plugins");
		return;
	}
	const cdns_conf_t *where[CDNS_PIPELINE_MAX];
	for (const cdns_conf_t *item = seq->child; item != NULL; item = item->next) {
		if (item->kind != CDNS_CONF_MAP || item->n_children != 1) {
			cdns_diag_error(d, item,
					"pipeline entry must be a map with one key, the plugin name "
					"(e.g. \"- chaos: {}\")");
			continue;
		}
		const cdns_conf_t *opts = item->child;
		const char *name = opts->key;
		bool dup = false;
		for (unsigned i = 0; i < p->n; i++) {
			if (strcmp(p->inst[i].desc->name, name) == 0) {
				cdns_diag_key_error(d, opts,
						    "plugin '%s' is already in the pipeline (at %u:%u)",
						    name, where[i]->key_line, where[i]->key_col);
				dup = true;
			}
		}
		if (dup)
			continue;
		if (p->n == CDNS_PIPELINE_MAX) {
			cdns_diag_key_error(d, opts, "pipeline: at most %d plugins", CDNS_PIPELINE_MAX);
			return;
		}
		cdns__instance_t *inst = &p->inst[p->n];
		char searched[1024];
		if (strchr(name, '/') != NULL || name[0] == '.' || name[0] == '\0' ||
		    find_plugin(p, name, inst->path, sizeof(inst->path), searched,
				sizeof(searched)) != 0) {
			cdns_diag_key_error(d, opts, "unknown plugin '%s' (no %s.so in %s)", name, name,
					    searched);
			continue;
		}
		if (open_plugin(inst, name, opts, d) != 0)
			continue;
		where[p->n] = opts;
		p->n++;

		if (inst->desc->setup == NULL)
			continue;
		struct cdns_setup s = {
			.diag = d,
			.check_only = check_only,
			.identity = p->settings.identity,
			.config_dir = cdns__config_dir(p->config),
			.workers = p->settings.workers,
			.keep = keep_string,
			.keep_owner = p->config,
		};
		snprintf(s.prefix, sizeof(s.prefix), "plugin '%s': ", name);
		unsigned before = cdns_diag_count(d);
		int rc = inst->desc->setup(&s, opts, &inst->state);
		if (rc == 0) {
			inst->setup_done = true;
		} else if (cdns_diag_count(d) == before) {
			cdns_diag_key_error(d, opts, "plugin '%s': setup failed: %s", name,
					    cdns_strerror(rc));
		}
	}
	if (p->n == 0 && cdns_diag_count(d) == 0)
		cdns_diag_error(d, seq, "'pipeline' is empty: nothing would answer");
}

int cdns__pipeline_build(const char *path, bool check_only, cdns_diag_t *d,
			 cdns__pipeline_t **out)
{
	cdns__pipeline_t *p = calloc(1, sizeof(*p));
	if (p == NULL)
		return CDNS_ENOMEM;
	if (cdns__config_load(path, d, &p->config) != 0) {
		free(p);
		return CDNS_ECONFIG;
	}
	const cdns_conf_t *root = cdns__config_root(p->config);
	if (root == NULL || root->kind != CDNS_CONF_MAP) {
		cdns_diag_error_at(d, path, root ? root->line : 1, root ? root->col : 1,
				   "configuration must be a map with 'server' and 'pipeline'");
		cdns__pipeline_free(p);
		return CDNS_ECONFIG;
	}
	for (const cdns_conf_t *k = root->child; k != NULL; k = k->next) {
		if (strcmp(k->key, "server") != 0 && strcmp(k->key, "pipeline") != 0)
			cdns_diag_key_error(d, k, "unknown section '%s' (expected 'server' or 'pipeline')",
					    k->key);
	}
	parse_settings(p, cdns_conf_get(root, "server"), d);
	const cdns_conf_t *seq = cdns_conf_get(root, "pipeline");
	if (seq == NULL)
		cdns_diag_error_at(d, path, root->line, root->col, "'pipeline' is required");
	else
		parse_pipeline(p, seq, check_only, d); /* even after errors: report them all */
	if (cdns_diag_count(d) > 0 || check_only) {
		int rc = cdns_diag_count(d) > 0 ? CDNS_ECONFIG : 0;
		cdns__pipeline_free(p);
		return rc;
	}
	p->n_workers = p->settings.workers;
	p->inflight = aligned_alloc(64, sizeof(cdns__inflight_t) * CDNS_MAX_WORKERS);
	if (p->inflight == NULL) {
		cdns__pipeline_free(p);
		return CDNS_ENOMEM;
	}
	memset(p->inflight, 0, sizeof(cdns__inflight_t) * CDNS_MAX_WORKERS);
	*out = p;
	return 0;
}

int cdns__pipeline_activate(cdns__pipeline_t *p)
{
	for (unsigned i = 0; i < p->n; i++) {
		cdns__instance_t *inst = &p->inst[i];
		if (inst->desc->activate == NULL)
			continue;
		int rc = inst->desc->activate(inst->state);
		if (rc != 0) {
			cdns_err("plugin '%s': activation failed: %s", inst->desc->name,
				 cdns_strerror(rc));
			return rc;
		}
		inst->activated = true;
	}
	return 0;
}

void cdns__pipeline_free(cdns__pipeline_t *p)
{
	if (p == NULL)
		return;
	for (unsigned i = p->n; i-- > 0;) {
		cdns__instance_t *inst = &p->inst[i];
		if (inst->setup_done && inst->desc->teardown != NULL)
			inst->desc->teardown(inst->state);
		if (inst->handle != NULL)
			dlclose(inst->handle);
	}
	free(p->inflight);
	cdns__config_free(p->config);
	free(p);
}

static void list_dir(FILE *out, const char *dir)
{
	DIR *dh = opendir(dir);
	if (dh == NULL)
		return;
	fprintf(out, "plugins in %s:\n", dir);
	struct dirent *e;
	while ((e = readdir(dh)) != NULL) {
		size_t len = strlen(e->d_name);
		if (len < 4 || strcmp(e->d_name + len - 3, ".so") != 0)
			continue;
		char path[1024];
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
		const cdns_plugin_t *desc = h ? dlsym(h, CDNS_PLUGIN_SYMBOL) : NULL;
		if (desc == NULL)
			fprintf(out, "  %.*s: not a cloudDNS plugin\n", (int)(len - 3), e->d_name);
		else if (desc->abi != CDNS_PLUGIN_ABI)
			fprintf(out, "  %.*s: built for ABI %u (refused)\n", (int)(len - 3), e->d_name,
				(unsigned)desc->abi);
		else
			fprintf(out, "  %s %s%s%s\n", desc->name, desc->version ? desc->version : "",
				desc->description ? " - " : "",
				desc->description ? desc->description : "");
		if (h != NULL)
			dlclose(h);
	}
	closedir(dh);
}

void cdns__plugins_list(FILE *out)
{
	for (unsigned i = 0; i < cdns__srv.n_plugin_dirs; i++)
		list_dir(out, cdns__srv.plugin_dirs[i]);
	list_dir(out, CDNS_PLUGINDIR);
}
