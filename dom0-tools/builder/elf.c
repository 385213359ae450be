/* ELF64 xenpv kernel parser: checks headers, PT_LOAD segments and Xen ELF notes against guest RAM. */
#include <elf.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "elf_int.h"
#include "kxen/kxbuild.h"

const char *elf__note_name(unsigned type)
{
	switch (type) {
	case XEN_ELFNOTE_ENTRY:          return "XEN_ELFNOTE_ENTRY";
	case XEN_ELFNOTE_HYPERCALL_PAGE: return "XEN_ELFNOTE_HYPERCALL_PAGE";
	case XEN_ELFNOTE_VIRT_BASE:      return "XEN_ELFNOTE_VIRT_BASE";
	case XEN_ELFNOTE_XEN_VERSION:    return "XEN_ELFNOTE_XEN_VERSION";
	case XEN_ELFNOTE_GUEST_OS:       return "XEN_ELFNOTE_GUEST_OS";
	case XEN_ELFNOTE_LOADER:         return "XEN_ELFNOTE_LOADER";
	case XEN_ELFNOTE_FEATURES:       return "XEN_ELFNOTE_FEATURES";
	case XEN_ELFNOTE_PADDR_OFFSET:   return "XEN_ELFNOTE_PADDR_OFFSET";
	case XEN_ELFNOTE_PAE_MODE:       return "XEN_ELFNOTE_PAE_MODE";
	case XEN_ELFNOTE_L1_MFN_VALID:   return "XEN_ELFNOTE_L1_MFN_VALID";
	case XEN_ELFNOTE_INIT_P2M:       return "XEN_ELFNOTE_INIT_P2M";
	case XEN_ELFNOTE_MOD_START_PFN:  return "XEN_ELFNOTE_MOD_START_PFN";
	case XEN_ELFNOTE_SUPPORTED_FEATURES: return "XEN_ELFNOTE_SUPPORTED_FEATURES";
	default:                         return "XEN_ELFNOTE_?";
	}
}

/* True when [off, off+size) lies inside the file, without overflowing. */
int elf__in_file(const struct elf_ctx *c, uint64_t off, uint64_t size)
{
	return off <= c->len && size <= c->len - off;
}

static uint64_t align_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) & ~(a - 1);
}

static int record_note(struct elf_ctx *c, struct xen_notes *n, uint32_t type,
                       const uint8_t *desc, uint32_t len)
{
	n->count++;
	if (type >= NOTE_SLOTS)
		return 0;       /* a note newer than our headers: not ours to judge */
	if (n->found[type]) {
		/* Two different answers to one question: refuse to guess which one the author meant. */
		if (n->len[type] != len || memcmp(n->desc[type], desc, len))
			return elf__fail(c, -EINVAL, "note %s (type %u) appears twice with different values",
			                 elf__note_name(type), type);
		return 0;
	}
	n->found[type] = 1;
	n->desc[type] = desc;
	n->len[type] = len;
	return 0;
}

/*
 * Walks one note area. Names and descriptors are padded to 4 bytes, or to
 * 8 when the area itself is 8-aligned (as gABI allows for ELF64 producers).
 */
static int walk_notes(struct elf_ctx *c, uint64_t off, uint64_t size, uint64_t align,
                      const char *what, unsigned idx, struct xen_notes *n)
{
	const uint8_t *p = c->file + off;
	uint64_t pos = 0;

	if (align != 8)
		align = 4;
	/* A tail shorter than a note header is alignment padding. */
	while (size - pos >= sizeof(Elf64_Nhdr)) {
		Elf64_Nhdr nh;
		uint64_t avail, namepad, descpad, step;
		int rc;

		memcpy(&nh, p + pos, sizeof nh);
		avail = size - pos - sizeof nh;
		namepad = align_up(nh.n_namesz, align);
		descpad = align_up(nh.n_descsz, align);
		if (namepad > avail || nh.n_descsz > avail - namepad)
			return elf__fail(c, -EINVAL, "%s %u: note at offset %llu: namesz %u + descsz %u "
			                 "exceed the %llu bytes left", what, idx,
			                 (unsigned long long)(off + pos), nh.n_namesz, nh.n_descsz,
			                 (unsigned long long)avail);
		if (nh.n_namesz == 4 && !memcmp(p + pos + sizeof nh, "Xen", 4)) {
			rc = record_note(c, n, nh.n_type, p + pos + sizeof nh + namepad, nh.n_descsz);
			if (rc)
				return rc;
		}
		/* The last descriptor may omit its padding. */
		step = sizeof nh + namepad + (descpad < avail - namepad ? descpad : avail - namepad);
		pos += step;
	}
	return 0;
}

