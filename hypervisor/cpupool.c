/* vCPU threads on the host scheduler: pinning (sched_setaffinity) and a cgroup per domain carrying xl's credit weight and cap. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>
#include <linux/magic.h>

#include "kxen-hv.h"
#include "log.h"
#include "vcpu.h"
#include "domain.h"
#include "cpupool.h"
#include "ctl.h"

#define CAP_PERIOD_US 100000u

static struct {
	/* kxen-hv's own affinity at startup: an unpinned vCPU gets it (not its creator's pinning). */
	cpu_set_t unpinned;
	bool unpinned_known;
	enum kxctl_sched_backend kind;
	char base[PATH_MAX - 32];   /* kxen-hv's group: PARENT/kxen.PID */
	char why[192];
} cg;

/* snprintf for messages built from paths: cutting a long path short is fine there. */
static void say(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, len, fmt, ap);
	va_end(ap);
}

unsigned cpupool_weight_to_cpu_weight(unsigned weight)
{
	unsigned long w = ((unsigned long)weight * 100 + 128) / 256;

	return w < 1 ? 1 : w > 10000 ? 10000 : (unsigned)w;
}

unsigned cpupool_weight_to_shares(unsigned weight)
{
	unsigned long s = (unsigned long)weight * 4;

	return s < 2 ? 2 : s > 262144 ? 262144 : (unsigned)s;
}

long cpupool_cap_to_quota_us(unsigned cap)
{
	return cap ? (long)cap * (CAP_PERIOD_US / 100) : -1;
}

void cpupool_cap_to_cpu_max(unsigned cap, char *buf, size_t len)
{
	if (cap)
		snprintf(buf, len, "%ld %u", cpupool_cap_to_quota_us(cap), CAP_PERIOD_US);
	else
		snprintf(buf, len, "max %u", CAP_PERIOD_US);
}

/* Writes s to dir/file; 0 or -errno. */
static int put(const char *dir, const char *file, const char *s)
{
	char p[PATH_MAX];
	int fd, rc = 0;

	snprintf(p, sizeof(p), "%s/%s", dir, file);
	if ((fd = open(p, O_WRONLY | O_CLOEXEC)) < 0)
		return -errno;
	if (write(fd, s, strlen(s)) < 0)
		rc = -errno;
	close(fd);
	return rc;
}

/* Whether token appears in the space- or comma-separated list of dir/file. */
static bool listed(const char *dir, const char *file, const char *token)
{
	char p[PATH_MAX], buf[512];
	FILE *f;
	bool found = false;

	snprintf(p, sizeof(p), "%s/%s", dir, file);
	if (!(f = fopen(p, "re")))
		return false;
	if (fgets(buf, sizeof(buf), f))
		for (char *save, *t = strtok_r(buf, " ,\n", &save); t && !found; t = strtok_r(NULL, " ,\n", &save))
			found = !strcmp(t, token);
	fclose(f);
	return found;
}

/*
 * kxen-hv's own cgroup directory in the hierarchy of fstype (cgroup2, or
 * cgroup with the cpu controller): the mount point from mountinfo joined
 * with the path /proc/self/cgroup gives. 0 or -ENOENT.
 */
