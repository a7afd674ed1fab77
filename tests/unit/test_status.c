/* Status codes: every row of PN_STATUS_TABLE has its name and description, values outside the
 * table get the documented fallbacks, and pn_error_clear resets a record. */
#include "test_util.h"

typedef struct row {
    pn_status code;
    int value;
    const char *name;
    const char *text;
} row;

static const row table[] = {
#define ROW_(name, value, text) {name, value, #name, text},
    PN_STATUS_TABLE(ROW_)
#undef ROW_
};

static void every_code_has_its_name_and_description(void **state)
{
    (void)state;
    assert_int_equal(N_ELEMS(table), 12);
    for (size_t i = 0; i < N_ELEMS(table); i++) {
        assert_int_equal((int)table[i].code, table[i].value);
        assert_string_equal(pn_status_name(table[i].code), table[i].name);
        assert_string_equal(pn_strerror(table[i].code), table[i].text);
        assert_true(strlen(pn_strerror(table[i].code)) > 0);
    }
}

static void codes_are_dense_and_distinct(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_ELEMS(table); i++) {
        assert_int_equal(table[i].value, (int)i);
        for (size_t j = 0; j < i; j++) {
            assert_string_not_equal(table[i].name, table[j].name);
            assert_string_not_equal(table[i].text, table[j].text);
        }
    }
}

static void ok_is_zero_and_success(void **state)
{
    (void)state;
    assert_int_equal(PN_OK, 0);
    assert_string_equal(pn_status_name(PN_OK), "PN_OK");
    assert_string_equal(pn_strerror(PN_OK), "success");
}

static void unknown_codes_get_fallbacks(void **state)
{
    (void)state;
    const int unknown[] = {-1, 12, 13, 100, 0x7fffffff};
    for (size_t i = 0; i < N_ELEMS(unknown); i++) {
        assert_string_equal(pn_strerror((pn_status)unknown[i]), "unknown status");
        assert_string_equal(pn_status_name((pn_status)unknown[i]), "PN_UNKNOWN");
    }
}

static void error_clear_resets_and_accepts_null(void **state)
{
    (void)state;
    pn_error e;
    e.code = PN_ECORRUPT;
    strcpy(e.message, "something went wrong");
    pn_error_clear(&e);
    assert_int_equal(e.code, PN_OK);
    assert_string_equal(e.message, "");
    pn_error_clear(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_code_has_its_name_and_description),
        cmocka_unit_test(codes_are_dense_and_distinct),
        cmocka_unit_test(ok_is_zero_and_success),
        cmocka_unit_test(unknown_codes_get_fallbacks),
        cmocka_unit_test(error_clear_resets_and_accepts_null),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
