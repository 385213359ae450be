/* kxconfig_format: writes a config back as domain XML, generated values included. */
#include <config.h>
#include <stdio.h>
#include "kxconfig.h"

/* Text and attribute values alike: escaping quotes too keeps one helper for both. */
static void esc(FILE *f, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '&': fputs("&amp;", f); break;
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '\'': fputs("&apos;", f); break;
		case '"': fputs("&quot;", f); break;
		case '\r': fputs("&#13;", f); break;   /* a raw CR would be normalised away */
		default: fputc(*s, f);
		}
	}
}

static void elem(FILE *f, const char *indent, const char *name, const char *value)
{
	fprintf(f, "%s<%s>", indent, name);
	esc(f, value);
	fprintf(f, "</%s>\n", name);
}

int kxconfig_format(const struct kxconfig *c, FILE *f)
{
	char uuid[37];
	kxconfig_uuid_format(c->uuid, uuid);
	fprintf(f, "<domain type='%s'>\n", kxconfig_virt_name(c->virt));
	elem(f, "  ", "name", c->name);
	elem(f, "  ", "uuid", uuid);
	if (c->title)
		elem(f, "  ", "title", c->title);
	if (c->description)
		elem(f, "  ", "description", c->description);
	/* KiB as libvirt writes it; both sizes are whole KiB by construction. */
	fprintf(f, "  <memory unit='KiB'>%llu</memory>\n", (unsigned long long)(c->mem_bytes >> 10));
	fprintf(f, "  <currentMemory unit='KiB'>%llu</currentMemory>\n",
	        (unsigned long long)(c->cur_mem_bytes >> 10));
	fprintf(f, "  <vcpu>%u</vcpu>\n", c->vcpus);
	fputs("  <os>\n", f);
	fprintf(f, "    <type arch='x86_64'>%s</type>\n", kxconfig_os_name(c->os_type));
	elem(f, "    ", "kernel", c->kernel);
	if (c->cmdline)
		elem(f, "    ", "cmdline", c->cmdline);
	fputs("  </os>\n", f);
	fprintf(f, "  <on_poweroff>%s</on_poweroff>\n", kxconfig_action_name(c->on_poweroff));
	fprintf(f, "  <on_reboot>%s</on_reboot>\n", kxconfig_action_name(c->on_reboot));
	fprintf(f, "  <on_crash>%s</on_crash>\n", kxconfig_action_name(c->on_crash));
	fputs("</domain>\n", f);
	return ferror(f) ? -1 : 0;
}
