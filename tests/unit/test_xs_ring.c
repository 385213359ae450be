/* test_xs_ring: the guest store ring transport over an in-memory page: INTRODUCE, requests, hostile indexes, floods, RELEASE. */
#include "cunit_run.h"
#include <stdlib.h>
#include <string.h>

#include "xs_fixture.h"

static struct xs_server srv;
static struct fx_msg m;
static struct xenstore_domain_interface *page;
static struct xs_ring ring;
static unsigned notifies, attaches;

static void notify(struct xs_ring *r) { notifies++; }

static int fake_attach(struct xs_server *s, unsigned domid, uint64_t gfn, unsigned port,
                       struct xs_conn **out)
{
	if (gfn != 42)
		return -EINVAL;
	attaches++;
	memset(&ring, 0, sizeof(ring));
	ring.intf = page;
	ring.notify = notify;
	*out = ring__conn_new(s, &ring, -1, domid);
	return *out ? 0 : -ENOMEM;
}

/* The fake hypervisor has created domains 1-9; INTRODUCE decides which are served. */
static int fake_exists(struct xs_server *s, unsigned domid)
{
	return domid >= 1 && domid <= 9;
}

static const struct xs_domain_ops fake_ops = { fake_attach, NULL, fake_exists };

static int setup(void)
{
	page = calloc(1, 4096);
	if (server__init(&srv) < 0 || !page)
		return -1;
	srv.domops = &fake_ops;
	return 0;
}

static int teardown(void)
{
	server__fini(&srv);
	free(page);
	return 0;
}

/* The guest side: puts bytes on the request ring (as much as fits). */
static unsigned guest_put(const void *data, unsigned len)
{
	unsigned n = 0;

	while (n < len && page->req_prod - page->req_cons < XENSTORE_RING_SIZE) {
		page->req[MASK_XENSTORE_IDX(page->req_prod)] = ((const char *)data)[n++];
		page->req_prod++;
	}
	return n;
}

static void guest_req(uint32_t type, uint32_t id, const void *p, unsigned len)
{
	struct xsd_sockmsg h = { type, id, 0, len };

	CU_ASSERT_EQUAL(guest_put(&h, XS_HDR), XS_HDR);
	CU_ASSERT_EQUAL(guest_put(p, len), len);
}

static void guest_get(void *buf, unsigned len)
{
	for (unsigned i = 0; i < len; i++)
		((char *)buf)[i] = page->rsp[MASK_XENSTORE_IDX(page->rsp_cons + i)];
	page->rsp_cons += len;
}

/* Reads one reply from the response ring; -1 if there is none. */
static int guest_reply(struct fx_msg *r)
{
	struct xsd_sockmsg h;
	unsigned avail = page->rsp_prod - page->rsp_cons;

	if (avail < XS_HDR)
		return -1;
	for (unsigned i = 0; i < XS_HDR; i++)
		((char *)&h)[i] = page->rsp[MASK_XENSTORE_IDX(page->rsp_cons + i)];
	if (avail < XS_HDR + h.len)
		return -1;      /* the rest of this reply is not there yet */
	guest_get(r, XS_HDR);
	guest_get(r->data, r->len);
	r->data[r->len] = 0;
	return (int)r->type;
}

static struct xs_conn *guest(void)
{
	struct xs_domain *d = domain__find(&srv, 5);
	return d ? d->conn : NULL;
}

