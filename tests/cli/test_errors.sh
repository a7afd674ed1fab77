#!/usr/bin/env bash
# Bad input to the command line: each case must exit non-zero with one line on stderr that
# names the file, the line where there is one, and the problem; and must not leave a snapshot.
set -u
BIN=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fails=0 passes=0

printf 'u1\tt1\t100\nu1\tb1\t100\nu2\tt2\t100\nu2\tb2\t100\n' > "$work/good.tsv"
printf '{"name":"m","baselines":["b1","b2"],"target":null,"lookback_days":0}' > "$work/model.json"

# expect NAME EXIT-CODE REGEX -- command…
expect() {
  local name=$1 code=$2 re=$3
  shift 4
  "$@" >"$work/out" 2>"$work/err"
  local got=$?
  local lines
  lines=$(wc -l <"$work/err")
  if [ "$got" -eq "$code" ] && grep -Eq -e "$re" "$work/err" && [ "$lines" -eq 1 ]; then
    passes=$((passes + 1))
    echo "ok   $name"
  else
    fails=$((fails + 1))
    echo "FAIL $name: exit $got (want $code), stderr:" && cat "$work/err"
  fi
}

printf 'u1\tt1\t100\nu1\tt2\n' > "$work/two_fields.tsv"
expect "line with two fields" 1 "two_fields.tsv:2: expected 3 tab-separated fields" -- \
  "$BIN" train --events "$work/two_fields.tsv" --model "$work/model.json" --out "$work/s1"
printf 'u1\tt1\t100\nu1\tt2\tyesterday\n' > "$work/bad_ts.tsv"
expect "bad timestamp" 1 "bad_ts.tsv:2: timestamp 'yesterday' is not unix seconds" -- \
  "$BIN" train --events "$work/bad_ts.tsv" --model "$work/model.json" --out "$work/s2"
printf 'u1\tt1\t100\n{"uuid":"u2","trait":7}\n' > "$work/bad_json.tsv"
expect "JSON line without ts" 1 'bad_json.tsv:2: "ts" is missing' -- \
  "$BIN" train --events "$work/bad_json.tsv" --model "$work/model.json" --out "$work/s3"
expect "missing events file" 1 "nope.tsv: cannot open" -- \
  "$BIN" train --events "$work/nope.tsv" --model "$work/model.json" --out "$work/s4"
expect "unknown option" 2 "unknown option '--evnets'" -- \
  "$BIN" train --evnets "$work/good.tsv" --model "$work/model.json" --out "$work/s5"
expect "missing required option" 2 "--events, --model and --out are required" -- \
  "$BIN" train --model "$work/model.json" --out "$work/s6"
printf '{"name":"m","baselines":["b1"],"target":null}' > "$work/one.json"
expect "one baseline" 1 "one.json: a model needs 2 to 50 baselines; this one has 1" -- \
  "$BIN" train --events "$work/good.tsv" --model "$work/one.json" --out "$work/s7"
printf '{"name":"m","baselines":["b1","b2"],"colour":"red"}' > "$work/unknown.json"
expect "unknown model field" 1 'unknown.json: model: unknown field "colour"' -- \
  "$BIN" train --events "$work/good.tsv" --model "$work/unknown.json" --out "$work/s8"
printf '{"name":"m","baselines":["b1","b2"' > "$work/broken.json"
expect "broken model JSON" 1 "broken.json: model: invalid JSON near character" -- \
  "$BIN" train --events "$work/good.tsv" --model "$work/broken.json" --out "$work/s9"
printf '{"name":"m","baselines":["zz1","zz2"],"target":null,"lookback_days":0}' > "$work/absent.json"
expect "baselines nobody has" 1 "no visitor qualifies for any baseline" -- \
  "$BIN" train --events "$work/good.tsv" --model "$work/absent.json" --out "$work/s10"
cat > "$work/catalog.json" <<'JSON'
{"data_sources": [{"id": "web"}],
 "traits": [{"id": "b1", "data_source": "web"}, {"id": "b2", "data_source": "web", "party": "third"},
            {"id": "t1", "data_source": "web"}, {"id": "t2", "data_source": "web"}]}
JSON
expect "third-party baseline" 1 "baseline 'b2' is a third-party trait" -- \
  "$BIN" train --events "$work/good.tsv" --model "$work/model.json" --catalog "$work/catalog.json" --out "$work/s11"
printf 'not a snapshot at all' > "$work/foreign.bin"
expect "foreign snapshot" 1 "foreign.bin: not a personae snapshot" -- \
  "$BIN" inspect "$work/foreign.bin"
expect "unknown command" 2 "unknown command 'trian'" -- "$BIN" trian

# A truncated snapshot is refused with a reason, and train never leaves half a file behind.
gen_dir="$work/gen"
"$BIN" gen --users 400 --personas 3 --traits 60 --seed 2 --out "$gen_dir" >/dev/null
"$BIN" train --events "$gen_dir/events.tsv" --model "$gen_dir/model.json" --out "$work/snap" >/dev/null
head -c 100 "$work/snap" > "$work/cut"
expect "truncated snapshot" 1 "cut: snapshot is truncated" -- "$BIN" inspect "$work/cut"
for s in s1 s2 s3 s4 s5 s6 s7 s8 s9 s10 s11; do
  if [ -e "$work/$s" ] || [ -e "$work/$s.tmp" ]; then fails=$((fails + 1)); echo "FAIL $s left a file behind"; fi
done

echo "$passes passed, $fails failed"
[ "$fails" -eq 0 ]
