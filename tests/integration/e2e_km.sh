#!/usr/bin/env bash
# ctest: e2e_km
# req: KM-01, KM-03, KM-05, KM-06, KM-07, KM-08, KM-09, PF-05, CC-FCS, CC-FDP
#
# The dual-certificate system end to end, as operators would run it, on two homes on 127.0.0.1:
# the ministry (CA, demo) and its key management centre (a home of its own: its own database
# and device). The CA node is attached to the KM by mutual TLS; a subscriber with an OpenSSL SM2
# key gets a signing certificate and the paired encryption certificate, whose key comes from
# the KM enveloped to the signing key. OpenSSL alone (not gmpki) opens the envelope and derives
# the public key of the encryption certificate from the recovered private key. Then: revocation
# reaches the KM, judicial recovery under dual control (Bouncy Castle opens the package), a
# suspended CA is refused, and the KM store is backed up and restored into a fresh KM home
# rebuilt from the custodians' shares.
set -euo pipefail
BUILD=${1:?usage: e2e_km.sh BUILD_DIR}
SRC=$(cd "$(dirname "$0")/../.." && pwd)
GMPKI=$BUILD/apps/gmpki
SERVER=$BUILD/apps/gmpki-server
BC=$BUILD/bc-verify
T=$(mktemp -d /tmp/gmpki-e2e-km.XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null || true; done
  rm -rf "$T"
}
trap cleanup EXIT
pass=0
ok() { pass=$((pass + 1)); echo "ok $pass - $*"; }
fail() { echo "FAIL: $*" >&2; exit 1; }
json() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))" "$@"; }
cd "$T"
M=$T/ministry
K=$T/km
start() {  # start HOME NAME -> sets PORT_HTTPS / PORT_HTTP
  rm -f "$2.ports"
  "$SERVER" --home "$1" --listen 127.0.0.1:0 --http-listen 127.0.0.1:0 --port-file "$2.ports" > "$2.log" 2>&1 &
  PIDS+=($!)
  LAST_PID=$!
  for _ in $(seq 100); do [ -s "$2.ports" ] && break; sleep 0.1; done
  [ -s "$2.ports" ] || { cat "$2.log"; fail "$2 server did not start"; }
  PORT_HTTPS=$(json "$2.ports" 'd["https"]')
  PORT_HTTP=$(json "$2.ports" 'd["http"]')
}

"$GMPKI" init --home "$M" --demo --listen 127.0.0.1:0 --http-listen 127.0.0.1:0 >/dev/null
"$GMPKI" init --home "$K" --demo --roles km --listen 127.0.0.1:0 --http-listen 127.0.0.1:0 >/dev/null
grep -q "roles = \[ 'km' \]" "$K/gmpki.toml" || fail "the KM home runs role km only"
[ ! -e "$K/gmpki.db" ] || [ "$(sqlite3 "$K/gmpki.db" 'SELECT COUNT(*) FROM cas')" = 0 ] || fail "the KM home has no CA"
cmp -s "$M/device/keys.sealed" "$K/device/keys.sealed" && fail "the KM must have its own device"
ok "two homes: the ministry CA and its KM, each with its own database and device"

# --- attaching the CA node to the KM (KM-01) ---
"$GMPKI" --home "$M" km-link request --name ministry-node --out kreq.json >/dev/null
"$GMPKI" --home "$K" km ca enrol --request kreq.json --out kresp.json >/dev/null
# A small pool for the test: the server tops it up below 100 to 300.
sed -i "s/^pool_target = .*/pool_target = 300/; s/^pool_low_water = .*/pool_low_water = 100/" "$K/gmpki.toml"
"$GMPKI" --home "$K" km refill >/dev/null
"$GMPKI" --home "$K" --json km state > st.json
[ "$(json st.json 'd["pool_available"]')" = 300 ] || fail "pool: $(cat st.json)"
start "$K" km
K_HTTPS=$PORT_HTTPS
K_PID=$LAST_PID
"$GMPKI" --home "$M" km-link import --response kresp.json --url "https://127.0.0.1:$K_HTTPS" >/dev/null
grep -q "url = 'https://127.0.0.1:$K_HTTPS'" "$M/gmpki.toml" || fail "km.url not written"
# Anyone else's TLS certificate (here: an operator's of the ministry, from another TLS CA) is
# refused in the handshake (000); one from the KM's own TLS CA that is no registered CA node (the
# KM's own security administrator) gets a 401 problem.
MOPS=$M/demo/operators
KOPS=$K/demo/operators
code=$(curl -s -o anon.json -w '%{http_code}' --cacert "$K/tls/ca.pem" --cert "$MOPS/op-ca-operator/cert.pem" \
  --key "$MOPS/op-ca-operator/key.pem" --pass "$(cat "$MOPS/op-ca-operator/passphrase")" -H 'Content-Type: application/json' \
  -X POST "https://127.0.0.1:$K_HTTPS/api/v1/km/ca/keys" -d '{}' || true)
