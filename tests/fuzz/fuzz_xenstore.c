/*
 * libFuzzer harness: kxenstored's wire protocol and guest ring. The input is
 * a script of byte chunks for three clients: dom0 (privileged socket), an
 * unprivileged socket client (domid 7) and guest 5's ring page (bytes and
 * hostile indexes). Quotas are set small (and perms above the 64-entry
 * parse array, the SET_PERMS overflow's condition) so that every limit is
 * reached. After every chunk the store's invariants are checked: the hash
 * index, parent and child links, per-domain node accounting, watch counts
 * and the per-connection quotas.
 */
#include "fuzz_common.h"
#include "kxenstored.h"

#define GUEST   5
#define GFN     42
#define MEMIN   (XENSTORE_PAYLOAD_MAX + 64)

struct mem {
	uint8_t in[MEMIN];
	size_t len, off;
	struct xs_conn **slot;	/* cleared when kxenstored frees the connection */
};

static struct xs_server srv;
static struct xenstore_domain_interface *page;
static struct xs_ring ring;
static struct mem mem[2];
static struct xs_conn *sock[2];
static unsigned owned[65536];

static long mem_recv(struct xs_conn *c, void *buf, size_t len)
{
	struct mem *m = c->priv;
	size_t n = m->len - m->off < len ? m->len - m->off : len;

	memcpy(buf, m->in + m->off, n);
	m->off += n;
	return (long)n;
}

static long mem_send(struct xs_conn *c, const void *buf, size_t len)
{
	(void)c;
	(void)buf;
	return (long)len;	/* the client reads everything at once */
}

static void mem_close(struct xs_conn *c)
{
	struct mem *m = c->priv;

	*m->slot = NULL;
}

static const struct xs_conn_ops mem_ops = { .name = "fuzz", .recv = mem_recv, .send = mem_send, .close = mem_close };

static int attach(struct xs_server *s, unsigned domid, uint64_t gfn, unsigned port, struct xs_conn **out)
{
	(void)port;
	if (gfn != GFN || domid != GUEST)
		return -EINVAL;
	memset(&ring, 0, sizeof(ring));
	ring.intf = page;
	*out = ring__conn_new(s, &ring, -1, domid);
	return *out ? 0 : -ENOMEM;
}

static const struct xs_domain_ops ops = { attach, NULL };

static void quiet(const char *fmt, ...)
{
	(void)fmt;
}

static struct xs_conn *open_sock(int i)
{
	mem[i].len = mem[i].off = 0;
	mem[i].slot = &sock[i];
	sock[i] = conn__new(&srv, &mem_ops, &mem[i], -1, i ? 7 : 0, i == 0);
	return sock[i];
}

static void check(void)
{
	const struct xs_store *s = &srv.store;
	unsigned count = 0, watches = 0;

	unsigned touched[4096], nt = 0;

	for (unsigned b = 0; b < s->nbuckets; b++)
		for (const struct xs_node *n = s->buckets[b]; n; n = n->hnext) {
			unsigned kids = 0;

			count++;
			FZ_CHECK(store__lookup(s, n->path) == n, "%s not found by its own path", n->path);
			FZ_CHECK(n->nperms >= 1 && n->nperms <= XS_MAX_ARGS, "%s: %u perms", n->path, n->nperms);
			FZ_CHECK(!n->value || n->value[n->vlen] == 0, "%s: value not terminated", n->path);
			if (strcmp(n->path, "/")) {
				FZ_CHECK(n->parent && path__is_under(n->path, n->parent->path) &&
					 n->parent->plen < n->plen, "%s: parent link", n->path);
			}
			for (const struct xs_node *k = n->children; k; k = k->next) {
				FZ_CHECK(k->parent == n, "%s: child %s has another parent", n->path, k->path);
				kids++;
			}
			FZ_CHECK(kids == n->nchildren, "%s: %u children listed, %u counted", n->path, n->nchildren, kids);
			if (!owned[n->perms[0].id & 0xffff]++ && nt < 4096)
				touched[nt++] = n->perms[0].id & 0xffff;
		}
	FZ_CHECK(count == s->count, "%u nodes counted, store says %u", count, s->count);
	for (unsigned d = 0; d < 16; d++)
		FZ_CHECK(store__owned(s, d) == owned[d], "domain %u owns %u nodes, accounted %u", d, owned[d],
			 store__owned(s, d));
	for (unsigned i = 0; i < nt; i++) {
		unsigned d = touched[i];

		FZ_CHECK(store__owned(s, d) == owned[d], "domain %u owns %u nodes, accounted %u", d, owned[d],
			 store__owned(s, d));
		owned[d] = 0;
	}
	for (unsigned d = 0; d < 16; d++)
		owned[d] = 0;
	for (const struct xs_conn *c = srv.conns; c; c = c->next) {
		watches += c->nwatches;
		if (!c->privileged) {
			FZ_CHECK(c->nwatches <= srv.quota.watches_per_conn, "%u watches", c->nwatches);
			FZ_CHECK(c->ntxns <= srv.quota.txns_per_conn, "%u transactions", c->ntxns);
		}
		FZ_CHECK(c->outbytes <= srv.quota.out_bytes + 2 * (XS_HDR + XENSTORE_PAYLOAD_MAX),
			 "%zu bytes queued", c->outbytes);
	}
	FZ_CHECK(watches == srv.watches.count, "%u watches on connections, %u registered", watches,
		 srv.watches.count);
}

