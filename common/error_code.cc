#include "common/error_code.h"

namespace soulbox {

std::string_view to_string(ErrorCode code) noexcept {
  switch (code) {
    case ErrorCode::ok:
      return "ok";
    case ErrorCode::invalid_argument:
      return "invalid_argument";
    case ErrorCode::not_found:
      return "not_found";
    case ErrorCode::already_exists:
      return "already_exists";
    case ErrorCode::permission_denied:
      return "permission_denied";
    case ErrorCode::resource_exhausted:
      return "resource_exhausted";
    case ErrorCode::timeout:
      return "timeout";
    case ErrorCode::unavailable:
      return "unavailable";
    case ErrorCode::internal:
      return "internal";
    case ErrorCode::version_mismatch:
      return "version_mismatch";
    case ErrorCode::protocol_error:
      return "protocol_error";
    case ErrorCode::io_error:
      return "io_error";
    case ErrorCode::not_a_directory:
      return "not_a_directory";
    case ErrorCode::is_a_directory:
      return "is_a_directory";
    case ErrorCode::path_escape:
      return "path_escape";
    case ErrorCode::cancelled:
      return "cancelled";
  }
  return "unknown";
}

}  // namespace soulbox
