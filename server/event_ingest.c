/* The ingester (event_internal.h): moves logged events into the store's tables, in as few
 * transactions as it can: each takes whatever the log has pending (up to BATCH events), so
 * under load a commit carries thousands of events and their index pages are written once.
 *
 * The store records how far it has ingested (event_ingest.applied) in the same transaction as
 * the rows, so after a crash the ingester resumes exactly there: an event is neither lost nor
 * stored twice. It is also the writer that notices realizations it did not make (onboarding by
 * `personae onboard`, another process): the highest rowid moved, so the visitor cache is
 * flushed.
 *
 * An API call that needs every acknowledged event in the tables (an export, a report) has a
 * batch started at once; a training waits for the next regular one. A batch rewrites every index
 * page its events touch, however few they are, so trainings back to back each starting one made
 * the store write and sync far more, and /event's calls wait for the event log's fdatasync
 * behind those writes (measured in 10 s runs of the load benchmark with a training always
 * running: 120 of its commits in a run, against 32 without trainings, and 64 of the event log's
 * 93 fdatasyncs over 1.5 ms ran during one; 385 MB written to the disk in 9 s, 213 MB with
 * trainings waiting for the regular batches). */
#include "event_internal.h"

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#define BATCH 8192
/* At most one batch every INTERVAL_MS while events keep coming: the larger the batch, the fewer
 * times each index page of the store is written. It is also how far the store's tables lag
 * behind the log (readers of /event's visitors take the rest from the log). */
#define INTERVAL_MS 500

struct ev_ingest {
    pthread_t thread;
    int running;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int due, stop;
    int waiting;              /* the thread waits for events (not between two drains) */
    int syncs;                /* urgent callers waiting in ev_ingest_sync */
    pthread_cond_t progress;  /* broadcast after each drain */
    sqlite3 *db;
    vc_cache *cache;
    ev_log *log;
    sqlite3_stmt *real, *attr, *link, *cls_set, *cls_del, *edge, *applied_set, *maxrow;
    int64_t applied, known_maxrow;
    int64_t synced;  /* applied, as last published under mu */
    int sync_failed; /* the last drain failed */
    const ev_logged **rows;
    ev_payload *parsed;
};

static int step(sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : -1;
}

/* Attributes set in a batch, by visitor and key: only the last value of each is written, once
 * after the batch's other rows (an attribute keeps the last value a visitor sent; earlier ones in
 * the same batch would only be overwritten in the same transaction). */
typedef struct attr_slot {
    uint64_t hash;
    const ev_logged *e; /* the batch's event that sets it last */
    const char *key, *value;
} attr_slot;

typedef struct attr_set {
    attr_slot *slots;
    size_t cap; /* a power of two */
} attr_set;

static uint64_t attr_hash(const ev_logged *e, const char *key)
{
    return XXH3_64bits_withSeed(key, strlen(key), vc_key_hash(e->account, e->uuid));
}

/* The slot of (e's visitor, key): found, or empty for it. */
static attr_slot *attr_find(attr_set *a, const ev_logged *e, const char *key, uint64_t h)
{
    for (size_t i = h & (a->cap - 1);; i = (i + 1) & (a->cap - 1)) {
        attr_slot *s = &a->slots[i];
        if (!s->key || (s->hash == h && s->e->account == e->account && strcmp(s->e->uuid, e->uuid) == 0 &&
                        strcmp(s->key, key) == 0))
            return s;
    }
}

static int store_attr(ev_ingest *g, const ev_logged *e, const char *key, const char *value)
{
    sqlite3_bind_int64(g->attr, 1, e->account);
    sqlite3_bind_text(g->attr, 2, e->uuid, -1, SQLITE_STATIC);
    sqlite3_bind_text(g->attr, 3, key, -1, SQLITE_STATIC);
    sqlite3_bind_text(g->attr, 4, value, -1, SQLITE_STATIC);
    sqlite3_bind_int64(g->attr, 5, e->ts);
    return step(g->attr);
}

/* The store's writes of one logged event (parsed payload p); its attributes only when `attrs`
 * (otherwise the batch writes the last value of each once). */
