/* The server's HTTP/1.1 connections and their polling loops (http_loop.h). */
#define _GNU_SOURCE 1 /* accept4 */
#include "http_loop.h"
#include "srv.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define IN_BYTES 16384      /* read at once; what a request's parser has not taken stays here */
#define ACCEPT_BATCH 32     /* connections accepted a wake-up, so one loop does not take them all */
/* A request being read or an answer being written must move at least this many bytes a second
 * on average, beyond the idle timeout it starts with: otherwise a client that sends (or reads)
 * a byte every few seconds would keep its connection, and with enough of them every connection
 * the server takes ("slowloris"). 500 is Apache's mod_reqtimeout's MinRate: a 64 MiB upload may
 * take 37 hours. */
#define MIN_RATE 500

typedef struct hl_loop hl_loop;

/* C_LINGER: the last answer is sent and the sending side shut down; what the client still sends
 * is read and dropped until it closes (or the idle timeout), because closing a socket with
 * unread bytes sends a reset, and a client's system may then drop the answer it has not read
 * yet (lingering close, as web servers do) */
enum { C_READING, C_DEFERRED, C_WRITING, C_LINGER };

struct hl_conn {
    hl_loop *loop;
    int fd;
    int state;
    int readable;    /* an edge said readable and no read since found the socket empty */
    int close_after; /* close once the answer is sent */
    int in_request;  /* a request was handed to the owner and is not done yet */
    http_request *req;
    char in[IN_BYTES];
    size_t in_off, in_len;
    /* the answer: its head (status line and headers), then its body */
    char *head;
    size_t head_cap, head_len, head_off;
    char *body;
    size_t body_len, body_off;
    void (*free_body)(void *);
    int64_t active; /* last read or write (loop->now) */
    /* a transfer: a request being read (from its first byte until it is whole) or an answer
     * being written; when it began (loop->now) and the bytes it has moved (0: none going on
     * while reading) */
    int64_t xfer_start;
    size_t xfer_bytes;
    hl_conn *prev, *next;  /* the loop's connections */
    hl_conn *inbox_next;   /* handed back (hl_resume) */
    void *data;
};

struct hl_loop {
    hl_server *s;
    unsigned index;
    int ep, wake;
    pthread_t thread;
    int running;
    _Atomic(hl_conn *) inbox; /* connections handed back, newest first */
    atomic_int marked;        /* handed a connection since the last wake-up */
    hl_conn *first, *last;    /* every connection, oldest first */
    size_t nconns, limit;
    int listening; /* the listening socket is in the epoll set */
    int64_t accept_again; /* accept failed for want of descriptors or memory: not before this second */
    int64_t now;   /* seconds, CLOCK_MONOTONIC_COARSE, read after each wait */
    time_t date_at;
    char date[40]; /* the Date header's value for date_at */
};

struct hl_server {
    int listen_fd;
    hl_loop *loops;
    unsigned nloops;
    hl_handlers h;
    int64_t idle_timeout; /* seconds */
    atomic_int stop;
};

static int64_t coarse_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return (int64_t)ts.tv_sec;
}

/* The loop's list of connections, least recently active first. */
static void list_remove(hl_loop *l, hl_conn *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else
        l->first = c->next;
    if (c->next)
        c->next->prev = c->prev;
    else
        l->last = c->prev;
    c->prev = c->next = NULL;
}

static void list_append(hl_loop *l, hl_conn *c)
{
    c->prev = l->last;
    c->next = NULL;
    if (l->last)
        l->last->next = c;
    else
        l->first = c;
    l->last = c;
}

/* Activity: the connection's idle time starts again. */
static void touch(hl_conn *c)
{
    c->active = c->loop->now;
}

static void listen_on(hl_loop *l, int on)
{
    if (on == l->listening)
        return;
    struct epoll_event ev = {.events = EPOLLIN | EPOLLEXCLUSIVE, .data.ptr = NULL};
    if (epoll_ctl(l->ep, on ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, l->s->listen_fd, on ? &ev : NULL) == 0)
        l->listening = on;
}

static void drop_answer(hl_conn *c)
{
    if (c->free_body && c->body)
        c->free_body(c->body);
    c->body = NULL;
    c->free_body = NULL;
    c->body_len = c->body_off = c->head_len = c->head_off = 0;
}

