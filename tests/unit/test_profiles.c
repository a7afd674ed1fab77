/* The profile store: adding realizations, sealing, and every accessor, with the per visitor
 * and trait summaries, time-window counts at their boundaries, and large stores. */
#include "test_util.h"


static const char *const EVENTS =
    "alice\tshoes\t100\n"
    "alice\tshoes\t300\n"
    "alice\tshoes\t200\n"
    "bob\thats\t50\n"
    "alice\thats\t400\n"
    "alice\tshoes\t300\n"
    "\n"
    "{\"uuid\":\"carol\",\"trait\":17,\"ts\":1000}\n"
    "bob\tshoes\t60\r\n"
    "alice\tbags\t10\n";

static uint32_t trait_index(const pn_profiles *p, const char *id)
{
    uint32_t t = pn_profiles_trait_find(p, id, strlen(id));
    assert_int_not_equal(t, PN_NONE);
    return t;
}

static uint32_t visitor_index(const pn_profiles *p, const char *uuid)
{
    uint32_t v = pn_profiles_visitor_find(p, uuid, strlen(uuid));
    assert_int_not_equal(v, PN_NONE);
    return v;
}

static const pn_realization *realization_of(const pn_profiles *p, const char *uuid, const char *trait)
{
    size_t n;
    const pn_realization *r = pn_profiles_visitor_traits(p, visitor_index(p, uuid), &n);
    uint32_t t = trait_index(p, trait);
    for (size_t i = 0; i < n; i++)
        if (r[i].trait == t)
            return &r[i];
    fail_msg("%s has no realization of %s", uuid, trait);
    return NULL;
}

static void counts_and_ids_follow_first_appearance(void **state)
{
    (void)state;
    pn_profiles *p = pn_test_profiles(EVENTS);
    assert_int_equal(pn_profiles_visitor_count(p), 3);
    assert_int_equal(pn_profiles_trait_count(p), 4);
    assert_int_equal(pn_profiles_event_count(p), 9); /* the blank line is skipped */
    assert_int_equal(pn_profiles_max_ts(p), 1000);
    static const char *const visitors[] = {"alice", "bob", "carol"};
    static const char *const traits[] = {"shoes", "hats", "17", "bags"};
    for (uint32_t v = 0; v < 3; v++) {
        size_t len;
        assert_string_equal(pn_profiles_visitor_uuid(p, v, &len), visitors[v]);
        assert_int_equal(len, strlen(visitors[v]));
        assert_int_equal(pn_profiles_visitor_find(p, visitors[v], len), v);
    }
    for (uint32_t t = 0; t < 4; t++) {
        size_t len;
        assert_string_equal(pn_profiles_trait_id(p, t, &len), traits[t]);
        assert_int_equal(len, strlen(traits[t]));
        assert_int_equal(pn_profiles_trait_find(p, traits[t], len), t);
    }
    assert_int_equal(pn_profiles_visitor_find(p, "dave", 4), PN_NONE);
    assert_int_equal(pn_profiles_trait_find(p, "shoe", 4), PN_NONE);
    pn_profiles_free(p);
}

static void first_last_and_count_per_visitor_and_trait(void **state)
{
    (void)state;
    pn_profiles *p = pn_test_profiles(EVENTS);
    const struct {
        const char *uuid, *trait;
        uint32_t count;
        int64_t first, last;
    } want[] = {
        {"alice", "shoes", 4, 100, 300}, {"alice", "hats", 1, 400, 400}, {"alice", "bags", 1, 10, 10},
        {"bob", "hats", 1, 50, 50},      {"bob", "shoes", 1, 60, 60},    {"carol", "17", 1, 1000, 1000},
    };
    for (size_t i = 0; i < N_ELEMS(want); i++) {
        const pn_realization *r = realization_of(p, want[i].uuid, want[i].trait);
        assert_int_equal(r->count, want[i].count);
        assert_int_equal(r->first_seen, want[i].first);
        assert_int_equal(r->last_seen, want[i].last);
    }
    pn_profiles_free(p);
}

