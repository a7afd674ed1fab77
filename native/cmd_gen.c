/*
 * `personae gen`: a realistic synthetic audience in the task-folder format of
 * ../shared/bench/personas_task.py (events.tsv, model.json, truth.tsv).
 *
 * The audience is built so that a model has something real but imperfect to learn (with the
 * values below, scikit-learn's linear peers reach roughly 0.7-0.8 accuracy on 6 personas):
 *   - activity per visitor is lognormal (heavy tail, a few visitors with 1-3 events);
 *   - global trait popularity is Zipf-like over a seeded random order of the traits;
 *   - each persona prefers its own traits: a Zipf-weighted subset, half of it drawn by global
 *     popularity (a tech enthusiast also reads the home page) and part of it shared with a
 *     neighbouring persona; a visitor draws 30-60% of their events from those preferences;
 *   - two visitors in five also lean towards a secondary persona, sometimes more than towards
 *     their own (someone who bought Apple may still browse like a Samsung fan);
 *   - persona sizes differ eightfold between the largest and the smallest;
 *   - visitors come back in sessions over their own span of the 60 days before --as-of, and
 *     reload or revisit traits, so the same trait is realized several times.
 *
 * Determinism: every visitor draws from its own PRNG stream (prng.h), and the few real-valued
 * quantities use only IEEE-754 basic operations (det_log, det_exp below; no libm transcendental
 * whose last bit differs between C libraries), so the same arguments give the same bytes on every
 * platform. Events are streamed visitor by visitor; memory is O(traits), not O(events).
 */
#include "cli.h"
#include "prng.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define CMD "gen"

/* Tunables of the synthetic audience; the header comment says what each one is for. */
#define GEN_WINDOW_SECONDS (60 * 86400) /* history spread over the 60 days before --as-of */
#define GEN_TRAIT_ZIPF 1.05             /* global trait popularity exponent */
#define GEN_PREF_ZIPF 0.8               /* popularity exponent inside a persona's preferred set */
#define GEN_PREF_SHARED 0.35            /* share of a preferred set borrowed from the next persona */
#define GEN_PREF_POPULAR 0.5            /* share of a preferred set drawn by global popularity */
#define GEN_SIZE_RATIO 8.0              /* largest persona / smallest persona */
#define GEN_AFFINITY_MIN 0.3            /* share of a visitor's events from persona traits ... */
#define GEN_AFFINITY_MAX 0.6            /* ... uniform in [min, max), per visitor */
#define GEN_SECOND_PROB 0.4             /* visitors who also lean towards a secondary persona */
#define GEN_SECOND_MIN 0.25             /* that persona's share of the persona-driven events ... */
#define GEN_SECOND_MAX 0.75             /* ... uniform in [min, max) */
#define GEN_REPEAT_PROB 0.12            /* an event repeats the previous trait (reload, revisit) */
#define GEN_COUNT_SIGMA 1.2             /* lognormal sigma of events per visitor */
#define GEN_MAX_SESSIONS 1024

#define GEN_MAX_USERS 1000000000LL
#define GEN_MAX_TRAITS 1000000LL
#define GEN_MIN_TRAITS_PER_PERSONA 4
#define GEN_MICRO 1000000LL /* fixed-point scale of the decimal options */

static const char *const usage_text =
    "usage: personae gen --out DIR [--users N] [--personas P] [--traits T] [--seed S]\n"
    "                    [--events-per-user MEAN] [--known-fraction F] [--as-of UNIX_TS]\n"
    "\n"
    "Writes a realistic synthetic audience to DIR (created if missing) as a persona task:\n"
    "  events.tsv  uuid<TAB>trait<TAB>unix_seconds, one trait realization a line; visitors whose\n"
    "              persona is known also carry one baseline trait (persona:...)\n"
    "  model.json  the model: its baselines, one per persona\n"
    "  truth.tsv   uuid<TAB>baseline of the held-out visitors (no baseline in events.tsv)\n"
    "\n"
    "options:\n"
    "  --out DIR               output folder (required)\n"
    "  --users N               visitors, 1 to 1000000000 (default 10000)\n"
    "  --personas P            personas (baselines), 2 to 50 (default 6)\n"
    "  --traits T              distinct first-party traits, 4*P to 1000000 (default 2000)\n"
    "  --seed S                any unsigned 64-bit integer (default 1); same arguments, same bytes\n"
    "  --events-per-user MEAN  mean events per visitor, 1 to 100000, decimals allowed (default 50)\n"
    "  --known-fraction F      share of visitors whose persona is known, 0 to 1 (default 0.6)\n"
    "  --as-of UNIX_TS         end of the 60-day history (default 1767225600, 2026-01-01)\n"
    "  --help                  print this help\n";

typedef struct gen_options {
    int64_t users, personas, traits;
    uint64_t seed;
    int64_t mean_micro;  /* --events-per-user, in millionths */
    int64_t known_micro; /* --known-fraction, in millionths */
    int64_t as_of;
    const char *out;
} gen_options;

