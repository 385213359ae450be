/* CUnit suite for the guest's xenbus wire protocol (pv-drivers/guest/xenbus_proto.c) against an in-memory store ring. */
#include <config.h>
#include <errno.h>      /* before xs_wire.h: it then defines xsd_errors, which we check our names against */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cunit_run.h"

#include "xenbus_proto.h"

static struct xenstore_domain_interface ring;

static void ring_reset(XENSTORE_RING_IDX start)
{
	memset(&ring, 0, sizeof(ring));
	ring.req_cons = ring.req_prod = start;
	ring.rsp_cons = ring.rsp_prod = start;
}

/* The daemon's side: produce into rsp[] as much as fits; returns bytes written. */
static size_t daemon_put(const void *data, size_t len)
{
	const char *p = data;
	size_t done = 0;

	while (done < len && ring.rsp_prod - ring.rsp_cons < XENSTORE_RING_SIZE) {
		ring.rsp[MASK_XENSTORE_IDX(ring.rsp_prod)] = p[done++];
		ring.rsp_prod++;
	}
	return done;
}

/* The daemon's side: consume up to len bytes of req[]. */
static size_t daemon_get(void *buf, size_t len)
{
	char *p = buf;
	size_t done = 0;

	while (done < len && ring.req_cons != ring.req_prod) {
		p[done++] = ring.req[MASK_XENSTORE_IDX(ring.req_cons)];
		ring.req_cons++;
	}
	return done;
}

static size_t make_msg(char *buf, uint32_t type, uint32_t req_id, const void *body, uint32_t len)
{
	struct xsd_sockmsg h = { .type = type, .req_id = req_id, .tx_id = 0, .len = len };

	memcpy(buf, &h, sizeof(h));
	memcpy(buf + sizeof(h), body, len);
	return sizeof(h) + len;
}

static void test_ring_write(void)
{
	static const XENSTORE_RING_IDX starts[] = { 0, 1000, 0xfffffff0u };   /* plain, wrapping, index overflow */
	char data[3000], back[3000];

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (char)(i * 13 + 1);
	for (size_t s = 0; s < sizeof(starts) / sizeof(starts[0]); s++) {
		ring_reset(starts[s]);
		CU_ASSERT_EQUAL(xb_ring_req_space(&ring), XENSTORE_RING_SIZE);
		CU_ASSERT_EQUAL(xb_ring_write(&ring, data, 100), 100);
		CU_ASSERT_EQUAL(xb_ring_req_space(&ring), XENSTORE_RING_SIZE - 100);
		/* Only what fits goes in; a full ring takes nothing. */
		CU_ASSERT_EQUAL(xb_ring_write(&ring, data + 100, 2000), XENSTORE_RING_SIZE - 100);
		CU_ASSERT_EQUAL(xb_ring_write(&ring, data, 10), 0);
		CU_ASSERT_EQUAL(daemon_get(back, sizeof(back)), XENSTORE_RING_SIZE);
		CU_ASSERT_EQUAL(memcmp(back, data, XENSTORE_RING_SIZE), 0);
		CU_ASSERT_EQUAL(ring.req_prod, starts[s] + XENSTORE_RING_SIZE);
	}
}

static void test_ring_read(void)
{
	char data[1500], back[1500];

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (char)(i * 7 + 3);
	ring_reset(900);
	CU_ASSERT_EQUAL(xb_ring_rsp_avail(&ring), 0);
	CU_ASSERT_EQUAL(xb_ring_read(&ring, back, 10), 0);
	CU_ASSERT_EQUAL(daemon_put(data, 500), 500);
	CU_ASSERT_EQUAL(xb_ring_rsp_avail(&ring), 500);
	CU_ASSERT_EQUAL(xb_ring_read(&ring, back, 200), 200);
	CU_ASSERT_EQUAL(xb_ring_read(&ring, back + 200, 1000), 300);
	CU_ASSERT_EQUAL(memcmp(back, data, 500), 0);
	CU_ASSERT_EQUAL(ring.rsp_cons, 900 + 500);
}

