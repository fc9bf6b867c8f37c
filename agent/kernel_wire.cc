#include "agent/kernel_wire.h"

#include <cstdio>
#include <cstdlib>

namespace soulbox::agent {

std::string cell_request(std::string_view code, const std::vector<std::string_view>& env) {
  std::string r;
  r.reserve(code.size() + 16);
  r += 'x';
  r += '\0';
  r += code;
  r += '\0';
  r += std::to_string(env.size());
  r += '\0';
  for (std::string_view kv : env) {
    r += kv;
    r += '\0';
  }
  return r;
}

std::string json_string(std::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += char(c);
    } else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += char(c);
    }
  }
  return out + "\"";
}

std::string error_json(std::string_view name, std::string_view value) {
  std::string traceback(name);
  traceback += ": ";
  traceback += value;
  return "{\"name\":" + json_string(name) + ",\"value\":" + json_string(value) +
         ",\"traceback\":" + json_string(traceback) + "}";
}

void KernelEventReader::append(const char* data, size_t n) {
  // Events handed out before are done with: drop their bytes first.
  buffer_.erase(0, start_);
  start_ = 0;
  buffer_.append(data, n);
}

std::optional<KernelEvent> KernelEventReader::next() {
  const size_t nl = buffer_.find('\n', start_);
  if (nl == std::string::npos) return std::nullopt;
  const std::string_view line(buffer_.data() + start_, nl - start_);
  const bool out = line.substr(0, 4) == "out ", err = line.substr(0, 4) == "err ";
  if (out || err) {
    const size_t n = std::strtoull(std::string(line.substr(4)).c_str(), nullptr, 10);
    if (n > max_pending_) {
      broken_ = true;
      return std::nullopt;
    }
    if (buffer_.size() - (nl + 1) < n) return std::nullopt;  // the rest is on its way
    KernelEvent e{out ? KernelEvent::Kind::stdout_bytes : KernelEvent::Kind::stderr_bytes,
                  {},
                  std::string_view(buffer_.data() + nl + 1, n)};
    start_ = nl + 1 + n;
    return e;
  }
  start_ = nl + 1;
  const size_t space = line.find(' ');
  KernelEvent e;
  e.name = line.substr(0, space);
  if (space != std::string_view::npos) e.payload = line.substr(space + 1);
  return e;
}

void KernelEventReader::clear() {
  buffer_.clear();
  start_ = 0;
  broken_ = false;
}

}  // namespace soulbox::agent
