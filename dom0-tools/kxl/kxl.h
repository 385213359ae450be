/* kxl internals: the command table, global options and helpers every command uses. */
#ifndef KXL_H
#define KXL_H

#include <stdint.h>
#include <stdio.h>
#include <unistd.h>   /* optind, optarg for every command */
#include "kxen/kxctrl.h"

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
/* kxl_doc.c: the command table as the kxl.1 man page (roff), and as
 * "NAME<TAB>OPTIONS<TAB>ARGS" lines for the bash completion. */
void kxl_print_man(FILE *f);
void kxl_print_table(FILE *f);

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
/*
 * For commands taking exactly n arguments and no options: -1 to go on;
 * otherwise the exit code, after the usage error (what: the one for too
 * few arguments) or the help.
 */
int kxl_args(int argc, char **argv, int n, const char *what);
/* Connects and reads DOM's info into *info; 0, or -errno after saying why (*h may be open: close it). */
int kxl_open_dom(const char *dom, kxctrl **h, struct kxctl_dominfo *info);
/*
 * The start of a command on one domain: kxl_args, then kxl_open_dom on the
 * first argument. -1 to go on with *h open; otherwise the exit code, with
 * *h closed.
 */
int kxl_dom_command(int argc, char **argv, int n, const char *what, kxctrl **h,
                    struct kxctl_dominfo *info);
/*
 * The domains a listing command shows: all of them without arguments,
 * else each DOM named in argv[optind..]. *all is malloc'd (free it) even
 * when something failed; KXL_OK, or KXL_FAIL after saying what failed.
 */
int kxl_listed_doms(kxctrl *h, int argc, char **argv, struct kxctl_dominfo **all, unsigned *n);

/* ---- kxl_state.c: the per-domain state directory ---- */

#define KXL_STATE_ENV      "KXEN_STATE_DIR"   /* overrides KXL_STATE_DIR, for tests */
#define KXL_STATE_DIR      "/var/lib/kxen/domains"
#define KXL_VERDICTS_ENV   "KXL_VERDICTS"     /* RelaxNG verdicts' directory; "" keeps none */
#define KXL_DUMP_ENV       "KXEN_DUMP_DIR"
#define KXL_DUMP_DIR       "/var/lib/kxen/dump"

struct kxconfig;
/* The directory holding UUID.xml for every domain kxl created (created on demand). */
const char *kxl_state_dir(void);
/* Points libkxconfig's RelaxNG verdicts at $KXL_VERDICTS, else STATE_DIR/verdicts (docs/domain-xml.md). */
void kxl_state_verdicts(void);
/* Writes cfg (generated values filled in) as UUID.xml, atomically. Returns 0 or -errno. */
int kxl_state_save(const struct kxconfig *cfg);
/* Loads the saved config of uuid; -ENOENT when kxl did not create that domain. */
int kxl_state_load(const uint8_t uuid[16], struct kxconfig **out, char *err, size_t errlen);
/* Removes UUID.xml (and UUID.pid); missing files are not an error. */
void kxl_state_remove(const uint8_t uuid[16]);
/* Path of a state file of uuid with the given suffix (".xml", ".pid", ".log"). */
void kxl_state_path(const uint8_t uuid[16], const char *suffix, char *buf, size_t len);
/* Removes the files of domains that no longer exist (all = the live domains). */
void kxl_state_prune(const struct kxctl_dominfo *all, unsigned n);

/* ---- kxl_start.c: building and starting a domain from a config ---- */

/*
 * Fault injection for tests: $KXL_FAULT names a step of kxl_domain_start
 * (build, state, xenstore, monitor, unpause) that then fails with -EIO.
 */
#define KXL_FAULT_ENV "KXL_FAULT"
int kxl_fault(const char *step);

/*
 * Phase report for bench_create: with $KXL_PHASES naming a file, appends
 * "NAME NS" (CLOCK_MONOTONIC, shared by all processes) each time a phase of
 * kxl create ends. One write(2) per line; silent and free when unset.
 */
#define KXL_PHASES_ENV "KXL_PHASES"
void kxl_phase(const char *name);

