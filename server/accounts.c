/* Accounts: each with its admin key and a default profile merge rule. */
#include "srv.h"

#include <stdio.h>

int account_create(sqlite3 *db, const char *name, int64_t *account, char key[80], char *err, size_t errcap)
{
    if (store_begin(db))
        return snprintf(err, errcap, "store: %s", sqlite3_errmsg(db)), -1;
    sqlite3_stmt *st = store_prepare(db, "INSERT INTO accounts(name, created_at) VALUES(?, ?)");
    int rc = SQLITE_ERROR;
    if (st) {
        sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(st, 2, srv_now());
        rc = sqlite3_step(st);
        sqlite3_finalize(st);
    }
    if (rc != SQLITE_DONE) {
        snprintf(err, errcap, rc == SQLITE_CONSTRAINT ? "an account named '%s' already exists" : "cannot create account '%s'",
                 name);
        store_rollback(db);
        return -1;
    }
    *account = sqlite3_last_insert_rowid(db);
    cJSON *rule = cJSON_CreateObject();
    cJSON_AddStringToObject(rule, "name", "Default merge rule");
    cJSON_AddStringToObject(rule, "cross_device", "none");
    cJSON_AddStringToObject(rule, "device", "this_device");
    cJSON_AddBoolToObject(rule, "default", 1);
    int64_t rule_id;
    rc = obj_insert(db, *account, "merge_rule", rule, 0, &rule_id);
    cJSON_Delete(rule);
    auth_new_key(key);
    if (rc != SQLITE_DONE || auth_store_key(db, *account, 0, key) || store_commit(db)) {
        snprintf(err, errcap, "store: cannot create account '%s': %s", name, sqlite3_errmsg(db));
        store_rollback(db);
        return -1;
    }
    return 0;
}
