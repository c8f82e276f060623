// sm2.h's signing, verification, encryption, decryption and key derivation: gmpki's own constant-time engine
// (sm2_engine/, issue #3) by default; the OpenSSL implementation (sm2_sign.cc) when the
// environment says GMPKI_SM2_IMPL=openssl at start, for comparison and as a fallback.
#include <array>
#include <atomic>
#include <list>
#include <map>
#include <mutex>
#include <cstdlib>
#include <string_view>

#include "crypto/sm2.h"
#include "crypto/sm2_engine/encrypt.h"
#include "crypto/sm2_engine/engine.h"
#include "crypto/sm2_engine/precomp.h"
#include "crypto/sm2_internal.h"

namespace gmpki::crypto {
namespace internal {

bool Sm2UsesOpenssl() {
  static const bool kOpenssl = [] {
    const char* v = std::getenv("GMPKI_SM2_IMPL");
    return v != nullptr && std::string_view(v) == "openssl";
  }();
  return kOpenssl;
}

struct Sm2KeyAccess {
  // The engine's form of `key`, built once per key object (racing threads may both build it;
  // one wins, both results are equal).
  static Result<std::shared_ptr<const sm2_engine::PrivateKey>> Engine(const Sm2PrivateKey& key) {
    std::shared_ptr<const void> cached = std::atomic_load(&key.engine_);
    if (cached) return std::static_pointer_cast<const sm2_engine::PrivateKey>(cached);
    GMPKI_ASSIGN_OR_RETURN(auto made, sm2_engine::PrivateKey::FromScalar(key.d_.view()));
    auto shared = std::make_shared<const sm2_engine::PrivateKey>(std::move(made));
    std::atomic_store(&key.engine_, std::shared_ptr<const void>(shared));
    return shared;
  }
};

// Keys that verify often (CA, OCSP and audit keys checking chains, CRLs and logs) get a
// precomputed table (sm2_engine/precomp.h: ~6x faster verification). A table costs about
// seven verifications to build and 88 KB, so it is built for a key only after it has verified
// kBuildAfter times, and at most kMaxKeys are kept (least recently used goes first).
class KnownKeys {
 public:
  static constexpr int kBuildAfter = 8;
  static constexpr std::size_t kMaxKeys = 64;

  // The table for `point` if it has one; counts the use otherwise and builds it when due.
  std::shared_ptr<const sm2_engine::PrecomputedPublicKey> Lookup(const sm2_engine::PublicKey& key,
                                                                ByteView point) {
    std::array<std::uint8_t, 65> id{};
    std::copy(point.begin(), point.end(), id.begin());
    std::unique_lock lock(mu_);
    Entry& e = Touch(id);
    if (e.table) return e.table;
    if (++e.uses < kBuildAfter) {
      Evict();
      return nullptr;
    }
    lock.unlock();
    auto table = std::make_shared<const sm2_engine::PrecomputedPublicKey>(
        sm2_engine::PrecomputedPublicKey::Build(key));
    lock.lock();
    auto it = entries_.find(id);
    if (it != entries_.end() && !it->second.table) {
      it->second.table = table;
      ++tables_;
    }
    Evict();
    return table;
  }

