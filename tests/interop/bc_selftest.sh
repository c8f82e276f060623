#!/usr/bin/env bash
# ctest: bc_selftest
# req: CA-04
#
# Self-test of the Bouncy Castle verifier (bc-verify) against objects made by the OpenSSL CLI
# alone, so it is independent of gmpki's own code. It proves that bc-verify applies the GM/T
# signer ID "1234567812345678" (GM/T 0009-2012 §10; shared STANDARDS-NOTES.md §1.2) to
# certificate, CRL, CSR and raw signatures, and rejects what it must: a certificate signed with
# OpenSSL 3.0's default empty ID, a corrupted signature, a revoked certificate, an expired one,
# a pathLen violation. It also records why gmpki needs it: `openssl verify` (3.0) rejects a
# correct 3-level GM/T chain because it checks the intermediate with the empty ID
# (STANDARDS-NOTES §8.1).
#
# usage: bc_selftest.sh /path/to/bc-verify
set -euo pipefail

BCV=${1:?usage: bc_selftest.sh /path/to/bc-verify}
ID=1234567812345678
W=$(mktemp -d)
# BCV_KEEP=1 keeps the work directory for debugging.
trap '[ -n "${BCV_KEEP:-}" ] && echo "kept $W" || rm -rf "$W"' EXIT
cd "$W"

passed=0
failed=0
ok() { passed=$((passed + 1)); echo "PASS: $1"; }
bad() { failed=$((failed + 1)); echo "FAIL: $1"; }

# expect_ok DESC CMD...: bc-verify must exit 0 and print "verified":true.
expect_ok() {
  local desc=$1; shift
  if "$@" >out.json 2>err.txt && grep -q '"verified":true' out.json; then
    ok "$desc"
  else
    bad "$desc"; cat out.json err.txt
  fi
}

# expect_reject DESC REGEX CMD...: bc-verify must exit 1 (not verified, as opposed to 2, a usage
# or input error) and its stderr must match REGEX, so the rejection is for the intended reason.
expect_reject() {
  local desc=$1 re=$2; shift 2
  local rc=0
  "$@" >out.json 2>err.txt || rc=$?
  if [ "$rc" -eq 1 ] && grep -Eq "$re" err.txt && grep -q '"verified":false' out.json; then
    ok "$desc"
  else
    bad "$desc (rc=$rc, wanted 1 and /$re/)"; cat out.json err.txt
  fi
}

# expect_field DESC REGEX: the last out.json must match REGEX.
expect_field() {
  if grep -Eq "$2" out.json; then ok "$1"; else bad "$1"; cat out.json; fi
}

cat >ext.cnf <<'EOF'
[ req ]
distinguished_name = dn
prompt = no
[ dn ]
CN = unused
[ v3_root ]
basicConstraints = critical,CA:true
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[ v3_inter ]
basicConstraints = critical,CA:true,pathlen:0
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[ v3_subca ]
basicConstraints = critical,CA:true
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[ v3_leaf ]
basicConstraints = critical,CA:false
keyUsage = critical,digitalSignature
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOF

key() { openssl genpkey -algorithm SM2 -out "$1.key" 2>/dev/null; }
# csr NAME CN [extra -sigopt...]: a CSR signed with the GM/T ID unless told otherwise.
csr() {
  local n=$1 cn=$2; shift 2
  openssl req -new -config ext.cnf -key "$n.key" -sm3 -subj "/C=CN/O=gmpki interop/CN=$cn" \
    "$@" -out "$n.csr"
}
# issue NAME CA SERIAL PROFILE [extra signing options...]: NAME.csr -> NAME.pem signed by CA.
issue() {
  local n=$1 ca=$2 serial=$3 prof=$4; shift 4
  openssl x509 -req -in "$n.csr" -CA "$ca.pem" -CAkey "$ca.key" -sm3 \
    -vfyopt "distid:$ID" -set_serial "$serial" -days 365 \
    -extfile ext.cnf -extensions "$prof" "$@" -out "$n.pem" 2>/dev/null
}

