/* The visitor cache of /event (server/visitor_cache.h): loading, the sequence-number rule that
 * keeps a write from counting twice or not at all, classification epochs, the memory budget. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "visitor_cache.h"

/* A fake store: every visitor has `rows` realizations of trait 1..rows at time 100, one link,
 * and a classification whose baseline is the number of loads so far. */
typedef struct store {
    int loads, cls_loads, fail;
    int rows;
    int64_t upto; /* what a load reports as included */
} store;

static int load(void *ctx, int64_t account, const char *uuid, unsigned what, vc_visitor *out)
{
    store *s = ctx;
    (void)account, (void)uuid;
    if (s->fail)
        return -1;
    if (what & VC_ROWS) {
        s->loads++;
        for (int i = s->rows; i >= 1; i--) /* out of order: the cache sorts */
            if (vc_visitor_add_row(out, i, 100))
                return -1;
        out->upto = s->upto;
    }
    if (what & VC_LINKS)
        vc_visitor_add_link(out, 7, "cid-1", 90);
    if (what & VC_CLS) {
        s->cls_loads++;
        vc_visitor_set_cls(out, 42, 1000 + s->cls_loads, 3);
    }
    return 0;
}

static void loads_once_then_hits(void **state)
{
    (void)state;
    store s = {.rows = 3, .upto = 10};
    vc_cache *c = vc_new(1 << 20);
    vc_visitor v = {0};
    assert_int_equal(vc_get(c, 1, "u1", 5, load, &s, &v), 0);
    assert_int_equal(v.nrows, 3);
    assert_true(v.rows[0].trait == 1 && v.rows[2].trait == 3); /* sorted */
    assert_int_equal(v.nlinks, 1);
    assert_string_equal(v.links[0].cid, "cid-1");
    assert_int_equal(v.ncls, 1);
    assert_int_equal(vc_get(c, 1, "u1", 5, load, &s, &v), 0);
    assert_int_equal(s.loads, 1);
    assert_int_equal(vc_get(c, 2, "u1", 5, load, &s, &v), 0); /* another account: another visitor */
    assert_int_equal(s.loads, 2);
    vc_stats st;
    vc_get_stats(c, &st);
    assert_int_equal(st.hits, 1);
    assert_int_equal(st.misses, 2);
    assert_int_equal(st.visitors, 2);
    s.fail = 1;
    assert_int_equal(vc_get(c, 1, "u2", 5, load, &s, &v), -1); /* nothing cached on failure */
    vc_get_stats(c, &st);
    assert_int_equal(st.visitors, 2);
    vc_visitor_free(&v);
    vc_free(c);
}

static void writes_apply_once(void **state)
{
    (void)state;
    store s = {.rows = 2, .upto = 10};
    vc_cache *c = vc_new(1 << 20);
    vc_visitor v = {0};
    vc_row r = {1, 200};
    vc_write w = {9, &r, 1, NULL, 0, NULL, 0};
    vc_apply(c, 1, "u1", &w); /* not cached: nothing to do, the store has it */
    assert_int_equal(vc_get(c, 1, "u1", 5, load, &s, &v), 0);
    assert_int_equal(v.nrows, 2);
    vc_apply(c, 1, "u1", &w); /* seq 9 <= upto 10: the load included it already */
    assert_int_equal(vc_get(c, 1, "u1", 5, load, &s, &v), 0);
    assert_int_equal(v.nrows, 2);
    vc_link l = {8, 300, "cid-2"};
    vc_cls k = {42, 7, 4};
    vc_write w2 = {11, &r, 1, &l, 1, &k, 1};
    vc_apply(c, 1, "u1", &w2); /* after the load: applied */
    assert_int_equal(vc_get(c, 1, "u1", 5, load, &s, &v), 0);
    assert_int_equal(v.nrows, 3);
    assert_true(v.rows[0].trait == 1 && v.rows[0].ts == 100 && v.rows[1].trait == 1 && v.rows[1].ts == 200);
    assert_int_equal(v.nlinks, 2);
    assert_string_equal(v.links[0].cid, "cid-2"); /* most recent first */
    assert_int_equal(v.ncls, 1);
    assert_true(v.cls[0].baseline == 7 && v.cls[0].version == 4);
    vc_cls gone = {42, 0, 4};
    vc_write w3 = {12, NULL, 0, NULL, 0, &gone, 1};
    vc_apply(c, 1, "u1", &w3);
    assert_int_equal(vc_get(c, 1, "u1", 5, load, &s, &v), 0);
    assert_int_equal(v.ncls, 0);
    vc_flush(c);
    assert_int_equal(vc_get(c, 1, "u1", 5, load, &s, &v), 0);
    assert_int_equal(s.loads, 2);
    assert_int_equal(v.nrows, 2);
    vc_visitor_free(&v);
    vc_free(c);
}

