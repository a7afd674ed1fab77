/* Training one model from the store: profiles from stored realizations, the catalog and model
 * definition from stored objects, pn_train with progress into the model's state row, then the
 * snapshot (versioned), the classification of the target audience and the report. */
#include "srv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "personae/audience.h"
#include "personae/train.h"

#define DAY 86400

typedef struct progress_ctx {
    sqlite3 *db;
    int64_t model;
    char stage[64];
    double shown;
} progress_ctx;

/* A progress figure is not worth an fsync (some 25 a training, each queued on the disk with the
 * event log's): it is committed with synchronous=NORMAL, which in WAL mode writes without syncing;
 * a power failure may lose it, which loses nothing (the training starts again). The result's
 * commit, FULL again, syncs the WAL and with it these updates. */
static void set_stage(sqlite3 *db, int64_t model, const char *stage, double f)
{
    sqlite3_stmt *st = store_prepare(db, "UPDATE model_state SET stage = ?, progress = ? WHERE model_id = ?");
    if (!st)
        return;
    sqlite3_bind_text(st, 1, stage, -1, SQLITE_TRANSIENT);
    sqlite3_bind_double(st, 2, f);
    sqlite3_bind_int64(st, 3, model);
    sqlite3_exec(db, "PRAGMA synchronous=NORMAL", NULL, NULL, NULL);
    sqlite3_step(st);
    sqlite3_exec(db, "PRAGMA synchronous=FULL", NULL, NULL, NULL);
    sqlite3_finalize(st);
}

/* Shown in the model's status and on the server's stderr, at most every 5%. */
static void on_progress(void *ctx, const char *stage, double f)
{
    progress_ctx *p = ctx;
    if (strcmp(p->stage, stage) == 0 && f - p->shown < 0.05 && f < 1.0)
        return;
    snprintf(p->stage, sizeof p->stage, "%s", stage);
    p->shown = f;
    set_stage(p->db, p->model, stage, f);
    fprintf(stderr, "personae serve: model %lld: training: %s %3.0f%%\n", (long long)p->model, stage, f * 100.0);
}

static void set_error(sqlite3 *db, int64_t model, const char *msg)
{
    fprintf(stderr, "personae serve: model %lld: training failed: %s\n", (long long)model, msg);
    sqlite3_stmt *st = store_prepare(db, "UPDATE model_state SET status = 'error', error = ?, reasons = '[]', stage = NULL, "
                                         "progress = NULL WHERE model_id = ?");
    if (!st)
        return;
    sqlite3_bind_text(st, 1, msg, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, model);
    sqlite3_step(st);
    sqlite3_finalize(st);
}

static int64_t updated_at(sqlite3 *db, int64_t id)
{
    sqlite3_stmt *st = store_prepare(db, "SELECT updated_at FROM objects WHERE id = ?");
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, id);
    int64_t t = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
    sqlite3_finalize(st);
    return t;
}

/* What the scheduler keeps between trainings: every realization of the last account it trained
 * with a window that takes all of them, read in rowid order up to `upto`. The table is only ever
 * appended to (the ingester, onboarding) and each new row gets a rowid above every committed one,
 * so the next training of the account reads only the rows past `upto`, adds them to the store
 * (reopened: pn_profiles_reopen) and seals it again: the same store a full read gives, without
 * reading again what it read before (reading was some 95% of a training's processor in the load
 * benchmark) nor sorting again each visitor's earlier realizations. The training borrows the
 * store (`lent`) and gives it back when it ends (cache_take_back). Used by one training at a
 * time; dropped after CACHE_IDLE_S without training, and never kept past CACHE_MAX_EVENTS
 * realizations (some 24 bytes each while sealed). */
#define CACHE_IDLE_S 60
#define CACHE_MAX_EVENTS 8000000u

struct train_cache {
    int64_t account;
    int64_t upto;       /* rowid of the last realization in base */
    pn_profiles *base;  /* NULL: nothing kept */
    int lent;           /* base is a training's (sealed) until cache_take_back */
    int64_t too_big;    /* an account whose realizations passed CACHE_MAX_EVENTS: not kept */
    int64_t used_at;    /* srv_monotonic_us of the last training that used it */
};

