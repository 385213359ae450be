/* kxl's network interfaces: the contract between kxl_network.c and the create path and commands. */
#ifndef KXL_NETWORK_H
#define KXL_NETWORK_H

#include <stddef.h>
#include <stdint.h>

struct xs_handle;
struct kxconfig;

/* One vif as network-attach or an <interface> describes it. */
struct kxl_vif_spec {
	uint8_t mac[6];            /* unicast */
	const char *bridge;        /* the switch's name in kxen-backd */
	const char *ip;            /* NULL, or the backend's ip key (A.B.C.D/N) */
	const char *vifname;       /* NULL, or the backend's vifname key (libxl's, from <target dev>) */
};

/*
 * Adds a vif with the lowest free devid (kxl_dev_add: libxl's keys and
 * permissions in one transaction) and waits up to 10 s for kxen-backd to
 * take it; a refused or untaken vif is removed again. *devid set on
 * success. 0 or -errno (printed).
 */
int kxl_network_add(struct xs_handle *xs, uint32_t domid, const struct kxl_vif_spec *v, int *devid);

/*
 * The name of cfg's interface i in domid: its <target dev>, else Xen's
 * vifD.N (N = i: create gives the config's vifs devids 0, 1, ... in order).
 */
void kxl_network_vifname(const struct kxconfig *cfg, unsigned i, uint32_t domid, char *out,
                         size_t len);

/* Adds every <interface> of cfg to domid (at create, before the guest runs). 0 or -errno (printed). */
int kxl_network_add_config(struct xs_handle *xs, const struct kxconfig *cfg, uint32_t domid);

#endif