static int collect_from_phdrs(struct elf_ctx *c, const Elf64_Ehdr *eh, struct xen_notes *n,
                              unsigned *nr_pt_note)
{
	unsigned i;
	int rc;

	*nr_pt_note = 0;
	for (i = 0; i < eh->e_phnum; i++) {
		Elf64_Phdr ph;

		memcpy(&ph, c->file + eh->e_phoff + (uint64_t)i * sizeof ph, sizeof ph);
		if (ph.p_type != PT_NOTE)
			continue;
		(*nr_pt_note)++;
		if (!elf__in_file(c, ph.p_offset, ph.p_filesz))
			return elf__fail(c, -EINVAL, "PT_NOTE segment %u [offset %llu, %llu bytes) is beyond "
			                 "the end of the file (%llu bytes)", i,
			                 (unsigned long long)ph.p_offset, (unsigned long long)ph.p_filesz,
			                 (unsigned long long)c->len);
		rc = walk_notes(c, ph.p_offset, ph.p_filesz, ph.p_align, "PT_NOTE segment", i, n);
		if (rc)
			return rc;
	}
	return 0;
}

/* A program or section header table: entry size, a sane count, inside the file. */
static int check_table(struct elf_ctx *c, const char *kind, uint64_t off, unsigned num,
                       unsigned entsize, size_t expected, unsigned max)
{
	if (entsize != expected)
		return elf__fail(c, -EINVAL, "%s header size %u, expected %zu", kind, entsize, expected);
	if (num > max)
		return elf__fail(c, -EINVAL, "%u %s headers is absurd (limit %u)", num, kind, max);
	if (!elf__in_file(c, off, (uint64_t)num * expected))
		return elf__fail(c, -EINVAL, "%s header table at offset %llu+%llu is beyond the end "
		                 "of the file (%llu bytes)", kind, (unsigned long long)off,
		                 (unsigned long long)num * expected, (unsigned long long)c->len);
	return 0;
}

/* PVH-era kernels may carry their notes only in sections; accept that too. */
static int collect_from_shdrs(struct elf_ctx *c, const Elf64_Ehdr *eh, struct xen_notes *n)
{
	unsigned i;
	int rc;

	if (eh->e_shoff == 0 || eh->e_shnum == 0)
		return 0;
	if ((rc = check_table(c, "section", eh->e_shoff, eh->e_shnum, eh->e_shentsize,
	                      sizeof(Elf64_Shdr), MAX_SHNUM)))
		return rc;
	for (i = 0; i < eh->e_shnum; i++) {
		Elf64_Shdr sh;

		memcpy(&sh, c->file + eh->e_shoff + (uint64_t)i * sizeof sh, sizeof sh);
		if (sh.sh_type != SHT_NOTE)
			continue;
		if (!elf__in_file(c, sh.sh_offset, sh.sh_size))
			return elf__fail(c, -EINVAL, "note section %u [offset %llu, %llu bytes) is beyond "
			                 "the end of the file (%llu bytes)", i,
			                 (unsigned long long)sh.sh_offset, (unsigned long long)sh.sh_size,
			                 (unsigned long long)c->len);
		rc = walk_notes(c, sh.sh_offset, sh.sh_size, sh.sh_addralign, "note section", i, n);
		if (rc)
			return rc;
	}
	return 0;
}

int elf__open(struct elf_ctx *c, Elf64_Ehdr *eh, struct xen_notes *n)
{
	if (c->err && c->errlen)
		c->err[0] = '\0';
	memset(n, 0, sizeof *n);
	if (!c->file)
		return elf__fail(c, -EINVAL, "no kernel image");
	return elf__check_ehdr(c, eh);
}

int elf__read_notes(struct elf_ctx *c, const Elf64_Ehdr *eh, struct xen_notes *n)
{
	unsigned nr_pt_note;
	int rc = collect_from_phdrs(c, eh, n, &nr_pt_note);

	if (rc == 0 && nr_pt_note == 0)
		rc = collect_from_shdrs(c, eh, n);
	return rc;
}

