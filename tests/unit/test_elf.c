/* CUnit tests of libkxbuild: ELF/Xen-note parsing, the guest layout, the hypercall page and kxbuild_domain (mocked kxen-hv). */
#define _GNU_SOURCE
#define __XEN_TOOLS__ 1   /* current Xen interface, as build.c uses */
#include "cunit_run.h"
#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xen/xen.h>
#include <xen/elfnote.h>
#include <xen/event_channel.h>
#include "kxen/kxbuild.h"
#include "kxen/kxbuild_pv.h"

#define MEM8    (8ULL << 20)
#define SPECIAL ((uint64_t)KXBUILD_SPECIAL_PAGES * KXEN_PAGE_SIZE)

/* ------------------------------------------------------------------ */
/* An in-memory ELF image generator: a spec, then bytes.              */

#define MAX_SPEC_SEGS  20
#define MAX_SPEC_NOTES 16

struct seg_spec { uint64_t paddr, filesz, memsz; };
struct note_spec { const char *name; uint32_t type, len; uint8_t desc[300]; };

struct spec {
	unsigned nseg;
	struct seg_spec seg[MAX_SPEC_SEGS];
	unsigned nnote;
	struct note_spec note[MAX_SPEC_NOTES];
	uint64_t e_entry;
	int notes_in_section;   /* SHT_NOTE section only, no PT_NOTE */
};

struct image {
	uint8_t *buf;
	size_t len;
	size_t notes_off, notes_len;
	size_t note_off[MAX_SPEC_NOTES];
	size_t seg_off[MAX_SPEC_SEGS];
	unsigned first_load;    /* program header index of the first PT_LOAD */
};

static void spec_set_bytes(struct spec *s, const char *name, uint32_t type,
                           const void *d, uint32_t len)
{
	unsigned i;

	for (i = 0; i < s->nnote; i++)
		if (s->note[i].type == type && !strcmp(s->note[i].name, name))
			break;
	if (i == s->nnote)
		s->nnote++;
	s->note[i].name = name;
	s->note[i].type = type;
	s->note[i].len = len;
	memcpy(s->note[i].desc, d, len);
}

static void spec_str(struct spec *s, uint32_t type, const char *str)
{
	spec_set_bytes(s, "Xen", type, str, (uint32_t)strlen(str) + 1);
}

static void spec_num(struct spec *s, uint32_t type, uint64_t v, uint32_t len)
{
	spec_set_bytes(s, "Xen", type, &v, len);   /* little-endian host */
}

static void spec_drop(struct spec *s, uint32_t type)
{
	unsigned i;

	for (i = 0; i < s->nnote; i++)
		if (s->note[i].type == type && !strcmp(s->note[i].name, "Xen")) {
			memmove(&s->note[i], &s->note[i + 1], (s->nnote - i - 1) * sizeof s->note[0]);
			s->nnote--;
			return;
		}
}

/* A valid kernel: one 0x5000-byte segment at 1 MiB (0x3000 from the file), all notes. */
static void default_spec(struct spec *s)
{
	memset(s, 0, sizeof *s);
	s->nseg = 1;
	s->seg[0] = (struct seg_spec){ 0x100000, 0x3000, 0x5000 };
	spec_set_bytes(s, "GNU", 3, "\x01\x02\x03\x04\x05", 5);  /* not ours: skipped */
	spec_num(s, XEN_ELFNOTE_ENTRY, 0x100000, 8);
	spec_num(s, XEN_ELFNOTE_HYPERCALL_PAGE, 0x101000, 4);
	spec_str(s, XEN_ELFNOTE_GUEST_OS, "kxen-test");
	spec_str(s, XEN_ELFNOTE_XEN_VERSION, "xen-3.0");
	spec_str(s, XEN_ELFNOTE_LOADER, "generic");
	spec_str(s, XEN_ELFNOTE_FEATURES,
	         "writable_descriptor_tables|!auto_translated_physmap|supervisor_mode_kernel");
	s->e_entry = 0x100010;
}

static size_t align_to(size_t v, size_t a) { return (v + a - 1) & ~(a - 1); }

static struct image build_image(const struct spec *s)
{
	struct image im;
	unsigned phnum = s->nseg + (s->notes_in_section ? 0 : 1);
	size_t off, cap = 1 << 16;
	unsigned i, ph = 0;
	Elf64_Ehdr eh;

	memset(&im, 0, sizeof im);
	for (i = 0; i < s->nseg; i++)
		cap += s->seg[i].filesz < (1 << 20) ? s->seg[i].filesz : 0;
	im.buf = calloc(1, cap);
	off = sizeof eh + phnum * sizeof(Elf64_Phdr);

	im.notes_off = off;
	for (i = 0; i < s->nnote; i++) {
		Elf64_Nhdr nh = { (uint32_t)strlen(s->note[i].name) + 1, s->note[i].len, s->note[i].type };

		im.note_off[i] = off;
		memcpy(im.buf + off, &nh, sizeof nh);
		off += sizeof nh;
		memcpy(im.buf + off, s->note[i].name, nh.n_namesz);
		off += align_to(nh.n_namesz, 4);
		memcpy(im.buf + off, s->note[i].desc, nh.n_descsz);
		off += align_to(nh.n_descsz, 4);
	}
	im.notes_len = off - im.notes_off;
	off = align_to(off, 16);

	memset(&eh, 0, sizeof eh);
	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS64;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	eh.e_ident[EI_VERSION] = EV_CURRENT;
	eh.e_type = ET_EXEC;
	eh.e_machine = EM_X86_64;
	eh.e_version = EV_CURRENT;
	eh.e_entry = s->e_entry;
	eh.e_phoff = sizeof eh;
	eh.e_ehsize = sizeof eh;
	eh.e_phentsize = sizeof(Elf64_Phdr);
	eh.e_phnum = (uint16_t)phnum;

	if (!s->notes_in_section) {
		Elf64_Phdr p = { .p_type = PT_NOTE, .p_flags = PF_R, .p_offset = im.notes_off,
		                 .p_filesz = im.notes_len, .p_memsz = im.notes_len, .p_align = 4 };
		memcpy(im.buf + sizeof eh + ph++ * sizeof p, &p, sizeof p);
	}
	im.first_load = ph;
	for (i = 0; i < s->nseg; i++) {
		size_t n = s->seg[i].filesz < (1 << 20) ? s->seg[i].filesz : 0;
		Elf64_Phdr p = { .p_type = PT_LOAD, .p_flags = PF_R | PF_W | PF_X, .p_offset = off,
		                 .p_vaddr = s->seg[i].paddr, .p_paddr = s->seg[i].paddr,
		                 .p_filesz = s->seg[i].filesz, .p_memsz = s->seg[i].memsz,
		                 .p_align = 0x1000 };
		size_t j;

		im.seg_off[i] = off;
		for (j = 0; j < n; j++)
			im.buf[off + j] = (uint8_t)(((i + 1) * 37 + j) | 1);  /* never 0: bss must differ */
		off += n;
		memcpy(im.buf + sizeof eh + ph++ * sizeof p, &p, sizeof p);
	}
	if (s->notes_in_section) {
		Elf64_Shdr sh[2];

		off = align_to(off, 8);
		memset(sh, 0, sizeof sh);
		sh[1].sh_type = SHT_NOTE;
		sh[1].sh_offset = im.notes_off;
		sh[1].sh_size = im.notes_len;
		sh[1].sh_addralign = 4;
		memcpy(im.buf + off, sh, sizeof sh);
		eh.e_shoff = off;
		eh.e_shentsize = sizeof sh[0];
		eh.e_shnum = 2;
		off += sizeof sh;
	}
	memcpy(im.buf, &eh, sizeof eh);
	im.len = off;
	return im;
}

static Elf64_Ehdr get_ehdr(const struct image *im)
{
	Elf64_Ehdr eh;

	memcpy(&eh, im->buf, sizeof eh);
	return eh;
}

static void put_ehdr(struct image *im, const Elf64_Ehdr *eh) { memcpy(im->buf, eh, sizeof *eh); }

static Elf64_Phdr get_phdr(const struct image *im, unsigned i)
{
	Elf64_Phdr p;

	memcpy(&p, im->buf + sizeof(Elf64_Ehdr) + i * sizeof p, sizeof p);
	return p;
}

static void put_phdr(struct image *im, unsigned i, const Elf64_Phdr *p)
{
	memcpy(im->buf + sizeof(Elf64_Ehdr) + i * sizeof *p, p, sizeof *p);
}

/* ------------------------------------------------------------------ */
/* Assertion helpers that report the caller's line.                   */

static void check_fail_at(const uint8_t *buf, size_t len, uint64_t mem, int want_rc,
                          const char *want_msg, unsigned line)
{
	struct kxbuild_image img;
	char err[KXBUILD_ERR_MAX];
	int rc;

	memset(err, 0, sizeof err);
	rc = kxbuild_elf_parse(buf, len, mem, &img, err, sizeof err);
	if (rc != want_rc || !strstr(err, want_msg))
		printf("\n  line %u: rc %d (wanted %d), error \"%s\" (wanted \"%s\")\n",
		       line, rc, want_rc, err, want_msg);
	CU_assertImplementation(rc == want_rc, line, "parse return code", __FILE__, "", CU_FALSE);
	CU_assertImplementation(strstr(err, want_msg) != NULL, line, "parse error text",
	                        __FILE__, "", CU_FALSE);
	CU_assertImplementation(img.nr_segments == 0 && img.entry == 0, line,
	                        "image cleared on failure", __FILE__, "", CU_FALSE);
}

#define CHECK_FAIL_IMG(im, mem, rc, msg) check_fail_at((im)->buf, (im)->len, mem, rc, msg, __LINE__)

