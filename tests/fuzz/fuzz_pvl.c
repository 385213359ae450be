/* libFuzzer harness: kxen-hv's Linux PV (direct-paging) paths on a fake domain whose page tables come from the input: walks, forwarded hypercalls, register_vcpu_info, set_boot, the layer's fatal record. */
#define _GNU_SOURCE
#include <config.h>
#include <signal.h>
#include <stdint.h>

#include "fuzz_common.h"
#include "hv_fixture.h"
#include "fuzz_hv.h"
#include "pvl.h"
#include "pvl_layout.h"
#include <xen/vcpu.h>

/*
 * A fake Linux domain as pvl_domain_setup leaves it: kxen's region (filled
 * by the real pvl_region_fill) just above RAM, guest pointers translated
 * through the L4 the region's info page names (pvl_domain_enable). Its
 * initial tables map Linux's direct map (2 MiB pages over all RAM) and a
 * kernel image (4 KiB pages onto the window); the input then rewrites any
 * entry of 16 table pages (huge pages, self-references, frames past RAM,
 * kxen's region and slots), moves the kernel L4, pokes guest memory and
 * kxen's data page (which the guest kernel can write: the layer is in its
 * TCB), and calls the dispatcher with Linux-virtual pointers,
 * register_vcpu_info, pvl_check_boot and set_boot's fill, pvl_gmem_ptr
 * and pvl_fatal_exit.
 *
 * Oracles: ASan; RAM and the region between PROT_NONE guard pages and a
 * peer domain's RAM PROT_NONE (but its shared_info), so any access outside
 * the domain faults; results are -errno or success; every pointer
 * pvl_gmem_ptr returns lies inside RAM, agrees with a page-by-page walk and
 * never lands in kxen's region; a registered vcpu_info lies inside Linux's
 * pages and in one page; a runstate area is aligned and inside RAM.
 */

#define NVCPUS   4
#define TBL      0x400000ull     /* 16 page-table pages */
#define NT       16
#define WIN      0x600000ull     /* the window the input writes and pointers aim at */
#define WIN_LEN  0x10000ull
#define DIRECT   PVL_LINUX_DIRECT_VA
#define KIMG     0xffffffff80000000ull   /* Linux's __START_KERNEL_map, here onto the window */
#define PTE_ADDR 0x000ffffffffff000ull

static const uint64_t nrs[] = {
	__HYPERVISOR_set_callbacks, __HYPERVISOR_set_timer_op, __HYPERVISOR_memory_op,
	__HYPERVISOR_multicall, __HYPERVISOR_xen_version, __HYPERVISOR_console_io,
	__HYPERVISOR_vcpu_op, __HYPERVISOR_sched_op, __HYPERVISOR_event_channel_op,
	__HYPERVISOR_callback_op, __HYPERVISOR_grant_table_op,
	/* The layer's own: one that reaches kxen-hv (a corrupted layer) must fail cleanly. */
	__HYPERVISOR_mmu_update, __HYPERVISOR_mmuext_op, __HYPERVISOR_update_va_mapping,
	__HYPERVISOR_set_gdt, __HYPERVISOR_update_descriptor, __HYPERVISOR_set_trap_table,
	__HYPERVISOR_stack_switch, __HYPERVISOR_iret, __HYPERVISOR_vm_assist, __HYPERVISOR_physdev_op,
};
#define NR_NRS (sizeof(nrs) / sizeof(nrs[0]))

/* Virtual addresses no walk may turn into anything outside RAM. */
static const uint64_t bad_vas[] = {
	0, 0x1000, 0x00007ffffffff000ull, 0x0000800000000000ull, 0x7fffffffffffffffull,
	PVL_HOLE_VA, PVL_KX_VA, PVL_KX_VA + PVL_INFO_OFF, PVL_KX_VA + PVL_DATA_OFF, PVL_KX_VA + PVL_GDTRW_OFF,
	PVL_M2P_VA, PVL_ALIAS_VA, PVL_ALIAS_VA + WIN, DIRECT + MEM_SIZE - 8, DIRECT + MEM_SIZE,
	DIRECT + MEM_SIZE + 0x1000, KIMG + WIN_LEN, UINT64_MAX - 7, UINT64_MAX,
};
#define NR_BAD (sizeof(bad_vas) / sizeof(bad_vas[0]))

