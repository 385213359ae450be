/* <devices>: Xen vbd disks, vif interfaces and the PV console, checked beyond what the schema says. */
#include <config.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <kxen/mac.h>
#include "config_int.h"

/* An attribute as a malloc'd C string (libxml2's allocator is not ours to mix with free). */
char *kxc_attr(xmlNodePtr n, const char *name)
{
	xmlChar *v = n ? xmlGetNoNsProp(n, BAD_CAST name) : NULL;
	char *r = v ? strdup((const char *)v) : NULL;
	xmlFree(v);
	return r;
}

/* <backingStore>: the backing file a qcow2 image may use wherever it lies; resolved like <source>. */
static int load_backing(struct kxc_ld *l, xmlNodePtr disk, struct kxconfig_disk *d)
{
	xmlNodePtr bs = kxc_child(disk, "backingStore"), src = kxc_child(bs, "source");
	char *file = kxc_attr(src, "file");
	int r = -EINVAL;   /* every failure below but out-of-memory (kxc_oom) is an invalid config */

	if (!src)
		return 0;	/* libvirt's <backingStore/>: nothing to name */
	if (!file) {
		r = kxc_oom(l);
		goto out;
	}
	if (!d->qcow2) {
		kxc_bad(l, bs, "a raw image has no backing file (<driver type='qcow2'/> names one that may)");
		goto out;
	}
	if (kxc_child(kxc_child(bs, "backingStore"), "source")) {
		kxc_bad(l, kxc_child(bs, "backingStore"), "only the image's own backing file can be named; "
			"its backing files, if any, are found beneath its directory");
		goto out;
	}
	if (!*file) {
		kxc_bad(l, src, "file must name the backing image");
		goto out;
	}
	d->backing_format = kxc_attr(kxc_child(bs, "format"), "type");
	if (!(d->backing = kxc_resolve(l->path, file))) {
		r = kxc_oom(l);
		goto out;
	}
	r = 0;
out:
	free(file);
	return r;
}

static int load_disk(struct kxc_ld *l, xmlNodePtr n)
{
	struct kxconfig *c = l->c;
	if (c->ndisks >= KXCONFIG_MAX_DISKS)
		return kxc_bad(l, n, "more than %u disks", KXCONFIG_MAX_DISKS);
	struct kxconfig_disk *d = &c->disks[c->ndisks];
	xmlNodePtr src = kxc_child(n, "source"), tgt = kxc_child(n, "target"), drv = kxc_child(n, "driver");
	char *dtype = kxc_attr(n, "type");
	int block = dtype && !strcmp(dtype, "block");
	/* libvirt's pairing: type='file' names a file, type='block' a device (xl's phy:). */
	const char *key = block ? "dev" : "file", *other = block ? "file" : "dev";
	char *file = kxc_attr(src, key), *type = kxc_attr(drv, "type");
	int r = -EINVAL;   /* every failure below but out-of-memory (kxc_oom) is an invalid config */

	free(dtype);
	d->line = (int)xmlGetLineNo(n);
	d->block = block;
	d->target = kxc_attr(tgt, "dev");
	d->driver = kxc_attr(drv, "name");
	c->ndisks++;            /* from here kxconfig_free owns what d holds */
	if (!file && xmlHasProp(src, BAD_CAST other)) {
		kxc_bad(l, src, "a disk of type='%s' names its %s with %s=, not %s=",
		        block ? "block" : "file", block ? "device" : "image", key, other);
		goto out;
	}
	if (!file || !d->target || (drv && xmlHasProp(drv, BAD_CAST "name") && !d->driver)) {
		r = kxc_oom(l);
		goto out;
	}
	if (!*file) {
		kxc_bad(l, src, "%s must name the disk %s", key, block ? "device" : "image");
		goto out;
	}
	if (strncmp(d->target, "xvd", 3) || !d->target[3] ||
	    strspn(d->target + 3, "abcdefghijklmnopqrstuvwxyz") != strlen(d->target + 3)) {
		char q[64];
		kxc_shorten(d->target, q, sizeof(q));
		kxc_bad(l, tgt, "dev '%s' is not a Xen disk name: xvd followed by letters, such as xvda", q);
		goto out;
	}
	if (block && type && strcmp(type, "raw") && strcmp(type, "aio")) {
		kxc_bad(l, drv, "type '%s': a block device is served raw (as xl's phy:)", type);
		goto out;
	}
	if (type && !strcmp(type, "aio")) {
		/* libvirt's old tap:aio spelling means a raw image. */
		d->qcow2 = 0;
	} else {
		d->qcow2 = type && !strcmp(type, "qcow2");
	}
	d->readonly = kxc_child(n, "readonly") != NULL;
	if (!(d->file = kxc_resolve(l->path, file))) {
		r = kxc_oom(l);
		goto out;
	}
	if (load_backing(l, n, d))
		goto out;
	for (unsigned i = 0; i + 1 < c->ndisks; i++)
		if (!strcmp(c->disks[i].target, d->target)) {
			kxc_bad(l, tgt, "dev '%s' is already used by the disk on line %d", d->target,
			        c->disks[i].line);
			goto out;
		}
	r = 0;
out:
	free(file);
	free(type);
	return r;
}

