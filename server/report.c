/* GET /api/v1/models/{id}/report: per persona the influential traits with signed weights and
 * 30-day population, visitors in the baseline and classified into it per day for 7 days, the
 * holdout quality, the DEC union and the last training time. The part that needs the profiles
 * is built at training time (report_build) and stored; counts that change between trainings
 * are read at request time. */
#include "srv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "personae/audience.h"

#define DAY 86400
#define TOP 10
#define REPORT_DAYS 7

static const char *name_of(const cJSON *names, const char *id)
{
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(names, id);
    return cJSON_IsString(n) ? n->valuestring : "";
}

static void date_of(int64_t day, char out[16])
{
    time_t t = (time_t)day;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 16, "%Y-%m-%d", &tm);
}

cJSON *report_build(const pn_snapshot *s, const pn_profiles *p, const pn_model_def *m, const cJSON *model,
                    const cJSON *names, int64_t now, const uint32_t *classified_per_persona)
{
    cJSON *out = cJSON_CreateObject();
    pn_quality q;
    pn_snapshot_quality(s, &q);
    cJSON *quality = cJSON_AddObjectToObject(out, "quality");
    cJSON_AddNumberToObject(quality, "accuracy", q.accuracy);
    cJSON_AddNumberToObject(quality, "macro_f1", q.macro_f1);
    cJSON_AddNumberToObject(quality, "training_visitors", q.training_visitors);
    cJSON_AddNumberToObject(quality, "holdout_visitors", q.holdout_visitors);
    cJSON_AddNumberToObject(quality, "target_visitors", q.target_visitors);
    cJSON_AddNumberToObject(quality, "median_traits_training", q.median_traits_training);
    cJSON_AddNumberToObject(quality, "median_traits_target", q.median_traits_target);

    /* 30-day population of every stored trait, in one pass over the realizations */
    size_t nt = pn_profiles_trait_count(p), nv = pn_profiles_visitor_count(p);
    uint32_t *pop = calloc(nt + 1, sizeof *pop);
    for (uint32_t v = 0; pop && v < nv; v++) {
        size_t nr;
        const pn_realization *r = pn_profiles_visitor_traits(p, v, &nr);
        for (size_t i = 0; i < nr; i++)
            if ((int64_t)r[i].last_seen >= now - 30 * DAY)
                pop[r[i].trait]++;
    }
    /* visitors in each baseline as of the end of each of the last 7 days */
    size_t nb = pn_model_def_baseline_count(m);
    uint32_t in_baseline[REPORT_DAYS][PN_MAX_BASELINES] = {{0}};
    pn_audience *a = NULL;
    pn_error err;
    int lookback = pn_model_def_lookback_days(m);
    int64_t today = now / DAY * DAY;
    if (pn_audience_from_model(m, p, &a, &err) == PN_OK) {
        for (int d = 0; d < REPORT_DAYS; d++) {
            int64_t until = today - (int64_t)d * DAY + DAY - 1;
            int64_t since = lookback ? until - (int64_t)lookback * DAY : INT64_MIN;
            for (uint32_t v = 0; v < nv; v++) {
                uint64_t set = pn_audience_baselines(a, v, since, until);
                for (size_t b = 0; set && b < nb; b++)
                    if (set & (UINT64_C(1) << b))
                        in_baseline[d][b]++;
            }
        }
        pn_audience_free(a);
    }

    cJSON *personas = cJSON_AddArrayToObject(out, "personas");
    for (size_t i = 0; i < pn_snapshot_persona_count(s); i++) {
        const char *bid = pn_snapshot_persona_id(s, i);
        pn_persona_info info;
        pn_snapshot_persona_info(s, i, &info);
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "baseline_id", (double)strtoll(bid, NULL, 10));
        cJSON_AddStringToObject(o, "baseline_name", name_of(names, bid));
        cJSON_AddStringToObject(o, "status", info.status == PN_PERSONA_SUCCEEDED ? "succeeded" : "insufficient training data");
        cJSON_AddNumberToObject(o, "training_visitors", info.training_visitors);
        cJSON_AddNumberToObject(o, "holdout_visitors", info.holdout_visitors);
        cJSON_AddNumberToObject(o, "precision", info.precision);
        cJSON_AddNumberToObject(o, "recall", info.recall);
        cJSON_AddNumberToObject(o, "f1", info.f1);
        cJSON *traits = cJSON_AddArrayToObject(o, "influential_traits");
        for (int positive = 1; positive >= 0; positive--) {
            uint32_t list[TOP];
            size_t k = pn_snapshot_influential(s, i, positive, list, TOP);
            for (size_t j = 0; j < k; j++) {
                size_t len;
                const char *tid = pn_snapshot_trait_id(s, list[j], &len);
                uint32_t pt = pn_profiles_trait_find(p, tid, len);
                cJSON *t = cJSON_CreateObject();
                cJSON_AddNumberToObject(t, "trait_id", (double)strtoll(tid, NULL, 10));
                cJSON_AddStringToObject(t, "name", name_of(names, tid));
                cJSON_AddNumberToObject(t, "weight", pn_snapshot_weight(s, list[j], i));
                cJSON_AddNumberToObject(t, "population_30d", pop && pt != PN_NONE ? pop[pt] : 0);
                cJSON_AddItemToArray(traits, t);
            }
        }
        size_t b = 0;
        while (b < nb && strcmp(pn_model_def_baseline(m, b), bid) != 0)
            b++;
        cJSON *daily = cJSON_AddArrayToObject(o, "daily");
        for (int d = REPORT_DAYS - 1; d >= 0; d--) {
            cJSON *e = cJSON_CreateObject();
            char date[16];
            date_of(today - (int64_t)d * DAY, date);
            cJSON_AddStringToObject(e, "date", date);
            cJSON_AddNumberToObject(e, "day", (double)(today - (int64_t)d * DAY));
            cJSON_AddNumberToObject(e, "in_baseline", b < nb ? in_baseline[d][b] : 0);
            cJSON_AddItemToArray(daily, e);
        }
        cJSON_AddNumberToObject(o, "classified_last_training", classified_per_persona[i]);
        cJSON_AddItemToArray(personas, o);
    }
    free(pop);
    (void)model;
    return out;
}

