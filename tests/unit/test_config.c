/* CUnit suite for libkxconfig: examples, every broken config's exact message, units, UUIDs, round trips. */
/*
 * Broken configs are loaded by their bare file name from inside
 * tests/data/bad, so each message starts "NAME.xml:LINE:" whatever the
 * build directory is; the .err files hold those messages verbatim.
 */
#include <config.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cunit_run.h"
#include "kxen/kxconfig.h"

#define EXAMPLES_DIR TEST_DATA_DIR "/../../xml/examples"
#define BAD_DIR TEST_DATA_DIR "/bad"
#define GOOD_DIR TEST_DATA_DIR "/good"
#define GOLDEN_GOOD_DIR TEST_DATA_DIR "/../golden/good"
#define SCHEMA TEST_DATA_DIR "/../../xml/domain.rng"
#define MIB (1ull << 20)

static char start_dir[PATH_MAX];
static char err[1024];

static struct kxconfig *load(const char *path)
{
	struct kxconfig *c = NULL;
	err[0] = '\0';
	if (kxconfig_load(path, &c, err, sizeof(err)) != 0) {
		fprintf(stderr, "\nunexpected error: %s\n", err);
		return NULL;
	}
	return c;
}

static void test_examples(void)
{
	struct kxconfig *c;

	CU_ASSERT_PTR_NOT_NULL_FATAL(c = load(EXAMPLES_DIR "/hello.xml"));
	CU_ASSERT_STRING_EQUAL(c->name, "hello");
	CU_ASSERT_EQUAL(c->virt, KXCONFIG_VIRT_KXEN);
	CU_ASSERT_EQUAL(c->mem_bytes, 16 * MIB);
	CU_ASSERT_EQUAL(c->cur_mem_bytes, 16 * MIB);
	CU_ASSERT_EQUAL(c->vcpus, 1);
	CU_ASSERT_EQUAL(c->os_type, KXCONFIG_OS_XENPV);
	CU_ASSERT_STRING_EQUAL(c->kernel, "/usr/local/libexec/kxen/kxen-guest");
	CU_ASSERT_EQUAL(c->kernel_line, 8);
	CU_ASSERT_STRING_EQUAL(c->cmdline, "hello");
	CU_ASSERT_PTR_NULL(c->title);
	CU_ASSERT_PTR_NULL(c->description);
	CU_ASSERT_TRUE(c->uuid_generated);
	CU_ASSERT_EQUAL(c->on_poweroff, KXCONFIG_ACT_DESTROY);
	CU_ASSERT_EQUAL(c->on_reboot, KXCONFIG_ACT_RESTART);   /* libvirt's default */
	CU_ASSERT_EQUAL(c->on_crash, KXCONFIG_ACT_DESTROY);
	CU_ASSERT_STRING_EQUAL(c->source, EXAMPLES_DIR "/hello.xml");
	kxconfig_free(c);

	CU_ASSERT_PTR_NOT_NULL_FATAL(c = load(EXAMPLES_DIR "/sleep.xml"));
	CU_ASSERT_STRING_EQUAL(c->name, "sleep");
	CU_ASSERT_STRING_EQUAL(c->title, "Timer test guest");
	CU_ASSERT_STRING_EQUAL(c->cmdline, "sleep 2000");
	kxconfig_free(c);

	CU_ASSERT_PTR_NOT_NULL_FATAL(c = load(EXAMPLES_DIR "/smp.xml"));
	static const uint8_t smp_uuid[16] = { 0x6b, 0x2a, 0x3c, 0x1e, 0x9d, 0x4f, 0x4e, 0x8a,
	                                      0xb1, 0xc7, 0x2f, 0x5d, 0x8e, 0x9a, 0x0b, 0x13 };
	CU_ASSERT_STRING_EQUAL(c->name, "smp");
	CU_ASSERT_EQUAL(c->virt, KXCONFIG_VIRT_XEN);
	CU_ASSERT_EQUAL(c->os_type, KXCONFIG_OS_XENPV);   /* 'linux' with type='xen' */
	CU_ASSERT_EQUAL(c->vcpus, 4);
	CU_ASSERT_EQUAL(c->mem_bytes, 64 * MIB);
	CU_ASSERT_FALSE(c->uuid_generated);
	CU_ASSERT_EQUAL(memcmp(c->uuid, smp_uuid, 16), 0);
	CU_ASSERT_STRING_EQUAL(c->description, "\n    Exercises vCPU bring-up and cross-vCPU events.\n  ");
	kxconfig_free(c);

	CU_ASSERT_PTR_NOT_NULL_FATAL(c = load(EXAMPLES_DIR "/crash.xml"));
	CU_ASSERT_STRING_EQUAL(c->name, "crash");
	CU_ASSERT_EQUAL(c->mem_bytes, 8 * MIB);
	CU_ASSERT_EQUAL(c->on_crash, KXCONFIG_ACT_PRESERVE);
	CU_ASSERT_EQUAL(c->on_poweroff, KXCONFIG_ACT_DESTROY);
	kxconfig_free(c);
}

