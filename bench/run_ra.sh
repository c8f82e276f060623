#!/usr/bin/env bash
# Registration systems against one CA, and registration at an RA (issue #4 item 6; PF-02, PF-03;
# bench/README.md "bench_ra_load").
#
#   bench/run_ra.sh BUILD_DIR [--quick]
#
# Builds nothing: BUILD_DIR must hold apps/gmpki, apps/gmpki-server, bench/bench_ra_load and
# bench/bench_http_load. Works in a fresh temp dir (GMPKI_BENCH_TMP chooses where; removed at
# the end), starts gmpki-server on 127.0.0.1 with ports the OS picks and stops it by PID.
# About 1 minute; --quick about 30 s (shorter phases; still 500 RAs connected, 64 submitting).
# GMPKI_BENCH_PERF=DIR also samples the server with `perf record -g` during the RA-link multi-RA
# phase and the registration phase (DIR/perf-ra-link.data, DIR/perf-register.data) and prints
# the top of `perf report` for each.
set -euo pipefail
BUILD=$(cd "${1:?usage: run_ra.sh BUILD_DIR [--quick]}" && pwd)
QUICK=${2:-}
GMPKI=$BUILD/apps/gmpki
SERVER=$BUILD/apps/gmpki-server
RAL=$BUILD/bench/bench_ra_load
LOAD=$BUILD/bench/bench_http_load
for b in "$GMPKI" "$SERVER" "$RAL" "$LOAD"; do
  [ -x "$b" ] || { echo "missing $b: build gmpki gmpki-server bench_ra_load bench_http_load" >&2; exit 2; }
done

# Phase lengths (s) and fresh-CSR pools sized above what the 2-core VM reaches in that time.
if [ "$QUICK" = --quick ]; then
  NRA=500; SUBMIT=64; D=4; SD=3; BD=4; RD=4; NCA=1000
  POOLS=(--pool-multi 16000 --pool-single 8000 --pool-batch 24576)
else
  NRA=500; SUBMIT=64; D=10; SD=6; BD=10; RD=10; NCA=4000
  POOLS=(--pool-multi 40000 --pool-single 16000 --pool-batch 61440)
fi

T=$(mktemp -d "${GMPKI_BENCH_TMP:-/tmp}/gmpki-rabench.XXXXXX")
GPID=
cleanup() {
  if [ -n "$GPID" ] && kill -0 "$GPID" 2>/dev/null; then kill "$GPID"; wait "$GPID" 2>/dev/null || true; fi
  rm -rf "$T"
}
trap cleanup EXIT
R=$T/results.jsonl
: > "$R"
cd "$T"
# The RA processes hold one socket per RA; 500 plus files fit the usual 1024, but be sure.
ulimit -n 4096 2>/dev/null || true
echo "== $(nproc) cores; load average at start: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)

H=$T/home
"$GMPKI" init --home "$H" --demo --listen 127.0.0.1:0 --http-listen 127.0.0.1:0 >/dev/null
echo "== enrolling $NRA registration systems (Node::EnrolRa: SM2 signing cert + TLS client cert)" >&2
S0=$(date +%s.%N)
"$RAL" setup --home "$H" --out ras.jsonl -n "$NRA"
echo "   took $(python3 -c "print(round($(date +%s.%N) - $S0, 1))") s" >&2

"$SERVER" --home "$H" --listen 127.0.0.1:0 --http-listen 127.0.0.1:0 --port-file ports.json \
  > server.log 2>&1 &
