#include "services/evidence/evidence_log.h"

#include <algorithm>
#include <string>

#include "services/evidence/log_internal.h"

namespace gmpki::evidence {
namespace {

// Rows per multi-row INSERT: 7 parameters a record row, well under SQLite's 32766 and
// PostgreSQL's 65535 bound parameters per statement.
constexpr std::size_t kInsertChunk = 256;

Status InsertRows(store::Transaction& tx, std::string_view head, std::size_t columns,
                  const std::vector<store::Value>& values) {
  const std::size_t rows = values.size() / columns;
  for (std::size_t done = 0; done < rows;) {
    const std::size_t n = std::min(kInsertChunk, rows - done);
    std::vector<store::Value> params(values.begin() + static_cast<std::ptrdiff_t>(done * columns),
                                     values.begin() +
                                         static_cast<std::ptrdiff_t>((done + n) * columns));
    GMPKI_RETURN_IF_ERROR(
        tx.Exec(std::string(head) + " VALUES " + store::ValuesPlaceholders(n, columns), params));
    done += n;
  }
  return OkStatus();
}

Bytes ToBytes(const NodeHash& h) { return Bytes(h.begin(), h.end()); }

Result<std::vector<NodeHash>> ResolveRanges(store::Transaction& tx,
                                            const std::vector<LeafRange>& ranges) {
  const NodeSource nodes = internal::StoredNodes(tx);
  std::vector<NodeHash> out;
  out.reserve(ranges.size());
  for (const LeafRange& r : ranges) {
    GMPKI_ASSIGN_OR_RETURN(NodeHash h, RangeHash(Sm3TreeHasher(), nodes, r));
    out.push_back(h);
  }
  return out;
}

Status CheckCommittedSize(store::Transaction& tx, std::uint64_t size) {
  GMPKI_ASSIGN_OR_RETURN(std::uint64_t committed, internal::ReadTreeSize(tx));
  if (size > committed) {
    return Error(ErrorCode::kInvalidArgument, "tree size " + std::to_string(size) +
                                                  " is beyond the log's size " +
                                                  std::to_string(committed));
  }
  return OkStatus();
}

}  // namespace

std::vector<store::Migration> EvidenceMigrations() {
  // PERSISTENT: never edit a released migration; add a new version in 900..999.
  return {{900, "evidence_log",
           "CREATE TABLE evidence_records ("
           " leaf_index INTEGER PRIMARY KEY,"
           " kind INTEGER NOT NULL,"
           " time_ms INTEGER NOT NULL,"
           " actor TEXT NOT NULL,"
           " object TEXT NOT NULL,"
           " entry {{blob}} NOT NULL,"
           " leaf_hash {{blob}} NOT NULL);"
           "CREATE TABLE evidence_nodes ("
           " level INTEGER NOT NULL,"
           " idx INTEGER NOT NULL,"
           " hash {{blob}} NOT NULL,"
           " PRIMARY KEY (level, idx));"
           "CREATE TABLE evidence_head (id INTEGER PRIMARY KEY, tree_size INTEGER NOT NULL);"
           "INSERT INTO evidence_head (id, tree_size) VALUES (1, 0);"
           "CREATE TABLE evidence_sths ("
           " id {{autoid}},"
           " tree_size INTEGER NOT NULL,"
           " timestamp_ms INTEGER NOT NULL,"
           " root_hash {{blob}} NOT NULL,"
           " signature {{blob}} NOT NULL,"
           " key_label TEXT NOT NULL,"
           " public_key {{blob}} NOT NULL);"
           "CREATE INDEX evidence_sths_size ON evidence_sths (tree_size)"}};
}

Status AuditReport::ToStatus() const {
  if (ok) return OkStatus();
  return Error(ErrorCode::kIntegrityFailure,
               "evidence log leaf " + std::to_string(first_bad_index) + ": " + message);
}

EvidenceLog::EvidenceLog(store::Database& db, device::CryptoDevice& device, const Clock& clock,
                         EvidenceLogOptions options, std::uint32_t key_index,
                         crypto::Sm2PublicKey key)
    : db_(db),
      device_(device),
      clock_(clock),
      options_(std::move(options)),
      key_index_(key_index),
      log_key_(key) {}

EvidenceLog::~EvidenceLog() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  flusher_cv_.notify_all();
  if (flusher_.joinable()) flusher_.join();  // it drains the queue first
}

