/* CUnit suite for the per-vCPU run policy (vcpu.c) driven by a scripted fake backend instead of KVM. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include "hv_fixture.h"
#include <xen/version.h>

#define CALLBACK_VA 0x123450ull
#define GUEST_RIP   0x100000ull
#define GUEST_RSP   0x500000ull
#define MAX_STEPS   8

/* One scripted return of the fake run. */
struct step {
	int rc;                 /* what run returns; 0: the exit below */
	struct vcpu_exit e;
};

/* What the fake saw, at each entry and overall. */
struct fake {
	struct step steps[MAX_STEPS];
	unsigned nsteps, runs;
	int setup_rc, boot_rc;
	unsigned setups, boots, results;
	uint64_t rax;
	struct vcpu_frame frame;      /* the guest's registers */
	/* at each entry */
	int runstate[MAX_STEPS], in_guest[MAX_STEPS];
	struct vcpu_frame seen[MAX_STEPS];
	uint8_t mask[MAX_STEPS];
	bool timer_port_pending[MAX_STEPS];
	evtchn_port_t timer_port;
	atomic_bool done;             /* script exhausted: the domain was paused */
};

static struct fake fk;

static int fake_setup(struct vcpu *v, char *why, size_t len)
{
	(void)v;
	fk.setups++;
	if (fk.setup_rc)
		snprintf(why, len, "fake setup failed");
	return fk.setup_rc;
}

static int fake_boot(struct vcpu *v)
{
	fk.boots++;
	if (!fk.boot_rc) {
		fk.frame.rip = v->boot.rip;
		fk.frame.rsp = v->boot.rsp;
	}
	return fk.boot_rc;
}

static void fake_get_frame(struct vcpu *v, struct vcpu_frame *f)
{
	(void)v;
	*f = fk.frame;
}

static void fake_set_frame(struct vcpu *v, const struct vcpu_frame *f)
{
	(void)v;
	fk.frame.rip = f->rip;
	fk.frame.rsp = f->rsp;
}

static void fake_set_result(struct vcpu *v, uint64_t rax)
{
	(void)v;
	fk.results++;
	fk.rax = rax;
}

static int fake_run(struct vcpu *v, struct vcpu_exit *e)
{
	struct domain *d = v->d;
	struct vcpu_runstate_info rs;
	unsigned i = fk.runs++;

	if (i >= fk.nsteps) {
		/* End of script: stop entering; the test destroys the domain. */
		atomic_store(&d->paused, true);
		atomic_store(&fk.done, true);
		return -EINTR;
	}
	vcpu_get_runstate(v, &rs);
	fk.runstate[i] = rs.state;
	fk.in_guest[i] = atomic_load(&v->in_guest);
	fk.seen[i] = fk.frame;
	fk.mask[i] = d->shared->vcpu_info[v->id].evtchn_upcall_mask;
	fk.timer_port_pending[i] = fk.timer_port && evtchn_is_pending(d, fk.timer_port);
	*e = fk.steps[i].e;
	return fk.steps[i].rc;
}

static const struct vcpu_run_ops fake_ops = {
	.setup = fake_setup, .load_boot = fake_boot, .get_frame = fake_get_frame,
	.set_frame = fake_set_frame, .set_result = fake_set_result, .run = fake_run,
};

static void *policy_thread(void *arg)
{
	struct vcpu *v = arg;

	__atomic_store_n(&v->tid, (pid_t)syscall(SYS_gettid), __ATOMIC_RELEASE);
	vcpu_run_loop(v, &fake_ops);
	return NULL;
}

/* A domain whose vCPU 0 is about to boot at GUEST_RIP, and a fresh script. */
static struct domain *setup(void)
{
	struct domain *d = fx_domain("run", 1, true);

	memset(&fk, 0, sizeof(fk));
	if (!d)
		return NULL;
	struct vcpu *v = d->vcpu[0];
	v->boot = (struct vcpu_boot){ .rip = GUEST_RIP, .rsp = GUEST_RSP };
	v->boot_pending = true;
	d->shared->vcpu_info[0].evtchn_upcall_mask = 1;
	return d;
}

static void add(int rc, enum vcpu_exit_kind kind)
{
	struct step *s = &fk.steps[fk.nsteps++];

	memset(s, 0, sizeof(*s));
	s->rc = rc;
	s->e.kind = kind;
}

/* Polls cond for up to 10 s: the policy runs on its own thread, as on a real vCPU. */
#define WAIT_FOR(cond) do { \
	for (int w_ = 0; w_ < 10000 && !(cond); w_++) \
		nanosleep(&(struct timespec){ 0, 1000000 }, NULL); \
	CU_ASSERT(cond); \
} while (0)