/* Puts as much of p[0..n) on the guest's request ring as fits. */
static void guest_put(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n && page->req_prod - page->req_cons < XENSTORE_RING_SIZE; i++)
		page->req[MASK_XENSTORE_IDX(page->req_prod++)] = (char)p[i];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char intro[] = "5\0" "42\0" "3";
	struct fz f = { data, size };
	struct xsd_sockmsg h = { XS_INTRODUCE, 1, 0, sizeof(intro) };
	struct xs_domain *dom;

	page = calloc(1, sizeof(*page));
	if (server__init(&srv) < 0)
		abort();
	srv.log = quiet;
	srv.domops = &ops;
	quota__set(&srv.quota, "nodes", 24);
	quota__set(&srv.quota, "node-size", 100);
	quota__set(&srv.quota, "perms", 300);
	quota__set(&srv.quota, "watches", 4);
	quota__set(&srv.quota, "transactions", 3);
	quota__set(&srv.quota, "transaction-nodes", 12);
	quota__set(&srv.quota, "output-bytes", 6000);
	quota__set(&srv.quota, "outstanding", 4);
	open_sock(0);
	open_sock(1);
	/* dom0 introduces the guest, as kxl does. */
	memcpy(mem[0].in, &h, XS_HDR);
	memcpy(mem[0].in + XS_HDR, intro, sizeof(intro));
	mem[0].len = XS_HDR + sizeof(intro);
	server__service(sock[0]);
	server__flush(&srv);
	check();
	while (f.n) {
		uint8_t op = fz_u8(&f);
		size_t len = fz_u16(&f) % (MEMIN + 1), k;
		int who = op % 4;

		if (who < 2) {
			struct mem *m = &mem[who];

			if (!sock[who] && !open_sock(who))
				abort();
			/* Unread input stays ahead of the new bytes, as in a socket buffer. */
			memmove(m->in, m->in + m->off, m->len - m->off);
			m->len -= m->off;
			m->off = 0;
			if (len > MEMIN - m->len)
				len = MEMIN - m->len;
			k = fz_bytes(&f, m->in + m->len, len);
			m->len += k;
			server__service(sock[who]);
		} else if ((dom = domain__find(&srv, GUEST)) && dom->conn) {
			if (who == 3 && (op & 0x80)) {
				/* The guest scribbles on an index. */
				uint32_t v = fz_u32(&f);

				switch ((op >> 4) & 3) {
				case 0: page->req_prod = v; break;
				case 1: page->req_cons = v; break;
				case 2: page->rsp_prod = v; break;
				default: page->rsp_cons = v; break;
				}
			} else {
				uint8_t tmp[XENSTORE_RING_SIZE];

				k = fz_bytes(&f, tmp, len < sizeof(tmp) ? len : sizeof(tmp));
				guest_put(tmp, k);
			}
			if (op & 0x40)	/* the guest reads its responses */
				page->rsp_cons = page->rsp_prod;
			server__service(dom->conn);
		}
		server__flush(&srv);
		check();
	}
	server__fini(&srv);
	free(page);
	return 0;
}
