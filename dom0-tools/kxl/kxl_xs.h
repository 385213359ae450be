/* kxl's xenstore side: the contract between the lifecycle commands and kxl_xs.c. */
#ifndef KXL_XS_H
#define KXL_XS_H

#include <stdint.h>
#include <time.h>

struct xs_handle;

/* console/limit, as libxl writes it: the backend's per-domain log budget in bytes/s. */
#define KXL_XS_CONSOLE_LIMIT 1048576

struct kxl_xs_domain {
	uint32_t domid;
	const char *name;
	const uint8_t *uuid;      /* 16 bytes */
	uint64_t mem_kib;
	unsigned vcpus;
	uint64_t store_pfn, console_pfn;
	uint32_t store_port, console_port;     /* the guest's ports, unbound for dom0 */
	struct timespec start_time;
};

/* Where kxl looks for kxenstored: $XENSTORED_PATH, else Xen's default socket. */
const char *kxl_xs_socket_path(void);
/* Connects to kxenstored; on failure prints where it looked and how to start it. */
struct xs_handle *kxl_xs_open(void);
/*
 * Writes d's standard paths (/local/domain/N, /vm/UUID) in one transaction,
 * then INTRODUCEs the domain. Returns 0, or -errno after printing what
 * failed and removing whatever was written.
 */
int kxl_xs_introduce(struct xs_handle *xs, const struct kxl_xs_domain *d);
/* Removes a domain's paths and releases it; quiet, as the paths may already be gone. */
void kxl_xs_forget(struct xs_handle *xs, uint32_t domid);
/* Writes /local/domain/N/control/NODE = value. Returns 0 or -errno. */
int kxl_xs_control(struct xs_handle *xs, uint32_t domid, const char *node, const char *value);
/* Reads /local/domain/N/control/NODE into buf. Returns 0 or -errno (-ENOENT: no such node). */
int kxl_xs_read_control(struct xs_handle *xs, uint32_t domid, const char *node, char *buf,
                        size_t len);

#endif
