/* Lays out a direct-paging PV kernel as libxc's x86_64 PV builder does (regions, page tables, start_info), and writes it into guest RAM. */
#ifndef __XEN_TOOLS__
#define __XEN_TOOLS__ 1     /* the current interface: the legacy one renames console_evtchn */
#endif
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <xen/xen.h>
#include "builder_int.h"
#include "kxen/kxbuild_pv.h"

#define PAGE          KXEN_PAGE_SIZE
#define PAGE_SHIFT    12
#define LEVEL_SHIFT   9
#define VADDR_MASK    ((1ULL << 48) - 1)
#define ALIGN_4M      ((1ULL << 22) - 1)
#define BOOT_PAD      (512 * 1024 / PAGE)   /* libxc's free space after the boot stack */
/* x86 PTE bits; libxc maps L1 without _PAGE_USER and marks upper levels accessed and dirty. */
#define PTE_P    0x001ULL
#define PTE_RW   0x002ULL
#define PTE_US   0x004ULL
#define PTE_A    0x020ULL
#define PTE_D    0x040ULL
#define PROT_L1  (PTE_P | PTE_RW | PTE_A)
#define PROT_UP  (PTE_P | PTE_RW | PTE_A | PTE_D | PTE_US)
/* kxen's L4 slots 256-271 (Xen's hypervisor hole), as 48-bit addresses. */
#define HOLE_FROM 0x800000000000ULL
#define HOLE_TO   0x87ffffffffffULL

/* libxc's bump allocator: frames from 0 up, virtual addresses from VIRT_BASE up, in step. */
struct alloc {
	struct kxbuild_pv_plan *p;
	uint64_t pfn_end, virt_end;
	char *err;
	size_t errlen;
};

#define fail KXBUILD_FAIL

static int add_region(struct alloc *a, const char *name, uint64_t pfn, uint64_t pages,
                      uint64_t vstart)
{
	struct kxbuild_pv_plan *p = a->p;

	if (p->nr_regions == KXBUILD_PV_MAX_REGIONS)
		return fail(a, -EINVAL, "too many layout regions");
	p->reg[p->nr_regions++] = (struct kxbuild_pv_region){ name, pfn, pages, vstart };
	return 0;
}

static int take(struct alloc *a, const char *name, uint64_t pages)
{
	uint64_t total = a->p->nr_pages;

	if (pages > total || a->pfn_end > total || pages > total - a->pfn_end)
		return fail(a, -E2BIG, "%s (%llu pages at pfn 0x%llx) does not fit in the domain's "
		            "%llu pages (%llu MiB)", name, (unsigned long long)pages,
		            (unsigned long long)a->pfn_end, (unsigned long long)total,
		            (unsigned long long)(total * PAGE >> 20));
	if (a->virt_end + pages * PAGE < a->virt_end)
		return fail(a, -EINVAL, "%s would wrap past the top of the address space", name);
	a->pfn_end += pages;
	a->virt_end += pages * PAGE;
	return 0;
}

static int pad_to(struct alloc *a, const char *name, uint64_t boundary)
{
	uint64_t pfn = a->pfn_end, v = a->virt_end, pages;
	int rc;

	if (boundary < a->virt_end)
		return fail(a, -EINVAL, "%s at 0x%llx is below the layout's end 0x%llx", name,
		            (unsigned long long)boundary, (unsigned long long)a->virt_end);
	pages = (boundary - a->virt_end) / PAGE;
	if (pages == 0)
		return 0;
	if ((rc = take(a, name, pages)))
		return rc;
	return add_region(a, name, pfn, pages, v);
}

/* xc_dom_alloc_segment: at start (0: next), size bytes in whole pages; *pfn its first frame. */
static int segment(struct alloc *a, const char *name, uint64_t start, uint64_t size,
                   int mapped, uint64_t *pfn, uint64_t *vstart)
{
	uint64_t pages = (size + PAGE - 1) / PAGE;
	int rc;

	if (start && (rc = pad_to(a, "free (below the kernel)", start)))
		return rc;
	*pfn = a->pfn_end;
	if (vstart)
		*vstart = a->virt_end;
	if ((rc = take(a, name, pages)))
		return rc;
	return add_region(a, name, *pfn, pages, mapped ? a->virt_end - pages * PAGE : 0);
}

/*
 * libxc's count_pgtables: the tables needed at each level to map [from, to]
 * (inclusive) to frames from pfn on, minus those an earlier mapping already
 * has; they will be allocated from the current end.
 */
