/* CUnit suite for the Linux PV flavour's pure parts: page walks, guest-virtual access, set_boot checks, the initial U-bit pass (no KVM). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cunit_run.h"
#include "kxen-hv.h"
#include "gmem.h"
#include "pvl.h"
#include "pvl_layout.h"
#include "vcpu.h"
#include "domain.h"

#include <xen/vcpu.h>

#define RAM  (8ull << 20)
#define L4   0x1000ull
#define L3   0x2000ull
#define L2   0x3000ull
#define L1   0x4000ull
#define SI   0x5000ull
#define KVA  0xffffffff80000000ull   /* L4 511, L3 510 */

static uint8_t *ram;

static void put(uint64_t gpa, uint64_t v)
{
	memcpy(ram + gpa, &v, 8);
}

static uint64_t get(uint64_t gpa)
{
	uint64_t v;

	memcpy(&v, ram + gpa, 8);
	return v;
}

/* KVA -> 4 KiB pages: L1[0] = frame 0x10 (RO), L1[1] = 0x11, L1[2] = 0x20 (not contiguous); KVA + 2 MiB: a 2 MiB page at 4 MiB; L4[0]: a 1 GiB page at 0. */
static void build(void)
{
	memset(ram, 0, RAM);
	put(L4 + 511 * 8, L3 | 3);
	put(L3 + 510 * 8, L2 | 3);
	put(L2 + 0 * 8, L1 | 3);
	put(L2 + 1 * 8, (4ull << 20) | 0x83);
	put(L1 + 0 * 8, 0x10000 | 1);
	put(L1 + 1 * 8, 0x11000 | 3);
	put(L1 + 2 * 8, 0x20000 | 3);
	put(L4 + 0, 0x6000 | 3);
	put(0x6000, 0 | 0x83);
	start_info_t *si = (start_info_t *)(ram + SI);
	si->nr_pages = RAM / KXEN_PAGE_SIZE - 1;
}

static void test_walk_levels(void)
{
	build();
	CU_ASSERT_EQUAL(pvl_walk(ram, RAM, L4, KVA + 0x123, false), 0x10123);
	CU_ASSERT_EQUAL(pvl_walk(ram, RAM, L4, KVA + 0x1fff, true), 0x11fff);
	CU_ASSERT_EQUAL(pvl_walk(ram, RAM, L4, KVA + (2ull << 20) + 0x5678, false), (4ull << 20) + 0x5678);
	CU_ASSERT_EQUAL(pvl_walk(ram, RAM, L4, 0x345678, false), 0x345678);   /* the 1 GiB page */
}

/* A stop right past an int3 is found through the page tables, across a page boundary too; others are not. */
static void test_int3_behind(void)
{
	build();
	ram[0x10123] = 0xcc;
	CU_ASSERT_TRUE(pvl_int3_behind(ram, RAM, L4, KVA + 0x124));
	CU_ASSERT_FALSE(pvl_int3_behind(ram, RAM, L4, KVA + 0x123));
	CU_ASSERT_FALSE(pvl_int3_behind(ram, RAM, L4, KVA + 0x125));
	ram[0x10fff] = 0xcc;                                          /* the int3 ends frame 0x10; rip in 0x11 */
	CU_ASSERT_TRUE(pvl_int3_behind(ram, RAM, L4, KVA + 0x1000));
	CU_ASSERT_FALSE(pvl_int3_behind(ram, RAM, L4, KVA + 0x3001)); /* not mapped: nothing to say */
	CU_ASSERT_FALSE(pvl_int3_behind(ram, RAM, L4, 0));            /* rip - 1 wraps: non-canonical */
}

