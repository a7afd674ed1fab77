/* One HTTP/1.1 request from a connection's bytes (http_request.h), on top of http_parser. */
#include "http_request.h"

#include <http_parser.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum { H_COOKIE, H_AUTHORIZATION, H_IF_NONE_MATCH, H_EXPECT, H_ORIGIN, H_KEPT };
static const char *const kept_names[H_KEPT] = {"cookie", "authorization", "if-none-match", "expect", "origin"};

typedef struct buf {
    char *p;
    size_t len, cap;
} buf;

enum { ST_READING, ST_READY, ST_ERROR };

struct http_request {
    http_parser parser;
    size_t (*limit_for)(const char *path);
    int state;
    buf url;
    /* the header being read: its lower-case name (names longer than kept ones are not kept) */
    char field[24];
    size_t field_len;
    int in_value; /* the last header callback was a value's */
    int cur;      /* which kept header the value goes to; -1: none */
    buf hdr[H_KEPT];
    int has[H_KEPT];
    buf body;
    size_t limit;
    int too_big;
    int want_continue;
    http_arg args[HTTP_MAX_ARGS];
    size_t nargs;
    int too_many_args;
    int err_status;
    const char *err_why;
    http_request_info info;
};

/* Appends n bytes and keeps the buffer NUL-terminated; -1 past max bytes or without memory. */
static int buf_add(buf *b, const char *s, size_t n, size_t max)
{
    if (b->len + n > max)
        return -1;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p)
            return -1;
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
    return 0;
}

static int fail(http_request *r, int status, const char *why)
{
    r->err_status = status;
    r->err_why = why;
    return -1; /* stops http_parser with a callback error */
}

static int on_url(http_parser *p, const char *at, size_t n)
{
    http_request *r = p->data;
    return buf_add(&r->url, at, n, HTTP_MAX_URL) ? fail(r, 414, "the request's URL is longer than 8 KiB") : 0;
}

static int on_header_field(http_parser *p, const char *at, size_t n)
{
    http_request *r = p->data;
    if (p->flags & F_TRAILING)
        return 0; /* a chunked body's trailer fields are not headers: none of them is kept */
    if (r->in_value) {
        r->in_value = 0;
        r->field_len = 0;
    }
    for (size_t i = 0; i < n; i++) {
        if (r->field_len < sizeof r->field - 1)
            r->field[r->field_len] = (char)(at[i] >= 'A' && at[i] <= 'Z' ? at[i] + 32 : at[i]);
        r->field_len++; /* past the buffer: a name longer than any kept one */
    }
    return 0;
}

static int on_header_value(http_parser *p, const char *at, size_t n)
{
    http_request *r = p->data;
    if (p->flags & F_TRAILING)
        return 0;
    if (!r->in_value) {
        r->in_value = 1;
        r->cur = -1;
        for (int i = 0; r->field_len < sizeof r->field && i < H_KEPT; i++)
            if (strlen(kept_names[i]) == r->field_len && memcmp(kept_names[i], r->field, r->field_len) == 0)
                r->cur = i;
        if (r->cur >= 0 && r->has[r->cur]) {
            if (r->cur != H_COOKIE)
                r->hdr[r->cur].len = 0, r->hdr[r->cur].p[0] = '\0'; /* the last one counts */
            else if (buf_add(&r->hdr[r->cur], "; ", 2, HTTP_MAX_HEADER))
                return fail(r, 431, "the request's Cookie headers are longer than 8 KiB");
        }
        if (r->cur >= 0 && !r->has[r->cur]) {
            r->has[r->cur] = 1;
            r->hdr[r->cur].len = 0;
            if (buf_add(&r->hdr[r->cur], "", 0, HTTP_MAX_HEADER))
                return fail(r, 500, "out of memory");
        }
    }
    /* http_parser lets a NUL through, which would cut the value short (RFC 9110 5.5: reject) */
    if (r->cur >= 0 && memchr(at, '\0', n))
        return fail(r, 400, "a request header has a NUL byte");
    if (r->cur >= 0 && buf_add(&r->hdr[r->cur], at, n, HTTP_MAX_HEADER))
        return fail(r, 431, "a request header (Cookie, Authorization, If-None-Match, Expect or Origin) is longer than 8 KiB");
    return 0;
}

static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

size_t http_decode(char *s, size_t n, int form)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (form && s[i] == '+')
            s[o++] = ' ';
        else if (s[i] == '%' && i + 2 < n && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
            s[o++] = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
            i += 2;
        } else
            s[o++] = s[i];
    }
    return o;
}

