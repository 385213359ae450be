/* Device counters for kxtop: kxen-backd's per-vbd and per-vif statistics files. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devstats.h"

/* Where kxen-backd publishes them: $KXEN_RUN_DIR/KIND, else /run/kxen/KIND. */
static const char *stats_dir(const char *kind, char *buf, size_t len)
{
	const char *run = getenv("KXEN_RUN_DIR");

	snprintf(buf, len, "%s/%s", run && *run ? run : "/run/kxen", kind);
	return buf;
}

/* One "DOMID-DEVID" file: "created_ns oo rd wr rsect wsect". 0, or -1 for a stale or bad file. */
static int read_vbd(const char *dir, const char *name, uint64_t created_ns, struct kxtop_vbd *v)
{
	char path[600];
	uint64_t c;
	FILE *f;
	int n;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "r");
	if (!f)
		return -1;
	n = fscanf(f, "%" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64, &c,
	           &v->oo_req, &v->rd_req, &v->wr_req, &v->rd_sect, &v->wr_sect);
	fclose(f);
	/* A file of an earlier domain with the same id is not ours. */
	return n == 6 && (created_ns == 0 || c == 0 || c == created_ns) ? 0 : -1;
}

/*
 * One vif file: "domid devid created_ns tx_bytes tx_pkts tx_err tx_drop
 * rx_bytes rx_pkts rx_err rx_drop" (tx: what the guest sent). 0, or -1 for
 * a stale or bad file.
 */
static int read_vif(const char *dir, const char *name, uint64_t created_ns, struct kxtop_net *v)
{
	char path[600];
	uint64_t dom, dev, c;
	FILE *f;
	int n;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "r");
	if (!f)
		return -1;
	n = fscanf(f, "%" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64
	           " %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64, &dom, &dev, &c,
	           &v->tx_bytes, &v->tx_pkts, &v->tx_err, &v->tx_drop, &v->rx_bytes, &v->rx_pkts,
	           &v->rx_err, &v->rx_drop);
	fclose(f);
	return n == 11 && (created_ns == 0 || c == 0 || c == created_ns) ? 0 : -1;
}

/* Calls fn for each "DOMID-DEVID" file of domid in dir; fn returns 0 to count the device. */
static void scan(const char *dir, uint32_t domid,
                 void (*fn)(const char *dir, const char *name, unsigned id, void *arg), void *arg)
{
	char prefix[24];
	struct dirent *e;
	DIR *d = opendir(dir);

	if (!d)
		return;   /* no backend publishing: no devices */
	snprintf(prefix, sizeof(prefix), "%" PRIu32 "-", domid);
	while ((e = readdir(d))) {
		char *end;
		unsigned long id;

		if (strncmp(e->d_name, prefix, strlen(prefix)) || strstr(e->d_name, ".tmp"))
			continue;
		id = strtoul(e->d_name + strlen(prefix), &end, 10);
		if (!*end)
			fn(dir, e->d_name, (unsigned)id, arg);
	}
	closedir(d);
}

struct scan_arg {
	uint64_t created_ns;
	struct kxtop_devstats *out;
};

static void add_vif(const char *dir, const char *name, unsigned id, void *arg)
{
	struct scan_arg *a = arg;
	struct kxtop_net v = { .id = id };

	if (read_vif(dir, name, a->created_ns, &v))
		return;
	a->out->nr_nets++;
	a->out->net_tx_bytes += v.tx_bytes;
	a->out->net_rx_bytes += v.rx_bytes;
	if (a->out->nr_net_rows < KXTOP_MAX_DEVS)
		a->out->net[a->out->nr_net_rows++] = v;
}

static void add_vbd(const char *dir, const char *name, unsigned id, void *arg)
{
	struct scan_arg *a = arg;
	struct kxtop_vbd v = { .id = id };

	if (read_vbd(dir, name, a->created_ns, &v))
		return;
	a->out->nr_vbds++;
	a->out->vbd_oo += v.oo_req;
	a->out->vbd_rd += v.rd_req;
	a->out->vbd_wr += v.wr_req;
	a->out->vbd_rsect += v.rd_sect;
	a->out->vbd_wsect += v.wr_sect;
	if (a->out->nr_vbd_rows < KXTOP_MAX_DEVS)
		a->out->vbd[a->out->nr_vbd_rows++] = v;
}

int devstats__get(uint32_t domid, uint64_t created_ns, struct kxtop_devstats *out)
{
	struct scan_arg a = { .created_ns = created_ns, .out = out };
	char dir[300];

	memset(out, 0, sizeof(*out));
	scan(stats_dir("vbd", dir, sizeof(dir)), domid, add_vbd, &a);
	scan(stats_dir("vif", dir, sizeof(dir)), domid, add_vif, &a);
	return 0;
}
