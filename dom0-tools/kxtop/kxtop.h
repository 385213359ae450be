/* kxtop internal interfaces: samples and their derived rates, the column table, batch and ncurses views. */
#ifndef KXTOP_H
#define KXTOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <kxen/ctl.h>

#include "devstats.h"
#include "kxen/kxctrl.h"

#define KXTOP_MAX_VCPUS 32      /* struct kxctl_vcpu_info_reply holds this many */

/* One vCPU of a domain as sampled, with its CPU% over the last interval. */
struct kxtop_vcpu {
	struct kxctl_vcpuinfo info;
	double cpu_pct;
};

/* One domain in one sample: what kxen-hv reported plus what kxtop derived from the previous sample. */
struct kxtop_dom {
	struct kxctl_dominfo info;
	double cpu_pct;              /* % of one CPU over the interval (or lifetime if new) */
	double mem_pct, maxmem_pct;  /* of host RAM */
	double exits_ps, hcalls_ps, events_ps;
	bool is_new;                 /* not in the previous sample: rates are lifetime averages */
	unsigned weight, cap;        /* credit weight and cap (kxl sched-credit); dom0: 0, 0 */
	struct kxtop_devstats dev;
	unsigned nr_vcpus;           /* entries in vcpu[]; 0 when vCPU info was not fetched */
	struct kxtop_vcpu vcpu[KXTOP_MAX_VCPUS];
};

/* Everything one refresh fetched. dom[] is sorted by domid (as kxen-hv lists them). */
struct kxtop_sample {
	uint64_t mono_ns;            /* CLOCK_MONOTONIC when fetched: rates use this */
	uint64_t real_ns;            /* CLOCK_REALTIME: lifetimes (created_ns is realtime) */
	struct kxctl_host_info host;
	struct kxtop_dom *dom;
	unsigned n;
};

/*
 * sample.c
 */
/* Monotonic and realtime clocks in ns. */
uint64_t sample__now_mono(void);
uint64_t sample__now_real(void);
/*
 * Fetches host info and every domain (and each domain's vCPUs when
 * with_vcpus) into *s, which must be zeroed or previously fetched (its old
 * contents are freed). Returns 0 or -errno from the control socket; on error
 * *s is left empty (n = 0).
 */
int sample__fetch(kxctrl *h, struct kxtop_sample *s, bool with_vcpus);
/*
 * Fills the derived fields of cur from prev (NULL for the first sample).
 * A domain matches only if domid AND created_ns are equal, so a reused domid
 * is a new row. Rates are deltas over the monotonic interval; a new domain,
 * or one whose counters went backwards (a reset), gets its lifetime average
 * (counter / time since created_ns) and is_new set. Never negative.
 */
void sample__derive(struct kxtop_sample *cur, const struct kxtop_sample *prev);
/* Frees s->dom; leaves s empty. */
void sample__free(struct kxtop_sample *s);

/*
 * columns.c: one table drives headers, widths, sorting and printing.
 */
enum kxtop_kind { KIND_STR, KIND_U64, KIND_F1 };

#define COL_LEFT  (1u << 0)   /* left-aligned (names) */
#define COL_KXEN  (1u << 1)   /* kxen's own column, beyond xentop's */

struct kxtop_col {
	const char *header;
	int width;
	enum kxtop_kind kind;
	/* numeric value (KIND_U64, KIND_F1) or NULL */
	double (*num)(const struct kxtop_dom *d);
	/* string value (KIND_STR) written into buf; returns buf */
	const char *(*str)(const struct kxtop_dom *d, char *buf, size_t len);
	unsigned flags;
};

extern const struct kxtop_col kxtop_cols[];
extern const unsigned kxtop_nr_cols;

/* Index of the column whose header is name (case-insensitive), or -ENOENT. */
int columns__find(const char *name);
/* The STATE string: six characters d s b c p r, '-' where a flag is clear. */
const char *columns__state(uint32_t flags, char buf[7]);
/*
 * Writes column c of d into buf: right-aligned in its width (left for
 * COL_LEFT). A name longer than the width is cut to it unless full_names;
 * a number wider than its column is never cut (it widens the row).
 * Control characters and blanks in names become '_' so a row always splits
 * into fields on blanks and a guest cannot send terminal escapes.
 * Returns the number of characters written.
 */
int columns__format(const struct kxtop_col *c, const struct kxtop_dom *d, bool full_names,
                char *buf, size_t len);
/* Writes c's header into buf, aligned as its values. */
int columns__header(const struct kxtop_col *c, char *buf, size_t len);
/*
 * Sorts ptrs[0..n) by column col (descending for numbers, ascending for
 * strings, flipped by reverse); ties fall back to domid so the order is
 * total and stable between refreshes.
 */
void columns__sort(const struct kxtop_dom **ptrs, unsigned n, unsigned col, bool reverse);

/*
 * view.c: what both front ends show, independent of ncurses.
 */
struct kxtop_ui;

