#!/usr/bin/env bash
# The web demo in Debian's headless Chromium (tests/browser/test_demo.mjs, playwright-core from
# npm, pinned in tests/browser/package-lock.json): seeds a temporary store, serves web-demo/,
# clicks cards, checks the personas and their agreement with /event, the report's charts, the
# phone width, console errors and the click-to-bars time; screenshots go to build/browser-artifacts.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${PERSONAE:-build/release/personae}
if [ -z "${PERSONAE:-}" ]; then
  cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build build/release -j"$(nproc)" --target personae >/dev/null
fi
if [ ! -f wasm/dist/personae.wasm ]; then
  NODE_PATH=/usr/share/nodejs emcmake cmake -S . -B build/wasm -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build build/wasm >/dev/null
fi
command -v "${CHROMIUM:-/usr/bin/chromium}" >/dev/null || { echo "test-browser: /usr/bin/chromium is missing (apt package chromium; scripts/setup.sh installs it)" >&2; exit 1; }
if [ ! -d tests/browser/node_modules/playwright-core ]; then
  (cd tests/browser && npm ci --no-audit --no-fund --loglevel=error)
fi
node tests/browser/test_demo.mjs --personae "$bin" --artifacts "${ARTIFACTS:-build/browser-artifacts}"
