/* CUnit suite for kxtop: the column table, formatting, sorting, CPU% maths and the batch format. */
#define _GNU_SOURCE
#include "cunit_run.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kxtop.h"

#define SEC 1000000000ull

static struct kxtop_dom mkdom(uint32_t domid, const char *name, uint64_t created_ns, uint64_t cpu_ns)
{
	struct kxtop_dom d;

	memset(&d, 0, sizeof(d));
	d.info.domid = domid;
	d.info.created_ns = created_ns;
	d.info.cpu_ns = cpu_ns;
	d.info.nr_vcpus = 1;
	d.info.mem_bytes = d.info.max_mem_bytes = 8ull << 20;
	d.weight = 256;   /* what kxen-hv reports for a domain left at the default */
	snprintf(d.info.name, sizeof(d.info.name), "%s", name);
	return d;
}

static void test_table(void)
{
	static const char *const xentop[] = {
		"NAME", "STATE", "CPU(sec)", "CPU(%)", "MEM(k)", "MEM(%)", "MAXMEM(k)", "MAXMEM(%)",
		"VCPUS", "NETS", "NETTX(k)", "NETRX(k)", "VBDS", "VBD_OO", "VBD_RD", "VBD_WR",
		"VBD_RSECT", "VBD_WSECT",
	};

	CU_ASSERT_FATAL(kxtop_nr_cols >= 18);
	/* xentop's columns first, in xentop's order: scripts written for xentop keep working. */
	for (unsigned i = 0; i < 18; i++)
		CU_ASSERT_STRING_EQUAL(kxtop_cols[i].header, xentop[i]);
	for (unsigned i = 0; i < kxtop_nr_cols; i++) {
		const struct kxtop_col *c = &kxtop_cols[i];

		CU_ASSERT(c->width >= (int)strlen(c->header));
		CU_ASSERT(c->kind == KIND_STR ? c->str != NULL && c->num == NULL : c->num != NULL && c->str == NULL);
		CU_ASSERT(strchr(c->header, ' ') == NULL);
		for (unsigned j = 0; j < i; j++)
			CU_ASSERT(strcasecmp(c->header, kxtop_cols[j].header) != 0);
		CU_ASSERT_EQUAL(columns__find(c->header), (int)i);
	}
	CU_ASSERT_EQUAL(columns__find("cpu(%)"), 3);
	CU_ASSERT_EQUAL(columns__find("name"), 0);
	CU_ASSERT_EQUAL(columns__find("nosuch"), -ENOENT);
	CU_ASSERT(columns__find("EXITS/s") >= 18 && (kxtop_cols[columns__find("EXITS/s")].flags & COL_KXEN));
}

static void test_state(void)
{
	char b[7];

	CU_ASSERT_STRING_EQUAL(columns__state(0, b), "------");
	CU_ASSERT_STRING_EQUAL(columns__state(KXCTL_DOMF_BLOCKED, b), "--b---");
	CU_ASSERT_STRING_EQUAL(columns__state(KXCTL_DOMF_RUNNING, b), "-----r");
	CU_ASSERT_STRING_EQUAL(columns__state(KXCTL_DOMF_PAUSED | KXCTL_DOMF_BLOCKED, b), "--b-p-");
	CU_ASSERT_STRING_EQUAL(columns__state(KXCTL_DOMF_SHUTDOWN | KXCTL_DOMF_CRASHED, b), "-s-c--");
	CU_ASSERT_STRING_EQUAL(columns__state(0x3f, b), "dsbcpr");
}

