/* The event log (event_internal.h): STORE-eventlog/, segment files that /event appends to, one
 * writer thread, group commit.
 *
 * Calls queue while a commit runs; the next commit takes them all: one write of their records
 * and one fdatasync, whose cost is shared by every call that arrived meanwhile. The segments
 * are written once full of zeros when created and then only overwritten, never grown, so an
 * fdatasync flushes the records' own blocks and no file system metadata: it does not wait for
 * the journal, which the store's own commits and checkpoints keep busy.
 *
 * Appends go through O_DIRECT where the file system has it, a whole 4 KiB block at a time (the
 * block the last commit ended in, kept in memory, with the new records): buffered writes dirtied
 * the page cache's folios, which for a segment written full of zeros are up to 1 MiB, and each
 * fdatasync then wrote the whole folio (measured: in a 10 s run of the load benchmark the writer
 * caused 509 MB of disk writes for 23 MB of records, now 61 MB; in a test of 3 KiB appends,
 * 1 MiB of disk writes each, 7 KiB with O_DIRECT).
 *
 * A record: magic, body length, sequence number (1, 2, ... across segments), XXH64 of the body
 * seeded with the sequence number, then the body (account, time, uuid, payload). Segments are
 * recycled once the ingester has moved all their events into the store; what a recycled segment
 * still holds past its new records is older (lower sequence numbers), so reading stops there.
 * Recovery follows each segment's chain of valid consecutive records; a torn last record (a
 * crash during its write) fails its checksum and was never acknowledged.
 *
 * What the store's tables do not have yet is also kept in memory (event_pending.c): readers of a
 * visitor take the rest from there, and the ingester takes its batches from there. */
#define _GNU_SOURCE 1 /* O_DIRECT */
#include "event_internal.h"
#include "histogram.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#define MAGIC 0x50454e56u                 /* "VNEP" on disk: little-endian "PNEV" */
#define HEADER 24                         /* magic, length, seq, checksum */
#define SEGMENT_BYTES (16u << 20)         /* a segment holds about 60,000 calls */
#define MAX_SEGMENTS 64                   /* 1 GiB of events the store has not taken yet */
/* Group commit. A call that comes after a quiet moment is committed at once. Under load the
 * writer waits, before the next commit, for as many calls as it has just answered plus those that
 * came meanwhile: the clients of a site or an edge worker's connections send their next event as
 * soon as they have an answer, so the calls of one round share one write and one fdatasync (whose
 * processor cost on a virtual machine, each I/O exiting to the hypervisor, would otherwise be paid
 * several times a round) and none waits a whole round for the next. It never waits more than
 * COMMIT_WAIT_US after the last answers went out. */
#define COMMIT_WAIT_US 1000

#define BLOCK 4096 /* the unit of direct writes: a multiple of any disk's logical block */

typedef struct segment {
    int fd;
    int dfd; /* the same file opened with O_DIRECT for appends; -1 where that is not possible */
    char path[4400];
    int64_t first, last; /* sequence numbers of its live chain; 0 when it holds none */
    size_t end;          /* where the next record goes */
} segment;

struct ev_log {
    char dir[4096];
    char log_id[40];
    pthread_t thread;
    int running;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    ev_call *queue, *tail;
    size_t nqueued;  /* calls in the queue */
    size_t wake_at;  /* the writer waits until nqueued reaches this (0: it is not waiting) */
    int stop;
    void (*on_commit)(void *);
    void *ctx;
    void (*resuming)(void *, void *); /* see ev_log_on_resume */
    void (*resumed)(void *);
    void *http_ctx;
    segment segs[MAX_SEGMENTS];
    size_t nsegs, cur;
    int64_t next_seq;
    int broken;     /* the last write failed */
    int keep_all;   /* an event could not be kept in memory: the ingester will not see it before a
                     * restart, so no segment may be reused until then */
    size_t expected;     /* calls expected for the next commit: see COMMIT_WAIT_US */
    int64_t last_answer; /* when the last commit's calls were resumed (srv_monotonic_us) */
    char *buf; /* records of one commit */
    size_t buflen, bufcap;
    unsigned char *dbuf; /* a direct write: the block the last commit ended in, then the records */
    size_t dcap;
    size_t tail_seg, tail_at; /* dbuf starts with the bytes of segment tail_seg from tail_at */
    _Atomic int64_t ingested; /* the ingester's progress */
    /* the writer's own account, logged when it stops: calls a commit, and how long each commit's
     * write and fdatasync took (srv_hist counts microseconds; the batches count calls) */
    srv_hist batch_calls, commit_us;
    ev_pending *pending; /* what the store's tables may not have yet */
};

