/* The pending events of /event's log (server/event_pending.c): by visitor in the order they
 * happened, by authenticated id for device graphs, in sequence order for the ingester, and
 * forgotten once the store has them, with tables that grow past their first size. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event_internal.h"

static void add(ev_pending *p, int64_t seq, int64_t account, const char *uuid, const vc_link *cids, size_t ncids)
{
    char payload[64];
    int n = snprintf(payload, sizeof payload, "{\"seq\":%lld}", (long long)seq);
    assert_int_equal(ev_pending_add(p, seq, account, uuid, 1000 + seq, payload, (size_t)n, NULL, cids, ncids), 0);
}

static void visitor_events_in_the_order_they_happened(void **state)
{
    (void)state;
    ev_pending *p = ev_pending_new();
    add(p, 1, 1, "u1", NULL, 0);
    add(p, 2, 1, "u2", NULL, 0);
    add(p, 3, 1, "u1", NULL, 0);
    add(p, 4, 2, "u1", NULL, 0); /* another account's u1 */
    add(p, 5, 1, "u1", NULL, 0);
    ev_logged *e;
    size_t n;
    int64_t upto;
    assert_int_equal(ev_pending_visitor(p, 1, "u1", &e, &n, &upto), 0);
    assert_int_equal(n, 3);
    assert_int_equal(upto, 5);
    assert_int_equal(e[0].seq, 1);
    assert_int_equal(e[1].seq, 3);
    assert_int_equal(e[2].seq, 5);
    assert_string_equal(e[2].payload, "{\"seq\":5}");
    assert_int_equal(e[2].ts, 1005);
    ev_logged_free(e, n);
    assert_int_equal(ev_pending_visitor(p, 3, "u1", &e, &n, &upto), 0);
    assert_int_equal(n, 0);
    ev_logged_free(e, n);
    ev_pending_free(p);
}

/* How many events are pending (all of them, in order, after sequence number 0). */
static size_t pending_count(ev_pending *p)
{
    static const ev_logged *rows[100000];
    size_t n = ev_pending_take(p, 0, rows, 100000);
    for (size_t i = 1; i < n; i++)
        assert_true(rows[i]->seq > rows[i - 1]->seq);
    return n;
}

static void forgets_what_the_store_has_at_any_size(void **state)
{
    (void)state;
    ev_pending *p = ev_pending_new();
    const int N = 50000; /* many times the first table size */
    for (int i = 1; i <= N; i++) {
        char uuid[16];
        snprintf(uuid, sizeof uuid, "v%d", i % 997);
        add(p, i, 1, uuid, NULL, 0);
    }
    assert_int_equal(pending_count(p), N);
    ev_pending_forget(p, N / 2);
    assert_int_equal(pending_count(p), N - N / 2);
    assert_int_equal(ev_pending_last(p), N);

    ev_logged *e;
    size_t n;
    int64_t upto;
    assert_int_equal(ev_pending_visitor(p, 1, "v5", &e, &n, &upto), 0);
    size_t expect = 0;
    for (int i = N / 2 + 1; i <= N; i++)
        expect += i % 997 == 5;
    assert_int_equal(n, expect);
    for (size_t i = 0; i < n; i++) {
        assert_true(e[i].seq > N / 2);
        assert_int_equal(e[i].seq % 997, 5);
        if (i)
            assert_true(e[i].seq > e[i - 1].seq);
    }
    ev_logged_free(e, n);

    const ev_logged *rows[100];
    assert_int_equal(ev_pending_take(p, N / 2 + 10, rows, 100), 100);
    assert_int_equal(rows[0]->seq, N / 2 + 11);
    assert_int_equal(rows[99]->seq, N / 2 + 110);

    ev_pending_forget(p, N);
    assert_int_equal(pending_count(p), 0);
    assert_int_equal(ev_pending_take(p, 0, rows, 100), 0);
    add(p, N + 1, 1, "v5", NULL, 0); /* the tables work on after being emptied */
    assert_int_equal(ev_pending_visitor(p, 1, "v5", &e, &n, &upto), 0);
    assert_int_equal(n, 1);
    ev_logged_free(e, n);
    ev_pending_free(p);
}

/* The ingester's loop (take, then forget what it took) against a writer adding events meanwhile:
 * every event is taken once, in order, whatever the interleaving (take walks the list outside
 * the lock; forget drops a few hundred at a time; the ThreadSanitizer build checks the rest). */
typedef struct writer_ctx {
    ev_pending *p;
    int n;
} writer_ctx;

static void *writer(void *arg)
{
    writer_ctx *w = arg;
    for (int i = 1; i <= w->n; i++) {
        char uuid[16];
        snprintf(uuid, sizeof uuid, "w%d", i % 101);
        vc_link id = {.ds = 3};
        snprintf(id.cid, sizeof id.cid, "c%d", i % 7);
        add(w->p, i, 1, uuid, &id, i % 3 == 0);
    }
    return NULL;
}

