/*
 * Internal interfaces of the server, one section per file. Nothing here is public: the
 * `personae` command only sees server.h.
 *
 * Rules for every handler: it takes a srv_ctx (the caller's account, user and store connection,
 * all borrowed) and fills a srv_resp; on failure it returns the HTTP status it set with
 * srv_fail, whose body is {"error": "<sentence naming the field or object>"}. JSON returned in
 * a srv_resp is owned by the response. SQL is always a constant string with bound parameters.
 */
#ifndef PN_SERVER_SRV_H
#define PN_SERVER_SRV_H

#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#include "personae/model.h"
#include "personae/profiles.h"
#include "personae/snapshot.h"

#define SRV_MAX_JSON_BODY (1u << 20)     /* objects are small: 1 MiB is plenty */
#define SRV_MAX_ONBOARD_BODY (64u << 20) /* a batch of realizations */
#define SRV_MAX_NAME 256
#define SRV_MAX_MODELS 10
#define SRV_FOLDER_PREFIX "Predictive Audiences/"

/* Section - Requests and responses (api.c) */

struct srv_sched;
struct srv_trained;

/* Settings and state of one `serve` shared by the handlers (snapshot.c, event.c). */
typedef struct srv_config {
    uint32_t min_support;        /* k: snapshots that leave the server drop traits of fewer visitors */
    int64_t token_ttl;           /* seconds a snapshot token stays valid */
    uint8_t secret[32];          /* the store's token key (HMAC-SHA256), kept in the store */
    _Atomic uint64_t generation; /* bumped by every API write and training: caches rebuild on change */
    _Atomic uint64_t onboarded;  /* bumped by every onboarding through the API: /event rereads visitors */
    /* makes every acknowledged /event write visible in the store's tables (NULL outside serve):
     * called before training, exporting and reporting; `urgent` as in srv_sync_events */
    void (*sync_events)(void *ctx, int urgent);
    /* rebuilds what /event keeps of `account` from db, after a commit there that may change it,
     * and moves `generation` on (NULL outside serve: srv_store_changed just moves it); `trained`
     * says what the commit was when it was a training's (NULL otherwise) */
    void (*store_changed)(void *ctx, sqlite3 *db, int64_t account, const struct srv_trained *trained);
    void *sync_ctx; /* of both hooks */
    /* a connection whose /event call is committed is handed back to its polling loop (http.c):
     * `resuming` with each connection (after it, the connection may be gone), `resumed` once after
     * a batch of them, which wakes each loop concerned once. NULL: nothing to tell. */
    void (*resuming)(void *ctx, void *conn);
    void (*resumed)(void *ctx);
    void *http_ctx; /* of both hooks */
} srv_config;

/* What a training's commit did to the store's classifications (train_model): it replaced every
 * classification of `model` by these n, at `version`, and the store then held every /event write
 * up to sequence number `applied` (event_ingest.applied, read in the commit's transaction). The
 * visitors are sorted by uuid (strcmp). Owned by whoever filled it. */
typedef struct srv_trained {
    int64_t model, version, applied;
    size_t n;
    struct srv_classified {
        char *uuid;
        int64_t baseline; /* the persona */
    } *visitors;
} srv_trained;
void srv_trained_free(srv_trained *t);                        /* its arrays (t itself is the caller's) */
int64_t srv_trained_baseline(const srv_trained *t, const char *uuid); /* 0: not classified by it */

/* Called after every commit that may change what /event evaluates for `account` (cfg may be NULL);
 * `trained` as in srv_config.store_changed. */
void srv_store_changed(srv_config *cfg, sqlite3 *db, int64_t account, const srv_trained *trained);
/* Returns once the store's tables hold every /event write acknowledged so far (cfg may be NULL:
 * nothing to wait for outside serve). `urgent`: an API call waits, the store takes them at
 * once; otherwise (a training) they come with the store's next regular batch, within about
 * half a second, and no batch is written for the caller alone. */
void srv_sync_events(srv_config *cfg, int urgent);

typedef struct srv_ctx {
    sqlite3 *db;
    int64_t account;
    int64_t user;            /* 0: the account's admin key, which may do everything */
    cJSON *perms;            /* the user's permissions, loaded on first use (owned) */
    struct srv_sched *sched; /* to wake the scheduler; NULL outside `serve` */
    pthread_mutex_t *lock;   /* held while a request runs; NULL outside `serve` */
    srv_config *cfg;         /* NULL outside `serve`: defaults apply */
    int unchanged;           /* set by a write that changes nothing /event evaluates (a token, train-now) */
} srv_ctx;

