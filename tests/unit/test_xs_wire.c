/* test_xs_wire: Xen's request rules in kxenstored's wire layer: path length limits, SET_PERMS naming missing domains, CONTROL. */
#include "cunit_run.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xs_fixture.h"

static struct xs_server srv;
static struct fx_msg m;

/* A fake hypervisor: domains 1-9 have been created (introduced or not). */
static int fake_exists(struct xs_server *s, unsigned domid)
{
	return domid >= 1 && domid <= 9;
}

static const struct xs_domain_ops fake_ops = { .exists = fake_exists };

static int setup(void)
{
	if (server__init(&srv) < 0)
		return -1;
	srv.domops = &fake_ops;
	return 0;
}

static int teardown(void)
{
	server__fini(&srv);
	return 0;
}

/* Sends type with one path argument made of prefix and then 'a's up to len bytes in all. */
static int path_req(struct xs_conn *c, uint32_t type, const char *prefix, size_t len)
{
	static char p[XENSTORE_PAYLOAD_MAX];
	size_t pl = strlen(prefix);

	memcpy(p, prefix, pl);
	memset(p + pl, 'a', len - pl);
	p[len] = 0;
	return fx_req(c, type, 0, p, (unsigned)len + 1, &m);
}

static void test_path_limits(void)
{
	struct xs_conn *d0 = fx_conn(&srv, 0), *g = fx_conn(&srv, 3);

	/* Absolute paths: XENSTORE_ABS_PATH_MAX for everyone. */
	CU_ASSERT_EQUAL(path_req(d0, XS_WRITE, "/abs/", XENSTORE_ABS_PATH_MAX), XS_WRITE);
	CU_ASSERT_EQUAL(path_req(d0, XS_READ, "/abs/", XENSTORE_ABS_PATH_MAX), XS_READ);
	CU_ASSERT_EQUAL(path_req(d0, XS_WRITE, "/abs/", XENSTORE_ABS_PATH_MAX + 1), XS_ERROR);
	CU_ASSERT_STRING_EQUAL(m.data, "EINVAL");
	/* Relative paths: XENSTORE_REL_PATH_MAX. */
	CU_ASSERT_EQUAL(path_req(d0, XS_WRITE, "rel", XENSTORE_REL_PATH_MAX), XS_WRITE);
	CU_ASSERT_EQUAL(path_req(d0, XS_WRITE, "rel", XENSTORE_REL_PATH_MAX + 1), XS_ERROR);
	CU_ASSERT_STRING_EQUAL(m.data, "EINVAL");
	/* A guest: path-max bytes past /local/domain/N/, however it spells the path. */
	CU_ASSERT_EQUAL(path_req(g, XS_READ, "/local/domain/3/", 16 + 2048), XS_ERROR);
	CU_ASSERT_STRING_EQUAL(m.data, "ENOENT");
	CU_ASSERT_EQUAL(path_req(g, XS_READ, "/local/domain/3/", 16 + 2049), XS_ERROR);
	CU_ASSERT_STRING_EQUAL(m.data, "EINVAL");
	CU_ASSERT_EQUAL(path_req(g, XS_READ, "/local/domain/12345/", 20 + 2048), XS_ERROR);
	CU_ASSERT_STRING_EQUAL(m.data, "ENOENT");
	CU_ASSERT_EQUAL(path_req(g, XS_READ, "/elsewhere/", 2048), XS_ERROR);
	CU_ASSERT_STRING_EQUAL(m.data, "ENOENT");
	CU_ASSERT_EQUAL(path_req(g, XS_READ, "/elsewhere/", 2049), XS_ERROR);
	CU_ASSERT_STRING_EQUAL(m.data, "EINVAL");
	/* ... where dom0 may go up to the absolute limit. */
	CU_ASSERT_EQUAL(path_req(d0, XS_READ, "/elsewhere/", 2049), XS_ERROR);
	CU_ASSERT_STRING_EQUAL(m.data, "ENOENT");
	/* A smaller path-max (CONTROL quota set path-max) applies at once. */
	srv.quota.path_max = 10;
	CU_ASSERT_EQUAL(path_req(g, XS_READ, "/local/domain/3/", 16 + 10), XS_ERROR);
	CU_ASSERT_STRING_EQUAL(m.data, "ENOENT");
	CU_ASSERT_EQUAL(path_req(g, XS_READ, "data/", 11), XS_ERROR);
	CU_ASSERT_STRING_EQUAL(m.data, "EINVAL");
	srv.quota.path_max = XENSTORE_REL_PATH_MAX;
	/* Watches on @special paths: XENSTORE_REL_PATH_MAX, as Xen. */
	CU_ASSERT_EQUAL(path_req(d0, XS_WATCH, "@x", XENSTORE_REL_PATH_MAX + 1), XS_ERROR);
	CU_ASSERT_STRING_EQUAL(m.data, "EINVAL");
	conn__free(g);
	conn__free(d0);
}

