/* kxl info, uptime, domid, domname, rename, dumpxml, vcpu-list, mem-max, dump-core. */
#include <config.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "kxl.h"
#include "kxconfig.h"
#include "kxen/domname.h"

/* Commands taking exactly n arguments and no options. */
static int args(int argc, char **argv, int n, const char *what)
{
	int code = KXL_USAGE;
	if (kxl_getopt(argc, argv, "", &code) != -1)
		return code;
	if (argc - optind != n)
		return kxl_usage_error(argv[0], argc - optind < n ? what : "too many arguments");
	return -1;
}

int main_info(int argc, char **argv)
{
	int r = args(argc, argv, 0, "");
	kxctrl *h = NULL;
	struct kxctl_host_info hi;
	if (r >= 0)
		return r;
	if (kxl_connect(&h))
		return KXL_FAIL;
	r = kxctrl_host_info(h, &hi);
	kxctrl_close(h);
	if (r) {
		kxl_err("cannot read host information from kxen-hv: %s", strerror(-r));
		return KXL_FAIL;
	}
	printf("host                   : kxen-hv on Linux KVM\n");
	printf("nr_cpus                : %u\n", hi.nr_cpus);
	printf("cpu_mhz                : %llu\n", (unsigned long long)(hi.cpu_khz / 1000));
	printf("total_memory           : %llu\n", (unsigned long long)(hi.total_mem_bytes >> 20));
	printf("free_memory            : %llu\n", (unsigned long long)(hi.free_mem_bytes >> 20));
	printf("domain_memory          : %llu\n", (unsigned long long)(hi.domain_mem_bytes >> 20));
	printf("nr_domains             : %u\n", hi.nr_domains);
	printf("hypervisor_version     : %.*s\n", (int)sizeof(hi.version), hi.version);
	printf("kvm                    : %.*s\n", (int)sizeof(hi.kvm_info), hi.kvm_info);
	printf("kxl_version            : %s\n", PACKAGE_VERSION);
	printf("control_interface      : %d\n", KXCTL_VERSION);
	return KXL_OK;
}

/* The domain DOM names, connected; prints why not and returns nonzero on failure. */
static int open_dom(const char *dom, kxctrl **h, struct kxctl_dominfo *info)
{
	uint32_t domid;
	int r;
	if (kxl_connect(h))
		return -1;
	if (kxl_lookup(*h, dom, &domid))
		return -1;
	if ((r = kxctrl_domain_info(*h, domid, info))) {
		kxl_err("cannot query domain '%s': %s", dom, strerror(-r));
		return -1;
	}
	return 0;
}

/*
 * The start of a command on one domain: exactly n arguments (what: the
 * usage error when too few), the first a DOM, connected and its info read.
 * -1 to go on with *h open; otherwise the exit code, with *h closed.
 */
static int dom_command(int argc, char **argv, int n, const char *what, kxctrl **h,
                       struct kxctl_dominfo *info)
{
	int r = args(argc, argv, n, what);
	if (r >= 0)
		return r;
	if (open_dom(argv[optind], h, info)) {
		kxctrl_close(*h);
		*h = NULL;
		return KXL_FAIL;
	}
	return -1;
}

/*
 * The domains a listing command shows: all of them without arguments,
 * else each DOM named in argv[optind..]. *all is malloc'd (free it) even
 * when something failed; KXL_OK, or KXL_FAIL after saying what failed.
 */
static int listed_doms(kxctrl *h, int argc, char **argv, struct kxctl_dominfo **all, unsigned *n)
{
	int ret = KXL_OK;
	*all = NULL;
	*n = 0;
	if (optind == argc) {
		int r = kxctrl_domain_list(h, all, n);
		if (r) {
			kxl_err("cannot list domains: %s", strerror(-r));
			ret = KXL_FAIL;
		}
		return ret;
	}
	*all = calloc((size_t)(argc - optind), sizeof(**all));
	if (!*all) {
		kxl_err("cannot list domains: %s", strerror(ENOMEM));
		return KXL_FAIL;
	}
	for (int i = optind; i < argc; i++) {
		uint32_t id;
		if (kxl_lookup(h, argv[i], &id) || kxctrl_domain_info(h, id, &(*all)[*n])) {
			ret = KXL_FAIL;
			continue;
		}
		(*n)++;
	}
	return ret;
}

int main_domid(int argc, char **argv)
{
	kxctrl *h = NULL;
	struct kxctl_dominfo info;
	int r = dom_command(argc, argv, 1, "missing DOM name", &h, &info);
	if (r >= 0)
		return r;
	printf("%u\n", info.domid);
	kxctrl_close(h);
	return KXL_OK;
}

int main_domname(int argc, char **argv)
{
	kxctrl *h = NULL;
	struct kxctl_dominfo info;
	int r = dom_command(argc, argv, 1, "missing DOMID", &h, &info);
	if (r >= 0)
		return r;
	printf("%.*s\n", (int)sizeof(info.name), info.name);
	kxctrl_close(h);
	return KXL_OK;
}

