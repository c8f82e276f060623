// A bounded pool of database connection handles, shared by the SQLite and PostgreSQL backends
// (internal to src/store). Handles are opened on demand up to `max`, reused LIFO, and closed
// when released unhealthy. Acquire() waits up to `wait` for a free handle, then fails with
// kUnavailable. Thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "base/result.h"

namespace gmpki::store::internal {

template <class H>
class HandlePool {
 public:
  using Open = std::function<Result<H*>()>;
  using Close = std::function<void(H*)>;

  HandlePool(std::string name, std::size_t max, std::chrono::milliseconds wait, Open open,
             Close close)
      : name_(std::move(name)), max_(max), wait_(wait), open_fn_(std::move(open)), close_(close) {}
  ~HandlePool() {
    for (H* h : idle_) close_(h);
  }
  HandlePool(const HandlePool&) = delete;
  HandlePool& operator=(const HandlePool&) = delete;

  Result<H*> Acquire() {
    {
      std::unique_lock lock(mu_);
      if (!cv_.wait_for(lock, wait_, [&] { return !idle_.empty() || open_ < max_; })) {
        return Error(ErrorCode::kUnavailable,
                     name_ + ": all pooled connections busy for " +
                         std::to_string(wait_.count() / 1000) + " s");
      }
      if (!idle_.empty()) {
        H* h = idle_.back();
        idle_.pop_back();
        return h;
      }
      ++open_;  // reserve the slot before connecting outside the lock
    }
    Result<H*> h = open_fn_();
    if (!h.ok()) {
      std::lock_guard lock(mu_);
      --open_;
      cv_.notify_one();
    }
    return h;
  }

  // `healthy`: outside any transaction and fit for reuse; otherwise the handle is closed.
  void Release(H* h, bool healthy) {
    std::lock_guard lock(mu_);
    if (healthy) {
      idle_.push_back(h);
    } else {
      close_(h);
      --open_;
    }
    cv_.notify_one();
  }

  // Closes every idle handle, e.g. after the server restarted and they are all dead.
  void DropIdle() {
    std::lock_guard lock(mu_);
    for (H* h : idle_) close_(h);
    open_ -= idle_.size();
    idle_.clear();
    cv_.notify_all();
  }

 private:
  const std::string name_;
  const std::size_t max_;
  const std::chrono::milliseconds wait_;
  const Open open_fn_;
  const Close close_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<H*> idle_;
  std::size_t open_ = 0;
};

}  // namespace gmpki::store::internal
