/* kxl's vCPU commands: vcpu-list, vcpu-pin, vcpu-set, sched-credit, and the <vcpu>/<cputune> settings applied at create (xl_vcpu.c, xl_sched.c). */
#include <config.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xenstore.h>

#include "kxl.h"
#include "kxl_xs.h"
#include "kxen/kxconfig.h"

/* A config's CPU bitmap as kxen-hv's (its first KXCTL_CPUMAP_BITS CPUs). */
static void to_cpumap(const uint8_t *mask, uint64_t *map)
{
	memset(map, 0, KXCTL_CPUMAP_BITS / 8);
	for (unsigned c = 0; c < KXCTL_CPUMAP_BITS; c++)
		if (mask[c / 8] >> (c % 8) & 1)
			map[c / 64] |= 1ull << (c % 64);
}

void kxl_vcpu_cpumap_format(const uint64_t *map, unsigned ncpus, char *out, size_t len)
{
	if (ncpus < 1 || ncpus > KXCTL_CPUMAP_BITS)
		ncpus = KXCTL_CPUMAP_BITS;
	uint8_t mask[KXCTL_CPUMAP_BITS / 8] = { 0 };

	for (unsigned c = 0; c < KXCTL_CPUMAP_BITS; c++)
		if (map[c / 64] >> (c % 64) & 1)
			mask[c / 8] |= (uint8_t)(1u << (c % 8));
	kxconfig_cpulist_format(mask, ncpus, out, len);
}

static int pin_error(const char *dom, const char *vcpu, int r)
{
	if (r == -EINVAL)
		kxl_err("cannot pin vCPU %s of %s: no such vCPU, or the CPU list names no CPU kxen-hv may "
		        "run on", vcpu, dom);
	else
		kxl_err("cannot pin vCPU %s of %s: %s", vcpu, dom, strerror(-r));
	return r;
}

/* Writes cpu/N/availability for every vCPU and tells kxen-hv the same; 0 or -errno. */
static int set_availability(kxctrl *h, struct xs_handle *xs, uint32_t domid, unsigned vcpus,
                            unsigned online)
{
	uint64_t mask = 0;

	for (unsigned i = 0; i < vcpus; i++) {
		char path[96];
		const char *v = i < online ? "online" : "offline";
		snprintf(path, sizeof(path), "/local/domain/%u/cpu/%u/availability", domid, i);
		if (!xs_write(xs, XBT_NULL, path, v, (unsigned)strlen(v)))
			return -errno;
		if (i < online)
			mask |= 1ull << i;
	}
	return kxctrl_vcpu_avail(h, domid, mask);
}

void kxl_vcpu_plan(const struct kxconfig *cfg)
{
	if (cfg->vcpus_current != cfg->vcpus)
		printf("  vCPUs 0-%u available at boot, %u-%u offline (cpu/N/availability)\n",
		       cfg->vcpus_current - 1, cfg->vcpus_current, cfg->vcpus - 1);
	if (cfg->cpuset)
		printf("  every vCPU pinned to host CPUs %s\n", cfg->cpuset);
	for (unsigned i = 0; i < cfg->npins; i++)
		printf("  vCPU %u pinned to host CPUs %s\n", cfg->pins[i].vcpu, cfg->pins[i].cpuset);
	if (cfg->sched_weight || cfg->sched_cap)
		printf("  credit weight %u, cap %u (<cputune>)\n",
		       cfg->sched_weight ? cfg->sched_weight : KXCTL_SCHED_WEIGHT_DEFAULT, cfg->sched_cap);
}

int kxl_vcpu_apply_config(kxctrl *h, struct xs_handle *xs, const struct kxconfig *cfg, uint32_t domid)
{
	uint64_t map[KXCTL_CPUMAP_BITS / 64];
	struct kxctl_sched_credit_reply rep;
	uint32_t flags = 0;
	int r;

	if ((r = set_availability(h, xs, domid, cfg->vcpus, cfg->vcpus_current))) {
		kxl_err("%s: <vcpu current='%u'>: cannot set vCPU availability: %s", cfg->source,
		        cfg->vcpus_current, strerror(-r));
		return r;
	}
	if (cfg->cpuset) {
		to_cpumap(cfg->cpumask, map);
		if ((r = kxctrl_vcpu_affinity(h, domid, KXCTL_VCPU_ALL, map)))
			return pin_error(cfg->name, "all", r);
	}
	for (unsigned i = 0; i < cfg->npins; i++) {
		char v[16];
		snprintf(v, sizeof(v), "%u", cfg->pins[i].vcpu);
		to_cpumap(cfg->pins[i].mask, map);
		if ((r = kxctrl_vcpu_affinity(h, domid, cfg->pins[i].vcpu, map)))
			return pin_error(cfg->name, v, r);
	}
	if (cfg->sched_weight)
		flags |= KXCTL_SCHED_SET_WEIGHT;
	if (cfg->sched_cap)
		flags |= KXCTL_SCHED_SET_CAP;
	if (!flags)
		return 0;
	r = kxctrl_sched_credit(h, domid, flags, cfg->sched_weight, cfg->sched_cap, &rep);
	if (r == -EOPNOTSUPP && kxctrl_sched_credit(h, domid, 0, 0, 0, &rep) == 0)
		kxl_err("%s:%d: <cputune>: kxen-hv cannot apply CPU shares or quotas here: %s", cfg->source,
		        cfg->cputune_line, rep.why);
	else if (r)
		kxl_err("%s:%d: <cputune>: weight %u, cap %u: %s", cfg->source, cfg->cputune_line,
		        cfg->sched_weight, cfg->sched_cap, strerror(-r));
	return r;
}

