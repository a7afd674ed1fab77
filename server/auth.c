/* API keys: 32 random bytes shown once, stored only as their SHA-256. */
#include "srv.h"

#include <errno.h>
#include <nettle/sha2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#define KEY_PREFIX "pk_"

int srv_random(void *buf, size_t n)
{
    unsigned char *b = buf;
    size_t got = 0;
    while (got < n) {
        ssize_t r = getrandom(b + got, n - got, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        got += (size_t)r;
    }
    return 0;
}

void auth_new_key(char key[80])
{
    unsigned char raw[SRV_KEY_BYTES];
    if (srv_random(raw, sizeof raw)) {
        /* No entropy source means no safe key: refusing is better than a guessable key. */
        fprintf(stderr, "personae: getrandom failed: %s\n", strerror(errno));
        abort();
    }
    strcpy(key, KEY_PREFIX);
    for (size_t i = 0; i < sizeof raw; i++)
        snprintf(key + strlen(KEY_PREFIX) + 2 * i, 3, "%02x", raw[i]);
}

static void hash_key(const char *key, size_t len, uint8_t out[SHA256_DIGEST_SIZE])
{
    struct sha256_ctx h;
    sha256_init(&h);
    sha256_update(&h, len, (const uint8_t *)key);
    sha256_digest(&h, SHA256_DIGEST_SIZE, out);
}

int auth_store_key(sqlite3 *db, int64_t account, int64_t user, const char *key)
{
    uint8_t h[SHA256_DIGEST_SIZE];
    hash_key(key, strlen(key), h);
    sqlite3_stmt *st = store_prepare(db, "INSERT INTO api_keys(hash, account_id, user_id, created_at) VALUES(?, ?, ?, ?)");
    if (!st)
        return -1;
    sqlite3_bind_blob(st, 1, h, sizeof h, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, account);
    sqlite3_bind_int64(st, 3, user);
    sqlite3_bind_int64(st, 4, srv_now());
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

int auth_lookup(sqlite3 *db, const char *header, int64_t *account, int64_t *user)
{
    if (!header || strncmp(header, "Bearer ", 7) != 0)
        return -1;
    const char *key = header + 7;
    while (*key == ' ')
        key++;
    size_t len = strlen(key);
    while (len && key[len - 1] == ' ')
        len--;
    if (len == 0 || len > 200)
        return -1;
    uint8_t h[SHA256_DIGEST_SIZE];
    hash_key(key, len, h);
    sqlite3_stmt *st = store_prepare(db, "SELECT account_id, user_id FROM api_keys WHERE hash = ?");
    if (!st)
        return -1;
    sqlite3_bind_blob(st, 1, h, sizeof h, SQLITE_TRANSIENT);
    int found = sqlite3_step(st) == SQLITE_ROW;
    if (found) {
        *account = sqlite3_column_int64(st, 0);
        *user = sqlite3_column_int64(st, 1);
    }
    sqlite3_finalize(st);
    return found ? 0 : -1;
}

int auth_delete_user_keys(sqlite3 *db, int64_t account, int64_t user)
{
    sqlite3_stmt *st = store_prepare(db, "DELETE FROM api_keys WHERE account_id = ? AND user_id = ?");
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, account);
    sqlite3_bind_int64(st, 2, user);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : -1;
}