static void test_walk_refuses(void)
{
	build();
	CU_ASSERT_EQUAL(pvl_walk(ram, RAM, L4, KVA + 0x3000, false), -EFAULT);     /* not present */
	CU_ASSERT_EQUAL(pvl_walk(ram, RAM, L4, KVA + 0x10, true), -EFAULT);        /* read-only */
	CU_ASSERT_EQUAL(pvl_walk(ram, RAM, L4, 0x0000800000000000ull, false), -EFAULT); /* non-canonical */
	CU_ASSERT_EQUAL(pvl_walk(ram, RAM, L4, 0x7fffffff0000ull, false), -EFAULT);
	CU_ASSERT_EQUAL(pvl_walk(ram, RAM, RAM, KVA, false), -EFAULT);             /* L4 beyond RAM */
	CU_ASSERT_EQUAL(pvl_walk(ram, RAM, L4 + 8, KVA, false), -EFAULT);          /* L4 not a page */
	put(L2 + 0 * 8, (RAM + 0x1000) | 3);                                       /* a table beyond RAM */
	CU_ASSERT_EQUAL(pvl_walk(ram, RAM, L4, KVA, false), -EFAULT);
	build();
	put(L2 + 1 * 8, (RAM - (2ull << 20) + (2ull << 20)) | 0x83);                /* a large page beyond RAM */
	CU_ASSERT_EQUAL(pvl_walk(ram, RAM, L4, KVA + (2ull << 20), false), -EFAULT);
}

static void test_gmem_ptr(void)
{
	uint64_t l4 = L4;
	struct guest_mem m = { .base = ram, .size = RAM, .pv_l4 = &l4 };

	build();
	CU_ASSERT_PTR_EQUAL(pvl_gmem_ptr(&m, KVA + 0x800, 0x1000), ram + 0x10800);  /* frames 0x10, 0x11 */
	CU_ASSERT_PTR_NULL(pvl_gmem_ptr(&m, KVA + 0x1800, 0x1000));                   /* 0x11 then 0x20 */
	CU_ASSERT_PTR_NULL(pvl_gmem_ptr(&m, KVA + 0x2800, 0x1000));                   /* into a hole */
	CU_ASSERT_PTR_NULL(pvl_gmem_ptr(&m, ~0ull - 4, 16));                          /* wraps */
	CU_ASSERT_PTR_NULL(pvl_gmem_ptr(&m, KVA, 0));
	/* gmem_ptr itself goes through the translation once pv_l4 is set. */
	CU_ASSERT_PTR_EQUAL(gmem_ptr(&m, KVA + 8, 8), ram + 0x10008);
}

