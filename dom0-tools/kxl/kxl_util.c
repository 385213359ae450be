/* Helpers shared by kxl's commands: messages, option parsing, connecting, finding domains. */
#include <config.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "kxl.h"

void kxl_err(const char *fmt, ...)
{
	va_list ap;
	fputs("kxl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void kxl_verbose(const char *fmt, ...)
{
	va_list ap;
	if (!kxl.verbose)
		return;
	fputs("kxl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void kxl_phase(const char *name)
{
	static int fd = -2;
	struct timespec ts;
	char line[96];

	if (fd == -2) {
		const char *path = getenv(KXL_PHASES_ENV);
		fd = path && *path ? open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600) : -1;
	}
	if (fd < 0)
		return;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	int n = snprintf(line, sizeof(line), "%s %llu\n", name,
	                 (unsigned long long)ts.tv_sec * 1000000000ull + (unsigned long long)ts.tv_nsec);
	if (write(fd, line, (size_t)n) < 0)
		fd = -1;   /* a report, never a reason to fail the command */
}

int kxl_usage_error(const char *cmd, const char *why)
{
	const struct kxl_cmd *c = NULL;
	for (unsigned i = 0; i < kxl_ncmds; i++)
		if (!strcmp(kxl_cmds[i].name, cmd))
			c = &kxl_cmds[i];
	fprintf(stderr, "kxl %s: %s\n", cmd, why);
	if (c)
		fprintf(stderr, "Usage: kxl %s %s\n(see 'kxl help %s')\n", c->name, c->usage, c->name);
	return KXL_USAGE;
}

int kxl_getopt(int argc, char **argv, const char *optstring, int *exit_code)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char opts[64];
	/* ':' first: a missing argument is told apart from an unknown option. */
	snprintf(opts, sizeof(opts), ":h%s", optstring);
	opterr = 0;
	int opt = getopt_long(argc, argv, opts, longopts, NULL);
	char why[64];
	switch (opt) {
	case 'h':
		kxl_print_cmd_help(kxl_find_cmd(argv[0]), stdout);
		*exit_code = KXL_OK;
		return KXL_OPT_EXIT;
	case '?':
		if (optopt)
			snprintf(why, sizeof(why), "unknown option '-%c'", optopt);
		else
			snprintf(why, sizeof(why), "unknown option '%s'", argv[optind - 1]);
		*exit_code = kxl_usage_error(argv[0], why);
		return KXL_OPT_EXIT;
	case ':':
		snprintf(why, sizeof(why), "option '-%c' needs an argument", optopt);
		*exit_code = kxl_usage_error(argv[0], why);
		return KXL_OPT_EXIT;
	}
	return opt;
}

int kxl_connect(kxctrl **h)
{
	int r = kxctrl_open(kxl.socket, h);
	const char *path = kxctrl_socket_path(kxl.socket);
	if (r == -ENOENT || r == -ECONNREFUSED)
		kxl_err("cannot connect to kxen-hv at %s: %s (is kxen-hv running? start it with: kxen-hv -d)",
		        path, strerror(-r));
	else if (r == -EACCES || r == -EPERM)
		kxl_err("cannot connect to kxen-hv at %s: %s (kxl needs root)", path, strerror(-r));
	else if (r)
		kxl_err("cannot connect to kxen-hv at %s: %s", path, strerror(-r));
	else
		kxl_verbose("connected to kxen-hv at %s", path);
	return r;
}

int kxl_lookup(kxctrl *h, const char *dom, uint32_t *domid)
{
	int r = kxctrl_domain_lookup(h, dom, domid);
	if (r == -ESRCH || r == -ENOENT)
		kxl_err("no domain named or numbered '%s'", dom);
	else if (r)
		kxl_err("cannot look up domain '%s': %s", dom, strerror(-r));
	return r;
}

const char *kxl_dom_name(kxctrl *h, uint32_t domid, char *buf, size_t len)
{
	struct kxctl_dominfo info;
	if (kxctrl_domain_info(h, domid, &info) == 0)
		snprintf(buf, len, "%.*s", (int)sizeof(info.name), info.name);
	else
		snprintf(buf, len, "%u", domid);
	return buf;
}

int kxl_args(int argc, char **argv, int n, const char *what)
{
	int code = KXL_USAGE;
	if (kxl_getopt(argc, argv, "", &code) != -1)
		return code;
	if (argc - optind != n)
		return kxl_usage_error(argv[0], argc - optind < n ? what : "too many arguments");
	return -1;
}

int kxl_open_dom(const char *dom, kxctrl **h, struct kxctl_dominfo *info)
{
	uint32_t domid;
	int r;
	if ((r = kxl_connect(h)) || (r = kxl_lookup(*h, dom, &domid)))
		return r;
	if ((r = kxctrl_domain_info(*h, domid, info)))
		kxl_err("cannot query domain '%s': %s", dom, strerror(-r));
	return r;
}

int kxl_dom_command(int argc, char **argv, int n, const char *what, kxctrl **h,
                       struct kxctl_dominfo *info)
{
	int r = kxl_args(argc, argv, n, what);
	if (r >= 0)
		return r;
	if (kxl_open_dom(argv[optind], h, info)) {
		kxctrl_close(*h);
		*h = NULL;
		return KXL_FAIL;
	}
	return -1;
}

int kxl_listed_doms(kxctrl *h, int argc, char **argv, struct kxctl_dominfo **all, unsigned *n)
{
	int ret = KXL_OK;
	*all = NULL;
	*n = 0;
	if (optind == argc) {
		int r = kxctrl_domain_list(h, all, n);
		if (r) {
			kxl_err("cannot list domains: %s", strerror(-r));
			ret = KXL_FAIL;
		}
		return ret;
	}
	*all = calloc((size_t)(argc - optind), sizeof(**all));
	if (!*all) {
		kxl_err("cannot list domains: %s", strerror(ENOMEM));
		return KXL_FAIL;
	}
	for (int i = optind; i < argc; i++) {
		uint32_t id;
		int r;
		if (kxl_lookup(h, argv[i], &id)) {
			ret = KXL_FAIL;
			continue;
		}
		if ((r = kxctrl_domain_info(h, id, &(*all)[*n]))) {
			kxl_err("cannot query domain '%s': %s", argv[i], strerror(-r));
			ret = KXL_FAIL;
			continue;
		}
		(*n)++;
	}
	return ret;
}
