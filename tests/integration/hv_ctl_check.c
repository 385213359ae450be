/* hv_ctl_check: control-socket checks for ctl_batch_free.sh and special_pages.sh against a private kxen-hv. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kxctrl.h"

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

int main(int argc, char **argv)
{
	int rc = 2;

	if (argc == 3 && !strcmp(argv[1], "batch-free"))
		rc = batch_free((pid_t)atoi(argv[2]));
	else
		fprintf(stderr, "usage: " PROG " batch-free HVPID\n");
	if (rc == 0 && failures == 0)
		printf(PROG ": OK\n");
	return rc ? rc : failures != 0;
}
