// In-process issuance benchmark: CaService::Issue on a fresh demo home, and micro-benchmarks of
// the pieces one issuance is made of, so that "where the time goes" is measured rather than
// guessed. One Issue() is, in order (services/ca/ca_certs.cc, ca_common.cc):
//   BEGIN IMMEDIATE (process-wide write lock) -> CSR parse -> SM2 PoP verify -> SELECT the CA
//   row + parse its certificate + open a device session -> TBS build -> SM2 sign in the device
//   -> parse the new certificate -> INSERT -> audit append (SM3 chain) -> COMMIT (WAL fsync).
// Everything after BEGIN runs under the write lock, so issuance is serial whatever the number
// of threads; BM_Issue/threads:N shows it.
//
// The home is created under $GMPKI_BENCH_DIR (default /tmp): point it at a tmpfs (/dev/shm) to
// see what issuance costs without the fsync of a durable disk. The database is warmed up first
// (see Env::WarmUpDatabase); GMPKI_BENCH_NO_WARMUP=1 measures a fresh database instead.
#include <fcntl.h>
#include <unistd.h>

#include <benchmark/benchmark.h>
#include <openssl/x509.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "audit/audit.h"
#include "base/clock.h"
#include "crypto/sm2.h"
#include "crypto/sm3.h"
#include "services/node/node.h"
#include "x509/certificate.h"
#include "x509/csr.h"
#include "x509/name.h"
#include "x509/signer.h"

namespace {

using namespace gmpki;
namespace fs = std::filesystem;

constexpr int kCsrPool = 128;
constexpr char kCa[] = "ministry-ca";

[[noreturn]] void Die(const std::string& what, const Error& e) {
  std::cerr << "bench_issuance: " << what << ": " << e.ToString() << "\n";
  std::exit(1);
}

template <class T>
T Must(Result<T> r, const std::string& what) {
  if (!r.ok()) Die(what, r.error());
  return std::move(*r);
}
void Must(Status s, const std::string& what) {
  if (!s.ok()) Die(what, s.error());
}

// One demo home shared by every benchmark in the process; removed at exit.
struct Env {
  fs::path dir;
  std::unique_ptr<node::Node> node;
  services::Actor actor{"op-ca-operator", services::Role::kCaOperator};
  std::vector<Bytes> csr_pem;  // SM2 CSRs signed with the GM/T ID, as a client sends them
  std::vector<Bytes> csr_der;
  std::string ca_key_label;
  Bytes sample_cert_der;  // one certificate issued by Issue(), for the TBS benchmarks