static void new_epoch_reads_classifications_again(void **state)
{
    (void)state;
    store s = {.rows = 1};
    vc_cache *c = vc_new(1 << 20);
    vc_visitor v = {0};
    assert_int_equal(vc_get(c, 1, "u1", 5, load, &s, &v), 0);
    assert_int_equal(v.cls[0].baseline, 1001);
    assert_int_equal(vc_get(c, 1, "u1", 5, load, &s, &v), 0);
    assert_int_equal(s.cls_loads, 1);
    assert_int_equal(vc_get(c, 1, "u1", 6, load, &s, &v), 0); /* a training happened */
    assert_int_equal(s.cls_loads, 2);
    assert_int_equal(s.loads, 1); /* the realizations stay */
    assert_int_equal(v.cls[0].baseline, 1002);
    vc_visitor_free(&v);
    vc_free(c);
}

/* After a training the refresh reads the classifications of the account's recent visitors at
 * once; a call still at the previous epoch does not read them back, and one at the new epoch
 * finds them read. Other accounts and the less recent visitors are left to their next call. */
static void refresh_reads_classifications_ahead(void **state)
{
    (void)state;
    store s = {.rows = 1};
    vc_cache *c = vc_new(64u << 20);
    vc_visitor v = {0};
    char uuid[32];
    for (int i = 0; i < 64 * 10; i++) { /* 10 a shard on average */
        snprintf(uuid, sizeof uuid, "u%d", i);
        assert_int_equal(vc_get(c, 1, uuid, 5, load, &s, &v), 0);
    }
    assert_int_equal(vc_get(c, 2, "other", 5, load, &s, &v), 0);
    assert_int_equal(s.cls_loads, 641);
    assert_int_equal(vc_get(c, 1, "u0", 5, load, &s, &v), 0);
    int64_t first = v.cls[0].baseline; /* 1001 */
    /* at most 3 records a shard looked at: a few are left for their next call */
    size_t n = vc_refresh_cls(c, 1, 6, 3, NULL, load, &s);
    assert_true(n > 64 && n <= 3 * 64);
    assert_int_equal(s.cls_loads, 641 + (int)n);
    assert_int_equal(vc_refresh_cls(c, 1, 6, 3, NULL, load, &s), 0); /* those it can see are done */
    /* every visitor is read by the next full refresh or call, and then only once */
    size_t rest = vc_refresh_cls(c, 1, 6, 64, NULL, load, &s);
    assert_int_equal(n + rest, 640);
    int before = s.cls_loads;
    for (int i = 0; i < 64 * 10; i++) {
        snprintf(uuid, sizeof uuid, "u%d", i);
        assert_int_equal(vc_get(c, 1, uuid, 5, load, &s, &v), 0); /* a call with the view before */
        assert_int_equal(vc_get(c, 1, uuid, 6, load, &s, &v), 0); /* and with the view after */
    }
    assert_int_equal(s.cls_loads, before);
    assert_int_equal(vc_get(c, 1, "u0", 6, load, &s, &v), 0);
    assert_true(v.cls[0].baseline > first + 640); /* what the refresh read, not the first load */
    /* the other account's visitor was not refreshed: its next call at the new epoch reads it */
    assert_int_equal(vc_get(c, 2, "other", 6, load, &s, &v), 0);
    assert_int_equal(s.cls_loads, before + 1);
    /* a failed read stops the refresh; the visitors keep their epoch and are read on their call */
    s.fail = 1;
    assert_int_equal(vc_refresh_cls(c, 1, 7, 64, NULL, load, &s), 0);
    s.fail = 0;
    assert_int_equal(vc_get(c, 1, "u0", 7, load, &s, &v), 0);
    assert_int_equal(s.cls_loads, before + 2);
    vc_visitor_free(&v);
    vc_free(c);
}

