/* libmicrohttpd glue: request bodies with a size limit, JSON and binary answers, one log line a
 * request (an /event call only when it fails: there are thousands a second).
 *
 * The polling loops (one per processor, each a libmicrohttpd daemon in "external" mode on the same
 * listening socket) only ever do quick work: /event calls (event.h) are computed on them and wait
 * for their commit suspended. API requests (and /snapshot/{token}, the demo API) are handed to
 * API_THREADS threads of their own, the connection suspended meanwhile: the API runs one request
 * at a time under its lock, and some requests take long (a 64 MiB onboarding, ?wait=true on a
 * training), which must never stall the /event connections that share a polling loop.
 *
 * Why loops of our own rather than libmicrohttpd's thread pool: with its own threads, every
 * MHD_resume_connection writes to the owning thread's eventfd, so the event log's writer made one
 * system call per /event call it answered (about 30 a commit under load, 108 us of its time
 * between the first and the last answer, measured; a system call costs microseconds on these
 * virtual machines). In external mode a resume only sets a flag, and the thread that resumes a
 * batch wakes each loop concerned once (loop_wake). */
#include "event.h"
#include "histogram.h"
#include "srv.h"
#include "server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define API_THREADS 4

typedef struct api_job api_job;
typedef struct server server;

/* A polling loop: one libmicrohttpd daemon, run by one thread. */
typedef struct http_loop {
    server *s;
    struct MHD_Daemon *d;
    int wake;          /* eventfd: written when connections of d were resumed from another thread */
    atomic_int marked; /* a connection of d was resumed since the last wake-up */
    pthread_t thread;
    int running;
    int closed; /* a connection closed during the last run (the loop's thread only) */
    /* the server's own account of the /event calls this loop answered after their commit (the
     * loop's thread only; merged and logged when the loops stop): from the request's headers to
     * the call queued for the event log (its evaluation), from there until the loop takes it up
     * again after its commit (the wait for the round, the commit, the wake-up), from there to the
     * answer's last byte handed to the kernel */
    srv_hist evaluated, committed, sent, inside;
} http_loop;

struct server {
    sqlite3 *db;
    http_loop *loops;
    size_t nloops;
    atomic_int loops_stop;
    /* API requests waiting for an API thread */
    pthread_mutex_t jobs_mu;
    pthread_cond_t jobs_cv;
    api_job *jobs, *jobs_tail;
    int jobs_stop;
    pthread_t api_threads[API_THREADS];
    size_t napi_threads;
    srv_sched *sched;
    pthread_mutex_t lock; /* one request at a time on the API connection */
    srv_config cfg;
    ev_runtime *ev;
    const char *demo_dir, *wasm_dir; /* serve --demo-dir: the web demo (demo.c); NULL without */
};

enum { ROUTE_API, ROUTE_EVENT, ROUTE_TOKEN, ROUTE_DEMO_API, ROUTE_DEMO_FILE };

/* A static file of the web demo, or a 404/405/301 without touching the store. */
static enum MHD_Result send_demo_file(server *s, struct MHD_Connection *conn, const char *url, const char *method)
{
    struct MHD_Response *resp;
    unsigned status;
    int fd = -1;
    uint64_t size = 0;
    const char *ctype = "text/plain; charset=utf-8";
    static const char not_found[] = "not found\n", not_allowed[] = "method not allowed (allowed: GET, HEAD)\n";
    if (strcmp(method, "GET") && strcmp(method, "HEAD")) {
        status = 405;
        resp = MHD_create_response_from_buffer(sizeof not_allowed - 1, (void *)not_allowed, MHD_RESPMEM_PERSISTENT);
        if (resp)
            MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
    } else if (strcmp(url, "/demo") == 0) {
        status = 301;
        resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
        if (resp)
            MHD_add_response_header(resp, MHD_HTTP_HEADER_LOCATION, "/demo/");
    } else if (demo_open(s->demo_dir, s->wasm_dir, url, &fd, &size, &ctype) == 200) {
        status = 200;
        resp = MHD_create_response_from_fd64(size, fd);
        if (!resp)
            close(fd);
    } else {
        status = 404;
        resp = MHD_create_response_from_buffer(sizeof not_found - 1, (void *)not_found, MHD_RESPMEM_PERSISTENT);
    }
    if (!resp)
        return MHD_NO;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    enum MHD_Result ret = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp);
    if (status != 200)
        fprintf(stderr, "personae serve: %s %.200s %u\n", method, url, status);
    return ret;
}

