// Group commit: many threads' small write transactions share one database transaction and one
// durable commit (one fsync on SQLite, one WAL flush on PostgreSQL), so the commit cost is paid
// once per batch instead of once per operation. Each caller's work still commits or fails as a
// unit: a work item that fails is taken out of the batch, the batch is rolled back and re-run
// without it, and only that caller sees the error. Nothing is acknowledged before the commit
// that holds it is durable.
//
// Thread safety: Run() is called concurrently from any number of threads. One of the waiting
// callers runs each batch (leader/follower), so there is no background thread.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>

#include "store/store.h"

namespace gmpki::store {

class GroupCommitter {
 public:
  using Work = std::function<Status(Transaction&)>;

  // REQUIRES: max_batch >= 1.
  explicit GroupCommitter(Database& db, std::size_t max_batch = 128);

  // Runs `work` in a transaction shared with concurrent callers and returns once that
  // transaction has committed (OkStatus), or with the error of `work` itself (its effects
  // rolled back, the other items unaffected), or with the begin/commit error.
  Status Run(Work work);

  // For tests and metrics: batches committed and items committed so far.
  std::uint64_t batches() const;
  std::uint64_t items() const;

 private:
  struct Item {
    Work work;
    bool done = false;
    Status result;
  };
  void RunBatch(std::deque<std::shared_ptr<Item>> batch);

  Database& db_;
  const std::size_t max_batch_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::shared_ptr<Item>> queue_;
  bool leader_active_ = false;
  std::uint64_t batches_ = 0, items_ = 0;
};

}  // namespace gmpki::store