static void test_corrupt_indices(void)
{
	char buf[16] = { 0 };
	struct xb_rx *rx = calloc(1, sizeof(*rx));

	ring_reset(0);
	ring.req_prod = XENSTORE_RING_SIZE + 1;     /* more in flight than the ring holds */
	CU_ASSERT_EQUAL(xb_ring_req_space(&ring), -XEN_EIO);
	CU_ASSERT_EQUAL(xb_ring_write(&ring, buf, 1), -XEN_EIO);
	ring_reset(0);
	ring.rsp_cons = 5;                           /* consumer ahead of the producer */
	CU_ASSERT_EQUAL(xb_ring_rsp_avail(&ring), -XEN_EIO);
	CU_ASSERT_EQUAL(xb_ring_read(&ring, buf, 1), -XEN_EIO);
	xb_rx_reset(rx);
	CU_ASSERT_EQUAL(xb_rx_pull(rx, &ring), -XEN_EIO);
	CU_ASSERT_EQUAL(ring.rsp_cons, 5);           /* nothing consumed */
	free(rx);
}

static void test_msg_build(void)
{
	static char buf[XB_MSG_MAX + 16], big[XENSTORE_PAYLOAD_MAX + 1];
	struct xb_part parts[2] = { { "a/b", 4 }, { "val", 3 } };
	struct xsd_sockmsg h;
	int n = xb_msg_build(buf, sizeof(buf), XS_WRITE, 77, 5, parts, 2);

	CU_ASSERT_EQUAL(n, (int)sizeof(h) + 7);
	memcpy(&h, buf, sizeof(h));
	CU_ASSERT_EQUAL(h.type, XS_WRITE);
	CU_ASSERT_EQUAL(h.req_id, 77);
	CU_ASSERT_EQUAL(h.tx_id, 5);
	CU_ASSERT_EQUAL(h.len, 7);
	CU_ASSERT_EQUAL(memcmp(buf + sizeof(h), "a/b\0val", 7), 0);
	/* Exactly the maximum payload is fine, one byte more is not. */
	parts[0] = (struct xb_part){ big, XENSTORE_PAYLOAD_MAX };
	CU_ASSERT_EQUAL(xb_msg_build(buf, sizeof(buf), XS_WRITE, 1, 0, parts, 1), (int)XB_MSG_MAX);
	parts[1] = (struct xb_part){ "x", 1 };
	CU_ASSERT_EQUAL(xb_msg_build(buf, sizeof(buf), XS_WRITE, 1, 0, parts, 2), -XEN_E2BIG);
	parts[0] = (struct xb_part){ "abc", 4 };
	CU_ASSERT_EQUAL(xb_msg_build(buf, 10, XS_READ, 1, 0, parts, 1), -XEN_E2BIG);
	/* A huge part must not wrap the length sum. */
	parts[0] = (struct xb_part){ big, (size_t)-1 };
	CU_ASSERT_EQUAL(xb_msg_build(buf, sizeof(buf), XS_WRITE, 1, 0, parts, 2), -XEN_E2BIG);
}

/* Streams msgs through the ring in chunk-byte slices and checks each comes out whole. */
static void stream_msgs(size_t chunk, XENSTORE_RING_IDX start)
{
	static char stream[3 * XB_MSG_MAX];
	static char big[3000];
	struct xb_rx *rx = calloc(1, sizeof(*rx));
	size_t len = 0, fed = 0;
	unsigned got = 0;

	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (char)('A' + i % 26);
	len += make_msg(stream + len, XS_READ, 1, "value", 6);
	len += make_msg(stream + len, XS_WATCH_EVENT, 0, "p\0tok", 6);
	len += make_msg(stream + len, XS_WRITE, 2, "", 0);
	len += make_msg(stream + len, XS_READ, 3, big, sizeof(big));
	ring_reset(start);
	xb_rx_reset(rx);
	while (got < 4) {
		if (fed < len)
			fed += daemon_put(stream + fed, chunk < len - fed ? chunk : len - fed);
		int rc = xb_rx_pull(rx, &ring);

		CU_ASSERT_FATAL(rc >= 0);
		if (rc == 0) {
			CU_ASSERT_FATAL(fed < len);   /* it wants more only while more is coming */
			continue;
		}
		CU_ASSERT_FALSE(rx->oversize);
		switch (got++) {
		case 0:
			CU_ASSERT_EQUAL(rx->hdr.req_id, 1);
			CU_ASSERT_STRING_EQUAL(rx->body, "value");
			break;
		case 1:
			CU_ASSERT_EQUAL(rx->hdr.type, XS_WATCH_EVENT);
			break;
		case 2:
			CU_ASSERT_EQUAL(rx->hdr.len, 0);
			CU_ASSERT_EQUAL(rx->body[0], 0);
			break;
		case 3:
			CU_ASSERT_EQUAL(rx->hdr.len, sizeof(big));
			CU_ASSERT_EQUAL(memcmp(rx->body, big, sizeof(big)), 0);
			CU_ASSERT_EQUAL(rx->body[sizeof(big)], 0);
			break;
		}
		xb_rx_reset(rx);
	}
	CU_ASSERT_EQUAL(fed, len);
	CU_ASSERT_EQUAL(xb_ring_rsp_avail(&ring), 0);
	free(rx);
}

