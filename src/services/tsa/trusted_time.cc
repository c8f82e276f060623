#include "services/tsa/trusted_time.h"

#include <string>

namespace gmpki::tsa {
namespace {

std::string Ms(std::chrono::nanoseconds d) {
  return std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(d).count()) + " ms";
}

}  // namespace

TrustedTime::TrustedTime(const Clock& clock, TrustedTimeSettings settings)
    : clock_(clock), settings_(settings) {}

void TrustedTime::ReportSample(const TimeSourceSample& sample) {
  std::lock_guard<std::mutex> lock(mu_);
  sample_ = sample;
  lost_.clear();
}

void TrustedTime::ReportSourceLost(std::string why) {
  std::lock_guard<std::mutex> lock(mu_);
  sample_.reset();
  lost_ = why.empty() ? "time source lost" : std::move(why);
}

Result<TimePoint> TrustedTime::Now() {
  const TimePoint now = clock_.Now();
  if (settings_.require_source) {
    std::lock_guard<std::mutex> lock(mu_);
    if (!sample_) {
      return Error(ErrorCode::kUnavailable,
                   "clock not trusted: " + (lost_.empty() ? std::string("no time source sample")
                                                          : lost_));
    }
    const auto age = now - sample_->measured_at;
    if (age > settings_.max_sample_age || age < -settings_.max_sample_age) {
      return Error(ErrorCode::kUnavailable,
                   "clock not trusted: the last sample from " + sample_->source + " is stale");
    }
    const auto off = sample_->offset < std::chrono::nanoseconds(0) ? -sample_->offset
                                                                    : sample_->offset;
    if (off > settings_.max_offset) {
      return Error(ErrorCode::kUnavailable, "clock not trusted: offset " + Ms(sample_->offset) +
                                                " from " + sample_->source + " exceeds " +
                                                Ms(settings_.max_offset));
    }
  }
  const std::int64_t now_ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(now.time_since_epoch()).count();
  const std::int64_t tolerance_ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(settings_.step_back_tolerance).count();
  std::int64_t latest = latest_ns_.load(std::memory_order_relaxed);
  if (latest != INT64_MIN && now_ns < latest - tolerance_ns) {
    return Error(ErrorCode::kUnavailable,
                 "clock not trusted: it stepped back " +
                     Ms(std::chrono::nanoseconds(latest - now_ns)) +
                     " behind the latest timestamp issued");
  }
  while (now_ns > latest &&
         !latest_ns_.compare_exchange_weak(latest, now_ns, std::memory_order_relaxed)) {
  }
  return now;
}

}  // namespace gmpki::tsa