static void check_spec_fail_at(const struct spec *s, uint64_t mem, int want_rc,
                               const char *want_msg, unsigned line)
{
	struct image im = build_image(s);

	check_fail_at(im.buf, im.len, mem, want_rc, want_msg, line);
	free(im.buf);
}

#define CHECK_SPEC_FAIL(s, mem, rc, msg) check_spec_fail_at(s, mem, rc, msg, __LINE__)

static int parse_spec(const struct spec *s, uint64_t mem, struct kxbuild_image *img,
                      char *err)
{
	struct image im = build_image(s);
	int rc = kxbuild_elf_parse(im.buf, im.len, mem, img, err, KXBUILD_ERR_MAX);

	if (rc)
		printf("\n  unexpected parse failure %d: %s\n", rc, err);
	free(im.buf);
	return rc;
}

/* Everything an accepted image promises, checked independently of the parser. */
static int image_is_sane(const struct kxbuild_image *img, size_t len, uint64_t mem)
{
	unsigned i, j;
	int entry_ok = 0, hc_ok = 0;

	if (img->nr_segments == 0 || img->nr_segments > KXBUILD_MAX_SEGMENTS)
		return 0;
	if (img->load_end % KXEN_PAGE_SIZE || img->load_end > mem || mem - img->load_end < SPECIAL)
		return 0;
	if (img->hypercall_page % KXEN_PAGE_SIZE || strcmp(img->xen_version, "xen-3.0") ||
	    strcmp(img->loader, "generic") || !strstr(img->features, "auto_translated_physmap"))
		return 0;
	for (i = 0; i < img->nr_segments; i++) {
		const struct kxbuild_segment *s = &img->seg[i];

		if (s->filesz > s->memsz || s->offset > len || s->filesz > len - s->offset ||
		    s->paddr < KXEN_PV_KERNEL_MIN || s->paddr > img->load_end ||
		    s->memsz > img->load_end - s->paddr)
			return 0;
		for (j = 0; j < i; j++)
			if (s->paddr < img->seg[j].paddr + img->seg[j].memsz &&
			    img->seg[j].paddr < s->paddr + s->memsz)
				return 0;
		if (img->entry >= s->paddr && img->entry < s->paddr + s->filesz)
			entry_ok = 1;
		if (img->hypercall_page >= s->paddr &&
		    img->hypercall_page + KXEN_PAGE_SIZE <= s->paddr + s->memsz)
			hc_ok = 1;
	}
	return entry_ok && hc_ok;
}

/* ------------------------------------------------------------------ */
/* ELF parsing: accepted images.                                      */

static void test_valid_kernel(void)
{
	struct kxbuild_image img;
	char err[KXBUILD_ERR_MAX];
	struct spec s;
	struct image im;

	default_spec(&s);
	im = build_image(&s);
	CU_ASSERT_EQUAL_FATAL(kxbuild_elf_parse(im.buf, im.len, MEM8, &img, err, sizeof err), 0);
	CU_ASSERT_EQUAL(img.entry, 0x100000);
	CU_ASSERT_EQUAL(img.hypercall_page, 0x101000);
	CU_ASSERT_EQUAL(img.virt_base, 0);
	CU_ASSERT_EQUAL(img.load_end, 0x105000);
	CU_ASSERT_STRING_EQUAL(img.guest_os, "kxen-test");
	CU_ASSERT_STRING_EQUAL(img.xen_version, "xen-3.0");
	CU_ASSERT_STRING_EQUAL(img.loader, "generic");
	CU_ASSERT_STRING_EQUAL(img.features,
	                       "writable_descriptor_tables|!auto_translated_physmap|supervisor_mode_kernel");
	CU_ASSERT_EQUAL(img.nr_segments, 1);
	CU_ASSERT_EQUAL(img.seg[0].paddr, 0x100000);
	CU_ASSERT_EQUAL(img.seg[0].filesz, 0x3000);
	CU_ASSERT_EQUAL(img.seg[0].memsz, 0x5000);
	CU_ASSERT_EQUAL(img.seg[0].offset, im.seg_off[0]);
	CU_ASSERT(image_is_sane(&img, im.len, MEM8));
	/* The same kernel fits the smallest guest too. */
	CU_ASSERT_EQUAL(kxbuild_elf_parse(im.buf, im.len, KXEN_PV_MIN_MEM, &img, err, sizeof err), 0);
	free(im.buf);
}

static void test_valid_variants(void)
{
	struct kxbuild_image img;
	char err[KXBUILD_ERR_MAX];
	struct spec s;

	/* Notes only in a section (no PT_NOTE), as some PVH-era linkers emit them. */
	default_spec(&s);
	s.notes_in_section = 1;
	CU_ASSERT_EQUAL(parse_spec(&s, MEM8, &img, err), 0);
	CU_ASSERT_EQUAL(img.hypercall_page, 0x101000);
	CU_ASSERT_STRING_EQUAL(img.guest_os, "kxen-test");

	/* No ENTRY note: e_entry is used. */
	default_spec(&s);
	spec_drop(&s, XEN_ELFNOTE_ENTRY);
	CU_ASSERT_EQUAL(parse_spec(&s, MEM8, &img, err), 0);
	CU_ASSERT_EQUAL(img.entry, 0x100010);

	/* Feature without '!', alone; 4-byte ENTRY; 8-byte HYPERCALL_PAGE. */
	default_spec(&s);
	spec_str(&s, XEN_ELFNOTE_FEATURES, "auto_translated_physmap");
	spec_num(&s, XEN_ELFNOTE_ENTRY, 0x102ff0, 4);
	spec_num(&s, XEN_ELFNOTE_HYPERCALL_PAGE, 0x104000, 8);   /* in bss: fine */
	CU_ASSERT_EQUAL(parse_spec(&s, MEM8, &img, err), 0);
	CU_ASSERT_EQUAL(img.entry, 0x102ff0);
	CU_ASSERT_EQUAL(img.hypercall_page, 0x104000);

	/* Two segments with a gap, a pure-bss one, an explicit VIRT_BASE of 0, an identical duplicate note. */
	default_spec(&s);
	s.nseg = 3;
	s.seg[1] = (struct seg_spec){ 0x200000, 0x1800, 0x2000 };
	s.seg[2] = (struct seg_spec){ 0x300000, 0, 0x10000 };
	spec_num(&s, XEN_ELFNOTE_VIRT_BASE, 0, 8);
	spec_set_bytes(&s, "Xen", XEN_ELFNOTE_GUEST_OS, "kxen-test", 10);
	s.note[s.nnote++] = s.note[2];
	CU_ASSERT_EQUAL(parse_spec(&s, MEM8, &img, err), 0);
	CU_ASSERT_EQUAL(img.nr_segments, 3);
	CU_ASSERT_EQUAL(img.seg[1].paddr, 0x200000);
	CU_ASSERT_EQUAL(img.seg[2].filesz, 0);
	CU_ASSERT_EQUAL(img.load_end, 0x310000);

	/* A kernel that ends exactly where the special pages must start. */
	default_spec(&s);
	s.seg[0].memsz = KXEN_PV_MIN_MEM - SPECIAL - 0x100000;
	CU_ASSERT_EQUAL(parse_spec(&s, KXEN_PV_MIN_MEM, &img, err), 0);
	CU_ASSERT_EQUAL(img.load_end + SPECIAL, KXEN_PV_MIN_MEM);
}

/* ------------------------------------------------------------------ */
/* ELF parsing: rejected headers.                                     */

static void test_bad_headers(void)
{
	struct spec s;
	struct image im;
	Elf64_Ehdr eh, good;
	Elf64_Phdr ph;

	default_spec(&s);
	im = build_image(&s);
	good = get_ehdr(&im);

	check_fail_at(im.buf, 0, MEM8, -ENOEXEC, "not an ELF file", __LINE__);
	check_fail_at(im.buf, 3, MEM8, -ENOEXEC, "not an ELF file", __LINE__);
	check_fail_at(im.buf, 40, MEM8, -EINVAL, "ELF header truncated", __LINE__);

	eh = good; eh.e_ident[EI_MAG1] = 'F'; put_ehdr(&im, &eh);
	CHECK_FAIL_IMG(&im, MEM8, -ENOEXEC, "bad magic");
	eh = good; eh.e_ident[EI_CLASS] = ELFCLASS32; put_ehdr(&im, &eh);
	CHECK_FAIL_IMG(&im, MEM8, -ENOEXEC, "not an ELF64");
	eh = good; eh.e_ident[EI_DATA] = ELFDATA2MSB; put_ehdr(&im, &eh);
	CHECK_FAIL_IMG(&im, MEM8, -ENOEXEC, "little-endian");
	eh = good; eh.e_machine = EM_386; put_ehdr(&im, &eh);
	CHECK_FAIL_IMG(&im, MEM8, -ENOEXEC, "not an x86_64");
	eh = good; eh.e_machine = EM_AARCH64; put_ehdr(&im, &eh);
	CHECK_FAIL_IMG(&im, MEM8, -ENOEXEC, "machine 183");
	eh = good; eh.e_type = ET_DYN; put_ehdr(&im, &eh);
	CHECK_FAIL_IMG(&im, MEM8, -ENOEXEC, "ET_EXEC");
	eh = good; eh.e_version = 7; put_ehdr(&im, &eh);
	CHECK_FAIL_IMG(&im, MEM8, -EINVAL, "ELF version");
	eh = good; eh.e_phnum = 0; put_ehdr(&im, &eh);
	CHECK_FAIL_IMG(&im, MEM8, -ENOEXEC, "no program headers");
	eh = good; eh.e_phnum = 65; put_ehdr(&im, &eh);
	CHECK_FAIL_IMG(&im, MEM8, -EINVAL, "65 program headers is absurd");
	eh = good; eh.e_phnum = 0xffff; put_ehdr(&im, &eh);
	CHECK_FAIL_IMG(&im, MEM8, -EINVAL, "absurd");
	eh = good; eh.e_phentsize = 32; put_ehdr(&im, &eh);
	CHECK_FAIL_IMG(&im, MEM8, -EINVAL, "program header size 32");
	eh = good; eh.e_phoff = im.len; put_ehdr(&im, &eh);
	CHECK_FAIL_IMG(&im, MEM8, -EINVAL, "program header table at offset");
	eh = good; eh.e_phoff = UINT64_MAX - 16; put_ehdr(&im, &eh);
	CHECK_FAIL_IMG(&im, MEM8, -EINVAL, "is beyond the end of the file");
	/* 64 headers do not fit in this small file: the message gives offset+size and file size. */
	eh = good; eh.e_phnum = 64; put_ehdr(&im, &eh);
	CU_ASSERT_FATAL(im.len > 2000);
	check_fail_at(im.buf, 2000, MEM8, -EINVAL,
	              "program header table at offset 64+3584 is beyond the end of the file (2000 bytes)",
	              __LINE__);
	put_ehdr(&im, &good);

	/* A PT_NOTE outside the file. */
	ph = get_phdr(&im, 0);
	ph.p_offset = im.len - 4;
	put_phdr(&im, 0, &ph);
	CHECK_FAIL_IMG(&im, MEM8, -EINVAL, "PT_NOTE segment 0");
	ph.p_offset = UINT64_MAX;
	put_phdr(&im, 0, &ph);
	CHECK_FAIL_IMG(&im, MEM8, -EINVAL, "beyond the end of the file");
	free(im.buf);
}