static void test_format(void)
{
	struct kxtop_dom d = mkdom(7, "a-rather-long-name", 0, 12345ull * SEC + 999999999ull);
	char buf[128];
	int n;

	/* Every column of an ordinary domain fills exactly its width. */
	for (unsigned i = 0; i < kxtop_nr_cols; i++) {
		n = columns__format(&kxtop_cols[i], &d, false, buf, sizeof(buf));
		CU_ASSERT_EQUAL(n, kxtop_cols[i].width);
		CU_ASSERT_EQUAL((int)strlen(buf), n);
		n = columns__header(&kxtop_cols[i], buf, sizeof(buf));
		CU_ASSERT_EQUAL(n, kxtop_cols[i].width);
	}
	columns__format(&kxtop_cols[0], &d, false, buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf, "a-rather-l");
	columns__format(&kxtop_cols[0], &d, true, buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf, "a-rather-long-name");
	d = mkdom(7, "x", 0, 12345ull * SEC + 999999999ull);
	columns__format(&kxtop_cols[0], &d, false, buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf, "x         ");
	/* CPU(sec) truncates to whole seconds as xentop does. */
	columns__format(&kxtop_cols[2], &d, false, buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf, "     12345");
	d.cpu_pct = 99.95;
	columns__format(&kxtop_cols[3], &d, false, buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf, " 100.0");
	d.cpu_pct = 3.04;
	columns__format(&kxtop_cols[3], &d, false, buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf, "   3.0");
	/* MEM(k) is KiB. */
	columns__format(&kxtop_cols[4], &d, false, buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf, "      8192");
	/* A number wider than its column widens the row; digits are never cut. */
	d.info.cpu_ns = 12345678901ull * SEC;
	n = columns__format(&kxtop_cols[2], &d, false, buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf, "12345678901");
	CU_ASSERT_EQUAL(n, 11);
	/* Blanks and escapes in a name cannot split fields or reach the terminal. */
	d = mkdom(1, "a b\033[2J\tc", 0, 0);
	columns__format(&kxtop_cols[0], &d, true, buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf, "a_b_[2J_c ");
	/* A tiny buffer is never overrun. */
	n = columns__format(&kxtop_cols[2], &d, false, buf, 4);
	CU_ASSERT_EQUAL(n, 3);
	CU_ASSERT_EQUAL(strlen(buf), 3);
}

static void test_sort(void)
{
	struct kxtop_dom d[5] = {
		mkdom(5, "echo", 0, 0), mkdom(2, "bravo", 0, 0), mkdom(9, "alpha", 0, 0),
		mkdom(3, "delta", 0, 0), mkdom(4, "charlie", 0, 0),
	};
	const struct kxtop_dom *p[5];
	int cpu = columns__find("CPU(%)");

	d[0].cpu_pct = 10; d[1].cpu_pct = 50; d[2].cpu_pct = 10; d[3].cpu_pct = 99.5; d[4].cpu_pct = 10;
	for (int i = 0; i < 5; i++)
		p[i] = &d[i];
	columns__sort(p, 5, 0, false);
	CU_ASSERT_STRING_EQUAL(p[0]->info.name, "alpha");
	CU_ASSERT_STRING_EQUAL(p[4]->info.name, "echo");
	columns__sort(p, 5, 0, true);
	CU_ASSERT_STRING_EQUAL(p[0]->info.name, "echo");
	/* Numbers biggest first; equal values by domid, whatever order they came in. */
	for (int round = 0; round < 2; round++) {
		columns__sort(p, 5, (unsigned)cpu, false);
		CU_ASSERT_EQUAL(p[0]->info.domid, 3);
		CU_ASSERT_EQUAL(p[1]->info.domid, 2);
		CU_ASSERT_EQUAL(p[2]->info.domid, 4);
		CU_ASSERT_EQUAL(p[3]->info.domid, 5);
		CU_ASSERT_EQUAL(p[4]->info.domid, 9);
	}
	columns__sort(p, 5, (unsigned)cpu, true);
	CU_ASSERT_EQUAL(p[0]->info.domid, 4);   /* smallest first; ties still by domid */
	CU_ASSERT_EQUAL(p[4]->info.domid, 3);
	/* An out-of-range column sorts by name rather than crash. */
	columns__sort(p, 5, 999, false);
	CU_ASSERT_STRING_EQUAL(p[0]->info.name, "alpha");
}

/* Two samples 2 s apart (monotonic), realtime 100 s after the epoch used for created_ns. */
static void two_samples(struct kxtop_sample *a, struct kxtop_sample *b, struct kxtop_dom *da, unsigned na,
                        struct kxtop_dom *db, unsigned nb)
{
	memset(a, 0, sizeof(*a));
	memset(b, 0, sizeof(*b));
	a->mono_ns = 10 * SEC;
	a->real_ns = 98 * SEC;
	b->mono_ns = 12 * SEC;
	b->real_ns = 100 * SEC;
	a->host.total_mem_bytes = b->host.total_mem_bytes = 800ull << 20;
	a->dom = da;
	a->n = na;
	b->dom = db;
	b->n = nb;
}

