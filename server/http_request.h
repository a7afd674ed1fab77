/*
 * One HTTP/1.1 request read from a connection's bytes, for the server's own loops (http.c):
 * http_parser (Node.js's parser, Debian's libhttp-parser) does the protocol (request line,
 * header syntax, Content-Length and chunked bodies, keep-alive); this keeps what personae reads
 * of a request: the method, the decoded path and query arguments, five headers (Cookie,
 * Authorization, If-None-Match, Expect, Origin) and the body up to a limit chosen by path (the
 * rest of a longer body is read and dropped, so the client gets its 413 rather than a reset).
 *
 * No sockets, no threads: bytes in, a request out, so the fuzz target (tests/fuzz/fuzz_http.c)
 * and the unit test drive it exactly as a loop does. One http_request serves every request of
 * its connection in turn; its buffers are kept from one request to the next.
 */
#ifndef PN_SERVER_HTTP_REQUEST_H
#define PN_SERVER_HTTP_REQUEST_H

#include <stddef.h>

#define HTTP_MAX_URL 8192     /* longer: 414 */
#define HTTP_MAX_HEADER 8192  /* a kept header's value; longer: 431 */
#define HTTP_MAX_ARGS 256     /* query arguments kept; more set too_many_args */

typedef struct http_request http_request;

typedef struct http_arg {
    const char *key, *value; /* decoded, NUL-terminated */
    size_t klen, vlen;
} http_arg;

/* What a complete request says. Every pointer stays valid until http_request_next or _free. */
typedef struct http_request_info {
    const char *method; /* "GET", "POST", ... */
    const char *path;   /* percent-decoded, NUL-terminated ("/event") */
    const http_arg *args;
    size_t nargs;
    int too_many_args;
    /* NULL when absent; several Cookie headers are joined with "; " */
    const char *cookie, *authorization, *if_none_match, *origin;
    const char *body; /* NUL-terminated; NULL when empty or dropped */
    size_t body_len;
    size_t limit;     /* the body limit for this path */
    int too_big;      /* the body was longer than limit and was dropped */
    int head;         /* HEAD: the answer has no body */
    int keep_alive;   /* the connection may carry another request after this one */
} http_request_info;

enum {
    HTTP_REQ_MORE = 0,  /* all bytes taken; the request is not complete yet */
    HTTP_REQ_READY = 1, /* a complete request: http_request_info; bytes past it were not taken */
    HTTP_REQ_ERROR = 2  /* not HTTP, or past a limit: answer http_request_error and close */
};

/* limit_for(path) is the body limit of a path (called once its headers are read). NULL when
 * memory is short. */
http_request *http_request_new(size_t (*limit_for)(const char *path));
void http_request_free(http_request *r);

/* Takes bytes of the connection. Returns HTTP_REQ_MORE, HTTP_REQ_READY or HTTP_REQ_ERROR;
 * *used is how many of the len bytes were taken (after READY, those left are the next
 * request's: feed them again after http_request_next). */
int http_request_feed(http_request *r, const char *data, size_t len, size_t *used);
/* 1 once per request, when its headers asked for "Expect: 100-continue", its body is still to
 * come and is not over the limit: the caller sends "HTTP/1.1 100 Continue". */
int http_request_take_continue(http_request *r);
/* After HTTP_REQ_READY. */
const http_request_info *http_request_get(const http_request *r);
/* After HTTP_REQ_ERROR: the status to answer (400, 413, 414, 431, 501) and why. */
int http_request_error(const http_request *r, const char **why);
/* Forgets the answered request and makes ready for the next one on the same connection. */
void http_request_next(http_request *r);

/* The value of cookie `name` in a Cookie header (NULL-safe), copied into buf (NUL-terminated,
 * truncated to cap - 1). Returns buf, or NULL when the cookie is absent. */
const char *http_cookie(const char *header, const char *name, char *buf, size_t cap);
/* Percent-decodes s[0..n) in place, and '+' as a space when `form` is set (form-encoded
 * text: query strings, form bodies); returns the new length. Invalid escapes stay as they are. */
size_t http_decode(char *s, size_t n, int form);
/* Splits form-encoded text (a query string, a form body) in place into decoded pairs, each key
 * and value NUL-terminated in text, and calls fn with each pair whose text is not empty; stops
 * at fn's first nonzero return (then -1). 0 when every pair was taken. */
int http_form_split(char *text, int (*fn)(void *ctx, const http_arg *pair), void *ctx);
/* The value of query argument `name` in info, or NULL. */
const char *http_arg_get(const http_request_info *info, const char *name);

#endif
