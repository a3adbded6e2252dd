// Typed errors thrown by the tracker core. They carry enough context (file, key, shapes) for a user to act on;
// the GStreamer element and the command-line tools turn them into element errors or exit codes.
#pragma once

#include <stdexcept>
#include <string>

namespace oceanplus {

// Base class of every error the core throws on purpose.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A weights file that cannot be used: unreadable, truncated, corrupt, unknown format, a missing key or a wrong shape.
// what() always names the file and, where one is involved, the key.
class WeightsError : public Error {
 public:
  WeightsError(const std::string& file, const std::string& message)
      : Error(file.empty() ? message : file + ": " + message), file_(file) {}
  const std::string& file() const noexcept { return file_; }

 private:
  std::string file_;
};

}  // namespace oceanplus