/* ------------------------------------------------------------------------------------------ */
/* Deterministic real arithmetic                                                               */

/* Natural logarithm for x > 0 from frexp (exact) and an atanh series; accurate to ~1e-15. */
static double det_log(double x)
{
    int e;
    double m = frexp(x, &e); /* x = m * 2^e, m in [0.5, 1) */
    if (m < 0.70710678118654752440) {
        m *= 2.0;
        e -= 1;
    }
    double f = (m - 1.0) / (m + 1.0), s = f * f, term = f, sum = 0.0;
    for (int k = 1; k <= 27; k += 2) { /* |f| <= 0.172: 14 odd terms reach double precision */
        sum += term / k;
        term *= s;
    }
    return 2.0 * sum + e * 0.69314718055994530942;
}

/* e^x by range reduction to |r| <= ln2/2 and a Taylor series, then ldexp (exact). */
static double det_exp(double x)
{
    if (x < -745.0)
        return 0.0;
    if (x > 709.0)
        return HUGE_VAL;
    double k = floor(x * 1.44269504088896340736 + 0.5);
    double r = x - k * 0.69314718055994530942, term = 1.0, sum = 1.0;
    for (int i = 1; i <= 17; i++) {
        term *= r / i;
        sum += term;
    }
    return ldexp(sum, (int)k);
}

/* A standard normal draw by Marsaglia's polar method (needs only log and sqrt, both exact-able). */
static double det_normal(pn_prng *r)
{
    for (;;) {
        double u = 2.0 * pn_prng_unit(r) - 1.0, v = 2.0 * pn_prng_unit(r) - 1.0, s = u * u + v * v;
        if (s > 0.0 && s < 1.0)
            return u * sqrt(-2.0 * det_log(s) / s);
    }
}

/* Probability p in [0, 1] as a 32-bit threshold: an event has it when 32 random bits < it. */
static uint32_t prob32(double p)
{
    if (p <= 0.0)
        return 0;
    if (p >= 1.0)
        return UINT32_MAX;
    return (uint32_t)(p * 4294967296.0);
}

/* ------------------------------------------------------------------------------------------ */
/* Alias tables: O(1) sampling from a fixed discrete distribution (Vose's method)              */

typedef struct gen_alias {
    uint32_t n;
    uint32_t *keep;  /* keep index i when 32 random bits < keep[i] ... */
    uint32_t *alias; /* ... else take alias[i] */
} gen_alias;

static void alias_free(gen_alias *a)
{
    free(a->keep);
    free(a->alias);
    a->keep = a->alias = NULL;
}

/* Builds the table for weights w[0..n) (not all zero). Returns -1 when out of memory. */
static int alias_build(gen_alias *a, const double *w, uint32_t n)
{
    double *p = malloc(n * sizeof *p);
    uint32_t *small = malloc(n * sizeof *small), *large = malloc(n * sizeof *large);
    a->n = n;
    a->keep = malloc(n * sizeof *a->keep);
    a->alias = malloc(n * sizeof *a->alias);
    int ok = p && small && large && a->keep && a->alias;
    if (ok) {
        double total = 0.0;
        for (uint32_t i = 0; i < n; i++)
            total += w[i];
        uint32_t ns = 0, nl = 0;
        for (uint32_t i = 0; i < n; i++) {
            p[i] = w[i] * n / total;
            if (p[i] < 1.0)
                small[ns++] = i;
            else
                large[nl++] = i;
        }
        while (ns && nl) {
            uint32_t s = small[--ns], l = large[nl - 1];
            a->keep[s] = prob32(p[s]);
            a->alias[s] = l;
            p[l] -= 1.0 - p[s];
            if (p[l] < 1.0) {
                nl--;
                small[ns++] = l;
            }
        }
        /* What is left has probability 1 up to rounding: always keep it. */
        while (nl) {
            uint32_t l = large[--nl];
            a->keep[l] = UINT32_MAX;
            a->alias[l] = l;
        }
        while (ns) {
            uint32_t s = small[--ns];
            a->keep[s] = UINT32_MAX;
            a->alias[s] = s;
        }
    }
    free(p);
    free(small);
    free(large);
    if (!ok)
        alias_free(a);
    return ok ? 0 : -1;
}

/* One sample from one 64-bit draw: the high half picks the column, the low half decides. */
static inline uint32_t alias_sample(const gen_alias *a, uint64_t bits)
{
    uint32_t i = pn_prng_below32((uint32_t)(bits >> 32), a->n);
    return (uint32_t)bits < a->keep[i] ? i : a->alias[i];
}

/* ------------------------------------------------------------------------------------------ */
/* Names: traits and personas                                                                  */

/* Realistic first-party trait kinds and how common each is among a site's traits (percent). */
static const struct {
    const char *prefix;
    int percent;
} trait_kinds[] = {
    {"page", 40}, {"category", 14}, {"product", 14}, {"search", 14}, {"campaign", 10}, {"video", 8},
};