[ "$code" = 000 ] || fail "a foreign client certificate must be refused: $code"
code=$(curl -s -o anon.json -w '%{http_code}' --cacert "$K/tls/ca.pem" --cert "$KOPS/op-security-admin/cert.pem" \
  --key "$KOPS/op-security-admin/key.pem" --pass "$(cat "$KOPS/op-security-admin/passphrase")" -H 'Content-Type: application/json' \
  -X POST "https://127.0.0.1:$K_HTTPS/api/v1/km/ca/keys" -d '{}')
[ "$code" = 401 ] && grep -q "no CA registered" anon.json || fail "a non-CA client certificate must be refused: $code $(cat anon.json)"
ok "the CA node is registered with the KM by its TLS certificate; the pool holds 300 sealed pairs"

# --- a subscriber's signing certificate, then the paired encryption certificate (KM-03) ---
openssl genpkey -algorithm SM2 -out alice.key 2>/dev/null
openssl req -new -key alice.key -sm3 -sigopt distid:1234567812345678 -subj "/C=CN/O=HRSS/CN=Alice" -out alice.csr
"$GMPKI" --home "$M" --json cert issue --ca ministry-ca --profile personal-sign --csr alice.csr --out alice-sign.pem > sign.json
SIGN=$(json sign.json 'd["serial"]')

"$GMPKI" --home "$M" --json cert issue-enc --ca ministry-ca --sign-serial "$SIGN" --profile personal-enc --out-dir out > enc.json \
  || fail "issue-enc: $(cat enc.json)"
ENC=$(json enc.json 'd["serial"]')
[ "$(sqlite3 "$K/gmpki.db" "SELECT status FROM km_keys WHERE cert_serial = 'ministry-ca:$ENC'")" = active ] || fail "the KM binds the key"
[ "$(sqlite3 "$K/gmpki.db" 'SELECT COUNT(*) FROM km_pool')" = 299 ] || fail "the key comes from the pool"
[ "$(sqlite3 "$M/gmpki.db" 'SELECT (SELECT COUNT(*) FROM km_keys) + (SELECT COUNT(*) FROM km_pool)')" = 0 ] \
  || fail "the CA database must hold no KM key"
"$GMPKI" --home "$M" cert export --ca ministry-ca --serial "$ENC" --chain --out enc-chain.pem >/dev/null
awk '/BEGIN/{n++} {print > ("ec" n ".pem")}' enc-chain.pem
"$BC" chain --anchor ec4.pem --untrusted ec3.pem --untrusted ec2.pem ec1.pem >/dev/null || fail "bc-verify the encryption certificate"
openssl x509 -in ec1.pem -noout -ext keyUsage | grep -q "Key Encipherment\|Data Encipherment" || fail "encryption key usage"
ok "encryption certificate issued from a KM key; Bouncy Castle verifies it under the GM/T rule"

