#!/usr/bin/env bash
# Installs everything, builds, and runs every test. This is the README's test command and the
# only thing .ci/run calls.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release -j"$(nproc)"
ctest --preset release -j"$(nproc)" --output-junit "$PWD/build/release/ctest-junit.xml"