static void realizations_are_sorted_by_trait_index(void **state)
{
    (void)state;
    pn_profiles *p = pn_test_profiles(EVENTS);
    for (uint32_t v = 0; v < pn_profiles_visitor_count(p); v++) {
        size_t n;
        const pn_realization *r = pn_profiles_visitor_traits(p, v, &n);
        assert_true(n > 0);
        for (size_t i = 1; i < n; i++)
            assert_true(r[i - 1].trait < r[i].trait);
    }
    size_t n;
    const pn_realization *r = pn_profiles_visitor_traits(p, visitor_index(p, "alice"), &n);
    assert_int_equal(n, 3);
    assert_int_equal(r[0].trait, trait_index(p, "shoes"));
    assert_int_equal(r[1].trait, trait_index(p, "hats"));
    assert_int_equal(r[2].trait, trait_index(p, "bags"));
    /* out of range visitor: nothing */
    n = 99;
    assert_null(pn_profiles_visitor_traits(p, 3, &n));
    assert_int_equal(n, 0);
    pn_profiles_free(p);
}

static void count_since_at_boundaries(void **state)
{
    (void)state;
    pn_profiles *p = pn_test_profiles(EVENTS);
    uint32_t a = visitor_index(p, "alice"), shoes = trait_index(p, "shoes"), hats = trait_index(p, "hats");
    const struct {
        uint32_t t;
        int64_t since;
        uint32_t want;
    } cases[] = {
        {shoes, INT64_MIN, 4}, {shoes, -1, 4},  {shoes, 0, 4},   {shoes, 100, 4},         {shoes, 101, 3},
        {shoes, 200, 3},       {shoes, 201, 2}, {shoes, 300, 2}, {shoes, 301, 0},         {shoes, PN_TS_MAX, 0},
        {shoes, INT64_MAX, 0}, {hats, 400, 1},  {hats, 401, 0},  {trait_index(p, "17"), 0, 0},
    };
    for (size_t i = 0; i < N_ELEMS(cases); i++)
        if (pn_profiles_count_since(p, a, cases[i].t, cases[i].since) != cases[i].want)
            fail_msg("case %zu: since %lld gives %u, want %u", i, (long long)cases[i].since,
                     pn_profiles_count_since(p, a, cases[i].t, cases[i].since), cases[i].want);
    assert_int_equal(pn_profiles_count_since(p, 99, shoes, 0), 0);
    pn_profiles_free(p);
}

static void count_between_at_boundaries(void **state)
{
    (void)state;
    pn_profiles *p = pn_test_profiles(EVENTS);
    uint32_t a = visitor_index(p, "alice"), shoes = trait_index(p, "shoes");
    const pn_realization *r = realization_of(p, "alice", "shoes");
    const struct {
        int64_t since, until;
        uint32_t want;
    } cases[] = {
        {INT64_MIN, INT64_MAX, 4}, {100, 300, 4}, {101, 300, 3}, {100, 299, 2}, {101, 299, 1}, {200, 200, 1},
        {300, 300, 2},             {0, 99, 0},    {301, 1000, 0}, {150, 199, 0}, {0, PN_TS_MAX, 4},
        /* an empty window holds nothing */
        {250, 150, 0},             {300, 100, 0}, {201, 199, 0},
    };
    for (size_t i = 0; i < N_ELEMS(cases); i++) {
        uint32_t got = pn_profiles_count_between(p, a, shoes, NULL, cases[i].since, cases[i].until);
        uint32_t got_r = pn_profiles_count_between(p, a, shoes, r, cases[i].since, cases[i].until);
        if (got != cases[i].want || got_r != cases[i].want)
            fail_msg("case %zu: [%lld, %lld] gives %u (%u with the summary), want %u", i, (long long)cases[i].since,
                     (long long)cases[i].until, got, got_r, cases[i].want);
    }
    /* a trait the visitor never realized */
    assert_int_equal(pn_profiles_count_between(p, a, trait_index(p, "17"), NULL, INT64_MIN, INT64_MAX), 0);
    pn_profiles_free(p);
}

