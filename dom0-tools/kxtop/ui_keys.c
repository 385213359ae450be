/* The interactive monitor's keys: one table of bindings, prompts, and actions on the selected domain. */
#define _GNU_SOURCE
#include <curses.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kxtop.h"

#define KEY_ESC 27
#define KEY_CTRL_L 12

static unsigned page_rows(void)
{
	int n = LINES - 6;   /* summary, status, header, legend */

	return n > 1 ? (unsigned)n : 1;
}

static void select_row(struct kxtop_ui *u, long row)
{
	if (!u->nrows)
		return;
	if (row < 0)
		row = 0;
	if (row >= (long)u->nrows)
		row = (long)u->nrows - 1;
	u->sel = (unsigned)row;
	u->sel_domid = u->rows[u->sel]->info.domid;
	u->sel_created = u->rows[u->sel]->info.created_ns;
}

static void k_up(struct kxtop_ui *u) { select_row(u, (long)u->sel - 1); }
static void k_down(struct kxtop_ui *u) { select_row(u, (long)u->sel + 1); }
static void k_pgup(struct kxtop_ui *u)
{
	select_row(u, (long)u->sel - (long)page_rows());
	u->top = u->top > page_rows() ? u->top - page_rows() : 0;
}
static void k_pgdn(struct kxtop_ui *u)
{
	select_row(u, (long)u->sel + (long)page_rows());
}
static void k_home(struct kxtop_ui *u) { select_row(u, 0); u->top = 0; }
static void k_end(struct kxtop_ui *u) { select_row(u, (long)u->nrows - 1); }
static void k_quit(struct kxtop_ui *u) { u->quit = true; }
static void k_redraw(struct kxtop_ui *u) { u->redraw_all = true; }
static void k_resize(struct kxtop_ui *u) { u->redraw_all = true; }

/* Sub-row toggles: vCPU rows need a vCPU fetch, so sample again at once rather than show stale rows. */
static void k_nets(struct kxtop_ui *u) { u->o->networks = !u->o->networks; }
static void k_vbds(struct kxtop_ui *u) { u->o->vbds = !u->o->vbds; }
static void k_vcpus(struct kxtop_ui *u)
{
	u->o->vcpus = !u->o->vcpus;
	if (u->o->vcpus)
		u->next_ns = 0;
}
static void k_repeat(struct kxtop_ui *u) { u->o->repeat_header = !u->o->repeat_header; }
static void k_full(struct kxtop_ui *u) { u->o->full_names = !u->o->full_names; }

static void k_kxen(struct kxtop_ui *u)
{
	u->o->kxen_cols = !u->o->kxen_cols;
	if (!view__col_shown(u->o, u->o->sort_col))
		u->o->sort_col = 0;
	ui__relayout(u);
}

static void k_sort(struct kxtop_ui *u)
{
	unsigned c = u->o->sort_col;

	do
		c = (c + 1) % kxtop_nr_cols;
	while (!view__col_shown(u->o, c));
	u->o->sort_col = c;
	ui__relayout(u);
}

static void k_reverse(struct kxtop_ui *u)
{
	u->o->sort_reverse = !u->o->sort_reverse;
	ui__relayout(u);
}

static void prompt_open(struct kxtop_ui *u, const char *label, void (*done)(struct kxtop_ui *, const char *))
{
	memset(&u->prompt, 0, sizeof(u->prompt));
	u->prompt.label = label;
	u->prompt.done = done;
}

static void delay_done(struct kxtop_ui *u, const char *text)
{
	char *end;
	double d = strtod(text, &end);

	if (end == text || *end || !(d >= 0.1 && d <= 3600)) {
		ui__msg(u, "delay '%s' is not a number of seconds from 0.1 to 3600", text);
		return;
	}
	u->o->delay_s = d;
	u->next_ns = sample__now_mono() + (uint64_t)(d * 1e9);
	ui__msg(u, "delay %.1f s", d);
}

static void filter_done(struct kxtop_ui *u, const char *text)
{
	snprintf(u->o->filter, sizeof(u->o->filter), "%s", text);
	u->sel = 0;
	u->top = 0;
	ui__relayout(u);
	if (u->nrows)
		select_row(u, 0);
}

static void k_delay(struct kxtop_ui *u) { prompt_open(u, "Delay (seconds): ", delay_done); }
static void k_filter(struct kxtop_ui *u) { prompt_open(u, "Filter (name contains, empty for all): ", filter_done); }

/* The selected domain, or NULL with a message saying there is none. */
static const struct kxtop_dom *target(struct kxtop_ui *u)
{
	const struct kxtop_dom *d = ui__selected(u);

	if (!d || !u->h)
		ui__msg(u, "no domain selected");
	return d;
}

static void report(struct kxtop_ui *u, const char *what, const struct kxtop_dom *d, int rc)
{
	if (rc < 0)
		ui__msg(u, "%s %s (id %u) failed: %s", what, d->info.name, d->info.domid, strerror(-rc));
	else
		ui__msg(u, "%s %s (id %u)", what, d->info.name, d->info.domid);
	u->next_ns = 0;   /* show the new state now */
}

static void k_pause(struct kxtop_ui *u)
{
	const struct kxtop_dom *d = target(u);

	if (!d)
		return;
	if (d->info.flags & KXCTL_DOMF_PAUSED)
		report(u, "unpaused", d, actions__unpause(u->h, d->info.domid));
	else
		report(u, "paused", d, actions__pause(u->h, d->info.domid));
}

