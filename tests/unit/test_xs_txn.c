/* test_xs_txn: transactions (commit, abort, conflict, overlay views) and watches, through kxenstored's wire layer. */
#include "cunit_run.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xs_fixture.h"

static struct xs_server srv;
static struct fx_msg m;

#define REQ(c, type, tx, lit) fx_req((c), (type), (tx), (lit), sizeof(lit), &m)
#define WRITE(c, tx, path, val) fx_req((c), XS_WRITE, (tx), path "\0" val, sizeof(path) + sizeof(val) - 1, &m)

static int setup(void) { return server__init(&srv); }
static int teardown(void) { server__fini(&srv); return 0; }

static uint32_t start(struct xs_conn *c)
{
	CU_ASSERT_EQUAL(REQ(c, XS_TRANSACTION_START, 0, ""), XS_TRANSACTION_START);
	return (uint32_t)atoi(m.data);
}

static void test_commit_abort(void)
{
	struct xs_conn *a = fx_conn(&srv, 0), *b = fx_conn(&srv, 0);
	uint32_t t = start(a);

	CU_ASSERT(t != 0);
	CU_ASSERT_EQUAL(WRITE(a, t, "/t/x", "1"), XS_WRITE);
	CU_ASSERT_EQUAL(REQ(a, XS_READ, t, "/t/x"), XS_READ);
	CU_ASSERT_STRING_EQUAL(m.data, "1");
	CU_ASSERT_EQUAL(REQ(b, XS_READ, 0, "/t/x"), XS_ERROR);     /* isolated */
	CU_ASSERT_EQUAL(REQ(a, XS_DIRECTORY, t, "/t"), XS_DIRECTORY);
	CU_ASSERT_STRING_EQUAL(m.data, "x");
	CU_ASSERT_EQUAL(REQ(a, XS_TRANSACTION_END, t, "T"), XS_TRANSACTION_END);
	CU_ASSERT_EQUAL(REQ(b, XS_READ, 0, "/t/x"), XS_READ);
	CU_ASSERT_STRING_EQUAL(m.data, "1");
	/* Abort: nothing applied. */
	t = start(a);
	CU_ASSERT_EQUAL(WRITE(a, t, "/t/y", "2"), XS_WRITE);
	CU_ASSERT_EQUAL(REQ(a, XS_RM, t, "/t/x"), XS_RM);
	CU_ASSERT_EQUAL(REQ(a, XS_READ, t, "/t/x"), XS_ERROR);
	CU_ASSERT_EQUAL(REQ(a, XS_TRANSACTION_END, t, "F"), XS_TRANSACTION_END);
	CU_ASSERT_EQUAL(REQ(b, XS_READ, 0, "/t/y"), XS_ERROR);
	CU_ASSERT_EQUAL(REQ(b, XS_READ, 0, "/t/x"), XS_READ);
	/* Ending it twice, or a bad argument. */
	CU_ASSERT_EQUAL(REQ(a, XS_TRANSACTION_END, t, "T"), XS_ERROR);
	CU_ASSERT_STRING_EQUAL(m.data, "ENOENT");
	t = start(a);
	CU_ASSERT_EQUAL(REQ(a, XS_TRANSACTION_END, t, "X"), XS_ERROR);
	CU_ASSERT_STRING_EQUAL(m.data, "EINVAL");
	CU_ASSERT_EQUAL(REQ(a, XS_TRANSACTION_START, t, ""), XS_ERROR);   /* no nesting */
	CU_ASSERT_STRING_EQUAL(m.data, "EBUSY");
	CU_ASSERT_EQUAL(REQ(a, XS_TRANSACTION_END, t, "F"), XS_TRANSACTION_END);
	/* rm and re-create in one transaction; the old child stays gone. */
	CU_ASSERT_EQUAL(WRITE(a, 0, "/r/old", "o"), XS_WRITE);
	t = start(a);
	CU_ASSERT_EQUAL(REQ(a, XS_RM, t, "/r"), XS_RM);
	CU_ASSERT_EQUAL(WRITE(a, t, "/r/new", "n"), XS_WRITE);
	CU_ASSERT_EQUAL(REQ(a, XS_DIRECTORY, t, "/r"), XS_DIRECTORY);
	CU_ASSERT_STRING_EQUAL(m.data, "new");
	CU_ASSERT_EQUAL(m.len, 4);
	CU_ASSERT_EQUAL(REQ(a, XS_TRANSACTION_END, t, "T"), XS_TRANSACTION_END);
	CU_ASSERT_EQUAL(REQ(b, XS_DIRECTORY, 0, "/r"), XS_DIRECTORY);
	CU_ASSERT_STRING_EQUAL(m.data, "new");
	CU_ASSERT_EQUAL(m.len, 4);
	conn__free(a);
	conn__free(b);
}