static void add_after_finish_fails_and_finish_is_idempotent(void **state)
{
    (void)state;
    pn_profiles *p = pn_test_profiles("u\tt\t1\n");
    pn_error err;
    assert_status(pn_profiles_add(p, "v", 1, "t", 1, 2, &err), PN_EINVAL, &err, "sealed");
    assert_status(pn_profiles_add_line(p, "v\tt\t2", 5, &err), PN_EINVAL, &err, "sealed");
    assert_int_equal(pn_profiles_finish(p, &err), PN_OK);
    assert_int_equal(pn_profiles_visitor_count(p), 1);
    assert_int_equal(pn_profiles_event_count(p), 1);
    pn_profiles_free(p);
}

static void add_rejects_bad_ids_and_timestamps(void **state)
{
    (void)state;
    pn_profiles *p;
    pn_error err;
    char big[PN_ID_MAX + 1];
    memset(big, 'x', sizeof big);
    assert_int_equal(pn_profiles_new(&p, &err), PN_OK);
    assert_status(pn_profiles_add(p, "", 0, "t", 1, 1, &err), PN_EPARSE, &err, "uuid");
    assert_status(pn_profiles_add(p, "u", 1, "", 0, 1, &err), PN_EPARSE, &err, "trait id");
    assert_status(pn_profiles_add(p, big, PN_ID_MAX + 1, "t", 1, 1, &err), PN_EPARSE, &err, "uuid");
    assert_status(pn_profiles_add(p, "u", 1, big, PN_ID_MAX + 1, 1, &err), PN_EPARSE, &err, "trait id");
    assert_status(pn_profiles_add(p, "u", 1, "t", 1, -1, &err), PN_EPARSE, &err, "timestamp -1");
    assert_status(pn_profiles_add(p, "u", 1, "t", 1, PN_TS_MAX + 1, &err), PN_EPARSE, &err, "4294967296");
    assert_status(pn_profiles_add_line(p, "u\tt", 3, &err), PN_EPARSE, &err, "fields");
    assert_int_equal(pn_profiles_add(p, big, PN_ID_MAX, "t", 1, PN_TS_MAX, &err), PN_OK);
    assert_int_equal(pn_profiles_add(p, "u", 1, big, PN_ID_MAX, 0, &err), PN_OK);
    assert_int_equal(pn_profiles_event_count(p), 2);
    assert_int_equal(pn_profiles_finish(p, &err), PN_OK);
    assert_int_equal(pn_profiles_visitor_count(p), 2); /* rejected lines added nothing */
    assert_int_equal(pn_profiles_event_count(p), 2);
    assert_int_equal(pn_profiles_max_ts(p), PN_TS_MAX);
    size_t n;
    const pn_realization *r = pn_profiles_visitor_traits(p, 0, &n);
    assert_int_equal(n, 1);
    assert_int_equal(r[0].first_seen, PN_TS_MAX);
    pn_profiles_free(p);
}

static void long_json_lines_are_added(void **state)
{
    (void)state;
    /* longer than add_line's stack scratch: the heap path */
    char line[3000];
    int n = snprintf(line, sizeof line, "{\"uuid\":\"u\",\"trait\":\"t\",\"ts\":5,\"pad\":\"%02000d\"}", 0);
    pn_profiles *p;
    assert_int_equal(pn_profiles_new(&p, NULL), PN_OK);
    assert_int_equal(pn_profiles_add_line(p, line, (size_t)n, NULL), PN_OK);
    assert_int_equal(pn_profiles_finish(p, NULL), PN_OK);
    assert_int_equal(pn_profiles_event_count(p), 1);
    assert_int_equal(pn_profiles_max_ts(p), 5);
    pn_profiles_free(p);
}

