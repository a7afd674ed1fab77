/* The event log (event_internal.h): STORE-events, a SQLite database of one table that /event
 * appends to, one writer thread, group commit.
 *
 * Calls queue while a commit runs; the next transaction takes them all, so the cost of the
 * fsync (synchronous=FULL) is shared by every call that arrived meanwhile, and each call adds
 * one row: a commit writes a few pages, whatever the store's indexes. The same transactions
 * delete what the ingester has moved into the store.
 *
 * What the store's tables do not have yet is also kept in memory, by visitor (the pending
 * events), for readers: a visitor read from the store gets the rest from there, so the log needs
 * no index, and each commit writes a page or two.
 *
 * Checkpoints (copying the log's WAL back into its database file) run on a thread of their own
 * with its own connection, woken when the WAL passes CHECKPOINT_FRAMES pages: a commit that
 * answers wait for never includes one. */
#include "event_internal.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#define CHECKPOINT_FRAMES 2000
#define PENDING_BUCKETS 4096

/* A logged event the ingester has not moved into the store yet. */
typedef struct pending {
    struct pending *next;  /* in id order */
    struct pending *hnext; /* in its bucket */
    int64_t id, account, ts;
    uint64_t hash;
    char *uuid, *payload;
    size_t len;
    vc_link *cids; /* its authenticated ids, for device graphs */
    size_t ncids;
} pending;

static const char SCHEMA[] =
    "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
    /* AUTOINCREMENT: ids are never reused, even after the rows are deleted: they order events */
    "CREATE TABLE IF NOT EXISTS event_log(id INTEGER PRIMARY KEY AUTOINCREMENT, account_id INTEGER NOT NULL,"
    " uuid TEXT NOT NULL, ts INTEGER NOT NULL, payload TEXT NOT NULL);"
    "DROP INDEX IF EXISTS event_log_by_visitor;" /* pending events are found in memory (below) */
    /* which log this is: the store remembers up to where it has moved the events of which log */
    "CREATE TABLE IF NOT EXISTS log_meta(id INTEGER PRIMARY KEY CHECK(id = 1), log_id TEXT NOT NULL);"
    "INSERT OR IGNORE INTO log_meta VALUES(1, lower(hex(randomblob(16))));";

struct ev_log {
    pthread_t thread, ckpt_thread;
    int running, ckpt_running;
    pthread_mutex_t mu;
    pthread_cond_t cv, ckpt_cv;
    ev_call *queue, *tail;
    int stop, ckpt_due;
    sqlite3 *db, *ckpt_db;
    sqlite3_stmt *append, *forget;
    void (*on_commit)(void *);
    void *ctx;
    _Atomic int64_t ingested; /* the ingester's progress */
    int64_t forgotten;        /* what this writer has deleted up to */
    /* pending events, under pmu */
    pthread_mutex_t pmu;
    pending *head, *ptail;
    pending *buckets[PENDING_BUCKETS];
    int64_t last; /* the highest id committed */
};

static uint64_t visitor_hash(int64_t account, const char *uuid)
{
    return XXH3_64bits_withSeed(uuid, strlen(uuid), (uint64_t)account);
}

static void pending_free(pending *p)
{
    free(p->uuid);
    free(p->payload);
    free(p->cids);
    free(p);
}

/* Adds a committed event (under pmu); ids come in increasing order. */
static int pending_add(ev_log *l, int64_t id, int64_t account, const char *uuid, int64_t ts, const char *payload,
                       size_t len, const vc_link *cids, size_t ncids)
{
    pending *p = calloc(1, sizeof *p);
    if (!p || !(p->uuid = strdup(uuid)) || !(p->payload = malloc(len + 1)) ||
        (ncids && !(p->cids = malloc(ncids * sizeof *p->cids)))) {
        if (p)
            pending_free(p);
        return -1;
    }
    p->id = id, p->account = account, p->ts = ts, p->len = len, p->ncids = ncids;
    memcpy(p->payload, payload, len);
    p->payload[len] = '\0';
    if (ncids)
        memcpy(p->cids, cids, ncids * sizeof *cids);
    p->hash = visitor_hash(account, uuid);
    pending **b = &l->buckets[p->hash % PENDING_BUCKETS];
    p->hnext = *b;
    *b = p;
    if (l->ptail)
        l->ptail->next = p;
    else
        l->head = p;
    l->ptail = p;
    if (id > l->last)
        l->last = id;
    return 0;
}

