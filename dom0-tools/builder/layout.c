/* Writes the builder-owned pages of abi.h: identity page tables, GDT, TSSes, I/O bitmap, IDT, fault stubs. */
#include <errno.h>
#include <string.h>
#include "kxen/kxbuild.h"

#define PTE_P   0x001ULL
#define PTE_RW  0x002ULL
#define PTE_US  0x004ULL
#define PTE_PS  0x080ULL
#define PTE_DIR (PTE_P | PTE_RW | PTE_US)   /* non-leaf: the leaf decides */

#define GIB           (1ULL << 30)
#define TSS_SIZE      104
#define TSS_RSP0      0x04
#define TSS_IOMAP     0x66
#define IOBITMAP_SIZE 8192

/* Guest RAM is little-endian like the host, but offsets inside descriptors are unaligned. */
static void put16(uint8_t *p, uint16_t v) { memcpy(p, &v, sizeof v); }
static void put64(uint8_t *p, uint64_t v) { memcpy(p, &v, sizeof v); }

static void write_page_tables(uint8_t *ram, uint64_t mem)
{
	uint64_t gibs = (mem + GIB - 1) / GIB;
	uint64_t chunks = mem / KXEN_LARGE_PAGE_SIZE;
	uint64_t g, c, a;

	put64(ram + KXEN_PV_PML4, KXEN_PV_PDPT | PTE_DIR);
	for (g = 0; g < gibs; g++)
		put64(ram + KXEN_PV_PDPT + g * 8, (KXEN_PV_PD_BASE + g * KXEN_PAGE_SIZE) | PTE_DIR);

	/* PDs of consecutive GiBs are consecutive pages, so chunk c's entry is at PD_BASE + 8c. */
	put64(ram + KXEN_PV_PD_BASE, KXEN_PV_PT0 | PTE_DIR);
	for (c = 1; c < chunks; c++)
		put64(ram + KXEN_PV_PD_BASE + c * 8,
		      (c * KXEN_LARGE_PAGE_SIZE) | PTE_P | PTE_RW | PTE_US | PTE_PS);

	/* Page 0 stays absent so NULL faults; builder pages are hidden from CPL 3. */
	for (a = 0; a < KXEN_LARGE_PAGE_SIZE; a += KXEN_PAGE_SIZE) {
		uint64_t pte = 0;

		if (a >= KXEN_PV_RESERVED_START && a < KXEN_PV_RESERVED_END)
			pte = a | PTE_P | PTE_RW;
		else if (a)
			pte = a | PTE_P | PTE_RW | PTE_US;
		put64(ram + KXEN_PV_PT0 + (a / KXEN_PAGE_SIZE) * 8, pte);
	}
}

static void put_tss_desc(uint8_t *p, uint64_t base, uint32_t limit)
{
	uint64_t lo = (limit & 0xffffULL) |
	              ((base & 0xffffffULL) << 16) |
	              (0xbULL << 40) |              /* 64-bit TSS, busy: KVM loads TR directly */
	              (1ULL << 47) |                /* present, DPL 0, byte granularity */
	              ((uint64_t)((limit >> 16) & 0xf) << 48) |
	              (((base >> 24) & 0xff) << 56);

	put64(p, lo);
	put64(p + 8, base >> 32);
}

static void write_gdt_tss(uint8_t *ram, unsigned vcpus)
{
	uint8_t *gdt = ram + KXEN_PV_GDT;
	unsigned i;

	put64(gdt + 1 * 8, 0x00209a0000000000ULL);  /* 0x08: ring-0 code, the fault stubs */
	put64(gdt + 2 * 8, 0x0000920000000000ULL);  /* 0x10: ring-0 data */
	put64(gdt + 3 * 8, 0x0020fa0000000000ULL);  /* 0x1b: the guest's 64-bit code */
	put64(gdt + 4 * 8, 0x0000f20000000000ULL);  /* 0x23: the guest's data */

	for (i = 0; i < vcpus; i++) {
		uint64_t base = KXEN_PV_TSS_BASE + i * KXEN_PV_TSS_STRIDE;
		uint8_t *tss = ram + base;

		/* The limit reaches the bitmap's terminator, so every TSS shares the one bitmap. */
		put_tss_desc(gdt + KXEN_SEL_TSS(i), base, (uint32_t)(KXEN_PV_IOBITMAP_END - 1 - base));
		put64(tss + TSS_RSP0, KXEN_PV_RING0_STACKS + (i + 1) * KXEN_PAGE_SIZE);
		put16(tss + TSS_IOMAP, (uint16_t)(KXEN_PV_IOBITMAP - base));
	}
}

