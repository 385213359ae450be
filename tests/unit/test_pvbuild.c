/* CUnit tests of libkxbuild's Linux path: decompressors, bzImage unwrapping, direct-paging ELF notes, the libxc-style layout and page tables, hostile images. */
#define _GNU_SOURCE
#define __XEN_TOOLS__ 1
#include "cunit_run.h"
#include <elf.h>
#include <errno.h>
#include <lz4.h>
#include <lzma.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <xen/elfnote.h>
#include <xen/features.h>
#include <xen/xen.h>
#include <zlib.h>
#include <zstd.h>
#include "guard_pages.h"
#include "kxen/kxbuild_pv.h"

#define PAGE      4096ULL
#define VBASE     0xffffffff80000000ULL
#define MEM16     (16ULL << 20)
#define L1_RW     0x002ULL
#define L1_US     0x004ULL
#define ADDR_MASK 0x000ffffffffff000ULL

/* ------------------------------------------------------------------ */
/* A synthetic direct-paging kernel: one PT_LOAD and a PT_NOTE.       */

struct pvspec {
	uint64_t paddr, filesz, memsz, e_entry;
	unsigned nnote;
	struct { uint32_t type, len; uint8_t desc[64]; } note[16];
	int overlap_second;           /* add a second PT_LOAD overlapping the first */
};

static void note_bytes(struct pvspec *s, uint32_t type, const void *d, uint32_t len)
{
	unsigned i;

	for (i = 0; i < s->nnote && s->note[i].type != type; i++)
		;
	if (i == s->nnote)
		s->nnote++;
	s->note[i].type = type;
	s->note[i].len = len;
	memcpy(s->note[i].desc, d, len);
}

static void note_str(struct pvspec *s, uint32_t type, const char *v)
{
	note_bytes(s, type, v, (uint32_t)strlen(v) + 1);
}

static void note_u64(struct pvspec *s, uint32_t type, uint64_t v)
{
	note_bytes(s, type, &v, 8);
}

/* Linux's notes (Debian 12), scaled down: 12 KiB of code and 8 KiB of bss at 2 MiB. */
static void linux_spec(struct pvspec *s, int init_p2m, int mod_start_pfn)
{
	memset(s, 0, sizeof *s);
	s->paddr = 0x200000;
	s->filesz = 0x3000;
	s->memsz = 0x5000;
	s->e_entry = 0x200000;
	note_str(s, XEN_ELFNOTE_GUEST_OS, "linux");
	note_str(s, XEN_ELFNOTE_GUEST_VERSION, "2.6");
	note_str(s, XEN_ELFNOTE_XEN_VERSION, "xen-3.0");
	note_u64(s, XEN_ELFNOTE_VIRT_BASE, VBASE);
	note_u64(s, XEN_ELFNOTE_PADDR_OFFSET, 0);
	note_u64(s, XEN_ELFNOTE_ENTRY, VBASE + 0x200040);
	note_str(s, XEN_ELFNOTE_FEATURES, "!writable_page_tables|pae_pgdir_above_4gb");
	note_str(s, XEN_ELFNOTE_LOADER, "generic");
	note_str(s, XEN_ELFNOTE_PAE_MODE, "yes");
	if (init_p2m)
		note_u64(s, XEN_ELFNOTE_INIT_P2M, 0x8000000000ULL);
	if (mod_start_pfn)
		note_u64(s, XEN_ELFNOTE_MOD_START_PFN, 1);
}

static uint8_t *make_elf(const struct pvspec *s, size_t *len)
{
	unsigned nph = s->overlap_second ? 3 : 2, i;
	size_t notes = sizeof(Elf64_Ehdr) + nph * sizeof(Elf64_Phdr), off = notes, seg;
	uint8_t *b = calloc(1, 0x10000 + s->filesz);
	Elf64_Ehdr eh = { .e_type = ET_EXEC, .e_machine = EM_X86_64, .e_version = EV_CURRENT,
	                  .e_entry = s->e_entry, .e_phoff = sizeof eh, .e_ehsize = sizeof eh,
	                  .e_phentsize = sizeof(Elf64_Phdr), .e_phnum = (Elf64_Half)nph };
	Elf64_Phdr ph[3];

	for (i = 0; i < s->nnote; i++) {
		Elf64_Nhdr nh = { 4, s->note[i].len, s->note[i].type };

		memcpy(b + off, &nh, sizeof nh);
		memcpy(b + off + sizeof nh, "Xen", 4);
		memcpy(b + off + sizeof nh + 4, s->note[i].desc, s->note[i].len);
		off += sizeof nh + 4 + ((s->note[i].len + 3) & ~3u);
	}
	seg = 0x1000 * ((off + 0xfff) / 0x1000);
	for (i = 0; i < s->filesz; i++)
		b[seg + i] = (uint8_t)(i * 7 + 1);
	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS64;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	eh.e_ident[EI_VERSION] = EV_CURRENT;
	memset(ph, 0, sizeof ph);
	ph[0] = (Elf64_Phdr){ .p_type = PT_LOAD, .p_offset = seg, .p_vaddr = VBASE + s->paddr,
	                      .p_paddr = s->paddr, .p_filesz = s->filesz, .p_memsz = s->memsz };
	ph[1] = (Elf64_Phdr){ .p_type = PT_NOTE, .p_offset = notes, .p_filesz = off - notes,
	                      .p_align = 4 };
	ph[2] = ph[0];
	ph[2].p_paddr += 0x1000;
	memcpy(b, &eh, sizeof eh);
	memcpy(b + sizeof eh, ph, nph * sizeof(Elf64_Phdr));
	*len = seg + s->filesz;
	return b;
}

