/* Block devices (vbd) for the toolstack: xl's disk spec, block-attach/detach/list, and the XML's disks at create (docs/block.md). */
#include <config.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <xenstore.h>
#include <xen/io/xenbus.h>
#include "kxen/disk.h"
#include "kxen/kxconfig.h"
#include "kxl.h"
#include "kxl_block.h"
#include "kxl_dev.h"
#include "kxl_xs.h"

#define ATTACH_WAIT_MS   5000

int kxl_vdev_to_devid(const char *vdev, unsigned *devid)
{
	size_t n = strlen(vdev);
	char *end;

	/* A number is a devid already (as xl accepts). */
	if (n && vdev[0] >= '0' && vdev[0] <= '9') {
		unsigned long v = strtoul(vdev, &end, 10);
		if (*end || v == 0 || v > INT_MAX)
			return -EINVAL;
		*devid = (unsigned)v;
		return 0;
	}
	/* Xen's vbd interface (docs/misc/vbd-interface.txt): xvdX is 202<<8 | disk<<4, the extended scheme beyond xvdp. */
	if (n == 4 && !strncmp(vdev, "xvd", 3) && vdev[3] >= 'a' && vdev[3] <= 'z') {
		unsigned disk = (unsigned)(vdev[3] - 'a');
		*devid = disk < 16 ? (202u << 8) | (disk << 4) : (1u << 28) | (disk << 8);
		return 0;
	}
	if (n == 5 && !strncmp(vdev, "xvd", 3) && vdev[3] >= 'a' && vdev[3] <= 'z' && vdev[4] >= 'a' &&
	    vdev[4] <= 'z') {
		unsigned disk = 26u * (unsigned)(vdev[3] - 'a' + 1) + (unsigned)(vdev[4] - 'a');
		*devid = (1u << 28) | (disk << 8);
		return 0;
	}
	return -EINVAL;
}

static int set_access(struct kxl_disk_spec *s, const char *v)
{
	if (!strcmp(v, "r") || !strcmp(v, "ro"))
		s->readonly = 1;
	else if (!strcmp(v, "w") || !strcmp(v, "rw"))
		s->readonly = 0;
	else
		return -EINVAL;
	return 0;
}

int kxl_disk_spec_parse(const char *spec, struct kxl_disk_spec *s, char *err, size_t errlen)
{
	char *copy = strdup(spec), *p, *tok;
	unsigned pos = 0;
	int rc = -EINVAL;

	memset(s, 0, sizeof(*s));
	snprintf(s->format, sizeof(s->format), "raw");
	if (!copy)
		return -ENOMEM;
	for (p = copy; p && *p;) {
		char *eq;

		while (*p == ' ')
			p++;
		/* target= takes the rest of the spec (xl's rule), so a path may hold commas. */
		if (!strncmp(p, "target=", 7)) {
			snprintf(s->target, sizeof(s->target), "%s", p + 7);
			break;
		}
		tok = p;
		p = strchr(p, ',');
		if (p)
			*p++ = 0;
		eq = strchr(tok, '=');
		if (eq) {
			*eq = 0;
			const char *v = eq + 1;
			if (!strcmp(tok, "format")) {
				snprintf(s->format, sizeof(s->format), "%s", v);
			} else if (!strcmp(tok, "vdev")) {
				snprintf(s->vdev, sizeof(s->vdev), "%s", v);
			} else if (!strcmp(tok, "access")) {
				if (set_access(s, v)) {
					snprintf(err, errlen, "access=%s: expected r, ro, w or rw", v);
					goto out;
				}
			} else if (!strcmp(tok, "devtype")) {
				if (strcmp(v, "disk")) {
					snprintf(err, errlen, "devtype=%s: only disk is supported", v);
					goto out;
				}
			} else {
				snprintf(err, errlen, "unknown disk spec key '%s'", tok);
				goto out;
			}
			continue;
		}
		/* xl's positional form: target, format, vdev, access. */
		switch (pos++) {
		case 0: snprintf(s->target, sizeof(s->target), "%s", tok); break;
		case 1: if (*tok) snprintf(s->format, sizeof(s->format), "%s", tok); break;
		case 2: snprintf(s->vdev, sizeof(s->vdev), "%s", tok); break;
		case 3:
			if (set_access(s, tok)) {
				snprintf(err, errlen, "access '%s': expected r, ro, w or rw", tok);
				goto out;
			}
			break;
		default:
			snprintf(err, errlen, "too many positional fields at '%s'", tok);
			goto out;
		}
	}
	/* xl's legacy target prefixes: phy: a block device (served raw), file: an image. */
	if (!strncmp(s->target, "phy:", 4) || !strncmp(s->target, "file:", 5)) {
		size_t skip = s->target[0] == 'p' ? 4 : 5;
		s->phy = skip == 4;
		memmove(s->target, s->target + skip, strlen(s->target + skip) + 1);
	}
	if (!s->target[0]) {
		snprintf(err, errlen, "no target (the image file)");
		goto out;
	}
	if (s->phy && strcmp(s->format, "raw")) {
		snprintf(err, errlen, "format=%s: a phy: block device is served raw", s->format);
		goto out;
	}
	if (strcmp(s->format, "raw") && strcmp(s->format, "qcow2")) {
		snprintf(err, errlen, "format=%s: expected raw or qcow2", s->format);
		goto out;
	}
	if (!s->vdev[0]) {
		snprintf(err, errlen, "no vdev (e.g. vdev=xvdb)");
		goto out;
	}
	if (kxl_vdev_to_devid(s->vdev, &s->devid)) {
		snprintf(err, errlen, "vdev=%s: expected xvdX, xvdXY or a device number", s->vdev);
		goto out;
	}
	rc = 0;
out:
	free(copy);
	return rc;
}

