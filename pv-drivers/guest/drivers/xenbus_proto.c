/* xenstore wire protocol: ring copy with Xen's index rules, message framing, reply and payload parsing. */
#include "xenbus_proto.h"

#if __STDC_HOSTED__
#include <string.h>
#include <stdlib.h>
#else
#include "kstring.h"
#include "mm.h"
#endif

/*
 * The ring page is shared with the daemon, so every index is read once
 * (volatile) and checked before use: a daemon writing garbage must give us
 * an error, never an out-of-bounds copy. The fences follow Xen's rules
 * (Linux's xenbus_comms.c): read the producer index, then the data; write
 * the data, then the producer index; finish reading data before handing
 * the space back through the consumer index.
 */
#define XB_READ_IDX(x)   (*(const volatile XENSTORE_RING_IDX *)&(x))
#define XB_WRITE_IDX(x, v) (*(volatile XENSTORE_RING_IDX *)&(x) = (v))
#define xb_rmb()         __atomic_thread_fence(__ATOMIC_ACQUIRE)
#define xb_wmb()         __atomic_thread_fence(__ATOMIC_RELEASE)
#define xb_mb()          __atomic_thread_fence(__ATOMIC_SEQ_CST)

int xb_ring_req_space(const struct xenstore_domain_interface *intf)
{
	XENSTORE_RING_IDX cons = XB_READ_IDX(intf->req_cons);
	XENSTORE_RING_IDX prod = XB_READ_IDX(intf->req_prod);

	if (prod - cons > XENSTORE_RING_SIZE)
		return -XEN_EIO;
	return (int)(XENSTORE_RING_SIZE - (prod - cons));
}

int xb_ring_rsp_avail(const struct xenstore_domain_interface *intf)
{
	XENSTORE_RING_IDX cons = XB_READ_IDX(intf->rsp_cons);
	XENSTORE_RING_IDX prod = XB_READ_IDX(intf->rsp_prod);

	if (prod - cons > XENSTORE_RING_SIZE)
		return -XEN_EIO;
	return (int)(prod - cons);
}

int xb_ring_write(struct xenstore_domain_interface *intf, const void *data, size_t len)
{
	const char *src = data;
	XENSTORE_RING_IDX cons, prod;
	size_t done = 0;

	cons = XB_READ_IDX(intf->req_cons);
	prod = XB_READ_IDX(intf->req_prod);
	if (prod - cons > XENSTORE_RING_SIZE)
		return -XEN_EIO;
	/* The space we see must be really free before we overwrite it. */
	xb_mb();
	while (done < len && prod - cons < XENSTORE_RING_SIZE) {
		size_t off = MASK_XENSTORE_IDX(prod);
		size_t chunk = XENSTORE_RING_SIZE - off;       /* up to the wrap */
		size_t space = XENSTORE_RING_SIZE - (prod - cons);

		if (chunk > space)
			chunk = space;
		if (chunk > len - done)
			chunk = len - done;
		memcpy(intf->req + off, src + done, chunk);
		done += chunk;
		prod += (XENSTORE_RING_IDX)chunk;
	}
	xb_wmb();
	XB_WRITE_IDX(intf->req_prod, prod);
	return (int)done;
}

int xb_ring_read(struct xenstore_domain_interface *intf, void *buf, size_t len)
{
	char *dst = buf;
	XENSTORE_RING_IDX cons, prod;
	size_t done = 0;

	cons = XB_READ_IDX(intf->rsp_cons);
	prod = XB_READ_IDX(intf->rsp_prod);
	if (prod - cons > XENSTORE_RING_SIZE)
		return -XEN_EIO;
	xb_rmb();
	while (done < len && cons != prod) {
		size_t off = MASK_XENSTORE_IDX(cons);
		size_t chunk = XENSTORE_RING_SIZE - off;
		size_t avail = prod - cons;

		if (chunk > avail)
			chunk = avail;
		if (chunk > len - done)
			chunk = len - done;
		memcpy(dst + done, intf->rsp + off, chunk);
		done += chunk;
		cons += (XENSTORE_RING_IDX)chunk;
	}
	/* Our copies must be complete before the daemon may reuse the space. */
	xb_mb();
	XB_WRITE_IDX(intf->rsp_cons, cons);
	return (int)done;
}

int xb_msg_build(void *buf, size_t size, uint32_t type, uint32_t req_id, uint32_t tx_id,
		 const struct xb_part *parts, unsigned n)
{
	struct xsd_sockmsg hdr = { .type = type, .req_id = req_id, .tx_id = tx_id, .len = 0 };
	char *p = buf;
	size_t off = sizeof(hdr);

	for (unsigned i = 0; i < n; i++) {
		if (parts[i].len > XENSTORE_PAYLOAD_MAX - hdr.len)
			return -XEN_E2BIG;
		hdr.len += (uint32_t)parts[i].len;
	}
	if (size < sizeof(hdr) + hdr.len)
		return -XEN_E2BIG;
	for (unsigned i = 0; i < n; i++) {
		memcpy(p + off, parts[i].data, parts[i].len);
		off += parts[i].len;
	}
	memcpy(p, &hdr, sizeof(hdr));
	return (int)off;
}

void xb_rx_reset(struct xb_rx *rx)
{
	rx->have = 0;
	rx->skipped = 0;
	rx->oversize = false;
	rx->hdr.len = 0;
}

