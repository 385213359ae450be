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

struct ld {
	const char *path;
	char *err;
	size_t errlen;
	struct kxconfig *c;
};

/* "FILE:LINE: <elem>: ..." so the user can go straight to the spot. */
static int __attribute__((format(printf, 3, 4)))
bad(struct ld *l, xmlNodePtr n, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(l->err, l->errlen, "%s:%ld: <%s>: %s", l->path, xmlGetLineNo(n),
	         (const char *)n->name, msg);
	return -1;
}

static xmlNodePtr child(xmlNodePtr n, const char *name)
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

/* Names end up in xenstore paths and on kxl's command line, where digits mean a domain id. */
static int check_name(struct ld *l, xmlNodePtr n, const char *name)
{
	static const char ok[] = "-_.+:@";
	if (!*name)
		return bad(l, n, "must not be empty");
	if (strlen(name) >= KXCTL_NAME_MAX)
		return bad(l, n, "'%.20s...' is longer than %d characters", name, KXCTL_NAME_MAX - 1);
	if (name[0] == '-')
		return bad(l, n, "'%s' must not start with '-'", name);
	size_t digits = strspn(name, "0123456789");
	if (!name[digits])
		return bad(l, n, "'%s' is all digits, which kxl would take for a domain id", name);
	for (const char *p = name; *p; p++) {
		unsigned char ch = (unsigned char)*p;
		if (isalnum(ch) && ch < 0x80)
			continue;
		if (strchr(ok, ch))
			continue;
		if (ch > 0x20 && ch < 0x7f)
			return bad(l, n, "'%s' contains '%c': use letters, digits and - _ . + : @", name, ch);
		{
			char q[64];
			kxc_shorten(name, q, sizeof(q));
			return bad(l, n, "'%s' contains a space, control or non-ASCII character: "
			                 "use letters, digits and - _ . + : @", q);
		}
	}
	return 0;
}

/* Reads a memory size; what = the element's own value as written, for messages. */
static int mem_size(struct ld *l, xmlNodePtr n, uint64_t *bytes, char *shown, size_t shownlen)
{
	char *v = kxc_text(n);
	xmlChar *unit = xmlGetNoNsProp(n, BAD_CAST "unit");
	const char *uname = kxconfig_unit_name((const char *)unit);
	int r = -1;
	char q[64];
	kxc_shorten(v ? v : "", q, sizeof(q));
	snprintf(shown, shownlen, "'%s' %s", q, uname ? uname : "?");
	int s = v ? kxconfig_scale(v, (const char *)unit, bytes) : -ENOMEM;
	if (s == -ERANGE)
		bad(l, n, "value %s is too large", shown);
	else if (s && !uname)
		bad(l, n, "unknown unit '%s'", unit ? (const char *)unit : "");
	else if (s)
		bad(l, n, "value '%s' is not a whole number", q);
	else
		r = 0;
	free(v);
	xmlFree(unit);
	return r;
}

static int load_memory(struct ld *l, xmlNodePtr root)
{
	xmlNodePtr m = child(root, "memory"), cm = child(root, "currentMemory");
	char shown[128];
	uint64_t b;
	if (mem_size(l, m, &b, shown, sizeof(shown)))
		return -1;
	/* A multiple first: "3 MiB" is better answered by the rule it breaks that way. */
	if (b % KXCONFIG_MEM_ALIGN)
		return bad(l, m, "value %s is not a multiple of 2 MiB", shown);
	if (b < KXCONFIG_MEM_MIN || b > KXCONFIG_MEM_MAX)
		return bad(l, m, "value %s is out of range: must be between 4 MiB and 16 GiB", shown);
	l->c->mem_bytes = l->c->cur_mem_bytes = b;
	if (!cm)
		return 0;
	if (mem_size(l, cm, &b, shown, sizeof(shown)))
		return -1;
	if (b > l->c->mem_bytes)
		return bad(l, cm, "value %s is more than <memory> (%llu KiB)", shown,
		           (unsigned long long)(l->c->mem_bytes >> 10));
	if (b % 4096)
		return bad(l, cm, "value %s is not a multiple of 4 KiB", shown);
	if (b < KXCONFIG_MEM_MIN)
		return bad(l, cm, "value %s is less than 4 MiB", shown);
	l->c->cur_mem_bytes = b;
	return 0;
}

static int load_vcpu(struct ld *l, xmlNodePtr root)
{
	xmlNodePtr n = child(root, "vcpu");
	char *v = kxc_text(n), q[64];
	uint64_t count = 0;
	int r = 0;
	kxc_shorten(v ? v : "", q, sizeof(q));
	/* kxconfig_scale with unit "b" is a plain overflow-checked number parser. */
	if (!v || kxconfig_scale(v, "b", &count) == -EINVAL)
		r = bad(l, n, "value '%s' is not a whole number", q);
	else if (count < 1 || count > KXCONFIG_MAX_VCPUS)
		r = bad(l, n, "value '%s' is out of range: must be between 1 and %u", q, KXCONFIG_MAX_VCPUS);
	else
		l->c->vcpus = (unsigned)count;
	free(v);
	return r;
}

/* Relative kernels are relative to the config file, so a directory of configs can travel. */
static char *resolve(const char *source, const char *file)
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

