/*
 * One HTTP/1.1 request from a connection's bytes (server/http_request.h). The server's loops
 * trust what it returns (the path and arguments, the body and its limit, the `used` count that
 * says where the next pipelined request starts, the error statuses), so each is checked exactly,
 * and the requests are also fed in every possible split: a socket may hand them over in any
 * pieces, and the answer must not depend on where the cuts fall.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_request.h"

#define BIG_LIMIT ((size_t)1 << 20)

/* "/small" takes bodies of up to 16 bytes, every other path 1 MiB. */
static size_t limit_for(const char *path)
{
    return strcmp(path, "/small") == 0 ? 16 : BIG_LIMIT;
}

static http_request *new_request(void)
{
    http_request *r = http_request_new(limit_for);
    assert_non_null(r);
    return r;
}

/* Feeds s[0..n) in one call: READY, having taken exactly want_used bytes. */
static const http_request_info *ready_n(http_request *r, const char *s, size_t n, size_t want_used)
{
    size_t used = 12345;
    assert_int_equal(http_request_feed(r, s, n, &used), HTTP_REQ_READY);
    assert_int_equal(used, want_used);
    const http_request_info *in = http_request_get(r);
    assert_non_null(in);
    return in;
}

/* A whole request in one call: READY with every byte taken. */
static const http_request_info *ready(http_request *r, const char *s)
{
    return ready_n(r, s, strlen(s), strlen(s));
}

/* Feeds s[0..n) in one call: ERROR with the given status and a reason. */
static void error_n(http_request *r, const char *s, size_t n, int status)
{
    size_t used;
    assert_int_equal(http_request_feed(r, s, n, &used), HTTP_REQ_ERROR);
    const char *why = NULL;
    assert_int_equal(http_request_error(r, &why), status);
    assert_non_null(why);
    assert_true(why[0] != '\0');
    assert_null(http_request_get(r));
}

static void error_status(const char *s, size_t n, int status)
{
    http_request *r = new_request();
    error_n(r, s, n, status);
    http_request_free(r);
}

/* A new request fed s[0..n) in two calls cut at `cut` (< n): MORE with the cut's bytes taken,
 * then READY with the rest taken. The caller frees *r. */
static const http_request_info *ready_after_cut(const char *s, size_t n, size_t cut, http_request **r)
{
    *r = new_request();
    size_t used;
    assert_int_equal(http_request_feed(*r, s, cut, &used), HTTP_REQ_MORE);
    assert_int_equal(used, cut);
    return ready_n(*r, s + cut, n - cut, n - cut);
}

/* Feeds s one byte a call: MORE and 1 byte taken each time up to the last, which makes READY. */
static const http_request_info *ready_byte_by_byte(http_request *r, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        size_t used = 0;
        int st = http_request_feed(r, s + i, 1, &used);
        if (st != (i + 1 < n ? HTTP_REQ_MORE : HTTP_REQ_READY))
            fail_msg("byte %zu of %zu: status %d", i, n, st);
        assert_int_equal(used, 1);
    }
    return http_request_get(r);
}

/* The path is percent-decoded but keeps its '+'; the arguments are form-decoded ('+' is a space),
 * empty pairs are skipped, a key without '=' has "" as its value, a bad escape stays as it is,
 * and klen and vlen give the decoded lengths. */
static void get_with_query_string(void **state)
{
    (void)state;
    http_request *r = new_request();
    const http_request_info *in = ready(r, "GET /a%20b/c+d%2Fe?x=1&y=a+b%21&&flag&z=%7e&=v&e=&bad=%zz%4&pct=a%25b"
                                           " HTTP/1.1\r\nHost: example.com\r\n\r\n");
    assert_string_equal(in->method, "GET");
    assert_string_equal(in->path, "/a b/c+d/e");
    assert_int_equal(in->nargs, 8);
    assert_int_equal(in->too_many_args, 0);
    static const struct {
        const char *key, *value;
        size_t vlen;
    } want[] = {{"x", "1", 1},  {"y", "a b!", 4}, {"flag", "", 0},     {"z", "~", 1},
                {"", "v", 1},   {"e", "", 0},     {"bad", "%zz%4", 5}, {"pct", "a%b", 3}};
    for (size_t i = 0; i < 8; i++) {
        assert_string_equal(in->args[i].key, want[i].key);
        assert_int_equal(in->args[i].klen, strlen(want[i].key));
        assert_int_equal(in->args[i].vlen, want[i].vlen);
        assert_memory_equal(in->args[i].value, want[i].value, want[i].vlen + 1); /* with its NUL */
    }
    assert_string_equal(http_arg_get(in, "y"), "a b!");
    assert_string_equal(http_arg_get(in, "flag"), "");
    assert_string_equal(http_arg_get(in, "x"), "1");
    assert_null(http_arg_get(in, "missing"));
    assert_null(http_arg_get(in, "fla")); /* a prefix of a key is not the key */
    assert_null(in->cookie);
    assert_null(in->authorization);
    assert_null(in->if_none_match);
    assert_null(in->body);
    assert_int_equal(in->body_len, 0);
    assert_int_equal(in->limit, BIG_LIMIT);
    assert_int_equal(in->too_big, 0);
    assert_int_equal(in->head, 0);
    assert_int_equal(in->keep_alive, 1);

    /* no query at all, and an empty one */
    http_request_next(r);
    in = ready(r, "GET /plain HTTP/1.1\r\n\r\n");
    assert_string_equal(in->path, "/plain");
    assert_int_equal(in->nargs, 0);
    http_request_next(r);
    in = ready(r, "GET /q? HTTP/1.1\r\n\r\n");
    assert_string_equal(in->path, "/q");
    assert_int_equal(in->nargs, 0);
    assert_null(http_arg_get(in, ""));
    http_request_free(r);
}