/* Every strict prefix of a valid image is an incomplete image. */
static void check_prefixes(const struct spec *s)
{
	struct image im = build_image(s);
	struct kxbuild_image img;
	char err[KXBUILD_ERR_MAX];
	unsigned accepted = 0, silent = 0;
	size_t len;

	for (len = 0; len < im.len; len++) {
		uint8_t *copy = malloc(len ? len : 1);   /* exact size: overreads hit the heap guard */

		memcpy(copy, im.buf, len);
		err[0] = '\0';
		if (kxbuild_elf_parse(copy, len, MEM8, &img, err, sizeof err) == 0) {
			/* Only trailing section headers could be cut harmlessly; those must then be sane. */
			accepted++;
			CU_ASSERT(image_is_sane(&img, len, MEM8));
		} else if (!err[0]) {
			silent++;
		}
		free(copy);
	}
	CU_ASSERT_EQUAL(silent, 0);
	if (!s->notes_in_section)
		CU_ASSERT_EQUAL(accepted, 0);
	CU_ASSERT_EQUAL(kxbuild_elf_parse(im.buf, im.len, MEM8, &img, err, sizeof err), 0);
	free(im.buf);
}

static void test_truncated(void)
{
	struct spec s;

	default_spec(&s);
	check_prefixes(&s);
	default_spec(&s);
	s.notes_in_section = 1;
	check_prefixes(&s);
}

/* ------------------------------------------------------------------ */
/* ELF parsing: rejected segments.                                    */

static void test_bad_segments(void)
{
	struct spec s;
	struct image im;
	Elf64_Phdr ph, good;
	unsigned i;

	default_spec(&s);
	im = build_image(&s);
	good = get_phdr(&im, im.first_load);

	ph = good; ph.p_filesz = ph.p_memsz + 1; put_phdr(&im, 1, &ph);
	CHECK_FAIL_IMG(&im, MEM8, -EINVAL, "segment 1 filesz 0x5001 exceeds memsz 0x5000");
	ph = good; ph.p_offset = im.len - 0x100; put_phdr(&im, 1, &ph);
	CHECK_FAIL_IMG(&im, MEM8, -EINVAL, "segment 1 [offset");
	ph = good; ph.p_offset = UINT64_MAX - 0x10; put_phdr(&im, 1, &ph);
	CHECK_FAIL_IMG(&im, MEM8, -EINVAL, "beyond the end of the file");
	ph = good; ph.p_paddr = ph.p_vaddr = 0xff000; put_phdr(&im, 1, &ph);
	CHECK_FAIL_IMG(&im, MEM8, -EINVAL, "segment 1 at 0xff000 is below 0x100000");
	ph = good; ph.p_paddr = ph.p_vaddr = 0; put_phdr(&im, 1, &ph);
	CHECK_FAIL_IMG(&im, MEM8, -EINVAL, "below");
	ph = good; ph.p_vaddr = 0xffffffff80100000ULL; put_phdr(&im, 1, &ph);
	CHECK_FAIL_IMG(&im, MEM8, -ENOEXEC, "differs from paddr");
	ph = good; ph.p_memsz = 17ULL << 30; put_phdr(&im, 1, &ph);
	CHECK_FAIL_IMG(&im, KXEN_PV_MAX_MEM, -E2BIG, "absurd");
	ph = good; ph.p_memsz = UINT64_MAX; put_phdr(&im, 1, &ph);
	CHECK_FAIL_IMG(&im, MEM8, -E2BIG, "absurd");
	/* Overflow-safe RAM checks: paddr + memsz would wrap. */
	ph = good; ph.p_paddr = ph.p_vaddr = UINT64_MAX - 0xfff; put_phdr(&im, 1, &ph);
	CHECK_FAIL_IMG(&im, MEM8, -E2BIG, "does not fit in RAM");
	ph = good; ph.p_paddr = ph.p_vaddr = UINT64_MAX - 0x2fff; ph.p_memsz = 0x3000;
	put_phdr(&im, 1, &ph);
	CHECK_FAIL_IMG(&im, MEM8, -E2BIG, "does not fit in RAM");
	ph = good; ph.p_paddr = ph.p_vaddr = MEM8 - 0x1000; put_phdr(&im, 1, &ph);
	CHECK_FAIL_IMG(&im, MEM8, -E2BIG, "segment 1 [0x7ff000+0x5000) does not fit in RAM");
	/* RAM so small (or bogus) that nothing fits must not underflow. */
	CHECK_FAIL_IMG(&im, 0, -E2BIG, "does not fit");
	CHECK_FAIL_IMG(&im, SPECIAL, -E2BIG, "does not fit");
	free(im.buf);

	/* One byte too many at the top of a 4 MiB guest. */
	default_spec(&s);
	s.seg[0].memsz = KXEN_PV_MIN_MEM - SPECIAL - 0x100000 + 1;
	CHECK_SPEC_FAIL(&s, KXEN_PV_MIN_MEM, -E2BIG, "does not fit in RAM");

	/* Overlaps, in both orders and by containment. */
	default_spec(&s);
	s.nseg = 2;
	s.seg[0] = (struct seg_spec){ 0x100000, 0x3000, 0x200000 };
	s.seg[1] = (struct seg_spec){ 0x100000, 0x1000, 0x200000 };
	CHECK_SPEC_FAIL(&s, MEM8, -EINVAL, "segment 2 [0x100000-0x300000) overlaps segment 1");
	s.seg[1] = (struct seg_spec){ 0x2ff000, 0x1000, 0x2000 };
	CHECK_SPEC_FAIL(&s, MEM8, -EINVAL, "overlaps segment 1");
	s.seg[0] = (struct seg_spec){ 0x200000, 0x1000, 0x2000 };
	s.seg[1] = (struct seg_spec){ 0x100000, 0x3000, 0x200000 };
	CHECK_SPEC_FAIL(&s, MEM8, -EINVAL, "segment 2 [0x100000-0x300000) overlaps segment 1");
	{
		struct kxbuild_image img;
		char err[KXBUILD_ERR_MAX];

		/* Adjacent is not overlapping. */
		s.seg[0] = (struct seg_spec){ 0x100000, 0x3000, 0x5000 };
		s.seg[1] = (struct seg_spec){ 0x105000, 0x1000, 0x1000 };
		CU_ASSERT_EQUAL(parse_spec(&s, MEM8, &img, err), 0);
	}

	/* Too many segments. */
	default_spec(&s);
	s.nseg = KXBUILD_MAX_SEGMENTS + 1;
	for (i = 1; i < s.nseg; i++)
		s.seg[i] = (struct seg_spec){ 0x200000 + i * 0x1000, 0x10, 0x1000 };
	CHECK_SPEC_FAIL(&s, MEM8, -EINVAL, "more than 16 PT_LOAD segments");

	/* No PT_LOAD at all. */
	default_spec(&s);
	s.nseg = 0;
	CHECK_SPEC_FAIL(&s, MEM8, -ENOEXEC, "no PT_LOAD");
}

/* ------------------------------------------------------------------ */
/* ELF parsing: rejected notes.                                       */

