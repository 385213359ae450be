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
	{ "shutdown", main_shutdown, "[-w] [-t SECONDS] DOM",
	  "Ask a domain to shut down (poweroff)",
	  "Shuts DOM down with reason poweroff; what happens next follows its\n"
	  "on_poweroff action (destroy or preserve).\n"
	  "  -w          wait until the domain is gone or has shut down\n"
	  "  -t SECONDS  give up waiting after SECONDS (default 60); exit status 1" },
	{ "dmesg", main_dmesg, "[-f]",
	  "Print the hypervisor's log",
	  "Prints the log kept by kxen-hv, oldest first.\n"
	  "  -f        keep printing new messages until interrupted" },
	{ "validate", main_validate, "FILE.xml...",
	  "Check domain XML files without creating anything",
	  "Parses each FILE.xml, validates it against the schema and checks its values;\n"
	  "prints the first error of each invalid file. With -v, prints each valid\n"
	  "config as kxl understands it, generated UUID included." },
	{ "console", main_console, "DOM",
	  "Attach to a domain's console",
	  "Connects the terminal to DOM's console (the pty kxen-backd serves, found\n"
	  "at /local/domain/ID/console/tty in xenstore): guest output is shown and\n"
	  "what you type goes to the guest. Ctrl-] detaches and restores the terminal.\n"
	  "xenstore is found at $XENSTORED_PATH (default /run/xenstored/socket)." },
	{ "help", main_help, "[COMMAND]",
	  "Show help for kxl or one command",
	  "Without COMMAND, lists the commands. Command names may be shortened to\n"
	  "any unambiguous prefix." },
};

const unsigned kxl_ncmds = sizeof(kxl_cmds) / sizeof(kxl_cmds[0]);
