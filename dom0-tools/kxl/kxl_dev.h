/* kxl's generic xenbus device plumbing (vbd, vif): the contract between kxl_dev.c and the device commands. */
#ifndef KXL_DEV_H
#define KXL_DEV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct xs_handle;

/* One key and value written into a device directory. */
struct kxl_dev_kv {
	const char *key;
	const char *val;
};

/*
 * A device as the toolstack adds it. The frontend directory is
 * /local/domain/DOMID/device/TYPE/DEVID, the backend directory
 * /local/domain/BACKEND/backend/TYPE/DOMID/DEVID. kxl_dev_add writes, as
 * libxl does, frontend: backend, backend-id, state=1 and fe[]; backend:
 * frontend, frontend-id, online=1, state=1 and be[]. The frontend
 * directory belongs to the guest (the backend may read it), the backend
 * directory to the backend domain (the guest may read it).
 */
struct kxl_dev {
	const char *type;                 /* "vbd", "vif" */
	uint32_t domid;                   /* the frontend's domain */
	uint32_t backend_domid;           /* 0: kxen-backd in dom0 */
	unsigned devid;
	const struct kxl_dev_kv *fe;      /* extra frontend keys; n_fe entries */
	unsigned n_fe;
	const struct kxl_dev_kv *be;      /* extra backend keys; n_be entries */
	unsigned n_be;
};

/*
 * Writes both directories in one transaction on a batch connection of its
 * own (kxl_xsb_txn: three round trips, retried on EAGAIN). -EEXIST when the
 * frontend or backend directory already exists. Returns 0 or -errno after
 * printing what failed; nothing of the device is left then.
 */
int kxl_dev_add(const struct kxl_dev *d);

/*
 * The start of a device command on DOM: looks it up (kxen-hv is not needed
 * after that) and connects to xenstore into *xs (NULL on failure). Domain 0
 * is refused ("domain 0 is the host: WHAT are for guests"). Returns 0 or
 * -errno after printing why.
 */
int kxl_dev_open_dom(const char *dom, const char *what, uint32_t *domid, struct xs_handle **xs);

/*
 * Waits up to timeout_ms for the backend to take a device it was just given:
 * 0 once its state is InitWait..Connected, -EIO with its hotplug-error text
 * in err when it refused the device, -ETIMEDOUT when no backend answered.
 */
int kxl_dev_wait_backend(struct xs_handle *xs, const char *type, uint32_t domid, unsigned devid,
                         unsigned timeout_ms, char *err, size_t errlen);

/* How long detach waits for the backend to close, by default (xl's 10 s). */
#define KXL_DEV_DETACH_TIMEOUT_S 10

/*
 * Hot-unplug with Xen's close sequence: writes the backend's online=0 and
 * state=5 (Closing), waits up to timeout_s seconds for the backend to
 * reach state 6 (Closed) (or for it to vanish), then removes both
 * directories. Without force a timeout leaves everything in place and
 * returns -ETIMEDOUT; with force the directories go anyway. -ENODEV when
 * the device does not exist. Messages are printed.
 */
int kxl_dev_remove(struct xs_handle *xs, const char *type, uint32_t domid, unsigned devid,
                   unsigned timeout_s, bool force);

/*
 * Removes both directories of a device no backend has taken (an attach
 * that failed or timed out): there is no close sequence to run. Quiet.
 */
void kxl_dev_discard(struct xs_handle *xs, const char *type, uint32_t domid, unsigned devid);

/* What kxl_dev_list reports of one device (strings "-" when the key is absent). */
struct kxl_dev_info {
	unsigned devid;
	uint32_t backend_domid;
	int fe_state, be_state;           /* XenbusState, -1 when unreadable */
	char evtchn[16];                  /* frontend's event-channel */
	char ring_ref[16];                /* frontend's ring-ref (or ring-ref0) */
	char be_path[128];
};

/*
 * The devices of TYPE of domid, sorted by devid: *out is malloc'd (caller
 * frees), *n its length. Returns 0 or -errno.
 */
int kxl_dev_list(struct xs_handle *xs, const char *type, uint32_t domid, struct kxl_dev_info **out,
                 unsigned *n);

/* Reads KEY of the frontend (fe true) or backend directory into buf; 0 or -errno. */
int kxl_dev_read(struct xs_handle *xs, const char *type, uint32_t domid, unsigned devid, bool fe,
                 const char *key, char *buf, size_t len);


#endif