static void test_missing_notes(void)
{
	static const struct { uint32_t type; const char *msg; } req[] = {
		{ XEN_ELFNOTE_HYPERCALL_PAGE, "note XEN_ELFNOTE_HYPERCALL_PAGE missing" },
		{ XEN_ELFNOTE_GUEST_OS, "note XEN_ELFNOTE_GUEST_OS missing" },
		{ XEN_ELFNOTE_XEN_VERSION, "note XEN_ELFNOTE_XEN_VERSION missing" },
		{ XEN_ELFNOTE_LOADER, "note XEN_ELFNOTE_LOADER missing" },
		{ XEN_ELFNOTE_FEATURES, "note XEN_ELFNOTE_FEATURES missing" },
	};
	struct spec s;
	unsigned i;

	for (i = 0; i < sizeof req / sizeof req[0]; i++) {
		default_spec(&s);
		spec_drop(&s, req[i].type);
		CHECK_SPEC_FAIL(&s, MEM8, -ENOEXEC, req[i].msg);
		s.notes_in_section = 1;
		CHECK_SPEC_FAIL(&s, MEM8, -ENOEXEC, req[i].msg);
	}
	/* No ENTRY note and no usable e_entry. */
	default_spec(&s);
	spec_drop(&s, XEN_ELFNOTE_ENTRY);
	s.e_entry = 0;
	CHECK_SPEC_FAIL(&s, MEM8, -EINVAL, "entry point 0x0 (e_entry) is not inside a loaded segment");
	/* Only a foreign note: not a xenpv kernel at all. */
	default_spec(&s);
	s.nnote = 1;
	CHECK_SPEC_FAIL(&s, MEM8, -ENOEXEC, "no Xen ELF notes");
	s.nnote = 0;
	CHECK_SPEC_FAIL(&s, MEM8, -ENOEXEC, "no Xen ELF notes");
	s.notes_in_section = 1;
	CHECK_SPEC_FAIL(&s, MEM8, -ENOEXEC, "no Xen ELF notes");
	/* A note named "Xenon" is not a Xen note. */
	default_spec(&s);
	for (i = 0; i < s.nnote; i++)
		if (s.note[i].type == XEN_ELFNOTE_LOADER)
			s.note[i].name = "Xenon";
	CHECK_SPEC_FAIL(&s, MEM8, -ENOEXEC, "note XEN_ELFNOTE_LOADER missing");
}

static void test_bad_note_values(void)
{
	struct spec s;
	char big[300];

	default_spec(&s);
	spec_str(&s, XEN_ELFNOTE_XEN_VERSION, "xen-4.0");
	CHECK_SPEC_FAIL(&s, MEM8, -ENOEXEC, "XEN_ELFNOTE_XEN_VERSION is \"xen-4.0\", expected \"xen-3.0\"");
	default_spec(&s);
	spec_str(&s, XEN_ELFNOTE_XEN_VERSION, "xen-3.0.1");
	CHECK_SPEC_FAIL(&s, MEM8, -ENOEXEC, "expected \"xen-3.0\"");
	default_spec(&s);
	spec_str(&s, XEN_ELFNOTE_LOADER, "bsd");
	CHECK_SPEC_FAIL(&s, MEM8, -ENOEXEC, "XEN_ELFNOTE_LOADER is \"bsd\", expected \"generic\"");
	default_spec(&s);
	spec_str(&s, XEN_ELFNOTE_FEATURES, "writable_page_tables|auto_translated_physmapX|!auto_translated");
	CHECK_SPEC_FAIL(&s, MEM8, -ENOEXEC, "lacks auto_translated_physmap");
	default_spec(&s);
	spec_str(&s, XEN_ELFNOTE_FEATURES, "");
	CHECK_SPEC_FAIL(&s, MEM8, -ENOEXEC, "lacks auto_translated_physmap");
	default_spec(&s);
	spec_num(&s, XEN_ELFNOTE_HYPERCALL_PAGE, 0x101800, 8);
	CHECK_SPEC_FAIL(&s, MEM8, -EINVAL, "hypercall page 0x101800 is not page-aligned");
	default_spec(&s);
	spec_num(&s, XEN_ELFNOTE_HYPERCALL_PAGE, 0x105000, 8);   /* just past memsz */
	CHECK_SPEC_FAIL(&s, MEM8, -EINVAL, "hypercall page [0x105000-0x106000) is not inside a loaded segment");
	default_spec(&s);
	spec_num(&s, XEN_ELFNOTE_HYPERCALL_PAGE, 0xfffffffffffff000ULL, 8);
	CHECK_SPEC_FAIL(&s, MEM8, -EINVAL, "not inside a loaded segment");
	default_spec(&s);
	spec_num(&s, XEN_ELFNOTE_ENTRY, 0x300000, 8);
	CHECK_SPEC_FAIL(&s, MEM8, -EINVAL, "entry point 0x300000 (XEN_ELFNOTE_ENTRY) is not inside a loaded segment");
	default_spec(&s);
	spec_num(&s, XEN_ELFNOTE_ENTRY, 0x103000, 8);             /* bss */
	CHECK_SPEC_FAIL(&s, MEM8, -EINVAL, "entry point 0x103000");
	default_spec(&s);
	spec_num(&s, XEN_ELFNOTE_ENTRY, UINT64_MAX, 8);
	CHECK_SPEC_FAIL(&s, MEM8, -EINVAL, "entry point");
	default_spec(&s);
	spec_num(&s, XEN_ELFNOTE_ENTRY, 0x100000, 3);
	CHECK_SPEC_FAIL(&s, MEM8, -EINVAL, "note XEN_ELFNOTE_ENTRY has 3 bytes, expected 4 or 8");
	default_spec(&s);
	spec_num(&s, XEN_ELFNOTE_HYPERCALL_PAGE, 0, 0);
	CHECK_SPEC_FAIL(&s, MEM8, -EINVAL, "XEN_ELFNOTE_HYPERCALL_PAGE has 0 bytes");
	default_spec(&s);
	spec_num(&s, XEN_ELFNOTE_VIRT_BASE, 0xffffffff80000000ULL, 8);
	CHECK_SPEC_FAIL(&s, MEM8, -ENOEXEC, "XEN_ELFNOTE_VIRT_BASE");
	default_spec(&s);
	memset(big, 'a', sizeof big);
	big[40] = '\0';
	spec_str(&s, XEN_ELFNOTE_GUEST_OS, big);
	CHECK_SPEC_FAIL(&s, MEM8, -EINVAL, "note XEN_ELFNOTE_GUEST_OS is 40 bytes long, the limit is 31");
	/* Conflicting duplicates. */
	default_spec(&s);
	s.note[s.nnote] = s.note[1];
	s.note[s.nnote].desc[1] ^= 0x10;
	s.nnote++;
	CHECK_SPEC_FAIL(&s, MEM8, -EINVAL, "XEN_ELFNOTE_ENTRY (type 1) appears twice");
}

static void test_note_sizes(void)
{
	struct spec s;
	struct image im;
	Elf64_Nhdr nh, good;
	unsigned i, xen_idx = 2;   /* the HYPERCALL_PAGE note */
	static const struct { uint32_t namesz, descsz; } bad[] = {
		{ 0xffffffff, 8 }, { 0xfffffffd, 4 }, { 4, 0xffffffff }, { 4, 0xfffffff0 },
		{ 4, 0x10000 }, { 0x1000, 4 }, { 0xffffffff, 0xffffffff },
	};

	default_spec(&s);
	for (int pass = 0; pass < 2; pass++) {
		s.notes_in_section = pass;
		im = build_image(&s);
		memcpy(&good, im.buf + im.note_off[xen_idx], sizeof good);
		for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
			nh = good;
			nh.n_namesz = bad[i].namesz;
			nh.n_descsz = bad[i].descsz;
			memcpy(im.buf + im.note_off[xen_idx], &nh, sizeof nh);
			CHECK_FAIL_IMG(&im, MEM8, -EINVAL, pass ? "note section 1: note at offset"
			                                        : "PT_NOTE segment 0: note at offset");
		}
		/* The last note of the area may not run past the area even if the file goes on. */
		memcpy(im.buf + im.note_off[xen_idx], &good, sizeof good);
		memcpy(&nh, im.buf + im.note_off[s.nnote - 1], sizeof nh);
		nh.n_descsz += 4;
		memcpy(im.buf + im.note_off[s.nnote - 1], &nh, sizeof nh);
		CHECK_FAIL_IMG(&im, MEM8, -EINVAL, "exceed");
		free(im.buf);
	}
}

/* ------------------------------------------------------------------ */
/* Fuzzing: mutated images must be rejected or be fully valid.        */

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static void fuzz_spec(const struct spec *s, unsigned iterations)
{
	static const uint64_t mems[] = { KXEN_PV_MIN_MEM, MEM8, KXEN_PV_MAX_MEM, 0, UINT64_MAX };
	struct image im = build_image(s);
	size_t hot = im.notes_off + im.notes_len;   /* headers and notes: where bugs live */
	unsigned it, accepted = 0, insane = 0, silent = 0;
	uint8_t *copy = malloc(im.len);

	for (it = 0; it < iterations; it++) {
		struct kxbuild_image img;
		char err[KXBUILD_ERR_MAX];
		unsigned k, nmut = 1 + rng() % 6;
		size_t len = im.len;
		uint64_t mem = mems[rng() % 5];

		memcpy(copy, im.buf, im.len);
		for (k = 0; k < nmut; k++) {
			uint64_t r = rng();
			size_t pos = (r & 3) ? (r >> 8) % hot : (r >> 8) % im.len;

			switch ((r >> 2) % 6) {
			case 0: copy[pos] = 0; break;
			case 1: copy[pos] = 0xff; break;
			case 2: copy[pos] ^= (uint8_t)(1u << ((r >> 40) % 8)); break;
			case 3:                               /* a whole random field */
				pos &= ~(size_t)7;
				if (pos + 8 <= im.len) {
					uint64_t v = rng();
					memcpy(copy + pos, &v, 8);
				}
				break;
			case 4: copy[pos] = (uint8_t)(copy[pos] + 1); break;
			default: copy[pos] = (uint8_t)rng(); break;
			}
		}
		if (rng() % 10 == 0)
			len = rng() % (im.len + 1);
		err[0] = '\0';
		if (kxbuild_elf_parse(copy, len, mem, &img, err, sizeof err) == 0) {
			accepted++;
			if (!image_is_sane(&img, len, mem))
				insane++;
		} else if (!err[0]) {
			silent++;
		}
	}
	printf("[%u of %u accepted] ", accepted, iterations);
	CU_ASSERT_EQUAL(insane, 0);
	CU_ASSERT_EQUAL(silent, 0);
	CU_ASSERT(accepted > 0);     /* the mutations do not only break the image */
	free(copy);
	free(im.buf);
}