static void start(struct domain *d)
{
	struct vcpu *v = d->vcpu[0];

	CU_ASSERT_EQUAL_FATAL(pthread_create(&v->thread, NULL, policy_thread, v), 0);
	v->thread_started = true;   /* domain_destroy kicks and joins it */
}

/* Boot context first, then a hypercall whose result goes back; counters and runstate. */
static void test_boot_and_hypercall(void)
{
	struct domain *d = setup();

	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	struct vcpu *v = d->vcpu[0];
	add(0, VCPU_EXIT_HYPERCALL);
	fk.steps[0].e.nr = __HYPERVISOR_xen_version;
	fk.steps[0].e.args[0] = XENVER_version;
	add(0, VCPU_EXIT_NONE);
	start(d);
	WAIT_FOR(atomic_load(&fk.done));
	CU_ASSERT_EQUAL(fk.setups, 1);
	CU_ASSERT_EQUAL(fk.boots, 1);
	CU_ASSERT_FALSE(v->boot_pending);
	CU_ASSERT_EQUAL(fk.seen[0].rip, GUEST_RIP);
	/* The pvclock was written after the boot context, before the first entry. */
	CU_ASSERT(d->shared->vcpu_info[0].time.version != 0);
	CU_ASSERT(d->shared->vcpu_info[0].time.version % 2 == 0);
	CU_ASSERT_EQUAL(fk.runstate[0], RUNSTATE_running);
	CU_ASSERT_EQUAL(fk.in_guest[0], 1);
	CU_ASSERT_EQUAL(fk.results, 1);
	CU_ASSERT_EQUAL(fk.rax, (uint64_t)((KXEN_VERSION_MAJOR << 16) | KXEN_VERSION_MINOR));
	CU_ASSERT_EQUAL(atomic_load(&v->hypercalls), 1);
	CU_ASSERT_EQUAL(atomic_load(&v->exits), 2);
	CU_ASSERT_EQUAL(fk.runs, 3);
	CU_ASSERT_EQUAL(atomic_load(&v->in_guest), 0);
	fx_destroy(d);
}

/* Interrupted entries (kicks) are neither exits nor crashes. */
static void test_interrupted(void)
{
	struct domain *d = setup();

	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	struct vcpu *v = d->vcpu[0];
	add(-EINTR, VCPU_EXIT_NONE);
	add(-EAGAIN, VCPU_EXIT_NONE);
	add(0, VCPU_EXIT_NONE);
	start(d);
	WAIT_FOR(atomic_load(&fk.done));
	CU_ASSERT_EQUAL(atomic_load(&v->exits), 1);
	CU_ASSERT_FALSE(atomic_load(&d->shutdown));
	CU_ASSERT_EQUAL(fk.boots, 1);
	fx_destroy(d);
}

/* A paused domain and an offline vCPU are not entered until unpaused / brought up. */
static void test_paused_and_offline(void)
{
	struct domain *d = setup();
	struct vcpu_runstate_info rs;

	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	struct vcpu *v = d->vcpu[0];
	add(0, VCPU_EXIT_NONE);
	atomic_store(&d->paused, true);
	atomic_store(&v->online, false);
	start(d);
	WAIT_FOR((vcpu_get_runstate(v, &rs), rs.state == RUNSTATE_offline));
	CU_ASSERT_EQUAL(fk.runs, 0);
	CU_ASSERT_EQUAL(fk.boots, 0);
	atomic_store(&v->online, true);
	vcpu_kick(v);
	WAIT_FOR((vcpu_get_runstate(v, &rs), rs.state == RUNSTATE_runnable));
	CU_ASSERT_EQUAL(fk.runs, 0);
	CU_ASSERT_EQUAL_FATAL(domain_unpause(d), 0);   /* kicks */
	WAIT_FOR(atomic_load(&fk.done));
	CU_ASSERT_EQUAL(fk.runs, 2);
	CU_ASSERT_EQUAL(fk.runstate[0], RUNSTATE_running);
	fx_destroy(d);
}

/* An expired one-shot timer raises VIRQ_TIMER before the entry, once. */
static void test_timer(void)
{
	struct domain *d = setup();

	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	struct vcpu *v = d->vcpu[0];
	CU_ASSERT_EQUAL_FATAL(evtchn_bind_virq(d, VIRQ_TIMER, 0, &fk.timer_port), 0);
	atomic_store(&v->timer_deadline, 1);   /* long past */
	add(0, VCPU_EXIT_NONE);
	start(d);
	WAIT_FOR(atomic_load(&fk.done));
	CU_ASSERT_TRUE(fk.timer_port_pending[0]);
	CU_ASSERT_EQUAL(atomic_load(&v->timer_deadline), 0);
	fx_destroy(d);
}

