/* /api/v1/models: the rules of DESIGN §1 at creation and edit, the model's predictive traits and
 * segments (folder "Predictive Audiences/<model name>"), clone and train-now. */
#include "srv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *const FIELDS[] = {"name", "baselines", "target", "data_source_id", "merge_rule_id", "lookback_days",
                                     NULL};
static const char *const READONLY[] = {"id", "dec_labels", "folder", "predictive", "status", "reasons", "error",
                                       "training", "last_trained_at", "version", NULL};

/* Why an object may not be a baseline or target, or NULL when it may. */
static const char *unusable(const char *type, const cJSON *o, int64_t owner)
{
    if (owner || cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "predictive")) ||
        strcmp(srv_str(o, "kind", ""), "predictive") == 0)
        return "is predictive: predictive traits and segments cannot be baselines or targets";
    if (strcmp(type, "trait") == 0 && strcmp(srv_str(o, "kind", ""), "algorithmic") == 0)
        return "is algorithmic: algorithmic traits cannot be baselines or targets";
    if (strcmp(type, "trait") == 0 && strcmp(srv_str(o, "party", "first"), "third") == 0)
        return "is third-party: only first-party traits can be baselines or targets";
    if (strcmp(srv_str(o, "origin", "account"), "shared") == 0)
        return "is shared in from outside the account: it cannot be a baseline or target";
    return NULL;
}

/* Checks one baseline or target id; *type gets "trait" or "segment". */
static int check_member(srv_ctx *c, const cJSON *v, const char *role, char type[24], srv_resp *r)
{
    if (!srv_is_int(v, 1, INT64_C(1) << 53))
        return srv_fail(r, 400, "field '%s' of a model must hold integer trait or segment ids", role);
    int64_t id = (int64_t)v->valuedouble, owner = 0;
    cJSON *o = obj_get(c->db, c->account, NULL, id, type, &owner);
    if (!o || (strcmp(type, "trait") && strcmp(type, "segment"))) {
        cJSON_Delete(o);
        return srv_fail(r, 422, "%s %lld is not a trait or segment of this account", role, (long long)id);
    }
    const char *why = unusable(type, o, owner);
    if (why) {
        srv_fail(r, 422, "%s %s %lld ('%.100s') %s", role, type, (long long)id, srv_str(o, "name", ""), why);
        cJSON_Delete(o);
        return r->status;
    }
    if (!perm_allows(c, type, id, "READ")) {
        srv_fail(r, 403, "you may not READ %s %lld ('%.100s'), so it cannot be the %s of a model", type, (long long)id,
                 srv_str(o, "name", ""), role);
        cJSON_Delete(o);
        return r->status;
    }
    cJSON_Delete(o);
    return 0;
}

/* The account's default merge rule; 0 when it has none, -1 when the store could not be read. */
static int64_t default_merge_rule(srv_ctx *c)
{
    cJSON *all = obj_list(c->db, c->account, "merge_rule");
    if (!all)
        return -1;
    int64_t id = 0;
    for (const cJSON *o = all->child; o && !id; o = o->next)
        if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "default")))
            id = (int64_t)cJSON_GetObjectItemCaseSensitive(o, "id")->valuedouble;
    cJSON_Delete(all);
    return id;
}

