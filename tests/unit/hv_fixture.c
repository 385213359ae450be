/* Fake domains for the hypervisor's unit tests: real memfd RAM and the real domain table, no KVM. */
#include <config.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <CUnit/CUnit.h>

#include "hv_fixture.h"
#include "gnttab.h"

struct domain *fx_domain(const char *prefix, unsigned nvcpus, bool all_online)
{
	static unsigned serial;
	struct domain *d = calloc(1, sizeof(*d));

	if (!d)
		return NULL;
	snprintf(d->name, sizeof(d->name), "%s-%u", prefix, ++serial);
	if (gmem_create(&d->mem, MEM_SIZE, "t") < 0) {
		free(d);
		return NULL;
	}
	d->vm_fd = -1;
	d->vcpu0_fd = -1;
	d->max_vcpus = nvcpus;
	d->max_grant_frames = gnttab_max_frames;   /* as domain_create without maxGrantFrames */
	pthread_mutex_init(&d->lock, NULL);
	atomic_store(&d->refcnt, 1);
	evtchn_init(d);
	d->created_mono_ns = now_ns();
	d->created_real_ns = now_realtime_ns();
	for (unsigned i = 0; i < nvcpus; i++) {
		struct vcpu *v = calloc(1, sizeof(*v));
		bool up = i == 0 || all_online;

		if (!v)
			return NULL;
		v->d = d;
		v->id = i;
		v->fd = -1;
		pthread_mutex_init(&v->rs_lock, NULL);
		v->runstate = up ? RS_RUNNING : RS_OFFLINE;
		v->rs_entry = now_ns();
		v->initialised = up;
		atomic_store(&v->online, up);
		d->vcpu[i] = v;
	}
	/* Fresh memfd RAM is zero: every port unmasked, upcalls enabled. */
	d->shared = gmem_ptr(&d->mem, SHARED_GPA, KXEN_PAGE_SIZE);
	d->shared_gpa = SHARED_GPA;
	if (!d->shared || domain_register(d) < 0)
		return NULL;
	return d;
}

void fx_destroy(struct domain *d)
{
	if (d)
		CU_ASSERT_EQUAL(domain_destroy(d->domid), 0);
}

int fx_run_suite(const char *suite, const struct cunit_test *tests, size_t n)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIG_KICK);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	hvlog_init(-1);
	if (domain_table_init() < 0) {
		fprintf(stderr, "domain_table_init failed\n");
		return 1;
	}
	return cunit_run(suite, tests, n, NULL, NULL);
}