/* A pending unmasked upcall enters at the callback with the bounce frame below the old stack. */
static void test_upcall(void)
{
	struct domain *d = setup();

	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	struct vcpu *v = d->vcpu[0];
	struct vcpu_info *vi = &d->shared->vcpu_info[0];
	v->event_callback = CALLBACK_VA;
	vi->evtchn_upcall_pending = 1;
	vi->evtchn_upcall_mask = 0;
	add(0, VCPU_EXIT_NONE);
	add(0, VCPU_EXIT_NONE);
	start(d);
	WAIT_FOR(atomic_load(&fk.done));
	CU_ASSERT_EQUAL(fk.seen[0].rip, CALLBACK_VA);
	CU_ASSERT(fk.seen[0].rsp < GUEST_RSP - KXEN_REDZONE_BYTES);
	CU_ASSERT_EQUAL(fk.mask[0], 1);
	uint64_t frame[7];
	CU_ASSERT_EQUAL(gmem_read(&d->mem, frame, fk.seen[0].rsp, sizeof(frame)), 0);
	CU_ASSERT_EQUAL(frame[2], GUEST_RIP);   /* [rcx r11 rip cs rflags rsp ss] */
	CU_ASSERT_EQUAL(frame[5], GUEST_RSP);
	/* Masked now: the second entry is not bounced again. */
	CU_ASSERT_EQUAL(fk.seen[1].rip, CALLBACK_VA);
	CU_ASSERT_EQUAL(fk.seen[1].rsp, fk.seen[0].rsp);
	fx_destroy(d);
}

/* Everything that crashes the domain instead of entering (or after an exit). */
static void crash_case(int setup_rc, int boot_rc, uint64_t rsp, int run_rc, enum vcpu_exit_kind kind,
                       unsigned want_runs)
{
	struct domain *d = setup();

	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	struct vcpu *v = d->vcpu[0];
	fk.setup_rc = setup_rc;
	fk.boot_rc = boot_rc;
	if (rsp) {
		v->boot.rsp = rsp;
		v->event_callback = CALLBACK_VA;
		d->shared->vcpu_info[0].evtchn_upcall_pending = 1;
		d->shared->vcpu_info[0].evtchn_upcall_mask = 0;
	}
	add(run_rc, kind);
	if (kind == VCPU_EXIT_FATAL)
		snprintf(fk.steps[0].e.why, sizeof(fk.steps[0].e.why), "scripted fatal exit");
	if (kind == VCPU_EXIT_FAULT) {
		fk.steps[0].e.vector = 14;
		fk.steps[0].e.regs.rsp = KXEN_PV_RING0_STACKS + 0x100;   /* a zeroed stub frame */
	}
	start(d);
	WAIT_FOR(atomic_load(&d->shutdown));
	CU_ASSERT_TRUE(d->crashed);
	CU_ASSERT_EQUAL(fk.runs, want_runs);
	if (kind == VCPU_EXIT_FAULT)
		CU_ASSERT_TRUE(v->fault_ctx_valid);
	fx_destroy(d);
}

static void test_crashes(void)
{
	crash_case(-EIO, 0, 0, 0, VCPU_EXIT_NONE, 0);            /* setup failed */
	crash_case(0, -EIO, 0, 0, VCPU_EXIT_NONE, 0);            /* boot context refused */
	crash_case(0, 0, 8, 0, VCPU_EXIT_NONE, 0);               /* upcall onto a bad stack */
	crash_case(0, 0, 0, -EFAULT, VCPU_EXIT_NONE, 1);         /* the entry failed */
	crash_case(0, 0, 0, 0, VCPU_EXIT_FATAL, 1);              /* e.g. a triple fault */
	crash_case(0, 0, 0, 0, VCPU_EXIT_FAULT, 1);              /* a guest exception */
}

int main(void)
{
	static const struct cunit_test tests[] = {
		{ "boot context, then a hypercall's result", test_boot_and_hypercall },
		{ "interrupted entries", test_interrupted },
		{ "paused domain, offline vCPU", test_paused_and_offline },
		{ "expired timer raises VIRQ_TIMER", test_timer },
		{ "upcall bounce before the entry", test_upcall },
		{ "what crashes the domain", test_crashes },
	};

	return fx_run_suite("vcpu_run", tests, CUNIT_COUNT(tests));
}
