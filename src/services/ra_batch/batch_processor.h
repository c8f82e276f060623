// Issuance of approved batches (HI-06): workers claim pending items with a lease, send them to
// the CA through CaGateway::IssueMany and record each item's certificate or error.
//
// Several workers, on one node or on several nodes sharing one PostgreSQL database, can process
// one batch together: an item is claimed by exactly one worker at a time (lease = owner token
// and expiry, taken by a guarded UPDATE), and the claims of a dead worker are taken over once
// their lease has expired. The CA request ID of an item is derived from its request_id
// (GatewayRequestId), so an item sent again after a crash - the CA issued, the worker died
// before recording - gets back the certificate issued the first time and is never issued twice.
//
// A transient CA failure (kUnavailable, kTimeout, kIoError) leaves the item pending for another
// try after retry_delay; after max_attempts tries, or on any other error, it fails with the
// CA's error. Each recorded chunk is one transaction with one audit record.
//
// Thread safety: BatchProcessor is thread-safe (ProcessSome may run on several threads; give
// each node its own worker_id). BatchWorker runs one processor loop on its own thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

#include "base/clock.h"
#include "base/result.h"
#include "services/pii/pii.h"
#include "services/ra_link/ca_gateway.h"
#include "store/store.h"

namespace gmpki::ra_batch {

struct ProcessorSettings {
  std::string worker_id = "worker";      // names this worker in leases and audit records
  std::chrono::seconds lease{300};       // how long a claim stays this worker's
  std::chrono::seconds retry_delay{30};  // wait before a transient failure is retried
  std::size_t chunk = 256;               // items per claim and per IssueMany call
  int max_attempts = 5;                  // tries before a transient failure is final
  std::string node = "node-1";
};

struct ProcessReport {
  std::int64_t claimed = 0;
  std::int64_t issued = 0;
  std::int64_t failed = 0;
  std::int64_t retry = 0;       // left pending after a transient CA failure
  std::int64_t lease_lost = 0;  // results not recorded: the lease had passed to another worker
};

class BatchProcessor {
 public:
  BatchProcessor(store::Database& db, const pii::PiiCodec& pii, ra::CaGateway& gateway,
                 const Clock& clock, ProcessorSettings settings);

  // Claims and issues up to `max_items` pending items of approved batches (oldest approval
  // first), chunk by chunk. Returns what it did; claimed == 0 means nothing was ready.
  // Fails only when the database fails (the CA's refusals are item results).
  Result<ProcessReport> ProcessSome(std::size_t max_items);

  const ProcessorSettings& settings() const { return settings_; }

 private:
  struct Claimed;
  Result<std::vector<Claimed>> Claim(std::size_t n, std::string& token);
  Result<ProcessReport> IssueChunk(const std::string& token, std::vector<Claimed>& items);

  store::Database& db_;
  const pii::PiiCodec& pii_;
  ra::CaGateway& gateway_;
  const Clock& clock_;
  ProcessorSettings settings_;
  std::string instance_;  // worker_id + a random suffix: tokens of a restarted worker differ
  std::atomic<std::uint64_t> claims_{0};
};

// Runs ProcessSome on a thread until stopped; sleeps `idle_poll` when nothing is ready.
class BatchWorker {
 public:
  explicit BatchWorker(BatchProcessor& processor,
                       std::chrono::milliseconds idle_poll = std::chrono::milliseconds(1000));
  ~BatchWorker();  // Stop()
  BatchWorker(const BatchWorker&) = delete;
  BatchWorker& operator=(const BatchWorker&) = delete;

  // REQUIRES: not running.
  void Start();
  // Finishes the chunk in progress, then returns. Idempotent.
  void Stop();
  // Ends the current idle wait at once (e.g. after an approval).
  void Wake();
  // Totals since Start.
  ProcessReport totals() const;

 private:
  void Run();
  BatchProcessor& processor_;
  std::chrono::milliseconds idle_poll_;
  std::thread thread_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  bool wake_ = false;
  ProcessReport totals_;
};

}  // namespace gmpki::ra_batch
