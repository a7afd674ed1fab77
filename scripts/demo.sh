#!/usr/bin/env bash
# The main job. On a fresh Debian machine: installs what is missing, builds the native command
# and the WebAssembly scorer, creates a store (embedded SQLite, nothing else to run) with a demo
# account, data sources (one with a DEC label), rule-based traits for the shop's cards, four
# personas, a model and a realistic generated audience (personae gen), trains it, and serves the
# web demo (personae serve --demo-dir web-demo) until Ctrl-C.
#
#   scripts/demo.sh                 the server and the web demo on http://127.0.0.1:8080/demo/
#   LISTEN=0.0.0.0:9000 scripts/demo.sh
#   scripts/demo.sh --offline [DIR] the command line only: gen, train, classify, report (no server)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build/release -j"$(nproc)" --target personae >/dev/null
bin=build/release/personae

if [ "${1:-}" = "--offline" ]; then
  out=${2:-out/demo}
  mkdir -p "$out"
  "$bin" gen --users 50000 --personas 6 --traits 3000 --seed 1 --out "$out/audience"
  "$bin" train --events "$out/audience/events.tsv" --model "$out/audience/model.json" --out "$out/model.snapshot"
  "$bin" classify --snapshot "$out/model.snapshot" --events "$out/audience/events.tsv" --out "$out/predictions.tsv"
  echo
  echo "== classified visitors per persona ($out/predictions.tsv)"
  cut -f2 "$out/predictions.tsv" | sort | uniq -c | sort -rn
  if command -v /usr/bin/python3 >/dev/null; then
    echo
    echo "== against the held-out truth of the generated audience"
    /usr/bin/python3 ../shared/bench/personas_task.py score "$out/audience" "$out/predictions.tsv" 2>/dev/null ||
      awk -F'\t' 'NR==FNR{t[$1]=$2;next} ($1 in t){n++; if(t[$1]==$2)k++} END{printf "accuracy %.3f over %d visitors\n", k/n, n}' \
        "$out/audience/truth.tsv" "$out/predictions.tsv"
  fi
  echo
  echo "== model report (personae inspect $out/model.snapshot --top 3)"
  "$bin" inspect "$out/model.snapshot" --top 3
  exit 0
fi

echo "== building the WebAssembly scorer (build/wasm -> wasm/dist/personae.wasm)"
NODE_PATH=/usr/share/nodejs emcmake cmake -S . -B build/wasm -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build/wasm >/dev/null

listen=${LISTEN:-127.0.0.1:8080}
dir=out/demo-server
rm -rf "$dir"
mkdir -p "$dir"
key=$("$bin" admin init --db "$dir/personae.db" | tail -n 1)
"$bin" serve --db "$dir/personae.db" --listen "$listen" --demo-dir web-demo --wasm-dir wasm 2>"$dir/serve.log" &
server=$!
trap 'kill -TERM $server 2>/dev/null; wait $server 2>/dev/null || true' EXIT
trap 'exit 0' INT TERM
for _ in $(seq 100); do
  curl -s -o /dev/null "http://$listen/demo/" && break
  kill -0 $server 2>/dev/null || { cat "$dir/serve.log" >&2; exit 1; }
  sleep 0.1
done
echo "== seeding: data sources, traits, personas, a generated audience, a model trained now"
host=${listen/0.0.0.0/127.0.0.1}
/usr/bin/python3 scripts/demo_seed.py --url "http://$host" --key "$key" --personae "$bin" --work "$dir/seed" \
  --out "$dir/seed.json" >/dev/null
report=$(curl -s "http://$host/demo/api/report")
/usr/bin/python3 - "$report" <<'PY'
import json, sys
r = json.loads(sys.argv[1])
q = r["quality"]
print('model %d "%s": %s, holdout accuracy %.3f, macro-F1 %.3f, %d visitors classified, DEC union %s'
      % (r["model_id"], r["name"], r["status"], q["accuracy"], q["macro_f1"], q["target_visitors"], ", ".join(r["dec_labels"])))
PY
cat <<MSG

  The web demo:   http://$host/demo/          (the model report: http://$host/demo/report.html)
  The API:        http://$host/api/v1/        Authorization: Bearer $key
  Store and log:  $dir/personae.db, $dir/serve.log

personae serve is running; Ctrl-C stops it.
MSG
wait $server