static void test_introduce_and_serve(void)
{
	struct xs_conn *d0 = fx_conn(&srv, 0);
	char p[256], t[256];

	CU_ASSERT_EQUAL(fx_req(d0, XS_WATCH, 0, "@introduceDomain\0i", 19, &m), XS_WATCH);
	fx_drain(d0);
	/* The guest queues a request before it is introduced: served once it is. */
	guest_req(XS_WRITE, 7, "/local/domain/5/early\0yes", 25);
	CU_ASSERT_EQUAL(fx_req(d0, XS_WRITE, 0, "/local/domain/5\0", 16, &m), XS_WRITE);
	CU_ASSERT_EQUAL(fx_req(d0, XS_SET_PERMS, 0, "/local/domain/5\0n5", 19, &m), XS_SET_PERMS);
	CU_ASSERT_EQUAL(fx_req(d0, XS_INTRODUCE, 0, "5\0" "41\0" "3", 7, &m), XS_ERROR);
	CU_ASSERT_EQUAL(fx_req(d0, XS_INTRODUCE, 0, "5\0" "42\0" "3", 7, &m), XS_INTRODUCE);
	CU_ASSERT(fx_event(d0, p, t));
	CU_ASSERT_STRING_EQUAL(p, "@introduceDomain");
	CU_ASSERT_EQUAL(page->server_features, XENSTORE_SERVER_FEATURE_ERROR);
	CU_ASSERT_EQUAL(fx_req(d0, XS_IS_DOMAIN_INTRODUCED, 0, "5", 2, &m), XS_IS_DOMAIN_INTRODUCED);
	CU_ASSERT_STRING_EQUAL(m.data, "T");
	CU_ASSERT_EQUAL(fx_req(d0, XS_INTRODUCE, 0, "5\0" "42\0" "3", 7, &m), XS_INTRODUCE);  /* again: fine */
	CU_ASSERT_EQUAL(attaches, 1);
	server__service(guest());
	CU_ASSERT_EQUAL(guest_reply(&m), XS_WRITE);
	CU_ASSERT_EQUAL(m.req_id, 7);
	CU_ASSERT(notifies > 0);
	/* Relative paths are under the guest's home. */
	guest_req(XS_READ, 8, "early", 6);
	server__service(guest());
	CU_ASSERT_EQUAL(guest_reply(&m), XS_READ);
	CU_ASSERT_STRING_EQUAL(m.data, "yes");
	/* Across the ring's wrap-around, many times. */
	for (unsigned i = 0; i < 300; i++) {
		guest_req(XS_READ, 100 + i, "early", 6);
		server__service(guest());
		CU_ASSERT_EQUAL_FATAL(guest_reply(&m), XS_READ);
		CU_ASSERT_EQUAL(m.req_id, 100 + i);
	}
	CU_ASSERT_EQUAL(fx_req(d0, XS_SET_TARGET, 0, "5\0" "6", 4, &m), XS_SET_TARGET);
	CU_ASSERT_EQUAL(guest()->target, 6);
	conn__free(d0);
}

/*
 * Persisting, req_cons moves only when what was read is committed
 * (ring__publish): the guest must be notified then. The notification sent
 * when the bytes were read came too early for a guest waiting for space.
 */
static void test_publish_notifies(void)
{
	struct xs_conn *g = guest();
	static char big[1600];
	struct xsd_sockmsg h = { XS_WRITE, 77, 0, 0 };
	static const char path[] = "/local/domain/5/big";

	CU_ASSERT_PTR_NOT_NULL_FATAL(g);
	struct xs_ring *r = g->priv;
	memcpy(big, path, sizeof(path));
	memset(big + sizeof(path), 'v', sizeof(big) - sizeof(path));
	h.len = sizeof(big);
	r->hold_cons = true;
	r->cons = page->req_cons;
	XENSTORE_RING_IDX before = page->req_cons;
	/* More than the ring holds: the first part fills it. */
	CU_ASSERT_EQUAL(guest_put(&h, XS_HDR), XS_HDR);
	unsigned put = guest_put(big, sizeof(big));
	CU_ASSERT(put < sizeof(big));
	server__service(g);
	CU_ASSERT_EQUAL(page->req_cons, before);   /* read, not yet given back */
	unsigned n = notifies;
	ring__publish(g);
	CU_ASSERT_NOT_EQUAL(page->req_cons, before);
	CU_ASSERT(notifies > n);
	/* The rest fits now; the write completes. */
	while (put < sizeof(big)) {
		put += guest_put(big + put, sizeof(big) - put);
		server__service(g);
		ring__publish(g);
	}
	CU_ASSERT_EQUAL(guest_reply(&m), XS_WRITE);
	CU_ASSERT_EQUAL(m.req_id, 77);
	r->hold_cons = false;
}

