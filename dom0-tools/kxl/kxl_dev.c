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
#include "kxl.h"
#include "kxl_dev.h"
#include "kxl_xs.h"

#define TXN_RETRIES 16

static void fe_dir(char *buf, size_t len, const char *type, uint32_t domid, unsigned devid)
{
	snprintf(buf, len, "/local/domain/%u/device/%s/%u", domid, type, devid);
}

static void be_dir(char *buf, size_t len, uint32_t bdom, const char *type, uint32_t domid,
                   unsigned devid)
{
	snprintf(buf, len, "/local/domain/%u/backend/%s/%u/%u", bdom, type, domid, devid);
}

static bool wr(struct xs_handle *xs, xs_transaction_t t, const char *dir, const char *key,
               const char *val, char *failed, size_t flen)
{
	char p[320];

	snprintf(p, sizeof(p), "%s/%s", dir, key);
	if (xs_write(xs, t, p, val, (unsigned)strlen(val)))
		return true;
	snprintf(failed, flen, "write %s", p);
	return false;
}

static bool exists(struct xs_handle *xs, xs_transaction_t t, const char *path)
{
	unsigned len;
	char *v = xs_read(xs, t, path, &len);

	free(v);
	return v != NULL;
}

/* One attempt inside transaction t; false with *failed set (errno kept) on error. */
static bool add_txn(struct xs_handle *xs, xs_transaction_t t, const struct kxl_dev *d,
                    char *failed, size_t flen)
{
	/* libxl__device_generic_add: the frontend is the guest's, the backend the backend domain's. */
	struct xs_permissions fe_perm[2] = { { d->domid, XS_PERM_NONE }, { d->backend_domid, XS_PERM_READ } };
	struct xs_permissions be_perm[2] = { { d->backend_domid, XS_PERM_NONE }, { d->domid, XS_PERM_READ } };
	char fe[160], be[160], num[16];

	fe_dir(fe, sizeof(fe), d->type, d->domid, d->devid);
	be_dir(be, sizeof(be), d->backend_domid, d->type, d->domid, d->devid);
	if (exists(xs, t, fe) || exists(xs, t, be)) {
		snprintf(failed, flen, "add %s %u of domain %u: it exists already", d->type, d->devid,
		         d->domid);
		errno = EEXIST;
		return false;
	}
	if (!xs_mkdir(xs, t, fe) || !xs_set_permissions(xs, t, fe, fe_perm, 2)) {
		snprintf(failed, flen, "create %s", fe);
		return false;
	}
	if (!xs_mkdir(xs, t, be) || !xs_set_permissions(xs, t, be, be_perm, 2)) {
		snprintf(failed, flen, "create %s", be);
		return false;
	}
	snprintf(num, sizeof(num), "%u", d->backend_domid);
	if (!wr(xs, t, fe, "backend", be, failed, flen) ||
	    !wr(xs, t, fe, "backend-id", num, failed, flen) ||
	    !wr(xs, t, fe, "state", "1", failed, flen))
		return false;
	for (unsigned i = 0; i < d->n_fe; i++)
		if (!wr(xs, t, fe, d->fe[i].key, d->fe[i].val, failed, flen))
			return false;
	snprintf(num, sizeof(num), "%u", d->domid);
	if (!wr(xs, t, be, "frontend", fe, failed, flen) ||
	    !wr(xs, t, be, "frontend-id", num, failed, flen) ||
	    !wr(xs, t, be, "online", "1", failed, flen) ||
	    !wr(xs, t, be, "state", "1", failed, flen))
		return false;
	for (unsigned i = 0; i < d->n_be; i++)
		if (!wr(xs, t, be, d->be[i].key, d->be[i].val, failed, flen))
			return false;
	return true;
}

int kxl_dev_add(struct xs_handle *xs, const struct kxl_dev *d)
{
	char failed[400] = "";
	int rc;

	for (unsigned tries = 0;; tries++) {
		xs_transaction_t t = xs_transaction_start(xs);
		bool ok;
		int saved;

		if (t == XBT_NULL) {
			snprintf(failed, sizeof(failed), "start a transaction");
			goto fail;
		}
		ok = add_txn(xs, t, d, failed, sizeof(failed));
		saved = errno;
		if (xs_transaction_end(xs, t, !ok)) {
			if (ok)
				return 0;
			errno = saved;
			goto fail;
		}
		if (!ok) {
			errno = saved;
			goto fail;
		}
		if (errno != EAGAIN || tries >= TXN_RETRIES) {
			snprintf(failed, sizeof(failed), "commit the transaction");
			goto fail;
		}
	}
fail:
	rc = errno ? -errno : -EIO;
	if (rc == -EEXIST)
		kxl_err("xenstore: cannot %s", failed);
	else
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
	/* libxl__initiate_device_generic_remove: online=0 and Closing, then wait for Closed. */
	snprintf(p, sizeof(p), "%s/online", be);
	xs_write(xs, XBT_NULL, p, "0", 1);
	if (read_state(xs, be) != XenbusStateClosed) {
		snprintf(p, sizeof(p), "%s/state", be);
		xs_write(xs, XBT_NULL, p, "5", 1);
	}
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
