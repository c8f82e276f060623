// bench_ra_load: registration systems (RAs) against one CA, and registration at
// an RA (issue #4 item 6; PF-02, PF-03; bench/README.md "bench_ra_load").
//
//   setup     enrols N RAs on a demo home before its server starts
//   (ra_bench_setup.cc). run       opens one mutually authenticated keep-alive
//   TLS connection per RA, each with
//             that RA's own client certificate, and keeps all of them open;
//             then K of them submit signed `issue` requests at full rate, then
//             one RA alone, then B RAs submit `issue-many` batches; after each
//             phase every connection answers a signed `ca-chain` on the
//             connection it opened first (a roll call).
//   register  POST /api/v1/ra/subscribers at concurrency C with distinct valid
//   resident IDs.
//
// Every request body of `run` is built, signed (SM2, GM/T 0009 default ID, the
// RA's own key) and encoded inside the timed loop, as an RA does; only the CSRs
// are made beforehand (one fresh key and CSR per certificate). Prints one text
// line per phase on stderr and appends one JSON line per phase to --json-out.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <barrier>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "ra_bench_conn.h"
#include "ra_bench_setup.h"
#include "services/ca/ra_protocol.h"

namespace gmpki::bench {
namespace {

using nlohmann::json;
using SteadyClock = std::chrono::steady_clock;
namespace ralink = ca::ralink;

struct RunOptions {
  int port = 0;
  std::string ca_file, ras_file;
  int connect = 500;    // RAs connected at once
  int submit = 64;      // RAs submitting in the multi-RA phase
  double duration = 8;  // seconds per phase
  double single_duration = 5;
  int batch_ras = 8;
  int batch_items = 256;
  double batch_duration = 8;
  long pool_multi = 20000, pool_single = 4000,
       pool_batch = 24000;  // fresh CSRs per phase
  std::string ca = "ministry-ca", profile = "personal-sign";
  std::string json_out;
  int server_pid = 0;
  int gen_threads = 2;
};

struct Ra {
  std::string name;
  std::unique_ptr<crypto::Sm2PrivateKey> key;
  crypto::Sm2PublicKey pub;
  std::unique_ptr<ClientIdentity> id;
  std::unique_ptr<Conn> conn;
  long seq = 0;  // request IDs of this RA
};

template <class T>
T Check(Result<T> r, const std::string& what) {
  if (!r.ok()) throw std::runtime_error(what + ": " + r.error().ToString());
  return std::move(r).value();
}

void Emit(const RunOptions& o, const json& j) {
  std::cout << j.dump() << "\n" << std::flush;
  if (!o.json_out.empty()) {
    std::ofstream out(o.json_out, std::ios::app);
    out << j.dump() << "\n";
  }
}

// The signed envelope of one RA request (services/ca/ra_protocol.h).
std::string SignedRequest(Ra& ra, const std::string& op, json args) {
  std::int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
  json payload{{"v", 1},
               {"ra", ra.name},
               {"request_id", ra.name + "-" + std::to_string(++ra.seq)},
               {"created_ms", now_ms},
               {"op", op},
               {"args", std::move(args)}};
  ralink::Envelope env;
  env.payload = payload.dump();
  env.signature =
      Check(crypto::Sm2Sign(*ra.key, ra.pub, AsBytes(crypto::kDefaultSm2Id), AsBytes(env.payload)),
            "SM2 sign");
  return ralink::EncodeEnvelope(env);
}

std::vector<Ra> LoadRas(const RunOptions& o, const TlsClient&) {
  std::vector<Ra> ras;
  std::istringstream in(ReadTextFile(o.ras_file));
  for (std::string line; std::getline(in, line) && static_cast<int>(ras.size()) < o.connect;) {
    if (line.empty()) continue;
    json j = json::parse(line);
    Ra ra;
    ra.name = j.at("ra").get<std::string>();
    auto d = Check(HexDecode(j.at("sign_key").get<std::string>()), "sign_key");
    ra.key = std::make_unique<crypto::Sm2PrivateKey>(
        Check(crypto::Sm2PrivateKey::FromScalar(d), "sign_key"));
    ra.pub = Check(ra.key->DerivePublicKey(), "public key");
    ra.id = std::make_unique<ClientIdentity>(j.at("tls_cert").get<std::string>(),
                                             j.at("tls_key").get<std::string>());
    ras.push_back(std::move(ra));
  }
  if (static_cast<int>(ras.size()) < o.connect) {
    throw std::runtime_error(o.ras_file + " holds " + std::to_string(ras.size()) +
                             " RAs, fewer than --connect " + std::to_string(o.connect));
  }
  return ras;
}

// Fresh CSRs (a new key each), made before the clock starts.
std::vector<Bytes> MakeCsrs(long n, const std::string& tag, int threads) {
  std::vector<Bytes> out(static_cast<std::size_t>(n));
  std::atomic<long> next{0};
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t) {
    ts.emplace_back([&] {
      for (long i; (i = next.fetch_add(1)) < n;) {
        out[static_cast<std::size_t>(i)] = NewCsr(tag + " " + std::to_string(i), NewSm2Key());
      }
    });
  }
  for (auto& t : ts) t.join();
  return out;
}

// Runs `fn(i)` for i in [0, n) on `threads` threads.
template <class Fn>
void Parallel(int n, int threads, Fn fn) {
  std::atomic<int> next{0};
  std::vector<std::thread> ts;
  for (int t = 0; t < std::min(n, threads); ++t) {
    ts.emplace_back([&] {
      for (int i; (i = next.fetch_add(1)) < n;) fn(i);
    });
  }
  for (auto& t : ts) t.join();
}

// Every RA sends one signed read (ca-chain) on its connection, which must still
// be the one it opened first: proves that all of them are connected and
// authenticated at once.
json RollCall(const RunOptions& o, std::vector<Ra>& ras, const std::string& when) {
  std::atomic<int> answered{0}, reopened{0};
  std::mutex mu;
  std::string first_error;
  auto t0 = SteadyClock::now();
  Parallel(static_cast<int>(ras.size()), 16, [&](int i) {
    Ra& ra = ras[static_cast<std::size_t>(i)];
    if (ra.conn->opens() != 1 || !ra.conn->is_open()) reopened++;
    int st = ra.conn->Request("POST", std::string(ralink::kRaLinkPath),
                              SignedRequest(ra, "ca-chain", json{{"ca", o.ca}}));
    json b = json::parse(ra.conn->last_body(), nullptr, false);
    if (st == 200 && b.is_object() && b.contains("result") && ra.conn->opens() == 1) {
      answered++;
    } else {
      std::lock_guard<std::mutex> l(mu);
      if (first_error.empty()) {
        first_error =
            ra.name + ": status " + std::to_string(st) + " " + ra.conn->last_body().substr(0, 300);
      }
    }
  });
  double secs = std::chrono::duration<double>(SteadyClock::now() - t0).count();
  json j{{"phase", "roll-call"},
         {"when", when},
         {"connected", ras.size()},
         {"answered_on_first_connection", answered.load()},
         {"seconds", secs}};
  if (!first_error.empty()) j["first_error"] = first_error;
  std::fprintf(stderr,
               "roll call %-14s %d of %zu RAs answered on their first "
               "connection (%.2f s)\n",
               when.c_str(), answered.load(), ras.size(), secs);
  if (!first_error.empty()) std::fprintf(stderr, "  first error: %s\n", first_error.c_str());
  return j;
}

// Open sockets of the server process (its /proc/PID/fd entries that are
// sockets).
int ServerSockets(int pid) {
  if (pid <= 0) return -1;
  int n = 0;
  std::error_code ec;
  for (const auto& e :
       std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec)) {
    std::error_code ec2;
    auto target = std::filesystem::read_symlink(e.path(), ec2);
    if (!ec2 && target.string().rfind("socket:", 0) == 0) ++n;
  }
  return n;
}

