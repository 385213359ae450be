/* test_xs_store: kxenstored's tree, permissions and quotas through the store operations (no sockets, no KVM). */
#include "cunit_run.h"
#include <stdlib.h>
#include <string.h>

#include "kxenstored.h"

static struct xs_server srv;

static struct xs_ctx ctx(unsigned domid)
{
	struct xs_ctx x = { .srv = &srv, .domid = domid, .target = XS_DOMID_NONE, .privileged = domid == 0 };
	return x;
}

static int setup(void)
{
	return server__init(&srv);
}

static int teardown(void)
{
	server__fini(&srv);
	return 0;
}

static const char *rd(struct xs_ctx *x, const char *path)
{
	static char buf[8192];
	struct xs_view v;

	if (txn__read(x, path, &v) < 0)
		return NULL;
	memcpy(buf, v.value, v.vlen);
	buf[v.vlen] = 0;
	return buf;
}

static void test_tree(void)
{
	struct xs_ctx d0 = ctx(0);

	CU_ASSERT_EQUAL(txn__write(&d0, "/a/b/c", "v", 1), 0);
	CU_ASSERT_STRING_EQUAL(rd(&d0, "/a/b/c"), "v");
	CU_ASSERT_STRING_EQUAL(rd(&d0, "/a/b"), "");           /* implicit parent */
	CU_ASSERT_EQUAL(store__lookup(&srv.store, "/a")->nchildren, 1);
	CU_ASSERT_EQUAL(txn__write(&d0, "/a/b/c", "w", 1), 0);
	CU_ASSERT_STRING_EQUAL(rd(&d0, "/a/b/c"), "w");
	CU_ASSERT_EQUAL(txn__mkdir(&d0, "/a/b"), 0);             /* exists: fine */
	CU_ASSERT_STRING_EQUAL(rd(&d0, "/a/b/c"), "w");
	CU_ASSERT_EQUAL(txn__rm(&d0, "/a/b/none"), 0);           /* parent exists: fine */
	CU_ASSERT_EQUAL(txn__rm(&d0, "/a/x/none"), -ENOENT);
	CU_ASSERT_EQUAL(txn__rm(&d0, "/"), -EINVAL);
	unsigned before = srv.store.count;
	CU_ASSERT_EQUAL(txn__rm(&d0, "/a"), 0);
	CU_ASSERT_EQUAL(srv.store.count, before - 3);
	CU_ASSERT_PTR_NULL(rd(&d0, "/a/b/c"));
	CU_ASSERT_PTR_NULL(store__lookup(&srv.store, "/a/b"));
	/* Many nodes: the hash index grows and lookups stay exact. */
	char p[64];
	for (unsigned i = 0; i < 5000; i++) {
		snprintf(p, sizeof(p), "/many/n%u", i);
		CU_ASSERT_EQUAL_FATAL(txn__write(&d0, p, p, (unsigned)strlen(p)), 0);
	}
	CU_ASSERT_STRING_EQUAL(rd(&d0, "/many/n4321"), "/many/n4321");
	CU_ASSERT(srv.store.nbuckets >= 5000);
	CU_ASSERT_EQUAL(txn__rm(&d0, "/many"), 0);
}

static void test_paths(void)
{
	CU_ASSERT(path__valid("/", false));
	CU_ASSERT(path__valid("/a-b_c/d@e", false));
	CU_ASSERT(!path__valid("/a/", false));
	CU_ASSERT(!path__valid("/a//b", false));
	CU_ASSERT(!path__valid("a", false));
	CU_ASSERT(!path__valid("/a b", false));
	CU_ASSERT(!path__valid("@releaseDomain", false));
	CU_ASSERT(path__valid("@releaseDomain", true));
	CU_ASSERT_EQUAL(path__parent_len("/a/b", 4), 2);
	CU_ASSERT_EQUAL(path__parent_len("/a", 2), 1);
	CU_ASSERT(path__is_under("/a/b", "/a"));
	CU_ASSERT(!path__is_under("/ab", "/a"));
	CU_ASSERT(path__is_under("/x", "/"));
}

