/* Catalog objects and models as rows of one table: JSON body, name, type, owner model. */
#include "srv.h"

#include <stdlib.h>
#include <string.h>

int refs_add(srv_refs *r, int64_t id)
{
    for (size_t i = 0; i < r->n; i++)
        if (r->ids[i] == id)
            return 0;
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 16;
        int64_t *ids = realloc(r->ids, cap * sizeof *ids);
        if (!ids)
            return -1;
        r->ids = ids;
        r->cap = cap;
    }
    r->ids[r->n++] = id;
    return 0;
}

void refs_free(srv_refs *r)
{
    free(r->ids);
    r->ids = NULL;
    r->n = r->cap = 0;
}

/* {"id": id, ...body} */
static cJSON *with_id(int64_t id, const char *text)
{
    cJSON *body = cJSON_Parse(text);
    if (!body)
        return NULL;
    cJSON *out = cJSON_CreateObject();
    cJSON_AddNumberToObject(out, "id", (double)id);
    while (body->child) {
        cJSON *item = cJSON_DetachItemViaPointer(body, body->child);
        cJSON_AddItemToObject(out, item->string, item);
    }
    cJSON_Delete(body);
    return out;
}

cJSON *obj_get(sqlite3 *db, int64_t account, const char *type, int64_t id, char *type_out, int64_t *owner_model)
{
    sqlite3_stmt *st = store_prepare(db, "SELECT type, body, owner_model FROM objects WHERE account_id = ? AND id = ?");
    if (!st)
        return NULL;
    sqlite3_bind_int64(st, 1, account);
    sqlite3_bind_int64(st, 2, id);
    cJSON *out = NULL;
    if (sqlite3_step(st) == SQLITE_ROW) {
        const char *t = (const char *)sqlite3_column_text(st, 0);
        if (!type || strcmp(type, t) == 0) {
            out = with_id(id, (const char *)sqlite3_column_text(st, 1));
            if (type_out) {
                strncpy(type_out, t, 23);
                type_out[23] = '\0';
            }
            if (owner_model)
                *owner_model = sqlite3_column_int64(st, 2);
        }
    }
    sqlite3_finalize(st);
    return out;
}

cJSON *obj_list(sqlite3 *db, int64_t account, const char *type)
{
    cJSON *arr = cJSON_CreateArray();
    sqlite3_stmt *st = arr ? store_prepare(db, "SELECT id, body FROM objects WHERE account_id = ? AND type = ? ORDER BY id")
                           : NULL;
    if (!st) {
        cJSON_Delete(arr);
        return NULL;
    }
    sqlite3_bind_int64(st, 1, account);
    sqlite3_bind_text(st, 2, type, -1, SQLITE_STATIC);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        cJSON *o = with_id(sqlite3_column_int64(st, 0), (const char *)sqlite3_column_text(st, 1));
        if (!o || !cJSON_AddItemToArray(arr, o)) {
            cJSON_Delete(o);
            break;
        }
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        cJSON_Delete(arr);
        return NULL;
    }
    return arr;
}

static const char *name_of(const cJSON *body)
{
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(body, "name");
    return cJSON_IsString(n) ? n->valuestring : "";
}

int obj_insert(sqlite3 *db, int64_t account, const char *type, const cJSON *body, int64_t owner_model, int64_t *id)
{
    char *text = cJSON_PrintUnformatted(body);
    sqlite3_stmt *st = text ? store_prepare(db, "INSERT INTO objects(account_id, type, name, body, owner_model, "
                                                "created_at, updated_at) VALUES(?, ?, ?, ?, ?, ?, ?)")
                            : NULL;
    if (!st) {
        free(text);
        return SQLITE_ERROR;
    }
    int64_t now = srv_now();
    sqlite3_bind_int64(st, 1, account);
    sqlite3_bind_text(st, 2, type, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, name_of(body), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 4, text, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 5, owner_model);
    sqlite3_bind_int64(st, 6, now);
    sqlite3_bind_int64(st, 7, now);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    free(text);
    if (rc == SQLITE_DONE)
        *id = sqlite3_last_insert_rowid(db);
    return rc;
}

int obj_update(sqlite3 *db, int64_t account, int64_t id, const cJSON *body)
{
    char *text = cJSON_PrintUnformatted(body);
    sqlite3_stmt *st =
        text ? store_prepare(db, "UPDATE objects SET name = ?, body = ?, updated_at = ? WHERE account_id = ? AND id = ?")
             : NULL;
    if (!st) {
        free(text);
        return SQLITE_ERROR;
    }
    sqlite3_bind_text(st, 1, name_of(body), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, text, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 3, srv_now());
    sqlite3_bind_int64(st, 4, account);
    sqlite3_bind_int64(st, 5, id);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    free(text);
    return rc;
}

static int exec_id(sqlite3 *db, const char *sql, int64_t a, int64_t b, int nargs)
{
    sqlite3_stmt *st = store_prepare(db, sql);
    if (!st)
        return SQLITE_ERROR;
    sqlite3_bind_int64(st, 1, a);
    if (nargs > 1)
        sqlite3_bind_int64(st, 2, b);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc;
}

int obj_delete(sqlite3 *db, int64_t account, int64_t id)
{
    int rc = exec_id(db, "DELETE FROM refs WHERE from_id = ?", id, 0, 1);
    if (rc == SQLITE_DONE)
        rc = exec_id(db, "DELETE FROM objects WHERE account_id = ? AND id = ?", account, id, 2);
    return rc;
}

int obj_refs_set(sqlite3 *db, int64_t from, const srv_refs *to)
{
    int rc = exec_id(db, "DELETE FROM refs WHERE from_id = ?", from, 0, 1);
    for (size_t i = 0; rc == SQLITE_DONE && i < to->n; i++)
        rc = exec_id(db, "INSERT OR IGNORE INTO refs(from_id, to_id) VALUES(?, ?)", from, to->ids[i], 2);
    return rc;
}

int64_t obj_referrer(sqlite3 *db, int64_t to, char *type_out)
{
    sqlite3_stmt *st = store_prepare(
        db, "SELECT r.from_id, o.type FROM refs r JOIN objects o ON o.id = r.from_id WHERE r.to_id = ? ORDER BY r.from_id LIMIT 1");
    if (!st)
        return 0;
    sqlite3_bind_int64(st, 1, to);
    int64_t id = 0;
    if (sqlite3_step(st) == SQLITE_ROW) {
        id = sqlite3_column_int64(st, 0);
        strncpy(type_out, (const char *)sqlite3_column_text(st, 1), 23);
        type_out[23] = '\0';
    }
    sqlite3_finalize(st);
    return id;
}

int64_t obj_count(sqlite3 *db, int64_t account, const char *type)
{
    sqlite3_stmt *st = store_prepare(db, "SELECT COUNT(*) FROM objects WHERE account_id = ? AND type = ?");
    if (!st)
        return 0;
    sqlite3_bind_int64(st, 1, account);
    sqlite3_bind_text(st, 2, type, -1, SQLITE_STATIC);
    int64_t n = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_finalize(st);
    return n;
}

char *obj_name(sqlite3 *db, int64_t account, int64_t id)
{
    sqlite3_stmt *st = store_prepare(db, "SELECT name FROM objects WHERE account_id = ? AND id = ?");
    if (!st)
        return NULL;
    sqlite3_bind_int64(st, 1, account);
    sqlite3_bind_int64(st, 2, id);
    char *out = NULL;
    if (sqlite3_step(st) == SQLITE_ROW)
        out = strdup((const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    return out;
}
