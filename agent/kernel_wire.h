// The agent's side of the kernel protocol (kernels/README.md): the request
// bytes for a cell, the framing of the events a kernel writes, and the error
// payloads the agent itself reports. Pure functions of bytes: unit-tested.
#pragma once
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace soulbox::agent {

// The request for a cell: op `x`, the code, the number of env entries, then
// each; every field NUL-terminated.
std::string cell_request(std::string_view code, const std::vector<std::string_view>& env);

// A JSON string literal (quotes, backslashes and control bytes escaped).
std::string json_string(std::string_view s);

// An E2B error payload: {"name", "value", "traceback"}.
std::string error_json(std::string_view name, std::string_view value);

// One item of a kernel's event stream.
struct KernelEvent {
  enum class Kind { line, stdout_bytes, stderr_bytes };
  Kind kind = Kind::line;
  std::string_view name;     // line: ready, result, error, end
  std::string_view payload;  // line: the JSON after the name; output: the bytes
};

// Splits what a kernel writes on its events pipe into events: lines
// "<name>[ <json>]\n", and "out <n>\n"/"err <n>\n" each followed by n bytes.
// An event's views stay valid until the next append().
class KernelEventReader {
 public:
  explicit KernelEventReader(size_t max_pending) : max_pending_(max_pending) {}

  void append(const char* data, size_t n);
  // The next complete event, or nothing until more bytes arrive.
  std::optional<KernelEvent> next();
  // More than max_pending bytes without a complete event, or output announced
  // larger than that: the kernel is broken (it would never complete one).
  bool overflowed() const { return broken_ || buffer_.size() - start_ > max_pending_; }
  void clear();

 private:
  size_t max_pending_;
  std::string buffer_;
  size_t start_ = 0;  // where the first unread event begins
  bool broken_ = false;
};

}  // namespace soulbox::agent
