/* CUnit suite for the control socket's table and central checks (ctl_table.c) on fake domains, no socket or KVM. */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hv_fixture.h"
#include "ctl.h"
#include "hypercall.h"

static uint8_t rep[KXCTL_MAX_MSG];
static struct ctl_conn conn;

/* Dispatches op with len bytes of req; returns the handler's (or the checks') result. */
static int call(uint32_t op, const void *req, uint32_t len, struct ctl_req *r)
{
	const struct ctl_op *o = ctl_op_find(op);

	memset(r, 0, sizeof(*r));
	r->conn = &conn;
	r->p = req;
	r->len = len;
	r->rep = rep;
	r->rep_max = sizeof(rep);
	return o ? ctl_dispatch(o, r) : -ENOSYS;
}

static void test_table(void)
{
	CU_ASSERT_PTR_NULL(ctl_op_find(0));
	CU_ASSERT_PTR_NULL(ctl_op_find(KXCTL_OP_MAX));
	CU_ASSERT_PTR_NULL(ctl_op_find(UINT32_MAX));
	/* Every op up to the end of the enum has an entry, named after itself. */
	for (uint32_t op = KXCTL_HELLO; op < KXCTL_OP_MAX; op++) {
		const struct ctl_op *o = ctl_op_find(op);
		CU_ASSERT_PTR_NOT_NULL_FATAL(o);
		CU_ASSERT_EQUAL(o->op, op);
		CU_ASSERT_NSTRING_EQUAL(o->name, "KXCTL_", 6);
		if (o->dom == CTL_DOMU)
			CU_ASSERT(o->size >= sizeof(struct kxctl_domid));
	}
}

static void test_central_checks(void)
{
	struct domain *d = fx_domain("ctl", 1, true);
	struct ctl_req r;

	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	struct kxctl_domid id = { .domid = d->domid };
	/* Sizes: minimum and exact. */
	CU_ASSERT_EQUAL(call(KXCTL_DOMAIN_INFO, &id, sizeof(id) - 1, &r), -EINVAL);
	struct kxctl_domain_rename rn = { .domid = d->domid, .name = "renamed" };
	CU_ASSERT_EQUAL(call(KXCTL_DOMAIN_RENAME, &rn, sizeof(rn) - 1, &r), -EINVAL);
	CU_ASSERT_EQUAL(call(KXCTL_DOMAIN_RENAME, &rn, sizeof(rn), &r), 0);
	CU_ASSERT_STRING_EQUAL(d->name, "renamed");
	/* kxen-hv holds names to the same rule as the XML and kxl (include/kxen/domname.h). */
	static const char *const bad[] = { "", "123", "-x", "a b", "a/b", "caf\xc3\xa9" };
	for (size_t i = 0; i < CUNIT_COUNT(bad); i++) {
		memset(rn.name, 0, sizeof(rn.name));
		strcpy(rn.name, bad[i]);
		CU_ASSERT_EQUAL(call(KXCTL_DOMAIN_RENAME, &rn, sizeof(rn), &r), -EINVAL);
	}
	memset(rn.name, 'n', sizeof(rn.name));   /* not NUL-terminated */
	CU_ASSERT_EQUAL(call(KXCTL_DOMAIN_RENAME, &rn, sizeof(rn), &r), -EINVAL);
	CU_ASSERT_STRING_EQUAL(d->name, "renamed");
	/* The domain lookup: dom0 is not a target, a missing domain is -ESRCH. */
	struct kxctl_domid zero = { 0 }, none = { .domid = MAX_DOMID };
	CU_ASSERT_EQUAL(call(KXCTL_DOMAIN_INFO, &zero, sizeof(zero), &r), -EPERM);
	CU_ASSERT_EQUAL(call(KXCTL_DOMAIN_INFO, &none, sizeof(none), &r), -ESRCH);
	CU_ASSERT_EQUAL(call(KXCTL_DOMAIN_INFO, &id, sizeof(id), &r), 0);
	CU_ASSERT_EQUAL(r.rlen, sizeof(struct kxctl_dominfo));
	CU_ASSERT_EQUAL(((struct kxctl_dominfo *)rep)->domid, d->domid);
	CU_ASSERT_EQUAL(atomic_load(&d->refcnt), 1);   /* the lookup's reference was dropped */
	/* A handler's error comes back as -errno with no body or fds. */
	struct kxctl_domid sd = { .domid = d->domid, .arg = 99 };
	CU_ASSERT_EQUAL(call(KXCTL_DOMAIN_SHUTDOWN, &sd, sizeof(sd), &r), -EINVAL);
	CU_ASSERT_EQUAL(r.rlen, 0);
	CU_ASSERT_EQUAL(r.nfds, 0);
	fx_destroy(d);
}

