/* The server's requests: routing, JSON and binary answers, one log line a request (an /event
 * call only when it fails: there are thousands a second), and the start and stop of `serve`.
 *
 * Connections are the polling loops' (http_loop.h: one per processor). /event calls (event.h) are
 * computed on the loop that read them and wait for their commit deferred. API requests (and
 * /snapshot/{token}, the demo API) are handed to API_THREADS threads of their own, the connection
 * deferred meanwhile: the API runs one request at a time under its lock, and some requests take
 * long (a 64 MiB onboarding, ?wait=true on a training), which must never stall the /event
 * connections that share a polling loop. Whoever hands connections back (the event log's writer
 * after a commit, an API thread) wakes each loop concerned once for the batch (hl_wake). */
#include "cors.h"
#include "event.h"
#include "histogram.h"
#include "http_loop.h"
#include "srv.h"
#include "server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#define API_THREADS 4

typedef struct server server;
typedef struct conn_state conn_state;

/* the server's own account of the /event calls a loop answered after their commit (the loop's
 * thread only; merged and logged when the loops stop): from the request read to the call queued
 * for the event log (its evaluation), from there until the loop takes it up again after its
 * commit (the wait for the round, the commit, the wake-up), from there to the answer's last byte
 * handed to the kernel */
typedef struct loop_times {
    srv_hist evaluated, committed, sent, inside;
} loop_times;

struct server {
    sqlite3 *db;
    hl_server *hl;
    loop_times *times; /* one per loop */
    unsigned nloops;
    /* API requests waiting for an API thread */
    pthread_mutex_t jobs_mu;
    pthread_cond_t jobs_cv;
    conn_state *jobs, *jobs_tail;
    int jobs_stop;
    pthread_t api_threads[API_THREADS];
    size_t napi_threads;
    srv_sched *sched;
    pthread_mutex_t lock; /* one request at a time on the API connection */
    srv_config cfg;
    ev_runtime *ev;
    const char *demo_dir, *wasm_dir; /* serve --demo-dir: the web demo (demo.c); NULL without */
    cors *cors;                      /* serve --allow-origin: pages that may call /event */
};

enum { ROUTE_API, ROUTE_EVENT, ROUTE_TOKEN, ROUTE_DEMO_API, ROUTE_DEMO_FILE };

/* One request being answered (hl_set_data). */
struct conn_state {
    hl_conn *conn;
    int route;
    ev_call *call;   /* an /event call */
    conn_state *next; /* in the API threads' queue */
    srv_req q;        /* an API request (its strings are the request's: valid until answered) */
    srv_resp resp;    /* its answer */
    const char *cors; /* header lines for a page of another origin (cors.h; "" for none) */
    int64_t began, queued, resumed; /* an /event call's times (srv_monotonic_us; see loop_times) */
};

static size_t limit_for(const char *path)
{
    return strcmp(path, "/api/v1/onboard") == 0 ? SRV_MAX_ONBOARD_BODY : SRV_MAX_JSON_BODY;
}

static const char oom[] = "{\"error\":\"out of memory\"}\n";

/* The demo's answers are not cached without asking, nor read as another type than they say. */
#define DEMO_HEADERS "Cache-Control: no-cache\r\nX-Content-Type-Options: nosniff\r\n"