static int store_event(ev_ingest *g, const ev_logged *e, const ev_payload *p, int attrs)
{
    int ok = 1;
    for (const cJSON *t = p->realized ? p->realized->child : NULL; ok && t; t = t->next) {
        sqlite3_bind_int64(g->real, 1, e->account);
        sqlite3_bind_text(g->real, 2, e->uuid, -1, SQLITE_STATIC);
        sqlite3_bind_int64(g->real, 3, (int64_t)t->valuedouble);
        sqlite3_bind_int64(g->real, 4, e->ts);
        ok = step(g->real) == 0;
        int64_t rowid = sqlite3_last_insert_rowid(g->db);
        if (rowid > g->known_maxrow)
            g->known_maxrow = rowid;
    }
    for (const cJSON *a = attrs && p->attrs ? p->attrs->child : NULL; ok && a; a = a->next) {
        const char *k = ev_payload_text(a, 0), *v = ev_payload_text(a, 1);
        if (k && v)
            ok = store_attr(g, e, k, v) == 0;
    }
    for (const cJSON *c = p->cids ? p->cids->child : NULL; ok && c; c = c->next) {
        const char *cid = ev_payload_text(c, 1);
        if (!cid)
            continue;
        sqlite3_bind_int64(g->link, 1, e->account);
        sqlite3_bind_text(g->link, 2, e->uuid, -1, SQLITE_STATIC);
        sqlite3_bind_int64(g->link, 3, ev_payload_int(c, 0));
        sqlite3_bind_text(g->link, 4, cid, -1, SQLITE_STATIC);
        sqlite3_bind_int64(g->link, 5, e->ts);
        ok = step(g->link) == 0;
    }
    for (const cJSON *m = p->cls ? p->cls->child : NULL; ok && m; m = m->next) {
        sqlite3_stmt *st = ev_payload_int(m, 1) ? g->cls_set : g->cls_del;
        sqlite3_bind_int64(st, 1, ev_payload_int(m, 0));
        sqlite3_bind_text(st, 2, e->uuid, -1, SQLITE_STATIC);
        if (ev_payload_int(m, 1)) {
            sqlite3_bind_int64(st, 3, ev_payload_int(m, 1));
            sqlite3_bind_int64(st, 4, e->ts);
            sqlite3_bind_int64(st, 5, ev_payload_int(m, 2));
        }
        ok = step(st) == 0;
    }
    for (const cJSON *x = p->edge ? p->edge->child : NULL; ok && x; x = x->next) {
        sqlite3_bind_int64(g->edge, 1, e->account);
        sqlite3_bind_int64(g->edge, 2, ev_payload_int(x, 0));
        sqlite3_bind_text(g->edge, 3, e->uuid, -1, SQLITE_STATIC);
        if (ev_payload_int(x, 1))
            sqlite3_bind_int64(g->edge, 4, ev_payload_int(x, 1));
        else
            sqlite3_bind_null(g->edge, 4);
        if (ev_payload_int(x, 2))
            sqlite3_bind_int64(g->edge, 5, ev_payload_int(x, 2));
        else
            sqlite3_bind_null(g->edge, 5);
        sqlite3_bind_int64(g->edge, 6, ev_payload_int(x, 3));
        sqlite3_bind_int64(g->edge, 7, e->ts);
        ok = step(g->edge) == 0;
    }
    return ok ? 0 : -1;
}

static int64_t max_rowid(ev_ingest *g)
{
    int64_t v = -1;
    if (sqlite3_step(g->maxrow) == SQLITE_ROW)
        v = sqlite3_column_int64(g->maxrow, 0);
    sqlite3_reset(g->maxrow);
    return v;
}

/* Nonzero when realizations were added that this ingester did not write (the cache must be
 * flushed); from now on it knows about them. */
static int foreign_rows(ev_ingest *g)
{
    int64_t m = max_rowid(g);
    if (m < 0 || m == g->known_maxrow)
        return 0;
    g->known_maxrow = m;
    return 1;
}