static void test_cpu_pct(void)
{
	struct kxtop_dom a[3] = { mkdom(1, "one", 50 * SEC, 10 * SEC), mkdom(2, "two", 60 * SEC, 0),
	                          mkdom(4, "four", 60 * SEC, 0) };
	struct kxtop_dom b[3] = { mkdom(1, "one", 50 * SEC, 12 * SEC), mkdom(3, "three", 96 * SEC, 1 * SEC),
	                          mkdom(4, "four", 60 * SEC, SEC / 10) };
	struct kxtop_sample sa, sb;

	a[0].info.exits = 1000;
	b[0].info.exits = 1400;
	b[1].info.mem_bytes = 2ull << 20;   /* ballooned down to a quarter of its maximum */
	a[0].info.events = b[0].info.events = 7;
	two_samples(&sa, &sb, a, 3, b, 3);
	sample__derive(&sb, &sa);
	/* 2 s of CPU in 2 s: one whole CPU. */
	CU_ASSERT_DOUBLE_EQUAL(b[0].cpu_pct, 100.0, 1e-9);
	CU_ASSERT_FALSE(b[0].is_new);
	CU_ASSERT_DOUBLE_EQUAL(b[0].exits_ps, 200.0, 1e-9);
	CU_ASSERT_DOUBLE_EQUAL(b[0].events_ps, 0.0, 1e-9);
	/* Domain 3 appeared (domain 2 went): lifetime average, 1 s over its 4 s. */
	CU_ASSERT_TRUE(b[1].is_new);
	CU_ASSERT_DOUBLE_EQUAL(b[1].cpu_pct, 25.0, 1e-9);
	/* The merge walk still finds domain 4 after a gap. */
	CU_ASSERT_FALSE(b[2].is_new);
	CU_ASSERT_DOUBLE_EQUAL(b[2].cpu_pct, 5.0, 1e-9);
	/* MEM(%) of host RAM; MAXMEM(%) is the maximum's, which a ballooned-down domain stays below. */
	CU_ASSERT_DOUBLE_EQUAL(b[0].mem_pct, 1.0, 1e-9);
	CU_ASSERT_DOUBLE_EQUAL(b[0].maxmem_pct, 1.0, 1e-9);
	CU_ASSERT_DOUBLE_EQUAL(b[1].mem_pct, 0.25, 1e-9);
	CU_ASSERT_DOUBLE_EQUAL(b[1].maxmem_pct, 1.0, 1e-9);
}

static void test_domid_reuse(void)
{
	/* Same domid, a new domain: its small counter must not read as a negative delta. */
	struct kxtop_dom a[1] = { mkdom(1, "old", 10 * SEC, 50 * SEC) };
	struct kxtop_dom b[1] = { mkdom(1, "new", 99 * SEC, SEC / 2) };
	struct kxtop_sample sa, sb;

	a[0].info.exits = 1000000;
	b[0].info.exits = 10;
	two_samples(&sa, &sb, a, 1, b, 1);
	sample__derive(&sb, &sa);
	CU_ASSERT_TRUE(b[0].is_new);
	CU_ASSERT_DOUBLE_EQUAL(b[0].cpu_pct, 50.0, 1e-9);   /* 0.5 s over its 1 s of life */
	CU_ASSERT_DOUBLE_EQUAL(b[0].exits_ps, 10.0, 1e-9);
}

static void test_counter_reset(void)
{
	/* Same domain (same creation time) whose counter went backwards: no negative or huge rate. */
	struct kxtop_dom a[1] = { mkdom(1, "x", 90 * SEC, 5 * SEC) };
	struct kxtop_dom b[1] = { mkdom(1, "x", 90 * SEC, 1 * SEC) };
	struct kxtop_sample sa, sb;

	two_samples(&sa, &sb, a, 1, b, 1);
	sample__derive(&sb, &sa);
	CU_ASSERT_TRUE(b[0].is_new);
	CU_ASSERT(b[0].cpu_pct >= 0.0);
	CU_ASSERT_DOUBLE_EQUAL(b[0].cpu_pct, 10.0, 1e-9);   /* 1 s over 10 s of life */
}