static void empty_store_seals(void **state)
{
    (void)state;
    pn_profiles *p;
    assert_int_equal(pn_profiles_new(&p, NULL), PN_OK);
    assert_int_equal(pn_profiles_finish(p, NULL), PN_OK);
    assert_int_equal(pn_profiles_visitor_count(p), 0);
    assert_int_equal(pn_profiles_trait_count(p), 0);
    assert_int_equal(pn_profiles_event_count(p), 0);
    assert_int_equal(pn_profiles_max_ts(p), 0);
    pn_profiles_free(p);
    pn_profiles_free(NULL);
}

static void many_visitors_interleaved(void **state)
{
    (void)state;
    enum { V = 20000, T = 37, PER = 6 };
    pn_profiles *p;
    assert_int_equal(pn_profiles_new(&p, NULL), PN_OK);
    char u[32], t[32];
    /* round-robin over visitors so that no visitor's lines are consecutive */
    for (int k = 0; k < PER; k++)
        for (int v = 0; v < V; v++) {
            int un = snprintf(u, sizeof u, "v%d", v);
            int tn = snprintf(t, sizeof t, "t%d", (v + k * k) % T);
            assert_int_equal(pn_profiles_add(p, u, (size_t)un, t, (size_t)tn, 1000 + v + k, NULL), PN_OK);
        }
    assert_int_equal(pn_profiles_finish(p, NULL), PN_OK);
    assert_int_equal(pn_profiles_visitor_count(p), V);
    assert_int_equal(pn_profiles_event_count(p), (uint64_t)V * PER);
    assert_int_equal(pn_profiles_max_ts(p), 1000 + V - 1 + PER - 1);
    for (int v = 0; v < V; v += 997) {
        int un = snprintf(u, sizeof u, "v%d", v);
        uint32_t vi = pn_profiles_visitor_find(p, u, (size_t)un);
        assert_int_equal(vi, (uint32_t)v);
        size_t n;
        const pn_realization *r = pn_profiles_visitor_traits(p, vi, &n);
        uint32_t total = 0;
        for (size_t i = 0; i < n; i++) {
            total += r[i].count;
            assert_true((int64_t)r[i].first_seen >= 1000 + v && (int64_t)r[i].last_seen <= 1000 + v + PER - 1);
            assert_true(r[i].first_seen <= r[i].last_seen);
        }
        assert_int_equal(total, PER);
        /* k = 0 gives trait v % T */
        int tn = snprintf(t, sizeof t, "t%d", v % T);
        uint32_t ti = pn_profiles_trait_find(p, t, (size_t)tn);
        assert_true(pn_profiles_count_since(p, vi, ti, INT64_MIN) >= 1);
    }
    pn_profiles_free(p);
}

static void same_timestamp_repeats_all_count(void **state)
{
    (void)state;
    pn_profiles *p = pn_test_profiles("u\tt\t7\nu\tt\t7\nu\tt\t7\n");
    assert_int_equal(pn_profiles_count_since(p, 0, 0, 7), 3);
    assert_int_equal(pn_profiles_count_since(p, 0, 0, 8), 0);
    assert_int_equal(pn_profiles_count_between(p, 0, 0, NULL, 7, 7), 3);
    size_t n;
    const pn_realization *r = pn_profiles_visitor_traits(p, 0, &n);
    assert_int_equal(n, 1);
    assert_int_equal(r[0].count, 3);
    pn_profiles_free(p);
}

