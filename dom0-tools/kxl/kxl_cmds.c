/* The kxl command table: "kxl help", "kxl help CMD" and "kxl CMD --help" are all generated from it. */
#include <config.h>
#include <stdio.h>
#include "kxl.h"

const struct kxl_cmd kxl_cmds[] = {
	{ "create", main_create, "[-p] FILE.xml",
	  "Create a domain from a domain XML file",
	  "Parses and validates FILE.xml, checks that no domain has its name, builds\n"
	  "the domain and starts it.\n"
	  "  -p        leave the domain paused after building it (start it with unpause)\n"
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
	  "Stops DOM's vCPUs and frees all of its resources. DOM is a name or an id." },
	{ "pause", main_pause, "DOM",
	  "Pause a domain",
	  "Stops scheduling DOM's vCPUs; its memory and state stay. DOM is a name or an id." },
	{ "unpause", main_unpause, "DOM",
	  "Unpause a paused domain",
	  "Lets DOM's vCPUs run again. DOM is a name or an id." },
	{ "shutdown", main_shutdown, "[-awF] [-t SECONDS] [-T SECONDS] DOM",
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
	{ "reboot", main_reboot, "[-awF] [-t SECONDS] [-T SECONDS] DOM",
	  "Ask a domain to reboot",
	  "Writes \"reboot\" to DOM's control/shutdown; the guest shuts down with\n"
	  "reason reboot and its on_reboot action follows. Options as for shutdown,\n"
	  "with control/feature-reboot as the guest's advertisement." },
	{ "dmesg", main_dmesg, "[-f]",
	  "Print the hypervisor's log",
	  "Prints the log kept by kxen-hv, oldest first.\n"
	  "  -f        keep printing new messages until interrupted" },
	{ "validate", main_validate, "FILE.xml...",
	  "Check domain XML files without creating anything",
	  "Parses each FILE.xml, validates it against the schema and checks its values;\n"
	  "prints the first error of each invalid file. With -v, prints each valid\n"
	  "config as kxl understands it, generated UUID included." },
	{ "help", main_help, "[COMMAND]",
	  "Show help for kxl or one command",
	  "Without COMMAND, lists the commands. Command names may be shortened to\n"
	  "any unambiguous prefix." },
};

const unsigned kxl_ncmds = sizeof(kxl_cmds) / sizeof(kxl_cmds[0]);