static void test_fuzz(void)
{
	struct spec s;

	default_spec(&s);
	fuzz_spec(&s, 14000);
	s.notes_in_section = 1;
	fuzz_spec(&s, 6000);
}

/* ------------------------------------------------------------------ */
/* Guest layout.                                                      */

static uint64_t rd64(const uint8_t *ram, uint64_t a) { uint64_t v; memcpy(&v, ram + a, 8); return v; }
static uint16_t rd16(const uint8_t *ram, uint64_t a) { uint16_t v; memcpy(&v, ram + a, 2); return v; }

/* Walks the tables as the MMU does: -1 when not present; user and rw get the combined rights. */
static int64_t translate(const uint8_t *ram, uint64_t va, int *user, int *rw)
{
	uint64_t table = KXEN_PV_PML4, e = 0;
	int level, shift;

	*user = *rw = 1;
	for (level = 4, shift = 39; level >= 1; level--, shift -= 9) {
		e = rd64(ram, table + ((va >> shift) & 511) * 8);
		if (!(e & 1))
			return -1;
		*user &= !!(e & 4);
		*rw &= !!(e & 2);
		if ((level == 2 || level == 3) && (e & 0x80)) {
			uint64_t mask = (1ULL << shift) - 1;
			return (int64_t)((e & 0x000ffffffffff000ULL & ~mask) | (va & mask));
		}
		table = e & 0x000ffffffffff000ULL;
	}
	return (int64_t)(table | (va & 0xfff));
}

static void check_map(const uint8_t *ram, uint64_t va, int present, int user, unsigned line)
{
	int u, w;
	int64_t pa = translate(ram, va, &u, &w);

	CU_assertImplementation(present ? pa == (int64_t)va : pa == -1, line, "translation",
	                        __FILE__, "", CU_FALSE);
	if (present) {
		CU_assertImplementation(u == user, line, "user bit", __FILE__, "", CU_FALSE);
		CU_assertImplementation(w == 1, line, "writable", __FILE__, "", CU_FALSE);
	}
}

#define CHECK_MAP(ram, va, present, user) check_map(ram, va, present, user, __LINE__)

/* A CPL-3 `out` of size bytes to port is allowed by TSS i's bitmap (what the CPU checks). */
static int io_allowed(const uint8_t *ram, unsigned i, unsigned port, unsigned size)
{
	uint64_t desc = rd64(ram, KXEN_PV_GDT + KXEN_SEL_TSS(i));
	uint64_t base = ((desc >> 16) & 0xffffff) | (((desc >> 56) & 0xff) << 24) |
	                (rd64(ram, KXEN_PV_GDT + KXEN_SEL_TSS(i) + 8) << 32);
	uint64_t limit = (desc & 0xffff) | (((desc >> 48) & 0xf) << 16);
	uint64_t map = base + rd16(ram, base + 0x66);
	uint64_t byte = map + port / 8;
	uint16_t bits;
	unsigned b;

	if (byte + 1 > base + limit)   /* the CPU reads two bytes */
		return 0;
	bits = rd16(ram, byte);
	for (b = 0; b < size; b++)
		if (bits & (1u << (port % 8 + b)))
			return 0;
	return 1;
}

static void test_layout(void)
{
	uint8_t *ram = malloc(MEM8);
	unsigned v, i;

	CU_ASSERT_PTR_NOT_NULL_FATAL(ram);
	memset(ram, 0xa5, MEM8);   /* the builder must not rely on zeroed RAM */
	CU_ASSERT_EQUAL_FATAL(kxbuild_write_layout(ram, MEM8, 2), 0);

	CHECK_MAP(ram, 0, 0, 0);
	CHECK_MAP(ram, 0xfff, 0, 0);
	CHECK_MAP(ram, 0x1000, 1, 0);
	CHECK_MAP(ram, KXEN_PV_IDT + 8, 1, 0);
	CHECK_MAP(ram, KXEN_PV_RESERVED_END - 1, 1, 0);
	CHECK_MAP(ram, KXEN_PV_RESERVED_END, 1, 1);
	CHECK_MAP(ram, 0x100000, 1, 1);
	CHECK_MAP(ram, 0x1ff008, 1, 1);
	CHECK_MAP(ram, 0x200000, 1, 1);
	CHECK_MAP(ram, 0x7ff000, 1, 1);
	CHECK_MAP(ram, 0x7fffff, 1, 1);
	CHECK_MAP(ram, MEM8, 0, 0);
	CHECK_MAP(ram, 1ULL << 30, 0, 0);
	CHECK_MAP(ram, 1ULL << 39, 0, 0);
	CU_ASSERT_EQUAL(rd64(ram, KXEN_PV_PD_BASE + 3 * 8), 0x600000 | 0x87);
	CU_ASSERT_EQUAL(rd64(ram, KXEN_PV_PML4), KXEN_PV_PDPT | 7);

	/* GDT. */
	CU_ASSERT_EQUAL(rd64(ram, KXEN_PV_GDT), 0);
	CU_ASSERT_EQUAL(rd64(ram, KXEN_PV_GDT + KXEN_SEL_KERNEL_CS), 0x00209a0000000000ULL);
	CU_ASSERT_EQUAL(rd64(ram, KXEN_PV_GDT + KXEN_SEL_KERNEL_DS), 0x0000920000000000ULL);
	CU_ASSERT_EQUAL(rd64(ram, KXEN_PV_GDT + (KXEN_SEL_USER_CS & ~3)), 0x0020fa0000000000ULL);
	CU_ASSERT_EQUAL(rd64(ram, KXEN_PV_GDT + (KXEN_SEL_USER_DS & ~3)), 0x0000f20000000000ULL);
	CU_ASSERT_EQUAL(rd64(ram, KXEN_PV_GDT + 5 * 8), 0);
	for (i = 0; i < 2; i++) {
		uint64_t base = KXEN_PV_TSS_BASE + i * KXEN_PV_TSS_STRIDE;
		uint64_t d = rd64(ram, KXEN_PV_GDT + KXEN_SEL_TSS(i));

		CU_ASSERT_EQUAL((d >> 40) & 0xf, 0xb);
		CU_ASSERT_EQUAL((d >> 44) & 1, 0);      /* system descriptor */
		CU_ASSERT_EQUAL((d >> 45) & 3, 0);
		CU_ASSERT_EQUAL((d >> 47) & 1, 1);
		CU_ASSERT_EQUAL((d >> 55) & 1, 0);      /* byte granularity */
		CU_ASSERT_EQUAL(((d >> 16) & 0xffffff) | (((d >> 56) & 0xff) << 24), base);
		CU_ASSERT_EQUAL((d & 0xffff) | (((d >> 48) & 0xf) << 16), KXEN_PV_IOBITMAP_END - 1 - base);
		CU_ASSERT_EQUAL(rd64(ram, KXEN_PV_GDT + KXEN_SEL_TSS(i) + 8), 0);
		CU_ASSERT_EQUAL(rd64(ram, base + 4), KXEN_PV_RING0_STACKS + (i + 1) * 4096);
		CU_ASSERT_EQUAL(rd16(ram, base + 0x66), KXEN_PV_IOBITMAP - base);
		CU_ASSERT(io_allowed(ram, i, KXEN_HYPERCALL_PORT, 4));
		CU_ASSERT(io_allowed(ram, i, KXEN_HYPERCALL_PORT, 1));
		CU_ASSERT(!io_allowed(ram, i, KXEN_HYPERCALL_PORT + 1, 4));
		CU_ASSERT(!io_allowed(ram, i, KXEN_HYPERCALL_PORT - 1, 1));
		CU_ASSERT(!io_allowed(ram, i, KXEN_FAULT_PORT, 1));
		CU_ASSERT(io_allowed(ram, i, KXEN_DOORBELL_PORT, 4));
		CU_ASSERT(!io_allowed(ram, i, KXEN_DOORBELL_PORT + 1, 4));
		CU_ASSERT(!io_allowed(ram, i, 0x3f8, 1));
		CU_ASSERT(!io_allowed(ram, i, 0xffff, 1));
	}
	/* vCPU 2 was not asked for: its descriptor stays null. */
	CU_ASSERT_EQUAL(rd64(ram, KXEN_PV_GDT + KXEN_SEL_TSS(2)), 0);
	CU_ASSERT_EQUAL(ram[KXEN_PV_IOBITMAP_END - 1], 0xff);
	CU_ASSERT_EQUAL(ram[KXEN_PV_IOBITMAP + KXEN_HYPERCALL_PORT / 8], 0x0f);
	CU_ASSERT_EQUAL(ram[KXEN_PV_IOBITMAP + KXEN_DOORBELL_PORT / 8], 0xf0);

	/* IDT gates and stubs. */
	for (v = 0; v < 256; v++) {
		uint64_t lo = rd64(ram, KXEN_PV_IDT + v * 16), hi = rd64(ram, KXEN_PV_IDT + v * 16 + 8);
		uint64_t off = (lo & 0xffff) | (((lo >> 48) & 0xffff) << 16) | (hi << 32);

		CU_ASSERT_EQUAL(off, KXEN_PV_FAULT_STUBS + v * 16);
		CU_ASSERT_EQUAL((lo >> 16) & 0xffff, KXEN_SEL_KERNEL_CS);
		CU_ASSERT_EQUAL((lo >> 32) & 7, 0);
		CU_ASSERT_EQUAL((lo >> 40) & 0xff, 0x8e);
	}
	{
		static const uint8_t gp[] = { 0x50, 0xb0, 13, 0xe6, 0xe8, 0xeb, 0xfe };
		static const uint8_t ud[] = { 0x6a, 0x00, 0x50, 0xb0, 6, 0xe6, 0xe8, 0xeb, 0xfe };
		static const uint8_t pf[] = { 0x50, 0xb0, 14, 0xe6, 0xe8, 0xeb, 0xfe };
		static const uint8_t v255[] = { 0x6a, 0x00, 0x50, 0xb0, 0xff, 0xe6, 0xe8, 0xeb, 0xfe };

		CU_ASSERT(!memcmp(ram + KXEN_PV_FAULT_STUBS + 13 * 16, gp, sizeof gp));
		CU_ASSERT(!memcmp(ram + KXEN_PV_FAULT_STUBS + 6 * 16, ud, sizeof ud));
		CU_ASSERT(!memcmp(ram + KXEN_PV_FAULT_STUBS + 14 * 16, pf, sizeof pf));
		CU_ASSERT(!memcmp(ram + KXEN_PV_FAULT_STUBS + 255 * 16, v255, sizeof v255));
	}
	/* Outside the reserved area the builder writes nothing. */
	CU_ASSERT_EQUAL(ram[KXEN_PV_RESERVED_END], 0xa5);
	CU_ASSERT_EQUAL(ram[MEM8 - 1], 0xa5);
	free(ram);
}