/* A static file of the web demo, or a 404/405/301 without touching the store. */
static void send_demo_file(server *s, hl_conn *conn, const http_request_info *req)
{
    static const char not_found[] = "not found\n", not_allowed[] = "method not allowed (allowed: GET, HEAD)\n";
    static const char plain[] = "text/plain; charset=utf-8";
    const char *method = req->method, *url = req->path;
    unsigned status;
    if (strcmp(method, "GET") && strcmp(method, "HEAD")) {
        status = 405;
        hl_answer(conn, status, plain, "Allow: GET, HEAD\r\n" DEMO_HEADERS, (char *)not_allowed, sizeof not_allowed - 1, NULL);
    } else if (strcmp(url, "/demo") == 0) {
        status = 301;
        hl_answer(conn, status, plain, "Location: /demo/\r\n" DEMO_HEADERS, NULL, 0, NULL);
    } else {
        int fd = -1;
        uint64_t size = 0;
        const char *ctype = plain;
        char *data = NULL;
        status = demo_open(s->demo_dir, s->wasm_dir, url, &fd, &size, &ctype) == 200 ? 200 : 404;
        if (status == 200) {
            /* the demo's files are small (the largest, the WebAssembly module, some 100 KiB) */
            data = size < ((uint64_t)1 << 30) ? malloc(size ? size : 1) : NULL;
            size_t got = 0;
            while (data && got < size) {
                ssize_t n = pread(fd, data + got, size - got, (off_t)got);
                if (n <= 0 && !(n < 0 && errno == EINTR))
                    break;
                got += n > 0 ? (size_t)n : 0;
            }
            close(fd);
            if (!data || got < size) {
                free(data);
                status = 500;
                hl_answer(conn, status, "application/json", NULL, (char *)oom, sizeof oom - 1, NULL);
            } else {
                hl_answer(conn, status, ctype, DEMO_HEADERS, data, size, free);
            }
        } else {
            hl_answer(conn, status, plain, DEMO_HEADERS, (char *)not_found, sizeof not_found - 1, NULL);
        }
    }
    if (status != 200)
        fprintf(stderr, "personae serve: %s %.200s %u\n", method, url, status);
}

/* An API answer: its JSON (with a final newline) or binary body, its ETag and the header lines
 * `more`. */
static void send_resp(hl_conn *conn, srv_resp *r, const char *more)
{
    char *text = NULL;
    size_t len = 0;
    if (r->bin) {
        text = r->bin;
        len = r->bin_len;
        r->bin = NULL;
    } else if (r->json) {
        char *j = cJSON_PrintUnformatted(r->json);
        len = j ? strlen(j) : 0;
        text = j ? malloc(len + 2) : NULL;
        if (text) {
            memcpy(text, j, len);
            text[len++] = '\n';
        }
        free(j);
        if (!text) {
            hl_answer(conn, 500, "application/json", NULL, (char *)oom, sizeof oom - 1, NULL);
            return;
        }
    }
    char headers[640] = ""; /* (an ETag, and an origin of at most 253 bytes) */
    if (r->etag[0])
        snprintf(headers, sizeof headers, "ETag: %s\r\nCache-Control: private, no-cache\r\n%s", r->etag, more);
    else
        snprintf(headers, sizeof headers, "%s", more);
    hl_answer(conn, (unsigned)r->status, text ? (r->ctype ? r->ctype : "application/json") : NULL, headers, text,
              text ? len : 0, free);
}

static void send_event(hl_conn *conn, conn_state *st, const char *method)
{
    char headers[800], *body = NULL;
    size_t len = 0;
    unsigned status = ev_answer(st->call, &body, &len, headers, sizeof headers);
    size_t used = strlen(headers), more = strlen(st->cors);
    if (used + more < sizeof headers) /* (a cookie line and an origin of at most 253 bytes: always) */
        memcpy(headers + used, st->cors, more + 1);
    if (status != 200)
        fprintf(stderr, "personae serve: %s /event %u\n", method, status);
    if (body)
        hl_answer(conn, status, "application/json", headers, body, len, free);
    else
        hl_answer(conn, 500, "application/json", headers, (char *)oom, sizeof oom - 1, NULL);
}

/* OPTIONS on /event or /snapshot/{token}: a browser's preflight (a page of another origin about
 * to POST JSON, say), or a client asking what the path allows. */
static void preflight(server *s, hl_conn *conn, conn_state *st, const http_request_info *req)
{
    const char *allow = st->route == ROUTE_EVENT ? "Allow: GET, POST, OPTIONS\r\n" : "Allow: GET, OPTIONS\r\n";
    char headers[800];
    if (st->route == ROUTE_TOKEN) {
        snprintf(headers, sizeof headers, "%s" CORS_TOKEN_HEADERS "Access-Control-Allow-Methods: GET\r\n"
                 "Access-Control-Max-Age: 7200\r\n", allow);
    } else if (!req->origin) {
        snprintf(headers, sizeof headers, "%s", allow);
    } else {
        const char *ok = cors_event_preflight(s->cors, req->origin);
        if (!ok) {
            static const char no[] = "{\"error\":\"this origin may not call /event: the server lists the origins of the "
                                     "pages that may (serve --allow-origin)\"}\n";
            fprintf(stderr, "personae serve: OPTIONS /event from an origin not allowed: %.200s\n", req->origin);
            hl_answer(conn, 403, "application/json", allow, (char *)no, sizeof no - 1, NULL);
            return;
        }
        snprintf(headers, sizeof headers, "%s%s", allow, ok);
    }
    hl_answer(conn, 204, NULL, headers, NULL, 0, NULL);
}

