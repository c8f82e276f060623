// gmpki-server: every service of a node, chosen by configuration. Wiring only: open the home,
// build the routers, start the HTTPS server (operator API, mutual TLS) and the plain-HTTP
// server (self-protecting protocols: CRL download now), sign audit checkpoints periodically,
// stop cleanly on SIGINT/SIGTERM.
#include <csignal>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <fstream>
#include <iostream>
#include <mutex>
#include <sstream>
#include <thread>

#include <unistd.h>

#include <CLI/CLI.hpp>

#include <algorithm>

#include "base/log.h"
#include "net/server.h"
#include "services/ca/ca_routes.h"
#include "services/ca/ra_routes.h"
#include "services/cmp/cmp_routes.h"
#include "services/ra/ra_routes.h"
#include "services/ra_batch/batch_processor.h"
#include "services/ra_batch/batch_routes.h"
#include "services/km/km_routes.h"
#include "services/va/va_routes.h"
#include "services/node/node.h"

namespace {

std::atomic<bool> g_stop{false};
std::mutex g_mu;
std::condition_variable g_cv;

void OnSignal(int) {
  g_stop = true;
  g_cv.notify_all();
}

bool SplitHostPort(const std::string& hp, std::string* host, std::uint16_t* port) {
  auto c = hp.rfind(':');
  if (c == std::string::npos) return false;
  *host = hp.substr(0, c);
  try {
    int p = std::stoi(hp.substr(c + 1));
    if (p < 0 || p > 65535) return false;
    *port = static_cast<std::uint16_t>(p);
  } catch (...) {
    return false;
  }
  return true;
}


}  // namespace

extern const char* const kGmpkiOpenApiJson;

