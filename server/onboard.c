/* Batch onboarding of trait realizations (TSV or JSON Lines, DESIGN §3): every good line is
 * stored in one transaction, every bad one is answered with its number and reason. */
#include "srv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LISTED_ERRORS 1000

typedef struct known_trait {
    int64_t id;
    int predictive;
    int writable;
} known_trait;

static int cmp_trait(const void *a, const void *b)
{
    int64_t x = ((const known_trait *)a)->id, y = ((const known_trait *)b)->id;
    return x < y ? -1 : x > y;
}

static known_trait *load_traits(srv_ctx *c, size_t *n)
{
    cJSON *all = obj_list(c->db, c->account, "trait");
    size_t cap = (size_t)cJSON_GetArraySize(all) + 1, k = 0;
    known_trait *t = all ? malloc(cap * sizeof *t) : NULL;
    for (const cJSON *o = t ? all->child : NULL; o; o = o->next) {
        const cJSON *kind = cJSON_GetObjectItemCaseSensitive(o, "kind");
        t[k].id = (int64_t)cJSON_GetObjectItemCaseSensitive(o, "id")->valuedouble;
        t[k].predictive = cJSON_IsString(kind) && strcmp(kind->valuestring, "predictive") == 0;
        t[k].writable = perm_allows(c, "trait", t[k].id, "WRITE");
        k++;
    }
    cJSON_Delete(all);
    if (t)
        qsort(t, k, sizeof *t, cmp_trait);
    *n = k;
    return t;
}

static void bad_line(cJSON *errors, uint64_t *rejected, uint64_t line, const char *fmt, const char *a)
{
    (*rejected)++;
    if (cJSON_GetArraySize(errors) >= MAX_LISTED_ERRORS)
        return;
    char msg[PN_ERROR_MESSAGE_MAX + 128];
    snprintf(msg, sizeof msg, fmt, a);
    cJSON *e = cJSON_CreateObject();
    cJSON_AddNumberToObject(e, "line", (double)line);
    cJSON_AddStringToObject(e, "error", msg);
    cJSON_AddItemToArray(errors, e);
}

int onboard_ingest(srv_ctx *c, const char *buf, size_t len, cJSON **summary, uint64_t *accepted, uint64_t *rejected,
                   srv_resp *r)
{
    *summary = NULL;
    *accepted = *rejected = 0;
    if (!perm_allows(c, "trait", SRV_ANY, "WRITE"))
        return srv_fail(r, 403, "you may not onboard realizations: your groups have no WRITE permission on trait");
    if (len == 0)
        return srv_fail(r, 400, "the request body is empty: send realizations as TSV (uuid, trait id, unix seconds) "
                                "or JSON Lines");
    size_t ntraits;
    known_trait *traits = load_traits(c, &ntraits);
    char *scratch = malloc(len + 1);
    sqlite3_stmt *ins = store_prepare(c->db, "INSERT INTO realizations(account_id, uuid, trait_id, ts) VALUES(?, ?, ?, ?)");
    if (!traits || !scratch || !ins || store_begin(c->db)) {
        free(traits);
        free(scratch);
        sqlite3_finalize(ins);
        return srv_fail(r, 500, "the store cannot take the batch now: %s", sqlite3_errmsg(c->db));
    }
    cJSON *errors = cJSON_CreateArray();
    uint64_t line = 0;
    int failed = 0;
    for (size_t at = 0; at < len && !failed;) {
        const char *start = buf + at;
        const char *nl = memchr(start, '\n', len - at);
        size_t n = nl ? (size_t)(nl - start) : len - at;
        at += n + (nl ? 1 : 0);
        line++;
        pn_event ev;
        pn_error err;
        pn_status s = pn_event_parse(start, n, &ev, scratch, &err);
        if (s == PN_EINVAL && strcmp(err.message, "blank line") == 0)
            continue;
        if (s != PN_OK) {
            bad_line(errors, rejected, line, "%s", err.message);
            continue;
        }
        char tid[PN_ID_MAX + 1];
        snprintf(tid, sizeof tid, "%.*s", (int)ev.trait_len, ev.trait);
        char *end = NULL;
        long long id = strtoll(tid, &end, 10);
        known_trait key = {id, 0, 0}, *t = NULL;
        if (ev.trait_len && ev.trait_len <= 15 && *end == '\0' && tid[0] >= '0' && tid[0] <= '9')
            t = bsearch(&key, traits, ntraits, sizeof *traits, cmp_trait);
        if (!t) {
            bad_line(errors, rejected, line, "unknown trait '%.60s': not a trait id of this account", tid);
            continue;
        }
        if (t->predictive) {
            bad_line(errors, rejected, line, "trait %s is predictive: only its model realizes it", tid);
            continue;
        }
        if (!t->writable) {
            bad_line(errors, rejected, line, "you may not WRITE trait %s", tid);
            continue;
        }
        sqlite3_reset(ins);
        sqlite3_bind_int64(ins, 1, c->account);
        sqlite3_bind_text(ins, 2, ev.uuid, (int)ev.uuid_len, SQLITE_TRANSIENT);
        sqlite3_bind_int64(ins, 3, id);
        sqlite3_bind_int64(ins, 4, ev.ts);
        if (sqlite3_step(ins) != SQLITE_DONE)
            failed = 1;
        else
            (*accepted)++;
    }
    sqlite3_finalize(ins);
    free(traits);
    free(scratch);
    if (failed || store_commit(c->db)) {
        srv_fail(r, 500, "the store could not save the batch (nothing was stored): %s", sqlite3_errmsg(c->db));
        store_rollback(c->db);
        cJSON_Delete(errors);
        *accepted = 0;
        return r->status;
    }
    if (c->cfg) /* /event keeps visitors in memory: it reads them again */
        atomic_fetch_add(&c->cfg->onboarded, 1);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "accepted", (double)*accepted);
    cJSON_AddNumberToObject(o, "rejected", (double)*rejected);
    cJSON_AddItemToObject(o, "errors", errors);
    cJSON_AddBoolToObject(o, "errors_truncated", *rejected > MAX_LISTED_ERRORS);
    *summary = o;
    return 0;
}

int onboard_route(srv_ctx *c, const srv_req *q, srv_resp *r)
{
    cJSON *summary;
    uint64_t a, b;
    if (onboard_ingest(c, q->body, q->body_len, &summary, &a, &b, r))
        return r->status;
    return srv_ok(r, 200, summary);
}
