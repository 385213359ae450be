/* Sampling kxen-hv and deriving honest rates: CPU% and per-second counters over the real elapsed interval. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kxtop.h"

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t sample__now_mono(void) { return clock_ns(CLOCK_MONOTONIC); }
uint64_t sample__now_real(void) { return clock_ns(CLOCK_REALTIME); }

void sample__free(struct kxtop_sample *s)
{
	free(s->dom);
	s->dom = NULL;
	s->n = 0;
}

int sample__fetch(kxctrl *h, struct kxtop_sample *s, bool with_vcpus)
{
	struct kxctl_dominfo *all = NULL;
	unsigned n = 0;
	int rc;

	sample__free(s);
	if ((rc = kxctrl_host_info(h, &s->host)) < 0)
		goto out;
	if ((rc = kxctrl_domain_list(h, &all, &n)) < 0)
		goto out;
	/* Both clocks right after the list: the counters were read at this moment. */
	s->mono_ns = sample__now_mono();
	s->real_ns = sample__now_real();
	if (n && !(s->dom = calloc(n, sizeof(*s->dom)))) {
		rc = -ENOMEM;
		goto out;
	}
	for (unsigned i = 0; i < n; i++) {
		struct kxtop_dom *d = &s->dom[i];
		struct kxctl_vcpuinfo v[KXTOP_MAX_VCPUS];
		unsigned nv = 0;

		d->info = all[i];
		d->info.name[KXCTL_NAME_MAX - 1] = 0;
		devstats__get(d->info.domid, d->info.created_ns, &d->dev);
		struct kxctl_sched_credit_reply sc;
		if (d->info.domid && kxctrl_sched_credit(h, d->info.domid, 0, 0, 0, &sc) == 0) {
			d->weight = sc.weight;
			d->cap = sc.cap;
		}
		if (!with_vcpus)
			continue;
		/* The domain may vanish between the list and this call: then it simply has no vCPU rows. */
		if (kxctrl_vcpu_info(h, d->info.domid, v, KXTOP_MAX_VCPUS, &nv) == 0) {
			d->nr_vcpus = nv < KXTOP_MAX_VCPUS ? nv : KXTOP_MAX_VCPUS;
			for (unsigned j = 0; j < d->nr_vcpus; j++)
				d->vcpu[j].info = v[j];
		}
	}
	s->n = n;
	rc = 0;
out:
	free(all);
	if (rc < 0)
		sample__free(s);
	return rc;
}

/* Rate of a counter per second: over the interval when old is usable, else over the lifetime. */
static double rate(uint64_t now, const uint64_t *old, double interval_s, double lifetime_s)
{
	if (old && now >= *old && interval_s > 0)
		return (double)(now - *old) / interval_s;
	return lifetime_s > 0 ? (double)now / lifetime_s : 0.0;
}

static const struct kxtop_dom *find_prev(const struct kxtop_sample *prev, unsigned *cursor,
                                         const struct kxtop_dom *d)
{
	/* Both samples are sorted by domid: a merge walk keeps matching O(n). */
	while (*cursor < prev->n && prev->dom[*cursor].info.domid < d->info.domid)
		++*cursor;
	if (*cursor < prev->n && prev->dom[*cursor].info.domid == d->info.domid &&
	    prev->dom[*cursor].info.created_ns == d->info.created_ns)
		return &prev->dom[*cursor];
	return NULL;
}

void sample__derive(struct kxtop_sample *cur, const struct kxtop_sample *prev)
{
	double interval_s = prev && cur->mono_ns > prev->mono_ns ?
	                    (double)(cur->mono_ns - prev->mono_ns) / 1e9 : 0.0;
	double host_mem = (double)cur->host.total_mem_bytes;
	unsigned cursor = 0;

	for (unsigned i = 0; i < cur->n; i++) {
		struct kxtop_dom *d = &cur->dom[i];
		const struct kxtop_dom *p = prev && interval_s > 0 ? find_prev(prev, &cursor, d) : NULL;
		double life_s = cur->real_ns > d->info.created_ns ?
		                (double)(cur->real_ns - d->info.created_ns) / 1e9 : 0.0;

		/* A counter that went backwards is a reset: the whole row falls back to lifetime figures. */
		if (p && (d->info.cpu_ns < p->info.cpu_ns || d->info.exits < p->info.exits ||
		          d->info.hypercalls < p->info.hypercalls || d->info.events < p->info.events))
			p = NULL;
		d->is_new = !p;
		d->cpu_pct = 100.0 * rate(d->info.cpu_ns, p ? &p->info.cpu_ns : NULL, interval_s, life_s) / 1e9;
		d->exits_ps = rate(d->info.exits, p ? &p->info.exits : NULL, interval_s, life_s);
		d->hcalls_ps = rate(d->info.hypercalls, p ? &p->info.hypercalls : NULL, interval_s, life_s);
		d->events_ps = rate(d->info.events, p ? &p->info.events : NULL, interval_s, life_s);
		d->mem_pct = host_mem > 0 ? 100.0 * (double)d->info.mem_bytes / host_mem : 0.0;
		d->maxmem_pct = host_mem > 0 ? 100.0 * (double)d->info.max_mem_bytes / host_mem : 0.0;
		for (unsigned j = 0; j < d->nr_vcpus; j++) {
			const uint64_t *old = p && j < p->nr_vcpus ? &p->vcpu[j].info.cpu_ns : NULL;

			d->vcpu[j].cpu_pct = 100.0 * rate(d->vcpu[j].info.cpu_ns, old, interval_s, life_s) / 1e9;
		}
	}
}