static int count_tables(struct alloc *a, uint64_t from, uint64_t to, uint64_t pfn)
{
	struct kxbuild_pv_plan *p = a->p;
	struct kxbuild_pv_map *map = &p->map[p->nr_maps];
	unsigned m;
	int l;

	if (p->nr_maps == 2)
		return fail(a, -EINVAL, "too many mappings");
	if (pfn + ((to - from) >> PAGE_SHIFT) >= p->nr_pages)
		return fail(a, -E2BIG, "not enough memory for the initial mapping of [0x%llx-0x%llx] "
		            "(%llu pages)", (unsigned long long)from, (unsigned long long)to,
		            (unsigned long long)p->nr_pages);
	from &= VADDR_MASK;
	to &= VADDR_MASK;
	if (from <= HOLE_TO && to >= HOLE_FROM)
		return fail(a, -EINVAL, "mapping [0x%llx-0x%llx] enters kxen's reserved L4 slots "
		            "256-271", (unsigned long long)from, (unsigned long long)to);
	for (m = 0; m < p->nr_maps; m++)
		if (from < p->map[m].to && to > p->map[m].from)
			return fail(a, -EINVAL, "mapping [0x%llx-0x%llx] overlaps [0x%llx-0x%llx]",
			            (unsigned long long)from, (unsigned long long)to,
			            (unsigned long long)p->map[m].from, (unsigned long long)p->map[m].to);
	memset(map, 0, sizeof *map);
	map->from = from;
	map->to = to;
	map->pfn = pfn;
	for (l = 3; l >= 0; l--) {
		unsigned bits = PAGE_SHIFT + (l + 1) * LEVEL_SHIFT;
		uint64_t mask = (bits >= 64 ? ~0ULL : (1ULL << bits) - 1), lf, lt;

		map->lvl_pfn[l] = a->pfn_end + map->nr_tables;
		if (l == 3) {
			/* One L4, in the first mapping only. */
			if (p->nr_maps == 0) {
				map->lvl_from[3] = 0;
				map->lvl_to[3] = VADDR_MASK;
				map->lvl_tables[3] = 1;
				map->nr_tables = 1;
			}
			continue;
		}
		lf = from & ~mask;
		lt = to | mask;
		for (m = 0; m < p->nr_maps; m++) {
			const struct kxbuild_pv_map *o = &p->map[m];

			if (!o->lvl_tables[l])
				continue;
			if (lf >= o->lvl_from[l] && lt <= o->lvl_to[l]) {
				lf = lt = 0;
				break;
			}
			if (lf >= o->lvl_from[l] && lf <= o->lvl_to[l])
				lf = o->lvl_to[l] + 1;
			if (lt >= o->lvl_from[l] && lt <= o->lvl_to[l])
				lt = o->lvl_from[l] - 1;
		}
		map->lvl_from[l] = lf;
		map->lvl_to[l] = lt;
		if (lf < lt)
			map->lvl_tables[l] = (unsigned)(((lt - lf) >> bits) + 1);
		map->nr_tables += map->lvl_tables[l];
	}
	return 0;
}

/* libxc's alloc_pgtables_pv: grow the mapped region to a 4 MiB boundary until its own tables fit. */
static int alloc_pgtables(struct alloc *a, const struct kxbuild_pvimage *img)
{
	struct kxbuild_pv_plan *p = a->p;
	uint64_t extra = 1 + BOOT_PAD, pages = extra, try_end;
	int rc;

	for (;;) {
		if (a->virt_end + pages * PAGE < a->virt_end ||
		    ((a->virt_end + pages * PAGE) | ALIGN_4M) < a->virt_end)
			return fail(a, -EINVAL, "the bootstrap region would wrap past the top of the "
			            "address space");
		try_end = (a->virt_end + pages * PAGE) | ALIGN_4M;
		if ((rc = count_tables(a, img->virt_base, try_end, 0)))
			return rc;
		pages = p->map[p->nr_maps].nr_tables + extra;
		if (a->virt_end + pages * PAGE <= try_end + 1)
			break;
	}
	p->nr_maps++;
	p->virt_pgtab_end = try_end + 1;
	p->nr_pt_frames = p->map[0].nr_tables;
	return segment(a, "page tables", 0, (uint64_t)p->map[0].nr_tables * PAGE, 1, &p->pt_pfn,
	               &p->pt_base);
}