static void test_conflict(void)
{
	struct xs_conn *a = fx_conn(&srv, 0), *b = fx_conn(&srv, 0);
	uint32_t t;

	CU_ASSERT_EQUAL(WRITE(a, 0, "/c/x", "0"), XS_WRITE);
	/* A read node changed under the transaction. */
	t = start(a);
	CU_ASSERT_EQUAL(REQ(a, XS_READ, t, "/c/x"), XS_READ);
	CU_ASSERT_EQUAL(WRITE(a, t, "/c/y", "1"), XS_WRITE);
	CU_ASSERT_EQUAL(WRITE(b, 0, "/c/x", "changed"), XS_WRITE);
	CU_ASSERT_EQUAL(REQ(a, XS_TRANSACTION_END, t, "T"), XS_ERROR);
	CU_ASSERT_STRING_EQUAL(m.data, "EAGAIN");
	CU_ASSERT_EQUAL(REQ(b, XS_READ, 0, "/c/y"), XS_ERROR);
	/* A node it found missing was created meanwhile. */
	t = start(a);
	CU_ASSERT_EQUAL(REQ(a, XS_READ, t, "/c/new"), XS_ERROR);
	CU_ASSERT_EQUAL(WRITE(b, 0, "/c/new", "n"), XS_WRITE);
	CU_ASSERT_EQUAL(REQ(a, XS_TRANSACTION_END, t, "T"), XS_ERROR);
	CU_ASSERT_STRING_EQUAL(m.data, "EAGAIN");
	/* A directory listing conflicts with a new child. */
	t = start(a);
	CU_ASSERT_EQUAL(REQ(a, XS_DIRECTORY, t, "/c"), XS_DIRECTORY);
	CU_ASSERT_EQUAL(WRITE(a, t, "/c/count", "3"), XS_WRITE);
	CU_ASSERT_EQUAL(WRITE(b, 0, "/c/other", "o"), XS_WRITE);
	CU_ASSERT_EQUAL(REQ(a, XS_TRANSACTION_END, t, "T"), XS_ERROR);
	/* Unrelated changes do not conflict. */
	t = start(a);
	CU_ASSERT_EQUAL(REQ(a, XS_READ, t, "/c/x"), XS_READ);
	CU_ASSERT_EQUAL(WRITE(a, t, "/c/x", "mine"), XS_WRITE);
	CU_ASSERT_EQUAL(WRITE(b, 0, "/elsewhere", "e"), XS_WRITE);
	CU_ASSERT_EQUAL(REQ(a, XS_TRANSACTION_END, t, "T"), XS_TRANSACTION_END);
	CU_ASSERT_EQUAL(REQ(b, XS_READ, 0, "/c/x"), XS_READ);
	CU_ASSERT_STRING_EQUAL(m.data, "mine");
	conn__free(a);
	conn__free(b);
}

/* The reply's NUL-separated names joined with ',' (DIRECTORY). */
static const char *names(void)
{
	static char buf[XENSTORE_PAYLOAD_MAX + 1];
	size_t o = 0;

	for (unsigned i = 0; i < m.len; i++)
		buf[o++] = m.data[i] ? m.data[i] : ',';
	if (o && buf[o - 1] == ',')
		o--;
	buf[o] = 0;
	return buf;
}

static const char *dir(struct xs_conn *c, uint32_t tx, const char *path)
{
	if (fx_req(c, XS_DIRECTORY, tx, path, (unsigned)strlen(path) + 1, &m) != XS_DIRECTORY)
		return "(error)";
	return names();
}

static const char *rd(struct xs_conn *c, uint32_t tx, const char *path)
{
	if (fx_req(c, XS_READ, tx, path, (unsigned)strlen(path) + 1, &m) != XS_READ)
		return m.data;          /* the error's name */
	return m.data;
}