/* A guest that never reads its replies stops being read; the daemon's memory stays bounded. */
static void test_flood(void)
{
	struct xs_conn *g = guest();
	unsigned sent = 0;

	for (unsigned i = 0; i < 5000; i++) {
		struct xsd_sockmsg h = { XS_READ, i, 0, 6 };
		if (page->req_prod - page->req_cons + XS_HDR + 6 > XENSTORE_RING_SIZE) {
			server__service(g);
			if (page->req_prod - page->req_cons + XS_HDR + 6 > XENSTORE_RING_SIZE)
				break;
		}
		guest_put(&h, XS_HDR);
		guest_put("early", 6);
		sent++;
	}
	CU_ASSERT(sent < 5000);
	CU_ASSERT(conn__blocked(g));
	CU_ASSERT(g->outbytes < srv.quota.out_bytes + 8192);
	/* Once it reads, it is served again. */
	struct fx_msg r;
	unsigned got = 0;
	for (unsigned i = 0; i < 10000 && got < sent; i++) {
		while (guest_reply(&r) >= 0)
			got++;
		server__service(g);
	}
	CU_ASSERT_EQUAL(got, sent);
	CU_ASSERT_EQUAL(g->outbytes, 0);
}

static void test_garbage(void)
{
	struct xs_conn *d0 = fx_conn(&srv, 0);

	/* Unknown type and bad paths: errors, not a cut-off. */
	guest_req(1234, 1, "", 0);
	guest_req(XS_READ, 2, "../x", 5);
	guest_req(XS_INTRODUCE, 3, "6\0" "1\0" "1", 6);
	server__service(guest());
	CU_ASSERT_EQUAL(guest_reply(&m), XS_ERROR);
	CU_ASSERT_STRING_EQUAL(m.data, "EINVAL");
	CU_ASSERT_EQUAL(guest_reply(&m), XS_ERROR);
	CU_ASSERT_EQUAL(guest_reply(&m), XS_ERROR);
	CU_ASSERT_STRING_EQUAL(m.data, "EACCES");
	CU_ASSERT_PTR_NOT_NULL(guest());
	/* A length beyond XENSTORE_PAYLOAD_MAX: cut off, with the error in the page. */
	struct xsd_sockmsg h = { XS_READ, 9, 0, XENSTORE_PAYLOAD_MAX + 1 };
	guest_put(&h, XS_HDR);
	server__service(guest());
	CU_ASSERT_PTR_NULL(guest());
	CU_ASSERT_EQUAL(page->error, XENSTORE_ERROR_PROTO);
	/* Still introduced until released; RELEASE drops it and tells watchers. */
	CU_ASSERT_EQUAL(fx_req(d0, XS_IS_DOMAIN_INTRODUCED, 0, "5", 2, &m), XS_IS_DOMAIN_INTRODUCED);
	CU_ASSERT_STRING_EQUAL(m.data, "T");
	CU_ASSERT_EQUAL(fx_req(d0, XS_WATCH, 0, "@releaseDomain\0r", 17, &m), XS_WATCH);
	fx_drain(d0);
	CU_ASSERT_EQUAL(fx_req(d0, XS_RELEASE, 0, "5", 2, &m), XS_RELEASE);
	char p[64], t[64];
	CU_ASSERT(fx_event(d0, p, t));
	CU_ASSERT_STRING_EQUAL(p, "@releaseDomain");
	CU_ASSERT_EQUAL(fx_req(d0, XS_RELEASE, 0, "5", 2, &m), XS_ERROR);
	/* Hostile indexes: producer more than a ring ahead. */
	memset(page, 0, 4096);
	CU_ASSERT_EQUAL(fx_req(d0, XS_INTRODUCE, 0, "5\0" "42\0" "3", 7, &m), XS_INTRODUCE);
	page->req_prod = page->req_cons + XENSTORE_RING_SIZE + 1;
	server__service(guest());
	CU_ASSERT_PTR_NULL(guest());
	CU_ASSERT_EQUAL(page->error, XENSTORE_ERROR_RINGIDX);
	CU_ASSERT_EQUAL(fx_req(d0, XS_RELEASE, 0, "5", 2, &m), XS_RELEASE);
	/* Same for a response consumer index the guest moved past the producer. */
	memset(page, 0, 4096);
	CU_ASSERT_EQUAL(fx_req(d0, XS_INTRODUCE, 0, "5\0" "42\0" "3", 7, &m), XS_INTRODUCE);
	page->rsp_cons = 5000;
	guest_req(XS_READ, 1, "early", 6);
	server__service(guest());
	CU_ASSERT_PTR_NULL(guest());
	CU_ASSERT_EQUAL(fx_req(d0, XS_RELEASE, 0, "5", 2, &m), XS_RELEASE);
	conn__free(d0);
}

