/* The toolstack's xenstore side: a domain's standard paths, its introduction to kxenstored, their removal. */
#include <config.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <xenstore.h>
#include <xen/io/xs_wire.h>
#include "kxl.h"
#include "kxl_xs.h"
#include "kxen/kxconfig.h"

#define XS_DEFAULT_SOCKET "/run/xenstored/socket"
#define XS_TXN_RETRIES 16

const char *kxl_xs_socket_path(void)
{
	const char *p = getenv("XENSTORED_PATH");
	return p && *p ? p : XS_DEFAULT_SOCKET;
}

struct xs_handle *kxl_xs_open(void)
{
	/* Socket only: falling back to /dev/xen/xenbus would only add a confusing second error. */
	struct xs_handle *xs = xs_open(XS_OPEN_SOCKETONLY);

	if (!xs)
		kxl_err("cannot connect to xenstore at %s: %s\n"
		        "  is kxenstored running? start it as root with: kxenstored\n"
		        "  (or point XENSTORED_PATH at the socket of the one you run)",
		        kxl_xs_socket_path(), strerror(errno));
	return xs;
}

/* The writes of one transaction, queued in a batch (kxl_xsbatch.c); failures show when it runs. */
struct xs_txn {
	struct kxl_xsb *b;
	uint32_t t;
};

