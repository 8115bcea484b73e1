// Result<T>: the value of an operation that can fail in an expected way (bad
// config, unreachable camera, full disk). The error carries a sentence a
// technician can act on. Exceptions stay for programming errors only.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace vcgate::core {

struct Error {
  std::string message;
  // A stable machine-readable reason where callers need to tell failures apart
  // (for example "unknown_camera" in a command reply); empty otherwise.
  std::string code = {};
};

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::move(value)) {}
  Result(Error error) : state_(std::move(error)) {}

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

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), ok_(false) {}
  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const { return error_; }

 private:
  Error error_;
  bool ok_ = true;
};

inline Error makeError(std::string message) { return Error{std::move(message)}; }
inline Error makeCodedError(std::string code, std::string message) {
  return Error{std::move(message), std::move(code)};
}

}  // namespace vcgate::core
