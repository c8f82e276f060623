// `bench_ra_load setup`: enrols N registration systems on a demo home before
// its server starts, the way `gmpki ra enrol` does it (Node::EnrolRa: the CA
// operator issues the RA's SM2 signing certificate, profile device-sign; the
// deployment's TLS CA issues its TLS client certificate; the security
// administrator enrols both), and writes one JSON line per RA with what the RA
// side keeps: its name, its SM2 signing key (a software key: the benchmark is
// the RA here), its TLS client certificate and key.
#include "ra_bench_setup.h"

#include <atomic>
#include <fstream>
#include <iostream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <thread>

#include "crypto/random.h"
#include "crypto/sm2.h"
#include "net/tls_pki.h"
#include "services/node/node.h"
#include "x509/csr.h"
#include "x509/name.h"
#include "x509/pem.h"
#include "x509/signer.h"

namespace gmpki::bench {
namespace {

template <class T>
T Check(Result<T> r, const std::string& what) {
  if (!r.ok()) throw std::runtime_error(what + ": " + r.error().ToString());
  return std::move(r).value();
}

services::Actor DemoActor(node::Node& n, services::Role role) {
  auto dir = n.config().home / "demo" / "operators" / node::InitialOperatorName(role);
  auto cred = Check(node::LoadCredential(dir), "demo credential " + dir.string());
  auto fp = Check(node::VerifyCredential(cred), "demo credential " + dir.string());
  return Check(n.operators().Authenticate(fp, "cli"), "operator " + dir.string());
}

}  // namespace

crypto::Sm2KeyPair NewSm2Key() {
  for (;;) {
    auto d = Check(crypto::RandomBytes(32), "random");
    auto key = crypto::Sm2PrivateKey::FromScalar(d);
    if (!key.ok()) continue;  // d outside [1, n-2]: draw again
    auto pub = Check(key->DerivePublicKey(), "SM2 public key");
    return crypto::Sm2KeyPair{std::move(*key), pub};
  }
}

Bytes NewCsr(const std::string& common_name, crypto::Sm2KeyPair key) {
  auto name =
      Check(x509::Name::FromAttributes({{"C", "CN"}, {"O", "gmpki bench"}, {"CN", common_name}}),
            "subject");
  auto shared = std::make_shared<const crypto::Sm2PrivateKey>(std::move(key.private_key));
  auto signer = x509::MakeSoftwareSigner(shared, key.public_key);
  return Check(x509::BuildCsr(name, signer), "CSR");
}

int RunSetup(const SetupOptions& o) {
  auto node = Check(node::Node::Open(o.home), "open " + o.home);
  auto ca_operator = DemoActor(*node, services::Role::kCaOperator);
  auto security_admin = DemoActor(*node, services::Role::kSecurityAdmin);
  node::Node::RaEnrolOptions eo;
  eo.issuer_ca = o.ca;
  eo.cas = {o.ca};
  eo.profiles = {o.profile};

  std::ofstream out(o.out, std::ios::trunc);
  if (!out) throw std::runtime_error("cannot write " + o.out);
  std::vector<std::string> lines(static_cast<std::size_t>(o.count));
  std::atomic<int> next{0};
  std::mutex err_mu;
  std::string first_error;
  // Several at once so that the CA's group commit stores the signing
  // certificates together.
  std::vector<std::thread> workers;
  for (int t = 0; t < o.threads; ++t) {
    workers.emplace_back([&] {
      for (int i; (i = next.fetch_add(1)) < o.count;) {
        try {
          char name[32];
          std::snprintf(name, sizeof name, "%s-%03d", o.prefix.c_str(), i);
          auto key = NewSm2Key();
          std::string scalar = HexEncode(key.private_key.scalar().view());
          std::string csr_pem = x509::PemEncode(x509::kPemCsr, NewCsr(name, std::move(key)));
          auto tls_key = Check(net::GenerateTlsKey(), "TLS key");
          auto tls_pub = Check(net::TlsPublicKeyPem(tls_key), "TLS public key");
          nlohmann::json request{{"ra", name}, {"sign_csr", csr_pem}, {"tls_public_key", tls_pub}};
          auto resp = Check(node->EnrolRa(ca_operator, security_admin, request, eo), "enrol");
          std::string key_pem(tls_key.data(), tls_key.data() + tls_key.size());
          lines[static_cast<std::size_t>(i)] = nlohmann::json{
              {"ra", name},
              {"sign_key", scalar},
              {"tls_cert", resp.at("tls_certificate").get<std::string>()},
              {"tls_key", key_pem}}.dump();
        } catch (const std::exception& e) {
          std::lock_guard<std::mutex> l(err_mu);
          if (first_error.empty()) first_error = e.what();
          next = o.count;
        }
      }
    });
  }
  for (auto& w : workers) w.join();
  if (!first_error.empty()) throw std::runtime_error(first_error);
  for (const auto& l : lines) out << l << "\n";
  if (auto st = node->CheckpointAudit(); !st.ok()) {
    throw std::runtime_error("audit checkpoint: " + st.error().ToString());
  }
  std::cerr << "enrolled " << o.count << " registration systems (" << o.prefix << "-000.."
            << o.count - 1 << ") on " << o.home << "\n";
  return 0;
}

}  // namespace gmpki::bench