static void txn_write(struct xs_txn *x, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void txn_write(struct xs_txn *x, const char *path, const char *fmt, ...)
{
	char val[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(val, sizeof(val), fmt, ap);
	va_end(ap);
	kxl_xsb_add(x->b, XS_WRITE, x->t, path, strlen(path) + 1, val, strlen(val));
}

static void txn_perms(struct xs_txn *x, const char *path, struct xs_permissions *p, unsigned n)
{
	static const char letter[] = { [XS_PERM_NONE] = 'n', [XS_PERM_READ] = 'r',
	                               [XS_PERM_WRITE] = 'w', [XS_PERM_READ | XS_PERM_WRITE] = 'b' };
	char perms[64 * 2];
	size_t len = 0;

	/* The wire form libxenstore sends: each permission as a NUL-terminated string ("n0", "r4"). */
	for (unsigned i = 0; i < n && len + 16 < sizeof(perms); i++)
		len += (size_t)snprintf(perms + len, sizeof(perms) - len, "%c%u",
		                        letter[p[i].perms & (XS_PERM_READ | XS_PERM_WRITE)], p[i].id) + 1;
	kxl_xsb_add(x->b, XS_SET_PERMS, x->t, path, strlen(path) + 1, perms, len);
}

/* Writes path = "" (creating it) with the given permissions. */
static void txn_node(struct xs_txn *x, const char *path, struct xs_permissions *p, unsigned n)
{
	txn_write(x, path, "%s", "");
	txn_perms(x, path, p, n);
}

/*
 * The layout and permissions follow libxl (libxl__domain_make and
 * libxl__build_post): the domain directory belongs to dom0 and the guest may
 * read it; the guest owns what it must write (control/shutdown and its
 * feature flags, data, drivers, attr, error, messages).
 */
static void write_paths(struct kxl_xsb *b, uint32_t t, const struct kxl_xs_domain *d)
{
	struct xs_permissions ro[2] = { { 0, XS_PERM_NONE }, { d->domid, XS_PERM_READ } };
	struct xs_permissions rw[1] = { { d->domid, XS_PERM_NONE } };
	struct xs_txn x = { .b = b, .t = t };
	char dom[64], vm[80], p[160], uuid[37];
	static const char *const guest_owned[] = {
		"control/shutdown", "control/feature-poweroff", "control/feature-reboot",
		"control/feature-suspend", "control/sysrq", "data", "drivers", "attr", "error",
		"messages", "feature",
	};

	kxconfig_uuid_format(d->uuid, uuid);
	snprintf(dom, sizeof(dom), "/local/domain/%u", d->domid);
	snprintf(vm, sizeof(vm), "/vm/%s", uuid);

	txn_node(&x, dom, ro, 2);
	txn_node(&x, vm, ro, 2);
#define W(sub, ...) do { snprintf(p, sizeof(p), "%s/%s", dom, sub); txn_write(&x, p, __VA_ARGS__); } while (0)
#define V(sub, ...) do { snprintf(p, sizeof(p), "%s/%s", vm, sub); txn_write(&x, p, __VA_ARGS__); } while (0)
	V("uuid", "%s", uuid);
	V("name", "%s", d->name);
	V("start_time", "%lld.%02ld", (long long)d->start_time.tv_sec,
	  d->start_time.tv_nsec / 10000000);
	W("vm", "%s", vm);
	W("name", "%s", d->name);
	W("domid", "%u", d->domid);
	W("memory/static-max", "%llu", (unsigned long long)d->mem_kib);
	W("memory/target", "%llu", (unsigned long long)d->mem_kib);
	for (unsigned i = 0; i < d->vcpus; i++) {
		char sub[32];
		snprintf(sub, sizeof(sub), "cpu/%u/availability", i);
		W(sub, "online");
	}
	W("control", "%s", "");
	W("device", "%s", "");
	for (size_t i = 0; i < sizeof(guest_owned) / sizeof(guest_owned[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", dom, guest_owned[i]);
		txn_node(&x, p, rw, 1);
	}
	W("store/ring-ref", "%llu", (unsigned long long)d->store_pfn);
	W("store/port", "%u", d->store_port);
	W("console/ring-ref", "%llu", (unsigned long long)d->console_pfn);
	W("console/port", "%u", d->console_port);
	W("console/limit", "%u", KXL_XS_CONSOLE_LIMIT);
	W("console/type", "%s", "xenconsoled");
	W("console/output", "%s", "pty");
#undef W
#undef V
}

static const char *request_name(uint32_t type)
{
	switch (type) {
	case XS_WRITE: return "write";
	case XS_SET_PERMS: return "set permissions of";
	case XS_TRANSACTION_END: return "commit the transaction of";
	default: return "introduce";
	}
}

/*
 * Two round trips: TRANSACTION_START, then every write, the commit and the
 * INTRODUCE in one batch. The introduce runs even when the commit must be
 * retried (EAGAIN): harmless, the domain is paused, and the retry leaves it out.
 * A refused write is named by its path; whatever the commit kept of the
 * batch is removed with the rest (kxl_xs_forget).
 */
int kxl_xs_introduce(const struct kxl_xs_domain *d)
{
	struct kxl_xsb b;
	char failed[320] = "";
	int r, introduced = 0;

	if ((r = kxl_xsb_open(&b))) {
		kxl_err("xenstore: cannot connect to %s: %s", kxl_xs_socket_path(), strerror(-r));
		return r;
	}
	for (unsigned tries = 0;; tries++) {
		kxl_xsb_reset(&b);
		kxl_xsb_add(&b, XS_TRANSACTION_START, 0, "", 1, NULL, 0);
		if ((r = kxl_xsb_run(&b))) {
			snprintf(failed, sizeof(failed), "start a transaction");
			goto fail;
		}
		uint32_t t = (uint32_t)strtoul(b.reply, NULL, 10);
		kxl_xsb_reset(&b);
		write_paths(&b, t, d);
		kxl_xsb_add(&b, XS_TRANSACTION_END, t, "T", 2, NULL, 0);
		unsigned end = b.n - 1;
		if (!introduced) {
			char intro[64];
			int n = snprintf(intro, sizeof(intro), "%u%c%llu%c%u", d->domid, 0,
			                 (unsigned long long)d->store_pfn, 0, d->store_port);
			kxl_xsb_add(&b, XS_INTRODUCE, 0, intro, (size_t)n + 1, NULL, 0);
		}
		r = kxl_xsb_run(&b);
		if (b.err) {
			snprintf(failed, sizeof(failed), "send the domain's paths");
			goto fail;
		}
		for (unsigned i = 0; i < b.n; i++)
			if (b.rc[i] && !(i == end && b.rc[i] == -EAGAIN)) {
				const char *what = i == end ? "transaction" : kxl_xsb_path(&b, i);
				uint32_t type = ((const struct xsd_sockmsg *)(b.buf + b.off[i]))->type;
				snprintf(failed, sizeof(failed), "%s %s", request_name(type),
				         type == XS_INTRODUCE ? "the domain" : what);
				r = b.rc[i];
				goto fail;
			}
		introduced = 1;
		if (b.rc[end] == 0)
			break;
		if (tries == XS_TXN_RETRIES) {
			snprintf(failed, sizeof(failed), "commit the transaction");
			r = -EAGAIN;
			goto fail;
		}
	}
	kxl_xsb_close(&b);
	return 0;
fail:
	kxl_err("xenstore: cannot %s (domain %u, store page 0x%llx, port %u): %s", failed, d->domid,
	        (unsigned long long)d->store_pfn, d->store_port, strerror(-r));
	kxl_xsb_close(&b);
	kxl_xs_forget(d->domid);
	return r ? r : -EIO;
}

/* Two round trips: the backend directories and the vm link, then /vm/UUID, the domain and its release. */
int kxl_xs_forget(uint32_t domid)
{
	static const char *const types[] = { "vbd", "vif", "vkbd", "console", "qdisk" };
	struct kxl_xsb b;
	char dom[64], p[96], id[16];
	int r;

	if ((r = kxl_xsb_open(&b)))
		return r;
	/* Backend directories first: the domain directory goes last, as it did before devices existed. */
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		snprintf(p, sizeof(p), "/local/domain/0/backend/%s/%u", types[i], domid);
		kxl_xsb_add(&b, XS_RM, 0, p, strlen(p) + 1, NULL, 0);
	}
	snprintf(dom, sizeof(dom), "/local/domain/%u", domid);
	snprintf(p, sizeof(p), "%s/vm", dom);
	kxl_xsb_add(&b, XS_READ, 0, p, strlen(p) + 1, NULL, 0);
	/* Quiet: any of these may be gone already (ENOENT). */
	kxl_xsb_run(&b);
	if (b.err) {
		r = b.err;
		goto out;
	}
	char *vm = b.rc[b.n - 1] ? NULL : b.reply;
	b.reply = NULL;
	kxl_xsb_reset(&b);
	/* /vm/UUID only if the domain's vm link names one: never rm a path a guest could choose. */
	if (vm && !strncmp(vm, "/vm/", 4) && !strchr(vm + 4, '/'))
		kxl_xsb_add(&b, XS_RM, 0, vm, strlen(vm) + 1, NULL, 0);
	free(vm);
	kxl_xsb_add(&b, XS_RM, 0, dom, strlen(dom) + 1, NULL, 0);
	/* kxenstored also releases dying domains itself (KXCTL_DOMAIN_EVENTS): ENOENT is fine. */
	snprintf(id, sizeof(id), "%u", domid);
	kxl_xsb_add(&b, XS_RELEASE, 0, id, strlen(id) + 1, NULL, 0);
	kxl_xsb_run(&b);
	r = b.err;
out:
	kxl_xsb_close(&b);
	return r;
}

int kxl_xs_control(struct xs_handle *xs, uint32_t domid, const char *node, const char *value)
{
	char path[96];

	snprintf(path, sizeof(path), "/local/domain/%u/control/%s", domid, node);
	if (!xs_write(xs, XBT_NULL, path, value, (unsigned)strlen(value)))
		return -errno;
	return 0;
}

int kxl_xs_read_control(struct xs_handle *xs, uint32_t domid, const char *node, char *buf,
                        size_t len)
{
	char path[96];
	unsigned got;
	char *v;

	snprintf(path, sizeof(path), "/local/domain/%u/control/%s", domid, node);
	v = xs_read(xs, XBT_NULL, path, &got);
	if (!v)
		return -errno;
	snprintf(buf, len, "%.*s", (int)got, v);
	free(v);
	return 0;
}
