/* kxconfig_load: reads a domain XML file, validates it and checks what the schema cannot. */
#define _GNU_SOURCE   /* memmem */
#include <config.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "config_int.h"
#include "kxen/domname.h"

/* "FILE:LINE: <elem>: ..." so the user can go straight to the spot. */
int kxc_bad(struct kxc_ld *l, xmlNodePtr n, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(l->err, l->errlen, "%s:%ld: <%s>: %s", l->path, xmlGetLineNo(n),
	         (const char *)n->name, msg);
	return -EINVAL;
}

int kxc_oom(struct kxc_ld *l)
{
	snprintf(l->err, l->errlen, "%s: out of memory", l->path);
	return -ENOMEM;
}

xmlNodePtr kxc_child(xmlNodePtr n, const char *name)
{
	for (xmlNodePtr k = n ? n->children : NULL; k; k = k->next)
		if (k->type == XML_ELEMENT_NODE && xmlStrEqual(k->name, BAD_CAST name))
			return k;
	return NULL;
}

static char *read_file(const char *path, size_t *len, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	struct stat st;
	char *buf = NULL;
	if (!f || fstat(fileno(f), &st) < 0) {
		snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		goto out;
	}
	if (S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "%s: is a directory, not a domain config", path);
		goto out;
	}
	buf = malloc(KXCONFIG_FILE_MAX + 1);
	if (!buf) {
		snprintf(err, errlen, "%s: out of memory", path);
		goto out;
	}
	*len = fread(buf, 1, KXCONFIG_FILE_MAX + 1, f);
	if (ferror(f)) {
		snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
		free(buf);
		buf = NULL;
	} else if (*len > KXCONFIG_FILE_MAX) {
		snprintf(err, errlen, "%s: larger than %u KiB, not a domain config", path,
		         KXCONFIG_FILE_MAX / 1024);
		free(buf);
		buf = NULL;
	}
out:
	if (f)
		fclose(f);
	return buf;
}

/* The rule is include/kxen/domname.h's; this says which part of it a name breaks. */
static int check_name(struct kxc_ld *l, xmlNodePtr n, const char *name)
{
	size_t bad = 0;
	char q[64];

	switch (kxen_domname_check(name, &bad)) {
	case KXEN_DOMNAME_OK:
		return 0;
	case KXEN_DOMNAME_EMPTY:
		return kxc_bad(l, n, "must not be empty");
	case KXEN_DOMNAME_TOO_LONG:
		return kxc_bad(l, n, "'%.20s...' is longer than %d characters", name, KXCTL_NAME_MAX - 1);
	case KXEN_DOMNAME_DASH:
		return kxc_bad(l, n, "'%s' must not start with '-'", name);
	case KXEN_DOMNAME_DIGITS:
		return kxc_bad(l, n, "'%s' is all digits, which kxl would take for a domain id", name);
	case KXEN_DOMNAME_CHAR:
		break;
	}
	unsigned char ch = (unsigned char)name[bad];
	if (ch > 0x20 && ch < 0x7f)
		return kxc_bad(l, n, "'%s' contains '%c': use letters, digits and - _ . + : @", name, ch);
	kxc_shorten(name, q, sizeof(q));
	return kxc_bad(l, n, "'%s' contains a space, control or non-ASCII character: "
	                     "use letters, digits and - _ . + : @", q);
}

/* Reads a memory size; what = the element's own value as written, for messages. */
static int mem_size(struct kxc_ld *l, xmlNodePtr n, uint64_t *bytes, char *shown, size_t shownlen)
{
	char *v = kxc_text(n);
	xmlChar *unit = xmlGetNoNsProp(n, BAD_CAST "unit");
	const char *uname = kxconfig_unit_name((const char *)unit);
	int r = 0;
	char q[64];
	kxc_shorten(v ? v : "", q, sizeof(q));
	snprintf(shown, shownlen, "'%s' %s", q, uname ? uname : "?");
	int s = v ? kxconfig_scale(v, (const char *)unit, bytes) : -ENOMEM;
	if (s == -ENOMEM)
		r = kxc_oom(l);
	else if (s == -ERANGE)
		r = kxc_bad(l, n, "value %s is too large", shown);
	else if (s && !uname)
		r = kxc_bad(l, n, "unknown unit '%s'", unit ? (const char *)unit : "");
	else if (s)
		r = kxc_bad(l, n, "value '%s' is not a whole number", q);
	free(v);
	xmlFree(unit);
	return r;
}

