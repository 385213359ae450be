/* Host memory admission for domain creates and balloon growth, the domains' committed total, and the fault points tests use to fail a create half-way. */
#ifndef KXEN_HOSTMEM_H
#define KXEN_HOSTMEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HOSTMEM_DEFAULT_RESERVE (256ull << 20)
/* Test-only: names the step of a create that fails as if the host refused it ("mmap", "vcpu"). */
#define HOSTMEM_FAULT_ENV "KXEN_HV_FAULT"

/* Bytes of host RAM a create leaves untouched (--mem-reserve). */
extern uint64_t hostmem_reserve;

/* MemAvailable of /proc/meminfo in bytes: 0, or -errno when it cannot be read. */
int hostmem__available(uint64_t *bytes);
/*
 * Whether a domain of bytes of RAM may be created now: it must fit in
 * MemAvailable with hostmem_reserve left over. 0, or -ENOMEM with why
 * (len bytes) giving the figures. Unknown MemAvailable admits.
 */
int hostmem__admit(uint64_t bytes, char *why, size_t len);
/*
 * The guest RAM domains hold now (each domain's size less what its balloon
 * gave back): commit adds bytes unless the total would exceed the host's
 * RAM (sysinfo totalram, read at the first commit: make it from the control
 * thread), returning 0 or -ENOMEM; uncommit takes them off. Any thread.
 */
int hostmem__commit(uint64_t bytes);
void hostmem__uncommit(uint64_t bytes);
uint64_t hostmem__committed(void);
/* True when $KXEN_HV_FAULT names point: the caller fails that step with -ENOMEM. */
bool hostmem__fault(const char *point);

#endif