static void test_full(void)
{
	struct kxconfig *c;
	static const uint8_t u[16] = { 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef,
	                               0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef };
	CU_ASSERT_PTR_NOT_NULL_FATAL(c = load(GOOD_DIR "/full.xml"));
	CU_ASSERT_STRING_EQUAL(c->name, "full_test-1.x+y:z@w");
	CU_ASSERT_STRING_EQUAL(c->title, "A title with <markup> & quotes ' \"");
	CU_ASSERT_STRING_EQUAL(c->description, "Line one & \"two\"\n  <three> 'four'");
	CU_ASSERT_EQUAL(memcmp(c->uuid, u, 16), 0);
	CU_ASSERT_EQUAL(c->mem_bytes, 128 * MIB);
	CU_ASSERT_EQUAL(c->cur_mem_bytes, 65536000);   /* 65536 KB, decimal */
	CU_ASSERT_EQUAL(c->vcpus, 32);
	CU_ASSERT_STRING_EQUAL(c->kernel, "/opt/kxen/kernel with space");
	CU_ASSERT_STRING_EQUAL(c->cmdline, "app=echo msg=\"a & b\" <x>");
	CU_ASSERT_EQUAL(c->on_poweroff, KXCONFIG_ACT_DESTROY);
	CU_ASSERT_EQUAL(c->on_reboot, KXCONFIG_ACT_PRESERVE);
	CU_ASSERT_EQUAL(c->on_crash, KXCONFIG_ACT_PRESERVE);
	kxconfig_free(c);
}

