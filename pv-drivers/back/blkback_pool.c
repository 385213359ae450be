/* The vbd I/O thread pool: a device's data requests run concurrently on a few threads and come back, in any order, to its dispatcher. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include "blkback.h"
#include "kxen/disk.h"

void blkback_pool__run(struct blkpool *p, struct blkjob *j)
{
	int rc;

	if (j->write)
		rc = disk_writev(p->disk, j->off, j->iov, (int)j->nr_iov);
	else
		rc = disk_readv(p->disk, j->off, j->iov, (int)j->nr_iov);
	j->rc = rc;
	j->err[0] = 0;
	/* The disk's message buffer is shared by the threads: copy it at once (a racing error may garble it, never overrun it). */
	if (rc)
		snprintf(j->err, sizeof(j->err), "%s", disk_last_error(p->disk));
}

void (*blkpool_thread_hook)(void);

static void *io_thread(void *arg)
{
	struct blkpool *p = arg;
	uint64_t one = 1;

	if (blkpool_thread_hook)
		blkpool_thread_hook();

	pthread_mutex_lock(&p->lock);
	for (;;) {
		while (!p->queue && !p->stop)
			pthread_cond_wait(&p->cond, &p->lock);
		if (!p->queue)
			break;   /* stopping, and nothing left to run */
		struct blkjob *j = p->queue;
		p->queue = j->next;
		if (!p->queue)
			p->queue_tail = NULL;
		pthread_mutex_unlock(&p->lock);

		blkback_pool__run(p, j);

		pthread_mutex_lock(&p->lock);
		bool was_empty = !p->done;
		j->next = p->done;
		p->done = j;
		/* One wake-up per batch: the dispatcher takes the whole list at once. */
		if (was_empty && write(p->done_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
			abort();   /* an eventfd write cannot fail short of a bug; a lost wake-up would hang the device */
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

int blkback_pool__start(struct blkpool *p, struct disk *disk, unsigned nthreads, unsigned njobs)
{
	int rc;

	memset(p, 0, sizeof(*p));
	p->done_fd = -1;
	if (!nthreads || nthreads > BLKPOOL_MAX_THREADS || !njobs)
		return -EINVAL;
	p->disk = disk;
	p->jobs = calloc(njobs, sizeof(*p->jobs));
	if (!p->jobs)
		return -ENOMEM;
	p->njobs = njobs;
	for (unsigned i = 0; i < njobs; i++) {
		p->jobs[i].next = p->free;
		p->free = &p->jobs[i];
	}
	p->nfree = njobs;
	p->done_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (p->done_fd < 0) {
		rc = -errno;
		goto out;
	}
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->cond, NULL);
	p->inited = true;
	for (unsigned i = 0; i < nthreads; i++) {
		if ((rc = -pthread_create(&p->thr[i], NULL, io_thread, p)))
			goto out;
		p->nthreads++;
	}
	return 0;
out:
	blkback_pool__stop(p);
	return rc;
}

struct blkjob *blkback_pool__get(struct blkpool *p)
{
	struct blkjob *j = p->free;

	if (j) {
		p->free = j->next;
		p->nfree--;
		j->next = NULL;
	}
	return j;
}

void blkback_pool__put(struct blkpool *p, struct blkjob *j)
{
	j->next = p->free;
	p->free = j;
	p->nfree++;
}

void blkback_pool__submit(struct blkpool *p, struct blkjob *j)
{
	pthread_mutex_lock(&p->lock);
	j->next = NULL;
	if (p->queue_tail)
		p->queue_tail->next = j;
	else
		p->queue = j;
	p->queue_tail = j;
	pthread_cond_signal(&p->cond);
	pthread_mutex_unlock(&p->lock);
}

struct blkjob *blkback_pool__reap(struct blkpool *p)
{
	struct blkjob *list;
	uint64_t cnt;

	pthread_mutex_lock(&p->lock);
	list = p->done;
	p->done = NULL;
	/* Cleared under the lock: a completion after this writes it again (EAGAIN: nothing was pending). */
	ssize_t n = read(p->done_fd, &cnt, sizeof(cnt));
	(void)n;
	pthread_mutex_unlock(&p->lock);
	return list;
}

unsigned blkback_pool__inflight(const struct blkpool *p)
{
	return p->njobs - p->nfree;
}

void blkback_pool__stop(struct blkpool *p)
{
	if (!p->jobs)
		return;   /* never started (a zeroed pool), or stopped already */
	if (p->inited) {
		pthread_mutex_lock(&p->lock);
		p->stop = true;
		pthread_cond_broadcast(&p->cond);
		pthread_mutex_unlock(&p->lock);
		for (unsigned i = 0; i < p->nthreads; i++)
			pthread_join(p->thr[i], NULL);
		pthread_mutex_destroy(&p->lock);
		pthread_cond_destroy(&p->cond);
		p->inited = false;
	}
	p->nthreads = 0;
	if (p->done_fd >= 0)
		close(p->done_fd);
	p->done_fd = -1;
	free(p->jobs);
	p->jobs = NULL;
	p->free = p->queue = p->queue_tail = p->done = NULL;
	p->njobs = p->nfree = 0;
}
