/* What an /event call stores, as one JSON object in the event log (event_internal.h):
 *   {"r": [trait, ...],                          realizations (at the call's time)
 *    "a": [["c_key", "value"], ...],              visitor attributes
 *    "c": [[data source, "authenticated id"], ...] device links
 *    "m": [[model, baseline or 0, version], ...]  classifications set (0: removed)
 *    "e": [[model, reported or 0, server's or 0, version], ...]}  edge reports
 * Empty lists are left out. */
#include "event_internal.h"
#include "json_out.h"

#include <stdio.h>
#include <stdlib.h>

int ev_payload_encode(ev_call *c)
{
    jw w;
    jw_init(&w, 128 + 32 * c->nrealized); /* kept in memory until ingested: no room to spare */
    jw_object_begin(&w);
    if (c->nrealized) {
        jw_key(&w, "r");
        jw_array_begin(&w);
        for (size_t i = 0; i < c->nrealized; i++)
            jw_int(&w, c->realized[i].trait);
        jw_array_end(&w);
    }
    if (c->nattrs) {
        jw_key(&w, "a");
        jw_array_begin(&w);
        for (size_t i = 0; i < c->nattrs; i++) {
            jw_array_begin(&w);
            jw_string(&w, c->attrs[i].key);
            jw_string(&w, c->attrs[i].value);
            jw_array_end(&w);
        }
        jw_array_end(&w);
    }
    if (c->ncids) {
        jw_key(&w, "c");
        jw_array_begin(&w);
        for (size_t i = 0; i < c->ncids; i++) {
            jw_array_begin(&w);
            jw_int(&w, c->cids[i].ds);
            jw_string(&w, c->cids[i].cid);
            jw_array_end(&w);
        }
        jw_array_end(&w);
    }
    if (c->ncls) {
        jw_key(&w, "m");
        jw_array_begin(&w);
        for (size_t i = 0; i < c->ncls; i++) {
            jw_array_begin(&w);
            jw_int(&w, c->cls[i].model), jw_int(&w, c->cls[i].baseline), jw_int(&w, c->cls[i].version);
            jw_array_end(&w);
        }
        jw_array_end(&w);
    }
    if (c->nedge) {
        jw_key(&w, "e");
        jw_array_begin(&w);
        for (size_t i = 0; i < c->nedge; i++) {
            jw_array_begin(&w);
            jw_int(&w, c->edge[i].model), jw_int(&w, c->edge[i].reported);
            jw_int(&w, c->edge[i].server), jw_int(&w, c->edge[i].version);
            jw_array_end(&w);
        }
        jw_array_end(&w);
    }
    jw_object_end(&w);
    free(c->payload);
    c->payload = jw_take(&w, &c->payload_len);
    return c->payload ? 0 : -1;
}

static const cJSON *list(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsArray(v) ? v : NULL;
}

int ev_payload_parse(const char *text, size_t len, ev_payload *out)
{
    out->root = cJSON_ParseWithLength(text, len);
    if (!cJSON_IsObject(out->root)) {
        cJSON_Delete(out->root);
        out->root = NULL;
        return -1;
    }
    out->realized = list(out->root, "r");
    out->attrs = list(out->root, "a");
    out->cids = list(out->root, "c");
    out->cls = list(out->root, "m");
    out->edge = list(out->root, "e");
    return 0;
}

int64_t ev_payload_int(const cJSON *tuple, int i)
{
    const cJSON *v = cJSON_GetArrayItem(tuple, i);
    return cJSON_IsNumber(v) ? (int64_t)v->valuedouble : 0;
}

const char *ev_payload_text(const cJSON *tuple, int i)
{
    const cJSON *v = cJSON_GetArrayItem(tuple, i);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

size_t ev_payload_cids(const ev_payload *p, int64_t ts, vc_link *out, size_t cap)
{
    size_t n = 0;
    for (const cJSON *c = p->cids ? p->cids->child : NULL; c && n < cap; c = c->next) {
        const char *cid = ev_payload_text(c, 1);
        if (!cid)
            continue;
        out[n] = (vc_link){ev_payload_int(c, 0), ts, {0}};
        snprintf(out[n++].cid, sizeof out->cid, "%s", cid);
    }
    return n;
}

void ev_payload_free(ev_payload *p)
{
    cJSON_Delete(p->root);
    p->root = NULL;
}
