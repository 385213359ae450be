/* kxtop: xentop's monitor for kxen; options, then the batch or the ncurses front end. */
#define _GNU_SOURCE
#include <config.h>
#include <getopt.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kxtop.h"

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: kxtop [options]\n"
	        "Shows kxen domains and what they use, as xentop does.\n"
	        "  -h, --help             this help\n"
	        "  -V, --version          the version\n"
	        "  -d, --delay=SECONDS    seconds between updates (default 3, at least 0.1)\n"
	        "  -b, --batch            plain text on stdout instead of the screen\n"
	        "  -i, --iterations=N     stop after N updates (default: run until quit)\n"
	        "  -n, --networks         network sub-rows\n"
	        "  -x, --vbds             block device sub-rows\n"
	        "  -v, --vcpus            vCPU sub-rows (one more control call per domain)\n"
	        "  -f, --full-name        names are not cut to the NAME column\n"
	        "  -z, --dom0-first       dom0 first, whatever the sort (kxen-hv does not list dom0 today)\n"
	        "  -r, --repeat-header    repeat the table header before each domain\n"
	        "  -s, --sort=COLUMN      sort by COLUMN, e.g. CPU(%%) or name (default NAME)\n"
	        "  -R, --reverse          reverse the sort order\n"
	        "  -F, --filter=TEXT      only domains whose name contains TEXT\n"
	        "  -K, --no-kxen          hide kxen's own columns (ID EXITS/s HCALLS/s EVENTS/s)\n"
	        "  -H, --socket=PATH      kxen-hv's control socket (default $%s or %s)\n"
	        "Keys: d n b v r s R / f k, arrows and page keys, p pause/unpause, u unpause,\n"
	        "S shut down, X destroy (asks), c console, Ctrl-L redraw, q or Esc quits.\n",
	        KXCTL_SOCKET_ENV, KXCTL_DEFAULT_SOCKET);
}

static int parse_long(const char *opt, const char *s, long min, long *out)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (end == s || *end || v < min) {
		fprintf(stderr, "kxtop: %s wants a whole number of at least %ld, not '%s'\n", opt, min, s);
		return -1;
	}
	*out = v;
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "delay", required_argument, NULL, 'd' },
		{ "batch", no_argument, NULL, 'b' },
		{ "iterations", required_argument, NULL, 'i' },
		{ "networks", no_argument, NULL, 'n' },
		{ "vbds", no_argument, NULL, 'x' },
		{ "vcpus", no_argument, NULL, 'v' },
		{ "full-name", no_argument, NULL, 'f' },
		{ "dom0-first", no_argument, NULL, 'z' },
		{ "repeat-header", no_argument, NULL, 'r' },
		{ "sort", required_argument, NULL, 's' },
		{ "reverse", no_argument, NULL, 'R' },
		{ "filter", required_argument, NULL, 'F' },
		{ "no-kxen", no_argument, NULL, 'K' },
		{ "socket", required_argument, NULL, 'H' },
		{ NULL, 0, NULL, 0 },
	};
	struct kxtop_opts o = { .delay_s = 3.0, .kxen_cols = true };
	const char *sort = NULL;
	char *end;
	int c, col;

	setlocale(LC_ALL, "");
	while ((c = getopt_long(argc, argv, "hVd:bi:nxvfzrs:RF:KH:", longopts, NULL)) != -1) {
		switch (c) {
		case 'h': usage(stdout); return 0;
		case 'V': printf("kxtop %s\n", PACKAGE_VERSION); return 0;
		case 'd':
			o.delay_s = strtod(optarg, &end);
			if (end == optarg || *end || !(o.delay_s >= 0.1 && o.delay_s <= 3600)) {
				fprintf(stderr, "kxtop: -d wants seconds from 0.1 to 3600, not '%s'\n", optarg);
				return 2;
			}
			break;
		case 'b': o.batch = true; break;
		case 'i':
			if (parse_long("-i", optarg, 1, &o.iterations) < 0)
				return 2;
			break;
		case 'n': o.networks = true; break;
		case 'x': o.vbds = true; break;
		case 'v': o.vcpus = true; break;
		case 'f': o.full_names = true; break;
		case 'z': o.dom0_first = true; break;
		case 'r': o.repeat_header = true; break;
		case 's': sort = optarg; break;
		case 'R': o.sort_reverse = true; break;
		case 'F':
			if (strlen(optarg) >= sizeof(o.filter)) {
				fprintf(stderr, "kxtop: -F: a filter is at most %zu characters\n", sizeof(o.filter) - 1);
				return 2;
			}
			snprintf(o.filter, sizeof(o.filter), "%s", optarg);
			break;
		case 'K': o.kxen_cols = false; break;
		case 'H': o.socket = optarg; break;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "kxtop: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	if (sort) {
		if ((col = columns__find(sort)) < 0) {
			fprintf(stderr, "kxtop: -s: no column '%s'; columns are:", sort);
			for (unsigned i = 0; i < kxtop_nr_cols; i++)
				fprintf(stderr, " %s", kxtop_cols[i].header);
			fprintf(stderr, "\n");
			return 2;
		}
		o.sort_col = (unsigned)col;
		if (!view__col_shown(&o, o.sort_col)) {
			fprintf(stderr, "kxtop: -s %s: that column is hidden by -K\n", sort);
			return 2;
		}
	}
	/* A vanished reader (a closed pipe, kxen-hv dying mid-send) is an error to report, not a death. */
	signal(SIGPIPE, SIG_IGN);
	return o.batch ? batch__run(&o) : ui__run(&o);
}
