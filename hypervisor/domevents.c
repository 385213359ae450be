/* Domain-state notifications for dom0 tools: Xen's VIRQ_DOM_EXC, broadened to creation, as eventfds. */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "kxen-hv.h"
#include "domain.h"

/*
 * Subscribers are few (kxenstored, kxen-backd, a kxl monitor per domain,
 * kxtop), so a fixed array under one mutex is enough; vCPU threads call
 * domevents_notify when their domain shuts down, so it must never block.
 */
#define DOMEVENTS_MAX 256

static pthread_mutex_t subs_lock = PTHREAD_MUTEX_INITIALIZER;
static int subs[DOMEVENTS_MAX];
static unsigned nr_subs;

int domevents_subscribe(void)
{
	int fd, rc;

	pthread_mutex_lock(&subs_lock);
	if (nr_subs == DOMEVENTS_MAX) {
		rc = -ENOSPC;
		goto out;
	}
	/* Non-blocking for both sides: the counter saturates long before a write could block. */
	fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (fd < 0) {
		rc = -errno;
		goto out;
	}
	subs[nr_subs++] = fd;
	rc = fd;
out:
	pthread_mutex_unlock(&subs_lock);
	return rc;
}

void domevents_unsubscribe(int fd)
{
	pthread_mutex_lock(&subs_lock);
	for (unsigned i = 0; i < nr_subs; i++) {
		if (subs[i] == fd) {
			close(fd);
			subs[i] = subs[--nr_subs];
			break;
		}
	}
	pthread_mutex_unlock(&subs_lock);
}

void domevents_notify(void)
{
	uint64_t one = 1;

	pthread_mutex_lock(&subs_lock);
	for (unsigned i = 0; i < nr_subs; i++) {
		ssize_t w = write(subs[i], &one, sizeof(one));
		(void)w;   /* EAGAIN means the counter is already non-zero: still signalled */
	}
	pthread_mutex_unlock(&subs_lock);
}