static int validate(srv_ctx *c, const cJSON *in, int64_t id, cJSON **out, srv_refs *refs, srv_resp *r)
{
    *out = cJSON_CreateObject();
    if (v_name(in, "model", r))
        return r->status;
    const char *name = cJSON_GetObjectItemCaseSensitive(in, "name")->valuestring;
    cJSON_AddStringToObject(*out, "name", name);
    if (!id && obj_count(c->db, c->account, "model") >= SRV_MAX_MODELS)
        return srv_fail(r, 422, "an account may have at most %d models: delete one before creating another",
                        SRV_MAX_MODELS);

    const cJSON *bl = cJSON_GetObjectItemCaseSensitive(in, "baselines");
    if (!cJSON_IsArray(bl))
        return srv_fail(r, 400, "field 'baselines' is required for a model: a list of 2 to 50 trait or segment ids");
    int n = cJSON_GetArraySize(bl);
    if (n < PN_MIN_BASELINES || n > PN_MAX_BASELINES)
        return srv_fail(r, 422, "field 'baselines' of a model must list %d to %d traits or segments, got %d",
                        PN_MIN_BASELINES, PN_MAX_BASELINES, n);
    char first_type[24] = "", type[24];
    int64_t first_id = 0;
    cJSON *baselines = cJSON_AddArrayToObject(*out, "baselines");
    for (const cJSON *b = bl->child; b; b = b->next) {
        if (check_member(c, b, "baseline", type, r))
            return r->status;
        int64_t bid = (int64_t)b->valuedouble;
        for (const cJSON *p = bl->child; p != b; p = p->next)
            if ((int64_t)p->valuedouble == bid)
                return srv_fail(r, 422, "baseline %lld is listed twice in field 'baselines'", (long long)bid);
        if (!first_id) {
            strcpy(first_type, type);
            first_id = bid;
        } else if (strcmp(first_type, type)) {
            return srv_fail(r, 422, "baselines must be all traits or all segments: %s %lld is a %s but %s %lld is a %s",
                            "baseline", (long long)first_id, first_type, "baseline", (long long)bid, type);
        }
        cJSON_AddItemToArray(baselines, cJSON_CreateNumber((double)bid));
        if (refs_add(refs, bid))
            return srv_fail(r, 500, "out of memory");
    }
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(in, "target");
    if (t && !cJSON_IsNull(t)) {
        if (check_member(c, t, "target", type, r))
            return r->status;
        for (const cJSON *b = bl->child; b; b = b->next)
            if ((int64_t)b->valuedouble == (int64_t)t->valuedouble)
                return srv_fail(r, 422, "target %lld is also a baseline: the target is the audience to classify",
                                (long long)t->valuedouble);
        cJSON_AddNumberToObject(*out, "target", t->valuedouble);
        if (refs_add(refs, (int64_t)t->valuedouble))
            return srv_fail(r, 500, "out of memory");
    } else {
        cJSON_AddNullToObject(*out, "target");
    }
    int64_t ds, mr;
    if (v_ref(c, in, "data_source_id", "model", "data_source", "data source", 1, &ds, r) ||
        v_ref(c, in, "merge_rule_id", "model", "merge_rule", "merge rule", 0, &mr, r))
        return r->status;
    /* The model's predictive traits and segments go into this data source: mapping a data
     * source to a model is its own permission (DESIGN §1), not implied by CREATE on models. */
    if (!perm_allows(c, "data_source", ds, "MAP_TO_MODELS"))
        return srv_fail(r, 403, "you may not MAP_TO_MODELS data source %lld, so it cannot hold this model's predictive "
                                "traits and segments",
                        (long long)ds);
    if (!mr && (mr = default_merge_rule(c)) < 0)
        return srv_fail(r, 500, "the store's merge rules cannot be read: %s", sqlite3_errmsg(c->db));
    if (!mr)
        return srv_fail(r, 422, "the account has no default merge rule: set field 'merge_rule_id'");
    cJSON_AddNumberToObject(*out, "data_source_id", (double)ds);
    cJSON_AddNumberToObject(*out, "merge_rule_id", (double)mr);
    if (refs_add(refs, ds) || refs_add(refs, mr))
        return srv_fail(r, 500, "out of memory");
    const cJSON *lb = cJSON_GetObjectItemCaseSensitive(in, "lookback_days");
    if (lb && !cJSON_IsNull(lb) && !srv_is_int(lb, 0, PN_MAX_LOOKBACK_DAYS))
        return srv_fail(r, 400, "field 'lookback_days' of a model must be an integer from 0 (all history) to %d",
                        PN_MAX_LOOKBACK_DAYS);
    cJSON_AddNumberToObject(*out, "lookback_days", lb && !cJSON_IsNull(lb) ? lb->valuedouble : PN_DEFAULT_LOOKBACK_DAYS);

    /* the core has the last word on the rules, and computes the DEC union */
    pn_catalog *cat = NULL;
    pn_model_def *def = NULL;
    pn_error err;
    if (catalog_build(c->db, c->account, &cat, NULL, &err))
        return srv_fail(r, 500, "the account's catalog cannot be built: %s", err.message);
    if (model_def_build(*out, id ? id : 1, cat, &def, &err)) {
        pn_catalog_free(cat);
        return srv_fail(r, err.code == PN_ERULE || err.code == PN_EUNKNOWN ? 422 : 400, "%s", err.message);
    }
    cJSON_AddItemToObject(*out, "dec_labels", srv_labels_json(pn_model_def_dec_union(def)));
    pn_model_def_free(def);
    pn_catalog_free(cat);

    char folder[SRV_MAX_NAME + 32];
    snprintf(folder, sizeof folder, "%s%s", SRV_FOLDER_PREFIX, name);
    cJSON_AddStringToObject(*out, "folder", folder);
    cJSON *old = id ? obj_get(c->db, c->account, "model", id, NULL, NULL) : NULL;
    const cJSON *pred = cJSON_GetObjectItemCaseSensitive(old, "predictive");
    cJSON_AddItemToObject(*out, "predictive", pred ? cJSON_Duplicate(pred, 1) : cJSON_CreateArray());
    cJSON_Delete(old);
    return 0;
}