#define REQ(c, type, lit) fx_req((c), (type), 0, (lit), sizeof(lit), &m)

static void test_set_perms_domains(void)
{
	struct xs_conn *d0 = fx_conn(&srv, 0);
	struct xs_node *n;

	CU_ASSERT_EQUAL(REQ(d0, XS_WRITE, "/p\0v"), XS_WRITE);
	/* An owner that does not exist: ENOENT, nothing changed. */
	CU_ASSERT_EQUAL(REQ(d0, XS_SET_PERMS, "/p\0n77"), XS_ERROR);
	CU_ASSERT_STRING_EQUAL(m.data, "ENOENT");
	CU_ASSERT_EQUAL(REQ(d0, XS_GET_PERMS, "/p"), XS_GET_PERMS);
	CU_ASSERT_STRING_EQUAL(m.data, "n0");
	/* Created but not introduced yet (the toolstack's order): accepted. */
	CU_ASSERT_EQUAL(REQ(d0, XS_SET_PERMS, "/p\0n5\0r6"), XS_SET_PERMS);
	CU_ASSERT_EQUAL(store__owned(&srv.store, 5), 1);
	/* Another entry for a missing domain: kept, shown, but gives that domid nothing. */
	CU_ASSERT_EQUAL(REQ(d0, XS_SET_PERMS, "/p\0n0\0b77\0r6"), XS_SET_PERMS);
	CU_ASSERT_EQUAL(REQ(d0, XS_GET_PERMS, "/p"), XS_GET_PERMS);
	CU_ASSERT_EQUAL(m.len, 10);
	CU_ASSERT_EQUAL(memcmp(m.data, "n0\0b77\0r6\0", 10), 0);
	n = store__lookup(&srv.store, "/p");
	CU_ASSERT_EQUAL(perm__mode(n->perms, n->nperms, 77, false, XS_DOMID_NONE), XS_PERM_NONE);
	CU_ASSERT_EQUAL(perm__mode(n->perms, n->nperms, 6, false, XS_DOMID_NONE), XS_PERM_READ);
	/* A dead domain's entries go the same way (and its nodes to dom0), so a reused id inherits nothing. */
	CU_ASSERT_EQUAL(REQ(d0, XS_SET_PERMS, "/p\0n0\0b6"), XS_SET_PERMS);
	store__chown_all(&srv.store, 6, 0);
	CU_ASSERT_EQUAL(perm__mode(n->perms, n->nperms, 6, false, XS_DOMID_NONE), XS_PERM_NONE);
	/* A malformed list is still EINVAL before any domain is looked at. */
	CU_ASSERT_EQUAL(REQ(d0, XS_SET_PERMS, "/p\0q77"), XS_ERROR);
	CU_ASSERT_STRING_EQUAL(m.data, "EINVAL");
	CU_ASSERT_EQUAL(REQ(d0, XS_RM, "/p"), XS_RM);
	conn__free(d0);
}

int main(void)
{
	static const struct cunit_test tests[] = {
		{ "path limits", test_path_limits },
		{ "SET_PERMS and missing domains", test_set_perms_domains },
	};

	return cunit_run("xs_wire", tests, CUNIT_COUNT(tests), setup, teardown);
}
