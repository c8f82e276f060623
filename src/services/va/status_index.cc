#include "services/va/status_index.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <mutex>

#include "x509/certificate.h"
#include "x509/ocsp.h"

namespace gmpki::va {
namespace {

// One certificate's status in 40 bytes: the serial inline (no per-record heap allocation),
// times as unsigned 32-bit Unix seconds (enough until 2106; earlier or later values saturate).
struct Record {
  std::uint8_t serial[kMaxSerialOctets];
  std::uint8_t serial_len;
  char state;
  std::int8_t reason;
  std::uint8_t unused0;
  std::uint16_t ca;
  std::uint16_t unused1;
  std::uint32_t version;
  std::uint32_t revoked;
  std::uint32_t not_after;
};
static_assert(sizeof(Record) == 40);

// Records are appended to chunks that never move, so growing a shard copies only its table.
constexpr std::size_t kChunkRecords = 512;  // 20 KiB: small deployments stay small
constexpr std::size_t kInitialTable = 64;

std::uint32_t Saturate32(std::int64_t v) {
  if (v < 0) return 0;
  if (v > std::numeric_limits<std::uint32_t>::max())
    return std::numeric_limits<std::uint32_t>::max();
  return static_cast<std::uint32_t>(v);
}

// FNV-1a over the CA id and serial, then the splitmix64 finaliser so that sequential serials
// spread over shards and table positions.
std::uint64_t HashKey(std::uint16_t ca, ByteView serial) {
  std::uint64_t h = 1469598103934665603ull;
  h = (h ^ (ca & 0xff)) * 1099511628211ull;
  h = (h ^ (ca >> 8)) * 1099511628211ull;
  for (std::uint8_t b : serial) h = (h ^ b) * 1099511628211ull;
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ull;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebull;
  h ^= h >> 31;
  return h;
}

char AlgorithmByte(std::string_view hash_oid) {
  if (hash_oid == x509::oid::kSha1) return '1';
  if (hash_oid == x509::oid::kSha256) return '2';
  if (hash_oid == x509::oid::kSm3) return '3';
  return 0;
}

bool ValidState(CertState s) {
  return s == CertState::kGood || s == CertState::kRevoked || s == CertState::kHold;
}

}  // namespace

struct StatusIndex::Shard {
  mutable std::shared_mutex mu;
  std::vector<std::unique_ptr<Record[]>> chunks;
  std::uint32_t count = 0;
  // Slot: (record index + 1) << 32 | upper 32 bits of the key hash; 0 is empty.
  std::vector<std::uint64_t> table;

  Record& At(std::uint32_t i) const { return chunks[i / kChunkRecords][i % kChunkRecords]; }

  // REQUIRES: mu held (shared or exclusive).
  Record* Find(std::uint64_t h, std::uint16_t ca, ByteView serial) const {
    if (table.empty()) return nullptr;
    const std::size_t mask = table.size() - 1;
    const auto tag = static_cast<std::uint32_t>(h >> 32);
    for (std::size_t pos = (h >> 8) & mask;; pos = (pos + 1) & mask) {
      std::uint64_t slot = table[pos];
      if (slot == 0) return nullptr;
      if (static_cast<std::uint32_t>(slot) != tag) continue;
      Record& r = At(static_cast<std::uint32_t>(slot >> 32) - 1);
      if (r.ca == ca && r.serial_len == serial.size() &&
          std::memcmp(r.serial, serial.data(), serial.size()) == 0) {
        return &r;
      }
    }
  }

  // REQUIRES: mu held exclusively; the key is absent.
  void Place(std::uint64_t h, std::uint32_t index) {
    const std::size_t mask = table.size() - 1;
    std::size_t pos = (h >> 8) & mask;
    while (table[pos] != 0) pos = (pos + 1) & mask;
    table[pos] = (static_cast<std::uint64_t>(index + 1) << 32) | (h >> 32);
  }

  // REQUIRES: mu held exclusively. Keeps the load factor at or below 0.8 (linear probing stays
  // short there) by doubling the table.
  void ReserveOneMore() {
    if (!table.empty() && (static_cast<std::size_t>(count) + 1) * 5 <= table.size() * 4) return;
    std::size_t n = table.empty() ? kInitialTable : table.size() * 2;
    table.assign(n, 0);
    for (std::uint32_t i = 0; i < count; ++i) {
      const Record& r = At(i);
      Place(HashKey(r.ca, ByteView(r.serial, r.serial_len)), i);
    }
  }