/*
 * What a config asks for that kxl cannot do yet (xenpvh):
 * prints the reason naming the file and line and returns -ENOTSUP. Warns on
 * stderr for settings that are kept but not enforced.
 */
int kxl_config_supported(const struct kxconfig *cfg);
/* Refuses (with a message) a config needing more memory than the host has free, or more grant frames than kxen-hv allows. */
int kxl_check_memory(kxctrl *h, const struct kxconfig *cfg);
/*
 * Builds cfg paused, saves its state file, runs the xenstore hook and
 * unpauses it unless paused. On failure at any step the domain and its state
 * file are gone again and the reason was printed. Returns 0 or -errno.
 */
int kxl_domain_start(kxctrl *h, const struct kxconfig *cfg, const char *kernel, int paused,
                     uint32_t *domid);
/*
 * Destroys domid and removes what the toolstack keeps for it: its xenstore
 * paths (best effort: kxenstored may be down, with a warning) and, when uuid
 * is given, its saved config. Returns 0 or kxen-hv's -errno for the destroy.
 */
int kxl_domain_teardown(kxctrl *h, uint32_t domid, const uint8_t *uuid);
/* What kxl_domain_teardown removes after the destroy, for a domain already gone. */
void kxl_domain_forget(uint32_t domid, const uint8_t *uuid);
/* Kernel path to use for cfg (see find_kernel in kxl_start.c); NULL with a message. */
char *kxl_find_kernel(const struct kxconfig *cfg);

/* ---- kxl_monitor.c: the per-domain monitor that carries out on_* actions ---- */

/* Starts the monitor of domid, daemonised (returns at once in the caller). Returns 0 or -errno. */
int kxl_monitor_spawn(const struct kxconfig *cfg, uint32_t domid);
/*
 * Runs the monitor of domid in this process until the domain is gone (-F),
 * with cfg, which it takes over (frees). Returns 0 or -errno.
 */
int kxl_monitor_foreground(struct kxconfig *cfg, uint32_t domid);

/* ---- kxl_core.c: ELF core dumps of a domain ---- */

/* Writes an ELF core (RAM as PT_LOAD, NT_PRSTATUS per vCPU) of the paused or dead domid to path. */
int kxl_core_dump(kxctrl *h, uint32_t domid, const char *path, char *err, size_t errlen);

/* ---- kxl_vcpu.c: vCPU availability, pinning and credit parameters ---- */
struct xs_handle;
/*
 * Applies cfg's <vcpu current> (cpu/N/availability and kxen-hv's mask),
 * cpuset, <cputune> pins and shares/quota to the new, still paused domid.
 * Returns 0 or -errno with the reason printed (naming the file and field).
 */
int kxl_vcpu_apply_config(kxctrl *h, struct xs_handle *xs, const struct kxconfig *cfg, uint32_t domid);
/* Prints, for kxl -N create, what kxl_vcpu_apply_config would set (nothing for defaults). */
void kxl_vcpu_plan(const struct kxconfig *cfg);
/* kxen-hv's CPU map as a CPU list of the host's ncpus CPUs ("all" when it has them all, "0-3,6"). */
void kxl_vcpu_cpumap_format(const uint64_t *map, unsigned ncpus, char *out, size_t len);
int main_vcpu_pin(int argc, char **argv);
int main_vcpu_set(int argc, char **argv);
int main_sched_credit(int argc, char **argv);
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
int main_info(int argc, char **argv);
int main_uptime(int argc, char **argv);
int main_domid(int argc, char **argv);
int main_domname(int argc, char **argv);
int main_rename(int argc, char **argv);
int main_dumpxml(int argc, char **argv);
int main_vcpu_list(int argc, char **argv);
int main_mem_max(int argc, char **argv);
int main_mem_set(int argc, char **argv);
int main_dump_core(int argc, char **argv);
int main_console(int argc, char **argv);
/* kxl_network.c: vifs (docs/network.md). */
int main_network_attach(int argc, char **argv);
int main_network_detach(int argc, char **argv);
int main_network_list(int argc, char **argv);

#endif
