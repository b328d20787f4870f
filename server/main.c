/* clouddns: start-up, signals, reload and shutdown on the control loop. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "server.h"

cdns__server_t cdns__srv = {
	.tcp_lock = PTHREAD_MUTEX_INITIALIZER,
};

static const char *const level_names[] = { "emerg", "alert", "crit",   "error",
					   "warning", "notice", "info", "debug" };

static void log_stderr(int level, const char *msg, void *ctx)
{
	char line[2300];
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	int n = snprintf(line, sizeof(line), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s: %s\n",
			 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
			 tm.tm_sec, ts.tv_nsec / 1000000, level_names[level & 7], msg);
	if (n > (int)sizeof(line) - 1)
		n = (int)sizeof(line) - 1;
	/* One write per line, so lines from several threads never interleave. */
	ssize_t w = write(STDERR_FILENO, line, (size_t)n);
	(void)w;
}

static void log_syslog(int level, const char *msg, void *ctx)
{
	syslog(level, "%s", msg);
}

static void apply_logging(const cdns__settings_t *st)
{
	static const int levels[] = { CDNS_LOG_ERR, CDNS_LOG_WARNING, CDNS_LOG_NOTICE, CDNS_LOG_INFO,
				      CDNS_LOG_DEBUG };
	cdns_log_set_level(levels[st->log_level]);
	if (st->log_target == 1) {
		openlog("clouddns", LOG_PID | LOG_NDELAY, LOG_DAEMON);
		cdns_log_set_sink(log_syslog, NULL);
	} else {
		cdns_log_set_sink(log_stderr, NULL);
	}
}

int cdns__parse_listen(const char *text, cdns_sockaddr_t *addr, socklen_t *len)
{
	/* A listen address needs its port: no default. */
	return cdns_sockaddr_parse(text, 0, addr, len);
}

/* --- Reload and pipeline retirement. --- */

static void retire(cdns__pipeline_t *old)
{
	if (old == NULL)
		return;
	if (cdns__srv.n_retiring == sizeof(cdns__srv.retiring) / sizeof(cdns__srv.retiring[0])) {
		/* Should not happen: each needs every worker to move on; keep it (a leak) rather
		 * than free what a worker may still use. */
		cdns_err("too many reloads in flight; an old configuration stays in memory");
		return;
	}
	cdns__srv.retiring[cdns__srv.n_retiring++] = old;
}

static void released_cb(struct ev_loop *loop, ev_async *a, int revents)
{
	for (unsigned i = 0; i < cdns__srv.n_retiring;) {
		cdns__pipeline_t *p = cdns__srv.retiring[i];
		if (atomic_load(&p->workers_released) >= cdns__srv.n_workers) {
			cdns__srv.retiring[i] = cdns__srv.retiring[--cdns__srv.n_retiring];
			cdns_debug("configuration %u retired", p->generation);
			cdns__pipeline_free(p);
		} else {
			i++;
		}
	}
}

/* Deferred frees (clouddns/rcu.h): poll while any wait. */
static void rcu_timer_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	if (cdns__rcu_poll() == 0)
		ev_timer_stop(loop, t);
}

static void rcu_kick_cb(struct ev_loop *loop, ev_async *a, int revents)
{
	if (!ev_is_active(&cdns__srv.rcu_timer))
		ev_timer_again(loop, &cdns__srv.rcu_timer);
}

static void rcu_kick(void)
{
	ev_async_send(cdns__srv.control, &cdns__srv.rcu_kick);
}

static int control_post(void (*fn)(void *arg), void *arg)
{
	return cdns__mailbox_post(&cdns__srv.mailbox, fn, arg);
}

static void print_diag(cdns_diag_t *d, int level)
{
	for (unsigned i = 0; i < cdns_diag_count(d); i++)
		cdns_log(level, "%s", cdns_diag_message(d, i));
}

static void reload(void)
{
	cdns_notice("reloading %s", cdns__srv.config_path);
	cdns_diag_t *d = cdns_diag_new();
	cdns__pipeline_t *p = NULL;
	int rc = d ? cdns__pipeline_build(cdns__srv.config_path, false, d, &p) : CDNS_ENOMEM;
	if (rc != 0) {
		if (d != NULL)
			print_diag(d, CDNS_LOG_ERR);
		cdns_err("reload failed (%u error%s): still serving the previous configuration",
			 d ? cdns_diag_count(d) : 1, d && cdns_diag_count(d) == 1 ? "" : "s");
		cdns_diag_free(d);
		return;
	}
	cdns_diag_free(d);
	cdns__pipeline_t *old = atomic_load(&cdns__srv.current);
	if (p->settings.workers != old->settings.workers ||
	    p->settings.udp_steering != old->settings.udp_steering ||
	    p->settings.n_cpus != old->settings.n_cpus ||
	    memcmp(p->settings.cpus, old->settings.cpus, sizeof(p->settings.cpus)) != 0 ||
	    p->settings.n_listen != old->settings.n_listen ||
	    memcmp(p->settings.listen_addr, old->settings.listen_addr,
		   sizeof(p->settings.listen_addr)) != 0)
		cdns_warn("reload: changes to 'listen', 'workers', 'udp_steering' and "
			  "'cpu_affinity' take effect after a restart");
	/* Keep the sockets' parameters; everything else is new. */
	p->settings.workers = old->settings.workers;
	p->n_workers = old->n_workers;
	if (cdns__pipeline_activate(p) != 0) {
		cdns_err("reload failed: still serving the previous configuration");
		cdns__pipeline_free(p);
		return;
	}
	p->generation = ++cdns__srv.generation;
	apply_logging(&p->settings);
	atomic_store_explicit(&cdns__srv.current, p, memory_order_release);
	retire(old);
	cdns__workers_wakeup(&cdns__srv);
	cdns_notice("configuration %u loaded: %u plugin%s", p->generation, p->n,
		    p->n == 1 ? "" : "s");
}

