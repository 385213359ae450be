/* Network and block device counters per domain, as kxen-backd's device statistics files report them. */
#ifndef KXTOP_DEVSTATS_H
#define KXTOP_DEVSTATS_H

#include <stdint.h>

#define KXTOP_MAX_DEVS 8   /* sub-rows shown per domain and kind */

/* One vif, counters since the device connected (bytes, packets as xentop shows them). */
struct kxtop_net {
	unsigned id;
	uint64_t tx_bytes, tx_pkts, tx_err, tx_drop;
	uint64_t rx_bytes, rx_pkts, rx_err, rx_drop;
};

/* One vbd, counters since the device connected (requests and 512-byte sectors). */
struct kxtop_vbd {
	unsigned id;
	uint64_t oo_req, rd_req, wr_req, rd_sect, wr_sect;
};

/* What the backends report for one domain; totals are over all its devices. */
struct kxtop_devstats {
	unsigned nr_nets, nr_vbds;            /* devices the domain has */
	uint64_t net_tx_bytes, net_rx_bytes;
	uint64_t vbd_oo, vbd_rd, vbd_wr, vbd_rsect, vbd_wsect;
	unsigned nr_net_rows, nr_vbd_rows;    /* entries filled below (at most KXTOP_MAX_DEVS) */
	struct kxtop_net net[KXTOP_MAX_DEVS];
	struct kxtop_vbd vbd[KXTOP_MAX_DEVS];
};

/*
 * Fills *out with domid's device counters; created_ns tells a new domain
 * from an old one with the same id. The contract for a source: counters
 * only ever grow for one (domid, created_ns); a domain without devices gets
 * zero counts and zero counters (never invented figures); an unreachable
 * source is the same as no devices (the monitor must not stall on it), and
 * the call never blocks for longer than a local read.
 *
 * The counters come from kxen-backd's per-device files (libkxdaemon's
 * devstats, include/kxen/kxd.h: $KXEN_RUN_DIR/vbd and /vif, default
 * /run/kxen), rewritten atomically once a second (vbd) or at most every
 * 200 ms (vif); a file whose created_ns is not the domain's is ignored.
 * oo_req is always 0 (the block backend never runs out of requests).
 * Returns 0 or -errno.
 */
int devstats__get(uint32_t domid, uint64_t created_ns, struct kxtop_devstats *out);

#endif
