/* CUnit suite for hypercall decoding: hypercall_dispatch() and the hc_*.c handlers on a fake vCPU, plus a fuzz loop. */
#define _GNU_SOURCE
#include <config.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "hv_fixture.h"
#include "balloon.h"
#include "hostmem.h"
#include <xen/callback.h>
#include <xen/features.h>
#include <xen/memory.h>
#include <xen/version.h>

#define SCR        0x300000ull     /* argument scratch for the directed tests */
#define SCR2       0x310000ull
#define NVCPUS     4


static long hc(struct vcpu *v, uint64_t nr, uint64_t a0, uint64_t a1, uint64_t a2)
{
	const uint64_t args[5] = { a0, a1, a2, 0, 0 };

	return hypercall_dispatch(v, nr, args);
}

/* The test's own view of guest memory. */
static void *G(struct domain *d, uint64_t gva)
{
	return gmem_ptr(&d->mem, gva, 1);
}

static void put(struct domain *d, uint64_t gva, const void *src, size_t len)
{
	CU_ASSERT_EQUAL_FATAL(gmem_write(&d->mem, gva, src, len), 0);
}

static void get(struct domain *d, uint64_t gva, void *dst, size_t len)
{
	CU_ASSERT_EQUAL_FATAL(gmem_read(&d->mem, dst, gva, len), 0);
}

/* Pointers no handler may follow: NULL, page 0, the builder's pages, the end of RAM, wraps. */
static const uint64_t bad_ptrs[] = {
	0, 8, 0xff8, KXEN_PV_RESERVED_START, KXEN_PV_GDT, KXEN_PV_RING0_STACKS,
	KXEN_PV_RESERVED_END - 8, KXEN_PV_RESERVED_END - 1,
	MEM_SIZE - 1, MEM_SIZE, MEM_SIZE + 4096, 1ull << 40, 0x8000000000000000ull,
	UINT64_MAX - 7, UINT64_MAX - 1, UINT64_MAX,
};
#define NR_BAD (sizeof(bad_ptrs) / sizeof(bad_ptrs[0]))

/* ---- the log ---- */

static uint64_t log_cursor;
static char logbuf[1 << 16];

static void log_skip(void)
{
	uint64_t lost;

	while (hvlog_read(&log_cursor, logbuf, sizeof(logbuf), &lost) > 0)
		;
}

static const char *log_new(void)
{
	uint64_t lost;

	hvlog_read(&log_cursor, logbuf, sizeof(logbuf), &lost);
	return logbuf;
}

/* ---- tests ---- */

static void test_unknown(void)
{
	struct domain *d = fx_domain("hc", NVCPUS, false);
	static const uint64_t known[] = {
		__HYPERVISOR_set_callbacks, __HYPERVISOR_set_timer_op, __HYPERVISOR_memory_op,
		__HYPERVISOR_multicall, __HYPERVISOR_xen_version, __HYPERVISOR_console_io,
		__HYPERVISOR_vcpu_op, __HYPERVISOR_sched_op, __HYPERVISOR_event_channel_op,
		__HYPERVISOR_callback_op,
	};

	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	struct vcpu *v = d->vcpu[0];
	for (uint64_t nr = 0; nr < 64; nr++) {
		bool k = false;
		for (unsigned i = 0; i < sizeof(known) / sizeof(known[0]); i++)
			k |= known[i] == nr;
		if (!k)
			CU_ASSERT_EQUAL(hc(v, nr, 0, SCR, 0), -ENOSYS);
	}
	CU_ASSERT_EQUAL(hc(v, 1000, 0, 0, 0), -ENOSYS);
	CU_ASSERT_EQUAL(hc(v, UINT64_MAX, 0, 0, 0), -ENOSYS);
	/* Numbers are not truncated to 32 bits: this is not xen_version. */
	CU_ASSERT_EQUAL(hc(v, (1ull << 32) | __HYPERVISOR_xen_version, XENVER_version, 0, 0), -ENOSYS);
	CU_ASSERT_STRING_EQUAL(hypercall_name(__HYPERVISOR_xen_version), "xen_version");
	CU_ASSERT_STRING_EQUAL(hypercall_name(1000), "unknown");
	CU_ASSERT_STRING_EQUAL(hypercall_name(0), "unknown");

	/* Unknown sub-ops, with a good pointer. */
	memset(G(d, SCR), 0, 4096);
	static const uint64_t subop_calls[] = {
		__HYPERVISOR_xen_version, __HYPERVISOR_console_io, __HYPERVISOR_memory_op,
		__HYPERVISOR_sched_op, __HYPERVISOR_event_channel_op, __HYPERVISOR_callback_op,
		__HYPERVISOR_vcpu_op,
	};
	for (unsigned i = 0; i < sizeof(subop_calls) / sizeof(subop_calls[0]); i++) {
		CU_ASSERT_EQUAL(hc(v, subop_calls[i], 0x7777, 0, SCR), -ENOSYS);
		CU_ASSERT_EQUAL(hc(v, subop_calls[i], UINT64_MAX, 0, SCR), -ENOSYS);
	}
	CU_ASSERT_EQUAL(hc(v, __HYPERVISOR_event_channel_op, 1ull << 32 | EVTCHNOP_send, SCR, 0), -ENOSYS);
	CU_ASSERT_FALSE(atomic_load(&d->shutdown));
	fx_destroy(d);
}

struct ptr_case {
	const char *what;
	uint64_t nr, a0, a1;
	int ptr_arg;          /* which argument holds the pointer */
};

static void test_bad_pointers(void)
{
	struct domain *d = fx_domain("hc", NVCPUS, false);
	static const struct ptr_case cases[] = {
		{ "extraversion", __HYPERVISOR_xen_version, XENVER_extraversion, 0, 1 },
		{ "compile_info", __HYPERVISOR_xen_version, XENVER_compile_info, 0, 1 },
		{ "capabilities", __HYPERVISOR_xen_version, XENVER_capabilities, 0, 1 },
		{ "changeset", __HYPERVISOR_xen_version, XENVER_changeset, 0, 1 },
		{ "platform_parameters", __HYPERVISOR_xen_version, XENVER_platform_parameters, 0, 1 },
		{ "get_features", __HYPERVISOR_xen_version, XENVER_get_features, 0, 1 },
		{ "guest_handle", __HYPERVISOR_xen_version, XENVER_guest_handle, 0, 1 },
		{ "console write", __HYPERVISOR_console_io, CONSOLEIO_write, 16, 2 },
		{ "evtchn send", __HYPERVISOR_event_channel_op, EVTCHNOP_send, 0, 1 },
		{ "evtchn alloc_unbound", __HYPERVISOR_event_channel_op, EVTCHNOP_alloc_unbound, 0, 1 },
		{ "evtchn bind_interdomain", __HYPERVISOR_event_channel_op, EVTCHNOP_bind_interdomain, 0, 1 },
		{ "evtchn bind_virq", __HYPERVISOR_event_channel_op, EVTCHNOP_bind_virq, 0, 1 },
		{ "evtchn bind_ipi", __HYPERVISOR_event_channel_op, EVTCHNOP_bind_ipi, 0, 1 },
		{ "evtchn close", __HYPERVISOR_event_channel_op, EVTCHNOP_close, 0, 1 },
		{ "evtchn status", __HYPERVISOR_event_channel_op, EVTCHNOP_status, 0, 1 },
		{ "evtchn unmask", __HYPERVISOR_event_channel_op, EVTCHNOP_unmask, 0, 1 },
		{ "evtchn bind_vcpu", __HYPERVISOR_event_channel_op, EVTCHNOP_bind_vcpu, 0, 1 },
		{ "evtchn reset", __HYPERVISOR_event_channel_op, EVTCHNOP_reset, 0, 1 },
		{ "current_reservation", __HYPERVISOR_memory_op, XENMEM_current_reservation, 0, 1 },
		{ "maximum_reservation", __HYPERVISOR_memory_op, XENMEM_maximum_reservation, 0, 1 },
		{ "memory_map", __HYPERVISOR_memory_op, XENMEM_memory_map, 0, 1 },
		{ "sched shutdown", __HYPERVISOR_sched_op, SCHEDOP_shutdown, 0, 1 },
		{ "sched poll", __HYPERVISOR_sched_op, SCHEDOP_poll, 0, 1 },
		{ "vcpu initialise", __HYPERVISOR_vcpu_op, VCPUOP_initialise, 1, 2 },
		{ "vcpu get_runstate_info", __HYPERVISOR_vcpu_op, VCPUOP_get_runstate_info, 0, 2 },
		{ "vcpu set_singleshot_timer", __HYPERVISOR_vcpu_op, VCPUOP_set_singleshot_timer, 0, 2 },
		{ "vcpu set_periodic_timer", __HYPERVISOR_vcpu_op, VCPUOP_set_periodic_timer, 0, 2 },
		{ "callback register", __HYPERVISOR_callback_op, CALLBACKOP_register, 0, 1 },
		{ "callback unregister", __HYPERVISOR_callback_op, CALLBACKOP_unregister, 0, 1 },
		{ "multicall", __HYPERVISOR_multicall, 0, 1, 0 },
	};

	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	struct vcpu *v = d->vcpu[0];
	log_skip();
	for (unsigned c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		for (unsigned i = 0; i < NR_BAD; i++) {
			uint64_t args[5] = { cases[c].a0, cases[c].a1, 0, 0, 0 };
			args[cases[c].ptr_arg] = bad_ptrs[i];
			long rc = hypercall_dispatch(v, cases[c].nr, args);
			if (rc != -EFAULT)
				fprintf(stderr, "\n%s with %#llx: %ld\n", cases[c].what,
				        (unsigned long long)bad_ptrs[i], rc);
			CU_ASSERT_EQUAL(rc, -EFAULT);
		}
	}
	/* Nothing happened on the way. */
	CU_ASSERT_FALSE(atomic_load(&d->shutdown));
	CU_ASSERT_FALSE(d->vcpu[1]->initialised);
	CU_ASSERT_EQUAL(v->event_callback, 0);
	CU_ASSERT_EQUAL(v->hc_depth, 0);
	CU_ASSERT_EQUAL(strstr(log_new(), "(d") != NULL, 0);

	/* Pointers inside the structures: memory_map's buffer, poll's port list. */
	for (unsigned i = 0; i < NR_BAD; i++) {
		struct xen_memory_map map = { .nr_entries = 4 };
		map.buffer.p = (void *)(uintptr_t)bad_ptrs[i];
		put(d, SCR, &map, sizeof(map));
		CU_ASSERT_EQUAL(hc(v, __HYPERVISOR_memory_op, XENMEM_memory_map, SCR, 0), -EFAULT);
		struct sched_poll p = { .nr_ports = 1, .timeout = 1 };
		p.ports.p = (evtchn_port_t *)(uintptr_t)bad_ptrs[i];
		put(d, SCR, &p, sizeof(p));
		CU_ASSERT_EQUAL(hc(v, __HYPERVISOR_sched_op, SCHEDOP_poll, SCR, 0), -EFAULT);
	}
	/* A multicall list running off the end of RAM, and one wrapping around 2^64. */
	uint64_t last = MEM_SIZE - sizeof(multicall_entry_t);
	multicall_entry_t e = { .op = __HYPERVISOR_xen_version, .result = 12345,
	                        .args = { XENVER_version } };
	put(d, last, &e, sizeof(e));
	CU_ASSERT_EQUAL(hc(v, __HYPERVISOR_multicall, last, 2, 0), -EFAULT);
	get(d, last, &e, sizeof(e));
	CU_ASSERT_EQUAL(e.result, (KXEN_VERSION_MAJOR << 16) | KXEN_VERSION_MINOR);
	CU_ASSERT_EQUAL(hc(v, __HYPERVISOR_multicall, UINT64_MAX - 63, 2, 0), -EFAULT);
	CU_ASSERT_EQUAL(v->hc_depth, 0);
	/* Console text straddling the end of RAM. */
	CU_ASSERT_EQUAL(hc(v, __HYPERVISOR_console_io, CONSOLEIO_write, 600, MEM_SIZE - 520), -EFAULT);
	/* Zero bytes need no buffer. */
	CU_ASSERT_EQUAL(hc(v, __HYPERVISOR_console_io, CONSOLEIO_write, 0, 0), 0);
	fx_destroy(d);
}

