/* The store side of /event (event_internal.h): a pool of read connections to the store (WAL:
 * they never wait for writers), each with its statements prepared once, to fill the visitor
 * cache and to follow device graphs, completed by the events the log has not handed over yet. */
#include "event_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ev_reader {
    sqlite3 *db;
    ev_log *log;
    sqlite3_stmt *rows, *links, *graph, *cls, *applied;
    sqlite3_stmt *begin, *commit; /* prepared once: sqlite3_exec parses its text every time */
    struct ev_reader *next;
};

struct ev_readers {
    char *db_path;
    ev_log *log;
    pthread_mutex_t mu;
    ev_reader *free;
};

ev_readers *ev_readers_new(const char *db_path, ev_log *log)
{
    ev_readers *rs = calloc(1, sizeof *rs);
    if (!rs || !(rs->db_path = strdup(db_path))) {
        free(rs);
        return NULL;
    }
    rs->log = log;
    pthread_mutex_init(&rs->mu, NULL);
    return rs;
}

static void reader_close(ev_reader *r)
{
    sqlite3_finalize(r->rows), sqlite3_finalize(r->links), sqlite3_finalize(r->graph), sqlite3_finalize(r->cls);
    sqlite3_finalize(r->applied), sqlite3_finalize(r->begin), sqlite3_finalize(r->commit);
    store_close(r->db);
    free(r);
}

void ev_readers_free(ev_readers *rs)
{
    if (!rs)
        return;
    for (ev_reader *r = rs->free, *next; r; r = next) {
        next = r->next;
        reader_close(r);
    }
    pthread_mutex_destroy(&rs->mu);
    free(rs->db_path);
    free(rs);
}

ev_reader *ev_reader_get(ev_readers *rs)
{
    pthread_mutex_lock(&rs->mu);
    ev_reader *r = rs->free;
    if (r)
        rs->free = r->next;
    pthread_mutex_unlock(&rs->mu);
    if (r)
        return r;
    r = calloc(1, sizeof *r);
    char err[256];
    if (!r || store_open(rs->db_path, 0, &r->db, err, sizeof err)) {
        if (r)
            fprintf(stderr, "personae serve: /event: %s\n", err);
        free(r);
        return NULL;
    }
    r->log = rs->log;
    r->begin = store_prepare(r->db, "BEGIN");
    r->commit = store_prepare(r->db, "COMMIT");
    r->applied = store_prepare(r->db, "SELECT applied FROM event_ingest WHERE id = 1");
    r->rows = store_prepare(r->db, "SELECT trait_id, ts FROM realizations WHERE account_id = ? AND uuid = ?");
    r->links = store_prepare(r->db, "SELECT data_source_id, cid, last_ts FROM device_links WHERE account_id = ? AND "
                                    "uuid = ? ORDER BY last_ts DESC LIMIT ?");
    r->graph = store_prepare(r->db, "SELECT DISTINCT uuid FROM device_links WHERE account_id = ? AND "
                                    "data_source_id = ? AND cid = ? LIMIT ?");
    /* the visitor's rows first, then each one's model (CROSS JOIN keeps that order): with
     * "model_id IN (SELECT id FROM objects WHERE account_id = ?)" SQLite listed every object of
     * the account and probed the visitor's rows for each, some 200 lookups for 10 rows */
    r->cls = store_prepare(r->db, "SELECT c.model_id, c.baseline_id, c.version FROM classifications c CROSS JOIN "
                                  "objects o ON o.id = c.model_id WHERE c.uuid = ? AND o.account_id = ?");
    if (!r->rows || !r->links || !r->graph || !r->cls || !r->applied || !r->begin || !r->commit) {
        reader_close(r);
        return NULL;
    }
    /* the limits, bound once (a reset keeps bindings): a device's most recent ids, and its graph's
     * devices with one more, since the device itself may be one of the rows */
    sqlite3_bind_int(r->links, 3, EV_MAX_LINKS);
    sqlite3_bind_int(r->graph, 4, EV_MAX_GRAPH + 1);
    return r;
}

void ev_reader_put(ev_readers *rs, ev_reader *r)
{
    if (!r)
        return;
    pthread_mutex_lock(&rs->mu);
    r->next = rs->free;
    rs->free = r;
    pthread_mutex_unlock(&rs->mu);
}

sqlite3 *ev_reader_db(ev_reader *r)
{
    return r->db;
}