typedef struct srv_req {
    const char *method;
    const char *path;
    const char *auth;  /* Authorization header or NULL */
    const char *wait;  /* the ?wait= query argument or NULL */
    const char *destination;   /* the ?destination= query argument or NULL */
    const char *if_none_match; /* the If-None-Match header or NULL */
    const char *body;
    size_t body_len;
    const char *limit, *after, *segment; /* the export's ?limit=, ?after=, ?segment_id= or NULL */
} srv_req;

typedef struct srv_resp {
    int status;
    cJSON *json;       /* NULL: no body (204), or the binary body below */
    void *bin;         /* a binary body (owned, freed with free()) */
    size_t bin_len;
    const char *ctype; /* content type of bin (static) */
    char etag[80];     /* an ETag header when not empty */
} srv_resp;

int srv_fail(srv_resp *r, int status, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
int srv_ok(srv_resp *r, int status, cJSON *json);
void srv_ctx_release(srv_ctx *c);
/* Parses a request body that must be one JSON object (400 otherwise). */
int srv_parse_object(const srv_req *q, cJSON **out, srv_resp *r);
/* A JSON array of the DEC label names in `labels`. */
cJSON *srv_labels_json(uint32_t labels);
int64_t srv_now(void);
/* Field k of object o as an integer (0 when absent or not a number), as a string (def when
 * absent or not a string). */
int64_t srv_num(const cJSON *o, const char *k);
const char *srv_str(const cJSON *o, const char *k, const char *def);
/* Nonzero when `v` is a JSON number holding an integer in [lo, hi]. */
int srv_is_int(const cJSON *v, int64_t lo, int64_t hi);
/* v in decimal into out (room for 21 bytes), NUL-terminated; returns its length. What
 * snprintf("%lld") writes, without the format's parsing: a training or an export writes a trait
 * id this way for every realization it reads. */
size_t srv_format_i64(int64_t v, char out[21]);

/* Section - Store (store.c) */

/* WAL pages (4 KiB) after which a commit checkpoints, the same on every connection (store.c) */
#define STORE_WAL_CHECKPOINT_PAGES "8000"

int store_open(const char *path, int create, sqlite3 **out, char *err, size_t errcap);
void store_close(sqlite3 *db);
int store_begin(sqlite3 *db);  /* BEGIN IMMEDIATE; 0 on success */
int store_commit(sqlite3 *db); /* 0 on success */
void store_rollback(sqlite3 *db);
sqlite3_stmt *store_prepare(sqlite3 *db, const char *sql); /* NULL on failure (logged) */

/* Section - Objects: every catalog object and model is a row of one table (objects.c) */

typedef struct srv_refs {
    int64_t *ids;
    size_t n, cap;
} srv_refs;
int refs_add(srv_refs *r, int64_t id);
void refs_free(srv_refs *r);

/* The object `id` of the account, with its "id" first, or NULL. `type` NULL means any type;
 * type_out (>= 24 bytes) and owner_model may be NULL. Caller frees with cJSON_Delete. */
cJSON *obj_get(sqlite3 *db, int64_t account, const char *type, int64_t id, char *type_out, int64_t *owner_model);
/* Every object of `type` in the account, by id. NULL when the store could not be read, a body is
 * not JSON or memory ran out: never a partial list, which a caller would take for the whole. */
cJSON *obj_list(sqlite3 *db, int64_t account, const char *type);
/* SQLITE_DONE on success, SQLITE_CONSTRAINT for a duplicate name, another code on failure. */
int obj_insert(sqlite3 *db, int64_t account, const char *type, const cJSON *body, int64_t owner_model, int64_t *id);
int obj_update(sqlite3 *db, int64_t account, int64_t id, const cJSON *body);
int obj_delete(sqlite3 *db, int64_t account, int64_t id);
int obj_refs_set(sqlite3 *db, int64_t from, const srv_refs *to);
/* The first object that refers to `to` (0 when none); its type into type_out (>= 24 bytes). */
int64_t obj_referrer(sqlite3 *db, int64_t to, char *type_out);
int64_t obj_count(sqlite3 *db, int64_t account, const char *type);
/* The body text of the object without its id (for a name), or NULL; caller frees. */
char *obj_name(sqlite3 *db, int64_t account, int64_t id);

/* Section - Field validation (validate.c): each returns 0, or fills r and returns its status */

int v_known_fields(const cJSON *in, const char *label, const char *const *fields, const char *const *readonly,
                   srv_resp *r);
int v_name(const cJSON *in, const char *label, srv_resp *r);
int v_enum(const cJSON *in, const char *field, const char *label, const char *const *values, const char *def,
           cJSON *out, srv_resp *r);
int v_labels(const cJSON *in, const char *field, const char *label, cJSON *out, uint32_t *bits, srv_resp *r);
/* An integer id field referring to an object of `type` in the account; *id gets it (0 when
 * absent and not required). */
int v_ref(srv_ctx *c, const cJSON *in, const char *field, const char *label, const char *type, const char *type_label,
          int required, int64_t *id, srv_resp *r);
uint32_t labels_from_json(const cJSON *arr);

/* Section - Access (auth.c, permissions.c, accounts.c) */

#define SRV_KEY_BYTES 32
/* Fills buf with n bytes from the kernel's random source (getrandom, retried on EINTR).
 * Returns 0, or -1 with errno set when there is no entropy to be had. */
int srv_random(void *buf, size_t n);
/* Names the calling thread (at most 15 characters) for top -H, ps -L and perf. */
void srv_thread_name(const char *name);
/* Changes the calling thread's scheduling priority by `delta` (nice): background work (moving
 * events into the store, checkpoints) yields to answering calls when the processors are busy,
 * and the thread whose commits answers wait for goes first (a negative delta needs
 * CAP_SYS_NICE; without it the thread keeps the normal priority). */
void srv_background_thread(int delta);
/* Runs fn(arg) on a thread of its own named `name` that runs only when a processor has nothing
 * else to do (Linux's SCHED_IDLE; nice 19 where that is refused), and returns when it has: work
 * that may take seconds of processor and has no deadline (a training's reading and computing)
 * then never delays a call, which preempts it the moment its data arrives (a nice value only
 * lowers its share: a call still waits for the end of its slice). fn must hold no lock that a
 * call or the ingester waits for, but for moments (a single-row write, a pointer swap): a
 * preempted holder could be left without a processor for as long as they keep both busy. Runs
 * fn on the calling thread when no thread can be started. */
void srv_run_idle(const char *name, void (*fn)(void *), void *arg);
/* The CLOCK_REALTIME time `ms` milliseconds from now, for pthread_cond_timedwait. */
struct timespec srv_deadline_ms(long ms);
/* CLOCK_MONOTONIC in microseconds. */
int64_t srv_monotonic_us(void);
void auth_new_key(char key[80]);
int auth_store_key(sqlite3 *db, int64_t account, int64_t user, const char *key);
/* 0 and the key's account and user, or -1 for a missing or unknown key. */
int auth_lookup(sqlite3 *db, const char *header, int64_t *account, int64_t *user);
int auth_delete_user_keys(sqlite3 *db, int64_t account, int64_t user);

#define SRV_ANY (-1) /* perm_allows: any object of the type */
int perm_allows(srv_ctx *c, const char *type, int64_t id, const char *action);
int perm_check_permissions(const cJSON *perms, srv_resp *r); /* validates a group's list */

int account_create(sqlite3 *db, const char *name, int64_t *account, char key[80], char *err, size_t errcap);

/* Section - Resources (resource.c and one file per resource) */

typedef struct srv_resource {
    const char *path;  /* URL segment: "data-sources" */
    const char *type;  /* object type and permission object_type: "data_source" */
    const char *label; /* for sentences: "data source" */
    const char *const *fields;   /* writable fields */
    const char *const *readonly; /* computed fields, accepted and ignored in a body */
    /* Checks the merged input (`id` 0 on create) and builds the body to store in *out, with the
     * objects it refers to in refs. */
    int (*validate)(srv_ctx *c, const cJSON *in, int64_t id, cJSON **out, srv_refs *refs, srv_resp *r);
    /* Inside the write transaction, after the row is written. May be NULL. */
    int (*after_write)(srv_ctx *c, int64_t id, cJSON *body, int created, srv_resp *r);
    /* Inside the delete transaction, before the row goes. May be NULL. */
    int (*before_delete)(srv_ctx *c, int64_t id, const cJSON *body, srv_resp *r);
    /* Adds computed fields to an object about to be answered. May be NULL. */
    void (*decorate)(srv_ctx *c, int64_t id, cJSON *obj);
} srv_resource;

extern const srv_resource srv_data_sources, srv_traits, srv_segments, srv_destinations, srv_merge_rules, srv_groups,
    srv_users, srv_models;

int res_list(srv_ctx *c, const srv_resource *res, srv_resp *r);
int res_get(srv_ctx *c, const srv_resource *res, int64_t id, srv_resp *r);
int res_create(srv_ctx *c, const srv_resource *res, const srv_req *q, srv_resp *r);
/* Creates from an already parsed object (clone); takes nothing. */
int res_create_from(srv_ctx *c, const srv_resource *res, const cJSON *in, srv_resp *r);
int res_put(srv_ctx *c, const srv_resource *res, int64_t id, const srv_req *q, srv_resp *r);
int res_delete(srv_ctx *c, const srv_resource *res, int64_t id, srv_resp *r);
/* Loads the object for an action route: 404 when missing, 403 without `action`. */
int res_load(srv_ctx *c, const srv_resource *res, int64_t id, const char *action, cJSON **obj, srv_resp *r);

int users_new_key(srv_ctx *c, int64_t id, srv_resp *r);
int models_clone(srv_ctx *c, int64_t id, const srv_req *q, srv_resp *r);
int models_train(srv_ctx *c, int64_t id, const srv_req *q, srv_resp *r);
int models_report(srv_ctx *c, int64_t id, srv_resp *r);
/* Removes the model's predictive traits and segments, state, snapshots and classifications. */
int models_purge(srv_ctx *c, int64_t id);

/* Section - Onboarding (onboard.c) */

int onboard_ingest(srv_ctx *c, const char *buf, size_t len, cJSON **summary, uint64_t *accepted, uint64_t *rejected,
                   srv_resp *r);
int onboard_route(srv_ctx *c, const srv_req *q, srv_resp *r);

/* Section - Catalog, training, scheduling (catalog.c, train_job.c, report.c, scheduler.c) */

/* The account's catalog for the core; *names (may be NULL) gets an object id -> name map. */
int catalog_build(sqlite3 *db, int64_t account, pn_catalog **out, cJSON **names, pn_error *err);
/* Builds the core's model definition for the stored model body. */
int model_def_build(const cJSON *model, int64_t id, const pn_catalog *cat, pn_model_def **out, pn_error *err);

/* The realizations a scheduler keeps between trainings (train_job.c says which and for how long):
 * owned by one scheduler and used by one training at a time. NULL from new when out of memory;
 * train_model then reads everything each time. */
typedef struct train_cache train_cache;
train_cache *train_cache_new(void);
void train_cache_free(train_cache *c);      /* NULL is a no-op */
void train_cache_idle(train_cache *c);      /* no training now: drops what has not been used lately */
/* Trains model `id` now on connection `db` (with `cache`, which may be NULL); updates its state
 * row. 0 when a snapshot was stored. `trained` (may be NULL, else zeroed by the caller) is then
 * filled with what the commit changed in the classifications, for srv_store_changed; it is left
 * zeroed (model 0: nothing to apply) otherwise, or when that could not be kept (no memory). */
int train_model(sqlite3 *db, train_cache *cache, int64_t account, int64_t id, int64_t now, srv_trained *trained);
/* Builds the stored part of a report from a fresh snapshot and the store it was trained on. */
cJSON *report_build(const pn_snapshot *s, const pn_profiles *p, const pn_model_def *m, const cJSON *model,
                    const cJSON *names, int64_t now, const uint32_t *classified_per_persona);

typedef struct srv_sched srv_sched;
/* cfg (may be NULL): its generation is bumped after every training, and its sync_events hook
 * is called before each. */
int sched_start(const char *db_path, int64_t interval, srv_config *cfg, srv_sched **out, char *err,
                size_t errcap);
void sched_wake(srv_sched *s);
void sched_stop(srv_sched *s);

/* Section - Snapshots for edge destinations (snapshot.c) */

#define SRV_DEFAULT_MIN_SUPPORT 20
#define SRV_DEFAULT_TOKEN_TTL 300

/* Reads the store's token key, creating it (32 random bytes) on first use. */
int snap_secret_load(sqlite3 *db, uint8_t secret[32], char *err, size_t errcap);
/* GET /api/v1/models/{id}/snapshot?destination= */
int snap_get(srv_ctx *c, int64_t id, const srv_req *q, srv_resp *r);
/* POST /api/v1/models/{id}/snapshot-token?destination= */
int snap_token_new(srv_ctx *c, int64_t id, const srv_req *q, srv_resp *r);
/* GET /snapshot/{token}: no API key; c->account is set from the token. */
int snap_by_token(srv_ctx *c, const char *token, const srv_req *q, srv_resp *r);
/* The DEC labels a segment carries, into *labels: its data source's and those of every trait it
 * names; a predictive segment carries its model's DEC union. -1 when one of them cannot be read
 * (the store failed, or an object it names is gone): the caller cannot tell what the segment may
 * not go to, so it must not send it anywhere. */
int segment_labels(sqlite3 *db, int64_t account, const cJSON *segment, uint32_t *labels);

/* Section - Segment export (export.c) */

int export_destination(srv_ctx *c, int64_t id, const srv_req *q, srv_resp *r);

/* Section - The web demo (demo.c), only with serve --demo-dir */

/* A static file for GET /demo/...: 200 with an open *fd, its size and content type, or 404. */
int demo_open(const char *demo_dir, const char *wasm_dir, const char *url, int *fd, uint64_t *size,
              const char **ctype);
/* GET /demo/api/config and /demo/api/report, without an API key (sets c->account). */
void demo_api(srv_ctx *c, const srv_req *q, srv_resp *r);

/* Section - Routing (router.c) */

void srv_route(srv_ctx *c, const srv_req *q, srv_resp *r);

#endif
