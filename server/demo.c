/* The web demo, only with `personae serve --demo-dir DIR` (a demo convenience, never for
 * production): static files of DIR at /demo/, the personae-wasm package files (its .mjs and
 * .wasm only) at /demo/personae/, and two routes without an API key:
 *
 *   GET /demo/api/config   the demo account's id, its newest trained model (id, name, personas),
 *                          its rule-based traits (so that a page knows which trait a click
 *                          realizes) and a fresh snapshot token URL for its first destination
 *                          whose DEC labels allow the model
 *   GET /demo/api/report   that model's report (GET /api/v1/models/{id}/report)
 *
 * The demo account is the store's first account. Everything else still needs a key.
 *
 * Static paths are checked before the file system sees them: only [A-Za-z0-9._-] in segments
 * separated by single slashes, no segment starting with a dot (so no `..`), a known extension;
 * then the resolved path (symbolic links followed) must still lie under the directory. */
#include "srv.h"

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const struct {
    const char *ext, *ctype;
} TYPES[] = {
    {".html", "text/html; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".mjs", "text/javascript; charset=utf-8"},
    {".json", "application/json"},
    {".wasm", "application/wasm"},
    {".svg", "image/svg+xml"},
    {".png", "image/png"},
    {".ico", "image/x-icon"},
    {".txt", "text/plain; charset=utf-8"},
};

static const char *ctype_of(const char *path, int wasm_package)
{
    size_t n = strlen(path);
    for (size_t i = 0; i < sizeof TYPES / sizeof *TYPES; i++) {
        size_t e = strlen(TYPES[i].ext);
        if (n > e && strcmp(path + n - e, TYPES[i].ext) == 0) {
            /* the package directory gives its modules and its .wasm, nothing else */
            if (wasm_package && strcmp(TYPES[i].ext, ".mjs") && strcmp(TYPES[i].ext, ".wasm"))
                return NULL;
            return TYPES[i].ctype;
        }
    }
    return NULL;
}

static int safe_relative(const char *rel)
{
    size_t n = strlen(rel);
    if (n == 0 || n > 200)
        return 0;
    int seg_start = 1;
    for (const char *p = rel; *p; p++) {
        char ch = *p;
        if (ch == '/') {
            if (seg_start) /* an empty segment: // */
                return 0;
            seg_start = 1;
            continue;
        }
        if (seg_start && ch == '.') /* ., .., .hidden */
            return 0;
        seg_start = 0;
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '.' ||
              ch == '_' || ch == '-'))
            return 0;
    }
    return !seg_start; /* no trailing slash */
}

int demo_open(const char *demo_dir, const char *wasm_dir, const char *url, int *fd, uint64_t *size,
              const char **ctype)
{
    const char *rel, *root;
    int package = 0;
    if (strncmp(url, "/demo/personae/", 15) == 0) {
        rel = url + 15;
        root = wasm_dir;
        package = 1;
    } else if (strncmp(url, "/demo/", 6) == 0) {
        rel = url[6] ? url + 6 : "index.html";
        root = demo_dir;
    } else {
        return 404;
    }
    const char *type;
    if (!root || !safe_relative(rel) || !(type = ctype_of(rel, package)))
        return 404;
    char base[PATH_MAX], joined[PATH_MAX], real[PATH_MAX];
    if (!realpath(root, base))
        return 404;
    if (snprintf(joined, sizeof joined, "%s/%s", base, rel) >= (int)sizeof joined || !realpath(joined, real))
        return 404;
    size_t bl = strlen(base);
    if (strncmp(real, base, bl) != 0 || real[bl] != '/')
        return 404;
    int f = open(real, O_RDONLY | O_CLOEXEC);
    if (f < 0)
        return 404;
    struct stat sb;
    if (fstat(f, &sb) || !S_ISREG(sb.st_mode)) {
        close(f);
        return 404;
    }
    *fd = f;
    *ctype = type;
    *size = (uint64_t)sb.st_size;
    return 200;
}

static int64_t one_int(sqlite3 *db, const char *sql, int64_t a)
{
    sqlite3_stmt *st = store_prepare(db, sql);
    int64_t v = 0;
    if (st) {
        sqlite3_bind_int64(st, 1, a);
        if (sqlite3_step(st) == SQLITE_ROW)
            v = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
    }
    return v;
}

