/* cpupool.c's interface: vCPU threads on the host scheduler (CPU affinity, a cgroup per domain for weight and cap). */
#ifndef KXEN_HV_CPUPOOL_H
#define KXEN_HV_CPUPOOL_H

#include <stddef.h>
#include <stdint.h>

struct vcpu;
struct domain;

/*
 * Picks the cgroup backend once at startup: cgroup v2 under kxen-hv's own
 * cgroup (threaded, cpu controller), else the cgroup v1 cpu hierarchy, else
 * none (KXCTL_SCHED_CREDIT then says why). $KXEN_CGROUP=none disables it;
 * $KXEN_CGROUP_ROOT names the parent directory instead of kxen-hv's own
 * cgroup. Never fails: a missing backend only disables weights and caps.
 */
void cpupool_init(void);
/* Removes kxen-hv's group directory (empty domain groups first); at exit. */
void cpupool_fini(void);
/* On v's own thread once its tid is known: names it kxdDvV, applies v's pinning, puts it in its domain's group. */
void cpupool_vcpu_thread_start(struct vcpu *v);
/* Once d's vCPU threads and its KVM VM (whose worker thread joins the group) are gone: removes d's group. */
void cpupool_domain_release(struct domain *d);

/* xl's credit weight (1..65535, 256 default) as cgroup v2 cpu.weight (100 default, 1..10000). */
unsigned cpupool_weight_to_cpu_weight(unsigned weight);
/* The same as cgroup v1 cpu.shares (1024 default, 2..262144). */
unsigned cpupool_weight_to_shares(unsigned weight);
/* xl's cap (percent of one CPU, 0 = none) as cgroup v2 cpu.max: "max 100000" or "25000 100000". */
void cpupool_cap_to_cpu_max(unsigned cap, char *buf, size_t len);
/* The same as cgroup v1 cpu.cfs_quota_us over a 100000 us period: -1 for none. */
long cpupool_cap_to_quota_us(unsigned cap);

#endif
