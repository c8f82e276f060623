#!/usr/bin/env bash
# ctest: e2e_ra
# req: CA-01, HI-03, HI-05, HI-06, RA-01, RA-02, CC-FPR, CC-FTP
#
# Registration end to end as operators would run it, on two homes on 127.0.0.1: the ministry
# (CA + its own RA, demo) and a province in mode 1 (RA only) that attaches to the ministry CA
# by configuration. The province RA enters and reviews a subscriber (four-eyes) and gets a
# certificate from the ministry CA over mutual TLS with signed requests; the CA suspends and
# resumes it; a batch of card requests goes through the ministry's RA with the CLI; and the
# real `openssl cmp` client enrols against the demo CMP reference. Certificates are checked by
# Bouncy Castle under the GM/T rule.
set -euo pipefail
BUILD=${1:?usage: e2e_ra.sh BUILD_DIR}
GMPKI=$BUILD/apps/gmpki
SERVER=$BUILD/apps/gmpki-server
BC=$BUILD/bc-verify
T=$(mktemp -d /tmp/gmpki-e2e-ra.XXXXXX)
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
P=$T/province
start() {  # start HOME NAME -> sets PORT_HTTPS / PORT_HTTP
  "$SERVER" --home "$1" --listen 127.0.0.1:0 --http-listen 127.0.0.1:0 --port-file "$2.ports" > "$2.log" 2>&1 &
  PIDS+=($!)
  for _ in $(seq 100); do [ -s "$2.ports" ] && break; sleep 0.1; done
  [ -s "$2.ports" ] || { cat "$2.log"; fail "$2 server did not start"; }
  PORT_HTTPS=$(json "$2.ports" 'd["https"]')
  PORT_HTTP=$(json "$2.ports" 'd["http"]')
}

"$GMPKI" init --home "$M" --demo --listen 127.0.0.1:0 --http-listen 127.0.0.1:0 >/dev/null
"$GMPKI" init --home "$P" --demo --listen 127.0.0.1:0 --http-listen 127.0.0.1:0 >/dev/null
ok "two homes: ministry and province"

# --- attaching the province RA to the ministry CA ---
"$GMPKI" --home "$P" ra-link request --name gd-ra --out req.json >/dev/null
"$GMPKI" --home "$M" ra enrol --request req.json --issuer-ca ministry-ca --profiles personal-sign,organization-sign --out resp.json >/dev/null
"$GMPKI" --home "$M" --json ra list > ras.json
[ "$(json ras.json 'd[0]["name"] + "/" + d[0]["status"]')" = "gd-ra/active" ] || fail "ra list"
ok "the ministry's security administrator enrols the province RA"
start "$M" ministry
M_HTTPS=$PORT_HTTPS
M_HTTP=$PORT_HTTP
"$GMPKI" --home "$P" ra-link import --response resp.json --url "https://127.0.0.1:$M_HTTPS" >/dev/null
# Province mode 1: the registration system only (HI-03), by configuration.
sed -i "s/^roles = .*/roles = [ 'ra' ]/; s/^deployment = .*/deployment = 'province-1'/" "$P/gmpki.toml"
grep -q "ca_url = 'https://127.0.0.1:$M_HTTPS'" "$P/gmpki.toml" || fail "ra.ca_url not written"
"$GMPKI" --home "$P" --json ra-link check --ca ministry-ca > check.json
[ "$(json check.json 'len(d["chain"])')" = 3 ] || fail "ra-link check"
ok "ra-link import + check: the province reaches the ministry CA over mutual TLS"
start "$P" province
P_HTTPS=$PORT_HTTPS

# --- registration at the province (RA-01, RA-02): enter, four-eyes review, request, issue ---
OPS=$P/demo/operators
c() { local who=$1; shift; curl -s --cacert "$P/tls/ca.pem" --cert "$OPS/$who/cert.pem" --key "$OPS/$who/key.pem" \
  --pass "$(cat "$OPS/$who/passphrase")" -H 'Content-Type: application/json' "$@"; }