// One load phase: each RA in `active` submits requests of `items` CSRs (items
// == 0: `issue`, else `issue-many` with that many) back to back until
// `duration` or the CSR pool is used up.
json Phase(const RunOptions& o, const std::string& label, std::vector<Ra*> active, int items,
           double duration, const std::vector<Bytes>& pool) {
  const int n = static_cast<int>(active.size());
  std::atomic<long> next_csr{0}, ok_req{0}, err_req{0}, ok_items{0}, err_items{0};
  std::atomic<bool> exhausted{false};
  std::vector<std::vector<double>> lat(static_cast<std::size_t>(n));
  std::mutex mu;
  std::string first_error;
  SteadyClock::time_point deadline;
  std::barrier sync(n + 1);
  const long per_req = items == 0 ? 1 : items;
  auto issue_args = [&](long k) {
    ca::IssueRequest r;
    r.ca = o.ca;
    r.profile = o.profile;
    r.csr = pool[static_cast<std::size_t>(k)];
    return ralink::IssueRequestToJson(r);
  };
  auto note = [&](const std::string& e) {
    std::lock_guard<std::mutex> l(mu);
    if (first_error.empty()) first_error = e.substr(0, 400);
  };
  std::vector<std::thread> ts;
  for (int w = 0; w < n; ++w) {
    ts.emplace_back([&, w] {
      Ra& ra = *active[static_cast<std::size_t>(w)];
      auto& mine = lat[static_cast<std::size_t>(w)];
      sync.arrive_and_wait();
      while (SteadyClock::now() < deadline) {
        long first = next_csr.fetch_add(per_req);
        if (first + per_req > static_cast<long>(pool.size())) {
          exhausted = true;
          break;
        }
        auto t0 = SteadyClock::now();
        std::string body;
        if (items == 0) {
          body = SignedRequest(ra, "issue", issue_args(first));
        } else {
          json arr = json::array();
          for (long k = first; k < first + per_req; ++k) {
            arr.push_back(json{{"request_id", ra.name + "-item-" + std::to_string(k)},
                               {"request", issue_args(k)}});
          }
          body = SignedRequest(ra, "issue-many", json{{"items", std::move(arr)}});
        }
        if (!ra.conn->is_open()) {
          std::string e;
          if (!ra.conn->Open(&e)) {
            note(ra.name + ": reconnect: " + e);
            err_req++;
            continue;
          }
        }
        int st = ra.conn->Request("POST", std::string(ralink::kRaLinkPath), body);
        auto t1 = SteadyClock::now();
        json b = json::parse(ra.conn->last_body(), nullptr, false);
        bool good = st == 200 && b.is_object();
        if (good && items == 0) {
          good = b.contains("result");
          good ? ok_items++ : err_items++;
        } else if (good) {
          const json& rs = b["results"];
          good = rs.is_array() && static_cast<long>(rs.size()) == per_req;
          if (good) {
            for (const auto& r : rs) {
              if (r.contains("certificate")) {
                ok_items++;
              } else {
                err_items++;
                note(ra.name + " item: " + r.dump());
              }
            }
          }
        } else {
          err_items += per_req;
        }
        if (good) {
          ok_req++;
          mine.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
        } else {
          err_req++;
          note(ra.name + ": status " + std::to_string(st) + " " + ra.conn->last_body());
        }
      }
    });
  }
  double client0 = CpuSeconds(0), server0 = CpuSeconds(o.server_pid);
  auto start = SteadyClock::now();
  deadline = start + std::chrono::duration_cast<SteadyClock::duration>(
                         std::chrono::duration<double>(duration));
  sync.arrive_and_wait();
  for (auto& t : ts) t.join();
  double secs = std::chrono::duration<double>(SteadyClock::now() - start).count();
  double client_cpu = CpuSeconds(0) - client0;
  double server_cpu = o.server_pid > 0 ? CpuSeconds(o.server_pid) - server0 : 0;
  std::vector<double> all;
  for (auto& v : lat) all.insert(all.end(), v.begin(), v.end());
  json j = LatencySummary(std::move(all));
  double certs = static_cast<double>(ok_items.load());
  j["phase"] = label;
  j["op"] = items == 0 ? "issue" : "issue-many";
  j["ras_submitting"] = n;
  j["items_per_request"] = per_req;
  j["requests_ok"] = ok_req.load();
  j["requests_failed"] = err_req.load();
  j["certs_ok"] = ok_items.load();
  j["certs_failed"] = err_items.load();
  j["seconds"] = secs;
  j["requests_per_s"] = static_cast<double>(ok_req.load()) / secs;
  j["certs_per_s"] = certs / secs;
  j["pool_exhausted"] = exhausted.load();
  j["client_cpu_us_per_cert"] = certs > 0 ? client_cpu * 1e6 / certs : 0.0;
  if (o.server_pid > 0) j["server_cpu_us_per_cert"] = certs > 0 ? server_cpu * 1e6 / certs : 0.0;
  if (!first_error.empty()) j["first_error"] = first_error;
  std::fprintf(stderr,
               "%-22s %-10s RAs=%-3d req ok=%-6ld err=%-4ld certs=%-7ld %8.1f certs/s  "
               "p50 %7.2f ms  p99 %7.2f ms%s\n",
               label.c_str(), j["op"].get<std::string>().c_str(), n, ok_req.load(), err_req.load(),
               ok_items.load(), certs / secs, j["p50_ms"].get<double>(), j["p99_ms"].get<double>(),
               exhausted ? "  (CSR pool used up)" : "");
  if (!first_error.empty()) std::fprintf(stderr, "  first error: %s\n", first_error.c_str());
  return j;
}

