/* Device counters for kxtop: kxen-backd's per-vbd statistics files (vif: not yet published). */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devstats.h"

/* Where kxen-backd publishes them: $KXEN_RUN_DIR/vbd, else /run/kxen/vbd. */
static const char *vbd_dir(char *buf, size_t len)
{
	const char *run = getenv("KXEN_RUN_DIR");

	snprintf(buf, len, "%s/vbd", run && *run ? run : "/run/kxen");
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

int devstats__get(uint32_t domid, uint64_t created_ns, struct kxtop_devstats *out)
{
	char dir[300], prefix[24];
	struct dirent *e;
	DIR *d;

	memset(out, 0, sizeof(*out));
	d = opendir(vbd_dir(dir, sizeof(dir)));
	if (!d)
		return 0;   /* no backend publishing: no devices */
	snprintf(prefix, sizeof(prefix), "%" PRIu32 "-", domid);
	while ((e = readdir(d))) {
		struct kxtop_vbd v = { 0 };
		char *end;

		if (strncmp(e->d_name, prefix, strlen(prefix)) || strstr(e->d_name, ".tmp"))
			continue;
		v.id = (unsigned)strtoul(e->d_name + strlen(prefix), &end, 10);
		if (*end || read_vbd(dir, e->d_name, created_ns, &v))
			continue;
		out->nr_vbds++;
		out->vbd_oo += v.oo_req;
		out->vbd_rd += v.rd_req;
		out->vbd_wr += v.wr_req;
		out->vbd_rsect += v.rd_sect;
		out->vbd_wsect += v.wr_sect;
		if (out->nr_vbd_rows < KXTOP_MAX_DEVS)
			out->vbd[out->nr_vbd_rows++] = v;
	}
	closedir(d);
	return 0;
}