typedef struct conn_state {
    char *body;
    size_t len, cap, limit;
    int too_big;
    int route;
    ev_call *call; /* an /event call waiting for its commit */
    int api_queued, api_done; /* an API request handed to an API thread, and answered by it */
    srv_resp resp;            /* its answer */
    int64_t began, queued, resumed; /* an /event call's times (srv_monotonic_us; see http_loop) */
} conn_state;

struct api_job {
    api_job *next;
    server *s;
    struct MHD_Connection *conn;
    conn_state *st;
    srv_req q;
};

static enum MHD_Result send_json(struct MHD_Connection *conn, srv_resp *r)
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
        text = malloc(len + 2);
        if (text && j) {
            memcpy(text, j, len);
            text[len++] = '\n';
        }
        free(j);
    }
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(text ? len : 0, text ? text : (void *)"", text ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
    if (!resp) {
        free(text);
        return MHD_NO;
    }
    if (text)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, r->ctype ? r->ctype : "application/json");
    if (r->etag[0]) {
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, r->etag);
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "private, no-cache");
    }
    enum MHD_Result ret = MHD_queue_response(conn, (unsigned)r->status, resp);
    MHD_destroy_response(resp);
    return ret;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                              const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
    server *s = cls;
    conn_state *st = *con_cls;
    if (!st) {
        st = calloc(1, sizeof *st);
        if (!st)
            return MHD_NO;
        st->limit = strcmp(url, "/api/v1/onboard") == 0 ? SRV_MAX_ONBOARD_BODY : SRV_MAX_JSON_BODY;
        st->route = strcmp(url, "/event") == 0 ? ROUTE_EVENT : strncmp(url, "/snapshot/", 10) == 0 ? ROUTE_TOKEN : ROUTE_API;
        if (s->demo_dir && (strcmp(url, "/demo") == 0 || strncmp(url, "/demo/", 6) == 0))
            st->route = strncmp(url, "/demo/api/", 10) == 0 ? ROUTE_DEMO_API : ROUTE_DEMO_FILE;
        const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (cl && strtoull(cl, NULL, 10) > st->limit)
            st->too_big = 1;
        if (st->route == ROUTE_EVENT)
            st->began = srv_monotonic_us();
        *con_cls = st;
        return MHD_YES;
    }
    if (*upload_size) {
        /* past the limit the rest is read and dropped, so that the client gets its 413 */
        if (!st->too_big) {
            if (st->len + *upload_size > st->limit) {
                st->too_big = 1;
                free(st->body);
                st->body = NULL;
                st->len = st->cap = 0;
            } else {
                if (st->len + *upload_size + 1 > st->cap) {
                    size_t cap = st->cap ? st->cap : 4096;
                    while (cap < st->len + *upload_size + 1)
                        cap *= 2;
                    char *b = realloc(st->body, cap);
                    if (!b)
                        return MHD_NO;
                    st->body = b;
                    st->cap = cap;
                }
                memcpy(st->body + st->len, upload, *upload_size);
                st->len += *upload_size;
                st->body[st->len] = '\0';
            }
        }
        *upload_size = 0;
        return MHD_YES;
    }
    if (st->route == ROUTE_EVENT && !st->too_big) {
        if (!st->call) {
            int suspended = 0;
            st->call = ev_begin(s->ev, conn, method, st->body, st->len, &suspended);
            if (!st->call)
                return MHD_NO;
            if (suspended) {
                st->queued = srv_monotonic_us();
                return MHD_YES; /* resumed by the writer after the commit */
            }
        } else if (st->queued) {
            st->resumed = srv_monotonic_us();
        }
        if (ev_status(st->call) != 200)
            fprintf(stderr, "personae serve: %s /event %d\n", method, ev_status(st->call));
        return ev_answer(conn, st->call);
    }
    if (st->route == ROUTE_DEMO_FILE)
        return send_demo_file(s, conn, url, method);
    if (!st->api_queued) {
        api_job *job = calloc(1, sizeof *job);
        if (!job)
            return MHD_NO;
        /* header and argument values live as long as the request: the API thread reads them */
        *job = (api_job){NULL,
                         s,
                         conn,
                         st,
                         {method, url, MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION),
                          MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "wait"),
                          MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "destination"),
                          MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_IF_NONE_MATCH), st->body,
                          st->len, MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "limit"),
                          MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "after"),
                          MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "segment_id")}};
        st->api_queued = 1;
        pthread_mutex_lock(&s->jobs_mu);
        MHD_suspend_connection(conn);
        if (s->jobs_tail)
            s->jobs_tail->next = job;
        else
            s->jobs = job;
        s->jobs_tail = job;
        pthread_cond_signal(&s->jobs_cv);
        pthread_mutex_unlock(&s->jobs_mu);
        return MHD_YES; /* resumed by the API thread once the answer is ready */
    }
    if (!st->api_done)
        return MHD_YES;
    /* a token is a credential for its snapshot: it is not logged */
    fprintf(stderr, "personae serve: %s %.200s %d\n", method, st->route == ROUTE_TOKEN ? "/snapshot/<token>" : url,
            st->resp.status);
    enum MHD_Result ret = send_json(conn, &st->resp);
    cJSON_Delete(st->resp.json);
    free(st->resp.bin);
    memset(&st->resp, 0, sizeof st->resp);
    return ret;
}

