/* Snapshot bytes: saving, loading with full validation, and read accessors.
 * The byte layout is documented in docs/snapshot-format.md; keep the two in step. */
#include "snapshot_internal.h"
#include "alloc.h"
#include "bytes.h"
#include "error_internal.h"

#include <math.h>

#define XXH_INLINE_ALL
#include "xxhash.h"

static const uint8_t MAGIC[8] = {0x89, 'P', 'N', 'S', '\r', '\n', 0x1a, '\n'};
#define HEADER_SIZE 64u
#define TAG(a, b, c, d) ((uint32_t)(a) | (uint32_t)(b) << 8 | (uint32_t)(c) << 16 | (uint32_t)(d) << 24)
#define TAG_META TAG('M', 'E', 'T', 'A')
#define TAG_PERS TAG('P', 'E', 'R', 'S')
#define TAG_QUAL TAG('Q', 'U', 'A', 'L')
#define TAG_TRAT TAG('T', 'R', 'A', 'T')
#define TAG_WGHT TAG('W', 'G', 'H', 'T')
#define MAX_TRAITS 50000000u
#define MAX_REASONS 64u

char *pn__strndup(const char *s, size_t n)
{
    char *d = pn__malloc(n + 1);
    if (d) {
        if (n)
            memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

char *pn__strdup(const char *s) { return pn__strndup(s, strlen(s)); }

pn_snapshot *pn__snapshot_alloc(void)
{
    pn_snapshot *s = pn__calloc(1, sizeof *s);
    if (s)
        pn__dict_init(&s->traits);
    return s;
}

void pn_snapshot_free(pn_snapshot *s)
{
    if (!s)
        return;
    pn__free(s->model_id);
    pn__free(s->model_name);
    pn__free(s->target);
    pn__free(s->target_rule);
    for (size_t i = 0; s->reasons && i < s->reason_count; i++)
        pn__free(s->reasons[i]);
    pn__free(s->reasons);
    for (size_t i = 0; s->personas && i < s->persona_count; i++) {
        pn__free(s->personas[i].id);
        pn__free(s->personas[i].rule);
    }
    pn__free(s->personas);
    pn__dict_fini(&s->traits);
    pn__free(s->support);
    pn__free(s->weights);
    pn__free(s);
}

void pn_bytes_free(void *bytes) { pn__free(bytes); }

/* ---- saving ------------------------------------------------------------------------------- */

static void w_cstr(pn_writer *w, const char *s) { pn__w_str(w, s ? s : "", s ? strlen(s) : 0); }

static size_t begin_section(pn_writer *w, uint32_t tag)
{
    pn__w_u32(w, tag);
    pn__w_u32(w, 0);
    pn__w_u64(w, 0); /* length, patched by end_section */
    return w->len;
}

static void end_section(pn_writer *w, size_t start)
{
    if (w->oom)
        return;
    uint64_t n = w->len - start;
    for (int i = 0; i < 8; i++)
        w->buf[start - 8 + i] = (uint8_t)(n >> (8 * i));
}

static pn_status save(const pn_snapshot *s, uint32_t min_support, void **bytes, size_t *len, pn_error *err)
{
    *bytes = NULL;
    *len = 0;
    size_t P = s->persona_count, T = pn__dict_count(&s->traits), kept = 0;
    for (uint32_t t = 0; t < T; t++)
        kept += s->support[t] >= min_support;
    pn_writer w = {0};
    pn__w_bytes(&w, MAGIC, 8);
    pn__w_u32(&w, PN_SNAPSHOT_FORMAT_VERSION);
    pn__w_u32(&w, HEADER_SIZE);
    pn__w_u64(&w, 0); /* file length, patched below */
    pn__w_u64(&w, 0); /* checksum, patched below */
    pn__w_u64(&w, (uint64_t)s->created_at);
    pn__w_u32(&w, s->model_version);
    pn__w_u32(&w, s->dec_labels);
    pn__w_u32(&w, (uint32_t)P);
    pn__w_u32(&w, (uint32_t)kept);
    pn__w_u32(&w, 5);
    pn__w_u32(&w, 0);

    size_t at = begin_section(&w, TAG_META);
    w_cstr(&w, s->model_id);
    w_cstr(&w, s->model_name);
    pn__w_u32(&w, (uint32_t)s->lookback_days);
    pn__w_u32(&w, s->status);
    pn__w_u32(&w, (uint32_t)s->reason_count);
    for (size_t i = 0; i < s->reason_count; i++)
        w_cstr(&w, s->reasons[i]);
    pn__w_u32(&w, s->target ? (s->target_rule ? 2u : 1u) : 0u);
    w_cstr(&w, s->target);
    w_cstr(&w, s->target_rule);
    end_section(&w, at);

    at = begin_section(&w, TAG_PERS);
    for (size_t p = 0; p < P; p++) {
        const pn_persona *q = &s->personas[p];
        w_cstr(&w, q->id);
        w_cstr(&w, q->rule);
        pn__w_u32(&w, (uint32_t)q->info.status);
        pn__w_u32(&w, q->info.training_visitors);
        pn__w_u32(&w, q->info.holdout_visitors);
        pn__w_f64(&w, q->info.precision);
        pn__w_f64(&w, q->info.recall);
        pn__w_f64(&w, q->info.f1);
    }
    end_section(&w, at);

    at = begin_section(&w, TAG_QUAL);
    const pn_quality *ql = &s->quality;
    pn__w_u32(&w, ql->training_visitors);
    pn__w_u32(&w, ql->holdout_visitors);
    pn__w_u32(&w, ql->target_visitors);
    pn__w_f64(&w, ql->accuracy);
    pn__w_f64(&w, ql->macro_f1);
    pn__w_f64(&w, ql->temperature);
    pn__w_f64(&w, ql->median_traits_training);
    pn__w_f64(&w, ql->median_traits_target);
    end_section(&w, at);

    at = begin_section(&w, TAG_TRAT);
    for (uint32_t t = 0; t < T; t++) {
        if (s->support[t] < min_support)
            continue;
        size_t n;
        const char *id = pn__dict_str(&s->traits, t, &n);
        pn__w_str(&w, id, n);
        pn__w_u32(&w, s->support[t]);
    }
    end_section(&w, at);

    at = begin_section(&w, TAG_WGHT);
    for (uint32_t t = 0; t < T; t++)
        if (s->support[t] >= min_support)
            for (size_t p = 0; p < P; p++)
                pn__w_u32(&w, (uint32_t)s->weights[(size_t)t * P + p]);
    end_section(&w, at);

    if (w.oom) {
        pn__free(w.buf);
        return pn__oom(err);
    }
    for (int i = 0; i < 8; i++)
        w.buf[16 + i] = (uint8_t)((uint64_t)w.len >> (8 * i));
    uint64_t sum = XXH64(w.buf, w.len, 0);
    for (int i = 0; i < 8; i++)
        w.buf[24 + i] = (uint8_t)(sum >> (8 * i));
    *bytes = w.buf;
    *len = w.len;
    return PN_OK;
}

pn_status pn_snapshot_save(const pn_snapshot *s, void **bytes, size_t *len, pn_error *err)
{
    return save(s, 0, bytes, len, err);
}

pn_status pn_snapshot_save_public(const pn_snapshot *s, uint32_t min_support, void **bytes, size_t *len, pn_error *err)
{
    return save(s, min_support, bytes, len, err);
}

/* ---- loading ------------------------------------------------------------------------------ */

typedef struct loader {
    pn_reader r;
    pn_error *err;
    pn_status st;
} loader;

/* A string that must be valid text: no NUL, at most `max` bytes. NULL (and st set) otherwise. */
static char *l_str(loader *l, const char *what, size_t max, int allow_empty)
{
    size_t n;
    const char *p = pn__r_str(&l->r, &n);
    if (l->st)
        return NULL;
    if (!p) {
        l->st = pn__fail(l->err, PN_ECORRUPT, "snapshot is corrupted: %s runs past its section", what);
        return NULL;
    }
    if (n > max || (!allow_empty && n == 0) || memchr(p, 0, n)) {
        l->st = pn__fail(l->err, PN_ECORRUPT, "snapshot is corrupted: %s is empty, too long or holds a NUL byte", what);
        return NULL;
    }
    char *d = pn__strndup(p, n);
    if (!d)
        l->st = pn__oom(l->err);
    return d;
}

static int finite_unit(double d) { return d >= 0.0 && d <= 1.0; }

static pn_status corrupt(pn_error *err, const char *what)
{
    return pn__fail(err, PN_ECORRUPT, "snapshot is corrupted: %s", what);
}

/* Reads the section header for `tag` (skipping unknown sections) and narrows l->r to it. */
static int enter_section(loader *l, pn_reader *outer, uint32_t tag, const char *name)
{
    for (;;) {
        uint32_t t = pn__r_u32(outer);
        pn__r_u32(outer);
        uint64_t n = pn__r_u64(outer);
        if (outer->bad || n > (uint64_t)(outer->end - outer->p)) {
            l->st = pn__fail(l->err, PN_ECORRUPT, "snapshot is corrupted: the %s section is missing or cut short", name);
            return 0;
        }
        if (t == tag) {
            l->r.p = outer->p;
            l->r.end = outer->p + n;
            l->r.bad = 0;
            outer->p += n;
            return 1;
        }
        if (t == TAG_META || t == TAG_PERS || t == TAG_QUAL || t == TAG_TRAT || t == TAG_WGHT) {
            l->st = pn__fail(l->err, PN_ECORRUPT, "snapshot is corrupted: sections are out of order before %s", name);
            return 0;
        }
        outer->p += n; /* a section from a later minor revision: skip it */
    }
}

static int leave_section(loader *l, const char *name)
{
    if (l->st)
        return 0;
    if (l->r.bad || l->r.p != l->r.end) {
        l->st = pn__fail(l->err, PN_ECORRUPT, "snapshot is corrupted: the %s section has the wrong length", name);
        return 0;
    }
    return 1;
}

static pn_status load_body(pn_snapshot *s, const uint8_t *b, size_t len, uint32_t P, uint32_t T, pn_error *err)
{
    loader l = {.err = err};
    pn_reader outer = {b + HEADER_SIZE, b + len, 0};

    if (!enter_section(&l, &outer, TAG_META, "META"))
        return l.st;
    s->model_id = l_str(&l, "model id", 256, 0);
    s->model_name = l_str(&l, "model name", 256, 0);
    s->lookback_days = (int32_t)pn__r_u32(&l.r);
    s->status = pn__r_u32(&l.r);
    uint32_t nreasons = pn__r_u32(&l.r);
    if (l.st)
        return l.st;
    if (l.r.bad || s->lookback_days < 0 || s->lookback_days > 3650 || s->status > PN_STATUS_WARNING || nreasons > MAX_REASONS)
        return corrupt(err, "the model header holds impossible values");
    s->reasons = pn__calloc(nreasons ? nreasons : 1, sizeof *s->reasons);
    if (!s->reasons)
        return pn__oom(err);
    for (uint32_t i = 0; i < nreasons && !l.st; i++) {
        s->reasons[i] = l_str(&l, "a status reason", 1024, 0);
        if (s->reasons[i])
            s->reason_count++;
    }
    uint32_t tkind = pn__r_u32(&l.r);
    char *target = l_str(&l, "target", 256, 1);
    char *trule = l_str(&l, "target rule", 65536, 1);
    if (l.st || tkind > 2 || (tkind == 0) != (target && !*target) || (tkind == 2) != (trule && *trule)) {
        pn__free(target);
        pn__free(trule);
        return l.st ? l.st : corrupt(err, "the target audience is inconsistent");
    }
    s->target = tkind ? target : NULL;
    s->target_rule = tkind == 2 ? trule : NULL;
    if (!tkind)
        pn__free(target);
    if (tkind != 2)
        pn__free(trule);
    if (!leave_section(&l, "META"))
        return l.st;

    if (!enter_section(&l, &outer, TAG_PERS, "PERS"))
        return l.st;
    s->personas = pn__calloc(P, sizeof *s->personas);
    if (!s->personas)
        return pn__oom(err);
    s->persona_count = P;
    int rules = -1;
    for (uint32_t p = 0; p < P && !l.st; p++) {
        pn_persona *q = &s->personas[p];
        q->id = l_str(&l, "a persona id", 256, 0);
        char *rule = l_str(&l, "a persona rule", 65536, 1);
        if (l.st) {
            pn__free(rule);
            break;
        }
        int has = *rule != '\0';
        if (rules >= 0 && has != rules) {
            pn__free(rule);
            return corrupt(err, "personas mix trait and segment baselines");
        }
        rules = has;
        if (has)
            q->rule = rule;
        else
            pn__free(rule);
        q->info.status = (pn_persona_status)pn__r_u32(&l.r);
        q->info.training_visitors = pn__r_u32(&l.r);
        q->info.holdout_visitors = pn__r_u32(&l.r);
        q->info.precision = pn__r_f64(&l.r);
        q->info.recall = pn__r_f64(&l.r);
        q->info.f1 = pn__r_f64(&l.r);
        if (!l.r.bad && ((unsigned)q->info.status > PN_PERSONA_INSUFFICIENT_DATA || !finite_unit(q->info.precision) ||
                         !finite_unit(q->info.recall) || !finite_unit(q->info.f1)))
            return corrupt(err, "a persona holds impossible values");
        for (uint32_t j = 0; j < p; j++)
            if (strcmp(s->personas[j].id, q->id) == 0)
                return corrupt(err, "a persona id appears twice");
    }
    if (!leave_section(&l, "PERS"))
        return l.st;

    if (!enter_section(&l, &outer, TAG_QUAL, "QUAL"))
        return l.st;
    pn_quality *ql = &s->quality;
    ql->training_visitors = pn__r_u32(&l.r);
    ql->holdout_visitors = pn__r_u32(&l.r);
    ql->target_visitors = pn__r_u32(&l.r);
    ql->accuracy = pn__r_f64(&l.r);
    ql->macro_f1 = pn__r_f64(&l.r);
    ql->temperature = pn__r_f64(&l.r);
    ql->median_traits_training = pn__r_f64(&l.r);
    ql->median_traits_target = pn__r_f64(&l.r);
    if (!leave_section(&l, "QUAL"))
        return l.st;
    if (!finite_unit(ql->accuracy) || !finite_unit(ql->macro_f1) || !(ql->temperature > 0 && ql->temperature < 1e6) ||
        !(ql->median_traits_training >= 0 && ql->median_traits_training < 1e9) ||
        !(ql->median_traits_target >= 0 && ql->median_traits_target < 1e9))
        return corrupt(err, "the quality section holds impossible values");

    if (!enter_section(&l, &outer, TAG_TRAT, "TRAT"))
        return l.st;
    s->support = pn__malloc((T ? T : 1) * sizeof *s->support);
    if (!s->support)
        return pn__oom(err);
    for (uint32_t t = 0; t < T; t++) {
        size_t n;
        const char *id = pn__r_str(&l.r, &n);
        s->support[t] = pn__r_u32(&l.r);
        if (l.r.bad)
            return corrupt(err, "the trait table is cut short");
        if (n == 0 || n > 256 || memchr(id, 0, n))
            return corrupt(err, "a trait id is empty, too long or holds a NUL byte");
        uint32_t k;
        uint32_t before = pn__dict_count(&s->traits);
        if (pn__dict_intern(&s->traits, id, n, &k))
            return pn__oom(err);
        if (pn__dict_count(&s->traits) == before)
            return pn__fail(err, PN_ECORRUPT, "snapshot is corrupted: trait '%.*s' appears twice", (int)n, id);
    }
    if (!leave_section(&l, "TRAT"))
        return l.st;

    if (!enter_section(&l, &outer, TAG_WGHT, "WGHT"))
        return l.st;
    size_t nw = (size_t)T * P;
    if ((size_t)(l.r.end - l.r.p) != nw * 4)
        return corrupt(err, "the weight table does not match the trait and persona counts");
    s->weights = pn__malloc((nw ? nw : 1) * sizeof *s->weights);
    if (!s->weights)
        return pn__oom(err);
    for (size_t i = 0; i < nw; i++) {
        int32_t w = (int32_t)pn__r_u32(&l.r);
        if (w > PN_WEIGHT_MAX * (int32_t)PN_WEIGHT_ONE || w < -PN_WEIGHT_MAX * (int32_t)PN_WEIGHT_ONE)
            return corrupt(err, "a weight is out of range");
        s->weights[i] = w;
    }
    if (!leave_section(&l, "WGHT"))
        return l.st;
    return PN_OK;
}

pn_status pn_snapshot_load(const void *bytes, size_t len, pn_snapshot **out, pn_error *err)
{
    *out = NULL;
    const uint8_t *b = bytes;
    if (!b)
        return pn__fail(err, PN_EINVAL, "no snapshot bytes were given");
    if (len < 8 || memcmp(b, MAGIC, 8) != 0) {
        if (len < 8 && len > 0 && memcmp(b, MAGIC, len) == 0)
            return pn__fail(err, PN_ETRUNCATED, "snapshot is truncated: %zu bytes, shorter than its header", len);
        return pn__fail(err, PN_EFOREIGN, "not a personae snapshot (the first bytes are not the snapshot magic)");
    }
    if (len < HEADER_SIZE)
        return pn__fail(err, PN_ETRUNCATED, "snapshot is truncated: %zu bytes, shorter than its %u-byte header", len,
                        HEADER_SIZE);
    pn_reader h = {b + 8, b + HEADER_SIZE, 0};
    uint32_t version = pn__r_u32(&h), hsize = pn__r_u32(&h);
    uint64_t flen = pn__r_u64(&h), sum = pn__r_u64(&h);
    int64_t created = (int64_t)pn__r_u64(&h);
    uint32_t mversion = pn__r_u32(&h), dec = pn__r_u32(&h), P = pn__r_u32(&h), T = pn__r_u32(&h);
    if (version != PN_SNAPSHOT_FORMAT_VERSION)
        return pn__fail(err, PN_EVERSION, "snapshot format version %u is not supported (this build reads version %u)",
                        version, PN_SNAPSHOT_FORMAT_VERSION);
    if (hsize != HEADER_SIZE)
        return corrupt(err, "the header size is wrong");
    if (flen > len)
        return pn__fail(err, PN_ETRUNCATED, "snapshot is truncated: %zu of its %llu bytes are present", len,
                        (unsigned long long)flen);
    if (flen < len)
        return corrupt(err, "there are bytes after its end");
    /* Checksum over the whole file with the checksum field read as zero. */
    XXH64_state_t st;
    static const uint8_t zero[8] = {0};
    XXH64_reset(&st, 0);
    XXH64_update(&st, b, 24);
    XXH64_update(&st, zero, 8);
    XXH64_update(&st, b + 32, len - 32);
    if (XXH64_digest(&st) != sum)
        return corrupt(err, "its checksum does not match its contents");
    if (P < 2 || P > PN_MAX_PERSONAS || T > MAX_TRAITS || (dec & ~15u))
        return corrupt(err, "the header holds impossible counts");
    pn_snapshot *s = pn__snapshot_alloc();
    if (!s)
        return pn__oom(err);
    s->created_at = created;
    s->model_version = mversion;
    s->dec_labels = dec;
    pn_status rc = load_body(s, b, len, P, T, err);
    if (rc) {
        pn_snapshot_free(s);
        return rc;
    }
    *out = s;
    return PN_OK;
}

/* ---- accessors ---------------------------------------------------------------------------- */

const char *pn_snapshot_model_id(const pn_snapshot *s) { return s->model_id; }
const char *pn_snapshot_model_name(const pn_snapshot *s) { return s->model_name; }
uint32_t pn_snapshot_model_version(const pn_snapshot *s) { return s->model_version; }
int64_t pn_snapshot_created_at(const pn_snapshot *s) { return s->created_at; }
uint32_t pn_snapshot_dec_labels(const pn_snapshot *s) { return s->dec_labels; }
int pn_snapshot_lookback_days(const pn_snapshot *s) { return s->lookback_days; }
pn_model_status pn_snapshot_status(const pn_snapshot *s) { return (pn_model_status)s->status; }
size_t pn_snapshot_reason_count(const pn_snapshot *s) { return s->reason_count; }
const char *pn_snapshot_reason(const pn_snapshot *s, size_t i) { return i < s->reason_count ? s->reasons[i] : NULL; }
size_t pn_snapshot_persona_count(const pn_snapshot *s) { return s->persona_count; }
const char *pn_snapshot_persona_id(const pn_snapshot *s, size_t i) { return i < s->persona_count ? s->personas[i].id : NULL; }
const char *pn_snapshot_persona_rule(const pn_snapshot *s, size_t i) { return i < s->persona_count ? s->personas[i].rule : NULL; }
void pn_snapshot_quality(const pn_snapshot *s, pn_quality *out) { *out = s->quality; }
size_t pn_snapshot_trait_count(const pn_snapshot *s) { return pn__dict_count(&s->traits); }
uint32_t pn_snapshot_trait_support(const pn_snapshot *s, uint32_t t) { return t < pn__dict_count(&s->traits) ? s->support[t] : 0; }

pn_status pn_snapshot_persona_info(const pn_snapshot *s, size_t i, pn_persona_info *out)
{
    if (i >= s->persona_count)
        return PN_EINVAL;
    *out = s->personas[i].info;
    return PN_OK;
}

const char *pn_snapshot_target(const pn_snapshot *s, const char **rule)
{
    if (rule)
        *rule = s->target_rule;
    return s->target;
}

const char *pn_snapshot_trait_id(const pn_snapshot *s, uint32_t t, size_t *len)
{
    if (t >= pn__dict_count(&s->traits)) {
        if (len)
            *len = 0;
        return NULL;
    }
    return pn__dict_str(&s->traits, t, len);
}

uint32_t pn_snapshot_trait_find(const pn_snapshot *s, const char *id, size_t len)
{
    uint32_t k = pn__dict_find(&s->traits, id, len);
    return k == PN_DICT_NONE ? PN_NO_TRAIT : k;
}

double pn_snapshot_weight(const pn_snapshot *s, uint32_t t, size_t p)
{
    if (t >= pn__dict_count(&s->traits) || p >= s->persona_count)
        return 0.0;
    return s->weights[(size_t)t * s->persona_count + p] / PN_WEIGHT_ONE;
}

size_t pn_snapshot_influential(const pn_snapshot *s, size_t p, int positive, uint32_t *traits, size_t k)
{
    size_t T = pn__dict_count(&s->traits), P = s->persona_count, n = 0;
    if (p >= P || k == 0)
        return 0;
    /* A trait seen on a handful of visitors can carry a large weight by chance; a marketer
     * wants traits that are both strong and common, so rank by weight x sqrt(support) (sqrt is
     * exact in IEEE arithmetic, so the order is the same in every build) among traits seen on at
     * least 3 training visitors. */
    for (uint32_t t = 0; t < T; t++) {
        if (s->support[t] < 3)
            continue;
        double w = s->weights[(size_t)t * P + p] / PN_WEIGHT_ONE;
        if (positive ? !(w > 0) : !(w < 0))
            continue;
        double key = (positive ? w : -w) * sqrt((double)s->support[t]);
        size_t i = n < k ? n++ : k;
        while (i > 0) {
            uint32_t u = traits[i - 1];
            double wk = s->weights[(size_t)u * P + p] / PN_WEIGHT_ONE;
            if ((positive ? wk : -wk) * sqrt((double)s->support[u]) >= key)
                break;
            if (i < k)
                traits[i] = traits[i - 1];
            i--;
        }
        if (i < k)
            traits[i] = t;
    }
    return n;
}
