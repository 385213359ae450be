/* xs_wire_check: raw xs_wire requests against a private kxenstored: ids echoed, errors, malformed and oversized input, flooding. */
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <xen/io/xs_wire.h>

static const char *sock;
static unsigned failures;

#define CHECK(cond, ...) do { if (!(cond)) { failures++; printf("FAIL %s:%d: ", __func__, __LINE__); \
	printf(__VA_ARGS__); printf("\n"); } } while (0)

static int dial(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		printf("xs_wire_check: connect %s: %s\n", sock, strerror(errno));
		exit(1);
	}
	return fd;
}

static void sendmsg_raw(int fd, uint32_t type, uint32_t id, uint32_t tx, const void *p, uint32_t len)
{
	struct xsd_sockmsg h = { type, id, tx, len };

	if (write(fd, &h, sizeof(h)) != sizeof(h) || (len && write(fd, p, len) != (ssize_t)len)) {
		printf("xs_wire_check: write: %s\n", strerror(errno));
		exit(1);
	}
}

/* Reads all of len bytes within 5 s; 0 on EOF/timeout. */
static int readn(int fd, void *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		struct pollfd pf = { fd, POLLIN, 0 };
		if (poll(&pf, 1, 5000) != 1)
			return 0;
		ssize_t n = read(fd, (char *)buf + got, len - got);
		if (n <= 0)
			return 0;
		got += (size_t)n;
	}
	return 1;
}

static int reply(int fd, struct xsd_sockmsg *h, char *buf)
{
	if (!readn(fd, h, sizeof(*h)) || h->len > XENSTORE_PAYLOAD_MAX || !readn(fd, buf, h->len))
		return 0;
	buf[h->len] = 0;
	return 1;
}

/* One request, one reply (skipping watch events); returns the reply type or -1. */
static int rpc(int fd, uint32_t type, uint32_t tx, const void *p, uint32_t len, char *out, uint32_t *olen)
{
	static uint32_t id = 1000;
	struct xsd_sockmsg h;

	sendmsg_raw(fd, type, ++id, tx, p, len);
	do {
		if (!reply(fd, &h, out))
			return -1;
	} while (h.type == XS_WATCH_EVENT);
	if (h.req_id != id)
		return -2;
	if (olen)
		*olen = h.len;
	return (int)h.type;
}

static void test_ids_and_errors(void)
{
	char buf[XENSTORE_PAYLOAD_MAX + 1];
	struct xsd_sockmsg h;
	int fd = dial();

	sendmsg_raw(fd, XS_WRITE, 0xdeadbeef, 0, "/w/x\0hello", 10);
	CHECK(reply(fd, &h, buf) && h.type == XS_WRITE && h.req_id == 0xdeadbeef && !strcmp(buf, "OK"),
	      "WRITE reply type %u id %#x '%s'", h.type, h.req_id, buf);
	CHECK(rpc(fd, XS_READ, 0, "/w/x", 5, buf, NULL) == XS_READ && !strcmp(buf, "hello"), "read back '%s'", buf);
	CHECK(rpc(fd, 99, 0, "", 0, buf, NULL) == XS_ERROR && !strcmp(buf, "EINVAL"), "unknown type: '%s'", buf);
	CHECK(rpc(fd, 20, 0, "", 0, buf, NULL) == XS_ERROR && !strcmp(buf, "EINVAL"), "XS_RESTRICT: '%s'", buf);
	CHECK(rpc(fd, XS_READ, 0, "/w/x", 4, buf, NULL) == XS_ERROR && !strcmp(buf, "EINVAL"), "no NUL: '%s'", buf);
	CHECK(rpc(fd, XS_READ, 0, "/a b", 5, buf, NULL) == XS_ERROR && !strcmp(buf, "EINVAL"), "bad char: '%s'", buf);
	CHECK(rpc(fd, XS_READ, 0, "/a//b", 6, buf, NULL) == XS_ERROR && !strcmp(buf, "EINVAL"), "//: '%s'", buf);
	CHECK(rpc(fd, XS_READ, 0, "/nope", 6, buf, NULL) == XS_ERROR && !strcmp(buf, "ENOENT"), "missing: '%s'", buf);
	CHECK(rpc(fd, XS_READ, 77, "/w/x", 5, buf, NULL) == XS_ERROR && !strcmp(buf, "ENOENT"), "bad tx: '%s'", buf);
	CHECK(rpc(fd, XS_WATCH_EVENT, 0, "/w\0t", 5, buf, NULL) == XS_ERROR, "client WATCH_EVENT accepted");
	CHECK(rpc(fd, XS_INTRODUCE, 0, "5\0x\0" "1", 6, buf, NULL) == XS_ERROR && !strcmp(buf, "EINVAL"),
	      "bad INTRODUCE: '%s'", buf);
	CHECK(rpc(fd, XS_RM, 0, "/", 2, buf, NULL) == XS_ERROR && !strcmp(buf, "EINVAL"), "rm /: '%s'", buf);
	CHECK(rpc(fd, XS_GET_DOMAIN_PATH, 0, "7", 2, buf, NULL) == XS_GET_DOMAIN_PATH &&
	      !strcmp(buf, "/local/domain/7"), "domain path '%s'", buf);
	CHECK(rpc(fd, XS_IS_DOMAIN_INTRODUCED, 0, "7", 2, buf, NULL) == XS_IS_DOMAIN_INTRODUCED &&
	      !strcmp(buf, "F"), "introduced '%s'", buf);
	CHECK(rpc(fd, XS_SET_PERMS, 0, "/w/x\0q1", 8, buf, NULL) == XS_ERROR && !strcmp(buf, "EINVAL"),
	      "bad perm letter: '%s'", buf);
	CHECK(rpc(fd, XS_CONTROL, 0, "quota", 6, buf, NULL) == XS_CONTROL && strstr(buf, "\nnodes            :     1000 Nodes per domain\n"),
	      "quota: '%s'", buf);
	char big[XENSTORE_ABS_PATH_MAX + 64];
	memset(big, 'a', sizeof(big));
	big[0] = '/';
	big[sizeof(big) - 1] = 0;
	CHECK(rpc(fd, XS_WRITE, 0, big, sizeof(big), buf, NULL) == XS_ERROR && !strcmp(buf, "EINVAL"),
	      "path too long: '%s'", buf);
	close(fd);
}