/* Marketing personas by theme: brand affinity, media genre, loan interest, journey phase, lifestyle.
 * A model takes the first P; themes come in blocks so that small models stay on one theme. */
static const char *const persona_names[] = {
    "apple-fan", "samsung-loyalist", "google-pixel-fan", "hp-buyer", "nike-runner", "adidas-fan",
    "toyota-owner", "tesla-enthusiast", "starbucks-regular", "ikea-shopper",
    "comedy-lover", "drama-fan", "action-fan", "sci-fi-fan", "romance-reader", "thriller-fan",
    "documentary-watcher", "anime-fan", "true-crime-listener", "indie-music-fan",
    "mortgage-seeker", "refinance-shopper", "auto-loan-shopper", "student-loan-borrower",
    "personal-loan-seeker", "home-equity-prospect", "small-business-borrower", "credit-card-switcher",
    "researcher", "comparison-shopper", "deal-hunter", "cart-abandoner", "first-time-buyer",
    "repeat-buyer", "loyal-customer", "lapsed-customer", "churn-risk", "upgrade-candidate",
    "tech-enthusiast", "outdoor-adventurer", "fitness-buff", "home-cook", "foodie",
    "frequent-traveler", "business-traveler", "budget-traveler", "new-parent", "pet-owner", "gamer",
    "diy-homeowner", "fashionista", "luxury-shopper", "eco-conscious", "student", "retiree",
    "small-business-owner", "sports-fan", "bookworm", "gardener", "car-enthusiast",
};
#define PERSONA_NAME_COUNT (sizeof persona_names / sizeof persona_names[0])

/* A set of short strings in one block, each with its length, for memcpy-speed output. */
typedef struct gen_names {
    char *text;
    uint32_t *offset;
    uint8_t *len;
} gen_names;

static void names_free(gen_names *n)
{
    free(n->text);
    free(n->offset);
    free(n->len);
}

/* Trait i is "<kind>:<k>", the k-th trait of its kind; the kind comes from a hash of i, so names
 * do not depend on the seed and a trait keeps its name across audiences. */
static int names_build_traits(gen_names *n, uint32_t count)
{
    enum { MAX_LEN = 24 };
    const int kinds = (int)(sizeof trait_kinds / sizeof trait_kinds[0]);
    uint32_t next[sizeof trait_kinds / sizeof trait_kinds[0]] = {0};
    n->text = malloc((size_t)count * MAX_LEN);
    n->offset = malloc(count * sizeof *n->offset);
    n->len = malloc(count * sizeof *n->len);
    if (!n->text || !n->offset || !n->len)
        return -1;
    uint32_t at = 0;
    for (uint32_t i = 0; i < count; i++) {
        int pick = (int)(pn_mix64(i) % 100), kind = 0;
        while (kind < kinds - 1 && pick >= trait_kinds[kind].percent)
            pick -= trait_kinds[kind++].percent;
        int len = snprintf(n->text + at, MAX_LEN, "%s:%u", trait_kinds[kind].prefix, (unsigned)++next[kind]);
        n->offset[i] = at;
        n->len[i] = (uint8_t)len;
        at += (uint32_t)len;
    }
    return 0;
}

