/* libFuzzer harness: the builder's kernel unwrapping (dom0-tools/builder/bzimage.c, decompress.c) and what follows it: kind, ELF parse and, for a direct-paging kernel, the layout written into guest RAM. */
#include <stdbool.h>
#include <sys/mman.h>
#include "elf_oracle.h"
#include "kxen/kxbuild_pv.h"

#define PAGE 4096ull

/*
 * The first byte picks the path and the guest's size; the rest is the file.
 * The cap is the domain's memory, as kxbuild_domain passes it: 64 KiB to
 * 32 MiB, so bombs and "too large for RAM" are reached cheaply.
 */
static const uint64_t caps[] = { 64ull << 10, 1ull << 20, 8ull << 20, 32ull << 20 };

static bool rc_ok(int rc)
{
	return rc == 0 || rc == -ENOEXEC || rc == -EINVAL || rc == -EFBIG || rc == -E2BIG || rc == -ENOMEM;
}

/* A direct-paging kernel: the plan stays inside RAM, and writing it touches nothing outside (guard pages). */
static void check_pv(const uint8_t *elf, size_t len, uint64_t mem)
{
	struct kxbuild_pvimage img;
	struct kxbuild_pv_plan *p = calloc(1, sizeof(*p));
	char err[KXBUILD_ERR_MAX] = "";
	int rc = kxbuild_pvlinux_parse(elf, len, mem, &img, err, sizeof(err));

	FZ_CHECK(rc_ok(rc) && (rc == 0 || err[0]), "pvlinux_parse rc %d '%s'", rc, err);
	if (!rc) {
		err[0] = 0;
		rc = kxbuild_pv_plan(&img, mem, 0, p, err, sizeof(err));
		FZ_CHECK(rc_ok(rc) && (rc == 0 || err[0]), "pv_plan rc %d '%s'", rc, err);
	}
	if (!rc) {
		uint64_t pages = mem / PAGE;
		uint8_t *r = mmap(NULL, mem + 2 * PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		struct kxbuild_pv_boot boot = { 1, 2, "console=hvc0" };

		FZ_CHECK(p->mem_pages == pages && p->nr_pages <= pages && p->alloc_end_pfn <= pages &&
			 p->shared_info_pfn < pages, "plan past RAM: %llu/%llu pages, alloc end %llu",
			 (unsigned long long)p->nr_pages, (unsigned long long)pages,
			 (unsigned long long)p->alloc_end_pfn);
		for (unsigned i = 0; i < p->nr_regions; i++)
			FZ_CHECK(p->reg[i].pfn <= pages && p->reg[i].pages <= pages - p->reg[i].pfn,
				 "region %s past RAM", p->reg[i].name);
		for (unsigned i = 0; i < img.nr_segments; i++)
			FZ_CHECK(img.seg[i].offset <= len && img.seg[i].filesz <= len - img.seg[i].offset,
				 "segment %u outside the file", i);
		FZ_CHECK(r != MAP_FAILED && mprotect(r + PAGE, mem, PROT_READ | PROT_WRITE) == 0, "guest RAM");
		kxbuild_pv_write(r + PAGE, p, &img, elf, NULL, 0, &boot);
		munmap(r, mem + 2 * PAGE);
	}
	free(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[KXBUILD_ERR_MAX] = "", what[96] = "";
	uint8_t *file, *out = NULL;
	const char *fmt = NULL;
	size_t outlen = 0;
	uint64_t cap;
	int rc;

	if (size < 1)
		return 0;
	cap = caps[data[0] >> 1 & 3];
	file = malloc(size - 1 ? size - 1 : 1);   /* exactly the file: any read past it is ASan's */
	memcpy(file, data + 1, size - 1);
	if (data[0] & 1) {
		/* The decompressors alone, on any stream. */
		rc = kxbuild_decompress(file, size - 1, cap, &out, &outlen, &fmt, err, sizeof(err));
		FZ_CHECK(rc_ok(rc) && rc != -E2BIG, "decompress rc %d", rc);
		FZ_CHECK(rc == 0 ? out && fmt && outlen <= cap : !out && !outlen && err[0], "decompress %d: out %p len %zu",
			 rc, (void *)out, outlen);
		free(out);
		free(file);
		return 0;
	}
	rc = kxbuild_kernel_unwrap(file, size - 1, cap, &out, &outlen, what, sizeof(what), err, sizeof(err));
	FZ_CHECK(rc_ok(rc) && rc != -E2BIG, "unwrap rc %d", rc);
	FZ_CHECK(rc == 0 || (err[0] && !out && !outlen), "unwrap refused without a message or kept a buffer");
	if (rc == 0) {
		const uint8_t *k = out ? out : file;
		size_t klen = out ? outlen : size - 1;

		FZ_CHECK(what[0] && outlen <= cap && (out || !strcmp(what, "ELF")), "unwrap: '%s', %zu bytes", what, outlen);
		FZ_CHECK(klen >= 4 && !memcmp(k, "\177ELF", 4), "unwrap gave no ELF");
		rc = kxbuild_elf_kind(k, klen, err, sizeof(err));
		if (rc == KXBUILD_KIND_AUTOTRANSLATED)
			elf_oracle_check(k, klen, cap);
		else if (rc == KXBUILD_KIND_DIRECT_PAGING)
			check_pv(k, klen, cap);
		else
			FZ_CHECK(rc < 0 && err[0], "kind %d without a message", rc);
	}
	free(out);
	free(file);
	return 0;
}
