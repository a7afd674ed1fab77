/* Snapshots for edge destinations: GET /api/v1/models/{id}/snapshot?destination= (API key),
 * snapshot tokens (POST …/snapshot-token) and GET /snapshot/{token} (no key: what a page uses).
 *
 * Every snapshot that leaves the server is the public form (pn_snapshot_save_public): no trait
 * realized by fewer than k training visitors, and — as training already guarantees — no trait
 * whose data source carries a DEC label outside the model's union. A snapshot holds no visitor
 * id. It goes only to a destination whose DEC labels share none with the model's union.
 *
 * A token is "<account>.<user>.<model>.<destination>.<expiry>.<mac>", the mac being HMAC-SHA256
 * under the store's key of "pn-snapshot-token-v2|" and the five numbers, in hex (user 0: the
 * account's admin key): it opens that one model for that one destination until it expires, and
 * every check is made again when it is used, as that user: the user may have lost READ on the
 * model, or the destination's labels may have changed since. */
#include "srv.h"

#include <errno.h>
#include <nettle/hmac.h>
#include <nettle/sha2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int snap_secret_load(sqlite3 *db, uint8_t secret[32], char *err, size_t errcap)
{
    uint8_t fresh[32];
    if (srv_random(fresh, sizeof fresh))
        return snprintf(err, errcap, "getrandom failed: %s", strerror(errno)), -1;
    /* kept once: a restart keeps the tokens it handed out valid */
    sqlite3_stmt *st = store_prepare(db, "INSERT OR IGNORE INTO secrets(name, value) VALUES('snapshot_token', ?)");
    int rc = st ? (sqlite3_bind_blob(st, 1, fresh, sizeof fresh, SQLITE_STATIC), sqlite3_step(st)) : SQLITE_ERROR;
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return snprintf(err, errcap, "store: cannot keep the token key: %s", sqlite3_errmsg(db)), -1;
    st = store_prepare(db, "SELECT value FROM secrets WHERE name = 'snapshot_token'");
    int ok = st && sqlite3_step(st) == SQLITE_ROW && sqlite3_column_bytes(st, 0) == 32;
    if (ok)
        memcpy(secret, sqlite3_column_blob(st, 0), 32);
    sqlite3_finalize(st);
    return ok ? 0 : (snprintf(err, errcap, "store: the token key is unreadable"), -1);
}

/* Data source ds's DEC labels into *l (none for ds 0); -1 when it cannot be read. */
static int source_labels(sqlite3 *db, int64_t account, int64_t ds, uint32_t *l)
{
    if (!ds)
        return 0;
    cJSON *o = obj_get(db, account, "data_source", ds, NULL, NULL);
    *l |= labels_from_json(cJSON_GetObjectItemCaseSensitive(o, "dec_labels"));
    cJSON_Delete(o);
    return o ? 0 : -1;
}

int segment_labels(sqlite3 *db, int64_t account, const cJSON *segment, uint32_t *labels)
{
    *labels = 0;
    int64_t model = srv_num(segment, "model_id");
    if (model) {
        cJSON *m = obj_get(db, account, "model", model, NULL, NULL);
        *labels = labels_from_json(cJSON_GetObjectItemCaseSensitive(m, "dec_labels"));
        cJSON_Delete(m);
        return m ? 0 : -1;
    }
    if (source_labels(db, account, srv_num(segment, "data_source_id"), labels))
        return -1;
    /* the traits a segment names are its refs (with its data source) */
    sqlite3_stmt *st = store_prepare(db, "SELECT o.body FROM refs r JOIN objects o ON o.id = r.to_id WHERE r.from_id = ? "
                                         "AND o.type = 'trait'");
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, srv_num(segment, "id"));
    int rc, ok = 1;
    while (ok && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        cJSON *t = cJSON_Parse((const char *)sqlite3_column_text(st, 0));
        ok = t && source_labels(db, account, srv_num(t, "data_source_id"), labels) == 0;
        cJSON_Delete(t);
    }
    sqlite3_finalize(st);
    return ok && rc == SQLITE_DONE ? 0 : -1;
}

static void labels_text(uint32_t labels, char *out, size_t cap)
{
    out[0] = '\0';
    for (uint32_t b = 1; b <= PN_DEC_ALL; b <<= 1)
        if (labels & b) {
            if (out[0])
                strncat(out, ", ", cap - strlen(out) - 1);
            strncat(out, pn_dec_label_name(b), cap - strlen(out) - 1);
        }
}

