/* libFuzzer harness: kxen-hv's hypercall dispatch (hypervisor/hypercall.c and hc_*.c) on fake domains, guest registers and guest memory from the input. */
#define _GNU_SOURCE
#include <config.h>
#include <signal.h>
#include <stdint.h>

#include "fuzz_common.h"
#include "hv_fixture.h"
#include "fuzz_hv.h"
#include <xen/event_channel.h>
#include <xen/sched.h>
#include <xen/vcpu.h>

/*
 * The input is a script: poke (guest memory in a scratch window, or one of
 * the input's domids there), call (a vCPU, a hypercall number and five
 * registers, each register chosen by a selector byte) or turn the domain
 * into a Linux PV one (pointers then go through page tables in the window). Every input gets two fresh domains, the fuzzed one and
 * a peer for interdomain operations, so inputs do not depend on each other.
 *
 * "No access outside the domain's memory" is enforced by the MMU: the
 * fuzzed domain's RAM is remapped between PROT_NONE guard pages, and the
 * peer's RAM is PROT_NONE except its shared_info page (which event sends to
 * it legitimately write), so any read or write that strays faults.
 */

#define NVCPUS     4
#define SCR        0x600000ull     /* the window the input writes and pointers aim at */
#define SCR_LEN    0x10000ull
#define PAGE       4096ull

/* Pointers no handler may follow: NULL, the builder's pages, the end of RAM, wraps. */
static const uint64_t bad_ptrs[] = {
	0, 8, 0xff8, KXEN_PV_RESERVED_START, KXEN_PV_GDT, KXEN_PV_RING0_STACKS,
	KXEN_PV_RESERVED_END - 8, KXEN_PV_RESERVED_END - 1, SHARED_GPA,
	MEM_SIZE - 1, MEM_SIZE - 8, MEM_SIZE, MEM_SIZE + 4096, 1ull << 40, 0x8000000000000000ull,
	UINT64_MAX - 7, UINT64_MAX,
};
#define NR_BAD (sizeof(bad_ptrs) / sizeof(bad_ptrs[0]))

static const uint64_t nrs[] = {
	__HYPERVISOR_set_callbacks, __HYPERVISOR_set_timer_op, __HYPERVISOR_memory_op,
	__HYPERVISOR_multicall, __HYPERVISOR_xen_version, __HYPERVISOR_console_io,
	__HYPERVISOR_vcpu_op, __HYPERVISOR_sched_op, __HYPERVISOR_event_channel_op,
	__HYPERVISOR_callback_op, __HYPERVISOR_grant_table_op,
};
#define NR_NRS (sizeof(nrs) / sizeof(nrs[0]))

/* The guest's cr3 while the script runs it as a Linux PV domain. */
static uint64_t pv_cr3;

/* Values that mean something to the dispatcher: the domids are new each input, so the script names them. */
static uint32_t special(const struct domain *d, const struct domain *peer, unsigned i)
{
	const uint32_t v[] = { DOMID_SELF, d->domid, peer->domid, 0, VIRQ_TIMER, EVTCHN_MAX_PORTS - 1 };

	return v[i % 6];
}

static uint64_t reg(struct fz *f, struct domain *d, struct domain *peer)
{
	uint8_t s = fz_u8(f);

	switch (s % 8) {
	case 0: return s >> 3;
	case 1: return SCR + (fz_u16(f) % SCR_LEN & ~7ull);
	case 2: return SCR + fz_u16(f) % SCR_LEN;
	case 3: return bad_ptrs[(s >> 3) % NR_BAD];
	case 4: return special(d, peer, s >> 3);
	case 5: return fz_u64(f);
	case 6: return fz_u8(f);
	default: return SCR + SCR_LEN - (s >> 3);   /* straddling the window's end */
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fz_hv_init(-1);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = { data, size };
	struct domain *d = fx_domain("fz", NVCPUS, false), *peer = fx_domain("fzp", 1, false);
	uint8_t *guarded;

	FZ_CHECK(d && peer, "fake domains");
	guarded = fz_guard(d);
	/* The toolstack's availability mask: VCPUOP_up (a KVM vCPU thread) is refused, never started. */
	atomic_store(&d->vcpu_unavail, ~0ull);
	fz_peer_setup(peer, d);

	for (unsigned ops = 0; f.n && ops < 64; ops++) {
		uint8_t op = fz_u8(&f);

		if (op % 8 == 0) {
			fz_guest_store(&f, d->mem.base + SCR, SCR_LEN);   /* physical, as the guest's own stores */
			continue;
		}
		if (op % 8 == 1) {
			/* A domid field in an argument structure. */
			uint64_t off = fz_u16(&f) % (SCR_LEN - 1);
			uint16_t id = (uint16_t)special(d, peer, fz_u8(&f));

			memcpy(d->mem.base + SCR + off, &id, sizeof(id));
			continue;
		}
		if (op == 0xff) {
			/*
			 * From here on a Linux PV domain: every guest pointer is
			 * virtual, walked from an L4 in the window whose tables the
			 * input writes (pvl_gmem_ptr), as a direct-paging guest's are.
			 */
			pv_cr3 = SCR + (fz_u8(&f) % (SCR_LEN / PAGE)) * PAGE;
			d->mem.pv_l4 = &pv_cr3;
			continue;
		}
		struct vcpu *v = d->vcpu[(op >> 3) % NVCPUS];
		uint8_t n = fz_u8(&f);
		uint64_t nr = n < 0xf0 ? nrs[n % NR_NRS] : n == 0xff ? fz_u64(&f) : n - 0xf0u + 36;
		uint64_t a[5];

		for (unsigned i = 0; i < 5; i++)
			a[i] = reg(&f, d, peer);
		if (fz_blocks(nr, a[0]) || (nr == __HYPERVISOR_multicall && fz_list_blocks(d, a[0], a[1])))
			continue;
		/* A pending upcall makes any SCHEDOP_block a multicall list grows into return at once. */
		for (unsigned i = 0; i < NVCPUS; i++)
			d->shared->vcpu_info[i].evtchn_upcall_pending = 1;
		long rc = hypercall_dispatch(v, nr, a);

		FZ_CHECK(fz_rc_ok(rc), "hypercall %llu(%#llx, %#llx, %#llx) = %ld", (unsigned long long)nr,
			 (unsigned long long)a[0], (unsigned long long)a[1], (unsigned long long)a[2], rc);
		FZ_CHECK(v->hc_depth == 0, "hc_depth %d after hypercall %llu", v->hc_depth, (unsigned long long)nr);
		for (unsigned i = 1; i < NVCPUS; i++)
			FZ_CHECK(!d->vcpu[i]->thread_started, "vCPU %u started", i);
		fz_check_ports(d, peer);
	}
	d->mem.pv_l4 = NULL;
	mprotect(peer->mem.base, MEM_SIZE, PROT_READ | PROT_WRITE);
	FZ_CHECK(domain_destroy(d->domid) == 0 && domain_destroy(peer->domid) == 0, "destroy");
	fz_unguard(guarded);
	return 0;
}
