#include "services/evidence/tests/evidence_test_fixture.h"

#include <unistd.h>

#include <atomic>

namespace gmpki::evidence::testing {

std::filesystem::path FreshDir() {
  static std::atomic<int> counter{0};
  auto dir = std::filesystem::temp_directory_path() /
             ("gmpki_evidence_test_" + std::to_string(::getpid()) + "_" +
              std::to_string(counter.fetch_add(1)));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

EvidenceRecord Record(int i) {
  static constexpr Kind kKinds[] = {Kind::kSign, Kind::kVerify,  Kind::kSeal,
                                    Kind::kAuth, Kind::kKeyUse, Kind::kTimestamp};
  EvidenceRecord r;
  r.kind = kKinds[i % 6];
  r.actor = "client-" + std::to_string(i % 5);
  r.application = i % 2 ? "svs" : "tsa";
  r.object = "doc-sm3:" + std::to_string(100000 + i);
  r.decision = i % 7 == 0 ? "invalid" : "valid";
  r.outcome = i % 7 == 0 ? Outcome::kFailure : Outcome::kSuccess;
  r.details = "{\"n\":" + std::to_string(i) + "}";
  r.time = FromMillis(1767225600000 + i);
  return r;
}

}  // namespace gmpki::evidence::testing
