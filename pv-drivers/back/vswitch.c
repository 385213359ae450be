/* The learning virtual switch: MAC table with ageing and a size cap, flooding, source-MAC enforcement (no I/O: tests/unit/test_vswitch). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "vswitch.h"

static unsigned hash(const uint8_t *mac)
{
	/* The low bytes differ between guests (Xen's OUI is common to all). */
	return (unsigned)(mac[5] ^ (mac[4] << 3) ^ (mac[3] << 5)) % VSWITCH_BUCKETS;
}

int vswitch__name_ok(const char *name)
{
	size_t n = name ? strlen(name) : 0;

	if (n == 0 || n >= VSWITCH_NAME_MAX)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-' || c == '.'))
			return -EINVAL;
	}
	return 0;
}

struct vswitch *vswitch__get(struct vswitch **list, const char *name)
{
	struct vswitch *sw;

	if (vswitch__name_ok(name))
		return NULL;
	for (sw = *list; sw; sw = sw->next)
		if (!strcmp(sw->name, name))
			return sw;
	sw = calloc(1, sizeof(*sw));
	if (!sw)
		return NULL;
	strcpy(sw->name, name);
	sw->next = *list;
	*list = sw;
	return sw;
}

void vswitch__put(struct vswitch **list, struct vswitch *sw)
{
	if (!sw || sw->nports)
		return;
	for (struct vswitch **pp = list; *pp; pp = &(*pp)->next) {
		if (*pp == sw) {
			*pp = sw->next;
			break;
		}
	}
	for (unsigned b = 0; b < VSWITCH_BUCKETS; b++) {
		while (sw->fdb[b]) {
			struct vswitch_fdb *e = sw->fdb[b];

			sw->fdb[b] = e->next;
			free(e);
		}
	}
	free(sw);
}

void vswitch__port_add(struct vswitch *sw, struct vswitch_port *p)
{
	p->sw = sw;
	p->next = sw->ports;
	sw->ports = p;
	sw->nports++;
}

/* Drops fdb entries matching (port, or aged before cutoff); port NULL = ageing only. */
static void fdb_prune(struct vswitch *sw, const struct vswitch_port *port, uint64_t now_ms, bool age)
{
	for (unsigned b = 0; b < VSWITCH_BUCKETS; b++) {
		for (struct vswitch_fdb **pp = &sw->fdb[b]; *pp;) {
			struct vswitch_fdb *e = *pp;

			if ((port && e->port == port) || (age && now_ms - e->seen_ms >= VSWITCH_AGE_MS)) {
				*pp = e->next;
				free(e);
				sw->nfdb--;
			} else {
				pp = &e->next;
			}
		}
	}
}

void vswitch__port_del(struct vswitch_port *p)
{
	struct vswitch *sw = p->sw;

	if (!sw)
		return;
	for (struct vswitch_port **pp = &sw->ports; *pp; pp = &(*pp)->next) {
		if (*pp == p) {
			*pp = p->next;
			sw->nports--;
			break;
		}
	}
	fdb_prune(sw, p, 0, false);
	p->sw = NULL;
	p->next = NULL;
}

static struct vswitch_fdb *fdb_find(struct vswitch *sw, const uint8_t *mac)
{
	for (struct vswitch_fdb *e = sw->fdb[hash(mac)]; e; e = e->next)
		if (!memcmp(e->mac, mac, ETH_ALEN_))
			return e;
	return NULL;
}

struct vswitch_port *vswitch__lookup(struct vswitch *sw, const uint8_t *mac, uint64_t now_ms)
{
	struct vswitch_fdb *e = fdb_find(sw, mac);

	if (!e || now_ms - e->seen_ms >= VSWITCH_AGE_MS)
		return NULL;
	return e->port;
}

static void learn(struct vswitch *sw, struct vswitch_port *in, const uint8_t *mac, uint64_t now_ms)
{
	struct vswitch_fdb *e = fdb_find(sw, mac);

	if (e) {
		e->port = in;   /* a MAC that moved (a guest migrated between ports) follows */
		e->seen_ms = now_ms;
		return;
	}
	if (sw->nfdb >= VSWITCH_FDB_MAX) {
		fdb_prune(sw, NULL, now_ms, true);
		if (sw->nfdb >= VSWITCH_FDB_MAX)
			return;   /* full of live entries: unknown MACs are flooded, nothing grows */
	}
	e = malloc(sizeof(*e));
	if (!e)
		return;
	memcpy(e->mac, mac, ETH_ALEN_);
	e->port = in;
	e->seen_ms = now_ms;
	e->next = sw->fdb[hash(mac)];
	sw->fdb[hash(mac)] = e;
	sw->nfdb++;
}

int vswitch__route(struct vswitch_port *in, const uint8_t *frame, size_t len, uint64_t now_ms,
                   struct vswitch_port **out, unsigned max)
{
	struct vswitch *sw = in->sw;
	const uint8_t *dst = frame, *src = frame + ETH_ALEN_;
	struct vswitch_port *to;
	unsigned n = 0;

	if (!sw || len < ETH_HLEN_ || (src[0] & 1))
		return -EINVAL;
	if (in->check_src && memcmp(src, in->mac, ETH_ALEN_)) {
		in->spoofed++;
		return -EPERM;
	}
	learn(sw, in, src, now_ms);
	if (!(dst[0] & 1) && (to = vswitch__lookup(sw, dst, now_ms))) {
		if (to == in || max == 0)
			return 0;
		out[0] = to;
		return 1;
	}
	for (struct vswitch_port *p = sw->ports; p && n < max; p = p->next)
		if (p != in)
			out[n++] = p;
	return (int)n;
}
