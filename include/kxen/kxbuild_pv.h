/* libkxbuild for direct-paging PV kernels (Linux): bzImage unpacking, Xen ELF notes, and Xen's classic x86_64 PV layout. */
#ifndef KXBUILD_PV_H
#define KXBUILD_PV_H

#include <stdint.h>
#include <stdio.h>
#include "kxbuild.h"

#define KXBUILD_PV_UNSET UINT64_MAX

/*
 * Decompresses a gzip, XZ, LZ4 (the legacy frame Linux uses, magic
 * 0x184C2102) or zstd stream, recognised by its magic, into a malloc'd
 * buffer of at most cap bytes: a stream that would expand beyond cap is a
 * decompression bomb and refused. Sets *format to the format's name.
 * Returns 0, or -ENOEXEC (unknown magic), -EINVAL (corrupt stream),
 * -EFBIG (beyond cap) or -ENOMEM, with a message in err.
 */
int kxbuild_decompress(const uint8_t *in, size_t len, uint64_t cap, uint8_t **out,
                       size_t *outlen, const char **format, char *err, size_t errlen);

/*
 * Turns a kernel file into an ELF image. An ELF file is returned as is
 * (*elf = NULL, nothing allocated); a bzImage (boot protocol >= 2.08) has its
 * payload located from the setup header and decompressed (at most cap
 * bytes) into a malloc'd *elf, which must itself be ELF. what receives a
 * short description ("ELF", "bzImage 2.15, LZ4 payload"). Returns 0 or
 * -errno with a message naming the problem in err.
 */
int kxbuild_kernel_unwrap(const uint8_t *file, size_t len, uint64_t cap, uint8_t **elf,
                          size_t *elflen, char *what, size_t whatlen, char *err, size_t errlen);

/* The two kinds of xenpv kernel, told apart by XEN_ELFNOTE_FEATURES. */
enum kxbuild_kind {
	KXBUILD_KIND_AUTOTRANSLATED = 1,  /* kxen's own guest: identity map built by us */
	KXBUILD_KIND_DIRECT_PAGING,       /* Linux: owns its page tables (mmu_update) */
};

/* Returns the kind of an ELF xenpv kernel, or -errno with a message (no notes, not ELF). */
int kxbuild_elf_kind(const void *file, size_t len, char *err, size_t errlen);

/* A direct-paging kernel as its ELF notes describe it (addresses are virtual unless named p). */
struct kxbuild_pvimage {
	uint64_t virt_base;        /* XEN_ELFNOTE_VIRT_BASE (0 if absent, as libelf) */
	uint64_t paddr_offset;     /* XEN_ELFNOTE_PADDR_OFFSET (0 if absent) */
	uint64_t entry;            /* XEN_ELFNOTE_ENTRY, else e_entry */
	uint64_t hypercall_page;   /* XEN_ELFNOTE_HYPERCALL_PAGE, or KXBUILD_PV_UNSET */
	uint64_t init_p2m;         /* XEN_ELFNOTE_INIT_P2M, or KXBUILD_PV_UNSET */
	uint64_t pstart, pend;     /* lowest p_paddr, page-aligned end of the highest */
	uint64_t virt_kstart, virt_kend;
	uint64_t l1_mfn_valid[2];  /* mask, value (XEN_ELFNOTE_L1_MFN_VALID) */
	uint32_t supported_features; /* XEN_ELFNOTE_SUPPORTED_FEATURES bitmap (XENFEAT_*) */
	uint32_t f_supported, f_required; /* XENFEAT_* bits: FEATURES ("!" = required) | the bitmap */
	int mod_start_pfn;         /* XEN_ELFNOTE_MOD_START_PFN: initrd unmapped, given by pfn */
	int has_l1_mfn_valid;
	char guest_os[32], guest_version[32], xen_version[16], loader[16], pae_mode[16];
	char features[256];
	unsigned nr_segments;
	struct kxbuild_segment seg[KXBUILD_MAX_SEGMENTS];   /* paddr = p_paddr */
};

/*
 * Parses and checks an ELF64 direct-paging PV kernel of len bytes, as
 * libelf does (notes, VIRT_BASE/PADDR_OFFSET arithmetic, entry and
 * hypercall page inside the image), refusing overlapping, truncated or
 * absurd segments and a kernel that cannot fit mem_bytes. Returns 0 or
 * -errno with a message naming the problem in err.
 */
int kxbuild_pvlinux_parse(const void *file, size_t len, uint64_t mem_bytes,
                          struct kxbuild_pvimage *img, char *err, size_t errlen);

/* Names the XENFEAT_* bits set in bits, comma-separated, into buf; -ENOSPC if truncated. */
int kxbuild_feature_names(uint32_t bits, char *buf, size_t size);

/* One region of the bootstrap layout, in allocation order. */
struct kxbuild_pv_region {
	const char *name;
	uint64_t pfn, pages;
	uint64_t vstart;           /* 0 for regions the initial page tables do not map */
};

/* Page tables for one virtual range, as libxc's struct xc_dom_x86_mapping. */
struct kxbuild_pv_map {
	uint64_t from, to;         /* 48-bit virtual range, inclusive */
	uint64_t pfn;              /* frame mapped at from */
	uint64_t lvl_from[4], lvl_to[4], lvl_pfn[4];
	unsigned lvl_tables[4];    /* tables at L1..L4 (index 0..3) */
	unsigned nr_tables;
};