static int load_memory(struct kxc_ld *l, xmlNodePtr root)
{
	xmlNodePtr m = kxc_child(root, "memory"), cm = kxc_child(root, "currentMemory");
	char shown[128];
	uint64_t b;
	int r;
	if ((r = mem_size(l, m, &b, shown, sizeof(shown))))
		return r;
	if (b < KXCONFIG_MEM_MIN || b > KXCONFIG_MEM_MAX)
		return kxc_bad(l, m, "value %s is out of range: must be between 4 MiB and 16 GiB", shown);
	/* Any size Xen takes is fine: the builder's 2 MiB pages round it up, and kxl says so. */
	uint64_t asked = b;
	b = (b + KXCONFIG_MEM_ALIGN - 1) & ~(KXCONFIG_MEM_ALIGN - 1);
	l->c->mem_written = b != asked ? asked : 0;
	l->c->mem_line = (int)xmlGetLineNo(m);
	l->c->mem_bytes = l->c->cur_mem_bytes = b;
	if (!cm)
		return 0;
	if ((r = mem_size(l, cm, &b, shown, sizeof(shown))))
		return r;
	if (b > asked)
		return kxc_bad(l, cm, "value %s is more than <memory> (%llu KiB)", shown,
		               (unsigned long long)(asked >> 10));
	if (b < KXCONFIG_MEM_MIN)
		return kxc_bad(l, cm, "value %s is less than 4 MiB", shown);
	l->c->cur_mem_bytes = b;
	return 0;
}

/* A whole number from an element's text or an attribute, for vcpu counts. */
static int count_value(struct kxc_ld *l, xmlNodePtr n, const char *what, const char *v, uint64_t *out)
{
	char q[64];
	kxc_shorten(v ? v : "", q, sizeof(q));
	/* kxconfig_scale with unit "b" is a plain overflow-checked number parser. */
	if (!v || kxconfig_scale(v, "b", out) == -EINVAL)
		return kxc_bad(l, n, "%s '%s' is not a whole number", what, q);
	if (*out < 1 || *out > KXCONFIG_MAX_VCPUS)
		return kxc_bad(l, n, "%s '%s' is out of range: must be between 1 and %u", what, q,
		               KXCONFIG_MAX_VCPUS);
	return 0;
}

/* libvirt's cpuset syntax ("0-3,^2,6") for the field what of n. */
static int parse_cpuset(struct kxc_ld *l, xmlNodePtr n, const char *what, const char *set, uint8_t *mask)
{
	char err[256];

	if (kxconfig_cpulist(set, mask, KXCONFIG_MAX_CPUS, err, sizeof(err)))
		return kxc_bad(l, n, "%s %s", what, err);
	return 0;
}

static int load_vcpu(struct kxc_ld *l, xmlNodePtr root)
{
	xmlNodePtr n = kxc_child(root, "vcpu");
	char *v = kxc_text(n);
	xmlChar *cur = xmlGetNoNsProp(n, BAD_CAST "current"), *set = xmlGetNoNsProp(n, BAD_CAST "cpuset");
	uint64_t count = 0, current = 0;
	int r = -EINVAL;   /* every failure below but out-of-memory (kxc_oom) is an invalid config */
	if (count_value(l, n, "value", v, &count))
		goto out;
	l->c->vcpus = l->c->vcpus_current = (unsigned)count;
	if (cur) {
		if (count_value(l, n, "current", (const char *)cur, &current))
			goto out;
		if (current > count) {
			kxc_bad(l, n, "current '%s' is more than the %u vCPUs the domain has",
			        (const char *)cur, l->c->vcpus);
			goto out;
		}
		l->c->vcpus_current = (unsigned)current;
	}
	memset(l->c->cpumask, 0xff, sizeof(l->c->cpumask));
	if (set) {
		if (parse_cpuset(l, n, "cpuset", (const char *)set, l->c->cpumask))
			goto out;
		l->c->cpuset = strdup((const char *)set);
	}
	r = 0;
out:
	free(v);
	xmlFree(cur);
	xmlFree(set);
	return r;
}

