/* The REST verbs every resource shares: list, create, get, replace fields, delete — with the
 * account boundary (another account's id is simply not found), permissions, validation and
 * one transaction per write. */
#include "srv.h"

#include <string.h>

static int not_found(const srv_resource *res, int64_t id, srv_resp *r)
{
    return srv_fail(r, 404, "no %s with id %lld in this account", res->label, (long long)id);
}

static int forbidden(const srv_resource *res, int64_t id, const char *action, srv_resp *r)
{
    if (id == SRV_ANY)
        return srv_fail(r, 403, "you may not %s %ss: your groups have no %s permission on %s", action, res->label,
                        action, res->type);
    return srv_fail(r, 403, "you may not %s %s %lld: your groups have no %s permission on it", action, res->label,
                    (long long)id, action);
}

static int answer(srv_ctx *c, const srv_resource *res, int64_t id, int status, srv_resp *r)
{
    cJSON *o = obj_get(c->db, c->account, res->type, id, NULL, NULL);
    if (!o)
        return srv_fail(r, 500, "the %s was stored but cannot be read back", res->label);
    if (res->decorate)
        res->decorate(c, id, o);
    return srv_ok(r, status, o);
}

static int write_failed(srv_ctx *c, const srv_resource *res, const cJSON *body, int rc, srv_resp *r)
{
    store_rollback(c->db);
    if (r->json && r->status >= 400)
        return r->status; /* a hook already said why */
    if (rc == SQLITE_CONSTRAINT) {
        const cJSON *n = cJSON_GetObjectItemCaseSensitive(body, "name");
        return srv_fail(r, 409, "a %s named '%.200s' already exists in this account", res->label,
                        cJSON_IsString(n) ? n->valuestring : "");
    }
    return srv_fail(r, 500, "the store could not save the %s: %s", res->label, sqlite3_errmsg(c->db));
}

int res_list(srv_ctx *c, const srv_resource *res, srv_resp *r)
{
    if (!perm_allows(c, res->type, SRV_ANY, "READ"))
        return forbidden(res, SRV_ANY, "READ", r);
    cJSON *all = obj_list(c->db, c->account, res->type);
    cJSON *out = all ? cJSON_CreateArray() : NULL;
    if (!out) {
        cJSON_Delete(all);
        return srv_fail(r, 500, "the store cannot list the %ss now: %s", res->label, sqlite3_errmsg(c->db));
    }
    while (all->child) {
        cJSON *o = cJSON_DetachItemViaPointer(all, all->child);
        int64_t id = (int64_t)cJSON_GetObjectItemCaseSensitive(o, "id")->valuedouble;
        if (!perm_allows(c, res->type, id, "READ")) {
            cJSON_Delete(o);
            continue;
        }
        if (res->decorate)
            res->decorate(c, id, o);
        cJSON_AddItemToArray(out, o);
    }
    cJSON_Delete(all);
    return srv_ok(r, 200, out);
}

int res_load(srv_ctx *c, const srv_resource *res, int64_t id, const char *action, cJSON **obj, srv_resp *r)
{
    *obj = obj_get(c->db, c->account, res->type, id, NULL, NULL);
    if (!*obj)
        return not_found(res, id, r);
    if (!perm_allows(c, res->type, id, action)) {
        cJSON_Delete(*obj);
        *obj = NULL;
        return forbidden(res, id, action, r);
    }
    return 0;
}

int res_get(srv_ctx *c, const srv_resource *res, int64_t id, srv_resp *r)
{
    cJSON *o;
    if (res_load(c, res, id, "READ", &o, r))
        return r->status;
    if (res->decorate)
        res->decorate(c, id, o);
    return srv_ok(r, 200, o);
}

int res_create_from(srv_ctx *c, const srv_resource *res, const cJSON *in, srv_resp *r)
{
    if (v_known_fields(in, res->label, res->fields, res->readonly, r))
        return r->status;
    cJSON *out = NULL;
    srv_refs refs = {0};
    if (res->validate(c, in, 0, &out, &refs, r)) {
        cJSON_Delete(out);
        refs_free(&refs);
        return r->status;
    }
    int64_t id = 0;
    int rc = SQLITE_ERROR;
    if (store_begin(c->db) == 0 && (rc = obj_insert(c->db, c->account, res->type, out, 0, &id)) == SQLITE_DONE &&
        (rc = obj_refs_set(c->db, id, &refs)) == SQLITE_DONE &&
        (!res->after_write || (rc = res->after_write(c, id, out, 1, r) ? SQLITE_ERROR : SQLITE_DONE) == SQLITE_DONE) &&
        (rc = store_commit(c->db) ? SQLITE_ERROR : SQLITE_DONE) == SQLITE_DONE) {
        cJSON_Delete(out);
        refs_free(&refs);
        return answer(c, res, id, 201, r);
    }
    write_failed(c, res, out, rc, r);
    cJSON_Delete(out);
    refs_free(&refs);
    return r->status;
}

