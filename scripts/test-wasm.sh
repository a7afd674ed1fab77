#!/usr/bin/env bash
# The WebAssembly scorer: build it with Emscripten from the same CMake build, hold it to its size
# budget, run the JavaScript tests (conformance cases, API, memory, edge worker, API parity with
# the C header), diff its predictions files against native ones, and run its benchmark small.
# Called by scripts/test.sh after the native tests (it uses build/release's `personae`).
set -euo pipefail
cd "$(dirname "$0")/.."
export NODE_PATH=/usr/share/nodejs # Debian's emscripten finds acorn there
jobs=$(nproc)

if [ ! -x build/release/personae ] || [ ! -x build/release/tests/bench_score ]; then
  cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build build/release -j"$jobs"
fi

echo "== wasm build (emcmake)"
emcmake cmake -S . -B build/wasm -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build/wasm -j"$jobs"

echo "== size budget: .wasm + JavaScript wrapper, gzipped, under 60 KiB"
total=0
for f in wasm/dist/personae.wasm wasm/personae.mjs wasm/node.mjs wasm/src/*.mjs; do
  n=$(gzip -9c "$f" | wc -c)
  printf '  %-28s %6d bytes gzipped\n' "$f" "$n"
  total=$((total + n))
done
echo "  total                        $total bytes (budget 61440)"
[ "$total" -lt 61440 ] || { echo "FAIL: over the 60 KiB budget" >&2; exit 1; }

if command -v tsc >/dev/null; then
  echo "== TypeScript declarations"
  (cd wasm && tsc --noEmit --strict --target es2022 --module node16 --moduleResolution node16 --lib es2022,dom test/types.check.ts)
fi

echo "== JavaScript tests (node --test)"
node --test wasm/test/*.test.mjs

echo "== parity: personae-wasm classify against native personae classify"
tests/parity/test_wasm_parity.sh build/release/personae "$PWD"

echo "== wasm benchmark (small)"
node tests/bench/bench_wasm.mjs --small --personae build/release/personae --bench-score build/release/tests/bench_score