train_cache *train_cache_new(void)
{
    return calloc(1, sizeof(train_cache));
}

static void cache_drop(train_cache *c)
{
    if (!c->lent)
        pn_profiles_free(c->base);
    c->base = NULL;
    c->lent = 0;
    c->account = c->upto = 0;
}

/* After a training: 1 when the cache keeps p, the store it lent (reopened for the next rows), and
 * 0 when p is the caller's to free. */
static int cache_take_back(train_cache *c, pn_profiles *p)
{
    if (!c || !c->lent || c->base != p)
        return 0;
    c->lent = 0;
    if (pn_profiles_reopen(p, NULL) == PN_OK)
        return 1;
    c->base = NULL; /* sealed still, and the caller's */
    cache_drop(c);
    return 0;
}

void train_cache_idle(train_cache *c)
{
    if (c && c->base && srv_monotonic_us() - c->used_at > (int64_t)CACHE_IDLE_S * 1000000)
        cache_drop(c);
}

void train_cache_free(train_cache *c)
{
    if (c)
        cache_drop(c);
    free(c);
}

/* Adds the rows of `st` (uuid, trait_id, ts[, rowid]) to p, then finalizes st; *last gets the
 * rowid of the last row when it is not NULL. */
static int add_rows(sqlite3 *db, sqlite3_stmt *st, pn_profiles *p, int64_t *last, pn_error *err)
{
    int rc = 0, step;
    while (!rc && (step = sqlite3_step(st)) == SQLITE_ROW) {
        char tid[21];
        size_t n = srv_format_i64(sqlite3_column_int64(st, 1), tid);
        const char *uuid = (const char *)sqlite3_column_text(st, 0);
        rc = pn_profiles_add(p, uuid, (size_t)sqlite3_column_bytes(st, 0), tid, n, sqlite3_column_int64(st, 2), err) ==
                     PN_OK ? 0 : -1;
        if (last)
            *last = sqlite3_column_int64(st, 3);
    }
    if (!rc && step != SQLITE_DONE) { /* a model trained on part of the audience would look like any other */
        snprintf(err->message, sizeof err->message, "the store's realizations could not be read whole: %s",
                 sqlite3_errmsg(db));
        rc = -1;
    }
    sqlite3_finalize(st);
    return rc;
}

/* The rows past what the cache holds, added to it; then *out is the cache's store, lent to the
 * caller until cache_take_back. *kept gets how many realizations the cache already held. */
static int load_cached(sqlite3 *db, train_cache *c, int64_t account, pn_profiles **out, uint64_t *kept, pn_error *err)
{
    if (c->base && c->account != account)
        cache_drop(c);
    if (!c->base) {
        if (pn_profiles_new(&c->base, err) != PN_OK)
            return -1;
        c->account = account; /* upto is 0: cache_drop or train_cache_new left it so */
    }
    c->used_at = srv_monotonic_us();
    *kept = pn_profiles_event_count(c->base);
    sqlite3_stmt *st = store_prepare(db, "SELECT uuid, trait_id, ts, rowid FROM realizations NOT INDEXED "
                                         "WHERE account_id = ?1 AND rowid > ?2 ORDER BY rowid");
    if (!st) {
        snprintf(err->message, sizeof err->message, "the store cannot read the realizations: %s", sqlite3_errmsg(db));
        return -1;
    }
    sqlite3_bind_int64(st, 1, account);
    sqlite3_bind_int64(st, 2, c->upto);
    int64_t last = c->upto;
    if (add_rows(db, st, c->base, &last, err)) {
        cache_drop(c); /* it holds part of the new rows: it no longer says what upto says */
        return -1;
    }
    c->upto = last;
    *out = c->base;
    if (pn_profiles_event_count(c->base) > CACHE_MAX_EVENTS) { /* too large to keep: this training takes it */
        c->too_big = account;
        c->base = NULL;
        cache_drop(c);
        return 0;
    }
    c->lent = 1;
    return 0;
}

