/* libkxconfig: loads, validates and writes kxen domain configs (libvirt-style domain XML). */
#ifndef KXCONFIG_H
#define KXCONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <stdio.h>
#include <kxen/abi.h>
#include <kxen/ctl.h>

/* Limits a config is checked against (docs/domain-xml.md explains them); the guest ABI's own. */
#define KXCONFIG_MAX_VCPUS     ((unsigned)KXEN_PV_MAX_VCPUS)
#define KXCONFIG_MEM_MIN       ((unsigned long long)KXEN_PV_MIN_MEM)
#define KXCONFIG_MEM_MAX       ((unsigned long long)KXEN_PV_MAX_MEM)
#define KXCONFIG_MEM_ALIGN     (2ull << 20)     /* the builder maps RAM with 2 MiB pages: sizes round up */
#define KXCONFIG_CMDLINE_MAX   1023u            /* start_info.cmd_line holds 1024 bytes with the NUL */
#define KXCONFIG_FILE_MAX      (1u << 20)       /* a domain config is small; refuse anything bigger */
#define KXCONFIG_SCHEMA_ENV    "KXEN_SCHEMA"    /* full path of domain.rng, overriding the built-in one */

/* <domain type='...'>: both mean the same guest ABI; 'xen' is what libvirt users write. */
enum kxconfig_virt {
	KXCONFIG_VIRT_XEN = 0,
	KXCONFIG_VIRT_KXEN,
};

/* <os><type>: only xenpv can be built today; xenpvh is parsed to reject it by name. */
enum kxconfig_os {
	KXCONFIG_OS_XENPV = 0,
	KXCONFIG_OS_XENPVH,
};

/*
 * libvirt's lifecycle actions. kxen-hv itself does destroy and preserve
 * (the first two values equal enum kxctl_action); the others are done by
 * kxl's per-domain monitor (docs/kxl.md, "Lifecycle").
 */
enum kxconfig_action {
	KXCONFIG_ACT_DESTROY = KXCTL_ACTION_DESTROY,
	KXCONFIG_ACT_PRESERVE = KXCTL_ACTION_PRESERVE,
	KXCONFIG_ACT_RESTART,
	KXCONFIG_ACT_RENAME_RESTART,
	KXCONFIG_ACT_COREDUMP_DESTROY,
	KXCONFIG_ACT_COREDUMP_RESTART,
};

#define KXCONFIG_MAX_DISKS  26u
#define KXCONFIG_MAX_NICS   16u
#define KXCONFIG_MAX_CPUS   1024u        /* highest CPU number a cpuset may name, plus one */

/* <disk type='file'|'block' device='disk'>: a Xen vbd. */
struct kxconfig_disk {
	char *file;                /* <source file=...> (or dev=... for block), resolved like <kernel> */
	char *target;              /* <target dev='xvdX'> */
	char *driver;              /* <driver name>: qemu, file, phy, tap, tap2; NULL when absent */
	int qcow2;                 /* <driver type='qcow2'>; else raw */
	int readonly;
	char *backing;             /* <backingStore><source file=...>: the image's backing file; NULL: the image's own */
	char *backing_format;      /* <backingStore><format type=...>: raw, qcow2; NULL: the image's own */
	int line;                  /* of <disk>, for errors found later */
	int block;                 /* type='block' with <source dev>: a block device, served raw */
};

/* <interface type='bridge'|'ethernet'>: a Xen vif. */
struct kxconfig_nic {
	uint8_t mac[6];
	int mac_generated;         /* no <mac>: 00:16:3e (Xen's OUI) and three random bytes */
	char *bridge;              /* NULL for ethernet */
	int line;
	int ethernet;              /* type='ethernet': a switch of its own, named after the vif */
	char *vifname;             /* <target dev>, NULL when absent (kxl names it vifD.N) */
	char *script;              /* <script path> as written, NULL when absent */
};

struct kxconfig {
	char *source;              /* the path it was loaded from, as given */
	enum kxconfig_virt virt;
	char *name;                /* 1..KXCTL_NAME_MAX-1 chars, never all digits */
	uint8_t uuid[16];
	int uuid_generated;        /* no <uuid> in the file: a random v4 one was made */
	char *title;               /* NULL when absent */
	char *description;         /* NULL when absent; kept verbatim */
	uint64_t mem_bytes;        /* <memory> */
	uint64_t cur_mem_bytes;    /* <currentMemory>, mem_bytes when absent */
	unsigned vcpus;
	unsigned vcpus_current;    /* <vcpu current=...>, vcpus when absent */
	char *cpuset;              /* <vcpu cpuset=...> as written, NULL when absent */
	uint8_t cpumask[KXCONFIG_MAX_CPUS / 8]; /* cpuset parsed; all ones when absent */
	/* <cputune>: as written (for dumpxml) and as xl's credit weight (0: default) and cap (0: none). */
	int cputune_line;          /* 0 when absent */
	unsigned shares, period;   /* 0 when absent */
	long long quota;
	int has_quota;
	unsigned sched_weight, sched_cap;
	unsigned npins;
	struct kxconfig_vcpupin {
		unsigned vcpu;
		char *cpuset;          /* as written */
		uint8_t mask[KXCONFIG_MAX_CPUS / 8];
	} pins[KXCONFIG_MAX_VCPUS];
	enum kxconfig_os os_type;
	char *kernel;              /* resolved against the XML file's directory */
	int kernel_line;           /* line of <kernel>, for errors found later (file missing...) */
	char *initrd;              /* resolved like kernel; NULL when absent */
	int initrd_line;
	char *cmdline;             /* NULL when absent */
	enum kxconfig_action on_poweroff, on_reboot, on_crash;
	int clock;                 /* <clock> was given (kept for dumpxml) */
	int clock_line;            /* 0 when absent */
	int clock_localtime;       /* the host's UTC offset is added at each start (offset or basis 'localtime') */
	int32_t clock_adjust_s;    /* <clock adjustment='SECONDS'>, 0 when absent or 'reset' */
	int e820_host_line;        /* <features><xen><e820_host state='on'/>, 0 otherwise */
	int passthrough_line;      /* <features><xen><passthrough state='on'/>, 0 otherwise */
	int console;               /* <console type='pty'> was given */
	unsigned ndisks, nnics;
	struct kxconfig_disk disks[KXCONFIG_MAX_DISKS];
	struct kxconfig_nic nics[KXCONFIG_MAX_NICS];
	int devices_line;          /* of <devices>, 0 when absent */
	uint64_t mem_written;      /* <memory> as written when it was rounded up to 2 MiB, else 0 */
	int mem_line;
	int memballoon_line;       /* <memballoon model='xen'>, 0 when absent or model='none' */
	int input_line;            /* the first <input>, 0 when none */
	int controller_line;       /* <controller type='xenbus'>, 0 when absent */
	unsigned max_grant_frames; /* its maxGrantFrames, 0 when absent */
	unsigned max_evtchns;      /* its maxEventChannels, 0 when absent */
	int serial;                /* <serial type='pty'> was given (the same PV console) */
	int live_domid;            /* -1; set before kxconfig_format to write <domain id=...> */
	void *doc;                 /* the document as loaded (xmlDocPtr): kxconfig_format keeps it */
};