/* Moves up to BATCH logged events into the store. Returns how many, or -1 on failure. */
static long ingest_some(ev_ingest *g)
{
    size_t n = ev_pending_take(ev_log_pending(g->log), g->applied, g->rows, BATCH);
    if (n == 0)
        return 0;
    int ok = store_begin(g->db) == 0;
    int foreign = ok && foreign_rows(g); /* flushed after the commit, so reads see both */
    /* parse the batch, and find the last value of each attribute set in it */
    size_t nattrs = 0;
    for (size_t i = 0; i < n; i++) {
        if (ev_payload_parse(g->rows[i]->payload, g->rows[i]->len, &g->parsed[i])) {
            fprintf(stderr, "personae serve: /event: event %lld of the log is not readable; skipped\n",
                    (long long)g->rows[i]->seq);
            memset(&g->parsed[i], 0, sizeof g->parsed[i]);
        }
        nattrs += (size_t)cJSON_GetArraySize(g->parsed[i].attrs);
    }
    attr_set attrs = {NULL, 0};
    while (attrs.cap < 2 * nattrs)
        attrs.cap = attrs.cap ? attrs.cap * 2 : 64;
    if (attrs.cap && !(attrs.slots = calloc(attrs.cap, sizeof *attrs.slots)))
        attrs.cap = 0; /* out of memory: write every value (same result, more work) */
    for (size_t i = 0; attrs.cap && i < n; i++)
        for (const cJSON *a = g->parsed[i].attrs ? g->parsed[i].attrs->child : NULL; a; a = a->next) {
            const char *k = ev_payload_text(a, 0), *v = ev_payload_text(a, 1);
            if (!k || !v)
                continue;
            uint64_t h = attr_hash(g->rows[i], k);
            attr_slot *slot = attr_find(&attrs, g->rows[i], k, h);
            *slot = (attr_slot){h, g->rows[i], k, v};
        }
    for (size_t i = 0; ok && i < n; i++) {
        ok = !g->parsed[i].root || store_event(g, g->rows[i], &g->parsed[i], !attrs.cap) == 0;
        /* a drain is tens of milliseconds of processor (about 8 us an event): every 128 events
         * (about 1 ms) the HTTP loops and their clients on the same processors get their turn
         * rather than waiting for the end of this thread's time slice (interleaved pairs of the
         * load benchmark: faster in 5 of 5 and less processor a call in 5 of 5) */
        if ((i & 127) == 127)
            sched_yield();
    }
    for (size_t i = 0; ok && i < attrs.cap; i++)
        ok = !attrs.slots[i].key || store_attr(g, attrs.slots[i].e, attrs.slots[i].key, attrs.slots[i].value) == 0;
    for (size_t i = 0; i < n; i++)
        ev_payload_free(&g->parsed[i]);
    free(attrs.slots);
    if (ok) {
        sqlite3_bind_int64(g->applied_set, 1, g->rows[n - 1]->seq);
        ok = step(g->applied_set) == 0;
    }
    ok = ok && store_commit(g->db) == 0;
    if (!ok) {
        fprintf(stderr, "personae serve: /event: events could not be moved into the store (they stay in the event "
                        "log, tried again): %s\n", sqlite3_errmsg(g->db));
        store_rollback(g->db);
        g->known_maxrow = -1; /* unknown: the next batch flushes the cache */
        return -1;
    }
    g->applied = g->rows[n - 1]->seq;
    ev_log_ingested(g->log, g->applied);
    if (foreign)
        vc_flush(g->cache);
    return (long)n;
}

/* Moves everything the log had when it was called; -1 when the store refused (it is tried again
 * later). Not what comes meanwhile: under load, chasing the calls that keep coming ended each
 * drain with a dozen transactions of a few dozen events, each with its fsync, which the event
 * log's commits then queued behind (measured: 10-15 such commits after every 12,000-event drain,
 * at 47 us of work an event instead of 7-15). */
static int drain(ev_ingest *g)
{
    int64_t upto = ev_pending_last(ev_log_pending(g->log));
    long n = 0;
    while (g->applied < upto && (n = ingest_some(g)) > 0)
        ;
    return n < 0 ? -1 : 0;
}