# --- root (self-signed with the GM/T ID), leaf, and a leaf signed with the empty ID ----------
key root
openssl req -x509 -new -config ext.cnf -key root.key -sm3 -sigopt "distid:$ID" \
  -subj "/C=CN/O=gmpki interop/CN=Interop Root" -days 3650 -extensions v3_root -out root.pem
key leaf; csr leaf "Leaf" -sigopt "distid:$ID"; issue leaf root 0x1001 v3_leaf -sigopt "distid:$ID"
# Same CSR, but the certificate signature uses OpenSSL 3.0's default empty ID.
cp leaf.csr noid.csr; issue noid root 0x1002 v3_leaf

expect_ok "root self-signed with GM/T ID: chain of one" "$BCV" chain --anchor root.pem root.pem
expect_ok "leaf signed with GM/T ID is accepted" "$BCV" chain --anchor root.pem leaf.pem
expect_field "path is leaf -> root" '"depth":2'
openssl x509 -in leaf.pem -outform DER -out leaf.der
expect_ok "DER input accepted" "$BCV" chain --anchor root.pem leaf.der
expect_reject "leaf signed WITHOUT the GM/T ID (empty ID) is rejected" 'does not verify' \
  "$BCV" chain --anchor root.pem noid.pem
# The rejection is due to the ID alone: the same signature verifies under the empty ID.
expect_ok "the empty-ID leaf verifies only under --id ''" \
  "$BCV" signed --issuer root.pem --id "" noid.pem
expect_reject "the GM/T leaf fails under the empty ID" 'does not verify' \
  "$BCV" signed --issuer root.pem --id "" leaf.pem

# --- a byte-flipped signature: the last byte of the DER is the last byte of s ----------------
python3 -c '
import sys
d = bytearray(open("leaf.der", "rb").read()); d[-1] ^= 0x01
open("flipped.der", "wb").write(d)'
expect_reject "byte-flipped certificate signature is rejected" 'does not verify' \
  "$BCV" chain --anchor root.pem flipped.der

# --- validity at --at ---------------------------------------------------------------------
now=$(date +%s)
expect_reject "leaf rejected 400 days later (expired)" 'expired' \
  "$BCV" chain --anchor root.pem --at $((now + 400 * 86400)) leaf.pem
expect_reject "leaf rejected 2 days before issue (not yet valid)" 'not yet valid' \
  "$BCV" chain --anchor root.pem --at $((now - 2 * 86400)) leaf.pem

# --- CSR proof of possession -------------------------------------------------------------
expect_ok "CSR signed with GM/T ID verifies" "$BCV" csr leaf.csr
key noidreq; csr noidreq "No ID request"
expect_reject "CSR signed with the empty ID is rejected" 'self-signature does not verify' \
  "$BCV" csr noidreq.csr

# --- CRL by `openssl ca -gencrl -sigopt distid:...` ----------------------------------------
mkdir -p ca/new
: >ca/index.txt
echo 01 >ca/crlnumber
cat >ca.cnf <<EOF
[ ca ]
default_ca = CA_default
[ CA_default ]
dir = $W/ca
database = \$dir/index.txt
crlnumber = \$dir/crlnumber
new_certs_dir = \$dir/new
certificate = $W/root.pem
private_key = $W/root.key
default_md = sm3
default_crl_days = 30
policy = policy_any
[ policy_any ]
commonName = supplied
[ crl_ext ]
authorityKeyIdentifier = keyid
EOF
key revoked; csr revoked "Revoked" -sigopt "distid:$ID"
issue revoked root 0x1003 v3_leaf -sigopt "distid:$ID"
openssl ca -config ca.cnf -revoke revoked.pem -crl_reason keyCompromise 2>/dev/null
openssl ca -config ca.cnf -gencrl -sigopt "distid:$ID" -crlexts crl_ext -out crl.pem 2>/dev/null
openssl ca -config ca.cnf -gencrl -crlexts crl_ext -out crl_noid.pem 2>/dev/null

expect_ok "CRL signed with GM/T ID verifies" "$BCV" crl --issuer root.pem crl.pem
expect_field "CRL fields: number 1, one entry, no delta base" \
  '"number":"1".*"count":1,"delta_base":null'