/* ------------------------------------------------------------------ */
/* Compressors for the round trips and the bombs.                      */

static uint8_t *gz(const uint8_t *in, size_t len, size_t *out_len)
{
	z_stream zs;
	uint8_t *out = malloc(len + 1024);

	memset(&zs, 0, sizeof zs);
	deflateInit2(&zs, 9, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
	zs.next_in = (Bytef *)in;
	zs.avail_in = (uInt)len;
	zs.next_out = out;
	zs.avail_out = (uInt)(len + 1024);
	deflate(&zs, Z_FINISH);
	*out_len = zs.total_out;
	deflateEnd(&zs);
	return out;
}

static uint8_t *xz(const uint8_t *in, size_t len, size_t *out_len)
{
	size_t cap = len + 4096;
	uint8_t *out = malloc(cap);

	*out_len = 0;
	lzma_easy_buffer_encode(6, LZMA_CHECK_CRC32, NULL, in, len, out, out_len, cap);
	return out;
}

static uint8_t *zst(const uint8_t *in, size_t len, size_t *out_len)
{
	size_t cap = ZSTD_compressBound(len);
	uint8_t *out = malloc(cap);

	*out_len = ZSTD_compress(out, cap, in, len, 3);
	return out;
}

/* The legacy frame as Linux writes it: magic, 8 MiB blocks, then the size trailer. */
static uint8_t *lz4(const uint8_t *in, size_t len, size_t *out_len)
{
	size_t blk = 8u << 20, pos = 0, o = 4;
	uint8_t *out = malloc(8 + len + len / 100 + 65536);
	uint32_t v = 0x184C2102, sz = (uint32_t)len;

	memcpy(out, &v, 4);
	while (pos < len) {
		int n = (int)(len - pos < blk ? len - pos : blk);
		int c = LZ4_compress_default((const char *)in + pos, (char *)out + o + 4, n,
		                             LZ4_compressBound(n));
		uint32_t cl = (uint32_t)c;

		memcpy(out + o, &cl, 4);
		o += 4 + (size_t)c;
		pos += (size_t)n;
	}
	memcpy(out + o, &sz, 4);
	*out_len = o + 4;
	return out;
}

/* A bzImage around a payload: one setup sector plus the boot sector, protocol 2.15. */
static uint8_t *bzimage(const uint8_t *payload, size_t plen, uint16_t version, size_t *len)
{
	size_t pm = 2 * 512, poff = 0x100;
	uint8_t *b = calloc(1, pm + poff + plen);
	uint16_t flag = 0xAA55;
	uint32_t hdrs = 0x53726448, po = (uint32_t)poff, pl = (uint32_t)plen;

	b[0x1f1] = 1;                       /* setup_sects */
	memcpy(b + 0x1fe, &flag, 2);
	memcpy(b + 0x202, &hdrs, 4);
	memcpy(b + 0x206, &version, 2);
	memcpy(b + 0x248, &po, 4);
	memcpy(b + 0x24c, &pl, 4);
	memcpy(b + pm + poff, payload, plen);
	*len = pm + poff + plen;
	return b;
}

/* ------------------------------------------------------------------ */
/* Layout checks shared by the synthetic and the Debian images.       */

static uint64_t rd64(const uint8_t *ram, uint64_t addr)
{
	uint64_t v;

	memcpy(&v, ram + addr, 8);
	return v;
}

/* Walks the guest's page tables; returns the L1 entry for va, or 0 when unmapped. */
static uint64_t walk(const uint8_t *ram, uint64_t cr3, uint64_t va, uint64_t mem)
{
	uint64_t table = cr3, e = 0;
	int l;

	for (l = 3; l >= 0; l--) {
		unsigned idx = (unsigned)((va >> (12 + 9 * l)) & 511);

		if (table + PAGE > mem)
			return 0;
		e = rd64(ram, table + idx * 8);
		if (!(e & 1))
			return 0;
		if (l > 0 && (e & 0x67) != 0x67)   /* P|RW|US|A|D on every upper level, as libxc */
			return 0;
		table = e & ADDR_MASK;
	}
	return e;
}

/* Page-table frames, from the regions (not from the maps the writer used): the bootstrap tables and the p2m's own. */
static int is_pt_pfn(const struct kxbuild_pv_plan *p, uint64_t pfn)
{
	uint64_t p2m_tables = p->nr_p2m_frames ? p->nr_p2m_frames - p->p2m_pages : 0;

	return (pfn >= p->pt_pfn && pfn < p->pt_pfn + p->nr_pt_frames) ||
	       (pfn >= p->p2m_pfn + p->p2m_pages && pfn < p->p2m_pfn + p->p2m_pages + p2m_tables);
}

/* Counts present entries in every L1 table of the plan. */
static uint64_t present_l1(const uint8_t *ram, const struct kxbuild_pv_plan *p)
{
	uint64_t n = 0;
	unsigned m, t, i;

	for (m = 0; m < p->nr_maps; m++)
		for (t = 0; t < p->map[m].lvl_tables[0]; t++)
			for (i = 0; i < 512; i++)
				n += rd64(ram, (p->map[m].lvl_pfn[0] + t) * PAGE + i * 8) & 1;
	return n;
}

static void check_layout(const uint8_t *ram, uint64_t mem, const struct kxbuild_pv_plan *p,
                         const struct kxbuild_pvimage *img, const uint8_t *elf,
                         const uint8_t *initrd, uint64_t initrd_len, const char *cmdline)
{
	const start_info_t *si = (const start_info_t *)(ram + p->start_info_pfn * PAGE);
	const shared_info_t *sh = (const shared_info_t *)(ram + p->shared_info_pfn * PAGE);
	uint64_t va, boot_pages = (p->virt_pgtab_end - p->virt_base) / PAGE, bad = 0, i;
	unsigned r, s;

	/* Regions follow each other in frame order, inside the guest's pages. */
	for (r = 1; r < p->nr_regions; r++)
		CU_ASSERT_EQUAL(p->reg[r].pfn, p->reg[r - 1].pfn + p->reg[r - 1].pages);
	CU_ASSERT(p->alloc_end_pfn <= p->nr_pages);
	CU_ASSERT_EQUAL(p->nr_pages, mem / PAGE - 1);
	CU_ASSERT_EQUAL(p->shared_info_pfn, mem / PAGE - 1);
	CU_ASSERT_EQUAL(p->virt_pgtab_end % (4ULL << 20), 0);
	/* libxc's 512 KiB of slack after the boot stack. */
	CU_ASSERT(p->virt_pgtab_end - p->stack_top >= 512 * 1024);

	/* Every bootstrap page mapped once, at its own frame; page-table frames read-only; no U at L1. */
	for (va = p->virt_base; va < p->virt_pgtab_end; va += PAGE) {
		uint64_t e = walk(ram, p->cr3, va, mem), pfn = (va - p->virt_base) / PAGE;

		if ((e & ADDR_MASK) != pfn * PAGE || !!(e & L1_RW) == is_pt_pfn(p, pfn) || (e & L1_US))
			bad++;
	}
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT_EQUAL(walk(ram, p->cr3, p->virt_pgtab_end, mem), 0);
	CU_ASSERT_EQUAL(walk(ram, p->cr3, p->virt_base - PAGE, mem), 0);
	/* The p2m list is mapped at mfn_list and is the identity. */
	for (i = 0; i < p->p2m_pages; i++) {
		uint64_t e = walk(ram, p->cr3, p->mfn_list + i * PAGE, mem);

		if ((e & ADDR_MASK) != (p->p2m_pfn + i) * PAGE || !(e & L1_RW))
			bad++;
	}
	CU_ASSERT_EQUAL(bad, 0);
	for (i = 0; i < p->nr_pages; i++)
		bad += rd64(ram, p->p2m_pfn * PAGE + i * 8) != i;
	CU_ASSERT_EQUAL(bad, 0);
	/* Nothing else is mapped: one L1 entry per bootstrap page, plus the p2m if it has its own map. */
	CU_ASSERT_EQUAL(present_l1(ram, p), boot_pages + (p->first_p2m_pfn ? p->p2m_pages : 0));

	/* start_info agrees with the plan and with the page tables. */
	CU_ASSERT_STRING_EQUAL(si->magic, "xen-3.0-x86_64");
	CU_ASSERT_EQUAL(si->nr_pages, p->nr_pages);
	CU_ASSERT_EQUAL(si->shared_info, p->shared_info_pfn * PAGE);
	CU_ASSERT_EQUAL(si->pt_base, p->virt_base + p->pt_pfn * PAGE);
	CU_ASSERT_EQUAL(p->cr3, p->pt_pfn * PAGE);
	CU_ASSERT_EQUAL(si->nr_pt_frames, p->map[0].nr_tables);
	CU_ASSERT_EQUAL(si->mfn_list, p->mfn_list);
	CU_ASSERT_EQUAL(si->store_mfn, p->store_pfn);
	CU_ASSERT_EQUAL(si->console.domU.mfn, p->console_pfn);
	CU_ASSERT_EQUAL(si->store_evtchn, 1);
	CU_ASSERT_EQUAL(si->console.domU.evtchn, 2);
	CU_ASSERT(si->flags & SIF_VIRT_P2M_4TOOLS);
	CU_ASSERT_STRING_EQUAL((const char *)si->cmd_line, cmdline);
	CU_ASSERT_EQUAL(p->start_info_va, p->virt_base + p->start_info_pfn * PAGE);
	CU_ASSERT_EQUAL(p->stack_top, p->virt_base + (p->stack_pfn + 1) * PAGE);
	CU_ASSERT_EQUAL(p->entry, img->entry);
	if (initrd_len) {
		CU_ASSERT_EQUAL(si->mod_len, initrd_len);
		CU_ASSERT_EQUAL(memcmp(ram + p->initrd_pfn * PAGE, initrd, initrd_len), 0);
		if (img->mod_start_pfn) {
			CU_ASSERT(si->flags & SIF_MOD_START_PFN);
			CU_ASSERT_EQUAL(si->mod_start, p->initrd_pfn);
			CU_ASSERT(p->initrd_pfn * PAGE + p->virt_base >= p->virt_pgtab_end);
		} else {
			CU_ASSERT_FALSE(si->flags & SIF_MOD_START_PFN);
			CU_ASSERT_EQUAL(si->mod_start, p->virt_base + p->initrd_pfn * PAGE);
			CU_ASSERT_EQUAL(walk(ram, p->cr3, si->mod_start, mem) & ADDR_MASK,
			                p->initrd_pfn * PAGE);
		}
	} else {
		CU_ASSERT_EQUAL(si->mod_start, 0);
		CU_ASSERT_EQUAL(si->mod_len, 0);
	}
	if (img->init_p2m != KXBUILD_PV_UNSET) {
		CU_ASSERT_EQUAL(si->mfn_list, img->init_p2m);
		CU_ASSERT_EQUAL(si->first_p2m_pfn, p->p2m_pfn);
		CU_ASSERT_EQUAL(si->nr_p2m_frames, p->p2m_pages + p->map[1].nr_tables);
	}
	/* The kernel's bytes are where its p_paddr says, bss zeroed, the entry mapped. */
	for (s = 0; s < img->nr_segments; s++) {
		const struct kxbuild_segment *g = &img->seg[s];
		const uint8_t *at = ram + p->kernel_pfn * PAGE + (g->paddr - img->pstart);

		CU_ASSERT_EQUAL(at - ram, (ptrdiff_t)g->paddr);   /* PADDR_OFFSET 0: frame == paddr */
		CU_ASSERT_EQUAL(memcmp(at, elf + g->offset, g->filesz), 0);
		for (i = g->filesz; i < g->memsz; i++)
			bad += at[i] != 0;
	}
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT_NOT_EQUAL(walk(ram, p->cr3, p->entry, mem), 0);
	for (s = 0; s < XEN_LEGACY_MAX_VCPUS; s++)
		CU_ASSERT_EQUAL(sh->vcpu_info[s].evtchn_upcall_mask, 1);
}

/* Plans, writes and checks one image in mem bytes of fresh (dirty) RAM. */
static void build_and_check(const uint8_t *elf, size_t len, uint64_t mem, const uint8_t *initrd,
                            uint64_t initrd_len)
{
	static const char cmdline[] = "console=hvc0 kxen.run=\"uname -a\"";
	struct kxbuild_pv_boot boot = { 1, 2, cmdline };
	struct kxbuild_pvimage img;
	struct kxbuild_pv_plan *p = calloc(1, sizeof *p);
	uint8_t *ram = malloc(mem);
	char err[256];

	CU_ASSERT_FATAL(p && ram);
	memset(ram, 0xa5, mem);   /* the writer must not rely on zeroed RAM */
	CU_ASSERT_EQUAL_FATAL(kxbuild_elf_kind(elf, len, err, sizeof err), KXBUILD_KIND_DIRECT_PAGING);
	CU_ASSERT_EQUAL_FATAL(kxbuild_pvlinux_parse(elf, len, mem, &img, err, sizeof err), 0);
	if (kxbuild_pv_plan(&img, mem, initrd_len, p, err, sizeof err)) {
		fprintf(stderr, "plan: %s\n", err);
		CU_FAIL_FATAL("plan failed");
	}
	kxbuild_pv_write(ram, p, &img, elf, initrd, initrd_len, &boot);
	check_layout(ram, mem, p, &img, elf, initrd, initrd_len, cmdline);
	free(ram);
	free(p);
}

/* ------------------------------------------------------------------ */

static void test_synthetic_layouts(void)
{
	static uint8_t initrd[10000];
	struct pvspec s;
	uint8_t *elf;
	size_t len;
	int p2m, mod;

	for (size_t i = 0; i < sizeof initrd; i++)
		initrd[i] = (uint8_t)(i ^ 0x5a);
	/* The four orders libxc knows: initrd mapped or by pfn, p2m in the map or at INIT_P2M. */
	for (p2m = 0; p2m < 2; p2m++)
		for (mod = 0; mod < 2; mod++) {
			linux_spec(&s, p2m, mod);
			elf = make_elf(&s, &len);
			build_and_check(elf, len, MEM16, initrd, sizeof initrd);
			build_and_check(elf, len, MEM16, NULL, 0);
			free(elf);
		}
}

/* The Debian 12 order, exactly: kernel, magic pages, tables, stack, pad, initrd, p2m at 512 GiB. */
static void test_region_order(void)
{
	static const char *const want[] = { "free (below the kernel)", "kernel", "start_info",
		"xenstore", "console", "page tables", "boot stack",
		"free (mapped, up to the 4 MiB boundary)", "initrd", "p2m list" };
	struct kxbuild_pvimage img;
	struct kxbuild_pv_plan p;
	struct pvspec s;
	char err[256];
	uint8_t *elf;
	size_t len;
	unsigned i;

	linux_spec(&s, 1, 1);
	elf = make_elf(&s, &len);
	CU_ASSERT_EQUAL_FATAL(kxbuild_pvlinux_parse(elf, len, MEM16, &img, err, sizeof err), 0);
	CU_ASSERT_EQUAL_FATAL(kxbuild_pv_plan(&img, MEM16, 5000, &p, err, sizeof err), 0);
	CU_ASSERT_EQUAL_FATAL(p.nr_regions, CUNIT_COUNT(want));
	for (i = 0; i < CUNIT_COUNT(want); i++)
		CU_ASSERT_STRING_EQUAL(p.reg[i].name, want[i]);
	CU_ASSERT_EQUAL(p.kernel_pfn, 0x200);
	CU_ASSERT_EQUAL(p.start_info_pfn, 0x205);
	/* 4 MiB from VIRT_BASE: one L4, one L3, one L2, two L1s. */
	CU_ASSERT_EQUAL(p.nr_pt_frames, 5);
	CU_ASSERT_EQUAL(p.virt_pgtab_end, VBASE + (4ULL << 20));
	CU_ASSERT_EQUAL(p.initrd_pfn, 0x400);
	CU_ASSERT_EQUAL(p.mod_start, 0x400);
	CU_ASSERT_EQUAL(p.flags, SIF_VIRT_P2M_4TOOLS | SIF_MOD_START_PFN);
	/* 4095 entries fit in 8 pages; the p2m's own L3, L2 and L1 follow them. */
	CU_ASSERT_EQUAL(p.p2m_pages, 8);
	CU_ASSERT_EQUAL(p.map[1].nr_tables, 3);
	CU_ASSERT_EQUAL(p.nr_p2m_frames, 11);
	{
		char names[64];

		CU_ASSERT_EQUAL(kxbuild_feature_names(img.f_supported, names, sizeof names), 0);
		CU_ASSERT_STRING_EQUAL(names, "writable_page_tables,pae_pgdir_above_4gb");
		CU_ASSERT_EQUAL(kxbuild_feature_names(1u << 31 | 1, names, sizeof names), 0);
		CU_ASSERT_STRING_EQUAL(names, "writable_page_tables,bit31");
		CU_ASSERT_EQUAL(kxbuild_feature_names(img.f_supported, names, 10), -ENOSPC);
	}
	free(elf);
}

/* Every decompressor round-trips, inside a bzImage too, and refuses a bomb by the cap. */
static void test_decompress(void)
{
	static uint8_t *(*const comp[])(const uint8_t *, size_t, size_t *) = { gz, xz, zst, lz4 };
	static const char *const names[] = { "gzip", "XZ", "zstd", "LZ4" };
	size_t n = 9u << 20, clen, olen, blen, i;   /* over one LZ4 block */
	uint8_t *data = malloc(n), *c, *out, *bz;
	const char *fmt;
	char err[256], what[96];

	for (i = 0; i < n; i++)
		data[i] = (uint8_t)((i * 2654435761u) >> 13 & (i % 3 ? 0xff : 0x0f));
	memcpy(data, ELFMAG, SELFMAG);
	for (i = 0; i < CUNIT_COUNT(comp); i++) {
		c = comp[i](data, n, &clen);
		CU_ASSERT_EQUAL(kxbuild_decompress(c, clen, n, &out, &olen, &fmt, err, sizeof err), 0);
		CU_ASSERT_STRING_EQUAL(fmt, names[i]);
		CU_ASSERT_EQUAL(olen, n);
		CU_ASSERT(out && !memcmp(out, data, n));
		free(out);
		/* One byte less room than the data needs: a bomb. */
		CU_ASSERT_EQUAL(kxbuild_decompress(c, clen, n - 1, &out, &olen, &fmt, err, sizeof err),
		                -EFBIG);
		CU_ASSERT_PTR_NOT_NULL(strstr(err, "decompresses to more than"));
		CU_ASSERT_PTR_NULL(out);
		/* Truncated in the middle. */
		CU_ASSERT_EQUAL(kxbuild_decompress(c, clen / 2, n, &out, &olen, &fmt, err, sizeof err),
		                -EINVAL);
		bz = bzimage(c, clen, 0x020f, &blen);
		CU_ASSERT_EQUAL(kxbuild_kernel_unwrap(bz, blen, n, &out, &olen, what, sizeof what, err,
		                                      sizeof err), 0);
		CU_ASSERT(out && olen == n && !memcmp(out, data, n));
		CU_ASSERT_PTR_NOT_NULL(strstr(what, names[i]));
		free(out);
		free(bz);
		free(c);
	}
	/* A 64 MiB gzip of zeros (64 KiB on disk) against a 16 MiB domain. */
	memset(data, 0, n);
	{
		uint8_t *zeros = calloc(1, 64u << 20);

		c = gz(zeros, 64u << 20, &clen);
		CU_ASSERT(clen < 100000);
		bz = bzimage(c, clen, 0x020f, &blen);
		CU_ASSERT_EQUAL(kxbuild_kernel_unwrap(bz, blen, MEM16, &out, &olen, what, sizeof what,
		                                      err, sizeof err), -EFBIG);
		CU_ASSERT_PTR_NOT_NULL(strstr(err, "more than 16777216 bytes"));
		free(bz);
		free(c);
		free(zeros);
	}
	free(data);
}

/* rc and the message both as expected; says what came instead when not. */
static void expect_err(int rc, int want, const char *err, const char *msg)
{
	CU_ASSERT_EQUAL(rc, want);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, msg));
	if (rc != want || !strstr(err, msg))
		fprintf(stderr, "got %d '%s', wanted %d '%s'\n", rc, err, want, msg);
}