static void test_watch_and_txn(void)
{
	char buf[XENSTORE_PAYLOAD_MAX + 1];
	struct xsd_sockmsg h;
	int fd = dial();

	sendmsg_raw(fd, XS_WATCH, 5, 0, "/w\0tok", 7);
	CHECK(reply(fd, &h, buf) && h.type == XS_WATCH && h.req_id == 5, "WATCH reply %u", h.type);
	CHECK(reply(fd, &h, buf) && h.type == XS_WATCH_EVENT && !strcmp(buf, "/w") && !strcmp(buf + 3, "tok"),
	      "first event %u '%s'", h.type, buf);
	sendmsg_raw(fd, XS_WATCH, 6, 0, "/w\0tok", 7);
	CHECK(reply(fd, &h, buf) && h.type == XS_ERROR && !strcmp(buf, "EEXIST"), "dup watch '%s'", buf);

	int fd2 = dial();
	CHECK(rpc(fd2, XS_TRANSACTION_START, 0, "", 1, buf, NULL) == XS_TRANSACTION_START, "start");
	uint32_t t1 = (uint32_t)atoi(buf);
	CHECK(rpc(fd2, XS_READ, t1, "/w/x", 5, buf, NULL) == XS_READ, "tx read");
	CHECK(rpc(fd2, XS_WRITE, t1, "/w/y\0in-tx", 11, buf, NULL) == XS_WRITE, "tx write");
	CHECK(rpc(fd2, XS_READ, 0, "/w/y", 5, buf, NULL) == XS_ERROR, "tx write visible outside");
	CHECK(rpc(fd2, XS_TRANSACTION_END, t1, "T", 2, buf, NULL) == XS_TRANSACTION_END, "commit '%s'", buf);
	CHECK(reply(fd, &h, buf) && h.type == XS_WATCH_EVENT && !strcmp(buf, "/w/y"), "event after commit '%s'", buf);
	CHECK(rpc(fd2, XS_READ, 0, "/w/y", 5, buf, NULL) == XS_READ && !strcmp(buf, "in-tx"), "committed '%s'", buf);
	/* Conflict: another client changes a node the transaction read. */
	CHECK(rpc(fd2, XS_TRANSACTION_START, 0, "", 1, buf, NULL) == XS_TRANSACTION_START, "start 2");
	uint32_t t2 = (uint32_t)atoi(buf);
	CHECK(rpc(fd2, XS_READ, t2, "/w/x", 5, buf, NULL) == XS_READ, "tx2 read");
	char before[64];
	snprintf(before, sizeof(before), "%s", buf);
	CHECK(rpc(fd2, XS_WRITE, t2, "/w/z\0z", 7, buf, NULL) == XS_WRITE, "tx2 write");
	int fd3 = dial();
	CHECK(rpc(fd3, XS_WRITE, 0, "/w/x\0changed", 13, buf, NULL) == XS_WRITE, "outside write");
	CHECK(rpc(fd3, XS_WRITE, 0, "/w/late\0l", 10, buf, NULL) == XS_WRITE, "outside create");
	/* The transaction reads its snapshot: the value and children as at its start. */
	CHECK(rpc(fd2, XS_READ, t2, "/w/x", 5, buf, NULL) == XS_READ && !strcmp(buf, before),
	      "tx2 read after an outside commit: '%s', not '%s'", buf, before);
	CHECK(rpc(fd2, XS_READ, t2, "/w/late", 8, buf, NULL) == XS_ERROR && !strcmp(buf, "ENOENT"),
	      "tx2 sees a node created after its start: '%s'", buf);
	uint32_t dlen = 0;
	CHECK(rpc(fd2, XS_DIRECTORY, t2, "/w", 3, buf, &dlen) == XS_DIRECTORY && dlen == 6 &&
	      !memcmp(buf, "x\0y\0z\0", 6), "tx2 DIRECTORY /w: %u bytes, first '%s'", dlen, buf);
	CHECK(rpc(fd2, XS_TRANSACTION_END, t2, "T", 2, buf, NULL) == XS_ERROR && !strcmp(buf, "EAGAIN"),
	      "conflict gave '%s'", buf);
	CHECK(rpc(fd2, XS_READ, 0, "/w/z", 5, buf, NULL) == XS_ERROR, "conflicting tx applied");
	close(fd3);
	close(fd2);
	close(fd);
}

