/* dom0_evtchn_ping: binds a dom0 event channel to a guest's port through libkxctrl and ping-pongs over the eventfds. */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kxen/kxctrl.h"

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int main(int argc, char **argv)
{
	kxctrl *h;
	uint32_t port;
	int notify, kick, rc;

	if (argc != 4) {
		fprintf(stderr, "usage: dom0_evtchn_ping DOMID PORT ROUNDS\n");
		return 2;
	}
	uint32_t domid = (uint32_t)strtoul(argv[1], NULL, 10);
	uint32_t rport = (uint32_t)strtoul(argv[2], NULL, 10);
	unsigned rounds = (unsigned)strtoul(argv[3], NULL, 10);

	if ((rc = kxctrl_open(NULL, &h)) < 0) {
		fprintf(stderr, "dom0_evtchn_ping: connect: %s\n", strerror(-rc));
		return 1;
	}
	rc = kxctrl_evtchn_bind_interdomain(h, domid, rport, &port, &notify, &kick);
	if (rc < 0) {
		fprintf(stderr, "dom0_evtchn_ping: bind to d%u port %u: %s\n", domid, rport, strerror(-rc));
		return 1;
	}
	printf("dom0_evtchn_ping: dom0 port %u bound to d%u port %u\n", port, domid, rport);
	/* A bind marks the new local port pending, as Xen does: drain that first. */
	uint64_t n;
	struct pollfd pf = { .fd = notify, .events = POLLIN };
	if (poll(&pf, 1, 100) > 0 && read(notify, &n, sizeof(n)) != sizeof(n))
		return 1;

	uint64_t t0 = now_ns();
	for (unsigned i = 0; i < rounds; i++) {
		uint64_t one = 1;
		if (write(kick, &one, sizeof(one)) != sizeof(one)) {
			perror("dom0_evtchn_ping: write kick eventfd");
			return 1;
		}
		if (poll(&pf, 1, 5000) != 1) {
			fprintf(stderr, "dom0_evtchn_ping: no echo for round %u within 5 s\n", i);
			return 1;
		}
		if (read(notify, &n, sizeof(n)) != sizeof(n)) {
			perror("dom0_evtchn_ping: read notify eventfd");
			return 1;
		}
	}
	double us = (double)(now_ns() - t0) / 1000.0 / (rounds ? rounds : 1);
	printf("dom0_evtchn_ping: %u round trips, %.1f us each\n", rounds, us);
	rc = kxctrl_evtchn_close(h, port);
	if (rc < 0) {
		fprintf(stderr, "dom0_evtchn_ping: close port %u: %s\n", port, strerror(-rc));
		return 1;
	}
	/* A second close of the same port must be refused, not crash anything. */
	if (kxctrl_evtchn_close(h, port) != -EINVAL) {
		fprintf(stderr, "dom0_evtchn_ping: closing port %u twice was not refused\n", port);
		return 1;
	}
	close(notify);
	close(kick);
	kxctrl_close(h);
	printf("dom0_evtchn_ping: OK\n");
	return 0;
}