static void test_xen_version(void)
{
	struct domain *d = fx_domain("hc", NVCPUS, false);
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	struct vcpu *v = d->vcpu[0];
	xen_extraversion_t ev;
	xen_capabilities_info_t caps;
	xen_feature_info_t fi;

	CU_ASSERT_EQUAL(hc(v, __HYPERVISOR_xen_version, XENVER_version, 0, 0), (4 << 16) | 17);
	CU_ASSERT_EQUAL(hc(v, __HYPERVISOR_xen_version, XENVER_version, 0, 0), 0x40011);

	memset(G(d, SCR), 0xee, sizeof(ev));
	CU_ASSERT_EQUAL(hc(v, __HYPERVISOR_xen_version, XENVER_extraversion, SCR, 0), 0);
	get(d, SCR, ev, sizeof(ev));
	CU_ASSERT_EQUAL(ev[sizeof(ev) - 1], '\0');
	CU_ASSERT_STRING_EQUAL(ev, KXEN_EXTRAVERSION);

	memset(G(d, SCR), 0xee, sizeof(caps));
	CU_ASSERT_EQUAL(hc(v, __HYPERVISOR_xen_version, XENVER_capabilities, SCR, 0), 0);
	get(d, SCR, caps, sizeof(caps));
	CU_ASSERT_STRING_EQUAL(caps, "xen-3.0-x86_64");

	fi = (xen_feature_info_t){ .submap_idx = 0, .submap = 0 };
	put(d, SCR, &fi, sizeof(fi));
	CU_ASSERT_EQUAL(hc(v, __HYPERVISOR_xen_version, XENVER_get_features, SCR, 0), 0);
	get(d, SCR, &fi, sizeof(fi));
	CU_ASSERT_EQUAL(fi.submap_idx, 0);
	CU_ASSERT_TRUE(fi.submap & (1u << XENFEAT_auto_translated_physmap));
	fi = (xen_feature_info_t){ .submap_idx = 1, .submap = 0xffffffff };
	put(d, SCR, &fi, sizeof(fi));
	CU_ASSERT_EQUAL(hc(v, __HYPERVISOR_xen_version, XENVER_get_features, SCR, 0), 0);
	get(d, SCR, &fi, sizeof(fi));
	CU_ASSERT_EQUAL(fi.submap, 0);

	CU_ASSERT_EQUAL(hc(v, __HYPERVISOR_xen_version, XENVER_pagesize, 0, 0), 4096);
	CU_ASSERT_EQUAL(hc(v, __HYPERVISOR_xen_version, XENVER_commandline, SCR, 0), -EPERM);

	xen_compile_info_t ci;
	CU_ASSERT_EQUAL(hc(v, __HYPERVISOR_xen_version, XENVER_compile_info, SCR, 0), 0);
	get(d, SCR, &ci, sizeof(ci));
	CU_ASSERT_EQUAL(ci.compiler[sizeof(ci.compiler) - 1], '\0');
	xen_platform_parameters_t pp;
	CU_ASSERT_EQUAL(hc(v, __HYPERVISOR_xen_version, XENVER_platform_parameters, SCR, 0), 0);
	get(d, SCR, &pp, sizeof(pp));
	CU_ASSERT_EQUAL(pp.virt_start, HYPERVISOR_VIRT_START);
	xen_domain_handle_t h;
	memset(d->uuid, 0x42, sizeof(d->uuid));
	CU_ASSERT_EQUAL(hc(v, __HYPERVISOR_xen_version, XENVER_guest_handle, SCR, 0), 0);
	get(d, SCR, h, sizeof(h));
	CU_ASSERT_EQUAL(memcmp(h, d->uuid, sizeof(h)), 0);
	fx_destroy(d);
}

static void test_console_io(void)
{
	struct domain *d = fx_domain("hc", NVCPUS, false);
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	struct vcpu *v = d->vcpu[0];
	char want[512], *big;
	static const char hello[] = "hello from the guest\n";
	static const char ctrl[] = "a\x01" "b\x1b[31mc\x7f\xff\td\r\n";

	log_skip();
	put(d, SCR, hello, strlen(hello));
	CU_ASSERT_EQUAL(hc(v, __HYPERVISOR_console_io, CONSOLEIO_write, strlen(hello), SCR), 0);
	snprintf(want, sizeof(want), "(d%u) hello from the guest\n", d->domid);
	CU_ASSERT_STRING_EQUAL(log_new(), want);

	put(d, SCR, ctrl, strlen(ctrl));
	CU_ASSERT_EQUAL(hc(v, __HYPERVISOR_console_io, CONSOLEIO_write, strlen(ctrl), SCR), 0);
	snprintf(want, sizeof(want), "(d%u) a?b?[31mc??\td\n", d->domid);
	CU_ASSERT_STRING_EQUAL(log_new(), want);

	/* A line is logged once complete, whatever the write boundaries. */
	put(d, SCR, "part", 4);
	CU_ASSERT_EQUAL(hc(v, __HYPERVISOR_console_io, CONSOLEIO_write, 4, SCR), 0);
	CU_ASSERT_STRING_EQUAL(log_new(), "");
	put(d, SCR, "ial\nnext", 8);
	CU_ASSERT_EQUAL(hc(v, __HYPERVISOR_console_io, CONSOLEIO_write, 8, SCR), 0);
	snprintf(want, sizeof(want), "(d%u) partial\n", d->domid);
	CU_ASSERT_STRING_EQUAL(log_new(), want);
	put(d, SCR, "\n", 1);
	CU_ASSERT_EQUAL(hc(v, __HYPERVISOR_console_io, CONSOLEIO_write, 1, SCR), 0);
	snprintf(want, sizeof(want), "(d%u) next\n", d->domid);
	CU_ASSERT_STRING_EQUAL(log_new(), want);

	/* Large writes: more than one chunk, long lines split, no overrun. */
	big = malloc(20000);
	CU_ASSERT_PTR_NOT_NULL_FATAL(big);
	memset(big, 'x', 20000);
	big[1499] = '\n';
	put(d, SCR, big, 20000);
	CU_ASSERT_EQUAL(hc(v, __HYPERVISOR_console_io, CONSOLEIO_write, 1500, SCR), 0);
	const char *l = log_new();
	size_t lines = 0;
	for (const char *p = l; *p; p++)
		lines += *p == '\n';
	CU_ASSERT_EQUAL(lines, (1499 + 254) / 255);
	CU_ASSERT_EQUAL(hc(v, __HYPERVISOR_console_io, CONSOLEIO_write, 20000, SCR), 0);
	CU_ASSERT_EQUAL(hc(v, __HYPERVISOR_console_io, CONSOLEIO_write, UINT64_MAX, SCR), 0);
	free(big);

	CU_ASSERT_EQUAL(hc(v, __HYPERVISOR_console_io, CONSOLEIO_read, 16, SCR), -EPERM);
	CU_ASSERT_EQUAL(hc(v, __HYPERVISOR_console_io, 99, 16, SCR), -ENOSYS);
	fx_destroy(d);
}

