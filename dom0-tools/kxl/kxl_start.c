/* Building and starting a domain from its config, shared by kxl create and the monitor's restarts. */
#include <config.h>
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <xenstore.h>
#include "kxl.h"
#include "kxl_block.h"
#include "kxl_dev.h"
#include "kxl_network.h"
#include "kxl_xs.h"
#include "kxen/kxconfig.h"
#include "kxen/kxbuild.h"

int kxl_fault(const char *step)
{
	const char *f = getenv(KXL_FAULT_ENV);
	if (!f || strcmp(f, step))
		return 0;
	kxl_err("injected fault at step '%s' ($%s)", step, KXL_FAULT_ENV);
	return -EIO;
}

/* Whether path names a file directly inside dir. */
static bool in_dir(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	return n && !strncmp(path, dir, n) && path[n] == '/' && !strchr(path + n + 1, '/');
}

/*
 * Examples name the installed kernel; from a build tree, or with another
 * prefix, $KXEN_GUEST_DIR (then the configured guest directory) supplies a
 * file of the same base name instead. A set $KXEN_GUEST_DIR replaces the
 * configured directory even where that holds an installed copy, so that a
 * build tree's tests run its own kernel whatever is installed.
 */
char *kxl_find_kernel(const struct kxconfig *cfg)
{
	const char *dirs[] = { getenv("KXEN_GUEST_DIR"), KXEN_GUEST_DIR };
	bool relocated = dirs[0] && *dirs[0] && in_dir(cfg->kernel, KXEN_GUEST_DIR);
	if (!relocated && access(cfg->kernel, R_OK) == 0)
		return strdup(cfg->kernel);
	int saved = relocated ? ENOENT : errno;
	char *copy = strdup(cfg->kernel);
	const char *base = copy ? basename(copy) : NULL;
	for (size_t i = 0; base && i < (relocated ? 1 : sizeof(dirs) / sizeof(dirs[0])); i++) {
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
	const char *env = getenv("KXEN_GUEST_DIR");
	if (relocated)
		kxl_err("%s:%d: <kernel>: %s is in %s, which $KXEN_GUEST_DIR replaces, and %s has no %s",
		        cfg->source, cfg->kernel_line, cfg->kernel, KXEN_GUEST_DIR, env, base ? base : "copy");
	free(copy);
	if (relocated)
		return NULL;
	kxl_err("%s:%d: <kernel>: cannot read %s: %s (also looked in %s%s%s)", cfg->source,
	        cfg->kernel_line, cfg->kernel, strerror(saved), env && *env ? env : "",
	        env && *env ? " and " : "$KXEN_GUEST_DIR (unset) and ", KXEN_GUEST_DIR);
	return NULL;
}

/* What libvirt writes that kxen takes but does otherwise: one line each, never silence. */
static void kxl_config_notes(const struct kxconfig *cfg)
{
	const char *f = cfg->source;

	if (cfg->mem_written)
		fprintf(stderr, "kxl: note: %s:%d: <memory>: %llu KiB rounded up to %llu MiB "
		        "(kxen-hv maps guest RAM in 2 MiB pages)\n", f, cfg->mem_line,
		        (unsigned long long)((cfg->mem_written + 1023) >> 10),
		        (unsigned long long)(cfg->mem_bytes >> 20));
	if (cfg->memballoon_line)
		fprintf(stderr, "kxl: note: %s:%d: <memballoon model='xen'>: nothing to add: the guest's balloon "
		        "driver follows memory/target (<currentMemory> at boot, kxl mem-set later)\n", f,
		        cfg->memballoon_line);
	if (cfg->clock_localtime)
		fprintf(stderr, "kxl: note: %s:%d: <clock>: the host's UTC offset at each start is added to "
		        "the guest's wallclock (as xl's localtime=1: it does not follow later DST changes)\n",
		        f, cfg->clock_line);
	if (cfg->e820_host_line)
		fprintf(stderr, "kxl: note: %s:%d: <e820_host state='on'>: kxen gives PV guests their own "
		        "memory map (there is no PCI passthrough): ignored\n", f, cfg->e820_host_line);
	if (cfg->passthrough_line)
		fprintf(stderr, "kxl: note: %s:%d: <passthrough state='on'>: kxen has no PCI passthrough: "
		        "ignored\n", f, cfg->passthrough_line);
	if (cfg->max_evtchns)
		fprintf(stderr, "kxl: note: %s:%d: <controller maxEventChannels='%u'>: not per domain "
		        "in kxen: every domain has the 2-level ABI's 4096 ports\n", f,
		        cfg->controller_line, cfg->max_evtchns);
	if (cfg->input_line)
		fprintf(stderr, "kxl: note: %s:%d: <input bus='xen'>: the PV keyboard/pointer (vkbd) "
		        "connects but kxen has no input source: no events are ever sent\n", f, cfg->input_line);
	for (unsigned i = 0; i < cfg->nnics; i++) {
		const char *sc = cfg->nics[i].script, *base = sc ? strrchr(sc, '/') : NULL;
		base = base ? base + 1 : sc;
		/* vif-bridge is what kxen-backd's switch does itself; any other script would be skipped. */
		if (sc && (strcmp(base, "vif-bridge") || cfg->nics[i].ethernet))
			fprintf(stderr, "kxl: note: %s:%d: <script path='%s'>: kxen-backd runs no hotplug "
			        "scripts: the vif is a port of its %s\n", f, cfg->nics[i].line, sc,
			        cfg->nics[i].ethernet ? "own switch" : "bridge's switch");
	}
}

int kxl_config_supported(const struct kxconfig *cfg)
{
	if (cfg->os_type == KXCONFIG_OS_XENPVH) {
		kxl_err("%s: guest type xenpvh is not supported by kxen-hv yet: only xenpv guests "
		        "can be created", cfg->source);
		return -ENOTSUP;
	}
	kxl_config_notes(cfg);
	return 0;
}

int kxl_check_memory(kxctrl *h, const struct kxconfig *cfg)
{
	struct kxctl_host_info hi;
	int r = kxctrl_host_info(h, &hi);
	if (r) {
		kxl_err("cannot read host memory from kxen-hv: %s", strerror(-r));
		return r;
	}
	/* Refused here with the reason, rather than by kxen-hv's create with a bare errno. */
	if (cfg->max_grant_frames > hi.max_grant_frames) {
		kxl_err("%s:%d: <controller maxGrantFrames='%u'>: more than kxen-hv's limit of %u frames "
		        "(kxen-hv --max-grant-frames)", cfg->source, cfg->controller_line, cfg->max_grant_frames,
		        hi.max_grant_frames);
		return -E2BIG;
	}
	if ((r = kxl_fault("memory")))
		hi.free_mem_bytes = 0;
	if (cfg->mem_bytes > hi.free_mem_bytes) {
		kxl_err("not enough host memory for domain '%s': it needs %llu MiB, the host has "
		        "%llu MiB free", cfg->name, (unsigned long long)(cfg->mem_bytes >> 20),
		        (unsigned long long)(hi.free_mem_bytes >> 20));
		return -ENOMEM;
	}
	return 0;
}

/*
 * libvirt's <input bus='xen'> (keyboard, mouse or both): one vkbd device,
 * as the single Xen PV device carries both. Not waited for: kxen-backd's
 * vkbd backend takes anything, and it has no input to send.
 */
static int vkbd_add_config(const struct kxconfig *cfg, uint32_t domid)
{
	struct kxl_dev d = { .type = "vkbd", .domid = domid, .devid = 0 };

	if (!cfg->input_line)
		return 0;
	if (kxl_dev_add(&d)) {
		kxl_err("%s:%d: <input>: cannot add the vkbd device", cfg->source, cfg->input_line);
		return -EIO;
	}
	return 0;
}

/* Writes the domain's standard paths and introduces it (docs/xenstore-paths.md). */
static int xenstore_hook(const struct kxconfig *cfg,
                         const struct kxbuild_result *res)
{
	struct kxl_xs_domain xd = {
		.domid = res->domid, .name = cfg->name, .uuid = cfg->uuid,
		/*
		 * <currentMemory>: a Linux kernel starts with just that (the builder's
		 * nr_pages); kxen's own starts with all and its balloon gives the rest back.
		 */
		.mem_kib = cfg->mem_bytes >> 10,
		.target_kib = (cfg->cur_mem_bytes < cfg->mem_bytes ? cfg->cur_mem_bytes : cfg->mem_bytes) >> 10,
		.vcpus = cfg->vcpus,
		.store_pfn = res->store_pfn, .console_pfn = res->console_pfn,
		.store_port = res->store_evtchn, .console_port = res->console_evtchn,
	};
	int r = kxl_fault("xenstore");

	if (r)
		return r;
	clock_gettime(CLOCK_REALTIME, &xd.start_time);
	return kxl_xs_introduce(&xd);
}

int kxl_domain_start(kxctrl *h, const struct kxconfig *cfg, const char *kernel, int paused,
                     uint32_t *domid)
{
	struct kxbuild_config bc = {
		.name = cfg->name, .uuid = cfg->uuid, .mem_bytes = cfg->mem_bytes,
		.cur_mem_bytes = cfg->cur_mem_bytes, .vcpus = cfg->vcpus, .kernel = kernel, .initrd = cfg->initrd, .cmdline = cfg->cmdline,
		.on_poweroff = kxconfig_hv_action(cfg->on_poweroff),
		.on_reboot = kxconfig_hv_action(cfg->on_reboot),
		.on_crash = kxconfig_hv_action(cfg->on_crash),
		.paused = 1,   /* started only once everything around it is in place */
		.max_grant_frames = cfg->max_grant_frames,
	};
	struct kxbuild_result res;
	char berr[KXBUILD_ERR_MAX];
	int r, saved = 0, introduced = 0;
	/* Before anything is built: no xenstore, no domain. */
	struct xs_handle *xs = kxl_xs_open();

	if (!xs)
		return -ENOTCONN;
	/* As libxl at each build: localtime is the host's UTC offset now. */
	if ((r = kxconfig_wallclock_offset(cfg, time(NULL), &bc.wallclock_offset_s))) {
		kxl_err("%s:%d: <clock>: the wallclock offset is beyond Xen's 32-bit seconds", cfg->source,
		        cfg->clock_line);
		goto out;
	}
	kxl_phase("xs-open");
	if ((r = kxl_fault("build")))
		goto out;
	if ((r = kxbuild_domain(h, &bc, &res, berr, sizeof(berr)))) {
		kxl_err("cannot create domain '%s': %s", cfg->name, berr);
		goto out;
	}
	kxl_phase("build");
	kxl_verbose("built domain %s (id=%u): start_info at 0x%llx, shared_info at 0x%llx", cfg->name,
	            res.domid, (unsigned long long)res.start_info_gpa,
	            (unsigned long long)res.shared_info_gpa);
	if ((r = kxl_fault("state")) || (r = kxl_state_save(cfg))) {
		kxl_err("cannot save the config of '%s' in %s: %s", cfg->name, kxl_state_dir(),
		        strerror(-r));
		goto fail;
	}
	saved = 1;
	kxl_phase("state");
	if ((r = xenstore_hook(cfg, &res)))
		goto fail;   /* kxl_xs_introduce removed what it wrote */
	introduced = 1;
	kxl_phase("xenstore");
	if ((r = kxl_block_add_config(xs, cfg, res.domid)) ||
	    (r = kxl_network_add_config(xs, cfg, res.domid)) || (r = vkbd_add_config(cfg, res.domid)) ||
	    (r = kxl_vcpu_apply_config(h, xs, cfg, res.domid)))
		goto fail;
	kxl_phase("devices");
	if (!paused && ((r = kxl_fault("unpause")) || (r = kxctrl_domain_unpause(h, res.domid)))) {
		kxl_err("cannot start domain '%s' (id=%u): %s", cfg->name, res.domid, strerror(-r));
		goto fail;
	}
	kxl_phase("unpause");
	*domid = res.domid;
	goto out;
fail:
	/* Nothing half-created stays: the domain (with its memory and ports), its paths and file go. */
	if (introduced)
		kxl_xs_forget(res.domid);
	kxctrl_domain_destroy(h, res.domid);
	if (saved)
		kxl_state_remove(cfg->uuid);
out:
	xs_close(xs);
	return r;
}

void kxl_domain_forget(uint32_t domid, const uint8_t *uuid)
{
	int r;

	if (uuid)
		kxl_state_remove(uuid);
	if ((r = kxl_xs_forget(domid)))
		fprintf(stderr, "kxl: warning: xenstore at %s is unreachable (%s): "
		        "/local/domain/%u is left behind\n", kxl_xs_socket_path(), strerror(-r), domid);
}

/*
 * The domain goes first: an admin must be able to kill a domain even when
 * kxenstored is down. What the toolstack keeps for it follows.
 */
int kxl_domain_teardown(kxctrl *h, uint32_t domid, const uint8_t *uuid)
{
	int r = kxctrl_domain_destroy(h, domid);

	kxl_phase("hv-destroy");
	if (r && r != -ESRCH)
		return r;
	kxl_domain_forget(domid, uuid);
	return r;
}
