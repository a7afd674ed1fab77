#!/usr/bin/env bash
# The command line on real data: ml-latest-small persona tasks (../shared), trained and
# classified with the defaults, must match or beat the best scikit-learn peer's accuracy and
# macro-F1 on the same split (DESIGN §6, issue 2). Needs /usr/bin/python3 with scikit-learn.
set -u
BIN=$1
SRC=$2
SHARED=$SRC/../shared
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fails=0 passes=0
for seed in 1 2 3; do
  task=$work/ml$seed
  /usr/bin/python3 "$SHARED/bench/personas_task.py" build-movielens "$SHARED/data/ml-latest-small" "$task" "$seed"
  "$BIN" train --events "$task/events.tsv" --model "$task/model.json" --out "$task/snap" >/dev/null || { fails=$((fails + 1)); continue; }
  "$BIN" classify --snapshot "$task/snap" --events "$task/events.tsv" --out "$task/pred.tsv" || { fails=$((fails + 1)); continue; }
  ours=$(/usr/bin/python3 "$SHARED/bench/personas_task.py" score "$task" "$task/pred.tsv")
  peers=$(/usr/bin/python3 "$SHARED/bench/personas_task.py" peers "$task")
  read -r acc f1 < <(echo "$ours" | awk '{print $2, $4}')
  read -r pacc pf1 < <(echo "$peers" | awk '{ if ($3 > a) a = $3; if ($5 > f) f = $5 } END { print a, f }')
  if awk -v a="$acc" -v f="$f1" -v pa="$pacc" -v pf="$pf1" 'BEGIN { exit !(a >= pa && f >= pf) }'; then
    passes=$((passes + 1)); echo "ok   seed $seed: personae accuracy $acc macro-F1 $f1 >= best peer $pacc / $pf1"
  else
    fails=$((fails + 1)); echo "FAIL seed $seed: personae accuracy $acc macro-F1 $f1 < best peer $pacc / $pf1"; echo "$peers"
  fi
  # Every held-out visitor is classified; a second training gives the same bytes.
  "$BIN" train --events "$task/events.tsv" --model "$task/model.json" --out "$task/snap2" >/dev/null
  if cmp -s "$task/snap" "$task/snap2"; then passes=$((passes + 1)); echo "ok   seed $seed: training is deterministic";
  else fails=$((fails + 1)); echo "FAIL seed $seed: two trainings differ"; fi
  n=$(wc -l < "$task/pred.tsv"); t=$(wc -l < "$task/truth.tsv")
  if [ "$n" -eq "$t" ]; then passes=$((passes + 1)); echo "ok   seed $seed: $n predictions for $t held-out visitors";
  else fails=$((fails + 1)); echo "FAIL seed $seed: $n predictions for $t held-out visitors"; fi
done
# inspect prints valid JSON with the parts the issue names.
if "$BIN" inspect "$work/ml1/snap" | /usr/bin/python3 -c '
import json, sys
d = json.load(sys.stdin)
assert d["status"] in ("active", "warning") and isinstance(d["reasons"], list)
assert len(d["personas"]) == 6 and all("influential_traits" in p and "holdout" in p for p in d["personas"])
assert 0 < d["quality"]["accuracy"] <= 1 and "dec_labels" in d
'; then passes=$((passes + 1)); echo "ok   inspect JSON"; else fails=$((fails + 1)); echo "FAIL inspect JSON"; fi
echo "$passes passed, $fails failed"
[ "$fails" -eq 0 ]
