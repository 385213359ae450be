/* test_xs_persist: kxenstored's LMDB store: the tree, guests' watches, domains and rings survive a crash; transactions commit whole or not at all. */
#define _GNU_SOURCE
#include "cunit_run.h"
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "persist.h"
#include "xs_fixture.h"

static struct xenstore_domain_interface *page;   /* the guest's store page: outlives the daemon */
static struct xs_ring ring;
static int attach_fd = -1;                       /* the ring's event fd (an eventfd where a test watches it) */
static unsigned alive_max = 9;                   /* the fake hypervisor's domains: 1..alive_max */
static char dir[64];
static struct fx_msg m;

static int fake_attach(struct xs_server *s, unsigned domid, uint64_t gfn, unsigned port, struct xs_conn **out)
{
	(void)gfn;
	(void)port;
	memset(&ring, 0, sizeof(ring));
	ring.intf = page;
	*out = ring__conn_new(s, &ring, attach_fd, domid);
	return *out ? 0 : -ENOMEM;
}

static int fake_exists(struct xs_server *s, unsigned domid)
{
	(void)s;
	return domid >= 1 && domid <= alive_max;
}

static const struct xs_domain_ops fake_ops = { fake_attach, NULL, fake_exists };

static void log_stderr(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static unsigned open_flags;                      /* PERSIST_SYNC for some starts */

/* A daemon start: a fresh server on the store in dir, with its domains restored. */
static void start(struct xs_server *srv)
{
	char err[512];

	CU_ASSERT_FATAL(server__init(srv) == 0);
	srv->domops = &fake_ops;
	srv->log = log_stderr;
	CU_ASSERT_FATAL(persist__open(srv, dir, open_flags, err, sizeof(err)) == 0);
	CU_ASSERT(persist__restore_domains(srv) >= 0);
}

/* What kill -9 leaves: nothing written after the last commit (teardown does not reach the file). */
static void crash(struct xs_server *srv)
{
	persist__close(srv);
	server__fini(srv);
}

static void guest_put(const void *data, unsigned len)
{
	for (unsigned n = 0; n < len; n++) {
		page->req[MASK_XENSTORE_IDX(page->req_prod)] = ((const char *)data)[n];
		page->req_prod++;
	}
}

static void guest_req(uint32_t type, uint32_t id, const void *p, unsigned len)
{
	struct xsd_sockmsg h = { type, id, 0, len };

	guest_put(&h, XS_HDR);
	guest_put(p, len);
}

static int guest_reply(struct fx_msg *r)
{
	if (page->rsp_prod - page->rsp_cons < XS_HDR)
		return -1;
	for (unsigned i = 0; i < XS_HDR; i++)
		((char *)r)[i] = page->rsp[MASK_XENSTORE_IDX(page->rsp_cons + i)];
	for (unsigned i = 0; i < r->len; i++)
		r->data[i] = page->rsp[MASK_XENSTORE_IDX(page->rsp_cons + XS_HDR + i)];
	r->data[r->len] = 0;
	page->rsp_cons += XS_HDR + r->len;
	return (int)r->type;
}

static struct xs_conn *guest(struct xs_server *srv, unsigned domid)
{
	struct xs_domain *d = domain__find(srv, domid);
	return d ? d->conn : NULL;
}

static void guest_serve(struct xs_server *srv, unsigned domid)
{
	server__service(guest(srv, domid));
	server__flush(srv);
}

/* The whole tree, in DIRECTORY order: path, value and permissions of each node. */
static void dump_node(const struct xs_node *n, char **buf, size_t *len, size_t *cap)
{
	char perms[256];
	int pl = perm__format(n->perms, n->nperms, perms, sizeof(perms));
	size_t need = *len + n->plen + n->vlen + (size_t)pl + 8;

	if (need > *cap) {
		*cap = need * 2;
		*buf = realloc(*buf, *cap);
	}
	for (int i = 0; i < pl; i++)
		if (!perms[i])
			perms[i] = ',';
	*len += (size_t)sprintf(*buf + *len, "%s=%.*s|%.*s\n", n->path, (int)n->vlen, n->value, pl, perms);
	for (const struct xs_node *c = n->children; c; c = c->next)
		dump_node(c, buf, len, cap);
}

static char *dump(struct xs_server *srv)
{
	char *buf = NULL;
	size_t len = 0, cap = 0;

	dump_node(store__lookup(&srv->store, "/"), &buf, &len, &cap);
	return buf;
}

static int setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/kxen-persist.XXXXXX");
	page = calloc(1, 4096);
	return page && mkdtemp(dir) ? 0 : -1;
}

