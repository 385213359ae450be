/* CUnit suite for doorbell.c: which bindings get an ioeventfd, that they follow close and rebind, and what the delivery thread does with each wake-up. */
#include <config.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "hv_fixture.h"
#include "doorbell.h"

/*
 * The fake KVM: records the live registrations by (domid, port) and keeps a
 * dup of each eventfd, so a test can play KVM's part by writing to it, even
 * after the registration went (a late write KVM would no longer make).
 */
#define MAXR 64
static struct { uint32_t domid, port; int fd; bool live; } regs[MAXR];
static unsigned nregs;
static int fail_with;

static int fake_ioeventfd(struct domain *d, uint32_t port, int fd, bool assign)
{
	if (assign) {
		if (fail_with)
			return fail_with;
		CU_ASSERT_FATAL(nregs < MAXR);
		regs[nregs++] = (typeof(regs[0])){ d->domid, port, fcntl(fd, F_DUPFD_CLOEXEC, 0), true };
		return 0;
	}
	for (unsigned i = 0; i < nregs; i++)
		if (regs[i].live && regs[i].domid == d->domid && regs[i].port == port) {
			regs[i].live = false;
			return 0;
		}
	CU_FAIL("deassign of a port that has no registration");
	return -ENOENT;
}

static const struct doorbell_ops fake = { .ioeventfd = fake_ioeventfd };

/* The latest registration of (d, port), live or not; -1 if none. */
static int reg_of(struct domain *d, uint32_t port, bool *live)
{
	for (unsigned i = nregs; i-- > 0;)
		if (regs[i].domid == d->domid && regs[i].port == port) {
			*live = regs[i].live;
			return (int)i;
		}
	return -1;
}

static bool is_live(struct domain *d, uint32_t port)
{
	bool live = false;
	return reg_of(d, port, &live) >= 0 && live;
}

/* What KVM does on a matching doorbell write. */
static void ring(int i)
{
	uint64_t one = 1;
	CU_ASSERT_EQUAL(write(regs[i].fd, &one, sizeof(one)), (ssize_t)sizeof(one));
}

/* Waits up to 2 s for the delivery thread to set port pending in d. */
static bool pending_soon(struct domain *d, evtchn_port_t port)
{
	for (int i = 0; i < 2000; i++) {
		if (evtchn_is_pending(d, port))
			return true;
		usleep(1000);
	}
	return false;
}

static void clear_port(struct domain *d, evtchn_port_t port)
{
	d->shared->evtchn_pending[port / (sizeof(xen_ulong_t) * 8)] &=
		~((xen_ulong_t)1 << (port % (sizeof(xen_ulong_t) * 8)));
}

static void setup(void)
{
	doorbell_ops = &fake;
	fail_with = 0;
	for (unsigned i = 0; i < nregs; i++)
		close(regs[i].fd);
	nregs = 0;
}

/* What hc_evtchn does on a full-path send, then the doorbell thread's arming, done now. */
static void arm(struct domain *d, evtchn_port_t port)
{
	doorbell_want(d, port);
	doorbell_arm_pending();
}

/* a's new port bound to b's new unbound one, both sent on once (armed): *pa, *pb. */
static void pair(struct domain *a, struct domain *b, evtchn_port_t *pa, evtchn_port_t *pb)
{
	CU_ASSERT_EQUAL_FATAL(evtchn_alloc_unbound(b, (domid_t)a->domid, pb), 0);
	CU_ASSERT_EQUAL_FATAL(evtchn_bind_interdomain(a, (domid_t)b->domid, *pb, pa), 0);
	/* Bound but never sent on: no KVM registration yet (arming costs an SRCU grace period). */
	CU_ASSERT(!is_live(a, *pa));
	CU_ASSERT(!is_live(b, *pb));
	arm(a, *pa);
	arm(b, *pb);
	clear_port(a, *pa);   /* Xen leaves a new bound port pending */
}

static void test_guest_pair(void)
{
	struct domain *a = fx_domain("db", 1, true), *b = fx_domain("db", 1, true);
	struct doorbell_stats st;
	evtchn_port_t pa, pb;
	bool live;

	setup();
	pair(a, b, &pa, &pb);
	CU_ASSERT(is_live(a, pa));
	CU_ASSERT(is_live(b, pb));
	/* a rings: b's port, not a's, becomes pending, and the counter says so. */
	ring(reg_of(a, pa, &live));
	CU_ASSERT(pending_soon(b, pb));
	CU_ASSERT(!evtchn_is_pending(a, pa));
	ring(reg_of(b, pb, &live));
	CU_ASSERT(pending_soon(a, pa));
	doorbell_stats(a, &st);
	CU_ASSERT_EQUAL(st.doorbell_guest, 1);
	CU_ASSERT_EQUAL(st.doorbells_guest, 1);
	CU_ASSERT_EQUAL(st.doorbells_dom0, 0);
	fx_destroy(a);
	/* a's destruction closed the channel: b's doorbell went with it. */
	CU_ASSERT(!is_live(b, pb));
	fx_destroy(b);
}