/* Xen's OUI, as xl and libvirt use for generated vif addresses. */
static int generate_mac(uint8_t mac[6])
{
	uint8_t u[16];
	int r = kxconfig_uuid_generate(u);   /* 16 random bytes from /dev/urandom */
	if (r)
		return r;
	mac[0] = 0x00;
	mac[1] = 0x16;
	mac[2] = 0x3e;
	mac[3] = u[0] & 0x7f;              /* xl keeps the top bit clear too */
	mac[4] = u[1];
	mac[5] = u[2];
	return 0;
}

static int load_nic(struct kxc_ld *l, xmlNodePtr n)
{
	struct kxconfig *c = l->c;
	if (c->nnics >= KXCONFIG_MAX_NICS)
		return kxc_bad(l, n, "more than %u interfaces", KXCONFIG_MAX_NICS);
	struct kxconfig_nic *nic = &c->nics[c->nnics];
	xmlNodePtr m = kxc_child(n, "mac"), src = kxc_child(n, "source"), tgt = kxc_child(n, "target"),
		   sc = kxc_child(n, "script");
	char *addr = kxc_attr(m, "address"), *type = kxc_attr(n, "type");
	int r = -EINVAL;   /* every failure below but out-of-memory (kxc_oom) is an invalid config */

	nic->line = (int)xmlGetLineNo(n);
	nic->ethernet = type && !strcmp(type, "ethernet");
	free(type);
	nic->bridge = kxc_attr(src, "bridge");
	nic->vifname = kxc_attr(tgt, "dev");
	nic->script = kxc_attr(sc, "path");
	c->nnics++;
	if (nic->ethernet && src) {
		kxc_bad(l, src, "an interface of type='ethernet' joins no bridge: use type='bridge'");
		goto out;
	}
	if (!nic->ethernet && !src) {
		kxc_bad(l, n, "an interface of type='bridge' needs <source bridge='...'/>");
		goto out;
	}
	if ((!nic->ethernet && !nic->bridge) || (m && !addr) || (tgt && !nic->vifname) ||
	    (sc && !nic->script)) {
		r = kxc_oom(l);
		goto out;
	}
	if (!nic->ethernet && !*nic->bridge) {
		kxc_bad(l, src, "bridge must name a bridge");
		goto out;
	}
	/* A vif's name is a switch name in kxen-backd for ethernet, and an interface name in Xen. */
	if (nic->vifname && (!*nic->vifname || strlen(nic->vifname) > 15 ||
	                     strspn(nic->vifname, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	                                          "0123456789_.-") != strlen(nic->vifname))) {
		char q[64];
		kxc_shorten(nic->vifname, q, sizeof(q));
		kxc_bad(l, tgt, "dev '%s' is not an interface name: 1 to 15 letters, digits, '.', '_', '-'",
		        q);
		goto out;
	}
	if (sc && !*nic->script) {
		kxc_bad(l, sc, "path must name a script (or leave <script> out)");
		goto out;
	}
	for (unsigned i = 0; nic->vifname && i + 1 < c->nnics; i++)
		if (c->nics[i].vifname && !strcmp(c->nics[i].vifname, nic->vifname)) {
			kxc_bad(l, tgt, "dev '%s' is already used by the interface on line %d", nic->vifname,
			        c->nics[i].line);
			goto out;
		}
	if (m) {
		if (kxen_mac_parse(addr, nic->mac)) {
			kxc_bad(l, m, "address '%s' is not a MAC address", addr);
			goto out;
		}
		if (nic->mac[0] & 1) {
			kxc_bad(l, m, "address '%s' is a multicast address; a vif needs a unicast one", addr);
			goto out;
		}
		static const uint8_t zero[6];
		if (!memcmp(nic->mac, zero, 6)) {
			kxc_bad(l, m, "address '%s' is all zeros", addr);
			goto out;
		}
	} else {
		int e = generate_mac(nic->mac);
		if (e) {
			snprintf(l->err, l->errlen, "%s: cannot make a MAC address from /dev/urandom: %s",
			         l->path, strerror(-e));
			goto out;
		}
		nic->mac_generated = 1;
	}
	for (unsigned i = 0; i + 1 < c->nnics; i++)
		if (!memcmp(c->nics[i].mac, nic->mac, 6)) {
			char s[18];
			kxconfig_mac_format(nic->mac, s);
			kxc_bad(l, m ? m : n, "address %s is already used by the interface on line %d", s,
			        c->nics[i].line);
			goto out;
		}
	r = 0;
out:
	free(addr);
	return r;
}

