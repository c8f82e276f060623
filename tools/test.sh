#!/usr/bin/env bash
# Installs everything, builds, and runs every test: first the release build, then the debug
# build with AddressSanitizer and UndefinedBehaviorSanitizer over the same suite. This is the
# README's test command and the only thing .ci/run calls.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/install-deps.sh
jobs=$(nproc)
for preset in release debug; do
  echo "== $preset: build"
  cmake --preset "$preset" >/dev/null
  cmake --build --preset "$preset" -j"$jobs"
  echo "== $preset: test"
  ctest --preset "$preset" -j"$jobs" --output-junit "$PWD/build/$preset/ctest-junit.xml"
done