/* Baseline i is "persona:<name>", with "-2", "-3" … once the list runs out. */
static int names_build_personas(gen_names *n, uint32_t count)
{
    enum { MAX_LEN = 64 };
    n->text = malloc((size_t)count * MAX_LEN);
    n->offset = malloc(count * sizeof *n->offset);
    n->len = malloc(count * sizeof *n->len);
    if (!n->text || !n->offset || !n->len)
        return -1;
    uint32_t at = 0;
    for (uint32_t i = 0; i < count; i++) {
        const char *base = persona_names[i % PERSONA_NAME_COUNT];
        unsigned lap = (unsigned)(i / PERSONA_NAME_COUNT);
        int len = lap ? snprintf(n->text + at, MAX_LEN, "persona:%s-%u", base, lap + 1)
                        : snprintf(n->text + at, MAX_LEN, "persona:%s", base);
        n->offset[i] = at;
        n->len[i] = (uint8_t)len;
        at += (uint32_t)len;
    }
    return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* The audience model: who prefers what                                                        */

typedef struct gen_world {
    uint32_t traits, personas, pref_count;
    gen_names trait_names, persona_names;
    gen_alias global;       /* trait popularity across the site */
    gen_alias size;         /* persona sizes */
    gen_alias pref_rank;    /* rank inside a persona's preferred set */
    uint32_t *pref;         /* pref[p * pref_count + rank]: the trait at that rank */
} gen_world;

static void world_free(gen_world *w)
{
    names_free(&w->trait_names);
    names_free(&w->persona_names);
    alias_free(&w->global);
    alias_free(&w->size);
    alias_free(&w->pref_rank);
    free(w->pref);
}

static double zipf_weight(uint32_t rank, double exponent)
{
    return det_exp(-exponent * det_log((double)rank + 1.0));
}

/* Fisher-Yates shuffle of 0..n-1 into perm. */
static void shuffle(pn_prng *r, uint32_t *perm, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        perm[i] = i;
    for (uint32_t i = n; i > 1; i--) {
        uint32_t j = pn_prng_below(r, i), t = perm[i - 1];
        perm[i - 1] = perm[j];
        perm[j] = t;
    }
}

/* Global popularity: Zipf over a random order, so popularity does not follow the trait index. */
static int world_build_global(gen_world *w, pn_prng *r, double *weights, uint32_t *perm)
{
    shuffle(r, perm, w->traits);
    for (uint32_t k = 0; k < w->traits; k++)
        weights[perm[k]] = zipf_weight(k, GEN_TRAIT_ZIPF);
    return alias_build(&w->global, weights, w->traits);
}

/* Persona sizes fall geometrically from 1 to 1/GEN_SIZE_RATIO over a random order of personas. */
static int world_build_sizes(gen_world *w, pn_prng *r, double *weights, uint32_t *perm)
{
    shuffle(r, perm, w->personas);
    double step = det_log(GEN_SIZE_RATIO) / (w->personas - 1);
    for (uint32_t k = 0; k < w->personas; k++)
        weights[perm[k]] = det_exp(-step * k);
    return alias_build(&w->size, weights, w->personas);
}

/* Preferred sets: each persona draws distinct traits at random (mostly from the long tail, since
 * most traits are), then borrows some ranks from the next persona, so that personas overlap and
 * a shared trait weighs about the same for both. */
static int world_build_preferences(gen_world *w, pn_prng *r, double *weights, uint32_t *stamp)
{
    uint32_t k = w->pref_count, p_count = w->personas;
    uint32_t *own = malloc((size_t)p_count * k * sizeof *own);
    w->pref = malloc((size_t)p_count * k * sizeof *w->pref);
    if (!own || !w->pref) {
        free(own);
        return -1;
    }
    memset(stamp, 0, w->traits * sizeof *stamp);
    uint32_t popular = prob32(GEN_PREF_POPULAR);
    for (uint32_t p = 0; p < p_count; p++) {
        for (uint32_t j = 0; j < k; j++) {
            uint32_t t;
            do /* k <= traits / 2, so this ends quickly */
                t = (uint32_t)pn_prng_next(r) < popular ? alias_sample(&w->global, pn_prng_next(r))
                                                         : pn_prng_below(r, w->traits);
            while (stamp[t] == p + 1);
            stamp[t] = p + 1;
            own[p * k + j] = t;
        }
    }
    uint32_t shared = prob32(GEN_PREF_SHARED);
    for (uint32_t p = 0; p < p_count; p++) {
        uint32_t next = (p + 1) % p_count;
        for (uint32_t j = 0; j < k; j++) {
            int borrow = (uint32_t)pn_prng_next(r) < shared;
            w->pref[p * k + j] = own[(borrow ? next : p) * k + j];
        }
    }
    free(own);
    for (uint32_t j = 0; j < k; j++)
        weights[j] = zipf_weight(j, GEN_PREF_ZIPF);
    return alias_build(&w->pref_rank, weights, k);
}

static int world_build(gen_world *w, const gen_options *o)
{
    memset(w, 0, sizeof *w);
    w->traits = (uint32_t)o->traits;
    w->personas = (uint32_t)o->personas;
    uint32_t k = w->traits / (2 * w->personas);
    w->pref_count = k < GEN_MIN_TRAITS_PER_PERSONA ? GEN_MIN_TRAITS_PER_PERSONA : k;
    pn_prng r;
    pn_prng_seed(&r, o->seed, UINT64_MAX); /* visitors use streams 0..users-1 */
    double *weights = malloc(w->traits * sizeof *weights);
    uint32_t *scratch = malloc(w->traits * sizeof *scratch);
    int rc = -1;
    if (weights && scratch && names_build_traits(&w->trait_names, w->traits) == 0 &&
        names_build_personas(&w->persona_names, w->personas) == 0 && world_build_global(w, &r, weights, scratch) == 0 &&
        world_build_sizes(w, &r, weights, scratch) == 0 && world_build_preferences(w, &r, weights, scratch) == 0)
        rc = 0;
    free(weights);
    free(scratch);
    return rc;
}

/* ------------------------------------------------------------------------------------------ */
/* Buffered output with hand-rolled formatting: fprintf per line would dominate the run time.  */

typedef struct gen_out {
    FILE *f;
    const char *path;
    char *buf;
    size_t len, cap;
    int err; /* errno of the first failed write, 0 if none */
} gen_out;

static void out_flush(gen_out *o)
{
    if (o->len && !o->err && fwrite(o->buf, 1, o->len, o->f) != o->len)
        o->err = errno ? errno : EIO;
    o->len = 0;
}

/* Makes room for `need` more bytes (need <= cap). */
static inline char *out_reserve(gen_out *o, size_t need)
{
    if (o->cap - o->len < need)
        out_flush(o);
    return o->buf + o->len;
}

static inline void out_bytes(gen_out *o, const char *s, size_t n)
{
    memcpy(out_reserve(o, n), s, n);
    o->len += n;
}

/* Writes v in decimal; returns the number of characters. */
static inline size_t format_u64(char *dst, uint64_t v)
{
    char tmp[20];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    for (size_t i = 0; i < n; i++)
        dst[i] = tmp[n - 1 - i];
    return n;
}

/* One "uuid<TAB>name<TAB>ts\n" line; `prefix` is the uuid and its tab. */
static inline void out_event(gen_out *o, const char *prefix, const gen_names *names, uint32_t id, int64_t ts)
{
    size_t nlen = names->len[id];
    char *d = out_reserve(o, 17 + nlen + 23);
    memcpy(d, prefix, 17);
    memcpy(d + 17, names->text + names->offset[id], nlen);
    d[17 + nlen] = '\t';
    size_t n = 18 + nlen + format_u64(d + 18 + nlen, (uint64_t)ts);
    d[n++] = '\n';
    o->len += n;
}

static int out_open(gen_out *o, const char *path, size_t cap)
{
    memset(o, 0, sizeof *o);
    o->path = path;
    o->cap = cap;
    o->buf = malloc(cap);
    o->f = fopen(path, "wb");
    if (!o->f) {
        pn_cli_error(CMD, "%s: cannot create: %s", path, strerror(errno));
        return -1;
    }
    if (!o->buf) {
        pn_cli_error(CMD, "%s: out of memory", path);
        return -1;
    }
    setvbuf(o->f, NULL, _IONBF, 0); /* our buffer is the buffer */
    return 0;
}

/* Flushes and closes; returns -1 (and says so, naming the file) if any write failed. */
static int out_close(gen_out *o)
{
    int rc = 0;
    if (o->f) {
        out_flush(o);
        if (fclose(o->f) != 0 && !o->err)
            o->err = errno ? errno : EIO;
        if (o->err) {
            pn_cli_error(CMD, "%s: write failed: %s", o->path, strerror(o->err));
            rc = -1;
        }
    }
    free(o->buf);
    o->f = NULL;
    o->buf = NULL;
    return rc;
}

/* ------------------------------------------------------------------------------------------ */
/* Visitors                                                                                    */

typedef struct gen_visitor {
    char prefix[17]; /* 16 hex digits of the uuid and a tab */
    uint32_t persona, second;
    uint32_t affinity;     /* prob32: an event comes from persona preferences */
    uint32_t second_share; /* prob32: such an event follows the secondary persona (0: none) */
    uint64_t events;
    uint32_t sessions;
    int64_t session_start[GEN_MAX_SESSIONS];
} gen_visitor;

/* Events per visitor: 1 + lognormal with mean `mean - 1`, stochastically rounded so the average
 * is `mean`; capped at 100x the mean so one draw cannot dwarf the whole file. */
static uint64_t draw_event_count(pn_prng *r, double mean)
{
    double rest = mean - 1.0;
    if (rest <= 0.0)
        return 1;
    double mu = det_log(rest) - 0.5 * GEN_COUNT_SIGMA * GEN_COUNT_SIGMA;
    double x = det_exp(mu + GEN_COUNT_SIGMA * det_normal(r));
    double cap = 100.0 * mean;
    if (x > cap)
        x = cap;
    double rounded = floor(x + pn_prng_unit(r));
    return 1 + (uint64_t)rounded;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Sessions: one per ~3-10 events; their starts spread over the visitor's own activity span (a
 * few hours to the whole window, skewed short) placed somewhere in the 60-day window. */
static void draw_sessions(pn_prng *r, gen_visitor *v, int64_t as_of)
{
    uint64_t per_session = 3 + pn_prng_below(r, 8);
    uint64_t s = 1 + (v->events - 1) / per_session;
    v->sessions = s > GEN_MAX_SESSIONS ? GEN_MAX_SESSIONS : (uint32_t)s;
    double u = pn_prng_unit(r);
    int64_t span = (int64_t)(u * u * GEN_WINDOW_SECONDS), min_span = (int64_t)v->sessions * 3600;
    if (span < min_span)
        span = min_span;
    if (span > GEN_WINDOW_SECONDS - 86400)
        span = GEN_WINDOW_SECONDS - 86400; /* leave a day for the last session's events */
    int64_t first = as_of - GEN_WINDOW_SECONDS + (int64_t)(pn_prng_unit(r) * (double)(GEN_WINDOW_SECONDS - 86400 - span));
    v->session_start[0] = first;
    for (uint32_t i = 1; i < v->sessions; i++)
        v->session_start[i] = first + (int64_t)(pn_prng_unit(r) * (double)(span + 1));
    qsort(v->session_start + 1, v->sessions - 1, sizeof v->session_start[0], cmp_i64);
}

static void draw_visitor(pn_prng *r, const gen_world *w, uint64_t uuid, uint64_t mean_micro, int64_t as_of,
                         gen_visitor *v)
{
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < 16; i++)
        v->prefix[i] = hex[(uuid >> (60 - 4 * i)) & 15];
    v->prefix[16] = '\t';
    v->persona = alias_sample(&w->size, pn_prng_next(r));
    v->affinity = prob32(GEN_AFFINITY_MIN + (GEN_AFFINITY_MAX - GEN_AFFINITY_MIN) * pn_prng_unit(r));
    v->second = v->persona;
    v->second_share = 0;
    if (pn_prng_unit(r) < GEN_SECOND_PROB) {
        v->second = (v->persona + 1 + pn_prng_below(r, w->personas - 1)) % w->personas;
        v->second_share = prob32(GEN_SECOND_MIN + (GEN_SECOND_MAX - GEN_SECOND_MIN) * pn_prng_unit(r));
    }
    v->events = draw_event_count(r, (double)mean_micro / (double)GEN_MICRO);
    draw_sessions(r, v, as_of);
}