int RunLoad(const RunOptions& o) {
  if (o.submit > o.connect || o.batch_ras > o.connect) {
    throw std::runtime_error("--submit and --batch-ras must not exceed --connect");
  }
  TlsClient tls(o.ca_file);
  auto ras = LoadRas(o, tls);
  auto t0 = SteadyClock::now();
  auto multi_pool = MakeCsrs(o.pool_multi, "multi", o.gen_threads);
  auto single_pool = MakeCsrs(o.pool_single, "single", o.gen_threads);
  auto batch_pool = MakeCsrs(o.pool_batch, "batch", o.gen_threads);
  std::fprintf(stderr, "made %ld fresh CSRs in %.1f s\n",
               o.pool_multi + o.pool_single + o.pool_batch,
               std::chrono::duration<double>(SteadyClock::now() - t0).count());

  // All RAs connect at once, each with its own certificate.
  int sockets_before = ServerSockets(o.server_pid);
  std::atomic<int> opened{0};
  std::mutex mu;
  std::string first_error;
  t0 = SteadyClock::now();
  Parallel(static_cast<int>(ras.size()), 16, [&](int i) {
    Ra& ra = ras[static_cast<std::size_t>(i)];
    ra.conn = std::make_unique<Conn>(tls, *ra.id, o.port);
    std::string e;
    if (ra.conn->Open(&e)) {
      opened++;
    } else {
      std::lock_guard<std::mutex> l(mu);
      if (first_error.empty()) first_error = ra.name + ": " + e;
    }
  });
  double connect_s = std::chrono::duration<double>(SteadyClock::now() - t0).count();
  int sockets_after = ServerSockets(o.server_pid);
  json cj{{"phase", "connect"},
          {"ras", ras.size()},
          {"opened", opened.load()},
          {"seconds", connect_s},
          {"handshakes_per_s", opened.load() / connect_s}};
  if (o.server_pid > 0) cj["server_sockets_added"] = sockets_after - sockets_before;
  if (!first_error.empty()) cj["first_error"] = first_error;
  std::fprintf(stderr,
               "connected %d of %zu RAs (mutual TLS, own certificates) in %.2f "
               "s; server "
               "holds %d more sockets\n",
               opened.load(), ras.size(), connect_s, sockets_after - sockets_before);
  Emit(o, cj);
  if (opened.load() != static_cast<int>(ras.size())) return 1;
  Emit(o, RollCall(o, ras, "after-connect"));

  std::vector<Ra*> multi, single, batch;
  for (int i = 0; i < o.submit; ++i) multi.push_back(&ras[static_cast<std::size_t>(i)]);
  single.push_back(&ras[ras.size() - 1]);  // an RA that was idle in the multi phase
  for (int i = 0; i < o.batch_ras; ++i) {
    batch.push_back(&ras[ras.size() - 2 - static_cast<std::size_t>(i)]);
  }
  long certs = 0;
  json a = Phase(o, "multi-ra", multi, 0, o.duration, multi_pool);
  certs += a["certs_ok"].get<long>();
  Emit(o, a);
  Emit(o, RollCall(o, ras, "after-multi"));
  json b = Phase(o, "single-ra", single, 0, o.single_duration, single_pool);
  certs += b["certs_ok"].get<long>();
  Emit(o, b);
  Emit(o, RollCall(o, ras, "after-single"));
  json c = Phase(o, "batch", batch, o.batch_items, o.batch_duration, batch_pool);
  certs += c["certs_ok"].get<long>();
  Emit(o, c);
  json last = RollCall(o, ras, "at-end");
  Emit(o, last);
  double single_rate = b["certs_per_s"].get<double>();
  json summary{
      {"phase", "summary"},
      {"certs_issued_ok", certs},
      {"multi_over_single", single_rate > 0 ? a["certs_per_s"].get<double>() / single_rate : 0.0},
      {"all_connected_at_end",
       last["answered_on_first_connection"].get<int>() == static_cast<int>(ras.size())}};
  Emit(o, summary);
  std::fprintf(stderr, "%d-RA / single-RA rate: %.2f\n", o.submit,
               summary["multi_over_single"].get<double>());
  return summary["all_connected_at_end"].get<bool>() ? 0 : 1;
}

