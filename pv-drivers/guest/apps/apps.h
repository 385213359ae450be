/* The test and demo applications selected by the first word of the command line. */
#ifndef GUEST_APPS_H
#define GUEST_APPS_H

/* An app returns 0 for "power off" and anything else for "crash the domain". */
typedef int (*app_fn)(int argc, char **argv);

int app_hello(int argc, char **argv);
int app_sleep(int argc, char **argv);
int app_vkbd_test(int argc, char **argv);
int app_evtchn_pong(int argc, char **argv);
int app_evtchn_ping(int argc, char **argv);
int app_evtchn_send(int argc, char **argv);
int app_crash(int argc, char **argv);
int app_smp(int argc, char **argv);
int app_hypercall_bench(int argc, char **argv);
int app_idle(int argc, char **argv);
int app_burn(int argc, char **argv);
int app_selftest(int argc, char **argv);
int app_hcfuzz(int argc, char **argv);
int app_log_flood(int argc, char **argv);
int app_gnttab_test(int argc, char **argv);
int app_gnttab_grant(int argc, char **argv);
int app_echo(int argc, char **argv);
int app_count(int argc, char **argv);
int app_cons_garbage(int argc, char **argv);
int app_xs_test(int argc, char **argv);
int app_xs_bench(int argc, char **argv);
int app_xs_watch(int argc, char **argv);
int app_xs_loop(int argc, char **argv);
int app_blk_test(int argc, char **argv);
int app_blk_flush(int argc, char **argv);
int app_blk_loop(int argc, char **argv);
int app_blk_hostile(int argc, char **argv);
int app_blk_hotplug(int argc, char **argv);
int app_ping(int argc, char **argv);
int app_udp_echo(int argc, char **argv);
int app_udp_send(int argc, char **argv);
int app_udp_recv(int argc, char **argv);
int app_net_hostile(int argc, char **argv);

/* The command line exactly as the builder gave it (NUL-terminated copy). */
extern char kernel_cmdline[];

#endif