int http_form_split(char *text, int (*fn)(void *ctx, const http_arg *pair), void *ctx)
{
    for (char *part = text, *next; part && *part; part = next) {
        next = strchr(part, '&');
        if (next)
            *next++ = '\0';
        if (!*part)
            continue;
        char *eq = strchr(part, '=');
        if (eq)
            *eq = '\0';
        size_t klen = http_decode(part, strlen(part), 1);
        part[klen] = '\0';
        size_t vlen = eq ? http_decode(eq + 1, strlen(eq + 1), 1) : 0;
        if (eq)
            eq[1 + vlen] = '\0';
        http_arg pair = {part, eq ? eq + 1 : "", klen, vlen};
        if (fn(ctx, &pair))
            return -1;
    }
    return 0;
}

static int add_arg(void *ctx, const http_arg *pair)
{
    http_request *r = ctx;
    if (memchr(pair->key, 0, pair->klen) || memchr(pair->value, 0, pair->vlen))
        return -1;
    if (r->nargs == HTTP_MAX_ARGS)
        return r->too_many_args = 1, -1;
    r->args[r->nargs++] = *pair;
    return 0;
}

/* Splits the URL into its decoded path and arguments, in place. -1 when a decoded one holds a
 * NUL byte (%00): its C string would end there, so "/api%00/x" would be read as "/api", and a
 * name or value as only what precedes it. */
static int split_url(http_request *r)
{
    char *u = r->url.p, *q = strchr(u, '?');
    if (q)
        *q++ = '\0';
    size_t plen = http_decode(u, strlen(u), 0);
    u[plen] = '\0';
    /* the splitter stops early for a NUL or past the limit, which too_many_args tells apart */
    int stopped = q && http_form_split(q, add_arg, r) && !r->too_many_args;
    return memchr(u, '\0', plen) || stopped ? -1 : 0;
}

static void trim(buf *b)
{
    while (b->len && (b->p[b->len - 1] == ' ' || b->p[b->len - 1] == '\t'))
        b->p[--b->len] = '\0';
}

static int on_headers_complete(http_parser *p)
{
    http_request *r = p->data;
    if (!r->url.len && buf_add(&r->url, "", 0, HTTP_MAX_URL))
        return fail(r, 500, "out of memory");
    if (split_url(r))
        return fail(r, 400, "the URL has an encoded NUL byte (%00)");
    for (int i = 0; i < H_KEPT; i++)
        if (r->has[i])
            trim(&r->hdr[i]);
    r->limit = r->limit_for ? r->limit_for(r->url.p) : 0;
    int chunked = (p->flags & F_CHUNKED) != 0;
    /* http_parser's content_length is ULLONG_MAX without the header, and counts down as the
     * body comes: here, before any of it, it is the declared length */
    if (!chunked && p->content_length != ULLONG_MAX && p->content_length > r->limit)
        r->too_big = 1;
    /* a client that waits for "100 Continue" before its body gets the 413 instead, at once;
     * without it the body is on its way and is read and dropped (other expectations are
     * ignored, as RFC 9110 10.1.1 allows) */
    int expects = r->has[H_EXPECT] && strcasecmp(r->hdr[H_EXPECT].p, "100-continue") == 0;
    if (expects && r->too_big)
        return fail(r, 413, "the request body is larger than the limit for this path");
    if (expects && (chunked || (p->content_length != ULLONG_MAX && p->content_length > 0)))
        r->want_continue = 1;
    return 0;
}

static int on_body(http_parser *p, const char *at, size_t n)
{
    http_request *r = p->data;
    r->want_continue = 0; /* the client did not wait for it */
    if (r->too_big)
        return 0; /* read and dropped: the client gets its 413 */
    if (r->body.len + n > r->limit) {
        r->too_big = 1;
        free(r->body.p);
        r->body = (buf){0};
        return 0;
    }
    return buf_add(&r->body, at, n, r->limit) ? fail(r, 500, "out of memory") : 0;
}

static int on_message_complete(http_parser *p)
{
    http_request *r = p->data;
    r->want_continue = 0;
    http_request_info *in = &r->info;
    *in = (http_request_info){0};
    in->method = http_method_str((enum http_method)p->method);
    in->path = r->url.p;
    in->args = r->args;
    in->nargs = r->nargs;
    in->too_many_args = r->too_many_args;
    in->cookie = r->has[H_COOKIE] ? r->hdr[H_COOKIE].p : NULL;
    in->authorization = r->has[H_AUTHORIZATION] ? r->hdr[H_AUTHORIZATION].p : NULL;
    in->if_none_match = r->has[H_IF_NONE_MATCH] ? r->hdr[H_IF_NONE_MATCH].p : NULL;
    in->origin = r->has[H_ORIGIN] ? r->hdr[H_ORIGIN].p : NULL;
    in->body = !r->too_big && r->body.len ? r->body.p : NULL;
    in->body_len = in->body ? r->body.len : 0;
    in->limit = r->limit;
    in->too_big = r->too_big;
    in->head = p->method == HTTP_HEAD;
    /* after an Upgrade or CONNECT the bytes are no longer HTTP: the connection closes */
    in->keep_alive = http_should_keep_alive(p) && !p->upgrade && p->method != HTTP_CONNECT;
    r->state = ST_READY;
    http_parser_pause(p, 1); /* one request at a time: the next one's bytes wait for its answer */
    return 0;
}

