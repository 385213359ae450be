/* Device counters for kxtop: kxen-backd's vbd and vif statistics (libkxdaemon's devstats) summed per domain. */
#include <string.h>

#include "kxen/kxd.h"
#include "devstats.h"

static void add_vif(uint32_t devid, const uint64_t *c, void *arg)
{
	struct kxtop_devstats *out = arg;
	struct kxtop_net v = {
		.id = devid,
		.tx_bytes = c[KXD_VIF_TX_BYTES], .tx_pkts = c[KXD_VIF_TX_PKTS],
		.tx_err = c[KXD_VIF_TX_ERR], .tx_drop = c[KXD_VIF_TX_DROP],
		.rx_bytes = c[KXD_VIF_RX_BYTES], .rx_pkts = c[KXD_VIF_RX_PKTS],
		.rx_err = c[KXD_VIF_RX_ERR], .rx_drop = c[KXD_VIF_RX_DROP],
	};

	out->nr_nets++;
	out->net_tx_bytes += v.tx_bytes;
	out->net_rx_bytes += v.rx_bytes;
	if (out->nr_net_rows < KXTOP_MAX_DEVS)
		out->net[out->nr_net_rows++] = v;
}

static void add_vbd(uint32_t devid, const uint64_t *c, void *arg)
{
	struct kxtop_devstats *out = arg;
	struct kxtop_vbd v = {
		.id = devid,
		.oo_req = c[KXD_VBD_OO_REQ], .rd_req = c[KXD_VBD_RD_REQ], .wr_req = c[KXD_VBD_WR_REQ],
		.rd_sect = c[KXD_VBD_RD_SECT], .wr_sect = c[KXD_VBD_WR_SECT],
	};

	out->nr_vbds++;
	out->vbd_oo += v.oo_req;
	out->vbd_rd += v.rd_req;
	out->vbd_wr += v.wr_req;
	out->vbd_rsect += v.rd_sect;
	out->vbd_wsect += v.wr_sect;
	if (out->nr_vbd_rows < KXTOP_MAX_DEVS)
		out->vbd[out->nr_vbd_rows++] = v;
}

int devstats__get(uint32_t domid, uint64_t created_ns, struct kxtop_devstats *out)
{
	memset(out, 0, sizeof(*out));
	kxd_devstats_scan(&kxd_devstats_vbd, domid, created_ns, add_vbd, out);
	kxd_devstats_scan(&kxd_devstats_vif, domid, created_ns, add_vif, out);
	return 0;
}