static int own_cgroup(bool v2, char *out, size_t len)
{
	char line[1024], mnt[PATH_MAX] = "", path[PATH_MAX] = "";
	FILE *f = fopen("/proc/self/mountinfo", "re");

	if (!f)
		return -errno;
	while (!mnt[0] && fgets(line, sizeof(line), f)) {
		char mp[PATH_MAX], *dash = strstr(line, " - "), fstype[32], src[64], opts[256] = "";
		if (!dash || sscanf(line, "%*s %*s %*s %*s %4095s", mp) != 1 ||
		    sscanf(dash + 3, "%31s %63s %255s", fstype, src, opts) < 2)
			continue;
		if (v2 ? !strcmp(fstype, "cgroup2") : !strcmp(fstype, "cgroup")) {
			bool cpu = v2;
			for (char *save, *t = strtok_r(opts, ",", &save); t && !cpu; t = strtok_r(NULL, ",", &save))
				cpu = !strcmp(t, "cpu");
			if (cpu)
				snprintf(mnt, sizeof(mnt), "%s", mp);
		}
	}
	fclose(f);
	if (!mnt[0] || !(f = fopen("/proc/self/cgroup", "re")))
		return -ENOENT;
	/* Lines are HIERARCHY:CONTROLLERS:PATH; v2's is 0::PATH. */
	while (!path[0] && fgets(line, sizeof(line), f)) {
		char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (!c2)
			continue;
		*c1 = *c2 = '\0';
		c2[1 + strcspn(c2 + 1, "\n")] = '\0';
		if (v2) {
			if (!strcmp(line, "0") && !c1[1])
				snprintf(path, sizeof(path), "%s", c2 + 1);
			continue;
		}
		for (char *save, *t = strtok_r(c1 + 1, ",", &save); t; t = strtok_r(NULL, ",", &save))
			if (!strcmp(t, "cpu"))
				snprintf(path, sizeof(path), "%s", c2 + 1);
	}
	fclose(f);
	if (!path[0])
		return -ENOENT;
	snprintf(out, len, "%s%s", mnt, strcmp(path, "/") ? path : "");
	return 0;
}

/*
 * Removes the groups of kxen-hv processes that are gone (killed with
 * SIGKILL, they could not clean up): PARENT/kxen.PID with no live PID,
 * which no thread can be in any more.
 */
static void sweep_stale(const char *parent)
{
	DIR *dir = opendir(parent), *sub;
	struct dirent *e, *f;
	char p[PATH_MAX], q[PATH_MAX];
	int pid;

	while (dir && (e = readdir(dir))) {
		if (sscanf(e->d_name, "kxen.%d", &pid) != 1 || pid <= 0 || kill(pid, 0) == 0 || errno != ESRCH)
			continue;
		say(p, sizeof(p), "%s/%s", parent, e->d_name);
		if ((sub = opendir(p))) {
			while ((f = readdir(sub)))
				if (!strncmp(f->d_name, "dom-", 4)) {
					say(q, sizeof(q), "%s/%s", p, f->d_name);
					rmdir(q);
				}
			closedir(sub);
		}
		rmdir(p);
	}
	if (dir)
		closedir(dir);
}

/* Makes kxen-hv's group PARENT/kxen.PID (after removing dead processes' ones); why on failure. */
static int make_base(const char *parent, const char *what, char *why, size_t len)
{
	int rc;

	sweep_stale(parent);
	snprintf(cg.base, sizeof(cg.base), "%s/kxen.%d", parent, (int)getpid());
	if (mkdir(cg.base, 0755) < 0 && errno != EEXIST) {
		rc = -errno;
		say(why, len, "%s %s: %s", what, cg.base, strerror(-rc));
		return rc;
	}
	return 0;
}

/* Makes PARENT/kxen.PID as a cgroup v2 threaded group with the cpu controller; why on failure. */
static int try_v2(const char *parent, char *why, size_t len)
{
	int rc;

	if (!listed(parent, "cgroup.controllers", "cpu")) {
		say(why, len, "cgroup v2 %s: the cpu controller is not available there", parent);
		return -ENOTSUP;
	}
	if ((rc = make_base(parent, "cgroup v2", why, len)))
		return rc;
	/* Threaded first: that makes parent a threaded domain, which may then enable cpu beside its own threads. */
	if ((rc = put(cg.base, "cgroup.type", "threaded")) || (rc = put(parent, "cgroup.subtree_control", "+cpu")) ||
	    (rc = put(cg.base, "cgroup.subtree_control", "+cpu"))) {
		say(why, len, "cgroup v2 %s: enabling the threaded cpu controller: %s", cg.base, strerror(-rc));
		rmdir(cg.base);
		return rc;
	}
	return 0;
}

static int try_v1(const char *parent, char *why, size_t len)
{
	int rc;

	if ((rc = make_base(parent, "cgroup v1 cpu", why, len)))
		return rc;
	if (access(cg.base, W_OK) < 0 || !listed(cg.base, "cpu.shares", "1024")) {
		say(why, len, "cgroup v1 cpu %s: no writable cpu.shares", cg.base);
		rmdir(cg.base);
		return -ENOTSUP;
	}
	return 0;
}

