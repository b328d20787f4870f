/* Accessors that let plugins reach the runtime without including anything from server/. */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include <clouddns/error.h>

#include "runtime.h"

static struct ev_loop *control_loop;
int (*cdns__control_post_fn)(void (*fn)(void *arg), void *arg);
int (*cdns__worker_post_fn)(cdns_worker_t *w, void (*fn)(void *arg), void *arg);

int cdns_control_post(void (*fn)(void *arg), void *arg)
{
	return cdns__control_post_fn ? cdns__control_post_fn(fn, arg) : CDNS_ENOTSUP;
}

int cdns_worker_post(cdns_worker_t *w, void (*fn)(void *arg), void *arg)
{
	return cdns__worker_post_fn ? cdns__worker_post_fn(w, fn, arg) : CDNS_ENOTSUP;
}

void cdns__runtime_set_control_loop(struct ev_loop *loop)
{
	control_loop = loop;
}

struct ev_loop *cdns_control_loop(void)
{
	return control_loop;
}

cdns_diag_t *cdns_setup_diag(cdns_setup_t *s)
{
	return s->diag;
}

const char *cdns_setup_prefix(cdns_setup_t *s)
{
	return s->prefix;
}

bool cdns_setup_check_only(cdns_setup_t *s)
{
	return s->check_only;
}

const char *cdns_setup_identity(cdns_setup_t *s)
{
	return s->identity;
}

const char *cdns_setup_config_dir(cdns_setup_t *s)
{
	return s->config_dir;
}

unsigned cdns_setup_workers(cdns_setup_t *s)
{
	return s->workers;
}

const char *cdns_setup_path(cdns_setup_t *s, const char *path)
{
	if (path == NULL)
		return NULL;
	if (path[0] == '/' || s->config_dir == NULL)
		return s->keep(s->keep_owner, path);
	char buf[PATH_MAX];
	int n = snprintf(buf, sizeof(buf), "%s/%s", s->config_dir, path);
	if (n < 0 || (size_t)n >= sizeof(buf))
		return NULL;
	return s->keep(s->keep_owner, buf);
}

struct ev_loop *cdns_worker_loop(cdns_worker_t *w)
{
	return w->loop;
}

unsigned cdns_worker_index(const cdns_worker_t *w)
{
	return w->index;
}

void cdns_query_resume(cdns_query_t *q, int verdict)
{
	q->worker->ops->resume(q, verdict);
}