/* A whole number in [lo, hi] from element e's text; what names it in the error. */
static int tune_value(struct kxc_ld *l, xmlNodePtr e, long long lo, long long hi, long long *out)
{
	char *v = kxc_text(e), *end = NULL, q[64];
	int r = 0;

	errno = 0;
	*out = v ? strtoll(v, &end, 10) : 0;
	kxc_shorten(v ? v : "", q, sizeof(q));
	if (!v || end == v || *end || errno || *out < lo || *out > hi)
		r = kxc_bad(l, e, "value '%s' is out of range: must be between %lld and %lld", q, lo, hi);
	free(v);
	return r;
}

/*
 * libvirt's <cputune> as xl's credit parameters: shares is a cgroup v1
 * weight (1024 the default, so weight = shares / 4); quota/period is each
 * vCPU's bandwidth, so the domain's cap is that share of one CPU times the
 * vCPUs; vcpupin pins one vCPU.
 */
static int load_cputune(struct kxc_ld *l, xmlNodePtr root)
{
	xmlNodePtr t = kxc_child(root, "cputune"), e;
	struct kxconfig *c = l->c;
	long long v, period = 100000, quota = -1;
	int r;

	if (!t)
		return 0;
	c->cputune_line = (int)xmlGetLineNo(t);
	if ((e = kxc_child(t, "shares"))) {
		if ((r = tune_value(l, e, 4, 262144, &v)))
			return r;
		c->shares = (unsigned)v;
		c->sched_weight = (unsigned)((v * 256 + 512) / 1024);
	}
	if ((e = kxc_child(t, "period"))) {
		if ((r = tune_value(l, e, 1000, 1000000, &period)))
			return r;
		c->period = (unsigned)period;
	}
	if ((e = kxc_child(t, "quota"))) {
		if ((r = tune_value(l, e, -1, 17592186044415LL, &quota)))
			return r;
		if (quota >= 0 && quota < 1000)
			return kxc_bad(l, e, "value '%lld' is out of range: must be -1 or between 1000 and "
			               "17592186044415", quota);
		c->quota = quota;
		c->has_quota = 1;
	}
	if (quota > 0) {
		long long cap = (quota * 100 + period - 1) / period * c->vcpus;
		c->sched_cap = (unsigned)(cap > 100LL * c->vcpus ? 100LL * c->vcpus : cap);
	}
	for (e = t->children; e; e = e->next) {
		if (e->type != XML_ELEMENT_NODE || !xmlStrEqual(e->name, BAD_CAST "vcpupin"))
			continue;
		xmlChar *id = xmlGetNoNsProp(e, BAD_CAST "vcpu"), *set = xmlGetNoNsProp(e, BAD_CAST "cpuset");
		struct kxconfig_vcpupin *p = &c->pins[c->npins];
		unsigned long n = strtoul((const char *)id, NULL, 10);
		r = 0;
		if (n >= c->vcpus)
			r = kxc_bad(l, e, "vcpu '%s' does not exist: the domain has %u vCPUs", (const char *)id,
			            c->vcpus);
		for (unsigned i = 0; !r && i < c->npins; i++)
			if (c->pins[i].vcpu == n)
				r = kxc_bad(l, e, "vcpu '%s' is pinned twice", (const char *)id);
		if (!r && !(r = parse_cpuset(l, e, "cpuset", (const char *)set, p->mask))) {
			p->vcpu = (unsigned)n;
			if (!(p->cpuset = strdup((const char *)set)))
				r = kxc_oom(l);
			else
				c->npins++;
		}
		xmlFree(id);
		xmlFree(set);
		if (r)
			return r;
	}
	return 0;
}