# OpenSSL only: decrypt the CEK of the GB/T 35276 SM2EnvelopedKey with Alice's signing key,
# SM4-ECB-decrypt d, and check d*G is the encryption certificate's key.
open_with_openssl() {  # open_with_openssl ENVELOPED_KEY_DER SIGNING_KEY -> writes d.hex
  python3 - "$1" <<'PY'
import subprocess, sys
der = open(sys.argv[1], "rb").read()
out = subprocess.run(["openssl", "asn1parse", "-inform", "DER", "-in", sys.argv[1]], capture_output=True, text=True, check=True).stdout
rows = [l for l in out.splitlines() if "d=1" in l]
def field(line):
    off = int(line.split(":")[0]); hl = int(line.split("hl=")[1].split()[0]); l = int(line.split("l=")[2].split()[0])
    return off, hl, l
off, hl, l = field(rows[1])                      # symEncryptedKey SM2Cipher
open("cek.der", "wb").write(der[off:off + hl + l])
off, hl, l = field(rows[3])                      # sm2EncryptedPrivateKey BIT STRING
open("encd.bin", "wb").write(der[off + hl + 1:off + hl + l])
PY
  openssl pkeyutl -decrypt -inkey "$2" -in cek.der -out cek.bin
  openssl enc -d -sm4-ecb -nopad -K "$(xxd -p cek.bin | tr -d '\n')" -in encd.bin -out d.bin
  xxd -p d.bin | tr -d '\n' > d.hex
  # RFC 5915 ECPrivateKey on the SM2 curve (1.2.156.10197.1.301) from the bare scalar.
  printf '30310201010420%sa00a06082a811ccf5501822d' "$(cat d.hex)" | xxd -r -p > d.der
  openssl pkey -inform DER -in d.der -pubout -out d-pub.pem 2>/dev/null || openssl ec -inform DER -in d.der -pubout -out d-pub.pem 2>/dev/null
}
open_with_openssl "out/$ENC.sm2-enveloped-key.der" alice.key
openssl x509 -in ec1.pem -pubkey -noout > enc-pub.pem
cmp -s <(openssl pkey -pubin -in d-pub.pem -outform DER) <(openssl pkey -pubin -in enc-pub.pem -outform DER) \
  || fail "the key OpenSSL recovered is not the encryption certificate's"
ALICE_D=$(cat d.hex)
# The SKF blob carries the same CEK format at fixed offsets: 388 bytes, CipherLen 16.
[ "$(stat -c %s "out/$ENC.skf")" = 388 ] || fail "SKF ENVELOPEDKEYBLOB size"
openssl genpkey -algorithm SM2 -out mallory.key 2>/dev/null
openssl pkeyutl -decrypt -inkey mallory.key -in cek.der -out /dev/null 2>/dev/null && fail "another key must not open the envelope"
ok "OpenSSL alone opens the envelope with the signing key: d*G is the encryption certificate's key"

# --- the same over the CA's REST API, and refusals that change nothing (KM-08) ---
start "$M" ministry
M_HTTPS=$PORT_HTTPS
M_PID=$LAST_PID
c() { local who=$1; shift; curl -s --cacert "$M/tls/ca.pem" --cert "$MOPS/$who/cert.pem" --key "$MOPS/$who/key.pem" \
  --pass "$(cat "$MOPS/$who/passphrase")" -H 'Content-Type: application/json' "$@"; }
U=https://127.0.0.1:$M_HTTPS/api/v1/cas/ministry-ca/certificates
openssl genpkey -algorithm SM2 -out bob.key 2>/dev/null
openssl req -new -key bob.key -sm3 -sigopt distid:1234567812345678 -subj "/C=CN/O=HRSS/CN=Bob" -out bob.csr
python3 -c 'import json; print(json.dumps({"profile": "personal-sign", "csr": open("bob.csr").read()}))' > bobreq.json
c op-ca-operator -X POST "$U" --data @bobreq.json -o bob.json
BOB=$(json bob.json 'd["serial"]')
before=$(sqlite3 "$M/gmpki.db" 'SELECT COUNT(*) FROM certificates')
code=$(c op-ca-operator -o bad.json -w '%{http_code}' -X POST "$U/$BOB/encryption" -d '{"profile":"personal-sign"}')
[ "$code" = 400 ] && grep -q "not an encryption profile" bad.json || fail "a signing profile: $code $(cat bad.json)"
code=$(c op-ca-operator -o bad2.json -w '%{http_code}' -X POST "$U/ABCDEF/encryption" -d '{"profile":"personal-enc"}')
[ "$code" = 404 ] || fail "an unknown signing certificate: $code $(cat bad2.json)"
[ "$(sqlite3 "$M/gmpki.db" 'SELECT COUNT(*) FROM certificates')" = "$before" ] || fail "a refusal issued something"
c op-ca-operator -X POST "$U/$BOB/encryption" -d '{"profile":"personal-enc"}' -o bobenc.json
BOBENC=$(json bobenc.json 'd["certificate"]["serial"]') || fail "REST issue-enc: $(cat bobenc.json)"
python3 -c 'import base64,json,sys; d=json.load(open("bobenc.json")); open("bob-ek.der","wb").write(base64.b64decode(d["sm2_enveloped_key"]))'
open_with_openssl bob-ek.der bob.key
json bobenc.json 'd["certificate"]["certificate"]' > bobenc.pem
openssl x509 -in bobenc.pem -pubkey -noout > bobenc-pub.pem
cmp -s <(openssl pkey -pubin -in d-pub.pem -outform DER) <(openssl pkey -pubin -in bobenc-pub.pem -outform DER) \
  || fail "REST: the recovered key is not the encryption certificate's"
