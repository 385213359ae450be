/* control.c: XS_CONTROL, the commands of Xen's xenstore-control (check, log, memreport, print, quota, quota-soft, help) with Xen's replies. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kxenstored.h"

struct ctl {
	struct xs_conn *c;
	char **argv;                /* the command's parameters (the command itself excluded) */
	unsigned argc;
	char *reply;
	size_t max;
	unsigned *rlen;
};

/* Appends printf-style text to the reply; the caller NUL-terminates it with reply_end(). */
static int say(struct ctl *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int say(struct ctl *x, const char *fmt, ...)
{
	va_list ap;
	int l;

	va_start(ap, fmt);
	l = vsnprintf(x->reply + *x->rlen, x->max - *x->rlen, fmt, ap);
	va_end(ap);
	if (l < 0 || (size_t)l >= x->max - *x->rlen)
		return -E2BIG;
	*x->rlen += (unsigned)l;
	return 0;
}

/* Xen sends the text with its NUL, so xenstore-control prints it as one string. */
static int reply_end(struct ctl *x)
{
	if (*x->rlen + 1 > x->max)
		return -E2BIG;
	x->reply[(*x->rlen)++] = 0;
	return 0;
}

static int ok(struct ctl *x)
{
	int rc = say(x, "OK");

	return rc < 0 ? rc : reply_end(x);
}

static void check_log(void *arg, const char *msg)
{
	server__log(arg, "check: %s", msg);
}

static int do_check(struct ctl *x)
{
	struct xs_server *srv = x->c->srv;
	unsigned bad;

	if (x->argc)
		return -EINVAL;
	bad = store__check(&srv->store, check_log, srv);
	server__log(srv, "check: %u nodes, %u problem%s", srv->store.count, bad, bad == 1 ? "" : "s");
	return ok(x);               /* as Xen's: the findings go to the log */
}

static int do_log(struct ctl *x)
{
	if (x->argc != 1 || (strcmp(x->argv[0], "on") && strcmp(x->argv[0], "off")))
		return -EINVAL;
	x->c->srv->log_requests = !strcmp(x->argv[0], "on");
	return ok(x);
}

static int do_memreport(struct ctl *x)
{
	struct xs_server *srv = x->c->srv;
	const struct xs_store *s = &srv->store;
	char buf[256];
	FILE *f;

	if (x->argc > 1)
		return -EINVAL;
	snprintf(buf, sizeof(buf), "nodes %u bytes %zu old-versions %u old-bytes %zu watches %u domains %u",
	         s->count, s->bytes, s->old_count, s->old_bytes, srv->watches.count, srv->ndomains);
	if (!x->argc) {
		server__log(srv, "memreport: %s", buf);
		return ok(x);
	}
	/* Xen writes the report into the file dom0 names. */
	if (!(f = fopen(x->argv[0], "a")))
		return -errno;
	fprintf(f, "%s\n", buf);
	if (fclose(f))
		return -EIO;
	return ok(x);
}

static int do_print(struct ctl *x)
{
	if (x->argc != 1)
		return -EINVAL;
	server__log(x->c->srv, "control: %s", x->argv[0]);
	return ok(x);
}

/* Xen's "quota <domid>": what one domain uses against its quotas. */
static int quota_domain(struct ctl *x, const char *arg)
{
	struct xs_server *srv = x->c->srv;
	unsigned long domid;
	unsigned watches = 0, txns = 0, outstanding = 0;
	char *end;
	int rc;

	if (arg[0] < '0' || arg[0] > '9')
		return -EINVAL;
	domid = strtoul(arg, &end, 10);
	if (*end || domid > 0xffff)
		return -EINVAL;
	if (!domain__exists(srv, (unsigned)domid) && !store__owned(&srv->store, (unsigned)domid))
		return -ENOENT;
	for (const struct xs_conn *c = srv->conns; c; c = c->next)
		if (c->domid == domid) {
			watches += c->nwatches;
			txns += c->ntxns;
			outstanding += c->out_replies;
		}
	if ((rc = say(x, "Domain %lu:\n", domid)) ||
	    (rc = say(x, "%-16s: %8u\n", "nodes", store__owned(&srv->store, (unsigned)domid))) ||
	    (rc = say(x, "%-16s: %8u\n", "watches", watches)) ||
	    (rc = say(x, "%-16s: %8u\n", "transactions", txns)) ||
	    (rc = say(x, "%-16s: %8u\n", "outstanding", outstanding)) ||
	    (rc = say(x, "%-16s: %8zu\n", "memory", store__owned_bytes(&srv->store, (unsigned)domid))))
		return rc;
	return reply_end(x);
}

/* "set NAME VALUE" for one of the tables: Xen wants VALUE at least 1. */
static int quota_set(struct ctl *x, int (*set)(struct xs_quota *q, const char *name, unsigned v))
{
	char *end;
	unsigned long v;

	if (x->argc != 3 || x->argv[2][0] < '0' || x->argv[2][0] > '9')
		return -EINVAL;
	v = strtoul(x->argv[2], &end, 10);
	if (*end || !v || v > INT32_MAX || set(&x->c->srv->quota, x->argv[1], (unsigned)v) < 0)
		return -EINVAL;
	return ok(x);
}

static int do_quota(struct ctl *x)
{
	if (!x->argc) {
		*x->rlen = (unsigned)quota__print(&x->c->srv->quota, x->reply, x->max - 1);
		return reply_end(x);
	}
	if (!strcmp(x->argv[0], "set"))
		return quota_set(x, quota__set);
	if (x->argc != 1)
		return -EINVAL;
	return quota_domain(x, x->argv[0]);
}

static int do_quota_soft(struct ctl *x)
{
	if (!x->argc) {
		*x->rlen = (unsigned)quota__print_soft(&x->c->srv->quota, x->reply, x->max - 1);
		return reply_end(x);
	}
	if (!strcmp(x->argv[0], "set"))
		return quota_set(x, quota__set_soft);
	return -EINVAL;
}

static int do_help(struct ctl *x);

static const struct {
	const char *name;
	const char *params;
	int (*fn)(struct ctl *x);
} cmds[] = {
	{ "check", "", do_check },
	{ "log", "on|off", do_log },
	{ "memreport", "[<file>]", do_memreport },
	{ "print", "<string>", do_print },
	{ "quota", "[set <name> <val>|<domid>]", do_quota },
	{ "quota-soft", "[set <name> <val>]", do_quota_soft },
	{ "help", "", do_help },
};

static int do_help(struct ctl *x)
{
	int rc;

	if (x->argc)
		return -EINVAL;
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if ((rc = say(x, "%s\t%s\n", cmds[i].name, cmds[i].params)))
			return rc;
	return reply_end(x);
}

int control__run(struct xs_conn *c, char **argv, unsigned argc, char *reply, size_t max,
                 unsigned *rlen)
{
	struct ctl x = { c, argv + 1, argc - 1, reply, max, rlen };

	*rlen = 0;
	/* Unknown commands are EINVAL: xenstore-control then asks for "help" and lists the valid ones. */
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (!strcmp(argv[0], cmds[i].name))
			return cmds[i].fn(&x);
	return -EINVAL;
}
