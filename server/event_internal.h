/*
 * What the files of /event share (event.c, event_params.c, event_reader.c, event_log.c,
 * event_ingest.c): the runtime and one call. Not a public interface: event.h is.
 *
 * The path of an event's writes: the call is evaluated on its HTTP thread, which encodes what
 * it stores as one payload (JSON); the event log (event_log.c, segment files beside the store,
 * STORE-eventlog/) commits queued calls in groups and only then are they answered, so an
 * acknowledged event is durable; the ingester (event_ingest.c) moves logged events into the
 * store's tables (realizations, visitor_attributes, device_links, classifications,
 * edge_reports) in large transactions, after which the log may reuse their space. A commit that
 * answers wait for is one write and one fdatasync of the records, not a page per index the store
 * keeps up to date; what the store does not have yet, readers take from the log's memory.
 */
#ifndef PN_SERVER_EVENT_INTERNAL_H
#define PN_SERVER_EVENT_INTERNAL_H

#include <pthread.h>

#include "event.h"
#include "event_view.h"
#include "visitor_cache.h"

#define EV_MAX_PARAMS 256
#define EV_MAX_KEY 128
#define EV_MAX_VALUE 4096
#define EV_MAX_UUID VC_MAX_ID
#define EV_MAX_CIDS 8

/* ---- parameters (event_params.c) ------------------------------------------------------------ */

typedef struct ev_param {
    const char *key, *value; /* NUL-terminated */
    size_t klen, vlen;
} ev_param;

typedef struct ev_params {
    ev_param items[EV_MAX_PARAMS];
    size_t n;
    int too_many;
    char *text;  /* decoded form body (owned) */
    cJSON *json; /* parsed JSON body (owned) */
    char *numbers; /* JSON numbers and booleans as text (owned) */
} ev_params;

/* The query string of the request. */
void ev_params_query(ev_params *p, const http_request_info *req);
/* A POST body: form-encoded or a JSON object of strings, numbers and booleans. Returns 0, or -1
 * with *why set. */
int ev_params_body(ev_params *p, const char *body, size_t len, const char **why);
void ev_params_free(ev_params *p);

/* ---- one call -------------------------------------------------------------------------------- */

typedef struct ev_attr {
    char *key, *value; /* owned */
} ev_attr;

typedef struct ev_edge {
    int64_t model, reported, server, version; /* reported/server 0: none */
} ev_edge;

struct ev_call {
    ev_call *next; /* in the log's queue */
    ev_runtime *rt;
    void *conn; /* the HTTP connection (http_loop.h), handed back after the commit */
    int status;
    char *body; /* the answer (owned) */
    size_t body_len;
    char cookie[EV_MAX_UUID + 1];
    int set_cookie;
    /* what to store */
    int64_t account, now;
    char uuid[EV_MAX_UUID + 1];
    vc_row *realized; /* (trait, now) */
    size_t nrealized;
    ev_attr *attrs;
    size_t nattrs;
    vc_link cids[EV_MAX_CIDS];
    size_t ncids;
    vc_cls cls[SRV_MAX_MODELS]; /* baseline 0: the visitor left the model's predictive segment */
    size_t ncls;
    ev_edge edge[SRV_MAX_MODELS];
    size_t nedge;
    char *payload; /* all of the above, as the event log stores it (owned) */
    size_t payload_len;
    int64_t seq;   /* its id in the event log, once committed */
};

/* The payload of a call (ev_payload_encode) and its reading (event_payload.c). */
int ev_payload_encode(ev_call *c);
typedef struct ev_payload {
    cJSON *root;
    const cJSON *realized, *attrs, *cids, *cls, *edge; /* arrays, or NULL */
} ev_payload;
int ev_payload_parse(const char *text, size_t len, ev_payload *out); /* 0, or -1: not a payload */
void ev_payload_free(ev_payload *p);
/* Item i of one of the payload's tuples (such as [model, baseline, version]): an integer (0 when
 * it is not one), a string (NULL when it is not one). */
int64_t ev_payload_int(const cJSON *tuple, int i);
const char *ev_payload_text(const cJSON *tuple, int i);
/* The payload's authenticated ids, seen at `ts`, into out[< cap]; returns how many. */
size_t ev_payload_cids(const ev_payload *p, int64_t ts, vc_link *out, size_t cap);
/* Fails a call: its answer becomes {"error": msg} with `status`. Returns c. */
ev_call *ev_call_fail(ev_call *c, int status, const char *msg);

/* ---- the store side (event_reader.c) ---------------------------------------------------------- */

typedef struct ev_reader ev_reader;
typedef struct ev_readers ev_readers;

typedef struct ev_log ev_log;
typedef struct ev_pending ev_pending;
ev_readers *ev_readers_new(const char *db_path, ev_log *log);
void ev_readers_free(ev_readers *rs);
ev_reader *ev_reader_get(ev_readers *rs); /* NULL when the store cannot be opened */
void ev_reader_put(ev_readers *rs, ev_reader *r);
sqlite3 *ev_reader_db(ev_reader *r);
/* The vc_loader of the visitor cache; ctx is an ev_reader. Takes the pending events first and
 * the store second, so that an event moved from the one to the other in between is found in the
 * store. */
int ev_reader_load(void *ctx, int64_t account, const char *uuid, unsigned what, vc_visitor *out);
/* The devices seen with authenticated id (ds, cid), appended to out[*n < cap] unless already
 * there or equal to self. */
int ev_reader_graph(ev_reader *r, int64_t account, int64_t ds, const char *cid, const char *self,
                    char (*out)[EV_MAX_UUID + 1], size_t *n, size_t cap);

