/* xenbus watches: registration, the event queue and the xenwatch thread that runs callbacks. */
#include "xenbus_priv.h"
#include "console.h"
#include "kstring.h"
#include "mm.h"
#include "clock.h"
#include "events.h"
#include "sched.h"

struct xb_watch {
	struct xb_watch *next;
	char *path, *token;          /* one allocation: path\0token\0 */
	xenbus_watch_fn fn;
	void *arg;
	bool dead;                   /* unwatched while its callback ran: xenwatch frees it */
};

struct xb_event {
	struct xb_event *next;
	size_t len;
	char body[];                 /* path\0token\0, NUL at body[len] */
};

/*
 * A daemon firing events faster than callbacks run must not eat our
 * memory: past this many queued events new ones are dropped (and counted).
 */
#define MAX_QUEUED_EVENTS 256

static struct xb_watch *watches;
static struct xb_event *ev_head, *ev_tail;
static unsigned ev_count;
static uint64_t ev_dropped;
static struct waitq ev_wq;        /* an event was queued */
static struct waitq done_wq;      /* a callback returned */
static struct xb_watch *running;  /* the watch whose callback runs now */
static struct thread *xenwatch_thread;

void xb_watch_queue(const char *body, size_t len)
{
	struct xb_event *ev;

	if (ev_count >= MAX_QUEUED_EVENTS || !(ev = malloc(sizeof(*ev) + len + 1))) {
		if (!ev_dropped++)
			printk("xenbus: watch event queue full or out of memory: dropping events\n");
		return;
	}
	ev->next = NULL;
	ev->len = len;
	memcpy(ev->body, body, len);
	ev->body[len] = 0;
	if (ev_tail)
		ev_tail->next = ev;
	else
		ev_head = ev;
	ev_tail = ev;
	ev_count++;
	wake_up(&ev_wq);
}

static struct xb_watch *find_watch(const char *token)
{
	for (struct xb_watch *w = watches; w; w = w->next)
		if (strcmp(w->token, token) == 0)
			return w;
	return NULL;
}

static void unlink_watch(struct xb_watch *w)
{
	for (struct xb_watch **pp = &watches; *pp; pp = &(*pp)->next) {
		if (*pp == w) {
			*pp = w->next;
			return;
		}
	}
}

static void free_watch(struct xb_watch *w)
{
	free(w->path);
	free(w);
}

/* The "xenwatch" thread: callbacks may sleep in xenbus requests, which the reader thread must stay free to answer. */
static void xenwatch_main(void *arg)
{
	for (;;) {
		struct xb_event *ev;
		const char *path, *token;

		wait_event(&ev_wq, ev_head != NULL);
		ev = ev_head;
		ev_head = ev->next;
		if (!ev_head)
			ev_tail = NULL;
		ev_count--;
		if (xb_parse_watch_event(ev->body, ev->len, &path, &token) == 0) {
			struct xb_watch *w = find_watch(token);

			/* An event for a watch already removed is normal: the daemon may have sent it first. */
			if (w) {
				running = w;
				w->fn(path, token, w->arg);
				running = NULL;
				if (w->dead)
					free_watch(w);
				wake_up(&done_wq);
			}
		} else {
			printk("xenbus: malformed watch event of %u bytes dropped\n", (unsigned)ev->len);
		}
		free(ev);
	}
}

int xb_watch_init(void)
{
	xenwatch_thread = thread_create("xenwatch", xenwatch_main, NULL);
	return xenwatch_thread ? 0 : -XEN_ENOMEM;
}

static int watch_request(uint32_t type, const char *path, const char *token)
{
	struct xb_part parts[2] = {
		{ path, strlen(path) + 1 },
		{ token, strlen(token) + 1 },
	};

	return xb_request(type, XBT_NIL, parts, 2, NULL, NULL, 0);
}

int xenbus_watch(const char *path, const char *token, xenbus_watch_fn fn, void *arg)
{
	struct xb_watch *w = NULL;
	size_t plen, tlen;
	int rc;

	if (!path || !token || !fn || !xb_path_ok(path) || !*token ||
	    strlen(token) > XENSTORE_REL_PATH_MAX)
		return -XEN_EINVAL;
	if (find_watch(token))
		return -XEN_EEXIST;
	plen = strlen(path);
	tlen = strlen(token);
	w = calloc(1, sizeof(*w));
	if (!w || !(w->path = malloc(plen + tlen + 2))) {
		free(w);
		return -XEN_ENOMEM;
	}
	memcpy(w->path, path, plen + 1);
	w->token = w->path + plen + 1;
	memcpy(w->token, token, tlen + 1);
	w->fn = fn;
	w->arg = arg;
	/* Listed first: Xen fires a new watch at once, possibly before its reply reaches us. */
	w->next = watches;
	watches = w;
	rc = watch_request(XS_WATCH, w->path, w->token);
	if (rc) {
		unlink_watch(w);
		if (running == w)
			w->dead = true;
		else
			free_watch(w);
	}
	return rc;
}

int xenbus_unwatch(const char *token)
{
	struct xb_watch *w;
	int rc;

	if (!token || !(w = find_watch(token)))
		return -XEN_ENOENT;
	/* Unlisted first: events arriving from now on find no watch and are dropped. */
	unlink_watch(w);
	rc = watch_request(XS_UNWATCH, w->path, w->token);
	if (current_thread() == xenwatch_thread && running == w) {
		w->dead = true;
		return rc;
	}
	/* Never touch the callback's arg after returning: wait out a run in progress. */
	while (running == w)
		wait_event(&done_wq, running != w);
	free_watch(w);
	return rc;
}