int elf__note_num(struct elf_ctx *c, const struct xen_notes *n, unsigned type,
                    uint64_t *val)
{
	uint32_t v32;

	if (!n->found[type])
		return elf__fail(c, -ENOEXEC, "note %s missing", elf__note_name(type));
	if (n->len[type] == 4) {
		memcpy(&v32, n->desc[type], 4);
		*val = v32;
	} else if (n->len[type] == 8) {
		memcpy(val, n->desc[type], 8);
	} else {
		return elf__fail(c, -EINVAL, "note %s has %u bytes, expected 4 or 8",
		                 elf__note_name(type), n->len[type]);
	}
	return 0;
}

/* Strings end at the first NUL or at descsz, whichever comes first. */
int elf__note_str(struct elf_ctx *c, const struct xen_notes *n, unsigned type,
                    char *buf, size_t size)
{
	size_t len;

	if (!n->found[type])
		return elf__fail(c, -ENOEXEC, "note %s missing", elf__note_name(type));
	len = strnlen((const char *)n->desc[type], n->len[type]);
	if (len >= size)
		return elf__fail(c, -EINVAL, "note %s is %zu bytes long, the limit is %zu",
		                 elf__note_name(type), len, size - 1);
	memcpy(buf, n->desc[type], len);
	buf[len] = '\0';
	return 0;
}

/* FEATURES is '|'-separated; a leading '!' marks a feature the kernel requires. */
int elf__has_feature(const char *features, const char *want)
{
	size_t wlen = strlen(want);
	const char *p = features;

	while (*p) {
		const char *end = strchr(p, '|');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		const char *tok = p;

		if (len && *tok == '!') {
			tok++;
			len--;
		}
		if (len == wlen && !memcmp(tok, want, wlen))
			return 1;
		if (!end)
			break;
		p = end + 1;
	}
	return 0;
}

int elf__check_ehdr(struct elf_ctx *c, Elf64_Ehdr *eh)
{
	if (c->len < SELFMAG || memcmp(c->file, ELFMAG, SELFMAG))
		return elf__fail(c, -ENOEXEC, "not an ELF file (bad magic)");
	if (c->len < sizeof *eh)
		return elf__fail(c, -EINVAL, "ELF header truncated: file is %llu bytes, header needs %zu",
		                 (unsigned long long)c->len, sizeof *eh);
	memcpy(eh, c->file, sizeof *eh);
	if (eh->e_ident[EI_CLASS] != ELFCLASS64)
		return elf__fail(c, -ENOEXEC, "not an ELF64 file (class %u)", eh->e_ident[EI_CLASS]);
	if (eh->e_ident[EI_DATA] != ELFDATA2LSB)
		return elf__fail(c, -ENOEXEC, "not a little-endian ELF file (data encoding %u)",
		                 eh->e_ident[EI_DATA]);
	if (eh->e_ident[EI_VERSION] != EV_CURRENT || eh->e_version != EV_CURRENT)
		return elf__fail(c, -EINVAL, "unknown ELF version %u", eh->e_version);
	if (eh->e_machine != EM_X86_64)
		return elf__fail(c, -ENOEXEC, "not an x86_64 ELF file (machine %u)", eh->e_machine);
	if (eh->e_type != ET_EXEC)
		return elf__fail(c, -ENOEXEC, "not an executable ELF file (type %u, expected ET_EXEC)",
		                 eh->e_type);
	if (eh->e_phnum == 0)
		return elf__fail(c, -ENOEXEC, "no program headers");
	return check_table(c, "program", eh->e_phoff, eh->e_phnum, eh->e_phentsize,
	                   sizeof(Elf64_Phdr), MAX_PHNUM);
}