ok "POST .../certificates/{serial}/encryption over HTTPS; bad profile and unknown certificate change nothing"

# --- revocation reaches the KM (KM-06); its latency ---
t0=$(date +%s%N)
c op-ca-operator -X POST "$U/$BOBENC/revoke" -d '{"reason":"keyCompromise"}' -o rev.json >/dev/null
for _ in $(seq 100); do
  [ "$(sqlite3 "$K/gmpki.db" "SELECT status FROM km_keys WHERE cert_serial = 'ministry-ca:$BOBENC'")" = revoked ] && break
  sleep 0.05
done
t1=$(date +%s%N)
[ "$(sqlite3 "$K/gmpki.db" "SELECT status FROM km_keys WHERE cert_serial = 'ministry-ca:$BOBENC'")" = revoked ] || fail "KM key not revoked"
echo "# revocation reached the KM in $(( (t1 - t0) / 1000000 )) ms"
ok "revoking the encryption certificate revokes its key at the KM"

# --- judicial recovery: two distinct officers (KM-09) ---
openssl genpkey -algorithm SM2 -out court.key 2>/dev/null
openssl req -x509 -new -key court.key -sm3 -sigopt distid:1234567812345678 -subj "/C=CN/O=Court/CN=Judicial Authority" \
  -days 30 -out court.pem 2>/dev/null
set +e
"$GMPKI" --home "$K" --json km recovery request --cert "ministry-node:ministry-ca:$ENC" --authority-cert court.pem \
  --case-ref "(2026) Jing 01 No. 117" --reason "court order" > rq.json 2>rq.err
set -e
RID=$(json rq.json 'd["id"]') || fail "recovery request: $(cat rq.err)"
set +e; "$GMPKI" --home "$K" km recovery approve --id "$RID" >/dev/null 2>same.err; rc=$?; set -e
[ "$rc" != 0 ] && grep -q "second, distinct officer" same.err || fail "the requesting officer must not approve (rc $rc)"
set +e; "$GMPKI" --home "$K" km recovery fetch --id "$RID" --out early.der >/dev/null 2>early.err; rc=$?; set -e
[ "$rc" != 0 ] || fail "no package before the second approval"
"$GMPKI" --home "$K" --operator op-km-officer-2 km recovery approve --id "$RID" >/dev/null
"$GMPKI" --home "$K" km recovery fetch --id "$RID" --out package.der >/dev/null
CD=$(openssl pkey -in court.key -text -noout 2>/dev/null | awk '/priv:/{f=1;next} /pub:/{f=0} f' | tr -d ' :\n')
ISSUER=$(openssl x509 -in court.pem -noout -issuer -nameopt RFC2253 >/dev/null; python3 - <<'PY'
import subprocess
der = subprocess.run(["openssl", "x509", "-in", "court.pem", "-outform", "DER"], capture_output=True, check=True).stdout
out = subprocess.run(["openssl", "asn1parse", "-inform", "DER"], input=der, capture_output=True, check=True).stdout.decode()
rows = [l for l in out.splitlines() if "d=2" in l]
def field(line):
    off = int(line.split(":")[0]); hl = int(line.split("hl=")[1].split()[0]); l = int(line.split("l=")[2].split()[0])
    return off, hl, l
# tbsCertificate: [0] version, serial, signature, issuer
off, hl, l = field(rows[3])
print(der[off:off + hl + l].hex())
PY
)
SERIAL=$(openssl x509 -in court.pem -noout -serial | cut -d= -f2)
JARS=/usr/share/java/bcprov.jar:/usr/share/java/bcutil.jar:/usr/share/java/bcpkix.jar
java -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -cp "$JARS" "$SRC/src/x509/tests/KeyEnvelopeBcCheck.java" package.der \
  "$(printf '%064s' "$CD" | tr ' ' 0)" "$ISSUER" "$SERIAL" "$ALICE_D" > bc.out 2>&1 || { cat bc.out; fail "Bouncy Castle must open the package"; }
grep -q '"ok":true' bc.out || fail "bc: $(cat bc.out)"
[ "$(sqlite3 "$K/gmpki.db" "SELECT COUNT(*) FROM audit_records WHERE action LIKE 'km.recovery.%'")" -ge 4 ] || fail "recovery audit"
ok "judicial recovery: refused to one officer, released by two; Bouncy Castle opens the package to Alice's key"

