/* Console frontend: output into the out ring (waiting, never dropping, while a backend drains it) and line input. */
#include "xencons.h"
#include <xen/io/console.h>
#include "clock.h"
#include "console.h"
#include "events.h"
#include "hypercall.h"
#include "kstring.h"
#include "sched.h"

/* A full ring re-checks this often even without an event (sends to an absent backend are dropped). */
#define POLL_NS (100 * NSEC_PER_MSEC)

enum console_mode console_mode = CONSOLE_BOTH;

static struct xencons_interface *intf;
static evtchn_port_t port;
static bool events_ready;      /* handler bound, clock running: we may wait */
static bool backend_seen;      /* a backend consumed or bound once: from now on we wait */
static struct waitq in_wq;
static bool in_last_cr;        /* "\r\n" from a pipe is one end of line */
static XENCONS_RING_IDX announced;   /* out_prod at the last notification */

int console_parse_args(int argc, char **argv)
{
	static const struct { const char *name; enum console_mode mode; } modes[] = {
		{ "both", CONSOLE_BOTH }, { "ring", CONSOLE_RING }, { "hv", CONSOLE_HV },
	};
	int skip = 0;

	while (skip < argc && strncmp(argv[skip], "console=", 8) == 0) {
		const char *v = argv[skip] + 8;
		unsigned i;

		for (i = 0; i < ARRAY_SIZE(modes); i++)
			if (strcmp(v, modes[i].name) == 0)
				break;
		if (i == ARRAY_SIZE(modes)) {
			printk("kxen-guest: bad option '%s': console= takes both, ring or hv\n", argv[skip]);
			return -XEN_EINVAL;
		}
		console_mode = modes[i].mode;
		skip++;
	}
	for (int i = skip; i <= argc; i++)
		argv[i - skip] = argv[i];
	return argc - skip;
}

void xencons_early_init(void)
{
	if (start_info->console.domU.mfn == 0)
		return;
	/* Auto-translated and identity mapped: the page number is the address. */
	intf = (struct xencons_interface *)(start_info->console.domU.mfn << PAGE_SHIFT);
	port = start_info->console.domU.evtchn;
}

static void cons_event(evtchn_port_t p, void *arg)
{
	wake_up(&in_wq);
}

void xencons_init(void)
{
	if (!intf || port == 0 || port >= NR_EVTCHN)
		return;
	evtchn_set_handler(port, 0, cons_event, NULL);
	evtchn_unmask(port);
	events_ready = true;
}

static void notify(void)
{
	announced = intf->out_prod;
	if (port)
		evtchn_send(port);
}

/* Whether a full ring should be waited for rather than given up on for this write. */
static bool backend_bound(void);

static bool must_wait(void)
{
	if (!events_ready)
		return false;
	if (backend_seen || console_mode == CONSOLE_RING)
		return true;
	if (READ_ONCE(intf->out_cons) != 0 || backend_bound())
		backend_seen = true;
	return backend_seen;
}

/*
 * Sleeps the vCPU until the console port fires or POLL_NS pass. Events are
 * masked (console lock), so the upcall cannot consume the event: we clear
 * it and run the handler's wake-up ourselves so readers are not lost.
 */
static void wait_backend(void)
{
	evtchn_port_t ports[1] = { port };
	struct sched_poll p = { .nr_ports = 1, .timeout = clock_now_ns() + POLL_NS };

	set_xen_guest_handle(p.ports, ports);
	HYPERVISOR_sched_op(SCHEDOP_poll, &p);
	if (evtchn_test_and_clear(port))
		cons_event(port, NULL);
}

/* Puts one byte, waiting for room; false when the ring copy is being given up. */
static bool put_byte(char c)
{
	for (;;) {
		XENCONS_RING_IDX prod = intf->out_prod;
		XENCONS_RING_IDX cons = __atomic_load_n(&intf->out_cons, __ATOMIC_ACQUIRE);

		if (prod - cons < sizeof(intf->out)) {
			intf->out[MASK_XENCONS_IDX(prod, intf->out)] = c;
			__atomic_store_n(&intf->out_prod, prod + 1, __ATOMIC_RELEASE);
			return true;
		}
		notify();
		if (!must_wait())
			return false;
		wait_backend();
	}
}

void xencons_write(const char *s, size_t len)
{
	if (!intf || console_mode == CONSOLE_HV)
		return;
	for (size_t i = 0; i < len; i++) {
		if ((s[i] == '\n' && !put_byte('\r')) || !put_byte(s[i]))
			break;
	}
	/* The rest waits for xencons_flush: one exit per batch, not per line. */
	if (intf->out_prod - announced >= sizeof(intf->out) / 2)
		notify();
}

void xencons_flush(void)
{
	if (intf && console_mode != CONSOLE_HV && intf->out_prod != announced)
		notify();
}

static bool backend_bound(void)
{
	struct evtchn_status st = { .dom = DOMID_SELF, .port = port };

	return HYPERVISOR_event_channel_op(EVTCHNOP_status, &st) == 0 &&
	       st.status == EVTCHNSTAT_interdomain;
}

int xencons_wait_backend(uint64_t timeout_ns)
{
	uint64_t end = clock_now_ns() + timeout_ns;

	if (!intf || !events_ready)
		return -XEN_ENODEV;
	while (!backend_bound()) {
		if (clock_now_ns() >= end)
			return -XEN_ETIMEDOUT;
		msleep(10);
	}
	return 0;
}

void xencons_location(unsigned long *gfn, unsigned *evtchn)
{
	*gfn = intf ? start_info->console.domU.mfn : 0;
	*evtchn = intf ? port : 0;
}

void xencons_corrupt_out(uint32_t ahead)
{
	__atomic_store_n(&intf->out_prod, intf->out_cons + ahead, __ATOMIC_RELEASE);
	notify();
}

static bool in_avail(void)
{
	return __atomic_load_n(&intf->in_prod, __ATOMIC_ACQUIRE) != intf->in_cons;
}

int xencons_getchar(void)
{
	XENCONS_RING_IDX cons;
	char c;

	if (!intf || !events_ready)
		panic("console: no console ring to read from");
	wait_event(&in_wq, in_avail());
	cons = intf->in_cons;
	c = intf->in[MASK_XENCONS_IDX(cons, intf->in)];
	__atomic_store_n(&intf->in_cons, cons + 1, __ATOMIC_RELEASE);
	notify();   /* the backend may be holding input for a full ring */
	return (unsigned char)c;
}

size_t xencons_readline(char *buf, size_t size)
{
	size_t n = 0;

	for (;;) {
		int c = xencons_getchar();
		bool was_cr = in_last_cr;

		in_last_cr = c == '\r';
		if (c == '\n' && was_cr)
			continue;
		if (c == '\r' || c == '\n') {
			console_write_ring("\n", 1);
			break;
		}
		if (c == 0x7f || c == '\b') {
			if (n) {
				n--;
				console_write_ring("\b \b", 3);
			}
			continue;
		}
		if (c < ' ' || n + 1 >= size)
			continue;
		buf[n++] = (char)c;
		console_write_ring(&buf[n - 1], 1);
	}
	buf[n] = 0;
	return n;
}
