/* domain_events_watch: subscribes to kxen-hv's domain-state eventfd and prints the domain table at each signal. */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kxen/kxctrl.h"

/* Prints one line per signal: "event: <domid>:<flags hex> ..." for every domain but dom0. */
static int print_table(kxctrl *h)
{
	struct kxctl_dominfo *doms;
	unsigned n;
	int rc = kxctrl_domain_list(h, &doms, &n);

	if (rc < 0)
		return rc;
	printf("event:");
	for (unsigned i = 0; i < n; i++)
		if (doms[i].domid != 0)
			printf(" %u:%x", doms[i].domid, doms[i].flags);
	printf("\n");
	fflush(stdout);
	free(doms);
	return 0;
}

int main(int argc, char **argv)
{
	kxctrl *h = NULL;
	int fd = -1, rc, ret = 1;

	if (argc != 3) {
		fprintf(stderr, "usage: domain_events_watch EVENTS TIMEOUT_S\n");
		return 2;
	}
	unsigned want = (unsigned)strtoul(argv[1], NULL, 10);
	int timeout_ms = atoi(argv[2]) * 1000;

	if ((rc = kxctrl_open(NULL, &h)) < 0 || (rc = kxctrl_domain_events_fd(h, &fd)) < 0) {
		fprintf(stderr, "domain_events_watch: %s\n", strerror(-rc));
		goto out;
	}
	printf("ready\n");
	fflush(stdout);
	for (unsigned seen = 0; seen < want;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		uint64_t count;

		if (poll(&p, 1, timeout_ms) <= 0) {
			fprintf(stderr, "domain_events_watch: no signal within %d s after %u events\n",
			        timeout_ms / 1000, seen);
			goto out;
		}
		if (read(fd, &count, sizeof(count)) != sizeof(count))
			continue;   /* spurious wake-up: the counter was already drained */
		seen++;
		if (print_table(h) < 0)
			goto out;
	}
	ret = 0;
out:
	if (fd >= 0)
		close(fd);
	if (h)
		kxctrl_close(h);
	return ret;
}