static void conn_close(hl_conn *c)
{
    hl_loop *l = c->loop;
    if (c->in_request && l->s->h.done)
        l->s->h.done(l->s->h.ctx, c, 0);
    drop_answer(c);
    close(c->fd); /* (which takes it out of the epoll set) */
    list_remove(l, c);
    http_request_free(c->req);
    free(c->head);
    free(c);
    l->nconns--;
    if (l->nconns < l->limit && !l->accept_again && !atomic_load(&l->s->stop))
        listen_on(l, 1);
}

static void conn_open(hl_loop *l, int fd)
{
    hl_conn *c = calloc(1, sizeof *c);
    if (c)
        c->req = http_request_new(l->s->h.limit_for);
    if (!c || !c->req) {
        if (c)
            free(c);
        close(fd);
        return;
    }
    int one = 1;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one); /* answers are one write each */
    c->loop = l;
    c->fd = fd;
    c->state = C_READING;
    c->active = l->now;
    list_append(l, c);
    l->nconns++;
    /* for its whole life: reads and writes, edge-triggered (nothing to change while it waits) */
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, .data.ptr = c};
    if (epoll_ctl(l->ep, EPOLL_CTL_ADD, fd, &ev)) {
        conn_close(c);
        return;
    }
    c->readable = 1; /* the request may already be there */
}

static void accept_some(hl_loop *l)
{
    for (int i = 0; i < ACCEPT_BATCH && l->nconns < l->limit; i++) {
        int fd = accept4(l->s->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0 && (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)) {
            /* the connection stays in the listen queue, so the socket stays readable: without a
             * pause the loop would spin on it (measured: both loops at 100% of a processor) */
            if (l->listening)
                fprintf(stderr, "personae serve: cannot accept connections for now (%s): trying again in a second\n",
                        strerror(errno));
            listen_on(l, 0);
            l->accept_again = l->now + 1;
            return;
        }
        if (fd < 0)
            return; /* EAGAIN (another loop took it), or a connection that went away meanwhile */
        conn_open(l, fd);
    }
    if (l->nconns >= l->limit)
        listen_on(l, 0); /* back when one closes: the rest wait in the listen queue */
}

static const char *reason(unsigned status)
{
    switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 301: return "Moved Permanently";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 422: return "Unprocessable Content";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    default: return status < 300 ? "OK" : status < 400 ? "Redirect" : status < 500 ? "Client Error" : "Server Error";
    }
}