#define KXBUILD_PV_MAX_REGIONS 12

/* The whole plan: where everything goes and what start_info and vCPU 0 get. */
struct kxbuild_pv_plan {
	uint64_t mem_pages;        /* the domain's frames */
	uint64_t nr_pages;         /* start_info.nr_pages: frames the guest owns as RAM */
	uint64_t shared_info_pfn;  /* outside nr_pages: the last frame of the domain */
	uint64_t virt_base;
	unsigned nr_regions;
	struct kxbuild_pv_region reg[KXBUILD_PV_MAX_REGIONS];
	unsigned nr_maps;
	struct kxbuild_pv_map map[2];
	uint64_t virt_pgtab_end;   /* end of what the initial page tables map */
	uint64_t alloc_end_pfn;    /* first frame the builder left free */
	uint64_t kernel_pfn, start_info_pfn, store_pfn, console_pfn, pt_pfn, stack_pfn;
	uint64_t p2m_pfn, p2m_pages, initrd_pfn;
	/* start_info */
	uint32_t flags;
	uint64_t pt_base, nr_pt_frames, mfn_list, first_p2m_pfn, nr_p2m_frames;
	uint64_t mod_start, mod_len;
	/* vCPU 0 */
	uint64_t entry, stack_top, start_info_va, cr3;
};

/*
 * Lays out a direct-paging kernel in mem_bytes of RAM as libxc's
 * xc_dom_build_image does for xen-3.0-x86_64 (kernel, mapped initrd or p2m,
 * start_info, xenstore, console, page tables, boot stack, padding to the
 * 4 MiB boundary, then the unmapped initrd and the p2m at INIT_P2M). Keeps
 * out of kxen's L4 slots 256-271. Returns 0, or -E2BIG when it does not
 * fit, -EINVAL for an impossible image, with a message in err.
 */
int kxbuild_pv_plan(const struct kxbuild_pvimage *img, uint64_t mem_bytes,
                    uint64_t initrd_len, struct kxbuild_pv_plan *p, char *err, size_t errlen);

/*
 * kxbuild_pv_plan for a domain that starts with cur_bytes of its mem_bytes
 * (<currentMemory>; 0 or mem_bytes: all): start_info's nr_pages stops at
 * cur_bytes and everything the builder places must fit below it; the frames
 * from there to the shared_info frame start ballooned out (kxen-hv counts
 * them given back and Linux's e820 still covers them). Same returns.
 */
int kxbuild_pv_plan_current(const struct kxbuild_pvimage *img, uint64_t mem_bytes, uint64_t cur_bytes,
                            uint64_t initrd_len, struct kxbuild_pv_plan *p, char *err, size_t errlen);

/* What start_info needs beyond the plan. */
struct kxbuild_pv_boot {
	uint32_t store_evtchn, console_evtchn;
	const char *cmdline;       /* may be NULL; shorter than MAX_GUEST_CMDLINE */
};

/*
 * Writes the planned domain into ram (mem_bytes, zeroed or not): kernel
 * segments from elf, the initrd, the identity p2m, start_info, the
 * xenstore and console pages, the page tables and shared_info's masks.
 */
void kxbuild_pv_write(uint8_t *ram, const struct kxbuild_pv_plan *p,
                      const struct kxbuild_pvimage *img, const uint8_t *elf,
                      const uint8_t *initrd, uint64_t initrd_len,
                      const struct kxbuild_pv_boot *boot);

/* Prints the plan, one region a line, for kxl -N. */
void kxbuild_pv_print(FILE *f, const struct kxbuild_pv_plan *p, const struct kxbuild_pvimage *img);

/* What kxbuild_inspect learns about a config's kernel without building anything. */
struct kxbuild_inspect {
	int kind;                  /* enum kxbuild_kind */
	char format[96];           /* "ELF", "bzImage 2.15, LZ4 payload of N bytes" */
	struct kxbuild_image img;  /* kxen's own kernels only */
	struct kxbuild_pvimage pv; /* direct-paging kernels only */
	struct kxbuild_pv_plan plan;
};

/*
 * Reads, unwraps and checks cfg's kernel and initrd and, for a
 * direct-paging kernel, plans its layout in cfg->mem_bytes: everything
 * kxbuild_domain checks before a domain exists (for kxl -N). Returns 0 or
 * -errno with the same message kxbuild_domain would give.
 */
int kxbuild_inspect(const struct kxbuild_config *cfg, struct kxbuild_inspect *out,
                    char *err, size_t errlen);

/*
 * Why kxen-hv cannot run a direct-paging (Linux) kernel's domain of `vcpus`
 * vCPUs, or NULL when it can. The one place that says no, for kxbuild_domain
 * and kxl's dry-run plan alike: Linux PV guests run on one vCPU so far
 * (VCPUOP_initialise with a full context is not built, and Linux BUG()s when
 * it cannot bring up a vCPU the domain has; docs/linux-pv.md).
 */
const char *kxbuild_direct_paging_refusal(unsigned vcpus);

#endif
