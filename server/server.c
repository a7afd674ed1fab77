/* The command-line entry points into the store: accounts and file onboarding (server.h). */
#include "srv.h"
#include "server.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int64_t count_accounts(sqlite3 *db)
{
    sqlite3_stmt *st = store_prepare(db, "SELECT COUNT(*) FROM accounts");
    int64_t n = st && sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
    sqlite3_finalize(st);
    return n;
}

int pn_server_add_account(const char *db_path, const char *name, int first, int64_t *account,
                          char key[PN_SERVER_KEY_MAX], char *err, size_t errcap)
{
    sqlite3 *db;
    if (!name || !*name || strlen(name) > SRV_MAX_NAME)
        return snprintf(err, errcap, "--name must have 1 to %d bytes", SRV_MAX_NAME), -1;
    if (store_open(db_path, first, &db, err, errcap))
        return -1;
    int64_t n = count_accounts(db);
    int rc = -1;
    if (first && n > 0)
        snprintf(err, errcap, "%s already holds %lld account(s): use 'personae admin add-account' for another", db_path,
                 (long long)n);
    else if (!first && n == 0)
        snprintf(err, errcap, "%s holds no account yet: run 'personae admin init' first", db_path);
    else
        rc = account_create(db, name, account, key, err, errcap);
    store_close(db);
    return rc;
}

int pn_server_onboard(const char *db_path, const char *account_name, const char *data, size_t len, char **summary,
                      uint64_t *accepted, uint64_t *rejected, char *err, size_t errcap)
{
    *summary = NULL;
    sqlite3 *db;
    if (store_open(db_path, 0, &db, err, errcap))
        return -1;
    sqlite3_stmt *st = account_name ? store_prepare(db, "SELECT id FROM accounts WHERE name = ?")
                                    : store_prepare(db, "SELECT id FROM accounts");
    int64_t account = 0;
    int rows = 0;
    if (st) {
        if (account_name)
            sqlite3_bind_text(st, 1, account_name, -1, SQLITE_TRANSIENT);
        while (sqlite3_step(st) == SQLITE_ROW && rows < 2) {
            account = sqlite3_column_int64(st, 0);
            rows++;
        }
        sqlite3_finalize(st);
    }
    if (rows != 1) {
        if (account_name)
            snprintf(err, errcap, "%s has no account named '%s'", db_path, account_name);
        else
            snprintf(err, errcap, rows ? "%s holds several accounts: name one with --account" : "%s holds no account",
                     db_path);
        store_close(db);
        return -1;
    }
    srv_ctx c = {db, account, 0, NULL, NULL, NULL, NULL, 0};
    srv_resp r = {0};
    cJSON *out = NULL;
    int rc = onboard_ingest(&c, data, len, &out, accepted, rejected, &r);
    if (rc) {
        const cJSON *e = cJSON_GetObjectItemCaseSensitive(r.json, "error");
        snprintf(err, errcap, "%s", cJSON_IsString(e) ? e->valuestring : "onboarding failed");
        rc = -1;
    } else {
        *summary = cJSON_PrintUnformatted(out);
    }
    cJSON_Delete(out);
    cJSON_Delete(r.json);
    store_close(db);
    return rc;
}
