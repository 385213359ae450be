/* hv_ctl_check: control-socket checks for ctl_batch_free.sh and special_pages.sh against a private kxen-hv. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#define __XEN_INTERFACE_VERSION__ 0x00040e00
#include <xen/xen.h>
#include <xen/io/console.h>
#include <xen/io/xs_wire.h>

#include "kxen/kxctrl.h"

#define PROG "hv_ctl_check"
#define ROUNDS 20

static int failures;

#define CHECK(cond, ...) do { if (!(cond)) { fprintf(stderr, PROG ": FAIL: " __VA_ARGS__); \
	fputc('\n', stderr); failures++; } } while (0)

/* Waits until pid shows state T (stopped), so everything we do next lands in one epoll batch. */
static int wait_stopped(pid_t pid)
{
	char path[64], buf[512];

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	for (int i = 0; i < 2000; i++) {
		FILE *f = fopen(path, "r");
		if (!f)
			return -errno;
		size_t n = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
		buf[n] = '\0';
		char *p = strrchr(buf, ')');
		if (p && p[1] == ' ' && (p[2] == 'T' || p[2] == 't'))
			return 0;
		nanosleep(&(struct timespec){ 0, 1000000 }, NULL);
	}
	return -ETIMEDOUT;
}

/*
 * A client with a dom0 loopback port hangs up while kxen-hv is stopped, and
 * the port's kick eventfd is made readable after the hang-up: kxen-hv wakes
 * to one batch whose first event frees the connection and its port and
 * whose second event is that port's kick.
 */
static int batch_free(pid_t hv)
{
	for (int round = 0; round < ROUNDS; round++) {
		kxctrl *h;
		uint32_t unbound, local;
		int notify, kick, rc;
		uint64_t one = 1;

		if ((rc = kxctrl_open(NULL, &h))) {
			fprintf(stderr, PROG ": round %d: connect: %s\n", round, strerror(-rc));
			return 1;
		}
		rc = kxctrl_evtchn_alloc_unbound(h, 0, 0, &unbound);
		if (rc == 0)
			rc = kxctrl_evtchn_bind_interdomain(h, 0, unbound, &local, &notify, &kick);
		if (rc) {
			fprintf(stderr, PROG ": round %d: dom0 loopback port: %s\n", round, strerror(-rc));
			kxctrl_close(h);
			return 1;
		}
		if (kill(hv, SIGSTOP) < 0 || wait_stopped(hv) < 0) {
			fprintf(stderr, PROG ": cannot stop kxen-hv (pid %d)\n", (int)hv);
			kill(hv, SIGCONT);
			return 1;
		}
		kxctrl_close(h);                            /* event 1: the connection hangs up */
		CHECK(write(kick, &one, sizeof(one)) == sizeof(one), "round %d: kick", round);   /* event 2 */
		kill(hv, SIGCONT);
		close(notify);
		close(kick);
		/* kxen-hv must still answer, and the closed port must be gone. */
		if ((rc = kxctrl_open(NULL, &h))) {
			fprintf(stderr, PROG ": round %d: kxen-hv gone after the batch: %s\n", round,
			        strerror(-rc));
			return 1;
		}
		struct kxctl_host_info hi;
		CHECK(kxctrl_host_info(h, &hi) == 0, "round %d: host info after the batch", round);
		kxctrl_close(h);
	}
	printf(PROG ": batch-free: %d rounds, kxen-hv still answering\n", ROUNDS);
	return failures ? 1 : 0;
}

/* Whether touching p kills a child with SIGBUS (the page is past the memfd's end). */
static int touch_faults(volatile uint8_t *p)
{
	pid_t pid = fork();
	int st;

	if (pid == 0) {
		p[0] = 1;
		_exit(0);
	}
	if (pid < 0 || waitpid(pid, &st, 0) != pid)
		return 0;
	return WIFSIGNALED(st) && WTERMSIG(st) == SIGBUS;
}

