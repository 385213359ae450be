/* Daemonising: double fork, and the starter returns only once the daemon says it is ready (or has failed). */
#define _GNU_SOURCE     /* pipe2 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kxen/kxd.h"
#include "kxd_int.h"

#define LOG_DIR "/var/log/kxen"

static int ready_fd = -1;           /* write end of the starter's pipe, until ready */
static char pidfile_path[512];

bool daemon__starting(void)
{
	return ready_fd >= 0;
}

/* The starter: exits 0 on the daemon's ready byte, 1 if the pipe closes without it. */
static void __attribute__((noreturn)) wait_ready(int fd)
{
	char c;
	ssize_t n;

	do
		n = read(fd, &c, 1);
	while (n < 0 && errno == EINTR);
	_exit(n == 1 ? 0 : 1);
}

int kxd_daemon_start(void)
{
	int p[2], rc;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	pid = fork();
	if (pid < 0) {
		rc = -errno;
		close(p[0]);
		close(p[1]);
		return rc;
	}
	if (pid > 0) {
		int st;

		close(p[1]);
		/* The middle process exits at once; the daemon holds the pipe's write end. */
		waitpid(pid, &st, 0);
		wait_ready(p[0]);
	}
	close(p[0]);
	if (setsid() < 0)
		_exit(1);
	pid = fork();
	if (pid < 0)
		_exit(1);
	if (pid > 0)
		_exit(0);   /* the daemon is no session leader: it can never regain a terminal */
	ready_fd = p[1];
	umask(022);
	if (chdir("/") < 0)
		return -errno;
	return 0;
}

int kxd_daemon_pidfile(const char *pidfile)
{
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%d\n", (int)getpid()), rc = 0;
	int fd = open(pidfile, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (fd < 0 || write(fd, buf, (size_t)n) != n)
		rc = -errno;
	if (fd >= 0)
		close(fd);
	if (rc == 0)
		snprintf(pidfile_path, sizeof(pidfile_path), "%s", pidfile);
	return rc;
}

int kxd_daemon_ready(const char *pidfile)
{
	int fd, rc = 0;

	if (pidfile && (rc = kxd_daemon_pidfile(pidfile)) < 0)
		return rc;
	if (ready_fd < 0)
		return 0;
	/* From here on nothing we print reaches the starter's terminal. */
	fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (fd >= 0) {
		dup2(fd, STDIN_FILENO);
		dup2(fd, STDOUT_FILENO);
		close(fd);
	}
	dup2(kxd_log_fd() == STDERR_FILENO ? STDOUT_FILENO : kxd_log_fd(), STDERR_FILENO);
	if (write(ready_fd, "r", 1) != 1)
		rc = -errno;
	close(ready_fd);
	ready_fd = -1;
	return rc;
}

void kxd_daemon_stop(void)
{
	if (pidfile_path[0])
		unlink(pidfile_path);
	pidfile_path[0] = 0;
}

const char *kxd_daemon_default_log(const char *name)
{
	static char path[256];

	if (mkdir(LOG_DIR, 0755) < 0 && errno != EEXIST)
		return NULL;
	snprintf(path, sizeof(path), LOG_DIR "/%s.log", name);
	return path;
}