static int exec2(sqlite3 *db, const char *sql, int64_t a, int64_t b)
{
    sqlite3_stmt *st = store_prepare(db, sql);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, a);
    sqlite3_bind_int64(st, 2, b);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

/* The predictive trait and segment of one baseline: created, or renamed after the model. */
static int predictive_pair(srv_ctx *c, int64_t model, const cJSON *body, int64_t baseline, int64_t *trait,
                           int64_t *segment, srv_resp *r)
{
    char *bname = obj_name(c->db, c->account, baseline);
    char name[2 * SRV_MAX_NAME + 8], rule[40];
    snprintf(name, sizeof name, "%s - %s", srv_str(body, "name", ""), bname ? bname : "?");
    free(bname);
    cJSON *t = cJSON_CreateObject();
    cJSON_AddStringToObject(t, "name", name);
    cJSON_AddNumberToObject(t, "data_source_id", (double)srv_num(body, "data_source_id"));
    cJSON_AddStringToObject(t, "kind", "predictive");
    cJSON_AddStringToObject(t, "party", "first");
    cJSON_AddStringToObject(t, "origin", "account");
    cJSON_AddStringToObject(t, "folder", srv_str(body, "folder", ""));
    cJSON_AddNumberToObject(t, "model_id", (double)model);
    int rc = *trait ? obj_update(c->db, c->account, *trait, t) : obj_insert(c->db, c->account, "trait", t, model, trait);
    cJSON_Delete(t);
    if (rc != SQLITE_DONE)
        return srv_fail(r, 409, "the predictive trait '%.300s' cannot be created: a trait of that name exists", name);
    snprintf(rule, sizeof rule, "%lldT", (long long)*trait);
    cJSON *s = cJSON_CreateObject();
    cJSON_AddStringToObject(s, "name", name);
    cJSON_AddStringToObject(s, "rule", rule);
    cJSON_AddNumberToObject(s, "data_source_id", (double)srv_num(body, "data_source_id"));
    cJSON_AddStringToObject(s, "origin", "account");
    cJSON_AddTrueToObject(s, "predictive");
    cJSON_AddNumberToObject(s, "baseline_id", (double)baseline);
    cJSON_AddStringToObject(s, "folder", srv_str(body, "folder", ""));
    cJSON_AddNumberToObject(s, "model_id", (double)model);
    rc = *segment ? obj_update(c->db, c->account, *segment, s) : obj_insert(c->db, c->account, "segment", s, model, segment);
    cJSON_Delete(s);
    if (rc != SQLITE_DONE)
        return srv_fail(r, 409, "the predictive segment '%.300s' cannot be created: a segment of that name exists", name);
    return 0;
}

