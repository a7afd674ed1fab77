/* personae inspect: a snapshot as JSON for people and scripts. */
#include "cli.h"
#include "snapshot_file.h"
#include "personae/model.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>

static const char USAGE[] =
    "usage: personae inspect SNAPSHOT [--top N]\n\n"
    "Prints the snapshot as JSON: model, status and its reasons, DEC labels, target, and per\n"
    "persona its training visitors, holdout precision and recall, and its most influential traits\n"
    "with signed weights (+ raises, - lowers the persona's likelihood) and support (training\n"
    "visitors who had the trait). --top sets how many traits per persona and sign (default 10).\n";

static cJSON *traits_json(const pn_snapshot *s, size_t p, int positive, size_t top)
{
    uint32_t list[100];
    size_t n = pn_snapshot_influential(s, p, positive, list, top);
    cJSON *arr = cJSON_CreateArray();
    for (size_t i = 0; i < n; i++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "trait", pn_snapshot_trait_id(s, list[i], NULL));
        cJSON_AddNumberToObject(o, "weight", pn_snapshot_weight(s, list[i], p));
        cJSON_AddNumberToObject(o, "support", pn_snapshot_trait_support(s, list[i]));
        cJSON_AddItemToArray(arr, o);
    }
    return arr;
}

static cJSON *labels_json(uint32_t labels)
{
    cJSON *arr = cJSON_CreateArray();
    for (uint32_t b = 1; b <= PN_DEC_ALL; b <<= 1)
        if (labels & b)
            cJSON_AddItemToArray(arr, cJSON_CreateString(pn_dec_label_name(b)));
    return arr;
}

static cJSON *to_json(const pn_snapshot *s, size_t top)
{
    cJSON *root = cJSON_CreateObject();
    cJSON *model = cJSON_AddObjectToObject(root, "model");
    cJSON_AddStringToObject(model, "id", pn_snapshot_model_id(s));
    cJSON_AddStringToObject(model, "name", pn_snapshot_model_name(s));
    cJSON_AddNumberToObject(model, "version", pn_snapshot_model_version(s));
    cJSON_AddNumberToObject(model, "created_at", (double)pn_snapshot_created_at(s));
    cJSON_AddNumberToObject(model, "lookback_days", pn_snapshot_lookback_days(s));
    cJSON_AddStringToObject(root, "status", pn_snapshot_status(s) == PN_STATUS_ACTIVE ? "active" : "warning");
    cJSON *reasons = cJSON_AddArrayToObject(root, "reasons");
    for (size_t i = 0; i < pn_snapshot_reason_count(s); i++)
        cJSON_AddItemToArray(reasons, cJSON_CreateString(pn_snapshot_reason(s, i)));
    cJSON_AddItemToObject(root, "dec_labels", labels_json(pn_snapshot_dec_labels(s)));
    const char *rule = NULL, *target = pn_snapshot_target(s, &rule);
    if (target) {
        cJSON *t = cJSON_AddObjectToObject(root, "target");
        cJSON_AddStringToObject(t, "id", target);
        if (rule)
            cJSON_AddStringToObject(t, "rule", rule);
    } else {
        cJSON_AddNullToObject(root, "target");
    }
    pn_quality q;
    pn_snapshot_quality(s, &q);
    cJSON *ql = cJSON_AddObjectToObject(root, "quality");
    cJSON_AddNumberToObject(ql, "training_visitors", q.training_visitors);
    cJSON_AddNumberToObject(ql, "holdout_visitors", q.holdout_visitors);
    cJSON_AddNumberToObject(ql, "target_visitors", q.target_visitors);
    cJSON_AddNumberToObject(ql, "accuracy", q.accuracy);
    cJSON_AddNumberToObject(ql, "macro_f1", q.macro_f1);
    cJSON_AddNumberToObject(ql, "calibration_temperature", q.temperature);
    cJSON_AddNumberToObject(ql, "median_traits_training", q.median_traits_training);
    cJSON_AddNumberToObject(ql, "median_traits_target", q.median_traits_target);
    cJSON_AddNumberToObject(root, "trait_count", (double)pn_snapshot_trait_count(s));
    cJSON *personas = cJSON_AddArrayToObject(root, "personas");
    for (size_t p = 0; p < pn_snapshot_persona_count(s); p++) {
        pn_persona_info in;
        pn_snapshot_persona_info(s, p, &in);
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "baseline", pn_snapshot_persona_id(s, p));
        if (pn_snapshot_persona_rule(s, p))
            cJSON_AddStringToObject(o, "rule", pn_snapshot_persona_rule(s, p));
        cJSON_AddStringToObject(o, "status", in.status == PN_PERSONA_SUCCEEDED ? "succeeded" : "insufficient training data");
        cJSON_AddNumberToObject(o, "training_visitors", in.training_visitors);
        cJSON *h = cJSON_AddObjectToObject(o, "holdout");
        cJSON_AddNumberToObject(h, "visitors", in.holdout_visitors);
        cJSON_AddNumberToObject(h, "precision", in.precision);
        cJSON_AddNumberToObject(h, "recall", in.recall);
        cJSON_AddNumberToObject(h, "f1", in.f1);
        cJSON_AddItemToObject(o, "influential_traits", traits_json(s, p, 1, top));
        cJSON_AddItemToObject(o, "negative_traits", traits_json(s, p, 0, top));
        cJSON_AddItemToArray(personas, o);
    }
    return root;
}

int pn_cmd_inspect(int argc, char **argv)
{
    enum { TOP, N };
    static const pn_cli_option spec[N] = {{"top", 0}};
    const char *v[N], *pos[1];
    size_t npos;
    int help;
    if (pn_cli_parse("inspect", argc, argv, spec, N, v, &help, pos, 1, &npos))
        return 2;
    if (help) {
        fputs(USAGE, stdout);
        return 0;
    }
    if (npos != 1) {
        pn_cli_error("inspect", "expects one snapshot file (see personae inspect --help)");
        return 2;
    }
    int64_t top = 10;
    if (v[TOP] && pn_cli_parse_i64("inspect", "--top", v[TOP], 0, 100, &top))
        return 2;
    pn_snapshot *s = pn_cli_read_snapshot("inspect", pos[0]);
    if (!s)
        return 1;
    cJSON *root = to_json(s, (size_t)top);
    char *text = cJSON_Print(root);
    int rc = 0;
    if (!text || puts(text) < 0) {
        pn_cli_error("inspect", "out of memory or write failed");
        rc = 1;
    }
    free(text);
    cJSON_Delete(root);
    pn_snapshot_free(s);
    return rc;
}