expect_reject "CRL signed with the empty ID is rejected" 'CRL signature does not verify' \
  "$BCV" crl --issuer root.pem crl_noid.pem
expect_ok "good leaf passes with the CRL" "$BCV" chain --anchor root.pem leaf.pem --crl crl.pem
expect_field "one CRL was checked" '"crls_checked":1'
expect_reject "revoked leaf is rejected with the CRL" 'revoked \(reason keyCompromise' \
  "$BCV" chain --anchor root.pem revoked.pem --crl crl.pem
expect_ok "revoked leaf passes without the CRL (the CRL is what rejects it)" \
  "$BCV" chain --anchor root.pem revoked.pem
expect_reject "an empty-ID CRL is rejected inside chain too" 'CRL signature does not verify' \
  "$BCV" chain --anchor root.pem leaf.pem --crl crl_noid.pem
expect_reject "a CRL past its nextUpdate is stale" 'stale' \
  "$BCV" chain --anchor root.pem --at $((now + 40 * 86400)) leaf.pem --crl crl.pem

# --- raw signatures (`sig`) ----------------------------------------------------------------
printf 'gmpki interop data\n' >data.bin
openssl dgst -sm3 -sign leaf.key -sigopt "distid:$ID" -out data.sig data.bin
openssl dgst -sm3 -sign leaf.key -out data_noid.sig data.bin
expect_ok "raw signature with GM/T ID verifies" \
  "$BCV" sig --cert leaf.pem --in data.bin --sig data.sig
expect_ok "BC JCA SM3withSM2 default ID is the GM/T ID (no SM2ParameterSpec)" \
  "$BCV" sig --jca --cert leaf.pem --in data.bin --sig data.sig
expect_ok "BC JCA with an explicit SM2ParameterSpec" \
  "$BCV" sig --jca --id "$ID" --cert leaf.pem --in data.bin --sig data.sig
expect_reject "raw signature checked under another ID is rejected" 'does not verify' \
  "$BCV" sig --id 1234567812345679 --cert leaf.pem --in data.bin --sig data.sig
expect_reject "raw signature made with the empty ID is rejected" 'does not verify' \
  "$BCV" sig --cert leaf.pem --in data.bin --sig data_noid.sig
expect_ok "... and verifies under --hex-id ''" \
  "$BCV" sig --hex-id "" --cert leaf.pem --in data.bin --sig data_noid.sig

# --- generic signed object (`signed`, the CTL shape) with NULL and absent parameters --------
# tbs = SEQUENCE { OCTET STRING "gmpki CTL interop" }; signed over its raw bytes with the ID.
python3 -c '
body = b"\x04\x11gmpki CTL interop"
open("tbs.der", "wb").write(b"\x30" + bytes([len(body)]) + body)'
openssl dgst -sm3 -sign root.key -sigopt "distid:$ID" -out tbs.sig tbs.der
python3 - <<'EOF'
def tlv(tag, body):
    n = len(body)
    if n < 0x80:
        return bytes([tag, n]) + body
    lb = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(lb)]) + lb + body
tbs = open("tbs.der", "rb").read()
sig = open("tbs.sig", "rb").read()
oid501 = bytes.fromhex("06082a811ccf55018375")       # 1.2.156.10197.1.501
oid_ecdsa_sha256 = bytes.fromhex("06082a8648ce3d040302")
bits = tlv(0x03, b"\x00" + sig)
for name, alg in (("ctl_null.der", oid501 + b"\x05\x00"), ("ctl_absent.der", oid501),
                  ("ctl_wrongalg.der", oid_ecdsa_sha256)):
    open(name, "wb").write(tlv(0x30, tbs + tlv(0x30, alg) + bits))
