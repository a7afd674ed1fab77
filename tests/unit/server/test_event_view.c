/* The set of /event's account views (server/event_view.c): calls take and release the current
 * view while refreshes (a training, a catalog write) replace it. Each view a call gets must be
 * one it holds a reference to: a call that got the slot's newer view without a reference would
 * release it once too often, and the view would be freed under the calls still using it (the
 * AddressSanitizer build of this test reports that as a use after free). And the searches of a
 * view's traits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "event_view.h"

enum { CALLERS = 3, CALLS = 100000 };

typedef struct shared {
    char path[64];
    ev_views *views;
    _Atomic uint64_t generation;
    _Atomic int callers; /* still calling */
    int64_t account;
} shared;

static sqlite3 *given(void *ctx) { return ctx; }

static void *caller(void *arg)
{
    shared *s = arg;
    sqlite3 *db = NULL;
    char err[256];
    if (store_open(s->path, 0, &db, err, sizeof err))
        return (void *)"cannot open the store";
    const char *failed = NULL;
    for (int i = 0; i < CALLS && !failed; i++) {
        const ev_view *v = ev_views_get(s->views, given, db, s->account, atomic_load(&s->generation));
        if (!v || v->account != s->account)
            failed = "no view, or another account's";
        else if (ev_view_trait(v, 1) != EV_NOT_FOUND) /* reads the view's traits: none */
            failed = "a trait that does not exist";
        ev_views_release(s->views, v);
    }
    sqlite3_close(db);
    atomic_fetch_sub(&s->callers, 1);
    return (void *)failed;
}

static void calls_keep_their_view_through_refreshes(void **state)
{
    (void)state;
    shared s = {.generation = 1};
    snprintf(s.path, sizeof s.path, "/tmp/pn-test-event-view-%d.db", (int)getpid());
    sqlite3 *db = NULL;
    char err[256], key[80];
    assert_int_equal(store_open(s.path, 1, &db, err, sizeof err), 0);
    assert_int_equal(account_create(db, "views", &s.account, key, err, sizeof err), 0);
    assert_non_null(s.views = ev_views_new());

    /* the account's slot exists from the start, so that every refresh builds and installs */
    const ev_view *first = ev_views_get(s.views, given, db, s.account, 1);
    assert_non_null(first);
    ev_views_release(s.views, first);
    pthread_t t[CALLERS];
    atomic_store(&s.callers, CALLERS);
    for (int i = 0; i < CALLERS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, caller, &s), 0);
    long refreshes = 0;
    while (atomic_load(&s.callers) > 0) /* a training after another, as long as calls come */
        ev_views_refresh(s.views, db, s.account, &s.generation, NULL, NULL), refreshes++;
    print_message("%d calls in each of %d threads, %ld refreshes\n", CALLS, CALLERS, refreshes);
    for (int i = 0; i < CALLERS; i++) {
        void *failed = NULL;
        pthread_join(t[i], &failed);
        if (failed)
            fail_msg("a caller: %s", (const char *)failed);
    }
    ev_views_free(s.views);
    sqlite3_close(db);
    char side[80];
    unlink(s.path);
    snprintf(side, sizeof side, "%s-wal", s.path), unlink(side);
    snprintf(side, sizeof side, "%s-shm", s.path), unlink(side);
}

/* ev_view_trait_from, asked ids in ascending order (with repeats, gaps and ids past either end),
 * finds what the plain binary search finds, on views of 0 to 300 traits. */
static void ascending_searches_agree_with_binary_search(void **state)
{
    (void)state;
    srand(7);
    for (int round = 0; round < 2000; round++) {
        size_t n = (size_t)(rand() % 301);
        ev_trait *traits = calloc(n ? n : 1, sizeof *traits);
        int64_t id = rand() % 5;
        for (size_t i = 0; i < n; i++)
            traits[i].id = id += 1 + rand() % (round % 2 ? 3 : 40);
        ev_view v = {.traits = traits, .ntraits = n};
        size_t from = 0;
        int64_t q = -1;
        for (int k = 0; k < 80; k++) {
            q += rand() % 4 == 0 ? 0 : rand() % (round % 3 == 0 ? 200 : 20); /* repeats, short and long gaps */
            assert_int_equal(ev_view_trait_from(&v, q, &from), ev_view_trait(&v, q));
            assert_true(from <= n);
        }
        free(traits);
    }
    /* an id below the last one asked is not found, even when the view has it */
    ev_trait t[3] = {{.id = 1}, {.id = 5}, {.id = 9}};
    ev_view v = {.traits = t, .ntraits = 3};
    size_t from = 0;
    assert_int_equal(ev_view_trait_from(&v, 9, &from), 2);
    assert_int_equal(ev_view_trait_from(&v, 5, &from), EV_NOT_FOUND);
    assert_int_equal(ev_view_trait_from(&v, 9, &from), 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(calls_keep_their_view_through_refreshes),
        cmocka_unit_test(ascending_searches_agree_with_binary_search),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
