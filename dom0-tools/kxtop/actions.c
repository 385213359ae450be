/* Acting on a domain from the monitor: hypervisor calls, or kxl as a child where the toolstack must act. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <stdint.h>
#include <xen/xen.h>
#include <xen/sched.h>

#include "kxtop.h"

int actions__pause(kxctrl *h, uint32_t domid) { return kxctrl_domain_pause(h, domid); }
int actions__unpause(kxctrl *h, uint32_t domid) { return kxctrl_domain_unpause(h, domid); }
int actions__destroy(kxctrl *h, uint32_t domid) { return kxctrl_domain_destroy(h, domid); }

/*
 * Where kxl is: $KXEN_KXL, else beside kxtop (installed: both in sbin), else
 * in the build tree (dom0-tools/kxtop/../kxl/kxl), else "kxl" from PATH.
 */
static void kxl_path(char *out, size_t len)
{
	const char *env = getenv("KXEN_KXL");
	char self[PATH_MAX], cand[PATH_MAX + 16];
	ssize_t n;

	if (env && *env) {
		snprintf(out, len, "%s", env);
		return;
	}
	if ((n = readlink("/proc/self/exe", self, sizeof(self) - 1)) > 0) {
		self[n] = 0;
		char *dir = dirname(self);
		static const char *const rel[] = { "kxl", "../kxl/kxl" };

		for (size_t i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
			snprintf(cand, sizeof(cand), "%s/%s", dir, rel[i]);
			if (access(cand, X_OK) == 0) {
				snprintf(out, len, "%s", cand);
				return;
			}
		}
	}
	snprintf(out, len, "kxl");
}

/*
 * Runs kxl ARG DOMID. quiet: its output goes to /dev/null (the screen is
 * curses'). Returns its exit status, 127 if it could not be run, or -errno.
 */
static int run_kxl(const char *arg, uint32_t domid, const char *socket, bool quiet)
{
	char kxl[PATH_MAX + 16], id[16];
	int status;
	pid_t pid;

	kxl_path(kxl, sizeof(kxl));
	snprintf(id, sizeof(id), "%u", domid);
	if ((pid = fork()) < 0)
		return -errno;
	if (pid == 0) {
		if (socket)
			setenv(KXCTL_SOCKET_ENV, socket, 1);
		if (quiet) {
			int fd = open("/dev/null", O_RDWR);

			if (fd >= 0) {
				dup2(fd, STDIN_FILENO);
				dup2(fd, STDOUT_FILENO);
				dup2(fd, STDERR_FILENO);
			}
		}
		signal(SIGPIPE, SIG_DFL);
		execvp(kxl, (char *[]){ kxl, (char *)arg, id, NULL });
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int actions__shutdown(kxctrl *h, uint32_t domid, const char *socket, char *msg, size_t len)
{
	int st = run_kxl("shutdown", domid, socket, true);
	int rc;

	if (st == 0) {
		snprintf(msg, len, "asked domain %u to shut down (kxl shutdown)", domid);
		return 0;
	}
	if (st != 127) {
		snprintf(msg, len, "kxl shutdown %u failed (exit status %d)", domid, st);
		return -EIO;
	}
	/* No kxl to run: the hypervisor's own shutdown still stops the domain cleanly. */
	rc = kxctrl_domain_shutdown(h, domid, SHUTDOWN_poweroff);
	if (rc < 0)
		snprintf(msg, len, "kxl not found; hypervisor shutdown of %u failed: %s", domid, strerror(-rc));
	else
		snprintf(msg, len, "kxl not found; domain %u shut down through kxen-hv", domid);
	return rc;
}

int actions__console(uint32_t domid, const char *socket, char *msg, size_t len)
{
	int st;

	printf("kxtop: attaching to the console of domain %u (kxl console)...\n", domid);
	fflush(stdout);
	st = run_kxl("console", domid, socket, false);
	if (st == 0) {
		snprintf(msg, len, "console of domain %u closed", domid);
		return 0;
	}
	/* Leave kxl's own error on the screen until the user has read it. */
	printf("\nkxtop: kxl console %u failed (%s %d); press Enter to return to kxtop\n", domid,
	       st == 127 ? "kxl not found, status" : "exit status", st);
	fflush(stdout);
	for (int c; (c = getchar()) != EOF && c != '\n' && c != '\r';)
		;
	snprintf(msg, len, "kxl console %u failed (exit status %d)", domid, st);
	return st == 127 ? -ENOENT : -EIO;
}
