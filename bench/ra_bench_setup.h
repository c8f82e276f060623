// `bench_ra_load setup` and the key/CSR helpers the load phases share
// (bench/README.md).
#pragma once

#include <string>

#include "base/bytes.h"
#include "crypto/sm2.h"

namespace gmpki::bench {

struct SetupOptions {
  std::string home;  // a demo home (gmpki init --demo), server not running
  std::string out;   // JSON lines: {"ra", "sign_key" (hex d), "tls_cert", "tls_key"}
  int count = 500;
  std::string prefix = "bench-ra";
  std::string ca = "ministry-ca";         // issues the signing certificates; the RAs
                                          // may request from it
  std::string profile = "personal-sign";  // the one profile the RAs are authorised for
  int threads = 4;
};

// Enrols o.count RAs through Node::EnrolRa; throws std::runtime_error on
// failure.
int RunSetup(const SetupOptions& o);

// A software SM2 key pair (random d, no pairwise test: the benchmark's own
// throw-away keys).
crypto::Sm2KeyPair NewSm2Key();
// A DER PKCS#10 request for C=CN,O=gmpki bench,CN=<common_name>, signed with
// `key`.
Bytes NewCsr(const std::string& common_name, crypto::Sm2KeyPair key);

}  // namespace gmpki::bench
