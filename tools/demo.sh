#!/usr/bin/env bash
# Installs everything, builds, creates the all-in-one demo deployment (SQLite, software crypto
# device, demo CA hierarchy, CA + RA under ./demo-home, its key management centre under
# ./demo-home-km) unless it exists, and runs both gmpki-server processes; Ctrl-C stops them.
# The CA's certificates and CRLs are published to a local OpenLDAP master (slapd, generated
# configuration under ./demo-home/ldap) that pushes them to a replica.
# Override the addresses with GMPKI_LISTEN / GMPKI_HTTP_LISTEN / GMPKI_KM_LISTEN /
# GMPKI_LDAP_PORT / GMPKI_LDAP_REPLICA_PORT.
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
LDAP_PORT=${GMPKI_LDAP_PORT:-3890}
LDAP_REPLICA_PORT=${GMPKI_LDAP_REPLICA_PORT:-3891}
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
# The directory: master and replica (push replication), started now; gmpki.toml gets the
# [directory] section once (no secret in it: the password stays in a 0600 file).
if grep -q '^\[directory\]' "$HOME_DIR/gmpki.toml"; then
  bash tools/ldap/slapd-instance.sh start "$HOME_DIR/ldap/replica"
  bash tools/ldap/slapd-instance.sh start "$HOME_DIR/ldap/master"
else
  bash tools/ldap/slapd-instance.sh up "$HOME_DIR/ldap" "$LDAP_PORT" "$LDAP_REPLICA_PORT" >> "$HOME_DIR/gmpki.toml"
fi
"$BIN/gmpki-server" --home "$KM_HOME" &
KM_PID=$!
trap 'kill $KM_PID 2>/dev/null; wait $KM_PID 2>/dev/null; bash tools/ldap/slapd-instance.sh down "$HOME_DIR/ldap"' EXIT
echo "CLI:    $BIN/gmpki --home $HOME_DIR ca list"
echo "TLS CA: $HOME_DIR/tls/ca.pem   operator credentials: $HOME_DIR/demo/operators/"
echo "KM:     https://$KM_LISTEN (home $KM_HOME); dual certificates: $BIN/gmpki --home $HOME_DIR cert issue-enc --help"
echo "OCSP:   openssl ocsp -url http://$HTTP_LISTEN/ocsp -issuer CA.pem -cert CERT.pem -noverify -resp_text"
echo "LDAP:   ldapsearch -x -H ldap://127.0.0.1:$LDAP_REPLICA_PORT/ -b ou=CAs,dc=gmpki,dc=test -LLL cn (replica)"
"$BIN/gmpki-server" --home "$HOME_DIR"