/* The trait of the next event: a repeat of the previous one, a persona preference, or a draw
 * from global popularity. */
static inline uint32_t draw_trait(pn_prng *r, const gen_world *w, const gen_visitor *v, uint32_t prev)
{
    static const uint32_t repeat = (uint32_t)(GEN_REPEAT_PROB * 4294967296.0);
    uint64_t bits = pn_prng_next(r);
    if (prev != UINT32_MAX && (uint32_t)bits < repeat)
        return prev;
    if ((uint32_t)(bits >> 32) >= v->affinity)
        return alias_sample(&w->global, pn_prng_next(r));
    uint64_t pick = pn_prng_next(r);
    uint32_t persona = (uint32_t)pick < v->second_share ? v->second : v->persona;
    uint32_t rank = alias_sample(&w->pref_rank, pn_prng_next(r));
    return w->pref[persona * w->pref_count + rank];
}

/* Streams one visitor's events; a known visitor's baseline is realized right after one of them
 * (the visit during which they qualified), so it is never before their first activity. */
static void emit_visitor(pn_prng *r, const gen_world *w, const gen_visitor *v, int known, int64_t as_of,
                         gen_out *events)
{
    uint64_t baseline_at = known ? pn_prng_below(r, v->events > UINT32_MAX ? UINT32_MAX : (uint32_t)v->events) : UINT64_MAX;
    uint64_t per = v->events / v->sessions, extra = v->events % v->sessions, e = 0;
    uint32_t prev = UINT32_MAX;
    int64_t t = v->session_start[0];
    for (uint32_t s = 0; s < v->sessions; s++) {
        if (v->session_start[s] > t)
            t = v->session_start[s];
        for (uint64_t j = 0; j < per + (s < extra); j++, e++) {
            prev = draw_trait(r, w, v, prev);
            int64_t ts = t < as_of ? t : as_of - 1;
            out_event(events, v->prefix, &w->trait_names, prev, ts);
            if (e == baseline_at)
                out_event(events, v->prefix, &w->persona_names, v->persona, ts);
            /* seconds to a couple of minutes between the events of a session */
            uint64_t g = pn_prng_next(r);
            t += 2 + (int64_t)(g & 63) + (int64_t)((g >> 6) & 63);
        }
    }
}