/* The realizations of every visitor active since `since` (all visitors when since is 0). On
 * failure *out may be set, and is the caller's to free. *kept gets how many of them were kept in
 * the cache from earlier trainings (not read again). */
static int load_profiles(sqlite3 *db, train_cache *cache, int64_t account, int64_t since, pn_profiles **out,
                         uint64_t *kept, pn_error *err)
{
    *out = NULL;
    *kept = 0;
    /* When the window starts before the account's first realization every visitor is active: one
     * pass over the table in storage order, instead of a lookup per visitor and a sort. */
    sqlite3_stmt *st = store_prepare(db, "SELECT MIN(ts) FROM realizations WHERE account_id = ?");
    int everyone = st && sqlite3_bind_int64(st, 1, account) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW &&
                   (sqlite3_column_type(st, 0) == SQLITE_NULL || sqlite3_column_int64(st, 0) >= since);
    sqlite3_finalize(st);
    int rc;
    if (everyone && cache && cache->too_big != account) {
        rc = load_cached(db, cache, account, out, kept, err);
    } else {
        if (pn_profiles_new(out, err) != PN_OK)
            return -1;
        st = store_prepare(db, everyone ? "SELECT uuid, trait_id, ts FROM realizations NOT INDEXED WHERE account_id = ?1 "
                                          "ORDER BY rowid"
                                        : "SELECT uuid, trait_id, ts FROM realizations WHERE account_id = ?1 AND uuid IN "
                                          "(SELECT uuid FROM realizations WHERE account_id = ?1 AND ts >= ?2) ORDER BY rowid");
        if (!st) {
            snprintf(err->message, sizeof err->message, "the store cannot read the realizations: %s", sqlite3_errmsg(db));
            return -1;
        }
        sqlite3_bind_int64(st, 1, account);
        if (!everyone)
            sqlite3_bind_int64(st, 2, since);
        rc = add_rows(db, st, *out, NULL, err);
    }
    if (!rc && pn_profiles_finish(*out, err) != PN_OK) {
        rc = -1;
        if (cache && cache->lent && cache->base == *out) { /* unusable now: the caller frees it */
            cache->base = NULL;
            cache_drop(cache);
        }
    }
    return rc;
}

typedef struct classified {
    uint32_t visitor;
    int32_t persona;
} classified;

/* Classifies the active target visitors who qualify for no baseline. */
static classified *classify_targets(const pn_snapshot *s, const pn_profiles *p, int64_t since, int64_t now, size_t *n,
                                    uint32_t *per_persona)
{
    *n = 0;
    pn_audience *a = NULL;
    pn_error err;
    size_t nv = pn_profiles_visitor_count(p), nt = pn_profiles_trait_count(p);
    uint32_t *map = malloc((nt + 1) * sizeof *map), *idx = NULL;
    classified *out = malloc((nv + 1) * sizeof *out);
    if (!map || !out || pn_audience_from_snapshot(s, p, &a, &err) != PN_OK) {
        free(map);
        free(out);
        return NULL;
    }
    for (uint32_t t = 0; t < nt; t++) {
        size_t len;
        const char *id = pn_profiles_trait_id(p, t, &len);
        map[t] = pn_snapshot_trait_find(s, id, len);
    }
    size_t cap = 0;
    for (uint32_t v = 0; v < nv; v++) {
        size_t nr;
        const pn_realization *r = pn_profiles_visitor_traits(p, v, &nr);
        if (pn_audience_baselines(a, v, since, now) || !pn_audience_in_target(a, v, since, now))
            continue;
        if (nr > cap) {
            uint32_t *grown = realloc(idx, nr * sizeof *idx);
            if (!grown)
                break;
            idx = grown;
            cap = nr;
        }
        size_t k = 0;
        for (size_t i = 0; i < nr; i++)
            if ((int64_t)r[i].last_seen >= since)
                idx[k++] = map[r[i].trait];
        pn_classification c;
        if (pn_snapshot_classify(s, idx, k, &c, &err) == PN_OK && c.persona >= 0) {
            out[*n].visitor = v;
            out[*n].persona = c.persona;
            (*n)++;
            per_persona[c.persona]++;
        }
    }
    free(idx);
    free(map);
    pn_audience_free(a);
    return out;
}

