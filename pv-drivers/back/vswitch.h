/* The learning virtual switch: one per bridge name, ports that come and go with vifs and TAPs, MAC learning with ageing, anti-spoofing. */
#ifndef VSWITCH_H
#define VSWITCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VSWITCH_NAME_MAX   64
#define VSWITCH_BUCKETS    256
/* A port (the host TAP) may present many MACs; the table is capped so nobody can bloat us. */
#define VSWITCH_FDB_MAX    4096
/* Entries not refreshed for this long are forgotten (Linux bridges' default ageing time). */
#define VSWITCH_AGE_MS     300000
#define ETH_ALEN_          6
#define ETH_HLEN_          14

struct vswitch;

struct vswitch_port {
	struct vswitch *sw;
	uint8_t mac[ETH_ALEN_];       /* the only source MAC accepted when check_src */
	bool check_src;               /* vifs: yes (no spoofing); the host TAP: no */
	void *priv;                   /* the owner's (netback's port) */
	uint64_t spoofed;             /* frames dropped for a foreign source MAC */
	struct vswitch_port *next;
};

struct vswitch_fdb {
	uint8_t mac[ETH_ALEN_];
	struct vswitch_port *port;
	uint64_t seen_ms;
	struct vswitch_fdb *next;
};

struct vswitch {
	char name[VSWITCH_NAME_MAX];
	struct vswitch_port *ports;
	unsigned nports, nfdb;
	struct vswitch_fdb *fdb[VSWITCH_BUCKETS];
	struct vswitch *next;
};

/* Checks a bridge name (1..63 chars of [A-Za-z0-9_.-]). Returns 0 or -EINVAL. */
int vswitch__name_ok(const char *name);
/* The switch called name in *list, created if absent. Returns NULL when out of memory or the name is bad. */
struct vswitch *vswitch__get(struct vswitch **list, const char *name);
/* Frees sw (removing it from *list) once it has no ports; no-op otherwise. */
void vswitch__put(struct vswitch **list, struct vswitch *sw);

/* Plugs p (its mac, check_src and priv set by the caller) into sw. */
void vswitch__port_add(struct vswitch *sw, struct vswitch_port *p);
/* Unplugs p and forgets every MAC learnt on it. */
void vswitch__port_del(struct vswitch_port *p);

/*
 * Decides where a frame arriving on in goes, learning its source MAC.
 * Writes up to max destination ports to out and returns their number (0:
 * nowhere, e.g. the destination is the sender's own port), -EINVAL for a
 * runt or a multicast source, -EPERM for a source MAC that is not the
 * port's own (counted in in->spoofed). Broadcast, multicast and unknown
 * unicast destinations are flooded to every other port.
 */
int vswitch__route(struct vswitch_port *in, const uint8_t *frame, size_t len, uint64_t now_ms,
                   struct vswitch_port **out, unsigned max);

/* The port a MAC was last seen on (NULL if unknown or aged out); for tests and stats. */
struct vswitch_port *vswitch__lookup(struct vswitch *sw, const uint8_t *mac, uint64_t now_ms);

#endif