/* Relative kernels are relative to the config file, so a directory of configs can travel. */
char *kxc_resolve(const char *source, const char *file)
{
	if (file[0] == '/')
		return strdup(file);
	char *dir = strdup(source), *slash = dir ? strrchr(dir, '/') : NULL, real[PATH_MAX], *out = NULL;
	if (!dir)
		return NULL;
	if (slash)
		slash[slash == dir ? 1 : 0] = '\0';
	else
		strcpy(dir, ".");
	const char *base = realpath(dir, real) ? real : dir;
	while (!strncmp(file, "./", 2))
		file += 2;
	size_t n = strlen(base) + strlen(file) + 2;
	out = malloc(n);
	if (out)
		snprintf(out, n, "%s%s%s", base, base[strlen(base) - 1] == '/' ? "" : "/", file);
	free(dir);
	return out;
}

/* <type>'s text and machine attribute together say PV or PVH; libvirt has three spellings. */
static int os_type(struct kxc_ld *l, xmlNodePtr t, const char *type)
{
	xmlChar *machine = xmlGetNoNsProp(t, BAD_CAST "machine");
	int pvh_machine = machine && xmlStrEqual(machine, BAD_CAST "xenpvh");
	int r = 0;
	if (!strcmp(type, "xenpvh")) {
		l->c->os_type = KXCONFIG_OS_XENPVH;
		if (machine && !pvh_machine)
			r = kxc_bad(l, t, "machine '%s' contradicts guest type xenpvh", (const char *)machine);
	} else if (!strcmp(type, "xenpv")) {
		l->c->os_type = KXCONFIG_OS_XENPV;
		if (pvh_machine)
			r = kxc_bad(l, t, "machine 'xenpvh' contradicts guest type xenpv");
	} else if (l->c->virt == KXCONFIG_VIRT_XEN) {
		/* 'linux' and 'xen': libvirt's OS type for Xen guests; machine picks PV or PVH. */
		l->c->os_type = pvh_machine ? KXCONFIG_OS_XENPVH : KXCONFIG_OS_XENPV;
	} else {
		r = kxc_bad(l, t, "'%s' is libvirt's name for Xen guests of <domain type='xen'>; "
		                  "with type='kxen' write 'xenpv'", type);
	}
	xmlFree(machine);
	return r;
}

static int load_os(struct kxc_ld *l, xmlNodePtr root)
{
	xmlNodePtr os = kxc_child(root, "os"), t = kxc_child(os, "type"), k = kxc_child(os, "kernel"),
		   cl = kxc_child(os, "cmdline"), rd = kxc_child(os, "initrd");
	char *type = kxc_text(t), *kernel = kxc_text(k), *initrd = rd ? kxc_text(rd) : NULL;
	int r = -EINVAL;   /* every failure below but out-of-memory (kxc_oom) is an invalid config */
	if (!type || !kernel || (rd && !initrd)) {
		r = kxc_oom(l);
		goto out;
	}
	if (os_type(l, t, type))
		goto out;
	if (!*kernel) {
		kxc_bad(l, k, "must name the guest kernel's ELF file");
		goto out;
	}
	l->c->kernel = kxc_resolve(l->path, kernel);
	l->c->kernel_line = (int)xmlGetLineNo(k);
	if (rd) {
		if (!*initrd) {
			kxc_bad(l, rd, "must name the initial ramdisk file (or leave <initrd> out)");
			goto out;
		}
		l->c->initrd = kxc_resolve(l->path, initrd);
		l->c->initrd_line = (int)xmlGetLineNo(rd);
	}
	if (cl) {
		l->c->cmdline = kxc_text(cl);
		if (l->c->cmdline && strlen(l->c->cmdline) > KXCONFIG_CMDLINE_MAX) {
			kxc_bad(l, cl, "%zu bytes is more than the %u a guest can receive",
			        strlen(l->c->cmdline), KXCONFIG_CMDLINE_MAX);
			goto out;
		}
	}
	r = 0;
out:
	free(type);
	free(kernel);
	free(initrd);
	return r;
}

