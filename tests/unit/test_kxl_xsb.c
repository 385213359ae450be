/* kxl's one xenstore transaction retry loop (kxl_xsb_txn in kxl_xsbatch.c) against a scripted xenstored on a Unix socket. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <xenstore.h>
#include <xen/io/xs_wire.h>
#include "cunit_run.h"
#include "kxl_xs.h"

/* What the fake xenstored saw, request by request. */
struct seen {
	uint32_t type, tx;
	char body[64];
};

static char sock_path[108];
static int listen_fd = -1;
static pthread_t server;
/* The script: how many commits to answer EAGAIN, and a path whose WRITE is refused with EACCES. */
static int eagain_left;
static const char *refuse;
static struct seen seen[256];
static int nseen;

const char *kxl_xs_socket_path(void)
{
	return sock_path;
}

static int full(int fd, void *p, size_t len, int out)
{
	for (size_t done = 0; done < len;) {
		ssize_t n = out ? write(fd, (char *)p + done, len - done) : read(fd, (char *)p + done, len - done);
		if (n <= 0)
			return -1;
		done += (size_t)n;
	}
	return 0;
}

static void reply(int fd, const struct xsd_sockmsg *req, uint32_t type, const char *body, size_t len)
{
	struct xsd_sockmsg h = { .type = type, .req_id = req->req_id, .tx_id = req->tx_id,
	                         .len = (uint32_t)len };

	full(fd, &h, sizeof(h), 1);
	full(fd, (void *)body, len, 1);
}

/* One connection, answered in order until the client closes it. */
static void *serve(void *arg)
{
	int fd = accept(listen_fd, NULL, NULL);
	uint32_t next_tx = 7;
	char body[XENSTORE_PAYLOAD_MAX + 1];
	struct xsd_sockmsg h;

	(void)arg;
	while (fd >= 0 && full(fd, &h, sizeof(h), 0) == 0 && h.len <= XENSTORE_PAYLOAD_MAX &&
	       full(fd, body, h.len, 0) == 0) {
		body[h.len] = '\0';
		if (nseen < (int)CUNIT_COUNT(seen)) {
			seen[nseen] = (struct seen){ .type = h.type, .tx = h.tx_id };
			snprintf(seen[nseen].body, sizeof(seen[nseen].body), "%s", body);
			nseen++;
		}
		if (h.type == XS_TRANSACTION_START) {
			char id[16];
			int n = snprintf(id, sizeof(id), "%u", next_tx++);
			reply(fd, &h, h.type, id, (size_t)n + 1);
		} else if (h.type == XS_TRANSACTION_END && !strcmp(body, "T") && eagain_left > 0) {
			eagain_left--;
			reply(fd, &h, XS_ERROR, "EAGAIN", 7);
		} else if (h.type == XS_WRITE && refuse && !strcmp(body, refuse)) {
			reply(fd, &h, XS_ERROR, "EACCES", 7);
		} else {
			reply(fd, &h, h.type, "OK", 3);
		}
	}
	if (fd >= 0)
		close(fd);
	return NULL;
}

/* A fresh fake xenstored for one test, scripted by the arguments. */
static void start(int eagains, const char *refused)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };

	eagain_left = eagains;
	refuse = refused;
	nseen = 0;
	snprintf(sock_path, sizeof(sock_path), "/tmp/test_kxl_xsb.%d.sock", (int)getpid());
	unlink(sock_path);
	strcpy(a.sun_path, sock_path);
	listen_fd = socket(AF_UNIX, SOCK_STREAM, 0);
	CU_ASSERT_FATAL(listen_fd >= 0);
	CU_ASSERT_FATAL(bind(listen_fd, (struct sockaddr *)&a, sizeof(a)) == 0);
	CU_ASSERT_FATAL(listen(listen_fd, 1) == 0);
	CU_ASSERT_FATAL(pthread_create(&server, NULL, serve, NULL) == 0);
}

static void stop(struct kxl_xsb *b)
{
	kxl_xsb_close(b);
	pthread_join(server, NULL);
	close(listen_fd);
	unlink(sock_path);
}

static int count(uint32_t type, const char *body)
{
	int n = 0;

	for (int i = 0; i < nseen; i++)
		n += seen[i].type == type && (!body || !strcmp(seen[i].body, body));
	return n;
}

/* The transaction of the tests: a node with permissions and a write; counts its calls. */
static int queue_two(struct kxl_xsb *b, uint32_t t, void *arg, char *failed, size_t flen)
{
	struct xs_permissions p[2] = { { 0, XS_PERM_NONE }, { 3, XS_PERM_READ } };

	(void)failed;
	(void)flen;
	++*(int *)arg;
	kxl_xsb_node(b, t, "/a/n", p, 2);
	kxl_xsb_writef(b, t, "/a/x", "%d", 42);
	return 0;
}

static int queue_exists(struct kxl_xsb *b, uint32_t t, void *arg, char *failed, size_t flen)
{
	(void)b;
	(void)t;
	++*(int *)arg;
	snprintf(failed, flen, "add it: it exists already");
	return -EEXIST;
}

static void after_intro(struct kxl_xsb *b, void *arg)
{
	(void)arg;
	kxl_xsb_add(b, XS_INTRODUCE, 0, "3\0" "100\0" "1", 8, NULL, 0);
}