static void test_memory_ops(void)
{
	struct domain *d = fx_domain("ctl", 1, true);
	struct ctl_req r;
	struct stat st;

	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	struct kxctl_domid id = { .domid = d->domid };
	/* Whole RAM: never for a --socket-group peer (a backend), paused or not. */
	conn.privileged = false;
	atomic_store(&d->paused, true);
	CU_ASSERT_EQUAL(call(KXCTL_MAP_MEMORY, &id, sizeof(id), &r), -EPERM);
	CU_ASSERT_EQUAL(r.nfds, 0);
	atomic_store(&d->paused, false);
	conn.privileged = true;
	/* Nor while the domain may run. */
	CU_ASSERT_EQUAL(call(KXCTL_MAP_MEMORY, &id, sizeof(id), &r), -EBUSY);
	CU_ASSERT_EQUAL(r.nfds, 0);
	atomic_store(&d->paused, true);
	CU_ASSERT_EQUAL(call(KXCTL_MAP_MEMORY, &id, sizeof(id), &r), 0);
	CU_ASSERT_EQUAL(r.nfds, 1);
	CU_ASSERT_EQUAL(r.fds[0], d->mem.memfd);
	/* Special pages: none until split, then that page's own memfd. */
	struct kxctl_special_page sp = { .domid = d->domid, .role = KXCTL_PAGE_CONSOLE };
	CU_ASSERT_EQUAL(call(KXCTL_MAP_SPECIAL_PAGE, &sp, sizeof(sp), &r), -ENOENT);
	CU_ASSERT_EQUAL_FATAL(gmem_split_page(&d->mem, KXCTL_PAGE_CONSOLE, 0x300), 0);
	CU_ASSERT_EQUAL(call(KXCTL_MAP_SPECIAL_PAGE, &sp, sizeof(sp), &r), 0);
	CU_ASSERT_EQUAL(r.nfds, 1);
	CU_ASSERT(fstat(r.fds[0], &st) == 0 && st.st_size == KXEN_PAGE_SIZE);
	CU_ASSERT_EQUAL(((struct kxctl_special_page_reply *)rep)->gfn, 0x300);
	sp.role = KXCTL_PAGE_NR;
	CU_ASSERT_EQUAL(call(KXCTL_MAP_SPECIAL_PAGE, &sp, sizeof(sp), &r), -EINVAL);
	CU_ASSERT_EQUAL(call(KXCTL_MAP_SPECIAL_PAGE, &sp, sizeof(sp) - 1, &r), -EINVAL);
	fx_destroy(d);
}

static void test_vcpu_ops(void)
{
	struct domain *d = fx_domain("ctl", 2, false);
	struct ctl_req r;

	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	struct kxctl_domid id = { .domid = d->domid };
	CU_ASSERT_EQUAL(call(KXCTL_VCPU_INFO, &id, sizeof(id), &r), 0);
	struct kxctl_vcpu_info_reply *vi = (void *)rep;
	CU_ASSERT_EQUAL(vi->count, 2);
	CU_ASSERT_EQUAL(vi->vcpu[0].online, 1);
	CU_ASSERT_EQUAL(vi->vcpu[1].online, 0);
	/* Registers only of a stopped domain, and of a vCPU it has. */
	struct kxctl_vcpu_context vc = { .domid = d->domid, .vcpu = 0 };
	CU_ASSERT_EQUAL(call(KXCTL_VCPU_CONTEXT, &vc, sizeof(vc), &r), -EBUSY);
	atomic_store(&d->paused, true);
	vc.vcpu = 2;
	CU_ASSERT_EQUAL(call(KXCTL_VCPU_CONTEXT, &vc, sizeof(vc), &r), -EINVAL);
	fx_destroy(d);
}

