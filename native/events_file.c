/* Loading an events file (TSV or JSON Lines) into a profile store. The file is mapped, not
 * copied; a large one is parsed in two halves on two threads, one store each, merged in file
 * order, and sealed with the per-visitor sort split across the same two threads. The result is
 * the same store, byte for byte, as one thread reading line by line. */
#define _DEFAULT_SOURCE /* madvise */
#include "events_file.h"
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <stdint.h>
#include <unistd.h>

#define SPLIT_MIN (16u << 20) /* below this one thread is quicker than starting two */

typedef struct part {
    const char *buf;
    size_t len;
    pn_profiles *store;
    uint64_t lines;   /* lines read; on error, the failing line's number within the part */
    pn_status st;
    pn_error err;
} part;

/* Parses one part in chunks of whole lines. Each chunk is faulted in with one call before it is
 * read and released right after (the pages stay in the page cache; they just stop counting
 * against this process), so a 2 GB file never sits in the process's memory whole. */
static void *parse_part(void *arg)
{
    part *pt = arg;
    const size_t chunk = 32u << 20;
    const uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    const char *at = pt->buf, *end = pt->buf + pt->len;
    while (at < end && !pt->st) {
        const char *stop = (size_t)(end - at) > chunk ? at + chunk : end;
        if (stop < end) {
            const char *nl = memchr(stop, '\n', (size_t)(end - stop));
            stop = nl ? nl + 1 : end;
        }
        uintptr_t lo = (uintptr_t)at & ~(page - 1), hi = (uintptr_t)stop;
#ifdef MADV_POPULATE_READ
        madvise((void *)lo, hi - lo, MADV_POPULATE_READ); /* Linux 5.14+; refused: pages fault in as read */
#endif
        uint64_t lines = 0;
        pt->st = pn_profiles_add_lines(pt->store, at, (size_t)(stop - at), &lines, &pt->err);
        pt->lines += lines;
        /* Release whole pages that lie entirely before the next chunk. */
        uintptr_t done = (uintptr_t)stop & ~(page - 1);
        if (done > lo)
            madvise((void *)lo, done - lo, MADV_DONTNEED);
        at = stop;
    }
    return NULL;
}

typedef struct sort_job {
    pn_profiles *store;
    size_t i, n;
} sort_job;

static void *sort_part(void *arg)
{
    sort_job *j = arg;
    pn_profiles_finish_part(j->store, j->i, j->n);
    return NULL;
}

/* Runs fn(a) on a second thread and fn(b) on this one; falls back to running both here. */
static void run_two(void *(*fn)(void *), void *a, void *b)
{
    pthread_t th;
    if (pthread_create(&th, NULL, fn, a) == 0) {
        fn(b);
        pthread_join(th, NULL);
    } else {
        fn(a);
        fn(b);
    }
}

int pn_cli_load_events(const char *cmd, const char *path, pn_profiles *p)
{
    int fd = open(path, O_RDONLY);
    struct stat sb;
    if (fd < 0 || fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        pn_cli_error(cmd, "%s: cannot open: %s", path, fd < 0 ? strerror(errno) : "not a regular file");
        if (fd >= 0)
            close(fd);
        return -1;
    }
    size_t size = (size_t)sb.st_size;
    const char *buf = "";
    if (size > 0) {
        void *m = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (m == MAP_FAILED) {
            pn_cli_error(cmd, "%s: cannot map: %s", path, strerror(errno));
            close(fd);
            return -1;
        }
        buf = m;
    }
    close(fd);

    pn_error err;
    /* Events lines are rarely shorter than 16 bytes; reserved pages that are never touched
     * cost nothing, and the arrays never need copying as they grow. */
    pn_profiles_reserve(p, (uint64_t)size / 16 + 16, &err);
    part parts[2] = {{.buf = buf, .len = size, .store = p}};
    pn_profiles *second = NULL;
    const char *mid = size >= SPLIT_MIN ? memchr(buf + size / 2, '\n', size - size / 2) : NULL;
    int rc = 0;
    if (mid && mid + 1 < buf + size && pn_profiles_new(&second, &err) == PN_OK) {
        pn_profiles_reserve(second, (uint64_t)size / 32 + 16, &err);
        parts[0].len = (size_t)(mid + 1 - buf);
        parts[1] = (part){.buf = mid + 1, .len = size - parts[0].len, .store = second};
        run_two(parse_part, &parts[1], &parts[0]);
    } else {
        parse_part(&parts[0]);
    }
    if (parts[0].st) {
        pn_cli_error(cmd, "%s:%llu: %s", path, (unsigned long long)parts[0].lines, parts[0].err.message);
        rc = -1;
    } else if (second && parts[1].st) {
        pn_cli_error(cmd, "%s:%llu: %s", path, (unsigned long long)(parts[0].lines + parts[1].lines),
                     parts[1].err.message);
        rc = -1;
    } else if (second && pn_profiles_merge(p, second, &err)) {
        pn_cli_error(cmd, "%s: %s", path, err.message);
        rc = -1;
    }
    pn_profiles_free(second);
    if (size > 0)
        munmap((void *)buf, size);
    if (rc)
        return rc;

    if (pn_profiles_finish_begin(p, &err) == PN_OK) {
        sort_job jobs[2] = {{p, 0, 2}, {p, 1, 2}};
        run_two(sort_part, &jobs[1], &jobs[0]);
        if (pn_profiles_finish_end(p, &err) == PN_OK)
            return 0;
    }
    pn_cli_error(cmd, "%s: %s", path, err.message);
    return -1;
}