EOF
tbs_len=$(stat -c %s tbs.der)
expect_ok "signed object, SM2-with-SM3 params NULL" "$BCV" signed --issuer root.pem ctl_null.der
expect_field "tbs length and NULL params reported" "\"tbs_length\":$tbs_len,\"alg_params\":\"NULL\""
expect_ok "signed object, params absent" "$BCV" signed --issuer root.pem ctl_absent.der
expect_field "absent params reported" '"alg_params":"absent"'
expect_reject "signed object with a non-SM2 algorithm OID is rejected" 'is not SM2-with-SM3' \
  "$BCV" signed --issuer root.pem ctl_wrongalg.der
expect_reject "signed object checked against the wrong signer is rejected" 'does not verify' \
  "$BCV" signed --issuer leaf.pem ctl_null.der

# --- 3-level chain: root -> intermediate (pathlen 0) -> leaf, GM/T ID on every step ---------
key inter; csr inter "Interop Intermediate" -sigopt "distid:$ID"
issue inter root 0x2001 v3_inter -sigopt "distid:$ID"
key leaf3; csr leaf3 "Leaf under intermediate" -sigopt "distid:$ID"
issue leaf3 inter 0x2002 v3_leaf -sigopt "distid:$ID"
expect_ok "3-level GM/T chain accepted by BC" \
  "$BCV" chain --anchor root.pem --untrusted inter.pem leaf3.pem
expect_field "path has 3 certificates" '"depth":3'
expect_reject "3-level chain without the intermediate has no issuer" 'no issuer' \
  "$BCV" chain --anchor root.pem leaf3.pem
# STANDARDS-NOTES §8.1: `openssl verify -vfyopt distid:` applies the ID to the leaf only and
# checks the intermediate with the empty ID, so OpenSSL 3.0 rejects this valid chain.
if openssl version | grep -q '^OpenSSL 3\.0\.'; then
  if openssl verify -CAfile root.pem -vfyopt "distid:$ID" leaf.pem >ossl.txt 2>&1; then
    ok "openssl verify (3.0) -vfyopt accepts the 2-level chain (the ID reaches the leaf)"
  else
    bad "openssl verify (3.0) 2-level chain"; cat ossl.txt
  fi
  if openssl verify -CAfile root.pem -untrusted inter.pem -vfyopt "distid:$ID" leaf3.pem \
      >ossl.txt 2>&1; then
    bad "openssl verify (3.0) was expected to reject the 3-level GM/T chain"; cat ossl.txt
  elif grep -q 'error 7 at 1 depth lookup: certificate signature failure' ossl.txt; then
    ok "openssl verify (3.0) rejects the 3-level GM/T chain (at the intermediate); BC accepts it"
  else
    bad "openssl verify (3.0) rejected the 3-level chain for an unexpected reason"; cat ossl.txt
  fi
else
  echo "SKIP: openssl verify assertion is specific to OpenSSL 3.0 ($(openssl version))"
fi

# pathLen: inter has pathlen:0, so a sub-CA under it may not issue.
key subca; csr subca "Sub CA" -sigopt "distid:$ID"
issue subca inter 0x2003 v3_subca -sigopt "distid:$ID"
key leaf4; csr leaf4 "Leaf under sub CA" -sigopt "distid:$ID"
issue leaf4 subca 0x2004 v3_leaf -sigopt "distid:$ID"
expect_reject "pathLenConstraint 0 violated by a sub-CA is rejected" 'pathLenConstraint' \
  "$BCV" chain --anchor root.pem --untrusted inter.pem --untrusted subca.pem leaf4.pem
# An end-entity certificate (CA:false) cannot act as an issuer.
key leaf5; csr leaf5 "Issued by a leaf" -sigopt "distid:$ID"
issue leaf5 leaf 0x2005 v3_leaf -sigopt "distid:$ID"
expect_reject "a CA:false certificate cannot issue" 'basicConstraints cA is not true' \
  "$BCV" chain --anchor root.pem --untrusted leaf.pem leaf5.pem

expect_reject_usage() {
  local rc=0
  "$BCV" "$@" >out.json 2>err.txt || rc=$?
  if [ "$rc" -eq 2 ]; then ok "usage error exits 2: $*"; else bad "usage error rc=$rc: $*"; fi
}
expect_reject_usage chain leaf.pem
expect_reject_usage frobnicate

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