static const http_parser_settings settings = {
    .on_url = on_url,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

http_request *http_request_new(size_t (*limit_for)(const char *path))
{
    http_request *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->limit_for = limit_for;
    http_request_next(r);
    return r;
}

void http_request_free(http_request *r)
{
    if (!r)
        return;
    free(r->url.p);
    for (int i = 0; i < H_KEPT; i++)
        free(r->hdr[i].p);
    free(r->body.p);
    free(r);
}

/* A token character (RFC 9110 5.6.2), what methods are made of. */
static int is_tchar(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c && strchr("!#$%&'*+-.^_`|~", c));
}

int http_request_feed(http_request *r, const char *data, size_t len, size_t *used)
{
    *used = 0;
    if (r->state != ST_READING || len == 0)
        return r->state == ST_READY ? HTTP_REQ_READY : r->state == ST_ERROR ? HTTP_REQ_ERROR : HTTP_REQ_MORE;
    size_t n = http_parser_execute(&r->parser, &settings, data, len);
    enum http_errno e = HTTP_PARSER_ERRNO(&r->parser);
    *used = n;
    if (r->state == ST_READY && (e == HPE_PAUSED || e == HPE_OK))
        return HTTP_REQ_READY;
    /* all taken, not complete (an Upgrade request's body may still be coming: http_parser only
     * stops at an upgrade after its message is complete, which is READY above) */
    if (e == HPE_OK && n == len)
        return HTTP_REQ_MORE;
    r->state = ST_ERROR;
    if (!r->err_status) {
        /* http_parser stops at the first byte where the method stops matching one it knows: a
         * token byte there makes a method this server does not know (501); anything else
         * (binary, a TLS handshake) is not HTTP (400) */
        int unknown_method = e == HPE_INVALID_METHOD && n < len && is_tchar((unsigned char)data[n]);
        r->err_status = unknown_method ? 501 : 400;
        r->err_why = e == HPE_HEADER_OVERFLOW ? "the request's headers are too long"
                     : unknown_method         ? "the request's method is not one this server knows"
                     : e == HPE_INVALID_METHOD ? "the request is not HTTP"
                                               : http_errno_description(e);
        if (e == HPE_HEADER_OVERFLOW)
            r->err_status = 431;
    }
    return HTTP_REQ_ERROR;
}

int http_request_take_continue(http_request *r)
{
    int c = r->want_continue;
    r->want_continue = 0;
    return c;
}

const http_request_info *http_request_get(const http_request *r)
{
    return r->state == ST_READY ? &r->info : NULL;
}

int http_request_error(const http_request *r, const char **why)
{
    if (why)
        *why = r->err_why ? r->err_why : "bad request";
    return r->err_status ? r->err_status : 400;
}

void http_request_next(http_request *r)
{
    http_parser_init(&r->parser, HTTP_REQUEST);
    r->parser.data = r;
    r->state = ST_READING;
    r->url.len = 0;
    if (r->url.p)
        r->url.p[0] = '\0';
    r->field_len = 0;
    r->in_value = 1; /* so that the first header field starts a name */
    r->cur = -1;
    for (int i = 0; i < H_KEPT; i++)
        r->has[i] = 0, r->hdr[i].len = 0;
    /* a large body's buffer is not kept for the next request */
    if (r->body.cap > (64u << 10)) {
        free(r->body.p);
        r->body = (buf){0};
    }
    r->body.len = 0;
    r->limit = 0;
    r->too_big = 0;
    r->want_continue = 0;
    r->nargs = 0;
    r->too_many_args = 0;
    r->err_status = 0;
    r->err_why = NULL;
    r->info = (http_request_info){0};
}

const char *http_cookie(const char *header, const char *name, char *out, size_t cap)
{
    if (cap == 0)
        return NULL;
    size_t nlen = strlen(name);
    for (const char *s = header; s && *s;) {
        while (*s == ' ' || *s == '\t' || *s == ';')
            s++;
        const char *end = strchr(s, ';');
        size_t len = end ? (size_t)(end - s) : strlen(s);
        if (len > nlen && memcmp(s, name, nlen) == 0 && s[nlen] == '=') {
            const char *v = s + nlen + 1;
            size_t vlen = len - nlen - 1;
            while (vlen && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
                vlen--;
            if (vlen >= 2 && v[0] == '"' && v[vlen - 1] == '"')
                v++, vlen -= 2;
            if (vlen >= cap)
                vlen = cap - 1;
            memcpy(out, v, vlen);
            out[vlen] = '\0';
            return out;
        }
        s = end;
    }
    return NULL;
}

const char *http_arg_get(const http_request_info *info, const char *name)
{
    for (size_t i = 0; i < info->nargs; i++)
        if (strcmp(info->args[i].key, name) == 0)
            return info->args[i].value;
    return NULL;
}
