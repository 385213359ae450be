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
#include "kxl_block.h"
#include "kxen/kxconfig.h"
#include "kxen/kxbuild.h"
#include "kxen/kxbuild_pv.h"

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
	if (cfg->clock_adjust_s || cfg->clock_localtime)
		printf("  wallclock: host %s %+d s\n", cfg->clock_localtime ? "local time (UTC offset at start)"
		       : "UTC", (int)cfg->clock_adjust_s);
	if (cfg->max_grant_frames)
		printf("  grant table: at most %u frames\n", cfg->max_grant_frames);
}

/* -N: what the builder would load and where, from the same checks it makes before a domain exists. */
static int print_build_plan(const struct kxconfig *cfg, const char *kernel, int paused)
{
	struct kxbuild_config bc = {
		.name = cfg->name, .mem_bytes = cfg->mem_bytes, .cur_mem_bytes = cfg->cur_mem_bytes,
		.vcpus = cfg->vcpus, .kernel = kernel, .initrd = cfg->initrd, .cmdline = cfg->cmdline,
	};
	struct kxbuild_inspect *in = calloc(1, sizeof(*in));
	char err[KXBUILD_ERR_MAX];
	int ret = KXL_FAIL;

	if (!in) {
		kxl_err("%s", strerror(ENOMEM));
		return KXL_FAIL;
	}
	if (kxbuild_inspect(&bc, in, err, sizeof(err))) {
		kxl_err("%s", err);
		goto out;
	}
	printf("Build plan (dry run, nothing done):\n");
	print_config_summary(cfg, kernel);
	if (in->kind == KXBUILD_KIND_DIRECT_PAGING) {
		printf("  kernel image: %s, direct-paging PV (%s)\n", in->format,
		       in->pv.guest_os[0] ? in->pv.guest_os : "?");
		if (cfg->initrd)
			printf("  initrd %s\n", cfg->initrd);
		kxbuild_pv_print(stdout, &in->plan, &in->pv);
	} else {
		const struct kxbuild_image *img = &in->img;

		printf("  guest OS %s, Xen version %s, loader %s\n", img->guest_os, img->xen_version,
		       img->loader);
		printf("  entry 0x%llx, hypercall page 0x%llx, image ends at 0x%llx\n",
		       (unsigned long long)img->entry, (unsigned long long)img->hypercall_page,
		       (unsigned long long)img->load_end);
		for (unsigned i = 0; i < img->nr_segments; i++)
			printf("  segment %u: paddr 0x%llx, %llu bytes from file offset 0x%llx, %llu in "
			       "memory\n", i, (unsigned long long)img->seg[i].paddr,
			       (unsigned long long)img->seg[i].filesz, (unsigned long long)img->seg[i].offset,
			       (unsigned long long)img->seg[i].memsz);
	}
	if (kxl_block_plan(cfg))
		goto out;
	for (unsigned i = 0; i < cfg->nnics; i++) {
		const struct kxconfig_nic *n = &cfg->nics[i];
		char mac[18], name[32];
		kxconfig_mac_format(n->mac, mac);
		if (n->vifname)
			snprintf(name, sizeof(name), "%s", n->vifname);
		else
			snprintf(name, sizeof(name), "vifD.%u", i);   /* D: the id it will get */
		if (n->ethernet)
			printf("  interface %s: mac %s%s, on a switch of its own\n", name, mac,
			       n->mac_generated ? " (generated)" : "");
		else
			printf("  interface %s: mac %s%s, bridge %s\n", name, mac,
			       n->mac_generated ? " (generated)" : "", n->bridge);
	}
	kxl_vcpu_plan(cfg);
	const char *why = in->kind == KXBUILD_KIND_DIRECT_PAGING ?
	                  kxbuild_direct_paging_refusal(cfg->vcpus) : NULL;
	if (why) {
		printf("  then: nothing: %s\n", why);
		ret = KXL_OK;
		goto out;
	}
	printf("  then: check the name is free and %llu MiB of host memory, create the domain paused,\n"
	       "        load the kernel, save the config, write its xenstore paths and introduce\n"
	       "        it to kxenstored, %s%s\n",
	       (unsigned long long)(cfg->mem_bytes >> 20), paused ? "leave it paused" : "start vCPU 0",
	       kxconfig_needs_monitor(cfg) ? ", start the monitor for the on_* actions" : "");
	ret = KXL_OK;
out:
	free(in);
	return ret;
}