static void test_commit_first_time(void)
{
	int calls = 0;
	struct kxl_xsb_txn x = { .queue = queue_two, .after = after_intro, .arg = &calls };
	struct kxl_xsb b;
	char failed[128] = "";

	start(0, NULL);
	CU_ASSERT_EQUAL_FATAL(kxl_xsb_open(&b), 0);
	CU_ASSERT_EQUAL(kxl_xsb_txn(&b, &x, failed, sizeof(failed)), 0);
	stop(&b);
	CU_ASSERT_EQUAL(calls, 1);
	/* START; then WRITE+SET_PERMS of the node, the write, the commit and the introduce. */
	CU_ASSERT_EQUAL(nseen, 6);
	CU_ASSERT_EQUAL(seen[1].type, XS_WRITE);
	CU_ASSERT_EQUAL(seen[1].tx, 7);
	CU_ASSERT_EQUAL(seen[2].type, XS_SET_PERMS);
	CU_ASSERT_STRING_EQUAL(seen[3].body, "/a/x");
	CU_ASSERT_EQUAL(seen[4].type, XS_TRANSACTION_END);
	CU_ASSERT_STRING_EQUAL(seen[4].body, "T");
	CU_ASSERT_EQUAL(seen[5].type, XS_INTRODUCE);
	CU_ASSERT_EQUAL(seen[5].tx, 0);
}

static void test_retry_on_eagain(void)
{
	int calls = 0;
	struct kxl_xsb_txn x = { .queue = queue_two, .after = after_intro, .arg = &calls };
	struct kxl_xsb b;
	char failed[128] = "";

	start(2, NULL);
	CU_ASSERT_EQUAL_FATAL(kxl_xsb_open(&b), 0);
	CU_ASSERT_EQUAL(kxl_xsb_txn(&b, &x, failed, sizeof(failed)), 0);
	stop(&b);
	CU_ASSERT_EQUAL(calls, 3);
	CU_ASSERT_EQUAL(count(XS_TRANSACTION_START, NULL), 3);
	CU_ASSERT_EQUAL(count(XS_TRANSACTION_END, "T"), 3);
	/* The introduce goes once, behind the first commit, even though that one was retried. */
	CU_ASSERT_EQUAL(count(XS_INTRODUCE, NULL), 1);
	/* The last attempt runs under the last transaction started. */
	CU_ASSERT_EQUAL(seen[nseen - 1].type, XS_TRANSACTION_END);
	CU_ASSERT_EQUAL(seen[nseen - 1].tx, 9);
}

static void test_gives_up(void)
{
	int calls = 0;
	struct kxl_xsb_txn x = { .queue = queue_two, .arg = &calls };
	struct kxl_xsb b;
	char failed[128] = "";

	start(1000, NULL);
	CU_ASSERT_EQUAL_FATAL(kxl_xsb_open(&b), 0);
	CU_ASSERT_EQUAL(kxl_xsb_txn(&b, &x, failed, sizeof(failed)), -EAGAIN);
	stop(&b);
	CU_ASSERT_EQUAL(calls, 17);
	CU_ASSERT_STRING_EQUAL(failed, "commit the transaction");
	CU_ASSERT_EQUAL(x.committed, 0);
}

static void test_refused_write(void)
{
	int calls = 0;
	struct kxl_xsb_txn x = { .queue = queue_two, .arg = &calls };
	struct kxl_xsb b;
	char failed[128] = "";

	start(0, "/a/x");
	CU_ASSERT_EQUAL_FATAL(kxl_xsb_open(&b), 0);
	CU_ASSERT_EQUAL(kxl_xsb_txn(&b, &x, failed, sizeof(failed)), -EACCES);
	stop(&b);
	CU_ASSERT_EQUAL(calls, 1);
	CU_ASSERT_STRING_EQUAL(failed, "write /a/x");
	/* The commit kept the node: the caller must know to remove it. */
	CU_ASSERT_EQUAL(x.committed, 1);
}

static void test_queue_gives_up(void)
{
	int calls = 0;
	struct kxl_xsb_txn x = { .queue = queue_exists, .after = after_intro, .arg = &calls };
	struct kxl_xsb b;
	char failed[128] = "";

	start(0, NULL);
	CU_ASSERT_EQUAL_FATAL(kxl_xsb_open(&b), 0);
	CU_ASSERT_EQUAL(kxl_xsb_txn(&b, &x, failed, sizeof(failed)), -EEXIST);
	stop(&b);
	CU_ASSERT_EQUAL(calls, 1);
	CU_ASSERT_STRING_EQUAL(failed, "add it: it exists already");
	/* Aborted, and nothing else sent: no commit, no introduce. */
	CU_ASSERT_EQUAL(nseen, 2);
	CU_ASSERT_EQUAL(seen[1].type, XS_TRANSACTION_END);
	CU_ASSERT_STRING_EQUAL(seen[1].body, "F");
	CU_ASSERT_EQUAL(count(XS_INTRODUCE, NULL), 0);
}

int main(void)
{
	static const struct cunit_test tests[] = {
		{ "commits the first time: START, then the writes, the commit, the introduce", test_commit_first_time },
		{ "EAGAIN retried, the introduce sent once", test_retry_on_eagain },
		{ "gives up after 17 attempts", test_gives_up },
		{ "a refused write named, the partial commit reported", test_refused_write },
		{ "queue's refusal aborts the transaction", test_queue_gives_up },
	};

	return cunit_run("kxl_xsb", tests, CUNIT_COUNT(tests), NULL, NULL);
}