struct fx {
	struct domain *d, *peer;
	struct pvl *p;
	uint8_t *ram;
};

static void put64(uint8_t *at, uint64_t v)
{
	memcpy(at, &v, 8);
}

static uint64_t *kcr3(const struct fx *x)
{
	return pvl_info(x->p, 0) + I_KCR3 / 8;
}

/* A guest-physical frame address: tables, the window, any RAM, or just past it (kxen's region, far off). */
static uint64_t frame(struct fz *f)
{
	uint8_t s = fz_u8(f);

	switch (s % 8) {
	case 0: return TBL + (s >> 3) % NT * FZ_PAGE;
	case 1: return WIN + (s >> 3) % (WIN_LEN / FZ_PAGE) * FZ_PAGE;
	case 2: return fz_u16(f) % (MEM_SIZE / FZ_PAGE) * FZ_PAGE;
	case 3: return MEM_SIZE - FZ_PAGE + (s >> 3) * FZ_PAGE;   /* the last page of RAM, then the region's */
	case 4: return MEM_SIZE + fz_u8(f) % PVL_PG_V(NVCPUS, 0) * FZ_PAGE;
	case 5: return (1ull << 40) + (uint64_t)fz_u16(f) * FZ_PAGE;
	case 6: return fz_u64(f) & PTE_ADDR;
	default: return SHARED_GPA;
	}
}

/* A virtual address built from four table indices and an offset, sign-extended as the CPU does. */
static uint64_t va_of(struct fz *f)
{
	uint64_t va = 0;

	for (int shift = 39; shift >= 12; shift -= 9)
		va |= (uint64_t)(fz_u16(f) % 512) << shift;
	va |= fz_u16(f) % FZ_PAGE;
	return va & (1ull << 47) ? va | 0xffff000000000000ull : va;
}

static uint32_t special(const struct fx *x, unsigned i)
{
	const uint32_t v[] = { DOMID_SELF, x->d->domid, x->peer->domid, 0, VIRQ_TIMER, NVCPUS - 1 };

	return v[i % 6];
}

static uint64_t reg(struct fz *f, const struct fx *x)
{
	uint8_t s = fz_u8(f);

	switch (s & 15) {
	case 1: return DIRECT + WIN + fz_u16(f) % WIN_LEN;
	case 2: return KIMG + (fz_u16(f) % WIN_LEN & ~7ull);
	case 3: return va_of(f);
	case 4: return bad_vas[(s >> 4) % NR_BAD];
	case 5: return special(x, s >> 4);
	case 6: return fz_u64(f);
	case 7: return fz_u8(f);
	case 8: return DIRECT + fz_u32(f) % MEM_SIZE;
	case 9: return KIMG + WIN_LEN - (s >> 4);   /* straddling the kernel mapping's end */
	default: return s >> 4;
	}
}

/* The initial tables: Linux's direct map by 2 MiB pages, its kernel image by 4 KiB pages onto the window. */
static void initial_tables(uint8_t *ram)
{
	const uint64_t prw = 0x7;
	uint8_t *t[NT];

	for (unsigned i = 0; i < NT; i++) {
		t[i] = ram + TBL + i * FZ_PAGE;
		memset(t[i], 0, FZ_PAGE);
	}
	put64(t[0] + ((DIRECT >> 39) & 511) * 8, (TBL + 1 * FZ_PAGE) | prw);
	put64(t[1], (TBL + 2 * FZ_PAGE) | prw);
	for (uint64_t i = 0; i < MEM_SIZE >> 21; i++)
		put64(t[2] + i * 8, (i << 21) | prw | 0x80);
	put64(t[0] + 511 * 8, (TBL + 3 * FZ_PAGE) | prw);
	put64(t[3] + 510 * 8, (TBL + 4 * FZ_PAGE) | prw);
	put64(t[4], (TBL + 5 * FZ_PAGE) | prw);
	for (uint64_t j = 0; j < WIN_LEN / FZ_PAGE; j++)
		put64(t[5] + j * 8, (WIN + j * FZ_PAGE) | prw);
}