/* A complete request, on its loop (hl_handlers.request). */
static void on_request(void *ctx, hl_conn *conn, const http_request_info *req)
{
    server *s = ctx;
    conn_state *st = calloc(1, sizeof *st);
    if (!st) {
        hl_answer(conn, 500, "application/json", NULL, (char *)oom, sizeof oom - 1, NULL);
        return;
    }
    hl_set_data(conn, st);
    st->conn = conn;
    const char *url = req->path;
    st->route = strcmp(url, "/event") == 0 ? ROUTE_EVENT : strncmp(url, "/snapshot/", 10) == 0 ? ROUTE_TOKEN : ROUTE_API;
    if (s->demo_dir && (strcmp(url, "/demo") == 0 || strncmp(url, "/demo/", 6) == 0))
        st->route = strncmp(url, "/demo/api/", 10) == 0 ? ROUTE_DEMO_API : ROUTE_DEMO_FILE;
    st->q.method = req->method; /* (static strings) */
    st->cors = st->route == ROUTE_TOKEN ? CORS_TOKEN_HEADERS
               : st->route == ROUTE_EVENT ? cors_event_headers(s->cors, req->origin)
                                          : "";
    if ((st->route == ROUTE_EVENT || st->route == ROUTE_TOKEN) && strcmp(req->method, "OPTIONS") == 0) {
        preflight(s, conn, st, req);
        return;
    }
    if (st->route == ROUTE_EVENT && !req->too_big) {
        st->began = srv_monotonic_us();
        int suspended = 0;
        st->call = ev_begin(s->ev, conn, req, &suspended);
        if (!st->call) {
            hl_answer(conn, 500, "application/json", NULL, (char *)oom, sizeof oom - 1, NULL);
        } else if (suspended) {
            st->queued = srv_monotonic_us();
            hl_defer(conn); /* handed back by the event log's writer after the commit */
        } else {
            send_event(conn, st, req->method);
        }
        return;
    }
    if (st->route == ROUTE_DEMO_FILE) {
        send_demo_file(s, conn, req);
        return;
    }
    /* header and argument values live as long as the request: the API thread reads them */
    st->q = (srv_req){req->method,
                      url,
                      req->authorization,
                      http_arg_get(req, "wait"),
                      http_arg_get(req, "destination"),
                      req->if_none_match,
                      req->body ? req->body : "",
                      req->body_len,
                      http_arg_get(req, "limit"),
                      http_arg_get(req, "after"),
                      http_arg_get(req, "segment_id")};
    if (req->too_big) {
        srv_fail(&st->resp, 413, "the request body is larger than the limit of %zu bytes for %.100s", req->limit, url);
        fprintf(stderr, "personae serve: %s %.200s 413\n", req->method, url);
        send_resp(conn, &st->resp, st->cors);
        return;
    }
    hl_defer(conn); /* handed back by the API thread once the answer is ready */
    pthread_mutex_lock(&s->jobs_mu);
    if (s->jobs_tail)
        s->jobs_tail->next = st;
    else
        s->jobs = st;
    s->jobs_tail = st;
    pthread_cond_signal(&s->jobs_cv);
    pthread_mutex_unlock(&s->jobs_mu);
}

/* A deferred request handed back, on its loop (hl_handlers.resumed). */
static void on_resumed(void *ctx, hl_conn *conn)
{
    (void)ctx;
    conn_state *st = hl_get_data(conn);
    if (st->route == ROUTE_EVENT) {
        st->resumed = srv_monotonic_us();
        send_event(conn, st, st->q.method);
        return;
    }
    /* a token is a credential for its snapshot: it is not logged */
    fprintf(stderr, "personae serve: %s %.200s %d\n", st->q.method, st->route == ROUTE_TOKEN ? "/snapshot/<token>" : st->q.path,
            st->resp.status);
    send_resp(conn, &st->resp, st->cors);
}