static void sighup_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
	if (!atomic_load(&cdns__srv.stopping))
		reload();
}

static atomic_uint workers_running;

static void shutdown_check_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	if (atomic_load(&workers_running) == 0)
		ev_break(loop, EVBREAK_ALL);
}

static ev_timer shutdown_poll;

static void shutdown_force_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	cdns_warn("shutdown: %u queries still in progress after shutdown_timeout; leaving anyway",
		  cdns__busy_queries(&cdns__srv));
	atomic_store(&cdns__srv.force_exit, true);
	cdns__workers_wakeup(&cdns__srv);
}

static void sigterm_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
	if (atomic_exchange(&cdns__srv.stopping, true))
		return;
	cdns_notice("shutting down (signal %d): finishing queries in progress", w->signum);
	cdns__workers_wakeup(&cdns__srv);
	ev_timer_init(&shutdown_poll, shutdown_check_cb, 0.01, 0.01);
	ev_timer_start(loop, &shutdown_poll);
	ev_tstamp t = (ev_tstamp)atomic_load(&cdns__srv.current)->settings.shutdown_timeout_ms / 1000.;
	ev_timer_init(&cdns__srv.shutdown_timer, shutdown_force_cb, t, 0.);
	ev_timer_start(loop, &cdns__srv.shutdown_timer);
}

/* Called by each worker thread as it leaves its loop. */
void cdns__worker_exited(void)
{
	atomic_fetch_sub(&workers_running, 1);
}

/* --- Privileges. --- */

static int drop_privileges(const char *user)
{
	struct passwd *pw = getpwnam(user);
	if (pw == NULL) {
		cdns_err("server: user '%s' does not exist", user);
		return -1;
	}
	if (setgroups(0, NULL) != 0 || setgid(pw->pw_gid) != 0 || setuid(pw->pw_uid) != 0) {
		cdns_err("server: cannot switch to user '%s': %s", user, strerror(errno));
		return -1;
	}
	return 0;
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: clouddns [-c FILE] [-t] [-P DIR]... [-V] [-h]\n"
		"  -c FILE  configuration file (default %s/clouddns.yaml)\n"
		"  -t       check the configuration and exit (0 if valid, 1 with every error)\n"
		"  -P DIR   look for plugins in DIR first (repeatable; also CLOUDDNS_PLUGIN_PATH)\n"
		"  -V       print version, plugin ABI and the plugins found, and exit\n"
		"  -h       this help\n",
		CDNS_SYSCONFDIR);
}

static void add_plugin_dir(const char *dir)
{
	if (cdns__srv.n_plugin_dirs < sizeof(cdns__srv.plugin_dirs) / sizeof(cdns__srv.plugin_dirs[0]))
		cdns__srv.plugin_dirs[cdns__srv.n_plugin_dirs++] = dir;
}

