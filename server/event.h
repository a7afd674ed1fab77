/*
 * The real-time endpoint /event (event.c and the event_*.c files), apart from the API's single
 * store connection and lock:
 *
 *   - each call is computed on the polling loop that received it (http_loop.h);
 *   - the account's rule-based traits, segments, merge rules, models and their current snapshots
 *     are kept parsed and loaded in memory (event_view.h), rebuilt when srv_config.generation
 *     moves (every API write and every training bumps it), so a retraining is picked up by the
 *     next event; calls go on with the previous view while the new one is built;
 *   - what the store knows of a visitor is kept in memory too (visitor_cache.h), read from the
 *     store (through a pool of read connections, WAL) only for visitors not seen recently;
 *   - what a call stores (realizations, c_ attributes, device links, classifications, edge
 *     reports) goes to one writer thread that commits whatever has queued in one transaction
 *     (group commit, synchronous=FULL): the connection is suspended meanwhile and answered only
 *     after its commit, so every acknowledged event is durable, and a failed commit answers 503.
 */
#ifndef PN_SERVER_EVENT_H
#define PN_SERVER_EVENT_H

#include "http_request.h"
#include "srv.h"

typedef struct ev_runtime ev_runtime;
typedef struct ev_call ev_call;

/* Starts the writer thread and the reader pool on the store at db_path, with a visitor cache of
 * about cache_mb MiB (0: 256). */
int ev_start(const char *db_path, srv_config *cfg, size_t cache_mb, ev_runtime **out, char *err, size_t errcap);
/* Stops the writer after it has committed (and resumed) everything queued; later calls are
 * answered 503. NULL is a no-op. */
void ev_stop(ev_runtime *rt);
/* Frees the runtime once the HTTP daemon is stopped. NULL is a no-op. */
void ev_free(ev_runtime *rt);

/* Handles one complete /event request of connection `conn`. Returns the call (caller frees with
 * ev_call_free after answering), NULL when memory is short; when *suspended is set the call
 * waits for the commit of its writes and `conn` is handed to srv_config.resuming after it: the
 * caller must not answer before, then answers with ev_answer. */
ev_call *ev_begin(ev_runtime *rt, void *conn, const http_request_info *req, int *suspended);
/* The answer of a finished call: returns its status; *body (the JSON, moved out of the call:
 * free it with free) is NULL when memory ran short, and the status is then 500. `headers` gets
 * the answer's header lines ("Name: value\r\n" each: Cache-Control, and Set-Cookie for a new
 * visitor). A committed call's writes become visible to the visitor's next call here. */
unsigned ev_answer(ev_call *call, char **body, size_t *len, char *headers, size_t cap);
/* Returns once the store's tables hold every event acknowledged so far (the ingester lags
 * behind the log by up to half a second): training, export and reports call it first. With
 * `urgent` the ingester moves them at once; otherwise its next regular batch is awaited (see
 * ev_ingest_sync). `rt` is an ev_runtime (void for srv_config's hook). */
void ev_sync(void *rt, int urgent);
/* srv_config's store_changed hook: `account`'s view is built again from db on the caller's
 * thread (ev_views_refresh), not by the next /event call. */
void ev_store_changed(void *rt, sqlite3 *db, int64_t account, const srv_trained *trained);
void ev_call_free(ev_call *call);

#endif
