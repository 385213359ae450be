/* runstate.c's interface: the guest's own copy of a vCPU's runstate (VCPUOP_register_runstate_memory_area). */
#ifndef KXEN_HV_RUNSTATE_H
#define KXEN_HV_RUNSTATE_H

#include <stdint.h>

struct vcpu;

/*
 * VCPUOP_register_runstate_memory_area for vCPU t, the struct
 * vcpu_register_runstate_memory_area at guest pointer arg (either guest
 * kind: gmem's checks, virtual for a Linux domain). The area must be
 * 8-byte aligned and lie in the domain's RAM, contiguous (-EINVAL,
 * -EFAULT); address 0 unregisters. It is written at once, then at every
 * runstate change (runstate_publish). 0 or -errno.
 */
long runstate_register(struct vcpu *t, uint64_t arg);
/*
 * Writes v's runstate into its registered area, if any, as Xen's
 * update_runstate_area does with VMASST_TYPE_runstate_update_flag:
 * XEN_RUNSTATE_UPDATE set in state_entry_time, the struct, the flag
 * cleared. The caller holds v->rs_lock (vcpu_set_runstate does).
 */
void runstate_publish(struct vcpu *v);

#endif