/* The p2m (one 8-byte entry per page), at INIT_P2M with its own tables, or in the bootstrap map. */
static int alloc_p2m(struct alloc *a, int at_init_p2m)
{
	struct kxbuild_pv_plan *p = a->p;
	uint64_t bytes = (p->nr_pages * 8 + PAGE - 1) & ~(PAGE - 1), size = bytes, vstart;
	int rc, l;

	p->p2m_pages = bytes / PAGE;
	if (at_init_p2m) {
		struct kxbuild_pv_map *map = &p->map[p->nr_maps];

		if ((rc = count_tables(a, p->mfn_list, p->mfn_list + bytes - 1, a->pfn_end)))
			return rc;
		/* Its tables follow the list itself. */
		for (l = 0; l < 4; l++)
			map->lvl_pfn[l] += bytes / PAGE;
		p->nr_maps++;
		size += (uint64_t)map->nr_tables * PAGE;
	}
	if ((rc = segment(a, "p2m list", 0, size, !at_init_p2m, &p->p2m_pfn, &vstart)))
		return rc;
	if (at_init_p2m) {
		p->reg[p->nr_regions - 1].vstart = p->mfn_list;
		p->first_p2m_pfn = p->p2m_pfn;
		p->nr_p2m_frames = size / PAGE;
	} else {
		p->mfn_list = vstart;
	}
	return 0;
}

static int initrd_segment(struct alloc *a, uint64_t len, int unmapped)
{
	struct kxbuild_pv_plan *p = a->p;
	uint64_t vstart;
	int rc = segment(a, "initrd", 0, len, !unmapped, &p->initrd_pfn, &vstart);

	if (rc)
		return rc;
	p->mod_start = unmapped ? p->initrd_pfn : vstart;
	p->mod_len = len;
	if (unmapped)
		p->flags |= SIF_MOD_START_PFN;
	return 0;
}

int kxbuild_pv_plan(const struct kxbuild_pvimage *img, uint64_t mem_bytes,
                    uint64_t initrd_len, struct kxbuild_pv_plan *p, char *err, size_t errlen)
{
	return kxbuild_pv_plan_current(img, mem_bytes, 0, initrd_len, p, err, errlen);
}

int kxbuild_pv_plan_current(const struct kxbuild_pvimage *img, uint64_t mem_bytes, uint64_t cur_bytes,
                            uint64_t initrd_len, struct kxbuild_pv_plan *p, char *err, size_t errlen)
{
	struct alloc a = { .p = p, .err = err, .errlen = errlen };
	uint64_t v;
	int rc, p2m_late;

	memset(p, 0, sizeof *p);
	if (err && errlen)
		err[0] = '\0';
	if (mem_bytes < 2 * PAGE || mem_bytes % PAGE)
		return fail(&a, -EINVAL, "memory %llu bytes is not a whole number of pages",
		            (unsigned long long)mem_bytes);
	p->mem_pages = mem_bytes / PAGE;
	/* Xen's shared_info is a hypervisor frame outside the guest's RAM: here, the last one. */
	p->shared_info_pfn = p->mem_pages - 1;
	p->nr_pages = p->mem_pages - 1;
	/* As libxc with memory= below maxmem: start_info's nr_pages is the target, the e820 the maximum. */
	if (cur_bytes && cur_bytes / PAGE < p->nr_pages)
		p->nr_pages = cur_bytes / PAGE;
	p->virt_base = img->virt_base;
	p->flags = SIF_VIRT_P2M_4TOOLS;
	a.virt_end = img->virt_base;

	if ((rc = segment(&a, "kernel", img->virt_kstart, img->virt_kend - img->virt_kstart, 1,
	                  &p->kernel_pfn, &v)))
		return rc;
	if (initrd_len && !img->mod_start_pfn && (rc = initrd_segment(&a, initrd_len, 0)))
		return rc;
	/* libxc ignores an INIT_P2M that is not below VIRT_BASE and page-aligned. */
	p2m_late = img->init_p2m != KXBUILD_PV_UNSET && img->init_p2m < img->virt_base &&
	           !(img->init_p2m & (PAGE - 1));
	if (!p2m_late && (rc = alloc_p2m(&a, 0)))
		return rc;
	if ((rc = segment(&a, "start_info", 0, PAGE, 1, &p->start_info_pfn, &p->start_info_va)) ||
	    (rc = segment(&a, "xenstore", 0, PAGE, 1, &p->store_pfn, &v)) ||
	    (rc = segment(&a, "console", 0, PAGE, 1, &p->console_pfn, &v)) ||
	    (rc = alloc_pgtables(&a, img)) ||
	    (rc = segment(&a, "boot stack", 0, PAGE, 1, &p->stack_pfn, &v)) ||
	    (rc = pad_to(&a, "free (mapped, up to the 4 MiB boundary)", p->virt_pgtab_end)))
		return rc;
	p->stack_top = v + PAGE;
	if (initrd_len && img->mod_start_pfn && (rc = initrd_segment(&a, initrd_len, 1)))
		return rc;
	if (p2m_late) {
		p->mfn_list = img->init_p2m;
		if ((rc = alloc_p2m(&a, 1)))
			return rc;
	}
	p->alloc_end_pfn = a.pfn_end;
	p->entry = img->entry;
	p->cr3 = p->pt_pfn << PAGE_SHIFT;
	return 0;
}

