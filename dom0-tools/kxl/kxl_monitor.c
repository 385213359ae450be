/* The per-domain monitor: waits for the domain to end and carries out on_poweroff/on_reboot/on_crash. */
/*
 * kxen-hv itself only destroys or preserves a domain that has shut down.
 * Restarts and core dumps need the toolstack, so, as xl does, kxl create
 * leaves one small process per domain that needs it. It sleeps on kxen-hv's
 * domain-events eventfd, looks at its domain's info when woken, and exits
 * when the domain is gone or preserved.
 */
#include <config.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <stdint.h>   /* the Xen headers assume it */
#include <xen/xen.h>
#include <xen/sched.h>
#include "kxl.h"
#include "kxen/kxconfig.h"

/* Woken by kxen-hv's domain-events eventfd; the timeout only covers a lost wake-up. */
#define MONITOR_POLL_MS       2000
#define RESTART_BURST_DEFAULT 5     /* restarts allowed ... */
#define RESTART_WINDOW_DEFAULT 60   /* ... within this many seconds */
#define RESTART_LIMIT_ENV     "KXL_RESTART_LIMIT"   /* "BURST/SECONDS" */

struct monitor {
	kxctrl *h;
	struct kxconfig *cfg;       /* the saved config: what a restart rebuilds */
	uint32_t domid;
	unsigned burst, window;
	time_t *starts;             /* ring of the last `burst` restart times */
	unsigned nstarts;
};

static void restart_limit(struct monitor *m)
{
	const char *env = getenv(RESTART_LIMIT_ENV);
	unsigned b, w;
	m->burst = RESTART_BURST_DEFAULT;
	m->window = RESTART_WINDOW_DEFAULT;
	if (env && sscanf(env, "%u/%u", &b, &w) == 2 && b > 0 && b < 1000 && w > 0) {
		m->burst = b;
		m->window = w;
	}
}

/* "restarting too fast": more than burst restarts within window seconds. */
static int too_fast(struct monitor *m)
{
	time_t now = time(NULL);
	if (m->nstarts >= m->burst && now - m->starts[m->nstarts % m->burst] < (time_t)m->window)
		return 1;
	m->starts[m->nstarts++ % m->burst] = now;
	return 0;
}

static enum kxconfig_action action_for(const struct monitor *m, const struct kxctl_dominfo *i)
{
	if (i->flags & KXCTL_DOMF_CRASHED)
		return m->cfg->on_crash;
	switch (i->shutdown_reason) {
	case SHUTDOWN_poweroff:
		return m->cfg->on_poweroff;
	case SHUTDOWN_reboot:
		return m->cfg->on_reboot;
	case SHUTDOWN_crash:
	case SHUTDOWN_watchdog:
		return m->cfg->on_crash;
	default:
		return KXCONFIG_ACT_PRESERVE;   /* suspend: keep it for whoever asked for that */
	}
}

static int dump_core(struct monitor *m)
{
	const char *env = getenv(KXL_DUMP_ENV), *dir = env && *env ? env : KXL_DUMP_DIR;
	char path[4096], err[512];
	time_t t = time(NULL);
	struct tm tm;
	char stamp[32] = "0";
	if (localtime_r(&t, &tm))
		strftime(stamp, sizeof(stamp), "%Y-%m-%d-%H%M%S", &tm);
	mkdir(dir, 0700);
	snprintf(path, sizeof(path), "%s/%s-%u-%s.core", dir, m->cfg->name, m->domid, stamp);
	int r = kxl_core_dump(m->h, m->domid, path, err, sizeof(err));
	if (r)
		kxl_err("domain %s (id=%u): core dump failed: %s", m->cfg->name, m->domid, err);
	else
		kxl_err("domain %s (id=%u): core dumped to %s", m->cfg->name, m->domid, path);
	return r;
}

static int restart(struct monitor *m, int rename_old)
{
	char *kernel = NULL;
	uint32_t domid;
	int r;

	if (too_fast(m)) {
		kxl_err("domain %s (id=%u) is restarting too fast (%u restarts within %u s): "
		        "destroying it instead", m->cfg->name, m->domid, m->burst, m->window);
		kxl_domain_teardown(m->h, m->domid, m->cfg->uuid);
		return -EAGAIN;
	}
	if (rename_old) {
		/* The dead domain stays for inspection under a new name; the new one gets a new UUID. */
		char old[KXCTL_NAME_MAX];
		snprintf(old, sizeof(old), "%.40s-crashed-%u", m->cfg->name, m->domid);
		if ((r = kxctrl_domain_rename(m->h, m->domid, old))) {
			kxl_err("cannot rename domain %s (id=%u) to %s: %s", m->cfg->name, m->domid, old,
			        strerror(-r));
			return r;
		}
		char *saved_name = m->cfg->name;
		m->cfg->name = old;
		kxl_state_save(m->cfg);            /* dumpxml of the old one shows its new name */
		m->cfg->name = saved_name;
		kxconfig_uuid_generate(m->cfg->uuid);
		kxl_err("renamed domain %s (id=%u) to %s", m->cfg->name, m->domid, old);
	} else {
		kxl_domain_teardown(m->h, m->domid, NULL);   /* the restart saves the config again */
	}
	if (!(kernel = kxl_find_kernel(m->cfg)))
		return -ENOENT;
	r = kxl_domain_start(m->h, m->cfg, kernel, 0, &domid);
	free(kernel);
	if (r)
		return r;
	kxl_err("restarted domain %s: id %u replaces %u", m->cfg->name, domid, m->domid);
	m->domid = domid;
	return 0;
}

