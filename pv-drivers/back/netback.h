/* The network backend's internals: vifs, the copy-buffer frame pool, switch ports (vif and TAP); the contract between netback*.c and tap.c. */
#ifndef NETBACK_H
#define NETBACK_H

#include <stdbool.h>
#include <stdint.h>
#include <net/if.h>
#include "backd.h"
#include "kxen/kxctrl_gnttab.h"
#include "netback_ring.h"
#include "vswitch.h"

#define NB_CHUNK          2048u                       /* one full-size frame fits one chunk */
#define NB_COPYBUF_BYTES  (16u << 20)
#define NB_NCHUNKS        (NB_COPYBUF_BYTES / NB_CHUNK)
#define NB_FRAME_MAX      XEN_NETIF_MAX_TX_SIZE
#define NB_FRAME_CHUNKS   ((NB_FRAME_MAX + NB_CHUNK - 1) / NB_CHUNK)
#define NB_QUEUE_LEN      1024                        /* frames waiting for one port's receiver */
#define NB_QUEUE_HIGH     512                         /* a unicast sender to a port this full pauses */
#define NB_TICK_MS        200
/*
 * Rx responses that a frontend's rsp_event left unannounced are announced
 * once its rx ring has been quiet this long: a frontend that asks for
 * events only every N responses (kxen's own, streaming) still learns of the
 * tail of a burst, with no timer of its own (each costs it exits). The
 * backend advertises it as "feature-kxen-rx-quiet-us" (docs/networking.md).
 */
#define NB_RX_QUIET_NS    4000000ull

enum nb_csum { NB_CSUM_FULL, NB_CSUM_BLANK, NB_CSUM_VALIDATED };   /* as the sender's NETTXF_csum_blank/data_validated */

/* A frame held in the copy buffer, shared by every port it was flooded to. */
struct nb_frame {
	uint32_t len;
	uint16_t nchunks, refs;
	uint8_t csum;                /* enum nb_csum */
	bool v6;                     /* an IPv6 TCP/UDP packet (for csum offload) */
	uint8_t gso_type;            /* XEN_NETIF_GSO_TYPE_*: a TCP frame of up to 64 KiB to cut at gso_size */
	uint16_t gso_size;
	uint32_t chunk[NB_FRAME_CHUNKS];
	struct nb_frame *next_free;
};

enum nb_port_kind { NB_PORT_VIF, NB_PORT_TAP };

/* What a port's receiver takes as it is; anything else gets segments with whole checksums. */
#define NB_OFF_CSUM   1u   /* IPv4 TCP/UDP with a blank checksum (NETRXF_csum_blank) */
#define NB_OFF_CSUM6  2u   /* the same over IPv6 (feature-ipv6-csum-offload) */
#define NB_OFF_GSO4   4u   /* TCPv4 GSO frames (a GSO extra-info slot) */
#define NB_OFF_GSO6   8u

/* What a switch port is to netback: a receive queue and its owner. */
struct nb_port {
	struct vswitch_port sp;
	enum nb_port_kind kind;
	void *owner;                 /* struct vif or struct nb_tap */
	unsigned offload;            /* NB_OFF_* */
	struct nb_frame *q[NB_QUEUE_LEN];
	unsigned qhead, qlen;
};

struct vif_stats {
	uint64_t tx_bytes, tx_pkts, tx_err, tx_drop;   /* from the guest's point of view: it sent */
	uint64_t rx_bytes, rx_pkts, rx_err, rx_drop;   /* it received */
};

struct xenbus_dev;

/* One vif: xenbus_priv of its device (xenbus.h owns the XenbusState side). */
struct vif {
	struct xenbus_dev *xd;
	uint32_t domid, devid;
	bool connected;              /* the data path runs (netback_io__connect .. netback_io__disconnect) */
	uint8_t mac[6];
	char bridge[VSWITCH_NAME_MAX];
	bool rx_sg;                  /* frontend's feature-sg: multi-slot receives allowed */
	unsigned rx_offload;         /* NB_OFF_* from the frontend's keys (the port's, once connected) */
	bool gso_seen;               /* the first GSO frame from the guest was logged */
	/* connected state */
	void *ring_pages[2];         /* tx, rx (kxgnt maps) */
	netif_tx_back_ring_t tx;
	netif_rx_back_ring_t rx;
	uint32_t local_port;
	int notify_fd, kick_fd;
	struct nb_port port;
	struct nb_port *paused_on;   /* tx stopped until that port drains (or the next tick) */
	bool tx_starved;             /* tx stopped for want of copy-buffer space */
	bool tx_more;                /* tx has work left over (fairness, or paused) */
	uint64_t rx_quiet_since;     /* last rx push its rsp_event left unannounced (ns), 0 = none (NB_RX_QUIET_NS) */
	struct vif_stats st;         /* published by the xenbus layer (devstats) */
	struct vif *next;            /* nb.vifs: every probed vif */
};

struct nb_tap;

struct netback {
	struct backd *bd;
	kxctrl *hv;                  /* our own connection: its copy buffer is ours */
	kxgnt *gnt;
	uint8_t *copybuf;
	uint32_t free_chunks[NB_NCHUNKS];
	unsigned nfree;
	struct nb_frame *frames, *free_frames;
	struct vif *vifs;
	struct vswitch *switches;
	struct nb_tap *taps;
	int tick_fd;
};

extern struct netback nb;

/* --- netback.c: the xenbus device type --- */
/* Logs and cuts a vif off (disconnects, state Closing) after a protocol violation (xenbus_dev_fatal). */
void netback__fatal(struct vif *v, const char *why);

/* --- netback_io.c: the data path --- */
/* Sets up the copy buffer and frame pool. Returns 0 or -errno. */
int netback_io__init(void);
/* Frames: a frame of len bytes (chunks from the pool), or NULL when the pool is short. */
struct nb_frame *netback_io__frame_alloc(uint32_t len);
void netback_io__frame_put(struct nb_frame *f);
/* Copies a contiguous buffer into / out of a frame's chunks. */
void netback_io__frame_write(struct nb_frame *f, const void *buf, uint32_t len);
/* A pointer to the frame's first chunk (the Ethernet header is always there). */
const uint8_t *netback_io__frame_head(const struct nb_frame *f);
/* Routes f (arrived on in) through its switch and queues it on the destinations; consumes the caller's reference. */
void netback_io__switch(struct nb_port *in, struct nb_frame *f, struct vif *src_vif);
/* Delivers every queued frame that can go now, then resumes paused senders. */
void netback_io__flush(void);
/* Connects v's rings (grant refs, event channel) and its switch port. Returns 0 or -errno, *why set. */
int netback_io__connect(struct vif *v, grant_ref_t tx_ref, grant_ref_t rx_ref, uint32_t evtchn, const char **why);
/* Releases everything netback_io__connect took; queued frames are dropped. */
void netback_io__disconnect(struct vif *v);
/* Periodic: unpauses senders. */
void netback_io__tick(void);
uint64_t nb_now_ms(void);

/* --- tap.c: the optional host port --- */
/*
 * Attaches a TAP interface named ifname to the switch of bridge (both from
 * $KXEN_BACKD_TAPS, "bridge=ifname,..."). Needs /dev/net/tun and
 * CAP_NET_ADMIN. Returns 0 or -errno after logging why.
 */
int tap__open(const char *bridge, const char *ifname);
/* Writes every frame queued on a TAP port to its interface. */
void tap__flush(struct nb_tap *t);
/* The next TAP in nb.taps (NULL at the end). */
struct nb_tap *tap__next(struct nb_tap *t);
void tap__close_all(void);

#endif
