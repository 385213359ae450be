/* The hypervisor log: a bounded ring of text that `kxl dmesg` reads by cursor. */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kxen-hv.h"
#include "log.h"
#include "ctl.h"

#define LOG_RING_SIZE (1u << 20)

static char ring[LOG_RING_SIZE];
static uint64_t head;               /* total bytes ever written */
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static int echo = -1;

void hvlog_init(int echo_fd)
{
	echo = echo_fd;
}

static void append(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		ring[(head + i) % LOG_RING_SIZE] = s[i];
	head += n;
}

void hvlog(const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof(line) - 2)
		n = sizeof(line) - 2;
	if (n == 0 || line[n - 1] != '\n')
		line[n++] = '\n';
	pthread_mutex_lock(&log_lock);
	append(line, (size_t)n);
	if (echo >= 0) {
		ssize_t w = write(echo, line, (size_t)n);
		(void)w;
	}
	pthread_mutex_unlock(&log_lock);
}

size_t hvlog_read(uint64_t *cursor, char *buf, size_t len, uint64_t *lost)
{
	size_t n = 0;

	if (len == 0)
		return 0;
	pthread_mutex_lock(&log_lock);
	uint64_t oldest = head > LOG_RING_SIZE ? head - LOG_RING_SIZE : 0;
	*lost = 0;
	if (*cursor < oldest) {
		*lost = oldest - *cursor;
		*cursor = oldest;
	}
	if (*cursor > head)
		*cursor = head;
	while (*cursor < head && n < len - 1)
		buf[n++] = ring[(*cursor)++ % LOG_RING_SIZE];
	pthread_mutex_unlock(&log_lock);
	buf[n] = '\0';
	return n;
}

/* KXCTL_LOG_READ: text from the client's cursor, as much as fits (or the client's max). */
int hvlog_ctl_read(struct ctl_req *r)
{
	const struct kxctl_log_read *lr = r->p;
	struct kxctl_log_reply *out = r->rep;
	size_t room = r->rep_max - sizeof(*out);

	if (lr->max && lr->max < room)
		room = lr->max;
	out->next_cursor = lr->cursor;
	out->len = (uint32_t)hvlog_read(&out->next_cursor, out->text, room, &out->lost);
	r->rlen = sizeof(*out) + out->len + 1;
	return 0;
}
