#!/usr/bin/env bash
# The main job on an embedded default: generate a realistic audience, train a model on the
# visitors who already belong to a persona, classify everyone else, and print the report.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build/release -j"$(nproc)" --target personae >/dev/null
bin=build/release/personae
out=${1:-out/demo}
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