static void test_check_boot(void)
{
	struct kxctl_set_boot b = { .start_info_gpa = SI, .entry = KVA + 0x10, .stack = KVA + 0x2000,
	                            .rsi = KVA, .cr3 = L4 };
	struct kxctl_set_boot bad;
	struct pvl p;

	build();
	CU_ASSERT_EQUAL(pvl_check_boot(ram, RAM, 1, &b, &p), 0);
	CU_ASSERT_EQUAL(p.cr3, L4);
	CU_ASSERT_EQUAL(p.nr_pages, RAM / KXEN_PAGE_SIZE - 1);
	CU_ASSERT_EQUAL(p.ram_pages, p.nr_pages);
	CU_ASSERT_EQUAL(p.gpa, RAM);
	/* <currentMemory>: Linux starts with fewer pages; its e820 still runs to shared_info, the last frame. */
	((start_info_t *)(ram + SI))->nr_pages = RAM / KXEN_PAGE_SIZE / 2;
	bad = b; bad.shared_info_gpa = RAM - KXEN_PAGE_SIZE;
	CU_ASSERT_EQUAL(pvl_check_boot(ram, RAM, 1, &bad, &p), 0);
	CU_ASSERT_EQUAL(p.nr_pages, RAM / KXEN_PAGE_SIZE / 2);
	CU_ASSERT_EQUAL(p.ram_pages, RAM / KXEN_PAGE_SIZE - 1);
	((start_info_t *)(ram + SI))->nr_pages = RAM / KXEN_PAGE_SIZE - 1;
	CU_ASSERT_EQUAL(p.size, pvl_region_pages(RAM, 1) * KXEN_PAGE_SIZE);
	CU_ASSERT_EQUAL(p.m2p_pages, RAM / KXEN_PAGE_SIZE * 8 / KXEN_PAGE_SIZE);
	bad = b; bad.cr3 = L4 + 8;
	CU_ASSERT_EQUAL(pvl_check_boot(ram, RAM, 1, &bad, &p), -EINVAL);
	bad = b; bad.cr3 = RAM;
	CU_ASSERT_EQUAL(pvl_check_boot(ram, RAM, 1, &bad, &p), -EINVAL);
	bad = b; bad.start_info_gpa = RAM - 8;
	CU_ASSERT_EQUAL(pvl_check_boot(ram, RAM, 1, &bad, &p), -EINVAL);
	bad = b; bad.entry = KVA + 0x3000;                      /* unmapped entry */
	CU_ASSERT_EQUAL(pvl_check_boot(ram, RAM, 1, &bad, &p), -EINVAL);
	bad = b; bad.stack = KVA + 0x1000;                       /* stack on a read-only page */
	CU_ASSERT_EQUAL(pvl_check_boot(ram, RAM, 1, &bad, &p), -EINVAL);
	((start_info_t *)(ram + SI))->nr_pages = RAM / KXEN_PAGE_SIZE + 1;
	CU_ASSERT_EQUAL(pvl_check_boot(ram, RAM, 1, &b, &p), -EINVAL);
	((start_info_t *)(ram + SI))->nr_pages = 0;
	CU_ASSERT_EQUAL(pvl_check_boot(ram, RAM, 1, &b, &p), -EINVAL);
	build();
	put(L4 + PVL_SLOT_KX * 8, L3 | 3);                       /* the builder may not use kxen's slots */
	CU_ASSERT_EQUAL(pvl_check_boot(ram, RAM, 1, &b, &p), -EINVAL);
	CU_ASSERT_EQUAL(pvl_check_boot(ram, 32ull << 30, 1, &b, &p), -EINVAL);   /* beyond the alias */
	build();
	CU_ASSERT_EQUAL(pvl_check_boot(ram, RAM, 0, &b, &p), -EINVAL);              /* no vCPU */
	CU_ASSERT_EQUAL(pvl_check_boot(ram, RAM, PVL_MAX_VCPUS + 1, &b, &p), -EINVAL);
	CU_ASSERT_EQUAL(pvl_check_boot(ram, RAM, 4, &b, &p), 0);                    /* a block each */
	CU_ASSERT_EQUAL(p.nr_vcpus, 4);
	CU_ASSERT_EQUAL(p.size, (pvl_region_pages(RAM, 1) + 3 * PVL_VCPU_PAGES) * KXEN_PAGE_SIZE);
}

static void test_adjust_initial(void)
{
	build();
	/* Present entries: L4 511, 0; L3 510; L2 0, 1; L1 0-2; the 1 GiB page's L3 entry. */
	CU_ASSERT_EQUAL(pvl_adjust_initial(ram, RAM, L4), 9);
	CU_ASSERT_EQUAL(get(L1 + 0) & 4, 4);
	CU_ASSERT_EQUAL(get(L2 + 8) & 4, 4);
	CU_ASSERT_EQUAL(get(L1 + 3 * 8), 0);                   /* not-present entries untouched */
	CU_ASSERT_EQUAL(pvl_adjust_initial(ram, RAM, L4), 0);  /* idempotent */
	CU_ASSERT_EQUAL(pvl_adjust_initial(ram, RAM, RAM), 0); /* an L4 outside RAM is ignored */
}