/* Reads in a transaction see the tree as it was when it started, not later commits. */
static void test_snapshot(void)
{
	struct xs_conn *a = fx_conn(&srv, 0), *b = fx_conn(&srv, 0);
	uint32_t t, u;

	CU_ASSERT_EQUAL(WRITE(b, 0, "/s/x", "0"), XS_WRITE);
	CU_ASSERT_EQUAL(WRITE(b, 0, "/s/gone", "g"), XS_WRITE);
	CU_ASSERT_EQUAL(srv.store.old_count, 0);        /* nobody needs old versions: none kept */
	t = start(a);
	CU_ASSERT_EQUAL(WRITE(b, 0, "/s/x", "1"), XS_WRITE);
	CU_ASSERT_EQUAL(REQ(b, XS_RM, 0, "/s/gone"), XS_RM);
	CU_ASSERT_EQUAL(WRITE(b, 0, "/s/new", "n"), XS_WRITE);
	/* Changed, deleted and created after the start: t sees none of it, first read or not. */
	CU_ASSERT_STRING_EQUAL(rd(a, t, "/s/x"), "0");
	CU_ASSERT_STRING_EQUAL(rd(a, t, "/s/gone"), "g");
	CU_ASSERT_STRING_EQUAL(rd(a, t, "/s/new"), "ENOENT");
	CU_ASSERT_STRING_EQUAL(dir(a, t, "/s"), "x,gone");
	CU_ASSERT_STRING_EQUAL(dir(b, 0, "/s"), "x,new");
	/* A second transaction started now sees the new state; the first still its own. */
	u = start(a);
	CU_ASSERT_EQUAL(WRITE(b, 0, "/s/x", "2"), XS_WRITE);
	CU_ASSERT_STRING_EQUAL(rd(a, u, "/s/x"), "1");
	CU_ASSERT_STRING_EQUAL(rd(a, t, "/s/x"), "0");
	CU_ASSERT_STRING_EQUAL(rd(b, 0, "/s/x"), "2");
	/* Its own writes over the snapshot, then the commit fails: what it read has changed. */
	CU_ASSERT_EQUAL(WRITE(a, t, "/s/y", "y"), XS_WRITE);
	CU_ASSERT_STRING_EQUAL(dir(a, t, "/s"), "x,gone,y");
	CU_ASSERT_EQUAL(REQ(a, XS_TRANSACTION_END, t, "T"), XS_ERROR);
	CU_ASSERT_STRING_EQUAL(m.data, "EAGAIN");
	CU_ASSERT_STRING_EQUAL(rd(b, 0, "/s/y"), "ENOENT");
	CU_ASSERT(srv.store.old_count > 0);             /* u still needs its versions */
	CU_ASSERT_EQUAL(REQ(a, XS_TRANSACTION_END, u, "F"), XS_TRANSACTION_END);
	CU_ASSERT_EQUAL(srv.store.old_count, 0);        /* the last snapshot gone, so are they */
	CU_ASSERT_EQUAL(srv.store.old_bytes, 0);
	/* Unchanged since the start: the commit goes through. */
	t = start(a);
	CU_ASSERT_STRING_EQUAL(rd(a, t, "/s/x"), "2");
	CU_ASSERT_EQUAL(WRITE(a, t, "/s/x", "3"), XS_WRITE);
	CU_ASSERT_EQUAL(WRITE(b, 0, "/elsewhere", "e"), XS_WRITE);
	CU_ASSERT_EQUAL(REQ(a, XS_TRANSACTION_END, t, "T"), XS_TRANSACTION_END);
	CU_ASSERT_STRING_EQUAL(rd(b, 0, "/s/x"), "3");
	/* A snapshot left open while the store churns is given up past the budget, and fails. */
	size_t max = srv.store.old_max;
	srv.store.old_max = 64 * 1024;
	t = start(a);
	CU_ASSERT_STRING_EQUAL(rd(a, t, "/s/x"), "3");
	for (unsigned i = 0; i < 2000; i++)
		CU_ASSERT_EQUAL(WRITE(b, 0, "/s/x", "churn"), XS_WRITE);
	CU_ASSERT(srv.store.old_bytes <= srv.store.old_max);
	CU_ASSERT_EQUAL(REQ(a, XS_TRANSACTION_END, t, "T"), XS_ERROR);
	CU_ASSERT_STRING_EQUAL(m.data, "EAGAIN");
	srv.store.old_max = max;
	CU_ASSERT_EQUAL(srv.store.old_count, 0);
	conn__free(a);
	conn__free(b);
}

