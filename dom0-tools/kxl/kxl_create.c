/* kxl create and kxl validate: from a domain XML file to a running domain (or a verdict). */
#include <config.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "kxl.h"
#include "kxconfig.h"
#include "kxbuild.h"
#include "kxl_xs.h"
#include <xenstore.h>

/*
 * Examples name the installed kernel; from a build tree, or with another
 * prefix, $KXEN_GUEST_DIR (then the configured guest directory) supplies a
 * file of the same base name instead. Returns a path to use or NULL.
 */
static char *find_kernel(const struct kxconfig *cfg)
{
	const char *dirs[] = { getenv("KXEN_GUEST_DIR"), KXEN_GUEST_DIR };
	if (access(cfg->kernel, R_OK) == 0)
		return strdup(cfg->kernel);
	int saved = errno;
	char *copy = strdup(cfg->kernel);
	const char *base = copy ? basename(copy) : NULL;
	for (size_t i = 0; base && i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		char path[4096];
		if (!dirs[i] || !*dirs[i])
			continue;
		snprintf(path, sizeof(path), "%s/%s", dirs[i], base);
		if (access(path, R_OK) == 0) {
			kxl_verbose("%s not found; using %s", cfg->kernel, path);
			free(copy);
			return strdup(path);
		}
	}
	free(copy);
	const char *env = getenv("KXEN_GUEST_DIR");
	kxl_err("%s:%d: <kernel>: cannot read %s: %s (also looked in %s%s%s)", cfg->source,
	        cfg->kernel_line, cfg->kernel, strerror(saved), env && *env ? env : "",
	        env && *env ? " and " : "$KXEN_GUEST_DIR (unset) and ", KXEN_GUEST_DIR);
	return NULL;
}

static void print_config_summary(const struct kxconfig *cfg, const char *kernel)
{
	char uuid[37];
	kxconfig_uuid_format(cfg->uuid, uuid);
	printf("Domain %s, uuid %s%s\n", cfg->name, uuid, cfg->uuid_generated ? " (generated)" : "");
	printf("  memory %llu MiB, %u vCPU%s, %s guest\n",
	       (unsigned long long)(cfg->mem_bytes >> 20), cfg->vcpus, cfg->vcpus == 1 ? "" : "s",
	       kxconfig_os_name(cfg->os_type));
	printf("  kernel %s\n  cmdline %s\n", kernel, cfg->cmdline ? cfg->cmdline : "(none)");
	printf("  on_poweroff %s, on_reboot %s, on_crash %s\n", kxconfig_action_name(cfg->on_poweroff),
	       kxconfig_action_name(cfg->on_reboot), kxconfig_action_name(cfg->on_crash));
}

/* -N: what the builder would load, from the same ELF checks it makes. */
static int print_build_plan(const struct kxconfig *cfg, const char *kernel, int paused)
{
	int fd = open(kernel, O_RDONLY | O_CLOEXEC), ret = KXL_FAIL;
	struct stat st;
	void *map = MAP_FAILED;
	struct kxbuild_image img;
	char err[KXBUILD_ERR_MAX];

	if (fd < 0 || fstat(fd, &st) < 0 || st.st_size == 0) {
		kxl_err("%s: cannot read: %s", kernel, fd < 0 ? strerror(errno) : "empty file");
		goto out;
	}
	map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (map == MAP_FAILED) {
		kxl_err("%s: cannot map: %s", kernel, strerror(errno));
		goto out;
	}
	if (kxbuild_elf_parse(map, (size_t)st.st_size, cfg->mem_bytes, &img, err, sizeof(err))) {
		kxl_err("%s: %s", kernel, err);
		goto out;
	}
	printf("Build plan (dry run, nothing done):\n");
	print_config_summary(cfg, kernel);
	printf("  guest OS %s, Xen version %s, loader %s\n", img.guest_os, img.xen_version, img.loader);
	printf("  entry 0x%llx, hypercall page 0x%llx, image ends at 0x%llx\n",
	       (unsigned long long)img.entry, (unsigned long long)img.hypercall_page,
	       (unsigned long long)img.load_end);
	for (unsigned i = 0; i < img.nr_segments; i++)
		printf("  segment %u: paddr 0x%llx, %llu bytes from file offset 0x%llx, %llu in memory\n",
		       i, (unsigned long long)img.seg[i].paddr, (unsigned long long)img.seg[i].filesz,
		       (unsigned long long)img.seg[i].offset, (unsigned long long)img.seg[i].memsz);
	printf("  then: check the name is free, create the domain, load the kernel, write its\n"
	       "  xenstore paths and introduce it to kxenstored, %s\n",
	       paused ? "leave it paused" : "start vCPU 0");
	ret = KXL_OK;
out:
	if (map != MAP_FAILED)
		munmap(map, (size_t)st.st_size);
	if (fd >= 0)
		close(fd);
	return ret;
}

