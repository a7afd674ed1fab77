/* The SQLite store: opening with durable settings, and versioned schema migrations. */
#include "srv.h"

#include <stdio.h>
#include <string.h>

/* Each step runs once, in order, inside a transaction that also records its version. Add new
 * steps at the end; never edit a released one. */
static const char *const MIGRATIONS[] = {
    /* 1: accounts, keys, objects, references, realizations, model state */
    "CREATE TABLE accounts(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, created_at INTEGER NOT NULL);"
    "CREATE TABLE api_keys(hash BLOB PRIMARY KEY, account_id INTEGER NOT NULL REFERENCES accounts(id),"
    " user_id INTEGER NOT NULL, created_at INTEGER NOT NULL);"
    "CREATE INDEX api_keys_by_user ON api_keys(account_id, user_id);"
    /* one id sequence for every object of every account: trait and segment ids never collide */
    "CREATE TABLE objects(id INTEGER PRIMARY KEY AUTOINCREMENT, account_id INTEGER NOT NULL REFERENCES accounts(id),"
    " type TEXT NOT NULL, name TEXT NOT NULL, body TEXT NOT NULL, owner_model INTEGER NOT NULL DEFAULT 0,"
    " created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, UNIQUE(account_id, type, name));"
    "CREATE INDEX objects_by_type ON objects(account_id, type, id);"
    "CREATE TABLE refs(from_id INTEGER NOT NULL, to_id INTEGER NOT NULL, PRIMARY KEY(from_id, to_id)) WITHOUT ROWID;"
    "CREATE INDEX refs_by_to ON refs(to_id);"
    "CREATE TABLE realizations(account_id INTEGER NOT NULL, uuid TEXT NOT NULL, trait_id INTEGER NOT NULL,"
    " ts INTEGER NOT NULL);"
    "CREATE INDEX realizations_by_ts ON realizations(account_id, ts);"
    "CREATE INDEX realizations_by_uuid ON realizations(account_id, uuid);"
    "CREATE INDEX realizations_by_trait ON realizations(account_id, trait_id, ts);"
    "CREATE TABLE model_state(model_id INTEGER PRIMARY KEY, account_id INTEGER NOT NULL,"
    " status TEXT NOT NULL DEFAULT 'pending', reasons TEXT NOT NULL DEFAULT '[]', error TEXT,"
    " personas TEXT NOT NULL DEFAULT '{}', stage TEXT, progress REAL, train_requested INTEGER NOT NULL DEFAULT 0,"
    " next_due INTEGER NOT NULL DEFAULT 0, last_trained_at INTEGER, version INTEGER NOT NULL DEFAULT 0,"
    " report TEXT);"
    "CREATE TABLE snapshots(model_id INTEGER NOT NULL, version INTEGER NOT NULL, created_at INTEGER NOT NULL,"
    " bytes BLOB NOT NULL, PRIMARY KEY(model_id, version));"
    "CREATE TABLE classifications(model_id INTEGER NOT NULL, uuid TEXT NOT NULL, baseline_id INTEGER NOT NULL,"
    " ts INTEGER NOT NULL, PRIMARY KEY(model_id, uuid)) WITHOUT ROWID;"
    "CREATE TABLE model_daily(model_id INTEGER NOT NULL, day INTEGER NOT NULL, baseline_id INTEGER NOT NULL,"
    " in_baseline INTEGER NOT NULL, classified INTEGER NOT NULL, PRIMARY KEY(model_id, day, baseline_id));",
    /* 2: the real-time endpoint and edge distribution: the token key, visitor attributes (c_
     * parameters), device links through authenticated ids, classifications by version and
     * origin, and personas reported by edge scorers (kept apart from the server's own) */
    "CREATE TABLE secrets(name TEXT PRIMARY KEY, value BLOB NOT NULL);"
    "CREATE TABLE visitor_attributes(account_id INTEGER NOT NULL, uuid TEXT NOT NULL, key TEXT NOT NULL,"
    " value TEXT NOT NULL, ts INTEGER NOT NULL, PRIMARY KEY(account_id, uuid, key)) WITHOUT ROWID;"
    "CREATE TABLE device_links(account_id INTEGER NOT NULL, uuid TEXT NOT NULL, data_source_id INTEGER NOT NULL,"
    " cid TEXT NOT NULL, first_ts INTEGER NOT NULL, last_ts INTEGER NOT NULL,"
    " PRIMARY KEY(account_id, uuid, data_source_id, cid)) WITHOUT ROWID;"
    "CREATE INDEX device_links_by_cid ON device_links(account_id, data_source_id, cid);"
    "ALTER TABLE classifications ADD COLUMN version INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE classifications ADD COLUMN source TEXT NOT NULL DEFAULT 'training';"
    "CREATE INDEX classifications_by_uuid ON classifications(uuid);"
    "CREATE TABLE edge_reports(account_id INTEGER NOT NULL, model_id INTEGER NOT NULL, uuid TEXT NOT NULL,"
    " baseline_id INTEGER, server_baseline_id INTEGER, version INTEGER NOT NULL, ts INTEGER NOT NULL);"
    "CREATE INDEX edge_reports_by_model ON edge_reports(model_id, uuid);",
    /* 3: /event logs its events in STORE-events and moves them here in large transactions;
     * event_ingest says from which log (its random id) and up to which event. No query reads
     * realizations by trait, and every insert paid for keeping that index: it goes. */
    "CREATE TABLE event_ingest(id INTEGER PRIMARY KEY CHECK(id = 1), log_id TEXT NOT NULL, applied INTEGER NOT NULL);"
    "INSERT INTO event_ingest VALUES(1, '', 0);"
    "DROP INDEX realizations_by_trait;",
};