static void unsealed_store_reads_as_empty(void **state)
{
    (void)state;
    pn_profiles *p;
    assert_int_equal(pn_profiles_new(&p, NULL), PN_OK);
    assert_int_equal(pn_profiles_add(p, "u", 1, "t", 1, 3, NULL), PN_OK);
    assert_int_equal(pn_profiles_event_count(p), 1);
    size_t n = 5;
    assert_null(pn_profiles_visitor_traits(p, 0, &n));
    assert_int_equal(n, 0);
    assert_int_equal(pn_profiles_count_since(p, 0, 0, 0), 0);
    pn_profiles_free(p); /* freeing an unsealed store frees its pending lines */
}

/* Two sealed stores hold the same visitors, traits and realizations, with the same ids. */
static void assert_same_store(const pn_profiles *a, const pn_profiles *b)
{
    assert_int_equal(pn_profiles_visitor_count(a), pn_profiles_visitor_count(b));
    assert_int_equal(pn_profiles_trait_count(a), pn_profiles_trait_count(b));
    assert_int_equal(pn_profiles_event_count(a), pn_profiles_event_count(b));
    assert_int_equal(pn_profiles_max_ts(a), pn_profiles_max_ts(b));
    for (uint32_t t = 0; t < pn_profiles_trait_count(a); t++)
        assert_string_equal(pn_profiles_trait_id(a, t, NULL), pn_profiles_trait_id(b, t, NULL));
    for (uint32_t v = 0; v < pn_profiles_visitor_count(a); v++) {
        assert_string_equal(pn_profiles_visitor_uuid(a, v, NULL), pn_profiles_visitor_uuid(b, v, NULL));
        size_t na, nb;
        const pn_realization *ra = pn_profiles_visitor_traits(a, v, &na), *rb = pn_profiles_visitor_traits(b, v, &nb);
        assert_int_equal(na, nb);
        for (size_t i = 0; i < na; i++) {
            assert_memory_equal(&ra[i], &rb[i], sizeof *ra);
            assert_int_equal(pn_profiles_count_since(a, v, ra[i].trait, ra[i].last_seen),
                             pn_profiles_count_since(b, v, rb[i].trait, rb[i].last_seen));
        }
    }
}

static const char MIXED[] =
    "u1\tt1\t100\n"
    "u2\tt2\t200\r\n"
    "\n"
    "{\"uuid\":\"u1\",\"trait\":5,\"ts\":50}\n"
    " u3\tt1\t7\n"          /* a uuid with a leading space */
    "u2\tt1\t4294967295\n"
    "u4\tt\xc3\xa9\t0\n"
    "u1\tt1\t100";           /* no final LF */

static void add_lines_equals_add_line_per_line(void **state)
{
    (void)state;
    pn_profiles *a, *b = pn_test_profiles(MIXED);
    uint64_t lines = 0;
    assert_int_equal(pn_profiles_new(&a, NULL), PN_OK);
    assert_int_equal(pn_profiles_add_lines(a, MIXED, strlen(MIXED), &lines, NULL), PN_OK);
    assert_int_equal(lines, 8);
    assert_int_equal(pn_profiles_finish(a, NULL), PN_OK);
    assert_same_store(a, b);
    pn_profiles_free(a);
    pn_profiles_free(b);
}