Result<std::unique_ptr<EvidenceLog>> EvidenceLog::Open(store::Database& db,
                                                       device::CryptoDevice& device,
                                                       const Clock& clock,
                                                       EvidenceLogOptions options) {
  if (options.max_batch == 0) {
    return Error(ErrorCode::kInvalidArgument, "evidence log max_batch must be at least 1");
  }
  GMPKI_ASSIGN_OR_RETURN(std::unique_ptr<device::Session> session, device.OpenSession());
  GMPKI_ASSIGN_OR_RETURN(device::KeyInfo key, session->FindKey(options.key_label));
  if (key.purpose != device::KeyPurpose::kSign) {
    return Error(ErrorCode::kInvalidArgument,
                 "evidence log key " + options.key_label + " is not a signing key");
  }
  // Fail now, not at the first append, when the schema is missing.
  {
    GMPKI_ASSIGN_OR_RETURN(std::unique_ptr<store::Transaction> tx, db.BeginReadOnly());
    GMPKI_ASSIGN_OR_RETURN(std::uint64_t size, internal::ReadTreeSize(*tx));
    (void)size;
  }
  return std::unique_ptr<EvidenceLog>(
      new EvidenceLog(db, device, clock, std::move(options), key.index, key.public_key));
}

std::uint64_t EvidenceLog::batches() const {
  std::lock_guard lock(mu_);
  return batches_;
}

std::uint64_t EvidenceLog::records() const {
  std::lock_guard lock(mu_);
  return records_;
}

Result<std::uint64_t> EvidenceLog::Append(EvidenceRecord record) {
  return AppendAll(std::span<const EvidenceRecord>(&record, 1));
}

Result<std::vector<EvidenceLog::Prepared>> EvidenceLog::Prepare(
    std::span<const EvidenceRecord> records) {
  if (records.empty()) return Error(ErrorCode::kInvalidArgument, "no evidence records to append");
  // Validation, encoding and leaf hashing run on the caller's thread, in parallel with other
  // callers; the batch leader only writes.
  std::vector<Prepared> prepared;
  prepared.reserve(records.size());
  const TimePoint now = clock_.Now();
  for (const EvidenceRecord& r : records) {
    GMPKI_RETURN_IF_ERROR(ValidateRecord(r));
    Prepared p;
    p.record = r;
    if (p.record.time == TimePoint{}) p.record.time = now;
    p.entry = EncodeRecord(p.record);
    p.leaf_hash = Sm3TreeHasher().HashLeaf(p.entry);
    prepared.push_back(std::move(p));
  }
  return prepared;
}

Result<std::uint64_t> EvidenceLog::AppendAll(std::span<const EvidenceRecord> records) {
  GMPKI_ASSIGN_OR_RETURN(std::vector<Prepared> prepared, Prepare(records));
  return Submit(std::move(prepared));
}

Status EvidenceLog::AppendAsync(EvidenceRecord record,
                                std::function<void(Result<std::uint64_t>)> done) {
  GMPKI_ASSIGN_OR_RETURN(std::vector<Prepared> prepared,
                         Prepare(std::span<const EvidenceRecord>(&record, 1)));
  auto item = std::make_shared<Pending>();
  item->records = std::move(prepared);
  item->callback = std::move(done);
  {
    std::lock_guard lock(mu_);
    if (!flusher_.joinable()) flusher_ = std::thread([this] { FlusherLoop(); });
    queue_.push_back(std::move(item));
    ++enqueued_;
  }
  flusher_cv_.notify_one();
  return OkStatus();
}

void EvidenceLog::Flush() {
  std::unique_lock lock(mu_);
  const std::uint64_t target = enqueued_;
  flush_cv_.wait(lock, [&] { return completed_ >= target; });
}

void EvidenceLog::FlusherLoop() {
  std::unique_lock lock(mu_);
  for (;;) {
    flusher_cv_.wait(lock, [&] {
      return (!queue_.empty() && !leader_active_) || (stopping_ && queue_.empty());
    });
    if (queue_.empty()) return;  // stopping, and nothing left to write
    LeadOneBatch(lock);
  }
}

Result<std::uint64_t> EvidenceLog::Submit(std::vector<Prepared> records) {
  auto item = std::make_shared<Pending>();
  item->records = std::move(records);
  std::unique_lock lock(mu_);
  queue_.push_back(item);
  ++enqueued_;
  for (;;) {
    if (item->done) return item->first;
    if (!leader_active_) {
      LeadOneBatch(lock);
      continue;
    }
    item->cv.wait(lock);
  }
}