static void test_layout_limits(void)
{
	uint64_t big = 3ULL << 30;   /* 3 GiB: three page directories */
	uint8_t *ram = malloc(KXEN_PV_RESERVED_END);
	uint8_t *huge;

	CU_ASSERT_PTR_NOT_NULL_FATAL(ram);
	CU_ASSERT_EQUAL(kxbuild_write_layout(ram, MEM8 + 0x1000, 1), -EINVAL);
	CU_ASSERT_EQUAL(kxbuild_write_layout(ram, 2ULL << 20, 1), -EINVAL);
	CU_ASSERT_EQUAL(kxbuild_write_layout(ram, KXEN_PV_MAX_MEM + (2ULL << 20), 1), -EINVAL);
	CU_ASSERT_EQUAL(kxbuild_write_layout(ram, MEM8, 0), -EINVAL);
	CU_ASSERT_EQUAL(kxbuild_write_layout(ram, MEM8, KXEN_PV_MAX_VCPUS + 1), -EINVAL);
	CU_ASSERT_EQUAL(kxbuild_write_layout(NULL, MEM8, 1), -EINVAL);
	free(ram);

	/* Only the reserved area is touched, so a sparse mapping stands in for 3 GiB of RAM. */
	huge = mmap(NULL, big, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
	            -1, 0);
	CU_ASSERT_FATAL(huge != MAP_FAILED);
	CU_ASSERT_EQUAL_FATAL(kxbuild_write_layout(huge, big, KXEN_PV_MAX_VCPUS), 0);
	CHECK_MAP(huge, (1ULL << 30) + 0x1234, 1, 1);
	CHECK_MAP(huge, (2ULL << 30) + 0x3fffff, 1, 1);
	CHECK_MAP(huge, big - 1, 1, 1);
	CHECK_MAP(huge, big, 0, 0);
	CU_ASSERT_EQUAL(rd64(huge, KXEN_PV_PDPT + 2 * 8), (KXEN_PV_PD_BASE + 2 * 4096) | 7);
	CU_ASSERT_EQUAL(rd64(huge, KXEN_PV_PDPT + 3 * 8), 0);
	CU_ASSERT_EQUAL(KXEN_PV_NR_PT_FRAMES(big), 6);
	/* The last TSS still reaches the whole bitmap. */
	CU_ASSERT(io_allowed(huge, KXEN_PV_MAX_VCPUS - 1, KXEN_HYPERCALL_PORT, 4));
	CU_ASSERT(!io_allowed(huge, KXEN_PV_MAX_VCPUS - 1, 0xfffe, 2));
	CU_ASSERT_EQUAL(rd64(huge, KXEN_PV_TSS_BASE + 31 * KXEN_PV_TSS_STRIDE + 4),
	                KXEN_PV_RESERVED_END);
	munmap(huge, big);
}

static void test_hypercall_page(void)
{
	static const uint8_t iret[] = { 0x58, 0x41, 0x5b, 0x59, 0x48, 0x83, 0xc4, 0x08, 0x48, 0xcf };
	static const uint8_t sched[] = { 0xb8, 29, 0, 0, 0, 0xe7, 0xe4, 0xc3, 0xcc };
	static const uint8_t evtchn_full[] = { 0xb8, 32, 0, 0, 0, 0xe7, 0xe4, 0xc3 };
	static const uint8_t evtchn_tail[] = { 0x8b, 0x06, 0xe7, KXEN_DOORBELL_PORT, 0x31, 0xc0, 0xc3 };
	uint8_t page[4096];
	unsigned n, k;
	uint32_t imm;

	memset(page, 0, sizeof page);
	kxbuild_fill_hypercall_page(page, 64UL << 20);
	CU_ASSERT(!memcmp(page + 29 * 32, sched, sizeof sched));
	CU_ASSERT(!memcmp(page + 23 * 32, iret, sizeof iret));
	CU_ASSERT_EQUAL(page[23 * 32 + sizeof iret], 0xcc);
	for (n = 0; n < 128; n++) {
		uint32_t nr;

		if (n == 23 || n == 32)
			continue;
		memcpy(&nr, page + n * 32 + 1, 4);
		CU_ASSERT_EQUAL(page[n * 32], 0xb8);
		CU_ASSERT_EQUAL(nr, n);
		for (k = 8; k < 32; k++)
			if (n != 33 || k >= 8 + sizeof evtchn_tail)
				CU_ASSERT_EQUAL(page[n * 32 + k], 0xcc);
	}
	/* event_channel_op: the send check, its bound from the RAM size, the full call, the doorbell tail. */
	CU_ASSERT_EQUAL(page[32 * 32 + 3], EVTCHNOP_send);
	memcpy(&imm, page + 32 * 32 + 15, 4);
	CU_ASSERT_EQUAL(imm, (64UL << 20) - KXEN_PV_RESERVED_END - 4);
	CU_ASSERT(!memcmp(page + 32 * 32 + 23, evtchn_full, sizeof evtchn_full));
	CU_ASSERT(!memcmp(page + 33 * 32 + 8, evtchn_tail, sizeof evtchn_tail));
	/* RAM past 2 GiB: the bound stops at 2 GiB (pointers above take the full hypercall). */
	kxbuild_fill_hypercall_page(page, 8UL << 30);
	memcpy(&imm, page + 32 * 32 + 15, 4);
	CU_ASSERT_EQUAL(imm, (2UL << 30) - KXEN_PV_RESERVED_END - 4);
}

/* ------------------------------------------------------------------ */
/* kxbuild_domain against a mocked libkxctrl (link-time seam).        */
/*
 * These definitions satisfy every kxctrl_* call build.c makes, so the
 * linker never pulls kxctrl.o out of libkxctrl.a. If build.c starts using
 * another kxctrl_* function, mock it here too (else: duplicate symbols).
 */

static struct mock {
	int memfd;                 /* the test's own reference to guest RAM */
	uint64_t mem;
	unsigned creates, destroys, unpauses, set_boots, evtchns;
	int fail_create, fail_evtchn, fail_set_boot, fail_unpause, short_memfd;
	uint32_t destroyed;
	struct kxctl_domain_create req;
	struct kxctl_set_boot boot;
} M;

static void mock_reset(void)
{
	if (M.memfd > 0)
		close(M.memfd);
	memset(&M, 0, sizeof M);
	M.memfd = -1;
}

int kxctrl_domain_create(kxctrl *h, const struct kxctl_domain_create *cfg,
                         uint32_t *domid, int *memfd)
{
	uint8_t *ram;

	M.creates++;
	M.req = *cfg;
	if (M.fail_create)
		return M.fail_create;
	M.mem = cfg->mem_bytes;
	M.memfd = memfd_create("kxbuild-test", MFD_CLOEXEC);
	if (M.memfd < 0 || ftruncate(M.memfd, (off_t)(M.short_memfd ? M.mem / 2 : M.mem)) < 0)
		return -errno;
	/* Garbage where the kernel goes, so bss clearing is visible. */
	ram = mmap(NULL, M.mem / 2, PROT_READ | PROT_WRITE, MAP_SHARED, M.memfd, 0);
	if (ram == MAP_FAILED)
		return -errno;
	memset(ram + KXEN_PV_KERNEL_MIN, 0x5a, M.mem / 2 - KXEN_PV_KERNEL_MIN);
	munmap(ram, M.mem / 2);
	*domid = 7;
	*memfd = dup(M.memfd);
	return 0;
}

int kxctrl_domain_set_boot(kxctrl *h, const struct kxctl_set_boot *boot)
{
	M.set_boots++;
	M.boot = *boot;
	return M.fail_set_boot;
}

int kxctrl_domain_destroy(kxctrl *h, uint32_t domid)
{
	M.destroys++;
	M.destroyed = domid;
	return 0;
}

int kxctrl_domain_unpause(kxctrl *h, uint32_t domid)
{
	M.unpauses++;
	return M.fail_unpause;
}

int kxctrl_evtchn_alloc_unbound(kxctrl *h, uint32_t domid, uint32_t remote_domid,
                                uint32_t *port)
{
	M.evtchns++;
	if (M.fail_evtchn && (int)M.evtchns == M.fail_evtchn)
		return -ENOSPC;
	if (domid != 7 || remote_domid != 0)
		return -EINVAL;
	*port = M.evtchns;   /* ports 1, 2, ... */
	return 0;
}

static char kernel_path[64];

static int write_kernel(const struct spec *s)
{
	struct image im = build_image(s);
	int fd, ok;

	snprintf(kernel_path, sizeof kernel_path, "/tmp/kxbuild-test-XXXXXX");
	fd = mkstemp(kernel_path);
	if (fd < 0) {
		free(im.buf);
		return -1;
	}
	ok = write(fd, im.buf, im.len) == (ssize_t)im.len;
	close(fd);
	free(im.buf);
	return ok ? 0 : -1;
}

