// Status and Result<T>: how every faultline call says what went wrong.
//
// Library code never throws across its API, never exits and never prints;
// it returns a Status (or a Result<T>, which is a T or a non-OK Status) and
// the caller decides what the user sees. Modelled on leveldb's Status; g++ 12
// has no std::expected.
//
// Thread-safety: values; a const Status may be read from any thread.
#ifndef FAULTLINE_STATUS_H_
#define FAULTLINE_STATUS_H_

#include <cassert>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace faultline {

class Status {
 public:
  enum class Code {
    kOk = 0,
    kInvalidArgument,  // bad input: a malformed rule, file or flag
    kNotFound,         // a file, rule or function that does not exist
    kIoError,          // the operating system said no
    kInjected,         // a fault injected on purpose by a rule
    kUnavailable,      // a peer is unreachable or refused
    kInternal,         // a bug in faultline
  };

  // An OK status.
  Status() = default;

  static Status Ok() { return Status(); }
  static Status InvalidArgument(std::string msg) {
    return Status(Code::kInvalidArgument, std::move(msg));
  }
  static Status NotFound(std::string msg) { return Status(Code::kNotFound, std::move(msg)); }
  static Status IoError(std::string msg) { return Status(Code::kIoError, std::move(msg)); }
  static Status Unavailable(std::string msg) { return Status(Code::kUnavailable, std::move(msg)); }
  static Status Internal(std::string msg) { return Status(Code::kInternal, std::move(msg)); }
  // An injected fault: `type` is the error type the rule names (for example
  // "Function.InjectedFault" or "ConnectionRefused"), `msg` its message.
  static Status Injected(std::string type, std::string msg) {
    Status s(Code::kInjected, std::move(msg));
    s.type_ = std::move(type);
    return s;
  }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  bool IsInjected() const { return code_ == Code::kInjected; }
  const std::string& message() const { return message_; }
  // The error type of an injected fault; empty otherwise.
  const std::string& type() const { return type_; }

  // "invalid argument: <message>", or "OK".
  std::string ToString() const;

  // Returns a copy whose message is "<prefix>: <message>".
  Status WithContext(std::string_view prefix) const;

  friend bool operator==(const Status& a, const Status& b) {
    return a.code_ == b.code_ && a.message_ == b.message_ && a.type_ == b.type_;
  }

 private:
  Status(Code code, std::string msg) : code_(code), message_(std::move(msg)) {}

  Code code_ = Code::kOk;
  std::string message_;
  std::string type_;
};

// A T, or the Status that says why there is none.
template <typename T>
class Result {
 public:
  // REQUIRES: !status.ok()
  Result(Status status) : status_(std::move(status)) {  // NOLINT(google-explicit-constructor)
    assert(!status_.ok());
    if (status_.ok()) status_ = Status::Internal("Result built from an OK status");
  }
  Result(T value) : value_(std::move(value)) {}  // NOLINT(google-explicit-constructor)

  bool ok() const { return value_.has_value(); }
  const Status& status() const { return status_; }

  // REQUIRES: ok()
  T& value() & { return *value_; }
  const T& value() const& { return *value_; }
  T&& value() && { return std::move(*value_); }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }
  T& operator*() & { return *value_; }
  const T& operator*() const& { return *value_; }

 private:
  std::optional<T> value_;
  Status status_;
};

}  // namespace faultline

#endif  // FAULTLINE_STATUS_H_
