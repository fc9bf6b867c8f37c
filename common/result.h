// Result<T>: a value or an Error (stable code + human message). The isolation
// layer returns these; higher layers convert at their boundary.
#pragma once
#include <cerrno>
#include <cstring>
#include <optional>
#include <string>
#include <utility>

#include "common/error_code.h"

namespace soulbox {

struct Error {
  ErrorCode code = ErrorCode::internal;
  std::string message;
};

// An Error for a failed syscall: "<step>: <strerror> (errno N)".
inline Error sys_error(const std::string& step, int err = errno, ErrorCode code = ErrorCode::internal) {
  return Error{code, step + ": " + std::strerror(err) + " (errno " + std::to_string(err) + ")"};
}

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}      // NOLINT: implicit by design
  Result(Error error) : error_(std::move(error)) {}  // NOLINT
  bool ok() const { return value_.has_value(); }
  explicit operator bool() const { return ok(); }
  T& value() & { return *value_; }
  T&& value() && { return std::move(*value_); }
  const T& value() const& { return *value_; }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }
  T& operator*() { return *value_; }
  const T& operator*() const { return *value_; }
  const Error& error() const { return error_; }

 private:
  std::optional<T> value_;
  Error error_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : failed_(true), error_(std::move(error)) {}  // NOLINT
  bool ok() const { return !failed_; }
  explicit operator bool() const { return ok(); }
  const Error& error() const { return error_; }

 private:
  bool failed_ = false;
  Error error_;
};

using Status = Result<void>;

}  // namespace soulbox
