#!/usr/bin/env python3
"""`openssl ca` as the issuance peer: an SM2 CA signing SM2 CSRs with the GM/T ID.

Two measurements, one JSON line each (same fields as bench_http_load):
  * one `openssl ca` process per CSR, sequentially, as an operator script would run it
    (process start, config and CA key load, CSR verify, sign, index.txt rewrite, output);
  * one process with -infiles and many CSRs (the batch path; no per-certificate latency).
`openssl ca` keeps its database in a text file (index.txt) that it rewrites without fsync,
so it is NOT durable in the sense gmpki's commit is; see bench/README.md.

usage: openssl_ca_bench.py WORKDIR CSR_DIR SINGLE_COUNT BATCH_COUNT JSON_OUT
"""
import json
import os
import statistics
import subprocess
import sys
import time

DISTID = "distid:1234567812345678"


def run(*args, **kw):
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, **kw)


def setup(work):
    os.makedirs(os.path.join(work, "newcerts"), exist_ok=True)
    open(os.path.join(work, "index.txt"), "w").close()
    with open(os.path.join(work, "serial"), "w") as f:
        f.write("1000\n")
    with open(os.path.join(work, "ca.cnf"), "w") as f:
        f.write(f"""[ ca ]
default_ca = bench
[ bench ]
dir = {work}
database = $dir/index.txt
new_certs_dir = $dir/newcerts
serial = $dir/serial
certificate = $dir/ca.pem
private_key = $dir/ca.key
default_md = sm3
default_days = 730
policy = anything
unique_subject = no
copy_extensions = none
x509_extensions = leaf
[ anything ]
countryName = optional
organizationName = optional
commonName = supplied
[ leaf ]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,nonRepudiation
extendedKeyUsage = clientAuth,emailProtection
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
crlDistributionPoints = URI:http://127.0.0.1:8080/crl/bench.crl
authorityInfoAccess = caIssuers;URI:http://127.0.0.1:8080/ca/bench.crt
[ req ]
distinguished_name = dn
[ dn ]
[ v3ca ]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
""")
    run("openssl", "genpkey", "-algorithm", "SM2", "-out", os.path.join(work, "ca.key"))
    run("openssl", "req", "-new", "-x509", "-config", os.path.join(work, "ca.cnf"),
        "-extensions", "v3ca", "-key", os.path.join(work, "ca.key"), "-sm3", "-sigopt", DISTID,
        "-subj", "/C=CN/O=bench/CN=openssl ca SM2 bench CA", "-days", "3650",
        "-out", os.path.join(work, "ca.pem"))


def ca_cmd(work):
    return ["openssl", "ca", "-batch", "-notext", "-config", os.path.join(work, "ca.cnf"),
            "-md", "sm3", "-sigopt", DISTID, "-vfyopt", DISTID]


def pct(sorted_ms, p):
    if not sorted_ms:
        return 0.0
    i = min(len(sorted_ms) - 1, int(p * (len(sorted_ms) - 1) + 0.5))
    return sorted_ms[i]


def main():
    work, csr_dir, single, batch, out = sys.argv[1:6]
    single, batch = int(single), int(batch)
    setup(work)
    csrs = sorted(os.path.join(csr_dir, f) for f in os.listdir(csr_dir) if f.endswith(".csr"))
    results = []

    lat = []
    t_start = time.perf_counter()
    for i in range(single):
        t0 = time.perf_counter()
        run(*ca_cmd(work), "-in", csrs[i % len(csrs)], "-out", os.path.join(work, "one.pem"))
        lat.append((time.perf_counter() - t0) * 1000)
    secs = time.perf_counter() - t_start
    lat.sort()
    results.append({"label": "openssl-ca", "mode": "process/cert", "concurrency": 1,
                    "ok": single, "errors": 0, "seconds": secs, "per_s": single / secs,
                    "p50_ms": pct(lat, 0.5), "p99_ms": pct(lat, 0.99),
                    "mean_ms": statistics.mean(lat), "max_ms": lat[-1]})

    files = [csrs[i % len(csrs)] for i in range(batch)]
    index = os.path.join(work, "index.txt")
    before = sum(1 for _ in open(index))
    t0 = time.perf_counter()
    run(*ca_cmd(work), "-out", os.path.join(work, "batch.pem"), "-infiles", *files)
    secs = time.perf_counter() - t0
    # OpenSSL 3.0 leaves only the last certificate in -out with -infiles; count the database.
    issued = sum(1 for _ in open(index)) - before
    results.append({"label": "openssl-ca", "mode": "-infiles", "concurrency": 1, "ok": issued,
                    "errors": batch - issued, "seconds": secs, "per_s": issued / secs,
                    "p50_ms": None, "p99_ms": None, "mean_ms": secs * 1000 / max(issued, 1),
                    "max_ms": None})
    # Check one of them really verifies with the GM/T ID (the CA is the trust anchor).
    run("openssl", "verify", "-CAfile", os.path.join(work, "ca.pem"), "-vfyopt", DISTID,
        os.path.join(work, "one.pem"))
    with open(out, "a") as f:
        for r in results:
            f.write(json.dumps(r) + "\n")
            print(f"{r['label']:<28} {r['mode']:<12} c=1   ok={r['ok']:<6} {r['per_s']:8.1f}/s",
                  file=sys.stderr)


if __name__ == "__main__":
    main()
