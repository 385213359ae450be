/* A hostile direct-paging PV kernel: throws bad arguments at kxen's in-guest layer and kxen-hv, checks each answer, prints a summary. */
#include <stddef.h>
#include <stdint.h>
#include <xen/xen.h>
#include <xen/sched.h>
#include <xen/vcpu.h>
#include <xen/memory.h>
#include <xen/grant_table.h>
#include <xen/event_channel.h>
#include <xen/errno.h>
#include <xen/version.h>
#include "kstring.h"
#include "pvl_layout.h"

#define VIRT_BASE 0xffffffff80000000ull
#define PAGE      4096ull
#define NONCANON  0x0000800000000000ull

long hc(long nr, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4, uint64_t a5);
void hmain(start_info_t *si);

static uint8_t scratch[PAGE] __attribute__((aligned(4096)));
static uint64_t gdtpage[512] __attribute__((aligned(4096)));
static uint8_t vinfo_page[PAGE] __attribute__((aligned(4096)));
static struct trap_info traps[300];
static unsigned nchecks, nfailed;

/* ---- output through console_io (forwarded: kxen-hv logs it as "(dN) ...") ---- */

static char line[256];
static size_t used;

static void put_str(const char *s)
{
	while (*s && used < sizeof(line) - 1)
		line[used++] = *s++;
}

static void put_num(long v)
{
	char buf[24];
	int n = 0;
	uint64_t u = v < 0 ? -(uint64_t)v : (uint64_t)v;

	if (v < 0)
		put_str("-");
	do
		buf[n++] = (char)('0' + u % 10);
	while ((u /= 10) && n < 23);
	while (n && used < sizeof(line) - 1)
		line[used++] = buf[--n];
}

static void flush(void)
{
	line[used++] = '\n';
	hc(__HYPERVISOR_console_io, CONSOLEIO_write, used, (uint64_t)line, 0, 0);
	used = 0;
}

static void expect(const char *what, long got, long want)
{
	nchecks++;
	if (got == want)
		return;
	nfailed++;
	put_str("pvhostile: FAIL ");
	put_str(what);
	put_str(": got ");
	put_num(got);
	put_str(", expected ");
	put_num(want);
	flush();
}

static uint64_t phys(const void *va)
{
	return (uint64_t)va - VIRT_BASE;
}

static uint64_t entry(uint64_t table, unsigned idx)
{
	return ((const uint64_t *)(VIRT_BASE + table))[idx];
}

/* The guest-physical address of the L1 entry mapping va (the builder maps its tables inside the image). */
static uint64_t l1e_of(uint64_t l4, uint64_t va)
{
	uint64_t t = l4;

	for (int shift = 39; shift > 12; shift -= 9)
		t = entry(t, (va >> shift) & 511) & 0x000ffffffffff000ull;
	return t + ((va >> 12) & 511) * 8;
}

static long mmu1(uint64_t ptr, uint64_t val, unsigned *done)
{
	static struct mmu_update u;

	u.ptr = ptr;
	u.val = val;
	return hc(__HYPERVISOR_mmu_update, (uint64_t)&u, 1, (uint64_t)done, DOMID_SELF, 0);
}

static long mmuext1(unsigned cmd, uint64_t arg1, uint64_t arg2)
{
	static struct mmuext_op op;

	op.cmd = cmd;
	op.arg1.mfn = arg1;
	op.arg2.src_mfn = arg2;
	return hc(__HYPERVISOR_mmuext_op, (uint64_t)&op, 1, 0, DOMID_SELF, 0);
}

