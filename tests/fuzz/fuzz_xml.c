/* libFuzzer harness: the domain XML loader, with a write-back-and-reload oracle (format, reparse, compare). */
#include <unistd.h>
#include "fuzz_common.h"
#include "kxen/kxconfig.h"

static char dir[] = "/tmp/kxen-fuzz-xml.XXXXXX";

static int str_eq(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

static int write_file(const char *path, const void *p, size_t n)
{
	FILE *f = fopen(path, "w");
	int ok = f && fwrite(p, 1, n, f) == n;

	return (f && fclose(f) == 0 && ok) ? 0 : -1;
}

/* Every field kxconfig_format writes must come back the same. */
static void compare(const struct kxconfig *a, const struct kxconfig *b)
{
	FZ_CHECK(!strcmp(a->name, b->name), "name '%s' -> '%s'", a->name, b->name);
	FZ_CHECK(a->virt == b->virt && !memcmp(a->uuid, b->uuid, 16), "type or uuid");
	FZ_CHECK(str_eq(a->title, b->title) && str_eq(a->description, b->description), "title or description");
	FZ_CHECK(a->mem_bytes == b->mem_bytes && a->cur_mem_bytes == b->cur_mem_bytes, "memory");
	FZ_CHECK(a->vcpus == b->vcpus && a->vcpus_current == b->vcpus_current, "vcpus");
	FZ_CHECK(!memcmp(a->cpumask, b->cpumask, sizeof(a->cpumask)), "cpuset");
	FZ_CHECK(a->os_type == b->os_type && !strcmp(a->kernel, b->kernel), "os");
	FZ_CHECK(str_eq(a->cmdline, b->cmdline) && str_eq(a->initrd, b->initrd), "cmdline or initrd");
	FZ_CHECK(a->on_poweroff == b->on_poweroff && a->on_reboot == b->on_reboot && a->on_crash == b->on_crash,
		 "actions");
	FZ_CHECK(a->clock == b->clock && a->console == b->console, "clock or console");
	FZ_CHECK(a->ndisks == b->ndisks && a->nnics == b->nnics, "device counts");
	for (unsigned i = 0; i < a->ndisks; i++) {
		const struct kxconfig_disk *x = &a->disks[i], *y = &b->disks[i];

		FZ_CHECK(!strcmp(x->file, y->file), "disk %u file '%s' -> '%s'", i, x->file, y->file);
		FZ_CHECK(!strcmp(x->target, y->target) && str_eq(x->driver, y->driver), "disk %u target/driver", i);
		FZ_CHECK(x->qcow2 == y->qcow2 && x->readonly == y->readonly, "disk %u type/readonly", i);
		FZ_CHECK(str_eq(x->backing, y->backing) && str_eq(x->backing_format, y->backing_format),
			 "disk %u backing", i);
	}
	for (unsigned i = 0; i < a->nnics; i++) {
		FZ_CHECK(!memcmp(a->nics[i].mac, b->nics[i].mac, 6), "nic %u mac", i);
		/* A NIC may have no bridge (NULL): the backend's default. */
		FZ_CHECK(str_eq(a->nics[i].bridge, b->nics[i].bridge), "nic %u bridge '%s' -> '%s'", i,
			 a->nics[i].bridge ? a->nics[i].bridge : "(none)",
			 b->nics[i].bridge ? b->nics[i].bridge : "(none)");
	}
}

static void cleanup(void)
{
	char p[64];

	snprintf(p, sizeof(p), "%s/in.xml", dir);
	unlink(p);
	snprintf(p, sizeof(p), "%s/out.xml", dir);
	unlink(p);
	rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (!mkdtemp(dir))
		abort();
	atexit(cleanup);
	if (!getenv(KXCONFIG_SCHEMA_ENV))
		setenv(KXCONFIG_SCHEMA_ENV, KXEN_SRC_SCHEMA_DIR "/domain.rng", 1);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char in[64], out[64], err[512];
	struct kxconfig *a = NULL, *b = NULL;
	FILE *f;

	snprintf(in, sizeof(in), "%s/in.xml", dir);
	snprintf(out, sizeof(out), "%s/out.xml", dir);
	if (write_file(in, data, size) < 0)
		abort();
	if (kxconfig_load(in, &a, err, sizeof(err)) < 0) {
		FZ_CHECK(a == NULL && err[0], "a refusal without a message");
		return 0;
	}
	f = fopen(out, "w");
	FZ_CHECK(f && kxconfig_format(a, f) == 0, "format failed");
	fclose(f);
	if (kxconfig_load(out, &b, err, sizeof(err)) < 0) {
		fprintf(stderr, "written config does not load: %s\n", err);
		abort();
	}
	compare(a, b);
	kxconfig_free(a);
	kxconfig_free(b);
	return 0;
}
