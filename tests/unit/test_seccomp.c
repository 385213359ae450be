/* libkxdaemon's seccomp filters, in forked children: listed calls go on, unlisted ones and wrong arguments kill with SIGSYS and a log line. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "cunit_run.h"
#include "kxen/kxd.h"

static char logpath[] = "/tmp/kxd-seccomp-test.XXXXXX";

static const uint64_t tty_only[] = { TCGETS };
static const uint64_t unix_only[] = { AF_UNIX };
static const struct kxd_scrule list[] = {
	KXD_SC(getppid), KXD_SC_ARG(ioctl, 1, tty_only), KXD_SC_ARG(socket, 0, unix_only), KXD_SC(close),
	KXD_SC_ERRNO(getpgid, EPERM),
	{ NULL },
};

/* Runs what(step) in a child under list (one thread or all); returns its wait status. */
static int in_child(int (*what)(void), bool all_threads)
{
	pid_t pid = fork();
	int st;

	if (pid == 0) {
		if (kxd_log_open(logpath) < 0 || kxd_seccomp_install("test", list, all_threads) < 0)
			_exit(100);
		_exit(what());
	}
	waitpid(pid, &st, 0);
	return st;
}

static int allowed(void)
{
	struct termios t;
	int s = socket(AF_UNIX, SOCK_STREAM, 0);

	if (getppid() <= 0 || s < 0)
		return 1;
	close(s);
	/* TCGETS on a non-tty: ENOTTY from the kernel, not the filter. */
	if (ioctl(STDIN_FILENO, TCGETS, &t) < 0 && errno != ENOTTY && errno != EBADF)
		return 2;
	/* An errno rule: the call fails, the process goes on. */
	if (getpgid(0) != -1 || errno != EPERM)
		return 3;
	return 0;
}

static int unlisted(void)
{
	return getpid() == getsid(0) ? 4 : 5;   /* getsid is not listed */
}

static int wrong_ioctl(void)
{
	int n;

	return ioctl(STDIN_FILENO, FIONREAD, &n) < 0 ? 6 : 7;
}

static int wrong_family(void)
{
	return socket(AF_INET, SOCK_DGRAM, 0) < 0 ? 8 : 9;
}

static bool log_names(const char *call)
{
	char buf[4096];
	FILE *f = fopen(logpath, "r");
	size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;

	if (f)
		fclose(f);
	buf[n] = 0;
	/* The number differs by arch: the name in parentheses, and the rest of the line. */
	char *line = strstr(buf, "seccomp: forbidden system call "), *p = line ? strchr(line, '(') : NULL;
	size_t cl = strlen(call);

	return p && !strncmp(p + 1, call, cl) && !strncmp(p + 1 + cl, ") in thread ", 12) &&
	       strstr(p, "; killing the process\n");
}

static void suite_reset_log(void)
{
	FILE *f = fopen(logpath, "w");

	if (f)
		fclose(f);
}

static void test_allowed(void)
{
	int st = in_child(allowed, true);

	CU_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

static void expect_kill(int (*what)(void), const char *call)
{
	suite_reset_log();
	int st = in_child(what, true);

	CU_ASSERT(WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS);
	CU_ASSERT(log_names(call));
}

static void test_unlisted(void)
{
	expect_kill(unlisted, "getsid");
}

static void test_arguments(void)
{
	expect_kill(wrong_ioctl, "ioctl");
	expect_kill(wrong_family, "socket");
}

static void test_thread_only(void)
{
	/* A thread filter: the calling thread only (a forked child is one thread, so the same result). */
	int st = in_child(unlisted, false);

	CU_ASSERT(WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS);
}

static void test_modes(void)
{
	CU_ASSERT_EQUAL(kxd_seccomp_mode(), KXD_SECCOMP_KILL);
	setenv(KXD_SECCOMP_ENV, "log", 1);
	CU_ASSERT_EQUAL(kxd_seccomp_mode(), KXD_SECCOMP_LOG);
	/* log: the unlisted call goes on (the kernel logs it). */
	int st = in_child(unlisted, true);
	CU_ASSERT(WIFEXITED(st) && (WEXITSTATUS(st) == 4 || WEXITSTATUS(st) == 5));
	setenv(KXD_SECCOMP_ENV, "off", 1);
	CU_ASSERT_EQUAL(kxd_seccomp_mode(), KXD_SECCOMP_OFF);
	unsetenv(KXD_SECCOMP_ENV);
	kxd_seccomp_disable();
	CU_ASSERT_EQUAL(kxd_seccomp_mode(), KXD_SECCOMP_OFF);
}

static int suite_init(void)
{
	int fd = mkstemp(logpath);

	if (fd < 0)
		return -1;
	close(fd);
	kxd_log_init("test");
	unsetenv(KXD_SECCOMP_ENV);
	unsetenv(KXD_SECCOMP_PROBE_ENV);
	return 0;
}

static int suite_cleanup(void)
{
	unlink(logpath);
	return 0;
}

int main(void)
{
	static const struct cunit_test tests[] = {
		{ "listed calls, matching arguments and errno rules go on", test_allowed },
		{ "an unlisted call: SIGSYS, and a log line naming it", test_unlisted },
		{ "a listed call with an unlisted ioctl number or socket family: SIGSYS", test_arguments },
		{ "a thread's own filter kills too", test_thread_only },
		{ "modes: kill by default, log and off by $KXEN_SECCOMP, off by kxd_seccomp_disable", test_modes },
	};

	return cunit_run("seccomp", tests, CUNIT_COUNT(tests), suite_init, suite_cleanup);
}