/* A training the refresh can apply in memory: its classification of the model replaces the
 * record's (set, changed or removed) at its version, the other models' stay, and nothing is read;
 * records at another epoch, or whose classifications were read or written after the training's
 * commit, and other accounts' are read from the store as before. */
static int64_t trained_baseline(void *ctx, const char *uuid)
{
    (void)ctx;
    return strcmp(uuid, "u1") == 0 ? 501 : strcmp(uuid, "u2") == 0 ? 1002 : 0;
}

static void refresh_applies_a_training_in_memory(void **state)
{
    (void)state;
    store s = {.rows = 1, .upto = 10};
    vc_cache *c = vc_new(1 << 20);
    vc_visitor v = {0};
    const char *uuids[] = {"u1", "u2", "u3", "late", "older"};
    for (size_t i = 0; i < 5; i++)
        assert_int_equal(vc_get(c, 1, uuids[i], i == 4 ? 4 : 5, load, &s, &v), 0);
    assert_int_equal(vc_get(c, 2, "u1", 5, load, &s, &v), 0); /* another account's */
    vc_cls other = {43, 7, 2}; /* another model's classification, and a write past the commit */
    vc_write w = {11, NULL, 0, NULL, 0, &other, 1};
    vc_apply(c, 1, "u1", &w);
    w.seq = 12;
    vc_apply(c, 1, "late", &w);
    vc_row row = {5, 100}; /* a realization past the commit does not count: it is no classification */
    vc_write rw = {13, &row, 1, NULL, 0, NULL, 0};
    vc_apply(c, 1, "u2", &rw);
    assert_int_equal(vc_get(c, 1, "u1", 5, load, &s, &v), 0);
    assert_int_equal(v.ncls, 2);
    int loads = s.cls_loads; /* 6 */
    vc_trained t = {.from_epoch = 5, .applied = 11, .model = 42, .version = 4, .baseline = trained_baseline};
    assert_int_equal(vc_refresh_cls(c, 1, 6, 64, &t, load, &s), 5);
    assert_int_equal(t.applied_to, 3);
    assert_int_equal(s.cls_loads, loads + 2); /* "late" (seq 12 > 11) and "older" (epoch 4) */
    loads = s.cls_loads;
    assert_int_equal(vc_get(c, 1, "u1", 6, load, &s, &v), 0);
    assert_int_equal(v.ncls, 2);
    for (size_t i = 0; i < v.ncls; i++)
        if (v.cls[i].model == 42)
            assert_true(v.cls[i].baseline == 501 && v.cls[i].version == 4); /* changed */
        else
            assert_true(v.cls[i].model == 43 && v.cls[i].baseline == 7 && v.cls[i].version == 2); /* kept */
    assert_int_equal(vc_get(c, 1, "u2", 6, load, &s, &v), 0);
    assert_true(v.ncls == 1 && v.cls[0].baseline == 1002 && v.cls[0].version == 4);
    assert_int_equal(vc_get(c, 1, "u3", 6, load, &s, &v), 0);
    assert_int_equal(v.ncls, 0); /* not classified by the training: removed */
    assert_int_equal(vc_get(c, 1, "late", 6, load, &s, &v), 0);
    assert_true(v.cls[0].version == 3); /* read from the store, as the fake store has it */
    assert_int_equal(s.cls_loads, loads); /* every one of them brought to the new epoch */
    assert_int_equal(vc_get(c, 2, "u1", 6, load, &s, &v), 0);
    assert_int_equal(s.cls_loads, loads + 1); /* the other account's, on its call */
    vc_visitor_free(&v);
    vc_free(c);
}

/* The refresh reads a visitor with the shard unlocked (it runs in idle time: a thread holding the
 * lock without a processor would stop every call for the shard), so the loader may call the
 * cache itself, as the endpoint's threads do meanwhile; what it read is dropped when the record
 * changed meanwhile, and the newer state stays. */