static unsigned problems;

static void count_problem(void *arg, const char *msg)
{
	problems++;
}

/*
 * A model of a small tree as one transaction sees it: each path there or
 * not, its value, and its place among its siblings (creation order).
 */
#define NPATHS 12
static const char *const mpaths[NPATHS] = {
	"/m/a", "/m/b", "/m/c", "/m/a/x", "/m/a/y", "/m/b/x", "/m/b/y", "/m/c/x", "/m/c/y",
	"/m/a/x/deep", "/m/b/y/deep", "/m/c/x/deep",
};
static const int mparent[NPATHS] = { -1, -1, -1, 0, 0, 1, 1, 2, 2, 3, 6, 7 };   /* -1: /m */
struct model { uint32_t tx; char val[NPATHS][32]; bool there[NPATHS]; unsigned order[NPATHS]; unsigned next; };

static const char *leaf(unsigned i)
{
	return strrchr(mpaths[i], '/') + 1;
}

/* The model's listing of dir (-1: /m), as dir() prints one. */
static const char *model_dir(const struct model *md, int d)
{
	static char buf[128];
	unsigned last = 0;

	buf[0] = 0;
	for (;;) {          /* children in increasing order: a selection pass per child, the lists are tiny */
		int best = -1;
		for (unsigned i = 0; i < NPATHS; i++)
			if (mparent[i] == d && md->there[i] && md->order[i] > last &&
			    (best < 0 || md->order[i] < md->order[best]))
				best = (int)i;
		if (best < 0)
			return buf;
		snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "%s%s", buf[0] ? "," : "", leaf((unsigned)best));
		last = md->order[best];
	}
}

/* The live tree into md: values, and each child's place from its parent's listing. */
static void model_take(struct xs_conn *c, struct model *md)
{
	for (unsigned i = 0; i < NPATHS; i++) {
		md->there[i] = fx_req(c, XS_READ, 0, mpaths[i], (unsigned)strlen(mpaths[i]) + 1, &m) == XS_READ;
		snprintf(md->val[i], sizeof(md->val[i]), "%.31s", md->there[i] ? m.data : "");
		md->order[i] = 0;
		if (!md->there[i])
			continue;
		char parent[32], list[128];
		snprintf(parent, sizeof(parent), "%.*s", (int)(leaf(i) - 1 - mpaths[i]), mpaths[i]);
		snprintf(list, sizeof(list), ",%s,", dir(c, 0, parent));
		char name[16];
		snprintf(name, sizeof(name), ",%s,", leaf(i));
		const char *at = strstr(list, name);
		md->order[i] = 1;   /* 0 is "before the first" in model_dir */
		for (const char *k = list; at && k < at; k++)
			md->order[i] += *k == ',';
	}
	md->next = 1000;
}

static void model_write(struct model *md, unsigned i, const char *val)
{
	if (mparent[i] >= 0 && !md->there[mparent[i]])
		model_write(md, (unsigned)mparent[i], "");     /* implicit parents */
	if (!md->there[i]) {
		md->there[i] = true;
		md->order[i] = ++md->next;
	}
	snprintf(md->val[i], sizeof(md->val[i]), "%s", val);
}

static void model_rm(struct model *md, unsigned i)
{
	md->there[i] = false;
	for (unsigned k = 0; k < NPATHS; k++)
		if (mparent[k] == (int)i && md->there[k])
			model_rm(md, k);
}

/*
 * Randomised against the model: up to three transactions open at different
 * starts, each writing and removing on its own, while another client writes
 * and removes; every read and listing in each must equal its model (the tree
 * at its start plus its own changes).
 */
