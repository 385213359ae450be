/* The Linux PV flavour's TLB flushes across vCPUs: the layer forwards the remote part, kxen-hv makes each target flush in guest context. */
#include <errno.h>
#include <linux/kvm.h>
#include <sched.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>

#include "kxen-hv.h"
#include "gmem.h"
#include "vcpu.h"
#include "domain.h"
#include "kvm.h"
#include "pvl.h"
#include "pvl_layout.h"

#include <xen/xen.h>

extern const uint8_t pvl_blob[], pvl_flush_tramp[];

/* How soon an arrangement put off past an int3 is tried again (the int3's trip through ring 0 is ~50 us). */
#define PVL_FLUSH_RETRY_NS 200000

bool pvl_flush_wanted(struct vcpu *v)
{
	return atomic_load(&v->flush_req) != v->flush_seen;
}

void pvl_flush_arrange(struct vcpu *v, uint64_t *rip)
{
	struct pvl *p = v->d->pvl;
	uint64_t want = atomic_load(&v->flush_req), tramp;
	uint64_t *info = pvl_info(p, v->id);
	struct kvm_vcpu_events ev;
	struct kvm_sregs s;

	v->flush_seen = want;
	if (want == v->flush_armed)
		return;
	tramp = pvl_vcpu_base(v->id) + (uint64_t)(pvl_flush_tramp - pvl_blob);
	if (*rip == tramp) {
		/* Armed and not yet run (an entry a signal cut short): it answers the newer request too. */
		__atomic_store_n(&info[I_FLGEN / 8], want, __ATOMIC_RELEASE);
		v->flush_armed = want;
		return;
	}
	/*
	 * The trampoline's int3 must be the next thing the vCPU does: not from
	 * ring 0 (a stub mid-way), and not with an exception or interrupt KVM
	 * has yet to inject, which would then be taken at the trampoline.
	 */
	if (ioctl(v->fd, KVM_GET_SREGS, &s) < 0)
		return;   /* not now: the asker waits while v is in the guest, so v comes back here */
	if (ioctl(v->fd, KVM_GET_VCPU_EVENTS, &ev) < 0 || ev.exception.injected || ev.exception.pending ||
	    ev.interrupt.injected || ev.nmi.injected || (s.cs.selector & 3) != 3) {
		/*
		 * Rare (a kick that landed in a ring-0 stub or mid-injection), and
		 * the asker may not be waiting: KVM's own way, a CR3 changed and
		 * restored with KVM_SET_SREGS, makes KVM drop and rebuild this
		 * vCPU's shadow roots, synced from the guest's tables, before it
		 * next enters.
		 */
		uint64_t cr3 = s.cr3;
		s.tr.type = kvm_tr_type();   /* KVM reports SVM's TR as busy: the rig's TCG wants it back */
		s.cr3 = cr3 ^ KXEN_PAGE_SIZE;
		if (ioctl(v->fd, KVM_SET_SREGS, &s) < 0)
			return;
		s.cr3 = cr3;
		if (ioctl(v->fd, KVM_SET_SREGS, &s) < 0)
			return;
		__atomic_store_n(&info[I_FLDONE / 8], want, __ATOMIC_RELEASE);
		__atomic_fetch_add(&p->flushes_by_sregs, 1, __ATOMIC_RELAXED);
		v->flush_armed = want;
		return;
	}
	if (pvl_stopped_past_int3(v, s.cr3, *rip)) {
		/*
		 * Perhaps mid-way into one of the layer's int3 requests (a process's
		 * system call entry, a return to a process): a trampoline now would
		 * drop that #BP and run on past the int3 (pvl.h). The next exit tries
		 * again; the asker keeps waiting while v is in the guest.
		 */
		vcpu_kick_after(v, PVL_FLUSH_RETRY_NS);
		__atomic_fetch_add(&p->flushes_deferred, 1, __ATOMIC_RELAXED);
		return;
	}
	info[I_FLRIP / 8] = *rip;
	__atomic_store_n(&info[I_FLGEN / 8], want, __ATOMIC_RELEASE);
	*rip = tramp;
	v->flush_armed = want;
}

/* Sleeps a little, first by yielding (the target is usually one exit and one trap away). */
static void flush_wait_step(unsigned n)
{
	static const struct timespec pause = { 0, 20000 };

	if (n < 64)
		sched_yield();
	else
		nanosleep(&pause, NULL);
}

/*
 * Each vCPU in mask but v flushes before this returns, or before it next
 * enters the guest: a request, a kick, and a wait while the target stays
 * in the guest without having answered it. A target out of KVM_RUN at any
 * moment after the request sees it before its next entry (vcpu.c checks it
 * again once in_guest is set), so two vCPUs flushing each other never wait
 * on each other: both are outside the guest.
 */
static void flush_others(struct vcpu *v, uint64_t mask)
{
	struct domain *d = v->d;
	uint64_t gen[PVL_MAX_VCPUS] = { 0 };

	for (unsigned i = 0; i < d->max_vcpus && i < 64; i++) {
		struct vcpu *t = d->vcpu[i];
		if (t == v || !(mask >> i & 1) || !t->thread_started)
			continue;
		gen[i] = atomic_fetch_add(&t->flush_req, 1) + 1;
		if (atomic_load(&t->in_guest))
			vcpu_kick(t);
	}
	for (unsigned i = 0; i < d->max_vcpus && i < 64; i++) {
		struct vcpu *t = d->vcpu[i];
		const uint64_t *done = pvl_info(d->pvl, i) + I_FLDONE / 8;
		if (!gen[i])
			continue;
		for (unsigned n = 0; atomic_load(&t->in_guest) && __atomic_load_n(done, __ATOMIC_ACQUIRE) < gen[i] &&
		     !atomic_load(&d->dying); n++) {
			flush_wait_step(n);
			if (n % 256 == 255)
				vcpu_kick(t);   /* a kick that found it between entries */
		}
	}
}

long hc_pvl_mmuext_op(struct vcpu *v, const uint64_t a[5])
{
	struct domain *d = v->d;
	struct mmuext_op op;
	uint64_t mask = ~0ull;

	if (!d->pvl || a[1] != 1)
		return -ENOSYS;
	if (gmem_read(&d->mem, &op, a[0], sizeof(op)) < 0)
		return -EFAULT;
	switch (op.cmd) {
	case MMUEXT_TLB_FLUSH_MULTI:
	case MMUEXT_INVLPG_MULTI:
		/* Xen reads one word of the vcpumask: vCPUs 0-63, more than kxen gives a domain. */
		if (gmem_read(&d->mem, &mask, (uint64_t)(uintptr_t)op.arg2.vcpumask.p, sizeof(mask)) < 0)
			return -EFAULT;
		break;
	case MMUEXT_TLB_FLUSH_ALL:
	case MMUEXT_INVLPG_ALL:
		break;
	default:
		return -ENOSYS;
	}
	/* Every target flushes its whole TLB (a superset of one invlpg; no global pages: CR4.PGE is off). */
	flush_others(v, mask);
	return 0;
}