U=https://127.0.0.1:$P_HTTPS/api/v1/ra
# The province's system administrator opens a registration point of RA gd-ra (RA-02) and binds
# the two RA operators to it; until then they cannot act.
code=$(c op-ra-operator -o unbound.json -w '%{http_code}' -X POST "$U/subscribers" -d '{"kind":"person","name":"X","id_kind":"passport","id_number":"E1"}')
[ "$code" = 403 ] || fail "an operator without a registration point must be refused: $code"
c op-system-admin -X POST "$U/points" -d '{"name":"guangzhou-1","description":"Guangzhou service hall","location":"Guangzhou"}' -o point.json
[ "$(json point.json 'd["name"]')" = guangzhou-1 ] || fail "point: $(cat point.json)"
for op in op-ra-operator op-ra-reviewer; do
  c op-system-admin -X PUT "$U/operators/$op" -d '{"point":"guangzhou-1"}' -o bind.json -w '%{http_code}' | grep -q '^20' || fail "bind $op: $(cat bind.json)"
done
ok "a registration point of the province RA, with its operators bound"
c op-ra-operator -X POST "$U/subscribers" -o sub.json -d '{"kind":"person","name":"Zhang San","id_kind":"resident-id","id_number":"11010519491231002X","social_security":"SS99887766","phone":"13800000000"}'
SUB=$(json sub.json 'd["id"]') || { cat sub.json province.log; fail "subscriber entry"; }
[ "$(json sub.json 'd["id_number"]')" = "110*************2X" ] || fail "the entry answer must mask the ID number"
code=$(c op-ra-operator -o bad.json -w '%{http_code}' -X POST "$U/subscribers" -d '{"kind":"person","name":"Li Si","id_kind":"resident-id","id_number":"110105194912310021"}')
[ "$code" = 400 ] && grep -q "check character" bad.json || fail "invalid resident ID: $code $(cat bad.json)"
code=$(c op-ra-operator -o dup.json -w '%{http_code}' -X POST "$U/subscribers" -d '{"kind":"person","name":"Zhang San","id_kind":"resident-id","id_number":"11010519491231002x"}')
[ "$code" = 409 ] || fail "duplicate subscriber: $code $(cat dup.json)"
code=$(c op-ra-operator -o self.json -w '%{http_code}' -X POST "$U/subscribers/$SUB/review" -d '{"approve":true}')
[ "$code" = 400 ] && grep -q "four-eyes" self.json || fail "self-review: $code $(cat self.json)"
c op-ra-reviewer -X POST "$U/subscribers/$SUB/review" -d '{"approve":true}' -o rev.json
[ "$(json rev.json 'd["status"]')" = approved ] || fail "review"
ok "entry, bad ID number, duplicate, four-eyes review at the province RA"
openssl genpkey -algorithm SM2 -out zs.key 2>/dev/null
openssl req -new -key zs.key -sm3 -sigopt distid:1234567812345678 -subj "/CN=Zhang San" -out zs.csr
python3 -c 'import json,sys; print(json.dumps({"subscriber": sys.argv[1], "ca": "ministry-ca", "profile": "personal-sign", "csr": open("zs.csr").read()}))' "$SUB" > creq.json
c op-ra-operator -X POST "$U/requests" --data @creq.json -o r.json
RID=$(json r.json 'd["id"]')
c op-ra-reviewer -X POST "$U/requests/$RID/review" -d '{"approve":true}' -o done.json
[ "$(json done.json 'd["status"]')" = completed ] || fail "request: $(cat done.json)"
c op-ra-operator "$U/requests/$RID/certificate?format=pem" -o zs.pem
"$GMPKI" --home "$M" cert export --ca ministry-ca --serial "$(json done.json 'd["serial"]')" --chain --out zs-chain.pem >/dev/null
awk '/BEGIN/{n++} {print > ("zc" n ".pem")}' zs-chain.pem
"$BC" chain --anchor zc4.pem --untrusted zc3.pem --untrusted zc2.pem zs.pem >/dev/null || fail "bc-verify province-requested certificate"
sqlite3 "$M/gmpki.db" "SELECT requested_by FROM certificates WHERE serial_hex = '$(json done.json 'd["serial"]')'" | grep -qx "ra:gd-ra" \
  || fail "the ministry CA records the province RA as requester"
ok "the province's approved request is issued by the ministry CA; Bouncy Castle verifies it"
[ "$(sqlite3 "$M/gmpki.db" "SELECT COUNT(*) FROM ca_ra_requests WHERE ra = 'gd-ra' AND op = 'issue' AND outcome = 'success'")" -ge 1 ] \
  || fail "no evidence of the signed request at the CA"