/* The request's answer went out, or its connection closed (hl_handlers.done). */
static void on_done(void *ctx, hl_conn *conn, int ok)
{
    server *s = ctx;
    conn_state *st = hl_get_data(conn);
    hl_set_data(conn, NULL);
    if (!st)
        return;
    if (ok && st->resumed) {
        loop_times *t = &s->times[hl_loop_of(conn)];
        int64_t now = srv_monotonic_us();
        srv_hist_add(&t->evaluated, st->queued - st->began);
        srv_hist_add(&t->committed, st->resumed - st->queued);
        srv_hist_add(&t->sent, now - st->resumed);
        srv_hist_add(&t->inside, now - st->began);
    }
    ev_call_free(st->call);
    cJSON_Delete(st->resp.json);
    free(st->resp.bin);
    free(st);
}

/* srv_config.resuming: an /event connection whose call is committed goes back to its loop. */
static void event_resuming(void *ctx, void *conn)
{
    (void)ctx;
    hl_resume(conn);
}

/* srv_config.resumed: wakes every loop handed a connection since, once. */
static void event_resumed(void *ctx)
{
    server *s = ctx;
    hl_wake(s->hl);
}

/* One line in the server's log: where the /event calls answered since the start spent their
 * time inside the server (from the request read to the answer handed to the kernel; a client
 * such as wrk measures the rest too). */
static void log_event_times(server *s)
{
    loop_times all = {0};
    for (unsigned i = 0; i < s->nloops; i++) {
        srv_hist_merge(&all.evaluated, &s->times[i].evaluated);
        srv_hist_merge(&all.committed, &s->times[i].committed);
        srv_hist_merge(&all.sent, &s->times[i].sent);
        srv_hist_merge(&all.inside, &s->times[i].inside);
    }
    if (all.inside.n) {
        char t[4][160];
        srv_hist_format(&all.evaluated, t[0], sizeof t[0]);
        srv_hist_format(&all.committed, t[1], sizeof t[1]);
        srv_hist_format(&all.sent, t[2], sizeof t[2]);
        srv_hist_format(&all.inside, t[3], sizeof t[3]);
        fprintf(stderr,
                "personae serve: /event: %llu calls answered after their commit; inside the server: "
                "evaluation %s; waiting for the event log %s; sending the answer %s; in all %s\n",
                (unsigned long long)all.inside.n, t[0], t[1], t[2], t[3]);
    }
}

/* One API request, on an API thread. */
static void api_run(server *s, conn_state *st, const srv_req *q)
{
    srv_resp *r = &st->resp;
    pthread_mutex_lock(&s->lock);
    srv_ctx c = {s->db, 0, 0, NULL, s->sched, &s->lock, &s->cfg, 0};
    if (st->route == ROUTE_TOKEN) {
        if (strcmp(q->method, "GET"))
            srv_fail(r, 405, "method %.10s is not allowed on /snapshot/{token} (allowed: GET)", q->method);
        else
            snap_by_token(&c, q->path + 10, q, r);
    } else if (st->route == ROUTE_DEMO_API) {
        demo_api(&c, q, r);
    } else {
        srv_route(&c, q, r);
        /* a write may change what /event evaluates: its caches rebuild, on this thread. Not after
         * a refused write (it changed nothing) nor one its handler marked unchanged */
        if (strcmp(q->method, "GET") != 0 && r->status < 400 && !c.unchanged)
            srv_store_changed(&s->cfg, s->db, c.account, NULL);
    }
    srv_ctx_release(&c);
    pthread_mutex_unlock(&s->lock);
}

static void *api_thread(void *arg)
{
    server *s = arg;
    srv_thread_name("pn-api");
    pthread_mutex_lock(&s->jobs_mu);
    for (;;) {
        while (!s->jobs && !s->jobs_stop)
            pthread_cond_wait(&s->jobs_cv, &s->jobs_mu);
        if (!s->jobs)
            break;
        conn_state *st = s->jobs;
        s->jobs = st->next;
        if (!s->jobs)
            s->jobs_tail = NULL;
        pthread_mutex_unlock(&s->jobs_mu);
        api_run(s, st, &st->q);
        hl_resume(st->conn); /* (after it, st may be answered and freed) */
        hl_wake(s->hl);
        pthread_mutex_lock(&s->jobs_mu);
    }
    pthread_mutex_unlock(&s->jobs_mu);
    return NULL;
}