static void mmu_update_checks(const start_info_t *si, uint64_t l4, uint64_t ram)
{
	uint64_t l1e = l1e_of(l4, (uint64_t)scratch), l1v = entry(l1e & ~0xfffull, (l1e & 0xfff) / 8);
	uint64_t k257 = entry(l4, PVL_SLOT_KX);
	unsigned done = 99;

	expect("mmu_update of our own PTE", mmu1(l1e, l1v, &done), 0);
	expect("mmu_update done count", done, 1);
	expect("mmu_update PRESERVE_AD of our own PTE", mmu1(l1e | MMU_PT_UPDATE_PRESERVE_AD, l1v, NULL), 0);
	expect("mmu_update past RAM", mmu1(ram, 0, NULL), -XEN_EINVAL);
	expect("mmu_update at kxen's region (first frame above RAM)", mmu1(si->nr_pages * PAGE + 8 * PAGE, 0, NULL), -XEN_EINVAL);
	expect("mmu_update at 1 TiB", mmu1(1ull << 40, 0, NULL), -XEN_EINVAL);
	expect("mmu_update at the last 8 bytes of the address space", mmu1(0xfffffffffffffff8ull, 0, NULL), -XEN_EINVAL);
	expect("mmu_update with command 3", mmu1(l1e | 3, l1v, NULL), -XEN_EINVAL);
	expect("mmu_update unaligned (+4)", mmu1(l1e + 4, l1v, NULL), -XEN_EINVAL);
	expect("mmu_update of L4 slot 256", mmu1(l4 + 256 * 8, 0, NULL), -XEN_EINVAL);
	expect("mmu_update of L4 slot 257 (kxen's layer)", mmu1(l4 + PVL_SLOT_KX * 8, 0, NULL), -XEN_EINVAL);
	expect("mmu_update of L4 slot 259 (kxen's alias)", mmu1(l4 + PVL_SLOT_ALIAS * 8, 0x1007, NULL), -XEN_EINVAL);
	expect("mmu_update of L4 slot 271", mmu1(l4 + 271 * 8, 0x1007, NULL), -XEN_EINVAL);
	expect("kxen's slot 257 left alone", entry(l4, PVL_SLOT_KX) == k257, 1);
	expect("MMU_MACHPHYS_UPDATE past RAM", mmu1((ram + 5 * PAGE) | MMU_MACHPHYS_UPDATE, 7, NULL), -XEN_EINVAL);
	expect("MMU_MACHPHYS_UPDATE of frame 2^52-1", mmu1(0xfffffffffffff000ull | MMU_MACHPHYS_UPDATE, 0, NULL), -XEN_EINVAL);
	expect("MMU_MACHPHYS_UPDATE of our own frame (identity M2P)", mmu1((l1v & ~0xfffull & 0x000ffffffffff000ull) | MMU_MACHPHYS_UPDATE, 0x1234, NULL), 0);
	expect("mmu_update requests at kxen's layer", hc(__HYPERVISOR_mmu_update, PVL_KX_VA, 1, 0, DOMID_SELF, 0), -XEN_EFAULT);
	expect("mmu_update requests at kxen's alias", hc(__HYPERVISOR_mmu_update, PVL_ALIAS_VA, 1, 0, DOMID_SELF, 0), -XEN_EFAULT);
	expect("mmu_update requests at a non-canonical address", hc(__HYPERVISOR_mmu_update, NONCANON, 1, 0, DOMID_SELF, 0), -XEN_EFAULT);
	expect("mmu_update done count at kxen's data", hc(__HYPERVISOR_mmu_update, (uint64_t)scratch, 0, PVL_KX_VA + PVL_DATA_OFF, DOMID_SELF, 0), -XEN_EFAULT);
}

