/* Parses direct-paging PV kernels (Linux): PT_LOAD segments by p_paddr and the Xen ELF notes, checked as libelf does. */
#include <elf.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <xen/features.h>
#include "elf_int.h"
#include "kxen/kxbuild_pv.h"

#define PAGE        KXEN_PAGE_SIZE
#define CANONICAL(v) ((v) < (1ULL << 47) || (v) >= 0xffff800000000000ULL)

int kxbuild_elf_kind(const void *file, size_t len, char *err, size_t errlen)
{
	struct elf_ctx c = { .file = file, .len = len, .err = err, .errlen = errlen };
	struct xen_notes n;
	char features[256];
	Elf64_Ehdr eh;
	int rc;

	if ((rc = elf__open(&c, &eh, &n)) || (rc = elf__read_notes(&c, &eh, &n)))
		return rc;
	if (n.count == 0)
		return elf__fail(&c, -ENOEXEC, "no Xen ELF notes: not a xenpv kernel");
	/* Without FEATURES, libelf assumes a kernel that manages its own page tables. */
	if (!n.found[XEN_ELFNOTE_FEATURES])
		return KXBUILD_KIND_DIRECT_PAGING;
	if ((rc = elf__note_str(&c, &n, XEN_ELFNOTE_FEATURES, features, sizeof features)))
		return rc;
	return elf__has_feature(features, "auto_translated_physmap") ?
	       KXBUILD_KIND_AUTOTRANSLATED : KXBUILD_KIND_DIRECT_PAGING;
}

/* XENFEAT_* bits by the names FEATURES uses (libelf's table, from <xen/features.h>). */
static const struct {
	const char *name;
	unsigned bit;
} feature_names[] = {
	{ "writable_page_tables", XENFEAT_writable_page_tables },
	{ "writable_descriptor_tables", XENFEAT_writable_descriptor_tables },
	{ "auto_translated_physmap", XENFEAT_auto_translated_physmap },
	{ "supervisor_mode_kernel", XENFEAT_supervisor_mode_kernel },
	{ "pae_pgdir_above_4gb", XENFEAT_pae_pgdir_above_4gb },
	{ "mmu_pt_update_preserve_ad", XENFEAT_mmu_pt_update_preserve_ad },
	{ "hvm_callback_vector", XENFEAT_hvm_callback_vector },
	{ "dom0", XENFEAT_dom0 },
	{ "linux_rsdp_unrestricted", XENFEAT_linux_rsdp_unrestricted },
};

/* libelf's rule: "name" is supported, "!name" required (and so supported); unknown names are ignored. */
static void parse_features(const char *features, uint32_t *supported, uint32_t *required)
{
	const char *p = features;

	while (*p) {
		size_t len = strcspn(p, "|"), i;
		int req = *p == '!';

		for (i = 0; i < sizeof feature_names / sizeof feature_names[0]; i++)
			if (len - req == strlen(feature_names[i].name) &&
			    !memcmp(p + req, feature_names[i].name, len - req)) {
				*supported |= 1u << feature_names[i].bit;
				if (req)
					*required |= 1u << feature_names[i].bit;
			}
		p += len + (p[len] == '|');
	}
}

int kxbuild_feature_names(uint32_t bits, char *buf, size_t size)
{
	size_t used = 0, i;

	buf[0] = '\0';
	for (i = 0; i < sizeof feature_names / sizeof feature_names[0]; i++) {
		if (!(bits & (1u << feature_names[i].bit)))
			continue;
		bits &= ~(1u << feature_names[i].bit);
		used += (size_t)snprintf(buf + used, used < size ? size - used : 0, "%s%s",
		                         used ? "," : "", feature_names[i].name);
	}
	for (i = 0; i < 32; i++)
		if (bits & (1u << i))
			used += (size_t)snprintf(buf + used, used < size ? size - used : 0, "%sbit%zu",
			                         used ? "," : "", i);
	return used < size ? 0 : -ENOSPC;
}

static uint64_t page_up(uint64_t v)
{
	return (v + PAGE - 1) & ~(PAGE - 1);
}