int kxl_block_add(struct xs_handle *xs, uint32_t domid, const struct kxl_disk_spec *spec, bool wait)
{
	char path[PATH_MAX], devid_s[16], err[512];
	struct disk *d = NULL;
	int rc;

	if (!realpath(spec->target, path)) {
		rc = -errno;
		kxl_err("disk %s: %s", spec->target, strerror(errno));
		return rc;
	}
	/* Open it here too so that a bad image is refused with the reason before the guest sees it. */
	if ((rc = disk_open_backed(&d, path, spec->format, DISK_RDONLY, spec->backing, spec->backing_format,
	                           err, sizeof(err)))) {
		kxl_err("disk %s (format %s): %s", path, spec->format, err);
		return rc;
	}
	disk_close(d);
	snprintf(devid_s, sizeof(devid_s), "%u", spec->devid);
	const struct kxl_dev_kv fe[] = {
		{ "virtual-device", devid_s },
		{ "device-type", "disk" },
	};
	/* libxl's backend keys, plus format (libkxdisk's name for the image format). */
	const struct kxl_dev_kv be[] = {
		{ "params", path },
		{ "format", spec->format },
		{ "type", spec->phy ? "phy" : "file" },
		{ "mode", spec->readonly ? "r" : "w" },
		{ "dev", spec->vdev },
		{ "device-type", "disk" },
		{ "removable", "0" },
		{ "bootable", "1" },
		{ "discard-enable", spec->readonly ? "0" : "1" },
		/* Ours: the backing file the domain XML names, which kxen-backd follows wherever it lies. */
		{ "backing", spec->backing },
		{ "backing-format", spec->backing_format },
	};
	struct kxl_dev dev = {
		.type = "vbd", .domid = domid, .backend_domid = 0, .devid = spec->devid,
		.fe = fe, .n_fe = sizeof(fe) / sizeof(fe[0]), .be = be,
		/* The last two only when the XML names a backing file. */
		.n_be = sizeof(be) / sizeof(be[0]) - 2 + !!spec->backing + !!(spec->backing && spec->backing_format),
	};
	if ((rc = kxl_dev_add(&dev)))
		return rc;
	if (!wait)
		return 0;
	rc = kxl_dev_wait_backend(xs, "vbd", domid, spec->devid, ATTACH_WAIT_MS, err, sizeof(err));
	if (rc == -EIO) {
		kxl_err("the block backend refused %s (%s): %s", spec->vdev, path, err);
		kxl_dev_remove(xs, "vbd", domid, spec->devid, 0, true);
		return rc;
	}
	if (rc == -ETIMEDOUT)
		fprintf(stderr, "kxl: warning: no block backend picked up %s within %u s "
		        "(is kxen-backd running?); it will connect when one does\n", spec->vdev,
		        ATTACH_WAIT_MS / 1000);
	return 0;
}

static int config_spec(const struct kxconfig *cfg, unsigned i, struct kxl_disk_spec *s)
{
	const struct kxconfig_disk *cd = &cfg->disks[i];

	memset(s, 0, sizeof(*s));
	s->readonly = cd->readonly;
	s->phy = cd->block;
	s->backing = cd->backing;
	s->backing_format = cd->backing_format;
	snprintf(s->target, sizeof(s->target), "%s", cd->file);
	snprintf(s->format, sizeof(s->format), "%s", cd->qcow2 ? "qcow2" : "raw");
	snprintf(s->vdev, sizeof(s->vdev), "%s", cd->target);
	if (kxl_vdev_to_devid(s->vdev, &s->devid)) {
		kxl_err("%s:%d: <target dev='%s'>: expected xvdX", cfg->source, cd->line, cd->target);
		return -EINVAL;
	}
	return 0;
}

int kxl_block_add_config(struct xs_handle *xs, const struct kxconfig *cfg, uint32_t domid)
{
	for (unsigned i = 0; i < cfg->ndisks; i++) {
		struct kxl_disk_spec s;
		int rc;

		/*
		 * Waiting for the backend's open (milliseconds) is what turns a refusal
		 * that only a read-write open finds (a dirty image, snapshots) into a
		 * failed create rather than a guest waiting for its disk.
		 */
		if ((rc = config_spec(cfg, i, &s)) || (rc = kxl_block_add(xs, domid, &s, true))) {
			kxl_err("%s:%d: <disk>: cannot add %s", cfg->source, cfg->disks[i].line,
			        cfg->disks[i].target);
			return rc;
		}
	}
	return 0;
}