/* Writes the training's result in one transaction; *applied gets how far the store had ingested
 * /event's writes at its commit. 0, 1 when an edit made the result stale (nothing written), -1. */
static int store_result(sqlite3 *db, int64_t id, const pn_snapshot *s, const pn_profiles *p, const classified *cl,
                        size_t ncl, const cJSON *report, int64_t now, uint32_t version, const uint32_t *per_persona,
                        int64_t generation, int64_t *applied)
{
    void *bytes = NULL;
    size_t len = 0;
    pn_error err;
    if (pn_snapshot_save(s, &bytes, &len, &err) != PN_OK)
        return -1;
    cJSON *reasons = cJSON_CreateArray(), *personas = cJSON_CreateObject();
    for (size_t i = 0; i < pn_snapshot_reason_count(s); i++)
        cJSON_AddItemToArray(reasons, cJSON_CreateString(pn_snapshot_reason(s, i)));
    for (size_t i = 0; i < pn_snapshot_persona_count(s); i++) {
        pn_persona_info info;
        pn_snapshot_persona_info(s, i, &info);
        cJSON_AddStringToObject(personas, pn_snapshot_persona_id(s, i),
                                info.status == PN_PERSONA_SUCCEEDED ? "succeeded" : "insufficient training data");
    }
    char *rtext = cJSON_PrintUnformatted(reasons), *ptext = cJSON_PrintUnformatted(personas),
         *report_text = cJSON_PrintUnformatted(report);
    cJSON_Delete(reasons);
    cJSON_Delete(personas);
    int ok = rtext && ptext && report_text && store_begin(db) == 0;
    /* an edit or delete during training makes this result stale: drop it */
    if (ok && updated_at(db, id) != generation) {
        store_rollback(db);
        free(rtext), free(ptext), free(report_text), pn_bytes_free(bytes);
        return 1;
    }
    sqlite3_stmt *st;
    /* the write lock is held: no ingestion commits between this read and the commit */
    if (ok && (ok = (st = store_prepare(db, "SELECT applied FROM event_ingest WHERE id = 1")) != NULL)) {
        int rc = sqlite3_step(st);
        *applied = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
        ok = rc == SQLITE_ROW || rc == SQLITE_DONE;
        sqlite3_finalize(st);
    }
    if (ok && (ok = (st = store_prepare(db, "INSERT OR REPLACE INTO snapshots(model_id, version, created_at, bytes) "
                                            "VALUES(?, ?, ?, ?)")) != NULL)) {
        sqlite3_bind_int64(st, 1, id);
        sqlite3_bind_int64(st, 2, version);
        sqlite3_bind_int64(st, 3, now);
        sqlite3_bind_blob(st, 4, bytes, (int)len, SQLITE_STATIC);
        ok = sqlite3_step(st) == SQLITE_DONE;
        sqlite3_finalize(st);
    }
    if (ok && (ok = (st = store_prepare(db, "UPDATE model_state SET status = ?, reasons = ?, error = NULL, personas = ?, "
                                            "stage = 'publishing', progress = 1, last_trained_at = ?, version = ?, report = ? "
                                            "WHERE model_id = ?")) != NULL)) {
        sqlite3_bind_text(st, 1, pn_snapshot_status(s) == PN_STATUS_ACTIVE ? "active" : "warning", -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, rtext, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, ptext, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 4, now);
        sqlite3_bind_int64(st, 5, version);
        sqlite3_bind_text(st, 6, report_text, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 7, id);
        ok = sqlite3_step(st) == SQLITE_DONE;
        sqlite3_finalize(st);
    }
    /* a visitor is in at most one predictive segment: the latest classification replaces theirs */
    if (ok && (ok = (st = store_prepare(db, "DELETE FROM classifications WHERE model_id = ?")) != NULL)) {
        sqlite3_bind_int64(st, 1, id);
        ok = sqlite3_step(st) == SQLITE_DONE;
        sqlite3_finalize(st);
    }
    if (ok && (ok = (st = store_prepare(db, "INSERT INTO classifications(model_id, uuid, baseline_id, ts, "
                                            "version) VALUES(?, ?, ?, ?, ?)")) != NULL)) {
        for (size_t i = 0; ok && i < ncl; i++) {
            size_t ulen;
            const char *uuid = pn_profiles_visitor_uuid(p, cl[i].visitor, &ulen);
            sqlite3_reset(st);
            sqlite3_bind_int64(st, 1, id);
            sqlite3_bind_text(st, 2, uuid, (int)ulen, SQLITE_STATIC);
            sqlite3_bind_int64(st, 3, strtoll(pn_snapshot_persona_id(s, (size_t)cl[i].persona), NULL, 10));
            sqlite3_bind_int64(st, 4, now);
            sqlite3_bind_int64(st, 5, version);
            ok = sqlite3_step(st) == SQLITE_DONE;
        }
        sqlite3_finalize(st);
    }
    if (ok && (ok = (st = store_prepare(db, "INSERT INTO model_daily(model_id, day, baseline_id, in_baseline, classified) "
                                            "VALUES(?1, ?2, ?3, 0, ?4) ON CONFLICT(model_id, day, baseline_id) "
                                            "DO UPDATE SET classified = ?4")) != NULL)) {
        for (size_t i = 0; ok && i < pn_snapshot_persona_count(s); i++) {
            sqlite3_reset(st);
            sqlite3_bind_int64(st, 1, id);
            sqlite3_bind_int64(st, 2, now / DAY * DAY);
            sqlite3_bind_int64(st, 3, strtoll(pn_snapshot_persona_id(s, i), NULL, 10));
            sqlite3_bind_int64(st, 4, per_persona[i]);
            ok = sqlite3_step(st) == SQLITE_DONE;
        }
        sqlite3_finalize(st);
    }
    ok = ok && store_commit(db) == 0;
    if (!ok)
        store_rollback(db);
    free(rtext), free(ptext), free(report_text), pn_bytes_free(bytes);
    return ok ? 0 : -1;
}

