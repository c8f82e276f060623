#!/usr/bin/env bash
# ctest: e2e_demo
# req: HI-01, CA-02, CA-03, CA-04, CC-FAU, CC-FIA, CC-FTP, CC-FPR
#
# End to end as a user would do it, with independent tools as the other side: `gmpki init
# --demo`, a CSR from the OpenSSL CLI, issue / export / revoke / CRL / CTL from the gmpki CLI,
# verification by Bouncy Castle (bc-verify, which applies the GM/T ID everywhere) and by
# OpenSSL where OpenSSL 3.0 can, then gmpki-server with curl over mutual TLS and plain HTTP,
# and finally a tampered audit log that `gmpki audit verify` must catch.
set -euo pipefail
BUILD=${1:?usage: e2e_demo.sh BUILD_DIR}
GMPKI=$BUILD/apps/gmpki
SERVER=$BUILD/apps/gmpki-server
BC=$BUILD/bc-verify
SRC=$(cd "$(dirname "$0")/../.." && pwd)
T=$(mktemp -d /tmp/gmpki-e2e.XXXXXX)
SERVER_PID=
cleanup() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then kill "$SERVER_PID"; wait "$SERVER_PID" || true; fi
  [ -d "$T/ldap" ] && bash "$SRC/tools/ldap/slapd-instance.sh" down "$T/ldap" >/dev/null 2>&1
  rm -rf "$T"
}
trap cleanup EXIT
pass=0
ok() { pass=$((pass + 1)); echo "ok $pass - $*"; }
fail() { echo "FAIL: $*" >&2; exit 1; }
expect_rc() {  # expect_rc CODE DESCRIPTION -- command...
  local want=$1 desc=$2; shift 3
  set +e; "$@" >"$T/out" 2>"$T/err"; local rc=$?; set -e
  [ "$rc" = "$want" ] || { cat "$T/out" "$T/err" >&2; fail "$desc: exit $rc, wanted $want"; }
  ok "$desc"
}
H=$T/home
cd "$T"

"$GMPKI" init --home "$H" --demo --listen 127.0.0.1:0 --http-listen 127.0.0.1:0 >/dev/null
ok "init --demo"
"$GMPKI" --home "$H" ca list --json > cas.json
python3 - cas.json <<'PY' || fail "ca list --json depths"
import json, sys
cas = {c["name"]: c for c in json.load(open(sys.argv[1]))}
assert cas["root-ca"]["depth"] == 0 and cas["industry-ca"]["depth"] == 1 and cas["ministry-ca"]["depth"] == 2, cas
assert all(c["status"] == "active" for c in cas.values())
PY
ok "ca list --json gives the hierarchy with depths"
"$GMPKI" --home "$H" profile list --json | python3 -c '
import json, sys
names = {p["name"] for p in json.load(sys.stdin)}
need = {"personal-sign", "personal-enc", "organization-sign", "organization-enc", "device-sign", "device-enc"}
assert need <= names, names' || fail "profile list"
ok "profile list --json has the six GM/T 0015 profiles"

# A subscriber key and CSR made by OpenSSL with the GM/T ID.
openssl genpkey -algorithm SM2 -out user.key 2>/dev/null
openssl req -new -key user.key -sm3 -sigopt distid:1234567812345678 -subj "/C=CN/O=MOHRSS/CN=Zhang San" -out user.csr
"$GMPKI" --home "$H" cert issue --ca ministry-ca --profile personal-sign --csr user.csr --out user.pem \
  --resident-id 11010519491231002X --json > issued.json