/* The model (must exist), the destination (must exist) and their DEC check: 0, or r filled. */
static int check_pair(srv_ctx *c, int64_t model, const char *dest_text, int64_t *dest, srv_resp *r)
{
    if (!dest_text || !*dest_text)
        return srv_fail(r, 400, "the query argument 'destination' is required: the id of the destination that will use "
                                "the snapshot");
    char *end;
    long long d = strtoll(dest_text, &end, 10);
    if (*end || d <= 0)
        return srv_fail(r, 400, "the query argument 'destination' must be a destination id, got '%.40s'", dest_text);
    cJSON *dst = obj_get(c->db, c->account, "destination", d, NULL, NULL);
    if (!dst)
        return srv_fail(r, 404, "no destination with id %lld in this account", d);
    cJSON *m = obj_get(c->db, c->account, "model", model, NULL, NULL);
    uint32_t dl = labels_from_json(cJSON_GetObjectItemCaseSensitive(dst, "dec_labels"));
    uint32_t ml = labels_from_json(cJSON_GetObjectItemCaseSensitive(m, "dec_labels"));
    cJSON_Delete(dst);
    cJSON_Delete(m);
    if (dl & ml) {
        char both[128];
        labels_text(dl & ml, both, sizeof both);
        return srv_fail(r, 403,
                        "destination %lld may not receive model %lld: the model's data export controls forbid %s, "
                        "which the destination does",
                        d, (long long)model, both);
    }
    *dest = d;
    return 0;
}

/* The newest snapshot of the model in public form, with its ETag; or r filled. */
static int public_snapshot(srv_ctx *c, int64_t model, const srv_req *q, srv_resp *r)
{
    sqlite3_stmt *st = store_prepare(c->db, "SELECT s.version, s.bytes FROM snapshots s JOIN model_state m ON "
                                            "m.model_id = s.model_id AND m.version = s.version WHERE s.model_id = ?");
    if (!st)
        return srv_fail(r, 500, "the store cannot read snapshots: %s", sqlite3_errmsg(c->db));
    sqlite3_bind_int64(st, 1, model);
    if (sqlite3_step(st) != SQLITE_ROW) {
        sqlite3_finalize(st);
        return srv_fail(r, 409, "model %lld has no snapshot yet: train it first", (long long)model);
    }
    uint32_t k = c->cfg ? c->cfg->min_support : SRV_DEFAULT_MIN_SUPPORT;
    int64_t version = sqlite3_column_int64(st, 0);
    pn_snapshot *s = NULL;
    pn_error err;
    void *bytes = NULL;
    size_t len = 0;
    pn_status ps = pn_snapshot_load(sqlite3_column_blob(st, 1), (size_t)sqlite3_column_bytes(st, 1), &s, &err);
    sqlite3_finalize(st);
    if (ps == PN_OK)
        ps = pn_snapshot_save_public(s, k, &bytes, &len, &err);
    pn_snapshot_free(s);
    if (ps != PN_OK)
        return srv_fail(r, 500, "the snapshot of model %lld cannot be prepared: %s", (long long)model, err.message);
    /* the ETag names the bytes: a digest, so that a change of k or of the format changes it too */
    uint8_t h[SHA256_DIGEST_SIZE];
    struct sha256_ctx sh;
    sha256_init(&sh);
    sha256_update(&sh, len, bytes);
    sha256_digest(&sh, sizeof h, h);
    int n = snprintf(r->etag, sizeof r->etag, "\"m%lld-v%lld-", (long long)model, (long long)version);
    for (size_t i = 0; i < 12; i++)
        n += snprintf(r->etag + n, sizeof r->etag - (size_t)n, "%02x", h[i]);
    snprintf(r->etag + n, sizeof r->etag - (size_t)n, "\"");
    if (q->if_none_match && (strstr(q->if_none_match, r->etag) || strcmp(q->if_none_match, "*") == 0)) {
        pn_bytes_free(bytes);
        cJSON_Delete(r->json);
        r->json = NULL;
        r->status = 304;
        return 0;
    }
    r->bin = malloc(len ? len : 1);
    if (!r->bin) {
        pn_bytes_free(bytes);
        return srv_fail(r, 500, "out of memory");
    }
    memcpy(r->bin, bytes, len);
    r->bin_len = len;
    r->ctype = "application/octet-stream";
    pn_bytes_free(bytes);
    cJSON_Delete(r->json);
    r->json = NULL;
    r->status = 200;
    return 0;
}

/* The caller may READ the model, and the destination may receive it (DEC labels). */
static int readable_pair(srv_ctx *c, int64_t id, const srv_req *q, int64_t *dest, srv_resp *r)
{
    cJSON *m;
    if (res_load(c, &srv_models, id, "READ", &m, r))
        return r->status;
    cJSON_Delete(m);
    return check_pair(c, id, q->destination, dest, r);
}

int snap_get(srv_ctx *c, int64_t id, const srv_req *q, srv_resp *r)
{
    int64_t dest;
    if (readable_pair(c, id, q, &dest, r))
        return r->status;
    return public_snapshot(c, id, q, r);
}

