/* /api/v1/merge-rules: which profiles are merged before segments are evaluated. Exactly one
 * rule of an account is its default. */
#include "srv.h"

static const char *const FIELDS[] = {"name", "cross_device", "device", "default", NULL};
static const char *const READONLY[] = {"id", NULL};
static const char *const CROSS[] = {"none", "current_authenticated", "last_authenticated", "all_cross_device", NULL};
static const char *const DEVICE[] = {"none", "this_device", "device_graph", NULL};

static int is_default(const cJSON *o)
{
    return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "default"));
}

static int validate(srv_ctx *c, const cJSON *in, int64_t id, cJSON **out, srv_refs *refs, srv_resp *r)
{
    *out = cJSON_CreateObject();
    if (v_name(in, "merge rule", r))
        return r->status;
    cJSON_AddStringToObject(*out, "name", cJSON_GetObjectItemCaseSensitive(in, "name")->valuestring);
    if (v_enum(in, "cross_device", "merge rule", CROSS, "none", *out, r) ||
        v_enum(in, "device", "merge rule", DEVICE, "this_device", *out, r))
        return r->status;
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(in, "default");
    if (d && !cJSON_IsBool(d) && !cJSON_IsNull(d))
        return srv_fail(r, 400, "field 'default' of a merge rule must be true or false");
    if (id) {
        cJSON *old = obj_get(c->db, c->account, "merge_rule", id, NULL, NULL);
        int was = is_default(old);
        cJSON_Delete(old);
        if (was && !cJSON_IsTrue(d))
            return srv_fail(r, 422, "merge rule %lld is the account's default: make another rule the default instead",
                            (long long)id);
    }
    cJSON_AddBoolToObject(*out, "default", cJSON_IsTrue(d));
    return 0;
}

/* A new default takes the flag from the old one, in the same transaction. */
static int after_write(srv_ctx *c, int64_t id, cJSON *body, int created, srv_resp *r)
{
    if (!is_default(body))
        return 0;
    cJSON *all = obj_list(c->db, c->account, "merge_rule");
    int rc = all ? 0 : -1;
    for (cJSON *o = all ? all->child : NULL; o && !rc; o = o->next) {
        int64_t other = (int64_t)cJSON_GetObjectItemCaseSensitive(o, "id")->valuedouble;
        if (other == id || !is_default(o))
            continue;
        cJSON_DeleteItemFromObjectCaseSensitive(o, "id");
        cJSON_ReplaceItemInObjectCaseSensitive(o, "default", cJSON_CreateFalse());
        rc = obj_update(c->db, c->account, other, o) == SQLITE_DONE ? 0 : -1;
    }
    cJSON_Delete(all);
    return rc;
}

static int before_delete(srv_ctx *c, int64_t id, const cJSON *body, srv_resp *r)
{
    if (is_default(body))
        return srv_fail(r, 409, "merge rule %lld is the account's default: make another rule the default first",
                        (long long)id);
    return 0;
}

const srv_resource srv_merge_rules = {"merge-rules", "merge_rule", "merge rule", FIELDS, READONLY,
                                      validate, after_write, before_delete, NULL};
