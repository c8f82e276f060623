// The OCSP responder (RFC 6960 with the RFC 5019 lightweight profile; issue #6 item 1, VA-02):
// answers requests from a StatusIndex, signing with one delegated OCSP signing certificate per
// CA (RFC 6960 section 4.2.2.2).
//
// Hot path: a request with one CertID and no nonce is answered from a pre-signed cache of whole
// OCSPResponse DER values keyed by (CertID hash algorithm, CA, serial). A hit costs one request
// parse, one issuer lookup, one status-index lookup (to notice a status change) and one
// cache lookup under a shard's shared lock; the answer is shared, not copied. A miss, a stale
// entry (the status changed since it was signed) or an entry whose nextUpdate is within the
// refresh margin is signed again and replaces the entry. Requests with a nonce or several
// CertIDs are signed live and never cached.
//
// Error answers (RFC 6960 section 2.3, RFC 5019 section 2.2.3): malformedRequest for a request
// that does not parse, unauthorized for one whose CertIDs name no CA this responder serves (or
// a CA whose signer is not installed), internalError when signing fails.
//
// Thread safety: every method is thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>

#include "base/bytes.h"
#include "base/clock.h"
#include "base/result.h"
#include "services/va/status_index.h"
#include "x509/ocsp.h"
#include "x509/signer.h"

namespace gmpki::va {

struct ResponderSettings {
  // nextUpdate = thisUpdate + validity (RFC 5019 section 2.2.4: responses carry nextUpdate).
  std::chrono::seconds validity{3600};
  // A cached response is signed again when less than this is left before its nextUpdate, so
  // clients that cache until nextUpdate (RFC 5019 section 6) never hold an expired answer.
  std::chrono::seconds refresh_margin{600};
  // Upper bound on the bytes held by pre-signed responses (about 600 bytes each); beyond it
  // entries are evicted (least useful first is not tracked: any entry of the fullest shard).
  std::size_t cache_budget_bytes = std::size_t{512} << 20;
};

// A CA's delegated responder: the Signer over its device key and its certificate (sent in
// BasicOCSPResponse.certs so clients can check it chains to the CA).
struct DelegatedSigner {
  x509::Signer signer;
  Bytes cert_der;
  std::int64_t not_after = 0;  // the certificate's expiry (Unix seconds)
};

// One answer, shared between requests when it came from the cache. Immutable.
struct OcspAnswerBody {
  Bytes der;  // the OCSPResponse
  x509::OcspResponseStatus status = x509::OcspResponseStatus::kSuccessful;
  TimePoint this_update{};
  TimePoint next_update{};
  // Precomputed for the HTTP layer (RFC 5019 section 6.2): IMF-fixdate strings and a strong
  // entity tag ("\"<hex>\"", SM3 of the DER, first 16 octets). Empty for error answers.
  std::string last_modified;
  std::string expires;
  std::string etag;
};

struct OcspAnswer {
  std::shared_ptr<const OcspAnswerBody> body;
  // A successful answer without nonce: HTTP caches may keep it until nextUpdate (RFC 5019
  // section 6); false for nonce answers and error answers.
  bool cacheable = false;
};

struct ResponderStats {
  std::uint64_t cache_hits = 0;
  std::uint64_t signed_cached = 0;  // responses signed into the cache (miss, stale or refresh)
  std::uint64_t signed_live = 0;    // nonce / several CertIDs
  std::uint64_t errors = 0;         // malformedRequest, unauthorized, internalError answers
  std::size_t cache_entries = 0;
  std::size_t cache_bytes = 0;
};

class OcspResponder {
 public:
  // `index` is not owned and must outlive the responder.
  OcspResponder(const StatusIndex& index, ResponderSettings settings = {});
  ~OcspResponder();
  OcspResponder(const OcspResponder&) = delete;
  OcspResponder& operator=(const OcspResponder&) = delete;

  // Installs (or replaces, after a renewal) the delegated signer of `ca`. Responses already
  // cached stay valid: they were signed by a certificate that has not expired.
  void SetSigner(const std::string& ca, DelegatedSigner signer);
  bool HasSigner(std::string_view ca) const;

  // A DER OCSPRequest (POST body; RFC 6960 Appendix A.1).
  OcspAnswer Respond(ByteView request_der, TimePoint now);
  // The GET form: what follows "/ocsp/" in the request path, still percent-encoded.
  OcspAnswer RespondGet(std::string_view path_tail, TimePoint now);

  // The background warmer: signs and caches a SHA-1 CertID response (the hash RFC 5019
  // section 2.1.1 clients use) for every certificate of `ca` that is not cached and fresh,
  // at most `max_entries`. Returns how many were signed. kNotFound for a CA without issuer or
  // signer. Stops early when the cache budget is reached.
  Result<std::size_t> Presign(std::string_view ca, TimePoint now,
                              std::size_t max_entries = SIZE_MAX);
  // Re-signs cached entries whose status changed or whose nextUpdate is within the refresh
  // margin; run periodically (every minute or so) so the request path rarely signs. Returns
  // how many were signed.
  std::size_t RefreshCache(TimePoint now);

  ResponderStats Stats() const;

 private:
  struct Cache;
  struct SignerEntry;
  struct Resolved;
  OcspAnswer Answer(const Result<x509::OcspRequest>& request, TimePoint now);
  OcspAnswer ErrorAnswer(x509::OcspResponseStatus status);
  std::shared_ptr<const SignerEntry> FindSigner(std::string_view ca) const;
  // Builds and signs a response for `ids` (all resolved against `signer`'s CA).
  Result<std::shared_ptr<const OcspAnswerBody>> Sign(const SignerEntry& signer,
                                                     const std::vector<Resolved>& ids,
                                                     const std::optional<Bytes>& nonce,
                                                     TimePoint now);

  const StatusIndex& index_;
  ResponderSettings settings_;
  mutable std::shared_mutex signers_mu_;
  std::map<std::string, std::shared_ptr<const SignerEntry>, std::less<>> signers_;
  std::unique_ptr<Cache> cache_;
  std::shared_ptr<const OcspAnswerBody> malformed_, unauthorized_, internal_error_;
  std::atomic<std::uint64_t> hits_{0}, signed_cached_{0}, signed_live_{0}, errors_{0};
};

// RFC 9110 section 5.6.7 IMF-fixdate, e.g. "Sun, 06 Nov 1994 08:49:37 GMT".
std::string HttpDate(TimePoint t);

}  // namespace gmpki::va
