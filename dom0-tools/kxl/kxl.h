/* kxl internals: the command table, global options and helpers every command uses. */
#ifndef KXL_H
#define KXL_H

#include <stdint.h>
#include <stdio.h>
#include <unistd.h>   /* optind, optarg for every command */
#include "kxctrl.h"

/* Exit codes, the same for every command. */
#define KXL_OK      0
#define KXL_FAIL    1
#define KXL_USAGE   2

struct kxl_cmd {
	const char *name;
	int (*main)(int argc, char **argv);  /* argv[0] is the command name */
	const char *usage;                   /* arguments after "kxl NAME" */
	const char *help;                    /* one line, for "kxl help" */
	const char *long_help;               /* options and details, for "kxl help NAME" */
};

extern const struct kxl_cmd kxl_cmds[];
extern const unsigned kxl_ncmds;

/* Global options, parsed before the command name. */
struct kxl_opts {
	int verbose;          /* -v: say what is being done */
	int dry_run;          /* -N: print what would be done, change nothing */
	const char *socket;   /* -s: kxen-hv's control socket, else $KXEN_HV_SOCKET */
};
extern struct kxl_opts kxl;

void kxl_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void kxl_verbose(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

const struct kxl_cmd *kxl_find_cmd(const char *name);
void kxl_print_cmd_help(const struct kxl_cmd *c, FILE *f);

/*
 * getopt for a command: returns the option letter or -1 when done. -h and
 * --help print the command's help and return KXL_OPT_EXIT with *exit_code 0;
 * an unknown option or missing argument prints the usage and returns
 * KXL_OPT_EXIT with *exit_code KXL_USAGE.
 */
#define KXL_OPT_EXIT (-2)
int kxl_getopt(int argc, char **argv, const char *optstring, int *exit_code);
/* Prints "kxl NAME: why" and the usage line; returns KXL_USAGE. */
int kxl_usage_error(const char *cmd, const char *why);

/* Connects to kxen-hv, printing the reason and what to do on failure. */
int kxl_connect(kxctrl **h);
/* DOM is a name or an id; prints "no domain named or numbered" when there is none. */
int kxl_lookup(kxctrl *h, const char *dom, uint32_t *domid);
/* The domain's name for messages; falls back to its id. */
const char *kxl_dom_name(kxctrl *h, uint32_t domid, char *buf, size_t len);

int main_create(int argc, char **argv);
int main_validate(int argc, char **argv);
int main_list(int argc, char **argv);
int main_dmesg(int argc, char **argv);
int main_destroy(int argc, char **argv);
int main_pause(int argc, char **argv);
int main_unpause(int argc, char **argv);
int main_shutdown(int argc, char **argv);
int main_reboot(int argc, char **argv);
int main_help(int argc, char **argv);

#endif
