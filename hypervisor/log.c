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

/* Formats one line (newline added, cut at 1 KiB) into line; returns its length, 0 if nothing. */
static size_t format_line(char line[1024], const char *prefix, const char *fmt, va_list ap)
{
	size_t p = strlen(prefix);
	int n;

	memcpy(line, prefix, p);
	n = vsnprintf(line + p, 1024 - 1 - p, fmt, ap);
	if (n < 0)
		return 0;
	n += (int)p;
	if (n > 1024 - 2)
		n = 1024 - 2;
	if (n == 0 || line[n - 1] != '\n')
		line[n++] = '\n';
	return (size_t)n;
}

/* Under log_lock. */
static void emit(const char *line, size_t n)
{
	append(line, n);
	if (echo >= 0) {
		ssize_t w = write(echo, line, n);
		(void)w;
	}
}

void hvlog(const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	size_t n;

	va_start(ap, fmt);
	n = format_line(line, "", fmt, ap);
	va_end(ap);
	if (!n)
		return;
	pthread_mutex_lock(&log_lock);
	emit(line, n);
	pthread_mutex_unlock(&log_lock);
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Under log_lock: the "N messages suppressed" line, if any are. */
static void emit_suppressed(struct hvlog_limit *l, unsigned domid)
{
	char line[128];

	if (!l->suppressed)
		return;
	int n = snprintf(line, sizeof(line), "(XEN) d%u: %llu messages suppressed\n", domid,
	                 (unsigned long long)l->suppressed);
	emit(line, (size_t)n);
	l->suppressed = 0;
}

bool hvlog_limited(struct hvlog_limit *l, unsigned domid, const char *fmt, ...)
{
	const uint64_t cap = (uint64_t)HVLOG_LIMIT_BURST * HVLOG_LIMIT_MS;
	char prefix[32], line[1024];
	uint64_t now = mono_ns();
	va_list ap;
	size_t n;

	snprintf(prefix, sizeof(prefix), "(XEN) d%u: ", domid);
	va_start(ap, fmt);
	n = format_line(line, prefix, fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&log_lock);
	if (!l->last_ns) {
		l->credit_ms = cap;
	} else {
		l->credit_ms += (now - l->last_ns) / 1000000ull;
		if (l->credit_ms > cap)
			l->credit_ms = cap;
	}
	/* Whole milliseconds only: the remainder stays on the clock for the next refill. */
	l->last_ns = l->last_ns ? now - (now - l->last_ns) % 1000000ull : now;
	bool ok = l->credit_ms >= HVLOG_LIMIT_MS;
	if (ok) {
		l->credit_ms -= HVLOG_LIMIT_MS;
		emit_suppressed(l, domid);
		if (n)
			emit(line, n);
	} else {
		l->suppressed++;
	}
	pthread_mutex_unlock(&log_lock);
	return ok;
}

void hvlog_limit_flush(struct hvlog_limit *l, unsigned domid)
{
	pthread_mutex_lock(&log_lock);
	emit_suppressed(l, domid);
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