void EvidenceLog::LeadOneBatch(std::unique_lock<std::mutex>& lock) {
  // Take what is queued, up to max_batch records (at least one item), and write it in one
  // transaction.
  leader_active_ = true;
  std::vector<std::shared_ptr<Pending>> batch;
  std::size_t n = 0;
  while (!queue_.empty() &&
         (batch.empty() || n + queue_.front()->records.size() <= options_.max_batch)) {
    n += queue_.front()->records.size();
    batch.push_back(std::move(queue_.front()));
    queue_.pop_front();
  }
  lock.unlock();
  RunBatch(batch);
  // Callbacks run before the batch counts as completed, so Flush() also waits for them.
  for (auto& p : batch) {
    if (p->callback) p->callback(p->first);
  }
  lock.lock();
  for (auto& p : batch) {
    p->done = true;
    p->cv.notify_one();
  }
  completed_ += batch.size();
  leader_active_ = false;
  // Hand the writer role on: to the caller waiting on the oldest queued item, or to the
  // flusher when that item is asynchronous.
  if (!queue_.empty()) {
    queue_.front()->cv.notify_one();
    flusher_cv_.notify_one();
  }
  if (stopping_) flusher_cv_.notify_one();
  flush_cv_.notify_all();
}

void EvidenceLog::RunBatch(std::vector<std::shared_ptr<Pending>>& batch) {
  auto fail = [&](const Error& e) {
    for (auto& p : batch) p->first = e;
    frontier_.reset();  // the stored edge is re-read by the next batch
  };
  auto tx = db_.Begin();
  if (!tx) return fail(tx.error());
  std::optional<MerkleFrontier> frontier = frontier_;
  Result<std::uint64_t> first = WriteBatch(**tx, batch, &frontier);
  if (!first) {
    (void)(*tx)->Rollback();
    return fail(first.error());
  }
  Status committed = (*tx)->Commit();
  if (!committed) return fail(committed.error());
  frontier_ = std::move(frontier);
  std::uint64_t next = *first, total = 0;
  for (auto& p : batch) {
    p->first = next;
    next += p->records.size();
    total += p->records.size();
  }
  std::lock_guard lock(mu_);
  ++batches_;
  records_ += total;
}

Result<std::uint64_t> EvidenceLog::WriteBatch(store::Transaction& tx,
                                              const std::vector<std::shared_ptr<Pending>>& batch,
                                              std::optional<MerkleFrontier>* frontier) {
  std::int64_t total = 0;
  for (const auto& p : batch) total += static_cast<std::int64_t>(p->records.size());
  // The head row first: it is the lock that orders appenders (PostgreSQL row lock; SQLite's
  // BEGIN IMMEDIATE already holds the write lock), and it hands out the leaf indexes.
  GMPKI_ASSIGN_OR_RETURN(
      auto head, tx.QueryOne("UPDATE evidence_head SET tree_size = tree_size + ? WHERE id = 1"
                             " RETURNING tree_size",
                             {total}));
  if (!head || !std::holds_alternative<std::int64_t>(head->at(0)) || head->Int(0) < total) {
    return Error(ErrorCode::kIntegrityFailure, "the evidence head row is missing or damaged");
  }
  const auto first = static_cast<std::uint64_t>(head->Int(0) - total);
  if (!frontier->has_value() || (*frontier)->size() != first) {
    // Another node appended since this instance last did (or this is the first batch).
    GMPKI_ASSIGN_OR_RETURN(*frontier, MerkleFrontier::Load(internal::StoredNodes(tx), first));
  }
  std::vector<store::Value> record_rows, node_rows;
  record_rows.reserve(static_cast<std::size_t>(total) * 7);
  node_rows.reserve(static_cast<std::size_t>(total) * 3);
  std::vector<MerkleFrontier::Node> completed;
  for (const auto& p : batch) {
    for (const Prepared& r : p->records) {
      const auto index = static_cast<std::int64_t>((*frontier)->size());
      record_rows.insert(record_rows.end(),
                         {index, std::int64_t{static_cast<std::uint8_t>(r.record.kind)},
                          TimeMillis(r.record.time), r.record.actor, r.record.object, r.entry,
                          ToBytes(r.leaf_hash)});
      completed.clear();
      (*frontier)->Append(Sm3TreeHasher(), r.leaf_hash, &completed);
      for (const auto& n : completed) {
        node_rows.insert(node_rows.end(), {std::int64_t{n.level},
                                           static_cast<std::int64_t>(n.index), ToBytes(n.hash)});
      }
    }
  }
  GMPKI_RETURN_IF_ERROR(InsertRows(tx,
                                   "INSERT INTO evidence_records (leaf_index, kind, time_ms,"
                                   " actor, object, entry, leaf_hash)",
                                   7, record_rows));
  GMPKI_RETURN_IF_ERROR(
      InsertRows(tx, "INSERT INTO evidence_nodes (level, idx, hash)", 3, node_rows));
  return first;
}

