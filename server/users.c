/* /api/v1/users and POST /users/{id}/keys: users get permissions only through their groups. */
#include "srv.h"

static const char *const FIELDS[] = {"name", "group_ids", NULL};
static const char *const READONLY[] = {"id", NULL};

static int validate(srv_ctx *c, const cJSON *in, int64_t id, cJSON **out, srv_refs *refs, srv_resp *r)
{
    *out = cJSON_CreateObject();
    if (v_name(in, "user", r))
        return r->status;
    cJSON_AddStringToObject(*out, "name", cJSON_GetObjectItemCaseSensitive(in, "name")->valuestring);
    const cJSON *g = cJSON_GetObjectItemCaseSensitive(in, "group_ids");
    cJSON *ids = cJSON_AddArrayToObject(*out, "group_ids");
    if (!g || cJSON_IsNull(g))
        return 0;
    if (!cJSON_IsArray(g))
        return srv_fail(r, 400, "field 'group_ids' of a user must be a list of group ids");
    for (const cJSON *e = g->child; e; e = e->next) {
        if (!srv_is_int(e, 1, INT64_C(1) << 53))
            return srv_fail(r, 400, "field 'group_ids' of a user must hold integer group ids");
        cJSON *grp = obj_get(c->db, c->account, "group", (int64_t)e->valuedouble, NULL, NULL);
        if (!grp)
            return srv_fail(r, 422, "field 'group_ids' of a user names group %lld, which does not exist in this account",
                            (long long)e->valuedouble);
        cJSON_Delete(grp);
        if (refs_add(refs, (int64_t)e->valuedouble))
            return srv_fail(r, 500, "out of memory");
        cJSON_AddItemToArray(ids, cJSON_CreateNumber(e->valuedouble));
    }
    return 0;
}

static int before_delete(srv_ctx *c, int64_t id, const cJSON *body, srv_resp *r)
{
    return auth_delete_user_keys(c->db, c->account, id);
}

int users_new_key(srv_ctx *c, int64_t id, srv_resp *r)
{
    cJSON *user;
    if (res_load(c, &srv_users, id, "WRITE", &user, r))
        return r->status;
    cJSON_Delete(user);
    char key[80];
    auth_new_key(key);
    if (auth_store_key(c->db, c->account, id, key))
        return srv_fail(r, 500, "the store could not save the key: %s", sqlite3_errmsg(c->db));
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "user_id", (double)id);
    cJSON_AddStringToObject(o, "key", key);
    return srv_ok(r, 201, o);
}

const srv_resource srv_users = {"users", "user", "user", FIELDS, READONLY, validate, NULL, before_delete, NULL};