/* A guest's SET_PERMS with more entries than the 64-entry parse array while the quota allows more: refused, nothing written past it. */
static void test_set_perms_past_array(void)
{
	struct xs_conn *d0 = fx_conn(&srv, 0), *g = fx_conn(&srv, 6);
	static char req[XENSTORE_PAYLOAD_MAX];
	unsigned len = (unsigned)sprintf(req, "/local/domain/6/p") + 1;

	CU_ASSERT_EQUAL(fx_req(d0, XS_CONTROL, 0, "quota\0set\0permissions\0" "1000", 27, &m), XS_CONTROL);
	CU_ASSERT_EQUAL(fx_req(d0, XS_WRITE, 0, "/local/domain/6/p\0", 18, &m), XS_WRITE);
	CU_ASSERT_EQUAL(fx_req(d0, XS_SET_PERMS, 0, "/local/domain/6/p\0b6", 21, &m), XS_SET_PERMS);
	for (unsigned i = 0; i < 1000 && len + 8 < sizeof(req); i++)
		len += (unsigned)sprintf(req + len, "r%u", i % 100) + 1;
	CU_ASSERT_EQUAL(fx_req(g, XS_SET_PERMS, 0, req, len, &m), XS_ERROR);
	CU_ASSERT_STRING_EQUAL(m.data, "E2BIG");
	/* Up to the array is the quota's business: 64 entries are taken. */
	len = (unsigned)sprintf(req, "/local/domain/6/p") + 1;
	for (unsigned i = 0; i < 64; i++)
		len += (unsigned)sprintf(req + len, "%c%u", i ? 'r' : 'b', i ? i : 6) + 1;
	CU_ASSERT_EQUAL(fx_req(g, XS_SET_PERMS, 0, req, len, &m), XS_SET_PERMS);
	/* Below the array the quota still answers ENOSPC, as Xen does. */
	CU_ASSERT_EQUAL(fx_req(d0, XS_CONTROL, 0, "quota\0set\0permissions\0" "5", 24, &m), XS_CONTROL);
	CU_ASSERT_EQUAL(fx_req(g, XS_SET_PERMS, 0, req, len, &m), XS_ERROR);
	CU_ASSERT_STRING_EQUAL(m.data, "ENOSPC");
	conn__free(g);
	conn__free(d0);
}

int main(void)
{
	static const struct cunit_test tests[] = {
		{ "introduce and serve", test_introduce_and_serve },
		{ "persisting: the guest is told when its request space is given back", test_publish_notifies },
		{ "flood", test_flood },
		{ "garbage and hostile indexes", test_garbage },
		{ "SET_PERMS past the parse array", test_set_perms_past_array },
	};

	return cunit_run("xs_ring", tests, CUNIT_COUNT(tests), setup, teardown);
}