static void check_unwrap(const uint8_t *buf, size_t len, int want, const char *msg)
{
	uint8_t *out;
	size_t olen;
	char err[256], what[96];

	expect_err(kxbuild_kernel_unwrap(buf, len, MEM16, &out, &olen, what, sizeof what, err,
	                                 sizeof err), want, err, msg);
	CU_ASSERT_PTR_NULL(out);
}

static void test_hostile_bzimages(void)
{
	static uint8_t junk[4096] = { 'M', 'Z' };
	uint8_t payload[64], *bz, *c;
	size_t blen, clen;

	check_unwrap(junk, 100, -ENOEXEC, "too short for a setup header");
	check_unwrap(junk, sizeof junk, -ENOEXEC, "neither ELF nor a bzImage");
	memset(payload, 0x42, sizeof payload);
	bz = bzimage(payload, sizeof payload, 0x0206, &blen);
	check_unwrap(bz, blen, -ENOEXEC, "older than 2.08");
	free(bz);
	bz = bzimage(payload, sizeof payload, 0x020f, &blen);
	check_unwrap(bz, blen - 1, -EINVAL, "lies outside the file");
	check_unwrap(bz, blen, -ENOEXEC, "no known compression format (magic 42 42 42 42)");
	memcpy(bz + blen - sizeof payload, "BZh91AY", 7);
	check_unwrap(bz, blen, -ENOEXEC, "bzip2 payloads are not supported");
	free(bz);
	/* A well-formed stream of something that is not a kernel. */
	c = gz(payload, sizeof payload, &clen);
	bz = bzimage(c, clen, 0x020f, &blen);
	check_unwrap(bz, blen, -ENOEXEC, "the gzip payload (64 bytes) is not an ELF kernel");
	/* Corrupt deflate data. */
	memset(bz + blen - clen + 10, 0xff, 8);
	check_unwrap(bz, blen, -EINVAL, "gzip payload is corrupt");
	free(bz);
	free(c);
	/* An LZ4 block claiming more than the file holds. */
	{
		uint8_t l4[16] = { 0x02, 0x21, 0x4c, 0x18, 0xff, 0xff, 0x00, 0x00, 1, 2, 3, 4 };

		bz = bzimage(l4, 12, 0x020f, &blen);
		check_unwrap(bz, blen, -EINVAL, "LZ4 payload is corrupt: block at byte 4 claims 65535");
		free(bz);
	}
}

