// The clock is injected (CONVENTIONS: the core does no I/O). Services take a const Clock&.
#pragma once

#include <chrono>
#include <cstdint>

namespace gmpki {

using TimePoint = std::chrono::system_clock::time_point;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimePoint Now() const = 0;
};

class SystemClock final : public Clock {
 public:
  TimePoint Now() const override { return std::chrono::system_clock::now(); }
};

// A clock that only moves when told to; for tests.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(TimePoint t) : t_(t) {}
  TimePoint Now() const override { return t_; }
  void Set(TimePoint t) { t_ = t; }
  void Advance(std::chrono::seconds d) { t_ += d; }

 private:
  TimePoint t_;
};

inline std::int64_t ToUnixSeconds(TimePoint t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}
inline TimePoint FromUnixSeconds(std::int64_t s) { return TimePoint(std::chrono::seconds(s)); }

}  // namespace gmpki