Result<std::uint64_t> EvidenceLog::Size() {
  GMPKI_ASSIGN_OR_RETURN(std::unique_ptr<store::Transaction> tx, db_.BeginReadOnly());
  return internal::ReadTreeSize(*tx);
}

Result<SignedTreeHead> EvidenceLog::SignTreeHead() {
  std::lock_guard sign_lock(sign_mu_);
  SignedTreeHead sth;
  std::optional<SignedTreeHead> latest;
  {
    GMPKI_ASSIGN_OR_RETURN(std::unique_ptr<store::Transaction> tx, db_.BeginReadOnly());
    GMPKI_ASSIGN_OR_RETURN(sth.tree_size, internal::ReadTreeSize(*tx));
    GMPKI_ASSIGN_OR_RETURN(latest, internal::ReadLatestTreeHead(*tx));
    if (latest && latest->tree_size == sth.tree_size) return std::move(*latest);
    if (latest && latest->tree_size > sth.tree_size) {
      return Error(ErrorCode::kIntegrityFailure,
                   "a signed evidence tree head covers " + std::to_string(latest->tree_size) +
                       " leaves but the log holds " + std::to_string(sth.tree_size));
    }
    GMPKI_ASSIGN_OR_RETURN(sth.root_hash, RootFromNodes(Sm3TreeHasher(),
                                                        internal::StoredNodes(*tx),
                                                        sth.tree_size));
    // A log must never fork: before signing, prove the new tree extends the last signed one
    // (RFC 9162 §2.1.4), so damaged stored nodes are refused rather than signed.
    if (latest) {
      GMPKI_ASSIGN_OR_RETURN(auto ranges,
                             ConsistencyProofRanges(latest->tree_size, sth.tree_size));
      GMPKI_ASSIGN_OR_RETURN(auto proof, ResolveRanges(*tx, ranges));
      Status consistent = VerifyConsistency(Sm3TreeHasher(), latest->tree_size, sth.tree_size,
                                            proof, latest->root_hash, sth.root_hash);
      if (!consistent) {
        return Error(ErrorCode::kIntegrityFailure,
                     "the evidence log no longer extends its last signed tree head: " +
                         consistent.error().message());
      }
    }
    (void)tx->Rollback();
  }
  sth.timestamp_ms = TimeMillis(clock_.Now());
  if (latest && sth.timestamp_ms < latest->timestamp_ms) sth.timestamp_ms = latest->timestamp_ms;
  GMPKI_ASSIGN_OR_RETURN(std::unique_ptr<device::Session> session, device_.OpenSession());
  GMPKI_ASSIGN_OR_RETURN(sth.signature, session->SignMessage(key_index_,
                                                             AsBytes(crypto::kDefaultSm2Id),
                                                             TreeHeadTbs(sth)));
  GMPKI_ASSIGN_OR_RETURN(std::unique_ptr<store::Transaction> tx, db_.Begin());
  GMPKI_RETURN_IF_ERROR(tx->Exec(
      "INSERT INTO evidence_sths (tree_size, timestamp_ms, root_hash, signature, key_label,"
      " public_key) VALUES (?, ?, ?, ?, ?, ?)",
      {static_cast<std::int64_t>(sth.tree_size), sth.timestamp_ms, ToBytes(sth.root_hash),
       sth.signature, options_.key_label,
       Bytes(log_key_.point().begin(), log_key_.point().end())}));
  GMPKI_RETURN_IF_ERROR(tx->Commit());
  return sth;
}

Result<SignedTreeHead> EvidenceLog::LatestTreeHead() {
  GMPKI_ASSIGN_OR_RETURN(std::unique_ptr<store::Transaction> tx, db_.BeginReadOnly());
  GMPKI_ASSIGN_OR_RETURN(std::optional<SignedTreeHead> latest, internal::ReadLatestTreeHead(*tx));
  if (!latest) return Error(ErrorCode::kNotFound, "no evidence tree head is signed yet");
  return std::move(*latest);
}

Result<std::vector<NodeHash>> EvidenceLog::InclusionProof(std::uint64_t index,
                                                          std::uint64_t tree_size) {
  GMPKI_ASSIGN_OR_RETURN(auto ranges, InclusionProofRanges(index, tree_size));
  GMPKI_ASSIGN_OR_RETURN(std::unique_ptr<store::Transaction> tx, db_.BeginReadOnly());
  GMPKI_RETURN_IF_ERROR(CheckCommittedSize(*tx, tree_size));
  return ResolveRanges(*tx, ranges);
}

