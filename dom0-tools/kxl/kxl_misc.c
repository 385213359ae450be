/* kxl rename, dumpxml, mem-max, mem-set and dump-core: commands on one domain that fit no other file (xl_misc.c). */
#include <config.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xenstore.h>
#include "kxl.h"
#include "kxen/kxconfig.h"
#include "kxen/domname.h"
#include "kxl_xs.h"

/* Linux needs its kernel, page tables and initramfs: xen-balloon would OOM it below this. */
#define MEM_SET_FLOOR (64ull << 20)

int main_rename(int argc, char **argv)
{
	kxctrl *h = NULL;
	struct kxctl_dominfo info, other;
	struct kxconfig *cfg = NULL;
	char err[1024];
	uint32_t id;
	int r = kxl_dom_command(argc, argv, 2, "expected DOM NEWNAME", &h, &info);
	if (r >= 0)
		return r;
	const char *name = argv[optind + 1];
	r = KXL_FAIL;
	/* The same rules as <name>, so the saved config stays loadable. */
	if (kxen_domname_check(name, NULL) != KXEN_DOMNAME_OK) {
		kxl_err("'%s' is not a valid domain name: 1 to %d " KXEN_DOMNAME_RULE, name,
		        KXCTL_NAME_MAX - 1);
		goto out;
	}
	if (kxctrl_domain_lookup(h, name, &id) == 0 && kxctrl_domain_info(h, id, &other) == 0 &&
	    !strncmp(other.name, name, sizeof(other.name))) {
		kxl_err("a domain named '%s' already exists (id=%u)", name, id);
		goto out;
	}
	if (kxl.dry_run) {
		printf("Would rename domain %.*s (id=%u) to %s\n", (int)sizeof(info.name), info.name,
		       info.domid, name);
		r = KXL_OK;
		goto out;
	}
	int e = kxctrl_domain_rename(h, info.domid, name);
	if (e) {
		kxl_err("cannot rename domain %.*s (id=%u): %s", (int)sizeof(info.name), info.name,
		        info.domid, strerror(-e));
		goto out;
	}
	if (kxl_state_load(info.uuid, &cfg, err, sizeof(err)) == 0) {
		free(cfg->name);
		cfg->name = strdup(name);
		if (!cfg->name || kxl_state_save(cfg))
			kxl_err("warning: renamed, but could not update the saved config");
	}
	r = KXL_OK;
out:
	kxconfig_free(cfg);
	kxctrl_close(h);
	return r;
}

int main_dumpxml(int argc, char **argv)
{
	kxctrl *h = NULL;
	struct kxctl_dominfo info;
	struct kxconfig *cfg = NULL;
	char err[1024];
	int r = kxl_dom_command(argc, argv, 1, "missing DOM", &h, &info);
	if (r >= 0)
		return r;
	r = KXL_FAIL;
	int e = kxl_state_load(info.uuid, &cfg, err, sizeof(err));
	if (e == -ENOENT) {
		kxl_err("domain %.*s (id=%u) was not created by kxl: no saved config in %s",
		        (int)sizeof(info.name), info.name, info.domid, kxl_state_dir());
		goto out;
	}
	if (e) {
		kxl_err("%s", err);
		goto out;
	}
	cfg->live_domid = (int)info.domid;   /* <domain id='N'>, as libvirt's live XML */
	kxconfig_format(cfg, stdout);
	r = KXL_OK;
out:
	kxconfig_free(cfg);
	kxctrl_close(h);
	return r;
}

/* xl's size syntax: a number with an optional k/m/g/t suffix, unit dflt ("" = KiB) without one; 0 or -errno. */
static int parse_size(const char *v, const char *dflt, uint64_t *bytes)
{
	size_t l = strlen(v);
	char num[32], unit[2] = "";
	snprintf(num, sizeof(num), "%s", v);
	if (l && strchr("kKmMgGtTbB", v[l - 1])) {
		unit[0] = v[l - 1];
		num[l - 1 < sizeof(num) ? l - 1 : sizeof(num) - 1] = '\0';
	}
	return kxconfig_scale(num, unit[0] ? unit : dflt, bytes);
}

int main_mem_max(int argc, char **argv)
{
	int r = kxl_args(argc, argv, 2, "expected DOM SIZE");
	kxctrl *h = NULL;
	struct kxctl_dominfo info;
	uint64_t bytes;
	if (r >= 0)
		return r;
	if (parse_size(argv[optind + 1], "", &bytes))
		return kxl_usage_error("mem-max", "SIZE must be a number with an optional k, m, g or t suffix");
	r = KXL_FAIL;
	if (kxl_open_dom(argv[optind], &h, &info))
		goto out;
	if (bytes == info.mem_bytes) {
		r = KXL_OK;
		goto out;
	}
	/* The maximum is fixed at creation (the balloon only moves below it); say so rather than pretend. */
	kxl_err("cannot set the memory limit of domain %.*s to %llu MiB: kxen-hv fixes a domain's "
	        "maximum (%llu MiB) at creation; kxl mem-set moves the balloon target below it", (int)sizeof(info.name),
	        info.name, (unsigned long long)(bytes >> 20), (unsigned long long)(info.mem_bytes >> 20));
out:
	kxctrl_close(h);
	return r;
}