/* VCPUOP_register_vcpu_info: the argument read through the guest's L4, the frame checked, the contents moved. */
static void test_register_vcpu_info(void)
{
	static uint8_t region[(PVL_PG_V(0, PVL_VP_DATA) + 2) * 4096];
	uint64_t l4 = L4;
	struct pvl p = { .region = region, .nr_pages = 0x100 };
	struct domain d = { .mem = { .base = ram, .size = RAM, .pv_l4 = &l4 }, .max_vcpus = 1 };
	struct vcpu v = { .d = &d, .id = 0 };
	struct vcpu_register_vcpu_info r = { .mfn = 0x30, .offset = 0x40 };
	uint64_t arg = KVA + 0x1100;                   /* frame 0x11, writable, mapped */
	shared_info_t *sh = (shared_info_t *)(ram + 0x7f000);

	build();
	d.shared = sh;
	sh->vcpu_info[0].evtchn_upcall_mask = 1;
	sh->vcpu_info[0].evtchn_pending_sel = 0x5;
	memcpy(ram + 0x11100, &r, sizeof(r));
	CU_ASSERT_EQUAL(pvl_register_vcpu_info(&v, arg), -ENOSYS);        /* not a Linux domain */
	d.pvl = &p;
	CU_ASSERT_EQUAL(pvl_register_vcpu_info(&v, KVA + 0x3000), -EFAULT);   /* unmapped argument */
	r.mfn = 0x100;                                                        /* beyond Linux's RAM */
	memcpy(ram + 0x11100, &r, sizeof(r));
	CU_ASSERT_EQUAL(pvl_register_vcpu_info(&v, arg), -EINVAL);
	r.mfn = 0x30;
	r.offset = KXEN_PAGE_SIZE - 8;                                        /* does not fit the page */
	memcpy(ram + 0x11100, &r, sizeof(r));
	CU_ASSERT_EQUAL(pvl_register_vcpu_info(&v, arg), -EINVAL);
	r.offset = 0x40;
	memcpy(ram + 0x11100, &r, sizeof(r));
	CU_ASSERT_PTR_EQUAL(vcpu_vinfo(&v), &sh->vcpu_info[0]);
	CU_ASSERT_EQUAL(pvl_register_vcpu_info(&v, arg), 0);
	CU_ASSERT_PTR_EQUAL(vcpu_vinfo(&v), (struct vcpu_info *)(ram + 0x30040));
	CU_ASSERT_EQUAL(vcpu_vinfo(&v)->evtchn_upcall_mask, 1);
	CU_ASSERT_EQUAL(vcpu_vinfo(&v)->evtchn_pending_sel, 0x5);
	uint64_t alias;
	memcpy(&alias, region + PVL_PG_V(0, PVL_VP_DATA) * 4096 + D_VINFO, 8);
	CU_ASSERT_EQUAL(alias, PVL_ALIAS_VA + 0x30040);
	CU_ASSERT_EQUAL(pvl_register_vcpu_info(&v, arg), -EEXIST);
}

unsigned pvl_ptwr_decode_host(const uint8_t *insn, uint32_t *reg, uint32_t *op, uint64_t *imm);

/* The decoder's results (hypervisor/pvl_ptwr.inc): PTWR_* | size << 8. */
enum { MOV = 1, XCHG, OR, AND, BTS, BTR, CMPXCHG, IMM = 0x80 };
#define OP(kind, size) ((kind) | (size) << 8)

static uint32_t reg, op;
static uint64_t imm;

/* One instruction through the layer's decoder: its length (0: refused); reg, op and imm set. */
static unsigned decode(const char *bytes, size_t n)
{
	uint8_t buf[16] = { 0 };
	memcpy(buf, bytes, n);
	reg = op = ~0u;
	imm = ~0ull;
	return pvl_ptwr_decode_host(buf, &reg, &op, &imm);
}