static int after_write(srv_ctx *c, int64_t id, cJSON *body, int created, srv_resp *r)
{
    const cJSON *old = cJSON_GetObjectItemCaseSensitive(body, "predictive");
    cJSON *pred = cJSON_CreateArray();
    const cJSON *bl = cJSON_GetObjectItemCaseSensitive(body, "baselines");
    for (const cJSON *b = bl->child; b; b = b->next) {
        int64_t trait = 0, segment = 0;
        for (const cJSON *o = old ? old->child : NULL; o; o = o->next)
            if (srv_num(o, "baseline_id") == (int64_t)b->valuedouble) {
                trait = srv_num(o, "trait_id");
                segment = srv_num(o, "segment_id");
            }
        if (predictive_pair(c, id, body, (int64_t)b->valuedouble, &trait, &segment, r)) {
            cJSON_Delete(pred);
            return -1;
        }
        cJSON *e = cJSON_CreateObject();
        cJSON_AddNumberToObject(e, "baseline_id", b->valuedouble);
        cJSON_AddNumberToObject(e, "trait_id", (double)trait);
        cJSON_AddNumberToObject(e, "segment_id", (double)segment);
        cJSON_AddItemToArray(pred, e);
    }
    /* baselines that left the model take their predictive trait and segment with them */
    for (const cJSON *o = old ? old->child : NULL; o; o = o->next) {
        int kept = 0;
        for (const cJSON *b = bl->child; b; b = b->next)
            kept |= srv_num(o, "baseline_id") == (int64_t)b->valuedouble;
        if (!kept && (obj_delete(c->db, c->account, srv_num(o, "segment_id")) != SQLITE_DONE ||
                      obj_delete(c->db, c->account, srv_num(o, "trait_id")) != SQLITE_DONE)) {
            cJSON_Delete(pred);
            return -1;
        }
    }
    cJSON_ReplaceItemInObjectCaseSensitive(body, "predictive", pred);
    if (obj_update(c->db, c->account, id, body) != SQLITE_DONE)
        return -1;
    int rc = created ? exec2(c->db, "INSERT INTO model_state(model_id, account_id, next_due) VALUES(?, ?, 0)", id, c->account)
                     : exec2(c->db, "UPDATE model_state SET status = 'pending', reasons = '[]', error = NULL, personas = "
                                    "'{}', report = NULL, next_due = 0 WHERE model_id = ? AND account_id = ?",
                             id, c->account);
    if (!rc && c->sched)
        sched_wake(c->sched);
    return rc;
}

int models_purge(srv_ctx *c, int64_t id)
{
    static const char *const SQL[] = {
        "DELETE FROM refs WHERE from_id IN (SELECT id FROM objects WHERE owner_model = ?1 AND account_id = ?2)",
        "DELETE FROM objects WHERE owner_model = ?1 AND account_id = ?2",
        "DELETE FROM model_state WHERE model_id = ?1 AND account_id = ?2",
        "DELETE FROM snapshots WHERE model_id = ?1 AND ?2 > 0",
        "DELETE FROM classifications WHERE model_id = ?1 AND ?2 > 0",
        "DELETE FROM model_daily WHERE model_id = ?1 AND ?2 > 0",
    };
    for (size_t i = 0; i < sizeof SQL / sizeof *SQL; i++)
        if (exec2(c->db, SQL[i], id, c->account))
            return -1;
    return 0;
}

static int before_delete(srv_ctx *c, int64_t id, const cJSON *body, srv_resp *r)
{
    return models_purge(c, id);
}

static void decorate(srv_ctx *c, int64_t id, cJSON *obj)
{
    sqlite3_stmt *st = store_prepare(c->db, "SELECT status, reasons, error, personas, stage, progress, train_requested, "
                                            "last_trained_at, version FROM model_state WHERE model_id = ?");
    if (!st)
        return;
    sqlite3_bind_int64(st, 1, id);
    if (sqlite3_step(st) == SQLITE_ROW) {
        cJSON_AddStringToObject(obj, "status", (const char *)sqlite3_column_text(st, 0));
        cJSON *reasons = cJSON_Parse((const char *)sqlite3_column_text(st, 1));
        cJSON_AddItemToObject(obj, "reasons", reasons ? reasons : cJSON_CreateArray());
        if (sqlite3_column_type(st, 2) == SQLITE_NULL)
            cJSON_AddNullToObject(obj, "error");
        else
            cJSON_AddStringToObject(obj, "error", (const char *)sqlite3_column_text(st, 2));
        cJSON *personas = cJSON_Parse((const char *)sqlite3_column_text(st, 3));
        cJSON *pred = cJSON_GetObjectItemCaseSensitive(obj, "predictive");
        for (cJSON *e = pred ? pred->child : NULL; e; e = e->next) {
            char key[32];
            snprintf(key, sizeof key, "%lld", (long long)srv_num(e, "baseline_id"));
            cJSON_AddStringToObject(e, "status", srv_str(personas, key, "pending"));
        }
        cJSON_Delete(personas);
        if (sqlite3_column_type(st, 4) == SQLITE_NULL && !sqlite3_column_int(st, 6)) {
            cJSON_AddNullToObject(obj, "training");
        } else {
            cJSON *t = cJSON_AddObjectToObject(obj, "training");
            cJSON_AddStringToObject(t, "stage", sqlite3_column_type(st, 4) == SQLITE_NULL
                                                    ? "queued"
                                                    : (const char *)sqlite3_column_text(st, 4));
            cJSON_AddNumberToObject(t, "progress", sqlite3_column_double(st, 5));
        }
        if (sqlite3_column_type(st, 7) == SQLITE_NULL)
            cJSON_AddNullToObject(obj, "last_trained_at");
        else
            cJSON_AddNumberToObject(obj, "last_trained_at", (double)sqlite3_column_int64(st, 7));
        cJSON_AddNumberToObject(obj, "version", (double)sqlite3_column_int64(st, 8));
    }
    sqlite3_finalize(st);
}

