#!/usr/bin/env bash
# Segment baselines and targets through the command line, with a catalog: recency windows count
# back from the file's latest event, baseline members are never classified, visitors outside
# the target audience are left out, and DEC-restricted traits never reach the snapshot.
set -u
BIN=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fails=0 passes=0
check() { if eval "$2"; then passes=$((passes + 1)); echo "ok   $1"; else fails=$((fails + 1)); echo "FAIL $1"; fi; }

day=86400 now=1767225600
cat > "$work/catalog.json" <<JSON
{"data_sources": [{"id": "web"}, {"id": "crm", "dec_labels": ["offsite_advertising"]}],
 "traits": [{"id": "10", "data_source": "web"}, {"id": "11", "data_source": "web"},
            {"id": "20", "data_source": "web"}, {"id": "21", "data_source": "web"},
            {"id": "30", "data_source": "web"}, {"id": "99", "data_source": "crm", "kind": "onboarded"}],
 "segments": [{"id": "fans", "rule": "FREQUENCY([10T] <= 7D) >= 2"},
              {"id": "buyers", "rule": "11T AND NOT 10T"},
              {"id": "site", "rule": "30T"}]}
JSON
printf '{"name":"seg","baselines":["fans","buyers"],"target":"site","lookback_days":0}' > "$work/model.json"
{
  for i in $(seq 1 40); do # fans: two realizations of 10 in the last week, and telltale 20
    printf 'f%d\t10\t%d\nf%d\t10\t%d\nf%d\t20\t%d\nf%d\t30\t%d\nf%d\t99\t%d\n' $i $((now - day)) $i $((now - 2 * day)) $i $((now - 3 * day)) $i $((now - 3 * day)) $i $((now - 3 * day))
  done
  for i in $(seq 1 40); do # buyers: 11 without 10, and telltale 21
    printf 'b%d\t11\t%d\nb%d\t21\t%d\nb%d\t30\t%d\n' $i $((now - day)) $i $((now - day)) $i $((now - day))
  done
  printf 'old\t10\t%d\nold\t10\t%d\nold\t20\t%d\nold\t30\t%d\n' $((now - 30 * day)) $((now - 29 * day)) $((now - 30 * day)) $((now - 30 * day))
  printf 'new\t21\t%d\nnew\t30\t%d\n' $((now - day)) $((now - day))
  printf 'outsider\t20\t%d\n' $((now - day))
  printf 'blank\t30\t%d\n' "$now"
} > "$work/events.tsv"
"$BIN" train --events "$work/events.tsv" --model "$work/model.json" --catalog "$work/catalog.json" --out "$work/snap" > "$work/train.out"
check "trains on segment baselines" '[ -s "$work/snap" ]'
"$BIN" inspect "$work/snap" > "$work/inspect.json"
check "DEC union comes from the segments' data sources only" '/usr/bin/python3 -c "import json,sys; d=json.load(open(sys.argv[1])); assert d[\"dec_labels\"]==[], d[\"dec_labels\"]" "$work/inspect.json"'
check "the crm trait (DEC-restricted) never reaches the snapshot" '! grep -q "\"99\"" "$work/inspect.json"'
"$BIN" classify --snapshot "$work/snap" --events "$work/events.tsv" --out "$work/pred.tsv"
check "fans and buyers are never classified" '! grep -Eq "^(f|b)[0-9]+	" "$work/pred.tsv"'
check "a visitor whose fan realizations are a month old is classified as a fan" 'grep -q "^old	fans	" "$work/pred.tsv"'
check "a new visitor with the buyers telltale is classified as a buyer" 'grep -q "^new	buyers	" "$work/pred.tsv"'
check "a visitor outside the target audience is left out" '! grep -q "^outsider	" "$work/pred.tsv"'
check "a target visitor with no usable trait stays unclassified at 0" 'grep -q "^blank	-	0.000000	0.000000$" "$work/pred.tsv"'
echo "$passes passed, $fails failed"
[ "$fails" -eq 0 ]