static void test_ptwr_decode(void)
{
	CU_ASSERT_EQUAL(decode("\x48\x89\x37", 3), 3);                /* mov %rsi,(%rdi) */
	CU_ASSERT_EQUAL(reg, 6);
	CU_ASSERT_EQUAL(op, OP(MOV, 8));
	CU_ASSERT_EQUAL(decode("\x4c\x89\x43\x08", 4), 4);            /* mov %r8,0x8(%rbx) */
	CU_ASSERT_EQUAL(reg, 8);
	CU_ASSERT_EQUAL(decode("\x4c\x89\x3c\xc2", 4), 4);            /* mov %r15,(%rdx,%rax,8) */
	CU_ASSERT_EQUAL(reg, 15);
	CU_ASSERT_EQUAL(decode("\x49\x89\x44\x24\x10", 5), 5);        /* mov %rax,0x10(%r12) */
	CU_ASSERT_EQUAL(reg, 0);
	CU_ASSERT_EQUAL(decode("\x48\x89\x90\x00\x01\x00\x00", 7), 7); /* mov %rdx,0x100(%rax) */
	CU_ASSERT_EQUAL(reg, 2);
	CU_ASSERT_EQUAL(decode("\x48\x89\x05\x00\x00\x00\x00", 7), 7); /* mov %rax,0(%rip) */
	CU_ASSERT_EQUAL(decode("\x48\x89\x0c\x25\x00\x10\x00\x00", 8), 8); /* mov %rcx,0x1000 (SIB, no base) */
	CU_ASSERT_EQUAL(reg, 1);
	CU_ASSERT_EQUAL(decode("\x48\x89\x84\x24\x00\x01\x00\x00", 8), 8); /* mov %rax,0x100(%rsp) */
	CU_ASSERT_EQUAL(decode("\x48\x87\x07", 3), 3);                /* xchg %rax,(%rdi) */
	CU_ASSERT_EQUAL(reg, 0);
	CU_ASSERT_EQUAL(op, OP(XCHG, 8));
}

/* The read-modify-write forms of Linux's bit operations on entries, with lock or its one-CPU ds. */
static void test_ptwr_decode_rmw(void)
{
	CU_ASSERT_EQUAL(decode("\x3e\x41\x80\x27\xfd", 5), 5);        /* ds andb $0xfd,(%r15): init's fork */
	CU_ASSERT_EQUAL(op, OP(AND | IMM, 1));
	CU_ASSERT_EQUAL(imm, (uint64_t)-3);
	CU_ASSERT_EQUAL(decode("\xf0\x80\x0f\x02", 4), 4);            /* lock orb $2,(%rdi) */
	CU_ASSERT_EQUAL(op, OP(OR | IMM, 1));
	CU_ASSERT_EQUAL(imm, 2);
	CU_ASSERT_EQUAL(decode("\xf0\x41\x80\x64\x24\x10\xfd", 7), 7); /* lock andb $0xfd,0x10(%r12) */
	CU_ASSERT_EQUAL(op, OP(AND | IMM, 1));
	CU_ASSERT_EQUAL(decode("\xf0\x48\x0f\xba\x37\x05", 6), 6);    /* lock btrq $5,(%rdi): test_and_clear_young */
	CU_ASSERT_EQUAL(op, OP(BTR | IMM, 8));
	CU_ASSERT_EQUAL(imm, 5);
	CU_ASSERT_EQUAL(decode("\x3e\x48\x0f\xba\x6b\x08\x01", 7), 7); /* ds btsq $1,0x8(%rbx) */
	CU_ASSERT_EQUAL(op, OP(BTS | IMM, 8));
	CU_ASSERT_EQUAL(imm, 1);
	CU_ASSERT_EQUAL(decode("\x0f\xba\x37\x05", 4), 4);            /* btrl $5,(%rdi) */
	CU_ASSERT_EQUAL(op, OP(BTR | IMM, 4));
	CU_ASSERT_EQUAL(decode("\xf0\x48\x0f\xb1\x17", 5), 5);        /* lock cmpxchg %rdx,(%rdi) */
	CU_ASSERT_EQUAL(op, OP(CMPXCHG, 8));
	CU_ASSERT_EQUAL(reg, 2);
	CU_ASSERT_EQUAL(decode("\x48\x83\x27\xfd", 4), 4);            /* andq $-3,(%rdi) */
	CU_ASSERT_EQUAL(op, OP(AND | IMM, 8));
	CU_ASSERT_EQUAL(imm, (uint64_t)-3);
	CU_ASSERT_EQUAL(decode("\x48\x81\x0f\x00\x01\x00\x80", 7), 7); /* orq $-0x7fffff00,(%rdi) */
	CU_ASSERT_EQUAL(op, OP(OR | IMM, 8));
	CU_ASSERT_EQUAL(imm, 0xffffffff80000100ull);
	CU_ASSERT_EQUAL(decode("\x83\x0f\x40", 3), 3);                /* orl $0x40,(%rdi) */
	CU_ASSERT_EQUAL(op, OP(OR | IMM, 4));
	CU_ASSERT_EQUAL(decode("\x48\x21\x07", 3), 3);                /* andq %rax,(%rdi) */
	CU_ASSERT_EQUAL(op, OP(AND, 8));
	CU_ASSERT_EQUAL(reg, 0);
	CU_ASSERT_EQUAL(decode("\xf0\x4c\x09\x47\x08", 5), 5);        /* lock orq %r8,0x8(%rdi) */
	CU_ASSERT_EQUAL(op, OP(OR, 8));
	CU_ASSERT_EQUAL(reg, 8);
	CU_ASSERT_EQUAL(decode("\x40\x08\x37", 3), 3);                /* orb %sil,(%rdi) */
	CU_ASSERT_EQUAL(op, OP(OR, 1));
	CU_ASSERT_EQUAL(reg, 6);
	CU_ASSERT_EQUAL(decode("\x20\x0f", 2), 2);                    /* andb %cl,(%rdi) */
	CU_ASSERT_EQUAL(op, OP(AND, 1));
	CU_ASSERT_EQUAL(reg, 1);
}

