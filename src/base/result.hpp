// Result<T>: a value or an Error, for every boundary where input can be bad (files, stores,
// processes). Exceptions are kept for bugs.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <variant>

#include "base/error.hpp"

namespace mbcc {

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::move(value)) {}  // NOLINT(google-explicit-constructor)
  Result(Error error) : state_(std::move(error)) {}  // NOLINT(google-explicit-constructor)

  bool ok() const { return std::holds_alternative<T>(state_); }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<T>(state_); }
  const T& value() const& { return std::get<T>(state_); }
  T&& value() && { return std::get<T>(std::move(state_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  const Error& error() const { return std::get<Error>(state_); }

 private:
  std::variant<T, Error> state_;
};

struct Ok {};
using Status = Result<Ok>;

}  // namespace mbcc

// Returns the error of `expr` from the enclosing function when it failed.
#define MBCC_TRY(expr)                                  \
  do {                                                  \
    auto mbcc_try_result_ = (expr);                     \
    if (!mbcc_try_result_.ok()) return mbcc_try_result_.error(); \
  } while (false)