static int api_threads_start(server *s)
{
    pthread_mutex_init(&s->jobs_mu, NULL);
    pthread_cond_init(&s->jobs_cv, NULL);
    for (; s->napi_threads < API_THREADS; s->napi_threads++)
        if (pthread_create(&s->api_threads[s->napi_threads], NULL, api_thread, s))
            break;
    return s->napi_threads ? 0 : -1;
}

/* Answers every queued API request, then stops the API threads. */
static void api_threads_stop(server *s)
{
    pthread_mutex_lock(&s->jobs_mu);
    s->jobs_stop = 1;
    pthread_cond_broadcast(&s->jobs_cv);
    pthread_mutex_unlock(&s->jobs_mu);
    for (size_t i = 0; i < s->napi_threads; i++)
        pthread_join(s->api_threads[i], NULL);
    pthread_cond_destroy(&s->jobs_cv);
    pthread_mutex_destroy(&s->jobs_mu);
}

static int parse_listen(const char *listen, struct sockaddr_in *addr, char *err, size_t errcap)
{
    memset(addr, 0, sizeof *addr);
    addr->sin_family = AF_INET;
    const char *colon = strrchr(listen, ':');
    char host[64];
    if (!colon || (size_t)(colon - listen) >= sizeof host)
        return snprintf(err, errcap, "--listen expects HOST:PORT such as 127.0.0.1:8080, got '%s'", listen), -1;
    memcpy(host, listen, (size_t)(colon - listen));
    host[colon - listen] = '\0';
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (*end || port < 1 || port > 65535 || inet_pton(AF_INET, host, &addr->sin_addr) != 1)
        return snprintf(err, errcap, "--listen expects an IPv4 address and a port such as 127.0.0.1:8080, got '%s'",
                        listen), -1;
    addr->sin_port = htons((uint16_t)port);
    return 0;
}

/* Connections the loops may hold at once, and the open files the rest of the server needs
 * beside them (the store's connections, each with its WAL and shared memory, the event log's
 * segments, the HTTP threads' epoll and wake-up descriptors). */
#define MAX_CONNECTIONS 4000u
#define OTHER_FILES 256u

/* The connection limit the open-file limit allows. A soft limit below what the connections need
 * (1,024 is a common default) is raised as far as the hard limit lets it: otherwise, under many
 * connections, accept() and then the store's own opens would fail with EMFILE. When the hard
 * limit is lower still, fewer connections are taken, and the log says so. */
static unsigned connection_limit(void)
{
    struct rlimit r;
    rlim_t want = (rlim_t)MAX_CONNECTIONS + OTHER_FILES;
    if (getrlimit(RLIMIT_NOFILE, &r))
        return MAX_CONNECTIONS;
    if (r.rlim_cur != RLIM_INFINITY && r.rlim_cur < want) {
        struct rlimit raised = r;
        raised.rlim_cur = r.rlim_max != RLIM_INFINITY && r.rlim_max < want ? r.rlim_max : want;
        if (setrlimit(RLIMIT_NOFILE, &raised) == 0)
            r = raised;
    }
    if (r.rlim_cur == RLIM_INFINITY || r.rlim_cur >= want)
        return MAX_CONNECTIONS;
    unsigned n = r.rlim_cur > 2 * OTHER_FILES ? (unsigned)(r.rlim_cur - OTHER_FILES) : (unsigned)(r.rlim_cur / 2);
    fprintf(stderr, "personae serve: the open-file limit is %llu: at most %u connections at once (raise the hard "
                    "limit, ulimit -Hn, to %u for %u)\n",
            (unsigned long long)r.rlim_cur, n, MAX_CONNECTIONS + OTHER_FILES, MAX_CONNECTIONS);
    return n;
}