typedef struct racing {
    store st;
    vc_cache *c;
    int writes_during_load; /* the VC_CLS loads left that bring a call's write in meanwhile */
} racing;

static int racing_load(void *ctx, int64_t account, const char *uuid, unsigned what, vc_visitor *out)
{
    racing *r = ctx;
    if ((what & VC_CLS) && !(what & VC_ROWS) && r->writes_during_load > 0) {
        r->writes_during_load--;
        vc_visitor v = {0};
        assert_int_equal(vc_get(r->c, account, uuid, 5, load, &r->st, &v), 0); /* not locked */
        vc_visitor_free(&v);
        vc_cls k = {42, 77, 9};
        vc_write w = {1000, NULL, 0, NULL, 0, &k, 1};
        vc_apply(r->c, account, uuid, &w); /* a call's real-time classification lands */
    }
    return load(&r->st, account, uuid, what, out);
}

static void refresh_reads_unlocked_and_keeps_newer_writes(void **state)
{
    (void)state;
    racing r = {.st = {.rows = 1}};
    r.c = vc_new(1 << 20);
    vc_visitor v = {0};
    assert_int_equal(vc_get(r.c, 1, "u1", 5, racing_load, &r, &v), 0);
    assert_int_equal(v.cls[0].baseline, 1001);
    r.writes_during_load = 1;
    /* the first read is dropped (the call's write is newer); a later pass reads the visitor again */
    assert_int_equal(vc_refresh_cls(r.c, 1, 6, 4, NULL, racing_load, &r), 1);
    assert_int_equal(r.st.cls_loads, 3);
    int loads = r.st.cls_loads;
    assert_int_equal(vc_get(r.c, 1, "u1", 6, racing_load, &r, &v), 0);
    assert_int_equal(r.st.cls_loads, loads); /* read ahead: not again */
    assert_int_equal(v.cls[0].baseline, 1003);
    /* a write that comes with every read: the refresh gives up after its passes, keeps the
     * call's write, and the visitor's next call at the new epoch reads it */
    r.writes_during_load = 1000;
    assert_int_equal(vc_refresh_cls(r.c, 1, 7, 4, NULL, racing_load, &r), 0);
    r.writes_during_load = 0;
    assert_int_equal(vc_get(r.c, 1, "u1", 5, racing_load, &r, &v), 0);
    assert_true(v.cls[0].baseline == 77 && v.cls[0].version == 9);
    assert_int_equal(v.cls_epoch, 5); /* the loader's own calls were at epoch 5, and read it at 5 */
    loads = r.st.cls_loads;
    assert_int_equal(vc_get(r.c, 1, "u1", 7, racing_load, &r, &v), 0);
    assert_int_equal(r.st.cls_loads, loads + 1);
    vc_visitor_free(&v);
    vc_free(r.c);
}

static void keeps_to_its_budget(void **state)
{
    (void)state;
    store s = {.rows = 100};
    size_t budget = 4 << 20;
    vc_cache *c = vc_new(budget);
    vc_visitor v = {0};
    char uuid[32];
    for (int i = 0; i < 20000; i++) {
        snprintf(uuid, sizeof uuid, "visitor-%d", i);
        assert_int_equal(vc_get(c, 1, uuid, 1, load, &s, &v), 0);
    }
    vc_stats st;
    vc_get_stats(c, &st);
    assert_true(st.bytes <= budget + budget / 8);
    assert_true(st.evictions > 0);
    assert_true(st.visitors < 20000 && st.visitors > 1000);
    /* the most recent visitors are still there */
    int before = s.loads;
    assert_int_equal(vc_get(c, 1, "visitor-19999", 1, load, &s, &v), 0);
    assert_int_equal(s.loads, before);
    vc_visitor_free(&v);
    vc_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(loads_once_then_hits),
        cmocka_unit_test(writes_apply_once),
        cmocka_unit_test(new_epoch_reads_classifications_again),
        cmocka_unit_test(refresh_reads_classifications_ahead),
        cmocka_unit_test(refresh_reads_unlocked_and_keeps_newer_writes),
        cmocka_unit_test(refresh_applies_a_training_in_memory),
        cmocka_unit_test(keeps_to_its_budget),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