static void test_ptwr_refuses(void)
{
	/* 4-byte halves of a whole entry, register destinations, loads, other opcodes and prefixes. */
	CU_ASSERT_EQUAL(decode("\x89\x37", 2), 0);
	CU_ASSERT_EQUAL(decode("\x40\x89\x37", 3), 0);
	CU_ASSERT_EQUAL(decode("\xf0\x0f\xb1\x17", 4), 0);            /* lock cmpxchg %edx,(%rdi) */
	CU_ASSERT_EQUAL(decode("\x48\x89\xc7", 3), 0);
	CU_ASSERT_EQUAL(decode("\x48\x8b\x07", 3), 0);
	CU_ASSERT_EQUAL(decode("\x3e\x41\x80\xe7\xfd", 5), 0);        /* andb $0xfd,%r15b */
	CU_ASSERT_EQUAL(decode("\x80\x37\x01", 3), 0);                /* xorb $1,(%rdi) */
	CU_ASSERT_EQUAL(decode("\x48\x83\x07\x01", 4), 0);            /* addq $1,(%rdi) */
	CU_ASSERT_EQUAL(decode("\x48\x0f\xba\x27\x05", 5), 0);        /* btq $5,(%rdi): no store */
	CU_ASSERT_EQUAL(decode("\x48\x0f\xba\x3f\x05", 5), 0);        /* btcq $5,(%rdi) */
	CU_ASSERT_EQUAL(decode("\xf0\x48\x0f\xab\x07", 5), 0);        /* lock bts %rax,(%rdi): a bit string */
	CU_ASSERT_EQUAL(decode("\xf0\x48\x0f\xc7\x0f", 5), 0);        /* lock cmpxchg16b (%rdi) */
	CU_ASSERT_EQUAL(decode("\xf0\x0f\xc7\x0f", 4), 0);            /* lock cmpxchg8b (%rdi) */
	CU_ASSERT_EQUAL(decode("\x08\x27", 2), 0);                    /* orb %ah,(%rdi): no REX, reg 4 */
	CU_ASSERT_EQUAL(decode("\x66\x48\x89\x07", 4), 0);            /* an operand-size prefix */
	CU_ASSERT_EQUAL(decode("\xf3\x48\x89\x07", 4), 0);
	CU_ASSERT_EQUAL(decode("\xf0\x3e\x48\x89\x07", 5), 0);        /* two prefixes */
}

