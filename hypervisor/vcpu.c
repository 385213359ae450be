/* vCPU threads: the run policy, start, kick, wait, one-shot timers and runstate accounting. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "kxen-hv.h"
#include "log.h"
#include "evtchn.h"
#include "hvtime.h"
#include "vcpu.h"
#include "gmem_window.h"
#include "domain.h"
#include "hypercall.h"
#include "fault.h"
#include "kvm.h"
#include "ctl.h"
#include "cpupool.h"
#include "runstate.h"
#include "pvl.h"

#define VCPU_STACK_SIZE (256 * 1024)

/* glibc before 2.38 does not name the SIGEV_THREAD_ID target field. */
#ifndef sigev_notify_thread_id
#define sigev_notify_thread_id _sigev_un._tid
#endif

void (*vcpu_thread_hook)(void);

static void *vcpu_thread(void *arg)
{
	struct vcpu *v = arg;
	struct sigevent sev;

	__atomic_store_n(&v->tid, (pid_t)syscall(SYS_gettid), __ATOMIC_RELEASE);
	cpupool_vcpu_thread_start(v);
	if (pthread_getcpuclockid(pthread_self(), &v->cpu_clock) == 0)
		v->cpu_clock_valid = true;
	/* The timer signals this thread directly, so a KVM_RUN in progress returns. */
	memset(&sev, 0, sizeof(sev));
	sev.sigev_notify = SIGEV_THREAD_ID;
	sev.sigev_signo = SIG_KICK;
	sev.sigev_notify_thread_id = v->tid;
	if (timer_create(CLOCK_MONOTONIC, &sev, &v->timer) == 0)
		v->timer_created = true;
	else
		hvlog("(XEN) d%u v%u: timer_create failed: %s", v->d->domid, v->id, strerror(errno));
	if (timer_create(CLOCK_MONOTONIC, &sev, &v->kick_timer) == 0)
		v->kick_timer_created = true;
	if (vcpu_thread_hook)
		vcpu_thread_hook();

	vcpu_run_loop(v, &kvm_vcpu_run_ops);

	v->cpu_ns_final = vcpu_cpu_ns(v);
	v->cpu_clock_valid = false;
	if (v->timer_created)
		timer_delete(v->timer);
	v->timer_created = false;
	if (v->kick_timer_created)
		timer_delete(v->kick_timer);
	v->kick_timer_created = false;
	vcpu_set_runstate(v, RS_OFFLINE);
	return NULL;
}

/* What an exit asks of the policy. */
static void handle_exit(struct vcpu *v, const struct vcpu_run_ops *ops, const struct vcpu_exit *e)
{
	switch (e->kind) {
	case VCPU_EXIT_NONE:
		break;
	case VCPU_EXIT_HYPERCALL:
		atomic_fetch_add(&v->hypercalls, 1);
		ops->set_result(v, (uint64_t)hypercall_dispatch(v, e->nr, e->args));
		break;
	case VCPU_EXIT_FAULT:
		fault_report(v, e->vector, &e->regs);
		break;
	case VCPU_EXIT_FATAL:
		domain_crash(v->d, "vcpu %u: %s", v->id, e->why);
		break;
	}
}

/* Everything due before an entry; false when the domain was crashed instead. */
static bool prepare_entry(struct vcpu *v, const struct vcpu_run_ops *ops)
{
	struct domain *d = v->d;
	struct vcpu_frame f;

	if (v->boot_pending) {
		int rc = ops->load_boot(v);
		if (rc < 0) {
			domain_crash(d, "vcpu %u: cannot load the boot state: %s", v->id, strerror(-rc));
			return false;
		}
		v->boot_pending = false;
		time_update_vcpu(v);
	}
	vcpu_timer_check(v);
	ops->get_frame(v, &f);
	int up = upcall_deliver(v, &f.rip, &f.rsp, f.rflags, f.rcx, f.r11);
	uint64_t rip = f.rip;
	if (d->pvl && up >= 0)
		pvl_flush_arrange(v, &f.rip);   /* a TLB flush another vCPU asked for, first thing */
	if (up > 0 || f.rip != rip) {
		ops->set_frame(v, &f);
	} else if (up < 0) {
		domain_crash(d, "vcpu %u: event upcall to a bad stack (rsp %#llx)", v->id,
		             (unsigned long long)f.rsp);
		return false;
	}
	return true;
}

