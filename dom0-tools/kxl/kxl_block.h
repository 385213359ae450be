/* kxl's block devices: the contract between kxl_block.c and the create path and commands. */
#ifndef KXL_BLOCK_H
#define KXL_BLOCK_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

struct xs_handle;
struct kxconfig;

/* One disk as xl's disk spec describes it (docs/block.md). */
struct kxl_disk_spec {
	char target[PATH_MAX];
	char format[16];           /* raw, qcow2 */
	char vdev[16];             /* xvdb */
	unsigned devid;            /* Xen's vbd number of vdev */
	int readonly;
	int phy;                   /* a block device (<disk type='block'>): backend type phy, as xl's phy: */
	const char *backing;       /* the domain XML's <backingStore> file, or NULL */
	const char *backing_format;
};

/* Xen's device number of xvdX / xvdXY (or a plain number). 0 or -EINVAL. */
int kxl_vdev_to_devid(const char *vdev, unsigned *devid);

/*
 * Parses xl's disk spec: "format=raw, vdev=xvdb, access=rw, target=/path"
 * (target last: it takes the rest) or the positional "/path,raw,xvdb,rw".
 * Format defaults to raw, access to rw. 0 or -EINVAL with err set.
 */
int kxl_disk_spec_parse(const char *spec, struct kxl_disk_spec *s, char *err, size_t errlen);

/*
 * Checks the image opens in its format, then writes the vbd's frontend
 * and backend directories. With wait, waits up to 5 s for kxen-backd to
 * reach InitWait and fails (removing the device) if it wrote a
 * hotplug-error; only warns when no backend answers. 0 or -errno (printed).
 */
int kxl_block_add(struct xs_handle *xs, uint32_t domid, const struct kxl_disk_spec *spec, bool wait);

/*
 * Adds every <disk> of cfg to domid (at create, before the guest runs) and
 * waits for kxen-backd to open each, so that an image it refuses fails the
 * create with its reason. 0 or -errno (printed).
 */
int kxl_block_add_config(struct xs_handle *xs, const struct kxconfig *cfg, uint32_t domid);

/*
 * For kxl -N create: opens each disk of cfg read-only as the backend would
 * and prints path, format, size and access. 0, or -errno after printing
 * "FILE:LINE: <disk>: ..." for the first disk that does not open.
 */
int kxl_block_plan(const struct kxconfig *cfg);

int main_block_attach(int argc, char **argv);
int main_block_detach(int argc, char **argv);
int main_block_list(int argc, char **argv);

#endif
