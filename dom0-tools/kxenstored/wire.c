/* wire.c: the xs_wire request table; argument, privilege and transaction checks are done once, here. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xen/xen.h>            /* DOMID_FIRST_RESERVED */

#include "kxenstored.h"
#include "persist.h"

struct xs_req {
	struct xs_conn *c;
	struct xs_ctx x;
	char *argv[XS_MAX_ARGS];
	unsigned argc;
	char path[XENSTORE_ABS_PATH_MAX + 1];   /* the first argument, made absolute */
	unsigned strip;                         /* prefix added to a relative path */
	char reply[XENSTORE_PAYLOAD_MAX];
	unsigned rlen;
};

enum {
	W_PRIV = 1 << 0,        /* dom0 only */
	W_TXN = 1 << 1,         /* runs inside the transaction named by tx_id */
	W_PATH = 1 << 2,        /* argv[0] is a node path */
	W_SPECIAL = 1 << 3,     /* ... which may be an @special watch path */
};

struct xs_op {
	uint32_t type;
	const char *name;
	int (*handler)(struct xs_req *r);
	unsigned flags;
	unsigned min_args;
};

static int reply_str(struct xs_req *r, const char *s)
{
	size_t l = strlen(s) + 1;

	if (r->rlen + l > sizeof(r->reply))
		return -E2BIG;
	memcpy(r->reply + r->rlen, s, l);
	r->rlen += (unsigned)l;
	return 0;
}

static int ok(struct xs_req *r)
{
	return reply_str(r, "OK");
}