static void emit_truth(const gen_world *w, const gen_visitor *v, gen_out *truth)
{
    out_bytes(truth, v->prefix, 17);
    out_bytes(truth, w->persona_names.text + w->persona_names.offset[v->persona], w->persona_names.len[v->persona]);
    out_bytes(truth, "\n", 1);
}

typedef struct gen_counts {
    uint64_t known, held_out, events;
} gen_counts;

/* The whole audience, visitor by visitor. Exactly round(users * (1 - known-fraction)) visitors
 * are held out, chosen by selection sampling (each with probability still-needed / remaining). */
static void emit_audience(const gen_world *w, const gen_options *o, gen_out *events, gen_out *truth, gen_counts *c)
{
    uint64_t users = (uint64_t)o->users;
    uint64_t known = ((uint64_t)users * (uint64_t)o->known_micro + GEN_MICRO / 2) / GEN_MICRO;
    uint64_t need = users - known, uuid_key = pn_mix64(o->seed ^ UINT64_C(0x5851F42D4C957F2D));
    gen_visitor *v = malloc(sizeof *v);
    if (!v) {
        events->err = ENOMEM;
        return;
    }
    memset(c, 0, sizeof *c);
    for (uint64_t i = 0; i < users && !events->err && !truth->err; i++) {
        pn_prng r;
        pn_prng_seed(&r, o->seed, i);
        /* uuids: a bijection of the index, so they look random yet never collide */
        draw_visitor(&r, w, pn_mix64(i + uuid_key), (uint64_t)o->mean_micro, o->as_of, v);
        int held = pn_prng_below(&r, (uint32_t)(users - i)) < need;
        need -= (uint64_t)held;
        emit_visitor(&r, w, v, !held, o->as_of, events);
        c->events += v->events;
        if (held) {
            emit_truth(w, v, truth);
            c->held_out++;
        } else {
            c->known++;
        }
    }
    free(v);
}