static unsigned count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	unsigned n = 0;

	if (!d)
		return 0;
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

static struct kxbuild_config test_config(void)
{
	static const uint8_t uuid[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };
	struct kxbuild_config cfg = {
		.name = "guest1", .uuid = uuid, .mem_bytes = MEM8, .vcpus = 2,
		.kernel = kernel_path, .cmdline = "console=hvc0 app=test",
		.on_poweroff = KXCTL_ACTION_DESTROY, .on_reboot = KXCTL_ACTION_DESTROY,
		.on_crash = KXCTL_ACTION_PRESERVE,
	};
	return cfg;
}

static void test_build_domain(void)
{
	kxctrl *h = (kxctrl *)&M;
	struct kxbuild_config cfg;
	struct kxbuild_result res;
	char err[KXBUILD_ERR_MAX] = "stale";
	const start_info_t *si;
	uint8_t *ram;
	struct spec s;
	unsigned fds, k;
	uint64_t base = 0x105000;

	mock_reset();
	default_spec(&s);
	CU_ASSERT_EQUAL_FATAL(write_kernel(&s), 0);
	cfg = test_config();
	fds = count_fds();
	CU_ASSERT_EQUAL_FATAL(kxbuild_domain(h, &cfg, &res, err, sizeof err), 0);
	CU_ASSERT_STRING_EQUAL(err, "");
	CU_ASSERT_EQUAL(count_fds(), fds + 1);   /* only the mock's own memfd */
	CU_ASSERT_EQUAL(M.creates, 1);
	CU_ASSERT_STRING_EQUAL(M.req.name, "guest1");
	CU_ASSERT_EQUAL(M.req.uuid[15], 16);
	CU_ASSERT_EQUAL(M.req.mem_bytes, MEM8);
	CU_ASSERT_EQUAL(M.req.max_vcpus, 2);
	CU_ASSERT_EQUAL(M.req.on_crash, KXCTL_ACTION_PRESERVE);
	CU_ASSERT_EQUAL(M.unpauses, 1);
	CU_ASSERT_EQUAL(M.destroys, 0);
	CU_ASSERT_EQUAL(res.domid, 7);
	CU_ASSERT_EQUAL(res.start_info_gpa, base);
	CU_ASSERT_EQUAL(res.shared_info_gpa, base + 0x1000);
	CU_ASSERT_EQUAL(res.store_pfn, base / 4096 + 2);
	CU_ASSERT_EQUAL(res.console_pfn, base / 4096 + 3);
	CU_ASSERT_EQUAL(res.store_evtchn, 1);
	CU_ASSERT_EQUAL(res.console_evtchn, 2);
	CU_ASSERT_EQUAL(M.boot.domid, 7);
	CU_ASSERT_EQUAL(M.boot.entry, 0x100000);
	CU_ASSERT_EQUAL(M.boot.stack, base + SPECIAL);
	CU_ASSERT_EQUAL(M.boot.rsi, base);
	CU_ASSERT_EQUAL(M.boot.start_info_gpa, base);
	CU_ASSERT_EQUAL(M.boot.shared_info_gpa, base + 0x1000);

	ram = mmap(NULL, MEM8, PROT_READ, MAP_SHARED, M.memfd, 0);
	CU_ASSERT_FATAL(ram != MAP_FAILED);
	si = (const start_info_t *)(ram + base);
	CU_ASSERT_STRING_EQUAL(si->magic, "xen-3.0-x86_64");
	CU_ASSERT_EQUAL(si->nr_pages, MEM8 / 4096);
	CU_ASSERT_EQUAL(si->shared_info, base + 0x1000);
	CU_ASSERT_EQUAL(si->flags, 0);
	CU_ASSERT_EQUAL(si->store_mfn, base / 4096 + 2);
	CU_ASSERT_EQUAL(si->store_evtchn, 1);
	CU_ASSERT_EQUAL(si->console.domU.mfn, base / 4096 + 3);
	CU_ASSERT_EQUAL(si->console.domU.evtchn, 2);
	CU_ASSERT_EQUAL(si->pt_base, KXEN_PV_PML4);
	CU_ASSERT_EQUAL(si->nr_pt_frames, 4);
	CU_ASSERT_EQUAL(si->mfn_list, 0);
	CU_ASSERT_EQUAL(si->mod_start, 0);
	CU_ASSERT_STRING_EQUAL((const char *)si->cmd_line, "console=hvc0 app=test");
	/* Kernel bytes, zeroed bss, zeroed special pages and stack, untouched free RAM. */
	CU_ASSERT_EQUAL(ram[0x100000], (uint8_t)(37 | 1));
	CU_ASSERT_EQUAL(ram[0x102fff], (uint8_t)((37 + 0x2fff) | 1));
	for (k = 0x103000; k < 0x105000; k++)
		if (ram[k]) break;
	CU_ASSERT_EQUAL(k, 0x105000);
	for (k = base + 0x1000; k < base + SPECIAL; k++)
		if (ram[k]) break;
	CU_ASSERT_EQUAL(k, base + SPECIAL);
	CU_ASSERT_EQUAL(ram[base + SPECIAL], 0x5a);
	/* The hypercall page overrides the file's bytes; the layout is in place. */
	CU_ASSERT_EQUAL(ram[0x101000 + 29 * 32], 0xb8);
	CU_ASSERT_EQUAL(ram[0x101000 + 29 * 32 + 1], 29);
	CU_ASSERT_EQUAL(ram[0x101000 + 23 * 32], 0x58);
	CU_ASSERT_EQUAL(rd64(ram, KXEN_PV_PML4), KXEN_PV_PDPT | 7);
	CU_ASSERT_NOT_EQUAL(rd64(ram, KXEN_PV_GDT + KXEN_SEL_TSS(1)), 0);
	munmap(ram, MEM8);

	/* Paused builds are left paused; no command line is an empty one. */
	mock_reset();
	cfg.paused = 1;
	cfg.cmdline = NULL;
	cfg.uuid = NULL;
	CU_ASSERT_EQUAL(kxbuild_domain(h, &cfg, &res, err, sizeof err), 0);
	CU_ASSERT_EQUAL(M.unpauses, 0);
	CU_ASSERT_EQUAL(M.req.uuid[0], 0);
	ram = mmap(NULL, MEM8, PROT_READ, MAP_SHARED, M.memfd, 0);
	CU_ASSERT_FATAL(ram != MAP_FAILED);
	CU_ASSERT_EQUAL(ram[base + offsetof(start_info_t, cmd_line)], 0);
	munmap(ram, MEM8);
	mock_reset();
	unlink(kernel_path);
}

static void check_build_fail_at(struct kxbuild_config *cfg, int want_rc, const char *want_msg,
                                unsigned want_destroys, unsigned line)
{
	struct kxbuild_result res;
	char err[KXBUILD_ERR_MAX] = "";
	unsigned fds = count_fds();
	int rc;

	res.domid = 12345;
	rc = kxbuild_domain((kxctrl *)&M, cfg, &res, err, sizeof err);
	if (rc != want_rc || !strstr(err, want_msg))
		printf("\n  line %u: rc %d (wanted %d), error \"%s\" (wanted \"%s\")\n",
		       line, rc, want_rc, err, want_msg);
	CU_assertImplementation(rc == want_rc, line, "build return code", __FILE__, "", CU_FALSE);
	CU_assertImplementation(strstr(err, want_msg) != NULL, line, "build error text",
	                        __FILE__, "", CU_FALSE);
	CU_assertImplementation(M.destroys == want_destroys && (!want_destroys || M.destroyed == 7),
	                        line, "destroyed after failure", __FILE__, "", CU_FALSE);
	CU_assertImplementation(res.domid == 12345, line, "result untouched", __FILE__, "", CU_FALSE);
	/* The mock keeps one memfd of its own once a domain was created. */
	CU_assertImplementation(count_fds() == fds + (M.memfd >= 0), line, "no fd leaked",
	                        __FILE__, "", CU_FALSE);
	CU_assertImplementation(M.unpauses == 0 || M.fail_unpause, line, "not started",
	                        __FILE__, "", CU_FALSE);
}

#define CHECK_BUILD_FAIL(cfg, rc, msg, d) \
	do { mock_reset(); check_build_fail_at(cfg, rc, msg, d, __LINE__); } while (0)