static void add_lines_stops_at_the_first_bad_line(void **state)
{
    (void)state;
    const struct {
        const char *text;
        uint64_t line;
        const char *needle;
    } cases[] = {
        {"u\tt\t1\nu\tt\n", 2, "found 2"},
        {"u\tt\t1\n\nu\tt\t99999999999\nu\tt\t2\n", 3, "timestamp"},
        {"u\tt\t4294967296", 1, "timestamp"},
        {"u\tt\x7f\t1", 1, "control character"},
        {"u\tt\t1\r\n\tt\t5\n", 2, "uuid is empty"},
        {"u\tt\t1\n{\"uuid\":1}\n", 2, "\"trait\""},
        {"u\tt\t1\nu\tt\t1\tx\n", 2, "found more"},
    };
    for (size_t i = 0; i < N_ELEMS(cases); i++) {
        pn_profiles *p;
        pn_error err;
        uint64_t lines = 0;
        assert_int_equal(pn_profiles_new(&p, NULL), PN_OK);
        pn_status st = pn_profiles_add_lines(p, cases[i].text, strlen(cases[i].text), &lines, &err);
        if (st != PN_EPARSE || lines != cases[i].line || !strstr(err.message, cases[i].needle))
            fail_msg("case %zu: %s at line %llu \"%s\", want PN_EPARSE at line %llu with \"%s\"", i, pn_status_name(st),
                     (unsigned long long)lines, err.message, (unsigned long long)cases[i].line, cases[i].needle);
        /* the lines before the bad one are kept */
        assert_int_equal(pn_profiles_event_count(p), cases[i].line - 1 - (i == 1));
        pn_profiles_free(p);
    }
}

static void merged_stores_equal_one_store_fed_both(void **state)
{
    (void)state;
    char *text = pn_test_synthetic(200, 3, 20, 1000, 4);
    size_t len = strlen(text);
    /* cut at a few line boundaries, including none and everything */
    const size_t cuts[] = {0, len / 3, len / 2, len};
    pn_profiles *whole = pn_test_profiles(text);
    for (size_t k = 0; k < N_ELEMS(cuts); k++) {
        size_t cut = cuts[k];
        while (cut > 0 && cut < len && text[cut - 1] != '\n')
            cut++;
        pn_profiles *a, *b;
        uint64_t lines;
        assert_int_equal(pn_profiles_new(&a, NULL), PN_OK);
        assert_int_equal(pn_profiles_new(&b, NULL), PN_OK);
        assert_int_equal(pn_profiles_reserve(a, 10, NULL), PN_OK);
        assert_int_equal(pn_profiles_add_lines(a, text, cut, &lines, NULL), PN_OK);
        assert_int_equal(pn_profiles_add_lines(b, text + cut, len - cut, &lines, NULL), PN_OK);
        uint64_t nb = pn_profiles_event_count(b);
        assert_int_equal(pn_profiles_merge(a, b, NULL), PN_OK);
        assert_int_equal(pn_profiles_event_count(b), 0); /* src is left empty */
        assert_int_equal(pn_profiles_event_count(a), pn_profiles_event_count(whole));
        (void)nb;
        assert_int_equal(pn_profiles_finish(a, NULL), PN_OK);
        assert_same_store(a, whole);
        pn_error err;
        assert_status(pn_profiles_merge(a, b, &err), PN_EINVAL, &err, "before they are sealed");
        pn_profiles_free(a);
        pn_profiles_free(b);
    }
    pn_profiles_free(whole);
    free(text);
}

/* A store fed text[0, cut), sealed, reopened and fed the rest seals into the store fed everything
 * at once, whatever the cut (in the middle of a visitor's run too), sealing and reopening more
 * than once; and once sealed it is the store of what it was fed so far. */
