// Result<T>: a value or an Error, in the shape of std::expected (C++23), which GCC 12 lacks.
// Status is Result<void>. Both are [[nodiscard]]: a failure must be handled or returned.
//
//   Result<Bytes> r = Parse(x);
//   if (!r) return r.error();
//   GMPKI_ASSIGN_OR_RETURN(auto v, Parse(x));
//   GMPKI_RETURN_IF_ERROR(DoThing());
#pragma once

#include <cassert>
#include <optional>
#include <utility>
#include <variant>

#include "base/error.h"

namespace gmpki {

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit by design
  Result(Error error) : v_(std::in_place_index<1>, std::move(error)) {}  // NOLINT
  Result(ErrorCode code, std::string message)
      : v_(std::in_place_index<1>, Error(code, std::move(message))) {}

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  // REQUIRES: ok()
  T& value() & { assert(ok()); return std::get<0>(v_); }
  const T& value() const& { assert(ok()); return std::get<0>(v_); }
  T&& value() && { assert(ok()); return std::get<0>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  // REQUIRES: !ok()
  const Error& error() const { assert(!ok()); return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : e_(std::move(error)) {}  // NOLINT
  Result(ErrorCode code, std::string message) : e_(Error(code, std::move(message))) {}
  bool ok() const { return !e_.has_value(); }
  explicit operator bool() const { return ok(); }
  const Error& error() const { assert(!ok()); return *e_; }

 private:
  std::optional<Error> e_;
};

using Status = Result<void>;
inline Status OkStatus() { return Status(); }

}  // namespace gmpki

#define GMPKI_CONCAT_INNER_(a, b) a##b
#define GMPKI_CONCAT_(a, b) GMPKI_CONCAT_INNER_(a, b)

#define GMPKI_RETURN_IF_ERROR(expr)                 \
  do {                                              \
    auto gmpki_status_ = (expr);                    \
    if (!gmpki_status_.ok()) return gmpki_status_.error(); \
  } while (0)

#define GMPKI_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                 \
  if (!tmp.ok()) return tmp.error();                 \
  lhs = std::move(tmp).value()

#define GMPKI_ASSIGN_OR_RETURN(lhs, expr) \
  GMPKI_ASSIGN_OR_RETURN_IMPL_(GMPKI_CONCAT_(gmpki_result_, __LINE__), lhs, expr)
