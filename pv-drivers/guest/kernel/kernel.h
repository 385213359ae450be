/* Common definitions for the kxen PV guest kernel: types, Xen headers, barriers, shared prototypes. */
#ifndef GUEST_KERNEL_H
#define GUEST_KERNEL_H

/* Freestanding: these three come from the compiler, not from a libc. */
#include <stdint.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdarg.h>

/*
 * Makefile.am defines __XEN_INTERFACE_VERSION__ and XEN_HAVE_PV_UPCALL_MASK
 * (x86 PV has vcpu_info.evtchn_upcall_mask; the Debian headers leave it to
 * the includer), so every file sees the same layout.
 */
#include <xen/xen.h>
#include <xen/event_channel.h>
#include <xen/sched.h>
#include <xen/vcpu.h>
#include <xen/callback.h>
#include <xen/version.h>
#include <xen/features.h>
#include <xen/memory.h>
#include <xen/errno.h>

#include "kxen/abi.h"

#define PAGE_SIZE      4096UL
#define PAGE_SHIFT     12
#define PAGE_ALIGN(x)  (((x) + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1))
#define ARRAY_SIZE(a)  (sizeof(a) / sizeof((a)[0]))
#define MIN(a, b)      ((a) < (b) ? (a) : (b))
#define MAX(a, b)      ((a) > (b) ? (a) : (b))

#define likely(x)      __builtin_expect(!!(x), 1)
#define unlikely(x)    __builtin_expect(!!(x), 0)
#define __noreturn     __attribute__((noreturn))
#define __printf(a, b) __attribute__((format(printf, a, b)))

/*
 * Compiler barrier only: x86 is TSO and the hypervisor writes shared_info
 * from another thread, so ordering our own stores against the compiler is
 * what matters for the mask/pending handshake.
 */
#define barrier()      __asm__ __volatile__("" ::: "memory")
/* Full barrier without SSE: a locked no-op on our own stack orders the unmask store before the pending load. */
#define mb()           __asm__ __volatile__("lock; orl $0, (%%rsp)" ::: "memory", "cc")
#define READ_ONCE(x)   (*(const volatile __typeof__(x) *)&(x))
#define WRITE_ONCE(x, v) (*(volatile __typeof__(x) *)&(x) = (v))

static inline void cpu_relax(void)
{
	__asm__ __volatile__("pause" ::: "memory");
}

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ __volatile__("rdtsc" : "=a"(lo), "=d"(hi) :: "memory");
	return ((uint64_t)hi << 32) | lo;
}

/* Boot information, set once by kmain before anything else runs. */
extern start_info_t *start_info;
extern shared_info_t *shared_info;

/* Shutdown (main.c). */
__noreturn void poweroff(void);
__noreturn void crash(void);
__noreturn __printf(1, 2) void panic(const char *fmt, ...);

#define BUG_ON(c) do { if (unlikely(c)) panic("BUG at %s:%d: %s", __FILE__, __LINE__, #c); } while (0)

/* Start.S symbols. */
extern char hypercall_page[PAGE_SIZE];
void hypervisor_callback(void);
void smp_secondary_entry(void);
void switch_stack(uint64_t *save_sp, uint64_t new_sp);
void thread_trampoline(void);
extern char _text[], _etext[], _end[], __bss_start[];

#endif