static void test_evtchn_op(void)
{
	struct domain *d = fx_domain("hc", NVCPUS, false), *peer = fx_domain("hc", 1, false);
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	CU_ASSERT_PTR_NOT_NULL_FATAL(peer);
	struct vcpu *v = d->vcpu[0];
	const uint64_t E = __HYPERVISOR_event_channel_op;
	evtchn_port_t p1, p2, pv, pi, pp;

	/* alloc_unbound: only for ourselves. */
	struct evtchn_alloc_unbound au = { .dom = (domid_t)peer->domid, .remote_dom = 0 };
	put(d, SCR, &au, sizeof(au));
	CU_ASSERT_EQUAL(hc(v, E, EVTCHNOP_alloc_unbound, SCR, 0), -EPERM);
	au.dom = 0;
	put(d, SCR, &au, sizeof(au));
	CU_ASSERT_EQUAL(hc(v, E, EVTCHNOP_alloc_unbound, SCR, 0), -EPERM);
	au = (struct evtchn_alloc_unbound){ .dom = DOMID_SELF, .remote_dom = (domid_t)peer->domid };
	put(d, SCR, &au, sizeof(au));
	CU_ASSERT_EQUAL(hc(v, E, EVTCHNOP_alloc_unbound, SCR, 0), 0);
	get(d, SCR, &au, sizeof(au));
	p1 = au.port;
	CU_ASSERT_NOT_EQUAL(p1, 0);
	au = (struct evtchn_alloc_unbound){ .dom = (domid_t)d->domid, .remote_dom = DOMID_SELF };
	put(d, SCR, &au, sizeof(au));
	CU_ASSERT_EQUAL(hc(v, E, EVTCHNOP_alloc_unbound, SCR, 0), 0);
	get(d, SCR, &au, sizeof(au));
	p2 = au.port;
	CU_ASSERT_NOT_EQUAL(p2, p1);

	/* status: copied back; remote DOMID_SELF resolved to our id. */
	struct evtchn_status st = { .dom = DOMID_SELF, .port = p2 };
	put(d, SCR, &st, sizeof(st));
	CU_ASSERT_EQUAL(hc(v, E, EVTCHNOP_status, SCR, 0), 0);
	get(d, SCR, &st, sizeof(st));
	CU_ASSERT_EQUAL(st.status, EVTCHNSTAT_unbound);
	CU_ASSERT_EQUAL(st.u.unbound.dom, d->domid);
	st = (struct evtchn_status){ .dom = (domid_t)peer->domid, .port = 1 };
	put(d, SCR, &st, sizeof(st));
	CU_ASSERT_EQUAL(hc(v, E, EVTCHNOP_status, SCR, 0), -EPERM);
	st = (struct evtchn_status){ .dom = DOMID_SELF, .port = 0 };
	put(d, SCR, &st, sizeof(st));
	CU_ASSERT_EQUAL(hc(v, E, EVTCHNOP_status, SCR, 0), -EINVAL);

	/* bind_interdomain: loopback through DOMID_SELF, result copied back. */
	struct evtchn_bind_interdomain bi = { .remote_dom = DOMID_SELF, .remote_port = p2 };
	put(d, SCR, &bi, sizeof(bi));
	CU_ASSERT_EQUAL(hc(v, E, EVTCHNOP_bind_interdomain, SCR, 0), 0);
	get(d, SCR, &bi, sizeof(bi));
	CU_ASSERT_NOT_EQUAL(bi.local_port, 0);
	CU_ASSERT_NOT_EQUAL(bi.local_port, p2);
	/* The peer's port offered to us. */
	CU_ASSERT_EQUAL_FATAL(evtchn_alloc_unbound(peer, (domid_t)d->domid, &pp), 0);
	bi = (struct evtchn_bind_interdomain){ .remote_dom = (domid_t)peer->domid, .remote_port = pp };
	put(d, SCR, &bi, sizeof(bi));
	CU_ASSERT_EQUAL(hc(v, E, EVTCHNOP_bind_interdomain, SCR, 0), 0);
	get(d, SCR, &bi, sizeof(bi));
	pi = bi.local_port;
	CU_ASSERT_EQUAL(hc(v, E, EVTCHNOP_bind_interdomain, SCR, 0), -EINVAL);   /* taken now */
	bi.remote_dom = DOMID_FIRST_RESERVED - 2;
	put(d, SCR, &bi, sizeof(bi));
	CU_ASSERT_EQUAL(hc(v, E, EVTCHNOP_bind_interdomain, SCR, 0), -ESRCH);

	/* send reaches the peer. */
	memset(peer->shared->evtchn_pending, 0, sizeof(peer->shared->evtchn_pending));
	struct evtchn_send sd = { .port = pi };
	put(d, SCR, &sd, sizeof(sd));
	CU_ASSERT_EQUAL(hc(v, E, EVTCHNOP_send, SCR, 0), 0);
	CU_ASSERT_TRUE(evtchn_is_pending(peer, pp));
	sd.port = 0;
	put(d, SCR, &sd, sizeof(sd));
	CU_ASSERT_EQUAL(hc(v, E, EVTCHNOP_send, SCR, 0), -EINVAL);

	/* bind_virq and bind_ipi copy their port back. */
	struct evtchn_bind_virq bv = { .virq = VIRQ_TIMER, .vcpu = 2, .port = 0 };
	put(d, SCR, &bv, sizeof(bv));
	CU_ASSERT_EQUAL(hc(v, E, EVTCHNOP_bind_virq, SCR, 0), 0);
	get(d, SCR, &bv, sizeof(bv));
	pv = bv.port;
	CU_ASSERT_EQUAL(d->vcpu[2]->virq_port[VIRQ_TIMER], pv);
	CU_ASSERT_EQUAL(hc(v, E, EVTCHNOP_bind_virq, SCR, 0), -EEXIST);
	bv = (struct evtchn_bind_virq){ .virq = VIRQ_CONSOLE, .vcpu = 2 };
	put(d, SCR, &bv, sizeof(bv));
	CU_ASSERT_EQUAL(hc(v, E, EVTCHNOP_bind_virq, SCR, 0), -EINVAL);
	bv = (struct evtchn_bind_virq){ .virq = NR_VIRQS, .vcpu = 0 };
	put(d, SCR, &bv, sizeof(bv));
	CU_ASSERT_EQUAL(hc(v, E, EVTCHNOP_bind_virq, SCR, 0), -EINVAL);
	struct evtchn_bind_ipi ipi = { .vcpu = 3 };
	put(d, SCR, &ipi, sizeof(ipi));
	CU_ASSERT_EQUAL(hc(v, E, EVTCHNOP_bind_ipi, SCR, 0), 0);
	get(d, SCR, &ipi, sizeof(ipi));
	CU_ASSERT_NOT_EQUAL(ipi.port, 0);
	st = (struct evtchn_status){ .dom = DOMID_SELF, .port = ipi.port };
	put(d, SCR, &st, sizeof(st));
	CU_ASSERT_EQUAL(hc(v, E, EVTCHNOP_status, SCR, 0), 0);
	get(d, SCR, &st, sizeof(st));
	CU_ASSERT_EQUAL(st.status, EVTCHNSTAT_ipi);
	CU_ASSERT_EQUAL(st.vcpu, 3);
	ipi.vcpu = NVCPUS;
	put(d, SCR, &ipi, sizeof(ipi));
	CU_ASSERT_EQUAL(hc(v, E, EVTCHNOP_bind_ipi, SCR, 0), -ENOENT);

	/* bind_vcpu, unmask, close. */
	struct evtchn_bind_vcpu bvc = { .port = pi, .vcpu = 1 };
	put(d, SCR, &bvc, sizeof(bvc));
	CU_ASSERT_EQUAL(hc(v, E, EVTCHNOP_bind_vcpu, SCR, 0), 0);
	bvc.port = pv;
	put(d, SCR, &bvc, sizeof(bvc));
	CU_ASSERT_EQUAL(hc(v, E, EVTCHNOP_bind_vcpu, SCR, 0), -EINVAL);
	d->shared->evtchn_mask[0] = ~(xen_ulong_t)0;
	struct evtchn_unmask um = { .port = p1 };
	put(d, SCR, &um, sizeof(um));
	CU_ASSERT_EQUAL(hc(v, E, EVTCHNOP_unmask, SCR, 0), 0);
	CU_ASSERT_FALSE(d->shared->evtchn_mask[0] & ((xen_ulong_t)1 << p1));
	d->shared->evtchn_mask[0] = 0;
	struct evtchn_close cl = { .port = pi };
	put(d, SCR, &cl, sizeof(cl));
	CU_ASSERT_EQUAL(hc(v, E, EVTCHNOP_close, SCR, 0), 0);
	CU_ASSERT_EQUAL(hc(v, E, EVTCHNOP_close, SCR, 0), -EINVAL);
	int rc;
	evtchn_status_t pst = { .port = pp };
	rc = evtchn_status(peer, &pst);
	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT_EQUAL(pst.status, EVTCHNSTAT_unbound);

	/* reset: only ourselves. */
	struct evtchn_reset rs = { .dom = (domid_t)peer->domid };
	put(d, SCR, &rs, sizeof(rs));
	CU_ASSERT_EQUAL(hc(v, E, EVTCHNOP_reset, SCR, 0), -EPERM);
	rs.dom = DOMID_SELF;
	put(d, SCR, &rs, sizeof(rs));
	CU_ASSERT_EQUAL(hc(v, E, EVTCHNOP_reset, SCR, 0), 0);
	pst.port = p1;
	CU_ASSERT_EQUAL(evtchn_status(d, &pst), 0);
	CU_ASSERT_EQUAL(pst.status, EVTCHNSTAT_closed);
	CU_ASSERT_EQUAL(d->vcpu[2]->virq_port[VIRQ_TIMER], 0);
	fx_destroy(d);
	fx_destroy(peer);
}

