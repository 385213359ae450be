/* dom0_gnttab_check: the dom0 side of gnttab_map.sh: maps a guest's grants through libkxctrl and checks Xen's rules. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kxen/kxctrl_gnttab.h"

#define DOM0_REPLY "hello from dom0"

static int failures;

#define CHECK(cond, ...) do { if (!(cond)) { fprintf(stderr, "dom0_gnttab_check: FAIL: " __VA_ARGS__); \
	fputc('\n', stderr); failures++; } } while (0)

static int wait_notify(int fd, const char *what)
{
	struct pollfd pf = { .fd = fd, .events = POLLIN };
	uint64_t n;

	if (poll(&pf, 1, 30000) != 1 || read(fd, &n, sizeof(n)) != sizeof(n)) {
		fprintf(stderr, "dom0_gnttab_check: no event from the guest (%s)\n", what);
		return -1;
	}
	return 0;
}

static int kick(int fd)
{
	uint64_t one = 1;

	return write(fd, &one, sizeof(one)) == sizeof(one) ? 0 : -1;
}

/* One low-level map that must fail with want; unmaps it if it wrongly succeeds. */
static void map_must_fail(kxctrl *h, uint32_t dom, uint32_t ref, uint32_t flags, int16_t want,
                          const char *what)
{
	struct gnttab_map_grant_ref m = { .flags = flags, .ref = ref, .dom = (domid_t)dom };
	int rc = kxctrl_gnttab_map(h, &m, 1);

	CHECK(rc == 0 && m.status == want, "%s: rc %d status %d, want status %d", what, rc,
	      m.status, want);
	if (rc == 0 && m.status == GNTST_okay) {
		struct gnttab_unmap_grant_ref u = { .handle = m.handle };
		kxctrl_gnttab_unmap(h, &u, 1);
	}
}

/* Pages present in fd (SEEK_DATA/SEEK_HOLE); the first two offsets go to at[]. */
static unsigned present_pages(int fd, off_t at[2])
{
	unsigned n = 0;
	off_t off = 0, end;

	while ((off = lseek(fd, off, SEEK_DATA)) >= 0) {
		end = lseek(fd, off, SEEK_HOLE);
		for (; off < end; off += 4096, n++)
			if (n < 2)
				at[n] = off;
	}
	return n;
}

static int check_pattern(const uint8_t *p, unsigned seed, unsigned from)
{
	for (unsigned i = from; i < 4096; i++)
		if (p[i] != (uint8_t)(i * 7 + seed))
			return -1;
	return 0;
}