static int teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	free(page);
	return system(cmd) == 0 ? 0 : -1;
}

static void wipe(void)
{
	char p[128];

	snprintf(p, sizeof(p), "%s/%s", dir, PERSIST_FILE);
	unlink(p);
	memset(page, 0, 4096);
}

static void w(struct xs_conn *c, uint32_t tx, const char *path, const char *val)
{
	static char buf[XENSTORE_PAYLOAD_MAX];
	size_t pl = strlen(path) + 1, vl = strlen(val);

	CU_ASSERT_FATAL(pl + vl <= sizeof(buf));

	memcpy(buf, path, pl);
	memcpy(buf + pl, val, vl);
	CU_ASSERT_EQUAL(fx_req(c, XS_WRITE, tx, buf, (unsigned)(pl + vl), &m), XS_WRITE);
}

static void test_tree(void)
{
	struct xs_server a, b;

	wipe();
	start(&a);
	struct xs_conn *d0 = fx_conn(&a, 0);
	w(d0, 0, "/vm/x/name", "first");
	w(d0, 0, "/zeta", "z");
	w(d0, 0, "/alpha", "a");             /* DIRECTORY order is creation order, not the keys' */
	w(d0, 0, "/local/domain/3/data", "v");
	CU_ASSERT_EQUAL(fx_req(d0, XS_SET_PERMS, 0, "/local/domain/3\0b3\0r0", 22, &m), XS_SET_PERMS);
	CU_ASSERT_EQUAL(fx_req(d0, XS_RM, 0, "/zeta", 6, &m), XS_RM);
	w(d0, 0, "/zeta", "again");          /* removed and made again: now the newest */
	CU_ASSERT_EQUAL(fx_req(d0, XS_TRANSACTION_START, 0, "", 1, &m), XS_TRANSACTION_START);
	uint32_t tx = (uint32_t)strtoul(m.data, NULL, 10);
	w(d0, tx, "/t/one", "1");
	w(d0, tx, "/t/two", "2");
	CU_ASSERT_EQUAL(fx_req(d0, XS_TRANSACTION_END, tx, "T", 2, &m), XS_TRANSACTION_END);
	char *before = dump(&a);
	crash(&a);
	start(&b);
	char *after = dump(&b);
	CU_ASSERT_STRING_EQUAL(after, before);
	CU_ASSERT(strstr(after, "/zeta=again|n0,\n") != NULL);
	CU_ASSERT(strstr(after, "/local/domain/3=|b3,r0,\n") != NULL);
	CU_ASSERT(strstr(after, "/alpha=a|n0,\n/zeta=again") != NULL);
	CU_ASSERT_EQUAL(store__check(&b.store, NULL, NULL), 0);
	crash(&b);
	/* Changes after the restart are kept too, with an fdatasync per commit (--sync) as well. */
	open_flags = PERSIST_SYNC;
	start(&b);
	struct xs_conn *e0 = fx_conn(&b, 0);
	w(e0, 0, "/after", "restart");
	char *again = dump(&b);
	crash(&b);
	open_flags = 0;
	start(&a);
	char *third = dump(&a);
	CU_ASSERT_STRING_EQUAL(third, again);
	crash(&a);
	free(before);
	free(after);
	free(again);
	free(third);
}

/* An empty store, started, with domain 5 (its page the fake one) introduced; returns dom0's connection. */
static struct xs_conn *start_with_guest(struct xs_server *a)
{
	wipe();
	start(a);
	struct xs_conn *d0 = fx_conn(a, 0);
	w(d0, 0, "/local/domain/5", "");
	CU_ASSERT_EQUAL(fx_req(d0, XS_SET_PERMS, 0, "/local/domain/5\0n5", 19, &m), XS_SET_PERMS);
	CU_ASSERT_EQUAL(fx_req(d0, XS_INTRODUCE, 0, "5\0" "42\0" "3", 7, &m), XS_INTRODUCE);
	return d0;
}