static void *run(void *arg)
{
    ev_ingest *g = arg;
    srv_thread_name("pn-ingest");
    srv_background_thread(5);
    pthread_mutex_lock(&g->mu);
    for (;;) {
        while (!g->due && !g->stop) {
            struct timespec until = srv_deadline_ms(250);
            g->waiting = 1;
            int rc = pthread_cond_timedwait(&g->cv, &g->mu, &until);
            g->waiting = 0;
            if (rc == ETIMEDOUT && !g->due && !g->stop) {
                /* idle: notice onboarding by another process between events */
                pthread_mutex_unlock(&g->mu);
                if (foreign_rows(g))
                    vc_flush(g->cache);
                int failed = drain(g); /* and what a failed batch left */
                pthread_mutex_lock(&g->mu);
                g->synced = g->applied;
                g->sync_failed = failed;
                pthread_cond_broadcast(&g->progress);
            }
        }
        int stopping = g->stop;
        g->due = 0;
        pthread_mutex_unlock(&g->mu);
        int failed = drain(g);
        pthread_mutex_lock(&g->mu);
        g->synced = g->applied;
        g->sync_failed = failed;
        pthread_cond_broadcast(&g->progress);
        if (stopping)
            break;
        /* let events gather (or, when the store refused them, do not spin on it), unless
         * someone waits for the store to have them */
        struct timespec until = srv_deadline_ms(INTERVAL_MS);
        while (!g->stop && !(g->syncs && !failed) && pthread_cond_timedwait(&g->cv, &g->mu, &until) != ETIMEDOUT)
            ;
    }
    pthread_mutex_unlock(&g->mu);
    return NULL;
}

/* Where to resume: the store's progress if it is for this log; from the log's start if the log
 * is another one (a new STORE-eventlog beside an old store). */
static int start_from(ev_ingest *g)
{
    sqlite3_stmt *mine = store_prepare(g->db, "SELECT log_id, applied FROM event_ingest WHERE id = 1");
    int ok = mine && sqlite3_step(mine) == SQLITE_ROW;
    if (ok && strcmp(ev_log_id(g->log), (const char *)sqlite3_column_text(mine, 0)) == 0) {
        g->applied = sqlite3_column_int64(mine, 1);
    } else if (ok) {
        sqlite3_stmt *set = store_prepare(g->db, "UPDATE event_ingest SET log_id = ?, applied = 0 WHERE id = 1");
        ok = set && sqlite3_bind_text(set, 1, ev_log_id(g->log), -1, SQLITE_STATIC) == SQLITE_OK &&
             sqlite3_step(set) == SQLITE_DONE;
        sqlite3_finalize(set);
        g->applied = 0;
    }
    sqlite3_finalize(mine);
    return ok ? 0 : -1;
}

