/* The interactive monitor: sampling on a timer, drawing only the visible rows, resize and lost-daemon handling. */
#define _GNU_SOURCE
#include <curses.h>
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kxtop.h"

#define MIN_COLS 40
#define MIN_LINES 8
#define FIRST_ROW_LINE 5     /* summary (3), status (1), header (1) */

void ui__msg(struct kxtop_ui *u, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(u->msg, sizeof(u->msg), fmt, ap);
	va_end(ap);
}

const struct kxtop_dom *ui__selected(const struct kxtop_ui *u)
{
	return u->sel < u->nrows ? u->rows[u->sel] : NULL;
}

void ui__relayout(struct kxtop_ui *u)
{
	const struct kxtop_sample *s = u->cur;

	if (!u->have_data) {
		u->nrows = 0;
		return;
	}
	if (s->n > u->rows_cap) {
		const struct kxtop_dom **r = realloc(u->rows, s->n * sizeof(*r));

		if (!r) {
			ui__msg(u, "out of memory for %u rows", s->n);
			u->nrows = 0;
			return;
		}
		u->rows = r;
		u->rows_cap = s->n;
	}
	u->nrows = s->n ? view__rows(u->o, s, u->rows) : 0;
	/* Follow the selected domain; if it is gone, stay at the same place. */
	for (unsigned i = 0; i < u->nrows; i++)
		if (u->rows[i]->info.domid == u->sel_domid && u->rows[i]->info.created_ns == u->sel_created) {
			u->sel = i;
			break;
		}
	if (u->sel >= u->nrows)
		u->sel = u->nrows ? u->nrows - 1 : 0;
	if (u->nrows) {
		u->sel_domid = u->rows[u->sel]->info.domid;
		u->sel_created = u->rows[u->sel]->info.created_ns;
	}
}

void ui__sample(struct kxtop_ui *u)
{
	struct kxtop_sample *next = u->cur == &u->smp[0] ? &u->smp[1] : &u->smp[0];
	int rc;

	if (!u->h && (rc = kxctrl_open(u->o->socket, &u->h)) < 0)
		goto out;
	if ((rc = sample__fetch(u->h, next, u->o->vcpus)) < 0) {
		kxctrl_close(u->h);
		u->h = NULL;
		goto out;
	}
	sample__derive(next, u->have_data ? u->cur : NULL);
	u->prev = u->cur;
	u->cur = next;
	u->have_data = true;
	u->err[0] = 0;
	ui__relayout(u);
	return;
out:
	snprintf(u->err, sizeof(u->err), "kxen-hv unreachable at %s: %s; retrying every %.1f s",
	         kxctrl_socket_path(u->o->socket), strerror(-rc), u->o->delay_s);
	/* Old figures would lie: show nothing until the daemon answers again. */
	u->have_data = false;
	sample__free(u->cur);
	u->nrows = 0;
}

/* Draws at most maxw characters of s at (y, x), ignoring what falls off screen. */
static void put(int y, int x, const char *s, int maxw)
{
	if (y < 0 || y >= LINES || x >= COLS || maxw <= 0)
		return;
	mvaddnstr(y, x, s, maxw < COLS - x ? maxw : COLS - x);
}

static void draw_header(const struct kxtop_ui *u, int y)
{
	char buf[64];
	int x = 0;

	attron(A_BOLD);
	for (unsigned c = 0; c < kxtop_nr_cols && x < COLS; c++) {
		if (!view__col_shown(u->o, c))
			continue;
		if (x) {
			put(y, x, " ", 1);
			x++;
		}
		int n = columns__header(&kxtop_cols[c], buf, sizeof(buf));
		if (c == u->o->sort_col)
			attron(A_REVERSE);
		put(y, x, buf, n);
		if (c == u->o->sort_col)
			attroff(A_REVERSE);
		x += n;
	}
	attroff(A_BOLD);
}

struct sub_draw { int *y; int last; };

static void draw_sub(const char *line, void *arg)
{
	struct sub_draw *sd = arg;

	if (*sd->y <= sd->last)
		put((*sd->y)++, 0, line, COLS);
}

static void count_sub(const char *line, void *arg)
{
	++*(int *)arg;
}

/* Screen lines one domain takes (its row, its sub-rows, a repeated header). */
static int dom_lines(const struct kxtop_ui *u, const struct kxtop_dom *d)
{
	int n = 1 + (u->o->repeat_header ? 1 : 0);

	if (u->o->vcpus || u->o->networks || u->o->vbds)
		view__subrows(u->o, d, count_sub, &n);
	return n;
}

/* Moves top so that the selected row is on screen. */
static void scroll_to_sel(struct kxtop_ui *u, int last)
{
	if (u->sel < u->top)
		u->top = u->sel;
	for (;;) {
		int y = FIRST_ROW_LINE;

		for (unsigned i = u->top; i < u->sel && y <= last; i++)
			y += dom_lines(u, u->rows[i]);
		if (y + dom_lines(u, u->rows[u->sel]) - 1 <= last || u->top == u->sel)
			break;
		u->top++;
	}
}

