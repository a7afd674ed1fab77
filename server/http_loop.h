/*
 * The server's HTTP/1.1 connections (http_loop.c): one polling loop per processor on a shared
 * listening socket, each with an epoll set in which a connection is registered once, for
 * reading and writing, edge-triggered, from its accept to its close.
 *
 * Why not libmicrohttpd, which served until then: an /event call waits for its commit (the event
 * log's group commit) off its loop, and libmicrohttpd takes a suspended connection out of its
 * epoll set and puts it back when it is resumed: two epoll_ctl calls for every /event call, plus
 * a read that ends in EAGAIN, on a machine where each system call costs microseconds (measured:
 * of five system calls a call, two were epoll_ctl; its poll mode, without them, took 21% less
 * processor a call but walks every idle keep-alive connection on every round). Here a waiting
 * connection stays in the set; nothing is read from it until it is answered.
 *
 * Requests are parsed by http_request.h. The owner (http.c) gets each complete request on the
 * connection's loop and answers it there (hl_answer), or defers it (hl_defer) and, from any
 * thread, hands it back with hl_resume once the answer can be made; the loop then calls
 * `resumed` on its own thread, which answers. A connection is never freed while deferred.
 *
 * Limits: a connection idle (or not reading its answer) for idle_timeout s is closed, and so is
 * one whose request or answer, past that time, has moved under 500 bytes a second (a client
 * dripping bytes is not idle, but would hold its connection for ever); each loop holds at most
 * max_connections / loops connections and leaves the rest waiting to be accepted.
 */
#ifndef PN_SERVER_HTTP_LOOP_H
#define PN_SERVER_HTTP_LOOP_H

#include <netinet/in.h>
#include <stddef.h>

#include "http_request.h"

typedef struct hl_server hl_server;
typedef struct hl_conn hl_conn;

typedef struct hl_handlers {
    /* a complete request, on the connection's loop: call hl_answer or hl_defer before returning.
     * `req` is valid until the answer is made */
    void (*request)(void *ctx, hl_conn *c, const http_request_info *req);
    /* a deferred request handed back (hl_resume), on the connection's loop: call hl_answer */
    void (*resumed)(void *ctx, hl_conn *c);
    /* the answer of the request was sent (ok = 1) or the connection closed before (ok = 0):
     * whatever hl_set_data holds for the request can go */
    void (*done)(void *ctx, hl_conn *c, int ok);
    /* the body limit of a path */
    size_t (*limit_for)(const char *path);
    void *ctx;
} hl_handlers;

/* Starts `loops` loops on addr (SO_REUSEADDR); a connection idle for idle_timeout seconds is
 * closed. 0 (*out set before the loops' threads start), or -1 with err set. */
int hl_start(const struct sockaddr_in *addr, unsigned loops, unsigned max_connections, unsigned idle_timeout,
             const hl_handlers *h, hl_server **out, char *err, size_t errcap);
/* Stops accepting, answers what was handed back, sends what it can of the answers made, closes
 * every connection and frees the server. Call it once nothing will call hl_resume. */
void hl_stop(hl_server *s);

/* Answers the current request: status, extra header lines ("Name: value\r\n" each, or NULL), a
 * Content-Type (NULL: none) and a body of len bytes. The body is taken: free_body(body) is
 * called once it is sent (NULL: the body is static). A HEAD request gets the headers only. */
void hl_answer(hl_conn *c, unsigned status, const char *ctype, const char *headers, char *body, size_t len,
               void (*free_body)(void *));
/* The request is answered later: hl_resume from any thread, then `resumed` on the loop. */
void hl_defer(hl_conn *c);
/* Hands a deferred connection back to its loop. The loop is woken by the next hl_wake. */
void hl_resume(hl_conn *c);
/* Wakes, once each, the loops that connections were handed back to since the last call. */
void hl_wake(hl_server *s);

/* Per-request data of the owner (NULL at first). */
void hl_set_data(hl_conn *c, void *data);
void *hl_get_data(const hl_conn *c);
/* The index of the connection's loop (0 .. loops - 1). */
unsigned hl_loop_of(const hl_conn *c);

#endif
