/* What the batch and ncurses front ends both show: filtered, sorted rows, the summary and sub-rows. */
#define _GNU_SOURCE
#include <string.h>
#include <time.h>

#include "kxtop.h"

bool view__col_shown(const struct kxtop_opts *o, unsigned c)
{
	return c < kxtop_nr_cols && (o->kxen_cols || !(kxtop_cols[c].flags & COL_KXEN));
}

bool view__match(const struct kxtop_opts *o, const struct kxtop_dom *d)
{
	return !o->filter[0] || strcasestr(d->info.name, o->filter);
}

unsigned view__rows(const struct kxtop_opts *o, const struct kxtop_sample *s,
                    const struct kxtop_dom **ptrs)
{
	unsigned n = 0;

	for (unsigned i = 0; i < s->n; i++)
		if (view__match(o, &s->dom[i]))
			ptrs[n++] = &s->dom[i];
	columns__sort(ptrs, n, o->sort_col, o->sort_reverse);
	if (o->dom0_first) {
		/* xentop's -z; kxen-hv does not list dom0 today, so this only matters once it does. */
		for (unsigned i = 1; i < n; i++)
			if (ptrs[i]->info.domid == 0) {
				const struct kxtop_dom *z = ptrs[i];

				memmove(&ptrs[1], &ptrs[0], i * sizeof(*ptrs));
				ptrs[0] = z;
				break;
			}
	}
	return n;
}

void view__summary(const struct kxtop_sample *s, char line1[160], char line2[160], char line3[160])
{
	unsigned run = 0, blk = 0, pau = 0, cra = 0, dyi = 0, shu = 0;
	time_t now = (time_t)(s->real_ns / 1000000000ull);
	const struct kxctl_host_info *h = &s->host;
	struct tm tm;
	char hms[16] = "";

	for (unsigned i = 0; i < s->n; i++) {
		uint32_t f = s->dom[i].info.flags;

		run += !!(f & KXCTL_DOMF_RUNNING);
		blk += !!(f & KXCTL_DOMF_BLOCKED);
		pau += !!(f & KXCTL_DOMF_PAUSED);
		cra += !!(f & KXCTL_DOMF_CRASHED);
		dyi += !!(f & KXCTL_DOMF_DYING);
		shu += !!(f & KXCTL_DOMF_SHUTDOWN);
	}
	if (localtime_r(&now, &tm))
		strftime(hms, sizeof(hms), "%H:%M:%S", &tm);
	snprintf(line1, 160, "kxtop - %s   kxen %.32s", hms, h->version);
	snprintf(line2, 160, "%u domains: %u running, %u blocked, %u paused, %u crashed, %u dying, %u shutdown",
	         s->n, run, blk, pau, cra, dyi, shu);
	uint64_t used = h->total_mem_bytes > h->free_mem_bytes ? h->total_mem_bytes - h->free_mem_bytes : 0;
	snprintf(line3, 160, "Mem: %lluk total, %lluk used, %lluk free, %lluk domains    CPUs: %u @ %lluMHz",
	         (unsigned long long)(h->total_mem_bytes >> 10), (unsigned long long)(used >> 10),
	         (unsigned long long)(h->free_mem_bytes >> 10),
	         (unsigned long long)(h->domain_mem_bytes >> 10), h->nr_cpus,
	         (unsigned long long)(h->cpu_khz / 1000));
}

int view__row(const struct kxtop_opts *o, const struct kxtop_dom *d, char *buf, size_t len)
{
	size_t n = 0;

	buf[0] = 0;
	for (unsigned c = 0; c < kxtop_nr_cols && n + 1 < len; c++) {
		if (!view__col_shown(o, c))
			continue;
		if (n) {
			buf[n++] = ' ';
			buf[n] = 0;
		}
		if (d)
			n += (size_t)columns__format(&kxtop_cols[c], d, o->full_names, buf + n, len - n);
		else
			n += (size_t)columns__header(&kxtop_cols[c], buf + n, len - n);
	}
	return (int)n;
}

void view__subrows(const struct kxtop_opts *o, const struct kxtop_dom *d,
                   void (*fn)(const char *line, void *arg), void *arg)
{
	char line[256];

	if (o->vcpus) {
		if (!d->nr_vcpus && d->info.nr_vcpus) {
			fn("    VCPUs: not sampled yet", arg);
		}
		for (unsigned i = 0; i < d->nr_vcpus; i++) {
			const struct kxtop_vcpu *v = &d->vcpu[i];
			const char *st = !v->info.online ? "offline" : v->info.running ? "running" :
			                 v->info.blocked ? "blocked" : "runnable";

			snprintf(line, sizeof(line), "    VCPU %2u: %-8s %10llus %6.1f%%", v->info.vcpu, st,
			         (unsigned long long)(v->info.cpu_ns / 1000000000ull), v->cpu_pct);
			fn(line, arg);
		}
	}
	if (o->networks) {
		if (!d->dev.nr_net_rows)
			fn("    Nets: none reported", arg);
		for (unsigned i = 0; i < d->dev.nr_net_rows; i++) {
			const struct kxtop_net *x = &d->dev.net[i];

			snprintf(line, sizeof(line),
			         "    Net%u RX: %8llubytes %8llupkts %8lluerr %8lludrop  TX: %8llubytes %8llupkts %8lluerr %8lludrop",
			         x->id, (unsigned long long)x->rx_bytes, (unsigned long long)x->rx_pkts,
			         (unsigned long long)x->rx_err, (unsigned long long)x->rx_drop,
			         (unsigned long long)x->tx_bytes, (unsigned long long)x->tx_pkts,
			         (unsigned long long)x->tx_err, (unsigned long long)x->tx_drop);
			fn(line, arg);
		}
	}
	if (o->vbds) {
		if (!d->dev.nr_vbd_rows)
			fn("    VBDs: none reported", arg);
		for (unsigned i = 0; i < d->dev.nr_vbd_rows; i++) {
			const struct kxtop_vbd *x = &d->dev.vbd[i];

			snprintf(line, sizeof(line),
			         "    VBD %u  OO: %8llu   RD: %8llu   WR: %8llu  RSECT: %10llu  WSECT: %10llu",
			         x->id, (unsigned long long)x->oo_req, (unsigned long long)x->rd_req,
			         (unsigned long long)x->wr_req, (unsigned long long)x->rd_sect,
			         (unsigned long long)x->wr_sect);
			fn(line, arg);
		}
	}
}