/* srv_config.resuming: marks the loop of `conn`, about to be resumed from another thread. Before
 * the resume, while the connection is still suspended: after it, its loop may close it. */
static void loop_resuming(void *ctx, struct MHD_Connection *conn)
{
    server *s = ctx;
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_DAEMON);
    for (size_t i = 0; ci && i < s->nloops; i++)
        if (s->loops[i].d == ci->daemon) {
            atomic_store(&s->loops[i].marked, 1);
            return;
        }
}

/* srv_config.resumed: wakes every loop marked since, once. Whoever marks a loop calls this after
 * its resumes, so a mark is never left without a wake-up after it: either this call takes it, or
 * another one that started later did. */
static void loop_wake(void *ctx)
{
    server *s = ctx;
    for (size_t i = 0; i < s->nloops; i++)
        if (atomic_exchange(&s->loops[i].marked, 0))
            (void)eventfd_write(s->loops[i].wake, 1);
}

static void *loop_run(void *arg)
{
    http_loop *lp = arg;
    srv_thread_name("pn-http");
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(lp->d, MHD_DAEMON_INFO_EPOLL_FD);
    struct pollfd p[2] = {{info ? info->epoll_fd : -1, POLLIN, 0}, {lp->wake, POLLIN, 0}};
    for (;;) {
        /* libmicrohttpd's next connection timeout, or 0 when it already has data to process (its
         * epoll set is edge-triggered) */
        MHD_UNSIGNED_LONG_LONG ms = 0;
        int timeout = MHD_get_timeout(lp->d, &ms) == MHD_YES ? (ms < 60000 ? (int)ms : 60000) : -1;
        p[0].revents = p[1].revents = 0;
        if (timeout != 0)
            (void)poll(p, 2, timeout); /* (on a failure, EINTR or ENOMEM, it runs and waits again) */
        if (p[1].revents & POLLIN) {
            eventfd_t v;
            (void)eventfd_read(lp->wake, &v);
        }
        int stop = atomic_load(&lp->s->loops_stop);
        MHD_run(lp->d); /* the last run after a stop sends what was resumed before it */
        if (lp->closed) {
            /* at its connection limit libmicrohttpd takes the listening socket out of its epoll
             * set, and puts it back only at the start of a run: without this run, a loop that
             * went below its limit would not accept the connections waiting to be accepted
             * until some other event woke it (tests/server/test_limits.py waits for one) */
            lp->closed = 0;
            MHD_run(lp->d);
        }
        if (stop)
            break;
    }
    return NULL;
}

