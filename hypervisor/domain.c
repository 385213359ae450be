/* Domains: the table, creation, lifecycle (pause, shutdown, crash, destroy) and statistics. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/sysinfo.h>
#include <unistd.h>

#include "kxen-hv.h"
#include "kxen/domname.h"
#include "log.h"
#include "gmem.h"
#include "evtchn.h"
#include "hvtime.h"
#include "vcpu.h"
#include "pvl.h"
#include "domain.h"
#include "hostmem.h"
#include "kvm.h"
#include "doorbell.h"
#include "ctl.h"
#include "gnttab.h"
#include "cpupool.h"
#include "balloon.h"

/* Guest console lines the log accepts per domain (token bucket). */
#define CONSOLE_LINES_PER_SEC 200
#define CONSOLE_LINES_BURST 2000

static struct domain *table[DOMID_FIRST_RESERVED];
static pthread_rwlock_t table_lock = PTHREAD_RWLOCK_INITIALIZER;
static uint32_t next_domid = 1;
static unsigned nr_domains;
static int reap_fd = -1;
static struct domain dom0;

static void domain_free(struct domain *d);

int domain_table_init(void)
{
	reap_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (reap_fd < 0)
		return -errno;
	dom0.domid = 0;
	strcpy(dom0.name, "Domain-0");
	dom0.is_dom0 = true;
	dom0.mem.memfd = -1;
	dom0.vm_fd = -1;
	dom0.vcpu0_fd = -1;
	pthread_mutex_init(&dom0.lock, NULL);
	atomic_store(&dom0.refcnt, 1);
	evtchn_init(&dom0);
	table[0] = &dom0;
	return 0;
}

struct domain *domain_dom0(void)
{
	return &dom0;
}

int domain_reap_fd(void)
{
	return reap_fd;
}

/* table_lock held. */
static bool name_taken(const char *name, const struct domain *self)
{
	for (unsigned i = 1; i < DOMID_FIRST_RESERVED; i++)
		if (table[i] && table[i] != self && strcmp(table[i]->name, name) == 0)
			return true;
	return false;
}