static void cg_start(void);

void cpupool_init(void)
{
	const char *mode = getenv("KXEN_CGROUP"), *root = getenv("KXEN_CGROUP_ROOT");
	char parent[PATH_MAX], why2[192] = "", why1[192] = "";
	struct statfs sf;

	cg.unpinned_known = sched_getaffinity(0, sizeof(cg.unpinned), &cg.unpinned) == 0;
	cg.kind = KXCTL_SCHED_NONE;
	if (mode && !strcmp(mode, "none")) {
		say(cg.why, sizeof(cg.why), "disabled by KXEN_CGROUP=none");
		goto out;
	}
	if (root) {
		/* One named parent: its filesystem says which version it is. */
		if (statfs(root, &sf) < 0)
			say(why2, sizeof(why2), "KXEN_CGROUP_ROOT %s: %s", root, strerror(errno));
		else if (sf.f_type == CGROUP2_SUPER_MAGIC && !try_v2(root, why2, sizeof(why2)))
			cg.kind = KXCTL_SCHED_CGROUP2;
		else if (sf.f_type == CGROUP_SUPER_MAGIC && !try_v1(root, why2, sizeof(why2)))
			cg.kind = KXCTL_SCHED_CGROUP1;
		else if (!why2[0])
			say(why2, sizeof(why2), "KXEN_CGROUP_ROOT %s is not a cgroup directory", root);
		say(cg.why, sizeof(cg.why), "%s", why2);
		goto out;
	}
	if (own_cgroup(true, parent, sizeof(parent)))
		say(why2, sizeof(why2), "no cgroup v2 hierarchy is mounted");
	else if (!try_v2(parent, why2, sizeof(why2)))
		cg.kind = KXCTL_SCHED_CGROUP2;
	if (!cg.kind && own_cgroup(false, parent, sizeof(parent)))
		say(why1, sizeof(why1), "no cgroup v1 cpu hierarchy is mounted");
	else if (!cg.kind && !try_v1(parent, why1, sizeof(why1)))
		cg.kind = KXCTL_SCHED_CGROUP1;
	if (cg.kind == KXCTL_SCHED_CGROUP1)
		hvlog("(XEN) sched: not cgroup v2: %s", why2);
	say(cg.why, sizeof(cg.why), "%s; %s", why2, why1);
out:
	if (cg.kind)
		cg_start();   /* from the main thread: the worker inherits no vCPU's cgroup or pinning */
	if (cg.kind)
		hvlog("(XEN) sched: vCPU threads in cgroup %s %s", cg.kind == KXCTL_SCHED_CGROUP2 ? "v2" : "v1",
		      cg.base);
	else
		hvlog("(XEN) sched: no cgroup for weights and caps: %s", cg.why);
}

/*
 * Every change to the domains' groups is made by one worker thread, in the
 * order asked. A thread's cgroup migration waits for an RCU grace period
 * (~10 ms here) under the cgroup mutex, and every mkdir, rmdir or write in
 * the hierarchy waits behind it: on a vCPU thread or in a destroy, that was
 * most of a short domain's life (`kxl create -F hello`). The order keeps a
 * destroyed domain's removal before a new domain of the same id is made,
 * and a weight set after the group was made.
 */
enum cg_op { CG_ENTER, CG_SET, CG_RELEASE, CG_FINI };

struct cg_job {
	enum cg_op op;
	unsigned domid, vcpu, weight, cap;
	pid_t tid;
	bool wait;           /* the caller sleeps until done (its seq) and reads *rc */
	int *rc;
};

/*
 * A fixed ring, no malloc: a thread's first malloc or free attaches it to a
 * malloc arena (64 MiB of address space each when they are contended).
 */
