/* Responses, error bodies and small JSON helpers shared by the handlers. */
#include "srv.h"
#include "json_out.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <time.h>

int srv_fail(srv_resp *r, int status, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    cJSON_Delete(r->json);
    r->json = cJSON_CreateObject();
    cJSON_AddStringToObject(r->json, "error", msg);
    r->status = status;
    return status;
}

int srv_ok(srv_resp *r, int status, cJSON *json)
{
    cJSON_Delete(r->json);
    r->json = json;
    r->status = status;
    return 0;
}

void srv_ctx_release(srv_ctx *c)
{
    cJSON_Delete(c->perms);
    c->perms = NULL;
}

int srv_parse_object(const srv_req *q, cJSON **out, srv_resp *r)
{
    *out = NULL;
    if (!q->body || q->body_len == 0)
        return srv_fail(r, 400, "the request body is empty: send a JSON object");
    const char *end = NULL;
    cJSON *j = cJSON_ParseWithLengthOpts(q->body, q->body_len, &end, 0);
    if (!j) {
        size_t at = end && end >= q->body ? (size_t)(end - q->body) : 0;
        return srv_fail(r, 400, "the request body is not valid JSON (at byte %zu)", at);
    }
    /* only whitespace may follow the object */
    for (const char *p = end; p && p < q->body + q->body_len; p++)
        if (*p != ' ' && *p != '\n' && *p != '\r' && *p != '\t') {
            cJSON_Delete(j);
            return srv_fail(r, 400, "the request body has extra text after the JSON object (at byte %zu)",
                            (size_t)(p - q->body));
        }
    if (!cJSON_IsObject(j)) {
        cJSON_Delete(j);
        return srv_fail(r, 400, "the request body must be a JSON object");
    }
    *out = j;
    return 0;
}

cJSON *srv_labels_json(uint32_t labels)
{
    cJSON *arr = cJSON_CreateArray();
    for (uint32_t b = 1; b <= PN_DEC_ALL; b <<= 1)
        if (labels & b)
            cJSON_AddItemToArray(arr, cJSON_CreateString(pn_dec_label_name(b)));
    return arr;
}

int64_t srv_now(void)
{
    return (int64_t)time(NULL);
}

int64_t srv_num(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(v) ? (int64_t)v->valuedouble : 0;
}

const char *srv_str(const cJSON *o, const char *k, const char *def)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : def;
}

size_t srv_format_i64(int64_t v, char out[21])
{
    char *p = out;
    if (v < 0)
        *p++ = '-';
    p = jw__put_u64(p, v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v); /* (the JSON writer's digits) */
    *p = '\0';
    return (size_t)(p - out);
}

int srv_is_int(const cJSON *v, int64_t lo, int64_t hi)
{
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble))
        return 0;
    double d = v->valuedouble;
    if (d < (double)lo || d > (double)hi || d != floor(d))
        return 0;
    return 1;
}
