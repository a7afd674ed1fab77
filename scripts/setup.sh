#!/usr/bin/env bash
# Installs the Debian packages personae builds, tests and benchmarks with, when any is missing.
# Idempotent: a machine that has them all is left alone (no apt-get update, no network).
set -euo pipefail

packages=(
  build-essential cmake pkg-config   # the one CMake build
  libcjson-dev libxxhash-dev         # JSON and hashing for the core
  libcmocka-dev                      # unit test runner
  clang libclang-rt-14-dev           # sanitizers and libFuzzer targets
  python3 python3-sklearn time       # the scikit-learn peers of the benchmarks; peak memory
  python3-xxhash                     # the server tests read the event log's checksums
  emscripten node-acorn nodejs node-typescript  # the WebAssembly scorer, its JavaScript tests and types
  libhttp-parser-dev libsqlite3-dev nettle-dev  # the server: HTTP parsing, its embedded store, key hashing
  wrk                                # the load benchmark of /event
  chromium curl                      # the demo: its browser test, and the seeding of its store
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