int main(int argc, char **argv)
{
	const char *config = CDNS_SYSCONFDIR "/clouddns.yaml";
	bool version = false;
	cdns_log_set_sink(log_stderr, NULL); /* until the configuration says otherwise */
	int opt;
	while ((opt = getopt(argc, argv, "c:tP:Vh")) != -1) {
		switch (opt) {
		case 'c': config = optarg; break;
		case 't': cdns__srv.check_only = true; break;
		case 'P': add_plugin_dir(optarg); break;
		case 'V': version = true; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc) {
		usage(stderr);
		return 2;
	}
	const char *env = getenv("CLOUDDNS_PLUGIN_PATH");
	if (env != NULL) {
		char *copy = strdup(env);
		for (char *save = NULL, *tok = strtok_r(copy, ":", &save); tok != NULL;
		     tok = strtok_r(NULL, ":", &save))
			add_plugin_dir(tok);
	}
	if (version) {
		printf("clouddns %s (plugin ABI %d)\n", CDNS_VERSION, CDNS_PLUGIN_ABI);
		cdns__plugins_list(stdout);
		return 0;
	}
	cdns__srv.config_path = config;

	cdns_diag_t *d = cdns_diag_new();
	if (d == NULL)
		return 1;
	/* A check prints errors and warnings, not the progress lines of a start. */
	if (cdns__srv.check_only)
		cdns_log_set_level(CDNS_LOG_WARNING);
	cdns__pipeline_t *p = NULL;
	int rc = cdns__pipeline_build(config, cdns__srv.check_only, d, &p);
	if (cdns__srv.check_only) {
		cdns_diag_print(d, stderr);
		unsigned n = cdns_diag_count(d);
		cdns_diag_free(d);
		if (rc == 0 && n == 0) {
			fprintf(stderr, "%s: configuration is valid\n", config);
			return 0;
		}
		return 1;
	}
	if (rc != 0) {
		cdns_diag_print(d, stderr);
		cdns_diag_free(d);
		return 1;
	}
	cdns_diag_free(d);
	apply_logging(&p->settings);

	cdns__srv.control = ev_default_loop(EVFLAG_AUTO);
	cdns__runtime_set_control_loop(cdns__srv.control);
	signal(SIGPIPE, SIG_IGN);

	if (cdns__open_listeners(&cdns__srv, p) != 0)
		return 1;
	if (p->settings.pid_file != NULL) {
		FILE *f = fopen(p->settings.pid_file, "w");
		if (f == NULL) {
			cdns_err("server: cannot write pid_file '%s': %s", p->settings.pid_file,
				 strerror(errno));
			return 1;
		}
		fprintf(f, "%ld\n", (long)getpid());
		fclose(f);
	}
	if (p->settings.user != NULL && drop_privileges(p->settings.user) != 0)
		return 1;
	if (cdns__pipeline_activate(p) != 0)
		return 1;
	p->generation = ++cdns__srv.generation;
	atomic_store(&cdns__srv.current, p);

	ev_signal_init(&cdns__srv.sig_hup, sighup_cb, SIGHUP);
	ev_signal_init(&cdns__srv.sig_term, sigterm_cb, SIGTERM);
	ev_signal_init(&cdns__srv.sig_int, sigterm_cb, SIGINT);
	ev_signal_start(cdns__srv.control, &cdns__srv.sig_hup);
	ev_signal_start(cdns__srv.control, &cdns__srv.sig_term);
	ev_signal_start(cdns__srv.control, &cdns__srv.sig_int);
	ev_async_init(&cdns__srv.released, released_cb);
	ev_async_start(cdns__srv.control, &cdns__srv.released);
	ev_async_init(&cdns__srv.rcu_kick, rcu_kick_cb);
	ev_async_start(cdns__srv.control, &cdns__srv.rcu_kick);
	cdns__mailbox_init(&cdns__srv.mailbox);
	cdns__mailbox_start(&cdns__srv.mailbox, cdns__srv.control);
	cdns__control_post_fn = control_post;
	ev_init(&cdns__srv.rcu_timer, rcu_timer_cb);
	cdns__srv.rcu_timer.repeat = 0.005;
	cdns__rcu_kick = rcu_kick;

	atomic_store(&workers_running, cdns__srv.n_workers);
	if (cdns__workers_start(&cdns__srv, p) != 0) {
		cdns_err("cannot start worker threads");
		return 1;
	}
	cdns__steer_start(&cdns__srv, p->settings.udp_steering);
	char addrs[512] = "";
	for (unsigned i = 0; i < p->settings.n_listen; i++) {
		char host[INET6_ADDRSTRLEN];
		const cdns_sockaddr_t *a = &p->settings.listen_addr[i];
		size_t used = strlen(addrs);
		if (a->sa.sa_family == AF_INET) {
			inet_ntop(AF_INET, &a->sin.sin_addr, host, sizeof(host));
			snprintf(addrs + used, sizeof(addrs) - used, "%s%s:%u", i ? " " : "", host,
				 ntohs(a->sin.sin_port));
		} else {
			inet_ntop(AF_INET6, &a->sin6.sin6_addr, host, sizeof(host));
			snprintf(addrs + used, sizeof(addrs) - used, "%s[%s]:%u", i ? " " : "", host,
				 ntohs(a->sin6.sin6_port));
		}
	}
	cdns_notice("clouddns %s ready: %u worker%s, %u plugin%s, listening on %s", CDNS_VERSION,
		    cdns__srv.n_workers, cdns__srv.n_workers == 1 ? "" : "s", p->n,
		    p->n == 1 ? "" : "s", addrs);

	ev_run(cdns__srv.control, 0);

	cdns__workers_join(&cdns__srv);
	cdns__mailbox_drain(&cdns__srv.mailbox);
	cdns__control_post_fn = NULL;
	cdns__worker_post_fn = NULL;
	cdns__rcu_kick = NULL;
	cdns__stats_log(&cdns__srv);
	for (unsigned i = 0; i < cdns__srv.n_retiring; i++)
		cdns__pipeline_free(cdns__srv.retiring[i]);
	cdns__pipeline_free(atomic_load(&cdns__srv.current));
	cdns__rcu_shutdown(); /* after teardown: plugins may have deferred frees */
	cdns_registry_clear();
	for (unsigned i = 0; i < cdns__srv.n_workers; i++)
		free(cdns__srv.workers[i]);
	cdns_notice("stopped");
	return 0;
}
