/* libkxdaemon's internals shared between its files. */
#ifndef KXD_INT_H
#define KXD_INT_H

#include <stdbool.h>

/* daemon.c: true between kxd_daemon_start and kxd_daemon_ready, when the starter's terminal still shows our errors. */
bool daemon__starting(void);
/* log.c: a line for the log only, never the starter's terminal (news, not a reason it failed). */
void log__info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
