#!/usr/bin/env bash
# Every test: the release build (unit, command line on real data, server over HTTP, benchmarks
# run small), the same tests under AddressSanitizer + UndefinedBehaviorSanitizer, the server's
# under ThreadSanitizer, the fuzz targets,
# the WebAssembly scorer, and the web demo in headless Chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
jobs=$(nproc)

echo "== wasm build (the server's /event test checks its answers against the WebAssembly scorer)"
NODE_PATH=/usr/share/nodejs emcmake cmake -S . -B build/wasm -DCMAKE_BUILD_TYPE=Release >/dev/null
NODE_PATH=/usr/share/nodejs cmake --build build/wasm -j"$jobs"

echo "== release build"
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build/release -j"$jobs"
ctest --test-dir build/release --output-on-failure -j"$jobs"

echo "== AddressSanitizer + UndefinedBehaviorSanitizer"
cmake -S . -B build/asan -DCMAKE_BUILD_TYPE=Debug -DPN_SANITIZE=ON >/dev/null
cmake --build build/asan -j"$jobs"
ASAN_OPTIONS=detect_leaks=1 ctest --test-dir build/asan --output-on-failure -j"$jobs" -E '^bench/'

echo "== ThreadSanitizer: the server's unit tests and its tests over HTTP"
cmake -S . -B build/tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang -DPN_TSAN=ON >/dev/null
cmake --build build/tsan -j"$jobs"
# reports go to files rather than to the servers' logs, which the tests delete: any report fails
rm -f build/tsan/race.*
TSAN_OPTIONS="log_path=$PWD/build/tsan/race second_deadlock_stack=1" \
  ctest --test-dir build/tsan --output-on-failure -j"$jobs" -R '^(unit/server|server)/'
if compgen -G "build/tsan/race.*" >/dev/null; then
  cat build/tsan/race.*
  echo "ThreadSanitizer reported the above"
  exit 1
fi

echo "== fuzz targets (libFuzzer, clang)"
cmake -S . -B build/fuzz -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_COMPILER=clang -DPN_FUZZ=ON >/dev/null
cmake --build build/fuzz -j"$jobs"
ctest --test-dir build/fuzz --output-on-failure -j"$jobs" -R '^fuzz/'

if [ -x scripts/test-wasm.sh ]; then
  echo "== WebAssembly build, conformance, parity, memory and JavaScript tests"
  scripts/test-wasm.sh
fi

if [ -x scripts/test-browser.sh ]; then
  echo "== web demo in headless Chromium"
  scripts/test-browser.sh
fi
