/* control/shutdown: advertise the features, watch the node, acknowledge and shut down with the matching reason. */
#include "control.h"
#include "clock.h"
#include "events.h"
#include "console.h"
#include "hypercall.h"
#include "kstring.h"
#include "mm.h"
#include "sched.h"
#include "xenbus.h"

/*
 * How long each attempt to reach xenstore waits: a domain is introduced
 * only after it was built, and one that never is (no kxenstored running)
 * just keeps this thread asleep.
 */
#define CONTROL_WAIT_NS (3600 * NSEC_PER_SEC)

#define SHUTDOWN_NODE  "control/shutdown"
#define SHUTDOWN_TOKEN "kxen-control-shutdown"

static const struct {
	const char *command;
	unsigned reason;
	const char *what;
} shutdown_handlers[] = {
	{ "poweroff", SHUTDOWN_poweroff, "powering off" },
	{ "halt", SHUTDOWN_poweroff, "powering off" },
	{ "reboot", SHUTDOWN_reboot, "rebooting" },
};

struct shutdown_req {
	char value[32];
	bool present;
};

/* Reads the request and clears it in one transaction, so a request is acted on once. */
static int take_request(xenbus_transaction_t t, void *arg)
{
	struct shutdown_req *req = arg;
	char *s = NULL;
	int rc = xenbus_read(t, SHUTDOWN_NODE, &s, NULL);

	req->present = false;
	if (rc == -XEN_ENOENT)
		return 0;
	if (rc)
		return rc;
	/* Empty is our own acknowledgement (or nothing asked yet): leave it alone. */
	if (*s) {
		strlcpy(req->value, s, sizeof(req->value));
		req->present = true;
		rc = xenbus_write(t, SHUTDOWN_NODE, "");
	}
	free(s);
	return rc;
}

static void shutdown_watch(const char *path, const char *token, void *arg)
{
	struct shutdown_req req;
	int rc = xenbus_transaction_run(take_request, &req, 0, NULL);

	if (rc) {
		printk("control: cannot read or acknowledge %s: error %d\n", SHUTDOWN_NODE, rc);
		return;
	}
	if (!req.present)
		return;
	for (unsigned i = 0; i < ARRAY_SIZE(shutdown_handlers); i++) {
		if (strcmp(req.value, shutdown_handlers[i].command) == 0) {
			struct sched_shutdown sd = { .reason = shutdown_handlers[i].reason };

			printk("control: shutdown request '%s': %s\n", req.value, shutdown_handlers[i].what);
			console_flush();
			HYPERVISOR_sched_op(SCHEDOP_shutdown, &sd);
			panic("control: SCHEDOP_shutdown(%u) returned", sd.reason);
		}
	}
	printk("control: ignoring unknown shutdown request '%s'\n", req.value);
}

static void control_main(void *arg)
{
	static const char *const features[] = { "control/feature-poweroff", "control/feature-reboot" };
	int rc;

	for (unsigned i = 0; i < ARRAY_SIZE(features); i++) {
		while ((rc = xenbus_write_timeout(XBT_NIL, features[i], "1", CONTROL_WAIT_NS)) == -XEN_ETIMEDOUT)
			;
		/* Old toolstacks do not let guests create these: not fatal, as in Linux. */
		if (rc)
			printk("control: cannot write %s: error %d\n", features[i], rc);
	}
	rc = xenbus_watch(SHUTDOWN_NODE, SHUTDOWN_TOKEN, shutdown_watch, NULL);
	if (rc)
		printk("control: cannot watch %s: error %d; shutdown requests will be missed\n",
		       SHUTDOWN_NODE, rc);
	else
		printk("control: watching %s\n", SHUTDOWN_NODE);
}

int control_init(void)
{
	return thread_create("control", control_main, NULL) ? 0 : -XEN_ENOMEM;
}
