/* kxconfig_format: writes a config back as domain XML, generated values included. */
#include <config.h>
#include <stdbool.h>
#include <stdio.h>
#include "config_int.h"

/* Text and attribute values alike: escaping quotes too keeps one helper for both. */
static void esc_text(FILE *f, const char *s, bool attr)
{
	for (; *s; s++) {
		switch (*s) {
		case '&': fputs("&amp;", f); break;
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '\'': fputs("&apos;", f); break;
		case '"': fputs("&quot;", f); break;
		case '\r': fputs("&#13;", f); break;   /* a raw CR would be normalised away */
		/* In an attribute a raw TAB or LF is read back as a space (attribute value normalisation). */
		case '\t': fputs(attr ? "&#9;" : "\t", f); break;
		case '\n': fputs(attr ? "&#10;" : "\n", f); break;
		default: fputc(*s, f);
		}
	}
}

/* An attribute value. */
static void esc(FILE *f, const char *s)
{
	esc_text(f, s, true);
}

static void elem(FILE *f, const char *indent, const char *name, const char *value)
{
	fprintf(f, "%s<%s>", indent, name);
	esc_text(f, value, false);
	fprintf(f, "</%s>\n", name);
}

static void format_vcpu(const struct kxconfig *c, FILE *f)
{
	fputs("  <vcpu placement='static'", f);
	if (c->vcpus_current != c->vcpus)
		fprintf(f, " current='%u'", c->vcpus_current);
	if (c->cpuset) {
		fputs(" cpuset='", f);
		esc(f, c->cpuset);
		fputc('\'', f);
	}
	fprintf(f, ">%u</vcpu>\n", c->vcpus);
	if (!c->cputune_line)
		return;
	fputs("  <cputune>\n", f);
	if (c->shares)
		fprintf(f, "    <shares>%u</shares>\n", c->shares);
	if (c->period)
		fprintf(f, "    <period>%u</period>\n", c->period);
	if (c->has_quota)
		fprintf(f, "    <quota>%lld</quota>\n", c->quota);
	for (unsigned i = 0; i < c->npins; i++) {
		fprintf(f, "    <vcpupin vcpu='%u' cpuset='", c->pins[i].vcpu);
		esc(f, c->pins[i].cpuset);
		fputs("'/>\n", f);
	}
	fputs("  </cputune>\n", f);
}

static void format_devices(const struct kxconfig *c, FILE *f)
{
	if (!c->devices_line && !c->ndisks && !c->nnics && !c->console)
		return;
	fputs("  <devices>\n", f);
	for (unsigned i = 0; i < c->ndisks; i++) {
		const struct kxconfig_disk *d = &c->disks[i];
		fputs("    <disk type='file' device='disk'>\n      <driver", f);
		if (d->driver)
			fprintf(f, " name='%s'", d->driver);
		fprintf(f, " type='%s'/>\n      <source file='", d->qcow2 ? "qcow2" : "raw");
		esc(f, d->file);
		fprintf(f, "'/>\n      <target dev='%s' bus='xen'/>\n", d->target);
		if (d->readonly)
			fputs("      <readonly/>\n", f);
		if (d->backing) {
			fputs("      <backingStore type='file'>\n", f);
			if (d->backing_format)
				fprintf(f, "        <format type='%s'/>\n", d->backing_format);
			fputs("        <source file='", f);
			esc(f, d->backing);
			fputs("'/>\n        <backingStore/>\n      </backingStore>\n", f);
		}
		fputs("    </disk>\n", f);
	}
	for (unsigned i = 0; i < c->nnics; i++) {
		char mac[18];
		kxconfig_mac_format(c->nics[i].mac, mac);
		fprintf(f, "    <interface type='bridge'>\n      <mac address='%s'/>\n"
		           "      <source bridge='", mac);
		esc(f, c->nics[i].bridge);
		fputs("'/>\n    </interface>\n", f);
	}
	if (c->console)
		fputs("    <console type='pty'>\n      <target type='xen' port='0'/>\n    </console>\n", f);
	fputs("  </devices>\n", f);
}

int kxconfig_format(const struct kxconfig *c, FILE *f)
{
	char uuid[37];
	if (c->doc)
		return kxc_format_doc(c, f);   /* the user's document and spellings (keep.c) */
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
	format_vcpu(c, f);
	fputs("  <os>\n", f);
	/* machine= keeps a 'xen'-typed PVH domain PVH when read back. */
	fprintf(f, "    <type arch='x86_64' machine='%s'>%s</type>\n", kxconfig_os_name(c->os_type),
	        kxconfig_os_name(c->os_type));
	elem(f, "    ", "kernel", c->kernel);
	if (c->initrd)
		elem(f, "    ", "initrd", c->initrd);
	if (c->cmdline)
		elem(f, "    ", "cmdline", c->cmdline);
	fputs("  </os>\n", f);
	if (c->clock)
		fputs("  <clock offset='utc'/>\n", f);
	fprintf(f, "  <on_poweroff>%s</on_poweroff>\n", kxconfig_action_name(c->on_poweroff));
	fprintf(f, "  <on_reboot>%s</on_reboot>\n", kxconfig_action_name(c->on_reboot));
	fprintf(f, "  <on_crash>%s</on_crash>\n", kxconfig_action_name(c->on_crash));
	format_devices(c, f);
	fputs("</domain>\n", f);
	return ferror(f) ? -1 : 0;
}
