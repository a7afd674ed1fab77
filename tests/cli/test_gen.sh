#!/bin/bash
# `personae gen` on small audiences: determinism, file formats, the known/held-out split, realism
# markers, option errors, and (when Debian's python3-sklearn is there) the scikit-learn peers.
# usage: test_gen.sh PERSONAE_BINARY SOURCE_DIR
set -u
BIN=${1:?usage: test_gen.sh PERSONAE_BINARY SOURCE_DIR}
SRC=${2:?usage: test_gen.sh PERSONAE_BINARY SOURCE_DIR}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
FAILED=0

ok() { echo "ok   - $*"; }
fail() { echo "FAIL - $*"; FAILED=1; }
check() { # check DESCRIPTION COMMAND...
    local what=$1
    shift
    if "$@"; then ok "$what"; else fail "$what"; fi
}

AS_OF=1767225600
USERS=3000
PERSONAS=5
gen() { "$BIN" gen --users $USERS --personas $PERSONAS --traits 600 --as-of $AS_OF "$@" >/dev/null; }

echo "# determinism"
check "generates a task folder" gen --seed 7 --out "$TMP/a"
if [ ! -s "$TMP/a/events.tsv" ] || [ ! -s "$TMP/a/model.json" ]; then
    echo "test_gen: FAILED (no task written, nothing else to check)"
    exit 1
fi
check "creates missing parent folders" gen --seed 7 --out "$TMP/b/c/d"
for f in events.tsv model.json truth.tsv; do
    check "same seed gives byte-identical $f" cmp -s "$TMP/a/$f" "$TMP/b/c/d/$f"
done
gen --seed 8 --out "$TMP/other"
check "another seed gives other events" bash -c "! cmp -s '$TMP/a/events.tsv' '$TMP/other/events.tsv'"
check "--name=value works like --name value" \
    bash -c "'$BIN' gen --users=$USERS --personas=$PERSONAS --traits=600 --as-of=$AS_OF --seed=7 --out='$TMP/eq' >/dev/null && cmp -s '$TMP/a/events.tsv' '$TMP/eq/events.tsv'"

D=$TMP/a
echo "# formats"
check "model.json names $PERSONAS persona baselines, no target, lookback 0" awk -v want=$PERSONAS '
    /"persona:[a-z0-9-]+"/ { n++ }
    /"target": null/ { t = 1 }
    /"lookback_days": 0/ { l = 1 }
    END { exit !(n == want && t && l) }' "$D/model.json"
if command -v python3 >/dev/null 2>&1; then
    check "model.json is valid JSON with the task fields" python3 -c '
import json, sys
m = json.load(open(sys.argv[1]))
assert set(m) == {"name", "baselines", "target", "lookback_days"}, m
assert isinstance(m["name"], str) and m["target"] is None and m["lookback_days"] == 0
assert len(m["baselines"]) == len(set(m["baselines"])) == int(sys.argv[2])' "$D/model.json" $PERSONAS
fi
grep -o '"persona:[a-z0-9-]*"' "$D/model.json" | tr -d '"' >"$TMP/baselines"

check "events.tsv lines are uuid<TAB>trait<TAB>ts within the 60 days before --as-of" awk -F'\t' -v as_of=$AS_OF '
    NF != 3 || length($1) != 16 || $1 !~ /^[0-9a-f]+$/ { bad++ }
    $2 !~ /^(page|category|product|search|campaign|video|persona):[a-z0-9-]+$/ { bad++ }
    $3 !~ /^[0-9]+$/ || $3 + 0 < as_of - 60 * 86400 || $3 + 0 >= as_of { bad++ }
    END { if (bad) print "  " bad " bad lines"; exit !(NR > 0 && !bad) }' "$D/events.tsv"
check "truth.tsv lines are uuid<TAB>baseline of model.json" awk -F'\t' '
    FNR == NR { base[$1] = 1; next }
    NF != 2 || length($1) != 16 || !($2 in base) { bad++ }
    END { exit !(FNR > 0 && !bad) }' "$TMP/baselines" "$D/truth.tsv"
check "each visitor's events are in time order" awk -F'\t' '
    $1 == u && $3 + 0 < t { bad++ } { u = $1; t = $3 + 0 } END { exit !!bad }' "$D/events.tsv"

echo "# known and held-out visitors"
# One pass: per visitor, baseline count, first activity and baseline time.
awk -F'\t' '
    FNR == NR { truth[$1] = $2; next }
    $2 ~ /^persona:/ { nb[$1]++; bts[$1] = $3 + 0; label[$1] = $2; next }
    { n[$1]++; if (!($1 in first) || $3 + 0 < first[$1]) first[$1] = $3 + 0 }
    END {
        for (u in truth) { held++; if (nb[u]) truth_with_baseline++; if (!(u in n)) truth_without_events++ }
        for (u in n) {
            users++
            if (!(u in truth) && nb[u] != 1) known_not_one++
            if (nb[u] && bts[u] < first[u]) baseline_early++
            if (n[u] <= 3) short++
            if (n[u] > max) max = n[u]
            total += n[u]
        }
        for (u in label) size[label[u]]++
        for (u in truth) size[truth[u]]++
        big = 0; small = -1
        for (p in size) { if (size[p] > big) big = size[p]; if (small < 0 || size[p] < small) small = size[p] }
        printf "users %d held %d truth_with_baseline %d truth_without_events %d known_not_one %d baseline_early %d short %d max %d mean %.1f ratio %.1f\n",
            users, held, truth_with_baseline + 0, truth_without_events + 0, known_not_one + 0, baseline_early + 0,
            short + 0, max, total / users, big / small
    }' "$D/truth.tsv" "$D/events.tsv" >"$TMP/stats"
