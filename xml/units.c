/* libvirt memory units, UUIDs and the names of enum values, as the config language spells them. */
#include <config.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include "kxen/kxconfig.h"

/* Returns the multiplier, 0 for an unknown unit. Same rules as libvirt's virScaleInteger. */
static uint64_t unit_scale(const char *unit, int *binary, int *power)
{
	static const char powers[] = "kmgt";
	*binary = 1;
	*power = 1;
	if (!unit || !*unit)
		return 1024;
	if (!strcasecmp(unit, "b") || !strcasecmp(unit, "byte") || !strcasecmp(unit, "bytes")) {
		*power = 0;
		return 1;
	}
	const char *p = strchr(powers, tolower((unsigned char)unit[0]));
	if (!p || !unit[0])
		return 0;
	if (!unit[1] || !strcasecmp(unit + 1, "ib"))
		*binary = 1;
	else if (!strcasecmp(unit + 1, "b"))
		*binary = 0;
	else
		return 0;
	*power = (int)(p - powers) + 1;
	uint64_t s = 1;
	for (int i = 0; i < *power; i++)
		s *= *binary ? 1024 : 1000;
	return s;
}

const char *kxconfig_unit_name(const char *unit)
{
	static const char *const bin[] = { "bytes", "KiB", "MiB", "GiB", "TiB" };
	static const char *const dec[] = { "bytes", "KB", "MB", "GB", "TB" };
	int binary, power;
	if (!unit_scale(unit, &binary, &power))
		return NULL;
	return binary ? bin[power] : dec[power];
}

int kxconfig_scale(const char *value, const char *unit, uint64_t *bytes)
{
	int binary, power;
	uint64_t scale = unit_scale(unit, &binary, &power), v = 0;
	if (!scale || !value)
		return -EINVAL;
	/* The schema's unsignedLong collapses whitespace and allows a '+'; so do we. */
	while (isspace((unsigned char)*value))
		value++;
	if (*value == '+')
		value++;
	if (!isdigit((unsigned char)*value))
		return -EINVAL;
	for (; isdigit((unsigned char)*value); value++) {
		unsigned d = (unsigned)(*value - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -ERANGE;
		v = v * 10 + d;
	}
	while (isspace((unsigned char)*value))
		value++;
	if (*value)
		return -EINVAL;
	if (v > UINT64_MAX / scale)
		return -ERANGE;
	*bytes = v * scale;
	return 0;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

int kxconfig_uuid_parse(const char *s, uint8_t uuid[16])
{
	uint8_t u[16];
	size_t len = strlen(s);
	int dashed = len == 36;
	if (len != 32 && len != 36)
		return -EINVAL;
	for (int i = 0, b = 0; b < 16; b++) {
		if (dashed && (i == 8 || i == 13 || i == 18 || i == 23) && s[i++] != '-')
			return -EINVAL;
		int hi = hexval((unsigned char)s[i]), lo = hexval((unsigned char)s[i + 1]);
		if (hi < 0 || lo < 0)
			return -EINVAL;
		u[b] = (uint8_t)(hi << 4 | lo);
		i += 2;
	}
	memcpy(uuid, u, 16);
	return 0;
}

void kxconfig_uuid_format(const uint8_t u[16], char out[37])
{
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
	         u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12],
	         u[13], u[14], u[15]);
}

int kxconfig_uuid_generate(uint8_t uuid[16])
{
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	size_t got = 0;
	while (got < 16) {
		ssize_t r = read(fd, uuid + got, 16 - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			int e = r < 0 ? -errno : -EIO;
			close(fd);
			return e;
		}
		got += (size_t)r;
	}
	close(fd);
	uuid[6] = (uint8_t)((uuid[6] & 0x0f) | 0x40);   /* RFC 4122 version 4 */
	uuid[8] = (uint8_t)((uuid[8] & 0x3f) | 0x80);   /* RFC 4122 variant */
	return 0;
}

static const char *const action_names[] = {
	[KXCONFIG_ACT_DESTROY] = "destroy",
	[KXCONFIG_ACT_PRESERVE] = "preserve",
	[KXCONFIG_ACT_RESTART] = "restart",
	[KXCONFIG_ACT_RENAME_RESTART] = "rename-restart",
	[KXCONFIG_ACT_COREDUMP_DESTROY] = "coredump-destroy",
	[KXCONFIG_ACT_COREDUMP_RESTART] = "coredump-restart",
};

const char *kxconfig_action_name(enum kxconfig_action a)
{
	return (unsigned)a < sizeof(action_names) / sizeof(action_names[0]) ? action_names[a] : "?";
}

enum kxctl_action kxconfig_hv_action(enum kxconfig_action a)
{
	return a == KXCONFIG_ACT_DESTROY ? KXCTL_ACTION_DESTROY : KXCTL_ACTION_PRESERVE;
}

int kxconfig_action_needs_monitor(enum kxconfig_action a)
{
	return a != KXCONFIG_ACT_DESTROY && a != KXCONFIG_ACT_PRESERVE;
}

int kxconfig_needs_monitor(const struct kxconfig *c)
{
	return kxconfig_action_needs_monitor(c->on_poweroff) ||
	       kxconfig_action_needs_monitor(c->on_reboot) ||
	       kxconfig_action_needs_monitor(c->on_crash);
}

const char *kxconfig_os_name(enum kxconfig_os os)
{
	switch (os) {
	case KXCONFIG_OS_XENPV: return "xenpv";
	case KXCONFIG_OS_XENPVH: return "xenpvh";
	}
	return "?";
}

const char *kxconfig_virt_name(enum kxconfig_virt v)
{
	switch (v) {
	case KXCONFIG_VIRT_XEN: return "xen";
	case KXCONFIG_VIRT_KXEN: return "kxen";
	}
	return "?";
}