static void test_rx_stream(void)
{
	static const size_t chunks[] = { 1, 7, 16, 17, 1000, 5000 };

	for (size_t i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
		stream_msgs(chunks[i], 0);
		stream_msgs(chunks[i], 0xfffffc00u + 3);
	}
}

/* A reply claiming more than XENSTORE_PAYLOAD_MAX is drained and flagged; the next one parses. */
static void test_rx_oversize(void)
{
	struct xb_rx *rx = calloc(1, sizeof(*rx));
	struct xsd_sockmsg h = { .type = XS_READ, .req_id = 9, .len = XENSTORE_PAYLOAD_MAX + 100 };
	char junk[XENSTORE_PAYLOAD_MAX + 100], next[64];
	size_t fed = 0, nlen;
	int rc;

	memset(junk, 'j', sizeof(junk));
	nlen = make_msg(next, XS_READ, 10, "ok", 3);
	ring_reset(0);
	xb_rx_reset(rx);
	daemon_put(&h, sizeof(h));
	do {
		fed += daemon_put(junk + fed, sizeof(junk) - fed);
		rc = xb_rx_pull(rx, &ring);
		CU_ASSERT_FATAL(rc >= 0);
	} while (rc == 0);
	CU_ASSERT_EQUAL(fed, sizeof(junk));
	CU_ASSERT_TRUE(rx->oversize);
	CU_ASSERT_EQUAL(rx->hdr.req_id, 9);
	xb_rx_reset(rx);
	daemon_put(next, nlen);
	CU_ASSERT_EQUAL(xb_rx_pull(rx, &ring), 1);
	CU_ASSERT_FALSE(rx->oversize);
	CU_ASSERT_EQUAL(rx->hdr.req_id, 10);
	CU_ASSERT_STRING_EQUAL(rx->body, "ok");
	free(rx);
}

static void test_errno_names(void)
{
	/* Every name in Xen's own table maps to its (Linux = Xen on x86) errno, and back. */
	for (size_t i = 0; i < sizeof(xsd_errors) / sizeof(xsd_errors[0]); i++) {
		const char *name = xsd_errors[i].errstring;

		CU_ASSERT_EQUAL(xb_errno_from_string(name, strlen(name) + 1), -xsd_errors[i].errnum);
		CU_ASSERT_STRING_EQUAL(xb_errno_name(-xsd_errors[i].errnum), name);
	}
	CU_ASSERT_EQUAL(xb_errno_from_string("EWHATEVER", 10), -XEN_EIO);
	CU_ASSERT_EQUAL(xb_errno_from_string("", 1), -XEN_EIO);
	/* Not NUL-terminated within its length: only len bytes count. */
	CU_ASSERT_EQUAL(xb_errno_from_string("ENOENTX", 6), -XEN_ENOENT);
	CU_ASSERT_EQUAL(xb_errno_from_string("ENOENT", 3), -XEN_EIO);
	CU_ASSERT_STRING_EQUAL(xb_errno_name(-12345), "EINVAL");
}

static void test_reply_status(void)
{
	struct xsd_sockmsg h = { .type = XS_ERROR, .len = 7 };

	CU_ASSERT_EQUAL(xb_reply_status(&h, "EAGAIN", XS_TRANSACTION_END), -XEN_EAGAIN);
	h.type = XS_READ;
	h.len = 2;
	CU_ASSERT_EQUAL(xb_reply_status(&h, "x", XS_READ), 0);
	CU_ASSERT_EQUAL(xb_reply_status(&h, "x", XS_WRITE), -XEN_EIO);
	h.type = XS_WATCH_EVENT;
	CU_ASSERT_EQUAL(xb_reply_status(&h, "x", XS_READ), -XEN_EIO);
}