#define CQ_SIZE 256
static struct {
	pthread_mutex_t lock;
	pthread_cond_t work, done, room;
	struct cg_job job[CQ_SIZE];
	uint64_t head, tail, finished;   /* jobs taken, queued, and completed (sequence numbers) */
	bool started;
} cq = { .lock = PTHREAD_MUTEX_INITIALIZER, .work = PTHREAD_COND_INITIALIZER,
         .done = PTHREAD_COND_INITIALIZER, .room = PTHREAD_COND_INITIALIZER };

/* Writes weight and cap into the group dir; 0 or -errno. */
static int group_apply(const char *dir, unsigned weight, unsigned cap)
{
	unsigned w = weight ? weight : KXCTL_SCHED_WEIGHT_DEFAULT;
	char s[48];
	int rc;

	if (cg.kind == KXCTL_SCHED_CGROUP2) {
		snprintf(s, sizeof(s), "%u", cpupool_weight_to_cpu_weight(w));
		if ((rc = put(dir, "cpu.weight", s)))
			return rc;
		cpupool_cap_to_cpu_max(cap, s, sizeof(s));
		return put(dir, "cpu.max", s);
	}
	snprintf(s, sizeof(s), "%u", cpupool_weight_to_shares(w));
	if ((rc = put(dir, "cpu.shares", s)) || (rc = put(dir, "cpu.cfs_period_us", "100000")))
		return rc;
	snprintf(s, sizeof(s), "%ld", cpupool_cap_to_quota_us(cap));
	return put(dir, "cpu.cfs_quota_us", s);
}

/* Makes the group dir with the job's values if it does not exist (always applies them with set); 0 or -errno. */
static int group_make(const char *dir, const struct cg_job *j, bool set)
{
	int rc;

	if (mkdir(dir, 0755) < 0) {
		if (errno != EEXIST)
			return -errno;
		return set ? group_apply(dir, j->weight, j->cap) : 0;
	}
	if ((cg.kind == KXCTL_SCHED_CGROUP2 && (rc = put(dir, "cgroup.type", "threaded"))) ||
	    (rc = group_apply(dir, j->weight, j->cap)))
		rmdir(dir);
	return rc;
}

static int cg_do(const struct cg_job *j)
{
	char dir[PATH_MAX], s[16];
	int rc = -EBUSY;

	say(dir, sizeof(dir), "%s/dom-%u", cg.base, j->domid);
	switch (j->op) {
	case CG_ENTER:
		if ((rc = group_make(dir, j, false)))
			break;
		snprintf(s, sizeof(s), "%d", (int)j->tid);
		rc = put(dir, cg.kind == KXCTL_SCHED_CGROUP2 ? "cgroup.threads" : "tasks", s);
		if (rc == -ESRCH)
			rc = 0;   /* the vCPU is gone already: nothing left to account */
		break;
	case CG_SET:
		return group_make(dir, j, true);
	case CG_RELEASE:
		/* An exited thread leaves its cgroup a moment after pthread_join returns. */
		for (int i = 0; i < 200 && rc == -EBUSY; i++) {
			if ((rc = rmdir(dir) < 0 ? -errno : 0) == -EBUSY)
				nanosleep(&(struct timespec){ 0, 1000000 }, NULL);
		}
		if (rc == -ENOENT)
			rc = 0;
		break;
	case CG_FINI:
		rmdir(cg.base);
		return 0;
	}
	if (rc)
		hvlog("(XEN) d%u: cgroup %s: cannot %s: %s", j->domid, dir,
		      j->op == CG_ENTER ? "add a vCPU thread" : "remove it", strerror(-rc));
	return rc;
}

static void *cg_worker(void *arg)
{
	(void)arg;
	/* Not the pinning of whichever thread started it: its removals must not wait on a busy CPU. */
	if (cg.unpinned_known)
		sched_setaffinity(0, sizeof(cg.unpinned), &cg.unpinned);
	prctl(PR_SET_NAME, "kxen-cgroup");
	for (;;) {
		pthread_mutex_lock(&cq.lock);
		while (cq.head == cq.tail)
			pthread_cond_wait(&cq.work, &cq.lock);
		struct cg_job j = cq.job[cq.head % CQ_SIZE];
		cq.head++;
		pthread_cond_signal(&cq.room);
		pthread_mutex_unlock(&cq.lock);
		int rc = cg_do(&j);
		pthread_mutex_lock(&cq.lock);
		if (j.wait)
			*j.rc = rc;
		cq.finished++;
		pthread_cond_broadcast(&cq.done);
		pthread_mutex_unlock(&cq.lock);
	}
	return NULL;
}