/* Maps role's page and checks that it is that one page and nothing more; returns the mapping. */
static void *special_page(kxctrl *h, uint32_t domid, unsigned role, const char *what, uint64_t *gfn)
{
	struct stat st;
	int fd, rc = kxctrl_map_special_page(h, domid, role, &fd, gfn);

	CHECK(rc == 0, "%s page of d%u: %s", what, domid, strerror(-rc));
	if (rc)
		return NULL;
	CHECK(fstat(fd, &st) == 0 && st.st_size == 4096, "%s page: memfd of %lld bytes, want 4096",
	      what, (long long)st.st_size);
	CHECK(ftruncate(fd, 2 * 4096) < 0 && errno == EPERM, "%s page: the memfd could be grown", what);
	CHECK(ftruncate(fd, 0) < 0 && errno == EPERM, "%s page: the memfd could be shrunk", what);
	uint8_t *p = mmap(NULL, 2 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	CHECK(p != MAP_FAILED, "%s page: mmap: %s", what, strerror(errno));
	close(fd);
	if (p == MAP_FAILED)
		return NULL;
	CHECK(touch_faults(p + 4096), "%s page: the byte after the page is reachable", what);
	CHECK(!touch_faults(p), "%s page: the page itself faults", what);
	printf(PROG ": %s page of d%u: gfn %#llx, one sealed page\n", what, domid,
	       (unsigned long long)*gfn);
	return p;
}

/* A running guest's store and console pages, each alone; its whole RAM only while paused. */
static int special(uint32_t domid)
{
	kxctrl *h;
	uint64_t sgfn = 0, cgfn = 0, size;
	int rc, memfd;

	if ((rc = kxctrl_open(NULL, &h))) {
		fprintf(stderr, PROG ": connect: %s\n", strerror(-rc));
		return 1;
	}
	struct xenstore_domain_interface *xs = special_page(h, domid, KXCTL_PAGE_STORE, "store", &sgfn);
	struct xencons_interface *cons = special_page(h, domid, KXCTL_PAGE_CONSOLE, "console", &cgfn);
	if (!xs || !cons) {
		kxctrl_close(h);
		return 1;
	}
	CHECK(sgfn != cgfn, "store and console share gfn %#llx", (unsigned long long)sgfn);
	/* The live pages: the guest has talked to xenstore and written to its console. */
	CHECK(xs->req_prod != 0 && xs->rsp_prod != 0, "store ring idle (req %u rsp %u)",
	      xs->req_prod, xs->rsp_prod);
	CHECK(cons->out_prod != 0, "console ring idle");
	struct kxctl_special_page bad = { .domid = domid, .role = KXCTL_PAGE_NR };
	struct kxctl_special_page_reply r;
	int fd;
	rc = kxctrl_call(h, KXCTL_MAP_SPECIAL_PAGE, &bad, sizeof(bad), &r, sizeof(r), NULL, &fd, 1);
	CHECK(rc == -EINVAL, "role %u: %d, want -EINVAL", KXCTL_PAGE_NR, rc);
	bad = (struct kxctl_special_page){ .domid = 0, .role = KXCTL_PAGE_STORE };
	rc = kxctrl_call(h, KXCTL_MAP_SPECIAL_PAGE, &bad, sizeof(bad), &r, sizeof(r), NULL, &fd, 1);
	CHECK(rc == -EPERM, "dom0's store page: %d, want -EPERM", rc);

	/* The whole RAM: refused while the domain runs, given (with the split pages in it) when paused. */
	rc = kxctrl_map_memory(h, domid, &memfd, &size);
	CHECK(rc == -EBUSY, "whole RAM of running d%u: %d, want -EBUSY", domid, rc);
	if (rc == 0)
		close(memfd);
	CHECK(kxctrl_domain_pause(h, domid) == 0, "pause d%u", domid);
	rc = kxctrl_map_memory(h, domid, &memfd, &size);
	CHECK(rc == 0, "whole RAM of paused d%u: %s", domid, strerror(-rc));
	if (rc == 0) {
		uint8_t page[4096];
		CHECK(pread(memfd, page, sizeof(page), (off_t)(sgfn * 4096)) == (ssize_t)sizeof(page) &&
		      memcmp(page, (void *)xs, sizeof(page)) == 0,
		      "the RAM memfd's store page differs from the live one");
		close(memfd);
	}
	CHECK(kxctrl_domain_unpause(h, domid) == 0, "unpause d%u", domid);
	munmap(xs, 2 * 4096);
	munmap(cons, 2 * 4096);
	kxctrl_close(h);
	return failures ? 1 : 0;
}

int main(int argc, char **argv)
{
	int rc = 2;

	if (argc == 3 && !strcmp(argv[1], "batch-free"))
		rc = batch_free((pid_t)atoi(argv[2]));
	else if (argc == 3 && !strcmp(argv[1], "special-pages"))
		rc = special((uint32_t)atoi(argv[2]));
	else
		fprintf(stderr, "usage: " PROG " batch-free HVPID | special-pages DOMID\n");
	if (rc == 0 && failures == 0)
		printf(PROG ": OK\n");
	return rc ? rc : failures != 0;
}
