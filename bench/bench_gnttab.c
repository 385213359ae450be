/* bench_gnttab: dom0 grant map/unmap batches per second and grant copy MB/s, against a plain memcpy in the same run. */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common.h"
#include "kxen/kxbuild.h"
#include "kxen/kxctrl_gnttab.h"

#define PROG "bench_gnttab"
#define PAGE 4096u
#define POLL_NS 1000000ull

static unsigned long npages = 256, reps = 5;
static uint32_t dom;
static grant_ref_t first_ref;
static kxctrl *h;

static void die(const char *what, int rc)
{
	printf("%s: %s: %s\n", PROG, what, rc < 0 ? strerror(-rc) : "failed");
	bench_keep_log();
	exit(1);
}

/* Seconds per call of fn, the median of reps runs of iters calls each. */
static double median_s(void (*fn)(void), unsigned iters)
{
	double v[64];
	unsigned n = reps < 64 ? (unsigned)reps : 64;

	for (unsigned r = 0; r < n; r++) {
		uint64_t t0 = bench_now_ns();
		for (unsigned i = 0; i < iters; i++)
			fn();
		v[r] = (double)(bench_now_ns() - t0) / 1e9 / iters;
	}
	return bench_quantile(v, n, 0.5);
}

static struct gnttab_map_grant_ref *maps;
static struct gnttab_unmap_grant_ref *unmaps;

static void map_unmap_batch(void)
{
	for (unsigned long i = 0; i < npages; i++)
		maps[i] = (struct gnttab_map_grant_ref){ .flags = GNTMAP_host_map,
		                                         .ref = first_ref + (grant_ref_t)i, .dom = (domid_t)dom };
	int rc = kxctrl_gnttab_map(h, maps, (unsigned)npages);
	if (rc)
		die("map batch", rc);
	for (unsigned long i = 0; i < npages; i++) {
		if (maps[i].status != GNTST_okay)
			die("map status", maps[i].status);
		unmaps[i] = (struct gnttab_unmap_grant_ref){ .handle = maps[i].handle };
	}
	if ((rc = kxctrl_gnttab_unmap(h, unmaps, (unsigned)npages)))
		die("unmap batch", rc);
}

static void map_unmap_single(void)
{
	for (unsigned long i = 0; i < npages; i++) {
		struct gnttab_map_grant_ref m = { .flags = GNTMAP_host_map,
		                                  .ref = first_ref + (grant_ref_t)i, .dom = (domid_t)dom };
		int rc = kxctrl_gnttab_map(h, &m, 1);
		if (rc || m.status != GNTST_okay)
			die("map", rc);
		struct gnttab_unmap_grant_ref u = { .handle = m.handle };
		if ((rc = kxctrl_gnttab_unmap(h, &u, 1)))
			die("unmap", rc);
	}
}

static kxgnt *gnt;
static grant_ref_t *refs;
static void **addrs;
static int16_t *status;
static uint8_t *dst;

static void kxgnt_map_unmap(void)
{
	int rc = kxgnt_map(gnt, dom, refs, (unsigned)npages, true, addrs, status);
	if (rc || status[0] != GNTST_okay)
		die("kxgnt_map", rc);
	if ((rc = kxgnt_unmap(gnt, addrs, (unsigned)npages)))
		die("kxgnt_unmap", rc);
}

/* A backend's own copy: map the batch, memcpy each page out, unmap. */
static void kxgnt_map_copy_unmap(void)
{
	int rc = kxgnt_map(gnt, dom, refs, (unsigned)npages, true, addrs, status);
	if (rc || status[0] != GNTST_okay)
		die("kxgnt_map", rc);
	for (unsigned long i = 0; i < npages; i++)
		memcpy(dst + i * PAGE, addrs[i], PAGE);
	if ((rc = kxgnt_unmap(gnt, addrs, (unsigned)npages)))
		die("kxgnt_unmap", rc);
}

static struct gnttab_copy *copies;

/* kxen-hv copies the batch into the connection's copy buffer: one round trip. */
static void hv_copy(void)
{
	for (unsigned long i = 0; i < npages; i++)
		copies[i] = (struct gnttab_copy){
			.source = { .u.ref = first_ref + (grant_ref_t)i, .domid = (domid_t)dom },
			.dest = { .u.gmfn = i, .domid = DOMID_SELF }, .len = PAGE, .flags = GNTCOPY_source_gref };
	int rc = kxctrl_gnttab_copy(h, copies, (unsigned)npages);
	if (rc || copies[0].status != GNTST_okay)
		die("copy", rc ? rc : copies[0].status);
}

static uint8_t *src;

static void plain_memcpy(void)
{
	for (unsigned long i = 0; i < npages; i++)
		memcpy(dst + i * PAGE, src + i * PAGE, PAGE);
	__asm__ __volatile__("" ::: "memory");
}

static void usage(FILE *f)
{
	fprintf(f, "usage: %s [-n PAGES (1-1024)] [-r REPS]\n"
	        "Maps, unmaps and copies a batch of PAGES grants of a real guest from dom0 and\n"
	        "prints rates next to a plain memcpy of the same bytes, measured in the same run.\n", PROG);
}