/* Returns 1 while the monitor has a domain to watch, 0 when done. */
static int act(struct monitor *m, const struct kxctl_dominfo *info)
{
	enum kxconfig_action a = action_for(m, info);
	kxl_err("domain %s (id=%u) %s (reason %u): %s", m->cfg->name, m->domid,
	        info->flags & KXCTL_DOMF_CRASHED ? "crashed" : "shut down", info->shutdown_reason,
	        kxconfig_action_name(a));
	if (a == KXCONFIG_ACT_COREDUMP_DESTROY || a == KXCONFIG_ACT_COREDUMP_RESTART)
		dump_core(m);
	switch (a) {
	case KXCONFIG_ACT_PRESERVE:
		return 0;
	case KXCONFIG_ACT_DESTROY:
	case KXCONFIG_ACT_COREDUMP_DESTROY:
		kxl_domain_teardown(m->h, m->domid, m->cfg->uuid);
		return 0;
	case KXCONFIG_ACT_RESTART:
	case KXCONFIG_ACT_COREDUMP_RESTART:
		return restart(m, 0) == 0;
	case KXCONFIG_ACT_RENAME_RESTART:
		return restart(m, 1) == 0;
	}
	return 0;
}

/* cfg: the domain's config, which the monitor then owns; NULL: load the saved one. */
static int monitor_run(const uint8_t uuid[16], uint32_t domid, struct kxconfig *cfg)
{
	struct monitor m = { .domid = domid, .cfg = cfg };
	int efd = -1;
	char err[1024];
	int r;

	restart_limit(&m);
	if (!(m.starts = calloc(m.burst, sizeof(*m.starts)))) {
		kxconfig_free(cfg);
		return -ENOMEM;
	}
	if (!m.cfg && (r = kxl_state_load(uuid, &m.cfg, err, sizeof(err)))) {
		kxl_err("monitor of domain %u: cannot load its saved config: %s", domid, err);
		goto out;
	}
	if ((r = kxl_connect(&m.h)))
		goto out;
	if (kxctrl_domain_events_fd(m.h, &efd) < 0)
		efd = -1;   /* an older kxen-hv: poll */
	kxl_phase("monitor-ready");
	for (;;) {
		struct kxctl_dominfo info;
		r = kxctrl_domain_info(m.h, m.domid, &info);
		if (r == -ESRCH || r == -ENOENT || (!r && memcmp(info.uuid, m.cfg->uuid, 16))) {
			/*
			 * Destroyed from outside (kxl destroy, or kxen-hv's own destroy
			 * action). A reused id belongs to someone else: only our file goes.
			 */
			kxl_phase("gone");
			if (r)
				kxl_domain_forget(m.domid, m.cfg->uuid);
			else
				kxl_state_remove(m.cfg->uuid);
			r = 0;
			break;
		}
		if (r) {
			kxl_err("monitor of domain %s (id=%u): %s", m.cfg->name, m.domid, strerror(-r));
			break;
		}
		if (info.flags & (KXCTL_DOMF_SHUTDOWN | KXCTL_DOMF_CRASHED)) {
			kxl_phase("shutdown-seen");
			if (!act(&m, &info))
				break;
		}
		struct pollfd p = { .fd = efd, .events = POLLIN };
		if (poll(&p, efd >= 0 ? 1 : 0, efd >= 0 ? MONITOR_POLL_MS : 100) > 0) {
			uint64_t count;
			if (read(efd, &count, sizeof(count)) < 0 && errno != EAGAIN)
				break;
		}
	}
out:
	kxl_phase("teardown");
	if (efd >= 0)
		close(efd);
	kxctrl_close(m.h);
	kxconfig_free(m.cfg);
	free(m.starts);
	return r;
}

/* stdin from /dev/null, stdout and stderr to the domain's log in the state directory. */
static void detach_stdio(const uint8_t uuid[16])
{
	char log[4096];
	kxl_state_path(uuid, ".log", log, sizeof(log));
	int in = open("/dev/null", O_RDONLY | O_CLOEXEC);
	int out = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (in >= 0)
		dup2(in, 0);
	if (out >= 0) {
		dup2(out, 1);
		dup2(out, 2);
	}
	if (in > 2)
		close(in);
	if (out > 2)
		close(out);
}

static void write_pid(const uint8_t uuid[16])
{
	char path[4096];
	kxl_state_path(uuid, ".pid", path, sizeof(path));
	FILE *f = fopen(path, "w");
	if (f) {
		fprintf(f, "%d\n", (int)getpid());
		fclose(f);
	}
}

int kxl_monitor_foreground(struct kxconfig *cfg, uint32_t domid)
{
	uint8_t uuid[16];

	memcpy(uuid, cfg->uuid, 16);
	return monitor_run(uuid, domid, cfg);
}

int kxl_monitor_spawn(const struct kxconfig *cfg, uint32_t domid)
{
	uint8_t uuid[16];
	memcpy(uuid, cfg->uuid, 16);
	fflush(NULL);
	/* Double fork: the monitor is reparented away from the shell and never becomes a zombie. */
	pid_t p = fork();
	if (p < 0)
		return -errno;
	if (p == 0) {
		setsid();
		pid_t q = fork();
		if (q != 0)
			_exit(q < 0 ? 1 : 0);
		detach_stdio(uuid);
		write_pid(uuid);
		signal(SIGHUP, SIG_IGN);
		int r = monitor_run(uuid, domid, NULL);
		char pidfile[4096];
		kxl_state_path(uuid, ".pid", pidfile, sizeof(pidfile));
		unlink(pidfile);
		_exit(r ? 1 : 0);
	}
	int st;
	if (waitpid(p, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st))
		return -ECHILD;
	return 0;
}
