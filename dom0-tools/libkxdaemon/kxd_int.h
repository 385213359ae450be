/* libkxdaemon's internals shared between its files. */
#ifndef KXD_INT_H
#define KXD_INT_H

#include <stdbool.h>

/* daemon.c: true between kxd_daemon_start and kxd_daemon_ready, when the starter's terminal still shows our errors. */
bool daemon__starting(void);

#endif
