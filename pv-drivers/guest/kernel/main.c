/* Boot sequence (kmain), shutdown paths and command-line app dispatch. */
#include "kernel.h"
#include "apps.h"
#include "clock.h"
#include "console.h"
#include "events.h"
#include "hypercall.h"
#include "kstring.h"
#include "mm.h"
#include "sched.h"
#include "smp.h"
#include "xencons.h"
#include "xenbus.h"
#include "control.h"
#include "balloon.h"

start_info_t *start_info;
shared_info_t *shared_info;
char kernel_cmdline[MAX_GUEST_CMDLINE];

extern char boot_stack[];
void kmain(start_info_t *si, uint64_t free_start);

static void shutdown(unsigned reason)
{
	struct sched_shutdown sd = { .reason = reason };

	/* The batch's last words; kxen-backd drains the ring even after the domain is gone. */
	console_flush();
	HYPERVISOR_sched_op(SCHEDOP_shutdown, &sd);
}

void poweroff(void)
{
	shutdown(SHUTDOWN_poweroff);
	/* Only reached if the hypervisor refused: make sure we do not just fall off. */
	crash();
}

void crash(void)
{
	volatile int *null;

	shutdown(SHUTDOWN_crash);
	/* The hypervisor kills us on any fault: page 0 is never mapped. */
	__asm__ __volatile__("" : "=r"(null) : "0"(0));
	for (;;)
		(void)*null;
}

void panic(const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	(void)n;
	printk("panic: %s\n", buf);
	crash();
}

static const struct {
	const char *name;
	app_fn fn;
} apps[] = {
	{ "hello", app_hello },
	{ "sleep", app_sleep },
	{ "evtchn-pong", app_evtchn_pong },
	{ "evtchn-ping", app_evtchn_ping },
	{ "evtchn-send", app_evtchn_send },
	{ "crash", app_crash },
	{ "smp", app_smp },
	{ "hypercall-bench", app_hypercall_bench },
	{ "idle", app_idle },
	{ "burn", app_burn },
	{ "selftest", app_selftest },
	{ "hcfuzz", app_hcfuzz },
	{ "log-flood", app_log_flood },
	{ "gnttab-test", app_gnttab_test },
	{ "gnttab-grant", app_gnttab_grant },
	{ "echo", app_echo },
	{ "count", app_count },
	{ "cons-garbage", app_cons_garbage },
	{ "xs-test", app_xs_test },
	{ "xs-bench", app_xs_bench },
	{ "xs-watch", app_xs_watch },
	{ "xs-loop", app_xs_loop },
	{ "blk-test", app_blk_test },
	{ "blk-flush", app_blk_flush },
	{ "blk-loop", app_blk_loop },
	{ "blk-hostile", app_blk_hostile },
	{ "blk-hotplug", app_blk_hotplug },
	{ "ping", app_ping },
	{ "udp-echo", app_udp_echo },
	{ "udp-send", app_udp_send },
	{ "udp-recv", app_udp_recv },
	{ "net-hostile", app_net_hostile },
	{ "vkbd-test", app_vkbd_test },
};

#define MAX_ARGS 16

static int split_args(char *s, char **argv)
{
	int argc = 0;

	while (*s && argc < MAX_ARGS) {
		while (*s == ' ' || *s == '\t' || *s == '\n')
			*s++ = 0;
		if (!*s)
			break;
		argv[argc++] = s;
		while (*s && *s != ' ' && *s != '\t' && *s != '\n')
			s++;
	}
	argv[argc] = NULL;
	return argc;
}

/* Pages the builder may put above free_start must stay out of the allocator. */
static void reserve_special_pages(void)
{
	mm_reserve((uint64_t)start_info, (uint64_t)start_info + sizeof(*start_info));
	mm_reserve(start_info->shared_info, start_info->shared_info + PAGE_SIZE);
	if (start_info->store_mfn)
		mm_reserve(start_info->store_mfn << PAGE_SHIFT, (start_info->store_mfn + 1) << PAGE_SHIFT);
	if (start_info->console.domU.mfn)
		mm_reserve(start_info->console.domU.mfn << PAGE_SHIFT,
			   (start_info->console.domU.mfn + 1) << PAGE_SHIFT);
}

void kmain(start_info_t *si, uint64_t free_start)
{
	static const char magic[] = "xen-3.0-x86_64";
	static char args_buf[MAX_GUEST_CMDLINE];
	char *argv[MAX_ARGS + 1];
	int argc;

	start_info = si;
	/* Threads and per-vCPU data are found through the stack: set that up before anything else. */
	sched_init_cpu(&percpu_table[0], boot_stack, "boot");
	if (memcmp(si->magic, magic, sizeof(magic) - 1) != 0) {
		static const char msg[] = "kxen-guest: bad start_info magic\n";

		console_write(msg, sizeof(msg) - 1);
		crash();
	}
	xencons_early_init();
	/*
	 * The banner goes out before we touch more pages (each first touch costs
	 * ~26 us on kvm_pvm), through the raw console: printk's lock needs this_cpu().
	 */
	{
		char banner[160];
		int n = snprintf(banner, sizeof(banner), "kxen-guest: booting, %lu pages\n",
				 (unsigned long)si->nr_pages);
		console_write(banner, (size_t)n < sizeof(banner) ? (size_t)n : sizeof(banner) - 1);
	}
	shared_info = (shared_info_t *)si->shared_info;	/* auto-translated: a guest physical address, v == p */
	percpu_init(0);
	WRITE_ONCE(percpu_table[0].vcpu->evtchn_upcall_mask, 1);
	percpu_table[0].online = true;

	memcpy(kernel_cmdline, si->cmd_line, MAX_GUEST_CMDLINE);
	kernel_cmdline[MAX_GUEST_CMDLINE - 1] = 0;

	events_init();
	mm_init(free_start, si->nr_pages * PAGE_SIZE);
	reserve_special_pages();
	clock_init_cpu();
	console_batch_clock_ready();
	evt_enable();
	xencons_init();

	/* Only threads are started here: nothing waits for xenstore, which may not exist. */
	{
		int rc = xenbus_init();

		if (rc == 0)
			rc = control_init();
		if (rc == 0)
			rc = balloon_init();
		if (rc && rc != -XEN_ENODEV)
			printk("kxen-guest: xenbus: %d\n", rc);
	}

	memcpy(args_buf, kernel_cmdline, sizeof(args_buf));
	argc = split_args(args_buf, argv);
	if ((argc = console_parse_args(argc, argv)) < 0 || (argc = sched_parse_args(argc, argv)) < 0)
		crash();
	if (argc == 0) {
		argv[0] = "hello";
		argv[1] = NULL;
		argc = 1;
	}
	for (unsigned i = 0; i < ARRAY_SIZE(apps); i++) {
		if (strcmp(argv[0], apps[i].name) == 0) {
			if (apps[i].fn(argc, argv) == 0)
				poweroff();
			crash();
		}
	}
	printk("unknown app '%s'\n", argv[0]);
	crash();
}