int models_clone(srv_ctx *c, int64_t id, const srv_req *q, srv_resp *r)
{
    cJSON *src;
    if (res_load(c, &srv_models, id, "READ", &src, r))
        return r->status;
    if (!perm_allows(c, "model", SRV_ANY, "CREATE")) {
        cJSON_Delete(src);
        return srv_fail(r, 403, "you may not CREATE models: your groups have no CREATE permission on model");
    }
    cJSON *in = NULL;
    static const char *const CLONE_FIELDS[] = {"name", NULL};
    if (q->body_len && (srv_parse_object(q, &in, r) || v_known_fields(in, "model clone", CLONE_FIELDS, NULL, r))) {
        cJSON_Delete(src);
        cJSON_Delete(in);
        return r->status;
    }
    cJSON *copy = cJSON_CreateObject();
    for (size_t i = 0; FIELDS[i]; i++) {
        const cJSON *f = cJSON_GetObjectItemCaseSensitive(src, FIELDS[i]);
        if (f)
            cJSON_AddItemToObject(copy, FIELDS[i], cJSON_Duplicate(f, 1));
    }
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(in, "name");
    char buf[SRV_MAX_NAME + 16];
    snprintf(buf, sizeof buf, "%.*s (copy)", SRV_MAX_NAME - 7, srv_str(src, "name", ""));
    cJSON_ReplaceItemInObjectCaseSensitive(copy, "name", name ? cJSON_Duplicate(name, 1) : cJSON_CreateString(buf));
    res_create_from(c, &srv_models, copy, r);
    cJSON_Delete(copy);
    cJSON_Delete(src);
    cJSON_Delete(in);
    return r->status;
}

static int train_pending(srv_ctx *c, int64_t id)
{
    sqlite3_stmt *st = store_prepare(c->db, "SELECT train_requested, stage FROM model_state WHERE model_id = ?");
    if (!st)
        return 0;
    sqlite3_bind_int64(st, 1, id);
    int pending = sqlite3_step(st) == SQLITE_ROW && (sqlite3_column_int(st, 0) || sqlite3_column_type(st, 1) != SQLITE_NULL);
    sqlite3_finalize(st);
    return pending;
}

int models_train(srv_ctx *c, int64_t id, const srv_req *q, srv_resp *r)
{
    cJSON *m;
    if (res_load(c, &srv_models, id, "WRITE", &m, r))
        return r->status;
    if (exec2(c->db, "UPDATE model_state SET train_requested = 1 WHERE model_id = ? AND account_id = ?", id, c->account)) {
        cJSON_Delete(m);
        return srv_fail(r, 500, "the store could not queue the training: %s", sqlite3_errmsg(c->db));
    }
    if (c->sched)
        sched_wake(c->sched);
    c->unchanged = 1; /* a queued training changes nothing /event evaluates; its result refreshes /event */
    int waited = 0;
    if (q->wait && (strcmp(q->wait, "true") == 0 || strcmp(q->wait, "1") == 0) && c->lock) {
        /* ?wait=true answers when the training is over; other requests run meanwhile */
        for (int i = 0; i < 6000 && train_pending(c, id); i++) {
            pthread_mutex_unlock(c->lock);
            struct timespec ts = {0, 100 * 1000 * 1000};
            nanosleep(&ts, NULL);
            pthread_mutex_lock(c->lock);
        }
        waited = 1;
    }
    cJSON_Delete(m);
    m = obj_get(c->db, c->account, "model", id, NULL, NULL);
    if (!m)
        return srv_fail(r, 404, "no model with id %lld in this account", (long long)id);
    decorate(c, id, m);
    return srv_ok(r, waited ? 200 : 202, m);
}

const srv_resource srv_models = {"models", "model", "model", FIELDS, READONLY, validate, after_write, before_delete,
                                 decorate};