static int load_segments(struct elf_ctx *c, const Elf64_Ehdr *eh, uint64_t mem_bytes,
                         struct kxbuild_pvimage *img)
{
	unsigned phidx[KXBUILD_MAX_SEGMENTS];
	uint64_t lo = UINT64_MAX, hi = 0;
	unsigned i, j;

	for (i = 0; i < eh->e_phnum; i++) {
		Elf64_Phdr ph;

		memcpy(&ph, c->file + eh->e_phoff + (uint64_t)i * sizeof ph, sizeof ph);
		if (ph.p_type != PT_LOAD || ph.p_memsz == 0)
			continue;
		if (ph.p_filesz > ph.p_memsz)
			return elf__fail(c, -EINVAL, "segment %u filesz 0x%llx exceeds memsz 0x%llx", i,
			                 (unsigned long long)ph.p_filesz, (unsigned long long)ph.p_memsz);
		if (!elf__in_file(c, ph.p_offset, ph.p_filesz))
			return elf__fail(c, -EINVAL, "segment %u [offset %llu, %llu bytes) is beyond the "
			                 "end of the file (%llu bytes)", i, (unsigned long long)ph.p_offset,
			                 (unsigned long long)ph.p_filesz, (unsigned long long)c->len);
		/* Placement is by physical address: it must lie in the domain's RAM. */
		if (ph.p_memsz > MAX_SEG_BYTES || ph.p_paddr > mem_bytes ||
		    ph.p_memsz > mem_bytes - ph.p_paddr)
			return elf__fail(c, -E2BIG, "segment %u [paddr 0x%llx+0x%llx) does not fit in "
			                 "%llu MiB of RAM", i, (unsigned long long)ph.p_paddr,
			                 (unsigned long long)ph.p_memsz,
			                 (unsigned long long)(mem_bytes >> 20));
		if (img->nr_segments == KXBUILD_MAX_SEGMENTS)
			return elf__fail(c, -EINVAL, "more than %u PT_LOAD segments", KXBUILD_MAX_SEGMENTS);
		for (j = 0; j < img->nr_segments; j++) {
			const struct kxbuild_segment *o = &img->seg[j];

			if (ph.p_paddr < o->paddr + o->memsz && o->paddr < ph.p_paddr + ph.p_memsz)
				return elf__fail(c, -EINVAL, "segment %u [paddr 0x%llx-0x%llx) overlaps "
				                 "segment %u", i, (unsigned long long)ph.p_paddr,
				                 (unsigned long long)(ph.p_paddr + ph.p_memsz), phidx[j]);
		}
		phidx[img->nr_segments] = i;
		img->seg[img->nr_segments++] = (struct kxbuild_segment){
			.paddr = ph.p_paddr, .filesz = ph.p_filesz,
			.memsz = ph.p_memsz, .offset = ph.p_offset,
		};
		if (ph.p_paddr < lo)
			lo = ph.p_paddr;
		if (ph.p_paddr + ph.p_memsz > hi)
			hi = ph.p_paddr + ph.p_memsz;
	}
	if (img->nr_segments == 0)
		return elf__fail(c, -ENOEXEC, "no PT_LOAD segment with contents");
	if (lo & (PAGE - 1))
		return elf__fail(c, -EINVAL, "the lowest segment starts at paddr 0x%llx, not on a page "
		                 "boundary", (unsigned long long)lo);
	img->pstart = lo;
	img->pend = page_up(hi);
	return 0;
}

/* An optional numeric note: absent leaves *val alone. */
static int opt_num(struct elf_ctx *c, const struct xen_notes *n, unsigned type, uint64_t *val)
{
	return n->found[type] ? elf__note_num(c, n, type, val) : 0;
}

static int opt_str(struct elf_ctx *c, const struct xen_notes *n, unsigned type, char *buf,
                   size_t size)
{
	return n->found[type] ? elf__note_str(c, n, type, buf, size) : 0;
}

