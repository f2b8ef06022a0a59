#pragma once
/// @file error.hpp
/// Errors that point at the input that caused them (file, line, column, key path), and solver
/// status codes. Loaders and `compile()` throw `InputError`; solvers return `Status`. Only the
/// command line turns these into exit codes (docs/cli.md).
#include <stdexcept>
#include <string>
#include <string_view>

namespace lumbosim {

/// Where a value came from in an input file. line/col are 1-based; 0 means unknown.
struct SourceLoc {
  std::string file;
  int line = 0;
  int col = 0;
};

/// One input problem: `FILE:LINE:COL: key.path: message`.
struct Error {
  SourceLoc loc;
  std::string key;      ///< dotted key path, e.g. `joints[3].parent` or `bodies.pelvis.mass`
  std::string message;  ///< what is wrong, in words

  std::string format() const {
    std::string s;
    s.append(loc.file.empty() ? std::string_view("<input>") : std::string_view(loc.file));
    if (loc.line > 0) {
      s.push_back(':');
      s.append(std::to_string(loc.line));
      s.push_back(':');
      s.append(std::to_string(loc.col));
    }
    s.append(": ");
    if (!key.empty()) {
      s.append(key);
      s.append(": ");
    }
    s.append(message);
    return s;
  }
};

/// Thrown for invalid input (model files, overrides, scenarios). The CLI exits with code 2.
class InputError : public std::runtime_error {
 public:
  explicit InputError(Error e) : std::runtime_error(e.format()), error_(std::move(e)) {}
  const Error& error() const { return error_; }

 private:
  Error error_;
};

}  // namespace lumbosim
