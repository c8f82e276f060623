// Shared helpers for gmpki_x509_tests: in-memory SM2 keys, a 4-level chain
// (root -> industry CA -> business CA -> end entity), and the OpenSSL CLI as an independent
// verifier run in a temporary directory.
#pragma once

#include <gtest/gtest.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>

#include <sys/wait.h>
#include <unistd.h>

#include "crypto/sm2.h"
#include "x509/certificate.h"
#include "x509/extensions.h"
#include "x509/name.h"
#include "x509/signer.h"

namespace gmpki::x509::testing {

template <class T>
T Must(Result<T> r) {
  if (!r.ok()) {
    // Thrown, not aborted: gtest reports it as a failure of this test only.
    throw std::runtime_error(r.error().ToString());
  }
  return std::move(r).value();
}

struct TestKey {
  std::shared_ptr<const crypto::Sm2PrivateKey> priv;
  crypto::Sm2PublicKey pub;
  Signer signer;
};

inline TestKey NewKey(std::string_view id = kSm2SignerId) {
  crypto::Sm2KeyPair kp = Must(crypto::Sm2GenerateKeyPair());
  TestKey k{std::make_shared<const crypto::Sm2PrivateKey>(std::move(kp.private_key)),
            kp.public_key, {}};
  k.signer = MakeSoftwareSigner(k.priv, k.pub, id);
  return k;
}

// 2026-01-01T00:00:00Z; every test uses fixed times so results never depend on the clock.
inline TimePoint T0() { return FromUnixSeconds(1767225600); }
inline TimePoint Days(int n) { return T0() + std::chrono::hours(24 * n); }

inline Name N(std::string_view text) { return Must(Name::Parse(text)); }

// Issues a CA or end-entity certificate with the usual GM/T 0015 extensions.
inline Bytes IssueTestCert(const Name& subject, const crypto::Sm2PublicKey& subject_key,
                           const Name& issuer, const Signer& issuer_signer, bool ca,
                           std::optional<int> path_len, TimePoint nb, TimePoint na,
                           std::vector<Extension> extra = {}) {
  TbsSpec spec;
  spec.serial = Must(GenerateSerial());
  spec.issuer = issuer;
  spec.subject = subject;
  spec.not_before = nb;
  spec.not_after = na;
  spec.subject_public_key = subject_key;
  spec.extensions.push_back(ext::BasicConstraints(ca, path_len, ca));
  spec.extensions.push_back(Must(ext::KeyUsage(
      ca ? (kKeyCertSign | kCrlSign) : (kDigitalSignature | kNonRepudiation))));
  spec.extensions.push_back(ext::SubjectKeyIdentifier(KeyIdentifierFor(subject_key)));
  spec.extensions.push_back(
      ext::AuthorityKeyIdentifier(KeyIdentifierFor(issuer_signer.public_key)));
  for (auto& e : extra) spec.extensions.push_back(std::move(e));
  return Must(IssueCertificate(spec, issuer_signer));
}

// Built in declaration order: each certificate is signed by the key above it.
struct Chain4 {
  TestKey root_key = NewKey();
  TestKey industry_key = NewKey();
  TestKey business_key = NewKey();
  TestKey ee_key = NewKey();
  Name root_name = N("C=CN,O=National Root,CN=GM Root CA");
  Name industry_name = N("C=CN,O=MOHRSS,CN=Industry CA");
  Name business_name = N("C=CN,ST=Beijing,O=MOHRSS,OU=Social Security,CN=Business CA");
  Name ee_name = N("C=CN,O=MOHRSS,CN=Zhang San");
  Certificate root = Must(Certificate::FromDer(IssueTestCert(
      root_name, root_key.pub, root_name, root_key.signer, true, std::nullopt, Days(-10),
      Days(3650))));
  Certificate industry = Must(Certificate::FromDer(IssueTestCert(
      industry_name, industry_key.pub, root_name, root_key.signer, true, 1, Days(-10),
      Days(3000))));
  Certificate business = Must(Certificate::FromDer(IssueTestCert(
      business_name, business_key.pub, industry_name, industry_key.signer, true, 0, Days(-10),
      Days(2000))));
  Certificate ee = Must(Certificate::FromDer(IssueTestCert(
      ee_name, ee_key.pub, business_name, business_key.signer, false, std::nullopt, Days(-1),
      Days(365))));
};

// Runs `cmd` with sh, returns exit status and combined output.
struct CommandResult {
  int status = -1;
  std::string output;
};

inline CommandResult RunCommand(const std::string& cmd) {
  CommandResult r;
  std::string full = cmd + " 2>&1";
  FILE* p = popen(full.c_str(), "r");
  if (!p) return r;
  std::array<char, 4096> buf;
  std::size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) r.output.append(buf.data(), n);
  int st = pclose(p);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

// A fresh directory under the system temp dir, removed at destruction.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "gmpki_x509_XXXXXX").string();
    path_ = mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string Path(std::string_view name) const { return path_ + "/" + std::string(name); }
  void Write(std::string_view name, ByteView data) const {
    std::ofstream f(Path(name), std::ios::binary);
    f.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
  }
  void Write(std::string_view name, std::string_view text) const { Write(name, AsBytes(text)); }
  Bytes Read(std::string_view name) const {
    std::ifstream f(Path(name), std::ios::binary);
    std::stringstream ss;
    ss << f.rdbuf();
    return ToBytes(ss.str());
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace gmpki::x509::testing