Result<std::vector<NodeHash>> EvidenceLog::ConsistencyProof(std::uint64_t old_size,
                                                            std::uint64_t new_size) {
  GMPKI_ASSIGN_OR_RETURN(auto ranges, ConsistencyProofRanges(old_size, new_size));
  GMPKI_ASSIGN_OR_RETURN(std::unique_ptr<store::Transaction> tx, db_.BeginReadOnly());
  GMPKI_RETURN_IF_ERROR(CheckCommittedSize(*tx, new_size));
  return ResolveRanges(*tx, ranges);
}

Result<NodeHash> EvidenceLog::RootAt(std::uint64_t tree_size) {
  GMPKI_ASSIGN_OR_RETURN(std::unique_ptr<store::Transaction> tx, db_.BeginReadOnly());
  GMPKI_RETURN_IF_ERROR(CheckCommittedSize(*tx, tree_size));
  return RootFromNodes(Sm3TreeHasher(), internal::StoredNodes(*tx), tree_size);
}

Result<EvidenceRecord> EvidenceLog::GetRecord(std::uint64_t index) {
  GMPKI_ASSIGN_OR_RETURN(std::unique_ptr<store::Transaction> tx, db_.BeginReadOnly());
  GMPKI_ASSIGN_OR_RETURN(auto row,
                         tx->QueryOne("SELECT entry FROM evidence_records WHERE leaf_index = ?",
                                      {static_cast<std::int64_t>(index)}));
  if (!row) return Error(ErrorCode::kNotFound, "no evidence record " + std::to_string(index));
  if (!std::holds_alternative<Bytes>(row->at(0))) {
    return Error(ErrorCode::kIntegrityFailure,
                 "evidence record " + std::to_string(index) + " is damaged");
  }
  auto r = DecodeRecord(row->Blob(0));
  if (!r) {
    return Error(ErrorCode::kIntegrityFailure,
                 "evidence record " + std::to_string(index) + " is damaged");
  }
  return std::move(*r);
}

Result<EvidenceBundle> EvidenceLog::ExportRecordBundle(std::uint64_t index) {
  GMPKI_ASSIGN_OR_RETURN(std::unique_ptr<store::Transaction> tx, db_.BeginReadOnly());
  GMPKI_ASSIGN_OR_RETURN(std::optional<SignedTreeHead> latest, internal::ReadLatestTreeHead(*tx));
  if (!latest || latest->tree_size <= index) {
    return Error(ErrorCode::kFailedPrecondition,
                 "no signed tree head covers evidence record " + std::to_string(index) +
                     " yet; sign one first");
  }
  GMPKI_ASSIGN_OR_RETURN(auto row,
                         tx->QueryOne("SELECT entry FROM evidence_records WHERE leaf_index = ?",
                                      {static_cast<std::int64_t>(index)}));
  const std::string where = "evidence record " + std::to_string(index);
  if (!row || !std::holds_alternative<Bytes>(row->at(0))) {
    return Error(ErrorCode::kIntegrityFailure, where + " is missing or damaged");
  }
  auto record = DecodeRecord(row->Blob(0));
  if (!record) return Error(ErrorCode::kIntegrityFailure, where + " is damaged");
  EvidenceBundle b;
  b.leaf_index = index;
  b.record = std::move(*record);
  b.tree_head = *latest;
  GMPKI_ASSIGN_OR_RETURN(auto ranges, InclusionProofRanges(index, latest->tree_size));
  GMPKI_ASSIGN_OR_RETURN(b.inclusion_proof, ResolveRanges(*tx, ranges));
  b.log_public_key = log_key_;
  b.log_certificate = options_.log_certificate;
  // Never hand out a bundle that would not verify: it would mean the stored log is damaged.
  Status included = VerifyInclusion(Sm3TreeHasher(), index, latest->tree_size,
                                    Sm3TreeHasher().HashLeaf(row->Blob(0)), b.inclusion_proof,
                                    latest->root_hash);
  if (!included) {
    return Error(ErrorCode::kIntegrityFailure,
                 where + " does not verify against the signed tree head; run an audit");
  }
  return b;
}

Result<std::string> EvidenceLog::ExportRecordBundleJson(std::uint64_t index) {
  GMPKI_ASSIGN_OR_RETURN(EvidenceBundle b, ExportRecordBundle(index));
  return BundleToJson(b);
}

}  // namespace gmpki::evidence