static int exec(sqlite3 *db, const char *sql, char *err, size_t errcap)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        snprintf(err, errcap, "store: %s", msg ? msg : sqlite3_errmsg(db));
        sqlite3_free(msg);
        return -1;
    }
    return 0;
}

static int migrate(sqlite3 *db, char *err, size_t errcap)
{
    if (exec(db, "CREATE TABLE IF NOT EXISTS schema_migrations(version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)",
             err, errcap))
        return -1;
    int64_t have = 0;
    sqlite3_stmt *st = store_prepare(db, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations");
    if (!st)
        return snprintf(err, errcap, "store: cannot read the schema version"), -1;
    if (sqlite3_step(st) == SQLITE_ROW)
        have = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    int64_t want = (int64_t)(sizeof MIGRATIONS / sizeof *MIGRATIONS);
    if (have > want) {
        snprintf(err, errcap, "store: schema version %lld is newer than this personae knows (%lld)", (long long)have,
                 (long long)want);
        return -1;
    }
    for (int64_t v = have + 1; v <= want; v++) {
        if (store_begin(db))
            return snprintf(err, errcap, "store: cannot begin a migration: %s", sqlite3_errmsg(db)), -1;
        if (exec(db, MIGRATIONS[v - 1], err, errcap)) {
            store_rollback(db);
            return -1;
        }
        st = store_prepare(db, "INSERT INTO schema_migrations(version, applied_at) VALUES(?, ?)");
        int rc = st ? (sqlite3_bind_int64(st, 1, v), sqlite3_bind_int64(st, 2, srv_now()), sqlite3_step(st)) : SQLITE_ERROR;
        sqlite3_finalize(st);
        if (rc != SQLITE_DONE || store_commit(db)) {
            snprintf(err, errcap, "store: migration %lld failed: %s", (long long)v, sqlite3_errmsg(db));
            store_rollback(db);
            return -1;
        }
    }
    return 0;
}

int store_open(const char *path, int create, sqlite3 **out, char *err, size_t errcap)
{
    *out = NULL;
    sqlite3 *db = NULL;
    /* NOMUTEX: every connection is used by one thread at a time (the API's under its lock, the
     * others each by their own thread or the caller holding them), so SQLite need not lock it on
     * every call (a training reads hundreds of thousands of rows, three columns each) */
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (create ? SQLITE_OPEN_CREATE : 0);
    if (sqlite3_open_v2(path, &db, flags, NULL) != SQLITE_OK) {
        snprintf(err, errcap, "%s: cannot open the store: %s%s", path, db ? sqlite3_errmsg(db) : "out of memory",
                 create ? "" : " (run 'personae admin init --db PATH' first)");
        sqlite3_close(db);
        return -1;
    }
    sqlite3_busy_timeout(db, 10000);
    /* WAL lets the scheduler read while the API writes; synchronous=FULL makes every commit
     * durable before it is acknowledged, so a kill -9 loses nothing that was answered. */
    /* mmap_size: reads of the database file are memory accesses, not a pread system call per
     * page (each one exits to the hypervisor on a virtual machine: a training reads them all) */
    /* wal_autocheckpoint: the commit that takes the WAL past this size copies the WAL into the
     * database and syncs it, in the thread that committed. Every connection of a process has the
     * same threshold, the event ingester's (it writes the most): with SQLite's default of 1,000
     * pages a training's or an API call's small commit would run that checkpoint of up to 8,000
     * pages the ingester left, its fsync queued with the event log's. */
    if (exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; PRAGMA mmap_size=1073741824; "
                 "PRAGMA wal_autocheckpoint=" STORE_WAL_CHECKPOINT_PAGES ";",
             err, errcap) ||
        migrate(db, err, errcap)) {
        sqlite3_close(db);
        return -1;
    }
    *out = db;
    return 0;
}

void store_close(sqlite3 *db)
{
    sqlite3_close(db);
}

int store_begin(sqlite3 *db)
{
    return sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
}

int store_commit(sqlite3 *db)
{
    return sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
}

void store_rollback(sqlite3 *db)
{
    if (!sqlite3_get_autocommit(db))
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
}

sqlite3_stmt *store_prepare(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        fprintf(stderr, "personae serve: store: %s\n", sqlite3_errmsg(db));
        sqlite3_finalize(st);
        return NULL;
    }
    return st;
}