static void test_snapshot_model(void)
{
	struct xs_conn *a = fx_conn(&srv, 0), *b = fx_conn(&srv, 0);
	struct model md[3];
	unsigned open = 0, seed = 12345, bad = 0, checks = 0, commits = 0;
	char req[64];

#define RND(n) ((seed = seed * 1103515245u + 12345u) >> 16) % (n)
	CU_ASSERT_EQUAL(WRITE(b, 0, "/m", ""), XS_WRITE);
	for (unsigned step = 0; step < 8000; step++) {
		unsigned op = RND(12), p = RND(NPATHS);
		struct model *x = open ? &md[RND(open)] : NULL;
		if (op < 3) {               /* b writes */
			int l = snprintf(req, sizeof(req), "%s%cv%u", mpaths[p], 0, step);
			CU_ASSERT_EQUAL(fx_req(b, XS_WRITE, 0, req, (unsigned)l, &m), XS_WRITE);
		} else if (op < 4) {        /* b removes (a subtree, maybe) */
			fx_req(b, XS_RM, 0, mpaths[p], (unsigned)strlen(mpaths[p]) + 1, &m);
		} else if (op < 5 && open < 3) {
			md[open].tx = start(a);
			model_take(b, &md[open]);   /* nothing runs between: the start's state */
			open++;
		} else if (op < 6 && open) {
			unsigned k = (unsigned)(x - md);
			commits += fx_req(a, XS_TRANSACTION_END, x->tx, RND(2) ? "T" : "F", 2, &m) ==
			           XS_TRANSACTION_END;
			md[k] = md[--open];
		} else if (op < 7 && x) {   /* a writes in its transaction */
			int l = snprintf(req, sizeof(req), "%s%ct%u", mpaths[p], 0, step);
			CU_ASSERT_EQUAL(fx_req(a, XS_WRITE, x->tx, req, (unsigned)l, &m), XS_WRITE);
			model_write(x, p, req + strlen(req) + 1);
		} else if (op < 8 && x) {   /* a removes in its transaction */
			int t = fx_req(a, XS_RM, x->tx, mpaths[p], (unsigned)strlen(mpaths[p]) + 1, &m);
			bool parent = mparent[p] < 0 || x->there[mparent[p]];
			bad += (t == XS_RM) != parent;
			model_rm(x, p);
		} else if (op < 10 && x) {  /* a reads in its transaction */
			checks++;
			bool there = fx_req(a, XS_READ, x->tx, mpaths[p], (unsigned)strlen(mpaths[p]) + 1, &m) == XS_READ;
			bad += there != x->there[p] || (there && strcmp(m.data, x->val[p]));
		} else if (x) {             /* a lists in its transaction */
			int d = (int)RND(4) - 1;
			checks++;
			if (d >= 0 && !x->there[d])
				continue;
			bad += strcmp(dir(a, x->tx, d < 0 ? "/m" : mpaths[d]), model_dir(x, d)) != 0;
		}
	}
#undef RND
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT(checks > 1500);
	CU_ASSERT(commits > 50);
	while (open)
		fx_req(a, XS_TRANSACTION_END, md[--open].tx, "F", 2, &m);
	CU_ASSERT_EQUAL(srv.store.old_count, 0);
	CU_ASSERT_EQUAL(store__check(&srv.store, count_problem, NULL), 0);
	CU_ASSERT_EQUAL(REQ(b, XS_RM, 0, "/m"), XS_RM);
	conn__free(a);
	conn__free(b);
}