static void check_parse(const struct pvspec *spec, uint64_t mem, int want, const char *msg)
{
	struct kxbuild_pvimage img;
	char err[256];
	size_t len;
	uint8_t *elf = make_elf(spec, &len);

	expect_err(kxbuild_pvlinux_parse(elf, len, mem, &img, err, sizeof err), want, err, msg);
	free(elf);
}

static void test_hostile_elves(void)
{
	struct pvspec s;
	struct kxbuild_pvimage img;
	struct kxbuild_pv_plan p;
	char err[256];
	uint8_t *elf;
	size_t len;

	linux_spec(&s, 1, 1);
	s.overlap_second = 1;
	check_parse(&s, MEM16, -EINVAL, "segment 2 [paddr 0x201000-0x206000) overlaps segment 0");
	linux_spec(&s, 1, 1);
	s.paddr = 0xfffffffffffff000ULL;
	check_parse(&s, MEM16, -E2BIG, "does not fit in 16 MiB of RAM");
	linux_spec(&s, 1, 1);
	s.memsz = 1;
	check_parse(&s, MEM16, -EINVAL, "filesz 0x3000 exceeds memsz 0x1");
	linux_spec(&s, 1, 1);
	note_u64(&s, XEN_ELFNOTE_ENTRY, VBASE + 0x900000);
	check_parse(&s, MEM16, -EINVAL, "entry point 0xffffffff80900000 is not inside");
	linux_spec(&s, 1, 1);
	note_u64(&s, XEN_ELFNOTE_ENTRY, VBASE + 0x204000);   /* bss: nothing to run there */
	check_parse(&s, MEM16, -EINVAL, "is not inside a loaded segment");
	linux_spec(&s, 1, 1);
	note_u64(&s, XEN_ELFNOTE_HYPERCALL_PAGE, VBASE + 0x200800);
	check_parse(&s, MEM16, -EINVAL, "hypercall page 0xffffffff80200800 is not a page");
	linux_spec(&s, 1, 1);
	note_str(&s, XEN_ELFNOTE_XEN_VERSION, "xen-2.0");
	check_parse(&s, MEM16, -ENOEXEC, "XEN_ELFNOTE_XEN_VERSION is \"xen-2.0\"");
	linux_spec(&s, 1, 1);
	note_str(&s, XEN_ELFNOTE_LOADER, "bsd");
	note_str(&s, XEN_ELFNOTE_GUEST_OS, "netbsd");
	check_parse(&s, MEM16, -ENOEXEC, "only the generic loader or Linux images");
	linux_spec(&s, 1, 1);
	note_u64(&s, XEN_ELFNOTE_VIRT_BASE, 0x0000900000000000ULL);
	check_parse(&s, MEM16, -EINVAL, "not a canonical page-aligned address");
	linux_spec(&s, 1, 1);
	note_u64(&s, XEN_ELFNOTE_PADDR_OFFSET, 0x300000);
	check_parse(&s, MEM16, -EINVAL, "PADDR_OFFSET 0x300000 is above the lowest segment");
	linux_spec(&s, 1, 1);
	note_u64(&s, XEN_ELFNOTE_PADDR_OFFSET, 0x800);
	check_parse(&s, MEM16, -EINVAL, "PADDR_OFFSET 0x800 is not page-aligned");
	linux_spec(&s, 1, 1);
	note_bytes(&s, XEN_ELFNOTE_L1_MFN_VALID, "abc", 3);
	check_parse(&s, MEM16, -EINVAL, "XEN_ELFNOTE_L1_MFN_VALID has 3 bytes");
	linux_spec(&s, 1, 1);
	note_bytes(&s, XEN_ELFNOTE_INIT_P2M, "abc", 3);
	check_parse(&s, MEM16, -EINVAL, "XEN_ELFNOTE_INIT_P2M has 3 bytes, expected 4 or 8");
	/* kxen's own guest is not parsed here: it is the other kind. */
	linux_spec(&s, 1, 1);
	note_str(&s, XEN_ELFNOTE_FEATURES, "!auto_translated_physmap");
	check_parse(&s, MEM16, -ENOEXEC, "not a direct-paging kernel");
	elf = make_elf(&s, &len);
	CU_ASSERT_EQUAL(kxbuild_elf_kind(elf, len, err, sizeof err), KXBUILD_KIND_AUTOTRANSLATED);
	free(elf);
	/* A truncated file. */
	linux_spec(&s, 1, 1);
	elf = make_elf(&s, &len);
	CU_ASSERT_EQUAL(kxbuild_pvlinux_parse(elf, len - 1, MEM16, &img, err, sizeof err), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "is beyond the end of the file"));
	CU_ASSERT_EQUAL(kxbuild_pvlinux_parse(elf, 40, MEM16, &img, err, sizeof err), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "ELF header truncated"));

	/* Layout refusals: too little memory, a p2m in kxen's hole, an initrd bigger than RAM. */
	CU_ASSERT_EQUAL_FATAL(kxbuild_pvlinux_parse(elf, len, MEM16, &img, err, sizeof err), 0);
	CU_ASSERT_EQUAL(kxbuild_pv_plan(&img, 4ULL << 20, 0, &p, err, sizeof err), -E2BIG);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "not enough memory for the initial mapping"));
	CU_ASSERT_EQUAL(kxbuild_pv_plan(&img, MEM16, MEM16, &p, err, sizeof err), -E2BIG);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "initrd (4096 pages at pfn 0x400) does not fit"));
	/* <currentMemory>: start_info's nr_pages is the current size, and everything must fit below it. */
	CU_ASSERT_EQUAL(kxbuild_pv_plan_current(&img, MEM16, 12ULL << 20, 0, &p, err, sizeof err), 0);
	CU_ASSERT_EQUAL(p.nr_pages, (12ULL << 20) / 4096);
	CU_ASSERT_EQUAL(p.shared_info_pfn, MEM16 / 4096 - 1);
	CU_ASSERT(p.alloc_end_pfn <= p.nr_pages);
	CU_ASSERT_EQUAL(kxbuild_pv_plan_current(&img, MEM16, MEM16, 0, &p, err, sizeof err), 0);
	CU_ASSERT_EQUAL(p.nr_pages, MEM16 / 4096 - 1);
	CU_ASSERT_EQUAL(kxbuild_pv_plan_current(&img, MEM16, 4ULL << 20, 0, &p, err, sizeof err), -E2BIG);
	img.init_p2m = 0xffff800000000000ULL;
	CU_ASSERT_EQUAL(kxbuild_pv_plan(&img, MEM16, 0, &p, err, sizeof err), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "enters kxen's reserved L4 slots 256-271"));
	free(elf);
}

