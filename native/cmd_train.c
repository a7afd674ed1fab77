/* personae train: events + model definition (+ catalog) -> snapshot file. */
#include "cli.h"
#include "events_file.h"
#include "predictions.h"
#include "snapshot_file.h"
#include "personae/model.h"
#include "personae/train.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char USAGE[] =
    "usage: personae train --events EVENTS.tsv --model MODEL.json --out SNAPSHOT\n"
    "                      [--catalog CATALOG.json] [--as-of UNIX_TS] [--min-support N]\n"
    "                      [--model-version N] [--seed N] [--predictions PREDICTIONS.tsv]\n\n"
    "Learns, from the visitors who qualify for a baseline, which of their other traits point to each\n"
    "persona, and writes the model snapshot. --as-of is \"now\" (default: the latest event); visitors\n"
    "are those active within the model's lookback_days before it. --min-support leaves out traits\n"
    "seen on fewer training visitors (default 1). --predictions also classifies the target visitors\n"
    "of EVENTS with the new model, writing what `personae classify` would write, without reading the\n"
    "events twice: the daily job in one pass. Progress goes to stderr when it is a terminal.\n";

static void show_progress(void *ctx, const char *stage, double f)
{
    (void)ctx;
    fprintf(stderr, "\rpersonae train: %s %3.0f%%", stage, f * 100.0);
    if (f >= 1.0)
        fputc('\n', stderr);
}

int pn_cmd_train(int argc, char **argv)
{
    enum { EVENTS, MODEL, OUT, CATALOG, AS_OF, MIN_SUPPORT, VERSION, SEED, PREDICTIONS, N };
    static const pn_cli_option spec[N] = {{"events", 0},      {"model", 0},         {"out", 0},
                                          {"catalog", 0},     {"as-of", 0},         {"min-support", 0},
                                          {"model-version", 0}, {"seed", 0},        {"predictions", 0}};
    const char *v[N];
    int help;
    if (pn_cli_parse("train", argc, argv, spec, N, v, &help, NULL, 0, NULL))
        return 2;
    if (help) {
        fputs(USAGE, stdout);
        return 0;
    }
    if (!v[EVENTS] || !v[MODEL] || !v[OUT]) {
        pn_cli_error("train", "--events, --model and --out are required (see personae train --help)");
        return 2;
    }
    pn_train_options opt;
    pn_train_options_init(&opt);
    int64_t x;
    if (v[AS_OF]) {
        if (pn_cli_parse_i64("train", "--as-of", v[AS_OF], 1, 4294967295LL, &x))
            return 2;
        opt.as_of = x;
    }
    if (v[MIN_SUPPORT]) {
        if (pn_cli_parse_i64("train", "--min-support", v[MIN_SUPPORT], 1, 1000000000, &x))
            return 2;
        opt.min_support = (uint32_t)x;
    }
    if (v[VERSION]) {
        if (pn_cli_parse_i64("train", "--model-version", v[VERSION], 1, 4294967295LL, &x))
            return 2;
        opt.model_version = (uint32_t)x;
    }
    if (v[SEED]) {
        if (pn_cli_parse_i64("train", "--seed", v[SEED], 0, INT64_MAX, &x))
            return 2;
        opt.seed = (uint64_t)x;
    }
    if (isatty(2))
        opt.progress = show_progress;

    int rc = 1;
    pn_error err;
    pn_catalog *cat = NULL;
    pn_model_def *model = NULL;
    pn_profiles *prof = NULL;
    pn_snapshot *snap = NULL;
    char *text = NULL;
    size_t len;
    if (v[CATALOG]) {
        if (!(text = pn_cli_read_file("train", v[CATALOG], &len)))
            goto done;
        if (pn_catalog_parse(text, len, &cat, &err)) {
            pn_cli_error("train", "%s: %s", v[CATALOG], err.message);
            goto done;
        }
        free(text);
        text = NULL;
    }
    if (!(text = pn_cli_read_file("train", v[MODEL], &len)))
        goto done;
    if (pn_model_def_parse(text, len, cat, &model, &err)) {
        pn_cli_error("train", "%s: %s", v[MODEL], err.message);
        goto done;
    }
    if (pn_profiles_new(&prof, &err)) {
        pn_cli_error("train", "%s", err.message);
        goto done;
    }
    if (opt.progress)
        fprintf(stderr, "personae train: reading %s\n", v[EVENTS]);
    if (pn_cli_load_events("train", v[EVENTS], prof))
        goto done;
    if (pn_train(prof, model, cat, &opt, &snap, &err)) {
        pn_cli_error("train", "%s: %s", v[MODEL], err.message);
        goto done;
    }
    if (pn_cli_write_snapshot("train", v[OUT], snap))
        goto done;
    if (v[PREDICTIONS] && pn_cli_write_predictions("train", v[PREDICTIONS], snap, prof))
        goto done;
    pn_quality q;
    pn_snapshot_quality(snap, &q);
    printf("trained '%s': %u training visitors (%u held out), %zu traits, holdout accuracy %.3f, macro-F1 %.3f, "
           "status %s%s\n",
           pn_snapshot_model_name(snap), q.training_visitors, q.holdout_visitors, pn_snapshot_trait_count(snap), q.accuracy,
           q.macro_f1, pn_snapshot_status(snap) == PN_STATUS_ACTIVE ? "active" : "warning",
           pn_snapshot_reason_count(snap) ? " (see personae inspect)" : "");
    rc = 0;
done:
    free(text);
    pn_snapshot_free(snap);
    pn_profiles_free(prof);
    pn_model_def_free(model);
    pn_catalog_free(cat);
    return rc;
}