int kxl_block_plan(const struct kxconfig *cfg)
{
	for (unsigned i = 0; i < cfg->ndisks; i++) {
		struct kxl_disk_spec s;
		struct disk *d = NULL;
		char err[512];
		int rc;

		if ((rc = config_spec(cfg, i, &s)))
			return rc;
		if ((rc = disk_open(&d, s.target, s.format, DISK_RDONLY, err, sizeof(err)))) {
			kxl_err("%s:%d: <disk>: %s", cfg->source, cfg->disks[i].line, err);
			return rc;
		}
		printf("  disk %s: %s, %s, %llu bytes (%llu MiB), %s%s\n", s.vdev, s.target,
		       disk_format(d), (unsigned long long)disk_size(d),
		       (unsigned long long)(disk_size(d) >> 20), s.readonly ? "read-only" : "read-write",
		       s.phy ? ", block device" : "");
		disk_close(d);
	}
	return 0;
}

int main_block_attach(int argc, char **argv)
{
	struct xs_handle *xs = NULL;
	struct kxl_disk_spec s;
	char spec[PATH_MAX + 128] = "", err[256];
	uint32_t domid;
	int opt, ec, rc = KXL_FAIL;

	while ((opt = kxl_getopt(argc, argv, "", &ec)) != -1)
		if (opt == KXL_OPT_EXIT)
			return ec;
	if (argc - optind < 2)
		return kxl_usage_error("block-attach", "expected a domain and a disk spec");
	/* xl joins the remaining arguments with commas ("target,format,vdev,access" may come split). */
	for (int i = optind + 1; i < argc; i++) {
		size_t l = strlen(spec);
		snprintf(spec + l, sizeof(spec) - l, "%s%s", l ? "," : "", argv[i]);
	}
	if (kxl_disk_spec_parse(spec, &s, err, sizeof(err))) {
		kxl_err("block-attach: disk spec '%s': %s", spec, err);
		return KXL_USAGE;
	}
	if (kxl_dev_open_dom(argv[optind], "block devices", &domid, &xs))
		goto out;
	if (kxl_block_add(xs, domid, &s, true) == 0)
		rc = KXL_OK;
out:
	if (xs)
		xs_close(xs);
	return rc;
}

int main_block_detach(int argc, char **argv)
{
	struct xs_handle *xs = NULL;
	unsigned devid, timeout = KXL_DEV_DETACH_TIMEOUT_S;
	uint32_t domid;
	int opt, ec, force = 0, rc = KXL_FAIL;

	while ((opt = kxl_getopt(argc, argv, "ft:", &ec)) != -1) {
		if (opt == KXL_OPT_EXIT)
			return ec;
		if (opt == 'f')
			force = 1;
		else if (opt == 't') {
			char *end;
			unsigned long v = strtoul(optarg, &end, 10);
			if (*end || end == optarg || v > 3600)
				return kxl_usage_error("block-detach", "-t: expected seconds (0-3600)");
			timeout = (unsigned)v;
		}
	}
	if (argc - optind != 2)
		return kxl_usage_error("block-detach", "expected a domain and a device (xvdX or devid)");
	if (kxl_vdev_to_devid(argv[optind + 1], &devid)) {
		kxl_err("block-detach: '%s' is not a device: expected xvdX, xvdXY or a device number",
		        argv[optind + 1]);
		return KXL_USAGE;
	}
	if (kxl_dev_open_dom(argv[optind], "block devices", &domid, &xs))
		goto out;
	if (kxl_dev_remove(xs, "vbd", domid, devid, timeout, force) == 0)
		rc = KXL_OK;
out:
	if (xs)
		xs_close(xs);
	return rc;
}

int main_block_list(int argc, char **argv)
{
	int opt, ec, rc = KXL_OK;

	while ((opt = kxl_getopt(argc, argv, "", &ec)) != -1)
		if (opt == KXL_OPT_EXIT)
			return ec;
	if (argc - optind < 1)
		return kxl_usage_error("block-list", "expected one or more domains");
	/* xl block-list's columns. */
	printf("%-5s %-3s %-6s %-5s %-6s %-8s %-30s\n", "Vdev", "BE", "handle", "state", "evt-ch",
	       "ring-ref", "BE-path");
	for (int i = optind; i < argc; i++) {
		struct xs_handle *xs = NULL;
		struct kxl_dev_info *v = NULL;
		uint32_t domid;
		unsigned n = 0;

		if (kxl_dev_open_dom(argv[i], "block devices", &domid, &xs) ||
		    kxl_dev_list(xs, "vbd", domid, &v, &n)) {
			rc = KXL_FAIL;
		} else {
			for (unsigned k = 0; k < n; k++)
				printf("%-5u %-3u %-6u %-5d %-6s %-8s %-30s\n", v[k].devid,
				       v[k].backend_domid, v[k].devid, v[k].fe_state, v[k].evtchn,
				       v[k].ring_ref, v[k].be_path);
		}
		free(v);
		if (xs)
			xs_close(xs);
	}
	return rc;
}
