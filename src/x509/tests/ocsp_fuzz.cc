// Fuzz target for the OCSP parsers. With a compiler that supports
// -fsanitize=fuzzer (clang) it is a libFuzzer target (GMPKI_LIBFUZZER defined);
// otherwise (GCC 12) main() below replays the corpus and then random mutations
// of it for a time budget, as a ctest.
//
// Properties asserted, not only "no crash":
// - ParseOcspRequest fails only with kMalformedInput or kTooLarge; what it
// accepts has 1..100
//   CertIDs and a nonce of 1..32 octets, and every CertID survives a response
//   round trip (BuildOcspResponse -> ParseOcspResponse gives the same CertID
//   back).
// - ParseOcspGetPath of the input as text fails only with kMalformedInput or
// kTooLarge.
// - ParseOcspResponse fails only with kMalformedInput, kUnsupported or
// kTooLarge, and an
//   unsuccessful status never carries single responses.
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "x509/ocsp.h"

namespace {

using gmpki::Bytes;
using gmpki::ByteView;
using gmpki::ErrorCode;

[[noreturn]] void Fail(const char* what, const std::string& detail) {
  std::fprintf(stderr, "ocsp_fuzz property violated: %s: %s\n", what, detail.c_str());
  std::abort();
}

// A signer that returns a fixed value: the round trip checks structure, not
// signatures, and must stay fast.
const gmpki::x509::Signer& FakeSigner() {
  static const gmpki::x509::Signer* s = [] {
    auto* signer = new gmpki::x509::Signer();
    signer->sign = [](ByteView) -> gmpki::Result<Bytes> {
      return Bytes{0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01};
    };
    return signer;
  }();
  return *s;
}

void CheckRequest(ByteView in) {
  using namespace gmpki::x509;
  auto r = ParseOcspRequest(in);
  if (!r.ok()) {
    if (r.error().code() != ErrorCode::kMalformedInput &&
        r.error().code() != ErrorCode::kTooLarge) {
      Fail("request error code", r.error().ToString());
    }
    return;
  }
  if (r->ids.empty() || r->ids.size() > kMaxOcspRequestIds) Fail("request ids", "count");
  if (r->nonce && (r->nonce->empty() || r->nonce->size() > kMaxOcspNonceSize)) {
    Fail("request nonce", "size");
  }
  OcspResponseSpec spec;
  spec.responder_key_hash = Bytes(20, 1);
  spec.produced_at = gmpki::FromUnixSeconds(1767225600);
  for (const auto& id : r->ids) {
    spec.responses.push_back(
        {id, OcspCertStatus::kGood, {}, std::nullopt, spec.produced_at, std::nullopt});
  }
  spec.nonce = r->nonce;
  auto built = BuildOcspResponse(spec, FakeSigner());
  if (!built.ok()) Fail("response from a parsed request", built.error().ToString());
  auto back = ParseOcspResponse(*built);
  if (!back.ok()) Fail("round trip parse", back.error().ToString());
  if (back->responses.size() != r->ids.size()) Fail("round trip", "count");
  for (std::size_t i = 0; i < r->ids.size(); ++i) {
    if (!(back->responses[i].id == r->ids[i])) Fail("round trip", "CertID differs");
  }
  if (back->nonce != r->nonce) Fail("round trip", "nonce differs");
}

void CheckGetPath(ByteView in) {
  auto r = gmpki::x509::ParseOcspGetPath(
      std::string_view(reinterpret_cast<const char*>(in.data()), in.size()));
  if (!r.ok() && r.error().code() != ErrorCode::kMalformedInput &&
      r.error().code() != ErrorCode::kTooLarge) {
    Fail("GET path error code", r.error().ToString());
  }
}

void CheckResponse(ByteView in) {
  auto r = gmpki::x509::ParseOcspResponse(in);
  if (!r.ok()) {
    const ErrorCode c = r.error().code();
    if (c != ErrorCode::kMalformedInput && c != ErrorCode::kUnsupported &&
        c != ErrorCode::kTooLarge) {
      Fail("response error code", r.error().ToString());
    }
    return;
  }
  if (r->status != 0 && !r->responses.empty()) Fail("response", "error status with responses");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  ByteView in(data, size);
  CheckRequest(in);
  CheckGetPath(in);
  CheckResponse(in);
  return 0;
}

#ifndef GMPKI_LIBFUZZER
namespace {

Bytes ReadFile(const std::filesystem::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  const std::string s = ss.str();
  return Bytes(s.begin(), s.end());
}

Bytes Mutate(const std::vector<Bytes>& corpus, std::mt19937_64& rng) {
  Bytes b = corpus[rng() % corpus.size()];
  const int rounds = 1 + static_cast<int>(rng() % 4);
  for (int i = 0; i < rounds; ++i) {
    const std::size_t n = b.size();
    switch (rng() % 7) {
      case 0:  // bit flip
        if (n) b[rng() % n] ^= static_cast<std::uint8_t>(1u << (rng() % 8));
        break;
      case 1:  // interesting byte (tags, length forms)
        if (n) {
          static const std::uint8_t kBytes[] = {0x00, 0x01, 0x04, 0x30, 0x7f, 0x80, 0x81,
                                                0x82, 0x84, 0xa0, 0xa1, 0xa2, 0xff};
          b[rng() % n] = kBytes[rng() % sizeof kBytes];
        }
        break;
      case 2:  // truncate
        if (n) b.resize(rng() % n);
        break;
      case 3:  // delete a range
        if (n > 1) {
          std::size_t at = rng() % n, len = 1 + rng() % std::min<std::size_t>(8, n - at);
          b.erase(b.begin() + static_cast<std::ptrdiff_t>(at),
                  b.begin() + static_cast<std::ptrdiff_t>(at + len));
        }
        break;
      case 4:  // insert random bytes
      {
        std::size_t at = n ? rng() % (n + 1) : 0, len = 1 + rng() % 8;
        Bytes ins(len);
        for (auto& x : ins) x = static_cast<std::uint8_t>(rng());
        b.insert(b.begin() + static_cast<std::ptrdiff_t>(at), ins.begin(), ins.end());
      } break;
      case 5:  // splice with another seed
      {
        const Bytes& o = corpus[rng() % corpus.size()];
        if (n && !o.empty()) {
          std::size_t cut = rng() % n, from = rng() % o.size();
          b.resize(cut);
          b.insert(b.end(), o.begin() + static_cast<std::ptrdiff_t>(from), o.end());
        }
      } break;
      default:  // duplicate a range (repeated elements)
        if (n) {
          std::size_t at = rng() % n, len = 1 + rng() % std::min<std::size_t>(32, n - at);
          Bytes copy(b.begin() + static_cast<std::ptrdiff_t>(at),
                     b.begin() + static_cast<std::ptrdiff_t>(at + len));
          b.insert(b.begin() + static_cast<std::ptrdiff_t>(at), copy.begin(), copy.end());
        }
        break;
    }
  }
  return b;
}

}  // namespace

// Usage: gmpki_ocsp_fuzz [--seconds S] [--seed N] DIR_OR_FILE...
int main(int argc, char** argv) {
  double seconds = 3;
  std::uint64_t seed = 20260101;
  std::vector<Bytes> corpus;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--seconds" && i + 1 < argc) {
      seconds = std::atof(argv[++i]);
    } else if (a == "--seed" && i + 1 < argc) {
      seed = std::strtoull(argv[++i], nullptr, 10);
    } else if (std::filesystem::is_directory(a)) {
      for (const auto& e : std::filesystem::directory_iterator(a)) {
        if (e.is_regular_file()) corpus.push_back(ReadFile(e.path()));
      }
    } else if (std::filesystem::is_regular_file(a)) {
      corpus.push_back(ReadFile(a));
    }
  }
  if (corpus.empty()) {
    std::fprintf(stderr, "gmpki_ocsp_fuzz: no corpus files given\n");
    return 2;
  }
  for (const Bytes& b : corpus) LLVMFuzzerTestOneInput(b.data(), b.size());
  std::mt19937_64 rng(seed);
  const auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                            std::chrono::duration<double>(seconds));
  std::uint64_t runs = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    for (int k = 0; k < 64; ++k, ++runs) {
      Bytes m = Mutate(corpus, rng);
      LLVMFuzzerTestOneInput(m.data(), m.size());
    }
  }
  std::printf(
      "gmpki_ocsp_fuzz: %zu seeds, %llu mutations, seed %llu, no "
      "property violated\n",
      corpus.size(), static_cast<unsigned long long>(runs), static_cast<unsigned long long>(seed));
  return 0;
}
#endif
