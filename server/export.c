/* GET /api/v1/destinations/{id}/export: the visitors of every segment mapped to the destination,
 * leaving out (and naming, with the reason) each segment whose DEC labels share one with the
 * destination's. Segments are evaluated over each device's own profile at request time;
 * predictive segments list the visitors the server itself classified (at training or on an
 * /event call) — personas reported by edge scorers are kept apart (edge_reports) and never
 * exported as such. */
#include "srv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "personae/rule.h"

typedef struct eval_ctx {
    const pn_profiles *p;
    uint32_t v;
} eval_ctx;

static uint32_t count(void *ctx, const char *trait, size_t len, int64_t since)
{
    eval_ctx *e = ctx;
    uint32_t t = pn_profiles_trait_find(e->p, trait, len);
    return t == PN_NONE ? 0 : pn_profiles_count_since(e->p, e->v, t, since);
}

static pn_profiles *load_all(sqlite3 *db, int64_t account)
{
    pn_profiles *p = NULL;
    pn_error err;
    if (pn_profiles_new(&p, &err) != PN_OK)
        return NULL;
    sqlite3_stmt *st = store_prepare(db, "SELECT uuid, trait_id, ts FROM realizations WHERE account_id = ? ORDER BY rowid");
    int ok = st != NULL;
    if (st) {
        sqlite3_bind_int64(st, 1, account);
        while (ok && sqlite3_step(st) == SQLITE_ROW) {
            char tid[32];
            int n = snprintf(tid, sizeof tid, "%lld", (long long)sqlite3_column_int64(st, 1));
            ok = pn_profiles_add(p, (const char *)sqlite3_column_text(st, 0), (size_t)sqlite3_column_bytes(st, 0), tid,
                                 (size_t)n, sqlite3_column_int64(st, 2), &err) == PN_OK;
        }
        sqlite3_finalize(st);
    }
    if (!ok || pn_profiles_finish(p, &err) != PN_OK) {
        pn_profiles_free(p);
        return NULL;
    }
    return p;
}

int export_destination(srv_ctx *c, int64_t id, srv_resp *r)
{
    cJSON *dst;
    if (res_load(c, &srv_destinations, id, "READ", &dst, r))
        return r->status;
    srv_sync_events(c->cfg); /* export every event acknowledged so far */
    uint32_t dl = labels_from_json(cJSON_GetObjectItemCaseSensitive(dst, "dec_labels"));
    const cJSON *ids = cJSON_GetObjectItemCaseSensitive(dst, "segment_ids");
    cJSON *out = cJSON_CreateObject();
    cJSON_AddNumberToObject(out, "destination_id", (double)id);
    cJSON_AddNumberToObject(out, "generated_at", (double)srv_now());
    cJSON *segments = cJSON_AddArrayToObject(out, "segments");
    cJSON *excluded = cJSON_AddArrayToObject(out, "excluded");
    pn_profiles *p = NULL;
    int64_t now = srv_now();
    for (const cJSON *e = cJSON_IsArray(ids) ? ids->child : NULL; e; e = e->next) {
        int64_t sid = (int64_t)e->valuedouble;
        cJSON *seg = obj_get(c->db, c->account, "segment", sid, NULL, NULL);
        if (!seg)
            continue;
        uint32_t sl = segment_labels(c->db, c->account, seg);
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(seg, "name");
        if (sl & dl) {
            cJSON *x = cJSON_CreateObject();
            cJSON_AddNumberToObject(x, "segment_id", (double)sid);
            cJSON_AddItemToObject(x, "conflicting_labels", srv_labels_json(sl & dl));
            char why[300];
            snprintf(why, sizeof why, "segment %lld carries data export controls that forbid what destination %lld does",
                     (long long)sid, (long long)id);
            cJSON_AddStringToObject(x, "reason", why);
            cJSON_AddItemToArray(excluded, x);
            cJSON_Delete(seg);
            continue;
        }
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "segment_id", (double)sid);
        cJSON_AddStringToObject(o, "name", cJSON_IsString(name) ? name->valuestring : "");
        cJSON *visitors = cJSON_AddArrayToObject(o, "visitors");
        if (srv_num(seg, "model_id")) {
            sqlite3_stmt *st = store_prepare(c->db, "SELECT uuid FROM classifications WHERE model_id = ? AND "
                                                    "baseline_id = ? ORDER BY uuid");
            if (st) {
                sqlite3_bind_int64(st, 1, srv_num(seg, "model_id"));
                sqlite3_bind_int64(st, 2, srv_num(seg, "baseline_id"));
                while (sqlite3_step(st) == SQLITE_ROW)
                    cJSON_AddItemToArray(visitors, cJSON_CreateString((const char *)sqlite3_column_text(st, 0)));
                sqlite3_finalize(st);
            }
        } else {
            const cJSON *rule = cJSON_GetObjectItemCaseSensitive(seg, "rule");
            pn_segment_rule *parsed = NULL;
            pn_error err;
            if (!p)
                p = load_all(c->db, c->account);
            if (!p || !cJSON_IsString(rule) ||
                pn_segment_rule_parse(rule->valuestring, strlen(rule->valuestring), &parsed, NULL, &err) != PN_OK) {
                cJSON_Delete(o);
                cJSON_Delete(seg);
                cJSON_Delete(out);
                cJSON_Delete(dst);
                pn_profiles_free(p);
                return srv_fail(r, 500, "segment %lld cannot be evaluated for the export", (long long)sid);
            }
            for (uint32_t v = 0; v < pn_profiles_visitor_count(p); v++) {
                eval_ctx ec = {p, v};
                size_t ulen;
                if (pn_segment_rule_eval(parsed, count, &ec, now))
                    cJSON_AddItemToArray(visitors, cJSON_CreateString(pn_profiles_visitor_uuid(p, v, &ulen)));
            }
            pn_segment_rule_free(parsed);
        }
        cJSON_AddNumberToObject(o, "population", cJSON_GetArraySize(visitors));
        cJSON_AddItemToArray(segments, o);
        cJSON_Delete(seg);
    }
    pn_profiles_free(p);
    cJSON_Delete(dst);
    return srv_ok(r, 200, out);
}
