/* Console ring apps: `echo` answers lines upper-cased, `count N [MS]` prints numbered lines, `cons-garbage` corrupts its ring. */
#include "apps.h"
#include "clock.h"
#include "console.h"
#include "hypercall.h"
#include "kstring.h"
#include "sched.h"
#include "xencons.h"

#define BACKEND_WAIT_NS (30 * NSEC_PER_SEC)

/*
 * Says where the ring is (for a test standing in for the toolstack) and
 * waits for the backend, so that everything after this reaches the log.
 */
static int await_backend(const char *app)
{
	unsigned long gfn;
	unsigned evtchn;
	char msg[128];

	xencons_location(&gfn, &evtchn);
	/* To the hypervisor log even with console=ring: nobody reads the ring yet. */
	int n = snprintf(msg, sizeof(msg), "%s: console ring gfn 0x%lx port %u, waiting for the backend\n",
			 app, gfn, evtchn);
	console_flush();   /* what printk queued goes first, in order */
	HYPERVISOR_console_io(CONSOLEIO_write, MIN(n, (int)sizeof(msg) - 1), msg);
	if (xencons_wait_backend(BACKEND_WAIT_NS) < 0) {
		printk("%s: no console backend after %lu s\n", app, BACKEND_WAIT_NS / NSEC_PER_SEC);
		return -1;
	}
	return 0;
}

int app_echo(int argc, char **argv)
{
	char line[256];

	if (await_backend("echo") < 0)
		return 1;
	printk("echo: ready, type a line (\"quit\" powers off)\n");
	for (;;) {
		size_t n = xencons_readline(line, sizeof(line));

		if (strcmp(line, "quit") == 0)
			break;
		for (size_t i = 0; i < n; i++)
			if (line[i] >= 'a' && line[i] <= 'z')
				line[i] = (char)(line[i] - 'a' + 'A');
		printk("echo: %s (%zu chars)\n", line, n);
	}
	printk("echo: bye\n");
	return 0;
}

int app_count(int argc, char **argv)
{
	unsigned long n, ms = 0;

	if (argc < 2 || parse_ulong(argv[1], &n) < 0 ||
	    (argc > 2 && parse_ulong(argv[2], &ms) < 0)) {
		printk("count: usage: count LINES [MS_BETWEEN]\n");
		return 1;
	}
	if (await_backend("count") < 0)
		return 1;
	for (unsigned long i = 1; i <= n; i++) {
		printk("count: line %lu of %lu\n", i, n);
		if (ms)
			msleep(ms);
	}
	printk("count: done\n");
	return 0;
}

int app_cons_garbage(int argc, char **argv)
{
	if (await_backend("cons-garbage") < 0)
		return 1;
	printk("cons-garbage: corrupting out_prod\n");
	xencons_corrupt_out(1u << 30);
	/* Nothing more is printed: with the ring this broken, printk would wait for ever. */
	msleep(1000);
	return 0;
}
