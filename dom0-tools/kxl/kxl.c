/* kxl: the xl-like toolstack CLI; global options, command lookup by prefix, help. */
#include <config.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "kxl.h"

struct kxl_opts kxl;

static void overview(FILE *f)
{
	fprintf(f, "Usage: kxl [-v] [-N] [-s SOCKET] COMMAND [ARGS]\n\n"
	           "Global options:\n"
	           "  -v         verbose: say what is being done\n"
	           "  -N         dry run: print what would be done, change nothing\n"
	           "  -s SOCKET  kxen-hv's control socket (default $%s, else %s)\n"
	           "  --version  print kxl's version\n\n"
	           "Commands:\n", KXCTL_SOCKET_ENV, KXCTL_DEFAULT_SOCKET);
	for (unsigned i = 0; i < kxl_ncmds; i++)
		fprintf(f, "  %-10s %s\n", kxl_cmds[i].name, kxl_cmds[i].help);
	fprintf(f, "\n'kxl help COMMAND' or 'kxl COMMAND --help' describes one command.\n"
	           "Exit status: 0 success, 1 failure, 2 usage error.\n");
}

void kxl_print_cmd_help(const struct kxl_cmd *c, FILE *f)
{
	fprintf(f, "Usage: kxl %s %s\n\n%s.\n\n%s\n", c->name, c->usage, c->help, c->long_help);
}

/* An exact name wins; otherwise a prefix must match exactly one command. */
const struct kxl_cmd *kxl_find_cmd(const char *name)
{
	const struct kxl_cmd *found = NULL;
	size_t len = strlen(name);
	unsigned matches = 0;
	for (unsigned i = 0; i < kxl_ncmds; i++) {
		if (!strcmp(kxl_cmds[i].name, name))
			return &kxl_cmds[i];
		if (len && !strncmp(kxl_cmds[i].name, name, len)) {
			found = &kxl_cmds[i];
			matches++;
		}
	}
	if (matches == 1)
		return found;
	if (!matches) {
		kxl_err("unknown command '%s' (see 'kxl help')", name);
		return NULL;
	}
	char list[256] = "";
	size_t o = 0;
	for (unsigned i = 0; i < kxl_ncmds && o < sizeof(list); i++)
		if (!strncmp(kxl_cmds[i].name, name, len))
			o += (size_t)snprintf(list + o, sizeof(list) - o, "%s%s", o ? ", " : "",
			                      kxl_cmds[i].name);
	kxl_err("command '%s' is ambiguous: %s", name, list);
	return NULL;
}

int main_help(int argc, char **argv)
{
	int code = KXL_USAGE;
	if (kxl_getopt(argc, argv, "", &code) != -1)
		return code;
	if (argc - optind > 1)
		return kxl_usage_error("help", "too many arguments");
	if (argc - optind == 0) {
		overview(stdout);
		return KXL_OK;
	}
	const struct kxl_cmd *c = kxl_find_cmd(argv[optind]);
	if (!c)
		return KXL_USAGE;
	kxl_print_cmd_help(c, stdout);
	return KXL_OK;
}

int main(int argc, char **argv)
{
	/* --man and --table are for the build: kxl.1 and the bash completion come from the command table. */
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "man", no_argument, NULL, 'M' },
		{ "table", no_argument, NULL, 'T' },
		{ NULL, 0, NULL, 0 },
	};
	int opt;
	kxl_phase("exec");
	kxl_state_verdicts();
	opterr = 0;
	/* '+': stop at the command name, whose own options follow it. */
	while ((opt = getopt_long(argc, argv, "+vNs:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'v':
			kxl.verbose++;
			break;
		case 'N':
			kxl.dry_run = 1;
			break;
		case 's':
			kxl.socket = optarg;
			break;
		case 'h':
			overview(stdout);
			return KXL_OK;
		case 'V':
			printf("kxl %s\n", PACKAGE_VERSION);
			return KXL_OK;
		case 'M':
			kxl_print_man(stdout);
			return KXL_OK;
		case 'T':
			kxl_print_table(stdout);
			return KXL_OK;
		default:
			if (!optopt)
				kxl_err("unknown global option '%s'", argv[optind - 1]);
			else if (optopt == 's')
				kxl_err("option -s needs a socket path");
			else
				kxl_err("unknown global option '-%c'", optopt);
			overview(stderr);
			return KXL_USAGE;
		}
	}
	if (optind >= argc) {
		overview(stderr);
		return KXL_USAGE;
	}
	const struct kxl_cmd *c = kxl_find_cmd(argv[optind]);
	if (!c)
		return KXL_USAGE;
	argc -= optind;
	argv += optind;
	argv[0] = (char *)c->name;   /* messages use the full name even when a prefix was typed */
	optind = 0;                  /* 0, not 1: glibc then reinitialises its getopt state */
	return c->main(argc, argv);
}
