/* Inline wrappers that call the builder-filled hypercall page (Xen layout: stub N at N*32). */
#ifndef GUEST_HYPERCALL_H
#define GUEST_HYPERCALL_H

#include "kernel.h"

/*
 * Arguments go in rdi, rsi, rdx, r10, r8, the result comes back in rax.
 * Every argument register is declared in/out: the stub may only clobber
 * rax, but Xen's own contract lets the hypervisor scribble on argument
 * registers, so we never rely on them surviving. rcx and r11 are clobbered
 * because a real syscall-style transition would trash them.
 *
 * The `call` inside inline asm pushes a return address below %rsp, which is
 * why the whole guest is built with -mno-red-zone.
 */
#define HC_STR1(x) #x
#define HC_STR(x)  HC_STR1(x)
#define HC_CALL(nr) "call hypercall_page + (" HC_STR(nr) " * 32)"

#define _hypercall0(nr) ({                                              \
	long __res;                                                     \
	__asm__ __volatile__(HC_CALL(nr)                                \
		: "=a"(__res)                                           \
		:                                                       \
		: "rcx", "r11", "memory");                              \
	__res; })

#define _hypercall1(nr, a1) ({                                          \
	long __res;                                                     \
	register unsigned long __a1 __asm__("rdi") = (unsigned long)(a1); \
	__asm__ __volatile__(HC_CALL(nr)                                \
		: "=a"(__res), "+r"(__a1)                               \
		:                                                       \
		: "rcx", "r11", "memory");                              \
	__res; })

#define _hypercall2(nr, a1, a2) ({                                      \
	long __res;                                                     \
	register unsigned long __a1 __asm__("rdi") = (unsigned long)(a1); \
	register unsigned long __a2 __asm__("rsi") = (unsigned long)(a2); \
	__asm__ __volatile__(HC_CALL(nr)                                \
		: "=a"(__res), "+r"(__a1), "+r"(__a2)                   \
		:                                                       \
		: "rcx", "r11", "memory");                              \
	__res; })

#define _hypercall3(nr, a1, a2, a3) ({                                  \
	long __res;                                                     \
	register unsigned long __a1 __asm__("rdi") = (unsigned long)(a1); \
	register unsigned long __a2 __asm__("rsi") = (unsigned long)(a2); \
	register unsigned long __a3 __asm__("rdx") = (unsigned long)(a3); \
	__asm__ __volatile__(HC_CALL(nr)                                \
		: "=a"(__res), "+r"(__a1), "+r"(__a2), "+r"(__a3)       \
		:                                                       \
		: "rcx", "r11", "memory");                              \
	__res; })

static inline long HYPERVISOR_console_io(int cmd, int count, const char *buf)
{
	return _hypercall3(__HYPERVISOR_console_io, cmd, count, buf);
}

static inline long HYPERVISOR_xen_version(int cmd, void *arg)
{
	return _hypercall2(__HYPERVISOR_xen_version, cmd, arg);
}

static inline long HYPERVISOR_sched_op(int cmd, void *arg)
{
	return _hypercall2(__HYPERVISOR_sched_op, cmd, arg);
}

static inline long HYPERVISOR_event_channel_op(int cmd, void *arg)
{
	return _hypercall2(__HYPERVISOR_event_channel_op, cmd, arg);
}

static inline long HYPERVISOR_callback_op(int cmd, void *arg)
{
	return _hypercall2(__HYPERVISOR_callback_op, cmd, arg);
}

static inline long HYPERVISOR_vcpu_op(int cmd, unsigned vcpu, void *arg)
{
	return _hypercall3(__HYPERVISOR_vcpu_op, cmd, vcpu, arg);
}

static inline long HYPERVISOR_memory_op(unsigned cmd, void *arg)
{
	return _hypercall2(__HYPERVISOR_memory_op, cmd, arg);
}

/* x86_64 passes the 64-bit absolute system time in one register. */
static inline long HYPERVISOR_set_timer_op(uint64_t deadline_ns)
{
	return _hypercall1(__HYPERVISOR_set_timer_op, deadline_ns);
}

#endif