/* A mapping of len bytes between PROT_NONE pages (pvl_domain_destroy unmaps the inside, the caller the guards). */
static uint8_t *guarded_map(size_t len)
{
	uint8_t *r = mmap(NULL, len + 2 * FZ_PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	FZ_CHECK(r != MAP_FAILED, "region reservation");
	FZ_CHECK(mmap(r + FZ_PAGE, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED, -1, 0) != MAP_FAILED,
		 "guarded region");
	return r + FZ_PAGE;
}

/* pvl_gmem_ptr's answer is inside RAM, never kxen's region, and agrees with a walk of each page. */
static void check_ptr(const struct fx *x, uint64_t va, uint64_t len)
{
	const uint8_t *ptr = pvl_gmem_ptr(&x->d->mem, va, len);

	if (!ptr)
		return;
	FZ_CHECK(ptr >= x->ram && len <= MEM_SIZE && (uint64_t)(ptr - x->ram) <= MEM_SIZE - len,
		 "va %#llx len %llu -> outside RAM", (unsigned long long)va, (unsigned long long)len);
	for (uint64_t off = 0; off < len; off = (off | (FZ_PAGE - 1)) + 1) {
		int64_t pa = pvl_walk(x->ram, MEM_SIZE, *kcr3(x), va + off, false);

		FZ_CHECK(pa >= 0 && x->ram + pa == ptr + off, "va %#llx + %llu: walk %lld, pointer at %lld",
			 (unsigned long long)va, (unsigned long long)off, (long long)pa, (long long)(ptr + off - x->ram));
	}
}

static void call(struct fz *f, struct fx *x, uint8_t op)
{
	struct vcpu *v = x->d->vcpu[(op >> 4) % NVCPUS];
	uint8_t n = fz_u8(f);
	uint64_t nr = n < 0xe0 ? nrs[n % NR_NRS] : n == 0xff ? fz_u64(f) : n - 0xe0u;
	uint64_t a[5];

	for (unsigned i = 0; i < 5; i++)
		a[i] = reg(f, x);
	if (fz_blocks(nr, a[0]) || (nr == __HYPERVISOR_multicall && fz_list_blocks(x->d, a[0], a[1])))
		return;
	for (unsigned i = 0; i < NVCPUS; i++)
		vcpu_vinfo(x->d->vcpu[i])->evtchn_upcall_pending = 1;
	long rc = hypercall_dispatch(v, nr, a);

	FZ_CHECK(fz_rc_ok(rc), "hypercall %llu(%#llx, %#llx, %#llx) = %ld", (unsigned long long)nr,
		 (unsigned long long)a[0], (unsigned long long)a[1], (unsigned long long)a[2], rc);
	FZ_CHECK(v->hc_depth == 0, "hc_depth %d after hypercall %llu", v->hc_depth, (unsigned long long)nr);
	for (unsigned i = 1; i < NVCPUS; i++)
		FZ_CHECK(!x->d->vcpu[i]->thread_started, "vCPU %u started", i);
	/* A runstate area kxen-hv will write at every state change: aligned, inside RAM. */
	for (unsigned i = 0; i < NVCPUS; i++) {
		const uint8_t *a = (const uint8_t *)x->d->vcpu[i]->rs_area;

		FZ_CHECK(!a || (a >= x->ram && a + sizeof(struct vcpu_runstate_info) <= x->ram + MEM_SIZE &&
				(uintptr_t)a % 8 == 0), "vCPU %u's runstate area at %p", i, (const void *)a);
	}
	vcpu_set_runstate(v, RS_BLOCKED);   /* publishes to the area, if any */
	vcpu_set_runstate(v, RS_RUNNING);
}

/* VCPUOP_register_vcpu_info with a frame and offset from the input, its argument at a Linux VA. */
static void register_vinfo(struct fz *f, struct fx *x)
{
	unsigned id = fz_u8(f) % NVCPUS;
	uint64_t off = fz_u16(f) % WIN_LEN & ~7ull;
	struct vcpu_register_vcpu_info r = { 0 };

	r.mfn = frame(f) / FZ_PAGE;
	r.offset = fz_u16(f) % 0x1100;   /* past a page too */
	uint64_t a[5] = { VCPUOP_register_vcpu_info, id, 0 };
	a[2] = fz_u8(f) & 1 ? reg(f, x) : DIRECT + WIN + off;

	if (off <= WIN_LEN - sizeof(r))
		memcpy(x->ram + WIN + off, &r, sizeof(r));
	long rc = hypercall_dispatch(x->d->vcpu[fz_u8(f) % NVCPUS], __HYPERVISOR_vcpu_op, a);

	FZ_CHECK(fz_rc_ok(rc), "register_vcpu_info = %ld", rc);
	const uint8_t *vi = (const uint8_t *)x->d->vcpu[id]->vinfo;
	if (!vi)
		return;
	uint64_t at = (uint64_t)(vi - x->ram);
	FZ_CHECK(vi >= x->ram && at + sizeof(struct vcpu_info) <= x->p->nr_pages * FZ_PAGE &&
		 at / FZ_PAGE == (at + sizeof(struct vcpu_info) - 1) / FZ_PAGE && at / FZ_PAGE * FZ_PAGE != SHARED_GPA,
		 "vCPU %u's vcpu_info at %#llx", id, (unsigned long long)at);
}

/* A set_boot from the input: checked, and when accepted, the region refilled for it (its L4 gets kxen's slots). */
static void check_boot(struct fz *f, struct fx *x)
{
	struct kxctl_set_boot b = { .shared_info_gpa = SHARED_GPA };
	struct pvl q;

	b.cr3 = frame(f);
	b.cr3 |= fz_u8(f) == 0xff ? 8 : 0;
	b.start_info_gpa = frame(f);
	b.start_info_gpa += fz_u16(f) % (FZ_PAGE + 8);
	b.entry = reg(f, x);
	b.stack = reg(f, x);
	b.rsi = reg(f, x);
	if (pvl_check_boot(x->ram, MEM_SIZE, NVCPUS, &b, &q) < 0)
		return;
	FZ_CHECK(q.cr3 < MEM_SIZE && !(q.cr3 & (FZ_PAGE - 1)) && q.nr_pages && q.nr_pages <= MEM_SIZE / FZ_PAGE &&
		 q.gpa == MEM_SIZE && q.size == x->p->size, "set_boot accepted: cr3 %#llx nr_pages %llu",
		 (unsigned long long)q.cr3, (unsigned long long)q.nr_pages);
	q.region = x->p->region;
	pvl_region_fill(&q, x->ram);
	x->p->cr3 = q.cr3;
}

/* The layer's data page as a corrupted layer (or Linux) leaves it, then kxen-hv's report of a fatal stop. */
static void fatal(struct fz *f, struct fx *x)
{
	uint8_t buf[64];
	uint64_t off = fz_u16(f) % (2 * FZ_PAGE);
	size_t len = fz_u8(f) % sizeof(buf);
	struct vcpu_exit e;

	if (len > 2 * FZ_PAGE - off)
		len = 2 * FZ_PAGE - off;
	fz_bytes(f, buf, len);
	memcpy(x->p->region + PVL_PG_V(0, PVL_VP_DATA) * FZ_PAGE + off, buf, len);
	if (fz_u8(f) & 1)
		put64(x->p->region + PVL_PG_V(0, PVL_VP_DATA) * FZ_PAGE + D_ERIP, reg(f, x));
	memset(&e, 0xa5, sizeof(e));
	pvl_fatal_exit(x->d->vcpu[0], &e);
	FZ_CHECK(e.kind == VCPU_EXIT_FATAL && memchr(e.why, 0, sizeof(e.why)), "fatal exit record");
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	/* FUZZ_PVL_TRACE=1: every call and its result on stderr, to read what a seed does. */
	hypercall_trace = getenv("FUZZ_PVL_TRACE") != NULL;
	fz_hv_init(hypercall_trace ? 2 : -1);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = { data, size };
	struct fx x = { fx_domain("fzl", NVCPUS, false), fx_domain("fzlp", 1, false), NULL, NULL };
	struct kxctl_set_boot b = { .shared_info_gpa = SHARED_GPA, .cr3 = TBL, .start_info_gpa = WIN,
	                            .entry = KIMG, .stack = KIMG + FZ_PAGE, .rsi = KIMG };
	start_info_t si = { .nr_pages = MEM_SIZE / FZ_PAGE - fz_u8(&f) % 64 };
	uint8_t *guarded;

	FZ_CHECK(x.d && x.peer, "fake domains");
	guarded = fz_guard(x.d);
	x.ram = x.d->mem.base;
	atomic_store(&x.d->vcpu_unavail, ~0ull);
	fz_peer_setup(x.peer, x.d);

	/* As pvl_domain_setup: checks, the region filled, then pointers translated through its kernel L4. */
	initial_tables(x.ram);
	memcpy(x.ram + WIN, &si, sizeof(si));
	x.p = malloc(sizeof(*x.p));
	FZ_CHECK(x.p && pvl_check_boot(x.ram, MEM_SIZE, NVCPUS, &b, x.p) == 0, "the initial set_boot");
	x.p->region = guarded_map(x.p->size);
	pvl_region_fill(x.p, x.ram);
	x.d->pvl = x.p;
	pvl_domain_enable(x.d);

	for (unsigned ops = 0; f.n && ops < 64; ops++) {
		uint8_t op = fz_u8(&f);

		switch (op % 8) {
		case 0:   /* guest stores, physical */
			fz_guest_store(&f, x.ram + WIN, WIN_LEN);
			break;
		case 1: {   /* a page-table entry: any table, any index, any frame and flags */
			uint64_t at = TBL + fz_u8(&f) % NT * FZ_PAGE;
			at += fz_u16(&f) % 512 * 8;
			uint64_t e = frame(&f);
			e |= fz_u8(&f);
			e |= fz_u8(&f) & 1 ? 1ull << 63 : 0;

			put64(x.ram + at, e);
			break;
		}
		case 2:     /* the kernel L4 moves (NEW_BASEPTR as the layer records it) */
			__atomic_store_n(kcr3(&x), frame(&f), __ATOMIC_RELEASE);
			break;
		case 3:
			call(&f, &x, op);
			break;
		case 4:
			register_vinfo(&f, &x);
			break;
		case 5:
			check_boot(&f, &x);
			break;
		case 6: {
			uint64_t va = reg(&f, &x);
			check_ptr(&x, va, fz_u8(&f) & 1 ? fz_u32(&f) : fz_u16(&f) % (3 * FZ_PAGE));
			break;
		}
		default:
			fatal(&f, &x);
			break;
		}
	}
	uint8_t *region = x.p->region;
	size_t region_size = x.p->size;

	mprotect(x.peer->mem.base, MEM_SIZE, PROT_READ | PROT_WRITE);
	/* pvl_domain_destroy unmaps the region and frees x.p; the guards stay ours. */
	FZ_CHECK(domain_destroy(x.d->domid) == 0 && domain_destroy(x.peer->domid) == 0, "destroy");
	fz_unguard(guarded);
	munmap(region - FZ_PAGE, FZ_PAGE);
	munmap(region + region_size, FZ_PAGE);
	return 0;
}
