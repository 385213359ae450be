/* test_xs_wire: Xen's request rules in kxenstored's wire layer: path length limits, SET_PERMS naming missing domains, CONTROL. */
#include "cunit_run.h"
#include <stdarg.h>
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

static char logged[4096];

static void capture(const char *fmt, ...)
{
	va_list ap;
	size_t l = strlen(logged);

	va_start(ap, fmt);
	vsnprintf(logged + l, sizeof(logged) - l, fmt, ap);
	va_end(ap);
	strncat(logged, "\n", sizeof(logged) - strlen(logged) - 1);
}

#define CTL(c, lit) fx_req((c), XS_CONTROL, 0, (lit), sizeof(lit), &m)

/* The commands of Xen's xenstore-control, with Xen's replies. */
static void test_control(void)
{
	struct xs_conn *d0 = fx_conn(&srv, 0), *g = fx_conn(&srv, 3);

	CU_ASSERT_EQUAL(CTL(d0, "quota"), XS_CONTROL);
	CU_ASSERT(!strncmp(m.data, "Quota settings:\n", 16));
	CU_ASSERT_PTR_NOT_NULL(strstr(m.data, "\nnodes            :     1000 Nodes per domain\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(m.data, "\npath-max         :     2048 Max. length of a node path\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(m.data, "\nmemory           :  2621440 Total Xenstore memory per domain (error level)\n"));
	CU_ASSERT_EQUAL(CTL(d0, "quota-soft"), XS_CONTROL);
	CU_ASSERT_STRING_EQUAL(m.data, "Quota settings:\n"
	                       "memory           :  2097152 Total Xenstore memory per domain (warning level)\n");
	CU_ASSERT_EQUAL(CTL(d0, "quota-soft\0set\0memory\0" "3000000"), XS_CONTROL);
	CU_ASSERT_EQUAL(srv.quota.memory_soft, 3000000);
	CU_ASSERT_EQUAL(CTL(d0, "quota-soft\0set\0nodes\0" "5"), XS_ERROR);
	CU_ASSERT_EQUAL(CTL(d0, "quota-soft\0" "3"), XS_ERROR);
	srv.quota.memory_soft = 2 * 1024 * 1024;
	CU_ASSERT_EQUAL(m.len, strlen(m.data) + 1);
	CU_ASSERT_EQUAL(CTL(d0, "quota\0set\0nodes\0" "1234"), XS_CONTROL);
	CU_ASSERT_STRING_EQUAL(m.data, "OK");
	CU_ASSERT_EQUAL(srv.quota.nodes_per_domain, 1234);
	CU_ASSERT_EQUAL(CTL(d0, "quota\0set\0nodes\0" "0"), XS_ERROR);       /* at least 1, as Xen */
	CU_ASSERT_STRING_EQUAL(m.data, "EINVAL");
	CU_ASSERT_EQUAL(CTL(d0, "quota\0set\0bogus\0" "5"), XS_ERROR);
	CU_ASSERT_EQUAL(CTL(d0, "quota\0set\0nodes"), XS_ERROR);
	CU_ASSERT_EQUAL(srv.quota.nodes_per_domain, 1234);
	srv.quota.nodes_per_domain = 1000;
	/* Per domain: what it uses. */
	CU_ASSERT_EQUAL(REQ(d0, XS_WRITE, "/local/domain/3/a\0" "12345"), XS_WRITE);
	CU_ASSERT_EQUAL(REQ(d0, XS_SET_PERMS, "/local/domain/3/a\0n3"), XS_SET_PERMS);
	CU_ASSERT_EQUAL(REQ(g, XS_WATCH, "x\0t"), XS_WATCH);
	CU_ASSERT_EQUAL(CTL(d0, "quota\0" "3"), XS_CONTROL);
	CU_ASSERT(!strncmp(m.data, "Domain 3:\nnodes           :        1\nwatches         :        1\n"
	                   "transactions    :        0\noutstanding     :        0\nmemory          : ", 136));
	CU_ASSERT_EQUAL(CTL(d0, "quota\0" "0"), XS_CONTROL);
	CU_ASSERT(!strncmp(m.data, "Domain 0:\n", 10));
	CU_ASSERT_EQUAL(CTL(d0, "quota\0" "77"), XS_ERROR);
	CU_ASSERT_STRING_EQUAL(m.data, "ENOENT");
	CU_ASSERT_EQUAL(CTL(d0, "quota\0x"), XS_ERROR);
	CU_ASSERT_STRING_EQUAL(m.data, "EINVAL");
	/* check: OK, findings in the log; broken accounting is found and repaired. */
	srv.log = capture;
	logged[0] = 0;
	CU_ASSERT_EQUAL(CTL(d0, "check"), XS_CONTROL);
	CU_ASSERT_STRING_EQUAL(m.data, "OK");
	CU_ASSERT_PTR_NOT_NULL(strstr(logged, " 0 problems"));
	unsigned owned = store__owned(&srv.store, 3);
	srv.store.acct[3]->nodes += 5;
	logged[0] = 0;
	CU_ASSERT_EQUAL(CTL(d0, "check"), XS_CONTROL);
	CU_ASSERT_PTR_NOT_NULL(strstr(logged, "domain 3 owns 1 nodes ("));
	CU_ASSERT_PTR_NOT_NULL(strstr(logged, "), 6 ("));
	CU_ASSERT_PTR_NOT_NULL(strstr(logged, " 1 problem\n"));
	CU_ASSERT_EQUAL(store__owned(&srv.store, 3), owned);
	CU_ASSERT_EQUAL(CTL(d0, "check\0extra"), XS_ERROR);
	CU_ASSERT_EQUAL(CTL(d0, "print\0hello"), XS_CONTROL);
	CU_ASSERT_PTR_NOT_NULL(strstr(logged, "control: hello"));
	srv.log = NULL;
	/* help lists exactly what is served; anything else is EINVAL (xenstore-control then shows help). */
	CU_ASSERT_EQUAL(CTL(d0, "help"), XS_CONTROL);
	CU_ASSERT_STRING_EQUAL(m.data, "check\t\nlog\ton|off\nmemreport\t[<file>]\nprint\t<string>\n"
	                       "quota\t[set <name> <val>|<domid>]\nquota-soft\t[set <name> <val>]\nhelp\t\n");
	CU_ASSERT_EQUAL(CTL(d0, "live-update\0-s"), XS_ERROR);
	CU_ASSERT_STRING_EQUAL(m.data, "EINVAL");
	CU_ASSERT_EQUAL(CTL(g, "quota"), XS_ERROR);                    /* dom0 only */
	CU_ASSERT_STRING_EQUAL(m.data, "EACCES");
	CU_ASSERT_EQUAL(REQ(d0, XS_RM, "/local/domain/3"), XS_RM);
	conn__free(g);
	conn__free(d0);
}

/* Writes 20 nodes of 1000 bytes under the guest's data/ in transaction tx; counts successes and ENOMEMs. */
static void fill(struct xs_conn *g, uint32_t tx, unsigned *ok, unsigned *nomem)
{
	char req[1100];

	*ok = *nomem = 0;
	memset(req, 'v', sizeof(req));
	for (unsigned i = 0; i < 20; i++) {
		int l = snprintf(req, 16, "data/n%u", i);
		req[l] = 0;         /* path, then 1000 value bytes */
		int t = fx_req(g, XS_WRITE, tx, req, (unsigned)l + 1 + 1000, &m);
		*ok += t == XS_WRITE;
		*nomem += t == XS_ERROR && !strcmp(m.data, "ENOMEM");
	}
}

/* Xen's per-domain memory quota on the bytes of the nodes a guest owns: ENOMEM past it, the soft one logged. */
static void test_memory_quota(void)
{
	struct xs_conn *d0 = fx_conn(&srv, 0), *g = fx_conn(&srv, 3);
	unsigned ok, nomem;

	CU_ASSERT_EQUAL(REQ(d0, XS_WRITE, "/local/domain/3\0"), XS_WRITE);
	CU_ASSERT_EQUAL(REQ(d0, XS_SET_PERMS, "/local/domain/3\0n3"), XS_SET_PERMS);
	size_t base = store__owned_bytes(&srv.store, 3);
	CU_ASSERT(base > 0);
	srv.quota.memory = (unsigned)base + 8000;
	srv.quota.memory_soft = (unsigned)base + 4000;
	srv.log = capture;
	logged[0] = 0;
	fill(g, 0, &ok, &nomem);
	CU_ASSERT(ok >= 5 && ok <= 8);
	CU_ASSERT_EQUAL(ok + nomem, 20);
	CU_ASSERT(store__owned_bytes(&srv.store, 3) <= srv.quota.memory);
	CU_ASSERT_PTR_NOT_NULL(strstr(logged, "Domain 3 exceeds soft memory quota"));
	/* Shrinking a value is always allowed; dom0 is exempt. */
	CU_ASSERT_EQUAL(REQ(g, XS_WRITE, "data/n0\0small"), XS_WRITE);
	CU_ASSERT_EQUAL(REQ(d0, XS_WRITE, "/local/domain/3/data/n0\0" "0123456789012345678901234567890123456789"), XS_WRITE);
	/* In a transaction the overlay counts too. */
	CU_ASSERT_EQUAL(REQ(g, XS_RM, "data"), XS_RM);
	CU_ASSERT_EQUAL(fx_req(g, XS_TRANSACTION_START, 0, "", 1, &m), XS_TRANSACTION_START);
	uint32_t t = (uint32_t)atoi(m.data);
	fill(g, t, &ok, &nomem);
	CU_ASSERT(ok >= 5 && ok <= 8);
	CU_ASSERT_EQUAL(ok + nomem, 20);
	CU_ASSERT_EQUAL(fx_req(g, XS_TRANSACTION_END, t, "T", 2, &m), XS_TRANSACTION_END);
	CU_ASSERT(store__owned_bytes(&srv.store, 3) <= srv.quota.memory);
	srv.log = NULL;
	quota__defaults(&srv.quota);
	CU_ASSERT_EQUAL(REQ(d0, XS_RM, "/local/domain/3"), XS_RM);
	CU_ASSERT_EQUAL(store__owned_bytes(&srv.store, 3), 0);
	CU_ASSERT_EQUAL(store__owned(&srv.store, 3), 0);
	conn__free(g);
	conn__free(d0);
}

int main(void)
{
	static const struct cunit_test tests[] = {
		{ "path limits", test_path_limits },
		{ "SET_PERMS and missing domains", test_set_perms_domains },
		{ "CONTROL", test_control },
		{ "memory quota", test_memory_quota },
	};

	return cunit_run("xs_wire", tests, CUNIT_COUNT(tests), setup, teardown);
}