int domain_create(const struct kxctl_domain_create *cfg, struct domain **out)
{
	struct domain *d;
	char why[160] = "";
	char name[KXCTL_NAME_MAX];
	int rc;

	memcpy(name, cfg->name, sizeof(name));
	name[sizeof(name) - 1] = '\0';
	if (strnlen(cfg->name, KXCTL_NAME_MAX) == KXCTL_NAME_MAX ||
	    kxen_domname_check(name, NULL) != KXEN_DOMNAME_OK)
		return -EINVAL;
	if (cfg->mem_bytes < KXEN_PV_MIN_MEM || cfg->mem_bytes > KXEN_PV_MAX_MEM ||
	    cfg->mem_bytes % KXEN_LARGE_PAGE_SIZE)
		return -EINVAL;
	if (cfg->max_vcpus == 0 || cfg->max_vcpus > KXEN_PV_MAX_VCPUS)
		return -EINVAL;
	if (cfg->on_poweroff > KXCTL_ACTION_PRESERVE || cfg->on_reboot > KXCTL_ACTION_PRESERVE ||
	    cfg->on_crash > KXCTL_ACTION_PRESERVE)
		return -EINVAL;
	/* As Xen's createdomain: a domain's grant table limit cannot exceed the hypervisor's. */
	if (cfg->max_grant_frames > gnttab_max_frames)
		return -E2BIG;

	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	memcpy(d->name, name, sizeof(d->name));
	memcpy(d->uuid, cfg->uuid, sizeof(d->uuid));
	d->mem.memfd = -1;
	d->vm_fd = -1;
	d->vcpu0_fd = -1;
	d->max_vcpus = cfg->max_vcpus;
	d->on_poweroff = cfg->on_poweroff;
	d->on_reboot = cfg->on_reboot;
	d->on_crash = cfg->on_crash;
	d->max_grant_frames = cfg->max_grant_frames ? cfg->max_grant_frames : gnttab_max_frames;
	d->wallclock_offset_s = cfg->wallclock_offset_s;
	atomic_store(&d->refcnt, 1);
	atomic_store(&d->paused, true);   /* built paused; the toolstack unpauses */
	pthread_mutex_init(&d->lock, NULL);
	evtchn_init(d);
	d->created_mono_ns = now_ns();
	d->created_real_ns = now_realtime_ns();
	d->console_tokens = CONSOLE_LINES_BURST;
	d->console_refill_ns = d->created_mono_ns;
	d->tsc_khz = kvm_tsc_khz();
	time_scale(d->tsc_khz, &d->tsc_mul, &d->tsc_shift);

	if ((rc = hostmem__admit(cfg->mem_bytes, why, sizeof(why))))
		goto out;
	rc = gmem_create(&d->mem, cfg->mem_bytes, name);
	if (rc)
		goto out;
	rc = kvm_vm_create(d);
	if (rc)
		goto out;
	for (unsigned i = 0; i < d->max_vcpus; i++) {
		struct vcpu *v = calloc(1, sizeof(*v));
		if (!v) {
			rc = -ENOMEM;
			goto out;
		}
		v->d = d;
		v->id = i;
		v->fd = -1;
		pthread_mutex_init(&v->rs_lock, NULL);
		v->runstate = RS_OFFLINE;
		v->rs_entry = now_ns();
		d->vcpu[i] = v;
		rc = i + 1 == d->max_vcpus && hostmem__fault("vcpu") ? -ENOMEM : kvm_vcpu_create(v);
		if (rc)
			goto out;
	}

	rc = domain_register(d);
	if (rc)
		goto out;
	hvlog("(XEN) domain %u (%s) created: %llu MiB, %u vCPUs", d->domid, d->name,
	      (unsigned long long)(cfg->mem_bytes >> 20), d->max_vcpus);
	*out = d;
	return 0;
out:
	/* Everything taken so far is given back: memfd, mapping, VM and vCPU fds. */
	hvlog("(XEN) create of %s failed: %s", name, *why ? why : strerror(-rc));
	domain_free(d);
	return rc;
}

int domain_register(struct domain *d)
{
	uint32_t id = 0;

	pthread_rwlock_wrlock(&table_lock);
	if (name_taken(d->name, NULL)) {
		pthread_rwlock_unlock(&table_lock);
		return -EEXIST;
	}
	/* Refuse to promise more RAM than the host has (hostmem.c): ballooned-out pages are not promised. */
	if (hostmem__commit(d->mem.size)) {
		pthread_rwlock_unlock(&table_lock);
		return -ENOMEM;
	}
	for (unsigned tries = 0; tries < MAX_DOMID; tries++) {
		uint32_t cand = next_domid;
		next_domid = next_domid >= MAX_DOMID ? 1 : next_domid + 1;
		if (!table[cand]) {
			id = cand;
			break;
		}
	}
	if (!id) {
		hostmem__uncommit(d->mem.size);
		pthread_rwlock_unlock(&table_lock);
		return -ENOSPC;
	}
	d->domid = id;
	table[id] = d;
	nr_domains++;
	pthread_rwlock_unlock(&table_lock);
	domevents_notify();
	return 0;
}

static void domain_free(struct domain *d)
{
	for (unsigned i = 0; i < KXEN_PV_MAX_VCPUS; i++) {
		if (!d->vcpu[i])
			continue;
		kvm_vcpu_destroy(d->vcpu[i]);
		pthread_mutex_destroy(&d->vcpu[i]->rs_lock);
		free(d->vcpu[i]);
	}
	doorbell_free(d);
	kvm_vm_destroy(d);
	pvl_domain_destroy(d);
	balloon_free(d);
	cpupool_domain_release(d);   /* after the VM: KVM's per-VM worker thread sits in the group too */
	gmem_destroy(&d->mem);
	for (unsigned i = 0; i < EVTCHN_NR_BUCKETS; i++)
		free(d->evtchn[i]);
	gnttab_free(d);
	pthread_mutex_destroy(&d->lock);
	free(d);
}

