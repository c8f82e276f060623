// The timestamp authority (AS-05; GM/T 0033-2014, RFC 3161): answers TimeStampReqs with
// SM2-signed TimeStampTokens (x509/tsp.h) and verifies tokens it issued.
//
// The TSA key lives in the crypto device; its certificate (critical extendedKeyUsage
// id-kp-timeStamping only, RFC 3161 section 2.3) is issued by a CA of this platform. Serial
// numbers are a 128-bit random prefix drawn at start plus a 32-bit counter (160 bits with
// the top bit clear, RFC 3161 "integers up to 160 bits"), so they never repeat across
// restarts and nodes without any coordination. genTime comes from TrustedTime, which refuses
// (timeNotAvailable) when the clock is not trustworthy.
//
// Thread safety: Stamp and Verify may be called concurrently from many threads.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/bytes.h"
#include "base/result.h"
#include "crypto/sm3.h"
#include "device/device.h"
#include "services/tsa/trusted_time.h"
#include "x509/certificate.h"
#include "x509/signer.h"
#include "x509/tsp.h"

namespace gmpki::tsa {

struct TsaSettings {
  // TSAPolicyId for requests that name none. REQUIRES: a dotted OID.
  std::string policy_oid;
  // Further policies a request may ask for (the default one is always accepted); any other
  // requested policy is refused with unacceptedPolicy.
  std::vector<std::string> accepted_policies;
  // Imprint hashes accepted (SM3, SHA-256, SHA-1 are known); others get badAlg.
  std::vector<std::string> accepted_hashes = {"1.2.156.10197.1.401", "2.16.840.1.101.3.4.2.1"};
  // Accuracy stated in tokens (zero: none); should be >= TrustedTimeSettings::max_offset.
  std::chrono::microseconds accuracy{std::chrono::seconds(1)};
  int fraction_digits = 3;  // genTime precision, 0..6
  bool include_tsa_name = true;  // TSTInfo.tsa = directoryName of the TSA certificate subject
  x509::CmsFlavor flavor = x509::CmsFlavor::kRfc5652;
  x509::CmsSignatureOid signature_oid = x509::CmsSignatureOid::kSm3WithSm2;
};

// The TSA's signing identity.
struct TsaIdentity {
  x509::Signer signer;
  x509::Certificate certificate;
  std::vector<x509::Certificate> chain;  // issuing CA upwards, sent when certReq is set
};

// Signs with the device key `key_label` (purpose kSign), spreading concurrent calls over
// `sessions` device sessions (a Session serves one thread at a time). kIntegrityFailure when
// the certificate's key is not the device key; kNotFound for an unknown label.
Result<TsaIdentity> IdentityFromDevice(device::CryptoDevice& device, std::string_view key_label,
                                       ByteView certificate_der,
                                       const std::vector<Bytes>& chain_der,
                                       std::size_t sessions = 4);

// 160-bit serials: random prefix (16 octets, top bit cleared) || counter (4 octets, big-endian).
// A new prefix is drawn when the counter wraps.
class SerialSource {
 public:
  static constexpr std::size_t kSize = 20;
  using Serial = std::array<std::uint8_t, kSize>;
  // `prefix` for tests; normally drawn from the system CSPRNG.
  static Result<std::unique_ptr<SerialSource>> Create(std::optional<Bytes> prefix = std::nullopt);
  Result<Serial> Next();

 private:
  SerialSource() = default;
  std::mutex mu_;
  std::array<std::uint8_t, 16> prefix_{};
  std::uint64_t counter_ = 0;
};

// Result of one Stamp call: the DER TimeStampResp is always present.
struct StampOutcome {
  Bytes response;
  bool granted = false;
  std::optional<x509::TspFailure> failure;
  std::string reason;  // why a request was refused (for logs; also in statusString)
};

struct TsaStats {
  std::uint64_t granted = 0;
  std::uint64_t rejected = 0;
};

struct TsaVerifyRequest {
  // A TimeStampResp or a bare TimeStampToken (DER).
  Bytes token;
  // Exactly one of data, or hash_oid + hash.
  std::optional<Bytes> data;
  std::optional<std::string> hash_oid;
  std::optional<Bytes> hash;
  std::optional<Bytes> nonce;  // INTEGER content octets sent in the request
};

struct TsaVerdict {
  bool valid = false;
  std::vector<std::string> reasons;  // empty when valid
  std::optional<x509::TstInfo> info;  // when the token parsed
};

class TsaService {
 public:
  // kInvalidArgument for bad settings (policy OID, fraction digits, unknown hash) or a
  // certificate unfit for timestamping (EKU not critical id-kp-timeStamping only, a key that
  // is not the signer's). `time` must outlive the service.
  static Result<std::unique_ptr<TsaService>> Create(
      TsaIdentity identity, TrustedTime& time, TsaSettings settings,
      std::unique_ptr<SerialSource> serials = nullptr);

  // Answers one DER TimeStampReq. Never fails: refusals are rejection responses with
  // PKIFailureInfo (badDataFormat, badAlg, unacceptedPolicy, unacceptedExtension,
  // timeNotAvailable, systemFailure).
  StampOutcome Stamp(ByteView request_der);

  // Verifies a token issued by this TSA (its current certificate): signature, ESS binding,
  // EKU, imprint, nonce, genTime within the certificate's validity. kInvalidArgument only for
  // a request without exactly one of data / hash; every other problem is a reason.
  Result<TsaVerdict> Verify(const TsaVerifyRequest& request) const;

  const x509::Certificate& certificate() const { return identity_.certificate; }
  const TsaSettings& settings() const { return settings_; }
  TsaStats stats() const { return {granted_.load(), rejected_.load()}; }

 private:
  TsaService(TsaIdentity identity, TrustedTime& time, TsaSettings settings,
             std::unique_ptr<SerialSource> serials);
  StampOutcome Reject(x509::TspFailure failure, std::string reason);

  TsaIdentity identity_;
  TrustedTime& time_;
  TsaSettings settings_;
  std::unique_ptr<SerialSource> serials_;
  crypto::Sm3Digest cert_hash_{};
  std::vector<const x509::Certificate*> chain_ptrs_;
  std::atomic<std::uint64_t> granted_{0};
  std::atomic<std::uint64_t> rejected_{0};
};

}  // namespace gmpki::tsa
