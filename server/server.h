/*
 * personae server — what the `personae` command needs from server/: running the HTTP API,
 * creating accounts, and batch onboarding from a file.
 *
 * Every function opens the SQLite store at `db_path` itself (migrating its schema to the
 * current version) and closes it before returning. Errors are one sentence written into the
 * caller's `err` buffer (NUL-terminated, cut to `errcap`); nothing is printed except where said.
 */
#ifndef PN_SERVER_H
#define PN_SERVER_H

#include <stddef.h>
#include <stdint.h>

#define PN_SERVER_KEY_MAX 80 /* room for an API key and its NUL */

typedef struct pn_server_options {
    const char *db_path;
    const char *listen;     /* "127.0.0.1:8080" */
    int64_t train_interval; /* seconds between scheduled trainings of a model; default 86400 */
    int64_t min_support;    /* k: edge snapshots drop traits of fewer training visitors; 0: default 20 */
    int64_t token_ttl;      /* seconds a snapshot token is valid; 0: default 300 */
    const char *demo_dir;   /* NULL: no demo; else its static files at /demo/ and the demo API */
    const char *wasm_dir;   /* the personae-wasm package at /demo/personae/; NULL: DEMO_DIR/../wasm */
    int64_t event_cache_mb; /* memory for /event's visitor cache; 0: default 256 */
    int64_t threads;        /* HTTP threads; 0: one per processor */
    int64_t idle_timeout;   /* seconds a connection may stay idle (or not read its answer); 0: 60 */
    const char *allow_origins; /* origins (comma-separated) whose pages may call /event and read its
                                  answer, the visitor's cookie included (cors.h); NULL: none */
} pn_server_options;

/* Serves the API until SIGINT or SIGTERM. Logs one line per request and training progress on
 * stderr (never an API key). Returns 0 after a clean stop, -1 with `err` filled. */
int pn_server_run(const pn_server_options *o, char *err, size_t errcap);

/* Creates an account named `name` with its admin API key, written into `key` (shown once: only
 * its hash is stored). With `first` nonzero the store must not hold an account yet (admin init);
 * otherwise it must (add-account). *account gets the new account's id. */
int pn_server_add_account(const char *db_path, const char *name, int first, int64_t *account,
                          char key[PN_SERVER_KEY_MAX], char *err, size_t errcap);

/* Onboards TSV or JSON Lines realizations (`len` bytes, borrowed) into the account named
 * `account_name` (NULL: the store's only account) with admin rights. Good lines are stored in
 * one transaction; *summary gets the JSON answer of POST /api/v1/onboard (caller frees with
 * free()). Returns -1 with `err` filled when nothing could be done (no store, no such account). */
int pn_server_onboard(const char *db_path, const char *account_name, const char *data, size_t len, char **summary,
                      uint64_t *accepted, uint64_t *rejected, char *err, size_t errcap);

#endif