! grep -qa 11010519491231002X "$P/gmpki.db" "$P"/gmpki.db-wal 2>/dev/null || fail "a clear ID number in the province database"
ok "the CA keeps the signed request as evidence; the province stores no clear ID number"

# --- the CA suspends and resumes the RA (CA-01) ---
"$GMPKI" --home "$M" ra suspend --name gd-ra >/dev/null
set +e; "$GMPKI" --home "$P" ra-link check --ca ministry-ca >/dev/null 2>susp.err; rc=$?; set -e
[ "$rc" != 0 ] && grep -q suspended susp.err || fail "a suspended RA must be refused (rc $rc: $(cat susp.err))"
"$GMPKI" --home "$M" ra resume --name gd-ra >/dev/null
"$GMPKI" --home "$P" ra-link check --ca ministry-ca >/dev/null || fail "resumed RA"
set +e; "$GMPKI" --home "$P" ra-link check --ca industry-ca >/dev/null 2>auth.err; rc=$?; set -e
[ "$rc" != 0 ] && grep -q "not authorised" auth.err || fail "an unauthorised CA must be refused"
ok "suspend, resume and authorisation are enforced at the CA"

# --- batch enrolment at the ministry's own RA (HI-06) ---
openssl genpkey -algorithm SM2 -out card.key 2>/dev/null
python3 - <<'PY'
import base64, json, subprocess
w = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
def rid(i):
    b = "110105" + "1985%02d%02d" % (1 + i % 12, 1 + i % 28) + "%03d" % i
    return b + "10X98765432"[sum(int(x) * y for x, y in zip(b, w)) % 11]
with open("cards.ndjson", "w") as f:
    for i in range(12):
        der = subprocess.run(["openssl", "req", "-new", "-key", "card.key", "-sm3", "-sigopt", "distid:1234567812345678",
                              "-subj", "/CN=Card Holder %d" % i, "-outform", "DER"], capture_output=True, check=True).stdout
        item = {"request_id": "card-%04d" % i, "name": "Card Holder %d" % i, "id_kind": "resident-id", "id_number": rid(i),
                "social_security_number": "SS%08d" % i, "csr": base64.b64encode(der).decode()}
        if i == 5:
            item["id_number"] = item["id_number"][:17] + ("1" if item["id_number"][17] != "1" else "2")
        f.write(json.dumps(item) + "\n")
PY
"$GMPKI" --home "$M" --json batch submit --url "https://127.0.0.1:$M_HTTPS" --file cards.ndjson --ca ministry-ca > batch.json 2>batch.err
BID=$(json batch.json 'd["id"]')
[ "$(json batch.json 'd["counts"]["failed"]')" = 1 ] || fail "the bad line must fail alone: $(cat batch.json)"
set +e; "$GMPKI" --home "$M" batch approve --url "https://127.0.0.1:$M_HTTPS" --id "$BID" >/dev/null 2>self.err; rc=$?; set -e
[ "$rc" != 0 ] && grep -q "four-eyes" self.err || fail "the submitter may not approve its batch"
"$GMPKI" --home "$M" --operator op-ra-reviewer batch approve --url "https://127.0.0.1:$M_HTTPS" --id "$BID" >/dev/null
for _ in $(seq 100); do
  "$GMPKI" --home "$M" --json batch status --url "https://127.0.0.1:$M_HTTPS" --id "$BID" > st.json
  [ "$(json st.json 'd["state"]')" = done ] && break; sleep 0.2
done
[ "$(json st.json 'd["counts"]["issued"]')" = 11 ] || fail "batch: $(cat st.json)"
"$GMPKI" --home "$M" batch results --url "https://127.0.0.1:$M_HTTPS" --id "$BID" --out results.ndjson 2>/dev/null
python3 -c '
import base64, json
rs = [json.loads(l) for l in open("results.ndjson")]
ok = [r for r in rs if r["status"] == "issued"]
assert len(ok) == 11 and len(rs) == 12, rs
open("card0.der", "wb").write(base64.b64decode(ok[0]["certificate"]))' || fail "batch results"
"$BC" chain --anchor zc4.pem --untrusted zc3.pem --untrusted zc2.pem card0.der >/dev/null || fail "bc-verify a batch certificate"
before=$(sqlite3 "$M/gmpki.db" "SELECT COUNT(*) FROM certificates")
"$GMPKI" --home "$M" --json batch submit --url "https://127.0.0.1:$M_HTTPS" --file cards.ndjson --ca ministry-ca > again.json 2>/dev/null
[ "$(json again.json 'd["counts"]["duplicate"]')" = 11 ] || fail "resubmission: $(cat again.json)"
[ "$(sqlite3 "$M/gmpki.db" "SELECT COUNT(*) FROM certificates")" = "$before" ] || fail "a resubmitted batch issued again"
ok "batch: streamed, bad line fails alone, four-eyes approval, 11 issued, resubmission issues nothing"

