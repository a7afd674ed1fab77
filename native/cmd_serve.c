/* personae serve: the HTTP API over the SQLite store, with the training scheduler. */
#include "cli.h"
#include "server.h"

#include <stdio.h>

static const char USAGE[] =
    "usage: personae serve --db STORE [--listen 127.0.0.1:8080] [--train-interval SECONDS]\n"
    "                      [--snapshot-min-support K] [--token-ttl SECONDS]\n"
    "                      [--event-cache-mb MB] [--threads N] [--idle-timeout SECONDS]\n"
    "                      [--allow-origin ORIGIN[,ORIGIN...]]\n"
    "                      [--demo-dir DIR [--wasm-dir DIR]]\n\n"
    "Serves the JSON API under /api/v1 (Authorization: Bearer <key>) from the store made by\n"
    "'personae admin init'. Every model is trained when created or edited, on demand\n"
    "(POST /api/v1/models/{id}/train) and then every --train-interval seconds (default 86400).\n"
    "The real-time endpoint /event takes visitor calls (d_account, d_uuid or the pn_uuid cookie, c_/p_ signals).\n"
    "Snapshots leave the server (GET /api/v1/models/{id}/snapshot, /snapshot/{token}) without the traits of\n"
    "fewer than --snapshot-min-support training visitors (default 20); a snapshot token is valid for\n"
    "--token-ttl seconds (default 300).\n"
    "/event keeps recently seen visitors in memory, in at most about --event-cache-mb MiB (default 256);\n"
    "--threads sets the number of HTTP threads (default: one per processor); a connection idle for\n"
    "--idle-timeout seconds (default 60), or that does not read its answer for as long, is closed; so is one\n"
    "whose request or answer moves under 500 bytes a second after that time.\n"
    "--allow-origin lists the origins of pages on other hosts that may call /event with the visitor's cookie and\n"
    "read its answer (CORS), such as https://www.shop.example; by default only pages the server itself serves.\n"
    "--demo-dir serves the web demo (a demo convenience, not for production): the files of DIR at /demo/,\n"
    "the personae-wasm module and .wasm of --wasm-dir (default DIR/../wasm) at /demo/personae/, and, without\n"
    "an API key, GET /demo/api/config (the first account's id, its newest trained model, its rule-based\n"
    "traits, a fresh snapshot token URL) and GET /demo/api/report (that model's report).\n"
    "Requests and training progress are logged on stderr; API keys never are. SIGINT or SIGTERM stop it.\n";

int pn_cmd_serve(int argc, char **argv)
{
    enum { DB, LISTEN, INTERVAL, MIN_SUPPORT, TOKEN_TTL, DEMO_DIR, WASM_DIR, CACHE_MB, THREADS, IDLE, ORIGINS, N };
    static const pn_cli_option spec[N] = {{"db", 0},       {"listen", 0},   {"train-interval", 0},
                                          {"snapshot-min-support", 0},      {"token-ttl", 0},
                                          {"demo-dir", 0}, {"wasm-dir", 0}, {"event-cache-mb", 0},
                                          {"threads", 0},  {"idle-timeout", 0},
                                          {"allow-origin", 0}};
    const char *v[N];
    int help;
    if (pn_cli_parse("serve", argc, argv, spec, N, v, &help, NULL, 0, NULL))
        return 2;
    if (help) {
        fputs(USAGE, stdout);
        return 0;
    }
    if (!v[DB]) {
        pn_cli_error("serve", "--db is required (see personae serve --help)");
        return 2;
    }
    if (v[WASM_DIR] && !v[DEMO_DIR]) {
        pn_cli_error("serve", "--wasm-dir goes with --demo-dir");
        return 2;
    }
    pn_server_options o = {v[DB], v[LISTEN] ? v[LISTEN] : "127.0.0.1:8080", 86400, 20, 300, v[DEMO_DIR], v[WASM_DIR], 256, 0, 60, v[ORIGINS]};
    if (v[INTERVAL] && pn_cli_parse_i64("serve", "--train-interval", v[INTERVAL], 1, 365LL * 86400, &o.train_interval))
        return 2;
    if (v[MIN_SUPPORT] &&
        pn_cli_parse_i64("serve", "--snapshot-min-support", v[MIN_SUPPORT], 1, 1000000000, &o.min_support))
        return 2;
    if (v[TOKEN_TTL] && pn_cli_parse_i64("serve", "--token-ttl", v[TOKEN_TTL], 1, 30LL * 86400, &o.token_ttl))
        return 2;
    if (v[CACHE_MB] && pn_cli_parse_i64("serve", "--event-cache-mb", v[CACHE_MB], 1, 1 << 20, &o.event_cache_mb))
        return 2;
    if (v[THREADS] && pn_cli_parse_i64("serve", "--threads", v[THREADS], 1, 256, &o.threads))
        return 2;
    if (v[IDLE] && pn_cli_parse_i64("serve", "--idle-timeout", v[IDLE], 1, 86400, &o.idle_timeout))
        return 2;
    char err[512];
    if (pn_server_run(&o, err, sizeof err)) {
        pn_cli_error("serve", "%s", err);
        return 1;
    }
    return 0;
}
