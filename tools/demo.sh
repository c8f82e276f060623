#!/usr/bin/env bash
# Installs everything, builds, creates the all-in-one demo deployment (SQLite, software crypto
# device, demo CA hierarchy, CA + RA under ./demo-home, its key management centre under
# ./demo-home-km) unless it exists, and runs both gmpki-server processes; Ctrl-C stops them.
# Override the addresses with GMPKI_LISTEN / GMPKI_HTTP_LISTEN / GMPKI_KM_LISTEN.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release -j"$(nproc)" --target gmpki gmpki-server
HOME_DIR=${GMPKI_DEMO_HOME:-$PWD/demo-home}
KM_HOME=${GMPKI_DEMO_KM_HOME:-$HOME_DIR-km}
LISTEN=${GMPKI_LISTEN:-127.0.0.1:8443}
HTTP_LISTEN=${GMPKI_HTTP_LISTEN:-127.0.0.1:8080}
KM_LISTEN=${GMPKI_KM_LISTEN:-127.0.0.1:8444}
KM_HTTP_LISTEN=${GMPKI_KM_HTTP_LISTEN:-127.0.0.1:8081}
BIN=$PWD/build/release/apps
if [ ! -f "$HOME_DIR/gmpki.toml" ]; then
  "$BIN/gmpki" init --home "$HOME_DIR" --demo --listen "$LISTEN" --http-listen "$HTTP_LISTEN"
fi
# The key management centre is a home of its own (its own database and device, KM-01); the CA
# node is attached to it once, by mutual TLS.
if [ ! -f "$KM_HOME/gmpki.toml" ]; then
  "$BIN/gmpki" init --home "$KM_HOME" --demo --roles km --listen "$KM_LISTEN" --http-listen "$KM_HTTP_LISTEN"
  "$BIN/gmpki" --home "$HOME_DIR" km-link request --name demo-ca-node --out "$KM_HOME/demo/ca-link-request.json"
  "$BIN/gmpki" --home "$KM_HOME" km ca enrol --request "$KM_HOME/demo/ca-link-request.json" \
    --out "$KM_HOME/demo/ca-link-response.json"
  "$BIN/gmpki" --home "$HOME_DIR" km-link import --response "$KM_HOME/demo/ca-link-response.json" \
    --url "https://$KM_LISTEN"
fi
"$BIN/gmpki-server" --home "$KM_HOME" &
KM_PID=$!
trap 'kill $KM_PID 2>/dev/null; wait $KM_PID 2>/dev/null' EXIT
echo "CLI:    $BIN/gmpki --home $HOME_DIR ca list"
echo "TLS CA: $HOME_DIR/tls/ca.pem   operator credentials: $HOME_DIR/demo/operators/"
echo "KM:     https://$KM_LISTEN (home $KM_HOME); dual certificates: $BIN/gmpki --home $HOME_DIR cert issue-enc --help"
"$BIN/gmpki-server" --home "$HOME_DIR"