static void token_mac(const uint8_t secret[32], const long long f[5], char hex[2 * SHA256_DIGEST_SIZE + 1])
{
    char msg[200];
    int n = snprintf(msg, sizeof msg, "pn-snapshot-token-v2|%lld|%lld|%lld|%lld|%lld", f[0], f[1], f[2], f[3], f[4]);
    struct hmac_sha256_ctx h;
    uint8_t mac[SHA256_DIGEST_SIZE];
    hmac_sha256_set_key(&h, 32, secret);
    hmac_sha256_update(&h, (size_t)n, (const uint8_t *)msg);
    hmac_sha256_digest(&h, sizeof mac, mac);
    for (size_t i = 0; i < sizeof mac; i++)
        snprintf(hex + 2 * i, 3, "%02x", mac[i]);
}

int snap_token_new(srv_ctx *c, int64_t id, const srv_req *q, srv_resp *r)
{
    c->unchanged = 1; /* a POST that only signs: /event has nothing to rebuild */
    int64_t dest;
    if (readable_pair(c, id, q, &dest, r))
        return r->status;
    if (!c->cfg)
        return srv_fail(r, 500, "snapshot tokens need a running server");
    sqlite3_stmt *st = store_prepare(c->db, "SELECT 1 FROM snapshots s JOIN model_state m ON m.model_id = s.model_id "
                                            "AND m.version = s.version WHERE s.model_id = ?");
    int trained = st && (sqlite3_bind_int64(st, 1, id), sqlite3_step(st) == SQLITE_ROW);
    sqlite3_finalize(st);
    if (!trained)
        return srv_fail(r, 409, "model %lld has no snapshot yet: train it first", (long long)id);
    int64_t exp = srv_now() + c->cfg->token_ttl;
    char mac[2 * SHA256_DIGEST_SIZE + 1], token[256], url[300];
    const long long f[5] = {c->account, c->user, id, dest, exp};
    token_mac(c->cfg->secret, f, mac);
    snprintf(token, sizeof token, "%lld.%lld.%lld.%lld.%lld.%s", f[0], f[1], f[2], f[3], f[4], mac);
    snprintf(url, sizeof url, "/snapshot/%s", token);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "token", token);
    cJSON_AddStringToObject(o, "url", url);
    cJSON_AddNumberToObject(o, "model_id", (double)id);
    cJSON_AddNumberToObject(o, "destination_id", (double)dest);
    cJSON_AddNumberToObject(o, "expires_at", (double)exp);
    return srv_ok(r, 201, o);
}

/* Constant time: the comparison takes as long wherever the first difference is. */
static int same(const char *a, const char *b, size_t n)
{
    unsigned char d = 0;
    for (size_t i = 0; i < n; i++)
        d |= (unsigned char)(a[i] ^ b[i]);
    return d == 0;
}

int snap_by_token(srv_ctx *c, const char *token, const srv_req *q, srv_resp *r)
{
    long long f[5];
    char mac[2 * SHA256_DIGEST_SIZE + 1];
    int used = 0;
    if (!c->cfg || strlen(token) > 220 ||
        sscanf(token, "%lld.%lld.%lld.%lld.%lld.%64[0-9a-f]%n", &f[0], &f[1], &f[2], &f[3], &f[4], mac, &used) != 6 ||
        token[used] != '\0' || strlen(mac) != 2 * SHA256_DIGEST_SIZE)
        return srv_fail(r, 403, "this snapshot token is not valid: ask the server for a new one");
    char want[2 * SHA256_DIGEST_SIZE + 1];
    token_mac(c->cfg->secret, f, want);
    if (!same(want, mac, 2 * SHA256_DIGEST_SIZE))
        return srv_fail(r, 403, "this snapshot token is not valid: ask the server for a new one");
    if (srv_now() > f[4])
        return srv_fail(r, 403, "this snapshot token expired at %lld: ask the server for a new one", f[4]);
    /* the checks of GET …/snapshot, made again as the user who asked for the token */
    c->account = f[0];
    c->user = f[1];
    cJSON *m = obj_get(c->db, c->account, "model", f[2], NULL, NULL);
    if (!m)
        return srv_fail(r, 403, "the model of this snapshot token no longer exists");
    cJSON_Delete(m);
    char dest[32];
    snprintf(dest, sizeof dest, "%lld", f[3]);
    srv_req again = *q;
    again.destination = dest;
    int64_t d;
    if (readable_pair(c, f[2], &again, &d, r))
        return r->status == 404 ? srv_fail(r, 403, "the destination of this snapshot token no longer exists") : r->status;
    return public_snapshot(c, f[2], q, r);
}