struct domain *domain_get(uint32_t domid)
{
	struct domain *d = NULL;

	if (domid >= DOMID_FIRST_RESERVED)
		return NULL;
	pthread_rwlock_rdlock(&table_lock);
	d = table[domid];
	if (d)
		atomic_fetch_add(&d->refcnt, 1);
	pthread_rwlock_unlock(&table_lock);
	return d;
}

void domain_put(struct domain *d)
{
	if (d && !d->is_dom0 && atomic_fetch_sub(&d->refcnt, 1) == 1)
		domain_free(d);
}

static void kick_all(struct domain *d)
{
	for (unsigned i = 0; i < d->max_vcpus; i++)
		if (d->vcpu[i])
			vcpu_kick(d->vcpu[i]);
}

int domain_destroy(uint32_t domid)
{
	struct domain *d;

	if (domid == 0 || domid >= DOMID_FIRST_RESERVED)
		return -EPERM;
	pthread_rwlock_wrlock(&table_lock);
	d = table[domid];
	if (!d || atomic_load(&d->dying)) {
		pthread_rwlock_unlock(&table_lock);
		return -ESRCH;
	}
	atomic_store(&d->dying, true);
	table[domid] = NULL;
	nr_domains--;
	pthread_rwlock_unlock(&table_lock);

	kick_all(d);
	for (unsigned i = 0; i < d->max_vcpus; i++) {
		struct vcpu *v = d->vcpu[i];
		if (v && v->thread_started) {
			pthread_join(v->thread, NULL);
			v->thread_started = false;
		}
	}
	/* After the joins: no balloon hypercall can move the count any more. */
	hostmem__uncommit(d->mem.size - balloon_released_pages(d) * KXEN_PAGE_SIZE);
	evtchn_fini(d);
	hvlog_limit_flush(&d->log_limit, d->domid);
	hvlog("(XEN) domain %u (%s) destroyed", d->domid, d->name);
	domevents_notify();
	domain_put(d);   /* the table's reference; others may still hold one */
	return 0;
}

int domain_pause(struct domain *d)
{
	atomic_store(&d->paused, true);
	kick_all(d);
	return 0;
}

int domain_unpause(struct domain *d)
{
	if (!atomic_load(&d->paused))
		return -EINVAL;
	atomic_store(&d->paused, false);
	kick_all(d);
	return 0;
}

static const char *reason_name(unsigned reason)
{
	switch (reason) {
	case SHUTDOWN_poweroff: return "poweroff";
	case SHUTDOWN_reboot: return "reboot";
	case SHUTDOWN_suspend: return "suspend";
	case SHUTDOWN_crash: return "crash";
	case SHUTDOWN_watchdog: return "watchdog";
	default: return "unknown";
	}
}

void domain_shutdown(struct domain *d, unsigned reason)
{
	unsigned action;
	bool expected = false;

	if (!atomic_compare_exchange_strong(&d->shutdown, &expected, true))
		return;   /* the first reason wins, as in Xen */
	d->shutdown_reason = reason;
	if (reason == SHUTDOWN_crash || reason == SHUTDOWN_watchdog)
		d->crashed = true;
	kick_all(d);
	switch (reason) {
	case SHUTDOWN_poweroff: action = d->on_poweroff; break;
	case SHUTDOWN_reboot: action = d->on_reboot; break;
	case SHUTDOWN_suspend: action = KXCTL_ACTION_PRESERVE; break;
	default: action = d->on_crash; break;
	}
	hvlog("(XEN) domain %u (%s) shut down: %s, %s", d->domid, d->name,
	      reason_name(reason), action == KXCTL_ACTION_DESTROY ? "destroying" : "preserved");
	domevents_notify();
	if (action == KXCTL_ACTION_DESTROY) {
		/* vCPU threads cannot join themselves: the control thread reaps. */
		atomic_store(&d->reap, true);
		uint64_t one = 1;
		ssize_t w = write(reap_fd, &one, sizeof(one));
		(void)w;
	}
}

