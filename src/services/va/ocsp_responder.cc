#include "services/va/ocsp_responder.h"

#include <cstring>
#include <ctime>
#include <mutex>
#include <unordered_map>

#include "base/log.h"
#include "crypto/sm3.h"

namespace gmpki::va {
namespace {

using x509::OcspCertStatus;
using x509::OcspResponseStatus;

constexpr std::size_t kCacheShards = 64;
// Per-entry bookkeeping beyond the DER and key (map node, control block, strings).
constexpr std::size_t kEntryOverhead = 256;

char AlgorithmByte(std::string_view hash_oid) {
  if (hash_oid == x509::oid::kSha1) return '1';
  if (hash_oid == x509::oid::kSha256) return '2';
  if (hash_oid == x509::oid::kSm3) return '3';
  return 0;
}

// Cache key: hash algorithm byte, CA id (2 octets), serial (at most 20 octets).
struct CacheKey {
  std::array<char, 3 + kMaxSerialOctets> buf;
  std::size_t len = 0;
  std::string_view view() const { return std::string_view(buf.data(), len); }
};

std::optional<CacheKey> MakeKey(char alg, std::uint16_t ca_id, ByteView serial) {
  if (alg == 0 || serial.empty() || serial.size() > kMaxSerialOctets) return std::nullopt;
  CacheKey k;
  k.buf[0] = alg;
  k.buf[1] = static_cast<char>(ca_id >> 8);
  k.buf[2] = static_cast<char>(ca_id & 0xff);
  std::memcpy(k.buf.data() + 3, serial.data(), serial.size());
  k.len = 3 + serial.size();
  return k;
}

std::shared_ptr<const OcspAnswerBody> ErrorBody(OcspResponseStatus status) {
  auto b = std::make_shared<OcspAnswerBody>();
  b->der = x509::BuildOcspErrorResponse(status);
  b->status = status;
  return b;
}

}  // namespace

std::string HttpDate(TimePoint t) {
  std::time_t tt = static_cast<std::time_t>(ToUnixSeconds(t));
  std::tm tm{};
  gmtime_r(&tt, &tm);
  static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  char buf[40];
  std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d GMT", kDays[tm.tm_wday],
                tm.tm_mday, kMonths[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
                tm.tm_sec);
  return buf;
}

struct OcspResponder::SignerEntry {
  std::string ca;
  DelegatedSigner delegated;
  Bytes responder_key_hash;  // ResponderID byKey (RFC 6960 section 4.2.1)
};

// A CertID of the request with what the index says about it.
struct OcspResponder::Resolved {
  x509::OcspCertId id;
  bool ours = false;  // names the CA being answered for
  std::optional<StatusEntry> entry;
};

struct OcspResponder::Cache {
  struct Entry {
    std::shared_ptr<const OcspAnswerBody> body;
    std::uint32_t version = 0;  // StatusEntry::version it was signed from; 0: no record
    std::size_t bytes = 0;
  };
  struct StringHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  struct Shard {
    mutable std::shared_mutex mu;
    std::unordered_map<std::string, Entry, StringHash, std::equal_to<>> map;
    std::size_t bytes = 0;
  };
  explicit Cache(std::size_t budget) : shard_budget(budget / kCacheShards) {}

  Shard& For(std::string_view key) { return shards[StringHash{}(key) % kCacheShards]; }

  std::optional<Entry> Find(std::string_view key) {
    Shard& s = For(key);
    std::shared_lock lock(s.mu);
    auto it = s.map.find(key);
    if (it == s.map.end()) return std::nullopt;
    return it->second;
  }

  void Put(std::string_view key, std::shared_ptr<const OcspAnswerBody> body,
           std::uint32_t version) {
    Shard& s = For(key);
    std::size_t bytes = body->der.size() + body->etag.size() + body->last_modified.size() +
                        body->expires.size() + key.size() + kEntryOverhead;
    std::unique_lock lock(s.mu);
    auto it = s.map.find(key);
    if (it != s.map.end()) {
      s.bytes -= it->second.bytes;
      total_bytes -= it->second.bytes;
      s.map.erase(it);
    }
    // Over budget: drop arbitrary entries of this shard (they are re-signed on next ask).
    while (!s.map.empty() && s.bytes + bytes > shard_budget) {
      auto victim = s.map.begin();
      s.bytes -= victim->second.bytes;
      total_bytes -= victim->second.bytes;
      s.map.erase(victim);
    }
    if (bytes > shard_budget) return;
    s.map.emplace(std::string(key), Entry{std::move(body), version, bytes});
    s.bytes += bytes;
    total_bytes += bytes;
  }

