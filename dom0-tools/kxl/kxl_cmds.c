/* The kxl command table: "kxl help", "kxl help CMD" and "kxl CMD --help" are all generated from it. */
#include <config.h>
#include <stdio.h>
#include "kxl.h"
#include "kxl_block.h"

const struct kxl_cmd kxl_cmds[] = {
	{ "create", main_create, "[-p] [-c] [-F] FILE.xml",
	  "Create a domain from a domain XML file",
	  "Parses and validates FILE.xml, checks that no domain has its name and that\n"
	  "the host has the memory, builds the domain, saves its config and starts it.\n"
	  "If an on_* action is restart, rename-restart or coredump-*, a monitor process\n"
	  "stays behind to carry it out (its log: $KXEN_STATE_DIR/UUID.log).\n"
	  "  -p        leave the domain paused after building it (start it with unpause)\n"
	  "  -c        attach to the new domain's console (as kxl console; Ctrl-] detaches)\n"
	  "  -F        run the monitor in the foreground until the domain is gone\n"
	  "With the global -N, prints the parsed config and the build plan and stops.\n"
	  "A <kernel> that does not exist is looked for as $KXEN_GUEST_DIR/BASENAME,\n"
	  "then in the installed guest directory." },
	{ "list", main_list, "[-l] [DOM...]",
	  "List domains",
	  "One line per domain: name, id, memory (MiB), vCPUs, state and CPU time\n"
	  "in seconds. State flags, '-' when unset: r running, b blocked, p paused,\n"
	  "s shut down, c crashed, d dying.\n"
	  "  -l        also show the UUID, the shutdown reason and the exit, hypercall\n"
	  "            and event counters" },
	{ "destroy", main_destroy, "DOM",
	  "Terminate a domain immediately",
	  "Stops DOM's vCPUs and frees all of its resources, and removes its saved config.\n"
	  "No on_* action runs. DOM is a name or an id." },
	{ "pause", main_pause, "DOM",
	  "Pause a domain",
	  "Stops scheduling DOM's vCPUs; its memory and state stay. DOM is a name or an id." },
	{ "unpause", main_unpause, "DOM",
	  "Unpause a paused domain",
	  "Lets DOM's vCPUs run again. DOM is a name or an id." },
	{ "shutdown", main_shutdown, "[-wF] [-t SECONDS] [-T SECONDS] {-a | DOM}",
	  "Ask a domain to shut down (poweroff)",
	  "Writes \"poweroff\" to DOM's control/shutdown in xenstore, as xl does; the\n"
	  "guest acknowledges and powers off, and its on_poweroff action follows.\n"
	  "A guest that does not advertise control/feature-poweroff is refused\n"
	  "unless -F is given.\n"
	  "  -a          all domains (no DOM)\n"
	  "  -w          wait until the domains are gone or have shut down\n"
	  "  -F          fall back to the hypervisor: at once for a guest without the\n"
	  "              PV control interface, else when it has not acknowledged\n"
	  "  -t SECONDS  give up waiting (-w) after SECONDS (default 60); exit status 1\n"
	  "  -T SECONDS  with -F, how long to wait for the acknowledgement (default 10)" },
	{ "reboot", main_reboot, "[-wF] [-t SECONDS] [-T SECONDS] {-a | DOM}",
	  "Ask a domain to reboot",
	  "Writes \"reboot\" to DOM's control/shutdown; the guest shuts down with\n"
	  "reason reboot and its on_reboot action follows (restart rebuilds it from\n"
	  "its saved config). Options as for shutdown, with control/feature-reboot\n"
	  "as the guest's advertisement; -w waits until the old domain has shut down\n"
	  "or is gone." },
	{ "dmesg", main_dmesg, "[-f]",
	  "Print the hypervisor's log",
	  "Prints the log kept by kxen-hv, oldest first.\n"
	  "  -f        keep printing new messages until interrupted" },
	{ "validate", main_validate, "FILE.xml...",
	  "Check domain XML files without creating anything",
	  "Parses each FILE.xml, validates it against the schema and checks its values;\n"
	  "prints the first error of each invalid file. With -v, prints each valid\n"
	  "config as kxl understands it, generated UUID included." },
	{ "info", main_info, "",
	  "Show information about the host",
	  "CPUs, memory (total, free, used by domains, in MiB), the number of domains\n"
	  "and the versions of kxen-hv, KVM, kxl and the control interface." },
	{ "uptime", main_uptime, "[DOM...]",
	  "Show how long domains have existed",
	  "One line per domain (or per DOM): name, id and time since creation." },
	{ "domid", main_domid, "NAME",
	  "Print the id of a domain",
	  "Prints the domain id of the domain called NAME." },
	{ "domname", main_domname, "DOMID",
	  "Print the name of a domain",
	  "Prints the name of the domain with id DOMID." },
	{ "rename", main_rename, "DOM NEWNAME",
	  "Rename a domain",
	  "Gives DOM a new name, which must be free and follow the rules of <name>;\n"
	  "the saved config follows." },
	{ "dumpxml", main_dumpxml, "DOM",
	  "Print a domain's configuration as XML",
	  "Prints the config DOM runs with, generated values (UUID, MAC addresses)\n"
	  "and defaults filled in. Only for domains kxl created." },
	{ "vcpu-list", main_vcpu_list, "[DOM...]",
	  "List vCPUs",
	  "One line per vCPU of every domain (or of each DOM): id, state (r runnable,\n"
	  "b blocked, p paused, --- offline), CPU time and hard affinity (vcpu-pin;\n"
	  "soft affinity is always all: the host scheduler has none)." },
	{ "vcpu-pin", main_vcpu_pin, "[-f] DOM VCPU CPUS [SOFT]",
	  "Pin vCPUs to host CPUs",
	  "Sets the hard affinity of vCPU VCPU of DOM (VCPU may be all): its thread in\n"
	  "kxen-hv then runs only on CPUS, a CPU list as xl takes it: 0-3,^2,6 or all.\n"
	  "It holds from now and whenever the vCPU's thread starts. SOFT must be - or\n"
	  "all (the host scheduler has no soft affinity); -f is accepted for xl's sake." },
	{ "vcpu-set", main_vcpu_set, "DOM N",
	  "Set the number of vCPUs a domain may use",
	  "Writes cpu/I/availability (online for I < N, offline above) in DOM's\n"
	  "xenstore directory, as xl does. Bringing vCPUs up or down is the guest's\n"
	  "move: a Linux guest takes CPUs away at once and makes a CPU given back\n"
	  "present (user space onlines it, as under Xen); kxen-hv refuses VCPUOP_up\n"
	  "of offline vCPUs of kxen's own guests, whose kernel does not hot-plug, so\n"
	  "for them N applies at the next boot." },
	{ "sched-credit", main_sched_credit, "[-d DOM] [-w WEIGHT] [-c CAP]",
	  "Get or set credit scheduler parameters",
	  "xl's credit scheduler parameters on the host scheduler: each domain's vCPU\n"
	  "threads share a cgroup whose CPU weight follows WEIGHT (1-65535, default\n"
	  "256) and whose bandwidth CAP limits (percent of one CPU, 0 = no cap; 150\n"
	  "is one and a half CPUs). Without -d, lists every domain.\n"
	  "  -d DOM     the domain to show or change\n"
	  "  -w WEIGHT  its weight relative to the other domains\n"
	  "  -c CAP     its cap\n"
	  "Where kxen-hv has no writable cgroup (v2 with the cpu controller, or v1's\n"
	  "cpu hierarchy), setting fails and says why." },
	{ "mem-max", main_mem_max, "DOM SIZE",
	  "Set a domain's maximum memory",
	  "SIZE is a number with an optional k, m, g or t suffix (KiB without one).\n"
	  "kxen-hv fixes a domain's maximum at creation: only the current size is\n"
	  "accepted; kxl mem-set moves the balloon target below it." },
	{ "mem-set", main_mem_set, "DOM SIZE",
	  "Set a domain's memory target (the balloon)",
	  "SIZE is a number of MiB, or with a k, m, g or t suffix, between 64 MiB and\n"
	  "the domain's maximum; it is written to memory/target in KiB, as xl does.\n"
	  "The guest's balloon driver (Linux's xen-balloon, or kxen's own kernel's)\n"
	  "gives memory back to the host down to it, or takes it back up to it (at\n"
	  "most the domain's <memory>; <currentMemory> is the target it boots with).\n"
	  "A domain with no balloon driver (not Linux, no control/feature-balloon) is\n"
	  "refused." },
	{ "dump-core", main_dump_core, "DOM FILE",
	  "Write an ELF core dump of a domain",
	  "Pauses DOM, writes its RAM and vCPU registers to FILE as an ELF core that\n"
	  "gdb opens with the guest kernel (gdb KERNEL FILE), and unpauses it." },
	{ "console", main_console, "DOM",
	  "Attach to a domain's console",
	  "Connects the terminal to DOM's console (the pty kxen-backd serves, found\n"
	  "at /local/domain/ID/console/tty in xenstore): guest output is shown and\n"
	  "what you type goes to the guest. Ctrl-] detaches and restores the terminal.\n"
	  "xenstore is found at $XENSTORED_PATH (default /run/xenstored/socket)." },
	{ "block-attach", main_block_attach, "DOM DISKSPEC",
	  "Attach a block device (vbd) to a running domain",
	  "DISKSPEC is xl's: 'format=raw|qcow2, vdev=xvdX, access=r|rw, target=/path'\n"
	  "(target last) or positional '/path,FORMAT,xvdX,ACCESS'. The image is opened\n"
	  "once to check it, then kxen-backd serves it; waits up to 5 s for the backend." },
	{ "block-detach", main_block_detach, "[-f] [-t SECONDS] DOM VDEV",
	  "Detach a block device from a domain",
	  "Walks Xen's close sequence (backend Closing, the guest closes, backend\n"
	  "Closed) and removes the device. VDEV is xvdX or the device number.\n"
	  "  -t SECONDS  how long to wait for the close (default 10)\n"
	  "  -f          remove the device even if it did not close in time" },
	{ "block-list", main_block_list, "DOM...",
	  "List a domain's block devices",
	  "One line per vbd, as xl: device number, backend domain, handle, frontend\n"
	  "state, event channel, ring-ref and the backend's xenstore path." },
	{ "network-attach", main_network_attach, "DOM [bridge=BR] [mac=MAC] [ip=A.B.C.D/N]",
	  "Add a network interface (vif) to a running domain",
	  "Writes the vif's frontend and backend directories in xenstore and waits for\n"
	  "kxen-backd to take it. bridge= names the virtual switch (default xenbr0),\n"
	  "mac= the guest's MAC (default: 00:16:3e and three random bytes), ip= an\n"
	  "address the guest may use (the backend's 'ip' key). Prints the new devid." },
	{ "network-detach", main_network_detach, "[-f] [-t SECONDS] DOM DEVID|MAC",
	  "Remove a network interface from a domain",
	  "Asks the backend to close (online=0, state Closing), waits for the frontend\n"
	  "and backend to reach Closed, then removes the directories.\n"
	  "  -t SECONDS  how long to wait for the close (default 10)\n"
	  "  -f          remove the device even if it did not close in time" },
	{ "network-list", main_network_list, "DOM...",
	  "List a domain's network interfaces",
	  "One line per vif: devid, backend domain, MAC, bridge, backend and frontend\n"
	  "XenbusState, event channel and ring grant refs." },
	{ "help", main_help, "[COMMAND]",
	  "Show help for kxl or one command",
	  "Without COMMAND, lists the commands. Command names may be shortened to\n"
	  "any unambiguous prefix." },
};

const unsigned kxl_ncmds = sizeof(kxl_cmds) / sizeof(kxl_cmds[0]);
