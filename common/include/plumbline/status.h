// Status and Result<T>: errors as values at every module border.
//
// A Status is either OK or carries a Code and a human-readable message that says what went wrong
// and, where it helps, what was expected ("config plumbline.toml: key 'sources[1].timeout_ms':
// expected an integer, got a string"). Functions that can fail return Status or Result<T>; no
// exception crosses a module border or escapes a thread.
//
// Thread safety: values; safe to copy and move between threads.
#pragma once

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace plumbline {

enum class Code {
  kOk = 0,
  kInvalidArgument,    // the caller's input is malformed or out of range
  kNotFound,           // the thing asked for does not exist (unknown symbol, sequence)
  kCorruption,         // stored or received data fails an integrity check
  kIOError,            // the file system or network failed
  kPermissionDenied,   // e.g. a key file readable by group/other
  kFailedPrecondition, // state does not allow the operation (wrong key for a data dir)
  kUnavailable,        // a remote peer did not answer usefully (HTTP 5xx, refused)
  kDeadlineExceeded,   // a timeout elapsed
  kOutOfRange,         // arithmetic overflow, value beyond a documented bound
  kUnauthenticated,    // a signature did not verify
  kInternal,           // a bug: an invariant of ours did not hold
};

// Stable lowercase name of a code ("invalid_argument"), used in logs and problem+json types.
const char* CodeName(Code code);

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }
  static Status InvalidArgument(std::string m) { return {Code::kInvalidArgument, std::move(m)}; }
  static Status NotFound(std::string m) { return {Code::kNotFound, std::move(m)}; }
  static Status Corruption(std::string m) { return {Code::kCorruption, std::move(m)}; }
  static Status IOError(std::string m) { return {Code::kIOError, std::move(m)}; }
  static Status PermissionDenied(std::string m) { return {Code::kPermissionDenied, std::move(m)}; }
  static Status FailedPrecondition(std::string m) { return {Code::kFailedPrecondition, std::move(m)}; }
  static Status Unavailable(std::string m) { return {Code::kUnavailable, std::move(m)}; }
  static Status DeadlineExceeded(std::string m) { return {Code::kDeadlineExceeded, std::move(m)}; }
  static Status OutOfRange(std::string m) { return {Code::kOutOfRange, std::move(m)}; }
  static Status Unauthenticated(std::string m) { return {Code::kUnauthenticated, std::move(m)}; }
  static Status Internal(std::string m) { return {Code::kInternal, std::move(m)}; }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  // "invalid_argument: <message>", or "ok".
  std::string ToString() const;

  // Returns a copy whose message is "<context>: <message>".
  Status WithContext(const std::string& context) const;

 private:
  Code code_ = Code::kOk;
  std::string message_;
};

// Either a value or a non-OK Status. Accessing value() of an error is a bug (asserts).
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) { assert(!std::get<Status>(v_).ok()); }  // NOLINT

  bool ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(v_);
  }
  T& value() & { assert(ok()); return std::get<T>(v_); }
  const T& value() const& { assert(ok()); return std::get<T>(v_); }
  T&& value() && { assert(ok()); return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace plumbline

// Propagates a non-OK Status from an expression returning Status.
#define PLUMBLINE_RETURN_IF_ERROR(expr)         \
  do {                                          \
    ::plumbline::Status _st = (expr);           \
    if (!_st.ok()) return _st;                  \
  } while (0)
