/* Time: pvclock system time, wallclock, one-shot VIRQ_TIMER per vCPU. */
#ifndef GUEST_CLOCK_H
#define GUEST_CLOCK_H

#include "kernel.h"

#define NSEC_PER_USEC 1000UL
#define NSEC_PER_MSEC 1000000UL
#define NSEC_PER_SEC  1000000000UL

/* Binds this vCPU's VIRQ_TIMER; call on every vCPU after events_init*. */
void clock_init_cpu(void);

/* Nanoseconds since the domain's system time 0, from this vCPU's vcpu_time_info. */
uint64_t clock_now_ns(void);
/* Wall time in ns since the Unix epoch (shared_info wallclock + system time). */
uint64_t wallclock_ns(void);

/*
 * Arms this vCPU's one-shot timer for absolute system time deadline (0
 * cancels). Cheap to call repeatedly: it only traps when the deadline changes.
 */
void timer_arm(uint64_t deadline);
/* False when VIRQ_TIMER could not be bound: the scheduler then polls the clock. */
bool timer_available(void);

#endif