static void test_relative_kernel(void)
{
	char real[PATH_MAX], want[PATH_MAX + 32];
	struct kxconfig *c;
	CU_ASSERT_PTR_NOT_NULL_FATAL(realpath(GOOD_DIR, real));
	snprintf(want, sizeof(want), "%s/guest/kxen-guest", real);

	CU_ASSERT_PTR_NOT_NULL_FATAL(c = load(GOOD_DIR "/relative.xml"));
	CU_ASSERT_STRING_EQUAL(c->kernel, want);
	CU_ASSERT_EQUAL(c->mem_bytes, 1024 * MIB);
	kxconfig_free(c);

	/* The same file reached through a relative path from elsewhere. */
	CU_ASSERT_EQUAL_FATAL(chdir(TEST_DATA_DIR), 0);
	c = load("good/relative.xml");
	CU_ASSERT_EQUAL(chdir(start_dir), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_STRING_EQUAL(c->kernel, want);
	kxconfig_free(c);
}

static void test_devices_and_libvirt(void)
{
	struct kxconfig *c;
	static const uint8_t mac0[6] = { 0x00, 0x16, 0x3e, 0x5d, 0xc0, 0x01 };
	CU_ASSERT_PTR_NOT_NULL_FATAL(c = load(EXAMPLES_DIR "/devices.xml"));
	CU_ASSERT_EQUAL(c->ndisks, 2);
	CU_ASSERT_PTR_NOT_NULL(strstr(c->disks[0].file, "/xml/examples/images/root.img"));
	CU_ASSERT_STRING_EQUAL(c->disks[0].target, "xvda");
	CU_ASSERT_STRING_EQUAL(c->disks[0].driver, "qemu");
	CU_ASSERT_FALSE(c->disks[0].qcow2);
	CU_ASSERT_FALSE(c->disks[0].readonly);
	CU_ASSERT_TRUE(c->disks[1].qcow2);
	CU_ASSERT_TRUE(c->disks[1].readonly);
	CU_ASSERT_EQUAL(c->nnics, 2);
	CU_ASSERT_EQUAL(memcmp(c->nics[0].mac, mac0, 6), 0);
	CU_ASSERT_FALSE(c->nics[0].mac_generated);
	CU_ASSERT_STRING_EQUAL(c->nics[0].bridge, "xenbr0");
	CU_ASSERT_TRUE(c->nics[1].mac_generated);
	CU_ASSERT_EQUAL(memcmp(c->nics[1].mac, mac0, 3), 0);   /* Xen's OUI */
	CU_ASSERT_EQUAL(c->nics[1].mac[3] & 0x80, 0);
	CU_ASSERT_TRUE(c->nics[1].ethernet);
	CU_ASSERT_PTR_NULL(c->nics[1].bridge);
	CU_ASSERT_STRING_EQUAL(c->nics[1].vifname, "devices-eth");
	CU_ASSERT_TRUE(c->console);
	kxconfig_free(c);

	CU_ASSERT_PTR_NOT_NULL_FATAL(c = load(EXAMPLES_DIR "/libvirt-pv.xml"));
	CU_ASSERT_EQUAL(c->virt, KXCONFIG_VIRT_XEN);
	CU_ASSERT_EQUAL(c->os_type, KXCONFIG_OS_XENPV);
	CU_ASSERT_EQUAL(c->vcpus, 2);
	CU_ASSERT_TRUE(c->clock);
	CU_ASSERT_EQUAL(c->on_reboot, KXCONFIG_ACT_RESTART);
	kxconfig_free(c);

	CU_ASSERT_PTR_NOT_NULL_FATAL(c = load(GOLDEN_GOOD_DIR "/pvh.xml"));
	CU_ASSERT_EQUAL(c->os_type, KXCONFIG_OS_XENPVH);
	kxconfig_free(c);

	CU_ASSERT_PTR_NOT_NULL_FATAL(c = load(EXAMPLES_DIR "/vcpus.xml"));
	CU_ASSERT_EQUAL(c->vcpus, 4);
	CU_ASSERT_EQUAL(c->vcpus_current, 2);
	CU_ASSERT_STRING_EQUAL(c->cpuset, "0-1");
	CU_ASSERT_EQUAL(c->cpumask[0], 0x03);
	CU_ASSERT_EQUAL(c->cpumask[1], 0);
	/* shares 2048 = twice libvirt's 1024 = xl weight 512; 50% of a CPU per vCPU, 4 vCPUs = cap 200. */
	CU_ASSERT_EQUAL(c->sched_weight, 512);
	CU_ASSERT_EQUAL(c->sched_cap, 200);
	CU_ASSERT_EQUAL_FATAL(c->npins, 1);
	CU_ASSERT_EQUAL(c->pins[0].vcpu, 0);
	CU_ASSERT_EQUAL(c->pins[0].mask[0], 0x02);
	kxconfig_free(c);

	CU_ASSERT_PTR_NOT_NULL_FATAL(c = load(EXAMPLES_DIR "/coredump.xml"));
	CU_ASSERT_EQUAL(c->on_crash, KXCONFIG_ACT_COREDUMP_DESTROY);
	CU_ASSERT_EQUAL(kxconfig_hv_action(c->on_crash), KXCTL_ACTION_PRESERVE);
	CU_ASSERT_TRUE(kxconfig_needs_monitor(c));
	kxconfig_free(c);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c = load(EXAMPLES_DIR "/rename-restart.xml"));
	CU_ASSERT_EQUAL(c->on_crash, KXCONFIG_ACT_RENAME_RESTART);
	kxconfig_free(c);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c = load(EXAMPLES_DIR "/crash.xml"));
	CU_ASSERT_EQUAL(kxconfig_hv_action(c->on_crash), KXCTL_ACTION_PRESERVE);
	CU_ASSERT_EQUAL(kxconfig_hv_action(c->on_poweroff), KXCTL_ACTION_DESTROY);
	kxconfig_free(c);
}

static char *slurp(const char *path)
{
	static char buf[4096];
	FILE *f = fopen(path, "r");
	if (!f)
		return NULL;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	while (n && buf[n - 1] == '\n')
		buf[--n] = '\0';
	return buf;
}

static void test_bad(void)
{
	DIR *d = opendir(BAD_DIR);
	struct dirent *de;
	int files = 0;
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	CU_ASSERT_EQUAL_FATAL(chdir(BAD_DIR), 0);
	while ((de = readdir(d))) {
		size_t l = strlen(de->d_name);
		if (l < 5 || strcmp(de->d_name + l - 4, ".xml"))
			continue;
		char errfile[NAME_MAX + 8];
		snprintf(errfile, sizeof(errfile), "%.*s.err", (int)(l - 4), de->d_name);
		char *want = slurp(errfile);
		struct kxconfig *c = (struct kxconfig *)1;
		int r = kxconfig_load(de->d_name, &c, err, sizeof(err));
		files++;
		CU_ASSERT_PTR_NOT_NULL(want);
		CU_ASSERT_EQUAL(r, -EINVAL);   /* every broken config: invalid, not out of memory */
		CU_ASSERT_PTR_NULL(c);
		if (!want || strcmp(want, err)) {
			fprintf(stderr, "\n%s:\n  want: %s\n  got:  %s\n", de->d_name, want ? want : "(no .err)", err);
			CU_FAIL("message differs from the .err file");
		}
	}
	closedir(d);
	CU_ASSERT_EQUAL(chdir(start_dir), 0);
	CU_ASSERT(files >= 40);   /* the directory really was read */
}

