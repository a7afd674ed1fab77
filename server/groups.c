/* /api/v1/groups: role groups, which hold every permission. */
#include "srv.h"

static const char *const FIELDS[] = {"name", "permissions", NULL};
static const char *const READONLY[] = {"id", NULL};

static int validate(srv_ctx *c, const cJSON *in, int64_t id, cJSON **out, srv_refs *refs, srv_resp *r)
{
    *out = cJSON_CreateObject();
    if (v_name(in, "group", r))
        return r->status;
    cJSON_AddStringToObject(*out, "name", cJSON_GetObjectItemCaseSensitive(in, "name")->valuestring);
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(in, "permissions");
    if (!p || cJSON_IsNull(p)) {
        cJSON_AddItemToObject(*out, "permissions", cJSON_CreateArray());
        return 0;
    }
    if (perm_check_permissions(p, r))
        return r->status;
    cJSON_AddItemToObject(*out, "permissions", cJSON_Duplicate(p, 1));
    return 0;
}

const srv_resource srv_groups = {"groups", "group", "group", FIELDS, READONLY, validate, NULL, NULL, NULL};