static void reopened_stores_go_on_as_if_never_sealed(void **state)
{
    (void)state;
    char *text = pn_test_synthetic(200, 3, 20, 1000, 4);
    size_t len = strlen(text);
    const size_t cuts[] = {0, len / 3, len / 2 + 7, len};
    pn_profiles *whole = pn_test_profiles(text);
    for (size_t k = 0; k < N_ELEMS(cuts); k++) {
        size_t cut = cuts[k], mid;
        while (cut > 0 && cut < len && text[cut - 1] != '\n')
            cut++;
        for (mid = cut + (len - cut) / 2; mid > cut && mid < len && text[mid - 1] != '\n'; mid++)
            ;
        uint64_t lines;
        pn_profiles *p;
        assert_int_equal(pn_profiles_new(&p, NULL), PN_OK);
        assert_int_equal(pn_profiles_reopen(p, NULL), PN_OK); /* not sealed: nothing to do */
        assert_int_equal(pn_profiles_add_lines(p, text, cut, &lines, NULL), PN_OK);
        assert_int_equal(pn_profiles_finish(p, NULL), PN_OK);
        char *head = malloc(cut + 1);
        assert_non_null(head);
        memcpy(head, text, cut);
        head[cut] = '\0';
        pn_profiles *part = pn_test_profiles(head);
        assert_same_store(p, part);
        uint64_t head_events = pn_profiles_event_count(part);
        pn_profiles_free(part);
        free(head);
        pn_error err;
        assert_status(pn_profiles_add(p, "z", 1, "t", 1, 0, &err), PN_EINVAL, &err, "sealed");
        assert_int_equal(pn_profiles_reopen(p, NULL), PN_OK);
        assert_int_equal(pn_profiles_event_count(p), head_events);
        assert_int_equal(pn_profiles_add_lines(p, text + cut, mid - cut, &lines, NULL), PN_OK);
        assert_int_equal(pn_profiles_finish(p, NULL), PN_OK); /* sealed again halfway through the rest */
        assert_int_equal(pn_profiles_reopen(p, NULL), PN_OK);
        assert_int_equal(pn_profiles_add_lines(p, text + mid, len - mid, &lines, NULL), PN_OK);
        assert_int_equal(pn_profiles_event_count(p), pn_profiles_event_count(whole));
        assert_int_equal(pn_profiles_finish(p, NULL), PN_OK);
        assert_same_store(p, whole);
        pn_profiles_free(p);
    }
    pn_profiles_free(whole);
    free(text);
}

/* p's summaries are those of the TSV lines `text` counted naively: one per (visitor, trait), in
 * ascending trait index, with the count and first and last timestamps of its lines. */
static void assert_summaries_of(const pn_profiles *p, const char *text)
{
    size_t total = 0;
    for (uint32_t v = 0; v < pn_profiles_visitor_count(p); v++) {
        size_t n;
        const pn_realization *r = pn_profiles_visitor_traits(p, v, &n);
        const char *uuid = pn_profiles_visitor_uuid(p, v, NULL);
        for (size_t i = 0; i < n; i++) {
            assert_true(i == 0 || r[i - 1].trait < r[i].trait);
            const char *trait = pn_profiles_trait_id(p, r[i].trait, NULL);
            uint32_t count = 0, first = UINT32_MAX, last = 0;
            char u[64], t[64];
            long long ts;
            for (const char *s = text; s && *s && sscanf(s, "%63s\t%63s\t%lld", u, t, &ts) == 3;
                 s = strchr(s, '\n'), s = s ? s + 1 : NULL)
                if (strcmp(u, uuid) == 0 && strcmp(t, trait) == 0) {
                    count++;
                    first = (uint32_t)ts < first ? (uint32_t)ts : first;
                    last = (uint32_t)ts > last ? (uint32_t)ts : last;
                }
            assert_int_equal(r[i].count, count);
            assert_int_equal(r[i].first_seen, first);
            assert_int_equal(r[i].last_seen, last);
            total += count;
        }
    }
    assert_int_equal(total, pn_profiles_event_count(p));
}

/* Sealing again puts a visitor's new realizations in their place among the old ones: before the
 * first, between two, after the last, equal to one, few (inserted) or many (sorted again). */