/* Whether [va, va+size) lies inside one segment's file bytes (file_only) or memory, seen at virtual addresses. */
static int in_image(const struct kxbuild_pvimage *img, uint64_t va, uint64_t size, int file_only)
{
	uint64_t off = img->virt_base - img->paddr_offset;
	unsigned i;

	for (i = 0; i < img->nr_segments; i++) {
		const struct kxbuild_segment *s = &img->seg[i];
		uint64_t start = s->paddr + off, lim = file_only ? s->filesz : s->memsz;

		if (va >= start && va - start < lim && size <= lim - (va - start))
			return 1;
	}
	return 0;
}

static int read_notes(struct elf_ctx *c, const Elf64_Ehdr *eh, const struct xen_notes *n,
                      struct kxbuild_pvimage *img)
{
	uint64_t v;
	int rc;

	if (n->count == 0)
		return elf__fail(c, -ENOEXEC, "no Xen ELF notes: not a xenpv kernel");
	if ((rc = elf__note_str(c, n, XEN_ELFNOTE_XEN_VERSION, img->xen_version,
	                        sizeof img->xen_version)) ||
	    (rc = opt_str(c, n, XEN_ELFNOTE_LOADER, img->loader, sizeof img->loader)) ||
	    (rc = opt_str(c, n, XEN_ELFNOTE_GUEST_OS, img->guest_os, sizeof img->guest_os)) ||
	    (rc = opt_str(c, n, XEN_ELFNOTE_GUEST_VERSION, img->guest_version,
	                  sizeof img->guest_version)) ||
	    (rc = opt_str(c, n, XEN_ELFNOTE_FEATURES, img->features, sizeof img->features)) ||
	    (rc = opt_str(c, n, XEN_ELFNOTE_PAE_MODE, img->pae_mode, sizeof img->pae_mode)))
		return rc;
	if (strncmp(img->xen_version, "xen-3.0", 7))
		return elf__fail(c, -ENOEXEC, "note XEN_ELFNOTE_XEN_VERSION is \"%s\", expected "
		                 "\"xen-3.0\"", img->xen_version);
	/* libelf's rule: the generic loader, or a Linux kernel. */
	if (strncmp(img->loader, "generic", 7) && strncmp(img->guest_os, "linux", 5))
		return elf__fail(c, -ENOEXEC, "notes XEN_ELFNOTE_LOADER \"%s\" and GUEST_OS \"%s\": "
		                 "only the generic loader or Linux images are loaded", img->loader,
		                 img->guest_os);
	if (elf__has_feature(img->features, "auto_translated_physmap"))
		return elf__fail(c, -ENOEXEC, "note XEN_ELFNOTE_FEATURES \"%s\" lists "
		                 "auto_translated_physmap: not a direct-paging kernel", img->features);

	img->hypercall_page = img->init_p2m = KXBUILD_PV_UNSET;
	img->entry = eh->e_entry;
	if ((rc = opt_num(c, n, XEN_ELFNOTE_VIRT_BASE, &img->virt_base)) ||
	    (rc = opt_num(c, n, XEN_ELFNOTE_PADDR_OFFSET, &img->paddr_offset)) ||
	    (rc = opt_num(c, n, XEN_ELFNOTE_ENTRY, &img->entry)) ||
	    (rc = opt_num(c, n, XEN_ELFNOTE_HYPERCALL_PAGE, &img->hypercall_page)) ||
	    (rc = opt_num(c, n, XEN_ELFNOTE_INIT_P2M, &img->init_p2m)))
		return rc;
	if (n->found[XEN_ELFNOTE_PADDR_OFFSET] && !n->found[XEN_ELFNOTE_VIRT_BASE])
		return elf__fail(c, -EINVAL, "note XEN_ELFNOTE_PADDR_OFFSET without VIRT_BASE");
	if (n->found[XEN_ELFNOTE_MOD_START_PFN]) {
		if ((rc = elf__note_num(c, n, XEN_ELFNOTE_MOD_START_PFN, &v)))
			return rc;
		img->mod_start_pfn = v != 0;
	}
	if (n->found[XEN_ELFNOTE_SUPPORTED_FEATURES]) {
		if (n->len[XEN_ELFNOTE_SUPPORTED_FEATURES] != 4)
			return elf__fail(c, -EINVAL, "note XEN_ELFNOTE_SUPPORTED_FEATURES has %u bytes, "
			                 "expected 4", n->len[XEN_ELFNOTE_SUPPORTED_FEATURES]);
		memcpy(&img->supported_features, n->desc[XEN_ELFNOTE_SUPPORTED_FEATURES], 4);
	}
	parse_features(img->features, &img->f_supported, &img->f_required);
	img->f_supported |= img->supported_features;
	if (n->found[XEN_ELFNOTE_L1_MFN_VALID]) {
		uint32_t l = n->len[XEN_ELFNOTE_L1_MFN_VALID];

		if (l != 8 && l != 16)
			return elf__fail(c, -EINVAL, "note XEN_ELFNOTE_L1_MFN_VALID has %u bytes, "
			                 "expected 8 or 16", l);
		memcpy(img->l1_mfn_valid, n->desc[XEN_ELFNOTE_L1_MFN_VALID], l);
		img->has_l1_mfn_valid = 1;
	}
	return 0;
}

