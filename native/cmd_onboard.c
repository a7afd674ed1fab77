/* personae onboard: batch onboarding of trait realizations from a file into the store. */
#include "cli.h"
#include "server.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>

static const char USAGE[] =
    "usage: personae onboard --db STORE [--account NAME] FILE\n\n"
    "Stores the trait realizations of FILE (TSV 'uuid<TAB>trait_id<TAB>unix_seconds' or JSON Lines\n"
    "{\"uuid\",\"trait\",\"ts\"}) in the account (needed when the store holds several). Good lines are\n"
    "stored in one transaction; each bad line is reported on stderr as FILE:LINE: reason. Prints\n"
    "the counts; exits 1 when any line was rejected.\n";

int pn_cmd_onboard(int argc, char **argv)
{
    enum { DB, ACCOUNT, N };
    static const pn_cli_option spec[N] = {{"db", 0}, {"account", 0}};
    const char *v[N], *file[1];
    size_t nfile = 0;
    int help;
    if (pn_cli_parse("onboard", argc, argv, spec, N, v, &help, file, 1, &nfile))
        return 2;
    if (help) {
        fputs(USAGE, stdout);
        return 0;
    }
    if (!v[DB] || nfile != 1) {
        pn_cli_error("onboard", "--db and one FILE are required (see personae onboard --help)");
        return 2;
    }
    size_t len;
    char *data = pn_cli_read_file("onboard", file[0], &len);
    if (!data)
        return 1;
    char *summary = NULL, err[512];
    uint64_t accepted = 0, rejected = 0;
    int rc = pn_server_onboard(v[DB], v[ACCOUNT], data, len, &summary, &accepted, &rejected, err, sizeof err);
    free(data);
    if (rc) {
        pn_cli_error("onboard", "%s", err);
        return 1;
    }
    cJSON *j = cJSON_Parse(summary);
    const cJSON *errors = cJSON_GetObjectItemCaseSensitive(j, "errors");
    for (const cJSON *e = errors ? errors->child : NULL; e; e = e->next)
        pn_cli_error("onboard", "%s:%.0f: %s", file[0], cJSON_GetObjectItemCaseSensitive(e, "line")->valuedouble,
                     cJSON_GetObjectItemCaseSensitive(e, "error")->valuestring);
    cJSON_Delete(j);
    free(summary);
    printf("accepted %llu, rejected %llu\n", (unsigned long long)accepted, (unsigned long long)rejected);
    return rejected ? 1 : 0;
}
