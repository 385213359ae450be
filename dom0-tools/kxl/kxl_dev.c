/* Generic xenbus device plumbing for the toolstack: frontend and backend directories as libxl writes them, the close sequence, listing. */
#include <config.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <xenstore.h>
#include <xen/io/xenbus.h>
#include <xen/io/xs_wire.h>
#include "kxl.h"
#include "kxl_dev.h"
#include "kxl_xs.h"

static void fe_dir(char *buf, size_t len, const char *type, uint32_t domid, unsigned devid)
{
	snprintf(buf, len, "/local/domain/%u/device/%s/%u", domid, type, devid);
}

static void be_dir(char *buf, size_t len, uint32_t bdom, const char *type, uint32_t domid,
                   unsigned devid)
{
	snprintf(buf, len, "/local/domain/%u/backend/%s/%u/%u", bdom, type, domid, devid);
}

static bool exists(struct xs_handle *xs, xs_transaction_t t, const char *path)
{
	unsigned len;
	char *v = xs_read(xs, t, path, &len);

	free(v);
	return v != NULL;
}

/* Writes dir/key = val under t. */
static void put(struct kxl_xsb *b, uint32_t t, const char *dir, const char *key, const char *val)
{
	char p[320];

	snprintf(p, sizeof(p), "%s/%s", dir, key);
	kxl_xsb_writef(b, t, p, "%s", val);
}

/*
 * One attempt under t (kxl_xsb_txn): a round trip reads whether either
 * directory exists (inside the transaction, so a racing add conflicts),
 * then both directories are queued for the commit.
 */
static int add_queue(struct kxl_xsb *b, uint32_t t, void *arg, char *failed, size_t flen)
{
	const struct kxl_dev *d = arg;
	/* libxl__device_generic_add: the frontend is the guest's, the backend the backend domain's. */
	struct xs_permissions fe_perm[2] = { { d->domid, XS_PERM_NONE }, { d->backend_domid, XS_PERM_READ } };
	struct xs_permissions be_perm[2] = { { d->backend_domid, XS_PERM_NONE }, { d->domid, XS_PERM_READ } };
	char fe[160], be[160], num[16];

	fe_dir(fe, sizeof(fe), d->type, d->domid, d->devid);
	be_dir(be, sizeof(be), d->backend_domid, d->type, d->domid, d->devid);
	kxl_xsb_add(b, XS_READ, t, fe, strlen(fe) + 1, NULL, 0);
	kxl_xsb_add(b, XS_READ, t, be, strlen(be) + 1, NULL, 0);
	kxl_xsb_run(b);
	if (b->err) {
		snprintf(failed, flen, "read %s", fe);
		return b->err;
	}
	for (unsigned i = 0; i < 2; i++)
		if (b->rc[i] && b->rc[i] != -ENOENT) {
			snprintf(failed, flen, "read %s", kxl_xsb_path(b, i));
			return b->rc[i];
		}
	if (!b->rc[0] || !b->rc[1]) {
		snprintf(failed, flen, "add %s %u of domain %u: it exists already", d->type, d->devid,
		         d->domid);
		return -EEXIST;
	}
	kxl_xsb_reset(b);
	kxl_xsb_node(b, t, fe, fe_perm, 2);
	kxl_xsb_node(b, t, be, be_perm, 2);
	snprintf(num, sizeof(num), "%u", d->backend_domid);
	put(b, t, fe, "backend", be);
	put(b, t, fe, "backend-id", num);
	put(b, t, fe, "state", "1");
	for (unsigned i = 0; i < d->n_fe; i++)
		put(b, t, fe, d->fe[i].key, d->fe[i].val);
	snprintf(num, sizeof(num), "%u", d->domid);
	put(b, t, be, "frontend", fe);
	put(b, t, be, "frontend-id", num);
	put(b, t, be, "online", "1");
	put(b, t, be, "state", "1");
	for (unsigned i = 0; i < d->n_be; i++)
		put(b, t, be, d->be[i].key, d->be[i].val);
	return 0;
}

