/* __HYPERVISOR_vcpu_op: secondary vCPU bring-up, up/down, runstate, single-shot and periodic timers. */
#include <errno.h>

#include "kxen-hv.h"
#include "gmem.h"
#include "hvtime.h"
#include "vcpu.h"
#include "domain.h"
#include "hypercall.h"
#include "pvl.h"
#include "runstate.h"

long hc_vcpu_op(struct vcpu *v, const uint64_t a[5])
{
	struct domain *d = v->d;
	uint64_t cmd = a[0], id = a[1], arg = a[2];

	if (id >= d->max_vcpus || !d->vcpu[id])
		return -ENOENT;
	struct vcpu *t = d->vcpu[id];

	switch (cmd) {
	case VCPUOP_initialise: {
		/* Only the fields a deprivileged guest controls: page tables and GDT are the builder's. */
		static __thread struct vcpu_guest_context ctx;
		if (t->initialised)
			return -EEXIST;
		if (gmem_read(&d->mem, &ctx, arg, sizeof(ctx)) < 0)
			return -EFAULT;
		if (d->pvl) {
			/* A Linux vCPU: Xen's full context (its L4s, GDT, trap table, GS bases). */
			long rc = pvl_vcpu_initialise(t, &ctx);
			if (rc < 0)
				return rc;
			t->initialised = true;
			t->boot_pending = true;
			return 0;
		}
		t->boot = (struct vcpu_boot){ .rip = ctx.user_regs.rip, .rsp = ctx.user_regs.rsp,
		                              .rdi = ctx.user_regs.rdi, .rsi = ctx.user_regs.rsi };
		t->event_callback = ctx.event_callback_eip;
		t->failsafe_callback = ctx.failsafe_callback_eip;
		t->syscall_callback = ctx.syscall_callback_eip;
		t->initialised = true;
		t->boot_pending = true;
		return 0;
	}
	case VCPUOP_register_runstate_memory_area:
		return runstate_register(t, arg);
	case VCPUOP_register_vcpu_info:
		return pvl_register_vcpu_info(t, arg);
	case VCPUOP_up:
		if (!t->initialised)
			return -EINVAL;
		/*
		 * The toolstack's cpu/N/availability says offline. Xen does not
		 * enforce it and Linux BUG()s on a failed VCPUOP_up: it brings up
		 * every vCPU it has and its xenbus watch then offlines those.
		 */
		if (!d->pvl && atomic_load(&d->vcpu_unavail) >> id & 1)
			return -EPERM;
		atomic_store(&t->online, true);
		return vcpu_start(t);
	case VCPUOP_down:
		atomic_store(&t->online, false);
		vcpu_kick(t);
		return 0;
	case VCPUOP_is_up:
		return atomic_load(&t->online) ? 1 : 0;
	case VCPUOP_get_runstate_info: {
		struct vcpu_runstate_info info;
		vcpu_get_runstate(t, &info);
		return gmem_write(&d->mem, arg, &info, sizeof(info));
	}
	case VCPUOP_set_singleshot_timer: {
		struct vcpu_set_singleshot_timer st;
		if (t != v)
			return -EINVAL;   /* Xen: only the calling vCPU's own timer */
		if (gmem_read(&d->mem, &st, arg, sizeof(st)) < 0)
			return -EFAULT;
		if ((st.flags & VCPU_SSHOTTMR_future) && st.timeout_abs_ns < domain_system_time(d))
			return -ETIME;
		return vcpu_set_timer(v, st.timeout_abs_ns ? st.timeout_abs_ns : 1);
	}
	case VCPUOP_stop_singleshot_timer:
		if (t != v)
			return -EINVAL;
		return vcpu_set_timer(v, 0);
	case VCPUOP_set_periodic_timer: {
		struct vcpu_set_periodic_timer pt;
		if (gmem_read(&d->mem, &pt, arg, sizeof(pt)) < 0)
			return -EFAULT;
		/* Xen's bounds: at least 1 ms, and a period system time cannot overflow on. */
		if (pt.period_ns < 1000000ull || pt.period_ns > (1ull << 62))
			return -EINVAL;
		return vcpu_set_periodic(t, pt.period_ns);
	}
	case VCPUOP_stop_periodic_timer:
		return vcpu_set_periodic(t, 0);
	default:
		return -ENOSYS;
	}
}
