/* Loading an events file (TSV or JSON Lines) into a profile store. Large files are parsed in
 * two halves on two threads, one store each, merged in file order: the result is the same bytes
 * as one thread's (pn_profiles_merge keeps ids and order), in about half the time. */
#include "events_file.h"
#include "cli.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define CHUNK (1u << 22)
#define SPLIT_MIN (32u << 20) /* below this one thread is quicker than starting two */

typedef struct part {
    const char *path;
    off_t start, end;     /* byte range; both at line starts */
    pn_profiles *store;
    uint64_t lines;       /* lines read; on error, the failing line's number within the part */
    int failed;
    char message[PN_ERROR_MESSAGE_MAX + 64];
} part;

static void *parse_part(void *arg)
{
    part *pt = arg;
    FILE *f = fopen(pt->path, "rb");
    char *buf = malloc(CHUNK);
    pn_error err;
    if (!f || !buf) {
        snprintf(pt->message, sizeof pt->message, "cannot read: %s", f ? "out of memory" : strerror(errno));
        pt->failed = 1;
        goto out;
    }
    if (fseeko(f, pt->start, SEEK_SET) != 0) {
        snprintf(pt->message, sizeof pt->message, "cannot seek: %s", strerror(errno));
        pt->failed = 1;
        goto out;
    }
    off_t left = pt->end - pt->start;
    size_t have = 0;
    int eof = 0;
    while (!eof) {
        size_t want = CHUNK - have;
        if ((off_t)want > left)
            want = (size_t)left;
        size_t got = want ? fread(buf + have, 1, want, f) : 0;
        if (got < want && ferror(f)) {
            snprintf(pt->message, sizeof pt->message, "read error: %s", strerror(errno));
            pt->failed = 1;
            goto out;
        }
        left -= (off_t)got;
        eof = got == 0 || left == 0;
        have += got;
        size_t start = 0;
        for (;;) {
            char *nl = memchr(buf + start, '\n', have - start);
            if (!nl && (!eof || start == have))
                break;
            size_t end = nl ? (size_t)(nl - buf) : have;
            pt->lines++;
            if (pn_profiles_add_line(pt->store, buf + start, end - start, &err)) {
                snprintf(pt->message, sizeof pt->message, "%s", err.message);
                pt->failed = 1;
                goto out;
            }
            start = nl ? end + 1 : have;
        }
        memmove(buf, buf + start, have - start);
        have -= start;
        if (have == CHUNK) {
            pt->lines++;
            snprintf(pt->message, sizeof pt->message, "line is longer than %u bytes", CHUNK);
            pt->failed = 1;
            goto out;
        }
    }
out:
    free(buf);
    if (f)
        fclose(f);
    return NULL;
}

/* The first line start at or after `at`. */
static off_t line_start_after(const char *path, off_t at, off_t size)
{
    FILE *f = fopen(path, "rb");
    if (!f || fseeko(f, at - 1, SEEK_SET) != 0) {
        if (f)
            fclose(f);
        return size;
    }
    int c;
    off_t pos = at - 1;
    while ((c = fgetc(f)) != EOF && c != '\n')
        pos++;
    fclose(f);
    return c == EOF ? size : pos + 1;
}

int pn_cli_load_events(const char *cmd, const char *path, pn_profiles *p)
{
    struct stat sb;
    if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        pn_cli_error(cmd, "%s: cannot open: %s", path, errno ? strerror(errno) : "not a regular file");
        return -1;
    }
    pn_error err;
    off_t size = sb.st_size;
    /* Events lines are rarely shorter than 16 bytes; pages reserved but never touched cost no
     * memory, and the arrays then never need copying as they grow. */
    pn_profiles_reserve(p, (uint64_t)size / 16 + 16, &err);

    part parts[2] = {{.path = path, .start = 0, .end = size, .store = p}};
    int nparts = 1;
    pn_profiles *second = NULL;
    if (size >= (off_t)SPLIT_MIN && pn_profiles_new(&second, &err) == PN_OK) {
        off_t mid = line_start_after(path, size / 2, size);
        if (mid < size) {
            parts[0].end = mid;
            parts[1] = (part){.path = path, .start = mid, .end = size, .store = second};
            nparts = 2;
        }
    }
    pthread_t th;
    int threaded = nparts == 2 && pthread_create(&th, NULL, parse_part, &parts[1]) == 0;
    parse_part(&parts[0]);
    if (threaded)
        pthread_join(th, NULL);
    else if (nparts == 2)
        parse_part(&parts[1]);

    int rc = 0;
    if (parts[0].failed) {
        pn_cli_error(cmd, "%s:%llu: %s", path, (unsigned long long)parts[0].lines, parts[0].message);
        rc = -1;
    } else if (nparts == 2 && parts[1].failed) {
        pn_cli_error(cmd, "%s:%llu: %s", path, (unsigned long long)(parts[0].lines + parts[1].lines), parts[1].message);
        rc = -1;
    } else if (nparts == 2 && pn_profiles_merge(p, second, &err)) {
        pn_cli_error(cmd, "%s: %s", path, err.message);
        rc = -1;
    }
    pn_profiles_free(second);
    if (!rc && pn_profiles_finish(p, &err)) {
        pn_cli_error(cmd, "%s: %s", path, err.message);
        rc = -1;
    }
    return rc;
}