static void k_unpause(struct kxtop_ui *u)
{
	const struct kxtop_dom *d = target(u);

	if (d)
		report(u, "unpaused", d, actions__unpause(u->h, d->info.domid));
}

static void k_shutdown(struct kxtop_ui *u)
{
	const struct kxtop_dom *d = target(u);
	char msg[200];

	if (!d)
		return;
	int rc = actions__shutdown(u->h, d->info.domid, u->o->socket, msg, sizeof(msg));
	ui__msg(u, "%s", msg);
	(void)rc;
	u->next_ns = 0;
}

static void destroy_done(struct kxtop_ui *u, const char *text)
{
	/* Act on the domain that was asked about, even if the selection moved meanwhile. */
	for (unsigned i = 0; i < u->nrows; i++) {
		const struct kxtop_dom *d = u->rows[i];

		if (d->info.domid == u->prompt.domid && d->info.created_ns == u->prompt.created_ns) {
			if (text[0] == 'y' || text[0] == 'Y')
				report(u, "destroyed", d, actions__destroy(u->h, d->info.domid));
			else
				ui__msg(u, "destroy cancelled");
			return;
		}
	}
	ui__msg(u, "domain %u is already gone", u->prompt.domid);
}

static void k_destroy(struct kxtop_ui *u)
{
	static char label[160];
	const struct kxtop_dom *d = target(u);

	if (!d)
		return;
	snprintf(label, sizeof(label), "Destroy %.64s (id %u)? [y/N] ", d->info.name, d->info.domid);
	prompt_open(u, label, destroy_done);
	u->prompt.one_key = true;
	u->prompt.domid = d->info.domid;
	u->prompt.created_ns = d->info.created_ns;
}

static void k_console(struct kxtop_ui *u)
{
	const struct kxtop_dom *d = target(u);
	char msg[200];

	if (!d)
		return;
	def_prog_mode();
	endwin();
	actions__console(d->info.domid, u->o->socket, msg, sizeof(msg));
	reset_prog_mode();
	u->redraw_all = true;
	ui__msg(u, "%s", msg);
	u->next_ns = 0;
}

/* Every binding: key, legend label (NULL: not in the legend), handler. */
static const struct key_binding {
	int key;
	const char *legend;
	void (*fn)(struct kxtop_ui *u);
} bindings[] = {
	{ 'd', "Delay", k_delay },
	{ 'D', NULL, k_delay },
	{ 'n', "Networks", k_nets },
	{ 'N', NULL, k_nets },
	{ 'b', "vBds", k_vbds },
	{ 'B', NULL, k_vbds },
	{ 'v', "VCPUs", k_vcpus },
	{ 'V', NULL, k_vcpus },
	{ 'r', "Repeat header", k_repeat },
	{ 's', "Sort", k_sort },
	{ 'R', "Reverse", k_reverse },
	{ '/', "/filter", k_filter },
	{ 'f', "Full names", k_full },
	{ 'k', "Kxen cols", k_kxen },
	{ 'p', "Pause", k_pause },
	{ 'u', "Unpause", k_unpause },
	{ 'S', "Shutdown", k_shutdown },
	{ 'X', "X-destroy", k_destroy },
	{ 'c', "Console", k_console },
	{ 'q', "Quit", k_quit },
	{ 'Q', NULL, k_quit },
	{ KEY_ESC, NULL, k_quit },
	{ KEY_UP, NULL, k_up },
	{ KEY_DOWN, NULL, k_down },
	{ KEY_PPAGE, NULL, k_pgup },
	{ KEY_NPAGE, NULL, k_pgdn },
	{ KEY_HOME, NULL, k_home },
	{ KEY_END, NULL, k_end },
	{ KEY_CTRL_L, NULL, k_redraw },
	{ KEY_RESIZE, NULL, k_resize },
};

const char *ui_keys__legend(void)
{
	static char legend[512];

	if (!legend[0]) {
		size_t n = 0;

		for (size_t i = 0; i < sizeof(bindings) / sizeof(bindings[0]); i++)
			if (bindings[i].legend && n < sizeof(legend))
				n += (size_t)snprintf(legend + n, sizeof(legend) - n, "%s%s", n ? "  " : "",
				                      bindings[i].legend);
	}
	return legend;
}

static void prompt_key(struct kxtop_ui *u, int ch)
{
	struct kxtop_prompt *p = &u->prompt;

	if (p->one_key || ch == '\n' || ch == '\r' || ch == KEY_ENTER) {
		char text[sizeof(p->buf)];
		void (*done)(struct kxtop_ui *, const char *) = p->done;

		if (p->one_key) {
			text[0] = ch > 0 && ch < 128 ? (char)ch : 0;
			text[1] = 0;
		} else {
			memcpy(text, p->buf, sizeof(text));
		}
		p->label = NULL;
		done(u, text);
		return;
	}
	if (ch == KEY_ESC) {
		p->label = NULL;
		ui__msg(u, "cancelled");
	} else if ((ch == KEY_BACKSPACE || ch == 127 || ch == 8) && p->len) {
		p->buf[--p->len] = 0;
	} else if (ch >= ' ' && ch < 127 && p->len + 1 < sizeof(p->buf)) {
		p->buf[p->len++] = (char)ch;
		p->buf[p->len] = 0;
	}
}

void ui_keys__key(struct kxtop_ui *u, int ch)
{
	if (u->prompt.label && ch != KEY_RESIZE) {
		prompt_key(u, ch);
		return;
	}
	for (size_t i = 0; i < sizeof(bindings) / sizeof(bindings[0]); i++)
		if (bindings[i].key == ch) {
			bindings[i].fn(u);
			return;
		}
}