static int load_os(struct ld *l, xmlNodePtr root)
{
	xmlNodePtr os = child(root, "os"), t = child(os, "type"), k = child(os, "kernel"),
		   cl = child(os, "cmdline");
	char *type = kxc_text(t), *kernel = kxc_text(k);
	int r = -1;
	if (!type || !kernel) {
		snprintf(l->err, l->errlen, "%s: out of memory", l->path);
		goto out;
	}
	if (!strcmp(type, "xenpv") || (!strcmp(type, "linux") && l->c->virt == KXCONFIG_VIRT_XEN)) {
		l->c->os_type = KXCONFIG_OS_XENPV;
	} else if (!strcmp(type, "linux")) {
		bad(l, t, "'linux' is libvirt's name for PV guests of <domain type='xen'>; "
		          "with type='kxen' write 'xenpv'");
		goto out;
	} else if (!strcmp(type, "xenpvh")) {
		bad(l, t, "guest type xenpvh is not supported yet");
		goto out;
	} else {
		bad(l, t, "unknown guest type '%s'", type);
		goto out;
	}
	if (!*kernel) {
		bad(l, k, "must name the guest kernel's ELF file");
		goto out;
	}
	l->c->kernel = resolve(l->path, kernel);
	l->c->kernel_line = (int)xmlGetLineNo(k);
	if (cl) {
		l->c->cmdline = kxc_text(cl);
		if (l->c->cmdline && strlen(l->c->cmdline) > KXCONFIG_CMDLINE_MAX) {
			bad(l, cl, "%zu bytes is more than the %u a guest can receive",
			    strlen(l->c->cmdline), KXCONFIG_CMDLINE_MAX);
			goto out;
		}
	}
	r = 0;
out:
	free(type);
	free(kernel);
	return r;
}

static int load_action(struct ld *l, xmlNodePtr root, const char *name, enum kxctl_action *a)
{
	xmlNodePtr n = child(root, name);
	*a = KXCTL_ACTION_DESTROY;   /* libvirt's default for poweroff and crash; reboot: see docs */
	if (!n)
		return 0;
	char *v = kxc_text(n), q[64];
	int r = 0;
	if (v && !strcmp(v, "destroy")) {
		*a = KXCTL_ACTION_DESTROY;
	} else if (v && !strcmp(v, "preserve")) {
		*a = KXCTL_ACTION_PRESERVE;
	} else {
		kxc_shorten(v ? v : "", q, sizeof(q));
		r = bad(l, n, "action '%s' is not supported yet (use destroy or preserve)", q);
	}
	free(v);
	return r;
}

static int load_ident(struct ld *l, xmlNodePtr root)
{
	struct kxconfig *c = l->c;
	xmlNodePtr n = child(root, "name"), u = child(root, "uuid"), t = child(root, "title"),
		   d = child(root, "description");
	xmlChar *type = xmlGetNoNsProp(root, BAD_CAST "type");
	c->virt = type && xmlStrEqual(type, BAD_CAST "kxen") ? KXCONFIG_VIRT_KXEN : KXCONFIG_VIRT_XEN;
	xmlFree(type);
	c->name = kxc_text(n);
	if (!c->name || check_name(l, n, c->name))
		return -1;
	if (u) {
		char *v = kxc_text(u), q[64];
		int r = v ? kxconfig_uuid_parse(v, c->uuid) : -ENOMEM;
		kxc_shorten(v ? v : "", q, sizeof(q));
		free(v);
		if (r)
			return bad(l, u, "'%s' is not a UUID (32 hex digits, dashes as 8-4-4-4-12)", q);
	} else {
		int r = kxconfig_uuid_generate(c->uuid);
		if (r) {
			snprintf(l->err, l->errlen, "%s: cannot make a UUID from /dev/urandom: %s", l->path,
			         strerror(-r));
			return -1;
		}
		c->uuid_generated = 1;
	}
	if (t) {
		c->title = kxc_text(t);
		if (c->title && strchr(c->title, '\n'))
			return bad(l, t, "must be a single line");
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
	free(c->cmdline);
	free(c);
}

static int load_doc(struct ld *l, xmlDocPtr doc)
{
	xmlNodePtr root = xmlDocGetRootElement(doc);
	if (kxc_schema_validate(doc, l->path, l->err, l->errlen))
		return -1;
	if (load_ident(l, root) || load_memory(l, root) || load_vcpu(l, root) || load_os(l, root) ||
	    load_action(l, root, "on_poweroff", &l->c->on_poweroff) ||
	    load_action(l, root, "on_reboot", &l->c->on_reboot) ||
	    load_action(l, root, "on_crash", &l->c->on_crash))
		return -1;
	if (!l->c->kernel || !l->c->source) {
		snprintf(l->err, l->errlen, "%s: out of memory", l->path);
		return -1;
	}
	return 0;
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
	struct ld l = { path, err, errlen, calloc(1, sizeof(struct kxconfig)) };
	xmlDocPtr doc = NULL;
	size_t len = 0;
	char *buf = NULL;
	int ret = -1;

	*out = NULL;
	if (errlen)
		err[0] = '\0';
	if (!l.c) {
		snprintf(err, errlen, "%s: out of memory", path);
		return -1;
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
	if (doc->intSubset) {
		snprintf(err, errlen, "%s:%d: <!DOCTYPE> is not allowed in a domain config", path,
		         line_of(buf, len, "<!DOCTYPE"));
		goto out;
	}
	ret = load_doc(&l, doc);
out:
	xmlFreeDoc(doc);
	free(buf);
	if (ret)
		kxconfig_free(l.c);
	else
		*out = l.c;
	return ret;
}
