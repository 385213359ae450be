/* The column table: each column's header, width, kind and value; sorting and formatting follow from it. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "kxtop.h"

static const char *v_name(const struct kxtop_dom *d, char *buf, size_t len)
{
	snprintf(buf, len, "%s", d->info.name);
	return buf;
}

static const char *v_state(const struct kxtop_dom *d, char *buf, size_t len)
{
	char s[7];

	snprintf(buf, len, "%s", columns__state(d->info.flags, s));
	return buf;
}

static double v_id(const struct kxtop_dom *d) { return d->info.domid; }
static double v_cpu_s(const struct kxtop_dom *d) { return (double)(d->info.cpu_ns / 1000000000ull); }
static double v_cpu_pct(const struct kxtop_dom *d) { return d->cpu_pct; }
static double v_mem_k(const struct kxtop_dom *d) { return (double)(d->info.mem_bytes >> 10); }
static double v_maxmem_k(const struct kxtop_dom *d) { return (double)(d->info.max_mem_bytes >> 10); }
static double v_mem_pct(const struct kxtop_dom *d) { return d->mem_pct; }
static double v_maxmem_pct(const struct kxtop_dom *d) { return d->maxmem_pct; }
static double v_vcpus(const struct kxtop_dom *d) { return d->info.nr_vcpus; }
static double v_nets(const struct kxtop_dom *d) { return d->dev.nr_nets; }
static double v_nettx(const struct kxtop_dom *d) { return (double)(d->dev.net_tx_bytes >> 10); }
static double v_netrx(const struct kxtop_dom *d) { return (double)(d->dev.net_rx_bytes >> 10); }
static double v_vbds(const struct kxtop_dom *d) { return d->dev.nr_vbds; }
static double v_vbd_oo(const struct kxtop_dom *d) { return (double)d->dev.vbd_oo; }
static double v_vbd_rd(const struct kxtop_dom *d) { return (double)d->dev.vbd_rd; }
static double v_vbd_wr(const struct kxtop_dom *d) { return (double)d->dev.vbd_wr; }
static double v_vbd_rsect(const struct kxtop_dom *d) { return (double)d->dev.vbd_rsect; }
static double v_vbd_wsect(const struct kxtop_dom *d) { return (double)d->dev.vbd_wsect; }
static double v_exits_ps(const struct kxtop_dom *d) { return d->exits_ps; }
static double v_hcalls_ps(const struct kxtop_dom *d) { return d->hcalls_ps; }
static double v_events_ps(const struct kxtop_dom *d) { return d->events_ps; }
static double v_weight(const struct kxtop_dom *d) { return d->weight; }
static double v_cap(const struct kxtop_dom *d) { return d->cap; }

#define STR(h, w, fn, fl) { h, w, KIND_STR, NULL, fn, fl }
#define U64(h, w, fn, fl) { h, w, KIND_U64, fn, NULL, fl }
#define F1(h, w, fn, fl)  { h, w, KIND_F1, fn, NULL, fl }

/* xentop's columns in xentop's order and widths, then kxen's own. Batch output is this order. */
const struct kxtop_col kxtop_cols[] = {
	STR("NAME",      10, v_name, COL_LEFT),
	STR("STATE",      6, v_state, 0),
	U64("CPU(sec)",  10, v_cpu_s, 0),
	F1("CPU(%)",      6, v_cpu_pct, 0),
	U64("MEM(k)",    10, v_mem_k, 0),
	F1("MEM(%)",      6, v_mem_pct, 0),
	U64("MAXMEM(k)", 10, v_maxmem_k, 0),
	F1("MAXMEM(%)",   9, v_maxmem_pct, 0),
	U64("VCPUS",      5, v_vcpus, 0),
	U64("NETS",       4, v_nets, 0),
	U64("NETTX(k)",   8, v_nettx, 0),
	U64("NETRX(k)",   8, v_netrx, 0),
	U64("VBDS",       4, v_vbds, 0),
	U64("VBD_OO",     8, v_vbd_oo, 0),
	U64("VBD_RD",     8, v_vbd_rd, 0),
	U64("VBD_WR",     8, v_vbd_wr, 0),
	U64("VBD_RSECT", 10, v_vbd_rsect, 0),
	U64("VBD_WSECT", 10, v_vbd_wsect, 0),
	U64("ID",         5, v_id, COL_KXEN),
	F1("EXITS/s",     9, v_exits_ps, COL_KXEN),
	F1("HCALLS/s",    9, v_hcalls_ps, COL_KXEN),
	F1("EVENTS/s",    9, v_events_ps, COL_KXEN),
	U64("WEIGHT",     6, v_weight, COL_KXEN),
	U64("CAP",        4, v_cap, COL_KXEN),
};
const unsigned kxtop_nr_cols = sizeof(kxtop_cols) / sizeof(kxtop_cols[0]);

