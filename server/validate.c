/* Field checks shared by the resources: every failure names the field and what it expects. */
#include "srv.h"

#include <string.h>

/* The NULL-terminated `items` as "a, b, c" into out (cut to cap), for error messages. */
static void join(const char *const *items, char *out, size_t cap)
{
    out[0] = '\0';
    for (size_t i = 0; items[i]; i++) {
        if (i)
            strncat(out, ", ", cap - strlen(out) - 1);
        strncat(out, items[i], cap - strlen(out) - 1);
    }
}

int v_known_fields(const cJSON *in, const char *label, const char *const *fields, const char *const *readonly,
                   srv_resp *r)
{
    for (const cJSON *f = in->child; f; f = f->next) {
        for (const cJSON *g = in->child; g != f; g = g->next)
            if (strcmp(g->string, f->string) == 0)
                return srv_fail(r, 400, "field '%.100s' appears twice in the %s", f->string, label);
        int known = 0;
        for (size_t i = 0; fields[i] && !known; i++)
            known = strcmp(fields[i], f->string) == 0;
        for (size_t i = 0; readonly && readonly[i] && !known; i++)
            known = strcmp(readonly[i], f->string) == 0;
        if (!known) {
            char list[512];
            join(fields, list, sizeof list);
            return srv_fail(r, 400, "unknown field '%.100s' for a %s (known fields: %s)", f->string, label, list);
        }
    }
    return 0;
}

int v_name(const cJSON *in, const char *label, srv_resp *r)
{
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(in, "name");
    if (!n)
        return srv_fail(r, 400, "field 'name' is required for a %s", label);
    if (!cJSON_IsString(n))
        return srv_fail(r, 400, "field 'name' of a %s must be a string", label);
    size_t len = strlen(n->valuestring);
    if (len == 0 || len > SRV_MAX_NAME)
        return srv_fail(r, 400, "field 'name' of a %s must have 1 to %d bytes, got %zu", label, SRV_MAX_NAME, len);
    for (const unsigned char *p = (const unsigned char *)n->valuestring; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return srv_fail(r, 400, "field 'name' of a %s must not contain control characters", label);
    return 0;
}

int v_enum(const cJSON *in, const char *field, const char *label, const char *const *values, const char *def,
           cJSON *out, srv_resp *r)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(in, field);
    const char *pick = def;
    if (v && !cJSON_IsNull(v)) {
        pick = NULL;
        for (size_t i = 0; cJSON_IsString(v) && values[i]; i++)
            if (strcmp(values[i], v->valuestring) == 0)
                pick = values[i];
    }
    if (!pick) {
        char list[256];
        join(values, list, sizeof list);
        return v ? srv_fail(r, 400, "field '%s' of a %s must be one of: %s", field, label, list)
                 : srv_fail(r, 400, "field '%s' is required for a %s (one of: %s)", field, label, list);
    }
    cJSON_AddStringToObject(out, field, pick);
    return 0;
}

int v_labels(const cJSON *in, const char *field, const char *label, cJSON *out, uint32_t *bits, srv_resp *r)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(in, field);
    uint32_t set = 0;
    if (v && !cJSON_IsNull(v)) {
        if (!cJSON_IsArray(v))
            return srv_fail(r, 400, "field '%s' of a %s must be a list of DEC labels", field, label);
        for (const cJSON *e = v->child; e; e = e->next) {
            uint32_t b = cJSON_IsString(e) ? pn_dec_label_bit(e->valuestring, strlen(e->valuestring)) : 0;
            if (!b)
                return srv_fail(r, 400,
                                "field '%s' of a %s has an unknown DEC label%s%.60s%s (labels: pii, onsite_advertising, "
                                "offsite_advertising, onsite_personalization)",
                                field, label, cJSON_IsString(e) ? " '" : "",
                                cJSON_IsString(e) ? e->valuestring : "", cJSON_IsString(e) ? "'" : "");
            set |= b;
        }
    }
    cJSON_AddItemToObject(out, field, srv_labels_json(set));
    if (bits)
        *bits = set;
    return 0;
}

uint32_t labels_from_json(const cJSON *arr)
{
    uint32_t set = 0;
    for (const cJSON *e = cJSON_IsArray(arr) ? arr->child : NULL; e; e = e->next)
        if (cJSON_IsString(e))
            set |= pn_dec_label_bit(e->valuestring, strlen(e->valuestring));
    return set;
}

int v_ref(srv_ctx *c, const cJSON *in, const char *field, const char *label, const char *type, const char *type_label,
          int required, int64_t *id, srv_resp *r)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(in, field);
    *id = 0;
    if (!v || cJSON_IsNull(v)) {
        if (required)
            return srv_fail(r, 400, "field '%s' is required for a %s (the id of a %s)", field, label, type_label);
        return 0;
    }
    if (!srv_is_int(v, 1, INT64_C(1) << 53))
        return srv_fail(r, 400, "field '%s' of a %s must be the integer id of a %s", field, label, type_label);
    cJSON *o = obj_get(c->db, c->account, type, (int64_t)v->valuedouble, NULL, NULL);
    if (!o)
        return srv_fail(r, 422, "field '%s' of a %s names %s %lld, which does not exist in this account", field, label,
                        type_label, (long long)v->valuedouble);
    cJSON_Delete(o);
    *id = (int64_t)v->valuedouble;
    return 0;
}
