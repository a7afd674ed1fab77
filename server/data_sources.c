/* /api/v1/data-sources: where traits come from, with their id type and DEC labels. */
#include "srv.h"

static const char *const FIELDS[] = {"name", "id_type", "dec_labels", NULL};
static const char *const READONLY[] = {"id", NULL};
static const char *const ID_TYPES[] = {"device", "cross_device", NULL};

static int validate(srv_ctx *c, const cJSON *in, int64_t id, cJSON **out, srv_refs *refs, srv_resp *r)
{
    *out = cJSON_CreateObject();
    if (v_name(in, "data source", r))
        return r->status;
    cJSON_AddStringToObject(*out, "name", cJSON_GetObjectItemCaseSensitive(in, "name")->valuestring);
    if (v_enum(in, "id_type", "data source", ID_TYPES, "device", *out, r) ||
        v_labels(in, "dec_labels", "data source", *out, NULL, r))
        return r->status;
    return 0;
}

const srv_resource srv_data_sources = {"data-sources", "data_source", "data source", FIELDS, READONLY,
                                       validate, NULL, NULL, NULL};
