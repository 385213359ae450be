/* The ELF loader's oracle, shared by fuzz_elf (any file) and fuzz_bzimage (what a bzImage decompresses to): a refusal has a message, a layout lies inside the file and the guest's RAM. */
#ifndef FUZZ_ELF_ORACLE_H
#define FUZZ_ELF_ORACLE_H

#include <errno.h>
#include "fuzz_common.h"
#include "kxen/kxbuild.h"

/* Parses the kernel in [file, file + size) for a guest of mem bytes and aborts if the result breaks the contract. */
static inline void elf_oracle_check(const uint8_t *file, size_t size, uint64_t mem)
{
	struct kxbuild_image img;
	char err[KXBUILD_ERR_MAX];
	int rc;

	memset(&img, 0xa5, sizeof(img));
	err[0] = 0;
	rc = kxbuild_elf_parse(file, size, mem, &img, err, sizeof(err));
	FZ_CHECK(rc == 0 || rc == -EINVAL || rc == -E2BIG || rc == -ENOEXEC, "rc %d", rc);
	FZ_CHECK(rc == 0 || (err[0] && memchr(err, 0, sizeof(err))), "refused without a message");
	if (rc)
		return;
	FZ_CHECK(img.nr_segments >= 1 && img.nr_segments <= KXBUILD_MAX_SEGMENTS, "%u segments", img.nr_segments);
	for (unsigned i = 0; i < img.nr_segments; i++) {
		const struct kxbuild_segment *s = &img.seg[i];

		FZ_CHECK(s->offset <= size && s->filesz <= size - s->offset, "segment %u outside the file", i);
		FZ_CHECK(s->filesz <= s->memsz, "segment %u: filesz > memsz", i);
		FZ_CHECK(s->paddr >= KXEN_PV_KERNEL_MIN && s->paddr <= mem && s->memsz <= mem - s->paddr,
			 "segment %u outside RAM", i);
		FZ_CHECK(s->paddr + s->memsz <= img.load_end, "segment %u past load_end", i);
		for (unsigned j = 0; j < i; j++)
			FZ_CHECK(s->paddr >= img.seg[j].paddr + img.seg[j].memsz ||
				 img.seg[j].paddr >= s->paddr + s->memsz, "segments %u and %u overlap", j, i);
	}
	FZ_CHECK(img.load_end <= mem, "load_end past RAM");
	FZ_CHECK(memchr(img.guest_os, 0, sizeof(img.guest_os)) && memchr(img.features, 0, sizeof(img.features)) &&
		 memchr(img.loader, 0, sizeof(img.loader)) && memchr(img.xen_version, 0, sizeof(img.xen_version)),
		 "an unterminated note string");
}

#endif