  Env() {
    const char* parent = std::getenv("GMPKI_BENCH_DIR");
    fs::path base = parent && *parent ? parent : "/tmp";
    std::string tmpl = (base / "gmpki-bench.XXXXXX").string();
    if (!mkdtemp(tmpl.data())) {
      std::cerr << "bench_issuance: mkdtemp under " << base << " failed\n";
      std::exit(1);
    }
    dir = tmpl;
    node::InitOptions o;
    o.home = dir / "home";
    o.demo = true;
    o.listen = "127.0.0.1:0";
    o.http_listen = "127.0.0.1:0";
    SystemClock clock;
    Must(node::InitHome(o, clock), "InitHome");
    node = Must(node::Node::Open(o.home), "Node::Open");
    ca_key_label = Must(node->ca().GetCa(kCa), "GetCa").key_label;
    for (int i = 0; i < kCsrPool; ++i) {
      auto kp = Must(crypto::Sm2GenerateKeyPair(), "keygen");
      auto priv = std::make_shared<const crypto::Sm2PrivateKey>(std::move(kp.private_key));
      auto signer = x509::MakeSoftwareSigner(priv, kp.public_key);
      auto name = Must(x509::Name::Parse("C=CN,O=MOHRSS,CN=Bench User " + std::to_string(i)),
                       "name");
      Bytes der = Must(x509::BuildCsr(name, signer), "BuildCsr");
      std::string pem = "-----BEGIN CERTIFICATE REQUEST-----\n";
      std::string b64 = Base64Encode(der);
      for (std::size_t p = 0; p < b64.size(); p += 64) pem += b64.substr(p, 64) + "\n";
      pem += "-----END CERTIFICATE REQUEST-----\n";
      csr_pem.emplace_back(pem.begin(), pem.end());
      csr_der.push_back(std::move(der));
    }
    sample_cert_der = Must(node->ca().Issue(actor, Request(0)), "Issue").record.der;
    const char* no_warmup = std::getenv("GMPKI_BENCH_NO_WARMUP");
    if (!no_warmup || !*no_warmup) WarmUpDatabase();
  }
  // A fresh database is not what a running CA has: while the WAL file still grows, every
  // commit changes the file size and its fdatasync costs a journal commit (measured ~4 ms here
  // instead of ~0.3 ms). One large transaction grows the WAL past the auto-checkpoint size
  // (1000 pages) once; afterwards the WAL is rewritten in place, as in steady state.
  void WarmUpDatabase() {
    Bytes blob(4096, 0x5a);
    {
      auto tx = Must(node->db().Begin(), "begin");
      Must(tx->Exec("CREATE TABLE IF NOT EXISTS bench_rows (id INTEGER PRIMARY KEY, der BLOB)"),
           "create");
      for (int i = 0; i < 1500; ++i) {
        Must(tx->Exec("INSERT INTO bench_rows (der) VALUES (?)", {blob}), "warm insert");
      }
      Must(tx->Commit(), "warm commit");
    }
    auto tx = Must(node->db().Begin(), "begin");
    Must(tx->Exec("DELETE FROM bench_rows"), "warm delete");
    Must(tx->Commit(), "warm commit");
  }
  ~Env() {
    node.reset();
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  ca::IssueRequest Request(std::size_t i) const {
    ca::IssueRequest r;
    r.ca = kCa;
    r.profile = "personal-sign";
    r.csr = csr_pem[i % csr_pem.size()];
    return r;
  }
};

Env& GetEnv() {
  static Env* env = new Env();  // built on first use, before any timing starts
  static bool registered = [] {
    std::atexit([] { delete env; });
    return true;
  }();
  (void)registered;
  return *env;
}

// --- the whole thing -------------------------------------------------------------------------

void BM_Issue(benchmark::State& state) {
  Env& env = GetEnv();
  std::size_t i = static_cast<std::size_t>(state.thread_index()) * 7;
  std::vector<double> lat_us;
  lat_us.reserve(4096);
  for (auto _ : state) {
    auto t0 = std::chrono::steady_clock::now();
    auto r = env.node->ca().Issue(env.actor, env.Request(i++));
    lat_us.push_back(
        std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
    if (!r.ok()) {
      state.SkipWithError(r.error().ToString().c_str());
      break;
    }
    benchmark::DoNotOptimize(r->pem.data());
  }
  state.SetItemsProcessed(state.iterations());
  // Per-call latency percentiles (averaged over threads): Google Benchmark reports means only.
  std::sort(lat_us.begin(), lat_us.end());
  auto pct = [&lat_us](double p) {
    return lat_us.empty() ? 0.0 : lat_us[static_cast<std::size_t>(p * (lat_us.size() - 1))];
  };
  state.counters["p50_us"] = benchmark::Counter(pct(0.50), benchmark::Counter::kAvgThreads);
  state.counters["p99_us"] = benchmark::Counter(pct(0.99), benchmark::Counter::kAvgThreads);
}
BENCHMARK(BM_Issue)->Threads(1)->Threads(2)->Threads(8)->UseRealTime();

// --- the pieces ------------------------------------------------------------------------------

void BM_CsrParse(benchmark::State& state) {
  Env& env = GetEnv();
  std::size_t i = 0;
  for (auto _ : state) {
    auto csr = x509::CertificateRequest::Parse(env.csr_pem[i++ % env.csr_pem.size()]);
    if (!csr.ok()) Die("parse", csr.error());
    benchmark::DoNotOptimize(csr->subject());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_CsrParse);

void BM_CsrParseVerifyPoP(benchmark::State& state) {
  Env& env = GetEnv();
  std::size_t i = 0;
  for (auto _ : state) {
    auto csr = x509::CertificateRequest::Parse(env.csr_pem[i++ % env.csr_pem.size()]);
    if (!csr.ok()) Die("parse", csr.error());
    Must(csr->VerifyProofOfPossession(), "PoP");
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_CsrParseVerifyPoP);

// The raw SM2 verify (Z and e computed, then the point arithmetic) over a CSR's info.
void BM_Sm2Verify(benchmark::State& state) {
  Env& env = GetEnv();
  auto cert = Must(x509::Certificate::FromDer(env.sample_cert_der), "cert");
  auto ca_cert = Must(env.node->ca().CaChain(kCa), "chain").front();
  for (auto _ : state) {
    Must(x509::VerifySm2Signature(ca_cert.public_key(), cert.tbs_der(), cert.signature()),
         "verify");
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Sm2Verify);

// SDF_InternalSign_ECC through the soft device, with Z and SM3 of a certificate-sized TBS.
void BM_DeviceSign(benchmark::State& state) {
  Env& env = GetEnv();
  auto session = Must(env.node->device().OpenSession(), "session");
  auto key = Must(session->FindKey(env.ca_key_label), "key");
  auto cert = Must(x509::Certificate::FromDer(env.sample_cert_der), "cert");
  Bytes tbs(cert.tbs_der().begin(), cert.tbs_der().end());
  for (auto _ : state) {
    auto sig = session->SignMessage(key.index, AsBytes(x509::kSm2SignerId), tbs);
    if (!sig.ok()) Die("sign", sig.error());
    benchmark::DoNotOptimize(sig->data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_DeviceSign);

// Opening a device session and finding the CA key: done once per Issue() in LoadIssuer().
void BM_DeviceOpenSessionFindKey(benchmark::State& state) {
  Env& env = GetEnv();
  for (auto _ : state) {
    auto session = Must(env.node->device().OpenSession(), "session");
    auto key = Must(session->FindKey(env.ca_key_label), "key");
    benchmark::DoNotOptimize(key.index);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_DeviceOpenSessionFindKey);

x509::TbsSpec SpecFrom(const x509::Certificate& c) {
  x509::TbsSpec spec;
  spec.serial = Must(x509::GenerateSerial(), "serial");
  spec.issuer = c.issuer();
  spec.subject = c.subject();
  spec.not_before = c.not_before();
  spec.not_after = c.not_after();
  spec.subject_public_key = c.public_key();
  spec.extensions = c.extensions();
  return spec;
}

void BM_TbsBuild(benchmark::State& state) {
  Env& env = GetEnv();
  auto cert = Must(x509::Certificate::FromDer(env.sample_cert_der), "cert");
  auto spec = SpecFrom(cert);
  for (auto _ : state) {
    auto tbs = x509::BuildTbsCertificate(spec);
    if (!tbs.ok()) Die("tbs", tbs.error());
    benchmark::DoNotOptimize(tbs->data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_TbsBuild);

// TBS build + SM2 sign in the device + wrap: x509::IssueCertificate as Issue() calls it.
void BM_TbsBuildAndDeviceSign(benchmark::State& state) {
  Env& env = GetEnv();
  auto cert = Must(x509::Certificate::FromDer(env.sample_cert_der), "cert");
  auto spec = SpecFrom(cert);
  std::shared_ptr<device::Session> session = Must(env.node->device().OpenSession(), "session");
  auto key = Must(session->FindKey(env.ca_key_label), "key");
  x509::Signer signer;
  signer.public_key = key.public_key;
  signer.sign = [session, index = key.index](ByteView m) {
    return session->SignMessage(index, AsBytes(x509::kSm2SignerId), m);
  };
  for (auto _ : state) {
    auto der = x509::IssueCertificate(spec, signer);
    if (!der.ok()) Die("issue", der.error());
    benchmark::DoNotOptimize(der->data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_TbsBuildAndDeviceSign);

void BM_CertParse(benchmark::State& state) {
  Env& env = GetEnv();
  for (auto _ : state) {
    auto c = x509::Certificate::FromDer(env.sample_cert_der);
    if (!c.ok()) Die("parse", c.error());
    benchmark::DoNotOptimize(c->serial());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_CertParse);

// Certificate::FromDer also hands the DER to d2i_X509 (x509/certificate.cc, OpenSslAccepts) so
// that OpenSSL accepts whatever we accept; this is that call alone. In OpenSSL 3.0 it decodes
// the public key through the provider decoders (global locks, allocation, a point check).
void BM_OpenSslD2iX509(benchmark::State& state) {
  Env& env = GetEnv();
  for (auto _ : state) {
    const unsigned char* p = env.sample_cert_der.data();
    X509* x = d2i_X509(nullptr, &p, static_cast<long>(env.sample_cert_der.size()));
    if (!x) {
      state.SkipWithError("d2i_X509 failed");
      break;
    }
    X509_free(x);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_OpenSslD2iX509);

// --- the store -------------------------------------------------------------------------------

// A write transaction that reads the CA row and rolls back: BEGIN IMMEDIATE + SELECT, no fsync.
void BM_DbBeginSelectRollback(benchmark::State& state) {
  Env& env = GetEnv();
  for (auto _ : state) {
    auto tx = Must(env.node->db().Begin(), "begin");
    auto row = Must(tx->QueryOne("SELECT name, cert_der FROM cas WHERE name = ?",
                                 {std::string(kCa)}),
                    "select");
    benchmark::DoNotOptimize(row);
    Must(tx->Rollback(), "rollback");
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_DbBeginSelectRollback);

void EnsureBenchTable(Env& env) {
  static std::once_flag once;
  std::call_once(once, [&env] {
    auto tx = Must(env.node->db().Begin(), "begin");
    Must(tx->Exec("CREATE TABLE IF NOT EXISTS bench_rows (id INTEGER PRIMARY KEY, der BLOB)"),
         "create");
    Must(tx->Commit(), "commit");
  });
}

// What Issue() writes: one certificate-sized row + one audit record, then COMMIT. With
// synchronous=FULL in WAL mode the COMMIT fsyncs the WAL: this is the durable-store cost.
void BM_DbInsertAuditCommit(benchmark::State& state) {
  Env& env = GetEnv();
  EnsureBenchTable(env);
  audit::AuditEvent ev;
  ev.actor = "op-ca-operator";
  ev.role = "ca-operator";
  ev.action = "bench.insert";
  ev.object = "ca:ministry-ca";
  ev.detail = R"({"profile":"personal-sign"})";
  ev.node = "node-1";
  for (auto _ : state) {
    auto tx = Must(env.node->db().Begin(), "begin");
    Must(tx->Exec("INSERT INTO bench_rows (der) VALUES (?)", {env.sample_cert_der}), "insert");
    ev.time = SystemClock().Now();
    Must(audit::AppendAudit(*tx, ev), "audit");
    Must(tx->Commit(), "commit");
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_DbInsertAuditCommit)->UseRealTime();

// The same without the audit record, to separate the audit chain's share.
void BM_DbInsertCommit(benchmark::State& state) {
  Env& env = GetEnv();
  EnsureBenchTable(env);
  for (auto _ : state) {
    auto tx = Must(env.node->db().Begin(), "begin");
    Must(tx->Exec("INSERT INTO bench_rows (der) VALUES (?)", {env.sample_cert_der}), "insert");
    Must(tx->Commit(), "commit");
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_DbInsertCommit)->UseRealTime();

// The floor under any durable commit on this file system: append 1 KiB + fdatasync.
void BM_RawAppendFdatasync(benchmark::State& state) {
  Env& env = GetEnv();
  std::string path = (env.dir / "fsync-probe").string();
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
  if (fd < 0) {
    state.SkipWithError("open failed");
    return;
  }
  std::string block(1024, 'x');
  for (auto _ : state) {
    if (::write(fd, block.data(), block.size()) != static_cast<ssize_t>(block.size()) ||
        ::fdatasync(fd) != 0) {
      state.SkipWithError("write/fdatasync failed");
      break;
    }
  }
  ::close(fd);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_RawAppendFdatasync)->UseRealTime();

// The same in place (a preallocated file rewritten at offset 0): no file-size change, so no
// metadata journal commit; a reused SQLite WAL (after a checkpoint) is in this case.
void BM_RawOverwriteFdatasync(benchmark::State& state) {
  Env& env = GetEnv();
  std::string path = (env.dir / "fsync-probe-2").string();
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  std::string block(1024, 'y');
  if (fd < 0 || ::write(fd, block.data(), block.size()) != 1024 || ::fsync(fd) != 0) {
    state.SkipWithError("open/prepare failed");
    if (fd >= 0) ::close(fd);
    return;
  }
  for (auto _ : state) {
    if (::pwrite(fd, block.data(), block.size(), 0) != 1024 || ::fdatasync(fd) != 0) {
      state.SkipWithError("pwrite/fdatasync failed");
      break;
    }
  }
  ::close(fd);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_RawOverwriteFdatasync)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