/* A Content-Length body, followed by the start of a next request, cut into two feeds at every
 * offset and also fed byte by byte: the same body each time, READY once, and exactly the
 * request's bytes taken (the next one's are left for after http_request_next). */
static void post_in_every_split(void **state)
{
    (void)state;
    static const char req[] = "POST /event?k=v HTTP/1.1\r\nHost: x\r\nContent-Length: 13\r\n\r\n{\"a\":[1,2,3]}";
    static const char all[] = "POST /event?k=v HTTP/1.1\r\nHost: x\r\nContent-Length: 13\r\n\r\n{\"a\":[1,2,3]}"
                              "GET / HT";
    const size_t rlen = sizeof req - 1, n = sizeof all - 1;
    for (size_t cut = 0; cut <= n; cut++) {
        http_request *r = new_request();
        size_t used = 12345;
        int st = http_request_feed(r, all, cut, &used);
        if (cut < rlen) {
            assert_int_equal(st, HTTP_REQ_MORE);
            assert_int_equal(used, cut);
            assert_null(http_request_get(r));
            st = http_request_feed(r, all + cut, n - cut, &used);
            assert_int_equal(st, HTTP_REQ_READY);
            assert_int_equal(used, rlen - cut);
        } else {
            assert_int_equal(st, HTTP_REQ_READY);
            assert_int_equal(used, rlen);
        }
        /* READY stays READY, and takes nothing more, until http_request_next */
        assert_int_equal(http_request_feed(r, all + rlen, n - rlen, &used), HTTP_REQ_READY);
        assert_int_equal(used, 0);
        const http_request_info *in = http_request_get(r);
        assert_non_null(in);
        assert_string_equal(in->method, "POST");
        assert_string_equal(in->path, "/event");
        assert_string_equal(http_arg_get(in, "k"), "v");
        assert_int_equal(in->body_len, 13);
        assert_memory_equal(in->body, "{\"a\":[1,2,3]}", 14); /* NUL-terminated */
        assert_int_equal(in->too_big, 0);
        http_request_free(r);
    }

    http_request *r = new_request();
    const http_request_info *in = ready_byte_by_byte(r, req, rlen);
    assert_non_null(in);
    assert_int_equal(in->body_len, 13);
    assert_memory_equal(in->body, "{\"a\":[1,2,3]}", 14);
    assert_string_equal(http_arg_get(in, "k"), "v");
    http_request_free(r);
}

/* A chunked body (with a chunk extension) is joined, whatever the cuts. */
static void chunked_post(void **state)
{
    (void)state;
    static const char req[] = "POST /event HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                              "5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\n\r\n";
    const size_t n = sizeof req - 1;
    for (size_t cut = 0; cut < n; cut++) {
        http_request *r;
        const http_request_info *in = ready_after_cut(req, n, cut, &r);
        assert_string_equal(in->method, "POST");
        assert_int_equal(in->body_len, 12);
        assert_memory_equal(in->body, "hello, world", 13);
        assert_int_equal(in->too_big, 0);
        assert_int_equal(in->keep_alive, 1);
        http_request_free(r);
    }
    http_request *r = new_request();
    const http_request_info *in = ready_byte_by_byte(r, req, n);
    assert_non_null(in);
    assert_memory_equal(in->body, "hello, world", 13);
    http_request_free(r);
}

/* Two requests in one read: the first is READY with *used at the second's start; after
 * http_request_next the rest gives the second. */
