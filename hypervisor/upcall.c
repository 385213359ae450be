/* Event upcall delivery: Xen's x86_64 PV bounce frame pushed on the guest's own stack. */
#include <errno.h>

#include "kxen-hv.h"
#include "gmem.h"
#include "evtchn.h"
#include "vcpu.h"
#include "domain.h"
#include "pvl.h"

int upcall_deliver(struct vcpu *v, uint64_t *rip, uint64_t *rsp, uint64_t rflags,
                   uint64_t rcx, uint64_t r11)
{
	struct domain *d = v->d;

	/* Linux PV guests: Xen's frame on the kernel stack, a process switched to kernel mode first. */
	if (d->pvl)
		return pvl_upcall_deliver(v, rip, rsp, rflags, rcx, r11);
	if (!d->shared || !v->event_callback || v->id >= XEN_LEGACY_MAX_VCPUS)
		return 0;
	/*
	 * An exit (a kick, a host signal) can land between a guest fault and the
	 * stub's report of it: the vCPU is then in kxen's ring-0 stub on its
	 * ring-0 stack, not in the guest. The upcall waits for the next entry
	 * from the guest's own context; bouncing it here crashed the domain with
	 * "event upcall to a bad stack" instead of reporting the fault.
	 */
	if (*rip >= KXEN_PV_FAULT_STUBS &&
	    *rip < KXEN_PV_FAULT_STUBS + 256 * KXEN_PV_FAULT_STUB_SIZE)
		return 0;
	struct vcpu_info *vi = vcpu_vinfo(v);
	if (!__atomic_load_n(&vi->evtchn_upcall_pending, __ATOMIC_SEQ_CST) ||
	    __atomic_load_n(&vi->evtchn_upcall_mask, __ATOMIC_SEQ_CST))
		return 0;

	/* Skip the red zone so leaf code interrupted mid-function keeps its locals. */
	uint64_t top = (*rsp - KXEN_REDZONE_BYTES) & ~15ull;
	uint64_t frame[7] = {
		rcx, r11, *rip, KXEN_SEL_USER_CS, rflags, *rsp, KXEN_SEL_USER_DS,
	};
	uint64_t base = top - sizeof(frame);

	if (*rsp < KXEN_REDZONE_BYTES + sizeof(frame) ||
	    gmem_write(&d->mem, base, frame, sizeof(frame)) < 0)
		return -EFAULT;
	__atomic_store_n(&vi->evtchn_upcall_mask, 1, __ATOMIC_SEQ_CST);
	*rsp = base;
	*rip = v->event_callback;
	return 1;
}
