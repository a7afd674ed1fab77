/* Role-based access: permissions belong to groups; a user has those of their groups; the
 * account's admin key has every permission. */
#include "srv.h"

#include <string.h>

static const char *const OBJECT_TYPES[] = {"data_source", "trait", "segment", "destination", "merge_rule",
                                           "group", "user", "model", NULL};
static const char *const ACTIONS[] = {"READ", "WRITE", "CREATE", "DELETE", "MAP_TO_MODELS", "MAP_TO_DESTINATION", NULL};

static int in_list(const char *const *list, const char *s)
{
    for (size_t i = 0; list[i]; i++)
        if (strcmp(list[i], s) == 0)
            return 1;
    return 0;
}

int perm_check_permissions(const cJSON *perms, srv_resp *r)
{
    if (!cJSON_IsArray(perms))
        return srv_fail(r, 400, "field 'permissions' of a group must be a list of {\"object_type\", \"object_id\", \"action\"}");
    int i = 0;
    for (const cJSON *p = perms->child; p; p = p->next, i++) {
        if (!cJSON_IsObject(p))
            return srv_fail(r, 400, "permissions[%d] of a group must be an object", i);
        for (const cJSON *f = p->child; f; f = f->next)
            if (strcmp(f->string, "object_type") && strcmp(f->string, "object_id") && strcmp(f->string, "action"))
                return srv_fail(r, 400, "permissions[%d] has an unknown field '%.100s' (known: object_type, object_id, action)",
                                i, f->string);
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(p, "object_type");
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(p, "object_id");
        const cJSON *a = cJSON_GetObjectItemCaseSensitive(p, "action");
        if (!cJSON_IsString(t) || !in_list(OBJECT_TYPES, t->valuestring))
            return srv_fail(r, 400, "permissions[%d].object_type must be one of: data_source, trait, segment, "
                                    "destination, merge_rule, group, user, model", i);
        if (!(cJSON_IsString(id) && strcmp(id->valuestring, "*") == 0) && !srv_is_int(id, 1, INT64_C(1) << 53))
            return srv_fail(r, 400, "permissions[%d].object_id must be an object id or \"*\"", i);
        if (!cJSON_IsString(a) || !in_list(ACTIONS, a->valuestring))
            return srv_fail(r, 400, "permissions[%d].action must be one of: READ, WRITE, CREATE, DELETE, "
                                    "MAP_TO_MODELS, MAP_TO_DESTINATION", i);
    }
    return 0;
}

static void load(srv_ctx *c)
{
    c->perms = cJSON_CreateArray();
    cJSON *user = obj_get(c->db, c->account, "user", c->user, NULL, NULL);
    const cJSON *groups = cJSON_GetObjectItemCaseSensitive(user, "group_ids");
    for (const cJSON *g = cJSON_IsArray(groups) ? groups->child : NULL; g; g = g->next) {
        if (!cJSON_IsNumber(g))
            continue;
        cJSON *group = obj_get(c->db, c->account, "group", (int64_t)g->valuedouble, NULL, NULL);
        const cJSON *perms = cJSON_GetObjectItemCaseSensitive(group, "permissions");
        for (const cJSON *p = cJSON_IsArray(perms) ? perms->child : NULL; p; p = p->next)
            cJSON_AddItemToArray(c->perms, cJSON_Duplicate(p, 1));
        cJSON_Delete(group);
    }
    cJSON_Delete(user);
}

int perm_allows(srv_ctx *c, const char *type, int64_t id, const char *action)
{
    if (c->user == 0)
        return 1;
    if (!c->perms)
        load(c);
    for (const cJSON *p = c->perms->child; p; p = p->next) {
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(p, "object_type");
        const cJSON *o = cJSON_GetObjectItemCaseSensitive(p, "object_id");
        const cJSON *a = cJSON_GetObjectItemCaseSensitive(p, "action");
        if (!cJSON_IsString(t) || !cJSON_IsString(a) || strcmp(t->valuestring, type) || strcmp(a->valuestring, action))
            continue;
        if (id == SRV_ANY || cJSON_IsString(o) || (cJSON_IsNumber(o) && (int64_t)o->valuedouble == id))
            return 1;
    }
    return 0;
}
