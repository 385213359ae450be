/* The toolstack's xenstore side: a domain's standard paths, its introduction to kxenstored, their removal. */
#include <config.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <xenstore.h>
#include "kxl.h"
#include "kxl_xs.h"
#include "kxl_dev.h"
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

/* The writes of one transaction, stopping at the first failure (errno kept for the caller). */
struct xs_txn {
	struct xs_handle *xs;
	xs_transaction_t t;
	bool ok;
	char failed[256];
};

static void txn_write(struct xs_txn *x, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void txn_write(struct xs_txn *x, const char *path, const char *fmt, ...)
{
	char val[256];
	va_list ap;

	if (!x->ok)
		return;
	va_start(ap, fmt);
	vsnprintf(val, sizeof(val), fmt, ap);
	va_end(ap);
	if (!xs_write(x->xs, x->t, path, val, (unsigned)strlen(val))) {
		x->ok = false;
		snprintf(x->failed, sizeof(x->failed), "write %s", path);
	}
}

static void txn_perms(struct xs_txn *x, const char *path, struct xs_permissions *p, unsigned n)
{
	if (!x->ok)
		return;
	if (!xs_set_permissions(x->xs, x->t, path, p, n)) {
		x->ok = false;
		snprintf(x->failed, sizeof(x->failed), "set permissions of %s", path);
	}
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
static bool write_paths(struct xs_handle *xs, xs_transaction_t t, const struct kxl_xs_domain *d,
                        char *failed, size_t failed_len)
{
	struct xs_permissions ro[2] = { { 0, XS_PERM_NONE }, { d->domid, XS_PERM_READ } };
	struct xs_permissions rw[1] = { { d->domid, XS_PERM_NONE } };
	struct xs_txn x = { .xs = xs, .t = t, .ok = true };
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
	if (!x.ok)
		snprintf(failed, failed_len, "%s", x.failed);
	return x.ok;
}

int kxl_xs_introduce(struct xs_handle *xs, const struct kxl_xs_domain *d)
{
	char failed[256] = "";

	for (unsigned tries = 0;; tries++) {
		xs_transaction_t t = xs_transaction_start(xs);
		if (t == XBT_NULL) {
			snprintf(failed, sizeof(failed), "start a transaction");
			goto fail;
		}
		bool ok = write_paths(xs, t, d, failed, sizeof(failed));
		int saved = errno;
		if (!xs_transaction_end(xs, t, !ok)) {
			if (ok && errno == EAGAIN && tries < XS_TXN_RETRIES)
				continue;
			if (ok) {
				snprintf(failed, sizeof(failed), "commit the transaction");
				goto fail;
			}
		}
		if (!ok) {
			errno = saved;
			goto fail;
		}
		break;
	}
	if (!xs_introduce_domain(xs, d->domid, d->store_pfn, d->store_port)) {
		snprintf(failed, sizeof(failed), "introduce domain %u (store page 0x%llx, port %u)",
		         d->domid, (unsigned long long)d->store_pfn, d->store_port);
		goto fail;
	}
	return 0;
fail:;
	int rc = -errno;
	kxl_err("xenstore: cannot %s: %s", failed, strerror(errno));
	kxl_xs_forget(xs, d->domid);
	return rc ? rc : -EIO;
}

void kxl_xs_forget(struct xs_handle *xs, uint32_t domid)
{
	char dom[64], link[80];
	unsigned len;
	char *vm;

	/* Backend directories first: the domain directory goes last, as it did before devices existed. */
	kxl_dev_forget_domain(xs, domid);
	snprintf(dom, sizeof(dom), "/local/domain/%u", domid);
	snprintf(link, sizeof(link), "%s/vm", dom);
	vm = xs_read(xs, XBT_NULL, link, &len);
	/* /vm/UUID only if the domain's vm link names one: never rm a path a guest could choose. */
	if (vm && !strncmp(vm, "/vm/", 4) && !strchr(vm + 4, '/'))
		xs_rm(xs, XBT_NULL, vm);
	free(vm);
	xs_rm(xs, XBT_NULL, dom);
	/* kxenstored also releases dying domains itself (KXCTL_DOMAIN_EVENTS): ENOENT is fine. */
	xs_release_domain(xs, domid);
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