int ev_log_pending(ev_log *l, int64_t account, const char *uuid, ev_logged **out, size_t *n, int64_t *upto)
{
    uint64_t h = visitor_hash(account, uuid);
    size_t cap = 0;
    int ok = 1;
    *out = NULL;
    *n = 0;
    pthread_mutex_lock(&l->pmu);
    *upto = l->last;
    for (const pending *p = l->buckets[h % PENDING_BUCKETS]; ok && p; p = p->hnext) {
        if (p->hash != h || p->account != account || strcmp(p->uuid, uuid))
            continue;
        if (*n == cap) {
            cap = cap ? cap * 2 : 8;
            ev_logged *g = realloc(*out, cap * sizeof *g);
            if (!g) {
                ok = 0;
                break;
            }
            *out = g;
        }
        ev_logged *e = &(*out)[*n];
        e->id = p->id, e->ts = p->ts, e->len = p->len;
        e->payload = malloc(p->len + 1);
        if (e->payload)
            memcpy(e->payload, p->payload, p->len + 1), (*n)++;
        else
            ok = 0;
    }
    pthread_mutex_unlock(&l->pmu);
    if (!ok)
        ev_logged_free(*out, *n), *out = NULL, *n = 0;
    return ok ? 0 : -1;
}

void ev_logged_free(ev_logged *e, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(e[i].payload);
    free(e);
}

int ev_log_pending_graph(ev_log *l, int64_t account, int64_t ds, const char *cid, const char *self,
                         char (*out)[EV_MAX_UUID + 1], size_t *n, size_t cap)
{
    pthread_mutex_lock(&l->pmu);
    for (const pending *p = l->head; p && *n < cap; p = p->next) {
        if (p->account != account || strcmp(p->uuid, self) == 0)
            continue;
        int match = 0;
        for (size_t i = 0; i < p->ncids; i++)
            match |= p->cids[i].ds == ds && strcmp(p->cids[i].cid, cid) == 0;
        int seen = 0;
        for (size_t i = 0; match && !seen && i < *n; i++)
            seen = strcmp(out[i], p->uuid) == 0;
        if (match && !seen)
            snprintf(out[(*n)++], EV_MAX_UUID + 1, "%s", p->uuid);
    }
    pthread_mutex_unlock(&l->pmu);
    return 0;
}

int ev_log_load_pending(ev_log *l, int64_t after)
{
    sqlite3_stmt *st = store_prepare(l->db, "SELECT id, account_id, uuid, ts, payload FROM event_log WHERE id > ? "
                                            "ORDER BY id");
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, after);
    int ok = 1, rc;
    pthread_mutex_lock(&l->pmu);
    while (ok && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *payload = (const char *)sqlite3_column_text(st, 4);
        size_t len = (size_t)sqlite3_column_bytes(st, 4);
        vc_link cids[EV_MAX_CIDS];
        size_t ncids = 0;
        ev_payload p;
        if (ev_payload_parse(payload, len, &p) == 0) {
            for (const cJSON *c = p.cids ? p.cids->child : NULL; c && ncids < EV_MAX_CIDS; c = c->next) {
                const cJSON *ds = cJSON_GetArrayItem(c, 0), *cid = cJSON_GetArrayItem(c, 1);
                if (cJSON_IsNumber(ds) && cJSON_IsString(cid)) {
                    cids[ncids] = (vc_link){(int64_t)ds->valuedouble, sqlite3_column_int64(st, 3), {0}};
                    snprintf(cids[ncids++].cid, sizeof cids->cid, "%s", cid->valuestring);
                }
            }
            ev_payload_free(&p);
        }
        ok = pending_add(l, sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 1),
                         (const char *)sqlite3_column_text(st, 2), sqlite3_column_int64(st, 3), payload, len, cids,
                         ncids) == 0;
    }
    ok = ok && rc == SQLITE_DONE;
    pthread_mutex_unlock(&l->pmu);
    sqlite3_finalize(st);
    return ok ? 0 : -1;
}

void ev_log_path(const char *db_path, char *out, size_t cap)
{
    snprintf(out, cap, "%s-events", db_path);
}

static int open_log(const char *db_path, sqlite3 **out, char *err, size_t errcap)
{
    char path[4096];
    ev_log_path(db_path, path, sizeof path);
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, NULL) !=
            SQLITE_OK ||
        (sqlite3_busy_timeout(db, 10000), sqlite3_exec(db, SCHEMA, NULL, NULL, NULL)) != SQLITE_OK) {
        snprintf(err, errcap, "%s: cannot open the event log: %s", path, db ? sqlite3_errmsg(db) : "out of memory");
        sqlite3_close(db);
        return -1;
    }
    *out = db;
    return 0;
}

