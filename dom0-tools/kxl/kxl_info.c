/* kxl list, info, uptime, domid, domname and dmesg: read-only views of the host, its domains and the hypervisor's log (xl_info.c). */
#include <config.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <stdint.h>   /* the Xen headers assume it */
#include <xen/xen.h>
#include <xen/sched.h>
#include "kxl.h"

#define DMESG_POLL_MS 200

/* xl's six state letters, '-' for each flag that is clear. */
static void state_string(uint32_t flags, char out[7])
{
	static const char letters[] = "rbpscd";
	static const uint32_t bits[] = { KXCTL_DOMF_RUNNING, KXCTL_DOMF_BLOCKED, KXCTL_DOMF_PAUSED,
	                                 KXCTL_DOMF_SHUTDOWN, KXCTL_DOMF_CRASHED, KXCTL_DOMF_DYING };
	for (int i = 0; i < 6; i++)
		out[i] = flags & bits[i] ? letters[i] : '-';
	out[6] = '\0';
}

static const char *reason_name(uint32_t r)
{
	static const char *const names[] = { "poweroff", "reboot", "suspend", "crash", "watchdog",
	                                     "soft_reset" };
	return r <= SHUTDOWN_MAX ? names[r] : "unknown";
}

static void print_header(void)
{
	printf("%-32s %5s %7s %5s %6s %9s\n", "Name", "ID", "Mem", "VCPUs", "State", "Time(s)");
}

static void print_row(const struct kxctl_dominfo *d, int lng)
{
	char state[7], uuid[37], when[64] = "?";
	state_string(d->flags, state);
	printf("%-32.*s %5u %7llu %5u %6s %9.1f\n", (int)sizeof(d->name), d->name, d->domid,
	       (unsigned long long)(d->mem_bytes >> 20), d->nr_online_vcpus, state,
	       (double)d->cpu_ns / 1e9);
	if (!lng)
		return;
	/* uuid_unparse-style text without pulling in libuuid */
	const uint8_t *u = d->uuid;
	snprintf(uuid, sizeof(uuid), "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
	         u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13],
	         u[14], u[15]);
	time_t t = (time_t)(d->created_ns / 1000000000ull);
	struct tm tm;
	if (localtime_r(&t, &tm))
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
	printf("    uuid %s\n    created %s, vcpus %u of %u online\n", uuid, when, d->nr_online_vcpus,
	       d->nr_vcpus);
	if (d->flags & (KXCTL_DOMF_SHUTDOWN | KXCTL_DOMF_CRASHED))
		printf("    shutdown reason %s\n", reason_name(d->shutdown_reason));
	printf("    exits %llu, hypercalls %llu, events %llu, kicks %llu\n", (unsigned long long)d->exits,
	       (unsigned long long)d->hypercalls, (unsigned long long)d->events, (unsigned long long)d->kicks);
	printf("    evtchn sends: %llu by exit (%llu doorbell misses), %llu by doorbell to guests; "
	       "doorbells: %u to dom0, %u to guests\n", (unsigned long long)d->sends_exit,
	       (unsigned long long)d->sends_doorbell_miss, (unsigned long long)d->sends_doorbell_guest,
	       d->doorbells_dom0, d->doorbells_guest);
}

int main_list(int argc, char **argv)
{
	int opt, code = KXL_USAGE, lng = 0, ret = KXL_FAIL;
	kxctrl *h = NULL;
	struct kxctl_dominfo *all = NULL;
	unsigned n = 0;

	while ((opt = kxl_getopt(argc, argv, "l", &code)) != -1) {
		if (opt != 'l')
			return code;
		lng = 1;
	}
	if (kxl_connect(&h))
		goto out;
	/* Named domains: show those that exist, fail if any does not. */
	ret = kxl_listed_doms(h, argc, argv, &all, &n);
	if (ret != KXL_OK && optind == argc)
		goto out;
	print_header();
	for (unsigned i = 0; i < n; i++)
		print_row(&all[i], lng);
out:
	free(all);
	kxctrl_close(h);
	return ret;
}

int main_dmesg(int argc, char **argv)
{
	int opt, code = KXL_USAGE, follow = 0, ret = KXL_FAIL;
	kxctrl *h = NULL;
	uint64_t cursor = 0, lost = 0;
	static char buf[16384];
	struct timespec pause = { 0, DMESG_POLL_MS * 1000000L };

	while ((opt = kxl_getopt(argc, argv, "f", &code)) != -1) {
		if (opt != 'f')
			return code;
		follow = 1;
	}
	if (optind != argc)
		return kxl_usage_error("dmesg", "takes no arguments");
	if (kxl_connect(&h))
		goto out;
	for (;;) {
		size_t got = 0;
		int r = kxctrl_log_read(h, &cursor, buf, sizeof(buf), &got, &lost);
		if (r) {
			kxl_err("cannot read the hypervisor log: %s", strerror(-r));
			goto out;
		}
		if (lost)
			fprintf(stderr, "kxl: %llu bytes of log were overwritten before they could be read\n",
			        (unsigned long long)lost);
		fwrite(buf, 1, got, stdout);
		if (got)
			continue;
		if (!follow)
			break;
		/* No blocking read on the socket yet: poll, flushing so a pipe sees lines promptly. */
		fflush(stdout);
		nanosleep(&pause, NULL);
	}
	ret = KXL_OK;
out:
	kxctrl_close(h);
	return ret;
}

int main_info(int argc, char **argv)
{
	int r = kxl_args(argc, argv, 0, "");
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

int main_domid(int argc, char **argv)
{
	kxctrl *h = NULL;
	struct kxctl_dominfo info;
	int r = kxl_dom_command(argc, argv, 1, "missing DOM name", &h, &info);
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
	int r = kxl_dom_command(argc, argv, 1, "missing DOMID", &h, &info);
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
	ret = kxl_listed_doms(h, argc, argv, &all, &n);
	for (unsigned i = 0; i < n; i++)
		print_uptime(&all[i], now);
	free(all);
	kxctrl_close(h);
	return ret;
}