static void mmuext_checks(const start_info_t *si)
{
	static struct mmuext_op two[2];
	unsigned done = 99;

	expect("mmuext_op command 99", mmuext1(99, 0, 0), -XEN_EINVAL);
	expect("mmuext_op NEW_BASEPTR past RAM", mmuext1(MMUEXT_NEW_BASEPTR, si->nr_pages, 0), -XEN_EINVAL);
	expect("mmuext_op NEW_BASEPTR at 2^40", mmuext1(MMUEXT_NEW_BASEPTR, 1ull << 40, 0), -XEN_EINVAL);
	expect("mmuext_op NEW_USER_BASEPTR past RAM", mmuext1(MMUEXT_NEW_USER_BASEPTR, si->nr_pages + 1, 0), -XEN_EINVAL);
	expect("mmuext_op PIN_L1_TABLE past RAM", mmuext1(MMUEXT_PIN_L1_TABLE, si->nr_pages + 3, 0), -XEN_EINVAL);
	expect("mmuext_op PIN_L4_TABLE of frame 2^52-1", mmuext1(MMUEXT_PIN_L4_TABLE, (1ull << 52) - 1, 0), -XEN_EINVAL);
	expect("mmuext_op SET_LDT with 5 entries", mmuext1(MMUEXT_SET_LDT, (uint64_t)scratch, 5), -XEN_EINVAL);
	expect("mmuext_op SET_LDT empty", mmuext1(MMUEXT_SET_LDT, 0, 0), 0);
	expect("mmuext_op INVLPG_LOCAL of kxen's layer (nothing to flush)", mmuext1(MMUEXT_INVLPG_LOCAL, PVL_KX_VA, 0), 0);
	expect("mmuext_op INVLPG_LOCAL non-canonical", mmuext1(MMUEXT_INVLPG_LOCAL, NONCANON, 0), -XEN_EINVAL);
	expect("mmuext_op INVLPG_ALL of our own page", mmuext1(MMUEXT_INVLPG_ALL, (uint64_t)scratch, 0), 0);
	two[0].cmd = MMUEXT_TLB_FLUSH_LOCAL;
	two[1].cmd = 77;
	expect("mmuext_op flush then command 77", hc(__HYPERVISOR_mmuext_op, (uint64_t)two, 2, (uint64_t)&done, DOMID_SELF, 0), -XEN_EINVAL);
	expect("mmuext_op done count after the bad one", done, 1);
	expect("mmuext_op ops at kxen's layer", hc(__HYPERVISOR_mmuext_op, PVL_KX_VA, 1, 0, DOMID_SELF, 0), -XEN_EFAULT);
	expect("mmuext_op ops non-canonical", hc(__HYPERVISOR_mmuext_op, NONCANON + 64, 1, 0, DOMID_SELF, 0), -XEN_EFAULT);
}

static void va_mapping_checks(uint64_t l4)
{
	uint64_t l1e = l1e_of(l4, (uint64_t)scratch), l1v = entry(l1e & ~0xfffull, (l1e & 0xfff) / 8);
	const uint64_t kx[] = { PVL_HOLE_VA, PVL_KX_VA, PVL_KX_VA + PVL_DATA_OFF, PVL_M2P_VA, PVL_ALIAS_VA, 0x1000,
	                        NONCANON, 0x8000000000000000ull };

	for (unsigned i = 0; i < sizeof(kx) / sizeof(kx[0]); i++)
		expect("update_va_mapping of kxen's (or an unmapped) address", hc(__HYPERVISOR_update_va_mapping, kx[i], 0x1007, UVMF_INVLPG, 0, 0), -XEN_EINVAL);
	expect("update_va_mapping of our own page", hc(__HYPERVISOR_update_va_mapping, (uint64_t)scratch, l1v, UVMF_INVLPG, 0, 0), 0);
	scratch[0] = 1;   /* still mapped and writable */
}