static void write_iobitmap(uint8_t *ram)
{
	uint8_t *bm = ram + KXEN_PV_IOBITMAP;
	unsigned port;

	memset(bm, 0xff, IOBITMAP_SIZE);
	/* Only the 4-byte hypercall out is allowed at CPL 3; the fault port is ring 0's. */
	for (port = KXEN_HYPERCALL_PORT; port < KXEN_HYPERCALL_PORT + 4; port++)
		bm[port / 8] &= (uint8_t)~(1u << (port % 8));
	/* And the 4-byte event-channel doorbell. */
	for (port = KXEN_DOORBELL_PORT; port < KXEN_DOORBELL_PORT + 4; port++)
		bm[port / 8] &= (uint8_t)~(1u << (port % 8));
	ram[KXEN_PV_IOBITMAP_END - 1] = 0xff;
}

static int pushes_error_code(unsigned v)
{
	switch (v) {
	case 8: case 10: case 11: case 12: case 13: case 14: case 17: case 21: case 29: case 30:
		return 1;
	default:
		return 0;
	}
}

static void write_idt_stubs(uint8_t *ram)
{
	uint8_t *idt = ram + KXEN_PV_IDT;
	unsigned v;

	memset(ram + KXEN_PV_FAULT_STUBS, 0xcc, 256 * KXEN_PV_FAULT_STUB_SIZE);
	for (v = 0; v < 256; v++) {
		uint64_t stub = KXEN_PV_FAULT_STUBS + v * KXEN_PV_FAULT_STUB_SIZE;
		uint8_t *s = ram + stub;
		uint64_t lo;

		/* Equalise the frame so the hypervisor always finds [rax][err][rip][cs]... */
		if (!pushes_error_code(v)) {
			*s++ = 0x6a; *s++ = 0x00;                 /* push $0 */
		}
		*s++ = 0x50;                                  /* push %rax */
		*s++ = 0xb0; *s++ = (uint8_t)v;               /* mov $v,%al */
		*s++ = 0xe6; *s++ = KXEN_FAULT_PORT;          /* out %al,$port */
		*s++ = 0xeb; *s++ = 0xfe;                     /* jmp . (the domain is crashed) */

		lo = (stub & 0xffff) |
		     ((uint64_t)KXEN_SEL_KERNEL_CS << 16) |
		     (0xeULL << 40) |                         /* interrupt gate, DPL 0, IST 0 */
		     (1ULL << 47) |
		     (((stub >> 16) & 0xffff) << 48);
		put64(idt + v * 16, lo);
		put64(idt + v * 16 + 8, stub >> 32);
	}
}

int kxbuild_write_layout(uint8_t *ram, uint64_t mem_bytes, unsigned vcpus)
{
	if (!ram || mem_bytes % KXEN_LARGE_PAGE_SIZE ||
	    mem_bytes < KXEN_PV_MIN_MEM || mem_bytes > KXEN_PV_MAX_MEM ||
	    vcpus == 0 || vcpus > KXEN_PV_MAX_VCPUS)
		return -EINVAL;
	/* Page 0 and the whole reserved area start clean: RAM from a test need not be zeroed. */
	memset(ram, 0, KXEN_PV_RESERVED_END);
	write_page_tables(ram, mem_bytes);
	write_gdt_tss(ram, vcpus);
	write_iobitmap(ram);
	write_idt_stubs(ram);
	return 0;
}