/*
 * Random bit flips in a synthetic kernel, bare and inside an LZ4
 * bzImage: every step either refuses with a message or yields a plan whose
 * writes stay inside guest RAM (between guard pages: a stray write faults).
 */
static void test_fuzz(void)
{
	uint64_t mem = MEM16, seed = 12345;
	struct kxbuild_pv_boot boot = { 1, 2, "fuzz" };
	struct kxbuild_pv_plan *p = calloc(1, sizeof *p);
	struct kxbuild_pvimage img;
	unsigned round, ok = 0, refused = 0;
	struct pvspec s;
	uint8_t *elf, *m, *ram;
	size_t len, i;
	char err[256];

	ram = guard_pages__alloc(mem / PAGE);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ram);
	linux_spec(&s, 1, 1);
	elf = make_elf(&s, &len);
	m = malloc(len);
	for (round = 0; round < 4000; round++) {
		uint8_t *un = NULL, *bz = NULL, *c = NULL;
		const uint8_t *k = m;
		size_t klen = len, clen, blen;
		char what[96];

		memcpy(m, elf, len);
		for (i = 0; i < 1 + round % 4; i++) {
			seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
			/* Mostly the headers and notes, where the structure is. */
			m[(seed >> 33) % (round % 5 ? 0x400 : len)] ^= (uint8_t)(1u << ((seed >> 29) & 7));
		}
		if (round % 10 == 0) {
			c = lz4(m, len, &clen);
			seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
			c[(seed >> 33) % clen] ^= (uint8_t)(seed >> 20);
			bz = bzimage(c, clen, 0x020f, &blen);
			if (kxbuild_kernel_unwrap(bz, blen, mem, &un, &klen, what, sizeof what, err,
			                          sizeof err)) {
				refused++;
				goto next;
			}
			k = un;
		}
		if (kxbuild_pvlinux_parse(k, klen, mem, &img, err, sizeof err) ||
		    kxbuild_pv_plan(&img, mem, 3000, p, err, sizeof err)) {
			CU_ASSERT_NOT_EQUAL(err[0], '\0');
			refused++;
			goto next;
		}
		CU_ASSERT(p->alloc_end_pfn <= p->nr_pages && p->shared_info_pfn < mem / PAGE);
		kxbuild_pv_write(ram, p, &img, k, elf, 3000, &boot);
		ok++;
next:
		free(un);
		free(bz);
		free(c);
	}
	printf("(%u built, %u refused) ", ok, refused);
	CU_ASSERT(ok > 0 && refused > 0);
	free(m);
	free(elf);
	guard_pages__free(ram, mem / PAGE);
	free(p);
}