struct kxtop_opts {
	double delay_s;           /* -d */
	bool batch;               /* -b */
	long iterations;          /* -i: 0 = forever */
	bool networks, vbds, vcpus;   /* -n -x -v sub-rows */
	bool full_names;          /* -f */
	bool dom0_first;          /* -z */
	bool repeat_header;       /* -r */
	bool kxen_cols;           /* kxen's own columns shown (default on; -K hides) */
	unsigned sort_col;
	bool sort_reverse;
	char filter[KXCTL_NAME_MAX];   /* substring of names shown; "" = all */
	const char *socket;       /* -H or NULL */
};

/* Whether column c is shown under opts. */
bool view__col_shown(const struct kxtop_opts *o, unsigned c);
/* Whether d passes the name filter. */
bool view__match(const struct kxtop_opts *o, const struct kxtop_dom *d);
/*
 * Fills ptrs (room for s->n) with the domains shown, filtered and sorted as
 * opts say. Returns how many.
 */
unsigned view__rows(const struct kxtop_opts *o, const struct kxtop_sample *s,
                    const struct kxtop_dom **ptrs);
/* The summary header's lines (time, domains by state, memory, CPUs), NUL-terminated each. */
void view__summary(const struct kxtop_sample *s, char line1[160], char line2[160], char line3[160]);
/* One row (header when d is NULL) of the shown columns into buf. Returns its length. */
int view__row(const struct kxtop_opts *o, const struct kxtop_dom *d, char *buf, size_t len);
/* Sub-row lines for d (vCPUs, networks, block devices as opts say); calls fn per line. */
void view__subrows(const struct kxtop_opts *o, const struct kxtop_dom *d,
                   void (*fn)(const char *line, void *arg), void *arg);

/*
 * batch.c
 */
/* Prints one batch iteration (summary, header, rows, sub-rows) to f. */
void batch__print(FILE *f, const struct kxtop_opts *o, const struct kxtop_sample *s);
/* The -b loop: returns the process exit status. */
int batch__run(const struct kxtop_opts *o);

/*
 * ui.c and ui_keys.c: the interactive monitor.
 */
/* A one-line prompt at the bottom: typed text goes here until Enter (done) or Esc. */
struct kxtop_prompt {
	const char *label;        /* NULL: no prompt */
	char buf[KXCTL_NAME_MAX];
	size_t len;
	bool one_key;             /* a y/N confirmation: the first key decides */
	uint32_t domid;           /* the domain a confirmation is about */
	uint64_t created_ns;
	void (*done)(struct kxtop_ui *u, const char *text);
};

struct kxtop_ui {
	struct kxtop_opts *o;
	kxctrl *h;
	struct kxtop_sample smp[2];
	struct kxtop_sample *cur, *prev;
	bool have_data, have_prev;
	const struct kxtop_dom **rows;   /* shown rows, filtered and sorted */
	unsigned nrows, rows_cap;
	unsigned top;                    /* first row on screen */
	unsigned sel;                    /* selected row */
	uint32_t sel_domid;              /* the selection follows its domain across refreshes */
	uint64_t sel_created;
	char msg[256];                   /* status line: the last action's outcome */
	char err[256];                   /* why kxen-hv cannot be read, "" when it can */
	struct kxtop_prompt prompt;
	uint64_t next_ns;                /* next sample (CLOCK_MONOTONIC) */
	bool quit, redraw_all;
};

/* Runs the ncurses monitor until quit. Returns the process exit status. */
int ui__run(struct kxtop_opts *o);
/* Handles one key (ncurses code). */
void ui_keys__key(struct kxtop_ui *u, int ch);
/* Re-filters and re-sorts the rows of the current sample, keeping the selection on its domain. */
void ui__relayout(struct kxtop_ui *u);
/* Samples kxen-hv now (reconnecting if needed); sets u->err on failure. */
void ui__sample(struct kxtop_ui *u);
/* The selected domain, or NULL when no row is shown. */
const struct kxtop_dom *ui__selected(const struct kxtop_ui *u);
/* Sets the status line (printf-style). */
void ui__msg(struct kxtop_ui *u, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The bottom line's key legend. */
const char *ui_keys__legend(void);

/*
 * actions.c: acting on a domain from the monitor.
 */
/* Pauses, unpauses or destroys domid through kxen-hv. 0 or -errno. */
int actions__pause(kxctrl *h, uint32_t domid);
int actions__unpause(kxctrl *h, uint32_t domid);
int actions__destroy(kxctrl *h, uint32_t domid);
/*
 * Asks domid to shut down as `kxl shutdown` does (run as a child, so
 * xenstore's control/shutdown is written when kxl does that); falls back to
 * kxen-hv's SHUTDOWN_poweroff when kxl cannot be run. Writes what happened
 * into msg.
 */
int actions__shutdown(kxctrl *h, uint32_t domid, const char *socket, char *msg, size_t len);
/*
 * Runs `kxl console DOMID` in the foreground on the terminal (the caller
 * has left curses mode). 0, or -errno / -ENOEXEC when kxl failed; msg says why.
 */
int actions__console(uint32_t domid, const char *socket, char *msg, size_t len);

#endif