static void test_guest(void)
{
	struct xs_server a, b;

	struct xs_conn *d0 = start_with_guest(&a);
	CU_ASSERT_EQUAL(fx_req(d0, XS_WATCH, 0, "/local\0dom0", 12, &m), XS_WATCH);
	guest_req(XS_WATCH, 1, "data\0tok", 9);
	guest_serve(&a, 5);
	CU_ASSERT_EQUAL(guest_reply(&m), XS_WATCH);
	CU_ASSERT_EQUAL(guest_reply(&m), XS_WATCH_EVENT);      /* the first firing */
	guest_req(XS_WRITE, 2, "data/a\0one", 10);
	guest_serve(&a, 5);
	CU_ASSERT_EQUAL(guest_reply(&m), XS_WATCH_EVENT);
	CU_ASSERT_EQUAL(guest_reply(&m), XS_WRITE);
	guest_req(XS_TRANSACTION_START, 5, "", 1);
	guest_serve(&a, 5);
	CU_ASSERT_EQUAL(guest_reply(&m), XS_TRANSACTION_START);
	CU_ASSERT_STRING_EQUAL(m.data, "1");
	/* Handled and committed, but the crash comes before the reply reaches the ring. */
	guest_req(XS_RM, 3, "data/a", 7);
	server__service(guest(&a, 5));
	CU_ASSERT_EQUAL(persist__commit(&a), 0);
	CU_ASSERT_EQUAL(page->rsp_prod, page->rsp_cons);
	/* And a request the guest has only half written. */
	struct xsd_sockmsg h = { XS_WRITE, 4, 0, 10 };
	guest_put(&h, XS_HDR);
	server__service(guest(&a, 5));
	CU_ASSERT_EQUAL(persist__commit(&a), 0);
	crash(&a);

	start(&b);
	CU_ASSERT_PTR_NOT_NULL_FATAL(guest(&b, 5));
	CU_ASSERT_EQUAL(b.watches.count, 1);                     /* the guest's; dom0's died with its socket */
	guest_put("data/b\0two", 10);                            /* the rest of the half-written request */
	guest_serve(&b, 5);
	/* The committed RM's reply, exactly once (not a second RM's ENOENT). */
	int got[8], n = 0;
	while (n < 8 && (got[n] = guest_reply(&m)) >= 0) {
		if (got[n] == XS_RM)
			CU_ASSERT_EQUAL(m.req_id, 3);
		if (got[n] == XS_WRITE)
			CU_ASSERT_EQUAL(m.req_id, 4);
		n++;
	}
	int rm = 0, wr = 0, ev = 0;
	for (int i = 0; i < n; i++) {
		rm += got[i] == XS_RM;
		wr += got[i] == XS_WRITE;
		ev += got[i] == XS_WATCH_EVENT;
		CU_ASSERT(got[i] != XS_ERROR);
	}
	CU_ASSERT_EQUAL(rm, 1);
	CU_ASSERT_EQUAL(wr, 1);
	CU_ASSERT(ev >= 2);             /* the restored watch's firing and data/b */
	struct xs_conn *e0 = fx_conn(&b, 0);
	CU_ASSERT_EQUAL(fx_req(e0, XS_READ, 0, "/local/domain/5/data/b", 23, &m), XS_READ);
	CU_ASSERT_STRING_EQUAL(m.data, "two");
	CU_ASSERT_EQUAL(fx_req(e0, XS_READ, 0, "/local/domain/5/data/a", 23, &m), XS_ERROR);
	/* A transaction the guest had open before the restart: EAGAIN, so it starts again. */
	struct xsd_sockmsg th = { XS_READ, 9, 1, 5 };
	guest_put(&th, XS_HDR);
	guest_put("data", 5);
	guest_serve(&b, 5);
	CU_ASSERT_EQUAL(guest_reply(&m), XS_ERROR);
	CU_ASSERT_STRING_EQUAL(m.data, "EAGAIN");

	/* The dom0 client re-registers, as libxenstore does after reconnecting. */
	CU_ASSERT_EQUAL(fx_req(e0, XS_WATCH, 0, "@releaseDomain\0r", 17, &m), XS_WATCH);
	fx_drain(e0);
	crash(&b);

	/* Domain 5 died while the daemon was down: released at the start, its home gone. */
	alive_max = 4;
	start(&a);
	CU_ASSERT_PTR_NULL(domain__find(&a, 5));
	CU_ASSERT_PTR_NULL(store__lookup(&a.store, "/local/domain/5"));
	crash(&a);
	start(&b);
	CU_ASSERT_EQUAL(b.ndomains, 0);
	CU_ASSERT_PTR_NULL(store__lookup(&b.store, "/local/domain/5"));
	crash(&b);
	alive_max = 9;
}