/* libelf's elf_xen_addr_calc_check, with the overflow checks it leaves implicit. */
static int check_addresses(struct elf_ctx *c, struct kxbuild_pvimage *img)
{
	uint64_t off = img->virt_base - img->paddr_offset;

	if (img->virt_base & (PAGE - 1) || !CANONICAL(img->virt_base))
		return elf__fail(c, -EINVAL, "note XEN_ELFNOTE_VIRT_BASE 0x%llx is not a canonical "
		                 "page-aligned address", (unsigned long long)img->virt_base);
	if (img->paddr_offset & (PAGE - 1))
		return elf__fail(c, -EINVAL, "note XEN_ELFNOTE_PADDR_OFFSET 0x%llx is not page-aligned",
		                 (unsigned long long)img->paddr_offset);
	if (img->paddr_offset > img->pstart)
		return elf__fail(c, -EINVAL, "note XEN_ELFNOTE_PADDR_OFFSET 0x%llx is above the "
		                 "lowest segment (paddr 0x%llx)", (unsigned long long)img->paddr_offset,
		                 (unsigned long long)img->pstart);
	img->virt_kstart = img->pstart + off;
	img->virt_kend = img->pend + off;
	/* The image must not wrap around the top of the address space or leave canonical space. */
	if (img->virt_kstart < img->virt_base || img->virt_kend < img->virt_kstart ||
	    !CANONICAL(img->virt_kstart) || !CANONICAL(img->virt_kend - 1) ||
	    (img->virt_kstart >> 47) != ((img->virt_kend - 1) >> 47))
		return elf__fail(c, -EINVAL, "kernel [0x%llx-0x%llx) (VIRT_BASE 0x%llx + paddr) is "
		                 "not a canonical virtual range", (unsigned long long)img->virt_kstart,
		                 (unsigned long long)img->virt_kend,
		                 (unsigned long long)img->virt_base);
	if (!in_image(img, img->entry, 1, 1))
		return elf__fail(c, -EINVAL, "entry point 0x%llx is not inside a loaded segment",
		                 (unsigned long long)img->entry);
	if (img->hypercall_page != KXBUILD_PV_UNSET &&
	    ((img->hypercall_page & (PAGE - 1)) || !in_image(img, img->hypercall_page, PAGE, 0)))
		return elf__fail(c, -EINVAL, "hypercall page 0x%llx is not a page inside the kernel",
		                 (unsigned long long)img->hypercall_page);
	return 0;
}

int kxbuild_pvlinux_parse(const void *file, size_t len, uint64_t mem_bytes,
                          struct kxbuild_pvimage *img, char *err, size_t errlen)
{
	struct elf_ctx c = { .file = file, .len = len, .err = err, .errlen = errlen };
	struct xen_notes notes;
	Elf64_Ehdr eh;
	int rc;

	memset(img, 0, sizeof *img);
	if ((rc = elf__open(&c, &eh, &notes)))
		return rc;
	if ((rc = load_segments(&c, &eh, mem_bytes, img)) ||
	    (rc = elf__read_notes(&c, &eh, &notes)) ||
	    (rc = read_notes(&c, &eh, &notes, img)))
		goto out;
	rc = check_addresses(&c, img);
out:
	if (rc)
		memset(img, 0, sizeof *img);
	return rc;
}
