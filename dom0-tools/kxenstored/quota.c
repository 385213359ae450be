/* kxenstored's quotas: Xen's defaults, and setting and printing them by Xen's names (xenstore-control quota). */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "kxenstored.h"

/* Xen's defaults (xenstored -h): entry-nb 1000, entry-size 2048, perms 5, watches 128, transactions 10. */
void quota__defaults(struct xs_quota *q)
{
	q->nodes_per_domain = 1000;
	q->node_size = 2048;
	q->perms_per_node = 5;
	q->watches_per_conn = 128;
	q->txns_per_conn = 10;
	q->txn_nodes = 1024;
	q->out_bytes = 256 * 1024;
	q->outstanding = 20;
	q->path_max = XENSTORE_REL_PATH_MAX;
	q->memory = 2 * 1024 * 1024 + 512 * 1024;
	q->memory_soft = 2 * 1024 * 1024;
}

/* Xen's names and descriptions (xenstore-control quota), in Xen's order; ours after them. */
struct quota_entry { const char *name; size_t off; const char *what; };

static const struct quota_entry quota_table[] = {
	{ "nodes", offsetof(struct xs_quota, nodes_per_domain), "Nodes per domain" },
	{ "watches", offsetof(struct xs_quota, watches_per_conn), "Watches per domain" },
	{ "transactions", offsetof(struct xs_quota, txns_per_conn), "Transactions per domain" },
	{ "outstanding", offsetof(struct xs_quota, outstanding), "Outstanding requests per domain" },
	{ "transaction-nodes", offsetof(struct xs_quota, txn_nodes),
	  "Max. number of accessed nodes per transaction" },
	{ "memory", offsetof(struct xs_quota, memory), "Total Xenstore memory per domain (error level)" },
	{ "node-size", offsetof(struct xs_quota, node_size), "Max. size of a node" },
	{ "path-max", offsetof(struct xs_quota, path_max), "Max. length of a node path" },
	{ "permissions", offsetof(struct xs_quota, perms_per_node), "Max. number of permissions per node" },
	{ "output-bytes", offsetof(struct xs_quota, out_bytes),
	  "Max. bytes of unread replies and events per connection" },
};

static const struct quota_entry soft_table[] = {
	{ "memory", offsetof(struct xs_quota, memory_soft), "Total Xenstore memory per domain (warning level)" },
};

static int set_in(const struct quota_entry *t, size_t n, struct xs_quota *q, const char *name,
                  unsigned value)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(t[i].name, name)) {
			if (!value)
				return -EINVAL;
			*(unsigned *)((char *)q + t[i].off) = value;
			return 0;
		}
	return -EINVAL;
}

static size_t print_in(const struct quota_entry *t, size_t n, const struct xs_quota *q, char *buf,
                       size_t len)
{
	int l = snprintf(buf, len, "Quota settings:\n");
	size_t off = l > 0 && (size_t)l < len ? (size_t)l : 0;

	for (size_t i = 0; i < n && off < len; i++) {
		l = snprintf(buf + off, len - off, "%-17s: %8u %s\n", t[i].name,
		             *(const unsigned *)((const char *)q + t[i].off), t[i].what);
		if (l < 0 || (size_t)l >= len - off)
			break;
		off += (size_t)l;
	}
	return off;
}

#define COUNT(t) (sizeof(t) / sizeof((t)[0]))

int quota__set(struct xs_quota *q, const char *name, unsigned value)
{
	if (!strcmp(name, "perms"))
		name = "permissions";   /* kxenstored's older name for -q */
	return set_in(quota_table, COUNT(quota_table), q, name, value);
}

size_t quota__print(const struct xs_quota *q, char *buf, size_t len)
{
	return print_in(quota_table, COUNT(quota_table), q, buf, len);
}

int quota__set_soft(struct xs_quota *q, const char *name, unsigned value)
{
	return set_in(soft_table, COUNT(soft_table), q, name, value);
}

size_t quota__print_soft(const struct xs_quota *q, char *buf, size_t len)
{
	return print_in(soft_table, COUNT(soft_table), q, buf, len);
}
