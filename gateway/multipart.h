// multipart/form-data bodies as E2B's SDK uploads files: one part per file,
// field `file`, the destination path in the part's filename (RFC 7578).
#pragma once
#include <string>
#include <vector>

#include "common/result.h"

namespace soulbox::gateway {

struct FormPart {
  std::string name, filename, data;
};

// `content_type` is the request's header (it names the boundary).
Result<std::vector<FormPart>> parse_multipart(const std::string& content_type, const std::string& body);

}  // namespace soulbox::gateway
