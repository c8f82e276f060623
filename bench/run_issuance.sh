#!/usr/bin/env bash
# Issuance benchmark, gmpki beside `openssl ca` and `cfssl serve`, in one run (bench/README.md).
#
#   bench/run_issuance.sh BUILD_DIR [--quick]
#
# Builds nothing: BUILD_DIR must hold apps/gmpki, apps/gmpki-server, bench/bench_issuance and
# bench/bench_http_load. Everything is set up under a fresh temp dir (removed at the end);
# servers bind 127.0.0.1 and are stopped by PID. Set GMPKI_BENCH_TMP to put the temp dir (and
# so the databases) elsewhere, e.g. on a tmpfs to take fsync out. Takes about 1-2 minutes.
set -euo pipefail
BUILD=$(cd "${1:?usage: run_issuance.sh BUILD_DIR [--quick]}" && pwd)
QUICK=${2:-}
HERE=$(cd "$(dirname "$0")" && pwd)
GMPKI=$BUILD/apps/gmpki
SERVER=$BUILD/apps/gmpki-server
BI=$BUILD/bench/bench_issuance
LOAD=$BUILD/bench/bench_http_load
for b in "$GMPKI" "$SERVER" "$BI" "$LOAD"; do
  [ -x "$b" ] || {
    echo "missing $b: build gmpki gmpki-server bench_issuance bench_http_load" >&2; exit 2; }
done
command -v cfssl >/dev/null || {
  echo "cfssl not found (Debian: apt-get install golang-cfssl)" >&2; exit 2; }

# Request counts: each load run lasts a few seconds at the rates measured on a 2-core VM.
if [ "$QUICK" = --quick ]; then N1=60; N64=300; NCA=30; NBATCH=200; MIN_T=0.3
else N1=300; N64=1500; NCA=150; NBATCH=1000; MIN_T=1.5; fi

T=$(mktemp -d "${GMPKI_BENCH_TMP:-/tmp}/gmpki-bench.XXXXXX")
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do
    if kill -0 "$p" 2>/dev/null; then kill "$p"; wait "$p" 2>/dev/null || true; fi
  done
  rm -rf "$T"
  if [ -n "${SHM_HOME:-}" ]; then rm -rf "$SHM_HOME"; fi
}
trap cleanup EXIT
R=$T/results.jsonl
: > "$R"
cd "$T"
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
wait_port() {  # wait_port PORT
  for _ in $(seq 100); do
    python3 -c "import socket; socket.create_connection(('127.0.0.1',$1),0.2)" 2>/dev/null &&
      return 0
    sleep 0.1
  done
  return 1
}
echo "== setup in $T" >&2

# --- CSRs: SM2 with the GM/T ID for gmpki and openssl ca; ECDSA P-256 for cfssl (no SM2) ---
mkdir -p csr-sm2 csr-p256
for i in $(seq 1 64); do
  openssl genpkey -algorithm SM2 -out csr-sm2/$i.key 2>/dev/null
  openssl req -new -key csr-sm2/$i.key -sm3 -sigopt distid:1234567812345678 \
    -subj "/C=CN/O=MOHRSS/CN=Bench User $i" -out csr-sm2/$i.csr
  openssl ecparam -name prime256v1 -genkey -noout -out csr-p256/$i.key
  openssl req -new -key csr-p256/$i.key -sha256 -subj "/C=CN/O=MOHRSS/CN=Bench User $i" \
    -out csr-p256/$i.csr
done
python3 - <<'PY'
import glob, json
with open("gmpki.jsonl", "w") as f:
    for p in sorted(glob.glob("csr-sm2/*.csr")):
        f.write(json.dumps({"profile": "personal-sign", "csr": open(p).read()}) + "\n")
with open("cfssl.jsonl", "w") as f:
    for p in sorted(glob.glob("csr-p256/*.csr")):
        f.write(json.dumps({"certificate_request": open(p).read()}) + "\n")
PY

# --- gmpki over HTTPS (mutual TLS with the demo CA operator) ---
# start_gmpki HOME: inits a demo home, starts gmpki-server on it, sets G (load options) and GPID.
start_gmpki() {
  local home=$1 label=$2
  "$GMPKI" init --home "$home" --demo --listen 127.0.0.1:0 --http-listen 127.0.0.1:0 >/dev/null
  rm -f ports.json
  "$SERVER" --home "$home" --listen 127.0.0.1:0 --http-listen 127.0.0.1:0 --port-file ports.json \
    > "server-$label.log" 2>&1 &
  GPID=$!
  PIDS+=($GPID)
  for _ in $(seq 100); do [ -s ports.json ] && break; sleep 0.1; done
  [ -s ports.json ] || {
    cat "server-$label.log" >&2; echo "gmpki-server did not start" >&2; exit 1; }
  local port; port=$(python3 -c 'import json; print(json.load(open("ports.json"))["https"])')
  local op=$home/demo/operators/op-ca-operator
  G=(--port "$port" --tls --ca "$home/tls/ca.pem" --cert "$op/cert.pem" --key "$op/key.pem"
     --pass-file "$op/passphrase" --path /api/v1/cas/ministry-ca/certificates
     --bodies gmpki.jsonl --expect 201 --label "$label" --json-out "$R" --server-pid "$GPID")
}
H=$T/home
echo "== gmpki-server over HTTPS" >&2
start_gmpki "$H" gmpki-https
"$LOAD" "${G[@]}" -c 1 -n "$N1" >/dev/null
"$LOAD" "${G[@]}" -c 64 -n "$N64" >/dev/null
"$LOAD" "${G[@]}" -c 1 -n $((N1 / 2)) --no-keepalive >/dev/null
"$LOAD" "${G[@]}" -c 64 -n "$N64" --no-keepalive >/dev/null
"$LOAD" "${G[@]}" -c 64 -n "$N64" --net-client >/dev/null
kill "$GPID"; wait "$GPID" || true
# Every 201 above is a committed row: count them in the database (read-only, server stopped).
count_rows() {  # count_rows DB SQL
  python3 -c 'import sqlite3, sys
c = sqlite3.connect("file:" + sys.argv[1] + "?mode=ro", uri=True)
print(c.execute(sys.argv[2]).fetchone()[0])' "$1" "$2" || echo "?"
}
ISSUED=$(count_rows "$H/gmpki.db" "select count(*) from certificates where ca='ministry-ca'")
# The same server with its home on tmpfs: what the HTTPS path gives once fsync is amortised
# (an upper bound for group commit; NOT a durable configuration).
SHM_HOME=
if [ -d /dev/shm ] && [ -w /dev/shm ]; then
  SHM_HOME=$(mktemp -d /dev/shm/gmpki-bench.XXXXXX)
  echo "== gmpki-server over HTTPS, home on tmpfs" >&2
  start_gmpki "$SHM_HOME/home" gmpki-https-tmpfs
  "$LOAD" "${G[@]}" -c 1 -n "$N1" >/dev/null
  "$LOAD" "${G[@]}" -c 64 -n $((N64 * 2)) >/dev/null
  kill "$GPID"; wait "$GPID" || true
  rm -rf "$SHM_HOME"
