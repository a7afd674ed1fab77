#!/usr/bin/env bash
# Parity: the WebAssembly `personae-wasm classify` must write the very bytes the native
# `personae classify` writes (scores and confidences included), for snapshots trained on the
# ml-latest-small tasks (seeds 1-3), on two `personae gen` audiences, and on segment baselines
# with a target segment (the conformance source), from TSV and from JSON Lines.
#   tests/parity/test_wasm_parity.sh [PERSONAE] [REPO_ROOT]
set -euo pipefail
root=${2:-$(cd "$(dirname "$0")/../.." && pwd)}
personae=${1:-$root/build/release/personae}
wasm_cli=$root/wasm/bin/personae-wasm.mjs
shared=$root/../shared
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

check() { # name task_dir [train options]
  local name=$1 task=$2
  shift 2
  "$personae" train --events "$task/events.tsv" --model "$task/model.json" --out "$task/snap.pns" "$@" >/dev/null
  for events in "$task"/events.tsv "$task"/events.jsonl; do
    [ -f "$events" ] || continue
    "$personae" classify --snapshot "$task/snap.pns" --events "$events" --out "$task/native.tsv"
    node "$wasm_cli" classify --snapshot "$task/snap.pns" --events "$events" --out "$task/wasm.tsv"
    if ! cmp "$task/native.tsv" "$task/wasm.tsv"; then
      echo "FAIL $name ($(basename "$events")): wasm and native predictions differ" >&2
      diff <(head -c 100000 "$task/native.tsv") <(head -c 100000 "$task/wasm.tsv") | head -5 >&2
      exit 1
    fi
    echo "ok   $name ($(basename "$events")): $(wc -l <"$task/native.tsv") predictions, byte-identical"
  done
}

for seed in 1 2 3; do
  /usr/bin/python3 "$shared/bench/personas_task.py" build-movielens "$shared/data/ml-latest-small" "$work/ml$seed" "$seed" >/dev/null
  if [ "$seed" = 1 ]; then
    # The same events as JSON Lines too (other keys ignored): the wasm build parses them in
    # JavaScript, the native one with cJSON.
    awk -F'\t' '{ printf "{\"uuid\":\"%s\",\"trait\":\"%s\",\"ts\":%s,\"src\":\"parity\"}\n", $1, $2, $3 }' \
      "$work/ml1/events.tsv" >"$work/ml1/events.jsonl"
  fi
  check "ml-latest-small seed $seed" "$work/ml$seed"
done

"$personae" gen --out "$work/gen6" --users 20000 --seed 7 >/dev/null
check "personae gen, 6 personas" "$work/gen6"
"$personae" gen --out "$work/gen50" --users 20000 --personas 50 --traits 20000 --seed 3 >/dev/null
check "personae gen, 50 personas" "$work/gen50"

# Segment baselines and a target segment: who is skipped depends on the rule interpreter.
seg=$root/tests/conformance/sources/segment-baselines
mkdir "$work/seg" && (cd "$work/seg" && /usr/bin/python3 "$seg/make_events.py")
cp "$seg/model.json" "$work/seg/"
check "segment baselines with a target" "$work/seg" --catalog "$seg/catalog.json"