static void descriptor_checks(const start_info_t *si, uint64_t ram)
{
	static uint64_t frames[2];
	uint64_t g = phys(gdtpage);

	expect("set_gdt with 14 pages + 1 entry", hc(__HYPERVISOR_set_gdt, (uint64_t)frames, 14 * 512 + 1, 0, 0, 0), -XEN_EINVAL);
	frames[0] = si->nr_pages;
	expect("set_gdt with a frame past RAM", hc(__HYPERVISOR_set_gdt, (uint64_t)frames, 512, 0, 0, 0), -XEN_EINVAL);
	frames[0] = 1ull << 40;
	expect("set_gdt with frame 2^40", hc(__HYPERVISOR_set_gdt, (uint64_t)frames, 1, 0, 0, 0), -XEN_EINVAL);
	expect("set_gdt with the frame list at kxen's layer", hc(__HYPERVISOR_set_gdt, PVL_KX_VA, 1, 0, 0, 0), -XEN_EFAULT);
	frames[0] = g / PAGE;
	expect("set_gdt of our own (empty) page", hc(__HYPERVISOR_set_gdt, (uint64_t)frames, 512, 0, 0, 0), 0);
	expect("update_descriptor DPL 0 code", hc(__HYPERVISOR_update_descriptor, g + 8, 0x00af9b000000ffffull, 0, 0, 0), 0);
	expect("... stored with DPL 3", gdtpage[1] == 0x00affb000000ffffull, 1);
	expect("update_descriptor DPL 0 data", hc(__HYPERVISOR_update_descriptor, g + 16, 0x00cf93000000ffffull, 0, 0, 0), 0);
	expect("... stored with DPL 3", gdtpage[2] == 0x00cff3000000ffffull, 1);
	expect("update_descriptor 64-bit TSS", hc(__HYPERVISOR_update_descriptor, g + 24, 0x0000890000000067ull, 0, 0, 0), -XEN_EINVAL);
	expect("update_descriptor LDT", hc(__HYPERVISOR_update_descriptor, g + 24, 0x0000820000000fffull, 0, 0, 0), -XEN_EINVAL);
	expect("update_descriptor call gate", hc(__HYPERVISOR_update_descriptor, g + 24, 0x0000ec0000e00000ull, 0, 0, 0), -XEN_EINVAL);
	expect("update_descriptor interrupt gate", hc(__HYPERVISOR_update_descriptor, g + 24, 0x00008e0000e00000ull, 0, 0, 0), -XEN_EINVAL);
	expect("... nothing stored", gdtpage[3], 0);
	expect("update_descriptor unaligned", hc(__HYPERVISOR_update_descriptor, g + 4, 0, 0, 0, 0), -XEN_EINVAL);
	expect("update_descriptor past RAM", hc(__HYPERVISOR_update_descriptor, ram, 0, 0, 0, 0), -XEN_EINVAL);
	expect("update_descriptor at the last 8 bytes of the address space", hc(__HYPERVISOR_update_descriptor, 0xfffffffffffffff8ull, 0, 0, 0, 0), -XEN_EINVAL);
	expect("update_descriptor not present (any bits)", hc(__HYPERVISOR_update_descriptor, g + 32, 0x00007b00deadbeefull, 0, 0, 0), 0);
}

static void trap_fail(void)
{
	put_str("pvhostile: FAIL an exception reached the trap table");
	flush();
	for (;;)
		hc(__HYPERVISOR_sched_op, SCHEDOP_yield, 0, 0, 0, 0);
}

static void trap_checks(void)
{
	for (unsigned i = 0; i < 300; i++)
		traps[i] = (struct trap_info){ .vector = (uint8_t)(i % 32), .address = (uint64_t)trap_fail };
	expect("set_trap_table of 300 entries, no terminator", hc(__HYPERVISOR_set_trap_table, (uint64_t)traps, 0, 0, 0, 0), -XEN_EINVAL);
	expect("set_trap_table at kxen's layer", hc(__HYPERVISOR_set_trap_table, PVL_KX_VA, 0, 0, 0, 0), -XEN_EFAULT);
	expect("set_trap_table non-canonical", hc(__HYPERVISOR_set_trap_table, NONCANON, 0, 0, 0, 0), -XEN_EFAULT);
	traps[0] = (struct trap_info){ .vector = 14, .address = PVL_KX_VA };
	traps[1] = (struct trap_info){ .vector = 255, .address = 0xffff800000001000ull };
	traps[2].address = 0;
	expect("set_trap_table with handlers in kxen's slots (accepted, as Xen)", hc(__HYPERVISOR_set_trap_table, (uint64_t)traps, 0, 0, 0, 0), 0);
	traps[0].address = traps[1].address = (uint64_t)trap_fail;
	expect("set_trap_table back to ours", hc(__HYPERVISOR_set_trap_table, (uint64_t)traps, 0, 0, 0, 0), 0);
	expect("stack_switch to junk (bookkeeping)", hc(__HYPERVISOR_stack_switch, 0xe02b, PVL_KX_VA, 0, 0, 0), 0);
	expect("stack_switch back", hc(__HYPERVISOR_stack_switch, 0xe02b, (uint64_t)scratch + PAGE, 0, 0, 0), 0);
}