static void pipelined_pair(void **state)
{
    (void)state;
    static const char first[] = "GET /one?a=1 HTTP/1.1\r\nHost: h\r\nCookie: c=1\r\n\r\n";
    static const char both[] = "GET /one?a=1 HTTP/1.1\r\nHost: h\r\nCookie: c=1\r\n\r\n"
                               "GET /two HTTP/1.1\r\nHost: h\r\n\r\n";
    const size_t flen = sizeof first - 1, n = sizeof both - 1;
    http_request *r = new_request();
    const http_request_info *in = ready_n(r, both, n, flen);
    assert_string_equal(in->path, "/one");
    assert_string_equal(http_arg_get(in, "a"), "1");
    assert_string_equal(in->cookie, "c=1");
    assert_int_equal(in->keep_alive, 1);
    http_request_next(r);
    in = ready_n(r, both + flen, n - flen, n - flen);
    assert_string_equal(in->path, "/two");
    assert_int_equal(in->nargs, 0);
    assert_null(in->cookie); /* nothing of the first request is left */
    http_request_next(r);
    http_request_free(r);
}

/* Three in one read (a GET, a POST with a body, a GET), and a GET then a POST fed as a server
 * fed by 7-byte reads would: the bytes left after each READY are fed again after next. */
static void pipelined_three(void **state)
{
    (void)state;
    static const char a[] = "GET /a HTTP/1.1\r\n\r\n";
    static const char b[] = "POST /b HTTP/1.1\r\nContent-Length: 4\r\n\r\nbody";
    static const char all[] = "GET /a HTTP/1.1\r\n\r\n"
                              "POST /b HTTP/1.1\r\nContent-Length: 4\r\n\r\nbody"
                              "GET /c?x=y HTTP/1.1\r\nIf-None-Match: \"e\"\r\n\r\n";
    const size_t alen = sizeof a - 1, blen = sizeof b - 1, n = sizeof all - 1;
    http_request *r = new_request();
    const http_request_info *in = ready_n(r, all, n, alen);
    assert_string_equal(in->method, "GET");
    assert_string_equal(in->path, "/a");
    assert_null(in->body);
    http_request_next(r);
    in = ready_n(r, all + alen, n - alen, blen);
    assert_string_equal(in->method, "POST");
    assert_string_equal(in->path, "/b");
    assert_int_equal(in->body_len, 4);
    assert_string_equal(in->body, "body");
    http_request_next(r);
    in = ready_n(r, all + alen + blen, n - alen - blen, n - alen - blen);
    assert_string_equal(in->method, "GET");
    assert_string_equal(in->path, "/c");
    assert_string_equal(http_arg_get(in, "x"), "y");
    assert_string_equal(in->if_none_match, "\"e\"");
    assert_null(in->body);
    http_request_free(r);

    /* the same bytes as 7-byte reads, with a loop like the server's */
    r = new_request();
    const char *paths[] = {"/a", "/b", "/c"};
    size_t got = 0, pending = 0, off = 0;
    char window[64];
    for (size_t pos = 0; pos < n || pending;) {
        if (pending == 0 || (pos < n && pending < 7)) {
            size_t take = n - pos < 7 ? n - pos : 7;
            memmove(window, window + off, pending);
            memcpy(window + pending, all + pos, take);
            off = 0, pending += take, pos += take;
        }
        size_t used = 0;
        int st = http_request_feed(r, window + off, pending, &used);
        assert_true(used <= pending);
        off += used, pending -= used;
        if (st == HTTP_REQ_READY) {
            assert_true(got < 3);
            assert_string_equal(http_request_get(r)->path, paths[got]);
            got++;
            http_request_next(r);
        } else {
            assert_int_equal(st, HTTP_REQ_MORE);
            assert_int_equal(pending, 0);
            if (pos == n)
                break;
        }
    }
    assert_int_equal(got, 3);
    http_request_free(r);
}