/* DIRECTORY lists children in creation order, outside and inside transactions and after commits. */
static void test_creation_order(void)
{
	struct xs_conn *a = fx_conn(&srv, 0);
	uint32_t t;

	CU_ASSERT_EQUAL(WRITE(a, 0, "/o/c", ""), XS_WRITE);
	CU_ASSERT_EQUAL(WRITE(a, 0, "/o/a", ""), XS_WRITE);
	CU_ASSERT_EQUAL(WRITE(a, 0, "/o/b", ""), XS_WRITE);
	CU_ASSERT_STRING_EQUAL(dir(a, 0, "/o"), "c,a,b");
	CU_ASSERT_EQUAL(REQ(a, XS_RM, 0, "/o/a"), XS_RM);
	CU_ASSERT_EQUAL(WRITE(a, 0, "/o/a", ""), XS_WRITE);     /* re-created: now the newest */
	CU_ASSERT_STRING_EQUAL(dir(a, 0, "/o"), "c,b,a");
	t = start(a);
	CU_ASSERT_EQUAL(WRITE(a, t, "/o/z", ""), XS_WRITE);
	CU_ASSERT_EQUAL(WRITE(a, t, "/o/y/deep", ""), XS_WRITE);
	CU_ASSERT_EQUAL(WRITE(a, t, "/o/x", ""), XS_WRITE);
	CU_ASSERT_EQUAL(REQ(a, XS_RM, t, "/o/c"), XS_RM);
	CU_ASSERT_STRING_EQUAL(dir(a, t, "/o"), "b,a,z,y,x");
	CU_ASSERT_EQUAL(REQ(a, XS_TRANSACTION_END, t, "T"), XS_TRANSACTION_END);
	CU_ASSERT_STRING_EQUAL(dir(a, 0, "/o"), "b,a,z,y,x");
	/* Created is what counts, not first touched: a child read while absent and created later is listed later. */
	t = start(a);
	CU_ASSERT_STRING_EQUAL(rd(a, t, "/o/q"), "ENOENT");
	CU_ASSERT_EQUAL(WRITE(a, t, "/o/p", ""), XS_WRITE);
	CU_ASSERT_EQUAL(WRITE(a, t, "/o/q", ""), XS_WRITE);
	CU_ASSERT_STRING_EQUAL(dir(a, t, "/o"), "b,a,z,y,x,p,q");
	/* Removed and written again in the transaction: the newest, as Xen appends it. */
	CU_ASSERT_EQUAL(REQ(a, XS_RM, t, "/o/a"), XS_RM);
	CU_ASSERT_EQUAL(WRITE(a, t, "/o/a", "again"), XS_WRITE);
	CU_ASSERT_STRING_EQUAL(dir(a, t, "/o"), "b,z,y,x,p,q,a");
	CU_ASSERT_EQUAL(REQ(a, XS_RM, t, "/o/y"), XS_RM);           /* with its child */
	CU_ASSERT_EQUAL(WRITE(a, t, "/o/y", ""), XS_WRITE);
	CU_ASSERT_STRING_EQUAL(dir(a, t, "/o/y"), "");
	CU_ASSERT_EQUAL(REQ(a, XS_TRANSACTION_END, t, "T"), XS_TRANSACTION_END);
	CU_ASSERT_STRING_EQUAL(dir(a, 0, "/o"), "b,z,x,p,q,a,y");
	CU_ASSERT_STRING_EQUAL(dir(a, 0, "/o/y"), "");
	CU_ASSERT_STRING_EQUAL(rd(a, 0, "/o/a"), "again");
	CU_ASSERT_EQUAL(REQ(a, XS_RM, 0, "/o/p"), XS_RM);
	CU_ASSERT_EQUAL(REQ(a, XS_RM, 0, "/o/q"), XS_RM);
	CU_ASSERT_EQUAL(REQ(a, XS_RM, 0, "/o/a"), XS_RM);
	CU_ASSERT_EQUAL(REQ(a, XS_RM, 0, "/o/y"), XS_RM);
	CU_ASSERT_EQUAL(WRITE(a, 0, "/o/a", ""), XS_WRITE);
	CU_ASSERT_EQUAL(WRITE(a, 0, "/o/y/deep", ""), XS_WRITE);
	CU_ASSERT_STRING_EQUAL(dir(a, 0, "/o"), "b,z,x,a,y");
	/* Removing the first, the last and a middle child keeps the order and the links. */
	CU_ASSERT_EQUAL(REQ(a, XS_RM, 0, "/o/b"), XS_RM);
	CU_ASSERT_EQUAL(REQ(a, XS_RM, 0, "/o/x"), XS_RM);
	CU_ASSERT_EQUAL(REQ(a, XS_RM, 0, "/o/z"), XS_RM);
	CU_ASSERT_STRING_EQUAL(dir(a, 0, "/o"), "a,y");
	CU_ASSERT_EQUAL(WRITE(a, 0, "/o/b", ""), XS_WRITE);
	CU_ASSERT_STRING_EQUAL(dir(a, 0, "/o"), "a,y,b");
	CU_ASSERT_EQUAL(REQ(a, XS_RM, 0, "/o/a"), XS_RM);
	CU_ASSERT_EQUAL(REQ(a, XS_RM, 0, "/o/y"), XS_RM);
	CU_ASSERT_EQUAL(WRITE(a, 0, "/o/x", ""), XS_WRITE);
	CU_ASSERT_STRING_EQUAL(dir(a, 0, "/o"), "b,x");
	CU_ASSERT_EQUAL(store__check(&srv.store, count_problem, NULL), 0);
	CU_ASSERT_EQUAL(problems, 0);
	/* DIRECTORY_PART walks the same order. */
	CU_ASSERT_EQUAL(REQ(a, XS_DIRECTORY_PART, 0, "/o\0" "0"), XS_DIRECTORY_PART);
	CU_ASSERT_STRING_EQUAL(m.data + strlen(m.data) + 1, "b");
	CU_ASSERT_STRING_EQUAL(m.data + strlen(m.data) + 3, "x");
	CU_ASSERT_EQUAL(REQ(a, XS_RM, 0, "/o"), XS_RM);
	conn__free(a);
}