int ev_ingest_start(const char *db_path, vc_cache *cache, ev_log *log, ev_ingest **out, char *err, size_t errcap)
{
    ev_ingest *g = calloc(1, sizeof *g);
    if (!g)
        return snprintf(err, errcap, "out of memory"), -1;
    g->cache = cache;
    g->log = log;
    pthread_mutex_init(&g->mu, NULL);
    pthread_cond_init(&g->cv, NULL);
    pthread_cond_init(&g->progress, NULL);
    g->rows = calloc(BATCH, sizeof *g->rows);
    g->parsed = calloc(BATCH, sizeof *g->parsed);
    if (!cache || !g->rows || !g->parsed) {
        snprintf(err, errcap, "out of memory");
        ev_ingest_free(g);
        return -1;
    }
    if (store_open(db_path, 0, &g->db, err, errcap)) {
        ev_ingest_free(g);
        return -1;
    }
    /* its own connection: the index pages a batch touches stay in a 64 MiB cache and reads are
     * memory-mapped; checkpoints come every STORE_WAL_CHECKPOINT_PAGES, mostly after its batches
     * (it writes the most), in this background thread */
    sqlite3_exec(g->db, "PRAGMA cache_size=-65536", NULL, NULL, NULL);
    g->real = store_prepare(g->db, "INSERT INTO realizations(account_id, uuid, trait_id, ts) VALUES(?, ?, ?, ?)");
    g->attr = store_prepare(g->db, "INSERT INTO visitor_attributes(account_id, uuid, key, value, ts) VALUES(?, ?, ?, ?, ?) "
                                   "ON CONFLICT(account_id, uuid, key) DO UPDATE SET value = excluded.value, ts = excluded.ts");
    g->link = store_prepare(g->db, "INSERT INTO device_links(account_id, uuid, data_source_id, cid, first_ts, last_ts) "
                                   "VALUES(?1, ?2, ?3, ?4, ?5, ?5) ON CONFLICT(account_id, uuid, data_source_id, cid) DO "
                                   "UPDATE SET last_ts = MAX(last_ts, excluded.last_ts)");
    g->cls_set = store_prepare(g->db, "INSERT OR REPLACE INTO classifications(model_id, uuid, baseline_id, ts, version, "
                                      "source) VALUES(?, ?, ?, ?, ?, 'event')");
    g->cls_del = store_prepare(g->db, "DELETE FROM classifications WHERE model_id = ? AND uuid = ?");
    g->edge = store_prepare(g->db, "INSERT INTO edge_reports(account_id, model_id, uuid, baseline_id, server_baseline_id, "
                                   "version, ts) VALUES(?, ?, ?, ?, ?, ?, ?)");
    g->applied_set = store_prepare(g->db, "UPDATE event_ingest SET applied = ? WHERE id = 1");
    g->maxrow = store_prepare(g->db, "SELECT COALESCE(MAX(rowid), 0) FROM realizations");
    int ok = g->real && g->attr && g->link && g->cls_set && g->cls_del && g->edge && g->applied_set &&
             g->maxrow && start_from(g) == 0;
    if (!ok) {
        snprintf(err, errcap, "cannot prepare the event ingester: %s", sqlite3_errmsg(g->db));
        ev_ingest_free(g);
        return -1;
    }
    g->known_maxrow = max_rowid(g);
    g->synced = g->applied;
    ev_log_ingested(log, g->applied);
    if (ev_log_load_pending(log, g->applied)) {
        snprintf(err, errcap, "cannot read the event log: out of memory");
        ev_ingest_free(g);
        return -1;
    }
    g->due = 1; /* what a previous run logged and did not move is moved first */
    if (pthread_create(&g->thread, NULL, run, g)) {
        snprintf(err, errcap, "cannot start the event ingester thread");
        ev_ingest_free(g);
        return -1;
    }
    g->running = 1;
    *out = g;
    return 0;
}

void ev_ingest_wake(void *ingest)
{
    ev_ingest *g = ingest;
    pthread_mutex_lock(&g->mu);
    g->due = 1;
    /* between two drains the thread sees `due` when its pause ends: waking it after every
     * commit of the log (~600 a second under load) would only put it back to sleep */
    if (g->waiting)
        pthread_cond_signal(&g->cv);
    pthread_mutex_unlock(&g->mu);
}

int ev_ingest_sync(ev_ingest *g, int64_t upto, int urgent)
{
    urgent = !!urgent;
    pthread_mutex_lock(&g->mu);
    g->syncs += urgent;
    int rc = 0;
    struct timespec until = srv_deadline_ms(30000);
    while (g->synced < upto && !g->stop && rc == 0) {
        if (urgent) { /* a batch now, and again while the one that ran did not reach upto */
            g->due = 1;
            pthread_cond_signal(&g->cv);
        }
        if (pthread_cond_timedwait(&g->progress, &g->mu, &until) == ETIMEDOUT || (g->sync_failed && g->synced < upto))
            rc = -1; /* the store refuses the events (they stay in the log): go on with what it has */
    }
    g->syncs -= urgent;
    pthread_mutex_unlock(&g->mu);
    return rc;
}

void ev_ingest_stop(ev_ingest *g)
{
    if (!g || !g->running)
        return;
    pthread_mutex_lock(&g->mu);
    g->stop = 1;
    pthread_cond_signal(&g->cv);
    pthread_mutex_unlock(&g->mu);
    pthread_join(g->thread, NULL);
    g->running = 0;
}

void ev_ingest_free(ev_ingest *g)
{
    if (!g)
        return;
    sqlite3_finalize(g->real), sqlite3_finalize(g->attr), sqlite3_finalize(g->link);
    sqlite3_finalize(g->cls_set), sqlite3_finalize(g->cls_del), sqlite3_finalize(g->edge);
    sqlite3_finalize(g->applied_set), sqlite3_finalize(g->maxrow);
    store_close(g->db);
    free(g->rows);
    free(g->parsed);
    pthread_cond_destroy(&g->cv);
    pthread_cond_destroy(&g->progress);
    pthread_mutex_destroy(&g->mu);
    free(g);
}
