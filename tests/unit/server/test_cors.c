/* The origins allowed to call /event from another page (server/cors.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cors.h"

static cors *parse_ok(const char *list)
{
    cors *c = NULL;
    char err[512] = "";
    if (cors_parse(list, &c, err, sizeof err))
        fail_msg("'%s' refused: %s", list, err);
    return c;
}

static void parse_refused(const char *list, const char *named)
{
    cors *c = (cors *)1;
    char err[512] = "";
    if (cors_parse(list, &c, err, sizeof err) == 0)
        fail_msg("'%s' taken", list);
    assert_ptr_equal(c, (cors *)1); /* untouched */
    if (!strstr(err, named))
        fail_msg("'%s': the error does not name '%s': %s", list, named, err);
}

/* A listed origin gets its own name back, with credentials and Vary; another, or none, gets "". */
static void listed_origins_only(void **state)
{
    (void)state;
    cors *c = parse_ok(" https://www.shop.example, http://localhost:8080 ,https://[::1]:9000");
    assert_string_equal(cors_event_headers(c, "https://www.shop.example"),
                        "Access-Control-Allow-Origin: https://www.shop.example\r\n"
                        "Access-Control-Allow-Credentials: true\r\nVary: Origin\r\n");
    assert_non_null(strstr(cors_event_headers(c, "http://localhost:8080"), "Origin: http://localhost:8080\r\n"));
    assert_non_null(strstr(cors_event_headers(c, "https://[::1]:9000"), "Origin: https://[::1]:9000\r\n"));
    /* near misses are other origins: scheme, port, subdomain, suffix, case, a final slash */
    static const char *const others[] = {"http://www.shop.example",        "https://www.shop.example:443",
                                         "https://shop.example",           "https://www.shop.example.evil.example",
                                         "https://WWW.shop.example",       "https://www.shop.example/",
                                         "https://evil.example",           "null",
                                         "",                               "http://localhost"};
    for (size_t i = 0; i < sizeof others / sizeof *others; i++) {
        assert_string_equal(cors_event_headers(c, others[i]), "");
        assert_null(cors_event_preflight(c, others[i]));
    }
    assert_string_equal(cors_event_headers(c, NULL), "");
    assert_null(cors_event_preflight(c, NULL));
    const char *pre = cors_event_preflight(c, "https://www.shop.example");
    assert_non_null(pre);
    assert_non_null(strstr(pre, "Access-Control-Allow-Origin: https://www.shop.example\r\n"));
    assert_non_null(strstr(pre, "Access-Control-Allow-Credentials: true\r\n"));
    assert_non_null(strstr(pre, "Access-Control-Allow-Methods: GET, POST\r\n"));
    assert_non_null(strstr(pre, "Access-Control-Allow-Headers: Content-Type\r\n"));
    cors_free(c);
}

/* No list: no page of another origin may read an answer. */
static void empty_lists(void **state)
{
    (void)state;
    static const char *const lists[] = {"", " , ,", ","};
    for (size_t i = 0; i < sizeof lists / sizeof *lists; i++) {
        cors *c = parse_ok(lists[i]);
        assert_string_equal(cors_event_headers(c, "https://www.shop.example"), "");
        cors_free(c);
    }
    cors *c = NULL;
    char err[64];
    assert_int_equal(cors_parse(NULL, &c, err, sizeof err), 0);
    assert_string_equal(cors_event_headers(c, "https://www.shop.example"), "");
    assert_string_equal(cors_event_headers(NULL, "https://www.shop.example"), "");
    cors_free(c);
    cors_free(NULL);
}

/* What is not an origin as a browser sends it is refused, and the error names it: a wildcard
 * (with the cookie, every site could read its visitors' personas), a path, a final slash, upper
 * case, another scheme, a bad port, a header line's characters. */
static void bad_origins_are_refused(void **state)
{
    (void)state;
    static const char *const bad[] = {"*",
                                      "https://www.shop.example/",
                                      "https://www.shop.example/page",
                                      "https://WWW.shop.example",
                                      "HTTPS://www.shop.example",
                                      "ftp://www.shop.example",
                                      "www.shop.example",
                                      "https://",
                                      "https://www.shop.example:0",
                                      "https://www.shop.example:65536",
                                      "https://www.shop.example:",
                                      "https://www.shop.example:80x",
                                      "https://.shop.example",
                                      "https://shop.example.",
                                      "https://www.shop.example\r\nX-Evil: 1",
                                      "https://user@www.shop.example",
                                      "https://[::1",
                                      "null"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char list[160];
        snprintf(list, sizeof list, "https://ok.example,%s", bad[i]);
        parse_refused(list, bad[i][0] ? bad[i] : "''");
    }
    char many[64 * 40 + 64] = "";
    for (int i = 0; i <= CORS_MAX_ORIGINS; i++)
        snprintf(many + strlen(many), sizeof many - strlen(many), "%shttps://h%d.example", i ? "," : "", i);
    parse_refused(many, "at most 64");
    char longname[400] = "https://";
    memset(longname + 8, 'a', 300);
    parse_refused(longname, "is not an origin");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(listed_origins_only),
        cmocka_unit_test(empty_lists),
        cmocka_unit_test(bad_origins_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