static void test_txn_quota(void)
{
	struct xs_conn *g = fx_conn(&srv, 3);
	unsigned ok = 0;

	for (unsigned i = 0; i < 20; i++)
		ok += REQ(g, XS_TRANSACTION_START, 0, "") == XS_TRANSACTION_START;
	CU_ASSERT_EQUAL(ok, srv.quota.txns_per_conn);
	CU_ASSERT_STRING_EQUAL(m.data, "ENOSPC");
	CU_ASSERT_EQUAL(REQ(g, XS_RESET_WATCHES, 0, ""), XS_RESET_WATCHES);
	CU_ASSERT_EQUAL(g->ntxns, 0);
	/* Privileged requests from a guest are refused. */
	CU_ASSERT_EQUAL(REQ(g, XS_INTRODUCE, 0, "4\0" "1\0" "1"), XS_ERROR);
	CU_ASSERT_STRING_EQUAL(m.data, "EACCES");
	CU_ASSERT_EQUAL(REQ(g, XS_CONTROL, 0, "quota"), XS_ERROR);
	conn__free(g);
}

static void test_watches(void)
{
	struct xs_conn *a = fx_conn(&srv, 0), *g = fx_conn(&srv, 4);
	char p[4096], t[4096];
	struct xs_permissions perm = { 4, XS_PERM_NONE };

	CU_ASSERT_EQUAL(REQ(a, XS_WATCH, 0, "/w\0tok"), XS_WATCH);
	CU_ASSERT(fx_event(a, p, t));                      /* fires at registration */
	CU_ASSERT_STRING_EQUAL(p, "/w");
	CU_ASSERT_STRING_EQUAL(t, "tok");
	CU_ASSERT(!fx_event(a, p, t));
	CU_ASSERT_EQUAL(WRITE(a, 0, "/w/deep/node", "1"), XS_WRITE);
	CU_ASSERT(fx_event(a, p, t));                      /* subtree, once, for the node itself */
	CU_ASSERT_STRING_EQUAL(p, "/w/deep/node");
	CU_ASSERT(!fx_event(a, p, t));
	CU_ASSERT_EQUAL(WRITE(a, 0, "/wx", "1"), XS_WRITE); /* not under /w */
	CU_ASSERT(!fx_event(a, p, t));
	CU_ASSERT_EQUAL(REQ(a, XS_RM, 0, "/w"), XS_RM);
	CU_ASSERT(fx_event(a, p, t));
	CU_ASSERT_STRING_EQUAL(p, "/w");
	fx_drain(a);
	CU_ASSERT_EQUAL(REQ(a, XS_UNWATCH, 0, "/w\0tok"), XS_UNWATCH);
	CU_ASSERT_EQUAL(WRITE(a, 0, "/w/x", "1"), XS_WRITE);
	CU_ASSERT(!fx_event(a, p, t));
	CU_ASSERT_EQUAL(REQ(a, XS_UNWATCH, 0, "/w\0tok"), XS_ERROR);

	/* Guests watch relative paths and get them back relative. */
	CU_ASSERT_EQUAL(txn__write(&(struct xs_ctx){ &srv, 0, XS_DOMID_NONE, true, NULL }, "/local/domain/4", "", 0), 0);
	CU_ASSERT_EQUAL(txn__set_perms(&(struct xs_ctx){ &srv, 0, XS_DOMID_NONE, true, NULL }, "/local/domain/4", &perm, 1), 0);
	CU_ASSERT_EQUAL(REQ(g, XS_WATCH, 0, "device\0dev"), XS_WATCH);
	CU_ASSERT(fx_event(g, p, t));
	CU_ASSERT_STRING_EQUAL(p, "device");
	CU_ASSERT_EQUAL(WRITE(a, 0, "/local/domain/4/device/vbd/0", "x"), XS_WRITE);
	CU_ASSERT(fx_event(g, p, t));
	CU_ASSERT_STRING_EQUAL(p, "device/vbd/0");
	/* ... and only for nodes they may read. */
	CU_ASSERT_EQUAL(REQ(g, XS_WATCH, 0, "/secret\0s"), XS_WATCH);
	fx_drain(g);
	CU_ASSERT_EQUAL(WRITE(a, 0, "/secret/x", "1"), XS_WRITE);
	CU_ASSERT(!fx_event(g, p, t));
	/* Specials: only privileged watchers hear them. */
	CU_ASSERT_EQUAL(REQ(a, XS_WATCH, 0, "@releaseDomain\0r"), XS_WATCH);
	CU_ASSERT_EQUAL(REQ(g, XS_WATCH, 0, "@releaseDomain\0r"), XS_WATCH);
	fx_drain(a);
	fx_drain(g);
	watch__fire(&srv, "@releaseDomain", true, NULL, 0);
	CU_ASSERT(fx_event(a, p, t));
	CU_ASSERT_STRING_EQUAL(p, "@releaseDomain");
	CU_ASSERT(!fx_event(g, p, t));
	CU_ASSERT_EQUAL(REQ(g, XS_WATCH, 0, "@bad path\0r"), XS_ERROR);
	/* Quota: watches per connection. */
	unsigned ok = 0;
	char req[64];
	for (unsigned i = 0; i < 200; i++) {
		int l = snprintf(req, sizeof(req), "w%u%ctok", i, 0);
		ok += fx_req(g, XS_WATCH, 0, req, (unsigned)l + 1, &m) == XS_WATCH;
	}
	CU_ASSERT_EQUAL(g->nwatches, srv.quota.watches_per_conn);
	CU_ASSERT_STRING_EQUAL(m.data, "E2BIG");
	unsigned before = srv.watches.count;
	conn__free(g);
	CU_ASSERT_EQUAL(srv.watches.count, before - srv.quota.watches_per_conn);
	conn__free(a);
	CU_ASSERT_EQUAL(srv.watches.count, 0);
}