  bool Full() const {
    return total_bytes.load() + kEntryOverhead * 8 >= shard_budget * kCacheShards;
  }

  std::size_t shard_budget;
  std::array<Shard, kCacheShards> shards;
  std::atomic<std::size_t> total_bytes{0};
};

OcspResponder::OcspResponder(const StatusIndex& index, ResponderSettings settings)
    : index_(index),
      settings_(settings),
      cache_(std::make_unique<Cache>(settings.cache_budget_bytes)),
      malformed_(ErrorBody(OcspResponseStatus::kMalformedRequest)),
      unauthorized_(ErrorBody(OcspResponseStatus::kUnauthorized)),
      internal_error_(ErrorBody(OcspResponseStatus::kInternalError)) {}

OcspResponder::~OcspResponder() = default;

void OcspResponder::SetSigner(const std::string& ca, DelegatedSigner signer) {
  auto e = std::make_shared<SignerEntry>();
  e->ca = ca;
  e->responder_key_hash = x509::OcspResponderKeyHash(signer.signer.public_key);
  e->delegated = std::move(signer);
  std::unique_lock lock(signers_mu_);
  signers_[ca] = std::move(e);
}

bool OcspResponder::HasSigner(std::string_view ca) const { return FindSigner(ca) != nullptr; }

std::shared_ptr<const OcspResponder::SignerEntry> OcspResponder::FindSigner(
    std::string_view ca) const {
  std::shared_lock lock(signers_mu_);
  auto it = signers_.find(ca);
  return it == signers_.end() ? nullptr : it->second;
}

OcspAnswer OcspResponder::ErrorAnswer(OcspResponseStatus status) {
  errors_.fetch_add(1, std::memory_order_relaxed);
  switch (status) {
    case OcspResponseStatus::kMalformedRequest:
      return {malformed_, false};
    case OcspResponseStatus::kUnauthorized:
      return {unauthorized_, false};
    default:
      return {internal_error_, false};
  }
}

OcspAnswer OcspResponder::Respond(ByteView request_der, TimePoint now) {
  return Answer(x509::ParseOcspRequest(request_der), now);
}

OcspAnswer OcspResponder::RespondGet(std::string_view path_tail, TimePoint now) {
  return Answer(x509::ParseOcspGetPath(path_tail), now);
}

OcspAnswer OcspResponder::Answer(const Result<x509::OcspRequest>& request, TimePoint now) {
  now = std::chrono::time_point_cast<std::chrono::seconds>(now);
  // RFC 6960 section 2.3: "malformedRequest: Illegal confirmation request", which covers an
  // oversized request too.
  if (!request.ok()) return ErrorAnswer(OcspResponseStatus::kMalformedRequest);
  const x509::OcspRequest& req = *request;

  // The CA is the one the first CertID we recognise names. RFC 5019 section 2.2.3: a
  // responder that is not authoritative for the CertID answers unauthorized.
  std::optional<IssuerMatch> ca;
  std::vector<Resolved> ids(req.ids.size());
  for (std::size_t i = 0; i < req.ids.size(); ++i) {
    const auto& id = req.ids[i];
    ids[i].id = id;
    auto m = index_.FindIssuer(id.hash_oid, id.issuer_name_hash, id.issuer_key_hash);
    if (!m) continue;
    if (!ca) ca = m;
    // A CertID of another CA than the one answering gets unknown (its status cannot be
    // signed by this CA's delegated responder, RFC 6960 section 4.2.2.2).
    if (m->ca_id != ca->ca_id) continue;
    ids[i].ours = true;
    ids[i].entry = index_.Lookup(ca->ca_id, id.serial);
  }
  if (!ca) return ErrorAnswer(OcspResponseStatus::kUnauthorized);
  auto signer = FindSigner(ca->ca);
  if (!signer) return ErrorAnswer(OcspResponseStatus::kUnauthorized);

  const bool cacheable = ids.size() == 1 && !req.nonce;
  std::optional<CacheKey> key;
  if (cacheable) {
    key = MakeKey(AlgorithmByte(ids[0].id.hash_oid), ca->ca_id, ids[0].id.serial);
  }
  const std::uint32_t version = ids[0].entry ? ids[0].entry->version : 0;
  if (key) {
    if (auto hit = cache_->Find(key->view())) {
      if (hit->version == version && hit->body->this_update <= now &&
          hit->body->next_update - now > settings_.refresh_margin) {
        hits_.fetch_add(1, std::memory_order_relaxed);
        return {std::move(hit->body), true};
      }
    }
  }
  auto body = Sign(*signer, ids, req.nonce, now);
  if (!body.ok()) {
    log::Error("OCSP signing for CA '{}' failed: {}", ca->ca, body.error().ToString());
    return ErrorAnswer(OcspResponseStatus::kInternalError);
  }
  if (key) {
    cache_->Put(key->view(), *body, version);
    signed_cached_.fetch_add(1, std::memory_order_relaxed);
  } else {
    signed_live_.fetch_add(1, std::memory_order_relaxed);
  }
  return {std::move(*body), cacheable};
}

Result<std::shared_ptr<const OcspAnswerBody>> OcspResponder::Sign(const SignerEntry& signer,
                                                                  const std::vector<Resolved>& ids,
                                                                  const std::optional<Bytes>& nonce,
                                                                  TimePoint now) {
  x509::OcspResponseSpec spec;
  spec.responder_key_hash = signer.responder_key_hash;
  spec.produced_at = now;
  spec.nonce = nonce;
  spec.certs.push_back(signer.delegated.cert_der);
  const TimePoint next = now + settings_.validity;
  for (const Resolved& r : ids) {
    x509::OcspSingleResponse s;
    s.id = r.id;
    s.this_update = now;
    s.next_update = next;
    if (!r.ours || !r.entry) {
      // RFC 6960 section 2.2: "unknown" - the responder doesn't know about the certificate.
      s.status = OcspCertStatus::kUnknown;
    } else if (r.entry->state == CertState::kGood) {
      s.status = OcspCertStatus::kGood;
    } else {
      s.status = OcspCertStatus::kRevoked;
      s.revocation_time = FromUnixSeconds(r.entry->revoked_unix);
      if (r.entry->state == CertState::kHold) {
        // RFC 6960 section 2.2: a certificate on hold is "revoked" with reason
        // certificateHold.
        s.reason = x509::RevocationReason::kCertificateHold;
      } else if (r.entry->reason > 0) {
        // RFC 5280 section 5.3.1: the reason code unspecified (0) SHOULD be absent; the same
        // choice as our CRL entries.
        s.reason = static_cast<x509::RevocationReason>(r.entry->reason);
      }
    }
    spec.responses.push_back(std::move(s));
  }
  GMPKI_ASSIGN_OR_RETURN(Bytes der, x509::BuildOcspResponse(spec, signer.delegated.signer));
  auto body = std::make_shared<OcspAnswerBody>();
  crypto::Sm3Digest digest = crypto::Sm3(der);
  body->der = std::move(der);
  body->status = OcspResponseStatus::kSuccessful;
  body->this_update = now;
  body->next_update = next;
  body->last_modified = HttpDate(now);
  body->expires = HttpDate(next);
  body->etag = "\"" + HexEncode(ByteView(digest.data(), 16)) + "\"";
  return std::shared_ptr<const OcspAnswerBody>(std::move(body));
}

Result<std::size_t> OcspResponder::Presign(std::string_view ca, TimePoint now,
                                           std::size_t max_entries) {
  now = std::chrono::time_point_cast<std::chrono::seconds>(now);
  auto ca_id = index_.CaId(ca);
  Bytes issuer_der = index_.IssuerCert(ca);
  auto signer = FindSigner(ca);
  if (!ca_id || issuer_der.empty() || !signer) {
    return Error(ErrorCode::kNotFound, "no issuer certificate or signer for CA '" +
                                           std::string(ca) + "' in the OCSP responder");
  }
  GMPKI_ASSIGN_OR_RETURN(auto issuer, x509::Certificate::FromDer(issuer_der));
  std::size_t signed_count = 0;
  Status failure = OkStatus();
  std::vector<Resolved> one(1);
  index_.ForEachSerial(*ca_id, [&](ByteView serial) {
    if (signed_count >= max_entries || !failure.ok() || cache_->Full()) return;
    auto key = MakeKey('1', *ca_id, serial);
    auto entry = index_.Lookup(*ca_id, serial);
    if (!key || !entry) return;
    if (auto hit = cache_->Find(key->view());
        hit && hit->version == entry->version &&
        hit->body->next_update - now > settings_.refresh_margin) {
      return;
    }
    auto id = x509::MakeOcspCertId(issuer, serial, x509::oid::kSha1);
    if (!id.ok()) return;
    one[0] = Resolved{std::move(*id), true, entry};
    auto body = Sign(*signer, one, std::nullopt, now);
    if (!body.ok()) {
      failure = body.error();
      return;
    }
    cache_->Put(key->view(), std::move(*body), entry->version);
    ++signed_count;
  });
  signed_cached_.fetch_add(signed_count, std::memory_order_relaxed);
  if (!failure.ok()) return failure.error();
  return signed_count;
}

std::size_t OcspResponder::RefreshCache(TimePoint now) {
  now = std::chrono::time_point_cast<std::chrono::seconds>(now);
  // Collect what needs signing under each shard's shared lock, sign with no lock held.
  struct Stale {
    std::string key;
  };
  std::vector<Stale> stale;
  for (auto& shard : cache_->shards) {
    std::shared_lock lock(shard.mu);
    for (const auto& [key, e] : shard.map) {
      auto ca_id = static_cast<std::uint16_t>((static_cast<std::uint8_t>(key[1]) << 8) |
                                              static_cast<std::uint8_t>(key[2]));
      auto entry = index_.Lookup(ca_id, AsBytes(std::string_view(key).substr(3)));
      std::uint32_t version = entry ? entry->version : 0;
      if (version != e.version || e.body->next_update - now <= settings_.refresh_margin) {
        stale.push_back({key});
      }
    }
  }
  std::size_t count = 0;
  std::map<std::uint16_t, std::optional<x509::Certificate>> issuers;
  std::vector<Resolved> one(1);
  for (const Stale& s : stale) {
    auto ca_id = static_cast<std::uint16_t>((static_cast<std::uint8_t>(s.key[1]) << 8) |
                                            static_cast<std::uint8_t>(s.key[2]));
    std::string ca = index_.CaName(ca_id);
    auto signer = FindSigner(ca);
    auto& issuer = issuers[ca_id];
    if (!issuer) {
      auto c = x509::Certificate::FromDer(index_.IssuerCert(ca));
      if (c.ok()) issuer = std::move(*c);
    }
    if (!signer || !issuer) continue;
    std::string_view oid = s.key[0] == '1'   ? x509::oid::kSha1
                           : s.key[0] == '2' ? x509::oid::kSha256
                                             : x509::oid::kSm3;
    Bytes serial = ToBytes(std::string_view(s.key).substr(3));
    auto id = x509::MakeOcspCertId(*issuer, serial, oid);
    if (!id.ok()) continue;
    auto entry = index_.Lookup(ca_id, serial);
    one[0] = Resolved{std::move(*id), true, entry};
    auto body = Sign(*signer, one, std::nullopt, now);
    if (!body.ok()) {
      log::Error("OCSP refresh for CA '{}' failed: {}", ca, body.error().ToString());
      continue;
    }
    cache_->Put(s.key, std::move(*body), entry ? entry->version : 0);
    ++count;
  }
  signed_cached_.fetch_add(count, std::memory_order_relaxed);
  return count;
}

ResponderStats OcspResponder::Stats() const {
  ResponderStats s;
  s.cache_hits = hits_.load();
  s.signed_cached = signed_cached_.load();
  s.signed_live = signed_live_.load();
  s.errors = errors_.load();
  for (auto& shard : cache_->shards) {
    std::shared_lock lock(shard.mu);
    s.cache_entries += shard.map.size();
  }
  s.cache_bytes = cache_->total_bytes.load();
  return s;
}

}  // namespace gmpki::va