SERIAL=$(python3 -c 'import json; print(json.load(open("issued.json"))["serial"])')
openssl x509 -in user.pem -noout -text > user.txt
grep -q "SM2-with-SM3" user.txt && grep -q "CRL Distribution Points" user.txt || fail "openssl x509 -text"
ok "issued $SERIAL; OpenSSL parses it"
"$GMPKI" --home "$H" cert export --ca ministry-ca --serial "$SERIAL" --chain --out chain.pem >/dev/null
awk '/BEGIN CERT/{n++} {print > ("c" n ".pem")}' chain.pem
[ "$(grep -c 'BEGIN CERT' chain.pem)" = 4 ] || fail "chain has 4 certificates"
"$BC" chain --anchor c4.pem --untrusted c3.pem --untrusted c2.pem c1.pem >/dev/null || fail "bc-verify 4-level chain"
ok "Bouncy Castle verifies the 4-level chain root -> industry -> business -> end entity"
openssl verify -partial_chain -CAfile c2.pem -vfyopt distid:1234567812345678 c1.pem >/dev/null || fail "openssl verify leaf"
ok "OpenSSL verifies the leaf's SM2 signature with -vfyopt distid"
"$BC" chain --anchor c4.pem c4.pem >/dev/null || fail "root self-signature"
ok "Bouncy Castle verifies the root's self-signature"
# OpenSSL 3.0 checks an intermediate with the empty ID: the full chain must fail there (STANDARDS-NOTES §8.1).
if openssl verify -CAfile c4.pem -untrusted <(cat c3.pem c2.pem) -vfyopt distid:1234567812345678 c1.pem >/dev/null 2>&1; then
  fail "OpenSSL 3.0 unexpectedly verified an SM2 intermediate"
fi
ok "OpenSSL 3.0 cannot check the intermediates (empty-ID rule), as documented"

