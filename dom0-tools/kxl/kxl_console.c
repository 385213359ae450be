/* `kxl console DOM`: attach the terminal to a domain's console pty (served by kxen-backd), Ctrl-] detaches. */
#include <config.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>
#include <xenstore.h>
#include "kxl.h"
#include "kxl_xs.h"

#define ESCAPE_CHAR 0x1d          /* Ctrl-], as xl console and telnet */
#define TTY_WAIT_MS 3000          /* a domain created just now may not have its backend yet */

static struct termios saved;
static bool restore_needed;

static void restore_tty(void)
{
	if (restore_needed)
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
	restore_needed = false;
}

static void on_fatal_signal(int sig)
{
	restore_tty();
	signal(sig, SIG_DFL);
	raise(sig);
}

/* Raw mode, so every key (Ctrl-C included) goes to the guest; restored on every way out. */
static int raw_tty(void)
{
	struct termios t;

	if (!isatty(STDIN_FILENO))
		return 0;   /* a pipe: pass bytes through as they come */
	if (tcgetattr(STDIN_FILENO, &saved) < 0)
		return -errno;
	t = saved;
	cfmakeraw(&t);
	if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &t) < 0)
		return -errno;
	restore_needed = true;
	atexit(restore_tty);
	signal(SIGTERM, on_fatal_signal);
	signal(SIGHUP, on_fatal_signal);
	return 0;
}

/* The pty kxen-backd published for domid, waiting briefly for a backend that is still attaching. */
static char *find_tty(struct xs_handle *xs, uint32_t domid)
{
	char path[64];
	unsigned len;

	snprintf(path, sizeof(path), "/local/domain/%u/console/tty", domid);
	for (int waited = 0; waited < TTY_WAIT_MS; waited += 50) {
		char *tty = xs_read(xs, XBT_NULL, path, &len);

		if (tty)
			return tty;
		usleep(50 * 1000);
	}
	return NULL;
}

static int write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return -errno;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Copies both ways until Ctrl-], end of input or the console going away. */
static int relay(int tty, const char *name)
{
	struct pollfd p[2] = { { .fd = STDIN_FILENO, .events = POLLIN }, { .fd = tty, .events = POLLIN } };
	char buf[4096];

	for (;;) {
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (p[1].revents) {
			ssize_t n = read(tty, buf, sizeof(buf));

			if (n <= 0) {
				restore_tty();
				fprintf(stderr, "\nkxl console: the console of '%s' closed (domain gone?)\n", name);
				return 0;
			}
			if (write_all(STDOUT_FILENO, buf, (size_t)n))
				return 0;
		}
		if (p[0].revents) {
			ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));
			char *esc;

			if (n <= 0)
				return 0;   /* our input ended: leave the guest running */
			esc = memchr(buf, ESCAPE_CHAR, (size_t)n);
			if (esc)
				n = esc - buf;
			if (n && write_all(tty, buf, (size_t)n))
				return -EIO;
			if (esc)
				return 0;
		}
	}
}

int main_console(int argc, char **argv)
{
	struct xs_handle *xs = NULL;
	kxctrl *h = NULL;
	char *tty = NULL, name[KXCTL_NAME_MAX];
	uint32_t domid;
	int opt, ec, fd = -1, rc = KXL_FAIL;

	while ((opt = kxl_getopt(argc, argv, "", &ec)) != -1)
		if (opt == KXL_OPT_EXIT)
			return ec;
	if (optind + 1 != argc)
		return kxl_usage_error("console", "expected one domain name or id");
	if (kxl_connect(&h) || kxl_lookup(h, argv[optind], &domid))
		goto out;
	kxl_dom_name(h, domid, name, sizeof(name));
	if (domid == 0) {
		kxl_err("domain 0 is the host: it has no console ring");
		goto out;
	}
	if (!(xs = kxl_xs_open()))
		goto out;
	tty = find_tty(xs, domid);
	if (!tty) {
		kxl_err("domain '%s' has no console backend (no console/tty in xenstore): "
			"is kxen-backd running?", name);
		goto out;
	}
	fd = open(tty, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (fd < 0) {
		kxl_err("cannot open the console of '%s' (%s): %s", name, tty, strerror(errno));
		goto out;
	}
	if ((ec = raw_tty())) {
		kxl_err("cannot put the terminal in raw mode: %s", strerror(-ec));
		goto out;
	}
	kxl_verbose("connected to %s's console on %s; Ctrl-] detaches", name, tty);
	rc = relay(fd, name) ? KXL_FAIL : KXL_OK;
	restore_tty();
out:
	if (fd >= 0)
		close(fd);
	free(tty);
	if (xs)
		xs_close(xs);
	if (h)
		kxctrl_close(h);
	return rc;
}