static int on_wal(void *arg, sqlite3 *db, const char *name, int frames)
{
    (void)db, (void)name;
    ev_log *l = arg;
    if (frames >= CHECKPOINT_FRAMES) {
        pthread_mutex_lock(&l->mu);
        if (!l->ckpt_due) {
            l->ckpt_due = 1;
            pthread_cond_signal(&l->ckpt_cv);
        }
        pthread_mutex_unlock(&l->mu);
    }
    return SQLITE_OK;
}

static void *checkpointer(void *arg)
{
    ev_log *l = arg;
    srv_background_thread(5);
    pthread_mutex_lock(&l->mu);
    for (;;) {
        while (!l->ckpt_due && !l->stop)
            pthread_cond_wait(&l->ckpt_cv, &l->mu);
        if (l->stop)
            break;
        l->ckpt_due = 0;
        pthread_mutex_unlock(&l->mu);
        /* PASSIVE: copies what no reader still needs, never waits for the writer or readers */
        if (sqlite3_wal_checkpoint_v2(l->ckpt_db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL) != SQLITE_OK)
            fprintf(stderr, "personae serve: /event: event log checkpoint: %s\n", sqlite3_errmsg(l->ckpt_db));
        pthread_mutex_lock(&l->mu);
    }
    pthread_mutex_unlock(&l->mu);
    return NULL;
}