static void keep_alive(void **state)
{
    (void)state;
    static const struct {
        const char *req;
        int keep_alive;
    } cases[] = {
        {"GET / HTTP/1.1\r\nHost: h\r\n\r\n", 1},
        {"GET / HTTP/1.1\r\nConnection: close\r\n\r\n", 0},
        {"GET / HTTP/1.1\r\nConnection: Close\r\n\r\n", 0},
        {"GET / HTTP/1.0\r\n\r\n", 0},
        {"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", 1},
        {"POST / HTTP/1.0\r\nContent-Length: 2\r\n\r\nhi", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        http_request *r = new_request();
        const http_request_info *in = ready(r, cases[i].req);
        if (in->keep_alive != cases[i].keep_alive)
            fail_msg("%s: keep_alive %d", cases[i].req, in->keep_alive);
        http_request_free(r);
    }
}

static void head_request(void **state)
{
    (void)state;
    http_request *r = new_request();
    const http_request_info *in = ready(r, "HEAD /x HTTP/1.1\r\n\r\n");
    assert_string_equal(in->method, "HEAD");
    assert_string_equal(in->path, "/x");
    assert_int_equal(in->head, 1);
    http_request_next(r);
    in = ready(r, "GET /x HTTP/1.1\r\n\r\n");
    assert_int_equal(in->head, 0);
    http_request_free(r);
}

/* Every Cookie header counts (names in any case), joined with "; ". */
static void cookie_headers_are_joined(void **state)
{
    (void)state;
    static const char req[] = "GET / HTTP/1.1\r\nCookie: a=1\r\nHost: h\r\ncookie: b=2\r\nCOOKIE: pn_uuid=abc\r\n\r\n";
    http_request *r = new_request();
    const http_request_info *in = ready(r, req);
    assert_string_equal(in->cookie, "a=1; b=2; pn_uuid=abc");
    char buf[32];
    assert_string_equal(http_cookie(in->cookie, "pn_uuid", buf, sizeof buf), "abc");
    assert_string_equal(http_cookie(in->cookie, "b", buf, sizeof buf), "2");
    http_request_free(r);
    /* the same, fed byte by byte (names and values reach the module in pieces) */
    r = new_request();
    in = ready_byte_by_byte(r, req, sizeof req - 1);
    assert_non_null(in);
    assert_string_equal(in->cookie, "a=1; b=2; pn_uuid=abc");
    http_request_free(r);
}

static void cookie_lookup(void **state)
{
    (void)state;
    char buf[16];
    const char *h = "a=1; pn_uuid=abc; b=2";
    assert_ptr_equal(http_cookie(h, "pn_uuid", buf, sizeof buf), buf);
    assert_string_equal(buf, "abc");
    assert_string_equal(http_cookie(h, "a", buf, sizeof buf), "1");
    assert_string_equal(http_cookie(h, "b", buf, sizeof buf), "2");
    assert_null(http_cookie(h, "c", buf, sizeof buf));
    assert_null(http_cookie(h, "pn", buf, sizeof buf)); /* a prefix of a name is not the name */
    assert_null(http_cookie(h, "uuid", buf, sizeof buf));
    /* a name that is a prefix of another, in either order */
    assert_string_equal(http_cookie("pn=1; pn_uuid=abc", "pn_uuid", buf, sizeof buf), "abc");
    assert_string_equal(http_cookie("pn=1; pn_uuid=abc", "pn", buf, sizeof buf), "1");
    assert_string_equal(http_cookie("pn_uuid=abc; pn=1", "pn", buf, sizeof buf), "1");
    /* spaces and tabs around the pairs, none at all after ';' */
    assert_string_equal(http_cookie("  a=1 ;\t b=2  ;c=3", "a", buf, sizeof buf), "1");
    assert_string_equal(http_cookie("  a=1 ;\t b=2  ;c=3", "b", buf, sizeof buf), "2");
    assert_string_equal(http_cookie("  a=1 ;\t b=2  ;c=3", "c", buf, sizeof buf), "3");
    assert_string_equal(http_cookie("a=1;;; b=2", "b", buf, sizeof buf), "2");
    /* quoted values lose their quotes; '=' inside a value stays; empty values are "" */
    assert_string_equal(http_cookie("q=\"hi there\"; r=1", "q", buf, sizeof buf), "hi there");
    assert_string_equal(http_cookie("q=\"\"", "q", buf, sizeof buf), "");
    assert_string_equal(http_cookie("q=\"", "q", buf, sizeof buf), "\"");
    assert_string_equal(http_cookie("t=a=b", "t", buf, sizeof buf), "a=b");
    assert_string_equal(http_cookie("e=; f=2", "e", buf, sizeof buf), "");
    /* a name seen only as a value, or without '=', is absent */
    assert_null(http_cookie("a=pn_uuid=evil", "pn_uuid", buf, sizeof buf));
    assert_null(http_cookie("pn_uuid; a=1", "pn_uuid", buf, sizeof buf));
    /* truncated to cap - 1 */
    assert_string_equal(http_cookie("long=abcdefghijklmnopqrstuvwxyz", "long", buf, sizeof buf), "abcdefghijklmno");
    char small[4];
    assert_string_equal(http_cookie("long=abcdef", "long", small, sizeof small), "abc");
    assert_string_equal(http_cookie("long=abcdef", "long", small, 1), "");
    /* no header */
    assert_null(http_cookie(NULL, "a", buf, sizeof buf));
    assert_null(http_cookie("", "a", buf, sizeof buf));
    assert_null(http_cookie("   ", "a", buf, sizeof buf));
}

/* Authorization, If-None-Match and Origin are kept, trailing spaces and tabs trimmed, whatever the case
 * of their names; a repeated Authorization keeps the last; look-alike names are not kept. */
static void kept_headers(void **state)
{
    (void)state;
    static const char req[] = "GET / HTTP/1.1\r\n"
                              "authorization: Bearer first\r\n"
                              "X-Authorization: no\r\n"
                              "Authorization-X: no\r\n"
                              "AUTHORIZATION: Bearer abc  \t \r\n"
                              "If-None-Match: \"v1\", \"v2\"\t \r\n"
                              "X-Cookie: no\r\n"
                              "origin: https://shop.example\r\n"
                              "\r\n";
    http_request *r = new_request();
    const http_request_info *in = ready(r, req);
    assert_string_equal(in->authorization, "Bearer abc");
    assert_string_equal(in->if_none_match, "\"v1\", \"v2\"");
    assert_string_equal(in->origin, "https://shop.example");
    assert_null(in->cookie);
    http_request_next(r);
    /* the next request on the connection has none of them */
    in = ready(r, "GET / HTTP/1.1\r\n\r\n");
    assert_null(in->authorization);
    assert_null(in->if_none_match);
    assert_null(in->origin);
    http_request_free(r);

    r = new_request();
    in = ready_byte_by_byte(r, req, sizeof req - 1);
    assert_non_null(in);
    assert_string_equal(in->authorization, "Bearer abc");
    assert_string_equal(in->if_none_match, "\"v1\", \"v2\"");
    http_request_free(r);
}

/* Trailer fields after a chunked body are not headers (RFC 9110 6.5.1: no Authorization or
 * Cookie from them): they change none of the kept ones. */
static void trailers_are_not_headers(void **state)
{
    (void)state;
    http_request *r = new_request();
    const http_request_info *in = ready(r, "POST /event HTTP/1.1\r\nTransfer-Encoding: chunked\r\n"
                                           "Authorization: good\r\n\r\n"
                                           "3\r\nabc\r\n0\r\nAuthorization: evil\r\nCookie: pn_uuid=evil\r\n\r\n");
    assert_string_equal(in->authorization, "good");
    assert_null(in->cookie);
    assert_string_equal(in->body, "abc");
    http_request_free(r);
}

/* A declared length over the path's limit: READY with too_big and no body, every body byte taken
 * (read and dropped), and the next request on the connection reads as it should. */
static void body_over_limit_is_dropped(void **state)
{
    (void)state;
    /* exactly the limit is fine */
    http_request *r = new_request();
    const http_request_info *in = ready(r, "POST /small HTTP/1.1\r\nContent-Length: 16\r\n\r\n0123456789abcdef");
    assert_int_equal(in->limit, 16);
    assert_int_equal(in->too_big, 0);
    assert_int_equal(in->body_len, 16);
    assert_string_equal(in->body, "0123456789abcdef");
    http_request_free(r);

    static const char big[] = "POST /small HTTP/1.1\r\nContent-Length: 40\r\n\r\n"
                              "0123456789012345678901234567890123456789";
    static const char then[] = "POST /small HTTP/1.1\r\nContent-Length: 40\r\n\r\n"
                               "0123456789012345678901234567890123456789"
                               "POST /small HTTP/1.1\r\nContent-Length: 2\r\n\r\nok";
    const size_t blen = sizeof big - 1, n = sizeof then - 1;
    for (size_t cut = 0; cut < blen; cut++) {
        r = new_request();
        size_t used;
        assert_int_equal(http_request_feed(r, then, cut, &used), HTTP_REQ_MORE);
        assert_int_equal(used, cut);
        in = ready_n(r, then + cut, n - cut, blen - cut);
        assert_int_equal(in->too_big, 1);
        assert_null(in->body);
        assert_int_equal(in->body_len, 0);
        assert_int_equal(in->limit, 16);
        assert_int_equal(in->keep_alive, 1);
        http_request_next(r);
        in = ready_n(r, then + blen, n - blen, n - blen);
        assert_int_equal(in->too_big, 0);
        assert_string_equal(in->body, "ok");
        http_request_free(r);
    }

    /* a body over 64 KiB (its buffer is let go by next), then a small one */
    size_t len = 100000;
    char *req = malloc(len + 64);
    assert_non_null(req);
    int h = snprintf(req, 64, "POST /big HTTP/1.1\r\nContent-Length: %zu\r\n\r\n", len);
    for (size_t i = 0; i < len; i++)
        req[h + i] = (char)('a' + i % 26);
    r = new_request();
    in = ready_n(r, req, (size_t)h + len, (size_t)h + len);
    assert_int_equal(in->too_big, 0);
    assert_int_equal(in->body_len, len);
    assert_memory_equal(in->body, req + h, len);
    assert_int_equal(in->body[len], '\0');
    http_request_next(r);
    in = ready(r, "POST /big HTTP/1.1\r\nContent-Length: 3\r\n\r\nxyz");
    assert_int_equal(in->body_len, 3);
    assert_string_equal(in->body, "xyz");
    http_request_free(r);
    free(req);
}

/* A chunked body has no declared length: it is too big once its chunks pass the limit. */
static void chunked_over_limit(void **state)
{
    (void)state;
    http_request *r = new_request();
    const http_request_info *in = ready(r, "POST /small HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                                           "8\r\n01234567\r\n8\r\n89abcdef\r\n0\r\n\r\n");
    assert_int_equal(in->too_big, 0);
    assert_string_equal(in->body, "0123456789abcdef");
    http_request_next(r);
    in = ready(r, "POST /small HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                  "a\r\n0123456789\r\na\r\n0123456789\r\n3\r\nabc\r\n0\r\n\r\n");
    assert_int_equal(in->too_big, 1);
    assert_null(in->body);
    assert_int_equal(in->body_len, 0);
    http_request_free(r);
}

/* "Expect: 100-continue" with a declared length over the limit: 413 before any of the body (the
 * client waits for the answer); further feeds take nothing. */
static void expect_over_limit_is_413(void **state)
{
    (void)state;
    static const char req[] = "POST /small HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 17\r\n\r\n";
    http_request *r = new_request();
    error_n(r, req, sizeof req - 1, 413);
    assert_int_equal(http_request_take_continue(r), 0);
    size_t used = 12345;
    assert_int_equal(http_request_feed(r, "01234567890123456", 17, &used), HTTP_REQ_ERROR);
    assert_int_equal(used, 0);
    http_request_free(r);
}

/* "Expect: 100-continue" with a body within the limit: take_continue is 1 once the headers are
 * read and before the body, then 0; none when the body came with the headers or there is none. */
static void expect_continue(void **state)
{
    (void)state;
    static const char head[] = "POST /small HTTP/1.1\r\nExpect: 100-Continue\r\nContent-Length: 5\r\n\r\n";
    http_request *r = new_request();
    assert_int_equal(http_request_take_continue(r), 0);
    size_t used;
    assert_int_equal(http_request_feed(r, head, 20, &used), HTTP_REQ_MORE);
    assert_int_equal(http_request_take_continue(r), 0); /* headers not read yet */
    assert_int_equal(http_request_feed(r, head + 20, sizeof head - 1 - 20, &used), HTTP_REQ_MORE);
    assert_int_equal(used, sizeof head - 1 - 20);
    assert_int_equal(http_request_take_continue(r), 1);
    assert_int_equal(http_request_take_continue(r), 0);
    const http_request_info *in = ready(r, "hello");
    assert_string_equal(in->body, "hello");
    assert_int_equal(http_request_take_continue(r), 0);
    http_request_free(r);

    /* the body in the same read as the headers: the client did not wait */
    r = new_request();
    ready(r, "POST /small HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\nhello");
    assert_int_equal(http_request_take_continue(r), 0);
    http_request_free(r);

    /* a body that starts coming before the answer */
    r = new_request();
    assert_int_equal(http_request_feed(r, head, sizeof head - 1, &used), HTTP_REQ_MORE);
    assert_int_equal(http_request_feed(r, "he", 2, &used), HTTP_REQ_MORE);
    assert_int_equal(http_request_take_continue(r), 0);
    http_request_free(r);

    /* no body to wait for */
    r = new_request();
    ready(r, "GET /x HTTP/1.1\r\nExpect: 100-continue\r\n\r\n");
    assert_int_equal(http_request_take_continue(r), 0);
    http_request_free(r);

    /* chunked: its size is unknown, so it gets its 100 */
    r = new_request();
    static const char chunked[] = "POST /x HTTP/1.1\r\nExpect: 100-continue\r\nTransfer-Encoding: chunked\r\n\r\n";
    assert_int_equal(http_request_feed(r, chunked, sizeof chunked - 1, &used), HTTP_REQ_MORE);
    assert_int_equal(http_request_take_continue(r), 1);
    assert_int_equal(http_request_take_continue(r), 0);
    http_request_free(r);
}

/* A request line with a URL of `urllen` bytes ("/aaa..."), fed in 100-byte pieces. */
static int feed_long_url(size_t urllen, int *status)
{
    char *req = malloc(urllen + 64);
    assert_non_null(req);
    memcpy(req, "GET /", 5);
    memset(req + 5, 'a', urllen - 1);
    size_t n = 4 + urllen;
    n += (size_t)sprintf(req + n, " HTTP/1.1\r\n\r\n");
    http_request *r = new_request();
    int st = HTTP_REQ_MORE;
    for (size_t off = 0; off < n && st == HTTP_REQ_MORE;) {
        size_t used, piece = n - off < 100 ? n - off : 100;
        st = http_request_feed(r, req + off, piece, &used);
        off += used;
    }
    if (st == HTTP_REQ_READY)
        assert_int_equal(strlen(http_request_get(r)->path), urllen);
    *status = st == HTTP_REQ_ERROR ? http_request_error(r, NULL) : 0;
    http_request_free(r);
    free(req);
    return st;
}

static void url_too_long_is_414(void **state)
{
    (void)state;
    int status;
    assert_int_equal(feed_long_url(HTTP_MAX_URL, &status), HTTP_REQ_READY);
    assert_int_equal(feed_long_url(HTTP_MAX_URL + 1, &status), HTTP_REQ_ERROR);
    assert_int_equal(status, 414);
    assert_int_equal(feed_long_url(4 * HTTP_MAX_URL, &status), HTTP_REQ_ERROR);
    assert_int_equal(status, 414);
}

/* A request with one header `name: <vlen 'v'>`, in one read. */
static int feed_long_header(const char *name, size_t vlen, int *status)
{
    size_t cap = vlen + 128;
    char *req = malloc(cap);
    assert_non_null(req);
    size_t n = (size_t)snprintf(req, cap, "GET / HTTP/1.1\r\n%s: ", name);
    memset(req + n, 'v', vlen);
    n += vlen;
    memcpy(req + n, "\r\n\r\n", 4);
    n += 4;
    http_request *r = new_request();
    size_t used;
    int st = http_request_feed(r, req, n, &used);
    *status = st == HTTP_REQ_ERROR ? http_request_error(r, NULL) : 0;
    http_request_free(r);
    free(req);
    return st;
}

static void header_too_long_is_431(void **state)
{
    (void)state;
    int status;
    assert_int_equal(feed_long_header("Cookie", HTTP_MAX_HEADER, &status), HTTP_REQ_READY);
    assert_int_equal(feed_long_header("Cookie", HTTP_MAX_HEADER + 1, &status), HTTP_REQ_ERROR);
    assert_int_equal(status, 431);
    assert_int_equal(feed_long_header("If-None-Match", HTTP_MAX_HEADER + 1, &status), HTTP_REQ_ERROR);
    assert_int_equal(status, 431);
    /* a header that is not kept has only http_parser's limit on all headers (80 KiB) */
    assert_int_equal(feed_long_header("X-Other", 2 * HTTP_MAX_HEADER, &status), HTTP_REQ_READY);
    assert_int_equal(feed_long_header("X-Other", 100 * 1024, &status), HTTP_REQ_ERROR);
    assert_int_equal(status, 431);

    /* Cookie headers are limited together: two halves and their "; " are 2 bytes too many */
    char *req = malloc(2 * HTTP_MAX_HEADER + 128);
    assert_non_null(req);
    size_t n = (size_t)sprintf(req, "GET / HTTP/1.1\r\nCookie: ");
    memset(req + n, 'a', HTTP_MAX_HEADER / 2), n += HTTP_MAX_HEADER / 2;
    n += (size_t)sprintf(req + n, "\r\nCookie: ");
    memset(req + n, 'b', HTTP_MAX_HEADER / 2), n += HTTP_MAX_HEADER / 2;
    n += (size_t)sprintf(req + n, "\r\n\r\n");
    error_status(req, n, 431);
    free(req);
}

/* Bytes that are not HTTP are 400; a method-like token the parser does not know is 501. */
static void malformed_requests(void **state)
{
    (void)state;
    static const char garbage[] = "\x01\x02 nonsense\r\n\r\n";
    error_status(garbage, sizeof garbage - 1, 400);
    static const char tls[] = "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"; /* a TLS ClientHello */
    error_status(tls, sizeof tls - 1, 400);
    static const char space[] = " GET / HTTP/1.1\r\n\r\n";
    error_status(space, sizeof space - 1, 400);
    static const char nocolon[] = "GET / HTTP/1.1\r\nHost example.com\r\n\r\n";
    error_status(nocolon, sizeof nocolon - 1, 400);
    static const char version[] = "GET / HTTP/x.1\r\n\r\n";
    error_status(version, sizeof version - 1, 400);
    static const char badlen[] = "POST / HTTP/1.1\r\nContent-Length: 1x\r\n\r\n";
    error_status(badlen, sizeof badlen - 1, 400);
    static const char both[] = "POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n";
    error_status(both, sizeof both - 1, 400);
    static const char badchunk[] = "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n";
    error_status(badchunk, sizeof badchunk - 1, 400);
    /* http_parser lets a NUL through in a header's value: in a kept one it would cut the value
     * short ("Bearer abc" for "Bearer abc\0xyz"), so it is refused */
    static const char nul[] = "GET / HTTP/1.1\r\nAuthorization: Bearer abc\0xyz\r\n\r\n";
    error_status(nul, sizeof nul - 1, 400);
    /* and so is one that %00 decodes to, in the path or an argument's name or value: the path
     * "/api%00/x" would be read as "/api" */
    static const char *const encoded[] = {"GET /api%00/x HTTP/1.1\r\n\r\n", "GET /e?c_page=a%00b HTTP/1.1\r\n\r\n",
                                          "GET /e?c_%00=1 HTTP/1.1\r\n\r\n", "GET /e?x=1&y=%00 HTTP/1.1\r\n\r\n"};
    for (size_t i = 0; i < sizeof encoded / sizeof *encoded; i++)
        error_status(encoded[i], strlen(encoded[i]), 400);

    static const char unknown[] = "FOO / HTTP/1.1\r\n\r\n";
    error_status(unknown, sizeof unknown - 1, 501);
    static const char lower[] = "get / HTTP/1.1\r\n\r\n";
    error_status(lower, sizeof lower - 1, 501);
    static const char near[] = "GETS / HTTP/1.1\r\n\r\n";
    error_status(near, sizeof near - 1, 501);

    /* after an error, every feed is an error and takes nothing */
    http_request *r = new_request();
    error_n(r, garbage, sizeof garbage - 1, 400);
    size_t used = 12345;
    assert_int_equal(http_request_feed(r, "GET / HTTP/1.1\r\n\r\n", 18, &used), HTTP_REQ_ERROR);
    assert_int_equal(used, 0);
    assert_int_equal(http_request_feed(r, "", 0, &used), HTTP_REQ_ERROR);
    assert_int_equal(used, 0);
    assert_int_equal(http_request_error(r, NULL), 400);
    http_request_free(r);
}

/* Past HTTP_MAX_ARGS arguments the first HTTP_MAX_ARGS are kept and too_many_args is set;
 * exactly HTTP_MAX_ARGS (empty pairs not counted) is not too many. */
static void too_many_args(void **state)
{
    (void)state;
    char *req = malloc(HTTP_MAX_URL);
    assert_non_null(req);
    for (int extra = 0; extra <= 5; extra += 5) {
        size_t n = (size_t)sprintf(req, "GET /?&&");
        for (int i = 0; i < HTTP_MAX_ARGS + extra; i++)
            n += (size_t)sprintf(req + n, "a%d=%d&&", i, i);
        n += (size_t)sprintf(req + n, " HTTP/1.1\r\n\r\n");
        http_request *r = new_request();
        const http_request_info *in = ready_n(r, req, n, n);
        assert_int_equal(in->nargs, HTTP_MAX_ARGS);
        assert_int_equal(in->too_many_args, extra > 0);
        assert_string_equal(in->args[0].key, "a0");
        assert_string_equal(in->args[HTTP_MAX_ARGS - 1].key, "a255");
        assert_string_equal(in->args[HTTP_MAX_ARGS - 1].value, "255");
        assert_null(http_arg_get(in, "a256"));
        http_request_free(r);
    }
    free(req);
}

/* A request is there to read only between READY and http_request_next. */
static void get_only_when_ready(void **state)
{
    (void)state;
    http_request *r = new_request();
    assert_null(http_request_get(r));
    size_t used;
    assert_int_equal(http_request_feed(r, "GET /x HT", 9, &used), HTTP_REQ_MORE);
    assert_null(http_request_get(r));
    ready(r, "TP/1.1\r\n\r\n");
    http_request_next(r);
    assert_null(http_request_get(r));
    http_request_free(r);
    http_request_free(NULL);
}

/* An Upgrade request (which ends the HTTP of its connection) may still have a body, and that
 * body may come in several reads: MORE until it is complete, then READY without keep-alive. */
static void upgrade_with_body_in_two_reads(void **state)
{
    (void)state;
    static const char req[] = "POST /x HTTP/1.1\r\nUpgrade: ws\r\nConnection: upgrade\r\nContent-Length: 5\r\n\r\n"
                              "abcde";
    const size_t n = sizeof req - 1;
    for (size_t cut = 0; cut < n; cut++) {
        http_request *r;
        const http_request_info *in = ready_after_cut(req, n, cut, &r);
        assert_string_equal(in->body, "abcde");
        assert_int_equal(in->keep_alive, 0);
        http_request_free(r);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(get_with_query_string),
        cmocka_unit_test(post_in_every_split),
        cmocka_unit_test(chunked_post),
        cmocka_unit_test(pipelined_pair),
        cmocka_unit_test(pipelined_three),
        cmocka_unit_test(keep_alive),
        cmocka_unit_test(head_request),
        cmocka_unit_test(cookie_headers_are_joined),
        cmocka_unit_test(cookie_lookup),
        cmocka_unit_test(kept_headers),
        cmocka_unit_test(trailers_are_not_headers),
        cmocka_unit_test(body_over_limit_is_dropped),
        cmocka_unit_test(chunked_over_limit),
        cmocka_unit_test(expect_over_limit_is_413),
        cmocka_unit_test(expect_continue),
        cmocka_unit_test(url_too_long_is_414),
        cmocka_unit_test(header_too_long_is_431),
        cmocka_unit_test(malformed_requests),
        cmocka_unit_test(too_many_args),
        cmocka_unit_test(get_only_when_ready),
        cmocka_unit_test(upgrade_with_body_in_two_reads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
