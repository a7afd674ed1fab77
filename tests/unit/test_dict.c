/* String interning (internal dict.h): dense ids in insertion order, lookups, arbitrary bytes,
 * and growth that never renumbers. */
#include "test_util.h"

#include "dict.h"

static void empty_dict_finds_nothing(void **state)
{
    (void)state;
    pn_dict d;
    pn__dict_init(&d);
    assert_int_equal(pn__dict_count(&d), 0);
    assert_int_equal(pn__dict_find(&d, "a", 1), PN_DICT_NONE);
    assert_int_equal(pn__dict_find(&d, "", 0), PN_DICT_NONE);
    pn__dict_fini(&d);
    pn__dict_fini(NULL);
}

static void ids_are_dense_in_insertion_order_and_reinterning_returns_them(void **state)
{
    (void)state;
    static const char *const words[] = {"apple", "google", "hp", "a", "ab", "abc", "b"};
    pn_dict d;
    pn__dict_init(&d);
    for (size_t i = 0; i < N_ELEMS(words); i++) {
        uint32_t id = 99;
        assert_int_equal(pn__dict_intern(&d, words[i], strlen(words[i]), &id), 0);
        assert_int_equal(id, i);
    }
    for (size_t i = N_ELEMS(words); i-- > 0;) {
        uint32_t id = 99;
        assert_int_equal(pn__dict_intern(&d, words[i], strlen(words[i]), &id), 0);
        assert_int_equal(id, i);
        assert_int_equal(pn__dict_find(&d, words[i], strlen(words[i])), i);
        size_t len = 0;
        assert_string_equal(pn__dict_str(&d, (uint32_t)i, &len), words[i]);
        assert_int_equal(len, strlen(words[i]));
    }
    assert_int_equal(pn__dict_count(&d), N_ELEMS(words));
    /* prefixes and extensions of interned strings are different strings */
    assert_int_equal(pn__dict_find(&d, "appl", 4), PN_DICT_NONE);
    assert_int_equal(pn__dict_find(&d, "apples", 6), PN_DICT_NONE);
    assert_int_equal(pn__dict_find(&d, "abc", 2), 4);
    pn__dict_fini(&d);
}

static void empty_string_is_an_ordinary_key(void **state)
{
    (void)state;
    pn_dict d;
    pn__dict_init(&d);
    uint32_t a, b, c;
    assert_int_equal(pn__dict_intern(&d, "x", 1, &a), 0);
    assert_int_equal(pn__dict_intern(&d, "", 0, &b), 0);
    assert_int_equal(pn__dict_intern(&d, &"x"[1], 0, &c), 0);
    assert_int_equal(a, 0);
    assert_int_equal(b, 1);
    assert_int_equal(c, 1);
    size_t len = 9;
    assert_string_equal(pn__dict_str(&d, 1, &len), "");
    assert_int_equal(len, 0);
    assert_int_equal(pn__dict_find(&d, "", 0), 1);
    pn__dict_fini(&d);
}

static void embedded_nul_and_high_bytes_are_kept_exactly(void **state)
{
    (void)state;
    static const char k0[] = {'a', '\0', 'b'};
    static const char k1[] = {'a', '\0', 'c'};
    static const char k2[] = {'a'};
    static const char k3[] = {'\0'};
    static const char k4[] = {'\xff', '\xfe', '\x80', '\t', '\n'};
    const struct {
        const char *s;
        size_t n;
    } keys[] = {{k0, 3}, {k1, 3}, {k2, 1}, {k3, 1}, {k4, 5}};
    pn_dict d;
    pn__dict_init(&d);
    for (size_t i = 0; i < N_ELEMS(keys); i++) {
        uint32_t id;
        assert_int_equal(pn__dict_intern(&d, keys[i].s, keys[i].n, &id), 0);
        assert_int_equal(id, i);
    }
    for (size_t i = 0; i < N_ELEMS(keys); i++) {
        size_t len;
        const char *s = pn__dict_str(&d, (uint32_t)i, &len);
        assert_int_equal(len, keys[i].n);
        assert_memory_equal(s, keys[i].s, len);
        assert_int_equal(s[len], '\0'); /* NUL-terminated in the arena */
        assert_int_equal(pn__dict_find(&d, keys[i].s, keys[i].n), i);
    }
    pn__dict_fini(&d);
}

static void hundred_thousand_strings_keep_their_ids_through_every_rehash(void **state)
{
    (void)state;
    enum { N = 100000 };
    pn_dict d;
    pn__dict_init(&d);
    char buf[32];
    size_t last_slots = 0, rehashes = 0;
    for (uint32_t i = 0; i < N; i++) {
        int n = snprintf(buf, sizeof buf, "visitor-%u", i * 2654435761u);
        uint32_t id;
        assert_int_equal(pn__dict_intern(&d, buf, (size_t)n, &id), 0);
        assert_int_equal(id, i);
        if (d.slot_mask + 1 != last_slots) {
            rehashes++;
            last_slots = d.slot_mask + 1;
            /* after every growth, the first, middle and latest ids still resolve */
            uint32_t probe[3] = {0, i / 2, i};
            for (int k = 0; k < 3; k++) {
                int m = snprintf(buf, sizeof buf, "visitor-%u", probe[k] * 2654435761u);
                assert_int_equal(pn__dict_find(&d, buf, (size_t)m), probe[k]);
            }
        }
        assert_true((size_t)d.n * 2 <= d.slot_mask + 1); /* load factor at most one half */
    }
    assert_true(rehashes > 5);
    assert_int_equal(pn__dict_count(&d), N);
    for (uint32_t i = 0; i < N; i++) {
        int n = snprintf(buf, sizeof buf, "visitor-%u", i * 2654435761u);
        assert_int_equal(pn__dict_find(&d, buf, (size_t)n), i);
        size_t len;
        const char *s = pn__dict_str(&d, i, &len);
        assert_int_equal(len, (size_t)n);
        assert_memory_equal(s, buf, len);
        uint32_t id;
        assert_int_equal(pn__dict_intern(&d, buf, (size_t)n, &id), 0);
        assert_int_equal(id, i);
    }
    assert_int_equal(pn__dict_count(&d), N);
    assert_int_equal(pn__dict_find(&d, "visitor-x", 9), PN_DICT_NONE);
    pn__dict_fini(&d);
    assert_int_equal(pn__dict_count(&d), 0);
}

static void long_strings_are_interned_whole(void **state)
{
    (void)state;
    size_t n = 70000;
    char *a = malloc(n), *b = malloc(n);
    memset(a, 'x', n);
    memcpy(b, a, n);
    b[n - 1] = 'y';
    pn_dict d;
    pn__dict_init(&d);
    uint32_t ia, ib;
    assert_int_equal(pn__dict_intern(&d, a, n, &ia), 0);
    assert_int_equal(pn__dict_intern(&d, b, n, &ib), 0);
    assert_int_not_equal(ia, ib);
    assert_int_equal(pn__dict_find(&d, a, n), ia);
    assert_int_equal(pn__dict_find(&d, a, n - 1), PN_DICT_NONE);
    pn__dict_fini(&d);
    free(a);
    free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(empty_dict_finds_nothing),
        cmocka_unit_test(ids_are_dense_in_insertion_order_and_reinterning_returns_them),
        cmocka_unit_test(empty_string_is_an_ordinary_key),
        cmocka_unit_test(embedded_nul_and_high_bytes_are_kept_exactly),
        cmocka_unit_test(hundred_thousand_strings_keep_their_ids_through_every_rehash),
        cmocka_unit_test(long_strings_are_interned_whole),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