static int load_action(struct kxc_ld *l, xmlNodePtr root, const char *name, enum kxconfig_action *a)
{
	static const struct { const char *name; enum kxconfig_action a; } actions[] = {
		{ "destroy", KXCONFIG_ACT_DESTROY },
		{ "preserve", KXCONFIG_ACT_PRESERVE },
		{ "restart", KXCONFIG_ACT_RESTART },
		{ "rename-restart", KXCONFIG_ACT_RENAME_RESTART },
		{ "coredump-destroy", KXCONFIG_ACT_COREDUMP_DESTROY },
		{ "coredump-restart", KXCONFIG_ACT_COREDUMP_RESTART },
	};
	xmlNodePtr n = kxc_child(root, name);
	/* libvirt's (and xl's) defaults: restart on reboot, destroy otherwise. */
	*a = !strcmp(name, "on_reboot") ? KXCONFIG_ACT_RESTART : KXCONFIG_ACT_DESTROY;
	if (!n)
		return 0;
	char *v = kxc_text(n), q[64];
	for (size_t i = 0; v && i < sizeof(actions) / sizeof(actions[0]); i++)
		if (!strcmp(v, actions[i].name)) {
			*a = actions[i].a;
			free(v);
			return 0;
		}
	kxc_shorten(v ? v : "", q, sizeof(q));
	free(v);
	return kxc_bad(l, n, "unknown action '%s'", q);
}

static int load_ident(struct kxc_ld *l, xmlNodePtr root)
{
	struct kxconfig *c = l->c;
	xmlNodePtr n = kxc_child(root, "name"), u = kxc_child(root, "uuid"), t = kxc_child(root, "title"),
		   d = kxc_child(root, "description");
	xmlChar *type = xmlGetNoNsProp(root, BAD_CAST "type");
	c->virt = type && xmlStrEqual(type, BAD_CAST "kxen") ? KXCONFIG_VIRT_KXEN : KXCONFIG_VIRT_XEN;
	xmlFree(type);
	c->name = kxc_text(n);
	if (!c->name)
		return kxc_oom(l);
	int r = check_name(l, n, c->name);
	if (r)
		return r;
	if (u) {
		char *v = kxc_text(u), q[64];
		r = v ? kxconfig_uuid_parse(v, c->uuid) : -ENOMEM;
		kxc_shorten(v ? v : "", q, sizeof(q));
		free(v);
		if (r)
			return kxc_bad(l, u, "'%s' is not a UUID (32 hex digits, dashes as 8-4-4-4-12)", q);
	} else {
		r = kxconfig_uuid_generate(c->uuid);
		if (r) {
			snprintf(l->err, l->errlen, "%s: cannot make a UUID from /dev/urandom: %s", l->path,
			         strerror(-r));
			return r;
		}
		c->uuid_generated = 1;
	}
	if (t) {
		c->title = kxc_text(t);
		if (c->title && strchr(c->title, '\n'))
			return kxc_bad(l, t, "must be a single line");
	}
	if (d) {
		xmlChar *v = xmlNodeGetContent(d);
		c->description = strdup(v ? (const char *)v : "");
		xmlFree(v);
	}
	return 0;
}

void kxconfig_free(struct kxconfig *c)
{
	if (!c)
		return;
	free(c->source);
	free(c->name);
	free(c->title);
	free(c->description);
	free(c->kernel);
	free(c->initrd);
	free(c->cmdline);
	free(c->cpuset);
	for (unsigned i = 0; i < c->npins; i++)
		free(c->pins[i].cpuset);
	xmlFreeDoc(c->doc);
	for (unsigned i = 0; i < c->ndisks; i++) {
		free(c->disks[i].file);
		free(c->disks[i].target);
		free(c->disks[i].driver);
		free(c->disks[i].backing);
		free(c->disks[i].backing_format);
	}
	for (unsigned i = 0; i < c->nnics; i++) {
		free(c->nics[i].bridge);
		free(c->nics[i].vifname);
		free(c->nics[i].script);
	}
	free(c);
}