static void reopened_visitors_sort_new_realizations_into_place(void **state)
{
    (void)state;
    static const char before[] = "a\tt5\t10\na\tt9\t20\na\tt1\t30\nb\tt5\t1\na\tt5\t40\n";
    static const char after[] = "a\tt0\t5\na\tt5\t25\nc\tt1\t3\na\tt9\t99\na\tt1\t30\nb\tt0\t2\n";
    char many[4096] = "";
    for (int i = 0; i < 40; i++) /* more than a few new ones for b, in descending order */
        snprintf(many + strlen(many), sizeof many - strlen(many), "b\tt%d\t%d\n", i % 7, 1000 - i);
    const char *parts[] = {before, after, many};
    char all[8192] = "";
    pn_profiles *p;
    assert_int_equal(pn_profiles_new(&p, NULL), PN_OK);
    for (size_t i = 0; i < N_ELEMS(parts); i++) {
        uint64_t lines;
        strcat(all, parts[i]);
        assert_int_equal(pn_profiles_reopen(p, NULL), PN_OK);
        assert_int_equal(pn_profiles_add_lines(p, parts[i], strlen(parts[i]), &lines, NULL), PN_OK);
        assert_int_equal(pn_profiles_finish(p, NULL), PN_OK);
        pn_profiles *fresh = pn_test_profiles(all);
        assert_same_store(p, fresh);
        pn_profiles_free(fresh);
        assert_summaries_of(p, all); /* and both are right, not merely alike */
    }
    pn_profiles_free(p);
}

static void finishing_in_parts_equals_finishing_at_once(void **state)
{
    (void)state;
    char *text = pn_test_synthetic(300, 4, 30, 5000, 8);
    /* interleave visitors so that the store is not grouped by visitor */
    pn_profiles *whole = pn_test_profiles(text);
    const size_t parts[] = {1, 2, 3, 7, 64, 1000};
    for (size_t k = 0; k < N_ELEMS(parts); k++) {
        pn_profiles *p;
        uint64_t lines;
        assert_int_equal(pn_profiles_new(&p, NULL), PN_OK);
        assert_int_equal(pn_profiles_add_lines(p, text, strlen(text), &lines, NULL), PN_OK);
        assert_int_equal(pn_profiles_add(p, "u0", 2, "late", 4, 1, NULL), PN_OK); /* u0 again, out of order */
        assert_int_equal(pn_profiles_finish_begin(p, NULL), PN_OK);
        for (size_t i = parts[k]; i-- > 0;) /* any order */
            pn_profiles_finish_part(p, i, parts[k]);
        assert_int_equal(pn_profiles_finish_end(p, NULL), PN_OK);
        pn_profiles *q;
        assert_int_equal(pn_profiles_new(&q, NULL), PN_OK);
        assert_int_equal(pn_profiles_add_lines(q, text, strlen(text), &lines, NULL), PN_OK);
        assert_int_equal(pn_profiles_add(q, "u0", 2, "late", 4, 1, NULL), PN_OK);
        assert_int_equal(pn_profiles_finish(q, NULL), PN_OK);
        assert_same_store(p, q);
        pn_profiles_free(p);
        pn_profiles_free(q);
    }
    pn_profiles_free(whole);
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(counts_and_ids_follow_first_appearance),
        cmocka_unit_test(first_last_and_count_per_visitor_and_trait),
        cmocka_unit_test(realizations_are_sorted_by_trait_index),
        cmocka_unit_test(count_since_at_boundaries),
        cmocka_unit_test(count_between_at_boundaries),
        cmocka_unit_test(add_after_finish_fails_and_finish_is_idempotent),
        cmocka_unit_test(add_rejects_bad_ids_and_timestamps),
        cmocka_unit_test(long_json_lines_are_added),
        cmocka_unit_test(empty_store_seals),
        cmocka_unit_test(many_visitors_interleaved),
        cmocka_unit_test(same_timestamp_repeats_all_count),
        cmocka_unit_test(unsealed_store_reads_as_empty),
        cmocka_unit_test(add_lines_equals_add_line_per_line),
        cmocka_unit_test(add_lines_stops_at_the_first_bad_line),
        cmocka_unit_test(merged_stores_equal_one_store_fed_both),
        cmocka_unit_test(reopened_stores_go_on_as_if_never_sealed),
        cmocka_unit_test(reopened_visitors_sort_new_realizations_into_place),
        cmocka_unit_test(finishing_in_parts_equals_finishing_at_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