// --- register: subscriber entry at the RA ---

struct RegisterOptions {
  int port = 0;
  std::string ca_file, cert_file, key_file, pass_file;
  int concurrency = 64;
  double duration = 5;
  long first = 0;  // index of the first resident ID (distinct across runs on one home)
  std::string json_out;
  int server_pid = 0;
};

// The n-th test resident ID (not a real person): region 110105, birth dates
// from 1950-01-01, order code n % 1000, and the GB 11643-1999 §5.2 check
// character (ISO 7064 MOD 11-2).
std::string ResidentId(long n) {
  using namespace std::chrono;
  year_month_day d{sys_days{year{1950} / January / 1} + days{n / 1000}};
  char digits[40];
  std::snprintf(digits, sizeof digits, "110105%04d%02u%02u%03d", static_cast<int>(d.year()),
                static_cast<unsigned>(d.month()), static_cast<unsigned>(d.day()),
                static_cast<int>(n % 1000));
  static constexpr int kWeights[17] = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
  int sum = 0;
  for (int i = 0; i < 17; ++i) sum += (digits[i] - '0') * kWeights[i];
  return std::string(digits, 17) + "10X98765432"[sum % 11];
}

int RunRegister(const RegisterOptions& o) {
  TlsClient tls(o.ca_file);
  std::string pass = o.pass_file.empty() ? "" : ReadTextFile(o.pass_file);
  while (!pass.empty() && (pass.back() == '\n' || pass.back() == '\r')) pass.pop_back();
  ClientIdentity id(ReadTextFile(o.cert_file), ReadTextFile(o.key_file), pass);
  const std::string path = "/api/v1/ra/subscribers";
  std::atomic<long> next{o.first}, ok{0}, err{0};
  std::vector<std::vector<double>> lat(static_cast<std::size_t>(o.concurrency));
  std::mutex mu;
  std::string first_error;
  std::atomic<bool> setup_failed{false};
  SteadyClock::time_point deadline;
  std::barrier sync(o.concurrency + 1);
  auto body = [](long n) {
    return json{{"kind", "person"},
                {"name", "Bench Person " + std::to_string(n)},
                {"id_kind", "resident-id"},
                {"id_number", ResidentId(n)},
                {"phone", "+86 138 " + std::to_string(10000000 + n % 90000000)},
                {"address", "Beijing, Chaoyang, Bench Road " + std::to_string(n)}}
        .dump();
  };
  std::vector<std::thread> ts;
  for (int w = 0; w < o.concurrency; ++w) {
    ts.emplace_back([&, w] {
      Conn conn(tls, id, o.port);
      std::string e;
      if (!conn.Open(&e)) {
        setup_failed = true;
        std::lock_guard<std::mutex> l(mu);
        if (first_error.empty()) first_error = e;
      }
      sync.arrive_and_wait();
      auto& mine = lat[static_cast<std::size_t>(w)];
      while (!setup_failed && SteadyClock::now() < deadline) {
        long n = next.fetch_add(1);
        auto t0 = SteadyClock::now();
        if (!conn.is_open() && !conn.Open(&e)) {
          err++;
          continue;
        }
        int st = conn.Request("POST", path, body(n));
        auto t1 = SteadyClock::now();
        if (st == 201) {
          ok++;
          mine.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
        } else {
          err++;
          std::lock_guard<std::mutex> l(mu);
          if (first_error.empty()) {
            first_error = "status " + std::to_string(st) + " " + conn.last_body().substr(0, 300);
          }
        }
      }
    });
  }
  double client0 = CpuSeconds(0), server0 = CpuSeconds(o.server_pid);
  auto start = SteadyClock::now();
  deadline = start + std::chrono::duration_cast<SteadyClock::duration>(
                         std::chrono::duration<double>(o.duration));
  sync.arrive_and_wait();
  for (auto& t : ts) t.join();
  double secs = std::chrono::duration<double>(SteadyClock::now() - start).count();
  double client_cpu = CpuSeconds(0) - client0;
  double server_cpu = o.server_pid > 0 ? CpuSeconds(o.server_pid) - server0 : 0;
  std::vector<double> all;
  for (auto& v : lat) all.insert(all.end(), v.begin(), v.end());
  json j = LatencySummary(std::move(all));
  double n = static_cast<double>(ok.load());
  j["phase"] = "register";
  j["concurrency"] = o.concurrency;
  j["requests_ok"] = ok.load();
  j["requests_failed"] = err.load();
  j["seconds"] = secs;
  j["requests_per_s"] = n / secs;
  j["per_hour"] = n / secs * 3600;
  j["client_cpu_us"] = n > 0 ? client_cpu * 1e6 / n : 0.0;
  if (o.server_pid > 0) j["server_cpu_us"] = n > 0 ? server_cpu * 1e6 / n : 0.0;
  if (!first_error.empty()) j["first_error"] = first_error;
  std::fprintf(stderr, "%-22s c=%-3d ok=%-6ld err=%-4ld %8.1f/s  p50 %7.2f ms  p99 %7.2f ms\n",
               "register", o.concurrency, ok.load(), err.load(), n / secs,
               j["p50_ms"].get<double>(), j["p99_ms"].get<double>());
  if (!first_error.empty()) std::fprintf(stderr, "  first error: %s\n", first_error.c_str());
  std::cout << j.dump() << "\n";
  if (!o.json_out.empty()) std::ofstream(o.json_out, std::ios::app) << j.dump() << "\n";
  return setup_failed || ok.load() == 0 ? 1 : 0;
}

}  // namespace
}  // namespace gmpki::bench