/* What a logged event adds to the visitor. */
static int overlay(const ev_logged *e, unsigned what, vc_visitor *out)
{
    ev_payload p;
    if (ev_payload_parse(e->payload, e->len, &p))
        return 0; /* the ingester reports it */
    int ok = 1;
    for (const cJSON *t = p.realized && (what & VC_ROWS) ? p.realized->child : NULL; ok && t; t = t->next)
        ok = vc_visitor_add_row(out, (int64_t)t->valuedouble, e->ts) == 0;
    vc_link cids[EV_MAX_CIDS];
    size_t ncids = what & VC_LINKS ? ev_payload_cids(&p, e->ts, cids, EV_MAX_CIDS) : 0;
    for (size_t i = 0; ok && i < ncids; i++)
        ok = vc_visitor_add_link(out, cids[i].ds, cids[i].cid, cids[i].last_ts) == 0;
    for (const cJSON *m = p.cls && (what & VC_CLS) ? p.cls->child : NULL; ok && m; m = m->next)
        ok = vc_visitor_set_cls(out, ev_payload_int(m, 0), ev_payload_int(m, 1), ev_payload_int(m, 2)) == 0;
    ev_payload_free(&p);
    return ok ? 0 : -1;
}

int ev_reader_load(void *ctx, int64_t account, const char *uuid, unsigned what, vc_visitor *out)
{
    ev_reader *r = ctx;
    /* the pending events first: one the ingester moves after this is in the store read below,
     * and one it moved before is there too; pending events at or below the store's progress
     * are left out, so none counts twice */
    ev_logged *logged = NULL;
    size_t nlogged = 0;
    int64_t upto = 0, applied = 0;
    int ok = ev_pending_visitor(ev_log_pending(r->log), account, uuid, &logged, &nlogged, &upto) == 0, rc = SQLITE_DONE;
    ok = ok && sqlite3_step(r->begin) == SQLITE_DONE;
    sqlite3_reset(r->begin);
    if (ok) {
        ok = sqlite3_step(r->applied) == SQLITE_ROW;
        applied = ok ? sqlite3_column_int64(r->applied, 0) : 0;
        sqlite3_reset(r->applied);
    }
    if (ok && (what & VC_ROWS)) {
        sqlite3_stmt *st = r->rows;
        sqlite3_bind_int64(st, 1, account);
        sqlite3_bind_text(st, 2, uuid, -1, SQLITE_STATIC);
        while (ok && (rc = sqlite3_step(st)) == SQLITE_ROW)
            ok = vc_visitor_add_row(out, sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 1)) == 0;
        ok = ok && rc == SQLITE_DONE;
        sqlite3_reset(st);
    }
    if (ok && (what & VC_LINKS)) {
        sqlite3_stmt *st = r->links;
        sqlite3_bind_int64(st, 1, account);
        sqlite3_bind_text(st, 2, uuid, -1, SQLITE_STATIC);
        while (ok && (rc = sqlite3_step(st)) == SQLITE_ROW)
            ok = vc_visitor_add_link(out, sqlite3_column_int64(st, 0), (const char *)sqlite3_column_text(st, 1),
                                     sqlite3_column_int64(st, 2)) == 0;
        ok = ok && rc == SQLITE_DONE;
        sqlite3_reset(st);
    }
    if (ok && (what & VC_CLS)) {
        sqlite3_stmt *st = r->cls;
        sqlite3_bind_text(st, 1, uuid, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, account);
        while (ok && (rc = sqlite3_step(st)) == SQLITE_ROW)
            ok = vc_visitor_set_cls(out, sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 1),
                                    sqlite3_column_int64(st, 2)) == 0;
        ok = ok && rc == SQLITE_DONE;
        sqlite3_reset(st);
    }
    sqlite3_step(r->commit); /* a read transaction: ends whatever the reads gave */
    sqlite3_reset(r->commit);
    for (size_t i = 0; ok && i < nlogged; i++)
        if (logged[i].seq > applied)
            ok = overlay(&logged[i], what, out) == 0;
    ev_logged_free(logged, nlogged);
    out->upto = upto > applied ? upto : applied;
    return ok ? 0 : -1;
}

int ev_reader_graph(ev_reader *r, int64_t account, int64_t ds, const char *cid, const char *self,
                    char (*out)[EV_MAX_UUID + 1], size_t *n, size_t cap)
{
    sqlite3_stmt *st = r->graph;
    sqlite3_bind_int64(st, 1, account);
    sqlite3_bind_int64(st, 2, ds);
    sqlite3_bind_text(st, 3, cid, -1, SQLITE_STATIC);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW && *n < cap) {
        const char *u = (const char *)sqlite3_column_text(st, 0);
        int seen = strcmp(u, self) == 0;
        for (size_t i = 0; !seen && i < *n; i++)
            seen = strcmp(out[i], u) == 0;
        if (!seen)
            snprintf(out[(*n)++], EV_MAX_UUID + 1, "%s", u);
    }
    sqlite3_reset(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return -1;
    return ev_pending_graph(ev_log_pending(r->log), account, ds, cid, self, out, n, cap);
}