# --- a suspended CA node is refused, nothing issued ---
"$GMPKI" --home "$K" km ca suspend --name ministry-node >/dev/null
before=$(sqlite3 "$M/gmpki.db" 'SELECT COUNT(*) FROM certificates')
code=$(c op-ca-operator -o susp.json -w '%{http_code}' -X POST "$U/$SIGN/encryption" -d '{"profile":"personal-enc","request_key":"second"}')
[ "$code" = 403 ] && grep -q suspended susp.json || fail "a suspended CA node: $code $(cat susp.json)"
[ "$(sqlite3 "$M/gmpki.db" 'SELECT COUNT(*) FROM certificates')" = "$before" ] || fail "issued while suspended"
"$GMPKI" --home "$K" km ca resume --name ministry-node >/dev/null
ok "the KM refuses a suspended CA node; the CA issues nothing"

# --- backup, and restore into a fresh KM home rebuilt from the custodians' shares (KM-05) ---
"$GMPKI" --home "$K" --json km backup export --out km.backup > bk.json
kill "$K_PID"; wait "$K_PID" 2>/dev/null || true
SHARES=$(ls "$K"/demo/custodians/share-*.txt | head -3 | paste -sd, -)
K2=$T/km-restored
"$GMPKI" init --home "$K2" --demo --roles km --from-shares "$SHARES" --listen 127.0.0.1:0 --http-listen 127.0.0.1:0 >/dev/null
"$GMPKI" --home "$K2" --json km backup import --file km.backup > rs.json
[ "$(json rs.json 'd["sm3"]')" = "$(json bk.json 'd["sm3"]')" ] || fail "restored content differs"
"$GMPKI" --home "$K2" --json km backup export --out km2.backup > bk2.json
[ "$(json bk2.json 'd["sm3"]')" = "$(json bk.json 'd["sm3"]')" ] && [ "$(json bk2.json 'd["keys"]')" = "$(json bk.json 'd["keys"]')" ] \
  || fail "a backup of the restored KM must equal the original"
K3=$T/km-other
"$GMPKI" init --home "$K3" --demo --roles km --listen 127.0.0.1:0 --http-listen 127.0.0.1:0 >/dev/null
set +e; "$GMPKI" --home "$K3" km backup import --file km.backup >/dev/null 2>other.err; rc=$?; set -e
[ "$rc" != 0 ] && grep -q "does not verify" other.err || fail "a KM with another master key must refuse the backup"
# The restored KM serves the CA node: re-point the ministry at it and recover Alice's key to a new carrier.
start "$K2" km2
sed -i "s#^url = 'https://127.0.0.1:$K_HTTPS'#url = 'https://127.0.0.1:$PORT_HTTPS'#" "$M/gmpki.toml"
openssl genpkey -algorithm SM2 -out alice2.key 2>/dev/null
openssl req -new -key alice2.key -sm3 -sigopt distid:1234567812345678 -subj "/C=CN/O=HRSS/CN=Alice" -out alice2.csr
"$GMPKI" --home "$M" --json cert issue --ca ministry-ca --profile personal-sign --csr alice2.csr --out alice2-sign.pem > sign2.json
SIGN2=$(json sign2.json 'd["serial"]')
# The new KM home has its own TLS CA: the CA node's registration (and with it every key bound to
# its name) came back with the backup; its TLS certificate is replaced, as after any KM move.
"$GMPKI" --home "$M" km-link request --name ministry-node --out kreq2.json >/dev/null
"$GMPKI" --home "$K2" km ca enrol --request kreq2.json --replace --out kresp2.json >/dev/null
"$GMPKI" --home "$M" km-link import --response kresp2.json --url "https://127.0.0.1:$PORT_HTTPS" >/dev/null
"$GMPKI" --home "$M" --json cert recover-key --ca ministry-ca --serial "$ENC" --sign-serial "$SIGN2" --out-dir out2 > rec.json \
  || fail "recover-key from the restored KM"
open_with_openssl "out2/$ENC-recovered.sm2-enveloped-key.der" alice2.key
[ "$(cat d.hex)" = "$ALICE_D" ] || fail "the restored KM must deliver the same key"
ok "backup restored completely into a fresh KM home (same shares); the restored KM re-delivers Alice's key to her new carrier"

echo "e2e_km: $pass checks passed"
