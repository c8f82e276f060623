#include "store/group_commit.h"

#include <vector>

namespace gmpki::store {

GroupCommitter::GroupCommitter(Database& db, std::size_t max_batch)
    : db_(db), max_batch_(max_batch == 0 ? 1 : max_batch) {}

std::uint64_t GroupCommitter::batches() const {
  std::lock_guard lock(mu_);
  return batches_;
}
std::uint64_t GroupCommitter::items() const {
  std::lock_guard lock(mu_);
  return items_;
}

Status GroupCommitter::Run(Work work) {
  auto item = std::make_shared<Item>();
  item->work = std::move(work);
  std::unique_lock lock(mu_);
  queue_.push_back(item);
  for (;;) {
    if (item->done) return item->result;
    if (!leader_active_) {
      // Become the leader: take what is queued (our own item included) and run it.
      leader_active_ = true;
      std::deque<std::shared_ptr<Item>> batch;
      while (!queue_.empty() && batch.size() < max_batch_) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      lock.unlock();
      RunBatch(std::move(batch));
      lock.lock();
      leader_active_ = false;
      cv_.notify_all();
      continue;
    }
    cv_.wait(lock);
  }
}

void GroupCommitter::RunBatch(std::deque<std::shared_ptr<Item>> batch) {
  std::vector<std::shared_ptr<Item>> pending(batch.begin(), batch.end());
  // Each pass either commits everything pending, or removes at least one failed item, so the
  // loop ends after at most pending.size() + 1 passes.
  while (!pending.empty()) {
    auto tx = db_.Begin();
    if (!tx.ok()) {
      for (auto& it : pending) it->result = tx.error();
      break;
    }
    std::size_t failed = pending.size();
    for (std::size_t i = 0; i < pending.size(); ++i) {
      Status st = pending[i]->work(**tx);
      if (!st.ok()) {
        pending[i]->result = st;
        failed = i;
        break;
      }
    }
    if (failed != pending.size()) {
      // The failed statement may have ended the transaction (store.h): roll back and re-run
      // the batch without the item that failed. Its own effects are gone with the rollback.
      (void)(*tx)->Rollback();
      std::lock_guard lock(mu_);
      pending[failed]->done = true;
      pending.erase(pending.begin() + static_cast<std::ptrdiff_t>(failed));
      continue;
    }
    Status c = (*tx)->Commit();
    std::lock_guard lock(mu_);
    for (auto& it : pending) {
      it->result = c;
      it->done = true;
    }
    if (c.ok()) {
      ++batches_;
      items_ += pending.size();
    }
    pending.clear();
  }
  std::lock_guard lock(mu_);
  for (auto& it : batch) it->done = true;
}

}  // namespace gmpki::store