static void test_missing_file(void)
{
	struct kxconfig *c;
	CU_ASSERT_EQUAL(kxconfig_load("/nonexistent/g.xml", &c, err, sizeof(err)), -EINVAL);
	CU_ASSERT_STRING_EQUAL(err, "/nonexistent/g.xml: cannot open: No such file or directory");
	CU_ASSERT_EQUAL(kxconfig_load(TEST_DATA_DIR, &c, err, sizeof(err)), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "is a directory"));
}

/* libxml2 must not print anything itself: kxl owns the terminal. */
static void test_quiet(void)
{
	FILE *tmp = tmpfile();
	struct kxconfig *c;
	int saved = dup(2);
	CU_ASSERT_PTR_NOT_NULL_FATAL(tmp);
	fflush(stderr);
	dup2(fileno(tmp), 2);
	kxconfig_load(BAD_DIR "/parse-error.xml", &c, err, sizeof(err));
	kxconfig_load(BAD_DIR "/unknown-element.xml", &c, err, sizeof(err));
	kxconfig_load(BAD_DIR "/bad-uuid.xml", &c, err, sizeof(err));
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	CU_ASSERT_EQUAL(ftell(tmp), 0);
	fclose(tmp);
}

static void test_schema_override(void)
{
	struct kxconfig *c;
	setenv(KXCONFIG_SCHEMA_ENV, "/nonexistent/domain.rng", 1);
	CU_ASSERT_STRING_EQUAL(kxconfig_schema_path(), "/nonexistent/domain.rng");
	CU_ASSERT_EQUAL(kxconfig_load(EXAMPLES_DIR "/hello.xml", &c, err, sizeof(err)), -ENOENT);
	CU_ASSERT_STRING_EQUAL(err, "cannot read the schema /nonexistent/domain.rng: No such file or "
	                            "directory (set KXEN_SCHEMA to the path of domain.rng)");
	setenv(KXCONFIG_SCHEMA_ENV, SCHEMA, 1);
}

static void test_units(void)
{
	static const struct { const char *v, *unit; uint64_t bytes; } ok[] = {
		{ "1", NULL, 1024 }, { "1", "", 1024 }, { "7", "b", 7 }, { "7", "bytes", 7 },
		{ "7", "byte", 7 }, { "1", "KB", 1000 }, { "1", "k", 1024 }, { "1", "KiB", 1024 },
		{ "2", "M", 2 * MIB }, { "2", "MiB", 2 * MIB }, { "2", "MB", 2000000 },
		{ "3", "G", 3ull << 30 }, { "3", "GiB", 3ull << 30 }, { "3", "GB", 3000000000ull },
		{ "1", "T", 1ull << 40 }, { "1", "TB", 1000000000000ull }, { "1", "mib", MIB },
		{ "1", "gB", 1000000000ull }, { " +5 ", "k", 5120 },
		{ "18446744073709551615", "b", UINT64_MAX }, { "16777215", "TiB", 16777215ull << 40 },
	};
	static const struct { const char *v, *unit; int err; } bad[] = {
		{ "1", "XB", -EINVAL }, { "1", "KiBs", -EINVAL }, { "1", "i", -EINVAL },
		{ "x", NULL, -EINVAL }, { "", NULL, -EINVAL }, { "1.5", "M", -EINVAL },
		{ "-1", NULL, -EINVAL }, { "18446744073709551616", "b", -ERANGE },
		{ "16777216", "TiB", -ERANGE }, { "18014398509481984", "KiB", -ERANGE },
	};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		uint64_t b = 0;
		CU_ASSERT_EQUAL(kxconfig_scale(ok[i].v, ok[i].unit, &b), 0);
		CU_ASSERT_EQUAL(b, ok[i].bytes);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint64_t b = 0;
		CU_ASSERT_EQUAL(kxconfig_scale(bad[i].v, bad[i].unit, &b), bad[i].err);
	}
	CU_ASSERT_STRING_EQUAL(kxconfig_unit_name(NULL), "KiB");
	CU_ASSERT_STRING_EQUAL(kxconfig_unit_name("M"), "MiB");
	CU_ASSERT_STRING_EQUAL(kxconfig_unit_name("gb"), "GB");
	CU_ASSERT_STRING_EQUAL(kxconfig_unit_name("b"), "bytes");
	CU_ASSERT_PTR_NULL(kxconfig_unit_name("XB"));
}