/* The listening socket the loops share (each daemon gets a duplicate of it, which it closes). */
static int listen_socket(const struct sockaddr_in *addr)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1;
    if (fd < 0)
        return -1;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) ||
        bind(fd, (const struct sockaddr *)addr, sizeof *addr) || listen(fd, SOMAXCONN)) {
        close(fd);
        return -1;
    }
    return fd;
}

/* One line in the server's log: where the /event calls answered since the start spent their
 * time inside the server (the time before libmicrohttpd has read a request's headers, and the
 * client's own, are not in it; a client such as wrk measures them too). */
static void log_event_times(server *s)
{
    srv_hist *all = calloc(4, sizeof *all);
    if (!all)
        return;
    for (size_t i = 0; i < s->nloops; i++) {
        srv_hist_merge(&all[0], &s->loops[i].evaluated);
        srv_hist_merge(&all[1], &s->loops[i].committed);
        srv_hist_merge(&all[2], &s->loops[i].sent);
        srv_hist_merge(&all[3], &s->loops[i].inside);
    }
    if (all[3].n) {
        char t[4][160];
        for (int i = 0; i < 4; i++)
            srv_hist_format(&all[i], t[i], sizeof t[i]);
        fprintf(stderr,
                "personae serve: /event: %llu calls answered after their commit; inside the server: "
                "evaluation %s; waiting for the event log %s; sending the answer %s; in all %s\n",
                (unsigned long long)all[3].n, t[0], t[1], t[2], t[3]);
    }
    free(all);
}

static void loops_stop(server *s)
{
    atomic_store(&s->loops_stop, 1);
    for (size_t i = 0; i < s->nloops; i++)
        if (s->loops[i].running) {
            (void)eventfd_write(s->loops[i].wake, 1);
            pthread_join(s->loops[i].thread, NULL);
        }
    for (size_t i = 0; i < s->nloops; i++) {
        if (s->loops[i].d)
            MHD_stop_daemon(s->loops[i].d); /* (which completes the requests still open) */
        if (s->loops[i].wake >= 0)
            close(s->loops[i].wake);
    }
    log_event_times(s);
    free(s->loops);
    s->loops = NULL;
    s->nloops = 0;
}

static void connection_event(void *cls, struct MHD_Connection *conn, void **socket_ctx,
                             enum MHD_ConnectionNotificationCode code)
{
    (void)conn, (void)socket_ctx;
    if (code == MHD_CONNECTION_NOTIFY_CLOSED)
        ((http_loop *)cls)->closed = 1;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                              const char *version, const char *upload, size_t *upload_size, void **con_cls);
static void completed(void *cls, struct MHD_Connection *conn, void **con_cls, enum MHD_RequestTerminationCode toe);