static void test_memory_op(void)
{
	struct domain *d = fx_domain("hc", NVCPUS, false);
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	struct vcpu *v = d->vcpu[0];
	const uint64_t M = __HYPERVISOR_memory_op;
	domid_t dom;

	dom = DOMID_SELF;
	put(d, SCR, &dom, sizeof(dom));
	CU_ASSERT_EQUAL(hc(v, M, XENMEM_current_reservation, SCR, 0), MEM_SIZE / 4096);
	CU_ASSERT_EQUAL(hc(v, M, XENMEM_maximum_reservation, SCR, 0), MEM_SIZE / 4096);
	dom = (domid_t)d->domid;
	put(d, SCR, &dom, sizeof(dom));
	CU_ASSERT_EQUAL(hc(v, M, XENMEM_current_reservation, SCR, 0), 2048);
	dom = 0;
	put(d, SCR, &dom, sizeof(dom));
	CU_ASSERT_EQUAL(hc(v, M, XENMEM_current_reservation, SCR, 0), -EPERM);
	dom = (domid_t)(d->domid + 1);
	put(d, SCR, &dom, sizeof(dom));
	CU_ASSERT_EQUAL(hc(v, M, XENMEM_maximum_reservation, SCR, 0), -EPERM);

	/* memory_map: two e820 entries of 20 bytes (addr, size, type). */
	struct xen_memory_map map = { .nr_entries = 8 };
	map.buffer.p = (void *)(uintptr_t)SCR2;
	memset(G(d, SCR2), 0xcc, 256);
	put(d, SCR, &map, sizeof(map));
	CU_ASSERT_EQUAL(hc(v, M, XENMEM_memory_map, SCR, 0), 0);
	get(d, SCR, &map, sizeof(map));
	CU_ASSERT_EQUAL(map.nr_entries, 2);
	uint8_t raw[60];
	uint64_t addr, size;
	uint32_t type;
	get(d, SCR2, raw, sizeof(raw));
	memcpy(&addr, raw, 8);
	memcpy(&size, raw + 8, 8);
	memcpy(&type, raw + 16, 4);
	CU_ASSERT_EQUAL(addr, 0);
	CU_ASSERT_EQUAL(size, KXEN_PV_RESERVED_END);
	CU_ASSERT_EQUAL(type, 2);
	memcpy(&addr, raw + 20, 8);
	memcpy(&size, raw + 28, 8);
	memcpy(&type, raw + 36, 4);
	CU_ASSERT_EQUAL(addr, KXEN_PV_RESERVED_END);
	CU_ASSERT_EQUAL(size, MEM_SIZE - KXEN_PV_RESERVED_END);
	CU_ASSERT_EQUAL(type, 1);
	CU_ASSERT_EQUAL(raw[40], 0xcc);   /* nothing beyond the two entries */

	map.nr_entries = 1;
	put(d, SCR, &map, sizeof(map));
	CU_ASSERT_EQUAL(hc(v, M, XENMEM_memory_map, SCR, 0), -EINVAL);
	map.nr_entries = 0;
	put(d, SCR, &map, sizeof(map));
	CU_ASSERT_EQUAL(hc(v, M, XENMEM_memory_map, SCR, 0), -EINVAL);
	/* A buffer straddling the end of RAM. */
	map.nr_entries = 2;
	map.buffer.p = (void *)(uintptr_t)(MEM_SIZE - 20);
	put(d, SCR, &map, sizeof(map));
	CU_ASSERT_EQUAL(hc(v, M, XENMEM_memory_map, SCR, 0), -EFAULT);
	fx_destroy(d);
}

/* Allocated host blocks of the domain's memfd, in pages: what the balloon gives back and takes. */
static uint64_t memfd_pages(struct domain *d)
{
	struct stat st;

	return fstat(d->mem.memfd, &st) ? 0 : (uint64_t)st.st_blocks * 512 / 4096;
}

static long reservation(struct vcpu *v, unsigned op, const xen_pfn_t *frames, unsigned n, unsigned order)
{
	struct xen_memory_reservation r = { .nr_extents = n, .extent_order = order, .domid = DOMID_SELF };

	r.extent_start.p = frames ? (xen_pfn_t *)(uintptr_t)SCR2 : NULL;
	if (frames)
		put(v->d, SCR2, frames, n * sizeof(*frames));
	put(v->d, SCR, &r, sizeof(r));
	return hc(v, __HYPERVISOR_memory_op, op, SCR, 0);
}

/* The balloon both ways on a real memfd: holes punched, frames given back only where released, counts and the host's total following. */
static void test_balloon(void)
{
	struct domain *d = fx_domain("hc", NVCPUS, false);
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	struct vcpu *v = d->vcpu[0];
	const uint64_t M = __HYPERVISOR_memory_op, P = MEM_SIZE / 4096;
	const xen_pfn_t give[] = { 0x600, 0x601, 0x602, 0x603 };
	xen_pfn_t out[4];
	domid_t self = DOMID_SELF;
	uint64_t committed = hostmem__committed();

	memset(G(d, 0x600000), 0x5a, 4 * 4096);   /* touched: the host holds these pages */
	memset(G(d, SCR), 0, 4096);                /* and the argument pages, before counting */
	memset(G(d, SCR2), 0, 4096);
	uint64_t held = memfd_pages(d);
	CU_ASSERT_EQUAL(reservation(v, XENMEM_decrease_reservation, give, 4, 0), 4);
	CU_ASSERT_EQUAL(memfd_pages(d), held - 4);
	CU_ASSERT_EQUAL(d->released_pages, 4);
	CU_ASSERT_EQUAL(hostmem__committed(), committed - 4 * 4096);
	put(d, SCR, &self, sizeof(self));
	CU_ASSERT_EQUAL(hc(v, M, XENMEM_current_reservation, SCR, 0), (long)P - 4);
	/* Given back twice: counted once. */
	CU_ASSERT_EQUAL(reservation(v, XENMEM_decrease_reservation, give, 1, 0), 1);
	CU_ASSERT_EQUAL(d->released_pages, 4);

	/* Populate stops at the first frame that was not given back (Xen's partial count). */
	const xen_pfn_t want[] = { 0x600, 0x601, 0x700, 0x602 };
	CU_ASSERT_EQUAL(reservation(v, XENMEM_populate_physmap, want, 4, 0), 2);
	get(d, SCR2, out, sizeof(out));
	CU_ASSERT_EQUAL(out[0], 0x600);   /* mfn == pfn */
	CU_ASSERT_EQUAL(out[1], 0x601);
	CU_ASSERT_EQUAL(d->released_pages, 2);
	CU_ASSERT_EQUAL(hostmem__committed(), committed - 2 * 4096);
	CU_ASSERT_EQUAL(*(uint8_t *)G(d, 0x600000), 0);   /* a hole reads as zeroes */
	/* Beyond RAM, and a frame already back: nothing. */
	const xen_pfn_t beyond[] = { P, 0x600 };
	CU_ASSERT_EQUAL(reservation(v, XENMEM_populate_physmap, beyond, 1, 0), 0);
	CU_ASSERT_EQUAL(reservation(v, XENMEM_populate_physmap, beyond + 1, 1, 0), 0);
	CU_ASSERT_EQUAL(reservation(v, XENMEM_populate_physmap, want + 3, 1, 1), -ENOSYS);
	/* address_bits: 0x602 needs 23 bits of address. */
	struct xen_memory_reservation r = { .nr_extents = 1, .mem_flags = XENMEMF_address_bits(22), .domid = DOMID_SELF };
	r.extent_start.p = (xen_pfn_t *)(uintptr_t)SCR2;
	put(d, SCR2, want + 3, sizeof(xen_pfn_t));
	put(d, SCR, &r, sizeof(r));
	CU_ASSERT_EQUAL(hc(v, M, XENMEM_populate_physmap, SCR, 0), 0);
	/* increase_reservation picks what is left (0x602, 0x603), then has nothing more. */
	memset(out, 0xff, sizeof(out));
	CU_ASSERT_EQUAL(reservation(v, XENMEM_increase_reservation, out, 4, 0), 2);
	get(d, SCR2, out, sizeof(out));
	CU_ASSERT_EQUAL(out[0], 0x602);
	CU_ASSERT_EQUAL(out[1], 0x603);
	CU_ASSERT_EQUAL(d->released_pages, 0);
	CU_ASSERT_EQUAL(hostmem__committed(), committed);
	CU_ASSERT_EQUAL(reservation(v, XENMEM_increase_reservation, NULL, 1, 0), 0);

	/* Frames a guest starts without (<currentMemory>): released from boot, and they come back. */
	CU_ASSERT_EQUAL(balloon_boot_unpopulated(d, P - 16, 16), 0);
	CU_ASSERT_EQUAL(d->released_pages, 16);
	CU_ASSERT_EQUAL(balloon_boot_unpopulated(d, P - 16, 17), -EINVAL);
	const xen_pfn_t top[] = { P - 1 };
	CU_ASSERT_EQUAL(reservation(v, XENMEM_populate_physmap, top, 1, 0), 1);
	CU_ASSERT_EQUAL(d->released_pages, 15);
	/* Special pages can never be given: shared_info is one. */
	const xen_pfn_t shared[] = { d->shared_gpa / 4096 };
	CU_ASSERT_EQUAL(reservation(v, XENMEM_decrease_reservation, shared, 1, 0), 0);
	fx_destroy(d);
}