static void test_perms(void)
{
	struct xs_ctx d0 = ctx(0), d5 = ctx(5), d6 = ctx(6);
	struct xs_permissions p[4];
	unsigned n;

	CU_ASSERT_EQUAL(perm__parse("n5\0r6", 6, 4, p, &n), 0);
	CU_ASSERT_EQUAL(n, 2);
	CU_ASSERT_EQUAL(p[0].id, 5);
	CU_ASSERT_EQUAL(p[1].perms, XS_PERM_READ);
	CU_ASSERT_EQUAL(perm__parse("x5", 3, 4, p, &n), -EINVAL);
	CU_ASSERT_EQUAL(perm__parse("r", 2, 4, p, &n), -EINVAL);
	CU_ASSERT_EQUAL(perm__parse("r1\0r2\0r3", 9, 2, p, &n), -ENOSPC);

	CU_ASSERT_EQUAL(txn__write(&d0, "/local/domain/5", "", 0), 0);
	CU_ASSERT_EQUAL(perm__parse("n5", 3, 4, p, &n), 0);
	CU_ASSERT_EQUAL(txn__set_perms(&d0, "/local/domain/5", p, n), 0);
	/* The guest owns its home; children inherit; another guest sees nothing. */
	CU_ASSERT_EQUAL(txn__write(&d5, "/local/domain/5/x", "1", 1), 0);
	CU_ASSERT_STRING_EQUAL(rd(&d5, "/local/domain/5/x"), "1");
	struct xs_view v;
	CU_ASSERT_EQUAL(txn__read(&d6, "/local/domain/5/x", &v), -EACCES);
	CU_ASSERT_EQUAL(txn__write(&d6, "/local/domain/5/y", "1", 1), -EACCES);
	CU_ASSERT_EQUAL(txn__write(&d5, "/outside", "1", 1), -EACCES);
	/* Grant 6 read access to x: the first entry stays the default for others. */
	CU_ASSERT_EQUAL(perm__parse("n5\0r6", 6, 4, p, &n), 0);
	CU_ASSERT_EQUAL(txn__set_perms(&d5, "/local/domain/5/x", p, n), 0);
	CU_ASSERT_STRING_EQUAL(rd(&d6, "/local/domain/5/x"), "1");
	CU_ASSERT_EQUAL(txn__write(&d6, "/local/domain/5/x", "2", 1), -EACCES);
	/* Only dom0 gives a node away. */
	CU_ASSERT_EQUAL(perm__parse("b6", 3, 4, p, &n), 0);
	CU_ASSERT_EQUAL(txn__set_perms(&d5, "/local/domain/5/x", p, n), -EPERM);
	CU_ASSERT_EQUAL(txn__set_perms(&d6, "/local/domain/5/x", p, n), -EACCES);
	CU_ASSERT_EQUAL(txn__rm(&d6, "/local/domain/5/x"), -EACCES);
	/* dom0 is all-powerful; a stub domain targeting 5 acts as 5's owner. */
	CU_ASSERT_STRING_EQUAL(rd(&d0, "/local/domain/5/x"), "1");
	struct xs_ctx stub = ctx(9);
	stub.target = 5;
	CU_ASSERT_STRING_EQUAL(rd(&stub, "/local/domain/5/x"), "1");
	/* Nodes a guest creates under a dom0-writable node are its own. */
	CU_ASSERT_EQUAL(perm__parse("b0", 3, 4, p, &n), 0);
	CU_ASSERT_EQUAL(txn__write(&d0, "/pub", "", 0), 0);
	CU_ASSERT_EQUAL(txn__set_perms(&d0, "/pub", p, n), 0);
	CU_ASSERT_EQUAL(txn__write(&d6, "/pub/mine", "m", 1), 0);
	CU_ASSERT_EQUAL(store__lookup(&srv.store, "/pub/mine")->perms[0].id, 6);
	CU_ASSERT_EQUAL(txn__rm(&d0, "/pub"), 0);
	CU_ASSERT_EQUAL(txn__rm(&d0, "/local/domain/5"), 0);
	CU_ASSERT_EQUAL(store__owned(&srv.store, 5), 0);
	CU_ASSERT_EQUAL(store__owned(&srv.store, 6), 0);
}

static void test_quota(void)
{
	struct xs_ctx d0 = ctx(0), d7 = ctx(7);
	struct xs_permissions p = { 7, XS_PERM_NONE };
	char path[64], big[5000];
	unsigned i;
	int rc = 0;

	srv.quota.nodes_per_domain = 50;
	CU_ASSERT_EQUAL(txn__write(&d0, "/local/domain/7", "", 0), 0);
	CU_ASSERT_EQUAL(txn__set_perms(&d0, "/local/domain/7", &p, 1), 0);
	for (i = 0; i < 100 && rc == 0; i++) {
		snprintf(path, sizeof(path), "/local/domain/7/n%u", i);
		rc = txn__write(&d7, path, "x", 1);
	}
	CU_ASSERT_EQUAL(rc, -ENOSPC);
	CU_ASSERT_EQUAL(store__owned(&srv.store, 7), 50);
	/* Implicit parents count too, and fail as a whole. */
	CU_ASSERT_EQUAL(txn__rm(&d7, "/local/domain/7/n0"), 0);
	CU_ASSERT_EQUAL(txn__write(&d7, "/local/domain/7/a/b", "x", 1), -ENOSPC);
	CU_ASSERT_PTR_NULL(store__lookup(&srv.store, "/local/domain/7/a"));
	/* dom0 is not limited. */
	CU_ASSERT_EQUAL(txn__write(&d0, "/local/domain/7/dom0-made", "x", 1), 0);
	memset(big, 'x', sizeof(big));
	CU_ASSERT_EQUAL(txn__write(&d7, "/local/domain/7/n1", big, srv.quota.node_size + 1), -ENOSPC);
	CU_ASSERT_EQUAL(txn__write(&d7, "/local/domain/7/n1", big, srv.quota.node_size), 0);
	CU_ASSERT_EQUAL(quota__set(&srv.quota, "nodes", 1000), 0);
	CU_ASSERT_EQUAL(quota__set(&srv.quota, "nonsense", 1), -EINVAL);
	CU_ASSERT_EQUAL(txn__rm(&d0, "/local/domain/7"), 0);
	CU_ASSERT_EQUAL(store__owned(&srv.store, 7), 0);
	/* A dead domain's leftovers go to dom0 (Xen, XSA-322). */
	CU_ASSERT_EQUAL(txn__write(&d0, "/left", "", 0), 0);
	CU_ASSERT_EQUAL(txn__set_perms(&d0, "/left", &p, 1), 0);
	store__chown_all(&srv.store, 7, 0);
	CU_ASSERT_EQUAL(store__lookup(&srv.store, "/left")->perms[0].id, 0);
	CU_ASSERT_EQUAL(store__owned(&srv.store, 7), 0);
}

int main(void)
{
	static const struct cunit_test tests[] = {
		{ "tree", test_tree },
		{ "paths", test_paths },
		{ "permissions", test_perms },
		{ "quotas", test_quota },
	};

	return cunit_run("xs_store", tests, CUNIT_COUNT(tests), setup, teardown);
}
