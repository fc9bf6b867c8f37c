#include "gateway/multipart.h"

namespace soulbox::gateway {
namespace {

// The value of `key="..."` (or key=token) in a header line; "" when absent.
std::string parameter(const std::string& header, const std::string& key) {
  size_t at = 0;
  while ((at = header.find(key + "=", at)) != std::string::npos) {
    const bool word_start = at == 0 || header[at - 1] == ' ' || header[at - 1] == ';';
    at += key.size() + 1;
    if (!word_start) continue;
    if (at < header.size() && header[at] == '"') {
      const size_t end = header.find('"', at + 1);
      return end == std::string::npos ? "" : header.substr(at + 1, end - at - 1);
    }
    const size_t end = header.find_first_of("; \r\n", at);
    return header.substr(at, end == std::string::npos ? std::string::npos : end - at);
  }
  return "";
}

}  // namespace

Result<std::vector<FormPart>> parse_multipart(const std::string& content_type, const std::string& body) {
  const Error bad{ErrorCode::invalid_argument, "malformed multipart/form-data body"};
  const std::string boundary = parameter(content_type, "boundary");
  if (boundary.empty() || boundary.size() > 200)
    return Error{ErrorCode::invalid_argument, "multipart without a boundary"};
  const std::string delimiter = "--" + boundary;
  size_t at = body.find(delimiter);
  if (at == std::string::npos) return bad;
  std::vector<FormPart> parts;
  for (;;) {
    at += delimiter.size();
    if (body.compare(at, 2, "--") == 0) return parts;  // the closing delimiter
    if (body.compare(at, 2, "\r\n") != 0) return bad;
    at += 2;
    const size_t head_end = body.find("\r\n\r\n", at);
    if (head_end == std::string::npos) return bad;
    const std::string head = body.substr(at, head_end - at);
    const size_t next = body.find("\r\n" + delimiter, head_end + 4);
    if (next == std::string::npos) return bad;
    FormPart part;
    part.name = parameter(head, "name");
    part.filename = parameter(head, "filename");
    part.data = body.substr(head_end + 4, next - head_end - 4);
    parts.push_back(std::move(part));
    at = next + 2;
  }
}

}  // namespace soulbox::gateway