void domain_crash(struct domain *d, const char *fmt, ...)
{
	char why[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	hvlog("(XEN) domain %u (%s) crashed: %s", d->domid, d->name, why);
	domain_shutdown(d, SHUTDOWN_crash);
}

void domain_reap(void)
{
	uint64_t n;
	uint32_t ids[256];
	unsigned count;

	if (read(reap_fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		return;
	do {
		count = 0;
		pthread_rwlock_rdlock(&table_lock);
		for (unsigned i = 1; i < DOMID_FIRST_RESERVED && count < 256; i++)
			if (table[i] && atomic_load(&table[i]->reap))
				ids[count++] = i;
		pthread_rwlock_unlock(&table_lock);
		for (unsigned i = 0; i < count; i++)
			domain_destroy(ids[i]);
	} while (count == 256);
}

int domain_set_boot(struct domain *d, const struct kxctl_set_boot *b)
{
	struct vcpu *v = d->vcpu[0];
	bool is_linux = b->cr3 != 0;

	if (d->shared)
		return -EBUSY;
	/* A Linux guest's entry and stack are virtual: pvl_domain_setup checks them through cr3. */
	if ((b->shared_info_gpa & (KXEN_PAGE_SIZE - 1)) ||
	    !gmem_ptr(&d->mem, b->shared_info_gpa, KXEN_PAGE_SIZE) ||
	    !gmem_ptr(&d->mem, b->start_info_gpa, sizeof(start_info_t)) ||
	    (!is_linux && (!gmem_ptr(&d->mem, b->entry, 1) || b->stack > d->mem.size ||
	                b->stack < KXEN_PV_RESERVED_END)))
		return -EINVAL;
	int rc = is_linux ? pvl_domain_setup(d, b) : 0;
	/* <currentMemory>: the frames between start_info's nr_pages and Linux's e820 end start given back. */
	if (!rc && is_linux)
		rc = balloon_boot_unpopulated(d, d->pvl->nr_pages, d->pvl->ram_pages - d->pvl->nr_pages);
	if (rc)
		return rc;
	/*
	 * The builder wrote start_info before this call and the guest has not
	 * run: the store and console pages it names become pages of their own,
	 * which the daemons serving them can map without the rest of the RAM.
	 */
	const start_info_t *si = gmem_ptr(&d->mem, b->start_info_gpa, sizeof(*si));
	uint64_t store = si->store_mfn, console = si->console.domU.mfn;
	rc = store && store == console ? -EINVAL : 0;
	if (!rc && store)
		rc = gmem_split_page(&d->mem, KXCTL_PAGE_STORE, store);
	if (!rc && console)
		rc = gmem_split_page(&d->mem, KXCTL_PAGE_CONSOLE, console);
	if (rc)
		return rc;
	d->shared = gmem_ptr(&d->mem, b->shared_info_gpa, KXEN_PAGE_SIZE);
	d->shared_gpa = b->shared_info_gpa;
	/* Every port starts masked until the guest unmasks it, as in Xen. */
	memset(d->shared->evtchn_mask, 0xff, sizeof(d->shared->evtchn_mask));
	for (unsigned i = 0; i < XEN_LEGACY_MAX_VCPUS; i++)
		d->shared->vcpu_info[i].evtchn_upcall_mask = 1;
	time_update_wallclock(d);
	if (is_linux)
		pvl_domain_enable(d);   /* from here on, guest pointers are Linux's virtual addresses */
	v->boot = (struct vcpu_boot){ .rip = b->entry, .rsp = b->stack, .rsi = b->rsi };
	v->initialised = true;
	v->boot_pending = true;
	atomic_store(&v->online, true);
	return vcpu_start(v);
}

int domain_rename(struct domain *d, const char *name)
{
	char n[KXCTL_NAME_MAX];

	memcpy(n, name, sizeof(n));
	n[sizeof(n) - 1] = '\0';
	if (strnlen(name, KXCTL_NAME_MAX) == KXCTL_NAME_MAX ||
	    kxen_domname_check(n, NULL) != KXEN_DOMNAME_OK)
		return -EINVAL;
	pthread_rwlock_wrlock(&table_lock);
	if (name_taken(n, d)) {
		pthread_rwlock_unlock(&table_lock);
		return -EEXIST;
	}
	memcpy(d->name, n, sizeof(d->name));
	pthread_rwlock_unlock(&table_lock);
	return 0;
}

void domain_info(struct domain *d, struct kxctl_dominfo *info)
{
	unsigned online = 0, blocked = 0, running = 0;

	memset(info, 0, sizeof(*info));
	info->domid = d->domid;
	memcpy(info->name, d->name, sizeof(info->name));
	memcpy(info->uuid, d->uuid, sizeof(info->uuid));
	info->nr_vcpus = d->max_vcpus;
	info->mem_bytes = d->mem.size - balloon_released_pages(d) * KXEN_PAGE_SIZE;
	info->max_mem_bytes = d->mem.size;
	info->created_ns = d->created_real_ns;
	info->events = atomic_load(&d->events);
	struct doorbell_stats st;
	doorbell_stats(d, &st);
	info->sends_exit = st.sends_hypercall;
	info->sends_doorbell_miss = st.doorbell_misses;
	info->sends_doorbell_guest = st.doorbell_guest;
	info->doorbells_dom0 = st.doorbells_dom0;
	info->doorbells_guest = st.doorbells_guest;
	for (unsigned i = 0; i < d->max_vcpus; i++) {
		struct vcpu *v = d->vcpu[i];
		if (!v)
			continue;
		info->cpu_ns += vcpu_cpu_ns(v);
		info->exits += atomic_load(&v->exits);
		info->kicks += atomic_load(&v->kicks);
		info->hypercalls += atomic_load(&v->hypercalls);
		if (!atomic_load(&v->online))
			continue;
		online++;
		if (atomic_load(&v->in_guest))
			running++;
		else if (v->runstate == RS_BLOCKED)
			blocked++;
	}
	info->nr_online_vcpus = online;
	if (running)
		info->flags |= KXCTL_DOMF_RUNNING;
	if (online && blocked == online)
		info->flags |= KXCTL_DOMF_BLOCKED;
	if (atomic_load(&d->paused))
		info->flags |= KXCTL_DOMF_PAUSED;
	if (atomic_load(&d->shutdown)) {
		info->flags |= d->crashed ? KXCTL_DOMF_CRASHED : KXCTL_DOMF_SHUTDOWN;
		info->shutdown_reason = d->shutdown_reason;
	}
	if (atomic_load(&d->dying))
		info->flags |= KXCTL_DOMF_DYING;
	if (__atomic_load_n(&d->pvl, __ATOMIC_ACQUIRE))
		info->flags |= KXCTL_DOMF_PVLINUX;
}

unsigned domain_list(uint32_t first, struct kxctl_dominfo *out, unsigned max, bool *more)
{
	unsigned n = 0;

	*more = false;
	pthread_rwlock_rdlock(&table_lock);
	for (uint32_t i = first ? first : 1; i < DOMID_FIRST_RESERVED; i++) {
		if (!table[i])
			continue;
		if (n == max) {
			*more = true;
			break;
		}
		domain_info(table[i], &out[n++]);
	}
	pthread_rwlock_unlock(&table_lock);
	return n;
}

unsigned domain_count(void)
{
	return nr_domains;
}

uint64_t domain_total_mem(void)
{
	return hostmem__committed();
}

/*
 * Token bucket per domain: a guest printing in a loop must not flood the
 * log file (or evict every other domain's lines from the ring). d->lock held.
 */

static bool console_line_allowed(struct domain *d)
{
	uint64_t now = now_ns();
	uint64_t refill = (now - d->console_refill_ns) * CONSOLE_LINES_PER_SEC / 1000000000ull;

	if (refill) {
		d->console_tokens += refill;
		if (d->console_tokens > CONSOLE_LINES_BURST)
			d->console_tokens = CONSOLE_LINES_BURST;
		d->console_refill_ns = now;
	}
	if (d->console_tokens == 0) {
		d->console_dropped++;
		return false;
	}
	d->console_tokens--;
	return true;
}

void domain_console_write(struct domain *d, const char *buf, size_t len)
{
	pthread_mutex_lock(&d->lock);
	for (size_t i = 0; i < len; i++) {
		char c = buf[i];
		if (c == '\r')
			continue;
		if (c != '\n') {
			/* Keep the log plain text whatever the guest writes. */
			d->console_line[d->console_len++] = (c == '\t' || (c >= ' ' && c <= '~')) ? c : '?';
			if (d->console_len < sizeof(d->console_line) - 1)
				continue;
		}
		d->console_line[d->console_len] = '\0';
		d->console_len = 0;
		if (!console_line_allowed(d))
			continue;
		if (d->console_dropped) {
			hvlog("(XEN) d%u: %llu console lines dropped (rate limit)", d->domid,
			      (unsigned long long)d->console_dropped);
			d->console_dropped = 0;
		}
		hvlog("(d%u) %s", d->domid, d->console_line);
	}
	pthread_mutex_unlock(&d->lock);
}

/* ---- control-socket handlers (ctl.h): sizes and the domain lookup are checked by ctl_dispatch ---- */

int domain_ctl_create(struct ctl_req *r)
{
	struct domain *d;
	int rc = domain_create(r->p, &d);

	if (rc)
		return rc;
	struct kxctl_domid out = { .domid = d->domid };
	memcpy(r->rep, &out, sizeof(out));
	r->rlen = sizeof(out);
	/* The builder's copy of the RAM; the table keeps the domain. */
	r->fds[r->nfds++] = d->mem.memfd;
	return 0;
}

int domain_ctl_destroy(struct ctl_req *r)
{
	return domain_destroy(((const struct kxctl_domid *)r->p)->domid);
}

int domain_ctl_pause(struct ctl_req *r)
{
	return domain_pause(r->d);
}

int domain_ctl_unpause(struct ctl_req *r)
{
	return domain_unpause(r->d);
}

int domain_ctl_shutdown(struct ctl_req *r)
{
	unsigned reason = ((const struct kxctl_domid *)r->p)->arg;

	if (reason > SHUTDOWN_watchdog)
		return -EINVAL;
	domain_shutdown(r->d, reason);
	return 0;
}

int domain_ctl_rename(struct ctl_req *r)
{
	return domain_rename(r->d, ((const struct kxctl_domain_rename *)r->p)->name);
}

int domain_ctl_info(struct ctl_req *r)
{
	domain_info(r->d, r->rep);
	r->rlen = sizeof(struct kxctl_dominfo);
	return 0;
}

int domain_ctl_list(struct ctl_req *r)
{
	const struct kxctl_domain_list *l = r->p;
	struct kxctl_domain_list_reply *out = r->rep;
	unsigned max = l->max && l->max < KXCTL_LIST_MAX ? l->max : KXCTL_LIST_MAX;
	bool more;

	out->count = domain_list(l->first_domid, out->dom, max, &more);
	out->more = more;
	r->rlen = sizeof(*out) + out->count * sizeof(out->dom[0]);
	return 0;
}

int domain_ctl_set_boot(struct ctl_req *r)
{
	return domain_set_boot(r->d, r->p);
}