/* What libvirt adds to every Xen domain: kept, and remembered for kxl's notes. */
static int load_other(struct kxc_ld *l, xmlNodePtr n)
{
	struct kxconfig *c = l->c;
	int line = (int)xmlGetLineNo(n);
	if (xmlStrEqual(n->name, BAD_CAST "controller")) {
		char *v = kxc_attr(n, "maxGrantFrames"), *ev = kxc_attr(n, "maxEventChannels");
		if (c->controller_line) {
			free(v);
			free(ev);
			return kxc_bad(l, n, "one xenbus controller per domain (the first is on line %d)",
			               c->controller_line);
		}
		c->controller_line = line;
		/* The schema checked both are whole numbers. */
		c->max_grant_frames = v ? (unsigned)strtoul(v, NULL, 10) : 0;
		if (v && c->max_grant_frames == 0) {
			free(v);
			free(ev);
			return kxc_bad(l, n, "maxGrantFrames='0': a domain needs at least one grant table frame");
		}
		c->max_evtchns = ev ? (unsigned)strtoul(ev, NULL, 10) : 0;
		free(v);
		free(ev);
	} else if (xmlStrEqual(n->name, BAD_CAST "input")) {
		if (!c->input_line)
			c->input_line = line;
	} else if (xmlStrEqual(n->name, BAD_CAST "memballoon")) {
		char *model = kxc_attr(n, "model");
		if (model && !strcmp(model, "xen"))
			c->memballoon_line = line;
		free(model);
	}
	return 0;
}

/* <console> and <serial> describe the domain's one PV console ring: port 0 (Xen's secondary PV consoles are not served). */
static int check_port(struct kxc_ld *l, xmlNodePtr dev)
{
	char *port = kxc_attr(kxc_child(dev, "target"), "port");
	int r = 0;

	/* The schema checked it is a whole number. */
	if (port && strtoul(port, NULL, 10) != 0)
		r = kxc_bad(l, dev, "<target port='%s'>: a PV domain under kxen has one console, port 0 "
		            "(kxen-backd serves no secondary PV consoles)", port);
	free(port);
	return r;
}

int kxc_load_devices(struct kxc_ld *l, xmlNodePtr root)
{
	struct kxconfig *c = l->c;
	xmlNodePtr devs = kxc_child(root, "devices");
	int console_line = 0, serial_line = 0;
	if (!devs)
		return 0;
	c->devices_line = (int)xmlGetLineNo(devs);
	for (xmlNodePtr n = devs->children; n; n = n->next) {
		int r = 0;
		if (n->type != XML_ELEMENT_NODE)
			continue;
		if (xmlStrEqual(n->name, BAD_CAST "disk")) {
			if ((r = load_disk(l, n)))
				return r;
		} else if (xmlStrEqual(n->name, BAD_CAST "interface")) {
			if ((r = load_nic(l, n)))
				return r;
		} else if (xmlStrEqual(n->name, BAD_CAST "console")) {
			/* A PV domain has exactly one console ring. */
			if (console_line)
				return kxc_bad(l, n, "a domain has one console (the first is on line %d)",
				               console_line);
			if ((r = check_port(l, n)))
				return r;
			console_line = (int)xmlGetLineNo(n);
			c->console = 1;
		} else if (xmlStrEqual(n->name, BAD_CAST "serial")) {
			/* libvirt's serial/console pair describes that same ring. */
			if (serial_line)
				return kxc_bad(l, n, "a PV domain has one serial console (the first is on "
				                     "line %d)", serial_line);
			if ((r = check_port(l, n)))
				return r;
			serial_line = (int)xmlGetLineNo(n);
			c->serial = 1;
		} else if ((r = load_other(l, n))) {
			return r;
		}
	}
	return 0;
}

void kxconfig_mac_format(const uint8_t m[6], char out[18])
{
	snprintf(out, 18, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
}