static void test_build_failures(void)
{
	struct kxbuild_config cfg;
	char longline[1500];
	struct spec s;

	default_spec(&s);
	CU_ASSERT_EQUAL_FATAL(write_kernel(&s), 0);

	cfg = test_config();
	cfg.kernel = "/nonexistent/kxen-kernel";
	CHECK_BUILD_FAIL(&cfg, -ENOENT, "kernel '/nonexistent/kxen-kernel': No such file or directory", 0);
	cfg.kernel = "/tmp";
	CHECK_BUILD_FAIL(&cfg, -EINVAL, "not a regular file", 0);
	CU_ASSERT_EQUAL(M.creates, 0);
	{
		/* A sparse file just over the 64 MiB limit costs no disk. */
		char big[64];
		int fd;

		snprintf(big, sizeof big, "/tmp/kxbuild-big-XXXXXX");
		fd = mkstemp(big);
		CU_ASSERT_FATAL(fd >= 0);
		CU_ASSERT(ftruncate(fd, (64 << 20) + 1) == 0);
		close(fd);
		cfg.kernel = big;
		CHECK_BUILD_FAIL(&cfg, -EFBIG, "67108865 bytes, the limit is 67108864", 0);
		unlink(big);
	}

	cfg = test_config();
	memset(longline, 'x', sizeof longline);
	longline[sizeof longline - 1] = '\0';
	cfg.cmdline = longline;
	CHECK_BUILD_FAIL(&cfg, -E2BIG, "command line is 1499 bytes, the limit is 1023", 0);
	longline[1024] = '\0';
	CHECK_BUILD_FAIL(&cfg, -E2BIG, "command line is 1024 bytes, the limit is 1023", 0);
	longline[1023] = '\0';    /* exactly fits with its NUL */
	mock_reset();
	{
		struct kxbuild_result res;
		char err[KXBUILD_ERR_MAX];

		CU_ASSERT_EQUAL(kxbuild_domain((kxctrl *)&M, &cfg, &res, err, sizeof err), 0);
	}

	cfg = test_config();
	cfg.mem_bytes = MEM8 + 4096;
	CHECK_BUILD_FAIL(&cfg, -EINVAL, "not a multiple of 2 MiB", 0);
	cfg = test_config();
	cfg.vcpus = 0;
	CHECK_BUILD_FAIL(&cfg, -EINVAL, "0 vCPUs", 0);
	cfg = test_config();
	cfg.name = "a-name-that-is-far-too-long-for-the-control-socket-xxxxxxxxxxxxxxxxx";
	CHECK_BUILD_FAIL(&cfg, -EINVAL, "longer than 63 bytes", 0);

	/* Kernel problems are reported with the file name before any domain exists. */
	cfg = test_config();
	spec_str(&s, XEN_ELFNOTE_LOADER, "bsd");
	unlink(kernel_path);
	CU_ASSERT_EQUAL_FATAL(write_kernel(&s), 0);
	{
		char want[128];

		snprintf(want, sizeof want, "kernel '%s': note XEN_ELFNOTE_LOADER", kernel_path);
		CHECK_BUILD_FAIL(&cfg, -ENOEXEC, want, 0);
	}
	default_spec(&s);
	s.seg[0].memsz = KXEN_PV_MIN_MEM;
	unlink(kernel_path);
	CU_ASSERT_EQUAL_FATAL(write_kernel(&s), 0);
	cfg.mem_bytes = KXEN_PV_MIN_MEM;
	CHECK_BUILD_FAIL(&cfg, -E2BIG, "does not fit in RAM", 0);
	default_spec(&s);
	unlink(kernel_path);
	CU_ASSERT_EQUAL_FATAL(write_kernel(&s), 0);

	/* Control-socket failures: the half-built domain is destroyed. */
	cfg = test_config();
	mock_reset();
	M.fail_create = -ENOMEM;
	check_build_fail_at(&cfg, -ENOMEM, "kxen-hv: create domain 'guest1': Cannot allocate memory",
	                    0, __LINE__);
	mock_reset();
	M.short_memfd = 1;
	check_build_fail_at(&cfg, -EIO, "memory fd holds", 1, __LINE__);
	mock_reset();
	M.fail_evtchn = 1;
	check_build_fail_at(&cfg, -ENOSPC, "allocate xenstore event channel", 1, __LINE__);
	mock_reset();
	M.fail_evtchn = 2;
	check_build_fail_at(&cfg, -ENOSPC, "allocate console event channel", 1, __LINE__);
	mock_reset();
	M.fail_set_boot = -EINVAL;
	check_build_fail_at(&cfg, -EINVAL, "set boot state: Invalid argument", 1, __LINE__);
	mock_reset();
	M.fail_unpause = -ESRCH;
	check_build_fail_at(&cfg, -ESRCH, "unpause: No such process", 1, __LINE__);

	CU_ASSERT_EQUAL(kxbuild_domain(NULL, &cfg, NULL, NULL, 0), -EINVAL);
	mock_reset();
	unlink(kernel_path);
}

/*
 * Debian's cloud kernel (from the image cache): kxbuild_domain refuses it on
 * two vCPUs before any domain exists; kxbuild_domain_force builds it, and what kxen-hv
 * is told and what guest memory holds match the plan kxbuild_inspect makes.
 */
static void test_build_direct_paging(void)
{
	const char *cache = getenv("KXEN_IMAGE_CACHE") ? getenv("KXEN_IMAGE_CACHE") :
	                    "/var/cache/kxen/images";
	char kpath[512], ipath[512], err[KXBUILD_ERR_MAX];
	struct kxbuild_config cfg = test_config();
	struct kxbuild_inspect *in = calloc(1, sizeof *in);
	struct kxbuild_result res;
	const start_info_t *si;
	struct stat st;
	uint8_t *ram;
	uint64_t l4e;

	snprintf(kpath, sizeof kpath, "%s/vmlinuz-cloud", cache);
	snprintf(ipath, sizeof ipath, "%s/initramfs-cloud.gz", cache);
	if (access(kpath, R_OK) || stat(ipath, &st)) {
		printf("\n  SKIPPED: %s or %s is missing (run scripts/fetch-images.sh) ", kpath, ipath);
		free(in);
		return;
	}
	cfg.kernel = kpath;
	cfg.initrd = ipath;
	cfg.mem_bytes = 128ULL << 20;
	mock_reset();
	cfg.vcpus = 3;   /* more vCPUs than Linux is tested with are refused, named, before any domain exists */
	CU_ASSERT_EQUAL(kxbuild_domain((kxctrl *)&M, &cfg, &res, err, sizeof err), -EOPNOTSUPP);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "(bzImage 2.15, LZ4 payload of "));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "guest OS linux) with 3 vCPUs: Linux PV guests are tested on kxen with up to 2"));
	CU_ASSERT_EQUAL(M.creates, 0);
	CU_ASSERT_PTR_NULL(kxbuild_direct_paging_refusal(1));
	CU_ASSERT_PTR_NULL(kxbuild_direct_paging_refusal(2));
	cfg.vcpus = 1;

	CU_ASSERT_EQUAL_FATAL(kxbuild_inspect(&cfg, in, err, sizeof err), 0);
	CU_ASSERT_EQUAL_FATAL(kxbuild_domain_force((kxctrl *)&M, &cfg, &res, err, sizeof err), 0);
	CU_ASSERT_EQUAL(M.creates, 1);
	CU_ASSERT_EQUAL(M.destroys, 0);
	CU_ASSERT_EQUAL(M.unpauses, 1);
	CU_ASSERT_TRUE(res.direct_paging);
	CU_ASSERT_EQUAL(res.cr3, in->plan.cr3);
	CU_ASSERT_EQUAL(M.boot.entry, in->pv.entry);
	CU_ASSERT_EQUAL(M.boot.stack, in->plan.stack_top);
	CU_ASSERT_EQUAL(M.boot.rsi, in->plan.start_info_va);
	CU_ASSERT_EQUAL(M.boot.start_info_gpa, in->plan.start_info_pfn * KXEN_PAGE_SIZE);
	CU_ASSERT_EQUAL(M.boot.shared_info_gpa, cfg.mem_bytes - KXEN_PAGE_SIZE);
	CU_ASSERT_EQUAL(res.store_pfn, in->plan.store_pfn);
	ram = mmap(NULL, cfg.mem_bytes, PROT_READ, MAP_SHARED, M.memfd, 0);
	CU_ASSERT_FATAL(ram != MAP_FAILED);
	si = (const start_info_t *)(ram + M.boot.start_info_gpa);
	CU_ASSERT_STRING_EQUAL(si->magic, "xen-3.0-x86_64");
	CU_ASSERT_EQUAL(si->nr_pages, cfg.mem_bytes / KXEN_PAGE_SIZE - 1);
	CU_ASSERT_EQUAL(si->mod_len, (uint64_t)st.st_size);
	CU_ASSERT_EQUAL(si->mod_start, in->plan.initrd_pfn);
	CU_ASSERT_EQUAL(si->store_evtchn, res.store_evtchn);
	CU_ASSERT_EQUAL(si->console.domU.evtchn, res.console_evtchn);
	CU_ASSERT_STRING_EQUAL((const char *)si->cmd_line, cfg.cmdline);
	/* The kernel's half of the address space (L4 slot 511) and the p2m's (slot 1). */
	memcpy(&l4e, ram + res.cr3 + 511 * 8, 8);
	CU_ASSERT_EQUAL(l4e & 0x67, 0x67);
	memcpy(&l4e, ram + res.cr3 + 1 * 8, 8);
	CU_ASSERT_EQUAL(l4e & 1, 1);
	/* The garbage the mock left where the kernel goes is gone: its first byte is code. */
	CU_ASSERT_NOT_EQUAL(ram[0x1000000], 0x5a);
	munmap(ram, cfg.mem_bytes);
	mock_reset();
	free(in);
}

int main(void)
{
	static const struct cunit_test elf[] = {
		{ "valid kernel, every field", test_valid_kernel },
		{ "valid variants", test_valid_variants },
		{ "bad ELF headers", test_bad_headers },
		{ "every truncation rejected", test_truncated },
		{ "bad segments", test_bad_segments },
		{ "missing notes", test_missing_notes },
		{ "bad note values", test_bad_note_values },
		{ "note size overflows", test_note_sizes },
		{ "fuzz 20000 mutations", test_fuzz },
	};
	static const struct cunit_test layout[] = {
		{ "page tables, GDT, TSS, bitmap, IDT, stubs", test_layout },
		{ "limits and 3 GiB", test_layout_limits },
		{ "hypercall page", test_hypercall_page },
	};
	static const struct cunit_test build[] = {
		{ "build a domain", test_build_domain },
		{ "failures clean up", test_build_failures },
		{ "direct-paging kernel: refused, or forced", test_build_direct_paging },
	};
	static const struct cunit_suite suites[] = {
		{ "elf", elf, CUNIT_COUNT(elf), NULL, NULL },
		{ "layout", layout, CUNIT_COUNT(layout), NULL, NULL },
		{ "build", build, CUNIT_COUNT(build), NULL, NULL },
	};

	return cunit_run_suites(suites, CUNIT_COUNT(suites));
}