int main_vcpu_pin(int argc, char **argv)
{
	int code = KXL_USAGE, r;
	kxctrl *h = NULL;
	uint32_t domid, vcpu = KXCTL_VCPU_ALL;
	uint8_t mask[KXCTL_CPUMAP_BITS / 8];
	uint64_t map[KXCTL_CPUMAP_BITS / 64];
	char err[256], *end;

	if (kxl_getopt(argc, argv, "f", &code) != -1)
		return code;
	if (argc - optind < 3 || argc - optind > 4)
		return kxl_usage_error(argv[0], argc - optind < 3 ? "expected DOM VCPU CPUS" : "too many arguments");
	const char *dom = argv[optind], *v = argv[optind + 1], *cpus = argv[optind + 2];
	const char *soft = argc - optind == 4 ? argv[optind + 3] : NULL;
	if (soft && strcmp(soft, "-") && strcmp(soft, "all"))
		return kxl_usage_error(argv[0], "soft affinity must be - or all: the host scheduler has "
		                       "only hard affinity");
	if (strcmp(v, "all")) {
		unsigned long n = strtoul(v, &end, 10);
		if (!*v || *end || n >= KXEN_PV_MAX_VCPUS)
			return kxl_usage_error(argv[0], "VCPU must be a vCPU number or all");
		vcpu = (uint32_t)n;
	}
	if (!strcmp(cpus, "-"))
		cpus = "all";
	if (kxconfig_cpulist(cpus, mask, KXCTL_CPUMAP_BITS, err, sizeof(err))) {
		snprintf(err + strlen(err), sizeof(err) - strlen(err), " (CPUS)");
		return kxl_usage_error(argv[0], err);
	}
	if (kxl_connect(&h))
		return KXL_FAIL;
	r = kxl_lookup(h, dom, &domid);
	if (!r) {
		to_cpumap(mask, map);
		if ((r = kxctrl_vcpu_affinity(h, domid, vcpu, map)))
			pin_error(dom, v, r);
	}
	kxctrl_close(h);
	return r ? KXL_FAIL : KXL_OK;
}

int main_vcpu_set(int argc, char **argv)
{
	int code = KXL_USAGE, r;
	kxctrl *h = NULL;
	struct xs_handle *xs = NULL;
	struct kxctl_dominfo info;
	uint32_t domid;
	char *end;

	if (kxl_getopt(argc, argv, "", &code) != -1)
		return code;
	if (argc - optind != 2)
		return kxl_usage_error(argv[0], argc - optind < 2 ? "expected DOM N" : "too many arguments");
	const char *dom = argv[optind], *num = argv[optind + 1];
	unsigned long n = strtoul(num, &end, 10);
	if (!*num || *end || n < 1)
		return kxl_usage_error(argv[0], "N must be a number of vCPUs, at least 1");
	if (kxl_connect(&h))
		return KXL_FAIL;
	if ((r = kxl_lookup(h, dom, &domid)) || (r = kxctrl_domain_info(h, domid, &info)))
		goto out;
	if (n > info.nr_vcpus) {
		kxl_err("%s has %u vCPUs at most (<vcpu>): cannot set %lu", dom, info.nr_vcpus, n);
		r = -EINVAL;
		goto out;
	}
	if (!(xs = kxl_xs_open())) {
		r = -ENOTCONN;
		goto out;
	}
	if ((r = set_availability(h, xs, domid, info.nr_vcpus, (unsigned)n))) {
		kxl_err("cannot set the vCPUs of %s: %s", dom, strerror(-r));
		goto out;
	}
	/*
	 * kxen-hv only refuses VCPUOP_up: taking vCPUs down, or up again later, is the guest's move.
	 * Linux's xenbus watch does it now (a CPU it gets back is present, and onlined by user space
	 * writing cpuN/online, as under Xen); kxen's own kernel only at its next boot.
	 */
	if (info.flags & KXCTL_DOMF_PVLINUX)
		printf("%s: cpu/N/availability now says %lu of %u vCPUs; Linux takes CPUs away at once, and "
		       "a CPU given back comes online when the guest writes 1 to "
		       "/sys/devices/system/cpu/cpuN/online.\n", dom, n, info.nr_vcpus);
	else if (info.nr_online_vcpus != n)
		printf("%s: cpu/N/availability now says %lu of %u vCPUs; %u are online. kxen's own guest "
		       "kernel does not hot-plug vCPUs: it brings up only available vCPUs at boot, so "
		       "the new count applies from the next boot.\n", dom, n, info.nr_vcpus,
		       info.nr_online_vcpus);
out:
	if (xs)
		xs_close(xs);
	kxctrl_close(h);
	return r ? KXL_FAIL : KXL_OK;
}