/* The domain's maximum in bytes: memory/static-max (KiB, kxl writes it at create), else kxen-hv's size. */
static uint64_t static_max(struct xs_handle *xs, const struct kxctl_dominfo *info)
{
	char path[64];
	unsigned len;
	snprintf(path, sizeof(path), "/local/domain/%u/memory/static-max", info->domid);
	char *v = xs_read(xs, XBT_NULL, path, &len);
	unsigned long long kib = v ? strtoull(v, NULL, 10) : 0;
	free(v);
	return kib ? kib << 10 : info->mem_bytes;
}

/*
 * Whether anything in the domain follows memory/target: Linux's xen-balloon
 * (it writes no key of its own: kxen-hv's kernel kind says it is there), or
 * a guest that advertised control/feature-balloon (kxen's own kernel does).
 */
static bool has_balloon(struct xs_handle *xs, const struct kxctl_dominfo *info)
{
	char path[64];
	unsigned len;

	if (info->flags & KXCTL_DOMF_PVLINUX)
		return true;
	snprintf(path, sizeof(path), "/local/domain/%u/control/feature-balloon", info->domid);
	char *v = xs_read(xs, XBT_NULL, path, &len);
	bool yes = v && !strcmp(v, "1");
	free(v);
	return yes;
}

int main_mem_set(int argc, char **argv)
{
	int r = kxl_args(argc, argv, 2, "expected DOM SIZE");
	kxctrl *h = NULL;
	struct xs_handle *xs = NULL;
	struct kxctl_dominfo info;
	uint64_t bytes, max;
	char path[64], val[32];
	if (r >= 0)
		return r;
	if (parse_size(argv[optind + 1], "m", &bytes))
		return kxl_usage_error("mem-set", "SIZE must be a number (MiB) with an optional k, m, g or t suffix");
	r = KXL_FAIL;
	if (kxl_open_dom(argv[optind], &h, &info))
		goto out;
	if (!(xs = kxl_xs_open()))
		goto out;
	if (!has_balloon(xs, &info)) {
		kxl_err("domain %.*s has no balloon driver (not a Linux guest, and no control/feature-balloon): "
		        "nothing would follow the target; its memory stays %llu MiB, memory/target left unchanged",
		        (int)sizeof(info.name), info.name, (unsigned long long)(info.mem_bytes >> 20));
		goto out;
	}
	max = static_max(xs, &info);
	if (bytes > max || bytes < MEM_SET_FLOOR) {
		kxl_err("cannot set the memory of domain %.*s to %llu KiB: it must lie between %llu MiB and its "
		        "maximum, %llu MiB", (int)sizeof(info.name), info.name,
		        (unsigned long long)(bytes >> 10), MEM_SET_FLOOR >> 20, (unsigned long long)(max >> 20));
		goto out;
	}
	snprintf(path, sizeof(path), "/local/domain/%u/memory/target", info.domid);
	snprintf(val, sizeof(val), "%llu", (unsigned long long)(bytes >> 10));
	if (!xs_write(xs, XBT_NULL, path, val, (unsigned)strlen(val))) {
		kxl_err("cannot write %s: %s", path, strerror(errno));
		goto out;
	}
	r = KXL_OK;
out:
	if (xs)
		xs_close(xs);
	kxctrl_close(h);
	return r;
}

int main_dump_core(int argc, char **argv)
{
	kxctrl *h = NULL;
	struct kxctl_dominfo info;
	char err[512];
	int r = kxl_dom_command(argc, argv, 2, "expected DOM FILE", &h, &info);
	if (r >= 0)
		return r;
	r = KXL_FAIL;
	int was_paused = info.flags & (KXCTL_DOMF_PAUSED | KXCTL_DOMF_SHUTDOWN | KXCTL_DOMF_CRASHED);
	/* The vCPUs must be out of the guest to read their registers: pause, as xl does. */
	if (!was_paused && kxctrl_domain_pause(h, info.domid)) {
		kxl_err("cannot pause domain %u to dump it", info.domid);
		goto out;
	}
	int e = kxl_core_dump(h, info.domid, argv[optind + 1], err, sizeof(err));
	if (!was_paused)
		kxctrl_domain_unpause(h, info.domid);
	if (e) {
		kxl_err("cannot dump domain %.*s (id=%u): %s", (int)sizeof(info.name), info.name,
		        info.domid, err);
		goto out;
	}
	r = KXL_OK;
out:
	kxctrl_close(h);
	return r;
}
