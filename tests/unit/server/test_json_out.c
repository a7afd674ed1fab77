/* The streaming JSON writer of the server (server/json_out.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "json_out.h"

/* jw_format_fixed6 must print what printf("%.6f") prints, for every value: random ones, values
 * right at and around the halfway points, negatives, zeros and large ones. */
static void fixed6_matches_printf(void **state)
{
    (void)state;
    char a[64], b[64];
    uint64_t x = 88172645463325252ull;
    for (int i = 0; i < 2000000; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17; /* xorshift64 */
        double v;
        switch (i % 5) {
        case 0: v = (double)(int64_t)(x % 2000000001ull - 1000000000) / 1048576.0; break; /* fixed point 2^-20 */
        case 1: v = ((double)(x >> 11) / 9007199254740992.0) * 2 - 1; break;          /* [-1, 1) */
        case 2: v = ((double)(int64_t)(x % 20000001ull) - 10000000) / 1e6 + 5e-7; break; /* at the halves */
        case 3: v = nextafter(((double)(x % 100000)) / 1e6 + 5e-7, (x & 1) ? 1e9 : -1e9); break;
        default: v = ((double)(x >> 11) / 9007199254740992.0) * 1e5; break;
        }
        size_t n = jw_format_fixed6(v, a);
        snprintf(b, sizeof b, "%.6f", v);
        if (strcmp(a, b) != 0 || n != strlen(b))
            fail_msg("%.17g: %s, printf %s", v, a, b);
    }
    const double special[] = {0.0, -0.0, 0.5e-6, -0.5e-6, 1.5e-6, 2.5e-6, 1e-7, -1e-7, 8589.934592, 123456789.123456789,
                              -987654.3210005, 1e20, -1e23, 0.0000005, 0.9999995, 1.0000005};
    for (size_t i = 0; i < sizeof special / sizeof *special; i++) {
        jw_format_fixed6(special[i], a);
        snprintf(b, sizeof b, "%.6f", special[i]);
        assert_string_equal(a, b);
    }
    jw_format_fixed6(1e300, a); /* too long for six decimals in 32 bytes: still a JSON number */
    assert_true(strtod(a, NULL) == 1e300);
}

/* jw_int must print what printf("%lld") prints, around every power of ten (where the digit
 * count changes), at both ends of int64 and at random. */
static void int_matches_printf(void **state)
{
    (void)state;
    int64_t vals[200];
    size_t n = 0;
    for (int64_t p = 1;; p *= 10) {
        vals[n++] = p - 1, vals[n++] = p, vals[n++] = p + 1;
        vals[n++] = -(p - 1), vals[n++] = -p, vals[n++] = -(p + 1);
        if (p > INT64_MAX / 10) /* 10^18: the largest power of ten of int64 */
            break;
    }
    vals[n++] = INT64_MAX, vals[n++] = INT64_MIN, vals[n++] = INT64_MIN + 1;
    uint64_t x = 88172645463325252ull;
    while (n < sizeof vals / sizeof *vals) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        vals[n++] = (int64_t)(x >> (x % 64));
    }
    jw w = {0};
    char want[8192] = "[";
    jw_array_begin(&w);
    for (size_t i = 0; i < n; i++) {
        jw_int(&w, vals[i]);
        snprintf(want + strlen(want), sizeof want - strlen(want), "%s%lld", i ? "," : "", (long long)vals[i]);
    }
    jw_array_end(&w);
    strcat(want, "]");
    char *text = jw_take(&w, NULL);
    assert_non_null(text);
    assert_string_equal(text, want);
    free(text);
}

static void document_parses_back(void **state)
{
    (void)state;
    jw w = {0};
    jw_object_begin(&w);
    JW_KEY(&w, "uuid"), jw_string(&w, "a\"b\\c\n\t\x01z");
    jw_key(&w, "we\"ird"), jw_int(&w, INT64_MIN);
    JW_KEY(&w, "list");
    jw_array_begin(&w);
    jw_int(&w, 0), jw_int(&w, -7), jw_fixed6(&w, 0.25), jw_bool(&w, 1), jw_null(&w), jw_fixed6(&w, NAN);
    jw_object_begin(&w);
    jw_object_end(&w);
    jw_array_begin(&w);
    jw_array_end(&w);
    jw_raw_value(&w, "[1,2]", 5);
    jw_array_end(&w);
    jw_object_end(&w);
    size_t len;
    char *text = jw_take(&w, &len);
    assert_non_null(text);
    assert_int_equal(len, strlen(text));
    assert_string_equal(text, "{\"uuid\":\"a\\\"b\\\\c\\n\\t\\u0001z\",\"we\\\"ird\":-9223372036854775808,"
                              "\"list\":[0,-7,0.250000,true,null,null,{},[],[1,2]]}");
    cJSON *j = cJSON_Parse(text);
    assert_non_null(j);
    assert_string_equal(cJSON_GetObjectItem(j, "uuid")->valuestring, "a\"b\\c\n\t\x01z");
    cJSON_Delete(j);
    free(text);
}

static void unbalanced_is_refused(void **state)
{
    (void)state;
    jw w = {0};
    jw_object_begin(&w);
    jw_array_begin(&w);
    jw_array_end(&w);
    assert_null(jw_take(&w, NULL)); /* the object is not closed */
    jw_init(&w, 4);                  /* a small start grows as needed */
    jw_array_begin(&w);
    for (int i = 0; i < 1000; i++)
        jw_int(&w, i);
    jw_array_end(&w);
    size_t len;
    char *text = jw_take(&w, &len);
    assert_non_null(text);
    cJSON *j = cJSON_Parse(text);
    assert_int_equal(cJSON_GetArraySize(j), 1000);
    cJSON_Delete(j);
    free(text);
}

/* A reset writer starts a new document in the buffer it had; jw_complete tells a whole document
 * from an unbalanced one. */
static void reset_keeps_the_buffer(void **state)
{
    (void)state;
    jw w = {0};
    jw_array_begin(&w);
    assert_false(jw_complete(&w));
    jw_int(&w, 1);
    jw_array_end(&w);
    assert_true(jw_complete(&w));
    char *buf = w.buf;
    jw_reset(&w);
    assert_int_equal(w.len, 0);
    assert_true(jw_complete(&w));
    jw_object_begin(&w);
    JW_KEY(&w, "a"), jw_int(&w, 2);
    jw_object_end(&w);
    assert_ptr_equal(w.buf, buf); /* no new allocation */
    char *text = jw_take(&w, NULL);
    assert_string_equal(text, "{\"a\":2}"); /* nothing of the first document is left */
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fixed6_matches_printf),
        cmocka_unit_test(int_matches_printf),
        cmocka_unit_test(document_parses_back),
        cmocka_unit_test(unbalanced_is_refused),
        cmocka_unit_test(reset_keeps_the_buffer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