/* The frame of the level-l table that covers va, or 0 (never a table frame: pfn 0 is not one). */
static uint64_t table_for(const struct kxbuild_pv_plan *p, int l, uint64_t va)
{
	unsigned m, bits = PAGE_SHIFT + (l + 1) * LEVEL_SHIFT;

	for (m = 0; m < p->nr_maps; m++) {
		const struct kxbuild_pv_map *map = &p->map[m];

		if (map->lvl_tables[l] && va >= map->lvl_from[l] && va <= map->lvl_to[l])
			return map->lvl_pfn[l] + (bits >= 64 ? 0 : (va - map->lvl_from[l]) >> bits);
	}
	return 0;
}

/* Xen refuses writable mappings of page-table frames: map them read-only. */
static int is_pt_frame(const struct kxbuild_pv_plan *p, uint64_t pfn)
{
	unsigned m;

	for (m = 0; m < p->nr_maps; m++)
		if (pfn >= p->map[m].lvl_pfn[3] && pfn < p->map[m].lvl_pfn[3] + p->map[m].nr_tables)
			return 1;
	return 0;
}

static uint64_t leaf_entry(const struct kxbuild_pv_plan *p, uint64_t va)
{
	unsigned m;

	for (m = 0; m < p->nr_maps; m++) {
		const struct kxbuild_pv_map *map = &p->map[m];

		if (va >= map->from && va <= map->to) {
			uint64_t pfn = map->pfn + ((va - map->from) >> PAGE_SHIFT);

			return (pfn << PAGE_SHIFT) | (is_pt_frame(p, pfn) ? PROT_L1 & ~PTE_RW : PROT_L1);
		}
	}
	return 0;
}

static void write_page_tables(uint8_t *ram, const struct kxbuild_pv_plan *p)
{
	unsigned m, t, i;
	int l;

	for (m = 0; m < p->nr_maps; m++)
		for (l = 3; l >= 0; l--) {
			const struct kxbuild_pv_map *map = &p->map[m];
			unsigned shift = PAGE_SHIFT + l * LEVEL_SHIFT;

			for (t = 0; t < map->lvl_tables[l]; t++) {
				uint8_t *tab = ram + (map->lvl_pfn[l] + t) * PAGE;

				for (i = 0; i < 512; i++) {
					uint64_t va = map->lvl_from[l] + (((uint64_t)t * 512 + i) << shift), e, sub;

					if (va > map->lvl_to[l])
						break;
					if (l == 0) {
						e = leaf_entry(p, va);
					} else {
						sub = table_for(p, l - 1, va);
						e = sub ? (sub << PAGE_SHIFT) | PROT_UP : 0;
					}
					memcpy(tab + i * 8, &e, 8);
				}
			}
		}
}

static void write_start_info(uint8_t *ram, const struct kxbuild_pv_plan *p,
                             const struct kxbuild_pv_boot *boot)
{
	start_info_t *si = (start_info_t *)(ram + p->start_info_pfn * PAGE);

	memset(si, 0, PAGE);
	snprintf(si->magic, sizeof si->magic, "xen-3.0-x86_64");
	si->nr_pages = p->nr_pages;
	si->shared_info = p->shared_info_pfn * PAGE;
	si->flags = p->flags;
	si->store_mfn = p->store_pfn;
	si->store_evtchn = boot->store_evtchn;
	si->console.domU.mfn = p->console_pfn;
	si->console.domU.evtchn = boot->console_evtchn;
	si->pt_base = p->pt_base;
	si->nr_pt_frames = p->nr_pt_frames;
	si->mfn_list = p->mfn_list;
	si->mod_start = p->mod_start;
	si->mod_len = p->mod_len;
	si->first_p2m_pfn = p->first_p2m_pfn;
	si->nr_p2m_frames = p->nr_p2m_frames;
	if (boot->cmdline)
		snprintf((char *)si->cmd_line, sizeof si->cmd_line, "%s", boot->cmdline);
}

