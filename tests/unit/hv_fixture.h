/* Fake domains for the hypervisor's unit tests: real memfd RAM and the real domain table, no KVM. */
#ifndef HV_FIXTURE_H
#define HV_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <CUnit/CUnit.h>

#include "cunit_run.h"
#include "kxen-hv.h"
#include "domain.h"
#include "evtchn.h"
#include "gmem.h"
#include "hvtime.h"
#include "hypercall.h"
#include "log.h"
#include "vcpu.h"

#define MEM_SIZE   (8ull << 20)
#define SHARED_GPA 0x200000ull

/*
 * A registered domain named PREFIX-N with nvcpus vCPUs (vm_fd and vCPU fds
 * -1, tid 0 so vcpu_kick is a no-op) and shared_info at SHARED_GPA. vCPU 0
 * is online and initialised; the others too if all_online, else they wait
 * for VCPUOP_initialise/up as after a real boot. NULL on failure.
 */
struct domain *fx_domain(const char *prefix, unsigned nvcpus, bool all_online);
/* domain_destroy() with a CUnit assertion that it worked. */
void fx_destroy(struct domain *d);

/*
 * Initialises the hypervisor log and domain table (with SIG_KICK blocked,
 * as on vCPU threads), then runs the tests with cunit_run() and returns
 * its exit status: 0 only if every test and assertion passed.
 */
int fx_run_suite(const char *suite, const struct cunit_test *tests, size_t n);

#endif
