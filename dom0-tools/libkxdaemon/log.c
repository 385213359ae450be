/* The dom0 daemons' log: one timestamped line per message, to a file (reopened on SIGHUP) or standard error. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kxen/kxd.h"
#include "kxd_int.h"

static const char *who = "kxen";
static int log_fd = -1;             /* -1: standard error */
static char log_path[512];

void kxd_log_init(const char *name)
{
	who = name;
}

int kxd_log_open(const char *path)
{
	int fd;

	if (!path) {
		if (log_fd >= 0)
			close(log_fd);
		log_fd = -1;
		log_path[0] = 0;
		return 0;
	}
	if (strlen(path) >= sizeof(log_path))
		return -ENAMETOOLONG;
	fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
	if (fd < 0)
		return -errno;
	if (log_fd >= 0)
		close(log_fd);
	log_fd = fd;
	if (log_path != path)
		strcpy(log_path, path);
	return 0;
}

int kxd_log_reopen(void)
{
	return log_path[0] ? kxd_log_open(log_path) : 0;
}

int kxd_log_fd(void)
{
	return log_fd >= 0 ? log_fd : STDERR_FILENO;
}

const char *kxd_log_path(void)
{
	return log_path[0] ? log_path : NULL;
}

static void vlog(bool to_starter, const char *fmt, va_list ap)
{
	char line[1024];
	struct timespec ts;
	struct tm tm;
	size_t n;
	int m;

	clock_gettime(CLOCK_REALTIME, &ts);
	localtime_r(&ts.tv_sec, &tm);
	n = strftime(line, sizeof(line), "%F %T", &tm);
	m = snprintf(line + n, sizeof(line) - n, ".%03ld %s: ", ts.tv_nsec / 1000000, who);
	n += m > 0 ? (size_t)m : 0;
	m = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	n += m > 0 ? (size_t)m : 0;
	/* A long message is cut, but the line still ends: the next one must start on its own. */
	if (n > sizeof(line) - 2)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	/* One write per line: lines of processes sharing the file do not interleave. */
	if (write(kxd_log_fd(), line, n) < 0)
		return;
	/* Until a daemon is ready its starter waits: why it failed belongs on the starter's terminal too. */
	if (to_starter && log_fd >= 0 && daemon__starting() && write(STDERR_FILENO, line, n) < 0)
		return;
}

void kxd_vlog(const char *fmt, va_list ap)
{
	vlog(true, fmt, ap);
}

void log__info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(false, fmt, ap);
	va_end(ap);
}

void kxd_log(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	kxd_vlog(fmt, ap);
	va_end(ap);
}