int kxl_dev_add(const struct kxl_dev *d)
{
	struct kxl_xsb_txn x = { .queue = add_queue, .arg = (void *)d };
	struct kxl_xsb b;
	char failed[400] = "";
	int rc;

	if ((rc = kxl_xsb_open(&b))) {
		kxl_err("xenstore: cannot connect to %s: %s", kxl_xs_socket_path(), strerror(-rc));
		return rc;
	}
	rc = kxl_xsb_txn(&b, &x, failed, sizeof(failed));
	if (rc && x.committed) {
		/* A refused write after a commit that kept the rest: both directories were new, so they go. */
		char fe[160], be[160];

		fe_dir(fe, sizeof(fe), d->type, d->domid, d->devid);
		be_dir(be, sizeof(be), d->backend_domid, d->type, d->domid, d->devid);
		kxl_xsb_reset(&b);
		kxl_xsb_add(&b, XS_RM, 0, fe, strlen(fe) + 1, NULL, 0);
		kxl_xsb_add(&b, XS_RM, 0, be, strlen(be) + 1, NULL, 0);
		kxl_xsb_run(&b);
	}
	kxl_xsb_close(&b);
	if (rc == -EEXIST)
		kxl_err("xenstore: cannot %s", failed);
	else if (rc)
		kxl_err("xenstore: cannot %s: %s", failed, strerror(-rc));
	return rc;
}

int kxl_dev_open_dom(const char *dom, const char *what, uint32_t *domid, struct xs_handle **xs)
{
	kxctrl *h = NULL;
	int rc;

	*xs = NULL;
	if ((rc = kxl_connect(&h)) || (rc = kxl_lookup(h, dom, domid)))
		goto out;
	if (*domid == 0) {
		kxl_err("domain 0 is the host: %s are for guests", what);
		rc = -EINVAL;
		goto out;
	}
	*xs = kxl_xs_open();
	rc = *xs ? 0 : -ENOTCONN;
out:
	kxctrl_close(h);
	return rc;
}

int kxl_dev_wait_backend(struct xs_handle *xs, const char *type, uint32_t domid, unsigned devid,
                         unsigned timeout_ms, char *err, size_t errlen)
{
	for (unsigned waited = 0; waited < timeout_ms; waited += 20) {
		char st[16];

		if (kxl_dev_read(xs, type, domid, devid, false, "hotplug-error", err, errlen) == 0)
			return -EIO;
		if (kxl_dev_read(xs, type, domid, devid, false, "state", st, sizeof(st)) == 0 &&
		    atoi(st) >= XenbusStateInitWait && atoi(st) <= XenbusStateConnected)
			return 0;
		poll(NULL, 0, 20);
	}
	return -ETIMEDOUT;
}

