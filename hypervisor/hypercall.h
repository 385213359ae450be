/* hypercall.c's and the hc_*.c decoders' interface: the {number, name, handler} table and its handlers. */
#ifndef KXEN_HV_HYPERCALL_H
#define KXEN_HV_HYPERCALL_H

#include <stdbool.h>
#include <stdint.h>

struct vcpu;

/* Logs every hypercall with its arguments and result, and every control request (kxen-hv -t). */
extern bool hypercall_trace;
/* Dispatches hypercall nr with its five register arguments; returns rax. */
long hypercall_dispatch(struct vcpu *v, uint64_t nr, const uint64_t args[5]);
/* Name of hypercall nr, for logs. */
const char *hypercall_name(uint64_t nr);

/*
 * The decoders hypercall_dispatch's table calls, one per hypercall (or
 * family): a[] holds the guest's rdi, rsi, rdx, r10, r8; arguments in guest
 * memory go through gmem_read/gmem_write; the return is the guest's rax
 * (0 or a Xen -errno). They run on v's own thread.
 */
long hc_xen_version(struct vcpu *v, const uint64_t a[5]);
long hc_console_io(struct vcpu *v, const uint64_t a[5]);
long hc_sched_op(struct vcpu *v, const uint64_t a[5]);
long hc_set_timer_op(struct vcpu *v, const uint64_t a[5]);
long hc_vcpu_op(struct vcpu *v, const uint64_t a[5]);
long hc_callback_op(struct vcpu *v, const uint64_t a[5]);
long hc_set_callbacks(struct vcpu *v, const uint64_t a[5]);
long hc_event_channel_op(struct vcpu *v, const uint64_t a[5]);
long hc_memory_op(struct vcpu *v, const uint64_t a[5]);
long hc_multicall(struct vcpu *v, const uint64_t a[5]);

#endif