int main(int argc, char** argv) {
  using namespace gmpki::bench;
  CLI::App app{
      "bench_ra_load: registration systems against one CA, and "
      "registration at an RA"};
  app.require_subcommand(1);

  SetupOptions so;
  auto* setup =
      app.add_subcommand("setup", "Enrol N registration systems on a demo home (server stopped)");
  setup->add_option("--home", so.home, "Demo home")->required();
  setup->add_option("--out", so.out, "JSON lines file for the RA side")->required();
  setup->add_option("-n,--count", so.count, "How many RAs")->check(CLI::Range(1, 5000));
  setup->add_option("--prefix", so.prefix, "RA names are PREFIX-000 ...");
  setup->add_option("--ca", so.ca, "CA that issues their signing certificates");
  setup->add_option("--profile", so.profile, "Profile they are authorised for");
  setup->add_option("--threads", so.threads, "Enrolments at once")->check(CLI::Range(1, 64));

  RunOptions ro;
  auto* run =
      app.add_subcommand("run", "Connect all RAs and run the issue / single / batch phases");
  run->add_option("--port", ro.port, "HTTPS port of gmpki-server")->required();
  run->add_option("--ca-file", ro.ca_file, "The deployment's TLS CA (home/tls/ca.pem)")->required();
  run->add_option("--ras", ro.ras_file, "The file written by `setup`")->required();
  run->add_option("--connect", ro.connect, "RAs connected at once")->check(CLI::Range(1, 900));
  run->add_option("--submit", ro.submit, "RAs submitting in the multi-RA phase")
      ->check(CLI::Range(1, 900));
  run->add_option("--duration", ro.duration, "Seconds of the multi-RA phase");
  run->add_option("--single-duration", ro.single_duration, "Seconds of the single-RA phase");
  run->add_option("--batch-ras", ro.batch_ras, "RAs submitting issue-many")
      ->check(CLI::Range(1, 900));
  run->add_option("--batch-items", ro.batch_items, "Items per issue-many request")
      ->check(CLI::Range(1, static_cast<int>(gmpki::ca::ralink::kMaxItemsPerRequest)));
  run->add_option("--batch-duration", ro.batch_duration, "Seconds of the batch phase");
  run->add_option("--pool-multi", ro.pool_multi, "Fresh CSRs for the multi-RA phase");
  run->add_option("--pool-single", ro.pool_single, "Fresh CSRs for the single-RA phase");
  run->add_option("--pool-batch", ro.pool_batch, "Fresh CSRs for the batch phase");
  run->add_option("--ca", ro.ca, "CA to request from");
  run->add_option("--profile", ro.profile, "Profile to request");
  run->add_option("--json-out", ro.json_out, "Append one JSON line per phase here");
  run->add_option("--server-pid", ro.server_pid, "Server PID: CPU per certificate, sockets held");

  RegisterOptions rg;
  auto* reg =
      app.add_subcommand("register", "POST /api/v1/ra/subscribers with distinct resident IDs");
  reg->add_option("--port", rg.port, "HTTPS port of gmpki-server")->required();
  reg->add_option("--ca-file", rg.ca_file, "The deployment's TLS CA")->required();
  reg->add_option("--cert", rg.cert_file, "RA operator certificate (PEM)")->required();
  reg->add_option("--key", rg.key_file, "Its key (PEM, may be encrypted)")->required();
  reg->add_option("--pass-file", rg.pass_file, "The key's passphrase");
  reg->add_option("-c,--concurrency", rg.concurrency, "Connections")->check(CLI::Range(1, 900));
  reg->add_option("--duration", rg.duration, "Seconds");
  reg->add_option("--first", rg.first, "Index of the first resident ID");
  reg->add_option("--json-out", rg.json_out, "Append the JSON line here");
  reg->add_option("--server-pid", rg.server_pid, "Server PID: CPU per request");

  CLI11_PARSE(app, argc, argv);
  try {
    if (*setup) return RunSetup(so);
    if (*run) return RunLoad(ro);
    return RunRegister(rg);
  } catch (const std::exception& e) {
    std::cerr << "bench_ra_load: " << e.what() << "\n";
    return 2;
  }
}