/* Counts that move between trainings: predictive segment populations and daily classifications. */
static void add_live_counts(srv_ctx *c, int64_t id, const cJSON *model, cJSON *personas)
{
    const cJSON *pred = cJSON_GetObjectItemCaseSensitive(model, "predictive");
    sqlite3_stmt *pop = store_prepare(c->db, "SELECT COUNT(*) FROM classifications WHERE model_id = ? AND baseline_id = ?");
    sqlite3_stmt *day = store_prepare(c->db, "SELECT classified FROM model_daily WHERE model_id = ? AND day = ? AND "
                                             "baseline_id = ?");
    for (cJSON *o = personas ? personas->child : NULL; o && pop && day; o = o->next) {
        int64_t bid = srv_num(o, "baseline_id");
        for (const cJSON *e = pred ? pred->child : NULL; e; e = e->next)
            if (srv_num(e, "baseline_id") == bid) {
                cJSON_AddNumberToObject(o, "predictive_trait_id", (double)srv_num(e, "trait_id"));
                cJSON_AddNumberToObject(o, "predictive_segment_id", (double)srv_num(e, "segment_id"));
            }
        sqlite3_reset(pop);
        sqlite3_bind_int64(pop, 1, id);
        sqlite3_bind_int64(pop, 2, bid);
        cJSON_AddNumberToObject(o, "predictive_segment_population",
                                sqlite3_step(pop) == SQLITE_ROW ? (double)sqlite3_column_int64(pop, 0) : 0);
        for (cJSON *d = cJSON_GetObjectItemCaseSensitive(o, "daily")->child; d; d = d->next) {
            sqlite3_reset(day);
            sqlite3_bind_int64(day, 1, id);
            sqlite3_bind_int64(day, 2, srv_num(d, "day"));
            sqlite3_bind_int64(day, 3, bid);
            cJSON_AddNumberToObject(d, "classified", sqlite3_step(day) == SQLITE_ROW ? (double)sqlite3_column_int64(day, 0) : 0);
        }
    }
    sqlite3_finalize(pop);
    sqlite3_finalize(day);
}

int models_report(srv_ctx *c, int64_t id, srv_resp *r)
{
    cJSON *model;
    if (res_load(c, &srv_models, id, "READ", &model, r))
        return r->status;
    srv_models.decorate(c, id, model);
    cJSON *out = cJSON_CreateObject();
    cJSON_AddNumberToObject(out, "model_id", (double)id);
    static const char *const COPY[] = {"name", "status", "reasons", "error", "training", "dec_labels", "last_trained_at",
                                       "version"};
    for (size_t i = 0; i < sizeof COPY / sizeof *COPY; i++) {
        const cJSON *f = cJSON_GetObjectItemCaseSensitive(model, COPY[i]);
        cJSON_AddItemToObject(out, COPY[i], f ? cJSON_Duplicate(f, 1) : cJSON_CreateNull());
    }
    sqlite3_stmt *st = store_prepare(c->db, "SELECT report FROM model_state WHERE model_id = ?");
    cJSON *stored = NULL;
    if (st) {
        sqlite3_bind_int64(st, 1, id);
        if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
            stored = cJSON_Parse((const char *)sqlite3_column_text(st, 0));
        sqlite3_finalize(st);
    }
    if (stored) {
        srv_sync_events(c->cfg, 1); /* live counts include every event acknowledged so far */
        cJSON *q = cJSON_DetachItemFromObjectCaseSensitive(stored, "quality");
        cJSON *personas = cJSON_DetachItemFromObjectCaseSensitive(stored, "personas");
        add_live_counts(c, id, model, personas);
        cJSON_AddItemToObject(out, "quality", q ? q : cJSON_CreateNull());
        cJSON_AddItemToObject(out, "personas", personas ? personas : cJSON_CreateArray());
        cJSON_Delete(stored);
    } else {
        cJSON_AddNullToObject(out, "quality");
        cJSON_AddItemToObject(out, "personas", cJSON_CreateArray());
    }
    cJSON_Delete(model);
    return srv_ok(r, 200, out);
}