/* The demo account and its newest trained model; 0 or r filled. */
static int demo_model(srv_ctx *c, int64_t *model, srv_resp *r)
{
    c->account = one_int(c->db, "SELECT COALESCE(MIN(id), 0) FROM accounts WHERE id > ?", 0);
    c->user = 0;
    if (!c->account)
        return srv_fail(r, 404, "the store has no account yet: run 'personae admin init'");
    *model = one_int(c->db,
                     "SELECT m.model_id FROM model_state m JOIN snapshots s ON s.model_id = m.model_id AND "
                     "s.version = m.version WHERE m.account_id = ? ORDER BY m.model_id DESC LIMIT 1",
                     c->account);
    if (!*model)
        return srv_fail(r, 409, "the demo account has no trained model yet: train one (scripts/demo_seed.py does)");
    return 0;
}

static void add_named(srv_ctx *c, cJSON *arr, int64_t id, int with_rule)
{
    cJSON *t = obj_get(c->db, c->account, "trait", id, NULL, NULL);
    if (!t)
        t = obj_get(c->db, c->account, "segment", id, NULL, NULL);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "id", (double)id);
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(t, "name");
    cJSON_AddStringToObject(o, "name", cJSON_IsString(name) ? name->valuestring : "");
    if (with_rule) {
        const cJSON *rule = cJSON_GetObjectItemCaseSensitive(t, "rule");
        cJSON_AddStringToObject(o, "rule", cJSON_IsString(rule) ? rule->valuestring : "");
    }
    cJSON_AddItemToArray(arr, o);
    cJSON_Delete(t);
}

static int demo_config(srv_ctx *c, srv_resp *r)
{
    int64_t model;
    if (demo_model(c, &model, r))
        return r->status;
    cJSON *m = obj_get(c->db, c->account, "model", model, NULL, NULL);
    if (!m)
        return srv_fail(r, 500, "the demo model cannot be read");
    cJSON *out = cJSON_CreateObject();
    cJSON_AddNumberToObject(out, "account_id", (double)c->account);
    cJSON_AddNumberToObject(out, "model_id", (double)model);
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(m, "name");
    cJSON_AddStringToObject(out, "model_name", cJSON_IsString(name) ? name->valuestring : "");
    cJSON *personas = cJSON_AddArrayToObject(out, "personas");
    const cJSON *b;
    cJSON_ArrayForEach(b, cJSON_GetObjectItemCaseSensitive(m, "baselines"))
        if (cJSON_IsNumber(b))
            add_named(c, personas, (int64_t)b->valuedouble, 0);
    cJSON_Delete(m);
    cJSON *traits = cJSON_AddArrayToObject(out, "rule_traits");
    cJSON *all = obj_list(c->db, c->account, "trait");
    const cJSON *t;
    cJSON_ArrayForEach(t, all)
    {
        const cJSON *kind = cJSON_GetObjectItemCaseSensitive(t, "kind"), *id = cJSON_GetObjectItemCaseSensitive(t, "id");
        if (cJSON_IsString(kind) && strcmp(kind->valuestring, "rule") == 0 && cJSON_IsNumber(id))
            add_named(c, traits, (int64_t)id->valuedouble, 1);
    }
    cJSON_Delete(all);
    /* a token for the first destination that may receive the model */
    cJSON *snapshot = cJSON_CreateNull();
    cJSON *dests = obj_list(c->db, c->account, "destination");
    const cJSON *d;
    cJSON_ArrayForEach(d, dests)
    {
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(d, "id");
        if (!cJSON_IsNumber(id))
            continue;
        char dest[32];
        snprintf(dest, sizeof dest, "%lld", (long long)id->valuedouble);
        srv_req tq = {"POST", "", NULL, NULL, dest, NULL, NULL, 0, NULL, NULL, NULL};
        srv_resp tr = {0};
        if (snap_token_new(c, model, &tq, &tr) == 0 && tr.status == 201 && tr.json) {
            cJSON_Delete(snapshot);
            snapshot = tr.json;
            break;
        }
        cJSON_Delete(tr.json);
    }
    cJSON_Delete(dests);
    cJSON_AddItemToObject(out, "snapshot", snapshot);
    return srv_ok(r, 200, out);
}

void demo_api(srv_ctx *c, const srv_req *q, srv_resp *r)
{
    if (strcmp(q->method, "GET") != 0) {
        srv_fail(r, 405, "method %.10s is not allowed on %.200s (allowed: GET)", q->method, q->path);
        return;
    }
    int64_t model;
    if (strcmp(q->path, "/demo/api/config") == 0)
        demo_config(c, r);
    else if (strcmp(q->path, "/demo/api/report") == 0) {
        if (!demo_model(c, &model, r))
            models_report(c, model, r);
    } else
        srv_fail(r, 404, "no route %.200s: the demo API has /demo/api/config and /demo/api/report", q->path);
}
