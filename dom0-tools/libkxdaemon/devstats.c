/* Per-device counter files that kxen-backd writes and kxtop reads: one writer, one parser, one format for every kind. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kxen/kxd.h"

static const char *const vbd_names[KXD_VBD_NR] = {
	[KXD_VBD_OO_REQ] = "oo_req", [KXD_VBD_RD_REQ] = "rd_req", [KXD_VBD_WR_REQ] = "wr_req",
	[KXD_VBD_RD_SECT] = "rd_sect", [KXD_VBD_WR_SECT] = "wr_sect",
};
static const char *const vif_names[KXD_VIF_NR] = {
	[KXD_VIF_TX_BYTES] = "tx_bytes", [KXD_VIF_TX_PKTS] = "tx_pkts", [KXD_VIF_TX_ERR] = "tx_err",
	[KXD_VIF_TX_DROP] = "tx_drop", [KXD_VIF_RX_BYTES] = "rx_bytes", [KXD_VIF_RX_PKTS] = "rx_pkts",
	[KXD_VIF_RX_ERR] = "rx_err", [KXD_VIF_RX_DROP] = "rx_drop",
};
const struct kxd_devkind kxd_devstats_vbd = { "vbd", KXD_VBD_NR, vbd_names };
const struct kxd_devkind kxd_devstats_vif = { "vif", KXD_VIF_NR, vif_names };

/* The largest file a writer makes: a name and 20 digits per line. */
#define MAX_TEXT 1024

static int dev_path(const struct kxd_devkind *k, uint32_t domid, uint32_t devid, char *buf, size_t len)
{
	return (size_t)snprintf(buf, len, "%s/%s/%" PRIu32 "-%" PRIu32, kxd_rundir(), k->dir, domid,
	                        devid) >= len ? -ENAMETOOLONG : 0;
}

int kxd_devstats_write(const struct kxd_devkind *k, uint32_t domid, uint32_t devid,
                       uint64_t created_ns, const uint64_t *vals)
{
	char path[512], tmp[520], text[MAX_TEXT];
	int n, fd, rc;

	if ((rc = dev_path(k, domid, devid, path, sizeof(path))))
		return rc;
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	n = snprintf(text, sizeof(text), "created_ns %" PRIu64 "\n", created_ns);
	for (unsigned i = 0; i < k->n && n < (int)sizeof(text); i++)
		n += snprintf(text + n, sizeof(text) - n, "%s %" PRIu64 "\n", k->names[i], vals[i]);
	if (n >= (int)sizeof(text))
		return -E2BIG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 && errno == ENOENT) {
		char dir[512];

		if ((rc = kxd_rundir_mkdir(k->dir, dir, sizeof(dir))))
			return rc;
		fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	}
	if (fd < 0)
		return -errno;
	rc = write(fd, text, (size_t)n) == n ? 0 : -EIO;
	if (close(fd) < 0 && !rc)
		rc = -errno;
	/* Readers see the old file or the new one, never half of one. */
	if (!rc && rename(tmp, path) < 0)
		rc = -errno;
	if (rc)
		unlink(tmp);
	return rc;
}

int kxd_devstats_remove(const struct kxd_devkind *k, uint32_t domid, uint32_t devid)
{
	char path[512];
	int rc = dev_path(k, domid, devid, path, sizeof(path));

	if (rc)
		return rc;
	return unlink(path) < 0 && errno != ENOENT ? -errno : 0;
}

/* Strict unsigned decimal of at most 20 digits that fits 64 bits. */
static int parse_u64(const char *s, size_t len, uint64_t *out)
{
	uint64_t v = 0;

	if (len == 0 || len > 20)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		unsigned d = (unsigned)(s[i] - '0');

		if (d > 9 || v > (UINT64_MAX - d) / 10)
			return -EINVAL;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

int kxd_devstats_parse(const struct kxd_devkind *k, const char *text, uint64_t *created_ns, uint64_t *vals)
{
	uint32_t seen = 0, all = (1u << (k->n + 1)) - 1;   /* bit 0: created_ns, bit i+1: counter i */

	while (*text) {
		const char *nl = strchr(text, '\n'), *sp = strchr(text, ' ');
		size_t nlen;
		int idx = -2;
		uint64_t v;

		if (!nl || !sp || sp > nl)
			return -EINVAL;   /* every line ends and holds "name value" */
		nlen = (size_t)(sp - text);
		if (nlen == 10 && !memcmp(text, "created_ns", 10))
			idx = -1;
		for (unsigned i = 0; idx == -2 && i < k->n; i++)
			if (strlen(k->names[i]) == nlen && !memcmp(text, k->names[i], nlen))
				idx = (int)i;
		if (parse_u64(sp + 1, (size_t)(nl - sp - 1), &v))
			return -EINVAL;
		if (idx != -2) {
			if (seen & (1u << (idx + 1)))
				return -EINVAL;
			seen |= 1u << (idx + 1);
			if (idx == -1)
				*created_ns = v;
			else
				vals[idx] = v;
		}
		text = nl + 1;
	}
	return seen == all ? 0 : -EINVAL;
}

static int read_file(const char *path, const struct kxd_devkind *k, uint64_t *created_ns, uint64_t *vals)
{
	char text[MAX_TEXT + 1];
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, text, sizeof(text));
	close(fd);
	if (n < 0 || n > MAX_TEXT)
		return -EINVAL;
	text[n] = 0;
	if (memchr(text, 0, (size_t)n))
		return -EINVAL;
	return kxd_devstats_parse(k, text, created_ns, vals);
}

int kxd_devstats_scan(const struct kxd_devkind *k, uint32_t domid, uint64_t created_ns,
                      void (*fn)(uint32_t devid, const uint64_t *vals, void *arg), void *arg)
{
	char dir[512], prefix[16], path[800];
	struct dirent *e;
	int found = 0;
	DIR *d;

	if ((size_t)snprintf(dir, sizeof(dir), "%s/%s", kxd_rundir(), k->dir) >= sizeof(dir) ||
	    !(d = opendir(dir)))
		return 0;   /* no backend publishing: no devices */
	snprintf(prefix, sizeof(prefix), "%" PRIu32 "-", domid);
	while ((e = readdir(d))) {
		const char *id = e->d_name + strlen(prefix);
		uint64_t devid, c, vals[KXD_DEVSTATS_MAX];

		/* Temporaries end in .tmp and fail the strict number. */
		if (strncmp(e->d_name, prefix, strlen(prefix)) || parse_u64(id, strlen(id), &devid) ||
		    devid > UINT32_MAX)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (read_file(path, k, &c, vals))
			continue;
		/* A file an earlier domain with the same id left is not this one's. */
		if (created_ns && c && c != created_ns)
			continue;
		fn((uint32_t)devid, vals, arg);
		found++;
	}
	closedir(d);
	return found;
}