static const char *date_header(hl_loop *l)
{
    time_t t = time(NULL);
    if (t != l->date_at) {
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(l->date, sizeof l->date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
        l->date_at = t;
    }
    return l->date;
}

void hl_answer(hl_conn *c, unsigned status, const char *ctype, const char *headers, char *body, size_t len,
               void (*free_body)(void *))
{
    const http_request_info *in = http_request_get(c->req);
    int head_only = in && in->head;
    if (!in || !in->keep_alive)
        c->close_after = 1;
    /* no body and no length for 1xx, 204 and 304 (RFC 9110); a HEAD answer says the length */
    int bodyless = status == 204 || status == 304 || status < 200;
    size_t need = 256 + (ctype ? strlen(ctype) : 0) + (headers ? strlen(headers) : 0);
    if (need > c->head_cap) {
        char *h = realloc(c->head, need);
        if (!h) {
            if (free_body && body)
                free_body(body);
            c->close_after = 1;
            c->state = C_WRITING; /* nothing to send: it closes */
            return;
        }
        c->head = h;
        c->head_cap = need;
    }
    char length[48] = "";
    if (!bodyless)
        snprintf(length, sizeof length, "Content-Length: %zu\r\n", len);
    int n = snprintf(c->head, c->head_cap, "HTTP/1.1 %u %s\r\nDate: %s\r\n%s%s%s%s%s%s\r\n", status, reason(status),
                     date_header(c->loop), length, ctype ? "Content-Type: " : "", ctype ? ctype : "",
                     ctype ? "\r\n" : "", headers ? headers : "", c->close_after ? "Connection: close\r\n" : "");
    c->head_len = n > 0 && (size_t)n < c->head_cap ? (size_t)n : 0;
    c->head_off = 0;
    if (head_only || bodyless) {
        if (free_body && body)
            free_body(body);
        body = NULL, len = 0, free_body = NULL;
    }
    c->body = body;
    c->body_len = len;
    c->body_off = 0;
    c->free_body = free_body;
    c->state = C_WRITING;
    c->xfer_start = c->loop->now;
    c->xfer_bytes = 0;
}

void hl_defer(hl_conn *c)
{
    c->state = C_DEFERRED;
}

void hl_resume(hl_conn *c)
{
    hl_loop *l = c->loop;
    hl_conn *old = atomic_load(&l->inbox);
    do
        c->inbox_next = old;
    while (!atomic_compare_exchange_weak(&l->inbox, &old, c));
    atomic_store(&l->marked, 1);
}

void hl_wake(hl_server *s)
{
    for (unsigned i = 0; i < s->nloops; i++)
        if (atomic_exchange(&s->loops[i].marked, 0))
            (void)eventfd_write(s->loops[i].wake, 1);
}

void hl_set_data(hl_conn *c, void *data)
{
    c->data = data;
}

void *hl_get_data(const hl_conn *c)
{
    return c->data;
}

unsigned hl_loop_of(const hl_conn *c)
{
    return c->loop->index;
}

/* Sends what is left of the answer. 1 when all of it is sent, 0 when the socket is full (the
 * next edge for writing comes back here), -1 when the connection is gone. */
static int flush(hl_conn *c)
{
    while (c->head_off < c->head_len || c->body_off < c->body_len) {
        struct iovec iov[2];
        int n = 0;
        if (c->head_off < c->head_len)
            iov[n++] = (struct iovec){c->head + c->head_off, c->head_len - c->head_off};
        if (c->body_off < c->body_len)
            iov[n++] = (struct iovec){c->body + c->body_off, c->body_len - c->body_off};
        struct msghdr m = {.msg_iov = iov, .msg_iovlen = (size_t)n};
        ssize_t w = sendmsg(c->fd, &m, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
        }
        size_t k = (size_t)w, h = c->head_len - c->head_off;
        c->xfer_bytes += k;
        if (k <= h) {
            c->head_off += k;
        } else {
            c->head_off = c->head_len;
            c->body_off += k - h;
        }
        touch(c);
    }
    return 1;
}

/* An answer to a request that could not be read, then the connection closes. */
static void answer_error(hl_conn *c, int status, const char *why)
{
    char *body = malloc(strlen(why) + 32);
    size_t len = 0;
    if (body)
        len = (size_t)sprintf(body, "{\"error\":\"%s\"}\n", why); /* (our own sentences: nothing to escape) */
    c->close_after = 1;
    hl_answer(c, (unsigned)status, "application/json", NULL, body, body ? len : 0, free);
}

/* Runs the connection until it waits: for bytes, for room to write, or for its deferred answer.
 * May free it. */
static void conn_run(hl_conn *c)
{
    hl_server *s = c->loop->s;
    for (;;) {
        if (c->state == C_DEFERRED)
            return;
        if (c->state == C_LINGER) {
            if (!c->readable)
                return;
            ssize_t n = recv(c->fd, c->in, sizeof c->in, 0); /* dropped */
            if (n > 0 || (n < 0 && errno == EINTR))
                continue;
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
                c->readable = 0;
                return;
            }
            conn_close(c); /* the client closed too (or the connection failed) */
            return;
        }
        if (c->state == C_WRITING) {
            int f = flush(c);
            if (f < 0) {
                conn_close(c);
                return;
            }
            if (f == 0)
                return;
            drop_answer(c);
            c->xfer_bytes = 0;
            if (c->in_request) {
                c->in_request = 0;
                if (s->h.done)
                    s->h.done(s->h.ctx, c, 1);
            }
            if (c->close_after) {
                shutdown(c->fd, SHUT_WR); /* the client reads the answer to its end, then the close */
                c->state = C_LINGER;
                touch(c); /* (the reads below do not: the timeout counts from here) */
                continue;
            }
            http_request_next(c->req);
            c->state = C_READING;
            continue;
        }
        if (atomic_load(&s->stop))
            return; /* no new request once the server stops */
        /* reading: first what was read and not taken yet */
        if (c->in_off < c->in_len) {
            size_t used = 0;
            int r = http_request_feed(c->req, c->in + c->in_off, c->in_len - c->in_off, &used);
            c->in_off += used;
            if (c->in_off == c->in_len)
                c->in_off = c->in_len = 0;
            if (r == HTTP_REQ_READY) {
                c->xfer_bytes = 0; /* (its answer's wait is not the client's) */
                c->in_request = 1;
                c->data = NULL;
                s->h.request(s->h.ctx, c, http_request_get(c->req));
                continue;
            }
            if (r == HTTP_REQ_ERROR) {
                const char *why = NULL;
                int status = http_request_error(c->req, &why);
                fprintf(stderr, "personae serve: a request could not be read: %d %s\n", status, why);
                answer_error(c, status, why);
                continue;
            }
            if (http_request_take_continue(c->req)) {
                static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
                if (send(c->fd, cont, sizeof cont - 1, MSG_NOSIGNAL) != (ssize_t)(sizeof cont - 1)) {
                    conn_close(c);
                    return;
                }
            }
        }
        if (!c->readable)
            return;
        ssize_t n = recv(c->fd, c->in + c->in_len, sizeof c->in - c->in_len, 0);
        if (n > 0) {
            /* a short read emptied the socket: with edge triggering, bytes that come later
             * raise a new edge, so no read is spent on finding EAGAIN */
            if ((size_t)n < sizeof c->in - c->in_len)
                c->readable = 0;
            c->in_len += (size_t)n;
            touch(c);
            if (c->xfer_bytes == 0)
                c->xfer_start = c->loop->now;
            c->xfer_bytes += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            c->readable = 0;
            return;
        }
        conn_close(c); /* the client closed (between requests, or without waiting for its answer), or an error */
        return;
    }
}