int main(int argc, char **argv)
{
	kxctrl *hev, *hg, *hg2;
	kxgnt *g;
	uint32_t lport;
	int notify, kickfd, rc;

	if (argc != 6) {
		fprintf(stderr, "usage: dom0_gnttab_check DOMID PORT REF_RW REF_RO REF_OTHER\n");
		return 2;
	}
	uint32_t dom = (uint32_t)strtoul(argv[1], NULL, 10);
	uint32_t port = (uint32_t)strtoul(argv[2], NULL, 10);
	grant_ref_t rw = (grant_ref_t)strtoul(argv[3], NULL, 10);
	grant_ref_t ro = (grant_ref_t)strtoul(argv[4], NULL, 10);
	grant_ref_t other = (grant_ref_t)strtoul(argv[5], NULL, 10);

	if ((rc = kxctrl_open(NULL, &hev)) || (rc = kxctrl_open(NULL, &hg)) ||
	    (rc = kxctrl_open(NULL, &hg2)) || (rc = kxgnt_open(hg, &g))) {
		fprintf(stderr, "dom0_gnttab_check: connect: %s\n", strerror(-rc));
		return 1;
	}
	if ((rc = kxctrl_evtchn_bind_interdomain(hev, dom, port, &lport, &notify, &kickfd))) {
		fprintf(stderr, "dom0_gnttab_check: bind d%u port %u: %s\n", dom, port, strerror(-rc));
		return 1;
	}
	uint64_t n;
	struct pollfd pf = { .fd = notify, .events = POLLIN };
	if (poll(&pf, 1, 100) > 0 && read(notify, &n, sizeof(n)) != sizeof(n))
		return 1;   /* the bind's own pending event */

	/* No memfd for a domain we map nothing of. */
	int mfd;
	uint64_t msize;
	CHECK(kxctrl_gnttab_memfd(hg, dom, &mfd, &msize) == -EPERM, "memfd handed out before any map");

	void *prw, *pro, *bad;
	int16_t st;
	rc = kxgnt_map(g, dom, &rw, 1, false, &prw, &st);
	CHECK(rc == 0 && st == GNTST_okay, "map rw ref %u: rc %d status %d", rw, rc, st);
	rc = kxgnt_map(g, dom, &ro, 1, false, &bad, &st);
	CHECK(rc == 0 && st == GNTST_general_error && !bad, "writable map of readonly ref %u: status %d", ro, st);
	rc = kxgnt_map(g, dom, &ro, 1, true, &pro, &st);
	CHECK(rc == 0 && st == GNTST_okay, "readonly map of ref %u: rc %d status %d", ro, rc, st);
	if (failures)
		return 1;
	CHECK(check_pattern(prw, 3, 0) == 0, "rw page does not hold the guest's pattern");
	CHECK(check_pattern(pro, 5, 0) == 0, "ro page does not hold the guest's pattern");

	/*
	 * What the backend's fd reaches: the grant window, which holds exactly the
	 * two pages mapped now (the guest's kernel, stacks and other pages are
	 * holes), and which a backend can neither shrink nor grow.
	 */
	int wfd;
	uint64_t wsize;
	off_t at[2] = { -1, -1 };
	uint8_t page[4096];
	char link[64], target[128] = "";
	CHECK(kxctrl_gnttab_memfd(hg, dom, &wfd, &wsize) == 0, "no window fd while mapping");
	snprintf(link, sizeof(link), "/proc/self/fd/%d", wfd);
	CHECK(readlink(link, target, sizeof(target) - 1) > 0 && !strncmp(target, "/memfd:kxen-grant-window", 24),
	      "the fd is not the grant window: %s", target);
	unsigned np = present_pages(wfd, at);
	CHECK(np == 2, "window holds %u pages, want the 2 mapped", np);
	for (unsigned i = 0; i < 2 && i < np; i++)
		CHECK(pread(wfd, page, sizeof(page), at[i]) == sizeof(page) &&
		      (check_pattern(page, 3, 0) == 0 || check_pattern(page, 5, 0) == 0),
		      "window page at %#llx is not a granted page", (unsigned long long)at[i]);
	CHECK(ftruncate(wfd, 4096) < 0 && errno == EPERM, "window shrinkable by a backend");
	CHECK(ftruncate(wfd, (off_t)wsize + 4096) < 0 && errno == EPERM, "window growable by a backend");

	/* The same readonly grant on a second connection, left mapped when it closes. */
	struct gnttab_map_grant_ref m2 = { .flags = GNTMAP_host_map | GNTMAP_readonly, .ref = ro,
	                                   .dom = (domid_t)dom };
	CHECK(kxctrl_gnttab_map(hg2, &m2, 1) == 0 && m2.status == GNTST_okay, "second map of ro: %d", m2.status);

	/* Refs it may not have. */
	map_must_fail(hg, dom, other, GNTMAP_host_map, GNTST_general_error, "ref granted to another domain");
	map_must_fail(hg, dom, ro + 100, GNTMAP_host_map, GNTST_general_error, "ungranted ref");
	map_must_fail(hg, dom, 0xffffffffu, GNTMAP_host_map, GNTST_bad_gntref, "ref beyond the table");
	map_must_fail(hg, dom + 1000, rw, GNTMAP_host_map, GNTST_bad_domain, "no such domain");
	map_must_fail(hg, 0, rw, GNTMAP_host_map, GNTST_bad_domain, "dom0 itself");
	map_must_fail(hg, dom, rw, 0, GNTST_bad_gntref, "no map flags");
	struct gnttab_unmap_grant_ref bu = { .handle = 123456 };
	CHECK(kxctrl_gnttab_unmap(hg, &bu, 1) == 0 && bu.status == GNTST_bad_handle, "bogus handle: %d", bu.status);

	/* dom0's copy path: the guest's ro page into our copy buffer, through kxen-hv. */
	int cfd;
	uint8_t *cbuf;
	CHECK(kxctrl_gnttab_copybuf(hg, 2 * 4096, &cfd, (void **)&cbuf) == 0, "copy buffer");
	struct gnttab_copy c[2] = {
		{ .source = { .u.ref = ro, .domid = (domid_t)dom }, .dest = { .u.gmfn = 1, .domid = DOMID_SELF },
		  .len = 4096, .flags = GNTCOPY_source_gref },
		{ .source = { .u.gmfn = 0, .domid = DOMID_SELF }, .dest = { .u.ref = ro, .domid = (domid_t)dom },
		  .len = 16, .flags = GNTCOPY_dest_gref },
	};
	CHECK(kxctrl_gnttab_copy(hg, c, 2) == 0 && c[0].status == GNTST_okay &&
	      c[1].status == GNTST_general_error, "copies: %d %d", c[0].status, c[1].status);
	CHECK(check_pattern(cbuf + 4096, 5, 0) == 0, "copied page does not hold the pattern");

	memcpy(prw, DOM0_REPLY, sizeof(DOM0_REPLY));
	printf("dom0_gnttab_check: mapped rw %u and ro %u of d%u, patterns ok, reply written\n", rw, ro, dom);
	if (failures)
		return 1;
	kick(kickfd);

	/* The guest tries to end both grants, which must fail while mapped, and tells us. */
	if (wait_notify(notify, "end while mapped") < 0)
		return 1;
	CHECK(kxgnt_unmap(g, &prw, 1) == 0, "unmap rw");
	CHECK(kxgnt_unmap(g, &pro, 1) == 0, "unmap ro");
	CHECK(kxgnt_count(g) == 0, "kxgnt still holds pages");
	kxctrl_close(hg2);   /* still maps ro: kxen-hv must unmap it */
	kick(kickfd);
	if (wait_notify(notify, "end after unmap") < 0)
		return 1;
	map_must_fail(hg, dom, rw, GNTMAP_host_map, GNTST_general_error, "ref the guest ended");
	np = present_pages(wfd, at);
	CHECK(np == 0, "window still holds %u pages after every unmap", np);
	close(wfd);
	CHECK(kxctrl_gnttab_memfd(hg, dom, &mfd, &msize) == -EPERM, "memfd handed out after unmapping all");
	kick(kickfd);
	kxgnt_close(g);
	kxctrl_close(hg);
	kxctrl_close(hev);
	if (failures)
		return 1;
	printf("dom0_gnttab_check: OK\n");
	return 0;
}