/* One PT_LOAD segment against the file and the part of RAM a kernel may use. */
static int check_load(struct elf_ctx *c, unsigned i, const Elf64_Phdr *ph, uint64_t ram_limit)
{
	if (ph->p_filesz > ph->p_memsz)
		return elf__fail(c, -EINVAL, "segment %u filesz 0x%llx exceeds memsz 0x%llx", i,
		                 (unsigned long long)ph->p_filesz, (unsigned long long)ph->p_memsz);
	if (ph->p_memsz > MAX_SEG_BYTES)
		return elf__fail(c, -E2BIG, "segment %u memsz 0x%llx is absurd (over 16 GiB)", i,
		                 (unsigned long long)ph->p_memsz);
	if (!elf__in_file(c, ph->p_offset, ph->p_filesz))
		return elf__fail(c, -EINVAL, "segment %u [offset %llu, %llu bytes) is beyond the end of "
		                 "the file (%llu bytes)", i, (unsigned long long)ph->p_offset,
		                 (unsigned long long)ph->p_filesz, (unsigned long long)c->len);
	/* The layout maps virtual == physical, so code linked elsewhere cannot run. */
	if (ph->p_vaddr != ph->p_paddr)
		return elf__fail(c, -ENOEXEC, "segment %u vaddr 0x%llx differs from paddr 0x%llx "
		                 "(xenpv guests run with virtual == physical)", i,
		                 (unsigned long long)ph->p_vaddr, (unsigned long long)ph->p_paddr);
	if (ph->p_paddr < KXEN_PV_KERNEL_MIN)
		return elf__fail(c, -EINVAL, "segment %u at 0x%llx is below 0x%lx, where the builder's "
		                 "pages live", i, (unsigned long long)ph->p_paddr, KXEN_PV_KERNEL_MIN);
	if (ph->p_paddr > ram_limit || ph->p_memsz > ram_limit - ph->p_paddr)
		return elf__fail(c, -E2BIG, "segment %u [0x%llx+0x%llx) does not fit in RAM: it must end "
		                 "by 0x%llx to leave %u pages for start_info, shared_info, store, "
		                 "console and the boot stack", i, (unsigned long long)ph->p_paddr,
		                 (unsigned long long)ph->p_memsz, (unsigned long long)ram_limit,
		                 KXBUILD_SPECIAL_PAGES);
	return 0;
}

static int load_segments(struct elf_ctx *c, const Elf64_Ehdr *eh, uint64_t mem_bytes,
                         struct kxbuild_image *img)
{
	uint64_t special = (uint64_t)KXBUILD_SPECIAL_PAGES * KXEN_PAGE_SIZE;
	uint64_t ram = mem_bytes & ~(KXEN_PAGE_SIZE - 1);
	uint64_t ram_limit = ram > special ? ram - special : 0;
	unsigned phidx[KXBUILD_MAX_SEGMENTS];
	uint64_t end = 0;
	unsigned i, j;
	int rc;

	for (i = 0; i < eh->e_phnum; i++) {
		Elf64_Phdr ph;

		memcpy(&ph, c->file + eh->e_phoff + (uint64_t)i * sizeof ph, sizeof ph);
		if (ph.p_type != PT_LOAD || ph.p_memsz == 0)
			continue;
		rc = check_load(c, i, &ph, ram_limit);
		if (rc)
			return rc;
		if (img->nr_segments == KXBUILD_MAX_SEGMENTS)
			return elf__fail(c, -EINVAL, "more than %u PT_LOAD segments", KXBUILD_MAX_SEGMENTS);
		for (j = 0; j < img->nr_segments; j++) {
			const struct kxbuild_segment *o = &img->seg[j];

			if (ph.p_paddr < o->paddr + o->memsz && o->paddr < ph.p_paddr + ph.p_memsz)
				return elf__fail(c, -EINVAL, "segment %u [0x%llx-0x%llx) overlaps segment %u",
				                 i, (unsigned long long)ph.p_paddr,
				                 (unsigned long long)(ph.p_paddr + ph.p_memsz), phidx[j]);
		}
		phidx[img->nr_segments] = i;
		img->seg[img->nr_segments++] = (struct kxbuild_segment){
			.paddr = ph.p_paddr, .filesz = ph.p_filesz,
			.memsz = ph.p_memsz, .offset = ph.p_offset,
		};
		if (ph.p_paddr + ph.p_memsz > end)
			end = ph.p_paddr + ph.p_memsz;
	}
	if (img->nr_segments == 0)
		return elf__fail(c, -ENOEXEC, "no PT_LOAD segment with contents");
	img->load_end = align_up(end, KXEN_PAGE_SIZE);
	return 0;
}

/*
 * Whether [addr, addr+size) (size >= 1) lies inside one segment: its file
 * contents only, or its whole memory image including bss.
 */
static int in_segment(const struct kxbuild_image *img, uint64_t addr, uint64_t size, int file_only)
{
	unsigned i;

	for (i = 0; i < img->nr_segments; i++) {
		const struct kxbuild_segment *s = &img->seg[i];
		uint64_t lim = file_only ? s->filesz : s->memsz;

		if (addr >= s->paddr && addr - s->paddr < lim && size <= lim - (addr - s->paddr))
			return 1;
	}
	return 0;
}