static void print_uptime(const struct kxctl_dominfo *d, double now)
{
	double up = now - (double)d->created_ns / 1e9;
	long s = up > 0 ? (long)up : 0;
	char buf[32];
	if (s >= 86400)
		snprintf(buf, sizeof(buf), "%ld days, %2ld:%02ld:%02ld", s / 86400, s % 86400 / 3600,
		         s % 3600 / 60, s % 60);
	else
		snprintf(buf, sizeof(buf), "%2ld:%02ld:%02ld", s / 3600, s % 3600 / 60, s % 60);
	printf("%-32.*s %5u %s\n", (int)sizeof(d->name), d->name, d->domid, buf);
}

int main_uptime(int argc, char **argv)
{
	int code = KXL_USAGE, ret;
	kxctrl *h = NULL;
	struct kxctl_dominfo *all;
	unsigned n;
	struct timespec ts;
	if (kxl_getopt(argc, argv, "", &code) != -1)
		return code;
	if (kxl_connect(&h))
		return KXL_FAIL;
	clock_gettime(CLOCK_REALTIME, &ts);
	double now = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
	printf("%-32s %5s %s\n", "Name", "ID", "Uptime");
	ret = listed_doms(h, argc, argv, &all, &n);
	for (unsigned i = 0; i < n; i++)
		print_uptime(&all[i], now);
	free(all);
	kxctrl_close(h);
	return ret;
}

int main_rename(int argc, char **argv)
{
	kxctrl *h = NULL;
	struct kxctl_dominfo info, other;
	struct kxconfig *cfg = NULL;
	char err[1024];
	uint32_t id;
	int r = dom_command(argc, argv, 2, "expected DOM NEWNAME", &h, &info);
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
	int r = dom_command(argc, argv, 1, "missing DOM", &h, &info);
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

int main_vcpu_list(int argc, char **argv)
{
	int code = KXL_USAGE, ret;
	kxctrl *h = NULL;
	struct kxctl_dominfo *all;
	unsigned n;
	if (kxl_getopt(argc, argv, "", &code) != -1)
		return code;
	if (kxl_connect(&h))
		return KXL_FAIL;
	ret = listed_doms(h, argc, argv, &all, &n);
	struct kxctl_host_info hi = { .nr_cpus = 0 };
	kxctrl_host_info(h, &hi);   /* without it, affinity is shown over kxen-hv's whole map */
	printf("%-32s %5s %5s %5s %5s %9s %s\n", "Name", "ID", "VCPU", "CPU", "State", "Time(s)",
	       "Affinity (Hard / Soft)");
	for (unsigned d = 0; d < n; d++) {
		struct kxctl_vcpuinfo v[32];
		unsigned nv = 0;
		if (kxctrl_vcpu_info(h, all[d].domid, v, 32, &nv))
			continue;
		for (unsigned i = 0; i < nv; i++) {
			char aff[96], hard[80];
			kxl_cpumap_format(v[i].cpumap, hi.nr_cpus, hard, sizeof(hard));
			snprintf(aff, sizeof(aff), "%s / all", hard);
			const char *st = !v[i].online ? "---" : v[i].running ? "-r-" : v[i].blocked ? "-b-" : "r--";
			if (all[d].flags & KXCTL_DOMF_PAUSED)
				st = "--p";
			printf("%-32.*s %5u %5u %5s %5s %9.1f %s\n", (int)sizeof(all[d].name), all[d].name,
			       all[d].domid, v[i].vcpu, "-", st, (double)v[i].cpu_ns / 1e9, aff);
		}
	}
	free(all);
	kxctrl_close(h);
	return ret;
}

int main_mem_max(int argc, char **argv)
{
	int r = args(argc, argv, 2, "expected DOM SIZE");
	kxctrl *h = NULL;
	struct kxctl_dominfo info;
	uint64_t bytes;
	if (r >= 0)
		return r;
	const char *v = argv[optind + 1];
	size_t l = strlen(v);
	/* xl's syntax: a number with an optional k/m/g/t suffix, KiB without one. */
	char num[32], unit[2] = "";
	snprintf(num, sizeof(num), "%s", v);
	if (l && strchr("kKmMgGtTbB", v[l - 1])) {
		unit[0] = v[l - 1];
		num[l - 1 < sizeof(num) ? l - 1 : sizeof(num) - 1] = '\0';
	}
	if (kxconfig_scale(num, unit, &bytes))
		return kxl_usage_error("mem-max", "SIZE must be a number with an optional k, m, g or t suffix");
	r = KXL_FAIL;
	if (open_dom(argv[optind], &h, &info))
		goto out;
	if (bytes == info.mem_bytes) {
		r = KXL_OK;
		goto out;
	}
	/* Without a balloon, RAM is fixed at creation; say so rather than pretend. */
	kxl_err("cannot set the memory limit of domain %.*s to %llu MiB: kxen-hv fixes a domain's "
	        "memory (%llu MiB) at creation and has no balloon yet", (int)sizeof(info.name),
	        info.name, (unsigned long long)(bytes >> 20), (unsigned long long)(info.mem_bytes >> 20));
out:
	kxctrl_close(h);
	return r;
}

int main_dump_core(int argc, char **argv)
{
	kxctrl *h = NULL;
	struct kxctl_dominfo info;
	char err[512];
	int r = dom_command(argc, argv, 2, "expected DOM FILE", &h, &info);
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