/* CPU pool ops: pinning, credit parameters (no cgroup backend in a unit test) and vCPU availability. */
static void test_pool_ops(void)
{
	struct domain *d = fx_domain("pool", 2, false);
	struct ctl_req r;

	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	struct kxctl_vcpu_affinity a = { .domid = d->domid, .vcpu = 2 };
	a.cpumap[0] = 1;
	CU_ASSERT_EQUAL(call(KXCTL_VCPU_AFFINITY, &a, sizeof(a), &r), -EINVAL);   /* no vCPU 2 */
	a.vcpu = KXCTL_VCPU_ALL;
	a.cpumap[0] = 0;
	CU_ASSERT_EQUAL(call(KXCTL_VCPU_AFFINITY, &a, sizeof(a), &r), -EINVAL);   /* no CPU */
	a.cpumap[0] = 1;
	CU_ASSERT_EQUAL(call(KXCTL_VCPU_AFFINITY, &a, sizeof(a), &r), 0);
	struct kxctl_domid id = { .domid = d->domid };
	CU_ASSERT_EQUAL(call(KXCTL_VCPU_INFO, &id, sizeof(id), &r), 0);
	struct kxctl_vcpu_info_reply *vi = (void *)rep;
	CU_ASSERT_EQUAL(vi->vcpu[1].cpumap[0], 1);
	CU_ASSERT_EQUAL(vi->vcpu[1].cpumap[1], 0);

	struct kxctl_sched_credit sc = { .domid = d->domid };
	struct kxctl_sched_credit_reply *out = (void *)rep;
	CU_ASSERT_EQUAL(call(KXCTL_SCHED_CREDIT, &sc, sizeof(sc), &r), 0);
	CU_ASSERT_EQUAL(out->weight, 256);
	CU_ASSERT_EQUAL(out->cap, 0);
	CU_ASSERT_EQUAL(out->backend, KXCTL_SCHED_NONE);
	sc.flags = KXCTL_SCHED_SET_WEIGHT;
	sc.weight = 512;
	CU_ASSERT_EQUAL(call(KXCTL_SCHED_CREDIT, &sc, sizeof(sc), &r), -EOPNOTSUPP);
	sc.weight = 0;
	CU_ASSERT_EQUAL(call(KXCTL_SCHED_CREDIT, &sc, sizeof(sc), &r), -EINVAL);
	sc.flags = KXCTL_SCHED_SET_CAP;
	sc.cap = 201;   /* more than 100 per vCPU */
	CU_ASSERT_EQUAL(call(KXCTL_SCHED_CREDIT, &sc, sizeof(sc), &r), -EINVAL);
	sc.flags = 1u << 7;
	CU_ASSERT_EQUAL(call(KXCTL_SCHED_CREDIT, &sc, sizeof(sc), &r), -EINVAL);

	/* vCPU 1 made unavailable: the guest's VCPUOP_up of it is refused; vCPU 0 cannot be taken away. */
	struct kxctl_vcpu_avail av = { .domid = d->domid, .mask = 0 };
	CU_ASSERT_EQUAL(call(KXCTL_VCPU_AVAIL, &av, sizeof(av), &r), 0);
	CU_ASSERT_EQUAL(atomic_load(&d->vcpu_unavail) & 3, 2);
	d->vcpu[1]->initialised = true;
	const uint64_t up[5] = { VCPUOP_up, 1, 0, 0, 0 };
	CU_ASSERT_EQUAL(hc_vcpu_op(d->vcpu[0], up), -EPERM);
	CU_ASSERT_FALSE(atomic_load(&d->vcpu[1]->online));
	av.mask = 3;
	CU_ASSERT_EQUAL(call(KXCTL_VCPU_AVAIL, &av, sizeof(av), &r), 0);
	CU_ASSERT_EQUAL(atomic_load(&d->vcpu_unavail) & 3, 0);
	fx_destroy(d);
}

static void test_log_and_hello(void)
{
	struct ctl_req r;
	struct kxctl_log_read lr = { .cursor = 0, .max = 16 };

	hvlog("(XEN) test_ctl: a line long enough to be cut");
	CU_ASSERT_EQUAL(call(KXCTL_LOG_READ, &lr, sizeof(lr), &r), 0);
	struct kxctl_log_reply *out = (void *)rep;
	CU_ASSERT(out->len <= 15);
	CU_ASSERT_EQUAL(r.rlen, sizeof(*out) + out->len + 1);
	CU_ASSERT_EQUAL(call(KXCTL_HELLO, NULL, 0, &r), 0);
	CU_ASSERT_EQUAL(r.rlen, sizeof(uint32_t));
}

int main(void)
{
	static const struct cunit_test tests[] = {
		{ "the op table", test_table },
		{ "size and domain checks, once", test_central_checks },
		{ "memory ops: whole RAM, special pages", test_memory_ops },
		{ "vCPU ops", test_vcpu_ops },
		{ "CPU pool ops: pin, credit, availability", test_pool_ops },
		{ "log read, hello", test_log_and_hello },
	};

	return fx_run_suite("ctl", tests, CUNIT_COUNT(tests));
}