static void put_u32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static void put_u64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t get_u32(const unsigned char *p)
{
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static uint64_t get_u64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

void ev_log_path(const char *db_path, char *out, size_t cap)
{
    snprintf(out, cap, "%s-eventlog", db_path);
}

const char *ev_log_id(const ev_log *l)
{
    return l->log_id;
}

/* ---- records -------------------------------------------------------------------------------- */

/* Body: account (8), time (8), uuid length (2), uuid, payload. */
static int encode(ev_log *l, int64_t seq, const ev_call *c)
{
    size_t ulen = strlen(c->uuid), body = 18 + ulen + c->payload_len, need = l->buflen + HEADER + body;
    if (vc_grow((void **)&l->buf, &l->bufcap, need, 1))
        return -1;
    unsigned char *h = (unsigned char *)l->buf + l->buflen, *p = h + HEADER;
    put_u64(p, (uint64_t)c->account);
    put_u64(p + 8, (uint64_t)c->now);
    p[16] = (unsigned char)(ulen & 0xff), p[17] = (unsigned char)(ulen >> 8);
    memcpy(p + 18, c->uuid, ulen);
    memcpy(p + 18 + ulen, c->payload, c->payload_len);
    put_u32(h, MAGIC);
    put_u32(h + 4, (uint32_t)body);
    put_u64(h + 8, (uint64_t)seq);
    put_u64(h + 16, XXH64(p, body, (uint64_t)seq));
    l->buflen = need;
    return 0;
}

/* The record at p (n bytes available) into *out if valid and numbered `want` (0: any): its total
 * size, or 0. out->payload is borrowed from p. */
static size_t decode(const unsigned char *p, size_t n, int64_t want, ev_logged *out)
{
    if (n < HEADER || get_u32(p) != MAGIC)
        return 0;
    uint32_t body = get_u32(p + 4);
    int64_t seq = (int64_t)get_u64(p + 8);
    if (body < 18 || body > n - HEADER || (want && seq != want) || seq <= 0 ||
        get_u64(p + 16) != XXH64(p + HEADER, body, (uint64_t)seq))
        return 0;
    const unsigned char *b = p + HEADER;
    size_t ulen = (size_t)b[16] | (size_t)b[17] << 8;
    if (ulen == 0 || ulen > EV_MAX_UUID || 18 + ulen > body)
        return 0;
    out->seq = seq;
    out->account = (int64_t)get_u64(b);
    out->ts = (int64_t)get_u64(b + 8);
    memcpy(out->uuid, b + 18, ulen);
    out->uuid[ulen] = '\0';
    out->len = body - 18 - ulen;
    out->payload = (char *)(b + 18 + ulen);
    out->cids = NULL, out->ncids = 0;
    return HEADER + body;
}

void ev_log_ingested(ev_log *l, int64_t seq)
{
    atomic_store(&l->ingested, seq);
    ev_pending_forget(l->pending, seq);
}

ev_pending *ev_log_pending(ev_log *l)
{
    return l->pending;
}

/* ---- segments ------------------------------------------------------------------------------- */

static int sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

/* The direct descriptor of a segment, or -1 (tmpfs and some other file systems refuse O_DIRECT:
 * the segment is then written through the page cache). */
static void open_direct(segment *s)
{
    s->dfd = open(s->path, O_RDWR | O_DIRECT | O_CLOEXEC);
    if (s->dfd >= 0) /* the zeros or the records read at a start: not needed in the page cache */
        (void)posix_fadvise(s->fd, 0, 0, POSIX_FADV_DONTNEED);
}

/* A new segment full of zeros, durable with its directory entry. */
static int segment_create(ev_log *l, char *err, size_t errcap)
{
    if (l->nsegs == MAX_SEGMENTS)
        return snprintf(err, errcap, "the event log is full: the store has not taken its events (see the errors "
                                     "above)"), -1;
    segment *s = &l->segs[l->nsegs];
    memset(s, 0, sizeof *s);
    s->dfd = -1;
    for (unsigned i = 0;; i++) {
        char path[sizeof s->path];
        snprintf(path, sizeof path, "%s/segment-%03u.log", l->dir, i);
        memcpy(s->path, path, sizeof path);
        s->fd = open(s->path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (s->fd >= 0 || errno != EEXIST)
            break;
    }
    if (s->fd < 0)
        return snprintf(err, errcap, "%s: %s", s->path, strerror(errno)), -1;
    static const char zeros[1 << 16];
    for (size_t off = 0; off < SEGMENT_BYTES; off += sizeof zeros)
        if (pwrite(s->fd, zeros, sizeof zeros, (off_t)off) != (ssize_t)sizeof zeros) {
            snprintf(err, errcap, "%s: %s", s->path, strerror(errno));
            close(s->fd);
            unlink(s->path);
            return -1;
        }
    if (fdatasync(s->fd) || sync_dir(l->dir)) {
        snprintf(err, errcap, "%s: %s", s->path, strerror(errno));
        close(s->fd);
        unlink(s->path);
        return -1;
    }
    open_direct(s);
    l->nsegs++;
    return 0;
}

/* The segment to write next: one whose events are all in the store, or a new one. */
static int rotate(ev_log *l, char *err, size_t errcap)
{
    int64_t ingested = atomic_load(&l->ingested);
    for (size_t i = 0; !l->keep_all && i < l->nsegs; i++)
        if (i != l->cur && l->segs[i].last <= ingested) {
            l->cur = i;
            l->segs[i].first = l->segs[i].last = 0;
            l->segs[i].end = 0;
            return 0;
        }
    if (segment_create(l, err, errcap))
        return -1;
    l->cur = l->nsegs - 1;
    return 0;
}

/* Reads a segment's chain of records: calls f for each (when f is not NULL). */
static int segment_scan(segment *s, int (*f)(void *, const ev_logged *), void *ctx)
{
    unsigned char *data = malloc(SEGMENT_BYTES);
    if (!data)
        return -1;
    ssize_t n = pread(s->fd, data, SEGMENT_BYTES, 0);
    if (n < 0) {
        free(data);
        return -1;
    }
    size_t off = 0;
    int64_t want = 0;
    ev_logged e;
    s->first = s->last = 0;
    for (size_t len; (len = decode(data + off, (size_t)n - off, want, &e)) > 0; off += len) {
        if (!s->first)
            s->first = e.seq;
        s->last = e.seq;
        want = e.seq + 1;
        if (f && f(ctx, &e)) {
            free(data);
            return -1;
        }
    }
    s->end = off;
    free(data);
    return 0;
}

static int read_id(ev_log *l, char *err, size_t errcap)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/id", l->dir);
    FILE *f = fopen(path, "r");
    if (f) {
        int ok = fscanf(f, "%32s", l->log_id) == 1;
        fclose(f);
        if (ok)
            return 0;
    }
    uint8_t raw[16];
    if (srv_random(raw, sizeof raw))
        return snprintf(err, errcap, "no entropy for the event log's id"), -1;
    for (size_t i = 0; i < sizeof raw; i++)
        snprintf(l->log_id + 2 * i, 3, "%02x", raw[i]);
    char tmp[4210];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    int ok = fd >= 0 && write(fd, l->log_id, 32) == 32 && fsync(fd) == 0;
    if (fd >= 0)
        close(fd);
    if (!ok || rename(tmp, path) || sync_dir(l->dir))
        return snprintf(err, errcap, "%s: %s", path, strerror(errno)), -1;
    return 0;
}

/* Opens every segment and finds where writing goes on. */
static int recover(ev_log *l, char *err, size_t errcap)
{
    if (mkdir(l->dir, 0700) && errno != EEXIST)
        return snprintf(err, errcap, "%s: %s", l->dir, strerror(errno)), -1;
    if (read_id(l, err, errcap))
        return -1;
    DIR *d = opendir(l->dir);
    if (!d)
        return snprintf(err, errcap, "%s: %s", l->dir, strerror(errno)), -1;
    for (struct dirent *de; (de = readdir(d)) && l->nsegs < MAX_SEGMENTS;) {
        size_t n = strlen(de->d_name);
        if (strncmp(de->d_name, "segment-", 8) || n < 5 || strcmp(de->d_name + n - 4, ".log"))
            continue;
        segment *s = &l->segs[l->nsegs];
        memset(s, 0, sizeof *s);
        s->dfd = -1;
        char path[sizeof s->path];
        snprintf(path, sizeof path, "%s/%s", l->dir, de->d_name);
        memcpy(s->path, path, sizeof path);
        struct stat st;
        s->fd = open(s->path, O_RDWR | O_CLOEXEC);
        if (s->fd < 0 || fstat(s->fd, &st) || st.st_size != SEGMENT_BYTES || segment_scan(s, NULL, NULL)) {
            /* not one of ours, or cut short (a crash while it was being created): start over */
            if (s->fd >= 0)
                close(s->fd);
            unlink(s->path);
            continue;
        }
        open_direct(s);
        l->nsegs++;
    }
    closedir(d);
    l->next_seq = 1;
    int have = 0;
    for (size_t i = 0; i < l->nsegs; i++)
        if (l->segs[i].last >= l->next_seq) {
            l->next_seq = l->segs[i].last + 1;
            l->cur = i;
            have = 1;
        }
    if (!have && rotate(l, err, errcap))
        return -1;
    /* a spare, so that the first rotation under load does not have to write 16 MiB of zeros */
    if (l->nsegs < 2 && segment_create(l, err, errcap))
        return -1;
    ev_pending_forget(l->pending, l->next_seq - 1); /* numbering: nothing is pending before recovery */
    return 0;
}

typedef struct load_ctx {
    ev_log *l;
    int64_t after;
} load_ctx;

static int load_one(void *vctx, const ev_logged *e)
{
    load_ctx *c = vctx;
    if (e->seq <= c->after)
        return 0;
    vc_link cids[EV_MAX_CIDS];
    size_t ncids = 0;
    ev_payload p;
    if (ev_payload_parse(e->payload, e->len, &p) == 0) {
        ncids = ev_payload_cids(&p, e->ts, cids, EV_MAX_CIDS);
        ev_payload_free(&p);
    }
    return ev_pending_add(c->l->pending, e->seq, e->account, e->uuid, e->ts, e->payload, e->len, NULL, cids, ncids);
}

int ev_log_load_pending(ev_log *l, int64_t after)
{
    /* segments in sequence order, so that pending events are too */
    size_t order[MAX_SEGMENTS], n = 0;
    for (size_t i = 0; i < l->nsegs; i++)
        if (l->segs[i].last > after) {
            size_t at = n++;
            while (at > 0 && l->segs[order[at - 1]].first > l->segs[i].first) {
                order[at] = order[at - 1];
                at--;
            }
            order[at] = i;
        }
    load_ctx c = {l, after};
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = segment_scan(&l->segs[order[i]], load_one, &c);
    ev_pending_forget(l->pending, after);
    if (after >= l->next_seq) /* the store is ahead of this log (a new log beside it): number on */
        l->next_seq = after + 1;
    return rc;
}

/* ---- the writer ----------------------------------------------------------------------------- */

/* Writes the records in l->buf at s->end with O_DIRECT: the blocks from the one s->end is in to
 * the one the records end in, the first block's earlier bytes as they are, the last block's rest
 * zeros (past the end a segment holds nothing live). 1: done; 0: the file system refused a direct
 * write (the caller writes through the page cache); -1: failed. */
static int write_direct(ev_log *l, segment *s)
{
    size_t start = s->end & ~(size_t)(BLOCK - 1), head = s->end - start;
    size_t total = head + l->buflen, padded = (total + BLOCK - 1) & ~(size_t)(BLOCK - 1);
    if (padded > l->dcap) {
        void *g = NULL;
        if (posix_memalign(&g, BLOCK, padded))
            return -1;
        if (l->dbuf)
            memcpy(g, l->dbuf, BLOCK);
        free(l->dbuf);
        l->dbuf = g;
        l->dcap = padded;
    }
    if (head && (l->tail_seg != l->cur || l->tail_at != start) &&
        pread(s->fd, l->dbuf, head, (off_t)start) != (ssize_t)head) /* after a restart or a failure */
        return -1;
    memcpy(l->dbuf + head, l->buf, l->buflen);
    memset(l->dbuf + total, 0, padded - total);
    l->tail_seg = SIZE_MAX;
    if (pwrite(s->dfd, l->dbuf, padded, (off_t)start) != (ssize_t)padded) {
        if (errno != EINVAL)
            return -1;
        close(s->dfd);
        s->dfd = -1;
        return 0;
    }
    if (fdatasync(s->dfd))
        return -1;
    size_t last = total & ~(size_t)(BLOCK - 1); /* the block the records end in, for the next commit */
    memmove(l->dbuf, l->dbuf + last, total - last);
    l->tail_seg = l->cur;
    l->tail_at = start + last;
    return 1;
}

/* Writes the records in l->buf at the current segment's end, durably. */
static int flush_records(ev_log *l)
{
    segment *s = &l->segs[l->cur];
    if (l->buflen == 0)
        return 0;
    int direct = s->dfd >= 0 ? write_direct(l, s) : 0;
    if (direct < 0 ||
        (!direct && (pwrite(s->fd, l->buf, l->buflen, (off_t)s->end) != (ssize_t)l->buflen || fdatasync(s->fd))))
        return -1;
    s->end += l->buflen;
    l->buflen = 0;
    return 0;
}

static int commit_batch(ev_log *l, ev_call *batch, char *err, size_t errcap)
{
    int64_t seq = l->next_seq;
    l->buflen = 0;
    if (l->broken) { /* after a failed write the segment's chain may have a hole: start a new one */
        if (rotate(l, err, errcap))
            return -1;
        l->broken = 0;
    }
    for (ev_call *c = batch; c; c = c->next) {
        size_t size = HEADER + 18 + strlen(c->uuid) + c->payload_len;
        if (size > SEGMENT_BYTES)
            return snprintf(err, errcap, "an event of %zu bytes is larger than a log segment", size), -1;
        segment *s = &l->segs[l->cur];
        if (s->end + l->buflen + size > SEGMENT_BYTES) { /* records never straddle segments */
            if (flush_records(l))
                return snprintf(err, errcap, "%s: %s", s->path, strerror(errno)), -1;
            if (rotate(l, err, errcap))
                return -1;
        }
        segment *t = &l->segs[l->cur];
        if (encode(l, seq, c))
            return snprintf(err, errcap, "out of memory"), -1;
        if (!t->first)
            t->first = seq;
        t->last = seq;
        c->seq = seq++;
        l->next_seq = seq; /* a number given out is never given again, even if the write fails */
    }
    if (flush_records(l))
        return snprintf(err, errcap, "%s: %s", l->segs[l->cur].path, strerror(errno)), -1;
    l->next_seq = seq;
    return 0;
}

static void *run(void *arg)
{
    ev_log *l = arg;
    srv_thread_name("pn-eventlog");
    srv_background_thread(-5);
    pthread_mutex_lock(&l->mu);
    for (;;) {
        while (!l->queue && !l->stop) {
            l->wake_at = 1;
            pthread_cond_wait(&l->cv, &l->mu);
        }
        if (!l->queue && l->stop)
            break;
        while (!l->stop && l->nqueued < l->expected) {
            int64_t wait = l->last_answer + COMMIT_WAIT_US - srv_monotonic_us();
            if (wait <= 0)
                break;
            l->wake_at = l->expected;
            struct timespec until;
            clock_gettime(CLOCK_MONOTONIC, &until);
            until.tv_nsec += (long)wait * 1000;
            until.tv_sec += until.tv_nsec / 1000000000L;
            until.tv_nsec %= 1000000000L;
            pthread_cond_timedwait(&l->cv, &l->mu, &until);
        }
        l->wake_at = 0;
        ev_call *batch = l->queue;
        size_t nbatch = l->nqueued;
        l->queue = l->tail = NULL;
        l->nqueued = 0;
        void (*on_commit)(void *) = l->on_commit;
        void *ctx = l->ctx;
        pthread_mutex_unlock(&l->mu);
        char err[512];
        int64_t began = srv_monotonic_us();
        int failed = commit_batch(l, batch, err, sizeof err);
        srv_hist_add(&l->commit_us, srv_monotonic_us() - began);
        srv_hist_add(&l->batch_calls, (int64_t)nbatch);
        if (failed) {
            /* none of them is acknowledged; records that did reach the disk are found again by
             * a recovery and stored (once), like an event whose answer was lost */
            fprintf(stderr, "personae serve: /event: the event log could not save %s: %s\n",
                    batch->next ? "a batch of events" : "an event", err);
            for (ev_call *c = batch; c; c = c->next) {
                ev_call_fail(c, 503, "the store could not save the event: nothing was stored, send it again");
                c->seq = 0;
            }
            l->buflen = 0;
            l->broken = 1;
        } else {
            for (ev_call *c = batch; c; c = c->next)
                if (ev_pending_add(l->pending, c->seq, c->account, c->uuid, c->now, c->payload, c->payload_len, &c->payload,
                                c->cids, c->ncids)) {
                    /* it is in the log, durable: the next start stores it; until then no space
                     * of the log is reused */
                    fprintf(stderr, "personae serve: /event: out of memory keeping event %lld; it is stored at the "
                                    "next start\n", (long long)c->seq);
                    l->keep_all = 1;
                }
            if (on_commit)
                on_commit(ctx);
        }
        for (ev_call *c = batch, *next; c; c = next) {
            next = c->next;
            c->next = NULL;
            if (l->resuming)
                l->resuming(l->http_ctx, c->conn); /* (after it, c may be answered and freed) */
        }
        if (l->resumed)
            l->resumed(l->http_ctx); /* one wake-up a loop for the whole batch */
        pthread_mutex_lock(&l->mu);
        l->last_answer = srv_monotonic_us();
        l->expected = nbatch + l->nqueued;
    }
    pthread_mutex_unlock(&l->mu);
    return NULL;
}

void ev_log_on_commit(ev_log *l, void (*fn)(void *), void *ctx)
{
    pthread_mutex_lock(&l->mu);
    l->on_commit = fn;
    l->ctx = ctx;
    pthread_mutex_unlock(&l->mu);
}

void ev_log_on_resume(ev_log *l, void (*resuming)(void *, void *), void (*resumed)(void *),
                      void *ctx)
{
    l->resuming = resuming;
    l->resumed = resumed;
    l->http_ctx = ctx;
}

int ev_log_start(const char *db_path, ev_log **out, char *err, size_t errcap)
{
    ev_log *l = calloc(1, sizeof *l);
    if (!l)
        return snprintf(err, errcap, "out of memory"), -1;
    l->tail_seg = SIZE_MAX; /* dbuf holds no block yet */
    pthread_mutex_init(&l->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC); /* the waits are of a millisecond or less */
    pthread_cond_init(&l->cv, &ca);
    pthread_condattr_destroy(&ca);
    ev_log_path(db_path, l->dir, sizeof l->dir);
    if (!(l->pending = ev_pending_new()) || recover(l, err, errcap)) {
        if (!l->pending)
            snprintf(err, errcap, "out of memory");
        ev_log_free(l);
        return -1;
    }
    *out = l;
    return 0;
}

int ev_log_run(ev_log *l, char *err, size_t errcap)
{
    if (pthread_create(&l->thread, NULL, run, l))
        return snprintf(err, errcap, "cannot start the event log's writer thread"), -1;
    l->running = 1;
    return 0;
}

int ev_log_queue(ev_log *l, ev_call *c)
{
    pthread_mutex_lock(&l->mu);
    if (l->stop || !l->running) {
        pthread_mutex_unlock(&l->mu);
        return -1;
    }
    if (l->tail)
        l->tail->next = c;
    else
        l->queue = c;
    l->tail = c;
    int wake = ++l->nqueued == l->wake_at;
    pthread_mutex_unlock(&l->mu);
    /* after the unlock: signalled under the lock, the writer woke only to wait for it (a futex
     * call on each side, once a commit; seen with perf on the HTTP loops) */
    if (wake)
        pthread_cond_signal(&l->cv);
    return 0;
}

void ev_log_stop(ev_log *l)
{
    if (!l)
        return;
    pthread_mutex_lock(&l->mu);
    l->stop = 1;
    pthread_cond_signal(&l->cv);
    pthread_mutex_unlock(&l->mu);
    if (!l->running)
        return;
    pthread_join(l->thread, NULL);
    l->running = 0;
    if (l->commit_us.n) {
        char took[160];
        srv_hist_format(&l->commit_us, took, sizeof took);
        fprintf(stderr,
                "personae serve: /event: the event log made %llu commits of %lld calls (median; p99 %lld); "
                "each commit's write and fdatasync took %s\n",
                (unsigned long long)l->commit_us.n, (long long)srv_hist_quantile(&l->batch_calls, 0.5),
                (long long)srv_hist_quantile(&l->batch_calls, 0.99), took);
    }
}

void ev_log_free(ev_log *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->nsegs; i++)
        if (l->segs[i].fd >= 0)
            close(l->segs[i].fd);
    for (size_t i = 0; i < l->nsegs; i++)
        if (l->segs[i].dfd >= 0)
            close(l->segs[i].dfd);
    free(l->dbuf);
    ev_pending_free(l->pending);
    free(l->buf);
    pthread_cond_destroy(&l->cv);
    pthread_mutex_destroy(&l->mu);
    free(l);
}
