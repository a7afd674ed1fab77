/* personae admin init|add-account: creates the store and accounts, each with its admin API key. */
#include "cli.h"
#include "server.h"

#include <stdio.h>
#include <string.h>

static const char USAGE[] =
    "usage: personae admin init --db STORE [--name NAME]\n"
    "       personae admin add-account --db STORE --name NAME\n\n"
    "init creates the store (an SQLite file) with one account (default name 'default');\n"
    "add-account adds another. Accounts never see each other's objects. Each prints the new\n"
    "account's admin API key as the last line of standard output: it is shown once and only its\n"
    "SHA-256 is stored, so keep it.\n";

int pn_cmd_admin(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        fputs(USAGE, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    int first = strcmp(argv[1], "init") == 0;
    if (!first && strcmp(argv[1], "add-account") != 0) {
        pn_cli_error("admin", "unknown subcommand '%s' (init or add-account)", argv[1]);
        return 2;
    }
    enum { DB, NAME, N };
    static const pn_cli_option spec[N] = {{"db", 0}, {"name", 0}};
    const char *v[N];
    int help;
    if (pn_cli_parse("admin", argc - 1, argv + 1, spec, N, v, &help, NULL, 0, NULL))
        return 2;
    if (help) {
        fputs(USAGE, stdout);
        return 0;
    }
    if (!v[DB] || (!first && !v[NAME])) {
        pn_cli_error("admin", first ? "--db is required" : "--db and --name are required");
        return 2;
    }
    const char *name = v[NAME] ? v[NAME] : "default";
    char key[PN_SERVER_KEY_MAX], err[512];
    int64_t account;
    if (pn_server_add_account(v[DB], name, first, &account, key, err, sizeof err)) {
        pn_cli_error("admin", "%s", err);
        return 1;
    }
    printf("created account %lld '%s' in %s\n", (long long)account, name, v[DB]);
    printf("its admin API key follows; it is shown only this once:\n");
    printf("%s\n", key);
    return 0;
}