/* The name check also prunes state files of domains that are gone, from the same list. */
static int name_taken(kxctrl *h, const char *name)
{
	struct kxctl_dominfo *all = NULL;
	unsigned n = 0;
	int r = kxctrl_domain_list(h, &all, &n), ret = 0;
	if (r) {
		kxl_err("cannot list domains: %s", strerror(-r));
		return -1;
	}
	for (unsigned i = 0; i < n && !ret; i++)
		if (!strncmp(all[i].name, name, sizeof(all[i].name))) {
			kxl_err("a domain named '%s' already exists (id=%u)", name, all[i].domid);
			ret = 1;
		}
	if (!ret)
		kxl_state_prune(all, n);
	free(all);
	return ret;
}

/* -c: hand over to 'kxl console' when that command exists in this build. */
/* -c: kxl console on the new domain, in this process (its own getopt starts afresh). */
static int attach_console(uint32_t domid)
{
	char id[16], *argv[] = { (char *)"console", id, NULL };

	snprintf(id, sizeof(id), "%u", domid);
	optind = 0;
	return main_console(2, argv) ? -EIO : 0;
}

int main_create(int argc, char **argv)
{
	int opt, code = KXL_USAGE, paused = 0, console = 0, foreground = 0, ret = KXL_FAIL;
	struct kxconfig *cfg = NULL;
	kxctrl *h = NULL;
	char *kernel = NULL, err[1024];
	uint32_t domid;

	while ((opt = kxl_getopt(argc, argv, "pcF", &code)) != -1) {
		switch (opt) {
		case 'p':
			paused = 1;
			break;
		case 'c':
			console = 1;
			break;
		case 'F':
			foreground = 1;
			break;
		default:
			return code;
		}
	}
	if (argc - optind != 1)
		return kxl_usage_error("create", argc - optind ? "expected one FILE.xml" : "missing FILE.xml");

	if (kxconfig_load(argv[optind], &cfg, err, sizeof(err))) {
		kxl_err("%s", err);
		goto out;
	}
	kxl_phase("config");
	if (kxl_config_supported(cfg))
		goto out;
	if (!(kernel = kxl_find_kernel(cfg)))
		goto out;
	if (cfg->initrd && access(cfg->initrd, R_OK)) {
		kxl_err("%s:%d: <initrd>: cannot read %s: %s", cfg->source, cfg->initrd_line,
		        cfg->initrd, strerror(errno));
		goto out;
	}
	/* The saved config names the kernel actually used, so restarts find it again. */
	free(cfg->kernel);
	cfg->kernel = kernel;
	kernel = NULL;
	if (kxl.dry_run) {
		kxconfig_format(cfg, stdout);
		ret = print_build_plan(cfg, cfg->kernel, paused);
		goto out;
	}
	if (kxl_connect(&h) || name_taken(h, cfg->name) || kxl_check_memory(h, cfg))
		goto out;
	kxl_phase("checks");
	if (kxl.verbose)
		print_config_summary(cfg, cfg->kernel);
	if (kxl_domain_start(h, cfg, cfg->kernel, paused, &domid))
		goto out;
	if (paused)
		printf("Created domain %s (id=%u), paused\n", cfg->name, domid);
	else
		printf("Started domain %s (id=%u)\n", cfg->name, domid);
	if (foreground || kxconfig_needs_monitor(cfg)) {
		/* The monitor must not inherit this connection: kxen-hv would count it as ours. */
		kxctrl_close(h);
		h = NULL;
		int r = kxl_fault("monitor");
		if (!r && !foreground)
			r = kxl_monitor_spawn(cfg, domid);
		if (r) {
			kxl_err("cannot start the monitor of domain %s (id=%u): %s; destroying it",
			        cfg->name, domid, strerror(-r));
			if (kxl_connect(&h) == 0)
				kxl_domain_teardown(h, domid, cfg->uuid);
			else
				kxl_state_remove(cfg->uuid);
			goto out;
		}
		kxl_verbose("monitor %s for on_poweroff %s, on_reboot %s, on_crash %s",
		            foreground ? "running in the foreground" : "started",
		            kxconfig_action_name(cfg->on_poweroff), kxconfig_action_name(cfg->on_reboot),
		            kxconfig_action_name(cfg->on_crash));
	}
	if (console && attach_console(domid))
		goto out;
	if (foreground) {
		fflush(stdout);
		kxl_phase("started");
		/* The config in hand is the one just saved: no second parse of the state file. */
		struct kxconfig *owned = cfg;
		cfg = NULL;
		if (kxl_monitor_foreground(owned, domid))
			goto out;
	}
	ret = KXL_OK;
out:
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