static void test_close_drains_and_stale_is_dropped(void)
{
	struct domain *a = fx_domain("db", 1, true), *b = fx_domain("db", 1, true);
	evtchn_port_t pa, pb, pa2, pb2;
	bool live;
	int old;

	setup();
	pair(a, b, &pa, &pb);
	old = reg_of(a, pa, &live);
	/* Rung just before the close: the thread or the close's drain delivers it, never both nor neither. */
	ring(old);
	CU_ASSERT_EQUAL(evtchn_close(a, pa), 0);
	CU_ASSERT(!is_live(a, pa));
	CU_ASSERT(!is_live(b, pb));   /* b's port is unbound now: no doorbell */
	/* The send made before the close reached b's port, as the hypercall would have. */
	CU_ASSERT(pending_soon(b, pb));
	clear_port(b, pb);

	/* Rebind through new ports that may reuse the numbers: a late ring of the old registration goes nowhere. */
	pair(a, b, &pa2, &pb2);
	CU_ASSERT(is_live(a, pa2));
	ring(old);
	usleep(50000);
	CU_ASSERT(!evtchn_is_pending(b, pb2));
	CU_ASSERT(!evtchn_is_pending(b, pb));
	ring(reg_of(a, pa2, &live));
	CU_ASSERT(pending_soon(b, pb2));
	fx_destroy(a);
	fx_destroy(b);
}

static void test_dom0_direct(void)
{
	struct domain *g = fx_domain("db", 1, true), *dom0 = domain_dom0();
	int notify = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK), kick = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	struct doorbell_stats st;
	evtchn_port_t pg, p0;
	uint64_t n = 0;
	bool live;

	setup();
	CU_ASSERT_EQUAL_FATAL(evtchn_alloc_unbound(g, 0, &pg), 0);
	CU_ASSERT_EQUAL_FATAL(evtchn_bind_interdomain(dom0, (domid_t)g->domid, pg, &p0), 0);
	/* Bound but no eventfd yet: nothing to ring, the guest keeps the full path. */
	CU_ASSERT(!is_live(g, pg));
	CU_ASSERT_EQUAL(evtchn_dom0_attach(dom0, p0, notify, kick), 0);
	/* The attach notifies once (a new binding is pending, as in Xen): drained here. */
	CU_ASSERT_EQUAL(read(notify, &n, sizeof(n)), (ssize_t)sizeof(n));
	CU_ASSERT(!is_live(g, pg));   /* armed at the first send, not before */
	arm(g, pg);
	CU_ASSERT(is_live(g, pg));
	/* KVM's write lands on the backend's own eventfd: kxen-hv is not involved. */
	ring(reg_of(g, pg, &live));
	struct pollfd pfd = { .fd = notify, .events = POLLIN };
	CU_ASSERT_EQUAL(poll(&pfd, 1, 0), 1);
	CU_ASSERT_EQUAL(read(notify, &n, sizeof(n)), (ssize_t)sizeof(n));
	CU_ASSERT_EQUAL(n, 1);
	doorbell_stats(g, &st);
	CU_ASSERT_EQUAL(st.doorbells_dom0, 1);
	/* dom0 closing its end takes the guest's doorbell away before the eventfd goes. */
	CU_ASSERT_EQUAL(evtchn_close(dom0, p0), 0);
	CU_ASSERT(!is_live(g, pg));
	fx_destroy(g);
}

static void test_no_doorbell(void)
{
	struct domain *a = fx_domain("db", 2, true), *b = fx_domain("db", 1, true);
	evtchn_port_t p, q, self;
	struct doorbell_stats st;

	setup();
	/* Unbound, IPI, VIRQ and a channel to oneself take the full hypercall. */
	CU_ASSERT_EQUAL(evtchn_alloc_unbound(a, (domid_t)b->domid, &p), 0);
	CU_ASSERT_EQUAL(evtchn_bind_ipi(a, 1, &q), 0);
	CU_ASSERT_EQUAL(evtchn_bind_virq(a, VIRQ_TIMER, 0, &q), 0);
	CU_ASSERT_EQUAL(evtchn_alloc_unbound(a, (domid_t)a->domid, &q), 0);
	CU_ASSERT_EQUAL(evtchn_bind_interdomain(a, (domid_t)a->domid, q, &self), 0);
	arm(a, q);
	arm(a, self);
	CU_ASSERT_EQUAL(nregs, 0);
	/* KVM refusing (its bus full): the binding stands, without a doorbell. */
	fail_with = -ENOSPC;
	CU_ASSERT_EQUAL(evtchn_bind_interdomain(b, (domid_t)a->domid, p, &q), 0);
	arm(b, q);
	CU_ASSERT_EQUAL(nregs, 0);
	doorbell_stats(b, &st);
	CU_ASSERT_EQUAL(st.doorbells_guest, 0);
	CU_ASSERT_EQUAL(evtchn_send(b, q), 0);
	CU_ASSERT(evtchn_is_pending(a, p));
	fx_destroy(a);
	fx_destroy(b);
}

int main(void)
{
	static const struct cunit_test tests[] = {
		{ "guest pair: both ends ring, the peer gets it", test_guest_pair },
		{ "close drains; a stale ring after rebind is dropped", test_close_drains_and_stale_is_dropped },
		{ "dom0 port: the backend's eventfd directly", test_dom0_direct },
		{ "unbound, IPI, VIRQ, self, KVM refusal: no doorbell", test_no_doorbell },
	};
	return fx_run_suite("doorbell", tests, sizeof(tests) / sizeof(tests[0]));
}