  // REQUIRES: mu held exclusively.
  Record& Append() {
    if (count % kChunkRecords == 0) chunks.push_back(std::make_unique<Record[]>(kChunkRecords));
    return At(count++);
  }
};

StatusIndex::StatusIndex() : shards_(std::make_unique<Shard[]>(kShards)) {}
StatusIndex::~StatusIndex() = default;

StatusIndex::Shard& StatusIndex::ShardFor(std::uint64_t hash) const {
  return shards_[hash % kShards];
}

Result<Bytes> SerialOctets(std::string_view serial_hex) {
  std::size_t nz = serial_hex.find_first_not_of('0');
  std::string hex(nz == std::string_view::npos ? std::string_view("0") : serial_hex.substr(nz));
  if (hex.size() % 2 != 0) hex.insert(hex.begin(), '0');
  if (hex.size() > 2 * kMaxSerialOctets) {
    return Error(ErrorCode::kInvalidArgument, "serial longer than 20 octets");
  }
  auto b = HexDecode(hex);
  if (!b.ok() || serial_hex.empty()) {
    return Error(ErrorCode::kInvalidArgument,
                 "serial '" + std::string(serial_hex) + "' is not hex");
  }
  return std::move(*b);
}

std::uint16_t StatusIndex::CaIdFor(std::string_view ca) {
  {
    std::shared_lock lock(cas_mu_);
    if (auto it = ca_ids_.find(ca); it != ca_ids_.end()) return it->second;
  }
  std::unique_lock lock(cas_mu_);
  if (auto it = ca_ids_.find(ca); it != ca_ids_.end()) return it->second;
  if (cas_.size() >= std::numeric_limits<std::uint16_t>::max()) return 0;
  auto info = std::make_unique<CaInfo>();
  info->name = std::string(ca);
  cas_.push_back(std::move(info));
  auto id = static_cast<std::uint16_t>(cas_.size());
  ca_ids_.emplace(std::string(ca), id);
  return id;
}

std::optional<std::uint16_t> StatusIndex::CaId(std::string_view ca) const {
  std::shared_lock lock(cas_mu_);
  auto it = ca_ids_.find(ca);
  if (it == ca_ids_.end()) return std::nullopt;
  return it->second;
}

Status StatusIndex::AddIssuer(const IssuerRecord& issuer) {
  if (issuer.ca.empty()) return Error(ErrorCode::kInvalidArgument, "issuer without a CA name");
  GMPKI_ASSIGN_OR_RETURN(auto cert, x509::Certificate::FromDer(issuer.cert_der));
  std::uint16_t id = CaIdFor(issuer.ca);
  if (id == 0) return Error(ErrorCode::kTooLarge, "the status index holds 65,535 CAs already");
  std::unique_lock lock(cas_mu_);
  CaInfo& info = *cas_[id - 1];
  if (info.cert_der == issuer.cert_der) return OkStatus();
  // A re-keyed CA: CertIDs naming the old key stop matching it.
  std::erase_if(issuer_hashes_, [id](const auto& kv) { return kv.second == id; });
  for (const auto& h : x509::ComputeIssuerHashes(cert)) {
    char alg = AlgorithmByte(h.hash_oid);
    if (alg == 0) continue;
    std::string key(1, alg);
    key.append(h.name_hash.begin(), h.name_hash.end());
    key.append(h.key_hash.begin(), h.key_hash.end());
    issuer_hashes_[key] = id;
  }
  info.cert_der = issuer.cert_der;
  return OkStatus();
}

std::optional<IssuerMatch> StatusIndex::FindIssuer(std::string_view hash_oid, ByteView name_hash,
                                                   ByteView key_hash) const {
  char alg = AlgorithmByte(hash_oid);
  if (alg == 0 || name_hash.size() > 32 || key_hash.size() > 32) return std::nullopt;
  std::array<char, 65> buf;
  buf[0] = alg;
  std::memcpy(buf.data() + 1, name_hash.data(), name_hash.size());
  std::memcpy(buf.data() + 1 + name_hash.size(), key_hash.data(), key_hash.size());
  std::string_view key(buf.data(), 1 + name_hash.size() + key_hash.size());
  std::shared_lock lock(cas_mu_);
  auto it = issuer_hashes_.find(key);
  if (it == issuer_hashes_.end()) return std::nullopt;
  return IssuerMatch{it->second, cas_[it->second - 1]->name};
}

Bytes StatusIndex::IssuerCert(std::string_view ca) const {
  std::shared_lock lock(cas_mu_);
  auto it = ca_ids_.find(ca);
  if (it == ca_ids_.end()) return {};
  return cas_[it->second - 1]->cert_der;
}

std::vector<std::string> StatusIndex::IssuerNames() const {
  std::shared_lock lock(cas_mu_);
  std::vector<std::string> out;
  for (const auto& c : cas_) {
    if (!c->cert_der.empty()) out.push_back(c->name);
  }
  return out;
}

std::string StatusIndex::CaName(std::uint16_t ca_id) const {
  std::shared_lock lock(cas_mu_);
  if (ca_id == 0 || ca_id > cas_.size()) return {};
  return cas_[ca_id - 1]->name;
}

Status StatusIndex::Apply(const StatusRecord& rec) {
  if (rec.ca.empty()) return Error(ErrorCode::kInvalidArgument, "status record without a CA");
  if (!ValidState(rec.state)) {
    return Error(ErrorCode::kInvalidArgument, "status record with an unknown state");
  }
  GMPKI_ASSIGN_OR_RETURN(Bytes serial, SerialOctets(rec.serial_hex));
  std::uint16_t ca = CaIdFor(rec.ca);
  if (ca == 0) return Error(ErrorCode::kTooLarge, "the status index holds 65,535 CAs already");
  const bool good = rec.state == CertState::kGood;
  const auto reason = static_cast<std::int8_t>(good ? -1 : std::clamp(rec.reason, -1, 10));
  const std::uint32_t revoked = good ? 0 : Saturate32(rec.revoked_unix);
  const std::uint32_t not_after = Saturate32(rec.not_after);

  std::uint64_t h = HashKey(ca, serial);
  Shard& s = ShardFor(h);
  std::unique_lock lock(s.mu);
  if (Record* r = s.Find(h, ca, serial)) {
    bool changed =
        r->state != static_cast<char>(rec.state) || r->reason != reason || r->revoked != revoked;
    r->not_after = not_after;
    if (changed) {
      r->state = static_cast<char>(rec.state);
      r->reason = reason;
      r->revoked = revoked;
      r->version = next_version_.fetch_add(1, std::memory_order_relaxed);
    }
    return OkStatus();
  }
  s.ReserveOneMore();
  std::uint32_t index = s.count;
  Record& r = s.Append();
  std::memset(&r, 0, sizeof r);
  std::memcpy(r.serial, serial.data(), serial.size());
  r.serial_len = static_cast<std::uint8_t>(serial.size());
  r.state = static_cast<char>(rec.state);
  r.reason = reason;
  r.ca = ca;
  r.version = next_version_.fetch_add(1, std::memory_order_relaxed);
  r.revoked = revoked;
  r.not_after = not_after;
  s.Place(h, index);
  size_.fetch_add(1, std::memory_order_relaxed);
  return OkStatus();
}

std::optional<StatusEntry> StatusIndex::Lookup(std::uint16_t ca_id, ByteView serial) const {
  if (serial.empty() || serial.size() > kMaxSerialOctets) return std::nullopt;
  std::uint64_t h = HashKey(ca_id, serial);
  Shard& s = ShardFor(h);
  std::shared_lock lock(s.mu);
  const Record* r = s.Find(h, ca_id, serial);
  if (r == nullptr) return std::nullopt;
  StatusEntry e;
  e.state = static_cast<CertState>(r->state);
  e.reason = r->reason;
  e.revoked_unix = r->revoked;
  e.not_after = r->not_after;
  e.version = r->version;
  return e;
}

std::optional<StatusEntry> StatusIndex::Lookup(std::string_view ca, ByteView serial) const {
  auto id = CaId(ca);
  if (!id) return std::nullopt;
  return Lookup(*id, serial);
}

void StatusIndex::ForEachSerial(std::uint16_t ca_id,
                                const std::function<void(ByteView serial)>& fn) const {
  for (std::size_t i = 0; i < kShards; ++i) {
    std::vector<std::array<std::uint8_t, kMaxSerialOctets + 1>> serials;
    {
      const Shard& s = shards_[i];
      std::shared_lock lock(s.mu);
      for (std::uint32_t k = 0; k < s.count; ++k) {
        const Record& r = s.At(k);
        if (r.ca != ca_id) continue;
        auto& out = serials.emplace_back();
        out[0] = r.serial_len;
        std::memcpy(out.data() + 1, r.serial, r.serial_len);
      }
    }
    for (const auto& sn : serials) fn(ByteView(sn.data() + 1, sn[0]));
  }
}

std::size_t StatusIndex::MemoryBytes() const {
  std::size_t total = 0;
  for (std::size_t i = 0; i < kShards; ++i) {
    const Shard& s = shards_[i];
    std::shared_lock lock(s.mu);
    total += s.chunks.size() * kChunkRecords * sizeof(Record);
    total += s.table.capacity() * sizeof(std::uint64_t);
    total += s.chunks.capacity() * sizeof(void*);
  }
  return total;
}

}  // namespace gmpki::va