fi

# --- gmpki in process (CaService::Issue), same disk ---
echo "== gmpki in process" >&2
GMPKI_BENCH_DIR=$T "$BI" --benchmark_filter='^BM_Issue' --benchmark_min_time=$MIN_T \
  --benchmark_format=json --benchmark_out=inproc.json --benchmark_out_format=json >/dev/null 2>&1
GMPKI_BENCH_DIR=$T "$BI" --benchmark_filter='^BM_(Csr|Sm2|Device|Tbs|Cert|OpenSsl|Db|Raw)' \
  --benchmark_min_time=0.3 --benchmark_format=json --benchmark_out=micro.json \
  --benchmark_out_format=json >/dev/null 2>&1
if [ -d /dev/shm ] && [ -w /dev/shm ]; then
  GMPKI_BENCH_DIR=/dev/shm "$BI" --benchmark_filter='^BM_(Issue/real_time/threads:1|Db|Raw)' \
    --benchmark_min_time=0.5 --benchmark_format=json --benchmark_out=tmpfs.json \
    --benchmark_out_format=json >/dev/null 2>&1
fi

# --- openssl ca (SM2 CA, SM2 CSRs) ---
echo "== openssl ca" >&2
mkdir -p osslca
python3 "$HERE/openssl_ca_bench.py" "$T/osslca" csr-sm2 "$NCA" "$NBATCH" "$R"

# --- cfssl serve (ECDSA P-256), in memory and with its SQLite certificate database ---
mkdir -p cfssl && cd cfssl
openssl ecparam -name prime256v1 -genkey -noout -out ca-key.pem
openssl req -new -x509 -key ca-key.pem -sha256 -days 3650 -subj "/C=CN/O=bench/CN=cfssl bench CA" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
  -out ca.pem
cat > config.json <<'EOF'
{"signing": {"default": {"expiry": "17520h",
  "usages": ["signing", "digital signature", "client auth", "email protection"]}}}
EOF
# certdb schema of cfssl (certdb/sqlite/migrations); authority_key_identifier nullable so that
# both the 2016 Debian build and later ones can insert.
python3 - <<'PY'
import sqlite3
c = sqlite3.connect("certs.db")
c.executescript("""
CREATE TABLE certificates (serial_number blob NOT NULL, authority_key_identifier blob,
  ca_label blob, status blob NOT NULL, reason int, expiry timestamp, revoked_at timestamp,
  pem blob NOT NULL, PRIMARY KEY(serial_number));
CREATE TABLE ocsp_responses (serial_number blob NOT NULL, authority_key_identifier blob,
  body blob NOT NULL, expiry timestamp, PRIMARY KEY(serial_number));
""")
c.commit()
PY
echo "{\"driver\": \"sqlite3\", \"data_source\": \"$T/cfssl/certs.db\"}" > db.json
cd "$T"
run_cfssl() {  # run_cfssl LABEL [extra cfssl args]
  local label=$1; shift
  local port; port=$(free_port)
  cfssl serve -address 127.0.0.1 -port "$port" -ca cfssl/ca.pem -ca-key cfssl/ca-key.pem \
    -config cfssl/config.json -loglevel 4 "$@" > "cfssl-$label.log" 2>&1 &
  local pid=$!
  PIDS+=($pid)
  wait_port "$port" || { cat "cfssl-$label.log" >&2; echo "cfssl did not start" >&2; exit 1; }
  local C=(--port "$port" --path /api/v1/cfssl/sign --bodies cfssl.jsonl --expect 200
           --label "$label" --json-out "$R" --server-pid "$pid")
  "$LOAD" "${C[@]}" -c 1 -n "$N1" >/dev/null || true
  "$LOAD" "${C[@]}" -c 64 -n $((N64 * 2)) >/dev/null || true
  kill "$pid"; wait "$pid" 2>/dev/null || true
}
echo "== cfssl serve" >&2
run_cfssl cfssl-memory
run_cfssl cfssl-sqlite -db-config cfssl/db.json
CFSSL_ROWS=$(count_rows "$T/cfssl/certs.db" "select count(*) from certificates")

echo
python3 "$HERE/report.py" "$R" inproc.json micro.json tmpfs.json "$ISSUED" "$CFSSL_ROWS"