static void test_sched_shutdown(void)
{
	static const unsigned reasons[] = {
		SHUTDOWN_poweroff, SHUTDOWN_reboot, SHUTDOWN_suspend, SHUTDOWN_crash, SHUTDOWN_watchdog,
	};

	for (unsigned i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++) {
		struct domain *d = fx_domain("hc", NVCPUS, false);
		CU_ASSERT_PTR_NOT_NULL_FATAL(d);
		struct vcpu *v = d->vcpu[1];
		struct sched_shutdown s = { .reason = SHUTDOWN_soft_reset };

		put(d, SCR, &s, sizeof(s));
		CU_ASSERT_EQUAL(hc(v, __HYPERVISOR_sched_op, SCHEDOP_shutdown, SCR, 0), -EINVAL);
		s.reason = 1000;
		put(d, SCR, &s, sizeof(s));
		CU_ASSERT_EQUAL(hc(v, __HYPERVISOR_sched_op, SCHEDOP_shutdown, SCR, 0), -EINVAL);
		CU_ASSERT_FALSE(atomic_load(&d->shutdown));
		CU_ASSERT_EQUAL(hc(v, __HYPERVISOR_sched_op, SCHEDOP_remote_shutdown, SCR, 0), -EPERM);
		CU_ASSERT_FALSE(atomic_load(&d->shutdown));

		s.reason = reasons[i];
		put(d, SCR, &s, sizeof(s));
		CU_ASSERT_EQUAL(hc(v, __HYPERVISOR_sched_op, SCHEDOP_shutdown, SCR, 0), 0);
		CU_ASSERT_TRUE(atomic_load(&d->shutdown));
		CU_ASSERT_EQUAL(d->shutdown_reason, reasons[i]);
		CU_ASSERT_EQUAL(d->crashed, reasons[i] == SHUTDOWN_crash || reasons[i] == SHUTDOWN_watchdog);
		/* The first reason wins. */
		s.reason = reasons[i] == SHUTDOWN_reboot ? SHUTDOWN_poweroff : SHUTDOWN_reboot;
		put(d, SCR, &s, sizeof(s));
		CU_ASSERT_EQUAL(hc(v, __HYPERVISOR_sched_op, SCHEDOP_shutdown, SCR, 0), 0);
		CU_ASSERT_EQUAL(d->shutdown_reason, reasons[i]);
		fx_destroy(d);
	}
}

/* ---- blocking sched_ops: the calling thread plays the vCPU thread, a helper sends the event ---- */

struct waker {
	struct domain *d;
	evtchn_port_t port;
	unsigned delay_ms;
};

static void *waker_main(void *arg)
{
	struct waker *w = arg;
	struct timespec ts = { .tv_sec = 0, .tv_nsec = (long)w->delay_ms * 1000000L };

	nanosleep(&ts, NULL);
	evtchn_send(w->d, w->port);
	return NULL;
}

static uint64_t thread_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void drain_kicks(void)
{
	sigset_t set;
	struct timespec zero = { 0, 0 };

	sigemptyset(&set);
	sigaddset(&set, SIG_KICK);
	while (sigtimedwait(&set, NULL, &zero) > 0)
		;
}

static void test_sched_block_poll(void)
{
	struct domain *d = fx_domain("hc", NVCPUS, false);
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	struct vcpu *v = d->vcpu[0];
	struct vcpu_info *vi = &d->shared->vcpu_info[0];
	evtchn_port_t ipi, other;
	pthread_t th;
	uint64_t t0, c0;

	CU_ASSERT_EQUAL(hc(v, __HYPERVISOR_sched_op, SCHEDOP_yield, 0, 0), 0);
	CU_ASSERT_EQUAL_FATAL(evtchn_bind_ipi(d, 0, &ipi), 0);
	CU_ASSERT_EQUAL_FATAL(evtchn_bind_ipi(d, 0, &other), 0);
	v->tid = (pid_t)syscall(SYS_gettid);   /* kicks now reach this thread (SIG_KICK is blocked) */

	/* block with an upcall already pending returns at once and unmasks delivery. */
	vi->evtchn_upcall_pending = 1;
	vi->evtchn_upcall_mask = 1;
	CU_ASSERT_EQUAL(hc(v, __HYPERVISOR_sched_op, SCHEDOP_block, 0, 0), 0);
	CU_ASSERT_EQUAL(vi->evtchn_upcall_mask, 0);
	CU_ASSERT_EQUAL(v->runstate, RS_RUNNING);

	/* block with a far-future timer sleeps (no spinning) until an event arrives. */
	memset(d->shared->evtchn_pending, 0, sizeof(d->shared->evtchn_pending));
	vi->evtchn_pending_sel = 0;
	vi->evtchn_upcall_pending = 0;
	CU_ASSERT_EQUAL(hc(v, __HYPERVISOR_set_timer_op, UINT64_MAX - 5, 0, 0), 0);
	struct waker w = { d, ipi, 100 };
	t0 = now_ns();
	c0 = thread_cpu_ns();
	CU_ASSERT_EQUAL_FATAL(pthread_create(&th, NULL, waker_main, &w), 0);
	CU_ASSERT_EQUAL(hc(v, __HYPERVISOR_sched_op, SCHEDOP_block, 0, 0), 0);
	pthread_join(th, NULL);
	CU_ASSERT_TRUE(now_ns() - t0 >= 90000000ull);
	CU_ASSERT_TRUE(thread_cpu_ns() - c0 < 50000000ull);
	CU_ASSERT_EQUAL(vi->evtchn_upcall_pending, 1);
	CU_ASSERT_EQUAL(hc(v, __HYPERVISOR_set_timer_op, 0, 0, 0), 0);
	CU_ASSERT_EQUAL(atomic_load(&v->timer_deadline), 0);

	/* poll on a pending port returns at once. */
	evtchn_port_t ports[2] = { other, ipi };
	put(d, SCR2, ports, sizeof(ports));
	struct sched_poll p = { .nr_ports = 2, .timeout = 0 };
	p.ports.p = (evtchn_port_t *)(uintptr_t)SCR2;
	put(d, SCR, &p, sizeof(p));
	CU_ASSERT_EQUAL(hc(v, __HYPERVISOR_sched_op, SCHEDOP_poll, SCR, 0), 0);
	CU_ASSERT_FALSE(atomic_load(&v->polling));
	CU_ASSERT_EQUAL(atomic_load(&d->nr_polling), 0);

	/* poll with a timeout that passes. */
	memset(d->shared->evtchn_pending, 0, sizeof(d->shared->evtchn_pending));
	p.timeout = domain_system_time(d) + 30000000ull;
	put(d, SCR, &p, sizeof(p));
	t0 = now_ns();
	CU_ASSERT_EQUAL(hc(v, __HYPERVISOR_sched_op, SCHEDOP_poll, SCR, 0), 0);
	CU_ASSERT_TRUE(now_ns() - t0 >= 25000000ull);

	/* poll with a far-future timeout waits for the event (no wrap to "already expired"). */
	p.timeout = UINT64_MAX - 5;
	put(d, SCR, &p, sizeof(p));
	w.port = other;
	t0 = now_ns();
	CU_ASSERT_EQUAL_FATAL(pthread_create(&th, NULL, waker_main, &w), 0);
	CU_ASSERT_EQUAL(hc(v, __HYPERVISOR_sched_op, SCHEDOP_poll, SCR, 0), 0);
	CU_ASSERT_TRUE(now_ns() - t0 >= 90000000ull);
	pthread_join(th, NULL);
	CU_ASSERT_TRUE(evtchn_is_pending(d, other));

	/* Bad port lists. */
	p.nr_ports = 129;
	put(d, SCR, &p, sizeof(p));
	CU_ASSERT_EQUAL(hc(v, __HYPERVISOR_sched_op, SCHEDOP_poll, SCR, 0), -EINVAL);
	p.nr_ports = 0xffffffffu;
	put(d, SCR, &p, sizeof(p));
	CU_ASSERT_EQUAL(hc(v, __HYPERVISOR_sched_op, SCHEDOP_poll, SCR, 0), -EINVAL);
	p.nr_ports = 2;
	ports[0] = 0;
	put(d, SCR2, ports, sizeof(ports));
	put(d, SCR, &p, sizeof(p));
	CU_ASSERT_EQUAL(hc(v, __HYPERVISOR_sched_op, SCHEDOP_poll, SCR, 0), -EINVAL);
	ports[0] = EVTCHN_MAX_PORTS;
	put(d, SCR2, ports, sizeof(ports));
	CU_ASSERT_EQUAL(hc(v, __HYPERVISOR_sched_op, SCHEDOP_poll, SCR, 0), -EINVAL);
	CU_ASSERT_EQUAL(atomic_load(&d->nr_polling), 0);

	v->tid = 0;
	drain_kicks();
	fx_destroy(d);
}

