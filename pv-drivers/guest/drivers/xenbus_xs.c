/* xenbus requests: read, write, mkdir, rm, directory, permissions and transactions with retry on EAGAIN. */
#include "xenbus_priv.h"
#include "console.h"
#include "kstring.h"
#include "mm.h"

/* A path with its NUL, the first part of nearly every request. */
static int path_part(const char *path, struct xb_part *p)
{
	if (!path || !xb_path_ok(path))
		return -XEN_EINVAL;
	p->data = path;
	p->len = strlen(path) + 1;
	return 0;
}

/* Requests whose payload is just the path and whose reply is wanted as is. */
static int path_request(uint32_t type, xenbus_transaction_t t, const char *path,
			char **reply, unsigned *len)
{
	struct xb_part part;
	int rc = path_part(path, &part);

	if (rc)
		return rc;
	return xb_request(type, t, &part, 1, reply, len, 0);
}

int xenbus_read(xenbus_transaction_t t, const char *path, char **value, unsigned *len)
{
	return path_request(XS_READ, t, path, value, len);
}

int xenbus_write_timeout(xenbus_transaction_t t, const char *path, const char *value,
			 uint64_t timeout_ns)
{
	struct xb_part parts[2];
	int rc = path_part(path, &parts[0]);

	if (rc)
		return rc;
	if (!value)
		return -XEN_EINVAL;
	/* The value is sent without a NUL: xenstored stores exactly the bytes after the path's. */
	parts[1].data = value;
	parts[1].len = strlen(value);
	return xb_request(XS_WRITE, t, parts, 2, NULL, NULL, timeout_ns);
}

int xenbus_write(xenbus_transaction_t t, const char *path, const char *value)
{
	return xenbus_write_timeout(t, path, value, 0);
}

int xenbus_printf(xenbus_transaction_t t, const char *path, const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(buf))
		return -XEN_E2BIG;
	return xenbus_write(t, path, buf);
}

int xenbus_read_ulong(xenbus_transaction_t t, const char *path, unsigned long *val)
{
	char *s = NULL;
	int rc = xenbus_read(t, path, &s, NULL);

	if (rc)
		return rc;
	if (parse_ulong(s, val))
		rc = -XEN_EINVAL;
	free(s);
	return rc;
}

int xenbus_mkdir(xenbus_transaction_t t, const char *path)
{
	return path_request(XS_MKDIR, t, path, NULL, NULL);
}

int xenbus_rm(xenbus_transaction_t t, const char *path)
{
	return path_request(XS_RM, t, path, NULL, NULL);
}

/* Requests that answer with a list of strings. */
static int list_request(uint32_t type, xenbus_transaction_t t, const char *path,
			char ***list, unsigned *n)
{
	char *body = NULL;
	unsigned len = 0;
	int rc = path_request(type, t, path, &body, &len);

	if (rc)
		return rc;
	rc = xb_split_strings(body, len, list, n);
	free(body);
	return rc;
}

int xenbus_directory(xenbus_transaction_t t, const char *path, char ***list, unsigned *n)
{
	return list_request(XS_DIRECTORY, t, path, list, n);
}

int xenbus_get_perms(xenbus_transaction_t t, const char *path, char ***list, unsigned *n)
{
	return list_request(XS_GET_PERMS, t, path, list, n);
}

int xenbus_transaction_start(xenbus_transaction_t *t)
{
	/* The payload is one empty string, as libxenstore sends it. */
	struct xb_part part = { "", 1 };
	unsigned long id;
	char *reply = NULL;
	int rc = xb_request(XS_TRANSACTION_START, XBT_NIL, &part, 1, &reply, NULL, 0);

	if (rc)
		return rc;
	if (parse_ulong(reply, &id) || id == 0 || id > UINT32_MAX) {
		printk("xenbus: transaction start: bad id '%.32s'\n", reply);
		rc = -XEN_EIO;
	} else {
		*t = (xenbus_transaction_t)id;
	}
	free(reply);
	return rc;
}

int xenbus_transaction_end(xenbus_transaction_t t, bool abort)
{
	struct xb_part part = { abort ? "F" : "T", 2 };

	if (t == XBT_NIL)
		return -XEN_EINVAL;
	return xb_request(XS_TRANSACTION_END, t, &part, 1, NULL, NULL, 0);
}

int xenbus_transaction_run(int (*fn)(xenbus_transaction_t t, void *arg), void *arg,
			   unsigned max_tries, unsigned *tries)
{
	unsigned attempt = 0;
	int rc;

	if (!max_tries)
		max_tries = 16;
	do {
		xenbus_transaction_t t;

		attempt++;
		rc = xenbus_transaction_start(&t);
		if (rc)
			break;
		rc = fn(t, arg);
		if (rc) {
			/* fn may see the conflict first (a daemon can fail reads in a doomed transaction). */
			xenbus_transaction_end(t, true);
			if (rc != -XEN_EAGAIN)
				break;
			continue;
		}
		rc = xenbus_transaction_end(t, false);
	} while (rc == -XEN_EAGAIN && attempt < max_tries);
	if (tries)
		*tries = attempt;
	return rc;
}