int main(int argc, char **argv)
{
	int c;

	while ((c = getopt(argc, argv, "n:r:h")) != -1) {
		switch (c) {
		case 'n': npages = bench_parse_count(PROG, "-n", optarg); break;
		case 'r': reps = bench_parse_count(PROG, "-r", optarg); break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (npages > KXCTL_GNTTAB_BATCH_MAX) {
		fprintf(stderr, "%s: -n is at most %d (one batch)\n", PROG, KXCTL_GNTTAB_BATCH_MAX);
		return 2;
	}
	bench_require_kvm(PROG);
	bench_start_hv(PROG);
	h = bench_hv.h;

	char cmd[64], line[512], err[KXBUILD_ERR_MAX];
	struct bench_log log = { 0 };
	struct kxbuild_result res;
	snprintf(cmd, sizeof(cmd), "gnttab-grant %lu", npages);
	struct kxbuild_config cfg = {
		.name = "gntbench", .mem_bytes = 32ul << 20, .vcpus = 1, .kernel = bench_guest_kernel(),
		.cmdline = cmd, .on_poweroff = KXCTL_ACTION_DESTROY, .on_reboot = KXCTL_ACTION_DESTROY,
		.on_crash = KXCTL_ACTION_PRESERVE,
	};
	bench_log_skip(h, &log);
	if (kxbuild_domain(h, &cfg, &res, err, sizeof(err)) < 0) {
		printf("%s: cannot start the guest: %s\n", PROG, err);
		return 1;
	}
	dom = res.domid;
	int rc = bench_log_wait_dom(h, &log, dom, "gnttab-grant: port", line, sizeof(line),
	                            30000000000ull, POLL_NS);
	unsigned port, a, b;
	const char *p = rc == 0 ? strstr(line, "port ") : NULL;
	if (!p || sscanf(p, "port %u refs %u-%u", &port, &a, &b) != 3 || b - a + 1 != npages)
		die("guest did not publish its grants", rc);
	first_ref = a;

	maps = calloc(npages, sizeof(*maps));
	unmaps = calloc(npages, sizeof(*unmaps));
	copies = calloc(npages, sizeof(*copies));
	refs = calloc(npages, sizeof(*refs));
	addrs = calloc(npages, sizeof(*addrs));
	status = calloc(npages, sizeof(*status));
	src = malloc(npages * PAGE);
	dst = malloc(npages * PAGE);
	if (!maps || !unmaps || !copies || !refs || !addrs || !status || !src || !dst)
		die("out of memory", -ENOMEM);
	memset(src, 1, npages * PAGE);
	memset(dst, 2, npages * PAGE);
	for (unsigned long i = 0; i < npages; i++)
		refs[i] = first_ref + (grant_ref_t)i;
	if ((rc = kxgnt_open(h, &gnt)))
		die("kxgnt_open", rc);
	int cfd;
	void *cbuf;
	if ((rc = kxctrl_gnttab_copybuf(h, npages * PAGE, &cfd, &cbuf)))
		die("copy buffer", rc);

	/* Warm up every path once (first touches of guest pages cost more on kvm_pvm). */
	map_unmap_batch();
	kxgnt_map_copy_unmap();
	hv_copy();
	/* The guest filled page i with the byte i. */
	if (npages > 2 && (((uint8_t *)cbuf)[PAGE] != 1 || dst[2 * PAGE] != 2))
		die("copied data is not the guest's", -EIO);
	plain_memcpy();

	double t_batch = median_s(map_unmap_batch, 20);
	double t_single = median_s(map_unmap_single, 2);
	double t_kxgnt = median_s(kxgnt_map_unmap, 20);
	double t_kxcopy = median_s(kxgnt_map_copy_unmap, 20);
	double t_hvcopy = median_s(hv_copy, 20);
	double t_memcpy = median_s(plain_memcpy, 200);
	double mb = (double)npages * PAGE / 1e6;

	printf("%s: %lu grants of d%u per batch, median of %lu runs\n", PROG, npages, dom, reps);
	printf("  map+unmap, one batch each    %10.0f batches/s %10.0f grants/s\n", 1 / t_batch, npages / t_batch);
	printf("  map+unmap, one grant per op  %10.0f grants/s  (%.1fx slower than batched)\n",
	       npages / t_single, t_single / t_batch);
	printf("  kxgnt map+mmap+munmap+unmap  %10.0f grants/s\n", npages / t_kxgnt);
	printf("  kxgnt map, memcpy out, unmap %10.0f MB/s\n", mb / t_kxcopy);
	printf("  kxen-hv GNTTABOP_copy        %10.0f MB/s\n", mb / t_hvcopy);
	printf("  plain memcpy (baseline)      %10.0f MB/s\n", mb / t_memcpy);
	printf("RESULT bench_gnttab pages=%lu map_unmap_batches_per_s=%.0f map_unmap_grants_per_s=%.0f "
	       "single_grants_per_s=%.0f kxgnt_grants_per_s=%.0f kxgnt_copy_mb_s=%.0f hv_copy_mb_s=%.0f "
	       "memcpy_mb_s=%.0f hv_copy_vs_memcpy=%.3f kxgnt_copy_vs_memcpy=%.3f\n",
	       npages, 1 / t_batch, npages / t_batch, npages / t_single, npages / t_kxgnt, mb / t_kxcopy,
	       mb / t_hvcopy, mb / t_memcpy, t_memcpy / t_hvcopy, t_memcpy / t_kxcopy);

	kxgnt_close(gnt);
	munmap(cbuf, npages * PAGE);
	close(cfd);
	/* Let the guest end: one event on its port. */
	uint32_t lport;
	int notify, kick;
	if (kxctrl_evtchn_bind_interdomain(h, dom, port, &lport, &notify, &kick) == 0) {
		uint64_t one = 1;
		if (write(kick, &one, sizeof(one)) != sizeof(one))
			kxctrl_domain_destroy(h, dom);
		close(notify);
		close(kick);
	}
	bench_log_wait_dom(h, &log, dom, "gnttab-grant: done", line, sizeof(line), 5000000000ull, POLL_NS);
	return 0;
}
