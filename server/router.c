/* Routes /api/v1/... to the resources, after the API key check. */
#include "srv.h"

#include <stdlib.h>
#include <string.h>

static const srv_resource *const RESOURCES[] = {&srv_data_sources, &srv_traits, &srv_segments, &srv_destinations,
                                                &srv_merge_rules, &srv_groups, &srv_users, &srv_models};

static int method_not_allowed(const srv_req *q, const char *allowed, srv_resp *r)
{
    return srv_fail(r, 405, "method %.10s is not allowed on %.200s (allowed: %s)", q->method, q->path, allowed);
}

static int parse_id(const char *s, size_t len, int64_t *id)
{
    if (len == 0 || len > 15)
        return -1;
    for (size_t i = 0; i < len; i++)
        if (s[i] < '0' || s[i] > '9')
            return -1;
    *id = strtoll(s, NULL, 10);
    return *id > 0 ? 0 : -1;
}

void srv_route(srv_ctx *c, const srv_req *q, srv_resp *r)
{
    const char *prefix = "/api/v1/";
    if (strncmp(q->path, prefix, strlen(prefix)) != 0) {
        srv_fail(r, 404, "no route %.200s: the API lives under /api/v1/", q->path);
        return;
    }
    if (auth_lookup(c->db, q->auth, &c->account, &c->user)) {
        srv_fail(r, 401, "a valid API key is required: send the header 'Authorization: Bearer <key>'");
        return;
    }
    /* split the rest into at most 3 segments */
    const char *seg[4];
    size_t len[4], n = 0;
    const char *p = q->path + strlen(prefix);
    while (*p && n < 4) {
        const char *slash = strchr(p, '/');
        seg[n] = p;
        len[n] = slash ? (size_t)(slash - p) : strlen(p);
        n++;
        p = slash ? slash + 1 : p + strlen(p);
    }
    if (n == 0 || n > 3 || *p) {
        srv_fail(r, 404, "no route %.200s", q->path);
        return;
    }
    int is_get = strcmp(q->method, "GET") == 0, is_post = strcmp(q->method, "POST") == 0;
    int is_put = strcmp(q->method, "PUT") == 0, is_delete = strcmp(q->method, "DELETE") == 0;
    if (len[0] == 7 && strncmp(seg[0], "onboard", 7) == 0 && n == 1) {
        if (!is_post)
            method_not_allowed(q, "POST", r);
        else
            onboard_route(c, q, r);
        return;
    }
    const srv_resource *res = NULL;
    for (size_t i = 0; i < sizeof RESOURCES / sizeof *RESOURCES; i++)
        if (strlen(RESOURCES[i]->path) == len[0] && strncmp(RESOURCES[i]->path, seg[0], len[0]) == 0)
            res = RESOURCES[i];
    if (!res) {
        srv_fail(r, 404, "no route %.200s", q->path);
        return;
    }
    if (n == 1) {
        if (is_get)
            res_list(c, res, r);
        else if (is_post)
            res_create(c, res, q, r);
        else
            method_not_allowed(q, "GET, POST", r);
        return;
    }
    int64_t id;
    if (parse_id(seg[1], len[1], &id)) {
        srv_fail(r, 404, "no %s with id '%.*s' in this account", res->label, (int)(len[1] > 40 ? 40 : len[1]), seg[1]);
        return;
    }
    if (n == 2) {
        if (is_get)
            res_get(c, res, id, r);
        else if (is_put)
            res_put(c, res, id, q, r);
        else if (is_delete)
            res_delete(c, res, id, r);
        else
            method_not_allowed(q, "GET, PUT, DELETE", r);
        return;
    }
#define ACTION(name) (len[2] == strlen(name) && strncmp(seg[2], name, len[2]) == 0)
    if (res == &srv_users && ACTION("keys")) {
        if (is_post)
            users_new_key(c, id, r);
        else
            method_not_allowed(q, "POST", r);
    } else if (res == &srv_models && ACTION("clone")) {
        if (is_post)
            models_clone(c, id, q, r);
        else
            method_not_allowed(q, "POST", r);
    } else if (res == &srv_models && ACTION("train")) {
        if (is_post)
            models_train(c, id, q, r);
        else
            method_not_allowed(q, "POST", r);
    } else if (res == &srv_models && ACTION("snapshot")) {
        if (is_get)
            snap_get(c, id, q, r);
        else
            method_not_allowed(q, "GET", r);
    } else if (res == &srv_models && ACTION("snapshot-token")) {
        if (is_post)
            snap_token_new(c, id, q, r);
        else
            method_not_allowed(q, "POST", r);
    } else if (res == &srv_destinations && ACTION("export")) {
        if (is_get)
            export_destination(c, id, q, r);
        else
            method_not_allowed(q, "GET", r);
    } else if (res == &srv_models && ACTION("report")) {
        if (is_get)
            models_report(c, id, r);
        else
            method_not_allowed(q, "GET", r);
    } else {
        srv_fail(r, 404, "no route %.200s", q->path);
    }
#undef ACTION
}
