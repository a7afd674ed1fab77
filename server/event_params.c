/* The parameters of an /event call (event_internal.h): the query string, a form-encoded body or
 * a JSON object. Keys and values point into the request (http_request.h) or into buffers
 * the params own; nothing is copied per parameter. */
#include "event_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void add(ev_params *p, const char *k, size_t klen, const char *v, size_t vlen)
{
    if (p->n == EV_MAX_PARAMS) {
        p->too_many = 1;
        return;
    }
    if (klen == 0 || klen > EV_MAX_KEY || vlen > EV_MAX_VALUE)
        return; /* not a signal any rule could use */
    p->items[p->n++] = (ev_param){k, v, klen, vlen};
}

static int add_pair(void *ctx, const http_arg *pair)
{
    if (memchr(pair->key, 0, pair->klen) || memchr(pair->value, 0, pair->vlen))
        return -1; /* (as in a query string: see http_request.c) */
    add(ctx, pair->key, pair->klen, pair->value, pair->vlen);
    return 0; /* (past the limit, add notes it and takes no more) */
}

void ev_params_query(ev_params *p, const http_request_info *req)
{
    for (size_t i = 0; i < req->nargs; i++)
        add(p, req->args[i].key, req->args[i].klen, req->args[i].value, req->args[i].vlen);
    if (req->too_many_args)
        p->too_many = 1;
}

static int json_body(ev_params *p, const char *body, size_t len, const char **why)
{
    p->json = cJSON_ParseWithLength(body, len);
    if (!cJSON_IsObject(p->json))
        return *why = "the request body is neither a JSON object nor form-encoded signals", -1;
    size_t count = (size_t)cJSON_GetArraySize(p->json);
    p->numbers = malloc(count * 32 + 1);
    if (!p->numbers)
        return *why = "out of memory", -1;
    char *num = p->numbers;
    for (const cJSON *f = p->json->child; f; f = f->next) {
        if (cJSON_IsString(f)) {
            add(p, f->string, strlen(f->string), f->valuestring, strlen(f->valuestring));
        } else if (cJSON_IsNumber(f) || cJSON_IsBool(f)) {
            int n = cJSON_IsBool(f)                                      ? snprintf(num, 32, "%s", cJSON_IsTrue(f) ? "true" : "false")
                    : f->valuedouble == (double)(int64_t)f->valuedouble ? snprintf(num, 32, "%lld", (long long)f->valuedouble)
                                                                         : snprintf(num, 32, "%.17g", f->valuedouble);
            add(p, f->string, strlen(f->string), num, (size_t)n);
            num += n + 1;
        } else {
            return *why = "signal values in a JSON body must be strings, numbers or booleans", -1;
        }
    }
    return 0;
}

int ev_params_body(ev_params *p, const char *body, size_t len, const char **why)
{
    size_t i = 0;
    while (i < len && (body[i] == ' ' || body[i] == '\n' || body[i] == '\r' || body[i] == '\t'))
        i++;
    if (i == len)
        return 0;
    if (body[i] == '{')
        return json_body(p, body, len, why);
    p->text = malloc(len + 1);
    if (!p->text)
        return *why = "out of memory", -1;
    memcpy(p->text, body, len);
    p->text[len] = '\0';
    if (http_form_split(p->text, add_pair, p))
        return *why = "a signal in the request body has an encoded NUL byte (%00)", -1;
    return 0;
}

void ev_params_free(ev_params *p)
{
    free(p->text);
    free(p->numbers);
    cJSON_Delete(p->json);
    p->text = p->numbers = NULL;
    p->json = NULL;
    p->n = 0;
}