static void test_directory_part(void)
{
	char buf[XENSTORE_PAYLOAD_MAX + 1], req[256];
	int fd = dial();
	unsigned n = 300, seen = 0;

	for (unsigned i = 0; i < n; i++) {
		int l = snprintf(req, sizeof(req), "/dp/child-with-a-long-name-%04u", i);
		rpc(fd, XS_WRITE, 0, req, (uint32_t)l + 1, buf, NULL);
	}
	CHECK(rpc(fd, XS_DIRECTORY, 0, "/dp", 4, buf, NULL) == XS_ERROR && !strcmp(buf, "E2BIG"),
	      "big DIRECTORY gave '%s'", buf);
	for (unsigned off = 0;;) {
		uint32_t len;
		int l = snprintf(req, sizeof(req), "/dp%c%u", 0, off);
		if (rpc(fd, XS_DIRECTORY_PART, 0, req, (uint32_t)l + 1, buf, &len) != XS_DIRECTORY_PART) {
			CHECK(0, "DIRECTORY_PART at %u: '%s'", off, buf);
			break;
		}
		char *p = buf + strlen(buf) + 1, *end = buf + len;
		bool done = false;
		while (p < end) {
			if (!*p) {
				done = true;
				break;
			}
			seen++;
			off += (unsigned)strlen(p) + 1;
			p += strlen(p) + 1;
		}
		if (done)
			break;
	}
	CHECK(seen == n, "DIRECTORY_PART listed %u of %u", seen, n);
	close(fd);
}

/* A client that sends garbage lengths is cut off; others go on. */
static void test_oversized(void)
{
	char buf[XENSTORE_PAYLOAD_MAX + 1];
	int fd = dial();
	struct xsd_sockmsg h = { XS_READ, 1, 0, XENSTORE_PAYLOAD_MAX + 1 };

	CHECK(write(fd, &h, sizeof(h)) == sizeof(h), "write");
	CHECK(!readn(fd, buf, 1), "oversized message not cut off");
	close(fd);
	fd = dial();
	CHECK(rpc(fd, XS_READ, 0, "/w/x", 5, buf, NULL) == XS_READ, "daemon not serving after garbage");
	close(fd);
}

/* A client that floods and never reads is held back; another client is still served. */
static void test_flood(void)
{
	char buf[XENSTORE_PAYLOAD_MAX + 1];
	int bad = dial(), fd = dial();
	char req[64];
	unsigned sent = 0;

	for (unsigned i = 0; i < 20000; i++) {
		struct xsd_sockmsg h = { XS_DIRECTORY, i, 0, 4 };
		memcpy(req, &h, sizeof(h));
		memcpy(req + sizeof(h), "/dp", 4);
		struct pollfd pf = { bad, POLLOUT, 0 };
		if (poll(&pf, 1, 50) != 1)
			break;  /* the daemon stopped reading us: the point */
		if (send(bad, req, sizeof(h) + 4, MSG_DONTWAIT) <= 0)
			break;
		sent++;
	}
	CHECK(sent < 20000, "daemon read all %u flood requests without us reading replies", sent);
	CHECK(rpc(fd, XS_READ, 0, "/w/x", 5, buf, NULL) == XS_READ, "other client starved");
	printf("xs_wire_check: flood client got %u requests in before being held back\n", sent);
	close(bad);
	close(fd);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: xs_wire_check SOCKET\n");
		return 2;
	}
	sock = argv[1];
	test_ids_and_errors();
	test_watch_and_txn();
	test_directory_part();
	test_oversized();
	test_flood();
	if (failures) {
		printf("xs_wire_check: %u FAILED\n", failures);
		return 1;
	}
	printf("xs_wire_check: OK\n");
	return 0;
}