static int credit_row(kxctrl *h, const struct kxctl_dominfo *d, int header, uint32_t flags,
                      unsigned weight, unsigned cap)
{
	struct kxctl_sched_credit_reply rep;
	int r = kxctrl_sched_credit(h, d->domid, flags, weight, cap, &rep);

	if (r == -EOPNOTSUPP && kxctrl_sched_credit(h, d->domid, 0, 0, 0, &rep) == 0) {
		kxl_err("cannot set the weight or cap of %s: kxen-hv has no writable cgroup for the host "
		        "scheduler: %s", d->name, rep.why);
		return r;
	}
	if (r) {
		kxl_err("cannot %s the credit parameters of %s: %s", flags ? "set" : "read", d->name,
		        r == -EINVAL ? "weight must be 1-65535 and cap 0-100 per vCPU" : strerror(-r));
		return r;
	}
	if (flags)
		return 0;   /* xl prints nothing when it sets */
	if (header) {
		if (rep.backend)
			printf("Cpupool Pool-0: host scheduler, cgroup %s under %.*s\n",
			       rep.backend == KXCTL_SCHED_CGROUP2 ? "v2" : "v1",
			       (int)(strrchr(rep.group, '/') ? strrchr(rep.group, '/') - rep.group : 0), rep.group);
		else
			printf("Cpupool Pool-0: host scheduler, no cgroup (weights and caps not applied: %s)\n",
			       rep.why);
		printf("%-33s %4s %6s %4s\n", "Name", "ID", "Weight", "Cap");
	}
	printf("%-33.*s %4u %6u %4u\n", (int)sizeof(d->name), d->name, d->domid, rep.weight, rep.cap);
	return 0;
}

int main_sched_credit(int argc, char **argv)
{
	int code = KXL_USAGE, o, r = 0;
	const char *dom = NULL;
	uint32_t flags = 0, domid;
	unsigned long weight = 0, cap = 0;
	kxctrl *h = NULL;
	struct kxctl_dominfo *all = NULL, one;
	unsigned n = 0;
	char *end;

	while ((o = kxl_getopt(argc, argv, "d:w:c:", &code)) != -1) {
		if (o == KXL_OPT_EXIT)
			return code;
		if (o == 'd') {
			dom = optarg;
		} else if (o == 'w') {
			weight = strtoul(optarg, &end, 10);
			if (!*optarg || *end || weight < 1 || weight > KXCTL_SCHED_WEIGHT_MAX)
				return kxl_usage_error(argv[0], "WEIGHT must be between 1 and 65535");
			flags |= KXCTL_SCHED_SET_WEIGHT;
		} else if (o == 'c') {
			cap = strtoul(optarg, &end, 10);
			if (!*optarg || *end || cap > 100u * KXEN_PV_MAX_VCPUS)
				return kxl_usage_error(argv[0], "CAP must be a percentage of one CPU (0 = no cap)");
			flags |= KXCTL_SCHED_SET_CAP;
		}
	}
	if (optind != argc)
		return kxl_usage_error(argv[0], "too many arguments");
	if (flags && !dom)
		return kxl_usage_error(argv[0], "-w and -c need -d DOMAIN");
	if (kxl_connect(&h))
		return KXL_FAIL;
	if (dom) {
		if (!(r = kxl_lookup(h, dom, &domid)) && !(r = kxctrl_domain_info(h, domid, &one)))
			r = credit_row(h, &one, 1, flags, (unsigned)weight, (unsigned)cap);
	} else if ((r = kxctrl_domain_list(h, &all, &n))) {
		kxl_err("cannot list domains: %s", strerror(-r));
	} else {
		int header = 1;
		for (unsigned i = 0; i < n; i++) {
			if (all[i].domid == 0)
				continue;   /* dom0 is the host itself: no group, nothing to weigh */
			if (!credit_row(h, &all[i], header, 0, 0, 0))
				header = 0;
		}
		if (header)
			printf("%-33s %4s %6s %4s\n", "Name", "ID", "Weight", "Cap");
	}
	free(all);
	kxctrl_close(h);
	return r ? KXL_FAIL : KXL_OK;
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
	ret = kxl_listed_doms(h, argc, argv, &all, &n);
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
			kxl_vcpu_cpumap_format(v[i].cpumap, hi.nr_cpus, hard, sizeof(hard));
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
