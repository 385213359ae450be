/* `smp`: brings up every secondary vCPU the toolstack makes available and has each one report in. */
#include <xen/errno.h>

#include "apps.h"
#include "clock.h"
#include "console.h"
#include "sched.h"
#include "smp.h"

#define SMP_WAIT_NS (10 * NSEC_PER_SEC)

static unsigned reported;

static void report(unsigned id, void *arg)
{
	unsigned total = *(unsigned *)arg;

	printk("smp: vcpu %u of %u reporting\n", id, total);
	__atomic_fetch_add(&reported, 1, __ATOMIC_SEQ_CST);
}

int app_smp(int argc, char **argv)
{
	static unsigned total;
	unsigned started = 1, held = 0;

	total = smp_probe_vcpus();
	printk("smp: domain has %u vcpus\n", total);
	report(0, &total);
	for (unsigned id = 1; id < total; id++) {
		int rc = smp_start_cpu(id, report, &total);

		/* kxen-hv refuses VCPUOP_up of a vCPU whose cpu/N/availability is offline (<vcpu current>). */
		if (rc == -XEN_EPERM) {
			printk("smp: vcpu %u is offline (not available to this domain)\n", id);
			held++;
		} else if (rc < 0)
			printk("smp: starting vcpu %u failed: %d\n", id, rc);
		else
			started++;
	}

	/* Other vCPUs cannot wake our threads (no IPIs), so poll the counter on a short sleep. */
	uint64_t deadline = clock_now_ns() + SMP_WAIT_NS;

	while (__atomic_load_n(&reported, __ATOMIC_SEQ_CST) < total - held && clock_now_ns() < deadline)
		msleep(1);
	unsigned n = __atomic_load_n(&reported, __ATOMIC_SEQ_CST);

	if (n == total - held) {
		if (held)
			printk("smp: all %u available vcpus reported (%u of %u online)\n", n, n, total);
		else
			printk("smp: all %u vcpus reported\n", total);
		return 0;
	}
	printk("smp: FAIL only %u of %u vcpus reported (%u started)\n", n, total - held, started);
	return 1;
}