static void test_vcpu_op(void)
{
	struct domain *d = fx_domain("hc", NVCPUS, false);
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	struct vcpu *v = d->vcpu[0];
	const uint64_t V = __HYPERVISOR_vcpu_op;
	static struct vcpu_guest_context ctx;

	CU_ASSERT_EQUAL(hc(v, V, VCPUOP_is_up, 0, 0), 1);
	CU_ASSERT_EQUAL(hc(v, V, VCPUOP_is_up, 1, 0), 0);
	CU_ASSERT_EQUAL(hc(v, V, VCPUOP_is_up, NVCPUS, 0), -ENOENT);
	CU_ASSERT_EQUAL(hc(v, V, VCPUOP_is_up, KXEN_PV_MAX_VCPUS, 0), -ENOENT);
	CU_ASSERT_EQUAL(hc(v, V, VCPUOP_is_up, UINT64_MAX, 0), -ENOENT);
	CU_ASSERT_EQUAL(hc(v, V, VCPUOP_is_up, 1ull << 32, 0), -ENOENT);
	CU_ASSERT_EQUAL(hc(v, V, VCPUOP_initialise, NVCPUS, SCR), -ENOENT);

	/* up before initialise. */
	CU_ASSERT_EQUAL(hc(v, V, VCPUOP_up, 1, 0), -EINVAL);
	CU_ASSERT_FALSE(atomic_load(&d->vcpu[1]->online));
	CU_ASSERT_FALSE(d->vcpu[1]->thread_started);

	memset(&ctx, 0, sizeof(ctx));
	ctx.user_regs.rip = 0x101000;
	ctx.user_regs.rsp = 0x480000;
	ctx.user_regs.rdi = 7;
	ctx.user_regs.rsi = 0x123000;
	ctx.event_callback_eip = 0x102000;
	ctx.failsafe_callback_eip = 0x103000;
	put(d, SCR, &ctx, sizeof(ctx));
	CU_ASSERT_EQUAL(hc(v, V, VCPUOP_initialise, 1, SCR), 0);
	CU_ASSERT_TRUE(d->vcpu[1]->initialised);
	CU_ASSERT_TRUE(d->vcpu[1]->boot_pending);
	CU_ASSERT_EQUAL(d->vcpu[1]->boot.rip, 0x101000);
	CU_ASSERT_EQUAL(d->vcpu[1]->boot.rsp, 0x480000);
	CU_ASSERT_EQUAL(d->vcpu[1]->boot.rdi, 7);
	CU_ASSERT_EQUAL(d->vcpu[1]->boot.rsi, 0x123000);
	CU_ASSERT_EQUAL(d->vcpu[1]->event_callback, 0x102000);
	CU_ASSERT_EQUAL(d->vcpu[1]->failsafe_callback, 0x103000);
	CU_ASSERT_EQUAL(hc(v, V, VCPUOP_initialise, 1, SCR), -EEXIST);
	CU_ASSERT_EQUAL(hc(v, V, VCPUOP_initialise, 0, SCR), -EEXIST);   /* vCPU 0 was booted */
	/* VCPUOP_up of an initialised vCPU starts a KVM thread: not exercised here. */

	/* down / is_up. */
	atomic_store(&d->vcpu[2]->online, true);
	CU_ASSERT_EQUAL(hc(v, V, VCPUOP_is_up, 2, 0), 1);
	CU_ASSERT_EQUAL(hc(v, V, VCPUOP_down, 2, 0), 0);
	CU_ASSERT_EQUAL(hc(v, V, VCPUOP_is_up, 2, 0), 0);

	/* get_runstate_info writes a struct. */
	struct vcpu_runstate_info ri;
	memset(G(d, SCR), 0xff, sizeof(ri));
	uint64_t before = domain_system_time(d);
	CU_ASSERT_EQUAL(hc(v, V, VCPUOP_get_runstate_info, 0, SCR), 0);
	get(d, SCR, &ri, sizeof(ri));
	CU_ASSERT_EQUAL(ri.state, RUNSTATE_running);
	CU_ASSERT_TRUE(ri.state_entry_time <= before + 1000000000ull);
	CU_ASSERT_TRUE(ri.time[RUNSTATE_running] <= domain_system_time(d));
	CU_ASSERT_EQUAL(ri.time[RUNSTATE_blocked], 0);
	CU_ASSERT_EQUAL(hc(v, V, VCPUOP_get_runstate_info, 3, SCR), 0);
	get(d, SCR, &ri, sizeof(ri));
	CU_ASSERT_EQUAL(ri.state, RUNSTATE_offline);
	CU_ASSERT_EQUAL(ri.time[RUNSTATE_running], 0);

	/* Single-shot timers: the caller's own only. */
	struct vcpu_set_singleshot_timer st = { .timeout_abs_ns = 1, .flags = VCPU_SSHOTTMR_future };
	put(d, SCR, &st, sizeof(st));
	CU_ASSERT_EQUAL(hc(v, V, VCPUOP_set_singleshot_timer, 1, SCR), -EINVAL);
	CU_ASSERT_EQUAL(hc(v, V, VCPUOP_set_singleshot_timer, 0, SCR), -ETIME);
	st.timeout_abs_ns = domain_system_time(d) + 1000000000ull;
	put(d, SCR, &st, sizeof(st));
	CU_ASSERT_EQUAL(hc(v, V, VCPUOP_set_singleshot_timer, 0, SCR), 0);
	CU_ASSERT_EQUAL(atomic_load(&v->timer_deadline), st.timeout_abs_ns);
	CU_ASSERT_EQUAL(hc(v, V, VCPUOP_stop_singleshot_timer, 1, 0), -EINVAL);
	CU_ASSERT_EQUAL(hc(v, V, VCPUOP_stop_singleshot_timer, 0, 0), 0);
	CU_ASSERT_EQUAL(atomic_load(&v->timer_deadline), 0);

	/* Periodic timers: Xen's bounds; a late check makes one tick and moves the next past now. */
	struct vcpu_set_periodic_timer pt = { .period_ns = 999999 };
	put(d, SCR, &pt, sizeof(pt));
	CU_ASSERT_EQUAL(hc(v, V, VCPUOP_set_periodic_timer, 0, SCR), -EINVAL);
	pt.period_ns = 1000000;
	put(d, SCR, &pt, sizeof(pt));
	uint64_t t0 = domain_system_time(d);
	CU_ASSERT_EQUAL(hc(v, V, VCPUOP_set_periodic_timer, 1, SCR), 0);   /* another vCPU's, as Xen allows */
	CU_ASSERT_EQUAL(atomic_load(&d->vcpu[1]->periodic_ns), 1000000);
	CU_ASSERT_EQUAL(hc(v, V, VCPUOP_stop_periodic_timer, 1, 0), 0);
	CU_ASSERT_EQUAL(atomic_load(&d->vcpu[1]->periodic_ns), 0);
	CU_ASSERT_EQUAL(hc(v, V, VCPUOP_set_periodic_timer, 0, SCR), 0);
	uint64_t next = atomic_load(&v->periodic_next);
	CU_ASSERT_TRUE(next >= t0 + 1000000 && next <= domain_system_time(d) + 1000000);
	CU_ASSERT_EQUAL(vcpu_timer_mono(v), d->created_mono_ns + next);
	struct timespec nap = { .tv_nsec = 3500000 };
	nanosleep(&nap, NULL);
	uint64_t checked = domain_system_time(d);
	vcpu_timer_check(v);
	uint64_t after = atomic_load(&v->periodic_next);
	CU_ASSERT_TRUE(after > checked && after <= domain_system_time(d) + 1000000);
	CU_ASSERT_EQUAL((after - next) % 1000000, 0);
	CU_ASSERT_EQUAL(atomic_load(&v->timer_deadline), 0);
	CU_ASSERT_EQUAL(hc(v, V, VCPUOP_stop_periodic_timer, 0, 0), 0);
	CU_ASSERT_EQUAL(vcpu_timer_mono(v), 0);
	CU_ASSERT_EQUAL(hc(v, V, 0x4444, 0, SCR), -ENOSYS);
	fx_destroy(d);
}

/* The runstate area: written at registration and at every state change, with Xen's update flag protocol. */
static void test_runstate_area(void)
{
	struct domain *d = fx_domain("hc", NVCPUS, false);
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	struct vcpu *v = d->vcpu[0];
	const uint64_t V = __HYPERVISOR_vcpu_op;
	struct vcpu_register_runstate_memory_area r;
	struct vcpu_runstate_info ri;

	/* Refused: a misaligned area, one past RAM or in the builder's pages, a bad argument pointer. */
	for (size_t i = 0; i < NR_BAD; i++)
		CU_ASSERT_EQUAL(hc(v, V, VCPUOP_register_runstate_memory_area, 0, bad_ptrs[i]), -EFAULT);
	r.addr.p = SCR2 + 4;
	put(d, SCR, &r, sizeof(r));
	CU_ASSERT_EQUAL(hc(v, V, VCPUOP_register_runstate_memory_area, 0, SCR), -EINVAL);
	r.addr.p = MEM_SIZE - 8;
	put(d, SCR, &r, sizeof(r));
	CU_ASSERT_EQUAL(hc(v, V, VCPUOP_register_runstate_memory_area, 0, SCR), -EFAULT);
	r.addr.p = KXEN_PV_RESERVED_START;
	put(d, SCR, &r, sizeof(r));
	CU_ASSERT_EQUAL(hc(v, V, VCPUOP_register_runstate_memory_area, 0, SCR), -EFAULT);
	CU_ASSERT_EQUAL(hc(v, V, VCPUOP_register_runstate_memory_area, NVCPUS, SCR), -ENOENT);
	CU_ASSERT_PTR_NULL(v->rs_area);

	/* Registered for vCPU 0 (running) and, by vCPU 0, for vCPU 1 (offline), as Linux does for its CPUs. */
	memset(G(d, SCR2), 0xff, 2 * sizeof(ri));
	r.addr.p = SCR2;
	put(d, SCR, &r, sizeof(r));
	CU_ASSERT_EQUAL(hc(v, V, VCPUOP_register_runstate_memory_area, 0, SCR), 0);
	r.addr.p = SCR2 + sizeof(ri);
	put(d, SCR, &r, sizeof(r));
	CU_ASSERT_EQUAL(hc(v, V, VCPUOP_register_runstate_memory_area, 1, SCR), 0);
	get(d, SCR2, &ri, sizeof(ri));
	CU_ASSERT_EQUAL(ri.state, RUNSTATE_running);
	CU_ASSERT_EQUAL(ri.state_entry_time, v->rs_entry - d->created_mono_ns);
	CU_ASSERT_EQUAL(ri.time[RUNSTATE_blocked], 0);
	get(d, SCR2 + sizeof(ri), &ri, sizeof(ri));
	CU_ASSERT_EQUAL(ri.state, RUNSTATE_offline);

	/* A block, then running again: the area follows each change, the flag cleared, the times adding up. */
	uint64_t t0 = domain_system_time(d), since = v->rs_entry - d->created_mono_ns;
	vcpu_set_runstate(v, RS_BLOCKED);
	get(d, SCR2, &ri, sizeof(ri));
	CU_ASSERT_EQUAL(ri.state, RUNSTATE_blocked);
	CU_ASSERT_FALSE(ri.state_entry_time & XEN_RUNSTATE_UPDATE);
	CU_ASSERT_TRUE(ri.state_entry_time >= t0);
	CU_ASSERT_EQUAL(ri.time[RUNSTATE_running], ri.state_entry_time - since);   /* running since it was made */
	struct timespec ms = { 0, 2000000 };
	nanosleep(&ms, NULL);
	vcpu_set_runstate(v, RS_RUNNABLE);
	vcpu_set_runstate(v, RS_RUNNING);
	get(d, SCR2, &ri, sizeof(ri));
	CU_ASSERT_EQUAL(ri.state, RUNSTATE_running);
	CU_ASSERT_TRUE(ri.time[RUNSTATE_blocked] >= 2000000);
	CU_ASSERT_EQUAL(ri.time[0] + ri.time[1] + ri.time[2] + ri.time[3], ri.state_entry_time - since);

	/* Address 0 unregisters: the area is left as it was. */
	r.addr.p = 0;
	put(d, SCR, &r, sizeof(r));
	CU_ASSERT_EQUAL(hc(v, V, VCPUOP_register_runstate_memory_area, 0, SCR), 0);
	CU_ASSERT_PTR_NULL(v->rs_area);
	vcpu_set_runstate(v, RS_BLOCKED);
	get(d, SCR2, &ri, sizeof(ri));
	CU_ASSERT_EQUAL(ri.state, RUNSTATE_running);
	fx_destroy(d);
}