/* A request larger than the ring is consumed in parts: the part read before the crash is kept. */
static void test_big_request(void)
{
	struct xs_server a, b;
	static char req[2000];   /* the value stays under the node-size quota (2048) */
	unsigned plen = 16;

	start_with_guest(&a);
	memcpy(req, "data/big1234567", plen);
	for (unsigned i = plen; i < sizeof(req); i++)
		req[i] = (char)('a' + i % 26);
	struct xsd_sockmsg h = { XS_WRITE, 77, 0, sizeof(req) };
	guest_put(&h, XS_HDR);
	guest_put(req, XENSTORE_RING_SIZE - XS_HDR);          /* a full ring */
	guest_serve(&a, 5);
	CU_ASSERT_EQUAL(page->req_cons, page->req_prod);        /* consumed, so the guest can go on */
	guest_put(req + XENSTORE_RING_SIZE - XS_HDR, 500);
	guest_serve(&a, 5);
	crash(&a);
	start(&b);
	guest_put(req + XENSTORE_RING_SIZE - XS_HDR + 500, sizeof(req) - (XENSTORE_RING_SIZE - XS_HDR + 500));
	guest_serve(&b, 5);
	int type;
	while ((type = guest_reply(&m)) == XS_WATCH_EVENT)
		;
	CU_ASSERT_EQUAL(type, XS_WRITE);
	CU_ASSERT_EQUAL(m.req_id, 77);
	struct xs_node *n = store__lookup(&b.store, "/local/domain/5/data/big1234567");
	CU_ASSERT_PTR_NOT_NULL_FATAL(n);
	CU_ASSERT_EQUAL(n->vlen, sizeof(req) - plen);
	CU_ASSERT(n->vlen == sizeof(req) - plen && !memcmp(n->value, req + plen, n->vlen));
	crash(&b);
}

/* A store that outgrows its map: the map doubles and the commit goes through, nothing lost. */
static void test_map_grows(void)
{
	struct xs_server a;
	static char val[1024];

	wipe();
	persist__map_size = 64 << 10;
	start(&a);
	struct xs_conn *d0 = fx_conn(&a, 0);
	memset(val, 'x', sizeof(val) - 1);
	for (int i = 0; i < 300; i++) {                  /* about 300 KiB of values */
		char p[32];
		snprintf(p, sizeof(p), "/big/n%d", i);
		w(d0, 0, p, val);
	}
	crash(&a);
	persist__map_size = (size_t)1 << 30;
	start(&a);
	unsigned n = 0;
	for (int i = 0; i < 300; i++) {
		char p[32];
		snprintf(p, sizeof(p), "/big/n%d", i);
		const struct xs_node *x = store__lookup(&a.store, p);
		n += x && x->vlen == sizeof(val) - 1;
	}
	CU_ASSERT_EQUAL(n, 300);
	crash(&a);
}

/* A child commits a 100-node transaction and is killed after `kill_after` record writes (0: after its reply). */
static int crashed_txn(unsigned kill_after)
{
	pid_t pid = fork();
	int st;

	if (pid == 0) {
		struct xs_server s;
		char err[512];
		if (server__init(&s) || persist__open(&s, dir, 0, err, sizeof(err)))
			_exit(2);
		struct xs_conn *c = fx_conn(&s, 0);
		struct fx_msg r;
		if (fx_req(c, XS_TRANSACTION_START, 0, "", 1, &r) != XS_TRANSACTION_START)
			_exit(3);
		uint32_t tx = (uint32_t)strtoul(r.data, NULL, 10);
		for (int i = 0; i < 100; i++) {
			char buf[64];
			int l = snprintf(buf, sizeof(buf), "/txn/n%d", i) + 1;
			if (fx_req(c, XS_WRITE, tx, buf, (unsigned)l + 1, &r) != XS_WRITE)
				_exit(4);
		}
		persist__kill_after = kill_after;
		if (fx_req(c, XS_TRANSACTION_END, tx, "T", 2, &r) != XS_TRANSACTION_END)
			_exit(5);
		kill(getpid(), SIGKILL);
	}
	if (pid < 0 || waitpid(pid, &st, 0) != pid)
		return -1;
	return WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL ? 0 : -1;
}

static unsigned txn_nodes(void)
{
	struct xs_server s;
	unsigned n = 0;

	start(&s);
	CU_ASSERT_PTR_NOT_NULL(store__lookup(&s.store, "/kept"));
	for (int i = 0; i < 100; i++) {
		char p[32];
		snprintf(p, sizeof(p), "/txn/n%d", i);
		n += store__lookup(&s.store, p) != NULL;
	}
	CU_ASSERT_EQUAL(store__check(&s.store, NULL, NULL), 0);
	crash(&s);
	return n;
}

