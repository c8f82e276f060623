#!/usr/bin/env python3
"""Prints the table of bench/run_issuance.sh from its result files.

usage: report.py RESULTS.jsonl INPROC.json MICRO.json TMPFS.json ISSUED_ROWS CFSSL_ROWS
(INPROC/MICRO/TMPFS are Google Benchmark JSON outputs; a missing file is skipped.)
"""
import json
import os
import sys


def load_gbench(path):
    if not os.path.exists(path):
        return {}
    with open(path) as f:
        data = json.load(f)
    out = {}
    for b in data.get("benchmarks", []):
        scale = {"ns": 1, "us": 1e3, "ms": 1e6, "s": 1e9}[b.get("time_unit", "ns")]
        out[b["name"]] = {"real_ns": b["real_time"] * scale, "cpu_ns": b["cpu_time"] * scale,
                          "per_s": b.get("items_per_second", 0.0), "error": b.get("error_message"),
                          "p50_ms": b["p50_us"] / 1e3 if "p50_us" in b else None,
                          "p99_ms": b["p99_us"] / 1e3 if "p99_us" in b else None}
    return out


def fmt(x, spec="8.2f"):
    if isinstance(x, (int, float)):
        return ("{:" + spec + "}").format(x)
    width = int(spec.split(".")[0])
    return f"{'-':>{width}}"


def main():
    results_path, inproc_path, micro_path, tmpfs_path, issued, cfssl_rows = sys.argv[1:7]
    rows = [json.loads(l) for l in open(results_path) if l.strip()]
    inproc = load_gbench(inproc_path)
    micro = load_gbench(micro_path)
    tmpfs = load_gbench(tmpfs_path)
    for name, b in sorted(inproc.items()):
        threads = name.rsplit(":", 1)[-1]
        rows.append({"label": "gmpki-inprocess", "mode": "CaService::Issue",
                     "concurrency": int(threads) if threads.isdigit() else 1, "per_s": b["per_s"],
                     "p50_ms": b["p50_ms"], "p99_ms": b["p99_ms"], "mean_ms": b["real_ns"] / 1e6,
                     "errors": 0})

    print("Issuance throughput and latency (one run, same machine; p50/p99 per request)")
    print(f"{'system':<18} {'path':<17} {'conc':>4} {'certs/s':>9} {'p50 ms':>8} {'p99 ms':>8} "
          f"{'errors':>6} {'srv CPU us':>10} {'cli CPU us':>10}")
    print("-" * 98)
    for r in rows:
        print(f"{r['label']:<18} {r['mode']:<17} {r['concurrency']:>4} {r['per_s']:9.1f} "
              f"{fmt(r.get('p50_ms'))} {fmt(r.get('p99_ms'))} {r.get('errors', 0):>6} "
              f"{fmt(r.get('server_cpu_us'), '10.0f')} {fmt(r.get('client_cpu_us'), '10.0f')}")
    print("(srv/cli CPU us: CPU time per certificate of the server process and of the "
          "load generator; in-process rows: -)")
    print(f"(gmpki rows stored by the HTTPS runs: {issued}; "
          f"cfssl-sqlite rows stored: {cfssl_rows})")
    if any(r.get("first_error") for r in rows):
        for r in rows:
            if r.get("first_error"):
                print(f"  {r['label']} c={r['concurrency']} {r['mode']}: {r['first_error'][:200]}")

    def find(label, mode, conc):
        for r in rows:
            if r["label"] == label and r["mode"] == mode and r["concurrency"] == conc:
                return r["per_s"]
        return None

    print("\nRatios (certs/s, higher is better for gmpki)")
    pairs = [
        ("gmpki HTTPS keep-alive c=1 / openssl ca process per cert",
         find("gmpki-https", "keep-alive", 1), find("openssl-ca", "process/cert", 1)),
        ("gmpki HTTPS keep-alive c=64 / openssl ca -infiles batch",
         find("gmpki-https", "keep-alive", 64), find("openssl-ca", "-infiles", 1)),
        ("gmpki HTTPS keep-alive c=1 / cfssl+sqlite c=1",
         find("gmpki-https", "keep-alive", 1), find("cfssl-sqlite", "keep-alive", 1)),
        ("gmpki HTTPS keep-alive c=64 / cfssl+sqlite c=64",
         find("gmpki-https", "keep-alive", 64), find("cfssl-sqlite", "keep-alive", 64)),
        ("gmpki HTTPS keep-alive c=64 / cfssl in-memory c=64",
         find("gmpki-https", "keep-alive", 64), find("cfssl-memory", "keep-alive", 64)),
    ]
    for text, a, b in pairs:
        print(f"  {text:<58} {a / b if a and b else float('nan'):7.2f}")

    if micro:
        print("\nWhere the time goes (in-process micro-benchmarks, wall time per operation)")
        for name, b in micro.items():
            print(f"  {name:<40} {b['real_ns'] / 1e3:10.1f} us  ({b['per_s']:10.0f}/s)")
        g = lambda n: micro.get(n, {}).get("real_ns", 0.0)
        cpu = (g("BM_CsrParseVerifyPoP") + 2 * g("BM_CertParse") + g("BM_TbsBuildAndDeviceSign")
               + g("BM_DbBeginSelectRollback"))
        commit = g("BM_DbInsertAuditCommit/real_time")
        print(f"  model of one Issue(): CSR parse+PoP + 2 x cert parse + TBS+sign + CA row read = "
              f"{cpu / 1e3:.0f} us CPU, + insert/audit/commit {commit / 1e3:.0f} us "
              f"=> {1e9 / (cpu + commit):.0f}/s for one thread doing them in sequence")
        one = inproc.get("BM_Issue/real_time/threads:1")
        if one:
            print(f"  measured Issue() single thread: {one['real_ns'] / 1e3:.0f} us "
                  f"({one['per_s']:.0f}/s)")
    if tmpfs:
        print("\nSame in-process runs with the home on tmpfs (/dev/shm: fsync costs ~nothing)")
        for name, b in tmpfs.items():
            print(f"  {name:<40} {b['real_ns'] / 1e3:10.1f} us  ({b['per_s']:10.0f}/s)")


if __name__ == "__main__":
    main()