static void takes_each_event_once_while_events_come(void **state)
{
    (void)state;
    ev_pending *p = ev_pending_new();
    writer_ctx w = {p, 200000};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, writer, &w), 0);
    static const ev_logged *rows[1000];
    int64_t applied = 0;
    while (applied < w.n) {
        size_t n = ev_pending_take(p, applied, rows, sizeof rows / sizeof *rows);
        for (size_t i = 0; i < n; i++)
            assert_int_equal(rows[i]->seq, applied + 1 + (int64_t)i);
        if (n) {
            applied = rows[n - 1]->seq;
            ev_pending_forget(p, applied);
        }
    }
    pthread_join(t, NULL);
    assert_int_equal(pending_count(p), 0);
    assert_int_equal(ev_pending_last(p), w.n);
    ev_pending_free(p);
}

static size_t graph(ev_pending *p, int64_t account, int64_t ds, const char *cid, const char *self,
                    char (*out)[EV_MAX_UUID + 1])
{
    size_t n = 0;
    assert_int_equal(ev_pending_graph(p, account, ds, cid, self, out, &n, EV_MAX_GRAPH), 0);
    return n;
}

static void device_graph_by_authenticated_id(void **state)
{
    (void)state;
    ev_pending *p = ev_pending_new();
    vc_link alice = {5, 0, "alice"}, alice6 = {6, 0, "alice"}, bob = {5, 0, "bob"};
    vc_link both[2] = {{5, 0, "bob"}, {5, 0, "alice"}};
    add(p, 1, 1, "phone", &alice, 1);
    add(p, 2, 1, "laptop", &alice, 1);
    add(p, 3, 1, "tablet", &alice6, 1); /* the same id from another data source */
    add(p, 4, 1, "tv", &bob, 1);
    add(p, 5, 1, "phone", &alice, 1); /* seen again: listed once */
    add(p, 6, 2, "other", &alice, 1); /* another account */
    add(p, 7, 1, "car", both, 2);
    for (int i = 0; i < 3000; i++) /* events without ids, enough to grow the tables */
        add(p, 8 + i, 1, "anon", NULL, 0);

    char out[EV_MAX_GRAPH][EV_MAX_UUID + 1];
    size_t n = graph(p, 1, 5, "alice", "phone", out);
    assert_int_equal(n, 2);
    int laptop = 0, car = 0;
    for (size_t i = 0; i < n; i++)
        laptop += strcmp(out[i], "laptop") == 0, car += strcmp(out[i], "car") == 0;
    assert_int_equal(laptop, 1);
    assert_int_equal(car, 1);
    assert_int_equal(graph(p, 1, 5, "alice", "someone", out), 3);
    assert_int_equal(graph(p, 1, 5, "bob", "tv", out), 1);
    assert_string_equal(out[0], "car");
    assert_int_equal(graph(p, 1, 6, "alice", "x", out), 1);
    assert_string_equal(out[0], "tablet");
    assert_int_equal(graph(p, 1, 5, "carol", "x", out), 0);

    ev_pending_forget(p, 2); /* phone's first event and laptop's are in the store now */
    n = graph(p, 1, 5, "alice", "x", out);
    assert_int_equal(n, 2); /* phone (event 5) and car */
    ev_pending_forget(p, 7);
    assert_int_equal(graph(p, 1, 5, "alice", "x", out), 0);
    assert_int_equal(graph(p, 1, 5, "bob", "x", out), 0);
    ev_pending_free(p);
}

static void takes_over_the_payload(void **state)
{
    (void)state;
    ev_pending *p = ev_pending_new();
    static const char src[] = "{\"taken\":1}";
    char *text = malloc(sizeof src);
    assert_non_null(text);
    memcpy(text, src, sizeof src);
    char *take = text;
    assert_int_equal(ev_pending_add(p, 1, 1, "u", 5, text, strlen(text), &take, NULL, 0), 0);
    assert_null(take);
    ev_logged *e;
    size_t n;
    int64_t upto;
    assert_int_equal(ev_pending_visitor(p, 1, "u", &e, &n, &upto), 0);
    assert_int_equal(n, 1);
    assert_string_equal(e[0].payload, "{\"taken\":1}");
    ev_logged_free(e, n);
    ev_pending_free(p); /* frees the payload it took: the sanitizer build checks */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(visitor_events_in_the_order_they_happened),
        cmocka_unit_test(forgets_what_the_store_has_at_any_size),
        cmocka_unit_test(takes_each_event_once_while_events_come),
        cmocka_unit_test(device_graph_by_authenticated_id),
        cmocka_unit_test(takes_over_the_payload),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