/* ------------------------------------------------------------------------------------------ */
/* model.json                                                                                  */

static void json_string(FILE *f, const char *s, size_t n)
{
    fputc('"', f);
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == '"' || ch == '\\')
            fprintf(f, "\\%c", ch);
        else if (ch < 0x20)
            fprintf(f, "\\u%04x", ch);
        else
            fputc(ch, f);
    }
    fputc('"', f);
}

static int write_model(const char *path, const gen_world *w, const gen_options *o)
{
    FILE *f = fopen(path, "wb");
    if (!f) {
        pn_cli_error(CMD, "%s: cannot create: %s", path, strerror(errno));
        return -1;
    }
    char name[64];
    int n = snprintf(name, sizeof name, "synthetic-audience-%llu", (unsigned long long)o->seed);
    fputs("{\n  \"name\": ", f);
    json_string(f, name, (size_t)n);
    fputs(",\n  \"baselines\": [", f);
    for (uint32_t p = 0; p < w->personas; p++) {
        fputs(p ? ",\n    " : "\n    ", f);
        json_string(f, w->persona_names.text + w->persona_names.offset[p], w->persona_names.len[p]);
    }
    fputs("\n  ],\n  \"target\": null,\n  \"lookback_days\": 0\n}\n", f);
    int bad = ferror(f);
    if (fclose(f) != 0 || bad) {
        pn_cli_error(CMD, "%s: write failed: %s", path, strerror(errno ? errno : EIO));
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Options                                                                                     */

static int usage_error(void)
{
    fputs(usage_text, stderr);
    return 2;
}

/* Unsigned 64-bit decimal; the whole range is a valid seed. */
static int parse_u64(const char *option, const char *text, uint64_t *out)
{
    uint64_t v = 0;
    const char *s = text;
    if (!*s)
        goto bad;
    for (; *s; s++) {
        if (*s < '0' || *s > '9' || v > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
            goto bad;
        v = v * 10 + (uint64_t)(*s - '0');
    }
    *out = v;
    return 0;
bad:
    pn_cli_error(CMD, "%s expects an integer from 0 to %llu, got '%s'", option, (unsigned long long)UINT64_MAX, text);
    return -1;
}

/* A decimal such as "0.6", ".6" or "50" as millionths in [min, max] (also millionths). Parsed by
 * hand, not strtod, so the locale's decimal mark cannot change the meaning. */
static int parse_micro(const char *option, const char *text, int64_t min, int64_t max, int64_t *out)
{
    int64_t whole = 0, frac = 0, scale = GEN_MICRO;
    const char *s = text;
    int digits = 0;
    for (; *s >= '0' && *s <= '9'; s++, digits++)
        if ((whole = whole * 10 + (*s - '0')) > max / GEN_MICRO + 1)
            goto bad;
    if (*s == '.')
        for (s++; *s >= '0' && *s <= '9'; s++, digits++)
            if (scale > 1) {
                scale /= 10;
                frac += (*s - '0') * scale;
            }
    int64_t v = whole * GEN_MICRO + frac;
    if (*s || !digits || v < min || v > max)
        goto bad;
    *out = v;
    return 0;
bad:
    pn_cli_error(CMD, "%s expects a number from %g to %g, got '%s'", option, (double)min / GEN_MICRO,
                 (double)max / GEN_MICRO, text);
    return -1;
}

/* Returns 0 to go on, else the exit status (0 after --help). */
static int parse_options(int argc, char **argv, gen_options *o)
{
    *o = (gen_options){.users = 10000, .personas = 6, .traits = 2000, .seed = 1, .mean_micro = 50 * GEN_MICRO,
                       .known_micro = 600000, .as_of = 1767225600, .out = NULL};
    const char *traits_text = NULL;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
            fputs(usage_text, stdout);
            return -1;
        }
        /* --name VALUE and --name=VALUE */
        char name[32];
        const char *eq = strchr(arg, '='), *val;
        size_t nlen = eq ? (size_t)(eq - arg) : strlen(arg);
        if (strncmp(arg, "--", 2) || nlen >= sizeof name) {
            pn_cli_error(CMD, "unexpected argument '%s'", arg);
            return usage_error();
        }
        memcpy(name, arg, nlen);
        name[nlen] = '\0';
        static const char *const known[] = {"--users", "--personas", "--traits", "--seed", "--out",
                                            "--events-per-user", "--known-fraction", "--as-of"};
        size_t k = 0;
        while (k < sizeof known / sizeof known[0] && strcmp(name, known[k]))
            k++;
        if (k == sizeof known / sizeof known[0]) {
            pn_cli_error(CMD, "unknown option '%s'", name);
            return usage_error();
        }
        if (eq)
            val = eq + 1;
        else if (i + 1 < argc)
            val = argv[++i];
        else {
            pn_cli_error(CMD, "%s needs a value", name);
            return usage_error();
        }
        int bad = 0;
        switch (k) {
        case 0: bad = pn_cli_parse_i64(CMD, name, val, 1, GEN_MAX_USERS, &o->users); break;
        case 1: bad = pn_cli_parse_i64(CMD, name, val, 2, 50, &o->personas); break;
        case 2: traits_text = val; break; /* its minimum depends on --personas */
        case 3: bad = parse_u64(name, val, &o->seed); break;
        case 4:
            o->out = val;
            if (!*val) {
                pn_cli_error(CMD, "--out needs a folder");
                bad = -1;
            }
            break;
        case 5: bad = parse_micro(name, val, GEN_MICRO, 100000 * GEN_MICRO, &o->mean_micro); break;
        case 6: bad = parse_micro(name, val, 0, GEN_MICRO, &o->known_micro); break;
        default: bad = pn_cli_parse_i64(CMD, name, val, GEN_WINDOW_SECONDS, 253402300799LL, &o->as_of); break;
        }
        if (bad)
            return 2;
    }
    if (traits_text &&
        pn_cli_parse_i64(CMD, "--traits", traits_text, GEN_MIN_TRAITS_PER_PERSONA * o->personas, GEN_MAX_TRAITS, &o->traits))
        return 2;
    if (!traits_text && o->traits < GEN_MIN_TRAITS_PER_PERSONA * o->personas)
        o->traits = GEN_MIN_TRAITS_PER_PERSONA * o->personas;
    if (!o->out) {
        pn_cli_error(CMD, "--out is required");
        return usage_error();
    }
    return 0;
}

/* mkdir -p: creates every missing folder of `path`. Returns -1 with errno set on failure. */
static int make_dirs(const char *path)
{
    size_t n = strlen(path);
    char *copy = malloc(n + 1);
    if (!copy) {
        errno = ENOMEM;
        return -1;
    }
    memcpy(copy, path, n + 1);
    int rc = 0;
    for (char *p = copy + 1; rc == 0; p++) {
        if (*p != '/' && *p)
            continue;
        char saved = *p;
        *p = '\0';
        struct stat st;
        if (mkdir(copy, 0777) != 0 && !(errno == EEXIST && stat(copy, &st) == 0 && S_ISDIR(st.st_mode))) {
            if (errno == EEXIST)
                errno = ENOTDIR;
            rc = -1;
        }
        *p = saved;
        if (!saved)
            break;
    }
    free(copy);
    return rc;
}

/* ------------------------------------------------------------------------------------------ */

int pn_cmd_gen(int argc, char **argv)
{
    gen_options o;
    int rc = parse_options(argc, argv, &o);
    if (rc)
        return rc < 0 ? 0 : rc;
    if (make_dirs(o.out) != 0) {
        pn_cli_error(CMD, "%s: cannot create folder: %s", o.out, strerror(errno));
        return 1;
    }
    size_t dlen = strlen(o.out);
    char *paths = malloc(3 * (dlen + 16));
    gen_world w;
    if (!paths || world_build(&w, &o) != 0) {
        pn_cli_error(CMD, "out of memory for %lld traits", (long long)o.traits);
        if (paths)
            world_free(&w);
        free(paths);
        return 1;
    }
    char *events_path = paths, *truth_path = paths + dlen + 16, *model_path = paths + 2 * (dlen + 16);
    sprintf(events_path, "%s/events.tsv", o.out);
    sprintf(truth_path, "%s/truth.tsv", o.out);
    sprintf(model_path, "%s/model.json", o.out);

    gen_out events = {0}, truth = {0}; /* out_close copes with files never opened */
    gen_counts counts = {0};
    rc = 1;
    if (out_open(&events, events_path, (size_t)4 << 20) == 0 && out_open(&truth, truth_path, (size_t)1 << 20) == 0) {
        emit_audience(&w, &o, &events, &truth, &counts);
        rc = 0;
    }
    if (out_close(&events) != 0)
        rc = 1;
    if (out_close(&truth) != 0)
        rc = 1;
    if (rc == 0 && write_model(model_path, &w, &o) != 0)
        rc = 1;
    if (rc != 0) { /* half-written task folders mislead: leave none behind */
        remove(events_path);
        remove(truth_path);
        remove(model_path);
    } else {
        printf("wrote %llu visitors (%llu known, %llu held out), %llu event lines, %u personas, %u traits to %s\n",
               (unsigned long long)o.users, (unsigned long long)counts.known, (unsigned long long)counts.held_out,
               (unsigned long long)(counts.events + counts.known), w.personas, w.traits, o.out);
    }
    world_free(&w);
    free(paths);
    return rc;
}