# Bad input: a CSR signed with OpenSSL's default empty ID, an unknown profile, unknown serial.
openssl req -new -key user.key -sm3 -subj "/C=CN/CN=No ID" -out noid.csr
BEFORE=$("$GMPKI" --home "$H" cert search --ca ministry-ca --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
expect_rc 2 "CSR without the GM/T ID is refused (bad-signature)" -- "$GMPKI" --home "$H" cert issue --ca ministry-ca --profile personal-sign --csr noid.csr --out x.pem
grep -q "bad-signature" "$T/err" || fail "message names bad-signature"
expect_rc 2 "unknown profile is refused" -- "$GMPKI" --home "$H" cert issue --ca ministry-ca --profile nope --csr user.csr --out x.pem
grep -q "unknown-profile" "$T/err" || fail "message names unknown-profile"
AFTER=$("$GMPKI" --home "$H" cert search --ca ministry-ca --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
[ "$BEFORE" = "$AFTER" ] && [ ! -e x.pem ] || fail "a refused request changed something"
ok "refused requests changed nothing"
expect_rc 3 "unknown serial is not-found" -- "$GMPKI" --home "$H" cert revoke --ca ministry-ca --serial 0123456789ABCDEF --reason keyCompromise
expect_rc 5 "an audit administrator may not issue" -- "$GMPKI" --home "$H" --operator op-audit-admin cert issue --ca ministry-ca --profile personal-sign --csr user.csr --out x.pem

# Revocation, CRLs, CTL.
"$GMPKI" --home "$H" cert revoke --ca ministry-ca --serial "$SERIAL" --reason keyCompromise >/dev/null
expect_rc 4 "revoking twice is a conflict" -- "$GMPKI" --home "$H" cert revoke --ca ministry-ca --serial "$SERIAL" --reason keyCompromise
"$GMPKI" --home "$H" crl issue --ca ministry-ca --out full.crl >/dev/null
"$BC" crl --issuer c2.pem full.crl > crl.json || fail "bc-verify crl"
ok "Bouncy Castle verifies the full CRL"
if "$BC" chain --anchor c4.pem --untrusted c3.pem --untrusted c2.pem c1.pem --crl full.crl >/dev/null 2>&1; then
  fail "revoked certificate passed path validation with the CRL"
fi
ok "the revoked certificate fails path validation with the CRL"
"$GMPKI" --home "$H" cert hold --ca ministry-ca --serial "$(openssl x509 -in c2.pem -noout -serial | cut -d= -f2)" >/dev/null 2>&1 && fail "held a CA cert through the wrong CA" || true
openssl req -new -key user.key -sm3 -sigopt distid:1234567812345678 -subj "/C=CN/O=MOHRSS/CN=Li Si" -out li.csr
"$GMPKI" --home "$H" cert issue --ca ministry-ca --profile personal-sign --csr li.csr --out li.pem --json > li.json
LI=$(python3 -c 'import json; print(json.load(open("li.json"))["serial"])')
"$GMPKI" --home "$H" cert hold --ca ministry-ca --serial "$LI" >/dev/null
"$GMPKI" --home "$H" crl issue --ca ministry-ca --delta --out delta.crl >/dev/null
openssl crl -in delta.crl -noout -text | grep -q "Delta CRL Indicator" || fail "delta CRL indicator"
"$BC" crl --issuer c2.pem delta.crl | grep -q '"delta_base"' || fail "bc-verify delta CRL"
ok "delta CRL lists the hold and verifies"
"$GMPKI" --home "$H" ctl issue --ca industry-ca --days 30 --out ctl.pem >/dev/null
awk '/^-----BEGIN /{f=1; next} /^-----END /{f=0} f' ctl.pem | base64 -d > ctl.der
"$BC" signed --issuer c3.pem ctl.der >/dev/null || fail "bc-verify CTL"
"$GMPKI" --home "$H" ctl issue --ca industry-ca --days 30 --format der --out ctl2.der >/dev/null
"$BC" signed --issuer c3.pem ctl2.der >/dev/null || fail "bc-verify CTL (DER output)"
openssl asn1parse -inform DER -in ctl.der >/dev/null || fail "asn1parse CTL"
ok "the signed trust list verifies with Bouncy Castle"

# The directory: an OpenLDAP master pushing to a replica (tools/ldap), configured in the home.
read -r LDAP_M LDAP_R < <(python3 -c 'import socket
s=[socket.socket() for _ in range(2)]
[x.bind(("127.0.0.1",0)) for x in s]
print(*[x.getsockname()[1] for x in s])')
bash "$SRC/tools/ldap/slapd-instance.sh" up "$T/ldap" "$LDAP_M" "$LDAP_R" >> "$H/gmpki.toml" || fail "slapd up"
ok "slapd master and replica started (push replication)"
# The server: HTTPS with operator client certificates, plain HTTP for CRL download.
"$SERVER" --home "$H" --listen 127.0.0.1:0 --http-listen 127.0.0.1:0 --port-file ports.json > server.log 2>&1 &
SERVER_PID=$!
for _ in $(seq 100); do [ -s ports.json ] && break; sleep 0.1; done
[ -s ports.json ] || { cat server.log; fail "server did not start"; }
HTTPS=$(python3 -c 'import json; print(json.load(open("ports.json"))["https"])')
HTTP=$(python3 -c 'import json; print(json.load(open("ports.json"))["http"])')
CA=$H/tls/ca.pem
OP=$H/demo/operators/op-ca-operator
AUD=$H/demo/operators/op-audit-admin
curl -sf --cacert "$CA" "https://127.0.0.1:$HTTPS/healthz" | grep -q '"ok"' || fail "healthz"
ok "HTTPS /healthz"
code=$(curl -s -o nocert.json -w '%{http_code} %{content_type}' --cacert "$CA" "https://127.0.0.1:$HTTPS/api/v1/cas")
[ "$code" = "401 application/problem+json" ] || fail "no client cert: got $code"
ok "the API without a client certificate is a 401 problem+json"
CURL_OP=(curl -s --cacert "$CA" --cert "$OP/cert.pem" --key "$OP/key.pem" --pass "$(cat "$OP/passphrase")")
"${CURL_OP[@]}" -f "https://127.0.0.1:$HTTPS/api/v1/cas" | python3 -c 'import json,sys; assert len(json.load(sys.stdin)) == 3' || fail "GET /api/v1/cas"
ok "an enrolled operator lists the CAs over mutual TLS"
openssl req -new -key user.key -sm3 -sigopt distid:1234567812345678 -subj "/C=CN/O=MOHRSS/CN=Wang Wu" -out ww.csr
python3 -c 'import json; print(json.dumps({"profile": "personal-sign", "csr": open("ww.csr").read()}))' > req.json
code=$("${CURL_OP[@]}" -o issued2.json -w '%{http_code}' -H 'Content-Type: application/json' --data @req.json "https://127.0.0.1:$HTTPS/api/v1/cas/ministry-ca/certificates")
[ "$code" = 201 ] || { cat issued2.json; fail "REST issue: $code"; }
python3 -c 'import json; print(json.load(open("issued2.json"))["certificate"], end="")' > ww.pem
"$BC" chain --anchor c4.pem --untrusted c3.pem --untrusted c2.pem ww.pem >/dev/null || fail "bc-verify REST-issued"
ok "REST issuance returns a certificate Bouncy Castle verifies"
# A CA created with the CLI while the server runs is usable by the server at once (the two
# processes share the key file and the database).
"$GMPKI" --home "$H" ca create --parent industry-ca --name province-a --kind business \
  --subject "C=CN,O=HRSS,OU=Province A,CN=Province A CA" --days 1000 >/dev/null
code=$("${CURL_OP[@]}" -o issued3.json -w '%{http_code}' -H 'Content-Type: application/json' --data @req.json "https://127.0.0.1:$HTTPS/api/v1/cas/province-a/certificates")
[ "$code" = 201 ] || { cat issued3.json; fail "REST issue from a CA the CLI just created: $code"; }
ok "a province CA created by the CLI issues through the running server"
code=$(curl -s -o denied.json -w '%{http_code}' --cacert "$CA" --cert "$AUD/cert.pem" --key "$AUD/key.pem" --pass "$(cat "$AUD/passphrase")" \
  -H 'Content-Type: application/json' --data @req.json "https://127.0.0.1:$HTTPS/api/v1/cas/ministry-ca/certificates")
[ "$code" = 403 ] && grep -q permission-denied denied.json || fail "audit admin issuing: $code"
ok "role separation over HTTPS: 403 problem for the audit administrator"
curl -sf "http://127.0.0.1:$HTTP/crl/ministry-ca.crl" -o dl.crl || fail "CRL download"
openssl crl -inform DER -in dl.crl -noout -text | grep -q "$SERIAL" || fail "downloaded CRL lists the revoked serial"
ok "CRL download over plain HTTP"
# OCSP (RFC 6960 / RFC 5019) at /ocsp on the plain-HTTP address, with OpenSSL as the client.
# OpenSSL 3.0 cannot check an SM2 signature under the GM/T ID, hence -noverify; the signature
# is checked by the responder's unit tests and Bouncy Castle.
AIA=$(openssl x509 -in ww.pem -noout -ocsp_uri)
# The home's public base URL (from --http-listen at init) + /ocsp.
[ "$AIA" = "$(sed -n "s/^public_base_url = '\\(.*\\)'/\\1/p" "$H/gmpki.toml")/ocsp" ] || fail "AIA names the OCSP responder (got: $AIA)"
ocsp_status() {  # $1 certificate -> "good" / "revoked" / "unknown"
  openssl ocsp -url "http://127.0.0.1:$HTTP/ocsp" -issuer c2.pem -cert "$1" -noverify -resp_text 2>/dev/null |
    sed -n 's/^ *Cert Status: \([a-z]*\).*/\1/p' | head -1
}
for _ in $(seq 50); do [ "$(ocsp_status ww.pem)" = good ] && break; sleep 0.1; done
[ "$(ocsp_status ww.pem)" = good ] || fail "OCSP: a certificate issued over REST is good"
[ "$(ocsp_status c1.pem)" = revoked ] || fail "OCSP: the revoked certificate is revoked"
openssl ocsp -url "http://127.0.0.1:$HTTP/ocsp" -issuer c2.pem -cert c1.pem -noverify -resp_text 2>/dev/null |
  grep -q "Reason: keyCompromise" || fail "OCSP: revocation reason"
OCSP_GET=$(openssl ocsp -issuer c2.pem -cert ww.pem -no_nonce -reqout - 2>/dev/null | base64 -w0 |
  python3 -c 'import sys,urllib.parse; print(urllib.parse.quote(sys.stdin.read(), safe=""))')
curl -s -D get.hdr -o get.der "http://127.0.0.1:$HTTP/ocsp/$OCSP_GET" || fail "OCSP GET"
grep -qi '^cache-control: max-age=[0-9]*, public, no-transform, must-revalidate' get.hdr || fail "OCSP GET: RFC 5019 caching headers"
openssl ocsp -respin get.der -resp_text -noverify 2>/dev/null | grep -q "Cert Status: good" || fail "OCSP GET answer"
ok "OCSP: good, revoked with reason, GET with RFC 5019 caching headers (openssl ocsp, curl)"
# Propagation (issue #6 item 5): a revocation over REST reaches OCSP and the CRL distribution
# point without any operator action; the measured latencies are printed.
S2=$(python3 -c 'import json; print(json.load(open("issued2.json"))["serial"])')
t0=$(date +%s%N)
"${CURL_OP[@]}" -sf -H 'Content-Type: application/json' --data '{"reason":"keyCompromise"}' \
  "https://127.0.0.1:$HTTPS/api/v1/cas/ministry-ca/certificates/$S2/revoke" >/dev/null || fail "REST revoke"
for _ in $(seq 100); do [ "$(ocsp_status ww.pem)" = revoked ] && break; sleep 0.05; done
[ "$(ocsp_status ww.pem)" = revoked ] || fail "OCSP: the revocation did not propagate"
t_ocsp=$(( ($(date +%s%N) - t0) / 1000000 ))
for _ in $(seq 200); do
  curl -sf "http://127.0.0.1:$HTTP/crl/ministry-ca.crl" -o dl2.crl &&
    openssl crl -inform DER -in dl2.crl -noout -text | grep -q "$S2" && break
  sleep 0.1
done
openssl crl -inform DER -in dl2.crl -noout -text | grep -q "$S2" || fail "CRL schedule: the revocation did not reach the CRL"
t_crl=$(( ($(date +%s%N) - t0) / 1000000 ))
# LDAP: the CA entry on the REPLICA carries a CRL listing the revoked serial.
replica_crl() {
  ldapsearch -x -H "ldap://127.0.0.1:$LDAP_R/" -b "cn=ministry-ca,ou=CAs,dc=gmpki,dc=test" -s base -LLL \
    -o ldif-wrap=no 'certificateRevocationList;binary' 2>/dev/null |
    sed -n 's/^certificateRevocationList;binary:: //p' | base64 -d > ldap.crl 2>/dev/null
  [ -s ldap.crl ] && openssl crl -inform DER -in ldap.crl -noout -text 2>/dev/null | grep -q "$S2"
}
for _ in $(seq 200); do replica_crl && break; sleep 0.1; done
replica_crl || fail "LDAP: the revocation did not reach the replica's CRL"
t_ldap=$(( ($(date +%s%N) - t0) / 1000000 ))
ldapsearch -x -H "ldap://127.0.0.1:$LDAP_R/" -b "ou=CAs,dc=gmpki,dc=test" -LLL -o ldif-wrap=no \
  "(uid=$S2)" 'userCertificate;binary' | grep -q '^userCertificate;binary:: ' || fail "LDAP: the certificate on the replica"
ok "revocation propagated: OCSP after ${t_ocsp} ms, CRL distribution point after ${t_crl} ms, LDAP replica after ${t_ldap} ms"
curl -sf "http://127.0.0.1:$HTTP/metrics" | grep -q http_requests_total || fail "metrics"
curl -sf --cacert "$CA" "https://127.0.0.1:$HTTPS/openapi.json" | python3 -c 'import json,sys; assert json.load(sys.stdin)["openapi"].startswith("3")' || fail "openapi"
ok "/metrics and /openapi.json"
kill -TERM "$SERVER_PID"; wait "$SERVER_PID" || fail "server exit status"
SERVER_PID=
ok "server stops cleanly on SIGTERM"

# Acknowledged data survives kill -9: issue over REST, kill the server at once, find it stored.
"$SERVER" --home "$H" --listen 127.0.0.1:0 --http-listen 127.0.0.1:0 --port-file ports2.json > server2.log 2>&1 &
SERVER_PID=$!
for _ in $(seq 100); do [ -s ports2.json ] && break; sleep 0.1; done
HTTPS=$(python3 -c 'import json; print(json.load(open("ports2.json"))["https"])')
code=$("${CURL_OP[@]}" -o issued4.json -w '%{http_code}' -H 'Content-Type: application/json' --data @req.json "https://127.0.0.1:$HTTPS/api/v1/cas/ministry-ca/certificates")
[ "$code" = 201 ] || fail "REST issue before kill -9: $code"
kill -9 "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true
SERVER_PID=
S4=$(python3 -c 'import json; print(json.load(open("issued4.json"))["serial"])')
"$GMPKI" --home "$H" cert show --ca ministry-ca --serial "$S4" --json | python3 -c 'import json,sys; assert json.load(sys.stdin)["status"] == "good"' \
  || fail "certificate acknowledged before kill -9 is missing"
ok "a certificate acknowledged before kill -9 is stored"

# The audit trail: intact, then tampered.
"$GMPKI" --home "$H" audit verify --json | python3 -c 'import json,sys; assert json.load(sys.stdin)["ok"]' || fail "audit verify"
ok "audit verify: intact"
sqlite3 "$H/gmpki.db" "SELECT detail FROM audit_records" | grep -q 11010519491231002X && fail "a resident ID number reached the audit trail in clear" || true
sqlite3 "$H/gmpki.db" "UPDATE audit_records SET actor = 'mallory' WHERE seq = 5"
expect_rc 8 "audit verify detects a changed record" -- "$GMPKI" --home "$H" audit verify
echo "$pass passed, 0 failed"