static int read_state(struct xs_handle *xs, const char *dir)
{
	char p[200], *v, *end;
	unsigned len;
	long s;

	snprintf(p, sizeof(p), "%s/state", dir);
	v = xs_read(xs, XBT_NULL, p, &len);
	if (!v)
		return -1;
	s = strtol(v, &end, 10);
	if (end == v || *end)
		s = -1;
	free(v);
	return (int)s;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/*
 * Waits for the backend state to reach Closed (or the directory to go),
 * woken by a watch on it; a 100 ms poll timeout is the safety net.
 */
static int wait_closed(struct xs_handle *xs, const char *be, unsigned timeout_s)
{
	uint64_t deadline = now_ms() + (uint64_t)timeout_s * 1000;
	char token[64];
	int rc = -ETIMEDOUT;

	snprintf(token, sizeof(token), "kxl-dev-%d", (int)getpid());
	xs_watch(xs, be, token);
	for (;;) {
		int st = read_state(xs, be);
		struct pollfd pfd = { .fd = xs_fileno(xs), .events = POLLIN };
		char **vec;

		if (st < 0 || st == XenbusStateClosed) {
			rc = 0;
			break;
		}
		if (now_ms() >= deadline)
			break;
		if (poll(&pfd, 1, 100) > 0)
			while ((vec = xs_check_watch(xs)))
				free(vec);
	}
	xs_unwatch(xs, be, token);
	return rc;
}

/*
 * libxl__initiate_device_generic_remove: online=0 and, unless the backend
 * is Closed already, Closing, in one transaction that read its state. A
 * backend that closes by itself meanwhile (it does at once for a frontend
 * that never started) makes the commit retry rather than be overwritten
 * with a Closing it would never answer.
 */
static int close_queue(struct kxl_xsb *b, uint32_t t, void *arg, char *failed, size_t flen)
{
	const char *be = arg;
	char p[200];
	int st = -1;

	snprintf(p, sizeof(p), "%s/state", be);
	kxl_xsb_add(b, XS_READ, t, p, strlen(p) + 1, NULL, 0);
	kxl_xsb_run(b);
	if (b->err) {
		snprintf(failed, flen, "read %s", p);
		return b->err;
	}
	if (b->rc[0] == 0)
		st = atoi(b->reply);
	kxl_xsb_reset(b);
	snprintf(p, sizeof(p), "%s/online", be);
	kxl_xsb_writef(b, t, p, "0");
	if (st >= 0 && st != XenbusStateClosed) {
		snprintf(p, sizeof(p), "%s/state", be);
		kxl_xsb_writef(b, t, p, "%d", XenbusStateClosing);
	}
	return 0;
}

static int close_backend(const char *be)
{
	struct kxl_xsb_txn x = { .queue = close_queue, .arg = (void *)be };
	struct kxl_xsb b;
	char failed[320] = "";
	int rc;

	if ((rc = kxl_xsb_open(&b)) == 0)
		rc = kxl_xsb_txn(&b, &x, failed, sizeof(failed));
	else
		snprintf(failed, sizeof(failed), "connect to %s", kxl_xs_socket_path());
	kxl_xsb_close(&b);
	if (rc)
		kxl_err("xenstore: cannot %s: %s", failed, strerror(-rc));
	return rc;
}

int kxl_dev_remove(struct xs_handle *xs, const char *type, uint32_t domid, unsigned devid,
                   unsigned timeout_s, bool force)
{
	char fe[160], be[160], p[200], bdom_s[16];
	unsigned long bdom = 0;
	int rc;

	fe_dir(fe, sizeof(fe), type, domid, devid);
	if (kxl_dev_read(xs, type, domid, devid, true, "backend-id", bdom_s, sizeof(bdom_s)) == 0)
		bdom = strtoul(bdom_s, NULL, 10);
	be_dir(be, sizeof(be), (uint32_t)bdom, type, domid, devid);
	if (!exists(xs, XBT_NULL, fe) && !exists(xs, XBT_NULL, be)) {
		kxl_err("domain %u has no %s device %u", domid, type, devid);
		return -ENODEV;
	}
	if ((rc = close_backend(be)))
		return rc;
	rc = wait_closed(xs, be, timeout_s);
	if (rc) {
		if (!force) {
			kxl_err("%s %u of domain %u did not close within %u s (backend state %d, frontend "
			        "state %d); use -f to remove it anyway", type, devid, domid, timeout_s,
			        read_state(xs, be), read_state(xs, fe));
			return rc;
		}
		fprintf(stderr, "kxl: warning: %s %u of domain %u did not close within %u s; "
		        "removing it anyway (-f)\n", type, devid, domid, timeout_s);
	}
	xs_rm(xs, XBT_NULL, fe);
	xs_rm(xs, XBT_NULL, be);
	/* An empty per-domain backend directory goes too, as libxl leaves none behind. */
	snprintf(p, sizeof(p), "/local/domain/%lu/backend/%s/%u", bdom, type, domid);
	{
		unsigned n = 0;
		char **l = xs_directory(xs, XBT_NULL, p, &n);

		if (l && n == 0)
			xs_rm(xs, XBT_NULL, p);
		free(l);
	}
	return 0;
}

void kxl_dev_discard(struct xs_handle *xs, const char *type, uint32_t domid, unsigned devid)
{
	char fe[160], be[160], bdom_s[16];
	unsigned long bdom = 0;

	fe_dir(fe, sizeof(fe), type, domid, devid);
	if (kxl_dev_read(xs, type, domid, devid, true, "backend-id", bdom_s, sizeof(bdom_s)) == 0)
		bdom = strtoul(bdom_s, NULL, 10);
	be_dir(be, sizeof(be), (uint32_t)bdom, type, domid, devid);
	xs_rm(xs, XBT_NULL, fe);
	xs_rm(xs, XBT_NULL, be);
}

int kxl_dev_read(struct xs_handle *xs, const char *type, uint32_t domid, unsigned devid, bool fe,
                 const char *key, char *buf, size_t len)
{
	char dir[160], p[224], *v;
	unsigned got;

	if (fe) {
		fe_dir(dir, sizeof(dir), type, domid, devid);
	} else {
		char bpath[160];
		/* The frontend names its backend; fall back to dom0's standard place. */
		if (kxl_dev_read(xs, type, domid, devid, true, "backend", bpath, sizeof(bpath)) == 0 &&
		    !strncmp(bpath, "/local/domain/", 14))
			snprintf(dir, sizeof(dir), "%s", bpath);
		else
			be_dir(dir, sizeof(dir), 0, type, domid, devid);
	}
	snprintf(p, sizeof(p), "%s/%s", dir, key);
	v = xs_read(xs, XBT_NULL, p, &got);
	if (!v)
		return -errno;
	snprintf(buf, len, "%.*s", (int)got, v);
	free(v);
	return 0;
}

static int cmp_info(const void *a, const void *b)
{
	const struct kxl_dev_info *x = a, *y = b;

	return x->devid < y->devid ? -1 : x->devid > y->devid;
}

int kxl_dev_list(struct xs_handle *xs, const char *type, uint32_t domid, struct kxl_dev_info **out,
                 unsigned *n)
{
	char dir[128];
	unsigned cnt = 0, k = 0;
	char **ents;
	struct kxl_dev_info *v;

	*out = NULL;
	*n = 0;
	snprintf(dir, sizeof(dir), "/local/domain/%u/device/%s", domid, type);
	ents = xs_directory(xs, XBT_NULL, dir, &cnt);
	if (!ents)
		return errno == ENOENT ? 0 : -errno;
	v = calloc(cnt ? cnt : 1, sizeof(*v));
	if (!v) {
		free(ents);
		return -ENOMEM;
	}
	for (unsigned i = 0; i < cnt; i++) {
		struct kxl_dev_info *d = &v[k];
		char *end, fe[160], buf[16];
		unsigned long id = strtoul(ents[i], &end, 10);

		if (end == ents[i] || *end)
			continue;
		d->devid = (unsigned)id;
		fe_dir(fe, sizeof(fe), type, domid, d->devid);
		d->fe_state = read_state(xs, fe);
		if (kxl_dev_read(xs, type, domid, d->devid, true, "backend-id", buf, sizeof(buf)))
			snprintf(buf, sizeof(buf), "0");
		d->backend_domid = (uint32_t)strtoul(buf, NULL, 10);
		if (kxl_dev_read(xs, type, domid, d->devid, true, "backend", d->be_path,
		                 sizeof(d->be_path)))
			snprintf(d->be_path, sizeof(d->be_path), "-");
		d->be_state = strcmp(d->be_path, "-") ? read_state(xs, d->be_path) : -1;
		if (kxl_dev_read(xs, type, domid, d->devid, true, "event-channel", d->evtchn,
		                 sizeof(d->evtchn)))
			snprintf(d->evtchn, sizeof(d->evtchn), "-");
		if (kxl_dev_read(xs, type, domid, d->devid, true, "ring-ref", d->ring_ref,
		                 sizeof(d->ring_ref)) &&
		    kxl_dev_read(xs, type, domid, d->devid, true, "ring-ref0", d->ring_ref,
		                 sizeof(d->ring_ref)) &&
		    kxl_dev_read(xs, type, domid, d->devid, true, "tx-ring-ref", d->ring_ref,
		                 sizeof(d->ring_ref)))
			snprintf(d->ring_ref, sizeof(d->ring_ref), "-");
		k++;
	}
	free(ents);
	qsort(v, k, sizeof(*v), cmp_info);
	*out = v;
	*n = k;
	return 0;
}