read -r _ users _ held _ twb _ twe _ kno _ early _ short _ max _ mean _ ratio <"$TMP/stats"
echo "  $(cat "$TMP/stats")"
check "every visitor has events ($users of $USERS)" test "$users" -eq $USERS
check "40% held out by default ($held of $USERS)" test "$held" -eq $((USERS * 4 / 10))
check "held-out visitors carry no baseline trait" test "$twb" -eq 0
check "held-out visitors have events" test "$twe" -eq 0
check "known visitors carry exactly one baseline trait" test "$kno" -eq 0
check "baselines are realized at or after first activity" test "$early" -eq 0
check "every persona appears in truth.tsv" bash -c \
    "test \"\$(cut -f2 '$D/truth.tsv' | sort -u | wc -l)\" -eq $PERSONAS"
check "heavy tail: some visitors with 1-3 events ($short), one with 10x the mean ($max)" \
    awk -v s="$short" -v m="$max" -v mean="$mean" 'BEGIN { exit !(s > 0 && m > 10 * mean) }'
check "mean events per visitor near 50 ($mean)" awk -v m="$mean" 'BEGIN { exit !(m > 45 && m < 55) }'
check "persona sizes are imbalanced (largest/smallest $ratio)" awk -v r="$ratio" 'BEGIN { exit !(r >= 3) }'
check "the same trait is realized repeatedly by a visitor" bash -c \
    "cut -f1,2 '$D/events.tsv' | sort | uniq -d | grep -q ."
check "--known-fraction 0.75 holds out a quarter" bash -c \
    "'$BIN' gen --users 1000 --personas 3 --traits 100 --known-fraction 0.75 --out '$TMP/kf' >/dev/null && test \$(wc -l <'$TMP/kf/truth.tsv') -eq 250"
check "--events-per-user 1 gives one event per visitor" bash -c \
    "'$BIN' gen --users 50 --personas 2 --traits 8 --events-per-user 1 --known-fraction 0 --out '$TMP/one' >/dev/null && test \$(wc -l <'$TMP/one/events.tsv') -eq 50"

echo "# options"
expect() { # expect STATUS DESCRIPTION ARGS...
    local want=$1 what=$2
    shift 2
    "$BIN" gen "$@" >"$TMP/out" 2>"$TMP/err"
    local got=$?
    if [ "$got" -eq "$want" ]; then ok "$what: exit $got"; else fail "$what: exit $got, expected $want"; cat "$TMP/err"; fi
}
expect 0 "--help" --help
check "--help prints usage to stdout" grep -q '^usage: personae gen' "$TMP/out"
expect 2 "unknown option" --users 10 --frobnicate 1 --out "$TMP/x"
check "unknown option prints usage to stderr" grep -q '^usage: personae gen' "$TMP/err"
expect 2 "missing --out" --users 10
expect 2 "stray argument" --users 10 --out "$TMP/x" extra
expect 2 "option without value" --out "$TMP/x" --users
expect 2 "--users 0" --users 0 --out "$TMP/x"
expect 2 "--users not a number" --users ten --out "$TMP/x"
expect 2 "--personas 1" --personas 1 --out "$TMP/x"
expect 2 "--personas 51" --personas 51 --out "$TMP/x"
expect 2 "--traits below 4 per persona" --personas 10 --traits 39 --out "$TMP/x"
expect 2 "--seed negative" --seed -1 --out "$TMP/x"
expect 2 "--seed above 2^64-1" --seed 18446744073709551616 --out "$TMP/x"
expect 0 "--seed 2^64-1" --users 5 --seed 18446744073709551615 --out "$TMP/x"
expect 2 "--events-per-user 0.5" --events-per-user 0.5 --out "$TMP/x"
expect 2 "--known-fraction 1.5" --known-fraction 1.5 --out "$TMP/x"
expect 2 "--known-fraction not a number" --known-fraction half --out "$TMP/x"
expect 2 "--as-of before 60 days of history" --as-of 1000 --out "$TMP/x"
expect 1 "unwritable --out" --users 5 --out /dev/null/task
check "the error names the folder" grep -q '/dev/null/task' "$TMP/err"

echo "# scikit-learn peers"
TASK=$SRC/../shared/bench/personas_task.py
if [ -x /usr/bin/python3 ] && [ -f "$TASK" ] && /usr/bin/python3 -c 'import sklearn, scipy' 2>/dev/null; then
    "$BIN" gen --users 5000 --personas 6 --traits 2000 --seed 1 --out "$TMP/peers" >/dev/null
    if /usr/bin/python3 "$TASK" peers "$TMP/peers" >"$TMP/peers.txt"; then
        sed 's/^/  /' "$TMP/peers.txt"
        # Learnable but not trivial: the best peer beats chance (1/6) clearly and stays below 97%.
        check "peers learn something, but not everything" awk '
            { for (i = 1; i < NF; i++) if ($i == "accuracy" && $(i + 1) > best) best = $(i + 1) }
            END { exit !(best > 0.35 && best < 0.97) }' "$TMP/peers.txt"
    else
        fail "personas_task.py peers could not read the task"
    fi
else
    echo "skip - /usr/bin/python3 with sklearn or $TASK not found"
fi

if [ $FAILED -ne 0 ]; then
    echo "test_gen: FAILED"
    exit 1
fi
echo "test_gen: all passed"