static void test_first_and_degenerate(void)
{
	struct kxtop_dom a[1] = { mkdom(1, "x", 90 * SEC, 3 * SEC) };
	struct kxtop_dom b[1] = { mkdom(1, "x", 90 * SEC, 4 * SEC) };
	struct kxtop_sample sa, sb;

	two_samples(&sa, &sb, a, 1, b, 1);
	/* First sample: lifetime average. */
	sample__derive(&sb, NULL);
	CU_ASSERT_TRUE(b[0].is_new);
	CU_ASSERT_DOUBLE_EQUAL(b[0].cpu_pct, 40.0, 1e-9);
	/* No time elapsed (clock equal): no division by zero, lifetime again. */
	sb.mono_ns = sa.mono_ns;
	sample__derive(&sb, &sa);
	CU_ASSERT_TRUE(b[0].is_new);
	CU_ASSERT_DOUBLE_EQUAL(b[0].cpu_pct, 40.0, 1e-9);
	/* A domain "created in the future" (clock skew) has no lifetime: 0, not infinity. */
	b[0].info.created_ns = 200 * SEC;
	sample__derive(&sb, NULL);
	CU_ASSERT_DOUBLE_EQUAL(b[0].cpu_pct, 0.0, 1e-9);
}

static void test_vcpu_pct(void)
{
	struct kxtop_dom a[1] = { mkdom(1, "x", 90 * SEC, 3 * SEC) };
	struct kxtop_dom b[1] = { mkdom(1, "x", 90 * SEC, 5 * SEC) };
	struct kxtop_sample sa, sb;

	a[0].nr_vcpus = b[0].nr_vcpus = 2;
	a[0].vcpu[0].info.cpu_ns = 1 * SEC;
	a[0].vcpu[1].info.cpu_ns = 2 * SEC;
	b[0].vcpu[0].info.cpu_ns = 1 * SEC + SEC / 2;
	b[0].vcpu[1].info.cpu_ns = 3 * SEC + SEC / 2;
	two_samples(&sa, &sb, a, 1, b, 1);
	sample__derive(&sb, &sa);
	CU_ASSERT_DOUBLE_EQUAL(b[0].vcpu[0].cpu_pct, 25.0, 1e-9);
	CU_ASSERT_DOUBLE_EQUAL(b[0].vcpu[1].cpu_pct, 75.0, 1e-9);
	CU_ASSERT_DOUBLE_EQUAL(b[0].cpu_pct, 100.0, 1e-9);
}

/* Splits s into lines; returns how many. */
static int split_lines(char *s, char **lines, int max)
{
	int n = 0;

	for (char *save = NULL, *l = strtok_r(s, "\n", &save); l && n < max; l = strtok_r(NULL, "\n", &save))
		lines[n++] = l;
	return n;
}

static int count_fields(const char *s)
{
	int n = 0;

	for (const char *p = s; *p;) {
		while (*p == ' ')
			p++;
		if (!*p)
			break;
		n++;
		while (*p && *p != ' ')
			p++;
	}
	return n;
}