GPID=$!
for _ in $(seq 100); do [ -s ports.json ] && break; sleep 0.1; done
[ -s ports.json ] || { cat server.log >&2; echo "gmpki-server did not start" >&2; exit 1; }
PORT=$(python3 -c 'import json; print(json.load(open("ports.json"))["https"])')
PERF=${GMPKI_BENCH_PERF:-}
PERFPID=
perf_start() {  # perf_start NAME
  [ -n "$PERF" ] || return 0
  mkdir -p "$PERF"
  perf record -F 499 -g -p "$GPID" -o "$PERF/perf-$1.data" >/dev/null 2>&1 &
  PERFPID=$!
  sleep 0.5
}
perf_stop() {  # perf_stop NAME
  [ -n "$PERFPID" ] || return 0
  kill -INT "$PERFPID"; wait "$PERFPID" 2>/dev/null || true
  PERFPID=
  echo "-- perf top symbols, server, $1 (self time, all threads)" >&2
  perf report -i "$PERF/perf-$1.data" --no-children -g none --stdio --percent-limit 1 \
    2>/dev/null | grep '%' | head -40 >&2 || true
}

echo "== RA link: $NRA RAs connected, $SUBMIT submitting; 1 RA; 8 RAs issue-many x256" >&2
perf_start ra-link
"$RAL" run --port "$PORT" --ca-file "$H/tls/ca.pem" --ras ras.jsonl --connect "$NRA" \
  --submit "$SUBMIT" --duration "$D" --single-duration "$SD" --batch-duration "$BD" \
  --batch-ras 8 --batch-items 256 "${POOLS[@]}" --server-pid "$GPID" --json-out "$R" >/dev/null
perf_stop ra-link

# The CA's own full rate in the same run, for comparison: the operator API at c=64 (as
# run_issuance.sh), 64 SM2 CSRs made by OpenSSL.
echo "== CA operator API, c=64 (reference: the CA's full rate in this run)" >&2
mkdir -p csr
for i in $(seq 1 64); do
  openssl genpkey -algorithm SM2 -out csr/$i.key 2>/dev/null
  openssl req -new -key csr/$i.key -sm3 -sigopt distid:1234567812345678 \
    -subj "/C=CN/O=MOHRSS/CN=Bench User $i" -out csr/$i.csr
done
python3 - <<'PY'
import glob, json
with open("ca.jsonl", "w") as f:
    for p in sorted(glob.glob("csr/*.csr")):
        f.write(json.dumps({"profile": "personal-sign", "csr": open(p).read()}) + "\n")
PY
OP=$H/demo/operators/op-ca-operator
"$LOAD" --port "$PORT" --tls --ca "$H/tls/ca.pem" --cert "$OP/cert.pem" --key "$OP/key.pem" \
  --pass-file "$OP/passphrase" --path /api/v1/cas/ministry-ca/certificates --bodies ca.jsonl \
  --expect 201 --label ca-operator-api --json-out "$R" --server-pid "$GPID" -c 64 -n "$NCA" >/dev/null

echo "== registration: POST /api/v1/ra/subscribers, c=64, distinct resident IDs" >&2
RO=$H/demo/operators/op-ra-operator
perf_start register
"$RAL" register --port "$PORT" --ca-file "$H/tls/ca.pem" --cert "$RO/cert.pem" \
  --key "$RO/key.pem" --pass-file "$RO/passphrase" -c 64 --duration "$RD" \
  --server-pid "$GPID" --json-out "$R" >/dev/null
perf_stop register

kill "$GPID"; wait "$GPID" 2>/dev/null || true
GPID=
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)

echo
python3 - "$R" "$H/gmpki.db" "$LOAD_START" "$LOAD_END" "$NRA" <<'PY'
import json, sqlite3, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
db = sqlite3.connect("file:" + sys.argv[2] + "?mode=ro", uri=True)
q = lambda sql: db.execute(sql).fetchone()[0]
ph = {r.get("phase", r.get("label")): r for r in rows if "phase" in r or "label" in r}
multi, single, batch = ph["multi-ra"], ph["single-ra"], ph["batch"]
reg, caapi, summ = ph["register"], ph["ca-operator-api"], ph["summary"]
conn = ph["connect"]
calls = [r for r in rows if r.get("phase") == "roll-call"]

