/* xs_fixture.h: in-memory kxenstored connections for the CUnit suites: send a request, collect replies and events. */
#ifndef XS_FIXTURE_H
#define XS_FIXTURE_H

#include "kxenstored.h"

struct fx_msg { uint32_t type, req_id, tx_id, len; char data[XENSTORE_PAYLOAD_MAX + 1]; };

/* A connection whose transport is two memory buffers; domid 0 is privileged. */
struct xs_conn *fx_conn(struct xs_server *srv, unsigned domid);
/* Sends one request (payload as given) and returns the reply's type (-1 if none); the reply in *m. */
int fx_req(struct xs_conn *c, uint32_t type, uint32_t tx, const void *p, unsigned len, struct fx_msg *m);
/* The next queued watch event of c: 1 with path/token filled, 0 if none. */
int fx_event(struct xs_conn *c, char *path, char *token);
/* Discards pending events of c. */
void fx_drain(struct xs_conn *c);

#endif