static void multicall_checks(void)
{
	static multicall_entry_t mc[6];
	static struct mmu_update bad = { .ptr = 1ull << 40 };

	mc[0] = (multicall_entry_t){ .op = __HYPERVISOR_xen_version, .args = { XENVER_version } };
	mc[1] = (multicall_entry_t){ .op = __HYPERVISOR_multicall, .args = { (uint64_t)mc, 6 } };
	mc[2] = (multicall_entry_t){ .op = __HYPERVISOR_iret };
	mc[3] = (multicall_entry_t){ .op = __HYPERVISOR_mmu_update, .args = { (uint64_t)&bad, 1, 0, DOMID_SELF } };
	mc[4] = (multicall_entry_t){ .op = __HYPERVISOR_vcpu_op, .args = { VCPUOP_is_up, 1000 } };
	mc[5] = (multicall_entry_t){ .op = 99 };
	expect("multicall of 6", hc(__HYPERVISOR_multicall, (uint64_t)mc, 6, 0, 0, 0), 0);
	expect("... xen_version answered", (long)mc[0].result > 0, 1);
	expect("... a nested multicall refused", (long)mc[1].result, -XEN_EINVAL);
	expect("... iret refused", (long)mc[2].result, -XEN_EINVAL);
	expect("... mmu_update at 1 TiB refused", (long)mc[3].result, -XEN_EINVAL);
	expect("... vcpu_op is_up of vCPU 1000", (long)mc[4].result, -XEN_ENOENT);
	expect("... hypercall 99 unknown", (long)mc[5].result, -XEN_ENOSYS);
	expect("multicall list at kxen's layer, huge count", hc(__HYPERVISOR_multicall, PVL_KX_VA, 1ull << 40, 0, 0, 0), -XEN_EFAULT);
	expect("multicall list non-canonical", hc(__HYPERVISOR_multicall, NONCANON, 3, 0, 0, 0), -XEN_EFAULT);
}

static void vcpu_checks(const start_info_t *si)
{
	static struct vcpu_register_vcpu_info r;
	static struct vcpu_register_runstate_memory_area ra;
	static struct vcpu_runstate_info area __attribute__((aligned(64)));
	const uint64_t V = __HYPERVISOR_vcpu_op;

	r = (struct vcpu_register_vcpu_info){ .mfn = phys(vinfo_page) / PAGE, .offset = PAGE - 32 };
	expect("register_vcpu_info crossing a page", hc(V, VCPUOP_register_vcpu_info, 0, (uint64_t)&r, 0, 0), -XEN_EINVAL);
	r.offset = 0x41;
	expect("register_vcpu_info misaligned", hc(V, VCPUOP_register_vcpu_info, 0, (uint64_t)&r, 0, 0), -XEN_EINVAL);
	r = (struct vcpu_register_vcpu_info){ .mfn = si->nr_pages };
	expect("register_vcpu_info past RAM", hc(V, VCPUOP_register_vcpu_info, 0, (uint64_t)&r, 0, 0), -XEN_EINVAL);
	r.mfn = si->shared_info / PAGE;
	expect("register_vcpu_info on shared_info", hc(V, VCPUOP_register_vcpu_info, 0, (uint64_t)&r, 0, 0), -XEN_EINVAL);
	expect("register_vcpu_info argument at kxen's layer", hc(V, VCPUOP_register_vcpu_info, 0, PVL_KX_VA, 0, 0), -XEN_EFAULT);
	expect("register_vcpu_info of vCPU 5", hc(V, VCPUOP_register_vcpu_info, 5, (uint64_t)&r, 0, 0), -XEN_ENOENT);
	r = (struct vcpu_register_vcpu_info){ .mfn = phys(vinfo_page) / PAGE, .offset = 64 };
	expect("register_vcpu_info", hc(V, VCPUOP_register_vcpu_info, 0, (uint64_t)&r, 0, 0), 0);
	expect("register_vcpu_info again", hc(V, VCPUOP_register_vcpu_info, 0, (uint64_t)&r, 0, 0), -XEN_EEXIST);

	ra.addr.p = (uint64_t)&area + 4;
	expect("runstate area misaligned", hc(V, VCPUOP_register_runstate_memory_area, 0, (uint64_t)&ra, 0, 0), -XEN_EINVAL);
	ra.addr.p = PVL_KX_VA + PVL_DATA_OFF;
	expect("runstate area at kxen's data", hc(V, VCPUOP_register_runstate_memory_area, 0, (uint64_t)&ra, 0, 0), -XEN_EFAULT);
	ra.addr.p = PVL_ALIAS_VA;
	expect("runstate area at kxen's alias", hc(V, VCPUOP_register_runstate_memory_area, 0, (uint64_t)&ra, 0, 0), -XEN_EFAULT);
	expect("runstate argument non-canonical", hc(V, VCPUOP_register_runstate_memory_area, 0, NONCANON, 0, 0), -XEN_EFAULT);
	ra.addr.p = (uint64_t)&area;
	area.state = -1;
	expect("runstate area", hc(V, VCPUOP_register_runstate_memory_area, 0, (uint64_t)&ra, 0, 0), 0);
	expect("... says running", area.state, RUNSTATE_running);
	expect("... since a time, update flag clear", area.state_entry_time && !(area.state_entry_time & XEN_RUNSTATE_UPDATE), 1);
}

