// When may the TSA state the time? GM/T 0033 / RFC 3161 section 2.4.2 (timeNotAvailable): a
// timestamp is only as good as the clock behind it, so the TSA refuses to stamp unless
//  - a trusted time source (NTP/PTP/GNSS poller, or an operator's check) reported the local
//    clock's offset recently enough (max_sample_age) and within max_offset, and
//  - the clock has not stepped back: a reading earlier than the latest genTime issued by more
//    than step_back_tolerance means the clock was set back (or another thread raced a little,
//    which the tolerance absorbs); stamping resumes once the clock has caught up.
// The clock and the samples are injected (CONVENTIONS: no I/O in the core); the process that
// measures the offset (chrony/ntpd statistics, an NTS client) calls ReportSample.
//
// Thread safety: all methods may be called concurrently.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>

#include "base/clock.h"
#include "base/result.h"

namespace gmpki::tsa {

struct TimeSourceSample {
  // Local clock minus trusted time (positive: the local clock is ahead).
  std::chrono::nanoseconds offset{0};
  // When the sample was taken, by the local clock.
  TimePoint measured_at;
  std::string source;  // e.g. "ntp:ntp.ntsc.ac.cn", for messages
};

struct TrustedTimeSettings {
  // |offset| above this: refuse. Should not exceed the accuracy stated in tokens.
  std::chrono::milliseconds max_offset{1000};
  // A sample older than this no longer vouches for the clock.
  std::chrono::seconds max_sample_age{3600};
  // How far behind the latest issued time a reading may be before it counts as a step back.
  std::chrono::milliseconds step_back_tolerance{100};
  // false only for tests and demos without a time source: the offset check is skipped (the
  // monotonic guard still applies).
  bool require_source = true;
};

class TrustedTime {
 public:
  // `clock` must outlive this object.
  TrustedTime(const Clock& clock, TrustedTimeSettings settings);

  void ReportSample(const TimeSourceSample& sample);
  // The source is unreachable or reports itself unsynchronised: stop vouching at once.
  void ReportSourceLost(std::string why);

  // The time to put into a token, or kUnavailable with the reason (unknown or stale offset,
  // offset too large, clock stepped back). Records the returned time for the monotonic guard.
  Result<TimePoint> Now();

  const TrustedTimeSettings& settings() const { return settings_; }

 private:
  const Clock& clock_;
  const TrustedTimeSettings settings_;
  std::mutex mu_;  // guards sample_ and lost_
  std::optional<TimeSourceSample> sample_;
  std::string lost_;
  // Nanoseconds since the epoch of the latest time returned by Now().
  std::atomic<std::int64_t> latest_ns_{INT64_MIN};
};

}  // namespace gmpki::tsa