void kxbuild_pv_write(uint8_t *ram, const struct kxbuild_pv_plan *p,
                      const struct kxbuild_pvimage *img, const uint8_t *elf,
                      const uint8_t *initrd, uint64_t initrd_len,
                      const struct kxbuild_pv_boot *boot)
{
	shared_info_t *sh = (shared_info_t *)(ram + p->shared_info_pfn * PAGE);
	uint64_t *p2m = (uint64_t *)(ram + p->p2m_pfn * PAGE), i;
	unsigned s;

	/* libxc clears every segment it allocates; so do we, whatever RAM we were given. */
	memset(ram, 0, p->alloc_end_pfn * PAGE);
	memset(sh, 0, PAGE);
	for (s = 0; s < img->nr_segments; s++) {
		const struct kxbuild_segment *seg = &img->seg[s];

		memcpy(ram + p->kernel_pfn * PAGE + (seg->paddr - img->pstart), elf + seg->offset,
		       seg->filesz);
	}
	if (initrd_len)
		memcpy(ram + p->initrd_pfn * PAGE, initrd, initrd_len);
	/* Machine frames are guest frames (docs/guest-abi.md): the p2m is the identity. */
	for (i = 0; i < p->nr_pages; i++)
		p2m[i] = i;
	write_start_info(ram, p, boot);
	write_page_tables(ram, p);
	/* As libxc: events stay masked until the guest is ready for them. */
	for (s = 0; s < XEN_LEGACY_MAX_VCPUS; s++)
		sh->vcpu_info[s].evtchn_upcall_mask = 1;
}

void kxbuild_pv_print(FILE *f, const struct kxbuild_pv_plan *p, const struct kxbuild_pvimage *img)
{
	char req[256], sup[256];
	unsigned i;

	fprintf(f, "  direct-paging PV layout (as libxc's xen-3.0-x86_64 builder), VIRT_BASE 0x%llx:\n",
	        (unsigned long long)p->virt_base);
	for (i = 0; i < p->nr_regions; i++) {
		const struct kxbuild_pv_region *r = &p->reg[i];

		fprintf(f, "    pfn 0x%06llx-0x%06llx  phys 0x%09llx  ", (unsigned long long)r->pfn,
		        (unsigned long long)(r->pfn + r->pages - 1),
		        (unsigned long long)(r->pfn * PAGE));
		if (r->vstart)
			fprintf(f, "virt 0x%016llx  ", (unsigned long long)r->vstart);
		else
			fprintf(f, "%-23s  ", "(not mapped)");
		fprintf(f, "%s, %llu page%s\n", r->name, (unsigned long long)r->pages,
		        r->pages == 1 ? "" : "s");
	}
	if (p->nr_pages < p->shared_info_pfn)
		fprintf(f, "    pfn 0x%06llx-0x%06llx  phys 0x%09llx  %-23s  ballooned out at boot "
		        "(<currentMemory>), %llu pages\n", (unsigned long long)p->nr_pages,
		        (unsigned long long)(p->shared_info_pfn - 1), (unsigned long long)(p->nr_pages * PAGE),
		        "(not populated)", (unsigned long long)(p->shared_info_pfn - p->nr_pages));
	fprintf(f, "    pfn 0x%06llx          phys 0x%09llx  shared_info (outside nr_pages)\n",
	        (unsigned long long)p->shared_info_pfn,
	        (unsigned long long)(p->shared_info_pfn * PAGE));
	fprintf(f, "  initial mapping ends at 0x%llx; %llu page-table frames (read-only), cr3 0x%llx\n",
	        (unsigned long long)p->virt_pgtab_end, (unsigned long long)p->nr_pt_frames,
	        (unsigned long long)p->cr3);
	fprintf(f, "  start_info: nr_pages %llu, flags 0x%x, mfn_list 0x%llx, mod_start 0x%llx, "
	        "mod_len %llu\n", (unsigned long long)p->nr_pages, p->flags,
	        (unsigned long long)p->mfn_list, (unsigned long long)p->mod_start,
	        (unsigned long long)p->mod_len);
	fprintf(f, "  vCPU 0: rip 0x%llx, rsp 0x%llx, rsi 0x%llx (start_info)\n",
	        (unsigned long long)p->entry, (unsigned long long)p->stack_top,
	        (unsigned long long)p->start_info_va);
	kxbuild_feature_names(img->f_required, req, sizeof req);
	kxbuild_feature_names(img->f_supported & ~img->f_required, sup, sizeof sup);
	fprintf(f, "  kernel notes: guest OS %s %s, hypercall page %s, initrd by %s\n",
	        img->guest_os, img->guest_version,
	        img->hypercall_page == KXBUILD_PV_UNSET ? "none" : "yes",
	        img->mod_start_pfn ? "pfn" : "virtual address");
	fprintf(f, "  Xen features the kernel requires: %s; also supports: %s\n",
	        req[0] ? req : "none", sup[0] ? sup : "none");
}