/* One training. Reading the audience, training and classifying it take the processor for up to
 * seconds and have no deadline: they run on a thread of their own that yields to every call
 * (srv_run_idle), with no lock that a call or the ingester waits for but for moments (reads of
 * the store's WAL take none; the progress figures are single-row writes, some 25 a training, that
 * the ingester may wait behind if one is preempted). Writing the result, the one long write
 * transaction, which the ingester and the API's writes would wait for, is left to the calling
 * thread: an idle-time thread that held it could keep them waiting as long as calls keep the
 * processors busy. */
typedef struct train_run {
    sqlite3 *db;
    train_cache *cache;
    int64_t account, id, now;
    cJSON *model;
    progress_ctx prog;
    uint32_t version;
    int64_t since;
    pn_catalog *cat;
    pn_model_def *def;
    pn_profiles *p;
    pn_snapshot *s;
    cJSON *names, *report;
    classified *cl;
    size_t ncl;
    uint64_t kept; /* realizations not read again: the cache had them */
    uint32_t per_persona[PN_MAX_PERSONAS];
    pn_error err;
    int ok;
} train_run;

static void compute(void *arg)
{
    train_run *t = arg;
    sqlite3_stmt *st = store_prepare(t->db, "SELECT version FROM model_state WHERE model_id = ?");
    if (st) {
        sqlite3_bind_int64(st, 1, t->id);
        if (sqlite3_step(st) == SQLITE_ROW)
            t->version = (uint32_t)sqlite3_column_int64(st, 0) + 1;
        sqlite3_finalize(st);
    }
    if (catalog_build(t->db, t->account, &t->cat, &t->names, &t->err) ||
        model_def_build(t->model, t->id, t->cat, &t->def, &t->err))
        return;
    int lookback = pn_model_def_lookback_days(t->def);
    t->since = lookback ? t->now - (int64_t)lookback * DAY : INT64_MIN;
    if (load_profiles(t->db, t->cache, t->account, lookback ? t->since : 0, &t->p, &t->kept, &t->err))
        return;
    pn_train_options opt;
    pn_train_options_init(&opt);
    opt.as_of = t->now;
    opt.created_at = t->now;
    opt.model_version = t->version;
    opt.progress = on_progress;
    opt.progress_ctx = &t->prog;
    if (pn_train(t->p, t->def, t->cat, &opt, &t->s, &t->err) != PN_OK)
        return;
    on_progress(&t->prog, "classifying the target audience", 0);
    t->cl = classify_targets(t->s, t->p, t->since, t->now, &t->ncl, t->per_persona);
    on_progress(&t->prog, "writing the report", 0);
    t->report = report_build(t->s, t->p, t->def, t->model, t->names, t->now, t->per_persona);
    t->ok = 1;
}