static void test_uuid(void)
{
	uint8_t a[16], b[16];
	char s[37];
	CU_ASSERT_EQUAL(kxconfig_uuid_parse("6b2a3c1e-9d4f-4e8a-b1c7-2f5d8e9a0b13", a), 0);
	CU_ASSERT_EQUAL(kxconfig_uuid_parse("6B2A3C1E9D4F4E8AB1C72F5D8E9A0B13", b), 0);
	CU_ASSERT_EQUAL(memcmp(a, b, 16), 0);
	kxconfig_uuid_format(a, s);
	CU_ASSERT_STRING_EQUAL(s, "6b2a3c1e-9d4f-4e8a-b1c7-2f5d8e9a0b13");
	CU_ASSERT_EQUAL(kxconfig_uuid_parse("6b2a3c1e-9d4f-4e8a-b1c7-2f5d8e9a0b1", a), -EINVAL);
	CU_ASSERT_EQUAL(kxconfig_uuid_parse("6b2a3c1e9-d4f-4e8a-b1c7-2f5d8e9a0b13", a), -EINVAL);
	CU_ASSERT_EQUAL(kxconfig_uuid_parse("6b2a3c1e-9d4f-4e8a-b1c7-2f5d8e9a0b1g", a), -EINVAL);
	CU_ASSERT_EQUAL(kxconfig_uuid_parse("", a), -EINVAL);

	CU_ASSERT_EQUAL(kxconfig_uuid_generate(a), 0);
	CU_ASSERT_EQUAL(kxconfig_uuid_generate(b), 0);
	CU_ASSERT_NOT_EQUAL(memcmp(a, b, 16), 0);
	CU_ASSERT_EQUAL(a[6] >> 4, 4);           /* version 4 */
	CU_ASSERT_EQUAL(a[8] & 0xc0, 0x80);      /* RFC 4122 variant */
	kxconfig_uuid_format(a, s);
	CU_ASSERT_EQUAL(kxconfig_uuid_parse(s, b), 0);
	CU_ASSERT_EQUAL(memcmp(a, b, 16), 0);

	/* Each load of a file without <uuid> makes a new one. */
	struct kxconfig *c1 = load(EXAMPLES_DIR "/hello.xml"), *c2 = load(EXAMPLES_DIR "/hello.xml");
	CU_ASSERT_PTR_NOT_NULL_FATAL(c1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c2);
	CU_ASSERT_NOT_EQUAL(memcmp(c1->uuid, c2->uuid, 16), 0);
	CU_ASSERT_EQUAL(c1->uuid[6] >> 4, 4);
	kxconfig_free(c1);
	kxconfig_free(c2);
}