# --- CMP with the real openssl cmp client (PBM, SM2 keys) ---
"$GMPKI" --home "$M" --json cmp demo > cmp.json
REF=$(json cmp.json 'd["reference"]'); SECRET=$(json cmp.json 'd["secret"]'); CPATH=$(json cmp.json 'd["path"]')
openssl genpkey -algorithm SM2 -out cmp.key 2>/dev/null
openssl cmp -cmd ir -server "127.0.0.1:$M_HTTP" -path "${CPATH#/}" -ref "$REF" -secret "pass:$SECRET" -newkey cmp.key \
  -subject /CN=cmp-e2e -digest sm3 -certout cmp.pem -unprotected_errors > cmp.log 2>&1 || { cat cmp.log; fail "openssl cmp ir"; }
"$BC" chain --anchor zc4.pem --untrusted zc3.pem --untrusted zc2.pem cmp.pem >/dev/null || fail "bc-verify CMP certificate"
set +e
openssl cmp -cmd ir -server "127.0.0.1:$M_HTTP" -path "${CPATH#/}" -ref "$REF" -secret pass:wrong-secret -newkey cmp.key \
  -subject /CN=cmp-bad -digest sm3 -certout bad.pem -unprotected_errors > cmpbad.log 2>&1; rc=$?
set -e
[ "$rc" != 0 ] && grep -qi "badMessageCheck" cmpbad.log || fail "a wrong CMP secret must be refused (rc $rc)"
openssl cmp -cmd rr -server "127.0.0.1:$M_HTTP" -path "${CPATH#/}" -ref "$REF" -secret "pass:$SECRET" -oldcert cmp.pem \
  -revreason 1 -digest sm3 -unprotected_errors > rr.log 2>&1 || { cat rr.log; fail "openssl cmp rr"; }
SER=$(openssl x509 -in cmp.pem -noout -serial | cut -d= -f2)
"$GMPKI" --home "$M" --json cert show --ca ministry-ca --serial "$SER" > cmpcert.json
[ "$(json cmpcert.json 'd["status"]')" = revoked ] || fail "CMP rr"
ok "openssl cmp: ir issues a certificate Bouncy Castle verifies, a wrong secret is refused, rr revokes"
# A CMP client registered by its certificate (signature protection under the GM/T rule).
openssl genpkey -algorithm SM2 -out gw.key 2>/dev/null
openssl req -new -key gw.key -sm3 -sigopt distid:1234567812345678 -subj "/CN=gateway-01" -out gw.csr
"$GMPKI" --home "$M" cert issue --ca ministry-ca --profile device-sign --csr gw.csr --out gw.pem >/dev/null
"$GMPKI" --home "$M" --json cmp create --reference gateway-01 --ca ministry-ca --profiles device-sign --cert gw.pem > gwc.json
[ "$(json gwc.json 'd["protection"]')" = signature ] || fail "cmp create --cert: $(cat gwc.json)"
"$GMPKI" --home "$M" --json cmp list | python3 -c '
import json, sys
c = {x["reference"]: x for x in json.load(sys.stdin)}
assert c["demo-ra"]["protection"] == "mac" and c["gateway-01"]["protection"] == "signature", c' || fail "cmp list"
ok "a CMP client registered by its certificate (signature protection)"

"$GMPKI" --home "$M" audit verify --json | python3 -c 'import json,sys; assert json.load(sys.stdin)["ok"]' || fail "ministry audit"
"$GMPKI" --home "$P" audit verify --json | python3 -c 'import json,sys; assert json.load(sys.stdin)["ok"]' || fail "province audit"
ok "both audit trails verify"
echo "$pass passed, 0 failed"
