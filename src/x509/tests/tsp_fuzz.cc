// Fuzz smoke test for the RFC 3161 parsers (ctest tsp_fuzz_smoke): a built-in seed corpus
// (requests with every hash, nonce sizes, policies, extensions, certReq; granted and rejected
// responses) mutated at random for a time budget. With -fsanitize=fuzzer (clang) it is a
// libFuzzer target instead (GMPKI_LIBFUZZER defined).
//
// Properties asserted, not only "no crash":
// - ParseTimeStampReq fails only with kMalformedInput / kTooLarge (failure badDataFormat) or
//   kUnsupported (badAlg or unacceptedExtension); what it accepts has an imprint of the right
//   length for its hash, a nonce of at most 32 octets and no critical extension, and its
//   imprint and nonce come back unchanged through BuildTstInfo -> ParseTstInfo.
// - ParseTimeStampResp fails only with kMalformedInput / kTooLarge; what it accepts carries a
//   token exactly when the status is granted or grantedWithMods.
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "x509/der.h"
#include "x509/tsp.h"

namespace {

using gmpki::Bytes;
using gmpki::ByteView;
using gmpki::ErrorCode;
using namespace gmpki::x509;

[[noreturn]] void Fail(const char* what, const std::string& detail) {
  std::fprintf(stderr, "tsp_fuzz property violated: %s: %s\n", what, detail.c_str());
  std::abort();
}

void CheckRequest(ByteView in) {
  TspFailure why = TspFailure::kSystemFailure;
  auto r = ParseTimeStampReq(in, &why);
  if (!r.ok()) {
    const ErrorCode c = r.error().code();
    if (c == ErrorCode::kMalformedInput || c == ErrorCode::kTooLarge) {
      if (why != TspFailure::kBadDataFormat) Fail("failure for malformed", r.error().ToString());
    } else if (c == ErrorCode::kUnsupported) {
      if (why != TspFailure::kBadAlg && why != TspFailure::kUnacceptedExtension) {
        Fail("failure for unsupported", r.error().ToString());
      }
    } else {
      Fail("request error code", r.error().ToString());
    }
    return;
  }
  auto len = TspHashLength(r->hash_oid);
  if (!len || *len != r->hashed_message.size()) Fail("imprint", r->hash_oid);
  if (r->nonce && (r->nonce->empty() || r->nonce->size() > kMaxTspNonceOctets)) {
    Fail("nonce", "size");
  }
  for (const auto& e : r->extensions) {
    if (e.critical) Fail("extension", "critical accepted");
  }
  TstInfoSpec spec;
  spec.policy_oid = r->policy ? *r->policy : "1.2.3.4";
  spec.message_imprint_der = r->message_imprint_der;
  const Bytes serial = {0x01, 0x02};
  spec.serial = serial;
  spec.gen_time = gmpki::FromUnixSeconds(1767225600);
  if (r->nonce) spec.nonce = ByteView(*r->nonce);
  auto built = BuildTstInfo(spec);
  if (!built.ok()) Fail("TSTInfo from a parsed request", built.error().ToString());
  auto back = ParseTstInfo(*built);
  if (!back.ok()) Fail("TSTInfo round trip", back.error().ToString());
  if (back->message_imprint_der != r->message_imprint_der) Fail("round trip", "imprint");
  if (back->nonce != r->nonce) Fail("round trip", "nonce");
  if (back->policy != spec.policy_oid) Fail("round trip", "policy");
}

void CheckResponse(ByteView in) {
  auto r = ParseTimeStampResp(in);
  if (!r.ok()) {
    const ErrorCode c = r.error().code();
    if (c != ErrorCode::kMalformedInput && c != ErrorCode::kTooLarge) {
      Fail("response error code", r.error().ToString());
    }
    return;
  }
  const bool granted =
      r->status == PkiStatus::kGranted || r->status == PkiStatus::kGrantedWithMods;
  if (granted == r->token.empty()) Fail("response", "token iff granted");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  ByteView in(data, size);
  CheckRequest(in);
  CheckResponse(in);
  return 0;
}

#ifndef GMPKI_LIBFUZZER
namespace {

std::vector<Bytes> Seeds() {
  std::vector<Bytes> seeds;
  const char* hashes[] = {"1.2.156.10197.1.401", "2.16.840.1.101.3.4.2.1", "1.3.14.3.2.26"};
  const std::size_t lengths[] = {32, 32, 20};
  for (int h = 0; h < 3; ++h) {
    for (int variant = 0; variant < 4; ++variant) {
      TimeStampReq req;
      req.hash_oid = hashes[h];
      req.hashed_message = Bytes(lengths[h], static_cast<std::uint8_t>(0x11 * (variant + 1)));
      if (variant & 1) req.nonce = Bytes(variant == 3 ? 20 : 8, 0x5a);
      if (variant & 2) req.policy = "1.2.156.112233.1.7.1";
      req.cert_req = variant >= 2;
      auto der = BuildTimeStampReq(req);
      if (!der.ok()) Fail("seed", der.error().ToString());
      seeds.push_back(*der);
    }
  }
  // A request with extensions (one non-critical).
  Bytes with_ext = seeds[0];
  const Bytes ext = {0xa0, 0x0a, 0x30, 0x08, 0x06, 0x03, 0x2a, 0x03, 0x04, 0x04, 0x01, 0x00};
  with_ext.insert(with_ext.end(), ext.begin(), ext.end());
  with_ext[1] = static_cast<std::uint8_t>(with_ext[1] + ext.size());
  seeds.push_back(with_ext);
  seeds.push_back(BuildRejectedTimeStampResp(TspFailure::kBadAlg, "bad algorithm"));
  seeds.push_back(BuildRejectedTimeStampResp(TspFailure::kTimeNotAvailable, ""));
  seeds.push_back(BuildGrantedTimeStampResp(gmpki::x509::der::Sequence({})));
  return seeds;
}

Bytes Mutate(const std::vector<Bytes>& corpus, std::mt19937_64& rng) {
  Bytes b = corpus[rng() % corpus.size()];
  const int rounds = 1 + static_cast<int>(rng() % 4);
  static const std::uint8_t kInteresting[] = {0x00, 0x01, 0x02, 0x04, 0x05, 0x06, 0x30, 0x31,
                                              0x7f, 0x80, 0x81, 0x82, 0xa0, 0xff};
  for (int i = 0; i < rounds; ++i) {
    const std::size_t n = b.size();
    switch (rng() % 6) {
      case 0:
        if (n) b[rng() % n] ^= static_cast<std::uint8_t>(1u << (rng() % 8));
        break;
      case 1:
        if (n) b[rng() % n] = kInteresting[rng() % sizeof(kInteresting)];
        break;
      case 2:
        if (n) b.resize(rng() % n);
        break;
      case 3:
        b.insert(b.begin() + static_cast<std::ptrdiff_t>(n ? rng() % n : 0),
                 static_cast<std::uint8_t>(rng()));
        break;
      case 4:
        if (n) b.erase(b.begin() + static_cast<std::ptrdiff_t>(rng() % n));
        break;
      default: {  // splice with another seed
        const Bytes& o = corpus[rng() % corpus.size()];
        if (!o.empty() && n) {
          const std::size_t at = rng() % n;
          b.resize(at);
          b.insert(b.end(), o.begin() + static_cast<std::ptrdiff_t>(rng() % o.size()), o.end());
        }
      }
    }
  }
  return b;
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = 3;
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::string(argv[i]) == "--seconds") seconds = std::atof(argv[i + 1]);
  }
  const std::vector<Bytes> corpus = Seeds();
  for (const Bytes& s : corpus) LLVMFuzzerTestOneInput(s.data(), s.size());
  std::mt19937_64 rng(0x7153a);
  const auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::milliseconds(static_cast<std::int64_t>(seconds * 1000));
  std::size_t runs = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    for (int k = 0; k < 256; ++k, ++runs) {
      const Bytes m = Mutate(corpus, rng);
      LLVMFuzzerTestOneInput(m.data(), m.size());
    }
  }
  std::printf("tsp_fuzz: %zu seeds, %zu mutated inputs, all properties held\n", corpus.size(),
              runs);
  return 0;
}
#endif
