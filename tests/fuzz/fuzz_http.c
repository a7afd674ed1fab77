/*
 * Fuzz target for the server's HTTP request reader (server/http_request.h, on http_parser). The
 * first input byte chooses where the rest, a connection's bytes, is cut into two reads; they are
 * fed as the server's loop feeds them (after READY, the bytes not taken are fed again once
 * http_request_next is called). Beyond "no crash, no leak, no undefined behaviour" it checks:
 *   - a feed takes at most what it is given, MORE takes all of it, READY takes at least a byte,
 *     and READY and ERROR stay as they are (taking nothing) until http_request_next;
 *   - a READY request has a method (head set exactly for HEAD), a NUL-terminated path of at most
 *     HTTP_MAX_URL bytes, at most HTTP_MAX_ARGS arguments (exactly that many when too_many_args)
 *     whose keys and values have their NUL at klen and vlen (a %00 may put one before) and are
 *     found by http_arg_get, kept headers of at most HTTP_MAX_HEADER bytes without trailing
 *     blanks, the limit of its path, and a body that is NUL-terminated at body_len and within
 *     that limit, or NULL with body_len 0 (always when too_big); no 100 Continue is left to send;
 *   - an ERROR has one of the statuses the server answers (400, 413, 414, 431, 500, 501) and a
 *     reason;
 *   - http_cookie, with a small buffer, finds the first cookie named in the Cookie header and
 *     truncates its value to the buffer, and never reads or writes out of bounds on any text.
 * Built with -DPN_FUZZ_STANDALONE it has a main() that runs each file named on the command
 * line once, for regression runs without libFuzzer.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http_request.h"

#include "fuzz_check.h"

/* Small limits, so that bodies over them are common: 16 bytes under "/s...", 1 KiB elsewhere. */
static size_t limit_for(const char *path)
{
    return path[0] == '/' && path[1] == 's' ? 16 : 1024;
}

static void check_trimmed(const char *h)
{
    if (!h)
        return;
    size_t n = strlen(h);
    CHECK(n <= HTTP_MAX_HEADER);
    CHECK(n == 0 || (h[n - 1] != ' ' && h[n - 1] != '\t'));
}

static void check_cookie(const char *header)
{
    char buf[8];
    const char *v = http_cookie(header, "pn_uuid", buf, sizeof buf);
    CHECK(!v || (v == buf && strlen(buf) < sizeof buf));
    if (!header)
        return;
    /* the first pair's name, taken as http_cookie reads the pairs */
    const char *s = header + strspn(header, " \t;");
    size_t nlen = strcspn(s, "=;");
    if (nlen == 0 || nlen >= 32 || s[nlen] != '=')
        return;
    char name[32];
    memcpy(name, s, nlen);
    name[nlen] = '\0';
    CHECK(http_cookie(header, name, buf, sizeof buf) == buf && strlen(buf) < sizeof buf);
    CHECK(http_cookie(header, name, buf, 1) == buf && buf[0] == '\0');
}

static void check_ready(const http_request_info *in)
{
    CHECK(in);
    CHECK(in->method && in->method[0] != '\0');
    CHECK(in->head == (strcmp(in->method, "HEAD") == 0));
    CHECK(in->path && strlen(in->path) <= HTTP_MAX_URL);
    CHECK(in->nargs <= HTTP_MAX_ARGS);
    CHECK(!in->too_many_args || in->nargs == HTTP_MAX_ARGS);
    for (size_t i = 0; i < in->nargs; i++) {
        const http_arg *a = &in->args[i];
        CHECK(a->key && a->value);
        CHECK(a->klen <= HTTP_MAX_URL && a->vlen <= HTTP_MAX_URL);
        CHECK(a->key[a->klen] == '\0' && a->value[a->vlen] == '\0');
        CHECK(strlen(a->key) <= a->klen && strlen(a->value) <= a->vlen);
        CHECK(http_arg_get(in, a->key) != NULL); /* this one or an earlier one of the same name */
    }
    check_trimmed(in->cookie);
    check_trimmed(in->authorization);
    check_trimmed(in->if_none_match);
    CHECK(in->limit == limit_for(in->path));
    if (in->body) {
        CHECK(!in->too_big);
        CHECK(in->body_len > 0 && in->body_len <= in->limit);
        CHECK(in->body[in->body_len] == '\0');
    } else
        CHECK(in->body_len == 0);
    CHECK(in->keep_alive == 0 || in->keep_alive == 1);
    check_cookie(in->cookie);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    const char *s = (const char *)data + 1;
    size_t len = size - 1, cut = len * data[0] / 255;

    /* http_cookie on any text, as a header a client could send */
    char *text = malloc(len + 1);
    CHECK(text);
    memcpy(text, s, len);
    text[len] = '\0';
    check_cookie(text);
    free(text);

    http_request *r = http_request_new(limit_for);
    CHECK(r);
    size_t avail = cut, off = 0; /* received, taken */
    for (;;) {
        size_t used = (size_t)-1;
        int st = http_request_feed(r, s + off, avail - off, &used);
        CHECK(used <= avail - off);
        off += used;
        if (st == HTTP_REQ_READY) {
            CHECK(used > 0);
            const http_request_info *in = http_request_get(r);
            check_ready(in);
            CHECK(http_request_take_continue(r) == 0);
            /* stays READY, taking nothing, until next */
            CHECK(http_request_feed(r, s + off, avail - off, &used) == HTTP_REQ_READY && used == 0);
            CHECK(http_request_get(r) == in);
            http_request_next(r);
            CHECK(!http_request_get(r));
            continue;
        }
        if (st == HTTP_REQ_ERROR) {
            const char *why = NULL;
            int status = http_request_error(r, &why);
            CHECK(status == 400 || status == 413 || status == 414 || status == 431 || status == 500 ||
                  status == 501);
            CHECK(why && why[0] != '\0');
            CHECK(!http_request_get(r));
            CHECK(http_request_feed(r, s + off, avail - off, &used) == HTTP_REQ_ERROR && used == 0);
            break;
        }
        CHECK(st == HTTP_REQ_MORE && off == avail);
        CHECK(!http_request_get(r));
        if (http_request_take_continue(r))
            CHECK(http_request_take_continue(r) == 0);
        if (avail == len)
            break;
        avail = len; /* the second read */
    }
    http_request_free(r);
    return 0;
}

#include "standalone_main.h"
