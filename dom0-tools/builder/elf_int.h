/* Internals shared by the builder's two ELF loaders (elf.c for kxen's guest, pvlinux.c for Linux): checked header and note parsing. */
#ifndef KXBUILD_ELF_INT_H
#define KXBUILD_ELF_INT_H

#include <elf.h>
#include <stddef.h>
#include <stdint.h>
#include <xen/elfnote.h>
#include "builder_int.h"

/* Limits far beyond any real kernel: they keep every size product small. */
#define MAX_PHNUM      64
#define MAX_SHNUM      4096
#define MAX_SEG_BYTES  (16ULL << 30)
#define NOTE_SLOTS     (XEN_ELFNOTE_MAX + 1)

/* The Xen notes of one image, pointing into the file; each type at most once. */
struct xen_notes {
	unsigned count;
	const uint8_t *desc[NOTE_SLOTS];
	uint32_t len[NOTE_SLOTS];
	int found[NOTE_SLOTS];
};

/* Everything a parse step needs; the input is untrusted, so it carries its bounds. */
struct elf_ctx {
	const uint8_t *file;
	uint64_t len;
	char *err;
	size_t errlen;
};

/* Formats a message into c->err and returns rc (a -errno). */
#define elf__fail KXBUILD_FAIL

/* The name of a XEN_ELFNOTE_* type, for messages. */
const char *elf__note_name(unsigned type);

/* True when [off, off+size) lies inside the file, without overflowing. */
int elf__in_file(const struct elf_ctx *c, uint64_t off, uint64_t size);

/*
 * Checks the ELF header (ELF64, little-endian, x86_64, ET_EXEC, a program
 * header table inside the file) and copies it to eh. Returns 0 or -errno.
 */
int elf__check_ehdr(struct elf_ctx *c, Elf64_Ehdr *eh);

/*
 * The start of every parse: clears c->err and n, refuses a NULL file, then
 * elf__check_ehdr. Returns 0 or -errno.
 */
int elf__open(struct elf_ctx *c, Elf64_Ehdr *eh, struct xen_notes *n);

/*
 * Collects the Xen notes from PT_NOTE segments, or from SHT_NOTE sections
 * when there is no PT_NOTE. A type seen twice with different values is an
 * error. Returns 0 or -errno; n must be zeroed by the caller.
 */
int elf__read_notes(struct elf_ctx *c, const Elf64_Ehdr *eh, struct xen_notes *n);

/* A 4- or 8-byte numeric note into *val; -ENOEXEC when missing. */
int elf__note_num(struct elf_ctx *c, const struct xen_notes *n, unsigned type, uint64_t *val);

/* A string note into buf (NUL-terminated); -ENOEXEC when missing, -EINVAL when too long. */
int elf__note_str(struct elf_ctx *c, const struct xen_notes *n, unsigned type, char *buf,
                  size_t size);

/* Whether the '|'-separated FEATURES string lists want (with or without a leading '!'). */
int elf__has_feature(const char *features, const char *want);

#endif