/* ---- the runtime ------------------------------------------------------------------------------ */

typedef struct ev_ingest ev_ingest;

typedef struct ev_scratch ev_scratch;

struct ev_runtime {
    srv_config *cfg;
    pthread_mutex_t scratch_mu;
    ev_scratch *scratch; /* evaluations' buffers, kept between calls (event.c) */
    _Atomic uint64_t onboarded_seen; /* the cfg->onboarded the cache has caught up with */
    ev_readers *readers;
    ev_views *views;
    vc_cache *cache;
    ev_log *log;
    ev_ingest *ingest;
};

/* The path of the event log beside the store: STORE-eventlog (a directory). */
void ev_log_path(const char *db_path, char *out, size_t cap);

/* Opens (creating it when missing) and recovers the event log (event_log.c). Its writer thread
 * starts with ev_log_run, once ev_log_load_pending has been given the store's progress. */
int ev_log_start(const char *db_path, ev_log **out, char *err, size_t errcap);
int ev_log_run(ev_log *l, char *err, size_t errcap);
/* The log's random id: the store remembers up to where it has taken the events of which log. */
const char *ev_log_id(const ev_log *l);
/* fn(ctx) runs after each commit (the ingester's wake-up). */
void ev_log_on_commit(ev_log *l, void (*fn)(void *), void *ctx);
/* How the writer tells the HTTP loops about the connections it resumes: srv_config's resuming
 * and resumed hooks (either may be NULL). Set before ev_log_run. */
void ev_log_on_resume(ev_log *l, void (*resuming)(void *, void *), void (*resumed)(void *),
                      void *ctx);
/* Queues a call; after its commit (or its failure) its connection goes to the resuming hook.
 * -1 when the log is stopping. */
int ev_log_queue(ev_log *l, ev_call *c);
void ev_log_stop(ev_log *l); /* commits and resumes everything queued first */
void ev_log_free(ev_log *l);

/* A logged event the store's tables may not have yet. */
typedef struct ev_logged {
    int64_t seq, account, ts;
    char uuid[EV_MAX_UUID + 1];
    char *payload; /* JSON (event_payload.c) */
    size_t len;
    vc_link *cids; /* its authenticated ids (pending events only) */
    size_t ncids;
} ev_logged;
/* At start: keeps in memory the logged events after `after` (the store's progress). */
int ev_log_load_pending(ev_log *l, int64_t after);
/* Events up to `seq` are in the store: the log forgets them and may reuse their space. */
void ev_log_ingested(ev_log *l, int64_t seq);
/* The log's pending events (owned by the log). */
ev_pending *ev_log_pending(ev_log *l);

/* Pending events (event_pending.c): what the log has committed and the store's tables may not
 * have yet, in memory, in sequence order, by visitor and by authenticated id; each operation
 * costs the same however many are pending. Every function may be called from any thread, but
 * ev_pending_take and ev_pending_forget from one only (the ingester's; at a start, the log's
 * recovery before it runs). */
ev_pending *ev_pending_new(void);
void ev_pending_free(ev_pending *p);
/* Adds a committed event; sequence numbers come in increasing order. The payload is copied, or
 * taken over when take and *take are not NULL (*take is then set to NULL). -1: out of memory. */
int ev_pending_add(ev_pending *p, int64_t seq, int64_t account, const char *uuid, int64_t ts, const char *payload,
                   size_t len, char **take, const vc_link *cids, size_t ncids);
/* The visitor's pending events in sequence order (copies; caller frees *out with
 * ev_logged_free), and the highest sequence number committed: every event of the visitor up to
 * it is pending or in the store. */
int ev_pending_visitor(ev_pending *p, int64_t account, const char *uuid, ev_logged **out, size_t *n, int64_t *upto);
void ev_logged_free(ev_logged *e, size_t n);
/* Adds to out the other devices of pending events seen with (ds, cid), like ev_reader_graph. */
int ev_pending_graph(ev_pending *p, int64_t account, int64_t ds, const char *cid, const char *self,
                     char (*out)[EV_MAX_UUID + 1], size_t *n, size_t cap);
/* Up to cap pending events after `after`, in order, for the ingester: pointers valid until it
 * forgets them (ev_pending_forget). The events are walked outside the lock. */
size_t ev_pending_take(ev_pending *p, int64_t after, const ev_logged **out, size_t cap);
/* The highest sequence number committed. */
int64_t ev_pending_last(ev_pending *p);
/* Drops the events up to `seq` (the store has them); the highest committed is at least `seq`.
 * The lock is taken a few hundred events at a time and nothing is freed under it. */
void ev_pending_forget(ev_pending *p, int64_t seq);

/* The ingester (event_ingest.c): one thread moving logged events into the store; flushes the
 * cache when it finds realizations it did not write (onboarding by another process). */
int ev_ingest_start(const char *db_path, vc_cache *cache, ev_log *log, ev_ingest **out, char *err, size_t errcap);
void ev_ingest_wake(void *ingest);
/* Waits until the store's tables have every event up to `upto` (at most 30 s); -1 when the
 * store refused them meanwhile. With `urgent` the ingester starts a batch at once (an API call
 * waits for it); otherwise the caller waits for its regular batches, which come every half
 * second under load (a training: see event_ingest.c). */
int ev_ingest_sync(ev_ingest *g, int64_t upto, int urgent);
void ev_ingest_stop(ev_ingest *g); /* moves everything logged first */
void ev_ingest_free(ev_ingest *g);

#endif
