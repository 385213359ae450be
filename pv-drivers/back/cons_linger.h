/* The console backend's lingering ptys (cons_linger.c). */
#ifndef CONS_LINGER_H
#define CONS_LINGER_H

struct backd;

/*
 * Closes a gone domain's pty (master and slave fds, already out of the
 * loop) once its client has read everything, or after 2 s: closing the
 * master at once would hang the slave up and drop the domain's last words
 * before `kxl console` reads them.
 */
void cons_linger__close(struct backd *bd, int master, int slave);

#endif