static void draw_bottom(const struct kxtop_ui *u)
{
	int y = LINES - 1;

	move(y, 0);
	clrtoeol();
	if (u->prompt.label) {
		char line[256];

		snprintf(line, sizeof(line), "%s%s", u->prompt.label, u->prompt.buf);
		attron(A_BOLD);
		put(y, 0, line, COLS);
		attroff(A_BOLD);
		return;
	}
	put(y, 0, ui_keys__legend(), COLS);
}

static void draw(struct kxtop_ui *u)
{
	char l1[160], l2[160], l3[160], line[1024];
	int last = LINES - 2;

	/* After a resize or Ctrl-L, clear() repaints every cell; otherwise curses sends only changes. */
	if (u->redraw_all) {
		clear();
		u->redraw_all = false;
	} else {
		erase();
	}
	if (COLS < MIN_COLS || LINES < MIN_LINES) {
		snprintf(line, sizeof(line), "kxtop: terminal too small (%dx%d); need at least %dx%d",
		         COLS, LINES, MIN_COLS, MIN_LINES);
		/* Wrap by hand so the whole message shows even on a tiny screen. */
		for (int y = 0, off = 0; y < LINES && line[off]; y++, off += COLS)
			put(y, 0, line + off, COLS);
		refresh();
		return;
	}
	if (u->err[0]) {
		attron(A_BOLD);
		put(0, 0, u->err, COLS);
		attroff(A_BOLD);
	} else if (u->have_data) {
		view__summary(u->cur, l1, l2, l3);
		put(0, 0, l1, COLS);
		put(1, 0, l2, COLS);
		put(2, 0, l3, COLS);
	}
	/* Strings sort ascending and numbers descending unless reversed (columns__sort). */
	bool asc = (kxtop_cols[u->o->sort_col].kind == KIND_STR) != u->o->sort_reverse;

	snprintf(line, sizeof(line), "Sort: %s %s  Filter: %s  Delay: %.1fs  Shown: %u  %s",
	         kxtop_cols[u->o->sort_col].header, asc ? "asc" : "desc",
	         u->o->filter[0] ? u->o->filter : "(none)", u->o->delay_s, u->nrows, u->msg);
	put(3, 0, line, COLS);
	draw_header(u, 4);

	if (u->nrows) {
		scroll_to_sel(u, last);
		int y = FIRST_ROW_LINE;
		struct sub_draw sd = { &y, last };

		/* Only the rows that fit are formatted: the cost follows the screen, not the domain count. */
		for (unsigned i = u->top; i < u->nrows && y <= last; i++) {
			if (u->o->repeat_header && i != u->top)
				draw_header(u, y++);
			if (y > last)
				break;
			view__row(u->o, u->rows[i], line, sizeof(line));
			if (i == u->sel)
				attron(A_REVERSE);
			put(y++, 0, line, COLS);
			if (i == u->sel)
				attroff(A_REVERSE);
			view__subrows(u->o, u->rows[i], draw_sub, &sd);
		}
	} else if (u->have_data) {
		put(FIRST_ROW_LINE, 0, u->cur->n ? "(no domain matches the filter)" : "(no domains)", COLS);
	}
	draw_bottom(u);
	refresh();
}

static void ui_free(struct kxtop_ui *u)
{
	sample__free(&u->smp[0]);
	sample__free(&u->smp[1]);
	free(u->rows);
	if (u->h)
		kxctrl_close(u->h);
}

int ui__run(struct kxtop_opts *o)
{
	struct kxtop_ui u = { .o = o };

	u.cur = &u.smp[0];
	u.prev = &u.smp[1];
	if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
		fprintf(stderr, "kxtop: the interactive monitor needs a terminal; use -b for batch output\n");
		return 2;
	}
	if (!initscr()) {
		fprintf(stderr, "kxtop: cannot initialise the terminal (TERM=%s)\n", getenv("TERM") ?: "");
		return 2;
	}
	cbreak();
	noecho();
	nonl();
	keypad(stdscr, TRUE);
	nodelay(stdscr, TRUE);
	curs_set(0);
	set_escdelay(25);

	u.next_ns = sample__now_mono();
	while (!u.quit) {
		uint64_t now = sample__now_mono();
		int ch;

		if (now >= u.next_ns) {
			ui__sample(&u);
			u.next_ns = now + (uint64_t)(o->delay_s * 1e9);
		}
		draw(&u);
		now = sample__now_mono();
		int ms = u.next_ns > now ? (int)((u.next_ns - now + 999999) / 1000000) : 0;
		struct pollfd pfd = { .fd = STDIN_FILENO, .events = POLLIN };
		/* A resize interrupts poll (EINTR) and then reads as KEY_RESIZE. */
		if (poll(&pfd, 1, ms) < 0 && errno != EINTR)
			break;
		if (pfd.revents & (POLLHUP | POLLERR))
			break;   /* the terminal is gone */
		while (!u.quit && (ch = getch()) != ERR)
			ui_keys__key(&u, ch);
	}
	endwin();
	ui_free(&u);
	return 0;
}
