/* time.c's interface: host clocks, guest system time, pvclock and wallclock in shared_info. */
#ifndef KXEN_HV_TIME_H
#define KXEN_HV_TIME_H

#include <stdint.h>

struct domain;
struct vcpu;

/* Host CLOCK_MONOTONIC and CLOCK_REALTIME in ns. */
uint64_t now_ns(void);
uint64_t now_realtime_ns(void);
/* Guest system time (ns since the domain was created). */
uint64_t domain_system_time(const struct domain *d);
/* Computes Xen's tsc_to_system_mul/tsc_shift for a TSC of tsc_khz. */
void time_scale(uint64_t tsc_khz, uint32_t *mul, int8_t *shift);
/* Rewrites v's vcpu_time_info from the host clock (version odd while writing). */
void time_update_vcpu(struct vcpu *v);
/* Writes the wallclock of system time 0 into shared_info. */
void time_update_wallclock(struct domain *d);

#endif