/* Connections handed back (hl_resume), in the order they were. */
static void take_inbox(hl_loop *l)
{
    hl_conn *list = atomic_exchange(&l->inbox, NULL), *fifo = NULL;
    while (list) {
        hl_conn *next = list->inbox_next;
        list->inbox_next = fifo;
        fifo = list;
        list = next;
    }
    for (hl_conn *c = fifo, *next; c; c = next) {
        next = c->inbox_next;
        c->inbox_next = NULL;
        if (c->state != C_DEFERRED)
            continue;
        l->s->h.resumed(l->s->h.ctx, c);
        if (c->state == C_DEFERRED) /* (the owner did not answer: a bug) */
            answer_error(c, 500, "the request was not answered");
        conn_run(c);
    }
}

/* Whether the connection has had its time: idle (between requests, or lingering) for the
 * timeout (1), or in a transfer slower than MIN_RATE after the timeout (2). Not one waiting for
 * its answer (0): that wait is the server's. */
static int expired(const hl_conn *c, int64_t now, int64_t timeout)
{
    if (c->state == C_DEFERRED)
        return 0;
    if (c->state == C_WRITING || (c->state == C_READING && c->xfer_bytes))
        return now - c->xfer_start >= timeout + (int64_t)(c->xfer_bytes / MIN_RATE) ? 2 : 0;
    return now - c->active >= timeout;
}

/* Once a second: accepts again after a pause, and closes the connections that had their time.
 * It looks at each (a loop holds at most a few thousand): a list kept in order of activity could
 * not tell a slow transfer, whose every byte is activity. */
static void sweep(hl_loop *l)
{
    if (l->accept_again && l->now >= l->accept_again) {
        l->accept_again = 0;
        if (l->nconns < l->limit)
            listen_on(l, 1);
    }
    unsigned slow = 0;
    for (hl_conn *c = l->first, *next; c; c = next) {
        next = c->next;
        int why = expired(c, l->now, l->s->idle_timeout);
        slow += why == 2;
        if (why)
            conn_close(c);
    }
    /* idle ones are routine; slow transfers are rare from browsers and many at once is an
     * attack: one line a second (a loop) at most, however many */
    if (slow)
        fprintf(stderr, "personae serve: closed %u connection%s whose request or answer moved under %d bytes a second\n",
                slow, slow == 1 ? "" : "s", MIN_RATE);
}