static int parse_uint(const char *s, uint64_t max, uint64_t *out)
{
	char *end;

	if (s[0] < '0' || s[0] > '9')
		return -EINVAL;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || *end || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

static int parse_domid(const char *s, unsigned *domid)
{
	uint64_t v;

	if (parse_uint(s, DOMID_FIRST_RESERVED - 1, &v) < 0)
		return -EINVAL;
	*domid = (unsigned)v;
	return 0;
}

static int h_read(struct xs_req *r)
{
	struct xs_view v;
	int rc = txn__read(&r->x, r->path, &v);

	if (rc < 0)
		return rc;
	if (v.vlen > sizeof(r->reply))
		return -E2BIG;
	memcpy(r->reply, v.value, v.vlen);
	r->rlen = v.vlen;
	return 0;
}

static int h_write(struct xs_req *r)
{
	const char *val = r->argv[0] + strlen(r->argv[0]) + 1;
	unsigned vlen = r->c->hdr.len - (unsigned)(val - r->c->in);
	int rc = txn__write(&r->x, r->path, val, vlen);

	return rc < 0 ? rc : ok(r);
}

static int h_mkdir(struct xs_req *r)
{
	int rc = txn__mkdir(&r->x, r->path);

	return rc < 0 ? rc : ok(r);
}

static int h_rm(struct xs_req *r)
{
	int rc = txn__rm(&r->x, r->path);

	return rc < 0 ? rc : ok(r);
}

static int add_name(void *arg, const char *name)
{
	return reply_str(arg, name);
}

static int h_directory(struct xs_req *r)
{
	struct xs_view v;
	int rc = txn__read(&r->x, r->path, &v);

	if (rc < 0)
		return rc;
	return txn__children(&r->x, r->path, add_name, r);
}

struct part { struct xs_req *r; uint64_t off, pos; bool full; };

static int add_part(void *arg, const char *name)
{
	struct part *p = arg;
	size_t l = strlen(name) + 1;

	if (p->pos >= p->off) {
		/* Keep room for the closing empty string that marks the end. */
		if (p->r->rlen + l + 1 > sizeof(p->r->reply)) {
			p->full = true;
			return 1;
		}
		reply_str(p->r, name);
	}
	p->pos += l;
	return 0;
}

static int h_directory_part(struct xs_req *r)
{
	struct xs_view v;
	struct part p = { r, 0, 0, false };
	char gen[24];
	int rc;

	if ((rc = parse_uint(r->argv[1], UINT32_MAX, &p.off)) < 0)
		return rc;
	if ((rc = txn__read(&r->x, r->path, &v)) < 0)
		return rc;
	snprintf(gen, sizeof(gen), "%" PRIu64, v.gen);
	reply_str(r, gen);
	if ((rc = txn__children(&r->x, r->path, add_part, &p)) < 0)
		return rc;
	if (!p.full)
		reply_str(r, "");
	return 0;
}

static int h_get_perms(struct xs_req *r)
{
	struct xs_view v;
	int rc = txn__read(&r->x, r->path, &v);

	if (rc < 0)
		return rc;
	if ((rc = perm__format(v.perms, v.nperms, r->reply, sizeof(r->reply))) < 0)
		return rc;
	r->rlen = (unsigned)rc;
	return 0;
}

static int h_set_perms(struct xs_req *r)
{
	struct xs_permissions p[XS_MAX_ARGS];
	const char *list = r->argv[0] + strlen(r->argv[0]) + 1;
	unsigned quota = r->c->privileged ? XS_MAX_ARGS : r->c->srv->quota.perms_per_node;
	/* The quota may be set above what a node can hold: the array bounds the parse, whatever the quota says. */
	unsigned n, max = quota < XS_MAX_ARGS ? quota : XS_MAX_ARGS;
	int rc = perm__parse(list, r->c->hdr.len - (unsigned)(list - r->c->in), max, p, &n);

	if (rc == -ENOSPC && max < quota)
		rc = -E2BIG;
	if (rc < 0)
		return rc;
	if ((rc = domain__check_perms(r->c->srv, p, n)) < 0)
		return rc;
	if ((rc = txn__set_perms(&r->x, r->path, p, n)) < 0)
		return rc;
	return ok(r);
}

static int h_watch(struct xs_req *r)
{
	struct xs_watch *w;
	int rc = watch__add(r->c->srv, r->c, r->path, r->strip, r->argv[1], &w);

	if (rc < 0)
		return rc;
	/* Xen fires a new watch once, after its reply. */
	conn__queue(r->c, XS_WATCH, r->c->hdr.req_id, r->c->hdr.tx_id, "OK", 3, NULL, 0);
	watch__event(w, w->path);
	return 1;
}

static int h_unwatch(struct xs_req *r)
{
	int rc = watch__remove(r->c->srv, r->c, r->path, r->argv[1]);

	return rc < 0 ? rc : ok(r);
}

static int h_txn_start(struct xs_req *r)
{
	struct xs_conn *c = r->c;
	struct xs_txn *t;
	char id[16];

	if (c->hdr.tx_id)
		return -EBUSY;
	if (!c->privileged && c->ntxns >= c->srv->quota.txns_per_conn)
		return -ENOSPC;
	if (!(t = malloc(sizeof(*t))))
		return -ENOMEM;
	if (!c->next_txid)
		c->next_txid = 1;
	txn__init(t, c->next_txid++, c);
	t->next = c->txns;
	c->txns = t;
	c->ntxns++;
	snprintf(id, sizeof(id), "%u", t->id);
	return reply_str(r, id);
}

static int h_txn_end(struct xs_req *r)
{
	struct xs_conn *c = r->c;
	struct xs_txn **pp = &c->txns, *t;
	int rc = 0;

	if (strcmp(r->argv[0], "T") && strcmp(r->argv[0], "F"))
		return -EINVAL;
	while (*pp && *pp != r->x.txn)
		pp = &(*pp)->next;
	if (!(t = *pp))
		return -ENOENT;
	*pp = t->next;
	c->ntxns--;
	if (r->argv[0][0] == 'T')
		rc = txn__commit(c->srv, t);
	txn__free(t);
	free(t);
	r->x.txn = NULL;
	return rc < 0 ? rc : ok(r);
}

static int h_introduce(struct xs_req *r)
{
	unsigned domid;
	uint64_t gfn, port;
	int rc;

	if (parse_domid(r->argv[0], &domid) < 0 || !domid ||
	    parse_uint(r->argv[1], UINT64_MAX >> 12, &gfn) < 0 ||
	    parse_uint(r->argv[2], UINT32_MAX, &port) < 0)
		return -EINVAL;
	if ((rc = domain__introduce(r->c->srv, domid, gfn, (unsigned)port)) < 0)
		return rc;
	return ok(r);
}

static int h_release(struct xs_req *r)
{
	unsigned domid;
	int rc;

	if (parse_domid(r->argv[0], &domid) < 0 || !domid)
		return -EINVAL;
	if ((rc = domain__release(r->c->srv, domid)) < 0)
		return rc;
	return ok(r);
}

static int h_get_domain_path(struct xs_req *r)
{
	unsigned domid;
	char p[32];

	if (parse_domid(r->argv[0], &domid) < 0)
		return -EINVAL;
	snprintf(p, sizeof(p), "/local/domain/%u", domid);
	return reply_str(r, p);
}

static int h_is_introduced(struct xs_req *r)
{
	unsigned domid;

	if (parse_domid(r->argv[0], &domid) < 0)
		return -EINVAL;
	return reply_str(r, !domid || domain__find(r->c->srv, domid) ? "T" : "F");
}

static int h_resume(struct xs_req *r)
{
	unsigned domid;
	struct xs_domain *d;

	if (parse_domid(r->argv[0], &domid) < 0)
		return -EINVAL;
	if (!(d = domain__find(r->c->srv, domid)))
		return -ENOENT;
	d->shutdown = false;
	persist__domain(r->c->srv, domid);
	return ok(r);
}

static int h_set_target(struct xs_req *r)
{
	unsigned domid, target;
	struct xs_domain *d;

	if (parse_domid(r->argv[0], &domid) < 0 || parse_domid(r->argv[1], &target) < 0)
		return -EINVAL;
	if (!(d = domain__find(r->c->srv, domid)))
		return -ENOENT;
	d->target = target;
	persist__domain(r->c->srv, domid);
	if (d->conn)
		d->conn->target = target;
	return ok(r);
}

static int h_reset_watches(struct xs_req *r)
{
	struct xs_conn *c = r->c;

	watch__remove_conn(c->srv, c);
	while (c->txns) {
		struct xs_txn *t = c->txns;
		c->txns = t->next;
		txn__free(t);
		free(t);
	}
	c->ntxns = 0;
	return ok(r);
}

static int h_control(struct xs_req *r)
{
	return control__run(r->c, r->argv, r->argc, r->reply, sizeof(r->reply), &r->rlen);
}

static const struct xs_op ops[XS_TYPE_COUNT] = {
	[XS_CONTROL] = { XS_CONTROL, "CONTROL", h_control, W_PRIV, 1 },
	[XS_DIRECTORY] = { XS_DIRECTORY, "DIRECTORY", h_directory, W_TXN | W_PATH, 1 },
	[XS_READ] = { XS_READ, "READ", h_read, W_TXN | W_PATH, 1 },
	[XS_GET_PERMS] = { XS_GET_PERMS, "GET_PERMS", h_get_perms, W_TXN | W_PATH, 1 },
	[XS_WATCH] = { XS_WATCH, "WATCH", h_watch, W_PATH | W_SPECIAL, 2 },
	[XS_UNWATCH] = { XS_UNWATCH, "UNWATCH", h_unwatch, W_PATH | W_SPECIAL, 2 },
	[XS_TRANSACTION_START] = { XS_TRANSACTION_START, "TRANSACTION_START", h_txn_start, 0, 0 },
	[XS_TRANSACTION_END] = { XS_TRANSACTION_END, "TRANSACTION_END", h_txn_end, W_TXN, 1 },
	[XS_INTRODUCE] = { XS_INTRODUCE, "INTRODUCE", h_introduce, W_PRIV, 3 },
	[XS_RELEASE] = { XS_RELEASE, "RELEASE", h_release, W_PRIV, 1 },
	[XS_GET_DOMAIN_PATH] = { XS_GET_DOMAIN_PATH, "GET_DOMAIN_PATH", h_get_domain_path, 0, 1 },
	[XS_WRITE] = { XS_WRITE, "WRITE", h_write, W_TXN | W_PATH, 1 },
	[XS_MKDIR] = { XS_MKDIR, "MKDIR", h_mkdir, W_TXN | W_PATH, 1 },
	[XS_RM] = { XS_RM, "RM", h_rm, W_TXN | W_PATH, 1 },
	[XS_SET_PERMS] = { XS_SET_PERMS, "SET_PERMS", h_set_perms, W_TXN | W_PATH, 2 },
	[XS_IS_DOMAIN_INTRODUCED] = { XS_IS_DOMAIN_INTRODUCED, "IS_DOMAIN_INTRODUCED", h_is_introduced, W_PRIV, 1 },
	[XS_RESUME] = { XS_RESUME, "RESUME", h_resume, W_PRIV, 1 },
	[XS_SET_TARGET] = { XS_SET_TARGET, "SET_TARGET", h_set_target, W_PRIV, 2 },
	[XS_RESET_WATCHES] = { XS_RESET_WATCHES, "RESET_WATCHES", h_reset_watches, 0, 0 },
	[XS_DIRECTORY_PART] = { XS_DIRECTORY_PART, "DIRECTORY_PART", h_directory_part, W_TXN | W_PATH, 2 },
};

const char *wire__typename(uint32_t type)
{
	if (type == XS_WATCH_EVENT)
		return "WATCH_EVENT";
	if (type == XS_ERROR)
		return "ERROR";
	return type < XS_TYPE_COUNT && ops[type].name ? ops[type].name : "?";
}

const char *wire__errstr(int err)
{
	for (size_t i = 0; i < sizeof(xsd_errors) / sizeof(xsd_errors[0]); i++)
		if (xsd_errors[i].errnum == err)
			return xsd_errors[i].errstring;
	return "EINVAL";
}

/* Splits the payload into NUL-terminated strings; a WRITE's value may lack its NUL. */
static void split(struct xs_req *r)
{
	char *p = r->c->in, *end = p + r->c->hdr.len;

	r->argc = 0;
	while (p < end && r->argc < XS_MAX_ARGS) {
		char *nul = memchr(p, 0, (size_t)(end - p));
		if (!nul)
			break;      /* unterminated tail: not an argument */
		r->argv[r->argc++] = p;
		p = nul + 1;
	}
}

/* Makes argv[0] absolute: relative paths are under the caller's /local/domain/N. */
static int canonical(struct xs_req *r, bool special)
{
	const char *p = r->argv[0];
	size_t l = strlen(p);

	r->strip = 0;
	if (special && p[0] == '@') {
		if (l > XENSTORE_REL_PATH_MAX)      /* Xen's limit for @special watch paths */
			return -EINVAL;
		memcpy(r->path, p, l + 1);
	} else if (p[0] == '/') {
		if (l > XENSTORE_ABS_PATH_MAX)
			return -EINVAL;
		memcpy(r->path, p, l + 1);
	} else {
		if (l > XENSTORE_REL_PATH_MAX || !l)
			return -EINVAL;
		int n = snprintf(r->path, sizeof(r->path), "/local/domain/%u/%s", r->c->domid, p);
		if (n < 0 || (size_t)n >= sizeof(r->path))
			return -EINVAL;
		r->strip = (unsigned)(n - l);
	}
	if (!path__valid(r->path, special))
		return -EINVAL;
	/* Xen: a guest's paths may be path-max long past its /local/domain/N/. */
	if (!r->c->privileged && r->path[0] == '/' && path__too_long(r->path, r->c->srv->quota.path_max))
		return -EINVAL;
	return 0;
}

static int handle(struct xs_req *r)
{
	struct xs_conn *c = r->c;
	const struct xs_op *op = c->hdr.type < XS_TYPE_COUNT ? &ops[c->hdr.type] : NULL;
	int rc;

	if (!op || !op->handler)
		return -EINVAL;
	if ((op->flags & W_PRIV) && !c->privileged)
		return -EACCES;
	split(r);
	if (r->argc < op->min_args)
		return -EINVAL;
	if ((op->flags & W_PATH) && (rc = canonical(r, op->flags & W_SPECIAL)) < 0)
		return rc;
	if ((op->flags & W_TXN) && c->hdr.tx_id) {
		for (r->x.txn = c->txns; r->x.txn && r->x.txn->id != c->hdr.tx_id; r->x.txn = r->x.txn->next)
			;
		/* One a restart lost: EAGAIN, which every xenbus client answers by starting again. */
		if (!r->x.txn)
			return c->hdr.tx_id < c->txid_floor ? -EAGAIN : -ENOENT;
	}
	return op->handler(r);
}

int wire__dispatch(struct xs_conn *c)
{
	static struct xs_req r;        /* one request at a time; keeps 7 KiB off the stack */
	int rc;

	memset(&r, 0, offsetof(struct xs_req, path));
	r.rlen = 0;
	r.c = c;
	r.x.srv = c->srv;
	r.x.domid = c->domid;
	r.x.target = c->target;
	r.x.privileged = c->privileged;
	rc = handle(&r);
	if (c->srv->log_requests)
		server__log(c->srv, "d%u %s req %u tx %u: %s", c->domid, wire__typename(c->hdr.type),
		            c->hdr.req_id, c->hdr.tx_id, rc < 0 ? wire__errstr(-rc) : "ok");
	if (rc == 1)
		return 0;
	if (rc < 0) {
		const char *e = wire__errstr(-rc);
		rc = conn__queue(c, XS_ERROR, c->hdr.req_id, c->hdr.tx_id, e, (unsigned)strlen(e) + 1, NULL, 0);
	} else {
		rc = conn__queue(c, c->hdr.type, c->hdr.req_id, c->hdr.tx_id, r.reply, r.rlen, NULL, 0);
	}
	return rc == -ENOMEM ? rc : 0;
}
