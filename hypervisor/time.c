/* Guest time: pvclock (vcpu_time_info) and wallclock in shared_info, scaled to the guest's TSC. */
#include <time.h>

#include "kxen-hv.h"
#include "hvtime.h"
#include "vcpu.h"
#include "domain.h"

uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t now_realtime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t domain_system_time(const struct domain *d)
{
	return now_ns() - d->created_mono_ns;
}

void time_scale(uint64_t tsc_khz, uint32_t *mul, int8_t *shift)
{
	/* ns = ((tsc << shift) * mul) >> 32 with mul in [2^31, 2^32): keep precision. */
	uint64_t hz = tsc_khz * 1000;
	int s = 0;

	if (hz == 0)
		hz = 1000000000ull;
	while (hz > 2000000000ull) {
		hz >>= 1;
		s--;
	}
	while (hz <= 1000000000ull) {
		hz <<= 1;
		s++;
	}
	*mul = (uint32_t)((1000000000ull << 32) / hz);
	*shift = (int8_t)s;
}

static inline uint64_t rdtsc_host(void)
{
	uint32_t lo, hi;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

void time_update_vcpu(struct vcpu *v)
{
	struct domain *d = v->d;

	if (!d->shared || v->id >= XEN_LEGACY_MAX_VCPUS)
		return;
	struct vcpu_time_info *t = &vcpu_vinfo(v)->time;
	/* Pair a host TSC read with the system time; the guest's TSC is the host's plus an offset. */
	uint64_t tsc = rdtsc_host();
	uint64_t sys = domain_system_time(d);

	t->version++;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	t->tsc_timestamp = tsc + (uint64_t)d->tsc_offset;
	t->system_time = sys;
	t->tsc_to_system_mul = d->tsc_mul;
	t->tsc_shift = d->tsc_shift;
	t->flags = XEN_PVCLOCK_TSC_STABLE_BIT;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	t->version++;
}

void time_update_wallclock(struct domain *d)
{
	if (!d->shared)
		return;
	/* Wall time at guest system time 0, i.e. at domain creation, plus the domain's offset (Xen's time_offset). */
	uint64_t wc = now_realtime_ns() - domain_system_time(d) + (uint64_t)((int64_t)d->wallclock_offset_s * 1000000000ll);

	d->shared->wc_version++;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	d->shared->wc_sec = (uint32_t)(wc / 1000000000ull);
	d->shared->wc_nsec = (uint32_t)(wc % 1000000000ull);
	d->shared->wc_sec_hi = (uint32_t)((wc / 1000000000ull) >> 32);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	d->shared->wc_version++;
}