static void *loop_run(void *arg)
{
    hl_loop *l = arg;
    hl_server *s = l->s;
    srv_thread_name("pn-http");
    struct epoll_event evs[64];
    int64_t swept = coarse_seconds();
    for (;;) {
        int n = epoll_wait(l->ep, evs, 64, 1000);
        l->now = coarse_seconds();
        int stop = atomic_load(&s->stop);
        for (int i = 0; i < n; i++) {
            hl_conn *c = evs[i].data.ptr;
            if (c == NULL) {
                if (!stop)
                    accept_some(l);
            } else if (c == (hl_conn *)l) {
                eventfd_t v;
                (void)eventfd_read(l->wake, &v);
            } else {
                if (evs[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
                    c->readable = 1;
                /* a connection closed by an earlier one of this batch cannot be here: each has
                 * one entry a wait, and only its own events close it */
                conn_run(c);
            }
        }
        take_inbox(l);
        if (stop)
            break;
        if (l->now != swept) {
            swept = l->now;
            sweep(l);
        }
    }
    return NULL;
}

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

static void loops_free(hl_server *s)
{
    for (unsigned i = 0; i < s->nloops; i++) {
        hl_loop *l = &s->loops[i];
        while (l->first)
            conn_close(l->first);
        if (l->ep >= 0)
            close(l->ep);
        if (l->wake >= 0)
            close(l->wake);
    }
    if (s->listen_fd >= 0)
        close(s->listen_fd);
    free(s->loops);
    free(s);
}

int hl_start(const struct sockaddr_in *addr, unsigned nloops, unsigned max_connections, unsigned idle_timeout,
             const hl_handlers *h, hl_server **out, char *err, size_t errcap)
{
    hl_server *s = calloc(1, sizeof *s);
    if (!s || !(s->loops = calloc(nloops, sizeof *s->loops))) {
        free(s);
        return snprintf(err, errcap, "out of memory"), -1;
    }
    s->h = *h;
    s->nloops = nloops;
    s->idle_timeout = idle_timeout ? idle_timeout : 60;
    atomic_init(&s->stop, 0);
    for (unsigned i = 0; i < nloops; i++)
        s->loops[i].ep = s->loops[i].wake = -1;
    s->listen_fd = listen_socket(addr);
    if (s->listen_fd < 0) {
        char host[INET_ADDRSTRLEN] = "?";
        inet_ntop(AF_INET, &addr->sin_addr, host, sizeof host);
        snprintf(err, errcap, "cannot listen on %s:%u: %s", host, ntohs(addr->sin_port), strerror(errno));
        loops_free(s);
        return -1;
    }
    size_t per_loop = max_connections / nloops ? max_connections / nloops : 1;
    int ok = 1;
    for (unsigned i = 0; ok && i < nloops; i++) {
        hl_loop *l = &s->loops[i];
        l->s = s;
        l->index = i;
        l->limit = per_loop;
        l->now = coarse_seconds();
        atomic_init(&l->inbox, NULL);
        atomic_init(&l->marked, 0);
        l->ep = epoll_create1(EPOLL_CLOEXEC);
        l->wake = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = l};
        ok = l->ep >= 0 && l->wake >= 0 && epoll_ctl(l->ep, EPOLL_CTL_ADD, l->wake, &ev) == 0;
        if (ok)
            listen_on(l, 1);
        ok = ok && l->listening;
    }
    /* published before the threads start: hooks called for their connections (hl_wake from the
     * event log's writer) may read it as soon as they run */
    *out = ok ? s : NULL;
    /* the threads only once every loop is set up: any of them may be handed any connection */
    for (unsigned i = 0; ok && i < nloops; i++)
        ok = s->loops[i].running = pthread_create(&s->loops[i].thread, NULL, loop_run, &s->loops[i]) == 0;
    if (!ok) {
        *out = NULL;
        hl_stop(s);
        return snprintf(err, errcap, "cannot start the HTTP loops"), -1;
    }
    return 0;
}

void hl_stop(hl_server *s)
{
    if (!s)
        return;
    atomic_store(&s->stop, 1);
    for (unsigned i = 0; i < s->nloops; i++)
        if (s->loops[i].running) {
            (void)eventfd_write(s->loops[i].wake, 1);
            pthread_join(s->loops[i].thread, NULL);
        }
    /* what was answered goes out if the socket takes it now (as libmicrohttpd's stop did); with
     * the stop set, a connection runs no further request */
    for (unsigned i = 0; i < s->nloops; i++) {
        hl_loop *l = &s->loops[i];
        take_inbox(l);
        for (hl_conn *c = l->first, *next; c; c = next) {
            next = c->next;
            if (c->state == C_WRITING)
                conn_run(c);
        }
    }
    loops_free(s);
}