void vcpu_run_loop(struct vcpu *v, const struct vcpu_run_ops *ops)
{
	struct domain *d = v->d;
	char why[128];

	if (ops->setup(v, why, sizeof(why)) < 0) {
		domain_crash(d, "vcpu %u: %s", v->id, why);
		return;
	}
	for (;;) {
		struct vcpu_exit e;
		if (atomic_load(&d->dying))
			return;
		gmem_park(v);   /* a grant-window move waits for this point (gmem_window.h) */
		if (vcpu_should_stop(v)) {
			vcpu_set_runstate(v, atomic_load(&v->online) ? RS_RUNNABLE : RS_OFFLINE);
			vcpu_wait(v, 0);
			continue;
		}
		if (!prepare_entry(v, ops))
			continue;
		vcpu_set_runstate(v, RS_RUNNING);
		atomic_store(&v->in_guest, 1);
		if (d->pvl && pvl_flush_wanted(v)) {
			/* Asked while it looked outside the guest: the asker does not wait, so arrange it first. */
			atomic_store(&v->in_guest, 0);
			continue;
		}
		int rc = ops->run(v, &e);
		atomic_store(&v->in_guest, 0);
		if (rc == -EINTR || rc == -EAGAIN) {
			atomic_fetch_add(&v->kicks, 1);
			continue;
		}
		if (rc < 0) {
			domain_crash(d, "vcpu %u: KVM_RUN failed: %s", v->id, strerror(-rc));
			continue;
		}
		atomic_fetch_add(&v->exits, 1);
		handle_exit(v, ops, &e);
	}
}

int vcpu_start(struct vcpu *v)
{
	pthread_attr_t attr;
	int rc;

	if (v->thread_started) {
		vcpu_kick(v);
		return 0;
	}
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, VCPU_STACK_SIZE);
	rc = pthread_create(&v->thread, &attr, vcpu_thread, v);
	pthread_attr_destroy(&attr);
	if (rc)
		return -rc;
	v->thread_started = true;
	return 0;
}

void vcpu_kick(struct vcpu *v)
{
	pid_t tid = v ? __atomic_load_n(&v->tid, __ATOMIC_ACQUIRE) : 0;

	/* tgkill, not pthread_kill: a stale tid only earns some thread a harmless no-op signal. */
	if (tid > 0)
		syscall(SYS_tgkill, getpid(), tid, SIG_KICK);
}

void vcpu_wait(struct vcpu *v, uint64_t deadline_ns)
{
	sigset_t set;
	struct timespec ts;

	if (gmem_park(v))
		return;   /* a spurious wakeup: an event's kick may have been eaten while parked */
	sigemptyset(&set);
	sigaddset(&set, SIG_KICK);
	if (deadline_ns) {
		uint64_t now = now_ns();
		if (deadline_ns <= now)
			return;
		uint64_t delta = deadline_ns - now;
		ts.tv_sec = (time_t)(delta / 1000000000ull);
		ts.tv_nsec = (long)(delta % 1000000000ull);
		sigtimedwait(&set, NULL, &ts);
	} else {
		sigwaitinfo(&set, NULL);
	}
}

bool vcpu_should_stop(struct vcpu *v)
{
	struct domain *d = v->d;

	return atomic_load(&d->dying) || atomic_load(&d->shutdown) ||
	       atomic_load(&d->paused) || !atomic_load(&v->online);
}

void vcpu_set_runstate(struct vcpu *v, int state)
{
	uint64_t now = now_ns();

	pthread_mutex_lock(&v->rs_lock);
	if (v->runstate != state) {
		v->rs_time[v->runstate] += now - v->rs_entry;
		v->rs_entry = now;
		v->runstate = state;
		runstate_publish(v);
	}
	pthread_mutex_unlock(&v->rs_lock);
}

void vcpu_get_runstate(struct vcpu *v, struct vcpu_runstate_info *info)
{
	uint64_t now = now_ns();

	pthread_mutex_lock(&v->rs_lock);
	info->state = v->runstate;
	info->state_entry_time = v->rs_entry - v->d->created_mono_ns;
	for (int i = 0; i < 4; i++)
		info->time[i] = v->rs_time[i];
	info->time[v->runstate] += now - v->rs_entry;
	pthread_mutex_unlock(&v->rs_lock);
}

