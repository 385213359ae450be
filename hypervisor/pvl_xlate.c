/* The Linux PV flavour's pure parts: page-table walks for kxen-hv's guest-virtual access and the set_boot checks. */
#include <errno.h>
#include <string.h>

#include "kxen-hv.h"
#include "gmem.h"
#include "pvl.h"
#include "pvl_layout.h"

#define PTE_P   0x1ull
#define PTE_RW  0x2ull
#define PTE_PS  0x80ull
#define PTE_ADDR 0x000ffffffffff000ull

static bool canonical(uint64_t va)
{
	return va < (1ull << 47) || va >= 0xffff800000000000ull;
}

int64_t pvl_walk(const uint8_t *ram, uint64_t ram_size, uint64_t l4, uint64_t va, bool write)
{
	uint64_t table = l4;

	if (!canonical(va))
		return -EFAULT;
	for (int shift = 39; shift >= 12; shift -= 9) {
		uint64_t e;
		if (table & (KXEN_PAGE_SIZE - 1) || table >= ram_size || ram_size - table < KXEN_PAGE_SIZE)
			return -EFAULT;
		memcpy(&e, ram + table + ((va >> shift) & 511) * 8, 8);
		if (!(e & PTE_P) || (write && !(e & PTE_RW)))
			return -EFAULT;
		if (shift == 12 || ((e & PTE_PS) && (shift == 21 || shift == 30))) {
			uint64_t size = 1ull << shift;
			uint64_t pa = (e & PTE_ADDR & ~(size - 1)) | (va & (size - 1));
			return pa < ram_size ? (int64_t)pa : -EFAULT;
		}
		table = e & PTE_ADDR;
	}
	return -EFAULT;
}

bool pvl_int3_behind(const uint8_t *ram, uint64_t ram_size, uint64_t l4, uint64_t rip)
{
	int64_t pa = pvl_walk(ram, ram_size, l4, rip - 1, false);

	return pa >= 0 && ram[pa] == 0xcc;
}

/* A vCPU thread's own kernel L4 (its info page), for its domain's memory (pvl_thread_walk_from). */
static __thread const struct guest_mem *thread_mem;
static __thread const uint64_t *thread_l4;

void pvl_thread_walk_from(const struct guest_mem *m, const uint64_t *l4)
{
	thread_mem = m;
	thread_l4 = l4;
}

void *pvl_gmem_ptr(const struct guest_mem *m, uint64_t va, uint64_t len)
{
	uint64_t l4 = __atomic_load_n(m == thread_mem ? thread_l4 : m->pv_l4, __ATOMIC_ACQUIRE);
	int64_t first;

	if (!m->base || len == 0 || va + len - 1 < va)
		return NULL;
	first = pvl_walk(m->base, m->size, l4, va, false);
	if (first < 0)
		return NULL;
	/* Each further page must follow the first one physically. */
	for (uint64_t page = (va & ~(KXEN_PAGE_SIZE - 1)) + KXEN_PAGE_SIZE; page < va + len;
	     page += KXEN_PAGE_SIZE) {
		int64_t pa = pvl_walk(m->base, m->size, l4, page, false);
		if (pa < 0 || (uint64_t)pa != (uint64_t)first + (page - va))
			return NULL;
	}
	if ((uint64_t)first + len > m->size)
		return NULL;
	return m->base + first;
}

/* The M2P: one 8-byte entry per frame of RAM. */
static uint64_t m2p_pages(uint64_t mem_bytes)
{
	return (mem_bytes / KXEN_PAGE_SIZE * 8 + KXEN_PAGE_SIZE - 1) / KXEN_PAGE_SIZE;
}

uint64_t pvl_region_pages(uint64_t mem_bytes, unsigned nr_vcpus)
{
	uint64_t m2p = m2p_pages(mem_bytes);

	return PVL_PG_M2P_L1(nr_vcpus) + (m2p + 511) / 512 + m2p;
}

int pvl_check_boot(const uint8_t *ram, uint64_t ram_size, unsigned nr_vcpus,
                   const struct kxctl_set_boot *b, struct pvl *p)
{
	start_info_t si;

	if (nr_vcpus == 0 || nr_vcpus > PVL_MAX_VCPUS)
		return -EINVAL;
	if (b->cr3 & (KXEN_PAGE_SIZE - 1) || b->cr3 >= ram_size || ram_size > PVL_ALIAS_MAX)
		return -EINVAL;
	if (b->start_info_gpa >= ram_size || ram_size - b->start_info_gpa < sizeof(si))
		return -EINVAL;
	memcpy(&si, ram + b->start_info_gpa, sizeof(si));
	if (si.nr_pages == 0 || si.nr_pages > ram_size / KXEN_PAGE_SIZE)
		return -EINVAL;
	/* The L4 slots kxen owns must be free for it: the builder never maps them. */
	for (unsigned slot = PVL_SLOT_HOLE; slot <= PVL_SLOT_ALIAS; slot++) {
		uint64_t e;
		memcpy(&e, ram + b->cr3 + slot * 8, 8);
		if (e & PTE_P)
			return -EINVAL;
	}
	if (pvl_walk(ram, ram_size, b->cr3, b->entry, false) < 0 ||
	    pvl_walk(ram, ram_size, b->cr3, b->stack - 8, true) < 0 ||
	    pvl_walk(ram, ram_size, b->cr3, b->rsi, false) < 0)
		return -EINVAL;
	memset(p, 0, sizeof(*p));
	p->cr3 = b->cr3;
	p->nr_pages = si.nr_pages;
	/* <currentMemory>: the builder's last frame is shared_info, and Linux's e820 runs up to it. */
	p->ram_pages = si.nr_pages;
	if (b->shared_info_gpa == ram_size - KXEN_PAGE_SIZE && b->shared_info_gpa / KXEN_PAGE_SIZE > si.nr_pages)
		p->ram_pages = b->shared_info_gpa / KXEN_PAGE_SIZE;
	p->entry = b->entry;
	p->stack = b->stack;
	p->start_info_va = b->rsi;
	p->gpa = ram_size;
	p->m2p_pages = m2p_pages(ram_size);
	p->nr_vcpus = nr_vcpus;
	p->size = pvl_region_pages(ram_size, nr_vcpus) * KXEN_PAGE_SIZE;
	return 0;
}

/* One table of the initial walk: U on each present entry, recursing into lower tables (not large pages). */
static unsigned adjust_table(uint8_t *ram, uint64_t ram_size, uint64_t table, int level)
{
	unsigned n = 0;

	if (table & (KXEN_PAGE_SIZE - 1) || table >= ram_size || ram_size - table < KXEN_PAGE_SIZE)
		return 0;
	for (unsigned i = 0; i < 512; i++) {
		uint64_t e;
		memcpy(&e, ram + table + i * 8, 8);
		if (!(e & PTE_P))
			continue;
		if (!(e & 0x4)) {
			e |= 0x4;
			memcpy(ram + table + i * 8, &e, 8);
			n++;
		}
		if (level > 1 && !(e & PTE_PS))
			n += adjust_table(ram, ram_size, e & PTE_ADDR, level - 1);
	}
	return n;
}

unsigned pvl_adjust_initial(uint8_t *ram, uint64_t ram_size, uint64_t l4)
{
	return adjust_table(ram, ram_size, l4, 4);
}