static int serve(const pn_server_options *o, cors *allowed, char *err, size_t errcap)
{
    struct sockaddr_in addr;
    if (parse_listen(o->listen ? o->listen : "127.0.0.1:8080", &addr, err, errcap))
        return -1;
    server s = {0};
    if (store_open(o->db_path, 0, &s.db, err, errcap))
        return -1;
    s.cors = allowed;
    s.cfg.min_support = o->min_support > 0 ? (uint32_t)o->min_support : SRV_DEFAULT_MIN_SUPPORT;
    s.cfg.token_ttl = o->token_ttl > 0 ? o->token_ttl : SRV_DEFAULT_TOKEN_TTL;
    char wasm_dir[4096];
    if (o->demo_dir) {
        struct stat sb;
        if (stat(o->demo_dir, &sb) || !S_ISDIR(sb.st_mode)) {
            snprintf(err, errcap, "--demo-dir %s is not a directory", o->demo_dir);
            store_close(s.db);
            return -1;
        }
        snprintf(wasm_dir, sizeof wasm_dir, "%s/../wasm", o->demo_dir);
        s.demo_dir = o->demo_dir;
        s.wasm_dir = o->wasm_dir ? o->wasm_dir : wasm_dir;
    }
    atomic_init(&s.cfg.generation, 1);
    s.cfg.resuming = event_resuming;
    s.cfg.resumed = event_resumed;
    s.cfg.http_ctx = &s;
    if (snap_secret_load(s.db, s.cfg.secret, err, errcap)) {
        store_close(s.db);
        return -1;
    }
    pthread_mutex_init(&s.lock, NULL);
    /* SIGINT/SIGTERM are taken by sigwait below; every thread started after this inherits the mask */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    signal(SIGPIPE, SIG_IGN);
    if (ev_start(o->db_path, &s.cfg, (size_t)o->event_cache_mb, &s.ev, err, errcap)) {
        store_close(s.db);
        return -1;
    }
    s.cfg.sync_events = ev_sync;
    s.cfg.store_changed = ev_store_changed;
    s.cfg.sync_ctx = s.ev;
    if (sched_start(o->db_path, o->train_interval > 0 ? o->train_interval : 86400, &s.cfg, &s.sched, err, errcap)) {
        ev_free(s.ev);
        store_close(s.db);
        return -1;
    }
    if (api_threads_start(&s)) {
        snprintf(err, errcap, "cannot start the API threads");
        ev_stop(s.ev);
        sched_stop(s.sched);
        ev_free(s.ev);
        store_close(s.db);
        return -1;
    }
    /* One polling loop per processor, each with its own epoll set: /event calls never block
     * (the store is read only for visitors the cache lacks, and writes are answered by the
     * writer), so more loops than processors would only add context switches. API requests
     * run on threads of their own (api_thread). */
    unsigned max_connections = connection_limit();
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    unsigned threads = o->threads > 0 ? (unsigned)o->threads : ncpu > 1 ? (unsigned)ncpu : 2u;
    hl_handlers h = {on_request, on_resumed, on_done, limit_for, &s};
    s.nloops = threads;
    s.times = calloc(threads, sizeof *s.times);
    if (!s.times || hl_start(&addr, threads, max_connections, (unsigned)o->idle_timeout, &h, &s.hl, err, errcap)) {
        if (!s.times)
            snprintf(err, errcap, "out of memory");
        free(s.times);
        api_threads_stop(&s);
        ev_stop(s.ev);
        sched_stop(s.sched);
        ev_free(s.ev);
        store_close(s.db);
        return -1;
    }
    fprintf(stderr, "personae serve: listening on http://%s/api/v1/ (store %s)\n",
            o->listen ? o->listen : "127.0.0.1:8080", o->db_path);
    if (s.demo_dir)
        fprintf(stderr, "personae serve: web demo at http://%s/demo/ (files of %s, personae-wasm from %s)\n",
                o->listen ? o->listen : "127.0.0.1:8080", s.demo_dir, s.wasm_dir);
    int sig = 0;
    sigwait(&stop, &sig);
    fprintf(stderr, "personae serve: stopping\n");
    ev_stop(s.ev);         /* commits and answers every queued event, and stores them all */
    api_threads_stop(&s);  /* answers every queued API request */
    sched_stop(s.sched);   /* (which may call ev_sync: the runtime is freed after) */
    hl_stop(s.hl);         /* sends what was answered, closes the connections */
    log_event_times(&s);
    free(s.times);
    ev_free(s.ev);
    store_close(s.db);
    pthread_mutex_destroy(&s.lock);
    return 0;
}

int pn_server_run(const pn_server_options *o, char *err, size_t errcap)
{
    cors *allowed;
    if (cors_parse(o->allow_origins, &allowed, err, errcap))
        return -1;
    int rc = serve(o, allowed, err, errcap);
    cors_free(allowed);
    return rc;
}
