#!/usr/bin/env bash
# Installs everything, builds, creates the all-in-one demo deployment (SQLite, software crypto
# device, demo CA hierarchy) under ./demo-home unless it exists, and runs gmpki-server in the
# foreground. Ctrl-C stops it. Override the addresses with GMPKI_LISTEN / GMPKI_HTTP_LISTEN.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release -j"$(nproc)" --target gmpki gmpki-server
HOME_DIR=${GMPKI_DEMO_HOME:-$PWD/demo-home}
LISTEN=${GMPKI_LISTEN:-127.0.0.1:8443}
HTTP_LISTEN=${GMPKI_HTTP_LISTEN:-127.0.0.1:8080}
BIN=$PWD/build/release/apps
if [ ! -f "$HOME_DIR/gmpki.toml" ]; then
  "$BIN/gmpki" init --home "$HOME_DIR" --demo --listen "$LISTEN" --http-listen "$HTTP_LISTEN"
fi
echo "CLI:    $BIN/gmpki --home $HOME_DIR ca list"
echo "TLS CA: $HOME_DIR/tls/ca.pem   operator credentials: $HOME_DIR/demo/operators/"
exec "$BIN/gmpki-server" --home "$HOME_DIR"