/* Starts the worker once (cq.lock held); 0 or -errno. */
static int cg_start_locked(void)
{
	pthread_attr_t attr;
	pthread_t t;
	int rc;

	if (cq.started)
		return 0;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 128 * 1024);
	rc = -pthread_create(&t, &attr, cg_worker, NULL);
	pthread_attr_destroy(&attr);
	cq.started = !rc;
	return rc;
}

static void cg_start(void)
{
	pthread_mutex_lock(&cq.lock);
	if (cg_start_locked())
		hvlog("(XEN) sched: no cgroup worker thread; it is retried at the first vCPU");
	pthread_mutex_unlock(&cq.lock);
}

/*
 * Queues a copy of j (callers hold d->lock, so a domain's jobs are queued
 * in the order its state changed). With j->wait, waits for it and returns
 * its rc; else 0 once queued. -errno if it cannot be queued.
 */
static int cg_queue(const struct cg_job *tmpl)
{
	int rc, result = 0;

	pthread_mutex_lock(&cq.lock);
	if ((rc = cg_start_locked())) {
		pthread_mutex_unlock(&cq.lock);
		return rc;
	}
	while (cq.tail - cq.head == CQ_SIZE)
		pthread_cond_wait(&cq.room, &cq.lock);
	uint64_t seq = cq.tail++;
	cq.job[seq % CQ_SIZE] = *tmpl;
	cq.job[seq % CQ_SIZE].rc = &result;   /* on this stack, read only while we wait */
	pthread_cond_signal(&cq.work);
	if (tmpl->wait) {
		while (cq.finished <= seq)
			pthread_cond_wait(&cq.done, &cq.lock);
		rc = result;
	}
	pthread_mutex_unlock(&cq.lock);
	return rc;
}

static int pin(struct vcpu *v, pid_t tid)
{
	cpu_set_t set;

	if (!v->pinned && cg.unpinned_known) {
		set = cg.unpinned;
	} else {
		CPU_ZERO(&set);
		for (unsigned c = 0; c < KXCTL_CPUMAP_BITS; c++)
			if (!v->pinned || (v->cpumap[c / 64] >> (c % 64) & 1))
				CPU_SET(c, &set);
	}
	return sched_setaffinity(tid, sizeof(set), &set) < 0 ? -errno : 0;
}

void cpupool_vcpu_thread_start(struct vcpu *v)
{
	struct domain *d = v->d;
	char name[16];
	int rc;

	/* Named so an admin (and the tests) can find a domain's vCPU threads in /proc/PID/task. */
	snprintf(name, sizeof(name), "kxd%uv%u", d->domid, v->id);
	prctl(PR_SET_NAME, name);
	pthread_mutex_lock(&d->lock);
	/* Always: a thread started by a pinned vCPU's thread (VCPUOP_up) inherited that pinning. */
	if ((rc = pin(v, v->tid)))
		hvlog("(XEN) d%u v%u: cannot pin: %s", d->domid, v->id, strerror(-rc));
	if (cg.kind) {
		/* The worker makes the group and moves the thread in, off this thread's start (see cg_queue). */
		struct cg_job j = { .op = CG_ENTER, .domid = d->domid, .vcpu = v->id, .tid = v->tid,
		                    .weight = d->sched_weight, .cap = d->sched_cap };
		if ((rc = cg_queue(&j)))
			hvlog("(XEN) d%u v%u: cannot join cgroup %s/dom-%u: %s", d->domid, v->id, cg.base,
			      d->domid, strerror(-rc));
		else
			d->sched_group = true;
	}
	pthread_mutex_unlock(&d->lock);
}