/* Where kxen-hv pushes an event upcall: Xen's frame below the kernel's rsp, or on kernel_sp for a process. */
static void test_upcall_plan(void)
{
	uint64_t f[7], base = 0;
	struct pvl_stop k = { PVL_UP_KERNEL, 0x33, 0xffffffff81234567ull, 0xffffc90000003f58ull, 0x246, 11, 22 };

	/* The kernel, here often with cs 0x33 after a hypercall the layer answered: a kernel frame. */
	CU_ASSERT_EQUAL(pvl_upcall_plan(&k, 0xffffc90000100000ull, f, &base), PVL_UP_KERNEL);
	CU_ASSERT_EQUAL(base, 0xffffc90000003f50ull - 56);
	CU_ASSERT_EQUAL(f[0], 11);
	CU_ASSERT_EQUAL(f[1], 22);
	CU_ASSERT_EQUAL(f[2], 0xffffffff81234567ull);
	CU_ASSERT_EQUAL(f[3], PVL_SEL_K_CS & ~3);     /* RPL 0: Linux's user_mode() is false */
	CU_ASSERT_EQUAL(f[4], 0x246);
	CU_ASSERT_EQUAL(f[5], 0xffffc90000003f58ull);
	CU_ASSERT_EQUAL(f[6], PVL_SEL_K_SS);
	/* A process: on Linux's kernel stack, its own cs and ss, IF set. */
	struct pvl_stop u = { PVL_UP_USER, PVL_SEL_U_CS, 0x401000, 0x7ffc0000fff8ull, 0x202 & ~0x200, 1, 2 };
	CU_ASSERT_EQUAL(pvl_upcall_plan(&u, 0xffffc90000104000ull, f, &base), PVL_UP_USER);
	CU_ASSERT_EQUAL(base, 0xffffc90000104000ull - 56);
	CU_ASSERT_EQUAL(f[3], PVL_SEL_U_CS);
	CU_ASSERT_EQUAL(f[4] & 0x200, 0x200);
	CU_ASSERT_EQUAL(f[5], 0x7ffc0000fff8ull);
	CU_ASSERT_EQUAL(f[6], PVL_SEL_U_DS);
	/* Not now: ring 0 (kxen's stubs), kxen's layer at CPL 3, a mode kxen cannot tell. */
	struct pvl_stop r0 = k;
	r0.cs = PVL_SEL_R0_CS;
	CU_ASSERT_EQUAL(pvl_upcall_plan(&r0, 0, f, &base), PVL_UP_NONE);
	struct pvl_stop layer = k;
	layer.rip = PVL_KX_VA + 0x123;
	CU_ASSERT_EQUAL(pvl_upcall_plan(&layer, 0, f, &base), PVL_UP_NONE);
	struct pvl_stop none = k;
	none.mode = PVL_UP_NONE;
	CU_ASSERT_EQUAL(pvl_upcall_plan(&none, 0, f, &base), PVL_UP_NONE);
}

static int setup(void)
{
	ram = calloc(1, RAM);
	return ram ? 0 : -1;
}

static int teardown(void)
{
	free(ram);
	return 0;
}

int main(void)
{
	static const struct cunit_test tests[] = {
		{ "walk: 4 KiB, 2 MiB, 1 GiB pages", test_walk_levels },
		{ "walk: holes, read-only, non-canonical, tables beyond RAM", test_walk_refuses },
		{ "int3 behind a stop: through the tables, across pages, unmapped", test_int3_behind },
		{ "guest-virtual access: contiguous frames only", test_gmem_ptr },
		{ "set_boot checks for a Linux guest", test_check_boot },
		{ "U bit on the builder's initial tables", test_adjust_initial },
		{ "register_vcpu_info: checks and the move", test_register_vcpu_info },
		{ "ptwr: the page-table store decoder", test_ptwr_decode },
		{ "ptwr: read-modify-write forms (and, or, bts, btr, cmpxchg)", test_ptwr_decode_rmw },
		{ "ptwr: what the decoder refuses", test_ptwr_refuses },
		{ "upcall: where kxen-hv pushes Xen's frame", test_upcall_plan },
	};
	return cunit_run("pvl", tests, CUNIT_COUNT(tests), setup, teardown);
}