static int name_taken(kxctrl *h, const char *name)
{
	struct kxctl_dominfo *all = NULL;
	unsigned n = 0;
	int r = kxctrl_domain_list(h, &all, &n);
	if (r) {
		kxl_err("cannot list domains: %s", strerror(-r));
		return -1;
	}
	for (unsigned i = 0; i < n; i++)
		if (!strncmp(all[i].name, name, sizeof(all[i].name))) {
			kxl_err("a domain named '%s' already exists (id=%u)", name, all[i].domid);
			free(all);
			return 1;
		}
	free(all);
	return 0;
}

int main_create(int argc, char **argv)
{
	int opt, code = KXL_USAGE, paused = 0, ret = KXL_FAIL;
	struct kxconfig *cfg = NULL;
	kxctrl *h = NULL;
	struct xs_handle *xs = NULL;
	char *kernel = NULL, err[1024];

	while ((opt = kxl_getopt(argc, argv, "p", &code)) != -1) {
		if (opt != 'p')
			return code;
		paused = 1;
	}
	if (argc - optind != 1)
		return kxl_usage_error("create", argc - optind ? "expected one FILE.xml" : "missing FILE.xml");

	if (kxconfig_load(argv[optind], &cfg, err, sizeof(err))) {
		kxl_err("%s", err);
		goto out;
	}
	if (cfg->cur_mem_bytes != cfg->mem_bytes)
		fprintf(stderr, "kxl: warning: %s: <currentMemory> is not supported yet; the domain gets "
		                "all of <memory> (%llu MiB)\n", cfg->source,
		        (unsigned long long)(cfg->mem_bytes >> 20));
	kernel = find_kernel(cfg);
	if (!kernel)
		goto out;
	if (kxl.dry_run) {
		kxconfig_format(cfg, stdout);
		ret = print_build_plan(cfg, kernel, paused);
		goto out;
	}
	if (kxl_connect(&h))
		goto out;
	if (name_taken(h, cfg->name))
		goto out;
	xs = kxl_xs_open();
	if (!xs)
		goto out;

	struct kxbuild_config bc = {
		.name = cfg->name, .uuid = cfg->uuid, .mem_bytes = cfg->mem_bytes,
		.vcpus = cfg->vcpus, .kernel = kernel, .cmdline = cfg->cmdline,
		.on_poweroff = cfg->on_poweroff, .on_reboot = cfg->on_reboot,
		.on_crash = cfg->on_crash,
		.paused = 1,   /* introduced to xenstore before its first instruction, as libxl does */
	};
	struct kxbuild_result res;
	char berr[KXBUILD_ERR_MAX];
	if (kxl.verbose)
		print_config_summary(cfg, kernel);
	if (kxbuild_domain(h, &bc, &res, berr, sizeof(berr))) {
		kxl_err("cannot create domain '%s': %s", cfg->name, berr);
		goto out;
	}
	kxl_verbose("start_info at 0x%llx, shared_info at 0x%llx",
	            (unsigned long long)res.start_info_gpa, (unsigned long long)res.shared_info_gpa);
	struct kxl_xs_domain xd = {
		.domid = res.domid, .name = cfg->name, .uuid = cfg->uuid,
		.mem_kib = cfg->mem_bytes >> 10, .vcpus = cfg->vcpus,
		.store_pfn = res.store_pfn, .console_pfn = res.console_pfn,
		.store_port = res.store_evtchn, .console_port = res.console_evtchn,
	};
	clock_gettime(CLOCK_REALTIME, &xd.start_time);
	int r = kxl_xs_introduce(xs, &xd);
	if (!r && !paused && (r = kxctrl_domain_unpause(h, res.domid)))
		kxl_err("cannot start domain '%s' (id=%u): %s", cfg->name, res.domid, strerror(-r));
	if (r) {
		/* Nothing half-created stays: the paths went with the failure, the domain goes now. */
		kxl_xs_forget(xs, res.domid);
		kxctrl_domain_destroy(h, res.domid);
		goto out;
	}
	if (paused)
		printf("Created domain %s (id=%u), paused\n", cfg->name, res.domid);
	else
		printf("Started domain %s (id=%u)\n", cfg->name, res.domid);
	ret = KXL_OK;
out:
	if (xs)
		xs_close(xs);
	kxctrl_close(h);
	free(kernel);
	kxconfig_free(cfg);
	return ret;
}

int main_validate(int argc, char **argv)
{
	int code = KXL_USAGE, ret = KXL_OK;
	char err[1024];

	if (kxl_getopt(argc, argv, "", &code) != -1)
		return code;
	if (optind >= argc)
		return kxl_usage_error("validate", "missing FILE.xml");
	for (int i = optind; i < argc; i++) {
		struct kxconfig *cfg;
		if (kxconfig_load(argv[i], &cfg, err, sizeof(err))) {
			kxl_err("%s", err);
			ret = KXL_FAIL;
			continue;
		}
		printf("%s: valid\n", argv[i]);
		if (kxl.verbose)
			kxconfig_format(cfg, stdout);
		kxconfig_free(cfg);
	}
	return ret;
}
