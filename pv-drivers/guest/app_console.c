/* Console ring apps: `echo` reads lines and answers them upper-cased; `count N [MS]` prints numbered lines. */
#include "apps.h"
#include "clock.h"
#include "console.h"
#include "kstring.h"
#include "sched.h"
#include "xencons.h"

int app_echo(int argc, char **argv)
{
	char line[256];

	printk("echo: ready, type a line (\"quit\" powers off)\n");
	for (;;) {
		size_t n = xencons_readline(line, sizeof(line));

		if (strcmp(line, "quit") == 0)
			break;
		for (size_t i = 0; i < n; i++)
			if (line[i] >= 'a' && line[i] <= 'z')
				line[i] = (char)(line[i] - 'a' + 'A');
		printk("echo: %s (%zu chars)\n", line, n);
	}
	printk("echo: bye\n");
	return 0;
}

int app_count(int argc, char **argv)
{
	unsigned long n, ms = 0;

	if (argc < 2 || parse_ulong(argv[1], &n) < 0 ||
	    (argc > 2 && parse_ulong(argv[2], &ms) < 0)) {
		printk("count: usage: count LINES [MS_BETWEEN]\n");
		return 1;
	}
	for (unsigned long i = 1; i <= n; i++) {
		printk("count: line %lu of %lu\n", i, n);
		if (ms)
			msleep(ms);
	}
	printk("count: done\n");
	return 0;
}
