/* Small apps: `crash`, `hypercall-bench N`, `idle`, `burn` and `vkbd-test`. */
#include "apps.h"
#include "clock.h"
#include "console.h"
#include "hypercall.h"
#include "kstring.h"
#include "sched.h"
#include "events.h"
#include "gnttab.h"
#include "mm.h"
#include "xenbus.h"
#include <xen/io/xenbus.h>

int app_crash(int argc, char **argv)
{
	volatile int *null;

	printk("crash: about to fault\n");
	console_flush();   /* the fault ends the domain before any other flush */
	/* Hide the constant so the compiler emits a real load instead of a trap. */
	__asm__ __volatile__("" : "=r"(null) : "0"(0));
	(void)*null;
	printk("crash: FAIL, reading address 0 did not fault\n");
	return 1;
}

int app_hypercall_bench(int argc, char **argv)
{
	unsigned long n = 100000;

	if (argc > 1 && (parse_ulong(argv[1], &n) < 0 || n == 0)) {
		printk("hypercall-bench: bad count '%s'\n", argv[1]);
		return 1;
	}
	/* XENVER_version takes no buffer and does no work: the closest thing to a null hypercall. */
	for (int i = 0; i < 100; i++)
		HYPERVISOR_xen_version(XENVER_version, NULL);

	uint64_t t0 = clock_now_ns(), c0 = rdtsc();

	for (unsigned long i = 0; i < n; i++)
		HYPERVISOR_xen_version(XENVER_version, NULL);

	uint64_t c1 = rdtsc(), t1 = clock_now_ns();
	uint64_t ns = t1 - t0;

	printk("hypercall-bench: %lu calls, %lu ns/call\n", n, ns / n);
	printk("hypercall-bench: %lu ms total, %lu TSC cycles/call\n", ns / NSEC_PER_MSEC, (c1 - c0) / n);
	return 0;
}

int app_idle(int argc, char **argv)
{
	printk("idle: blocking, timer wakes every 10 s\n");
	for (;;)
		msleep(10000);
	return 0;
}

int app_burn(int argc, char **argv)
{
	uint64_t x = 88172645463325252ULL, iters = 0, report_iters = 0;
	uint64_t start = clock_now_ns(), next = start + 5 * NSEC_PER_SEC;

	printk("burn: spinning, a line every 5 s\n");
	console_flush();   /* it never waits, so nothing else would send its lines */
	for (;;) {
		/* xorshift keeps the ALU busy and cannot be optimised away (x is checked below). */
		for (int i = 0; i < 65536; i++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
		}
		iters += 65536;
		uint64_t now = clock_now_ns();

		if (now >= next) {
			printk("burn: %lu s, %lu M iterations in the last 5 s (x=%lx)\n",
			       (now - start) / NSEC_PER_SEC, (iters - report_iters) >> 20, x & 0xff);
			report_iters = iters;
			console_flush();
			next += 5 * NSEC_PER_SEC;
		}
	}
	return 0;
}

static int vkbd_state(const char *dir)
{
	char path[128];
	unsigned long s;

	snprintf(path, sizeof(path), "%s/state", dir);
	return xenbus_read_ulong(XBT_NIL, path, &s) < 0 ? -1 : (int)s;
}

/* Polls (20 ms) for the backend's state to reach want; false at the deadline. */
static bool vkbd_wait(const char *be, int want, uint64_t deadline)
{
	while (vkbd_state(be) != want)
		if (clock_now_ns() >= deadline)
			return false;
		else
			msleep(20);
	return true;
}

static void vkbd_event(evtchn_port_t port, void *arg)
{
	(void)port;
	(void)arg;
}

/* `vkbd-test`: connects device/vkbd/0 as Linux's xen-kbdfront does (a shared page, a port, Initialised) and waits for Connected. */
int app_vkbd_test(int argc, char **argv)
{
	uint64_t deadline = clock_now_ns() + 10 * NSEC_PER_SEC;
	void *page = alloc_pages(1, 1);
	unsigned long beid;
	char *be = NULL;
	int rc, gref, port;

	(void)argc;
	(void)argv;
	if (!page || ((rc = gnttab_init(1)) < 0 && rc != -XEN_EEXIST)) {
		printk("vkbd-test: FAIL grant table\n");
		return 1;
	}
	if (xenbus_read(XBT_NIL, "device/vkbd/0/backend", &be, NULL) < 0 ||
	    xenbus_read_ulong(XBT_NIL, "device/vkbd/0/backend-id", &beid) < 0) {
		printk("vkbd-test: FAIL no device/vkbd/0\n");
		return 1;
	}
	if (!vkbd_wait(be, XenbusStateInitWait, deadline)) {
		printk("vkbd-test: FAIL backend %s not in InitWait (state %d)\n", be, vkbd_state(be));
		return 1;
	}
	memset(page, 0, PAGE_SIZE);
	gref = gnttab_grant_foreign_access((domid_t)beid, (unsigned long)page >> PAGE_SHIFT, false);
	port = evtchn_alloc_unbound((domid_t)beid, vkbd_event, NULL);
	if (gref < 0 || port < 0 ||
	    xenbus_printf(XBT_NIL, "device/vkbd/0/page-gref", "%d", gref) < 0 ||
	    xenbus_printf(XBT_NIL, "device/vkbd/0/page-ref", "%lu", (unsigned long)page >> PAGE_SHIFT) < 0 ||
	    xenbus_printf(XBT_NIL, "device/vkbd/0/event-channel", "%d", port) < 0 ||
	    xenbus_printf(XBT_NIL, "device/vkbd/0/state", "%d", XenbusStateInitialised) < 0) {
		printk("vkbd-test: FAIL publishing the page and port (%d, %d)\n", gref, port);
		return 1;
	}
	if (!vkbd_wait(be, XenbusStateConnected, deadline)) {
		printk("vkbd-test: FAIL backend %s did not connect (state %d)\n", be, vkbd_state(be));
		return 1;
	}
	xenbus_printf(XBT_NIL, "device/vkbd/0/state", "%d", XenbusStateConnected);
	printk("vkbd-test: connected (backend %s, page-gref %d, port %d)\n", be, gref, port);
	{
		char path[160], **list = NULL;
		unsigned long abs = 0;
		unsigned n = 0;

		snprintf(path, sizeof(path), "%s/feature-abs-pointer", be);
		xenbus_read_ulong(XBT_NIL, path, &abs);
		xenbus_directory(XBT_NIL, "device/vkbd", &list, &n);
		free(list);
		printk("vkbd-test: %u device(s), feature-abs-pointer %lu\n", n, abs);
	}
	free(be);
	printk("vkbd-test: OK\n");
	return 0;
}