static void test_batch_format(void)
{
	struct kxtop_dom d[2] = { mkdom(3, "web server", 90 * SEC, 4 * SEC), mkdom(1, "db", 90 * SEC, 1 * SEC) };
	struct kxtop_opts o = { .delay_s = 1, .kxen_cols = true };
	struct kxtop_sample s;
	char *text = NULL, *lines[32];
	size_t len = 0;
	FILE *f;

	memset(&s, 0, sizeof(s));
	s.real_ns = 100 * SEC;
	s.mono_ns = 5 * SEC;
	s.host.total_mem_bytes = 1024ull << 20;
	s.host.free_mem_bytes = 256ull << 20;
	s.host.domain_mem_bytes = 16ull << 20;
	s.host.nr_cpus = 2;
	s.host.cpu_khz = 2600000;
	snprintf(s.host.version, sizeof(s.host.version), "4.17-kxen");
	d[0].info.flags = KXCTL_DOMF_RUNNING;
	d[1].info.flags = KXCTL_DOMF_BLOCKED;
	d[1].info.mem_bytes = 4ull << 20;   /* ballooned down: MEM below MAXMEM */
	s.dom = d;
	s.n = 2;
	sample__derive(&s, NULL);

	CU_ASSERT_FATAL((f = open_memstream(&text, &len)) != NULL);
	batch__print(f, &o, &s);
	fclose(f);
	int n = split_lines(text, lines, 32);
	CU_ASSERT_EQUAL_FATAL(n, 6);
	CU_ASSERT(strncmp(lines[0], "kxtop - ", 8) == 0);
	CU_ASSERT(strstr(lines[0], "kxen 4.17-kxen") != NULL);
	CU_ASSERT_STRING_EQUAL(lines[1], "2 domains: 1 running, 1 blocked, 0 paused, 0 crashed, 0 dying, 0 shutdown");
	CU_ASSERT_STRING_EQUAL(lines[2], "Mem: 1048576k total, 786432k used, 262144k free, 16384k domains    CPUs: 2 @ 2600MHz");
	CU_ASSERT_STRING_EQUAL(lines[3],
		"NAME        STATE   CPU(sec) CPU(%)     MEM(k) MEM(%)  MAXMEM(k) MAXMEM(%) VCPUS NETS NETTX(k) NETRX(k) "
		"VBDS   VBD_OO   VBD_RD   VBD_WR  VBD_RSECT  VBD_WSECT    ID   EXITS/s  HCALLS/s  EVENTS/s WEIGHT  CAP");
	/* Sorted by NAME: db first; the blank in "web server" became '_'. */
	CU_ASSERT_STRING_EQUAL(lines[4],
		"db         --b---          1   10.0       4096    0.4       8192       0.8     1    0        0        0 "
		"   0        0        0        0          0          0     1       0.0       0.0       0.0    256    0");
	CU_ASSERT(strncmp(lines[5], "web_server -----r          4   40.0", 35) == 0);
	CU_ASSERT_EQUAL(count_fields(lines[3]), (int)kxtop_nr_cols);
	CU_ASSERT_EQUAL(count_fields(lines[4]), (int)kxtop_nr_cols);
	CU_ASSERT_EQUAL(count_fields(lines[5]), (int)kxtop_nr_cols);
	/* Every value ends where its header ends (right-aligned columns). */
	CU_ASSERT_EQUAL(strlen(lines[3]), strlen(lines[4]));
	free(text);

	/* -K drops kxen's columns; a filter and sub-rows. */
	o.kxen_cols = false;
	o.vcpus = o.networks = o.vbds = true;
	snprintf(o.filter, sizeof(o.filter), "WEB");
	text = NULL;
	CU_ASSERT_FATAL((f = open_memstream(&text, &len)) != NULL);
	batch__print(f, &o, &s);
	fclose(f);
	n = split_lines(text, lines, 32);
	CU_ASSERT_EQUAL_FATAL(n, 8);
	CU_ASSERT_EQUAL(count_fields(lines[3]), 18);
	CU_ASSERT(strncmp(lines[4], "web_server", 10) == 0);
	CU_ASSERT_STRING_EQUAL(lines[5], "    VCPUs: not sampled yet");
	CU_ASSERT_STRING_EQUAL(lines[6], "    Nets: none reported");
	CU_ASSERT_STRING_EQUAL(lines[7], "    VBDs: none reported");
	free(text);
}

static void test_devstats(void)
{
	struct kxtop_devstats ds;

	memset(&ds, 0xff, sizeof(ds));
	CU_ASSERT_EQUAL(devstats__get(1, 123, &ds), 0);
	CU_ASSERT_EQUAL(ds.nr_nets, 0);
	CU_ASSERT_EQUAL(ds.nr_vbds, 0);
	CU_ASSERT_EQUAL(ds.net_tx_bytes + ds.net_rx_bytes + ds.vbd_rd + ds.vbd_wr + ds.vbd_oo, 0);
}

int main(void)
{
	static const struct cunit_test tests[] = {
		{ "column table: xentop's columns, widths, lookup", test_table },
		{ "STATE flags", test_state },
		{ "formatting: widths, units, truncation, sanitising", test_format },
		{ "sorting: direction, ties by domid, reverse", test_sort },
		{ "CPU% and rates over the interval, domains coming and going", test_cpu_pct },
		{ "a reused domid is a new row", test_domid_reuse },
		{ "a counter reset gives no negative rate", test_counter_reset },
		{ "first sample, zero interval, clock skew", test_first_and_degenerate },
		{ "per-vCPU CPU%", test_vcpu_pct },
		{ "batch format: summary, header, rows, -K, filter, sub-rows", test_batch_format },
		{ "device counters are empty until backends feed them", test_devstats },
	};

	/* The summary prints local time: make it the same everywhere. */
	setenv("TZ", "UTC", 1);
	return cunit_run("kxtop", tests, CUNIT_COUNT(tests), NULL, NULL);
}