/* Hypercalls kxen-hv answers, with pointers into kxen's slots: each a clean -errno. */
static void forwarded_checks(void)
{
	expect("get_runstate_info into kxen's layer", hc(__HYPERVISOR_vcpu_op, VCPUOP_get_runstate_info, 0, PVL_KX_VA, 0, 0), -XEN_EFAULT);
	expect("memory_op decrease_reservation at kxen's data", hc(__HYPERVISOR_memory_op, XENMEM_decrease_reservation, PVL_KX_VA + PVL_DATA_OFF, 0, 0, 0), -XEN_EFAULT);
	expect("grant_table_op setup_table at kxen's alias", hc(__HYPERVISOR_grant_table_op, GNTTABOP_setup_table, PVL_ALIAS_VA, 1, 0, 0), -XEN_EFAULT);
	expect("console_io from kxen's layer", hc(__HYPERVISOR_console_io, CONSOLEIO_write, 16, PVL_KX_VA, 0, 0), -XEN_EFAULT);
	expect("event_channel_op send at the M2P", hc(__HYPERVISOR_event_channel_op, EVTCHNOP_send, PVL_M2P_VA, 0, 0, 0), -XEN_EFAULT);
	expect("hypercall 63", hc(63, 0, 0, 0, 0, 0), -XEN_ENOSYS);
	expect("hypercall 1000", hc(1000, 0, 0, 0, 0, 0), -XEN_ENOSYS);
}

/* iret with a junk frame (rip in nowhere, ring-0 cs): the layer may only stop this domain. */
static void junk_iret(void)
{
	static uint64_t frame[16] __attribute__((aligned(16)));

	frame[4] = 0xdead0000;     /* rip */
	frame[5] = 0x10;           /* cs: ring 0 */
	frame[6] = 0x3000;         /* rflags: IOPL 3 */
	put_str("pvhostile: iret with a junk frame");
	flush();
	__asm__ volatile("mov %0, %%rsp; mov %1, %%eax; syscall" : : "r"(frame), "i"(__HYPERVISOR_iret) : "memory");
}

void hmain(start_info_t *si)
{
	uint64_t l4 = si->pt_base - VIRT_BASE, ram = si->nr_pages * PAGE;
	struct sched_shutdown down = { .reason = SHUTDOWN_poweroff };

	put_str("pvhostile: start, ");
	put_num((long)si->nr_pages);
	put_str(" pages");
	flush();
	if (strncmp((const char *)si->cmd_line, "iret", 4) == 0)
		junk_iret();
	mmu_update_checks(si, l4, ram);
	mmuext_checks(si);
	va_mapping_checks(l4);
	descriptor_checks(si, ram);
	trap_checks();
	multicall_checks();
	vcpu_checks(si);
	forwarded_checks();
	put_str("pvhostile: ");
	put_num(nchecks);
	put_str(" checks, ");
	put_num(nfailed);
	put_str(nfailed ? " failed: FAIL" : " failed: OK");
	flush();
	hc(__HYPERVISOR_sched_op, SCHEDOP_shutdown, (uint64_t)&down, 0, 0, 0);
	for (;;)
		;
}