void cpupool_domain_release(struct domain *d)
{
	struct cg_job j = { .op = CG_RELEASE, .domid = d->domid };

	/* Not waited for: the removal waits for the threads to leave (and behind any migration). */
	if (d->sched_group && cg_queue(&j) == 0)
		d->sched_group = false;
}

void cpupool_fini(void)
{
	struct cg_job j = { .op = CG_FINI, .wait = true };

	/* After every queued change: the domains' groups go first. */
	if (cg.kind)
		cg_queue(&j);
}

/* ---- control-socket handlers (ctl.h) ---- */

int cpupool_ctl_vcpu_affinity(struct ctl_req *r)
{
	const struct kxctl_vcpu_affinity *a = r->p;
	struct domain *d = r->d;
	unsigned first = a->vcpu, last = a->vcpu;
	cpu_set_t online;
	bool any = false;
	int rc = 0;

	if (a->vcpu == KXCTL_VCPU_ALL) {
		first = 0;
		last = d->max_vcpus - 1;
	} else if (a->vcpu >= d->max_vcpus) {
		return -EINVAL;
	}
	/* A map naming no CPU this process may run on would leave the vCPU unrunnable. */
	if (sched_getaffinity(0, sizeof(online), &online) < 0)
		return -errno;
	for (unsigned c = 0; c < KXCTL_CPUMAP_BITS; c++)
		any |= (a->cpumap[c / 64] >> (c % 64) & 1) && CPU_ISSET(c, &online);
	if (!any)
		return -EINVAL;
	pthread_mutex_lock(&d->lock);
	for (unsigned i = first; i <= last; i++) {
		struct vcpu *v = d->vcpu[i];
		memcpy(v->cpumap, a->cpumap, sizeof(v->cpumap));
		v->pinned = true;
		pid_t tid = __atomic_load_n(&v->tid, __ATOMIC_ACQUIRE);
		if (tid > 0 && v->thread_started && !rc)
			rc = pin(v, tid);
	}
	pthread_mutex_unlock(&d->lock);
	return rc;
}

int cpupool_ctl_credit(struct ctl_req *r)
{
	const struct kxctl_sched_credit *s = r->p;
	struct kxctl_sched_credit_reply *out = r->rep;
	struct domain *d = r->d;
	int rc = 0;

	if ((s->flags & ~(KXCTL_SCHED_SET_WEIGHT | KXCTL_SCHED_SET_CAP)) ||
	    ((s->flags & KXCTL_SCHED_SET_WEIGHT) && (s->weight < 1 || s->weight > KXCTL_SCHED_WEIGHT_MAX)) ||
	    ((s->flags & KXCTL_SCHED_SET_CAP) && s->cap > 100 * d->max_vcpus))
		return -EINVAL;   /* Xen's credit scheduler: a cap above 100 per vCPU means nothing */
	if (s->flags && !cg.kind)
		return -EOPNOTSUPP;
	pthread_mutex_lock(&d->lock);
	if (s->flags) {
		unsigned ow = d->sched_weight, oc = d->sched_cap;
		if (s->flags & KXCTL_SCHED_SET_WEIGHT)
			d->sched_weight = s->weight;
		if (s->flags & KXCTL_SCHED_SET_CAP)
			d->sched_cap = s->cap;
		/* Waited for, behind the domain's earlier changes, so the reply says whether it took. */
		struct cg_job j = { .op = CG_SET, .domid = d->domid, .weight = d->sched_weight,
		                    .cap = d->sched_cap, .wait = true };
		if ((rc = cg_queue(&j))) {
			d->sched_weight = ow;
			d->sched_cap = oc;
		} else {
			d->sched_group = true;
		}
	}
	memset(out, 0, sizeof(*out));
	out->weight = d->sched_weight ? d->sched_weight : KXCTL_SCHED_WEIGHT_DEFAULT;
	out->cap = d->sched_cap;
	out->backend = cg.kind;
	if (cg.kind)
		say(out->group, sizeof(out->group), "%s/dom-%u", cg.base, d->domid);
	else
		say(out->why, sizeof(out->why), "%s", cg.why);
	pthread_mutex_unlock(&d->lock);
	r->rlen = sizeof(*out);
	return rc;
}