static int str_eq(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

static void round_trip(const char *path)
{
	char tmpl[] = "/tmp/kxconfig-test-XXXXXX.xml";
	struct kxconfig *a = load(path), *b;
	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	int fd = mkstemps(tmpl, 4);
	CU_ASSERT_FATAL(fd >= 0);
	FILE *f = fdopen(fd, "w");
	CU_ASSERT_EQUAL(kxconfig_format(a, f), 0);
	fclose(f);
	b = load(tmpl);
	unlink(tmpl);
	if (!b) {
		fprintf(stderr, "round trip of %s failed\n", path);
		CU_FAIL("formatted config does not load");
		kxconfig_free(a);
		return;
	}
	CU_ASSERT_STRING_EQUAL(a->name, b->name);
	CU_ASSERT_EQUAL(a->virt, b->virt);
	CU_ASSERT_EQUAL(memcmp(a->uuid, b->uuid, 16), 0);
	CU_ASSERT_FALSE(b->uuid_generated);
	CU_ASSERT_TRUE(str_eq(a->title, b->title));
	CU_ASSERT_TRUE(str_eq(a->description, b->description));
	CU_ASSERT_EQUAL(a->mem_bytes, b->mem_bytes);
	CU_ASSERT_EQUAL(a->cur_mem_bytes, b->cur_mem_bytes);
	CU_ASSERT_EQUAL(a->vcpus, b->vcpus);
	CU_ASSERT_EQUAL(a->os_type, b->os_type);
	CU_ASSERT_STRING_EQUAL(a->kernel, b->kernel);
	CU_ASSERT_TRUE(str_eq(a->cmdline, b->cmdline));
	CU_ASSERT_EQUAL(a->on_poweroff, b->on_poweroff);
	CU_ASSERT_EQUAL(a->on_reboot, b->on_reboot);
	CU_ASSERT_EQUAL(a->on_crash, b->on_crash);
	CU_ASSERT_EQUAL(a->vcpus_current, b->vcpus_current);
	CU_ASSERT_EQUAL(memcmp(a->cpumask, b->cpumask, sizeof(a->cpumask)), 0);
	CU_ASSERT_TRUE(str_eq(a->initrd, b->initrd));
	CU_ASSERT_EQUAL(a->clock, b->clock);
	CU_ASSERT_EQUAL(a->console, b->console);
	CU_ASSERT_EQUAL(a->serial, b->serial);
	CU_ASSERT_EQUAL(a->mem_written, b->mem_written);
	CU_ASSERT_EQUAL(a->memballoon_line != 0, b->memballoon_line != 0);
	CU_ASSERT_EQUAL(a->max_grant_frames, b->max_grant_frames);
	CU_ASSERT_EQUAL_FATAL(a->ndisks, b->ndisks);
	CU_ASSERT_EQUAL_FATAL(a->nnics, b->nnics);
	for (unsigned i = 0; i < a->ndisks; i++) {
		CU_ASSERT_STRING_EQUAL(a->disks[i].file, b->disks[i].file);
		CU_ASSERT_STRING_EQUAL(a->disks[i].target, b->disks[i].target);
		CU_ASSERT_TRUE(str_eq(a->disks[i].driver, b->disks[i].driver));
		CU_ASSERT_EQUAL(a->disks[i].qcow2, b->disks[i].qcow2);
		CU_ASSERT_EQUAL(a->disks[i].readonly, b->disks[i].readonly);
		CU_ASSERT_EQUAL(a->disks[i].block, b->disks[i].block);
		CU_ASSERT_TRUE(str_eq(a->disks[i].backing, b->disks[i].backing));
		CU_ASSERT_TRUE(str_eq(a->disks[i].backing_format, b->disks[i].backing_format));
	}
	for (unsigned i = 0; i < a->nnics; i++) {
		CU_ASSERT_EQUAL(memcmp(a->nics[i].mac, b->nics[i].mac, 6), 0);   /* generated ones kept */
		CU_ASSERT_FALSE(b->nics[i].mac_generated);
		CU_ASSERT_TRUE(str_eq(a->nics[i].bridge, b->nics[i].bridge));
		CU_ASSERT_TRUE(str_eq(a->nics[i].vifname, b->nics[i].vifname));
		CU_ASSERT_TRUE(str_eq(a->nics[i].script, b->nics[i].script));
		CU_ASSERT_EQUAL(a->nics[i].ethernet, b->nics[i].ethernet);
	}
	kxconfig_free(a);
	kxconfig_free(b);
}

static void test_round_trip(void)
{
	static const char *const files[] = {
		EXAMPLES_DIR "/hello.xml", EXAMPLES_DIR "/sleep.xml", EXAMPLES_DIR "/smp.xml",
		EXAMPLES_DIR "/crash.xml", GOOD_DIR "/full.xml", GOOD_DIR "/relative.xml",
		EXAMPLES_DIR "/devices.xml", EXAMPLES_DIR "/libvirt-pv.xml", GOLDEN_GOOD_DIR "/pvh.xml", GOOD_DIR "/libvirt-live.xml",
		EXAMPLES_DIR "/vcpus.xml", EXAMPLES_DIR "/restart.xml", EXAMPLES_DIR "/coredump.xml",
		EXAMPLES_DIR "/rename-restart.xml",
	};
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		round_trip(files[i]);
}

/* Everything libvirt's libxl driver writes for a PV domain, read as libvirt means it. */
static void test_libvirt_live(void)
{
	struct kxconfig *c;
	CU_ASSERT_PTR_NOT_NULL_FATAL(c = load(GOOD_DIR "/libvirt-live.xml"));
	CU_ASSERT_EQUAL(c->mem_written, 524289ull << 10);
	CU_ASSERT_EQUAL(c->mem_bytes, 514ull << 20);            /* rounded up to 2 MiB */
	CU_ASSERT_EQUAL(c->cur_mem_bytes, 524288ull << 10);
	CU_ASSERT_EQUAL(c->ndisks, 1);
	CU_ASSERT_TRUE(c->disks[0].block);
	CU_ASSERT_STRING_EQUAL(c->disks[0].file, "/dev/vg0/guest1");
	CU_ASSERT_EQUAL(c->nnics, 2);
	CU_ASSERT_TRUE(c->nics[0].ethernet);
	CU_ASSERT_STRING_EQUAL(c->nics[0].vifname, "vif7.0");
	CU_ASSERT_STRING_EQUAL(c->nics[0].script, "/etc/xen/scripts/vif-route");
	CU_ASSERT_FALSE(c->nics[1].ethernet);
	CU_ASSERT_STRING_EQUAL(c->nics[1].bridge, "xenbr0");
	CU_ASSERT_EQUAL(c->max_grant_frames, 32);
	CU_ASSERT_NOT_EQUAL(c->controller_line, 0);
	CU_ASSERT_NOT_EQUAL(c->memballoon_line, 0);
	CU_ASSERT_NOT_EQUAL(c->input_line, 0);
	CU_ASSERT_TRUE(c->serial);
	CU_ASSERT_TRUE(c->console);
	CU_ASSERT_EQUAL(c->live_domid, -1);

	/* Written back as the user wrote it, plus what was generated; id only when live. */
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	CU_ASSERT_EQUAL(kxconfig_format(c, f), 0);
	c->live_domid = 12;
	CU_ASSERT_EQUAL(kxconfig_format(c, f), 0);
	fclose(f);
	static const char *const kept[] = {
		"<!-- What virsh dumpxml shows", "<domain type=\"xen\">", "<domain type=\"xen\" id=\"12\">",
		"<memory unit=\"KiB\">524289</memory>", "machine=\"xenpv\">linux</type>",
		"<app:tag k=\"v\"/>", "<description>two\n  lines</description>",
		"<source dev=\"/dev/vg0/guest1\"/>", "<script path=\"/etc/xen/scripts/vif-route\"/>",
		"<target dev=\"vif7.0\"/>", "<memballoon model=\"xen\"/>", "maxGrantFrames=\"32\"",
		"<emulator>/usr/lib/xen/bin/qemu-system-i386</emulator>", "<pae/>",
		"<interface type=\"ethernet\">\n      <mac address=\"00:16:3e:",
	};
	for (size_t i = 0; i < sizeof(kept) / sizeof(kept[0]); i++)
		if (!strstr(out, kept[i])) {
			fprintf(stderr, "\nnot in the formatted config: %s\n%s", kept[i], out);
			CU_FAIL("user's spelling lost");
		}
	free(out);
	kxconfig_free(c);
}

/* TAB and LF in attributes must be written as references: raw ones are read back as spaces (XML attribute normalisation). */
static void test_round_trip_whitespace(void)
{
	char tmpl[] = "/tmp/kxconfig-ws-XXXXXX.xml";
	int fd = mkstemps(tmpl, 4);
	CU_ASSERT_FATAL(fd >= 0);
	FILE *f = fdopen(fd, "w");
	fputs("<domain type='xen'><name>ws</name><memory unit='MiB'>64</memory><vcpu>1</vcpu>"
	      "<os><type arch='x86_64' machine='xenpv'>linux</type><kernel>/k</kernel></os><devices>"
	      "<disk type='file' device='disk'><source file='/img/a&#9;b&#10;c&#13;d.raw'/>"
	      "<target dev='xvda' bus='xen'/></disk>"
	      "<interface type='bridge'><source bridge='br&#9;x&#10;y'/></interface>"
	      "</devices></domain>\n", f);
	fclose(f);
	struct kxconfig *c = load(tmpl);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_STRING_EQUAL(c->disks[0].file, "/img/a\tb\nc\rd.raw");
	CU_ASSERT_STRING_EQUAL(c->nics[0].bridge, "br\tx\ny");
	kxconfig_free(c);
	round_trip(tmpl);
	unlink(tmpl);
}

/* libvirt's <backingStore>: one level, resolved like <source>, written back. */
static void test_backing_store(void)
{
	struct kxconfig *c = load(GOOD_DIR "/backing.xml");
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_EQUAL_FATAL(c->ndisks, 2);
	CU_ASSERT_STRING_EQUAL(c->disks[0].backing, "/srv/golden/base.raw");
	CU_ASSERT_STRING_EQUAL(c->disks[0].backing_format, "raw");
	CU_ASSERT_PTR_NULL(c->disks[1].backing);
	CU_ASSERT_PTR_NULL(c->disks[1].backing_format);
	kxconfig_free(c);
	round_trip(GOOD_DIR "/backing.xml");
}

/* <clock> as libvirt's libxl driver maps it, libvirt's Xen features, console ports, grant frames; kept on dumpxml. */
static void test_platform(void)
{
	struct kxconfig *c;
	int32_t off = 1;
	char *out = NULL;
	size_t len = 0;
	FILE *f;

	CU_ASSERT_PTR_NOT_NULL_FATAL(c = load(GOLDEN_GOOD_DIR "/libvirt-xen-features.xml"));
	CU_ASSERT_TRUE(c->clock);
	CU_ASSERT_EQUAL(c->clock_line, 19);
	CU_ASSERT_FALSE(c->clock_localtime);
	CU_ASSERT_EQUAL(c->clock_adjust_s, -86400);
	CU_ASSERT_EQUAL(kxconfig_wallclock_offset(c, 0, &off), 0);
	CU_ASSERT_EQUAL(off, -86400);
	CU_ASSERT_EQUAL(c->e820_host_line, 15);
	CU_ASSERT_EQUAL(c->passthrough_line, 16);
	CU_ASSERT_EQUAL(c->max_grant_frames, 4);
	CU_ASSERT_TRUE(c->serial && c->console);
	f = open_memstream(&out, &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	CU_ASSERT_EQUAL(kxconfig_format(c, f), 0);
	fclose(f);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "<clock offset=\"variable\" adjustment=\"-86400\" basis=\"utc\"/>"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "<passthrough state=\"on\" mode=\"share_pt\"/>"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "<target type=\"serial\" port=\"0\"/>"));
	free(out);
	kxconfig_free(c);
	round_trip(GOLDEN_GOOD_DIR "/libvirt-xen-features.xml");

	/* localtime: the host's UTC offset at the start, here a fixed zone 3 hours east of UTC. */
	CU_ASSERT_PTR_NOT_NULL_FATAL(c = load(GOLDEN_GOOD_DIR "/clock-localtime.xml"));
	CU_ASSERT_TRUE(c->clock_localtime);
	CU_ASSERT_EQUAL(c->clock_adjust_s, 0);
	char *tz = getenv("TZ") ? strdup(getenv("TZ")) : NULL;
	setenv("TZ", "XYZ-3", 1);
	tzset();
	CU_ASSERT_EQUAL(kxconfig_wallclock_offset(c, 1700000000, &off), 0);
	CU_ASSERT_EQUAL(off, 3 * 3600);
	c->clock_adjust_s = 2147483647 - 3600;   /* past Xen's 32 bits with the zone added */
	CU_ASSERT_EQUAL(kxconfig_wallclock_offset(c, 1700000000, &off), -ERANGE);
	if (tz)
		setenv("TZ", tz, 1);
	else
		unsetenv("TZ");
	tzset();
	free(tz);
	kxconfig_free(c);
	/* utc with adjustment='reset', as libvirt writes it, adds nothing. */
	CU_ASSERT_PTR_NOT_NULL_FATAL(c = load(EXAMPLES_DIR "/libvirt-pv.xml"));
	CU_ASSERT_FALSE(c->clock_localtime);
	CU_ASSERT_EQUAL(c->clock_adjust_s, 0);   /* adjustment='reset' */
	kxconfig_free(c);
}

int main(void)
{
	static const struct cunit_test tests[] = {
		{ "examples parse with their values", test_examples },
		{ "every element and escaping", test_full },
		{ "relative kernel paths", test_relative_kernel },
		{ "devices, libvirt spellings, vcpus, actions", test_devices_and_libvirt },
		{ "libvirt's live XML, kept as written", test_libvirt_live },
		{ "broken configs give their .err message", test_bad },
		{ "missing file", test_missing_file },
		{ "nothing printed on stderr", test_quiet },
		{ "KXEN_SCHEMA override", test_schema_override },
		{ "memory units", test_units },
		{ "uuid parse, format, generate", test_uuid },
		{ "format round trip", test_round_trip },
		{ "backingStore", test_backing_store },
		{ "format round trip of TAB, LF, CR in attributes", test_round_trip_whitespace },
		{ "clock, Xen features, console ports, grant frames", test_platform },
	};
	if (!getcwd(start_dir, sizeof(start_dir)))
		return 1;
	/* Always the source tree's schema, never one installed by an older build. */
	setenv(KXCONFIG_SCHEMA_ENV, SCHEMA, 1);
	return cunit_run("kxconfig", tests, CUNIT_COUNT(tests), NULL, NULL);
}