 private:
  using Id = std::array<std::uint8_t, 65>;
  struct Entry {
    int uses = 0;
    std::shared_ptr<const sm2_engine::PrecomputedPublicKey> table;
    std::list<Id>::iterator lru;  // position in lru_ (front: most recently used)
  };
  // REQUIRES: mu_ held. The entry for id, created if new, moved to the front of lru_.
  Entry& Touch(const Id& id) {
    auto [it, inserted] = entries_.try_emplace(id);
    if (inserted) {
      lru_.push_front(id);
      it->second.lru = lru_.begin();
    } else {
      lru_.splice(lru_.begin(), lru_, it->second.lru);
    }
    return it->second;
  }
  // REQUIRES: mu_ held. Keys without a table are cheap to forget; the map is bounded at
  // 4 x kMaxKeys entries and kMaxKeys tables, the least recently used going first. O(log n)
  // per eviction (a verification with a new key evicts one entry once the map is full).
  void Evict() {
    while (entries_.size() > 4 * kMaxKeys || tables_ > kMaxKeys) {
      auto oldest = entries_.find(lru_.back());
      if (oldest->second.table) --tables_;
      entries_.erase(oldest);
      lru_.pop_back();
    }
  }
  std::mutex mu_;
  std::size_t tables_ = 0;
  std::list<Id> lru_;
  std::map<Id, Entry> entries_;
};

KnownKeys& Known() {
  static KnownKeys* k = new KnownKeys();  // never destroyed: used until the process exits
  return *k;
}

}  // namespace internal

Result<Bytes> Sm2SignDigest(const Sm2PrivateKey& key, ByteView e32) {
  if (internal::Sm2UsesOpenssl()) return internal::OsslSm2SignDigest(key, e32);
  if (e32.size() != kSm3DigestSize) {
    return Error(ErrorCode::kInvalidArgument, "SM2: e must be a 32-byte SM3 digest");
  }
  GMPKI_ASSIGN_OR_RETURN(auto engine_key, internal::Sm2KeyAccess::Engine(key));
  GMPKI_ASSIGN_OR_RETURN(auto sig, sm2_engine::SignDigest(*engine_key, e32));
  return sm2_engine::EncodeSignatureDer(sig);
}

Status Sm2VerifyDigest(const Sm2PublicKey& pub, ByteView e32, ByteView der_signature) {
  if (internal::Sm2UsesOpenssl()) return internal::OsslSm2VerifyDigest(pub, e32, der_signature);
  if (e32.size() != kSm3DigestSize) {
    return Error(ErrorCode::kInvalidArgument, "SM2: e must be a 32-byte SM3 digest");
  }
  auto sig = sm2_engine::DecodeSignatureDer(der_signature);
  if (!sig.ok()) return Error(ErrorCode::kBadSignature, "SM2 signature does not verify");
  auto key = sm2_engine::PublicKey::FromPoint(pub.point());
  if (!key.ok()) return Error(ErrorCode::kInvalidArgument, "SM2 public key is not valid");
  if (auto table = internal::Known().Lookup(*key, pub.point())) {
    return sm2_engine::VerifyDigestPrecomputed(*table, e32, *sig);
  }
  return sm2_engine::VerifyDigest(*key, e32, *sig);
}

Result<Bytes> Sm2Encrypt(const Sm2PublicKey& pub, ByteView plaintext) {
  if (internal::Sm2UsesOpenssl()) return internal::OsslSm2Encrypt(pub, plaintext);
  auto key = sm2_engine::PublicKey::FromPoint(pub.point());
  if (!key.ok()) return Error(ErrorCode::kInvalidArgument, "SM2 public key is not valid");
  return sm2_engine::EncryptC1C3C2(*key, plaintext);
}

Result<SecretBytes> Sm2Decrypt(const Sm2PrivateKey& key, ByteView ciphertext) {
  if (internal::Sm2UsesOpenssl()) return internal::OsslSm2Decrypt(key, ciphertext);
  GMPKI_ASSIGN_OR_RETURN(auto engine_key, internal::Sm2KeyAccess::Engine(key));
  return sm2_engine::Decrypt(*engine_key, ciphertext);
}

Result<Sm2PublicKey> Sm2PrivateKey::DerivePublicKey() const {
  if (d_.size() != 32) return Error(ErrorCode::kInvalidArgument, "SM2: empty private key");
  if (internal::Sm2UsesOpenssl()) return internal::OsslSm2DerivePublicKey(*this);
  GMPKI_ASSIGN_OR_RETURN(auto engine_key, internal::Sm2KeyAccess::Engine(*this));
  auto point = engine_key->public_key().ToPoint();
  return Sm2PublicKey::FromPoint(ByteView(point.data(), point.size()));
}

}  // namespace gmpki::crypto