static int load_doc(struct kxc_ld *l, xmlDocPtr doc)
{
	xmlNodePtr root = xmlDocGetRootElement(doc);
	int r;
	if ((r = kxc_schema_validate(doc, l->text, l->len, l->path, l->err, l->errlen)))
		return r;
	if ((r = load_ident(l, root)) || (r = load_memory(l, root)) || (r = load_vcpu(l, root)) ||
	    (r = load_cputune(l, root)) || (r = load_os(l, root)) ||
	    (r = load_action(l, root, "on_poweroff", &l->c->on_poweroff)) ||
	    (r = load_action(l, root, "on_reboot", &l->c->on_reboot)) ||
	    (r = load_action(l, root, "on_crash", &l->c->on_crash)) || (r = kxc_load_platform(l, root)) ||
	    (r = kxc_load_devices(l, root)))
		return r;
	if (!l->c->kernel || !l->c->source)
		return kxc_oom(l);
	return 0;
}

/*
 * kxen builds PV guests only: an HVM config is refused by that one fact,
 * before the schema would list everything else HVM configs carry.
 */
static int refuse_hvm(struct kxc_ld *l, xmlDocPtr doc)
{
	xmlNodePtr root = xmlDocGetRootElement(doc);
	xmlNodePtr t = root && xmlStrEqual(root->name, BAD_CAST "domain") ?
		kxc_child(kxc_child(root, "os"), "type") : NULL;
	char *v = t ? kxc_text(t) : NULL;
	int r = 0;
	if (v && !strcmp(v, "hvm"))
		r = kxc_bad(l, t, "HVM guests are not supported: kxen runs Xen PV guests "
		                  "(write linux, xen or xenpv)");
	free(v);
	return r;
}

/* libxml2 keeps no line for a DTD; find it in the text. */
static int line_of(const char *buf, size_t len, const char *what)
{
	const char *p = memmem(buf, len, what, strlen(what));
	int line = 1;
	for (const char *c = buf; p && c < p; c++)
		line += *c == '\n';
	return line;
}

int kxconfig_load(const char *path, struct kxconfig **out, char *err, size_t errlen)
{
	struct kxc_xerrs errs = { 0 };
	struct kxc_quiet q;
	struct kxc_ld l = { .path = path, .err = err, .errlen = errlen, .c = calloc(1, sizeof(struct kxconfig)) };
	xmlDocPtr doc = NULL;
	size_t len = 0;
	char *buf = NULL;
	int ret = -EINVAL;   /* the file cannot be read or is not a valid config */

	*out = NULL;
	if (errlen)
		err[0] = '\0';
	if (!l.c) {
		snprintf(err, errlen, "%s: out of memory", path);
		return -ENOMEM;
	}
	l.c->source = strdup(path);
	buf = read_file(path, &len, err, errlen);
	if (!buf)
		goto out;
	if (!len) {
		snprintf(err, errlen, "%s:1: parse error: the file is empty", path);
		goto out;
	}
	kxc_quiet_begin(&q, &errs);
	/* No network, no DTD loading, no entity substitution: a config pulls in nothing else. */
	doc = xmlReadMemory(buf, (int)len, path, NULL, XML_PARSE_NONET);
	kxc_quiet_end(&q);
	if (!doc) {
		if (errs.n)
			snprintf(err, errlen, "%s:%d: parse error: %s", path, errs.e[0].line, errs.e[0].msg);
		else
			snprintf(err, errlen, "%s: parse error", path);
		goto out;
	}
	if (refuse_hvm(&l, doc))
		goto out;
	if (doc->intSubset) {
		snprintf(err, errlen, "%s:%d: <!DOCTYPE> is not allowed in a domain config", path,
		         line_of(buf, len, "<!DOCTYPE"));
		goto out;
	}
	l.c->live_domid = -1;
	l.text = buf;
	l.len = len;
	ret = load_doc(&l, doc);
	if (!ret) {
		l.c->doc = doc;        /* kxconfig_format writes it back */
		doc = NULL;
	}
out:
	xmlFreeDoc(doc);
	free(buf);
	if (ret)
		kxconfig_free(l.c);
	else
		*out = l.c;
	return ret;
}