int res_create(srv_ctx *c, const srv_resource *res, const srv_req *q, srv_resp *r)
{
    if (!perm_allows(c, res->type, SRV_ANY, "CREATE"))
        return forbidden(res, SRV_ANY, "CREATE", r);
    cJSON *in;
    if (srv_parse_object(q, &in, r))
        return r->status;
    res_create_from(c, res, in, r);
    cJSON_Delete(in);
    return r->status;
}

static int owned(srv_ctx *c, const srv_resource *res, int64_t id, srv_resp *r)
{
    int64_t owner = 0;
    cJSON *o = obj_get(c->db, c->account, res->type, id, NULL, &owner);
    cJSON_Delete(o);
    if (owner)
        return srv_fail(r, 409, "%s %lld belongs to model %lld (it is one of its predictive %ss): edit or delete the model "
                                "instead",
                        res->label, (long long)id, (long long)owner, res->label);
    return 0;
}

int res_put(srv_ctx *c, const srv_resource *res, int64_t id, const srv_req *q, srv_resp *r)
{
    cJSON *old;
    if (res_load(c, res, id, "WRITE", &old, r))
        return r->status;
    cJSON *in = NULL;
    if (owned(c, res, id, r) || srv_parse_object(q, &in, r) || v_known_fields(in, res->label, res->fields, res->readonly, r)) {
        cJSON_Delete(old);
        cJSON_Delete(in);
        return r->status;
    }
    /* fields left out keep their value */
    for (const cJSON *f = in->child; f; f = f->next)
        for (size_t i = 0; res->fields[i]; i++)
            if (strcmp(res->fields[i], f->string) == 0) {
                cJSON_DeleteItemFromObjectCaseSensitive(old, f->string);
                cJSON_AddItemToObject(old, f->string, cJSON_Duplicate(f, 1));
            }
    cJSON_Delete(in);
    cJSON *out = NULL;
    srv_refs refs = {0};
    if (res->validate(c, old, id, &out, &refs, r)) {
        cJSON_Delete(old);
        cJSON_Delete(out);
        refs_free(&refs);
        return r->status;
    }
    cJSON_Delete(old);
    int rc = SQLITE_ERROR;
    if (store_begin(c->db) == 0 && (rc = obj_update(c->db, c->account, id, out)) == SQLITE_DONE &&
        (rc = obj_refs_set(c->db, id, &refs)) == SQLITE_DONE &&
        (!res->after_write || (rc = res->after_write(c, id, out, 0, r) ? SQLITE_ERROR : SQLITE_DONE) == SQLITE_DONE) &&
        (rc = store_commit(c->db) ? SQLITE_ERROR : SQLITE_DONE) == SQLITE_DONE) {
        cJSON_Delete(out);
        refs_free(&refs);
        return answer(c, res, id, 200, r);
    }
    write_failed(c, res, out, rc, r);
    cJSON_Delete(out);
    refs_free(&refs);
    return r->status;
}

static const char *type_label(const char *type)
{
    static const char *const map[][2] = {{"data_source", "data source"}, {"merge_rule", "merge rule"}};
    for (size_t i = 0; i < sizeof map / sizeof *map; i++)
        if (strcmp(map[i][0], type) == 0)
            return map[i][1];
    return type;
}

int res_delete(srv_ctx *c, const srv_resource *res, int64_t id, srv_resp *r)
{
    cJSON *old;
    if (res_load(c, res, id, "DELETE", &old, r))
        return r->status;
    if (owned(c, res, id, r)) {
        cJSON_Delete(old);
        return r->status;
    }
    char by_type[24];
    int64_t by = obj_referrer(c->db, id, by_type);
    if (by) {
        cJSON_Delete(old);
        return srv_fail(r, 409, "%s %lld is used by %s %lld: change or delete that first", res->label, (long long)id,
                        type_label(by_type), (long long)by);
    }
    if (store_begin(c->db) || (res->before_delete && res->before_delete(c, id, old, r)) ||
        obj_delete(c->db, c->account, id) != SQLITE_DONE || store_commit(c->db)) {
        write_failed(c, res, old, SQLITE_ERROR, r);
        cJSON_Delete(old);
        return r->status;
    }
    cJSON_Delete(old);
    return srv_ok(r, 204, NULL);
}
