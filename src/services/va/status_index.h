// The in-memory certificate status index the OCSP responder answers from (issue #6 item 1;
// VA-02, PF-01: 10 million certificates). Fed by CaStatusSource (the CA database) or by the
// business->public feed (src/services/va_feed); both call Apply with a StatusRecord.
//
// Layout: records live in fixed 40-byte slots (serial as up to 20 raw octets, times as 32-bit
// Unix seconds) in chunked arenas that never move, found through an open-addressing table of
// 8-byte {record index, hash tag} slots; the whole is split into kShards shards, each behind its
// own reader/writer lock, so readers on different shards never meet and a writer holds one
// shard for one insert. About 50 bytes per record at 10 million records (see MemoryBytes()).
//
// Issuers: each CA gets a small id; its CertID hashes (SHA-1, SHA-256, SM3 of its name and key,
// x509::ComputeIssuerHashes) map to that id in a hash table, so a CertID finds its CA in O(1).
//
// Thread safety: every method is thread-safe. Lookups may run on any number of threads while
// one writer applies changes (several writers are also safe, they serialise per shard).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/bytes.h"
#include "base/result.h"
#include "services/va/status_record.h"

namespace gmpki::va {

// RFC 5280 section 4.1.2.2: serials are at most 20 octets; longer ones are never ours.
inline constexpr std::size_t kMaxSerialOctets = 20;

// What the index knows about one certificate.
struct StatusEntry {
  CertState state = CertState::kGood;
  int reason = -1;
  std::int64_t revoked_unix = 0;
  std::int64_t not_after = 0;
  // Changes whenever the record's state, reason or time changes (never for a no-op Apply).
  // Pre-signed responses remember it to notice that they are stale.
  std::uint32_t version = 0;
};

// The CA a CertID names.
struct IssuerMatch {
  std::uint16_t ca_id = 0;  // >= 1
  std::string_view ca;      // valid for the index's lifetime
};

class StatusIndex {
 public:
  static constexpr std::size_t kShards = 256;

  StatusIndex();
  ~StatusIndex();
  StatusIndex(const StatusIndex&) = delete;
  StatusIndex& operator=(const StatusIndex&) = delete;

  // Registers a CA and its certificate (the issuer hashes of CertIDs). Idempotent; a new
  // certificate for a known CA (a re-keyed CA) replaces its hashes. kMalformedInput when the
  // certificate does not parse, kTooLarge beyond 65,535 CAs.
  Status AddIssuer(const IssuerRecord& issuer);
  // The CA whose name and key hash to these values under `hash_oid` (sha1, sha256 or sm3).
  std::optional<IssuerMatch> FindIssuer(std::string_view hash_oid, ByteView name_hash,
                                        ByteView key_hash) const;
  // The CA's id when it was registered (by AddIssuer or by an Apply naming it).
  std::optional<std::uint16_t> CaId(std::string_view ca) const;
  // The CA certificate registered by AddIssuer; empty when none.
  Bytes IssuerCert(std::string_view ca) const;
  std::vector<std::string> IssuerNames() const;
  // The name of CA `ca_id`; empty for an unknown id.
  std::string CaName(std::uint16_t ca_id) const;

  // Inserts or updates a record. Records for a CA not registered yet are kept (the CA's
  // certificate may arrive later). kInvalidArgument for an empty CA name, a serial that is not
  // hex or longer than 20 octets, or an unknown state.
  Status Apply(const StatusRecord& record);
  // `serial`: unsigned big-endian without leading zero octets (as x509::OcspCertId::serial).
  std::optional<StatusEntry> Lookup(std::uint16_t ca_id, ByteView serial) const;
  std::optional<StatusEntry> Lookup(std::string_view ca, ByteView serial) const;

  // Calls `fn` with the serial of every record of `ca_id` (for the pre-signing warmer). The
  // serials are collected first, so `fn` runs without any lock held.
  void ForEachSerial(std::uint16_t ca_id, const std::function<void(ByteView serial)>& fn) const;

  std::size_t size() const { return size_.load(std::memory_order_relaxed); }
  // Heap bytes held by the record arenas and hash tables.
  std::size_t MemoryBytes() const;

 private:
  struct Shard;
  struct CaInfo {
    std::string name;
    Bytes cert_der;
  };
  Shard& ShardFor(std::uint64_t hash) const;
  std::uint16_t CaIdFor(std::string_view ca);  // registers; 0 when the table is full

  std::unique_ptr<Shard[]> shards_;
  std::atomic<std::size_t> size_{0};
  std::atomic<std::uint32_t> next_version_{1};

  mutable std::shared_mutex cas_mu_;
  // Heterogeneous lookup, so that FindIssuer builds its key on the stack.
  struct StringHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::vector<std::unique_ptr<CaInfo>> cas_;  // index ca_id - 1; entries never move
  std::unordered_map<std::string, std::uint16_t, StringHash, std::equal_to<>> ca_ids_;
  // Key: one byte naming the hash algorithm, then name hash, then key hash.
  std::unordered_map<std::string, std::uint16_t, StringHash, std::equal_to<>> issuer_hashes_;
};

// Hex serial (as StatusRecord::serial_hex, any case, optional leading zeros) to the octets a
// CertID carries. kInvalidArgument when not hex, empty or longer than 20 octets.
Result<Bytes> SerialOctets(std::string_view serial_hex);

}  // namespace gmpki::va
