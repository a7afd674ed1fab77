/* /api/v1/destinations: where segments go, with the DEC labels of what the destination does. */
#include "srv.h"

static const char *const FIELDS[] = {"name", "type", "dec_labels", NULL};
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
    return 0;
}

const srv_resource srv_destinations = {"destinations", "destination", "destination", FIELDS, READONLY,
                                       validate, NULL, NULL, NULL};