static long stuck_io(struct xs_conn *c, void *buf, size_t len) { return 0; }
static long stuck_send(struct xs_conn *c, const void *buf, size_t len) { return 0; }
static const struct xs_conn_ops stuck_ops = { .name = "stuck", .recv = stuck_io, .send = stuck_send };

/* A client that never reads: events beyond its output quota are dropped, memory stays bounded. */
static void test_output_quota(void)
{
	struct xs_conn *a = fx_conn(&srv, 0);
	struct xs_conn *slow = conn__new(&srv, &stuck_ops, NULL, -1, 0, true);
	struct xs_watch *w;

	CU_ASSERT_EQUAL(watch__add(&srv, slow, "/q", 0, "t", &w), 0);
	srv.quota.out_bytes = 4096;
	for (unsigned i = 0; i < 1000; i++)
		CU_ASSERT_EQUAL(WRITE(a, 0, "/q/x", "1"), XS_WRITE);
	CU_ASSERT(slow->outbytes <= 4096);
	CU_ASSERT(slow->dropped_events > 800);
	CU_ASSERT(slow->outbytes > 4096 - 64);
	srv.quota.out_bytes = 256 * 1024;
	conn__free(slow);
	conn__free(a);
}

int main(void)
{
	static const struct cunit_test tests[] = {
		{ "commit and abort", test_commit_abort },
		{ "conflicts", test_conflict },
		{ "snapshot reads", test_snapshot },
		{ "creation order", test_creation_order },
		{ "snapshots against a model", test_snapshot_model },
		{ "transaction quota and privilege", test_txn_quota },
		{ "watches", test_watches },
		{ "output quota", test_output_quota },
	};

	return cunit_run("xs_txn_watch", tests, CUNIT_COUNT(tests), setup, teardown);
}