uint64_t vcpu_cpu_ns(struct vcpu *v)
{
	struct timespec ts;

	if (!v->cpu_clock_valid || clock_gettime(v->cpu_clock, &ts) < 0)
		return v->cpu_ns_final;
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* The earlier of v's two deadlines (guest system time), 0 if neither is armed. */
static uint64_t timer_next(struct vcpu *v)
{
	uint64_t dl = atomic_load(&v->timer_deadline);
	uint64_t pn = atomic_load(&v->periodic_ns) ? atomic_load(&v->periodic_next) : 0;

	if (!dl || (pn && pn < dl))
		return pn;
	return dl;
}

/* Points v's host timer at its earlier deadline (or disarms it). */
static int timer_arm(struct vcpu *v)
{
	uint64_t deadline = timer_next(v);
	struct itimerspec its;

	if (!v->timer_created)
		return 0;   /* the run loop still checks the deadlines on every pass */
	memset(&its, 0, sizeof(its));
	if (deadline) {
		uint64_t abs = v->d->created_mono_ns + deadline;
		if (abs < v->d->created_mono_ns)
			abs = UINT64_MAX / 2;
		its.it_value.tv_sec = (time_t)(abs / 1000000000ull);
		its.it_value.tv_nsec = (long)(abs % 1000000000ull);
		if (its.it_value.tv_sec == 0 && its.it_value.tv_nsec == 0)
			its.it_value.tv_nsec = 1;
	}
	if (timer_settime(v->timer, TIMER_ABSTIME, &its, NULL) < 0)
		return -errno;
	return 0;
}

int vcpu_set_timer(struct vcpu *v, uint64_t deadline)
{
	atomic_store(&v->timer_deadline, deadline);
	return timer_arm(v);
}

int vcpu_set_periodic(struct vcpu *v, uint64_t period_ns)
{
	atomic_store(&v->periodic_ns, 0);
	if (period_ns) {
		atomic_store(&v->periodic_next, domain_system_time(v->d) + period_ns);
		atomic_store(&v->periodic_ns, period_ns);
	}
	return timer_arm(v);
}

void vcpu_kick_after(struct vcpu *v, uint64_t ns)
{
	struct itimerspec its = { .it_value = { .tv_sec = (time_t)(ns / 1000000000ull),
	                                        .tv_nsec = (long)(ns % 1000000000ull) } };

	if (v->kick_timer_created)
		timer_settime(v->kick_timer, 0, &its, NULL);
}

void vcpu_timer_check(struct vcpu *v)
{
	uint64_t now = domain_system_time(v->d);
	uint64_t dl = atomic_load(&v->timer_deadline);
	uint64_t p = atomic_load(&v->periodic_ns), next = atomic_load(&v->periodic_next);
	bool fire = false;

	if (dl && now >= dl && atomic_compare_exchange_strong(&v->timer_deadline, &dl, 0))
		fire = true;
	/* Ticks missed while the vCPU was not running are one event, as Xen's periodic_timer_work. */
	if (p && now >= next &&
	    atomic_compare_exchange_strong(&v->periodic_next, &next, next + ((now - next) / p + 1) * p))
		fire = true;
	if (!fire)
		return;
	time_update_vcpu(v);
	evtchn_raise_virq(v, VIRQ_TIMER);
	timer_arm(v);
}

uint64_t vcpu_timer_mono(struct vcpu *v)
{
	uint64_t dl = timer_next(v);
	uint64_t mono = v->d->created_mono_ns + dl;

	if (!dl)
		return 0;
	return mono < dl ? UINT64_MAX : mono;   /* a far-future deadline must not wrap to "now" */
}

/* ---- control-socket handlers (ctl.h) ---- */

int vcpu_ctl_info(struct ctl_req *r)
{
	struct domain *d = r->d;
	struct kxctl_vcpu_info_reply *out = r->rep;

	memset(out, 0, sizeof(*out));
	for (unsigned i = 0; i < d->max_vcpus; i++) {
		struct vcpu *v = d->vcpu[i];
		out->vcpu[i].vcpu = i;
		out->vcpu[i].online = atomic_load(&v->online);
		out->vcpu[i].running = atomic_load(&v->in_guest);
		out->vcpu[i].blocked = v->runstate == RS_BLOCKED;
		out->vcpu[i].cpu_ns = vcpu_cpu_ns(v);
		pthread_mutex_lock(&d->lock);
		if (v->pinned)
			memcpy(out->vcpu[i].cpumap, v->cpumap, sizeof(v->cpumap));
		else
			memset(out->vcpu[i].cpumap, 0xff, sizeof(v->cpumap));
		pthread_mutex_unlock(&d->lock);
	}
	out->count = d->max_vcpus;
	r->rlen = sizeof(*out);
	return 0;
}

int vcpu_ctl_context(struct ctl_req *r)
{
	const struct kxctl_vcpu_context *vc = r->p;
	struct domain *d = r->d;
	int rc;

	/* A running vCPU would hold KVM's vCPU mutex: the control thread must never wait on a guest. */
	if (vc->vcpu >= d->max_vcpus)
		return -EINVAL;
	if (!atomic_load(&d->paused) && !atomic_load(&d->shutdown))
		return -EBUSY;
	if (atomic_load(&d->vcpu[vc->vcpu]->in_guest))
		return -EBUSY;
	if ((rc = kvm_vcpu_get_context(d->vcpu[vc->vcpu], r->rep)) == 0)
		r->rlen = sizeof(vcpu_guest_context_t);
	return rc;
}

int vcpu_ctl_avail(struct ctl_req *r)
{
	const struct kxctl_vcpu_avail *a = r->p;

	/* vCPU 0 runs the guest kernel's boot: it cannot be taken away. */
	atomic_store(&r->d->vcpu_unavail, ~(a->mask | 1));
	return 0;
}