int columns__find(const char *name)
{
	for (unsigned i = 0; i < kxtop_nr_cols; i++)
		if (!strcasecmp(kxtop_cols[i].header, name))
			return (int)i;
	return -ENOENT;
}

const char *columns__state(uint32_t flags, char buf[7])
{
	static const struct { uint32_t bit; char c; } order[] = {
		{ KXCTL_DOMF_DYING, 'd' }, { KXCTL_DOMF_SHUTDOWN, 's' }, { KXCTL_DOMF_BLOCKED, 'b' },
		{ KXCTL_DOMF_CRASHED, 'c' }, { KXCTL_DOMF_PAUSED, 'p' }, { KXCTL_DOMF_RUNNING, 'r' },
	};

	for (unsigned i = 0; i < 6; i++)
		buf[i] = flags & order[i].bit ? order[i].c : '-';
	buf[6] = 0;
	return buf;
}

/* Blanks and control characters in a name would split fields or reach the terminal as escapes. */
static void sanitize(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s <= ' ' || (unsigned char)*s == 0x7f)
			*s = '_';
}

int columns__format(const struct kxtop_col *c, const struct kxtop_dom *d, bool full_names,
                char *buf, size_t len)
{
	char tmp[KXCTL_NAME_MAX + 8];
	int n;

	if (c->kind == KIND_STR) {
		c->str(d, tmp, sizeof(tmp));
		sanitize(tmp);
		if (!full_names && strlen(tmp) > (size_t)c->width)
			tmp[c->width] = 0;
		n = snprintf(buf, len, (c->flags & COL_LEFT) ? "%-*s" : "%*s", c->width, tmp);
	} else if (c->kind == KIND_U64) {
		n = snprintf(buf, len, "%*llu", c->width, (unsigned long long)c->num(d));
	} else {
		n = snprintf(buf, len, "%*.1f", c->width, c->num(d));
	}
	return n < 0 ? 0 : (size_t)n >= len ? (int)len - 1 : n;
}

int columns__header(const struct kxtop_col *c, char *buf, size_t len)
{
	int n = snprintf(buf, len, (c->flags & COL_LEFT) ? "%-*s" : "%*s", c->width, c->header);

	return n < 0 ? 0 : (size_t)n >= len ? (int)len - 1 : n;
}

/* qsort has no context argument; sorting happens on one thread, so the key lives here. */
static const struct kxtop_col *sort_col;
static int sort_sign;

static int cmp_dom(const void *a, const void *b)
{
	const struct kxtop_dom *x = *(const struct kxtop_dom *const *)a;
	const struct kxtop_dom *y = *(const struct kxtop_dom *const *)b;
	int r;

	if (sort_col->kind == KIND_STR) {
		char bx[KXCTL_NAME_MAX + 8], by[KXCTL_NAME_MAX + 8];

		r = strcmp(sort_col->str(x, bx, sizeof(bx)), sort_col->str(y, by, sizeof(by)));
		r = r < 0 ? -1 : r > 0;
	} else {
		double vx = sort_col->num(x), vy = sort_col->num(y);

		/* Numbers read best biggest first, as in xentop and top. */
		r = vx > vy ? -1 : vx < vy;
	}
	r *= sort_sign;
	if (!r)
		r = x->info.domid < y->info.domid ? -1 : x->info.domid > y->info.domid;
	return r;
}

void columns__sort(const struct kxtop_dom **ptrs, unsigned n, unsigned col, bool reverse)
{
	if (col >= kxtop_nr_cols)
		col = 0;
	sort_col = &kxtop_cols[col];
	sort_sign = reverse ? -1 : 1;
	qsort(ptrs, n, sizeof(*ptrs), cmp_dom);
}