static void test_callback_op(void)
{
	struct domain *d = fx_domain("hc", NVCPUS, false);
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	struct vcpu *v = d->vcpu[1];
	const uint64_t C = __HYPERVISOR_callback_op;
	struct callback_register r = { .type = CALLBACKTYPE_event, .address = 0x105000 };
	struct callback_unregister u = { .type = CALLBACKTYPE_event };

	put(d, SCR, &r, sizeof(r));
	CU_ASSERT_EQUAL(hc(v, C, CALLBACKOP_register, SCR, 0), 0);
	CU_ASSERT_EQUAL(v->event_callback, 0x105000);
	CU_ASSERT_EQUAL(d->vcpu[0]->event_callback, 0);
	r = (struct callback_register){ .type = CALLBACKTYPE_failsafe, .address = 0x106000 };
	put(d, SCR, &r, sizeof(r));
	CU_ASSERT_EQUAL(hc(v, C, CALLBACKOP_register, SCR, 0), 0);
	CU_ASSERT_EQUAL(v->failsafe_callback, 0x106000);
	r = (struct callback_register){ .type = CALLBACKTYPE_syscall, .address = 0x107000 };
	put(d, SCR, &r, sizeof(r));
	CU_ASSERT_EQUAL(hc(v, C, CALLBACKOP_register, SCR, 0), 0);
	CU_ASSERT_EQUAL(v->syscall_callback, 0x107000);
	static const uint16_t bad[] = { CALLBACKTYPE_nmi, CALLBACKTYPE_sysenter, 99, 0xffff };
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		r = (struct callback_register){ .type = bad[i], .address = 0x108000 };
		put(d, SCR, &r, sizeof(r));
		CU_ASSERT_EQUAL(hc(v, C, CALLBACKOP_register, SCR, 0), -EINVAL);
		u.type = bad[i];
		put(d, SCR, &u, sizeof(u));
		CU_ASSERT_EQUAL(hc(v, C, CALLBACKOP_unregister, SCR, 0), -EINVAL);
	}
	CU_ASSERT_EQUAL(v->event_callback, 0x105000);
	u.type = CALLBACKTYPE_event;
	put(d, SCR, &u, sizeof(u));
	CU_ASSERT_EQUAL(hc(v, C, CALLBACKOP_unregister, SCR, 0), 0);
	CU_ASSERT_EQUAL(v->event_callback, 0);
	CU_ASSERT_EQUAL(v->failsafe_callback, 0x106000);

	/* set_callbacks(event, failsafe, syscall) and set_timer_op. */
	CU_ASSERT_EQUAL(hc(v, __HYPERVISOR_set_callbacks, 0x111000, 0x112000, 0x113000), 0);
	CU_ASSERT_EQUAL(v->event_callback, 0x111000);
	CU_ASSERT_EQUAL(v->failsafe_callback, 0x112000);
	CU_ASSERT_EQUAL(v->syscall_callback, 0x113000);
	CU_ASSERT_EQUAL(hc(v, __HYPERVISOR_set_timer_op, 123456789, 0, 0), 0);
	CU_ASSERT_EQUAL(atomic_load(&v->timer_deadline), 123456789);
	CU_ASSERT_EQUAL(hc(v, __HYPERVISOR_set_timer_op, 0, 0, 0), 0);
	CU_ASSERT_EQUAL(atomic_load(&v->timer_deadline), 0);
	fx_destroy(d);
}

static void mc_set(multicall_entry_t *e, uint64_t op, uint64_t a0, uint64_t a1, uint64_t a2)
{
	memset(e, 0, sizeof(*e));
	e->op = op;
	e->result = 0xdeadbeef;
	e->args[0] = a0;
	e->args[1] = a1;
	e->args[2] = a2;
}

static void test_multicall(void)
{
	struct domain *d = fx_domain("hc", NVCPUS, false);
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	struct vcpu *v = d->vcpu[0];
	const uint64_t MC = __HYPERVISOR_multicall;
	static multicall_entry_t e[600];
	domid_t self = DOMID_SELF;

	put(d, SCR2, &self, sizeof(self));
	mc_set(&e[0], __HYPERVISOR_xen_version, XENVER_version, 0, 0);
	mc_set(&e[1], __HYPERVISOR_xen_version, XENVER_pagesize, 0, 0);
	mc_set(&e[2], __HYPERVISOR_console_io, CONSOLEIO_read, 1, SCR2);
	mc_set(&e[3], 99, 0, 0, 0);
	mc_set(&e[4], MC, SCR, 1, 0);                       /* nested */
	mc_set(&e[5], __HYPERVISOR_memory_op, XENMEM_current_reservation, SCR2, 0);
	mc_set(&e[6], __HYPERVISOR_memory_op, XENMEM_current_reservation, 0, 0);
	mc_set(&e[7], __HYPERVISOR_set_timer_op, 777, 0, 0);
	put(d, SCR, e, 8 * sizeof(e[0]));
	CU_ASSERT_EQUAL(hc(v, MC, SCR, 8, 0), 0);
	get(d, SCR, e, 8 * sizeof(e[0]));
	CU_ASSERT_EQUAL(e[0].result, 0x40011);
	CU_ASSERT_EQUAL(e[1].result, 4096);
	CU_ASSERT_EQUAL((long)e[2].result, -EPERM);
	CU_ASSERT_EQUAL((long)e[3].result, -ENOSYS);
	CU_ASSERT_EQUAL((long)e[4].result, -EINVAL);
	CU_ASSERT_EQUAL(e[5].result, 2048);
	CU_ASSERT_EQUAL((long)e[6].result, -EFAULT);
	CU_ASSERT_EQUAL(e[7].result, 0);
	CU_ASSERT_EQUAL(atomic_load(&v->timer_deadline), 777);
	CU_ASSERT_EQUAL(e[0].op, __HYPERVISOR_xen_version);   /* only results are written */
	CU_ASSERT_EQUAL(e[4].args[0], SCR);
	CU_ASSERT_EQUAL(v->hc_depth, 0);

	/* Limits. */
	CU_ASSERT_EQUAL(hc(v, MC, SCR, 0, 0), 0);
	CU_ASSERT_EQUAL(hc(v, MC, 0, 0, 0), 0);
	CU_ASSERT_EQUAL(hc(v, MC, SCR, 513, 0), -E2BIG);
	CU_ASSERT_EQUAL(hc(v, MC, SCR, UINT64_MAX, 0), -E2BIG);
	for (unsigned i = 0; i < 512; i++)
		mc_set(&e[i], __HYPERVISOR_xen_version, XENVER_version, 0, 0);
	put(d, SCR, e, 512 * sizeof(e[0]));
	CU_ASSERT_EQUAL(hc(v, MC, SCR, 512, 0), 0);
	get(d, SCR, e, 512 * sizeof(e[0]));
	unsigned ok = 0;
	for (unsigned i = 0; i < 512; i++)
		ok += e[i].result == 0x40011;
	CU_ASSERT_EQUAL(ok, 512);

	/* A shutdown in the batch stops it there. */
	struct sched_shutdown s = { .reason = SHUTDOWN_poweroff };
	put(d, SCR2, &s, sizeof(s));
	mc_set(&e[0], __HYPERVISOR_xen_version, XENVER_version, 0, 0);
	mc_set(&e[1], __HYPERVISOR_sched_op, SCHEDOP_shutdown, SCR2, 0);
	mc_set(&e[2], __HYPERVISOR_xen_version, XENVER_version, 0, 0);
	put(d, SCR, e, 3 * sizeof(e[0]));
	CU_ASSERT_EQUAL(hc(v, MC, SCR, 3, 0), 0);
	get(d, SCR, e, 3 * sizeof(e[0]));
	CU_ASSERT_EQUAL(e[0].result, 0x40011);
	CU_ASSERT_EQUAL(e[1].result, 0);
	CU_ASSERT_EQUAL(e[2].result, 0xdeadbeef);
	CU_ASSERT_TRUE(atomic_load(&d->shutdown));
	CU_ASSERT_EQUAL(v->hc_depth, 0);
	fx_destroy(d);
}

/* ---- fuzz ---- */

#define FZ_SCR     0x600000ull     /* random argument memory the pointers aim at */
#define FZ_SCR_LEN 0x40000ull
#define FZ_LIST    0x700000ull     /* multicall lists the fuzzer builds */
#define FZ_CALLS   200000

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545f4914f6cdd1dull;
}

static const uint64_t fz_nrs[] = {
	__HYPERVISOR_set_callbacks, __HYPERVISOR_set_timer_op, __HYPERVISOR_memory_op,
	__HYPERVISOR_multicall, __HYPERVISOR_xen_version, __HYPERVISOR_console_io,
	__HYPERVISOR_vcpu_op, __HYPERVISOR_sched_op, __HYPERVISOR_event_channel_op,
	__HYPERVISOR_callback_op,
};

static uint32_t fz_special[6];