print(f"RA link and registration, {sys.argv[5]} RAs enrolled; load average "
      f"{sys.argv[3]} at start, {sys.argv[4]} at end")
print()
print("| phase | RAs submitting | op | certs/s | requests/s | p50 ms | p99 ms | server CPU µs/cert | ok | failed |")
print("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|")
for r in (multi, single, batch):
    print(f"| {r['phase']} | {r['ras_submitting']} | {r['op']}"
          f"{'' if r['op'] == 'issue' else ' x' + str(r['items_per_request'])} "
          f"| {r['certs_per_s']:.0f} | {r['requests_per_s']:.1f} | {r['p50_ms']:.2f} "
          f"| {r['p99_ms']:.2f} | {r.get('server_cpu_us_per_cert', 0):.0f} | {r['certs_ok']} "
          f"| {r['certs_failed']}{' (pool used up)' if r['pool_exhausted'] else ''} |")
print(f"| CA operator API (reference) | - | POST certificates c=64 | {caapi['per_s']:.0f} "
      f"| {caapi['per_s']:.0f} | {caapi['p50_ms']:.2f} | {caapi['p99_ms']:.2f} "
      f"| {caapi.get('server_cpu_us', 0):.0f} | {caapi['ok']} | {caapi['errors']} |")
print(f"| registration | c=64 (1 operator) | POST subscribers | - | {reg['requests_per_s']:.0f} "
      f"| {reg['p50_ms']:.2f} | {reg['p99_ms']:.2f} | {reg.get('server_cpu_us', 0):.0f} "
      f"| {reg['requests_ok']} | {reg['requests_failed']} |")
print()
print(f"connections: {conn['opened']} of {conn['ras']} RAs connected at once with their own "
      f"certificates in {conn['seconds']:.2f} s (server sockets +{conn.get('server_sockets_added', '?')});"
      " roll calls (signed ca-chain on the first connection): " +
      ", ".join(f"{c['when']} {c['answered_on_first_connection']}/{c['connected']}" for c in calls))
ratio = summ["multi_over_single"]
print(f"{multi['ras_submitting']}-RA rate / single-RA rate: {ratio:.2f}")
print(f"batch (issue-many) / {multi['ras_submitting']}-RA issue: "
      f"{batch['certs_per_s'] / max(multi['certs_per_s'], 1e-9):.2f}; batch / CA operator API c=64: "
      f"{batch['certs_per_s'] / max(caapi['per_s'], 1e-9):.2f}")
print(f"registration: {reg['requests_per_s']:.0f}/s = {reg['per_hour']:,.0f}/h; target 10,000/s: "
      f"{reg['requests_per_s'] / 10000:.2f}x; seed floor 30,000/h: {reg['per_hour'] / 30000:.0f}x")
best = max(multi["certs_per_s"], batch["certs_per_s"]) * 3600
print(f"issuance through the RA link: {best:,.0f}/h; seed floor 50,000/h: {best / 50000:.0f}x")

# Every success counted above is a committed row.
ra_certs = q("select count(*) from certificates where requested_by like 'ra:%'")
ra_reqs = q("select count(*) from ca_ra_requests where outcome = 'success' and op in ('issue','issue-many')")
subs = q("select count(*) from ra_subscribers")
ok_reqs = multi["requests_ok"] + single["requests_ok"] + batch["requests_ok"]
print()
print(f"rows: certificates requested by RAs {ra_certs} (counted ok: {summ['certs_issued_ok']}); "
      f"ca_ra_requests issue/issue-many success {ra_reqs} (counted ok: {ok_reqs}); "
      f"ra_subscribers {subs} (counted ok: {reg['requests_ok']})")
bad = ra_certs < summ["certs_issued_ok"] or ra_reqs < ok_reqs or subs < reg["requests_ok"]
if bad:
    print("MISMATCH: a counted success has no committed row")
    sys.exit(1)
PY
