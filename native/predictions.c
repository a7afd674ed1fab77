/* The predictions file: see predictions.h. */
#include "predictions.h"
#include "cli.h"
#include "personae/audience.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One slice of the visitors, formatted into a memory buffer so that two slices can be
 * classified at once and written in order. */
typedef struct slice {
    const pn_snapshot *snap;
    const pn_profiles *prof;
    const pn_audience *aud;
    const uint32_t *map;
    uint32_t v0, v1;
    int64_t now;
    char *buf;
    size_t len, cap;
    int failed;
    pn_error err;
} slice;

static int append(slice *sl, const char *line, size_t n)
{
    if (sl->len + n > sl->cap) {
        size_t cap = sl->cap ? sl->cap * 2 : 1 << 20;
        while (cap < sl->len + n)
            cap *= 2;
        char *b = realloc(sl->buf, cap);
        if (!b)
            return -1;
        sl->buf = b;
        sl->cap = cap;
    }
    memcpy(sl->buf + sl->len, line, n);
    sl->len += n;
    return 0;
}

static void *classify_slice(void *arg)
{
    slice *sl = arg;
    uint32_t *idx = NULL;
    size_t idx_cap = 0;
    char line[1024];
    for (uint32_t v = sl->v0; v < sl->v1; v++) {
        if (!pn_audience_in_target(sl->aud, v, 0, sl->now) || pn_audience_baselines(sl->aud, v, 0, sl->now))
            continue;
        size_t n;
        const pn_realization *r = pn_profiles_visitor_traits(sl->prof, v, &n);
        if (n > idx_cap) {
            free(idx);
            idx_cap = n * 2;
            if (!(idx = malloc(idx_cap * sizeof *idx))) {
                sl->failed = 1;
                snprintf(sl->err.message, sizeof sl->err.message, "out of memory");
                break;
            }
        }
        for (size_t j = 0; j < n; j++)
            idx[j] = sl->map[r[j].trait];
        pn_classification c;
        if (pn_snapshot_classify(sl->snap, idx, n, &c, &sl->err)) {
            sl->failed = 1;
            break;
        }
        size_t ulen;
        const char *uuid = pn_profiles_visitor_uuid(sl->prof, v, &ulen);
        size_t len = pn_prediction_format(sl->snap, uuid, ulen, &c, line, sizeof line);
        if (append(sl, line, len < sizeof line ? len : sizeof line - 1)) {
            sl->failed = 1;
            snprintf(sl->err.message, sizeof sl->err.message, "out of memory");
            break;
        }
    }
    free(idx);
    return NULL;
}

int pn_cli_write_predictions(const char *cmd, const char *path, const pn_snapshot *snap, const pn_profiles *prof)
{
    int rc = -1;
    pn_error err;
    pn_audience *aud = NULL;
    uint32_t *map = NULL;
    FILE *out = NULL;
    slice parts[2];
    memset(parts, 0, sizeof parts);
    if (pn_audience_from_snapshot(snap, prof, &aud, &err)) {
        pn_cli_error(cmd, "%s", err.message);
        return -1;
    }
    /* Store trait index -> snapshot trait index, resolved once instead of per visitor. */
    size_t T = pn_profiles_trait_count(prof);
    if (!(map = malloc((T ? T : 1) * sizeof *map))) {
        pn_cli_error(cmd, "out of memory");
        goto done;
    }
    for (uint32_t t = 0; t < T; t++) {
        size_t len;
        const char *id = pn_profiles_trait_id(prof, t, &len);
        map[t] = pn_snapshot_trait_find(snap, id, len);
    }
    if (!(out = fopen(path, "wb"))) {
        pn_cli_error(cmd, "%s: cannot write: %s", path, strerror(errno));
        goto done;
    }
    /* "Now" for a file of events is its latest event: recency windows in segment rules
     * (FREQUENCY([…] <= 7D)) count back from there. Two slices of the visitors are classified
     * at once (a snapshot is read-only, so sharing it is safe) and written in store order. */
    uint32_t V = (uint32_t)pn_profiles_visitor_count(prof);
    for (int i = 0; i < 2; i++)
        parts[i] = (slice){.snap = snap, .prof = prof, .aud = aud, .map = map, .now = pn_profiles_max_ts(prof),
                           .v0 = i == 0 ? 0 : V / 2, .v1 = i == 0 ? V / 2 : V};
    pthread_t th;
    if (pthread_create(&th, NULL, classify_slice, &parts[1]) == 0) {
        classify_slice(&parts[0]);
        pthread_join(th, NULL);
    } else {
        classify_slice(&parts[0]);
        classify_slice(&parts[1]);
    }
    for (int i = 0; i < 2; i++) {
        if (parts[i].failed) {
            pn_cli_error(cmd, "%s", parts[i].err.message);
            goto done;
        }
        if (parts[i].len && fwrite(parts[i].buf, 1, parts[i].len, out) != parts[i].len) {
            pn_cli_error(cmd, "%s: write failed: %s", path, strerror(errno));
            goto done;
        }
    }
    if (fflush(out) != 0 || ferror(out)) {
        pn_cli_error(cmd, "%s: write failed: %s", path, strerror(errno));
        goto done;
    }
    rc = 0;
done:
    if (out && fclose(out) != 0 && rc == 0) {
        pn_cli_error(cmd, "%s: write failed: %s", path, strerror(errno));
        rc = -1;
    }
    for (int i = 0; i < 2; i++)
        free(parts[i].buf);
    free(map);
    pn_audience_free(aud);
    return rc;
}