static int check_notes(struct elf_ctx *c, const Elf64_Ehdr *eh, const struct xen_notes *n,
                       struct kxbuild_image *img)
{
	int rc;

	if (n->count == 0)
		return elf__fail(c, -ENOEXEC, "no Xen ELF notes: not a xenpv kernel");
	if ((rc = elf__note_str(c, n, XEN_ELFNOTE_XEN_VERSION, img->xen_version, sizeof img->xen_version)) ||
	    (rc = elf__note_str(c, n, XEN_ELFNOTE_LOADER, img->loader, sizeof img->loader)) ||
	    (rc = elf__note_str(c, n, XEN_ELFNOTE_GUEST_OS, img->guest_os, sizeof img->guest_os)) ||
	    (rc = elf__note_str(c, n, XEN_ELFNOTE_FEATURES, img->features, sizeof img->features)) ||
	    (rc = elf__note_num(c, n, XEN_ELFNOTE_HYPERCALL_PAGE, &img->hypercall_page)))
		return rc;
	if (strcmp(img->xen_version, "xen-3.0"))
		return elf__fail(c, -ENOEXEC, "note XEN_ELFNOTE_XEN_VERSION is \"%s\", expected \"xen-3.0\"",
		                 img->xen_version);
	if (strcmp(img->loader, "generic"))
		return elf__fail(c, -ENOEXEC, "note XEN_ELFNOTE_LOADER is \"%s\", expected \"generic\"",
		                 img->loader);
	if (!elf__has_feature(img->features, "auto_translated_physmap"))
		return elf__fail(c, -ENOEXEC, "note XEN_ELFNOTE_FEATURES \"%s\" lacks "
		                 "auto_translated_physmap (kernels that manage their own page tables "
		                 "are not supported)", img->features);
	if (n->found[XEN_ELFNOTE_ENTRY]) {
		if ((rc = elf__note_num(c, n, XEN_ELFNOTE_ENTRY, &img->entry)))
			return rc;
	} else {
		img->entry = eh->e_entry;
	}
	if (n->found[XEN_ELFNOTE_VIRT_BASE] &&
	    (rc = elf__note_num(c, n, XEN_ELFNOTE_VIRT_BASE, &img->virt_base)))
		return rc;
	/* Notes hold virtual addresses; only an identity map keeps them equal to the load addresses. */
	if (img->virt_base)
		return elf__fail(c, -ENOEXEC, "note XEN_ELFNOTE_VIRT_BASE 0x%llx is not supported "
		                 "(xenpv guests run with virtual == physical)",
		                 (unsigned long long)img->virt_base);
	if (img->hypercall_page & (KXEN_PAGE_SIZE - 1))
		return elf__fail(c, -EINVAL, "hypercall page 0x%llx is not page-aligned",
		                 (unsigned long long)img->hypercall_page);
	if (!in_segment(img, img->hypercall_page, KXEN_PAGE_SIZE, 0))
		return elf__fail(c, -EINVAL, "hypercall page [0x%llx-0x%llx) is not inside a loaded segment",
		                 (unsigned long long)img->hypercall_page,
		                 (unsigned long long)(img->hypercall_page + KXEN_PAGE_SIZE));
	/* The entry must be file-backed code, not bss. */
	if (!in_segment(img, img->entry, 1, 1))
		return elf__fail(c, -EINVAL, "entry point 0x%llx (%s) is not inside a loaded segment",
		                 (unsigned long long)img->entry,
		                 n->found[XEN_ELFNOTE_ENTRY] ? "XEN_ELFNOTE_ENTRY" : "e_entry");
	return 0;
}

int kxbuild_elf_parse(const void *file, size_t len, uint64_t mem_bytes,
                      struct kxbuild_image *img, char *err, size_t errlen)
{
	struct elf_ctx c = { .file = file, .len = len, .err = err, .errlen = errlen };
	struct xen_notes notes;
	Elf64_Ehdr eh;
	int rc;

	memset(img, 0, sizeof *img);
	if ((rc = elf__open(&c, &eh, &notes)))
		return rc;
	if ((rc = load_segments(&c, &eh, mem_bytes, img)) ||
	    (rc = elf__read_notes(&c, &eh, &notes)))
		goto out;
	rc = check_notes(&c, &eh, &notes, img);
out:
	if (rc) {
		/* A half-filled image must not be mistaken for a parsed one. */
		memset(img, 0, sizeof *img);
	}
	return rc;
}