static int by_uuid(const void *a, const void *b)
{
    return strcmp(((const struct srv_classified *)a)->uuid, ((const struct srv_classified *)b)->uuid);
}

void srv_trained_free(srv_trained *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->n; i++)
        free(t->visitors[i].uuid);
    free(t->visitors);
    *t = (srv_trained){0};
}

int64_t srv_trained_baseline(const srv_trained *t, const char *uuid)
{
    struct srv_classified key = {(char *)uuid, 0};
    const struct srv_classified *at = t->n ? bsearch(&key, t->visitors, t->n, sizeof key, by_uuid) : NULL;
    return at ? at->baseline : 0;
}

/* What the stored result changed in the classifications. Left empty when out of memory (the
 * refresh then reads the store). */
static void trained_of(const train_run *t, int64_t applied, srv_trained *out)
{
    struct srv_classified *v = calloc(t->ncl + 1, sizeof *v);
    size_t n = 0;
    for (; v && n < t->ncl; n++) {
        size_t len;
        const char *uuid = pn_profiles_visitor_uuid(t->p, t->cl[n].visitor, &len);
        if (!(v[n].uuid = malloc(len + 1)))
            break;
        memcpy(v[n].uuid, uuid, len);
        v[n].uuid[len] = '\0';
        v[n].baseline = strtoll(pn_snapshot_persona_id(t->s, (size_t)t->cl[n].persona), NULL, 10);
    }
    srv_trained got = {t->id, t->version, applied, n, v};
    if (n < t->ncl || !v) {
        srv_trained_free(&got);
        return;
    }
    qsort(v, n, sizeof *v, by_uuid);
    *out = got;
}

int train_model(sqlite3 *db, train_cache *cache, int64_t account, int64_t id, int64_t now, srv_trained *trained)
{
    int64_t generation = updated_at(db, id);
    train_run t = {.db = db, .cache = cache, .account = account, .id = id, .now = now, .version = 1};
    t.model = obj_get(db, account, "model", id, NULL, NULL);
    if (!t.model)
        return -1;
    t.prog = (progress_ctx){db, id, "", 0};
    on_progress(&t.prog, "loading profiles", 0);
    srv_run_idle("pn-train", compute, &t);
    int rc = -1;
    if (t.ok) {
        int64_t applied = 0;
        int stored = store_result(db, id, t.s, t.p, t.cl, t.ncl, t.report, now, t.version, t.per_persona, generation,
                                  &applied);
        if (stored == 0 && trained)
            trained_of(&t, applied, trained);
        if (stored < 0)
            snprintf(t.err.message, sizeof t.err.message, "the store could not save the trained model: %s",
                     sqlite3_errmsg(db));
        else
            rc = 0;
        if (stored == 0)
            fprintf(stderr,
                    "personae serve: model %lld: trained version %u, %zu target visitors classified; %llu "
                    "realizations read, %llu kept from earlier trainings\n",
                    (long long)id, t.version, t.ncl, (unsigned long long)(pn_profiles_event_count(t.p) - t.kept),
                    (unsigned long long)t.kept);
    }
    if (rc)
        set_error(db, id, t.err.message[0] ? t.err.message : "training failed for an unknown reason");
    free(t.cl);
    cJSON_Delete(t.report);
    cJSON_Delete(t.names);
    cJSON_Delete(t.model);
    pn_snapshot_free(t.s);
    if (!cache_take_back(cache, t.p))
        pn_profiles_free(t.p);
    pn_model_def_free(t.def);
    pn_catalog_free(t.cat);
    return rc;
}