/* ------------------------------------------------------------------ */
/* Debian 12's kernels, when scripts/fetch-images.sh has cached them. */

static uint8_t *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	struct stat st;
	uint8_t *b = NULL;

	if (f && fstat(fileno(f), &st) == 0 && (b = malloc((size_t)st.st_size + 1)) &&
	    fread(b, 1, (size_t)st.st_size, f) == (size_t)st.st_size) {
		*len = (size_t)st.st_size;
	} else {
		free(b);
		b = NULL;
	}
	if (f)
		fclose(f);
	return b;
}

static void debian_image(const char *flavour, const char *format)
{
	const char *cache = getenv("KXEN_IMAGE_CACHE") ? getenv("KXEN_IMAGE_CACHE") :
	                    "/var/cache/kxen/images";
	char kpath[512], ipath[512], what[96], err[256];
	uint8_t *file, *elf = NULL, *initrd;
	size_t flen, elen, ilen;
	struct kxbuild_pvimage img;

	snprintf(kpath, sizeof kpath, "%s/vmlinuz-%s", cache, flavour);
	snprintf(ipath, sizeof ipath, "%s/initramfs-%s.gz", cache, flavour);
	file = slurp(kpath, &flen);
	initrd = slurp(ipath, &ilen);
	if (!file || !initrd) {
		printf("\n  SKIPPED: %s or %s is missing (run scripts/fetch-images.sh) ", kpath, ipath);
		free(file);
		free(initrd);
		return;
	}
	CU_ASSERT_EQUAL_FATAL(kxbuild_kernel_unwrap(file, flen, 256ULL << 20, &elf, &elen, what,
	                                            sizeof what, err, sizeof err), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(what, format));
	CU_ASSERT_EQUAL_FATAL(kxbuild_pvlinux_parse(elf, elen, 256ULL << 20, &img, err, sizeof err), 0);
	/* What Debian 12's kernels say about themselves (xen-head.S). */
	CU_ASSERT_STRING_EQUAL(img.guest_os, "linux");
	CU_ASSERT_EQUAL(img.virt_base, VBASE);
	CU_ASSERT_EQUAL(img.init_p2m, 0x8000000000ULL);
	CU_ASSERT_EQUAL(img.hypercall_page, KXBUILD_PV_UNSET);
	CU_ASSERT_TRUE(img.mod_start_pfn);
	CU_ASSERT_EQUAL(img.virt_kstart, VBASE + 0x1000000);
	/* "!writable_page_tables|pae_pgdir_above_4gb" and the bitmap 0x8801 (libelf's reading). */
	CU_ASSERT_EQUAL(img.f_required, 1u << XENFEAT_writable_page_tables);
	CU_ASSERT_EQUAL(img.f_supported, (1u << XENFEAT_writable_page_tables) |
	                (1u << XENFEAT_pae_pgdir_above_4gb) | (1u << XENFEAT_dom0) |
	                (1u << XENFEAT_linux_rsdp_unrestricted));
	build_and_check(elf, elen, 256ULL << 20, initrd, ilen);
	/* The same kernel does not fit 32 MiB: refused while decompressing, by the cap. */
	free(elf);
	CU_ASSERT_EQUAL(kxbuild_kernel_unwrap(file, flen, 32ULL << 20, &elf, &elen, what,
	                                      sizeof what, err, sizeof err), -EFBIG);
	free(file);
	free(initrd);
}

static void test_debian_cloud(void)
{
	debian_image("cloud", "LZ4");
}

static void test_debian_generic(void)
{
	debian_image("generic", "XZ");
}

int main(void)
{
	static const struct cunit_test tests[] = {
		{ "decompressors and bzImage round trips, bombs", test_decompress },
		{ "hostile bzImages", test_hostile_bzimages },
		{ "hostile direct-paging ELF kernels and layouts", test_hostile_elves },
		{ "synthetic kernels: four libxc orders, page tables", test_synthetic_layouts },
		{ "Debian 12 order and sizes (synthetic)", test_region_order },
		{ "fuzz 4000 mutations", test_fuzz },
		{ "Debian 12 cloud kernel (LZ4) layout", test_debian_cloud },
		{ "Debian 12 generic kernel (XZ) layout", test_debian_generic },
	};

	return cunit_run("pvbuild", tests, CUNIT_COUNT(tests), NULL, NULL);
}