int xb_rx_pull(struct xb_rx *rx, struct xenstore_domain_interface *intf)
{
	int n;

	if (rx->have < sizeof(rx->hdr)) {
		n = xb_ring_read(intf, (char *)&rx->hdr + rx->have, sizeof(rx->hdr) - rx->have);
		if (n < 0)
			return n;
		rx->have += (size_t)n;
		if (rx->have < sizeof(rx->hdr))
			return 0;
	}
	/*
	 * Checked before a single body byte is stored (the buffer is sized for
	 * the maximum). The body is drained, not kept, so only the request it
	 * answers fails and the stream stays in step.
	 */
	if (rx->hdr.len > XENSTORE_PAYLOAD_MAX) {
		char sink[64];

		while (rx->skipped < rx->hdr.len) {
			uint32_t want = rx->hdr.len - rx->skipped;

			n = xb_ring_read(intf, sink, want < sizeof(sink) ? want : sizeof(sink));
			if (n <= 0)
				return n;
			rx->skipped += (uint32_t)n;
		}
		rx->oversize = true;
		rx->body[0] = 0;
		return 1;
	}
	size_t got = rx->have - sizeof(rx->hdr);

	if (got < rx->hdr.len) {
		n = xb_ring_read(intf, rx->body + got, rx->hdr.len - got);
		if (n < 0)
			return n;
		rx->have += (size_t)n;
		got += (size_t)n;
	}
	if (got < rx->hdr.len)
		return 0;
	rx->body[rx->hdr.len] = 0;
	return 1;
}

/* xenstored's error names (xs_wire.h's xsd_errors, which needs a libc errno.h) mapped to Xen's errnos. */
static const struct {
	const char *name;
	int err;
} xb_errors[] = {
	{ "EINVAL", -XEN_EINVAL },   { "EACCES", -XEN_EACCES }, { "EEXIST", -XEN_EEXIST },
	{ "EISDIR", -XEN_EISDIR },   { "ENOENT", -XEN_ENOENT }, { "ENOMEM", -XEN_ENOMEM },
	{ "ENOSPC", -XEN_ENOSPC },   { "EIO", -XEN_EIO },       { "ENOTEMPTY", -XEN_ENOTEMPTY },
	{ "ENOSYS", -XEN_ENOSYS },   { "EROFS", -XEN_EROFS },   { "EBUSY", -XEN_EBUSY },
	{ "EAGAIN", -XEN_EAGAIN },   { "EISCONN", -XEN_EISCONN }, { "E2BIG", -XEN_E2BIG },
	{ "EPERM", -XEN_EPERM },     { "ETIMEDOUT", -XEN_ETIMEDOUT },
};

int xb_errno_from_string(const char *s, size_t len)
{
	size_t n = strnlen(s, len);

	for (size_t i = 0; i < sizeof(xb_errors) / sizeof(xb_errors[0]); i++)
		if (strlen(xb_errors[i].name) == n && memcmp(xb_errors[i].name, s, n) == 0)
			return xb_errors[i].err;
	return -XEN_EIO;
}

const char *xb_errno_name(int err)
{
	for (size_t i = 0; i < sizeof(xb_errors) / sizeof(xb_errors[0]); i++)
		if (xb_errors[i].err == err)
			return xb_errors[i].name;
	return "EINVAL";
}

int xb_reply_status(const struct xsd_sockmsg *hdr, const char *body, uint32_t want)
{
	if (hdr->type == XS_ERROR)
		return xb_errno_from_string(body, hdr->len);
	if (hdr->type != want)
		return -XEN_EIO;
	return 0;
}

int xb_split_strings(const char *body, size_t len, char ***list, unsigned *n)
{
	unsigned count = 0;
	char **vec;
	char *copy;

	/* Empty strings are skipped: no entry can be empty, and some daemons send "\0" for an empty directory. */
	for (size_t i = 0; i < len; i++)
		if (body[i] != 0 && (i + 1 == len || body[i + 1] == 0))
			count++;
	/* One block: count + 1 pointers, then the strings (plus a NUL in case the last one lacked it). */
	vec = malloc((count + 1) * sizeof(char *) + len + 1);
	if (!vec)
		return -XEN_ENOMEM;
	copy = (char *)(vec + count + 1);
	memcpy(copy, body, len);
	copy[len] = 0;
	unsigned i = 0;

	for (size_t off = 0; off < len; off++) {
		if (copy[off] == 0)
			continue;
		vec[i++] = copy + off;
		off += strlen(copy + off);
	}
	vec[count] = NULL;
	*list = vec;
	*n = count;
	return 0;
}

int xb_parse_watch_event(const char *body, size_t len, const char **path, const char **token)
{
	size_t plen = strnlen(body, len);

	if (plen == 0 || plen >= len)
		return -XEN_EIO;
	size_t tlen = strnlen(body + plen + 1, len - plen - 1);

	/* The token must be NUL-terminated inside the payload (rx->body adds one NUL past len, so accept that). */
	if (plen + 1 + tlen > len)
		return -XEN_EIO;
	*path = body;
	*token = body + plen + 1;
	return 0;
}

bool xb_path_ok(const char *path)
{
	size_t n = strnlen(path, XENSTORE_ABS_PATH_MAX);

	return n > 0 && n < XENSTORE_ABS_PATH_MAX;
}
