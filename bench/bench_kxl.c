/* bench_kxl: `kxl list` and `kxl create` latency with 1, 100 and 500 idle guests running. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"
#include "kxen/kxbuild.h"

#define PROG "bench_kxl"
#define SAMPLES 20
#define MAX_GUESTS 500

static const unsigned levels[] = { 1, 100, 500 };
static char kxl[4096], state_dir[400], xml_plain[400], xml_mon[400];

/* Runs argv with stdout and stderr to /dev/null; returns its wall time in ms, or -1. */
static double run_ms(char *const argv[])
{
	uint64_t t0 = bench_now_ns();
	pid_t pid = fork();
	if (pid == 0) {
		int fd = open("/dev/null", O_WRONLY);
		dup2(fd, 1);
		dup2(fd, 2);
		execv(argv[0], argv);
		_exit(127);
	}
	int st;
	if (pid < 0 || waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st))
		return -1;
	return (double)(bench_now_ns() - t0) / 1e6;
}

static int write_xml(const char *path, const char *name, int monitor)
{
	FILE *f = fopen(path, "w");
	if (!f)
		return -errno;
	/* on_reboot restart (libvirt's default) makes kxl leave a monitor behind. */
	fprintf(f, "<domain type='kxen'>\n  <name>%s</name>\n  <memory unit='MiB'>4</memory>\n"
	        "  <vcpu>1</vcpu>\n  <os>\n    <type>xenpv</type>\n    <kernel>%s</kernel>\n"
	        "    <cmdline>idle</cmdline>\n  </os>\n  <on_reboot>%s</on_reboot>\n</domain>\n",
	        name, bench_guest_kernel(), monitor ? "restart" : "destroy");
	return fclose(f) ? -errno : 0;
}

static void stats(const char *what, unsigned n, double *v, size_t k, double base)
{
	bench_sort(v, k);
	double med = bench_quantile(v, k, 0.5), p90 = bench_quantile(v, k, 0.9);
	printf("  %-34s %4u guests: median %7.2f ms, p90 %7.2f ms, %.1f x fork+exec of true\n", what,
	       n, med, p90, med / base);
	printf("RESULT %s_%u_median_ms=%.2f\n", what, n, med);
}

/* One create through kxl, then destroy through the library (not timed). */
static double create_once(const char *xml)
{
	char *argv[] = { kxl, (char *)"create", (char *)xml, NULL };
	double ms = run_ms(argv);
	uint32_t id;
	if (kxctrl_domain_lookup(bench_hv.h, "bk-probe", &id) == 0)
		kxctrl_domain_destroy(bench_hv.h, id);
	return ms;
}

int main(int argc, char **argv)
{
	uint32_t *ids = calloc(MAX_GUESTS, sizeof(*ids));
	unsigned have = 0;
	(void)argc;
	(void)argv;
	bench_require_kvm(PROG);
	bench_start_hv(PROG);
	bench_start_xenstored(PROG);   /* kxl create introduces domains */
	bench_path(kxl, sizeof(kxl), "dom0-tools/kxl/kxl");
	if (access(kxl, X_OK) || !ids) {
		fprintf(stderr, "%s: %s is not built\n", PROG, kxl);
		return 1;
	}
	/* kxl must use the private daemon and state directory, never the system's. */
	snprintf(state_dir, sizeof(state_dir), "%s/state", bench_hv.dir);
	snprintf(xml_plain, sizeof(xml_plain), "%s/plain.xml", bench_hv.dir);
	snprintf(xml_mon, sizeof(xml_mon), "%s/monitor.xml", bench_hv.dir);
	setenv("KXEN_HV_SOCKET", bench_hv.sock, 1);
	setenv("KXEN_STATE_DIR", state_dir, 1);
	if (write_xml(xml_plain, "bk-probe", 0) || write_xml(xml_mon, "bk-probe", 1)) {
		fprintf(stderr, "%s: cannot write configs in %s\n", PROG, bench_hv.dir);
		return 1;
	}
	char src_schema[4096];
	if (!getenv("KXEN_SCHEMA")) {
		snprintf(src_schema, sizeof(src_schema), "%s/../xml/domain.rng", bench_builddir());
		if (access(src_schema, R_OK) == 0)
			setenv("KXEN_SCHEMA", src_schema, 1);
	}

	printf("%s: kxl latency (fork+exec of kxl, until it exits) with idle 4 MiB guests running;\n"
	       "%d samples per figure; baseline: fork+exec of /bin/true in the same run\n", PROG, SAMPLES);
	for (size_t l = 0; l < sizeof(levels) / sizeof(levels[0]); l++) {
		for (; have < levels[l]; have++) {
			char name[32], err[KXBUILD_ERR_MAX];
			snprintf(name, sizeof(name), "bk%u", have);
			struct kxbuild_config cfg = {
				.name = name, .mem_bytes = 4ull << 20, .vcpus = 1,
				.kernel = bench_guest_kernel(), .cmdline = "idle",
			};
			struct kxbuild_result res;
			if (kxbuild_domain(bench_hv.h, &cfg, &res, err, sizeof(err))) {
				fprintf(stderr, "%s: guest %u: %s\n", PROG, have, err);
				return 1;
			}
			ids[have] = res.domid;
		}
		bench_sleep_ns(500000000);   /* let the new guests go idle */
		double base[SAMPLES], list[SAMPLES], plain[SAMPLES], mon[SAMPLES];
		char *t_argv[] = { (char *)"/bin/true", NULL };
		char *l_argv[] = { kxl, (char *)"list", NULL };
		for (int i = 0; i < SAMPLES; i++) {
			base[i] = run_ms(t_argv);
			list[i] = run_ms(l_argv);
			plain[i] = create_once(xml_plain);
			mon[i] = create_once(xml_mon);
			if (list[i] < 0 || plain[i] < 0 || mon[i] < 0) {
				fprintf(stderr, "%s: a kxl run failed at %u guests\n", PROG, have);
				return 1;
			}
		}
		bench_sort(base, SAMPLES);
		double b = bench_quantile(base, SAMPLES, 0.5);
		printf("with %u idle guests (fork+exec of true: %.2f ms median)\n", have, b);
		stats("kxl_list", have, list, SAMPLES, b);
		stats("kxl_create", have, plain, SAMPLES, b);
		stats("kxl_create_with_monitor", have, mon, SAMPLES, b);
	}
	for (unsigned i = 0; i < have; i++)
		kxctrl_domain_destroy(bench_hv.h, ids[i]);
	free(ids);
	bench_stop_hv();
	return 0;
}
