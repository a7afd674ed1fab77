/* /api/v1/destinations: where segments go, with the DEC labels of what the destination does,
 * and the segments mapped to it (segment_ids; mapping needs MAP_TO_DESTINATION on each). */
#include "srv.h"

static const char *const FIELDS[] = {"name", "type", "dec_labels", "segment_ids", NULL};
static const char *const READONLY[] = {"id", NULL};
static const char *const TYPES[] = {"edge", "server", "export", NULL};

static int validate(srv_ctx *c, const cJSON *in, int64_t id, cJSON **out, srv_refs *refs, srv_resp *r)
{
    *out = cJSON_CreateObject();
    if (v_name(in, "destination", r))
        return r->status;
    cJSON_AddStringToObject(*out, "name", cJSON_GetObjectItemCaseSensitive(in, "name")->valuestring);
    if (v_enum(in, "type", "destination", TYPES, NULL, *out, r) ||
        v_labels(in, "dec_labels", "destination", *out, NULL, r))
        return r->status;
    const cJSON *segs = cJSON_GetObjectItemCaseSensitive(in, "segment_ids");
    cJSON *ids = cJSON_AddArrayToObject(*out, "segment_ids");
    if (!segs || cJSON_IsNull(segs))
        return 0;
    if (!cJSON_IsArray(segs))
        return srv_fail(r, 400, "field 'segment_ids' of a destination must be a list of segment ids");
    for (const cJSON *e = segs->child; e; e = e->next) {
        if (!srv_is_int(e, 1, INT64_C(1) << 53))
            return srv_fail(r, 400, "field 'segment_ids' of a destination must hold integer segment ids");
        int64_t sid = (int64_t)e->valuedouble;
        cJSON *s = obj_get(c->db, c->account, "segment", sid, NULL, NULL);
        if (!s)
            return srv_fail(r, 422, "field 'segment_ids' of a destination names segment %lld, which does not exist in "
                                    "this account", (long long)sid);
        cJSON_Delete(s);
        if (!perm_allows(c, "segment", sid, "MAP_TO_DESTINATION"))
            return srv_fail(r, 403, "you may not map segment %lld to a destination: your groups have no "
                                    "MAP_TO_DESTINATION permission on it", (long long)sid);
        if (refs_add(refs, sid))
            return srv_fail(r, 500, "out of memory");
        cJSON_AddItemToArray(ids, cJSON_CreateNumber((double)sid));
    }
    return 0;
}

const srv_resource srv_destinations = {"destinations", "destination", "destination", FIELDS, READONLY,
                                       validate, NULL, NULL, NULL};