static uint64_t fz_ptr(void)
{
	switch (rnd() % 10) {
	case 0: case 1: case 2: case 3: case 4:
		return FZ_SCR + (rnd() % FZ_SCR_LEN & ~7ull);
	case 5:
		return FZ_SCR + rnd() % FZ_SCR_LEN;
	case 6:
		return bad_ptrs[rnd() % NR_BAD];
	case 7:
		return FZ_SCR + FZ_SCR_LEN - rnd() % 64;   /* near the end of the scratch */
	case 8:
		return rnd() % 64;
	default:
		return rnd();
	}
}

/* Calls that legitimately block or change the domain's fate are not fuzzed. */
static bool fz_unsafe(uint64_t nr, uint64_t a0)
{
	if (nr == __HYPERVISOR_sched_op)
		return a0 == SCHEDOP_block || a0 == SCHEDOP_poll || a0 == SCHEDOP_shutdown;
	if (nr == __HYPERVISOR_vcpu_op)
		return a0 == VCPUOP_up;   /* would start a KVM vCPU thread */
	return false;
}

static void fz_call(uint64_t *nr, uint64_t a[5])
{
	do {
		uint64_t r = rnd() % 10;
		*nr = r < 8 ? fz_nrs[rnd() % (sizeof(fz_nrs) / sizeof(fz_nrs[0]))] :
		      r == 8 ? rnd() % 64 : rnd();
		a[0] = rnd() % 8 ? rnd() % 16 : rnd();
	} while (fz_unsafe(*nr, a[0]));
	for (int i = 1; i < 5; i++)
		a[i] = rnd() % 3 ? fz_ptr() : rnd() % 5 ? rnd() % 40 : rnd();
	if (*nr == __HYPERVISOR_console_io)
		a[1] = rnd() % 4 ? rnd() % 300 : rnd();
	if (*nr == __HYPERVISOR_vcpu_op && rnd() % 4)
		a[1] = rnd() % (NVCPUS + 1);
	if (*nr == __HYPERVISOR_multicall)
		a[1] = rnd() % 4 ? rnd() % 8 : rnd() % 600;
}

/* Argument memory: small numbers, ids that mean something, and noise. */
static void fz_fill(struct domain *d)
{
	uint32_t *w = G(d, FZ_SCR);

	for (uint64_t i = 0; i < FZ_SCR_LEN / 4; i++) {
		uint64_t r = rnd() % 16;
		w[i] = r < 8 ? (uint32_t)(rnd() % 16) :
		       r < 11 ? fz_special[rnd() % 6] : (uint32_t)rnd();
	}
}

static bool fz_rc_ok(long rc)
{
	switch (rc) {
	case -ENOSYS: case -EFAULT: case -EINVAL: case -EPERM: case -ENOENT: case -EEXIST:
	case -ENOSPC: case -ESRCH: case -E2BIG: case -ETIME: case -ENOMEM:
		return true;
	default:
		return rc >= 0;
	}
}

static void test_fuzz(void)
{
	struct domain *d = fx_domain("hc", NVCPUS, false), *peer = fx_domain("hc", 1, false);
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	CU_ASSERT_PTR_NOT_NULL_FATAL(peer);
	unsigned bad_rc = 0, depth = 0, counts[3] = { 0 };
	evtchn_port_t p;

	fz_special[0] = DOMID_SELF;
	fz_special[1] = d->domid;
	fz_special[2] = peer->domid;
	fz_special[3] = 0;
	fz_special[4] = VIRQ_TIMER;
	fz_special[5] = EVTCHN_MAX_PORTS - 1;
	for (unsigned i = 0; i < 16; i++)
		evtchn_alloc_unbound(peer, (domid_t)d->domid, &p);

	alarm(600);   /* a hang is a failure, not a stuck build */
	for (unsigned n = 0; n < FZ_CALLS; n++) {
		uint64_t nr, a[5];

		if (n % 2000 == 0) {
			fz_fill(d);
			evtchn_reset(d);
		}
		/* State no fuzzed call may leave behind: booted secondaries, offline vCPU 0. */
		for (unsigned i = 0; i < NVCPUS; i++) {
			d->vcpu[i]->initialised = i == 0;
			atomic_store(&d->vcpu[i]->online, i == 0);
		}
		fz_call(&nr, a);
		if (nr == __HYPERVISOR_multicall && rnd() % 2) {
			/* A list of well-formed entries, each as random as a top-level call. */
			uint64_t k = a[1] > 512 ? a[1] : a[1] % 64;
			multicall_entry_t *e = G(d, FZ_LIST);
			for (uint64_t i = 0; i < k && i < 600; i++) {
				uint64_t enr, ea[5];
				fz_call(&enr, ea);
				if (rnd() % 16 == 0)
					enr = __HYPERVISOR_multicall;
				memset(&e[i], 0, sizeof(e[i]));
				e[i].op = enr;
				memcpy(e[i].args, ea, sizeof(ea));
			}
			a[0] = FZ_LIST;
			a[1] = k;
		}
		struct vcpu *v = d->vcpu[rnd() % NVCPUS];
		long rc = hypercall_dispatch(v, nr, a);
		counts[rc >= 0 ? 0 : rc == -EFAULT ? 1 : 2]++;
		if (!fz_rc_ok(rc) && bad_rc++ < 5)
			fprintf(stderr, "\nfuzz %u: hypercall %llu(%#llx, %#llx) = %ld\n", n,
			        (unsigned long long)nr, (unsigned long long)a[0],
			        (unsigned long long)a[1], rc);
		if (v->hc_depth != 0)
			depth++;
		v->hc_depth = 0;
		if (atomic_load(&d->shutdown) || atomic_load(&d->vcpu[1]->online) ||
		    d->vcpu[1]->thread_started) {
			CU_FAIL("fuzzed call changed the domain's fate");
			break;
		}
	}
	alarm(0);
	CU_ASSERT_EQUAL(bad_rc, 0);
	CU_ASSERT_EQUAL(depth, 0);
	CU_ASSERT_TRUE(counts[0] > 1000 && counts[1] > 1000 && counts[2] > 1000);
	fprintf(stderr, "[%u ok, %u -EFAULT, %u other errors] ", counts[0], counts[1], counts[2]);
	fx_destroy(d);
	fx_destroy(peer);
}

/* A guest's refused balloon frames: Xen's printk_ratelimit per domain, every refusal accounted for. */
static void test_log_limit(void)
{
	struct domain *d = fx_domain("hc", NVCPUS, false);
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	struct xen_memory_reservation res = { .nr_extents = 1, .domid = DOMID_SELF };
	const uint64_t frame = 0;   /* the builder's page: never releasable */
	char want[128];
	unsigned lines = 0;

	put(d, SCR2, &frame, sizeof(frame));
	set_xen_guest_handle(res.extent_start, (xen_pfn_t *)(uintptr_t)SCR2);
	put(d, SCR, &res, sizeof(res));
	log_skip();
	for (unsigned i = 0; i < 50; i++)
		CU_ASSERT_EQUAL(hc(d->vcpu[0], __HYPERVISOR_memory_op, XENMEM_decrease_reservation, SCR, 0), 0);
	for (const char *p = log_new(); (p = strstr(p, "decrease_reservation of frame 0 refused")); p++)
		lines++;
	CU_ASSERT_EQUAL(lines, HVLOG_LIMIT_BURST);
	CU_ASSERT_EQUAL(d->log_limit.suppressed, 50 - HVLOG_LIMIT_BURST);
	/* Another domain's budget is its own. */
	struct domain *e = fx_domain("hc2", 1, false);
	CU_ASSERT_PTR_NOT_NULL_FATAL(e);
	put(e, SCR2, &frame, sizeof(frame));
	put(e, SCR, &res, sizeof(res));
	CU_ASSERT_EQUAL(hc(e->vcpu[0], __HYPERVISOR_memory_op, XENMEM_decrease_reservation, SCR, 0), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(log_new(), "refused"));
	/* A refill's worth of time later, the count comes first, then the line. */
	d->log_limit.last_ns -= HVLOG_LIMIT_MS * 1000000ull;
	CU_ASSERT_EQUAL(hc(d->vcpu[0], __HYPERVISOR_memory_op, XENMEM_decrease_reservation, SCR, 0), 0);
	snprintf(want, sizeof(want), "(XEN) d%u: %u messages suppressed\n(XEN) d%u: decrease_reservation", d->domid,
	         50 - HVLOG_LIMIT_BURST, d->domid);
	CU_ASSERT_EQUAL(strncmp(log_new(), want, strlen(want)), 0);
	CU_ASSERT_EQUAL(hc(d->vcpu[0], __HYPERVISOR_memory_op, XENMEM_decrease_reservation, SCR, 0), 0);
	hvlog_limit_flush(&d->log_limit, d->domid);
	snprintf(want, sizeof(want), "(XEN) d%u: 1 messages suppressed\n", d->domid);
	CU_ASSERT_STRING_EQUAL(log_new(), want);
	fx_destroy(e);
	fx_destroy(d);
}

int main(void)
{
	static const struct cunit_test tests[] = {
		{ "unknown hypercalls and sub-ops", test_unknown },
		{ "bad guest pointers", test_bad_pointers },
		{ "xen_version", test_xen_version },
		{ "console_io", test_console_io },
		{ "event_channel_op", test_evtchn_op },
		{ "memory_op", test_memory_op },
		{ "log rate limit", test_log_limit },
		{ "balloon down and up", test_balloon },
		{ "sched_op shutdown", test_sched_shutdown },
		{ "sched_op block and poll", test_sched_block_poll },
		{ "vcpu_op", test_vcpu_op },
		{ "vcpu_op runstate area", test_runstate_area },
		{ "callback_op, set_callbacks, set_timer_op", test_callback_op },
		{ "multicall", test_multicall },
		{ "fuzz", test_fuzz },
	};

	return fx_run_suite("hypercall", tests, CUNIT_COUNT(tests));
}