static void test_txn_atomic(void)
{
	struct xs_server a;

	wipe();
	start(&a);
	w(fx_conn(&a, 0), 0, "/kept", "before");
	crash(&a);
	CU_ASSERT_EQUAL_FATAL(crashed_txn(50), 0);         /* killed half-way through the commit */
	CU_ASSERT_EQUAL(txn_nodes(), 0);
	CU_ASSERT_EQUAL_FATAL(crashed_txn(0), 0);          /* killed right after the reply */
	CU_ASSERT_EQUAL(txn_nodes(), 100);
}

/*
 * Linux writes a request's header and body separately and notifies only when
 * a write finds req_cons caught up: a body written while our req_cons waited
 * for a commit came with no event, and the daemon must serve it unasked.
 */
static void test_publish_rearms(void)
{
	struct xs_server a;
	uint64_t cnt;

	attach_fd = eventfd(0, EFD_NONBLOCK);
	CU_ASSERT_FATAL(attach_fd >= 0);
	struct xs_conn *d0 = start_with_guest(&a);
	while (read(attach_fd, &cnt, sizeof(cnt)) == sizeof(cnt))
		;
	struct xsd_sockmsg h = { XS_WRITE, 7, 0, 10 };
	guest_put(&h, XS_HDR);
	server__service(guest(&a, 5));                  /* the header read, req_cons held until the commit */
	CU_ASSERT_EQUAL(page->req_cons, 0);
	guest_put("data/c\0yes", 10);                  /* no event: 0 < the header's 16 */
	CU_ASSERT_EQUAL(persist__commit(&a), 0);
	CU_ASSERT_EQUAL(page->req_cons, XS_HDR);
	CU_ASSERT_EQUAL(read(attach_fd, &cnt, sizeof(cnt)), (ssize_t)sizeof(cnt));
	guest_serve(&a, 5);
	CU_ASSERT_EQUAL(guest_reply(&m), XS_WRITE);
	CU_ASSERT_EQUAL(m.req_id, 7);
	/* Everything read: a commit re-arms nothing. */
	CU_ASSERT_EQUAL(persist__commit(&a), 0);
	CU_ASSERT_EQUAL(page->req_cons, page->req_prod);
	CU_ASSERT(read(attach_fd, &cnt, sizeof(cnt)) < 0);
	conn__free(d0);
	crash(&a);
	close(attach_fd);
	attach_fd = -1;
}

static void test_refused(void)
{
	struct xs_server a, b;
	char path[128], err[512], old[140];
	FILE *f;

	wipe();
	snprintf(path, sizeof(path), "%s/%s", dir, PERSIST_FILE);
	CU_ASSERT_FATAL((f = fopen(path, "w")) != NULL);
	for (int i = 0; i < 2000; i++)
		fputs("not an lmdb file\n", f);
	fclose(f);
	CU_ASSERT_FATAL(server__init(&a) == 0);
	CU_ASSERT(persist__open(&a, dir, 0, err, sizeof(err)) < 0);
	CU_ASSERT(strstr(err, path) != NULL);
	CU_ASSERT(strstr(err, "--fresh") != NULL);
	CU_ASSERT_PTR_NULL(a.persist);
	/* --fresh: the refused file is kept aside, the store starts empty. */
	CU_ASSERT(persist__open(&a, dir, PERSIST_FRESH, err, sizeof(err)) == 0);
	snprintf(old, sizeof(old), "%s.old", path);
	CU_ASSERT(access(old, F_OK) == 0);
	/* One daemon per store. */
	CU_ASSERT_FATAL(server__init(&b) == 0);
	CU_ASSERT_EQUAL(persist__open(&b, dir, 0, err, sizeof(err)), -EBUSY);
	CU_ASSERT(strstr(err, "in use") != NULL);
	unlink(old);
	CU_ASSERT_EQUAL(persist__open(&b, dir, PERSIST_FRESH, err, sizeof(err)), -EBUSY);
	CU_ASSERT(access(old, F_OK) != 0);                /* --fresh never moves a store in use */
	server__fini(&b);
	crash(&a);
	unlink(old);
}

int main(void)
{
	static const struct cunit_test tests[] = {
		{ "tree, permissions and creation order survive", test_tree },
		{ "guest ring, watches and domains survive; dead ones released", test_guest },
		{ "a request larger than the ring, read in part before the crash", test_big_request },
		{ "a request's rest written while req_cons lagged is served unasked", test_publish_rearms },
		{ "a store that outgrows its map grows it", test_map_grows },
		{ "a transaction commits whole or not at all across a kill", test_txn_atomic },
		{ "a foreign file is refused, --fresh moves it aside, one daemon per store", test_refused },
	};
	static const struct cunit_suite suite = { "xs_persist", tests, CUNIT_COUNT(tests), setup, teardown };
	return cunit_run_suites(&suite, 1);
}
