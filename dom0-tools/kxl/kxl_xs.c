/* The toolstack's xenstore side: a domain's standard paths, its introduction to kxenstored, their removal. */
#include <config.h>
#include <errno.h>
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

/*
 * The layout and permissions follow libxl (libxl__domain_make and
 * libxl__build_post): the domain directory belongs to dom0 and the guest may
 * read it; the guest owns what it must write (control/shutdown and its
 * feature flags, data, drivers, attr, error, messages).
 */
static int write_paths(struct kxl_xsb *b, uint32_t t, void *arg, char *failed, size_t flen)
{
	const struct kxl_xs_domain *d = arg;
	struct xs_permissions ro[2] = { { 0, XS_PERM_NONE }, { d->domid, XS_PERM_READ } };
	struct xs_permissions rw[1] = { { d->domid, XS_PERM_NONE } };
	char dom[64], vm[80], p[160], uuid[37];
	static const char *const guest_owned[] = {
		"control/shutdown", "control/feature-poweroff", "control/feature-reboot",
		"control/feature-suspend", "control/feature-balloon", "control/sysrq", "data", "drivers", "attr", "error",
		"messages", "feature",
	};

	kxconfig_uuid_format(d->uuid, uuid);
	snprintf(dom, sizeof(dom), "/local/domain/%u", d->domid);
	snprintf(vm, sizeof(vm), "/vm/%s", uuid);

	(void)failed;
	(void)flen;
	kxl_xsb_node(b, t, dom, ro, 2);
	kxl_xsb_node(b, t, vm, ro, 2);
#define W(sub, ...) do { snprintf(p, sizeof(p), "%s/%s", dom, sub); kxl_xsb_writef(b, t, p, __VA_ARGS__); } while (0)
#define V(sub, ...) do { snprintf(p, sizeof(p), "%s/%s", vm, sub); kxl_xsb_writef(b, t, p, __VA_ARGS__); } while (0)
	V("uuid", "%s", uuid);
	V("name", "%s", d->name);
	V("start_time", "%lld.%02ld", (long long)d->start_time.tv_sec,
	  d->start_time.tv_nsec / 10000000);
	W("vm", "%s", vm);
	W("name", "%s", d->name);
	W("domid", "%u", d->domid);
	W("memory/static-max", "%llu", (unsigned long long)d->mem_kib);
	W("memory/target", "%llu", (unsigned long long)(d->target_kib ? d->target_kib : d->mem_kib));
	for (unsigned i = 0; i < d->vcpus; i++) {
		char sub[32];
		snprintf(sub, sizeof(sub), "cpu/%u/availability", i);
		W(sub, "online");
	}
	W("control", "%s", "");
	W("device", "%s", "");
	for (size_t i = 0; i < sizeof(guest_owned) / sizeof(guest_owned[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", dom, guest_owned[i]);
		kxl_xsb_node(b, t, p, rw, 1);
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
	return 0;
}

/* Queued behind the commit: kxenstored maps the store ring once the paths are there. */
static void introduce(struct kxl_xsb *b, void *arg)
{
	const struct kxl_xs_domain *d = arg;
	char intro[64];
	int n = snprintf(intro, sizeof(intro), "%u%c%llu%c%u", d->domid, 0,
	                 (unsigned long long)d->store_pfn, 0, d->store_port);

	kxl_xsb_add(b, XS_INTRODUCE, 0, intro, (size_t)n + 1, NULL, 0);
}

/*
 * Two round trips (kxl_xsb_txn): TRANSACTION_START, then every write, the
 * commit and the INTRODUCE in one batch. The introduce runs even when the
 * commit must be retried (EAGAIN): harmless, the domain is paused. A refused
 * write is named by its path; whatever the commit kept of the batch is
 * removed with the rest (kxl_xs_forget).
 */
int kxl_xs_introduce(const struct kxl_xs_domain *d)
{
	struct kxl_xsb_txn x = { .queue = write_paths, .after = introduce, .arg = (void *)d };
	struct kxl_xsb b;
	char failed[320] = "";
	int r;

	if ((r = kxl_xsb_open(&b))) {
		kxl_err("xenstore: cannot connect to %s: %s", kxl_xs_socket_path(), strerror(-r));
		return r;
	}
	r = kxl_xsb_txn(&b, &x, failed, sizeof(failed));
	kxl_xsb_close(&b);
	if (r) {
		kxl_err("xenstore: cannot %s (domain %u, store page 0x%llx, port %u): %s", failed,
		        d->domid, (unsigned long long)d->store_pfn, d->store_port, strerror(-r));
		kxl_xs_forget(d->domid);
	}
	return r;
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