/*
 * Parses path, validates it against domain.rng and checks the values.
 * Returns 0 with *out set (free with kxconfig_free), or with *out NULL and
 * one line in err ("PATH:LINE: ..." naming the element at fault) -EINVAL
 * (unreadable or invalid) or -ENOMEM.
 * Nothing is printed to stderr.
 */
int kxconfig_load(const char *path, struct kxconfig **out, char *err, size_t errlen);
void kxconfig_free(struct kxconfig *cfg);

/*
 * Writes cfg as domain XML that kxconfig_load reads back to an equal config:
 * the document as the user wrote it (spellings, comments, <metadata>), with
 * what was generated or changed since filled in (uuid, macs, name, resolved
 * paths) and <domain id> set from live_domid. Returns 0, -ENOMEM or -EIO
 * (writing f failed).
 */
int kxconfig_format(const struct kxconfig *cfg, FILE *f);

/*
 * The seconds kxen-hv adds to the domain's wallclock for a start at now: the
 * adjustment plus, for localtime, the host's UTC offset at now (as libxl
 * computes rtc_timeoffset at each build). 0, or -ERANGE if it exceeds Xen's
 * 32-bit offset.
 */
int kxconfig_wallclock_offset(const struct kxconfig *c, time_t now, int32_t *out);

/*
 * Lets kxconfig_load keep RelaxNG verdicts in dir (created 0700, used only
 * while owned by this user and writable by nobody else; NULL or "", the
 * default: none). A document byte-identical to one found valid against a
 * byte-identical schema by the same libxml2 then skips the schema's compile
 * (most of a load); any other is validated in full.
 */
void kxconfig_set_verdict_cache(const char *dir);

/* The schema file kxconfig_load uses: $KXEN_SCHEMA, else installed, else source tree. */
const char *kxconfig_schema_path(void);

/*
 * Parses a CPU list ("0-3,^2,6", "all", "all,^1") into mask (nbits bits,
 * bit N = CPU N). 0, or -EINVAL with err naming the problem (without the
 * list's context: the caller says which field it was).
 */
int kxconfig_cpulist(const char *s, uint8_t *mask, unsigned nbits, char *err, size_t errlen);
/* mask as the shortest such list ("all" when every bit is set); out is "" for an empty mask. */
void kxconfig_cpulist_format(const uint8_t *mask, unsigned nbits, char *out, size_t len);
/*
 * libvirt scaled integers: value in unit (NULL or "" means KiB; b, bytes,
 * KB=1000, k/KiB=1024, MB, M/MiB, GB, G/GiB, TB, T/TiB; case-insensitive).
 * Returns 0, -EINVAL for an unknown unit or a malformed value, -ERANGE on
 * overflow.
 */
int kxconfig_scale(const char *value, const char *unit, uint64_t *bytes);
/* The canonical spelling of a unit for messages ("MiB" for "M"); NULL if unknown. */
const char *kxconfig_unit_name(const char *unit);

/* UUIDs: 32 hex digits, dashes allowed as 8-4-4-4-12. Return 0 or -EINVAL/-errno. */
int kxconfig_uuid_parse(const char *s, uint8_t uuid[16]);
void kxconfig_uuid_format(const uint8_t uuid[16], char out[37]);
int kxconfig_uuid_generate(uint8_t uuid[16]);

const char *kxconfig_action_name(enum kxconfig_action a);
/* What kxen-hv is told to do: destroy only for destroy; the monitor needs the rest kept. */
enum kxctl_action kxconfig_hv_action(enum kxconfig_action a);
/* Whether an action needs kxl's monitor process (restart, rename-restart, coredump-*). */
int kxconfig_action_needs_monitor(enum kxconfig_action a);
/* Whether any of cfg's three actions does. */
int kxconfig_needs_monitor(const struct kxconfig *cfg);
void kxconfig_mac_format(const uint8_t mac[6], char out[18]);
const char *kxconfig_os_name(enum kxconfig_os os);
const char *kxconfig_virt_name(enum kxconfig_virt v);

#endif