static void test_split_strings(void)
{
	char **list;
	unsigned n;

	CU_ASSERT_EQUAL_FATAL(xb_split_strings("a\0bc\0def\0", 9, &list, &n), 0);
	CU_ASSERT_EQUAL(n, 3);
	CU_ASSERT_STRING_EQUAL(list[0], "a");
	CU_ASSERT_STRING_EQUAL(list[1], "bc");
	CU_ASSERT_STRING_EQUAL(list[2], "def");
	CU_ASSERT_PTR_NULL(list[3]);
	free(list);
	CU_ASSERT_EQUAL_FATAL(xb_split_strings("", 0, &list, &n), 0);
	CU_ASSERT_EQUAL(n, 0);
	CU_ASSERT_PTR_NULL(list[0]);
	free(list);
	CU_ASSERT_EQUAL_FATAL(xb_split_strings("\0", 1, &list, &n), 0);
	CU_ASSERT_EQUAL(n, 0);
	free(list);
	/* The last NUL missing, and empty strings in between. */
	CU_ASSERT_EQUAL_FATAL(xb_split_strings("x\0\0yz", 5, &list, &n), 0);
	CU_ASSERT_EQUAL(n, 2);
	CU_ASSERT_STRING_EQUAL(list[0], "x");
	CU_ASSERT_STRING_EQUAL(list[1], "yz");
	CU_ASSERT_PTR_NULL(list[2]);
	free(list);
}

static void test_watch_event(void)
{
	const char *path, *token;

	CU_ASSERT_EQUAL(xb_parse_watch_event("a/b\0tok\0", 8, &path, &token), 0);
	CU_ASSERT_STRING_EQUAL(path, "a/b");
	CU_ASSERT_STRING_EQUAL(token, "tok");
	CU_ASSERT_EQUAL(xb_parse_watch_event("a/b", 3, &path, &token), -XEN_EIO);
	CU_ASSERT_EQUAL(xb_parse_watch_event("\0tok\0", 5, &path, &token), -XEN_EIO);
	CU_ASSERT_EQUAL(xb_parse_watch_event("", 0, &path, &token), -XEN_EIO);
}

static void test_path_ok(void)
{
	static char longp[XENSTORE_ABS_PATH_MAX + 10];

	CU_ASSERT_TRUE(xb_path_ok("/local/domain/1/name"));
	CU_ASSERT_TRUE(xb_path_ok("control/shutdown"));
	CU_ASSERT_FALSE(xb_path_ok(""));
	memset(longp, 'a', sizeof(longp) - 1);
	CU_ASSERT_FALSE(xb_path_ok(longp));
}

/* Random streams and random chunking: the reader must never fail, overrun or lose step on a valid stream. */
static void test_fuzz_stream(void)
{
	static char stream[64 * 1024];
	struct xb_rx *rx = calloc(1, sizeof(*rx));
	uint32_t lens[64];

	srand(1234);
	for (int round = 0; round < 300; round++) {
		size_t len = 0, fed = 0;
		unsigned nmsg = 1 + rand() % 8, got = 0;

		for (unsigned m = 0; m < nmsg; m++) {
			uint32_t l = (uint32_t)(rand() % 3 == 0 ? rand() % (XENSTORE_PAYLOAD_MAX + 1) : rand() % 64);
			char body[XENSTORE_PAYLOAD_MAX];

			for (uint32_t i = 0; i < l; i++)
				body[i] = (char)rand();
			lens[m] = l;
			len += make_msg(stream + len, XS_READ, m, body, l);
		}
		ring_reset((XENSTORE_RING_IDX)rand());
		xb_rx_reset(rx);
		while (got < nmsg) {
			if (fed < len) {
				size_t c = 1 + (size_t)rand() % 1500;

				fed += daemon_put(stream + fed, c < len - fed ? c : len - fed);
			}
			int rc = xb_rx_pull(rx, &ring);

			CU_ASSERT_FATAL(rc >= 0);
			if (rc == 1) {
				CU_ASSERT_EQUAL(rx->hdr.req_id, got);
				CU_ASSERT_EQUAL(rx->hdr.len, lens[got]);
				got++;
				xb_rx_reset(rx);
			} else {
				CU_ASSERT_FATAL(fed < len);
			}
		}
	}
	free(rx);
}

static const struct cunit_test tests[] = {
	{ "ring write: wrap, full, index overflow", test_ring_write },
	{ "ring read", test_ring_read },
	{ "corrupt indices are errors", test_corrupt_indices },
	{ "message build and limits", test_msg_build },
	{ "reassembly at any chunking", test_rx_stream },
	{ "oversized reply drained, stream in step", test_rx_oversize },
	{ "error names match xs_wire.h", test_errno_names },
	{ "reply status", test_reply_status },
	{ "string lists", test_split_strings },
	{ "watch event parsing", test_watch_event },
	{ "path checks", test_path_ok },
	{ "fuzzed streams", test_fuzz_stream },
};

int main(void)
{
	return cunit_run("xenbus_proto", tests, CUNIT_COUNT(tests), NULL, NULL);
}