static int commit_batch(ev_log *l, ev_call *batch)
{
    int ok = sqlite3_exec(l->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK;
    for (ev_call *c = batch; ok && c; c = c->next) {
        sqlite3_bind_int64(l->append, 1, c->account);
        sqlite3_bind_text(l->append, 2, c->uuid, -1, SQLITE_STATIC);
        sqlite3_bind_int64(l->append, 3, c->now);
        sqlite3_bind_text(l->append, 4, c->payload, (int)c->payload_len, SQLITE_STATIC);
        ok = sqlite3_step(l->append) == SQLITE_DONE;
        sqlite3_reset(l->append);
        c->seq = sqlite3_last_insert_rowid(l->db);
    }
    int64_t ingested = atomic_load(&l->ingested), forgotten = l->forgotten;
    if (ok && ingested > l->forgotten) {
        sqlite3_bind_int64(l->forget, 1, ingested);
        ok = sqlite3_step(l->forget) == SQLITE_DONE;
        sqlite3_reset(l->forget);
        forgotten = ingested;
    }
    if (ok && sqlite3_exec(l->db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK) {
        l->forgotten = forgotten;
        return 0;
    }
    sqlite3_exec(l->db, "ROLLBACK", NULL, NULL, NULL);
    return -1;
}

static void fail_call(ev_call *c, const char *why)
{
    fprintf(stderr, "personae serve: /event: the event log could not save an event: %s\n", why);
    free(c->body);
    c->body = strdup("{\"error\":\"the store could not save the event: nothing was stored, send it again\"}");
    c->body_len = c->body ? strlen(c->body) : 0;
    c->status = 503;
    c->seq = 0;
}

static void *run(void *arg)
{
    ev_log *l = arg;
    srv_background_thread(-5);
    pthread_mutex_lock(&l->mu);
    for (;;) {
        while (!l->queue && !l->stop)
            pthread_cond_wait(&l->cv, &l->mu);
        if (!l->queue && l->stop)
            break;
        ev_call *batch = l->queue;
        l->queue = l->tail = NULL;
        void (*on_commit)(void *) = l->on_commit;
        void *ctx = l->ctx;
        pthread_mutex_unlock(&l->mu);
        /* one transaction for the whole batch; if it fails, each call is tried alone so that
         * one bad call cannot fail the others */
        if (commit_batch(l, batch)) {
            for (ev_call *c = batch, *next; c; c = next) {
                next = c->next;
                c->next = NULL;
                if (commit_batch(l, c))
                    fail_call(c, sqlite3_errmsg(l->db));
                c->next = next;
            }
        }
        pthread_mutex_lock(&l->pmu);
        for (ev_call *c = batch; c; c = c->next)
            if (c->seq && pending_add(l, c->seq, c->account, c->uuid, c->now, c->payload, c->payload_len, c->cids,
                                      c->ncids)) {
                /* logged but not findable until ingested: the visitor must be read again then */
                fprintf(stderr, "personae serve: /event: out of memory keeping event %lld\n", (long long)c->seq);
            }
        pthread_mutex_unlock(&l->pmu);
        if (on_commit)
            on_commit(ctx);
        for (ev_call *c = batch, *next; c; c = next) {
            next = c->next;
            c->next = NULL;
            MHD_resume_connection(c->conn);
        }
        pthread_mutex_lock(&l->mu);
    }
    pthread_mutex_unlock(&l->mu);
    return NULL;
}

void ev_log_on_commit(ev_log *l, void (*fn)(void *), void *ctx)
{
    pthread_mutex_lock(&l->mu);
    l->on_commit = fn;
    l->ctx = ctx;
    pthread_mutex_unlock(&l->mu);
}

int ev_log_start(const char *db_path, ev_log **out, char *err, size_t errcap)
{
    ev_log *l = calloc(1, sizeof *l);
    if (!l)
        return snprintf(err, errcap, "out of memory"), -1;
    pthread_mutex_init(&l->mu, NULL);
    pthread_cond_init(&l->cv, NULL);
    pthread_cond_init(&l->ckpt_cv, NULL);
    pthread_mutex_init(&l->pmu, NULL);
    if (open_log(db_path, &l->db, err, errcap) || open_log(db_path, &l->ckpt_db, err, errcap)) {
        ev_log_free(l);
        return -1;
    }
    /* checkpoints are the checkpointer's (on_wal below), never a commit's */
    sqlite3_exec(l->db, "PRAGMA wal_autocheckpoint=0", NULL, NULL, NULL);
    l->append = store_prepare(l->db, "INSERT INTO event_log(account_id, uuid, ts, payload) VALUES(?, ?, ?, ?)");
    l->forget = store_prepare(l->db, "DELETE FROM event_log WHERE id <= ?");
    if (!l->append || !l->forget) {
        snprintf(err, errcap, "cannot prepare the event log's statements: %s", sqlite3_errmsg(l->db));
        ev_log_free(l);
        return -1;
    }
    if (pthread_create(&l->ckpt_thread, NULL, checkpointer, l)) {
        snprintf(err, errcap, "cannot start the event log's checkpoint thread");
        ev_log_free(l);
        return -1;
    }
    l->ckpt_running = 1;
    sqlite3_wal_hook(l->db, on_wal, l);
    if (pthread_create(&l->thread, NULL, run, l)) {
        snprintf(err, errcap, "cannot start the event log's writer thread");
        ev_log_stop(l);
        ev_log_free(l);
        return -1;
    }
    l->running = 1;
    *out = l;
    return 0;
}

int ev_log_queue(ev_log *l, ev_call *c)
{
    pthread_mutex_lock(&l->mu);
    if (l->stop) {
        pthread_mutex_unlock(&l->mu);
        return -1;
    }
    MHD_suspend_connection(c->conn);
    if (l->tail)
        l->tail->next = c;
    else
        l->queue = c;
    l->tail = c;
    pthread_cond_signal(&l->cv);
    pthread_mutex_unlock(&l->mu);
    return 0;
}

void ev_log_ingested(ev_log *l, int64_t id)
{
    atomic_store(&l->ingested, id);
    pthread_mutex_lock(&l->pmu);
    while (l->head && l->head->id <= id) {
        pending *p = l->head;
        l->head = p->next;
        if (!l->head)
            l->ptail = NULL;
        pending **b = &l->buckets[p->hash % PENDING_BUCKETS];
        while (*b != p)
            b = &(*b)->hnext;
        *b = p->hnext;
        pending_free(p);
    }
    if (id > l->last)
        l->last = id;
    pthread_mutex_unlock(&l->pmu);
}

void ev_log_stop(ev_log *l)
{
    if (!l)
        return;
    pthread_mutex_lock(&l->mu);
    l->stop = 1;
    pthread_cond_signal(&l->cv);
    pthread_cond_signal(&l->ckpt_cv);
    pthread_mutex_unlock(&l->mu);
    if (l->running)
        pthread_join(l->thread, NULL);
    if (l->ckpt_running)
        pthread_join(l->ckpt_thread, NULL);
    l->running = l->ckpt_running = 0;
}

void ev_log_free(ev_log *l)
{
    if (!l)
        return;
    sqlite3_finalize(l->append);
    sqlite3_finalize(l->forget);
    sqlite3_close(l->db);
    sqlite3_close(l->ckpt_db);
    for (pending *p = l->head, *next; p; p = next) {
        next = p->next;
        pending_free(p);
    }
    pthread_cond_destroy(&l->ckpt_cv);
    pthread_cond_destroy(&l->cv);
    pthread_mutex_destroy(&l->mu);
    pthread_mutex_destroy(&l->pmu);
    free(l);
}
