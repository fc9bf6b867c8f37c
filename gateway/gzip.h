// gzip request bodies (E2B's `files.write(..., {gzip: true})` sends
// `Content-Encoding: gzip`), inflated with zlib up to a limit so a small
// bomb cannot become a huge body.
#pragma once
#include <string>

#include "common/result.h"

namespace soulbox::gateway {

// invalid_argument when `data` is not gzip; resource_exhausted past `max_bytes`.
Result<std::string> gunzip(const std::string& data, size_t max_bytes);

}  // namespace soulbox::gateway