int main(int argc, char** argv) {
  CLI::App app{"gmpki-server: CA, RA, KM, verification and application security services"};
  std::string home, listen, http_listen, port_file;
  std::vector<std::string> share_files;
  app.add_option("--home", home, "Deployment home directory")->required();
  app.add_option("--listen", listen, "HTTPS address HOST:PORT (default: from gmpki.toml)");
  app.add_option("--http-listen", http_listen, "Plain HTTP address HOST:PORT (default: from gmpki.toml)");
  app.add_option("--share-file", share_files, "Custodian share file (repeat k times; default: configured)");
  app.add_option("--port-file", port_file, "Write the bound ports as JSON here once listening (for scripts)");
  CLI11_PARSE(app, argc, argv);

  using namespace gmpki;
  std::vector<std::filesystem::path> shares(share_files.begin(), share_files.end());
  auto node_r = node::Node::Open(home, shares);
  if (!node_r.ok()) {
    std::cerr << "gmpki-server: cannot start: " << node_r.error().ToString() << "\n";
    return node_r.error().info().exit_code;
  }
  auto& node = **node_r;
  const auto& cfg = node.config();
  if (listen.empty()) listen = cfg.listen;
  if (http_listen.empty()) http_listen = cfg.http_listen;

  auto metrics = std::make_shared<net::MetricsRegistry>();
  ca::ApiDeps deps;
  deps.ca = &node.ca();
  deps.operators = &node.operators();
  deps.db = &node.db();
  deps.verify_audit = [&node] { return node.VerifyAudit(); };
  deps.openapi_json = kGmpkiOpenApiJson;
  net::Router api;
  if (auto st = ca::AddCaApiRoutes(api, deps); !st.ok()) {
    std::cerr << "gmpki-server: " << st.error().ToString() << "\n";
    return 10;
  }
  bool serves_ca = std::find(cfg.roles.begin(), cfg.roles.end(), "ca") != cfg.roles.end();
  if (serves_ca) {
    // CA-01: registration systems reach the CA here (mutual TLS + signed requests), and the
    // security administrator manages them under /api/v1/ras.
    if (auto st = ca::AddRaLinkRoutes(api, node.ra_trust()); !st.ok()) {
      std::cerr << "gmpki-server: " << st.error().ToString() << "\n";
      return 10;
    }
    if (auto st = ca::AddRaManagementRoutes(api, node.ra_trust(), node.operators()); !st.ok()) {
      std::cerr << "gmpki-server: " << st.error().ToString() << "\n";
      return 10;
    }
  }
  // KM-01..09: the key management centre's routes (CA-facing over mutual TLS, and its operators').
  km::KmService* km_service = nullptr;
  if (node.HasRole("km")) {
    auto k = node.Km();
    if (!k.ok()) {
      std::cerr << "gmpki-server: " << k.error().ToString() << "\n";
      return k.error().info().exit_code;
    }
    km_service = *k;
    if (auto st = km::AddKmRoutes(api, *km_service, node.operators()); !st.ok()) {
      std::cerr << "gmpki-server: " << st.error().ToString() << "\n";
      return 10;
    }
  }
  std::unique_ptr<ra_batch::BatchService> batch_service;
  std::unique_ptr<ra_batch::BatchProcessor> batch_processor;
  std::unique_ptr<ra_batch::BatchWorker> batch_worker;
  if (std::find(cfg.roles.begin(), cfg.roles.end(), "ra") != cfg.roles.end()) {
    // RA-01, RA-02: registration points' operators enter, review and request here.
    auto ra_service = node.Ra();
    if (!ra_service.ok()) {
      std::cerr << "gmpki-server: cannot start the registration service: " << ra_service.error().ToString() << "\n";
      return ra_service.error().info().exit_code;
    }
    if (auto st = ra::AddRaApiRoutes(api, ra::RaApiDeps{*ra_service, &node.operators()}); !st.ok()) {
      std::cerr << "gmpki-server: " << st.error().ToString() << "\n";
      return 10;
    }
    // HI-06: batch enrolment; the worker issues approved batches through the CA gateway. Its
    // claims are leased, so several nodes on one PostgreSQL share the work and take over a
    // stopped node's items.
    auto pii = node.Pii();
    auto gateway = node.CaGateway();
    if (!pii.ok() || !gateway.ok()) {
      Error e = !pii.ok() ? pii.error() : gateway.error();
      std::cerr << "gmpki-server: cannot start batch enrolment: " << e.ToString() << "\n";
      return e.info().exit_code;
    }
    ra_batch::BatchSettings bs;
    bs.node = cfg.node_name;
    batch_service = std::make_unique<ra_batch::BatchService>(node.db(), **pii, node.clock(), bs);
    ra_batch::ProcessorSettings ps;
    ps.worker_id = cfg.node_name + ":" + std::to_string(::getpid());
    ps.node = cfg.node_name;
    batch_processor = std::make_unique<ra_batch::BatchProcessor>(node.db(), **pii, **gateway, node.clock(), ps);
    batch_worker = std::make_unique<ra_batch::BatchWorker>(*batch_processor);
    ra_batch::BatchApiDeps bd{batch_service.get(), &node.operators(), [w = batch_worker.get()] { w->Wake(); }};
    if (auto st = ra_batch::AddBatchRoutes(api, bd); !st.ok()) {
      std::cerr << "gmpki-server: " << st.error().ToString() << "\n";
      return 10;
    }
  }
  net::Router plain;
  if (auto st = cmp::AddCmpRoutes(plain, node.cmp()); !st.ok()) {
    std::cerr << "gmpki-server: " << st.error().ToString() << "\n";
    return 10;
  }
  if (auto st = ca::AddCaPublicRoutes(plain, node.ca()); !st.ok()) {
    std::cerr << "gmpki-server: " << st.error().ToString() << "\n";
    return 10;
  }
  // OCSP (RFC 6960 / RFC 5019) at /ocsp on the plain-HTTP address: the status of every
  // certificate in memory, responses pre-signed by each CA's delegated signer.
  node::Node::OcspStack* ocsp = nullptr;
  if (serves_ca && cfg.ocsp_enabled) {
    auto stack = node.Ocsp();
    if (!stack.ok()) {
      std::cerr << "gmpki-server: cannot start the OCSP responder: " << stack.error().ToString() << "\n";
      return stack.error().info().exit_code;
    }
    ocsp = *stack;
    if (auto st = va::AddOcspRoutes(plain, *ocsp->responder, node.clock()); !st.ok()) {
      std::cerr << "gmpki-server: " << st.error().ToString() << "\n";
      return 10;
    }
    log::Info("OCSP responder: {} certificate statuses loaded", ocsp->index.size());
  }

  auto tls = node.LoadServerTls();
  if (!tls.ok()) {
    std::cerr << "gmpki-server: cannot load TLS material: " << tls.error().ToString() << "\n";
    return tls.error().info().exit_code;
  }
  net::ServerConfig https_cfg;
  if (!SplitHostPort(listen, &https_cfg.host, &https_cfg.port)) {
    std::cerr << "gmpki-server: --listen must be HOST:PORT\n";
    return 2;
  }
  https_cfg.threads = cfg.threads;
  https_cfg.max_body_bytes = cfg.max_body_bytes;
  https_cfg.name = "https";
  https_cfg.metrics = metrics;
  net::TlsServerConfig tc;
  tc.cert_chain_pem = tls->cert_chain_pem;
  tc.key_pem = std::move(tls->key_pem);
  tc.key_passphrase = std::move(tls->passphrase);
  tc.client_ca_pem = tls->client_ca_pem;
  // Optional at the TLS layer so /healthz and /metrics stay reachable; every /api route
  // requires an enrolled operator certificate (401 problem otherwise).
  tc.client_cert_mode = net::ClientCertMode::kOptional;
  https_cfg.tls = std::move(tc);
  net::HttpServer https(std::move(https_cfg), std::move(api));
  auto db_check = [&node]() -> Status {
    GMPKI_ASSIGN_OR_RETURN(auto tx, node.db().BeginReadOnly());
    GMPKI_RETURN_IF_ERROR(tx->Query("SELECT 1"));
    return OkStatus();
  };
  https.AddHealthCheck("database", db_check);

  std::unique_ptr<net::HttpServer> http;
  if (!http_listen.empty()) {
    net::ServerConfig http_cfg;
    if (!SplitHostPort(http_listen, &http_cfg.host, &http_cfg.port)) {
      std::cerr << "gmpki-server: --http-listen must be HOST:PORT\n";
      return 2;
    }
    http_cfg.threads = 2;
    http_cfg.name = "http";
    http_cfg.metrics = metrics;
    http = std::make_unique<net::HttpServer>(std::move(http_cfg), std::move(plain));
    http->AddHealthCheck("database", db_check);
  }
  if (auto st = https.Start(); !st.ok()) {
    std::cerr << "gmpki-server: cannot listen on " << listen << ": " << st.error().ToString() << "\n";
    return st.error().info().exit_code;
  }
  if (http) {
    if (auto st = http->Start(); !st.ok()) {
      std::cerr << "gmpki-server: cannot listen on " << http_listen << ": " << st.error().ToString() << "\n";
      return st.error().info().exit_code;
    }
  }
  if (batch_worker) batch_worker->Start();
  // Background upkeep: the KM's key pool (topped up below its low-water mark) and archive
  // sweep; a CA node's forwarding of revoked encryption certificates to its KM (catches up
  // after the KM was unreachable).
  std::thread upkeep([&node, km_service, serves_ca, ocsp] {
    auto last_sweep = std::chrono::steady_clock::time_point{};
    auto last_crl = std::chrono::steady_clock::time_point{};
    auto last_ocsp_refresh = std::chrono::steady_clock::now();
    auto last_ocsp_provision = std::chrono::steady_clock::now();
    bool ocsp_presigned = false;
    const int crl_every = node.config().crl_refresh_seconds;
    // The CRL schedule acts under its own name in the audit log.
    const services::Actor crl_scheduler{"crl-scheduler", services::Role::kCaOperator};
    while (!g_stop) {
      if (serves_ca && crl_every > 0 &&
          std::chrono::steady_clock::now() - last_crl >= std::chrono::seconds(crl_every)) {
        last_crl = std::chrono::steady_clock::now();
        auto r = node.ca().RefreshCrls(crl_scheduler);
        if (!r.ok()) {
          log::Error("CRL schedule failed: {}", r.error().ToString());
        } else {
          for (const auto& [ca, err] : r->failures) {
            log::Error("CRL schedule: CA {} failed (retried next tick): {}", ca, err.ToString());
          }
          for (const auto& crl : r->issued) {
            log::Info("CRL schedule: CRL {} issued ({} entries)", crl.number, crl.entries);
          }
        }
      }
      if (km_service) {
        auto avail = km_service->PoolAvailable();
        if (avail.ok() && static_cast<std::size_t>(*avail) < km_service->settings().pool_low_water) {
          if (auto r = km_service->RefillPool(km_service->settings().pool_target); !r.ok()) {
            log::Error("KM pool refill failed: {}", r.error().ToString());
          }
        }
        if (std::chrono::steady_clock::now() - last_sweep > std::chrono::hours(1)) {
          if (auto r = km_service->ArchiveSweep(); !r.ok()) log::Error("KM archive sweep failed: {}", r.error().ToString());
          last_sweep = std::chrono::steady_clock::now();
        }
      }
      // OCSP: statuses changed since the last tick reach the index (and drop their cached
      // responses); cached responses nearing nextUpdate are signed again each minute; the
      // delegated signers are renewed ahead of their expiry, checked daily.
      if (ocsp) {
        if (auto r = ocsp->source->Poll(); !r.ok()) log::Error("OCSP status poll failed: {}", r.error().ToString());
        const auto now = std::chrono::steady_clock::now();
        if (!ocsp_presigned) {
          for (const auto& ca : ocsp->index.IssuerNames()) {
            if (auto r = ocsp->responder->Presign(ca, node.clock().Now(), 100'000); !r.ok()) {
              log::Warn("OCSP pre-signing for {} failed: {}", ca, r.error().ToString());
            }
          }
          ocsp_presigned = true;
        }
        if (now - last_ocsp_refresh >= std::chrono::minutes(1)) {
          ocsp->responder->RefreshCache(node.clock().Now());
          last_ocsp_refresh = now;
        }
        if (now - last_ocsp_provision >= std::chrono::hours(24)) {
          const services::Actor ocsp_actor{"ocsp-service", services::Role::kCaOperator};
          if (auto r = ocsp->signers->ProvisionAll(ocsp_actor, node.ca(), *ocsp->responder); !r.ok()) {
            log::Error("OCSP signer renewal failed: {}", r.error().ToString());
          }
          last_ocsp_provision = now;
        }
      }
      // LDAP publication: what the CA's outbox holds since the last sync, pushed on by the
      // master to its replicas. A down directory is retried at the next tick; nothing is lost.
      if (serves_ca && !node.config().directory_url.empty()) {
        auto sync = node.Directory();
        auto r = sync.ok() ? (*sync)->SyncOnce() : Result<directory::SyncCounts>(sync.error());
        if (!r.ok()) {
          if (r.error().code() == ErrorCode::kUnavailable) {
            log::Warn("LDAP publication paused (directory unreachable, retried): {}", r.error().ToString());
          } else {
            log::Error("LDAP publication failed: {}", r.error().ToString());
          }
        }
      }
      // The evidence log's signed tree head follows its appends (nothing to sign: no work).
      if (auto ev = node.Evidence(); ev.ok()) {
        if (auto h = (*ev)->SignTreeHead(); !h.ok()) log::Error("evidence tree head: {}", h.error().ToString());
      }
      if (!node.config().km_url.empty()) {
        if (auto r = node.ca().ForwardKmRevocations(); !r.ok()) {
          log::Warn("forwarding revocations to the KM failed (will retry): {}", r.error().ToString());
        }
      }
      std::unique_lock<std::mutex> lock(g_mu);
      g_cv.wait_for(lock, std::chrono::seconds(1), [] { return g_stop.load(); });
    }
  });
  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
  std::string https_host = listen.substr(0, listen.rfind(':'));
  std::string http_host = http_listen.substr(0, http_listen.rfind(':'));
  std::cout << "gmpki-server: node " << cfg.node_name << " (" << cfg.deployment << ") serving\n"
            << "  operator API  https://" << https_host << ":" << https.BoundPort() << "/api/v1 (mutual TLS)\n";
  if (http) {
    std::cout << "  CRL download  http://" << http_host << ":" << http->BoundPort() << "/crl/<ca>.crl\n"
              << "  CMP           http://" << http_host << ":" << http->BoundPort() << "/cmp/<ca>\n";
    if (ocsp) std::cout << "  OCSP          http://" << http_host << ":" << http->BoundPort() << "/ocsp\n";
  }
  std::cout << std::flush;
  if (!port_file.empty()) {
    std::ofstream pf(port_file + ".tmp");
    pf << "{\"https\": " << https.BoundPort() << ", \"http\": " << (http ? http->BoundPort() : 0) << "}\n";
    pf.close();
    std::filesystem::rename(port_file + ".tmp", port_file);
  }
  log::Info("server started: https port {}, http port {}", https.BoundPort(), http ? http->BoundPort() : 0);

  // Periodic audit checkpoints keep the unsigned tail of the audit log short (CC-FAU).
  while (!g_stop) {
    std::unique_lock<std::mutex> lock(g_mu);
    g_cv.wait_for(lock, std::chrono::seconds(cfg.checkpoint_interval_seconds), [] { return g_stop.load(); });
    lock.unlock();
    if (auto st = node.CheckpointAudit(); !st.ok()) {
      log::Error("audit checkpoint failed: {}", st.error().ToString());
    }
  }
  log::Info("stopping");
  g_cv.notify_all();
  upkeep.join();
  if (batch_worker) batch_worker->Stop();
  if (http) http->Stop();
  https.Stop();
  (void)node.CheckpointAudit();
  return 0;
}
