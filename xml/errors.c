/* Capturing libxml2's errors instead of letting it print them, and quoting values into messages. */
#include <config.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "config_int.h"

static void copy_str(char *dst, size_t len, const char *src)
{
	snprintf(dst, len, "%s", src ? src : "");
}

void kxc_xerr_collect(void *ctx, kxc_xmlerror_t err)
{
	struct kxc_xerrs *errs = ctx;
	if (!errs || !err || errs->n >= KXC_XERR_MAX)
		return;
	struct kxc_xerr *e = &errs->e[errs->n++];
	e->domain = err->domain;
	e->code = err->code;
	e->line = err->line;
	e->node = err->node;
	copy_str(e->str1, sizeof(e->str1), err->str1);
	copy_str(e->str2, sizeof(e->str2), err->str2);
	copy_str(e->msg, sizeof(e->msg), err->message);
	/* libxml2 ends messages with a newline; ours are one line each. */
	size_t l = strlen(e->msg);
	while (l && isspace((unsigned char)e->msg[l - 1]))
		e->msg[--l] = '\0';
}

static void quiet_generic(void *ctx, const char *fmt, ...)
{
}

void kxc_quiet_begin(struct kxc_quiet *q, struct kxc_xerrs *errs)
{
	/* These are per-thread in libxml2, so saving and restoring is enough. */
	q->generic = xmlGenericError;
	q->generic_ctx = xmlGenericErrorContext;
	q->structured = xmlStructuredError;
	q->structured_ctx = xmlStructuredErrorContext;
	xmlSetGenericErrorFunc(NULL, quiet_generic);
	xmlSetStructuredErrorFunc(errs, (xmlStructuredErrorFunc)kxc_xerr_collect);
}

void kxc_quiet_end(const struct kxc_quiet *q)
{
	xmlSetGenericErrorFunc(q->generic_ctx, q->generic);
	xmlSetStructuredErrorFunc(q->structured_ctx, q->structured);
}

void kxc_shorten(const char *in, char *out, size_t outlen)
{
	const size_t max = 40;
	size_t o = 0, i;
	if (!outlen)
		return;
	for (i = 0; in && in[i] && i < max && o + 1 < outlen; i++)
		out[o++] = (unsigned char)in[i] < 0x20 || in[i] == 0x7f ? '?' : in[i];
	if (in && in[i] && o + 4 < outlen) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
}

char *kxc_text(xmlNodePtr n)
{
	xmlChar *c = xmlNodeGetContent(n);
	if (!c)
		return strdup("");
	const char *s = (const char *)c;
	while (*s && isspace((unsigned char)*s))
		s++;
	size_t l = strlen(s);
	while (l && isspace((unsigned char)s[l - 1]))
		l--;
	char *r = strndup(s, l);
	xmlFree(c);
	return r;
}
