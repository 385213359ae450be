/* Batch mode (-b): xentop's plain-text iterations on stdout, a documented format scripts may parse. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kxtop.h"

struct sub_ctx { FILE *f; };

static void put_line(const char *line, void *arg)
{
	fprintf(((struct sub_ctx *)arg)->f, "%s\n", line);
}

void batch__print(FILE *f, const struct kxtop_opts *o, const struct kxtop_sample *s)
{
	const struct kxtop_dom **rows = s->n ? calloc(s->n, sizeof(*rows)) : NULL;
	char l1[160], l2[160], l3[160], row[1024];
	struct sub_ctx ctx = { f };
	unsigned n = 0;

	view__summary(s, l1, l2, l3);
	fprintf(f, "%s\n%s\n%s\n\n", l1, l2, l3);
	view__row(o, NULL, row, sizeof(row));
	fprintf(f, "%s\n", row);
	if (s->n && !rows) {
		fprintf(f, "kxtop: out of memory for %u rows\n", s->n);
		return;
	}
	if (rows)
		n = view__rows(o, s, rows);
	for (unsigned i = 0; i < n; i++) {
		view__row(o, rows[i], row, sizeof(row));
		fprintf(f, "%s\n", row);
		view__subrows(o, rows[i], put_line, &ctx);
	}
	free(rows);
}

static void sleep_until(uint64_t mono_ns)
{
	uint64_t now = sample__now_mono();

	if (mono_ns <= now)
		return;
	struct timespec ts = { .tv_sec = (time_t)((mono_ns - now) / 1000000000ull),
	                       .tv_nsec = (long)((mono_ns - now) % 1000000000ull) };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

int batch__run(const struct kxtop_opts *o)
{
	struct kxtop_sample a = { 0 }, b = { 0 }, *cur = &a, *prev = &b;
	bool have_prev = false, any_ok = false;
	uint64_t period = (uint64_t)(o->delay_s * 1e9), next = sample__now_mono();
	kxctrl *h = NULL;
	int rc;

	for (long it = 0; !o->iterations || it < o->iterations; it++) {
		if (it)
			sleep_until(next);
		next += period;
		if (!h && (rc = kxctrl_open(o->socket, &h)) < 0) {
			fprintf(stderr, "kxtop: cannot reach kxen-hv at %s: %s; retrying every %.1f s\n",
			        kxctrl_socket_path(o->socket), strerror(-rc), o->delay_s);
			have_prev = false;
			continue;
		}
		if ((rc = sample__fetch(h, cur, o->vcpus)) < 0) {
			fprintf(stderr, "kxtop: lost kxen-hv at %s: %s; retrying every %.1f s\n",
			        kxctrl_socket_path(o->socket), strerror(-rc), o->delay_s);
			kxctrl_close(h);
			h = NULL;
			have_prev = false;
			continue;
		}
		sample__derive(cur, have_prev ? prev : NULL);
		batch__print(stdout, o, cur);
		if (fflush(stdout) == EOF || ferror(stdout))
			break;   /* the reader went away (a closed pipe): nothing left to do */
		any_ok = true;
		have_prev = true;
		struct kxtop_sample *t = prev;
		prev = cur;
		cur = t;
	}
	sample__free(&a);
	sample__free(&b);
	if (h)
		kxctrl_close(h);
	return any_ok ? 0 : 1;
}
