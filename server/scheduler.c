/* The scheduler: one thread with its own store connection that trains every model when it is
 * due (every `interval` seconds) or asked for (train now), one model at a time. */
#include "srv.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

struct srv_sched {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stop, woken;
    sqlite3 *db;
    int64_t interval;
    srv_config *cfg;
    train_cache *cache; /* the realizations read by the last trainings; the scheduler's thread only */
};

/* Claims the next due model: clears its request and sets its next due time, in one statement
 * so that a waiting train-now caller never sees it idle in between. */
static int claim(srv_sched *s, int64_t now, int64_t *model, int64_t *account)
{
    sqlite3_stmt *st = store_prepare(s->db, "SELECT model_id, account_id FROM model_state WHERE train_requested = 1 OR "
                                            "next_due <= ? ORDER BY train_requested DESC, next_due LIMIT 1");
    if (!st)
        return 0;
    sqlite3_bind_int64(st, 1, now);
    int found = sqlite3_step(st) == SQLITE_ROW;
    if (found) {
        *model = sqlite3_column_int64(st, 0);
        *account = sqlite3_column_int64(st, 1);
    }
    sqlite3_finalize(st);
    if (!found)
        return 0;
    st = store_prepare(s->db, "UPDATE model_state SET train_requested = 0, next_due = ?, stage = 'starting', progress = 0 "
                              "WHERE model_id = ?");
    if (!st)
        return 0;
    sqlite3_bind_int64(st, 1, now + s->interval);
    sqlite3_bind_int64(st, 2, *model);
    int ok = sqlite3_step(st) == SQLITE_DONE;
    sqlite3_finalize(st);
    return ok;
}

/* The training's stage goes: it is over (its result's commit left it "publishing", an error
 * cleared it). */
static void finish(srv_sched *s, int64_t model)
{
    sqlite3_stmt *st = store_prepare(s->db, "UPDATE model_state SET stage = NULL WHERE model_id = ?");
    if (st) {
        sqlite3_bind_int64(st, 1, model);
        sqlite3_step(st);
        sqlite3_finalize(st);
    }
}

typedef struct changed {
    srv_sched *s;
    int64_t account;
    srv_trained trained;
} changed;

/* The /event view of the account is built again and its recent visitors' classifications brought
 * to the training's (event.c): calls go on with the view before meanwhile, so it runs in idle
 * time too */
static void store_changed(void *arg)
{
    changed *c = arg;
    srv_store_changed(c->s->cfg, c->s->db, c->account, c->trained.model ? &c->trained : NULL);
}

static void *run(void *arg)
{
    srv_sched *s = arg;
    srv_thread_name("pn-scheduler");
    /* it trains on threads of its own that run in idle time (train_job.c): this one writes the
     * results, a transaction the ingester and the API wait for, so it keeps a normal share */
    srv_background_thread(5);
    pthread_mutex_lock(&s->mu);
    while (!s->stop) {
        pthread_mutex_unlock(&s->mu);
        int64_t model, account, now = srv_now();
        int trained = 0;
        if (claim(s, now, &model, &account)) {
            /* train on every event acknowledged so far, from the ingester's next batch: trainings
             * one after another would otherwise each write a batch of their own (see
             * event_ingest.c) */
            srv_sync_events(s->cfg, 0);
            changed ch = {s, account, {0}};
            train_model(s->db, s->cache, account, model, now, &ch.trained);
            /* the training is over once /event serves its result: a train-now caller waiting
             * for it (?wait=true) gets its answer after that, so its next /event call is
             * classified by the new version (the result's commit left the stage "publishing") */
            srv_run_idle("pn-refresh", store_changed, &ch);
            finish(s, model);
            srv_trained_free(&ch.trained);
            trained = 1;
        } else {
            train_cache_idle(s->cache);
        }
        pthread_mutex_lock(&s->mu);
        if (trained || s->woken) {
            s->woken = 0;
            continue;
        }
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += 1;
        while (!s->stop && !s->woken && pthread_cond_timedwait(&s->cv, &s->mu, &until) != ETIMEDOUT) {
        }
        s->woken = 0;
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

int sched_start(const char *db_path, int64_t interval, srv_config *cfg, srv_sched **out, char *err,
                size_t errcap)
{
    srv_sched *s = calloc(1, sizeof *s);
    if (!s)
        return snprintf(err, errcap, "out of memory"), -1;
    s->interval = interval;
    s->cfg = cfg;
    if (store_open(db_path, 0, &s->db, err, errcap)) {
        free(s);
        return -1;
    }
    s->cache = train_cache_new(); /* NULL: every training reads everything */
    /* a training the last run of the server left unfinished (a crash) is over: nothing runs it */
    if (sqlite3_exec(s->db, "UPDATE model_state SET stage = NULL WHERE stage IS NOT NULL", NULL, NULL, NULL) != SQLITE_OK)
        fprintf(stderr, "personae serve: scheduler: %s\n", sqlite3_errmsg(s->db));
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    if (pthread_create(&s->thread, NULL, run, s)) {
        train_cache_free(s->cache);
        store_close(s->db);
        free(s);
        return snprintf(err, errcap, "cannot start the scheduler thread"), -1;
    }
    *out = s;
    return 0;
}

void sched_wake(srv_sched *s)
{
    pthread_mutex_lock(&s->mu);
    s->woken = 1;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

void sched_stop(srv_sched *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&s->mu);
    s->stop = 1;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->thread, NULL);
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->mu);
    train_cache_free(s->cache);
    store_close(s->db);
    free(s);
}