/* n loops on addr, each allowed max_connections / n connections. 0, or -1 (err says why). */
static int loops_start(server *s, const struct sockaddr_in *addr, unsigned n, unsigned max_connections, char *err,
                       size_t errcap)
{
    int fd = listen_socket(addr);
    if (fd < 0) {
        char host[INET_ADDRSTRLEN] = "?";
        inet_ntop(AF_INET, &addr->sin_addr, host, sizeof host);
        return snprintf(err, errcap, "cannot listen on %s:%u: %s", host, ntohs(addr->sin_port), strerror(errno)), -1;
    }
    if (!(s->loops = calloc(n, sizeof *s->loops))) {
        close(fd);
        return snprintf(err, errcap, "out of memory"), -1;
    }
    s->nloops = n;
    for (size_t i = 0; i < n; i++)
        s->loops[i].wake = -1;
    unsigned per_loop = max_connections / n ? max_connections / n : 1;
    int ok = 1;
    for (size_t i = 0; ok && i < n; i++) {
        http_loop *lp = &s->loops[i];
        lp->s = s;
        atomic_init(&lp->marked, 0);
        int mine = fcntl(fd, F_DUPFD_CLOEXEC, 0);
        lp->wake = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        lp->d = mine < 0 || lp->wake < 0 ? NULL
                : MHD_start_daemon(MHD_USE_EPOLL | MHD_USE_TURBO | MHD_USE_ERROR_LOG | MHD_ALLOW_SUSPEND_RESUME, 0, NULL,
                                   NULL, handle, s, MHD_OPTION_LISTEN_SOCKET, mine, MHD_OPTION_NOTIFY_COMPLETED,
                                   completed, lp, MHD_OPTION_NOTIFY_CONNECTION, connection_event, lp,
                                   MHD_OPTION_CONNECTION_TIMEOUT, 60u, MHD_OPTION_CONNECTION_LIMIT, per_loop,
                                   MHD_OPTION_END);
        if (mine >= 0 && lp->wake < 0)
            close(mine); /* (libmicrohttpd closes it when it fails itself) */
        ok = lp->d != NULL;
    }
    close(fd);
    /* the threads only once every loop is set up: any of them may wake any other */
    for (size_t i = 0; ok && i < n; i++)
        ok = s->loops[i].running = pthread_create(&s->loops[i].thread, NULL, loop_run, &s->loops[i]) == 0;
    if (!ok) {
        loops_stop(s);
        return snprintf(err, errcap, "cannot start the HTTP loops"), -1;
    }
    return 0;
}

/* One API request, on an API thread. */
static void api_run(server *s, conn_state *st, const srv_req *q)
{
    srv_resp *r = &st->resp;
    if (st->too_big) {
        srv_fail(r, 413, "the request body is larger than the limit of %zu bytes for %.100s", st->limit, q->path);
        return;
    }
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
            srv_store_changed(&s->cfg, s->db, c.account);
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
        api_job *job = s->jobs;
        s->jobs = job->next;
        if (!s->jobs)
            s->jobs_tail = NULL;
        pthread_mutex_unlock(&s->jobs_mu);
        api_run(s, job->st, &job->q);
        job->st->api_done = 1;
        loop_resuming(s, job->conn);
        MHD_resume_connection(job->conn);
        loop_wake(s);
        free(job);
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

static void completed(void *cls, struct MHD_Connection *conn, void **con_cls, enum MHD_RequestTerminationCode toe)
{
    http_loop *lp = cls;
    conn_state *st = *con_cls;
    if (st && st->resumed && toe == MHD_REQUEST_TERMINATED_COMPLETED_OK) {
        int64_t now = srv_monotonic_us();
        srv_hist_add(&lp->evaluated, st->queued - st->began);
        srv_hist_add(&lp->committed, st->resumed - st->queued);
        srv_hist_add(&lp->sent, now - st->resumed);
        srv_hist_add(&lp->inside, now - st->began);
    }
    if (st) {
        ev_call_free(st->call);
        cJSON_Delete(st->resp.json);
        free(st->resp.bin);
        free(st->body);
        free(st);
        *con_cls = NULL;
    }
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

/* Connections libmicrohttpd may hold at once, and the open files the rest of the server needs
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

int pn_server_run(const pn_server_options *o, char *err, size_t errcap)
{
    struct sockaddr_in addr;
    if (parse_listen(o->listen ? o->listen : "127.0.0.1:8080", &addr, err, errcap))
        return -1;
    server s = {0};
    if (store_open(o->db_path, 0, &s.db, err, errcap))
        return -1;
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
    atomic_init(&s.loops_stop, 0);
    s.cfg.resuming = loop_resuming;
    s.cfg.resumed = loop_wake;
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
    if (loops_start(&s, &addr, threads, max_connections, err, errcap)) {
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
    loops_stop(&s);        /* sends what was answered, closes the connections */
    ev_free(s.ev);
    store_close(s.db);
    pthread_mutex_destroy(&s.lock);
    return 0;
}
